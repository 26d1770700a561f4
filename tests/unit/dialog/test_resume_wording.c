/*
 * test_resume_wording.c: the words around a way back (issue 4). A step that reflects the
 * person's feeling ("it sounds like you're feeling X"), said again after the crisis protocol
 * or an aside, names the feeling the person expressed at that step (kept with the flow's
 * slots), not one heard in the latest message (the crisis message, the "no"). And the
 * protocol's closing words fit why it ran: thoughts of suicide or self-harm, danger from
 * someone else, or both. Through the shipped agent over a real database.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dialog_test.h"
#include "harness.h"

/* The feeling named in "It sounds like you're feeling X." or "a sense of feeling X.", or ""
 * when the reply names none. */
static void named_feeling(const char *reply, char *out, size_t n)
{
	static const char *const leads[] = {"you're feeling ", "a sense of feeling "};
	out[0] = '\0';
	for (size_t i = 0; i < 2; i++) {
		const char *p = strstr(reply, leads[i]);
		if (!p)
			continue;
		p += strlen(leads[i]);
		size_t k = strcspn(p, ".");
		if (k >= n)
			k = n - 1;
		memcpy(out, p, k);
		out[k] = '\0';
		return;
	}
}

/* The check-in up to its reflection, the feeling heard in words; returns the feeling named. */
static void checkin_to_reflect(struct chat_fixture *f, char *feeling, size_t n)
{
	chat_step(f, "can we do a mood check-in", "checkin.mood");
	chat_step(f, "2", "checkin.low");
	json_t *t = chat_expect(f, "I feel so sad and lonely, nobody cares", "checkin.reflect");
	named_feeling(turn_reply(t), feeling, n);
	json_decref(t);
	ASSERT(feeling[0]);
	ASSERT(strcmp(feeling, "a mix of things"));
}

TEST(resume_wording_checkin_reflection_keeps_its_feeling_after_the_protocol)
{
	for (int restart = 0; restart < 2; restart++) {
		struct chat_fixture f;
		chat_start(&f, NULL);
		char before[96], after[96];
		checkin_to_reflect(&f, before, sizeof(before));
		json_decref(chat_crisis(&f, "i want to kill myself"));
		if (restart)
			chat_fixture_restart(&f);
		chat_step(&f, "I'm fine, you misunderstood", "safety.confirm");
		json_t *t = chat_expect(&f, "no", "checkin.reflect");
		ASSERT_CONTAINS(turn_reply(t), "Let's go back to where we were.");
		const char *back = strstr(turn_reply(t), "Let's go back to where we were.");
		named_feeling(back, after, sizeof(after));
		ASSERT_STR_EQ(after, before);
		json_decref(t);
		chat_fixture_release(&f);
	}
}

/* The same after an aside answered at once (a medication question) and after the abuse
 * flow: neither message's feeling is named at the step. */
TEST(resume_wording_checkin_reflection_keeps_its_feeling_after_asides)
{
	static const char *const asides[] = {"should I take more of my sleeping pills",
					     "do i have depression?"};
	for (size_t i = 0; i < 2; i++) {
		struct chat_fixture f;
		chat_start(&f, NULL);
		char before[96], after[96];
		checkin_to_reflect(&f, before, sizeof(before));
		json_t *t = chat_expect(&f, asides[i], "checkin.reflect");
		named_feeling(strstr(turn_reply(t), "Let's go back to where we were."), after,
			      sizeof(after));
		ASSERT_STR_EQ(after, before);
		json_decref(t);
		chat_fixture_release(&f);
	}
	struct chat_fixture f;
	chat_start(&f, NULL);
	char before[96], after[96];
	checkin_to_reflect(&f, before, sizeof(before));
	chat_step(&f, "my partner hits me and I'm so angry and scared", "abuse.answer");
	chat_step(&f, "no", "abuse.support");
	json_t *t = chat_expect(&f, "no", "checkin.reflect");
	named_feeling(strstr(turn_reply(t), "Let's go back to where we were."), after, sizeof(after));
	ASSERT_STR_EQ(after, before);
	json_decref(t);
	chat_fixture_release(&f);
}

/* "heard": the check-in begun from "I feel ..." at home names that message's feeling; a
 * crisis there, then "no", names it again, not the crisis message's. */
TEST(resume_wording_checkin_heard_keeps_its_feeling)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	json_t *t = chat_say(&f, "I feel really anxious and worried today");
	if (strcmp(turn_state(t), "checkin.heard")) {
		/* The intent model routes elsewhere: nothing to check here. */
		json_decref(t);
		chat_fixture_release(&f);
		return;
	}
	char before[96], after[96];
	named_feeling(turn_reply(t), before, sizeof(before));
	json_decref(t);
	json_decref(chat_crisis(&f, "i want to kill myself, i'm so angry at everyone"));
	chat_step(&f, "I'm fine", "safety.confirm");
	t = chat_expect(&f, "no", "checkin.heard");
	named_feeling(strstr(turn_reply(t), "Let's go back to where we were."), after, sizeof(after));
	ASSERT_STR_EQ(after, before);
	json_decref(t);
	chat_fixture_release(&f);
}
