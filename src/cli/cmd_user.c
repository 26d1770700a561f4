/*
 * cmd_user.c: `haven user add --role ROLE --email E` creates an account. The password
 * is the first line of stdin (so it never appears in the process list or the shell
 * history) and must be at least 10 characters.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "cli/args.h"
#include "cli/cli.h"

static const char usage_text[] =
    "usage: haven user add --role patient|clinician|admin --email E [--db URL]\n\n"
    "Creates an account. The password is read from the first line of standard input\n"
    "(at least 10 characters), e.g.  echo 'a long passphrase' | haven user add ...\n\n"
    "  --db URL   sqlite:PATH or postgresql://... (default " HAVEN_DEFAULT_DB ")\n";

int cmd_user(int argc, char **argv)
{
	const char *db = NULL, *role = NULL, *email = NULL;
	struct haven_opt opts[] = {
	    {"--db", &db, NULL},
	    {"--role", &role, NULL},
	    {"--email", &email, NULL},
	    {NULL, NULL, NULL},
	};
	struct haven_store *store = NULL;
	char pw[HAVEN_PASSWORD_MAX + 2];
	char norm[256];
	const char *why;
	int rc, status = 1;

	if (haven_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "add"))
		return haven_cli_usage_error("user", "expected 'user add'");
	if ((rc = haven_cli_parse("user add", argc - 1, argv + 1, opts)))
		return rc;
	if (!role ||
	    (strcmp(role, "patient") && strcmp(role, "clinician") && strcmp(role, "admin")))
		return haven_cli_usage_error("user add",
		                             "--role must be patient, clinician or admin");
	if (!email)
		return haven_cli_usage_error("user add", "--email is required");
	if (haven_email_normalize(email, norm, &why))
		return haven_cli_fail("the email '%s' %s", email, why);
	if (!db)
		db = HAVEN_DEFAULT_DB;

	memset(pw, 0, sizeof(pw));
	if (!fgets(pw, sizeof(pw), stdin))
		return haven_cli_fail("no password on standard input (give it as the first line)");
	size_t n = strcspn(pw, "\r\n");
	if (n == sizeof(pw) - 1 || n > HAVEN_PASSWORD_MAX) {
		status = haven_cli_fail("the password is longer than %d bytes", HAVEN_PASSWORD_MAX);
		goto out;
	}
	pw[n] = '\0';
	if (n < HAVEN_PASSWORD_MIN) {
		status = haven_cli_fail("the password must be at least %d characters",
		                        HAVEN_PASSWORD_MIN);
		goto out;
	}
	if (haven_cli_open_store(db, &store))
		goto out;
	int64_t id;
	rc = haven_account_create(store, norm, pw, role, 0, "system", "cli", &id);
	if (rc == HAVEN_ECONFLICT) {
		haven_cli_fail("an account with the email %s exists", norm);
		goto out;
	}
	if (rc) {
		haven_cli_fail("cannot create the user: %s", haven_strerror(rc));
		goto out;
	}
	printf("created %s %s with id %lld\n", role, norm, (long long)id);
	status = 0;
out:
	sodium_memzero(pw, sizeof(pw));
	haven_store_destroy(&store);
	return status;
}
