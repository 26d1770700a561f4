/* common.c: helpers shared by the subcommands. */
#include <stdarg.h>
#include <string.h>

#include "cli/cli.h"

int haven_cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("haven: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

int haven_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "haven %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see 'haven %s --help')\n", cmd);
	va_end(ap);
	return 2;
}

int haven_cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}
