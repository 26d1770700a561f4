/* explain_fast.c: prediction plus its top word features from one unnamed feature
 * extraction (see explain_fast.h): the text's words and word pairs are hashed to their
 * buckets as features.c does, looked up among the text's features, and scored. */
#include <string.h>

#include "nlp/explain_fast.h"
#include "nlp/nlp_int.h"

/* Keeps the k strongest positive contributions, largest first, one entry per feature. */
static void keep_top(struct haven__term_weight *top, uint32_t *top_index, size_t *n, size_t k,
		     uint32_t index, float contribution, const char *a, size_t an, const char *b,
		     size_t bn, const char *c, size_t cn)
{
	for (size_t i = 0; i < *n; i++)
		if (top_index[i] == index)
			return; /* the same word twice */
	size_t j = *n < k ? (*n)++ : k;
	if (j == k) {
		if (contribution <= top[k - 1].contribution)
			return;
		j = k - 1;
	}
	while (j > 0 && top[j - 1].contribution < contribution) {
		top[j] = top[j - 1];
		top_index[j] = top_index[j - 1];
		j--;
	}
	size_t o = 0;
	char *d = top[j].name;
	size_t cap = sizeof(top[j].name);
	for (size_t i = 0; i < an && o + 1 < cap; i++)
		d[o++] = a[i];
	for (size_t i = 0; i < bn && o + 1 < cap; i++)
		d[o++] = b[i];
	for (size_t i = 0; i < cn && o + 1 < cap; i++)
		d[o++] = c[i];
	d[o] = '\0';
	top[j].contribution = contribution;
	top_index[j] = index;
}

/* Open-addressing table: feature bucket -> position in f (for a few hundred features). */
struct slot_table {
	uint32_t slot[2048];
	uint32_t mask;
};

static int table_build(struct slot_table *t, const struct haven_features *f)
{
	size_t cap = 64;
	while (cap < 2 * f->n)
		cap *= 2;
	if (cap > sizeof(t->slot) / sizeof(t->slot[0]))
		return -1; /* a long text: fall back to a linear search */
	t->mask = (uint32_t)(cap - 1);
	memset(t->slot, 0xFF, cap * sizeof(uint32_t));
	for (size_t i = 0; i < f->n; i++) {
		uint32_t h = (f->v[i].index * 2654435761u) & t->mask;
		while (t->slot[h] != UINT32_MAX)
			h = (h + 1) & t->mask;
		t->slot[h] = (uint32_t)i;
	}
	return 0;
}

static const struct haven_feature *table_find(const struct slot_table *t, int built,
					       const struct haven_features *f, uint32_t index)
{
	if (!built) {
		for (size_t i = 0; i < f->n; i++)
			if (f->v[i].index == index)
				return &f->v[i];
		return NULL;
	}
	for (uint32_t h = (index * 2654435761u) & t->mask; t->slot[h] != UINT32_MAX;
	     h = (h + 1) & t->mask)
		if (f->v[t->slot[h]].index == index)
			return &f->v[t->slot[h]];
	return NULL;
}

/* The bucket of the feature string a+b+c (FNV-1a over the concatenation, as features.c). */
static uint32_t bucket_of(const char *a, size_t an, const char *b, size_t bn, const char *c,
			  size_t cn, uint32_t buckets)
{
	char s[640];
	if (an + bn + cn >= sizeof(s))
		return UINT32_MAX;
	memcpy(s, a, an);
	memcpy(s + an, b, bn);
	memcpy(s + an + bn, c, cn);
	return haven_feature_hash(s, an + bn + cn) % buckets;
}

/* Scores the word and word-pair features of the text for one label. */
static void explain_words(const struct haven_model *m, const struct haven_features *f,
			  const struct haven_tokens *t, size_t lab, size_t k,
			  struct haven__term_weight *top, size_t *ntop)
{
	const struct haven_model_info *in = haven_model_info(m);
	const struct haven_text_opts *o = &in->text;
	size_t nl = in->nlabels;
	uint32_t top_index[16];
	if (k > 16)
		k = 16;
	static __thread struct slot_table table;
	int built = table_build(&table, f) == 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct haven_token *tk = &t->v[i];
		int neg = (tk->flags & HAVEN_TOK_NEG) != 0;
		const char *pre = neg ? "w:NEG_" : "w:";
		size_t pn = neg ? 6 : 2;
		uint32_t idx = bucket_of(pre, pn, tk->text, tk->len, "", 0, o->buckets);
		const struct haven_feature *fv = idx == UINT32_MAX ? NULL
								    : table_find(&table, built, f, idx);
		if (fv) {
			float c = fv->value * m->lw[(size_t)idx * nl + lab];
			if (c > 0)
				keep_top(top, top_index, ntop, k, idx, c, pre, pn, tk->text, tk->len,
					 "", 0);
		}
		if (o->word_ngrams < 2 || i == 0)
			continue;
		const struct haven_token *p = &t->v[i - 1];
		char mid[300];
		if (p->len + 1 >= sizeof(mid))
			continue;
		memcpy(mid, p->text, p->len);
		mid[p->len] = '|';
		idx = bucket_of("b:", 2, mid, p->len + 1, tk->text, tk->len, o->buckets);
		fv = idx == UINT32_MAX ? NULL : table_find(&table, built, f, idx);
		if (fv) {
			float c = fv->value * m->lw[(size_t)idx * nl + lab];
			if (c > 0)
				keep_top(top, top_index, ntop, k, idx, c, "b:", 2, mid, p->len + 1,
					 tk->text, tk->len);
		}
	}
}

int haven__predict_explain(const struct haven_model *m, struct haven_nlp_ws *ws,
			   const char *text, size_t len, long label, size_t k, float min_prob,
			   struct haven_prediction *p, struct haven__term_weight *top,
			   size_t *ntop, size_t *explained)
{
	*ntop = 0;
	HAVEN_ASSERT(k > 0);
	const struct haven_model_info *in = haven_model_info(m);
	int rc;
	if (in->kind != HAVEN_MODEL_LINEAR) {
		/* Embedding bags and ensembles: the engine's own explanation. */
		if ((rc = haven_model_predict(m, ws, text, len, p)))
			return rc;
		size_t lab = label >= 0 ? (size_t)label : p->top;
		*explained = lab;
		if (p->prob[lab] < min_prob)
			return HAVEN_OK;
		struct haven_explanation e;
		if ((rc = haven_model_explain(m, ws, text, len, lab, k, &e)))
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
	const struct haven_features *f;
	if ((rc = haven_model_features(m, ws, text, len, 0, &f)))
		return rc;
	if ((rc = haven_model_predict_features(m, ws, f, p)))
		return rc;
	const struct haven_tokens *toks = haven_nlp_ws_tokens(ws);
	p->ntokens = toks->n;
	p->truncated = toks->truncated;
	p->replaced = toks->replaced;
	size_t lab = label >= 0 ? (size_t)label : p->top;
	*explained = lab;
	if (p->prob[lab] < min_prob)
		return HAVEN_OK;
	explain_words(m, f, toks, lab, k, top, ntop);
	return HAVEN_OK;
}
