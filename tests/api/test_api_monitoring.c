/*
 * test_api_monitoring.c: monitoring over real HTTP: sensing needs the sensing consent
 * (403 and nothing stored without it), plain JSON and FHIR Observation batches, clear
 * 4xx for bad observations, sealed values, daily features with missing-day flags for
 * the patient and the care team, the risk score's contributions, the clinic's
 * thresholds (administrators, validated, audited), and a check-in over HTTP raising a
 * mood_decline alert in its own transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "crypto/keyring.h"
#include "harness.h"
#include "measures/reminders.h"

#define DAY_MS 86400000LL

static json_t *call_json(struct test_server *s, const char *method, const char *path,
                         const char *tok, const char *body, long want)
{
	struct test_resp r;
	test_call(s, method, path, tok, body, &r);
	if (r.status != want)
		haven_test_fail(__FILE__, __LINE__, "%s %s: %ld, want %ld (%s)", method, path, r.status,
		                want, r.body);
	json_t *j = json_incref(r.json);
	test_resp_free(&r);
	return j;
}

static void expect_error(struct test_server *s, const char *tok, const char *body, long status,
                         const char *code, const char *needle)
{
	struct test_resp r;
	test_call(s, "POST", "/api/v1/sensing", tok, body, &r);
	if (r.status != status || strcmp(test_error_code(&r), code) ||
	    (needle && !strstr(test_error_message(&r), needle)))
		haven_test_fail(__FILE__, __LINE__, "POST %s: %ld %s (%s), want %ld %s %s", body,
		                r.status, test_error_code(&r), test_error_message(&r), status, code,
		                needle ? needle : "");
	test_resp_free(&r);
}

/* "YYYY-MM-DD" of today - back days (UTC: the test patients keep offset 0). */
static void date_back(int back, char out[11])
{
	haven_local_date(haven_local_day(haven_now_ms(), 0) - back, out);
}

struct blob_scan {
	const char *needle;
	int found;
	int64_t rows;
};

static int blob_row(const struct haven_row *row, void *arg)
{
	struct blob_scan *b = arg;
	size_t len;
	const char *p = haven_row_blob(row, 0, &len);
	b->rows++;
	if (p && memmem(p, len, b->needle, strlen(b->needle)))
		b->found = 1;
	return 0;
}

static int blob_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(tx, "SELECT payload FROM sensing_observations", NULL, 0, blob_row, arg);
}

struct audit_count {
	const char *action, *outcome;
	int64_t n;
};

static int audit_tx(struct haven_tx *tx, void *arg)
{
	struct audit_count *a = arg;
	struct haven_param p[] = {HAVEN_P_TEXT(a->action), HAVEN_P_TEXT(a->outcome)};
	return haven_tx_query_int(
	    tx, "SELECT COUNT(*) FROM audit_log WHERE action = ? AND outcome = ?", p, 2, &a->n);
}

static int64_t audits(struct test_server *s, const char *action, const char *outcome)
{
	struct audit_count a = {action, outcome, -1};
	ASSERT_OK(haven_store_read(s->store, audit_tx, &a));
	return a.n;
}

TEST(api_sensing_consent_validation_and_daily_features)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	int64_t pid = test_register(&s, ctok, "p@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");
	char d1[11], d2[11], d3[11], body[2048], path[128];
	date_back(1, d1);
	date_back(2, d2);
	date_back(4, d3);
	snprintf(body, sizeof(body),
	         "{\"observations\": [{\"type\": \"steps\", \"value\": 8123, \"date\": \"%s\"},"
	         "{\"type\": \"sleep_minutes\", \"value\": 431, \"date\": \"%s\", \"unit\": "
	         "\"min\"},"
	         "{\"type\": \"steps\", \"value\": 2000, \"date\": \"%s\"}]}",
	         d1, d1, d2);

	/* No sensing consent: 403, nothing stored, the refusal audited. */
	expect_error(&s, ptok, body, 403, "consent_required", "sensing consent");
	ASSERT_EQ(test_count(&s, "sensing_observations"), 0);
	ASSERT_EQ(test_count(&s, "data_keys"), 0);
	ASSERT_EQ(audits(&s, "sensing.write", "denied"), 1);

	json_decref(call_json(&s, "PUT", "/api/v1/me/consents", ptok,
	                      "{\"scopes\":{\"sensing\":true}}", 200));
	json_t *j = call_json(&s, "POST", "/api/v1/sensing", ptok, body, 201);
	ASSERT_EQ(json_integer_value(json_object_get(j, "accepted")), 3);
	ASSERT_EQ(json_integer_value(json_object_get(j, "replaced")), 0);
	ASSERT_EQ(json_array_size(json_object_get(j, "days")), 2);
	json_decref(j);
	ASSERT_EQ(test_count(&s, "sensing_observations"), 3);

	/* A FHIR Bundle (application/fhir+json): resting heart rate and the same steps
	 * day again, which replaces the value. */
	snprintf(body, sizeof(body),
	         "{\"resourceType\": \"Bundle\", \"type\": \"collection\", \"entry\": ["
	         "{\"resource\": {\"resourceType\": \"Observation\", \"status\": \"final\", "
	         "\"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": "
	         "\"40443-4\"}]}, \"valueQuantity\": {\"value\": 62, \"system\": "
	         "\"http://unitsofmeasure.org\", \"code\": \"/min\"}, \"effectiveDateTime\": "
	         "\"%s\"}},"
	         "{\"resource\": {\"resourceType\": \"Observation\", \"status\": \"final\", "
	         "\"code\": {\"coding\": [{\"system\": \"http://loinc.org\", \"code\": "
	         "\"55423-8\"}]}, \"valueQuantity\": {\"value\": 9001, \"system\": "
	         "\"http://unitsofmeasure.org\", \"code\": \"{steps}\"}, \"effectiveDateTime\": "
	         "\"%s\"}}]}",
	         d3, d1);
	struct test_resp r;
	test_http(&s, "POST", "/api/v1/sensing", ptok, "application/fhir+json", body, strlen(body),
	          NULL, &r);
	ASSERT_EQ(r.status, 201);
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "replaced")), 1);
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "sensing_observations"), 4);

	/* Values are sealed: the numbers are not in the stored bytes. */
	struct blob_scan b = {"9001", 0, 0};
	ASSERT_OK(haven_store_read(s.store, blob_tx, &b));
	ASSERT_EQ(b.rows, 4);
	ASSERT(!b.found);
	b = (struct blob_scan){"431", 0, 0};
	ASSERT_OK(haven_store_read(s.store, blob_tx, &b));
	ASSERT(!b.found);

	/* Bad observations: clear 4xx, nothing stored. */
	snprintf(body, sizeof(body),
	         "{\"observations\": [{\"type\": \"steps\", \"value\": 10, \"date\": \"%s\"}, "
	         "{\"type\": \"calories\", \"value\": 10, \"date\": \"%s\"}]}",
	         d1, d1);
	expect_error(&s, ptok, body, 400, "unknown_type", "observations[1]: unknown type 'calories'");
	snprintf(body, sizeof(body),
	         "{\"observations\": [{\"type\": \"sleep_minutes\", \"value\": 7, \"unit\": \"h\", "
	         "\"date\": \"%s\"}]}",
	         d1);
	expect_error(&s, ptok, body, 400, "invalid_unit", "the unit of sleep_minutes is 'min'");
	snprintf(body, sizeof(body),
	         "{\"observations\": [{\"type\": \"steps\", \"value\": -5, \"date\": \"%s\"}]}", d1);
	expect_error(&s, ptok, body, 400, "out_of_range", "between 0 and 100000");
	expect_error(&s, ptok,
	             "{\"observations\": [{\"type\": \"steps\", \"value\": 5, \"date\": "
	             "\"2999-01-01\"}]}",
	             400, "future_time", "in the future");
	expect_error(&s, ptok,
	             "{\"resourceType\": \"Observation\", \"status\": \"final\", \"code\": "
	             "{\"coding\": [{\"system\": \"http://loinc.org\", \"code\": \"8867-4\"}]}}",
	             400, "unknown_type", "no known code");
	expect_error(&s, ptok, "{\"observations\": [", 400, "invalid_body", "not valid JSON");
	test_http(&s, "POST", "/api/v1/sensing", ptok, "text/plain", "{}", 2, NULL, &r);
	ASSERT_EQ(r.status, 415);
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "sensing_observations"), 4);

	/* Daily features: the last 7 days, with missing days flagged. */
	j = call_json(&s, "GET", "/api/v1/me/sensing?days=7", ptok, NULL, 200);
	json_t *days = json_object_get(j, "days");
	ASSERT_EQ(json_array_size(days), 7);
	json_t *yesterday = json_array_get(days, 5);
	ASSERT_STR_EQ(json_string_value(json_object_get(yesterday, "date")), d1);
	ASSERT_NEAR(json_number_value(json_object_get(yesterday, "steps")), 9001, 1e-9);
	ASSERT_NEAR(json_number_value(json_object_get(yesterday, "sleep_minutes")), 431, 1e-9);
	ASSERT_EQ(json_array_size(json_object_get(yesterday, "missing")), 2);
	ASSERT(json_is_true(json_object_get(json_array_get(days, 6), "no_data"))); /* today */
	/* days with nothing: today, 3, 5 and 6 days ago */
	ASSERT_EQ(json_array_size(json_object_get(j, "days_without_data")), 4);
	json_t *steps = json_object_get(json_object_get(j, "summary"), "steps");
	ASSERT_EQ(json_integer_value(json_object_get(steps, "days_with_data")), 2);
	ASSERT_NEAR(json_number_value(json_object_get(steps, "mean")), 5500.5, 1e-6);
	ASSERT(json_is_true(json_object_get(j, "sensing_consent")));
	json_decref(j);
	json_decref(call_json(&s, "GET", "/api/v1/me/sensing?days=0", ptok, NULL, 400));
	json_decref(call_json(&s, "GET", "/api/v1/me/sensing?days=abc", ptok, NULL, 400));

	/* The care team sees the same with the care_team consent. */
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/sensing?days=7", (long long)pid);
	j = call_json(&s, "GET", path, ctok, NULL, 200);
	ASSERT_EQ(json_integer_value(json_object_get(j, "patient_id")), pid);
	ASSERT_EQ(json_array_size(json_object_get(j, "days")), 7);
	json_decref(j);
	json_decref(call_json(&s, "PUT", "/api/v1/me/consents", ptok,
	                      "{\"scopes\":{\"care_team\":false,\"sensing\":false}}", 200));
	j = call_json(&s, "GET", path, ctok, NULL, 403);
	json_decref(j);

	/* Sensing withdrawn: refused again, nothing more stored. */
	snprintf(body, sizeof(body),
	         "{\"observations\": [{\"type\": \"steps\", \"value\": 10, \"date\": \"%s\"}]}", d1);
	expect_error(&s, ptok, body, 403, "consent_required", NULL);
	ASSERT_EQ(test_count(&s, "sensing_observations"), 4);
	ASSERT_EQ(audits(&s, "sensing.write", "denied"), 2);
	ASSERT_EQ(audits(&s, "sensing.write", "ok"), 2);

	/* The patient's own export holds every observation, decrypted. */
	j = call_json(&s, "GET", "/api/v1/me/export", ptok, NULL, 200);
	json_t *sx = json_object_get(j, "sensing");
	ASSERT_EQ(json_array_size(sx), 4);
	int saw = 0;
	for (size_t i = 0; i < json_array_size(sx); i++)
		if (json_number_value(json_object_get(json_array_get(sx, i), "value")) == 9001)
			saw = 1;
	ASSERT(saw);
	json_decref(j);

	/* Erasure removes it all. */
	test_call(&s, "DELETE", "/api/v1/me", ptok, NULL, &r);
	ASSERT_EQ(r.status, 204);
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "sensing_observations"), 0);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

struct backdate {
	struct test_server *s;
	int64_t patient, at;
	int mood;
};

static int backdate_tx(struct haven_tx *tx, void *arg)
{
	struct backdate *b = arg;
	char rid[33], pt[64];
	haven_random_id(rid);
	snprintf(pt, sizeof(pt), "{\"mood\":%d,\"sleep_hours\":7.5}", b->mood);
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	int rc = haven_keyring_seal(tx, b->s->mk, b->patient, "checkins", rid, "payload", pt,
	                            strlen(pt), &ct, &ct_len);
	if (rc)
		return rc;
	struct haven_param p[] = {HAVEN_P_TEXT(rid), HAVEN_P_INT(b->patient), HAVEN_P_INT(b->at),
	                          HAVEN_P_BLOB(ct, ct_len)};
	rc = haven_tx_exec(tx,
	                   "INSERT INTO checkins (rid, patient_id, created_at, payload) VALUES (?, ?, "
	                   "?, ?)",
	                   p, 4, NULL);
	free(ct);
	return rc;
}

TEST(api_checkin_raises_mood_decline_and_risk_explains_itself)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	int64_t pid = test_register(&s, ctok, "p@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");
	/* Three weeks of mood 7 and 6, ending 8 days ago, written as if sent then. */
	int64_t now = haven_now_ms();
	for (int d = 28; d >= 8; d--) {
		struct backdate b = {&s, pid, now - d * DAY_MS, d % 2 ? 7 : 6};
		ASSERT_OK(haven_store_write(s.store, backdate_tx, &b));
	}
	json_decref(call_json(&s, "POST", "/api/v1/checkins", ptok,
	                      "{\"mood\": 3, \"sleep_hours\": 7.5}", 201));
	json_decref(call_json(&s, "POST", "/api/v1/checkins", ptok,
	                      "{\"mood\": 2, \"sleep_hours\": 7.5}", 201));
	ASSERT_EQ(test_count(&s, "alerts"), 0); /* one low day: not yet a trend */
	/* A low check-in yesterday too (written as if sent then), and one more today. */
	struct backdate y = {&s, pid, now - DAY_MS, 3};
	ASSERT_OK(haven_store_write(s.store, backdate_tx, &y));
	json_decref(call_json(&s, "POST", "/api/v1/checkins", ptok,
	                      "{\"mood\": 2, \"sleep_hours\": 7.5, \"note\": \"rough week\"}", 201));
	json_t *l = call_json(&s, "GET", "/api/v1/alerts", ctok, NULL, 200);
	json_t *arr = json_object_get(l, "alerts");
	ASSERT_EQ(json_array_size(arr), 1);
	json_t *a = json_array_get(arr, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(a, "kind")), "mood_decline");
	ASSERT_STR_EQ(json_string_value(json_object_get(a, "severity")), "warning");
	json_t *reason = json_array_get(json_object_get(a, "reasons"), 0);
	ASSERT_CONTAINS(json_string_value(json_object_get(reason, "text")), "usual");
	ASSERT_STR_EQ(json_string_value(json_object_get(reason, "rule")), "mood_decline");
	json_t *values = json_object_get(reason, "values");
	ASSERT_NEAR(json_number_value(json_object_get(values, "baseline_mean")), 6.5, 0.1);
	ASSERT_EQ(json_integer_value(json_object_get(values, "recent_checkins")), 4);
	ASSERT_EQ(json_integer_value(json_object_get(values, "recent_days_with_checkins")), 2);
	json_decref(l);
	/* Another low check-in: the open alert stands, no duplicate. */
	json_decref(call_json(&s, "POST", "/api/v1/checkins", ptok,
	                      "{\"mood\": 2, \"sleep_hours\": 7.5}", 201));
	ASSERT_EQ(test_count(&s, "alerts"), 1);

	/* The risk score: contributions add up to the logit, the mood drop leads. */
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/risk", (long long)pid);
	json_t *risk = call_json(&s, "GET", path, ctok, NULL, 200);
	double sum = json_number_value(json_object_get(risk, "intercept"));
	json_t *feats = json_object_get(risk, "features");
	ASSERT_EQ(json_array_size(feats), 5);
	for (size_t i = 0; i < json_array_size(feats); i++)
		sum += json_number_value(json_object_get(json_array_get(feats, i), "contribution"));
	ASSERT_NEAR(sum, json_number_value(json_object_get(risk, "logit")), 1e-9);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(feats, 0), "name")),
	              "mood_drop");
	double p = json_number_value(json_object_get(risk, "probability"));
	ASSERT(p > 0 && p < 1);
	json_decref(risk);
	ASSERT_EQ(audits(&s, "risk.read", "ok"), 1);
	/* Without the care_team consent: 403. */
	json_decref(call_json(&s, "PUT", "/api/v1/me/consents", ptok,
	                      "{\"scopes\":{\"care_team\":false}}", 200));
	json_decref(call_json(&s, "GET", path, ctok, NULL, 403));
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

TEST(api_monitoring_config_admin_validated_audited)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "admin", "a@example.org");
	char *atok = test_login(&s, "a@example.org");
	json_t *j = call_json(&s, "GET", "/api/v1/monitoring/config", atok, NULL, 200);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(j, "disengagement"), "days")),
	          5);
	ASSERT_CONTAINS(json_string_value(json_object_get(
	                    json_object_get(json_object_get(j, "deterioration_risk"), "model"),
	                    "source")),
	                "expert-set");
	json_decref(j);

	struct test_resp r;
	test_call(&s, "PUT", "/api/v1/monitoring/config", atok,
	          "{\"mood_decline\": {\"ewma_alpha\": 2}}", &r);
	ASSERT_EQ(r.status, 400);
	ASSERT_STR_EQ(test_error_code(&r), "invalid_config");
	ASSERT_CONTAINS(test_error_message(&r), "mood_decline.ewma_alpha");
	test_resp_free(&r);
	test_call(&s, "PUT", "/api/v1/monitoring/config", atok, "{\"sleep\": {}}", &r);
	ASSERT_EQ(r.status, 400);
	ASSERT_CONTAINS(test_error_message(&r), "unknown field 'sleep'");
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "monitoring_config"), 0);

	j = call_json(&s, "PUT", "/api/v1/monitoring/config", atok,
	              "{\"mood_decline\": {\"method\": \"cusum\", \"cusum_h\": 5}, "
	              "\"disengagement\": {\"days\": 7}}",
	              200);
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(json_object_get(j, "mood_decline"), "method")),
	    "cusum");
	json_decref(j);
	j = call_json(&s, "GET", "/api/v1/monitoring/config", atok, NULL, 200);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(j, "disengagement"), "days")),
	          7);
	ASSERT_NEAR(json_number_value(json_object_get(json_object_get(j, "mood_decline"), "cusum_h")),
	            5, 1e-12);
	/* untouched values keep their defaults */
	ASSERT_NEAR(json_number_value(json_object_get(json_object_get(j, "sleep_low"), "drop_hours")),
	            1.5, 1e-12);
	json_decref(j);
	ASSERT_EQ(audits(&s, "monitoring.config.write", "ok"), 1);
	free(atok);
	test_server_stop(&s);
}
