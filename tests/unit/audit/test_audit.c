/* test_audit.c: the hash-chained audit log: appends (also from several threads), and
 * verification naming altered, unlinked and deleted records. Runs against SQLite and,
 * from tests/run.sh, against PostgreSQL. Closures run on the store's threads, so they
 * return errors instead of asserting. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "crypto/crypto.h"
#include "harness.h"

static struct haven_store *audit_store(void)
{
	struct haven_store *s;
	ASSERT_OK(haven_crypto_init());
	ASSERT_OK(haven_store_open(haven_test_db_url(), NULL, &s));
	ASSERT_OK(haven_store_migrate(s, NULL));
	return s;
}

struct append_args {
	int n;    /* records to append */
	int fail; /* fail the closure after appending */
	int64_t actor;
};

static int append_tx(struct haven_tx *tx, void *arg)
{
	struct append_args *a = arg;
	char subject[32], detail[64];
	for (int i = 0; i < a->n; i++) {
		snprintf(subject, sizeof(subject), "patient:%lld", (long long)a->actor);
		snprintf(detail, sizeof(detail), "n=%d", i);
		struct haven_audit_event ev = {
		    .actor_id = a->actor,
		    .actor_role = "clinician",
		    .action = "patient.read",
		    .subject = subject,
		    .outcome = "ok",
		    .request_id = "req-1",
		    .detail = i % 2 ? detail : NULL,
		};
		int err = haven_audit_append(tx, &ev);
		if (err)
			return err;
	}
	return a->fail ? HAVEN_EINVAL : HAVEN_OK;
}

static void append_records(struct haven_store *s, int transactions, int per_tx)
{
	for (int i = 0; i < transactions; i++) {
		struct append_args a = {.n = per_tx, .actor = i + 1};
		ASSERT_OK(haven_store_write(s, append_tx, &a));
	}
}

struct exec_args {
	const char *sql;
};

static int exec_tx(struct haven_tx *tx, void *arg)
{
	struct exec_args *e = arg;
	return haven_tx_exec(tx, e->sql, NULL, 0, NULL);
}

static void exec_sql(struct haven_store *s, const char *sql)
{
	struct exec_args e = {sql};
	ASSERT_OK(haven_store_write(s, exec_tx, &e));
}

TEST(audit_empty_log_is_intact)
{
	struct haven_store *s = audit_store();
	struct haven_audit_report r;
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.records, 0);
	ASSERT_EQ(r.first_bad_id, 0);
	ASSERT_EQ(r.last_id, 0);
	haven_store_destroy(&s);
}

TEST(audit_appends_verify_intact)
{
	struct haven_store *s = audit_store();
	struct haven_audit_report r;
	append_records(s, 20, 1);
	append_records(s, 10, 3); /* several records in one transaction */
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 0);
	ASSERT_EQ(r.records, 50);
	ASSERT_EQ(r.last_id, 50);

	/* A rolled-back closure leaves no record and no hole. */
	struct append_args failing = {.n = 2, .fail = 1, .actor = 99};
	ASSERT_EQ(haven_store_write(s, append_tx, &failing), HAVEN_EINVAL);
	append_records(s, 1, 1);
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 0);
	ASSERT_EQ(r.records, 51);
	haven_store_destroy(&s);
}

TEST(audit_verify_pages_through_a_long_log)
{
	struct haven_store *s = audit_store();
	struct haven_audit_report r;
	append_records(s, 12, 100); /* more than two verify pages */
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 0);
	ASSERT_EQ(r.records, 1200);
	exec_sql(s, "UPDATE audit_log SET detail = 'n=0 ' WHERE id = 1101");
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 1101);
	haven_store_destroy(&s);
}

struct thread_args {
	struct haven_store *s;
	int id;
	int err;
};

static void *append_thread(void *arg)
{
	struct thread_args *t = arg;
	for (int i = 0; i < 25 && !t->err; i++) {
		struct append_args a = {.n = 1 + i % 2, .actor = t->id};
		t->err = haven_store_write(t->s, append_tx, &a);
	}
	return NULL;
}

TEST(audit_concurrent_appends_form_one_chain)
{
	enum { THREADS = 4 };
	struct haven_store *s = audit_store();
	struct haven_audit_report r;
	pthread_t th[THREADS];
	struct thread_args args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct thread_args){.s = s, .id = i + 1};
		ASSERT_OK(pthread_create(&th[i], NULL, append_thread, &args[i]));
	}
	for (int i = 0; i < THREADS; i++)
		ASSERT_OK(pthread_join(th[i], NULL));
	for (int i = 0; i < THREADS; i++)
		ASSERT_OK(args[i].err);
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 0);
	ASSERT_EQ(r.records, THREADS * (13 * 1 + 12 * 2));
	haven_store_destroy(&s);
}

TEST(audit_verify_names_an_altered_record)
{
	struct haven_store *s = audit_store();
	struct haven_audit_report r;
	append_records(s, 10, 1);
	exec_sql(s, "UPDATE audit_log SET outcome = 'denied' WHERE id = 5");
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 5);
	ASSERT_EQ(r.last_id, 4);
	ASSERT_CONTAINS(r.reason, "hash mismatch");
	haven_store_destroy(&s);

	/* Every field counts, the time and the actor included. */
	static const char *edits[] = {
	    "UPDATE audit_log SET at = at + 1 WHERE id = 3",
	    "UPDATE audit_log SET actor_id = 77 WHERE id = 3",
	    "UPDATE audit_log SET actor_role = 'admin' WHERE id = 3",
	    "UPDATE audit_log SET action = 'patient.write' WHERE id = 3",
	    "UPDATE audit_log SET subject = 'patient:2' WHERE id = 3",
	    "UPDATE audit_log SET request_id = 'req-2' WHERE id = 3",
	    "UPDATE audit_log SET detail = 'x' WHERE id = 3",
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		s = audit_store();
		append_records(s, 6, 1);
		exec_sql(s, edits[i]);
		ASSERT_OK(haven_audit_verify(s, &r));
		ASSERT_EQ(r.first_bad_id, 3);
		haven_store_destroy(&s);
	}
}

TEST(audit_verify_names_a_broken_link)
{
	struct haven_store *s = audit_store();
	struct haven_audit_report r;
	append_records(s, 8, 1);
	/* Record 6 rewritten to claim record 4's hash as its predecessor. */
	exec_sql(s, "UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE id = 4) "
	            "WHERE id = 6");
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 6);
	ASSERT_CONTAINS(r.reason, "broken link");
	haven_store_destroy(&s);
}

TEST(audit_verify_detects_deleted_records)
{
	struct haven_store *s = audit_store();
	struct haven_audit_report r;
	append_records(s, 10, 1);
	exec_sql(s, "DELETE FROM audit_log WHERE id = 4");
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 4);
	ASSERT_CONTAINS(r.reason, "missing");
	haven_store_destroy(&s);

	s = audit_store();
	append_records(s, 5, 1);
	exec_sql(s, "DELETE FROM audit_log WHERE id <= 2");
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 1);
	haven_store_destroy(&s);
}

struct bad_event_args {
	struct haven_audit_event ev;
};

static int bad_event_tx(struct haven_tx *tx, void *arg)
{
	struct bad_event_args *b = arg;
	return haven_audit_append(tx, &b->ev);
}

TEST(audit_append_rejects_bad_events)
{
	struct haven_store *s = audit_store();
	struct haven_audit_report r;
	static char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	struct bad_event_args b = {
	    .ev = {.actor_role = "system", .action = NULL, .outcome = "ok"},
	};
	ASSERT_EQ(haven_store_write(s, bad_event_tx, &b), HAVEN_EINVAL);
	b.ev.action = "";
	ASSERT_EQ(haven_store_write(s, bad_event_tx, &b), HAVEN_EINVAL);
	b.ev.action = "auth.login\xC0\xAF";
	ASSERT_EQ(haven_store_write(s, bad_event_tx, &b), HAVEN_EINVAL);
	b.ev.action = "auth.login";
	b.ev.detail = big;
	ASSERT_EQ(haven_store_write(s, bad_event_tx, &b), HAVEN_ELIMIT);
	b.ev.detail = "reason=bad_password";
	ASSERT_OK(haven_store_write(s, bad_event_tx, &b));
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.records, 1);
	ASSERT_EQ(r.first_bad_id, 0);
	haven_store_destroy(&s);
}

TEST(audit_anchor_detects_a_cut_tail)
{
	struct haven_store *s = audit_store();
	struct haven_audit_report r;
	uint8_t head[32];
	append_records(s, 8, 1);
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.last_id, 8);
	memcpy(head, r.head_hash, sizeof(head));
	append_records(s, 2, 1);
	ASSERT_OK(haven_audit_check_anchor(s, 8, head));
	/* Cutting the tail leaves an intact chain: only the anchor shows it. */
	exec_sql(s, "DELETE FROM audit_log WHERE id >= 7");
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 0);
	ASSERT_EQ(r.records, 6);
	ASSERT_EQ(haven_audit_check_anchor(s, 8, head), HAVEN_ENOTFOUND);
	/* A record that holds another hash than the anchor noted. */
	ASSERT_EQ(haven_audit_check_anchor(s, 6, head), HAVEN_ECORRUPT);
	haven_store_destroy(&s);
}

/* ---- Appends from closures grouped in one transaction ---- */

static int slow_append_tx(struct haven_tx *tx, void *arg)
{
	usleep(300 * 1000); /* the others queue up behind this closure meanwhile */
	return append_tx(tx, arg);
}

struct queued_append {
	struct haven_store *s;
	struct append_args a;
	int rc;
};

static void *queued_append_thread(void *p)
{
	struct queued_append *q = p;
	q->rc = haven_store_write(q->s, q->a.n && q->a.actor == 0 ? slow_append_tx : append_tx,
	                          &q->a);
	return NULL;
}

TEST(audit_grouped_appends_with_a_failed_closure_keep_one_chain)
{
	/* Closures that share a transaction take the chain's head from the one before
	 * (haven_tx_chain); a closure that fails after appending is undone, and the next
	 * one must link to the record before it, not to the undone one. */
	enum { QUEUED = 6 };
	struct haven_store *s = audit_store();
	struct haven_store_stats before, after;
	struct haven_audit_report r;
	pthread_t gate, th[QUEUED];
	struct queued_append g = {s, {.n = 1, .actor = 0}, -99}, q[QUEUED];
	haven_store_stats(s, &before);
	ASSERT_OK(pthread_create(&gate, NULL, queued_append_thread, &g));
	usleep(100 * 1000);
	for (int i = 0; i < QUEUED; i++) {
		q[i] = (struct queued_append){s, {.n = 2, .fail = i % 3 == 1, .actor = i + 1}, -99};
		ASSERT_OK(pthread_create(&th[i], NULL, queued_append_thread, &q[i]));
	}
	for (int i = 0; i < QUEUED; i++)
		ASSERT_OK(pthread_join(th[i], NULL));
	ASSERT_OK(pthread_join(gate, NULL));
	ASSERT_OK(g.rc);
	for (int i = 0; i < QUEUED; i++)
		ASSERT_EQ(q[i].rc, i % 3 == 1 ? HAVEN_EINVAL : HAVEN_OK);
	haven_store_stats(s, &after);
	/* The gate's transaction, then the six queued closures in one. */
	ASSERT_EQ(after.transactions - before.transactions, 2);
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 0);
	ASSERT_EQ(r.records, 1 + 4 * 2);
	/* And appends after the group go on from its last record. */
	append_records(s, 2, 1);
	ASSERT_OK(haven_audit_verify(s, &r));
	ASSERT_EQ(r.first_bad_id, 0);
	ASSERT_EQ(r.records, 1 + 4 * 2 + 2);
	haven_store_destroy(&s);
}
