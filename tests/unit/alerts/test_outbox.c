/* test_outbox.c: the webhook outbox without HTTP: raising an alert queues exactly one
 * "alert.raised" row in the same transaction (and a rolled-back raise queues nothing), the
 * payload holds no reasons, keys are unique, and the signature is HMAC-SHA256 (RFC 4231
 * test case 2, a key shorter than the block). tests/run.sh reruns it on PostgreSQL. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "alerts/alerts.h"
#include "harness.h"

struct ob_fixture {
	struct haven_store *s;
	struct haven_master_key *mk;
	int64_t patient;
};

static int ob_patient_tx(struct haven_tx *tx, void *arg)
{
	struct ob_fixture *f = arg;
	return haven_tx_query_int(tx,
	                          "INSERT INTO users (email, role, password_hash, created_at) "
	                          "VALUES ('outbox-patient@example.org', 'patient', 'x', 0) "
	                          "RETURNING id",
	                          NULL, 0, &f->patient);
}

struct ob_raise {
	struct ob_fixture *f;
	json_t *reasons;
	int64_t id;
	int fail_after;
};

static int ob_raise_tx(struct haven_tx *tx, void *arg)
{
	struct ob_raise *r = arg;
	struct haven_alert_new a = {.patient_id = r->f->patient,
	                            .kind = "phq9_item9",
	                            .severity = "urgent",
	                            .reasons = r->reasons,
	                            .source = "test"};
	int rc = haven_alert_raise(tx, r->f->mk, &a, &r->id, NULL);
	if (rc)
		return rc;
	return r->fail_after ? HAVEN_EIO : 0;
}

struct ob_rows {
	int n;
	char event[4][32], key[4][40];
	char *payload[4];
};

static int ob_row(const struct haven_row *row, void *arg)
{
	struct ob_rows *o = arg;
	if (o->n < 4) {
		snprintf(o->event[o->n], 32, "%s", haven_row_text(row, 0, NULL));
		snprintf(o->key[o->n], 40, "%s", haven_row_text(row, 1, NULL));
		o->payload[o->n] = strdup(haven_row_text(row, 2, NULL));
	}
	o->n++;
	return 0;
}

static int ob_rows_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(tx,
	                      "SELECT event, idempotency_key, payload FROM alert_outbox WHERE "
	                      "target = 'primary' AND delivered_at IS NULL ORDER BY id",
	                      NULL, 0, ob_row, arg);
}

TEST(alerts_outbox_queued_with_the_alert)
{
	struct ob_fixture f = {0};
	ASSERT_OK(haven_crypto_init());
	ASSERT_OK(haven_store_open(haven_test_db_url(), NULL, &f.s));
	ASSERT_OK(haven_store_migrate(f.s, NULL));
	ASSERT_OK(haven_master_key_generate(&f.mk));
	ASSERT_OK(haven_store_write(f.s, ob_patient_tx, &f));

	json_t *reasons = json_pack("[{s:s}]", "text", "outbox-secret-reason-text");
	struct ob_raise r = {.f = &f, .reasons = reasons, .fail_after = 1};
	ASSERT(haven_store_write(f.s, ob_raise_tx, &r) < 0);
	struct ob_rows o = {0};
	ASSERT_OK(haven_store_read(f.s, ob_rows_tx, &o));
	ASSERT_EQ(o.n, 0); /* rolled back with the alert */

	r.fail_after = 0;
	ASSERT_OK(haven_store_write(f.s, ob_raise_tx, &r));
	int64_t first = r.id;
	ASSERT_OK(haven_store_write(f.s, ob_raise_tx, &r));
	ASSERT(r.id > first);
	ASSERT_OK(haven_store_read(f.s, ob_rows_tx, &o));
	ASSERT_EQ(o.n, 2);
	for (int i = 0; i < 2; i++) {
		ASSERT_STR_EQ(o.event[i], "alert.raised");
		ASSERT_EQ(strlen(o.key[i]), 32);
		ASSERT(!strstr(o.payload[i], "outbox-secret-reason-text"));
		json_error_t e;
		json_t *doc = json_loads(o.payload[i], 0, &e);
		ASSERT(doc != NULL);
		ASSERT_STR_EQ(json_string_value(json_object_get(doc, "delivery_id")), o.key[i]);
		json_t *al = json_object_get(doc, "alert");
		ASSERT_EQ(json_integer_value(json_object_get(al, "id")), i == 0 ? first : r.id);
		ASSERT_EQ(json_integer_value(json_object_get(al, "patient_id")), f.patient);
		ASSERT_STR_EQ(json_string_value(json_object_get(al, "status")), "open");
		ASSERT(json_object_get(al, "reasons") == NULL);
		json_decref(doc);
		free(o.payload[i]);
	}
	ASSERT(strcmp(o.key[0], o.key[1]) != 0);
	json_decref(reasons);
	haven_master_key_destroy(&f.mk);
	haven_store_destroy(&f.s);
}

TEST(alerts_signature_is_hmac_sha256)
{
	ASSERT_OK(haven_crypto_init());
	char sig[72];
	const char *body = "what do ya want for nothing?";
	haven_alert_sign((const uint8_t *)"Jefe", 4, body, strlen(body), sig);
	ASSERT_STR_EQ(sig,
	              "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(alerts_dispatcher_config_checks)
{
	struct haven_alert_delivery_config cfg;
	haven_alert_delivery_config_init(&cfg);
	ASSERT_EQ(cfg.escalate_after_ms, 900000);
	ASSERT(cfg.backoff_base_ms > 0 && cfg.backoff_cap_ms >= cfg.backoff_base_ms);
	/* A dispatcher with no URL is allowed (escalation still runs); a bad URL is not. */
	cfg.url = "gopher://x";
	cfg.secret = "0123456789abcdef";
	struct haven_alert_dispatcher *d = (void *)1;
	ASSERT_EQ(haven_alert_dispatcher_start(&cfg, NULL, &d), HAVEN_EINVAL);
	ASSERT(d == NULL);
}

static int ob_escalated_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query_int(tx, "SELECT COUNT(*) FROM alerts WHERE escalated_at IS NOT NULL",
	                          NULL, 0, arg);
}

TEST(alerts_no_escalation_without_a_webhook)
{
	struct ob_fixture f = {0};
	ASSERT_OK(haven_crypto_init());
	ASSERT_OK(haven_store_open(haven_test_db_url(), NULL, &f.s));
	ASSERT_OK(haven_store_migrate(f.s, NULL));
	ASSERT_OK(haven_master_key_generate(&f.mk));
	ASSERT_OK(haven_store_write(f.s, ob_patient_tx, &f));
	json_t *reasons = json_pack("[{s:s}]", "text", "an urgent alert");
	struct ob_raise r = {.f = &f, .reasons = reasons};
	ASSERT_OK(haven_store_write(f.s, ob_raise_tx, &r));

	/* No URL: nobody could be told, so the due urgent alert is not marked escalated. The
	 * thread sleeps a long poll after its first pass; this pass is run by hand. */
	struct haven_alert_delivery_config cfg;
	haven_alert_delivery_config_init(&cfg);
	cfg.escalate_after_ms = 1;
	cfg.poll_ms = 3600 * 1000;
	struct haven_alert_dispatcher *d = NULL;
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, f.s, &d));
	int escalated = -1, delivered = -1;
	ASSERT_OK(haven_alert_dispatch_once(d, &escalated, &delivered));
	ASSERT_EQ(escalated, 0);
	ASSERT_EQ(delivered, 0);
	haven_alert_dispatcher_stop(&d);
	int64_t n = -1;
	ASSERT_OK(haven_store_read(f.s, ob_escalated_tx, &n));
	ASSERT_EQ(n, 0);

	/* With a URL (nothing listens there) the thread's first pass escalates it. */
	cfg.url = "http://127.0.0.1:9/unreachable";
	cfg.secret = "0123456789abcdef0123";
	cfg.timeout_ms = 2000;
	ASSERT_OK(haven_alert_dispatcher_start(&cfg, f.s, &d));
	for (int tries = 0; tries < 3000 && n != 1; tries++) {
		ASSERT_OK(haven_store_read(f.s, ob_escalated_tx, &n));
		if (n != 1)
			usleep(10000);
	}
	ASSERT_EQ(n, 1);
	haven_alert_dispatcher_stop(&d);
	json_decref(reasons);
	haven_master_key_destroy(&f.mk);
	haven_store_destroy(&f.s);
}
