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
	struct haven__jw jw;     /* the current line's JSON */
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

/* ------------------------------------------------------------------ JSON writer */

void haven__jw_flush(struct haven__jw *w)
{
	if (w->n && haven_buf_append(w->out, w->chunk, w->n))
		w->failed = 1;
	w->n = 0;
}

int haven__jw_finish(struct haven__jw *w)
{
	haven__jw_flush(w);
	return w->failed ? HAVEN_ENOMEM : HAVEN_OK;
}

void haven__jw_str(struct haven__jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;
	char *d = haven__jw_room(w, 1);
	*d = '"';
	w->n++;
	while (i < n) {
		/* a piece at a time, each input byte at most 6 output bytes */
		size_t piece = n - i < 256 ? n - i : 256;
		d = haven__jw_room(w, piece * 6 + 1);
		char *d0 = d;
		for (size_t end = i + piece; i < end; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
				*d++ = (char)c;
			} else if (c == '"' || c == '\\') {
				*d++ = '\\';
				*d++ = (char)c;
			} else if (c == '\n') {
				*d++ = '\\';
				*d++ = 'n';
			} else if (c == '\t') {
				*d++ = '\\';
				*d++ = 't';
			} else if (c == '\r') {
				*d++ = '\\';
				*d++ = 'r';
			} else {
				memcpy(d, "\\u00", 4);
				d[4] = hex[c >> 4];
				d[5] = hex[c & 15];
				d += 6;
			}
		}
		w->n += (size_t)(d - d0);
	}
	d = haven__jw_room(w, 1);
	*d = '"';
	w->n++;
}

void haven__jw_cstr(struct haven__jw *w, const char *s)
{
	haven__jw_str(w, s, strlen(s));
}

void haven__jw_num(struct haven__jw *w, double v)
{
	char *tmp = haven__jw_room(w, 32);
	if (!(v == v)) {
		memcpy(tmp, "null", 4);
		w->n += 4;
		return;
	}
	if (v >= 1e9 || v <= -1e9) {
		int k = snprintf(tmp, 32, "%.6g", v);
		w->n += k > 0 && k < 32 ? (size_t)k : 0;
		return;
	}
	/* Fixed 4 decimals written by hand: snprintf per number is a visible share of the
	 * time of `haven analyze`. Locale-independent by construction. */
	size_t l = 0;
	int neg = v < 0;
	unsigned long long scaled = (unsigned long long)((neg ? -v : v) * 10000.0 + 0.5);
	unsigned long long ip = scaled / 10000, fp = scaled % 10000;
	if (neg && scaled)
		tmp[l++] = '-';
	if (ip < 10) {
		tmp[l++] = (char)('0' + ip);
	} else {
		char digits[24];
		size_t nd = 0;
		do {
			digits[nd++] = (char)('0' + ip % 10);
			ip /= 10;
		} while (ip);
		while (nd)
			tmp[l++] = digits[--nd];
	}
	/* the decimals, trailing zeros dropped but one digit kept */
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";
	tmp[l] = '.';
	memcpy(tmp + l + 1, pairs + 2 * (fp / 100), 2);
	memcpy(tmp + l + 3, pairs + 2 * (fp % 100), 2);
	l += fp % 10 ? 5 : fp % 100 ? 4 : fp % 1000 ? 3 : 2;
	w->n += l;
}

void haven__jw_uint(struct haven__jw *w, unsigned long long v)
{
	char d[24];
	size_t n = sizeof(d);
	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	haven__jw_put(w, d + n, sizeof(d) - n);
}

/* ------------------------------------------------------------------ risk */

static void flags_json(struct haven__jw *w, unsigned flags)
{
	int first = 1;
	for (unsigned bit = 1; bit && bit <= HAVEN_CRISIS_TRUNCATED; bit <<= 1) {
		if (!(flags & bit))
			continue;
		if (!first)
			HAVEN_JW_LIT(w, ",");
		first = 0;
		haven__jw_cstr(w, haven_crisis_flag_name(bit));
	}
}

static void risk_json(const struct haven_crisis_result *r, struct haven__jw *w)
{
	HAVEN_JW_LIT(w, "{\"level\":");
	haven__jw_cstr(w, haven_risk_level_name(r->level));
	HAVEN_JW_LIT(w, ",\"score\":");
	haven__jw_num(w, r->score);
	HAVEN_JW_LIT(w, ",\"reasons\":[");
	for (size_t i = 0; i < r->n_reasons; i++) {
		const struct haven_crisis_reason *x = &r->reasons[i];
		if (i)
			HAVEN_JW_LIT(w, ",");
		HAVEN_JW_LIT(w, "{\"rule\":");
		haven__jw_cstr(w, x->rule);
		HAVEN_JW_LIT(w, ",\"description\":");
		haven__jw_cstr(w, x->description);
		if (x->lexicon_line) {
			HAVEN_JW_LIT(w, ",\"source\":\"lexicon\",\"phrase\":");
			haven__jw_cstr(w, x->phrase);
			HAVEN_JW_LIT(w, ",\"span\":[");
			haven__jw_uint(w, x->start);
			HAVEN_JW_LIT(w, ",");
			haven__jw_uint(w, x->end);
			HAVEN_JW_LIT(w, "],\"lexicon_line\":");
			haven__jw_uint(w, x->lexicon_line);
		} else {
			HAVEN_JW_LIT(w, ",\"source\":\"classifier\"");
		}
		HAVEN_JW_LIT(w, ",\"rule_level\":");
		haven__jw_cstr(w, haven_risk_level_name(x->rule_level));
		HAVEN_JW_LIT(w, ",\"level\":");
		haven__jw_cstr(w, haven_risk_level_name(x->level));
		HAVEN_JW_LIT(w, ",\"discounted_by\":[");
		flags_json(w, x->discounted_by);
		HAVEN_JW_LIT(w, "]}");
	}
	HAVEN_JW_LIT(w, "],\"flags\":[");
	flags_json(w, r->flags);
	HAVEN_JW_LIT(w, "],\"lexicon_version\":");
	haven__jw_cstr(w, r->lexicon_version);
	HAVEN_JW_LIT(w, ",\"model\":");
	if (r->model_used) {
		HAVEN_JW_LIT(w, "{\"status\":\"ok\",\"version\":");
		haven__jw_cstr(w, r->model_version ? r->model_version : "");
		HAVEN_JW_LIT(w, ",\"probability\":");
		haven__jw_num(w, r->model_probability);
		HAVEN_JW_LIT(w, ",\"top_terms\":[");
		for (size_t i = 0; i < r->n_model_terms; i++) {
			if (i)
				HAVEN_JW_LIT(w, ",");
			HAVEN_JW_LIT(w, "{\"term\":");
			haven__jw_cstr(w, r->model_terms[i].text);
			HAVEN_JW_LIT(w, ",\"weight\":");
			haven__jw_num(w, r->model_terms[i].weight);
			HAVEN_JW_LIT(w, "}");
		}
		HAVEN_JW_LIT(w, "]}");
	} else {
		HAVEN_JW_LIT(w, "{\"status\":\"missing\",\"name\":\"crisis\",\"message\":"
				"\"no crisis classifier installed (models/crisis.hvm); the "
				"level comes from the lexicon alone\"}");
	}
	if (r->short_model_used) {
		HAVEN_JW_LIT(w, ",\"short_model\":{\"version\":");
		haven__jw_cstr(w, r->short_model_version ? r->short_model_version : "");
		HAVEN_JW_LIT(w, ",\"probability\":");
		haven__jw_num(w, r->short_model_probability);
		HAVEN_JW_LIT(w, "}");
	}
	HAVEN_JW_LIT(w, "}");
}

int haven_analyzer_line_json(struct haven_analyzer *a, uint64_t line, const char *text,
			     size_t len, int cut, int replaced, size_t raw_len,
			     struct haven_buf *b)
{
	size_t i = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	if (i == len) {
		int rc = haven_buf_printf(b, "{\"line\":%llu,\"error\":{\"code\":\"empty_line\","
					     "\"message\":\"line %llu is empty; nothing to "
					     "analyse\"}}\n",
					  (unsigned long long)line, (unsigned long long)line);
		return rc ? HAVEN_ENOMEM : HAVEN_OK;
	}
	struct haven_crisis_result r;
	struct haven__jw *w = &a->jw;
	haven__jw_init(w, b);
	haven__text_reset(&a->text, text, len);
	haven__crisis_assess_shared(a->crisis, text, len, &a->text, &r);
	HAVEN_JW_LIT(w, "{\"line\":");
	haven__jw_uint(w, line);
	HAVEN_JW_LIT(w, ",\"risk\":");
	risk_json(&r, w);
	int rc = haven__engine_models_json(a->models, text, len, &a->text, w);
	size_t controls = 0;
	for (size_t k = 0; k < len; k++) {
		unsigned char ch = (unsigned char)text[k];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			controls++;
	}
	HAVEN_JW_LIT(w, ",\"input\":{\"bytes\":");
	haven__jw_uint(w, raw_len);
	if (cut || (r.flags & HAVEN_CRISIS_TRUNCATED))
		HAVEN_JW_LIT(w, ",\"truncated\":true");
	else
		HAVEN_JW_LIT(w, ",\"truncated\":false");
	if (cut) {
		char msg[160];
		int k = snprintf(msg, sizeof(msg),
				 ",\"message\":\"line longer than %zu bytes; only the first %zu "
				 "were analysed\"",
				 raw_len, raw_len);
		haven__jw_put(w, msg, k > 0 && (size_t)k < sizeof(msg) ? (size_t)k : 0);
	}
	if (replaced)
		HAVEN_JW_LIT(w, ",\"invalid_utf8_replaced\":true");
	else
		HAVEN_JW_LIT(w, ",\"invalid_utf8_replaced\":false");
	HAVEN_JW_LIT(w, ",\"control_characters\":");
	haven__jw_uint(w, controls);
	HAVEN_JW_LIT(w, "}}\n");
	int frc = haven__jw_finish(w);
	return rc || frc ? HAVEN_ENOMEM : HAVEN_OK;
}
