/*
 * danger.h: the danger-and-abuse screen. It runs on every chat turn beside the crisis screen
 * (src/nlp/crisis.c), which reads risk to the person from themselves; this one reads danger
 * from other people, abuse disclosed, worry about someone else being hurt, and questions
 * about medication (docs/safety.md). It is rules with reasons, like the crisis screen: every
 * judgement names the rule, the category, the phrase and what discounted it.
 *
 *   struct haven_danger_result r;
 *   haven_danger_screen(text, len, &r);
 *   r.level: NONE, MEDICATION, OTHER, DISCLOSED or NOW
 *
 * It never lowers the crisis screen's level: the chat turn (src/dialog/chat.c) only raises
 * the level for NOW (to high: the crisis protocol) and DISCLOSED (to moderate, flagged), and
 * the crisis gate always decides first.
 *
 * Pure functions over plain data; no allocation except into a caller's haven_buf.
 */
#ifndef HAVEN_SAFETY_DANGER_H
#define HAVEN_SAFETY_DANGER_H

#include <stddef.h>

#include "core/core.h"
#include "safety/safety.h"

#define HAVEN_DANGER_VERSION "danger-v1.0.0"

enum haven_danger_level {
	HAVEN_DANGER_NONE = 0,
	HAVEN_DANGER_MEDICATION, /* a question about taking, changing or mixing medication */
	HAVEN_DANGER_OTHER,      /* someone else is being hurt ("my friend's husband hits her") */
	HAVEN_DANGER_DISCLOSED,  /* abuse or violence against the person, not happening now */
	HAVEN_DANGER_NOW,        /* danger from someone now ("he is going to kill me") */
};
const char *haven_danger_level_name(enum haven_danger_level l);

/* Categories (strings, as they appear in reasons and alerts). */
#define HAVEN_DANGER_VIOLENCE "violence_from_other"
#define HAVEN_DANGER_SEXUAL "sexual_violence"
#define HAVEN_DANGER_CHILD "child_abuse"
#define HAVEN_DANGER_DOMESTIC "domestic_abuse"
#define HAVEN_DANGER_MEDICATION_Q "medication_question"

#define HAVEN_DANGER_MAX_REASONS 8

struct haven_danger_reason {
	const char *rule;          /* e.g. "strangled", "threat_to_kill" */
	const char *category;      /* one of the categories above */
	const char *description;   /* plain words for a clinician */
	enum haven_danger_level level; /* after the context rules */
	const char *discounted_by; /* "negated", "figurative", or NULL */
	int historical;            /* long ago ("when i was a kid", "years ago") */
	unsigned bits;             /* HAVEN_DANGER_BIT_* of the categories it touches */
	char phrase[96];           /* the words matched, normalised */
};

struct haven_danger_result {
	enum haven_danger_level level;
	const char *category; /* the category of the reason that decided the level, or NULL */
	const char *rule;     /* that reason's rule */
	int urgent;           /* DISCLOSED: the care team should act today (see docs/safety.md) */
	int historical;       /* the deciding reason is about long ago */
	unsigned categories;  /* bit per category among the reasons at the deciding level */
	struct haven_danger_reason reasons[HAVEN_DANGER_MAX_REASONS];
	size_t n_reasons;
};
/* Category bits for `categories`. */
#define HAVEN_DANGER_BIT_VIOLENCE 1u
#define HAVEN_DANGER_BIT_SEXUAL 2u
#define HAVEN_DANGER_BIT_CHILD 4u
#define HAVEN_DANGER_BIT_DOMESTIC 8u

void haven_danger_screen(const char *text, size_t len, struct haven_danger_result *out);

/* The helplines for the result's categories in region r ("National Domestic Violence
 * Hotline: call 1-800-799-7233 or text START to 88788; ..."), appended to b as one or more
 * sentences; for a region without specific lines, the international directory. */
int haven_danger_helplines(const struct haven_crisis_lines *l, const struct haven_region *r,
			   unsigned categories, struct haven_buf *b) HAVEN_WUR;

/* The replies, with {emergency}, {lines} (the crisis lines) and {helplines} filled.
 * which: "now", "disclosed", "other", "confirm", "stay_note". care_team: 1 when a clinician
 * on the person's care team will see the alert; 0 gives the words of "now" and "disclosed"
 * that do not say the care team was told. */
int haven_danger_reply(const char *which, const struct haven_crisis_lines *l,
		       const struct haven_region *r, unsigned categories, int care_team,
		       struct haven_buf *b) HAVEN_WUR;

#endif
