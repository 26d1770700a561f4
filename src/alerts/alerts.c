/*
 * alerts.c: raising alerts inside the caller's transaction.
 */
#include "alerts/alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "crypto/keyring.h"

int haven_alert_severity_valid(const char *severity)
{
	if (!severity)
		return HAVEN_EINVAL;
	if (!strcmp(severity, "urgent") || !strcmp(severity, "warning") ||
	    !strcmp(severity, "info"))
		return 0;
	return HAVEN_EINVAL;
}

int haven_alert_kind_is_safety(const char *kind)
{
	/* abuse_disclosed: violence or abuse by someone else, told in chat (docs/safety.md), is
	 * a safety event like a crisis: it reaches the care team whatever the consent says. */
	return kind && (!strcmp(kind, "crisis_chat") || !strcmp(kind, "phq9_item9") ||
			!strcmp(kind, "abuse_disclosed"));
}

int haven_care_team_active(struct haven_tx *tx, int64_t patient_id, int *out)
{
	int64_t n = 0;
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	int rc = haven_tx_query_int(tx, "SELECT " HAVEN_CARE_TEAM_ACTIVE_SQL("?"), p, 1, &n);
	*out = !rc && n > 0;
	return rc;
}

static int kind_valid(const char *kind)
{
	if (!kind || !kind[0] || strlen(kind) > HAVEN_ALERT_KIND_MAX)
		return 0;
	for (const char *p = kind; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

static int reasons_valid(const json_t *reasons)
{
	if (!json_is_array(reasons) || json_array_size(reasons) == 0)
		return 0;
	size_t i;
	const json_t *r;
	json_array_foreach(reasons, i, r)
	{
		if (!json_is_object(r) || !json_is_string(json_object_get(r, "text")))
			return 0;
	}
	return 1;
}

/* An open or acknowledged alert with the same patient, kind and dedup key. */
static int find_duplicate(struct haven_tx *tx, const struct haven_alert_new *a, int64_t *id)
{
	struct haven_param p[] = {HAVEN_P_INT(a->patient_id), HAVEN_P_TEXT(a->kind),
	                          HAVEN_P_TEXT(a->dedup_key)};
	return haven_tx_query_int(tx,
	                          "SELECT id FROM alerts WHERE patient_id = ? AND kind = ? AND "
	                          "dedup_key = ? AND status <> 'resolved' ORDER BY id LIMIT 1",
	                          p, 3, id);
}

int haven_alert_raise(struct haven_tx *tx, const struct haven_master_key *mk,
                      const struct haven_alert_new *a, int64_t *id_out, int *created)
{
	if (created)
		*created = 0;
	if (!a || a->patient_id <= 0 || !kind_valid(a->kind) ||
	    haven_alert_severity_valid(a->severity) || !reasons_valid(a->reasons))
		return HAVEN_EINVAL;
	if (a->dedup_key && strlen(a->dedup_key) > HAVEN_ALERT_DEDUP_MAX)
		return HAVEN_EINVAL;
	if (a->source && strlen(a->source) > 128)
		return HAVEN_EINVAL;

	int64_t id = 0;
	int rc;
	if (a->dedup_key) {
		rc = find_duplicate(tx, a, &id);
		if (rc == 0) {
			if (id_out)
				*id_out = id;
			return 0;
		}
		if (rc != HAVEN_ENOTFOUND)
			return rc;
	}

	char *text = json_dumps(a->reasons, JSON_COMPACT);
	if (!text)
		return HAVEN_ENOMEM;
	char rid[33];
	haven_record_id(rid);
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	rc = haven_keyring_seal(tx, mk, a->patient_id, "alerts", rid, "reasons", text, strlen(text),
	                        &ct, &ct_len);
	free(text);
	if (rc)
		return rc;
	struct haven_param p[] = {
	    HAVEN_P_TEXT(rid),
	    HAVEN_P_INT(a->patient_id),
	    HAVEN_P_TEXT(a->kind),
	    HAVEN_P_TEXT(a->severity),
	    HAVEN_P_TEXT(a->source ? a->source : ""),
	    a->dedup_key ? HAVEN_P_TEXT(a->dedup_key) : HAVEN_P_NULL,
	    HAVEN_P_INT(haven_now_ms()),
	    HAVEN_P_BLOB(ct, ct_len),
	};
	rc = haven_tx_query_int(tx,
	                        "INSERT INTO alerts (rid, patient_id, kind, severity, source, "
	                        "dedup_key, created_at, reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
	                        "RETURNING id",
	                        p, 8, &id);
	free(ct);
	if (rc)
		return rc;

	char subject[48], detail[128];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)a->patient_id);
	snprintf(detail, sizeof(detail), "alert=%lld kind=%s severity=%s", (long long)id, a->kind,
	         a->severity);
	struct haven_audit_event ev = {
	    .actor_id = 0,
	    .actor_role = "system",
	    .action = "alert.raise",
	    .subject = subject,
	    .outcome = "ok",
	    .request_id = "",
	    .detail = detail,
	};
	rc = haven_audit_append(tx, &ev);
	if (rc)
		return rc;
	rc = haven_alert_enqueue(tx, id, "alert.raised", "primary");
	if (rc)
		return rc;
	if (id_out)
		*id_out = id;
	if (created)
		*created = 1;
	return 0;
}

/* ---- The patient's export ---- */

struct export_item {
	char rid[40];
	json_t *obj;
	uint8_t *reasons, *note;
	size_t reasons_len, note_len;
};

struct export_op {
	struct export_item *items;
	size_t n, cap;
};

static uint8_t *copy_blob(const struct haven_row *row, int col, size_t *len)
{
	*len = 0;
	if (haven_row_is_null(row, col))
		return NULL;
	const void *b = haven_row_blob(row, col, len);
	uint8_t *c = malloc(*len ? *len : 1);
	if (c && *len)
		memcpy(c, b, *len);
	return c;
}

static json_t *time_json(const struct haven_row *row, int col)
{
	if (haven_row_is_null(row, col))
		return json_null();
	char buf[32];
	haven_time_format(haven_row_int(row, col), buf);
	return json_string(buf);
}

static int export_row(const struct haven_row *row, void *arg)
{
	struct export_op *op = arg;
	if (op->n == op->cap) {
		size_t cap = op->cap ? op->cap * 2 : 16;
		struct export_item *it = realloc(op->items, cap * sizeof(*it));
		if (!it)
			return HAVEN_ENOMEM;
		op->items = it;
		op->cap = cap;
	}
	struct export_item *it = &op->items[op->n];
	memset(it, 0, sizeof(*it));
	snprintf(it->rid, sizeof(it->rid), "%s", haven_row_text(row, 1, NULL));
	it->obj = json_pack(
	    "{s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)haven_row_int(row, 0), "kind",
	    haven_row_text(row, 2, NULL), "severity", haven_row_text(row, 3, NULL), "status",
	    haven_row_text(row, 4, NULL), "created_at", time_json(row, 5), "acknowledged_at",
	    time_json(row, 6), "resolved_at", time_json(row, 7), "escalated_at", time_json(row, 8));
	op->n++;
	it->reasons = copy_blob(row, 9, &it->reasons_len);
	it->note = copy_blob(row, 10, &it->note_len);
	if (!it->obj || !it->reasons || (!haven_row_is_null(row, 10) && !it->note))
		return HAVEN_ENOMEM;
	return 0;
}

static int open_into(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                     struct export_item *it, const char *field, const uint8_t *ct, size_t len,
                     json_t **out)
{
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc =
	    haven_keyring_open(tx, mk, patient_id, "alerts", it->rid, field, ct, len, &pt, &pt_len);
	if (rc)
		return rc;
	if (!strcmp(field, "reasons")) {
		json_error_t e;
		*out = json_loadb((const char *)pt, pt_len, 0, &e);
	} else {
		*out = json_stringn((const char *)pt, pt_len);
	}
	sodium_memzero(pt, pt_len);
	free(pt);
	return *out ? 0 : HAVEN_ECORRUPT;
}

int haven_alerts_json(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                      json_t **out)
{
	*out = NULL;
	struct export_op op = {0};
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	int rc = haven_tx_query(tx,
	                        "SELECT id, rid, kind, severity, status, created_at, "
	                        "acknowledged_at, resolved_at, escalated_at, reasons, resolution "
	                        "FROM alerts WHERE patient_id = ? ORDER BY id DESC",
	                        p, 1, export_row, &op);
	json_t *arr = rc ? NULL : json_array();
	if (!rc && !arr)
		rc = HAVEN_ENOMEM;
	for (size_t i = 0; i < op.n; i++) {
		struct export_item *it = &op.items[i];
		json_t *reasons = NULL, *note = NULL;
		if (!rc)
			rc = open_into(tx, mk, patient_id, it, "reasons", it->reasons,
			               it->reasons_len, &reasons);
		if (!rc && it->note)
			rc = open_into(tx, mk, patient_id, it, "resolution", it->note, it->note_len,
			               &note);
		if (!rc &&
		    (json_object_set_new(it->obj, "reasons", reasons) ||
		     json_object_set_new(it->obj, "resolution_note", note ? note : json_null()) ||
		     json_array_append(arr, it->obj)))
			rc = HAVEN_ENOMEM;
		else if (rc) {
			json_decref(reasons);
			json_decref(note);
		}
		json_decref(it->obj);
		free(it->reasons);
		free(it->note);
	}
	free(op.items);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}
