/*
 * test_crisis_resume.c: after the crisis protocol ends (one clear "no" to its confirming
 * question), the conversation goes back to where the person was (DESIGN.md, issue 4): the
 * interrupted flow at its step, with what they had already written kept. Through the shipped
 * agent over a real database, from a thought record and from the PHQ-9 in chat, and across a
 * restart in the middle of the protocol.
 */
#include <stdio.h>
#include <string.h>

#include "dialog_test.h"
#include "harness.h"

/* The protocol from a high-risk message to its end: a denial, then a clear "no". Returns
 * the last turn (the one that leaves the protocol); the caller json_decrefs. */
static json_t *crisis_to_its_end(struct chat_fixture *f, int restart_inside)
{
	json_decref(chat_crisis(f, "i want to kill myself"));
	if (restart_inside)
		chat_fixture_restart(f);
	chat_step(f, "I'm fine, you misunderstood", "safety.confirm");
	return chat_say(f, "no");
}

TEST(crisis_resume_thought_record_at_its_step_with_its_slots)
{
	for (int restart = 0; restart < 2; restart++) {
		struct chat_fixture f;
		chat_start(&f, NULL);
		chat_step(&f, "can we do a thought record", "thought_record.intro");
		chat_step(&f, "my manager criticised my report in the team meeting",
			  "thought_record.thought");
		json_t *t = crisis_to_its_end(&f, restart);
		/* The protocol's closing words, then the interrupted step asked again. */
		ASSERT_STR_EQ(turn_state(t), "thought_record.thought");
		ASSERT_CONTAINS(turn_reply(t), "What went through your mind");
		json_decref(t);
		/* The next agent turn continues the flow; the situation was kept. */
		t = chat_say(&f, "I'm useless and everyone can see it");
		ASSERT(!strncmp(turn_state(t), "thought_record.emotion", 22));
		json_decref(t);
		t = chat_say(&f, "ashamed");
		ASSERT(!strncmp(turn_state(t), "thought_record.intensity", 24));
		ASSERT_CONTAINS(turn_reply(t), "(ashamed)");
		json_decref(t);
		chat_fixture_release(&f);
	}
}

TEST(crisis_resume_phq9_at_its_item_with_its_answers)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	json_t *t = chat_say(&f, "phq9");
	for (int i = 0; i < 3 && strcmp(turn_state(t), "phq9.item1"); i++) {
		json_decref(t);
		t = chat_say(&f, "yes");
	}
	ASSERT_STR_EQ(turn_state(t), "phq9.item1");
	json_decref(t);
	static const char *const answers[] = {"1", "2", "1"};
	for (int i = 0; i < 3; i++)
		json_decref(chat_say(&f, answers[i]));
	t = crisis_to_its_end(&f, 0);
	ASSERT_STR_EQ(turn_state(t), "phq9.item4");
	json_decref(t);
	/* The rest of the questionnaire; items 1-3 were kept, so it is scored. */
	json_t *assessed = NULL;
	for (int i = 4; i <= 9; i++) {
		t = chat_say(&f, "0");
		size_t k;
		json_t *a;
		json_array_foreach(json_object_get(t, "actions"), k, a)
		{
			const char *type = json_string_value(json_object_get(a, "type"));
			if (type && !strcmp(type, "assessment"))
				assessed = json_incref(a);
		}
		json_decref(t);
	}
	ASSERT(assessed != NULL);
	ASSERT_EQ(json_integer_value(json_object_get(assessed, "total")), 4);
	json_decref(assessed);
	ASSERT_EQ(chat_count(&f, "SELECT COUNT(*) FROM assessments"), 1);
	chat_fixture_release(&f);
}

