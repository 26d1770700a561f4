/*
 * cmd_analyze.c: `haven analyze`: one text per line on stdin, one JSON object per line on
 * stdout with every analysis of that text (DESIGN.md, "External contracts"): `risk` from
 * the crisis screen, and `emotions`, `sentiment`, `stress`, `distortions` from the engine's
 * models in models/. A model that is not installed is reported as missing in every line,
 * never replaced by a made-up result. Every input line gets exactly one output line, in
 * order, whatever its bytes: empty lines, over-long lines (cut, and said so), invalid UTF-8
 * (replaced) and binary garbage are answered and the next line is read.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "nlp/analyze.h"
#include "nlp/crisis.h"

#define LINE_MAX_DEFAULT (16 * 1024)
#define LINE_MAX_LIMIT (1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: haven analyze [--lexicon FILE] [--models DIR] [--max-line BYTES]\n\n"
		"Reads one text per line on stdin and writes one JSON object per line on stdout:\n"
		"  {\"line\": N, \"risk\": {\"level\": \"none|low|moderate|high\", \"score\": S,\n"
		"   \"reasons\": [...], \"flags\": [...], ...}, \"emotions\": {...},\n"
		"   \"sentiment\": {...}, \"stress\": {...}, \"distortions\": {...}, \"input\": {...}}\n"
		"A model that is not installed appears as {\"status\": \"missing\", ...}.\n"
		"Empty lines get {\"line\": N, \"error\": {...}}; lines longer than --max-line bytes\n"
		"(default %d) are analysed up to that length and marked truncated; invalid UTF-8 is\n"
		"replaced by U+FFFD.\n\n"
		"  --lexicon FILE   crisis lexicon (default content/lexicon/crisis-v1.txt)\n"
		"  --models DIR     directory of the installed models (default models/)\n"
		"  --max-line N     bytes of a line that are analysed (default %d, at most %d)\n",
		LINE_MAX_DEFAULT, LINE_MAX_DEFAULT, LINE_MAX_LIMIT);
}

/* Reads lines of any length, keeping at most max bytes of each. */
struct line_reader {
	FILE *f;
	char *buf;
	size_t max;
	char chunk[1 << 16];
	size_t pos, len;
	int eof;
};

/* Returns 1 with a line in r->buf (*n bytes, *cut set when bytes were dropped), 0 at end. */
static int read_line(struct line_reader *r, size_t *n, int *cut)
{
	size_t used = 0;
	int any = 0;
	*cut = 0;
	for (;;) {
		if (r->pos == r->len) {
			if (r->eof)
				break;
			r->len = fread(r->chunk, 1, sizeof(r->chunk), r->f);
			r->pos = 0;
			if (r->len == 0) {
				r->eof = 1;
				break;
			}
		}
		any = 1;
		char *start = r->chunk + r->pos;
		char *nl = memchr(start, '\n', r->len - r->pos);
		size_t take = nl ? (size_t)(nl - start) : r->len - r->pos;
		size_t room = r->max - used;
		size_t copy = take < room ? take : room;
		memcpy(r->buf + used, start, copy);
		used += copy;
		if (copy < take)
			*cut = 1;
		r->pos += take;
		if (nl) {
			r->pos++;
			goto done;
		}
	}
	if (!any)
		return 0;
done:
	if (used > 0 && r->buf[used - 1] == '\r')
		used--;
	*n = used;
	return 1;
}

int cmd_analyze(int argc, char **argv)
{
	const char *lexicon = NULL, *models_dir = NULL;
	int64_t max_line = LINE_MAX_DEFAULT;
	int rc = 1;
	struct haven_analyzer *an = NULL;
	struct line_reader r;
	struct haven_buf out, clean;
	memset(&r, 0, sizeof(r));
	haven_buf_init(&out, 64u << 20);
	haven_buf_init(&clean, 4 * LINE_MAX_LIMIT);

	if (haven_cli_wants_help(argc, argv)) {
		usage(stdout);
		rc = 0;
		goto out;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--lexicon") && i + 1 < argc) {
			lexicon = argv[++i];
		} else if (!strcmp(a, "--models") && i + 1 < argc) {
			models_dir = argv[++i];
		} else if (!strcmp(a, "--max-line") && i + 1 < argc) {
			if (haven_parse_int64(argv[++i], &max_line) || max_line < 1 ||
			    max_line > LINE_MAX_LIMIT) {
				rc = haven_cli_usage_error("analyze",
							   "--max-line must be a number from 1 to %d",
							   LINE_MAX_LIMIT);
				goto out;
			}
		} else {
			rc = haven_cli_usage_error("analyze", "unknown option '%s'", a);
			goto out;
		}
	}
	char err[512];
	if (haven_analyzer_create(lexicon, models_dir, &an, err, sizeof(err))) {
		rc = haven_cli_fail("analyze: %s", err);
		goto out;
	}
	r.f = stdin;
	r.max = (size_t)max_line;
	r.buf = malloc(r.max + 1);
	if (!r.buf) {
		rc = haven_cli_fail("analyze: out of memory");
		goto out;
	}
	size_t n;
	int cut;
	uint64_t lineno = 0;
	while (read_line(&r, &n, &cut)) {
		lineno++;
		haven_buf_reset(&clean);
		int replaced = 0;
		const char *text = r.buf;
		size_t tlen = n;
		if (!haven_utf8_valid(r.buf, n, NULL)) {
			if (haven_utf8_sanitize(&clean, r.buf, n)) {
				rc = haven_cli_fail("analyze: out of memory");
				goto out;
			}
			text = clean.data;
			tlen = clean.len;
			replaced = 1;
		}
		if (haven_analyzer_line_json(an, lineno, text, tlen, cut, replaced, n, &out)) {
			rc = haven_cli_fail("analyze: out of memory at line %llu",
					    (unsigned long long)lineno);
			goto out;
		}
		if (out.len > (1u << 16)) {
			fwrite(out.data, 1, out.len, stdout);
			haven_buf_reset(&out);
		}
	}
	if (out.len)
		fwrite(out.data, 1, out.len, stdout);
	if (ferror(stdin)) {
		rc = haven_cli_fail("analyze: error reading stdin");
		goto out;
	}
	if (fflush(stdout) != 0) {
		rc = haven_cli_fail("analyze: error writing stdout");
		goto out;
	}
	rc = 0;
out:
	free(r.buf);
	haven_buf_release(&out);
	haven_buf_release(&clean);
	haven_analyzer_destroy(&an);
	return rc;
}
