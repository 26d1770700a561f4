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

/* ---- the protocol's closing words ---- */

static const char *const thoughts_close = "If those thoughts come back";

/* After thoughts of suicide: the words about those thoughts and the crisis lines. */
TEST(resume_wording_close_after_thoughts_of_suicide)
{
	for (int team = 0; team < 2; team++) {
		struct chat_fixture f;
		chat_start(&f, NULL);
		if (team)
			chat_add_clinician(&f, 0);
		chat_step(&f, "can we do some breathing", "breathing.intro");
		json_decref(chat_crisis(&f, "i want to kill myself"));
		chat_step(&f, "I'm fine, you misunderstood", "safety.confirm");
		json_t *t = chat_expect(&f, "no", "breathing.intro");
		ASSERT_CONTAINS(turn_reply(t), thoughts_close);
		ASSERT_CONTAINS(turn_reply(t), "988");
		ASSERT(!strstr(turn_reply(t), "1-800-799-7233"));
		ASSERT(!strstr(turn_reply(t), "in danger from anyone"));
		ASSERT(!strstr(turn_reply(t), team ? "If you see a doctor" : "care team has been told"));
		json_decref(t);
		chat_fixture_release(&f);
	}
}

/* After danger from someone now, and after "yes, I'm in danger" to the abuse flow: nothing
 * about "those thoughts"; the emergency number and the helplines for what was disclosed;
 * the care-team words only when there is one. */
TEST(resume_wording_close_after_danger_from_someone_else)
{
	static const struct {
		const char *locale, *disclosure, *line, *emergency;
		int via_abuse_flow;
	} cases[] = {
	    {"en-US", "he is going to kill me", "1-800-799-7233", "911", 0},
	    {"en-GB", "he's outside with a knife", "0808 2000 247", "999", 0},
	    {"en-US", "my partner hits me", "1-800-799-7233", "911", 1},
	    {"en-US", "I was raped last week", "1-800-656-4673", "911", 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (int team = 0; team < 2; team++) {
			struct chat_fixture f;
			chat_start(&f, cases[i].locale);
			if (team)
				chat_add_clinician(&f, 0);
			chat_step(&f, "can we do some breathing", "breathing.intro");
			if (cases[i].via_abuse_flow) {
				chat_step(&f, cases[i].disclosure, "abuse.answer");
				json_decref(chat_crisis(&f, "yes"));
			} else
				json_decref(chat_crisis(&f, cases[i].disclosure));
			chat_step(&f, "I'm fine", "safety.confirm");
			json_t *t = chat_expect(&f, "no", "breathing.intro");
			const char *r = turn_reply(t);
			ASSERT(!strcasestr(r, "those thoughts"));
			ASSERT(!strcasestr(r, "thoughts come back"));
			ASSERT_CONTAINS(r, "never your fault");
			ASSERT_CONTAINS(r, cases[i].line);
			ASSERT_CONTAINS(r, cases[i].emergency);
			ASSERT_CONTAINS(r, "Let's go back to where we were.");
			if (team)
				ASSERT_CONTAINS(r, "care team has been told");
			else
				ASSERT(!strstr(r, "care team"));
			json_decref(t);
			chat_fixture_release(&f);
		}
}

/* Both: thoughts of suicide, then danger from someone in the same protocol: the closing
 * words speak of both, with the crisis lines and the helplines. */
TEST(resume_wording_close_after_thoughts_and_danger)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	chat_step(&f, "can we do some breathing", "breathing.intro");
	json_decref(chat_crisis(&f, "i want to kill myself"));
	json_t *t = chat_say(&f, "and he is going to kill me");
	ASSERT(!strncmp(turn_state(t), "safety.", 7));
	json_decref(t);
	chat_step(&f, "I'm fine", "safety.confirm");
	t = chat_expect(&f, "no", "breathing.intro");
	ASSERT_CONTAINS(turn_reply(t), "988");
	ASSERT_CONTAINS(turn_reply(t), "1-800-799-7233");
	ASSERT_CONTAINS(turn_reply(t), "ever in danger");
	ASSERT_CONTAINS(turn_reply(t), "thoughts");
	json_decref(t);
	chat_fixture_release(&f);
}
