// auth.js: signing in, and signing up with an invitation code. Sign-up shows the consent
// in plain words first (what is stored, who sees it, what the agent is and is not), and
// the choices made there are recorded with the account.
import {api, ApiError} from '../api.js';
import {h, mount, field, statusBox, showError, clear} from '../dom.js';
import {signedIn} from '../app.js';

async function doLogin(email, password) {
	const r = await api('POST', '/auth/login', {email, password, cookie: true});
	const me = await api('GET', '/me');
	signedIn(me, r.csrf_token);
}

export async function login(el) {
	const email = h('input', {type: 'email', name: 'email', autocomplete: 'username', required: true});
	const password = h('input', {type: 'password', name: 'password', autocomplete: 'current-password', required: true});
	const status = statusBox();
	const button = h('button', {type: 'submit'}, 'Sign in');
	const form = h('form', {novalidate: true, onsubmit: async ev => {
		ev.preventDefault();
		clear(status);
		if (!email.value.trim() || !password.value) {
			showError(status, 'Please enter your email address and your password.');
			return;
		}
		button.disabled = true;
		try {
			await doLogin(email.value.trim(), password.value);
		} catch (e) {
			showError(status, e.message);
		} finally {
			button.disabled = false;
		}
	}}, field('Email address', email), field('Password', password), status, button);
	mount(el, h('section', {class: 'narrow'},
		h('h1', {}, 'Sign in to Haven'), form,
		h('p', {}, 'New here? If your clinician gave you an invitation code, ',
			h('a', {href: '#/signup'}, 'create your account'), '.')));
}

const SCOPES = [
	['care_team', 'Let my care team see what I write and my answers',
		'Your clinician can read your messages, check-ins and questionnaire answers, to support you between sessions. If you say no, they still hear about safety concerns, as explained above.'],
	['sensing', 'Accept activity and sleep data I choose to send',
		'Only if you send it, for example from a step counter. You can stop at any time.'],
	['research', 'Use my data, without my name, to help improve Haven',
		'Your words and scores may be used, with your name and email removed, to check and improve how well Haven works.'],
];

function consentStep(doc, onAgree) {
	const boxes = {};
	const status = statusBox();
	const list = SCOPES.map(([scope, label, hint]) => {
		const box = h('input', {type: 'checkbox', id: `consent-${scope}`, name: scope});
		boxes[scope] = box;
		return h('div', {class: 'check'}, box, h('label', {for: box.id}, label), h('p', {class: 'hint'}, hint));
	});
	const understood = h('input', {type: 'checkbox', id: 'consent-understood', required: true});
	return h('section', {class: 'narrow', 'aria-labelledby': 'consent-h'},
		h('h1', {id: 'consent-h'}, 'Before you start'),
		h('p', {class: 'lead'}, 'Please read this. It says in plain words what Haven does with what you share.'),
		h('h2', {}, 'What Haven is, and is not'),
		h('ul', {},
			h('li', {}, 'Haven has a chat helper (an automated program, not a person) that offers self-help exercises based on cognitive behavioural therapy, check-ins and questionnaires.'),
			h('li', {}, 'It is not a therapist, it does not diagnose, and it never gives advice about medication.'),
			h('li', {}, 'It is not an emergency service. If you might act on thoughts of ending your life, call your local emergency number or a crisis line now. The "Need help now?" link at the top of every page lists them.')),
		h('h2', {}, 'What is stored'),
		h('ul', {},
			h('li', {}, 'Your email address and a scrambled form of your password (nobody can read your password).'),
			h('li', {}, 'What you write, your check-ins and your answers. These are encrypted with a key that belongs to you alone.'),
			h('li', {}, 'A record of who looked at or changed your information, and when. You can see and download everything Haven holds about you at any time, and delete your account, which destroys your key.')),
		h('h2', {}, 'Who sees it'),
		h('ul', {},
			h('li', {}, 'You.'),
			h('li', {}, 'The clinician who invited you and their care team, only if you allow it below.'),
			h('li', {}, 'Safety concerns always reach your care team, even if you do not allow the rest: if Haven sees signs that you might be in danger, or you answer above 0 to the PHQ-9 question about hurting yourself, your care team is told so that a person can check on you. If no clinician is on your care team yet, Haven says so and gives you crisis lines to call instead.'),
			h('li', {}, 'Administrators manage accounts but cannot read what you write.')),
		doc ? h('details', {class: 'doc'}, h('summary', {}, `The full consent text (version ${doc.version})`), h('p', {}, doc.text)) : null,
		h('fieldset', {}, h('legend', {}, 'Your choices (you can change them at any time under "My data")'), list),
		h('div', {class: 'check'}, understood, h('label', {for: understood.id}, 'I have read this and understand what Haven is and is not.')),
		status,
		h('button', {type: 'button', onclick: () => {
			if (!understood.checked) {
				showError(status, 'Please tick the box to say you have read this, so we know you understand what Haven is and is not.');
				understood.focus();
				return;
			}
			const scopes = {};
			for (const [scope] of SCOPES) scopes[scope] = boxes[scope].checked;
			onAgree(scopes);
		}}, 'Continue'));
}

function accountStep(code, consents, onBack) {
	const codeIn = h('input', {type: 'text', name: 'code', autocomplete: 'off', required: true, spellcheck: 'false', value: code || ''});
	const email = h('input', {type: 'email', name: 'email', autocomplete: 'email', required: true});
	const password = h('input', {type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 10});
	const again = h('input', {type: 'password', name: 'password2', autocomplete: 'new-password', required: true});
	const status = statusBox();
	const button = h('button', {type: 'submit'}, 'Create my account');
	const form = h('form', {novalidate: true, onsubmit: async ev => {
		ev.preventDefault();
		clear(status);
		if (!codeIn.value.trim()) return showError(status, 'Please enter the invitation code your clinician gave you.');
		if (!email.value.trim()) return showError(status, 'Please enter your email address.');
		if (password.value.length < 10) return showError(status, 'Please choose a password of at least 10 characters.');
		if (password.value !== again.value) return showError(status, 'The two passwords are different. Please type the same password twice.');
		button.disabled = true;
		try {
			await api('POST', '/auth/register', {code: codeIn.value.trim(), email: email.value.trim(), password: password.value, consents});
			await doLogin(email.value.trim(), password.value);
		} catch (e) {
			showError(status, e instanceof ApiError ? e.message : 'Something went wrong. Please try again.');
		} finally {
			button.disabled = false;
		}
	}},
	field('Invitation code', codeIn, 'The code from your clinician. It works once.'),
	field('Email address', email),
	field('Choose a password', password, 'At least 10 characters. A few words you will remember works well.'),
	field('Type the password again', again),
	status, button,
	h('button', {type: 'button', class: 'secondary', onclick: onBack}, 'Back to the consent page'));
	return h('section', {class: 'narrow'}, h('h1', {}, 'Create your account'), form);
}

export async function signup(el, code) {
	let doc = null;
	try {
		doc = (await api('GET', '/consent/document')).document;
	} catch {
		doc = null;
	}
	const showConsent = () => {
		mount(el, consentStep(doc, consents => {
			mount(el, accountStep(code, consents, showConsent));
			el.querySelector('h1').focus?.();
			el.querySelector('input').focus();
		}));
	};
	showConsent();
}
