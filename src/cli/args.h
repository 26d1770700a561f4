/*
 * args.h: option parsing shared by the subcommands: "--name VALUE" or "--name=VALUE",
 * and loading the master key the way every command that decrypts does.
 */
#ifndef HAVEN_CLI_ARGS_H
#define HAVEN_CLI_ARGS_H

#include "core/core.h"
#include "crypto/crypto.h"
#include "store/store.h"

struct haven_opt {
	const char *name;   /* "--db" */
	const char **value; /* receives the value; NULL for a flag without value */
	int *flag;          /* set to 1 for a flag without value */
};

/* Parses argv[1..argc) against opts (ended by {NULL}). Returns 0, or prints a usage
 * error for cmd and returns 2. */
int haven_cli_parse(const char *cmd, int argc, char **argv, const struct haven_opt *opts);

/* Loads the master key by the rules every command shares (haven_master_key_resolve:
 * HAVEN_MASTER_KEY, else --key-file, else HAVEN_KEY_FILE, else var/haven.key), checked
 * against the data keys in s. Prints the one-line reason and returns 1 on failure. */
/* Initialises libsodium, opens the database at url (NULL: the default) and applies the
 * migrations, as every command that works on data does. Prints the one-line reason and
 * returns 1 on failure (*out is then NULL). */
int haven_cli_open_store(const char *url, struct haven_store **out);
int haven_cli_master_key(const char *key_file_flag, struct haven_store *s,
                         struct haven_master_key **out);

#endif
