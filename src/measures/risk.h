/*
 * risk.h: the deterioration-risk score, an interpretable logistic model over a few
 * features of the person's own trajectories. The probability it gives is that of a
 * reliable deterioration on PHQ-9 (6 points or more above the latest score) within the
 * next 28 days.
 *
 *   logit = intercept + sum_i weight_i * (x_i - reference_i)
 *
 * Each term is that feature's contribution, reported with the feature's value, so a
 * clinician reads why the score is what it is; a missing feature sits at its reference
 * and contributes 0. The shipped default weights are expert-set, not fitted (see
 * docs/monitoring.md); haven_risk_train() fits weights on a clinic's own data.
 *
 * Everything here is pure: the store side (building the trajectory) is in monitor.c.
 */
#ifndef HAVEN_MEASURES_RISK_H
#define HAVEN_MEASURES_RISK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/core.h"

enum haven_risk_feature {
	HAVEN_RISK_PHQ9_LAST,         /* latest PHQ-9 total in the last 90 days, 0-27 */
	HAVEN_RISK_PHQ9_SLOPE,        /* PHQ-9 points per week over the last 8 weeks */
	HAVEN_RISK_MOOD_DROP,         /* usual check-in mood minus its recent EWMA, points */
	HAVEN_RISK_CHECKIN_ADHERENCE, /* share of the last 14 days with a check-in, 0-1 */
	HAVEN_RISK_SLEEP_CHANGE,      /* recent mean sleep minus usual, hours */
	HAVEN_RISK_NFEATURES
};

#define HAVEN_RISK_HORIZON_DAYS 28

/* Feature names ("phq9_last", ...) and one-line descriptions for people. */
const char *haven_risk_feature_name(int i);
const char *haven_risk_feature_description(int i);
int haven_risk_feature_find(const char *name); /* -1 when unknown */

struct haven_risk_model {
	double intercept;
	double weight[HAVEN_RISK_NFEATURES];
	double reference[HAVEN_RISK_NFEATURES];
	char source[160]; /* what the weights rest on, in words */
};

/* The shipped expert-set model. */
void haven_risk_model_default(struct haven_risk_model *m);
/* The model as JSON {"source", "intercept", "features": {name: {"weight", "reference"}}}
 * and back (a partial "features" object changes only the named ones). HAVEN_EINVAL with
 * a message for unknown names, wrong types or non-finite numbers. */
json_t *haven_risk_model_json(const struct haven_risk_model *m);
int haven_risk_model_apply(struct haven_risk_model *m, const json_t *obj, char *err,
                           size_t errlen) HAVEN_WUR;

/* One person's features; present[i] 0 means missing (the feature then contributes 0). */
struct haven_risk_features {
	double x[HAVEN_RISK_NFEATURES];
	int present[HAVEN_RISK_NFEATURES];
};

struct haven_risk_score {
	double logit, probability;
	double contribution[HAVEN_RISK_NFEATURES]; /* intercept + sum == logit */
};
void haven_risk_score(const struct haven_risk_model *m, const struct haven_risk_features *f,
                      struct haven_risk_score *out);
/* The score as JSON: probability, logit, intercept, threshold, above_threshold and
 * "features": [{"name", "description", "value" (null when missing), "reference",
 * "weight", "contribution"}], largest contribution first. */
json_t *haven_risk_score_json(const struct haven_risk_model *m, const struct haven_risk_features *f,
                              const struct haven_risk_score *s, double threshold);

/* ---- Trajectory -> features (pure) ---- */
struct haven_risk_phq9 {
	int64_t at_ms;
	int total;
};
struct haven_risk_checkin {
	int64_t at_ms;
	double mood, sleep_hours; /* sleep_hours < 0: not given */
};
/* Computes the features at now_ms from the PHQ-9 scores and check-ins (any order;
 * only those at or before now_ms count). mood_alpha is the EWMA weight of the mood
 * rule. */
void haven_risk_features_compute(const struct haven_risk_phq9 *phq9, size_t nphq9,
                                 const struct haven_risk_checkin *checkins, size_t ncheckins,
                                 int64_t now_ms, double mood_alpha,
                                 struct haven_risk_features *out);

/* ---- Training (pure) ---- */
struct haven_risk_example {
	struct haven_risk_features f;
	int label; /* 1: deteriorated within the horizon */
};
/* Reads a JSON Lines file: one {"features": {name: number|null, ...}, "deteriorated":
 * true|false} per line (the format of `haven monitor --export-training` and of
 * bench/risk_cohort). *out is malloc'd (free()). HAVEN_EINVAL with "line N: ..." in
 * err. */
int haven_risk_examples_read(const char *path, struct haven_risk_example **out, size_t *n,
                             char *err, size_t errlen) HAVEN_WUR;
/* Writes one example as a JSON line into f. */
int haven_risk_example_write(FILE *f, const struct haven_risk_example *e) HAVEN_WUR;

/* Fits the model by L2-penalised maximum likelihood (Newton's method on standardised
 * features; l2 is the penalty on standardised weights, e.g. 1.0). References become the
 * means of the present values. HAVEN_EINVAL when there are fewer than 20 examples or
 * only one class. */
int haven_risk_train(const struct haven_risk_example *ex, size_t n, double l2,
                     struct haven_risk_model *out) HAVEN_WUR;

struct haven_risk_eval {
	size_t n, positives;
	double auroc, brier, log_loss;
	/* Calibration in ten bins of predicted probability: mean predicted and observed
	 * rate (NAN when the bin is empty) and counts. */
	double bin_pred[10], bin_obs[10];
	size_t bin_n[10];
	double ece; /* expected calibration error */
};
void haven_risk_evaluate(const struct haven_risk_model *m, const struct haven_risk_example *ex,
                         size_t n, struct haven_risk_eval *out);
/* AUROC of scores against labels (ties count half); NAN with one class only. */
double haven_risk_auroc(const double *score, const int *label, size_t n);

#endif
