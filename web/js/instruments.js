// instruments.js: the PHQ-9 and GAD-7 as published (Spitzer, Kroenke, Williams; free to
// use), their bands and what a score means in plain, non-diagnostic words.
export const OPTIONS = ['Not at all', 'Several days', 'More than half the days', 'Nearly every day'];

export const INSTRUMENTS = {
	phq9: {
		name: 'PHQ-9', title: 'How have you been feeling? (PHQ-9)',
		stem: 'Over the last 2 weeks, how often have you been bothered by any of the following problems?',
		items: [
			'Little interest or pleasure in doing things',
			'Feeling down, depressed, or hopeless',
			'Trouble falling or staying asleep, or sleeping too much',
			'Feeling tired or having little energy',
			'Poor appetite or overeating',
			'Feeling bad about yourself, or that you are a failure or have let yourself or your family down',
			'Trouble concentrating on things, such as reading the newspaper or watching television',
			'Moving or speaking so slowly that other people could have noticed, or the opposite: being so fidgety or restless that you have been moving around a lot more than usual',
			'Thoughts that you would be better off dead, or of hurting yourself in some way',
		],
		max: 27,
		bands: [[0, 4, 'minimal'], [5, 9, 'mild'], [10, 14, 'moderate'], [15, 19, 'moderately severe'], [20, 27, 'severe']],
	},
	gad7: {
		name: 'GAD-7', title: 'How anxious have you been feeling? (GAD-7)',
		stem: 'Over the last 2 weeks, how often have you been bothered by the following problems?',
		items: [
			'Feeling nervous, anxious, or on edge',
			'Not being able to stop or control worrying',
			'Worrying too much about different things',
			'Trouble relaxing',
			'Being so restless that it is hard to sit still',
			'Becoming easily annoyed or irritable',
			'Feeling afraid, as if something awful might happen',
		],
		max: 21,
		bands: [[0, 4, 'minimal'], [5, 9, 'mild'], [10, 14, 'moderate'], [15, 21, 'severe']],
	},
};

export function bandOf(instrument, total) {
	const spec = INSTRUMENTS[instrument];
	const b = spec.bands.find(([lo, hi]) => total >= lo && total <= hi);
	return b ? b[2] : '';
}

const MEANING = {
	minimal: 'Few or no symptoms right now. Keep doing what helps you.',
	mild: 'Some symptoms. Self-help, like the exercises here, often helps at this level. Keep an eye on how things go.',
	moderate: 'Symptoms that are likely getting in the way of daily life. It is worth talking this through with your clinician.',
	'moderately severe': 'Symptoms that are probably making things hard. Please talk to your clinician about support; they can see this score if you allowed it.',
	severe: 'Symptoms that are likely making life very hard right now. Please reach out to your clinician soon. You do not have to manage this alone.',
};

export function meaningOf(band) {
	return MEANING[band] || '';
}
