/*
 * store.h: Haven's storage interface, one API over two backends chosen at run time
 * by URL: SQLite ("sqlite:PATH", embedded, the default) and PostgreSQL
 * ("postgresql://..." or "postgres://...", through libpq with a connection pool).
 *
 * SQL is written once by the callers, in the portable subset both engines share, with
 * '?' placeholders (the PostgreSQL backend rewrites them to $1, $2, ...). Integers are
 * BIGINT, text is TEXT, bytes are BLOB/BYTEA (declared per backend in the migrations),
 * booleans are 0/1 integers and times are Unix epoch milliseconds. Tables with a
 * generated key return it with "INSERT ... RETURNING id".
 *
 * Transactions are closures: the store calls fn(tx, arg) inside a transaction.
 *  - haven_store_write() returns only once the transaction is durably committed (0) or
 *    rolled back (non-zero). On SQLite, writes from many threads go through one writer
 *    thread that runs many callers' closures in one transaction and one fsync (group
 *    commit); each closure runs inside its own SAVEPOINT, so one caller's failure rolls
 *    back only its own changes. A closure may therefore run while other callers' work
 *    shares its transaction: it must not keep pointers into rows after returning, must
 *    not call haven_store_write/read itself (that would deadlock; the store refuses it
 *    with HAVEN_EINVAL), must not run BEGIN/COMMIT/SAVEPOINT itself, and should be quick
 *    (every other writer waits for it). On SQLite the closure runs on the store's writer
 *    thread, not the caller's: it must not rely on thread-local state of the caller.
 *  - haven_store_read() runs fn in a read-only snapshot (a pooled read connection), on
 *    the calling thread; haven_store_read_one() the same for a single statement.
 * Writers never see "database is locked": the backend serialises and retries internally.
 *
 * Ownership: the store owns connections and statements. Row accessors return pointers
 * valid only until the row callback returns; copy what you keep. Parameters are read
 * during the call only.
 */
#ifndef HAVEN_STORE_H
#define HAVEN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"

enum haven_store_kind {
	HAVEN_STORE_SQLITE,
	HAVEN_STORE_PG,
};

struct haven_store;
struct haven_tx;
struct haven_row;

enum haven_param_type {
	HAVEN_PARAM_NULL,
	HAVEN_PARAM_INT,
	HAVEN_PARAM_TEXT,
	HAVEN_PARAM_BLOB,
};

struct haven_param {
	enum haven_param_type type;
	int64_t i;
	const void *p;
	size_t len;
};

#define HAVEN_P_INT(v) ((struct haven_param){.type = HAVEN_PARAM_INT, .i = (int64_t)(v)})
#define HAVEN_P_TEXT(s) ((struct haven_param){.type = HAVEN_PARAM_TEXT, .p = (s), .len = strlen(s)})
#define HAVEN_P_TEXTN(s, n) ((struct haven_param){.type = HAVEN_PARAM_TEXT, .p = (s), .len = (n)})
#define HAVEN_P_BLOB(b, n) ((struct haven_param){.type = HAVEN_PARAM_BLOB, .p = (b), .len = (n)})
#define HAVEN_P_NULL ((struct haven_param){.type = HAVEN_PARAM_NULL})

/* NULL options, or 0 in a field, mean the default. */
struct haven_store_options {
	int read_pool;        /* read connections (SQLite, default 4) / all connections (PG, 8) */
	int group_max;        /* most closures in one group-committed transaction (64) */
	int busy_timeout_ms;  /* SQLite busy timeout, per attempt (5000) */
};

/* Opens the store named by url. *out is NULL on failure (haven_store_last_error() then
 * says why: a bad URL, a missing directory, a file that is not a database, a server that
 * refuses the connection). Does not migrate. */
int haven_store_open(const char *url, const struct haven_store_options *opt,
		     struct haven_store **out) HAVEN_WUR;
/* Waits for queued writes, closes every connection, frees the store, sets *s = NULL. */
void haven_store_destroy(struct haven_store **s);
enum haven_store_kind haven_store_kind(const struct haven_store *s);

/* Applies every migration newer than the schema's version, each in its own transaction.
 * *applied (optional) receives how many ran. */
int haven_store_migrate(struct haven_store *s, int *applied) HAVEN_WUR;
/* The schema version currently applied (0 for an empty database). */
int haven_store_schema_version(struct haven_store *s, int *version) HAVEN_WUR;
/* The newest migration this build knows. */
int haven_store_latest_version(void);

/* ---- Knowing that sessions and accounts did not change ----
 * Every request looks its session up; a server may keep a recent lookup in memory only
 * while it can know that no session or account changed since, in any process. On
 * PostgreSQL, triggers on the sessions and users tables send a notice with every change
 * (migration 11); haven_store_watch_auth() starts a thread that listens for them on a
 * connection of its own, and the store's own commits are seen as they return. The epoch
 * moves with every change seen and whenever listening starts or stops; 0 means changes
 * cannot be known now (SQLite, whose other processes announce nothing, or PostgreSQL
 * before listening starts or while its connection is lost), and nothing may be kept.
 * A lookup kept under epoch E is current while haven_store_auth_epoch() still returns E;
 * take E before the lookup's read. Another process's change is seen once its notice
 * arrives (the time of a round trip after its COMMIT). */
int haven_store_watch_auth(struct haven_store *s) HAVEN_WUR;
uint64_t haven_store_auth_epoch(struct haven_store *s);

/* Cheap liveness check for /readyz: 0 when a trivial query succeeds. */
int haven_store_ping(struct haven_store *s);

/* The message of the last failed haven_store_open/migrate/schema_version/write/read/ping
 * on the calling thread ("" when none failed yet). It names what went wrong (for a
 * failed write, the failing statement's database message) and never contains parameter
 * values or passwords. Valid until the thread's next store call. */
const char *haven_store_last_error(void);

typedef int (*haven_tx_fn)(struct haven_tx *tx, void *arg);
typedef int (*haven_row_fn)(const struct haven_row *row, void *arg);

/* Both return fn's non-zero result when fn fails (its changes are then undone), or a
 * store error. A non-zero fn result must be negative (a haven_err) to be told apart
 * from success by the usual `if (rc < 0)` checks; positive values are passed through. */
int haven_store_write(struct haven_store *s, haven_tx_fn fn, void *arg) HAVEN_WUR;
/* haven_store_write without waiting, for callers that must not hold a thread while the
 * group commits (the HTTP server's deferred replies, docs/storage.md): queues fn and
 * returns 0 at once; done(ctx, rc, err) then runs on the store's writer thread after
 * fn's group has committed (rc 0) or failed (rc and a message in err). done must be
 * quick and must not call the store; arg must stay valid until done runs. A non-zero
 * return means nothing was queued and done will not run (the store is closing). */
typedef void (*haven_write_done_fn)(void *ctx, int rc, const char *err);
int haven_store_write_async(struct haven_store *s, haven_tx_fn fn, void *arg,
                            haven_write_done_fn done, void *ctx) HAVEN_WUR;
int haven_store_read(struct haven_store *s, haven_tx_fn fn, void *arg) HAVEN_WUR;
/* haven_store_read for a closure that runs exactly one statement (a second one fails with
 * HAVEN_EINVAL): the statement is its own snapshot, so no BEGIN or COMMIT is sent. On
 * PostgreSQL that is one round trip instead of two (the per-request session lookup). */
int haven_store_read_one(struct haven_store *s, haven_tx_fn fn, void *arg) HAVEN_WUR;

enum haven_store_kind haven_tx_kind(const struct haven_tx *tx);

/* The head of the audit chain as a write transaction knows it (audit.c's memo). The audit
 * log's append lock is held until the transaction ends, so after one append the next
 * append in the same transaction (another closure of the same group) can take the head
 * from here instead of locking and reading it again. The store forgets the memo when a
 * new transaction begins, and puts back its earlier value when a failed closure's changes
 * are undone. NULL in a read transaction. */
struct haven_tx_chain {
	int known;
	int64_t id;
	uint8_t hash[32];
};
struct haven_tx_chain *haven_tx_chain(struct haven_tx *tx);

/* Runs one statement (no ';'-separated lists); *changes (optional) receives the
 * affected row count. A uniqueness violation returns HAVEN_ECONFLICT, a foreign-key
 * violation HAVEN_EINVAL, other database errors HAVEN_EDB (with the message in
 * haven_tx_errmsg); a wrong parameter count is HAVEN_EINVAL. A failed statement undoes
 * only itself on both backends (PostgreSQL runs each write statement under a savepoint),
 * so a closure may handle HAVEN_ECONFLICT and go on. */
int haven_tx_exec(struct haven_tx *tx, const char *sql, const struct haven_param *params,
		  size_t nparams, int64_t *changes) HAVEN_WUR;
/* haven_tx_exec for a write statement whose outcome the closure does not need at once.
 * On PostgreSQL, in a write transaction, it is sent without waiting for the server's
 * answer, which is read with the closure's next statement (in that statement's round trip)
 * or when the closure returns: a statement costs no round trip of its own. A failure is
 * reported then: the next statement returns it (the failed statement is undone alone, as
 * any failed statement, and the next one did not run), or, when the closure has returned,
 * the closure fails with it (all its changes undone). So use it only for statements whose
 * failure the closure would not handle (not for an insert whose HAVEN_ECONFLICT it
 * expects). It runs at once (as haven_tx_exec) the first time a statement runs on a
 * connection (that run prepares it), in a read, and on SQLite, where the result may then
 * come from this call. */
int haven_tx_exec_pipelined(struct haven_tx *tx, const char *sql, const struct haven_param *params,
                            size_t nparams) HAVEN_WUR;
/* Runs a query and calls fn for each row; a non-zero return from fn stops the query and
 * is returned. */
int haven_tx_query(struct haven_tx *tx, const char *sql, const struct haven_param *params,
		   size_t nparams, haven_row_fn fn, void *arg) HAVEN_WUR;
/* Convenience: runs a query expected to return at most one row with one integer column.
 * Returns HAVEN_ENOTFOUND when there is no row. */
int haven_tx_query_int(struct haven_tx *tx, const char *sql, const struct haven_param *params,
		       size_t nparams, int64_t *out) HAVEN_WUR;
/* The last database error message on this transaction (never contains parameter values). */
const char *haven_tx_errmsg(const struct haven_tx *tx);

int haven_row_count(const struct haven_row *r);
int haven_row_is_null(const struct haven_row *r, int col);
int64_t haven_row_int(const struct haven_row *r, int col);
/* NUL-terminated; *len (optional) gets the byte length. NULL column -> NULL. */
const char *haven_row_text(const struct haven_row *r, int col, size_t *len);
/* The bytes of a BLOB/BYTEA column; NULL for a NULL column, a non-NULL pointer (with
 * *len 0) for an empty one. Integer columns read as 0 when NULL. A col outside
 * 0..haven_row_count()-1 is a bug (assertion). */
const void *haven_row_blob(const struct haven_row *r, int col, size_t *len);

/* Store statistics for /metrics and benchmarks. */
struct haven_store_stats {
	uint64_t writes;          /* closures committed */
	uint64_t transactions;    /* group transactions committed */
	uint64_t write_errors;
	uint64_t reads;
	uint64_t checkpoints;        /* SQLite: WAL checkpoints run by the checkpoint thread */
	uint64_t writer_checkpoints; /* SQLite: ... run by the writer (the WAL grew too far) */
};
void haven_store_stats(struct haven_store *s, struct haven_store_stats *out);

#endif
