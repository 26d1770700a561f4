/*
 * crisis_model.c: the classifier half of the crisis screen (see crisis_model.h): an engine
 * model with the labels "crisis", "distress" and "none" (models/crisis.hvm, built by
 * models/train_crisis.sh), its calibrated probabilities, the n-grams that pushed the text
 * towards "crisis", and the level the classifier alone may suggest.
 *
 * The model was trained on long Reddit posts and tweets; on a chat message of a few words
 * it is unreliable in both directions, so short texts are left to the lexicon (the
 * thresholds below, measured in models/crisis.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nlp/crisis_model.h"
#include "nlp/explain_fast.h"
#include "nlp/nlp.h"

/* Decision rules on the calibrated probability of "crisis" (see models/crisis.md). */
#define MODERATE_P 0.60    /* classifier alone: "moderate" (ask) */
#define HIGH_P 0.85        /* classifier alone: "high", long posts only */
#define LOW_P 0.50         /* crisis + distress: "low" */
#define MIN_TOKENS_MODERATE 10 /* docs/crisis.md: under 10 it only added false alarms */
#define MIN_TOKENS_HIGH 40
#define EXPLAIN_P 0.25     /* below this the top n-grams are not reported */

struct haven__crisis_model {
	struct haven_model *model; /* a clone's belongs to the model it was cloned from */
	int borrowed;
	struct haven_nlp_ws *ws;
	long crisis_label;
	long distress_label;
	long high_label; /* "crisis_high": the short-message model tells high from moderate */
	struct haven_prediction last; /* the last prediction (points into ws) */
};

int haven__crisis_model_load(const char *path, struct haven__crisis_model **out, char *version,
			     size_t vlen, char *err, size_t errlen)
{
	*out = NULL;
	if (vlen)
		version[0] = '\0';
	if (access(path, F_OK) != 0) {
		int e = errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: no crisis model", path);
		return e == ENOENT ? HAVEN_ENOTFOUND : haven_err_from_errno(e);
	}
	int rc;
	struct haven__crisis_model *m = calloc(1, sizeof(*m));
	if (!m)
		return HAVEN_ENOMEM;
	if ((rc = haven_model_load(path, &m->model, err, errlen)))
		goto out;
	m->crisis_label = haven_model_label_index(m->model, "crisis");
	m->distress_label = haven_model_label_index(m->model, "distress");
	m->high_label = haven_model_label_index(m->model, "crisis_high");
	if (m->crisis_label < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: not a crisis model (it has no label \"crisis\")",
				 path);
		rc = HAVEN_EINVAL;
		goto out;
	}
	if ((rc = haven_nlp_ws_create(&m->ws)))
		goto out;
	const struct haven_model_info *info = haven_model_info(m->model);
	snprintf(version, vlen, "%s %s", info->name, info->version);
	rc = HAVEN_OK;
out:
	if (rc)
		haven__crisis_model_destroy(&m);
	*out = m;
	return rc;
}

int haven__crisis_model_clone(const struct haven__crisis_model *base,
                              struct haven__crisis_model **out)
{
	*out = NULL;
	struct haven__crisis_model *m = calloc(1, sizeof(*m));
	if (!m)
		return HAVEN_ENOMEM;
	m->model = base->model;
	m->borrowed = 1;
	m->crisis_label = base->crisis_label;
	m->distress_label = base->distress_label;
	m->high_label = base->high_label;
	int rc = haven_nlp_ws_create(&m->ws);
	if (rc) {
		free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void haven__crisis_model_destroy(struct haven__crisis_model **pm)
{
	struct haven__crisis_model *m = pm ? *pm : NULL;
	if (!m)
		return;
	haven_nlp_ws_destroy(&m->ws);
	if (!m->borrowed)
		haven_model_destroy(&m->model);
	free(m);
	*pm = NULL;
}

/* "w:hopeless" -> "hopeless", "b:no|point" -> "no point": readable for a clinician. */
static void readable_term(char *dst, size_t n, const char *name)
{
	const char *s = name;
	if (s[0] && s[1] == ':')
		s += 2;
	size_t o = 0;
	for (; *s && o + 1 < n; s++)
		dst[o++] = *s == '|' ? ' ' : *s;
	dst[o] = '\0';
}

/* The n-grams behind the last prediction: towards "crisis_high" when the model rates that
 * above "crisis", else towards "crisis". */
void haven__crisis_model_terms(struct haven__crisis_model *m, const char *text, size_t len,
			       struct haven__crisis_model_out *out)
{
	struct haven_prediction *p = &m->last;
	struct haven__term_weight top[HAVEN_CRISIS_MAX_TERMS];
	size_t ntop = 0;
	size_t label = (size_t)m->crisis_label;
	if (out->high_probability > p->prob[m->crisis_label])
		label = (size_t)m->high_label;
	if (haven__explain_fast(m->model, m->ws, text, len, p, label, HAVEN_CRISIS_MAX_TERMS,
				EXPLAIN_P, top, &ntop))
		ntop = 0;
	out->n_terms = 0;
	for (size_t i = 0; i < ntop; i++) {
		struct haven_crisis_term *t = &out->terms[out->n_terms++];
		readable_term(t->text, sizeof(t->text), top[i].name);
		t->weight = top[i].contribution;
	}
}

void haven__crisis_model_predict(struct haven__crisis_model *m, const char *text, size_t len,
				 struct haven__text *shared, int want_terms,
				 struct haven__crisis_model_out *out)
{
	memset(out, 0, sizeof(*out));
	struct haven_prediction *p = &m->last;
	if (haven__predict_fast(m->model, m->ws, text, len, shared, p))
		return; /* out of memory: no evidence from the classifier */
	out->probability = p->prob[m->crisis_label];
	out->distress_probability = m->distress_label >= 0 ? p->prob[m->distress_label] : 0.0;
	out->high_probability = m->high_label >= 0 ? p->prob[m->high_label] : 0.0;
	out->probability += out->high_probability;
	out->ntokens = p->ntokens;
	if (want_terms)
		haven__crisis_model_terms(m, text, len, out);
}

enum haven_risk_level haven__crisis_model_level(const struct haven__crisis_model *m,
						const struct haven__crisis_model_out *o,
						size_t ntokens)
{
	(void)m;
	if (o->probability >= HIGH_P && ntokens >= MIN_TOKENS_HIGH)
		return HAVEN_RISK_HIGH;
	if (o->probability >= MODERATE_P && ntokens >= MIN_TOKENS_MODERATE)
		return HAVEN_RISK_MODERATE;
	if (o->probability + o->distress_probability >= LOW_P && ntokens >= 3)
		return HAVEN_RISK_LOW;
	return HAVEN_RISK_NONE;
}
