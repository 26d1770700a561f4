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

void haven_features_init(struct haven_features *f)
{
	memset(f, 0, sizeof(*f));
}

void haven_features_release(struct haven_features *f)
{
	free(f->v);
	free(f->names);
	if (f->scratch)
		haven__hashed_release(f->scratch);
	free(f->scratch);
	memset(f, 0, sizeof(*f));
}

void haven__hashed_release(struct haven__hashed *h)
{
	free(h->v);
	free(h->word_at);
	free(h->pair_at);
	memset(h, 0, sizeof(*h));
}

struct builder {
	struct haven__hashed *h;
	struct haven_features *names; /* NULL unless names are kept */
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

/* Adds one occurrence of a feature whose string hashes to hash; with names kept, the parts
 * are concatenated to form its readable name. */
static int add_hashed(struct builder *b, uint32_t hash, enum haven__occ_kind kind,
		      const char *p1, size_t n1, const char *p2, size_t n2, const char *p3,
		      size_t n3)
{
	struct haven__hashed *h = b->h;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		struct haven__occ *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return HAVEN_ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	struct haven__occ *r = &h->v[h->n++];
	r->hash = hash;
	r->kind = kind;
	r->name = UINT32_MAX;
	if (b->names) {
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
		if (names_append(b->names, tmp, k, &r->name))
			return HAVEN_ENOMEM;
	}
	return 0;
}

/* Adds one occurrence; parts are concatenated to form the feature string. */
static int add(struct builder *b, enum haven__occ_kind kind, const char *p1, size_t n1,
	       const char *p2, size_t n2, const char *p3, size_t n3)
{
	uint32_t h = fnv32(FNV32_INIT, p1, n1);
	h = fnv32(h, p2, n2);
	h = fnv32(h, p3, n3);
	return add_hashed(b, h, kind, p1, n1, p2, n2, p3, n3);
}

/* Start offsets of the code points of s. */
static size_t cp_offsets(const char *s, size_t n, uint32_t *off, size_t max)
{
	size_t k = 0, i = 0;
	while (i < n && k < max) {
		off[k++] = (uint32_t)i;
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			i++; /* ASCII: what haven_utf8_decode would say, without the call */
			continue;
		}
		uint32_t cp;
		i += haven_utf8_decode(s + i, n - i, &cp);
	}
	return k;
}

static int char_ngrams(struct builder *b, const struct haven_text_opts *o,
		       const struct haven_token *t)
{
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
			int rc = add_hashed(b, h, HAVEN__OCC_CHAR, "c:", 2, w + off[i], e - off[i],
					    "", 0);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int haven__hash_features(const struct haven_text_opts *o, const struct haven_tokens *t,
			 int keep_names, struct haven_features *names, struct haven__hashed *h)
{
	int rc = 0;
	struct builder b = {h, keep_names ? names : NULL};
	int chars = o->char_minn && o->char_weight > 0;
	h->n = 0;
	h->word_ngrams = o->word_ngrams;
	h->char_minn = chars ? o->char_minn : 0;
	h->char_maxn = chars ? o->char_maxn : 0;
	if (keep_names)
		names->names_len = 0;
	if (t->n > h->tok_cap) {
		size_t cap = h->tok_cap ? h->tok_cap : 64;
		while (cap < t->n)
			cap *= 2;
		uint32_t *w = realloc(h->word_at, cap * sizeof(*w));
		if (!w)
			return HAVEN_ENOMEM;
		h->word_at = w;
		uint32_t *p = realloc(h->pair_at, cap * sizeof(*p));
		if (!p)
			return HAVEN_ENOMEM;
		h->pair_at = p;
		h->tok_cap = cap;
	}
	int any_elong = 0, any_caps = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct haven_token *k = &t->v[i];
		if (k->flags & HAVEN_TOK_ELONG)
			any_elong = 1;
		if (k->flags & HAVEN_TOK_CAPS)
			any_caps = 1;
		h->word_at[i] = (uint32_t)h->n;
		h->pair_at[i] = UINT32_MAX;
		if (k->flags & HAVEN_TOK_NEG)
			rc = add(&b, HAVEN__OCC_WORD, "w:NEG_", 6, k->text, k->len, "", 0);
		else
			rc = add(&b, HAVEN__OCC_WORD, "w:", 2, k->text, k->len, "", 0);
		if (rc)
			goto out;
		if (o->word_ngrams >= 2 && i >= 1) {
			const struct haven_token *p = &t->v[i - 1];
			char mid[300];
			if (p->len + 1 < sizeof(mid)) {
				memcpy(mid, p->text, p->len);
				mid[p->len] = '|';
				h->pair_at[i] = (uint32_t)h->n;
				if ((rc = add(&b, HAVEN__OCC_PAIR, "b:", 2, mid, p->len + 1, k->text,
					      k->len)))
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
				if ((rc = add(&b, HAVEN__OCC_TRIPLE, "t:", 2, mid, p->len + q->len + 2,
					      k->text, k->len)))
					goto out;
			}
		}
		if ((k->flags & HAVEN_TOK_WORD) && chars)
			if ((rc = char_ngrams(&b, o, k)))
				goto out;
	}
	if (any_elong && (rc = add(&b, HAVEN__OCC_FLAG, "f:<elong>", 9, "", 0, "", 0)))
		goto out;
	if (any_caps && (rc = add(&b, HAVEN__OCC_FLAG, "f:<caps>", 8, "", 0, "", 0)))
		goto out;
out:
	if (rc)
		h->n = 0;
	return rc;
}

static int uses_chars(const struct haven_text_opts *o)
{
	return o->char_minn && o->char_weight > 0;
}

int haven__hashed_fits(const struct haven__hashed *h, const struct haven_text_opts *o)
{
	if (h->word_ngrams < o->word_ngrams)
		return 0;
	if (!uses_chars(o))
		return 1;
	return h->char_minn == o->char_minn && h->char_maxn == o->char_maxn;
}

int haven__features_from_hashed(const struct haven_text_opts *o, const struct haven__hashed *h,
				const float *idf, int keep_names, struct haven_features *f,
				uint32_t *feature_of, const float *warm, size_t warm_len)
{
	HAVEN_ASSERT(haven__hashed_fits(h, o));
	/* which kinds of occurrence o takes */
	unsigned take = 1u << HAVEN__OCC_WORD | 1u << HAVEN__OCC_FLAG;
	if (o->word_ngrams >= 2)
		take |= 1u << HAVEN__OCC_PAIR;
	if (o->word_ngrams >= 3)
		take |= 1u << HAVEN__OCC_TRIPLE;
	if (uses_chars(o))
		take |= 1u << HAVEN__OCC_CHAR;
	f->n = 0;
	size_t n = h->n;
	if (n == 0)
		return 0;
	/* aggregate occurrences per bucket with a small open-addressing table (first
	   occurrence order; faster than sorting for the few hundred features of a text) */
	size_t tcap = 64;
	while (tcap < 2 * n)
		tcap *= 2;
	size_t need = n * sizeof(struct haven_feature) + tcap * sizeof(uint32_t) +
		      n * sizeof(float);
	if (f->cap < need) {
		void *v = realloc(f->v, need);
		if (!v)
			return HAVEN_ENOMEM;
		f->v = v;
		f->cap = need;
	}
	uint32_t *slot = (uint32_t *)(void *)(f->v + n);
	float *count = (float *)(void *)(slot + tcap);
	memset(slot, 0xFF, tcap * sizeof(uint32_t));
	unsigned shift = 0;
	while ((1ull << shift) < tcap)
		shift++;
	/* hash % buckets without a division per occurrence: a mask for a power of two
	   (every shipped model), else Lemire's exact 32-bit remainder by multiplication */
	const uint32_t buckets = o->buckets;
	const uint32_t mask = (buckets & (buckets - 1)) == 0 ? buckets - 1 : 0;
	const uint64_t magic = mask ? 0 : UINT64_MAX / buckets + 1;
	const float char_weight = o->char_weight;
	for (size_t i = 0; i < n; i++) {
		const struct haven__occ *r = &h->v[i];
		if (!(take & 1u << r->kind)) {
			if (feature_of)
				feature_of[i] = UINT32_MAX;
			continue;
		}
		uint32_t idx = mask ? r->hash & mask
				    : (uint32_t)(((unsigned __int128)(magic * r->hash) * buckets) >> 64);
		size_t hs = (size_t)((idx * 2654435761u) >> (32 - shift)) & (tcap - 1);
		for (;;) {
			uint32_t s = slot[hs];
			if (s == UINT32_MAX) {
				slot[hs] = (uint32_t)f->n;
				struct haven_feature *nf = &f->v[f->n];
				nf->index = idx;
				nf->value = r->kind == HAVEN__OCC_CHAR ? char_weight : 1;
				/* what scaling and scoring read next, fetched while the
				   rest of the text is aggregated */
				if (idf)
					__builtin_prefetch(idf + idx);
				if (warm) {
					const float *row = warm + (size_t)idx * warm_len;
					__builtin_prefetch(row);
					if (warm_len > 16)
						__builtin_prefetch(row + 16);
				}
				nf->name = keep_names ? (const char *)(uintptr_t)r->name : NULL;
				count[f->n] = 1;
				s = (uint32_t)f->n++;
				if (feature_of)
					feature_of[i] = s;
				break;
			}
			if (f->v[s].index == idx) {
				count[s] += 1;
				if (feature_of)
					feature_of[i] = s;
				break;
			}
			hs = (hs + 1) & (tcap - 1);
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
	return 0;
}

int haven_features_extract(const struct haven_text_opts *o, const struct haven_tokens *t,
			   const float *idf, int keep_names, struct haven_features *f)
{
	int rc;
	f->n = 0;
	if (!f->scratch) {
		f->scratch = calloc(1, sizeof(struct haven__hashed));
		if (!f->scratch)
			return HAVEN_ENOMEM;
		f->scratch_cap = sizeof(struct haven__hashed);
	}
	struct haven__hashed *h = f->scratch;
	if ((rc = haven__hash_features(o, t, keep_names, f, h)))
		return rc;
	return haven__features_from_hashed(o, h, idf, keep_names, f, NULL, NULL, 0);
}

/* ------------------------------------------------------------------ shared text */

static int same_tokenizer(const struct haven_text_opts *a, const struct haven_text_opts *b)
{
	return a->lowercase == b->lowercase && a->contractions == b->contractions &&
	       a->negation == b->negation;
}

void haven__text_init(struct haven__text *x, const struct haven_text_opts *preferred)
{
	memset(x, 0, sizeof(*x));
	haven_tokens_init(&x->tok);
	if (preferred) {
		x->preferred = *preferred;
		x->has_preferred = 1;
	}
}

void haven__text_release(struct haven__text *x)
{
	haven_tokens_release(&x->tok);
	haven__hashed_release(&x->hashed);
	memset(x, 0, sizeof(*x));
}

void haven__text_reset(struct haven__text *x, const char *s, size_t len)
{
	x->s = s;
	x->len = len;
	x->prepared = 0;
	x->failed = 0;
}

const struct haven__text *haven__text_get(struct haven__text *x, const struct haven_text_opts *o,
					  const char *s, size_t len)
{
	if (!x || s != x->s || len != x->len || x->failed)
		return NULL;
	if (!x->prepared) {
		const struct haven_text_opts *use = o;
		if (x->has_preferred && same_tokenizer(&x->preferred, o)) {
			struct haven__hashed probe = {0};
			probe.word_ngrams = x->preferred.word_ngrams;
			if (uses_chars(&x->preferred)) {
				probe.char_minn = x->preferred.char_minn;
				probe.char_maxn = x->preferred.char_maxn;
			}
			if (haven__hashed_fits(&probe, o))
				use = &x->preferred;
		}
		if (haven_tokenize(use, s, len, &x->tok) ||
		    haven__hash_features(use, &x->tok, 0, NULL, &x->hashed)) {
			x->failed = 1;
			return NULL;
		}
		x->opts = *use;
		x->prepared = 1;
	}
	if (!same_tokenizer(&x->opts, o) || !haven__hashed_fits(&x->hashed, o))
		return NULL;
	return x;
}
