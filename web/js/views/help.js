// help.js: the crisis lines, reachable from the link at the top of every page, and the
// same list used by the chat's crisis protocol.
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

export function crisis(el) {
	mount(el, h('h1', {}, 'Need help now?'),
		h('p', {class: 'lead urgent'}, 'If you might act on thoughts of ending your life or harming yourself, or you are in danger, call your emergency number now.'),
		h('p', {}, 'If you need to talk to someone, these lines are free, confidential and open at any hour. You do not have to be suicidal to call.'),
		linesList(),
		h('p', {}, 'Haven is a self-help tool. It is not an emergency service, and a person may not see your messages straight away.'));
}
