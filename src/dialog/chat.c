/*
 * chat.c: a chat turn with its storage. The analysis runs first on the caller's thread;
 * then one store write opens the sealed conversation state, runs the step, and stores the
 * sealed message, the sealed state (and safety plan when it changed), the audit record and
 * any alert, all in one transaction: the reply is sent only once they are durable.
 *
 * The crisis lines follow haven_locale_effective(): the patient's own locale (users.locale,
 * NULL unless they chose one), else the deployment's, else en-US.
 *
 * The patient's data key is unwrapped once per turn and used for every field; each field
 * is bound to its table, row, patient and field name (haven_crypto_ad), as keyring.h does.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alerts/alerts.h"
#include "audit/audit.h"
#include "crypto/keyring.h"
#include "dialog/dialog.h"
#include "safety/danger.h"

const char *const haven_safety_plan_sections[] = {"warning_signs", "coping",        "distractions",
						  "people",        "professionals", "environment",
						  NULL};

/* ---- sealed JSON fields ---- */

static int seal_json(const struct haven_data_key *dk, const char *table, const char *rid,
		     int64_t patient, json_t *obj, uint8_t **ct, size_t *ct_len)
{
	char ad[256];
	int rc = haven_crypto_ad(ad, sizeof(ad), table, rid, patient, "payload");
	if (rc)
		return rc;
	char *text = json_dumps(obj, JSON_COMPACT);
	if (!text)
		return HAVEN_ENOMEM;
	rc = haven_seal(dk, ad, text, strlen(text), ct, ct_len);
	haven_secret_free(text, strlen(text));
	return rc;
}

static int open_json(const struct haven_data_key *dk, const char *table, const char *rid,
		     int64_t patient, const uint8_t *ct, size_t ct_len, json_t **out)
{
	*out = NULL;
	char ad[256];
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc = haven_crypto_ad(ad, sizeof(ad), table, rid, patient, "payload");
	if (!rc)
		rc = haven_open(dk, ad, ct, ct_len, &pt, &pt_len);
	if (rc)
		return rc;
	json_error_t e;
	*out = json_loadb((const char *)pt, pt_len, 0, &e);
	haven_secret_free(pt, pt_len);
	return *out && json_is_object(*out) ? 0 : (json_decref(*out), *out = NULL, HAVEN_ECORRUPT);
}

struct sealed_row {
	char rid[33];
	uint8_t *ct;
	size_t ct_len;
	int found;
};

static int sealed_row_fn(const struct haven_row *row, void *arg)
{
	struct sealed_row *r = arg;
	const char *rid = haven_row_text(row, 0, NULL);
	size_t n;
	const void *b = haven_row_blob(row, 1, &n);
	if (!rid || !b)
		return HAVEN_ECORRUPT;
	haven_strlcpy(r->rid, rid, sizeof(r->rid));
	free(r->ct);
	r->ct = malloc(n ? n : 1);
	if (!r->ct)
		return HAVEN_ENOMEM;
	memcpy(r->ct, b, n);
	r->ct_len = n;
	r->found = 1;
	return 0;
}

/* Reads and opens the one sealed row of table for patient; *out is NULL when there is none. */
static int load_sealed(struct haven_tx *tx, const struct haven_data_key *dk, const char *table,
		       int64_t patient, char rid[33], json_t **out)
{
	*out = NULL;
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT rid, payload FROM %s WHERE patient_id = ?", table);
	struct haven_param p[] = {HAVEN_P_INT(patient)};
	struct sealed_row r = {.found = 0};
	int rc = haven_tx_query(tx, sql, p, 1, sealed_row_fn, &r);
	if (!rc && r.found) {
		rc = open_json(dk, table, r.rid, patient, r.ct, r.ct_len, out);
		memcpy(rid, r.rid, 33);
	}
	free(r.ct);
	return rc;
}

/* What a turn reads before its step, in one statement (one round trip on PostgreSQL, where
 * the turn runs on the writer's connection and every round trip there delays the whole
 * commit group): the wrapped data key, the sealed conversation and safety plan, and
 * whether an active clinician is on the care team (haven_care_team_active's count). */
#define TURN_READ_COLUMNS                                                                      \
	"SELECT k.wrapped, c.rid, c.payload, p.rid, p.payload, " HAVEN_CARE_TEAM_ACTIVE_SQL("x.id") " "
/* On PostgreSQL the message's id comes with the read too, so the message's insert needs no
 * answer and can be pipelined (haven_tx_exec_pipelined): it travels with the audit record's
 * statement. An id taken by a turn that then fails is skipped, as identity columns skip
 * ids anyway. */
#define TURN_READ_SQL TURN_READ_COLUMNS TURN_READ_FROM
#define TURN_READ_SQL_PG                                                                       \
	TURN_READ_COLUMNS ", nextval(pg_get_serial_sequence('messages', 'id')) " TURN_READ_FROM
#define TURN_READ_FROM                                                                         \
	"FROM (SELECT CAST(? AS BIGINT) AS id) x "                                               \
	"LEFT JOIN data_keys k ON k.patient_id = x.id "                                          \
	"LEFT JOIN conversations c ON c.patient_id = x.id "                                      \
	"LEFT JOIN safety_plans p ON p.patient_id = x.id"

struct turn_read {
	struct haven_wrapped_key key;
	int rows;
	struct sealed_row conv, plan;
	int64_t care_team;
	int64_t message_id; /* PostgreSQL: the new message's id, taken from its sequence */
};

/* Copies column col (rid) and col + 1 (payload) into r when the row has them. */
static int sealed_cols(const struct haven_row *row, int col, struct sealed_row *r)
{
	if (haven_row_is_null(row, col))
		return 0;
	const char *rid = haven_row_text(row, col, NULL);
	size_t n;
	const void *b = haven_row_blob(row, col + 1, &n);
	if (!rid || !b || strlen(rid) >= sizeof(r->rid))
		return HAVEN_ECORRUPT;
	haven_strlcpy(r->rid, rid, sizeof(r->rid));
	free(r->ct);
	if (!(r->ct = malloc(n ? n : 1)))
		return HAVEN_ENOMEM;
	memcpy(r->ct, b, n);
	r->ct_len = n;
	r->found = 1;
	return 0;
}

static int turn_read_fn(const struct haven_row *row, void *arg)
{
	struct turn_read *r = arg;
	if (r->rows++)
		return HAVEN_ECORRUPT; /* one row per patient in each table (primary keys) */
	int rc = haven_wrapped_key_read(row, 0, &r->key);
	if (!rc)
		rc = sealed_cols(row, 1, &r->conv);
	if (!rc)
		rc = sealed_cols(row, 3, &r->plan);
	r->care_team = haven_row_int(row, 5);
	if (haven_row_count(row) > 6)
		r->message_id = haven_row_int(row, 6);
	return rc;
}

/* Inserts or replaces the one sealed row of table for patient. */
static int store_sealed(struct haven_tx *tx, const struct haven_data_key *dk, const char *table,
			int64_t patient, const char *rid, int exists, json_t *obj, int64_t now,
			int64_t turns)
{
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	int rc = seal_json(dk, table, rid, patient, obj, &ct, &ct_len);
	if (rc)
		return rc;
	char sql[200];
	int conv = !strcmp(table, "conversations");
	if (exists && conv) {
		struct haven_param p[] = {HAVEN_P_BLOB(ct, ct_len), HAVEN_P_INT(now), HAVEN_P_INT(turns),
					  HAVEN_P_INT(patient)};
		rc = haven_tx_exec(tx,
				   "UPDATE conversations SET payload = ?, updated_at = ?, turns = ? "
				   "WHERE patient_id = ?",
				   p, 4, NULL);
	} else if (exists) {
		struct haven_param p[] = {HAVEN_P_BLOB(ct, ct_len), HAVEN_P_INT(now),
					  HAVEN_P_INT(patient)};
		snprintf(sql, sizeof(sql),
			 "UPDATE %s SET payload = ?, updated_at = ? WHERE patient_id = ?", table);
		rc = haven_tx_exec(tx, sql, p, 3, NULL);
	} else {
		if (conv)
			snprintf(sql, sizeof(sql),
				 "INSERT INTO %s (patient_id, rid, updated_at, payload, turns) VALUES "
				 "(?, ?, ?, ?, ?)",
				 table);
		else
			snprintf(sql, sizeof(sql),
				 "INSERT INTO %s (patient_id, rid, updated_at, payload) VALUES (?, ?, "
				 "?, ?)",
				 table);
		struct haven_param p[] = {HAVEN_P_INT(patient), HAVEN_P_TEXT(rid), HAVEN_P_INT(now),
					  HAVEN_P_BLOB(ct, ct_len), HAVEN_P_INT(turns)};
		rc = haven_tx_exec(tx, sql, p, conv ? 5 : 4, NULL);
	}
	free(ct);
	return rc;
}

/* ---- risk reasons ---- */

static json_t *risk_reasons(const struct haven_turn_nlp *nlp, const char *rule,
			    const struct haven_danger_result *dg)
{
	json_t *arr = json_array();
	if (!arr)
		return NULL;
	const struct haven_crisis_result *c = &nlp->crisis;
	for (size_t i = 0; i < c->n_reasons; i++) {
		const struct haven_crisis_reason *r = &c->reasons[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "rule", r->rule, "description",
				      r->description, "phrase", r->phrase, "level",
				      haven_risk_level_name(r->level), "source",
				      r->lexicon_line ? "lexicon" : "classifier", "lexicon_line",
				      (json_int_t)r->lexicon_line);
		if (o && r->discounted_by) {
			json_t *d = json_array();
			for (unsigned bit = 1; bit && d; bit <<= 1)
				if (r->discounted_by & bit)
					json_array_append_new(d, json_string(haven_crisis_flag_name(bit)));
			json_object_set_new(o, "discounted_by", d);
		}
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	if (c->model_used && c->model_probability >= 0.5) {
		json_t *terms = json_array();
		for (size_t i = 0; i < c->n_model_terms && terms; i++)
			json_array_append_new(terms, json_string(c->model_terms[i].text));
		json_array_append_new(arr, json_pack("{s:s,s:s,s:f,s:o,s:s}", "rule", "classifier",
						     "description",
						     "the crisis classifier's probability",
						     "probability", c->model_probability, "terms",
						     terms ? terms : json_array(), "version",
						     c->model_version ? c->model_version : ""));
	}
	if (nlp->overdose)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "rule", "overdose_taken",
						     "description",
						     "says an overdose was taken now or recently",
						     "level", "high"));
	/* the danger-and-abuse screen (src/safety/danger.c), discounted phrases included */
	for (size_t i = 0; dg && i < dg->n_reasons; i++) {
		const struct haven_danger_reason *r = &dg->reasons[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "rule", r->rule, "category",
				      r->category, "description", r->description, "phrase",
				      r->phrase, "level", haven_danger_level_name(r->level), "source",
				      "danger_screen", "historical", r->historical, "version",
				      HAVEN_DANGER_VERSION);
		if (o && r->discounted_by)
			json_object_set_new(o, "discounted_by", json_string(r->discounted_by));
		if (o)
			json_array_append_new(arr, o);
	}
	if (rule && strcmp(rule, "pass"))
		json_array_append_new(arr, json_pack("{s:s,s:s}", "rule", "protocol", "step", rule));
	return arr;
}

/* ---- the turn ---- */

struct turn_ctx {
	const struct haven_master_key *mk;
	struct haven_dialog_worker *w;
	const struct haven_dialog *d;
	const struct haven_chat_who *who;
	const char *text;
	size_t len;
	struct haven_turn_nlp *nlp; /* the danger screen may raise its crisis level */
	const struct haven_danger_result *danger;
	int danger_raised; /* the crisis level is high because of the danger screen */
	const struct haven_region *region;
	char msg_rid[33], new_conv_rid[33], new_plan_rid[33];
	json_t *turn;
	int64_t message_id;
};

/* One safety alert raised from a chat message (crisis_chat, abuse_disclosed): its reasons
 * entry says what happened ("text"), by which rule, with the phrases that fired, the risk
 * reasons of the turn and the lexicon version; category is added when not NULL. The turn
 * gets an "alert" action with the alert's kind, id, whether it is new and its severity.
 * phrases is consumed (NULL when out of memory). */
struct safety_alert {
	const char *kind, *severity, *dedup_key;
	const char *what, *rule, *category, *version;
	json_t *phrases;
};

static int raise_safety_alert(struct haven_tx *tx, struct turn_ctx *t, struct haven_step *s,
			      const char *source, json_t *reasons, struct safety_alert *sa)
{
	json_t *rs = sa->phrases ? json_pack("[{s:s,s:s,s:o,s:O,s:s}]", "text", sa->what, "rule",
					     sa->rule, "phrases", sa->phrases, "reasons", reasons,
					     "version", sa->version ? sa->version : "")
				 : NULL;
	sa->phrases = NULL;
	if (rs && sa->category &&
	    json_object_set_new(json_array_get(rs, 0), "category", json_string(sa->category))) {
		json_decref(rs);
		rs = NULL;
	}
	if (!rs)
		return HAVEN_ENOMEM;
	struct haven_alert_new a = {.patient_id = t->who->patient_id,
				    .kind = sa->kind,
				    .severity = sa->severity,
				    .reasons = rs,
				    .source = source,
				    .dedup_key = sa->dedup_key};
	int64_t id = 0;
	int created = 0;
	int rc = haven_alert_raise(tx, t->mk, &a, &id, &created);
	json_decref(rs);
	if (!rc && json_array_append_new(s->actions,
					 json_pack("{s:s,s:s,s:I,s:b,s:s}", "type", "alert", "kind",
						   sa->kind, "id", (json_int_t)id, "new", created,
						   "severity", sa->severity)))
		rc = HAVEN_ENOMEM;
	return rc;
}

static int raise_alerts(struct haven_tx *tx, struct turn_ctx *t, struct haven_step *s,
			json_t *reasons)
{
	char source[48];
	snprintf(source, sizeof(source), "message:%s", t->msg_rid);
	int rc = 0;
	if (s->raise_crisis) {
		json_t *sf = json_object_get(s->state, "safety");
		char dedup[48], what[200];
		snprintf(dedup, sizeof(dedup), "crisis-episode-%lld",
			 (long long)json_integer_value(json_object_get(sf, "episode")));
		snprintf(what, sizeof(what),
			 "A message in chat was assessed at %s risk (%s); the crisis protocol is "
			 "running and the person was given the crisis lines for %s.",
			 haven_risk_level_name(s->level), s->safety_rule, t->region->name);
		struct safety_alert sa = {.kind = "crisis_chat",
					  .severity = "urgent",
					  .dedup_key = dedup,
					  .what = what,
					  .rule = s->safety_rule,
					  .version = t->nlp->crisis.lexicon_version,
					  .phrases = json_array()};
		for (size_t i = 0; i < t->nlp->crisis.n_reasons && sa.phrases; i++)
			json_array_append_new(sa.phrases,
					      json_string(t->nlp->crisis.reasons[i].phrase));
		rc = raise_safety_alert(tx, t, s, source, reasons, &sa);
	}
	/* Abuse disclosed without danger now (danger now runs the crisis protocol and its
	 * crisis_chat alert): urgent for child abuse, sexual violence, strangling, weapons and
	 * threats to kill that are not long ago, a warning otherwise (docs/safety.md). */
	const struct haven_danger_result *dg = t->danger;
	if (!rc && dg->level == HAVEN_DANGER_DISCLOSED) {
		char what[240], dedup[64];
		snprintf(what, sizeof(what),
			 "A message in chat disclosed abuse or violence (%s%s); the person was given "
			 "helplines for %s.",
			 dg->category, dg->historical ? ", long ago" : "", t->region->name);
		snprintf(dedup, sizeof(dedup), "abuse-%s", dg->category);
		struct safety_alert sa = {.kind = "abuse_disclosed",
					  .severity = dg->urgent ? "urgent" : "warning",
					  .dedup_key = dedup,
					  .what = what,
					  .rule = dg->rule,
					  .category = dg->category,
					  .version = HAVEN_DANGER_VERSION,
					  .phrases = json_array()};
		for (size_t i = 0; i < dg->n_reasons && sa.phrases; i++)
			if (dg->reasons[i].level == dg->level)
				json_array_append_new(sa.phrases,
						      json_string(dg->reasons[i].phrase));
		rc = raise_safety_alert(tx, t, s, source, reasons, &sa);
	}
	/* A conversational PHQ-9 recorded as an assessment raised its own phq9_item9 alert. */
	if (!rc && s->raise_item9 && !s->assess) {
		char what[200];
		snprintf(what, sizeof(what),
			 "PHQ-9 item 9 (thoughts of being better off dead or of self-harm) was "
			 "answered %d (of 3) in chat.",
			 s->item9_value);
		json_t *rs = json_pack("[{s:s,s:{s:i},s:s}]", "text", what, "values", "item9",
				       s->item9_value, "rule", "phq9_item9_above_0");
		if (!rs)
			return HAVEN_ENOMEM;
		struct haven_alert_new a = {.patient_id = t->who->patient_id,
					    .kind = "phq9_item9",
					    .severity = "urgent",
					    .reasons = rs,
					    .source = source};
		int64_t id = 0;
		rc = haven_alert_raise(tx, t->mk, &a, &id, NULL);
		json_decref(rs);
		if (!rc)
			rc = json_array_append_new(s->actions,
						   json_pack("{s:s,s:s,s:I}", "type", "alert", "kind",
							     "phq9_item9", "id", (json_int_t)id))
				 ? HAVEN_ENOMEM
				 : 0;
	}
	return rc;
}

/* Records a questionnaire completed in conversation as an assessment (src/measures): it
 * joins the person's episode, outcomes, FHIR export and GET /assessments, raises the
 * measures' alerts (PHQ-9 item 9, reliable deterioration) and is audited there. */
static int record_assessment(struct haven_tx *tx, struct turn_ctx *t, struct haven_step *s)
{
	struct haven_assessment_new a = {.patient_id = t->who->patient_id,
					 .instrument = s->assess,
					 .answers = s->assess_answers,
					 .nanswers = s->assess_n,
					 .actor_id = t->who->patient_id,
					 .actor_role = "patient",
					 .request_id = t->who->request_id};
	struct haven_assessment_result res = {0};
	int rc = haven_assessment_record(tx, t->mk, &a, &res);
	if (rc) {
		json_decref(res.alerts);
		return rc;
	}
	size_t n = json_array_size(s->actions);
	for (size_t i = 0; i < n; i++) {
		json_t *act = json_array_get(s->actions, i);
		const char *type = json_string_value(json_object_get(act, "type"));
		if (type && !strcmp(type, "assessment")) {
			json_object_set_new(act, "id", json_integer(res.id));
			json_object_set_new(act, "episode_id", json_integer(res.episode_id));
		}
	}
	size_t k;
	json_t *al;
	json_array_foreach(res.alerts, k, al)
	{
		json_t *x = json_pack("{s:s,s:O,s:O}", "type", "alert", "kind",
				      json_object_get(al, "kind"), "id", json_object_get(al, "id"));
		if (!x || json_array_append_new(s->actions, x)) {
			rc = HAVEN_ENOMEM;
			break;
		}
	}
	json_decref(res.alerts);
	return rc;
}

/* ---- the danger-and-abuse screen's routes (docs/safety.md) ---- */

static const char *state_str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An answer to the agent's own question inside an exercise ("tonight after dinner" for
 * worry time, "give my pills to Ana to keep" in the safety plan) is read by the lexicon and
 * the long-post classifier alone: the short-message classifier, which has learnt words more
 * than meanings, may not turn it into a crisis question there, unless it is all but sure
 * of a plan, means, preparation, goodbye or self-harm (p(crisis_high) >= 0.80; held out on
 * answers written as if inside exercises, tests/data/crisis/train4.tsv, that caught 55 of
 * the crisis answers only it recognised and raised none of 365 everyday ones, where its
 * ordinary threshold raised 5, and "the chair, the floor, my sleeve, the air" in
 * grounding; models/crisis_short.md). At home, in onboarding or in the crisis protocol it
 * always may. Its reason stays in the record. */
#define IN_FLOW_SHORT_HIGH_P 0.80
static void answer_in_flow(struct turn_ctx *t, json_t *state)
{
	struct haven_crisis_result *cr = &t->nlp->crisis;
	const char *flow = state_str(state, "flow");
	const char *mode = state_str(json_object_get(state, "safety"), "mode");
	if (cr->level < HAVEN_RISK_MODERATE || t->danger_raised || !flow ||
	    !strcmp(flow, "home") || !strcmp(flow, "onboarding") || (mode && strcmp(mode, "none")))
		return;
	enum haven_risk_level others = HAVEN_RISK_NONE;
	int short_only = 0;
	for (size_t i = 0; i < cr->n_reasons; i++) {
		if (!strcmp(cr->reasons[i].rule, "short_classifier"))
			short_only = 1;
		else if (cr->reasons[i].level > others)
			others = cr->reasons[i].level;
	}
	if (short_only && others < HAVEN_RISK_MODERATE &&
	    cr->short_model_high_probability < IN_FLOW_SHORT_HIGH_P)
		cr->level = others;
}

/* Before the step. Only when the crisis gate would let the turn through (no protocol running,
 * below moderate, no overdose): a disclosure goes to the abuse flow, worry about someone else
 * to the helping-others flow, a medication question to its answer. Inside an exercise the
 * first and the last are asides (engine.c): answered, then back to the exercise's step.
 * Returns 1 when the turn is a medication question inside a flow other than home and
 * onboarding, whose rule the turn records (danger_after). */
static int danger_route(struct turn_ctx *t, json_t *state)
{
	const struct haven_danger_result *dg = t->danger;
	struct haven_turn_nlp *nlp = t->nlp;
	const char *mode = state_str(json_object_get(state, "safety"), "mode");
	if ((mode && strcmp(mode, "none")) || nlp->crisis.level >= HAVEN_RISK_MODERATE ||
	    nlp->overdose)
		return 0;
	const char *flow = state_str(state, "flow");
	switch (dg->level) {
	case HAVEN_DANGER_DISCLOSED:
		haven_strlcpy(nlp->intent, "abuse", sizeof(nlp->intent));
		nlp->intent_p = 1.0;
		nlp->routed = 1;
		return 0;
	case HAVEN_DANGER_OTHER:
		nlp->crisis.flags |= HAVEN_CRISIS_ABOUT_OTHER;
		return 0;
	case HAVEN_DANGER_MEDICATION:
		haven_strlcpy(nlp->intent, "medication", sizeof(nlp->intent));
		nlp->intent_p = 1.0;
		nlp->routed = 1;
		return flow && strcmp(flow, "home") && strcmp(flow, "onboarding");
	default:
		return 0;
	}
}

/* The medication flow's answer, with the emergency number of the person's region. */
static int medication_text(struct turn_ctx *t, struct haven_buf *b)
{
	const struct haven_content *c = haven_dialog_content(t->d);
	int rc = 0;
	int mf = haven_content_flow_index(c, "medication");
	const char *text = mf >= 0 && c->flows[mf].nnodes ? c->flows[mf].nodes[0].says[0] : "";
	for (const char *p = text; *p && !rc;) {
		const char *o = strstr(p, "{emergency}");
		if (!o) {
			rc = haven_buf_puts(b, p);
			break;
		}
		rc = haven_buf_append(b, p, (size_t)(o - p));
		if (!rc)
			rc = haven_buf_puts(b, t->region->emergency);
		p = o + strlen("{emergency}");
	}
	return rc;
}

/* Replaces (or, with append, adds to) the step's reply with a danger reply. */
static int danger_say(struct turn_ctx *t, struct haven_step *s, const char *which, int append)
{
	if (!append)
		haven_buf_reset(&s->reply);
	else if (s->reply.len && haven_buf_puts(&s->reply, " "))
		return HAVEN_ENOMEM;
	return haven_danger_reply(which, haven_dialog_lines(t->d), t->region, t->danger->categories,
				  s->care_team, &s->reply);
}

/* After the step: the words for danger and abuse, the level, the protocol's reason.
 * medication_in_flow: danger_route's answer. */
static int danger_after(struct turn_ctx *t, struct haven_step *s, int medication_in_flow)
{
	const struct haven_danger_result *dg = t->danger;
	json_t *sf = json_object_get(s->state, "safety");
	const char *mode = state_str(sf, "mode");
	int in_protocol = mode && (!strcmp(mode, "crisis") || !strcmp(mode, "confirm"));
	int rc = 0;
	if (!in_protocol && json_is_object(sf))
		json_object_del(sf, "danger");
	/* The protocol entered from content that learnt of danger now (the abuse flow's "are
	 * you in danger right now?" answered yes): from here on it speaks of danger too, so the
	 * one confirming question asks about danger from anyone, not only about thoughts of
	 * suicide, and a "no" to the latter alone does not end it. */
	if (in_protocol && json_is_object(sf) && !state_str(sf, "danger") &&
	    !strcmp(s->safety_rule, "content_danger") &&
	    json_object_set_new(sf, "danger", json_string("disclosed")))
		return HAVEN_ENOMEM;
	if (dg->level == HAVEN_DANGER_NOW && in_protocol) {
		if (json_object_set_new(sf, "danger", json_string(dg->category)))
			return HAVEN_ENOMEM;
		if (t->danger_raised && !strcmp(s->state_name, "safety.crisis")) {
			rc = danger_say(t, s, "now", 0);
			s->safety_rule = "danger_now";
			size_t i;
			json_t *a;
			json_array_foreach(s->actions, i, a)
			{
				const char *ty = state_str(a, "type");
				if (ty && !strcmp(ty, "safety"))
					json_object_set_new(a, "rule", json_string("danger_now"));
			}
		} else
			rc = danger_say(t, s, "stay_note", 1);
		return rc;
	}
	if (in_protocol && state_str(sf, "danger") && !strcmp(s->state_name, "safety.confirm"))
		return danger_say(t, s, "confirm", 0);
	if (in_protocol && state_str(sf, "danger") && !strcmp(s->state_name, "safety.crisis_stay"))
		return danger_say(t, s, "stay_note", 1);
	if (dg->level == HAVEN_DANGER_DISCLOSED) {
		if (s->level < HAVEN_RISK_MODERATE)
			s->level = HAVEN_RISK_MODERATE; /* flagged for the care team */
		if (!strcmp(s->state_name, "abuse.answer")) {
			rc = danger_say(t, s, "disclosed", 0);
			if (!rc)
				rc = haven_buf_puts(&s->reply, " Are you in danger right now?");
		} else
			rc = danger_say(t, s, !strncmp(s->state_name, "safety.", 7) ? "stay_note"
										 : "disclosed",
					1);
		return rc;
	}
	if (dg->level == HAVEN_DANGER_MEDICATION && !strncmp(s->state_name, "safety.", 7)) {
		/* The gate asked its question: the medication answer first, then the question. */
		struct haven_buf nb;
		haven_buf_init(&nb, 64 * 1024);
		rc = medication_text(t, &nb);
		if (!rc)
			rc = haven_buf_printf(&nb, " %s", s->reply.data ? s->reply.data : "");
		if (!rc) {
			haven_buf_reset(&s->reply);
			rc = haven_buf_puts(&s->reply, nb.data);
		}
		haven_buf_release(&nb);
		return rc;
	}
	if (dg->level == HAVEN_DANGER_MEDICATION && medication_in_flow) {
		/* Answered inside a flow, and back at its step (engine.c, asides): recorded
		 * as the screen's, as the turn's reasons say. */
		s->safety_rule = "medication_question";
		return json_array_append_new(s->actions,
					     json_pack("{s:s,s:s,s:s,s:s}", "type", "safety", "rule",
						       "medication_question", "mode", "none",
						       "level", haven_risk_level_name(s->level)))
			   ? HAVEN_ENOMEM
			   : 0;
	}
	if (dg->level == HAVEN_DANGER_OTHER && !strcmp(s->state_name, "helping_others.start")) {
		/* The helping-others flow, with words for someone being hurt. */
		if (json_object_set_new(s->state, "node", json_string("you")))
			return HAVEN_ENOMEM;
		snprintf(s->state_name, sizeof(s->state_name), "helping_others.you");
		return danger_say(t, s, "other", 0);
	}
	return 0;
}

#define MESSAGE_INSERT                                                                         \
	"INSERT INTO messages (rid, patient_id, created_at, risk_level, flagged, payload) "      \
	"VALUES (?, ?, ?, ?, ?, ?) RETURNING id"
#define MESSAGE_INSERT_WITH_ID                                                                 \
	"INSERT INTO messages (id, rid, patient_id, created_at, risk_level, flagged, payload) "  \
	"VALUES (?, ?, ?, ?, ?, ?, ?)"

static int turn_tx(struct haven_tx *tx, void *arg)
{
	struct turn_ctx *t = arg;
	int64_t patient = t->who->patient_id, now = haven_now_ms();
	json_decref(t->turn);
	t->turn = NULL;
	struct haven_data_key *dk = NULL;
	json_t *state = NULL, *plan = NULL, *reasons = NULL, *payload = NULL;
	char conv_rid[33], plan_rid[33];
	uint8_t *ct = NULL, *conv_ct = NULL;
	size_t ct_len = 0, conv_ct_len = 0;
	struct haven_step s = {0};
	int stepped = 0;
	struct turn_read rd = {.rows = 0};
	struct haven_param rp[] = {HAVEN_P_INT(patient)};
	int pg = haven_tx_kind(tx) == HAVEN_STORE_PG;
	int rc = haven_tx_query(tx, pg ? TURN_READ_SQL_PG : TURN_READ_SQL, rp, 1, turn_read_fn,
				&rd);
	if (!rc && pg && rd.message_id <= 0)
		rc = HAVEN_ECORRUPT;
	if (!rc && rd.rows != 1)
		rc = HAVEN_ECORRUPT;
	/* The first turn makes the key (it may race another transaction: keyring.c). */
	if (!rc)
		rc = rd.key.found
			 ? haven_data_key_unwrap(t->mk, patient, rd.key.wrapped, rd.key.len, &dk)
			 : haven_keyring_get_or_create(tx, t->mk, patient, &dk);
	if (!rc && rd.conv.found) {
		rc = open_json(dk, "conversations", rd.conv.rid, patient, rd.conv.ct,
			       rd.conv.ct_len, &state);
		memcpy(conv_rid, rd.conv.rid, 33);
	}
	if (!rc && rd.plan.found) {
		rc = open_json(dk, "safety_plans", rd.plan.rid, patient, rd.plan.ct,
			       rd.plan.ct_len, &plan);
		memcpy(plan_rid, rd.plan.rid, 33);
	}
	s.care_team = rd.care_team > 0;
	free(rd.conv.ct);
	free(rd.plan.ct);
	if (rc)
		goto out;
	int conv_exists = state != NULL;
	if (!state && !(state = json_object())) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	if (!conv_exists)
		memcpy(conv_rid, t->new_conv_rid, 33);
	int plan_exists = plan != NULL;
	if (!plan && !(plan = json_object())) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	if (!plan_exists)
		memcpy(plan_rid, t->new_plan_rid, 33);

	s.d = t->d;
	s.nlp = t->nlp;
	s.text = t->text;
	s.len = t->len;
	s.region = t->region;
	s.state = state;
	s.plan = plan;
	json_t *turns_v = json_object_get(state, "turns");
	int64_t turns = json_is_integer(turns_v) ? json_integer_value(turns_v) : 0;
	s.seed = (uint64_t)patient * 0x9e3779b97f4a7c15ULL ^ (uint64_t)turns;
	answer_in_flow(t, state);
	if ((rc = haven_step_init(&s)))
		goto out;
	stepped = 1;
	int medication_in_flow = danger_route(t, state);
	if ((rc = haven_dialog_step(&s)) || (rc = danger_after(t, &s, medication_in_flow)))
		goto out;
	if (!(reasons = risk_reasons(t->nlp, s.safety_rule, t->danger))) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	if (s.assess && (rc = record_assessment(tx, t, &s)))
		goto out;
	if ((rc = raise_alerts(tx, t, &s, reasons)))
		goto out;
	/* On PostgreSQL an existing conversation's update travels with the message's insert
	 * in one statement (one round trip fewer on the writer); SQLite has no data-modifying
	 * WITH, and a round trip costs it nothing. */
	int conv_with_message = conv_exists && pg;
	if (conv_with_message)
		rc = seal_json(dk, "conversations", conv_rid, patient, state, &conv_ct,
			       &conv_ct_len);
	else
		rc = store_sealed(tx, dk, "conversations", patient, conv_rid, conv_exists, state,
				  now, turns + 1);
	if (rc)
		goto out;
	if (s.plan_changed) {
		json_object_set_new(plan, "updated_at", json_integer(now));
		if ((rc = store_sealed(tx, dk, "safety_plans", patient, plan_rid, plan_exists, plan,
				       now, 0)))
			goto out;
	}
	const char *level = haven_risk_level_name(s.level);
	const char *reply = s.reply.data ? s.reply.data : "";
	payload = json_pack("{s:s%,s:s,s:s,s:{s:s,s:f,s:O},s:O,s:s,s:f,s:s}", "text", t->text,
			    t->len, "reply", reply, "state", s.state_name, "risk", "level", level,
			    "score", t->nlp->crisis.score, "reasons", reasons, "actions", s.actions,
			    "intent", t->nlp->intent, "intent_p", t->nlp->intent_p, "feeling",
			    t->nlp->feeling);
	if (!payload) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	if (s.safety_answer)
		json_object_set_new(payload, "safety_answer", json_string(s.safety_answer));
	if ((rc = seal_json(dk, "messages", t->msg_rid, patient, payload, &ct, &ct_len)))
		goto out;
	struct haven_param mp[] = {HAVEN_P_BLOB(conv_ct, conv_ct_len),
				   HAVEN_P_INT(now),
				   HAVEN_P_INT(turns + 1),
				   HAVEN_P_INT(patient),
				   HAVEN_P_INT(rd.message_id),
				   HAVEN_P_TEXT(t->msg_rid),
				   HAVEN_P_INT(patient),
				   HAVEN_P_INT(now),
				   HAVEN_P_TEXT(level),
				   HAVEN_P_INT(s.level >= HAVEN_RISK_MODERATE),
				   HAVEN_P_BLOB(ct, ct_len)};
	if (pg) {
		/* Nothing to wait for: the audit record's statement below brings its answer. */
		t->message_id = rd.message_id;
		if (conv_with_message)
			rc = haven_tx_exec_pipelined(tx,
						     "WITH conv AS (UPDATE conversations SET "
						     "payload = ?, updated_at = ?, turns = ? WHERE "
						     "patient_id = ?) " MESSAGE_INSERT_WITH_ID,
						     mp, 11);
		else
			rc = haven_tx_exec_pipelined(tx, MESSAGE_INSERT_WITH_ID, mp + 4, 7);
	} else {
		rc = haven_tx_query_int(tx, MESSAGE_INSERT, mp + 5, 6, &t->message_id);
	}
	if (rc)
		goto out;
	char subject[48], detail[200];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)patient);
	snprintf(detail, sizeof(detail), "message=%lld risk=%s safety=%s%s%s state=%s",
		 (long long)t->message_id, level, s.safety_rule, s.safety_answer ? " answer=" : "",
		 s.safety_answer ? s.safety_answer : "", s.state_name);
	struct haven_audit_event ev = {.actor_id = patient,
				       .actor_role = "patient",
				       .action = "chat.write",
				       .subject = subject,
				       .outcome = "ok",
				       .request_id = t->who->request_id,
				       .detail = detail};
	if ((rc = haven_audit_append(tx, &ev)))
		goto out;
	t->turn = json_pack("{s:s,s:s,s:{s:s,s:O},s:O}", "reply", reply, "state", s.state_name,
			    "risk", "level", level, "reasons", reasons, "actions", s.actions);
	if (!t->turn)
		rc = HAVEN_ENOMEM;
out:
	if (stepped)
		haven_step_release(&s);
	json_decref(state);
	json_decref(plan);
	json_decref(reasons);
	json_decref(payload);
	free(ct);
	free(conv_ct);
	haven_data_key_destroy(&dk);
	return rc;
}

/* A turn between its analysis and its write (haven_chat_turn_begin): what turn_tx reads,
 * kept together on the heap so the write may run after the caller has returned. */
struct haven_chat_turn {
	struct turn_ctx t;
	struct haven_chat_who who;
	struct haven_turn_nlp nlp;
	struct haven_danger_result danger;
};

int haven_chat_turn_begin(const struct haven_master_key *mk, struct haven_dialog_worker *w,
			  const struct haven_chat_who *who, const char *text, size_t len,
			  struct haven_chat_turn **out)
{
	*out = NULL;
	size_t bad;
	if (!len || len > HAVEN_CHAT_MAX_TEXT || !haven_utf8_valid(text, len, &bad) ||
	    memchr(text, '\0', len))
		return HAVEN_EINVAL;
	struct haven_chat_turn *c = haven_calloc(1, sizeof(*c));
	if (!c)
		return HAVEN_ENOMEM;
	struct haven_turn_nlp *nlp = &c->nlp;
	int rc = haven_dialog_analyze(w, text, len, nlp);
	if (rc) {
		free(c);
		return rc;
	}
	/* The danger-and-abuse screen beside the crisis screen: danger from someone now runs the
	 * crisis protocol. It only ever raises the crisis level. */
	struct haven_danger_result *danger = &c->danger;
	haven_danger_screen(text, len, danger);
	int danger_raised = 0;
	if (danger->level == HAVEN_DANGER_NOW && nlp->crisis.level < HAVEN_RISK_HIGH) {
		nlp->crisis.level = HAVEN_RISK_HIGH;
		if (nlp->crisis.score < 0.8)
			nlp->crisis.score = 0.8;
		danger_raised = 1;
	}
	nlp->danger_now = danger->level == HAVEN_DANGER_NOW;
	nlp->danger_raised = danger_raised;
	nlp->danger_bits = danger->level >= HAVEN_DANGER_DISCLOSED ? danger->categories : 0;
	const struct haven_dialog *d = haven_dialog_worker_dialog(w);
	c->who = *who;
	/* The person's own locale when they chose one, else the deployment's, else en-US. */
	const char *locale = haven_locale_effective(who->locale, haven_dialog_default_locale(d));
	c->t = (struct turn_ctx){.mk = mk,
				 .w = w,
				 .d = d,
				 .who = &c->who,
				 .text = text,
				 .len = len,
				 .nlp = nlp,
				 .danger = danger,
				 .danger_raised = danger_raised,
				 .region = haven_crisis_lines_for(haven_dialog_lines(d), locale)};
	haven_record_id(c->t.msg_rid);
	haven_record_id(c->t.new_conv_rid);
	haven_record_id(c->t.new_plan_rid);
	*out = c;
	return 0;
}

int haven_chat_turn_tx(struct haven_tx *tx, void *turn)
{
	struct haven_chat_turn *c = turn;
	return turn_tx(tx, &c->t);
}

json_t *haven_chat_turn_end(struct haven_chat_turn **turn)
{
	struct haven_chat_turn *c = *turn;
	if (!c)
		return NULL;
	json_t *out = c->t.turn;
	free(c);
	*turn = NULL;
	return out;
}

int haven_chat_turn(struct haven_store *st, const struct haven_master_key *mk,
		    struct haven_dialog_worker *w, const struct haven_chat_who *who,
		    const char *text, size_t len, json_t **turn)
{
	*turn = NULL;
	struct haven_chat_turn *c;
	int rc = haven_chat_turn_begin(mk, w, who, text, len, &c);
	if (rc)
		return rc;
	rc = haven_store_write(st, haven_chat_turn_tx, c);
	json_t *out = haven_chat_turn_end(&c);
	if (rc) {
		json_decref(out);
		return rc;
	}
	*turn = out;
	return 0;
}

/* ---- history ---- */

struct msg_row {
	int64_t id, created_at;
	char rid[33];
	char level[16];
	uint8_t *ct;
	size_t ct_len;
};

struct msg_list {
	struct msg_row *rows;
	size_t n, cap;
};

static int msg_row_fn(const struct haven_row *row, void *arg)
{
	struct msg_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct msg_row *v = realloc(l->rows, cap * sizeof(*v));
		if (!v)
			return HAVEN_ENOMEM;
		l->rows = v;
		l->cap = cap;
	}
	struct msg_row *m = &l->rows[l->n];
	memset(m, 0, sizeof(*m));
	m->id = haven_row_int(row, 0);
	haven_strlcpy(m->rid, haven_row_text(row, 1, NULL) ? haven_row_text(row, 1, NULL) : "",
		      sizeof(m->rid));
	m->created_at = haven_row_int(row, 2);
	haven_strlcpy(m->level, haven_row_text(row, 3, NULL) ? haven_row_text(row, 3, NULL) : "",
		      sizeof(m->level));
	size_t n;
	const void *b = haven_row_blob(row, 4, &n);
	if (!b)
		return HAVEN_ECORRUPT;
	if (!(m->ct = malloc(n ? n : 1)))
		return HAVEN_ENOMEM;
	memcpy(m->ct, b, n);
	m->ct_len = n;
	l->n++;
	return 0;
}

int haven_chat_history(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
		       int flagged_only, size_t limit, json_t **out)
{
	*out = NULL;
	if (!limit)
		limit = 500;
	if (limit > (size_t)INT64_MAX)
		limit = (size_t)INT64_MAX;
	struct msg_list l = {0};
	struct haven_data_key *dk = NULL;
	json_t *arr = json_array();
	int rc = arr ? 0 : HAVEN_ENOMEM;
	struct haven_param p[] = {HAVEN_P_INT(patient_id), HAVEN_P_INT((int64_t)limit)};
	if (!rc)
		rc = haven_tx_query(tx,
				    flagged_only
					? "SELECT id, rid, created_at, risk_level, payload FROM messages "
					  "WHERE patient_id = ? AND flagged = 1 ORDER BY id DESC LIMIT ?"
					: "SELECT id, rid, created_at, risk_level, payload FROM messages "
					  "WHERE patient_id = ? ORDER BY id DESC LIMIT ?",
				    p, 2, msg_row_fn, &l);
	if (!rc && l.n) {
		rc = haven_keyring_get(tx, mk, patient_id, &dk);
	}
	for (size_t i = l.n; i-- > 0 && !rc;) {
		struct msg_row *m = &l.rows[i];
		json_t *o = NULL;
		rc = open_json(dk, "messages", m->rid, patient_id, m->ct, m->ct_len, &o);
		if (rc)
			break;
		char ts[32];
		haven_time_format(m->created_at, ts);
		json_t *risk = json_object_get(o, "risk");
		json_t *item = json_pack("{s:I,s:s,s:O,s:O,s:O,s:O,s:O}", "id", (json_int_t)m->id,
					 "created_at", ts, "text", json_object_get(o, "text"), "reply",
					 json_object_get(o, "reply"), "state",
					 json_object_get(o, "state"), "risk",
					 risk ? risk : json_null(), "actions",
					 json_object_get(o, "actions") ? json_object_get(o, "actions")
								       : json_null());
		if (item && json_object_get(o, "safety_answer"))
			json_object_set(item, "safety_answer", json_object_get(o, "safety_answer"));
		json_decref(o);
		if (!item || json_array_append_new(arr, item))
			rc = HAVEN_ENOMEM;
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.rows[i].ct);
	free(l.rows);
	haven_data_key_destroy(&dk);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* ---- safety plan ---- */

int haven_safety_plan_validate(const json_t *plan, char *err, size_t errlen)
{
	if (!json_is_object(plan)) {
		snprintf(err, errlen, "the safety plan must be a JSON object");
		return HAVEN_EINVAL;
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)plan, key, v)
	{
		int known = 0;
		for (size_t i = 0; haven_safety_plan_sections[i]; i++)
			known |= !strcmp(key, haven_safety_plan_sections[i]);
		if (!known) {
			snprintf(err, errlen,
				 "unknown section \"%.40s\" (warning_signs, coping, distractions, "
				 "people, professionals, environment)",
				 key);
			return HAVEN_EINVAL;
		}
		if (!json_is_array(v)) {
			snprintf(err, errlen, "section %s must be an array of strings", key);
			return HAVEN_EINVAL;
		}
		if (json_array_size(v) > 20) {
			snprintf(err, errlen, "section %s has more than 20 entries", key);
			return HAVEN_EINVAL;
		}
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);
			if (!json_is_string(e)) {
				snprintf(err, errlen, "%s[%zu] must be a string", key, i);
				return HAVEN_EINVAL;
			}
			size_t n = json_string_length(e), cps = 0;
			const char *s = json_string_value(e);
			for (size_t k = 0; k < n; k++)
				cps += ((unsigned char)s[k] & 0xC0) != 0x80;
			if (cps < 1 || cps > 500) {
				snprintf(err, errlen, "%s[%zu] must be 1 to 500 characters", key, i);
				return HAVEN_EINVAL;
			}
		}
	}
	return 0;
}

int haven_safety_plan_get(struct haven_tx *tx, const struct haven_master_key *mk,
			  int64_t patient_id, json_t **out)
{
	*out = NULL;
	struct haven_data_key *dk = NULL;
	json_t *plan = NULL;
	char rid[33];
	int rc = haven_keyring_get(tx, mk, patient_id, &dk);
	if (rc == HAVEN_ENOTFOUND)
		rc = 0;
	else if (!rc)
		rc = load_sealed(tx, dk, "safety_plans", patient_id, rid, &plan);
	haven_data_key_destroy(&dk);
	if (rc)
		return rc;
	if (!plan && !(plan = json_object()))
		return HAVEN_ENOMEM;
	for (size_t i = 0; haven_safety_plan_sections[i]; i++)
		if (!json_is_array(json_object_get(plan, haven_safety_plan_sections[i])))
			json_object_set_new(plan, haven_safety_plan_sections[i], json_array());
	json_t *u = json_object_get(plan, "updated_at");
	if (json_is_integer(u)) {
		char ts[32];
		haven_time_format(json_integer_value(u), ts);
		json_object_set_new(plan, "updated_at", json_string(ts));
	} else
		json_object_set_new(plan, "updated_at", json_null());
	*out = plan;
	return 0;
}

int haven_safety_plan_put(struct haven_tx *tx, const struct haven_master_key *mk,
			  int64_t patient_id, const json_t *plan, char *err, size_t errlen)
{
	int rc = haven_safety_plan_validate(plan, err, errlen);
	if (rc)
		return rc;
	struct haven_data_key *dk = NULL;
	json_t *old = NULL, *copy = json_deep_copy(plan);
	char rid[33];
	if (!copy)
		return HAVEN_ENOMEM;
	rc = haven_keyring_get_or_create(tx, mk, patient_id, &dk);
	if (!rc)
		rc = load_sealed(tx, dk, "safety_plans", patient_id, rid, &old);
	if (!rc) {
		int exists = old != NULL;
		if (!exists)
			haven_record_id(rid);
		int64_t now = haven_now_ms();
		json_object_set_new(copy, "updated_at", json_integer(now));
		rc = store_sealed(tx, dk, "safety_plans", patient_id, rid, exists, copy, now, 0);
	}
	json_decref(old);
	json_decref(copy);
	haven_data_key_destroy(&dk);
	return rc;
}

/* ---- The locale for crisis lines ---- */

const char *haven_locale_effective(const char *patient_locale, const char *deployment_locale)
{
	if (patient_locale && *patient_locale)
		return patient_locale;
	if (deployment_locale && *deployment_locale)
		return deployment_locale;
	return HAVEN_LOCALE_DEFAULT;
}

static int ascii_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "en_gb", "EN-gb" -> "en-GB"; "es-419" stays. 0 when in is not language-REGION (2-3
 * letters, then 2 letters or 3 digits): a language alone does not say where the person is,
 * so it cannot choose crisis lines unless the file lists it. */
static int locale_canonical(const char *in, char out[HAVEN_LOCALE_MAX])
{
	size_t n = 0;
	while (ascii_alpha(in[n]))
		n++;
	if (n < 2 || n > 3)
		return 0;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(in[i] | 0x20);
	if (in[n] != '-' && in[n] != '_')
		return 0;
	const char *region = in + n + 1;
	size_t m = strlen(region), letters = 0, digits = 0;
	for (size_t i = 0; i < m; i++) {
		letters += ascii_alpha(region[i]) != 0;
		digits += region[i] >= '0' && region[i] <= '9';
	}
	if (!((m == 2 && letters == 2) || (m == 3 && digits == 3)))
		return 0;
	out[n] = '-';
	for (size_t i = 0; i < m; i++)
		out[n + 1 + i] = ascii_alpha(region[i]) ? (char)(region[i] & ~0x20) : region[i];
	out[n + 1 + m] = '\0';
	return 1;
}

int haven_locale_normalize(const struct haven_crisis_lines *l, const char *in,
			   char out[HAVEN_LOCALE_MAX], const char **why)
{
	*why = NULL;
	out[0] = '\0';
	int any_locale = 0;
	size_t n = strnlen(in, HAVEN_LOCALE_MAX);
	if (n < HAVEN_LOCALE_MAX) {
		for (size_t i = 0; i < l->nregions; i++)
			for (size_t j = 0; j < l->regions[i].nlocales; j++) {
				const char *listed = l->regions[i].locales[j];
				if (!strcmp(listed, "*"))
					any_locale = 1;
				else if (!strcasecmp(listed, in) && strlen(listed) < HAVEN_LOCALE_MAX) {
					haven_strlcpy(out, listed, HAVEN_LOCALE_MAX);
					return 0;
				}
			}
	}
	/* Not listed: a well-formed tag is still a locale the file serves when a region takes
	 * every locale ("locales *", the international directory). Refusing it would leave a
	 * person outside the listed countries with the deployment's national numbers. */
	if (n < HAVEN_LOCALE_MAX && any_locale && locale_canonical(in, out))
		return 0;
	out[0] = '\0';
	*why = any_locale ? "must be a locale that content/crisis_lines.txt lists (such as en-GB) "
			    "or language-COUNTRY (such as fr-FR) for the international directory"
			  : "must be one of the locales content/crisis_lines.txt lists";
	return HAVEN_EINVAL;
}

int haven_locale_check(const char *in, char out[HAVEN_LOCALE_MAX], const char **why, char *err,
		       size_t errlen)
{
	char root[PATH_MAX], path[PATH_MAX + 32];
	struct haven_crisis_lines *l = NULL;
	*why = NULL;
	out[0] = '\0';
	int rc = haven_content_root(root, sizeof(root));
	if (rc) {
		snprintf(err, errlen, "content: no content/ directory under the working directory or "
				      "beside the executable (set HAVEN_CONTENT_DIR)");
		return rc;
	}
	snprintf(path, sizeof(path), "%s/crisis_lines.txt", root);
	if ((rc = haven_crisis_lines_load(path, &l, err, errlen)))
		return rc;
	rc = haven_locale_normalize(l, in, out, why);
	if (rc)
		snprintf(err, errlen, "%s", *why);
	haven_crisis_lines_destroy(&l);
	return rc;
}
