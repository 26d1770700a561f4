/*
 * cmd_user.c: `haven user add --role ROLE --email E [--locale L]` creates an account. The
 * password is the first line of stdin (so it never appears in the process list or the
 * shell history) and must be at least 10 characters. --locale sets the person's own locale
 * for crisis lines (users.locale), checked against content/crisis_lines.txt; without it the
 * deployment's locale applies.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "audit/audit.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "dialog/dialog.h"

static const char usage_text[] =
    "usage: haven user add --role patient|clinician|admin --email E [--locale L] [--db URL]\n\n"
    "Creates an account. The password is read from the first line of standard input\n"
    "(at least 10 characters), e.g.  echo 'a long passphrase' | haven user add ...\n\n"
    "  --locale L  the person's own locale for crisis lines (e.g. en-GB, en-IE): one that\n"
    "              content/crisis_lines.txt lists, or language-COUNTRY for the international\n"
    "              directory. Without it the deployment's locale applies (docs/chat.md).\n"
    "  --db URL    sqlite:PATH or postgresql://... (default " HAVEN_DEFAULT_DB ")\n";

struct set_locale {
	int64_t id;
	const char *locale;
};

/* Sets the new account's locale, with its audit record, in one transaction. */
static int set_locale_tx(struct haven_tx *tx, void *arg)
{
	struct set_locale *l = arg;
	struct haven_param p[] = {HAVEN_P_TEXT(l->locale), HAVEN_P_INT(l->id)};
	int rc = haven_tx_exec(tx, "UPDATE users SET locale = ? WHERE id = ?", p, 2, NULL);
	if (rc)
		return rc;
	char subject[48], detail[48];
	snprintf(subject, sizeof(subject), "user:%lld", (long long)l->id);
	snprintf(detail, sizeof(detail), "locale=%s", l->locale);
	struct haven_audit_event ev = {0, "system", "user.update", subject, "ok", "cli", detail};
	return haven_audit_append(tx, &ev);
}

int cmd_user(int argc, char **argv)
{
	const char *db = NULL, *role = NULL, *email = NULL, *locale_arg = NULL;
	struct haven_opt opts[] = {
	    {"--db", &db, NULL},
	    {"--role", &role, NULL},
	    {"--email", &email, NULL},
	    {"--locale", &locale_arg, NULL},
	    {NULL, NULL, NULL},
	};
	struct haven_store *store = NULL;
	char pw[HAVEN_PASSWORD_MAX + 2];
	char norm[256], locale[HAVEN_LOCALE_MAX] = "", err[512];
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
	if (locale_arg && haven_locale_check(locale_arg, locale, &why, err, sizeof(err)))
		return why ? haven_cli_fail("--locale '%s' %s", locale_arg, why)
			   : haven_cli_fail("cannot check --locale: %s", err);
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
	if (locale[0]) {
		struct set_locale l = {id, locale};
		if ((rc = haven_store_write(store, set_locale_tx, &l))) {
			haven_cli_fail("created %s %s with id %lld, but cannot set its locale: %s",
				       role, norm, (long long)id, haven_strerror(rc));
			goto out;
		}
		printf("created %s %s with id %lld (locale %s)\n", role, norm, (long long)id,
		       locale);
	} else {
		printf("created %s %s with id %lld\n", role, norm, (long long)id);
	}
	status = 0;
out:
	sodium_memzero(pw, sizeof(pw));
	haven_store_destroy(&store);
	return status;
}
