/*
 * test_api_alerts.c: the alert inbox and webhook delivery. The lifecycle (open ->
 * acknowledged -> resolved, 409 on a wrong step), who sees what (cross-caseload 404,
 * consent hides non-safety alerts, safety alerts always reach the care team), filters and
 * paging; then delivery to a real HTTP receiver on 127.0.0.1 that is down at first (no
 * listener, then 503) and comes back, with the signature, a stable Idempotency-Key and
 * retries checked; delivery resumed by a new dispatcher on a freshly opened store; and
 * escalation of an unacknowledged urgent alert, once, audited and visible in the alert.
 * No timing assertions: every wait polls with a generous bound.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alerts/alerts.h"
#include "api_test.h"
#include "harness.h"

#define SECRET "test-webhook-secret-0123456789"

static json_t *post_json(struct test_server *s, const char *method, const char *path,
                         const char *token, const char *body, long want)
{
	struct test_resp r;
	test_call(s, method, path, token, body, &r);
	if (r.status != want)
		haven_test_fail(__FILE__, __LINE__, "%s %s: status %ld, want %ld (%s)", method,
		                path, r.status, want, r.body);
	json_t *j = json_incref(r.json);
	test_resp_free(&r);
	return j;
}

/* Posts a PHQ-9 and returns the id of the first alert it raised (0 when none). */
static int64_t phq9(struct test_server *s, const char *token, const char *answers)
{
	char body[128];
	snprintf(body, sizeof(body), "{\"instrument\":\"phq9\",\"answers\":%s}", answers);
	json_t *a = post_json(s, "POST", "/api/v1/assessments", token, body, 201);
	json_t *alerts = json_object_get(a, "alerts");
	int64_t id = json_array_size(alerts)
	                 ? json_integer_value(json_object_get(json_array_get(alerts, 0), "id"))
	                 : 0;
	json_decref(a);
	return id;
}

static const char *str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

struct sql_int {
	const char *sql;
	int64_t a;
	int64_t n;
};

static int sql_int_tx(struct haven_tx *tx, void *arg)
{
	struct sql_int *q = arg;
	struct haven_param p[] = {HAVEN_P_INT(q->a)};
	return haven_tx_query_int(tx, q->sql, p, strchr(q->sql, '?') ? 1 : 0, &q->n);
}

static int64_t sql_int(struct haven_store *st, const char *sql, int64_t a)
{
	struct sql_int q = {sql, a, -1};
	ASSERT_OK(haven_store_read(st, sql_int_tx, &q));
	return q.n;
}

TEST(api_alerts_lifecycle_authz_and_filters)
{
	struct test_server s;
	struct test_resp r;
	char path[128];
	test_server_start(&s, NULL);
	int64_t cid = test_make_user(&s, "clinician", "c@example.org");
	test_make_user(&s, "clinician", "o@example.org");
	test_make_user(&s, "admin", "admin@example.org");
	char *ctok = test_login(&s, "c@example.org");
	char *otok = test_login(&s, "o@example.org");
	char *atok = test_login(&s, "admin@example.org");
	int64_t pid = test_register(&s, ctok, "p@example.org", 1);
	int64_t qid = test_register(&s, ctok, "q@example.org", 1);
	test_register(&s, otok, "x@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");
	char *qtok = test_login(&s, "q@example.org");
	char *xtok = test_login(&s, "x@example.org");

	/* P: an item-9 answer, urgent. Q: reliable deterioration (0 -> 16), a warning, and
	 * later an item-9 answer. X (the other team): an item-9 answer. */
	int64_t a1 = phq9(&s, ptok, "[1,1,1,1,1,1,1,0,2]");
	ASSERT(a1 > 0);
	ASSERT_EQ(phq9(&s, qtok, "[0,0,0,0,0,0,0,0,0]"), 0);
	int64_t a2 = phq9(&s, qtok, "[2,2,2,2,2,2,2,2,0]");
	ASSERT(a2 > a1);
	int64_t ax = phq9(&s, xtok, "[0,0,0,0,0,0,0,0,1]");
	ASSERT(ax > a2);

	json_t *l = post_json(&s, "GET", "/api/v1/alerts", ctok, NULL, 200);
	json_t *arr = json_object_get(l, "alerts");
	ASSERT_EQ(json_array_size(arr), 2);
	json_t *first = json_array_get(arr, 0); /* newest first */
	ASSERT_EQ(json_integer_value(json_object_get(first, "id")), a2);
	ASSERT_STR_EQ(str(first, "kind"), "reliable_deterioration");
	ASSERT_STR_EQ(str(first, "severity"), "warning");
	ASSERT_EQ(json_integer_value(json_object_get(first, "patient_id")), qid);
	json_t *second = json_array_get(arr, 1);
	ASSERT_STR_EQ(str(second, "kind"), "phq9_item9");
	ASSERT_STR_EQ(str(second, "status"), "open");
	ASSERT(json_is_true(json_object_get(second, "safety")));
	/* Reasons decrypted: plain words. */
	json_t *reasons = json_object_get(second, "reasons");
	ASSERT(json_array_size(reasons) >= 1);
	ASSERT(strlen(str(json_array_get(reasons, 0), "text")) > 10);
	ASSERT(json_is_null(json_object_get(l, "next_before")));
	json_decref(l);

	/* Other team and roles. */
	l = post_json(&s, "GET", "/api/v1/alerts", otok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(l, "alerts")), 1);
	ASSERT_EQ(json_integer_value(
	              json_object_get(json_array_get(json_object_get(l, "alerts"), 0), "id")),
	          ax);
	json_decref(l);
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld", (long long)a1);
	json_decref(post_json(&s, "GET", path, otok, NULL, 404));
	json_decref(post_json(&s, "GET", path, ptok, NULL, 403));
	json_decref(post_json(&s, "GET", path, atok, NULL, 403));
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld/ack", (long long)a1);
	json_decref(post_json(&s, "POST", path, otok, NULL, 404));
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld", (long long)ax);
	json_decref(post_json(&s, "GET", path, ctok, NULL, 404));
	json_decref(post_json(&s, "GET", "/api/v1/alerts/999999", ctok, NULL, 404));

	/* Lifecycle: resolve before ack is 409; ack; ack again 409; resolve with a note. */
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld/resolve", (long long)a1);
	test_call(&s, "POST", path, ctok, "{}", &r);
	ASSERT_EQ(r.status, 409);
	ASSERT_STR_EQ(test_error_code(&r), "invalid_transition");
	test_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld/ack", (long long)a1);
	json_t *al = post_json(&s, "POST", path, ctok, NULL, 200);
	ASSERT_STR_EQ(str(al, "status"), "acknowledged");
	ASSERT_EQ(json_integer_value(json_object_get(al, "acknowledged_by")), cid);
	ASSERT(json_is_string(json_object_get(al, "acknowledged_at")));
	json_decref(al);
	test_call(&s, "POST", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 409);
	ASSERT_STR_EQ(test_error_code(&r), "invalid_transition");
	test_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld/resolve", (long long)a1);
	test_call(&s, "POST", path, ctok, "{\"note\":7}", &r);
	ASSERT_EQ(r.status, 400);
	test_resp_free(&r);
	al = post_json(&s, "POST", path, ctok,
	               "{\"note\":\"Called P, safety plan reviewed, sessions weekly.\"}", 200);
	ASSERT_STR_EQ(str(al, "status"), "resolved");
	ASSERT_STR_EQ(str(al, "resolution_note"),
	              "Called P, safety plan reviewed, sessions weekly.");
	ASSERT_EQ(json_integer_value(json_object_get(al, "resolved_by")), cid);
	json_decref(al);
	test_call(&s, "POST", path, ctok, "{}", &r);
	ASSERT_EQ(r.status, 409);
	test_resp_free(&r);
	/* The person's own export holds the alert, its reasons and the note. */
	json_t *ex = post_json(&s, "GET", "/api/v1/me/export", ptok, NULL, 200);
	json_t *exa = json_object_get(ex, "alerts");
	ASSERT_EQ(json_array_size(exa), 1);
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(exa, 0), "id")), a1);
	ASSERT_STR_EQ(str(json_array_get(exa, 0), "status"), "resolved");
	ASSERT(json_array_size(json_object_get(json_array_get(exa, 0), "reasons")) >= 1);
	ASSERT_STR_EQ(str(json_array_get(exa, 0), "resolution_note"),
	              "Called P, safety plan reviewed, sessions weekly.");
	json_decref(ex);
		/* The note is sealed, never in clear. */
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM alerts WHERE id = ? AND resolution IS NOT NULL",
	                  a1),
	          1);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM alerts WHERE CAST(resolution AS TEXT) LIKE "
	                  "'%safety plan%' OR id = -?",
	                  a1),
	          0);
	/* Audited, and every step queued for delivery in its transaction. */
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.ack' AND "
	                  "outcome = 'ok' AND actor_id = ?",
	                  cid),
	          1);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.resolve' "
	                  "AND outcome = 'ok' AND actor_id = ?",
	                  cid),
	          1);
	ASSERT(sql_int(s.store,
	               "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.read' AND "
	               "actor_id = ?",
	               cid) >= 2);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alert_outbox WHERE alert_id = ?", a1), 3);
	ASSERT_EQ(test_count(&s, "alert_outbox"), 3 + 2);

	/* Filters and paging. */
	l = post_json(&s, "GET", "/api/v1/alerts?status=resolved", ctok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(l, "alerts")), 1);
	json_decref(l);
	l = post_json(&s, "GET", "/api/v1/alerts?status=open&severity=warning", ctok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(l, "alerts")), 1);
	json_decref(l);
	snprintf(path, sizeof(path), "/api/v1/alerts?patient_id=%lld", (long long)pid);
	l = post_json(&s, "GET", path, ctok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(l, "alerts")), 1);
	json_decref(l);
	l = post_json(&s, "GET", "/api/v1/alerts?limit=1", ctok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(l, "alerts")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(l, "next_before")), a2);
	json_decref(l);
	snprintf(path, sizeof(path), "/api/v1/alerts?limit=1&before=%lld", (long long)a2);
	l = post_json(&s, "GET", path, ctok, NULL, 200);
	ASSERT_EQ(json_integer_value(
	              json_object_get(json_array_get(json_object_get(l, "alerts"), 0), "id")),
	          a1);
	json_decref(l);
	const char *bad[] = {"/api/v1/alerts?status=closed", "/api/v1/alerts?severity=high",
	                     "/api/v1/alerts?limit=0",       "/api/v1/alerts?limit=101",
	                     "/api/v1/alerts?before=abc",    "/api/v1/alerts?patient_id=-1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_call(&s, "GET", bad[i], ctok, NULL, &r);
		ASSERT_EQ(r.status, 400);
		ASSERT_STR_EQ(test_error_code(&r), "invalid_query");
		test_resp_free(&r);
	}

	/* Q withdraws the care_team consent: the warning disappears from the list and is 403
	 * by id; a new safety alert of Q still reaches the care team. */
	json_decref(post_json(&s, "PUT", "/api/v1/me/consents", qtok,
	                      "{\"scopes\":{\"care_team\":false}}", 200));
	int64_t a3 = phq9(&s, qtok, "[2,2,2,2,2,2,2,2,3]");
	ASSERT(a3 > 0);
	snprintf(path, sizeof(path), "/api/v1/alerts?patient_id=%lld", (long long)qid);
	l = post_json(&s, "GET", path, ctok, NULL, 200);
	arr = json_object_get(l, "alerts");
	ASSERT_EQ(json_array_size(arr), 1);
	ASSERT_STR_EQ(str(json_array_get(arr, 0), "kind"), "phq9_item9");
	json_decref(l);
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld", (long long)a2);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 403);
	ASSERT_STR_EQ(test_error_code(&r), "consent_required");
	test_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld/ack", (long long)a2);
	json_decref(post_json(&s, "POST", path, ctok, NULL, 403));

	free(ctok);
	free(otok);
	free(atok);
	free(ptok);
	free(qtok);
	free(xtok);
	test_server_stop(&s);
}

/* ---- A webhook receiver on 127.0.0.1 ---- */

struct hit {
	char key[64], sig[100], event[40], attempt[16], path[32];
	char *body;
	int status; /* what the receiver answered */
};

struct receiver {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t lock;
	int fail_next; /* answer 503 to this many requests first */
	struct hit hits[64];
	int n;
};

struct upload {
	char *data;
	size_t len;
};

static void header_copy(struct MHD_Connection *c, const char *name, char *out, size_t size)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	snprintf(out, size, "%s", v ? v : "");
}

static enum MHD_Result on_hook(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **con_cls)
{
	struct receiver *rc = cls;
	struct upload *u = *con_cls;
	if (!u) {
		u = calloc(1, sizeof(*u));
		*con_cls = u;
		return MHD_YES;
	}
	if (*size) {
		u->data = realloc(u->data, u->len + *size + 1);
		memcpy(u->data + u->len, data, *size);
		u->len += *size;
		u->data[u->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	int status = 200;
	pthread_mutex_lock(&rc->lock);
	if (rc->fail_next > 0) {
		rc->fail_next--;
		status = 503;
	}
	if (rc->n < 64) {
		struct hit *h = &rc->hits[rc->n++];
		header_copy(c, "Idempotency-Key", h->key, sizeof(h->key));
		header_copy(c, "X-Haven-Signature", h->sig, sizeof(h->sig));
		header_copy(c, "X-Haven-Event", h->event, sizeof(h->event));
		header_copy(c, "X-Haven-Delivery-Attempt", h->attempt, sizeof(h->attempt));
		snprintf(h->path, sizeof(h->path), "%s", url);
		h->body = u->data ? u->data : strdup("");
		u->data = NULL;
		h->status = status;
	}
	pthread_mutex_unlock(&rc->lock);
	free(u->data);
	free(u);
	*con_cls = NULL;
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;
	if (u) {
		free(u->data);
		free(u);
		*con_cls = NULL;
	}
}

/* A free port nobody listens on (bound, then closed). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void receiver_start(struct receiver *rc, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	rc->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
	                         (uint16_t)port, NULL, NULL, on_hook, rc, MHD_OPTION_SOCK_ADDR, &a,
	                         MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	                         MHD_OPTION_NOTIFY_COMPLETED, on_done, rc, MHD_OPTION_END);
	ASSERT(rc->d != NULL);
	rc->port = port;
}

static void receiver_stop(struct receiver *rc)
{
	if (rc->d)
		MHD_stop_daemon(rc->d);
	rc->d = NULL;
}

static void receiver_free(struct receiver *rc)
{
	receiver_stop(rc);
	for (int i = 0; i < rc->n; i++)
		free(rc->hits[i].body);
	pthread_mutex_destroy(&rc->lock);
}

/* Waits (bounded, 60 s) until the receiver has a 2xx hit of event; returns its index. */
static int wait_for(struct receiver *rc, const char *event, int from)
{
	for (int tries = 0; tries < 6000; tries++) {
		pthread_mutex_lock(&rc->lock);
		for (int i = from; i < rc->n; i++) {
			if (rc->hits[i].status == 200 && !strcmp(rc->hits[i].event, event)) {
				pthread_mutex_unlock(&rc->lock);
				return i;
			}
		}
		pthread_mutex_unlock(&rc->lock);
		usleep(10000);
	}
	haven_test_fail(__FILE__, __LINE__, "no delivery of %s within the bound", event);
	return -1;
}

static void check_signature(const struct hit *h)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hex[2 * sizeof(mac) + 1], want[100];
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)h->body, strlen(h->body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(want, sizeof(want), "sha256=%s", hex);
	ASSERT_STR_EQ(h->sig, want);
}

static void delivery_config(struct haven_alert_delivery_config *cfg, const char *url)
{
	haven_alert_delivery_config_init(cfg);
	cfg->url = url;
	cfg->secret = SECRET;
	cfg->poll_ms = 20;
	cfg->backoff_base_ms = 40;
	cfg->backoff_cap_ms = 300;
	cfg->timeout_ms = 5000;
	cfg->escalate_after_ms = 0;
}

TEST(api_alerts_webhook_down_then_up_and_restart)
{
	struct test_server s;
	char *ctok, *ptok;
	test_start_care_pair(&s, "p@example.org", &ctok, &ptok);

	struct receiver rc = {.lock = PTHREAD_MUTEX_INITIALIZER};
	int port = free_port();
	char url[96];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	struct haven_alert_delivery_config cfg;
	delivery_config(&cfg, url);
	struct haven_alert_dispatcher *d = NULL;

	/* Refused: a URL without a secret, a secret too short, a non-http URL. */
	cfg.secret = NULL;
	ASSERT_EQ(haven_alert_dispatcher_start(&cfg, s.store, &d), HAVEN_EINVAL);
	cfg.secret = "short";
	ASSERT_EQ(haven_alert_dispatcher_start(&cfg, s.store, &d), HAVEN_EINVAL);
	cfg.secret = SECRET;
	cfg.url = "ftp://127.0.0.1/x";
	ASSERT_EQ(haven_alert_dispatcher_start(&cfg, s.store, &d), HAVEN_EINVAL);
	cfg.url = url;
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, s.store, &d));

	/* The receiver is down (nothing listens): the row stays queued and is retried. */
	int64_t a1 = phq9(&s, ptok, "[1,1,1,1,1,1,1,0,2]");
	ASSERT(a1 > 0);
	int tries;
	for (tries = 0; tries < 6000; tries++) {
		if (sql_int(s.store, "SELECT MAX(attempts) FROM alert_outbox WHERE alert_id = ?",
		            a1) >= 3)
			break;
		usleep(10000);
	}
	ASSERT(tries < 6000);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NULL AND "
	                  "alert_id = ?",
	                  a1),
	          1);

	/* /metrics shows the backlog and the open urgent alert. */
	struct test_resp m;
	test_call(&s, "GET", "/metrics", NULL, NULL, &m);
	ASSERT_EQ(m.status, 200);
	ASSERT_CONTAINS(m.body, "\nhaven_alert_outbox_pending 1\n");
	ASSERT_CONTAINS(m.body, "\nhaven_alerts_open_urgent 1\n");
	test_resp_free(&m);

	/* It comes back, answers 503 once, then 200. */
	rc.fail_next = 1;
	receiver_start(&rc, port);
	int ok = wait_for(&rc, "alert.raised", 0);
	ASSERT(ok >= 1);
	pthread_mutex_lock(&rc.lock);
	ASSERT_EQ(rc.hits[0].status, 503);
	for (int i = 0; i <= ok; i++) {
		ASSERT_STR_EQ(rc.hits[i].key, rc.hits[0].key); /* stable across retries */
		ASSERT_STR_EQ(rc.hits[i].body, rc.hits[0].body);
		ASSERT_STR_EQ(rc.hits[i].path, "/hook");
		check_signature(&rc.hits[i]);
	}
	ASSERT(strlen(rc.hits[0].key) == 32);
	ASSERT(strtol(rc.hits[ok].attempt, NULL, 10) >= 5); /* 3+ refused connections, one 503 */
	json_error_t jerr;
	json_t *doc = json_loads(rc.hits[ok].body, 0, &jerr);
	ASSERT(doc != NULL);
	ASSERT_STR_EQ(str(doc, "event"), "alert.raised");
	ASSERT_STR_EQ(str(doc, "delivery_id"), rc.hits[0].key);
	json_t *al = json_object_get(doc, "alert");
	ASSERT_EQ(json_integer_value(json_object_get(al, "id")), a1);
	ASSERT_STR_EQ(str(al, "kind"), "phq9_item9");
	ASSERT_STR_EQ(str(al, "severity"), "urgent");
	ASSERT(json_object_get(al, "reasons") == NULL); /* no clinical text leaves */
	json_decref(doc);
	pthread_mutex_unlock(&rc.lock);
	for (tries = 0; tries < 6000; tries++) {
		if (sql_int(s.store,
		            "SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NOT NULL AND "
		            "alert_id = ?",
		            a1) == 1)
			break;
		usleep(10000);
	}
	ASSERT(tries < 6000);

	/* Restart: the receiver goes down, the acknowledgement's event is tried and fails,
	 * the dispatcher stops with the row pending. A new dispatcher over a freshly opened
	 * store (what `haven serve` does at start) delivers it once the receiver is back. */
	receiver_stop(&rc);
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld/ack", (long long)a1);
	json_decref(post_json(&s, "POST", path, ctok, NULL, 200));
	for (tries = 0; tries < 6000; tries++) {
		if (sql_int(s.store,
		            "SELECT COUNT(*) FROM alert_outbox WHERE event = 'alert.acknowledged' "
		            "AND attempts >= 1 AND delivered_at IS NULL AND alert_id = ?",
		            a1) == 1)
			break;
		usleep(10000);
	}
	ASSERT(tries < 6000);
	haven_alert_dispatcher_stop(&d);
	ASSERT(d == NULL);
	int before = rc.n;
	struct haven_store *again = NULL;
	ASSERT_OK(haven_store_open(s.db_url, NULL, &again));
	receiver_start(&rc, port);
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, again, &d));
	int k = wait_for(&rc, "alert.acknowledged", before);
	pthread_mutex_lock(&rc.lock);
	check_signature(&rc.hits[k]);
	doc = json_loads(rc.hits[k].body, 0, &jerr);
	ASSERT_STR_EQ(str(json_object_get(doc, "alert"), "status"), "acknowledged");
	json_decref(doc);
	pthread_mutex_unlock(&rc.lock);
	haven_alert_dispatcher_stop(&d);
	haven_store_destroy(&again);
	ASSERT_EQ(
	    sql_int(s.store, "SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NULL", 0), 0);
	receiver_free(&rc);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

TEST(api_alerts_escalation_once)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	test_register(&s, ctok, "p@example.org", 1);
	test_register(&s, ctok, "q@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");
	char *qtok = test_login(&s, "q@example.org");

	/* Two urgent alerts; the second is acknowledged before any dispatcher runs. */
	int64_t a1 = phq9(&s, ptok, "[1,1,1,1,1,1,1,0,2]");
	int64_t a2 = phq9(&s, qtok, "[1,1,1,1,1,1,1,0,1]");
	ASSERT(a1 > 0 && a2 > a1);
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld/ack", (long long)a2);
	json_decref(post_json(&s, "POST", path, ctok, NULL, 200));

	struct receiver rc = {.lock = PTHREAD_MUTEX_INITIALIZER};
	int port = free_port();
	receiver_start(&rc, port);
	char url[96], esc[96];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	snprintf(esc, sizeof(esc), "http://127.0.0.1:%d/escalate", port);
	struct haven_alert_delivery_config cfg;
	delivery_config(&cfg, url);
	cfg.escalation_url = esc;
	cfg.escalate_after_ms = 1;
	struct haven_alert_dispatcher *d = NULL;
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, s.store, &d));
	int k = wait_for(&rc, "alert.escalated", 0);
	pthread_mutex_lock(&rc.lock);
	ASSERT_STR_EQ(rc.hits[k].path, "/escalate");
	check_signature(&rc.hits[k]);
	json_error_t jerr;
	json_t *doc = json_loads(rc.hits[k].body, 0, &jerr);
	json_t *al = json_object_get(doc, "alert");
	ASSERT_EQ(json_integer_value(json_object_get(al, "id")), a1);
	ASSERT(json_is_string(json_object_get(al, "escalated_at")));
	json_decref(doc);
	pthread_mutex_unlock(&rc.lock);

	/* Let the dispatcher run more passes: still one escalation, and none for the
	 * acknowledged alert (it was considered in the same pass as a1). */
	int64_t passes_until = sql_int(s.store, "SELECT COUNT(*) FROM alert_outbox", 0);
	for (int tries = 0; tries < 6000; tries++) {
		if (sql_int(s.store, "SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NULL",
		            0) == 0)
			break;
		usleep(10000);
	}
	usleep(200000);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alert_outbox", 0), passes_until);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM alert_outbox WHERE event = 'alert.escalated'", 0),
	          1);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.escalate' AND "
	                  "actor_role = 'system'",
	                  0),
	          1);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alerts WHERE escalated_at IS NOT NULL", 0),
	          1);
	haven_alert_dispatcher_stop(&d);

	/* Visible in the alert. */
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld", (long long)a1);
	json_t *got = post_json(&s, "GET", path, ctok, NULL, 200);
	json_t *e = json_object_get(got, "escalation");
	ASSERT(json_is_true(json_object_get(e, "escalated")));
	ASSERT_STR_EQ(str(e, "to"), "escalation_webhook");
	json_decref(got);
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld", (long long)a2);
	got = post_json(&s, "GET", path, ctok, NULL, 200);
	ASSERT(json_is_false(json_object_get(json_object_get(got, "escalation"), "escalated")));
	json_decref(got);

	receiver_free(&rc);
	free(ctok);
	free(ptok);
	free(qtok);
	test_server_stop(&s);
}

TEST(api_alerts_two_dispatchers_share_the_outbox)
{
	/* Two servers over one database (two store handles here): each row is leased by
	 * one of them, so every event arrives exactly once while both run. */
	struct test_server s;
	char *ctok, *ptok;
	test_start_care_pair(&s, "p@example.org", &ctok, &ptok);
	enum { N = 12 };
	for (int i = 0; i < N; i++)
		ASSERT(phq9(&s, ptok, "[1,1,1,1,1,1,1,1,1]") > 0);

	struct receiver rc = {.lock = PTHREAD_MUTEX_INITIALIZER};
	int port = free_port();
	receiver_start(&rc, port);
	char url[96];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	struct haven_alert_delivery_config cfg;
	delivery_config(&cfg, url);
	struct haven_store *other = NULL;
	ASSERT_OK(haven_store_open(s.db_url, NULL, &other));
	struct haven_alert_dispatcher *d1 = NULL, *d2 = NULL;
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, s.store, &d1));
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, other, &d2));
	int tries;
	for (tries = 0; tries < 6000; tries++) {
		if (sql_int(s.store, "SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NULL",
		            0) == 0)
			break;
		usleep(10000);
	}
	ASSERT(tries < 6000);
	haven_alert_dispatcher_stop(&d1);
	haven_alert_dispatcher_stop(&d2);
	pthread_mutex_lock(&rc.lock);
	ASSERT_EQ(rc.n, N);
	for (int i = 0; i < rc.n; i++)
		for (int j = i + 1; j < rc.n; j++)
			ASSERT(strcmp(rc.hits[i].key, rc.hits[j].key) != 0);
	pthread_mutex_unlock(&rc.lock);
	haven_store_destroy(&other);
	receiver_free(&rc);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

/* Escalation inside Haven: the clinic's escalation contact (a clinician who is not on the
 * patient's care team) sees an urgent alert in their inbox once it has been left open
 * too long, with who was told and when, and may acknowledge it; the care team sees that
 * it was escalated and to whom; nobody else sees anything, and the contact gains no
 * access to the rest of the patient's record. No webhook is configured: the contact is
 * the second contact. */
TEST(api_alerts_escalation_to_a_contact_in_app)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	int64_t oncall = test_make_user(&s, "clinician", "oncall@example.org");
	test_make_user(&s, "clinician", "other@example.org");
	test_make_user(&s, "patient", "not.a.clinician@example.org");
	char *ctok = test_login(&s, "c@example.org");
	char *otok = test_login(&s, "oncall@example.org");
	char *xtok = test_login(&s, "other@example.org");
	int64_t pid = test_register(&s, ctok, "p@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");

	/* The contact list is checked against the accounts. */
	char err[300];
	ASSERT_OK(haven_alert_escalation_contacts_check(s.store, "OnCall@example.org", err,
	                                                sizeof(err)));
	ASSERT_EQ(haven_alert_escalation_contacts_check(s.store, "oncall@example.org, "
	                                                          "not.a.clinician@example.org",
	                                                err, sizeof(err)),
	          HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "not.a.clinician@example.org");
	ASSERT_EQ(haven_alert_escalation_contacts_check(s.store, "nobody@example.org", err,
	                                                sizeof(err)),
	          HAVEN_EINVAL);
	ASSERT_EQ(haven_alert_escalation_contacts_check(s.store, "a@example.org,,b@example.org",
	                                                err, sizeof(err)),
	          HAVEN_EINVAL);

	/* An urgent alert (PHQ-9 item 9) and a warning (a reliable deterioration). */
	ASSERT(phq9(&s, ptok, "[0,0,0,0,0,0,0,0,0]") == 0);
	int64_t urgent = phq9(&s, ptok, "[2,2,2,2,1,1,1,1,1]");
	ASSERT(urgent > 0);
	int64_t warning = sql_int(s.store,
	                          "SELECT id FROM alerts WHERE kind = 'reliable_deterioration' AND "
	                          "patient_id = ?",
	                          pid);
	ASSERT(warning > 0);
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld", (long long)urgent);

	/* Before any escalation the contact sees nothing. */
	json_t *list = post_json(&s, "GET", "/api/v1/alerts", otok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(list, "alerts")), 0);
	json_decref(list);
	json_decref(post_json(&s, "GET", path, otok, NULL, 404));

	struct haven_alert_delivery_config cfg;
	delivery_config(&cfg, NULL);
	cfg.secret = NULL;
	cfg.poll_ms = 600000; /* the test drives the passes itself */
	cfg.escalation_contacts = "nobody@example.org";
	struct haven_alert_dispatcher *d = NULL;
	cfg.escalate_after_ms = 1;
	usleep(5000);
	/* A contact list naming no enabled clinician: nobody to tell, nothing escalated. */
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, s.store, &d));
	int escalated = -1, delivered = -1;
	ASSERT_OK(haven_alert_dispatch_once(d, &escalated, &delivered));
	ASSERT_EQ(escalated, 0);
	haven_alert_dispatcher_stop(&d);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alerts WHERE escalated_at IS NOT NULL", 0),
	          0);

	/* The thread makes a first pass as it starts; the passes here may race with it, so
	 * the counts are read from the store: one escalation, of the urgent alert only. */
	cfg.escalation_contacts = "oncall@example.org";
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, s.store, &d));
	int total = 0;
	for (int i = 0; i < 3; i++) {
		ASSERT_OK(haven_alert_dispatch_once(d, &escalated, &delivered));
		total += escalated;
		ASSERT_EQ(delivered, 0); /* no webhook */
	}
	ASSERT(total <= 1);
	haven_alert_dispatcher_stop(&d);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alerts WHERE escalated_at IS NOT NULL", 0),
	          1);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alerts WHERE escalated_at IS NOT NULL AND "
	                           "id = ? AND escalated_to = 'in_app'",
	                  urgent),
	          1);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alert_escalations WHERE alert_id = ?",
	                  urgent),
	          1);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.escalate' AND "
	                  "detail LIKE '%to=in_app contacts=1%'",
	                  0),
	          1);

	/* The contact's inbox: the escalated alert, with its reasons, who was told and when. */
	list = post_json(&s, "GET", "/api/v1/alerts", otok, NULL, 200);
	json_t *alerts = json_object_get(list, "alerts");
	ASSERT_EQ(json_array_size(alerts), 1);
	json_t *a = json_array_get(alerts, 0);
	ASSERT_EQ(json_integer_value(json_object_get(a, "id")), urgent);
	ASSERT_STR_EQ(str(a, "kind"), "phq9_item9");
	ASSERT(json_array_size(json_object_get(a, "reasons")) > 0);
	json_t *e = json_object_get(a, "escalation");
	ASSERT(json_is_true(json_object_get(e, "escalated")));
	ASSERT(json_is_string(json_object_get(e, "escalated_at")));
	ASSERT_STR_EQ(str(e, "to"), "in_app");
	ASSERT(json_is_true(json_object_get(e, "to_me")));
	json_t *c0 = json_array_get(json_object_get(e, "contacts"), 0);
	ASSERT_EQ(json_integer_value(json_object_get(c0, "clinician_id")), oncall);
	ASSERT_STR_EQ(str(c0, "email"), "oncall@example.org");
	ASSERT(json_is_string(json_object_get(c0, "escalated_at")));
	json_decref(list);
	list = post_json(&s, "GET", "/api/v1/alerts?escalated=false", otok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(list, "alerts")), 0);
	json_decref(list);
	json_decref(post_json(&s, "GET", "/api/v1/alerts?escalated=maybe", otok, NULL, 400));

	/* The care team sees it escalated, to whom; the filter finds it. */
	list = post_json(&s, "GET", "/api/v1/alerts?escalated=true", ctok, NULL, 200);
	alerts = json_object_get(list, "alerts");
	ASSERT_EQ(json_array_size(alerts), 1);
	e = json_object_get(json_array_get(alerts, 0), "escalation");
	ASSERT(json_is_false(json_object_get(e, "to_me")));
	ASSERT_STR_EQ(str(json_array_get(json_object_get(e, "contacts"), 0), "email"),
	              "oncall@example.org");
	json_decref(list);
	list = post_json(&s, "GET", "/api/v1/alerts?escalated=false", ctok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(list, "alerts")), 1); /* the warning */
	json_decref(list);

	/* Nothing else of the patient: not the warning, not the patient, not their scores. */
	char other[96];
	snprintf(other, sizeof(other), "/api/v1/alerts/%lld", (long long)warning);
	json_decref(post_json(&s, "GET", other, otok, NULL, 404));
	snprintf(other, sizeof(other), "/api/v1/patients/%lld", (long long)pid);
	json_decref(post_json(&s, "GET", other, otok, NULL, 404));
	snprintf(other, sizeof(other), "/api/v1/patients/%lld/assessments", (long long)pid);
	json_decref(post_json(&s, "GET", other, otok, NULL, 404));
	/* A clinician who is neither on the care team nor a contact: nothing at all. */
	json_decref(post_json(&s, "GET", path, xtok, NULL, 404));
	list = post_json(&s, "GET", "/api/v1/alerts", xtok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(list, "alerts")), 0);
	json_decref(list);
	/* Patients are refused the inbox. */
	json_decref(post_json(&s, "GET", path, ptok, NULL, 403));

	/* The contact acknowledges it; the care team sees who did. */
	char ack[112];
	snprintf(ack, sizeof(ack), "%s/ack", path);
	json_decref(post_json(&s, "POST", ack, xtok, NULL, 404));
	json_t *got = post_json(&s, "POST", ack, otok, NULL, 200);
	ASSERT_STR_EQ(str(got, "status"), "acknowledged");
	ASSERT_EQ(json_integer_value(json_object_get(got, "acknowledged_by")), oncall);
	json_decref(got);
	got = post_json(&s, "GET", path, ctok, NULL, 200);
	ASSERT_EQ(json_integer_value(json_object_get(got, "acknowledged_by")), oncall);
	json_decref(got);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.ack' AND actor_id = ?",
	                  oncall),
	          1);
	free(ctok);
	free(otok);
	free(xtok);
	free(ptok);
	test_server_stop(&s);
}

/* The number of alerts in a clinician's inbox. */
static size_t inbox_size(struct test_server *s, const char *token)
{
	json_t *list = post_json(s, "GET", "/api/v1/alerts", token, NULL, 200);
	size_t n = json_array_size(json_object_get(list, "alerts"));
	json_decref(list);
	return n;
}

/* Escalation per care team: a clinician names their own escalation contacts
 * (PUT /me/escalation-contacts); an urgent alert escalates to the contacts named by the
 * patient's care team, and to the clinic's (serve --alert-escalation-contact) only when
 * the team named none. Only the care team and the contacts actually told ever see it. */
TEST(api_alerts_escalation_per_care_team)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "a@example.org");
	test_make_user(&s, "clinician", "b@example.org");
	int64_t cover = test_make_user(&s, "clinician", "cover@example.org");
	int64_t clinic = test_make_user(&s, "clinician", "clinic@example.org");
	test_make_user(&s, "clinician", "outsider@example.org");
	test_make_user(&s, "admin", "admin@example.org");
	char *atok = test_login(&s, "a@example.org");
	char *btok = test_login(&s, "b@example.org");
	char *cvtok = test_login(&s, "cover@example.org");
	char *cltok = test_login(&s, "clinic@example.org");
	char *xtok = test_login(&s, "outsider@example.org");
	ASSERT(test_register(&s, atok, "p@example.org", 1) > 0);
	ASSERT(test_register(&s, btok, "q@example.org", 1) > 0);
	char *ptok = test_login(&s, "p@example.org");
	char *qtok = test_login(&s, "q@example.org");

	/* Only another enabled clinician may be named, at most 8, as strings. */
	static const char *const refused[][2] = {
	    {"{\"contacts\":[\"a@example.org\"]}", "invalid_contact"},        /* oneself */
	    {"{\"contacts\":[\"p@example.org\"]}", "invalid_contact"},        /* a patient */
	    {"{\"contacts\":[\"admin@example.org\"]}", "invalid_contact"},    /* an admin */
	    {"{\"contacts\":[\"nobody@example.org\"]}", "invalid_contact"},   /* no account */
	    {"{\"contacts\":[1]}", "invalid_body"},
	    {"{\"contacts\":\"cover@example.org\"}", "invalid_body"},
	    {"{\"contacts\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}", "invalid_body"},
	    {"{\"contact\":[]}", "invalid_body"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		json_t *e = post_json(&s, "PUT", "/api/v1/me/escalation-contacts", atok,
		                      refused[i][0], 400);
		ASSERT_STR_EQ(str(json_object_get(e, "error"), "code"), refused[i][1]);
		json_decref(e);
	}
	json_t *got = post_json(&s, "PUT", "/api/v1/me/escalation-contacts", atok,
	                        "{\"contacts\":[\"Cover@example.org\"]}", 200);
	json_t *c0 = json_array_get(json_object_get(got, "contacts"), 0);
	ASSERT_EQ(json_array_size(json_object_get(got, "contacts")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(c0, "id")), cover);
	ASSERT_STR_EQ(str(c0, "email"), "cover@example.org");
	json_decref(got);
	got = post_json(&s, "GET", "/api/v1/me/escalation-contacts", atok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(got, "contacts")), 1);
	json_decref(got);
	got = post_json(&s, "GET", "/api/v1/me/escalation-contacts", btok, NULL, 200);
	ASSERT_EQ(json_array_size(json_object_get(got, "contacts")), 0); /* B named nobody */
	json_decref(got);
	json_decref(post_json(&s, "GET", "/api/v1/me/escalation-contacts", ptok, NULL, 403));
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM audit_log WHERE action = "
	                  "'escalation_contacts.update' AND outcome = 'denied'",
	                  0),
	          4);

	/* An urgent alert for each patient. */
	int64_t ap = phq9(&s, ptok, "[1,1,1,1,1,1,1,1,2]");
	int64_t aq = phq9(&s, qtok, "[1,1,1,1,1,1,1,1,2]");
	ASSERT(ap > 0 && aq > 0);
	char pathp[96], pathq[96];
	snprintf(pathp, sizeof(pathp), "/api/v1/alerts/%lld", (long long)ap);
	snprintf(pathq, sizeof(pathq), "/api/v1/alerts/%lld", (long long)aq);

	/* No webhook and no clinic contact: A's team contact alone is enough for P's alert;
	 * Q's team named nobody, so Q's alert is not marked escalated. */
	struct haven_alert_delivery_config cfg;
	delivery_config(&cfg, NULL);
	cfg.secret = NULL;
	cfg.poll_ms = 600000; /* the test drives the passes itself */
	cfg.escalate_after_ms = 1;
	usleep(5000);
	struct haven_alert_dispatcher *d = NULL;
	int escalated = 0, delivered = 0;
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, s.store, &d));
	ASSERT_OK(haven_alert_dispatch_once(d, &escalated, &delivered));
	haven_alert_dispatcher_stop(&d);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alerts WHERE escalated_at IS NOT NULL", 0),
	          1);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM alert_escalations WHERE alert_id = ? AND "
	                  "clinician_id = (SELECT id FROM users WHERE email = 'cover@example.org')",
	                  ap),
	          1);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alert_escalations WHERE alert_id = ?", aq),
	          0);

	/* With the clinic's contact (the existing flag): Q's alert goes to the clinic; P's is
	 * escalated already, and the clinic's contact is never told of it. */
	cfg.escalation_contacts = "clinic@example.org";
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, s.store, &d));
	ASSERT_OK(haven_alert_dispatch_once(d, &escalated, &delivered));
	haven_alert_dispatcher_stop(&d);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alert_escalations WHERE clinician_id = ?",
	                  clinic),
	          1);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM alert_escalations WHERE alert_id = ? AND "
	                  "clinician_id = (SELECT id FROM users WHERE email = 'clinic@example.org')",
	                  aq),
	          1);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alert_escalations WHERE alert_id = ?", ap),
	          1);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.escalate' AND "
	                  "detail LIKE '%contacts_from=care_team%'",
	                  0),
	          1);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.escalate' AND "
	                  "detail LIKE '%contacts_from=clinic%'",
	                  0),
	          1);

	/* Who sees what: each alert is seen by its care team and the contact told of it,
	 * and by nobody else (404, exactly as a missing id). */
	json_decref(post_json(&s, "GET", pathp, atok, NULL, 200));
	json_decref(post_json(&s, "GET", pathp, cvtok, NULL, 200));
	json_decref(post_json(&s, "GET", pathp, btok, NULL, 404));
	json_decref(post_json(&s, "GET", pathp, cltok, NULL, 404));
	json_decref(post_json(&s, "GET", pathp, xtok, NULL, 404));
	json_decref(post_json(&s, "GET", pathq, btok, NULL, 200));
	json_decref(post_json(&s, "GET", pathq, cltok, NULL, 200));
	json_decref(post_json(&s, "GET", pathq, atok, NULL, 404));
	json_decref(post_json(&s, "GET", pathq, cvtok, NULL, 404));
	json_decref(post_json(&s, "GET", pathq, xtok, NULL, 404));
	ASSERT_EQ(inbox_size(&s, cvtok), 1);
	ASSERT_EQ(inbox_size(&s, cltok), 1);
	ASSERT_EQ(inbox_size(&s, xtok), 0);
	got = post_json(&s, "GET", pathp, cvtok, NULL, 200);
	ASSERT(json_is_true(json_object_get(json_object_get(got, "escalation"), "to_me")));
	json_decref(got);

	/* A contact removed later is not told of the next alert; the team's list empties, so
	 * the clinic's contact takes over. */
	json_decref(post_json(&s, "PUT", "/api/v1/me/escalation-contacts", atok,
	                      "{\"contacts\":[]}", 200));
	int64_t ap2 = phq9(&s, ptok, "[1,1,1,1,1,1,1,1,3]");
	ASSERT(ap2 > 0);
	usleep(5000);
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, s.store, &d));
	ASSERT_OK(haven_alert_dispatch_once(d, &escalated, &delivered));
	haven_alert_dispatcher_stop(&d);
	ASSERT_EQ(sql_int(s.store, "SELECT COUNT(*) FROM alert_escalations WHERE alert_id = ?", ap2),
	          1);
	ASSERT_EQ(sql_int(s.store,
	                  "SELECT COUNT(*) FROM alert_escalations WHERE alert_id = ? AND "
	                  "clinician_id = (SELECT id FROM users WHERE email = 'clinic@example.org')",
	                  ap2),
	          1);
	free(atok);
	free(btok);
	free(cvtok);
	free(cltok);
	free(xtok);
	free(ptok);
	free(qtok);
	test_server_stop(&s);
}
