/*
 * store.c: the backend-independent half of the store: URL dispatch, options, the
 * per-thread last-error message, row and transaction accessors that forward to the
 * backend, migrations (schema_migrations bookkeeping, each migration alone in its own
 * transaction), and the SQL scanning both backends share (statement splitting and
 * skipping quoted text and comments).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define DEFAULT_READ_POOL 4
#define DEFAULT_PG_POOL 8
#define DEFAULT_GROUP_MAX 64
#define DEFAULT_BUSY_TIMEOUT_MS 5000

_Thread_local int haven__in_closure;
static _Thread_local char last_error[HAVEN__ERRLEN];

const char *haven_store_last_error(void)
{
	return last_error;
}

static int set_last_error(int rc, const char *msg)
{
	if (rc == 0)
		return rc;
	haven_strlcpy(last_error, msg && *msg ? msg : haven_strerror(rc), sizeof(last_error));
	return rc;
}

void haven__stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

int haven__tx_fail(struct haven_tx *tx, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tx->errmsg, sizeof(tx->errmsg), fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- Opening and closing ---- */

int haven_store_open(const char *url, const struct haven_store_options *opt,
                     struct haven_store **out)
{
	char err[HAVEN__ERRLEN] = "";
	struct haven_store *s = NULL;
	const struct haven__backend *be = NULL;
	enum haven_store_kind kind = HAVEN_STORE_SQLITE;
	int rc;

	*out = NULL;
	last_error[0] = '\0';
	if (!url || !*url) {
		rc = HAVEN_EINVAL;
		snprintf(err, sizeof(err),
		         "empty database URL (expected sqlite:PATH or "
		         "postgresql://USER@HOST/DB)");
		goto out;
	}
	if (!strncmp(url, "sqlite:", 7)) {
		be = &haven__sqlite_backend;
		kind = HAVEN_STORE_SQLITE;
	} else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
		be = &haven__pg_backend;
		kind = HAVEN_STORE_PG;
	} else {
		/* Name only the scheme: the rest of a URL may hold a password. */
		size_t n = strcspn(url, ":/");
		rc = HAVEN_EINVAL;
		snprintf(err, sizeof(err),
		         "unsupported database URL scheme '%.*s' (expected sqlite:PATH or "
		         "postgresql://USER@HOST/DB)",
		         (int)(n > 32 ? 32 : n), url);
		goto out;
	}
	s = haven_calloc(1, sizeof(*s));
	if (!s) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	s->kind = kind;
	s->be = be;
	s->read_pool = opt && opt->read_pool > 0 ? opt->read_pool
	               : kind == HAVEN_STORE_PG  ? DEFAULT_PG_POOL
	                                         : DEFAULT_READ_POOL;
	s->group_max = opt && opt->group_max > 0 ? opt->group_max : DEFAULT_GROUP_MAX;
	s->busy_timeout_ms =
	    opt && opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : DEFAULT_BUSY_TIMEOUT_MS;
	rc = be->open(s, url, err, sizeof(err));
	if (rc) {
		free(s);
		s = NULL;
		goto out;
	}
	*out = s;
out:
	return set_last_error(rc, err);
}

void haven_store_destroy(struct haven_store **sp)
{
	if (!sp || !*sp)
		return;
	struct haven_store *s = *sp;
	s->be->close(s);
	free(s);
	*sp = NULL;
}

enum haven_store_kind haven_store_kind(const struct haven_store *s)
{
	return s->kind;
}

enum haven_store_kind haven_tx_kind(const struct haven_tx *tx)
{
	return tx->kind;
}

struct haven_tx_chain *haven_tx_chain(struct haven_tx *tx)
{
	return tx->readonly ? NULL : &tx->chain;
}

/* ---- Transactions ---- */

int haven_store_write(struct haven_store *s, haven_tx_fn fn, void *arg)
{
	char err[HAVEN__ERRLEN] = "";
	HAVEN_ASSERT(s && fn);
	if (haven__in_closure)
		return set_last_error(HAVEN_EINVAL,
		                      "haven_store_write called inside a store closure");
	int rc = haven__writer_submit(s->be->writer(s), fn, arg, 0, err, sizeof(err));
	return set_last_error(rc, err);
}

int haven_store_write_async(struct haven_store *s, haven_tx_fn fn, void *arg,
                            haven_write_done_fn done, void *ctx)
{
	char err[HAVEN__ERRLEN] = "";
	HAVEN_ASSERT(s && fn && done);
	if (haven__in_closure)
		return set_last_error(HAVEN_EINVAL,
		                      "haven_store_write_async called inside a store closure");
	int rc = haven__writer_submit_async(s->be->writer(s), fn, arg, done, ctx, err, sizeof(err));
	return set_last_error(rc, err);
}

static int store_read(struct haven_store *s, haven_tx_fn fn, void *arg, int flags)
{
	char err[HAVEN__ERRLEN] = "";
	HAVEN_ASSERT(s && fn);
	if (haven__in_closure)
		return set_last_error(HAVEN_EINVAL,
		                      "haven_store_read called inside a store closure");
	int rc = s->be->read(s, fn, arg, flags, err, sizeof(err));
	return set_last_error(rc, err);
}

int haven_store_read(struct haven_store *s, haven_tx_fn fn, void *arg)
{
	return store_read(s, fn, arg, 0);
}

int haven_store_read_one(struct haven_store *s, haven_tx_fn fn, void *arg)
{
	return store_read(s, fn, arg, HAVEN__READ_ONE);
}

/* A haven_store_read_one closure runs without a transaction around it: a second
 * statement would read another snapshot, so it is refused. */
static int statement_allowed(struct haven_tx *tx)
{
	if (tx->one_statement && tx->statements > 0)
		return haven__tx_fail(tx, HAVEN_EINVAL,
		                      "a single-statement read ran a second statement");
	tx->statements++;
	return 0;
}

int haven_tx_exec(struct haven_tx *tx, const char *sql, const struct haven_param *params,
                  size_t nparams, int64_t *changes)
{
	if (changes)
		*changes = 0;
	tx->errmsg[0] = '\0';
	if (statement_allowed(tx))
		return HAVEN_EINVAL;
	return tx->ops->exec(tx, sql, params, nparams, changes);
}

int haven_tx_exec_pipelined(struct haven_tx *tx, const char *sql, const struct haven_param *params,
                            size_t nparams)
{
	tx->errmsg[0] = '\0';
	if (statement_allowed(tx))
		return HAVEN_EINVAL;
	if (!tx->ops->exec_pipelined)
		return tx->ops->exec(tx, sql, params, nparams, NULL);
	return tx->ops->exec_pipelined(tx, sql, params, nparams);
}

int haven_tx_query(struct haven_tx *tx, const char *sql, const struct haven_param *params,
                   size_t nparams, haven_row_fn fn, void *arg)
{
	tx->errmsg[0] = '\0';
	if (statement_allowed(tx))
		return HAVEN_EINVAL;
	return tx->ops->query(tx, sql, params, nparams, fn, arg);
}

struct query_int {
	int64_t value;
	int found;
};

static int query_int_row(const struct haven_row *row, void *arg)
{
	struct query_int *q = arg;
	if (!q->found && haven_row_count(row) > 0) {
		q->value = haven_row_int(row, 0);
		q->found = 1;
	}
	return 0;
}

int haven_tx_query_int(struct haven_tx *tx, const char *sql, const struct haven_param *params,
                       size_t nparams, int64_t *out)
{
	struct query_int q = {0, 0};
	int rc = haven_tx_query(tx, sql, params, nparams, query_int_row, &q);
	if (rc)
		return rc;
	if (!q.found)
		return HAVEN_ENOTFOUND;
	*out = q.value;
	return 0;
}

const char *haven_tx_errmsg(const struct haven_tx *tx)
{
	return tx->errmsg;
}

/* ---- Rows ---- */

int haven_row_count(const struct haven_row *r)
{
	return r->ops->count(r);
}

static void check_col(const struct haven_row *r, int col)
{
	HAVEN_ASSERT(col >= 0 && col < r->ops->count(r));
}

int haven_row_is_null(const struct haven_row *r, int col)
{
	check_col(r, col);
	return r->ops->is_null(r, col);
}

int64_t haven_row_int(const struct haven_row *r, int col)
{
	check_col(r, col);
	return r->ops->int64(r, col);
}

const char *haven_row_text(const struct haven_row *r, int col, size_t *len)
{
	check_col(r, col);
	return r->ops->text(r, col, len);
}

const void *haven_row_blob(const struct haven_row *r, int col, size_t *len)
{
	check_col(r, col);
	return r->ops->blob(r, col, len);
}

/* ---- Statistics and liveness ---- */

void haven_store_stats(struct haven_store *s, struct haven_store_stats *out)
{
	out->writes = __atomic_load_n(&s->writes, __ATOMIC_RELAXED);
	out->transactions = __atomic_load_n(&s->transactions, __ATOMIC_RELAXED);
	out->write_errors = __atomic_load_n(&s->write_errors, __ATOMIC_RELAXED);
	out->reads = __atomic_load_n(&s->reads, __ATOMIC_RELAXED);
	out->checkpoints = __atomic_load_n(&s->checkpoints, __ATOMIC_RELAXED);
	out->writer_checkpoints = __atomic_load_n(&s->writer_checkpoints, __ATOMIC_RELAXED);
}

static int ping_fn(struct haven_tx *tx, void *arg)
{
	int64_t one = 0;
	int rc = haven_tx_query_int(tx, "SELECT 1", NULL, 0, &one);
	if (rc == 0 && one != 1)
		rc = haven__tx_fail(tx, HAVEN_EDB, "SELECT 1 returned %lld", (long long)one);
	return rc;
}

int haven_store_watch_auth(struct haven_store *s)
{
	return s->be->watch_auth ? s->be->watch_auth(s) : HAVEN_EUNSUPPORTED;
}

uint64_t haven_store_auth_epoch(struct haven_store *s)
{
	uint64_t e = __atomic_load_n(&s->auth_epoch, __ATOMIC_ACQUIRE);
	return e & 1 ? e : 0;
}

void haven__auth_changed(struct haven_store *s)
{
	__atomic_add_fetch(&s->auth_epoch, 2, __ATOMIC_ACQ_REL);
}

void haven__auth_listening(struct haven_store *s, int on)
{
	uint64_t e = __atomic_load_n(&s->auth_epoch, __ATOMIC_ACQUIRE);
	if ((e & 1) != (uint64_t)(on != 0))
		__atomic_add_fetch(&s->auth_epoch, 1, __ATOMIC_ACQ_REL);
}

int haven_store_ping(struct haven_store *s)
{
	return haven_store_read(s, ping_fn, NULL);
}

/* ---- SQL scanning ---- */

static int is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

size_t haven__sql_skip(const char *sql, size_t i)
{
	char c = sql[i];
	if (c == '\'' || c == '"') {
		/* A doubled quote inside the text is an escaped quote. */
		size_t j = i + 1;
		for (;;) {
			if (!sql[j])
				return j;
			if (sql[j] == c) {
				if (sql[j + 1] == c) {
					j += 2;
					continue;
				}
				return j + 1;
			}
			j++;
		}
	}
	if (c == '-' && sql[i + 1] == '-') {
		size_t j = i + 2;
		while (sql[j] && sql[j] != '\n')
			j++;
		return j;
	}
	if (c == '/' && sql[i + 1] == '*') {
		const char *end = strstr(sql + i + 2, "*/");
		return end ? (size_t)(end - sql) + 2 : i + strlen(sql + i);
	}
	if (c == '$' && (i == 0 || !is_ident_char(sql[i - 1]))) {
		/* $tag$ ... $tag$; "$1" is a positional parameter, not a quote. */
		size_t j = i + 1;
		if (isdigit((unsigned char)sql[j]))
			return i;
		while (is_ident_char(sql[j]))
			j++;
		if (sql[j] != '$')
			return i;
		size_t taglen = j - i + 1;
		const char *p = sql + j + 1;
		for (;;) {
			const char *q = strchr(p, '$');
			if (!q)
				return i + strlen(sql + i);
			if (!strncmp(q, sql + i, taglen))
				return (size_t)(q - sql) + taglen;
			p = q + 1;
		}
	}
	return i;
}

int haven__sql_split(const char *sql, int (*fn)(const char *stmt, size_t len, void *arg), void *arg)
{
	size_t start = 0, i = 0;
	for (;;) {
		size_t j = haven__sql_skip(sql, i);
		if (j != i) {
			i = j;
			continue;
		}
		if (sql[i] == ';' || !sql[i]) {
			size_t b = start, e = i;
			while (b < e && isspace((unsigned char)sql[b]))
				b++;
			while (e > b && isspace((unsigned char)sql[e - 1]))
				e--;
			if (e > b) {
				/* A statement made only of comments is empty too. */
				char *copy = malloc(e - b + 1);
				if (!copy)
					return HAVEN_ENOMEM;
				memcpy(copy, sql + b, e - b);
				copy[e - b] = '\0';
				int blank = haven__sql_blank(copy);
				free(copy);
				if (!blank) {
					int rc = fn(sql + b, e - b, arg);
					if (rc)
						return rc;
				}
			}
			if (!sql[i])
				return 0;
			start = i + 1;
		}
		i++;
	}
}

int haven__sql_blank(const char *sql)
{
	size_t i = 0;
	while (sql[i]) {
		if (isspace((unsigned char)sql[i]) || sql[i] == ';') {
			i++;
			continue;
		}
		if ((sql[i] == '-' && sql[i + 1] == '-') || (sql[i] == '/' && sql[i + 1] == '*')) {
			i = haven__sql_skip(sql, i);
			continue;
		}
		return 0;
	}
	return 1;
}

/* ---- Migrations ---- */

static const char schema_migrations_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                            "  version INTEGER PRIMARY KEY,"
                                            "  name TEXT NOT NULL,"
                                            "  applied_at BIGINT NOT NULL)";

static int table_exists(struct haven_tx *tx, int *exists)
{
	int64_t n = 0;
	int rc;
	if (tx->kind == HAVEN_STORE_SQLITE)
		rc = haven_tx_query_int(tx,
		                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
		                        "AND name = 'schema_migrations'",
		                        NULL, 0, &n);
	else
		rc = haven_tx_query_int(tx,
		                        "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL "
		                        "THEN 0 ELSE 1 END",
		                        NULL, 0, &n);
	*exists = n > 0;
	return rc;
}

static int current_version(struct haven_tx *tx, int *version)
{
	int exists = 0;
	int64_t v = 0;
	*version = 0;
	int rc = table_exists(tx, &exists);
	if (rc || !exists)
		return rc;
	rc = haven_tx_query_int(tx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL,
	                        0, &v);
	if (rc == 0)
		*version = (int)v;
	return rc;
}

/* *applied = 1 when the migration of this version is recorded as applied. */
static int version_applied(struct haven_tx *tx, int version, int *applied)
{
	int exists = 0;
	int64_t n = 0;
	*applied = 0;
	int rc = table_exists(tx, &exists);
	if (rc || !exists)
		return rc;
	struct haven_param p[1] = {HAVEN_P_INT(version)};
	rc = haven_tx_query_int(tx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", p,
	                        1, &n);
	*applied = n > 0;
	return rc;
}

struct applied_set {
	const struct haven__migration *ms;
	size_t n;
	unsigned char *done; /* done[i]: ms[i] is recorded as applied */
};

static int applied_fn(struct haven_tx *tx, void *arg)
{
	struct applied_set *a = arg;
	int rc = 0;
	for (size_t i = 0; i < a->n && !rc; i++) {
		int yes = 0;
		rc = version_applied(tx, a->ms[i].version, &yes);
		a->done[i] = (unsigned char)yes;
	}
	return rc;
}

static int version_fn(struct haven_tx *tx, void *arg)
{
	return current_version(tx, arg);
}

int haven_store_schema_version(struct haven_store *s, int *version)
{
	*version = 0;
	return haven_store_read(s, version_fn, version);
}

struct migrate_step {
	const struct haven__migration *m;
	int ran; /* out: 1 when this transaction applied m */
};

static int run_statement(const char *stmt, size_t len, void *arg)
{
	struct haven_tx *tx = arg;
	char *copy = malloc(len + 1);
	if (!copy)
		return HAVEN_ENOMEM;
	memcpy(copy, stmt, len);
	copy[len] = '\0';
	int rc = haven_tx_exec(tx, copy, NULL, 0, NULL);
	free(copy);
	return rc;
}

static int migrate_fn(struct haven_tx *tx, void *arg)
{
	struct migrate_step *step = arg;
	const struct haven__migration *m = step->m;
	int rc;

	step->ran = 0;
	if (tx->kind == HAVEN_STORE_PG) {
		/* Two processes migrating one database at once take turns here; on SQLite
		 * the write transaction is already exclusive. */
		rc = haven_tx_exec(tx, "SELECT pg_advisory_xact_lock(5147401)", NULL, 0, NULL);
		if (rc)
			return rc;
	}
	rc = haven_tx_exec(tx, schema_migrations_sql, NULL, 0, NULL);
	if (rc)
		return rc;
	int applied = 0;
	rc = version_applied(tx, m->version, &applied);
	if (rc)
		return rc;
	if (applied)
		return 0; /* someone else applied it meanwhile */
	const char *sql = tx->kind == HAVEN_STORE_SQLITE ? m->sqlite : m->pg;
	char first_err[HAVEN__ERRLEN];
	rc = haven__sql_split(sql, run_statement, tx);
	if (rc) {
		haven_strlcpy(first_err, tx->errmsg, sizeof(first_err));
		return haven__tx_fail(tx, rc, "migration %d (%s): %s", m->version, m->name,
		                      first_err[0] ? first_err : haven_strerror(rc));
	}
	struct haven_param p[3] = {HAVEN_P_INT(m->version), HAVEN_P_TEXT(m->name),
	                           HAVEN_P_INT(haven_now_ms())};
	rc = haven_tx_exec(tx,
	                   "INSERT INTO schema_migrations (version, name, applied_at) "
	                   "VALUES (?, ?, ?)",
	                   p, 3, NULL);
	if (rc == 0)
		step->ran = 1;
	return rc;
}

/* Applies every migration of ms[0..n) not recorded as applied, in version order: a
 * migration that reached the repository after a later one (two branches of work landing
 * in either order) is still applied to a database that already has the later one. */
int haven__store_migrate_list(struct haven_store *s, const struct haven__migration *ms, size_t n,
                              int *applied)
{
	int version = 0, count = 0, latest = n ? ms[n - 1].version : 0, rc;
	char err[HAVEN__ERRLEN] = "";

	if (applied)
		*applied = 0;
	rc = haven_store_schema_version(s, &version);
	if (rc)
		return rc;
	if (version > latest) {
		snprintf(err, sizeof(err),
		         "the database schema is version %d, newer than this build knows (%d); "
		         "upgrade Haven",
		         version, latest);
		return set_last_error(HAVEN_EUNSUPPORTED, err);
	}
	struct applied_set set = {ms, n, haven_calloc(n + 1, 1)};
	if (!set.done)
		return set_last_error(HAVEN_ENOMEM, "out of memory");
	rc = haven_store_read(s, applied_fn, &set);
	for (size_t i = 0; i < n && !rc; i++) {
		if (set.done[i])
			continue;
		struct migrate_step step = {&ms[i], 0};
		/* No closure check here: haven_store_schema_version() above refused already. */
		rc = haven__writer_submit(s->be->writer(s), migrate_fn, &step, HAVEN__WRITE_ALONE, err,
		                          sizeof(err));
		if (rc)
			set_last_error(rc, err);
		else
			count += step.ran;
	}
	free(set.done);
	if (applied)
		*applied = count;
	return rc;
}

int haven_store_migrate(struct haven_store *s, int *applied)
{
	size_t n;
	const struct haven__migration *ms = haven__migrations(&n);
	return haven__store_migrate_list(s, ms, n, applied);
}
