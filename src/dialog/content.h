/*
 * content.h: the conversation content the dialog engine runs, loaded from the flow files
 * under content/flows/ (format: docs/content.md). Loading validates everything the engine
 * relies on, so a conversation can never reach a node that does not exist or say a
 * placeholder nobody fills: every error names the file, the line and what is wrong
 * ("content/flows/breathing.flow:12: 'on' target 'endd' is not a node of flow breathing").
 *
 * Ownership: haven_content_load/parse return a heap object freed with
 * haven_content_destroy; everything inside it belongs to it and is read-only after
 * loading, so one content object is shared by every thread.
 */
#ifndef HAVEN_DIALOG_CONTENT_H
#define HAVEN_DIALOG_CONTENT_H

#include <stddef.h>

#include "core/core.h"

enum haven_expect {
	HAVEN_EXPECT_NONE = 0, /* the agent says the node and moves on ("next") */
	HAVEN_EXPECT_TEXT,     /* any free text */
	HAVEN_EXPECT_YESNO,    /* yes or no */
	HAVEN_EXPECT_SCALE,    /* a whole number in [lo, hi] */
	HAVEN_EXPECT_CHOICE,   /* one of the node's options */
};

enum haven_cond {
	HAVEN_COND_YES,        /* yes */
	HAVEN_COND_NO,         /* no */
	HAVEN_COND_RANGE,      /* N or N-M: the number given is in [lo, hi] */
	HAVEN_COND_OPTION,     /* a choice option, by name */
	HAVEN_COND_INTENT,     /* intent:NAME, the intent classifier's label */
	HAVEN_COND_DISTORTION, /* the distortion model suggests a thinking trap */
	HAVEN_COND_ANY,        /* any accepted answer */
};

/* A target: a node of the same flow, another flow's start, the end of the flow, or the
 * crisis protocol. */
#define HAVEN_TARGET_END (-1)
#define HAVEN_TARGET_CRISIS (-3)
#define HAVEN_TARGET_RECOMMENDED (-4) /* the exercise personalisation picks */
struct haven_target {
	int flow; /* index into content->flows, or HAVEN_TARGET_END / HAVEN_TARGET_CRISIS */
	int node; /* index into that flow's nodes */
	int at_start; /* "flow:NAME": the flow's start, which a 'start NODE if SLOT' may move */
};

struct haven_transition {
	enum haven_cond cond;
	int lo, hi; /* RANGE */
	char *arg;  /* OPTION, INTENT: the name */
	char *target_text;
	struct haven_target target;
	unsigned line;
};

/* Side effects a node runs when its answer is accepted (see docs/content.md). */
enum haven_action_kind {
	HAVEN_ACTION_SCORE,       /* score phq9|gad7: totals item1.. slots, fills total, band */
	HAVEN_ACTION_ITEM9,       /* item9: PHQ-9 item 9 above 0 raises an alert, asks safety */
	HAVEN_ACTION_PLAN_ADD,    /* plan_add SECTION: append the answer to the safety plan */
	HAVEN_ACTION_RATE_BEFORE, /* rate_before: the rating before the exercise */
	HAVEN_ACTION_RATE_AFTER,  /* rate_after: the rating after; records the outcome */
	HAVEN_ACTION_DISTORTION,  /* distortion: the model's suggestion for slot text */
	HAVEN_ACTION_CONSENT,     /* consent: the person agreed to the onboarding terms */
	HAVEN_ACTION_REMEMBER,    /* remember SLOT: keep the slot for the flow's next run */
	HAVEN_ACTION_FORGET,      /* forget: drop what the flow remembered */
};

struct haven_action {
	enum haven_action_kind kind;
	char *arg;
};

#define HAVEN_CONTENT_MAX_SAYS 8
#define HAVEN_CONTENT_MAX_OPTIONS 8

struct haven_node {
	char *name;
	unsigned line;
	char *says[HAVEN_CONTENT_MAX_SAYS]; /* variations; one is chosen per turn */
	size_t nsays;
	char *reprompt; /* said when the answer does not fit what is expected */
	enum haven_expect expect;
	int lo, hi; /* SCALE */
	char *options[HAVEN_CONTENT_MAX_OPTIONS];
	size_t noptions;
	char *slot; /* where the answer is kept, or NULL */
	struct haven_action *actions;
	size_t nactions;
	struct haven_transition *trans;
	size_t ntrans;
	char *next_text; /* EXPECT_NONE: where to go after saying it */
	struct haven_target next;
};

/* 'start NODE if SLOT': the flow starts at NODE when it remembers SLOT from an earlier run
 * (do remember SLOT), so it can follow up on what the person planned. */
struct haven_start_if {
	char *slot;
	char *node_text;
	int node;
	unsigned line;
};

struct haven_flow {
	char *name;
	char *title;
	char *file;
	unsigned line;
	char **intents; /* intents that start this flow from the home state */
	size_t nintents;
	char *start_text;
	int start;                      /* node index */
	struct haven_start_if *starts_if; /* tried in order before start */
	size_t nstarts_if;
	char *exercise;                 /* a rated exercise (personalisation), or NULL */
	double prior_helped, prior_not; /* population prior: Beta(helped, not) */
	int higher_better;              /* the ratings are better when higher (mood), not lower
					   (distress, tension: the default) */
	int menu;                       /* listed when the agent offers exercises */
	struct haven_node *nodes;
	size_t nnodes;
};

struct haven_content {
	struct haven_flow *flows;
	size_t nflows;
	char **intents; /* every intent the flows use (sorted, unique) */
	size_t nintents;
	char version[64];
};

/* Parses one flow file's text (name used in messages) into c. Call haven_content_link
 * once every file is parsed. err receives "NAME:LINE: what". */
int haven_content_parse(struct haven_content *c, const char *text, size_t len, const char *name,
                        char *err, size_t errlen) HAVEN_WUR;
/* Resolves targets and checks the whole: every target exists, every flow has a start,
 * placeholders name slots the flow sets or built-in values, the engine's required flows and
 * nodes exist (home, onboarding). */
int haven_content_link(struct haven_content *c, char *err, size_t errlen) HAVEN_WUR;

/* Loads every *.flow file of dir (sorted by name) and links them. dir NULL: content/flows
 * under the working directory, else beside the executable ($HAVEN_CONTENT_DIR first). */
int haven_content_load(const char *dir, struct haven_content **out, char *err,
                       size_t errlen) HAVEN_WUR;
int haven_content_create(struct haven_content **out) HAVEN_WUR;
void haven_content_destroy(struct haven_content **c);

int haven_content_flow_index(const struct haven_content *c, const char *name);
int haven_content_node_index(const struct haven_flow *f, const char *name);

/* Where the content directory is (content/ under the working directory, then under the
 * directory above the executable's); writes into out. 0 or HAVEN_ENOTFOUND. */
int haven_content_root(char *out, size_t outlen) HAVEN_WUR;

#endif
