/* args.c: option parsing and master-key loading shared by the subcommands. */
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "crypto/keyring.h"

int haven_cli_parse(const char *cmd, int argc, char **argv, const struct haven_opt *opts)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct haven_opt *o = opts;
		size_t n = 0;
		for (; o->name; o++) {
			n = strlen(o->name);
			if (!strncmp(a, o->name, n) && (a[n] == '\0' || (a[n] == '=' && o->value)))
				break;
		}
		if (!o->name)
			return haven_cli_usage_error(cmd, "unknown option '%s'", a);
		if (!o->value) {
			*o->flag = 1;
			continue;
		}
		if (a[n] == '=') {
			*o->value = a + n + 1;
		} else {
			if (i + 1 >= argc)
				return haven_cli_usage_error(cmd, "%s needs a value", o->name);
			*o->value = argv[++i];
		}
	}
	return 0;
}

int haven_cli_master_key(const char *key_file_flag, struct haven_store *s,
                         struct haven_master_key **out)
{
	char msg[512] = "";
	if (haven_master_key_resolve(key_file_flag, s, out, msg, sizeof(msg)))
		return haven_cli_fail("%s", msg[0] ? msg : "cannot load the master key");
	return 0;
}

int haven_cli_open_store(const char *url, struct haven_store **out)
{
	*out = NULL;
	if (haven_crypto_init())
		return haven_cli_fail("cannot initialise libsodium");
	if (haven_store_open(url ? url : HAVEN_DEFAULT_DB, NULL, out) ||
	    haven_store_migrate(*out, NULL)) {
		haven_cli_fail("cannot open the database: %s", haven_store_last_error());
		haven_store_destroy(out);
		return 1;
	}
	return 0;
}
