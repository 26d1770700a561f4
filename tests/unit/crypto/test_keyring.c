/* test_keyring.c: per-patient data keys in the store: creation, field encryption,
 * crypto-shredding, master key rotation and the key file rules around it. tests/run.sh
 * also runs it against PostgreSQL (selected by its name). Closures run on the store's
 * threads, so they return errors instead of asserting. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keyring.h"
#include "harness.h"

static struct haven_store *keyring_store(void)
{
	struct haven_store *s;
	ASSERT_OK(haven_crypto_init());
	unsetenv("HAVEN_MASTER_KEY");
	unsetenv("HAVEN_KEY_FILE");
	ASSERT_OK(haven_store_open(haven_test_db_url(), NULL, &s));
	ASSERT_OK(haven_store_migrate(s, NULL));
	return s;
}

struct patient_args {
	const char *email;
	int64_t id;
};

static int add_patient_tx(struct haven_tx *tx, void *arg)
{
	struct patient_args *p = arg;
	struct haven_param params[] = {HAVEN_P_TEXT(p->email)};
	return haven_tx_query_int(tx,
	                          "INSERT INTO users (email, role, password_hash, created_at) "
	                          "VALUES (?, 'patient', 'x', 0) RETURNING id",
	                          params, 1, &p->id);
}

static int64_t add_patient(struct haven_store *s, const char *email)
{
	struct patient_args p = {.email = email};
	ASSERT_OK(haven_store_write(s, add_patient_tx, &p));
	ASSERT(p.id > 0);
	return p.id;
}

/* One operation on one field, run in a write transaction. */
struct field_op {
	const struct haven_master_key *mk;
	int64_t patient;
	const char *rid;
	const char *text; /* seal: the plaintext */
	uint8_t *ct;      /* seal: the result (malloc'd); open: the input */
	size_t ct_len;
	uint8_t *pt; /* open: the result */
	size_t pt_len;
	int store_row; /* seal: also insert a checkins row holding ct */
};

static int seal_tx(struct haven_tx *tx, void *arg)
{
	struct field_op *op = arg;
	int err = haven_keyring_seal(tx, op->mk, op->patient, "checkins", op->rid, "payload",
	                             op->text, strlen(op->text), &op->ct, &op->ct_len);
	if (err || !op->store_row)
		return err;
	struct haven_param p[] = {HAVEN_P_TEXT(op->rid), HAVEN_P_INT(op->patient),
	                          HAVEN_P_BLOB(op->ct, op->ct_len)};
	return haven_tx_exec(tx,
	                     "INSERT INTO checkins (rid, patient_id, created_at, payload) "
	                     "VALUES (?, ?, 0, ?)",
	                     p, 3, NULL);
}

static int open_tx(struct haven_tx *tx, void *arg)
{
	struct field_op *op = arg;
	return haven_keyring_open(tx, op->mk, op->patient, "checkins", op->rid, "payload", op->ct,
	                          op->ct_len, &op->pt, &op->pt_len);
}

static int destroy_tx(struct haven_tx *tx, void *arg)
{
	struct field_op *op = arg;
	return haven_keyring_destroy(tx, op->patient);
}

struct get_args {
	const struct haven_master_key *mk;
	int64_t patient;
	int create;
	int err2;
};

/* get (or get_or_create), then get again: both keys must be the same one. */
static int get_tx(struct haven_tx *tx, void *arg)
{
	struct get_args *g = arg;
	struct haven_data_key *a = NULL, *b = NULL;
	uint8_t *ct = NULL, *pt = NULL;
	size_t ct_len = 0, pt_len = 0;
	int err = g->create ? haven_keyring_get_or_create(tx, g->mk, g->patient, &a)
	                    : haven_keyring_get(tx, g->mk, g->patient, &a);
	if (err)
		return err;
	err = haven_keyring_get(tx, g->mk, g->patient, &b);
	if (!err)
		err = haven_seal(a, "ad", "same key", 8, &ct, &ct_len);
	if (!err)
		err = haven_open(b, "ad", ct, ct_len, &pt, &pt_len);
	g->err2 = err;
	haven_secret_free(pt, pt_len);
	free(ct);
	haven_data_key_destroy(&a);
	haven_data_key_destroy(&b);
	return HAVEN_OK;
}

static int keyring_get(struct haven_store *s, const struct haven_master_key *mk, int64_t patient,
                       int create)
{
	struct get_args g = {.mk = mk, .patient = patient, .create = create};
	int err = haven_store_write(s, get_tx, &g);
	return err ? err : g.err2;
}

static void seal_field(struct haven_store *s, const struct haven_master_key *mk, int64_t patient,
                       const char *rid, const char *text, int store_row, struct field_op *op)
{
	*op = (struct field_op){
	    .mk = mk, .patient = patient, .rid = rid, .text = text, .store_row = store_row};
	ASSERT_OK(haven_store_write(s, seal_tx, op));
	ASSERT(op->ct && op->ct_len > strlen(text));
}

static int open_field(struct haven_store *s, const struct haven_master_key *mk, struct field_op *op)
{
	op->mk = mk;
	op->pt = NULL;
	int err = haven_store_write(s, open_tx, op);
	if (!err && strcmp((char *)op->pt, op->text))
		err = HAVEN_ECORRUPT;
	haven_secret_free(op->pt, op->pt_len);
	op->pt = NULL;
	return err;
}

TEST(keyring_get_or_create_and_field_roundtrip)
{
	struct haven_store *s = keyring_store();
	struct haven_master_key *mk;
	struct field_op op;
	ASSERT_OK(haven_master_key_generate(&mk));
	int64_t p = add_patient(s, "p1@example.org");
	ASSERT_EQ(keyring_get(s, mk, p, 0), HAVEN_ENOTFOUND);
	ASSERT_OK(keyring_get(s, mk, p, 1));
	ASSERT_OK(keyring_get(s, mk, p, 0));

	seal_field(s, mk, p, "r1", "slept badly, anxious about work", 0, &op);
	ASSERT_OK(open_field(s, mk, &op));
	/* The ciphertext is bound to its record, field and patient. */
	op.rid = "r2";
	ASSERT_EQ(open_field(s, mk, &op), HAVEN_EAUTH);
	op.rid = "r1";
	int64_t other = add_patient(s, "p2@example.org");
	ASSERT_OK(keyring_get(s, mk, other, 1));
	op.patient = other;
	ASSERT_EQ(open_field(s, mk, &op), HAVEN_EAUTH);
	op.patient = p;
	ASSERT_OK(open_field(s, mk, &op));
	/* Another master key cannot unwrap the patient's key. */
	struct haven_master_key *wrong;
	ASSERT_OK(haven_master_key_generate(&wrong));
	ASSERT_EQ(keyring_get(s, wrong, p, 0), HAVEN_EAUTH);
	ASSERT_EQ(keyring_get(s, wrong, p, 1), HAVEN_EAUTH);
	ASSERT_EQ(open_field(s, wrong, &op), HAVEN_EAUTH);
	free(op.ct);
	haven_master_key_destroy(&wrong);
	haven_master_key_destroy(&mk);
	haven_store_destroy(&s);
}

TEST(keyring_destroy_shreds_the_patient)
{
	struct haven_store *s = keyring_store();
	struct haven_master_key *mk;
	struct field_op op, del;
	ASSERT_OK(haven_master_key_generate(&mk));
	int64_t p = add_patient(s, "p1@example.org");
	seal_field(s, mk, p, "r1", "private words", 1, &op);
	ASSERT_OK(open_field(s, mk, &op));
	del = (struct field_op){.patient = p};
	ASSERT_OK(haven_store_write(s, destroy_tx, &del));
	ASSERT_OK(haven_store_write(s, destroy_tx, &del)); /* repeating is harmless */
	ASSERT_EQ(keyring_get(s, mk, p, 0), HAVEN_ENOTFOUND);
	ASSERT_EQ(open_field(s, mk, &op), HAVEN_ENOTFOUND);
	/* A new key for the same patient does not open what the old one sealed. */
	ASSERT_OK(keyring_get(s, mk, p, 1));
	ASSERT_EQ(open_field(s, mk, &op), HAVEN_EAUTH);
	free(op.ct);
	haven_master_key_destroy(&mk);
	haven_store_destroy(&s);
}

/* The bytes of every data row, to show rotation leaves them alone. */
struct dump {
	struct haven_buf buf;
};

static int dump_row(const struct haven_row *row, void *arg)
{
	struct dump *d = arg;
	size_t len;
	const void *p = haven_row_blob(row, 1, &len);
	int err = haven_buf_printf(&d->buf, "%lld:", (long long)haven_row_int(row, 0));
	if (!err && p)
		err = haven_buf_append(&d->buf, p, len);
	return err;
}

static int dump_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(tx, "SELECT id, payload FROM checkins ORDER BY id", NULL, 0, dump_row,
	                      arg);
}

static char *dump_checkins(struct haven_store *s, size_t *len)
{
	struct dump d;
	haven_buf_init(&d.buf, 1 << 20);
	ASSERT_OK(haven_buf_puts(&d.buf, ""));
	ASSERT_OK(haven_store_read(s, dump_tx, &d));
	return haven_buf_detach(&d.buf, len);
}

TEST(keyring_rotate_rewraps_keys_not_data)
{
	enum { PATIENTS = 5 };
	struct haven_store *s = keyring_store();
	struct haven_master_key *old_mk, *new_mk, *stranger;
	struct field_op ops[PATIENTS];
	char email[64], rid[16];
	int64_t count = -1, matching, total;
	ASSERT_OK(haven_master_key_generate(&old_mk));
	ASSERT_OK(haven_master_key_generate(&new_mk));
	ASSERT_OK(haven_master_key_generate(&stranger));
	for (int i = 0; i < PATIENTS; i++) {
		snprintf(email, sizeof(email), "p%d@example.org", i);
		snprintf(rid, sizeof(rid), "rid%d", i);
		int64_t p = add_patient(s, email);
		seal_field(s, old_mk, p, strdup(rid), "feeling a bit better", 1, &ops[i]);
	}
	size_t before_len, after_len;
	char *before = dump_checkins(s, &before_len);

	/* Rotating from a key that wraps nothing fails and changes nothing. */
	ASSERT_EQ(haven_keyring_rotate(s, stranger, new_mk, &count), HAVEN_EAUTH);
	ASSERT_OK(haven_keyring_count(s, old_mk, &matching, &total));
	ASSERT_EQ(matching, PATIENTS);
	ASSERT_EQ(total, PATIENTS);

	ASSERT_OK(haven_keyring_rotate(s, old_mk, new_mk, &count));
	ASSERT_EQ(count, PATIENTS);
	ASSERT_OK(haven_keyring_count(s, new_mk, &matching, &total));
	ASSERT_EQ(matching, PATIENTS);
	char *after = dump_checkins(s, &after_len);
	ASSERT_EQ(before_len, after_len);
	ASSERT(memcmp(before, after, before_len) == 0);
	for (int i = 0; i < PATIENTS; i++) {
		ASSERT_EQ(open_field(s, old_mk, &ops[i]), HAVEN_EAUTH);
		ASSERT_OK(open_field(s, new_mk, &ops[i]));
	}
	/* Repeating the same rotation re-wraps nothing and breaks nothing. */
	ASSERT_OK(haven_keyring_rotate(s, old_mk, new_mk, &count));
	ASSERT_EQ(count, 0);
	ASSERT_OK(open_field(s, new_mk, &ops[0]));
	for (int i = 0; i < PATIENTS; i++) {
		free((char *)ops[i].rid);
		free(ops[i].ct);
	}
	free(before);
	free(after);
	haven_master_key_destroy(&old_mk);
	haven_master_key_destroy(&new_mk);
	haven_master_key_destroy(&stranger);
	haven_store_destroy(&s);
}

static void key_id_of_file(const char *path, uint8_t id[HAVEN_KEY_ID_BYTES])
{
	struct haven_master_key *k;
	ASSERT_OK(haven_master_key_load(path, NULL, &k));
	haven_master_key_id(k, id);
	haven_master_key_destroy(&k);
}

static void key_id_of(const struct haven_master_key *k, uint8_t id[HAVEN_KEY_ID_BYTES])
{
	haven_master_key_id(k, id);
}

TEST(keyring_resolve_and_rotate_key_file)
{
	struct haven_store *s = keyring_store();
	struct haven_master_key *k1, *k2, *k3;
	struct field_op op;
	char path[512], newpath[600], oldpath[600], msg[512];
	uint8_t id1[8], id2[8], id_file[8];
	int64_t count;
	haven_strlcpy(path, haven_test_tmpfile("master.key"), sizeof(path));
	snprintf(newpath, sizeof(newpath), "%s.new", path);
	snprintf(oldpath, sizeof(oldpath), "%s.old", path);

	/* First start: the key file is created, 0600. */
	ASSERT_OK(haven_master_key_resolve(path, s, &k1, msg, sizeof(msg)));
	struct stat st;
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 0777, 0600);
	key_id_of(k1, id1);
	int64_t p = add_patient(s, "p@example.org");
	seal_field(s, k1, p, "r1", "a hard week", 1, &op);

	/* The file path can come from the environment. */
	setenv("HAVEN_KEY_FILE", path, 1);
	ASSERT_OK(haven_master_key_resolve(NULL, s, &k2, msg, sizeof(msg)));
	key_id_of(k2, id2);
	ASSERT(memcmp(id1, id2, 8) == 0);
	haven_master_key_destroy(&k2);
	unsetenv("HAVEN_KEY_FILE");

	/* Rotation: new key in place, old kept in PATH.old, data still opens. */
	ASSERT_OK(haven_master_key_rotate_file(s, path, &count, msg, sizeof(msg)));
	ASSERT_EQ(count, 1);
	ASSERT(access(newpath, F_OK) != 0);
	key_id_of_file(oldpath, id_file);
	ASSERT(memcmp(id_file, id1, 8) == 0);
	ASSERT_OK(haven_master_key_resolve(path, s, &k2, msg, sizeof(msg)));
	key_id_of(k2, id2);
	ASSERT(memcmp(id1, id2, 8) != 0);
	ASSERT_OK(open_field(s, k2, &op));
	ASSERT_EQ(open_field(s, k1, &op), HAVEN_EAUTH);

	/* The old key is now the wrong key: refused with a clear message. */
	ASSERT_EQ(haven_master_key_resolve(oldpath, s, &k3, msg, sizeof(msg)), HAVEN_EAUTH);
	ASSERT(k3 == NULL);
	ASSERT_CONTAINS(msg, "different master key");
	char hex[65];
	uint8_t raw[32];
	haven_random_bytes(raw, sizeof(raw));
	haven_hex_encode(raw, sizeof(raw), hex);
	setenv("HAVEN_MASTER_KEY", hex, 1);
	ASSERT_EQ(haven_master_key_resolve(path, s, &k3, msg, sizeof(msg)), HAVEN_EAUTH);
	ASSERT_EQ(haven_master_key_rotate_file(s, path, &count, msg, sizeof(msg)),
	          HAVEN_EUNSUPPORTED);
	setenv("HAVEN_MASTER_KEY", "not hex", 1);
	ASSERT_EQ(haven_master_key_resolve(path, s, &k3, msg, sizeof(msg)), HAVEN_EINVAL);
	ASSERT_CONTAINS(msg, "HAVEN_MASTER_KEY");
	unsetenv("HAVEN_MASTER_KEY");

	/* Crash before the commit: PATH.new is a leftover and is discarded. */
	ASSERT_OK(haven_master_key_generate(&k3));
	ASSERT_OK(haven_master_key_save(k3, newpath));
	haven_master_key_destroy(&k3);
	ASSERT_OK(haven_master_key_resolve(path, s, &k3, msg, sizeof(msg)));
	key_id_of(k3, id_file);
	ASSERT(memcmp(id_file, id2, 8) == 0);
	ASSERT(access(newpath, F_OK) != 0);
	haven_master_key_destroy(&k3);

	/* Crash after the commit, before the rename: the next start installs PATH.new. */
	ASSERT_OK(haven_master_key_generate(&k3));
	ASSERT_OK(haven_master_key_save(k3, newpath));
	ASSERT_OK(haven_keyring_rotate(s, k2, k3, &count));
	ASSERT_EQ(count, 1);
	haven_master_key_destroy(&k1);
	ASSERT_OK(haven_master_key_resolve(path, s, &k1, msg, sizeof(msg)));
	key_id_of(k1, id1);
	key_id_of(k3, id2);
	ASSERT(memcmp(id1, id2, 8) == 0);
	ASSERT(access(newpath, F_OK) != 0);
	key_id_of_file(path, id_file);
	ASSERT(memcmp(id_file, id2, 8) == 0);
	ASSERT_OK(open_field(s, k1, &op));

	/* A lost key file is not silently replaced while data keys depend on it. */
	ASSERT_OK(unlink(path));
	haven_master_key_destroy(&k2);
	ASSERT_EQ(haven_master_key_resolve(path, s, &k2, msg, sizeof(msg)), HAVEN_ENOTFOUND);
	ASSERT_CONTAINS(msg, "missing");
	ASSERT(access(path, F_OK) != 0);
	/* A corrupt one is named. */
	FILE *f = fopen(path, "w");
	ASSERT(f);
	fputs("not a key\n", f);
	fclose(f);
	ASSERT_OK(chmod(path, 0600));
	ASSERT_EQ(haven_master_key_resolve(path, s, &k2, msg, sizeof(msg)), HAVEN_ECORRUPT);
	ASSERT_CONTAINS(msg, "not a Haven master key");
	ASSERT_OK(chmod(path, 0644));
	ASSERT_EQ(haven_master_key_resolve(path, s, &k2, msg, sizeof(msg)), HAVEN_EPERM);
	ASSERT_CONTAINS(msg, "chmod 600");

	free(op.ct);
	haven_master_key_destroy(&k1);
	haven_master_key_destroy(&k2);
	haven_master_key_destroy(&k3);
	haven_store_destroy(&s);
}

TEST(keyring_rotate_is_all_or_nothing)
{
	/* More patients than one rotation page, the last one's key under a stranger's key:
	 * the keys re-wrapped before it reach it must be rolled back. */
	enum { PATIENTS = 300 };
	struct haven_store *s = keyring_store();
	struct haven_master_key *old_mk, *new_mk, *stranger;
	char email[64];
	int64_t count = -1, matching, total, last = 0;
	ASSERT_OK(haven_master_key_generate(&old_mk));
	ASSERT_OK(haven_master_key_generate(&new_mk));
	ASSERT_OK(haven_master_key_generate(&stranger));
	for (int i = 0; i < PATIENTS; i++) {
		snprintf(email, sizeof(email), "p%d@example.org", i);
		last = add_patient(s, email);
		ASSERT_OK(keyring_get(s, i == PATIENTS - 1 ? stranger : old_mk, last, 1));
	}
	ASSERT_EQ(haven_keyring_rotate(s, old_mk, new_mk, &count), HAVEN_EAUTH);
	ASSERT_EQ(count, 0);
	ASSERT_OK(haven_keyring_count(s, old_mk, &matching, &total));
	ASSERT_EQ(matching, PATIENTS - 1);
	ASSERT_EQ(total, PATIENTS);

	/* Without the stranger, all of them move. */
	struct field_op del = {.patient = last};
	ASSERT_OK(haven_store_write(s, destroy_tx, &del));
	ASSERT_OK(haven_keyring_rotate(s, old_mk, new_mk, &count));
	ASSERT_EQ(count, PATIENTS - 1);
	ASSERT_OK(haven_keyring_count(s, new_mk, &matching, &total));
	ASSERT_EQ(matching, PATIENTS - 1);
	ASSERT_EQ(total, PATIENTS - 1);
	haven_master_key_destroy(&old_mk);
	haven_master_key_destroy(&new_mk);
	haven_master_key_destroy(&stranger);
	haven_store_destroy(&s);
}

struct race_args {
	struct haven_store *s;
	const struct haven_master_key *mk;
	int64_t patient;
	char rid[16];
	struct field_op op;
	int err;
};

static void *race_thread(void *arg)
{
	struct race_args *r = arg;
	r->op = (struct field_op){
	    .mk = r->mk, .patient = r->patient, .rid = r->rid, .text = "first words"};
	r->err = haven_store_write(r->s, seal_tx, &r->op);
	return NULL;
}

TEST(keyring_concurrent_first_use_agrees_on_one_key)
{
	enum { THREADS = 4 };
	struct haven_store *s = keyring_store();
	struct haven_master_key *mk;
	struct race_args args[THREADS];
	pthread_t th[THREADS];
	int64_t matching, total;
	ASSERT_OK(haven_master_key_generate(&mk));
	int64_t p = add_patient(s, "p@example.org");
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct race_args){.s = s, .mk = mk, .patient = p};
		snprintf(args[i].rid, sizeof(args[i].rid), "r%d", i);
		ASSERT_OK(pthread_create(&th[i], NULL, race_thread, &args[i]));
	}
	for (int i = 0; i < THREADS; i++)
		ASSERT_OK(pthread_join(th[i], NULL));
	ASSERT_OK(haven_keyring_count(s, mk, &matching, &total));
	ASSERT_EQ(total, 1);
	/* Every field sealed in the race opens with the one key that was kept. */
	for (int i = 0; i < THREADS; i++) {
		ASSERT_OK(args[i].err);
		ASSERT_OK(open_field(s, mk, &args[i].op));
		free(args[i].op.ct);
	}
	haven_master_key_destroy(&mk);
	haven_store_destroy(&s);
}
