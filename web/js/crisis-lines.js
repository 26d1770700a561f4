// crisis-lines.js: crisis lines shown on every patient page and in the crisis protocol.
// These are facts: check them against each service's own site before changing them.
// Order: the person's likely country first is not known to the page, so all are shown.
export const LINES = [
	{country: 'United States', lines: [
		{name: '988 Suicide & Crisis Lifeline', how: 'Call or text 988', tel: '988', sms: '988'}],
	emergency: '911'},
	{country: 'United Kingdom', lines: [
		{name: 'Samaritans', how: 'Call 116 123 (free, any time)', tel: '116123'},
		{name: 'Shout', how: 'Text SHOUT to 85258', sms: '85258'}],
	emergency: '999'},
	{country: 'Canada', lines: [
		{name: '9-8-8 Suicide Crisis Helpline', how: 'Call or text 988', tel: '988', sms: '988'}],
	emergency: '911'},
	{country: 'Australia', lines: [
		{name: 'Lifeline', how: 'Call 13 11 14', tel: '131114'}],
	emergency: '000'},
	{country: 'Ireland', lines: [
		{name: 'Samaritans', how: 'Call 116 123 (free, any time)', tel: '116123'},
		{name: 'Pieta', how: 'Call 1800 247 247', tel: '1800247247'}],
	emergency: '112 or 999'},
];

export const DIRECTORY = {name: 'Find A Helpline', url: 'https://findahelpline.com', how: 'free, confidential lines in many other countries'};
