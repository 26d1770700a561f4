/*
 * measures.c: the HTTP face of measurement-based care: the instrument list, a patient's
 * assessments (scored, sealed, alerts raised in the same transaction), episodes of care
 * opened and closed by a clinician, outcomes per episode and for a caseload, check-in
 * reminders with missed-day detection, and the FHIR R4 export.
 *
 * Who may see what follows clinician.c: a patient not on the clinician's care team is
 * 404; without the care_team consent, clinical content is 403 consent_required, except
 * safety events (PHQ-9 item 9 answers above 0), which GET /patients/{id}/assessments
 * always returns to the care team.
 *
 * The assessment and reminder bodies hold arrays, which the declarative decoder does not
 * describe, so they are decoded here with the same rules and the same error shape.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alerts/alerts.h"
#include "api/api_int.h"
#include "fhir/fhir.h"
#include "measures/measures.h"
#include "measures/reminders.h"

#define MISSED_WINDOW_DAYS 28

static void subject_of(char *out, size_t len, int64_t patient)
{
	snprintf(out, len, "patient:%lld", (long long)patient);
}

/* ---- Body decoding for bodies with arrays ---- */

/* application/json, or application/fhir+json (FHIR resources, POST /sensing). */
static int json_content_type(const char *ct)
{
	static const char *const wants[] = {"application/json", "application/fhir+json"};
	for (size_t i = 0; ct && i < 2; i++) {
		size_t n = strlen(wants[i]);
		if (strncasecmp(ct, wants[i], n))
			continue;
		char next = ct[n];
		if (next == '\0' || next == ';' || next == ' ')
			return 1;
	}
	return 0;
}

json_t *haven__body_object(struct haven_req *r, const char *what, const char *const *allowed)
{
	if (!json_content_type(r->content_type)) {
		haven_reply_error(r, 415, "unsupported_media_type",
		                  "Content-Type must be application/json, not '%.60s'",
		                  r->content_type ? r->content_type : "(none)");
		return NULL;
	}
	size_t bad;
	const char *data = r->raw.data ? r->raw.data : "";
	if (!haven_utf8_valid(data, r->raw.len, &bad)) {
		haven_reply_error(r, 400, "invalid_body", "%s is not valid UTF-8 (byte %zu)", what,
		                  bad);
		return NULL;
	}
	json_error_t jerr;
	json_t *obj = json_loadb(data, r->raw.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		haven_reply_error(r, 400, "invalid_body",
		                  "%s is not valid JSON: %s (line %d, column %d, byte %d)", what,
		                  jerr.text, jerr.line, jerr.column, jerr.position);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		haven_reply_error(r, 400, "invalid_body", "%s must be a JSON object", what);
		return NULL;
	}
	const char *key;
	json_t *val;
	json_object_foreach(obj, key, val)
	{
		int ok = !allowed;
		for (const char *const *a = allowed; a && *a && !ok; a++)
			ok = !strcmp(*a, key);
		if (!ok) {
			haven_reply_error(r, 400, "invalid_body", "unknown field '%.40s%s' in %s", key,
			                  strlen(key) > 40 ? "..." : "", what);
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

/* ---- Instruments ---- */

void haven__h_instruments(struct haven_req *r)
{
	const struct haven_instrument *const *all;
	size_t n = haven_instruments(&all);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, haven_instrument_json(all[i]))) {
			json_decref(arr);
			arr = NULL;
		}
	if (!arr) {
		haven_reply_err(r, HAVEN_ENOMEM, "listing the instruments");
		return;
	}
	haven_reply_json(r, 200, json_pack("{s:o}", "instruments", arr));
}

/* ---- Assessments ---- */

struct assess_op {
	struct haven_req *r;
	struct haven_assessment_new a;
	struct haven_assessment_result res;
	int care_team; /* an active clinician will see a safety alert */
	int answers[HAVEN_MEASURES_MAX_ITEMS]; /* a.answers */
};

static int assess_tx(struct haven_tx *tx, void *arg)
{
	struct assess_op *op = arg;
	int rc = haven_assessment_record(tx, op->r->api->mk, &op->a, &op->res);
	return rc ? rc : haven_care_team_active(tx, op->r->who.id, &op->care_team);
}

/* After the write (a deferred reply: no worker waits while the group commits). */
static void assessment_stored(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct assess_op *op = arg;
	const struct haven_instrument *in = op->a.instrument;
	(void)err;
	if (rc) {
		json_decref(op->res.alerts);
		haven_reply_err(r, rc, "storing the assessment");
		return;
	}
	json_t *reply = json_pack(
	    "{s:I,s:s,s:i,s:s,s:s,s:I,s:o,s:o,s:o}", "id", (json_int_t)op->res.id, "instrument",
	    in->id, "total", op->res.total, "band", op->res.band->name, "band_label",
	    op->res.band->label, "episode_id", (json_int_t)op->res.episode_id, "created_at",
	    haven__json_time(op->res.created_at), "change",
	    op->res.has_previous
	        ? haven_assessment_change_json(in, op->res.previous_total, op->res.total)
	        : json_null(),
	    "alerts", op->res.alerts);
	if (reply && in->scale)
		json_object_set_new(reply, "score_100", json_integer(op->res.total * in->scale));
	/* An answer above 0 to PHQ-9 question 9 is answered in words as well as with an
	 * alert: the person is told who will know and what to do if it is urgent. */
	if (reply && !strcmp(in->id, "phq9") && op->answers[8] > 0)
		json_object_set_new(
		    reply, "support",
		    json_string(op->care_team
		                    ? "Thank you for answering so honestly. Thoughts like these can be "
		                      "very hard to carry, and you do not have to carry them alone. "
		                      "Your care team has been told about your answer to the last "
		                      "question and will get in touch. If you feel you might act on "
		                      "these thoughts, or you are not safe right now, please call "
		                      "your local emergency number or a crisis line now."
		                    : "Thank you for answering so honestly. Thoughts like these can be "
		                      "very hard to carry, and you do not have to carry them alone. "
		                      "You don't have a care team linked here, so no clinician has "
		                      "been told about your answer. Please talk to someone you trust "
		                      "or your doctor about it, and if you feel you might act on "
		                      "these thoughts, or you are not safe right now, call your local "
		                      "emergency number or a crisis line now."));
	haven_reply_json(r, 201, reply);
}

void haven__h_assessments_create(struct haven_req *r)
{
	static const char *const allowed[] = {"instrument", "answers", NULL};
	json_t *body = haven__body_object(r, "assessment body", allowed);
	if (!body)
		return;
	json_t *jin = json_object_get(body, "instrument");
	json_t *jans = json_object_get(body, "answers");
	const struct haven_instrument *in = NULL;
	int answers[HAVEN_MEASURES_MAX_ITEMS];
	char err[200];
	if (!jin || json_is_null(jin)) {
		haven_reply_error(r, 400, "invalid_body", "missing required field 'instrument'");
		goto out;
	}
	if (!json_is_string(jin)) {
		haven_reply_error(r, 400, "invalid_body", "field 'instrument' must be a string");
		goto out;
	}
	if (!(in = haven_instrument_find(json_string_value(jin)))) {
		haven_reply_error(r, 400, "unknown_instrument",
		                  "field 'instrument' must be one of phq9, gad7, phq2, gad2, who5 "
		                  "(GET /api/v1/instruments lists them)");
		goto out;
	}
	if (!jans || json_is_null(jans)) {
		haven_reply_error(r, 400, "invalid_body", "missing required field 'answers'");
		goto out;
	}
	if (!json_is_array(jans)) {
		haven_reply_error(r, 400, "invalid_body",
		                  "field 'answers' must be an array of %zu integers", in->nitems);
		goto out;
	}
	size_t n = json_array_size(jans);
	if (n != in->nitems) {
		haven_reply_error(r, 400, "invalid_answers",
		                  "%s has %zu questions, so 'answers' needs %zu values, not %zu",
		                  in->title, in->nitems, in->nitems, n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(jans, i);
		if (!json_is_integer(v)) {
			haven_reply_error(r, 400, "invalid_body",
			                  "answers[%zu] (question %zu) must be an integer", i, i + 1);
			goto out;
		}
		json_int_t x = json_integer_value(v);
		answers[i] = x < -1000 ? -1000 : x > 1000 ? 1000 : (int)x;
	}
	int total;
	const struct haven_band *band;
	if (haven_instrument_score(in, answers, n, &total, &band, err, sizeof(err))) {
		haven_reply_error(r, 400, "invalid_answers", "%s", err);
		goto out;
	}
	struct assess_op *op = haven_arena_alloc(&r->arena, sizeof(*op));
	if (!op) {
		haven_reply_err(r, HAVEN_ENOMEM, "storing the assessment");
		goto out;
	}
	*op = (struct assess_op){.r = r,
	                         .a = {.patient_id = r->who.id,
	                               .instrument = in,
	                               .answers = op->answers,
	                               .nanswers = n,
	                               .actor_id = r->who.id,
	                               .actor_role = r->who.role,
	                               .request_id = r->request_id}};
	memcpy(op->answers, answers, n * sizeof(answers[0]));
	haven__write_then(r, assess_tx, op, assessment_stored);
out:
	json_decref(body);
}

struct read_op {
	struct haven_req *r;
	int64_t patient;
	json_t *out, *extra;
	int refused, status;
	/* For a deferred reply (read_done): what an error reply says the request was doing,
	 * and how the reply is built from out and extra. */
	const char *what;
	json_t *(*build)(struct read_op *op);
};

static int own_assessments_tx(struct haven_tx *tx, void *arg)
{
	struct read_op *op = arg;
	int rc = haven_assessments_json(tx, op->r->api->mk, op->patient, &op->out);
	if (rc)
		return rc;
	char subject[48], detail[32];
	subject_of(subject, sizeof(subject), op->patient);
	snprintf(detail, sizeof(detail), "count=%zu", json_array_size(op->out));
	return haven__audit(tx, op->r, "assessment.read", subject, "ok", detail);
}

static json_t *build_own_assessments(struct read_op *op)
{
	json_t *o = json_pack("{s:o}", "assessments", op->out);
	op->out = NULL;
	return o;
}

static void read_done(struct haven_req *r, void *arg, int rc, const char *err);

void haven__h_assessments_list(struct haven_req *r)
{
	struct read_op op = {.r = r,
	                     .patient = r->who.id,
	                     .what = "reading your assessments",
	                     .build = build_own_assessments};
	haven__write_then_copy(r, own_assessments_tx, &op, sizeof(op), read_done);
}

/* The caller's care-team patient r->path_id: 0 when on the team (and *granted set to
 * the care_team consent); otherwise the refusal is audited and op->refused set. */
static int team_patient(struct haven_tx *tx, struct read_op *op, const char *action,
                        int *granted)
{
	struct haven_param p[] = {HAVEN_P_INT(op->r->who.id), HAVEN_P_INT(op->r->path_id)};
	int64_t one;
	char subject[48];
	subject_of(subject, sizeof(subject), op->r->path_id);
	int rc = haven_tx_query_int(tx,
	                            "SELECT ct.patient_id FROM care_team ct JOIN users u ON u.id = "
	                            "ct.patient_id WHERE ct.clinician_id = ? AND ct.patient_id = ?",
	                            p, 2, &one);
	if (rc == HAVEN_ENOTFOUND) {
		op->refused = 1;
		op->status = 404;
		return haven__audit(tx, op->r, action, subject, "denied", "not_on_care_team");
	}
	if (rc)
		return rc;
	op->patient = op->r->path_id;
	return haven__consent_granted(tx, op->patient, "care_team", granted);
}

static int refuse_consent(struct haven_tx *tx, struct read_op *op, const char *action)
{
	char subject[48];
	subject_of(subject, sizeof(subject), op->patient);
	op->refused = 1;
	op->status = 403;
	return haven__audit(tx, op->r, action, subject, "denied", "consent_withdrawn");
}

static void reply_refusal(struct haven_req *r, struct read_op *op)
{
	r->audited = 1;
	if (op->status == 403)
		haven_reply_error(r, 403, "consent_required",
		                  "the patient has not granted the care_team consent; their "
		                  "clinical content is not available");
	else
		haven_reply_not_found(r);
}

static void finish_read(struct haven_req *r, struct read_op *op, int rc, const char *what,
                        json_t *(*build)(struct read_op *op))
{
	if (rc || op->refused) {
		json_decref(op->out);
		json_decref(op->extra);
		if (rc)
			haven_reply_err(r, rc, what);
		else
			reply_refusal(r, op);
		return;
	}
	haven_reply_json(r, 200, build(op));
}

/* After an audited read's transaction (a deferred reply: no worker waits for the group
 * commit that makes the audit record durable). */
static void read_done(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct read_op *op = arg;
	(void)err;
	finish_read(r, op, rc, op->what, op->build);
}

static int patient_assessments_tx(struct haven_tx *tx, void *arg)
{
	struct read_op *op = arg;
	int granted = 0;
	int rc = team_patient(tx, op, "assessment.read", &granted);
	if (rc || op->refused)
		return rc;
	/* Safety events reach the care team whatever the consent says. */
	if ((rc = haven_safety_events_json(tx, op->r->api->mk, op->patient, &op->extra)))
		return rc;
	if (granted)
		rc = haven_assessments_json(tx, op->r->api->mk, op->patient, &op->out);
	if (rc)
		return rc;
	char subject[48], detail[64];
	subject_of(subject, sizeof(subject), op->patient);
	snprintf(detail, sizeof(detail), "count=%zu safety_events=%zu%s",
	         op->out ? json_array_size(op->out) : 0, json_array_size(op->extra),
	         granted ? "" : " consent=withdrawn");
	op->status = granted;
	return haven__audit(tx, op->r, "assessment.read", subject, "ok", detail);
}

static json_t *build_patient_assessments(struct read_op *op)
{
	int granted = op->status;
	return json_pack("{s:I,s:b,s:o,s:o}", "patient_id", (json_int_t)op->patient,
	                 "care_team_consent", granted, "assessments",
	                 op->out ? op->out : json_null(), "safety_events", op->extra);
}

void haven__h_patient_assessments(struct haven_req *r)
{
	struct read_op op = {.r = r, .what = "reading the patient's assessments", .build = build_patient_assessments};
	haven__write_then_copy(r, patient_assessments_tx, &op, sizeof(op), read_done);
}

/* ---- Episodes ---- */

static int episode_tx(struct haven_tx *tx, void *arg, int open)
{
	struct read_op *op = arg;
	int granted;
	const char *action = open ? "episode.open" : "episode.close";
	int rc = team_patient(tx, op, action, &granted);
	if (rc || op->refused)
		return rc;
	if (!granted)
		return refuse_consent(tx, op, action);
	int64_t id = 0, now = haven_now_ms();
	rc = open ? haven_episode_open(tx, op->patient, op->r->who.id, now, &id)
	          : haven_episode_close(tx, op->patient, op->r->who.id, now, &id);
	if (rc == HAVEN_ECONFLICT || rc == HAVEN_ENOTFOUND) {
		op->refused = 1;
		op->status = rc == HAVEN_ECONFLICT ? 409 : 4090;
		op->out = json_integer(id);
		char subject[48];
		subject_of(subject, sizeof(subject), op->patient);
		return haven__audit(tx, op->r, action, subject, "denied",
		                    open ? "already_open" : "none_open");
	}
	if (rc)
		return rc;
	char subject[48], detail[48];
	subject_of(subject, sizeof(subject), op->patient);
	snprintf(detail, sizeof(detail), "episode=%lld", (long long)id);
	if ((rc = haven__audit(tx, op->r, action, subject, "ok", detail)))
		return rc;
	op->out = json_pack("{s:I,s:I,s:s,s:o}", "id", (json_int_t)id, "patient_id",
	                    (json_int_t)op->patient, "status", open ? "open" : "closed",
	                    open ? "opened_at" : "closed_at", haven__json_time(now));
	return op->out ? 0 : HAVEN_ENOMEM;
}

static int episode_open_tx(struct haven_tx *tx, void *arg)
{
	return episode_tx(tx, arg, 1);
}

static int episode_close_tx(struct haven_tx *tx, void *arg)
{
	return episode_tx(tx, arg, 0);
}

static void episode_reply(struct haven_req *r, struct read_op *op, int rc, int open)
{
	if (!rc && op->refused && (op->status == 409 || op->status == 4090)) {
		r->audited = 1;
		if (op->status == 409)
			haven_reply_error(r, 409, "episode_open",
			                  "episode %lld is still open; close it first (POST "
			                  "/api/v1/patients/%lld/episodes/close)",
			                  (long long)json_integer_value(op->out), (long long)op->patient);
		else
			haven_reply_error(r, 409, "no_open_episode",
			                  "the patient has no open episode of care to close");
		json_decref(op->out);
		return;
	}
	if (rc || op->refused) {
		finish_read(r, op, rc, open ? "opening the episode" : "closing the episode", NULL);
		return;
	}
	haven_reply_json(r, open ? 201 : 200, op->out);
}

void haven__h_episode_open(struct haven_req *r)
{
	struct read_op op = {.r = r};
	int rc = haven_store_write(r->api->store, episode_open_tx, &op);
	episode_reply(r, &op, rc, 1);
}

void haven__h_episode_close(struct haven_req *r)
{
	struct read_op op = {.r = r};
	int rc = haven_store_write(r->api->store, episode_close_tx, &op);
	episode_reply(r, &op, rc, 0);
}

/* ---- Outcomes ---- */

static int outcomes_tx(struct haven_tx *tx, void *arg)
{
	struct read_op *op = arg;
	int granted;
	int rc = team_patient(tx, op, "outcome.read", &granted);
	if (rc || op->refused)
		return rc;
	if (!granted)
		return refuse_consent(tx, op, "outcome.read");
	if ((rc = haven_outcomes_json(tx, op->r->api->mk, op->patient, &op->out)))
		return rc;
	char subject[48];
	subject_of(subject, sizeof(subject), op->patient);
	return haven__audit(tx, op->r, "outcome.read", subject, "ok", NULL);
}

static json_t *build_out(struct read_op *op)
{
	json_t *o = op->out;
	op->out = NULL;
	return o;
}

void haven__h_patient_outcomes(struct haven_req *r)
{
	struct read_op op = {.r = r, .what = "reading the patient's outcomes", .build = build_out};
	haven__write_then_copy(r, outcomes_tx, &op, sizeof(op), read_done);
}

struct caseload_op {
	struct haven_req *r;
	int64_t *ids;
	size_t n, cap;
	struct haven_caseload_tally t;
	int64_t team, excluded;
};

static int caseload_row(const struct haven_row *row, void *arg)
{
	struct caseload_op *c = arg;
	c->team++;
	if (haven_row_is_null(row, 1) || haven_row_int(row, 1) == 0) {
		c->excluded++;
		return 0;
	}
	if (haven_grow(&c->ids, &c->cap, c->n, sizeof(*c->ids), 32))
		return HAVEN_ENOMEM;
	c->ids[c->n++] = haven_row_int(row, 0);
	return 0;
}

static int caseload_tx(struct haven_tx *tx, void *arg)
{
	struct caseload_op *c = arg;
	struct haven_param p[] = {HAVEN_P_INT(c->r->who.id)};
	int rc = haven_tx_query(tx,
	                        "SELECT ct.patient_id, (SELECT cs.granted FROM consents cs WHERE "
	                        "cs.patient_id = ct.patient_id AND cs.scope = 'care_team' ORDER BY "
	                        "cs.id DESC LIMIT 1) FROM care_team ct WHERE ct.clinician_id = ? "
	                        "ORDER BY ct.patient_id",
	                        p, 1, caseload_row, c);
	for (size_t i = 0; i < c->n && !rc; i++)
		rc = haven_outcomes_tally(tx, c->r->api->mk, c->ids[i], &c->t);
	if (rc)
		return rc;
	char subject[48], detail[64];
	snprintf(subject, sizeof(subject), "user:%lld", (long long)c->r->who.id);
	snprintf(detail, sizeof(detail), "patients=%zu", c->n);
	return haven__audit(tx, c->r, "outcome.caseload", subject, "ok", detail);
}

static json_t *rate(int64_t num, int64_t den)
{
	return den ? json_real((double)num / (double)den) : json_null();
}

void haven__h_caseload_outcomes(struct haven_req *r)
{
	struct caseload_op c = {.r = r};
	int rc = haven_store_write(r->api->store, caseload_tx, &c);
	free(c.ids);
	if (rc) {
		haven_reply_err(r, rc, "summarising your caseload's outcomes");
		return;
	}
	const struct haven_caseload_tally *t = &c.t;
	haven_reply_json(
	    r, 200,
	    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "patients",
	              (json_int_t)c.team, "included", (json_int_t)t->patients,
	              "excluded_without_consent", (json_int_t)c.excluded, "episodes",
	              (json_int_t)t->episodes, "closed_episodes", (json_int_t)t->closed,
	              "recovery_eligible", (json_int_t)t->eligible, "recovered",
	              (json_int_t)t->recovered, "reliable_recovery", (json_int_t)t->reliable_recovery,
	              "reliable_improvement", (json_int_t)t->reliable_improvement,
	              "reliable_deterioration", (json_int_t)t->reliable_deterioration,
	              "recovery_rate", rate(t->recovered, t->eligible), "reliable_recovery_rate",
	              rate(t->reliable_recovery, t->eligible), "reliable_improvement_rate",
	              rate(t->reliable_improvement, t->closed), "reliable_deterioration_rate",
	              rate(t->reliable_deterioration, t->closed)));
}

/* ---- FHIR ---- */

static int fhir_tx(struct haven_tx *tx, void *arg)
{
	struct read_op *op = arg;
	int granted;
	int rc = team_patient(tx, op, "fhir.export", &granted);
	if (rc || op->refused)
		return rc;
	if (!granted)
		return refuse_consent(tx, op, "fhir.export");
	if ((rc = haven_fhir_patient_bundle(tx, op->r->api->mk, op->patient, &op->out)))
		return rc;
	char subject[48], detail[48];
	subject_of(subject, sizeof(subject), op->patient);
	snprintf(detail, sizeof(detail), "entries=%zu",
	         json_array_size(json_object_get(op->out, "entry")));
	return haven__audit(tx, op->r, "fhir.export", subject, "ok", detail);
}

void haven__h_patient_fhir(struct haven_req *r)
{
	struct read_op op = {.r = r, .what = "exporting the patient's FHIR bundle", .build = build_out};
	haven__write_then_copy(r, fhir_tx, &op, sizeof(op), read_done);
}

/* ---- Reminders and missed check-ins ---- */

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static json_t *missed_json(const struct haven_missed *m)
{
	json_t *days = json_array();
	for (size_t i = 0; days && i < m->n; i++) {
		char d[11];
		haven_local_date(m->days[i], d);
		if (json_array_append_new(days, json_string(d))) {
			json_decref(days);
			days = NULL;
		}
	}
	if (!days)
		return NULL;
	return json_pack("{s:i,s:i,s:i,s:i,s:o,s:i,s:o}", "window_days", m->window_days,
	                 "expected", m->expected, "checked_in", m->checked_in, "missed",
	                 m->expected - m->checked_in, "missed_days", days, "consecutive_missed",
	                 m->consecutive, "last_checkin_at",
	                 m->last_checkin_at ? haven__json_time(m->last_checkin_at) : json_null());
}

static json_t *reminder_json(const struct haven_reminder *rem, int is_set, int64_t now)
{
	json_t *days = json_array();
	for (int i = 0; days && i < 7; i++)
		if ((rem->days & (1u << i)) && json_array_append_new(days, json_string(day_names[i]))) {
			json_decref(days);
			days = NULL;
		}
	if (!days)
		return NULL;
	char hhmm[24];
	snprintf(hhmm, sizeof(hhmm), "%02d:%02d", rem->minute_of_day / 60, rem->minute_of_day % 60);
	int64_t next = haven_reminder_next(rem, now);
	return json_pack("{s:b,s:b,s:s,s:o,s:i,s:o}", "set", is_set, "enabled", rem->enabled,
	                 "time", hhmm, "days", days, "utc_offset_minutes", rem->utc_offset_minutes,
	                 "next_reminder_at", next ? haven__json_time(next) : json_null());
}

/* {"due", "due_at", "date", "scheduled_today", "checked_in_today"}: what the app shows
 * as "time for today's check-in". */
static json_t *due_json(const struct haven_checkin_due *d)
{
	char date[11];
	haven_local_date(d->today, date);
	return json_pack("{s:b,s:o,s:s,s:b,s:b}", "due", d->due, "due_at",
	                 d->due_at ? haven__json_time(d->due_at) : json_null(), "date", date,
	                 "scheduled_today", d->scheduled_today, "checked_in_today",
	                 d->checked_in_today);
}

static int reminders_read(struct haven_tx *tx, struct read_op *op, const char *action)
{
	struct haven_reminder rem;
	struct haven_missed m;
	struct haven_checkin_due due;
	int is_set;
	int64_t now = haven_now_ms();
	int rc = haven_reminder_get(tx, op->patient, &rem, &is_set);
	if (!rc)
		rc = haven_checkins_missed(tx, op->patient, now, MISSED_WINDOW_DAYS, &m);
	if (rc)
		return rc;
	haven_checkin_due_eval(&rem, now, m.last_checkin_at, &due);
	op->out = json_pack("{s:I,s:o,s:o,s:o}", "patient_id", (json_int_t)op->patient,
	                    "reminders", reminder_json(&rem, is_set, now), "checkin_due",
	                    due_json(&due), "missed_checkins", missed_json(&m));
	if (!op->out)
		return HAVEN_ENOMEM;
	char subject[48], detail[48];
	subject_of(subject, sizeof(subject), op->patient);
	snprintf(detail, sizeof(detail), "missed=%d due=%d", m.expected - m.checked_in, due.due);
	return haven__audit(tx, op->r, action, subject, "ok", detail);
}

static int own_reminders_tx(struct haven_tx *tx, void *arg)
{
	return reminders_read(tx, arg, "reminder.read");
}

void haven__h_reminders_get(struct haven_req *r)
{
	struct read_op op = {
	    .r = r, .patient = r->who.id, .what = "reading your reminders", .build = build_out};
	haven__write_then_copy(r, own_reminders_tx, &op, sizeof(op), read_done);
}

static int patient_reminders_tx(struct haven_tx *tx, void *arg)
{
	struct read_op *op = arg;
	int granted;
	int rc = team_patient(tx, op, "reminder.read", &granted);
	if (rc || op->refused)
		return rc;
	if (!granted)
		return refuse_consent(tx, op, "reminder.read");
	return reminders_read(tx, op, "reminder.read");
}

void haven__h_patient_reminders(struct haven_req *r)
{
	struct read_op op = {.r = r, .what = "reading the patient's reminders", .build = build_out};
	haven__write_then_copy(r, patient_reminders_tx, &op, sizeof(op), read_done);
}

struct reminder_put {
	struct read_op op;
	struct haven_reminder rem;
	json_t *body;
	char err[200];
};

static int reminders_put_tx(struct haven_tx *tx, void *arg)
{
	struct reminder_put *w = arg;
	struct haven_reminder cur;
	int is_set;
	int rc = haven_reminder_get(tx, w->op.patient, &cur, &is_set);
	if (rc)
		return rc;
	json_t *b = w->body, *v;
	struct haven_reminder rem = cur;
	rem.updated_at = haven_now_ms();
	if ((v = json_object_get(b, "enabled")))
		rem.enabled = json_is_true(v);
	if ((v = json_object_get(b, "time"))) {
		const char *s = json_string_value(v);
		rem.minute_of_day = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 +
		                    (s[4] - '0');
	}
	if ((v = json_object_get(b, "days"))) {
		rem.days = 0;
		size_t i;
		json_t *d;
		json_array_foreach(v, i, d)
		{
			for (int k = 0; k < 7; k++)
				if (!strcmp(json_string_value(d), day_names[k]))
					rem.days |= 1u << k;
		}
	}
	if ((v = json_object_get(b, "utc_offset_minutes")))
		rem.utc_offset_minutes = (int)json_integer_value(v);
	if (rem.enabled && !rem.days)
		rem.days = HAVEN_ALL_DAYS;
	if ((rc = haven_reminder_put(tx, w->op.patient, &rem)))
		return rc;
	char subject[48];
	subject_of(subject, sizeof(subject), w->op.patient);
	if ((rc = haven__audit(tx, w->op.r, "reminder.write", subject, "ok", NULL)))
		return rc;
	return reminders_read(tx, &w->op, "reminder.read");
}

/* Checks the reminder body's values; 0 or a message in err. */
static int reminder_body_check(json_t *b, char *err, size_t errlen)
{
	json_t *v;
	if ((v = json_object_get(b, "enabled")) && !json_is_boolean(v)) {
		snprintf(err, errlen, "field 'enabled' must be true or false");
		return -1;
	}
	if ((v = json_object_get(b, "time"))) {
		const char *s = json_string_value(v);
		if (!s || strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' ||
		    s[1] > '9' || s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9' ||
		    (s[0] - '0') * 10 + (s[1] - '0') > 23) {
			snprintf(err, errlen, "field 'time' must be a local time \"HH:MM\" from "
			                      "00:00 to 23:59");
			return -1;
		}
	}
	if ((v = json_object_get(b, "days"))) {
		if (!json_is_array(v) || json_array_size(v) > 7) {
			snprintf(err, errlen, "field 'days' must be an array of up to 7 day names "
			                      "(mon, tue, wed, thu, fri, sat, sun)");
			return -1;
		}
		size_t i;
		json_t *d;
		json_array_foreach(v, i, d)
		{
			int ok = 0;
			for (int k = 0; k < 7 && json_is_string(d) && !ok; k++)
				ok = !strcmp(json_string_value(d), day_names[k]);
			if (!ok) {
				snprintf(err, errlen,
				         "days[%zu] must be one of mon, tue, wed, thu, fri, sat, sun", i);
				return -1;
			}
		}
	}
	if ((v = json_object_get(b, "utc_offset_minutes")) &&
	    (!json_is_integer(v) || json_integer_value(v) < -720 ||
	     json_integer_value(v) > 840)) {
		snprintf(err, errlen, "field 'utc_offset_minutes' must be an integer from -720 to 840");
		return -1;
	}
	return 0;
}

/* After the write (a deferred reply: no worker waits while the group commits). */
static void reminders_stored(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct reminder_put *w = arg;
	(void)err;
	json_decref(w->body);
	finish_read(r, &w->op, rc, "storing your reminders", build_out);
}

void haven__h_reminders_put(struct haven_req *r)
{
	static const char *const allowed[] = {"enabled", "time", "days", "utc_offset_minutes",
	                                      NULL};
	struct reminder_put w = {.op = {.r = r, .patient = r->who.id}};
	if (!(w.body = haven__body_object(r, "reminders body", allowed)))
		return;
	if (reminder_body_check(w.body, w.err, sizeof(w.err))) {
		haven_reply_error(r, 400, "invalid_body", "%s", w.err);
		json_decref(w.body);
		return;
	}
	haven__write_then_copy(r, reminders_put_tx, &w, sizeof(w), reminders_stored);
}
