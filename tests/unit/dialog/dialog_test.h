/*
 * dialog_test.h: helpers shared by the dialog tests: a migrated store with one patient,
 * the shipped agent, and a turn that returns the parsed reply.
 */
#ifndef HAVEN_TEST_DIALOG_H
#define HAVEN_TEST_DIALOG_H

#include <jansson.h>

#include "crypto/crypto.h"
#include "dialog/dialog.h"
#include "store/store.h"

struct chat_fixture {
	struct haven_store *store;
	struct haven_master_key *mk;
	struct haven_dialog *d;
	struct haven_dialog_worker *w;
	int64_t patient;
	char locale[16];
	char url[640];
};

/* A fresh database with one patient (locale "en-US" unless given), the shipped agent. */
void chat_fixture_init(struct chat_fixture *f, const char *locale);
void chat_fixture_release(struct chat_fixture *f);
/* Reopens the store and the agent (a restart); the database and key stay. */
void chat_fixture_restart(struct chat_fixture *f);
/* One turn; fails the test if it cannot be stored. The caller json_decrefs. */
json_t *chat_say(struct chat_fixture *f, const char *text);
/* The conversation through onboarding ("hello", "yes") to the home state. */
void chat_onboard(struct chat_fixture *f);
/* chat_fixture_init, then chat_onboard: a fresh person ready to talk. */
void chat_start(struct chat_fixture *f, const char *locale);
/* One turn that must end in state (flow.node); the test fails at the caller's line
 * otherwise. The caller json_decrefs. */
#define chat_expect(f, text, state) chat_expect_at(__FILE__, __LINE__, f, text, state)
json_t *chat_expect_at(const char *file, int line, struct chat_fixture *f, const char *text,
		       const char *state);
/* chat_expect when the turn itself is not looked at further. */
#define chat_step(f, text, state) json_decref(chat_expect(f, text, state))
/* One turn that must start the crisis protocol: state safety.crisis, risk high, a crisis_chat
 * alert action. The caller json_decrefs. */
#define chat_crisis(f, text) chat_crisis_at(__FILE__, __LINE__, f, text)
json_t *chat_crisis_at(const char *file, int line, struct chat_fixture *f, const char *text);
int64_t chat_count(struct chat_fixture *f, const char *sql);
/* Behavioural activation from home up to its question "when", with "a walk by the river"
 * written as the activity; and the rest of it, checking that the activity written before
 * an interruption is in the plan's summary. */
void chat_activation_to_when(struct chat_fixture *f);
void chat_activation_finish(struct chat_fixture *f);
/* Runs one SQL statement (no parameters) in a write transaction. */
void chat_exec(struct chat_fixture *f, const char *sql);
/* Puts a clinician (disabled or not) on the patient's care team; returns their id. The
 * care_team consent is left as it is (none recorded: not granted). */
int64_t chat_add_clinician(struct chat_fixture *f, int disabled);
/* Records the patient's care_team consent as granted (1) or withdrawn (0). */
void chat_set_consent(struct chat_fixture *f, int granted);
const char *turn_state(json_t *turn);
const char *turn_reply(json_t *turn);
const char *turn_level(json_t *turn);
/* 1 when an action of that type (and kind, when not NULL) is in the turn. */
int turn_has_action(json_t *turn, const char *type, const char *kind);

#endif
