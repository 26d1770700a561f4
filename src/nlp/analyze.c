/*
 * analyze.c: builds the JSON object of `haven analyze` for one text (see analyze.h).
 * JSON is written by hand into a growable buffer: the pipeline's target is tens of
 * thousands of messages per second on one core, and the shape is fixed.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nlp/analyze.h"
#include "nlp/analyze_models.h"
#include "nlp/crisis.h"
#include "nlp/nlp_int.h"

struct haven_analyzer {
	struct haven_crisis *crisis;
	struct haven__engine_models *models;
	struct haven__text text; /* the current line, tokenized and hashed once for all models */
};

int haven_analyzer_create(const char *lexicon, const char *models_dir,
			  struct haven_analyzer **out, char *err, size_t errlen)
{
	*out = NULL;
	int rc;
	struct haven_analyzer *a = calloc(1, sizeof(*a));
	if (!a)
		return HAVEN_ENOMEM;
	char model_path[PATH_MAX];
	const char *crisis_model = NULL; /* the default search */
	if (models_dir) {
		snprintf(model_path, sizeof(model_path), "%s/crisis.hvm", models_dir);
		crisis_model = access(model_path, F_OK) == 0 ? model_path : "";
	}
	if ((rc = haven_crisis_create(lexicon, crisis_model, &a->crisis, err, errlen)))
		goto out;
	if ((rc = haven__engine_models_load(models_dir, &a->models, err, errlen)))
		goto out;
	haven__text_init(&a->text, haven__engine_models_text_opts(a->models));
	rc = HAVEN_OK;
out:
	if (rc)
		haven_analyzer_destroy(&a);
	*out = a;
	return rc;
}

void haven_analyzer_destroy(struct haven_analyzer **pa)
{
	struct haven_analyzer *a = pa ? *pa : NULL;
	if (!a)
		return;
	haven_crisis_destroy(&a->crisis);
	haven__engine_models_destroy(&a->models);
	haven__text_release(&a->text);
	free(a);
	*pa = NULL;
}

/* ------------------------------------------------------------------ JSON helpers */

int haven__json_str(struct haven_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[256];
	size_t t = 0;
	int rc;
	tmp[t++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (t > sizeof(tmp) - 8) {
			if ((rc = haven_buf_append(b, tmp, t)))
				return rc;
			t = 0;
		}
		if (c == '"' || c == '\\') {
			tmp[t++] = '\\';
			tmp[t++] = (char)c;
		} else if (c == '\n') {
			tmp[t++] = '\\';
			tmp[t++] = 'n';
		} else if (c == '\t') {
			tmp[t++] = '\\';
			tmp[t++] = 't';
		} else if (c == '\r') {
			tmp[t++] = '\\';
			tmp[t++] = 'r';
		} else if (c < 0x20 || c == 0x7f) {
			tmp[t++] = '\\';
			tmp[t++] = 'u';
			tmp[t++] = '0';
			tmp[t++] = '0';
			tmp[t++] = hex[c >> 4];
			tmp[t++] = hex[c & 15];
		} else {
			tmp[t++] = (char)c;
		}
	}
	tmp[t++] = '"';
	return haven_buf_append(b, tmp, t);
}

int haven__json_cstr(struct haven_buf *b, const char *s)
{
	return haven__json_str(b, s, strlen(s));
}

/* A probability or score: fixed 4 decimals, locale-independent digits. */
int haven__json_num(struct haven_buf *b, double v)
{
	if (!(v == v))
		return HAVEN_JSON_LIT(b, "null");
	if (v >= 1e9 || v <= -1e9)
		return haven_buf_printf(b, "%.6g", v);
	/* Fixed 4 decimals written by hand: snprintf per number is a visible share of the
	 * time of `haven analyze`. Locale-independent by construction. */
	char tmp[32];
	size_t l = 0;
	int neg = v < 0;
	unsigned long long scaled = (unsigned long long)((neg ? -v : v) * 10000.0 + 0.5);
	unsigned long long ip = scaled / 10000, fp = scaled % 10000;
	if (neg && scaled)
		tmp[l++] = '-';
	char digits[24];
	size_t nd = 0;
	do {
		digits[nd++] = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip);
	while (nd)
		tmp[l++] = digits[--nd];
	tmp[l++] = '.';
	tmp[l++] = (char)('0' + fp / 1000);
	tmp[l++] = (char)('0' + fp / 100 % 10);
	tmp[l++] = (char)('0' + fp / 10 % 10);
	tmp[l++] = (char)('0' + fp % 10);
	while (tmp[l - 1] == '0' && tmp[l - 2] != '.')
		l--; /* trailing zeros, keeping one digit after the point */
	return haven_buf_append(b, tmp, l);
}

/* An unsigned integer, written by hand (see haven__json_num). */
static int json_uint(struct haven_buf *b, unsigned long long v)
{
	char d[24];
	size_t n = sizeof(d);
	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return haven_buf_append(b, d + n, sizeof(d) - n);
}

/* ------------------------------------------------------------------ risk */

static int risk_json(const struct haven_crisis_result *r, const struct haven_crisis *c,
		     struct haven_buf *b)
{
	int rc = 0;
	rc |= HAVEN_JSON_LIT(b, "{\"level\":");
	rc |= haven__json_cstr(b, haven_risk_level_name(r->level));
	rc |= HAVEN_JSON_LIT(b, ",\"score\":");
	rc |= haven__json_num(b, r->score);
	rc |= HAVEN_JSON_LIT(b, ",\"reasons\":[");
	for (size_t i = 0; i < r->n_reasons; i++) {
		const struct haven_crisis_reason *x = &r->reasons[i];
		if (i)
			rc |= HAVEN_JSON_LIT(b, ",");
		rc |= HAVEN_JSON_LIT(b, "{\"rule\":");
		rc |= haven__json_cstr(b, x->rule);
		rc |= HAVEN_JSON_LIT(b, ",\"description\":");
		rc |= haven__json_cstr(b, x->description);
		rc |= HAVEN_JSON_LIT(b, ",\"source\":");
		rc |= haven__json_cstr(b, x->lexicon_line ? "lexicon" : "classifier");
		if (x->lexicon_line) {
			rc |= HAVEN_JSON_LIT(b, ",\"phrase\":");
			rc |= haven__json_cstr(b, x->phrase);
			rc |= HAVEN_JSON_LIT(b, ",\"span\":[");
			rc |= json_uint(b, x->start);
			rc |= HAVEN_JSON_LIT(b, ",");
			rc |= json_uint(b, x->end);
			rc |= HAVEN_JSON_LIT(b, "],\"lexicon_line\":");
			rc |= json_uint(b, x->lexicon_line);
		}
		rc |= HAVEN_JSON_LIT(b, ",\"rule_level\":");
		rc |= haven__json_cstr(b, haven_risk_level_name(x->rule_level));
		rc |= HAVEN_JSON_LIT(b, ",\"level\":");
		rc |= haven__json_cstr(b, haven_risk_level_name(x->level));
		rc |= HAVEN_JSON_LIT(b, ",\"discounted_by\":[");
		int first = 1;
		for (unsigned bit = 1; bit && bit <= HAVEN_CRISIS_TRUNCATED; bit <<= 1) {
			if (!(x->discounted_by & bit))
				continue;
			if (!first)
				rc |= HAVEN_JSON_LIT(b, ",");
			first = 0;
			rc |= haven__json_cstr(b, haven_crisis_flag_name(bit));
		}
		rc |= HAVEN_JSON_LIT(b, "]}");
	}
	rc |= HAVEN_JSON_LIT(b, "],\"flags\":[");
	int first = 1;
	for (unsigned bit = 1; bit && bit <= HAVEN_CRISIS_TRUNCATED; bit <<= 1) {
		if (!(r->flags & bit))
			continue;
		if (!first)
			rc |= HAVEN_JSON_LIT(b, ",");
		first = 0;
		rc |= haven__json_cstr(b, haven_crisis_flag_name(bit));
	}
	rc |= HAVEN_JSON_LIT(b, "],\"lexicon_version\":");
	rc |= haven__json_cstr(b, r->lexicon_version);
	rc |= HAVEN_JSON_LIT(b, ",\"model\":");
	if (r->model_used) {
		rc |= HAVEN_JSON_LIT(b, "{\"status\":\"ok\",\"version\":");
		rc |= haven__json_cstr(b, r->model_version ? r->model_version : "");
		rc |= HAVEN_JSON_LIT(b, ",\"probability\":");
		rc |= haven__json_num(b, r->model_probability);
		rc |= HAVEN_JSON_LIT(b, ",\"top_terms\":[");
		for (size_t i = 0; i < r->n_model_terms; i++) {
			if (i)
				rc |= HAVEN_JSON_LIT(b, ",");
			rc |= HAVEN_JSON_LIT(b, "{\"term\":");
			rc |= haven__json_cstr(b, r->model_terms[i].text);
			rc |= HAVEN_JSON_LIT(b, ",\"weight\":");
			rc |= haven__json_num(b, r->model_terms[i].weight);
			rc |= HAVEN_JSON_LIT(b, "}");
		}
		rc |= HAVEN_JSON_LIT(b, "]}");
	} else {
		rc |= haven_buf_puts(b, "{\"status\":\"missing\",\"name\":\"crisis\",\"message\":"
					"\"no crisis classifier installed (models/crisis.hvm); the "
					"level comes from the lexicon alone\"}");
	}
	if (r->short_model_used) {
		rc |= HAVEN_JSON_LIT(b, ",\"short_model\":{\"version\":");
		rc |= haven__json_cstr(b, r->short_model_version ? r->short_model_version : "");
		rc |= HAVEN_JSON_LIT(b, ",\"probability\":");
		rc |= haven__json_num(b, r->short_model_probability);
		rc |= HAVEN_JSON_LIT(b, "}");
	}
	(void)c;
	rc |= HAVEN_JSON_LIT(b, "}");
	return rc ? HAVEN_ENOMEM : HAVEN_OK;
}

int haven_analyzer_line_json(struct haven_analyzer *a, uint64_t line, const char *text,
			     size_t len, int cut, int replaced, size_t raw_len,
			     struct haven_buf *b)
{
	int rc = 0;
	size_t i = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	if (i == len) {
		rc |= haven_buf_printf(b, "{\"line\":%llu,\"error\":{\"code\":\"empty_line\","
					  "\"message\":\"line %llu is empty; nothing to analyse\"}}\n",
				       (unsigned long long)line, (unsigned long long)line);
		return rc ? HAVEN_ENOMEM : HAVEN_OK;
	}
	struct haven_crisis_result r;
	haven__text_reset(&a->text, text, len);
	haven__crisis_assess_shared(a->crisis, text, len, &a->text, &r);
	rc |= HAVEN_JSON_LIT(b, "{\"line\":");
	rc |= json_uint(b, line);
	rc |= HAVEN_JSON_LIT(b, ",\"risk\":");
	rc |= risk_json(&r, a->crisis, b);
	rc |= haven__engine_models_json(a->models, text, len, &a->text, b);
	size_t controls = 0;
	for (size_t k = 0; k < len; k++) {
		unsigned char ch = (unsigned char)text[k];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			controls++;
	}
	rc |= HAVEN_JSON_LIT(b, ",\"input\":{\"bytes\":");
	rc |= json_uint(b, raw_len);
	if (cut || (r.flags & HAVEN_CRISIS_TRUNCATED))
		rc |= HAVEN_JSON_LIT(b, ",\"truncated\":true");
	else
		rc |= HAVEN_JSON_LIT(b, ",\"truncated\":false");
	if (cut)
		rc |= haven_buf_printf(b, ",\"message\":\"line longer than %zu bytes; only the "
					  "first %zu were analysed\"", raw_len, raw_len);
	if (replaced)
		rc |= HAVEN_JSON_LIT(b, ",\"invalid_utf8_replaced\":true");
	else
		rc |= HAVEN_JSON_LIT(b, ",\"invalid_utf8_replaced\":false");
	rc |= HAVEN_JSON_LIT(b, ",\"control_characters\":");
	rc |= json_uint(b, controls);
	rc |= HAVEN_JSON_LIT(b, "}}\n");
	return rc ? HAVEN_ENOMEM : HAVEN_OK;
}
