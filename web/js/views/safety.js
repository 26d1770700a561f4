// safety.js: the patient's own safety plan (Stanley and Brown's six steps), to read, change
// at any time and print. GET /api/v1/me/safety-plan gives every section (empty ones as []),
// and "updated_at" (null before the first save); PUT replaces the whole plan, so every
// section is sent each time. The sections and their limits are the server's
// (src/dialog/chat.c): at most 20 entries of 1 to 500 characters each. In the page each
// section is a box with one entry per line; blank lines are dropped.
import {api} from '../api.js';
import {h, mount, field, statusBox, showError, showOk, clear, formatDate} from '../dom.js';
import {linesList} from './help.js';

// [key the server uses, title, what goes in it], in the order of the six steps.
export const SECTIONS = [
	['warning_signs', '1. My warning signs',
		'Thoughts, feelings, moods or situations that tell me a hard time may be starting.'],
	['coping', '2. Things I can do on my own to feel calmer',
		'Ways to take my mind off things without needing anyone else, like a walk, music or a warm shower.'],
	['distractions', '3. People and places that take my mind off things',
		'People I can spend time with and places I can go, like a friend\'s home, a café or a park.'],
	['people', '4. People I can ask for help',
		'People I trust to talk to when things get hard, with their phone numbers.'],
	['professionals', '5. Professionals and crisis lines I can contact',
		'My clinician, my doctor, a crisis line, with their numbers. Crisis lines are also listed at the end of this page.'],
	['environment', '6. Making my surroundings safer',
		'Steps that keep me safe, like asking someone to look after medicines or anything I could use to hurt myself.'],
];

export const MAX_ENTRIES = 20;
export const MAX_CHARS = 500;

const PATH = '/me/safety-plan';

// One entry per non-blank line, trimmed.
const toList = text => text.split('\n').map(s => s.trim()).filter(Boolean);
const asLines = v => (Array.isArray(v) ? v.filter(x => typeof x === 'string').join('\n') : '');
// Characters as a person counts them (and as the server does: code points).
const chars = s => [...s].length;

// The first problem in the plan, in plain words, with the section it is in; null if none.
function problem(body) {
	for (const [key, title] of SECTIONS) {
		const name = `"${title.replace(/^\d+\.\s*/, '')}"`;
		const items = body[key];
		if (items.length > MAX_ENTRIES) {
			return {key, message: `${name} has ${items.length} lines. Please keep it to ${MAX_ENTRIES} lines or fewer, then save again.`};
		}
		const i = items.findIndex(s => chars(s) > MAX_CHARS);
		if (i >= 0) {
			return {key, message: `Line ${i + 1} of ${name} is ${chars(items[i])} characters long. Please keep each line to ${MAX_CHARS} characters or fewer (split it over two lines if you like), then save again.`};
		}
	}
	return null;
}

function lastChanged(plan) {
	return plan.updated_at
		? `Last saved ${formatDate(plan.updated_at)}.`
		: 'You have not saved a safety plan yet. You can fill in as much or as little as you like, and come back to it at any time.';
}

export async function view(el) {
	let plan;
	try {
		plan = await api('GET', PATH);
	} catch (e) {
		// The plan could not be read: say why, and still give the crisis lines.
		mount(el, h('h1', {}, 'My safety plan'),
			h('p', {class: 'status error', role: 'alert'}, `Your safety plan could not be loaded. ${e.message}`),
			h('p', {}, 'If you are struggling now, you do not have to wait. These lines can help:'),
			linesList());
		return;
	}
	plan = plan || {};
	const status = statusBox();
	status.tabIndex = -1;
	const saved = h('p', {class: 'hint'}, lastChanged(plan));
	const inputs = {};
	const errors = {};
	// A problem with one section is shown next to its box, and read with it.
	const clearProblem = key => {
		inputs[key].removeAttribute('aria-invalid');
		inputs[key].setAttribute('aria-describedby', `plan-${key}-hint`);
		clear(errors[key]);
	};
	const fields = SECTIONS.map(([key, label, hint]) => {
		const t = h('textarea', {rows: 4, name: key, id: `plan-${key}`});
		t.value = asLines(plan[key]);
		t.addEventListener('input', () => clearProblem(key));
		inputs[key] = t;
		errors[key] = h('p', {class: 'status', id: `plan-${key}-error`});
		const f = field(label, t, `${hint} Write each one on its own line.`);
		f.insertBefore(errors[key], t);
		return f;
	});

	// What is printed: the plan as lists (the form is hidden when printing).
	const printable = h('div', {class: 'print-only safety-plan-print'});
	const drawPrintable = () => mount(printable, SECTIONS.map(([key, label]) => {
		const items = toList(inputs[key].value);
		return h('section', {}, h('h2', {}, label),
			items.length ? h('ul', {}, items.map(i => h('li', {}, i))) : h('p', {class: 'empty'}, 'Nothing written here yet.'));
	}));
	drawPrintable();

	const save = h('button', {type: 'submit'}, 'Save my plan');
	const form = h('form', {class: 'no-print', novalidate: true, onsubmit: async ev => {
		ev.preventDefault();
		clear(status);
		for (const [key] of SECTIONS) clearProblem(key);
		const body = {};
		for (const [key] of SECTIONS) body[key] = toList(inputs[key].value);
		const bad = problem(body);
		if (bad) {
			const t = inputs[bad.key];
			errors[bad.key].className = 'status error';
			mount(errors[bad.key], bad.message);
			t.setAttribute('aria-invalid', 'true');
			t.setAttribute('aria-describedby', `plan-${bad.key}-error plan-${bad.key}-hint`);
			showError(status, `Your safety plan was not saved yet. ${bad.message}`);
			t.focus();
			return;
		}
		save.disabled = true;
		try {
			const stored = await api('PUT', PATH, body);
			// Show what the server kept (blank lines gone, spaces trimmed).
			if (stored) {
				for (const [key] of SECTIONS) inputs[key].value = asLines(stored[key]);
				mount(saved, lastChanged(stored));
			}
			drawPrintable();
			showOk(status, 'Your safety plan is saved. You can come back and change it whenever you need to.');
		} catch (e) {
			showError(status, `Your safety plan was not saved. ${e.message}`);
		} finally {
			save.disabled = false;
		}
	}}, fields, status, save,
	h('button', {type: 'button', class: 'secondary', onclick: () => { drawPrintable(); window.print(); }}, 'Print my plan'));

	mount(el, h('h1', {}, 'My safety plan'),
		h('p', {class: 'lead no-print'}, 'A plan you make while you feel steady, to follow one step at a time when things get hard. Start with step 1 and move on to the next step if you still do not feel safe. You can change it at any time.'),
		h('p', {class: 'hint no-print'}, 'If you have let your care team see what you write, they can read this plan too.'),
		saved, form, printable,
		h('section', {class: 'print-lines', 'aria-labelledby': 'plan-lines-h'},
			h('h2', {id: 'plan-lines-h'}, 'Crisis lines'),
			h('p', {}, 'Free and confidential, at any hour. If you are in danger now, call your emergency number.'),
			linesList()));
}
