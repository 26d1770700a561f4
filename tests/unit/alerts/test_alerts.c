/* test_alerts.c: raising alerts in a transaction: validation, sealed reasons, the audit
 * record, deduplication, and an alert rolled back with its transaction. tests/run.sh
 * reruns it on PostgreSQL (the alerts/ prefix). */
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "audit/audit.h"
#include "crypto/keyring.h"
#include "harness.h"

struct alert_fixture {
	struct haven_store *s;
	struct haven_master_key *mk;
	int64_t patient;
};

static int add_patient_tx(struct haven_tx *tx, void *arg)
{
	struct alert_fixture *f = arg;
	return haven_tx_query_int(tx,
	                          "INSERT INTO users (email, role, password_hash, created_at) "
	                          "VALUES ('alert-patient@example.org', 'patient', 'x', 0) "
	                          "RETURNING id",
	                          NULL, 0, &f->patient);
}

static void fixture(struct alert_fixture *f)
{
	memset(f, 0, sizeof(*f));
	ASSERT_OK(haven_crypto_init());
	ASSERT_OK(haven_store_open(haven_test_db_url(), NULL, &f->s));
	ASSERT_OK(haven_store_migrate(f->s, NULL));
	ASSERT_OK(haven_master_key_generate(&f->mk));
	ASSERT_OK(haven_store_write(f->s, add_patient_tx, f));
}

static void fixture_done(struct alert_fixture *f)
{
	haven_master_key_destroy(&f->mk);
	haven_store_destroy(&f->s);
}

struct raise_args {
	struct alert_fixture *f;
	struct haven_alert_new a;
	int64_t id;
	int created;
	int fail_after; /* return an error after raising: the alert must roll back */
};

static int raise_tx(struct haven_tx *tx, void *arg)
{
	struct raise_args *r = arg;
	int rc = haven_alert_raise(tx, r->f->mk, &r->a, &r->id, &r->created);
	if (rc)
		return rc;
	return r->fail_after ? HAVEN_EIO : 0;
}

struct alert_read {
	struct alert_fixture *f;
	int64_t id;
	char kind[64], status[32], rid[33];
	uint8_t *ct;
	size_t ct_len;
	char *reasons; /* the opened reasons, NUL-terminated */
	int64_t count;
};

static int read_row(const struct haven_row *row, void *arg)
{
	struct alert_read *a = arg;
	snprintf(a->kind, sizeof(a->kind), "%s", haven_row_text(row, 0, NULL));
	snprintf(a->status, sizeof(a->status), "%s", haven_row_text(row, 1, NULL));
	const uint8_t *ct = haven_row_blob(row, 2, &a->ct_len);
	a->ct = malloc(a->ct_len);
	if (!a->ct)
		return HAVEN_ENOMEM;
	memcpy(a->ct, ct, a->ct_len);
	snprintf(a->rid, sizeof(a->rid), "%s", haven_row_text(row, 3, NULL));
	return 0;
}

/* Reads alert a->id (if any), opens its reasons under the rid they are bound to, and
 * counts every alert. */
static int read_tx(struct haven_tx *tx, void *arg)
{
	struct alert_read *a = arg;
	struct haven_param p[] = {HAVEN_P_INT(a->id)};
	int rc = haven_tx_query(tx, "SELECT kind, status, reasons, rid FROM alerts WHERE id = ?", p,
	                        1, read_row, a);
	if (rc)
		return rc;
	if (a->ct) {
		uint8_t *pt;
		size_t pt_len;
		rc = haven_keyring_open(tx, a->f->mk, a->f->patient, "alerts", a->rid, "reasons",
		                        a->ct, a->ct_len, &pt, &pt_len);
		if (rc)
			return rc;
		a->reasons = strndup((const char *)pt, pt_len);
		haven_secret_free(pt, pt_len);
	}
	return haven_tx_query_int(tx, "SELECT COUNT(*) FROM alerts", NULL, 0, &a->count);
}

static void alert_read_done(struct alert_read *a)
{
	free(a->ct);
	free(a->reasons);
}

TEST(alerts_raise_seals_audits_and_dedups)
{
	struct alert_fixture f;
	fixture(&f);
	json_t *reasons = json_pack("[{s:s, s:[s]}]", "text", "A message said they plan to end "
	                                              "their life tonight.",
	                            "phrases", "kms tonight");
	struct raise_args r = {.f = &f,
	                       .a = {.patient_id = f.patient,
	                             .kind = "crisis_chat",
	                             .severity = "urgent",
	                             .reasons = reasons,
	                             .source = "message:abc"}};
	ASSERT_OK(haven_store_write(f.s, raise_tx, &r));
	ASSERT(r.id > 0);
	ASSERT_EQ(r.created, 1);

	struct alert_read a = {.f = &f, .id = r.id};
	ASSERT_OK(haven_store_read(f.s, read_tx, &a));
	ASSERT_STR_EQ(a.kind, "crisis_chat");
	ASSERT_STR_EQ(a.status, "open");
	ASSERT_EQ(a.count, 1);
	/* Sealed on disk, and they open under the patient's key, bound to the alert's rid. */
	ASSERT(!memmem(a.ct, a.ct_len, "kms tonight", 11));
	ASSERT(a.reasons && strstr(a.reasons, "kms tonight"));
	alert_read_done(&a);

	/* Same kind and dedup key while open: no second alert. */
	struct raise_args d1 = r, d2;
	d1.a.dedup_key = "2026-W47";
	d1.id = 0;
	ASSERT_OK(haven_store_write(f.s, raise_tx, &d1));
	ASSERT_EQ(d1.created, 1);
	d2 = d1;
	d2.id = 0;
	ASSERT_OK(haven_store_write(f.s, raise_tx, &d2));
	ASSERT_EQ(d2.created, 0);
	ASSERT_EQ(d2.id, d1.id);

	/* The audit chain holds the raises and verifies. */
	struct haven_audit_report rep;
	ASSERT_OK(haven_audit_verify(f.s, &rep));
	ASSERT_EQ(rep.first_bad_id, 0);
	ASSERT_EQ(rep.records, 2);
	json_decref(reasons);
	fixture_done(&f);
}

TEST(alerts_roll_back_with_their_transaction_and_reject_bad_input)
{
	struct alert_fixture f;
	fixture(&f);
	json_t *reasons = json_pack("[{s:s}]", "text", "PHQ-9 item 9 answered 2.");
	struct raise_args r = {.f = &f,
	                       .a = {.patient_id = f.patient,
	                             .kind = "phq9_item9",
	                             .severity = "urgent",
	                             .reasons = reasons},
	                       .fail_after = 1};
	ASSERT(haven_store_write(f.s, raise_tx, &r) < 0);
	struct alert_read a = {.f = &f, .id = 0};
	ASSERT_OK(haven_store_read(f.s, read_tx, &a));
	ASSERT_EQ(a.count, 0);
	alert_read_done(&a);

	r.fail_after = 0;
	r.a.severity = "critical";
	ASSERT_EQ(haven_store_write(f.s, raise_tx, &r), HAVEN_EINVAL);
	r.a.severity = "urgent";
	r.a.kind = "Bad Kind";
	ASSERT_EQ(haven_store_write(f.s, raise_tx, &r), HAVEN_EINVAL);
	r.a.kind = "phq9_item9";
	json_t *empty = json_array();
	r.a.reasons = empty;
	ASSERT_EQ(haven_store_write(f.s, raise_tx, &r), HAVEN_EINVAL);
	json_t *no_text = json_pack("[{s:i}]", "score", 3);
	r.a.reasons = no_text;
	ASSERT_EQ(haven_store_write(f.s, raise_tx, &r), HAVEN_EINVAL);
	ASSERT(haven_alert_kind_is_safety("crisis_chat"));
	ASSERT(haven_alert_kind_is_safety("phq9_item9"));
	ASSERT(!haven_alert_kind_is_safety("mood_decline"));
	json_decref(no_text);
	json_decref(empty);
	json_decref(reasons);
	fixture_done(&f);
}
