// patient.js: a patient's home, check-ins, progress charts and "My data" (consents,
// export, erasing the account).
import {api} from '../api.js';
import {h, mount, field, statusBox, showError, showOk, clear, formatDate} from '../dom.js';
import {chart} from '../charts.js';
import {session, logout, notice} from '../app.js';
import {LINES} from '../crisis-lines.js';

// Today's check-in, when the person asked to be reminded and has not checked in yet
// (GET /me/reminders works it out in their own time zone); nothing when they did not ask.
async function dueBanner() {
	try {
		const {checkin_due: due} = await api('GET', '/me/reminders');
		if (!due || !due.due) return null;
		return h('p', {class: 'reminder', id: 'checkin-due', role: 'status'},
			'It is time for today\'s check-in. ', h('a', {href: '#/checkin'}, 'Check in now'), '.');
	} catch (e) {
		return null; // a reminder is a nicety: the home page works without it
	}
}

export async function home(el) {
	mount(el, h('h1', {}, 'Welcome to Haven'), await dueBanner(),
		h('p', {class: 'lead'}, 'What would you like to do?'),
		h('ul', {class: 'cards'},
			h('li', {}, h('a', {href: '#/chat'}, h('strong', {}, 'Talk it through'), h('span', {}, 'Chat with the Haven helper about how you are doing, or try an exercise.'))),
			h('li', {}, h('a', {href: '#/exercises'}, h('strong', {}, 'Exercises'), h('span', {}, 'Short exercises to try, what has helped you before, and a suggestion for next.'))),
			h('li', {}, h('a', {href: '#/checkin'}, h('strong', {}, 'Check in'), h('span', {}, 'Note your mood and sleep today. It takes a minute.'))),
			h('li', {}, h('a', {href: '#/assess/phq9'}, h('strong', {}, 'PHQ-9 questionnaire'), h('span', {}, 'Nine questions about your mood over the last two weeks.'))),
			h('li', {}, h('a', {href: '#/assess/gad7'}, h('strong', {}, 'GAD-7 questionnaire'), h('span', {}, 'Seven questions about worry and anxiety.'))),
			h('li', {}, h('a', {href: '#/progress'}, h('strong', {}, 'My progress'), h('span', {}, 'Your mood and scores over time.'))),
			h('li', {}, h('a', {href: '#/safety-plan'}, h('strong', {}, 'My safety plan'), h('span', {}, 'Your plan for hard moments: view, change or print it.'))),
			h('li', {}, h('a', {href: '#/data'}, h('strong', {}, 'My data'), h('span', {}, 'Your consents, a copy of your data, or deleting your account.')))));
}

export async function checkin(el) {
	const mood = h('input', {type: 'range', min: 0, max: 10, step: 1, value: 5, name: 'mood'});
	const moodOut = h('output', {for: 'checkin-mood', class: 'big'}, '5');
	mood.id = 'checkin-mood';
	mood.addEventListener('input', () => {
		moodOut.textContent = mood.value;
		mood.setAttribute('aria-valuetext', `${mood.value} out of 10`);
	});
	mood.setAttribute('aria-valuetext', '5 out of 10');
	const sleep = h('input', {type: 'number', min: 0, max: 24, step: 0.5, inputmode: 'decimal', name: 'sleep_hours', value: ''});
	const note = h('textarea', {name: 'note', rows: 4, maxlength: 2000});
	const status = statusBox();
	const button = h('button', {type: 'submit'}, 'Save my check-in');
	const history = h('section', {'aria-labelledby': 'recent-h'});
	const form = h('form', {novalidate: true, onsubmit: async ev => {
		ev.preventDefault();
		clear(status);
		const hours = Number(sleep.value);
		if (sleep.value === '' || !Number.isFinite(hours) || hours < 0 || hours > 24)
			return showError(status, 'Please enter the hours you slept, from 0 to 24 (for example 7.5).');
		button.disabled = true;
		try {
			const body = {mood: Number(mood.value), sleep_hours: hours};
			if (note.value.trim()) body.note = note.value.trim();
			await api('POST', '/checkins', body);
			showOk(status, 'Saved. Thank you for checking in.');
			note.value = '';
			await drawHistory(history);
		} catch (e) {
			showError(status, e.message);
		} finally {
			button.disabled = false;
		}
	}},
	h('div', {class: 'field'}, h('label', {for: mood.id}, 'How is your mood today, from 0 (very low) to 10 (very good)?'),
		h('div', {class: 'range'}, h('span', {'aria-hidden': 'true'}, '0'), mood, h('span', {'aria-hidden': 'true'}, '10'), moodOut)),
	field('How many hours did you sleep last night?', sleep, 'For example 7 or 6.5.'),
	field('Anything you want to note? (optional)', note, 'Only you, and your care team if you allowed it, can read this.'),
	status, button);
	const reminders = h('section', {'aria-labelledby': 'reminders-h'});
	mount(el, h('h1', {}, 'Check in'), form, history, reminders);
	await drawHistory(history);
	await drawReminders(reminders);
}

const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'],
	['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];

// The reminder schedule: on or off, a time and the days, in this device's time zone. Haven
// sends nothing outside the app; the home page says when today's check-in is due.
async function drawReminders(box) {
	let data;
	try {
		data = await api('GET', '/me/reminders');
	} catch (e) {
		mount(box, h('h2', {id: 'reminders-h'}, 'Reminders'), h('p', {}, e.message));
		return;
	}
	const rem = data.reminders;
	const on = h('input', {type: 'checkbox', id: 'reminders-on', name: 'enabled'});
	on.checked = !!rem.enabled;
	const time = h('input', {type: 'time', id: 'reminders-time', name: 'time', value: rem.time || '19:00', required: true});
	const days = DAYS.map(([key, name]) => {
		const box2 = h('input', {type: 'checkbox', id: `reminders-${key}`, name: 'days', value: key});
		box2.checked = rem.set ? rem.days.includes(key) : true;
		return h('label', {class: 'inline', for: box2.id}, box2, ` ${name}`);
	});
	const status = statusBox();
	const button = h('button', {type: 'submit'}, 'Save my reminders');
	const missed = data.missed_checkins;
	const form = h('form', {novalidate: true, onsubmit: async ev => {
		ev.preventDefault();
		clear(status);
		const chosen = DAYS.map(([key]) => key).filter(key => document.getElementById(`reminders-${key}`).checked);
		if (on.checked && !chosen.length) return showError(status, 'Please choose at least one day, or switch reminders off.');
		if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(time.value)) return showError(status, 'Please choose a time, for example 19:00.');
		button.disabled = true;
		try {
			await api('PUT', '/me/reminders', {enabled: on.checked, time: time.value, days: chosen,
				utc_offset_minutes: -new Date().getTimezoneOffset()});
			showOk(status, on.checked ? 'Saved. Haven will remind you here when a check-in is due.' : 'Saved. Reminders are off.');
		} catch (e) {
			showError(status, e.message);
		} finally {
			button.disabled = false;
		}
	}},
	h('div', {class: 'field'}, h('label', {class: 'inline', for: on.id}, on, ' Remind me to check in')),
	field('At what time?', time, 'The time where you are now.'),
	h('fieldset', {}, h('legend', {}, 'On which days?'), ...days),
	status, button);
	mount(box, h('h2', {id: 'reminders-h'}, 'Reminders'),
		h('p', {}, 'Haven shows a reminder on your home page when a check-in is due. It sends no messages outside this app.'),
		rem.enabled && missed ? h('p', {id: 'reminders-missed'}, `In the last ${missed.window_days} days you checked in on ${missed.checked_in} of ${missed.expected} reminder days.`) : null,
		form);
}

async function drawHistory(box) {
	const {checkins} = await api('GET', '/checkins');
	mount(box, h('h2', {id: 'recent-h'}, 'Your recent check-ins'),
		checkins.length ? h('ul', {class: 'plain'}, checkins.slice(0, 10).map(c =>
			h('li', {}, h('strong', {}, formatDate(c.created_at)), `: mood ${c.mood}/10, slept ${c.sleep_hours} h`, c.note ? ` ("${c.note}")` : '')))
			: h('p', {}, 'None yet.'));
}

async function optional(path, key) {
	try {
		return (await api('GET', path))[key] || [];
	} catch (e) {
		if (e.status === 404 || e.status === 405) return null;
		throw e;
	}
}

export async function progress(el) {
	const {checkins} = await api('GET', '/checkins');
	const assessments = await optional('/assessments', 'assessments');
	const points = list => list.slice().sort((a, b) => new Date(a.created_at) - new Date(b.created_at));
	const mood = points(checkins).map(c => ({at: c.created_at, value: c.mood}));
	const parts = [h('h1', {}, 'My progress'),
		h('p', {class: 'lead'}, 'Your mood and questionnaire scores over time. Lower PHQ-9 and GAD-7 scores mean fewer symptoms.')];
	parts.push(chart('mood', mood, 'Mood from your check-ins'));
	if (assessments === null) {
		parts.push(h('p', {}, 'Questionnaire scores are not available on this server yet.'));
	} else {
		for (const [inst, title] of [['phq9', 'PHQ-9 (mood)'], ['gad7', 'GAD-7 (anxiety)']]) {
			const pts = points(assessments.filter(a => a.instrument === inst)).map(a => ({at: a.created_at, value: a.total}));
			parts.push(chart(inst, pts, title));
		}
	}
	mount(el, ...parts);
}

const SCOPE_TEXT = {
	care_team: ['My care team may see what I write and my answers', 'Safety concerns reach them either way.'],
	sensing: ['Haven may accept activity and sleep data I send', ''],
	research: ['My data may be used, without my name, to improve Haven', ''],
};

export async function data(el) {
	const consents = await api('GET', '/me/consents');
	const status = statusBox();
	const boxes = {};
	const rows = Object.keys(SCOPE_TEXT).map(scope => {
		const box = h('input', {type: 'checkbox', id: `scope-${scope}`, checked: !!consents.scopes[scope]});
		boxes[scope] = box;
		return h('div', {class: 'check'}, box, h('label', {for: box.id}, SCOPE_TEXT[scope][0]),
			SCOPE_TEXT[scope][1] ? h('p', {class: 'hint'}, SCOPE_TEXT[scope][1]) : null);
	});
	const save = h('button', {type: 'submit'}, 'Save my choices');
	const consentForm = h('form', {onsubmit: async ev => {
		ev.preventDefault();
		clear(status);
		save.disabled = true;
		try {
			const scopes = {};
			for (const s of Object.keys(boxes)) scopes[s] = boxes[s].checked;
			const r = await api('PUT', '/me/consents', {scopes});
			for (const s of Object.keys(boxes)) boxes[s].checked = !!r.scopes[s];
			showOk(status, 'Your choices are saved.');
		} catch (e) {
			showError(status, e.message);
		} finally {
			save.disabled = false;
		}
	}}, h('fieldset', {}, h('legend', {}, 'What you allow'), rows), status, save);

	const eraseStatus = statusBox();
	const confirmInput = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false', name: 'confirm'});
	const eraseButton = h('button', {type: 'submit', class: 'danger'}, 'Delete my account and all my data');
	const eraseForm = h('form', {class: 'danger-zone', novalidate: true, onsubmit: async ev => {
		ev.preventDefault();
		clear(eraseStatus);
		if (confirmInput.value.trim().toUpperCase() !== 'DELETE')
			return showError(eraseStatus, 'To delete your account, type the word DELETE in the box first.');
		if (!window.confirm('Delete your Haven account and everything in it now? This cannot be undone.')) return;
		eraseButton.disabled = true;
		try {
			await api('DELETE', '/me');
			session.me = null;
			notice('Your account and all your data have been deleted. Take care of yourself.');
			location.hash = '#/login';
		} catch (e) {
			showError(eraseStatus, e.message);
			eraseButton.disabled = false;
		}
	}},
	h('h2', {id: 'erase-h'}, 'Delete my account'),
	h('p', {class: 'warning'}, h('strong', {}, 'This cannot be undone. '),
		'Deleting your account destroys the key that protects your data, so your messages, check-ins, answers and safety plan can never be read again, by anyone, including from backups. You will be signed out. If you might want a copy, download it first.'),
	field('Type DELETE to confirm', confirmInput), eraseStatus, eraseButton);

	mount(el, h('h1', {}, 'My data'),
		h('section', {'aria-labelledby': 'consent-h2'}, h('h2', {id: 'consent-h2'}, 'Consent'),
			h('p', {}, 'You can change these at any time. Changes apply from now on.'),
			consentForm,
			h('details', {class: 'doc'}, h('summary', {}, `The consent text you agreed to (version ${consents.document.version})`),
				h('p', {}, consents.document.text))),
		localeSection(),
		h('section', {'aria-labelledby': 'export-h'}, h('h2', {id: 'export-h'}, 'A copy of everything'),
			h('p', {}, 'Download everything Haven holds about you, decrypted, as one file (JSON format).'),
			h('a', {class: 'button', href: '/api/v1/me/export', download: 'haven-my-data.json', id: 'export-link'}, 'Download my data')),
		h('section', {'aria-labelledby': 'erase-h'}, eraseForm),
		h('p', {}, h('button', {type: 'button', class: 'secondary', onclick: logout}, 'Sign out')));
}

// The crisis lines Haven gives (in the chat's crisis protocol and at the top of every page)
// follow the patient's own locale when they choose one (PATCH /api/v1/me {"locale"}), else
// the service's. "Somewhere else" is en-001 (English, the world), which the crisis lines file
// serves with the international directory.
const INTL = 'en-001';
const LOCALE_CHOICES = [
	...LINES.map(c => [`en-${c.code}`, c.country]),
	[INTL, 'Somewhere else (a worldwide directory of helplines)'],
];

function localeWords(locale) {
	const hit = LOCALE_CHOICES.find(([v]) => v === locale);
	if (hit) return hit[1];
	const region = /^[a-z]{2,3}-([A-Z]{2})$/.exec(locale || '')?.[1];
	const country = LINES.find(c => c.code === region)?.country;
	return country || (locale ? `somewhere else (${locale})` : 'not set');
}

function localeSection() {
	const me = session.me || {};
	const status = statusBox();
	const select = h('select', {id: 'locale-choice', name: 'locale'},
		h('option', {value: ''}, 'Not chosen: use this service\'s setting'),
		LOCALE_CHOICES.map(([v, label]) => h('option', {value: v}, label)));
	const mine = me.locale_source === 'patient' ? me.locale : '';
	select.value = LOCALE_CHOICES.some(([v]) => v === mine) ? mine : '';
	if (mine && !select.value) {
		// A locale chosen elsewhere (for example at sign-up) that is not in the list.
		select.append(h('option', {value: mine}, localeWords(mine)));
		select.value = mine;
	}
	const now = h('p', {id: 'locale-now'});
	const describe = m => mount(now, 'Now showing crisis lines for: ', h('strong', {}, localeWords(m.locale)),
		m.locale_source === 'patient' ? ' (your choice).' : ' (this service\'s setting).');
	describe(me);
	const save = h('button', {type: 'submit'}, 'Save where I am');
	const form = h('form', {id: 'locale-form', onsubmit: async ev => {
		ev.preventDefault();
		clear(status);
		save.disabled = true;
		try {
			const updated = await api('PATCH', '/me', {locale: select.value || null});
			if (updated && session.me) Object.assign(session.me, {locale: updated.locale, locale_source: updated.locale_source});
			describe(updated || {});
			showOk(status, 'Saved. The crisis lines now follow your choice, in the chat and on the help page.');
		} catch (e) {
			showError(status, e.code === 'invalid_body'
				? 'Your choice was not saved. Haven has no crisis lines for that choice; please choose another.'
				: `Your choice was not saved. ${e.message}`);
		} finally {
			save.disabled = false;
		}
	}}, field('Which country are you in?', select, 'Haven shows the crisis lines for this country first, in the chat and on the "Need help now?" page.'),
	now, status, save);
	return h('section', {'aria-labelledby': 'locale-h'}, h('h2', {id: 'locale-h'}, 'Crisis lines for where you are'), form);
}
