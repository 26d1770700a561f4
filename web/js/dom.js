// dom.js: builds elements without innerHTML, so text from the server can never become
// markup. h('p', {class: 'x'}, 'text', child) -> <p class="x">text<child/></p>.
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
		else if (k === 'dataset') Object.assign(el.dataset, v);
		else if (v === true) el.setAttribute(k, '');
		else el.setAttribute(k, String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === undefined || c === null || c === false) continue;
		if (Array.isArray(c)) append(el, c);
		else if (c instanceof Node) el.appendChild(c);
		else el.appendChild(document.createTextNode(String(c)));
	}
}

// Replaces the children of el.
export function mount(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

let idCounter = 0;
export function uid(prefix) {
	idCounter += 1;
	return `${prefix}-${idCounter}`;
}

// A labelled form field: label, input, optional hint, and an error slot announced to
// screen readers.
export function field(label, input, hint) {
	const id = input.id || uid('f');
	input.id = id;
	const hintEl = hint ? h('p', {class: 'hint', id: `${id}-hint`}, hint) : null;
	if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
	return h('div', {class: 'field'}, h('label', {for: id}, label), hintEl, input);
}

// A status region: polite announcements of success, assertive for errors.
export function statusBox() {
	return h('div', {class: 'status', role: 'status', 'aria-live': 'polite'});
}

export function showError(box, message) {
	box.className = 'status error';
	box.setAttribute('role', 'alert');
	mount(box, message);
	box.focus?.();
}

export function showOk(box, message) {
	box.className = 'status ok';
	box.setAttribute('role', 'status');
	mount(box, message);
}

export function clear(box) {
	box.className = 'status';
	box.replaceChildren();
}

export function formatDate(iso) {
	if (!iso) return '';
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return '';
	return d.toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'short'});
}

export function formatDay(iso) {
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? '' : d.toLocaleDateString(undefined, {dateStyle: 'medium'});
}
