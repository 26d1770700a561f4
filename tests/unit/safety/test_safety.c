/*
 * test_safety.c: the crisis protocol's state machine (haven_safety_decide) and the phrase
 * rules beside it. The contract (DESIGN.md, "Safety protocol"): in the protocol nothing said
 * once ends it; a denial, or asking to end it, gets the one confirming question; only a
 * clear "no" to that question ends it; a hedge is not a clear "no".
 */
#include <string.h>

#include "harness.h"
#include "safety/safety.h"

static void decide(enum haven_safety_mode mode, const struct haven_safety_input *in,
		   struct haven_safety_result *r)
{
	haven_safety_decide(mode, 0, in, r);
}

/* Every single message in the protocol, whatever it says, keeps the protocol running. */
TEST(safety_protocol_one_message_never_ends_it)
{
	struct haven_crisis_result none = {.level = HAVEN_RISK_NONE};
	for (int denial = 0; denial < 2; denial++)
		for (int yesno = -1; yesno <= 1; yesno++)
			for (int plan = 0; plan < 2; plan++)
				for (int end = 0; end < 2; end++)
					for (int unsure = 0; unsure < 2; unsure++) {
						struct haven_safety_input in = {
						    .crisis = &none, .denial = denial, .yesno = yesno,
						    .wants_plan = plan, .wants_end = end,
						    .unsure = unsure};
						struct haven_safety_result r;
						decide(HAVEN_SAFETY_MODE_CRISIS, &in, &r);
						ASSERT(r.step == HAVEN_SAFETY_SAY);
						ASSERT(r.mode == HAVEN_SAFETY_MODE_CRISIS ||
						       r.mode == HAVEN_SAFETY_MODE_CONFIRM);
					}
}

TEST(safety_protocol_denial_or_asking_to_end_asks_the_question)
{
	struct haven_crisis_result none = {.level = HAVEN_RISK_NONE};
	struct haven_safety_result r;
	struct haven_safety_input denial = {.crisis = &none, .denial = 1, .yesno = -1};
	decide(HAVEN_SAFETY_MODE_CRISIS, &denial, &r);
	ASSERT_STR_EQ(r.say, "confirm");
	ASSERT_STR_EQ(r.rule, "denial");
	struct haven_safety_input end = {.crisis = &none, .wants_end = 1, .yesno = -1};
	decide(HAVEN_SAFETY_MODE_CRISIS, &end, &r);
	ASSERT_STR_EQ(r.say, "confirm");
	ASSERT_STR_EQ(r.rule, "wants_end");
	ASSERT(r.mode == HAVEN_SAFETY_MODE_CONFIRM);
	ASSERT(r.answer == NULL);
	/* without either, the protocol just goes on */
	struct haven_safety_input other = {.crisis = &none, .yesno = -1};
	decide(HAVEN_SAFETY_MODE_CRISIS, &other, &r);
	ASSERT_STR_EQ(r.say, "crisis_stay");
}

TEST(safety_protocol_ends_only_on_a_clear_no)
{
	struct haven_crisis_result none = {.level = HAVEN_RISK_NONE};
	struct haven_crisis_result moderate = {.level = HAVEN_RISK_MODERATE};
	struct haven_safety_result r;
	struct haven_safety_input no = {.crisis = &none, .yesno = 0};
	decide(HAVEN_SAFETY_MODE_CONFIRM, &no, &r);
	ASSERT(r.step == HAVEN_SAFETY_RESUME);
	ASSERT_STR_EQ(r.say, "confirm_no");
	ASSERT_STR_EQ(r.answer, "no");
	ASSERT(r.mode == HAVEN_SAFETY_MODE_NONE);
	ASSERT(!r.raise_alert);
	/* a hedged no, a no with risk in it, a yes, an unclear answer or asking to stop:
	 * the protocol stays */
	struct haven_safety_input cases[] = {
	    {.crisis = &none, .yesno = 0, .unsure = 1},
	    {.crisis = &none, .denial = 1, .yesno = -1, .unsure = 1},
	    {.crisis = &moderate, .yesno = 0},
	    {.crisis = &none, .yesno = 1},
	    {.crisis = &none, .yesno = -1},
	    {.crisis = &none, .yesno = -1, .wants_end = 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decide(HAVEN_SAFETY_MODE_CONFIRM, &cases[i], &r);
		if (r.step != HAVEN_SAFETY_SAY || r.mode != HAVEN_SAFETY_MODE_CRISIS)
			haven_test_fail(__FILE__, __LINE__, "case %zu left the protocol (%s)", i,
					r.rule);
	}
	/* the yes is recorded and refreshes the alert */
	decide(HAVEN_SAFETY_MODE_CONFIRM, &cases[3], &r);
	ASSERT_STR_EQ(r.answer, "yes");
	ASSERT(r.raise_alert);
}

TEST(safety_direct_question_hedge_is_not_a_no)
{
	struct haven_crisis_result none = {.level = HAVEN_RISK_NONE};
	struct haven_safety_result r;
	struct haven_safety_input hedge = {.crisis = &none, .yesno = 0, .unsure = 1};
	haven_safety_decide(HAVEN_SAFETY_MODE_CHECK, 0, &hedge, &r);
	ASSERT_STR_EQ(r.say, "check");
	ASSERT(r.mode == HAVEN_SAFETY_MODE_CHECK);
	struct haven_safety_input no = {.crisis = &none, .yesno = 0};
	haven_safety_decide(HAVEN_SAFETY_MODE_CHECK, 0, &no, &r);
	ASSERT(r.step == HAVEN_SAFETY_RESUME);
}

TEST(safety_phrases_wants_to_end_and_unsure)
{
	static const char *const end[] = {"can we stop", "I called my sister and I feel calmer now",
					  "can we go back to the breathing", "I feel safer now",
					  "I rang the Samaritans", "I want to stop this"};
	for (size_t i = 0; i < sizeof(end) / sizeof(end[0]); i++)
		if (!haven_safety_wants_to_end(end[i], strlen(end[i])))
			haven_test_fail(__FILE__, __LINE__, "not read as wanting to end: %s", end[i]);
	static const char *const not_end[] = {"I want to end it all", "I can't go on",
					      "nobody would care", "I have the pills here"};
	for (size_t i = 0; i < sizeof(not_end) / sizeof(not_end[0]); i++)
		if (haven_safety_wants_to_end(not_end[i], strlen(not_end[i])))
			haven_test_fail(__FILE__, __LINE__, "read as wanting to end: %s", not_end[i]);
	static const char *const unsure[] = {"I don't know", "maybe later", "not sure", "kind of",
					     "idk", "no I guess"};
	for (size_t i = 0; i < sizeof(unsure) / sizeof(unsure[0]); i++)
		if (!haven_safety_is_unsure(unsure[i], strlen(unsure[i])))
			haven_test_fail(__FILE__, __LINE__, "not read as unsure: %s", unsure[i]);
	static const char *const clear[] = {"no", "No, I'm not", "no I'm safe", "not at all"};
	for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++)
		if (haven_safety_is_unsure(clear[i], strlen(clear[i])))
			haven_test_fail(__FILE__, __LINE__, "read as unsure: %s", clear[i]);
}
