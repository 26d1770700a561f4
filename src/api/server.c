/*
 * server.c: the libmicrohttpd glue. One request flows through here:
 *   first callback (headers read): request context, request id, Content-Length check;
 *   upload callbacks: the body is copied into a buffer capped at max_body;
 *   last callback: route, authenticate, authorise, check the content type, decode and
 *     validate the body, run the handler, audit a refusal, queue the reply;
 *   completion: one structured log line, metrics, the arena is freed.
 * Haven owns the listening socket and an acceptor thread hands connections to the
 * daemon (see "Listening" below). Shutdown closes the listening socket (no new
 * connections), waits for requests in flight and then stops the daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "api/api_int.h"

#define REQ_ARENA_MAX (4u << 20)

#define HAVEN_CSP                                                                               \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "        \
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; form-action 'self'; "         \
	"base-uri 'none'; frame-ancestors 'none'"

const char *haven__header(struct haven_req *r, const char *name)
{
	return r->conn ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name) : NULL;
}

const char *haven__query(struct haven_req *r, const char *name)
{
	return r->conn ? MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

/* Worker threads when the configuration does not say. Check-ins and chat turns do not
 * hold a worker while they commit (deferred replies, docs/storage.md), so on SQLite, whose
 * reads are calls into the process, a few workers keep two cores busy and more only add
 * switching (bench/README.md: 2 and 4 best, 16 and 64 worse). On PostgreSQL every read is
 * a round trip to the database server during which its worker waits, so more workers keep
 * the cores busy (bench/chat.sh postgresql: 16 workers 1,653 turns/s, 4 workers 1,156). */
#define HAVEN__THREADS_SQLITE 4
#define HAVEN__THREADS_PG 16

void haven_api_config_init(struct haven_api_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	haven_strlcpy(cfg->host, "127.0.0.1", sizeof(cfg->host));
	cfg->port = 8080;
	/* 0: chosen by haven_api_start from the store (HAVEN__THREADS_*). */
	cfg->threads = 0;
	cfg->max_connections = 1024;
	cfg->connection_timeout_s = 30;
	cfg->request_timeout_s = 30;
	cfg->max_body = 64 * 1024;
	cfg->max_header = 32 * 1024;
	cfg->session_ttl_ms = 12LL * 3600 * 1000;
	cfg->invitation_ttl_ms = 7LL * 24 * 3600 * 1000;
	cfg->login_fail_account = 5;
	cfg->login_fail_address = 20;
	cfg->login_window_ms = 15LL * 60 * 1000;
	cfg->shutdown_grace_ms = 10000;
	haven_strlcpy(cfg->web_root, "web", sizeof(cfg->web_root));
}

/* ---- Request ids ---- */

static int request_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

static void request_id_init(struct haven_req *r, struct MHD_Connection *c)
{
	const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	if (given && request_id_ok(given)) {
		haven_strlcpy(r->request_id, given, sizeof(r->request_id));
		return;
	}
	uint8_t raw[8];
	haven_random_bytes(raw, sizeof(raw));
	haven_hex_encode(raw, sizeof(raw), r->request_id);
}

static const char *client_address(struct haven_req *r, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[NI_MAXHOST];
	if (!ci || !ci->client_addr)
		return "unknown";
	socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                                       : sizeof(struct sockaddr_in);
	if (getnameinfo(ci->client_addr, len, host, sizeof(host), NULL, 0, NI_NUMERICHOST))
		return "unknown";
	const char *copy = haven_arena_strdup(&r->arena, host);
	return copy ? copy : "unknown";
}

/* ---- Dispatch ---- */

static int is_refusal(int status)
{
	return status == 401 || status == 403 || status == 404 || status == 429;
}

static int audit_refusal_tx(struct haven_tx *tx, void *arg)
{
	struct haven_req *r = arg;
	char detail[160];
	snprintf(detail, sizeof(detail), "%s %s -> %d", r->method, r->route->pattern, r->status);
	return haven__audit(tx, r, "request.refused", r->audit_subject, "denied", detail);
}

static int content_type_is_json(const char *ct)
{
	if (!ct)
		return 0;
	static const char want[] = "application/json";
	if (strncasecmp(ct, want, sizeof(want) - 1))
		return 0;
	char next = ct[sizeof(want) - 1];
	return next == '\0' || next == ';' || next == ' ';
}

static void dispatch(struct haven_req *r)
{
	int method_mismatch;
	r->route = haven__route_match(r->method, r->path, &r->route_index, &r->path_id,
	                              &r->has_path_id, &method_mismatch);
	if (!r->route && !method_mismatch && strncmp(r->path, "/api/", 5) &&
	    (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"))) {
		haven__static_serve(r);
		return;
	}
	if (!r->route) {
		if (method_mismatch)
			haven_reply_error(r, 405, "method_not_allowed", "%s is not allowed on %s",
			                  r->method, r->path);
		else
			haven_reply_error(r, 404, "not_found", "no route for %s %s", r->method,
			                  r->path);
		return;
	}
	if (r->has_path_id)
		r->audit_subject =
		    haven_arena_printf(&r->arena, "patient:%lld", (long long)r->path_id);
	if (r->body_too_large) {
		haven_reply_error(r, 413, "body_too_large",
		                  "the request body is larger than the limit of %zu bytes",
		                  r->api->cfg.max_body);
		return;
	}
	if (r->route->role != HAVEN_ROLE_NONE) {
		int rc = haven__authenticate(r);
		if (rc == HAVEN_EAUTH) {
			if (r->via_cookie)
				r->set_cookie = haven__session_cookie(r, NULL, 0);
			if (r->auth_failure && !strcmp(r->auth_failure, "expired"))
				haven_reply_error(r, 401, "session_expired",
				                  "the session has expired; sign in again");
			else if (r->via_cookie)
				haven_reply_error(r, 401, "unauthorized",
				                  "the session has ended; sign in again");
			else
				haven_reply_error(r, 401, "unauthorized",
				                  "a valid bearer token is required (Authorization: "
				                  "Bearer <token> from POST /api/v1/auth/login)");
			goto audit;
		}
		if (rc) {
			haven_reply_err(r, rc == HAVEN_ENOMEM ? rc : HAVEN_EBUSY,
			                "checking the bearer token");
			return;
		}
		static const char *need[] = {
		    [HAVEN_ROLE_PATIENT] = "patient",
		    [HAVEN_ROLE_CLINICIAN] = "clinician",
		    [HAVEN_ROLE_ADMIN] = "admin",
		};
		if (r->route->role != HAVEN_ROLE_ANY && strcmp(r->who.role, need[r->route->role])) {
			haven_reply_error(r, 403, "forbidden", "%s %s is for the %s role",
			                  r->method, r->route->pattern, need[r->route->role]);
			goto audit;
		}
		if (!haven__csrf_ok(r)) {
			haven_reply_error(r, 403, "csrf_failed",
			                  "the X-CSRF-Token header is missing or wrong for this "
			                  "session; reload the page");
			goto audit;
		}
	}
	if (r->route->body) {
		if (!content_type_is_json(r->content_type)) {
			haven_reply_error(r, 415, "unsupported_media_type",
			                  "Content-Type must be application/json, not '%.60s'",
			                  r->content_type ? r->content_type : "(none)");
			return;
		}
		char err[400];
		void *target = haven_arena_alloc(&r->arena, r->route->body->size);
		if (!target) {
			haven_reply_err(r, HAVEN_ENOMEM, "decoding the body");
			return;
		}
		int rc = haven_body_decode(r->route->body, r->raw.data ? r->raw.data : "",
		                           r->raw.len, &r->arena, target, err, sizeof(err));
		if (rc == HAVEN_ENOMEM) {
			haven_reply_err(r, rc, "decoding the body");
			return;
		}
		if (rc) {
			haven_reply_error(r, 400, "invalid_body", "%s", err);
			return;
		}
		r->body = target;
	}
	r->route->handler(r);
audit:
	if (is_refusal(r->status) && !r->audited) {
		int rc = haven_store_write(r->api->store, audit_refusal_tx, r);
		if (rc)
			haven_log(HAVEN_LOG_ERROR,
			          "event=audit_failed request_id=%s status=%d err=%s",
			          r->request_id, r->status, haven_strerror(rc));
	}
}

static enum MHD_Result queue_reply(struct haven_req *r, struct MHD_Connection *c)
{
	if (!r->status)
		haven_reply_error(r, 500, "internal", "the handler did not reply");
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    r->reply_len, r->reply ? r->reply : (void *)"", MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (r->reply_type)
		MHD_add_response_header(resp, "Content-Type", r->reply_type);
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, "Cache-Control",
	                        r->cache_control ? r->cache_control : "no-store");
	if (r->etag)
		MHD_add_response_header(resp, "ETag", r->etag);
	/* The same strict headers on every reply, pages and API alike: scripts, styles and
	 * everything else only from this origin, no inline code, never framed. */
	MHD_add_response_header(resp, "Content-Security-Policy", HAVEN_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Permissions-Policy",
	                        "camera=(), microphone=(), geolocation=(), payment=()");
	if (r->set_cookie)
		MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
	if (r->clear_site_data)
		MHD_add_response_header(resp, "Clear-Site-Data", "\"cache\", \"cookies\", \"storage\"");
	if (r->retry_after[0])
		MHD_add_response_header(resp, "Retry-After", r->retry_after);
	if (r->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- The request deadline ----
 * libmicrohttpd's connection timeout is an idle timeout: a client that sends a byte now and
 * then keeps a connection, and a worker's share of attention, for as long as it likes. So
 * every connection is tracked from the moment it is added, and a deadline runs while it is
 * receiving a request (headers and body): from the connection's start, or from the end of
 * the previous reply on a kept-alive connection, until the request is complete. Time the
 * server spends answering does not count. A watchdog thread shuts down the socket of a
 * connection past its deadline; libmicrohttpd then sees the connection fail and closes it
 * itself. The socket is shut down only while its connection is in the list, under the
 * lock, and libmicrohttpd closes it only after the connection has left the list, so the
 * descriptor cannot belong to another connection by then. */
struct haven__conn {
	int fd;
	int64_t deadline_ns; /* 0: not receiving a request */
	struct haven__conn *prev, *next;
};

static struct haven__conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* The deadline of a request whose receiving starts now. */
static int64_t deadline_from_now(const struct haven_api *api)
{
	return haven_monotonic_ns() + (int64_t)api->cfg.request_timeout_s * 1000000000LL;
}

/* Starts (receiving = 1) or stops the deadline of c's connection. */
static void conn_receiving(struct haven_api *api, struct MHD_Connection *c, int receiving)
{
	struct haven__conn *k = conn_of(c);
	if (!k)
		return;
	pthread_mutex_lock(&api->conns_lock);
	k->deadline_ns = receiving ? deadline_from_now(api) : 0;
	pthread_mutex_unlock(&api->conns_lock);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct haven_api *api = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct haven__conn *k = ci ? calloc(1, sizeof(*k)) : NULL;
		if (!k)
			return; /* untracked: only the idle timeout applies to it */
		k->fd = ci->connect_fd;
		k->deadline_ns = deadline_from_now(api);
		pthread_mutex_lock(&api->conns_lock);
		k->next = api->conns;
		if (api->conns)
			api->conns->prev = k;
		api->conns = k;
		pthread_mutex_unlock(&api->conns_lock);
		*socket_context = k;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct haven__conn *k = *socket_context;
		if (!k)
			return;
		pthread_mutex_lock(&api->conns_lock);
		if (k->prev)
			k->prev->next = k->next;
		else
			api->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		pthread_mutex_unlock(&api->conns_lock);
		free(k);
		*socket_context = NULL;
	}
}

static void *watchdog_main(void *arg)
{
	struct haven_api *api = arg;
	pthread_mutex_lock(&api->conns_lock);
	while (!atomic_load(&api->stopping)) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&api->conns_cond, &api->conns_lock, &until);
		int64_t now = haven_monotonic_ns();
		unsigned n = 0;
		for (struct haven__conn *k = api->conns; k; k = k->next)
			if (k->deadline_ns && now > k->deadline_ns) {
				k->deadline_ns = 0;
				shutdown(k->fd, SHUT_RDWR);
				n++;
			}
		if (n) {
			atomic_fetch_add(&api->requests_timed_out, n);
			haven_log(HAVEN_LOG_WARN, "event=request_timeout connections=%u timeout_s=%d", n,
			          api->cfg.request_timeout_s);
		}
	}
	pthread_mutex_unlock(&api->conns_lock);
	return NULL;
}

static void watchdog_stop(struct haven_api *api)
{
	if (!api->watchdog_started)
		return;
	atomic_store(&api->stopping, 1);
	pthread_mutex_lock(&api->conns_lock);
	pthread_cond_signal(&api->conns_cond);
	pthread_mutex_unlock(&api->conns_lock);
	pthread_join(api->watchdog, NULL);
	api->watchdog_started = 0;
}

/* ---- Deferred replies (api_int.h) ----
 * The handler queued its write (haven__write_then) or slow work (haven__run_then). If it
 * has already finished, then() replies at once; otherwise the connection is suspended
 * under defer_lock, and deferred_finished(), on the store's writer thread or a slow-work
 * thread, resumes it under the same lock, so a resume never comes before its suspend.
 * libmicrohttpd then calls on_request again for the connection, which comes back here and
 * runs then(). */
static enum MHD_Result reply_or_wait(struct haven_req *r, struct MHD_Connection *c)
{
	struct haven_api *api = r->api;
	pthread_mutex_lock(&api->defer_lock);
	int state = r->defer;
	if (state == HAVEN__DEFER_QUEUED) {
		if (!r->defer_suspended) {
			r->defer_suspended = 1;
			api->suspended++;
			MHD_suspend_connection(c);
		}
		pthread_mutex_unlock(&api->defer_lock);
		return MHD_YES;
	}
	if (state == HAVEN__DEFER_FINISHED)
		r->defer = HAVEN__DEFER_REPLIED;
	pthread_mutex_unlock(&api->defer_lock);
	if (state == HAVEN__DEFER_FINISHED) {
		r->then(r, r->then_arg, r->then_rc, r->then_err);
		HAVEN_ASSERT(r->defer == HAVEN__DEFER_REPLIED);
	} else if (state == HAVEN__DEFER_REPLIED) {
		return MHD_YES; /* the reply is queued */
	}
	return queue_reply(r, c);
}

static void deferred_finished(void *ctx, int rc, const char *err)
{
	struct haven_req *r = ctx;
	struct haven_api *api = r->api;
	pthread_mutex_lock(&api->defer_lock);
	r->then_rc = rc;
	haven_strlcpy(r->then_err, err, sizeof(r->then_err));
	r->defer = HAVEN__DEFER_FINISHED;
	if (r->defer_suspended) {
		r->defer_suspended = 0;
		api->suspended--;
		MHD_resume_connection(r->conn);
	}
	/* r may be freed as soon as the lock is released: no more touching it. */
	pthread_mutex_unlock(&api->defer_lock);
}

void haven__write_then(struct haven_req *r, haven_tx_fn fn, void *arg, haven_then_fn then)
{
	HAVEN_ASSERT(r->defer == HAVEN__DEFER_NONE && then);
	r->then = then;
	r->then_arg = arg;
	r->defer = HAVEN__DEFER_QUEUED;
	int rc = haven_store_write_async(r->api->store, fn, arg, deferred_finished, r);
	if (rc) {
		/* Nothing was queued: then() runs as soon as the handler returns. */
		r->then_rc = rc;
		haven_strlcpy(r->then_err, haven_store_last_error(), sizeof(r->then_err));
		r->defer = HAVEN__DEFER_FINISHED;
	}
}

void haven__write_then_copy(struct haven_req *r, haven_tx_fn fn, const void *arg, size_t size,
                            haven_then_fn then)
{
	void *copy = haven_arena_alloc(&r->arena, size);
	if (!copy) {
		then(r, (void *)arg, HAVEN_ENOMEM, haven_strerror(HAVEN_ENOMEM));
		return;
	}
	memcpy(copy, arg, size);
	haven__write_then(r, fn, copy, then);
}

/* ---- Slow work (api_int.h, haven__run_then) ----
 * A couple of threads of their own run work that would hold a worker for long, such as a
 * password check: with 4 workers, four logins at once would otherwise stall every other
 * connection those workers serve for the length of an argon2id hash. Two threads also cap
 * the memory of hashes in flight at 2 x 64 MiB. */
static void *slow_main(void *arg)
{
	struct haven_api *api = arg;
	pthread_mutex_lock(&api->slow_lock);
	for (;;) {
		while (!api->slow_head && !api->slow_stop)
			pthread_cond_wait(&api->slow_cond, &api->slow_lock);
		struct haven_req *r = api->slow_head;
		if (!r)
			break; /* stopping, and nothing is left */
		api->slow_head = r->slow_next;
		if (!api->slow_head)
			api->slow_tail = NULL;
		pthread_mutex_unlock(&api->slow_lock);
		int rc = r->slow_fn(r->then_arg);
		deferred_finished(r, rc, rc ? haven_strerror(rc) : "");
		pthread_mutex_lock(&api->slow_lock);
	}
	pthread_mutex_unlock(&api->slow_lock);
	return NULL;
}

static void slow_stop(struct haven_api *api)
{
	pthread_mutex_lock(&api->slow_lock);
	api->slow_stop = 1;
	pthread_cond_broadcast(&api->slow_cond);
	pthread_mutex_unlock(&api->slow_lock);
	for (int i = 0; i < api->slow_started; i++)
		pthread_join(api->slow[i], NULL);
	api->slow_started = 0;
}

void haven__run_then(struct haven_req *r, int (*fn)(void *arg), void *arg, haven_then_fn then)
{
	struct haven_api *api = r->api;
	HAVEN_ASSERT(r->defer == HAVEN__DEFER_NONE && then && fn);
	r->then = then;
	r->then_arg = arg;
	r->slow_fn = fn;
	r->slow_next = NULL;
	r->defer = HAVEN__DEFER_QUEUED;
	pthread_mutex_lock(&api->slow_lock);
	int open = !api->slow_stop && api->slow_started;
	if (open) {
		if (api->slow_tail)
			api->slow_tail->slow_next = r;
		else
			api->slow_head = r;
		api->slow_tail = r;
		pthread_cond_signal(&api->slow_cond);
	}
	pthread_mutex_unlock(&api->slow_lock);
	if (!open) {
		r->then_rc = HAVEN_ECLOSED;
		haven_strlcpy(r->then_err, "the server is stopping", sizeof(r->then_err));
		r->defer = HAVEN__DEFER_FINISHED;
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct haven_api *api = cls;
	struct haven_req *r = *con_cls;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		atomic_fetch_add(&api->in_flight, 1);
		*con_cls = r;
		r->api = api;
		r->start_ns = haven_monotonic_ns();
		r->route_index = -1;
		haven_arena_init(&r->arena, REQ_ARENA_MAX);
		haven_buf_init(&r->raw, api->cfg.max_body);
		r->method = haven_arena_strdup(&r->arena, method);
		r->path = haven_arena_strdup(&r->arena, url);
		r->who.role = "anonymous";
		r->conn = c;
		request_id_init(r, c);
		r->client_addr = client_address(r, c);
		const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		r->content_type = ct ? haven_arena_strdup(&r->arena, ct) : NULL;
		r->authorization = auth ? haven_arena_strdup(&r->arena, auth) : NULL;
		if (!r->method || !r->path)
			return MHD_NO;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		int64_t declared;
		if (cl && haven_parse_int64(cl, &declared) == 0 && declared >= 0 &&
		    (uint64_t)declared > api->cfg.max_body) {
			/* Refuse before reading a byte of it; MHD closes the connection. */
			r->body_too_large = 1;
			r->started = 1;
			conn_receiving(api, c, 0);
			dispatch(r);
			return queue_reply(r, c);
		}
		return MHD_YES;
	}
	r->conn = c;
	if (r->started) {
		/* Resumed after a deferred write (reply_or_wait), or a reply is already queued
		 * (413): then drop whatever else arrives. */
		*upload_data_size = 0;
		return r->defer ? reply_or_wait(r, c) : MHD_YES;
	}
	if (*upload_data_size) {
		if (!r->body_too_large &&
		    haven_buf_append(&r->raw, upload_data, *upload_data_size) != 0)
			r->body_too_large = 1; /* chunked or lying Content-Length */
		*upload_data_size = 0;
		return MHD_YES;
	}
	r->started = 1;
	conn_receiving(api, c, 0);
	dispatch(r);
	return reply_or_wait(r, c);
}

const char *haven__query_arg(struct haven_req *r, const char *name)
{
	if (!r->conn)
		return NULL;
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct haven_api *api = cls;
	struct haven_req *r = *con_cls;
	if (!r)
		return;
	int64_t dur = haven_monotonic_ns() - r->start_ns;
	haven__metrics_observe(api->metrics, r->route_index, r->status, dur);
	/* The route pattern, never the path: ids, bodies and tokens stay out of the log. */
	haven_log(HAVEN_LOG_INFO,
	          "event=request method=%s route=%s status=%d duration_ms=%.3f request_id=%s%s",
	          r->method ? r->method : "-",
	          r->route ? r->route->pattern : (r->is_static ? "(static)" : "(unmatched)"),
	          r->status, (double)dur / 1e6, r->request_id,
	          toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
	/* A kept-alive connection's next request has the whole deadline again. */
	conn_receiving(api, c, 1);
	free(r->reply);
	/* The body may hold a password: wipe it before the memory goes back to malloc. */
	if (r->raw.data)
		sodium_memzero(r->raw.data, r->raw.len);
	haven_buf_release(&r->raw);
	haven_arena_release(&r->arena);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&api->in_flight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	haven_log(HAVEN_LOG_WARN, "event=http_server msg=\"%s\"", line);
}

/* ---- Listening ----
 * Haven listens and accepts itself and hands each connection to the daemon
 * (MHD_add_connection; the daemon's worker threads run it with epoll). Why not let
 * libmicrohttpd listen: graceful shutdown must stop new connections while requests in
 * flight finish, and libmicrohttpd 0.9.75's way to do that, MHD_quiesce_daemon(), races
 * with its own epoll worker threads over removing the listening socket from their epoll
 * sets; the loser aborts the process ("Failed to remove listen FD from epoll set").
 * Owning the socket, stopping is: shut it down (new connections are refused), wait for
 * the acceptor thread, wait for requests in flight, stop the daemon. */

static int listen_socket(const struct haven_api_config *cfg, int *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (cfg->port < 0 || cfg->port > 65535)
		return HAVEN_EINVAL;
	if (inet_pton(AF_INET, cfg->host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)cfg->port);
		len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, cfg->host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)cfg->port);
		len = sizeof(*v6);
	} else {
		return HAVEN_EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		return HAVEN_EIO;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, SOMAXCONN)) {
		close(fd);
		return HAVEN_EIO;
	}
	*out = fd;
	return HAVEN_OK;
}

static void *acceptor_main(void *arg)
{
	struct haven_api *api = arg;
	int64_t last_warn = 0;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int c = accept4(api->listen_fd, (struct sockaddr *)&ss, &len,
		                SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (atomic_load(&api->stopping)) {
			if (c >= 0)
				close(c);
			break;
		}
		if (c < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors or memory: connections wait in the backlog. */
				int64_t now = haven_now_ms();
				if (now - last_warn > 10000) {
					haven_log(HAVEN_LOG_WARN,
					          "event=accept_failed errno=%d msg=\"out of file "
					          "descriptors or memory; retrying\"",
					          errno);
					last_warn = now;
				}
				struct timespec ts = {0, 20 * 1000 * 1000};
				nanosleep(&ts, NULL);
			}
			continue; /* EINTR, ECONNABORTED, a client that went away */
		}
		/* The daemon closes the socket itself when it refuses it (connection limit). */
		(void)MHD_add_connection(api->daemon, c, (struct sockaddr *)&ss, len);
	}
	return NULL;
}

int haven_api_start(const struct haven_api_config *cfg, struct haven_store *store,
                    const struct haven_master_key *mk, struct haven_api **out)
{
	struct haven_api *api = NULL;
	int rc;
	*out = NULL;

	api = calloc(1, sizeof(*api));
	if (!api)
		return HAVEN_ENOMEM;
	api->cfg = *cfg;
	if (!api->cfg.threads)
		api->cfg.threads = haven_store_kind(store) == HAVEN_STORE_PG ? HAVEN__THREADS_PG
		                                                             : HAVEN__THREADS_SQLITE;
	cfg = &api->cfg;
	api->store = store;
	api->mk = mk;
	api->listen_fd = -1;
	api->started_ms = haven_now_ms();
	atomic_init(&api->in_flight, 0);
	atomic_init(&api->stopping, 0);
	atomic_init(&api->requests_timed_out, 0);
	pthread_mutex_init(&api->conns_lock, NULL);
	pthread_cond_init(&api->conns_cond, NULL);
	pthread_mutex_init(&api->defer_lock, NULL);
	pthread_mutex_init(&api->slow_lock, NULL);
	pthread_cond_init(&api->slow_cond, NULL);
	size_t nroutes;
	(void)haven__routes(&nroutes);
	if ((rc = haven__metrics_create(nroutes, &api->metrics)))
		goto out;
	if ((rc = haven__throttle_create(&api->throttle)))
		goto out;
	if ((rc = haven__sessions_create(&api->sessions)))
		goto out;
	/* Session lookups are kept in memory only where the store can announce changes
	 * (PostgreSQL); elsewhere every request reads its session. */
	rc = haven_store_watch_auth(store);
	if (rc && rc != HAVEN_EUNSUPPORTED)
		haven_log(HAVEN_LOG_WARN, "event=session_cache_off reason=%s", haven_strerror(rc));
	rc = 0;
	if ((rc = haven__chat_create(api, &api->chat)))
		goto out;
	if (cfg->threads < 1 || cfg->threads > 256 || cfg->request_timeout_s < 1) {
		rc = HAVEN_EINVAL;
		goto out;
	}
	if ((rc = listen_socket(cfg, &api->listen_fd)))
		goto out;

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
	                 MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	api->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)cfg->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    cfg->max_header, MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, api, MHD_OPTION_END);
	if (!api->daemon) {
		rc = HAVEN_EIO;
		goto out;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	if (getsockname(api->listen_fd, (struct sockaddr *)&bound, &blen)) {
		rc = HAVEN_EIO;
		goto out;
	}
	api->port = ntohs(bound.ss_family == AF_INET6
	                      ? ((struct sockaddr_in6 *)&bound)->sin6_port
	                      : ((struct sockaddr_in *)&bound)->sin_port);
	if (pthread_create(&api->watchdog, NULL, watchdog_main, api)) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	api->watchdog_started = 1;
	for (int i = 0; i < (int)(sizeof(api->slow) / sizeof(api->slow[0])); i++) {
		if (pthread_create(&api->slow[i], NULL, slow_main, api)) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		api->slow_started++;
	}
	if (pthread_create(&api->acceptor, NULL, acceptor_main, api)) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	api->acceptor_started = 1;
	haven__chat_warm(api->chat);
	*out = api;
	api = NULL;
	rc = HAVEN_OK;
out:
	if (api) {
		watchdog_stop(api);
		if (api->daemon)
			MHD_stop_daemon(api->daemon);
		slow_stop(api);
		if (api->listen_fd >= 0)
			close(api->listen_fd);
		haven__chat_destroy(&api->chat);
		haven__metrics_destroy(&api->metrics);
		haven__throttle_destroy(&api->throttle);
		haven__sessions_destroy(&api->sessions);
		pthread_cond_destroy(&api->conns_cond);
		pthread_mutex_destroy(&api->conns_lock);
		pthread_mutex_destroy(&api->defer_lock);
		pthread_cond_destroy(&api->slow_cond);
		pthread_mutex_destroy(&api->slow_lock);
		free(api);
	}
	return rc;
}

int haven_api_port(const struct haven_api *api)
{
	return api->port;
}

void haven_api_stop(struct haven_api **pp)
{
	struct haven_api *api = *pp;
	if (!api)
		return;
	*pp = NULL;
	/* No new connections: shutting the listening socket down wakes the acceptor (its
	 * accept() fails) and makes the kernel refuse connection attempts. */
	atomic_store(&api->stopping, 1);
	shutdown(api->listen_fd, SHUT_RDWR);
	if (api->acceptor_started)
		pthread_join(api->acceptor, NULL);
	close(api->listen_fd);
	int64_t deadline = haven_monotonic_ns() + (int64_t)api->cfg.shutdown_grace_ms * 1000000;
	while (atomic_load(&api->in_flight) > 0 && haven_monotonic_ns() < deadline) {
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	int left = atomic_load(&api->in_flight);
	if (left > 0)
		haven_log(HAVEN_LOG_WARN, "event=shutdown_timeout in_flight=%d", left);
	/* libmicrohttpd must not be stopped with a connection suspended: wait for every
	 * deferred write still queued (the store is open, so each one finishes). */
	for (;;) {
		pthread_mutex_lock(&api->defer_lock);
		int waiting = api->suspended;
		pthread_mutex_unlock(&api->defer_lock);
		if (!waiting)
			break;
		struct timespec ts = {0, 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	watchdog_stop(api);
	MHD_stop_daemon(api->daemon);
	slow_stop(api);
	haven__metrics_destroy(&api->metrics);
	haven__throttle_destroy(&api->throttle);
	haven__sessions_destroy(&api->sessions);
	haven__chat_destroy(&api->chat);
	pthread_cond_destroy(&api->conns_cond);
	pthread_mutex_destroy(&api->conns_lock);
	pthread_mutex_destroy(&api->defer_lock);
	pthread_cond_destroy(&api->slow_cond);
	pthread_mutex_destroy(&api->slow_lock);
	free(api);
}
