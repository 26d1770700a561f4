/*
 * crisis_model.h: private to the crisis screen: the classifier half, a binary engine model
 * (models/crisis.hvm) whose positive label is "crisis", turned into a probability, the
 * n-grams that contributed most, and a level suggestion. Kept apart from crisis.c so the
 * rules do not depend on the engine's internals.
 */
#ifndef HAVEN_NLP_CRISIS_MODEL_H
#define HAVEN_NLP_CRISIS_MODEL_H

#include "nlp/crisis.h"

struct haven__crisis_model;
struct haven__text;

struct haven__crisis_model_out {
	double probability;          /* calibrated probability of the "crisis" label (with
	                              * "crisis_high" added, for a model that has it) */
	double distress_probability; /* of "distress", 0 when the model has no such label */
	double high_probability;     /* of "crisis_high", 0 when the model has no such label */
	size_t ntokens;
	size_t n_terms;
	struct haven_crisis_term terms[HAVEN_CRISIS_MAX_TERMS];
};

/* Loads the model. A missing file is HAVEN_ENOTFOUND (err is set); a corrupt one is
 * HAVEN_ECORRUPT. version receives "<name> <version>". */
int haven__crisis_model_load(const char *path, struct haven__crisis_model **out, char *version,
			     size_t vlen, char *err, size_t errlen) HAVEN_WUR;
/* A second instance sharing base's loaded model (read-only) with a workspace of its own,
 * for another thread; destroy it before base. */
int haven__crisis_model_clone(const struct haven__crisis_model *base,
                              struct haven__crisis_model **out) HAVEN_WUR;
void haven__crisis_model_destroy(struct haven__crisis_model **m);
/* Not thread-safe: the model holds one workspace (one struct haven_crisis per thread).
 * shared (may be NULL): the text tokenized and hashed once for every model (nlp_int.h).
 * Without want_terms the n-grams are left out (n_terms 0); haven__crisis_model_terms adds
 * them afterwards, for the text of the last prediction. */
void haven__crisis_model_predict(struct haven__crisis_model *m, const char *text, size_t len,
				 struct haven__text *shared, int want_terms,
				 struct haven__crisis_model_out *out);
void haven__crisis_model_terms(struct haven__crisis_model *m, const char *text, size_t len,
			       struct haven__crisis_model_out *out);
/* The level the classifier alone supports for a text of ntokens tokens (see
 * docs/crisis.md: short texts are left to the lexicon). */
enum haven_risk_level haven__crisis_model_level(const struct haven__crisis_model *m,
						const struct haven__crisis_model_out *o,
						size_t ntokens);

#endif
