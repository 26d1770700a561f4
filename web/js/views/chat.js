// chat.js: the conversation with the Haven helper. Messages go to POST /api/v1/chat/messages
// and each reply is the agent's turn: {reply, state, risk: {level, reasons}, actions,
// expects}. What the agent waits for (expects: yes/no, a choice, a scale) becomes
// quick-reply buttons. When the crisis protocol starts
// (risk level "high" or a crisis state), a panel that cannot be missed shows the crisis
// lines and stays until the conversation leaves the protocol.
import {api} from '../api.js';
import {h, mount, statusBox, showError, clear, formatDate} from '../dom.js';
import {linesList} from './help.js';

function author(m) {
	const who = m.role || m.from || m.author || m.sender || '';
	return /user|patient|me/i.test(who) ? 'you' : 'agent';
}

// Quick replies from the turn's "expects" (docs/chat.md): what the agent now waits for.
// yes_no and choice give their options as buttons; a scale gives one button per number
// from min to max, with the words for its ends ("0 = calm, 10 = extremely"); a 0-3 scale
// names every answer ("1 Several days"). Text may come with suggested replies (in the
// crisis protocol, showing the safety plan). Each item's value is what is sent as the
// person's message; typing an answer is always possible as well.
export function quickReplies(turn) {
	const ex = turn && typeof turn.expects === 'object' ? turn.expects : null;
	if (!ex) return null;
	const options = Array.isArray(ex.options) ? ex.options.filter(o => o && typeof o.value === 'string') : [];
	if (ex.kind === 'scale' && Number.isInteger(ex.min) && Number.isInteger(ex.max) && ex.max >= ex.min && ex.max - ex.min <= 20) {
		const words = new Map((Array.isArray(ex.labels) ? ex.labels : [])
			.filter(l => l && Number.isInteger(l.value) && typeof l.label === 'string').map(l => [l.value, l.label]));
		const every = words.size === ex.max - ex.min + 1;
		const items = [];
		for (let v = ex.min; v <= ex.max; v++) {
			const w = words.get(v);
			items.push({label: every ? `${v} ${w}` : String(v), value: String(v), aria: w ? `${v}, ${w}` : String(v)});
		}
		const ends = every ? '' : [ex.min, ex.max].filter(v => words.has(v)).map(v => `${v} = ${words.get(v)}`).join(', ');
		return {kind: 'scale', name: `Choose a number from ${ex.min} to ${ex.max}`, hint: ends, items};
	}
	if (!options.length) return null;
	const items = options.map(o => ({label: String(o.label || o.value), value: o.value}));
	return {kind: ex.kind === 'yes_no' || ex.kind === 'choice' ? ex.kind : 'suggest',
		name: ex.kind === 'text' ? 'Suggested replies' : 'Quick replies', hint: '', items};
}

function inCrisis(turn) {
	const level = turn?.risk?.level;
	const state = String(turn?.state || '');
	const acts = (turn?.actions || []).map(a => (typeof a === 'string' ? a : a?.type || '')).join(' ');
	return level === 'high' || /crisis/i.test(state) || /crisis/i.test(acts);
}

/* The person sees what to do, not the screen's rule names: the reasons behind the
 * judgement are for the care team, who see them with the flagged message. */
function crisisPanel() {
	return h('section', {class: 'crisis-panel', role: 'alert', 'aria-labelledby': 'crisis-h', id: 'crisis-panel'},
		h('h2', {id: 'crisis-h'}, 'Your safety comes first'),
		h('p', {}, h('strong', {}, 'It sounds like you may be in danger. Please contact a crisis line or your emergency number now. '),
			'You deserve support from a person right now. Your care team has been told.'),
		linesList(),
		h('p', {}, h('a', {href: '#/safety-plan', class: 'button'}, 'Open my safety plan')));
}

// start: the name of an exercise to ask for (from the exercises page, #/chat?start=NAME):
// its sentence is put in the message box, ready to send, and the box is focused.
export async function view(el, start) {
	const log = h('ol', {class: 'chat-log', 'aria-live': 'polite', 'aria-label': 'Conversation'});
	const replies = h('div', {class: 'quick-replies-slot'});
	const crisisSlot = h('div', {});
	const input = h('textarea', {id: 'chat-input', rows: 2, maxlength: 4000, name: 'text'});
	const status = statusBox();
	const send = h('button', {type: 'submit'}, 'Send');

	const addMessage = (who, text, at) => {
		log.append(h('li', {class: `msg ${who}`},
			h('span', {class: 'sr-only'}, who === 'you' ? 'You said: ' : 'Haven said: '),
			h('p', {}, text), at ? h('time', {datetime: at}, formatDate(at)) : null));
		log.lastElementChild.scrollIntoView({block: 'nearest'});
	};
	// The buttons for what the agent waits for; pressing one sends its value as the
	// person's message. A group named for what it answers, its end words read with it.
	const showReplies = turn => {
		const q = quickReplies(turn);
		if (!q) { replies.replaceChildren(); return; }
		const hint = q.hint ? h('p', {class: 'hint scale-ends', id: 'quick-replies-hint'}, q.hint) : null;
		mount(replies, hint, h('div', {class: `quick-replies ${q.kind}`, role: 'group', id: 'quick-replies',
			'aria-label': q.name, 'aria-describedby': hint ? 'quick-replies-hint' : undefined},
		q.items.map(it => h('button', {type: 'button', class: 'reply', 'aria-label': it.aria && it.aria !== it.label ? it.aria : undefined,
			dataset: {value: it.value}, onclick: () => say(it.value)}, it.label))));
	};
	let lastTurn = null;
	const showTurn = turn => {
		if (turn.reply) addMessage('agent', turn.reply, turn.created_at);
		lastTurn = turn;
		showReplies(turn);
		if (inCrisis(turn)) {
			const panel = crisisPanel(turn);
			mount(crisisSlot, panel);
			panel.scrollIntoView({block: 'start'});
		} else if (turn.state !== undefined && !/crisis/i.test(String(turn.state))) {
			crisisSlot.replaceChildren();
		}
	};
	const say = async text => {
		text = text.trim();
		if (!text) return;
		clear(status);
		send.disabled = true;
		addMessage('you', text);
		input.value = '';
		replies.replaceChildren();
		try {
			showTurn(await api('POST', '/chat/messages', {text}));
		} catch (e) {
			showError(status, e.status === 404 ? 'Chat is not available on this server yet.' : `Your message may not have been sent. ${e.message}`);
			if (lastTurn) showReplies(lastTurn); // the same answers stay on offer
		} finally {
			send.disabled = false;
			input.focus();
		}
	};
	const form = h('form', {class: 'chat-form', onsubmit: ev => { ev.preventDefault(); say(input.value); }},
		h('label', {for: input.id}, 'Your message'), input, status, send);
	input.addEventListener('keydown', ev => {
		if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); say(input.value); }
	});
	mount(el, h('h1', {}, 'Talk with Haven'),
		h('p', {class: 'hint'}, 'Haven\'s helper is an automated program, not a person, and not an emergency service. ',
			h('a', {href: '#/help'}, 'Crisis lines'), ' are always one tap away at the top of the page.'),
		crisisSlot, log, replies, form);
	try {
		const hist = await api('GET', '/chat/messages');
		const msgs = hist.messages || [];
		// Each stored message holds what the person wrote and the agent's reply to it.
		for (const m of msgs) {
			if (typeof m.reply === 'string') {
				if (m.text) addMessage('you', m.text, m.created_at);
				if (m.reply) addMessage('agent', m.reply, m.created_at);
			} else {
				addMessage(author(m), m.text, m.created_at);
			}
		}
		const last = msgs[msgs.length - 1];
		if (last && typeof last.reply === 'string') {
			// The newest message says what the agent waits for: the same buttons as before.
			lastTurn = last;
			showReplies(last);
		}
		if (last && author(last) === 'agent' && inCrisis(last)) mount(crisisSlot, crisisPanel(last));
		if (!msgs.length) addMessage('agent', 'Hello. How are you feeling today? You can write anything, in your own words.');
	} catch (e) {
		if (e.status === 404) showError(status, 'Chat is not available on this server yet.');
		else showError(status, e.message);
	}
	if (start) await prepareStart(start, input, form);
}

async function prepareStart(name, input, form) {
	let exercise = null;
	try {
		const r = await api('GET', '/exercises');
		exercise = (r?.exercises || []).find(e => e.name === name) || null;
	} catch {
		exercise = null; // the person can still type what they want
	}
	if (!exercise) return;
	input.value = exercise.start_text;
	const hint = h('p', {class: 'hint', id: 'chat-start-hint'},
		`Your request for ${exercise.title} is ready below. Press Send, or Enter, to start. If this is your first time, Haven will first say what it is and ask if that is okay.`);
	form.insertBefore(hint, input);
	input.setAttribute('aria-describedby', hint.id);
	// Focus after the page has been shown (the router focuses the main region first).
	requestAnimationFrame(() => requestAnimationFrame(() => input.focus()));
}
