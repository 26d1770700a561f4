/*
 * analyze_models.h: private to analyze.c: the engine models `haven analyze` runs besides
 * the crisis screen (emotion, sentiment, stress, distortion), and the small JSON writers
 * they share.
 */
#ifndef HAVEN_NLP_ANALYZE_MODELS_H
#define HAVEN_NLP_ANALYZE_MODELS_H

#include <string.h>

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
struct haven__jw;
int haven__engine_models_json(struct haven__engine_models *m, const char *text, size_t len,
			      struct haven__text *shared, struct haven__jw *w) HAVEN_WUR;
/* The text options of the first installed model, or NULL: what a shared text is prepared
 * with. */
const struct haven_text_opts *haven__engine_models_text_opts(const struct haven__engine_models *m);

/* A JSON writer for analyze's lines: bytes gather in a fixed chunk that goes to the output
 * buffer when it is full and at the end, so each small piece of a line is a copy rather
 * than a call that checks and grows the buffer (a line is about a hundred pieces).
 * Errors are remembered and reported once by haven__jw_finish. */
struct haven__jw {
	struct haven_buf *out;
	size_t n;
	int failed;
	char chunk[8192];
};

static inline void haven__jw_init(struct haven__jw *w, struct haven_buf *out)
{
	w->out = out;
	w->n = 0;
	w->failed = 0;
}

void haven__jw_flush(struct haven__jw *w);

/* Flushes; HAVEN_ENOMEM when any append to the output failed. */
int haven__jw_finish(struct haven__jw *w) HAVEN_WUR;

/* Room for need bytes (need <= sizeof(chunk)) at the returned pointer; the caller adds
 * what it wrote to w->n. */
static inline char *haven__jw_room(struct haven__jw *w, size_t need)
{
	if (sizeof(w->chunk) - w->n < need)
		haven__jw_flush(w);
	return w->chunk + w->n;
}

static inline void haven__jw_put(struct haven__jw *w, const char *s, size_t n)
{
	if (n > sizeof(w->chunk) / 2) {
		haven__jw_flush(w);
		if (haven_buf_append(w->out, s, n))
			w->failed = 1;
		return;
	}
	memcpy(haven__jw_room(w, n), s, n);
	w->n += n;
}

/* Appends a string literal (its length known at compile time). */
#define HAVEN_JW_LIT(w, lit) haven__jw_put((w), (lit), sizeof(lit) - 1)

/* A JSON string: quotes, and escapes for '"', '\\', control characters and DEL. */
void haven__jw_str(struct haven__jw *w, const char *s, size_t n);
void haven__jw_cstr(struct haven__jw *w, const char *s);
/* A probability or score: fixed 4 decimals with trailing zeros dropped (one kept), "null"
 * for NaN, %.6g beyond +-1e9. Locale-independent. */
void haven__jw_num(struct haven__jw *w, double v);
void haven__jw_uint(struct haven__jw *w, unsigned long long v);

#endif
