/*
 * test_api_safety_plan.c: the care team's read of a patient's safety plan
 * (GET /api/v1/patients/{id}/safety-plan). The clinician of the patient's care team sees
 * the plan the patient wrote; a patient with no plan has empty sections; a clinician of
 * another team gets the same 404 as for an id nobody has; withdrawing the care_team
 * consent turns the read into 403 consent_required without the plan; every read and
 * refusal is audited as safety_plan.read.
 */
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "harness.h"

#define PLAN_MARKER "plan-marker-5d1e"

struct count_q {
	const char *sql;
	const char *text;
	int64_t n;
};

static int count_tx(struct haven_tx *tx, void *arg)
{
	struct count_q *q = arg;
	struct haven_param p[] = {HAVEN_P_TEXT(q->text)};
	return haven_tx_query_int(tx, q->sql, p, 1, &q->n);
}

/* Audit records of safety_plan.read with this outcome. */
static int64_t plan_reads(struct test_server *s, const char *outcome)
{
	struct count_q q = {"SELECT COUNT(*) FROM audit_log WHERE action = 'safety_plan.read' AND "
	                    "outcome = ?",
	                    outcome, -1};
	ASSERT_OK(haven_store_read(s->store, count_tx, &q));
	return q.n;
}

TEST(api_clinician_reads_safety_plan)
{
	struct test_server s;
	struct test_resp r;
	char *ctok = NULL, *ptok = NULL;
	int64_t pid = test_start_care_pair(&s, "p@example.org", &ctok, &ptok);
	test_make_user(&s, "clinician", "o@example.org");
	char *otok = test_login(&s, "o@example.org");
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/safety-plan", (long long)pid);

	/* No plan yet: every section is there, empty, and updated_at is null. */
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "patient_id")), pid);
	json_t *plan = json_object_get(r.json, "safety_plan");
	ASSERT(json_is_object(plan));
	ASSERT(json_is_array(json_object_get(plan, "warning_signs")));
	ASSERT_EQ(json_array_size(json_object_get(plan, "coping")), 0);
	ASSERT(json_is_null(json_object_get(plan, "updated_at")));
	test_resp_free(&r);

	test_call(&s, "PUT", "/api/v1/me/safety-plan", ptok,
	          "{\"coping\":[\"a walk by the river " PLAN_MARKER "\"],"
	          "\"people\":[\"my sister\"]}",
	          &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);

	/* The care team sees what the patient wrote. */
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	plan = json_object_get(r.json, "safety_plan");
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(plan, "coping"), 0)),
	              "a walk by the river " PLAN_MARKER);
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(plan, "people"), 0)),
	              "my sister");
	ASSERT(json_is_string(json_object_get(plan, "updated_at")));
	test_resp_free(&r);
	ASSERT_EQ(plan_reads(&s, "ok"), 2);

	/* Another team: the same 404 as an id nobody has, and no plan. */
	struct test_resp foreign, missing;
	test_call(&s, "GET", path, otok, NULL, &foreign);
	test_call(&s, "GET", "/api/v1/patients/987654321/safety-plan", ctok, NULL, &missing);
	ASSERT_EQ(foreign.status, 404);
	ASSERT_EQ(missing.status, 404);
	ASSERT_STR_EQ(test_error_code(&foreign), test_error_code(&missing));
	ASSERT_STR_EQ(test_error_message(&foreign), test_error_message(&missing));
	ASSERT(!strstr(foreign.body, PLAN_MARKER));
	test_resp_free(&foreign);
	test_resp_free(&missing);
	ASSERT_EQ(plan_reads(&s, "denied"), 2);

	/* The patient withdraws the care_team consent: 403, without the plan. */
	test_call(&s, "PUT", "/api/v1/me/consents", ptok, "{\"scopes\":{\"care_team\":false}}", &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 403);
	ASSERT_STR_EQ(test_error_code(&r), "consent_required");
	ASSERT(!strstr(r.body, PLAN_MARKER));
	test_resp_free(&r);
	ASSERT_EQ(plan_reads(&s, "denied"), 3);
	/* The patient still has their own plan. */
	test_call(&s, "GET", "/api/v1/me/safety-plan", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_CONTAINS(r.body, PLAN_MARKER);
	test_resp_free(&r);

	/* Granted again: visible again. */
	test_call(&s, "PUT", "/api/v1/me/consents", ptok, "{\"scopes\":{\"care_team\":true}}", &r);
	test_resp_free(&r);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_CONTAINS(r.body, PLAN_MARKER);
	test_resp_free(&r);

	free(ctok);
	free(ptok);
	free(otok);
	test_server_stop(&s);
}
