/*
 * test_abuse_resume.c: an abuse disclosure made inside an exercise runs the abuse flow (its
 * words, helplines and alert: test_danger_chat.c) and then, like the crisis protocol
 * (test_crisis_resume.c), goes back to where the person was: the exercise at its step, with
 * what they had written kept. Also when the abuse flow's danger question is answered "yes"
 * and the crisis protocol runs: its end goes back to the exercise, not into the abuse flow.
 * Through the shipped agent over a real database.
 */
#include <stdio.h>
#include <string.h>

#include "dialog_test.h"
#include "harness.h"

static int64_t abuse_alerts(struct chat_fixture *f)
{
	return chat_count(f, "SELECT COUNT(*) FROM alerts WHERE kind = 'abuse_disclosed'");
}

TEST(abuse_disclosure_in_an_exercise_resumes_it)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_add_clinician(&f, 0);
	chat_activation_to_when(&f);
	json_t *t = chat_expect(&f, "my partner hits me", "abuse.answer");
	ASSERT_CONTAINS(turn_reply(t), "not your fault");
	json_decref(t);
	ASSERT_EQ(abuse_alerts(&f), 1);
	chat_step(&f, "no", "abuse.support");
	/* The abuse flow ends: back to the exercise's question, said again. */
	t = chat_expect(&f, "no", "activation.when");
	ASSERT_CONTAINS(turn_reply(t), "Let's go back to where we were.");
	ASSERT_CONTAINS(turn_reply(t), "When exactly will you do it?");
	json_decref(t);
	chat_activation_finish(&f);
	chat_fixture_release(&f);
}

TEST(abuse_disclosure_at_a_scale_question_resumes_it)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_step(&f, "can we do some breathing", "breathing.intro");
	chat_step(&f, "I was raped last week", "abuse.answer");
	chat_step(&f, "no", "abuse.support");
	json_t *t = chat_expect(&f, "no", "breathing.intro");
	ASSERT_CONTAINS(turn_reply(t), "Let's go back to where we were.");
	json_decref(t);
	chat_fixture_release(&f);
}

TEST(abuse_danger_now_in_an_exercise_ends_the_protocol_back_in_it)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_add_clinician(&f, 0);
	chat_activation_to_when(&f);
	chat_step(&f, "my partner hits me", "abuse.answer");
	json_decref(chat_crisis(&f, "yes"));
	chat_step(&f, "I'm fine", "safety.confirm");
	json_t *t = chat_expect(&f, "no", "activation.when");
	ASSERT_CONTAINS(turn_reply(t), "When exactly will you do it?");
	json_decref(t);
	/* The alert stays open; the exercise goes on with what was written. */
	ASSERT_EQ(chat_count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'crisis_chat' AND "
				 "status = 'open'"),
		  1);
	chat_activation_finish(&f);
	chat_fixture_release(&f);
}

/* Outside an exercise (here: just after the terms) there is nothing to go back to. */
TEST(abuse_disclosure_outside_an_exercise_ends_at_home)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_step(&f, "my partner hits me", "abuse.answer");
	chat_step(&f, "no", "abuse.support");
	json_t *t = chat_expect(&f, "no", "home.again");
	ASSERT(!strstr(turn_reply(t), "go back to where we were"));
	json_decref(t);
	chat_fixture_release(&f);
}
