/*
 * alerts.c: a clinician's alert inbox. GET /alerts (their care team's alerts, filtered
 * and paged, newest first), GET /alerts/{id}, POST /alerts/{id}/ack and
 * POST /alerts/{id}/resolve (with an optional note, sealed under the patient's key).
 *
 * Who may see what (DESIGN.md): an alert of a patient outside the caller's care team
 * does not exist for them (404), except for the escalation contacts told of an alert
 * (the care team's own, set with /me/escalation-contacts below, else the clinic's), who see
 * (and may acknowledge and resolve) the alerts escalated to them (alert_escalations,
 * src/alerts/outbox.c) and nothing else of that patient. Safety alerts (crisis_chat, phq9_item9,
 * abuse_disclosed: haven_alert_kind_is_safety) always reach the care team; the others only while the patient's care_team consent is granted: the list
 * leaves them out, and asking for one by id is 403 "consent_required", as for the rest of
 * a patient's clinical content (clinician.c). Administrators and patients are refused by
 * the router (403). Every read and write is audited in its transaction, and every status
 * change queues its webhook event in the same transaction (src/alerts/outbox.c).
 *
 * The lifecycle is open -> acknowledged -> resolved, one step at a time: acknowledging an
 * alert that is not open, or resolving one that is not acknowledged, is 409
 * "invalid_transition".
 */
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "api/api_int.h"
#include "crypto/keyring.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 100
#define NOTE_MAX_CHARS 2000

struct resolve_body {
	struct haven_jv note;
};

static const struct haven_field resolve_fields[] = {
    {"note", HAVEN_JT_STRING, 0, offsetof(struct resolve_body, note), NOTE_MAX_CHARS, 0, 0, 0,
     NULL},
    {NULL, 0, 0, 0, 0, 0, 0, 0, NULL},
};

const struct haven_body_schema haven__alert_resolve_schema = {"alert resolve body", resolve_fields,
                                                              sizeof(struct resolve_body)};

/* The consent state of the patient, latest record first; 0 when never given. */
#define ALERT_COLUMNS                                                                              \
	"SELECT a.id, a.rid, a.patient_id, a.kind, a.severity, a.status, a.source, a.created_at, " \
	"a.acknowledged_at, a.acknowledged_by, a.resolved_at, a.resolved_by, a.escalated_at, "     \
	"a.escalated_to, a.reasons, a.resolution, "                                                \
	"COALESCE((SELECT cs.granted FROM consents cs WHERE cs.patient_id = a.patient_id AND "     \
	"cs.scope = 'care_team' ORDER BY cs.id DESC LIMIT 1), 0) "                                 \
	"FROM alerts a WHERE (EXISTS (SELECT 1 FROM care_team ct WHERE ct.patient_id = "           \
	"a.patient_id AND ct.clinician_id = ?) OR EXISTS (SELECT 1 FROM alert_escalations ae "     \
	"WHERE ae.alert_id = a.id AND ae.clinician_id = ?)) "

struct alert_item {
	json_t *obj;
	int64_t id, patient_id;
	char rid[40];
	char kind[HAVEN_ALERT_KIND_MAX + 1];
	char status[16];
	int consent;
	uint8_t *reasons, *resolution;
	size_t reasons_len, resolution_len;
};

static void item_release(struct alert_item *it)
{
	json_decref(it->obj);
	free(it->reasons);
	free(it->resolution);
	memset(it, 0, sizeof(*it));
}

static json_t *time_or_null(const struct haven_row *row, int col)
{
	return haven_row_is_null(row, col) ? json_null()
	                                   : haven__json_time(haven_row_int(row, col));
}

static json_t *int_or_null(const struct haven_row *row, int col)
{
	return haven_row_is_null(row, col) ? json_null() : json_integer(haven_row_int(row, col));
}

static uint8_t *blob_copy(const struct haven_row *row, int col, size_t *len)
{
	*len = 0;
	if (haven_row_is_null(row, col))
		return NULL;
	size_t n = 0;
	const void *b = haven_row_blob(row, col, &n);
	uint8_t *c = malloc(n ? n : 1);
	if (c && n)
		memcpy(c, b, n);
	*len = n;
	return c;
}

static int item_from_row(const struct haven_row *row, struct alert_item *it)
{
	memset(it, 0, sizeof(*it));
	it->id = haven_row_int(row, 0);
	snprintf(it->rid, sizeof(it->rid), "%s", haven_row_text(row, 1, NULL));
	it->patient_id = haven_row_int(row, 2);
	snprintf(it->kind, sizeof(it->kind), "%s", haven_row_text(row, 3, NULL));
	snprintf(it->status, sizeof(it->status), "%s", haven_row_text(row, 5, NULL));
	it->consent = haven_row_int(row, 16) != 0;
	json_t *esc_to =
	    haven_row_is_null(row, 13) ? json_null() : json_string(haven_row_text(row, 13, NULL));
	it->obj = json_pack(
	    "{s:I,s:I,s:s,s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:{s:b,s:o,s:o}}", "id",
	    (json_int_t)it->id, "patient_id", (json_int_t)it->patient_id, "kind", it->kind,
	    "severity", haven_row_text(row, 4, NULL), "status", it->status, "source",
	    haven_row_text(row, 6, NULL), "safety", haven_alert_kind_is_safety(it->kind),
	    "created_at", haven__json_time(haven_row_int(row, 7)), "acknowledged_at",
	    time_or_null(row, 8), "acknowledged_by", int_or_null(row, 9), "resolved_at",
	    time_or_null(row, 10), "resolved_by", int_or_null(row, 11), "escalation", "escalated",
	    !haven_row_is_null(row, 12), "escalated_at", time_or_null(row, 12), "to", esc_to);
	if (!it->obj)
		return HAVEN_ENOMEM;
	it->reasons = blob_copy(row, 14, &it->reasons_len);
	it->resolution = blob_copy(row, 15, &it->resolution_len);
	if (!it->reasons || (!haven_row_is_null(row, 15) && !it->resolution))
		return HAVEN_ENOMEM;
	return 0;
}

/* Opens the sealed reasons (and note) into it->obj. */
static int item_decrypt(struct haven_tx *tx, const struct haven_master_key *mk,
                        struct alert_item *it)
{
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc = haven_keyring_open(tx, mk, it->patient_id, "alerts", it->rid, "reasons",
	                            it->reasons, it->reasons_len, &pt, &pt_len);
	if (rc)
		return rc;
	json_error_t jerr;
	json_t *reasons = json_loadb((const char *)pt, pt_len, 0, &jerr);
	sodium_memzero(pt, pt_len);
	free(pt);
	if (!reasons)
		return HAVEN_ECORRUPT;
	if (json_object_set_new(it->obj, "reasons", reasons))
		return HAVEN_ENOMEM;
	json_t *note = json_null();
	if (it->resolution) {
		rc = haven_keyring_open(tx, mk, it->patient_id, "alerts", it->rid, "resolution",
		                        it->resolution, it->resolution_len, &pt, &pt_len);
		if (rc)
			return rc;
		note = json_stringn((const char *)pt, pt_len);
		sodium_memzero(pt, pt_len);
		free(pt);
		if (!note)
			return HAVEN_ECORRUPT;
	}
	return json_object_set_new(it->obj, "resolution_note", note) ? HAVEN_ENOMEM : 0;
}

/* The escalation contacts told of the alert, inside "escalation": "contacts":
 * [{"clinician_id", "email", "escalated_at"}] and "to_me" (the caller is one of them).
 * Clinicians' e-mails, not patients'. */
struct contacts_ctx {
	json_t *arr;
	int64_t me;
	int to_me;
};

static int contact_row(const struct haven_row *row, void *arg)
{
	struct contacts_ctx *c = arg;
	int64_t id = haven_row_int(row, 0);
	c->to_me |= id == c->me;
	json_t *o = json_pack("{s:I,s:s,s:o}", "clinician_id", (json_int_t)id, "email",
	                      haven_row_text(row, 1, NULL), "escalated_at",
	                      haven__json_time(haven_row_int(row, 2)));
	return o && !json_array_append_new(c->arr, o) ? 0 : HAVEN_ENOMEM;
}

static int item_contacts(struct haven_tx *tx, int64_t me, struct alert_item *it)
{
	struct contacts_ctx c = {json_array(), me, 0};
	if (!c.arr)
		return HAVEN_ENOMEM;
	struct haven_param p[] = {HAVEN_P_INT(it->id)};
	int rc = haven_tx_query(tx,
	                        "SELECT ae.clinician_id, u.email, ae.escalated_at FROM "
	                        "alert_escalations ae JOIN users u ON u.id = ae.clinician_id WHERE "
	                        "ae.alert_id = ? ORDER BY ae.clinician_id",
	                        p, 1, contact_row, &c);
	json_t *esc = json_object_get(it->obj, "escalation");
	if (rc || json_object_set_new(esc, "contacts", c.arr) ||
	    json_object_set_new(esc, "to_me", json_boolean(c.to_me))) {
		if (rc)
			json_decref(c.arr);
		return rc ? rc : HAVEN_ENOMEM;
	}
	return 0;
}

/* ---- GET /alerts ---- */

struct list_op {
	struct haven_req *r;
	const char *status, *severity;
	int escalated; /* 1: escalated only, -1: not escalated only, 0: both */
	int64_t patient_id, before;
	int64_t limit;
	struct alert_item *items;
	int n;
	int more;
	json_t *arr;
	int64_t next_before;
};

static int list_row(const struct haven_row *row, void *arg)
{
	struct list_op *op = arg;
	if (op->n >= op->limit) {
		op->more = 1;
		return 0;
	}
	return item_from_row(row, &op->items[op->n++]);
}

static int list_tx(struct haven_tx *tx, void *arg)
{
	struct list_op *op = arg;
	for (int i = 0; i < op->n; i++)
		item_release(&op->items[i]);
	op->n = 0;
	op->more = 0;
	char sql[1600];
	struct haven_param p[8];
	size_t np = 0;
	p[np++] = HAVEN_P_INT(op->r->who.id);
	p[np++] = HAVEN_P_INT(op->r->who.id);
	int n = snprintf(sql, sizeof(sql), "%s",
	                 ALERT_COLUMNS "AND (a.kind IN ('crisis_chat', 'phq9_item9', 'abuse_disclosed') OR "
	                               "COALESCE((SELECT cs.granted FROM consents cs WHERE "
	                               "cs.patient_id = a.patient_id AND cs.scope = 'care_team' "
	                               "ORDER BY cs.id DESC LIMIT 1), 0) <> 0)");
	if (op->status) {
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, " AND a.status = ?");
		p[np++] = HAVEN_P_TEXT(op->status);
	}
	if (op->severity) {
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, " AND a.severity = ?");
		p[np++] = HAVEN_P_TEXT(op->severity);
	}
	if (op->patient_id) {
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, " AND a.patient_id = ?");
		p[np++] = HAVEN_P_INT(op->patient_id);
	}
	if (op->escalated)
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, " AND a.escalated_at IS %s",
		              op->escalated > 0 ? "NOT NULL" : "NULL");
	if (op->before) {
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, " AND a.id < ?");
		p[np++] = HAVEN_P_INT(op->before);
	}
	snprintf(sql + n, sizeof(sql) - (size_t)n, " ORDER BY a.id DESC LIMIT ?");
	p[np++] = HAVEN_P_INT(op->limit + 1);
	int rc = haven_tx_query(tx, sql, p, np, list_row, op);
	if (rc)
		return rc;
	for (int i = 0; i < op->n; i++) {
		if ((rc = item_decrypt(tx, op->r->api->mk, &op->items[i])) ||
		    (rc = item_contacts(tx, op->r->who.id, &op->items[i])))
			return rc;
	}
	/* One audit record per patient whose alerts were read. */
	for (int i = 0; i < op->n; i++) {
		int seen = 0, count = 0;
		for (int j = 0; j < op->n; j++) {
			if (op->items[j].patient_id != op->items[i].patient_id)
				continue;
			if (j < i)
				seen = 1;
			count++;
		}
		if (seen)
			continue;
		char subject[48], detail[48];
		snprintf(subject, sizeof(subject), "patient:%lld",
		         (long long)op->items[i].patient_id);
		snprintf(detail, sizeof(detail), "count=%d", count);
		if ((rc = haven__audit(tx, op->r, "alert.read", subject, "ok", detail)))
			return rc;
	}
	if (op->n == 0) {
		char subject[48];
		snprintf(subject, sizeof(subject), "user:%lld", (long long)op->r->who.id);
		return haven__audit(tx, op->r, "alert.read", subject, "ok", "count=0");
	}
	return 0;
}

static int parse_positive(const char *s, int64_t max, int64_t *out)
{
	int64_t v;
	if (haven_parse_int64(s, &v) || v < 1 || v > max)
		return HAVEN_EINVAL;
	*out = v;
	return 0;
}

/* After the audited read (a deferred reply: no worker waits for its group commit). */
static void alerts_listed(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct list_op *op = arg;
	(void)err;
	json_t *arr = rc ? NULL : json_array();
	int64_t next = op->more && op->n ? op->items[op->n - 1].id : 0;
	for (int i = 0; i < op->n; i++) {
		if (arr && json_array_append(arr, op->items[i].obj))
			rc = HAVEN_ENOMEM;
		item_release(&op->items[i]);
	}
	free(op->items);
	if (rc || !arr) {
		json_decref(arr);
		haven_reply_err(r, rc ? rc : HAVEN_ENOMEM, "listing the alerts");
		return;
	}
	haven_reply_json(r, 200,
	                 json_pack("{s:o,s:o}", "alerts", arr, "next_before",
	                           next ? json_integer(next) : json_null()));
}

void haven__h_alerts_list(struct haven_req *r)
{
	struct list_op op = {.r = r, .limit = PAGE_DEFAULT};
	const char *v;
	if ((v = haven__query_arg(r, "status"))) {
		if (strcmp(v, "open") && strcmp(v, "acknowledged") && strcmp(v, "resolved")) {
			haven_reply_error(r, 400, "invalid_query",
			                  "status must be open, acknowledged or resolved");
			return;
		}
		op.status = v;
	}
	if ((v = haven__query_arg(r, "severity"))) {
		if (haven_alert_severity_valid(v)) {
			haven_reply_error(r, 400, "invalid_query",
			                  "severity must be urgent, warning or info");
			return;
		}
		op.severity = v;
	}
	if ((v = haven__query_arg(r, "patient_id")) &&
	    parse_positive(v, INT64_MAX / 2, &op.patient_id)) {
		haven_reply_error(r, 400, "invalid_query", "patient_id must be a positive integer");
		return;
	}
	if ((v = haven__query_arg(r, "escalated"))) {
		if (strcmp(v, "true") && strcmp(v, "false")) {
			haven_reply_error(r, 400, "invalid_query", "escalated must be true or false");
			return;
		}
		op.escalated = !strcmp(v, "true") ? 1 : -1;
	}
	if ((v = haven__query_arg(r, "before")) && parse_positive(v, INT64_MAX / 2, &op.before)) {
		haven_reply_error(r, 400, "invalid_query", "before must be a positive alert id");
		return;
	}
	if ((v = haven__query_arg(r, "limit")) && parse_positive(v, PAGE_MAX, &op.limit)) {
		haven_reply_error(r, 400, "invalid_query", "limit must be 1 to %d", PAGE_MAX);
		return;
	}
	op.items = calloc((size_t)op.limit, sizeof(*op.items));
	if (!op.items) {
		haven_reply_err(r, HAVEN_ENOMEM, "listing the alerts");
		return;
	}
	haven__write_then_copy(r, list_tx, &op, sizeof(op), alerts_listed);
}

/* ---- One alert: read, acknowledge, resolve ---- */

enum alert_action { ALERT_READ, ALERT_ACK, ALERT_RESOLVE };

struct one_op {
	struct haven_req *r;
	enum alert_action action;
	const char *note; /* resolve */
	size_t note_len;
	struct alert_item it;
	int found;
	int refused; /* the status and the code below were audited in the transaction */
	int status;
	const char *code;
	char message[160];
};

static int one_row(const struct haven_row *row, void *arg)
{
	struct one_op *op = arg;
	op->found = 1;
	return item_from_row(row, &op->it);
}

static int load_one(struct haven_tx *tx, struct one_op *op)
{
	if (op->found) {
		item_release(&op->it);
		op->found = 0;
	}
	struct haven_param p[] = {HAVEN_P_INT(op->r->who.id), HAVEN_P_INT(op->r->who.id),
	                          HAVEN_P_INT(op->r->path_id)};
	return haven_tx_query(tx, ALERT_COLUMNS "AND a.id = ?", p, 3, one_row, op);
}

static const char *const action_names[] = {"alert.read", "alert.ack", "alert.resolve"};

static int refuse(struct haven_tx *tx, struct one_op *op, int status, const char *code,
                  const char *why)
{
	op->refused = 1;
	op->status = status;
	op->code = code;
	char subject[48];
	snprintf(subject, sizeof(subject), "alert:%lld", (long long)op->r->path_id);
	return haven__audit(tx, op->r, action_names[op->action], subject, "denied", why);
}

static int seal_note(struct haven_tx *tx, struct one_op *op)
{
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	int rc = haven_keyring_seal(tx, op->r->api->mk, op->it.patient_id, "alerts", op->it.rid,
	                            "resolution", op->note, op->note_len, &ct, &ct_len);
	if (rc)
		return rc;
	struct haven_param p[] = {HAVEN_P_BLOB(ct, ct_len), HAVEN_P_INT(op->it.id)};
	rc = haven_tx_exec(tx, "UPDATE alerts SET resolution = ? WHERE id = ?", p, 2, NULL);
	free(ct);
	return rc;
}

static int one_tx(struct haven_tx *tx, void *arg)
{
	struct one_op *op = arg;
	int rc = load_one(tx, op);
	if (rc)
		return rc;
	if (!op->found)
		return refuse(tx, op, 404, "not_found", "not_on_care_team");
	if (!haven_alert_kind_is_safety(op->it.kind) && !op->it.consent)
		return refuse(tx, op, 403, "consent_required", "consent_withdrawn");

	char subject[48], detail[96];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)op->it.patient_id);
	snprintf(detail, sizeof(detail), "alert=%lld kind=%s", (long long)op->it.id, op->it.kind);
	if (op->action != ALERT_READ) {
		const char *from = op->action == ALERT_ACK ? "open" : "acknowledged";
		const char *to = op->action == ALERT_ACK ? "acknowledged" : "resolved";
		if (strcmp(op->it.status, from)) {
			snprintf(op->message, sizeof(op->message),
			         "alert %lld is %s; only an alert that is %s can be %s",
			         (long long)op->it.id, op->it.status, from, to);
			return refuse(tx, op, 409, "invalid_transition", "wrong_status");
		}
		struct haven_param p[] = {HAVEN_P_TEXT(to), HAVEN_P_INT(haven_now_ms()),
		                          HAVEN_P_INT(op->r->who.id), HAVEN_P_INT(op->it.id),
		                          HAVEN_P_TEXT(from)};
		int64_t changed = 0;
		rc = haven_tx_exec(tx,
		                   op->action == ALERT_ACK
		                       ? "UPDATE alerts SET status = ?, acknowledged_at = ?, "
		                         "acknowledged_by = ? WHERE id = ? AND status = ?"
		                       : "UPDATE alerts SET status = ?, resolved_at = ?, "
		                         "resolved_by = ? WHERE id = ? AND status = ?",
		                   p, 5, &changed);
		if (rc)
			return rc;
		if (changed != 1)
			return HAVEN_ECONFLICT;
		if (op->action == ALERT_RESOLVE && op->note && (rc = seal_note(tx, op)))
			return rc;
		if ((rc = haven__audit(tx, op->r, action_names[op->action], subject, "ok", detail)))
			return rc;
		if ((rc = haven_alert_enqueue(tx, op->it.id,
		                              op->action == ALERT_ACK ? "alert.acknowledged"
		                                                      : "alert.resolved",
		                              "primary")))
			return rc;
		if ((rc = load_one(tx, op)))
			return rc;
		if (!op->found)
			return HAVEN_ECONFLICT;
	}
	if ((rc = item_decrypt(tx, op->r->api->mk, &op->it)) ||
	    (rc = item_contacts(tx, op->r->who.id, &op->it)))
		return rc;
	/* The reply carries the reasons: that is a read of clinical content too. */
	return haven__audit(tx, op->r, "alert.read", subject, "ok", detail);
}

/* After the transaction (a deferred reply: no worker waits while the group commits). */
static void one_done(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct one_op *op = arg;
	(void)err;
	if (rc || op->refused) {
		if (op->found)
			item_release(&op->it);
		if (rc == HAVEN_ECONFLICT) {
			haven_reply_error(r, 409, "invalid_transition",
			                  "the alert changed status meanwhile; read it again");
		} else if (rc) {
			haven_reply_err(r, rc,
			                op->action == ALERT_READ ? "reading the alert"
			                                         : "changing the alert");
		} else {
			r->audited = 1;
			if (op->status == 404)
				haven_reply_not_found(r);
			else if (op->status == 403)
				haven_reply_error(
				    r, 403, "consent_required",
				    "the patient has not granted the care_team consent; "
				    "this alert is not available");
			else
				haven_reply_error(r, op->status, op->code, "%s", op->message);
		}
		return;
	}
	json_t *obj = json_incref(op->it.obj);
	item_release(&op->it);
	haven_reply_json(r, 200, obj);
}

static void run_one(struct haven_req *r, enum alert_action action)
{
	struct one_op op = {.r = r, .action = action};
	if (action == ALERT_RESOLVE && r->body) {
		const struct resolve_body *b = r->body;
		if (b->note.present && b->note.len > 0) {
			op.note = b->note.s;
			op.note_len = b->note.len;
		}
	}
	haven__write_then_copy(r, one_tx, &op, sizeof(op), one_done);
}

void haven__h_alert_get(struct haven_req *r)
{
	run_one(r, ALERT_READ);
}

void haven__h_alert_ack(struct haven_req *r)
{
	run_one(r, ALERT_ACK);
}

void haven__h_alert_resolve(struct haven_req *r)
{
	run_one(r, ALERT_RESOLVE);
}

/* ---- The caller's escalation contacts ----
 * GET /me/escalation-contacts and PUT /me/escalation-contacts ({"contacts": [email, ...]},
 * the whole list, at most HAVEN_ALERT_CONTACTS_MAX): the colleagues (enabled clinician
 * accounts, not the caller) to whom the caller's patients' urgent alerts escalate when
 * nobody acknowledges them in time (migration 10, src/alerts/outbox.c). The reply holds
 * no clinical content: the contacts' ids and e-mails. */

struct esc_contacts_op {
	struct haven_req *r;
	json_t *emails; /* PUT: the validated list; GET: NULL */
	json_t *out;
	char err[320];
};

static int esc_contact_row(const struct haven_row *row, void *arg)
{
	json_t *list = arg;
	json_t *c = json_pack("{s:I,s:s,s:o}", "id", (json_int_t)haven_row_int(row, 0), "email",
	                      haven_row_text(row, 1, NULL), "since",
	                      haven__json_time(haven_row_int(row, 2)));
	return c && json_array_append_new(list, c) == 0 ? 0 : HAVEN_ENOMEM;
}

static int esc_contacts_tx(struct haven_tx *tx, void *arg)
{
	struct esc_contacts_op *op = arg;
	int64_t me = op->r->who.id;
	char subject[48], detail[48];
	snprintf(subject, sizeof(subject), "user:%lld", (long long)me);
	int rc;
	if (op->emails) {
		int64_t ids[HAVEN_ALERT_CONTACTS_MAX];
		size_t i, n = json_array_size(op->emails);
		json_t *v;
		json_array_foreach(op->emails, i, v)
		{
			struct haven_param p[] = {HAVEN_P_TEXT(json_string_value(v))};
			rc = haven_tx_query_int(tx,
			                        "SELECT id FROM users WHERE lower(email) = lower(?) AND "
			                        "role = 'clinician' AND disabled = 0",
			                        p, 1, &ids[i]);
			if (rc == HAVEN_ENOTFOUND || (!rc && ids[i] == me)) {
				snprintf(op->err, sizeof(op->err),
				         "contacts[%zu] '%.200s' is not another enabled clinician account", i,
				         json_string_value(v));
				return haven__audit(tx, op->r, "escalation_contacts.update", subject,
				                    "denied", "not_a_clinician");
			}
			if (rc)
				return rc;
		}
		struct haven_param d[] = {HAVEN_P_INT(me)};
		if ((rc = haven_tx_exec(tx, "DELETE FROM escalation_contacts WHERE clinician_id = ?", d,
		                        1, NULL)))
			return rc;
		for (i = 0; i < n; i++) {
			struct haven_param p[] = {HAVEN_P_INT(me), HAVEN_P_INT(ids[i]),
			                          HAVEN_P_INT(haven_now_ms())};
			if ((rc = haven_tx_exec(tx,
			                        "INSERT INTO escalation_contacts (clinician_id, contact_id, "
			                        "created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			                        p, 3, NULL)))
				return rc;
		}
		snprintf(detail, sizeof(detail), "contacts=%zu", n);
		if ((rc = haven__audit(tx, op->r, "escalation_contacts.update", subject, "ok",
		                       detail)))
			return rc;
	}
	json_t *list = json_array();
	if (!list)
		return HAVEN_ENOMEM;
	struct haven_param p[] = {HAVEN_P_INT(me)};
	rc = haven_tx_query(tx,
	                    "SELECT u.id, u.email, ec.created_at FROM escalation_contacts ec JOIN "
	                    "users u ON u.id = ec.contact_id WHERE ec.clinician_id = ? ORDER BY "
	                    "u.email",
	                    p, 1, esc_contact_row, list);
	if (rc) {
		json_decref(list);
		return rc;
	}
	json_decref(op->out);
	op->out = json_pack("{s:o}", "contacts", list);
	if (!op->out)
		return HAVEN_ENOMEM;
	return op->emails ? 0 : haven__audit(tx, op->r, "escalation_contacts.read", subject, "ok", "");
}

static void esc_contacts_run(struct haven_req *r, json_t *emails)
{
	struct esc_contacts_op op = {.r = r, .emails = emails};
	/* A write transaction either way: the read is audited too. */
	int rc = haven_store_write(r->api->store, esc_contacts_tx, &op);
	if (!rc && op.err[0]) {
		r->audited = 1;
		json_decref(op.out);
		haven_reply_error(r, 400, "invalid_contact", "%s", op.err);
		return;
	}
	if (rc) {
		json_decref(op.out);
		haven_reply_err(r, rc, "your escalation contacts");
		return;
	}
	r->audited = 1;
	haven_reply_json(r, 200, op.out);
}

void haven__h_escalation_contacts_get(struct haven_req *r)
{
	esc_contacts_run(r, NULL);
}

void haven__h_escalation_contacts_put(struct haven_req *r)
{
	static const char *const allowed[] = {"contacts", NULL};
	json_t *body = haven__body_object(r, "escalation contacts body", allowed);
	if (!body)
		return;
	json_t *list = json_object_get(body, "contacts");
	size_t i;
	json_t *v;
	if (!json_is_array(list) || json_array_size(list) > HAVEN_ALERT_CONTACTS_MAX) {
		haven_reply_error(r, 400, "invalid_body",
		                  "field 'contacts' must be an array of at most %d e-mail addresses",
		                  HAVEN_ALERT_CONTACTS_MAX);
		json_decref(body);
		return;
	}
	json_array_foreach(list, i, v)
	{
		if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 254) {
			haven_reply_error(r, 400, "invalid_body",
			                  "contacts[%zu] must be an e-mail address (a non-empty string "
			                  "of at most 254 bytes)",
			                  i);
			json_decref(body);
			return;
		}
	}
	esc_contacts_run(r, list);
	json_decref(body);
}
