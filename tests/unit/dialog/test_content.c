/*
 * test_content.c: the flow-file loader. The shipped content loads and links; each kind of
 * mistake is refused with the file, the line and what is wrong.
 */
#include <stdlib.h>
#include <string.h>

#include "dialog/content.h"
#include "dialog/dialog.h"
#include "harness.h"

#define MINIMAL                                                                                    \
	"flow home\ntitle Home\nstart menu\nnode menu\nsay Hi {menu}\nexpect text\non any -> "     \
	"again\nnode again\nsay Again\nexpect text\non any -> end\n"                               \
	"flow onboarding\ntitle On\nstart a\nnode a\nsay ok\nexpect yesno\ndo consent\n"           \
	"on yes -> end\non no -> end\n"                                                            \
	"flow helping_others\ntitle Others\nstart a\nnode a\nsay call {emergency}\nnext end\n"     \
	"flow safety\ntitle S\nstart check\n"                                                      \
	"node check\nsay q\nexpect yesno\non any -> check\n"                                       \
	"node check_no\nsay n\nnext end\n"                                                         \
	"node crisis\nsay {lines}\nexpect text\non any -> crisis_stay\n"                           \
	"node crisis_stay\nsay s\nexpect text\non any -> crisis_stay\n"                            \
	"node confirm\nsay c\nexpect yesno\non any -> crisis_stay\n"                               \
	"node confirm_no\nsay cn\nnext end\n"                                                      \
	"node plan\nsay {plan}\nexpect text\non any -> crisis_stay\n"                              \
	"node crisis_no_team\nsay {lines}\nexpect text\non any -> crisis_stay\n"                   \
	"node confirm_no_no_team\nsay cnt\nnext end\n"                                              \
	"node confirm_no_danger\nsay {helplines}\nnext end\n"                                      \
	"node confirm_no_danger_no_team\nsay {helplines}\nnext end\n"                              \
	"node confirm_no_both\nsay {helplines} {lines}\nnext end\n"                                \
	"node confirm_no_both_no_team\nsay {helplines} {lines}\nnext end\n"

/* Parses MINIMAL followed by extra as one file; returns the error text (static). */
static int try_parse(const char *extra, char *err, size_t errlen)
{
	struct haven_content *c;
	ASSERT_OK(haven_content_create(&c));
	size_t n = strlen(MINIMAL) + strlen(extra) + 1;
	char *text = malloc(n);
	ASSERT(text);
	snprintf(text, n, "%s%s", MINIMAL, extra);
	err[0] = '\0';
	int rc = haven_content_parse(c, text, strlen(text), "t.flow", err, errlen);
	if (!rc)
		rc = haven_content_link(c, err, errlen);
	free(text);
	haven_content_destroy(&c);
	return rc;
}

TEST(content_minimal_links)
{
	char err[300];
	ASSERT_OK(try_parse("", err, sizeof(err)));
}

TEST(content_shipped_loads)
{
	struct haven_content *c;
	char err[300] = "";
	int rc = haven_content_load(NULL, &c, err, sizeof(err));
	if (rc)
		haven_test_fail(__FILE__, __LINE__, "shipped content: %s", err);
	ASSERT(haven_content_flow_index(c, "home") >= 0);
	ASSERT(haven_content_flow_index(c, "checkin") >= 0);
	const struct haven_flow *f = &c->flows[haven_content_flow_index(c, "checkin")];
	ASSERT_EQ(f->nodes[f->start].expect, HAVEN_EXPECT_SCALE);
	ASSERT(c->nintents > 5);
	haven_content_destroy(&c);
}

struct bad_case {
	const char *extra;
	unsigned line;    /* line within extra (1-based), 0: do not check */
	const char *want; /* substring of the error */
};

TEST(content_errors_name_file_line_and_problem)
{
	unsigned base = 0;
	for (const char *p = MINIMAL; *p; p++)
		base += *p == '\n';
	static const struct bad_case cases[] = {
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nexpect text\non any -> endd\n", 7,
	     "'on' target 'endd' is not a node of flow x"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nexpect maybe\n", 6,
	     "unknown 'expect' kind 'maybe'"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nexpect scale 10 0\n", 6,
	     "'expect scale' needs two whole numbers LO < HI"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nexpect scale 0 10\non 5-12 -> end\n", 7,
	     "condition 'number range' does not fit what node a expects"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nexpect text\non yes -> end\n", 7,
	     "condition 'yes/no/distortion' does not fit"},
	    {"flow x\ntitle X\nstart b\nnode a\nsay hi\nnext end\n", 1,
	     "start node 'b' is not a node of flow x"},
	    {"flow x\nstart a\nnode a\nsay hi\nnext end\n", 1, "flow x has no 'title' line"},
	    {"flow x\ntitle X\nstart a\nnode a\nexpect text\non any -> end\n", 4,
	     "node a has no 'say' line"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi {nope}\nnext end\n", 4,
	     "placeholder {nope} is neither a slot set in flow x"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nexpect text\n", 4,
	     "node a expects an answer but has no 'on' line"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nwobble yes\n", 6,
	     "unknown node directive 'wobble'"},
	    {"flow home\n", 1, "flow 'home' is defined twice"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nnode a\n", 6,
	     "node 'a' is defined twice in flow x"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nexpect text\ndo plan_add shoes\n", 7,
	     "unknown safety plan section 'shoes'"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nexpect text\non any end\n", 7,
	     "'on' needs 'CONDITION -> TARGET'"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay \xff\n", 5, "invalid UTF-8 at byte"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\tthere\n", 5, "tab character"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nexpect text\ndo rate_before\non any -> "
	     "end\n",
	     0, "rate_before/rate_after need an 'exercise' flow"},
	    {"flow x\ntitle X\nexercise x 5 5 sideways\n", 3,
	     "'exercise' direction 'sideways' must be 'lower'"},
	    {"flow x\ntitle X\nstart a\nstart b if plan\nnode a\nsay hi\nexpect text\nset "
	     "plan\non any -> end\n",
	     4, "start node 'b' is not a node of flow x"},
	    {"flow x\ntitle X\nstart a\nstart a if plan\nnode a\nsay hi\nnext end\n", 4,
	     "'start a if plan': slot 'plan' is not set in flow x"},
	    {"flow x\ntitle X\nstart a\nstart a if\nnode a\nsay hi\nnext end\n", 4,
	     "'start' needs one node name"},
	    {"flow x\ntitle X\nstart a\nnode a\nsay hi\nexpect text\ndo remember plan\non any "
	     "-> end\n",
	     4, "remember: slot 'plan' is not set in flow x"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[300];
		int rc = try_parse(cases[i].extra, err, sizeof(err));
		char where[64] = "";
		if (cases[i].line)
			snprintf(where, sizeof(where), "t.flow:%u: ", base + cases[i].line);
		if (rc != HAVEN_EINVAL || !strstr(err, cases[i].want) || !strstr(err, where))
			haven_test_fail(__FILE__, __LINE__,
			                "case %zu: rc %d, error \"%s\", want \"%s\"", i, rc, err,
			                cases[i].want);
	}
}

TEST(content_follow_up_and_direction_parse)
{
	struct haven_content *c;
	char err[300] = "";
	ASSERT_OK(haven_content_create(&c));
	const char *extra = "flow x\ntitle X\nexercise x 5 5 higher\nstart a\nstart f if plan\n"
	                    "node a\nsay hi\nexpect text\nset plan\ndo remember plan\non any -> "
	                    "end\nnode f\nsay did you {plan}?\nexpect yesno\ndo forget\non any -> "
	                    "flow:x\n";
	size_t n = strlen(MINIMAL) + strlen(extra) + 1;
	char *text = malloc(n);
	ASSERT(text);
	snprintf(text, n, "%s%s", MINIMAL, extra);
	int rc = haven_content_parse(c, text, strlen(text), "t.flow", err, sizeof(err));
	if (!rc)
		rc = haven_content_link(c, err, sizeof(err));
	free(text);
	if (rc)
		haven_test_fail(__FILE__, __LINE__, "%s", err);
	const struct haven_flow *f = &c->flows[haven_content_flow_index(c, "x")];
	ASSERT_EQ(f->higher_better, 1);
	ASSERT_EQ(f->nstarts_if, 1);
	ASSERT_EQ(f->starts_if[0].node, haven_content_node_index(f, "f"));
	ASSERT_EQ(f->nodes[1].trans[0].target.at_start, 1);
	ASSERT_EQ(c->flows[haven_content_flow_index(c, "home")].higher_better, 0);
	haven_content_destroy(&c);
}

/* The safety flow must say the protocol without a care team too: a content without those
 * words is refused, so the agent can never fall back to claiming the care team was told.
 * Likewise the closing words after danger from someone else (and after both), so they can
 * never fall back to speaking of thoughts of suicide the person did not have. */
TEST(content_requires_the_no_team_safety_nodes)
{
	static const char *const nodes[] = {"node crisis_no_team\n", "node confirm_no_no_team\n",
					    "node confirm_no_danger_no_team\n",
					    "node confirm_no_both_no_team\n"};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char *text = strdup(MINIMAL);
		ASSERT(text);
		char *at = strstr(text, nodes[i]);
		ASSERT(at);
		/* rename the node, so the flow lacks it */
		memcpy(strstr(at, "_no_team"), "_xx_team", 8);
		struct haven_content *c;
		char err[300] = "";
		ASSERT_OK(haven_content_create(&c));
		int rc = haven_content_parse(c, text, strlen(text), "t.flow", err, sizeof(err));
		if (!rc)
			rc = haven_content_link(c, err, sizeof(err));
		ASSERT_EQ(rc, HAVEN_EINVAL);
		ASSERT_CONTAINS(err, "flow safety needs a node");
		haven_content_destroy(&c);
		free(text);
	}
}

TEST(content_missing_required_flow)
{
	struct haven_content *c;
	char err[300];
	ASSERT_OK(haven_content_create(&c));
	const char *t = "flow home\ntitle H\nstart menu\nnode menu\nsay x\nexpect text\non any -> "
	                "again\nnode again\nsay y\nexpect text\non any -> end\n";
	ASSERT_OK(haven_content_parse(c, t, strlen(t), "h.flow", err, sizeof(err)));
	ASSERT_EQ(haven_content_link(c, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "the required flow 'onboarding' is missing");
	haven_content_destroy(&c);
}

TEST(content_load_names_the_file)
{
	const char *dir = haven_test_tmpfile("flows");
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && printf 'flow a\\ntitle A\\nnode\\n' > %s/a.flow",
	         dir, dir);
	ASSERT_OK(system(cmd));
	struct haven_content *c;
	char err[600];
	ASSERT_EQ(haven_content_load(dir, &c, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT(c == NULL);
	ASSERT_CONTAINS(err, "/a.flow:3: node name '' must be");
}

/* The words behind a thinking-trap suggestion are shown to the person ("words like ... can
 * be a sign of it"): the words they wrote, never a feature's internal name such as the
 * "NEG_" of a word inside a negation's scope. */
TEST(dialog_trap_words_are_the_persons_words)
{
	char err[512] = "";
	struct haven_dialog *d = NULL;
	struct haven_dialog_worker *w = NULL;
	if (haven_dialog_create(NULL, &d, err, sizeof(err)) ||
	    haven_dialog_worker_create(d, &w, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "loading the agent: %s", err);
	static const char *const thoughts[] = {
	    "nobody will ever love me, it is not real when they say they do",
	    "i never do anything right and i am not good enough",
	    "it is not fair, nothing ever works out for me and it never will",
	    "they don't like me, they didn't even say hello so they must hate me",
	    "i can't do anything right, i'm not smart and never will be",
	    "if i don't get this job my life is not worth anything",
	};
	int suggested = 0;
	for (size_t i = 0; i < sizeof(thoughts) / sizeof(thoughts[0]); i++) {
		struct haven_turn_nlp nlp;
		memset(&nlp, 0, sizeof(nlp));
		ASSERT_OK(haven_dialog_analyze(w, thoughts[i], strlen(thoughts[i]), &nlp));
		if (nlp.trap_terms[0])
			suggested++;
		if (strstr(nlp.trap_terms, "NEG_") || strstr(nlp.trap_terms, "w:"))
			haven_test_fail(__FILE__, __LINE__, "\"%s\": words %s", thoughts[i],
					nlp.trap_terms);
	}
	ASSERT(suggested > 0);
	haven_dialog_worker_destroy(&w);
	haven_dialog_destroy(&d);
}
