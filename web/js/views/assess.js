// assess.js: the PHQ-9 and GAD-7 forms. Every question must be answered; the reply gives
// the total and band, explained in plain words, and the item-9 safety note when it applies.
import {api} from '../api.js';
import {h, mount, statusBox, showError, clear} from '../dom.js';
import {INSTRUMENTS, OPTIONS, bandOf, meaningOf} from '../instruments.js';
import {linesList} from './help.js';

export async function form(el, instrument) {
	const spec = INSTRUMENTS[instrument];
	const status = statusBox();
	const result = h('div', {id: 'result'});
	const groups = spec.items.map((text, i) => h('fieldset', {class: 'item'},
		h('legend', {}, `${i + 1}. ${text}`),
		h('div', {class: 'options'}, OPTIONS.map((label, v) => {
			const id = `${instrument}-q${i}-${v}`;
			return h('div', {class: 'option'}, h('input', {type: 'radio', name: `q${i}`, id, value: v, required: true}),
				h('label', {for: id}, label));
		}))));
	const submit = h('button', {type: 'submit'}, 'See my score');
	const f = h('form', {novalidate: true, onsubmit: async ev => {
		ev.preventDefault();
		clear(status);
		const answers = [];
		for (let i = 0; i < spec.items.length; i++) {
			const picked = f.querySelector(`input[name="q${i}"]:checked`);
			if (!picked) {
				showError(status, `Please answer question ${i + 1}. Every question needs an answer for the score to mean something.`);
				f.querySelector(`input[name="q${i}"]`).focus();
				return;
			}
			answers.push(Number(picked.value));
		}
		submit.disabled = true;
		try {
			const r = await api('POST', '/assessments', {instrument, answers});
			showResult(result, instrument, r, answers);
			result.scrollIntoView({block: 'start'});
			result.focus();
		} catch (e) {
			showError(status, e.status === 404 ? 'Questionnaires are not available on this server yet.' : e.message);
		} finally {
			submit.disabled = false;
		}
	}}, h('p', {class: 'lead'}, spec.stem), groups, status, submit);
	mount(el, h('h1', {}, spec.title), f, result);
}

function showResult(box, instrument, r, answers) {
	const spec = INSTRUMENTS[instrument];
	const total = Number.isInteger(r.total) ? r.total : answers.reduce((a, b) => a + b, 0);
	const band = r.band ? String(r.band).replace(/_/g, ' ') : bandOf(instrument, total);
	const item9 = instrument === 'phq9' && answers[8] > 0;
	box.setAttribute('tabindex', '-1');
	mount(box, h('section', {class: 'result', 'aria-labelledby': 'result-h'},
		h('h2', {id: 'result-h'}, `Your ${spec.name} score: ${total} out of ${spec.max}`),
		h('p', {}, h('strong', {}, `That is in the "${band}" range. `), meaningOf(band)),
		h('p', {class: 'hint'}, `${spec.name} ranges: `, spec.bands.map(([lo, hi, name]) => `${lo}-${hi} ${name}`).join(', '),
			'. A questionnaire is not a diagnosis; it helps you and your clinician see how things change over time.'),
		item9 ? h('div', {class: 'crisis-panel', role: 'alert'},
			h('h3', {}, 'About thoughts of being better off dead or of hurting yourself'),
			h('p', {}, 'Thank you for answering honestly. Your care team has been told so that a person can check in with you. If you might act on these thoughts, please call a crisis line or your emergency number now.'),
			linesList()) : null,
		h('p', {}, h('a', {href: '#/progress'}, 'See my progress over time'))));
}
