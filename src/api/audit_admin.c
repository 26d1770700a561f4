/*
 * audit_admin.c: the audit log for administrators. GET /api/v1/audit lists records,
 * newest first, a page at a time (?before=ID&limit=N); GET /api/v1/audit/verify walks the
 * whole chain (as `haven audit verify` does) and reports whether it is intact and its
 * head, to be noted outside the database. Audit records hold no clinical text, so an
 * administrator may read them; each read is itself audited.
 */
#include <string.h>

#include "api/api_int.h"

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX 500

struct audit_list {
	int64_t before, limit;
	json_t *arr;
	struct haven_req *r;
};

static int audit_row(const struct haven_row *row, void *arg)
{
	struct audit_list *l = arg;
	const char *t[7];
	for (int i = 0; i < 7; i++) {
		t[i] = haven_row_text(row, 3 + i, NULL);
		if (!t[i])
			t[i] = "";
	}
	json_t *o = json_pack("{s:I,s:o,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "id",
	                      (json_int_t)haven_row_int(row, 0), "at",
	                      haven__json_time(haven_row_int(row, 1)), "actor_id",
	                      (json_int_t)haven_row_int(row, 2), "actor_role", t[0], "action", t[1],
	                      "subject", t[2], "outcome", t[3], "request_id", t[4], "detail", t[5]);
	return o && json_array_append_new(l->arr, o) == 0 ? 0 : HAVEN_ENOMEM;
}

static int audit_list_tx(struct haven_tx *tx, void *arg)
{
	struct audit_list *l = arg;
	struct haven_param p[] = {HAVEN_P_INT(l->before), HAVEN_P_INT(l->limit)};
	int rc = haven_tx_query(tx,
	                        "SELECT id, at, actor_id, actor_role, action, subject, outcome, "
	                        "request_id, detail, '' FROM audit_log WHERE id < ? ORDER BY id "
	                        "DESC LIMIT ?",
	                        p, 2, audit_row, l);
	if (rc)
		return rc;
	char detail[64];
	snprintf(detail, sizeof(detail), "records=%zu", json_array_size(l->arr));
	return haven__audit(tx, l->r, "audit.read", "", "ok", detail);
}

/* Reads an optional positive integer query argument; 0 when absent, -1 when malformed. */
static int64_t query_int(struct haven_req *r, const char *name)
{
	const char *v = haven__query(r, name);
	int64_t n;
	if (!v)
		return 0;
	if (haven_parse_int64(v, &n) || n < 1)
		return -1;
	return n;
}

void haven__h_audit_list(struct haven_req *r)
{
	int64_t before = query_int(r, "before"), limit = query_int(r, "limit");
	if (before < 0 || limit < 0 || limit > AUDIT_PAGE_MAX) {
		haven_reply_error(r, 400, "invalid_query",
		                  "'before' must be a record id and 'limit' a number from 1 to %d",
		                  AUDIT_PAGE_MAX);
		return;
	}
	struct audit_list l = {before ? before : INT64_MAX, limit ? limit : AUDIT_PAGE_DEFAULT,
	                       json_array(), r};
	int rc = l.arr ? haven_store_write(r->api->store, audit_list_tx, &l) : HAVEN_ENOMEM;
	if (rc) {
		json_decref(l.arr);
		haven_reply_err(r, rc, "reading the audit log");
		return;
	}
	json_t *reply = json_pack("{s:o}", "records", l.arr);
	size_t n = json_array_size(l.arr);
	if (n == (size_t)l.limit)
		json_object_set_new(
		    reply, "next_before",
		    json_integer(json_integer_value(
		        json_object_get(json_array_get(l.arr, n - 1), "id"))));
	haven_reply_json(r, 200, reply);
}

struct audit_verified {
	struct haven_req *r;
	const struct haven_audit_report *rep;
};

static int audit_verified_tx(struct haven_tx *tx, void *arg)
{
	struct audit_verified *v = arg;
	char detail[96];
	snprintf(detail, sizeof(detail), "records=%lld first_bad_id=%lld",
	         (long long)v->rep->records, (long long)v->rep->first_bad_id);
	return haven__audit(tx, v->r, "audit.verify", "", v->rep->first_bad_id ? "failed" : "ok",
	                    detail);
}

void haven__h_audit_verify(struct haven_req *r)
{
	struct haven_audit_report rep;
	memset(&rep, 0, sizeof(rep));
	int rc = haven_audit_verify(r->api->store, &rep);
	if (rc) {
		haven_reply_err(r, rc, "verifying the audit log");
		return;
	}
	struct audit_verified v = {r, &rep};
	if ((rc = haven_store_write(r->api->store, audit_verified_tx, &v))) {
		haven_reply_err(r, rc, "recording the verification");
		return;
	}
	char hex[65];
	haven_hex_encode(rep.head_hash, sizeof(rep.head_hash), hex);
	json_t *reply = json_pack("{s:b,s:I,s:I,s:s,s:{s:I,s:s}}", "intact", rep.first_bad_id == 0,
	                          "records", (json_int_t)rep.records, "first_bad_id",
	                          (json_int_t)rep.first_bad_id, "reason", rep.reason, "head", "id",
	                          (json_int_t)rep.last_id, "hash", hex);
	haven_reply_json(r, 200, reply);
}
