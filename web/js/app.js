// app.js: Haven's pages. One HTML shell; each "#/..." address is a view drawn into <main>.
// The signed-in account comes from GET /api/v1/me (the session is an HttpOnly cookie), and
// each role sees its own pages. Views live in js/views/.
import {api, setCsrf, onSessionEnd} from './api.js';
import {h, mount} from './dom.js';
import * as auth from './views/auth.js';
import * as patient from './views/patient.js';
import * as chat from './views/chat.js';
import * as assess from './views/assess.js';
import * as safety from './views/safety.js';
import * as exercises from './views/exercises.js';
import * as clinician from './views/clinician.js';
import * as admin from './views/admin.js';
import * as help from './views/help.js';

export const session = {me: null};

const NAV = {
	patient: [
		['#/home', 'Home'], ['#/chat', 'Talk'], ['#/exercises', 'Exercises'], ['#/checkin', 'Check in'], ['#/progress', 'My progress'],
		['#/safety-plan', 'Safety plan'], ['#/data', 'My data'],
	],
	clinician: [['#/caseload', 'Caseload'], ['#/alerts', 'Alerts'], ['#/invite', 'Invite a patient']],
	admin: [['#/accounts', 'Accounts'], ['#/audit', 'Audit log']],
};
const HOME = {patient: '#/home', clinician: '#/caseload', admin: '#/accounts'};

// Routes: pattern, the role that may open it (null: anyone), the view.
const ROUTES = [
	[/^#\/login$/, null, auth.login],
	[/^#\/signup(?:\?code=([A-Za-z0-9_-]+))?$/, null, auth.signup],
	[/^#\/help$/, null, help.crisis],
	[/^#\/home$/, 'patient', patient.home],
	[/^#\/checkin$/, 'patient', patient.checkin],
	[/^#\/progress$/, 'patient', patient.progress],
	[/^#\/data$/, 'patient', patient.data],
	[/^#\/chat(?:\?start=([a-z0-9_]{1,40}))?$/, 'patient', chat.view],
	[/^#\/exercises$/, 'patient', exercises.view],
	[/^#\/assess\/(phq9|gad7)$/, 'patient', assess.form],
	[/^#\/safety-plan$/, 'patient', safety.view],
	[/^#\/caseload$/, 'clinician', clinician.caseload],
	[/^#\/alerts$/, 'clinician', clinician.alerts],
	[/^#\/patient\/([1-9][0-9]{0,17})$/, 'clinician', clinician.patient],
	[/^#\/invite$/, 'clinician', clinician.invite],
	[/^#\/accounts$/, 'admin', admin.accounts],
	[/^#\/audit$/, 'admin', admin.audit],
];

const main = () => document.getElementById('main');
let routeGeneration = 0;

export function notice(message) {
	const el = document.getElementById('notice');
	if (!message) {
		el.hidden = true;
		el.replaceChildren();
		return;
	}
	mount(el, message);
	el.hidden = false;
}

function drawNav() {
	const nav = document.getElementById('nav');
	const role = session.me?.role;
	const items = (NAV[role] || []).map(([href, label]) => {
		const current = location.hash === href || (href !== '#/home' && location.hash.startsWith(href));
		return h('li', {}, h('a', {href, 'aria-current': current ? 'page' : null}, label));
	});
	const who = session.me
		? h('li', {class: 'who'}, h('span', {class: 'email', title: session.me.email}, session.me.email),
			h('button', {type: 'button', class: 'link', id: 'logout', onclick: logout}, 'Sign out'))
		: h('li', {}, h('a', {href: '#/login'}, 'Sign in'));
	mount(nav, h('ul', {}, items, who));
	// The crisis link is for everyone but most of all for patients; it stays visible.
	document.getElementById('crisis-link').hidden = role === 'admin';
}

export async function logout() {
	try {
		await api('POST', '/auth/logout');
	} catch {
		// Signing out must always work from the person's point of view: forget locally.
	}
	session.me = null;
	setCsrf(null);
	notice('You have signed out.');
	location.hash = '#/login';
}

// Signed in (from the login form or a reload): remember who, go to their home page.
export function signedIn(me, csrf) {
	session.me = me;
	setCsrf(csrf);
	notice(null);
	location.hash = HOME[me.role] || '#/login';
	if (location.hash === (HOME[me.role] || '#/login')) route();
}

async function route() {
	const hash = location.hash || '#/';
	drawNav();
	const el = main();
	if (hash === '#/' || hash === '#') {
		location.replace(session.me ? HOME[session.me.role] : '#/login');
		return;
	}
	for (const [re, role, view] of ROUTES) {
		const m = re.exec(hash);
		if (!m) continue;
		if (role && !session.me) {
			location.replace('#/login');
			return;
		}
		if (role && session.me.role !== role) {
			location.replace(HOME[session.me.role]);
			return;
		}
		// Each view draws into its own holder, shown only if no later navigation started
		// meanwhile, so a slow page can never replace the one the person moved on to.
		const generation = ++routeGeneration;
		mount(el, h('p', {class: 'loading'}, 'Loading…'));
		const holder = h('div', {class: 'view'});
		try {
			await view(holder, ...m.slice(1));
		} catch (e) {
			mount(holder, h('h1', {}, 'Something went wrong'), h('p', {class: 'status error', role: 'alert'},
				e.message || 'Please reload the page.'));
		}
		if (generation !== routeGeneration) return;
		mount(el, holder);
		const heading = el.querySelector('h1');
		document.title = heading ? `${heading.textContent} - Haven` : 'Haven';
		if (!window.__havenFirstRoute) window.__havenFirstRoute = true;
		else el.focus({preventScroll: false});
		return;
	}
	mount(el, h('h1', {}, 'Page not found'), h('p', {}, 'There is no page at this address. ',
		h('a', {href: '#/'}, 'Go to your start page')));
}

onSessionEnd(code => {
	// Several requests may be in flight when a session expires: the first answer ends the
	// session here, and a request sent after the server cleared the cookie answers
	// "unauthorized" rather than "session_expired". Whichever comes first, the person is
	// told the session expired when any answer said so.
	if (code === 'session_expired')
		notice('Your session has expired, to keep your information safe. Please sign in again.');
	if (!session.me) return;
	session.me = null;
	setCsrf(null);
	if (code !== 'session_expired') notice('Your session has ended. Please sign in again.');
	location.hash = '#/login';
});

async function boot() {
	try {
		const me = await api('GET', '/me');
		session.me = me;
		setCsrf(me.csrf_token);
	} catch (e) {
		session.me = null;
		if (e.code === 'session_expired')
			notice('Your session has expired, to keep your information safe. Please sign in again.');
	}
	window.addEventListener('hashchange', route);
	// The crisis link opens the lines over the page; with a modifier key (a new tab or
	// window) it is an ordinary link to #/help.
	document.getElementById('crisis-link').addEventListener('click', ev => {
		if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
		ev.preventDefault();
		help.openCrisisPanel();
	});
	await route();
	document.body.dataset.ready = '1';
}

boot();
