/*
 * nlp_int.h: private to src/nlp: the model structure, the unserialised "draft" that
 * training fills and the file writer turns into bytes, workspaces and small helpers.
 */
#ifndef HAVEN_NLP_INT_H
#define HAVEN_NLP_INT_H

#include "nlp/nlp.h"

#define HAVEN__MODEL_MAGIC "HVNMODEL"
#define HAVEN__MODEL_VERSION 1u
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

struct haven_nlp_ws {
	struct haven_tokens tok;
	struct haven_features feat;
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
