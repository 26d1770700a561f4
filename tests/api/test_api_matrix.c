/*
 * test_api_matrix.c: the authorisation matrix. Every route in the router table is
 * called as each of six principals (anonymous, patient A, patient B, the clinician of
 * A's care team, a clinician of another team, an administrator) and must give the
 * expected status; a route missing from the table below fails the test, so a new route
 * cannot ship without its row. Also: cross-patient reads are 404 and look exactly like
 * a missing id, administrators and other teams never receive clinical content, and
 * withdrawing the care_team consent hides clinical content from the clinician.
 */
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "audit/audit.h"
#include "harness.h"

enum { ANON, PAT_A, PAT_B, CLIN_A, CLIN_O, ADMIN, NPRINCIPALS };
static const char *const principal_names[] = {"anonymous",      "patient A",       "patient B",
                                              "clinician of A", "other clinician", "admin"};

#define MARKER "matrix-marker-7f3a9c"

struct expect {
	const char *method, *pattern;
	const char *body; /* "%d" is replaced by a counter for unique emails */
	int status[NPRINCIPALS];
};

/* Non-destructive routes; {id} is patient A's id. */
static const struct expect table[] = {
    {"GET", "/healthz", NULL, {200, 200, 200, 200, 200, 200}},
    {"GET", "/readyz", NULL, {200, 200, 200, 200, 200, 200}},
    {"GET", "/metrics", NULL, {200, 200, 200, 200, 200, 200}},
    {"GET", "/api/v1/healthz", NULL, {200, 200, 200, 200, 200, 200}},
    {"GET", "/api/v1/readyz", NULL, {200, 200, 200, 200, 200, 200}},
    {"GET", "/api/v1/metrics", NULL, {200, 200, 200, 200, 200, 200}},
    {"POST",
     "/api/v1/auth/login",
     "{\"email\":\"a@example.org\",\"password\":\"" TEST_PASSWORD "\"}",
     {200, 200, 200, 200, 200, 200}},
    {"POST",
     "/api/v1/auth/register",
     "{\"code\":\"no-such-code\",\"email\":\"r%d@example.org\",\"password\":\"" TEST_PASSWORD "\"}",
     {403, 403, 403, 403, 403, 403}},
    {"GET", "/api/v1/me", NULL, {401, 200, 200, 200, 200, 200}},
    {"PATCH", "/api/v1/me", "{\"locale\":\"en-GB\"}", {401, 200, 200, 403, 403, 403}},
    {"GET", "/api/v1/consent/document", NULL, {200, 200, 200, 200, 200, 200}},
    {"POST",
     "/api/v1/users",
     "{\"email\":\"u%d@example.org\",\"password\":\"" TEST_PASSWORD "\",\"role\":\"clinician\"}",
     {401, 403, 403, 403, 403, 201}},
    {"GET", "/api/v1/users", NULL, {401, 403, 403, 403, 403, 200}},
    {"GET", "/api/v1/audit", NULL, {401, 403, 403, 403, 403, 200}},
    {"GET", "/api/v1/audit/verify", NULL, {401, 403, 403, 403, 403, 200}},
    {"POST", "/api/v1/invitations", NULL, {401, 403, 403, 201, 201, 403}},
    {"GET", "/api/v1/patients", NULL, {401, 403, 403, 200, 200, 403}},
    {"GET", "/api/v1/patients/{id}", NULL, {401, 403, 403, 200, 404, 403}},
    {"GET", "/api/v1/patients/{id}/checkins", NULL, {401, 403, 403, 200, 404, 403}},
    {"GET", "/api/v1/patients/{id}/messages", NULL, {401, 403, 403, 200, 404, 403}},
    {"POST", "/api/v1/chat/messages", "{\"text\":\"hello\"}", {401, 200, 200, 403, 403, 403}},
    {"GET", "/api/v1/chat/messages", NULL, {401, 200, 200, 403, 403, 403}},
    {"GET", "/api/v1/me/safety-plan", NULL, {401, 200, 200, 403, 403, 403}},
    {"GET", "/api/v1/exercises", NULL, {401, 200, 200, 403, 403, 403}},
    {"PUT",
     "/api/v1/me/safety-plan",
     "{\"coping\":[\"a walk\"]}",
     {401, 200, 200, 403, 403, 403}},
    {"GET", "/api/v1/patients/{id}/safety-plan", NULL, {401, 403, 403, 200, 404, 403}},
    {"GET", "/api/v1/me/consents", NULL, {401, 200, 200, 403, 403, 403}},
    {"PUT",
     "/api/v1/me/consents",
     "{\"scopes\":{\"research\":true,\"sensing\":true}}",
     {401, 200, 200, 403, 403, 403}},
    {"POST", "/api/v1/checkins", "{\"mood\":4,\"sleep_hours\":6}", {401, 201, 201, 403, 403, 403}},
    {"GET", "/api/v1/checkins", NULL, {401, 200, 200, 403, 403, 403}},
    {"GET", "/api/v1/me/export", NULL, {401, 200, 200, 403, 403, 403}},
    /* measurement-based care; A's assessment opens an episode that A's clinician then
     * closes and reopens */
    {"GET", "/api/v1/instruments", NULL, {401, 200, 200, 200, 200, 200}},
    {"POST",
     "/api/v1/assessments",
     "{\"instrument\":\"phq9\",\"answers\":[1,1,1,1,1,1,1,1,0]}",
     {401, 201, 201, 403, 403, 403}},
    {"GET", "/api/v1/assessments", NULL, {401, 200, 200, 403, 403, 403}},
    {"GET", "/api/v1/me/reminders", NULL, {401, 200, 200, 403, 403, 403}},
    {"PUT",
     "/api/v1/me/reminders",
     "{\"enabled\":true,\"time\":\"19:30\",\"days\":[\"mon\",\"thu\"]}",
     {401, 200, 200, 403, 403, 403}},
    {"GET", "/api/v1/patients/{id}/assessments", NULL, {401, 403, 403, 200, 404, 403}},
    {"POST", "/api/v1/patients/{id}/episodes/close", NULL, {401, 403, 403, 200, 404, 403}},
    {"POST", "/api/v1/patients/{id}/episodes", NULL, {401, 403, 403, 201, 404, 403}},
    {"GET", "/api/v1/patients/{id}/outcomes", NULL, {401, 403, 403, 200, 404, 403}},
    {"GET", "/api/v1/patients/{id}/reminders", NULL, {401, 403, 403, 200, 404, 403}},
    {"GET", "/api/v1/patients/{id}/fhir", NULL, {401, 403, 403, 200, 404, 403}},
    {"GET", "/api/v1/outcomes", NULL, {401, 403, 403, 200, 200, 403}},
    /* monitoring: the patients granted the sensing consent above */
    {"POST",
     "/api/v1/sensing",
     "{\"observations\":[{\"type\":\"steps\",\"value\":5000,\"date\":\"2026-11-20\"}]}",
     {401, 201, 201, 403, 403, 403}},
    {"GET", "/api/v1/me/sensing", NULL, {401, 200, 200, 403, 403, 403}},
    {"GET", "/api/v1/patients/{id}/sensing", NULL, {401, 403, 403, 200, 404, 403}},
    {"GET", "/api/v1/patients/{id}/risk", NULL, {401, 403, 403, 200, 404, 403}},
    {"GET", "/api/v1/monitoring/config", NULL, {401, 403, 403, 403, 403, 200}},
    {"PUT", "/api/v1/monitoring/config", "{\"disengagement\":{\"days\":6}}",
     {401, 403, 403, 403, 403, 200}},
    /* alerts: {id} is not an alert id of anyone's here, so clinicians get 404; the
     * lifecycle and cross-caseload cases are in test_api_alerts.c */
    {"GET", "/api/v1/alerts", NULL, {401, 403, 403, 200, 200, 403}},
    {"GET", "/api/v1/alerts/{id}", NULL, {401, 403, 403, 404, 404, 403}},
    {"POST", "/api/v1/alerts/{id}/ack", NULL, {401, 403, 403, 404, 404, 403}},
    {"POST", "/api/v1/alerts/{id}/resolve", "{}", {401, 403, 403, 404, 404, 403}},
    /* a clinician's own escalation contacts (an empty list: nothing changes) */
    {"GET", "/api/v1/me/escalation-contacts", NULL, {401, 403, 403, 200, 200, 403}},
    {"PUT", "/api/v1/me/escalation-contacts", "{\"contacts\":[]}", {401, 403, 403, 200, 200, 403}},
};
/* Destructive routes, run last in this order: erasure, then logout (the erased
 * patients' tokens are gone by then). */
static const struct expect last[] = {
    {"DELETE", "/api/v1/me", NULL, {401, 204, 204, 403, 403, 403}},
    {"POST", "/api/v1/auth/logout", NULL, {401, 401, 401, 204, 204, 204}},
};

static const struct expect *find_expect(const char *method, const char *pattern)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].method, method) && !strcmp(table[i].pattern, pattern))
			return &table[i];
	for (size_t i = 0; i < sizeof(last) / sizeof(last[0]); i++)
		if (!strcmp(last[i].method, method) && !strcmp(last[i].pattern, pattern))
			return &last[i];
	return NULL;
}

static void expand(const char *pattern, int64_t id, char *out, size_t outlen)
{
	const char *p = strstr(pattern, "{id}");
	if (!p) {
		haven_strlcpy(out, pattern, outlen);
		return;
	}
	snprintf(out, outlen, "%.*s%lld%s", (int)(p - pattern), pattern, (long long)id, p + 4);
}

static int counter;

static void run(struct test_server *s, const struct expect *e, char *tokens[NPRINCIPALS],
                int64_t id_a)
{
	for (int who = 0; who < NPRINCIPALS; who++) {
		char path[256], body[512];
		struct test_resp r;
		expand(e->pattern, id_a, path, sizeof(path));
		const char *b = NULL;
		if (e->body) {
			const char *mark = strstr(e->body, "%d");
			if (mark)
				snprintf(body, sizeof(body), "%.*s%d%s", (int)(mark - e->body),
				         e->body, counter++, mark + 2);
			else
				haven_strlcpy(body, e->body, sizeof(body));
			b = body;
		}
		test_call(s, e->method, path, tokens[who], b, &r);
		if (r.status != e->status[who])
			haven_test_fail(__FILE__, __LINE__, "%s %s as %s: status %ld, want %d (%s)",
			                e->method, e->pattern, principal_names[who], r.status,
			                e->status[who], r.body);
		if (r.status >= 400)
			ASSERT(*test_error_code(&r));
		/* Clinical content reaches only patient A and A's clinician. */
		if (strstr(r.body, MARKER) && who != PAT_A && who != CLIN_A)
			haven_test_fail(__FILE__, __LINE__, "%s %s as %s received clinical content",
			                e->method, e->pattern, principal_names[who]);
		test_resp_free(&r);
	}
}

TEST(api_authorisation_matrix)
{
	struct test_server s;
	struct test_resp r;
	char *tokens[NPRINCIPALS] = {NULL};
	test_server_start(&s, NULL);
	test_make_user(&s, "admin", "admin@example.org");
	test_make_user(&s, "clinician", "clin-a@example.org");
	test_make_user(&s, "clinician", "clin-o@example.org");
	tokens[ADMIN] = test_login(&s, "admin@example.org");
	tokens[CLIN_A] = test_login(&s, "clin-a@example.org");
	tokens[CLIN_O] = test_login(&s, "clin-o@example.org");
	int64_t id_a = test_register(&s, tokens[CLIN_A], "a@example.org", 1);
	int64_t id_b = test_register(&s, tokens[CLIN_O], "b@example.org", 1);
	tokens[PAT_A] = test_login(&s, "a@example.org");
	tokens[PAT_B] = test_login(&s, "b@example.org");

	test_call(&s, "POST", "/api/v1/checkins", tokens[PAT_A],
	          "{\"mood\":3,\"sleep_hours\":5.5,\"note\":\"" MARKER "\"}", &r);
	ASSERT_EQ(r.status, 201);
	test_resp_free(&r);

	/* Every route has a row, and every row is a route. */
	const struct haven_route_info *routes;
	size_t n = haven_api_routes(&routes);
	ASSERT_EQ(n, sizeof(table) / sizeof(table[0]) + sizeof(last) / sizeof(last[0]));
	for (size_t i = 0; i < n; i++)
		if (!find_expect(routes[i].method, routes[i].pattern))
			haven_test_fail(__FILE__, __LINE__, "route %s %s has no row in the matrix",
			                routes[i].method, routes[i].pattern);

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		run(&s, &table[i], tokens, id_a);

	/* The clinician of A sees the marker; a foreign or missing id is the same 404. */
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/checkins", (long long)id_a);
	test_call(&s, "GET", path, tokens[CLIN_A], NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_CONTAINS(r.body, MARKER);
	test_resp_free(&r);
	struct test_resp foreign, missing;
	snprintf(path, sizeof(path), "/api/v1/patients/%lld", (long long)id_b);
	test_call(&s, "GET", path, tokens[CLIN_A], NULL, &foreign);
	test_call(&s, "GET", "/api/v1/patients/987654321", tokens[CLIN_A], NULL, &missing);
	ASSERT_EQ(foreign.status, 404);
	ASSERT_EQ(missing.status, 404);
	ASSERT_STR_EQ(test_error_code(&foreign), test_error_code(&missing));
	ASSERT_STR_EQ(test_error_message(&foreign), test_error_message(&missing));
	test_resp_free(&foreign);
	test_resp_free(&missing);
	test_call(&s, "GET", "/api/v1/patients", tokens[CLIN_O], NULL, &r);
	json_t *list = json_object_get(r.json, "patients");
	ASSERT_EQ(json_array_size(list), 1);
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(list, 0), "id")), id_b);
	test_resp_free(&r);

	int64_t audit_before = test_count(&s, "audit_log");
	for (size_t i = 0; i < sizeof(last) / sizeof(last[0]); i++)
		run(&s, &last[i], tokens, id_a);
	/* Refusals are audited too. */
	ASSERT(test_count(&s, "audit_log") > audit_before + 6);
	ASSERT_EQ(test_count(&s, "checkins"), 0);
	ASSERT_EQ(test_count(&s, "assessments"), 0);
	ASSERT_EQ(test_count(&s, "episodes"), 0);
	/* Everything the matrix appended forms an intact chain. */
	struct haven_audit_report rep;
	ASSERT_OK(haven_audit_verify(s.store, &rep));
	ASSERT_EQ(rep.first_bad_id, 0);
	ASSERT_EQ(rep.records, test_count(&s, "audit_log"));

	for (int i = 0; i < NPRINCIPALS; i++)
		free(tokens[i]);
	test_server_stop(&s);
}

TEST(api_consent_withdrawal_hides_clinical_content)
{
	struct test_server s;
	struct test_resp r;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	int64_t pid = test_register(&s, ctok, "p@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");
	test_call(&s, "POST", "/api/v1/checkins", ptok,
	          "{\"mood\":6,\"sleep_hours\":8,\"note\":\"" MARKER "\"}", &r);
	ASSERT_EQ(r.status, 201);
	test_resp_free(&r);

	char checkins[128], summary[128];
	snprintf(checkins, sizeof(checkins), "/api/v1/patients/%lld/checkins", (long long)pid);
	snprintf(summary, sizeof(summary), "/api/v1/patients/%lld", (long long)pid);
	test_call(&s, "GET", checkins, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_CONTAINS(r.body, MARKER);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "checkins")), 1);
	test_resp_free(&r);

	test_call(&s, "PUT", "/api/v1/me/consents", ptok, "{\"scopes\":{\"care_team\":false}}", &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);
	test_call(&s, "GET", checkins, ctok, NULL, &r);
	ASSERT_EQ(r.status, 403);
	ASSERT_STR_EQ(test_error_code(&r), "consent_required");
	ASSERT(!strstr(r.body, MARKER));
	test_resp_free(&r);
	test_call(&s, "GET", summary, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT(json_is_false(json_object_get(r.json, "care_team_consent")));
	ASSERT(!strstr(r.body, MARKER));
	test_resp_free(&r);

	/* The patient still sees their own check-ins. */
	test_call(&s, "GET", "/api/v1/checkins", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_CONTAINS(r.body, MARKER);
	test_resp_free(&r);

	test_call(&s, "PUT", "/api/v1/me/consents", ptok, "{\"scopes\":{\"care_team\":true}}", &r);
	test_resp_free(&r);
	test_call(&s, "GET", checkins, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);
	/* Registration gave three rows; two changes appended two more. */
	ASSERT_EQ(test_count(&s, "consents"), 5);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}
