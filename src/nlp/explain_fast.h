/*
 * explain_fast.h: private to the nlp module's analysis code (analyze_models.c,
 * crisis_model.c): a prediction and the word features behind it from one feature extraction
 * without names. The contributions are the exact value x weight of haven_model_explain for
 * linear models; the readable names are recovered for word and word-pair features from the
 * text's tokens, whose occurrences the extraction recorded ("w:hopeless", "b:no|point"),
 * and character n-grams are left out of the list. This costs a fraction of a named
 * extraction, which `haven analyze` needs to run six models per message at its throughput
 * target. Models that are not purely linear fall back to haven_model_explain.
 *
 * Every function takes an optional struct haven__text (nlp_int.h): the message tokenized
 * and hashed once for all the models that read it. NULL, or a text the model's options do
 * not fit, means the model tokenizes the text itself; the results are the same.
 */
#ifndef HAVEN_NLP_EXPLAIN_FAST_H
#define HAVEN_NLP_EXPLAIN_FAST_H

#include "nlp/nlp.h"

struct haven__text;

struct haven__term_weight {
	char name[64];      /* "w:word", "b:first|second" */
	float contribution; /* value x weight towards the label */
};

/* Predicts; the prediction's arrays point into ws, which keeps what haven__explain_fast
 * needs until its next use. Errors: HAVEN_ENOMEM. */
int haven__predict_fast(const struct haven_model *m, struct haven_nlp_ws *ws, const char *text,
			size_t len, struct haven__text *shared,
			struct haven_prediction *p) HAVEN_WUR;

/* After haven__predict_fast(m, ws, text, len, ..., p): lists up to k features that pushed
 * `label` up the most (positive contributions only, largest first). When the label's
 * probability is below min_prob none are listed (*ntop = 0) and the cost is saved.
 * Errors: HAVEN_ENOMEM. */
int haven__explain_fast(const struct haven_model *m, struct haven_nlp_ws *ws, const char *text,
			size_t len, struct haven_prediction *p, size_t label, size_t k,
			float min_prob, struct haven__term_weight *top,
			size_t *ntop) HAVEN_WUR;

/* Both: label < 0 means the predicted top label, returned in *explained. */
int haven__predict_explain(const struct haven_model *m, struct haven_nlp_ws *ws,
			   const char *text, size_t len, struct haven__text *shared, long label,
			   size_t k, float min_prob, struct haven_prediction *p,
			   struct haven__term_weight *top, size_t *ntop,
			   size_t *explained) HAVEN_WUR;

#endif
