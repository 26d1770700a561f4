/*
 * test_transcripts.c: golden transcripts (the .txt files of tests/data/transcripts) run against the real
 * agent over a real database. Format, one directive per line:
 *   > TEXT          the person says TEXT (a new turn)
 *   = STATE         the state after the turn is STATE (flow.node)
 *   =~ PREFIX       the state starts with PREFIX
 *   ~ PHRASE        the reply contains PHRASE (case-insensitive)
 *   !~ PHRASE       the reply does not contain PHRASE
 *   ! LEVEL         the turn's risk level
 *   @ TYPE [KIND]   the turn has an action of TYPE (and KIND)
 *   # alerts KIND N the database holds N alerts of KIND (checked now)
 *   # assessments INSTRUMENT N  the database holds N assessments (src/measures) of INSTRUMENT
 *   # open alerts KIND N  the database holds N alerts of KIND still open
 *   # restart       reopen the store and the agent (the conversation must resume)
 *   # onboard       run the onboarding ("hello", "yes")
 *   # clinician [disabled]  put a clinician on the patient's care team (without a line
 *                   like this the patient has no care team)
 *   # consent granted|withdrawn  record the patient's care_team consent
 * Other lines starting with '#' are comments.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dialog_test.h"
#include "harness.h"

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; hay && *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

static void run_transcript(const char *path, int *turns_out)
{
	FILE *fp = fopen(path, "r");
	ASSERT(fp);
	struct chat_fixture f;
	chat_fixture_init(&f, NULL);
	json_t *turn = NULL;
	char line[4096];
	unsigned ln = 0;
	int turns = 0;
	while (fgets(line, sizeof(line), fp)) {
		ln++;
		size_t l = strlen(line);
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = '\0';
		if (!l)
			continue;
#define FAILT(...)                                                                                 \
	do {                                                                                       \
		char m_[8192];                                                                     \
		snprintf(m_, sizeof(m_), __VA_ARGS__);                                             \
		haven_test_fail(__FILE__, __LINE__, "%s:%u: %s (state %s, reply: %.300s)", path, ln, \
				m_, turn ? turn_state(turn) : "-", turn ? turn_reply(turn) : "-");  \
	} while (0)
		if (!strncmp(line, "> ", 2)) {
			json_decref(turn);
			turn = chat_say(&f, line + 2);
			turns++;
		} else if (!strncmp(line, "=~ ", 3)) {
			if (strncmp(turn_state(turn), line + 3, strlen(line + 3)))
				FAILT("state does not start with %s", line + 3);
		} else if (!strncmp(line, "= ", 2)) {
			if (strcmp(turn_state(turn), line + 2))
				FAILT("state is not %s", line + 2);
		} else if (!strncmp(line, "!~ ", 3)) {
			if (contains_ci(turn_reply(turn), line + 3))
				FAILT("reply contains \"%s\"", line + 3);
		} else if (!strncmp(line, "~ ", 2)) {
			if (!contains_ci(turn_reply(turn), line + 2))
				FAILT("reply lacks \"%s\"", line + 2);
		} else if (!strncmp(line, "! ", 2)) {
			if (strcmp(turn_level(turn), line + 2))
				FAILT("risk level is %s, not %s", turn_level(turn), line + 2);
		} else if (!strncmp(line, "@ ", 2)) {
			char type[64] = "", kind[64] = "";
			sscanf(line + 2, "%63s %63s", type, kind);
			if (!turn_has_action(turn, type, kind[0] ? kind : NULL))
				FAILT("no action %s %s", type, kind);
		} else if (!strncmp(line, "# alerts ", 9)) {
			char kind[64];
			long n;
			if (sscanf(line + 9, "%63s %ld", kind, &n) != 2)
				FAILT("bad alerts line");
			char sql[200];
			snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM alerts WHERE kind = '%s'", kind);
			if (chat_count(&f, sql) != n)
				FAILT("%lld alerts of kind %s, not %ld", (long long)chat_count(&f, sql),
				      kind, n);
		} else if (!strncmp(line, "# assessments ", 14)) {
			char inst[16];
			long n;
			if (sscanf(line + 14, "%15[a-z0-9] %ld", inst, &n) != 2)
				FAILT("bad assessments line");
			char sql[200];
			snprintf(sql, sizeof(sql),
				 "SELECT COUNT(*) FROM assessments WHERE instrument = '%s'", inst);
			if (chat_count(&f, sql) != n)
				FAILT("%lld assessments of %s, not %ld",
				      (long long)chat_count(&f, sql), inst, n);
		} else if (!strncmp(line, "# open alerts ", 14)) {
			char kind[64];
			long n;
			if (sscanf(line + 14, "%63s %ld", kind, &n) != 2)
				FAILT("bad open alerts line");
			char sql[200];
			snprintf(sql, sizeof(sql),
				 "SELECT COUNT(*) FROM alerts WHERE kind = '%s' AND status = 'open'",
				 kind);
			if (chat_count(&f, sql) != n)
				FAILT("%lld open alerts of kind %s, not %ld",
				      (long long)chat_count(&f, sql), kind, n);
		} else if (!strcmp(line, "# clinician") || !strcmp(line, "# clinician disabled")) {
			chat_add_clinician(&f, line[11] != '\0');
		} else if (!strcmp(line, "# consent granted") ||
			   !strcmp(line, "# consent withdrawn")) {
			chat_set_consent(&f, line[10] == 'g');
		} else if (!strcmp(line, "# restart")) {
			chat_fixture_restart(&f);
		} else if (!strcmp(line, "# onboard")) {
			chat_onboard(&f);
		} else if (line[0] != '#') {
			FAILT("unknown transcript line");
		}
	}
	fclose(fp);
	json_decref(turn);
	/* Every turn left one sealed message row and an audit record. */
	if (chat_count(&f, "SELECT COUNT(*) FROM messages") < turns)
		haven_test_fail(__FILE__, __LINE__, "%s: fewer message rows than turns", path);
	chat_fixture_release(&f);
	*turns_out = turns;
}

TEST(transcripts_golden)
{
	const char *dir = "tests/data/transcripts";
	DIR *d = opendir(dir);
	ASSERT(d);
	struct dirent *e;
	int files = 0;
	char *names[256];
	while ((e = readdir(d)) && files < 256) {
		size_t l = strlen(e->d_name);
		if (l > 4 && !strcmp(e->d_name + l - 4, ".txt"))
			names[files++] = strdup(e->d_name);
	}
	closedir(d);
	ASSERT(files >= 10);
	for (int i = 0; i < files; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		int turns = 0;
		run_transcript(path, &turns);
		ASSERT(turns > 0);
		free(names[i]);
	}
}
