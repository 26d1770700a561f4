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
 * Safety alerts (crisis_chat, phq9_item9, abuse_disclosed) reach the care team whatever the
 * patient's care_team consent says (DESIGN.md, "who may see what"); the others only while
 * it is granted.
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

/* Every alert of the patient, newest first, reasons and resolution notes opened, as a
 * JSON array (*out, owned by the caller) for the patient's own export (GET /me/export).
 * The caller audits the export. */
int haven_alerts_json(struct haven_tx *tx, const struct haven_master_key *mk,
                      int64_t patient_id, json_t **out) HAVEN_WUR;

/* 1 when kind is a safety alert that ignores the care_team consent. */
int haven_alert_kind_is_safety(const char *kind);

/* 1 in *out when an active (not disabled) clinician is on the patient's care team, so a
 * safety alert reaches someone (consent does not count: safety alerts ignore it). What the
 * patient is told ("your care team has been told") depends on it. */
int haven_care_team_active(struct haven_tx *tx, int64_t patient_id, int *out) HAVEN_WUR;
/* The count behind it as an SQL expression, for a statement that reads it with other
 * things (the chat turn's one read); PATIENT is SQL for the patient's id. */
#define HAVEN_CARE_TEAM_ACTIVE_SQL(PATIENT)                                                     \
	"(SELECT COUNT(*) FROM care_team ct JOIN users u ON u.id = ct.clinician_id "             \
	"WHERE ct.patient_id = " PATIENT " AND u.disabled = 0)"

/* Validates a severity name: 0 or HAVEN_EINVAL. */
int haven_alert_severity_valid(const char *severity);

/* ---- Lifecycle ----
 * open -> acknowledged -> resolved, each step once, by a clinician of the patient's care
 * team (src/api/alerts.c). Every step, the raise and an escalation queue one webhook
 * event in the same transaction (below). */

/* ---- Delivery (outbox.c) ----
 * Events wait in the alert_outbox table until a webhook receiver answers 2xx: at least
 * once, across restarts. Each row keeps its payload and its idempotency key, so every
 * retry sends the same bytes with the same key. The payload holds no clinical text (see
 * docs/alerts.md): event, alert id, patient id, kind, severity, status and times.
 *
 * Events: "alert.raised", "alert.acknowledged", "alert.resolved" (target "primary") and
 * "alert.escalated" (target "escalation").
 *
 * Escalation: an urgent alert still open escalate_after_ms after it was raised is
 * escalated once, when there is a second contact to tell: the escalation webhook (or the
 * alert webhook), and/or escalation contacts inside Haven: those named by the clinicians
 * of the patient's care team (table escalation_contacts), or, when they named none, the
 * clinic's (escalation_contacts below). Each contact told gets
 * an alert_escalations row and from then on sees the alert in GET /alerts (under the
 * same consent rule as the care team) and may acknowledge and resolve it. alerts.
 * escalated_to names the webhook ("escalation_webhook", "webhook") or "in_app" when
 * only contacts were told. */
int haven_alert_enqueue(struct haven_tx *tx, int64_t alert_id, const char *event,
                        const char *target) HAVEN_WUR;

/* For /metrics: events not yet delivered, the age in ms of the oldest (0 when none), and
 * urgent alerts still open. */
struct haven_alert_stats {
	int64_t pending, oldest_pending_ms, open_urgent;
};
int haven_alert_stats(struct haven_store *s, struct haven_alert_stats *out) HAVEN_WUR;

/* Writes "sha256=<64 hex>" (the X-Haven-Signature header value: HMAC-SHA256 of body
 * under secret) into out (>= 72 bytes). */
void haven_alert_sign(const uint8_t *secret, size_t secret_len, const char *body, size_t len,
                      char out[72]);

struct haven_alert_delivery_config {
	const char *url;            /* primary webhook; NULL: primary events wait */
	const char *escalation_url; /* NULL: escalations go to url */
	/* The clinic's escalation contacts inside Haven: e-mail addresses of clinician
	 * accounts, separated by commas (at most HAVEN_ALERT_CONTACTS_MAX); NULL for none.
	 * Used for a patient whose care team named no contact of its own. Each contact told
	 * sees the escalated alert in GET /alerts and may acknowledge it. */
	const char *escalation_contacts;
	const char *secret;         /* HMAC key (HAVEN_WEBHOOK_SECRET); required with a URL */
	int64_t escalate_after_ms;  /* urgent alerts open this long escalate (with a URL or a
	                             * contact); 0: never */
	int64_t poll_ms;            /* how often the outbox is scanned */
	int64_t backoff_base_ms;    /* first retry delay; doubles per attempt, with jitter */
	int64_t backoff_cap_ms;     /* the longest delay between attempts */
	long timeout_ms;            /* per POST */
};

/* Defaults: no URLs, escalation after 15 minutes, poll every second, backoff 2 s
 * doubling up to 5 minutes, 10 s timeout. */
void haven_alert_delivery_config_init(struct haven_alert_delivery_config *cfg);

#define HAVEN_ALERT_CONTACTS_MAX 8

/* Checks a contact list (as escalation_contacts) against the store: every address must
 * be an enabled clinician account. 0, or HAVEN_EINVAL with the reason ("no clinician
 * account 'x@y'") in err. */
int haven_alert_escalation_contacts_check(struct haven_store *store, const char *contacts,
                                          char *err, size_t errlen) HAVEN_WUR;

struct haven_alert_dispatcher;

/* Starts the delivery thread. The store must outlive the dispatcher; strings in cfg are
 * copied. HAVEN_EINVAL when a URL is given without a secret or is not http(s). */
int haven_alert_dispatcher_start(const struct haven_alert_delivery_config *cfg,
                                 struct haven_store *store,
                                 struct haven_alert_dispatcher **out) HAVEN_WUR;
/* Stops the thread (an attempt in flight finishes first) and frees it; *d = NULL.
 * Undelivered rows stay queued for the next start. */
void haven_alert_dispatcher_stop(struct haven_alert_dispatcher **d);

/* One pass, as the thread does it (not to be run while the thread posts: they share one
 * HTTP handle; tests call it with no URL or a long poll_ms): escalates what is due, then tries every due row once.
 * *escalated and *delivered (optional) count what happened. */
int haven_alert_dispatch_once(struct haven_alert_dispatcher *d, int *escalated,
                              int *delivered) HAVEN_WUR;

#endif
