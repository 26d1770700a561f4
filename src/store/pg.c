/*
 * pg.c: the PostgreSQL backend, through libpq.
 *
 * A fixed-size pool of connections for reads (made on first use, guarded by a mutex and
 * a condition variable); each haven_store_read() is a REPEATABLE READ READ ONLY
 * transaction on one of them, one snapshot for the whole closure. Writes go through the
 * writer thread (writer.c) on a connection of its own: group commit, as on SQLite, with a
 * savepoint per closure. PostgreSQL would group concurrent commits' WAL flushes itself,
 * but audited writes serialise on the audit chain's lock until they commit, so without
 * grouping here each would pay its own flush under that lock.
 *
 * SQL arrives with '?' placeholders and is rewritten to $1..$n (not inside quoted text
 * or comments). Parameters go through PQexecParams: BLOBs in binary as bytea, everything
 * else as text; results come back as text and bytea's "\x" hex is decoded on access.
 * Inside a write transaction each statement runs under a savepoint, so a failed statement
 * undoes only itself and the closure may go on, as on SQLite. A transaction's BEGIN and
 * each statement's savepoint are sent in one libpq pipeline with the statement, so a
 * statement costs one round trip to the server, not two or three.
 *
 * A connection found broken (CONNECTION_BAD) is reset when it is next taken from the
 * pool. At open, the first schema named in search_path is created if missing, which lets
 * tests and deployments keep several Haven databases in one PostgreSQL database.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store/store_int.h"

/* Type OIDs from pg_type.h (server headers are not needed for these few). */
#define BOOLOID 16
#define BYTEAOID 17
#define INT8OID 20

/* A statement prepared on one connection, named "h<id>" there. */
struct prepared {
	uint64_t hash;
	char *key; /* the SQL, a NUL, then one letter per parameter's type */
	size_t keylen;
	unsigned id;
};

/* Statements prepared per connection, at most this many (the rest go unnamed). */
#define PREPARED_MAX 256

struct pconn {
	PGconn *conn;
	struct pconn *next_free;
	int pid; /* the server process the prepared statements belong to */
	int listening; /* LISTEN haven_auth was sent on this connection (the writer's) */
	struct prepared *prep;
	int nprep;
	unsigned next_id;
	/* Commands sent in pipeline mode whose results are not read yet: statements queued
	 * with haven_tx_exec_pipelined and their savepoint commands. The next statement's
	 * round trip, or the end of the closure (pipelined_flush), reads them. */
	int pipelined;
};

/* The most commands left unread on a connection; a statement that would pass it is
 * run at once instead. */
#define PIPELINED_MAX 24

/* send_pipeline's *failed_pre when a statement queued earlier failed. */
#define FAILED_PIPELINED (-2)

/* A thread waiting for a connection. Connections are handed to waiters first come,
 * first served: with more threads than connections, a plain condition variable lets a
 * thread that just released a connection take it straight back, and the tail latency of
 * the others grows without bound. */
struct pwaiter {
	pthread_cond_t cond;
	struct pconn *got;
	struct pwaiter *next;
};

struct pg {
	struct haven_store *store;
	char *url;
	pthread_mutex_t lock;
	struct pconn *conns;
	int nconns;
	struct pconn *free_list;
	struct pwaiter *wait_head, *wait_tail;
	struct pconn wconn; /* the writer thread's own connection, outside the pool */
	struct haven__writer writer;
	/* haven_store_watch_auth(): the listening thread and the pipe that stops it */
	int watching;
	char schema[128]; /* current_schema() of this store's connections */
	pthread_t listener;
	int stop_pipe[2];
};

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs ("schema already exists, skipping") are not errors */
}

static void copy_conn_error(PGconn *conn, char *out, size_t outlen)
{
	const char *m = conn ? PQerrorMessage(conn) : "out of memory";
	size_t n = strlen(m), w = 0;
	while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	/* One line, for logs: libpq puts hints on indented lines of their own. */
	for (size_t i = 0; i < n && w + 3 < outlen; i++) {
		if (m[i] == '\n') {
			out[w++] = ';';
			out[w++] = ' ';
			while (i + 1 < n && (m[i + 1] == '\t' || m[i + 1] == ' '))
				i++;
		} else {
			out[w++] = m[i];
		}
	}
	if (outlen)
		out[w < outlen ? w : outlen - 1] = '\0';
}

/* Runs a statement without parameters; returns 0 when it succeeded. */
static int simple(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	PQclear(res);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
}

/* Takes every notice libpq has read on conn; 1 when one was about this store's schema
 * (the triggers send the schema of the changed table: several Haven databases may share
 * one PostgreSQL database, each in a schema of its own). */
static int notices_drain(PGconn *conn, const char *schema)
{
	int ours = 0;
	PGnotify *n;
	while ((n = PQnotifies(conn))) {
		if (!n->extra || !strcmp(n->extra, schema))
			ours = 1;
		PQfreemem(n);
	}
	return ours;
}

/* Per-connection settings, applied after every (re)connect. */
static int conn_setup(PGconn *conn, char *err, size_t errlen)
{
	PQsetNoticeProcessor(conn, quiet_notices, NULL);
	/* synchronous_commit on: COMMIT returns only once the WAL is flushed, whatever the
	 * server's default, because Haven acknowledges a write when COMMIT returns. */
	if (simple(conn, "SET bytea_output = 'hex'; SET synchronous_commit = on")) {
		char m[HAVEN__ERRLEN];
		copy_conn_error(conn, m, sizeof(m));
		snprintf(err, errlen, "postgresql: connection setup failed: %.200s", m);
		return HAVEN_EDB;
	}
	return 0;
}

/* A new connection to g's server, named application_name in pg_stat_activity; the caller
 * checks PQstatus. Defaults first: parameters in the URL, expanded from dbname, override
 * them. Without a connect timeout an unreachable server would hang the caller for the
 * kernel's TCP timeout. */
static PGconn *connect_to(const struct pg *g, const char *application_name)
{
	static const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *values[] = {"10", application_name, g->url, NULL};
	return PQconnectdbParams(keys, values, 1);
}

/* Makes sure c holds a working connection in no transaction. */
static int conn_ready(struct pg *g, struct pconn *c, char *err, size_t errlen)
{
	char m[HAVEN__ERRLEN];
	if (!c->conn) {
		c->conn = connect_to(g, "haven");
		if (!c->conn || PQstatus(c->conn) != CONNECTION_OK)
			goto bad;
		goto fresh;
	}
	if (PQstatus(c->conn) == CONNECTION_BAD ||
	    PQpipelineStatus(c->conn) != PQ_PIPELINE_OFF ||
	    (PQtransactionStatus(c->conn) != PQTRANS_IDLE && simple(c->conn, "ROLLBACK"))) {
		PQreset(c->conn);
		if (PQstatus(c->conn) != CONNECTION_OK)
			goto bad;
		goto fresh;
	}
	return 0;
fresh:
	c->listening = 0; /* a new server session: LISTEN and settings are to be sent again */
	return conn_setup(c->conn, err, errlen);
bad:
	copy_conn_error(c->conn, m, sizeof(m));
	snprintf(err, errlen, "postgresql: cannot connect: %s", m);
	return HAVEN_EDB;
}

/* When a connection turns out to be dead on a transaction's first command (the server
 * restarted, or closed an idle connection), nothing has run yet: reconnect and let the
 * caller send that command again, so a server restart costs callers nothing. */
static int revive(PGconn *conn)
{
	char err[HAVEN__ERRLEN];
	if (PQstatus(conn) != CONNECTION_BAD)
		return -1;
	PQreset(conn);
	if (PQstatus(conn) != CONNECTION_OK || conn_setup(conn, err, sizeof(err)))
		return -1;
	return 0;
}

static void release(struct pg *g, struct pconn *c)
{
	pthread_mutex_lock(&g->lock);
	struct pwaiter *w = g->wait_head;
	if (w) {
		g->wait_head = w->next;
		if (!g->wait_head)
			g->wait_tail = NULL;
		w->got = c;
		pthread_cond_signal(&w->cond);
	} else {
		c->next_free = g->free_list;
		g->free_list = c;
	}
	pthread_mutex_unlock(&g->lock);
}

static int acquire(struct pg *g, struct pconn **out, char *err, size_t errlen)
{
	struct pconn *c;
	*out = NULL;
	pthread_mutex_lock(&g->lock);
	if (g->free_list) {
		c = g->free_list;
		g->free_list = c->next_free;
	} else {
		struct pwaiter w = {.got = NULL, .next = NULL};
		pthread_cond_init(&w.cond, NULL);
		if (g->wait_tail)
			g->wait_tail->next = &w;
		else
			g->wait_head = &w;
		g->wait_tail = &w;
		while (!w.got)
			pthread_cond_wait(&w.cond, &g->lock);
		pthread_cond_destroy(&w.cond);
		c = w.got;
	}
	pthread_mutex_unlock(&g->lock);
	int rc = conn_ready(g, c, err, errlen);
	if (rc) {
		release(g, c);
		return rc;
	}
	*out = c;
	return 0;
}

/* Maps a failed result to a haven_err and a message in tx. Only the primary message is
 * kept (DETAIL repeats key values); data-exception messages (class 22) quote the bad
 * input after a colon, so they are cut there. */
static PGconn *tx_conn(const struct haven_tx *tx)
{
	return ((struct pconn *)tx->conn)->conn;
}

static int map_error(struct haven_tx *tx, PGresult *res)
{
	PGconn *conn = tx_conn(tx);
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char m[HAVEN__ERRLEN];

	if (primary)
		snprintf(m, sizeof(m), "%s", primary);
	else
		copy_conn_error(conn, m, sizeof(m));
	if (state && !strncmp(state, "22", 2)) {
		char *colon = strchr(m, ':');
		if (colon)
			*colon = '\0';
	}
	if (PQstatus(conn) == CONNECTION_BAD)
		return haven__tx_fail(tx, HAVEN_EDB, "postgresql: connection lost: %s", m);
	if (!state)
		return haven__tx_fail(tx, HAVEN_EDB, "postgresql: %s", m);
	if (!strcmp(state, "23505"))
		return haven__tx_fail(tx, HAVEN_ECONFLICT, "postgresql: %s", m);
	if (!strcmp(state, "23503"))
		return haven__tx_fail(tx, HAVEN_EINVAL, "postgresql: %s", m);
	if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
		return haven__tx_fail(tx, HAVEN_EBUSY, "postgresql: %s (SQLSTATE %s)", m, state);
	return haven__tx_fail(tx, HAVEN_EDB, "postgresql: %s (SQLSTATE %s)", m, state);
}

/* Rewrites '?' placeholders to $1..$n; *count gets n. */
static int rewrite_placeholders(const char *sql, struct haven_buf *out, size_t *count)
{
	size_t i = 0, start = 0, n = 0;
	int rc = 0;
	*count = 0;
	while (sql[i]) {
		size_t j = haven__sql_skip(sql, i);
		if (j != i) {
			i = j;
			continue;
		}
		if (sql[i] == '?') {
			rc = haven_buf_append(out, sql + start, i - start);
			if (!rc)
				rc = haven_buf_printf(out, "$%zu", ++n);
			if (rc)
				return rc;
			start = i + 1;
		}
		i++;
	}
	rc = haven_buf_append(out, sql + start, i - start);
	*count = n;
	return rc;
}

/* ---- Rows ---- */

struct pg_rows {
	PGresult *res;
	int ncols;
	struct haven_buf *decoded; /* per column: the current row's decoded bytea */
};

static int row_count(const struct haven_row *r)
{
	const struct pg_rows *pr = r->impl;
	return pr->ncols;
}

static int row_is_null(const struct haven_row *r, int col)
{
	const struct pg_rows *pr = r->impl;
	return PQgetisnull(pr->res, r->index, col);
}

static int64_t row_int(const struct haven_row *r, int col)
{
	const struct pg_rows *pr = r->impl;
	if (PQgetisnull(pr->res, r->index, col))
		return 0;
	const char *v = PQgetvalue(pr->res, r->index, col);
	if (PQftype(pr->res, col) == BOOLOID)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static const char *row_text(const struct haven_row *r, int col, size_t *len)
{
	const struct pg_rows *pr = r->impl;
	if (PQgetisnull(pr->res, r->index, col)) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = (size_t)PQgetlength(pr->res, r->index, col);
	return PQgetvalue(pr->res, r->index, col);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes bytea's text output: "\x" hex, or the older escape format. */
static int decode_bytea(const char *v, size_t n, struct haven_buf *out)
{
	int rc = 0;
	haven_buf_reset(out);
	if (n >= 2 && v[0] == '\\' && v[1] == 'x') {
		for (size_t i = 2; i + 1 < n && !rc; i += 2) {
			int hi = hexval((unsigned char)v[i]), lo = hexval((unsigned char)v[i + 1]);
			if (hi < 0 || lo < 0)
				return HAVEN_ECORRUPT;
			uint8_t b = (uint8_t)(hi << 4 | lo);
			rc = haven_buf_append(out, &b, 1);
		}
		return rc;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t b = (uint8_t)v[i];
		if (v[i] == '\\' && i + 1 < n && v[i + 1] == '\\') {
			i++;
		} else if (v[i] == '\\' && i + 3 < n && v[i + 1] >= '0' && v[i + 1] <= '3') {
			b = (uint8_t)((v[i + 1] - '0') << 6 | (v[i + 2] - '0') << 3 |
			              (v[i + 3] - '0'));
			i += 3;
		}
		rc = haven_buf_append(out, &b, 1);
	}
	return rc;
}

static const void *row_blob(const struct haven_row *r, int col, size_t *len)
{
	const struct pg_rows *pr = r->impl;
	if (len)
		*len = 0;
	if (PQgetisnull(pr->res, r->index, col))
		return NULL;
	const char *v = PQgetvalue(pr->res, r->index, col);
	size_t n = (size_t)PQgetlength(pr->res, r->index, col);
	if (PQftype(pr->res, col) != BYTEAOID) {
		if (len)
			*len = n;
		return v;
	}
	struct haven_buf *b = &pr->decoded[col];
	if (decode_bytea(v, n, b))
		return NULL;
	if (len)
		*len = b->len;
	return b->data ? b->data : "";
}

static const struct haven__row_ops pg_row_ops = {
    row_count, row_is_null, row_int, row_text, row_blob,
};

/* ---- Statements ---- */

static void prepared_clear(struct pconn *c)
{
	for (int i = 0; i < c->nprep; i++)
		free(c->prep[i].key);
	c->nprep = 0;
}

/* The statement's entry on c, NULL when it is not prepared there. A reconnect (another
 * server process) forgets every statement prepared before it. */
static struct prepared *prepared_find(struct pconn *c, const char *key, size_t keylen,
                                      uint64_t hash)
{
	int pid = PQbackendPID(c->conn);
	if (!c->prep)
		c->prep = haven_calloc(PREPARED_MAX, sizeof(*c->prep));
	if (pid != c->pid) {
		prepared_clear(c);
		c->pid = pid;
	}
	for (int i = 0; i < c->nprep; i++)
		if (c->prep[i].hash == hash && c->prep[i].keylen == keylen &&
		    !memcmp(c->prep[i].key, key, keylen))
			return &c->prep[i];
	return NULL;
}

/* A statement ready to send: SQL with $n placeholders and its parameters. */
struct pg_stmt {
	const char *sql;
	int nparams;
	const unsigned int *types;
	const char *const *values;
	const int *lengths, *formats;
	const char *key; /* the prepared-statement cache's key for it */
	size_t keylen;
	uint64_t hash;
};

/* Queues, in pipeline mode, the npre parameterless commands in pre[], the statement's
 * PREPARE when prepare is set, and the statement (by name when name is set); 0 when libpq
 * could not queue one. */
static int send_commands(PGconn *conn, const char *const *pre, int npre,
                         const struct pg_stmt *st, const char *name, int prepare)
{
	int sent = 1;
	for (int i = 0; i < npre && sent; i++)
		sent = PQsendQueryParams(conn, pre[i], 0, NULL, NULL, NULL, NULL, 0);
	if (prepare)
		sent = sent && PQsendPrepare(conn, name, st->sql, st->nparams, st->types);
	if (name[0])
		return sent && PQsendQueryPrepared(conn, name, st->nparams, st->values, st->lengths,
		                                   st->formats, 0);
	return sent && PQsendQueryParams(conn, st->sql, st->nparams, st->types, st->values,
	                                 st->lengths, st->formats, 0);
}

/* Sends the npre parameterless commands in pre[] and then the statement in one pipeline
 * (one round trip) and returns the statement's result. Commands queued before on c
 * (c->pipelined) are answered first, in the same round trip: when one of them failed,
 * *failed_pre is FAILED_PIPELINED and its error is returned (nothing after it ran). The
 * statement is prepared on the connection the first time (in the same pipeline) and
 * executed by name after that, so the server parses and plans it once per connection. When one of pre[] fails,
 * *failed_pre gets its index and the result returned is that command's error (the ones
 * after it did not run); otherwise *failed_pre is -1. A NULL result means the
 * connection failed (*failed_pre is then 0 when nothing is known to have run). */
static PGresult *send_pipeline(struct pconn *c, const char *const *pre, int npre,
                               const struct pg_stmt *st, int *failed_pre)
{
	PGconn *conn = c->conn;
	PGresult *got[7 + PIPELINED_MAX] = {NULL};
	struct prepared *p = prepared_find(c, st->key, st->keylen, st->hash);
	int prepare = !p && c->prep && c->nprep < PREPARED_MAX;
	int k = c->pipelined; /* results of earlier commands come first */
	int n = k + npre + prepare + 1, idx = 0, has = 0, synced = 0, nulls = 0;
	c->pipelined = 0;
	char name[16] = "";
	*failed_pre = -1;
	if (p)
		snprintf(name, sizeof(name), "h%u", p->id);
	else if (prepare)
		snprintf(name, sizeof(name), "h%u", c->next_id);
	if (n == 1)
		return name[0] ? PQexecPrepared(conn, name, st->nparams, st->values, st->lengths,
		                                st->formats, 0)
		               : PQexecParams(conn, st->sql, st->nparams, st->types, st->values,
		                              st->lengths, st->formats, 0);
	/* Already in pipeline mode when commands were queued: that is kept. */
	if (!PQenterPipelineMode(conn)) {
		*failed_pre = 0;
		return NULL;
	}
	int sent = send_commands(conn, pre, npre, st, name, prepare) && PQpipelineSync(conn);
	/* Each command's result is followed by a NULL; the sync's result ends it all. A
	 * command after a failed one answers PGRES_PIPELINE_ABORTED. */
	while (sent && !synced) {
		PGresult *r = PQgetResult(conn);
		if (!r) {
			if (has) {
				idx++;
				has = 0;
			} else if (++nulls > n + 2 || PQstatus(conn) == CONNECTION_BAD) {
				break;
			}
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			synced = 1;
		} else if (idx < n && !got[idx]) {
			got[idx] = r;
			has = 1;
		} else {
			PQclear(r);
			has = 1;
		}
	}
	if (!synced || !PQexitPipelineMode(conn)) {
		/* The connection is in an unknown state; still in pipeline mode, it is reset
		 * when next taken from the pool (conn_ready). */
		for (int i = 0; i < n; i++)
			PQclear(got[i]);
		*failed_pre = 0;
		return NULL;
	}
	for (int i = 0; i < k + npre; i++) {
		ExecStatusType s = got[i] ? PQresultStatus(got[i]) : PGRES_FATAL_ERROR;
		if (s != PGRES_COMMAND_OK && !(i < k && s == PGRES_TUPLES_OK)) {
			*failed_pre = i < k ? FAILED_PIPELINED : i - k;
			PGresult *keep = got[i];
			for (int j = 0; j < n; j++)
				if (j != i)
					PQclear(got[j]);
			return keep;
		}
	}
	for (int i = 0; i < k + npre; i++)
		PQclear(got[i]);
	if (prepare) {
		/* A statement that does not prepare (bad SQL) answers with that error. */
		if (PQresultStatus(got[k + npre]) != PGRES_COMMAND_OK) {
			PQclear(got[k + npre + 1]);
			return got[k + npre];
		}
		PQclear(got[k + npre]);
		char *key = malloc(st->keylen);
		if (key) {
			memcpy(key, st->key, st->keylen);
			c->prep[c->nprep++] = (struct prepared){st->hash, key, st->keylen, c->next_id};
		}
		c->next_id++;
	}
	return got[n - 1];
}

/* Queues a statement built by run() without waiting for its result (haven_tx_exec_pipelined):
 * its savepoint commands and the statement are sent in pipeline mode, and their results
 * are read with the next statement's or by pipelined_flush. */
static int send_pipelined(struct haven_tx *tx, const char *const *pre, int npre,
                          const struct pg_stmt *st, const char *name)
{
	struct pconn *c = tx->conn;
	PGconn *conn = c->conn;
	int sent = PQenterPipelineMode(conn) && send_commands(conn, pre, npre, st, name, 0);
	/* Sent now, so the server runs it while the closure goes on. */
	sent = sent && PQflush(conn) == 0;
	if (!sent) {
		/* Still in pipeline mode, the connection is reset when next taken (conn_ready). */
		char m[HAVEN__ERRLEN];
		copy_conn_error(conn, m, sizeof(m));
		c->pipelined = 0;
		tx->savepoint = 0;
		return haven__tx_fail(tx, HAVEN_EDB, "postgresql: connection lost: %s", m);
	}
	c->pipelined += npre + 1;
	tx->savepoint = 1;
	return 0;
}

/* Reads the results of the commands queued on tx's connection (haven_tx_exec_pipelined)
 * and leaves pipeline mode; the first failure is returned, mapped as a statement's. */
static int pipelined_flush(struct haven_tx *tx)
{
	struct pconn *c = tx->conn;
	PGconn *conn = c->conn;
	PGresult *bad = NULL;
	int n = c->pipelined, synced = 0, nulls = 0, has = 0, rc = 0;
	if (!n)
		return 0;
	c->pipelined = 0;
	int sent = PQpipelineSync(conn);
	while (sent && !synced) {
		PGresult *r = PQgetResult(conn);
		if (!r) {
			if (has)
				has = 0;
			else if (++nulls > n + 2 || PQstatus(conn) == CONNECTION_BAD)
				break;
			continue;
		}
		has = 1;
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			synced = 1;
		} else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !bad) {
			bad = r; /* the first failure; the commands after it answer ABORTED */
			continue;
		}
		PQclear(r);
	}
	if (!synced || !PQexitPipelineMode(conn)) {
		char m[HAVEN__ERRLEN];
		copy_conn_error(conn, m, sizeof(m));
		rc = haven__tx_fail(tx, HAVEN_EDB, "postgresql: connection lost: %s", m);
	} else if (bad) {
		rc = map_error(tx, bad);
	}
	PQclear(bad);
	return rc;
}

static int run(struct haven_tx *tx, const char *sql, const struct haven_param *params,
               size_t nparams, int64_t *changes, haven_row_fn fn, void *arg, int pipelined)
{
	struct pconn *pc = tx->conn;
	PGconn *conn = pc->conn;
	struct haven_buf text;
	PGresult *res = NULL;
	size_t count = 0, bytes = 0;
	const char **values = NULL;
	int *lengths = NULL, *formats = NULL;
	unsigned int *types = NULL;
	char *scratch = NULL;
	struct pg_rows rows = {0};
	int rc;

	haven_buf_init(&text, 0);
	if (haven__sql_blank(sql)) {
		rc = haven__tx_fail(tx, HAVEN_EINVAL, "empty SQL statement");
		goto out;
	}
	rc = rewrite_placeholders(sql, &text, &count);
	if (rc)
		goto out;
	if (count != nparams) {
		rc = haven__tx_fail(tx, HAVEN_EINVAL,
		                    "the statement has %zu parameters but %zu were given", count,
		                    nparams);
		goto out;
	}
	if (nparams > 65535) {
		rc = haven__tx_fail(tx, HAVEN_ELIMIT, "too many parameters");
		goto out;
	}
	/* Text and integer parameters need NUL-terminated copies. */
	for (size_t i = 0; i < nparams; i++)
		if (params[i].type == HAVEN_PARAM_TEXT)
			bytes += params[i].len + 1;
		else if (params[i].type == HAVEN_PARAM_INT)
			bytes += 24;
	values = haven_calloc(nparams + 1, sizeof(*values));
	lengths = haven_calloc(nparams + 1, sizeof(*lengths));
	formats = haven_calloc(nparams + 1, sizeof(*formats));
	types = haven_calloc(nparams + 1, sizeof(*types));
	scratch = malloc(bytes + 1);
	if (!values || !lengths || !formats || !types || !scratch) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	char *w = scratch;
	for (size_t i = 0; i < nparams; i++) {
		const struct haven_param *p = &params[i];
		switch (p->type) {
		case HAVEN_PARAM_NULL:
			break;
		case HAVEN_PARAM_INT:
			types[i] = INT8OID;
			snprintf(w, 24, "%lld", (long long)p->i);
			values[i] = w;
			w += 24;
			break;
		case HAVEN_PARAM_TEXT:
			/* Type left to the server (unknown), so text compares with any column. */
			if (p->len && memchr(p->p, 0, p->len)) {
				rc = haven__tx_fail(tx, HAVEN_EINVAL,
				                    "text parameter %zu contains a zero byte",
				                    i + 1);
				goto out;
			}
			if (p->len)
				memcpy(w, p->p, p->len);
			w[p->len] = '\0';
			values[i] = w;
			w += p->len + 1;
			break;
		case HAVEN_PARAM_BLOB:
			if (p->len > INT32_MAX) {
				rc = haven__tx_fail(tx, HAVEN_ELIMIT,
				                    "blob parameter %zu too large", i + 1);
				goto out;
			}
			types[i] = BYTEAOID;
			values[i] = p->p ? p->p : "";
			lengths[i] = (int)p->len;
			formats[i] = 1;
			break;
		default:
			rc = haven__tx_fail(tx, HAVEN_EINVAL, "parameter %zu has an unknown type",
			                    i + 1);
			goto out;
		}
	}
	/* The transaction's BEGIN (when this is its first statement) and, in a write, a
	 * fresh savepoint (releasing the previous statement's) travel in one pipeline with
	 * the statement: one round trip per statement. */
	const char *pre[5];
	int npre = 0, failed_pre = -1, stmt_sp = tx->savepoint;
	if (tx->savepoint < 0 && tx->begin)
		pre[npre++] = tx->begin;
	if (tx->release_closure) {
		/* The previous closure of a group succeeded: release its savepoint (and the
		 * statement savepoint inside it). */
		pre[npre++] = "RELEASE SAVEPOINT haven_write";
		stmt_sp = 0;
	}
	if (tx->closure == 1) {
		/* The first statement of a closure in a group opens the closure's savepoint. */
		pre[npre++] = "SAVEPOINT haven_write";
		stmt_sp = 0;
	}
	if (!tx->readonly) {
		if (stmt_sp > 0)
			pre[npre++] = "RELEASE SAVEPOINT haven_stmt";
		pre[npre++] = "SAVEPOINT haven_stmt";
	}
	/* The cache key: the SQL and the parameters' types (a statement is prepared with
	 * the types of its first use). */
	static const char letter[] = {[HAVEN_PARAM_NULL] = 'n', [HAVEN_PARAM_INT] = 'i',
	                              [HAVEN_PARAM_TEXT] = 't', [HAVEN_PARAM_BLOB] = 'b'};
	rc = haven_buf_append(&text, "", 1);
	for (size_t i = 0; i < nparams && !rc; i++)
		rc = haven_buf_append(&text, &letter[params[i].type], 1);
	if (rc)
		goto out;
	uint64_t hash = 1469598103934665603ULL;
	for (size_t i = 0; i < text.len; i++)
		hash = (hash ^ (unsigned char)text.data[i]) * 1099511628211ULL;
	struct pg_stmt st = {text.data, (int)nparams, types, values, lengths, formats,
	                     text.data, text.len, hash};
	if (pipelined) {
		/* Queued only when it needs nothing but its statement savepoint, and is
		 * prepared on this connection already (its first run there prepares it). */
		struct prepared *p = prepared_find(pc, st.key, st.keylen, st.hash);
		char name[16] = "";
		if (p)
			snprintf(name, sizeof(name), "h%u", p->id);
		if ((p || (pc->prep && pc->nprep >= PREPARED_MAX)) && npre <= 2 &&
		    tx->savepoint >= 0 && tx->closure != 1 && !tx->release_closure &&
		    pc->pipelined + npre + 1 <= PIPELINED_MAX) {
			rc = send_pipelined(tx, pre, npre, &st, name);
			goto out;
		}
	}
	res = send_pipeline(pc, pre, npre, &st, &failed_pre);
	if (!tx->begin && !npre && PQstatus(conn) == CONNECTION_BAD) {
		/* A single-statement read outside a transaction: nothing ran, so a dead
		 * connection is revived and the statement sent again, as after a failed
		 * BEGIN below. */
		failed_pre = 0;
	}
	if (failed_pre >= 0 && tx->savepoint < 0 && revive(conn) == 0) {
		PQclear(res);
		res = send_pipeline(pc, pre, npre, &st, &failed_pre);
	}
	if (failed_pre == FAILED_PIPELINED) {
		/* A statement queued before this one failed, so this one did not run. The
		 * statement savepoint is still the one set before the queued statement:
		 * undo that statement alone, as if it had failed when it was sent. */
		rc = map_error(tx, res);
		char m[HAVEN__ERRLEN];
		haven_strlcpy(m, tx->errmsg, sizeof(m));
		haven__tx_fail(tx, rc, "%s (a statement sent earlier without waiting)", m);
		if (PQstatus(conn) == CONNECTION_OK &&
		    simple(conn, "ROLLBACK TO SAVEPOINT haven_stmt")) {
			tx->savepoint = 0;
			rc = haven__tx_fail(tx, HAVEN_EDB,
			                    "postgresql: could not undo a failed statement");
		}
		goto out;
	}
	if (failed_pre >= 0) {
		/* BEGIN or the savepoint failed (the connection went away, or the transaction
		 * had been aborted); the statement did not run. res holds that error. */
		rc = map_error(tx, res);
		tx->savepoint = PQstatus(conn) == CONNECTION_OK &&
		                        PQtransactionStatus(conn) != PQTRANS_IDLE
		                    ? 0
		                    : -1;
		goto out;
	}
	tx->savepoint = tx->readonly ? 0 : 1;
	tx->release_closure = 0;
	if (tx->closure == 1)
		tx->closure = 2;
	ExecStatusType st_status = PQresultStatus(res);
	if (st_status != PGRES_COMMAND_OK && st_status != PGRES_TUPLES_OK) {
		rc = map_error(tx, res);
		/* Undo this statement only; the savepoint stays for the next one. */
		if (!tx->readonly && PQstatus(conn) == CONNECTION_OK &&
		    simple(conn, "ROLLBACK TO SAVEPOINT haven_stmt")) {
			tx->savepoint = 0;
			rc = haven__tx_fail(tx, HAVEN_EDB,
			                    "postgresql: could not undo a failed statement");
		}
		goto out;
	}
	if (changes) {
		int64_t n = 0;
		if (haven_parse_int64(PQcmdTuples(res), &n) == 0)
			*changes = n;
	}
	if (fn && st_status == PGRES_TUPLES_OK) {
		int nrows = PQntuples(res);
		rows.res = res;
		rows.ncols = PQnfields(res);
		rows.decoded = haven_calloc((size_t)rows.ncols + 1, sizeof(*rows.decoded));
		if (!rows.decoded) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		for (int c = 0; c < rows.ncols; c++)
			haven_buf_init(&rows.decoded[c], 0);
		for (int r = 0; r < nrows && !rc; r++) {
			struct haven_row row = {&pg_row_ops, &rows, r};
			rc = fn(&row, arg);
		}
	}
out:
	if (rows.decoded) {
		for (int c = 0; c < rows.ncols; c++)
			haven_buf_release(&rows.decoded[c]);
		free(rows.decoded);
	}
	PQclear(res);
	free(values);
	free(lengths);
	free(formats);
	free(types);
	free(scratch);
	haven_buf_release(&text);
	return rc;
}

static int pg_exec(struct haven_tx *tx, const char *sql, const struct haven_param *params,
                   size_t nparams, int64_t *changes)
{
	return run(tx, sql, params, nparams, changes, NULL, NULL, 0);
}

static int pg_exec_pipelined(struct haven_tx *tx, const char *sql, const struct haven_param *params,
                             size_t nparams)
{
	if (tx->readonly)
		return run(tx, sql, params, nparams, NULL, NULL, NULL, 0);
	return run(tx, sql, params, nparams, NULL, NULL, NULL, 1);
}

static int pg_query(struct haven_tx *tx, const char *sql, const struct haven_param *params,
                    size_t nparams, haven_row_fn fn, void *arg)
{
	return run(tx, sql, params, nparams, NULL, fn, arg, 0);
}

static const struct haven__tx_ops pg_tx_ops = {pg_exec, pg_query, pg_exec_pipelined};

/* ---- Transactions ---- */

static void tx_init(struct haven_tx *tx, struct haven_store *s, struct pconn *conn,
                    const char *begin, int readonly)
{
	memset(tx, 0, sizeof(*tx));
	tx->ops = &pg_tx_ops;
	tx->store = s;
	tx->kind = HAVEN_STORE_PG;
	tx->readonly = readonly;
	tx->conn = conn;
	tx->begin = begin;
	tx->savepoint = -1; /* the first statement sends BEGIN */
}

/* Commits the transaction tx's statements began; fills tx->errmsg on failure. */
static int commit(struct haven_tx *tx)
{
	int rc = 0;
	PGresult *res = PQexec(tx_conn(tx), "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = map_error(tx, res);
		char m[HAVEN__ERRLEN];
		haven_strlcpy(m, tx->errmsg, sizeof(m));
		haven__tx_fail(tx, rc, "commit failed: %s", m);
	} else if (strcmp(PQcmdStatus(res), "COMMIT")) {
		/* COMMIT of an aborted transaction answers ROLLBACK. */
		rc = haven__tx_fail(tx, HAVEN_EDB,
		                    "commit failed: the transaction had been aborted by an error");
	}
	PQclear(res);
	return rc;
}

/* Fails every request of group[from..to) that had succeeded so far: their changes were
 * in a transaction that is gone. */
static void fail_since(struct haven__write_req **group, int from, int to, int rc, const char *msg)
{
	for (int j = from; j < to; j++)
		if (group[j]->rc == 0)
			haven__write_req_fail(group[j], rc, msg);
}

/* The writer thread's group commit: the closures of a group run in one transaction on
 * the writer's connection, each under a savepoint of its own (opened with its first
 * statement, in the same round trip), so a failing closure undoes only itself; one COMMIT
 * and one WAL flush make them all durable. Audited writes gain most: the audit chain's
 * lock is taken once per group rather than once per write. */
static void run_group(void *ctx, struct haven__write_req **group, int n)
{
	struct pg *g = ctx;
	struct haven_tx tx;
	char msg[HAVEN__ERRLEN];
	int start = 0, rc = conn_ready(g, &g->wconn, msg, sizeof(msg));
	if (rc) {
		for (int i = 0; i < n; i++)
			haven__write_req_fail(group[i], rc, msg);
		goto count;
	}
	PGconn *conn = g->wconn.conn;
	/* Listening on the writer's own connection makes a change of sessions or accounts
	 * this store commits known before its callers are answered (a logout is final in
	 * this process the moment it is acknowledged), without waiting for the listener. */
	if (__atomic_load_n(&g->watching, __ATOMIC_ACQUIRE) && !g->wconn.listening &&
	    !simple(conn, "LISTEN haven_auth"))
		g->wconn.listening = 1;
	tx_init(&tx, g->store, &g->wconn, "BEGIN", 0);
	for (int i = 0; i < n; i++) {
		struct haven__write_req *r = group[i];
		int had_tx = tx.savepoint >= 0;
		if (!had_tx) {
			start = i;
			memset(&tx.chain, 0, sizeof(tx.chain));
		}
		struct haven_tx_chain chain = tx.chain;
		tx.closure = 1;
		tx.errmsg[0] = '\0';
		haven__in_closure++;
		rc = r->fn(&tx, r->arg);
		haven__in_closure--;
		/* Statements the closure queued without waiting answer now; a failure among
		 * them fails the closure. */
		if (((struct pconn *)tx.conn)->pipelined) {
			char kept[HAVEN__ERRLEN];
			haven_strlcpy(kept, tx.errmsg, sizeof(kept));
			int flushed = pipelined_flush(&tx);
			if (rc) /* the closure's own error is the one to report */
				haven_strlcpy(tx.errmsg, kept, sizeof(tx.errmsg));
			else
				rc = flushed;
		}
		PGTransactionStatusType ts = PQtransactionStatus(conn);
		if (had_tx && ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR) {
			/* The connection or the transaction went away under this closure: the
			 * earlier closures' changes went with it. */
			snprintf(msg, sizeof(msg), "postgresql: the transaction was lost: %.200s",
			         tx.errmsg[0] ? tx.errmsg : "connection closed");
			fail_since(group, start, i, HAVEN_EDB, msg);
			haven__write_req_fail(r, rc ? rc : HAVEN_EDB, msg);
			tx.savepoint = -1;
		} else if (rc || ts == PQTRANS_INERROR) {
			haven__write_req_fail(r, rc ? rc : HAVEN_EDB,
			                      rc && tx.errmsg[0]
			                          ? tx.errmsg
			                          : "postgresql: the closure left its transaction "
			                            "aborted");
			if (tx.closure == 2 &&
			    simple(conn, "ROLLBACK TO SAVEPOINT haven_write; "
			                 "RELEASE SAVEPOINT haven_write") == 0) {
				tx.savepoint = 0; /* only this closure is undone */
				tx.chain = chain;
			} else if (tx.savepoint >= 0 || ts == PQTRANS_INERROR) {
				snprintf(msg, sizeof(msg),
				         "postgresql: a failed write in the same transaction could "
				         "not be undone alone");
				fail_since(group, start, i, HAVEN_EDB, msg);
				if (PQtransactionStatus(conn) != PQTRANS_IDLE)
					simple(conn, "ROLLBACK");
				tx.savepoint = -1;
			}
		} else {
			r->rc = 0;
			if (tx.closure == 2)
				tx.release_closure = 1;
		}
		tx.closure = 0;
		if (tx.savepoint < 0)
			tx.release_closure = 0;
	}
	if (tx.savepoint >= 0) {
		rc = commit(&tx);
		if (rc) {
			snprintf(msg, sizeof(msg), "%s", tx.errmsg);
			fail_since(group, start, n, rc, msg);
			if (PQtransactionStatus(conn) != PQTRANS_IDLE)
				simple(conn, "ROLLBACK");
		} else {
			haven__stat_add(&g->store->transactions, 1);
		}
	}
	if (g->wconn.listening && notices_drain(conn, g->schema))
		haven__auth_changed(g->store);
count:
	haven__writer_count(g->store, group, n);
}

static struct haven__writer *pg_writer(struct haven_store *s)
{
	struct pg *g = s->impl;
	return &g->writer;
}

static int pg_read(struct haven_store *s, haven_tx_fn fn, void *arg, int flags, char *err,
                   size_t errlen)
{
	struct pg *g = s->impl;
	struct pconn *c;
	struct haven_tx tx;
	haven__stat_add(&s->reads, 1);
	int rc = acquire(g, &c, err, errlen);
	if (rc)
		return rc;
	tx_init(&tx, s, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 1);
	if (flags & HAVEN__READ_ONE) {
		/* One statement is its own snapshot: no BEGIN before it, no COMMIT after. */
		tx.one_statement = 1;
		tx.begin = NULL;
	}
	haven__in_closure++;
	rc = fn(&tx, arg);
	haven__in_closure--;
	if (rc) {
		if (PQtransactionStatus(c->conn) != PQTRANS_IDLE)
			simple(c->conn, "ROLLBACK");
	} else if (tx.savepoint >= 0 && tx.begin) {
		rc = commit(&tx);
	}
	if (rc)
		snprintf(err, errlen, "%s", tx.errmsg[0] ? tx.errmsg : haven_strerror(rc));
	release(g, c);
	return rc;
}

/* ---- Opening ---- */

/* The first schema of search_path other than "$user", unquoted (lower-cased when it was
 * not quoted, as the server folds it); "" when there is none. */
static void first_schema(const char *path, char *out, size_t outlen)
{
	const char *p = path;
	out[0] = '\0';
	while (*p) {
		size_t n = 0;
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		if (*p == '"') {
			p++;
			while (*p && !(*p == '"' && p[1] != '"')) {
				if (*p == '"')
					p++;
				if (n + 1 < outlen)
					out[n++] = *p;
				p++;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && *p != ' ') {
				if (n + 1 < outlen)
					out[n++] = (char)tolower((unsigned char)*p);
				p++;
			}
		}
		out[n] = '\0';
		if (n && strcmp(out, "$user"))
			return;
		while (*p && *p != ',')
			p++;
	}
	out[0] = '\0';
}

static int ensure_schema(PGconn *conn, char *err, size_t errlen)
{
	char schema[128], m[HAVEN__ERRLEN];
	PGresult *res = PQexec(conn, "SHOW search_path");
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		copy_conn_error(conn, m, sizeof(m));
		snprintf(err, errlen, "postgresql: SHOW search_path failed: %s", m);
		PQclear(res);
		return HAVEN_EDB;
	}
	first_schema(PQgetvalue(res, 0, 0), schema, sizeof(schema));
	PQclear(res);
	if (!schema[0])
		return 0;
	const char *values[1] = {schema};
	res = PQexecParams(conn, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", 1,
	                   NULL, values, NULL, NULL, 0);
	int exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	PQclear(res);
	if (exists)
		return 0;
	char *ident = PQescapeIdentifier(conn, schema, strlen(schema));
	struct haven_buf sql;
	haven_buf_init(&sql, 0);
	if (!ident || haven_buf_printf(&sql, "CREATE SCHEMA IF NOT EXISTS %s", ident)) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	res = PQexec(conn, sql.data);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* Another process creating it at the same moment is fine. */
		if (!state || strcmp(state, "23505")) {
			copy_conn_error(conn, m, sizeof(m));
			snprintf(err, errlen, "postgresql: cannot create schema %s: %s", ident, m);
			rc = HAVEN_EDB;
		}
	}
	PQclear(res);
out:
	PQfreemem(ident);
	haven_buf_release(&sql);
	return rc;
}

/* ---- Listening for changes of sessions and accounts ---- */

/* Waits up to ms for the stop pipe; 1 when the store is closing. */
static int listener_stopping(struct pg *g, int ms)
{
	struct pollfd p = {g->stop_pipe[0], POLLIN, 0};
	return poll(&p, 1, ms) > 0;
}

/* The listening thread: LISTEN haven_auth on a connection of its own; the store's epoch
 * moves with every notice, and listening counts as stopped (nothing may be kept) from the
 * moment the connection fails until it is made again, a second later at the earliest. */
static void *listener_main(void *arg)
{
	struct pg *g = arg;
	PGconn *conn = NULL;
	for (;;) {
		if (!conn) {
			conn = connect_to(g, "haven-listen");
			if (conn && PQstatus(conn) == CONNECTION_OK) {
				PQsetNoticeProcessor(conn, quiet_notices, NULL);
				if (!simple(conn, "LISTEN haven_auth")) {
					haven__auth_listening(g->store, 1);
				} else {
					PQfinish(conn);
					conn = NULL;
				}
			} else {
				PQfinish(conn);
				conn = NULL;
			}
			if (!conn) {
				haven_log(HAVEN_LOG_WARN, "store=postgresql event=listen_failed "
				                          "retry_ms=1000 sessions_cached=no");
				if (listener_stopping(g, 1000))
					break;
				continue;
			}
		}
		struct pollfd p[2] = {{PQsocket(conn), POLLIN, 0}, {g->stop_pipe[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
			haven__auth_listening(g->store, 0);
			haven_log(HAVEN_LOG_WARN, "store=postgresql event=listen_lost "
			                          "sessions_cached=no");
			PQfinish(conn);
			conn = NULL;
			continue;
		}
		if (notices_drain(conn, g->schema))
			haven__auth_changed(g->store);
	}
	haven__auth_listening(g->store, 0);
	PQfinish(conn);
	return NULL;
}

static int pg_watch_auth(struct haven_store *s)
{
	struct pg *g = s->impl;
	pthread_mutex_lock(&g->lock);
	int rc = 0;
	if (!g->watching) {
		if (pipe(g->stop_pipe)) {
			rc = HAVEN_EIO;
		} else if (pthread_create(&g->listener, NULL, listener_main, g)) {
			close(g->stop_pipe[0]);
			close(g->stop_pipe[1]);
			rc = HAVEN_ENOMEM;
		} else {
			__atomic_store_n(&g->watching, 1, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}

static void pg_close(struct haven_store *s);

static int pg_open(struct haven_store *s, const char *url, char *err, size_t errlen)
{
	struct pg *g = haven_calloc(1, sizeof(*g));
	int rc = 0;
	if (!g)
		return HAVEN_ENOMEM;
	s->impl = g;
	g->store = s;
	pthread_mutex_init(&g->lock, NULL);
	g->url = strdup(url);
	g->nconns = s->read_pool;
	g->conns = haven_calloc((size_t)g->nconns, sizeof(*g->conns));
	if (!g->url || !g->conns) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	for (int i = g->nconns - 1; i >= 0; i--) {
		g->conns[i].next_free = g->free_list;
		g->free_list = &g->conns[i];
	}
	/* One connection now: a wrong URL or a server that is down shows at open. */
	struct pconn *c;
	rc = acquire(g, &c, err, errlen);
	if (rc)
		goto out;
	rc = ensure_schema(c->conn, err, errlen);
	if (!rc) {
		/* fsync=off cannot be overridden per session; say so, once per open. */
		const char *fsync = PQparameterStatus(c->conn, "fsync");
		PGresult *res = fsync ? NULL : PQexec(c->conn, "SHOW fsync");
		if (!fsync && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			fsync = PQgetvalue(res, 0, 0);
		if (fsync && !strcmp(fsync, "off"))
			haven_log(HAVEN_LOG_WARN,
			          "store=postgresql msg=\"fsync is off on the server: "
			          "committed writes can be lost in a crash\"");
		PQclear(res);
	}
	if (!rc) {
		PGresult *res = PQexec(c->conn, "SELECT current_schema()");
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			snprintf(g->schema, sizeof(g->schema), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	release(g, c);
	if (rc)
		goto out;
	rc = haven__writer_start(&g->writer, s->group_max, run_group, g);
	if (rc)
		snprintf(err, errlen, "postgresql: could not start the writer thread");
out:
	if (rc)
		pg_close(s);
	return rc;
}

static void conn_free(struct pconn *c)
{
	if (c->conn)
		PQfinish(c->conn);
	prepared_clear(c);
	free(c->prep);
}

static void pg_close(struct haven_store *s)
{
	struct pg *g = s->impl;
	if (!g)
		return;
	if (g->watching) {
		ssize_t w = write(g->stop_pipe[1], "x", 1);
		(void)w; /* a full pipe would already wake the thread */
		pthread_join(g->listener, NULL);
		close(g->stop_pipe[0]);
		close(g->stop_pipe[1]);
	}
	haven__writer_stop(&g->writer);
	conn_free(&g->wconn);
	for (int i = 0; i < g->nconns && g->conns; i++)
		conn_free(&g->conns[i]);
	pthread_mutex_destroy(&g->lock);
	free(g->conns);
	free(g->url);
	free(g);
	s->impl = NULL;
}

const struct haven__backend haven__pg_backend = {
    pg_open,
    pg_close,
    pg_writer,
    pg_read,
    pg_watch_auth,
};
