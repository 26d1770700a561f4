/* cmd_classify.c: `haven classify` labels one text per stdin line with a model. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_nlp.h"

static const char usage[] =
	"usage: haven classify --model NAME|PATH [--explain K] [--threads 1]\n"
	"\n"
	"Reads one text per line on stdin and writes one JSON object per line on stdout:\n"
	"  {\"predicted\": [\"label\", ...], \"scores\": {\"label\": p, ...}}\n"
	"scores are calibrated probabilities (4 decimals). NAME is a model installed in the\n"
	"models directory ($HAVEN_MODELS, else models/ next to the binary's build folder);\n"
	"PATH is a model file. Lines longer than 16 KiB are cut there (\"truncated\": true);\n"
	"invalid UTF-8 is replaced (\"invalid_utf8\": true); an empty line gets\n"
	"{\"predicted\": [], \"scores\": {}, \"error\": \"empty input\"}.\n"
	"\n"
	"  --explain K   add the K features that contributed most to each predicted label:\n"
	"                \"explanation\": {\"label\": {\"bias\": b, \"top\": [[feature,\n"
	"                contribution], ...]}} (contributions to the raw score, exact)\n";

/* A small output buffer: formatting by hand keeps classify fast. */
struct out {
	char buf[1 << 16];
	size_t len;
};

static void flush(struct out *o)
{
	fwrite(o->buf, 1, o->len, stdout);
	o->len = 0;
}

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n > sizeof(o->buf)) {
		flush(o);
		if (n > sizeof(o->buf)) {
			fwrite(s, 1, n, stdout);
			return;
		}
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_str(struct out *o, const char *s)
{
	/* labels and feature names: escape what JSON needs */
	put(o, "\"", 1);
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			put(o, e, 2);
		} else if (c < 0x20) {
			char e[8];
			snprintf(e, sizeof(e), "\\u%04x", c);
			put(o, e, 6);
		} else {
			put(o, (const char *)&c, 1);
		}
	}
	put(o, "\"", 1);
}

/* Probabilities in [0,1] with 4 decimals. */
static void put_prob(struct out *o, float p)
{
	if (!(p >= 0))
		p = 0;
	if (p > 1)
		p = 1;
	unsigned v = (unsigned)(p * 10000.0f + 0.5f);
	char b[7] = {(char)('0' + v / 10000), '.', (char)('0' + v / 1000 % 10),
		     (char)('0' + v / 100 % 10), (char)('0' + v / 10 % 10), (char)('0' + v % 10)};
	put(o, b, 6);
}

static void put_num(struct out *o, double v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%.4g", v);
	put(o, b, (size_t)n);
}

/* Reads one line into line (at most cap bytes kept); returns 0 at EOF, 1 otherwise.
 * *cut is set when bytes beyond cap were dropped. */
static int read_line(FILE *f, char *line, size_t cap, size_t *len, int *cut)
{
	size_t n = 0;
	int c, any = 0;
	*cut = 0;
	while ((c = getc_unlocked(f)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (n < cap)
			line[n++] = (char)c;
		else
			*cut = 1;
	}
	if (n && line[n - 1] == '\r')
		n--;
	*len = n;
	return any;
}

int cmd_classify(int argc, char **argv)
{
	const char *model = NULL;
	size_t explain = 0;
	int ret = 1;
	struct haven_model *m = NULL;
	struct haven_nlp_ws *ws = NULL;
	struct out *o = NULL;
	char *line = NULL;
	struct {
		char *s;
		size_t len;
	} *quoted = NULL;
	if (haven_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return haven_cli_usage_error("classify", "unknown option or missing value: %s",
						     argv[i]);
		if (!strcmp(argv[i], "--model"))
			model = argv[++i];
		else if (!strcmp(argv[i], "--explain")) {
			int64_t k;
			if (haven_parse_int64(argv[++i], &k) || k < 0 || k > 1000)
				return haven_cli_usage_error("classify", "--explain needs 0..1000");
			explain = (size_t)k;
		} else if (!strcmp(argv[i], "--threads"))
			i++; /* accepted for symmetry; classify reads stdin on one thread */
		else
			return haven_cli_usage_error("classify", "unknown option %s", argv[i]);
	}
	if (!model)
		return haven_cli_usage_error("classify", "--model is required");
	if (haven_cli_load_model("classify", model, &m))
		return 1;
	const struct haven_model_info *in = haven_model_info(m);
	line = malloc(HAVEN_NLP_MAX_TEXT + 1);
	o = malloc(sizeof(*o));
	if (!line || !o || haven_nlp_ws_create(&ws)) {
		haven_cli_fail("classify: out of memory");
		goto out;
	}
	o->len = 0;
	/* labels as JSON strings, escaped once */
	quoted = calloc(in->nlabels, sizeof(*quoted));
	if (!quoted) {
		haven_cli_fail("classify: out of memory");
		goto out;
	}
	for (size_t l = 0; l < in->nlabels; l++) {
		size_t before = o->len;
		put_str(o, haven_model_label(m, l));
		quoted[l].len = o->len - before;
		quoted[l].s = malloc(quoted[l].len);
		if (!quoted[l].s) {
			haven_cli_fail("classify: out of memory");
			goto out;
		}
		memcpy(quoted[l].s, o->buf + before, quoted[l].len);
		o->len = before;
	}
	size_t n;
	int cut;
	while (read_line(stdin, line, HAVEN_NLP_MAX_TEXT, &n, &cut)) {
		struct haven_prediction p;
		int blank = 1;
		for (size_t i = 0; i < n && blank; i++)
			blank = line[i] == ' ' || line[i] == '\t';
		if (blank) {
			puts_(o, "{\"predicted\": [], \"scores\": {}, \"error\": \"empty input\"}\n");
			continue;
		}
		int rc = haven_model_predict(m, ws, line, n, &p);
		if (rc) {
			puts_(o, "{\"predicted\": [], \"scores\": {}, \"error\": ");
			put_str(o, haven_strerror(rc));
			puts_(o, "}\n");
			continue;
		}
		puts_(o, "{\"predicted\": [");
		int first = 1;
		for (size_t l = 0; l < p.nlabels; l++)
			if (p.predicted[l]) {
				if (!first)
					puts_(o, ", ");
				put(o, quoted[l].s, quoted[l].len);
				first = 0;
			}
		puts_(o, "], \"scores\": {");
		for (size_t l = 0; l < p.nlabels; l++) {
			if (l)
				put(o, ", ", 2);
			put(o, quoted[l].s, quoted[l].len);
			put(o, ": ", 2);
			put_prob(o, p.prob[l]);
		}
		puts_(o, "}");
		if (cut)
			puts_(o, ", \"truncated\": true, \"note\": \"line longer than 16384 bytes; "
				 "only the first 16384 were analysed\"");
		if (p.replaced)
			puts_(o, ", \"invalid_utf8\": true");
		if (explain) {
			puts_(o, ", \"explanation\": {");
			int firstl = 1;
			unsigned char *picked = malloc(in->nlabels);
			if (picked)
				memcpy(picked, p.predicted, in->nlabels);
			for (size_t l = 0; picked && l < in->nlabels; l++) {
				if (!picked[l])
					continue;
				struct haven_explanation e;
				if (haven_model_explain(m, ws, line, n, l, explain, &e))
					continue;
				if (!firstl)
					puts_(o, ", ");
				firstl = 0;
				put_str(o, haven_model_label(m, l));
				puts_(o, ": {\"score\": ");
				put_num(o, e.score);
				puts_(o, ", \"bias\": ");
				put_num(o, e.bias);
				puts_(o, ", \"top\": [");
				for (size_t k = 0; k < e.n; k++) {
					if (k)
						puts_(o, ", ");
					puts_(o, "[");
					struct haven_buf esc;
					haven_buf_init(&esc, 4096);
					put_str(o, e.top[k].name ? e.top[k].name : "?");
					haven_buf_release(&esc);
					puts_(o, ", ");
					put_num(o, e.top[k].contribution);
					puts_(o, "]");
				}
				puts_(o, "]}");
			}
			free(picked);
			puts_(o, "}");
		}
		puts_(o, "}\n");
	}
	flush(o);
	if (ferror(stdin)) {
		haven_cli_fail("classify: error reading stdin");
		goto out;
	}
	ret = 0;
out:
	if (fflush(stdout))
		ret = 1;
	if (quoted)
		for (size_t l = 0; l < haven_model_info(m)->nlabels; l++)
			free(quoted[l].s);
	free(quoted);
	haven_nlp_ws_destroy(&ws);
	haven_model_destroy(&m);
	free(line);
	free(o);
	return ret;
}
