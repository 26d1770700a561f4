/*
 * cmd_fairness.c: `haven audit-fairness`: per-group selection rate, true- and
 * false-positive rates and precision of a classifier's predictions, and the demographic
 * parity and equalized odds differences as Fairlearn defines them (docs/fairness.md).
 */
#include <math.h>
#include <string.h>

#include "cli/cli.h"
#include "nlp/fairness.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: haven audit-fairness --predictions FILE --group-col C --label-col C\n"
		"                            --pred-col C [--positive V[,V...]] [--format csv|tsv]\n"
		"                            [--json]\n\n"
		"Reads a CSV or TSV file with a header row, one row per case: the group (for example\n"
		"an age band or language), the true label and the model's prediction. Prints, per\n"
		"group and overall, the number of rows, the selection rate P(pred=1), the true-\n"
		"positive rate P(pred=1|label=1), the false-positive rate P(pred=1|label=0) and the\n"
		"precision P(label=1|pred=1); then the demographic parity difference (max - min of\n"
		"the selection rates) and the equalized odds difference (the larger of the TPR and\n"
		"FPR differences), as Fairlearn defines them. Undefined rates print as '-' (null in\n"
		"JSON) and are left out of the differences.\n\n"
		"  --predictions FILE  the file (.tsv and .txt are read as TSV, anything else as CSV)\n"
		"  --group-col C       group column, by header name or 1-based number\n"
		"  --label-col C       true label column\n"
		"  --pred-col C        prediction column\n"
		"  --positive LIST     values meaning positive, comma-separated, case-insensitive\n"
		"                      (default 1,true,yes,positive); to audit the crisis screen's\n"
		"                      levels use e.g. --positive moderate,high\n"
		"  --format csv|tsv    override the separator guessed from the file name\n"
		"  --json              one JSON object instead of the table\n");
}

static void num(char *out, size_t n, double v)
{
	if (isnan(v))
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%.4f", v);
}

static void json_num(double v)
{
	if (isnan(v))
		fputs("null", stdout);
	else
		printf("%.6f", v);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_group(const struct haven_fairness_group *g)
{
	printf("{\"group\":");
	json_string(g->name ? g->name : "overall");
	printf(",\"n\":%zu,\"tp\":%zu,\"fp\":%zu,\"tn\":%zu,\"fn\":%zu,\"selection_rate\":", g->n,
	       g->tp, g->fp, g->tn, g->fn);
	json_num(g->selection_rate);
	printf(",\"tpr\":");
	json_num(g->tpr);
	printf(",\"fpr\":");
	json_num(g->fpr);
	printf(",\"precision\":");
	json_num(g->precision);
	putchar('}');
}

static void table_row(const char *name, const struct haven_fairness_group *g)
{
	char s[16], t[16], f[16], p[16];
	num(s, sizeof(s), g->selection_rate);
	num(t, sizeof(t), g->tpr);
	num(f, sizeof(f), g->fpr);
	num(p, sizeof(p), g->precision);
	printf("%-24s %8zu %14s %8s %8s %10s\n", name, g->n, s, t, f, p);
}

int cmd_audit_fairness(int argc, char **argv)
{
	struct haven_fairness_read_opts o = {0};
	const char *path = NULL;
	int json = 0;
	if (haven_cli_wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--json")) {
			json = 1;
			continue;
		}
		if (!v)
			return haven_cli_usage_error("audit-fairness", "'%s' needs a value", a);
		i++;
		if (!strcmp(a, "--predictions"))
			path = v;
		else if (!strcmp(a, "--group-col"))
			o.group_col = v;
		else if (!strcmp(a, "--label-col"))
			o.label_col = v;
		else if (!strcmp(a, "--pred-col"))
			o.pred_col = v;
		else if (!strcmp(a, "--positive"))
			o.positive = v;
		else if (!strcmp(a, "--format") && (!strcmp(v, "csv") || !strcmp(v, "tsv")))
			o.sep = v[0] == 't' ? '\t' : ',';
		else
			return haven_cli_usage_error("audit-fairness", "unknown option '%s %s'", a,
						     v);
	}
	if (!path || !o.group_col || !o.label_col || !o.pred_col)
		return haven_cli_usage_error("audit-fairness", "--predictions, --group-col, "
							       "--label-col and --pred-col are required");
	struct haven_fairness *f;
	char err[1024];
	if (haven_fairness_read(path, &o, &f, err, sizeof(err)))
		return haven_cli_fail("audit-fairness: %s", err);
	if (json) {
		printf("{\"groups\":[");
		for (size_t i = 0; i < f->ngroups; i++) {
			if (i)
				putchar(',');
			json_group(&f->groups[i]);
		}
		printf("],\"overall\":");
		json_group(&f->overall);
		printf(",\"demographic_parity_difference\":");
		json_num(f->demographic_parity_difference);
		printf(",\"equalized_odds_difference\":");
		json_num(f->equalized_odds_difference);
		printf(",\"tpr_difference\":");
		json_num(f->tpr_difference);
		printf(",\"fpr_difference\":");
		json_num(f->fpr_difference);
		printf(",\"groups_without_tpr\":%zu,\"groups_without_fpr\":%zu,\"rows_skipped\":%zu}\n",
		       f->groups_without_tpr, f->groups_without_fpr, f->rows_skipped);
	} else {
		printf("%-24s %8s %14s %8s %8s %10s\n", "group", "n", "selection_rate", "tpr",
		       "fpr", "precision");
		for (size_t i = 0; i < f->ngroups; i++)
			table_row(f->groups[i].name, &f->groups[i]);
		table_row("(overall)", &f->overall);
		char d[16], e[16], t[16], p[16];
		num(d, sizeof(d), f->demographic_parity_difference);
		num(e, sizeof(e), f->equalized_odds_difference);
		num(t, sizeof(t), f->tpr_difference);
		num(p, sizeof(p), f->fpr_difference);
		printf("\ndemographic_parity_difference %s\n", d);
		printf("equalized_odds_difference     %s (tpr difference %s, fpr difference %s)\n", e,
		       t, p);
		if (f->groups_without_tpr || f->groups_without_fpr)
			printf("note: %zu group(s) have no positive labels (no TPR) and %zu no "
			       "negative labels (no FPR); they are left out of the differences\n",
			       f->groups_without_tpr, f->groups_without_fpr);
		if (f->rows_skipped)
			printf("note: %zu row(s) without a label or prediction were skipped\n",
			       f->rows_skipped);
	}
	haven_fairness_destroy(&f);
	return 0;
}
