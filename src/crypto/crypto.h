/*
 * crypto.h: Haven's key hierarchy and every cryptographic operation, on libsodium.
 *
 *   master key (32 bytes; a 0600 key file created at first start, or HAVEN_MASTER_KEY
 *   in the environment as 64 hex digits)
 *     wraps one data key per patient (XChaCha20-Poly1305, associated data binds the
 *     patient id and the master key id)
 *       which encrypts every free-text field and clinical answer of that patient
 *       (XChaCha20-Poly1305, associated data binds table, record id, patient id, field).
 *
 * Erasing a patient deletes the wrapped data key: their ciphertexts can no longer be
 * opened by anyone. Rotating the master key re-wraps the data keys, never the data.
 *
 * Ownership: keys live in sodium_malloc memory and are wiped by their _destroy
 * functions, which set the pointer to NULL. Buffers returned through uint8_t ** are
 * malloc'd and freed by the caller with free() (plaintexts: haven_secret_free, which
 * wipes first).
 */
#ifndef HAVEN_CRYPTO_H
#define HAVEN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define HAVEN_KEY_BYTES 32
#define HAVEN_KEY_ID_BYTES 8
#define HAVEN_TOKEN_CHARS 43 /* 32 random bytes, base64url without padding */
#define HAVEN_TOKEN_HASH_BYTES 32
#define HAVEN_PWHASH_MAX 128 /* >= crypto_pwhash_STRBYTES */

/* Must be called once before anything else (wraps sodium_init). */
int haven_crypto_init(void) HAVEN_WUR;

struct haven_master_key;
struct haven_data_key;

/* The master key file holds the key as text: 64 hex digits and a newline (a "\r\n" or no
 * line end is accepted too), the same text HAVEN_MASTER_KEY takes. Anything else is
 * HAVEN_ECORRUPT. Where the program looks for it: haven_master_key_path() below, and
 * haven_master_key_resolve() in keyring.h, which every command uses. */
#define HAVEN_DEFAULT_KEY_FILE "var/haven.key"

/* Loads the master key: from env_hex if non-NULL (64 hex digits; HAVEN_EINVAL if not),
 * else from path, creating path (O_EXCL, mode 0600, fsync'd; parent directory must exist)
 * with a fresh random key when it does not exist. A key file with any permission for
 * group or others, or that is not a regular file, is refused (HAVEN_EPERM; a symbolic link
 * is followed and its target checked); a file
 * that is not a key is HAVEN_ECORRUPT. */
int haven_master_key_load(const char *path, const char *env_hex,
			  struct haven_master_key **out) HAVEN_WUR;
/* A fresh random master key, not yet saved. */
int haven_master_key_generate(struct haven_master_key **out) HAVEN_WUR;
/* Writes the key to path atomically (temporary file, fsync, rename), mode 0600. */
int haven_master_key_save(const struct haven_master_key *k, const char *path) HAVEN_WUR;
/* A short public identifier of the key (keyed BLAKE2b of it), for wrapped-key records. */
void haven_master_key_id(const struct haven_master_key *k, uint8_t id[HAVEN_KEY_ID_BYTES]);
void haven_master_key_destroy(struct haven_master_key **k);
/* The key file path by the shared rules: flag_path (--key-file) when given, else
 * $HAVEN_KEY_FILE when set and non-empty, else HAVEN_DEFAULT_KEY_FILE. Returns flag_path,
 * the environment's string or the constant; nothing to free. */
const char *haven_master_key_path(const char *flag_path);
/* rename(from, to) followed by an fsync of to's directory. */
int haven_file_rename_durable(const char *from, const char *to) HAVEN_WUR;

int haven_data_key_generate(struct haven_data_key **out) HAVEN_WUR;
void haven_data_key_destroy(struct haven_data_key **k);
/* Wraps dk under mk for patient_id. *wrapped is malloc'd. */
int haven_data_key_wrap(const struct haven_master_key *mk, const struct haven_data_key *dk,
			int64_t patient_id, uint8_t **wrapped, size_t *wrapped_len) HAVEN_WUR;
/* Unwraps; HAVEN_EAUTH when the key, patient or bytes do not match. */
int haven_data_key_unwrap(const struct haven_master_key *mk, int64_t patient_id,
			  const uint8_t *wrapped, size_t wrapped_len,
			  struct haven_data_key **out) HAVEN_WUR;
/* The master key id recorded in a wrapped key (HAVEN_ECORRUPT if it is not one). */
int haven_data_key_wrapped_key_id(const uint8_t *wrapped, size_t wrapped_len,
				  uint8_t id[HAVEN_KEY_ID_BYTES]) HAVEN_WUR;

/* Builds the associated data for a field: "haven/v1|<table>|<record>|<patient>|<field>".
 * HAVEN_EINVAL when a part is empty or contains '|', HAVEN_ELIMIT when out is too small. */
int haven_crypto_ad(char *out, size_t outlen, const char *table, const char *record_id,
		    int64_t patient_id, const char *field) HAVEN_WUR;
/* Encrypts pt with dk; the ciphertext carries a version byte and a random nonce. */
int haven_seal(const struct haven_data_key *dk, const char *ad, const void *pt, size_t pt_len,
	       uint8_t **ct, size_t *ct_len) HAVEN_WUR;
/* Decrypts; HAVEN_EAUTH if the ciphertext, key or associated data do not match.
 * *pt is NUL-terminated (pt_len excludes the NUL); free it with haven_secret_free. */
int haven_open(const struct haven_data_key *dk, const char *ad, const uint8_t *ct,
	       size_t ct_len, uint8_t **pt, size_t *pt_len) HAVEN_WUR;
void haven_secret_free(void *p, size_t len);

/* argon2id via crypto_pwhash_str (interactive limits unless HAVEN_PWHASH_FAST is set
 * in the environment, which tests use to stay quick). At most two hashes or verifications
 * run at once in the process (64 MiB each); more callers wait their turn. */
int haven_password_hash(const char *pw, size_t pw_len, char out[HAVEN_PWHASH_MAX]) HAVEN_WUR;
/* 0 when pw matches, HAVEN_EAUTH when not (also for a malformed stored hash, or one
 * asking for more than 256 MiB). */
int haven_password_verify(const char *stored, const char *pw, size_t pw_len) HAVEN_WUR;
/* Spends the same time as verifying a password against a real hash, for a login whose
 * account does not exist, so response times do not reveal which emails have accounts. */
void haven_password_dummy_verify(const char *pw, size_t pw_len);
/* 1 when stored was made with other limits than haven_password_hash uses now (rehash it
 * after a successful login), 0 otherwise. */
int haven_password_needs_rehash(const char *stored);

/* A new bearer token: 32 random bytes, base64url, NUL-terminated. */
void haven_token_generate(char out[HAVEN_TOKEN_CHARS + 1]);
/* The stored form of a token: BLAKE2b-256 of it. */
void haven_token_hash(const char *token, size_t len, uint8_t out[HAVEN_TOKEN_HASH_BYTES]);

/* Random bytes and ids. */
void haven_random_bytes(void *p, size_t n);
/* A random 128-bit id as 32 hex digits plus NUL (secrets, idempotency keys). */
void haven_random_id(char out[33]);
/* A record id (the rid column) as 32 hex digits plus NUL: the time in milliseconds (12
 * digits) then 80 random bits (20 digits). Ids made one after another sort together, so
 * a row's entry in the rid index lands beside the last one's: random ids put each insert
 * on a different page of the index, and every one of those pages went to the WAL at
 * every commit (docs/storage.md). The time it shows is the row's created_at, which is
 * stored in the clear beside it anyway. */
void haven_record_id(char out[33]);

/* BLAKE2b-256 of data (optionally keyed), for the audit chain and ids. */
void haven_blake2b(const void *data, size_t len, const uint8_t *key, size_t keylen,
		   uint8_t out[32]);
/* HMAC-SHA256 (webhook signatures); out is 32 bytes. */
void haven_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		       uint8_t out[32]);
/* Constant-time comparison: 0 when equal. */
int haven_memcmp_ct(const void *a, const void *b, size_t n);

#endif
