/*
 * patient.c: what a patient does with their own data: consents (versioned, each change
 * appended), check-ins (encrypted under the patient's data key, audited, durable before
 * the reply), export of everything held about them, and erasure. Export and erasure are
 * shared with `haven export` and `haven erase`.
 *
 * Clinical reads also append an audit record, so they run in haven_store_write
 * closures: the read and its record commit together.
 */
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "api/api_int.h"
#include "crypto/keyring.h"
#include "dialog/dialog.h"
#include "fhir/fhir.h"
#include "measures/measures.h"
#include "measures/monitor.h"
#include "measures/sensing.h"

static const char *const scopes[] = {"care_team", "sensing", "research"};
#define NSCOPES 3

/* ---- Consent ---- */

int haven__consent_granted(struct haven_tx *tx, int64_t patient_id, const char *scope, int *granted)
{
	int64_t v = 0;
	struct haven_param p[] = {HAVEN_P_INT(patient_id), HAVEN_P_TEXT(scope)};
	int rc =
	    haven_tx_query_int(tx,
	                       "SELECT granted FROM consents WHERE patient_id = ? AND scope = ? "
	                       "ORDER BY id DESC LIMIT 1",
	                       p, 2, &v);
	if (rc == HAVEN_ENOTFOUND) {
		v = 0;
		rc = HAVEN_OK;
	}
	*granted = v != 0;
	return rc;
}

int haven__consent_version(struct haven_tx *tx, int64_t *version)
{
	return haven_tx_query_int(tx, "SELECT MAX(version) FROM consent_documents", NULL, 0,
	                          version);
}

struct consent_body {
	struct haven_jv scopes, care_team, sensing, research;
};
static const struct haven_field consent_scope_fields[] = {
    {.name = "care_team",
     .type = HAVEN_JT_BOOL,
     .offset = offsetof(struct consent_body, care_team)},
    {.name = "sensing", .type = HAVEN_JT_BOOL, .offset = offsetof(struct consent_body, sensing)},
    {.name = "research", .type = HAVEN_JT_BOOL, .offset = offsetof(struct consent_body, research)},
    {.name = NULL},
};
static const struct haven_field consent_fields[] = {
    {.name = "scopes",
     .type = HAVEN_JT_OBJECT,
     .required = 1,
     .offset = offsetof(struct consent_body, scopes),
     .sub = consent_scope_fields},
    {.name = NULL},
};
const struct haven_body_schema haven__consents_schema = {"consents body", consent_fields,
                                                         sizeof(struct consent_body)};

struct consent_doc {
	json_t *doc;
};

static int consent_doc_row(const struct haven_row *row, void *arg)
{
	struct consent_doc *d = arg;
	d->doc = json_pack("{s:I,s:s,s:o}", "version", (json_int_t)haven_row_int(row, 0), "text",
	                   haven_row_text(row, 1, NULL), "published_at",
	                   haven__json_time(haven_row_int(row, 2)));
	return d->doc ? 0 : HAVEN_ENOMEM;
}

/* {"scopes": {...}, "document": {"version", "text", "published_at"}} */
static int consents_json(struct haven_tx *tx, int64_t patient_id, json_t **out)
{
	*out = NULL;
	json_t *sc = json_object();
	struct consent_doc d = {NULL};
	int rc = sc ? 0 : HAVEN_ENOMEM;
	for (int i = 0; i < NSCOPES && !rc; i++) {
		int g;
		rc = haven__consent_granted(tx, patient_id, scopes[i], &g);
		if (!rc && json_object_set_new(sc, scopes[i], json_boolean(g)))
			rc = HAVEN_ENOMEM;
	}
	if (!rc)
		rc = haven_tx_query(tx,
		                    "SELECT version, text, published_at FROM consent_documents "
		                    "ORDER BY version DESC LIMIT 1",
		                    NULL, 0, consent_doc_row, &d);
	if (!rc && !d.doc)
		rc = HAVEN_ECORRUPT;
	if (!rc) {
		*out = json_pack("{s:O,s:O}", "scopes", sc, "document", d.doc);
		if (!*out)
			rc = HAVEN_ENOMEM;
	}
	json_decref(sc);
	json_decref(d.doc);
	return rc;
}

/* GET /api/v1/consent/document: the current consent document, for anyone, so that the
 * sign-up page shows the exact text a new patient agrees to before the account exists. */
static int consent_document_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(tx,
	                      "SELECT version, text, published_at FROM consent_documents "
	                      "ORDER BY version DESC LIMIT 1",
	                      NULL, 0, consent_doc_row, arg);
}

void haven__h_consent_document(struct haven_req *r)
{
	struct consent_doc d = {NULL};
	int rc = haven_store_read(r->api->store, consent_document_tx, &d);
	if (!rc && !d.doc)
		rc = HAVEN_ECORRUPT;
	if (rc) {
		json_decref(d.doc);
		haven_reply_err(r, rc, "reading the consent document");
		return;
	}
	haven_reply_json(r, 200, json_pack("{s:o}", "document", d.doc));
}

struct consent_op {
	struct haven_req *r;
	const struct consent_body *b;
	json_t *out;
};

static int consents_get_tx(struct haven_tx *tx, void *arg)
{
	struct consent_op *op = arg;
	return consents_json(tx, op->r->who.id, &op->out);
}

void haven__h_consents_get(struct haven_req *r)
{
	struct consent_op op = {r, NULL, NULL};
	int rc = haven_store_read(r->api->store, consents_get_tx, &op);
	if (rc) {
		json_decref(op.out);
		haven_reply_err(r, rc, "reading consents");
		return;
	}
	haven_reply_json(r, 200, op.out);
}

static int consents_put_tx(struct haven_tx *tx, void *arg)
{
	struct consent_op *op = arg;
	const struct haven_jv *given[NSCOPES] = {&op->b->care_team, &op->b->sensing,
	                                         &op->b->research};
	int64_t version, now = haven_now_ms(), patient = op->r->who.id;
	int rc = haven__consent_version(tx, &version);
	if (rc)
		return rc;
	char detail[96] = "";
	size_t used = 0;
	for (int i = 0; i < NSCOPES; i++) {
		if (!given[i]->present)
			continue;
		struct haven_param p[] = {HAVEN_P_INT(patient), HAVEN_P_TEXT(scopes[i]),
		                          HAVEN_P_INT(given[i]->b), HAVEN_P_INT(version),
		                          HAVEN_P_INT(now)};
		rc = haven_tx_exec(tx,
		                   "INSERT INTO consents (patient_id, scope, granted, "
		                   "document_version, at) VALUES (?, ?, ?, ?, ?)",
		                   p, 5, NULL);
		if (rc)
			return rc;
		int n = snprintf(detail + used, sizeof(detail) - used, "%s%s=%d", used ? " " : "",
		                 scopes[i], given[i]->b);
		if (n > 0 && (size_t)n < sizeof(detail) - used)
			used += (size_t)n;
	}
	char subject[48];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)patient);
	if ((rc = haven__audit(tx, op->r, "consent.write", subject, "ok", detail)))
		return rc;
	return consents_json(tx, patient, &op->out);
}

/* After the write (a deferred reply: no worker waits while the group commits). */
static void consents_recorded(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct consent_op *op = arg;
	(void)err;
	if (rc) {
		json_decref(op->out);
		haven_reply_err(r, rc, "recording consents");
		return;
	}
	haven_reply_json(r, 200, op->out);
}

void haven__h_consents_put(struct haven_req *r)
{
	struct consent_op op = {r, r->body, NULL};
	haven__write_then_copy(r, consents_put_tx, &op, sizeof(op), consents_recorded);
}

/* ---- Check-ins ---- */

struct checkin_body {
	struct haven_jv mood, sleep_hours, note;
};
static const struct haven_field checkin_fields[] = {
    {.name = "mood",
     .type = HAVEN_JT_INT,
     .required = 1,
     .offset = offsetof(struct checkin_body, mood),
     .min = 0,
     .max = 10},
    {.name = "sleep_hours",
     .type = HAVEN_JT_NUMBER,
     .required = 1,
     .offset = offsetof(struct checkin_body, sleep_hours),
     .min = 0,
     .max = 24},
    {.name = "note",
     .type = HAVEN_JT_STRING,
     .offset = offsetof(struct checkin_body, note),
     .max_chars = 2000},
    {.name = NULL},
};
const struct haven_body_schema haven__checkin_schema = {"check-in body", checkin_fields,
                                                        sizeof(struct checkin_body)};

struct checkin_row {
	int64_t id, created_at;
	char rid[33];
	uint8_t *ct;
	size_t ct_len;
};

struct checkin_rows {
	struct checkin_row *rows;
	size_t n, cap;
};

static int checkin_collect(const struct haven_row *row, void *arg)
{
	struct checkin_rows *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct checkin_row *g = realloc(l->rows, cap * sizeof(*g));
		if (!g)
			return HAVEN_ENOMEM;
		l->rows = g;
		l->cap = cap;
	}
	struct checkin_row *c = &l->rows[l->n];
	size_t len;
	const void *blob = haven_row_blob(row, 3, &len);
	c->id = haven_row_int(row, 0);
	c->created_at = haven_row_int(row, 2);
	haven_strlcpy(c->rid, haven_row_text(row, 1, NULL) ? haven_row_text(row, 1, NULL) : "",
	              sizeof(c->rid));
	c->ct = malloc(len ? len : 1);
	if (!c->ct)
		return HAVEN_ENOMEM;
	if (len)
		memcpy(c->ct, blob, len);
	c->ct_len = len;
	l->n++;
	return 0;
}

int haven__checkins_json(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                         json_t **out)
{
	struct checkin_rows l = {0};
	json_t *arr = json_array();
	int rc = arr ? 0 : HAVEN_ENOMEM;
	*out = NULL;
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	if (!rc)
		rc = haven_tx_query(tx,
		                    "SELECT id, rid, created_at, payload FROM checkins WHERE "
		                    "patient_id = ? ORDER BY created_at DESC, id DESC",
		                    p, 1, checkin_collect, &l);
	for (size_t i = 0; i < l.n && !rc; i++) {
		uint8_t *pt = NULL;
		size_t pt_len = 0;
		rc = haven_keyring_open(tx, mk, patient_id, "checkins", l.rows[i].rid, "payload",
		                        l.rows[i].ct, l.rows[i].ct_len, &pt, &pt_len);
		if (rc)
			break;
		json_error_t jerr;
		json_t *obj = json_loadb((const char *)pt, pt_len, 0, &jerr);
		haven_secret_free(pt, pt_len);
		if (!obj || !json_is_object(obj)) {
			json_decref(obj);
			rc = HAVEN_ECORRUPT;
			break;
		}
		if (json_object_set_new(obj, "id", json_integer(l.rows[i].id)) ||
		    json_object_set_new(obj, "created_at",
		                        haven__json_time(l.rows[i].created_at)) ||
		    json_array_append_new(arr, obj))
			rc = HAVEN_ENOMEM;
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.rows[i].ct);
	free(l.rows);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return HAVEN_OK;
}

struct checkin_write {
	struct haven_req *r;
	const char *payload;
	size_t payload_len;
	uint8_t *ct; /* sealed before the write when the patient already has a key */
	size_t ct_len;
	char rid[33];
	int64_t id, now;
	int64_t mood;
	double sleep_hours;
	struct haven_monitor_prep *prep; /* the monitoring rules' history, read ahead */
	json_t *reply;                   /* the check-in as stored, without id and time */
	char *text;                      /* its JSON, to be wiped */
};

static int checkin_write_tx(struct haven_tx *tx, void *arg)
{
	struct checkin_write *w = arg;
	int64_t patient = w->r->who.id;
	int rc;
	if (!w->ct) {
		/* The first check-in: the data key is created in this transaction. */
		rc = haven_keyring_seal(tx, w->r->api->mk, patient, "checkins", w->rid, "payload",
		                        w->payload, w->payload_len, &w->ct, &w->ct_len);
		if (rc)
			return rc;
	}
	struct haven_param p[] = {HAVEN_P_TEXT(w->rid), HAVEN_P_INT(patient), HAVEN_P_INT(w->now),
	                          HAVEN_P_BLOB(w->ct, w->ct_len)};
	rc =
	    haven_tx_query_int(tx,
	                       "INSERT INTO checkins (rid, patient_id, created_at, payload) VALUES "
	                       "(?, ?, ?, ?) RETURNING id",
	                       p, 4, &w->id);
	if (rc)
		return rc;
	char subject[48], detail[48];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)patient);
	snprintf(detail, sizeof(detail), "checkin=%lld", (long long)w->id);
	if ((rc = haven__audit(tx, w->r, "checkin.write", subject, "ok", detail)))
		return rc;
	/* The monitoring rules that follow a check-in (mood, sleep, risk) raise their
	 * alerts in this transaction: the check-in and its alerts commit together. */
	return haven_monitor_checkin_apply(tx, w->prep, w->now, (double)w->mood, w->sleep_hours,
	                                   NULL);
}

struct checkin_prep {
	struct checkin_write *w;
	struct haven_data_key *dk;
};

/* One read transaction for what a check-in needs before the write: the patient's key
 * and the monitoring rules' configuration and history. */
static int checkin_prep_tx(struct haven_tx *tx, void *arg)
{
	struct checkin_prep *k = arg;
	struct haven_req *r = k->w->r;
	int rc = haven_keyring_get(tx, r->api->mk, r->who.id, &k->dk);
	if (rc && rc != HAVEN_ENOTFOUND)
		return rc;
	return haven_monitor_checkin_prepare(tx, r->api->mk, r->who.id, k->w->now, &k->w->prep);
}

/* Seals the payload in the calling worker thread when the patient's key exists, so that
 * the store's single writer (group commit) only inserts and audits: encryption and the
 * key's guarded memory (sodium_malloc) then cost no time on the write path every request
 * shares. The ciphertext is bound to the row's rid and the patient, so sealing before
 * the transaction changes nothing about what it can be opened as. */
static int checkin_seal_early(struct checkin_write *w)
{
	struct checkin_prep k = {w, NULL};
	char ad[512];
	int rc = haven_store_read(w->r->api->store, checkin_prep_tx, &k);
	if (rc || !k.dk)
		goto out;
	rc = haven_crypto_ad(ad, sizeof(ad), "checkins", w->rid, w->r->who.id, "payload");
	if (!rc)
		rc = haven_seal(k.dk, ad, w->payload, w->payload_len, &w->ct, &w->ct_len);
out:
	haven_data_key_destroy(&k.dk);
	return rc;
}

/* After the write (a deferred reply: no worker waits while the group commits). */
static void checkin_written(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct checkin_write *w = arg;
	(void)err;
	haven_secret_free(w->text, strlen(w->text));
	haven_monitor_prep_destroy(&w->prep);
	free(w->ct);
	if (rc) {
		json_decref(w->reply);
		haven_reply_err(r, rc, "storing the check-in");
		return;
	}
	json_object_set_new(w->reply, "id", json_integer(w->id));
	json_object_set_new(w->reply, "created_at", haven__json_time(w->now));
	haven_reply_json(r, 201, w->reply);
}

void haven__h_checkins_create(struct haven_req *r)
{
	const struct checkin_body *b = r->body;
	json_t *payload =
	    json_pack("{s:I,s:f}", "mood", (json_int_t)b->mood.i, "sleep_hours", b->sleep_hours.d);
	char *text = NULL;
	struct checkin_write *w = haven_arena_alloc(&r->arena, sizeof(*w));
	if (payload && b->note.present &&
	    json_object_set_new(payload, "note", json_stringn(b->note.s, b->note.len))) {
		json_decref(payload);
		payload = NULL;
	}
	if (payload && w)
		text = json_dumps(payload, JSON_COMPACT);
	if (!text) {
		json_decref(payload);
		haven_reply_err(r, HAVEN_ENOMEM, "encoding the check-in");
		return;
	}
	*w = (struct checkin_write){.r = r,
	                            .payload = text,
	                            .payload_len = strlen(text),
	                            .now = haven_now_ms(),
	                            .mood = b->mood.i,
	                            .sleep_hours = b->sleep_hours.d,
	                            .reply = payload,
	                            .text = text};
	haven_record_id(w->rid);
	int rc = checkin_seal_early(w);
	if (rc) {
		checkin_written(r, w, rc, "");
		return;
	}
	haven__write_then(r, checkin_write_tx, w, checkin_written);
}

struct checkin_read {
	struct haven_req *r;
	int64_t patient;
	json_t *arr;
};

static int checkins_read_tx(struct haven_tx *tx, void *arg)
{
	struct checkin_read *c = arg;
	int rc = haven__checkins_json(tx, c->r->api->mk, c->patient, &c->arr);
	if (rc == HAVEN_ENOTFOUND) /* no data key yet: no check-ins */
		rc = (c->arr = json_array()) ? 0 : HAVEN_ENOMEM;
	if (rc)
		return rc;
	char subject[48], detail[32];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)c->patient);
	snprintf(detail, sizeof(detail), "count=%zu", json_array_size(c->arr));
	return haven__audit(tx, c->r, "checkin.read", subject, "ok", detail);
}

/* After the audited read (a deferred reply: no worker waits for its group commit). */
static void checkins_listed(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct checkin_read *c = arg;
	(void)err;
	if (rc) {
		json_decref(c->arr);
		haven_reply_err(r, rc, "reading check-ins");
		return;
	}
	haven_reply_json(r, 200, json_pack("{s:o}", "checkins", c->arr));
}

void haven__h_checkins_list(struct haven_req *r)
{
	struct checkin_read c = {r, r->who.id, NULL};
	haven__write_then_copy(r, checkins_read_tx, &c, sizeof(c), checkins_listed);
}

/* ---- Export ---- */

struct export_op {
	const struct haven_master_key *mk;
	int64_t patient, actor_id;
	const char *actor_role, *request_id;
	json_t *out;
	json_t *list; /* scratch for row callbacks */
};

static int export_user_row(const struct haven_row *row, void *arg)
{
	struct export_op *e = arg;
	/* locale is null unless the patient chose one (migration 8). */
	e->out = json_pack(
	    "{s:{s:I,s:s,s:s,s:s?,s:o}}", "user", "id", (json_int_t)haven_row_int(row, 0), "email",
	    haven_row_text(row, 1, NULL), "role", haven_row_text(row, 2, NULL), "locale",
	    haven_row_text(row, 3, NULL), "created_at", haven__json_time(haven_row_int(row, 4)));
	return e->out ? 0 : HAVEN_ENOMEM;
}

static int export_consent_row(const struct haven_row *row, void *arg)
{
	struct export_op *e = arg;
	json_t *c = json_pack("{s:s,s:b,s:I,s:o}", "scope", haven_row_text(row, 0, NULL), "granted",
	                      (int)haven_row_int(row, 1), "document_version",
	                      (json_int_t)haven_row_int(row, 2), "at",
	                      haven__json_time(haven_row_int(row, 3)));
	return c && json_array_append_new(e->list, c) == 0 ? 0 : HAVEN_ENOMEM;
}

static int export_team_row(const struct haven_row *row, void *arg)
{
	struct export_op *e = arg;
	json_t *c = json_pack("{s:I,s:s,s:o}", "clinician_id", (json_int_t)haven_row_int(row, 0),
	                      "email", haven_row_text(row, 1, NULL), "since",
	                      haven__json_time(haven_row_int(row, 2)));
	return c && json_array_append_new(e->list, c) == 0 ? 0 : HAVEN_ENOMEM;
}

static int export_tx(struct haven_tx *tx, void *arg)
{
	struct export_op *e = arg;
	struct haven_param p[] = {HAVEN_P_INT(e->patient)};
	int rc =
	    haven_tx_query(tx,
	                   "SELECT id, email, role, locale, created_at FROM users WHERE id = ? "
	                   "AND role = 'patient'",
	                   p, 1, export_user_row, e);
	if (rc)
		return rc;
	if (!e->out)
		return HAVEN_ENOTFOUND;
	if (!(e->list = json_array()))
		return HAVEN_ENOMEM;
	rc = haven_tx_query(tx,
	                    "SELECT scope, granted, document_version, at FROM consents WHERE "
	                    "patient_id = ? ORDER BY id",
	                    p, 1, export_consent_row, e);
	if (rc || json_object_set_new(e->out, "consent_history", e->list)) {
		e->list = NULL;
		return rc ? rc : HAVEN_ENOMEM;
	}
	json_t *current = NULL;
	if ((rc = consents_json(tx, e->patient, &current)))
		return rc;
	if (json_object_set_new(e->out, "consents", current))
		return HAVEN_ENOMEM;
	if (!(e->list = json_array()))
		return HAVEN_ENOMEM;
	rc = haven_tx_query(tx,
	                    "SELECT u.id, u.email, ct.created_at FROM care_team ct JOIN users u "
	                    "ON u.id = ct.clinician_id WHERE ct.patient_id = ? ORDER BY u.id",
	                    p, 1, export_team_row, e);
	if (rc || json_object_set_new(e->out, "care_team", e->list)) {
		e->list = NULL;
		return rc ? rc : HAVEN_ENOMEM;
	}
	e->list = NULL;
	json_t *checkins = NULL;
	rc = haven__checkins_json(tx, e->mk, e->patient, &checkins);
	if (rc == HAVEN_ENOTFOUND)
		rc = (checkins = json_array()) ? 0 : HAVEN_ENOMEM;
	if (rc)
		return rc;
	if (json_object_set_new(e->out, "checkins", checkins))
		return HAVEN_ENOMEM;
	json_t *assessments = NULL, *outcomes = NULL, *fhir = NULL;
	if ((rc = haven_assessments_json(tx, e->mk, e->patient, &assessments)))
		return rc;
	if (json_object_set_new(e->out, "assessments", assessments))
		return HAVEN_ENOMEM;
	if ((rc = haven_outcomes_json(tx, e->mk, e->patient, &outcomes)))
		return rc;
	if (json_object_set_new(e->out, "outcomes", outcomes))
		return HAVEN_ENOMEM;
	/* Alerts about the person: kind, status, the reasons and any resolution note. */
	json_t *alerts = NULL;
	if ((rc = haven_alerts_json(tx, e->mk, e->patient, &alerts)))
		return rc;
	if (json_object_set_new(e->out, "alerts", alerts))
		return HAVEN_ENOMEM;
	json_t *sensing = NULL;
	if ((rc = haven_sensing_json(tx, e->mk, e->patient, &sensing)))
		return rc;
	if (json_object_set_new(e->out, "sensing", sensing))
		return HAVEN_ENOMEM;
	/* The conversation with the agent (every message) and the safety plan. */
	json_t *chat = NULL, *plan = NULL;
	if ((rc = haven_chat_history(tx, e->mk, e->patient, 0, SIZE_MAX, &chat)))
		return rc;
	if (json_object_set_new(e->out, "chat_messages", chat))
		return HAVEN_ENOMEM;
	if ((rc = haven_safety_plan_get(tx, e->mk, e->patient, &plan)))
		return rc;
	if (json_object_set_new(e->out, "safety_plan", plan))
		return HAVEN_ENOMEM;
	/* The same FHIR R4 Bundle a clinician gets from GET /patients/{id}/fhir. */
	if ((rc = haven_fhir_patient_bundle(tx, e->mk, e->patient, &fhir)))
		return rc;
	if (json_object_set_new(e->out, "fhir", fhir) ||
	    json_object_set_new(e->out, "exported_at", haven__json_time(haven_now_ms())))
		return HAVEN_ENOMEM;
	char subject[48];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)e->patient);
	struct haven_audit_event ev = {
	    e->actor_id, e->actor_role, "patient.export", subject, "ok", e->request_id, NULL};
	return haven_audit_append(tx, &ev);
}

int haven_patient_export(struct haven_store *s, const struct haven_master_key *mk,
                         int64_t patient_id, int64_t actor_id, const char *actor_role,
                         const char *request_id, json_t **out)
{
	struct export_op e = {mk, patient_id, actor_id, actor_role, request_id, NULL, NULL};
	*out = NULL;
	int rc = haven_store_write(s, export_tx, &e);
	if (rc) {
		json_decref(e.out);
		return rc;
	}
	*out = e.out;
	return HAVEN_OK;
}

void haven__h_export(struct haven_req *r)
{
	json_t *out;
	int rc = haven_patient_export(r->api->store, r->api->mk, r->who.id, r->who.id, r->who.role,
	                              r->request_id, &out);
	if (rc) {
		haven_reply_err(r, rc, "exporting your data");
		return;
	}
	haven_reply_json(r, 200, out);
}

/* ---- Erasure ---- */

struct erase_op {
	int64_t patient, actor_id;
	const char *actor_role, *request_id;
};

static int erase_tx(struct haven_tx *tx, void *arg)
{
	struct erase_op *e = arg;
	struct haven_param p[] = {HAVEN_P_INT(e->patient)};
	int64_t one;
	int rc = haven_tx_query_int(tx, "SELECT id FROM users WHERE id = ? AND role = 'patient'", p,
	                            1, &one);
	if (rc)
		return rc;
	/* The key first: from this statement on, the ciphertexts are noise. */
	rc = haven_keyring_destroy(tx, e->patient);
	if (rc && rc != HAVEN_ENOTFOUND)
		return rc;
	static const char *const deletes[] = {
	    "DELETE FROM checkins WHERE patient_id = ?",
	    "DELETE FROM sensing_observations WHERE patient_id = ?",
	    "DELETE FROM messages WHERE patient_id = ?",
	    "DELETE FROM conversations WHERE patient_id = ?",
	    "DELETE FROM safety_plans WHERE patient_id = ?",
	    "DELETE FROM assessments WHERE patient_id = ?",
	    "DELETE FROM episodes WHERE patient_id = ?",
	    "DELETE FROM reminders WHERE patient_id = ?",
	    "DELETE FROM fhir_pseudonyms WHERE patient_id = ?",
	    "DELETE FROM consents WHERE patient_id = ?",
	    "DELETE FROM care_team WHERE patient_id = ?",
	    "DELETE FROM sessions WHERE user_id = ?",
	    "UPDATE invitations SET used_by = NULL WHERE used_by = ?",
	    "DELETE FROM users WHERE id = ?",
	};
	for (size_t i = 0; i < sizeof(deletes) / sizeof(deletes[0]); i++)
		if ((rc = haven_tx_exec(tx, deletes[i], p, 1, NULL)))
			return rc;
	char subject[48];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)e->patient);
	struct haven_audit_event ev = {e->actor_id,   e->actor_role, "patient.erase", subject, "ok",
	                               e->request_id, NULL};
	return haven_audit_append(tx, &ev);
}

int haven_patient_erase(struct haven_store *s, int64_t patient_id, int64_t actor_id,
                        const char *actor_role, const char *request_id)
{
	struct erase_op e = {patient_id, actor_id, actor_role, request_id};
	return haven_store_write(s, erase_tx, &e);
}

void haven__h_erase(struct haven_req *r)
{
	int rc =
	    haven_patient_erase(r->api->store, r->who.id, r->who.id, r->who.role, r->request_id);
	if (rc) {
		haven_reply_err(r, rc, "erasing your data");
		return;
	}
	/* The sessions are gone with the account; the browser forgets them too. */
	r->set_cookie = haven__session_cookie(r, NULL, 0);
	r->clear_site_data = 1;
	haven_reply_empty(r, 204);
}
