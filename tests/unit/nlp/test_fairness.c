/* test_fairness.c: the fairness measures on a hand-worked example, and the file reader's
 * errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "nlp/fairness.h"

/* Group a: TP 1, FN 1, FP 1, TN 1. Group b: TP 2, FP 1, TN 2. Group c: only negatives.
 *   selection rate a 2/4 = 0.5, b 3/5 = 0.6, c 1/2 = 0.5  -> DP difference 0.1
 *   TPR a 0.5, b 1.0, c undefined                          -> TPR difference 0.5
 *   FPR a 0.5, b 1/3, c 0.5                                -> FPR difference 1/6
 *   equalized odds difference max(0.5, 1/6) = 0.5 */
static const char *example = "id,group,label,pred\n"
			     "1,a,1,1\n2,a,1,0\n3,a,0,1\n4,a,0,0\n"
			     "5,b,1,1\n6,b,1,1\n7,b,0,0\n8,b,0,0\n9,b,0,1\n"
			     "10,c,0,1\n11,c,0,0\n"
			     "12,c,,1\n";

static const char *write_file(const char *name, const char *text)
{
	const char *path = haven_test_tmpfile(name);
	FILE *f = fopen(path, "w");
	if (!f)
		haven_test_fail(__FILE__, __LINE__, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
	return path;
}

TEST(fairness_hand_worked_example)
{
	const char *path = write_file("fair.csv", example);
	struct haven_fairness_read_opts o = {"group", "label", "pred", 0, NULL};
	struct haven_fairness *f;
	char err[512];
	ASSERT_OK(haven_fairness_read(path, &o, &f, err, sizeof(err)));
	ASSERT_EQ(f->ngroups, 3);
	ASSERT_STR_EQ(f->groups[0].name, "a");
	ASSERT_NEAR(f->groups[0].selection_rate, 0.5, 1e-9);
	ASSERT_NEAR(f->groups[0].tpr, 0.5, 1e-9);
	ASSERT_NEAR(f->groups[0].fpr, 0.5, 1e-9);
	ASSERT_NEAR(f->groups[0].precision, 0.5, 1e-9);
	ASSERT_NEAR(f->groups[1].selection_rate, 0.6, 1e-9);
	ASSERT_NEAR(f->groups[1].tpr, 1.0, 1e-9);
	ASSERT_NEAR(f->groups[1].fpr, 1.0 / 3, 1e-9);
	ASSERT_NEAR(f->groups[1].precision, 2.0 / 3, 1e-9);
	ASSERT(isnan(f->groups[2].tpr));
	ASSERT_NEAR(f->groups[2].fpr, 0.5, 1e-9);
	ASSERT_NEAR(f->demographic_parity_difference, 0.1, 1e-9);
	ASSERT_NEAR(f->tpr_difference, 0.5, 1e-9);
	ASSERT_NEAR(f->fpr_difference, 1.0 / 6, 1e-9);
	ASSERT_NEAR(f->equalized_odds_difference, 0.5, 1e-9);
	ASSERT_EQ(f->groups_without_tpr, 1);
	ASSERT_EQ(f->rows_skipped, 1);
	ASSERT_EQ(f->overall.n, 11);
	haven_fairness_destroy(&f);
	ASSERT(f == NULL);
}

TEST(fairness_positive_values_and_tsv)
{
	const char *path = write_file("fair.tsv", "lang\tgold\tlevel\n"
						  "en\thigh\thigh\n"
						  "en\tnone\tmoderate\n"
						  "\"fr, ca\"\tmoderate\tlow\n"
						  "\"fr, ca\"\tnone\tnone\n");
	struct haven_fairness_read_opts o = {"1", "gold", "3", '\t', "moderate,HIGH"};
	struct haven_fairness *f;
	char err[512];
	ASSERT_OK(haven_fairness_read(path, &o, &f, err, sizeof(err)));
	ASSERT_EQ(f->ngroups, 2);
	ASSERT_STR_EQ(f->groups[1].name, "fr, ca");
	ASSERT_NEAR(f->groups[0].tpr, 1.0, 1e-9);
	ASSERT_NEAR(f->groups[1].tpr, 0.0, 1e-9);
	ASSERT_NEAR(f->equalized_odds_difference, 1.0, 1e-9);
	haven_fairness_destroy(&f);
}

TEST(fairness_errors_name_file_and_line)
{
	struct haven_fairness_read_opts o = {"group", "label", "pred", 0, NULL};
	struct haven_fairness *f;
	char err[512];
	const char *p = write_file("bad1.csv", "group,label\na,1\n");
	ASSERT_EQ(haven_fairness_read(p, &o, &f, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, ":1: no column 'pred'");
	p = write_file("bad2.csv", "group,label,pred\na,1,1\nb,1\n");
	ASSERT_EQ(haven_fairness_read(p, &o, &f, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, ":3: 2 fields");
	p = write_file("bad3.csv", "group,label,pred\n\"a,1,1\n");
	ASSERT(haven_fairness_read(p, &o, &f, err, sizeof(err)) != 0);
	ASSERT_CONTAINS(err, "unterminated quoted field");
	p = write_file("bad4.csv", "");
	ASSERT_EQ(haven_fairness_read(p, &o, &f, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "empty");
	ASSERT_EQ(haven_fairness_read("/nonexistent.csv", &o, &f, err, sizeof(err)),
		  HAVEN_ENOTFOUND);
	ASSERT(f == NULL);
}
