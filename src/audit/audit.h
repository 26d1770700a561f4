/*
 * audit.h: the tamper-evident audit log. Every read and write of clinical data, every
 * login (success and failure), every refused request and every automated decision
 * appends one record inside the same transaction as the action it records.
 *
 * Each record stores its fields and hash = BLAKE2b-256(prev_hash || canonical fields),
 * where prev_hash is the previous record's hash (32 zero bytes for the first). Appends
 * are serialised (SQLite: the single writer; PostgreSQL: a transaction-scoped advisory
 * lock), so the chain is a total order. `haven audit verify` recomputes the chain and
 * names the first record whose stored hash or link does not match.
 *
 * Records never contain clinical text, passwords or tokens: only who, what, which
 * subject, when, the outcome, the request id and short machine-readable detail.
 */
#ifndef HAVEN_AUDIT_H
#define HAVEN_AUDIT_H

#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

struct haven_audit_event {
	int64_t actor_id;        /* 0 when anonymous or the system */
	const char *actor_role;  /* "patient", "clinician", "admin", "system", "anonymous" */
	const char *action;      /* e.g. "auth.login", "patient.read", "chat.write" */
	const char *subject;     /* e.g. "patient:12", "user:3", "" */
	const char *outcome;     /* "ok", "denied", "failed" */
	const char *request_id;  /* "" outside a request */
	const char *detail;      /* short, non-clinical; may be NULL */
};

/* Appends ev inside tx. The time is taken here. */
int haven_audit_append(struct haven_tx *tx, const struct haven_audit_event *ev) HAVEN_WUR;

struct haven_audit_report {
	int64_t records;         /* records checked */
	int64_t first_bad_id;    /* 0 when the chain is intact */
	char reason[160];        /* why the first bad record is bad */
};
/* Walks the whole chain. Returns 0 and fills the report, whether or not the chain is
 * intact (check first_bad_id); a non-zero return means the walk itself failed. */
int haven_audit_verify(struct haven_store *s, struct haven_audit_report *report) HAVEN_WUR;

#endif
