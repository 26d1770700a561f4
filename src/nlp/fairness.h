/*
 * fairness.h: group fairness of a binary classifier's predictions, as Fairlearn defines
 * the measures, so a clinic can audit the crisis screen (or any model) on its own
 * labelled data (docs/fairness.md).
 *
 * Per group: selection rate P(pred=1), true-positive rate P(pred=1 | label=1),
 * false-positive rate P(pred=1 | label=0) and precision P(label=1 | pred=1).
 * Across groups (Fairlearn's "between_groups" method, the default):
 *   demographic parity difference = max - min of the selection rates;
 *   equalized odds difference     = max(TPR max - min, FPR max - min).
 * A rate with a zero denominator is undefined (NAN, null in JSON) and takes no part in the
 * differences; the result says how many groups were left out of each.
 *
 * Ownership: haven_fairness_create / haven_fairness_read return a heap object freed by
 * haven_fairness_destroy; group names are copied.
 */
#ifndef HAVEN_NLP_FAIRNESS_H
#define HAVEN_NLP_FAIRNESS_H

#include <stddef.h>

#include "core/core.h"

struct haven_fairness_group {
	char *name;
	size_t n, tp, fp, tn, fn;
	double selection_rate, tpr, fpr, precision; /* NAN when undefined */
};

struct haven_fairness {
	struct haven_fairness_group *groups; /* in order of first appearance */
	size_t ngroups, capgroups;
	struct haven_fairness_group overall;
	double demographic_parity_difference;
	double tpr_difference, fpr_difference;
	double equalized_odds_difference;
	size_t groups_without_tpr, groups_without_fpr; /* left out of the differences */
	size_t rows_skipped; /* rows whose label or prediction was empty */
};

int haven_fairness_create(struct haven_fairness **out) HAVEN_WUR;
void haven_fairness_destroy(struct haven_fairness **f);
/* Counts one row. label and pred are 0/1. */
int haven_fairness_add(struct haven_fairness *f, const char *group, int label,
		       int pred) HAVEN_WUR;
/* Computes every rate and difference from the counts (call after the last add). */
void haven_fairness_finish(struct haven_fairness *f);

/* How to read a predictions file. */
struct haven_fairness_read_opts {
	const char *group_col, *label_col, *pred_col; /* header names, or 1-based numbers */
	char sep;             /* ',' or '\t'; 0: '\t' for .tsv/.txt names, else ',' */
	const char *positive; /* comma-separated values that mean 1 (case-insensitive);
				 NULL: "1,true,yes,positive"; everything else means 0 */
};

/* Reads a CSV (RFC 4180 quoting) or TSV file with a header row and computes the measures.
 * Errors name the file and line: a missing column, a row with too few fields, an
 * unterminated quote, a file with no rows. */
int haven_fairness_read(const char *path, const struct haven_fairness_read_opts *o,
			struct haven_fairness **out, char *err, size_t errlen) HAVEN_WUR;

#endif
