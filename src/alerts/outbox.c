/*
 * outbox.c: webhook delivery of alert events through a durable outbox, and escalation.
 *
 * haven_alert_enqueue() writes one alert_outbox row in the caller's transaction, so an
 * alert and its delivery are committed together. The dispatcher thread in `haven serve`
 * wakes every poll_ms, escalates urgent alerts left open past escalate_after_ms (once:
 * escalated_at is set in the same transaction that records the in-app escalation contacts
 * told (alert_escalations), queues the "alert.escalated" event and audits it), then POSTs
 * every due row. A 2xx marks the row delivered; anything else
 * schedules the next attempt after base * 2^attempts (capped), drawn uniformly from the
 * upper half of that delay so that many receivers coming back do not get a thundering
 * herd. Rows are never dropped: delivery is at least once, and a receiver that answers
 * after its reply was lost sees the same Idempotency-Key again.
 *
 * Logs name the outbox row, alert id, event, HTTP status and attempt: never the payload's
 * values beyond ids, never the secret, never the URL (it may carry a token).
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/alerts.h"
#include "audit/audit.h"

#define BATCH 32
#define URL_MAX 2048
#define SECRET_MAX 1024

/* ---- Enqueue ---- */

/* Bumped by every enqueue in this process. The row is not committed yet when it is
 * bumped, so the dispatcher looks a little later (KICK_FIRST_MS, then KICK_SECOND_MS):
 * an alert raised here usually goes out within tens of milliseconds instead of waiting
 * for the next poll; rows from other processes wait for the poll. */
static atomic_uint_fast64_t kick_seq;
#define KICK_SLICE_MS 25
#define KICK_FIRST_MS 25
#define KICK_SECOND_MS 250

struct alert_row {
	int found;
	int64_t patient_id, created_at, acknowledged_at, resolved_at, escalated_at;
	char kind[HAVEN_ALERT_KIND_MAX + 1], severity[16], status[16];
};

static void copy_text(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static int alert_row_cb(const struct haven_row *row, void *arg)
{
	struct alert_row *a = arg;
	a->found = 1;
	a->patient_id = haven_row_int(row, 0);
	copy_text(a->kind, sizeof(a->kind), haven_row_text(row, 1, NULL));
	copy_text(a->severity, sizeof(a->severity), haven_row_text(row, 2, NULL));
	copy_text(a->status, sizeof(a->status), haven_row_text(row, 3, NULL));
	a->created_at = haven_row_int(row, 4);
	a->acknowledged_at = haven_row_is_null(row, 5) ? 0 : haven_row_int(row, 5);
	a->resolved_at = haven_row_is_null(row, 6) ? 0 : haven_row_int(row, 6);
	a->escalated_at = haven_row_is_null(row, 7) ? 0 : haven_row_int(row, 7);
	return 0;
}

static json_t *time_or_null(int64_t ms)
{
	if (!ms)
		return json_null();
	char buf[32];
	haven_time_format(ms, buf);
	return json_string(buf);
}

int haven_alert_enqueue(struct haven_tx *tx, int64_t alert_id, const char *event,
                        const char *target)
{
	if (!event || !target || (strcmp(target, "primary") && strcmp(target, "escalation")))
		return HAVEN_EINVAL;
	struct alert_row a = {0};
	struct haven_param p[] = {HAVEN_P_INT(alert_id)};
	int rc =
	    haven_tx_query(tx,
	                   "SELECT patient_id, kind, severity, status, created_at, "
	                   "acknowledged_at, resolved_at, escalated_at FROM alerts WHERE id = ?",
	                   p, 1, alert_row_cb, &a);
	if (rc)
		return rc;
	if (!a.found)
		return HAVEN_ENOTFOUND;

	char key[33], path[64];
	haven_random_id(key);
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld", (long long)alert_id);
	int64_t now = haven_now_ms();
	json_t *alert = json_pack(
	    "{s:I,s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s}", "id", (json_int_t)alert_id, "patient_id",
	    (json_int_t)a.patient_id, "kind", a.kind, "severity", a.severity, "status", a.status,
	    "created_at", time_or_null(a.created_at), "acknowledged_at",
	    time_or_null(a.acknowledged_at), "resolved_at", time_or_null(a.resolved_at),
	    "escalated_at", time_or_null(a.escalated_at), "path", path);
	json_t *doc = alert ? json_pack("{s:s,s:s,s:o,s:o}", "event", event, "delivery_id", key,
	                                "occurred_at", time_or_null(now), "alert", alert)
	                    : NULL;
	char *payload = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (!payload)
		return HAVEN_ENOMEM;
	struct haven_param q[] = {
	    HAVEN_P_INT(alert_id), HAVEN_P_TEXT(event), HAVEN_P_TEXT(target), HAVEN_P_TEXT(key),
	    HAVEN_P_TEXT(payload), HAVEN_P_INT(now),    HAVEN_P_INT(now)};
	rc = haven_tx_exec(tx,
	                   "INSERT INTO alert_outbox (alert_id, event, target, idempotency_key, "
	                   "payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	                   q, 7, NULL);
	free(payload);
	if (rc == 0)
		atomic_fetch_add(&kick_seq, 1);
	return rc;
}

static int stats_row(const struct haven_row *row, void *arg)
{
	struct haven_alert_stats *st = arg;
	st->pending = haven_row_int(row, 0);
	st->oldest_pending_ms =
	    haven_row_is_null(row, 1) ? 0 : haven_now_ms() - haven_row_int(row, 1);
	return 0;
}

static int stats_tx(struct haven_tx *tx, void *arg)
{
	struct haven_alert_stats *st = arg;
	int rc = haven_tx_query(tx,
	                        "SELECT COUNT(*), MIN(created_at) FROM alert_outbox WHERE "
	                        "delivered_at IS NULL",
	                        NULL, 0, stats_row, st);
	if (rc)
		return rc;
	return haven_tx_query_int(tx,
	                          "SELECT COUNT(*) FROM alerts WHERE severity = 'urgent' AND "
	                          "status = 'open'",
	                          NULL, 0, &st->open_urgent);
}

int haven_alert_stats(struct haven_store *s, struct haven_alert_stats *out)
{
	memset(out, 0, sizeof(*out));
	return haven_store_read(s, stats_tx, out);
}

void haven_alert_sign(const uint8_t *secret, size_t secret_len, const char *body, size_t len,
                      char out[72])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, secret, secret_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, 72 - 7, mac, sizeof(mac));
}

/* ---- The dispatcher ---- */

void haven_alert_delivery_config_init(struct haven_alert_delivery_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->escalate_after_ms = 15 * 60 * 1000;
	cfg->poll_ms = 1000;
	cfg->backoff_base_ms = 2000;
	cfg->backoff_cap_ms = 5 * 60 * 1000;
	cfg->timeout_ms = 10000;
}

#define CONTACT_MAX 256

struct haven_alert_dispatcher {
	struct haven_alert_delivery_config cfg;
	char url[URL_MAX], escalation_url[URL_MAX];
	char contacts[HAVEN_ALERT_CONTACTS_MAX][CONTACT_MAX]; /* escalation contacts' e-mails */
	int ncontacts;
	uint8_t *secret; /* sodium_malloc */
	size_t secret_len;
	struct haven_store *store;
	pthread_t thread;
	int running;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
	CURL *curl; /* used by the delivery thread only; keeps connections alive */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int url_ok(const char *u)
{
	return u && strlen(u) < URL_MAX &&
	       (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8));
}

/* ---- Escalation ---- */

/* Splits "a@x, b@y" into out; HAVEN_EINVAL for an empty entry, one too long or too many. */
static int contacts_parse(const char *list, char out[][CONTACT_MAX], int *n)
{
	*n = 0;
	if (!list || !*list)
		return 0;
	const char *p = list;
	for (;;) {
		while (*p == ' ')
			p++;
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && p[len - 1] == ' ')
			len--;
		if (!len || len >= CONTACT_MAX || *n >= HAVEN_ALERT_CONTACTS_MAX)
			return HAVEN_EINVAL;
		memcpy(out[*n], p, len);
		out[*n][len] = '\0';
		(*n)++;
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* The enabled clinician account with this e-mail (case-insensitive): 0 and *id, or
 * HAVEN_ENOTFOUND. */
static int contact_id(struct haven_tx *tx, const char *email, int64_t *id)
{
	struct haven_param p[] = {HAVEN_P_TEXT(email)};
	return haven_tx_query_int(tx,
	                          "SELECT id FROM users WHERE lower(email) = lower(?) AND role = "
	                          "'clinician' AND disabled = 0",
	                          p, 1, id);
}

struct contacts_check {
	char list[HAVEN_ALERT_CONTACTS_MAX][CONTACT_MAX];
	int n;
	int bad; /* index of the first address that is not a clinician, or -1 */
};

static int contacts_check_tx(struct haven_tx *tx, void *arg)
{
	struct contacts_check *c = arg;
	c->bad = -1;
	for (int i = 0; i < c->n; i++) {
		int64_t id;
		int rc = contact_id(tx, c->list[i], &id);
		if (rc == HAVEN_ENOTFOUND) {
			c->bad = i;
			return 0;
		}
		if (rc)
			return rc;
	}
	return 0;
}

int haven_alert_escalation_contacts_check(struct haven_store *store, const char *contacts,
                                          char *err, size_t errlen)
{
	struct contacts_check *c = calloc(1, sizeof(*c));
	if (!c)
		return HAVEN_ENOMEM;
	int rc = contacts_parse(contacts, c->list, &c->n);
	if (rc) {
		snprintf(err, errlen,
		         "escalation contacts must be 1 to %d e-mail addresses separated by commas",
		         HAVEN_ALERT_CONTACTS_MAX);
		goto out;
	}
	if ((rc = haven_store_read(store, contacts_check_tx, c)))
		goto out;
	if (c->bad >= 0) {
		snprintf(err, errlen,
		         "no enabled clinician account '%.200s' for an escalation contact",
		         c->list[c->bad]);
		rc = HAVEN_EINVAL;
	}
out:
	free(c);
	return rc;
}

/* The escalation contacts a patient's care team named (escalation_contacts, set by each
 * clinician with PUT /me/escalation-contacts): enabled clinician accounts, at most
 * TEAM_CONTACTS_MAX. */
#define TEAM_CONTACTS_MAX 64
struct team_contacts {
	int64_t ids[TEAM_CONTACTS_MAX];
	int n;
};

static int team_contact_row(const struct haven_row *row, void *arg)
{
	struct team_contacts *t = arg;
	if (t->n < TEAM_CONTACTS_MAX)
		t->ids[t->n++] = haven_row_int(row, 0);
	return 0;
}

static int team_contacts_get(struct haven_tx *tx, int64_t patient_id, struct team_contacts *t)
{
	struct haven_param p[] = {HAVEN_P_INT(patient_id), HAVEN_P_INT(TEAM_CONTACTS_MAX)};
	t->n = 0;
	return haven_tx_query(tx,
	                      "SELECT DISTINCT ec.contact_id FROM care_team ct JOIN "
	                      "escalation_contacts ec ON ec.clinician_id = ct.clinician_id JOIN "
	                      "users u ON u.id = ec.contact_id WHERE ct.patient_id = ? AND "
	                      "u.role = 'clinician' AND u.disabled = 0 ORDER BY ec.contact_id "
	                      "LIMIT ?",
	                      p, 2, team_contact_row, t);
}

struct escalate_op {
	struct haven_alert_dispatcher *d;
	int64_t now;
	int64_t ids[BATCH];
	int64_t patients[BATCH];
	int n;
	int escalated;
	int nobody; /* an alert had nobody to tell although the clinic named contacts */
};

static int due_alert_row(const struct haven_row *row, void *arg)
{
	struct escalate_op *op = arg;
	if (op->n < BATCH) {
		op->ids[op->n] = haven_row_int(row, 0);
		op->patients[op->n] = haven_row_int(row, 1);
		op->n++;
	}
	return 0;
}

static int escalate_tx(struct haven_tx *tx, void *arg)
{
	struct escalate_op *op = arg;
	op->n = 0;
	op->escalated = 0;
	struct haven_param p[] = {HAVEN_P_INT(op->now - op->d->cfg.escalate_after_ms),
	                          HAVEN_P_INT(BATCH)};
	int rc = haven_tx_query(tx,
	                        "SELECT id, patient_id FROM alerts WHERE severity = 'urgent' AND "
	                        "status = 'open' AND escalated_at IS NULL AND created_at <= ? "
	                        "ORDER BY id LIMIT ?",
	                        p, 2, due_alert_row, op);
	if (rc)
		return rc;
	op->nobody = 0;
	if (!op->n)
		return 0;
	/* The clinic's contacts, looked up now: an account disabled since the start is not
	 * told. */
	int64_t clinic[HAVEN_ALERT_CONTACTS_MAX];
	int nclinic = 0;
	for (int c = 0; c < op->d->ncontacts; c++) {
		int64_t id;
		rc = contact_id(tx, op->d->contacts[c], &id);
		if (rc == HAVEN_ENOTFOUND)
			continue;
		if (rc)
			return rc;
		clinic[nclinic++] = id;
	}
	int webhook = op->d->url[0] || op->d->escalation_url[0];
	int n = op->n, kept = 0;
	for (int i = 0; i < n; i++) {
		/* The care team's own contacts first; the clinic's only when it named none. */
		struct team_contacts team = {.n = 0};
		if ((rc = team_contacts_get(tx, op->patients[i], &team)))
			return rc;
		const int64_t *told = team.n ? team.ids : clinic;
		int ntold = team.n ? team.n : nclinic;
		const char *source = team.n ? "care_team" : nclinic ? "clinic" : "none";
		if (!webhook && !ntold) {
			/* Nobody to tell: the alert is not marked escalated (it would look
			 * handled). Worth a warning only when the clinic named contacts. */
			op->nobody |= op->d->ncontacts > 0;
			continue;
		}
		const char *to = op->d->escalation_url[0] ? "escalation_webhook"
		                 : op->d->url[0]          ? "webhook"
		                                          : "in_app";
		struct haven_param u[] = {HAVEN_P_INT(op->now), HAVEN_P_TEXT(to),
		                          HAVEN_P_INT(op->ids[i])};
		int64_t changed = 0;
		rc = haven_tx_exec(
		    tx,
		    "UPDATE alerts SET escalated_at = ?, escalated_to = ? WHERE id = ? "
		    "AND escalated_at IS NULL AND status = 'open'",
		    u, 3, &changed);
		if (rc)
			return rc;
		if (changed != 1)
			continue;
		for (int c = 0; c < ntold; c++) {
			struct haven_param e[] = {HAVEN_P_INT(op->ids[i]), HAVEN_P_INT(told[c]),
			                          HAVEN_P_INT(op->now)};
			rc = haven_tx_exec(tx,
			                   "INSERT INTO alert_escalations (alert_id, clinician_id, "
			                   "escalated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			                   e, 3, NULL);
			if (rc)
				return rc;
		}
		char subject[48], detail[160];
		snprintf(subject, sizeof(subject), "patient:%lld", (long long)op->patients[i]);
		snprintf(detail, sizeof(detail),
		         "alert=%lld to=%s contacts=%d contacts_from=%s after_ms=%lld",
		         (long long)op->ids[i], to, ntold, source,
		         (long long)op->d->cfg.escalate_after_ms);
		struct haven_audit_event ev = {
		    .actor_id = 0,
		    .actor_role = "system",
		    .action = "alert.escalate",
		    .subject = subject,
		    .outcome = "ok",
		    .request_id = "",
		    .detail = detail,
		};
		if ((rc = haven_audit_append(tx, &ev)))
			return rc;
		if ((rc = haven_alert_enqueue(tx, op->ids[i], "alert.escalated", "escalation")))
			return rc;
		op->ids[kept] = op->ids[i];
		op->patients[kept] = op->patients[i];
		kept++;
		op->escalated++;
	}
	op->n = kept; /* ids[0..n) are the alerts escalated in this pass */
	return 0;
}

/* ---- Delivery ---- */

struct outbox_row {
	int64_t id, alert_id;
	int64_t attempts;
	int64_t due_at; /* next_attempt_at as read */
	int claimed;    /* this dispatcher holds the lease */
	int done;       /* attempted in this pass (the result is written) */
	char event[32], target[16], key[40];
	char *payload;
};

struct due_op {
	struct outbox_row rows[BATCH];
	int n;
	int primary, escalation; /* which targets have somewhere to go */
	int64_t now;
	int64_t lease_until;
};

static int due_row(const struct haven_row *row, void *arg)
{
	struct due_op *op = arg;
	if (op->n >= BATCH)
		return 0;
	struct outbox_row *o = &op->rows[op->n];
	o->id = haven_row_int(row, 0);
	o->alert_id = haven_row_int(row, 1);
	copy_text(o->event, sizeof(o->event), haven_row_text(row, 2, NULL));
	copy_text(o->target, sizeof(o->target), haven_row_text(row, 3, NULL));
	copy_text(o->key, sizeof(o->key), haven_row_text(row, 4, NULL));
	o->payload = strdup(haven_row_text(row, 5, NULL));
	o->attempts = haven_row_int(row, 6);
	o->due_at = haven_row_int(row, 7);
	o->claimed = o->done = 0;
	if (!o->payload)
		return HAVEN_ENOMEM;
	op->n++;
	return 0;
}

/* Reads the due rows and takes a lease on each (next_attempt_at moved to lease_until,
 * compare-and-set on the value read), so that two servers sharing one PostgreSQL database
 * do not post the same row at once, and a server that dies mid-post leaves the row to be
 * retried when the lease runs out. */
static int due_tx(struct haven_tx *tx, void *arg)
{
	struct due_op *op = arg;
	for (int i = 0; i < op->n; i++)
		free(op->rows[i].payload);
	op->n = 0;
	struct haven_param p[] = {HAVEN_P_INT(op->now), HAVEN_P_TEXT(op->primary ? "primary" : "-"),
	                          HAVEN_P_TEXT(op->escalation ? "escalation" : "-"),
	                          HAVEN_P_INT(BATCH)};
	int rc = haven_tx_query(tx,
	                        "SELECT id, alert_id, event, target, idempotency_key, payload, "
	                        "attempts, next_attempt_at FROM alert_outbox WHERE delivered_at IS "
	                        "NULL AND next_attempt_at <= ? AND target IN (?, ?) ORDER BY id "
	                        "LIMIT ?",
	                        p, 4, due_row, op);
	for (int i = 0; rc == 0 && i < op->n; i++) {
		struct outbox_row *o = &op->rows[i];
		struct haven_param u[] = {HAVEN_P_INT(op->lease_until), HAVEN_P_INT(o->id),
		                          HAVEN_P_INT(o->due_at)};
		int64_t changed = 0;
		rc = haven_tx_exec(tx,
		                   "UPDATE alert_outbox SET next_attempt_at = ? WHERE id = ? AND "
		                   "next_attempt_at = ? AND delivered_at IS NULL",
		                   u, 3, &changed);
		o->claimed = changed == 1;
	}
	return rc;
}

/* Gives back the leases of rows this pass did not attempt: due again at once. */
static int release_tx(struct haven_tx *tx, void *arg)
{
	struct due_op *op = arg;
	int64_t now = haven_now_ms();
	for (int i = 0; i < op->n; i++) {
		struct outbox_row *o = &op->rows[i];
		if (!o->claimed || o->done)
			continue;
		struct haven_param u[] = {HAVEN_P_INT(now), HAVEN_P_INT(o->id),
		                          HAVEN_P_INT(op->lease_until)};
		int rc =
		    haven_tx_exec(tx,
		                  "UPDATE alert_outbox SET next_attempt_at = ? WHERE id = ? AND "
		                  "next_attempt_at = ? AND delivered_at IS NULL",
		                  u, 3, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

struct result_op {
	int64_t id;
	int ok;
	long status;
	const char *error;
	int64_t now, next;
};

static int result_tx(struct haven_tx *tx, void *arg)
{
	struct result_op *op = arg;
	if (op->ok) {
		struct haven_param p[] = {HAVEN_P_INT(op->now), HAVEN_P_INT(op->status),
		                          HAVEN_P_INT(op->id)};
		return haven_tx_exec(tx,
		                     "UPDATE alert_outbox SET delivered_at = ?, last_status = ?, "
		                     "attempts = attempts + 1, last_error = NULL WHERE id = ?",
		                     p, 3, NULL);
	}
	struct haven_param p[] = {HAVEN_P_INT(op->next), HAVEN_P_INT(op->status),
	                          HAVEN_P_TEXT(op->error), HAVEN_P_INT(op->id)};
	return haven_tx_exec(
	    tx,
	    "UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = ?, "
	    "last_status = ?, last_error = ? WHERE id = ?",
	    p, 4, NULL);
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

/* POSTs one row; returns the HTTP status (0 when no reply) and a short error. */
static long post_row(struct haven_alert_dispatcher *d, const char *url, const struct outbox_row *o,
                     char *err, size_t errlen)
{
	err[0] = '\0';
	/* libcurl (and the TLS library under it) is set up at the first delivery, not at
	 * start: a server without a webhook never pays for it. */
	pthread_once(&curl_once, curl_init_once);
	if (!d->curl && !(d->curl = curl_easy_init())) {
		snprintf(err, errlen, "curl_easy_init failed");
		return 0;
	}
	CURL *c = d->curl;
	curl_easy_reset(c); /* options only: the connection cache stays */
	char sig[72], h_sig[100], h_key[80], h_event[64], h_attempt[64];
	size_t len = strlen(o->payload);
	haven_alert_sign(d->secret, d->secret_len, o->payload, len, sig);
	snprintf(h_sig, sizeof(h_sig), "X-Haven-Signature: %s", sig);
	snprintf(h_key, sizeof(h_key), "Idempotency-Key: %s", o->key);
	snprintf(h_event, sizeof(h_event), "X-Haven-Event: %s", o->event);
	snprintf(h_attempt, sizeof(h_attempt), "X-Haven-Delivery-Attempt: %lld",
	         (long long)o->attempts + 1);
	struct curl_slist *h = NULL, *t;
	const char *headers[] = {"Content-Type: application/json",
	                         "User-Agent: haven-alerts/1",
	                         "Expect:",
	                         h_sig,
	                         h_key,
	                         h_event,
	                         h_attempt};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		t = curl_slist_append(h, headers[i]);
		if (!t) {
			curl_slist_free_all(h);
			snprintf(err, errlen, "out of memory");
			return 0;
		}
		h = t;
	}
	char cerr[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->payload);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, d->cfg.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, d->cfg.timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	long status = 0;
	CURLcode cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%.150s", cerr[0] ? cerr : curl_easy_strerror(cc));
	if (cc == CURLE_OK && (status < 200 || status > 299))
		snprintf(err, errlen, "HTTP %ld", status);
	curl_slist_free_all(h);
	return status;
}

static int64_t backoff_ms(const struct haven_alert_delivery_config *cfg, int64_t attempts)
{
	int64_t delay = cfg->backoff_base_ms;
	for (int64_t i = 0; i < attempts && delay < cfg->backoff_cap_ms; i++)
		delay *= 2;
	if (delay > cfg->backoff_cap_ms)
		delay = cfg->backoff_cap_ms;
	if (delay < 2)
		return delay;
	/* Full delay's upper half: [delay/2, delay]. */
	int64_t half = delay / 2;
	uint32_t span = half >= UINT32_MAX ? UINT32_MAX : (uint32_t)half + 1;
	return half + (int64_t)randombytes_uniform(span);
}

/* Whether an urgent alert is due for escalation and its care team named a contact. */
struct due_check {
	int64_t raised_before;
	int64_t *count;
};

static int due_for_team_tx(struct haven_tx *tx, void *arg)
{
	struct due_check *c = arg;
	struct haven_param p[] = {HAVEN_P_INT(c->raised_before)};
	return haven_tx_query_int(tx,
	                          "SELECT COUNT(*) FROM alerts a WHERE a.severity = 'urgent' AND "
	                          "a.status = 'open' AND a.escalated_at IS NULL AND a.created_at "
	                          "<= ? AND EXISTS (SELECT 1 FROM care_team ct JOIN "
	                          "escalation_contacts ec ON ec.clinician_id = ct.clinician_id "
	                          "WHERE ct.patient_id = a.patient_id)",
	                          p, 1, c->count);
}

int haven_alert_dispatch_once(struct haven_alert_dispatcher *d, int *escalated, int *delivered)
{
	if (escalated)
		*escalated = 0;
	if (delivered)
		*delivered = 0;
	int rc;
	/* Runs even with no webhook and no clinic contact: a care team may have named its
	 * own contacts. An alert with nobody to tell is left as it is (escalate_tx). */
	if (d->cfg.escalate_after_ms > 0) {
		struct escalate_op e = {.d = d, .now = haven_now_ms()};
		/* A read first, so that a clinic with no webhook and no contact of its own does
		 * not take the write lock every poll for alerts nobody can be told of. */
		int64_t due = 1;
		if (!d->url[0] && !d->escalation_url[0] && !d->ncontacts &&
		    (rc = haven_store_read(
		         d->store, due_for_team_tx,
		         &(struct due_check){e.now - d->cfg.escalate_after_ms, &due})))
			return rc;
		if (due && (rc = haven_store_write(d->store, escalate_tx, &e)))
			return rc;
		if (e.nobody)
			haven_log(HAVEN_LOG_WARN,
			          "event=alert_escalation_skipped reason=no_enabled_contact");
		if (escalated)
			*escalated = e.escalated;
		for (int i = 0; i < e.n; i++)
			haven_log(HAVEN_LOG_WARN, "event=alert_escalated alert=%lld",
			          (long long)e.ids[i]);
	}
	struct due_op *op = calloc(1, sizeof(*op));
	if (!op)
		return HAVEN_ENOMEM;
	op->now = haven_now_ms();
	op->primary = d->url[0] != '\0';
	op->escalation = d->url[0] || d->escalation_url[0];
	if (!op->primary && !op->escalation) {
		free(op);
		return 0;
	}
	op->lease_until = op->now + 2 * d->cfg.timeout_ms + 1000;
	rc = haven_store_write(d->store, due_tx, op);
	/* A receiver that failed once in this pass is not tried again until the next pass,
	 * so one that hangs costs one timeout per pass, not one per queued row. */
	const char *failed[2] = {NULL, NULL};
	for (int i = 0; rc == 0 && i < op->n; i++) {
		struct outbox_row *o = &op->rows[i];
		const char *url = !strcmp(o->target, "escalation") && d->escalation_url[0]
		                      ? d->escalation_url
		                      : d->url;
		if (!o->claimed || url == failed[0] || url == failed[1])
			continue;
		o->done = 1;
		char err[200];
		long status = post_row(d, url, o, err, sizeof(err));
		struct result_op r = {.id = o->id,
		                      .ok = status >= 200 && status <= 299,
		                      .status = status,
		                      .error = err,
		                      .now = haven_now_ms()};
		r.next = r.now + backoff_ms(&d->cfg, o->attempts);
		rc = haven_store_write(d->store, result_tx, &r);
		if (r.ok) {
			if (delivered)
				(*delivered)++;
			haven_log(HAVEN_LOG_INFO,
			          "event=alert_delivered outbox=%lld alert=%lld type=%s status=%ld "
			          "attempt=%lld",
			          (long long)o->id, (long long)o->alert_id, o->event, status,
			          (long long)o->attempts + 1);
		} else {
			failed[url == d->url ? 0 : 1] = url;
			haven_log(HAVEN_LOG_WARN,
			          "event=alert_delivery_failed outbox=%lld alert=%lld type=%s "
			          "status=%ld attempt=%lld retry_in_ms=%lld error=\"%s\"",
			          (long long)o->id, (long long)o->alert_id, o->event, status,
			          (long long)o->attempts + 1, (long long)(r.next - r.now), err);
		}
		/* Stop early when asked to: the rest stay due for the next start. */
		pthread_mutex_lock(&d->lock);
		int stopping = d->stop;
		pthread_mutex_unlock(&d->lock);
		if (stopping)
			break;
	}
	int rel = haven_store_write(d->store, release_tx, op);
	if (rc == 0)
		rc = rel;
	for (int i = 0; i < op->n; i++)
		free(op->rows[i].payload);
	free(op);
	return rc;
}

static void wait_ms(struct haven_alert_dispatcher *d, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000;
	ts.tv_sec += ms / 1000 + ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	pthread_cond_timedwait(&d->wake, &d->lock, &ts);
}

static void *dispatcher_main(void *arg)
{
	struct haven_alert_dispatcher *d = arg;
	uint_fast64_t seen = atomic_load(&kick_seq);
	for (;;) {
		int delivered = 0;
		int rc = haven_alert_dispatch_once(d, NULL, &delivered);
		if (rc)
			haven_log(HAVEN_LOG_ERROR, "event=alert_dispatch_error error=\"%s\"",
			          haven_strerror(rc));
		/* A full batch delivered: more may be due (a backlog), go on at once. */
		if (rc == 0 && delivered == BATCH)
			continue;
		int64_t now = haven_now_ms(), next = now + d->cfg.poll_ms, second = 0;
		pthread_mutex_lock(&d->lock);
		while (!d->stop) {
			uint_fast64_t k = atomic_load(&kick_seq);
			if (k != seen) {
				seen = k;
				if (now + KICK_FIRST_MS < next)
					next = now + KICK_FIRST_MS;
				second = now + KICK_SECOND_MS;
			}
			if (now >= next)
				break;
			int64_t left = next - now;
			wait_ms(d, left < KICK_SLICE_MS ? left : KICK_SLICE_MS);
			now = haven_now_ms();
		}
		int stop = d->stop;
		pthread_mutex_unlock(&d->lock);
		if (stop)
			break;
		if (second) {
			/* One more look after the kick, for a commit that was slower. */
			rc = haven_alert_dispatch_once(d, NULL, NULL);
			(void)rc;
			pthread_mutex_lock(&d->lock);
			while (!d->stop && haven_now_ms() < second)
				wait_ms(d, KICK_SLICE_MS);
			stop = d->stop;
			pthread_mutex_unlock(&d->lock);
			if (stop)
				break;
		}
	}
	return NULL;
}

static void dispatcher_free(struct haven_alert_dispatcher *d)
{
	if (d->curl)
		curl_easy_cleanup(d->curl);
	if (d->secret) {
		sodium_memzero(d->secret, d->secret_len);
		sodium_free(d->secret);
	}
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->wake);
	free(d);
}

int haven_alert_dispatcher_start(const struct haven_alert_delivery_config *cfg,
                                 struct haven_store *store, struct haven_alert_dispatcher **out)
{
	*out = NULL;
	int has_url = (cfg->url && cfg->url[0]) || (cfg->escalation_url && cfg->escalation_url[0]);
	if ((cfg->url && cfg->url[0] && !url_ok(cfg->url)) ||
	    (cfg->escalation_url && cfg->escalation_url[0] && !url_ok(cfg->escalation_url)))
		return HAVEN_EINVAL;
	if (has_url &&
	    (!cfg->secret || strlen(cfg->secret) < 16 || strlen(cfg->secret) > SECRET_MAX))
		return HAVEN_EINVAL;
	char contacts[HAVEN_ALERT_CONTACTS_MAX][CONTACT_MAX];
	int ncontacts = 0;
	if (contacts_parse(cfg->escalation_contacts, contacts, &ncontacts))
		return HAVEN_EINVAL;
	if (cfg->poll_ms < 1 || cfg->backoff_base_ms < 1 ||
	    cfg->backoff_cap_ms < cfg->backoff_base_ms || cfg->escalate_after_ms < 0 ||
	    cfg->timeout_ms < 1)
		return HAVEN_EINVAL;
	struct haven_alert_dispatcher *d = calloc(1, sizeof(*d));
	if (!d)
		return HAVEN_ENOMEM;
	d->cfg = *cfg;
	d->cfg.url = d->cfg.escalation_url = d->cfg.secret = d->cfg.escalation_contacts = NULL;
	memcpy(d->contacts, contacts, sizeof(contacts));
	d->ncontacts = ncontacts;
	copy_text(d->url, sizeof(d->url), cfg->url);
	copy_text(d->escalation_url, sizeof(d->escalation_url), cfg->escalation_url);
	d->store = store;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->wake, NULL);
	if (cfg->secret) {
		d->secret_len = strlen(cfg->secret);
		d->secret = sodium_malloc(d->secret_len + 1);
		if (!d->secret) {
			dispatcher_free(d);
			return HAVEN_ENOMEM;
		}
		memcpy(d->secret, cfg->secret, d->secret_len);
	}
	if (pthread_create(&d->thread, NULL, dispatcher_main, d)) {
		dispatcher_free(d);
		return HAVEN_EIO;
	}
	d->running = 1;
	*out = d;
	return 0;
}

void haven_alert_dispatcher_stop(struct haven_alert_dispatcher **dp)
{
	struct haven_alert_dispatcher *d = dp ? *dp : NULL;
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	if (d->running)
		pthread_join(d->thread, NULL);
	dispatcher_free(d);
	*dp = NULL;
}
