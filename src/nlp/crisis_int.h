/*
 * crisis_int.h: private to the crisis screen (crisis.c and crisis_lexicon.c): the lexicon
 * categories, the normalised token stream and the matches the trie finds in it.
 */
#ifndef HAVEN_NLP_CRISIS_INT_H
#define HAVEN_NLP_CRISIS_INT_H

#include "nlp/crisis.h"

/* Categories of lexicon lines. The first group carries a risk level; the second are
 * context cues that change how a risk phrase is read, and carry the level "-". */
enum crisis_cat {
	CRISIS_CAT_IDEATION,
	CRISIS_CAT_PASSIVE,
	CRISIS_CAT_HOPELESSNESS,
	CRISIS_CAT_PLAN,
	CRISIS_CAT_INTENT,
	CRISIS_CAT_MEANS,
	CRISIS_CAT_PREPARATION,
	CRISIS_CAT_GOODBYE,
	CRISIS_CAT_SELF_HARM,
	CRISIS_CAT_PAST_ATTEMPT,
	CRISIS_CAT_SLANG,
	CRISIS_CAT_AMBIGUOUS,
	CRISIS_CAT_DISTRESS,
	CRISIS_CAT_DIRECTED,
	CRISIS_CAT_ABOUT_OTHER,
	CRISIS_CAT__RISK_END, /* categories below are cues */
	CRISIS_CAT_NEGATION = CRISIS_CAT__RISK_END,
	CRISIS_CAT_HYPOTHETICAL,
	CRISIS_CAT_FICTION,
	CRISIS_CAT_REPORTED,
	CRISIS_CAT_FIGURATIVE,
	CRISIS_CAT_HUMOUR,
	CRISIS_CAT_TIME,
	CRISIS_CAT_SUBJECT_SELF,
	CRISIS_CAT_SUBJECT_OTHER,
	CRISIS_CAT_SUBJECT_GENERIC,
	CRISIS_CAT_WEAK,     /* a weak sign: counts only beside another sign */
	CRISIS_CAT_RESOLVED, /* "but not anymore": what came before is over */
	CRISIS_CAT_TRIVIAL,  /* an everyday annoyance: with laughter, a joke */
	CRISIS_CAT_DELIBERATE, /* "on purpose": an act is not an accident or a figure */
	CRISIS_CAT_OBJECT,     /* "argued with (my) dad": the person after it is no subject */
	CRISIS_CAT_PAST,       /* "used to", "years ago": what follows in the sentence is history */
	CRISIS_CAT_PLACE,      /* going to a place: beside a goodbye, a sign even as a trip */
	CRISIS_CAT_ASKS_SELF,  /* "is it normal to", "does anyone else": the writer's own */
	CRISIS_CAT__COUNT
};
const char *haven__crisis_cat_name(enum crisis_cat cat);
const char *haven__crisis_cat_description(enum crisis_cat cat);

struct crisis_pattern {
	uint8_t cat;   /* enum crisis_cat */
	uint8_t level; /* enum haven_risk_level; 0 for cues */
	unsigned line; /* line in the lexicon file */
};

#define CRISIS_TOKEN_TERMS 4
#define CRISIS_MAX_TOKENS 8192
#define CRISIS_MAX_MATCHES 512

/* One normalised token of the input. */
struct crisis_token {
	uint32_t start, end;  /* byte span in the input */
	uint32_t sentence;    /* index of the sentence (. ! ? newline) */
	uint32_t clause;      /* index of the clause (also , ; : and brackets) */
	uint8_t quoted;       /* inside quotation marks */
	uint16_t joined;      /* 0, or which run-together word this is a piece of (1, 2, ...) */
	uint8_t nterms;
	uint32_t terms[CRISIS_TOKEN_TERMS]; /* lexicon term ids this token stands for */
	uint64_t term_bits; /* the lexicon's filter of these terms (crisis_lexicon.c) */
};

struct crisis_match {
	uint32_t pattern; /* index into the lexicon's patterns */
	uint32_t first;   /* first token */
	uint32_t last;    /* one past the last token */
};

struct crisis_scan {
	struct crisis_token *toks;
	size_t ntok, toks_cap;
	struct crisis_match *matches;
	size_t nmatch;
	int truncated;
};

/* Tokenises text and finds every lexicon match (and the cues). scan must be zeroed before
 * its first use; it may then be used for text after text (its buffers are kept). Free
 * with haven__crisis_scan_release. Returns HAVEN_ENOMEM only (scan is then released). */
int haven__crisis_scan(const struct haven_crisis_lexicon *lex, const char *text, size_t len,
		       struct crisis_scan *scan);
void haven__crisis_scan_release(struct crisis_scan *scan);
const struct crisis_pattern *haven__crisis_pattern(const struct haven_crisis_lexicon *lex,
						   uint32_t idx);

#endif
