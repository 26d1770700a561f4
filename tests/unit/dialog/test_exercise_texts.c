/*
 * test_exercise_texts.c: content/exercises.txt, the words of the exercises page. The
 * shipped file loads and covers every flow the agent offers; each kind of mistake is
 * refused with the file, the line and what is wrong; and a malformed file stops the agent
 * from loading (as `haven serve` and `haven chat` load it), naming the file and line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog/dialog.h"
#include "dialog/exercise_texts.h"
#include "harness.h"

static struct haven_content *shipped_content(void)
{
	struct haven_content *c;
	char err[300] = "";
	if (haven_content_load(NULL, &c, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "shipped content: %s", err);
	return c;
}

TEST(exercise_texts_shipped_cover_every_menu_flow)
{
	struct haven_content *c = shipped_content();
	struct haven_exercise_texts *t;
	char err[400] = "";
	if (haven_exercise_texts_load("content/exercises.txt", c, &t, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "content/exercises.txt: %s", err);
	size_t menu = 0;
	for (size_t i = 0; i < c->nflows; i++) {
		const struct haven_flow *f = &c->flows[i];
		const struct haven_exercise_text *e = haven_exercise_text_of(t, f->name);
		if (!f->menu) {
			ASSERT(e == NULL);
			continue;
		}
		menu++;
		ASSERT(e != NULL);
		ASSERT(strlen(e->description) > 20);
		ASSERT(strlen(e->start) > 5);
		ASSERT((e->rating != NULL) == (f->exercise != NULL));
	}
	ASSERT_EQ(t->n, menu);
	const struct haven_exercise_text *b = haven_exercise_text_of(t, "breathing");
	ASSERT_STR_EQ(b->kind, "exercise");
	ASSERT_STR_EQ(b->start, "Can we do some paced breathing?");
	ASSERT_STR_EQ(b->rating, "how tense or upset you felt, from 0 (calm) to 10 (extremely)");
	ASSERT_STR_EQ(haven_exercise_text_of(t, "phq9")->kind, "questionnaire");
	haven_exercise_texts_destroy(&t);
	ASSERT(t == NULL);
	haven_content_destroy(&c);
}

/* The shipped file with one line replaced (line > 0), appended (line 0) or the whole file
 * replaced (whole != NULL). */
static char *variant(int line_no, const char *replacement, const char *whole)
{
	if (whole)
		return strdup(whole);
	FILE *f = fopen("content/exercises.txt", "rb");
	ASSERT(f);
	char *out = NULL;
	size_t outlen = 0;
	FILE *o = open_memstream(&out, &outlen);
	ASSERT(o);
	char line[1000];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		fputs(++n == line_no ? replacement : line, o);
	if (line_no == 0)
		fputs(replacement, o);
	fclose(f);
	fclose(o);
	return out;
}

/* The line of the shipped file that starts with prefix (1-based). */
static int line_of(const char *prefix)
{
	FILE *f = fopen("content/exercises.txt", "rb");
	ASSERT(f);
	char line[1000];
	int n = 0, found = 0;
	while (!found && fgets(line, sizeof(line), f))
		if (n++, !strncmp(line, prefix, strlen(prefix)))
			found = n;
	fclose(f);
	ASSERT(found);
	return found;
}

static void expect_error(struct haven_content *c, char *text, const char *want, int line)
{
	struct haven_exercise_texts *t = (void *)1;
	char err[400] = "", where[40];
	int rc = haven_exercise_texts_parse(text, strlen(text), "ex.txt", c, &t, err, sizeof(err));
	if (rc != HAVEN_EINVAL || t != NULL)
		haven_test_fail(__FILE__, __LINE__, "accepted (rc %d), wanted: %s", rc, want);
	if (line)
		snprintf(where, sizeof(where), "ex.txt:%d: ", line);
	else
		snprintf(where, sizeof(where), "ex.txt: ");
	if (strncmp(err, where, strlen(where)) || !strstr(err, want))
		haven_test_fail(__FILE__, __LINE__, "got \"%s\", wanted \"%s...%s\"", err, where, want);
	free(text);
}

TEST(exercise_texts_errors_name_file_line_and_problem)
{
	struct haven_content *c = shipped_content();
	int breathing = line_of("flow breathing"), sleep = line_of("flow sleep");
	int kind = breathing + 1, rating = breathing + 4;
	expect_error(c, variant(breathing, "flow breathin\n", NULL),
	             "'breathin' is not a flow of the content", breathing);
	expect_error(c, variant(breathing, "flow safety\n", NULL), "flow safety is not offered",
	             breathing);
	expect_error(c, variant(kind, "kind game\n", NULL),
	             "kind 'game' is not one of exercise, check_in", kind);
	expect_error(c, variant(kind, "kind\n", NULL), "'kind' needs a value", kind);
	expect_error(c, variant(kind, "colour blue\n", NULL), "unknown directive 'colour'", kind);
	/* A missing field is reported at the entry's 'flow' line. */
	expect_error(c, variant(kind, "\n", NULL), "flow breathing has no 'kind' line", breathing);
	expect_error(c, variant(rating, "\n", NULL),
	             "flow breathing is rated before and after (an 'exercise' line in", breathing);
	expect_error(c, variant(kind, "kind questionnaire\n", NULL),
	             "flow breathing is a rated exercise, so its kind must be 'exercise'",
	             breathing);
	expect_error(c, variant(sleep + 1, "rating how tired you were\n", NULL),
	             "flow sleep is not rated (no 'exercise' line in", sleep + 1);
	expect_error(c, variant(kind, "kind exercise\nkind exercise\n", NULL),
	             "flow breathing has a 'kind' line already (line", kind + 1);
	expect_error(c, variant(kind, "kind\texercise\n", NULL), "a tab or control character",
	             kind);
	expect_error(c, variant(kind, "kind exercise \xc3\x28\n", NULL), "invalid UTF-8", kind);
	/* Every flow the agent offers needs an entry: one removed is named, with its file. */
	char dup[80];
	snprintf(dup, sizeof(dup), "flow activation has an entry already (line %d)",
	         line_of("flow activation"));
	expect_error(c, variant(sleep, "flow activation\n", NULL), dup, sleep);
	char *no_sleep = variant(0, "", NULL);
	char *at = strstr(no_sleep, "\nflow sleep\n");
	ASSERT(at);
	memcpy(at + 1, "#low", 4); /* "flow sleep" becomes a comment */
	at = strstr(at, "\nkind");
	memcpy(at + 1, "#ind", 4);
	at = strstr(at, "\ndescription");
	at[1] = '#';
	at = strstr(at, "\nstart");
	at[1] = '#';
	expect_error(c, no_sleep, "flow sleep is offered (a 'menu' line in", 0);
	expect_error(c, variant(0, "", "kind exercise\n"), "'kind' before any 'flow' line", 1);
	char *longline = malloc(HAVEN_EXERCISE_TEXT_MAX_LINE + 100);
	ASSERT(longline);
	memcpy(longline, "flow breathing\ndescription ", 27);
	memset(longline + 27, 'a', HAVEN_EXERCISE_TEXT_MAX_LINE + 50);
	longline[27 + HAVEN_EXERCISE_TEXT_MAX_LINE + 50] = '\0';
	expect_error(c, variant(0, "", longline), "line too long", 2);
	free(longline);
	haven_content_destroy(&c);
}

/* A malformed exercises.txt stops the agent from loading, which is what stops `haven serve`
 * and `haven chat` from starting, with the file and the line. */
TEST(exercise_texts_malformed_file_stops_the_start)
{
	const char *dir = haven_test_tmpfile("content");
	char cmd[1200];
	snprintf(cmd, sizeof(cmd),
	         "mkdir -p %s && cp -r content/. %s/ && "
	         "sed -i 's/^kind questionnaire$/kind quiz/' %s/exercises.txt",
	         dir, dir, dir);
	ASSERT_OK(system(cmd));
	struct haven_dialog_config cfg = {.content_dir = dir};
	struct haven_dialog *d = (void *)1;
	char err[600] = "";
	ASSERT_EQ(haven_dialog_create(&cfg, &d, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT(d == NULL);
	char want[400];
	snprintf(want, sizeof(want), "%s/exercises.txt:%d: kind 'quiz' is not one of", dir,
	         line_of("flow phq9") + 1);
	ASSERT_CONTAINS(err, want);
	/* And the file missing altogether is named too. */
	snprintf(cmd, sizeof(cmd), "rm %s/exercises.txt", dir);
	ASSERT_OK(system(cmd));
	ASSERT_EQ(haven_dialog_create(&cfg, &d, err, sizeof(err)), HAVEN_ENOTFOUND);
	ASSERT_CONTAINS(err, "exercises.txt: cannot open");
	/* The shipped content, copied back, loads. */
	snprintf(cmd, sizeof(cmd), "cp content/exercises.txt %s/", dir);
	ASSERT_OK(system(cmd));
	if (haven_dialog_create(&cfg, &d, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "the copied content: %s", err);
	ASSERT(haven_exercise_text_of(haven_dialog_exercise_texts(d), "grounding"));
	haven_dialog_destroy(&d);
}
