// admin.js: accounts (list, create) and the audit log with its verification. Audit
// records hold who, what and when, never clinical text.
import {api} from '../api.js';
import {h, mount, field, statusBox, showError, showOk, clear, formatDate} from '../dom.js';

export async function accounts(el) {
	const {users} = await api('GET', '/users');
	const email = h('input', {type: 'email', name: 'email', autocomplete: 'off', required: true});
	const password = h('input', {type: 'password', name: 'password', autocomplete: 'new-password', required: true});
	const role = h('select', {name: 'role'}, ['clinician', 'admin', 'patient'].map(r => h('option', {value: r}, r)));
	const status = statusBox();
	const form = h('form', {novalidate: true, onsubmit: async ev => {
		ev.preventDefault();
		clear(status);
		if (password.value.length < 10) return showError(status, 'The password must be at least 10 characters.');
		try {
			await api('POST', '/users', {email: email.value.trim(), password: password.value, role: role.value});
			showOk(status, `Account created for ${email.value.trim()}.`);
			await accounts(el);
		} catch (e) {
			showError(status, e.message);
		}
	}}, field('Email address', email), field('Temporary password', password, 'At least 10 characters. Give it to the person securely.'),
	field('Role', role), status, h('button', {type: 'submit'}, 'Create account'));
	mount(el, h('h1', {}, 'Accounts'),
		h('div', {class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Table, scrolls sideways'}, h('table', {},
			h('caption', {}, `${users.length} accounts`),
			h('thead', {}, h('tr', {}, ['Id', 'Email', 'Role', 'Created', 'Status'].map(t => h('th', {scope: 'col'}, t)))),
			h('tbody', {}, users.map(u => h('tr', {}, h('td', {}, String(u.id)), h('th', {scope: 'row'}, u.email), h('td', {}, u.role),
				h('td', {}, formatDate(u.created_at)), h('td', {}, u.disabled ? 'Disabled' : 'Active')))))),
		h('section', {'aria-labelledby': 'new-h'}, h('h2', {id: 'new-h'}, 'Create an account'), form));
}

export async function audit(el) {
	const verifyBox = h('div', {id: 'verify'});
	const tbody = h('tbody', {});
	const status = statusBox();
	let before = null;
	const more = h('button', {type: 'button', class: 'secondary'}, 'Show older records');
	const loadPage = async () => {
		clear(status);
		try {
			const r = await api('GET', `/audit?limit=100${before ? `&before=${before}` : ''}`);
			for (const x of r.records) tbody.append(h('tr', {class: x.outcome === 'ok' ? '' : 'refused'},
				h('td', {}, String(x.id)), h('td', {}, formatDate(x.at)), h('td', {}, `${x.actor_role}${x.actor_id ? ` #${x.actor_id}` : ''}`),
				h('td', {}, x.action), h('td', {}, x.subject), h('td', {}, x.outcome), h('td', {}, x.detail)));
			before = r.next_before || null;
			more.hidden = !before;
		} catch (e) {
			showError(status, e.message);
		}
	};
	more.addEventListener('click', loadPage);
	const verify = async () => {
		mount(verifyBox, h('p', {}, 'Checking the whole chain…'));
		try {
			const v = await api('GET', '/audit/verify');
			mount(verifyBox, v.intact
				? h('p', {class: 'status ok', role: 'status'}, h('strong', {}, 'The audit log is intact: '),
					`${v.records} records checked, every link and hash matches. Head: ${v.head.id}:${v.head.hash}. Note the head outside Haven to detect later truncation.`)
				: h('p', {class: 'status error', role: 'alert'}, h('strong', {}, 'The audit log has been altered: '),
					`record ${v.first_bad_id}: ${v.reason}. ${v.records} records checked.`));
		} catch (e) {
			mount(verifyBox, h('p', {class: 'status error', role: 'alert'}, e.message));
		}
	};
	mount(el, h('h1', {}, 'Audit log'),
		h('section', {'aria-labelledby': 'verify-h'}, h('h2', {id: 'verify-h'}, 'Verification'), verifyBox,
			h('button', {type: 'button', onclick: verify}, 'Verify again')),
		h('section', {'aria-labelledby': 'records-h'}, h('h2', {id: 'records-h'}, 'Records, newest first'),
			h('div', {class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Table, scrolls sideways'}, h('table', {class: 'audit'},
				h('thead', {}, h('tr', {}, ['Id', 'When', 'Who', 'Action', 'Subject', 'Outcome', 'Detail'].map(t => h('th', {scope: 'col'}, t)))),
				tbody)), status, more));
	await Promise.all([verify(), loadPage()]);
}
