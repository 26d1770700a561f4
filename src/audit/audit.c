/*
 * audit.c: the hash-chained audit log (audit.h). Each record's hash covers the previous
 * record's hash and a canonical encoding of every field, its id included, so altering,
 * reordering or deleting a record breaks the chain at that point.
 *
 * Canonical encoding: the tag "haven/audit/v1", then id, at, actor_id (each as 8 bytes
 * little-endian), actor_role, action, subject, outcome, request_id, detail (UTF-8 bytes),
 * every field preceded by its length as 8 bytes little-endian. Lengths make the encoding
 * injective: no two different records encode alike, whatever bytes their fields hold.
 * hash = BLAKE2b-256(prev_hash || encoding).
 *
 * Choosing the id. The id must be hashed, so it must be known before the row is written.
 * Two ways: insert with a placeholder hash, read the id back (RETURNING id) and UPDATE;
 * or read the last record under the append lock and use its id + 1. We do the second:
 * the same query that gives the previous hash gives the id, the row is written once and
 * is never visible with a wrong hash, and the audit_log primary key turns any lapse in
 * serialisation (say a transaction that skipped the lock) into a failed insert rather
 * than a forked chain. It relies on every append going through this function, which
 * audit.h already requires. Appends are serialised by the PostgreSQL advisory lock below
 * and, on SQLite, by the single writer connection.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "crypto/crypto.h"

#define HASH_BYTES 32
#define FIELD_MAX 512
#define DETAIL_MAX 2048
#define VERIFY_PAGE 500
/* pg_advisory_xact_lock key: "havenAUD" as a big-endian integer, unlikely to collide. */
#define AUDIT_LOCK_SQL "SELECT pg_advisory_xact_lock(7521133909001995588)"

struct record {
	int64_t id, at, actor_id;
	const char *text[6]; /* actor_role, action, subject, outcome, request_id, detail */
	size_t len[6];
};

static const char *const text_names[6] = {"actor_role", "action",     "subject",
                                          "outcome",    "request_id", "detail"};

static void put_field(uint8_t *buf, size_t *off, const void *p, size_t n)
{
	uint64_t len = n;
	for (int i = 0; i < 8; i++)
		buf[(*off)++] = (uint8_t)(len >> (8 * i));
	if (n)
		memcpy(buf + *off, p, n);
	*off += n;
}

static void put_int_field(uint8_t *buf, size_t *off, int64_t v)
{
	uint8_t le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)v >> (8 * i));
	put_field(buf, off, le, sizeof(le));
}

/* hash = BLAKE2b-256(prev || encoding(r)). Field lengths were checked by the caller. */
static int record_hash(const uint8_t prev[HASH_BYTES], const struct record *r,
                       uint8_t out[HASH_BYTES])
{
	static const char tag[] = "haven/audit/v1";
	size_t need = HASH_BYTES + 8 + sizeof(tag) + 3 * 16;
	for (int i = 0; i < 6; i++)
		need += 8 + r->len[i];
	uint8_t *buf = malloc(need);
	if (!buf)
		return HAVEN_ENOMEM;
	size_t off = 0;
	memcpy(buf, prev, HASH_BYTES);
	off = HASH_BYTES;
	put_field(buf, &off, tag, sizeof(tag) - 1);
	put_int_field(buf, &off, r->id);
	put_int_field(buf, &off, r->at);
	put_int_field(buf, &off, r->actor_id);
	for (int i = 0; i < 6; i++)
		put_field(buf, &off, r->text[i], r->len[i]);
	HAVEN_ASSERT(off <= need);
	haven_blake2b(buf, off, NULL, 0, out);
	free(buf);
	return HAVEN_OK;
}

/* ---- Append ---- */

struct last_record {
	int found;
	int64_t id;
	uint8_t hash[HASH_BYTES];
};

static int read_last(const struct haven_row *row, void *arg)
{
	struct last_record *l = arg;
	size_t len;
	const void *h = haven_row_blob(row, 1, &len);
	if (!h || len != HASH_BYTES)
		return HAVEN_ECORRUPT;
	l->id = haven_row_int(row, 0);
	memcpy(l->hash, h, HASH_BYTES);
	l->found = 1;
	return HAVEN_OK;
}

static int ignore_rows(const struct haven_row *row, void *arg)
{
	return HAVEN_OK;
}

static int check_text(const char *s, size_t max, int required, const char **out, size_t *len)
{
	if (!s) {
		if (required)
			return HAVEN_EINVAL;
		s = "";
	}
	size_t n = strlen(s);
	if (required && n == 0)
		return HAVEN_EINVAL;
	if (n > max)
		return HAVEN_ELIMIT;
	if (!haven_utf8_valid(s, n, NULL))
		return HAVEN_EINVAL;
	*out = s;
	*len = n;
	return HAVEN_OK;
}

int haven_audit_append(struct haven_tx *tx, const struct haven_audit_event *ev)
{
	struct record r = {0};
	struct last_record last = {0};
	uint8_t hash[HASH_BYTES];
	const char *in[6] = {ev->actor_role, ev->action,     ev->subject,
	                     ev->outcome,    ev->request_id, ev->detail};
	int err;

	for (int i = 0; i < 6; i++) {
		int required = i == 0 || i == 1 || i == 3; /* role, action, outcome */
		err = check_text(in[i], i == 5 ? DETAIL_MAX : FIELD_MAX, required, &r.text[i],
		                 &r.len[i]);
		if (err)
			return err;
	}
	struct haven_tx_chain *memo = haven_tx_chain(tx);
	if (memo && memo->known) {
		/* An earlier append in this transaction holds the lock and knows the head. */
		last.found = 1;
		last.id = memo->id;
		memcpy(last.hash, memo->hash, HASH_BYTES);
	} else {
		if (haven_tx_kind(tx) == HAVEN_STORE_PG) {
			err = haven_tx_query(tx, AUDIT_LOCK_SQL, NULL, 0, ignore_rows, NULL);
			if (err)
				return err;
		}
		err = haven_tx_query(tx, "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
		                     NULL, 0, read_last, &last);
		if (err)
			return err;
	}
	r.id = last.found ? last.id + 1 : 1;
	r.at = haven_now_ms();
	r.actor_id = ev->actor_id;
	err = record_hash(last.hash, &r, hash);
	if (err)
		return err;
	struct haven_param p[] = {
	    HAVEN_P_INT(r.id),
	    HAVEN_P_INT(r.at),
	    HAVEN_P_INT(r.actor_id),
	    HAVEN_P_TEXTN(r.text[0], r.len[0]),
	    HAVEN_P_TEXTN(r.text[1], r.len[1]),
	    HAVEN_P_TEXTN(r.text[2], r.len[2]),
	    HAVEN_P_TEXTN(r.text[3], r.len[3]),
	    HAVEN_P_TEXTN(r.text[4], r.len[4]),
	    HAVEN_P_TEXTN(r.text[5], r.len[5]),
	    HAVEN_P_BLOB(last.hash, HASH_BYTES),
	    HAVEN_P_BLOB(hash, HASH_BYTES),
	};
	err = haven_tx_exec(tx,
	                    "INSERT INTO audit_log (id, at, actor_id, actor_role, action, subject, "
	                    "outcome, request_id, detail, prev_hash, hash) "
	                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                    p, sizeof(p) / sizeof(p[0]), NULL);
	if (!err && memo) {
		memo->known = 1;
		memo->id = r.id;
		memcpy(memo->hash, hash, HASH_BYTES);
	}
	return err;
}

/* ---- Verify ---- */

struct verify_ctx {
	struct haven_audit_report *report;
	int64_t last_id;          /* id of the last good record, 0 before the first */
	uint8_t prev[HASH_BYTES]; /* its stored (and verified) hash */
	size_t page_rows;
	int done; /* a bad record was found */
};

#define STOP_BAD 1 /* returned by the row callback to stop at the first bad record */

static int bad(struct verify_ctx *c, int64_t id, const char *fmt, ...) HAVEN_PRINTF(3, 4);
static int bad(struct verify_ctx *c, int64_t id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->report->reason, sizeof(c->report->reason), fmt, ap);
	va_end(ap);
	c->report->first_bad_id = id;
	c->done = 1;
	return STOP_BAD;
}

static int verify_row(const struct haven_row *row, void *arg)
{
	struct verify_ctx *c = arg;
	struct record r = {0};
	uint8_t hash[HASH_BYTES];
	size_t prev_len, hash_len;

	c->page_rows++;
	r.id = haven_row_int(row, 0);
	r.at = haven_row_int(row, 1);
	r.actor_id = haven_row_int(row, 2);
	c->report->records++;
	if (r.id != c->last_id + 1) {
		if (r.id == c->last_id + 2)
			return bad(c, c->last_id + 1,
			           "record %lld is missing (ids jump from %lld to %lld): deleted",
			           (long long)(c->last_id + 1), (long long)c->last_id,
			           (long long)r.id);
		return bad(c, c->last_id + 1,
		           "records %lld to %lld are missing (ids jump from %lld to %lld): deleted",
		           (long long)(c->last_id + 1), (long long)(r.id - 1),
		           (long long)c->last_id, (long long)r.id);
	}
	for (int i = 0; i < 6; i++) {
		r.text[i] = haven_row_text(row, 3 + i, &r.len[i]);
		if (!r.text[i])
			return bad(c, r.id, "record %lld has no %s", (long long)r.id,
			           text_names[i]);
		if (r.len[i] > (i == 5 ? DETAIL_MAX : FIELD_MAX))
			return bad(c, r.id, "record %lld: %s is longer than any append writes",
			           (long long)r.id, text_names[i]);
	}
	const void *prev = haven_row_blob(row, 9, &prev_len);
	const void *stored = haven_row_blob(row, 10, &hash_len);
	if (!prev || prev_len != HASH_BYTES || !stored || hash_len != HASH_BYTES)
		return bad(c, r.id, "record %lld: prev_hash or hash is not %d bytes",
		           (long long)r.id, HASH_BYTES);
	if (haven_memcmp_ct(prev, c->prev, HASH_BYTES))
		return bad(c, r.id,
		           "broken link: record %lld's prev_hash is not the hash of record %lld",
		           (long long)r.id, (long long)c->last_id);
	int err = record_hash(c->prev, &r, hash);
	if (err)
		return err;
	if (haven_memcmp_ct(hash, stored, HASH_BYTES))
		return bad(c, r.id,
		           "hash mismatch: record %lld's fields do not match its hash (altered)",
		           (long long)r.id);
	c->last_id = r.id;
	memcpy(c->prev, stored, HASH_BYTES);
	return HAVEN_OK;
}

/* One read transaction (a consistent snapshot), paged by id so memory stays bounded on
 * both backends whatever the log's length. */
static int verify_tx(struct haven_tx *tx, void *arg)
{
	struct verify_ctx *c = arg;
	for (;;) {
		struct haven_param p[] = {HAVEN_P_INT(c->last_id), HAVEN_P_INT(VERIFY_PAGE)};
		c->page_rows = 0;
		int err =
		    haven_tx_query(tx,
		                   "SELECT id, at, actor_id, actor_role, action, subject, "
		                   "outcome, request_id, detail, prev_hash, hash FROM audit_log "
		                   "WHERE id > ? ORDER BY id LIMIT ?",
		                   p, 2, verify_row, c);
		if (err == STOP_BAD || c->done)
			return HAVEN_OK;
		if (err)
			return err;
		if (c->page_rows < VERIFY_PAGE)
			return HAVEN_OK;
	}
}

int haven_audit_verify(struct haven_store *s, struct haven_audit_report *report)
{
	struct verify_ctx c = {.report = report};
	memset(report, 0, sizeof(*report));
	int err = haven_store_read(s, verify_tx, &c);
	if (err)
		return err;
	report->last_id = c.last_id;
	memcpy(report->head_hash, c.prev, HASH_BYTES);
	return HAVEN_OK;
}

struct anchor_ctx {
	int64_t id;
	const uint8_t *hash;
	int found, same;
};

static int anchor_row(const struct haven_row *row, void *arg)
{
	struct anchor_ctx *a = arg;
	size_t len;
	const void *h = haven_row_blob(row, 0, &len);
	a->found = 1;
	a->same = h && len == HASH_BYTES && !haven_memcmp_ct(h, a->hash, HASH_BYTES);
	return HAVEN_OK;
}

static int anchor_tx(struct haven_tx *tx, void *arg)
{
	struct anchor_ctx *a = arg;
	struct haven_param p[] = {HAVEN_P_INT(a->id)};
	return haven_tx_query(tx, "SELECT hash FROM audit_log WHERE id = ?", p, 1, anchor_row, a);
}

int haven_audit_check_anchor(struct haven_store *s, int64_t id, const uint8_t hash[32])
{
	struct anchor_ctx a = {.id = id, .hash = hash};
	int err = haven_store_read(s, anchor_tx, &a);
	if (err)
		return err;
	if (!a.found)
		return HAVEN_ENOTFOUND;
	return a.same ? HAVEN_OK : HAVEN_ECORRUPT;
}
