/*
 * test_api_caseload.c: the caseload (GET /api/v1/patients) over real HTTP. Each patient's
 * last contact is the latest of a check-in, a chat message and a questionnaire, and says
 * which; the alerts not yet resolved are counted per severity for every alert, not one
 * page of the inbox (70 alerts, where GET /alerts gives 50 a page); acknowledged alerts
 * still count, resolved ones do not; when the patient withdraws the care_team consent only
 * safety alerts are counted, as the inbox shows only those.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/alerts.h"
#include "api_test.h"
#include "harness.h"

static json_t *patient_of(struct test_server *s, const char *ctok, int64_t id)
{
	struct test_resp r;
	test_call(s, "GET", "/api/v1/patients", ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	size_t i;
	json_t *p, *found = NULL;
	json_array_foreach(json_object_get(r.json, "patients"), i, p)
	{
		if (json_integer_value(json_object_get(p, "id")) == id)
			found = json_incref(p);
	}
	test_resp_free(&r);
	ASSERT(found);
	return found;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_int_t count(json_t *p, const char *severity)
{
	return json_integer_value(
	    json_object_get(json_object_get(p, "unresolved_by_severity"), severity));
}

static void pause_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

static void post(struct test_server *s, const char *tok, const char *path, const char *body,
                 long want)
{
	struct test_resp r;
	test_call(s, "POST", path, tok, body, &r);
	if (r.status != want)
		haven_test_fail(__FILE__, __LINE__, "POST %s: %ld (%s)", path, r.status, r.body);
	test_resp_free(&r);
}

struct insert_op {
	const struct haven_master_key *mk;
	int64_t patient_id;
	int n;
	const char *kind, *severity;
};

/* Alerts raised as the monitoring rules raise them (no dedup key, so each is new). */
static int insert_tx(struct haven_tx *tx, void *arg)
{
	struct insert_op *op = arg;
	json_t *reasons = json_pack("[{s:s}]", "text", "Mood has fallen below their usual.");
	int rc = reasons ? 0 : HAVEN_ENOMEM;
	for (int i = 0; i < op->n && !rc; i++) {
		struct haven_alert_new a = {.patient_id = op->patient_id,
		                            .kind = op->kind,
		                            .severity = op->severity,
		                            .reasons = reasons,
		                            .source = "rule:test"};
		int64_t id;
		int created;
		rc = haven_alert_raise(tx, op->mk, &a, &id, &created);
	}
	json_decref(reasons);
	return rc;
}

TEST(api_caseload_last_contact_and_every_unresolved_alert)
{
	struct test_server s;
	char *ctok, *ptok;
	int64_t pid = test_start_care_pair(&s, "cl@example.org", &ctok, &ptok);

	/* No contact yet. */
	json_t *p = patient_of(&s, ctok, pid);
	ASSERT(json_is_null(json_object_get(p, "last_contact_at")));
	ASSERT(json_is_null(json_object_get(p, "last_contact_kind")));
	ASSERT_EQ(json_integer_value(json_object_get(p, "unresolved_alerts")), 0);
	json_decref(p);

	/* A check-in, then a chat message, then a questionnaire: each becomes the last contact. */
	post(&s, ptok, "/api/v1/checkins", "{\"mood\":5,\"sleep_hours\":7}", 201);
	p = patient_of(&s, ctok, pid);
	ASSERT_STR_EQ(str(p, "last_contact_kind"), "checkin");
	ASSERT_STR_EQ(str(p, "last_contact_at"), str(p, "last_checkin_at"));
	json_decref(p);
	pause_ms(5);
	post(&s, ptok, "/api/v1/chat/messages", "{\"text\":\"hello\"}", 200);
	p = patient_of(&s, ctok, pid);
	ASSERT_STR_EQ(str(p, "last_contact_kind"), "chat");
	ASSERT(strcmp(str(p, "last_contact_at"), str(p, "last_checkin_at")) > 0);
	json_decref(p);
	pause_ms(5);
	post(&s, ptok, "/api/v1/assessments",
	     "{\"instrument\":\"phq9\",\"answers\":[1,1,1,1,1,1,1,1,1]}", 201);
	p = patient_of(&s, ctok, pid);
	ASSERT_STR_EQ(str(p, "last_contact_kind"), "assessment");
	/* Item 9 above 0: one urgent safety alert. */
	ASSERT_EQ(count(p, "urgent"), 1);
	ASSERT_EQ(json_integer_value(json_object_get(p, "unresolved_alerts")), 1);
	json_decref(p);
	/* The single patient's summary carries the same. */
	struct test_resp r;
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/patients/%lld", (long long)pid);
	test_call(&s, "GET", path, ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(str(r.json, "last_contact_kind"), "assessment");
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "unresolved_alerts")), 1);
	test_resp_free(&r);

	/* 70 warnings: more than a page of the inbox, every one counted. */
	struct insert_op op = {s.mk, pid, 70, "mood_decline", "warning"};
	ASSERT_OK(haven_store_write(s.store, insert_tx, &op));
	test_call(&s, "GET", "/api/v1/alerts", ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "alerts")), 50);
	test_resp_free(&r);
	p = patient_of(&s, ctok, pid);
	ASSERT_EQ(count(p, "warning"), 70);
	ASSERT_EQ(count(p, "urgent"), 1);
	ASSERT_EQ(count(p, "info"), 0);
	ASSERT_EQ(json_integer_value(json_object_get(p, "unresolved_alerts")), 71);
	json_decref(p);

	/* Acknowledged still counts; resolved does not. */
	test_call(&s, "GET", "/api/v1/alerts?severity=urgent", ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_int_t urgent_id =
	    json_integer_value(json_object_get(json_array_get(json_object_get(r.json, "alerts"), 0), "id"));
	test_resp_free(&r);
	ASSERT(urgent_id > 0);
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld/ack", (long long)urgent_id);
	post(&s, ctok, path, NULL, 200);
	p = patient_of(&s, ctok, pid);
	ASSERT_EQ(count(p, "urgent"), 1);
	json_decref(p);
	snprintf(path, sizeof(path), "/api/v1/alerts/%lld/resolve", (long long)urgent_id);
	post(&s, ctok, path, "{}", 200);
	p = patient_of(&s, ctok, pid);
	ASSERT_EQ(count(p, "urgent"), 0);
	ASSERT_EQ(json_integer_value(json_object_get(p, "unresolved_alerts")), 70);
	json_decref(p);

	/* Consent withdrawn: only safety alerts count (here a new crisis in chat). */
	post(&s, ptok, "/api/v1/chat/messages", "{\"text\":\"i want to kill myself tonight\"}",
	     200);
	test_call(&s, "PUT", "/api/v1/me/consents", ptok, "{\"scopes\":{\"care_team\":false}}", &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);
	p = patient_of(&s, ctok, pid);
	ASSERT_EQ(count(p, "warning"), 0);
	ASSERT_EQ(count(p, "urgent"), 1);
	ASSERT_EQ(json_integer_value(json_object_get(p, "unresolved_alerts")), 1);
	ASSERT(json_is_false(json_object_get(p, "care_team_consent")));
	json_decref(p);

	free(ctok);
	free(ptok);
	test_server_stop(&s);
}

/* The caseload's latest risk: the level the safety screen gave the patient's last chat
 * message, with its time, while the care_team consent allows; none before any message. */
TEST(api_caseload_latest_risk_follows_the_last_message_and_the_consent)
{
	struct test_server s;
	char *ctok, *ptok;
	int64_t pid = test_start_care_pair(&s, "lr@example.org", &ctok, &ptok);

	json_t *p = patient_of(&s, ctok, pid);
	ASSERT(json_is_null(json_object_get(p, "latest_risk")));
	json_decref(p);

	post(&s, ptok, "/api/v1/chat/messages", "{\"text\":\"hello\"}", 200);
	p = patient_of(&s, ctok, pid);
	json_t *risk = json_object_get(p, "latest_risk");
	ASSERT_STR_EQ(str(risk, "level"), "none");
	ASSERT_STR_EQ(str(risk, "at"), str(p, "last_contact_at"));
	json_decref(p);

	pause_ms(5);
	post(&s, ptok, "/api/v1/chat/messages",
	     "{\"text\":\"I want to kill myself tonight, I have the pills ready\"}", 200);
	p = patient_of(&s, ctok, pid);
	ASSERT_STR_EQ(str(json_object_get(p, "latest_risk"), "level"), "high");
	json_decref(p);

	/* Consent withdrawn: the level is hidden; the crisis alert still counts. */
	struct test_resp r;
	test_call(&s, "PUT", "/api/v1/me/consents", ptok, "{\"scopes\":{\"care_team\":false}}", &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);
	p = patient_of(&s, ctok, pid);
	ASSERT(json_is_null(json_object_get(p, "latest_risk")));
	ASSERT(json_is_false(json_object_get(p, "care_team_consent")));
	ASSERT(count(p, "urgent") >= 1);
	json_decref(p);
	free(ctok);
	free(ptok);
	test_server_stop(&s);
}
