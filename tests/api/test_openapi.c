/*
 * test_openapi.c: docs/openapi.yaml and the router table describe the same routes:
 * every (method, path) in one is in the other. The YAML is read with a small line
 * scanner that knows the file's layout: path keys indented two spaces under "paths:",
 * operations indented four.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "harness.h"

struct op {
	char method[8];
	char path[128];
};

static size_t read_spec(struct op *ops, size_t max)
{
	FILE *f = fopen("docs/openapi.yaml", "r");
	if (!f)
		f = fopen("../docs/openapi.yaml", "r");
	ASSERT(f);
	char line[512], path[128] = "";
	int in_paths = 0;
	size_t n = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!strncmp(line, "paths:", 6)) {
			in_paths = 1;
			continue;
		}
		if (!in_paths || !line[0] || line[0] == '#')
			continue;
		if (line[0] != ' ') {
			in_paths = 0;
			continue;
		}
		if (!strncmp(line, "  /", 3) || !strncmp(line, "  '/", 4) ||
		    !strncmp(line, "  \"/", 4)) {
			const char *p = line + 2;
			if (*p == '\'' || *p == '"')
				p++;
			size_t len = strcspn(p, "'\":");
			ASSERT(len < sizeof(path));
			memcpy(path, p, len);
			path[len] = '\0';
			continue;
		}
		static const char *const methods[] = {"get", "post", "put", "delete", "patch"};
		if (strncmp(line, "    ", 4) || line[4] == ' ')
			continue;
		for (size_t m = 0; m < 5; m++) {
			size_t ml = strlen(methods[m]);
			if (!strncmp(line + 4, methods[m], ml) && line[4 + ml] == ':') {
				ASSERT(n < max && path[0]);
				for (size_t i = 0; i <= ml; i++)
					ops[n].method[i] =
					    (char)toupper((unsigned char)methods[m][i]);
				haven_strlcpy(ops[n].path, path, sizeof(ops[n].path));
				n++;
			}
		}
	}
	fclose(f);
	return n;
}

TEST(openapi_matches_router)
{
	struct op ops[256];
	size_t nops = read_spec(ops, 256);
	const struct haven_route_info *routes;
	size_t nroutes = haven_api_routes(&routes);
	ASSERT(nops > 0);
	for (size_t i = 0; i < nroutes; i++) {
		int found = 0;
		for (size_t j = 0; j < nops && !found; j++)
			found = !strcmp(ops[j].method, routes[i].method) &&
			        !strcmp(ops[j].path, routes[i].pattern);
		if (!found)
			haven_test_fail(__FILE__, __LINE__, "%s %s is not in docs/openapi.yaml",
			                routes[i].method, routes[i].pattern);
	}
	for (size_t j = 0; j < nops; j++) {
		int found = 0;
		for (size_t i = 0; i < nroutes && !found; i++)
			found = !strcmp(ops[j].method, routes[i].method) &&
			        !strcmp(ops[j].path, routes[i].pattern);
		if (!found)
			haven_test_fail(__FILE__, __LINE__,
			                "docs/openapi.yaml has %s %s, which the server does not "
			                "answer",
			                ops[j].method, ops[j].path);
	}
}
