/* test_crypto.c: the key hierarchy, field encryption, passwords, tokens and key files. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "harness.h"

static void init(void)
{
	ASSERT_OK(haven_crypto_init());
	setenv("HAVEN_PWHASH_FAST", "1", 1);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ASSERT_OK(fchmod(fd, mode));
	close(fd);
}

TEST(crypto_seal_open_roundtrip)
{
	init();
	struct haven_data_key *dk;
	char ad[256];
	uint8_t *ct, *pt;
	size_t ct_len, pt_len;
	const char *msg = "I have been feeling low this week.";
	ASSERT_OK(haven_data_key_generate(&dk));
	ASSERT_OK(haven_crypto_ad(ad, sizeof(ad), "messages", "r1", 7, "text"));
	ASSERT_STR_EQ(ad, "haven/v1|messages|r1|7|text");
	ASSERT_OK(haven_seal(dk, ad, msg, strlen(msg), &ct, &ct_len));
	ASSERT_EQ(ct_len, strlen(msg) + 1 + 24 + 16);
	ASSERT_EQ(ct[0], 1);
	ASSERT(!memmem(ct, ct_len, "feeling", 7));
	ASSERT_OK(haven_open(dk, ad, ct, ct_len, &pt, &pt_len));
	ASSERT_EQ(pt_len, strlen(msg));
	ASSERT_STR_EQ((char *)pt, msg);
	haven_secret_free(pt, pt_len);

	/* Two seals of the same text differ (random nonce). */
	uint8_t *ct2;
	size_t ct2_len;
	ASSERT_OK(haven_seal(dk, ad, msg, strlen(msg), &ct2, &ct2_len));
	ASSERT(memcmp(ct, ct2, ct_len) != 0);
	free(ct2);

	/* The empty plaintext works too. */
	ASSERT_OK(haven_seal(dk, ad, "", 0, &ct2, &ct2_len));
	ASSERT_OK(haven_open(dk, ad, ct2, ct2_len, &pt, &pt_len));
	ASSERT_EQ(pt_len, 0);
	ASSERT_STR_EQ((char *)pt, "");
	haven_secret_free(pt, pt_len);
	free(ct2);
	free(ct);
	haven_data_key_destroy(&dk);
	ASSERT(dk == NULL);
}

TEST(crypto_open_refuses_tampering_wrong_ad_and_wrong_key)
{
	init();
	struct haven_data_key *dk, *other;
	char ad[256], bad[256];
	uint8_t *ct, *pt = (uint8_t *)"x";
	size_t ct_len, pt_len = 9;
	ASSERT_OK(haven_data_key_generate(&dk));
	ASSERT_OK(haven_data_key_generate(&other));
	ASSERT_OK(haven_crypto_ad(ad, sizeof(ad), "messages", "r1", 7, "text"));
	ASSERT_OK(haven_seal(dk, ad, "secret", 6, &ct, &ct_len));

	/* Every byte flipped, one at a time: version, nonce, ciphertext and tag. */
	for (size_t i = 0; i < ct_len; i++) {
		ct[i] ^= 0x01;
		ASSERT_EQ(haven_open(dk, ad, ct, ct_len, &pt, &pt_len), HAVEN_EAUTH);
		ASSERT(pt == NULL);
		ASSERT_EQ(pt_len, 0);
		ct[i] ^= 0x01;
	}
	/* Truncated, and too short to hold a header. */
	ASSERT_EQ(haven_open(dk, ad, ct, ct_len - 1, &pt, &pt_len), HAVEN_EAUTH);
	ASSERT_EQ(haven_open(dk, ad, ct, 10, &pt, &pt_len), HAVEN_EAUTH);
	/* Another row, another patient, another field, another table. */
	ASSERT_OK(haven_crypto_ad(bad, sizeof(bad), "messages", "r2", 7, "text"));
	ASSERT_EQ(haven_open(dk, bad, ct, ct_len, &pt, &pt_len), HAVEN_EAUTH);
	ASSERT_OK(haven_crypto_ad(bad, sizeof(bad), "messages", "r1", 8, "text"));
	ASSERT_EQ(haven_open(dk, bad, ct, ct_len, &pt, &pt_len), HAVEN_EAUTH);
	ASSERT_OK(haven_crypto_ad(bad, sizeof(bad), "messages", "r1", 7, "summary"));
	ASSERT_EQ(haven_open(dk, bad, ct, ct_len, &pt, &pt_len), HAVEN_EAUTH);
	ASSERT_OK(haven_crypto_ad(bad, sizeof(bad), "checkins", "r1", 7, "text"));
	ASSERT_EQ(haven_open(dk, bad, ct, ct_len, &pt, &pt_len), HAVEN_EAUTH);
	/* Another key. */
	ASSERT_EQ(haven_open(other, ad, ct, ct_len, &pt, &pt_len), HAVEN_EAUTH);
	/* Still opens with the right inputs. */
	ASSERT_OK(haven_open(dk, ad, ct, ct_len, &pt, &pt_len));
	haven_secret_free(pt, pt_len);
	free(ct);
	haven_data_key_destroy(&dk);
	haven_data_key_destroy(&other);
}

TEST(crypto_ad_rejects_ambiguous_parts)
{
	char ad[64];
	ASSERT_EQ(haven_crypto_ad(ad, sizeof(ad), "a|b", "r", 1, "f"), HAVEN_EINVAL);
	ASSERT_EQ(haven_crypto_ad(ad, sizeof(ad), "t", "", 1, "f"), HAVEN_EINVAL);
	ASSERT_EQ(haven_crypto_ad(ad, sizeof(ad), "t", "r", 1, NULL), HAVEN_EINVAL);
	ASSERT_EQ(haven_crypto_ad(ad, 12, "table", "record", 1, "field"), HAVEN_ELIMIT);
}

TEST(crypto_wrap_unwrap_binds_patient_and_master_key)
{
	init();
	struct haven_master_key *mk, *mk2;
	struct haven_data_key *dk, *back;
	uint8_t *w, id[HAVEN_KEY_ID_BYTES], wid[HAVEN_KEY_ID_BYTES];
	size_t wlen;
	ASSERT_OK(haven_master_key_generate(&mk));
	ASSERT_OK(haven_master_key_generate(&mk2));
	ASSERT_OK(haven_data_key_generate(&dk));
	ASSERT_OK(haven_data_key_wrap(mk, dk, 42, &w, &wlen));
	ASSERT_EQ(wlen, 1 + 8 + 24 + 32 + 16);
	haven_master_key_id(mk, id);
	ASSERT_OK(haven_data_key_wrapped_key_id(w, wlen, wid));
	ASSERT(memcmp(id, wid, sizeof(id)) == 0);

	ASSERT_OK(haven_data_key_unwrap(mk, 42, w, wlen, &back));
	/* The unwrapped key opens what the original sealed. */
	uint8_t *ct, *pt;
	size_t ct_len, pt_len;
	ASSERT_OK(haven_seal(dk, "ad", "hello", 5, &ct, &ct_len));
	ASSERT_OK(haven_open(back, "ad", ct, ct_len, &pt, &pt_len));
	ASSERT_STR_EQ((char *)pt, "hello");
	haven_secret_free(pt, pt_len);
	free(ct);
	haven_data_key_destroy(&back);

	ASSERT_EQ(haven_data_key_unwrap(mk, 43, w, wlen, &back), HAVEN_EAUTH);
	ASSERT(back == NULL);
	ASSERT_EQ(haven_data_key_unwrap(mk2, 42, w, wlen, &back), HAVEN_EAUTH);
	/* A forged key id in the header does not help: the id is in the associated data. */
	uint8_t id2[HAVEN_KEY_ID_BYTES];
	haven_master_key_id(mk2, id2);
	memcpy(w + 1, id2, sizeof(id2));
	ASSERT_EQ(haven_data_key_unwrap(mk2, 42, w, wlen, &back), HAVEN_EAUTH);
	memcpy(w + 1, id, sizeof(id));
	w[wlen - 1] ^= 0x80;
	ASSERT_EQ(haven_data_key_unwrap(mk, 42, w, wlen, &back), HAVEN_EAUTH);
	ASSERT_EQ(haven_data_key_unwrap(mk, 42, w, wlen - 1, &back), HAVEN_EAUTH);
	free(w);
	haven_data_key_destroy(&dk);
	haven_master_key_destroy(&mk);
	haven_master_key_destroy(&mk2);
	ASSERT(mk == NULL);
}

TEST(crypto_password_hash_and_verify)
{
	init();
	char h1[HAVEN_PWHASH_MAX], h2[HAVEN_PWHASH_MAX];
	ASSERT_OK(haven_password_hash("correct horse", 13, h1));
	ASSERT(!strncmp(h1, "$argon2id$", 10));
	ASSERT_OK(haven_password_hash("correct horse", 13, h2));
	ASSERT(strcmp(h1, h2) != 0); /* salted */
	ASSERT_OK(haven_password_verify(h1, "correct horse", 13));
	ASSERT_EQ(haven_password_verify(h1, "correct horsf", 13), HAVEN_EAUTH);
	ASSERT_EQ(haven_password_verify(h1, "correct hors", 12), HAVEN_EAUTH);
	ASSERT_EQ(haven_password_verify(h1, "", 0), HAVEN_EAUTH);
	ASSERT_EQ(haven_password_verify("not a hash", "x", 1), HAVEN_EAUTH);
	ASSERT_EQ(haven_password_needs_rehash(h1), 0);
	/* A hash made with the fast limits still verifies once they are off (and asks to be
	 * rehashed). */
	unsetenv("HAVEN_PWHASH_FAST");
	ASSERT_OK(haven_password_verify(h1, "correct horse", 13));
	ASSERT_EQ(haven_password_needs_rehash(h1), 1);
	setenv("HAVEN_PWHASH_FAST", "1", 1);
}

TEST(crypto_tokens_are_unique_and_url_safe)
{
	init();
	enum { N = 200 };
	static char tokens[N][HAVEN_TOKEN_CHARS + 1];
	for (int i = 0; i < N; i++) {
		haven_token_generate(tokens[i]);
		ASSERT_EQ(strlen(tokens[i]), HAVEN_TOKEN_CHARS);
		ASSERT_EQ(strspn(tokens[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                            "0123456789-_"),
		          HAVEN_TOKEN_CHARS);
		for (int j = 0; j < i; j++)
			ASSERT(strcmp(tokens[i], tokens[j]) != 0);
	}
	uint8_t h1[32], h2[32];
	haven_token_hash(tokens[0], HAVEN_TOKEN_CHARS, h1);
	haven_token_hash(tokens[0], HAVEN_TOKEN_CHARS, h2);
	ASSERT_OK(haven_memcmp_ct(h1, h2, 32));
	haven_token_hash(tokens[1], HAVEN_TOKEN_CHARS, h2);
	ASSERT(haven_memcmp_ct(h1, h2, 32) != 0);

	char id1[33], id2[33];
	haven_random_id(id1);
	haven_random_id(id2);
	ASSERT_EQ(strlen(id1), 32);
	ASSERT(strcmp(id1, id2) != 0);
}

TEST(crypto_hmac_sha256_known_answer)
{
	init();
	/* RFC 4231 test case 2. */
	uint8_t mac[32];
	char hex[65];
	const char *data = "what do ya want for nothing?";
	haven_hmac_sha256("Jefe", 4, data, strlen(data), mac);
	haven_hex_encode(mac, 32, hex);
	ASSERT_STR_EQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(crypto_key_file_created_0600_and_reloaded)
{
	init();
	const char *p = haven_test_tmpfile("key");
	char path[512];
	struct stat st;
	struct haven_master_key *a, *b;
	uint8_t ida[8], idb[8];
	haven_strlcpy(path, p, sizeof(path));
	ASSERT_OK(haven_master_key_load(path, NULL, &a));
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(st.st_size, 65);
	ASSERT_OK(haven_master_key_load(path, NULL, &b));
	haven_master_key_id(a, ida);
	haven_master_key_id(b, idb);
	ASSERT(memcmp(ida, idb, 8) == 0);
	haven_master_key_destroy(&b);

	/* Saved keys round-trip and replace atomically. */
	ASSERT_OK(haven_master_key_generate(&b));
	ASSERT_OK(haven_master_key_save(b, path));
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 0777, 0600);
	haven_master_key_destroy(&a);
	ASSERT_OK(haven_master_key_load(path, NULL, &a));
	haven_master_key_id(a, ida);
	haven_master_key_id(b, idb);
	ASSERT(memcmp(ida, idb, 8) == 0);
	haven_master_key_destroy(&a);
	haven_master_key_destroy(&b);

	/* The parent directory must exist. */
	char missing[600];
	snprintf(missing, sizeof(missing), "%s.d/none/key", path);
	ASSERT_EQ(haven_master_key_load(missing, NULL, &a), HAVEN_ENOTFOUND);
	ASSERT(a == NULL);
}

TEST(crypto_key_file_refused_when_readable_by_others)
{
	init();
	char path[512];
	struct haven_master_key *k;
	haven_strlcpy(path, haven_test_tmpfile("key"), sizeof(path));
	write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	           0644);
	ASSERT_EQ(haven_master_key_load(path, NULL, &k), HAVEN_EPERM);
	ASSERT(k == NULL);
	ASSERT_OK(chmod(path, 0640));
	ASSERT_EQ(haven_master_key_load(path, NULL, &k), HAVEN_EPERM);
	ASSERT_OK(chmod(path, 0600));
	ASSERT_OK(haven_master_key_load(path, NULL, &k));
	haven_master_key_destroy(&k);
	/* A symbolic link is followed and its target checked. */
	char link[600];
	snprintf(link, sizeof(link), "%s.link", path);
	ASSERT_OK(symlink(path, link));
	ASSERT_OK(haven_master_key_load(link, NULL, &k));
	haven_master_key_destroy(&k);
	ASSERT_OK(chmod(path, 0604));
	ASSERT_EQ(haven_master_key_load(link, NULL, &k), HAVEN_EPERM);
	/* A directory is not a key file. */
	char dir[600];
	snprintf(dir, sizeof(dir), "%s.dir", path);
	ASSERT_OK(mkdir(dir, 0700));
	ASSERT_EQ(haven_master_key_load(dir, NULL, &k), HAVEN_EPERM);
}

TEST(crypto_key_file_corrupt_is_a_clear_error)
{
	init();
	char path[512];
	struct haven_master_key *k;
	static const char *bad[] = {
	    "",
	    "00010203",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00\n",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n",
	    " 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		haven_strlcpy(path, haven_test_tmpfile("key"), sizeof(path));
		write_file(path, bad[i], 0600);
		ASSERT_EQ(haven_master_key_load(path, NULL, &k), HAVEN_ECORRUPT);
		ASSERT(k == NULL);
	}
	/* Accepted forms: with "\n", with "\r\n", without a line end, upper case. */
	static const char *good[] = {
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	    "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	};
	uint8_t first[8], id[8];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		haven_strlcpy(path, haven_test_tmpfile("key"), sizeof(path));
		write_file(path, good[i], 0600);
		ASSERT_OK(haven_master_key_load(path, NULL, &k));
		haven_master_key_id(k, i ? id : first);
		if (i)
			ASSERT(memcmp(first, id, 8) == 0);
		haven_master_key_destroy(&k);
	}
}

TEST(crypto_key_from_environment)
{
	init();
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	char path[512];
	struct haven_master_key *env, *file;
	uint8_t a[8], b[8];
	haven_strlcpy(path, haven_test_tmpfile("key"), sizeof(path));
	/* The environment wins and no file is created. */
	ASSERT_OK(haven_master_key_load(path, hex, &env));
	ASSERT(access(path, F_OK) != 0);
	write_file(path, hex, 0600);
	ASSERT_OK(haven_master_key_load(path, NULL, &file));
	haven_master_key_id(env, a);
	haven_master_key_id(file, b);
	ASSERT(memcmp(a, b, 8) == 0);
	haven_master_key_destroy(&env);
	haven_master_key_destroy(&file);
	ASSERT_EQ(haven_master_key_load(path, "abcd", &env), HAVEN_EINVAL);
	ASSERT_EQ(
	    haven_master_key_load(
	        path, "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &env),
	    HAVEN_EINVAL);
	ASSERT(env == NULL);
}

TEST(crypto_key_path_rules)
{
	unsetenv("HAVEN_KEY_FILE");
	ASSERT_STR_EQ(haven_master_key_path(NULL), HAVEN_DEFAULT_KEY_FILE);
	ASSERT_STR_EQ(haven_master_key_path(""), HAVEN_DEFAULT_KEY_FILE);
	setenv("HAVEN_KEY_FILE", "/etc/haven/key", 1);
	ASSERT_STR_EQ(haven_master_key_path(NULL), "/etc/haven/key");
	ASSERT_STR_EQ(haven_master_key_path("k.txt"), "k.txt");
	unsetenv("HAVEN_KEY_FILE");
}

TEST(crypto_password_verify_refuses_greedy_hashes)
{
	init();
	/* A tampered stored hash asking for 4 GiB is refused before anything is allocated. */
	const char *greedy = "$argon2id$v=19$m=4194304,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$"
	                     "2sJMxV0mw2yGqlbmrTKmqFNMU6JkeJGqrw2zmtwWRiY";
	ASSERT_EQ(haven_password_verify(greedy, "pw", 2), HAVEN_EAUTH);
	ASSERT_EQ(haven_password_verify("$argon2id$v=19$t=3,p=1$x$y", "pw", 2), HAVEN_EAUTH);
	/* The dummy verification for unknown accounts runs and returns. */
	haven_password_dummy_verify("guess", 5);
	haven_password_dummy_verify("guess", 5);
}

struct hash_thread {
	char pw[32];
	char hash[HAVEN_PWHASH_MAX];
	int err;
};

static void *hash_thread(void *arg)
{
	struct hash_thread *t = arg;
	t->err = haven_password_hash(t->pw, strlen(t->pw), t->hash);
	if (!t->err)
		t->err = haven_password_verify(t->hash, t->pw, strlen(t->pw));
	return NULL;
}

TEST(crypto_password_hashing_from_many_threads)
{
	enum { THREADS = 8 };
	init();
	pthread_t th[THREADS];
	struct hash_thread args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		snprintf(args[i].pw, sizeof(args[i].pw), "secret-%d", i);
		ASSERT_OK(pthread_create(&th[i], NULL, hash_thread, &args[i]));
	}
	for (int i = 0; i < THREADS; i++)
		ASSERT_OK(pthread_join(th[i], NULL));
	for (int i = 0; i < THREADS; i++)
		ASSERT_OK(args[i].err);
	ASSERT_EQ(haven_password_verify(args[0].hash, args[1].pw, strlen(args[1].pw)), HAVEN_EAUTH);
}

/* Record ids: 32 hex digits, the time in milliseconds first (so ids made later sort
 * after earlier ones: the rid index is appended to, not written all over), then 80 random
 * bits (so ids made in the same millisecond still differ). */
TEST(crypto_record_ids_sort_by_time_and_differ)
{
	char a[33], b[33], c[33];
	int64_t before = haven_now_ms();
	haven_record_id(a);
	haven_record_id(b);
	struct timespec ts = {0, 3 * 1000 * 1000};
	nanosleep(&ts, NULL);
	haven_record_id(c);
	int64_t after = haven_now_ms();
	ASSERT_EQ(strlen(a), 32u);
	ASSERT_EQ(strspn(a, "0123456789abcdef"), 32u);
	ASSERT(strcmp(a, b) != 0);
	ASSERT(strcmp(a + 12, b + 12) != 0); /* the random part differs too */
	ASSERT(strcmp(c, a) > 0 && strcmp(c, b) > 0);
	char head[13];
	memcpy(head, a, 12);
	head[12] = '\0';
	int64_t t = (int64_t)strtoll(head, NULL, 16);
	ASSERT(t >= before && t <= after);
}
