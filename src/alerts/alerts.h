/*
 * alerts.h: the durable alert queue. An alert is raised inside the same store
 * transaction as the event that caused it (a chat message, an assessment, a rule run),
 * so the event and its alert are committed together or not at all (DESIGN.md principle
 * 4: nothing acknowledged is lost).
 *
 * An alert has a kind, a severity, a status (open -> acknowledged -> resolved) and
 * reasons: plain-language sentences with the numbers behind them, and, for alerts from
 * text, the phrases that fired. Reasons may quote what the patient wrote, so they are
 * stored encrypted under the patient's data key (table "alerts", field "reasons").
 * Kind, severity, status and times are in clear, for queues and escalation.
 *
 * Kinds used across Haven (free text, snake_case, at most 48 bytes):
 *   crisis_chat             a high-risk message in chat (urgent)
 *   phq9_item9              a PHQ-9 item 9 answer above 0 (urgent)
 *   reliable_deterioration  a reliable increase on PHQ-9 or GAD-7 (warning)
 *   mood_decline            mood below the person's own baseline (warning)
 *   disengagement           no check-in for N days (info)
 *   sleep_low, activity_low sensing far below the person's baseline (warning)
 *   deterioration_risk      the deterioration-risk score above its threshold (warning)
 * Severities: "urgent", "warning", "info".
 *
 * Safety alerts (crisis_chat, phq9_item9) reach the care team whatever the patient's
 * care_team consent says (DESIGN.md, "who may see what"); the others only while it is
 * granted.
 */
#ifndef HAVEN_ALERTS_H
#define HAVEN_ALERTS_H

#include <stdint.h>

#include <jansson.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "store/store.h"

#define HAVEN_ALERT_KIND_MAX 48
#define HAVEN_ALERT_DEDUP_MAX 128

struct haven_alert_new {
	int64_t patient_id;
	const char *kind;     /* see above */
	const char *severity; /* "urgent", "warning" or "info" */
	/* An array of reason objects, each at least {"text": "plain words"}, usually with
	 * "values": {...} (the numbers behind it), "phrases": [...], "rule": "...",
	 * "version": "...". Borrowed: the caller keeps ownership. */
	const json_t *reasons;
	/* What raised it, e.g. "message:<rid>", "assessment:<rid>", "rule:mood_decline";
	 * may be NULL. Not clinical text. */
	const char *source;
	/* When non-NULL, an alert of the same patient and kind with this key that is still
	 * open or acknowledged is not raised again (*id_out gets the existing id and
	 * *created 0). Rules that run repeatedly use it ("2026-W47"). */
	const char *dedup_key;
};

/* Raises a in tx: inserts the alert (reasons sealed under the patient's key, created if
 * needed), appends an "alert.raise" audit record (actor: system) and queues it for
 * delivery. *id_out (optional) receives the alert id, *created (optional) 1 when a new
 * alert was made, 0 when an open duplicate existed. HAVEN_EINVAL for a bad kind,
 * severity or reasons value. */
int haven_alert_raise(struct haven_tx *tx, const struct haven_master_key *mk,
                      const struct haven_alert_new *a, int64_t *id_out, int *created) HAVEN_WUR;

/* 1 when kind is a safety alert that ignores the care_team consent. */
int haven_alert_kind_is_safety(const char *kind);

/* Validates a severity name: 0 or HAVEN_EINVAL. */
int haven_alert_severity_valid(const char *severity);

#endif
