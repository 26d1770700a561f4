// charts.js: scores and mood over time, drawn with uPlot (web/vendor, copied from npm by
// scripts/vendor-web.sh). Severity bands are shaded behind the line so a score reads at a
// glance, and every chart has the same numbers as a table for screen readers and print.
import uPlot from '/vendor/uPlot.esm.js';
import {h, formatDay} from './dom.js';

export const BANDS = {
	phq9: {max: 27, label: 'PHQ-9 score', bands: [
		[0, 4, 'Minimal', '#e6f4ea'], [5, 9, 'Mild', '#fdf6d8'], [10, 14, 'Moderate', '#fde8cf'],
		[15, 19, 'Moderately severe', '#fbd9d3'], [20, 27, 'Severe', '#f6c4c4']]},
	gad7: {max: 21, label: 'GAD-7 score', bands: [
		[0, 4, 'Minimal', '#e6f4ea'], [5, 9, 'Mild', '#fdf6d8'], [10, 14, 'Moderate', '#fde8cf'],
		[15, 21, 'Severe', '#f6c4c4']]},
	mood: {max: 10, label: 'Mood (0 low to 10 good)', bands: []},
};

// points: [{at: ISO string, value: number}], oldest first.
export function chart(kind, points, title) {
	const spec = BANDS[kind];
	const box = h('figure', {class: 'chart'});
	const caption = h('figcaption', {}, title);
	box.append(caption);
	if (!points.length) {
		box.append(h('p', {class: 'empty'}, 'Nothing to show yet.'));
		return box;
	}
	const plotHolder = h('div', {class: 'plot', role: 'img', 'aria-label': `${title}: chart of ${points.length} values; the same values are in the table below.`});
	box.append(plotHolder);
	if (spec.bands.length) {
		box.append(h('ul', {class: 'bands', 'aria-label': 'Severity bands'},
			spec.bands.map(([lo, hi, name, color]) => h('li', {}, h('span', {class: 'swatch', dataset: {color}}), `${name}: ${lo}-${hi}`))));
		for (const sw of box.querySelectorAll('.swatch')) sw.style.background = sw.dataset.color;
	}
	box.append(h('details', {class: 'table'}, h('summary', {}, 'Show the numbers as a table'),
		h('table', {}, h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Date'), h('th', {scope: 'col'}, spec.label))),
			h('tbody', {}, points.map(p => h('tr', {}, h('td', {}, formatDay(p.at)), h('td', {}, String(p.value))))))));
	const xs = points.map(p => Math.floor(new Date(p.at).getTime() / 1000));
	const ys = points.map(p => p.value);
	const draw = () => {
		const width = Math.max(260, Math.min(720, plotHolder.clientWidth || 600));
		const opts = {
			width, height: 220,
			scales: {x: {time: true}, y: {range: [0, spec.max]}},
			legend: {show: false},
			cursor: {show: true, drag: {x: false, y: false}},
			axes: [{stroke: '#333', grid: {stroke: '#ddd'}}, {stroke: '#333', grid: {stroke: '#ddd'}, size: 40}],
			series: [{}, {label: spec.label, stroke: '#1f5f8b', width: 2, points: {show: true, size: 7, fill: '#1f5f8b'}}],
			hooks: {drawClear: [u => {
				const ctx = u.ctx;
				for (const [lo, hi, , color] of spec.bands) {
					const top = u.valToPos(hi + (hi === spec.max ? 0 : 0.5), 'y', true);
					const bottom = u.valToPos(lo === 0 ? 0 : lo - 0.5, 'y', true);
					ctx.fillStyle = color;
					ctx.fillRect(u.bbox.left, top, u.bbox.width, bottom - top);
				}
			}]},
		};
		plotHolder.replaceChildren();
		// At least three days across, so a few values entered close together (or one)
		// read as points in time rather than stretching over an arbitrary span.
		const lo = Math.min(...xs), hi = Math.max(...xs), mid = (lo + hi) / 2;
		const half = Math.max((hi - lo) / 2 * 1.08, 1.5 * 86400);
		opts.scales.x = {time: true, range: [mid - half, mid + half]};
		new uPlot(opts, [xs, ys], plotHolder);
	};
	requestAnimationFrame(draw);
	return box;
}
