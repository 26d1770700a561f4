/* cmd_models.c: `haven models` lists the installed models. */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_nlp.h"

static const char usage[] =
	"usage: haven models [--json]\n"
	"\n"
	"Lists the models in the models directory ($HAVEN_MODELS, else models/ next to the\n"
	"binary's build folder): name, version, task, labels and training data. A file that\n"
	"does not load is listed with the reason.\n";

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_models(int argc, char **argv)
{
	int json = 0;
	char dir[PATH_MAX];
	if (haven_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else
			return haven_cli_usage_error("models", "unknown option %s", argv[i]);
	}
	if (haven_cli_models_dir(dir, sizeof(dir)))
		return haven_cli_fail("models: no models directory (set HAVEN_MODELS)");
	DIR *d = opendir(dir);
	if (!d)
		return haven_cli_fail("models: cannot open %s", dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	size_t el = strlen(HAVEN_MODEL_EXT);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l <= el || strcmp(e->d_name + l - el, HAVEN_MODEL_EXT))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **p = realloc(names, cap * sizeof(*p));
			if (!p)
				break;
			names = p;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	if (json)
		printf("[");
	else if (!n)
		printf("no models in %s\n", dir);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX + 300], err[512];
		struct haven_model *m = NULL;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		names[i][strlen(names[i]) - el] = 0;
		int rc = haven_model_load(path, &m, err, sizeof(err));
		if (json) {
			printf("%s{\"name\": ", i ? ", " : "");
			haven_cli_json_str(stdout, names[i]);
			printf(", \"path\": ");
			haven_cli_json_str(stdout, path);
		}
		if (rc) {
			if (json) {
				printf(", \"error\": ");
				haven_cli_json_str(stdout, err);
				printf("}");
			} else {
				printf("%s: cannot load: %s\n", names[i], err);
			}
			free(names[i]);
			continue;
		}
		const struct haven_model_info *in = haven_model_info(m);
		const char *kinds[] = {"", "linear", "embedding-bag", "ensemble"};
		if (json) {
			printf(", \"version\": ");
			haven_cli_json_str(stdout, in->version);
			printf(", \"task\": ");
			haven_cli_json_str(stdout, in->task);
			printf(", \"kind\": \"%s\", \"multi_label\": %s, \"labels\": [",
			       kinds[in->kind], in->multi_label ? "true" : "false");
			for (size_t l = 0; l < in->nlabels; l++) {
				printf("%s", l ? ", " : "");
				haven_cli_json_str(stdout, haven_model_label(m, l));
			}
			printf("], \"data\": ");
			haven_cli_json_str(stdout, in->data);
			printf(", \"license\": ");
			haven_cli_json_str(stdout, in->license);
			printf("}");
		} else {
			printf("%s %s\n  task:    %s\n  model:   %s, %s, %zu labels\n  labels: ",
			       names[i], in->version, in->task, kinds[in->kind],
			       in->multi_label ? "multi-label" : "single-label", in->nlabels);
			for (size_t l = 0; l < in->nlabels; l++)
				printf(" %s%s", haven_model_label(m, l), l + 1 < in->nlabels ? "," : "");
			printf("\n  data:    %s\n  licence: %s\n", in->data, in->license);
		}
		haven_model_destroy(&m);
		free(names[i]);
	}
	if (json)
		printf("]\n");
	free(names);
	return 0;
}
