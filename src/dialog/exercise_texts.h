/*
 * exercise_texts.h: what the exercises page says about each flow the agent offers, read
 * from content/exercises.txt (format in its header and docs/content.md). The words are
 * clinical content, so they live in a data file beside the flows, not in C. The file is
 * checked against the flows it describes: every `menu` flow has exactly one entry, every
 * entry names a `menu` flow, and a `rating` is given for the rated flows and only for them.
 *
 * Ownership: haven_exercise_texts_parse/load create the set; haven_exercise_texts_destroy
 * frees it and its strings. The content passed in is only read while parsing.
 */
#ifndef HAVEN_DIALOG_EXERCISE_TEXTS_H
#define HAVEN_DIALOG_EXERCISE_TEXTS_H

#include <stddef.h>

#include "core/core.h"
#include "dialog/content.h"

/* The longest line of the file, in bytes (a description is a sentence or two). */
#define HAVEN_EXERCISE_TEXT_MAX_LINE 600

struct haven_exercise_text {
	char *flow;        /* a flow of the content with a `menu` line */
	char *kind;        /* "exercise", "check_in", "questionnaire" or "safety_plan" */
	char *description; /* a short plain description */
	char *start;       /* a sentence that starts the flow in chat */
	char *rating;      /* what the before/after ratings measure; NULL for unrated flows */
	unsigned line;     /* where the entry starts in the file */
};

struct haven_exercise_texts {
	struct haven_exercise_text *items;
	size_t n;
};

/* Parses the file's text (name used in messages) and checks it against the flows of c.
 * err receives "NAME:LINE: what" (or "NAME: what" for a flow with no entry). */
int haven_exercise_texts_parse(const char *text, size_t len, const char *name,
                               const struct haven_content *c, struct haven_exercise_texts **out,
                               char *err, size_t errlen) HAVEN_WUR;
/* Reads path (at most 1 MiB) and parses it as above. */
int haven_exercise_texts_load(const char *path, const struct haven_content *c,
                              struct haven_exercise_texts **out, char *err,
                              size_t errlen) HAVEN_WUR;
void haven_exercise_texts_destroy(struct haven_exercise_texts **t);

/* The entry for a flow, or NULL. */
const struct haven_exercise_text *haven_exercise_text_of(const struct haven_exercise_texts *t,
                                                         const char *flow);

#endif
