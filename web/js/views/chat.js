// chat.js: the conversation with the Haven helper. Messages go to POST /api/v1/chat/messages
// and each reply is the agent's turn: {reply, state, risk: {level, reasons}, actions}.
// Choices and scales in a turn become quick-reply buttons. When the crisis protocol starts
// (risk level "high" or a crisis state), a panel that cannot be missed shows the crisis
// lines and stays until the conversation leaves the protocol.
import {api} from '../api.js';
import {h, mount, statusBox, showError, clear, formatDate} from '../dom.js';
import {linesList} from './help.js';

function author(m) {
	const who = m.role || m.from || m.author || m.sender || '';
	return /user|patient|me/i.test(who) ? 'you' : 'agent';
}

// Quick replies from a turn: actions may be strings or objects with options/choices.
function quickReplies(turn) {
	const out = [];
	const add = o => {
		if (typeof o === 'string') out.push({label: o, value: o});
		else if (o && (o.label || o.text || o.value !== undefined))
			out.push({label: String(o.label ?? o.text ?? o.value), value: String(o.value ?? o.text ?? o.label)});
	};
	for (const list of [turn.quick_replies, turn.options, turn.choices]) if (Array.isArray(list)) list.forEach(add);
	for (const a of turn.actions || []) {
		if (a && typeof a === 'object') {
			for (const key of ['options', 'choices', 'replies', 'quick_replies']) if (Array.isArray(a[key])) a[key].forEach(add);
			if (a.type === 'scale' && Number.isInteger(a.min) && Number.isInteger(a.max))
				for (let v = a.min; v <= a.max; v++) add(String(v));
		}
	}
	return out.slice(0, 12);
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

export async function view(el) {
	const log = h('ol', {class: 'chat-log', 'aria-live': 'polite', 'aria-label': 'Conversation'});
	const replies = h('div', {class: 'quick-replies', role: 'group', 'aria-label': 'Quick replies'});
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
	const showTurn = turn => {
		if (turn.reply) addMessage('agent', turn.reply, turn.created_at);
		mount(replies, quickReplies(turn).map(q => h('button', {type: 'button', class: 'reply', onclick: () => say(q.value)}, q.label)));
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
		for (const m of msgs) addMessage(author(m), m.text, m.created_at);
		const last = msgs[msgs.length - 1];
		if (last && author(last) === 'agent' && inCrisis(last)) mount(crisisSlot, crisisPanel(last));
		if (!msgs.length) addMessage('agent', 'Hello. How are you feeling today? You can write anything, in your own words.');
	} catch (e) {
		if (e.status === 404) showError(status, 'Chat is not available on this server yet.');
		else showError(status, e.message);
	}
}
