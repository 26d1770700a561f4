/*
 * explain_fast.h: private to the nlp module's analysis code (analyze_models.c,
 * crisis_model.c): a prediction and the word features behind it from one feature extraction
 * without names. The contributions are the exact value x weight of haven_model_explain for
 * linear models; the readable names are recovered for word and word-pair features by
 * hashing the text's tokens the way the engine does ("w:hopeless", "b:no|point"), and
 * character n-grams are left out of the list. This costs a fraction of a named extraction,
 * which `haven analyze` needs to run five models per message at its throughput target.
 * Models that are not purely linear fall back to haven_model_explain.
 */
#ifndef HAVEN_NLP_EXPLAIN_FAST_H
#define HAVEN_NLP_EXPLAIN_FAST_H

#include "nlp/nlp.h"

struct haven__term_weight {
	char name[64];      /* "w:word", "b:first|second" */
	float contribution; /* value x weight towards the label */
};

/* Predicts, then lists up to k features that pushed `label` up the most (positive
 * contributions only, largest first); label < 0 means the predicted top label. The
 * prediction's arrays point into ws. When the label's probability is below min_prob no
 * features are listed (*ntop = 0) and the explanation's cost is saved. Returns the label explained in
 * *explained. Errors: HAVEN_ENOMEM. */
int haven__predict_explain(const struct haven_model *m, struct haven_nlp_ws *ws,
			   const char *text, size_t len, long label, size_t k, float min_prob,
			   struct haven_prediction *p, struct haven__term_weight *top,
			   size_t *ntop, size_t *explained) HAVEN_WUR;

#endif
