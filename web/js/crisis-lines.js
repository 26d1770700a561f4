// crisis-lines.js: crisis lines shown on every patient page and in the crisis protocol.
// These are facts, kept the same as the server's content/crisis_lines.txt (the lines the
// agent gives): check every number against the service's own site before changing one.
// Last checked: 2026-11.
export const LINES = [
	{code: 'US', country: 'United States', lines: [
		{name: '988 Suicide & Crisis Lifeline', how: 'Call or text 988', tel: '988'},
		{name: 'Crisis Text Line', how: 'Text HOME to 741741', sms: '741741'}],
	emergency: '911'},
	{code: 'GB', country: 'United Kingdom', lines: [
		{name: 'Samaritans', how: 'Call 116 123 (free, any time)', tel: '116123'},
		{name: 'Shout', how: 'Text SHOUT to 85258', sms: '85258'}],
	emergency: '999 or 112'},
	{code: 'CA', country: 'Canada', lines: [
		{name: '9-8-8 Suicide Crisis Helpline', how: 'Call or text 988', tel: '988'}],
	emergency: '911'},
	{code: 'AU', country: 'Australia', lines: [
		{name: 'Lifeline', how: 'Call 13 11 14', tel: '131114'}],
	emergency: '000'},
	{code: 'IE', country: 'Ireland', lines: [
		{name: 'Samaritans', how: 'Call 116 123 (free, any time)', tel: '116123'},
		{name: 'Pieta', how: 'Call 1800 247 247 or text HELP to 51444 (free, any time)', tel: '1800247247'},
		{name: 'Text About It', how: 'Text HELLO to 50808', sms: '50808'}],
	emergency: '112 or 999'},
];

export const DIRECTORY = {name: 'Find A Helpline', url: 'https://findahelpline.com', how: 'free, confidential crisis lines in your country'};

// The region for a locale such as "en-GB" (the same mapping as the server's file).
export function regionForLocale(locale) {
	const m = /^[a-z]{2,3}-([A-Z]{2})$/.exec(locale || '');
	if (m && LINES.some(r => r.code === m[1])) return m[1];
	return locale === 'en' ? 'US' : null;
}
