/*
 * analyze_models.c: the engine models of `haven analyze` (see analyze_models.h).
 * This build reports every engine model as missing; the loader is linked in once the
 * engine's model files are readable here.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nlp/analyze_models.h"

static const struct {
	const char *key;  /* JSON key */
	const char *name; /* model name and file stem */
} analyses[] = {
	{"emotions", "emotion"},
	{"sentiment", "sentiment"},
	{"stress", "stress"},
	{"distortions", "distortion"},
};
#define N_ANALYSES (sizeof(analyses) / sizeof(analyses[0]))

struct haven__engine_models {
	char path[N_ANALYSES][PATH_MAX];
	int present[N_ANALYSES];
};

int haven__engine_models_load(const char *dir, struct haven__engine_models **out, char *err,
			      size_t errlen)
{
	*out = NULL;
	struct haven__engine_models *m = calloc(1, sizeof(*m));
	if (!m)
		return HAVEN_ENOMEM;
	for (size_t i = 0; i < N_ANALYSES; i++) {
		snprintf(m->path[i], sizeof(m->path[i]), "%s/%s.hvm", dir ? dir : "models",
			 analyses[i].name);
		m->present[i] = access(m->path[i], F_OK) == 0;
	}
	(void)err;
	(void)errlen;
	*out = m;
	return HAVEN_OK;
}

void haven__engine_models_destroy(struct haven__engine_models **m)
{
	if (m && *m) {
		free(*m);
		*m = NULL;
	}
}

int haven__engine_models_json(struct haven__engine_models *m, const char *text, size_t len,
			      struct haven_buf *b)
{
	int rc = 0;
	(void)text;
	(void)len;
	for (size_t i = 0; i < N_ANALYSES; i++) {
		rc |= haven_buf_printf(b, ",\"%s\":{\"status\":\"missing\",\"name\":\"%s\","
					  "\"message\":", analyses[i].key, analyses[i].name);
		char msg[PATH_MAX + 64];
		snprintf(msg, sizeof(msg), "%s: %s", m->path[i],
			 m->present[i] ? "this build cannot read engine models"
				       : "model not installed");
		rc |= haven__json_cstr(b, msg);
		rc |= haven_buf_puts(b, "}");
	}
	return rc ? HAVEN_ENOMEM : HAVEN_OK;
}
