/* test_crisis_eval.c: the crisis screen on the evaluation sets of short chat messages
 * written for Haven (tests/data/crisis/). Every set's figures are printed and reported in
 * models/crisis.md and docs/crisis.md. The dev set is held to issue 3's targets (the rules
 * were tuned on it); the blind sets (blind to blind15), each run once blind and then tuned
 * on (blind8 and blind9 since lexicon 1.7.0, blind10 and blind11 since 1.8.0, blind12 to
 * blind15 since 1.9.0), are held to recall >= 0.98 and false alarms on everyday and
 * figurative messages <= 6%; the challenge set is printed only. blind16 to blind23, the
 * unseen sets (written blind, not tuned on), are printed only, and only when their files
 * exist; HAVEN_CRISIS_SHOW lists their disagreements only with HAVEN_CRISIS_SHOW_UNSEEN,
 * so that tuning on them is a choice, not an accident. Uses the shipped classifiers
 * (models/crisis.hvm, models/crisis_short.hvm) when they are installed.
 *
 *   build/asan/haven-tests crisis_eval                       # every set's figures
 *   HAVEN_CRISIS_SHOW=1 build/asan/haven-tests crisis_eval   # also every disagreement
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlp/crisis.h"

struct figures {
	size_t crisis, crisis_hit;       /* expected moderate or high; rated moderate or high */
	size_t everyday, false_alarm;    /* everyday and figurative; rated moderate or high */
	size_t plan, plan_high;          /* plan, intent, means; rated high */
	size_t calm, calm_alarm;         /* expected none or low; rated moderate or high */
	size_t rows, exact;
};

static enum haven_risk_level parse_level(const char *s)
{
	if (!strcmp(s, "high"))
		return HAVEN_RISK_HIGH;
	if (!strcmp(s, "moderate"))
		return HAVEN_RISK_MODERATE;
	if (!strcmp(s, "low"))
		return HAVEN_RISK_LOW;
	return HAVEN_RISK_NONE;
}

static void evaluate_file(struct haven_crisis *c, FILE *fp, const char *path, struct figures *f,
			  int show)
{
	char line[4096];
	memset(f, 0, sizeof(*f));
	int header = 1;
	while (fgets(line, sizeof(line), fp)) {
		if (header) {
			header = 0;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		char *t1 = strchr(line, '\t');
		char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t1 || !t2)
			continue;
		*t1 = *t2 = '\0';
		const char *text = line, *cat = t2 + 1;
		enum haven_risk_level want = parse_level(t1 + 1);
		struct haven_crisis_result r;
		haven_crisis_assess(c, text, strlen(text), &r);
		f->rows++;
		f->exact += r.level == want;
		if (want >= HAVEN_RISK_MODERATE) {
			f->crisis++;
			f->crisis_hit += r.level >= HAVEN_RISK_MODERATE;
		}
		if (want < HAVEN_RISK_MODERATE) {
			f->calm++;
			f->calm_alarm += r.level >= HAVEN_RISK_MODERATE;
		}
		if (!strcmp(cat, "everyday") || !strcmp(cat, "figurative")) {
			f->everyday++;
			f->false_alarm += r.level >= HAVEN_RISK_MODERATE;
		}
		if (!strcmp(cat, "plan") || !strcmp(cat, "intent") || !strcmp(cat, "means")) {
			f->plan++;
			f->plan_high += r.level == HAVEN_RISK_HIGH;
		}
		if (show && r.level != want)
			printf("    %-8s got %-8s [%s] %s\n", haven_risk_level_name(want),
			       haven_risk_level_name(r.level), cat, text);
	}
	fclose(fp);
	printf("    %s: %zu rows; recall (moderate or high) %zu/%zu = %.3f; false alarms on "
	       "everyday and figurative %zu/%zu = %.3f (all non-crisis %zu/%zu); "
	       "plans/intent/means rated high %zu/%zu = %.3f; exact level %zu/%zu\n",
	       path, f->rows, f->crisis_hit, f->crisis, (double)f->crisis_hit / (double)f->crisis,
	       f->false_alarm, f->everyday, (double)f->false_alarm / (double)f->everyday,
	       f->calm_alarm, f->calm,
	       f->plan_high, f->plan, (double)f->plan_high / (double)f->plan, f->exact, f->rows);
}

static void evaluate(struct haven_crisis *c, const char *path, struct figures *f, int show)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		haven_test_fail(__FILE__, __LINE__, "cannot open %s", path);
	evaluate_file(c, fp, path, f, show);
}

/* An unseen set is measured only once it has been written: the suite passes without it. */
static void evaluate_unseen(struct haven_crisis *c, const char *path, int show)
{
	FILE *fp = fopen(path, "r");
	struct figures f;
	if (!fp) {
		printf("    %s: not present (unseen set not yet written)\n", path);
		return;
	}
	printf("    unseen, not tuned on:\n");
	evaluate_file(c, fp, path, &f, show);
}

TEST(crisis_eval_dev_and_challenge)
{
	struct haven_crisis *c;
	char err[512] = "";
	if (haven_crisis_create("content/lexicon/crisis-v1.txt", NULL, &c, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "%s", err);
	struct figures dev, challenge, blind, blind2, blind3, blind4, blind5, blind6, blind7, blind8, blind9,
		blind10, blind11, blind12, blind13, blind14, blind15;
	int show = getenv("HAVEN_CRISIS_SHOW") != NULL;
	evaluate(c, "tests/data/crisis/dev.tsv", &dev, show);
	evaluate(c, "tests/data/crisis/challenge.tsv", &challenge, show);
	evaluate(c, "tests/data/crisis/blind.tsv", &blind, show);
	evaluate(c, "tests/data/crisis/blind2.tsv", &blind2, show);
	evaluate(c, "tests/data/crisis/blind3.tsv", &blind3, show);
	evaluate(c, "tests/data/crisis/blind4.tsv", &blind4, show);
	evaluate(c, "tests/data/crisis/blind5.tsv", &blind5, show);
	evaluate(c, "tests/data/crisis/blind6.tsv", &blind6, show);
	evaluate(c, "tests/data/crisis/blind7.tsv", &blind7, show);
	evaluate(c, "tests/data/crisis/blind8.tsv", &blind8, show);
	evaluate(c, "tests/data/crisis/blind9.tsv", &blind9, show);
	evaluate(c, "tests/data/crisis/blind10.tsv", &blind10, show);
	evaluate(c, "tests/data/crisis/blind11.tsv", &blind11, show);
	evaluate(c, "tests/data/crisis/blind12.tsv", &blind12, show);
	evaluate(c, "tests/data/crisis/blind13.tsv", &blind13, show);
	evaluate(c, "tests/data/crisis/blind14.tsv", &blind14, show);
	evaluate(c, "tests/data/crisis/blind15.tsv", &blind15, show);
	int show_unseen = show && getenv("HAVEN_CRISIS_SHOW_UNSEEN");
	for (int i = 16; i <= 23; i++) {
		char path[64];
		snprintf(path, sizeof(path), "tests/data/crisis/blind%d.tsv", i);
		evaluate_unseen(c, path, show_unseen);
	}
	ASSERT(dev.rows >= 250 && challenge.rows >= 150 && blind.rows >= 400 && blind2.rows >= 400);
	ASSERT(blind3.rows >= 400 && blind4.rows >= 400 && blind5.rows >= 400);
	ASSERT(blind6.rows >= 400 && blind7.rows >= 400 && blind8.rows >= 400 && blind9.rows >= 400);
	ASSERT(blind10.rows >= 400 && blind11.rows >= 400 && blind12.rows >= 400 &&
	       blind13.rows >= 400 && blind14.rows >= 400 && blind15.rows >= 400);
	/* Issue 3's targets, on the set the rules were tuned on. */
	ASSERT(dev.crisis_hit * 100 >= dev.crisis * 98);
	ASSERT(dev.false_alarm * 100 <= dev.everyday * 5);
	ASSERT_EQ(dev.plan_high, dev.plan);
	/* The blind sets were each run once before any rule was written from them (their
	 * first-run figures are in docs/crisis.md); since then they are tuned sets too, and
	 * a change that loses what they taught shows here (blind10 and blind11 since lexicon
	 * 1.8.0, blind12 to blind15 since 1.9.0). blind16 to blind23 are printed only. */
	const struct figures *tuned[] = {&blind,   &blind2,  &blind3,  &blind4,  &blind5,
					 &blind6,  &blind7,  &blind8,  &blind9,  &blind10,
					 &blind11, &blind12, &blind13, &blind14, &blind15};
	for (size_t i = 0; i < sizeof(tuned) / sizeof(tuned[0]); i++) {
		ASSERT(tuned[i]->crisis_hit * 100 >= tuned[i]->crisis * 98);
		ASSERT(tuned[i]->false_alarm * 100 <= tuned[i]->everyday * 6);
	}
	haven_crisis_destroy(&c);
}
