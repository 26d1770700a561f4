/*
 * sqlite.c: the embedded SQLite backend.
 *
 * The database runs in WAL mode with synchronous=FULL, so a COMMIT returns only after
 * the WAL is fsync'ed: a committed write survives a crash or power loss. fsync is the
 * cost that matters, so writes are group-committed: one writer thread owns the only
 * write connection and a queue. haven_store_write() queues its closure and sleeps; the
 * writer takes up to group_max queued closures, runs them in one BEGIN IMMEDIATE
 * transaction, each inside its own SAVEPOINT (a failing closure is rolled back to its
 * savepoint, undoing only its own changes), COMMITs once (one fsync for the group) and
 * wakes every caller with its own result. While one group commits, the next one queues,
 * so the group size grows by itself with the load.
 *
 * Reads use a pool of read-only connections; WAL lets them read a consistent snapshot
 * while the writer writes. Every connection keeps a small cache of prepared statements.
 * SQLITE_BUSY (another process holding the write lock, a checkpoint) is retried here and
 * never reaches the caller as "database is locked".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store_int.h"

#define STMT_CACHE_SIZE 64
/* How long the writer keeps retrying a write lock held by another process. */
#define WRITE_LOCK_PATIENCE_MS 60000

struct cached_stmt {
	char *sql;
	uint64_t hash;
	sqlite3_stmt *stmt;
	uint64_t last_used;
	int in_use;
};

struct sconn {
	sqlite3 *db;
	char abort_msg[HAVEN__ERRLEN]; /* why SQLite rolled the transaction back */
	struct cached_stmt cache[STMT_CACHE_SIZE];
	uint64_t tick;
	struct sconn *next_free;
};


struct sq {
	struct haven_store *store;
	char *path;
	struct sconn wconn;

	struct haven__writer writer;

	/* Checkpoints run on a connection and thread of their own (see wal_hook). */
	struct sconn cconn;
	pthread_t ckpt_thread;
	int ckpt_started;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_cond;
	int ckpt_wanted, ckpt_stop;
	int ckpt_to;  /* WAL frames the thread's last checkpoint reached (under ckpt_lock) */
	int wal_last; /* the WAL's frames after the last commit (writer thread only) */

	pthread_mutex_t rlock; /* guards free_readers and the waiters */
	struct sconn *readers;
	int nreaders;
	struct sconn *free_readers;
	struct reader_waiter *wait_head, *wait_tail;
};

/* A thread waiting for a read connection. Connections go to waiters in arrival order: with
 * more reading threads than connections, a plain condition variable lets a thread that
 * just finished take its connection straight back while others wait on. */
struct reader_waiter {
	pthread_cond_t cond;
	struct sconn *got;
	struct reader_waiter *next;
};

/* A statement in use: where it came from, so release() knows to reset or finalize it. */
struct stmt_ref {
	sqlite3_stmt *stmt;
	struct cached_stmt *cached; /* NULL: finalize after use */
};

static uint64_t hash_sql(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Maps a failed SQLite call to a haven_err and a message in tx. SQLite's messages name
 * constraints and columns, never the values bound to a statement. */
static int map_error(struct haven_tx *tx, sqlite3 *db, int rc)
{
	int ext = sqlite3_extended_errcode(db);
	const char *msg = sqlite3_errmsg(db);
	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return haven__tx_fail(tx, HAVEN_ECONFLICT, "sqlite: %s", msg);
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		return haven__tx_fail(tx, HAVEN_EINVAL, "sqlite: %s", msg);
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return haven__tx_fail(tx, HAVEN_EBUSY, "sqlite: the database stayed busy");
	if ((rc & 0xff) == SQLITE_NOMEM)
		return haven__tx_fail(tx, HAVEN_ENOMEM, "sqlite: out of memory");
	return haven__tx_fail(tx, HAVEN_EDB, "sqlite: %s", msg);
}

/* Gets a prepared statement for sql, from the connection's cache when it is not busy. */
static int stmt_get(struct haven_tx *tx, struct sconn *c, const char *sql, struct stmt_ref *ref)
{
	uint64_t h = hash_sql(sql);
	struct cached_stmt *slot = NULL, *victim = NULL;
	const char *tail = NULL;
	int rc, nested = 0;

	ref->stmt = NULL;
	ref->cached = NULL;
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		struct cached_stmt *e = &c->cache[i];
		if (e->sql && e->hash == h && !strcmp(e->sql, sql)) {
			if (e->in_use) {
				/* A nested use of the same text (a query inside a row callback):
				 * a fresh statement, finalized after use. */
				nested = 1;
				break;
			}
			e->in_use = 1;
			e->last_used = ++c->tick;
			ref->stmt = e->stmt;
			ref->cached = e;
			return 0;
		}
		if (!e->in_use &&
		    (!victim || !e->sql || (victim->sql && e->last_used < victim->last_used)))
			victim = e;
	}
	sqlite3_stmt *stmt = NULL;
	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
	if (rc != SQLITE_OK)
		return map_error(tx, c->db, rc);
	if (!stmt)
		return haven__tx_fail(tx, HAVEN_EINVAL, "empty SQL statement");
	if (tail && !haven__sql_blank(tail)) {
		sqlite3_finalize(stmt);
		return haven__tx_fail(
		    tx, HAVEN_EINVAL,
		    "more than one SQL statement in one call (run them one by one)");
	}
	slot = nested ? NULL : victim;
	if (slot) {
		char *copy = strdup(sql);
		if (copy) {
			if (slot->sql) {
				sqlite3_finalize(slot->stmt);
				free(slot->sql);
			}
			slot->sql = copy;
			slot->hash = h;
			slot->stmt = stmt;
			slot->in_use = 1;
			slot->last_used = ++c->tick;
			ref->cached = slot;
		}
	}
	ref->stmt = stmt;
	return 0;
}

static void stmt_release(struct stmt_ref *ref)
{
	if (!ref->stmt)
		return;
	if (ref->cached) {
		sqlite3_reset(ref->stmt);
		sqlite3_clear_bindings(ref->stmt);
		ref->cached->in_use = 0;
	} else {
		sqlite3_finalize(ref->stmt);
	}
	ref->stmt = NULL;
}

static void conn_close(struct sconn *c)
{
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		if (c->cache[i].sql) {
			sqlite3_finalize(c->cache[i].stmt);
			free(c->cache[i].sql);
			c->cache[i].sql = NULL;
		}
	}
	if (c->db)
		sqlite3_close_v2(c->db);
	c->db = NULL;
}

static int bind_params(struct haven_tx *tx, sqlite3_stmt *stmt, const struct haven_param *p,
                       size_t n)
{
	int want = sqlite3_bind_parameter_count(stmt);
	if ((size_t)want != n)
		return haven__tx_fail(tx, HAVEN_EINVAL,
		                      "the statement has %d parameters but %zu were given", want,
		                      n);
	for (size_t i = 0; i < n; i++) {
		int col = (int)i + 1, rc = SQLITE_OK;
		switch (p[i].type) {
		case HAVEN_PARAM_NULL:
			rc = sqlite3_bind_null(stmt, col);
			break;
		case HAVEN_PARAM_INT:
			rc = sqlite3_bind_int64(stmt, col, p[i].i);
			break;
		case HAVEN_PARAM_TEXT:
			/* Parameters live for the call only and the statement is reset and
			 * unbound before returning, so SQLite need not copy them. */
			rc = sqlite3_bind_text64(stmt, col, p[i].p ? p[i].p : "", p[i].len,
			                         SQLITE_STATIC, SQLITE_UTF8);
			break;
		case HAVEN_PARAM_BLOB:
			/* A NULL pointer would bind SQL NULL; an empty blob stays a blob. */
			rc = sqlite3_bind_blob64(stmt, col, p[i].p ? p[i].p : "", p[i].len,
			                         SQLITE_STATIC);
			break;
		default:
			return haven__tx_fail(tx, HAVEN_EINVAL, "parameter %d has an unknown type",
			                      col);
		}
		if (rc != SQLITE_OK)
			return map_error(tx, sqlite3_db_handle(stmt), rc);
	}
	return 0;
}

/* Steps once, waiting out SQLITE_BUSY when no row has been delivered yet. */
static int step_retry(sqlite3_stmt *stmt, int delivered, int patience_ms)
{
	int waited = 0, pause = 1;
	for (;;) {
		int rc = sqlite3_step(stmt);
		if ((rc & 0xff) != SQLITE_BUSY || delivered || waited >= patience_ms)
			return rc;
		sqlite3_reset(stmt);
		sleep_ms(pause);
		waited += pause;
		pause = pause < 64 ? pause * 2 : 64;
	}
}

/* ---- Rows ---- */

static int row_count(const struct haven_row *r)
{
	return sqlite3_column_count(r->impl);
}

static int row_is_null(const struct haven_row *r, int col)
{
	return sqlite3_column_type(r->impl, col) == SQLITE_NULL;
}

static int64_t row_int(const struct haven_row *r, int col)
{
	return sqlite3_column_int64(r->impl, col);
}

static const char *row_text(const struct haven_row *r, int col, size_t *len)
{
	const char *t = NULL;
	if (sqlite3_column_type(r->impl, col) != SQLITE_NULL) {
		t = (const char *)sqlite3_column_text(r->impl, col);
		if (!t)
			t = "";
	}
	if (len)
		*len = t ? (size_t)sqlite3_column_bytes(r->impl, col) : 0;
	return t;
}

static const void *row_blob(const struct haven_row *r, int col, size_t *len)
{
	const void *b = NULL;
	if (sqlite3_column_type(r->impl, col) != SQLITE_NULL) {
		b = sqlite3_column_blob(r->impl, col);
		if (!b)
			b = ""; /* an empty blob is not NULL */
	}
	if (len)
		*len = b ? (size_t)sqlite3_column_bytes(r->impl, col) : 0;
	return b;
}

static const struct haven__row_ops sqlite_row_ops = {
    row_count, row_is_null, row_int, row_text, row_blob,
};

/* ---- Statements ---- */

static int run(struct haven_tx *tx, const char *sql, const struct haven_param *params,
               size_t nparams, int64_t *changes, haven_row_fn fn, void *arg, int is_control)
{
	struct sconn *c = tx->conn;
	struct stmt_ref ref;
	int rc, delivered = 0;
	int patience = tx->store->busy_timeout_ms;

	/* After an error that made SQLite roll the whole transaction back (disk full, I/O
	 * error), a closure's next statements would run in autocommit mode, each committed
	 * at once outside the group: refuse them instead. */
	if (!is_control && !tx->readonly && sqlite3_get_autocommit(c->db))
		return haven__tx_fail(tx, HAVEN_EDB,
		                      "sqlite: the transaction was rolled back by an earlier "
		                      "error: %s",
		                      c->abort_msg[0] ? c->abort_msg : "unknown");
	rc = stmt_get(tx, c, sql, &ref);
	if (rc)
		return rc;
	rc = bind_params(tx, ref.stmt, params, nparams);
	if (rc)
		goto out;
	for (;;) {
		int s = step_retry(ref.stmt, delivered, patience);
		if (s == SQLITE_DONE)
			break;
		if (s != SQLITE_ROW) {
			rc = map_error(tx, c->db, s);
			if (!is_control && !tx->readonly && sqlite3_get_autocommit(c->db))
				haven_strlcpy(c->abort_msg, tx->errmsg, sizeof(c->abort_msg));
			goto out;
		}
		if (fn) {
			struct haven_row row = {&sqlite_row_ops, ref.stmt, delivered};
			rc = fn(&row, arg);
			if (rc)
				goto out;
		}
		delivered++;
	}
	if (changes)
		*changes = sqlite3_changes64(c->db);
out:
	stmt_release(&ref);
	return rc;
}

static int sq_exec(struct haven_tx *tx, const char *sql, const struct haven_param *params,
                   size_t nparams, int64_t *changes)
{
	return run(tx, sql, params, nparams, changes, NULL, NULL, 0);
}

static int sq_query(struct haven_tx *tx, const char *sql, const struct haven_param *params,
                    size_t nparams, haven_row_fn fn, void *arg)
{
	return run(tx, sql, params, nparams, NULL, fn, arg, 0);
}

static const struct haven__tx_ops sqlite_tx_ops = {sq_exec, sq_query, NULL};

/* Runs a control statement (BEGIN, SAVEPOINT, COMMIT, ...) on c. */
static int control(struct haven_tx *tx, const char *sql)
{
	return run(tx, sql, NULL, 0, NULL, NULL, NULL, 1);
}

static void tx_init(struct haven_tx *tx, struct sq *q, struct sconn *c, int readonly)
{
	memset(tx, 0, sizeof(*tx));
	tx->ops = &sqlite_tx_ops;
	tx->store = q->store;
	tx->kind = HAVEN_STORE_SQLITE;
	tx->readonly = readonly;
	tx->conn = c;
}

/* ---- The writer ---- */


/* BEGIN IMMEDIATE takes the write lock now, so no statement inside the group can hit
 * SQLITE_BUSY later; another process holding the lock is waited out here. */
static int begin_immediate(struct haven_tx *tx)
{
	int waited = 0;
	for (;;) {
		int rc = control(tx, "BEGIN IMMEDIATE");
		if (rc != HAVEN_EBUSY || waited >= WRITE_LOCK_PATIENCE_MS)
			return rc == HAVEN_EBUSY
			           ? haven__tx_fail(tx, rc,
			                            "sqlite: another process kept the "
			                            "database write lock for over a "
			                            "minute")
			           : rc;
		sleep_ms(10);
		waited += 10 + tx->store->busy_timeout_ms;
	}
}

static int commit(struct haven_tx *tx)
{
	for (int tries = 0;; tries++) {
		int rc = control(tx, "COMMIT");
		if (rc != HAVEN_EBUSY || tries > 100)
			return rc;
		sleep_ms(10);
	}
}

static void run_group(void *ctx, struct haven__write_req **group, int n)
{
	struct sq *q = ctx;
	struct haven_tx tx;
	sqlite3 *db = q->wconn.db;
	int start = 0, active = 0, rc;
	char msg[HAVEN__ERRLEN];

	tx_init(&tx, q, &q->wconn, 0);
	for (int i = 0; i < n; i++) {
		struct haven__write_req *r = group[i];
		if (!active) {
			memset(&tx.chain, 0, sizeof(tx.chain));
			q->wconn.abort_msg[0] = '\0';
			rc = begin_immediate(&tx);
			if (rc) {
				for (int j = i; j < n; j++)
					haven__write_req_fail(group[j], rc, tx.errmsg);
				return;
			}
			active = 1;
			start = i;
		}
		struct haven_tx_chain chain = tx.chain;
		rc = control(&tx, "SAVEPOINT haven_write");
		if (rc) {
			haven__write_req_fail(r, rc, tx.errmsg);
			continue;
		}
		tx.errmsg[0] = '\0';
		haven__in_closure++;
		rc = r->fn(&tx, r->arg);
		haven__in_closure--;
		if (sqlite3_get_autocommit(db)) {
			/* SQLite rolled the whole transaction back (disk full, I/O error):
			 * every closure that shared it lost its changes. */
			snprintf(msg, sizeof(msg),
			         "sqlite: the transaction was rolled back: %.200s",
			         q->wconn.abort_msg[0] ? q->wconn.abort_msg : sqlite3_errmsg(db));
			for (int j = start; j < i; j++)
				if (group[j]->rc == 0)
					haven__write_req_fail(group[j], HAVEN_EDB, msg);
			haven__write_req_fail(r, rc ? rc : HAVEN_EDB, rc && tx.errmsg[0] ? tx.errmsg : msg);
			active = 0;
			continue;
		}
		if (rc) {
			haven__write_req_fail(r, rc, tx.errmsg);
			/* Undo this closure only; the others' savepoints were released. */
			tx.chain = chain;
			if (control(&tx, "ROLLBACK TO haven_write") ||
			    control(&tx, "RELEASE haven_write")) {
				snprintf(msg, sizeof(msg), "%s", tx.errmsg);
				for (int j = start; j < i; j++)
					if (group[j]->rc == 0)
						haven__write_req_fail(group[j], HAVEN_EDB, msg);
				sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
				active = 0;
			}
			continue;
		}
		r->rc = 0;
		if (control(&tx, "RELEASE haven_write")) {
			haven__write_req_fail(r, HAVEN_EDB, tx.errmsg);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			for (int j = start; j < i; j++)
				if (group[j]->rc == 0)
					haven__write_req_fail(group[j], HAVEN_EDB, tx.errmsg);
			active = 0;
		}
	}
	if (!active)
		goto count;
	rc = commit(&tx);
	if (rc) {
		/* Nothing in the group is durable: every closure gets the error. */
		snprintf(msg, sizeof(msg), "commit failed: %.200s", tx.errmsg);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		for (int j = start; j < n; j++)
			if (group[j]->rc == 0)
				haven__write_req_fail(group[j], rc, msg);
	} else {
		haven__stat_add(&q->store->transactions, 1);
	}
count:
	haven__writer_count(q->store, group, n);
}

static struct haven__writer *sq_writer(struct haven_store *s)
{
	struct sq *q = s->impl;
	return &q->writer;
}

/* ---- Readers ---- */

static int sq_read(struct haven_store *s, haven_tx_fn fn, void *arg, int flags, char *err,
                   size_t errlen)
{
	struct sq *q = s->impl;
	struct sconn *c;
	struct haven_tx tx;
	int rc;

	pthread_mutex_lock(&q->rlock);
	if (q->free_readers) {
		c = q->free_readers;
		q->free_readers = c->next_free;
	} else {
		struct reader_waiter w = {.got = NULL, .next = NULL};
		pthread_cond_init(&w.cond, NULL);
		if (q->wait_tail)
			q->wait_tail->next = &w;
		else
			q->wait_head = &w;
		q->wait_tail = &w;
		while (!w.got)
			pthread_cond_wait(&w.cond, &q->rlock);
		pthread_cond_destroy(&w.cond);
		c = w.got;
	}
	pthread_mutex_unlock(&q->rlock);

	tx_init(&tx, q, c, 1);
	/* BEGIN makes every statement of the closure read one snapshot; a single statement
	 * is one already. */
	tx.one_statement = (flags & HAVEN__READ_ONE) != 0;
	rc = tx.one_statement ? 0 : control(&tx, "BEGIN");
	if (rc)
		goto out;
	tx.errmsg[0] = '\0';
	haven__in_closure++;
	rc = fn(&tx, arg);
	haven__in_closure--;
	if (!sqlite3_get_autocommit(c->db)) {
		char keep[HAVEN__ERRLEN];
		haven_strlcpy(keep, tx.errmsg, sizeof(keep));
		if (control(&tx, rc ? "ROLLBACK" : "COMMIT") && !rc)
			rc = HAVEN_EDB;
		else
			haven_strlcpy(tx.errmsg, keep, sizeof(tx.errmsg));
	}
	haven__stat_add(&s->reads, 1);
out:
	if (rc)
		snprintf(err, errlen, "%s", tx.errmsg[0] ? tx.errmsg : haven_strerror(rc));
	pthread_mutex_lock(&q->rlock);
	struct reader_waiter *w = q->wait_head;
	if (w) {
		q->wait_head = w->next;
		if (!q->wait_head)
			q->wait_tail = NULL;
		w->got = c;
		pthread_cond_signal(&w->cond);
	} else {
		c->next_free = q->free_readers;
		q->free_readers = c;
	}
	pthread_mutex_unlock(&q->rlock);
	return rc;
}

/* ---- Opening ---- */

/* SQLite counts every allocation under one process-wide mutex unless told not to; with
 * many threads each using a connection of its own, that mutex is the one they all share.
 * Haven never reads those counts. The setting must come before SQLite initialises; when
 * something else initialised it first, sqlite3_config refuses and nothing changes. */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_configure(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int open_conn(struct sq *q, struct sconn *c, int readonly, char *err, size_t errlen)
{
	pthread_once(&sqlite_once, sqlite_configure);
	int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
	            SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int rc = sqlite3_open_v2(q->path, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: cannot open '%s': %s", q->path,
		         c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		return (rc & 0xff) == SQLITE_CANTOPEN ? HAVEN_EIO : HAVEN_EDB;
	}
	sqlite3_busy_timeout(c->db, q->store->busy_timeout_ms);
	sqlite3_extended_result_codes(c->db, 1);
	return 0;
}

/* Runs a PRAGMA and copies its first result column (if any) into out. */
static int pragma(struct sq *q, struct sconn *c, const char *sql, char *out, size_t outlen,
                  char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = step_retry(st, 0, q->store->busy_timeout_ms);
		if (rc == SQLITE_ROW && out) {
			const char *t = (const char *)sqlite3_column_text(st, 0);
			haven_strlcpy(out, t ? t : "", outlen);
		}
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		int base = rc & 0xff;
		if (base == SQLITE_NOTADB || base == SQLITE_CORRUPT) {
			snprintf(err, errlen,
			         "sqlite: '%s' is not a SQLite database or is corrupt (%s)",
			         q->path, sqlite3_errmsg(c->db));
			rc = HAVEN_ECORRUPT;
		} else {
			snprintf(err, errlen, "sqlite: '%s': %s failed: %s", q->path, sql,
			         sqlite3_errmsg(c->db));
			rc = (base == SQLITE_BUSY) ? HAVEN_EBUSY : HAVEN_EDB;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* The directory must exist: creating it would hide a mistyped path. */
static int check_path(const char *path, char *err, size_t errlen)
{
	struct stat st;
	const char *slash = strrchr(path, '/');
	if (slash && slash != path) {
		size_t n = (size_t)(slash - path);
		char *dir = malloc(n + 1);
		if (!dir)
			return HAVEN_ENOMEM;
		memcpy(dir, path, n);
		dir[n] = '\0';
		int missing = stat(dir, &st) != 0, notdir = !missing && !S_ISDIR(st.st_mode);
		if (missing || notdir)
			snprintf(err, errlen, "sqlite: directory '%s' %s", dir,
			         missing ? "does not exist (create it first)"
			                 : "is not a directory");
		free(dir);
		if (missing || notdir)
			return missing ? HAVEN_ENOTFOUND : HAVEN_EINVAL;
	}
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "sqlite: '%s' is a directory, not a database file",
			         path);
			return HAVEN_EINVAL;
		}
		return 0;
	}
	/* A new database is created readable by its owner only: it holds account data, and
	 * SQLite gives the -wal and -shm files the database file's permissions. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "sqlite: cannot create '%s': %s", path, strerror(e));
		return haven_err_from_errno(e);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

static void sq_close(struct haven_store *s);

/* WAL checkpoints. SQLite's own autocheckpoint runs in the committing connection, so every
 * thousandth page or so one commit of the writer also copied the WAL into the database and
 * fsynced it, and every request of that group waited: it made most of the p99 of a chat
 * turn (bench/README.md, 2026-12-07). Here the writer's commit only notes the WAL's size;
 * once CKPT_PAGES pages have been added since the last checkpoint reached, a thread with its
 * own connection runs a PASSIVE checkpoint (it never blocks the writer or readers; the WAL
 * restarts from its beginning at the first write after a complete one, which under a
 * steady load rarely comes). Past CKPT_HARD_PAGES (64 MiB, the journal_size_limit) the
 * writer checkpoints itself, as SQLite would, copying what the thread has not yet copied,
 * and the WAL restarts: it cannot grow without bound. Both are counted in /metrics. */
#define CKPT_PAGES 1000
#define CKPT_HARD_PAGES 16000

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq *q = arg;
	if (pages >= CKPT_HARD_PAGES) {
		if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) ==
		    SQLITE_OK)
			haven__stat_add(&q->store->writer_checkpoints, 1);
	} else {
		pthread_mutex_lock(&q->ckpt_lock);
		if (pages < q->wal_last)
			q->ckpt_to = 0; /* the WAL restarted from its beginning */
		if (!q->ckpt_wanted && pages - q->ckpt_to >= CKPT_PAGES) {
			q->ckpt_wanted = 1;
			pthread_cond_signal(&q->ckpt_cond);
		}
		pthread_mutex_unlock(&q->ckpt_lock);
	}
	q->wal_last = pages;
	return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
	struct sq *q = arg;
	for (;;) {
		pthread_mutex_lock(&q->ckpt_lock);
		while (!q->ckpt_wanted && !q->ckpt_stop)
			pthread_cond_wait(&q->ckpt_cond, &q->ckpt_lock);
		int stop = q->ckpt_stop;
		q->ckpt_wanted = 0;
		pthread_mutex_unlock(&q->ckpt_lock);
		if (stop)
			break;
		/* SQLITE_BUSY (another checkpoint under way) or an I/O error: the next
		 * commit past CKPT_PAGES asks again. */
		int log = 0, done = 0;
		if (sqlite3_wal_checkpoint_v2(q->cconn.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
		                              &done) == SQLITE_OK) {
			haven__stat_add(&q->store->checkpoints, 1);
			pthread_mutex_lock(&q->ckpt_lock);
			q->ckpt_to = done > 0 ? done : 0;
			pthread_mutex_unlock(&q->ckpt_lock);
		}
	}
	return NULL;
}

static int ckpt_start(struct sq *q, char *err, size_t errlen)
{
	int rc = open_conn(q, &q->cconn, 0, err, errlen);
	/* A connection learns that the database is in WAL mode at its first read; until
	 * then sqlite3_wal_checkpoint_v2() on it returns SQLITE_OK having done nothing
	 * (its frame counts are -1), and until 2026-12-07 every checkpoint of this thread
	 * did just that. Read once so that it is a WAL connection from the start. */
	if (!rc)
		rc = pragma(q, &q->cconn, "PRAGMA schema_version", NULL, 0, err, errlen);
	if (rc)
		return rc;
	if (pthread_create(&q->ckpt_thread, NULL, ckpt_main, q)) {
		snprintf(err, errlen, "sqlite: could not start the checkpoint thread");
		return HAVEN_ENOMEM;
	}
	q->ckpt_started = 1;
	/* Replaces the autocheckpoint (which is itself a WAL hook). */
	sqlite3_wal_hook(q->wconn.db, wal_hook, q);
	return 0;
}

static void ckpt_stop(struct sq *q)
{
	if (q->ckpt_started) {
		sqlite3_wal_hook(q->wconn.db, NULL, NULL);
		haven__thread_stop(&q->ckpt_lock, &q->ckpt_cond, &q->ckpt_stop, q->ckpt_thread);
		q->ckpt_started = 0;
	}
	conn_close(&q->cconn);
}

static int sq_open(struct haven_store *s, const char *url, char *err, size_t errlen)
{
	const char *path = url + strlen("sqlite:");
	char mode[32] = "";
	struct sq *q;
	int rc;

	if (!*path) {
		snprintf(err, errlen,
		         "sqlite URL has no path (expected sqlite:PATH, e.g. "
		         "sqlite:var/haven.db)");
		return HAVEN_EINVAL;
	}
	if (!strcmp(path, ":memory:") || !strncmp(path, "file:", 5)) {
		snprintf(err, errlen,
		         "sqlite: in-memory and URI databases are not supported "
		         "(give a file path)");
		return HAVEN_EUNSUPPORTED;
	}
	rc = check_path(path, err, errlen);
	if (rc)
		return rc;
	q = haven_calloc(1, sizeof(*q));
	if (!q)
		return HAVEN_ENOMEM;
	s->impl = q;
	q->store = s;
	pthread_mutex_init(&q->rlock, NULL);
	pthread_mutex_init(&q->ckpt_lock, NULL);
	pthread_cond_init(&q->ckpt_cond, NULL);
	q->path = strdup(path);
	q->readers = haven_calloc((size_t)s->read_pool, sizeof(*q->readers));
	if (!q->path || !q->readers) {
		rc = HAVEN_ENOMEM;
		goto out;
	}

	rc = open_conn(q, &q->wconn, 0, err, errlen);
	if (rc)
		goto out;
	/* Reading the header first tells a foreign or damaged file apart clearly. */
	rc = pragma(q, &q->wconn, "PRAGMA journal_mode=WAL", mode, sizeof(mode), err, errlen);
	if (rc)
		goto out;
	if (strcmp(mode, "wal")) {
		snprintf(err, errlen, "sqlite: '%s' could not switch to WAL mode (mode is %s)",
		         path, mode);
		rc = HAVEN_EDB;
		goto out;
	}
	/* FULL: every COMMIT fsyncs the WAL, so an acknowledged write is durable. */
	rc = pragma(q, &q->wconn, "PRAGMA synchronous=FULL", NULL, 0, err, errlen);
	if (!rc)
		rc = pragma(q, &q->wconn, "PRAGMA foreign_keys=ON", NULL, 0, err, errlen);
	/* Deleted rows (an erased patient's wrapped key, a revoked session) are overwritten
	 * with zeros in the database pages instead of lingering in free space. */
	if (!rc)
		rc = pragma(q, &q->wconn, "PRAGMA secure_delete=ON", NULL, 0, err, errlen);
	/* After a burst, the WAL file shrinks back to 64 MiB at the next checkpoint reset
	 * instead of keeping its largest size forever. */
	if (!rc)
		rc = pragma(q, &q->wconn, "PRAGMA journal_size_limit=67108864", NULL, 0, err,
		            errlen);
	if (!rc)
		rc = pragma(q, &q->wconn, "SELECT count(*) FROM sqlite_master", NULL, 0, err,
		            errlen);
	if (rc)
		goto out;

	for (int i = 0; i < s->read_pool; i++) {
		struct sconn *c = &q->readers[i];
		rc = open_conn(q, c, 1, err, errlen);
		if (!rc)
			rc = pragma(q, c, "PRAGMA query_only=ON", NULL, 0, err, errlen);
		q->nreaders = i + 1;
		if (rc)
			goto out;
		c->next_free = q->free_readers;
		q->free_readers = c;
	}

	rc = ckpt_start(q, err, errlen);
	if (rc)
		goto out;
	rc = haven__writer_start(&q->writer, s->group_max, run_group, q);
	if (rc)
		snprintf(err, errlen, "sqlite: could not start the writer thread");
out:
	if (rc)
		sq_close(s);
	return rc;
}

static void sq_close(struct haven_store *s)
{
	struct sq *q = s->impl;
	if (!q)
		return;
	haven__writer_stop(&q->writer);
	ckpt_stop(q);
	for (int i = 0; i < q->nreaders; i++)
		conn_close(&q->readers[i]);
	conn_close(&q->wconn);
	pthread_mutex_destroy(&q->rlock);
	pthread_mutex_destroy(&q->ckpt_lock);
	pthread_cond_destroy(&q->ckpt_cond);
	free(q->readers);
	free(q->path);
	free(q);
	s->impl = NULL;
}

const struct haven__backend haven__sqlite_backend = {
    sq_open,
    sq_close,
    sq_writer,
    sq_read,
    NULL, /* watch_auth: other processes sharing the file announce nothing */
};
