// clinician.js: the caseload (ordered by urgency), the alert inbox, one patient's page and
// invitations. Parts that depend on features a server may not have yet (alerts,
// assessments, outcomes, messages, sensing, safety plans, FHIR) say so instead of failing.
import {api} from '../api.js';
import {h, mount, statusBox, showError, showOk, clear, formatDate} from '../dom.js';
import {chart} from '../charts.js';
import {SECTIONS} from './safety.js';

// GET that returns null when the route does not exist on this server, and
// {consent: false} when the patient has withdrawn consent.
async function maybe(path) {
	try {
		return await api('GET', path);
	} catch (e) {
		if (e.status === 404 || e.status === 405) return null;
		if (e.code === 'consent_required') return {consent: false};
		throw e;
	}
}

const SEVERITY_RANK = {critical: 4, urgent: 4, high: 3, moderate: 2, medium: 2, low: 1};
const isOpen = a => !/resolved|closed/i.test(String(a.status || ''));

function reasonText(r) {
	if (typeof r === 'string') return r;
	if (!r || typeof r !== 'object') return String(r);
	const parts = [];
	for (const k of ['rule', 'reason', 'phrase', 'feature', 'detail', 'message']) if (r[k]) parts.push(String(r[k]));
	for (const k of ['score', 'value', 'total', 'threshold', 'change']) if (r[k] !== undefined) parts.push(`${k} ${r[k]}`);
	return parts.join(', ') || JSON.stringify(r);
}

async function assessmentsOf(id) {
	const r = await maybe(`/patients/${id}/assessments`);
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
	if (risk === null) return h('p', {}, 'The risk score is not available on this server.');
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

export async function caseload(el) {
	const {patients} = await api('GET', '/patients');
	const alertsReply = await maybe('/alerts');
	const alerts = alertsReply?.alerts || [];
	const rows = await Promise.all(patients.map(async p => {
		const open = alerts.filter(a => a.patient_id === p.id && isOpen(a));
		const [as, risk] = p.care_team_consent
			? await Promise.all([assessmentsOf(p.id), maybe(`/patients/${p.id}/risk`)]) : [[], null];
		const phq = latest(as, 'phq9'), gad = latest(as, 'gad7');
		const worse = (phq.first && phq.last && phq.last.total - phq.first.total >= 6) ||
			(gad.first && gad.last && gad.last.total - gad.first.total >= 4);
		const severity = Math.max(0, ...open.map(a => SEVERITY_RANK[a.severity] || 1));
		/* The deterioration-risk score (docs/monitoring.md) ranks within the same alerts. */
		const prob = risk && risk.enabled !== false && typeof risk.probability === 'number' ? risk.probability : null;
		const urgency = severity * 1000 + open.length * 100 + (worse ? 50 : 0) + (prob !== null ? prob * 40 : 0) +
			(phq.last?.total || 0) / 10;
		return {p, open, phq: phq.last, gad: gad.last, worse, risk: prob === null ? null : risk, urgency};
	}));
	rows.sort((a, b) => b.urgency - a.urgency || a.p.id - b.p.id);
	const table = h('table', {class: 'caseload'},
		h('caption', {}, 'Patients on your care team, most urgent first'),
		h('thead', {}, h('tr', {}, ['Patient', 'Open alerts', 'Deterioration risk', 'Latest PHQ-9', 'Latest GAD-7', 'Trend', 'Last check-in', 'Consent']
			.map(t => h('th', {scope: 'col'}, t)))),
		h('tbody', {}, rows.map(r => h('tr', {class: r.open.length ? 'has-alert' : ''},
			h('th', {scope: 'row'}, h('a', {href: `#/patient/${r.p.id}`}, r.p.email)),
			h('td', {}, r.open.length ? h('span', {class: 'badge alert'}, `${r.open.length} open`) : 'None'),
			h('td', {}, riskCell(r.risk)),
			h('td', {}, r.phq ? `${r.phq.total} (${r.phq.band || ''})` : '-'),
			h('td', {}, r.gad ? `${r.gad.total} (${r.gad.band || ''})` : '-'),
			h('td', {}, r.worse ? h('span', {class: 'badge alert'}, 'Reliable deterioration') : '-'),
			h('td', {}, r.p.last_checkin_at ? formatDate(r.p.last_checkin_at) : 'Never'),
			h('td', {}, r.p.care_team_consent ? 'Given' : h('span', {class: 'badge'}, 'Withdrawn'))))));
	mount(el, h('h1', {}, 'Caseload'),
		alertsReply === null ? h('p', {class: 'hint'}, 'Alerts are not available on this server yet; order is by latest scores.') : null,
		patients.length ? h('div', {class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Table, scrolls sideways'}, table)
			: h('p', {}, 'No patients yet. ', h('a', {href: '#/invite'}, 'Invite a patient'), ' to get started.'));
}

function alertItem(a, onChange) {
	const status = statusBox();
	const act = async verb => {
		clear(status);
		try {
			await api('POST', `/alerts/${a.id}/${verb}`);
			/* The list is drawn again (the alert moves); the page says what was done. */
			await onChange(verb === 'ack' ? 'Acknowledged.' : 'Resolved.');
		} catch (e) {
			showError(status, e.message);
		}
	};
	const reasons = Array.isArray(a.reasons) ? a.reasons : a.reasons ? [a.reasons] : [];
	return h('li', {class: `alert-item sev-${a.severity || 'unknown'}`},
		h('h3', {}, `${String(a.kind || 'alert').replace(/_/g, ' ')}: ${a.severity || ''}`),
		h('p', {}, 'Patient: ', h('a', {href: `#/patient/${a.patient_id}`}, a.patient_email || `#${a.patient_id}`),
			` · raised ${formatDate(a.created_at)} · status: ${a.status}`),
		reasons.length ? h('ul', {class: 'reasons', 'aria-label': 'Why this alert was raised'}, reasons.map(r => h('li', {}, reasonText(r)))) : null,
		h('div', {class: 'actions'},
			/open|new|raised/i.test(a.status) ? h('button', {type: 'button', onclick: () => act('ack')}, 'Acknowledge') : null,
			isOpen(a) ? h('button', {type: 'button', class: 'secondary', onclick: () => act('resolve')}, 'Resolve') : null),
		status);
}

/* A page-level note of what was just done, for a page drawn again after it. */
function notice(text) {
	const box = statusBox();
	if (text) showOk(box, text);
	return box;
}

export async function alerts(el, done) {
	const r = await maybe('/alerts');
	if (r === null) {
		mount(el, h('h1', {}, 'Alerts'), h('p', {}, 'Alerts are not available on this server yet.'));
		return;
	}
	/* Alerts carry the patient's id; the caseload gives the email shown beside it. */
	const caseload = await maybe('/patients');
	const emails = new Map((caseload?.patients || []).map(p => [p.id, p.email]));
	for (const a of r.alerts || []) if (!a.patient_email && emails.has(a.patient_id)) a.patient_email = emails.get(a.patient_id);
	const list = (r.alerts || []).slice().sort((a, b) =>
		(isOpen(b) - isOpen(a)) || ((SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0)) ||
		(new Date(b.created_at) - new Date(a.created_at)));
	const open = list.filter(isOpen), closed = list.filter(a => !isOpen(a));
	mount(el, h('h1', {}, 'Alerts'), notice(done),
		h('section', {'aria-labelledby': 'open-h'}, h('h2', {id: 'open-h'}, `Open (${open.length})`),
			open.length ? h('ul', {class: 'alerts'}, open.map(a => alertItem(a, text => alerts(el, text)))) : h('p', {}, 'No open alerts.')),
		closed.length ? h('details', {}, h('summary', {}, `Resolved (${closed.length})`),
			h('ul', {class: 'alerts'}, closed.map(a => alertItem(a, text => alerts(el, text))))) : null);
}

function outcomesBlock(o) {
	if (o === null) return h('p', {}, 'Outcomes are not available on this server yet.');
	if (o.consent === false) return h('p', {}, 'Hidden: the patient has withdrawn consent for their care team.');
	const eps = o.episodes || (o.outcome ? [o] : [o]);
	const yes = v => (v ? 'Yes' : 'No');
	return h('div', {class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Table, scrolls sideways'}, h('table', {},
		h('thead', {}, h('tr', {}, ['Episode', 'Case at start', 'Recovery', 'Reliable improvement', 'Reliable deterioration', 'Reliable recovery']
			.map(t => h('th', {scope: 'col'}, t)))),
		h('tbody', {}, eps.map((e, i) => h('tr', {},
			h('th', {scope: 'row'}, e.started_at ? formatDate(e.started_at) : `#${i + 1}`),
			h('td', {}, yes(e.caseness_start ?? e.case_at_start)), h('td', {}, yes(e.recovery)),
			h('td', {}, yes(e.reliable_improvement)), h('td', {}, yes(e.reliable_deterioration)),
			h('td', {}, yes(e.reliable_recovery)))))));
}

function flaggedBlock(m) {
	if (m === null) return h('p', {}, 'Messages are not available on this server yet.');
	if (m.consent === false) return h('p', {}, 'Hidden: the patient has withdrawn consent for their care team. Safety alerts still appear above.');
	const flagged = (m.messages || []).filter(x => x.risk && x.risk.level && x.risk.level !== 'none');
	if (!flagged.length) return h('p', {}, 'No flagged messages.');
	return h('ul', {class: 'flagged'}, flagged.map(x => h('li', {},
		h('p', {class: 'quote'}, x.text),
		h('p', {}, h('strong', {}, `Risk: ${x.risk.level}`), ` · ${formatDate(x.created_at)}`),
		h('ul', {class: 'reasons', 'aria-label': 'Why it was flagged'}, (x.risk.reasons || []).map(r => h('li', {}, reasonText(r)))))));
}

function sensingBlock(s) {
	if (s === null) return h('p', {}, 'Sensing summaries are not available on this server yet.');
	if (s.consent === false) return h('p', {}, 'Hidden: the patient has not allowed sensing or care-team access.');
	const days = s.days || s.summary || [];
	if (!days.length) return h('p', {}, 'No sensing data.');
	const keys = [...new Set(days.flatMap(d => Object.keys(d).filter(k => k !== 'date')))];
	return h('div', {class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Table, scrolls sideways'}, h('table', {},
		h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Date'), keys.map(k => h('th', {scope: 'col'}, k.replace(/_/g, ' '))))),
		h('tbody', {}, days.map(d => h('tr', {}, h('th', {scope: 'row'}, d.date),
			keys.map(k => h('td', {class: d[k] == null ? 'missing' : ''}, d[k] == null ? 'missing' : String(d[k]))))))));
}

function safetyBlock(sp) {
	if (sp === null) return h('p', {}, 'Safety plans are not available on this server yet.');
	if (sp.consent === false) return h('p', {}, 'Hidden: the patient has withdrawn consent for their care team.');
	const plan = sp.safety_plan || sp.plan || sp;
	return h('div', {}, SECTIONS.map(([key, label]) => {
		const v = plan[key];
		const items = Array.isArray(v) ? v : v ? [String(v)] : [];
		return h('section', {}, h('h4', {}, label), items.length ? h('ul', {}, items.map(i => h('li', {}, i))) : h('p', {}, '(empty)'));
	}));
}

export async function patient(el, id, done) {
	const p = await api('GET', `/patients/${id}`);
	const summary = p.patient || p;
	const parts = [h('h1', {}, `Patient: ${summary.email}`), notice(done),
		h('p', {}, `On your care team since ${formatDate(summary.on_team_since)}. Last check-in: ${summary.last_checkin_at ? formatDate(summary.last_checkin_at) : 'never'}.`)];
	if (!summary.care_team_consent)
		parts.push(h('p', {class: 'status error', role: 'note'}, 'This patient has withdrawn consent for their care team to see their clinical content. Safety alerts still reach you.'));
	const alertsReply = await maybe('/alerts');
	const mine = (alertsReply?.alerts || []).filter(a => a.patient_id === Number(id));
	const redraw = text => patient(el, id, text);
	parts.push(h('section', {'aria-labelledby': 'pa-h'}, h('h2', {id: 'pa-h'}, 'Alerts'),
		alertsReply === null ? h('p', {}, 'Alerts are not available on this server yet.')
			: mine.length ? h('ul', {class: 'alerts'}, mine.map(a => alertItem(a, redraw))) : h('p', {}, 'No alerts.')));
	const [checkins, assessments, outcomes, messages, plan, sensing, risk] = await Promise.all([
		maybe(`/patients/${id}/checkins`), maybe(`/patients/${id}/assessments`), maybe(`/patients/${id}/outcomes`),
		maybe(`/patients/${id}/messages`), maybe(`/patients/${id}/safety-plan`), maybe(`/patients/${id}/sensing`),
		maybe(`/patients/${id}/risk`)]);
	const byDate = xs => xs.slice().sort((a, b) => new Date(a.created_at) - new Date(b.created_at));
	const charts = h('section', {'aria-labelledby': 'pc-h'}, h('h2', {id: 'pc-h'}, 'Scores and mood'));
	if (assessments && Array.isArray(assessments.assessments)) {
		for (const [inst, title] of [['phq9', 'PHQ-9'], ['gad7', 'GAD-7']])
			charts.append(chart(inst, byDate(assessments.assessments.filter(a => a.instrument === inst)).map(a => ({at: a.created_at, value: a.total})), title));
	} else {
		charts.append(h('p', {}, assessments?.consent === false ? 'Scores are hidden: consent withdrawn.' : 'Questionnaire scores are not available on this server yet.'));
	}
	if (checkins && Array.isArray(checkins.checkins))
		charts.append(chart('mood', byDate(checkins.checkins).map(c => ({at: c.created_at, value: c.mood})), 'Mood from check-ins'));
	parts.push(charts,
		h('section', {'aria-labelledby': 'pr-h'}, h('h2', {id: 'pr-h'}, 'Deterioration risk'), riskBlock(risk)),
		h('section', {'aria-labelledby': 'po-h'}, h('h2', {id: 'po-h'}, 'Episode outcomes'), outcomesBlock(outcomes),
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
