/*
 * analyze_models.c: the engine models of `haven analyze` (see analyze_models.h): each
 * installed model's calibrated scores, predicted labels and the n-grams behind its top
 * label. A model that is not installed is reported as missing, never guessed.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nlp/analyze_models.h"
#include "nlp/explain_fast.h"
#include "nlp/nlp_int.h"

#define EXPLAIN_TERMS 3

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
	struct haven_model *model[N_ANALYSES];
	struct haven_buf keys[N_ANALYSES]; /* "label": for every label, pre-escaped, NUL-separated */
	char version[N_ANALYSES][160];     /* "name version", pre-escaped with quotes */
	struct haven_nlp_ws *ws;
};

/* Escapes each label once at load: the scores object is most of analyze's output. */
static int prepare_keys(struct haven__engine_models *m, size_t i)
{
	const struct haven_model *model = m->model[i];
	const struct haven_model_info *info = haven_model_info(model);
	struct haven_buf *b = &m->keys[i];
	struct haven_buf v;
	int rc = 0;
	haven_buf_init(b, 1u << 20);
	for (size_t k = 0; k < info->nlabels; k++) {
		rc |= haven__json_cstr(b, haven_model_label(model, k));
		rc |= haven_buf_append(b, ":", 2); /* with the NUL separator */
	}
	haven_buf_init(&v, sizeof(m->version[i]) - 1);
	char ver[160];
	snprintf(ver, sizeof(ver), "%s %s", info->name, info->version);
	rc |= haven__json_cstr(&v, ver);
	if (!rc)
		haven_strlcpy(m->version[i], v.data, sizeof(m->version[i]));
	haven_buf_release(&v);
	return rc ? HAVEN_ENOMEM : HAVEN_OK;
}

static void models_dir_default(char *out, size_t n)
{
	if (access("models", F_OK) == 0) {
		haven_strlcpy(out, "models", n);
		return;
	}
	char exe[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l > 0) {
		exe[l] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			int w = snprintf(out, n, "%s/../models", exe);
			if (w > 0 && (size_t)w < n && access(out, F_OK) == 0)
				return;
		}
	}
	haven_strlcpy(out, "models", n);
}

int haven__engine_models_load(const char *dir, struct haven__engine_models **out, char *err,
			      size_t errlen)
{
	*out = NULL;
	int rc;
	char d[PATH_MAX];
	struct haven__engine_models *m = calloc(1, sizeof(*m));
	if (!m)
		return HAVEN_ENOMEM;
	if (dir)
		haven_strlcpy(d, dir, sizeof(d));
	else
		models_dir_default(d, sizeof(d));
	for (size_t i = 0; i < N_ANALYSES; i++) {
		int w = snprintf(m->path[i], sizeof(m->path[i]), "%s/%s.hvm", d, analyses[i].name);
		if (w < 0 || (size_t)w >= sizeof(m->path[i])) {
			if (err && errlen)
				snprintf(err, errlen, "models directory path too long");
			rc = HAVEN_EINVAL;
			goto out;
		}
		if (access(m->path[i], F_OK) != 0)
			continue; /* missing: said so in every line */
		if ((rc = haven_model_load(m->path[i], &m->model[i], err, errlen)))
			goto out;
		if ((rc = prepare_keys(m, i)))
			goto out;
	}
	if ((rc = haven_nlp_ws_create(&m->ws)))
		goto out;
	rc = HAVEN_OK;
out:
	if (rc)
		haven__engine_models_destroy(&m);
	*out = m;
	return rc;
}

void haven__engine_models_destroy(struct haven__engine_models **pm)
{
	struct haven__engine_models *m = pm ? *pm : NULL;
	if (!m)
		return;
	for (size_t i = 0; i < N_ANALYSES; i++) {
		haven_model_destroy(&m->model[i]);
		haven_buf_release(&m->keys[i]);
	}
	haven_nlp_ws_destroy(&m->ws);
	free(m);
	*pm = NULL;
}

static int one_model_json(struct haven__engine_models *m, size_t i, const char *text, size_t len,
			  struct haven__text *shared, struct haven_buf *b)
{
	const struct haven_model *model = m->model[i];
	struct haven_prediction p;
	struct haven__term_weight top[EXPLAIN_TERMS];
	size_t ntop, explained;
	int rc = 0;
	if (haven__predict_explain(model, m->ws, text, len, shared, -1, EXPLAIN_TERMS, 0.0f, &p,
				   top, &ntop, &explained))
		return HAVEN_ENOMEM;
	rc |= HAVEN_JSON_LIT(b, "{\"status\":\"ok\",\"model\":");
	rc |= haven_buf_puts(b, m->version[i]);
	rc |= HAVEN_JSON_LIT(b, ",\"predicted\":[");
	int first = 1;
	for (size_t k = 0; k < p.nlabels; k++) {
		if (!p.predicted[k])
			continue;
		if (!first)
			rc |= HAVEN_JSON_LIT(b, ",");
		first = 0;
		rc |= haven__json_cstr(b, haven_model_label(model, k));
	}
	rc |= HAVEN_JSON_LIT(b, "],\"scores\":{");
	const char *key = m->keys[i].data;
	for (size_t k = 0; k < p.nlabels; k++) {
		size_t kl = strlen(key);
		if (k)
			rc |= HAVEN_JSON_LIT(b, ",");
		rc |= haven_buf_append(b, key, kl);
		rc |= haven__json_num(b, p.prob[k]);
		key += kl + 1;
	}
	rc |= HAVEN_JSON_LIT(b, "},\"explanation\":{\"label\":");
	rc |= haven__json_cstr(b, haven_model_label(model, explained));
	rc |= HAVEN_JSON_LIT(b, ",\"terms\":[");
	for (size_t k = 0; k < ntop; k++) {
		if (k)
			rc |= HAVEN_JSON_LIT(b, ",");
		rc |= HAVEN_JSON_LIT(b, "{\"term\":");
		rc |= haven__json_cstr(b, top[k].name);
		rc |= HAVEN_JSON_LIT(b, ",\"weight\":");
		rc |= haven__json_num(b, top[k].contribution);
		rc |= HAVEN_JSON_LIT(b, "}");
	}
	rc |= HAVEN_JSON_LIT(b, "]}}");
	return rc ? HAVEN_ENOMEM : HAVEN_OK;
}

int haven__engine_models_json(struct haven__engine_models *m, const char *text, size_t len,
			      struct haven__text *shared, struct haven_buf *b)
{
	int rc = 0;
	for (size_t i = 0; i < N_ANALYSES; i++) {
		rc |= HAVEN_JSON_LIT(b, ",\"");
		rc |= haven_buf_puts(b, analyses[i].key);
		rc |= HAVEN_JSON_LIT(b, "\":");
		if (m->model[i]) {
			rc |= one_model_json(m, i, text, len, shared, b);
			continue;
		}
		rc |= haven_buf_printf(b, "{\"status\":\"missing\",\"name\":\"%s\",\"message\":",
				       analyses[i].name);
		char msg[PATH_MAX + 64];
		snprintf(msg, sizeof(msg), "%s: model not installed", m->path[i]);
		rc |= haven__json_cstr(b, msg);
		rc |= HAVEN_JSON_LIT(b, "}");
	}
	return rc ? HAVEN_ENOMEM : HAVEN_OK;
}

const struct haven_text_opts *haven__engine_models_text_opts(const struct haven__engine_models *m)
{
	for (size_t i = 0; i < N_ANALYSES; i++)
		if (m->model[i])
			return &haven_model_info(m->model[i])->text;
	return NULL;
}
