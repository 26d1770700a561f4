/*
 * test_api_exercises.c: GET /api/v1/exercises over real HTTP with the real agent. A new
 * patient sees every exercise the agent offers, with descriptions, no ratings yet and a
 * suggestion; the sentence each entry gives for starting it really starts that flow in
 * chat; after an exercise rated in conversation (7 before, 3 after) the page shows the
 * rating, counts it as helped and suggests that exercise with the chat's reason; a
 * rating that did not help is counted too; the read is audited; clinicians and
 * administrators are refused (the authorisation matrix covers the other principals).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "harness.h"


static void say_state(struct test_server *s, const char *tok, const char *text, const char *want)
{
	json_t *t = test_say(s, tok, text);
	const char *st = json_string_value(json_object_get(t, "state"));
	if (!st || strncmp(st, want, strlen(want)))
		haven_test_fail(__FILE__, __LINE__, "\"%s\" led to state %s, not %s", text,
		                st ? st : "(none)", want);
	json_decref(t);
}

static json_t *get_exercises(struct test_server *s, const char *tok)
{
	struct test_resp r;
	test_call(s, "GET", "/api/v1/exercises", tok, NULL, &r);
	if (r.status != 200 || !r.json)
		haven_test_fail(__FILE__, __LINE__, "GET /exercises: %ld (%s)", r.status, r.body);
	json_t *j = json_incref(r.json);
	test_resp_free(&r);
	return j;
}

static json_t *find(json_t *reply, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(reply, "exercises"), i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			return e;
	}
	haven_test_fail(__FILE__, __LINE__, "exercise %s is not listed", name);
}

static int64_t audit_count(struct test_server *s, const char *action);

TEST(api_exercises_list_history_and_suggestion)
{
	struct test_server s;
	char *ctok, *ptok;
	test_start_care_pair(&s, "ex@example.org", &ctok, &ptok);

	/* A new patient: every exercise the agent offers, described, none rated yet. */
	json_t *j = get_exercises(&s, ptok);
	static const char *const offered[] = {"activation", "breathing",      "gratitude",
	                                      "grounding",  "thought_record", "problem_solving",
	                                      "sleep",      "worry_time",     "checkin",
	                                      "phq9",       "gad7",           "safety_plan"};
	for (size_t i = 0; i < sizeof(offered) / sizeof(offered[0]); i++) {
		json_t *e = find(j, offered[i]);
		ASSERT(json_string_value(json_object_get(e, "title")));
		ASSERT(strlen(json_string_value(json_object_get(e, "description"))) > 20);
		ASSERT(json_string_value(json_object_get(e, "start_text")));
		json_t *h = json_object_get(e, "history");
		if (json_is_true(json_object_get(e, "rated"))) {
			ASSERT_EQ(json_array_size(json_object_get(h, "ratings")), 0);
			ASSERT_EQ(json_integer_value(json_object_get(h, "helped")), 0);
			ASSERT(json_string_value(json_object_get(h, "rating")));
		} else {
			ASSERT(json_is_null(h));
		}
	}
	ASSERT(json_is_true(json_object_get(find(j, "breathing"), "rated")));
	ASSERT(json_is_false(json_object_get(find(j, "sleep"), "rated")));
	ASSERT_STR_EQ(json_string_value(json_object_get(find(j, "phq9"), "kind")), "questionnaire");
	ASSERT_STR_EQ(json_string_value(json_object_get(find(j, "grounding"), "kind")), "exercise");
	/* Flows the agent does not offer (the crisis protocol, onboarding) are not listed. */
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "exercises"), i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		ASSERT(strcmp(n, "safety") && strcmp(n, "onboarding") && strcmp(n, "home"));
	}
	json_t *rec = json_object_get(j, "recommended");
	ASSERT(json_is_object(rec));
	ASSERT_CONTAINS(json_string_value(json_object_get(rec, "reason")), "You haven't tried");
	ASSERT(json_is_true(json_object_get(find(j, json_string_value(json_object_get(rec, "name"))),
	                                    "rated")));
	json_decref(j);
	ASSERT_EQ(audit_count(&s, "exercise.read"), 1);

	/* A breathing exercise done in conversation: 7 before, 3 after. */
	say_state(&s, ptok, "hello", "onboarding.");
	say_state(&s, ptok, "yes", "onboarding.agreed");
	say_state(&s, ptok, "Can we do some paced breathing?", "breathing.intro");
	say_state(&s, ptok, "7", "breathing.guide");
	say_state(&s, ptok, "done", "breathing.after");
	say_state(&s, ptok, "3", "");
	j = get_exercises(&s, ptok);
	json_t *h = json_object_get(find(j, "breathing"), "history");
	ASSERT_EQ(json_array_size(json_object_get(h, "ratings")), 1);
	json_t *r0 = json_array_get(json_object_get(h, "ratings"), 0);
	ASSERT_EQ(json_integer_value(json_object_get(r0, "before")), 7);
	ASSERT_EQ(json_integer_value(json_object_get(r0, "after")), 3);
	ASSERT(json_is_true(json_object_get(r0, "helped")));
	ASSERT(json_string_value(json_object_get(r0, "at")));
	ASSERT_EQ(json_integer_value(json_object_get(h, "helped")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(h, "not_helped")), 0);
	/* What helped this person is what is suggested, with the chat's reason. */
	rec = json_object_get(j, "recommended");
	ASSERT_STR_EQ(json_string_value(json_object_get(rec, "name")), "breathing");
	ASSERT_STR_EQ(json_string_value(json_object_get(rec, "reason")),
	              "Paced breathing helped you last time: 7 \xe2\x86\x92 3.");
	/* Another exercise's record is untouched. */
	ASSERT_EQ(json_array_size(json_object_get(json_object_get(find(j, "grounding"), "history"),
	                                          "ratings")),
	          0);
	json_decref(j);

	/* Grounding that did not help (5 -> 6) is counted as not helped. */
	say_state(&s, ptok, "Can we do some grounding?", "grounding.intro");
	for (int k = 0; k < 8; k++) {
		json_t *t = test_say(&s, ptok, "5");
		const char *st = json_string_value(json_object_get(t, "state"));
		int at_after = st && !strcmp(st, "grounding.after");
		json_decref(t);
		if (at_after)
			break;
	}
	json_t *t = test_say(&s, ptok, "6");
	json_decref(t);
	j = get_exercises(&s, ptok);
	h = json_object_get(find(j, "grounding"), "history");
	ASSERT_EQ(json_array_size(json_object_get(h, "ratings")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(h, "not_helped")), 1);
	ASSERT(json_is_false(json_object_get(json_array_get(json_object_get(h, "ratings"), 0),
	                                     "helped")));
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(j, "recommended"), "name")),
	              "breathing");
	json_decref(j);

	/* Clinicians have no exercises page of their own. */
	struct test_resp r;
	test_call(&s, "GET", "/api/v1/exercises", ctok, NULL, &r);
	ASSERT_EQ(r.status, 403);
	test_resp_free(&r);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

/* Each entry's start_text, said in chat, starts that flow (after onboarding). */
TEST(api_exercises_start_text_starts_the_flow)
{
	struct test_server s;
	char *ctok, *ptok;
	test_start_care_pair(&s, "start0@example.org", &ctok, &ptok);
	json_t *j = get_exercises(&s, ptok);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(j, "exercises"), i, e)
	{
		char email[64];
		snprintf(email, sizeof(email), "start%zu@example.org", i + 1);
		test_register(&s, ctok, email, 1);
		char *tok = test_login(&s, email);
		say_state(&s, tok, "hello", "onboarding.");
		say_state(&s, tok, "yes", "onboarding.agreed");
		char want[64];
		snprintf(want, sizeof(want), "%s.", json_string_value(json_object_get(e, "name")));
		say_state(&s, tok, json_string_value(json_object_get(e, "start_text")), want);
		free(tok);
	}
	json_decref(j);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

struct audit_q {
	const char *action;
	int64_t n;
};

static int audit_row(const struct haven_row *row, void *arg)
{
	((struct audit_q *)arg)->n = haven_row_int(row, 0);
	return 0;
}

static int audit_tx(struct haven_tx *tx, void *arg)
{
	struct audit_q *q = arg;
	struct haven_param p[] = {HAVEN_P_TEXT(q->action)};
	return haven_tx_query(tx, "SELECT COUNT(*) FROM audit_log WHERE action = ?", p, 1, audit_row,
	                      q);
}

static int64_t audit_count(struct test_server *s, const char *action)
{
	struct audit_q q = {action, -1};
	ASSERT_OK(haven_store_read(s->store, audit_tx, &q));
	return q.n;
}
