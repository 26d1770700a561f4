/*
 * analyze.h: every analysis of one text as one JSON object: the crisis screen's `risk` and
 * the engine models' `emotions`, `sentiment`, `stress` and `distortions`. Used by
 * `haven analyze`; the object's shape is documented in docs/crisis.md ("haven analyze").
 *
 * Ownership: haven_analyzer_create returns a heap object freed by haven_analyzer_destroy.
 * An analyzer holds per-thread scratch: use one per thread.
 */
#ifndef HAVEN_NLP_ANALYZE_H
#define HAVEN_NLP_ANALYZE_H

#include <stdint.h>

#include "core/core.h"

struct haven_analyzer;

/* lexicon: the crisis lexicon file, or NULL for the default. models_dir: where the engine
 * models are looked for (NULL: models/ under the working directory, then beside the
 * executable). A lexicon that cannot be loaded, or a model file that is present but
 * corrupt, is an error described in err; an absent model is not. */
int haven_analyzer_create(const char *lexicon, const char *models_dir,
			  struct haven_analyzer **out, char *err, size_t errlen) HAVEN_WUR;
void haven_analyzer_destroy(struct haven_analyzer **a);

/* Appends one JSON object and a newline to out for the text of input line `line`.
 * text must be valid UTF-8 (the caller replaces invalid sequences and says so with
 * `replaced`); `cut` says the line was longer than what was read; raw_len is the number
 * of bytes read from the line. Only HAVEN_ENOMEM/HAVEN_ELIMIT can fail. */
int haven_analyzer_line_json(struct haven_analyzer *a, uint64_t line, const char *text,
			     size_t len, int cut, int replaced, size_t raw_len,
			     struct haven_buf *out) HAVEN_WUR;

#endif
