/*
 * outcomes.c: the outcome of one episode of care from its PHQ-9 and GAD-7 scores, by
 * the NHS Talking Therapies definitions (DESIGN.md, "Clinical measures"):
 *  - caseness: PHQ-9 >= 10 or GAD-7 >= 8;
 *  - a reliable change: 6 points on PHQ-9, 4 on GAD-7;
 *  - recovery: a case at the start and not a case on both measures at the end;
 *  - reliable improvement: a reliable decrease on at least one measure without a
 *    reliable increase on the other;
 *  - reliable deterioration: a reliable increase on either;
 *  - reliable recovery: recovery with reliable improvement.
 * "Start" is each measure's first score in the episode and "end" its last. A measure
 * with a single score has no change; an episode needs a second score on at least one
 * measure before it has an end. Pure: no I/O, tested on worked examples.
 */
#include "measures/measures.h"

static int first_of(const int *v, size_t n)
{
	return n ? v[0] : -1;
}

static int last_of(const int *v, size_t n)
{
	return n ? v[n - 1] : -1;
}

void haven_outcome_compute(const struct haven_episode_scores *s, struct haven_outcome *o)
{
	const struct haven_instrument *phq = haven_instrument_find("phq9");
	const struct haven_instrument *gad = haven_instrument_find("gad7");
	o->phq9_first = first_of(s->phq9, s->nphq9);
	o->phq9_last = last_of(s->phq9, s->nphq9);
	o->gad7_first = first_of(s->gad7, s->ngad7);
	o->gad7_last = last_of(s->gad7, s->ngad7);
	o->phq9_rci = o->gad7_rci = 0;
	o->phq9_n = (int)s->nphq9;
	o->gad7_n = (int)s->ngad7;

	int has_phq = s->nphq9 > 0, has_gad = s->ngad7 > 0;
	int pair_phq = s->nphq9 >= 2, pair_gad = s->ngad7 >= 2;
	if (!has_phq && !has_gad) {
		o->case_start = o->case_end = o->recovery = -1;
		o->reliable_improvement = o->reliable_deterioration = o->reliable_recovery = -1;
		return;
	}
	o->case_start = (has_phq && o->phq9_first >= phq->caseness) ||
	                (has_gad && o->gad7_first >= gad->caseness);
	if (!pair_phq && !pair_gad) {
		o->case_end = o->recovery = -1;
		o->reliable_improvement = o->reliable_deterioration = o->reliable_recovery = -1;
		return;
	}
	o->case_end = (has_phq && o->phq9_last >= phq->caseness) ||
	              (has_gad && o->gad7_last >= gad->caseness);

	enum haven_reliable rp = HAVEN_RELIABLE_NONE, rg = HAVEN_RELIABLE_NONE;
	if (pair_phq) {
		rp = haven_instrument_reliable(phq, o->phq9_first, o->phq9_last);
		o->phq9_rci = (o->phq9_last - o->phq9_first) / haven_instrument_sdiff(phq);
	}
	if (pair_gad) {
		rg = haven_instrument_reliable(gad, o->gad7_first, o->gad7_last);
		o->gad7_rci = (o->gad7_last - o->gad7_first) / haven_instrument_sdiff(gad);
	}
	int up = rp == HAVEN_RELIABLE_DETERIORATION || rg == HAVEN_RELIABLE_DETERIORATION;
	int down = rp == HAVEN_RELIABLE_IMPROVEMENT || rg == HAVEN_RELIABLE_IMPROVEMENT;
	o->reliable_deterioration = up;
	o->reliable_improvement = down && !up;
	if (o->case_start) {
		o->recovery = !o->case_end;
		o->reliable_recovery = o->recovery && o->reliable_improvement;
	} else {
		/* Recovery is only defined for people who were a case at the start. */
		o->recovery = o->reliable_recovery = -1;
	}
}

static json_t *tri(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *score(int v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *rci(double v, int n)
{
	return n >= 2 ? json_real((double)(int64_t)(v * 100 + (v < 0 ? -0.5 : 0.5)) / 100)
	              : json_null();
}

json_t *haven_outcome_json(const struct haven_outcome *o)
{
	return json_pack(
	    "{s:o,s:o,s:o,s:o,s:o,s:o,s:{s:o,s:o,s:i,s:o},s:{s:o,s:o,s:i,s:o}}", "caseness_start",
	    tri(o->case_start), "caseness_end", tri(o->case_end), "recovery", tri(o->recovery),
	    "reliable_improvement", tri(o->reliable_improvement), "reliable_deterioration",
	    tri(o->reliable_deterioration), "reliable_recovery", tri(o->reliable_recovery), "phq9",
	    "first", score(o->phq9_first), "last", score(o->phq9_last), "scores", o->phq9_n, "rci",
	    rci(o->phq9_rci, o->phq9_n), "gad7", "first", score(o->gad7_first), "last",
	    score(o->gad7_last), "scores", o->gad7_n, "rci", rci(o->gad7_rci, o->gad7_n));
}
