/*
 * cli.h: the command table and helpers shared by the subcommands in src/cli/cmd_*.c.
 * Only src/cli decides to stop the process; every command returns its exit status
 * (0 success, 1 failure, 2 usage error) and prints a one-line message on failure.
 */
#ifndef HAVEN_CLI_H
#define HAVEN_CLI_H

#include "core/core.h"

#define HAVEN_DEFAULT_DB "sqlite:var/haven.db"

struct haven_cmd {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *summary;
};

/* Prints "haven: <message>" on stderr and returns 1. */
int haven_cli_fail(const char *fmt, ...) HAVEN_PRINTF(1, 2);
/* Prints "haven <cmd>: <message>" plus a hint to use --help, returns 2. */
int haven_cli_usage_error(const char *cmd, const char *fmt, ...) HAVEN_PRINTF(2, 3);
/* Returns 1 if argv contains --help or -h. */
int haven_cli_wants_help(int argc, char **argv);

/* Subcommands: one file each. */
int cmd_version(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_erase(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_audit_fairness(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
/* `haven train --task deterioration` (cmd_train_risk.c), reached through cmd_train. */
int cmd_train_deterioration(int argc, char **argv);
int cmd_chat(int argc, char **argv);

#endif
