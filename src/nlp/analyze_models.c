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
	/* Pre-escaped at load, the scores object being most of analyze's output: */
	struct haven_buf keys[N_ANALYSES]; /* "label" of every label, one after the other */
	uint32_t *key_end[N_ANALYSES];     /* where each label's ends in keys */
	struct haven_buf head[N_ANALYSES]; /* ,"key":{"status":"ok","model":"name version" */
	struct haven_buf missing[N_ANALYSES]; /* ,"key":{"status":"missing",...} */
	struct haven_nlp_ws *ws;
};

/* Escapes each label once at load. */
static int prepare_keys(struct haven__engine_models *m, size_t i)
{
	const struct haven_model *model = m->model[i];
	const struct haven_model_info *info = haven_model_info(model);
	struct haven__jw w;
	haven_buf_init(&m->keys[i], 1u << 20);
	m->key_end[i] = calloc(info->nlabels ? info->nlabels : 1, sizeof(uint32_t));
	if (!m->key_end[i])
		return HAVEN_ENOMEM;
	haven__jw_init(&w, &m->keys[i]);
	for (size_t k = 0; k < info->nlabels; k++) {
		haven__jw_cstr(&w, haven_model_label(model, k));
		haven__jw_flush(&w);
		m->key_end[i][k] = (uint32_t)m->keys[i].len;
	}
	int rc = haven__jw_finish(&w);
	haven_buf_init(&m->head[i], 1u << 16);
	haven__jw_init(&w, &m->head[i]);
	HAVEN_JW_LIT(&w, ",\"");
	haven__jw_put(&w, analyses[i].key, strlen(analyses[i].key));
	HAVEN_JW_LIT(&w, "\":{\"status\":\"ok\",\"model\":");
	char ver[160];
	snprintf(ver, sizeof(ver), "%s %s", info->name, info->version);
	haven__jw_cstr(&w, ver);
	return rc || haven__jw_finish(&w) ? HAVEN_ENOMEM : HAVEN_OK;
}

/* The whole entry of a model that is not installed: the same in every line. */
static int prepare_missing(struct haven__engine_models *m, size_t i)
{
	struct haven__jw w;
	char msg[PATH_MAX + 64];
	haven_buf_init(&m->missing[i], 1u << 16);
	haven__jw_init(&w, &m->missing[i]);
	HAVEN_JW_LIT(&w, ",\"");
	haven__jw_put(&w, analyses[i].key, strlen(analyses[i].key));
	HAVEN_JW_LIT(&w, "\":{\"status\":\"missing\",\"name\":\"");
	haven__jw_put(&w, analyses[i].name, strlen(analyses[i].name));
	HAVEN_JW_LIT(&w, "\",\"message\":");
	snprintf(msg, sizeof(msg), "%s: model not installed", m->path[i]);
	haven__jw_cstr(&w, msg);
	HAVEN_JW_LIT(&w, "}");
	return haven__jw_finish(&w);
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
		if (access(m->path[i], F_OK) != 0) {
			if ((rc = prepare_missing(m, i)))
				goto out;
			continue; /* missing: said so in every line */
		}
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
		free(m->key_end[i]);
		haven_buf_release(&m->head[i]);
		haven_buf_release(&m->missing[i]);
	}
	haven_nlp_ws_destroy(&m->ws);
	free(m);
	*pm = NULL;
}

static int one_model_json(struct haven__engine_models *m, size_t i, const char *text, size_t len,
			  struct haven__text *shared, struct haven__jw *w)
{
	const struct haven_model *model = m->model[i];
	struct haven_prediction p;
	struct haven__term_weight top[EXPLAIN_TERMS];
	size_t ntop, explained;
	if (haven__predict_explain(model, m->ws, text, len, shared, -1, EXPLAIN_TERMS, 0.0f, &p,
				   top, &ntop, &explained))
		return HAVEN_ENOMEM;
	const char *keys = m->keys[i].data;
	const uint32_t *end = m->key_end[i];
	haven__jw_put(w, m->head[i].data, m->head[i].len);
	HAVEN_JW_LIT(w, ",\"predicted\":[");
	int first = 1;
	for (size_t k = 0; k < p.nlabels; k++) {
		if (!p.predicted[k])
			continue;
		if (!first)
			HAVEN_JW_LIT(w, ",");
		first = 0;
		size_t start = k ? end[k - 1] : 0;
		haven__jw_put(w, keys + start, end[k] - start);
	}
	HAVEN_JW_LIT(w, "],\"scores\":{");
	for (size_t k = 0; k < p.nlabels; k++) {
		size_t start = k ? end[k - 1] : 0;
		if (k)
			HAVEN_JW_LIT(w, ",");
		haven__jw_put(w, keys + start, end[k] - start);
		HAVEN_JW_LIT(w, ":");
		haven__jw_num(w, p.prob[k]);
	}
	HAVEN_JW_LIT(w, "},\"explanation\":{\"label\":");
	size_t start = explained ? end[explained - 1] : 0;
	haven__jw_put(w, keys + start, end[explained] - start);
	HAVEN_JW_LIT(w, ",\"terms\":[");
	for (size_t k = 0; k < ntop; k++) {
		if (k)
			HAVEN_JW_LIT(w, ",");
		HAVEN_JW_LIT(w, "{\"term\":");
		haven__jw_cstr(w, top[k].name);
		HAVEN_JW_LIT(w, ",\"weight\":");
		haven__jw_num(w, top[k].contribution);
		HAVEN_JW_LIT(w, "}");
	}
	HAVEN_JW_LIT(w, "]}}");
	return HAVEN_OK;
}

int haven__engine_models_json(struct haven__engine_models *m, const char *text, size_t len,
			      struct haven__text *shared, struct haven__jw *w)
{
	int rc = 0;
	for (size_t i = 0; i < N_ANALYSES; i++) {
		if (m->model[i])
			rc |= one_model_json(m, i, text, len, shared, w);
		else
			haven__jw_put(w, m->missing[i].data, m->missing[i].len);
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
