/*
 * dialog.h: the support agent. One chat turn flows one way (DESIGN.md): analyse the text
 * (crisis screen, intent, emotion, distortion, numbers, yes/no), pass the safety gate
 * (src/safety), step the conversation (content/flows, docs/content.md), then write the
 * sealed message, the sealed conversation state, the audit record and any alert in one
 * store transaction, and reply.
 *
 *   struct haven_dialog *d;           // shared, read-only: content, models, crisis lines
 *   haven_dialog_create(NULL, &d, err, sizeof(err));
 *   struct haven_dialog_worker *w;    // one per thread: crisis screen and model scratch
 *   haven_dialog_worker_create(d, &w, err, sizeof(err));
 *   json_t *turn;                     // {"reply","state","risk":{"level","reasons"},"actions"}
 *   haven_chat_turn(store, mk, w, &who, text, len, &turn);
 *   json_t *ex = haven_dialog_expects(d, state, reply);  // what the next answer may be
 *
 * Ownership: create/destroy pairs; a turn object returned to the caller is theirs
 * (json_decref). Nothing in a turn is logged: it holds clinical text.
 */
#ifndef HAVEN_DIALOG_H
#define HAVEN_DIALOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "dialog/content.h"
#include "dialog/exercise_texts.h"
#include "measures/measures.h"
#include "nlp/crisis.h"
#include "safety/safety.h"
#include "store/store.h"

/* The longest message a person may send, in bytes (the API and `haven chat` enforce it). */
#define HAVEN_CHAT_MAX_TEXT 4000

struct haven_dialog_config {
	const char *content_dir;    /* NULL: content/ found as haven_content_root() says */
	const char *models_dir;     /* NULL: models/ under the working directory or beside the
				       executable */
	const char *default_locale; /* the deployment's locale for crisis lines ("en-US") */
};

struct haven_dialog;
struct haven_dialog_worker;

/* Loads and checks the content, the crisis lines, the exercises page's words
 * (content/exercises.txt, checked against the flows) and the models (intent, emotion,
 * distortion: the intent model is required and must know every intent the content uses).
 * err gets a one-line reason naming the file. */
int haven_dialog_create(const struct haven_dialog_config *cfg, struct haven_dialog **out,
			char *err, size_t errlen) HAVEN_WUR;
void haven_dialog_destroy(struct haven_dialog **d);
const struct haven_content *haven_dialog_content(const struct haven_dialog *d);
const struct haven_crisis_lines *haven_dialog_lines(const struct haven_dialog *d);
/* What the exercises page says about each `menu` flow (every one has an entry). */
const struct haven_exercise_texts *haven_dialog_exercise_texts(const struct haven_dialog *d);
const char *haven_dialog_default_locale(const struct haven_dialog *d);

int haven_dialog_worker_create(struct haven_dialog *d, struct haven_dialog_worker **out, char *err,
			       size_t errlen) HAVEN_WUR;
void haven_dialog_worker_destroy(struct haven_dialog_worker **w);
struct haven_dialog *haven_dialog_worker_dialog(struct haven_dialog_worker *w);

/* What analysis found in one message. */
struct haven_turn_nlp {
	struct haven_crisis_result crisis;
	int overdose; /* haven_safety_overdose_taken */
	int denial;   /* haven_safety_is_denial */
	int asks_lines; /* haven_safety_asks_for_lines: the crisis lines are asked for */
	/* 1 when a rule, not the intent classifier, chose intent (the danger screen's abuse and
	 * medication routes, chat.c): the request interrupts whatever node is waiting. */
	int routed;
	/* From the danger-and-abuse screen (src/safety/danger.c), set by the chat turn:
	 * danger_now, danger from someone now; danger_raised, the crisis level is high only
	 * because of it (the crisis screen alone read less); danger_bits, the categories
	 * (HAVEN_DANGER_BIT_*) of abuse or danger against the person, 0 for none. The safety
	 * protocol's closing words follow why it ran (engine.c, say_safety). */
	int danger_now;
	int danger_raised;
	unsigned danger_bits;
	char intent[48];
	double intent_p;
	int yesno;      /* 1 yes, 0 no, -1 neither */
	int has_number; /* a number was given */
	long number;
	int phq_answer; /* 0-3 from "not at all" ... "nearly every day", or -1 */
	char feeling[96]; /* "sad and disappointed", "" when none stood out */
	char trap[48];    /* the distortion model's suggestion, "" for none */
	double trap_p;
	char trap_terms[96]; /* the words behind the suggestion */
};

int haven_dialog_analyze(struct haven_dialog_worker *w, const char *text, size_t len,
			 struct haven_turn_nlp *out) HAVEN_WUR;

/* Parsing helpers (also used by tests). */
int haven_parse_yesno(const char *text, size_t len); /* 1, 0 or -1 */
/* The first number in text: digits ("7", "7/10", "7 out of 10") or a word ("seven"). */
int haven_parse_number(const char *text, size_t len, long *out);
/* PHQ-9/GAD-7 answer words: 0 "not at all", 1 "several days", 2 "more than half the
 * days", 3 "nearly every day"; -1 when none. */
int haven_parse_frequency(const char *text, size_t len);

/* ---- The step (pure: no I/O) ---- */
struct haven_step {
	/* in */
	const struct haven_dialog *d;
	const struct haven_turn_nlp *nlp;
	const char *text;
	size_t len;
	const struct haven_region *region;
	uint64_t seed;
	/* 1 when an active clinician is on the person's care team, so a safety alert reaches
	 * someone (crisis_chat and abuse_disclosed reach them whatever the care_team consent
	 * says: DESIGN.md, "who may see what"). 0: the safety protocol says the words of its
	 * *_no_team nodes and never claims the care team was told. */
	int care_team;
	/* in/out */
	json_t *state; /* the conversation state (docs/chat.md); {} for a new person */
	json_t *plan;  /* the safety plan: {"warning_signs": [...], ...} */
	int plan_changed;
	/* out */
	struct haven_buf reply;
	json_t *actions; /* array */
	char state_name[112];
	enum haven_risk_level level;
	const char *safety_rule;   /* what the gate decided and why */
	const char *safety_answer; /* "yes"/"no" to a safety question, or NULL */
	int raise_crisis;          /* raise/refresh the crisis_chat alert */
	int raise_item9;           /* raise a phq9_item9 alert (item9_value) */
	int item9_value;
	/* A completed questionnaire to record as an assessment (src/measures), or NULL. */
	const struct haven_instrument *assess;
	int assess_answers[HAVEN_MEASURES_MAX_ITEMS];
	size_t assess_n;
	/* private to engine.c: 1 while a step is said again (resumed after the safety protocol
	 * or an aside, or after an answer that did not fit), so {feeling} names the feeling kept
	 * with the flow's slots, not one heard in the latest message */
	int saying_again;
};

/* Initialises out fields; the caller sets the in fields and state/plan. */
int haven_step_init(struct haven_step *s) HAVEN_WUR;
void haven_step_release(struct haven_step *s);
int haven_dialog_step(struct haven_step *s) HAVEN_WUR;

/* What the conversation now waits for, so a client can offer quick replies: state is a
 * turn's "state" ("flow.node"), reply its reply (the end labels of a 0-10 scale are read
 * from it: "from 0 (calm) to 10 (extremely)"; may be NULL). One of
 *   {"kind": "yes_no", "options": [{"label": "Yes", "value": "yes"}, {"label": "No", ...}]}
 *   {"kind": "choice", "options": [{"label": "Practical", "value": "practical"}, ...]}
 *   {"kind": "scale", "min": 0, "max": 10, "labels": [{"value": 0, "label": "calm"}, ...]}
 *   {"kind": "text"}  (in the crisis protocol, with "options": [Show my safety plan])
 * The safety protocol's questions are nodes of the flow "safety" ("safety.confirm" is a
 * yes/no). Sending an option's value, or a number of the scale, as the next message is an
 * answer that fits. A state that is not a node expects text. NULL only when out of memory;
 * the caller json_decrefs. */
json_t *haven_dialog_expects(const struct haven_dialog *d, const char *state, const char *reply);

/* ---- The turn with storage (src/dialog/chat.c) ---- */
struct haven_chat_who {
	int64_t patient_id;
	const char *locale;     /* users.locale, or NULL or "" for the deployment's */
	const char *request_id; /* "" outside a request */
};

/* ---- The locale for crisis lines (src/dialog/chat.c) ---- */
/* Room for a stored locale (users.locale) and its NUL. */
#define HAVEN_LOCALE_MAX 16
/* The locale when neither the patient nor the deployment names one. */
#define HAVEN_LOCALE_DEFAULT "en-US"

/* The locale whose crisis lines a person is given: their own (users.locale) when they chose
 * one, else the deployment's (the `locale` option, HAVEN_LOCALE for `haven chat`), else
 * en-US. NULL and "" both mean "not set". Returns one of its arguments or a constant. */
const char *haven_locale_effective(const char *patient_locale, const char *deployment_locale);

/* Checks a locale a person or an operator chooses against the crisis lines file: a locale
 * a region lists (any case; out gets the file's spelling, "en-gb" -> "en-GB"), or, when a
 * region serves every locale ("locales *", the international directory), any well-formed
 * language-COUNTRY tag (out gets "fr-FR" from "fr_fr"). HAVEN_EINVAL otherwise, with *why
 * a phrase to follow the field's name ("must be a locale that ... lists ..."). */
int haven_locale_normalize(const struct haven_crisis_lines *l, const char *in,
			   char out[HAVEN_LOCALE_MAX], const char **why) HAVEN_WUR;
/* haven_locale_normalize() against crisis_lines.txt under the content root
 * (haven_content_root(): HAVEN_CONTENT_DIR, ./content, or beside the executable). An invalid
 * locale is HAVEN_EINVAL with *why set; a missing or malformed file is another error with
 * *why NULL. err gets a one-line reason either way. */
int haven_locale_check(const char *in, char out[HAVEN_LOCALE_MAX], const char **why, char *err,
		       size_t errlen) HAVEN_WUR;

/* Analyses text, then in one store write: opens the state, steps, seals and stores the
 * message and state, audits "chat.write" and raises any alert. *turn gets the reply. */
int haven_chat_turn(struct haven_store *s, const struct haven_master_key *mk,
		    struct haven_dialog_worker *w, const struct haven_chat_who *who,
		    const char *text, size_t len, json_t **turn) HAVEN_WUR;
/* The same in three steps, for a caller that queues the write (haven_store_write_async)
 * instead of waiting for it: _begin analyses text and keeps what the write needs (text, w
 * and mk must stay valid until _end); haven_chat_turn_tx(tx, turn) is the write's closure;
 * _end frees the turn and returns its reply (NULL unless the write committed; the caller
 * json_decrefs). Between _begin and _end, w is the turn's alone. */
struct haven_chat_turn;
int haven_chat_turn_begin(const struct haven_master_key *mk, struct haven_dialog_worker *w,
			  const struct haven_chat_who *who, const char *text, size_t len,
			  struct haven_chat_turn **out) HAVEN_WUR;
int haven_chat_turn_tx(struct haven_tx *tx, void *turn);
json_t *haven_chat_turn_end(struct haven_chat_turn **turn);

/* The messages of a patient, oldest first, as a JSON array (inside tx, which the caller
 * audits). Each: {"id","created_at","text","reply","state","risk":{...},"actions"}; with
 * flagged_only, only messages at moderate risk or above. limit 0 = the newest 500; the
 * export passes SIZE_MAX for every message. */
int haven_chat_history(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
		       int flagged_only, size_t limit, json_t **out) HAVEN_WUR;

/* The safety plan (inside tx): {"warning_signs": [...], "coping": [...], "distractions",
 * "people", "professionals", "environment", "updated_at"}; empty sections when none. */
int haven_safety_plan_get(struct haven_tx *tx, const struct haven_master_key *mk,
			  int64_t patient_id, json_t **out) HAVEN_WUR;
/* Replaces the plan (validated: known sections, arrays of 1-500 character strings, at most
 * 20 per section). err gets "what and where" for HAVEN_EINVAL. */
int haven_safety_plan_put(struct haven_tx *tx, const struct haven_master_key *mk,
			  int64_t patient_id, const json_t *plan, char *err,
			  size_t errlen) HAVEN_WUR;
int haven_safety_plan_validate(const json_t *plan, char *err, size_t errlen) HAVEN_WUR;
extern const char *const haven_safety_plan_sections[]; /* NULL-terminated */

#endif
