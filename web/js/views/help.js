// help.js: the crisis lines: the panel the link at the top of every page opens over the
// page the person is on (so nothing they were doing is lost), the #/help page (the link's
// own address, and the footer's), and the same list used by the chat's crisis protocol.
import {h, mount} from '../dom.js';
import {LINES, DIRECTORY, regionForLocale} from '../crisis-lines.js';
import {session} from '../app.js';

// All the lines, the given region (or the signed-in person's) first.
// A signed-in person whose locale names no listed country (they chose "somewhere else")
// sees the worldwide directory first.
export function linesList(region) {
	const locale = session.me?.locale;
	const first = region || regionForLocale(locale);
	const ordered = first ? [...LINES.filter(c => c.code === first), ...LINES.filter(c => c.code !== first)] : LINES;
	const elsewhere = !first && locale && locale !== 'en';
	return h('div', {class: 'lines'},
		elsewhere ? h('p', {class: 'directory-first'}, h('strong', {}, 'Where you are: '),
			h('a', {href: DIRECTORY.url, rel: 'noopener noreferrer', target: '_blank'}, DIRECTORY.name),
			` lists ${DIRECTORY.how}. If you are in danger now, call your local emergency number.`) : null,
		ordered.map(c => h('section', {class: 'country', 'aria-label': c.country},
			h('h3', {}, c.country),
			h('ul', {},
				c.lines.map(l => h('li', {},
					h('strong', {}, l.name), ': ',
					h('a', {href: l.tel ? `tel:${l.tel}` : `sms:${l.sms}`, class: 'tel'}, l.how))),
				h('li', {}, 'Emergency services: ', h('a', {href: `tel:${c.emergency.split(' ')[0]}`, class: 'tel'}, c.emergency))))),
		h('p', {}, 'Anywhere else: ', h('a', {href: DIRECTORY.url, rel: 'noopener noreferrer', target: '_blank'}, DIRECTORY.name),
			` lists ${DIRECTORY.how}.`));
}

function crisisText() {
	return [
		h('p', {class: 'lead urgent'}, 'If you might act on thoughts of ending your life or harming yourself, or you are in danger, call your emergency number now.'),
		h('p', {}, 'If you need to talk to someone, these lines are free, confidential and open at any hour. You do not have to be suicidal to call.'),
		linesList(),
		h('p', {}, 'Haven is a self-help tool. It is not an emergency service, and a person may not see your messages straight away.')];
}

export function crisis(el) {
	mount(el, h('h1', {}, 'Need help now?'), crisisText());
}

// The panel: a modal dialog, so the page behind it is out of reach until it closes. Focus
// moves to its title (read out with it), Tab goes on to Close and the lines; Escape or
// Close shuts it and gives focus back to what opened it. Following a link to another page
// of Haven closes it too.
let returnFocus = null;
export function openCrisisPanel() {
	let d = document.getElementById('crisis-dialog');
	if (!d) {
		d = h('dialog', {id: 'crisis-dialog', class: 'crisis-dialog', 'aria-labelledby': 'crisis-dialog-h'});
		d.addEventListener('close', () => {
			const back = returnFocus;
			returnFocus = null;
			if (back && back.isConnected) back.focus();
		});
		window.addEventListener('hashchange', () => { if (d.open) d.close(); });
		document.body.append(d);
	}
	if (d.open) return d;
	returnFocus = document.activeElement && document.activeElement !== document.body ? document.activeElement : null;
	mount(d,
		h('div', {class: 'dialog-head'},
			h('h2', {id: 'crisis-dialog-h', tabindex: '-1'}, 'Need help now?'),
			h('button', {type: 'button', class: 'secondary', id: 'crisis-close', onclick: () => d.close()}, 'Close')),
		crisisText());
	d.showModal();
	d.querySelector('#crisis-dialog-h').focus();
	return d;
}
