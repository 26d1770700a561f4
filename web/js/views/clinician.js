// clinician.js: the caseload (ordered by urgency), the alert inbox, one patient's page and
// invitations. The patient page is drawn in sections; a section whose read fails says why
// in plain words (api.js) and the other sections are still shown.
import {api} from '../api.js';
import {h, mount, statusBox, showError, showOk, clear, field, formatDate} from '../dom.js';
import {chart} from '../charts.js';

// A GET for one part of a page: the reply; {consent: false} when the patient has withdrawn
// the care_team consent; {error} (an ApiError, with its plain-words message) for any other
// failure, so that one part failing does not hide the others. An ended session is thrown:
// the whole page is gone then.
async function part(path) {
	try {
		return await api('GET', path);
	} catch (e) {
		if (e.code === 'consent_required') return {consent: false};
		if (e.status === 401) throw e;
		return {error: e};
	}
}

// What a part says when its read failed.
const failed = (what, e) => h('p', {class: 'status error'}, `${what} could not be loaded. ${e.message}`);

const SEVERITY_RANK = {critical: 4, urgent: 4, high: 3, warning: 2, moderate: 2, medium: 2, info: 1, low: 1};
const isOpen = a => a.status !== 'resolved';

// The alert kinds (src/alerts/alerts.h) in words; an unknown kind is shown as written.
const KIND_WORDS = {
	crisis_chat: 'Crisis in chat',
	phq9_item9: 'PHQ-9 question 9 (thoughts of self-harm) answered above 0',
	reliable_deterioration: 'Reliable deterioration',
	mood_decline: 'Mood falling below their usual',
	disengagement: 'No recent check-ins',
	sleep_low: 'Sleep far below their usual',
	activity_low: 'Activity far below their usual',
	deterioration_risk: 'Deterioration-risk score above the threshold',
};
const kindWords = kind => KIND_WORDS[kind] || String(kind || 'Alert').replace(/_/g, ' ');
const words = key => String(key).replace(/_/g, ' ');

// A number as a person reads it: whole numbers as they are, others to two decimals.
function num(v) {
	if (typeof v !== 'number') return String(v);
	return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
}

// One value of an alert reason's "values" in words; nested objects and lists (the risk
// score's features) are summarised rather than shown as JSON.
function valueWords(v) {
	if (v === null || v === undefined) return 'no data';
	if (typeof v === 'boolean') return v ? 'yes' : 'no';
	if (typeof v === 'number') return num(v);
	if (Array.isArray(v)) return v.map(valueWords).join('; ') || 'none';
	if (typeof v === 'object') {
		const name = v.description || v.name;
		const rest = Object.entries(v).filter(([k, x]) => k !== 'description' && k !== 'name' && typeof x !== 'object')
			.map(([k, x]) => `${words(k)} ${valueWords(x)}`).join(', ');
		return name ? `${name}${rest ? ` (${rest})` : ''}` : rest;
	}
	return String(v);
}

// One reason of the safety screen (a flagged message, or inside a crisis alert): what
// matched, the words or the probability, and the lexicon or model version.
function riskReasonText(r) {
	if (typeof r === 'string') return r;
	if (!r || typeof r !== 'object') return String(r);
	if (r.rule === 'protocol') return `Safety protocol step: ${words(r.step || '')}`;
	const parts = [r.description || words(r.rule || 'reason')];
	if (r.phrase) parts.push(`matched "${r.phrase}"`);
	if (typeof r.probability === 'number') parts.push(`probability ${Math.round(r.probability * 1000) / 10}%`);
	if (Array.isArray(r.terms) && r.terms.length) parts.push(`words that weighed most: ${r.terms.join(', ')}`);
	if (r.level) parts.push(`level ${r.level}`);
	const src = [r.source === 'lexicon' && r.lexicon_line ? `crisis lexicon line ${r.lexicon_line}` : null, r.version].filter(Boolean);
	return `${parts.join('; ')}${src.length ? ` (${src.join(', ')})` : ''}`;
}

// One alert reason: its plain-words text, the numbers behind it, the phrases and screen
// results that raised it, and the rule and its version.
function alertReason(r) {
	if (!r || typeof r !== 'object') return h('li', {}, String(r));
	const values = r.values && typeof r.values === 'object' ? Object.entries(r.values) : [];
	const inner = Array.isArray(r.reasons) ? r.reasons : [];
	const rule = [r.rule ? `Rule: ${r.rule}` : null, r.version ? `version ${r.version}` : null].filter(Boolean).join(', ');
	return h('li', {class: 'reason'},
		h('p', {class: 'reason-text'}, r.text || riskReasonText(r)),
		values.length ? h('p', {class: 'values'}, 'The numbers: ',
			values.map(([k, v], i) => [i ? ' · ' : '', h('span', {class: 'value'}, `${words(k)} ${valueWords(v)}`)])) : null,
		Array.isArray(r.phrases) && r.phrases.length ? h('p', {}, 'What they wrote that matched: ', r.phrases.map(x => `"${x}"`).join(', ')) : null,
		inner.length ? h('ul', {class: 'screen-reasons', 'aria-label': 'What the safety screen found'}, inner.map(x => h('li', {}, riskReasonText(x)))) : null,
		rule ? h('p', {class: 'hint'}, rule) : null);
}

async function assessmentsOf(id) {
	const r = await part(`/patients/${id}/assessments`);
	return r && Array.isArray(r.assessments) ? r.assessments : [];
}

function latest(list, inst) {
	const xs = list.filter(a => a.instrument === inst).sort((a, b) => new Date(a.created_at) - new Date(b.created_at));
	return {first: xs[0], last: xs[xs.length - 1]};
}

/* A risk score as a short cell: the percentage, marked when above the clinic's threshold. */
function riskCell(risk) {
	if (!risk) return '-';
	const pct = `${Math.round(risk.probability * 100)}%`;
	return risk.above_threshold ? h('span', {class: 'badge alert'}, `${pct}, above threshold`) : pct;
}

/* The risk score with what makes it up, largest contribution first. */
function riskBlock(risk) {
	if (risk.error) return failed('The risk score', risk.error);
	if (risk.consent === false) return h('p', {}, 'Hidden: the patient has withdrawn consent for their care team.');
	if (risk.enabled === false) return h('p', {}, 'The deterioration-risk score is switched off for this clinic.');
	const feats = Array.isArray(risk.features) ? risk.features : [];
	return h('div', {},
		h('p', {}, `Estimated chance of a reliable deterioration within ${risk.horizon_days || 28} days: `,
			h('strong', {}, `${Math.round(risk.probability * 100)}%`),
			risk.above_threshold ? ' (above the clinic\'s threshold).' : '.'),
		h('p', {class: 'hint'}, `${risk.model_source || ''}. A prompt to look, not a judgement.`),
		feats.length ? h('div', {class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Table, scrolls sideways'},
			h('table', {}, h('caption', {}, 'What makes up the score'),
				h('thead', {}, h('tr', {}, ['Feature', 'Value', 'Contribution'].map(t => h('th', {scope: 'col'}, t)))),
				h('tbody', {}, feats.map(f => h('tr', {},
					h('th', {scope: 'row'}, f.description || f.name),
					h('td', {}, f.missing ? 'no data' : String(Math.round(f.value * 100) / 100)),
					h('td', {}, `${f.contribution >= 0 ? '+' : ''}${(Math.round(f.contribution * 100) / 100).toFixed(2)}`)))))) : null);
}

const CONTACT_WORDS = {checkin: 'check-in', chat: 'chat', assessment: 'questionnaire'};

/* The last contact: the latest of a check-in, a chat message and a questionnaire (the
 * server works it out, GET /patients). */
function lastContact(p) {
	if (!p.last_contact_at) return 'Never';
	return `${formatDate(p.last_contact_at)} (${CONTACT_WORDS[p.last_contact_kind] || p.last_contact_kind})`;
}

/* The level the safety screen gave the patient's last chat message (shown while consent
 * allows), with when. */
const RISK_RANK = {none: 0, low: 1, moderate: 2, high: 3};
const RISK_WORDS = {none: 'None', low: 'Low', moderate: 'Moderate', high: 'High'};
function latestRiskCell(p) {
	const r = p.latest_risk;
	if (!r) return '-';
	const words = `${RISK_WORDS[r.level] || r.level}, ${formatDate(r.at)}`;
	return RISK_RANK[r.level] >= 2 ? h('span', {class: r.level === 'high' ? 'badge alert' : 'badge'}, words) : words;
}

/* Alerts not yet resolved, counted by the server over every alert of the patient (not one
 * page of the inbox), most severe named. */
function unresolvedCell(p) {
	const n = p.unresolved_alerts || 0;
	if (!n) return 'None';
	const by = p.unresolved_by_severity || {};
	const detail = ['urgent', 'warning', 'info'].filter(k => by[k]).map(k => `${by[k]} ${k}`).join(', ');
	return h('span', {class: 'badge alert'}, `${n} unresolved${detail ? ` (${detail})` : ''}`);
}

export async function caseload(el) {
	const {patients} = await api('GET', '/patients');
	const rows = await Promise.all(patients.map(async p => {
		const by = p.unresolved_by_severity || {};
		const [as, risk] = p.care_team_consent
			? await Promise.all([assessmentsOf(p.id), part(`/patients/${p.id}/risk`)]) : [[], null];
		const phq = latest(as, 'phq9'), gad = latest(as, 'gad7');
		const worse = (phq.first && phq.last && phq.last.total - phq.first.total >= 6) ||
			(gad.first && gad.last && gad.last.total - gad.first.total >= 4);
		const severity = by.urgent ? SEVERITY_RANK.urgent : by.warning ? SEVERITY_RANK.warning : by.info ? SEVERITY_RANK.info : 0;
		/* The deterioration-risk score (docs/monitoring.md) ranks within the same alerts. */
		const prob = risk && risk.enabled !== false && typeof risk.probability === 'number' ? risk.probability : null;
		/* Most urgent first, in this order: the most severe unresolved alert, how many, the
		 * latest risk level, a reliable deterioration, the risk score, the latest PHQ-9. */
		const urgency = [severity, p.unresolved_alerts || 0, RISK_RANK[p.latest_risk?.level] || 0, worse ? 1 : 0,
			prob ?? 0, phq.last?.total || 0];
		return {p, phq: phq.last, gad: gad.last, worse, risk: prob === null ? null : risk, urgency};
	}));
	const byUrgency = (a, b) => {
		for (let i = 0; i < a.urgency.length; i++) if (a.urgency[i] !== b.urgency[i]) return b.urgency[i] - a.urgency[i];
		return a.p.id - b.p.id;
	};
	rows.sort(byUrgency);
	const table = h('table', {class: 'caseload'},
		h('caption', {}, 'Patients on your care team, most urgent first'),
		h('thead', {}, h('tr', {}, ['Patient', 'Unresolved alerts', 'Latest risk', 'Deterioration risk', 'Latest PHQ-9', 'Latest GAD-7', 'Trend', 'Last contact', 'Consent']
			.map(t => h('th', {scope: 'col'}, t)))),
		h('tbody', {}, rows.map(r => h('tr', {class: r.p.unresolved_alerts ? 'has-alert' : '', 'data-patient-id': r.p.id},
			h('th', {scope: 'row'}, h('a', {href: `#/patient/${r.p.id}`}, r.p.email)),
			h('td', {}, unresolvedCell(r.p)),
			h('td', {}, latestRiskCell(r.p)),
			h('td', {}, riskCell(r.risk)),
			h('td', {}, r.phq ? `${r.phq.total} (${r.phq.band || ''})` : '-'),
			h('td', {}, r.gad ? `${r.gad.total} (${r.gad.band || ''})` : '-'),
			h('td', {}, r.worse ? h('span', {class: 'badge alert'}, 'Reliable deterioration') : '-'),
			h('td', {}, lastContact(r.p)),
			h('td', {}, r.p.care_team_consent ? 'Given' : h('span', {class: 'badge'}, 'Withdrawn'))))));
	mount(el, h('h1', {}, 'Caseload'),
		h('p', {class: 'hint'}, 'Every alert not yet resolved is counted (acknowledged ones too); for a patient who has withdrawn consent, only safety alerts. Latest risk is what the safety screen found in their last chat message. Last contact is their latest check-in, chat message or questionnaire.'),
		patients.length ? h('div', {class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Table, scrolls sideways'}, table)
			: h('p', {}, 'No patients yet. ', h('a', {href: '#/invite'}, 'Invite a patient'), ' to get started.'));
}

// One alert: what raised it, the reasons with their numbers, and the one next step the
// server allows: Acknowledge an open alert, Resolve (with an optional note) an
// acknowledged one. The list is drawn again after a step and says what was done.
function alertItem(a, onChange) {
	const status = statusBox();
	const who = a.patient_email || `patient #${a.patient_id}`;
	const act = async (verb, body, button) => {
		clear(status);
		button.disabled = true;
		try {
			const done = await api('POST', `/alerts/${a.id}/${verb}`, body);
			const at = formatDate(verb === 'ack' ? done?.acknowledged_at : done?.resolved_at);
			await onChange(verb === 'ack'
				? `Acknowledged: ${kindWords(a.kind)} (${who})${at ? `, at ${at}` : ''}. Resolve it once it has been dealt with.`
				: `Resolved: ${kindWords(a.kind)} (${who})${at ? `, at ${at}` : ''}.${done?.resolution_note ? ' Your note is saved with it.' : ''}`);
		} catch (e) {
			button.disabled = false;
			showError(status, e.message);
		}
	};
	const reasons = Array.isArray(a.reasons) ? a.reasons : a.reasons ? [a.reasons] : [];
	let actions = null;
	if (a.status === 'open') {
		const ack = h('button', {type: 'button', onclick: () => act('ack', undefined, ack)}, 'Acknowledge');
		actions = h('div', {class: 'actions'}, ack);
	} else if (a.status === 'acknowledged') {
		const note = h('textarea', {rows: 2, maxlength: 2000, id: `resolve-note-${a.id}`});
		const resolve = h('button', {type: 'button', class: 'secondary', onclick: () => {
			const text = note.value.trim();
			act('resolve', text ? {note: text} : {}, resolve);
		}}, 'Resolve');
		actions = h('div', {class: 'actions'},
			field('What was done (optional)', note, 'Saved encrypted with the alert; the patient can read it in their own data export.'),
			resolve);
	}
	const steps = [
		`raised ${formatDate(a.created_at)}`,
		a.acknowledged_at ? `acknowledged ${formatDate(a.acknowledged_at)}` : null,
		a.resolved_at ? `resolved ${formatDate(a.resolved_at)}` : null,
		a.escalation?.escalated ? `escalated ${formatDate(a.escalation.escalated_at)}` : null,
	].filter(Boolean).join(' · ');
	return h('li', {class: `alert-item sev-${a.severity || 'unknown'}`, 'data-alert-id': a.id},
		h('h3', {}, `${kindWords(a.kind)}: ${a.severity || ''}`),
		h('p', {}, 'Patient: ', h('a', {href: `#/patient/${a.patient_id}`}, who), ` · status: ${a.status} · ${steps}`),
		reasons.length ? h('div', {}, h('h4', {}, 'Why this alert was raised'),
			h('ul', {class: 'reasons'}, reasons.map(alertReason))) : null,
		a.resolution_note ? h('p', {}, h('strong', {}, 'Resolution note: '), a.resolution_note) : null,
		actions, status);
}

/* A page-level note of what was just done, for a page drawn again after it. */
function notice(text) {
	const box = statusBox();
	if (text) showOk(box, text);
	return box;
}

/* Every alert the inbox gives (GET /alerts is paged: 100 at a time, older pages by
 * "before"), up to 20 pages; {alerts, more} with more set when that was not all. */
async function allAlerts(query) {
	const out = [];
	let before = null;
	for (let page = 0; page < 20; page++) {
		const r = await api('GET', `/alerts?limit=100${query ? `&${query}` : ''}${before ? `&before=${before}` : ''}`);
		out.push(...(r.alerts || []));
		if (!r.next_before) return {alerts: out, more: false};
		before = r.next_before;
	}
	return {alerts: out, more: true};
}

async function allAlertsPart(query) {
	try {
		return await allAlerts(query);
	} catch (e) {
		if (e.status === 401) throw e;
		return {error: e};
	}
}

export async function alerts(el, done) {
	const r = await allAlerts('');
	/* Alerts carry the patient's id; the caseload gives the email shown beside it. */
	const caseload = await part('/patients');
	const emails = new Map((caseload.patients || []).map(p => [p.id, p.email]));
	for (const a of r.alerts || []) if (!a.patient_email && emails.has(a.patient_id)) a.patient_email = emails.get(a.patient_id);
	const list = (r.alerts || []).slice().sort((a, b) =>
		(isOpen(b) - isOpen(a)) || ((SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0)) ||
		(new Date(b.created_at) - new Date(a.created_at)));
	const open = list.filter(isOpen), closed = list.filter(a => !isOpen(a));
	mount(el, h('h1', {}, 'Alerts'), notice(done),
		r.more ? h('p', {class: 'status error'}, 'There are more than 2000 alerts; only the newest 2000 are shown.') : null,
		h('section', {'aria-labelledby': 'open-h'}, h('h2', {id: 'open-h'}, `Not yet resolved (${open.length})`),
			h('p', {class: 'hint'}, 'An alert is acknowledged first (you have seen it), then resolved once it has been dealt with.'),
			open.length ? h('ul', {class: 'alerts'}, open.map(a => alertItem(a, text => alerts(el, text)))) : h('p', {}, 'No open alerts.')),
		closed.length ? h('details', {}, h('summary', {}, `Resolved (${closed.length})`),
			h('ul', {class: 'alerts'}, closed.map(a => alertItem(a, text => alerts(el, text))))) : null);
}

// An outcome flag: true, false, or null when it cannot be known yet (no second score in the
// episode) or does not apply (recovery for an episode that was not a case at the start).
function flag(v, notApplicable) {
	if (v === true) return 'Yes';
	if (v === false) return 'No';
	return notApplicable ? 'Does not apply (not a case at the start)' : 'Not yet known';
}

function measureWords(m) {
	if (!m || m.first === null || m.first === undefined) return 'no scores';
	const change = m.scores > 1 && m.last !== null ? `${m.first} to ${m.last}` : `${m.first} (one score)`;
	return `${change}${typeof m.rci === 'number' ? `, change index ${num(m.rci)}` : ''}`;
}

function outcomesBlock(o) {
	if (o.error) return failed('Outcomes', o.error);
	if (o.consent === false) return h('p', {}, 'Hidden: the patient has withdrawn consent for their care team.');
	const eps = Array.isArray(o.episodes) ? o.episodes : [];
	if (!eps.length) return h('p', {}, 'No episodes of care yet.');
	return h('div', {class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Table, scrolls sideways'}, h('table', {class: 'outcomes'},
		h('caption', {}, 'Outcomes of each episode of care'),
		h('thead', {}, h('tr', {}, ['Episode', 'PHQ-9', 'GAD-7', 'Case at start', 'Case at end', 'Recovery', 'Reliable improvement', 'Reliable deterioration', 'Reliable recovery']
			.map(t => h('th', {scope: 'col'}, t)))),
		h('tbody', {}, eps.map((e, i) => {
			const out = e.outcome || {};
			const notCase = out.caseness_start === false;
			return h('tr', {},
				h('th', {scope: 'row'}, `${e.opened_at ? `Opened ${formatDate(e.opened_at)}` : `#${i + 1}`}${e.status === 'closed' ? `, closed ${formatDate(e.closed_at)}` : ' (open)'}`),
				h('td', {}, measureWords(out.phq9)), h('td', {}, measureWords(out.gad7)),
				h('td', {}, flag(out.caseness_start)), h('td', {}, flag(out.caseness_end)),
				h('td', {}, flag(out.recovery, notCase)), h('td', {}, flag(out.reliable_improvement)),
				h('td', {}, flag(out.reliable_deterioration)), h('td', {}, flag(out.reliable_recovery, notCase)));
		}))));
}

function flaggedBlock(m) {
	if (m.error) return failed('Messages', m.error);
	if (m.consent === false) return h('p', {}, 'Hidden: the patient has withdrawn consent for their care team. Safety alerts still appear above.');
	/* The server marks a message flagged when its risk is moderate or high. */
	const flagged = (m.messages || []).filter(x => x.flagged === true);
	if (!flagged.length) return h('p', {}, 'No flagged messages.');
	return h('ul', {class: 'flagged'}, flagged.map(x => h('li', {},
		h('p', {class: 'quote'}, x.text),
		h('p', {}, h('strong', {}, `Risk: ${x.risk?.level}`),
			typeof x.risk?.score === 'number' ? ` (score ${num(x.risk.score)})` : '', ` · ${formatDate(x.created_at)}`),
		h('ul', {class: 'reasons', 'aria-label': 'Why it was flagged'}, (x.risk?.reasons || []).map(r => h('li', {}, riskReasonText(r)))))));
}

// Sensed data per day (GET /patients/{id}/sensing, docs/monitoring.md): for each kind, a
// sentence (days with data, days missing, the average), a bar per day with the missing
// days drawn as empty dashed boxes marked "no data", and the same numbers as a table.
const SENSING = [
	['steps', 'Steps', v => Math.round(v).toLocaleString(), 'steps'],
	['sleep_minutes', 'Sleep', v => `${(Math.round(v / 6) / 10).toFixed(1)} h`, 'hours of sleep'],
	['resting_heart_rate', 'Resting heart rate', v => `${Math.round(v)} bpm`, 'beats per minute'],
	['screen_time_minutes', 'Screen time', v => `${(Math.round(v / 6) / 10).toFixed(1)} h`, 'hours of screen time'],
];
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
	const el = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
	for (const c of children) el.append(c);
	return el;
}

// Every date from..to (YYYY-MM-DD, UTC arithmetic so no day is skipped or doubled).
function datesBetween(from, to) {
	const out = [];
	const start = Date.parse(`${from}T00:00:00Z`), end = Date.parse(`${to}T00:00:00Z`);
	if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return out;
	for (let t = start; t <= end && out.length < 120; t += 86400000) out.push(new Date(t).toISOString().slice(0, 10));
	return out;
}

function shortDay(date) {
	const d = new Date(`${date}T12:00:00Z`);
	return Number.isNaN(d.getTime()) ? date : d.toLocaleDateString(undefined, {day: 'numeric', month: 'short', timeZone: 'UTC'});
}

function sensingChart(key, label, fmt, dates, byDate) {
	const values = dates.map(d => {
		const day = byDate.get(d);
		const v = day && !day.no_data ? day[key] : null;
		return typeof v === 'number' ? v : null;
	});
	const present = values.filter(v => v !== null);
	const max = Math.max(...present, 1);
	const w = 28, gap = 6, top = 18, height = 120, bottom = 34;
	const width = dates.length * (w + gap) + gap;
	const plot = svg('svg', {viewBox: `0 0 ${width} ${top + height + bottom}`, class: 'sensing-chart', 'aria-hidden': 'true', focusable: 'false'});
	plot.append(svg('line', {x1: 0, x2: width, y1: top + height, y2: top + height, class: 'axis'}));
	dates.forEach((d, i) => {
		const x = gap + i * (w + gap);
		const v = values[i];
		if (v === null) {
			plot.append(svg('rect', {x, y: top + height - 40, width: w, height: 40, class: 'missing-day'}));
			plot.append(svg('text', {x: x + w / 2, y: top + height - 16, class: 'missing-label', 'text-anchor': 'middle'}, '?'));
		} else {
			const bh = Math.max(2, Math.round(v / max * height));
			plot.append(svg('rect', {x, y: top + height - bh, width: w, height: bh, class: 'bar'}));
		}
		// The day of the month under the bars (the dates are in the sentence and the table).
		if (dates.length <= 14 || i % Math.ceil(dates.length / 14) === 0)
			plot.append(svg('text', {x: x + w / 2, y: top + height + 14, class: 'day-label', 'text-anchor': 'middle'}, String(Number(d.slice(8, 10)))));
	});
	const missing = dates.filter((d, i) => values[i] === null);
	const mean = present.length ? present.reduce((a, b) => a + b, 0) / present.length : null;
	const sentence = `${label}: data on ${present.length} of ${dates.length} days` +
		(missing.length ? ` (${missing.length} missing)` : '') +
		(mean !== null ? `, average ${fmt(mean)} a day.` : '.');
	return h('figure', {class: 'chart sensing', dataset: {kind: key}},
		h('figcaption', {}, sentence),
		h('div', {class: 'plot', role: 'img', 'aria-label': `${sentence} Days without data are drawn as empty dashed boxes with a question mark.${missing.length ? ` Missing: ${missing.map(shortDay).join(', ')}.` : ''}`}, plot),
		h('p', {class: 'hint legend'}, h('span', {class: 'swatch bar-swatch', 'aria-hidden': 'true'}), 'a day with data ',
			h('span', {class: 'swatch missing-swatch', 'aria-hidden': 'true'}), 'no data that day'),
		h('details', {class: 'table'}, h('summary', {}, `Show ${label.toLowerCase()} as a table`),
			h('table', {}, h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Date'), h('th', {scope: 'col'}, label))),
				h('tbody', {}, dates.map((d, i) => h('tr', {}, h('th', {scope: 'row'}, shortDay(d)),
					values[i] === null ? h('td', {class: 'missing'}, 'no data') : h('td', {}, fmt(values[i]))))))));
}

function sensingBlock(s) {
	if (s.error) return failed('Sensing', s.error);
	if (s.consent === false) return h('p', {}, 'Hidden: the patient has withdrawn consent for their care team.');
	const days = Array.isArray(s.days) ? s.days : [];
	const byDate = new Map(days.filter(d => d && d.date).map(d => [d.date, d]));
	const known = [...byDate.keys()].sort();
	const dates = s.from && s.to ? datesBetween(s.from, s.to) : known;
	const intro = s.sensing_consent === false
		? h('p', {}, 'The patient has not allowed Haven to accept activity and sleep data, so none is collected.')
		: null;
	const withData = SENSING.filter(([key]) => days.some(d => !d.no_data && typeof d[key] === 'number'));
	if (!dates.length || !withData.length)
		return h('div', {}, intro, h('p', {}, `No sensing data${dates.length ? ` from ${shortDay(dates[0])} to ${shortDay(dates[dates.length - 1])}` : ''}.`));
	const none = SENSING.filter(x => !withData.includes(x)).map(([, label]) => label.toLowerCase());
	const empty = dates.filter(d => { const day = byDate.get(d); return !day || day.no_data; });
	return h('div', {class: 'sensing-summary'}, intro,
		h('p', {}, `From ${shortDay(dates[0])} to ${shortDay(dates[dates.length - 1])}: `,
			empty.length ? `${empty.length} of ${dates.length} days have no sensed data at all.` : 'every day has some sensed data.',
			none.length ? ` No ${none.join(' or ')} data was sent.` : ''),
		withData.map(([key, label, fmt]) => sensingChart(key, label, fmt, dates, byDate)));
}

/* Opening and closing an episode of care (POST /patients/{id}/episodes and .../close). One
 * episode is open at a time; outcomes are judged per episode. */
function episodeControls(id, outcomes, redraw) {
	const status = statusBox();
	const eps = Array.isArray(outcomes?.episodes) ? outcomes.episodes : [];
	const open = eps.find(e => e.status === 'open');
	const act = async (path, what, button) => {
		clear(status);
		button.disabled = true;
		try {
			const ep = await api('POST', path);
			const at = formatDate(what === 'open' ? ep?.opened_at : ep?.closed_at);
			await redraw(what === 'open'
				? `A new episode of care is open${at ? ` (from ${at})` : ''}. The next PHQ-9 and GAD-7 scores count towards it.`
				: `The episode of care is closed${at ? ` (at ${at})` : ''}. Its outcome is judged from its first and last scores.`);
		} catch (e) {
			button.disabled = false;
			showError(status, e.message);
		}
	};
	let button;
	if (open) {
		button = h('button', {type: 'button', class: 'secondary', id: 'episode-close', onclick: () => {
			if (window.confirm('Close the current episode of care? Its outcome is then judged from the scores so far.'))
				act(`/patients/${id}/episodes/close`, 'close', button);
		}}, 'Close the current episode');
	} else {
		button = h('button', {type: 'button', class: 'secondary', id: 'episode-open', onclick: () => act(`/patients/${id}/episodes`, 'open', button)},
			'Open a new episode of care');
	}
	return h('div', {class: 'episode-controls'},
		h('p', {}, open ? `An episode of care is open since ${formatDate(open.opened_at)}.`
			: eps.length ? 'No episode of care is open. The patient\'s next questionnaire opens one, or you can open one now.'
				: 'No episode of care yet. The patient\'s first questionnaire opens one, or you can open one now.'),
		button, status);
}

// The sections of a safety plan as the server stores them (src/dialog/chat.c), in the
// order the agent builds them (docs/chat.md).
const PLAN_SECTIONS = [
	['warning_signs', 'Warning signs'],
	['coping', 'Things they can do on their own'],
	['distractions', 'People and places that distract'],
	['people', 'People they can ask for help'],
	['professionals', 'Professionals and crisis lines'],
	['environment', 'Making their surroundings safer'],
];

function safetyBlock(sp) {
	if (sp.error) return failed('The safety plan', sp.error);
	if (sp.consent === false) return h('p', {}, 'Hidden: the patient has withdrawn consent for their care team.');
	const plan = sp.safety_plan || {};
	const any = PLAN_SECTIONS.some(([key]) => Array.isArray(plan[key]) && plan[key].length);
	if (!any) return h('p', {}, 'The patient has not written a safety plan yet.');
	return h('div', {class: 'safety-plan'},
		h('p', {class: 'hint'}, plan.updated_at ? `Last changed ${formatDate(plan.updated_at)}.` : ''),
		PLAN_SECTIONS.map(([key, label]) => {
			const items = Array.isArray(plan[key]) ? plan[key] : [];
			return h('section', {}, h('h3', {}, label), items.length ? h('ul', {}, items.map(i => h('li', {}, i))) : h('p', {class: 'empty'}, '(empty)'));
		}));
}

export async function patient(el, id, done) {
	const p = await api('GET', `/patients/${id}`);
	const summary = p.patient || p;
	const parts = [h('h1', {}, `Patient: ${summary.email}`), notice(done),
		h('p', {}, `On your care team since ${formatDate(summary.on_team_since)}. Last check-in: ${summary.last_checkin_at ? formatDate(summary.last_checkin_at) : 'never'}.`)];
	if (!summary.care_team_consent)
		parts.push(h('p', {class: 'status error', role: 'note'}, 'This patient has withdrawn consent for their care team to see their clinical content. Safety alerts still reach you.'));
	const alertsReply = await allAlertsPart(`patient_id=${id}`);
	const mine = (alertsReply.alerts || []).filter(a => a.patient_id === Number(id));
	for (const a of mine) a.patient_email = summary.email;
	const redraw = text => patient(el, id, text);
	parts.push(h('section', {'aria-labelledby': 'pa-h'}, h('h2', {id: 'pa-h'}, 'Alerts'),
		alertsReply.error ? failed('Alerts', alertsReply.error)
			: mine.length ? h('ul', {class: 'alerts'}, mine.map(a => alertItem(a, redraw))) : h('p', {}, 'No alerts.')));
	const [checkins, assessments, outcomes, messages, plan, sensing, risk] = await Promise.all([
		part(`/patients/${id}/checkins`), part(`/patients/${id}/assessments`), part(`/patients/${id}/outcomes`),
		part(`/patients/${id}/messages`), part(`/patients/${id}/safety-plan`), part(`/patients/${id}/sensing`),
		part(`/patients/${id}/risk`)]);
	const byDate = xs => xs.slice().sort((a, b) => new Date(a.created_at) - new Date(b.created_at));
	const charts = h('section', {'aria-labelledby': 'pc-h'}, h('h2', {id: 'pc-h'}, 'Scores and mood'));
	if (assessments && Array.isArray(assessments.assessments)) {
		for (const [inst, title] of [['phq9', 'PHQ-9'], ['gad7', 'GAD-7']])
			charts.append(chart(inst, byDate(assessments.assessments.filter(a => a.instrument === inst)).map(a => ({at: a.created_at, value: a.total})), title));
	} else {
		charts.append(assessments.error ? failed('Questionnaire scores', assessments.error) : h('p', {}, 'Scores are hidden: consent withdrawn.'));
	}
	if (checkins.error) charts.append(failed('Check-ins', checkins.error));
	if (checkins && Array.isArray(checkins.checkins))
		charts.append(chart('mood', byDate(checkins.checkins).map(c => ({at: c.created_at, value: c.mood})), 'Mood from check-ins'));
	parts.push(charts,
		h('section', {'aria-labelledby': 'pr-h'}, h('h2', {id: 'pr-h'}, 'Deterioration risk'), riskBlock(risk)),
		h('section', {'aria-labelledby': 'po-h'}, h('h2', {id: 'po-h'}, 'Episode outcomes'), outcomesBlock(outcomes),
			outcomes.consent === false || outcomes.error ? null : episodeControls(id, outcomes, redraw),
			h('p', {class: 'hint'}, 'As NHS Talking Therapies defines them: a case is PHQ-9 10 or more, or GAD-7 8 or more; a reliable change is 6 points on PHQ-9 or 4 on GAD-7.')),
		h('section', {'aria-labelledby': 'pf-h'}, h('h2', {id: 'pf-h'}, 'Flagged messages'), flaggedBlock(messages)),
		h('section', {'aria-labelledby': 'ps-h'}, h('h2', {id: 'ps-h'}, 'Safety plan'), safetyBlock(plan)),
		h('section', {'aria-labelledby': 'pz-h'}, h('h2', {id: 'pz-h'}, 'Sensing'), sensingBlock(sensing)),
		h('section', {'aria-labelledby': 'px-h'}, h('h2', {id: 'px-h'}, 'Export'),
			h('p', {}, h('a', {class: 'button', href: `/api/v1/patients/${id}/fhir`, download: `patient-${id}-fhir.json`}, 'Download FHIR R4 bundle'),
				' (PHQ-9 and GAD-7 as LOINC-coded observations, for your health record system).')));
	mount(el, ...parts);
}

export async function invite(el) {
	const status = statusBox();
	const out = h('div', {});
	const button = h('button', {type: 'button', onclick: async () => {
		clear(status);
		button.disabled = true;
		try {
			const r = await api('POST', '/invitations');
			const link = `${location.origin}/#/signup?code=${encodeURIComponent(r.code)}`;
			mount(out, h('section', {class: 'result', 'aria-labelledby': 'inv-h'},
				h('h2', {id: 'inv-h'}, 'Invitation created'),
				h('p', {}, 'Give this code to your patient. It works once, and expires ', formatDate(r.expires_at), '. It is shown only now.'),
				h('p', {}, h('code', {class: 'code', id: 'invite-code'}, r.code)),
				h('p', {}, 'Or send them this link: ', h('code', {class: 'code'}, link))));
		} catch (e) {
			showError(status, e.message);
		} finally {
			button.disabled = false;
		}
	}}, 'Create an invitation code');
	mount(el, h('h1', {}, 'Invite a patient'),
		h('p', {}, 'A patient who signs up with your code joins your care team. They choose, on the consent page, whether you may see what they write.'),
		button, status, out);
}
