/*
 * cmd_train_risk.c: `haven train --task deterioration` fits the deterioration-risk model
 * (src/measures/risk.h) on a clinic's own examples (from `haven monitor
 * --export-training`), reports it on held-out examples next to the shipped expert-set
 * weights, and writes it as the "model" object of the monitoring configuration, or
 * installs it (--install), audited.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "measures/monitor.h"
#include "measures/risk.h"

static const char usage_text[] =
    "usage: haven train --task deterioration --data FILE [--out FILE] [--install]\n"
    "                   [--l2 X] [--dev-split F] [--seed N] [--db URL]\n\n"
    "Fits the deterioration-risk model (logistic regression on five trajectory\n"
    "features, L2-penalised, Newton's method) to JSON Lines examples as written by\n"
    "'haven monitor --export-training'. Reports AUROC, Brier score and calibration on\n"
    "a held-out part next to the shipped expert-set weights, then refits on every\n"
    "example. See docs/monitoring.md.\n\n"
    "  --data FILE       the examples (required)\n"
    "  --out FILE        write the fitted model as JSON: the 'model' object of\n"
    "                    PUT /api/v1/monitoring/config's 'deterioration_risk'\n"
    "  --install         store it in the clinic's monitoring configuration (--db),\n"
    "                    audited as monitoring.config.write\n"
    "  --l2 X            penalty on standardised weights (default 1)\n"
    "  --dev-split F     held-out fraction for the report (default 0.3; 0: none)\n"
    "  --seed N          shuffle seed for the split (default 1)\n"
    "  --db URL          sqlite:PATH or postgresql://... (default " HAVEN_DEFAULT_DB ")\n";

static uint64_t next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void print_eval(const char *name, const struct haven_risk_eval *e)
{
	printf("  %-26s AUROC %.3f  Brier %.4f  log loss %.4f  ECE %.4f\n", name, e->auroc,
	       e->brier, e->log_loss, e->ece);
}

static int install_tx(struct haven_tx *tx, void *arg)
{
	struct haven_monitor_config c;
	int rc = haven_monitor_config_load(tx, &c);
	if (rc)
		return rc;
	c.risk.model = *(const struct haven_risk_model *)arg;
	return haven_monitor_config_store(tx, &c, 0, "system", "cli");
}

int cmd_train_deterioration(int argc, char **argv)
{
	const char *task = NULL, *data = NULL, *out = NULL, *l2_s = NULL, *split_s = NULL;
	const char *seed_s = NULL, *db = NULL;
	int install = 0, status = 1;
	struct haven_opt opts[] = {
	    {"--task", &task, NULL}, {"--data", &data, NULL},         {"--out", &out, NULL},
	    {"--l2", &l2_s, NULL},   {"--dev-split", &split_s, NULL}, {"--seed", &seed_s, NULL},
	    {"--db", &db, NULL},     {"--install", NULL, &install},   {NULL, NULL, NULL}};
	struct haven_risk_example *ex = NULL;
	size_t n = 0;
	char err[600];
	double l2 = 1.0, split = 0.3;
	int64_t seed = 1;
	struct haven_store *store = NULL;

	if (haven_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	int rc = haven_cli_parse("train", argc, argv, opts);
	if (rc)
		return rc;
	if (!data)
		return haven_cli_usage_error("train", "--data FILE is required");
	if (l2_s && (haven_parse_double(l2_s, &l2) || !(l2 >= 0) || l2 > 1e6))
		return haven_cli_usage_error("train", "--l2 wants a number from 0 to 1e6");
	if (split_s && (haven_parse_double(split_s, &split) || !(split >= 0) || split >= 0.9))
		return haven_cli_usage_error("train", "--dev-split wants a number from 0 to 0.9");
	if (seed_s && haven_parse_int64(seed_s, &seed))
		return haven_cli_usage_error("train", "--seed wants a whole number");
	if ((rc = haven_risk_examples_read(data, &ex, &n, err, sizeof(err))))
		return haven_cli_fail("%s", err);

	/* A seeded shuffle, then the held-out part at the end. */
	uint64_t st = (uint64_t)seed;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(next_u64(&st) % i);
		struct haven_risk_example t = ex[i - 1];
		ex[i - 1] = ex[j];
		ex[j] = t;
	}
	size_t ndev = (size_t)floor((double)n * split), ntrain = n - ndev;
	size_t pos = 0;
	for (size_t i = 0; i < n; i++)
		pos += ex[i].label != 0;
	printf("examples: %zu (%zu deteriorated, %.1f%%)\n", n, pos, n ? 100.0 * pos / n : 0.0);
	struct haven_risk_model m, def;
	haven_risk_model_default(&def);
	if (ndev >= 10) {
		if ((rc = haven_risk_train(ex, ntrain, l2, &m))) {
			haven_cli_fail(
			    "cannot fit on the %zu training examples: at least 20 of both "
			    "outcomes are needed",
			    ntrain);
			goto out;
		}
		struct haven_risk_eval et, ed;
		haven_risk_evaluate(&m, ex + ntrain, ndev, &et);
		haven_risk_evaluate(&def, ex + ntrain, ndev, &ed);
		printf("held out: %zu examples (%zu deteriorated)\n", ndev, et.positives);
		print_eval("fitted on the rest", &et);
		print_eval("shipped expert-set weights", &ed);
		printf("  calibration of the fitted model (predicted -> observed, n):\n");
		for (int b = 0; b < 10; b++)
			if (et.bin_n[b])
				printf("    %.1f-%.1f  %.3f -> %.3f  (%zu)\n", b / 10.0,
				       (b + 1) / 10.0, et.bin_pred[b], et.bin_obs[b], et.bin_n[b]);
	}
	if ((rc = haven_risk_train(ex, n, l2, &m))) {
		haven_cli_fail("cannot fit: at least 20 examples with both outcomes are needed");
		goto out;
	}
	printf("fitted on all %zu examples: intercept %.4f\n", n, m.intercept);
	for (int i = 0; i < HAVEN_RISK_NFEATURES; i++)
		printf("  %-18s weight %+.4f  reference %.4f\n", haven_risk_feature_name(i),
		       m.weight[i], m.reference[i]);
	if (out) {
		json_t *j = haven_risk_model_json(&m);
		FILE *f = fopen(out, "w");
		int bad = !j || !f || json_dumpf(j, f, JSON_INDENT(2)) || fputc('\n', f) == EOF;
		if (f && fclose(f))
			bad = 1;
		json_decref(j);
		if (bad) {
			haven_cli_fail("cannot write %s", out);
			goto out;
		}
		printf("wrote %s\n", out);
	}
	if (install) {
		if (haven_cli_open_store(db, &store))
			goto out;
		if ((rc = haven_store_write(store, install_tx, &m))) {
			haven_cli_fail("cannot install the model: %s", haven_strerror(rc));
			goto out;
		}
		printf("installed in the monitoring configuration\n");
	}
	status = 0;
out:
	haven_store_destroy(&store);
	free(ex);
	return status;
}
