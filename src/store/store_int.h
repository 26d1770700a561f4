/*
 * store_int.h: private to src/store. The store object and the backend vtable each
 * backend file (sqlite.c, pg.c) fills in, the transaction and row objects the backends
 * hand to callers' closures, SQL text helpers shared by both backends, and the
 * migration list.
 */
#ifndef HAVEN_STORE_INT_H
#define HAVEN_STORE_INT_H

#include <pthread.h>

#include "store/store.h"

struct haven__migration {
	int version;
	const char *name;
	const char *sqlite; /* one or more statements separated by ';' */
	const char *pg;
};

/* The migrations in version order. */
const struct haven__migration *haven__migrations(size_t *count);
/* haven_store_migrate() over the list given (tests use their own lists). */
int haven__store_migrate_list(struct haven_store *s, const struct haven__migration *ms, size_t n,
                              int *applied);

/* Room for one error message; messages never contain parameter values. */
#define HAVEN__ERRLEN 256

/* Write flags. ALONE: run the closure in a transaction of its own, never grouped with
 * other callers' closures (migrations: their DDL must commit or fail on its own). */
#define HAVEN__WRITE_ALONE 1
/* Read flags. ONE: the closure runs exactly one statement (haven_store_read_one). */
#define HAVEN__READ_ONE 1

struct haven__tx_ops {
	int (*exec)(struct haven_tx *tx, const char *sql, const struct haven_param *params,
	            size_t nparams, int64_t *changes);
	int (*query)(struct haven_tx *tx, const char *sql, const struct haven_param *params,
	             size_t nparams, haven_row_fn fn, void *arg);
	/* haven_tx_exec_pipelined; NULL when the backend runs it as exec. */
	int (*exec_pipelined)(struct haven_tx *tx, const char *sql,
	                      const struct haven_param *params, size_t nparams);
};

struct haven__row_ops {
	int (*count)(const struct haven_row *r);
	int (*is_null)(const struct haven_row *r, int col);
	int64_t (*int64)(const struct haven_row *r, int col);
	const char *(*text)(const struct haven_row *r, int col, size_t *len);
	const void *(*blob)(const struct haven_row *r, int col, size_t *len);
};

/* A transaction handed to a closure; lives on the stack of whoever runs the closure. */
struct haven_tx {
	const struct haven__tx_ops *ops;
	struct haven_store *store;
	enum haven_store_kind kind;
	int readonly;
	void *conn;    /* the backend's connection object */
	const char *begin; /* PostgreSQL: the command that begins the transaction */
	int savepoint; /* PostgreSQL: -1 not begun, 0 begun, 1 a statement savepoint (writes) */
	int closure;   /* PostgreSQL group: 1 the closure's savepoint is to open, 2 it is open */
	int release_closure; /* PostgreSQL group: the last closure's savepoint is to release */
	struct haven_tx_chain chain; /* see haven_tx_chain() */
	int one_statement; /* haven_store_read_one: a second statement is refused */
	int statements;    /* statements run so far */
	char errmsg[HAVEN__ERRLEN];
};

/* A row handed to a row callback; impl and index are the backend's. */
struct haven_row {
	const struct haven__row_ops *ops;
	void *impl;
	int index;
};

struct haven__backend {
	/* Opens the backend; on failure fills err with a message for people. */
	int (*open)(struct haven_store *s, const char *url, char *err, size_t errlen);
	/* Waits for queued work, closes every connection, frees s->impl. */
	void (*close)(struct haven_store *s);
	/* The writer thread that runs every write transaction (group commit, writer.c). */
	struct haven__writer *(*writer)(struct haven_store *s);
	/* Runs fn in a read-only snapshot; with HAVEN__READ_ONE fn runs one statement, which
	 * is its own snapshot, so the backend may skip BEGIN and COMMIT. */
	int (*read)(struct haven_store *s, haven_tx_fn fn, void *arg, int flags, char *err,
	            size_t errlen);
	/* Starts listening for changes of sessions and accounts (haven_store_watch_auth);
	 * NULL when the backend cannot announce other processes' changes. */
	int (*watch_auth)(struct haven_store *s);
};

struct haven_store {
	enum haven_store_kind kind;
	const struct haven__backend *be;
	void *impl;
	int read_pool, group_max, busy_timeout_ms; /* options with defaults resolved */
	/* Counters, updated with __atomic builtins. */
	uint64_t writes, transactions, write_errors, reads;
	uint64_t checkpoints, writer_checkpoints; /* SQLite: by the checkpoint thread, by the writer */
	/* haven_store_auth_epoch(): odd while the backend is listening for changes; +2 on a
	 * change, +1 when listening starts or stops. */
	uint64_t auth_epoch;
};

/* A change of sessions or accounts was seen (a notice, or the store's own commit). */
void haven__auth_changed(struct haven_store *s);
/* Listening for changes started (on = 1) or stopped (on = 0). */
void haven__auth_listening(struct haven_store *s, int on);

extern const struct haven__backend haven__sqlite_backend;
extern const struct haven__backend haven__pg_backend;

/* Non-zero while this thread runs a closure (a nested write/read would deadlock). */
extern _Thread_local int haven__in_closure;

/* Fills tx->errmsg (printf-style) and returns rc. */
int haven__tx_fail(struct haven_tx *tx, int rc, const char *fmt, ...) HAVEN_PRINTF(3, 4);
void haven__stat_add(uint64_t *counter, uint64_t n);
/* Sets *flag under lock, wakes the thread waiting on cond and joins it (the writer and the
 * SQLite checkpoint thread stop so). */
void haven__thread_stop(pthread_mutex_t *lock, pthread_cond_t *cond, int *flag, pthread_t thread);

/* SQL text scanning shared by the statement splitter and the PostgreSQL placeholder
 * rewriter: if sql[i] starts a quoted literal ('...'), a quoted identifier ("..."), a
 * dollar-quoted string ($tag$...$tag$) or a comment (-- or / *), returns the index just
 * past it (or the end of the text when it is unterminated); otherwise returns i. */
size_t haven__sql_skip(const char *sql, size_t i);
/* Calls fn for each statement of a ';'-separated script, trimmed, skipping empty ones;
 * stops at and returns fn's first non-zero result. */
int haven__sql_split(const char *sql, int (*fn)(const char *stmt, size_t len, void *arg),
                     void *arg);
/* 1 when sql[0..] holds nothing but white space, ';' and comments. */
int haven__sql_blank(const char *sql);

/* ---- Group commit (writer.c) ----
 * One writer thread per store runs queued write closures in groups, one transaction and
 * one durable commit per group. */
struct haven__write_req {
	haven_tx_fn fn;
	void *arg;
	int flags;
	int rc; /* set by run_group: 0 when the closure's changes were committed */
	int done;
	/* Asynchronous requests (haven_store_write_async): the writer calls done_fn after
	 * the group and frees the request; a waiting caller's request has done_fn NULL. */
	haven_write_done_fn done_fn;
	void *done_ctx;
	char err[HAVEN__ERRLEN];
	pthread_cond_t cond;
	struct haven__write_req *next;
};

/* Runs the n closures of a group and sets each request's rc (and err on failure). */
typedef void (*haven__run_group_fn)(void *ctx, struct haven__write_req **group, int n);

struct haven__writer {
	haven__run_group_fn run_group;
	void *ctx;
	int group_max;
	pthread_mutex_t lock; /* guards the queue and stopping */
	pthread_cond_t work;
	struct haven__write_req *head, *tail;
	int stopping, started, initialised;
	pthread_t thread;
	struct haven__write_req **group; /* the writer's scratch: group_max entries */
};

/* Starts the writer thread; on failure haven__writer_stop() still cleans up. */
int haven__writer_start(struct haven__writer *w, int group_max, haven__run_group_fn run_group,
                        void *ctx) HAVEN_WUR;
/* Queues a closure and waits until its group has committed or failed. */
int haven__writer_submit(struct haven__writer *w, haven_tx_fn fn, void *arg, int flags,
                         char *err, size_t errlen);
/* Queues a closure and returns at once; done(ctx, rc, err) runs on the writer thread
 * once its group has committed or failed. Non-zero (done never called) when the writer
 * is closing or memory is short. */
int haven__writer_submit_async(struct haven__writer *w, haven_tx_fn fn, void *arg,
                               haven_write_done_fn done, void *ctx, char *err, size_t errlen);
/* Runs what is queued, stops the thread and frees the writer's memory. */
void haven__writer_stop(struct haven__writer *w);
void haven__write_req_fail(struct haven__write_req *r, int rc, const char *msg);
/* Adds a finished group to the store's write and write-error counters. */
void haven__writer_count(struct haven_store *s, struct haven__write_req **group, int n);

#endif
