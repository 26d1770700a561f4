/*
 * test_aside_resume.c: the out-of-scope requests a person makes inside an exercise (asking
 * for a diagnosis, about medication, to see or go through the safety plan, for help or for the
 * crisis number) are answered safely, as at home, and then the person is back at the
 * exercise's step with what they had written, the way an abuse disclosure goes back
 * (test_abuse_resume.c) and the crisis protocol (test_crisis_resume.c). "stop" still ends the
 * exercise. Through the shipped agent over a real database; every node of every flow is in
 * out_of_scope_at_every_node_answers_and_resumes_it (test_crisis_every_node.c).
 */
#include <stdio.h>
#include <string.h>

#include "dialog_test.h"
#include "harness.h"

static const char BACK[] = "Let's go back to where we were.";
static const char WHEN[] = "When exactly will you do it?";

static int64_t alerts(struct chat_fixture *f)
{
	return chat_count(f, "SELECT COUNT(*) FROM alerts");
}

/* The reply answers, then goes back: the answer's words come before BACK, the question of
 * the step after it. */
static void assert_back(json_t *t, const char *answer, const char *question)
{
	const char *r = turn_reply(t), *b = strstr(r, BACK);
	ASSERT_CONTAINS(r, BACK);
	ASSERT_CONTAINS(r, answer);
	ASSERT(strstr(r, answer) < b);
	ASSERT_CONTAINS(b, question);
}

TEST(aside_diagnosis_in_an_exercise_resumes_it)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_activation_to_when(&f);
	json_t *t = chat_expect(&f, "do i have depression?", "activation.when");
	assert_back(t, "I can't diagnose anything", WHEN);
	ASSERT_CONTAINS(turn_reply(t), "your doctor can help");
	/* The offer of a questionnaire is for when nothing else is going on. */
	ASSERT(!strstr(turn_reply(t), "Would you like to do one of those?"));
	ASSERT(!strcasestr(turn_reply(t), "you have depression"));
	ASSERT(strcmp(turn_level(t), "moderate") && strcmp(turn_level(t), "high"));
	json_decref(t);
	ASSERT_EQ(alerts(&f), 0);
	chat_activation_finish(&f);
	chat_fixture_release(&f);
}

TEST(aside_diagnosis_at_home_still_offers_a_questionnaire)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	json_t *t = chat_expect(&f, "do i have depression?", "diagnosis.answer");
	ASSERT_CONTAINS(turn_reply(t), "I can't diagnose anything");
	ASSERT_CONTAINS(turn_reply(t), "Would you like to do one of those?");
	ASSERT(!strstr(turn_reply(t), BACK));
	json_decref(t);
	chat_step(&f, "no", "home.again");
	chat_fixture_release(&f);
}

TEST(aside_medication_in_an_exercise_resumes_it)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_activation_to_when(&f);
	json_t *t = chat_expect(&f, "should i stop taking my sertraline", "activation.when");
	assert_back(t, "I can't give advice about medication", WHEN);
	ASSERT_CONTAINS(turn_reply(t), "pharmacist");
	ASSERT_CONTAINS(turn_reply(t),
	                "911"); /* taken more than prescribed: the emergency number */
	ASSERT(!strcasestr(turn_reply(t), "you should stop"));
	ASSERT(turn_has_action(t, "safety", NULL)); /* rule medication_question */
	json_decref(t);
	ASSERT_EQ(alerts(&f), 0);
	chat_activation_finish(&f);
	chat_fixture_release(&f);
}

/* At a scale question a rule's request is never taken for a rating ("2" in it). */
TEST(aside_medication_at_a_scale_question_is_not_a_rating)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_step(&f, "can we do some breathing", "breathing.intro");
	json_t *t = chat_expect(&f, "should I double my sertraline to 2 a day", "breathing.intro");
	ASSERT_CONTAINS(turn_reply(t), "I can't give advice about medication");
	ASSERT_CONTAINS(turn_reply(t), BACK); /* still at the question: "2" was no rating */
	json_decref(t);
	chat_fixture_release(&f);
}

TEST(aside_show_safety_plan_in_an_exercise_resumes_it)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_activation_to_when(&f);
	json_t *t = chat_expect(&f, "can i see my safety plan", "activation.when");
	assert_back(t, "Here is your safety plan.", WHEN);
	ASSERT_CONTAINS(turn_reply(t), "988");
	json_decref(t);
	chat_activation_finish(&f);
	chat_fixture_release(&f);
}

/* Going through the safety plan is a flow of its own: it runs, and its end goes back. */
TEST(aside_edit_safety_plan_runs_then_resumes)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_step(&f, "can we do some breathing", "breathing.intro");
	chat_step(&f, "edit my safety plan", "safety_plan.intro");
	json_t *t = chat_expect(&f, "no", "breathing.intro");
	ASSERT_CONTAINS(turn_reply(t), BACK);
	ASSERT_CONTAINS(turn_reply(t), "how tense or upset do you feel");
	json_decref(t);
	/* The exercise goes on, rated as before. */
	chat_step(&f, "7", "breathing.guide");
	chat_fixture_release(&f);
}

TEST(aside_help_in_an_exercise_resumes_it)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_step(&f, "can we do some breathing", "breathing.intro");
	json_t *t = chat_expect(&f, "help", "breathing.intro");
	assert_back(t, "Here's what I can help with", "how tense or upset do you feel");
	ASSERT_CONTAINS(turn_reply(t), "not an emergency service");
	json_decref(t);
	chat_fixture_release(&f);
}

TEST(aside_crisis_number_anywhere)
{
	struct chat_fixture f;
	/* Inside an exercise, at a free-text question: the lines, then back. */
	chat_start(&f, "en-GB");
	chat_activation_to_when(&f);
	json_t *t = chat_expect(&f, "what's the crisis number", "activation.when");
	assert_back(t, "116 123", WHEN);
	ASSERT_CONTAINS(turn_reply(t), "999");
	ASSERT(!strstr(turn_reply(t), "outside what I can help with"));
	ASSERT_STR_EQ(turn_level(t), "none");
	json_decref(t);
	ASSERT_EQ(alerts(&f), 0);
	chat_activation_finish(&f);
	chat_fixture_release(&f);
	/* At home: the lines, and home. */
	chat_start(&f, NULL);
	t = chat_expect(&f, "can you give me a helpline number", "home.again");
	ASSERT_CONTAINS(turn_reply(t), "988");
	ASSERT(!strstr(turn_reply(t), BACK));
	json_decref(t);
	chat_fixture_release(&f);
	/* The very first message, before the terms: the lines, then the terms. */
	chat_fixture_init(&f, NULL);
	t = chat_expect(&f, "who can i call?", "onboarding.what");
	ASSERT_CONTAINS(turn_reply(t), "988");
	ASSERT_CONTAINS(turn_reply(t), "Is that okay with you?");
	json_decref(t);
	chat_step(&f, "yes", "onboarding.agreed");
	chat_fixture_release(&f);
}

/* A line named in an answer is no request: it is the answer. */
TEST(aside_a_line_named_in_an_answer_is_the_answer)
{
	static const char *const asks[] = {"what's the crisis number", "give me a helpline",
	                                   "who can i call?", "is there a hotline i can text",
	                                   "I need the suicide line"};
	static const char *const not_asks[] = {"my GP and the crisis line", "the samaritans",
	                                       "calling the helpline helped last time",
	                                       "i need to call my sister"};
	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++)
		if (!haven_safety_asks_for_lines(asks[i], strlen(asks[i])))
			haven_test_fail(__FILE__, __LINE__, "\"%s\" not read as a request",
			                asks[i]);
	for (size_t i = 0; i < sizeof(not_asks) / sizeof(not_asks[0]); i++)
		if (haven_safety_asks_for_lines(not_asks[i], strlen(not_asks[i])))
			haven_test_fail(__FILE__, __LINE__, "\"%s\" read as a request",
			                not_asks[i]);
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_step(&f, "can we make a safety plan", "safety_plan.intro");
	chat_step(&f, "yes", "safety_plan.warning");
	chat_step(&f, "I stop sleeping", "safety_plan.coping");
	chat_step(&f, "music", "safety_plan.distract");
	chat_step(&f, "the park", "safety_plan.people");
	chat_step(&f, "my sister", "safety_plan.pros");
	json_t *t = chat_expect(&f, "my GP and the crisis line", "safety_plan.environment");
	ASSERT(turn_has_action(t, "safety_plan_updated", NULL));
	json_decref(t);
	chat_fixture_release(&f);
}

/* An aside inside an aside: the medication question at the abuse flow's danger question is
 * answered, the danger question asked again, and the abuse flow's end still goes back to the
 * exercise. */
TEST(aside_inside_an_aside_goes_back_to_each)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_activation_to_when(&f);
	chat_step(&f, "my partner hits me", "abuse.answer");
	json_t *t = chat_expect(&f, "should i stop taking my sertraline", "abuse.answer");
	assert_back(t, "I can't give advice about medication", "Are you in danger right now?");
	json_decref(t);
	chat_step(&f, "no", "abuse.support");
	t = chat_expect(&f, "no", "activation.when");
	ASSERT_CONTAINS(turn_reply(t), WHEN);
	json_decref(t);
	chat_activation_finish(&f);
	chat_fixture_release(&f);
}

/* An overdose already taken is no aside: the crisis protocol, whose end goes back to the
 * exercise's step with what was written. */
TEST(aside_overdose_taken_runs_the_protocol_and_resumes)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_activation_to_when(&f);
	json_decref(chat_crisis(&f, "I took all my pills an hour ago"));
	chat_step(&f, "I'm fine", "safety.confirm");
	json_t *t = chat_expect(&f, "no", "activation.when");
	ASSERT_CONTAINS(turn_reply(t), WHEN);
	json_decref(t);
	chat_activation_finish(&f);
	chat_fixture_release(&f);
}

/* "stop" ends the exercise, as it always did; another exercise asked for replaces it. */
TEST(aside_stop_and_another_exercise_still_end_it)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_activation_to_when(&f);
	json_t *t = chat_expect(&f, "stop", "home.again");
	ASSERT(!strstr(turn_reply(t), BACK));
	json_decref(t);
	chat_fixture_release(&f);
	chat_start(&f, NULL);
	chat_step(&f, "can we do some breathing", "breathing.intro");
	chat_step(&f, "can we do grounding", "grounding.intro");
	chat_fixture_release(&f);
	/* Choosing an exercise inside an aside: it replaces the aside and what it was to go
	 * back to. */
	chat_start(&f, NULL);
	chat_step(&f, "can we do some breathing", "breathing.intro");
	chat_step(&f, "edit my safety plan", "safety_plan.intro");
	chat_step(&f, "can we do grounding", "grounding.intro");
	chat_step(&f, "stop", "home.again");
	chat_fixture_release(&f);
}
