/* explain_fast.c: prediction plus its top word features from one unnamed feature
 * extraction (see explain_fast.h): the extraction records which feature each token's word
 * and word pair went to, so explaining a label is one weight per token. */
#include <stdlib.h>
#include <string.h>

#include "nlp/explain_fast.h"
#include "nlp/nlp_int.h"

/* A candidate term: its name is made only for the k kept at the end. */
struct candidate {
	float contribution;
	uint32_t index; /* feature bucket */
	uint32_t tok;   /* the token (a pair: its second token) */
	int pair;
};

/* Keeps the k strongest positive contributions, largest first, one entry per feature. */
static void keep_top(struct candidate *top, size_t *n, size_t k, uint32_t index,
		     float contribution, uint32_t tok, int pair)
{
	for (size_t i = 0; i < *n; i++)
		if (top[i].index == index)
			return; /* the same word twice */
	size_t j = *n < k ? (*n)++ : k;
	if (j == k) {
		if (contribution <= top[k - 1].contribution)
			return;
		j = k - 1;
	}
	while (j > 0 && top[j - 1].contribution < contribution) {
		top[j] = top[j - 1];
		j--;
	}
	top[j] = (struct candidate){contribution, index, tok, pair};
}

/* Appends s to a term's name, as much as fits. */
static void name_add(char *d, size_t *o, size_t cap, const char *s, size_t n)
{
	size_t room = cap - 1 - *o;
	if (n > room)
		n = room;
	memcpy(d + *o, s, n);
	*o += n;
}

/* The feature a token's occurrence went to, or NULL when the model left it out. An
 * occurrence of more than 639 bytes is left out too, as it always has been here. */
static const struct haven_feature *occ_feature(const struct haven_features *f,
					       const uint32_t *feature_of, uint32_t occ,
					       size_t bytes)
{
	if (occ == UINT32_MAX || bytes >= 640 || feature_of[occ] == UINT32_MAX)
		return NULL;
	return &f->v[feature_of[occ]];
}

/* The weight of bucket index for label lab. */
static float weight(const struct haven_model *m, uint32_t index, size_t nl, size_t lab)
{
	return m->lw[(size_t)index * nl + lab];
}

/* Scores the word and word-pair features of the text for one label. */
static void explain_words(const struct haven_model *m, const struct haven_features *f,
			  const struct haven_tokens *t, const struct haven__hashed *h,
			  const uint32_t *feature_of, size_t lab, size_t k,
			  struct haven__term_weight *top, size_t *ntop)
{
	const struct haven_model_info *in = haven_model_info(m);
	size_t nl = in->nlabels;
	struct candidate best[16];
	size_t nbest = 0;
	if (k > 16)
		k = 16;
	for (size_t i = 0; i < t->n; i++) {
		const struct haven_token *tk = &t->v[i];
		size_t pn = tk->flags & HAVEN_TOK_NEG ? 6 : 2;
		const struct haven_feature *fv =
			occ_feature(f, feature_of, h->word_at[i], pn + tk->len);
		if (fv) {
			float c = fv->value * weight(m, fv->index, nl, lab);
			if (c > 0)
				keep_top(best, &nbest, k, fv->index, c, (uint32_t)i, 0);
		}
		if (i == 0 || h->pair_at[i] == UINT32_MAX)
			continue;
		const struct haven_token *p = &t->v[i - 1];
		fv = occ_feature(f, feature_of, h->pair_at[i], 2 + p->len + 1 + tk->len);
		if (fv) {
			float c = fv->value * weight(m, fv->index, nl, lab);
			if (c > 0)
				keep_top(best, &nbest, k, fv->index, c, (uint32_t)i, 1);
		}
	}
	for (size_t j = 0; j < nbest; j++) {
		const struct haven_token *tk = &t->v[best[j].tok];
		char *d = top[j].name;
		size_t o = 0, cap = sizeof(top[j].name);
		if (best[j].pair) {
			const struct haven_token *p = tk - 1;
			name_add(d, &o, cap, "b:", 2);
			name_add(d, &o, cap, p->text, p->len);
			name_add(d, &o, cap, "|", 1);
		} else if (tk->flags & HAVEN_TOK_NEG) {
			name_add(d, &o, cap, "w:NEG_", 6);
		} else {
			name_add(d, &o, cap, "w:", 2);
		}
		name_add(d, &o, cap, tk->text, tk->len);
		d[o] = '\0';
		top[j].contribution = best[j].contribution;
	}
	*ntop = nbest;
}

int haven__predict_fast(const struct haven_model *m, struct haven_nlp_ws *ws, const char *text,
			size_t len, struct haven__text *shared, struct haven_prediction *p)
{
	const struct haven_model_info *in = haven_model_info(m);
	int rc;
	ws->last_tok = NULL;
	ws->last_hashed = NULL;
	if (in->kind != HAVEN_MODEL_LINEAR)
		return haven_model_predict(m, ws, text, len, p);
	const struct haven_tokens *t;
	const struct haven__hashed *h;
	const struct haven__text *x = haven__text_get(shared, &in->text, text, len);
	if (x) {
		t = &x->tok;
		h = &x->hashed;
	} else {
		if ((rc = haven_tokenize(&in->text, text, len, &ws->tok)) ||
		    (rc = haven__hash_features(&in->text, &ws->tok, 0, NULL, &ws->hashed)))
			return rc;
		t = &ws->tok;
		h = &ws->hashed;
	}
	if (h->n > ws->feature_of_cap) {
		size_t cap = ws->feature_of_cap ? ws->feature_of_cap : 256;
		while (cap < h->n)
			cap *= 2;
		uint32_t *v = realloc(ws->feature_of, cap * sizeof(*v));
		if (!v)
			return HAVEN_ENOMEM;
		ws->feature_of = v;
		ws->feature_of_cap = cap;
	}
	if ((rc = haven__features_from_hashed(&in->text, h, m->idf, 0, &ws->feat, ws->feature_of,
					      m->lw, in->nlabels)))
		return rc;
	if ((rc = haven_model_predict_features(m, ws, &ws->feat, p)))
		return rc;
	p->ntokens = t->n;
	p->truncated = t->truncated;
	p->replaced = t->replaced;
	ws->last_tok = t;
	ws->last_hashed = h;
	return HAVEN_OK;
}

int haven__explain_fast(const struct haven_model *m, struct haven_nlp_ws *ws, const char *text,
			size_t len, struct haven_prediction *p, size_t label, size_t k,
			float min_prob, struct haven__term_weight *top, size_t *ntop)
{
	*ntop = 0;
	HAVEN_ASSERT(k > 0);
	int rc;
	if (p->prob[label] < min_prob)
		return HAVEN_OK;
	if (haven_model_info(m)->kind == HAVEN_MODEL_LINEAR) {
		HAVEN_ASSERT(ws->last_hashed);
		explain_words(m, &ws->feat, ws->last_tok, ws->last_hashed, ws->feature_of, label,
			      k, top, ntop);
		return HAVEN_OK;
	}
	/* Embedding bags and ensembles: the engine's own explanation. */
	struct haven_explanation e;
	if ((rc = haven_model_explain(m, ws, text, len, label, k, &e)))
		return rc;
	for (size_t i = 0; i < e.n && *ntop < k; i++) {
		if (e.top[i].contribution <= 0)
			continue;
		struct haven__term_weight *w = &top[(*ntop)++];
		haven_strlcpy(w->name, e.top[i].name ? e.top[i].name : "?", sizeof(w->name));
		w->contribution = e.top[i].contribution;
	}
	/* e and p share the workspace: predict again so p is this text's. */
	return haven_model_predict(m, ws, text, len, p);
}

int haven__predict_explain(const struct haven_model *m, struct haven_nlp_ws *ws,
			   const char *text, size_t len, struct haven__text *shared, long label,
			   size_t k, float min_prob, struct haven_prediction *p,
			   struct haven__term_weight *top, size_t *ntop, size_t *explained)
{
	*ntop = 0;
	int rc = haven__predict_fast(m, ws, text, len, shared, p);
	if (rc)
		return rc;
	size_t lab = label >= 0 ? (size_t)label : p->top;
	*explained = lab;
	return haven__explain_fast(m, ws, text, len, p, lab, k, min_prob, top, ntop);
}
