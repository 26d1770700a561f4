/*
 * crypto.c: the key hierarchy and every cryptographic primitive Haven uses, on libsodium
 * alone (see crypto.h for the hierarchy and docs/security.md for the formats).
 *
 * Formats written here (all versioned by their first byte so they can change later):
 *   master key file   64 lowercase hex digits and a newline (the same text as the
 *                     HAVEN_MASTER_KEY variable), mode 0600.
 *   wrapped data key  0x01 || master key id (8) || nonce (24) || XChaCha20-Poly1305 of the
 *                     32-byte data key (48); associated data "haven/dk/v1" || patient id
 *                     (8, little-endian) || master key id.
 *   sealed field      0x01 || nonce (24) || XChaCha20-Poly1305 ciphertext and tag;
 *                     associated data is the haven_crypto_ad() string.
 *
 * Keys live in sodium_malloc memory (guard pages, locked, never swapped) and are wiped
 * after use: the master key by sodium_free, data keys by sodium_memzero of their slab
 * slot (see dk_alloc below). They are not switched to PROT_NONE between uses: the server shares one
 * master key between request threads, and toggling protection from several threads would
 * fault one thread while another reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"

#define WRAP_VERSION 1
#define SEAL_VERSION 1
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define WRAPPED_BYTES (1 + HAVEN_KEY_ID_BYTES + NONCE_BYTES + HAVEN_KEY_BYTES + TAG_BYTES)
#define SEAL_OVERHEAD (1 + NONCE_BYTES + TAG_BYTES)
#define KEY_HEX_CHARS (2 * HAVEN_KEY_BYTES)
#define PASSWORD_MAX 4096

_Static_assert(HAVEN_PWHASH_MAX >= crypto_pwhash_STRBYTES, "password hash buffer too small");
_Static_assert(HAVEN_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");
_Static_assert(HAVEN_TOKEN_CHARS + 1 ==
                   sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "token length");

struct haven_master_key {
	uint8_t key[HAVEN_KEY_BYTES];
	uint8_t id[HAVEN_KEY_ID_BYTES];
};

struct haven_data_key {
	uint8_t key[HAVEN_KEY_BYTES];
};

int haven_crypto_init(void)
{
	return sodium_init() < 0 ? HAVEN_ECRYPTO : HAVEN_OK;
}

/* ---- Master key ---- */

static struct haven_master_key *master_key_alloc(void)
{
	struct haven_master_key *k = sodium_malloc(sizeof(*k));
	if (k)
		sodium_memzero(k, sizeof(*k));
	return k;
}

/* The id is a keyed hash of a fixed label: it names the key without revealing it. */
static void master_key_derive_id(struct haven_master_key *k)
{
	static const char label[] = "haven/master-key-id/v1";
	uint8_t h[crypto_generichash_BYTES_MIN];
	crypto_generichash(h, sizeof(h), (const uint8_t *)label, sizeof(label) - 1, k->key,
	                   sizeof(k->key));
	memcpy(k->id, h, HAVEN_KEY_ID_BYTES);
	sodium_memzero(h, sizeof(h));
}

/* Parses exactly 64 hex digits, optionally followed by "\n" or "\r\n". */
static int master_key_from_hex(const char *text, size_t len, struct haven_master_key **out)
{
	char hex[KEY_HEX_CHARS + 1];
	struct haven_master_key *k = NULL;
	int err = HAVEN_ECORRUPT;

	if (len >= 1 && text[len - 1] == '\n')
		len--;
	if (len >= 1 && text[len - 1] == '\r')
		len--;
	if (len != KEY_HEX_CHARS)
		goto out;
	memcpy(hex, text, KEY_HEX_CHARS);
	hex[KEY_HEX_CHARS] = '\0';
	k = master_key_alloc();
	if (!k) {
		err = HAVEN_ENOMEM;
		goto out;
	}
	if (haven_hex_decode(hex, k->key, sizeof(k->key)) != HAVEN_OK)
		goto out;
	master_key_derive_id(k);
	*out = k;
	k = NULL;
	err = HAVEN_OK;
out:
	sodium_memzero(hex, sizeof(hex));
	haven_master_key_destroy(&k);
	return err;
}

int haven_master_key_generate(struct haven_master_key **out)
{
	*out = NULL;
	struct haven_master_key *k = master_key_alloc();
	if (!k)
		return HAVEN_ENOMEM;
	randombytes_buf(k->key, sizeof(k->key));
	master_key_derive_id(k);
	*out = k;
	return HAVEN_OK;
}

void haven_master_key_id(const struct haven_master_key *k, uint8_t id[HAVEN_KEY_ID_BYTES])
{
	memcpy(id, k->id, HAVEN_KEY_ID_BYTES);
}

void haven_master_key_destroy(struct haven_master_key **k)
{
	if (!k || !*k)
		return;
	sodium_free(*k); /* wipes before unmapping */
	*k = NULL;
}

/* fsyncs the directory holding path, so a create or rename in it is durable. */
static int fsync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash) {
		haven_strlcpy(dir, ".", sizeof(dir));
	} else if (slash == path) {
		haven_strlcpy(dir, "/", sizeof(dir));
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return HAVEN_ELIMIT;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return haven_err_from_errno(errno);
	int err = fsync(fd) ? haven_err_from_errno(errno) : HAVEN_OK;
	close(fd);
	return err;
}

int haven_file_rename_durable(const char *from, const char *to)
{
	if (rename(from, to))
		return haven_err_from_errno(errno);
	return fsync_parent_dir(to);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return haven_err_from_errno(errno);
		}
		p += w;
		n -= (size_t)w;
	}
	return HAVEN_OK;
}

/* Creates path exclusively (mode 0600) holding the key as hex, and fsyncs it. */
static int key_file_create(const struct haven_master_key *k, const char *path)
{
	char text[KEY_HEX_CHARS + 2];
	int err;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return haven_err_from_errno(errno);
	haven_hex_encode(k->key, sizeof(k->key), text);
	text[KEY_HEX_CHARS] = '\n';
	text[KEY_HEX_CHARS + 1] = '\0';
	/* The umask cannot widen 0600, but it could narrow it to something odd: be exact. */
	err = fchmod(fd, 0600) ? haven_err_from_errno(errno) : HAVEN_OK;
	if (!err)
		err = write_all(fd, text, KEY_HEX_CHARS + 1);
	if (!err && fsync(fd))
		err = haven_err_from_errno(errno);
	if (close(fd) && !err)
		err = haven_err_from_errno(errno);
	sodium_memzero(text, sizeof(text));
	if (err)
		unlink(path);
	return err;
}

int haven_master_key_save(const struct haven_master_key *k, const char *path)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return HAVEN_ELIMIT;
	/* A temporary file left by a crash holds nothing that is not elsewhere: replace it. */
	if (unlink(tmp) && errno != ENOENT)
		return haven_err_from_errno(errno);
	int err = key_file_create(k, tmp);
	if (err)
		return err;
	err = haven_file_rename_durable(tmp, path);
	if (err)
		unlink(tmp);
	return err;
}

/* Reads an existing key file, checking its type and permissions first. */
static int key_file_read(const char *path, struct haven_master_key **out)
{
	char text[KEY_HEX_CHARS + 8];
	size_t len = 0;
	struct stat st;
	int err = HAVEN_OK;
	/* Symbolic links are followed (secret stores mount keys that way); what counts is
	 * the file they lead to, checked through the descriptor. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return haven_err_from_errno(errno);
	if (fstat(fd, &st)) {
		err = haven_err_from_errno(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = HAVEN_EPERM;
		goto out;
	}
	/* Any access for group or others is refused, as ssh does for private keys. */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err = HAVEN_EPERM;
		goto out;
	}
	while (len < sizeof(text)) {
		ssize_t r = read(fd, text + len, sizeof(text) - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = haven_err_from_errno(errno);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	err = master_key_from_hex(text, len, out);
out:
	sodium_memzero(text, sizeof(text));
	close(fd);
	return err;
}

int haven_master_key_load(const char *path, const char *env_hex, struct haven_master_key **out)
{
	*out = NULL;
	if (env_hex) {
		int err = master_key_from_hex(env_hex, strlen(env_hex), out);
		return err == HAVEN_ECORRUPT ? HAVEN_EINVAL : err;
	}
	if (!path || !*path)
		return HAVEN_EINVAL;
	for (int attempt = 0; attempt < 3; attempt++) {
		int err = key_file_read(path, out);
		if (err != HAVEN_ENOTFOUND)
			return err;
		struct haven_master_key *k = NULL;
		err = haven_master_key_generate(&k);
		if (err)
			return err;
		err = key_file_create(k, path);
		if (!err)
			err = fsync_parent_dir(path);
		if (!err) {
			*out = k;
			return HAVEN_OK;
		}
		haven_master_key_destroy(&k);
		if (err != HAVEN_ECONFLICT) /* another process created it first: read theirs */
			return err;
	}
	return HAVEN_EBUSY;
}

const char *haven_master_key_path(const char *flag_path)
{
	if (flag_path && *flag_path)
		return flag_path;
	const char *env = getenv("HAVEN_KEY_FILE");
	if (env && *env)
		return env;
	return HAVEN_DEFAULT_KEY_FILE;
}

/* ---- Data keys ---- */

/*
 * Data keys are unwrapped on every request that reads or writes clinical text. Each one
 * getting its own sodium_malloc region (mmap, guard pages, mlock, then munmap) made the
 * kernel's page-table work (mprotect and TLB shootdowns across cores) the largest cost of
 * an encrypted write. Instead, keys take slots in slabs that are themselves sodium_malloc
 * memory (guarded, locked, never swapped), allocated once and kept: a slot is wiped with
 * sodium_memzero when its key is destroyed and before it is handed out again.
 */
#define DK_SLAB_SLOTS 128

static pthread_mutex_t dk_lock = PTHREAD_MUTEX_INITIALIZER;
static struct haven_data_key **dk_free; /* free slots (a stack); the pointers are not secret */
static size_t dk_nfree, dk_cap;

static struct haven_data_key *dk_alloc(void)
{
	struct haven_data_key *k = NULL;
	pthread_mutex_lock(&dk_lock);
	if (!dk_nfree) {
		struct haven_data_key *slab = sodium_malloc(sizeof(*slab) * DK_SLAB_SLOTS);
		struct haven_data_key **grown =
		    slab ? realloc(dk_free, (dk_cap + DK_SLAB_SLOTS) * sizeof(*grown)) : NULL;
		if (!grown) {
			if (slab)
				sodium_free(slab);
			pthread_mutex_unlock(&dk_lock);
			return NULL;
		}
		dk_free = grown;
		dk_cap += DK_SLAB_SLOTS;
		for (size_t i = 0; i < DK_SLAB_SLOTS; i++)
			dk_free[dk_nfree++] = &slab[DK_SLAB_SLOTS - 1 - i];
	}
	k = dk_free[--dk_nfree];
	pthread_mutex_unlock(&dk_lock);
	sodium_memzero(k, sizeof(*k));
	return k;
}

static void dk_release(struct haven_data_key *k)
{
	sodium_memzero(k, sizeof(*k));
	pthread_mutex_lock(&dk_lock);
	dk_free[dk_nfree++] = k; /* dk_cap slots exist in all, so this never overflows */
	pthread_mutex_unlock(&dk_lock);
}

int haven_data_key_generate(struct haven_data_key **out)
{
	*out = NULL;
	struct haven_data_key *k = dk_alloc();
	if (!k)
		return HAVEN_ENOMEM;
	crypto_aead_xchacha20poly1305_ietf_keygen(k->key);
	*out = k;
	return HAVEN_OK;
}

void haven_data_key_destroy(struct haven_data_key **k)
{
	if (!k || !*k)
		return;
	dk_release(*k);
	*k = NULL;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wrap_ad(uint8_t ad[11 + 8 + HAVEN_KEY_ID_BYTES], int64_t patient_id,
                    const uint8_t id[HAVEN_KEY_ID_BYTES])
{
	memcpy(ad, "haven/dk/v1", 11);
	put_le64(ad + 11, (uint64_t)patient_id);
	memcpy(ad + 19, id, HAVEN_KEY_ID_BYTES);
}

int haven_data_key_wrap(const struct haven_master_key *mk, const struct haven_data_key *dk,
                        int64_t patient_id, uint8_t **wrapped, size_t *wrapped_len)
{
	uint8_t ad[11 + 8 + HAVEN_KEY_ID_BYTES];
	*wrapped = NULL;
	*wrapped_len = 0;
	uint8_t *w = malloc(WRAPPED_BYTES);
	if (!w)
		return HAVEN_ENOMEM;
	w[0] = WRAP_VERSION;
	memcpy(w + 1, mk->id, HAVEN_KEY_ID_BYTES);
	uint8_t *nonce = w + 1 + HAVEN_KEY_ID_BYTES;
	randombytes_buf(nonce, NONCE_BYTES);
	wrap_ad(ad, patient_id, mk->id);
	unsigned long long clen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + NONCE_BYTES, &clen, dk->key,
	                                           sizeof(dk->key), ad, sizeof(ad), NULL, nonce,
	                                           mk->key);
	HAVEN_ASSERT(clen == HAVEN_KEY_BYTES + TAG_BYTES);
	*wrapped = w;
	*wrapped_len = WRAPPED_BYTES;
	return HAVEN_OK;
}

int haven_data_key_unwrap(const struct haven_master_key *mk, int64_t patient_id,
                          const uint8_t *wrapped, size_t wrapped_len, struct haven_data_key **out)
{
	uint8_t ad[11 + 8 + HAVEN_KEY_ID_BYTES];
	*out = NULL;
	if (!wrapped || wrapped_len != WRAPPED_BYTES || wrapped[0] != WRAP_VERSION)
		return HAVEN_EAUTH;
	/* A different key id fails fast; the AEAD below would refuse it anyway. */
	if (sodium_memcmp(wrapped + 1, mk->id, HAVEN_KEY_ID_BYTES) != 0)
		return HAVEN_EAUTH;
	struct haven_data_key *k = dk_alloc();
	if (!k)
		return HAVEN_ENOMEM;
	const uint8_t *nonce = wrapped + 1 + HAVEN_KEY_ID_BYTES;
	wrap_ad(ad, patient_id, mk->id);
	unsigned long long mlen;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(k->key, &mlen, NULL, nonce + NONCE_BYTES,
	                                               HAVEN_KEY_BYTES + TAG_BYTES, ad, sizeof(ad),
	                                               nonce, mk->key) != 0 ||
	    mlen != HAVEN_KEY_BYTES) {
		haven_data_key_destroy(&k);
		return HAVEN_EAUTH;
	}
	*out = k;
	return HAVEN_OK;
}

int haven_data_key_wrapped_key_id(const uint8_t *wrapped, size_t wrapped_len,
                                  uint8_t id[HAVEN_KEY_ID_BYTES])
{
	if (!wrapped || wrapped_len != WRAPPED_BYTES || wrapped[0] != WRAP_VERSION)
		return HAVEN_ECORRUPT;
	memcpy(id, wrapped + 1, HAVEN_KEY_ID_BYTES);
	return HAVEN_OK;
}

/* ---- Field encryption ---- */

static int ad_part_ok(const char *s)
{
	return s && *s && !strchr(s, '|');
}

int haven_crypto_ad(char *out, size_t outlen, const char *table, const char *record_id,
                    int64_t patient_id, const char *field)
{
	/* '|' separates the parts, so no part may contain it: otherwise two different
	 * (table, record, field) triples could produce the same string. */
	if (!ad_part_ok(table) || !ad_part_ok(record_id) || !ad_part_ok(field))
		return HAVEN_EINVAL;
	int n = snprintf(out, outlen, "haven/v1|%s|%s|%lld|%s", table, record_id,
	                 (long long)patient_id, field);
	if (n < 0 || (size_t)n >= outlen)
		return HAVEN_ELIMIT;
	return HAVEN_OK;
}

int haven_seal(const struct haven_data_key *dk, const char *ad, const void *pt, size_t pt_len,
               uint8_t **ct, size_t *ct_len)
{
	*ct = NULL;
	*ct_len = 0;
	if (!ad || (!pt && pt_len) || pt_len > SIZE_MAX - SEAL_OVERHEAD ||
	    pt_len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
		return HAVEN_EINVAL;
	uint8_t *c = malloc(pt_len + SEAL_OVERHEAD);
	if (!c)
		return HAVEN_ENOMEM;
	c[0] = SEAL_VERSION;
	randombytes_buf(c + 1, NONCE_BYTES);
	unsigned long long clen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(c + 1 + NONCE_BYTES, &clen, pt, pt_len,
	                                           (const uint8_t *)ad, strlen(ad), NULL, c + 1,
	                                           dk->key);
	*ct = c;
	*ct_len = (size_t)clen + 1 + NONCE_BYTES;
	return HAVEN_OK;
}

int haven_open(const struct haven_data_key *dk, const char *ad, const uint8_t *ct, size_t ct_len,
               uint8_t **pt, size_t *pt_len)
{
	*pt = NULL;
	*pt_len = 0;
	if (!ad || !ct || ct_len < SEAL_OVERHEAD || ct[0] != SEAL_VERSION)
		return HAVEN_EAUTH;
	size_t mmax = ct_len - SEAL_OVERHEAD;
	uint8_t *m = malloc(mmax + 1);
	if (!m)
		return HAVEN_ENOMEM;
	unsigned long long mlen;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
	        m, &mlen, NULL, ct + 1 + NONCE_BYTES, ct_len - 1 - NONCE_BYTES, (const uint8_t *)ad,
	        strlen(ad), ct + 1, dk->key) != 0) {
		haven_secret_free(m, mmax + 1);
		return HAVEN_EAUTH;
	}
	m[mlen] = '\0';
	*pt = m;
	*pt_len = (size_t)mlen;
	return HAVEN_OK;
}

void haven_secret_free(void *p, size_t len)
{
	if (!p)
		return;
	sodium_memzero(p, len);
	free(p);
}

/* ---- Passwords and tokens ---- */

static int pwhash_fast(void)
{
	const char *v = getenv("HAVEN_PWHASH_FAST");
	return v && !strcmp(v, "1");
}

/* At most PWHASH_CONCURRENCY hashes run at once: each takes 64 MiB and a core for tens of
 * milliseconds, so more would only add memory (and give a flood of logins a lever on the
 * server's memory) without finishing any sooner on a small machine. */
#define PWHASH_CONCURRENCY 2
static pthread_mutex_t pwhash_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pwhash_cond = PTHREAD_COND_INITIALIZER;
static int pwhash_running;

static void pwhash_enter(void)
{
	pthread_mutex_lock(&pwhash_lock);
	while (pwhash_running >= PWHASH_CONCURRENCY)
		pthread_cond_wait(&pwhash_cond, &pwhash_lock);
	pwhash_running++;
	pthread_mutex_unlock(&pwhash_lock);
}

static void pwhash_leave(void)
{
	pthread_mutex_lock(&pwhash_lock);
	pwhash_running--;
	pthread_cond_signal(&pwhash_cond);
	pthread_mutex_unlock(&pwhash_lock);
}

int haven_password_hash(const char *pw, size_t pw_len, char out[HAVEN_PWHASH_MAX])
{
	out[0] = '\0';
	if (!pw || pw_len > PASSWORD_MAX)
		return HAVEN_EINVAL;
	unsigned long long ops = pwhash_fast() ? crypto_pwhash_argon2id_OPSLIMIT_MIN
	                                       : crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
	size_t mem = pwhash_fast() ? crypto_pwhash_argon2id_MEMLIMIT_MIN
	                           : crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
	pwhash_enter();
	int rc = crypto_pwhash_argon2id_str(out, pw, pw_len, ops, mem);
	pwhash_leave();
	if (rc != 0) {
		out[0] = '\0';
		return HAVEN_ENOMEM; /* the only way argon2id fails on valid limits */
	}
	return HAVEN_OK;
}

/* The memory a stored hash asks for, in KiB ("m=" in "$argon2id$v=19$m=65536,t=2,p=1$"),
 * or -1 when the string does not say. */
static long long pwhash_memory_kib(const char *stored)
{
	const char *m = strstr(stored, "$m=");
	if (!m)
		return -1;
	long long v = 0;
	for (m += 3; *m >= '0' && *m <= '9'; m++) {
		v = v * 10 + (*m - '0');
		if (v > (1LL << 40))
			return v;
	}
	return v;
}

int haven_password_verify(const char *stored, const char *pw, size_t pw_len)
{
	if (!stored || !pw || pw_len > PASSWORD_MAX || !memchr(stored, '\0', HAVEN_PWHASH_MAX))
		return HAVEN_EAUTH;
	/* A stored hash is trusted data, but a tampered one must not make us allocate
	 * gigabytes: anything above the "moderate" limit (256 MiB) is refused. */
	long long kib = pwhash_memory_kib(stored);
	if (kib < 0 || kib > (long long)(crypto_pwhash_argon2id_MEMLIMIT_MODERATE / 1024))
		return HAVEN_EAUTH;
	pwhash_enter();
	int rc = crypto_pwhash_str_verify(stored, pw, pw_len);
	pwhash_leave();
	return rc == 0 ? HAVEN_OK : HAVEN_EAUTH;
}

static char dummy_hash[HAVEN_PWHASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_hash_init(void)
{
	uint8_t pw[16];
	randombytes_buf(pw, sizeof(pw));
	if (haven_password_hash((const char *)pw, sizeof(pw), dummy_hash) != HAVEN_OK)
		dummy_hash[0] = '\0';
	sodium_memzero(pw, sizeof(pw));
}

void haven_password_dummy_verify(const char *pw, size_t pw_len)
{
	pthread_once(&dummy_once, dummy_hash_init);
	if (dummy_hash[0] && pw && haven_password_verify(dummy_hash, pw, pw_len) == HAVEN_OK)
		haven_log(HAVEN_LOG_WARN, "event=dummy_password_matched"); /* 2^-128 */
}

int haven_password_needs_rehash(const char *stored)
{
	if (pwhash_fast())
		return crypto_pwhash_argon2id_str_needs_rehash(
		           stored, crypto_pwhash_argon2id_OPSLIMIT_MIN,
		           crypto_pwhash_argon2id_MEMLIMIT_MIN) != 0;
	return crypto_pwhash_argon2id_str_needs_rehash(
	           stored, crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
	           crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE) != 0;
}

void haven_token_generate(char out[HAVEN_TOKEN_CHARS + 1])
{
	uint8_t raw[32];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, HAVEN_TOKEN_CHARS + 1, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void haven_token_hash(const char *token, size_t len, uint8_t out[HAVEN_TOKEN_HASH_BYTES])
{
	crypto_generichash(out, HAVEN_TOKEN_HASH_BYTES, (const uint8_t *)token, len, NULL, 0);
}

/* ---- Primitives ---- */

void haven_random_bytes(void *p, size_t n)
{
	randombytes_buf(p, n);
}

void haven_random_id(char out[33])
{
	uint8_t raw[16];
	randombytes_buf(raw, sizeof(raw));
	haven_hex_encode(raw, sizeof(raw), out);
}

void haven_record_id(char out[33])
{
	uint8_t raw[16];
	uint64_t ms = (uint64_t)haven_now_ms();
	for (int i = 0; i < 6; i++)
		raw[i] = (uint8_t)(ms >> (8 * (5 - i)));
	randombytes_buf(raw + 6, sizeof(raw) - 6);
	haven_hex_encode(raw, sizeof(raw), out);
}

void haven_blake2b(const void *data, size_t len, const uint8_t *key, size_t keylen, uint8_t out[32])
{
	HAVEN_ASSERT(keylen == 0 || (keylen >= crypto_generichash_KEYBYTES_MIN &&
	                             keylen <= crypto_generichash_KEYBYTES_MAX));
	crypto_generichash(out, 32, data, len, keylen ? key : NULL, keylen);
}

void haven_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                       uint8_t out[32])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, data, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

int haven_memcmp_ct(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0 ? 0 : 1;
}
