/*
 * json.c: request body decoding with declarative validation, and the reply helpers
 * that give every response, and every error, one shape.
 *
 * Why jansson and not cJSON: jansson's parser reports every error with a line, a
 * column, a byte position and a sentence (json_error_t), rejects duplicate keys on
 * request (JSON_REJECT_DUPLICATES), rejects invalid UTF-8 and "\u0000" by default and
 * keeps no global state, so it is safe on many worker threads. cJSON only gives a
 * pointer to where parsing stopped, through a global (cJSON_GetErrorPtr) shared by all
 * threads, and accepts duplicate keys silently.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

static size_t count_chars(const char *s, size_t n)
{
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			chars++;
	return chars;
}

/* A field name from the body, safe to quote in a message: at most 40 characters. */
static void quote_name(const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name), i = 0, chars = 0;
	while (i < n && chars < 40) {
		uint32_t cp;
		i += haven_utf8_decode(name + i, n - i, &cp);
		chars++;
	}
	snprintf(out, outlen, "%.*s%s", (int)i, name, i < n ? "..." : "");
}

static int decode_object(const struct haven_field *fields, const char *prefix, json_t *obj,
                         struct haven_arena *arena, char *target, char *err, size_t errlen)
{
	const char *key;
	json_t *val;
	json_object_foreach(obj, key, val)
	{
		const struct haven_field *f = fields;
		while (f->name && strcmp(f->name, key))
			f++;
		if (!f->name) {
			char q[200];
			quote_name(key, q, sizeof(q));
			snprintf(err, errlen, "unknown field '%s%s'", prefix, q);
			return HAVEN_EINVAL;
		}
	}
	for (const struct haven_field *f = fields; f->name; f++) {
		struct haven_jv *jv = (struct haven_jv *)(target + f->offset);
		val = json_object_get(obj, f->name);
		if (!val || json_is_null(val)) {
			if (f->required) {
				snprintf(err, errlen, "missing required field '%s%s'", prefix,
				         f->name);
				return HAVEN_EINVAL;
			}
			continue;
		}
		switch (f->type) {
		case HAVEN_JT_STRING: {
			if (!json_is_string(val)) {
				snprintf(err, errlen, "field '%s%s' must be a string", prefix,
				         f->name);
				return HAVEN_EINVAL;
			}
			const char *s = json_string_value(val);
			size_t len = json_string_length(val);
			size_t chars = count_chars(s, len);
			if (f->max_chars && chars > f->max_chars) {
				snprintf(err, errlen,
				         "field '%s%s' is too long: %zu characters, at most %zu",
				         prefix, f->name, chars, f->max_chars);
				return HAVEN_EINVAL;
			}
			if (chars < f->min_chars) {
				snprintf(err, errlen,
				         "field '%s%s' is too short: %zu characters, at least %zu",
				         prefix, f->name, chars, f->min_chars);
				return HAVEN_EINVAL;
			}
			jv->s = haven_arena_strndup(arena, s, len);
			if (!jv->s) {
				snprintf(err, errlen, "out of memory decoding '%s%s'", prefix,
				         f->name);
				return HAVEN_ENOMEM;
			}
			jv->len = len;
			break;
		}
		case HAVEN_JT_INT:
			if (!json_is_integer(val)) {
				snprintf(err, errlen, "field '%s%s' must be an integer", prefix,
				         f->name);
				return HAVEN_EINVAL;
			}
			jv->i = json_integer_value(val);
			jv->d = (double)jv->i;
			if (f->min < f->max && (jv->d < f->min || jv->d > f->max)) {
				snprintf(err, errlen,
				         "field '%s%s' must be an integer from %g to %g", prefix,
				         f->name, f->min, f->max);
				return HAVEN_EINVAL;
			}
			break;
		case HAVEN_JT_NUMBER:
			if (!json_is_number(val)) {
				snprintf(err, errlen, "field '%s%s' must be a number", prefix,
				         f->name);
				return HAVEN_EINVAL;
			}
			jv->d = json_number_value(val);
			if (!isfinite(jv->d) ||
			    (f->min < f->max && (jv->d < f->min || jv->d > f->max))) {
				snprintf(err, errlen, "field '%s%s' must be a number from %g to %g",
				         prefix, f->name, f->min, f->max);
				return HAVEN_EINVAL;
			}
			break;
		case HAVEN_JT_BOOL:
			if (!json_is_boolean(val)) {
				snprintf(err, errlen, "field '%s%s' must be true or false", prefix,
				         f->name);
				return HAVEN_EINVAL;
			}
			jv->b = json_is_true(val);
			break;
		case HAVEN_JT_OBJECT: {
			if (!json_is_object(val)) {
				snprintf(err, errlen, "field '%s%s' must be an object", prefix,
				         f->name);
				return HAVEN_EINVAL;
			}
			char sub_prefix[96];
			snprintf(sub_prefix, sizeof(sub_prefix), "%s%s.", prefix, f->name);
			int rc = decode_object(f->sub, sub_prefix, val, arena, target, err, errlen);
			if (rc)
				return rc;
			break;
		}
		}
		jv->present = 1;
	}
	return HAVEN_OK;
}

int haven_body_decode(const struct haven_body_schema *schema, const char *body, size_t len,
                      struct haven_arena *arena, void *target, char *err, size_t errlen)
{
	json_t *root = NULL;
	int rc = HAVEN_EINVAL;
	size_t bad;

	memset(target, 0, schema->size);
	if (len == 0) {
		snprintf(err, errlen, "the request body is empty; expected a JSON object (%s)",
		         schema->name);
		goto out;
	}
	if (!haven_utf8_valid(body, len, &bad)) {
		snprintf(err, errlen, "the request body is not valid UTF-8 at byte %zu", bad);
		goto out;
	}
	json_error_t jerr;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "malformed JSON at line %d, column %d (byte %d): %s",
		         jerr.line, jerr.column, jerr.position, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "the request body must be a JSON object (%s)", schema->name);
		goto out;
	}
	rc = decode_object(schema->fields, "", root, arena, target, err, errlen);
out:
	json_decref(root);
	return rc;
}

/* ---- Replies ---- */

static void set_reply(struct haven_req *r, int status, const char *type, char *body, size_t len)
{
	free(r->reply);
	r->status = status;
	r->reply_type = type;
	r->reply = body;
	r->reply_len = len;
}

void haven_reply_json(struct haven_req *r, int status, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (!text) {
		static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":"
		                          "\"the reply could not be built\"}}";
		text = strdup(oom);
		status = 500;
		if (!text) {
			set_reply(r, 500, "application/json", NULL, 0);
			return;
		}
	}
	set_reply(r, status, "application/json", text, strlen(text));
}

void haven_reply_text(struct haven_req *r, int status, const char *type, const char *text,
                      size_t len)
{
	char *copy = malloc(len + 1);
	if (!copy) {
		set_reply(r, 500, "text/plain", NULL, 0);
		return;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	set_reply(r, status, type, copy, len);
}

void haven_reply_empty(struct haven_req *r, int status)
{
	set_reply(r, status, NULL, NULL, 0);
}

void haven_reply_error(struct haven_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages may quote field names from the body: make sure they are valid UTF-8. */
	struct haven_buf clean;
	haven_buf_init(&clean, sizeof(msg) * 3);
	json_t *err = NULL;
	if (haven_utf8_sanitize(&clean, msg, strlen(msg)) == 0)
		err = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
		                clean.data ? clean.data : "");
	haven_buf_release(&clean);
	haven_reply_json(r, status, err);
}

void haven_reply_not_found(struct haven_req *r)
{
	haven_reply_error(r, 404, "not_found", "no such resource: %s %s", r->method,
	                  r->route ? r->route->pattern : r->path);
}

void haven_reply_err(struct haven_req *r, int err, const char *what)
{
	switch (err) {
	case HAVEN_ENOTFOUND:
		haven_reply_not_found(r);
		break;
	case HAVEN_ECONFLICT:
		haven_reply_error(r, 409, "conflict", "conflict while %s", what);
		break;
	case HAVEN_EINVAL:
		haven_reply_error(r, 400, "invalid_request", "invalid request while %s", what);
		break;
	case HAVEN_EBUSY:
	case HAVEN_ECLOSED:
	case HAVEN_ETIMEOUT:
		haven_reply_error(r, 503, "unavailable", "the server is busy while %s; retry",
		                  what);
		break;
	default:
		haven_log(HAVEN_LOG_ERROR, "event=handler_error request_id=%s what=\"%s\" err=%s",
		          r->request_id, what, haven_strerror(err));
		haven_reply_error(r, 500, "internal", "internal error while %s (request %s)", what,
		                  r->request_id);
		break;
	}
}

json_t *haven__json_time(int64_t ms)
{
	char ts[32];
	haven_time_format(ms, ts);
	return json_string(ts);
}

int haven__audit(struct haven_tx *tx, struct haven_req *r, const char *action, const char *subject,
                 const char *outcome, const char *detail)
{
	struct haven_audit_event ev = {
	    .actor_id = r->who.id,
	    .actor_role = r->who.role ? r->who.role : "anonymous",
	    .action = action,
	    .subject = subject ? subject : "",
	    .outcome = outcome,
	    .request_id = r->request_id,
	    .detail = detail,
	};
	return haven_audit_append(tx, &ev);
}
