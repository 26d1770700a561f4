/* cmd_train.c: `haven train` trains a text classifier from a CSV/TSV dataset. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_nlp.h"

static const char usage[] =
	"usage: haven train --data FILE --text-col C --label-col C --out PATH [options]\n"
	"\n"
	"Trains a classifier (logistic regression, embedding bag or both) on hashed word and\n"
	"character n-grams, calibrates it and picks decision thresholds on dev data, and\n"
	"writes a model file. The same data, options, seed and thread count give the same\n"
	"file, byte for byte.\n"
	"\n"
	"%s"
	"\n"
	"training rows only (dev data is read and scored without them):\n"
	"  --weight-col C        weight each training row by this column's number (>= 0,\n"
	"                        e.g. annotator agreement); weights are scaled to mean 1\n"
	"  --min-weight W        with --weight-col: leave out training rows weighing less\n"
	"  --weight-power P      with --weight-col: weight = value^P (default 1; 2 stresses\n"
	"                        agreement: 0.6 -> 0.36, 0.8 -> 0.64)\n"
	"  --extra-text-col C    also train on this column's text (e.g. the span that\n"
	"                        carries the label) as an example with the row's labels\n"
	"  --extra-text-crop     with --extra-text-col: a row whose column is empty gets\n"
	"                        two consecutive sentences of its own text instead, so\n"
	"                        every label has short extra examples\n"
	"  --extra-label-col C   also train on the row's text with this column's label\n"
	"                        (e.g. a secondary annotation), when not empty\n"
	"  --extra-weight X      weight of those extra examples relative to their row (1)\n"
	"\n"
	"dev data (for calibration and thresholds):\n"
	"  --dev FILE            dev file, read with the same data options (no extras)\n"
	"  --dev-split F         hold out fraction F of the training file (grouped by\n"
	"                        --group-col when given; deterministic for --seed); a row's\n"
	"                        extra examples stay with it and are dropped from dev\n"
	"\n"
	"model:\n"
	"  --model linear|bag|ensemble   (default linear)\n"
	"  --loss softmax|ovr    softmax: one label per text; ovr: independent sigmoids\n"
	"                        (default: ovr when any row has several labels)\n"
	"  --reg l2|l1           regularisation of the linear model (default l2)\n"
	"  --c C                 inverse regularisation strength, as LIBLINEAR (default 4)\n"
	"  --epochs N --lr X     linear model SGD epochs and learning rate (8, 0.5)\n"
	"  --dim D --bag-epochs N --bag-lr X   embedding bag (32, 10, 0.3)\n"
	"  --mix X|auto          ensemble weight of the linear model (default auto: on dev)\n"
	"  --class-weight balanced|none   (default none)\n"
	"  --threshold f1|balanced|recall:R|none   per-label threshold goal on dev (f1);\n"
	"                        a two-label softmax model tunes the second label (in sorted\n"
	"                        order: \"1\" of 0/1) as the positive one\n"
	"  --at-least-one yes|no|auto   multi-label: always predict the top label (auto)\n"
	"  --no-calibrate        no temperature scaling\n"
	"  --nb ALPHA            NB-weighted features (Wang & Manning 2012): scale each\n"
	"                        feature by its log-count ratio between the two labels,\n"
	"                        smoothed by ALPHA (e.g. 1); two-label data, linear model\n"
	"  --nb-beta B           with --nb: interpolate towards the mean weight, 0 < B <= 1\n"
	"                        (default 1: none; the paper uses 0.25)\n"
	"  --label-smoothing E   train towards 1 - E + E/L for the gold label and E/L for\n"
	"                        the others (sigmoids: 1 - E/2 and E/2); 0 <= E < 1 (0)\n"
	"\n"
	"features:\n"
	"  --buckets N           hash buckets (default 262144)\n"
	"  --ngrams N            word n-grams up to N (default 2)\n"
	"  --minn N --maxn N     character n-gram lengths (3, 5; 0 0 disables)\n"
	"  --char-weight X       weight of character n-grams (0.5)\n"
	"  --scaling binary|count|log   (log)   --no-idf   --no-negation   --no-contractions\n"
	"\n"
	"run:\n"
	"  --seed N              (default 1)    --threads N   (default 1)\n"
	"  --out PATH            model file to write\n"
	"  --name S --version S --task S --data-desc S --license S   metadata\n"
	"  --quiet               no progress on stderr\n"
	"\n"
	"haven train --task deterioration --data FILE trains the deterioration-risk model\n"
	"instead (see 'haven train --task deterioration --help').\n";

static int parse_u64(const char *s, uint64_t *v)
{
	int64_t x;
	if (haven_parse_int64(s, &x) || x < 0)
		return -1;
	*v = (uint64_t)x;
	return 0;
}

/* 1 when some row of d has more than one label. */
static int several_labels(const struct haven_dataset *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->ex[i].nlabels > 1)
			return 1;
	return 0;
}

/* Joins argv into the created_by metadata (single-quoting words that need it). */
static char *join_args(int argc, char **argv)
{
	struct haven_buf b;
	haven_buf_init(&b, 1 << 16);
	int rc = haven_buf_puts(&b, "haven");
	for (int i = 0; i < argc && !rc; i++) {
		const char *a = argv[i];
		/* the output file is recorded by name only, so where it is written does not
		   change the bytes */
		if (i > 0 && !strcmp(argv[i - 1], "--out") && strrchr(a, '/'))
			a = strrchr(a, '/') + 1;
		int plain = *a != 0;
		for (const char *p = a; *p; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				    "-_./:=,+", *p))
				plain = 0;
		rc = haven_buf_puts(&b, " ");
		if (!rc && plain)
			rc = haven_buf_puts(&b, a);
		else if (!rc) {
			rc = haven_buf_puts(&b, "'");
			for (const char *p = a; *p && !rc; p++)
				rc = *p == '\'' ? haven_buf_puts(&b, "'\\''") : haven_buf_append(&b, p, 1);
			if (!rc)
				rc = haven_buf_puts(&b, "'");
		}
	}
	if (rc) {
		haven_buf_release(&b);
		return NULL;
	}
	return haven_buf_detach(&b, NULL);
}

int cmd_train(int argc, char **argv)
{
	struct haven_read_opts ro;
	struct haven_train_opts to;
	const char *data = NULL, *dev_path = NULL, *out_path = NULL;
	double dev_split = 0;
	int quiet = 0, ret = 1, rc;
	struct haven_dataset *all = NULL, *train = NULL, *dev = NULL;
	struct haven_model *m = NULL;
	char *created = NULL, err[512];
	/* --task deterioration is the risk model's trainer, not a text classifier's. */
	for (int i = 1; i < argc; i++)
		if ((!strcmp(argv[i], "--task") && i + 1 < argc &&
		     !strcmp(argv[i + 1], "deterioration")) ||
		    !strcmp(argv[i], "--task=deterioration"))
			return cmd_train_deterioration(argc, argv);
	if (haven_cli_wants_help(argc, argv)) {
		printf(usage, haven_cli_read_flags_help);
		return 0;
	}
	haven_read_opts_default(&ro);
	haven_train_opts_default(&to);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int r = haven_cli_read_flag("train", argc, argv, &i, &ro);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (!strcmp(a, "--quiet")) {
			quiet = 1;
			continue;
		}
		if (!strcmp(a, "--extra-text-crop")) {
			ro.extra_text_crop = 1;
			continue;
		}
		if (!strcmp(a, "--no-calibrate")) {
			to.calibrate = 0;
			continue;
		}
		if (!strcmp(a, "--no-idf")) {
			to.text.use_idf = 0;
			continue;
		}
		if (!strcmp(a, "--no-negation")) {
			to.text.negation = 0;
			continue;
		}
		if (!strcmp(a, "--no-contractions")) {
			to.text.contractions = 0;
			continue;
		}
		if (i + 1 >= argc)
			return haven_cli_usage_error("train", "unknown option or missing value: %s", a);
		const char *v = argv[++i];
		uint64_t u = 0;
		double d = 0;
		int bad = 0;
		if (!strcmp(a, "--data")) data = v;
		else if (!strcmp(a, "--dev")) dev_path = v;
		else if (!strcmp(a, "--out")) out_path = v;
		else if (!strcmp(a, "--weight-col")) ro.weight_col = v;
		else if (!strcmp(a, "--min-weight"))
			bad = haven_parse_double(v, &ro.min_weight) ||
			      !(ro.min_weight >= 0 && ro.min_weight <= 1e30);
		else if (!strcmp(a, "--weight-power"))
			bad = haven_parse_double(v, &ro.weight_power) ||
			      !(ro.weight_power > 0 && ro.weight_power <= 16);
		else if (!strcmp(a, "--extra-text-col")) ro.extra_text_col = v;
		else if (!strcmp(a, "--extra-label-col")) ro.extra_label_col = v;
		else if (!strcmp(a, "--extra-weight"))
			bad = haven_parse_double(v, &ro.extra_weight) ||
			      !(ro.extra_weight >= 0 && ro.extra_weight <= 1e6);
		else if (!strcmp(a, "--dev-split"))
			bad = haven_parse_double(v, &dev_split) || !(dev_split > 0 && dev_split < 1);
		else if (!strcmp(a, "--model")) {
			if (!strcmp(v, "linear")) to.kind = HAVEN_MODEL_LINEAR;
			else if (!strcmp(v, "bag")) to.kind = HAVEN_MODEL_EMBEDDING_BAG;
			else if (!strcmp(v, "ensemble")) to.kind = HAVEN_MODEL_ENSEMBLE;
			else bad = 1;
		} else if (!strcmp(a, "--loss")) {
			if (!strcmp(v, "softmax")) to.output = HAVEN_OUTPUT_SOFTMAX;
			else if (!strcmp(v, "ovr")) to.output = HAVEN_OUTPUT_SIGMOID;
			else bad = 1;
		} else if (!strcmp(a, "--reg")) {
			if (!strcmp(v, "l2")) to.reg = HAVEN_REG_L2;
			else if (!strcmp(v, "l1")) to.reg = HAVEN_REG_L1;
			else bad = 1;
		} else if (!strcmp(a, "--c")) bad = haven_parse_double(v, &to.c) || !(to.c > 0);
		else if (!strcmp(a, "--epochs"))
			bad = parse_u64(v, &u) || u < 1 || u > 1000, to.linear_epochs = (int)u;
		else if (!strcmp(a, "--lr")) bad = haven_parse_double(v, &to.linear_lr) || !(to.linear_lr > 0);
		else if (!strcmp(a, "--dim")) bad = parse_u64(v, &u) || u < 1 || u > 1024, to.dim = (uint32_t)u;
		else if (!strcmp(a, "--bag-epochs"))
			bad = parse_u64(v, &u) || u < 1 || u > 1000, to.bag_epochs = (int)u;
		else if (!strcmp(a, "--bag-lr")) bad = haven_parse_double(v, &to.bag_lr) || !(to.bag_lr > 0);
		else if (!strcmp(a, "--mix")) {
			if (!strcmp(v, "auto")) to.mix = -1;
			else bad = haven_parse_double(v, &to.mix) || to.mix < 0 || to.mix > 1;
		} else if (!strcmp(a, "--nb"))
			bad = haven_parse_double(v, &to.nb_alpha) || !(to.nb_alpha > 0 && to.nb_alpha <= 1e6);
		else if (!strcmp(a, "--label-smoothing"))
			bad = haven_parse_double(v, &to.label_smoothing) ||
			      !(to.label_smoothing >= 0 && to.label_smoothing < 1);
		else if (!strcmp(a, "--nb-beta"))
			bad = haven_parse_double(v, &to.nb_beta) || !(to.nb_beta > 0 && to.nb_beta <= 1);
		else if (!strcmp(a, "--class-weight")) {
			if (!strcmp(v, "balanced")) to.class_weight = 1;
			else if (!strcmp(v, "none")) to.class_weight = 0;
			else bad = 1;
		} else if (!strcmp(a, "--threshold")) {
			if (!strcmp(v, "f1")) to.threshold = HAVEN_THRESHOLD_F1;
			else if (!strcmp(v, "balanced")) to.threshold = HAVEN_THRESHOLD_BALANCED;
			else if (!strcmp(v, "none")) to.threshold = HAVEN_THRESHOLD_NONE;
			else if (!strncmp(v, "recall:", 7)) {
				to.threshold = HAVEN_THRESHOLD_RECALL;
				bad = haven_parse_double(v + 7, &to.target_recall) ||
				      !(to.target_recall > 0 && to.target_recall <= 1);
			} else bad = 1;
		} else if (!strcmp(a, "--at-least-one")) {
			if (!strcmp(v, "yes")) to.at_least_one = 1;
			else if (!strcmp(v, "no")) to.at_least_one = 0;
			else if (!strcmp(v, "auto")) to.at_least_one = -1;
			else bad = 1;
		} else if (!strcmp(a, "--buckets"))
			bad = parse_u64(v, &u) || u < 1 || u > (1u << 26), to.text.buckets = (uint32_t)u;
		else if (!strcmp(a, "--ngrams"))
			bad = parse_u64(v, &u) || u < 1 || u > 3, to.text.word_ngrams = (uint8_t)u;
		else if (!strcmp(a, "--minn")) bad = parse_u64(v, &u) || u > 12, to.text.char_minn = (uint8_t)u;
		else if (!strcmp(a, "--maxn")) bad = parse_u64(v, &u) || u > 12, to.text.char_maxn = (uint8_t)u;
		else if (!strcmp(a, "--char-weight")) {
			bad = haven_parse_double(v, &d) || d < 0 || d > 100;
			to.text.char_weight = (float)d;
		} else if (!strcmp(a, "--scaling")) {
			if (!strcmp(v, "binary")) to.text.scaling = HAVEN_SCALING_BINARY;
			else if (!strcmp(v, "count")) to.text.scaling = HAVEN_SCALING_COUNT;
			else if (!strcmp(v, "log")) to.text.scaling = HAVEN_SCALING_LOG;
			else bad = 1;
		} else if (!strcmp(a, "--seed")) bad = parse_u64(v, &to.seed);
		else if (!strcmp(a, "--threads"))
			bad = parse_u64(v, &u) || u < 1 || u > 64, to.threads = (int)u;
		else if (!strcmp(a, "--name")) to.name = v;
		else if (!strcmp(a, "--version")) to.version = v;
		else if (!strcmp(a, "--task")) to.task = v;
		else if (!strcmp(a, "--data-desc")) to.data = v;
		else if (!strcmp(a, "--license")) to.license = v;
		else
			return haven_cli_usage_error("train", "unknown option %s", a);
		if (bad)
			return haven_cli_usage_error("train", "bad value for %s: '%s'", a, v);
	}
	if (!data || !out_path || !ro.text_cols || !ro.label_col)
		return haven_cli_usage_error("train", "--data, --text-col, --label-col and --out "
				             "are required");
	if (dev_path && dev_split > 0)
		return haven_cli_usage_error("train", "give --dev or --dev-split, not both");
	if ((to.text.char_minn == 0) != (to.text.char_maxn == 0) ||
	    to.text.char_minn > to.text.char_maxn)
		return haven_cli_usage_error("train", "need 1 <= --minn <= --maxn (or both 0)");
	if ((ro.min_weight > 0 || ro.weight_power != 1) && !ro.weight_col)
		return haven_cli_usage_error("train", "--min-weight and --weight-power need "
					     "--weight-col");
	if (ro.extra_text_crop && !ro.extra_text_col)
		return haven_cli_usage_error("train", "--extra-text-crop needs --extra-text-col");
	if (ro.extra_weight != 1 && !ro.extra_text_col && !ro.extra_label_col)
		return haven_cli_usage_error("train", "--extra-weight needs --extra-text-col or "
					     "--extra-label-col");
	if (to.nb_beta != 1 && !(to.nb_alpha > 0))
		return haven_cli_usage_error("train", "--nb-beta needs --nb");
	if (to.nb_alpha > 0 && to.kind != HAVEN_MODEL_LINEAR)
		return haven_cli_usage_error("train", "--nb needs --model linear");
	if (!quiet)
		to.log = stderr;
	created = join_args(argc - 1, argv + 1);
	to.created_by = created ? created : "";
	if ((rc = haven_dataset_read(data, &ro, &all, err, sizeof(err)))) {
		haven_cli_fail("train: %s", err);
		goto out;
	}
	if (dev_split > 0) {
		if ((rc = haven_dataset_split(all, dev_split, to.seed, &train, &dev))) {
			haven_cli_fail("train: split failed: %s", haven_strerror(rc));
			goto out;
		}
	} else {
		train = all;
		all = NULL;
		if (dev_path) {
			struct haven_read_opts dro = ro;
			/* dev rows are scored as they are: no weights, no extra examples */
			dro.weight_col = dro.extra_text_col = dro.extra_label_col = NULL;
			dro.extra_text_crop = 0;
			dro.min_weight = 0;
			dro.fixed_labels = train->label_names;
			dro.nfixed_labels = train->nlabel_names;
			if ((rc = haven_dataset_read(dev_path, &dro, &dev, err, sizeof(err)))) {
				haven_cli_fail("train: dev data: %s", err);
				goto out;
			}
		}
	}
	int multi = to.nb_alpha > 0 && several_labels(train);
	if (to.nb_alpha > 0 && (train->nlabel_names != 2 || to.output == HAVEN_OUTPUT_SIGMOID ||
				multi)) {
		ret = haven_cli_usage_error("train", "--nb needs a two-label task with one label per "
					    "row (the data has %zu labels%s)", train->nlabel_names,
					    multi ? ", several per row" : "");
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "train: %zu training rows, %zu dev rows, %zu labels\n", train->n,
			dev ? dev->n : 0, train->nlabel_names);
	if ((rc = haven_model_train(train, dev, &to, &m, err, sizeof(err)))) {
		haven_cli_fail("train: %s", err);
		goto out;
	}
	if ((rc = haven_model_save(m, out_path))) {
		haven_cli_fail("train: cannot write %s: %s", out_path, haven_strerror(rc));
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "train: wrote %s\n", out_path);
	ret = 0;
out:
	haven_model_destroy(&m);
	haven_dataset_destroy(&all);
	haven_dataset_destroy(&train);
	haven_dataset_destroy(&dev);
	free(created);
	return ret;
}
