/*
 * features.c: hashed features of a token list (the fastText hashing trick): word unigrams
 * (negation-scoped ones as "NEG_word"), word bigrams/trigrams, character n-grams of
 * "<word>", and flag features. Every feature string hashes (FNV-1a 32) into one of
 * `buckets` indices; counts are scaled (binary, count or 1+log), multiplied by idf and the
 * vector is L2-normalised. Readable names are kept on request for explanations, taken from
 * the strings themselves, never recovered from the hash.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nlp/nlp_int.h"

#define FNV32_INIT 2166136261u
#define FNV32_PRIME 16777619u

static inline uint32_t fnv32(uint32_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= FNV32_PRIME;
	}
	return h;
}

uint32_t haven_feature_hash(const char *s, size_t n)
{
	return fnv32(FNV32_INIT, s, n);
}

struct raw {
	uint32_t index;
	uint32_t seq;
	uint32_t name; /* offset into names, or UINT32_MAX */
	float weight;  /* group weight (char n-grams: char_weight) */
};

void haven_features_init(struct haven_features *f)
{
	memset(f, 0, sizeof(*f));
}

void haven_features_release(struct haven_features *f)
{
	free(f->v);
	free(f->names);
	free(f->scratch);
	memset(f, 0, sizeof(*f));
}

struct builder {
	const struct haven_text_opts *o;
	struct haven_features *f;
	struct raw *raw;
	size_t n, cap;
	int keep_names;
};

static int names_append(struct haven_features *f, const char *s, size_t n, uint32_t *off)
{
	if (f->names_len + n + 1 > f->names_cap) {
		size_t cap = f->names_cap ? f->names_cap : 1024;
		while (cap < f->names_len + n + 1)
			cap *= 2;
		char *p = realloc(f->names, cap);
		if (!p)
			return HAVEN_ENOMEM;
		f->names = p;
		f->names_cap = cap;
	}
	memcpy(f->names + f->names_len, s, n);
	f->names[f->names_len + n] = 0;
	*off = (uint32_t)f->names_len;
	f->names_len += n + 1;
	return 0;
}

/* Adds one occurrence of a feature whose string hashes to h; with names kept, the parts
 * are concatenated to form its readable name. */
static int add_hashed(struct builder *b, uint32_t h, float weight, const char *p1, size_t n1,
		      const char *p2, size_t n2, const char *p3, size_t n3)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct raw *r = realloc(b->raw, cap * sizeof(*r));
		if (!r)
			return HAVEN_ENOMEM;
		b->raw = r;
		b->cap = cap;
		b->f->scratch = r;
		b->f->scratch_cap = cap;
	}
	struct raw *r = &b->raw[b->n];
	r->index = h % b->o->buckets;
	r->seq = (uint32_t)b->n;
	r->weight = weight;
	r->name = UINT32_MAX;
	b->n++;
	if (b->keep_names) {
		char tmp[1100];
		size_t k = 0;
		if (n1 + n2 + n3 < sizeof(tmp)) {
			memcpy(tmp, p1, n1);
			k += n1;
			memcpy(tmp + k, p2, n2);
			k += n2;
			memcpy(tmp + k, p3, n3);
			k += n3;
		}
		if (names_append(b->f, tmp, k, &r->name))
			return HAVEN_ENOMEM;
	}
	return 0;
}

/* Adds one occurrence; parts are concatenated to form the feature string. */
static int add(struct builder *b, float weight, const char *p1, size_t n1, const char *p2,
	       size_t n2, const char *p3, size_t n3)
{
	uint32_t h = fnv32(FNV32_INIT, p1, n1);
	h = fnv32(h, p2, n2);
	h = fnv32(h, p3, n3);
	return add_hashed(b, h, weight, p1, n1, p2, n2, p3, n3);
}

/* Start offsets of the code points of s. */
static size_t cp_offsets(const char *s, size_t n, uint32_t *off, size_t max)
{
	size_t k = 0, i = 0;
	while (i < n && k < max) {
		off[k++] = (uint32_t)i;
		uint32_t c;
		i += haven_utf8_decode(s + i, n - i, &c);
	}
	return k;
}

static int char_ngrams(struct builder *b, const struct haven_token *t)
{
	const struct haven_text_opts *o = b->o;
	char w[300];
	if (t->len + 2 >= sizeof(w) || o->char_minn == 0)
		return 0;
	w[0] = '<';
	memcpy(w + 1, t->text, t->len);
	w[t->len + 1] = '>';
	size_t wl = t->len + 2;
	uint32_t off[301];
	size_t ncp = cp_offsets(w, wl, off, 300);
	off[ncp] = (uint32_t)wl;
	/* n-grams starting at one code point share their hash prefix: extend it */
	const uint32_t h0 = fnv32(FNV32_INIT, "c:", 2);
	for (size_t i = 0; i < ncp; i++) {
		uint32_t h = h0;
		size_t done = off[i];
		for (size_t len = 1; len <= o->char_maxn && i + len <= ncp; len++) {
			size_t e = off[i + len];
			h = fnv32(h, w + done, e - done);
			done = e;
			if (len < o->char_minn || len == ncp)
				continue; /* the whole "<word>" is the unigram already */
			int rc = add_hashed(b, h, o->char_weight, "c:", 2, w + off[i], e - off[i],
					    "", 0);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int haven_features_extract(const struct haven_text_opts *o, const struct haven_tokens *t,
			   const float *idf, int keep_names, struct haven_features *f)
{
	int rc = 0;
	struct builder b = {o, f, f->scratch, 0, f->scratch_cap, keep_names};
	f->n = 0;
	f->names_len = 0;
	int any_elong = 0, any_caps = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct haven_token *k = &t->v[i];
		if (k->flags & HAVEN_TOK_ELONG)
			any_elong = 1;
		if (k->flags & HAVEN_TOK_CAPS)
			any_caps = 1;
		if (k->flags & HAVEN_TOK_NEG)
			rc = add(&b, 1, "w:NEG_", 6, k->text, k->len, "", 0);
		else
			rc = add(&b, 1, "w:", 2, k->text, k->len, "", 0);
		if (rc)
			goto out;
		if (o->word_ngrams >= 2 && i >= 1) {
			const struct haven_token *p = &t->v[i - 1];
			char mid[300];
			if (p->len + 1 < sizeof(mid)) {
				memcpy(mid, p->text, p->len);
				mid[p->len] = '|';
				if ((rc = add(&b, 1, "b:", 2, mid, p->len + 1, k->text, k->len)))
					goto out;
			}
		}
		if (o->word_ngrams >= 3 && i >= 2) {
			const struct haven_token *p = &t->v[i - 1], *q = &t->v[i - 2];
			char mid[600];
			if (p->len + q->len + 2 < sizeof(mid)) {
				memcpy(mid, q->text, q->len);
				mid[q->len] = '|';
				memcpy(mid + q->len + 1, p->text, p->len);
				mid[q->len + 1 + p->len] = '|';
				if ((rc = add(&b, 1, "t:", 2, mid, p->len + q->len + 2, k->text,
					      k->len)))
					goto out;
			}
		}
		if ((k->flags & HAVEN_TOK_WORD) && o->char_minn && o->char_weight > 0)
			if ((rc = char_ngrams(&b, k)))
				goto out;
	}
	if (any_elong && (rc = add(&b, 1, "f:<elong>", 9, "", 0, "", 0)))
		goto out;
	if (any_caps && (rc = add(&b, 1, "f:<caps>", 8, "", 0, "", 0)))
		goto out;
	if (b.n == 0)
		goto out;
	/* aggregate occurrences per bucket with a small open-addressing table (first
	   occurrence order; faster than sorting for the few hundred features of a text) */
	size_t tcap = 64;
	while (tcap < 2 * b.n)
		tcap *= 2;
	size_t need = b.n * sizeof(struct haven_feature) + tcap * sizeof(uint32_t) +
		      b.n * sizeof(float);
	if (f->cap < need) {
		void *v = realloc(f->v, need);
		if (!v) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		f->v = v;
		f->cap = need;
	}
	uint32_t *slot = (uint32_t *)(void *)(f->v + b.n);
	float *count = (float *)(void *)(slot + tcap);
	memset(slot, 0xFF, tcap * sizeof(uint32_t));
	unsigned shift = 0;
	while ((1ull << shift) < tcap)
		shift++;
	for (size_t i = 0; i < b.n; i++) {
		uint32_t idx = b.raw[i].index;
		size_t h = (size_t)((idx * 2654435761u) >> (32 - shift)) & (tcap - 1);
		for (;;) {
			uint32_t s = slot[h];
			if (s == UINT32_MAX) {
				slot[h] = (uint32_t)f->n;
				struct haven_feature *nf = &f->v[f->n];
				nf->index = idx;
				nf->value = b.raw[i].weight;
				nf->name = keep_names ? (const char *)(uintptr_t)b.raw[i].name : NULL;
				count[f->n] = 1;
				f->n++;
				break;
			}
			if (f->v[s].index == idx) {
				count[s] += 1;
				break;
			}
			h = (h + 1) & (tcap - 1);
		}
	}
	double norm = 0;
	for (size_t i = 0; i < f->n; i++) {
		float c = count[i], v;
		switch (o->scaling) {
		case HAVEN_SCALING_BINARY: v = 1; break;
		case HAVEN_SCALING_COUNT: v = c; break;
		default: v = c > 1 ? 1.0f + logf(c) : 1; break;
		}
		v *= f->v[i].value; /* group weight */
		if (idf)
			v *= idf[f->v[i].index];
		f->v[i].value = v;
		norm += (double)v * v;
	}
	if (norm > 0) {
		float inv = (float)(1.0 / sqrt(norm));
		for (size_t i = 0; i < f->n; i++)
			f->v[i].value *= inv;
	}
	if (keep_names)
		for (size_t i = 0; i < f->n; i++)
			f->v[i].name = f->names + (uintptr_t)f->v[i].name;
out:
	if (rc)
		f->n = 0;
	return rc;
}
