/*
 * test_api_chat.c: the support agent over real HTTP: a crisis message raises the urgent
 * alert in the same transaction as the sealed message and the care team sees it; another
 * care team gets 404; a PHQ-9 answered in conversation is a real assessment (GET
 * /assessments, the clinician's view); the history and bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "harness.h"

struct sql_count {
	const char *sql;
	int64_t n;
};

static int count_row(const struct haven_row *row, void *arg)
{
	*(int64_t *)arg = haven_row_int(row, 0);
	return 0;
}

static int count_tx(struct haven_tx *tx, void *arg)
{
	struct sql_count *q = arg;
	return haven_tx_query(tx, q->sql, NULL, 0, count_row, &q->n);
}

static int64_t sql_count(struct test_server *s, const char *sql)
{
	struct sql_count q = {sql, -1};
	ASSERT_OK(haven_store_read(s->store, count_tx, &q));
	return q.n;
}


static const char *level_of(json_t *turn)
{
	return json_string_value(json_object_get(json_object_get(turn, "risk"), "level"));
}

static int64_t alert_id(json_t *turn, const char *kind)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(turn, "actions"), i, a)
	{
		const char *t = json_string_value(json_object_get(a, "type"));
		const char *k = json_string_value(json_object_get(a, "kind"));
		if (t && k && !strcmp(t, "alert") && !strcmp(k, kind))
			return json_integer_value(json_object_get(a, "id"));
	}
	return 0;
}

TEST(api_chat_crisis_alert_reaches_care_team)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	test_make_user(&s, "clinician", "other@example.org");
	char *ctok = test_login(&s, "c@example.org");
	char *otok = test_login(&s, "other@example.org");
	int64_t pid = test_register(&s, ctok, "p@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");

	json_decref(test_say(&s, ptok, "hello"));
	json_decref(test_say(&s, ptok, "yes"));
	json_t *t = test_say(&s, ptok, "can we do some breathing");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "breathing.intro");
	ASSERT_STR_EQ(level_of(t), "none");
	json_decref(t);
	ASSERT_EQ(test_count(&s, "alerts"), 0);

	t = test_say(&s, ptok, "honestly i just want to kill myself");
	ASSERT_STR_EQ(level_of(t), "high");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "safety.crisis");
	ASSERT(strstr(json_string_value(json_object_get(t, "reply")), "988"));
	int64_t aid = alert_id(t, "crisis_chat");
	ASSERT(aid > 0);
	json_decref(t);

	/* The alert row names the message that raised it: both were written together. */
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "SELECT COUNT(*) FROM alerts a JOIN messages m ON a.source = 'message:' || m.rid "
	         "WHERE a.id = %lld AND a.kind = 'crisis_chat' AND a.severity = 'urgent' "
	         "AND a.patient_id = %lld AND m.patient_id = %lld AND m.risk_level = 'high' "
	         "AND m.flagged = 1",
	         (long long)aid, (long long)pid, (long long)pid);
	ASSERT_EQ(sql_count(&s, sql), 1);
	/* One denial keeps the protocol and the alert (no second alert for the episode). */
	t = test_say(&s, ptok, "you misunderstood, I'm fine");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "safety.confirm");
	json_decref(t);
	ASSERT_EQ(sql_count(&s, "SELECT COUNT(*) FROM alerts WHERE kind = 'crisis_chat'"), 1);
	/* Sealed: the words are not in the stored row. */
	ASSERT_EQ(sql_count(&s, "SELECT COUNT(*) FROM messages WHERE CAST(payload AS TEXT) LIKE "
	                        "'%kill myself%'"),
	          0);

	/* The care team sees the flagged message with its reasons; another team gets 404. */
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/messages", (long long)pid);
	struct test_resp r;
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *msgs = json_object_get(r.json, "messages");
	size_t i, flagged = 0;
	json_t *m;
	json_array_foreach(msgs, i, m)
	{
		if (json_is_true(json_object_get(m, "flagged"))) {
			flagged++;
			ASSERT_STR_EQ(level_of(m), "high");
			ASSERT(json_array_size(json_object_get(json_object_get(m, "risk"),
			                                       "reasons")) > 0);
		}
	}
	ASSERT_EQ(flagged, 1);
	test_resp_free(&r);
	test_call(&s, "GET", path, otok, NULL, &r);
	ASSERT_EQ(r.status, 404);
	test_resp_free(&r);

	/* The patient's own history has every turn, oldest first. */
	test_call(&s, "GET", "/api/v1/chat/messages", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "messages")), 5);
	test_resp_free(&r);

	free(ctok);
	free(otok);
	free(ptok);
	test_server_stop(&s);
}

TEST(api_chat_phq9_is_an_assessment)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	int64_t pid = test_register(&s, ctok, "p@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");
	static const char *const lines[] = {"hello", "yes", "phq9", "yes", "1", "1", "2", "2",
	                                    "1",     "0",   "0",    "1",   "0"};
	json_t *t = NULL;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		json_decref(t);
		t = test_say(&s, ptok, lines[i]);
	}
	ASSERT(strstr(json_string_value(json_object_get(t, "reply")), "Your total is 8 out of 27"));
	json_decref(t);
	ASSERT_EQ(test_count(&s, "alerts"), 0);

	struct test_resp r;
	test_call(&s, "GET", "/api/v1/assessments", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *list = json_is_array(r.json) ? r.json : json_object_get(r.json, "assessments");
	ASSERT_EQ(json_array_size(list), 1);
	json_t *a = json_array_get(list, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(a, "instrument")), "phq9");
	ASSERT_EQ(json_integer_value(json_object_get(a, "total")), 8);
	ASSERT_STR_EQ(json_string_value(json_object_get(a, "band")), "mild");
	test_resp_free(&r);

	char path[96];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld/assessments", (long long)pid);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT(strstr(r.body, "\"phq9\""));
	test_resp_free(&r);

	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

TEST(api_chat_bad_input)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	test_register(&s, ctok, "p@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");
	struct test_resp r;
	static const char *const bad[] = {"{\"text\":\"   \"}", "{}", "{\"text\":5}",
	                                  "{\"text\":\"hi\",\"x\":1}", "{\"text\":\"hi\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_call(&s, "POST", "/api/v1/chat/messages", ptok, bad[i], &r);
		if (r.status != 400 || strcmp(test_error_code(&r), "invalid_body"))
			haven_test_fail(__FILE__, __LINE__, "%s: %ld %s", bad[i], r.status, r.body);
		test_resp_free(&r);
	}
	char *big = malloc(6000);
	ASSERT(big);
	memset(big, 'a', 6000);
	memcpy(big, "{\"text\":\"", 9);
	memcpy(big + 5998, "\"}", 2);
	test_http(&s, "POST", "/api/v1/chat/messages", ptok, NULL, big, 6000, NULL, &r);
	ASSERT(r.status == 400 || r.status == 413);
	ASSERT(test_error_code(&r)[0]);
	test_resp_free(&r);
	free(big);
	ASSERT_EQ(test_count(&s, "messages"), 0);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

TEST(api_chat_export_and_erasure)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	test_register(&s, ctok, "p@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");
	json_decref(test_say(&s, ptok, "hello"));
	json_decref(test_say(&s, ptok, "yes"));
	json_decref(test_say(&s, ptok, "I feel low today export-marker"));
	struct test_resp r;
	test_call(&s, "PUT", "/api/v1/me/safety-plan", ptok,
	          "{\"coping\":[\"a walk by the river\"],\"people\":[\"my sister\"]}", &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);
	/* A section the plan does not have is refused, and nothing changes. */
	test_call(&s, "PUT", "/api/v1/me/safety-plan", ptok, "{\"hobbies\":[\"x\"]}", &r);
	ASSERT_EQ(r.status, 400);
	ASSERT(test_error_code(&r)[0]);
	test_resp_free(&r);

	/* The export holds the whole conversation and the plan. */
	test_call(&s, "GET", "/api/v1/me/export", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *chat = json_object_get(r.json, "chat_messages");
	ASSERT_EQ(json_array_size(chat), 3);
	ASSERT(strstr(json_string_value(json_object_get(json_array_get(chat, 2), "text")),
	              "export-marker"));
	json_t *coping = json_object_get(json_object_get(r.json, "safety_plan"), "coping");
	ASSERT_STR_EQ(json_string_value(json_array_get(coping, 0)), "a walk by the river");
	test_resp_free(&r);

	/* Erasure removes the conversation, its messages and the plan. */
	test_call(&s, "DELETE", "/api/v1/me", ptok, NULL, &r);
	ASSERT(r.status == 200 || r.status == 204);
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "messages"), 0);
	ASSERT_EQ(test_count(&s, "conversations"), 0);
	ASSERT_EQ(test_count(&s, "safety_plans"), 0);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

static const char *expects_kind(json_t *turn)
{
	return json_string_value(json_object_get(json_object_get(turn, "expects"), "kind"));
}

/* The value of option i of the turn's expects, or NULL. */
static const char *expects_value(json_t *turn, size_t i)
{
	json_t *opts = json_object_get(json_object_get(turn, "expects"), "options");
	return json_string_value(json_object_get(json_array_get(opts, i), "value"));
}

/* Every HTTP turn says what the agent now waits for ("expects"), so the web chat can offer
 * quick replies; sending an offered value is an answer that moves the conversation on; the
 * newest message of the history says it too (a reload shows the same buttons). */
TEST(api_chat_turn_carries_expects)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	test_register(&s, ctok, "p@example.org", 1);
	char *ptok = test_login(&s, "p@example.org");

	json_t *t = test_say(&s, ptok, "hello");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "onboarding.what");
	ASSERT_STR_EQ(expects_kind(t), "yes_no");
	ASSERT_STR_EQ(expects_value(t, 0), "yes");
	ASSERT_STR_EQ(expects_value(t, 1), "no");
	ASSERT(json_is_array(json_object_get(t, "actions"))); /* the old fields stay */
	json_t *t2 = test_say(&s, ptok, expects_value(t, 0));
	json_decref(t);
	ASSERT_STR_EQ(json_string_value(json_object_get(t2, "state")), "onboarding.agreed");
	ASSERT_STR_EQ(expects_kind(t2), "text");
	json_decref(t2);

	t = test_say(&s, ptok, "can we do some breathing");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "breathing.intro");
	json_t *ex = json_object_get(t, "expects");
	ASSERT_STR_EQ(expects_kind(t), "scale");
	ASSERT_EQ(json_integer_value(json_object_get(ex, "min")), 0);
	ASSERT_EQ(json_integer_value(json_object_get(ex, "max")), 10);
	ASSERT_EQ(json_array_size(json_object_get(ex, "labels")), 2);
	json_decref(t);

	/* After a reload: the newest message of the history carries the same expects. */
	struct test_resp r;
	test_call(&s, "GET", "/api/v1/chat/messages", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *msgs = json_object_get(r.json, "messages");
	ASSERT_EQ(json_array_size(msgs), 3);
	ASSERT_STR_EQ(expects_kind(json_array_get(msgs, 2)), "scale");
	ASSERT(json_object_get(json_array_get(msgs, 0), "expects") == NULL);
	test_resp_free(&r);

	t = test_say(&s, ptok, "6");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "breathing.guide");
	json_decref(t);
	json_decref(test_say(&s, ptok, "stop"));

	/* A choice node. */
	json_decref(test_say(&s, ptok, "worry time"));
	json_decref(test_say(&s, ptok, "no"));
	t = test_say(&s, ptok, "whether the bus will be late");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "worry_time.kind");
	ASSERT_STR_EQ(expects_kind(t), "choice");
	ASSERT_STR_EQ(expects_value(t, 0), "practical");
	ASSERT_STR_EQ(expects_value(t, 1), "hypothetical");
	t2 = test_say(&s, ptok, expects_value(t, 0));
	json_decref(t);
	ASSERT_STR_EQ(json_string_value(json_object_get(t2, "state")), "worry_time.practical");
	json_decref(t2);

	/* The crisis protocol: the confirming question after a denial is a yes/no. */
	t = test_say(&s, ptok, "i want to kill myself");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "safety.crisis");
	ASSERT_STR_EQ(expects_kind(t), "text");
	ASSERT_STR_EQ(expects_value(t, 0), "show my safety plan");
	json_decref(t);
	t = test_say(&s, ptok, "I'm fine, you misunderstood");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "safety.confirm");
	ASSERT_STR_EQ(expects_kind(t), "yes_no");
	json_decref(t);

	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

/* A turn reads its key, conversation, safety plan and care team in one statement, and on
 * PostgreSQL writes the conversation with the message in one statement: what it reads is
 * each patient's own, the safety plan written through the API is the one the chat shows,
 * the stored conversation follows every turn, and a care team whose only clinician is
 * disabled counts as none (the crisis reply then does not say the team was told). */
TEST(api_chat_turn_reads_and_writes_its_own_rows)
{
	struct test_server s;
	test_server_start(&s, NULL);
	int64_t cid = test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	int64_t a = test_register(&s, ctok, "a@example.org", 1);
	int64_t b = test_register(&s, ctok, "b@example.org", 1);
	char *atok = test_login(&s, "a@example.org");
	char *btok = test_login(&s, "b@example.org");

	/* A's safety plan, written before any turn: the chat's plan is A's, not B's. */
	struct test_resp r;
	test_call(&s, "PUT", "/api/v1/me/safety-plan", atok,
	          "{\"coping\": [\"walk the dog around the block\"]}", &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);

	const char *said[] = {"hello", "yes", "can we do some breathing", "stop"};
	for (size_t i = 0; i < 4; i++) {
		json_decref(test_say(&s, atok, said[i]));
		if (i < 2)
			json_decref(test_say(&s, btok, said[i]));
	}
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "SELECT COUNT(*) FROM conversations c WHERE c.patient_id = %lld AND c.turns = 4 "
	         "AND c.updated_at = (SELECT MAX(created_at) FROM messages m "
	         "WHERE m.patient_id = c.patient_id)",
	         (long long)a);
	ASSERT_EQ(sql_count(&s, sql), 1);
	snprintf(sql, sizeof(sql),
	         "SELECT COUNT(*) FROM conversations WHERE patient_id = %lld AND turns = 2",
	         (long long)b);
	ASSERT_EQ(sql_count(&s, sql), 1);
	ASSERT_EQ(sql_count(&s, "SELECT COUNT(*) FROM audit_log WHERE action = 'chat.write'"), 6);

	/* The plan A wrote is the plan the agent shows A; B has none. */
	json_t *t = test_say(&s, atok, "show my safety plan");
	ASSERT(strstr(json_string_value(json_object_get(t, "reply")), "walk the dog"));
	json_decref(t);
	t = test_say(&s, btok, "show my safety plan");
	ASSERT(!strstr(json_string_value(json_object_get(t, "reply")), "walk the dog"));
	json_decref(t);

	/* With an active clinician the crisis reply speaks of the care team; once the only
	 * clinician is disabled, B's crisis reply is the one for no care team. */
	t = test_say(&s, atok, "i want to kill myself");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "safety.crisis");
	char *with_team = strdup(json_string_value(json_object_get(t, "reply")));
	json_decref(t);
	test_exec_id(s.store, "UPDATE users SET disabled = 1 WHERE id = ?", cid);
	t = test_say(&s, btok, "i want to kill myself");
	ASSERT_STR_EQ(json_string_value(json_object_get(t, "state")), "safety.crisis");
	ASSERT(strcmp(json_string_value(json_object_get(t, "reply")), with_team) != 0);
	json_decref(t);

	free(with_team);
	free(ctok);
	free(atok);
	free(btok);
	test_server_stop(&s);
}
