/*
 * safety.h: the safety gate every chat turn passes before the conversation engine sees it
 * (DESIGN.md, "Safety protocol"). It turns the crisis screen's result and the conversation's
 * safety state into a risk level and one protocol step:
 *
 *   none/low   the engine runs as usual (PASS), except worry about someone else, which
 *              goes to the helping-others flow (OTHERS);
 *   moderate   ask directly and kindly about thoughts of suicide or self-harm (CHECK);
 *              "yes" enters the crisis protocol, "no" returns to where the person was;
 *   high       the crisis protocol from any state (CRISIS): lines for the locale, an urgent
 *              alert, the safety plan; it stays until one clear confirming question is
 *              answered "no". A denial ("I'm fine", "you misunderstood") or asking to end
 *              it ("can we stop", "I called the lifeline, I'm calmer now") only asks that
 *              question (CONFIRM); nothing said once ends the protocol. The alert stays
 *              open after it ends, until a clinician acknowledges it.
 *
 * The protocol's logic is here, in code; its words are the nodes of content/flows/
 * safety.flow. Content cannot route around it: the gate runs before the engine and the
 * engine never sees a turn the gate handled.
 *
 * Ownership: haven_crisis_lines_load returns a heap object freed with
 * haven_crisis_lines_destroy; regions point into it. Everything else is plain data.
 */
#ifndef HAVEN_SAFETY_H
#define HAVEN_SAFETY_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "nlp/crisis.h"

/* ---- Crisis lines per region ---- */
#define HAVEN_REGION_MAX_LINES 6
#define HAVEN_REGION_MAX_LOCALES 8

struct haven_region {
	char code[8];
	char name[64];
	char *locales[HAVEN_REGION_MAX_LOCALES]; /* "*" matches every locale */
	size_t nlocales;
	char *lines[HAVEN_REGION_MAX_LINES];
	size_t nlines;
	char *emergency;
	char *directory; /* NULL except for the international region */
};

struct haven_crisis_lines {
	struct haven_region *regions;
	size_t nregions;
	const struct haven_region *intl;
};

/* Parses the crisis lines file (format in its header and docs/chat.md). Errors name
 * "NAME:LINE: what". Every region needs a name, at least one line and an emergency number;
 * an INTL region with a directory is required. */
int haven_crisis_lines_parse(const char *text, size_t len, const char *name,
			     struct haven_crisis_lines **out, char *err, size_t errlen) HAVEN_WUR;
int haven_crisis_lines_load(const char *path, struct haven_crisis_lines **out, char *err,
			    size_t errlen) HAVEN_WUR;
void haven_crisis_lines_destroy(struct haven_crisis_lines **l);
/* The region for a locale such as "en-GB": an exact match, then the language alone ("en"),
 * then INTL. Never NULL for a parsed file. */
const struct haven_region *haven_crisis_lines_for(const struct haven_crisis_lines *l,
						  const char *locale);
/* "988 Suicide & Crisis Lifeline: call or text 988 (...); Crisis Text Line: ... . Outside
 * the United States: findahelpline.com." appended to b. */
int haven_region_lines_text(const struct haven_crisis_lines *l, const struct haven_region *r,
			    struct haven_buf *b) HAVEN_WUR;

/* ---- Extra rules over the crisis screen ---- */
/* Whether text says an overdose was taken now or recently ("I took all my pills", "I've
 * overdosed"), not long ago ("I overdosed years ago"). The crisis screen reads some of these
 * as a past attempt (moderate); an overdose already taken is an emergency. */
int haven_safety_overdose_taken(const char *text, size_t len);
/* 1 for a plain denial ("I'm fine", "you misunderstood", "no", "I was joking"), 0 else. */
int haven_safety_is_denial(const char *text, size_t len);
/* 1 when text asks to leave the crisis protocol or says the person is safer now without a
 * denial's words ("can we stop", "I called the lifeline", "I feel calmer now", "can we go
 * back"). In the protocol it is treated like a denial: it gets the one confirming question,
 * never the end of the protocol by itself. */
int haven_safety_wants_to_end(const char *text, size_t len);
/* 1 when an answer hedges ("I don't know", "maybe later", "not sure", "kind of", "I guess"):
 * such a "no" is not the clear answer that ends the protocol or the direct question. */
int haven_safety_is_unsure(const char *text, size_t len);
/* 1 when text asks for the crisis lines ("what's the crisis number", "give me a helpline",
 * "who can I call?"): words for a line or a number to call, with a request's words or a
 * question mark. A line named in an answer ("my GP and the crisis line") is no request.
 * The lines are then given wherever the person is (docs/chat.md). */
int haven_safety_asks_for_lines(const char *text, size_t len);

/* ---- The protocol ---- */
enum haven_safety_mode {
	HAVEN_SAFETY_MODE_NONE = 0,
	HAVEN_SAFETY_MODE_CHECK,   /* asked the direct question after a moderate message */
	HAVEN_SAFETY_MODE_CRISIS,  /* in the crisis protocol */
	HAVEN_SAFETY_MODE_CONFIRM, /* in the protocol, asked the one confirming question */
};
const char *haven_safety_mode_name(enum haven_safety_mode m);
int haven_safety_mode_parse(const char *s, enum haven_safety_mode *out) HAVEN_WUR;

enum haven_safety_step {
	HAVEN_SAFETY_PASS = 0, /* the engine handles the turn */
	HAVEN_SAFETY_SAY,      /* say node `say` of flow safety and stay in the new mode */
	HAVEN_SAFETY_RESUME,   /* say `say`, leave the protocol, resume where the person was */
	HAVEN_SAFETY_OTHERS,   /* worry about someone else: start flow helping_others */
};

/* What the gate knows about the turn. yesno: 1 yes, 0 no, -1 neither. */
struct haven_safety_input {
	const struct haven_crisis_result *crisis;
	int overdose;      /* haven_safety_overdose_taken */
	int denial;        /* haven_safety_is_denial */
	int yesno;         /* the answer parsed as yes/no */
	int wants_plan;    /* asks for the safety plan ("yes" to the offer, "show my plan") */
	int wants_end;     /* asks to stop or says they are safer (haven_safety_wants_to_end, or
			      the stop intent) */
	int unsure;        /* the answer hedges (haven_safety_is_unsure): not a clear "no" */
	int forced_check;  /* the engine asks the safety question (PHQ-9 item 9 above 0) */
	int forced_crisis; /* content learnt of danger now (target `crisis`) */
};

struct haven_safety_result {
	enum haven_risk_level level; /* the turn's level (the screen's, raised by extra rules) */
	enum haven_safety_step step;
	const char *say;             /* a node of flow safety, for SAY and RESUME */
	enum haven_safety_mode mode; /* the mode after this turn */
	int enter;                   /* the protocol starts: save where the person was */
	int raise_alert;             /* raise (or refresh) the urgent crisis_chat alert */
	const char *answer;          /* "yes"/"no": an answer to a safety question to record */
	const char *rule;            /* why: "screen_high", "overdose_taken", "check_yes", ... */
};

/* One step of the protocol: pure, no I/O. unclear: how many unclear answers the CHECK
 * question has had in a row (the caller keeps it in the conversation state). */
void haven_safety_decide(enum haven_safety_mode mode, int unclear,
			 const struct haven_safety_input *in, struct haven_safety_result *out);

#endif
