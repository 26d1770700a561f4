/* args.c: option parsing and master-key loading shared by the subcommands. */
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"

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

int haven_cli_master_key(const char *key_file_flag, struct haven_master_key **out)
{
	const char *env_hex = getenv("HAVEN_MASTER_KEY");
	const char *path = key_file_flag;
	if (!path || !*path)
		path = getenv("HAVEN_KEY_FILE");
	if (!path || !*path)
		path = "var/haven.key";
	if (env_hex && !*env_hex)
		env_hex = NULL;
	int rc = haven_master_key_load(path, env_hex, out);
	if (rc)
		return haven_cli_fail("cannot load the master key from %s: %s",
				      env_hex ? "HAVEN_MASTER_KEY" : path, haven_strerror(rc));
	return 0;
}
