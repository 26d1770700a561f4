/*
 * test_api_measures.c: measurement-based care over real HTTP: instruments, assessments
 * (validation errors, scoring, change, alerts), episodes and outcomes, the caseload
 * summary, consent rules (safety events always reach the care team), reminders with
 * missed check-ins, and the FHIR R4 Bundle checked by a small validator written from
 * the R4 specification's rules for Bundle, Patient, Questionnaire,
 * QuestionnaireResponse and Observation.
 */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "harness.h"

static json_t *post_assessment(struct test_server *s, const char *tok, const char *body,
                               long want)
{
	struct test_resp r;
	test_call(s, "POST", "/api/v1/assessments", tok, body, &r);
	if (r.status != want)
		haven_test_fail(__FILE__, __LINE__, "POST %s: %ld, want %ld (%s)", body, r.status, want,
		                r.body);
	json_t *j = json_incref(r.json);
	test_resp_free(&r);
	return j;
}

static void expect_error(struct test_server *s, const char *tok, const char *body, long status,
                         const char *code, const char *needle)
{
	struct test_resp r;
	test_call(s, "POST", "/api/v1/assessments", tok, body, &r);
	if (r.status != status || strcmp(test_error_code(&r), code) ||
	    (needle && !strstr(test_error_message(&r), needle)))
		haven_test_fail(__FILE__, __LINE__, "POST %s: %ld %s, want %ld %s (%s)", body,
		                r.status, test_error_code(&r), status, code, needle ? needle : "");
	test_resp_free(&r);
}

TEST(api_assessment_validation)
{
	struct test_server s;
	char *ctok, *ptok;
	test_start_care_pair(&s, "p@example.org", &ctok, &ptok);

	expect_error(&s, ptok, "{\"instrument\":\"phq9\",\"answers\":[0,0,0]}", 400,
	             "invalid_answers", "PHQ-9 has 9 questions, so 'answers' needs 9 values, not 3");
	expect_error(&s, ptok, "{\"instrument\":\"phq9\",\"answers\":[0,0,0,0,0,0,0,4,0]}", 400,
	             "invalid_answers", "answers[7] (question 8) is 4; PHQ-9 answers are 0 to 3");
	expect_error(&s, ptok, "{\"instrument\":\"gad7\",\"answers\":[0,0,0,0,0,0,-1]}", 400,
	             "invalid_answers", "answers[6]");
	expect_error(&s, ptok, "{\"instrument\":\"who5\",\"answers\":[5,5,5,5,6]}", 400,
	             "invalid_answers", "WHO-5 answers are 0 to 5");
	expect_error(&s, ptok, "{\"instrument\":\"bdi\",\"answers\":[0]}", 400,
	             "unknown_instrument", "must be one of phq9, gad7");
	expect_error(&s, ptok, "{\"instrument\":9,\"answers\":[0]}", 400, "invalid_body",
	             "field 'instrument' must be a string");
	expect_error(&s, ptok, "{\"instrument\":\"phq2\",\"answers\":\"00\"}", 400, "invalid_body",
	             "field 'answers' must be an array of 2 integers");
	expect_error(&s, ptok, "{\"instrument\":\"phq2\",\"answers\":[1,\"2\"]}", 400,
	             "invalid_body", "answers[1] (question 2) must be an integer");
	expect_error(&s, ptok, "{\"instrument\":\"phq2\",\"answers\":[1,1.5]}", 400, "invalid_body",
	             "must be an integer");
	expect_error(&s, ptok, "{\"instrument\":\"phq2\",\"answers\":[1,1],\"x\":1}", 400,
	             "invalid_body", "unknown field 'x'");
	expect_error(&s, ptok, "{\"answers\":[1,1]}", 400, "invalid_body",
	             "missing required field 'instrument'");
	expect_error(&s, ptok, "{\"instrument\":\"phq2\"}", 400, "invalid_body",
	             "missing required field 'answers'");
	expect_error(&s, ptok, "{\"instrument\":\"phq2\",\"answers\":[1,1]", 400, "invalid_body",
	             "line 1");
	expect_error(&s, ptok, "[1,2]", 400, "invalid_body", "must be a JSON object");
	expect_error(&s, ptok, "{\"instrument\":\"phq2\",\"instrument\":\"gad2\",\"answers\":[1,1]}",
	             400, "invalid_body", "duplicate");
	expect_error(&s, ptok, "{\"instrument\":\"phq2\",\"answers\":[1,99999999999999999999]}", 400,
	             "invalid_body", NULL);
	struct test_resp r;
	test_http(&s, "POST", "/api/v1/assessments", ptok, "text/plain",
	          "{\"instrument\":\"phq2\",\"answers\":[1,1]}", 37, NULL, &r);
	ASSERT_EQ(r.status, 415);
	test_resp_free(&r);
	test_http(&s, "POST", "/api/v1/assessments", ptok, NULL, "{\"instrument\":\"\xff\"}", 17,
	          NULL, &r);
	ASSERT_EQ(r.status, 400);
	ASSERT_CONTAINS(test_error_message(&r), "UTF-8");
	test_resp_free(&r);
	/* Nothing was half-written. */
	ASSERT_EQ(test_count(&s, "assessments"), 0);
	ASSERT_EQ(test_count(&s, "episodes"), 0);
	ASSERT_EQ(test_count(&s, "alerts"), 0);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

TEST(api_assessments_score_change_and_alerts)
{
	struct test_server s;
	struct test_resp r;
	char *ctok, *ptok;
	int64_t pid = test_start_care_pair(&s, "p@example.org", &ctok, &ptok);

	test_call(&s, "GET", "/api/v1/instruments", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *ins = json_object_get(r.json, "instruments");
	ASSERT_EQ(json_array_size(ins), 5);
	json_t *phq = json_array_get(ins, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(phq, "id")), "phq9");
	ASSERT_EQ(json_array_size(json_object_get(phq, "items")), 9);
	ASSERT_STR_EQ(json_string_value(json_object_get(
	                  json_array_get(json_object_get(phq, "items"), 8), "loinc")),
	              "44260-8");
	test_resp_free(&r);

	/* 16, moderately severe; no previous; no alert. */
	json_t *a = post_assessment(&s, ptok, "{\"instrument\":\"phq9\",\"answers\":[2,2,2,2,2,2,2,2,0]}",
	                            201);
	ASSERT_EQ(json_integer_value(json_object_get(a, "total")), 16);
	ASSERT_STR_EQ(json_string_value(json_object_get(a, "band")), "moderately_severe");
	ASSERT(json_is_null(json_object_get(a, "change")));
	ASSERT_EQ(json_array_size(json_object_get(a, "alerts")), 0);
	ASSERT(!json_object_get(a, "support"));
	json_decref(a);
	/* 9 with item 9 at 2: mild, reliable improvement (-7), and an urgent alert. */
	a = post_assessment(&s, ptok, "{\"instrument\":\"phq9\",\"answers\":[1,1,1,1,1,1,1,0,2]}",
	                    201);
	ASSERT_EQ(json_integer_value(json_object_get(a, "total")), 9);
	ASSERT_STR_EQ(json_string_value(json_object_get(a, "band")), "mild");
	json_t *ch = json_object_get(a, "change");
	ASSERT_EQ(json_integer_value(json_object_get(ch, "previous_total")), 16);
	ASSERT_EQ(json_integer_value(json_object_get(ch, "difference")), -7);
	ASSERT_STR_EQ(json_string_value(json_object_get(ch, "reliable")), "improvement");
	ASSERT_NEAR(json_real_value(json_object_get(ch, "rci")), -2.29, 0.001);
	json_t *alerts = json_object_get(a, "alerts");
	ASSERT_EQ(json_array_size(alerts), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(alerts, 0), "kind")),
	              "phq9_item9");
	ASSERT_CONTAINS(json_string_value(json_object_get(a, "support")), "care team has been told");
	json_decref(a);
	ASSERT_EQ(test_count(&s, "alerts"), 1);
	/* Someone with no care team is not told that one was told. */
	test_make_user(&s, "patient", "solo@example.org");
	char *stok = test_login(&s, "solo@example.org");
	a = post_assessment(&s, stok, "{\"instrument\":\"phq9\",\"answers\":[1,1,1,1,1,1,1,0,1]}",
	                    201);
	const char *support = json_string_value(json_object_get(a, "support"));
	ASSERT_CONTAINS(support, "You don't have a care team linked here");
	ASSERT(!strstr(support, "care team has been told"));
	json_decref(a);
	free(stok);
	ASSERT_EQ(test_count(&s, "alerts"), 2);
	/* WHO-5: 12 raw is 48 of 100, poor wellbeing; no reliable-change criterion. */
	a = post_assessment(&s, ptok, "{\"instrument\":\"who5\",\"answers\":[3,3,2,2,2]}", 201);
	ASSERT_EQ(json_integer_value(json_object_get(a, "score_100")), 48);
	ASSERT_STR_EQ(json_string_value(json_object_get(a, "band")), "poor_wellbeing");
	json_decref(a);
	a = post_assessment(&s, ptok, "{\"instrument\":\"who5\",\"answers\":[3,3,3,2,2]}", 201);
	ASSERT_STR_EQ(json_string_value(json_object_get(a, "band")), "not_poor");
	ASSERT(json_is_null(json_object_get(json_object_get(a, "change"), "reliable")));
	json_decref(a);

	test_call(&s, "GET", "/api/v1/assessments", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "assessments")), 4);
	test_resp_free(&r);

	/* The clinician sees them; after the consent is withdrawn, only the safety event. */
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/assessments", (long long)pid);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "assessments")), 4);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "safety_events")), 1);
	test_resp_free(&r);
	test_call(&s, "PUT", "/api/v1/me/consents", ptok, "{\"scopes\":{\"care_team\":false}}", &r);
	test_resp_free(&r);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT(json_is_false(json_object_get(r.json, "care_team_consent")));
	ASSERT(json_is_null(json_object_get(r.json, "assessments")));
	json_t *ev = json_array_get(json_object_get(r.json, "safety_events"), 0);
	ASSERT_EQ(json_integer_value(json_object_get(ev, "item")), 9);
	ASSERT_EQ(json_integer_value(json_object_get(ev, "answer")), 2);
	ASSERT(!strstr(r.body, "\"total\""));
	test_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/outcomes", (long long)pid);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 403);
	ASSERT_STR_EQ(test_error_code(&r), "consent_required");
	test_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/fhir", (long long)pid);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 403);
	test_resp_free(&r);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

TEST(api_episodes_and_outcomes)
{
	struct test_server s;
	struct test_resp r;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	int64_t p1 = test_register(&s, ctok, "p1@example.org", 1);
	int64_t p2 = test_register(&s, ctok, "p2@example.org", 1);
	test_register(&s, ctok, "p3@example.org", 0);
	char *t1 = test_login(&s, "p1@example.org");
	char *t2 = test_login(&s, "p2@example.org");
	char path[128];

	/* The clinician opens p1's episode; a second open is refused. */
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/episodes", (long long)p1);
	test_call(&s, "POST", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 201);
	int64_t ep = json_integer_value(json_object_get(r.json, "id"));
	test_resp_free(&r);
	test_call(&s, "POST", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 409);
	ASSERT_STR_EQ(test_error_code(&r), "episode_open");
	test_resp_free(&r);
	/* p1: PHQ-9 16 -> 7, GAD-7 12 -> 6: reliable recovery (worked example A). */
	json_decref(post_assessment(&s, t1, "{\"instrument\":\"phq9\",\"answers\":[2,2,2,2,2,2,2,1,1]}", 201));
	json_decref(post_assessment(&s, t1, "{\"instrument\":\"gad7\",\"answers\":[2,2,2,2,2,1,1]}", 201));
	json_decref(post_assessment(&s, t1, "{\"instrument\":\"phq9\",\"answers\":[1,1,1,1,1,1,1,0,0]}", 201));
	json_t *a = post_assessment(&s, t1, "{\"instrument\":\"gad7\",\"answers\":[1,1,1,1,1,1,0]}", 201);
	ASSERT_EQ(json_integer_value(json_object_get(a, "episode_id")), ep);
	json_decref(a);
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/episodes/close", (long long)p1);
	test_call(&s, "POST", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "status")), "closed");
	test_resp_free(&r);
	test_call(&s, "POST", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 409);
	ASSERT_STR_EQ(test_error_code(&r), "no_open_episode");
	test_resp_free(&r);

	/* p2: the first assessment opens the episode; PHQ-9 12 -> 9 and GAD-7 9 -> 7:
	 * recovery without reliable improvement (worked example B). */
	json_decref(post_assessment(&s, t2, "{\"instrument\":\"phq9\",\"answers\":[2,2,2,2,1,1,1,1,0]}", 201));
	json_decref(post_assessment(&s, t2, "{\"instrument\":\"gad7\",\"answers\":[2,2,2,1,1,1,0]}", 201));
	json_decref(post_assessment(&s, t2, "{\"instrument\":\"phq9\",\"answers\":[1,1,1,1,1,1,1,1,1]}", 201));
	json_decref(post_assessment(&s, t2, "{\"instrument\":\"gad7\",\"answers\":[1,1,1,1,1,1,1]}", 201));
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/outcomes", (long long)p2);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *e = json_array_get(json_object_get(r.json, "episodes"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(e, "status")), "open");
	json_t *o = json_object_get(e, "outcome");
	ASSERT(json_is_true(json_object_get(o, "caseness_start")));
	ASSERT(json_is_true(json_object_get(o, "recovery")));
	ASSERT(json_is_false(json_object_get(o, "reliable_improvement")));
	ASSERT(json_is_false(json_object_get(o, "reliable_recovery")));
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(o, "phq9"), "first")), 12);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(o, "phq9"), "last")), 9);
	/* An open episode does not count towards the recovery rate yet. */
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(r.json, "summary"),
	                                             "recovery_eligible")),
	          0);
	test_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/episodes/close", (long long)p2);
	test_call(&s, "POST", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);

	snprintf(path, sizeof(path), "/api/v1/patients/%lld/outcomes", (long long)p1);
	test_call(&s, "GET", path, ctok, NULL, &r);
	o = json_object_get(json_array_get(json_object_get(r.json, "episodes"), 0), "outcome");
	ASSERT(json_is_true(json_object_get(o, "reliable_recovery")));
	ASSERT_NEAR(json_real_value(json_object_get(json_object_get(r.json, "summary"),
	                                            "recovery_rate")),
	            1.0, 1e-9);
	test_resp_free(&r);

	/* The caseload: two closed episodes, both recovered, one reliably; p3 (no consent)
	 * is left out and counted as such. */
	test_call(&s, "GET", "/api/v1/outcomes", ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "patients")), 3);
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "excluded_without_consent")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "closed_episodes")), 2);
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "recovered")), 2);
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "reliable_recovery")), 1);
	ASSERT_NEAR(json_real_value(json_object_get(r.json, "recovery_rate")), 1.0, 1e-9);
	ASSERT_NEAR(json_real_value(json_object_get(r.json, "reliable_recovery_rate")), 0.5, 1e-9);
	test_resp_free(&r);
	free(ctok);
	free(t1);
	free(t2);
	test_server_stop(&s);
}

struct backdate_op {
	int64_t id, ms;
};

static int backdate_tx(struct haven_tx *tx, void *arg)
{
	struct backdate_op *b = arg;
	struct haven_param p[] = {HAVEN_P_INT(b->ms), HAVEN_P_INT(b->id)};
	return haven_tx_exec(tx, "UPDATE users SET created_at = created_at - ? WHERE id = ?", p, 2,
	                     NULL);
}

/* Moves the account's creation ms into the past. */
static void backdate(struct test_server *s, int64_t id, int64_t ms)
{
	struct backdate_op b = {id, ms};
	ASSERT_OK(haven_store_write(s->store, backdate_tx, &b));
}

TEST(api_reminders_and_missed_checkins)
{
	struct test_server s;
	struct test_resp r;
	char *ctok, *ptok;
	int64_t pid = test_start_care_pair(&s, "p@example.org", &ctok, &ptok);

	test_call(&s, "GET", "/api/v1/me/reminders", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *rem = json_object_get(r.json, "reminders");
	ASSERT(json_is_false(json_object_get(rem, "set")));
	ASSERT(json_is_null(json_object_get(rem, "next_reminder_at")));
	test_resp_free(&r);

	static const char *const bad[] = {
	    "{\"time\":\"24:00\"}",         "{\"time\":\"7:30\"}",
	    "{\"days\":[\"monday\"]}",      "{\"days\":\"mon\"}",
	    "{\"enabled\":1}",              "{\"utc_offset_minutes\":900}",
	    "{\"snooze\":true}",            "{\"days\":[\"mon\",\"mon\",\"mon\",\"mon\",\"mon\",\"mon\",\"mon\",\"mon\"]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_call(&s, "PUT", "/api/v1/me/reminders", ptok, bad[i], &r);
		if (r.status != 400)
			haven_test_fail(__FILE__, __LINE__, "%s: %ld", bad[i], r.status);
		ASSERT_STR_EQ(test_error_code(&r), "invalid_body");
		test_resp_free(&r);
	}
	ASSERT_EQ(test_count(&s, "reminders"), 0);
	test_call(&s, "PUT", "/api/v1/me/reminders", ptok,
	          "{\"enabled\":true,\"time\":\"07:45\",\"days\":[\"tue\",\"sat\"],"
	          "\"utc_offset_minutes\":60}",
	          &r);
	ASSERT_EQ(r.status, 200);
	rem = json_object_get(r.json, "reminders");
	ASSERT_STR_EQ(json_string_value(json_object_get(rem, "time")), "07:45");
	ASSERT_EQ(json_array_size(json_object_get(rem, "days")), 2);
	ASSERT(json_is_string(json_object_get(rem, "next_reminder_at")));
	/* Registered today: no day has ended yet, so nothing is missed. */
	json_t *m = json_object_get(r.json, "missed_checkins");
	ASSERT_EQ(json_integer_value(json_object_get(m, "missed")), 0);
	test_resp_free(&r);

	/* Backdate the account by ten days: every scheduled day since then is missed until
	 * a check-in lands on one. */
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/reminders", (long long)pid);
	backdate(&s, pid, 10LL * 86400000);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	m = json_object_get(r.json, "missed_checkins");
	int64_t expected = json_integer_value(json_object_get(m, "expected"));
	/* Ten days hold two or three Tuesdays and Saturdays together. */
	ASSERT(expected >= 2 && expected <= 4);
	ASSERT_EQ(json_integer_value(json_object_get(m, "missed")), expected);
	ASSERT_EQ(json_array_size(json_object_get(m, "missed_days")), (size_t)expected);
	ASSERT_EQ(json_integer_value(json_object_get(m, "consecutive_missed")), expected);
	ASSERT(json_is_null(json_object_get(m, "last_checkin_at")));
	test_resp_free(&r);
	test_call(&s, "PUT", "/api/v1/me/consents", ptok, "{\"scopes\":{\"care_team\":false}}", &r);
	test_resp_free(&r);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 403);
	test_resp_free(&r);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

/* ---- A FHIR R4 validator for the resources Haven writes ----
 * From the R4 specification (hl7.org/fhir/R4): the required elements and cardinalities
 * of Bundle, Patient, Questionnaire, QuestionnaireResponse and Observation, their
 * required value sets (status codes, item types, bundle type), primitive formats (id,
 * dateTime, instant, uri), value[x] choice rules, and that references resolve within
 * the Bundle to a resource of the right type. LOINC codes carry a valid check digit. */

struct fv {
	int errors;
	char first[300];
	json_t *bundle;
	regex_t datetime, instant, id, loinc, uuid_urn;
};

static void fv_err(struct fv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fv_err(struct fv *v, const char *fmt, ...)
{
	if (!v->errors++) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(v->first, sizeof(v->first), fmt, ap);
		va_end(ap);
	}
}

static int matches(regex_t *re, const char *s)
{
	return s && regexec(re, s, 0, NULL, 0) == 0;
}

static void fv_init(struct fv *v, json_t *bundle)
{
	memset(v, 0, sizeof(*v));
	v->bundle = bundle;
	/* R4 datatypes: dateTime and instant regular expressions. */
	ASSERT_OK(regcomp(&v->datetime,
	                  "^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0["
	                  "1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.["
	                  "0-9]+)?(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$",
	                  REG_EXTENDED | REG_NOSUB));
	ASSERT_OK(regcomp(&v->instant,
	                  "^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-"
	                  "9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-"
	                  "9]+)?(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$",
	                  REG_EXTENDED | REG_NOSUB));
	ASSERT_OK(regcomp(&v->id, "^[A-Za-z0-9.-]{1,64}$", REG_EXTENDED | REG_NOSUB));
	ASSERT_OK(regcomp(&v->loinc, "^(LA)?[0-9]{1,7}-[0-9]$", REG_EXTENDED | REG_NOSUB));
	ASSERT_OK(regcomp(&v->uuid_urn,
	                  "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
	                  REG_EXTENDED | REG_NOSUB));
}

static void fv_release(struct fv *v)
{
	regfree(&v->datetime);
	regfree(&v->instant);
	regfree(&v->id);
	regfree(&v->loinc);
	regfree(&v->uuid_urn);
}

/* LOINC's mod-10 check digit for a code "NNNNN-C" (not for LA answer codes). */
static int loinc_check_ok(const char *code)
{
	const char *dash = strchr(code, '-');
	if (!dash || !strncmp(code, "LA", 2))
		return 1;
	char odd[16] = "", even[16] = "";
	size_t n = (size_t)(dash - code), no = 0, ne = 0;
	for (size_t i = 0; i < n; i++) {
		size_t from_right = n - i; /* 1-based */
		if (from_right % 2)
			odd[no++] = code[i];
		else
			even[ne++] = code[i];
	}
	char digits[48];
	snprintf(digits, sizeof(digits), "%s%ld", even, strtol(odd, NULL, 10) * 2);
	int sum = 0;
	for (const char *p = digits; *p; p++)
		sum += *p - '0';
	return (10 - sum % 10) % 10 == dash[1] - '0';
}

static int is_uri(const char *s)
{
	/* An absolute URI: a scheme, a colon, something after it, no spaces. */
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return 0;
	const char *c = strchr(s, ':');
	return c && c[1] && !strchr(s, ' ');
}

static int in_set(const char *s, const char *const *set)
{
	for (; s && *set; set++)
		if (!strcmp(s, *set))
			return 1;
	return 0;
}

static void fv_coding(struct fv *v, const char *where, json_t *c)
{
	if (!json_is_object(c)) {
		fv_err(v, "%s: a Coding must be an object", where);
		return;
	}
	const char *system = json_string_value(json_object_get(c, "system"));
	const char *code = json_string_value(json_object_get(c, "code"));
	if (json_object_get(c, "system") && !is_uri(system))
		fv_err(v, "%s: Coding.system must be a uri", where);
	if (json_object_get(c, "code") && (!code || !*code || code[0] == ' '))
		fv_err(v, "%s: Coding.code must be a non-empty code", where);
	if (system && !strcmp(system, "http://loinc.org") &&
	    (!matches(&v->loinc, code) || !loinc_check_ok(code)))
		fv_err(v, "%s: '%s' is not a valid LOINC code", where, code ? code : "(none)");
	if (json_object_get(c, "display") && !json_is_string(json_object_get(c, "display")))
		fv_err(v, "%s: Coding.display must be a string", where);
}

static void fv_concept(struct fv *v, const char *where, json_t *cc)
{
	if (!json_is_object(cc)) {
		fv_err(v, "%s: a CodeableConcept must be an object", where);
		return;
	}
	json_t *coding = json_object_get(cc, "coding"), *text = json_object_get(cc, "text");
	if (!coding && !text)
		fv_err(v, "%s: an empty CodeableConcept", where);
	if (coding) {
		if (!json_is_array(coding) || !json_array_size(coding))
			fv_err(v, "%s: coding must be a non-empty array", where);
		size_t i;
		json_t *c;
		json_array_foreach(coding, i, c) fv_coding(v, where, c);
	}
	if (text && !json_is_string(text))
		fv_err(v, "%s: text must be a string", where);
}

/* The resource a reference points at, checked against the expected type. */
static json_t *fv_resolve(struct fv *v, const char *where, json_t *ref, const char *type)
{
	const char *r = json_string_value(json_object_get(ref, "reference"));
	if (!json_is_object(ref) || !r) {
		fv_err(v, "%s: a Reference needs a reference string", where);
		return NULL;
	}
	if (!matches(&v->uuid_urn, r) && !strchr(r, '/')) {
		fv_err(v, "%s: reference '%s' is neither urn:uuid nor Type/id", where, r);
		return NULL;
	}
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(v->bundle, "entry"), i, e)
	{
		json_t *res = json_object_get(e, "resource");
		const char *full = json_string_value(json_object_get(e, "fullUrl"));
		char local[160];
		snprintf(local, sizeof(local), "%s/%s",
		         json_string_value(json_object_get(res, "resourceType")),
		         json_string_value(json_object_get(res, "id")));
		if ((full && !strcmp(full, r)) || !strcmp(local, r)) {
			if (strcmp(json_string_value(json_object_get(res, "resourceType")), type))
				fv_err(v, "%s: reference '%s' is not a %s", where, r, type);
			return res;
		}
	}
	fv_err(v, "%s: reference '%s' does not resolve in the Bundle", where, r);
	return NULL;
}

/* Exactly one of the allowed value[x] keys, of the right JSON type. */
static const char *fv_value_x(struct fv *v, const char *where, json_t *obj,
                              const char *const *allowed, int required)
{
	const char *found = NULL;
	const char *key;
	json_t *val;
	json_object_foreach(obj, key, val)
	{
		if (strncmp(key, "value", 5) || !key[5])
			continue;
		if (!in_set(key, allowed)) {
			fv_err(v, "%s: %s is not an allowed value[x] here", where, key);
			continue;
		}
		if (found)
			fv_err(v, "%s: more than one value[x]", where);
		found = key;
		if (!strcmp(key, "valueInteger") &&
		    (!json_is_integer(val) || json_integer_value(val) < -2147483648LL ||
		     json_integer_value(val) > 2147483647LL))
			fv_err(v, "%s: valueInteger must be a 32-bit integer", where);
		if (!strcmp(key, "valueCoding"))
			fv_coding(v, where, val);
		if (!strcmp(key, "valueString") && !json_is_string(val))
			fv_err(v, "%s: valueString must be a string", where);
	}
	if (required && !found)
		fv_err(v, "%s: a value[x] is required", where);
	return found;
}

static void fv_patient(struct fv *v, json_t *res)
{
	static const char *const allowed[] = {"resourceType", "id",      "meta",
	                                      "identifier",   "active",  NULL};
	const char *key;
	json_t *val;
	json_object_foreach(res, key, val) if (!in_set(key, allowed))
	    fv_err(v, "Patient: element '%s' is not expected in a pseudonymous Patient", key);
	static const char *const uses[] = {"usual", "official", "temp", "secondary", "old", NULL};
	json_t *ids = json_object_get(res, "identifier");
	if (!json_is_array(ids) || json_array_size(ids) != 1)
		fv_err(v, "Patient: one identifier expected");
	json_t *id0 = json_array_get(ids, 0);
	if (!is_uri(json_string_value(json_object_get(id0, "system"))) ||
	    !json_is_string(json_object_get(id0, "value")) ||
	    !*json_string_value(json_object_get(id0, "value")))
		fv_err(v, "Patient.identifier needs a system uri and a value");
	if (json_object_get(id0, "use") &&
	    !in_set(json_string_value(json_object_get(id0, "use")), uses))
		fv_err(v, "Patient.identifier.use must be usual|official|temp|secondary|old");
	/* Pseudonymous: the identifier is Haven's pseudonym, never an email address. */
	if (strchr(json_string_value(json_object_get(id0, "value")) ?: "@", '@'))
		fv_err(v, "Patient.identifier.value must not be an email address");
	if (json_object_get(res, "active") && !json_is_boolean(json_object_get(res, "active")))
		fv_err(v, "Patient.active must be a boolean");
}

static json_t *find_item(json_t *items, const char *link)
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *l = json_string_value(json_object_get(it, "linkId"));
		if (l && link && !strcmp(l, link))
			return it;
	}
	return NULL;
}

static void fv_questionnaire(struct fv *v, json_t *res)
{
	static const char *const status[] = {"draft", "active", "retired", "unknown", NULL};
	static const char *const types[] = {"group",     "display",   "boolean",     "decimal",
	                                    "integer",   "date",      "dateTime",    "time",
	                                    "string",    "text",      "url",         "choice",
	                                    "open-choice", "attachment", "reference", "quantity",
	                                    NULL};
	static const char *const option_values[] = {"valueInteger", "valueDate",
	                                            "valueTime",    "valueString",
	                                            "valueCoding",  "valueReference", NULL};
	if (!in_set(json_string_value(json_object_get(res, "status")), status))
		fv_err(v, "Questionnaire.status is required (draft|active|retired|unknown)");
	const char *url = json_string_value(json_object_get(res, "url"));
	if (json_object_get(res, "url") && !is_uri(url))
		fv_err(v, "Questionnaire.url must be a uri");
	regex_t name_re;
	ASSERT_OK(regcomp(&name_re, "^[A-Z]([A-Za-z0-9_]){0,254}$", REG_EXTENDED | REG_NOSUB));
	if (json_object_get(res, "name") && !matches(&name_re, json_string_value(json_object_get(res, "name"))))
		fv_err(v, "Questionnaire.name must be computer-friendly (que-0)");
	regfree(&name_re);
	static const char *const subject_types[] = {"Patient", "Group", "Person",
	                                            "RelatedPerson", NULL};
	size_t i;
	json_t *c;
	if (json_object_get(res, "code") && !json_is_array(json_object_get(res, "code")))
		fv_err(v, "Questionnaire.code must be an array of Coding");
	json_array_foreach(json_object_get(res, "code"), i, c) fv_coding(v, "Questionnaire.code", c);
	json_t *st = json_object_get(res, "subjectType");
	if (st && !json_is_array(st))
		fv_err(v, "Questionnaire.subjectType must be an array of resource types");
	json_array_foreach(st, i, c) if (!in_set(json_string_value(c), subject_types))
	    fv_err(v, "Questionnaire.subjectType must name a resource type");
	static const char *const strings[] = {"title", "version", "description", "copyright", NULL};
	for (const char *const *k = strings; *k; k++)
		if (json_object_get(res, *k) && !json_is_string(json_object_get(res, *k)))
			fv_err(v, "Questionnaire.%s must be a string", *k);
	json_t *items = json_object_get(res, "item");
	if (!json_is_array(items) || !json_array_size(items))
		fv_err(v, "Questionnaire: items expected");
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *link = json_string_value(json_object_get(it, "linkId"));
		const char *type = json_string_value(json_object_get(it, "type"));
		if (!link || !*link)
			fv_err(v, "Questionnaire.item.linkId is required");
		if (!in_set(type, types))
			fv_err(v, "Questionnaire.item.type is required and must be an item type");
		if (json_object_get(it, "text") && !json_is_string(json_object_get(it, "text")))
			fv_err(v, "Questionnaire.item.text must be a string");
		if (json_object_get(it, "required") &&
		    !json_is_boolean(json_object_get(it, "required")))
			fv_err(v, "Questionnaire.item.required must be a boolean");
		if (json_object_get(it, "readOnly") &&
		    !json_is_boolean(json_object_get(it, "readOnly")))
			fv_err(v, "Questionnaire.item.readOnly must be a boolean");
		if (json_object_get(it, "code") && !json_is_array(json_object_get(it, "code")))
			fv_err(v, "Questionnaire.item.code must be an array of Coding");
		/* que-6: display items have no code; a choice item needs its options. */
		if (type && !strcmp(type, "choice") && !json_object_get(it, "answerOption") &&
		    !json_object_get(it, "answerValueSet"))
			fv_err(v, "Questionnaire.item '%s': a choice item needs answerOption",
			       link ? link : "");
		json_t *opts = json_object_get(it, "answerOption");
		if (opts && (!type || (strcmp(type, "choice") && strcmp(type, "open-choice"))))
			fv_err(v, "Questionnaire.item: answerOption only for choice items (que-5)");
		size_t k;
		json_t *o;
		json_array_foreach(opts, k, o) fv_value_x(v, "answerOption", o, option_values, 1);
		json_array_foreach(json_object_get(it, "code"), k, o)
		    fv_coding(v, "Questionnaire.item.code", o);
		if (find_item(items, link) != it)
			fv_err(v, "Questionnaire: linkId '%s' is not unique (que-2)", link);
	}
}

static void fv_questionnaire_response(struct fv *v, json_t *res)
{
	static const char *const status[] = {"in-progress", "completed", "amended",
	                                     "entered-in-error", "stopped", NULL};
	static const char *const answer_values[] = {
	    "valueBoolean",  "valueDecimal", "valueInteger", "valueDate",      "valueDateTime",
	    "valueTime",     "valueString",  "valueUri",     "valueAttachment", "valueCoding",
	    "valueQuantity", "valueReference", NULL};
	if (!in_set(json_string_value(json_object_get(res, "status")), status))
		fv_err(v, "QuestionnaireResponse.status is required");
	if (!matches(&v->datetime, json_string_value(json_object_get(res, "authored"))))
		fv_err(v, "QuestionnaireResponse.authored must be a dateTime");
	fv_resolve(v, "QuestionnaireResponse.subject", json_object_get(res, "subject"), "Patient");
	/* The canonical questionnaire must be one of the Bundle's Questionnaires. */
	const char *canon = json_string_value(json_object_get(res, "questionnaire"));
	json_t *q = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(v->bundle, "entry"), i, e)
	{
		json_t *r = json_object_get(e, "resource");
		const char *u = json_string_value(json_object_get(r, "url"));
		if (u && canon && !strcmp(u, canon))
			q = r;
	}
	if (!q) {
		fv_err(v, "QuestionnaireResponse.questionnaire '%s' is not in the Bundle",
		       canon ? canon : "(none)");
		return;
	}
	json_t *it;
	json_t *qr_items = json_object_get(res, "item");
	if (qr_items && !json_is_array(qr_items))
		fv_err(v, "QuestionnaireResponse.item must be an array");
	json_array_foreach(qr_items, i, it)
	{
		const char *link = json_string_value(json_object_get(it, "linkId"));
		if (!link)
			fv_err(v, "QuestionnaireResponse.item.linkId is required");
		if (json_object_get(it, "answer") && !json_is_array(json_object_get(it, "answer")))
			fv_err(v, "QuestionnaireResponse.item.answer must be an array");
		/* qrs-2-like: an item answers a question once (Haven's items do not repeat). */
		size_t k2;
		json_t *other;
		json_array_foreach(qr_items, k2, other) if (k2 < i && link &&
		                                            json_equal(json_object_get(other, "linkId"),
		                                                       json_object_get(it, "linkId")))
		    fv_err(v, "QuestionnaireResponse.item '%s' appears twice", link);
		json_t *qi = link ? find_item(json_object_get(q, "item"), link) : NULL;
		if (!qi) {
			fv_err(v, "QuestionnaireResponse.item '%s' is not in the Questionnaire",
			       link ? link : "");
			continue;
		}
		json_t *answers = json_object_get(it, "answer");
		size_t k;
		json_t *a;
		json_array_foreach(answers, k, a)
		{
			const char *which = fv_value_x(v, "answer", a, answer_values, 1);
			const char *type = json_string_value(json_object_get(qi, "type"));
			if (!which)
				continue;
			if (!strcmp(type, "choice")) {
				/* The coding must be one of the item's options. */
				json_t *got = json_object_get(a, "valueCoding");
				int ok = 0;
				size_t m;
				json_t *o;
				json_array_foreach(json_object_get(qi, "answerOption"), m, o)
				{
					json_t *want = json_object_get(o, "valueCoding");
					ok |= json_equal(json_object_get(want, "system"),
					                 json_object_get(got, "system")) &&
					      json_equal(json_object_get(want, "code"),
					                 json_object_get(got, "code"));
				}
				if (!ok)
					fv_err(v, "answer to '%s' is not one of its options", link);
			} else if (!strcmp(type, "integer") && strcmp(which, "valueInteger")) {
				fv_err(v, "answer to integer item '%s' must be valueInteger", link);
			}
		}
	}
}

static void fv_observation(struct fv *v, json_t *res)
{
	static const char *const status[] = {"registered", "preliminary", "final",
	                                     "amended",    "corrected",   "cancelled",
	                                     "entered-in-error", "unknown", NULL};
	static const char *const values[] = {
	    "valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean", "valueInteger",
	    "valueRange",    "valueRatio",           "valueSampledData", "valueTime",
	    "valueDateTime", "valuePeriod",          NULL};
	if (!in_set(json_string_value(json_object_get(res, "status")), status))
		fv_err(v, "Observation.status is required");
	if (!json_object_get(res, "code"))
		fv_err(v, "Observation.code is required");
	else
		fv_concept(v, "Observation.code", json_object_get(res, "code"));
	json_t *cat = json_object_get(res, "category");
	int survey = 0;
	size_t i;
	json_t *c;
	json_array_foreach(cat, i, c)
	{
		fv_concept(v, "Observation.category", c);
		json_t *c0 = json_array_get(json_object_get(c, "coding"), 0);
		survey |= !strcmp(json_string_value(json_object_get(c0, "system")) ?: "",
		                  "http://terminology.hl7.org/CodeSystem/observation-category") &&
		          !strcmp(json_string_value(json_object_get(c0, "code")) ?: "", "survey");
	}
	if (!survey)
		fv_err(v, "Observation.category survey expected");
	fv_resolve(v, "Observation.subject", json_object_get(res, "subject"), "Patient");
	if (!matches(&v->datetime, json_string_value(json_object_get(res, "effectiveDateTime"))))
		fv_err(v, "Observation.effectiveDateTime must be a dateTime");
	const char *which = fv_value_x(v, "Observation", res, values, 1);
	if (which && strcmp(which, "valueInteger"))
		fv_err(v, "Observation: Haven's scores are valueInteger");
	if (json_object_get(res, "dataAbsentReason") && which)
		fv_err(v, "Observation: dataAbsentReason only without a value (obs-6)");
	json_array_foreach(json_object_get(res, "derivedFrom"), i, c)
	    fv_resolve(v, "Observation.derivedFrom", c, "QuestionnaireResponse");
	json_array_foreach(json_object_get(res, "hasMember"), i, c)
	    fv_resolve(v, "Observation.hasMember", c, "Observation");
}

static void fv_bundle(struct fv *v)
{
	json_t *b = v->bundle;
	if (strcmp(json_string_value(json_object_get(b, "resourceType")) ?: "", "Bundle"))
		fv_err(v, "resourceType Bundle expected");
	if (strcmp(json_string_value(json_object_get(b, "type")) ?: "", "collection"))
		fv_err(v, "Bundle.type collection expected");
	if (!matches(&v->instant, json_string_value(json_object_get(b, "timestamp"))))
		fv_err(v, "Bundle.timestamp must be an instant");
	if (!matches(&v->id, json_string_value(json_object_get(b, "id"))))
		fv_err(v, "Bundle.id must be an id");
	json_t *entries = json_object_get(b, "entry");
	if (!json_is_array(entries))
		fv_err(v, "Bundle.entry must be an array");
	size_t i;
	json_t *e;
	json_array_foreach(entries, i, e)
	{
		json_t *res = json_object_get(e, "resource");
		const char *full = json_string_value(json_object_get(e, "fullUrl"));
		if (!json_is_object(res))
			fv_err(v, "entry %zu: resource required", i);
		if (!is_uri(full))
			fv_err(v, "entry %zu: fullUrl must be a uri", i);
		const char *id = json_string_value(json_object_get(res, "id"));
		if (!matches(&v->id, id))
			fv_err(v, "entry %zu: id must match [A-Za-z0-9.-]{1,64}", i);
		if (full && id && strncmp(full, "urn:uuid:", 9) == 0 && strcmp(full + 9, id))
			fv_err(v, "entry %zu: fullUrl and id disagree", i);
		/* bdl-7: fullUrl unique. */
		for (size_t k = 0; k < i; k++)
			if (full && json_equal(json_object_get(json_array_get(entries, k), "fullUrl"),
			                       json_object_get(e, "fullUrl")))
				fv_err(v, "entry %zu: duplicate fullUrl (bdl-7)", i);
		const char *type = json_string_value(json_object_get(res, "resourceType"));
		if (!type)
			fv_err(v, "entry %zu: resourceType required", i);
		else if (!strcmp(type, "Patient"))
			fv_patient(v, res);
		else if (!strcmp(type, "Questionnaire"))
			fv_questionnaire(v, res);
		else if (!strcmp(type, "QuestionnaireResponse"))
			fv_questionnaire_response(v, res);
		else if (!strcmp(type, "Observation"))
			fv_observation(v, res);
		else
			fv_err(v, "entry %zu: unexpected resource type %s", i, type);
	}
}

static int fv_check(json_t *bundle, char *first, size_t len)
{
	struct fv v;
	fv_init(&v, bundle);
	fv_bundle(&v);
	haven_strlcpy(first, v.first, len);
	fv_release(&v);
	return v.errors;
}

static size_t count_type(json_t *bundle, const char *type)
{
	size_t n = 0, i;
	json_t *e;
	json_array_foreach(json_object_get(bundle, "entry"), i, e) n += !strcmp(
	    json_string_value(json_object_get(json_object_get(e, "resource"), "resourceType")), type);
	return n;
}

/* The Observation coded with this LOINC code and its valueInteger (-1 when none). */
static json_int_t loinc_value(json_t *bundle, const char *code, size_t nth)
{
	size_t i, seen = 0;
	json_t *e;
	json_array_foreach(json_object_get(bundle, "entry"), i, e)
	{
		json_t *res = json_object_get(e, "resource");
		json_t *c0 = json_array_get(json_object_get(json_object_get(res, "code"), "coding"), 0);
		const char *c = json_string_value(json_object_get(c0, "code"));
		if (c && !strcmp(c, code) && seen++ == nth)
			return json_integer_value(json_object_get(res, "valueInteger"));
	}
	return -1;
}

TEST(api_fhir_bundle_validates)
{
	struct test_server s;
	struct test_resp r;
	char err[300];
	char *ctok, *ptok;
	int64_t pid = test_start_care_pair(&s, "sam.fhir@example.org", &ctok, &ptok);
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/fhir", (long long)pid);

	/* With no assessments: a Bundle with the Patient alone. */
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	if (fv_check(r.json, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "empty bundle invalid: %s", err);
	ASSERT_EQ(count_type(r.json, "Patient"), 1);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "entry")), 1);
	test_resp_free(&r);

	json_decref(post_assessment(&s, ptok, "{\"instrument\":\"phq9\",\"answers\":[3,2,1,0,3,2,1,0,1]}", 201));
	json_decref(post_assessment(&s, ptok, "{\"instrument\":\"gad7\",\"answers\":[1,2,3,0,1,2,3]}", 201));
	json_decref(post_assessment(&s, ptok, "{\"instrument\":\"who5\",\"answers\":[5,4,3,2,1]}", 201));
	json_decref(post_assessment(&s, ptok, "{\"instrument\":\"phq2\",\"answers\":[1,2]}", 201));

	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	if (fv_check(r.json, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "bundle invalid: %s", err);
	ASSERT_EQ(count_type(r.json, "Patient"), 1);
	ASSERT_EQ(count_type(r.json, "Questionnaire"), 4);
	ASSERT_EQ(count_type(r.json, "QuestionnaireResponse"), 4);
	/* Totals and items: (9 + 1) + (7 + 1) + (5 + 1) + (2 + 1). */
	ASSERT_EQ(count_type(r.json, "Observation"), 27);
	ASSERT_EQ(loinc_value(r.json, "44261-6", 0), 13); /* PHQ-9 total */
	ASSERT_EQ(loinc_value(r.json, "44260-8", 0), 1);  /* PHQ-9 item 9 */
	ASSERT_EQ(loinc_value(r.json, "70274-6", 0), 12); /* GAD-7 total */
	ASSERT_EQ(loinc_value(r.json, "44250-9", 0), 3);  /* PHQ-9 item 1 */
	ASSERT_EQ(loinc_value(r.json, "44250-9", 1), 1);  /* PHQ-2 item 1, same question */
	/* Pseudonymous: neither the email nor the internal id appears. */
	ASSERT(!strstr(r.body, "sam.fhir"));
	ASSERT(!strstr(r.body, "example.org"));
	char *first = strdup(r.body);
	json_t *patient = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(r.json, "entry"), i, e)
	{
		json_t *res = json_object_get(e, "resource");
		if (!strcmp(json_string_value(json_object_get(res, "resourceType")), "Patient"))
			patient = json_incref(res);
	}
	test_resp_free(&r);

	/* The validator catches what it should: a broken reference, a missing status, a
	 * wrong LOINC check digit, a second value[x]. */
	static const char *const breakers[] = {"reference", "status", "loinc", "value"};
	for (size_t b = 0; b < 4; b++) {
		json_error_t jerr;
		json_t *bad = json_loads(first, 0, &jerr);
		ASSERT(bad);
		json_t *entries = json_object_get(bad, "entry");
		json_array_foreach(entries, i, e)
		{
			json_t *res = json_object_get(e, "resource");
			if (strcmp(json_string_value(json_object_get(res, "resourceType")),
			           "Observation"))
				continue;
			if (b == 0)
				json_object_set_new(json_object_get(res, "subject"), "reference",
				                    json_string("urn:uuid:00000000-0000-4000-8000-000000000000"));
			else if (b == 1)
				json_object_del(res, "status");
			else if (b == 2)
				json_object_set_new(json_array_get(json_object_get(json_object_get(res, "code"), "coding"), 0),
				                    "code", json_string("44261-5"));
			else
				json_object_set_new(res, "valueString", json_string("13"));
			break;
		}
		if (!fv_check(bad, err, sizeof(err)))
			haven_test_fail(__FILE__, __LINE__, "validator missed a broken %s",
			                breakers[b]);
		json_decref(bad);
	}

	/* The same Patient identity every time; the patient's export holds the Bundle. */
	test_call(&s, "GET", "/api/v1/me/export", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *fhir = json_object_get(r.json, "fhir");
	if (fv_check(fhir, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "export bundle invalid: %s", err);
	ASSERT_EQ(count_type(fhir, "QuestionnaireResponse"), 4);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "assessments")), 4);
	json_array_foreach(json_object_get(fhir, "entry"), i, e)
	{
		json_t *res = json_object_get(e, "resource");
		if (!strcmp(json_string_value(json_object_get(res, "resourceType")), "Patient"))
			ASSERT(json_equal(res, patient));
	}
	test_resp_free(&r);
	json_decref(patient);
	free(first);
	ASSERT_EQ(test_count(&s, "fhir_pseudonyms"), 1);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

/* The first resource of a type in the Bundle (and its fullUrl). */
static json_t *first_of(json_t *bundle, const char *type, const char **full)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(bundle, "entry"), i, e)
	{
		json_t *res = json_object_get(e, "resource");
		if (!strcmp(json_string_value(json_object_get(res, "resourceType")) ?: "", type)) {
			if (full)
				*full = json_string_value(json_object_get(e, "fullUrl"));
			return res;
		}
	}
	return NULL;
}

#define NBREAK 36

/* Breaks one thing in a Patient, a Questionnaire or a QuestionnaireResponse (case k):
 * an element a pseudonymous Patient must not have, a required element dropped, a value
 * of the wrong type, a code outside its required value set or code system. Returns
 * what was broken. */
static const char *break_resource(json_t *b, int k)
{
	json_t *pat = first_of(b, "Patient", NULL);
	const char *q_full = NULL;
	json_t *q = first_of(b, "Questionnaire", &q_full);
	json_t *qr = first_of(b, "QuestionnaireResponse", NULL);
	json_t *pid0 = json_array_get(json_object_get(pat, "identifier"), 0);
	json_t *qitems = json_object_get(q, "item"), *qi0 = json_array_get(qitems, 0);
	json_t *ritems = json_object_get(qr, "item"), *ri0 = json_array_get(ritems, 0);
	json_t *ans0 = json_array_get(json_object_get(ri0, "answer"), 0);
	json_t *rtotal = find_item(ritems, "total"), *qtotal = find_item(qitems, "total");
	switch (k) {
	case 0:
		json_object_set_new(pat, "name", json_pack("[{s:s}]", "family", "Doe"));
		return "Patient.name";
	case 1:
		json_object_set_new(pat, "telecom", json_pack("[{s:s,s:s}]", "system", "email",
		                                              "value", "sam.fhir@example.org"));
		return "Patient.telecom (email)";
	case 2:
		json_object_del(pat, "identifier");
		return "Patient.identifier dropped";
	case 3:
		json_object_set_new(pid0, "system", json_string("pseudonym"));
		return "Patient.identifier.system not a uri";
	case 4:
		json_object_set_new(pid0, "value", json_string("sam.fhir@example.org"));
		return "Patient.identifier.value an email";
	case 5:
		json_object_set_new(pat, "active", json_string("true"));
		return "Patient.active a string";
	case 6:
		json_object_set_new(pid0, "use", json_string("pseudonymous"));
		return "Patient.identifier.use outside its value set";
	case 7:
		json_object_set_new(pat, "birthDate", json_string("1990-01-01"));
		return "Patient.birthDate";
	case 8:
		json_object_del(q, "status");
		return "Questionnaire.status dropped";
	case 9:
		json_object_set_new(q, "status", json_string("published"));
		return "Questionnaire.status outside its value set";
	case 10:
		json_object_set_new(qi0, "type", json_string("number"));
		return "Questionnaire.item.type outside its value set";
	case 11:
		json_object_del(qi0, "linkId");
		return "Questionnaire.item.linkId dropped";
	case 12:
		json_object_set(json_array_get(qitems, 1), "linkId", json_object_get(qi0, "linkId"));
		return "Questionnaire.item.linkId duplicated";
	case 13:
		json_object_set(qtotal, "answerOption", json_object_get(qi0, "answerOption"));
		return "answerOption on an integer item";
	case 14:
		json_object_set_new(qi0, "required", json_string("yes"));
		return "Questionnaire.item.required a string";
	case 15:
		json_object_set_new(json_array_get(json_object_get(q, "code"), 0), "code",
		                    json_string("44249-2"));
		return "Questionnaire.code with a wrong LOINC check digit";
	case 16:
		json_object_set_new(json_array_get(json_object_get(q, "code"), 0), "system",
		                    json_string("loinc.org"));
		return "Questionnaire.code.system not a uri";
	case 17:
		json_object_set_new(q, "url", json_string("questionnaire phq9"));
		return "Questionnaire.url not a uri";
	case 18:
		json_object_set_new(q, "item", json_object());
		return "Questionnaire.item an object";
	case 19:
		json_object_set_new(q, "subjectType", json_string("Patient"));
		return "Questionnaire.subjectType a string";
	case 20:
		json_object_del(qi0, "answerOption");
		return "a choice item without options";
	case 21:
		json_object_set(qi0, "code", json_array_get(json_object_get(qi0, "code"), 0));
		return "Questionnaire.item.code an object";
	case 22: {
		json_t *o = json_array_get(json_object_get(qi0, "answerOption"), 0);
		json_object_del(o, "valueCoding");
		json_object_set_new(o, "valueBoolean", json_true());
		return "answerOption.valueBoolean";
	}
	case 23:
		json_object_del(qr, "status");
		return "QuestionnaireResponse.status dropped";
	case 24:
		json_object_set_new(qr, "status", json_string("done"));
		return "QuestionnaireResponse.status outside its value set";
	case 25:
		json_object_set_new(qr, "authored", json_string("yesterday"));
		return "QuestionnaireResponse.authored not a dateTime";
	case 26:
		json_object_set_new(json_object_get(qr, "subject"), "reference", json_string(q_full));
		return "QuestionnaireResponse.subject pointing at a Questionnaire";
	case 27:
		json_object_set_new(qr, "questionnaire",
		                    json_string("urn:haven:fhir:questionnaire:phq99"));
		return "QuestionnaireResponse.questionnaire not in the Bundle";
	case 28:
		json_object_set_new(json_object_get(ans0, "valueCoding"), "code",
		                    json_string("LA9999-9"));
		return "an answer outside the item's options";
	case 29: {
		json_t *a = json_array_get(json_object_get(rtotal, "answer"), 0);
		json_object_del(a, "valueInteger");
		json_object_set_new(a, "valueString", json_string("13"));
		return "the total answered as a string";
	}
	case 30:
		json_object_set_new(ri0, "linkId", json_string("99"));
		return "QuestionnaireResponse.item not in the Questionnaire";
	case 31:
		json_object_set_new(ans0, "valueInteger", json_integer(2));
		return "an answer with two value[x]";
	case 32:
		json_object_set(ri0, "answer", ans0);
		return "QuestionnaireResponse.item.answer an object";
	case 33:
		json_object_set(qr, "item", ri0);
		return "QuestionnaireResponse.item an object";
	case 34:
		json_object_set(json_array_get(ritems, 1), "linkId", json_object_get(ri0, "linkId"));
		return "QuestionnaireResponse.item answered twice";
	case 35:
		json_object_set_new(json_object_get(ans0, "valueCoding"), "system",
		                    json_string("urn:haven:other"));
		return "an answer coded in another code system";
	}
	return NULL;
}

TEST(api_fhir_rejects_broken_patient_questionnaire_response)
{
	struct test_server s;
	struct test_resp r;
	char err[300];
	char *ctok, *ptok;
	int64_t pid = test_start_care_pair(&s, "sam.fhir@example.org", &ctok, &ptok);
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/fhir", (long long)pid);
	json_decref(post_assessment(&s, ptok, "{\"instrument\":\"phq9\",\"answers\":[3,2,1,0,3,2,1,0,1]}", 201));
	json_decref(post_assessment(&s, ptok, "{\"instrument\":\"phq2\",\"answers\":[1,2]}", 201));
	json_decref(post_assessment(&s, ptok, "{\"instrument\":\"gad2\",\"answers\":[2,2]}", 201));
	json_decref(post_assessment(&s, ptok, "{\"instrument\":\"who5\",\"answers\":[5,4,3,2,1]}", 201));
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	if (fv_check(r.json, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "bundle invalid: %s", err);

	/* PHQ-2 is coded with its own LOINC panel and total. GAD-2's panel and total and all
	 * of WHO-5 have no confirmed LOINC code (docs/measures.md): they are coded in the
	 * instrument's own system with their text, never with a guessed LOINC code. */
	size_t i;
	json_t *e;
	int phq2_q = 0, gad2_q = 0, who5_q = 0, gad2_total = 0, who5_total = 0, who5_item = 0;
	json_array_foreach(json_object_get(r.json, "entry"), i, e)
	{
		json_t *res = json_object_get(e, "resource");
		const char *url = json_string_value(json_object_get(res, "url"));
		json_t *c0 = json_array_get(json_object_get(res, "code"), 0);
		if (url && !strcmp(url, "urn:haven:fhir:questionnaire:phq2")) {
			phq2_q = 1;
			ASSERT_STR_EQ(json_string_value(json_object_get(c0, "system")),
			              "http://loinc.org");
			ASSERT_STR_EQ(json_string_value(json_object_get(c0, "code")), "55757-9");
			json_t *tc = json_array_get(
			    json_object_get(find_item(json_object_get(res, "item"), "total"), "code"), 0);
			ASSERT_STR_EQ(json_string_value(json_object_get(tc, "code")), "55758-7");
		}
		if (url && (!strcmp(url, "urn:haven:fhir:questionnaire:gad2") ||
		            !strcmp(url, "urn:haven:fhir:questionnaire:who5"))) {
			int gad2 = !strcmp(url, "urn:haven:fhir:questionnaire:gad2");
			gad2_q |= gad2;
			who5_q |= !gad2;
			ASSERT_EQ(json_array_size(json_object_get(res, "code")), 1);
			ASSERT_STR_EQ(json_string_value(json_object_get(c0, "system")),
			              gad2 ? "urn:haven:fhir:code:gad2" : "urn:haven:fhir:code:who5");
			ASSERT_STR_EQ(json_string_value(json_object_get(c0, "code")), "panel");
			json_t *tc = json_array_get(
			    json_object_get(find_item(json_object_get(res, "item"), "total"), "code"), 0);
			ASSERT_STR_EQ(json_string_value(json_object_get(tc, "system")),
			              gad2 ? "urn:haven:fhir:code:gad2" : "urn:haven:fhir:code:who5");
			ASSERT_STR_EQ(json_string_value(json_object_get(tc, "code")), "total");
			/* GAD-2's items keep GAD-7's LOINC codes; WHO-5's are its own. */
			json_t *ic = json_array_get(
			    json_object_get(find_item(json_object_get(res, "item"), "1"), "code"), 0);
			ASSERT_STR_EQ(json_string_value(json_object_get(ic, "system")),
			              gad2 ? "http://loinc.org" : "urn:haven:fhir:code:who5");
			ASSERT_STR_EQ(json_string_value(json_object_get(ic, "code")),
			              gad2 ? "69725-0" : "1");
		}
		if (strcmp(json_string_value(json_object_get(res, "resourceType")), "Observation"))
			continue;
		json_t *code = json_object_get(res, "code");
		const char *text = json_string_value(json_object_get(code, "text"));
		json_t *oc = json_array_get(json_object_get(code, "coding"), 0);
		const char *sys = json_string_value(json_object_get(oc, "system"));
		const char *cv = json_string_value(json_object_get(oc, "code"));
		ASSERT(text && sys && cv); /* every Observation is coded and has its text */
		if (!strcmp(text, "GAD-2 total score")) {
			gad2_total = 1;
			ASSERT_EQ(json_array_size(json_object_get(code, "coding")), 1);
			ASSERT_STR_EQ(sys, "urn:haven:fhir:code:gad2");
			ASSERT_STR_EQ(cv, "total");
			ASSERT_EQ(json_integer_value(json_object_get(res, "valueInteger")), 4);
		}
		if (!strcmp(text, "WHO-5 total score")) {
			who5_total = 1;
			ASSERT_STR_EQ(sys, "urn:haven:fhir:code:who5");
			ASSERT_STR_EQ(cv, "total");
			ASSERT_EQ(json_integer_value(json_object_get(res, "valueInteger")), 15);
		}
		if (!strcmp(text, "I have felt calm and relaxed")) {
			who5_item = 1;
			ASSERT_STR_EQ(sys, "urn:haven:fhir:code:who5");
			ASSERT_STR_EQ(cv, "2");
			ASSERT_EQ(json_integer_value(json_object_get(res, "valueInteger")), 4);
		}
	}
	ASSERT(gad2_total && who5_total && who5_item);
	ASSERT(phq2_q && gad2_q && who5_q);
	ASSERT_EQ(loinc_value(r.json, "55758-7", 0), 3); /* PHQ-2 total */
	ASSERT_EQ(loinc_value(r.json, "69725-0", 0), 2); /* GAD-2 item 1 = GAD-7 item 1 */

	/* Every broken variant is refused by the validator, so the positive checks above
	 * (here and in api_fhir_bundle_validates) mean something. */
	char *good = strdup(r.body);
	test_resp_free(&r);
	for (int k = 0; k < NBREAK; k++) {
		json_error_t jerr;
		json_t *bad = json_loads(good, 0, &jerr);
		ASSERT(bad);
		const char *what = break_resource(bad, k);
		ASSERT(what);
		if (!fv_check(bad, err, sizeof(err)))
			haven_test_fail(__FILE__, __LINE__, "validator accepted: %s", what);
		json_decref(bad);
	}
	free(good);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

/* The patient sees a check-in due now, and no longer once they have checked in; the
 * care team sees the same; a clinician of another caseload gets 404. The offset is
 * chosen so that it is 12:xx local now, whatever the hour in UTC. */
TEST(api_checkin_due_now)
{
	struct test_server s;
	struct test_resp r;
	char *ctok, *ptok, body[200], path[128];
	int64_t pid = test_start_care_pair(&s, "due@example.org", &ctok, &ptok);
	int64_t now = haven_now_ms();
	int utc_minute = (int)((now / 60000) % 1440);
	int offset = 720 - utc_minute; /* local 12:00 + seconds: -719 .. 720 */

	/* Reminders off: nothing is due, whatever the time. */
	test_call(&s, "GET", "/api/v1/me/reminders", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *due = json_object_get(r.json, "checkin_due");
	ASSERT(json_is_false(json_object_get(due, "due")));
	ASSERT(json_is_false(json_object_get(due, "scheduled_today")));
	ASSERT(json_is_null(json_object_get(due, "due_at")));
	test_resp_free(&r);

	/* 11:00 local every day: due now, and the patient has not checked in today. */
	snprintf(body, sizeof(body),
	         "{\"enabled\":true,\"time\":\"11:00\",\"utc_offset_minutes\":%d}", offset);
	test_call(&s, "PUT", "/api/v1/me/reminders", ptok, body, &r);
	ASSERT_EQ(r.status, 200);
	due = json_object_get(r.json, "checkin_due");
	ASSERT(json_is_true(json_object_get(due, "due")));
	ASSERT(json_is_true(json_object_get(due, "scheduled_today")));
	ASSERT(json_is_false(json_object_get(due, "checked_in_today")));
	ASSERT(json_is_string(json_object_get(due, "due_at")));
	ASSERT_EQ(strlen(json_string_value(json_object_get(due, "date"))), 10);
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/me/reminders", ptok, NULL, &r);
	ASSERT(json_is_true(json_object_get(json_object_get(r.json, "checkin_due"), "due")));
	test_resp_free(&r);
	/* The care team sees it too; another clinician does not even learn it exists. */
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/reminders", (long long)pid);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT(json_is_true(json_object_get(json_object_get(r.json, "checkin_due"), "due")));
	test_resp_free(&r);
	test_make_user(&s, "clinician", "other.dr@example.org");
	char *otok = test_login(&s, "other.dr@example.org");
	test_call(&s, "GET", path, otok, NULL, &r);
	ASSERT_EQ(r.status, 404);
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/me/reminders", ctok, NULL, &r);
	ASSERT_EQ(r.status, 403);
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/me/reminders", NULL, NULL, &r);
	ASSERT_EQ(r.status, 401);
	test_resp_free(&r);

	/* A reminder later today (13:00 local) is not due yet. */
	snprintf(body, sizeof(body), "{\"time\":\"13:00\"}");
	test_call(&s, "PUT", "/api/v1/me/reminders", ptok, body, &r);
	ASSERT_EQ(r.status, 200);
	due = json_object_get(r.json, "checkin_due");
	ASSERT(json_is_false(json_object_get(due, "due")));
	ASSERT(json_is_true(json_object_get(due, "scheduled_today")));
	test_resp_free(&r);

	/* Back to 11:00, then a check-in: no longer due. */
	test_call(&s, "PUT", "/api/v1/me/reminders", ptok, "{\"time\":\"11:00\"}", &r);
	ASSERT(json_is_true(json_object_get(json_object_get(r.json, "checkin_due"), "due")));
	test_resp_free(&r);
	test_call(&s, "POST", "/api/v1/checkins", ptok, "{\"mood\":6,\"sleep_hours\":7}", &r);
	ASSERT_EQ(r.status, 201);
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/me/reminders", ptok, NULL, &r);
	due = json_object_get(r.json, "checkin_due");
	ASSERT(json_is_false(json_object_get(due, "due")));
	ASSERT(json_is_true(json_object_get(due, "checked_in_today")));
	ASSERT(json_is_string(json_object_get(json_object_get(r.json, "missed_checkins"),
	                                      "last_checkin_at")));
	test_resp_free(&r);
	free(otok);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}
