/* nlp_common.c: dataset flags, model lookup and JSON output for the text commands. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_nlp.h"

const char haven_cli_read_flags_help[] =
	"data options:\n"
	"  --format csv|tsv      file format (default: .tsv/.txt are TSV, else CSV)\n"
	"  --no-header           the first row is data; name columns by number (1-based)\n"
	"  --text-col C[,C...]   text column(s), by header name or number; several are joined\n"
	"  --label-col C         label column\n"
	"  --group-col C         grouping column (rows of a group stay on one side of a split)\n"
	"  --label-sep S         separator of several labels in the label field (multi-label)\n"
	"  --label-names FILE    one label name per line; labels in the data are 0-based\n"
	"                        indices into it (GoEmotions)\n"
	"  --skip-labels L[,L]   drop rows with these label values\n"
	"  --label-map SPEC      rename labels: \"FROM=TO;FROM=TO;*=TO\" (* = any other), e.g.\n"
	"                        \"No Distortion=0;*=1\" for a binary task\n";

int haven_cli_read_flag(const char *cmd, int argc, char **argv, int *i,
			struct haven_read_opts *o)
{
	const char *a = argv[*i];
	static const char *with_value[] = {"--format", "--text-col", "--label-col",
					   "--group-col", "--label-sep", "--label-names",
					   "--skip-labels", "--label-map"};
	if (!strcmp(a, "--no-header")) {
		o->header = 0;
		return 1;
	}
	size_t k;
	for (k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
		if (!strcmp(a, with_value[k]))
			break;
	if (k == sizeof(with_value) / sizeof(with_value[0]))
		return 0;
	if (*i + 1 >= argc) {
		haven_cli_usage_error(cmd, "%s needs a value", a);
		return -1;
	}
	const char *v = argv[++*i];
	switch (k) {
	case 0:
		if (!strcmp(v, "csv"))
			o->format = HAVEN_FORMAT_CSV;
		else if (!strcmp(v, "tsv"))
			o->format = HAVEN_FORMAT_TSV;
		else {
			haven_cli_usage_error(cmd, "--format must be csv or tsv");
			return -1;
		}
		break;
	case 1: o->text_cols = v; break;
	case 2: o->label_col = v; break;
	case 3: o->group_col = v; break;
	case 4: o->label_sep = v; break;
	case 5: o->label_names = v; break;
	case 6: o->skip_labels = v; break;
	case 7: o->label_map = v; break;
	}
	return 1;
}

static int is_dir(const char *p)
{
	struct stat st;
	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

int haven_cli_models_dir(char *out, size_t n)
{
	const char *env = getenv("HAVEN_MODELS");
	if (env && *env) {
		haven_strlcpy(out, env, n);
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l <= 0)
		return HAVEN_ENOTFOUND;
	exe[l] = 0;
	for (int up = 0; up < 4; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			break;
		*slash = 0;
		char cand[PATH_MAX + 16];
		snprintf(cand, sizeof(cand), "%s/models", exe);
		if (is_dir(cand)) {
			haven_strlcpy(out, cand, n);
			return 0;
		}
	}
	if (is_dir("models")) {
		haven_strlcpy(out, "models", n);
		return 0;
	}
	return HAVEN_ENOTFOUND;
}

int haven_cli_model_path(const char *name, char *out, size_t n)
{
	size_t l = strlen(name);
	size_t el = strlen(HAVEN_MODEL_EXT);
	if (strchr(name, '/') || (l > el && !strcmp(name + l - el, HAVEN_MODEL_EXT))) {
		haven_strlcpy(out, name, n);
		return 0;
	}
	char dir[PATH_MAX];
	if (haven_cli_models_dir(dir, sizeof(dir)))
		return HAVEN_ENOTFOUND;
	if ((size_t)snprintf(out, n, "%s/%s%s", dir, name, HAVEN_MODEL_EXT) >= n)
		return HAVEN_EINVAL;
	return 0;
}

int haven_cli_load_model(const char *cmd, const char *name, struct haven_model **out)
{
	char path[PATH_MAX + 64], err[512];
	*out = NULL;
	if (haven_cli_model_path(name, path, sizeof(path))) {
		haven_cli_fail("%s: no models directory found for model '%s' (set HAVEN_MODELS or "
			       "give a path)", cmd, name);
		return 1;
	}
	int rc = haven_model_load(path, out, err, sizeof(err));
	if (rc) {
		if (rc == HAVEN_ENOTFOUND)
			haven_cli_fail("%s: model '%s' not found (%s)", cmd, name, path);
		else
			haven_cli_fail("%s: cannot load model: %s", cmd, err[0] ? err :
				       haven_strerror(rc));
		return 1;
	}
	return 0;
}

void haven_cli_json_str(FILE *f, const char *s)
{
	size_t n = strlen(s), i = 0;
	putc('"', f);
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			switch (c) {
			case '"': fputs("\\\"", f); break;
			case '\\': fputs("\\\\", f); break;
			case '\n': fputs("\\n", f); break;
			case '\r': fputs("\\r", f); break;
			case '\t': fputs("\\t", f); break;
			default:
				if (c < 0x20 || c == 0x7F)
					fprintf(f, "\\u%04x", c);
				else
					putc(c, f);
			}
			i++;
			continue;
		}
		uint32_t cp;
		size_t l = haven_utf8_decode(s + i, n - i, &cp);
		char buf[4];
		size_t k = haven_utf8_encode(cp, buf);
		fwrite(buf, 1, k, f);
		i += l;
	}
	putc('"', f);
}

void haven_cli_json_num(FILE *f, double v)
{
	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	fprintf(f, "%.6g", v);
}
