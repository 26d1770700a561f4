/* cmd_keys.c: `haven keys rotate` replaces the master key and re-wraps every patient's
 * data key under the new one, crash-safely (see haven_master_key_rotate_file). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/keyring.h"

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: haven keys rotate [--db URL] [--key-file PATH]\n\n"
	       "Generates a new master key, re-wraps every patient's data key under it in one\n"
	       "transaction (the encrypted data itself is not touched), then installs it in the\n"
	       "key file. The previous key is kept in PATH.old so that backups made before the\n"
	       "rotation stay readable: store it with those backups, then delete it. Stop the\n"
	       "server first. If the command is interrupted, the next start (or the next\n"
	       "rotation) finishes or discards the rotation from the key ids in the database.\n\n"
	       "options:\n"
	       "  --db URL         sqlite:PATH or postgresql://... (default " HAVEN_DEFAULT_DB ")\n"
	       "  --key-file PATH  the master key file (default $HAVEN_KEY_FILE, "
	       "else " HAVEN_DEFAULT_KEY_FILE ")\n\n"
	       "A key given in HAVEN_MASTER_KEY cannot be rotated by this command.\n");
}

int cmd_keys(int argc, char **argv)
{
	const char *db = HAVEN_DEFAULT_DB, *key_file = NULL;
	struct haven_store *s = NULL;
	char msg[512];
	int64_t count = 0;
	int err, rc = 1;

	if (haven_cli_wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "rotate"))
		return haven_cli_usage_error("keys", "expected the subcommand 'rotate'");
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db = argv[++i];
		else if (!strncmp(argv[i], "--db=", 5))
			db = argv[i] + 5;
		else if (!strcmp(argv[i], "--key-file") && i + 1 < argc)
			key_file = argv[++i];
		else if (!strncmp(argv[i], "--key-file=", 11))
			key_file = argv[i] + 11;
		else
			return haven_cli_usage_error("keys", "unexpected argument '%s'", argv[i]);
	}
	if (haven_crypto_init())
		return haven_cli_fail("cannot initialise libsodium");
	err = haven_store_open(db, NULL, &s);
	if (err)
		return haven_cli_fail("cannot open database %s: %s", db, haven_strerror(err));
	err = haven_master_key_rotate_file(s, key_file, &count, msg, sizeof(msg));
	if (err) {
		rc = haven_cli_fail("keys rotate: %s", msg);
		goto out;
	}
	const char *path = haven_master_key_path(key_file);
	printf("master key rotated: %lld data keys re-wrapped; new key in %s, previous key in "
	       "%s.old\n",
	       (long long)count, path, path);
	rc = 0;
out:
	haven_store_destroy(&s);
	return rc;
}
