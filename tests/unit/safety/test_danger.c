/*
 * test_danger.c: the danger-and-abuse screen (src/safety/danger.c): many messages per
 * category, negations, long ago, someone else, and figures of speech that must not fire.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "safety/danger.h"

struct exp {
	const char *text;
	enum haven_danger_level level;
	const char *category; /* NULL: any */
};

static void check(const struct exp *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct haven_danger_result r;
		haven_danger_screen(e[i].text, strlen(e[i].text), &r);
		if (r.level != e[i].level)
			haven_test_fail(__FILE__, __LINE__, "\"%s\": level %s, expected %s (rule %s)",
					e[i].text, haven_danger_level_name(r.level),
					haven_danger_level_name(e[i].level), r.rule ? r.rule : "-");
		if (e[i].category && (!r.category || strcmp(r.category, e[i].category)))
			haven_test_fail(__FILE__, __LINE__, "\"%s\": category %s, expected %s",
					e[i].text, r.category ? r.category : "-", e[i].category);
		/* every judgement carries its reasons */
		if (r.level != HAVEN_DANGER_NONE) {
			int found = 0;
			for (size_t k = 0; k < r.n_reasons; k++)
				found |= r.reasons[k].level == r.level && r.reasons[k].phrase[0] &&
					 r.reasons[k].description;
			if (!found)
				haven_test_fail(__FILE__, __LINE__, "\"%s\": no reason", e[i].text);
		}
	}
}

#define N(a) (sizeof(a) / sizeof(a[0]))

TEST(danger_now)
{
	static const struct exp e[] = {
	    {"he is going to kill me", HAVEN_DANGER_NOW, HAVEN_DANGER_VIOLENCE},
	    {"He's going to kill me", HAVEN_DANGER_NOW, NULL},
	    {"hes gonna kill me", HAVEN_DANGER_NOW, NULL},
	    {"I'm scared he will hurt me tonight", HAVEN_DANGER_NOW, NULL},
	    {"my husband said he will kill me", HAVEN_DANGER_NOW, NULL},
	    {"he's outside with a knife", HAVEN_DANGER_NOW, HAVEN_DANGER_VIOLENCE},
	    {"my ex is outside and he has a gun", HAVEN_DANGER_NOW, NULL},
	    {"help he is hitting me", HAVEN_DANGER_NOW, NULL},
	    {"my boyfriend is going to hurt me", HAVEN_DANGER_NOW, NULL},
	    {"my husband will kill me if I leave him", HAVEN_DANGER_NOW, NULL},
	    {"my partner hit me and he's coming back tonight", HAVEN_DANGER_NOW, NULL},
	    {"my dad is going to kill me, he has a knife", HAVEN_DANGER_NOW, NULL},
	    {"i'm hiding in the bathroom, he strangled me", HAVEN_DANGER_NOW, NULL},
	};
	check(e, N(e));
}

TEST(danger_disclosed_violence_and_domestic)
{
	static const struct exp e[] = {
	    {"my husband strangled me last night", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_VIOLENCE},
	    {"he choked me during an argument", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_VIOLENCE},
	    {"he put his hands around my neck", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_VIOLENCE},
	    {"my partner hits me", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_DOMESTIC},
	    {"my boyfriend hurts me", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_DOMESTIC},
	    {"my wife slapped me again", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_DOMESTIC},
	    {"he threatened to kill me last month", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_VIOLENCE},
	    {"he won't let me see my friends", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_DOMESTIC},
	    {"my partner takes all my money and checks my phone", HAVEN_DANGER_DISCLOSED,
	     HAVEN_DANGER_DOMESTIC},
	    {"i'm in an abusive relationship", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_DOMESTIC},
	    {"I am scared of my husband", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_DOMESTIC},
	    {"i don't feel safe at home", HAVEN_DANGER_DISCLOSED, NULL},
	    {"he locks me in the house", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_DOMESTIC},
	    {"he held a knife to my throat", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_VIOLENCE},
	};
	check(e, N(e));
}

TEST(danger_disclosed_sexual_and_child)
{
	static const struct exp e[] = {
	    {"I was raped last week", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_SEXUAL},
	    {"i got sexually assaulted at a party", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_SEXUAL},
	    {"he forced me to have sex", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_SEXUAL},
	    {"my stepfather touches me and I'm scared", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_CHILD},
	    {"my uncle molested me", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_CHILD},
	    {"my dad hits me", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_CHILD},
	    {"i'm 14 and my mum beats me", HAVEN_DANGER_DISCLOSED, HAVEN_DANGER_CHILD},
	    {"my dad hit me when I was a kid", HAVEN_DANGER_DISCLOSED, NULL},
	};
	check(e, N(e));
	struct haven_danger_result r;
	const char *t = "my stepfather touches me and I'm scared";
	haven_danger_screen(t, strlen(t), &r);
	ASSERT(r.urgent);
	ASSERT(r.categories & HAVEN_DANGER_BIT_CHILD);
	ASSERT(r.categories & HAVEN_DANGER_BIT_SEXUAL);
	t = "my dad hit me when I was a kid";
	haven_danger_screen(t, strlen(t), &r);
	ASSERT(r.historical);
	ASSERT(!r.urgent);
	t = "my husband strangled me last night";
	haven_danger_screen(t, strlen(t), &r);
	ASSERT(r.urgent); /* strangling is a high-lethality sign */
	t = "he won't let me see my friends";
	haven_danger_screen(t, strlen(t), &r);
	ASSERT(!r.urgent);
}

TEST(danger_someone_else)
{
	static const struct exp e[] = {
	    {"my friend's husband hits her", HAVEN_DANGER_OTHER, NULL},
	    {"my sister's boyfriend beats her", HAVEN_DANGER_OTHER, NULL},
	    {"my friend was raped", HAVEN_DANGER_OTHER, NULL},
	    {"my neighbour hits his kids", HAVEN_DANGER_OTHER, HAVEN_DANGER_CHILD},
	    {"my mum is scared of her boyfriend", HAVEN_DANGER_OTHER, NULL},
	};
	check(e, N(e));
}

TEST(danger_medication_questions)
{
	static const struct exp e[] = {
	    {"should I take more of my sleeping pills", HAVEN_DANGER_MEDICATION,
	     HAVEN_DANGER_MEDICATION_Q},
	    {"should I double my dose of sertraline", HAVEN_DANGER_MEDICATION, NULL},
	    {"can I stop taking my antidepressants", HAVEN_DANGER_MEDICATION, NULL},
	    {"is it safe to drink on my meds", HAVEN_DANGER_MEDICATION, NULL},
	    {"how many mg of melatonin should I take", HAVEN_DANGER_MEDICATION, NULL},
	    {"what dose of zoloft is normal", HAVEN_DANGER_MEDICATION, NULL},
	    {"can I mix xanax with my antidepressants", HAVEN_DANGER_MEDICATION, NULL},
	    /* an amount longer than one gap between the verb and the medicine */
	    {"should I take 2 more of my sleeping pills", HAVEN_DANGER_MEDICATION,
	     HAVEN_DANGER_MEDICATION_Q},
	    {"can i have another 2 of my diazepam tonight", HAVEN_DANGER_MEDICATION, NULL},
	    {"is it ok to take an extra half of my zopiclone", HAVEN_DANGER_MEDICATION, NULL},
	};
	check(e, N(e));
}

TEST(danger_negatives)
{
	static const struct exp e[] = {
	    /* figures of speech */
	    {"my boss is going to kill me if I'm late", HAVEN_DANGER_NONE, NULL},
	    {"this workout is killing me", HAVEN_DANGER_NONE, NULL},
	    {"my sister will murder me", HAVEN_DANGER_NONE, NULL},
	    {"my mum is going to kill me when she sees my grades", HAVEN_DANGER_NONE, NULL},
	    {"my teacher will kill me lol", HAVEN_DANGER_NONE, NULL},
	    {"my feet are killing me", HAVEN_DANGER_NONE, NULL},
	    {"he'll kill me if I forget his birthday again", HAVEN_DANGER_NONE, NULL},
	    /* negation */
	    {"he never hit me", HAVEN_DANGER_NONE, NULL},
	    {"my husband has never hurt me", HAVEN_DANGER_NONE, NULL},
	    {"he would never hurt me", HAVEN_DANGER_NONE, NULL},
	    {"my partner doesn't hit me, we just argue", HAVEN_DANGER_NONE, NULL},
	    {"I'm not scared of him", HAVEN_DANGER_NONE, NULL},
	    /* ordinary life */
	    {"I feel safe at home", HAVEN_DANGER_NONE, NULL},
	    {"my boyfriend touches my hair and it calms me", HAVEN_DANGER_NONE, NULL},
	    {"I feel really anxious today", HAVEN_DANGER_NONE, NULL},
	    {"I took my pills this morning", HAVEN_DANGER_NONE, NULL},
	    {"I can't sleep", HAVEN_DANGER_NONE, NULL},
	    {"my brother hit the ball over the fence", HAVEN_DANGER_NONE, NULL},
	    {"the news about the knife attack upset me", HAVEN_DANGER_NONE, NULL},
	    {"he hit the nail on the head", HAVEN_DANGER_NONE, NULL},
	    {"", HAVEN_DANGER_NONE, NULL},
	};
	check(e, N(e));
}

TEST(danger_helplines_per_region)
{
	static const char lines_txt[] =
	    "region US\nname United States\nlocales en-US\nline L\nemergency 911\n"
	    "region GB\nname United Kingdom\nlocales en-GB\nline L\nemergency 999\n"
	    "region FR\nname France\nlocales fr-FR\nline L\nemergency 112\n"
	    "region IE\nname Ireland\nlocales en-IE\nline L\nemergency 112\n"
	    "region INTL\nname International\nlocales *\nline L\nemergency E\n"
	    "directory findahelpline.com\n";
	struct haven_crisis_lines *l = NULL;
	char err[200];
	ASSERT_OK(haven_crisis_lines_parse(lines_txt, strlen(lines_txt), "t", &l, err, sizeof(err)));
	struct haven_buf b;
	haven_buf_init(&b, 8192);
	ASSERT_OK(haven_danger_helplines(l, haven_crisis_lines_for(l, "en-US"),
					 HAVEN_DANGER_BIT_DOMESTIC, &b));
	ASSERT_CONTAINS(b.data, "1-800-799-7233");
	ASSERT_CONTAINS(b.data, "START to 88788");
	haven_buf_reset(&b);
	ASSERT_OK(haven_danger_helplines(l, haven_crisis_lines_for(l, "en-GB"),
					 HAVEN_DANGER_BIT_SEXUAL | HAVEN_DANGER_BIT_CHILD, &b));
	ASSERT_CONTAINS(b.data, "0808 500 2222");
	ASSERT_CONTAINS(b.data, "0800 1111");
	haven_buf_reset(&b);
	ASSERT_OK(haven_danger_helplines(l, haven_crisis_lines_for(l, "fr-FR"),
					 HAVEN_DANGER_BIT_DOMESTIC, &b));
	ASSERT_CONTAINS(b.data, "findahelpline.com");
	haven_buf_reset(&b);
	/* checked 2026-12-03 (docs/safety.md, "Helplines, checked") */
	ASSERT_OK(haven_danger_helplines(l, haven_crisis_lines_for(l, "en-IE"),
					 HAVEN_DANGER_BIT_SEXUAL | HAVEN_DANGER_BIT_DOMESTIC, &b));
	ASSERT_CONTAINS(b.data, "1800 77 88 88");
	ASSERT_CONTAINS(b.data, "1800 341 900");
	haven_buf_reset(&b);
	ASSERT_OK(haven_danger_reply("now", l, haven_crisis_lines_for(l, "en-US"),
				     HAVEN_DANGER_BIT_VIOLENCE, 1, &b));
	ASSERT_CONTAINS(b.data, "call 911 now");
	ASSERT_CONTAINS(b.data, "care team");
	ASSERT(!strchr(b.data, '{'));
	/* Without a care team no reply says one was told, and each still gives the lines. */
	static const char *const which[] = {"now", "disclosed", "other", "confirm", "stay_note"};
	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		haven_buf_reset(&b);
		ASSERT_OK(haven_danger_reply(which[i], l, haven_crisis_lines_for(l, "en-US"),
					     HAVEN_DANGER_BIT_DOMESTIC, 0, &b));
		if (strstr(b.data, "care team"))
			haven_test_fail(__FILE__, __LINE__, "reply %s without a care team: %s",
					which[i], b.data);
		ASSERT(!strchr(b.data, '{'));
		if (strcmp(which[i], "confirm"))
			ASSERT_CONTAINS(b.data, "1-800-799-7233");
	}
	haven_buf_reset(&b);
	ASSERT_OK(haven_danger_reply("disclosed", l, haven_crisis_lines_for(l, "en-US"),
				     HAVEN_DANGER_BIT_DOMESTIC, 1, &b));
	ASSERT_CONTAINS(b.data, "I've let your care team know");
	haven_buf_release(&b);
	haven_crisis_lines_destroy(&l);
}
