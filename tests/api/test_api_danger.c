/*
 * test_api_danger.c: the danger-and-abuse screen over real HTTP (POST /api/v1/chat/messages
 * on loopback). Danger from someone now runs the crisis protocol with an urgent crisis_chat
 * alert the care team sees; an abuse disclosure gets the abuse flow with the helplines and an
 * abuse_disclosed alert, which is a safety alert: the care team sees it even after the
 * patient withdrew the care_team consent (DESIGN.md, "who may see what"; docs/alerts.md),
 * while a non-safety alert stays hidden. A patient without a care team is never told the
 * care team was told.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "api_test.h"
#include "harness.h"


static const char *str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static json_t *alert_action(json_t *turn, const char *kind)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(turn, "actions"), i, a)
	{
		if (!strcmp(str(a, "type"), "alert") && !strcmp(str(a, "kind"), kind))
			return a;
	}
	return NULL;
}

/* The kinds of the alerts GET /api/v1/alerts lists for the token, as "k1,k2,". */
static void listed_kinds(struct test_server *s, const char *tok, char *out, size_t n)
{
	struct test_resp r;
	test_call(s, "GET", "/api/v1/alerts", tok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	out[0] = '\0';
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(r.json, "alerts"), i, a)
	{
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%s,", str(a, "kind"));
	}
	test_resp_free(&r);
}

static void set_consent(struct test_server *s, const char *ptok, int granted)
{
	char body[128];
	snprintf(body, sizeof(body),
	         "{\"scopes\":{\"care_team\":%s,\"sensing\":false,\"research\":false}}",
	         granted ? "true" : "false");
	struct test_resp r;
	test_call(s, "PUT", "/api/v1/me/consents", ptok, body, &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);
}

struct raise_arg {
	struct test_server *s;
	int64_t patient;
};

static int raise_mood_alert(struct haven_tx *tx, void *arg)
{
	struct raise_arg *ra = arg;
	json_t *rs = json_pack("[{s:s}]", "text", "mood below the person's baseline");
	struct haven_alert_new a = {.patient_id = ra->patient,
	                            .kind = "mood_decline",
	                            .severity = "warning",
	                            .reasons = rs,
	                            .source = "rule:test"};
	int rc = haven_alert_raise(tx, ra->s->mk, &a, NULL, NULL);
	json_decref(rs);
	return rc;
}

TEST(api_danger_now_runs_the_crisis_protocol_with_an_urgent_alert)
{
	struct test_server s;
	char *ctok, *ptok;
	int64_t pid = test_start_care_pair(&s, "p@example.org", &ctok, &ptok);
	json_decref(test_say(&s, ptok, "hello"));
	json_decref(test_say(&s, ptok, "yes"));
	json_t *t = test_say(&s, ptok, "he's outside with a knife");
	ASSERT_STR_EQ(str(t, "state"), "safety.crisis");
	ASSERT_STR_EQ(str(json_object_get(t, "risk"), "level"), "high");
	const char *reply = str(t, "reply");
	ASSERT_CONTAINS(reply, "call 911 now");
	ASSERT_CONTAINS(reply, "1-800-799-7233");
	ASSERT_CONTAINS(reply, "I've let your care team know");
	json_t *a = alert_action(t, "crisis_chat");
	ASSERT(a);
	int64_t aid = json_integer_value(json_object_get(a, "id"));
	json_decref(t);
	/* the reasons say it was the danger screen */
	char sql_path[96];
	snprintf(sql_path, sizeof(sql_path), "/api/v1/alerts/%lld", (long long)aid);
	struct test_resp r;
	test_call(&s, "GET", sql_path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(str(r.json, "kind"), "crisis_chat");
	ASSERT_STR_EQ(str(r.json, "severity"), "urgent");
	ASSERT_STR_EQ(str(r.json, "status"), "open");
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "patient_id")), pid);
	ASSERT(strstr(r.body, "danger_now"));
	test_resp_free(&r);
	/* one denial does not end it */
	t = test_say(&s, ptok, "I'm fine");
	ASSERT_STR_EQ(str(t, "state"), "safety.confirm");
	json_decref(t);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

TEST(api_danger_abuse_disclosed_is_a_safety_alert)
{
	struct test_server s;
	char *ctok, *ptok;
	int64_t pid = test_start_care_pair(&s, "p@example.org", &ctok, &ptok);
	json_decref(test_say(&s, ptok, "hello"));
	json_decref(test_say(&s, ptok, "yes"));
	/* The consent is withdrawn before the disclosure. */
	set_consent(&s, ptok, 0);
	json_t *t = test_say(&s, ptok, "my husband strangled me last night");
	ASSERT_STR_EQ(str(t, "state"), "abuse.answer");
	ASSERT_STR_EQ(str(json_object_get(t, "risk"), "level"), "moderate");
	ASSERT_CONTAINS(str(t, "reply"), "1-800-799-7233");
	ASSERT_CONTAINS(str(t, "reply"), "Are you in danger right now?");
	/* true: the alert reaches the clinician even with the consent withdrawn */
	ASSERT_CONTAINS(str(t, "reply"), "I've let your care team know");
	json_t *a = alert_action(t, "abuse_disclosed");
	ASSERT(a);
	ASSERT_STR_EQ(str(a, "severity"), "urgent");
	int64_t aid = json_integer_value(json_object_get(a, "id"));
	json_decref(t);

	char kinds[512];
	listed_kinds(&s, ctok, kinds, sizeof(kinds));
	ASSERT_CONTAINS(kinds, "abuse_disclosed,");
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld", (long long)aid);
	struct test_resp r;
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT(json_is_true(json_object_get(r.json, "safety")));
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "patient_id")), pid);
	test_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld/ack", (long long)aid);
	test_call(&s, "POST", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);

	/* Contrast: a non-safety alert of the same patient stays hidden without consent. */
	struct raise_arg ra = {&s, pid};
	ASSERT_OK(haven_store_write(s.store, raise_mood_alert, &ra));
	listed_kinds(&s, ctok, kinds, sizeof(kinds));
	ASSERT_CONTAINS(kinds, "abuse_disclosed,");
	ASSERT(!strstr(kinds, "mood_decline"));
	set_consent(&s, ptok, 1);
	listed_kinds(&s, ctok, kinds, sizeof(kinds));
	ASSERT_CONTAINS(kinds, "mood_decline,");

	/* "no" to "are you in danger right now?" goes on to support; nothing ends badly. */
	t = test_say(&s, ptok, "no");
	ASSERT_STR_EQ(str(t, "state"), "abuse.support");
	json_decref(t);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

TEST(api_danger_without_a_care_team_says_what_happens_instead)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "patient", "alone@example.org");
	char *ptok = test_login(&s, "alone@example.org");
	json_decref(test_say(&s, ptok, "hello"));
	json_decref(test_say(&s, ptok, "yes"));
	json_t *t = test_say(&s, ptok, "i want to kill myself");
	ASSERT_STR_EQ(str(t, "state"), "safety.crisis");
	const char *reply = str(t, "reply");
	ASSERT(!strstr(reply, "care team know"));
	ASSERT_CONTAINS(reply, "You don't have a care team linked here");
	ASSERT_CONTAINS(reply, "988");
	ASSERT_CONTAINS(reply, "call 911 now");
	ASSERT(alert_action(t, "crisis_chat"));
	json_decref(t);
	t = test_say(&s, ptok, "no");
	ASSERT_STR_EQ(str(t, "state"), "safety.confirm");
	json_decref(t);
	t = test_say(&s, ptok, "no");
	ASSERT(!strstr(str(t, "reply"), "care team"));
	json_decref(t);
	t = test_say(&s, ptok, "I was raped last week");
	ASSERT_STR_EQ(str(t, "state"), "abuse.answer");
	ASSERT(!strstr(str(t, "reply"), "care team"));
	ASSERT_CONTAINS(str(t, "reply"), "1-800-656-4673");
	json_decref(t);
	free(ptok);
	test_server_stop(&s);
}
