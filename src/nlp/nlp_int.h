/*
 * nlp_int.h: private to src/nlp: the model structure, the unserialised "draft" that
 * training fills and the file writer turns into bytes, workspaces and small helpers.
 */
#ifndef HAVEN_NLP_INT_H
#define HAVEN_NLP_INT_H

#include "nlp/nlp.h"

#define HAVEN__MODEL_MAGIC "HVNMODEL"
#define HAVEN__MODEL_VERSION 2u
#define HAVEN__MODEL_HEADER 32u

/* Section tags of the model file (see model.c for the layout). */
enum haven__tag {
	HAVEN__TAG_META = 1,
	HAVEN__TAG_CONFIG = 2,
	HAVEN__TAG_LABELS = 3,
	HAVEN__TAG_THRESHOLDS = 4,
	HAVEN__TAG_IDF = 5,
	HAVEN__TAG_LINEAR_W = 6,
	HAVEN__TAG_LINEAR_B = 7,
	HAVEN__TAG_BAG_EMB = 8,
	HAVEN__TAG_BAG_OUT = 9,
	HAVEN__TAG_BAG_B = 10,
};

/* Everything a model holds, in plain arrays (training output, writer input). The draft
 * does not own the strings in info; it owns nothing but what haven__draft_release frees. */
struct haven__draft {
	struct haven_model_info info;
	char **labels;      /* nlabels, borrowed */
	float *thresholds;  /* nlabels */
	float *idf;         /* buckets, or NULL */
	float *lw, *lb;     /* linear: buckets x nlabels, nlabels */
	float *emb;         /* bag: buckets x dim */
	float *out, *ob;    /* bag: nlabels x dim, nlabels */
};
void haven__draft_release(struct haven__draft *d);

/* Serialises a draft into a complete model file image (malloc'd, caller frees). */
int haven__draft_serialize(const struct haven__draft *d, unsigned char **out, size_t *len);

struct haven_model {
	struct haven_model_info info;
	char *strings;  /* owned copies of metadata strings and labels */
	char **labels;
	const float *thresholds, *idf, *lw, *lb, *emb, *out, *ob;
	const unsigned char *bytes; /* the whole file image */
	size_t len;
	void *map;      /* mmap'd region, or NULL */
	void *copy;     /* malloc'd copy, or NULL */
};

/* What a feature string is made of, which decides whether a model's options include it. */
enum haven__occ_kind {
	HAVEN__OCC_WORD = 0,   /* "w:word", "w:NEG_word" */
	HAVEN__OCC_PAIR = 1,   /* "b:first|second" (word_ngrams >= 2) */
	HAVEN__OCC_TRIPLE = 2, /* "t:a|b|c" (word_ngrams >= 3) */
	HAVEN__OCC_CHAR = 3,   /* "c:<wo" (char n-grams with a weight above 0) */
	HAVEN__OCC_FLAG = 4,   /* "f:<elong>", "f:<caps>" */
};

/* One occurrence of a feature string in a text, before it is given a bucket. */
struct haven__occ {
	uint32_t hash; /* haven_feature_hash of the string */
	uint32_t name; /* offset into the names of the struct haven_features, or UINT32_MAX */
	uint32_t kind; /* enum haven__occ_kind */
};

/* The feature strings of one token list, hashed but not yet put in buckets: everything of
 * feature extraction that does not depend on a model's bucket count, idf or weights, so
 * several models with the same tokenizer and n-gram options share it. Occurrences are in
 * the order haven_features_extract makes them. */
struct haven__hashed {
	struct haven__occ *v;
	size_t n, cap;
	uint32_t *word_at; /* per token: the index in v of its unigram */
	uint32_t *pair_at; /* per token: its bigram with the previous token, or UINT32_MAX */
	size_t tok_cap;
	uint8_t word_ngrams; /* the options it was made with */
	uint8_t char_minn, char_maxn; /* 0/0: no character n-grams */
};
void haven__hashed_release(struct haven__hashed *h);

/* Hashes the features of t under o (names kept in f->names when keep_names). */
int haven__hash_features(const struct haven_text_opts *o, const struct haven_tokens *t,
			 int keep_names, struct haven_features *names, struct haven__hashed *h);
/* Whether haven__features_from_hashed can make o's features from h. */
int haven__hashed_fits(const struct haven__hashed *h, const struct haven_text_opts *o);
/* The features of o from occurrences hashed with fitting options: exactly what
 * haven_features_extract gives. feature_of (h->n entries, may be NULL) receives the index
 * in f of each occurrence's feature, or UINT32_MAX for one o leaves out. warm (may be
 * NULL): a table of rows of warm_len floats per bucket that is read next (a linear
 * model's weights); the features' rows are prefetched while the text is aggregated. */
int haven__features_from_hashed(const struct haven_text_opts *o, const struct haven__hashed *h,
				const float *idf, int keep_names, struct haven_features *f,
				uint32_t *feature_of, const float *warm,
				size_t warm_len) HAVEN_WUR;

/* One text tokenized and hashed once for several models (haven analyze runs six per
 * message). haven__text_reset starts a new text; the first model that asks prepares it,
 * with the preferred options when the model's fit them, else with the model's own. A
 * model whose options do not fit what was prepared makes its own features, as before. */
struct haven__text {
	struct haven_text_opts preferred;
	int has_preferred;
	const char *s; /* the current text */
	size_t len;
	int prepared;
	int failed; /* out of memory while preparing */
	struct haven_text_opts opts;
	struct haven_tokens tok;
	struct haven__hashed hashed;
};
void haven__text_init(struct haven__text *x, const struct haven_text_opts *preferred);
void haven__text_release(struct haven__text *x);
void haven__text_reset(struct haven__text *x, const char *s, size_t len);
/* The prepared tokens and occurrences for a model with options o reading (s, len), or NULL
 * when they cannot serve it (another text, options that do not fit, out of memory). */
const struct haven__text *haven__text_get(struct haven__text *x, const struct haven_text_opts *o,
					  const char *s, size_t len);

struct haven_nlp_ws {
	struct haven_tokens tok;
	struct haven_features feat;
	struct haven__hashed hashed; /* the occurrences behind feat (fast explanations) */
	uint32_t *feature_of;        /* occurrence -> feature of feat */
	size_t feature_of_cap;
	const struct haven_tokens *last_tok;      /* what the last prediction read: ws's own */
	const struct haven__hashed *last_hashed;  /* or a shared text's */
	size_t cap_labels, cap_dim;
	float *score, *prob, *score_bag, *prob_bag, *hidden, *grad;
	unsigned char *pred;
	struct haven_contribution *contrib, *top;
	size_t contrib_cap;
};

/* Ensures the workspace arrays hold nlabels and dim entries. */
int haven__ws_reserve(struct haven_nlp_ws *ws, size_t nlabels, size_t dim);

/* Raw scores of each part from features. */
void haven__linear_scores(const float *w, const float *b, size_t nlabels,
			  const struct haven_features *f, float *score);
/* Embedding bag: hidden = weighted mean of embeddings; score = out * hidden + ob. */
void haven__bag_scores(const float *emb, const float *out, const float *ob, size_t nlabels,
		       size_t dim, const struct haven_features *f, float *hidden, float *score);
/* Calibrated probabilities from scores (temperature T) for the output kind. */
void haven__probs(enum haven_output output, const float *score, size_t nlabels, float t,
		  float *prob);
/* Decision from probabilities and thresholds; returns the number of predicted labels. */
size_t haven__decide(enum haven_output output, int at_least_one, const float *prob,
		     const float *thresholds, size_t nlabels, unsigned char *pred, size_t *top);

uint64_t haven__fnv1a64(const void *p, size_t n);
uint64_t haven__fnv1a64_update(uint64_t h, const void *p, size_t n);

/* Deterministic PRNG (splitmix64). */
static inline uint64_t haven__rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}
static inline double haven__rng_uniform(uint64_t *s)
{
	return (double)(haven__rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
