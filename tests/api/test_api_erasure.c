/*
 * test_api_erasure.c: clinical text is stored encrypted and erasure crypto-shreds it.
 * A check-in with a unique marker is posted; the raw SQLite file and its WAL do not
 * contain the marker; its ciphertext is captured and opens with the patient's key;
 * after DELETE /me the rows and the key are gone and the captured ciphertext can no
 * longer be decrypted. Also checks the export before erasure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "crypto/keyring.h"
#include "harness.h"

/* 1 if the file exists and contains needle. */
static int file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t cap = 1 << 20, len = 0, got;
	char *buf = malloc(cap);
	ASSERT(buf);
	while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			char *g = realloc(buf, cap *= 2);
			ASSERT(g);
			buf = g;
		}
	}
	fclose(f);
	int found = memmem(buf, len, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

static void assert_not_in_files(const struct test_server *s, const char *marker)
{
	if (strncmp(s->db_url, "sqlite:", 7))
		return; /* PostgreSQL: the files belong to the server */
	char path[700];
	const char *suffixes[] = {"", "-wal", "-journal"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", s->db_url + 7, suffixes[i]);
		if (file_contains(path, marker))
			haven_test_fail(__FILE__, __LINE__, "%s holds the marker in plaintext",
			                path);
	}
}

struct captured {
	int64_t patient;
	char rid[40];
	uint8_t ct[4096];
	size_t ct_len;
	const struct haven_master_key *mk;
	int open_rc;
	char plain[4096];
};

static int capture_row(const struct haven_row *row, void *arg)
{
	struct captured *c = arg;
	size_t len;
	const void *blob = haven_row_blob(row, 1, &len);
	haven_strlcpy(c->rid, haven_row_text(row, 0, NULL), sizeof(c->rid));
	ASSERT(len <= sizeof(c->ct));
	memcpy(c->ct, blob, len);
	c->ct_len = len;
	return 0;
}

static int capture_tx(struct haven_tx *tx, void *arg)
{
	struct captured *c = arg;
	struct haven_param p[] = {HAVEN_P_INT(c->patient)};
	return haven_tx_query(tx, "SELECT rid, payload FROM checkins WHERE patient_id = ?", p, 1,
	                      capture_row, c);
}

static int open_tx(struct haven_tx *tx, void *arg)
{
	struct captured *c = arg;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	c->plain[0] = '\0';
	c->open_rc = haven_keyring_open(tx, c->mk, c->patient, "checkins", c->rid, "payload", c->ct,
	                                c->ct_len, &pt, &pt_len);
	if (c->open_rc == 0) {
		haven_strlcpy(c->plain, (const char *)pt, sizeof(c->plain));
		haven_secret_free(pt, pt_len);
	}
	return 0;
}

struct audit_check {
	int64_t erase_records;
	int leaked;
	const char *email;
};

static int audit_row(const struct haven_row *row, void *arg)
{
	struct audit_check *a = arg;
	for (int col = 0; col < haven_row_count(row); col++) {
		const char *t = haven_row_text(row, col, NULL);
		if (t && strstr(t, a->email))
			a->leaked = 1;
	}
	a->erase_records++;
	return 0;
}

static int audit_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(tx,
	                      "SELECT action, subject, outcome, detail FROM audit_log WHERE "
	                      "action = 'patient.erase'",
	                      NULL, 0, audit_row, arg);
}

TEST(api_erasure_destroys_key_and_rows)
{
	struct test_server s;
	struct test_resp r;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	int64_t pid = test_register(&s, ctok, "erase-me@example.org", 1);
	char *ptok = test_login(&s, "erase-me@example.org");

	char marker[64], body[256];
	char rnd[33];
	haven_random_id(rnd);
	snprintf(marker, sizeof(marker), "erasure-marker-%s", rnd);
	snprintf(body, sizeof(body), "{\"mood\":2,\"sleep_hours\":4.5,\"note\":\"%s\"}", marker);
	test_call(&s, "POST", "/api/v1/checkins", ptok, body, &r);
	ASSERT_EQ(r.status, 201);
	test_resp_free(&r);
	assert_not_in_files(&s, marker);

	test_call(&s, "GET", "/api/v1/me/export", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_CONTAINS(r.body, marker);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "checkins")), 1);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "care_team")), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(r.json, "user"), "email")),
	              "erase-me@example.org");
	test_resp_free(&r);

	struct captured c = {.patient = pid, .mk = s.mk};
	ASSERT_OK(haven_store_read(s.store, capture_tx, &c));
	ASSERT(c.ct_len > 0);
	ASSERT(!memmem(c.ct, c.ct_len, marker, strlen(marker)));
	ASSERT_OK(haven_store_read(s.store, open_tx, &c));
	ASSERT_OK(c.open_rc);
	ASSERT_CONTAINS(c.plain, marker);

	test_call(&s, "DELETE", "/api/v1/me", ptok, NULL, &r);
	ASSERT_EQ(r.status, 204);
	test_resp_free(&r);

	/* The key is gone: the captured ciphertext cannot be opened any more. */
	ASSERT_OK(haven_store_read(s.store, open_tx, &c));
	ASSERT(c.open_rc != 0);
	ASSERT_EQ(c.plain[0], '\0');
	ASSERT_EQ(test_count(&s, "data_keys"), 0);
	ASSERT_EQ(test_count(&s, "checkins"), 0);
	ASSERT_EQ(test_count(&s, "consents"), 0);
	ASSERT_EQ(test_count(&s, "care_team"), 0);
	ASSERT_EQ(test_count(&s, "users"), 1);
	assert_not_in_files(&s, marker);

	/* Sessions are revoked; the erasure is audited with ids only. */
	test_call(&s, "GET", "/api/v1/me", ptok, NULL, &r);
	ASSERT_EQ(r.status, 401);
	test_resp_free(&r);
	struct audit_check a = {0, 0, "erase-me@example.org"};
	ASSERT_OK(haven_store_read(s.store, audit_tx, &a));
	ASSERT_EQ(a.erase_records, 1);
	ASSERT_EQ(a.leaked, 0);

	/* The clinician no longer sees the patient. */
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld", (long long)pid);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 404);
	test_resp_free(&r);
	free(ptok);
	free(ctok);
	test_server_stop(&s);
}
