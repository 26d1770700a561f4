/*
 * cli_nlp.h: helpers shared by the text-understanding commands (train, eval, classify,
 * models; also used by analyze): dataset flags, model name resolution and JSON output.
 */
#ifndef HAVEN_CLI_NLP_H
#define HAVEN_CLI_NLP_H

#include "cli/cli.h"
#include "nlp/nlp.h"

/* Model files are models/NAME.hvm. */
#define HAVEN_MODEL_EXT ".hvm"

/* Consumes a dataset-reading flag at argv[*i] (and its value), filling o. Returns 1 when
 * the flag was one of them, 0 when not, -1 when its value is missing or bad (message
 * printed). Flags: --format csv|tsv, --no-header, --text-col C[,C...], --label-col C,
 * --group-col C, --label-sep S, --label-names FILE, --skip-labels L[,L...]. */
int haven_cli_read_flag(const char *cmd, int argc, char **argv, int *i,
			struct haven_read_opts *o);
/* Usage text for those flags. */
extern const char haven_cli_read_flags_help[];

/* The directory holding installed models: $HAVEN_MODELS, else the first "models" folder
 * found walking up from the binary's directory (build/haven -> ./models). Writes it into
 * out; returns 0 or HAVEN_ENOTFOUND. */
int haven_cli_models_dir(char *out, size_t n);
/* Resolves NAME (a model in the models directory) or PATH (contains '/' or ends in
 * ".hvm") to a file path. */
int haven_cli_model_path(const char *name_or_path, char *out, size_t n);
/* Loads a model by name or path; prints a clear message and returns non-zero on failure. */
int haven_cli_load_model(const char *cmd, const char *name_or_path, struct haven_model **out);

/* Writes s as a JSON string (quoted, escaped; invalid UTF-8 replaced by U+FFFD). */
void haven_cli_json_str(FILE *f, const char *s);
/* Writes a float as JSON (6 significant digits; non-finite -> null). */
void haven_cli_json_num(FILE *f, double v);

#endif
