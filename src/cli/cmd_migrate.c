/* cmd_migrate.c: `haven migrate` applies the schema migrations this build knows to the
 * database named by --db, or with --status only reports the schema version. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"

static const char usage_text[] =
    "usage: haven migrate [--db URL] [--status]\n\n"
    "Applies every schema migration newer than the database's version, each in its own\n"
    "transaction; running it again does nothing.\n\n"
    "  --db URL    sqlite:PATH or postgresql://USER@HOST[:PORT]/DB (default " HAVEN_DEFAULT_DB ")\n"
    "  --status    print the database's schema version and this build's, change nothing\n";

int cmd_migrate(int argc, char **argv)
{
	const char *url = HAVEN_DEFAULT_DB;
	int status_only = 0, version = 0, applied = 0, rc = 1;
	struct haven_store *s = NULL;

	if (haven_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			url = argv[++i];
		else if (!strncmp(argv[i], "--db=", 5))
			url = argv[i] + 5;
		else if (!strcmp(argv[i], "--status"))
			status_only = 1;
		else
			return haven_cli_usage_error("migrate", "unexpected argument '%s'",
			                             argv[i]);
	}
	if (haven_store_open(url, NULL, &s)) {
		rc = haven_cli_fail("cannot open the database: %s", haven_store_last_error());
		goto out;
	}
	if (!status_only && haven_store_migrate(s, &applied)) {
		rc = haven_cli_fail("migration failed: %s", haven_store_last_error());
		goto out;
	}
	if (haven_store_schema_version(s, &version)) {
		rc = haven_cli_fail("cannot read the schema version: %s", haven_store_last_error());
		goto out;
	}
	if (status_only)
		printf("schema version %d (this build knows %d)\n", version,
		       haven_store_latest_version());
	else
		printf("schema version %d (%d migration%s applied)\n", version, applied,
		       applied == 1 ? "" : "s");
	rc = 0;
out:
	haven_store_destroy(&s);
	return rc;
}
