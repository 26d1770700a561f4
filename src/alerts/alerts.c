/*
 * alerts.c: raising alerts inside the caller's transaction.
 */
#include "alerts/alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	return kind && (!strcmp(kind, "crisis_chat") || !strcmp(kind, "phq9_item9"));
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
	haven_random_id(rid);
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
