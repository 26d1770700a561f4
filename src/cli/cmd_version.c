/* cmd_version.c: `haven version` prints the program and API version. */
#include <stdio.h>

#include "cli/cli.h"
#include "haven/version.h"

int cmd_version(int argc, char **argv)
{
	if (haven_cli_wants_help(argc, argv)) {
		printf("usage: haven version\n\nPrints Haven's version and the HTTP API version.\n");
		return 0;
	}
	printf("haven %s (api %s)\n", HAVEN_VERSION, HAVEN_API_VERSION);
	return 0;
}
