/*
 * api_int.h: private to src/api. The request context handlers receive, the router
 * table entry, the declarative body decoder and the reply helpers.
 *
 * A handler reads r (method, path parameter, decoded body, the signed-in user) and
 * replies exactly once through haven_reply_json(), haven_reply_text() or one of the
 * ..._or_reply helpers, which turn an error into a status and the one error shape:
 *   {"error": {"code": "snake_case", "message": "what was wrong and where"}}.
 *
 * Memory: everything a handler allocates for the request comes from r->arena, freed
 * in one go when the request ends. JSON values passed to haven_reply_json are consumed.
 */
#ifndef HAVEN_API_INT_H
#define HAVEN_API_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <jansson.h>

#include "api/api.h"
#include "audit/audit.h"

struct haven_req;
struct MHD_Connection;
typedef void (*haven_handler_fn)(struct haven_req *r);
typedef void (*haven_then_fn)(struct haven_req *r, void *arg, int rc, const char *err);

/* ---- Declarative body decoding ----
 * A body schema is a list of fields; decoding fills a struct of struct haven_jv members
 * at the given offsets. Unknown fields, wrong types, missing required fields, strings
 * longer than max_chars (code points) and numbers outside [min, max] are rejected with
 * a message naming the field. An OBJECT field decodes its own sub-schema into the same
 * struct. */
enum haven_jtype {
	HAVEN_JT_STRING,
	HAVEN_JT_INT,    /* a JSON integer */
	HAVEN_JT_NUMBER, /* integer or real */
	HAVEN_JT_BOOL,
	HAVEN_JT_OBJECT,
};

struct haven_jv {
	int present;
	const char *s; /* strings: NUL-terminated copy in the request arena */
	size_t len;
	int64_t i;
	double d;
	int b;
};

struct haven_field {
	const char *name;
	enum haven_jtype type;
	int required;
	size_t offset;    /* of the struct haven_jv in the target struct */
	size_t max_chars; /* strings; 0 = no limit beyond the body limit */
	size_t min_chars;
	double min, max;               /* numbers, when min < max */
	const struct haven_field *sub; /* OBJECT: fields, ended by a {NULL} entry */
};

struct haven_body_schema {
	const char *name;                 /* for messages: "login body" */
	const struct haven_field *fields; /* ended by a {NULL} entry */
	size_t size;                      /* sizeof the target struct */
};

/* Decodes and validates body[0..len) against schema into target (zeroed first).
 * On failure returns HAVEN_EINVAL and writes "what and where" into err. Handles
 * invalid UTF-8 (byte offset), malformed JSON (line, column, byte position), a
 * non-object top level, unknown, missing and mistyped fields. Pure: no I/O, so the
 * fuzz target calls it directly. */
int haven_body_decode(const struct haven_body_schema *schema, const char *body, size_t len,
                      struct haven_arena *arena, void *target, char *err, size_t errlen) HAVEN_WUR;

/* ---- Router ---- */
struct haven_route {
	const char *method;
	const char *pattern;
	enum haven_role_req role;
	haven_handler_fn handler;
	const struct haven_body_schema *body; /* NULL: the route takes no body */
};

/* ---- Request context ---- */
struct haven_principal {
	int64_t id;       /* 0 when anonymous */
	const char *role; /* "patient", "clinician", "admin" or "anonymous" */
	const char *email;
	const char *locale;
	int64_t created_at;
	uint8_t token_hash[HAVEN_TOKEN_HASH_BYTES];
};

struct haven_req {
	struct haven_api *api;
	struct haven_arena arena;
	const char *method;
	const char *path;
	const char *client_addr; /* numeric address of the peer */
	char request_id[65];
	int64_t start_ns;
	const struct haven_route *route;
	int route_index; /* -1 when no route matched */
	int64_t path_id; /* the {id} parameter */
	int has_path_id;
	struct haven_principal who;
	void *body; /* decoded body (route->body->size bytes), or NULL */
	struct MHD_Connection *conn; /* for headers and query arguments during dispatch */

	/* Upload state. */
	struct haven_buf raw; /* the body as received, limited to max_body */
	int body_too_large;
	int started; /* the handler may run once the upload is complete */
	const char *content_type;
	const char *authorization;

	/* Browser sessions (see docs/web.md). */
	int via_cookie;             /* authenticated by the session cookie, not a bearer header */
	const char *session_token;  /* the cookie's token (arena), to derive the CSRF token */
	const char *auth_failure;   /* "expired", "ended" or NULL after a failed authentication */
	int is_static;              /* answered from the web root */

	/* Reply. */
	int status;
	char *reply; /* malloc'd */
	size_t reply_len;
	const char *reply_type;
	char retry_after[24];
	const char *set_cookie;    /* a Set-Cookie value (arena), or NULL */
	int clear_site_data;       /* logout and erasure: Clear-Site-Data */
	const char *cache_control; /* NULL: no-store */
	const char *etag;
	int audited;               /* a handler already audited this request's refusal */
	const char *audit_subject; /* for refusals audited by the dispatcher */

	/* Deferred reply (haven__write_then); defer and defer_suspended are guarded by
	 * api->defer_lock. */
	int defer; /* HAVEN__DEFER_... */
	int defer_suspended;
	haven_then_fn then;
	void *then_arg;
	int then_rc;
	char then_err[256];
	/* Queued for the slow-work threads (haven__run_then), under api->slow_lock. */
	struct haven_req *slow_next;
	int (*slow_fn)(void *arg);
};

/* ---- Deferred replies ----
 * A handler whose work ends in a durable write need not hold its worker thread while
 * the write's group commits: as its last step it calls haven__write_then() instead of
 * haven_store_write() and returns without replying. The connection is then suspended
 * (no worker waits for it); once the group has committed or failed, then(r, arg, rc,
 * err) runs on a worker thread and replies as a handler does. arg, and whatever then
 * needs, must live in r->arena (or be owned by arg), not on the handler's stack. */
enum { HAVEN__DEFER_NONE, HAVEN__DEFER_QUEUED, HAVEN__DEFER_FINISHED, HAVEN__DEFER_REPLIED };
void haven__write_then(struct haven_req *r, haven_tx_fn fn, void *arg, haven_then_fn then);
/* The same with a copy of *arg (size bytes) made in r->arena, for a handler whose op
 * lives on its stack; without memory for the copy, then() runs at once on arg itself. */
void haven__write_then_copy(struct haven_req *r, haven_tx_fn fn, const void *arg, size_t size,
                            haven_then_fn then);
/* The same for slow work that is not a single write, such as a password check (argon2id,
 * tens of milliseconds and 64 MiB): fn(arg) runs on one of the server's few slow-work
 * threads, where it may block on the store, and its result goes to then() on a worker. fn
 * must not touch r->arena (the worker may still be using it as fn starts); give it its
 * own. Returns nothing: a server that is stopping hands then() HAVEN_ECLOSED. */
void haven__run_then(struct haven_req *r, int (*fn)(void *arg), void *arg, haven_then_fn then);

/* Sends obj (consumed) with status. */
void haven_reply_json(struct haven_req *r, int status, json_t *obj);
void haven_reply_text(struct haven_req *r, int status, const char *type, const char *text,
                      size_t len);
void haven_reply_empty(struct haven_req *r, int status);
/* The one error helper: status, code, and a formatted message. */
void haven_reply_error(struct haven_req *r, int status, const char *code, const char *fmt, ...)
    HAVEN_PRINTF(4, 5);
/* Maps a haven_err from the store or crypto to 500/503/409/... with the error shape.
 * what names the operation ("creating the user"); never echoes clinical text. */
void haven_reply_err(struct haven_req *r, int err, const char *what);
/* 404 in the shape every cross-patient or missing record gets. */
void haven_reply_not_found(struct haven_req *r);

/* The value of query argument name ("?status=open"), or NULL; valid during the request. */
const char *haven__query_arg(struct haven_req *r, const char *name);

/* Appends an audit record for r inside tx (actor = the signed-in user). */
int haven__audit(struct haven_tx *tx, struct haven_req *r, const char *action, const char *subject,
                 const char *outcome, const char *detail) HAVEN_WUR;

/* ---- Server internals shared by the handler files ---- */
struct haven__throttle;

struct haven__metrics;
struct haven__chat;

struct haven_api {
	struct haven_api_config cfg;
	struct haven_store *store;
	const struct haven_master_key *mk;
	struct MHD_Daemon *daemon;
	int port;
	int listen_fd;        /* Haven's own listening socket (see server.c) */
	pthread_t acceptor;   /* accepts and hands connections to the daemon */
	int acceptor_started;
	atomic_int stopping;
	int64_t started_ms;
	atomic_int in_flight;
	struct haven__metrics *metrics;
	struct haven__throttle *throttle;
	struct haven__chat *chat; /* the support agent and its per-thread workers */
	struct haven__sessions *sessions; /* recent session lookups (sessions.c) */
	/* Connections still receiving a request, for the request deadline (server.c). */
	pthread_mutex_t conns_lock;
	pthread_cond_t conns_cond;
	struct haven__conn *conns;
	pthread_t watchdog;
	int watchdog_started;
	atomic_ullong requests_timed_out;
	/* Deferred replies (server.c): guards each request's defer state; suspended counts
	 * connections waiting for their write, which must be none when the daemon stops. */
	pthread_mutex_t defer_lock;
	int suspended;
	/* Slow-work threads (haven__run_then) and their queue. */
	pthread_t slow[2];
	int slow_started;
	pthread_mutex_t slow_lock;
	pthread_cond_t slow_cond;
	struct haven_req *slow_head, *slow_tail;
	int slow_stop;
};

/* The support agent (chat.c): loaded at start (content, models, crisis lines). */
int haven__chat_create(struct haven_api *api, struct haven__chat **out) HAVEN_WUR;
void haven__chat_destroy(struct haven__chat **c);
/* Makes the agent's first worker in the background (haven_api_start, once listening). */
void haven__chat_warm(struct haven__chat *c);
/* The agent the server loaded (read-only, shared by every thread; exercises.c lists its
 * content). */
struct haven_dialog;
const struct haven_dialog *haven__chat_dialog(const struct haven__chat *c);

const struct haven_route *haven__routes(size_t *count);
/* Finds the route for method + path. Sets *index and the {id} parameter; returns
 * NULL with *method_mismatch set when the path exists under another method. */
const struct haven_route *haven__route_match(const char *method, const char *path, int *index,
                                             int64_t *id, int *has_id, int *method_mismatch);

/* The value of a request header or query argument during dispatch, or NULL. */
const char *haven__header(struct haven_req *r, const char *name);
const char *haven__query(struct haven_req *r, const char *name);

/* Browser sessions: the cookie's name, the Set-Cookie value that stores token (or, with
 * token NULL, clears the cookie), and the CSRF token derived from a session token
 * (64 hex digits and a NUL). */
#define HAVEN_SESSION_COOKIE "haven_session"
const char *haven__session_cookie(struct haven_req *r, const char *token, int64_t max_age_s);
void haven__csrf_token(const char *session_token, char out[65]);
/* 1 when a cookie-authenticated state-changing request carries the right X-CSRF-Token. */
int haven__csrf_ok(struct haven_req *r);

/* Static files: answers a GET or HEAD outside /api/ from cfg.web_root. */
void haven__static_serve(struct haven_req *r);

/* Authentication: resolves the bearer token into r->who. 0, HAVEN_EAUTH for a missing,
 * unknown, expired or revoked token, or a store error. */
int haven__authenticate(struct haven_req *r) HAVEN_WUR;

/* Recent session lookups (sessions.c), kept while haven_store_auth_epoch() says nothing
 * changed. get fills r->who and returns 1 on a current entry; put keeps r->who as read
 * under epoch (taken before the read) for a session that expires at expires_at. */
#define HAVEN_SESSION_LOCALE_MAX 40
struct haven__sessions;
int haven__sessions_create(struct haven__sessions **out) HAVEN_WUR;
void haven__sessions_destroy(struct haven__sessions **c);
int haven__sessions_get(struct haven__sessions *c, uint64_t epoch, const uint8_t *hash,
                        int64_t now_ms, struct haven_req *r);
void haven__sessions_put(struct haven__sessions *c, uint64_t epoch, const uint8_t *hash,
                         int64_t now_ms, int64_t expires_at, const struct haven_req *r);
void haven__sessions_stats(struct haven__sessions *c, uint64_t *hits, uint64_t *misses);

/* Login throttling (in memory, per account and per client address). */
int haven__throttle_create(struct haven__throttle **out) HAVEN_WUR;
void haven__throttle_destroy(struct haven__throttle **t);
/* 0 when allowed; otherwise HAVEN_ELIMIT and *retry_after_s. */
int haven__throttle_check(struct haven__throttle *t, const char *key, int limit, int64_t window_ms,
                          int64_t now_ms, int64_t *retry_after_s);
void haven__throttle_fail(struct haven__throttle *t, const char *key, int64_t window_ms,
                          int64_t now_ms);
void haven__throttle_clear(struct haven__throttle *t, const char *key);

/* Metrics. */
int haven__metrics_create(size_t nroutes, struct haven__metrics **out) HAVEN_WUR;
void haven__metrics_destroy(struct haven__metrics **m);
void haven__metrics_observe(struct haven__metrics *m, int route_index, int status,
                            int64_t duration_ns);
int haven__metrics_render(struct haven_api *api, struct haven_buf *out) HAVEN_WUR;

/* Handlers (one group per file). */
void haven__h_healthz(struct haven_req *r);
void haven__h_readyz(struct haven_req *r);
void haven__h_metrics(struct haven_req *r);
void haven__h_login(struct haven_req *r);
void haven__h_logout(struct haven_req *r);
void haven__h_register(struct haven_req *r);
void haven__h_me(struct haven_req *r);
void haven__h_users_create(struct haven_req *r);
void haven__h_users_list(struct haven_req *r);
void haven__h_invitations_create(struct haven_req *r);
void haven__h_patients_list(struct haven_req *r);
void haven__h_patient_get(struct haven_req *r);
void haven__h_patient_checkins(struct haven_req *r);
void haven__h_consents_get(struct haven_req *r);
void haven__h_consents_put(struct haven_req *r);
void haven__h_checkins_create(struct haven_req *r);
void haven__h_checkins_list(struct haven_req *r);
void haven__h_export(struct haven_req *r);
void haven__h_erase(struct haven_req *r);
void haven__h_chat_post(struct haven_req *r);
void haven__h_chat_list(struct haven_req *r);
void haven__h_patient_messages(struct haven_req *r);
void haven__h_safety_plan_get(struct haven_req *r);
void haven__h_safety_plan_put(struct haven_req *r);
void haven__h_patient_safety_plan(struct haven_req *r);
/* The patient's exercises, their own ratings and the suggestion (exercises.c). */
void haven__h_exercises(struct haven_req *r);
/* Measurement-based care (measures.c). */
void haven__h_instruments(struct haven_req *r);
void haven__h_assessments_create(struct haven_req *r);
void haven__h_assessments_list(struct haven_req *r);
void haven__h_patient_assessments(struct haven_req *r);
void haven__h_episode_open(struct haven_req *r);
void haven__h_episode_close(struct haven_req *r);
void haven__h_patient_outcomes(struct haven_req *r);
void haven__h_caseload_outcomes(struct haven_req *r);
void haven__h_patient_fhir(struct haven_req *r);
void haven__h_reminders_get(struct haven_req *r);
void haven__h_reminders_put(struct haven_req *r);
void haven__h_patient_reminders(struct haven_req *r);
/* Monitoring: sensing, risk, the clinic's thresholds (monitoring.c). */
void haven__h_sensing_create(struct haven_req *r);
void haven__h_sensing_own(struct haven_req *r);
void haven__h_patient_sensing(struct haven_req *r);
void haven__h_patient_risk(struct haven_req *r);
void haven__h_monitoring_config_get(struct haven_req *r);
void haven__h_monitoring_config_put(struct haven_req *r);
/* Alerts (alerts.c). */
void haven__h_alerts_list(struct haven_req *r);
void haven__h_alert_get(struct haven_req *r);
void haven__h_alert_ack(struct haven_req *r);
void haven__h_alert_resolve(struct haven_req *r);
void haven__h_escalation_contacts_get(struct haven_req *r);
void haven__h_escalation_contacts_put(struct haven_req *r);
void haven__h_audit_list(struct haven_req *r);
void haven__h_consent_document(struct haven_req *r);
void haven__h_audit_verify(struct haven_req *r);

extern const struct haven_body_schema haven__login_schema;
extern const struct haven_body_schema haven__register_schema;
extern const struct haven_body_schema haven__user_create_schema;
extern const struct haven_body_schema haven__consents_schema;
extern const struct haven_body_schema haven__checkin_schema;
extern const struct haven_body_schema haven__alert_resolve_schema;
extern const struct haven_body_schema haven__chat_schema;

/* Helpers for handlers. */
/* The latest granted/withdrawn state of a consent scope (0 when never given). */
int haven__consent_granted(struct haven_tx *tx, int64_t patient_id, const char *scope,
                           int *granted) HAVEN_WUR;
/* The current consent document version. */
int haven__consent_version(struct haven_tx *tx, int64_t *version) HAVEN_WUR;
/* Decrypted check-ins of a patient as a JSON array (newest first). */
int haven__checkins_json(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                         json_t **out) HAVEN_WUR;
/* Parses the request body as a JSON object (Content-Type application/json, valid UTF-8
 * and JSON), with only the keys in allowed (NULL-terminated; NULL: any key). Replies
 * with the error shape and returns NULL on any problem; the caller owns the result. */
json_t *haven__body_object(struct haven_req *r, const char *what, const char *const *allowed);
/* Formats epoch ms as an RFC 3339 JSON string. */
json_t *haven__json_time(int64_t ms);

#endif
