/*
 * analyze_models.h: private to analyze.c: the engine models `haven analyze` runs besides
 * the crisis screen (emotion, sentiment, stress, distortion), and the small JSON writers
 * they share.
 */
#ifndef HAVEN_NLP_ANALYZE_MODELS_H
#define HAVEN_NLP_ANALYZE_MODELS_H

#include "core/core.h"

struct haven__engine_models;
struct haven__text;
struct haven_text_opts;

/* Looks for <dir>/<name>.hvm for each analysis (dir NULL: models/ under the working
 * directory, then beside the executable). Absent files are recorded as missing; a file
 * that is present but cannot be loaded is an error. */
int haven__engine_models_load(const char *dir, struct haven__engine_models **out, char *err,
			      size_t errlen) HAVEN_WUR;
void haven__engine_models_destroy(struct haven__engine_models **m);
/* Appends ,"emotions":{...},"sentiment":{...},"stress":{...},"distortions":{...}.
 * shared (may be NULL): the text tokenized and hashed once for every model (nlp_int.h). */
int haven__engine_models_json(struct haven__engine_models *m, const char *text, size_t len,
			      struct haven__text *shared, struct haven_buf *b) HAVEN_WUR;
/* The text options of the first installed model, or NULL: what a shared text is prepared
 * with. */
const struct haven_text_opts *haven__engine_models_text_opts(const struct haven__engine_models *m);

/* Appends a string literal (its length known at compile time). */
#define HAVEN_JSON_LIT(b, lit) haven_buf_append((b), (lit), sizeof(lit) - 1)

int haven__json_str(struct haven_buf *b, const char *s, size_t n) HAVEN_WUR;
int haven__json_cstr(struct haven_buf *b, const char *s) HAVEN_WUR;
int haven__json_num(struct haven_buf *b, double v) HAVEN_WUR;

#endif
