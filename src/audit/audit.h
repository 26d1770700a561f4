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

/* Appends ev inside tx. The time is taken here. actor_role, action and outcome are
 * required; subject, request_id and detail may be NULL (stored as ""). Every field must
 * be valid UTF-8, at most 512 bytes (detail: 2048): HAVEN_EINVAL or HAVEN_ELIMIT if not.
 * On PostgreSQL the transaction holds the audit advisory lock until it ends, so keep
 * audited transactions short. */
int haven_audit_append(struct haven_tx *tx, const struct haven_audit_event *ev) HAVEN_WUR;

struct haven_audit_report {
	int64_t records;         /* records checked */
	int64_t first_bad_id;    /* 0 when the chain is intact */
	char reason[160];        /* why the first bad record is bad */
	int64_t last_id;         /* the last good record's id (0 for an empty log) */
	uint8_t head_hash[32];   /* its hash: note it outside the database to detect a
				    later truncation of the log's tail, which no chain can */
};
/* Walks the whole chain in id order in one read snapshot, with bounded memory. Ids must
 * run 1, 2, 3, ... (a gap is a deleted record: first_bad_id names the first missing id);
 * each record's prev_hash must equal the previous record's hash (else a broken link); each
 * stored hash must equal the recomputed one (else the record was altered). Returns 0 and
 * fills the report, whether or not the chain is intact (check first_bad_id); a non-zero
 * return means the walk itself failed. */
int haven_audit_verify(struct haven_store *s, struct haven_audit_report *report) HAVEN_WUR;
/* Checks an anchor noted from an earlier verify (its last_id and head_hash): 0 when record
 * id still holds that hash, HAVEN_ENOTFOUND when the record is gone (the tail was cut),
 * HAVEN_ECORRUPT when its hash differs (the chain was rewritten). Together with an intact
 * verify this shows the log has only grown since the anchor was taken. */
int haven_audit_check_anchor(struct haven_store *s, int64_t id,
			     const uint8_t hash[32]) HAVEN_WUR;

#endif
