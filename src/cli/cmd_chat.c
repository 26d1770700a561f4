/*
 * cmd_chat.c: `haven chat [--db URL] [--as EMAIL] [--json]`: talk to the support agent in a
 * terminal as a patient. Each line typed is one message; it runs the same turn as
 * POST /api/v1/chat/messages (crisis screen, safety gate, dialog, one durable encrypted
 * write with its audit record and any alert). With --json, stdin carries one message per
 * line and stdout gets one JSON object per agent turn:
 *   {"reply": "...", "state": "...", "risk": {"level": ..., "reasons": [...]}, "actions": [...],
 *    "expects": {"kind": ...}}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "dialog/dialog.h"

static const char usage_text[] =
    "usage: haven chat [--db URL] [--as EMAIL] [--json] [--key-file PATH]\n\n"
    "Talks to the support agent as the patient EMAIL (optional when the database has\n"
    "one patient). The conversation is stored encrypted and resumes where it left off.\n"
    "Every message is screened for crisis risk first; a high-risk message runs the\n"
    "crisis protocol and raises an urgent alert for the care team.\n\n"
    "  --db URL          sqlite:PATH or postgresql://... (default " HAVEN_DEFAULT_DB ")\n"
    "  --as EMAIL        the patient to chat as\n"
    "  --json            read one message per line, write one JSON object per turn:\n"
    "                    {\"reply\", \"state\", \"risk\": {\"level\", \"reasons\"}, \"actions\",\n"
    "                    \"expects\"} (what the agent waits for: yes_no, choice, scale, text)\n"
    "  --key-file PATH   the master key file (default var/haven.key)\n\n"
    "Messages are at most 4000 bytes of UTF-8; empty lines are skipped. Content comes\n"
    "from content/ (HAVEN_CONTENT_DIR), models from models/; the crisis lines follow the\n"
    "patient's locale, else HAVEN_LOCALE, else en-US.\n";

struct who_row {
	int64_t id;
	char role[16];
	char locale[24];
	int count;
};

static int who_fn(const struct haven_row *row, void *arg)
{
	struct who_row *w = arg;
	w->count++;
	w->id = haven_row_int(row, 0);
	haven_strlcpy(w->role, haven_row_text(row, 1, NULL), sizeof(w->role));
	const char *loc = haven_row_text(row, 2, NULL);
	haven_strlcpy(w->locale, loc ? loc : "", sizeof(w->locale));
	return 0;
}

struct who_q {
	const char *email;
	struct who_row w;
};

static int who_tx(struct haven_tx *tx, void *arg)
{
	struct who_q *q = arg;
	if (q->email) {
		struct haven_param p[] = {HAVEN_P_TEXT(q->email)};
		return haven_tx_query(tx, "SELECT id, role, locale FROM users WHERE email = ?", p, 1,
				      who_fn, &q->w);
	}
	return haven_tx_query(tx, "SELECT id, role, locale FROM users WHERE role = 'patient' LIMIT 2",
			      NULL, 0, who_fn, &q->w);
}

static void print_error_json(const char *code, const char *msg)
{
	json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	if (o) {
		json_dumpf(o, stdout, JSON_COMPACT);
		json_decref(o);
	}
	fputc('\n', stdout);
	fflush(stdout);
}

int cmd_chat(int argc, char **argv)
{
	const char *db = NULL, *as = NULL, *key_file = NULL;
	int json_mode = 0;
	struct haven_opt opts[] = {{"--db", &db, NULL},
				   {"--as", &as, NULL},
				   {"--key-file", &key_file, NULL},
				   {"--json", NULL, &json_mode},
				   {NULL, NULL, NULL}};
	struct haven_store *store = NULL;
	struct haven_master_key *mk = NULL;
	struct haven_dialog *d = NULL;
	struct haven_dialog_worker *w = NULL;
	char *line = NULL;
	size_t cap = 0;
	int rc, status = 1;
	char err[512] = "";

	if (haven_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if ((rc = haven_cli_parse("chat", argc, argv, opts)))
		return rc;
	if (!db)
		db = HAVEN_DEFAULT_DB;
	if (haven_crypto_init())
		return haven_cli_fail("cannot initialise libsodium");
	if ((rc = haven_store_open(db, NULL, &store)) || (rc = haven_store_migrate(store, NULL))) {
		haven_cli_fail("cannot open the database: %s", haven_store_last_error());
		goto out;
	}
	struct who_q q = {.email = as};
	if ((rc = haven_store_read(store, who_tx, &q))) {
		haven_cli_fail("cannot read the accounts: %s", haven_store_last_error());
		goto out;
	}
	if (as && !q.w.count) {
		haven_cli_fail("no account with the email %s", as);
		goto out;
	}
	if (!as && q.w.count != 1) {
		status = haven_cli_usage_error("chat", q.w.count ? "several patients: say which with "
								   "--as EMAIL"
								 : "no patient account yet (haven user add "
								   "--role patient --email E)");
		goto out;
	}
	if (strcmp(q.w.role, "patient")) {
		haven_cli_fail("%s is a %s account; only patients chat with the agent", as, q.w.role);
		goto out;
	}
	if (haven_cli_master_key(key_file, store, &mk))
		goto out;
	struct haven_dialog_config cfg = {.default_locale = getenv("HAVEN_LOCALE")};
	if ((rc = haven_dialog_create(&cfg, &d, err, sizeof(err))) ||
	    (rc = haven_dialog_worker_create(d, &w, err, sizeof(err)))) {
		haven_cli_fail("cannot load the agent: %s", err);
		goto out;
	}
	struct haven_chat_who who = {.patient_id = q.w.id, .locale = q.w.locale, .request_id = "cli"};
	int tty = !json_mode && isatty(STDIN_FILENO);
	if (tty)
		fputs("Haven chat. Type a message and press Enter; Ctrl-D to leave.\n", stderr);
	status = 0;
	for (;;) {
		if (tty)
			fputs("you> ", stderr);
		ssize_t n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		size_t start = 0;
		while (start < (size_t)n && (line[start] == ' ' || line[start] == '\t'))
			start++;
		if (start == (size_t)n)
			continue;
		json_t *turn = NULL;
		rc = haven_chat_turn(store, mk, w, &who, line, (size_t)n, &turn);
		if (rc == HAVEN_EINVAL) {
			const char *msg = "a message must be valid UTF-8 of at most 4000 bytes";
			if (json_mode)
				print_error_json("invalid_message", msg);
			else
				fprintf(stderr, "haven: %s\n", msg);
			continue;
		}
		if (rc) {
			status = haven_cli_fail("the turn could not be stored: %s (%s)", haven_strerror(rc),
						haven_store_last_error());
			break;
		}
		if (json_mode) {
			json_t *ex = haven_dialog_expects(
			    d, json_string_value(json_object_get(turn, "state")),
			    json_string_value(json_object_get(turn, "reply")));
			if (!ex || json_object_set_new(turn, "expects", ex)) {
				json_decref(turn);
				status = haven_cli_fail("out of memory");
				break;
			}
			json_dumpf(turn, stdout, JSON_COMPACT);
			fputc('\n', stdout);
		} else {
			printf("haven> %s\n", json_string_value(json_object_get(turn, "reply")));
		}
		fflush(stdout);
		json_decref(turn);
	}
out:
	free(line);
	haven_dialog_worker_destroy(&w);
	haven_dialog_destroy(&d);
	haven_master_key_destroy(&mk);
	haven_store_destroy(&store);
	return status;
}
