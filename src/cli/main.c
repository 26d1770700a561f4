/* main.c: the `haven` program: looks the subcommand up in the table and runs it. */
#include <locale.h>
#include <string.h>

#include "cli/cli.h"

static const struct haven_cmd commands[] = {
	{"version", cmd_version, "print the version"},
	{"migrate", cmd_migrate, "apply the database schema migrations"},
	{"audit", cmd_audit, "verify the audit log's hash chain"},
	{"keys", cmd_keys, "rotate the master key"},
	{"serve", cmd_serve, "serve the HTTP API"},
	{"user", cmd_user, "user add: create an account (password on stdin)"},
	{"export", cmd_export, "export a patient's data as JSON"},
	{"erase", cmd_erase, "erase a patient (destroys their data key)"},
	{"train", cmd_train, "train a text classifier (or, --task deterioration, the risk model)"},
	{"eval", cmd_eval, "evaluate a model on a labelled dataset"},
	{"classify", cmd_classify, "label one text per stdin line with a model"},
	{"models", cmd_models, "list the installed models"},
	{"analyze", cmd_analyze, "analyse texts (one per line): crisis risk, emotions, stress, ..."},
	{"audit-fairness", cmd_audit_fairness, "per-group rates and fairness gaps of predictions"},
	{"monitor", cmd_monitor, "run the time-based monitoring rules once; export risk training data"},
	{"chat", cmd_chat, "talk to the support agent in a terminal (--json: line mode)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: haven <command> [options]\n\n"
		   "Haven: self-hosted, privacy-first mental-health support.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'haven <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "C");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "haven: unknown command '%s' (see 'haven --help')\n", argv[1]);
	return 2;
}
