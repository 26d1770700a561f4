/*
 * test_api_shutdown.c: connections. Graceful shutdown: a request whose body is half
 * sent when the server is told to stop still gets its reply; the stop waits for it; new
 * connections are refused meanwhile. The request deadline: a client that sends its request
 * too slowly is cut off. A deferred write holds no worker while it waits for its commit,
 * and the stop waits for it too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api_test.h"
#include "harness.h"

static atomic_int stopped;

static void *stopper(void *arg)
{
	struct haven_api **api = arg;
	haven_api_stop(api);
	atomic_store(&stopped, 1);
	return NULL;
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

TEST(api_graceful_shutdown_finishes_in_flight)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "patient", "p@example.org");
	int port = haven_api_port(s.api);
	const char *body = "{\"email\":\"p@example.org\",\"password\":\"" TEST_PASSWORD "\"}";
	size_t blen = strlen(body), half = blen / 2;
	char head[512];
	int hl = snprintf(head, sizeof(head),
	                  "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	                  blen);
	int fd = connect_to(port);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, head, (size_t)hl), hl);
	ASSERT_EQ(write(fd, body, half), (ssize_t)half);
	sleep_ms(200); /* the server has read the headers: the request is in flight */

	atomic_store(&stopped, 0);
	pthread_t t;
	ASSERT_OK(pthread_create(&t, NULL, stopper, &s.api));
	sleep_ms(300);
	ASSERT_EQ(atomic_load(&stopped), 0); /* still waiting for our request */
	int late = connect_to(port);
	ASSERT(late < 0); /* no new connections */

	ASSERT_EQ(write(fd, body + half, blen - half), (ssize_t)(blen - half));
	char reply[4096];
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(reply) - 1 &&
	       (n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0) {
		got += (size_t)n;
		reply[got] = '\0';
		if (strstr(reply, "\r\n\r\n") && strstr(reply, "\"token\""))
			break;
	}
	reply[got] = '\0';
	close(fd);
	ASSERT(!strncmp(reply, "HTTP/1.1 200", 12));
	ASSERT_CONTAINS(reply, "\"token\"");
	pthread_join(t, NULL);
	ASSERT_EQ(atomic_load(&stopped), 1);
	test_server_stop(&s);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends one byte of a request every 200 ms, well inside the idle timeout, until the server
 * closes the connection or give_up_ms pass; returns the milliseconds (by the clock) it
 * stayed open. */
static int trickle_until_closed(int fd, int give_up_ms)
{
	static const char req[] = "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                          "Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"
	                          "{\"email\":\"slow@example.org\",\"password\"";
	int64_t start = mono_ms();
	for (size_t i = 0; mono_ms() - start < give_up_ms; i = (i + 1) % (sizeof(req) - 1)) {
		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		struct timeval tv = {0, 200 * 1000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		char b[256];
		ssize_t n = recv(fd, b, sizeof(b), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			break;
	}
	return (int)(mono_ms() - start);
}

/* The request deadline: a client that sends its request a byte at a time, each byte well
 * inside the idle timeout, is cut off once the whole request has taken longer than
 * request_timeout, in the headers or in the body; other clients are answered meanwhile. */
TEST(api_request_deadline_cuts_slow_senders)
{
	struct test_server s;
	struct haven_api_config cfg;
	haven_api_config_init(&cfg);
	cfg.threads = 2;
	cfg.connection_timeout_s = 60;
	cfg.request_timeout_s = 1;
	test_server_start(&s, &cfg);
	int port = haven_api_port(s.api);

	int fd = connect_to(port);
	ASSERT(fd >= 0);
	int open_ms = trickle_until_closed(fd, 8000);
	close(fd);
	ASSERT(open_ms >= 600);  /* not before the deadline */
	ASSERT(open_ms < 8000); /* but cut off, long before the idle timeout */

	/* A kept-alive connection gets the whole deadline again for its next request: two
	 * requests half a deadline apart on one connection are both answered. */
	fd = connect_to(port);
	ASSERT(fd >= 0);
	static const char get[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	for (int i = 0; i < 2; i++) {
		sleep_ms(600);
		ASSERT_EQ(send(fd, get, sizeof(get) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(get) - 1));
		char b[1024];
		struct timeval tv = {5, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssize_t n = recv(fd, b, sizeof(b) - 1, 0);
		ASSERT(n > 12);
		b[n] = '\0';
		ASSERT(!strncmp(b, "HTTP/1.1 200", 12));
	}
	close(fd);

	struct test_resp r;
	test_call(&s, "GET", "/metrics", NULL, NULL, &r);
	ASSERT_EQ(r.status, 200);
	const char *m = strstr(r.body, "\nhaven_http_requests_timed_out_total ");
	ASSERT(m && atoll(m + strlen("\nhaven_http_requests_timed_out_total ")) >= 1);
	test_resp_free(&r);
	test_server_stop(&s);
}

/* ---- Deferred writes (api_int.h, haven__write_then) ---- */

/* A closure that holds the store's writer until the test opens the gate (or 10 s pass). */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered, open, finished;
};

static int hold_writer_tx(struct haven_tx *tx, void *arg)
{
	struct gate *g = arg;
	(void)tx;
	pthread_mutex_lock(&g->lock);
	g->entered = 1;
	pthread_cond_broadcast(&g->cond);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	while (!g->open && pthread_cond_timedwait(&g->cond, &g->lock, &until) == 0)
		;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static void hold_writer_done(void *ctx, int rc, const char *err)
{
	struct gate *g = ctx;
	(void)rc;
	(void)err;
	pthread_mutex_lock(&g->lock);
	g->finished = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* A request made on a thread of its own; done is set when its reply is in. */
struct bg_call {
	struct test_server *s;
	const char *method; /* NULL: POST */
	const char *path, *tok;
	char body[600];
	struct test_resp r;
	atomic_int done;
};

static void *post_bg(void *arg)
{
	struct bg_call *c = arg;
	test_call(c->s, c->method ? c->method : "POST", c->path, c->tok, c->body[0] ? c->body : NULL,
	          &c->r);
	atomic_store(&c->done, 1);
	return NULL;
}

/* Holds the store's writer with the gate g until gate_open(g). */
static void gate_hold(struct test_server *s, struct gate *g)
{
	ASSERT_OK(haven_store_write_async(s->store, hold_writer_tx, g, hold_writer_done, g));
	pthread_mutex_lock(&g->lock);
	while (!g->entered)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

/* 1 while the gate still holds the writer. */
static int gate_holding(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	int held = !g->finished;
	pthread_mutex_unlock(&g->lock);
	return held;
}

static void gate_wait_finished(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (!g->finished)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

/* A server with one HTTP worker, a clinician (logged in: *ctok) and a patient
 * p@example.org. */
static void one_worker_server(struct test_server *s, char **ctok)
{
	struct haven_api_config cfg;
	haven_api_config_init(&cfg);
	cfg.threads = 1;
	test_server_start(s, &cfg);
	test_make_user(s, "clinician", "c@example.org");
	*ctok = test_login(s, "c@example.org");
	test_register(s, *ctok, "p@example.org", 1);
}

/* A check-in waits for its group commit without holding an HTTP worker: with one worker
 * and the store's writer held, the check-in stays pending while another connection is
 * answered; once the writer goes on, the check-in is stored and answered 201. A server
 * told to stop meanwhile waits for the pending check-in (libmicrohttpd must not be stopped
 * with a connection suspended). */
TEST(api_deferred_write_holds_no_worker)
{
	struct test_server s;
	char *ctok;
	one_worker_server(&s, &ctok);
	char *ptok = test_login(&s, "p@example.org");

	for (int round = 0; round < 2; round++) {
		struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
		gate_hold(&s, &g);
		struct bg_call c = {.s = &s, .path = "/api/v1/checkins", .tok = ptok,
		                    .body = "{\"mood\":6,\"sleep_hours\":7}"};
		pthread_t t;
		ASSERT_OK(pthread_create(&t, NULL, post_bg, &c));
		sleep_ms(300); /* the check-in reaches the writer's queue */
		if (round == 0) {
			/* The one worker is free: another request is answered meanwhile. */
			struct test_resp h;
			test_call(&s, "GET", "/healthz", NULL, NULL, &h);
			ASSERT_EQ(h.status, 200);
			test_resp_free(&h);
			/* Answered while the writer is still held: had the worker waited for the
			 * check-in's commit, it could only have answered after the hold ended. */
			ASSERT(gate_holding(&g));
			ASSERT_EQ(atomic_load(&c.done), 0); /* the check-in is still waiting */
			gate_open(&g);
		} else {
			/* Stopping waits for the pending check-in. */
			atomic_store(&stopped, 0);
			pthread_t st;
			ASSERT_OK(pthread_create(&st, NULL, stopper, &s.api));
			sleep_ms(300);
			ASSERT_EQ(atomic_load(&stopped), 0);
			gate_open(&g);
			pthread_join(st, NULL);
			ASSERT_EQ(atomic_load(&stopped), 1);
		}
		pthread_join(t, NULL);
		ASSERT_EQ(c.r.status, 201);
		ASSERT(json_integer_value(json_object_get(c.r.json, "id")) > 0);
		test_resp_free(&c.r);
		gate_wait_finished(&g);
	}
	ASSERT_EQ(test_count(&s, "checkins"), 2);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

/* The audited reads of clinical data and the other writes a patient or clinician makes
 * often (assessments, sensing, consents, reminders, an alert read or acknowledged, signing
 * out) also wait for their group commits without holding a worker: with one worker and
 * the writer held, each of these requests stays pending while /healthz is answered, and
 * once the writer goes on each is answered with its success status. */
TEST(api_audited_reads_hold_no_worker)
{
	struct test_server s;
	char *ctok;
	one_worker_server(&s, &ctok);
	char *ptok = test_login(&s, "p@example.org");
	struct test_resp r;
	test_call(&s, "PUT", "/api/v1/me/consents", ptok, "{\"scopes\":{\"sensing\":true}}", &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/me", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	long long pid = (long long)json_integer_value(json_object_get(r.json, "id"));
	test_resp_free(&r);
	/* An alert to read and acknowledge: PHQ-9 question 9 answered above 0. */
	test_call(&s, "POST", "/api/v1/assessments", ptok,
	          "{\"instrument\":\"phq9\",\"answers\":[1,1,1,1,1,1,1,1,1]}", &r);
	ASSERT_EQ(r.status, 201);
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/alerts", ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	long long aid = (long long)json_integer_value(
	    json_object_get(json_array_get(json_object_get(r.json, "alerts"), 0), "id"));
	ASSERT(aid > 0);
	test_resp_free(&r);
	char *ptok2 = test_login(&s, "p@example.org"); /* a second session, to sign out */
	char alert[64], ack[64];
	snprintf(alert, sizeof(alert), "/api/v1/alerts/%lld", aid);
	snprintf(ack, sizeof(ack), "/api/v1/alerts/%lld/ack", aid);
	char today[11], risk[64], outcomes[64], sensing[64], patient[64], checkins[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(today, sizeof(today), "%Y-%m-%d", gmtime_r(&now, &tm));
	snprintf(risk, sizeof(risk), "/api/v1/patients/%lld/risk", pid);
	snprintf(outcomes, sizeof(outcomes), "/api/v1/patients/%lld/outcomes", pid);
	snprintf(sensing, sizeof(sensing), "/api/v1/patients/%lld/sensing", pid);
	snprintf(patient, sizeof(patient), "/api/v1/patients/%lld", pid);
	snprintf(checkins, sizeof(checkins), "/api/v1/patients/%lld/checkins", pid);
	struct bg_call c[] = {
	    {.s = &s, .method = "GET", .path = "/api/v1/checkins", .tok = ptok},
	    {.s = &s, .method = "GET", .path = "/api/v1/assessments", .tok = ptok},
	    {.s = &s, .method = "GET", .path = "/api/v1/me/reminders", .tok = ptok},
	    {.s = &s, .method = "GET", .path = "/api/v1/me/sensing", .tok = ptok},
	    {.s = &s, .path = "/api/v1/assessments", .tok = ptok,
	     .body = "{\"instrument\":\"gad2\",\"answers\":[1,2]}"},
	    {.s = &s, .path = "/api/v1/sensing", .tok = ptok},
	    {.s = &s, .method = "GET", .path = risk, .tok = ctok},
	    {.s = &s, .method = "GET", .path = outcomes, .tok = ctok},
	    {.s = &s, .method = "GET", .path = sensing, .tok = ctok},
	    {.s = &s, .method = "GET", .path = "/api/v1/chat/messages", .tok = ptok},
	    {.s = &s, .method = "GET", .path = "/api/v1/me/safety-plan", .tok = ptok},
	    {.s = &s, .method = "GET", .path = "/api/v1/alerts", .tok = ctok},
	    {.s = &s, .method = "GET", .path = "/api/v1/patients", .tok = ctok},
	    {.s = &s, .method = "GET", .path = patient, .tok = ctok},
	    {.s = &s, .method = "GET", .path = checkins, .tok = ctok},
	    {.s = &s, .method = "GET", .path = alert, .tok = ctok},
	    {.s = &s, .path = ack, .tok = ctok},
	    {.s = &s, .method = "PUT", .path = "/api/v1/me/consents", .tok = ptok,
	     .body = "{\"scopes\":{\"research\":true}}"},
	    {.s = &s, .method = "PUT", .path = "/api/v1/me/reminders", .tok = ptok,
	     .body = "{\"enabled\":true,\"time\":\"19:30\",\"days\":[\"mon\"]}"},
	    {.s = &s, .path = "/api/v1/auth/logout", .tok = ptok2},
	};
	const int want[] = {200, 200, 200, 200, 201, 201, 200, 200, 200, 200,
	                    200, 200, 200, 200, 200, 200, 200, 200, 200, 204};
	_Static_assert(sizeof(want) / sizeof(want[0]) == sizeof(c) / sizeof(c[0]), "one status each");
	enum { N = sizeof(c) / sizeof(c[0]) };
	snprintf(c[5].body, sizeof(c[5].body),
	         "{\"observations\":[{\"type\":\"steps\",\"value\":5000,\"date\":\"%s\"}]}", today);
	struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	gate_hold(&s, &g);
	pthread_t t[N];
	for (int i = 0; i < N; i++)
		ASSERT_OK(pthread_create(&t[i], NULL, post_bg, &c[i]));
	sleep_ms(500); /* each request reaches the writer's queue */
	struct test_resp h;
	test_call(&s, "GET", "/healthz", NULL, NULL, &h);
	ASSERT_EQ(h.status, 200);
	test_resp_free(&h);
	ASSERT(gate_holding(&g));
	for (int i = 0; i < N; i++)
		ASSERT_EQ(atomic_load(&c[i].done), 0); /* still waiting for the writer */
	gate_open(&g);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		ASSERT_EQ(c[i].r.status, want[i]);
		test_resp_free(&c[i].r);
	}
	gate_wait_finished(&g);
	ASSERT_EQ(test_count(&s, "assessments"), 2);
	struct test_resp me;
	test_call(&s, "GET", "/api/v1/me", ptok2, NULL, &me); /* signed out */
	ASSERT_EQ(me.status, 401);
	test_resp_free(&me);
	free(ctok);
	free(ptok);
	free(ptok2);
	test_server_stop(&s);
}

/* A login and a registration (each an argon2id hash and an audited write) run on the
 * slow-work threads, not on an HTTP worker: with one worker and the store's writer held,
 * both wait for their writes while another connection is answered; once the writer goes
 * on, both succeed. Had either held the worker, /healthz could only be answered after the
 * hold ended. */
TEST(api_login_holds_no_worker)
{
	struct test_server s;
	char *ctok;
	one_worker_server(&s, &ctok);
	struct test_resp inv;
	test_call(&s, "POST", "/api/v1/invitations", ctok, NULL, &inv);
	ASSERT_EQ(inv.status, 201);

	struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	gate_hold(&s, &g);
	struct bg_call c = {.s = &s, .path = "/api/v1/auth/login"};
	struct bg_call reg = {.s = &s, .path = "/api/v1/auth/register"};
	snprintf(c.body, sizeof(c.body), "{\"email\":\"p@example.org\",\"password\":\"%s\"}",
	         TEST_PASSWORD);
	snprintf(reg.body, sizeof(reg.body),
	         "{\"code\":\"%s\",\"email\":\"q@example.org\",\"password\":\"%s\"}",
	         json_string_value(json_object_get(inv.json, "code")), TEST_PASSWORD);
	test_resp_free(&inv);
	pthread_t t, t2;
	ASSERT_OK(pthread_create(&t, NULL, post_bg, &c));
	ASSERT_OK(pthread_create(&t2, NULL, post_bg, &reg));
	sleep_ms(800); /* the passwords are hashed and both writes are queued */
	struct test_resp h;
	test_call(&s, "GET", "/healthz", NULL, NULL, &h);
	ASSERT_EQ(h.status, 200);
	test_resp_free(&h);
	ASSERT(gate_holding(&g));
	ASSERT_EQ(atomic_load(&c.done), 0); /* both still wait for their writes */
	ASSERT_EQ(atomic_load(&reg.done), 0);
	gate_open(&g);
	pthread_join(t, NULL);
	pthread_join(t2, NULL);
	ASSERT_EQ(c.r.status, 200);
	ASSERT(json_string_value(json_object_get(c.r.json, "token")));
	test_resp_free(&c.r);
	ASSERT_EQ(reg.r.status, 201);
	test_resp_free(&reg.r);
	gate_wait_finished(&g);
	free(ctok);
	test_server_stop(&s);
}

/* Without a threads option the server picks its workers by store: 4 on SQLite (a few
 * keep two cores busy when no write holds a worker), 16 on PostgreSQL (each read is a
 * round trip that holds its worker). /metrics says how many. */
TEST(api_default_workers_follow_the_store)
{
	struct test_server s;
	struct haven_api_config cfg;
	haven_api_config_init(&cfg);
	ASSERT_EQ(cfg.threads, 0);
	test_server_start(&s, &cfg);
	struct test_resp r;
	test_call(&s, "GET", "/metrics", NULL, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_CONTAINS(r.body, haven_store_kind(s.store) == HAVEN_STORE_PG
	                            ? "\nhaven_http_workers 16\n"
	                            : "\nhaven_http_workers 4\n");
	test_resp_free(&r);
	test_server_stop(&s);
	cfg.threads = 3;
	test_server_start(&s, &cfg);
	test_call(&s, "GET", "/metrics", NULL, NULL, &r);
	ASSERT_CONTAINS(r.body, "\nhaven_http_workers 3\n");
	test_resp_free(&r);
	test_server_stop(&s);
}
