/*
 * monitoring.c: the HTTP face of monitoring: sensed observations (POST /sensing, the
 * daily features in GET /me/sensing and GET /patients/{id}/sensing), the
 * deterioration-risk score (GET /patients/{id}/risk) and the clinic's monitoring
 * thresholds (GET/PUT /monitoring/config, administrators).
 *
 * Sensing is accepted only while the patient's `sensing` consent is granted: otherwise
 * 403 and nothing is stored (the refusal is audited). The rules that follow a sensing
 * batch run in the batch's transaction (src/measures/monitor.c). Clinicians see a care-
 * team patient's sensing and risk only with the care_team consent, as elsewhere.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "measures/monitor.h"
#include "measures/reminders.h"
#include "measures/sensing.h"

#define DEFAULT_DAYS 28

static void subject_of(char *out, size_t len, int64_t patient)
{
	snprintf(out, len, "patient:%lld", (long long)patient);
}

/* ---- POST /sensing ---- */

struct offset_op {
	int64_t patient;
	int offset;
};

static int offset_tx(struct haven_tx *tx, void *arg)
{
	struct offset_op *o = arg;
	struct haven_reminder rem;
	int is_set;
	int rc = haven_reminder_get(tx, o->patient, &rem, &is_set);
	o->offset = rem.utc_offset_minutes;
	return rc;
}

struct sensing_write {
	struct haven_req *r;
	struct haven_sensing_obs *obs; /* owned: freed by sensing_written */
	size_t n, replaced;
	int64_t now;
	int refused;
};

static int sensing_write_tx(struct haven_tx *tx, void *arg)
{
	struct sensing_write *w = arg;
	int64_t patient = w->r->who.id;
	char subject[48], detail[64];
	subject_of(subject, sizeof(subject), patient);
	int granted = 0;
	int rc = haven__consent_granted(tx, patient, "sensing", &granted);
	if (rc)
		return rc;
	if (!granted) {
		w->refused = 1;
		return haven__audit(tx, w->r, "sensing.write", subject, "denied",
		                    "consent_missing");
	}
	if ((rc = haven_sensing_store(tx, w->r->api->mk, patient, w->obs, w->n, w->now,
	                              &w->replaced)))
		return rc;
	snprintf(detail, sizeof(detail), "observations=%zu replaced=%zu", w->n, w->replaced);
	if ((rc = haven__audit(tx, w->r, "sensing.write", subject, "ok", detail)))
		return rc;
	return haven_monitor_after_sensing(tx, w->r->api->mk, patient, w->now, NULL);
}

/* After the write (a deferred reply: no worker waits while the group commits). */
static void sensing_written(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct sensing_write *w = arg;
	(void)err;
	if (rc) {
		haven_reply_err(r, rc, "storing the observations");
		goto out;
	}
	if (w->refused) {
		r->audited = 1;
		haven_reply_error(
		    r, 403, "consent_required",
		    "sensing data is accepted only while you grant the sensing consent "
		    "(PUT /api/v1/me/consents); nothing was stored");
		goto out;
	}
	json_t *days = json_array();
	for (size_t i = 0; days && i < w->n; i++) {
		char date[11];
		haven_local_date(w->obs[i].day, date);
		int seen = 0;
		for (size_t k = 0; k < json_array_size(days) && !seen; k++)
			seen = !strcmp(json_string_value(json_array_get(days, k)), date);
		if (!seen)
			json_array_append_new(days, json_string(date));
	}
	haven_reply_json(r, 201,
	                 json_pack("{s:I,s:I,s:o}", "accepted", (json_int_t)w->n, "replaced",
	                           (json_int_t)w->replaced, "days", days ? days : json_array()));
out:
	free(w->obs);
}

void haven__h_sensing_create(struct haven_req *r)
{
	json_t *body = haven__body_object(r, "sensing body", NULL);
	if (!body)
		return;
	struct offset_op off = {.patient = r->who.id};
	struct haven_sensing_obs *obs = NULL;
	size_t n = 0;
	const char *code = "invalid_body";
	char err[300];
	int64_t now = haven_now_ms();
	int rc = haven_store_read(r->api->store, offset_tx, &off);
	if (rc) {
		haven_reply_err(r, rc, "reading the patient's time zone");
		goto out;
	}
	rc = haven_sensing_parse(body, now, off.offset, &obs, &n, &code, err, sizeof(err));
	if (rc == HAVEN_ENOMEM) {
		haven_reply_err(r, rc, "reading the observations");
		goto out;
	}
	if (rc) {
		haven_reply_error(r, rc == HAVEN_ELIMIT ? 413 : 400, code, "%s", err);
		goto out;
	}
	struct sensing_write w = {.r = r, .obs = obs, .n = n, .now = now};
	obs = NULL; /* sensing_written frees it */
	haven__write_then_copy(r, sensing_write_tx, &w, sizeof(w), sensing_written);
out:
	free(obs);
	json_decref(body);
}

/* ---- Reads ---- */

struct read_op {
	struct haven_req *r;
	int64_t patient;
	int days;
	int clinician;
	int refused, status;
	const char *action;
	const char *what; /* for an error reply: "reading your sensing data" */
	json_t *out;
};

/* For a clinician: the patient r->path_id on their care team (else 404) with the
 * care_team consent (else 403); both refusals are audited. */
static int clinician_gate(struct haven_tx *tx, struct read_op *op)
{
	char subject[48];
	subject_of(subject, sizeof(subject), op->r->path_id);
	struct haven_param p[] = {HAVEN_P_INT(op->r->who.id), HAVEN_P_INT(op->r->path_id)};
	int64_t one;
	int rc = haven_tx_query_int(tx,
	                            "SELECT ct.patient_id FROM care_team ct JOIN users u ON u.id = "
	                            "ct.patient_id WHERE ct.clinician_id = ? AND ct.patient_id = ?",
	                            p, 2, &one);
	if (rc == HAVEN_ENOTFOUND) {
		op->refused = 1;
		op->status = 404;
		return haven__audit(tx, op->r, op->action, subject, "denied", "not_on_care_team");
	}
	if (rc)
		return rc;
	op->patient = op->r->path_id;
	int granted = 0;
	if ((rc = haven__consent_granted(tx, op->patient, "care_team", &granted)))
		return rc;
	if (!granted) {
		op->refused = 1;
		op->status = 403;
		return haven__audit(tx, op->r, op->action, subject, "denied", "consent_withdrawn");
	}
	return 0;
}

/* After the read's audited transaction (a deferred reply: no worker waits for the group
 * commit that makes the audit record durable). */
static void read_done(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct read_op *op = arg;
	(void)err;
	if (rc) {
		json_decref(op->out);
		haven_reply_err(r, rc, op->what);
		return;
	}
	if (op->refused) {
		json_decref(op->out);
		r->audited = 1;
		if (op->status == 403)
			haven_reply_error(
			    r, 403, "consent_required",
			    "the patient has not granted the care_team consent; their "
			    "clinical content is not available");
		else
			haven_reply_not_found(r);
		return;
	}
	haven_reply_json(r, 200, op->out);
}

/* ?days=N (1..HAVEN_SENSING_DAYS_MAX); replies 400 and returns -1 when malformed. */
static int days_arg(struct haven_req *r, int *days)
{
	const char *v = haven__query_arg(r, "days");
	int64_t x;
	*days = DEFAULT_DAYS;
	if (!v)
		return 0;
	if (haven_parse_int64(v, &x) || x < 1 || x > HAVEN_SENSING_DAYS_MAX) {
		haven_reply_error(r, 400, "invalid_query",
		                  "'days' must be a whole number from 1 to %d",
		                  HAVEN_SENSING_DAYS_MAX);
		return -1;
	}
	*days = (int)x;
	return 0;
}

static int sensing_read_tx(struct haven_tx *tx, void *arg)
{
	struct read_op *op = arg;
	int rc;
	if (op->clinician && ((rc = clinician_gate(tx, op)) || op->refused))
		return rc;
	struct haven_reminder rem;
	int is_set;
	if ((rc = haven_reminder_get(tx, op->patient, &rem, &is_set)))
		return rc;
	int64_t today = haven_local_day(haven_now_ms(), rem.utc_offset_minutes);
	struct haven_sensing_day *days = NULL;
	if ((rc = haven_sensing_days(tx, op->r->api->mk, op->patient, today - op->days + 1, today,
	                             &days)))
		return rc;
	int granted = 0;
	rc = haven__consent_granted(tx, op->patient, "sensing", &granted);
	op->out = rc ? NULL : haven_sensing_days_json(days, (size_t)op->days);
	free(days);
	if (rc)
		return rc;
	if (!op->out)
		return HAVEN_ENOMEM;
	json_object_set_new(op->out, "patient_id", json_integer(op->patient));
	json_object_set_new(op->out, "sensing_consent", json_boolean(granted));
	char subject[48], detail[32];
	subject_of(subject, sizeof(subject), op->patient);
	snprintf(detail, sizeof(detail), "days=%d", op->days);
	return haven__audit(tx, op->r, "sensing.read", subject, "ok", detail);
}

void haven__h_sensing_own(struct haven_req *r)
{
	struct read_op op = {.r = r,
	                     .patient = r->who.id,
	                     .action = "sensing.read",
	                     .what = "reading your sensing data"};
	if (days_arg(r, &op.days))
		return;
	haven__write_then_copy(r, sensing_read_tx, &op, sizeof(op), read_done);
}

void haven__h_patient_sensing(struct haven_req *r)
{
	struct read_op op = {.r = r,
	                     .clinician = 1,
	                     .action = "sensing.read",
	                     .what = "reading the patient's sensing data"};
	if (days_arg(r, &op.days))
		return;
	haven__write_then_copy(r, sensing_read_tx, &op, sizeof(op), read_done);
}

static int risk_read_tx(struct haven_tx *tx, void *arg)
{
	struct read_op *op = arg;
	int rc = clinician_gate(tx, op);
	if (rc || op->refused)
		return rc;
	if ((rc = haven_monitor_risk_json(tx, op->r->api->mk, op->patient, haven_now_ms(),
	                                  &op->out)))
		return rc;
	json_object_set_new(op->out, "patient_id", json_integer(op->patient));
	char subject[48], detail[48];
	subject_of(subject, sizeof(subject), op->patient);
	snprintf(detail, sizeof(detail), "probability=%.3f",
	         json_real_value(json_object_get(op->out, "probability")));
	return haven__audit(tx, op->r, "risk.read", subject, "ok", detail);
}

void haven__h_patient_risk(struct haven_req *r)
{
	struct read_op op = {.r = r,
	                     .clinician = 1,
	                     .action = "risk.read",
	                     .what = "computing the patient's risk score"};
	haven__write_then_copy(r, risk_read_tx, &op, sizeof(op), read_done);
}

/* ---- The clinic's configuration ---- */

struct config_op {
	struct haven_req *r;
	const json_t *patch;
	struct haven_monitor_config cfg;
	char err[300];
	int invalid;
};

static int config_read_tx(struct haven_tx *tx, void *arg)
{
	struct config_op *op = arg;
	return haven_monitor_config_load(tx, &op->cfg);
}

static int config_write_tx(struct haven_tx *tx, void *arg)
{
	struct config_op *op = arg;
	int rc = haven_monitor_config_load(tx, &op->cfg);
	if (rc)
		return rc;
	if (haven_monitor_config_apply(&op->cfg, op->patch, op->err, sizeof(op->err))) {
		op->invalid = 1;
		return 0;
	}
	return haven_monitor_config_store(tx, &op->cfg, op->r->who.id, op->r->who.role,
	                                  op->r->request_id);
}

void haven__h_monitoring_config_get(struct haven_req *r)
{
	struct config_op op = {.r = r};
	int rc = haven_store_read(r->api->store, config_read_tx, &op);
	if (rc) {
		haven_reply_err(r, rc, "reading the monitoring configuration");
		return;
	}
	haven_reply_json(r, 200, haven_monitor_config_json(&op.cfg));
}

void haven__h_monitoring_config_put(struct haven_req *r)
{
	json_t *body = haven__body_object(r, "monitoring configuration", NULL);
	if (!body)
		return;
	struct config_op op = {.r = r, .patch = body};
	int rc = haven_store_write(r->api->store, config_write_tx, &op);
	json_decref(body);
	if (rc) {
		haven_reply_err(r, rc, "storing the monitoring configuration");
		return;
	}
	if (op.invalid) {
		haven_reply_error(r, 400, "invalid_config", "%s", op.err);
		return;
	}
	haven_reply_json(r, 200, haven_monitor_config_json(&op.cfg));
}
