/*
 * risk_cohort.c: a SIMULATED cohort for the deterioration-risk model. It generates
 * trajectories (PHQ-9 every two weeks, daily check-ins with mood and sleep, gaps in
 * check-ins) from the assumptions written in docs/monitoring.md, computes the risk
 * features at every PHQ-9 with the production code (haven_risk_features_compute),
 * labels each point as Haven does (a PHQ-9 in the next 28 days 6 or more points above),
 * and reports AUROC, Brier score and calibration of the shipped expert-set weights and
 * of a model fitted on one half and tested on the other. It also writes the examples as
 * JSON Lines for `haven train --task deterioration`.
 *
 *   make build/bench/risk_cohort
 *   build/bench/risk_cohort [--people N] [--seed S] [--out FILE]
 *
 * Nothing here is clinical data; the numbers say how the model behaves on data that
 * follows these assumptions, not how it will do in a clinic.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measures/risk.h"

#define DAY 86400000LL
#define DAYS 182 /* 26 weeks per person */

static uint64_t rng;
static double uniform(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return ((z >> 11) + 0.5) / 9007199254740992.0;
}
static double normal(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}
static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

struct person {
	double latent[DAYS];    /* severity in PHQ-9 points */
	double prodrome[DAYS];  /* 0..1: how far into the lead-up to a worsening */
	struct haven_risk_phq9 phq9[DAYS / 14 + 1];
	size_t nphq9;
	struct haven_risk_checkin ck[DAYS];
	size_t nck;
};

static void simulate(struct person *p)
{
	memset(p, 0, sizeof(*p));
	double l = clamp(12 + 4 * normal(), 3, 24);
	double adherence = 0.4 + 0.55 * uniform();
	/* A quarter of people have one worsening: a lead-up of 7-14 days (mood and sleep
	 * slip, check-ins thin out), then PHQ-9 rises 6-12 points over 14-28 days. */
	int worsens = uniform() < 0.25;
	int onset = 14 + (int)(uniform() * (DAYS - 28));
	int lead = 7 + (int)(uniform() * 8), rise_days = 14 + (int)(uniform() * 15);
	double rise = 6 + 6 * uniform();
	for (int d = 0; d < DAYS; d++) {
		l += -0.02 + 0.3 * normal(); /* slow improvement in care, day-to-day noise */
		if (worsens && d >= onset && d < onset + rise_days)
			l += rise / rise_days;
		l = clamp(l, 0, 27);
		p->latent[d] = l;
		if (worsens && d >= onset - lead && d < onset + rise_days)
			p->prodrome[d] = d < onset ? (double)(d - (onset - lead)) / lead : 1.0;
	}
	for (int d = 0; d < DAYS; d++) {
		int64_t t = (int64_t)d * DAY + 12 * 3600000LL;
		if (d % 14 == 0)
			p->phq9[p->nphq9++] = (struct haven_risk_phq9){
			    t, (int)lround(clamp(p->latent[d] + 2 * normal(), 0, 27))};
		double pr = p->prodrome[d];
		if (uniform() < adherence * (1 - 0.4 * pr)) {
			double mood = clamp(round(7.5 - 0.2 * p->latent[d] - 1.5 * pr + 1.2 * normal()),
			                    0, 10);
			double sleep =
			    clamp(round((7.5 - 0.05 * p->latent[d] - 1.0 * pr + 0.8 * normal()) * 2) / 2,
			          0, 24);
			p->ck[p->nck++] = (struct haven_risk_checkin){t + 3600000LL * 8, mood, sleep};
		}
	}
}

static void report(const char *name, const struct haven_risk_eval *e)
{
	printf("%-34s n=%zu positives=%zu AUROC %.3f  Brier %.4f  log loss %.4f  ECE %.4f\n", name,
	       e->n, e->positives, e->auroc, e->brier, e->log_loss, e->ece);
	for (int b = 0; b < 10; b++)
		if (e->bin_n[b])
			printf("    predicted %.1f-%.1f: mean %.3f, observed %.3f (n=%zu)\n", b / 10.0,
			       (b + 1) / 10.0, e->bin_pred[b], e->bin_obs[b], e->bin_n[b]);
}

int main(int argc, char **argv)
{
	size_t people = 2000;
	uint64_t seed = 7;
	const char *out = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--people"))
			people = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
	}
	if (people < 20 || people > 1000000) {
		fprintf(stderr, "--people wants 20 to 1000000\n");
		return 2;
	}
	rng = seed;
	size_t cap = people * (DAYS / 14 + 1), n = 0;
	struct haven_risk_example *ex = calloc(cap, sizeof(*ex));
	struct person *p = malloc(sizeof(*p));
	FILE *f = out ? fopen(out, "w") : NULL;
	if (!ex || !p || (out && !f)) {
		fprintf(stderr, "cannot allocate or open the output\n");
		return 1;
	}
	for (size_t i = 0; i < people; i++) {
		simulate(p);
		for (size_t k = 0; k < p->nphq9; k++) {
			int64_t at = p->phq9[k].at_ms;
			if (at + 28 * DAY > (int64_t)DAYS * DAY)
				continue; /* no full follow-up */
			struct haven_risk_example *e = &ex[n++];
			haven_risk_features_compute(p->phq9, k + 1, p->ck, p->nck, at, 0.3, &e->f);
			for (size_t j = k + 1; j < p->nphq9; j++)
				if (p->phq9[j].at_ms <= at + 28 * DAY && p->phq9[j].total >= p->phq9[k].total + 6)
					e->label = 1;
			if (f && haven_risk_example_write(f, e)) {
				fprintf(stderr, "cannot write %s\n", out);
				return 1;
			}
		}
	}
	if (f && fclose(f)) {
		fprintf(stderr, "cannot write %s\n", out);
		return 1;
	}
	printf("simulated cohort: %zu people, seed %llu, %zu prediction points\n", people,
	       (unsigned long long)seed, n);
	struct haven_risk_model def, fit;
	struct haven_risk_eval e;
	haven_risk_model_default(&def);
	haven_risk_evaluate(&def, ex, n, &e);
	report("shipped expert-set weights (all)", &e);
	/* People were generated in order, so the halves hold different people. */
	size_t half = n / 2;
	if (haven_risk_train(ex, half, 1.0, &fit)) {
		fprintf(stderr, "cannot fit\n");
		return 1;
	}
	haven_risk_evaluate(&def, ex + half, n - half, &e);
	report("expert-set weights (second half)", &e);
	haven_risk_evaluate(&fit, ex + half, n - half, &e);
	report("fitted on the first half (second)", &e);
	printf("fitted weights: intercept %.3f", fit.intercept);
	for (int i = 0; i < HAVEN_RISK_NFEATURES; i++)
		printf(", %s %+.3f (ref %.2f)", haven_risk_feature_name(i), fit.weight[i],
		       fit.reference[i]);
	printf("\n");
	free(ex);
	free(p);
	return 0;
}
