/*
 * cmd_erase.c: `haven erase --patient ID` is the administrator's erasure: the patient's
 * data key is destroyed (their ciphertexts can never be opened again, even from
 * backups), their rows and sessions are deleted, and the audit log records it with ids
 * only. The same operation as DELETE /api/v1/me.
 */
#include <stdio.h>

#include "api/api.h"
#include "cli/args.h"
#include "cli/cli.h"

static const char usage_text[] =
    "usage: haven erase --patient ID [--db URL]\n\n"
    "Erases a patient: destroys their data key, deletes their rows and sessions and\n"
    "records the erasure (ids only) in the audit log. This cannot be undone.\n\n"
    "  --db URL   sqlite:PATH or postgresql://... (default " HAVEN_DEFAULT_DB ")\n";

int cmd_erase(int argc, char **argv)
{
	const char *db = NULL, *patient = NULL;
	struct haven_opt opts[] = {
	    {"--db", &db, NULL}, {"--patient", &patient, NULL}, {NULL, NULL, NULL}};
	struct haven_store *store = NULL;
	int64_t id;
	int rc, status = 1;

	if (haven_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if ((rc = haven_cli_parse("erase", argc, argv, opts)))
		return rc;
	if (!patient || haven_parse_int64(patient, &id) || id <= 0)
		return haven_cli_usage_error("erase",
		                             "--patient ID (a positive number) is required");
	if (haven_cli_open_store(db, &store))
		goto out;
	rc = haven_patient_erase(store, id, 0, "system", "cli");
	if (rc == HAVEN_ENOTFOUND) {
		haven_cli_fail("no patient with id %lld", (long long)id);
		goto out;
	}
	if (rc) {
		haven_cli_fail("erasure failed: %s", haven_strerror(rc));
		goto out;
	}
	printf("erased patient %lld\n", (long long)id);
	status = 0;
out:
	haven_store_destroy(&store);
	return status;
}
