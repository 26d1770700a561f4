// exercises.js: the patient's exercises page. GET /api/v1/exercises gives what the Haven
// helper offers (each with a plain description and the sentence that starts it in chat),
// the person's own before/after ratings of each rated exercise, and the exercise to try
// next with its reason. Starting one opens the chat with that request ready to send.
// Printable: the print view keeps the descriptions and the person's own notes, without
// buttons.
import {api} from '../api.js';
import {h, mount, formatDate} from '../dom.js';

// The pages of the things that are not exercises but are offered in chat too.
const PAGES = {checkin: '#/checkin', phq9: '#/assess/phq9', gad7: '#/assess/gad7', safety_plan: '#/safety-plan'};

export const startHref = name => `#/chat?start=${encodeURIComponent(name)}`;

// A person's ratings in words: how many times it felt easier afterwards, without judging.
function historyBlock(e) {
	const hist = e.history;
	if (!e.rated || !hist) return h('p', {class: 'hint'}, 'This one has no rating before and after.');
	const ratings = Array.isArray(hist.ratings) ? hist.ratings : [];
	if (!ratings.length) return h('p', {class: 'hint'}, 'You have not done this one with Haven yet. It asks you to rate ' + (hist.rating || 'how you feel') + ', before and after.');
	const times = ratings.length === 1 ? 'once' : `${ratings.length} times`;
	return h('div', {class: 'history'},
		h('p', {}, `You have done this ${times}. It felt better afterwards ${hist.helped} of ${ratings.length} ${ratings.length === 1 ? 'time' : 'times'}.`),
		h('div', {class: 'scroll', tabindex: 0, role: 'region', 'aria-label': `Your ratings for ${e.title}`},
			h('table', {class: 'ratings'},
				h('caption', {}, `Your ratings: ${hist.rating || 'before and after'}`),
				h('thead', {}, h('tr', {}, ['When', 'Before', 'After', 'Afterwards'].map(t => h('th', {scope: 'col'}, t)))),
				h('tbody', {}, ratings.slice().reverse().map(r => h('tr', {},
					h('th', {scope: 'row'}, formatDate(r.at)),
					h('td', {}, String(r.before)), h('td', {}, String(r.after)),
					h('td', {}, r.helped ? 'Felt better' : 'No change, or harder this time')))))));
}

function exerciseCard(e, suggested) {
	const headingId = `ex-${e.name}-h`;
	return h('li', {class: `exercise${suggested ? ' suggested' : ''}`, id: `exercise-${e.name}`},
		h('section', {'aria-labelledby': headingId},
			h('h3', {id: headingId}, e.title, suggested ? h('span', {class: 'badge'}, ' Suggested for you') : null),
			e.description ? h('p', {}, e.description) : null,
			historyBlock(e),
			h('p', {class: 'no-print'}, h('a', {class: 'button secondary', href: startHref(e.name)}, `Start ${e.title}`))));
}

export async function view(el) {
	let data;
	try {
		data = await api('GET', '/exercises');
	} catch (e) {
		mount(el, h('h1', {}, 'Exercises'),
			h('p', {class: 'status error', role: 'alert'}, `Your exercises could not be loaded. ${e.message}`),
			h('p', {}, 'You can still ask for an exercise in the ', h('a', {href: '#/chat'}, 'chat'), ', for example "can we do some breathing".'));
		return;
	}
	const list = Array.isArray(data?.exercises) ? data.exercises : [];
	const rec = data?.recommended && list.find(e => e.name === data.recommended.name) ? data.recommended : null;
	const exercises = list.filter(e => e.kind === 'exercise');
	const others = list.filter(e => e.kind !== 'exercise');
	const suggestion = rec
		? h('section', {class: 'suggestion', 'aria-labelledby': 'ex-next-h'},
			h('h2', {id: 'ex-next-h'}, `Suggested next: ${rec.title}`),
			h('p', {}, rec.reason),
			h('p', {class: 'no-print'}, h('a', {class: 'button', href: startHref(rec.name), id: 'start-suggested'}, `Start ${rec.title} in the chat`)),
			h('p', {class: 'hint'}, 'A suggestion, not a rule: choose whichever feels right today.'))
		: null;
	mount(el, h('h1', {}, 'Exercises'),
		h('p', {class: 'lead'}, 'Short exercises from cognitive behavioural therapy (CBT) that you can do with the Haven helper, at any time and at your own pace. You can stop any exercise by saying "stop".'),
		h('p', {class: 'hint'}, 'Some exercises ask you to rate how you feel before and after. Your ratings are shown here so you can see what tends to help you. They are yours: if you have let your care team see what you write, they can see them too.'),
		suggestion,
		h('section', {'aria-labelledby': 'ex-all-h'},
			h('h2', {id: 'ex-all-h'}, 'All exercises'),
			exercises.length ? h('ul', {class: 'exercises'}, exercises.map(e => exerciseCard(e, rec && rec.name === e.name)))
				: h('p', {}, 'No exercises are available on this server.')),
		others.length ? h('section', {'aria-labelledby': 'ex-other-h'},
			h('h2', {id: 'ex-other-h'}, 'Also with the Haven helper'),
			h('ul', {class: 'plain other-tools'}, others.map(e => h('li', {},
				PAGES[e.name] ? h('a', {href: PAGES[e.name]}, e.title) : h('strong', {}, e.title),
				e.description ? `: ${e.description}` : '')))) : null,
		h('p', {class: 'no-print'}, h('button', {type: 'button', class: 'secondary', onclick: () => window.print()}, 'Print my exercises')));
}
