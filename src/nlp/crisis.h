/*
 * crisis.h: the crisis screen. Every message is assessed here before anything else
 * happens to it (DESIGN.md, "Safety protocol").
 *
 * Two parts:
 *  - a curated lexicon of crisis expressions (content/lexicon/crisis-v1.txt, format in
 *    docs/crisis.md), matched over normalised tokens with a token trie, with rules for
 *    negation, hypotheticals and questions, quotes, reported speech, worry about someone
 *    else and figures of speech. It carries short chat messages.
 *  - an optional classifier (an engine model file, models/crisis.*) that catches long and
 *    indirect posts the lexicon does not name. Without it the screen still works and
 *    says in its result that the model is missing.
 *
 * Ownership: haven_crisis_lexicon_load and haven_crisis_create return heap objects freed
 * with the matching _destroy. haven_crisis_assess fills a caller-owned result struct
 * with fixed-size fields: nothing in it needs freeing, and it keeps no pointer into the
 * text. A struct haven_crisis holds the classifier's scratch space: use one per thread
 * (the lexicon alone, struct haven_crisis_lexicon, is read-only and may be shared).
 * haven_crisis_clone gives another thread an instance that shares the lexicon and the
 * loaded models (parsing the lexicon and checking the model files once, not per thread)
 * with scratch space of its own; destroy clones before the instance they came from.
 *
 *   struct haven_crisis *c;
 *   char err[256];
 *   if (haven_crisis_create(NULL, NULL, &c, err, sizeof(err)))  // default paths
 *           fail(err);
 *   struct haven_crisis_result r;
 *   haven_crisis_assess(c, text, strlen(text), &r);
 *   if (r.level >= HAVEN_RISK_MODERATE) ...
 *   haven_crisis_destroy(&c);
 */
#ifndef HAVEN_NLP_CRISIS_H
#define HAVEN_NLP_CRISIS_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* The risk levels of DESIGN.md, ordered. */
enum haven_risk_level {
	HAVEN_RISK_NONE = 0,
	HAVEN_RISK_LOW = 1,      /* distress without signs of risk */
	HAVEN_RISK_MODERATE = 2, /* passive wish to be dead, hopelessness with risk signs,
				    ambiguous statements, a past attempt */
	HAVEN_RISK_HIGH = 3,     /* active thoughts of suicide, self-harm, a plan, intent,
				    means, preparation, a goodbye */
};
const char *haven_risk_level_name(enum haven_risk_level level);

/* Flags on a result: why a matched phrase was discounted, or what else was seen. */
enum haven_crisis_flag {
	HAVEN_CRISIS_ABOUT_OTHER = 1u << 0,  /* worry about someone else ("my friend wants to...") */
	HAVEN_CRISIS_FIGURATIVE = 1u << 1,   /* a figure of speech ("this traffic is killing me") */
	HAVEN_CRISIS_NEGATED = 1u << 2,      /* "I would never kill myself" */
	HAVEN_CRISIS_HYPOTHETICAL = 1u << 3, /* a question about the topic or a hypothetical */
	HAVEN_CRISIS_QUOTED = 1u << 4,       /* inside quotation marks, lyrics, a film line */
	HAVEN_CRISIS_REPORTED = 1u << 5,     /* reported speech ("he told me to ...") */
	HAVEN_CRISIS_HUMOUR = 1u << 6,       /* laughter around slang ("kms lol") */
	HAVEN_CRISIS_DIRECTED = 1u << 7,     /* aimed at someone else ("kys", "go die") */
	HAVEN_CRISIS_TRUNCATED = 1u << 8,    /* text longer than the screen reads; tail ignored */
};
/* Writes the JSON-friendly name of one flag bit ("about_other", ...). */
const char *haven_crisis_flag_name(unsigned flag_bit);

#define HAVEN_CRISIS_MAX_REASONS 8
#define HAVEN_CRISIS_MAX_TERMS 5
#define HAVEN_CRISIS_PHRASE_MAX 96

/* One piece of evidence. For the lexicon: the category of the rule that fired (a plain
 * name such as "plan" or "self_harm"), the line of the lexicon, the matched phrase and
 * its byte span in the text, the level it contributed after the rules, and when it was
 * discounted, why. For the classifier: rule "classifier", and the top n-grams are in
 * the result's model_terms. */
struct haven_crisis_reason {
	const char *rule;        /* category name, static storage */
	const char *description; /* plain words for a clinician, static storage */
	unsigned lexicon_line;   /* 0 for rules not from the lexicon */
	char phrase[HAVEN_CRISIS_PHRASE_MAX]; /* matched text, cut at a UTF-8 boundary */
	size_t start, end;       /* byte span in the input */
	enum haven_risk_level rule_level;     /* the level the lexicon gives the phrase */
	enum haven_risk_level level;          /* after negation, subject and context rules */
	unsigned discounted_by;  /* haven_crisis_flag bits that lowered it, 0 if none */
};

struct haven_crisis_term {
	char text[48];
	double weight; /* contribution to the classifier's logit (positive = towards risk) */
};

struct haven_crisis_result {
	enum haven_risk_level level;
	double score; /* in [0,1], consistent with level (see docs/crisis.md) */
	unsigned flags;
	size_t n_reasons;
	struct haven_crisis_reason reasons[HAVEN_CRISIS_MAX_REASONS];
	/* The classifier, when loaded. */
	int model_used;
	double model_probability;
	size_t n_model_terms;
	struct haven_crisis_term model_terms[HAVEN_CRISIS_MAX_TERMS];
	const char *lexicon_version; /* owned by the struct haven_crisis */
	const char *model_version;   /* NULL when no model is loaded */
	/* The short-message classifier (models/crisis_short.hvm), when loaded and asked:
	 * only for short messages the lexicon left below "high" and did not discount.
	 * short_model_probability is p(crisis) + p(crisis_high), short_model_high_probability
	 * p(crisis_high). */
	int short_model_used;
	double short_model_probability;
	double short_model_high_probability;
	const char *short_model_version; /* NULL when not loaded */
};

/* ---- The lexicon on its own (also used by tests and by lexicon tools). ---- */
struct haven_crisis_lexicon;

/* Parses and validates a lexicon from memory. `name` is used in error messages, which
 * take the form "<name>:<line>: <what is wrong>" and are written into err. */
int haven_crisis_lexicon_parse(const char *text, size_t len, const char *name,
			       struct haven_crisis_lexicon **out, char *err,
			       size_t errlen) HAVEN_WUR;
/* Reads and parses a lexicon file. A missing file is HAVEN_ENOTFOUND. */
int haven_crisis_lexicon_load(const char *path, struct haven_crisis_lexicon **out, char *err,
			      size_t errlen) HAVEN_WUR;
void haven_crisis_lexicon_destroy(struct haven_crisis_lexicon **lex);
const char *haven_crisis_lexicon_version(const struct haven_crisis_lexicon *lex);
size_t haven_crisis_lexicon_size(const struct haven_crisis_lexicon *lex); /* pattern lines */

/* ---- The screen. ---- */
struct haven_crisis;

/* Default locations, tried in order when a path argument is NULL: $HAVEN_CRISIS_LEXICON,
 * content/lexicon/crisis-v1.txt under the working directory, then under the directory
 * above the executable's (build/haven -> ./content). Likewise for the model with
 * $HAVEN_CRISIS_MODEL and models/crisis.hvm; a model_path of "" runs the lexicon alone.
 * A lexicon that cannot be loaded is an error:
 * the screen never runs without it. A model that is absent is not an error (the result
 * says so); a model that is present but corrupt is an error. */
int haven_crisis_create(const char *lexicon_path, const char *model_path,
			struct haven_crisis **out, char *err, size_t errlen) HAVEN_WUR;
int haven_crisis_clone(const struct haven_crisis *base, struct haven_crisis **out) HAVEN_WUR;
void haven_crisis_destroy(struct haven_crisis **c);
const char *haven_crisis_model_path(const struct haven_crisis *c); /* NULL if none */

/* Assesses one message. Never fails on any byte content: invalid UTF-8 is read as
 * U+FFFD, and texts longer than HAVEN_CRISIS_MAX_TEXT bytes are read up to that length
 * (flag HAVEN_CRISIS_TRUNCATED). */
#define HAVEN_CRISIS_MAX_TEXT 65536
void haven_crisis_assess(struct haven_crisis *c, const char *text, size_t len,
			 struct haven_crisis_result *out);

/* Private to src/nlp (analyze.c): haven_crisis_assess with the classifiers reading the
 * message's tokens and hashed features from `shared` (nlp_int.h), prepared once for every
 * model that reads the message. The result is the same as haven_crisis_assess's. */
struct haven__text;
void haven__crisis_assess_shared(struct haven_crisis *c, const char *text, size_t len,
				 struct haven__text *shared, struct haven_crisis_result *out);

#endif
