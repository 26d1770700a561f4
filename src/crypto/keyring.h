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
/* A wrapped data key read from a query's row, for a statement that reads data_keys.wrapped
 * with other things (the chat turn's one read). */
#define HAVEN_WRAPPED_KEY_MAX 128
struct haven_wrapped_key {
	int found; /* 0: the column was NULL (no key) */
	uint8_t wrapped[HAVEN_WRAPPED_KEY_MAX];
	size_t len;
};
/* Copies column col of row into *w (found stays 0 when it is NULL); HAVEN_ECORRUPT when it
 * is not a blob or is too long. */
int haven_wrapped_key_read(const struct haven_row *row, int col,
			   struct haven_wrapped_key *w) HAVEN_WUR;
/* Returns the patient's key, creating and storing a new one if there is none. */
int haven_keyring_get_or_create(struct haven_tx *tx, const struct haven_master_key *mk,
				int64_t patient_id, struct haven_data_key **out) HAVEN_WUR;
/* Crypto-shreds the patient: deletes the wrapped key. Their ciphertexts become
 * undecryptable even from backups of the data tables. Succeeds (0) also when the
 * patient had no key, so an interrupted erasure can simply be repeated. */
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

/* How many data keys there are (*total) and how many of them are wrapped under mk
 * (*matching; 0 when mk is NULL), in a read transaction of its own. */
int haven_keyring_count(struct haven_store *s, const struct haven_master_key *mk,
			int64_t *matching, int64_t *total) HAVEN_WUR;

/*
 * The master key, by the rules every command shares:
 *  1. HAVEN_MASTER_KEY in the environment (64 hex digits), when set and non-empty;
 *  2. else the key file haven_master_key_path(flag_path): --key-file, else
 *     $HAVEN_KEY_FILE, else var/haven.key. It is created (mode 0600) with a fresh key
 *     when it does not exist, unless s holds data keys: then the key was lost, and
 *     creating another would strand them, so it fails instead.
 * When s is not NULL (and migrated), the key must be the one every data key is wrapped
 * under (HAVEN_EAUTH otherwise: wrong key file or variable), and a PATH.new left by an
 * interrupted rotation is settled first: installed over PATH if the data keys are already
 * under it, removed if not. Pass s = NULL only where no store is at hand.
 * On failure *out is NULL and msg (msglen bytes, may be NULL) holds a one-line
 * explanation for the operator, naming the file but never the key.
 */
int haven_master_key_resolve(const char *flag_path, struct haven_store *s,
			     struct haven_master_key **out, char *msg, size_t msglen) HAVEN_WUR;

/*
 * Rotates the master key kept in the key file (the procedure behind `haven keys
 * rotate`): resolves the current key as above, writes a fresh key to PATH.new and the
 * current one to PATH.old (kept so that backups made before the rotation stay readable),
 * re-wraps every data key under the new key in one transaction, then renames PATH.new
 * over PATH. If the process dies at any point, PATH still holds a key that opens the
 * data, or the next resolve finishes the rename (see keyfile.c). The server must not run
 * meanwhile: it would keep wrapping new patients' keys under the old key.
 * Refused (HAVEN_EUNSUPPORTED) when HAVEN_MASTER_KEY is set. *count receives the number
 * of data keys re-wrapped; msg as for haven_master_key_resolve.
 */
int haven_master_key_rotate_file(struct haven_store *s, const char *flag_path, int64_t *count,
				 char *msg, size_t msglen) HAVEN_WUR;

#endif
