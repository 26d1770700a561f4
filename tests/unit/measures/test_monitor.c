/*
 * test_monitor.c: the monitoring rules on synthetic trajectories (each fires when it
 * should, stays quiet when it should not, and does not raise twice), the clinic's
 * configuration, sensing parsing (plain JSON and FHIR R4 Observation), daily features
 * and missing-data flags, and the deterioration-risk model (contributions add up to the
 * logit; training on a generated cohort recovers the signal).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/alerts.h"
#include "crypto/keyring.h"
#include "harness.h"
#include "measures/measures.h"
#include "measures/monitor.h"
#include "measures/reminders.h"
#include "measures/risk.h"
#include "measures/sensing.h"

#define DAY_MS 86400000LL
/* 2026-11-25 12:00 UTC, a Wednesday */
#define NOW_MS 1795608000000LL

/* ---- Mood: EWMA and CUSUM ---- */

/* 21 baseline days of mood alternating 6 and 7, then the recent values. */
static size_t trajectory(struct haven_obs *out, int64_t today, const double *recent, size_t nr)
{
	size_t n = 0;
	for (int d = 27; d >= 7; d--)
		out[n++] = (struct haven_obs){today - d, (d % 2) ? 6 : 7};
	for (size_t i = 0; i < nr; i++)
		out[n++] = (struct haven_obs){today - (int64_t)(nr - 1 - i), recent[i]};
	return n;
}

TEST(monitor_mood_ewma_fires_on_a_fall_not_on_noise)
{
	struct haven_monitor_config c;
	haven_monitor_config_default(&c);
	struct haven_obs obs[64];
	struct haven_mood_eval e;
	int64_t today = 20000;

	const double fall[] = {4, 3, 3};
	size_t n = trajectory(obs, today, fall, 3);
	haven_monitor_mood_eval(&c, obs, n, today, &e);
	ASSERT(e.fired);
	ASSERT_EQ(e.n_baseline, 21);
	ASSERT_EQ(e.n_recent, 3);
	ASSERT_NEAR(e.baseline_mean, 6.476, 0.01);
	/* EWMA from 6.476: 0.3*4 + 0.7*6.476 = 5.733; then 4.913; then 4.339 */
	ASSERT_NEAR(e.ewma, 4.339, 0.01);
	ASSERT(e.drop >= 1.5);

	/* Ordinary ups and downs around the usual level. */
	const double noise[] = {6, 5, 7, 6};
	n = trajectory(obs, today, noise, 4);
	haven_monitor_mood_eval(&c, obs, n, today, &e);
	ASSERT(!e.fired);

	/* One bad day alone is not a trend (min_recent is 2). */
	const double one[] = {1};
	n = trajectory(obs, today, one, 1);
	haven_monitor_mood_eval(&c, obs, n, today, &e);
	ASSERT(!e.fired);

	/* Three low check-ins on one bad day are one day, not a trend. */
	size_t m = trajectory(obs, today, noise, 0);
	for (int k = 0; k < 3; k++)
		obs[m++] = (struct haven_obs){today, 1};
	haven_monitor_mood_eval(&c, obs, m, today, &e);
	ASSERT_EQ(e.n_recent, 3);
	ASSERT_EQ(e.recent_days_with_checkins, 1);
	ASSERT(!e.fired);

	/* Someone whose mood is always low has not fallen. */
	for (size_t i = 0; i < n; i++)
		obs[i].value = 3;
	haven_monitor_mood_eval(&c, obs, n, today, &e);
	ASSERT(!e.fired);

	/* Too little baseline: no judgement. */
	const double fall2[] = {2, 2, 2};
	n = trajectory(obs, today, fall2, 3);
	haven_monitor_mood_eval(&c, obs + 16, n - 16, today, &e);
	ASSERT_EQ(e.n_baseline, 5);
	ASSERT(!e.fired);

	/* A stricter clinic (min_drop 3) does not fire on the first fall. */
	c.mood.min_drop = 3;
	n = trajectory(obs, today, fall, 3);
	haven_monitor_mood_eval(&c, obs, n, today, &e);
	ASSERT(!e.fired);
}

TEST(monitor_mood_cusum_fires_on_a_sustained_shortfall)
{
	struct haven_monitor_config c;
	haven_monitor_config_default(&c);
	c.mood.method = HAVEN_MOOD_METHOD_CUSUM;
	struct haven_obs obs[64];
	struct haven_mood_eval e;
	int64_t today = 20000;

	/* baseline sd ~0.51: each check-in 2 points below adds ~3.4 sds */
	const double fall[] = {5, 4, 4};
	size_t n = trajectory(obs, today, fall, 3);
	haven_monitor_mood_eval(&c, obs, n, today, &e);
	ASSERT(e.fired);
	ASSERT(e.cusum >= 4);
	ASSERT_NEAR(e.recent_mean, 4.333, 0.01);

	const double dip[] = {6, 7, 6};
	n = trajectory(obs, today, dip, 3);
	haven_monitor_mood_eval(&c, obs, n, today, &e);
	ASSERT(!e.fired);
	ASSERT(e.cusum < 4);
}

TEST(monitor_baseline_eval_counts_days_and_gaps)
{
	struct haven_obs days[40];
	size_t n = 0;
	int64_t today = 20000;
	for (int d = 34; d >= 7; d--)
		days[n++] = (struct haven_obs){today - d, 8.0};
	days[n++] = (struct haven_obs){today - 5, 6.0};
	days[n++] = (struct haven_obs){today - 2, 5.0};
	days[n++] = (struct haven_obs){today, 5.5};
	struct haven_baseline_eval e;
	haven_monitor_baseline_eval(days, n, today, 28, 7, 7, 3, &e);
	ASSERT(e.enough);
	ASSERT_EQ(e.baseline_days, 28);
	ASSERT_EQ(e.recent_days, 3);
	ASSERT_EQ(e.recent_missing, 4);
	ASSERT_NEAR(e.baseline_mean, 8.0, 1e-9);
	ASSERT_NEAR(e.recent_mean, 5.5, 1e-9);
	haven_monitor_baseline_eval(days, n, today, 28, 7, 7, 4, &e);
	ASSERT(!e.enough);
}

/* ---- Configuration ---- */

TEST(monitor_config_validates_and_round_trips)
{
	struct haven_monitor_config c, d;
	char err[300];
	haven_monitor_config_default(&c);
	json_t *j = haven_monitor_config_json(&c);
	ASSERT(j);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(j, "disengagement"), "days")),
	          5);
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(json_object_get(j, "mood_decline"), "method")), "ewma");
	/* The JSON of a configuration applied over the defaults gives it back. */
	c.mood.method = HAVEN_MOOD_METHOD_CUSUM;
	c.sleep.drop_hours = 2.25;
	c.risk.model.weight[HAVEN_RISK_MOOD_DROP] = 0.9;
	json_decref(j);
	j = haven_monitor_config_json(&c);
	haven_monitor_config_default(&d);
	ASSERT_OK(haven_monitor_config_apply(&d, j, err, sizeof(err)));
	ASSERT_EQ(d.mood.method, HAVEN_MOOD_METHOD_CUSUM);
	ASSERT_NEAR(d.sleep.drop_hours, 2.25, 1e-12);
	ASSERT_NEAR(d.risk.model.weight[HAVEN_RISK_MOOD_DROP], 0.9, 1e-12);
	json_decref(j);

	static const struct {
		const char *json, *needle;
	} bad[] = {
	    {"{\"moodd\": {}}", "unknown field 'moodd'"},
	    {"{\"mood_decline\": {\"alpha\": 0.2}}", "mood_decline.alpha"},
	    {"{\"mood_decline\": {\"ewma_alpha\": 0}}", "'mood_decline.ewma_alpha' must be a number"},
	    {"{\"mood_decline\": {\"method\": \"spc\"}}", "\"ewma\" or \"cusum\""},
	    {"{\"disengagement\": {\"days\": 2.5}}", "'disengagement.days' must be an integer"},
	    {"{\"disengagement\": {\"enabled\": 1}}", "true or false"},
	    {"{\"sleep_low\": {\"min_recent_days\": 9}}", "more days with data"},
	    {"{\"deterioration_risk\": {\"threshold\": 1.5}}", "threshold"},
	    {"{\"deterioration_risk\": {\"model\": {\"features\": {\"age\": {}}}}}",
	     "unknown feature"},
	    {"{\"deterioration_risk\": {\"model\": {\"intercept\": \"x\"}}}", "finite number"},
	    {"{\"sweep_minutes\": 0}", "sweep_minutes"},
	    {"[]", "JSON object"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_error_t jerr;
		json_t *o = json_loads(bad[i].json, 0, &jerr);
		ASSERT(o);
		haven_monitor_config_default(&d);
		err[0] = 0;
		ASSERT_EQ(haven_monitor_config_apply(&d, o, err, sizeof(err)), HAVEN_EINVAL);
		ASSERT_CONTAINS(err, bad[i].needle);
		/* nothing changed */
		ASSERT_EQ(d.disengagement.days, 5);
		ASSERT_NEAR(d.risk.threshold, 0.5, 1e-12);
		json_decref(o);
	}
}

/* ---- Sensing parsing ---- */

static int parse(const char *json, struct haven_sensing_obs **obs, size_t *n, const char **code,
                 char *err)
{
	json_error_t jerr;
	json_t *o = json_loads(json, 0, &jerr);
	ASSERT(o);
	int rc = haven_sensing_parse(o, NOW_MS, 60, obs, n, code, err, 300);
	json_decref(o);
	return rc;
}

TEST(monitor_sensing_parse_plain_json)
{
	struct haven_sensing_obs *obs;
	size_t n;
	const char *code;
	char err[300];
	ASSERT_OK(parse("{\"observations\": [{\"type\": \"steps\", \"value\": 8000, \"date\": "
	                "\"2026-11-20\"}, {\"type\": \"sleep_minutes\", \"value\": 420, \"time\": "
	                "\"2026-11-22T23:30:00Z\", \"unit\": \"min\"}]}",
	                &obs, &n, &code, err));
	ASSERT_EQ(n, 2);
	ASSERT_EQ(obs[0].kind, HAVEN_SENSING_STEPS);
	ASSERT_NEAR(obs[0].value, 8000, 1e-9);
	char date[11];
	haven_local_date(obs[0].day, date);
	ASSERT_STR_EQ(date, "2026-11-20");
	/* 23:30 UTC is 00:30 on the 23rd at UTC+1 */
	haven_local_date(obs[1].day, date);
	ASSERT_STR_EQ(date, "2026-11-23");
	free(obs);

	static const struct {
		const char *json, *code, *needle;
	} bad[] = {
	    {"{\"observations\": [{\"type\": \"mood\", \"value\": 1, \"date\": \"2026-11-20\"}]}",
	     "unknown_type", "unknown type 'mood'"},
	    {"{\"observations\": [{\"type\": \"steps\", \"value\": 1, \"unit\": \"km\", \"date\": "
	     "\"2026-11-20\"}]}",
	     "invalid_unit", "observations[0]: the unit of steps is 'steps'"},
	    {"{\"observations\": [{\"type\": \"sleep_minutes\", \"value\": 2000, \"date\": "
	     "\"2026-11-20\"}]}",
	     "out_of_range", "between 0 and 1440"},
	    {"{\"observations\": [{\"type\": \"resting_heart_rate\", \"value\": 5, \"date\": "
	     "\"2026-11-20\"}]}",
	     "out_of_range", "between 20 and 250"},
	    {"{\"observations\": [{\"type\": \"steps\", \"value\": 10, \"date\": \"2026-11-26\"}]}",
	     "future_time", "in the future"},
	    {"{\"observations\": [{\"type\": \"steps\", \"value\": 10, \"time\": "
	     "\"2026-11-25T13:00:00Z\"}]}",
	     "future_time", "in the future"},
	    {"{\"observations\": [{\"type\": \"steps\", \"value\": 10, \"date\": \"2026-02-30\"}]}",
	     "invalid_body", "must be a date"},
	    {"{\"observations\": [{\"type\": \"steps\", \"value\": 10, \"time\": "
	     "\"2026-11-20T10:00:00\"}]}",
	     "invalid_body", "with a zone"},
	    {"{\"observations\": [{\"type\": \"steps\", \"value\": \"10\", \"date\": "
	     "\"2026-11-20\"}]}",
	     "invalid_body", "'value' must be a number"},
	    {"{\"observations\": [{\"type\": \"steps\", \"value\": 10}]}", "invalid_body",
	     "exactly one of 'date'"},
	    {"{\"observations\": []}", "invalid_body", "non-empty array"},
	    {"{\"observations\": [{\"type\": \"steps\", \"value\": 10, \"date\": \"2026-11-20\", "
	     "\"x\": 1}]}",
	     "invalid_body", "unknown field 'x'"},
	    {"{\"data\": 1}", "invalid_body", "'observations'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		obs = NULL;
		err[0] = 0;
		ASSERT_EQ(parse(bad[i].json, &obs, &n, &code, err), HAVEN_EINVAL);
		ASSERT(obs == NULL);
		ASSERT_STR_EQ(code, bad[i].code);
		ASSERT_CONTAINS(err, bad[i].needle);
	}
}

#define FHIR_OBS(code_sys, code, value, unit, when)                                                \
	"{\"resourceType\": \"Observation\", \"status\": \"final\", \"code\": {\"coding\": "     \
	"[{\"system\": \"" code_sys "\", \"code\": \"" code "\"}]}, \"valueQuantity\": "         \
	"{\"value\": " value ", \"system\": \"http://unitsofmeasure.org\", \"code\": \"" unit    \
	"\"}, \"effectiveDateTime\": \"" when "\"}"

TEST(monitor_sensing_parse_fhir_observations)
{
	struct haven_sensing_obs *obs;
	size_t n;
	const char *code;
	char err[300];
	/* One Observation: sleep duration in hours becomes minutes. */
	ASSERT_OK(parse(FHIR_OBS("http://loinc.org", "93832-4", "7.5", "h", "2026-11-22"), &obs, &n,
	                &code, err));
	ASSERT_EQ(n, 1);
	ASSERT_EQ(obs[0].kind, HAVEN_SENSING_SLEEP_MINUTES);
	ASSERT_NEAR(obs[0].value, 450, 1e-9);
	free(obs);

	/* A Bundle of the four kinds. */
	ASSERT_OK(parse(
	    "{\"resourceType\": \"Bundle\", \"type\": \"collection\", \"entry\": ["
	    "{\"resource\": " FHIR_OBS("http://loinc.org", "55423-8", "9000", "{steps}",
	                               "2026-11-22T20:00:00+01:00") "},"
	    "{\"resource\": " FHIR_OBS("http://loinc.org", "40443-4", "61", "/min",
	                               "2026-11-22T07:00:00Z") "},"
	    "{\"resource\": " FHIR_OBS("urn:haven:fhir:sensing", "screen-time", "3", "h",
	                               "2026-11-21") "},"
	    "{\"resource\": " FHIR_OBS("http://loinc.org", "93832-4", "400", "min",
	                               "2026-11-21") "}]}",
	    &obs, &n, &code, err));
	ASSERT_EQ(n, 4);
	ASSERT_EQ(obs[0].kind, HAVEN_SENSING_STEPS);
	ASSERT_EQ(obs[1].kind, HAVEN_SENSING_RESTING_HEART_RATE);
	ASSERT_EQ(obs[2].kind, HAVEN_SENSING_SCREEN_TIME_MINUTES);
	ASSERT_NEAR(obs[2].value, 180, 1e-9);
	ASSERT_EQ(obs[3].kind, HAVEN_SENSING_SLEEP_MINUTES);
	free(obs);

	static const struct {
		const char *json, *code, *needle;
	} bad[] = {
	    {FHIR_OBS("http://loinc.org", "8867-4", "60", "/min", "2026-11-22"), "unknown_type",
	     "no known code"},
	    {FHIR_OBS("http://snomed.info/sct", "55423-8", "60", "{steps}", "2026-11-22"),
	     "unknown_type", "no known code"},
	    {FHIR_OBS("http://loinc.org", "40443-4", "60", "min", "2026-11-22"), "invalid_unit",
	     "unit 'min' is not one for resting_heart_rate"},
	    {FHIR_OBS("http://loinc.org", "93832-4", "30", "h", "2026-11-22"), "out_of_range",
	     "between 0 and 1440"},
	    {FHIR_OBS("http://loinc.org", "55423-8", "100", "{steps}", "2027-01-01"),
	     "future_time", "in the future"},
	    {"{\"resourceType\": \"Observation\", \"code\": {\"coding\": [{\"system\": "
	     "\"http://loinc.org\", \"code\": \"55423-8\"}]}}",
	     "invalid_body", "'status' is required"},
	    {"{\"resourceType\": \"Observation\", \"status\": \"entered-in-error\"}", "invalid_body",
	     "not a measurement"},
	    {"{\"resourceType\": \"Observation\", \"status\": \"final\", \"code\": {\"coding\": "
	     "[{\"system\": \"http://loinc.org\", \"code\": \"55423-8\"}]}, \"valueQuantity\": "
	     "{\"value\": 3}, \"effectiveDateTime\": \"2026-11-20\"}",
	     "invalid_unit", "UCUM"},
	    {"{\"resourceType\": \"Observation\", \"status\": \"final\", \"code\": {\"coding\": "
	     "[{\"system\": \"http://loinc.org\", \"code\": \"55423-8\"}]}, \"valueQuantity\": "
	     "{\"value\": 3, \"system\": \"http://unitsofmeasure.org\", \"code\": \"1\"}}",
	     "invalid_body", "effectiveDateTime"},
	    {"{\"resourceType\": \"Patient\"}", "invalid_body", "must be 'Observation'"},
	    {"{\"resourceType\": \"Bundle\", \"entry\": [{\"resource\": {\"resourceType\": "
	     "\"Patient\"}}]}",
	     "invalid_body", "entry[0].resource: resourceType must be 'Observation'"},
	    {"{\"resourceType\": \"Bundle\", \"entry\": []}", "invalid_body", "no 'entry'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		obs = NULL;
		err[0] = 0;
		ASSERT_EQ(parse(bad[i].json, &obs, &n, &code, err), HAVEN_EINVAL);
		ASSERT(obs == NULL);
		ASSERT_STR_EQ(code, bad[i].code);
		ASSERT_CONTAINS(err, bad[i].needle);
	}
}

TEST(monitor_sensing_parse_limits_the_batch)
{
	size_t cap = 64 + 80 * (HAVEN_SENSING_BATCH_MAX + 1);
	char *json = malloc(cap);
	ASSERT(json);
	size_t off = (size_t)snprintf(json, cap, "{\"observations\": [");
	for (int i = 0; i <= HAVEN_SENSING_BATCH_MAX; i++)
		off += (size_t)snprintf(json + off, cap - off,
		                        "%s{\"type\": \"steps\", \"value\": %d, \"date\": \"2026-01-01\"}",
		                        i ? "," : "", i);
	snprintf(json + off, cap - off, "]}");
	struct haven_sensing_obs *obs = NULL;
	size_t n;
	const char *code;
	char err[300];
	ASSERT_EQ(parse(json, &obs, &n, &code, err), HAVEN_ELIMIT);
	ASSERT_STR_EQ(code, "too_many");
	ASSERT(obs == NULL);
	free(json);
}

TEST(monitor_sensing_days_json_flags_missing_days)
{
	struct haven_sensing_day days[3] = {{0}};
	for (int i = 0; i < 3; i++)
		days[i].day = 20000 + i;
	days[0].value[HAVEN_SENSING_STEPS] = 5000;
	days[0].count[HAVEN_SENSING_STEPS] = 1;
	days[2].value[HAVEN_SENSING_SLEEP_MINUTES] = 400;
	days[2].count[HAVEN_SENSING_SLEEP_MINUTES] = 2;
	json_t *j = haven_sensing_days_json(days, 3);
	ASSERT(j);
	json_t *arr = json_object_get(j, "days");
	ASSERT_EQ(json_array_size(arr), 3);
	ASSERT_NEAR(json_number_value(json_object_get(json_array_get(arr, 0), "steps")), 5000, 1e-9);
	ASSERT(json_is_null(json_object_get(json_array_get(arr, 0), "sleep_minutes")));
	ASSERT_EQ(json_array_size(json_object_get(json_array_get(arr, 0), "missing")), 3);
	ASSERT(json_is_true(json_object_get(json_array_get(arr, 1), "no_data")));
	ASSERT_EQ(json_array_size(json_object_get(j, "days_without_data")), 1);
	json_t *steps = json_object_get(json_object_get(j, "summary"), "steps");
	ASSERT_EQ(json_integer_value(json_object_get(steps, "days_with_data")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(steps, "days_missing")), 2);
	json_decref(j);
}

/* ---- Risk ---- */

TEST(monitor_risk_contributions_sum_to_the_logit)
{
	struct haven_risk_model m;
	haven_risk_model_default(&m);
	struct haven_risk_features f = {0};
	f.x[HAVEN_RISK_PHQ9_LAST] = 18;
	f.present[HAVEN_RISK_PHQ9_LAST] = 1;
	f.x[HAVEN_RISK_PHQ9_SLOPE] = 1.5;
	f.present[HAVEN_RISK_PHQ9_SLOPE] = 1;
	f.x[HAVEN_RISK_MOOD_DROP] = 2.0;
	f.present[HAVEN_RISK_MOOD_DROP] = 1;
	f.x[HAVEN_RISK_CHECKIN_ADHERENCE] = 0.3;
	f.present[HAVEN_RISK_CHECKIN_ADHERENCE] = 1;
	f.x[HAVEN_RISK_SLEEP_CHANGE] = 99; /* ignored: not present */
	struct haven_risk_score s;
	haven_risk_score(&m, &f, &s);
	double sum = m.intercept;
	for (int i = 0; i < HAVEN_RISK_NFEATURES; i++)
		sum += s.contribution[i];
	ASSERT_NEAR(sum, s.logit, 1e-12);
	ASSERT_NEAR(s.contribution[HAVEN_RISK_SLEEP_CHANGE], 0, 1e-12);
	ASSERT_NEAR(s.contribution[HAVEN_RISK_PHQ9_LAST], m.weight[HAVEN_RISK_PHQ9_LAST] * 8, 1e-12);
	ASSERT_NEAR(s.contribution[HAVEN_RISK_CHECKIN_ADHERENCE],
	            m.weight[HAVEN_RISK_CHECKIN_ADHERENCE] * (0.3 - 0.7), 1e-12);
	ASSERT_NEAR(s.probability, 1 / (1 + exp(-s.logit)), 1e-12);

	json_t *j = haven_risk_score_json(&m, &f, &s, 0.5);
	ASSERT(j);
	double jsum = json_number_value(json_object_get(j, "intercept"));
	json_t *arr = json_object_get(j, "features");
	ASSERT_EQ(json_array_size(arr), HAVEN_RISK_NFEATURES);
	for (size_t i = 0; i < json_array_size(arr); i++)
		jsum += json_number_value(json_object_get(json_array_get(arr, i), "contribution"));
	ASSERT_NEAR(jsum, json_number_value(json_object_get(j, "logit")), 1e-9);
	/* largest first: mood_drop (0.6 x 2) */
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(arr, 0), "name")),
	              "mood_drop");
	ASSERT(json_is_null(json_object_get(json_array_get(arr, 4), "value")));
	json_decref(j);
}

TEST(monitor_risk_features_from_a_trajectory)
{
	/* PHQ-9 rising 2 points a week over 6 weeks; check-ins every other day for 5 weeks
	 * at mood 7 and 8 hours, then 3 recent check-ins at mood 3 and 5 hours. */
	struct haven_risk_phq9 ph[7];
	for (int w = 0; w < 7; w++)
		ph[w] = (struct haven_risk_phq9){NOW_MS - (6 - w) * 7 * DAY_MS, 6 + 2 * w};
	struct haven_risk_checkin ck[40];
	size_t n = 0;
	for (int d = 34; d >= 8; d -= 2)
		ck[n++] = (struct haven_risk_checkin){NOW_MS - d * DAY_MS, 7, 8};
	for (int d = 5; d >= 1; d -= 2)
		ck[n++] = (struct haven_risk_checkin){NOW_MS - d * DAY_MS, 3, 5};
	/* a check-in after now is ignored */
	ck[n++] = (struct haven_risk_checkin){NOW_MS + DAY_MS, 0, 0};
	struct haven_risk_features f;
	haven_risk_features_compute(ph, 7, ck, n, NOW_MS, 0.3, &f);
	for (int i = 0; i < HAVEN_RISK_NFEATURES; i++)
		ASSERT(f.present[i]);
	ASSERT_NEAR(f.x[HAVEN_RISK_PHQ9_LAST], 18, 1e-9);
	ASSERT_NEAR(f.x[HAVEN_RISK_PHQ9_SLOPE], 2.0, 1e-9);
	/* EWMA from 7 over 3, 3, 3: 7 - 4 * (1 - 0.7^3) = 4.372 -> drop 2.628 */
	ASSERT_NEAR(f.x[HAVEN_RISK_MOOD_DROP], 4 * (1 - 0.343), 1e-9);
	ASSERT_NEAR(f.x[HAVEN_RISK_SLEEP_CHANGE], -3, 1e-9);
	/* days 1, 3, 5, 8, 10, 12 of the last 14 */
	ASSERT_NEAR(f.x[HAVEN_RISK_CHECKIN_ADHERENCE], 6 / 14.0, 1e-9);

	/* No data: every feature missing, the score is the intercept. */
	haven_risk_features_compute(NULL, 0, NULL, 0, NOW_MS, 0.3, &f);
	for (int i = 0; i < HAVEN_RISK_NFEATURES; i++)
		ASSERT(!f.present[i]);
}

/* A deterministic generator (splitmix64) for the cohort. */
static uint64_t rng_state;
static double uniform(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return ((z >> 11) + 0.5) / 9007199254740992.0;
}
static double normal(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

TEST(monitor_risk_train_on_a_generated_cohort)
{
	/* Labels drawn from a known logistic model over the five features. */
	size_t n = 4000;
	struct haven_risk_example *ex = calloc(n, sizeof(*ex));
	ASSERT(ex);
	rng_state = 42;
	for (size_t i = 0; i < n; i++) {
		struct haven_risk_features *f = &ex[i].f;
		f->x[0] = 4 + 20 * uniform();
		f->x[1] = normal();
		f->x[2] = normal();
		f->x[3] = uniform();
		f->x[4] = normal();
		for (int j = 0; j < HAVEN_RISK_NFEATURES; j++)
			f->present[j] = uniform() > 0.1;
		double logit = -1.0 + 0.15 * (f->x[0] - 12) * f->present[0] +
		               0.8 * f->x[1] * f->present[1] + 1.0 * f->x[2] * f->present[2] -
		               2.0 * (f->x[3] - 0.5) * f->present[3];
		ex[i].label = uniform() < 1 / (1 + exp(-logit));
	}
	/* Through the JSON Lines format, as `haven train` reads it. */
	const char *path = haven_test_tmpfile("cohort.jsonl");
	FILE *fp = fopen(path, "w");
	ASSERT(fp);
	for (size_t i = 0; i < n; i++)
		ASSERT_OK(haven_risk_example_write(fp, &ex[i]));
	fclose(fp);
	struct haven_risk_example *back = NULL;
	size_t nb = 0;
	char err[300];
	ASSERT_OK(haven_risk_examples_read(path, &back, &nb, err, sizeof(err)));
	ASSERT_EQ(nb, n);
	ASSERT_EQ(back[7].label, ex[7].label);
	ASSERT_EQ(back[7].f.present[2], ex[7].f.present[2]);

	struct haven_risk_model m;
	ASSERT_OK(haven_risk_train(back, nb / 2, 1.0, &m));
	/* the signs and rough sizes of the generating weights come back */
	ASSERT_NEAR(m.weight[HAVEN_RISK_PHQ9_LAST], 0.15, 0.05);
	ASSERT_NEAR(m.weight[HAVEN_RISK_PHQ9_SLOPE], 0.8, 0.25);
	ASSERT_NEAR(m.weight[HAVEN_RISK_MOOD_DROP], 1.0, 0.25);
	ASSERT_NEAR(m.weight[HAVEN_RISK_CHECKIN_ADHERENCE], -2.0, 0.6);
	ASSERT_NEAR(m.weight[HAVEN_RISK_SLEEP_CHANGE], 0.0, 0.2);
	ASSERT_CONTAINS(m.source, "2000 examples");
	struct haven_risk_eval e;
	haven_risk_evaluate(&m, back + nb / 2, nb - nb / 2, &e);
	ASSERT(e.auroc > 0.8);
	ASSERT(e.ece < 0.05);
	ASSERT(e.brier < 0.2);

	/* one class only, or too few: refused */
	for (size_t i = 0; i < 100; i++)
		back[i].label = 0;
	ASSERT_EQ(haven_risk_train(back, 100, 1.0, &m), HAVEN_EINVAL);
	ASSERT_EQ(haven_risk_train(ex, 10, 1.0, &m), HAVEN_EINVAL);

	/* a bad line is named */
	fp = fopen(path, "w");
	fprintf(fp, "{\"features\": {\"phq9_last\": 3}, \"deteriorated\": false}\n"
	            "{\"features\": {\"phq9_last\": \"x\"}, \"deteriorated\": false}\n");
	fclose(fp);
	free(back);
	back = NULL;
	ASSERT_EQ(haven_risk_examples_read(path, &back, &nb, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "line 2");
	ASSERT(back == NULL);
	free(ex);
}

TEST(monitor_risk_auroc_known_values)
{
	double s[] = {0.1, 0.4, 0.35, 0.8};
	int y[] = {0, 0, 1, 1};
	ASSERT_NEAR(haven_risk_auroc(s, y, 4), 0.75, 1e-12);
	double t[] = {0.5, 0.5, 0.5, 0.5};
	ASSERT_NEAR(haven_risk_auroc(t, y, 4), 0.5, 1e-12);
	int one[] = {1, 1, 1, 1};
	ASSERT(isnan(haven_risk_auroc(s, one, 4)));
}

/* ---- Store-backed rules ---- */

struct fixture {
	struct haven_store *s;
	struct haven_master_key *mk;
	int64_t patient;
};

static int make_patient_tx(struct haven_tx *tx, void *arg)
{
	struct fixture *f = arg;
	struct haven_param p[] = {HAVEN_P_INT(NOW_MS - 60 * DAY_MS)};
	return haven_tx_query_int(tx,
	                          "INSERT INTO users (email, role, password_hash, created_at) "
	                          "VALUES ('m@example.org', 'patient', 'x', ?) RETURNING id",
	                          p, 1, &f->patient);
}

static void fixture_open(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	ASSERT_OK(haven_crypto_init());
	ASSERT_OK(haven_store_open(haven_test_db_url(), NULL, &f->s));
	ASSERT_OK(haven_store_migrate(f->s, NULL));
	ASSERT_OK(haven_master_key_generate(&f->mk));
	ASSERT_OK(haven_store_write(f->s, make_patient_tx, f));
}

static void fixture_close(struct fixture *f)
{
	haven_master_key_destroy(&f->mk);
	haven_store_destroy(&f->s);
}

struct checkin_op {
	struct fixture *f;
	int64_t at;
	int mood;
	double sleep;
};

static int checkin_tx(struct haven_tx *tx, void *arg)
{
	struct checkin_op *c = arg;
	char rid[33], pt[64];
	haven_random_id(rid);
	snprintf(pt, sizeof(pt), "{\"mood\":%d,\"sleep_hours\":%.1f}", c->mood, c->sleep);
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	int rc = haven_keyring_seal(tx, c->f->mk, c->f->patient, "checkins", rid, "payload", pt,
	                            strlen(pt), &ct, &ct_len);
	if (rc)
		return rc;
	struct haven_param p[] = {HAVEN_P_TEXT(rid), HAVEN_P_INT(c->f->patient), HAVEN_P_INT(c->at),
	                          HAVEN_P_BLOB(ct, ct_len)};
	rc = haven_tx_exec(tx,
	                   "INSERT INTO checkins (rid, patient_id, created_at, payload) VALUES (?, ?, "
	                   "?, ?)",
	                   p, 4, NULL);
	free(ct);
	return rc;
}

static void checkin(struct fixture *f, int64_t at, int mood, double sleep)
{
	struct checkin_op c = {f, at, mood, sleep};
	ASSERT_OK(haven_store_write(f->s, checkin_tx, &c));
}

struct rule_op {
	struct fixture *f;
	int64_t now;
	int sensing;
	json_t *alerts;
};

static int rule_tx(struct haven_tx *tx, void *arg)
{
	struct rule_op *op = arg;
	return op->sensing
	           ? haven_monitor_after_sensing(tx, op->f->mk, op->f->patient, op->now, op->alerts)
	           : haven_monitor_after_checkin(tx, op->f->mk, op->f->patient, op->now, op->alerts);
}

/* Runs the rules at now; returns the alerts they reported (caller decrefs). */
static json_t *run_rules(struct fixture *f, int64_t now, int sensing)
{
	struct rule_op op = {f, now, sensing, json_array()};
	ASSERT_OK(haven_store_write(f->s, rule_tx, &op));
	return op.alerts;
}

struct count_op {
	const char *sql;
	int64_t n;
};

static int count_tx(struct haven_tx *tx, void *arg)
{
	struct count_op *c = arg;
	return haven_tx_query_int(tx, c->sql, NULL, 0, &c->n);
}

static int64_t count(struct fixture *f, const char *sql)
{
	struct count_op c = {sql, -1};
	ASSERT_OK(haven_store_read(f->s, count_tx, &c));
	return c.n;
}

static json_t *find_kind(json_t *alerts, const char *kind)
{
	for (size_t i = 0; i < json_array_size(alerts); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(alerts, i), "kind")), kind))
			return json_array_get(alerts, i);
	return NULL;
}

TEST(monitor_checkin_rules_mood_and_sleep_raise_once)
{
	struct fixture f;
	fixture_open(&f);
	/* Four weeks of steady check-ins: mood 7/6, 8 hours. */
	for (int d = 30; d >= 7; d--)
		checkin(&f, NOW_MS - d * DAY_MS, d % 2 ? 7 : 6, 8);
	json_t *a = run_rules(&f, NOW_MS - 7 * DAY_MS, 0);
	ASSERT_EQ(json_array_size(a), 0); /* steady: nothing */
	json_decref(a);

	/* Then mood falls and sleep shortens over the last days. */
	checkin(&f, NOW_MS - 4 * DAY_MS, 4, 6);
	a = run_rules(&f, NOW_MS - 4 * DAY_MS, 0);
	ASSERT_EQ(json_array_size(a), 0); /* one low day: not yet */
	json_decref(a);
	checkin(&f, NOW_MS - 2 * DAY_MS, 3, 5.5);
	checkin(&f, NOW_MS - 1 * DAY_MS, 3, 5.5);
	a = run_rules(&f, NOW_MS - DAY_MS + 1000, 0);
	json_t *mood = find_kind(a, "mood_decline");
	ASSERT(mood);
	ASSERT(json_is_true(json_object_get(mood, "new")));
	ASSERT_STR_EQ(json_string_value(json_object_get(mood, "severity")), "warning");
	json_t *reason = json_array_get(json_object_get(mood, "reasons"), 0);
	ASSERT_CONTAINS(json_string_value(json_object_get(reason, "text")), "EWMA");
	json_t *values = json_object_get(reason, "values");
	ASSERT_STR_EQ(json_string_value(json_object_get(values, "method")), "ewma");
	ASSERT_NEAR(json_number_value(json_object_get(values, "baseline_mean")), 6.5, 0.05);
	ASSERT(json_number_value(json_object_get(values, "drop")) >= 1.5);
	ASSERT_EQ(json_integer_value(json_object_get(values, "recent_checkins")), 4);
	json_t *sleep = find_kind(a, "sleep_low");
	ASSERT(sleep);
	values = json_object_get(json_array_get(json_object_get(sleep, "reasons"), 0), "values");
	ASSERT_NEAR(json_number_value(json_object_get(values, "baseline_mean_hours")), 8.0, 1e-9);
	ASSERT_NEAR(json_number_value(json_object_get(values, "recent_mean_hours")), 6.25, 0.06);
	json_decref(a);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'mood_decline'"), 1);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'sleep_low'"), 1);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.raise'"), 2);

	/* The next low check-in the same week finds the open alerts: no second one. */
	checkin(&f, NOW_MS - 1000, 2, 5);
	a = run_rules(&f, NOW_MS, 0);
	mood = find_kind(a, "mood_decline");
	ASSERT(mood);
	ASSERT(json_is_false(json_object_get(mood, "new")));
	json_decref(a);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'mood_decline'"), 1);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'sleep_low'"), 1);
	fixture_close(&f);
}

struct failing_op {
	struct fixture *f;
	int64_t now;
};

/* A write that runs the rules and then fails: everything rolls back together. */
static int failing_tx(struct haven_tx *tx, void *arg)
{
	struct failing_op *op = arg;
	json_t *alerts = json_array();
	int rc = haven_monitor_after_checkin(tx, op->f->mk, op->f->patient, op->now, alerts);
	size_t n = json_array_size(alerts);
	json_decref(alerts);
	if (rc)
		return rc;
	return n == 1 ? HAVEN_EIO : HAVEN_EINVAL;
}

TEST(monitor_alerts_roll_back_with_their_write)
{
	struct fixture f;
	fixture_open(&f);
	for (int d = 30; d >= 8; d--)
		checkin(&f, NOW_MS - d * DAY_MS, d % 2 ? 7 : 6, 8);
	checkin(&f, NOW_MS - 2 * DAY_MS, 2, 8);
	checkin(&f, NOW_MS - 1 * DAY_MS, 2, 8);
	struct failing_op op = {&f, NOW_MS};
	/* the rules raised one alert (mood), then the write failed */
	ASSERT_EQ(haven_store_write(f.s, failing_tx, &op), HAVEN_EIO);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts"), 0);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alert_outbox"), 0);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.raise'"), 0);
	/* the same rules in a write that commits */
	json_t *a = run_rules(&f, NOW_MS, 0);
	ASSERT_EQ(json_array_size(a), 1);
	json_decref(a);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts"), 1);
	fixture_close(&f);
}

struct sense_op {
	struct fixture *f;
	struct haven_sensing_obs obs[80];
	size_t n;
};

static int sense_tx(struct haven_tx *tx, void *arg)
{
	struct sense_op *op = arg;
	size_t replaced;
	return haven_sensing_store(tx, op->f->mk, op->f->patient, op->obs, op->n, NOW_MS,
	                           &replaced);
}

struct consent_op {
	struct fixture *f;
	int *granted;
};

static int consent_tx(struct haven_tx *tx, void *arg)
{
	struct consent_op *op = arg;
	struct haven_param p[] = {HAVEN_P_INT(op->f->patient), HAVEN_P_INT(*op->granted),
	                          HAVEN_P_INT(NOW_MS)};
	return haven_tx_exec(tx,
	                     "INSERT INTO consents (patient_id, scope, granted, document_version, "
	                     "at) VALUES (?, 'sensing', ?, 1, ?)",
	                     p, 3, NULL);
}

TEST(monitor_sensing_rules_activity_and_sleep)
{
	struct fixture f;
	fixture_open(&f);
	int64_t today = haven_local_day(NOW_MS, 0);
	struct sense_op op = {.f = &f};
	/* 28 baseline days of ~8000 steps and 7.5 hours sensed sleep */
	for (int d = 34; d >= 7; d--) {
		int64_t day = today - d;
		op.obs[op.n++] = (struct haven_sensing_obs){HAVEN_SENSING_STEPS, 7500 + (d % 3) * 500,
		                                            day * DAY_MS, day};
		op.obs[op.n++] =
		    (struct haven_sensing_obs){HAVEN_SENSING_SLEEP_MINUTES, 450, day * DAY_MS, day};
	}
	ASSERT_OK(haven_store_write(f.s, sense_tx, &op));
	json_t *a = run_rules(&f, NOW_MS, 1);
	ASSERT_EQ(json_array_size(a), 0); /* no recent days yet: nothing to judge */
	json_decref(a);

	/* Recent days: 2000 steps on 4 of 7 days, sleep unchanged. */
	op.n = 0;
	for (int d = 3; d >= 0; d--) {
		int64_t day = today - d;
		op.obs[op.n++] =
		    (struct haven_sensing_obs){HAVEN_SENSING_STEPS, 2000, day * DAY_MS, day};
		op.obs[op.n++] =
		    (struct haven_sensing_obs){HAVEN_SENSING_SLEEP_MINUTES, 440, day * DAY_MS, day};
	}
	ASSERT_OK(haven_store_write(f.s, sense_tx, &op));
	/* Without the sensing consent, sensed data does not count. */
	a = run_rules(&f, NOW_MS, 1);
	ASSERT_EQ(json_array_size(a), 0);
	json_decref(a);
	int granted = 1;
	ASSERT_OK(haven_store_write(f.s, consent_tx, &(struct consent_op){&f, &granted}));
	a = run_rules(&f, NOW_MS, 1);
	ASSERT_EQ(json_array_size(a), 1);
	json_t *act = find_kind(a, "activity_low");
	ASSERT(act);
	json_t *values = json_object_get(json_array_get(json_object_get(act, "reasons"), 0), "values");
	ASSERT_NEAR(json_number_value(json_object_get(values, "recent_mean_steps")), 2000, 1e-9);
	ASSERT_NEAR(json_number_value(json_object_get(values, "baseline_mean_steps")), 8000, 30);
	ASSERT_EQ(json_integer_value(json_object_get(values, "recent_days_missing")), 3);
	json_decref(a);

	/* Resent with sleep 5 hours: the same day and time replace the values. */
	for (size_t i = 0; i < op.n; i++)
		if (op.obs[i].kind == HAVEN_SENSING_SLEEP_MINUTES)
			op.obs[i].value = 300;
	ASSERT_OK(haven_store_write(f.s, sense_tx, &op));
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM sensing_observations"), 28 * 2 + 8);
	a = run_rules(&f, NOW_MS, 1);
	json_t *sl = find_kind(a, "sleep_low");
	ASSERT(sl);
	ASSERT(json_is_true(json_object_get(sl, "new")));
	values = json_object_get(json_array_get(json_object_get(sl, "reasons"), 0), "values");
	ASSERT_EQ(json_integer_value(json_object_get(values, "sensed_days")), 32);
	ASSERT(json_is_false(json_object_get(find_kind(a, "activity_low"), "new")));
	json_decref(a);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts"), 2);
	fixture_close(&f);
}

static int store_config_tx(struct haven_tx *tx, void *arg)
{
	return haven_monitor_config_store(tx, arg, 0, "system", "test");
}

static int resolve_all_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_exec(tx, "UPDATE alerts SET status = 'resolved'", NULL, 0, NULL);
}

TEST(monitor_sweep_disengagement_and_risk)
{
	struct fixture f;
	fixture_open(&f);
	/* Checked in daily until 8 days ago. */
	for (int d = 30; d >= 8; d--)
		checkin(&f, NOW_MS - d * DAY_MS, 6, 7);
	struct haven_monitor_sweep_stats st;
	/* At 5 days since, nothing; at 7 whole days, disengagement (info). */
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS - 3 * DAY_MS, &st));
	ASSERT_EQ(st.patients, 1);
	ASSERT_EQ(st.raised, 0);
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS, &st));
	ASSERT_EQ(st.raised, 1);
	ASSERT_EQ(st.errors, 0);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'disengagement' AND "
	                    "severity = 'info'"),
	          1);
	/* Again: the gap is the same, so the open alert is not raised twice; nor once a
	 * clinician has resolved it. */
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + DAY_MS, &st));
	ASSERT_EQ(st.raised, 0);
	ASSERT_OK(haven_store_write(f.s, resolve_all_tx, NULL));
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 2 * DAY_MS, &st));
	ASSERT_EQ(st.raised, 0);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts"), 1);

	/* A week later no check-in at all in 14 days adds 1.05 to the logit (p 0.2): a
	 * clinic with a threshold of 0.15 gets a deterioration_risk alert from the sweep. */
	struct haven_monitor_config c;
	haven_monitor_config_default(&c);
	c.risk.threshold = 0.15;
	c.disengagement.enabled = 0;
	ASSERT_OK(haven_store_write(f.s, store_config_tx, &c));
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 7 * DAY_MS, &st));
	ASSERT_EQ(st.raised, 1);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'deterioration_risk'"), 1);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM audit_log WHERE action = "
	                    "'monitoring.config.write'"),
	          1);
	/* The default threshold (0.5) is not reached by that alone: the stored
	 * configuration is what the sweep reads. */
	c.risk.threshold = 0.5;
	ASSERT_OK(haven_store_write(f.s, store_config_tx, &c));
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 14 * DAY_MS, &st));
	ASSERT_EQ(st.raised, 0);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts"), 2);
	fixture_close(&f);
}

struct shift_op {
	int64_t patient, created_at;
};

static int set_created_tx(struct haven_tx *tx, void *arg)
{
	struct shift_op *o = arg;
	struct haven_param p[] = {HAVEN_P_INT(o->created_at), HAVEN_P_INT(o->patient)};
	return haven_tx_exec(tx, "UPDATE users SET created_at = ? WHERE id = ?", p, 2, NULL);
}

struct episode_op {
	int64_t patient, at, id;
};

static int open_episode_tx(struct haven_tx *tx, void *arg)
{
	struct episode_op *o = arg;
	return haven_episode_open(tx, o->patient, 0, o->at, &o->id);
}

struct alerts_op {
	struct fixture *f;
	json_t *out;
};

static int alerts_read_tx(struct haven_tx *tx, void *arg)
{
	struct alerts_op *o = arg;
	return haven_alerts_json(tx, o->f->mk, o->f->patient, &o->out);
}

/* The values of the newest disengagement alert's reason. */
static json_t *newest_disengagement(struct fixture *f, char *text, size_t len)
{
	struct alerts_op o = {f, NULL};
	ASSERT_OK(haven_store_read(f->s, alerts_read_tx, &o));
	json_t *a = json_array_get(o.out, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(a, "kind")), "disengagement");
	json_t *reason = json_array_get(json_object_get(a, "reasons"), 0);
	haven_strlcpy(text, json_string_value(json_object_get(reason, "text")), len);
	json_t *v = json_incref(json_object_get(reason, "values"));
	json_decref(o.out);
	return v;
}

/* Someone who joined and never checked in is disengaged too: the clock starts when they
 * joined (account, invitation, or the episode of care still open), and the joining day
 * counts like a check-in day. A synthetic trajectory: joined on a Sunday, silent for a
 * week, a new episode opened, silent again, then a check-in. */
TEST(monitor_disengagement_never_checked_in_counts_from_joining)
{
	struct fixture f;
	fixture_open(&f);
	struct haven_monitor_sweep_stats st;
	char text[600];
	/* Joined 2026-11-22 12:00 UTC (a Sunday); the limit is 5 whole days. */
	struct shift_op sh = {f.patient, NOW_MS - 3 * DAY_MS};
	ASSERT_OK(haven_store_write(f.s, set_created_tx, &sh));
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS, &st)); /* 2 whole days */
	ASSERT_EQ(st.raised, 0);
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 2 * DAY_MS, &st)); /* 4 */
	ASSERT_EQ(st.raised, 0);
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 3 * DAY_MS, &st)); /* 5: the limit */
	ASSERT_EQ(st.raised, 1);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'disengagement' AND "
	                    "severity = 'info' AND status = 'open'"),
	          1);
	json_t *v = newest_disengagement(&f, text, sizeof(text));
	ASSERT_EQ(json_integer_value(json_object_get(v, "days_without_checkin")), 5);
	ASSERT_STR_EQ(json_string_value(json_object_get(v, "joined_date")), "2026-11-22");
	ASSERT_STR_EQ(json_string_value(json_object_get(v, "counted_from")), "account_created");
	ASSERT(json_is_null(json_object_get(v, "last_checkin_date")));
	ASSERT_EQ(json_integer_value(json_object_get(v, "limit_days")), 5);
	ASSERT_CONTAINS(text, "No check-in at all since joining");
	ASSERT_CONTAINS(text, "2026-11-22");
	json_decref(v);
	/* Every later sweep sees the same start: not raised again, open or resolved. */
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 4 * DAY_MS, &st));
	ASSERT_EQ(st.raised, 0);
	ASSERT_OK(haven_store_write(f.s, resolve_all_tx, NULL));
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 5 * DAY_MS, &st));
	ASSERT_EQ(st.raised, 0);

	/* A clinician opens an episode of care on 2026-12-01: the clock starts again. */
	struct episode_op ep = {f.patient, NOW_MS + 6 * DAY_MS, 0};
	ASSERT_OK(haven_store_write(f.s, open_episode_tx, &ep));
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 10 * DAY_MS, &st)); /* 3 days */
	ASSERT_EQ(st.raised, 0);
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 12 * DAY_MS, &st)); /* 5 days */
	ASSERT_EQ(st.raised, 1);
	v = newest_disengagement(&f, text, sizeof(text));
	ASSERT_STR_EQ(json_string_value(json_object_get(v, "counted_from")), "episode_opened");
	ASSERT_STR_EQ(json_string_value(json_object_get(v, "joined_date")), "2026-12-01");
	ASSERT_CONTAINS(text, "episode of care was opened");
	json_decref(v);

	/* A first check-in: from then on the gap is counted from it, and nothing is due. */
	checkin(&f, NOW_MS + 13 * DAY_MS, 6, 7);
	ASSERT_OK(haven_store_write(f.s, resolve_all_tx, NULL));
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 15 * DAY_MS, &st));
	ASSERT_EQ(st.raised, 0);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts"), 2);

	/* The rule off: nobody is told, whatever the gap. */
	struct haven_monitor_config c;
	haven_monitor_config_default(&c);
	c.disengagement.enabled = 0;
	c.risk.enabled = 0;
	ASSERT_OK(haven_store_write(f.s, store_config_tx, &c));
	ASSERT_OK(haven_monitor_sweep(f.s, f.mk, NOW_MS + 60 * DAY_MS, &st));
	ASSERT_EQ(st.raised, 0);
	fixture_close(&f);
}

struct risk_op {
	struct fixture *f;
	json_t *out;
};

static int risk_tx(struct haven_tx *tx, void *arg)
{
	struct risk_op *op = arg;
	return haven_monitor_risk_json(tx, op->f->mk, op->f->patient, NOW_MS, &op->out);
}

TEST(monitor_risk_json_from_the_store)
{
	struct fixture f;
	fixture_open(&f);
	for (int d = 30; d >= 1; d--)
		checkin(&f, NOW_MS - d * DAY_MS, d > 5 ? 7 : 3, 7);
	struct risk_op op = {&f, NULL};
	ASSERT_OK(haven_store_read(f.s, risk_tx, &op));
	ASSERT(op.out);
	double sum = json_number_value(json_object_get(op.out, "intercept"));
	json_t *arr = json_object_get(op.out, "features");
	for (size_t i = 0; i < json_array_size(arr); i++)
		sum += json_number_value(json_object_get(json_array_get(arr, i), "contribution"));
	ASSERT_NEAR(sum, json_number_value(json_object_get(op.out, "logit")), 1e-9);
	/* mood fell from 7 to 3 over the last 5 days: the largest contribution */
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(arr, 0), "name")),
	              "mood_drop");
	ASSERT_CONTAINS(json_string_value(json_object_get(op.out, "model_source")), "expert-set");
	json_decref(op.out);
	fixture_close(&f);
}

TEST(monitor_sweeper_thread_raises_and_stops)
{
	struct fixture f;
	fixture_open(&f);
	int64_t now = haven_now_ms();
	for (int d = 20; d >= 9; d--)
		checkin(&f, now - d * DAY_MS, 6, 7);
	struct haven_monitor_sweeper *sw = NULL;
	ASSERT_OK(haven_monitor_sweeper_start(f.s, f.mk, 100, &sw));
	int64_t n = 0;
	for (int i = 0; i < 200 && n == 0; i++) {
		struct timespec ts = {0, 25 * 1000000L};
		nanosleep(&ts, NULL);
		n = count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'disengagement'");
	}
	haven_monitor_sweeper_stop(&sw);
	ASSERT(sw == NULL);
	ASSERT_EQ(n, 1);
	/* the thread swept more than once by now, but raised the gap once */
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts"), 1);
	fixture_close(&f);
}

static int bad_config_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_exec(tx,
	                     "INSERT INTO monitoring_config (id, config, updated_at) VALUES (1, "
	                     "'{\"mood_decline\": {\"ewma_alpha\": 7}}', 0)",
	                     NULL, 0, NULL);
}

static int load_config_tx(struct haven_tx *tx, void *arg)
{
	return haven_monitor_config_load(tx, arg);
}

TEST(monitor_invalid_stored_config_does_not_stop_checkins)
{
	struct fixture f;
	fixture_open(&f);
	for (int d = 30; d >= 8; d--)
		checkin(&f, NOW_MS - d * DAY_MS, d % 2 ? 7 : 6, 8);
	checkin(&f, NOW_MS - 2 * DAY_MS, 2, 8);
	checkin(&f, NOW_MS - 1 * DAY_MS, 2, 8);
	ASSERT_OK(haven_store_write(f.s, bad_config_tx, NULL));
	struct haven_monitor_config c;
	ASSERT_EQ(haven_store_read(f.s, load_config_tx, &c), HAVEN_ECORRUPT);
	/* the rules run with the defaults */
	json_t *a = run_rules(&f, NOW_MS, 0);
	ASSERT_EQ(json_array_size(a), 1);
	json_decref(a);
	fixture_close(&f);
}
