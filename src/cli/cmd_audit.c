/* cmd_audit.c: `haven audit verify` recomputes the audit log's hash chain and names the
 * first record that was altered, unlinked or deleted. */
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "crypto/crypto.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: haven audit verify [--db URL] [--anchor ID:HASH]\n\n"
	        "Checks the tamper-evident audit log: recomputes every record's hash and its\n"
	        "link to the previous record, in id order. Prints 'audit log intact: N records'\n"
	        "and the head hash (note it elsewhere: a later truncation of the log's tail can\n"
	        "only be seen against it), or names the first bad record and exits 1.\n\n"
	        "options:\n"
	        "  --db URL          sqlite:PATH or postgresql://... (default " HAVEN_DEFAULT_DB
	        ")\n"
	        "  --anchor ID:HASH  a head printed by an earlier verify: also check that record\n"
	        "                    ID still exists with that hash (the log only grew since)\n");
}

static int parse_anchor(const char *text, int64_t *id, uint8_t hash[32])
{
	char num[24];
	const char *colon = strchr(text, ':');
	if (!colon || (size_t)(colon - text) >= sizeof(num))
		return HAVEN_EINVAL;
	memcpy(num, text, (size_t)(colon - text));
	num[colon - text] = '\0';
	if (haven_parse_int64(num, id) || *id < 1)
		return HAVEN_EINVAL;
	return haven_hex_decode(colon + 1, hash, 32);
}

int cmd_audit(int argc, char **argv)
{
	const char *db = HAVEN_DEFAULT_DB, *anchor = NULL;
	int64_t anchor_id = 0;
	uint8_t anchor_hash[32];
	struct haven_store *s = NULL;
	struct haven_audit_report report;
	int version = 0, rc = 1, err;

	if (haven_cli_wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "verify"))
		return haven_cli_usage_error("audit", "expected the subcommand 'verify'");
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db = argv[++i];
		else if (!strncmp(argv[i], "--db=", 5))
			db = argv[i] + 5;
		else if (!strcmp(argv[i], "--anchor") && i + 1 < argc)
			anchor = argv[++i];
		else if (!strncmp(argv[i], "--anchor=", 9))
			anchor = argv[i] + 9;
		else
			return haven_cli_usage_error("audit", "unexpected argument '%s'", argv[i]);
	}
	if (anchor && parse_anchor(anchor, &anchor_id, anchor_hash))
		return haven_cli_usage_error("audit", "--anchor takes ID:HASH (64 hex digits)");
	if (haven_crypto_init())
		return haven_cli_fail("cannot initialise libsodium");
	err = haven_store_open(db, NULL, &s);
	if (err)
		return haven_cli_fail("cannot open database %s: %s", db, haven_strerror(err));
	err = haven_store_schema_version(s, &version);
	if (err) {
		rc = haven_cli_fail("cannot read the schema of %s: %s", db, haven_strerror(err));
		goto out;
	}
	if (version < 1) {
		rc = haven_cli_fail("database %s is not migrated (run 'haven migrate')", db);
		goto out;
	}
	err = haven_audit_verify(s, &report);
	if (err) {
		rc = haven_cli_fail("cannot read the audit log: %s", haven_strerror(err));
		goto out;
	}
	if (report.first_bad_id) {
		rc = haven_cli_fail("audit log broken at record %lld: %s",
		                    (long long)report.first_bad_id, report.reason);
		goto out;
	}
	if (anchor) {
		err = haven_audit_check_anchor(s, anchor_id, anchor_hash);
		if (err == HAVEN_ENOTFOUND) {
			rc = haven_cli_fail("audit log broken: anchor record %lld is gone (the "
			                    "log was cut after it)",
			                    (long long)anchor_id);
			goto out;
		}
		if (err == HAVEN_ECORRUPT) {
			rc = haven_cli_fail("audit log broken: anchor record %lld has another "
			                    "hash (the log was rewritten)",
			                    (long long)anchor_id);
			goto out;
		}
		if (err) {
			rc = haven_cli_fail("cannot read the audit log: %s", haven_strerror(err));
			goto out;
		}
	}
	char head[65];
	haven_hex_encode(report.head_hash, sizeof(report.head_hash), head);
	printf("audit log intact: %lld records\n", (long long)report.records);
	printf("head: %lld:%s\n", (long long)report.last_id, head);
	rc = 0;
out:
	haven_store_destroy(&s);
	return rc;
}
