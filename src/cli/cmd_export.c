/*
 * cmd_export.c: `haven export --patient ID` writes everything Haven holds about a
 * patient, decrypted, as JSON on stdout: the same document as GET /api/v1/me/export.
 * The export is audited (actor "system").
 */
#include <stdio.h>

#include "api/api.h"
#include "cli/args.h"
#include "cli/cli.h"

static const char usage_text[] =
    "usage: haven export --patient ID [--db URL] [--key-file PATH]\n\n"
    "Writes the patient's data, decrypted, as JSON to standard output (the same\n"
    "document as GET /api/v1/me/export). The export is recorded in the audit log.\n\n"
    "  --db URL          sqlite:PATH or postgresql://... (default " HAVEN_DEFAULT_DB ")\n"
    "  --key-file PATH   the master key file (default var/haven.key; HAVEN_MASTER_KEY\n"
    "                    overrides it)\n";

int cmd_export(int argc, char **argv)
{
	const char *db = NULL, *patient = NULL, *key_file = NULL;
	struct haven_opt opts[] = {{"--db", &db, NULL},
	                           {"--patient", &patient, NULL},
	                           {"--key-file", &key_file, NULL},
	                           {NULL, NULL, NULL}};
	struct haven_store *store = NULL;
	struct haven_master_key *mk = NULL;
	json_t *doc = NULL;
	int64_t id;
	int rc, status = 1;

	if (haven_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if ((rc = haven_cli_parse("export", argc, argv, opts)))
		return rc;
	if (!patient || haven_parse_int64(patient, &id) || id <= 0)
		return haven_cli_usage_error("export",
		                             "--patient ID (a positive number) is required");
	if (haven_cli_open_store(db, &store))
		goto out;
	if (haven_cli_master_key(key_file, store, &mk))
		goto out;
	rc = haven_patient_export(store, mk, id, 0, "system", "cli", &doc);
	if (rc == HAVEN_ENOTFOUND) {
		haven_cli_fail("no patient with id %lld", (long long)id);
		goto out;
	}
	if (rc) {
		haven_cli_fail("export failed: %s", haven_strerror(rc));
		goto out;
	}
	if (json_dumpf(doc, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF ||
	    fflush(stdout)) {
		haven_cli_fail("cannot write the export to standard output");
		goto out;
	}
	status = 0;
out:
	json_decref(doc);
	haven_master_key_destroy(&mk);
	haven_store_destroy(&store);
	return status;
}
