/*
 * chat.c: the support agent over HTTP. POST /chat/messages runs one turn (the same as
 * `haven chat --json`: analysis, safety gate, dialog, one durable encrypted write with its
 * audit record and any alert) and replies with the turn; GET /chat/messages is the
 * patient's own history; GET/PUT /me/safety-plan read and replace the patient's safety
 * plan. The agent (content, models, crisis lines) is loaded once when the server starts;
 * each worker thread borrows a struct haven_dialog_worker from a small pool.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "dialog/dialog.h"

#define POOL_MAX 256

struct haven__chat {
	struct haven_dialog *dialog;
	pthread_mutex_t lock;
	struct haven_dialog_worker *free_workers[POOL_MAX];
	size_t nfree;
	pthread_t warm; /* makes the first worker (and loads the crisis screen) */
	int warming;
};

static int worker_get(struct haven__chat *c, struct haven_dialog_worker **w);
static void worker_put(struct haven__chat *c, struct haven_dialog_worker *w);

/* The first worker is made in the background once the server is up, so the crisis
 * screen's load (the longest part of start-up) does not delay listening, and the first
 * conversation turn rarely waits for it: one that comes sooner waits for the load. */
static void *warm_main(void *arg)
{
	struct haven__chat *c = arg;
	struct haven_dialog_worker *w = NULL;
	if (worker_get(c, &w) == 0)
		worker_put(c, w);
	return NULL;
}

int haven__chat_create(struct haven_api *api, struct haven__chat **out)
{
	*out = NULL;
	struct haven__chat *c = haven_calloc(1, sizeof(*c));
	if (!c)
		return HAVEN_ENOMEM;
	char err[512] = "";
	struct haven_dialog_config cfg = {.default_locale = api->cfg.locale[0] ? api->cfg.locale
									       : NULL};
	int rc = haven_dialog_create(&cfg, &c->dialog, err, sizeof(err));
	if (rc) {
		haven_log(HAVEN_LOG_ERROR, "event=agent_load_failed reason=\"%s\"", err);
		free(c);
		return rc;
	}
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void haven__chat_warm(struct haven__chat *c)
{
	if (!c->warming)
		c->warming = pthread_create(&c->warm, NULL, warm_main, c) == 0;
}

void haven__chat_destroy(struct haven__chat **pc)
{
	struct haven__chat *c = *pc;
	if (!c)
		return;
	if (c->warming)
		pthread_join(c->warm, NULL);
	for (size_t i = 0; i < c->nfree; i++)
		haven_dialog_worker_destroy(&c->free_workers[i]);
	haven_dialog_destroy(&c->dialog);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*pc = NULL;
}

const struct haven_dialog *haven__chat_dialog(const struct haven__chat *c)
{
	return c->dialog;
}

static int worker_get(struct haven__chat *c, struct haven_dialog_worker **w)
{
	pthread_mutex_lock(&c->lock);
	*w = c->nfree ? c->free_workers[--c->nfree] : NULL;
	pthread_mutex_unlock(&c->lock);
	if (*w)
		return 0;
	char err[256];
	int rc = haven_dialog_worker_create(c->dialog, w, err, sizeof(err));
	if (rc)
		haven_log(HAVEN_LOG_ERROR, "event=agent_worker_failed reason=\"%s\"", err);
	return rc;
}

static void worker_put(struct haven__chat *c, struct haven_dialog_worker *w)
{
	pthread_mutex_lock(&c->lock);
	if (c->nfree < POOL_MAX) {
		c->free_workers[c->nfree++] = w;
		w = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	haven_dialog_worker_destroy(&w);
}

struct chat_body {
	struct haven_jv text;
};
static const struct haven_field chat_fields[] = {
    {.name = "text",
     .type = HAVEN_JT_STRING,
     .required = 1,
     .offset = offsetof(struct chat_body, text),
     .max_chars = 2000,
     .min_chars = 1},
    {.name = NULL},
};
const struct haven_body_schema haven__chat_schema = {"chat message body", chat_fields,
                                                     sizeof(struct chat_body)};

/* The turn (or the newest message of the history) gets "expects": what the agent now
 * waits for, for quick replies (haven_dialog_expects, docs/chat.md). */
static int add_expects(const struct haven_dialog *d, json_t *turn)
{
	const char *state = json_string_value(json_object_get(turn, "state"));
	const char *reply = json_string_value(json_object_get(turn, "reply"));
	json_t *ex = haven_dialog_expects(d, state, reply);
	return ex && !json_object_set_new(turn, "expects", ex) ? 0 : HAVEN_ENOMEM;
}

/* A turn whose write is queued: the dialog worker stays the turn's until it is written. */
struct chat_post {
	struct haven_dialog_worker *w;
	struct haven_chat_turn *turn;
};

static int chat_post_tx(struct haven_tx *tx, void *arg)
{
	struct chat_post *p = arg;
	return haven_chat_turn_tx(tx, p->turn);
}

static void chat_written(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct chat_post *p = arg;
	(void)err;
	json_t *turn = haven_chat_turn_end(&p->turn);
	worker_put(r->api->chat, p->w);
	if (rc) {
		json_decref(turn);
		haven_reply_err(r, rc, "storing the chat turn");
		return;
	}
	if ((rc = add_expects(r->api->chat->dialog, turn))) {
		json_decref(turn);
		haven_reply_err(r, rc, "describing the chat turn");
		return;
	}
	haven_reply_json(r, 200, turn);
}

void haven__h_chat_post(struct haven_req *r)
{
	const struct chat_body *b = r->body;
	size_t start = 0;
	while (start < b->text.len && (b->text.s[start] == ' ' || b->text.s[start] == '\t' ||
	                               b->text.s[start] == '\n' || b->text.s[start] == '\r'))
		start++;
	if (start == b->text.len) {
		haven_reply_error(r, 400, "invalid_body", "chat message body: field \"text\" is blank");
		return;
	}
	if (b->text.len > HAVEN_CHAT_MAX_TEXT || memchr(b->text.s, '\0', b->text.len)) {
		haven_reply_error(r, 400, "invalid_body",
		                  "chat message body: field \"text\" must be at most %d bytes of "
		                  "text without NUL characters",
		                  HAVEN_CHAT_MAX_TEXT);
		return;
	}
	struct chat_post *p = haven_arena_alloc(&r->arena, sizeof(*p));
	if (!p) {
		haven_reply_err(r, HAVEN_ENOMEM, "preparing the agent");
		return;
	}
	memset(p, 0, sizeof(*p));
	int rc = worker_get(r->api->chat, &p->w);
	if (rc) {
		haven_reply_err(r, rc, "preparing the agent");
		return;
	}
	struct haven_chat_who who = {
	    .patient_id = r->who.id, .locale = r->who.locale, .request_id = r->request_id};
	rc = haven_chat_turn_begin(r->api->mk, p->w, &who, b->text.s, b->text.len, &p->turn);
	if (rc) {
		chat_written(r, p, rc, "");
		return;
	}
	/* The write (dialog step, sealing, audit, any alert) runs on the store's writer; no
	 * HTTP worker waits for it (haven__write_then). */
	haven__write_then(r, chat_post_tx, p, chat_written);
}

struct history_op {
	struct haven_req *r;
	json_t *arr;
};

static int history_tx(struct haven_tx *tx, void *arg)
{
	struct history_op *op = arg;
	int rc = haven_chat_history(tx, op->r->api->mk, op->r->who.id, 0, 0, &op->arr);
	if (rc)
		return rc;
	char subject[48], detail[32];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)op->r->who.id);
	snprintf(detail, sizeof(detail), "count=%zu", json_array_size(op->arr));
	return haven__audit(tx, op->r, "chat.read", subject, "ok", detail);
}

/* After the audited read (a deferred reply: no worker waits for its group commit). */
static void history_read(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct history_op *op = arg;
	(void)err;
	size_t n = rc ? 0 : json_array_size(op->arr);
	if (!rc && n)
		rc = add_expects(r->api->chat->dialog, json_array_get(op->arr, n - 1));
	if (rc) {
		json_decref(op->arr);
		haven_reply_err(r, rc, "reading the chat history");
		return;
	}
	haven_reply_json(r, 200, json_pack("{s:o}", "messages", op->arr));
}

void haven__h_chat_list(struct haven_req *r)
{
	struct history_op op = {r, NULL};
	haven__write_then_copy(r, history_tx, &op, sizeof(op), history_read);
}

/* ---- Safety plan ---- */

struct plan_op {
	struct haven_req *r;
	json_t *in;
	json_t *out;
	const char *what; /* for an error reply */
	char err[256];
};

/* After the safety plan's read or write (a deferred reply: no worker waits for the group
 * commit). */
static void plan_done(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct plan_op *op = arg;
	(void)err;
	json_decref(op->in);
	if (rc) {
		json_decref(op->out);
		haven_reply_err(r, rc, op->what);
		return;
	}
	haven_reply_json(r, 200, op->out);
}

static int plan_get_tx(struct haven_tx *tx, void *arg)
{
	struct plan_op *op = arg;
	int rc = haven_safety_plan_get(tx, op->r->api->mk, op->r->who.id, &op->out);
	if (rc)
		return rc;
	char subject[48];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)op->r->who.id);
	return haven__audit(tx, op->r, "safety_plan.read", subject, "ok", NULL);
}

static int plan_put_tx(struct haven_tx *tx, void *arg)
{
	struct plan_op *op = arg;
	json_decref(op->out);
	op->out = NULL;
	int rc = haven_safety_plan_put(tx, op->r->api->mk, op->r->who.id, op->in, op->err,
	                               sizeof(op->err));
	if (rc)
		return rc;
	char subject[48];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)op->r->who.id);
	if ((rc = haven__audit(tx, op->r, "safety_plan.write", subject, "ok", NULL)))
		return rc;
	return haven_safety_plan_get(tx, op->r->api->mk, op->r->who.id, &op->out);
}

void haven__h_safety_plan_get(struct haven_req *r)
{
	struct plan_op op = {.r = r, .what = "reading the safety plan"};
	haven__write_then_copy(r, plan_get_tx, &op, sizeof(op), plan_done);
}

void haven__h_safety_plan_put(struct haven_req *r)
{
	const char *ct = r->content_type;
	if (!ct || strncasecmp(ct, "application/json", 16)) {
		haven_reply_error(r, 415, "unsupported_media_type",
		                  "Content-Type must be application/json, not '%.60s'",
		                  ct ? ct : "(none)");
		return;
	}
	size_t bad;
	const char *body = r->raw.data ? r->raw.data : "";
	if (!haven_utf8_valid(body, r->raw.len, &bad)) {
		haven_reply_error(r, 400, "invalid_body",
		                  "safety plan body: invalid UTF-8 at byte %zu", bad);
		return;
	}
	json_error_t je;
	struct plan_op op = {.r = r};
	op.in = json_loadb(body, r->raw.len, JSON_REJECT_DUPLICATES, &je);
	if (!op.in) {
		haven_reply_error(r, 400, "invalid_body",
		                  "safety plan body: malformed JSON at line %d, column %d: %s",
		                  je.line, je.column, je.text);
		return;
	}
	/* "updated_at" from a previous GET may be sent back; it is ignored. */
	json_object_del(op.in, "updated_at");
	if (haven_safety_plan_validate(op.in, op.err, sizeof(op.err))) {
		json_decref(op.in);
		haven_reply_error(r, 400, "invalid_body", "safety plan body: %s", op.err);
		return;
	}
	op.what = "storing the safety plan";
	haven__write_then_copy(r, plan_put_tx, &op, sizeof(op), plan_done);
}
