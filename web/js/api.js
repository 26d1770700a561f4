// api.js: the one way the pages talk to the server. The session lives in an HttpOnly
// cookie the server sets (scripts cannot read it); state-changing requests carry the
// session's CSRF token in X-CSRF-Token. Every failure becomes an ApiError whose message
// is plain words for the person using the page, never the raw reply.
let csrfToken = null;

export function setCsrf(token) {
	csrfToken = token || null;
}

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

// Plain words for each error code the API can send. The server's own message is used
// only for invalid_body, where it names the field that needs fixing.
const PLAIN = {
	invalid_credentials: 'That email and password do not match an account. Please check them and try again.',
	too_many_attempts: 'Too many attempts to sign in. Please wait a little and try again.',
	unauthorized: 'You are not signed in, or your session has ended. Please sign in again.',
	session_expired: 'Your session has expired, to keep your information safe. Please sign in again.',
	csrf_failed: 'This page is out of date. Please reload it and try again.',
	forbidden: 'Your account cannot do this.',
	consent_required: 'This person has not given consent for their care team to see this.',
	invalid_invitation: 'That invitation code is not valid. It may have been used already or have expired. Please ask your clinician for a new one.',
	email_taken: 'There is already an account with this email address. Try signing in instead.',
	not_found: 'We could not find that. It may have been removed, or your account may not have access to it.',
	method_not_allowed: 'This part of Haven is not available on this server.',
	body_too_large: 'That is too long to send. Please shorten it and try again.',
	unsupported_media_type: 'Something went wrong sending this. Please reload the page and try again.',
	invalid_query: 'Something went wrong asking for this. Please reload the page and try again.',
	invalid_transition: 'This alert is not at that step: an alert is acknowledged first, then resolved, and someone may have changed it meanwhile. Please reload the page to see where it stands.',
	episode_open: 'An episode of care is already open for this patient. Close it before opening a new one.',
	no_open_episode: 'This patient has no open episode of care to close.',
	conflict: 'Someone else changed this at the same moment. Please reload the page and try again.',
	invalid_request: 'Haven could not do this with what was sent. Please reload the page and try again.',
	unknown_instrument: 'Haven does not know that questionnaire. Please reload the page and try again.',
	invalid_answers: 'Please answer every question with one of the choices given, then try again.',
	invalid_config: 'Those settings are not valid. Please check the numbers and try again.',
	internal: 'Something went wrong on the server. Your last change may not have been saved. Please try again.',
	network: 'Haven cannot be reached. Please check your connection and try again.',
	not_ready: 'Haven is starting up or cannot reach its database. Please try again in a minute.',
	unavailable: 'Haven cannot reach its database just now. Please try again in a minute.',
};

// Turns the API's field message ("field 'mood' must be an integer from 0 to 10") into a
// sentence a person can act on.
function plainInvalid(message) {
	const m = /field '([a-z_.]+)' (.*)/.exec(message || '');
	const names = {
		email: 'The email address', password: 'The password', mood: 'Mood', sleep_hours: 'Hours of sleep',
		note: 'The note', code: 'The invitation code', text: 'Your message', role: 'The role',
	};
	if (m) {
		const name = names[m[1]] || `The ${m[1].replace(/_/g, ' ')}`;
		return `${name} ${m[2]}.`;
	}
	return 'Some of what was entered is not valid. Please check it and try again.';
}

export function plainMessage(status, code, message) {
	if (code === 'invalid_body') return plainInvalid(message);
	if (PLAIN[code]) return PLAIN[code];
	if (status >= 500) return 'Something went wrong on the server. Your last change may not have been saved. Please try again.';
	return 'Something went wrong. Please try again.';
}

// Listeners told when the session has ended (expired or signed out elsewhere).
const sessionEndListeners = [];
export function onSessionEnd(fn) {
	sessionEndListeners.push(fn);
}

export async function api(method, path, body) {
	const headers = {Accept: 'application/json'};
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
	let resp;
	try {
		resp = await fetch(`/api/v1${path}`, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
			credentials: 'same-origin',
			cache: 'no-store',
		});
	} catch {
		throw new ApiError(0, 'network', 'Haven cannot be reached. Please check your connection and try again.');
	}
	if (resp.status === 204) return null;
	let data = null;
	const text = await resp.text();
	try {
		data = text ? JSON.parse(text) : null;
	} catch {
		data = null;
	}
	if (resp.ok) return data;
	const code = data?.error?.code || 'unknown';
	const err = new ApiError(resp.status, code, plainMessage(resp.status, code, data?.error?.message));
	if (resp.status === 401 && path !== '/auth/login') {
		for (const fn of sessionEndListeners) fn(code);
	}
	throw err;
}
