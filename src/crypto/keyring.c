/*
 * keyring.c: per-patient data keys in the data_keys table, wrapped under the master key
 * (crypto.c), and field encryption bound to a record's identity. Everything runs inside
 * the caller's store transaction, so a key is created, used or destroyed atomically with
 * the rows it protects. Rotation re-wraps all keys in one write transaction of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/keyring.h"

#define AD_MAX 512
#define ROTATE_PAGE 256

int haven_wrapped_key_read(const struct haven_row *row, int col, struct haven_wrapped_key *w)
{
	if (haven_row_is_null(row, col))
		return HAVEN_OK;
	size_t len;
	const void *p = haven_row_blob(row, col, &len);
	if (!p || len > sizeof(w->wrapped))
		return HAVEN_ECORRUPT;
	memcpy(w->wrapped, p, len);
	w->len = len;
	w->found = 1;
	return HAVEN_OK;
}

static int copy_wrapped(const struct haven_row *row, void *arg)
{
	return haven_wrapped_key_read(row, 0, arg);
}

int haven_keyring_get(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                      struct haven_data_key **out)
{
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	struct haven_wrapped_key w = {0};
	*out = NULL;
	int err = haven_tx_query(tx, "SELECT wrapped FROM data_keys WHERE patient_id = ?", p, 1,
	                         copy_wrapped, &w);
	if (err)
		return err;
	if (!w.found)
		return HAVEN_ENOTFOUND;
	return haven_data_key_unwrap(mk, patient_id, w.wrapped, w.len, out);
}

int haven_keyring_get_or_create(struct haven_tx *tx, const struct haven_master_key *mk,
                                int64_t patient_id, struct haven_data_key **out)
{
	struct haven_data_key *dk = NULL;
	uint8_t *wrapped = NULL, id[HAVEN_KEY_ID_BYTES];
	size_t wrapped_len = 0;
	int64_t changes = 0;
	*out = NULL;

	int err = haven_keyring_get(tx, mk, patient_id, out);
	if (err != HAVEN_ENOTFOUND)
		return err;
	err = haven_data_key_generate(&dk);
	if (err)
		goto out;
	err = haven_data_key_wrap(mk, dk, patient_id, &wrapped, &wrapped_len);
	if (err)
		goto out;
	haven_master_key_id(mk, id);
	struct haven_param p[] = {HAVEN_P_INT(patient_id), HAVEN_P_BLOB(id, sizeof(id)),
	                          HAVEN_P_BLOB(wrapped, wrapped_len), HAVEN_P_INT(haven_now_ms())};
	/* On PostgreSQL two transactions may both find no key; the loser of the insert
	 * waits for the winner and then uses the winner's key. */
	err =
	    haven_tx_exec(tx,
	                  "INSERT INTO data_keys (patient_id, master_key_id, wrapped, created_at) "
	                  "VALUES (?, ?, ?, ?) ON CONFLICT (patient_id) DO NOTHING",
	                  p, 4, &changes);
	if (err)
		goto out;
	if (changes == 0) {
		err = haven_keyring_get(tx, mk, patient_id, out);
		if (err == HAVEN_ENOTFOUND) /* inserted and erased meanwhile */
			err = HAVEN_ECONFLICT;
		goto out;
	}
	*out = dk;
	dk = NULL;
out:
	free(wrapped);
	haven_data_key_destroy(&dk);
	return err;
}

int haven_keyring_destroy(struct haven_tx *tx, int64_t patient_id)
{
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	return haven_tx_exec(tx, "DELETE FROM data_keys WHERE patient_id = ?", p, 1, NULL);
}

int haven_keyring_seal(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                       const char *table, const char *rid, const char *field, const void *pt,
                       size_t pt_len, uint8_t **ct, size_t *ct_len)
{
	char ad[AD_MAX];
	struct haven_data_key *dk = NULL;
	*ct = NULL;
	*ct_len = 0;
	int err = haven_crypto_ad(ad, sizeof(ad), table, rid, patient_id, field);
	if (err)
		return err;
	err = haven_keyring_get_or_create(tx, mk, patient_id, &dk);
	if (err)
		return err;
	err = haven_seal(dk, ad, pt, pt_len, ct, ct_len);
	haven_data_key_destroy(&dk);
	return err;
}

int haven_keyring_open(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                       const char *table, const char *rid, const char *field, const uint8_t *ct,
                       size_t ct_len, uint8_t **pt, size_t *pt_len)
{
	char ad[AD_MAX];
	struct haven_data_key *dk = NULL;
	*pt = NULL;
	*pt_len = 0;
	int err = haven_crypto_ad(ad, sizeof(ad), table, rid, patient_id, field);
	if (err)
		return err;
	err = haven_keyring_get(tx, mk, patient_id, &dk);
	if (err)
		return err;
	err = haven_open(dk, ad, ct, ct_len, pt, pt_len);
	haven_data_key_destroy(&dk);
	return err;
}

/* ---- Rotation ---- */

struct rotate_entry {
	int64_t patient_id;
	uint8_t key_id[HAVEN_KEY_ID_BYTES];
	uint8_t wrapped[HAVEN_WRAPPED_KEY_MAX];
	size_t len;
};

struct rotate_ctx {
	const struct haven_master_key *old_mk, *new_mk;
	struct rotate_entry *page;
	size_t n;
	int64_t count;
};

static int collect_page(const struct haven_row *row, void *arg)
{
	struct rotate_ctx *c = arg;
	struct rotate_entry *e = &c->page[c->n];
	size_t idlen, wlen;
	const void *id = haven_row_blob(row, 1, &idlen);
	const void *w = haven_row_blob(row, 2, &wlen);
	HAVEN_ASSERT(c->n < ROTATE_PAGE);
	if (!id || idlen != HAVEN_KEY_ID_BYTES || !w || wlen > sizeof(e->wrapped))
		return HAVEN_ECORRUPT;
	e->patient_id = haven_row_int(row, 0);
	memcpy(e->key_id, id, idlen);
	memcpy(e->wrapped, w, wlen);
	e->len = wlen;
	c->n++;
	return HAVEN_OK;
}

static int rewrap_one(struct haven_tx *tx, struct rotate_ctx *c, const struct rotate_entry *e,
                      const uint8_t old_id[HAVEN_KEY_ID_BYTES],
                      const uint8_t new_id[HAVEN_KEY_ID_BYTES])
{
	struct haven_data_key *dk = NULL;
	uint8_t *wrapped = NULL;
	size_t wrapped_len = 0;
	int err;
	if (!memcmp(e->key_id, new_id, HAVEN_KEY_ID_BYTES))
		return HAVEN_OK; /* already under the new key (an earlier, committed rotation) */
	if (memcmp(e->key_id, old_id, HAVEN_KEY_ID_BYTES))
		return HAVEN_EAUTH;
	err = haven_data_key_unwrap(c->old_mk, e->patient_id, e->wrapped, e->len, &dk);
	if (err)
		goto out;
	err = haven_data_key_wrap(c->new_mk, dk, e->patient_id, &wrapped, &wrapped_len);
	if (err)
		goto out;
	struct haven_param p[] = {HAVEN_P_BLOB(new_id, HAVEN_KEY_ID_BYTES),
	                          HAVEN_P_BLOB(wrapped, wrapped_len), HAVEN_P_INT(e->patient_id)};
	int64_t changes = 0;
	err = haven_tx_exec(tx,
	                    "UPDATE data_keys SET master_key_id = ?, wrapped = ? "
	                    "WHERE patient_id = ?",
	                    p, 3, &changes);
	if (!err && changes != 1)
		err = HAVEN_ECONFLICT;
	if (!err)
		c->count++;
out:
	free(wrapped);
	haven_data_key_destroy(&dk);
	return err;
}

/* Pages through data_keys by patient id so memory stays bounded however many patients
 * there are, and never updates a table it is still reading from. */
static int rotate_tx(struct haven_tx *tx, void *arg)
{
	struct rotate_ctx *c = arg;
	uint8_t old_id[HAVEN_KEY_ID_BYTES], new_id[HAVEN_KEY_ID_BYTES];
	int64_t after = INT64_MIN;
	haven_master_key_id(c->old_mk, old_id);
	haven_master_key_id(c->new_mk, new_id);
	c->count = 0;
	for (;;) {
		struct haven_param p[] = {HAVEN_P_INT(after), HAVEN_P_INT(ROTATE_PAGE)};
		c->n = 0;
		int err = haven_tx_query(tx,
		                         "SELECT patient_id, master_key_id, wrapped FROM data_keys "
		                         "WHERE patient_id > ? ORDER BY patient_id LIMIT ?",
		                         p, 2, collect_page, c);
		if (err)
			return err;
		for (size_t i = 0; i < c->n; i++) {
			err = rewrap_one(tx, c, &c->page[i], old_id, new_id);
			if (err)
				return err;
		}
		if (c->n < ROTATE_PAGE)
			return HAVEN_OK;
		after = c->page[c->n - 1].patient_id;
	}
}

int haven_keyring_rotate(struct haven_store *s, const struct haven_master_key *old_mk,
                         const struct haven_master_key *new_mk, int64_t *count)
{
	struct rotate_ctx c = {.old_mk = old_mk, .new_mk = new_mk};
	*count = 0;
	c.page = haven_calloc(ROTATE_PAGE, sizeof(*c.page));
	if (!c.page)
		return HAVEN_ENOMEM;
	int err = haven_store_write(s, rotate_tx, &c);
	if (!err)
		*count = c.count;
	free(c.page);
	return err;
}

/* ---- Which master key the stored data keys are under ---- */

struct census_ctx {
	int want;
	uint8_t id[HAVEN_KEY_ID_BYTES];
	int64_t matching, total;
};

static int census_row(const struct haven_row *row, void *arg)
{
	struct census_ctx *c = arg;
	size_t len;
	const void *id = haven_row_blob(row, 0, &len);
	int64_t n = haven_row_int(row, 1);
	if (c->want && id && len == HAVEN_KEY_ID_BYTES && !memcmp(id, c->id, len))
		c->matching += n;
	c->total += n;
	return HAVEN_OK;
}

static int census_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(
	    tx, "SELECT master_key_id, count(*) FROM data_keys GROUP BY master_key_id", NULL, 0,
	    census_row, arg);
}

int haven_keyring_count(struct haven_store *s, const struct haven_master_key *mk, int64_t *matching,
                        int64_t *total)
{
	struct census_ctx c = {0};
	if (mk) {
		c.want = 1;
		haven_master_key_id(mk, c.id);
	}
	*matching = *total = 0;
	int err = haven_store_read(s, census_tx, &c);
	if (!err) {
		*matching = c.matching;
		*total = c.total;
	}
	return err;
}
