/*
 * nlp.h: Haven's text-understanding engine: a chat-text tokenizer, hashed n-gram features,
 * linear (logistic regression) and embedding-bag classifiers trained in C, calibrated
 * probabilities with per-label thresholds, exact explanations, a checksummed model file
 * format, dataset readers and evaluation metrics.
 *
 * A worked example (error handling elided):
 *
 *   struct haven_model *m;
 *   haven_model_load("models/emotion.hvm", &m);           // mmap, checksum verified
 *   struct haven_nlp_ws *ws;
 *   haven_nlp_ws_create(&ws);                              // scratch, one per thread
 *   struct haven_prediction p;
 *   haven_model_predict(m, ws, text, strlen(text), &p);    // p points into ws
 *   for (size_t i = 0; i < p.nlabels; i++)
 *           if (p.predicted[i]) printf("%s %.3f\n", haven_model_label(m, i), p.prob[i]);
 *   struct haven_explanation e;
 *   haven_model_explain(m, ws, text, strlen(text), label, 5, &e); // e points into ws
 *   haven_nlp_ws_destroy(&ws);
 *   haven_model_destroy(&m);
 *
 * Ownership, once for the whole module:
 * - Objects from *_create / haven_model_load* / haven_model_train / haven_dataset_read are
 *   freed with the matching *_destroy, which accepts a pointer to NULL and sets it to NULL.
 * - Results that point into a workspace (tokens, features, predictions, explanations) stay
 *   valid until the next call that uses the same workspace; never free them.
 * - A loaded model is immutable and may be shared by any number of threads, each with its
 *   own workspace.
 * Text input is bytes plus a length; invalid UTF-8 is replaced by U+FFFD, never rejected.
 * Inputs longer than HAVEN_NLP_MAX_TEXT bytes are truncated (the prediction says so).
 */
#ifndef HAVEN_NLP_H
#define HAVEN_NLP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

#define HAVEN_NLP_MAX_TEXT (16 * 1024) /* bytes of one text that are analysed */

/* ------------------------------------------------------------------------------------- */
/* Tokenizer and features                                                                 */
/* ------------------------------------------------------------------------------------- */

/* Token flags. */
enum haven_tok_flag {
	HAVEN_TOK_WORD = 1u << 0,     /* letters/digits/apostrophes */
	HAVEN_TOK_NUM = 1u << 1,      /* a number, normalised to "<num>" */
	HAVEN_TOK_PUNCT = 1u << 2,    /* one punctuation mark (runs collapse: "!!!" -> "!") */
	HAVEN_TOK_EMOJI = 1u << 3,    /* one emoji code point (skin tones/ZWJ/VS16 dropped) */
	HAVEN_TOK_EMOTICON = 1u << 4, /* an ASCII emoticon, e.g. ":)" ":-(" "<3" ":'(" */
	HAVEN_TOK_NEG = 1u << 5,      /* inside a negation scope ("not happy" -> happy is NEG) */
	HAVEN_TOK_ELONG = 1u << 6,    /* was elongated: "soooo" -> "soo" */
	HAVEN_TOK_CAPS = 1u << 7,     /* was written in capitals (>= 2 letters, all upper) */
	HAVEN_TOK_NEGATOR = 1u << 8,  /* the negation cue itself ("not", "never", "no", ...) */
	HAVEN_TOK_EXPANDED = 1u << 9, /* produced by expanding a contraction ("can't" -> can not) */
};

/* Tokenizer settings; stored in every model file so prediction tokenizes as training did.
 * haven_text_opts_default() gives the recommended values. */
struct haven_text_opts {
	uint32_t buckets;     /* hash buckets for all features (power of two not required) */
	uint8_t word_ngrams;  /* 1 = unigrams, 2 = uni+bigrams, 3 = up to trigrams */
	uint8_t char_minn;    /* character n-grams of "<word>", minn..maxn code points; */
	uint8_t char_maxn;    /*   0/0 disables them */
	uint8_t lowercase;    /* case folding (ASCII and Latin-1/Latin Extended-A letters) */
	uint8_t contractions; /* "can't" -> "can not", "i'm" -> "i am", "dont" -> "do not" */
	uint8_t negation;     /* mark negation scope as NEG_ features */
	uint8_t scaling;      /* enum haven_scaling */
	uint8_t use_idf;      /* multiply by inverse document frequency learned at training */
	float char_weight;    /* weight of char n-gram features relative to word features */
};

enum haven_scaling {
	HAVEN_SCALING_BINARY = 0, /* 1 per present feature */
	HAVEN_SCALING_COUNT = 1,  /* raw counts */
	HAVEN_SCALING_LOG = 2,    /* 1 + log(count) */
};

void haven_text_opts_default(struct haven_text_opts *o);

struct haven_token {
	const char *text; /* folded, NUL-terminated, points into the token list's storage */
	uint32_t len;
	uint32_t flags;   /* enum haven_tok_flag */
	uint32_t start;   /* byte offset and length of the source span in the input */
	uint32_t src_len;
};

/* A reusable token list: haven_tokens_init, then any number of haven_tokenize calls,
 * then haven_tokens_release. */
struct haven_tokens {
	struct haven_token *v;
	size_t n, cap;
	char *store; /* token text storage */
	size_t store_len, store_cap;
	int truncated; /* the input exceeded HAVEN_NLP_MAX_TEXT */
	int replaced;  /* the input held invalid UTF-8 (replaced by U+FFFD) */
};
void haven_tokens_init(struct haven_tokens *t);
void haven_tokens_release(struct haven_tokens *t);

/* Splits text into tokens (replacing the list's previous contents). Only HAVEN_ENOMEM can
 * fail; any byte string is accepted. */
int haven_tokenize(const struct haven_text_opts *o, const char *text, size_t n,
		   struct haven_tokens *out) HAVEN_WUR;

/* One hashed feature of a text: bucket index and value after scaling, idf and L2
 * normalisation. With names kept, name is a readable form ("w:happy", "w:NEG_happy",
 * "b:not|happy", "c:<hap", "f:<elong>"); several strings may share a bucket (hash
 * collisions), in which case name is the first one seen in this text. */
struct haven_feature {
	uint32_t index;
	float value;
	const char *name; /* NULL unless names were requested */
};

struct haven_features {
	struct haven_feature *v;
	size_t n, cap;
	char *names; /* storage for names */
	size_t names_len, names_cap;
	/* scratch for extraction */
	void *scratch;
	size_t scratch_cap;
};
void haven_features_init(struct haven_features *f);
void haven_features_release(struct haven_features *f);

/* Hash of a feature string (FNV-1a 32-bit), as used for buckets: index = hash % buckets. */
uint32_t haven_feature_hash(const char *s, size_t n);

/* Turns tokens into de-duplicated (one entry per bucket, in order of first occurrence),
 * scaled and L2-normalised features. f->cap counts bytes of f->v's allocation.
 * idf may be NULL (then 1 for every bucket). keep_names keeps readable names. */
int haven_features_extract(const struct haven_text_opts *o, const struct haven_tokens *t,
			   const float *idf, int keep_names, struct haven_features *out) HAVEN_WUR;

/* ------------------------------------------------------------------------------------- */
/* Models                                                                                 */
/* ------------------------------------------------------------------------------------- */

enum haven_model_kind {
	HAVEN_MODEL_LINEAR = 1,        /* logistic regression over hashed features */
	HAVEN_MODEL_EMBEDDING_BAG = 2, /* averaged hashed-feature embeddings + linear output */
	HAVEN_MODEL_ENSEMBLE = 3,      /* both, probabilities mixed with weight `mix` */
};

enum haven_output {
	HAVEN_OUTPUT_SOFTMAX = 1, /* single-label: one label per text (multinomial) */
	HAVEN_OUTPUT_SIGMOID = 2, /* one-vs-rest / multi-label: independent sigmoids */
};

/* Model metadata, owned by the model. Strings are never NULL (maybe ""). */
struct haven_model_info {
	const char *name;        /* "emotion" */
	const char *version;     /* "1.0.0" */
	const char *task;        /* "emotion (GoEmotions 28 labels, multi-label)" */
	const char *data;        /* training data description */
	const char *license;     /* data licence */
	const char *created_by;  /* command line that produced the file */
	enum haven_model_kind kind;
	enum haven_output output;
	int multi_label;          /* several labels may be predicted */
	int at_least_one;         /* multi-label: predict the top label when none passes */
	size_t nlabels;
	uint32_t buckets;
	uint32_t dim;             /* embedding dimension (embedding bag), else 0 */
	float mix;                /* ensemble: weight of the linear model's probability */
	float temperature_linear; /* calibration temperatures (1 = none) */
	float temperature_bag;
	struct haven_text_opts text;
};

struct haven_model;

/* Flags for haven_model_load_mem. */
enum haven_load_flag {
	HAVEN_LOAD_COPY = 1u << 0,        /* copy the bytes (else they must outlive the model) */
	HAVEN_LOAD_NO_CHECKSUM = 1u << 1, /* skip checksum verification (fuzzing only) */
};

/* Loads a model file by mmap. Errors: HAVEN_ENOTFOUND, HAVEN_EIO, HAVEN_ECORRUPT (bad
 * magic, version, checksum, truncation or inconsistent sizes; err gets the reason). err may
 * be NULL; errlen is its size. */
int haven_model_load(const char *path, struct haven_model **out, char *err,
		     size_t errlen) HAVEN_WUR;
/* Loads a model from memory (see enum haven_load_flag). */
int haven_model_load_mem(const void *data, size_t n, unsigned flags, struct haven_model **out,
			 char *err, size_t errlen) HAVEN_WUR;
void haven_model_destroy(struct haven_model **m);

/* Writes the model file (written to PATH.tmp, then renamed). Deterministic: the same model
 * gives the same bytes. */
int haven_model_save(const struct haven_model *m, const char *path) HAVEN_WUR;

const struct haven_model_info *haven_model_info(const struct haven_model *m);
const char *haven_model_label(const struct haven_model *m, size_t i);
/* Index of a label by name, or -1. */
long haven_model_label_index(const struct haven_model *m, const char *name);
/* Decision threshold of label i on the calibrated probability. */
float haven_model_threshold(const struct haven_model *m, size_t i);

/* Per-thread scratch for prediction and explanation. */
struct haven_nlp_ws;
int haven_nlp_ws_create(struct haven_nlp_ws **out) HAVEN_WUR;
void haven_nlp_ws_destroy(struct haven_nlp_ws **ws);
/* The tokens of the last text the workspace analysed (for lexicon rules). */
const struct haven_tokens *haven_nlp_ws_tokens(const struct haven_nlp_ws *ws);

/* A prediction; arrays have nlabels entries and point into the workspace. */
struct haven_prediction {
	size_t nlabels;
	const float *score;             /* raw score (logit) of each label, before calibration */
	const float *prob;              /* calibrated probability of each label */
	const unsigned char *predicted; /* 1 for each predicted label */
	size_t top;                     /* label with the highest probability */
	size_t npredicted;
	int truncated;                  /* the text was longer than HAVEN_NLP_MAX_TEXT */
	int replaced;                   /* invalid UTF-8 was replaced */
	size_t ntokens;
};

int haven_model_predict(const struct haven_model *m, struct haven_nlp_ws *ws, const char *text,
			size_t n, struct haven_prediction *out) HAVEN_WUR;

/* Predicts from features already extracted with the model's text options and idf (see
 * haven_model_features). Used by training and evaluation loops. */
int haven_model_predict_features(const struct haven_model *m, struct haven_nlp_ws *ws,
				 const struct haven_features *f,
				 struct haven_prediction *out) HAVEN_WUR;

/* Tokenizes and extracts features exactly as prediction does (names kept when asked). */
int haven_model_features(const struct haven_model *m, struct haven_nlp_ws *ws,
			 const char *text, size_t n, int keep_names,
			 const struct haven_features **out) HAVEN_WUR;

/* Predicts from tokens already made by haven_tokenize with the model's text options
 * (haven_model_info(m)->text; the shipped models share all but the bucket count, which does
 * not affect tokens), so several models can analyse one text with one tokenization.
 * t must not be the workspace's own token list (use a separate struct haven_tokens). */
int haven_model_predict_tokens(const struct haven_model *m, struct haven_nlp_ws *ws,
			       const struct haven_tokens *t,
			       struct haven_prediction *out) HAVEN_WUR;

/* One feature's contribution to a label's raw score. */
struct haven_contribution {
	const char *name;   /* readable feature ("w:hopeless", "b:no|point", "c:<hop") */
	float value;        /* feature value after scaling and normalisation */
	float weight;       /* weight for the label (linear) or effective weight (bag) */
	float contribution; /* exact additive share of the score */
};

/* An explanation of one label's score: score == bias + sum of every contribution (exact
 * for both model kinds: the embedding bag's score is linear in its averaged inputs). For an
 * ensemble it explains the linear part (score_linear). Top-k by |contribution|. */
struct haven_explanation {
	size_t label;
	float score;      /* raw score of the explained part */
	float bias;
	float prob;       /* calibrated probability (whole model) */
	size_t nall;      /* number of features with a contribution */
	size_t n;         /* entries in top (<= k) */
	const struct haven_contribution *top; /* sorted by |contribution|, descending */
	const struct haven_contribution *all; /* every feature, in feature order (nall) */
};

int haven_model_explain(const struct haven_model *m, struct haven_nlp_ws *ws, const char *text,
			size_t n, size_t label, size_t k,
			struct haven_explanation *out) HAVEN_WUR;

/* ------------------------------------------------------------------------------------- */
/* Datasets                                                                               */
/* ------------------------------------------------------------------------------------- */

/* One labelled example. labels are indices into the dataset's label names. */
struct haven_example {
	char *text;
	char *group;       /* grouping key for splits (may be NULL) */
	uint32_t *labels;
	uint32_t nlabels;
	float weight;      /* training weight, finite and >= 0 (1 unless read from a weight
			      column); training leaves out examples of weight 0, and dev data
			      and evaluation ignore it */
	uint8_t extra;     /* 1: a training-only example added from another column of a row
			      (extra_text_col, extra_label_col); a split keeps it with its row
			      on the training side and drops it from dev, and training never
			      scores dev data with it */
};

struct haven_dataset {
	struct haven_example *ex;
	size_t n, cap;
	char **label_names;
	size_t nlabel_names, label_cap;
	size_t skipped; /* rows without text or label */
};

enum haven_format { HAVEN_FORMAT_AUTO = 0, HAVEN_FORMAT_CSV = 1, HAVEN_FORMAT_TSV = 2 };

/* How to read a delimited file. Columns are a header name or a 1-based number ("3"). */
struct haven_read_opts {
	enum haven_format format; /* AUTO: ".tsv"/".txt" -> TSV, else CSV */
	int header;               /* first row is a header (default 1) */
	const char *text_cols;    /* comma-separated; several columns are joined with "\n" */
	const char *label_col;
	const char *group_col;    /* may be NULL */
	const char *label_sep;    /* multi-label separator inside the label field, or NULL */
	const char *label_names;  /* file with one label name per line; labels in the data are
				     0-based indices into it (GoEmotions) */
	const char *skip_labels;  /* comma-separated label values whose rows are dropped */
	const char *label_map;    /* "FROM=TO;FROM=TO;*=TO": renames labels after reading
				     (and after label-names lookup); "*" matches any other */
	/* Training-only additions (haven train reads dev data without them). */
	const char *weight_col;   /* per-row training weight: a number >= 0 (e.g. annotator
				     agreement); a non-numeric, negative or empty value is an
				     error naming the row and column */
	double min_weight;        /* rows whose weight column is below this get weight 0 (left
				     out of training, kept for dev); 0: none */
	double weight_power;      /* the weight is the column's value to this power (default 1;
				     2 stresses agreement: 0.6 -> 0.36, 0.8 -> 0.64, 1 -> 1) */
	const char *extra_text_col; /* a second text per row (e.g. the span that carries the
				     label): when not empty, an extra example with this text and
				     the row's labels */
	const char *extra_label_col; /* a second label per row (e.g. a secondary annotation):
				     when not empty, an extra example with the row's text and this
				     label (through label_names and label_map like the label) */
	double extra_weight;      /* weight of the extra examples relative to their row's
				     (default 1) */
	int extra_text_crop;      /* with extra_text_col: a row whose extra text is empty gets
				     two consecutive sentences of its own text instead (where
				     they start: FNV-1a-64 of the text modulo its number of
				     sentences), so that short extra texts exist for every label
				     and their length does not tell the labels apart */
	/* When set, the dataset uses these label names in this order (a model's labels);
	   rows with other labels are an error. */
	char *const *fixed_labels;
	size_t nfixed_labels;
};
void haven_read_opts_default(struct haven_read_opts *o);

/* Reads a CSV (RFC 4180: quoted fields with "" escapes and newlines) or TSV file.
 * Errors carry the file, line and reason in err. */
int haven_dataset_read(const char *path, const struct haven_read_opts *o,
		       struct haven_dataset **out, char *err, size_t errlen) HAVEN_WUR;
void haven_dataset_destroy(struct haven_dataset **d);
/* Adds an example of weight 1 (copies text, group and labels by name; new names are
 * appended). */
int haven_dataset_add(struct haven_dataset *d, const char *text, const char *group,
		      const char *const *labels, size_t nlabels) HAVEN_WUR;
int haven_dataset_create(struct haven_dataset **out) HAVEN_WUR;

/* Splits deterministically: an example goes to dev when FNV-1a-64(seed, group key) maps
 * below frac, where the key is the group (or, without one, the text). Every example of a
 * group lands on the same side. Extra examples carry their row's key as group (the row's
 * group, or its text), so they follow their row; those that would land in dev are
 * dropped. Both outputs share label names with d. */
int haven_dataset_split(const struct haven_dataset *d, double frac, uint64_t seed,
			struct haven_dataset **train, struct haven_dataset **dev) HAVEN_WUR;

/* ------------------------------------------------------------------------------------- */
/* Training                                                                               */
/* ------------------------------------------------------------------------------------- */

enum haven_reg { HAVEN_REG_L2 = 2, HAVEN_REG_L1 = 1 };
enum haven_threshold_goal {
	HAVEN_THRESHOLD_NONE = 0,     /* 0.5 (sigmoid) or argmax (softmax) */
	HAVEN_THRESHOLD_F1 = 1,       /* per label, maximise F1 on dev */
	HAVEN_THRESHOLD_BALANCED = 2, /* binary: maximise balanced accuracy on dev */
	HAVEN_THRESHOLD_RECALL = 3,   /* per label: highest threshold reaching target_recall */
};

struct haven_train_opts {
	enum haven_model_kind kind;
	enum haven_output output;   /* 0: SIGMOID when any example has >1 label, else SOFTMAX */
	struct haven_text_opts text;
	/* linear model */
	enum haven_reg reg;
	double c;                   /* inverse regularisation strength, as LIBLINEAR's -c */
	int linear_epochs;
	double linear_lr;
	/* embedding bag */
	uint32_t dim;
	int bag_epochs;
	double bag_lr;
	/* both */
	int class_weight;           /* 1: weights inversely proportional to label frequency */
	uint64_t seed;
	int threads;                /* worker threads (>= 1) */
	int calibrate;              /* fit temperatures on dev (needs dev) */
	enum haven_threshold_goal threshold;
	double target_recall;
	double mix;                 /* ensemble: weight of the linear model (<0: tune on dev) */
	int at_least_one;           /* multi-label: predict top label when none passes (-1:
				       decide on dev) */
	/* NB-weighted features (Wang & Manning 2012, "NBSVM"), two-label softmax linear models
	   only: nb_alpha > 0 scales each feature by its log-count ratio
	   r = log((p/|p|1) / (q/|q|1)), p = nb_alpha + number of training rows of the second
	   (positive) label containing the feature, q likewise for the first label; the model is
	   trained on x * r and r is folded into the stored weights, so the file format and
	   inference are unchanged. nb_beta in (0, 1] interpolates the margin weights towards
	   their mean magnitude, w' = (1 - beta) mean|w| + beta w (1: none). 0: off. */
	double nb_alpha;
	double nb_beta;
	/* Label smoothing (Szegedy et al. 2016) in [0, 1): a softmax trains towards 1 - eps +
	   eps/L for the gold label and eps/L for the others; sigmoids towards 1 - eps/2 and
	   eps/2. 0: off. */
	double label_smoothing;
	/* metadata written into the file */
	const char *name, *version, *task, *data, *license, *created_by;
	FILE *log;                  /* progress lines, or NULL */
};
void haven_train_opts_default(struct haven_train_opts *o);

/* Trains a model. dev may be NULL (then no calibration, thresholds 0.5/argmax).
 * Training examples count with their weight (relative: scaled to mean 1; weight 0 leaves
 * an example out; a negative or non-finite weight is an error naming the example); dev
 * examples count unweighted, and extra examples in dev are skipped.
 * Deterministic: the same data, options, seed and thread count give the same file. */
int haven_model_train(const struct haven_dataset *train, const struct haven_dataset *dev,
		      const struct haven_train_opts *o, struct haven_model **out, char *err,
		      size_t errlen) HAVEN_WUR;

/* ------------------------------------------------------------------------------------- */
/* Metrics                                                                                */
/* ------------------------------------------------------------------------------------- */

struct haven_label_metrics {
	size_t tp, fp, fn, tn, support;
	double precision, recall, f1;
	double auroc; /* per label, from probabilities (NAN when undefined) */
};

struct haven_metrics {
	size_t n, nlabels;
	int multi_label;
	double accuracy;          /* subset accuracy for multi-label */
	double macro_f1, micro_f1, macro_precision, macro_recall;
	double balanced_accuracy; /* mean per-label recall (single-label); binary: (TPR+TNR)/2 */
	double auroc;             /* binary tasks: AUROC of the positive (second) label; else
				     macro mean of per-label AUROC */
	struct haven_label_metrics *label; /* nlabels */
	size_t *confusion;        /* single-label: nlabels x nlabels, [gold][pred] */
};

/* Accumulates gold/predicted label sets and probabilities; then computes metrics. */
struct haven_metrics_acc;
int haven_metrics_acc_create(size_t nlabels, int multi_label,
			     struct haven_metrics_acc **out) HAVEN_WUR;
void haven_metrics_acc_destroy(struct haven_metrics_acc **a);
/* gold and pred are 0/1 arrays of nlabels; prob may be NULL. */
int haven_metrics_acc_add(struct haven_metrics_acc *a, const unsigned char *gold,
			  const unsigned char *pred, const float *prob) HAVEN_WUR;
int haven_metrics_compute(const struct haven_metrics_acc *a, struct haven_metrics *out) HAVEN_WUR;
void haven_metrics_release(struct haven_metrics *m);

/* Evaluates a model on a dataset whose labels were read with the model's label names. */
int haven_model_evaluate(const struct haven_model *m, const struct haven_dataset *d,
			 struct haven_metrics *out) HAVEN_WUR;

#endif
