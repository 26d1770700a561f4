// safety.js: the safety plan (Stanley and Brown's six steps and reasons for living), to
// view, change at any time and print. Each section is a list, one item per line.
import {api} from '../api.js';
import {h, mount, field, statusBox, showError, showOk, clear} from '../dom.js';
import {linesList} from './help.js';

export const SECTIONS = [
	['warning_signs', '1. My warning signs', 'Thoughts, feelings or situations that tell me a crisis may be coming.'],
	['coping_strategies', '2. Things I can do on my own', 'Ways to take my mind off things or calm down, like a walk, music or a shower.'],
	['distractions', '3. People and places that help me feel better', 'Friends to be with, places to go.'],
	['people_to_ask', '4. People I can ask for help', 'Names and phone numbers.'],
	['professionals', '5. Professionals I can contact', 'My clinician, my doctor, a crisis line.'],
	['safe_environment', '6. Making my surroundings safer', 'Steps to keep away from things I could use to hurt myself.'],
	['reasons_to_live', 'The things that matter most to me', 'Reasons for living, people, plans, things I love.'],
];

// The plan lives at /safety-plan; older or newer servers may use /me/safety-plan.
const PATHS = ['/safety-plan', '/me/safety-plan'];

async function load() {
	for (const path of PATHS) {
		try {
			const r = await api('GET', path);
			return {path, plan: r?.safety_plan || r?.plan || r || {}};
		} catch (e) {
			if (e.status !== 404 && e.status !== 405) throw e;
		}
	}
	return null;
}

const asLines = v => (Array.isArray(v) ? v.join('\n') : typeof v === 'string' ? v : '');

export async function view(el) {
	const loaded = await load();
	const status = statusBox();
	if (!loaded) {
		mount(el, h('h1', {}, 'My safety plan'),
			h('p', {}, 'Safety plans are not available on this server yet. If you are struggling now, these lines can help:'),
			linesList());
		return;
	}
	const inputs = {};
	const printable = h('div', {class: 'print-only'});
	const fields = SECTIONS.map(([key, label, hint]) => {
		const t = h('textarea', {rows: 3, name: key, maxlength: 2000});
		t.value = asLines(loaded.plan[key]);
		inputs[key] = t;
		return field(label, t, `${hint} One per line.`);
	});
	const drawPrintable = () => mount(printable, SECTIONS.map(([key, label]) => {
		const items = inputs[key].value.split('\n').map(s => s.trim()).filter(Boolean);
		return h('section', {}, h('h2', {}, label), items.length ? h('ul', {}, items.map(i => h('li', {}, i))) : h('p', {}, '(empty)'));
	}));
	drawPrintable();
	const save = h('button', {type: 'submit'}, 'Save my plan');
	const form = h('form', {class: 'no-print', onsubmit: async ev => {
		ev.preventDefault();
		clear(status);
		const body = {};
		for (const [key] of SECTIONS) body[key] = inputs[key].value.split('\n').map(s => s.trim()).filter(Boolean);
		save.disabled = true;
		try {
			await api('PUT', loaded.path, body);
			drawPrintable();
			showOk(status, 'Your safety plan is saved.');
		} catch (e) {
			showError(status, e.message);
		} finally {
			save.disabled = false;
		}
	}}, fields, status, save,
	h('button', {type: 'button', class: 'secondary', onclick: () => { drawPrintable(); window.print(); }}, 'Print my plan'));
	mount(el, h('h1', {}, 'My safety plan'),
		h('p', {class: 'lead no-print'}, 'A plan you make while you feel steady, to follow step by step when things get hard. You can change it at any time.'),
		form, printable,
		h('section', {class: 'print-lines'}, h('h2', {}, 'Crisis lines'), linesList()));
}
