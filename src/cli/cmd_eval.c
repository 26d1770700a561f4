/* cmd_eval.c: `haven eval` evaluates a model on a labelled CSV/TSV dataset. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_nlp.h"

static const char usage[] =
	"usage: haven eval --model NAME|PATH --data FILE --text-col C --label-col C [options]\n"
	"\n"
	"Prints accuracy (subset accuracy for multi-label), macro- and micro-F1, balanced\n"
	"accuracy, AUROC (binary tasks; macro mean otherwise), per-label precision, recall and\n"
	"F1 and, for single-label models, the confusion matrix (rows gold, columns predicted).\n"
	"\n"
	"%s"
	"\n"
	"  --json                one JSON object instead of text\n"
	"  --dev-split F --seed N  evaluate only on the part `haven train --dev-split F --seed N`\n"
	"                        held out (same grouping by --group-col)\n"
	"  --binary-negative L   also score the binary task \"any label but L\" vs \"L\"\n"
	"                        (e.g. distorted vs \"No Distortion\")\n";

static void print_text(const struct haven_metrics *mt, char **names, const char *title)
{
	printf("%s: %zu examples\n", title, mt->n);
	printf("accuracy          %.4f%s\n", mt->accuracy, mt->multi_label ? " (subset)" : "");
	printf("macro-F1          %.4f\n", mt->macro_f1);
	printf("micro-F1          %.4f\n", mt->micro_f1);
	printf("macro-precision   %.4f\nmacro-recall      %.4f\n", mt->macro_precision,
	       mt->macro_recall);
	printf("balanced-accuracy %.4f\n", mt->balanced_accuracy);
	if (!isnan(mt->auroc))
		printf("AUROC             %.4f\n", mt->auroc);
	printf("\n%-24s %9s %9s %9s %8s\n", "label", "precision", "recall", "f1", "support");
	for (size_t l = 0; l < mt->nlabels; l++)
		printf("%-24s %9.4f %9.4f %9.4f %8zu\n", names[l], mt->label[l].precision,
		       mt->label[l].recall, mt->label[l].f1, mt->label[l].support);
	if (mt->confusion) {
		printf("\nconfusion matrix (rows gold, columns predicted, in label order)\n");
		for (size_t g = 0; g < mt->nlabels; g++) {
			printf("%-24s", names[g]);
			for (size_t p = 0; p < mt->nlabels; p++)
				printf(" %6zu", mt->confusion[g * mt->nlabels + p]);
			printf("\n");
		}
	}
}

static void print_json(const struct haven_metrics *mt, char **names)
{
	printf("{\"n\": %zu, \"multi_label\": %s, \"accuracy\": ", mt->n,
	       mt->multi_label ? "true" : "false");
	haven_cli_json_num(stdout, mt->accuracy);
	printf(", \"macro_f1\": ");
	haven_cli_json_num(stdout, mt->macro_f1);
	printf(", \"micro_f1\": ");
	haven_cli_json_num(stdout, mt->micro_f1);
	printf(", \"macro_precision\": ");
	haven_cli_json_num(stdout, mt->macro_precision);
	printf(", \"macro_recall\": ");
	haven_cli_json_num(stdout, mt->macro_recall);
	printf(", \"balanced_accuracy\": ");
	haven_cli_json_num(stdout, mt->balanced_accuracy);
	printf(", \"auroc\": ");
	haven_cli_json_num(stdout, mt->auroc);
	printf(", \"labels\": {");
	for (size_t l = 0; l < mt->nlabels; l++) {
		const struct haven_label_metrics *lm = &mt->label[l];
		printf("%s", l ? ", " : "");
		haven_cli_json_str(stdout, names[l]);
		printf(": {\"precision\": ");
		haven_cli_json_num(stdout, lm->precision);
		printf(", \"recall\": ");
		haven_cli_json_num(stdout, lm->recall);
		printf(", \"f1\": ");
		haven_cli_json_num(stdout, lm->f1);
		printf(", \"auroc\": ");
		haven_cli_json_num(stdout, lm->auroc);
		printf(", \"support\": %zu, \"tp\": %zu, \"fp\": %zu, \"fn\": %zu}", lm->support,
		       lm->tp, lm->fp, lm->fn);
	}
	printf("}");
	if (mt->confusion) {
		printf(", \"confusion\": [");
		for (size_t g = 0; g < mt->nlabels; g++) {
			printf("%s[", g ? ", " : "");
			for (size_t p = 0; p < mt->nlabels; p++)
				printf("%s%zu", p ? ", " : "", mt->confusion[g * mt->nlabels + p]);
			printf("]");
		}
		printf("]");
	}
	printf("}");
}

/* Scores "any label but neg" (positive) against neg. */
static int binary_metrics(const struct haven_model *m, const struct haven_dataset *d, size_t neg,
			  struct haven_metrics *out)
{
	struct haven_metrics_acc *a = NULL;
	struct haven_nlp_ws *ws = NULL;
	size_t L = haven_model_info(m)->nlabels;
	int rc;
	if ((rc = haven_metrics_acc_create(2, 0, &a)) || (rc = haven_nlp_ws_create(&ws)))
		goto out;
	for (size_t i = 0; i < d->n; i++) {
		struct haven_prediction p;
		const struct haven_example *e = &d->ex[i];
		if ((rc = haven_model_predict(m, ws, e->text, strlen(e->text), &p)))
			goto out;
		int gpos = 0, ppos = 0;
		for (uint32_t k = 0; k < e->nlabels; k++)
			gpos |= e->labels[k] != neg;
		for (size_t l = 0; l < L; l++)
			ppos |= l != neg && p.predicted[l];
		float pp = 1 - p.prob[neg];
		if (haven_model_info(m)->output == HAVEN_OUTPUT_SIGMOID) {
			pp = 0;
			for (size_t l = 0; l < L; l++)
				if (l != neg && p.prob[l] > pp)
					pp = p.prob[l];
		}
		unsigned char g[2] = {(unsigned char)!gpos, (unsigned char)gpos};
		unsigned char q[2] = {(unsigned char)!ppos, (unsigned char)ppos};
		float pr[2] = {1 - pp, pp};
		if ((rc = haven_metrics_acc_add(a, g, q, pr)))
			goto out;
	}
	rc = haven_metrics_compute(a, out);
out:
	haven_metrics_acc_destroy(&a);
	haven_nlp_ws_destroy(&ws);
	return rc;
}

int cmd_eval(int argc, char **argv)
{
	struct haven_read_opts ro;
	const char *model = NULL, *data = NULL, *binneg = NULL;
	int json = 0, ret = 1, rc;
	double dev_split = 0;
	int64_t seed = 1;
	struct haven_model *m = NULL;
	struct haven_dataset *d = NULL;
	struct haven_metrics mt = {0}, mb = {0};
	char err[512];
	char **names = NULL;
	if (haven_cli_wants_help(argc, argv)) {
		printf(usage, haven_cli_read_flags_help);
		return 0;
	}
	haven_read_opts_default(&ro);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int r = haven_cli_read_flag("eval", argc, argv, &i, &ro);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (!strcmp(a, "--json")) {
			json = 1;
			continue;
		}
		if (i + 1 >= argc)
			return haven_cli_usage_error("eval", "unknown option or missing value: %s", a);
		if (!strcmp(a, "--model")) model = argv[++i];
		else if (!strcmp(a, "--data")) data = argv[++i];
		else if (!strcmp(a, "--binary-negative")) binneg = argv[++i];
		else if (!strcmp(a, "--dev-split")) {
			if (haven_parse_double(argv[++i], &dev_split) || !(dev_split > 0 && dev_split < 1))
				return haven_cli_usage_error("eval", "--dev-split needs 0 < F < 1");
		} else if (!strcmp(a, "--seed")) {
			if (haven_parse_int64(argv[++i], &seed) || seed < 0)
				return haven_cli_usage_error("eval", "bad --seed");
		}
		else
			return haven_cli_usage_error("eval", "unknown option %s", a);
	}
	if (!model || !data || !ro.text_cols || !ro.label_col)
		return haven_cli_usage_error("eval", "--model, --data, --text-col and --label-col "
				             "are required");
	if (haven_cli_load_model("eval", model, &m))
		return 1;
	const struct haven_model_info *in = haven_model_info(m);
	names = calloc(in->nlabels, sizeof(char *));
	if (!names)
		goto out;
	for (size_t l = 0; l < in->nlabels; l++)
		names[l] = (char *)haven_model_label(m, l);
	ro.fixed_labels = names;
	ro.nfixed_labels = in->nlabels;
	if ((rc = haven_dataset_read(data, &ro, &d, err, sizeof(err)))) {
		haven_cli_fail("eval: %s", err);
		goto out;
	}
	if (dev_split > 0) {
		struct haven_dataset *tr = NULL, *dv = NULL;
		if ((rc = haven_dataset_split(d, dev_split, (uint64_t)seed, &tr, &dv))) {
			haven_cli_fail("eval: %s", haven_strerror(rc));
			goto out;
		}
		haven_dataset_destroy(&tr);
		haven_dataset_destroy(&d);
		d = dv;
	}
	long neg = -1;
	if (binneg && (neg = haven_model_label_index(m, binneg)) < 0) {
		haven_cli_fail("eval: --binary-negative: the model has no label '%s'", binneg);
		goto out;
	}
	if ((rc = haven_model_evaluate(m, d, &mt))) {
		haven_cli_fail("eval: %s", haven_strerror(rc));
		goto out;
	}
	if (neg >= 0 && (rc = binary_metrics(m, d, (size_t)neg, &mb))) {
		haven_cli_fail("eval: %s", haven_strerror(rc));
		goto out;
	}
	char negname[300];
	snprintf(negname, sizeof(negname), "%s", binneg ? binneg : "");
	char *bnames[2] = {negname, "other"};
	if (json) {
		printf("{\"model\": ");
		haven_cli_json_str(stdout, in->name);
		printf(", \"data\": ");
		haven_cli_json_str(stdout, data);
		printf(", \"metrics\": ");
		print_json(&mt, names);
		if (neg >= 0) {
			printf(", \"binary\": ");
			print_json(&mb, bnames);
		}
		printf("}\n");
	} else {
		printf("model %s (%s), data %s\n", in->name, in->task, data);
		print_text(&mt, names, "all labels");
		if (neg >= 0) {
			printf("\n");
			print_text(&mb, bnames, "binary (other = any label but the negative)");
		}
	}
	ret = 0;
out:
	haven_metrics_release(&mt);
	haven_metrics_release(&mb);
	haven_dataset_destroy(&d);
	haven_model_destroy(&m);
	free(names);
	return ret;
}
