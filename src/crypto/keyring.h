/*
 * keyring.h: per-patient data keys kept in the data_keys table, wrapped under the
 * master key, and field encryption bound to a record's identity. The API and every
 * feature that stores clinical content go through these functions.
 *
 * All functions run inside a store transaction (struct haven_tx) so that a key is
 * created, used or destroyed atomically with the rows it protects.
 *
 * Ownership: returned data keys are freed with haven_data_key_destroy(); ciphertexts
 * with free(); plaintexts with haven_secret_free().
 */
#ifndef HAVEN_KEYRING_H
#define HAVEN_KEYRING_H

#include "crypto/crypto.h"
#include "store/store.h"

/* The patient's data key, unwrapped. HAVEN_ENOTFOUND when the patient has none (never
 * created, or erased); HAVEN_EAUTH when it cannot be unwrapped with mk. */
int haven_keyring_get(struct haven_tx *tx, const struct haven_master_key *mk,
		      int64_t patient_id, struct haven_data_key **out) HAVEN_WUR;
/* Returns the patient's key, creating and storing a new one if there is none. */
int haven_keyring_get_or_create(struct haven_tx *tx, const struct haven_master_key *mk,
				int64_t patient_id, struct haven_data_key **out) HAVEN_WUR;
/* Crypto-shreds the patient: deletes the wrapped key. Their ciphertexts become
 * undecryptable even from backups of the data tables. */
int haven_keyring_destroy(struct haven_tx *tx, int64_t patient_id) HAVEN_WUR;

/* Encrypts one field of a record: associated data is haven_crypto_ad(table, rid,
 * patient_id, field), so the ciphertext cannot be moved to another row, field or
 * patient. The patient's key is created if needed. */
int haven_keyring_seal(struct haven_tx *tx, const struct haven_master_key *mk,
		       int64_t patient_id, const char *table, const char *rid,
		       const char *field, const void *pt, size_t pt_len, uint8_t **ct,
		       size_t *ct_len) HAVEN_WUR;
int haven_keyring_open(struct haven_tx *tx, const struct haven_master_key *mk,
		       int64_t patient_id, const char *table, const char *rid,
		       const char *field, const uint8_t *ct, size_t ct_len, uint8_t **pt,
		       size_t *pt_len) HAVEN_WUR;

/* Re-wraps every data key under new_mk in one transaction; data rows are untouched.
 * Keys wrapped under a key that is neither old_mk nor new_mk make it fail with
 * HAVEN_EAUTH and change nothing. *count receives the number re-wrapped. */
int haven_keyring_rotate(struct haven_store *s, const struct haven_master_key *old_mk,
			 const struct haven_master_key *new_mk, int64_t *count) HAVEN_WUR;

#endif
