/*
 * args.h: option parsing shared by the subcommands: "--name VALUE" or "--name=VALUE",
 * and loading the master key the way every command that decrypts does.
 */
#ifndef HAVEN_CLI_ARGS_H
#define HAVEN_CLI_ARGS_H

#include "core/core.h"
#include "crypto/crypto.h"

struct haven_opt {
	const char *name;   /* "--db" */
	const char **value; /* receives the value; NULL for a flag without value */
	int *flag;          /* set to 1 for a flag without value */
};

/* Parses argv[1..argc) against opts (ended by {NULL}). Returns 0, or prints a usage
 * error for cmd and returns 2. */
int haven_cli_parse(const char *cmd, int argc, char **argv, const struct haven_opt *opts);

/* Loads the master key: HAVEN_MASTER_KEY (64 hex digits) if set, else the key file
 * (flag, then HAVEN_KEY_FILE, then var/haven.key), created at first use. Prints the
 * error and returns 1 on failure. */
int haven_cli_master_key(const char *key_file_flag, struct haven_master_key **out);

#endif
