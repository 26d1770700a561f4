/*
 * test_safety_flows.c: the crisis protocol from every flow. For each flow a person can
 * start (its intents), the first example of the intent in content/intents/intents.tsv
 * starts it; then, at its first node and one answer later, a crisis message (explicit,
 * slang, misspelt and indirect in turn) must run the protocol with an urgent alert, its
 * end (a clear "no") must go back to the node the person was at, and a figure of speech
 * must not run it. Checked against the shipped content, so a new flow is covered the day
 * it is added.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog_test.h"
#include "harness.h"

/* The first example of intent in the intents file, or 0. */
static int example_for(const char *intent, char *out, size_t n)
{
	FILE *fp = fopen("content/intents/intents.tsv", "r");
	ASSERT(fp);
	char line[1024];
	int found = 0;
	while (!found && fgets(line, sizeof(line), fp)) {
		char *tab = strchr(line, '\t');
		if (!tab || line[0] == '#')
			continue;
		*tab = '\0';
		char *lab = tab + 1;
		lab[strcspn(lab, "\r\n")] = '\0';
		if (!strcmp(lab, intent)) {
			haven_strlcpy(out, line, n);
			found = 1;
		}
	}
	fclose(fp);
	return found;
}

static const char *const crises[] = {
    "i want to kill myself",          /* explicit */
    "honestly i just wanna kms",      /* slang */
    "i keep thinking about sucide",   /* misspelt */
    "I've written my goodbye letters", /* indirect: a goodbye */
    "i want to unalive myself",       /* slang */
    "I took all my pills an hour ago", /* an overdose already taken */
};

static const char *const figures[] = {
    "this traffic is killing me",
    "I nearly died laughing",
    "my feet are killing me",
};

/* Starts the flow fi in a fresh conversation; 0 when it cannot be started by words. where
 * (when not NULL, 112 bytes) gets the state it started at. */
static int start_flow(struct chat_fixture *f, const struct haven_flow *fl, char *said, size_t n,
		      char *where)
{
	if (!fl->nintents || !example_for(fl->intents[0], said, n))
		return 0;
	chat_onboard(f);
	json_t *t = chat_say(f, said);
	int ok = !strncmp(turn_state(t), fl->name, strlen(fl->name)) ||
		 !strncmp(turn_state(t), "home.", 5); /* one-node flows end at once */
	if (!ok)
		haven_test_fail(__FILE__, __LINE__, "\"%s\" did not start %s (state %s)", said,
				fl->name, turn_state(t));
	if (where)
		haven_strlcpy(where, turn_state(t), 112);
	json_decref(t);
	return 1;
}

TEST(safety_crisis_from_every_flow)
{
	struct chat_fixture probe;
	chat_fixture_init(&probe, NULL);
	const struct haven_content *c = haven_dialog_content(probe.d);
	size_t tried = 0, k = 0;
	for (size_t i = 0; i < c->nflows; i++) {
		const struct haven_flow *fl = &c->flows[i];
		for (int depth = 0; depth < 2; depth++) {
			struct chat_fixture f;
			chat_fixture_init(&f, NULL);
			char said[512], where[112];
			if (!start_flow(&f, fl, said, sizeof(said), where)) {
				chat_fixture_release(&f);
				break;
			}
			if (depth == 1) {
				json_t *a = chat_say(&f, "yes");
				haven_strlcpy(where, turn_state(a), sizeof(where));
				json_decref(a);
			}
			const char *msg = crises[k++ % (sizeof(crises) / sizeof(crises[0]))];
			json_t *t = chat_say(&f, msg);
			/* (An abuse disclosure with danger now is already in the protocol.) */
			if (strcmp(turn_level(t), "high") ||
			    strncmp(turn_state(t), "safety.crisis", 13) ||
			    !turn_has_action(t, "alert", "crisis_chat"))
				haven_test_fail(__FILE__, __LINE__,
						"flow %s (\"%s\", depth %d): \"%s\" gave %s, state %s",
						fl->name, said, depth, msg, turn_level(t),
						turn_state(t));
			json_decref(t);
			ASSERT_EQ(chat_count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = "
						 "'crisis_chat' AND severity = 'urgent'"),
				  1);
			/* One denial does not end it. */
			t = chat_say(&f, "you misunderstood me");
			ASSERT_STR_EQ(turn_state(t), "safety.confirm");
			json_decref(t);
			/* Its end, a clear "no", goes back to where the person was. */
			t = chat_say(&f, "no");
			if (strncmp(where, "safety.", 7) && strncmp(where, "abuse.", 6) &&
			    strcmp(turn_state(t), where) &&
			    !(!strncmp(where, "home.", 5) && !strcmp(turn_state(t), "home.again")))
				haven_test_fail(__FILE__, __LINE__, "flow %s: at %s, back at %s after "
						"the protocol", fl->name, where, turn_state(t));
			json_decref(t);
			tried++;
			chat_fixture_release(&f);
		}
	}
	chat_fixture_release(&probe);
	ASSERT(tried >= 30);
}

TEST(safety_figures_of_speech_in_every_flow)
{
	struct chat_fixture probe;
	chat_fixture_init(&probe, NULL);
	const struct haven_content *c = haven_dialog_content(probe.d);
	size_t tried = 0, k = 0;
	for (size_t i = 0; i < c->nflows; i++) {
		const struct haven_flow *fl = &c->flows[i];
		struct chat_fixture f;
		chat_fixture_init(&f, NULL);
		char said[512];
		if (!start_flow(&f, fl, said, sizeof(said), NULL)) {
			chat_fixture_release(&f);
			continue;
		}
		const char *msg = figures[k++ % (sizeof(figures) / sizeof(figures[0]))];
		/* Starting a flow may itself raise one (the abuse flow starts with a disclosure);
		 * the figure of speech must raise none. */
		long alerts_before = chat_count(&f, "SELECT COUNT(*) FROM alerts");
		json_t *t = chat_say(&f, msg);
		if (!strcmp(turn_level(t), "high") || !strcmp(turn_level(t), "moderate") ||
		    !strncmp(turn_state(t), "safety.", 7))
			haven_test_fail(__FILE__, __LINE__, "flow %s: \"%s\" gave %s, state %s",
					fl->name, msg, turn_level(t), turn_state(t));
		json_decref(t);
		ASSERT_EQ(chat_count(&f, "SELECT COUNT(*) FROM alerts"), alerts_before);
		tried++;
		chat_fixture_release(&f);
	}
	chat_fixture_release(&probe);
	ASSERT(tried >= 15);
}
