/*
 * crisis_model.c: the classifier half of the crisis screen (see crisis_model.h).
 * Until the engine's model loader is linked in, a present model file is reported as
 * unsupported rather than silently ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "nlp/crisis_model.h"

struct haven__crisis_model {
	int unused;
};

int haven__crisis_model_load(const char *path, struct haven__crisis_model **out, char *version,
			     size_t vlen, char *err, size_t errlen)
{
	*out = NULL;
	if (vlen)
		version[0] = '\0';
	if (access(path, R_OK) != 0) {
		int e = errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: no crisis model", path);
		return e == ENOENT ? HAVEN_ENOTFOUND : haven_err_from_errno(e);
	}
	if (err && errlen)
		snprintf(err, errlen, "%s: this build cannot read engine models", path);
	return HAVEN_EUNSUPPORTED;
}

void haven__crisis_model_destroy(struct haven__crisis_model **m)
{
	if (m && *m) {
		free(*m);
		*m = NULL;
	}
}

void haven__crisis_model_predict(struct haven__crisis_model *m, const char *text, size_t len,
				 struct haven__crisis_model_out *out)
{
	(void)m;
	(void)text;
	(void)len;
	out->probability = 0;
	out->n_terms = 0;
}

enum haven_risk_level haven__crisis_model_level(const struct haven__crisis_model *m,
						const struct haven__crisis_model_out *o,
						size_t ntokens)
{
	(void)m;
	(void)o;
	(void)ntokens;
	return HAVEN_RISK_NONE;
}
