/*
 * test_api_sessions.c: session lookups kept in memory (src/api/sessions.c) are used only
 * while nothing changed: on PostgreSQL they are kept, and a logout here, a change made
 * by another process and a lost notice connection each end them; on SQLite nothing is
 * kept.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_test.h"
#include "harness.h"

/* The server's count of lookups answered from memory or from the database. */
static long long lookups(struct test_server *s, const char *from)
{
	struct test_resp r;
	char want[96];
	test_call(s, "GET", "/metrics", NULL, NULL, &r);
	ASSERT_EQ(r.status, 200);
	snprintf(want, sizeof(want), "haven_session_lookups_total{from=\"%s\"} ", from);
	const char *p = strstr(r.body, want);
	ASSERT(p);
	long long n = atoll(p + strlen(want));
	test_resp_free(&r);
	return n;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* GET /me with tok until it answers status, for up to 10 s; returns the last status. */
static long me_until(struct test_server *s, const char *tok, long status)
{
	long got = 0;
	for (int i = 0; i < 1000 && got != status; i++) {
		struct test_resp r;
		if (i)
			nap_ms(10);
		test_call(s, "GET", "/api/v1/me", tok, NULL, &r);
		got = r.status;
		test_resp_free(&r);
	}
	return got;
}

static long me_status(struct test_server *s, const char *tok)
{
	struct test_resp r;
	test_call(s, "GET", "/api/v1/me", tok, NULL, &r);
	long st = r.status;
	test_resp_free(&r);
	return st;
}

/* Runs sql (one '?' for id) from a store of its own, as another process would. */
static void other_process_exec(struct test_server *s, const char *sql, int64_t id)
{
	struct haven_store *other = NULL;
	ASSERT_OK(haven_store_open(s->db_url, NULL, &other));
	test_exec_id(other, sql, id);
	haven_store_destroy(&other);
}

TEST(api_session_lookups_kept_only_while_unchanged)
{
	struct test_server s;
	test_server_start(&s, NULL);
	int pg = haven_store_kind(s.store) == HAVEN_STORE_PG;
	int64_t id = test_make_user(&s, "clinician", "kept@example.org");
	char *tok = test_login(&s, "kept@example.org");

	if (!pg) {
		/* SQLite: other processes sharing the file announce nothing. */
		ASSERT_EQ(haven_store_auth_epoch(s.store), 0);
		ASSERT_EQ(me_status(&s, tok), 200);
		ASSERT_EQ(me_status(&s, tok), 200);
		ASSERT_EQ(lookups(&s, "memory"), 0);
		ASSERT(lookups(&s, "database") >= 2);
		free(tok);
		test_server_stop(&s);
		return;
	}

	/* The listener connects in the background. */
	for (int i = 0; i < 1000 && !haven_store_auth_epoch(s.store); i++)
		nap_ms(10);
	ASSERT(haven_store_auth_epoch(s.store) != 0);
	ASSERT_EQ(me_status(&s, tok), 200);
	long long before = lookups(&s, "memory");
	ASSERT_EQ(me_status(&s, tok), 200);
	ASSERT_EQ(me_status(&s, tok), 200);
	ASSERT_EQ(lookups(&s, "memory"), before + 2);

	/* Another process ends every session of the account: the notice reaches this
	 * server and the kept lookup is no longer used. */
	other_process_exec(&s, "UPDATE sessions SET revoked = 1 WHERE user_id = ?", id);
	ASSERT_EQ(me_until(&s, tok, 401), 401);
	free(tok);

	/* A logout through this server is final the moment it is answered: the store sees
	 * its own commit's notice before the reply, with no wait for the listener. */
	tok = test_login(&s, "kept@example.org");
	ASSERT_EQ(me_status(&s, tok), 200);
	ASSERT_EQ(me_status(&s, tok), 200);
	struct test_resp r;
	test_call(&s, "POST", "/api/v1/auth/logout", tok, NULL, &r);
	ASSERT_EQ(r.status, 204);
	test_resp_free(&r);
	ASSERT_EQ(me_status(&s, tok), 401);
	free(tok);

	/* An account change elsewhere (disabled by another process) ends its lookups too. */
	tok = test_login(&s, "kept@example.org");
	ASSERT_EQ(me_status(&s, tok), 200);
	ASSERT_EQ(me_status(&s, tok), 200);
	other_process_exec(&s, "UPDATE users SET disabled = 1 WHERE id = ?", id);
	ASSERT_EQ(me_until(&s, tok, 401), 401);
	free(tok);
	test_server_stop(&s);
}

TEST(api_session_lookups_stop_when_notices_stop)
{
	struct test_server s;
	test_server_start(&s, NULL);
	if (haven_store_kind(s.store) != HAVEN_STORE_PG) {
		ASSERT_EQ(haven_store_watch_auth(s.store), HAVEN_EUNSUPPORTED);
		test_server_stop(&s);
		return;
	}
	test_make_user(&s, "clinician", "lost@example.org");
	char *tok = test_login(&s, "lost@example.org");
	for (int i = 0; i < 1000 && !haven_store_auth_epoch(s.store); i++)
		nap_ms(10);
	uint64_t e = haven_store_auth_epoch(s.store);
	ASSERT(e != 0);
	/* The listening connection is cut by the database server: listening counts as
	 * stopped until it is made again, and then the epoch is a new one (notices about
	 * other schemas do not move it, and nothing in this one changes meanwhile), so
	 * nothing kept before the cut is used after it. */
	other_process_exec(&s,
	                   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
	                   "application_name = 'haven-listen' AND pid <> ?",
	                   0);
	uint64_t now = e;
	for (int i = 0; i < 1000 && (now == e || now == 0); i++) {
		nap_ms(10);
		now = haven_store_auth_epoch(s.store);
	}
	ASSERT(now != 0 && now != e);
	ASSERT_EQ(me_status(&s, tok), 200);
	free(tok);
	test_server_stop(&s);
}
