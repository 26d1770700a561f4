/*
 * clinician.c: a clinician's view: invitations that bring patients onto their care
 * team, the care team list (each patient with their last contact and the alerts not yet
 * resolved, so the caseload is complete in one read), one patient's summary, their
 * check-ins, chat messages and safety plan.
 *
 * Who may see what (DESIGN.md): a patient who is not on the clinician's care team does
 * not exist for them (404, the same reply as for an id nobody has). A patient on the
 * team who has withdrawn the care_team consent keeps their summary visible but their
 * clinical content is refused with 403 and code "consent_required": the clinician
 * already knows the patient exists, and must be told why the content is missing rather
 * than shown an empty list that looks like "no check-ins".
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "dialog/dialog.h"

/* ---- Invitations ---- */

struct invite_op {
	struct haven_req *r;
	uint8_t code_hash[HAVEN_TOKEN_HASH_BYTES];
	int64_t now, expires;
};

static int invite_tx(struct haven_tx *tx, void *arg)
{
	struct invite_op *op = arg;
	struct haven_param p[] = {HAVEN_P_BLOB(op->code_hash, sizeof(op->code_hash)),
	                          HAVEN_P_INT(op->r->who.id), HAVEN_P_INT(op->now),
	                          HAVEN_P_INT(op->expires)};
	int rc = haven_tx_exec(tx,
	                       "INSERT INTO invitations (code_hash, clinician_id, created_at, "
	                       "expires_at) VALUES (?, ?, ?, ?)",
	                       p, 4, NULL);
	if (rc)
		return rc;
	char subject[48];
	snprintf(subject, sizeof(subject), "user:%lld", (long long)op->r->who.id);
	return haven__audit(tx, op->r, "invitation.create", subject, "ok", NULL);
}

void haven__h_invitations_create(struct haven_req *r)
{
	char code[HAVEN_TOKEN_CHARS + 1];
	struct invite_op op = {.r = r, .now = haven_now_ms()};
	op.expires = op.now + r->api->cfg.invitation_ttl_ms;
	haven_token_generate(code);
	haven_token_hash(code, strlen(code), op.code_hash);
	int rc = haven_store_write(r->api->store, invite_tx, &op);
	if (rc) {
		haven_reply_err(r, rc, "creating the invitation");
		return;
	}
	haven_reply_json(
	    r, 201,
	    json_pack("{s:s,s:o}", "code", code, "expires_at", haven__json_time(op.expires)));
}

/* ---- The care team ---- */

struct team_op {
	struct haven_req *r;
	json_t *arr;
	json_t *one;
	int refused; /* 404 or 403 already audited inside the transaction */
	int status;
	const char *doing, *key; /* team_list_reply */
};

/* The alerts of a patient not yet resolved, of one severity, that the care team may see:
 * safety alerts always, the others while the care_team consent is granted (the rule of
 * GET /alerts, src/api/alerts.c). Counted here so the caseload is complete however many
 * alerts there are, instead of the clinician's page reading one page of the inbox. */
#define UNRESOLVED(SEVERITY)                                                                       \
	"(SELECT COUNT(*) FROM alerts a WHERE a.patient_id = u.id AND a.status <> 'resolved' "     \
	"AND a.severity = '" SEVERITY "' AND (a.kind IN ('crisis_chat', 'phq9_item9') OR "       \
	"COALESCE((SELECT cs.granted FROM consents cs WHERE cs.patient_id = u.id AND "             \
	"cs.scope = 'care_team' ORDER BY cs.id DESC LIMIT 1), 0) <> 0)), "

/* Columns: 0 id, 1 email, 2 created_at, 3 on the team since, 4 last check-in, 5 the
 * care_team consent, 6 last chat message, 7 last assessment, 8-10 unresolved alerts
 * (urgent, warning, info), 11 the risk level the safety screen gave the last chat message.
 * Times and levels only, never content: what the patient wrote stays behind the consent,
 * and so does the level (it is a judgement about what they wrote; a high one has raised a
 * safety alert, which the care team sees regardless). */
#define PATIENT_COLUMNS                                                                            \
	"SELECT u.id, u.email, u.created_at, ct.created_at, "                                      \
	"(SELECT MAX(c.created_at) FROM checkins c WHERE c.patient_id = u.id), "                   \
	"(SELECT cs.granted FROM consents cs WHERE cs.patient_id = u.id AND "                      \
	"cs.scope = 'care_team' ORDER BY cs.id DESC LIMIT 1), "                                    \
	"(SELECT MAX(m.created_at) FROM messages m WHERE m.patient_id = u.id), "                   \
	"(SELECT MAX(s.created_at) FROM assessments s WHERE s.patient_id = u.id), "                \
	UNRESOLVED("urgent") UNRESOLVED("warning") UNRESOLVED("info")                              \
	"(SELECT m.risk_level FROM messages m WHERE m.patient_id = u.id ORDER BY m.id DESC "       \
	"LIMIT 1), u.id "                                                                          \
	"FROM care_team ct JOIN users u ON u.id = ct.patient_id WHERE ct.clinician_id = ? "

static json_t *patient_row_json(const struct haven_row *row)
{
	json_t *p = json_pack("{s:I,s:s,s:o,s:o,s:b}", "id", (json_int_t)haven_row_int(row, 0),
	                      "email", haven_row_text(row, 1, NULL), "created_at",
	                      haven__json_time(haven_row_int(row, 2)), "on_team_since",
	                      haven__json_time(haven_row_int(row, 3)), "care_team_consent",
	                      !haven_row_is_null(row, 5) && haven_row_int(row, 5) != 0);
	if (!p)
		return NULL;
	json_t *last =
	    haven_row_is_null(row, 4) ? json_null() : haven__json_time(haven_row_int(row, 4));
	if (json_object_set_new(p, "last_checkin_at", last)) {
		json_decref(p);
		return NULL;
	}
	/* Last contact: the latest of a check-in, a chat message and a questionnaire. */
	static const struct {
		int column;
		const char *kind;
	} contacts[] = {{4, "checkin"}, {6, "chat"}, {7, "assessment"}};
	int64_t when = 0;
	const char *kind = NULL;
	for (size_t i = 0; i < sizeof(contacts) / sizeof(contacts[0]); i++) {
		if (haven_row_is_null(row, contacts[i].column))
			continue;
		int64_t t = haven_row_int(row, contacts[i].column);
		if (!kind || t > when) {
			when = t;
			kind = contacts[i].kind;
		}
	}
	json_int_t urgent = haven_row_int(row, 8), warning = haven_row_int(row, 9),
	           info = haven_row_int(row, 10);
	json_t *extra = json_pack("{s:o,s:o,s:I,s:{s:I,s:I,s:I}}", "last_contact_at",
	                          kind ? haven__json_time(when) : json_null(), "last_contact_kind",
	                          kind ? json_string(kind) : json_null(), "unresolved_alerts",
	                          urgent + warning + info, "unresolved_by_severity", "urgent",
	                          urgent, "warning", warning, "info", info);
	if (!extra || json_object_update(p, extra)) {
		json_decref(extra);
		json_decref(p);
		return NULL;
	}
	json_decref(extra);
	/* The latest risk level, with when it was given, while the consent allows. */
	int consent = !haven_row_is_null(row, 5) && haven_row_int(row, 5) != 0;
	const char *level = haven_row_is_null(row, 11) ? NULL : haven_row_text(row, 11, NULL);
	json_t *risk = consent && level && !haven_row_is_null(row, 6)
	                   ? json_pack("{s:s,s:o}", "level", level, "at",
	                               haven__json_time(haven_row_int(row, 6)))
	                   : json_null();
	if (!risk || json_object_set_new(p, "latest_risk", risk)) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static int team_row(const struct haven_row *row, void *arg)
{
	struct team_op *op = arg;
	json_t *p = patient_row_json(row);
	return p && json_array_append_new(op->arr, p) == 0 ? 0 : HAVEN_ENOMEM;
}

static int team_tx(struct haven_tx *tx, void *arg)
{
	struct team_op *op = arg;
	struct haven_param p[] = {HAVEN_P_INT(op->r->who.id)};
	int rc = haven_tx_query(tx, PATIENT_COLUMNS "ORDER BY u.id", p, 1, team_row, op);
	if (rc)
		return rc;
	char subject[48];
	snprintf(subject, sizeof(subject), "user:%lld", (long long)op->r->who.id);
	return haven__audit(tx, op->r, "patient.list", subject, "ok", NULL);
}

static void patients_listed(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct team_op *op = arg;
	(void)err;
	if (rc) {
		json_decref(op->arr);
		haven_reply_err(r, rc, "listing your patients");
		return;
	}
	haven_reply_json(r, 200, json_pack("{s:o}", "patients", op->arr));
}

void haven__h_patients_list(struct haven_req *r)
{
	struct team_op op = {.r = r, .arr = json_array()};
	if (!op.arr) {
		haven_reply_err(r, HAVEN_ENOMEM, "listing your patients");
		return;
	}
	haven__write_then_copy(r, team_tx, &op, sizeof(op), patients_listed);
}

static int one_row(const struct haven_row *row, void *arg)
{
	struct team_op *op = arg;
	op->one = patient_row_json(row);
	return op->one ? 0 : HAVEN_ENOMEM;
}

/* Loads the patient if on the caller's team; otherwise audits the refusal (404). */
static int load_team_patient(struct haven_tx *tx, struct team_op *op, const char *action)
{
	struct haven_param p[] = {HAVEN_P_INT(op->r->who.id), HAVEN_P_INT(op->r->path_id)};
	int rc = haven_tx_query(tx, PATIENT_COLUMNS "AND u.id = ?", p, 2, one_row, op);
	if (rc)
		return rc;
	if (op->one)
		return 0;
	char subject[48];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)op->r->path_id);
	op->refused = 1;
	op->status = 404;
	return haven__audit(tx, op->r, action, subject, "denied", "not_on_care_team");
}

static int patient_get_tx(struct haven_tx *tx, void *arg)
{
	struct team_op *op = arg;
	int rc = load_team_patient(tx, op, "patient.read");
	if (rc || op->refused)
		return rc;
	char subject[48];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)op->r->path_id);
	return haven__audit(tx, op->r, "patient.read", subject, "ok", NULL);
}

static void reply_refusal(struct haven_req *r, struct team_op *op)
{
	r->audited = 1;
	if (op->status == 403)
		haven_reply_error(r, 403, "consent_required",
		                  "the patient has not granted the care_team consent; their "
		                  "clinical content is not available");
	else
		haven_reply_not_found(r);
}

/* The first steps of reading a patient's clinical content: the patient must be on the
 * caller's care team (404 otherwise) and have granted the care_team consent (403
 * otherwise); each refusal is audited under action. Fills subject ("patient:ID"). */
static int team_content(struct haven_tx *tx, struct team_op *op, const char *action,
                        char *subject, size_t subject_len)
{
	int rc = load_team_patient(tx, op, action);
	if (rc || op->refused)
		return rc;
	snprintf(subject, subject_len, "patient:%lld", (long long)op->r->path_id);
	int granted;
	if ((rc = haven__consent_granted(tx, op->r->path_id, "care_team", &granted)))
		return rc;
	if (!granted) {
		op->refused = 1;
		op->status = 403;
		return haven__audit(tx, op->r, action, subject, "denied", "consent_withdrawn");
	}
	return 0;
}

/* Runs a care-team read that fills op.arr (a list, or one object such as the safety
 * plan) and replies {"patient_id": ID, key: op.arr}. */
/* After a care-team read's transaction (a deferred reply: no worker waits for the group
 * commit that makes its audit record durable). */
static void team_list_done(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct team_op *op = arg;
	(void)err;
	json_decref(op->one);
	if (rc || op->refused) {
		json_decref(op->arr);
		if (rc)
			haven_reply_err(r, rc, op->doing);
		else
			reply_refusal(r, op);
		return;
	}
	haven_reply_json(
	    r, 200, json_pack("{s:I,s:o}", "patient_id", (json_int_t)r->path_id, op->key, op->arr));
}

static void team_list_reply(struct haven_req *r, haven_tx_fn fn, const char *doing,
                            const char *key)
{
	struct team_op op = {.r = r, .doing = doing, .key = key};
	haven__write_then_copy(r, fn, &op, sizeof(op), team_list_done);
}

static void patient_read(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct team_op *op = arg;
	(void)err;
	if (rc || op->refused) {
		json_decref(op->one);
		if (rc)
			haven_reply_err(r, rc, "reading the patient");
		else
			reply_refusal(r, op);
		return;
	}
	haven_reply_json(r, 200, op->one);
}

void haven__h_patient_get(struct haven_req *r)
{
	struct team_op op = {.r = r};
	haven__write_then_copy(r, patient_get_tx, &op, sizeof(op), patient_read);
}

static int patient_checkins_tx(struct haven_tx *tx, void *arg)
{
	struct team_op *op = arg;
	char subject[48];
	int rc = team_content(tx, op, "checkin.read", subject, sizeof(subject));
	if (rc || op->refused)
		return rc;
	rc = haven__checkins_json(tx, op->r->api->mk, op->r->path_id, &op->arr);
	if (rc == HAVEN_ENOTFOUND)
		rc = (op->arr = json_array()) ? 0 : HAVEN_ENOMEM;
	if (rc)
		return rc;
	char detail[32];
	snprintf(detail, sizeof(detail), "count=%zu", json_array_size(op->arr));
	return haven__audit(tx, op->r, "checkin.read", subject, "ok", detail);
}

void haven__h_patient_checkins(struct haven_req *r)
{
	team_list_reply(r, patient_checkins_tx, "reading the patient's check-ins", "checkins");
}

/* ---- Chat messages ---- */

static int patient_messages_tx(struct haven_tx *tx, void *arg)
{
	struct team_op *op = arg;
	char subject[48];
	int rc = team_content(tx, op, "chat.read", subject, sizeof(subject));
	if (rc || op->refused)
		return rc;
	rc = haven_chat_history(tx, op->r->api->mk, op->r->path_id, 0, 0, &op->arr);
	if (rc == HAVEN_ENOTFOUND)
		rc = (op->arr = json_array()) ? 0 : HAVEN_ENOMEM;
	if (rc)
		return rc;
	/* Mark the messages the safety screen flagged; their risk reasons carry the phrases
	 * and rules that flagged them. */
	size_t flagged = 0, i;
	json_t *m;
	json_array_foreach(op->arr, i, m)
	{
		const char *lvl =
		    json_string_value(json_object_get(json_object_get(m, "risk"), "level"));
		int f = lvl && (!strcmp(lvl, "moderate") || !strcmp(lvl, "high"));
		flagged += (size_t)f;
		json_object_set_new(m, "flagged", json_boolean(f));
	}
	char detail[64];
	snprintf(detail, sizeof(detail), "count=%zu flagged=%zu", json_array_size(op->arr), flagged);
	return haven__audit(tx, op->r, "chat.read", subject, "ok", detail);
}

void haven__h_patient_messages(struct haven_req *r)
{
	team_list_reply(r, patient_messages_tx, "reading the patient's messages", "messages");
}

/* ---- The safety plan ---- */

/* The plan the patient wrote with the agent or on their own page, read by their care
 * team under the same rules as the rest of their clinical content. */
static int patient_safety_plan_tx(struct haven_tx *tx, void *arg)
{
	struct team_op *op = arg;
	char subject[48];
	int rc = team_content(tx, op, "safety_plan.read", subject, sizeof(subject));
	if (rc || op->refused)
		return rc;
	if ((rc = haven_safety_plan_get(tx, op->r->api->mk, op->r->path_id, &op->arr)))
		return rc;
	return haven__audit(tx, op->r, "safety_plan.read", subject, "ok", NULL);
}

void haven__h_patient_safety_plan(struct haven_req *r)
{
	team_list_reply(r, patient_safety_plan_tx, "reading the patient's safety plan",
	                "safety_plan");
}
