/*
 * helpers.c: the dialog test fixture (see dialog_test.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog_test.h"
#include "harness.h"

static int add_patient_tx(struct haven_tx *tx, void *arg)
{
	struct chat_fixture *f = arg;
	struct haven_param p[] = {HAVEN_P_TEXT("patient@example.org"), HAVEN_P_TEXT(f->locale),
				  HAVEN_P_INT(haven_now_ms())};
	return haven_tx_query_int(tx,
				  "INSERT INTO users (email, role, password_hash, locale, created_at) "
				  "VALUES (?, 'patient', 'x', ?, ?) RETURNING id",
				  p, 3, &f->patient);
}

static void open_agent(struct chat_fixture *f)
{
	char err[512] = "";
	if (haven_dialog_create(NULL, &f->d, err, sizeof(err)) ||
	    haven_dialog_worker_create(f->d, &f->w, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "loading the agent: %s", err);
}

void chat_fixture_init(struct chat_fixture *f, const char *locale)
{
	memset(f, 0, sizeof(*f));
	haven_strlcpy(f->locale, locale ? locale : "en-US", sizeof(f->locale));
	haven_strlcpy(f->url, haven_test_db_url(), sizeof(f->url));
	ASSERT_OK(haven_crypto_init());
	ASSERT_OK(haven_store_open(f->url, NULL, &f->store));
	ASSERT_OK(haven_store_migrate(f->store, NULL));
	ASSERT_OK(haven_master_key_generate(&f->mk));
	ASSERT_OK(haven_store_write(f->store, add_patient_tx, f));
	open_agent(f);
}

void chat_fixture_release(struct chat_fixture *f)
{
	haven_dialog_worker_destroy(&f->w);
	haven_dialog_destroy(&f->d);
	haven_master_key_destroy(&f->mk);
	haven_store_destroy(&f->store);
}

void chat_fixture_restart(struct chat_fixture *f)
{
	haven_dialog_worker_destroy(&f->w);
	haven_dialog_destroy(&f->d);
	haven_store_destroy(&f->store);
	ASSERT_OK(haven_store_open(f->url, NULL, &f->store));
	open_agent(f);
}

json_t *chat_say(struct chat_fixture *f, const char *text)
{
	struct haven_chat_who who = {.patient_id = f->patient, .locale = f->locale, .request_id = ""};
	json_t *turn = NULL;
	int rc = haven_chat_turn(f->store, f->mk, f->w, &who, text, strlen(text), &turn);
	if (rc)
		haven_test_fail(__FILE__, __LINE__, "turn \"%s\": %s (%s)", text, haven_strerror(rc),
				haven_store_last_error());
	return turn;
}

void chat_onboard(struct chat_fixture *f)
{
	json_decref(chat_say(f, "hello"));
	json_t *t = chat_say(f, "yes");
	ASSERT_STR_EQ(turn_state(t), "onboarding.agreed");
	json_decref(t);
}

void chat_start(struct chat_fixture *f, const char *locale)
{
	chat_fixture_init(f, locale);
	chat_onboard(f);
}

json_t *chat_expect_at(const char *file, int line, struct chat_fixture *f, const char *text,
		       const char *state)
{
	json_t *t = chat_say(f, text);
	if (!turn_state(t) || strcmp(turn_state(t), state))
		haven_test_fail(file, line, "\"%s\": state %s, expected %s", text,
				turn_state(t) ? turn_state(t) : "(none)", state);
	return t;
}

json_t *chat_crisis_at(const char *file, int line, struct chat_fixture *f, const char *text)
{
	json_t *t = chat_expect_at(file, line, f, text, "safety.crisis");
	if (strcmp(turn_level(t), "high") || !turn_has_action(t, "alert", "crisis_chat"))
		haven_test_fail(file, line, "\"%s\": level %s, %s crisis_chat alert action", text,
				turn_level(t), turn_has_action(t, "alert", "crisis_chat") ? "a" : "no");
	return t;
}

static int count_fn(const struct haven_row *row, void *arg)
{
	*(int64_t *)arg = haven_row_int(row, 0);
	return 0;
}

struct count_q {
	const char *sql;
	int64_t n;
};

static int count_tx(struct haven_tx *tx, void *arg)
{
	struct count_q *q = arg;
	return haven_tx_query(tx, q->sql, NULL, 0, count_fn, &q->n);
}

int64_t chat_count(struct chat_fixture *f, const char *sql)
{
	struct count_q q = {sql, -1};
	ASSERT_OK(haven_store_read(f->store, count_tx, &q));
	return q.n;
}

const char *turn_state(json_t *turn)
{
	return json_string_value(json_object_get(turn, "state"));
}

const char *turn_reply(json_t *turn)
{
	return json_string_value(json_object_get(turn, "reply"));
}

const char *turn_level(json_t *turn)
{
	return json_string_value(json_object_get(json_object_get(turn, "risk"), "level"));
}

int turn_has_action(json_t *turn, const char *type, const char *kind)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(turn, "actions"), i, a)
	{
		const char *t = json_string_value(json_object_get(a, "type"));
		const char *k = json_string_value(json_object_get(a, "kind"));
		if (t && !strcmp(t, type) && (!kind || (k && !strcmp(k, kind))))
			return 1;
	}
	return 0;
}

static int exec_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_exec(tx, (const char *)arg, NULL, 0, NULL);
}

void chat_exec(struct chat_fixture *f, const char *sql)
{
	if (haven_store_write(f->store, exec_tx, (void *)sql))
		haven_test_fail(__FILE__, __LINE__, "%s: %s", sql, haven_store_last_error());
}

int64_t chat_add_clinician(struct chat_fixture *f, int disabled)
{
	char sql[400];
	long long n = (long long)chat_count(f, "SELECT COUNT(*) FROM users");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO users (email, role, password_hash, created_at, disabled) VALUES "
		 "('clinician%lld@example.org', 'clinician', 'x', 1, %d)",
		 n, disabled ? 1 : 0);
	chat_exec(f, sql);
	int64_t id = chat_count(f, "SELECT MAX(id) FROM users");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO care_team (patient_id, clinician_id, created_at) VALUES (%lld, %lld, 1)",
		 (long long)f->patient, (long long)id);
	chat_exec(f, sql);
	return id;
}

void chat_set_consent(struct chat_fixture *f, int granted)
{
	char sql[300];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO consents (patient_id, scope, granted, document_version, at) VALUES "
		 "(%lld, 'care_team', %d, (SELECT MAX(version) FROM consent_documents), 2)",
		 (long long)f->patient, granted ? 1 : 0);
	chat_exec(f, sql);
}

void chat_activation_to_when(struct chat_fixture *f)
{
	chat_step(f, "can we plan an activity", "activation.intro");
	chat_step(f, "4", "activation.idea");
	chat_step(f, "a walk by the river", "activation.when");
}

void chat_activation_finish(struct chat_fixture *f)
{
	chat_step(f, "saturday at ten", "activation.obstacle");
	json_t *t = chat_say(f, "rain, so I'll take a coat");
	ASSERT_CONTAINS(turn_reply(t), "Your plan: a walk by the river, saturday at ten.");
	json_decref(t);
}
