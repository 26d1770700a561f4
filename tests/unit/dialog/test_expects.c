/*
 * test_expects.c: what a turn says the agent waits for (haven_dialog_expects, the turn's
 * "expects" over HTTP and in `haven chat --json`), so the web chat can offer quick replies.
 * Through the shipped content and the real agent: a yes/no node, a 0-10 scale with its end
 * labels, a PHQ-9 item with its answer words, a choice node, free text, and the crisis
 * protocol (the confirming question is a yes/no). Each time, sending an offered value as
 * the next message is an answer that fits: the conversation moves on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog_test.h"
#include "harness.h"

/* The turn's expects, as the API and the CLI add it. The caller json_decrefs. */
static json_t *expects_of(struct chat_fixture *f, json_t *turn)
{
	json_t *ex = haven_dialog_expects(f->d, turn_state(turn), turn_reply(turn));
	ASSERT(ex != NULL);
	return ex;
}

static const char *kind_of(json_t *ex)
{
	return json_string_value(json_object_get(ex, "kind"));
}

/* The value of option i of expects ("options"), or NULL. */
static const char *option_value(json_t *ex, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(ex, "options"), i),
						 "value"));
}

static const char *option_label(json_t *ex, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(ex, "options"), i),
						 "label"));
}

/* The label of point v of a scale's expects, or NULL. */
static const char *scale_label(json_t *ex, int v)
{
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(ex, "labels"), i, l)
	{
		if (json_integer_value(json_object_get(l, "value")) == v)
			return json_string_value(json_object_get(l, "label"));
	}
	return NULL;
}

TEST(expects_yes_no_node_and_the_yes_button_moves_on)
{
	struct chat_fixture f;
	chat_fixture_init(&f, NULL);
	json_t *t = chat_expect(&f, "hello", "onboarding.what");
	json_t *ex = expects_of(&f, t);
	ASSERT_STR_EQ(kind_of(ex), "yes_no");
	ASSERT_EQ(json_array_size(json_object_get(ex, "options")), 2);
	ASSERT_STR_EQ(option_label(ex, 0), "Yes");
	ASSERT_STR_EQ(option_label(ex, 1), "No");
	/* Pressing "Yes" sends its value. */
	json_t *t2 = chat_expect(&f, option_value(ex, 0), "onboarding.agreed");
	ASSERT(turn_has_action(t2, "onboarding_agreed", NULL));
	json_t *ex2 = expects_of(&f, t2);
	ASSERT_STR_EQ(kind_of(ex2), "text");
	ASSERT(json_object_get(ex2, "options") == NULL);
	json_decref(ex2);
	json_decref(t2);
	json_decref(ex);
	json_decref(t);
	chat_fixture_release(&f);
}

TEST(expects_scale_node_with_its_end_labels)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	json_t *t = chat_expect(&f, "can we do some breathing", "breathing.intro");
	json_t *ex = expects_of(&f, t);
	ASSERT_STR_EQ(kind_of(ex), "scale");
	ASSERT_EQ(json_integer_value(json_object_get(ex, "min")), 0);
	ASSERT_EQ(json_integer_value(json_object_get(ex, "max")), 10);
	/* "from 0 (calm) to 10 (extremely)" */
	ASSERT(scale_label(ex, 0) && scale_label(ex, 10));
	ASSERT_STR_EQ(scale_label(ex, 0), "calm");
	ASSERT_STR_EQ(scale_label(ex, 10), "extremely");
	ASSERT(json_object_get(ex, "options") == NULL);
	/* Pressing 7 sends "7": the rating is taken and the exercise goes on. */
	json_t *t2 = chat_expect(&f, "7", "breathing.guide");
	json_t *ex2 = expects_of(&f, t2);
	ASSERT_STR_EQ(kind_of(ex2), "text");
	json_decref(ex2);
	json_decref(t2);
	/* "Tell me when you're done" -> the after rating: a scale without labels. */
	json_t *t3 = chat_expect(&f, "done", "breathing.after");
	json_t *ex3 = expects_of(&f, t3);
	ASSERT_STR_EQ(kind_of(ex3), "scale");
	ASSERT_EQ(json_integer_value(json_object_get(ex3, "max")), 10);
	ASSERT_EQ(json_array_size(json_object_get(ex3, "labels")), 0);
	json_decref(ex3);
	json_decref(t3);
	json_decref(ex);
	json_decref(t);
	chat_fixture_release(&f);
}

TEST(expects_phq9_item_scale_has_the_answer_words)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	json_t *t = chat_say(&f, "phq9");
	/* The questionnaire may introduce itself first; answer yes/no nodes with yes. */
	for (int i = 0; i < 3 && strcmp(turn_state(t), "phq9.item1"); i++) {
		json_t *ex = expects_of(&f, t);
		ASSERT_STR_EQ(kind_of(ex), "yes_no");
		json_decref(t);
		t = chat_say(&f, option_value(ex, 0));
		json_decref(ex);
	}
	ASSERT_STR_EQ(turn_state(t), "phq9.item1");
	json_t *ex = expects_of(&f, t);
	ASSERT_STR_EQ(kind_of(ex), "scale");
	ASSERT_EQ(json_integer_value(json_object_get(ex, "min")), 0);
	ASSERT_EQ(json_integer_value(json_object_get(ex, "max")), 3);
	ASSERT_EQ(json_array_size(json_object_get(ex, "labels")), 4);
	ASSERT_STR_EQ(scale_label(ex, 0), "Not at all");
	ASSERT_STR_EQ(scale_label(ex, 3), "Nearly every day");
	chat_step(&f, "1", "phq9.item2");
	json_decref(ex);
	json_decref(t);
	chat_fixture_release(&f);
}

TEST(expects_choice_node_and_an_option_button_moves_on)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	json_t *t = chat_expect(&f, "worry time", "worry_time.intro");
	json_t *ex = expects_of(&f, t);
	ASSERT_STR_EQ(kind_of(ex), "yes_no");
	json_decref(t);
	t = chat_expect(&f, option_value(ex, 1), "worry_time.sort"); /* "no": straight to sorting */
	json_decref(ex);
	ex = expects_of(&f, t);
	ASSERT_STR_EQ(kind_of(ex), "text");
	json_decref(ex);
	json_decref(t);
	t = chat_expect(&f, "whether my train will be late tomorrow", "worry_time.kind");
	ex = expects_of(&f, t);
	ASSERT_STR_EQ(kind_of(ex), "choice");
	ASSERT_EQ(json_array_size(json_object_get(ex, "options")), 2);
	ASSERT_STR_EQ(option_label(ex, 0), "Practical");
	ASSERT_STR_EQ(option_value(ex, 0), "practical");
	ASSERT_STR_EQ(option_label(ex, 1), "Hypothetical");
	ASSERT_STR_EQ(option_value(ex, 1), "hypothetical");
	/* "Hypothetical" is taken: its advice is said and the flow closes. */
	json_t *t2 = chat_expect(&f, option_value(ex, 1), "home.again");
	ASSERT_CONTAINS(turn_reply(t2), "can't be solved by thinking harder");
	json_decref(t2);
	json_decref(ex);
	json_decref(t);
	chat_fixture_release(&f);
}

TEST(expects_in_the_crisis_protocol)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	json_t *t = chat_crisis(&f, "i want to kill myself");
	json_t *ex = expects_of(&f, t);
	/* Free text, with the offer of the safety plan as a suggested reply. */
	ASSERT_STR_EQ(kind_of(ex), "text");
	ASSERT_EQ(json_array_size(json_object_get(ex, "options")), 1);
	ASSERT_STR_EQ(option_value(ex, 0), "show my safety plan");
	json_decref(t);
	chat_step(&f, option_value(ex, 0), "safety.plan");
	json_decref(ex);
	/* A denial gets the one confirming question: a yes/no, offered as buttons. */
	t = chat_expect(&f, "I'm fine, you misunderstood", "safety.confirm");
	ex = expects_of(&f, t);
	ASSERT_STR_EQ(kind_of(ex), "yes_no");
	ASSERT_STR_EQ(option_value(ex, 0), "yes");
	ASSERT_STR_EQ(option_value(ex, 1), "no");
	json_decref(t);
	/* "Yes" keeps the protocol going. */
	t = chat_expect(&f, option_value(ex, 0), "safety.crisis_stay");
	json_decref(ex);
	ex = expects_of(&f, t);
	ASSERT_STR_EQ(kind_of(ex), "text");
	ASSERT_STR_EQ(option_value(ex, 0), "show my safety plan");
	json_decref(ex);
	json_decref(t);
	chat_fixture_release(&f);
}

TEST(expects_moderate_check_is_yes_no)
{
	struct chat_fixture f;
	chat_start(&f, NULL);
	json_t *t = chat_expect(&f, "everyone would be better off without me", "safety.check");
	json_t *ex = expects_of(&f, t);
	ASSERT_STR_EQ(kind_of(ex), "yes_no");
	json_decref(ex);
	json_decref(t);
	chat_fixture_release(&f);
}

/* Every node of the shipped content: the kind follows the node's expect, a choice offers
 * each option once, a scale gives its range; a state that is no node expects text. */
TEST(expects_every_shipped_node)
{
	struct chat_fixture f;
	chat_fixture_init(&f, NULL);
	const struct haven_content *c = haven_dialog_content(f.d);
	static const char *const kinds[] = {"text", "text", "yes_no", "scale", "choice"};
	for (size_t i = 0; i < c->nflows; i++) {
		const struct haven_flow *fl = &c->flows[i];
		for (size_t j = 0; j < fl->nnodes; j++) {
			const struct haven_node *n = &fl->nodes[j];
			char state[160];
			snprintf(state, sizeof(state), "%s.%s", fl->name, n->name);
			json_t *ex = haven_dialog_expects(f.d, state, n->says[0]);
			ASSERT(ex != NULL);
			if (strcmp(kind_of(ex), kinds[n->expect]))
				haven_test_fail(__FILE__, __LINE__, "%s: kind %s, node expects %s",
						state, kind_of(ex), kinds[n->expect]);
			if (n->expect == HAVEN_EXPECT_CHOICE)
				ASSERT_EQ(json_array_size(json_object_get(ex, "options")),
					  n->noptions);
			if (n->expect == HAVEN_EXPECT_SCALE) {
				ASSERT_EQ(json_integer_value(json_object_get(ex, "min")), n->lo);
				ASSERT_EQ(json_integer_value(json_object_get(ex, "max")), n->hi);
			}
			json_decref(ex);
		}
	}
	const char *odd[] = {"onboarding.declined", "nosuchflow.node", "home", "", NULL};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		json_t *ex = haven_dialog_expects(f.d, odd[i], NULL);
		ASSERT(ex != NULL);
		ASSERT_STR_EQ(kind_of(ex), "text");
		json_decref(ex);
	}
	chat_fixture_release(&f);
}
