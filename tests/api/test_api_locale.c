/*
 * test_api_locale.c: the crisis lines follow the locale over real HTTP. On a deployment
 * whose locale is en-GB: a patient who chose no locale gets the UK lines (the deployment's
 * default applies; issue 4: before, every patient "had" en-US and got 988 and 911); a
 * patient's own choice, at registration or by PATCH /me, beats it; each region the crisis
 * lines file covers gives its own numbers; GET /me reports the locale in effect and where
 * it comes from; a locale the file does not serve is a 400 naming the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "harness.h"

static char *invite(struct test_server *s, const char *ctok)
{
	struct test_resp r;
	test_call(s, "POST", "/api/v1/invitations", ctok, NULL, &r);
	ASSERT_EQ(r.status, 201);
	char *code = strdup(json_string_value(json_object_get(r.json, "code")));
	test_resp_free(&r);
	ASSERT(code);
	return code;
}

/* Registers email with "locale": locale (NULL: none given); returns the reply status. */
static long register_with(struct test_server *s, const char *ctok, const char *email,
                          const char *locale_json, struct test_resp *r)
{
	char *code = invite(s, ctok);
	char body[600];
	if (locale_json)
		snprintf(body, sizeof(body),
		         "{\"code\":\"%s\",\"email\":\"%s\",\"password\":\"%s\",\"locale\":%s}",
		         code, email, TEST_PASSWORD, locale_json);
	else
		snprintf(body, sizeof(body), "{\"code\":\"%s\",\"email\":\"%s\",\"password\":\"%s\"}",
		         code, email, TEST_PASSWORD);
	free(code);
	test_call(s, "POST", "/api/v1/auth/register", NULL, body, r);
	return r->status;
}

/* The reply to a crisis message (which must run the protocol); malloc'd. */
static char *crisis_reply(struct test_server *s, const char *tok)
{
	struct test_resp r;
	test_call(s, "POST", "/api/v1/chat/messages", tok,
	          "{\"text\":\"honestly i just want to kill myself\"}", &r);
	if (r.status != 200)
		haven_test_fail(__FILE__, __LINE__, "chat: %ld %s", r.status, r.body);
	ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "state")), "safety.crisis");
	char *reply = strdup(json_string_value(json_object_get(r.json, "reply")));
	test_resp_free(&r);
	ASSERT(reply);
	return reply;
}

static void me_locale(struct test_server *s, const char *tok, const char *want,
                      const char *want_source)
{
	struct test_resp r;
	test_call(s, "GET", "/api/v1/me", tok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "locale")), want);
	ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "locale_source")), want_source);
	test_resp_free(&r);
}

static int null_row(const struct haven_row *row, void *arg)
{
	*(int64_t *)arg = haven_row_int(row, 0);
	return 0;
}

static int null_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(tx, "SELECT COUNT(*) FROM users WHERE locale IS NULL", NULL, 0,
	                      null_row, arg);
}

static int64_t null_locales(struct test_server *s)
{
	int64_t n = -1;
	ASSERT_OK(haven_store_read(s->store, null_tx, &n));
	return n;
}

struct region_case {
	const char *locale;      /* chosen by the patient */
	int by_patch;            /* 1: PATCH /me after registering; 0: at registration */
	const char *must[5];     /* in the crisis reply */
	const char *must_not[4]; /* not in it */
};

static const struct region_case cases[] = {
    {"en-US", 0, {"988", "741741", "911"}, {"116 123", "85258", "999"}},
    {"en-CA", 0, {"988", "911"}, {"116 123", "999", "000"}},
    {"en-AU", 1, {"13 11 14", "000"}, {"988", "911", "116 123"}},
    {"en-IE", 1, {"116 123", "50808", "112", "999"}, {"988", "911", "85258"}},
    {"fr-FR", 1, {"findahelpline.com"}, {"988", "911", "116 123", "999"}},
};

static void check_reply(const char *who, const char *reply, const char *const *must, size_t nmust,
                        const char *const *must_not, size_t nmust_not)
{
	for (size_t j = 0; j < nmust && must[j]; j++)
		if (!strstr(reply, must[j]))
			haven_test_fail(__FILE__, __LINE__, "%s: no '%s' in \"%s\"", who, must[j],
			                reply);
	for (size_t j = 0; j < nmust_not && must_not[j]; j++)
		if (strstr(reply, must_not[j]))
			haven_test_fail(__FILE__, __LINE__, "%s: '%s' in \"%s\"", who, must_not[j],
			                reply);
}

TEST(api_locale_crisis_lines_follow_patient_then_deployment)
{
	struct haven_api_config cfg;
	haven_api_config_init(&cfg);
	cfg.threads = 2;
	ASSERT_OK(haven_api_config_set(&cfg, "locale", "en-GB"));
	struct test_server s;
	test_server_start(&s, &cfg);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	struct test_resp r;

	/* No locale chosen: the deployment's (en-GB) applies, not en-US. */
	ASSERT_EQ(register_with(&s, ctok, "uk@example.org", NULL, &r), 201);
	test_resp_free(&r);
	char *tok = test_login(&s, "uk@example.org");
	me_locale(&s, tok, "en-GB", "deployment");
	char *reply = crisis_reply(&s, tok);
	static const char *const uk[] = {"Samaritans", "116 123", "85258", "999"};
	static const char *const not_uk[] = {"988", "911", "741741"};
	check_reply("deployment default", reply, uk, 4, not_uk, 3);
	free(reply);
	free(tok);

	/* Each region, chosen by the patient, beats the deployment's en-GB. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct region_case *c = &cases[i];
		char email[64], quoted[32];
		snprintf(email, sizeof(email), "p%zu@example.org", i);
		snprintf(quoted, sizeof(quoted), "\"%s\"", c->locale);
		ASSERT_EQ(register_with(&s, ctok, email, c->by_patch ? NULL : quoted, &r), 201);
		test_resp_free(&r);
		tok = test_login(&s, email);
		if (c->by_patch) {
			char body[64];
			snprintf(body, sizeof(body), "{\"locale\":\"%s\"}", c->locale);
			test_call(&s, "PATCH", "/api/v1/me", tok, body, &r);
			ASSERT_EQ(r.status, 200);
			ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "locale")), c->locale);
			ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "locale_source")),
			              "patient");
			test_resp_free(&r);
		}
		me_locale(&s, tok, c->locale, "patient");
		reply = crisis_reply(&s, tok);
		check_reply(c->locale, reply, c->must, 5, c->must_not, 4);
		free(reply);
		free(tok);
	}

	/* Unsetting the choice gives the deployment's lines back. */
	ASSERT_EQ(register_with(&s, ctok, "back@example.org", "\"en-us\"", &r), 201);
	test_resp_free(&r);
	tok = test_login(&s, "back@example.org");
	me_locale(&s, tok, "en-US", "patient"); /* stored as the file spells it */
	test_call(&s, "PATCH", "/api/v1/me", tok, "{\"locale\":null}", &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "locale_source")), "deployment");
	test_resp_free(&r);
	me_locale(&s, tok, "en-GB", "deployment");
	reply = crisis_reply(&s, tok);
	check_reply("unset again", reply, uk, 4, not_uk, 3);
	free(reply);

	/* What is stored: NULL when not chosen, never a default 'en-US'. */
	ASSERT_EQ(test_count(&s, "users"), 8);
	ASSERT_EQ(null_locales(&s), 3); /* the clinician, uk@, back@ */

	/* Refusals name the field; nothing is stored. */
	static const char *const bad_bodies[] = {
	    "{\"locale\":\"klingon\"}", "{\"locale\":\"\"}",     "{\"locale\":5}",
	    "{\"locale\":\"en-GBR\"}",  "{\"language\":\"en\"}", "{}",
	};
	for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
		test_call(&s, "PATCH", "/api/v1/me", tok, bad_bodies[i], &r);
		const char *msg = test_error_message(&r);
		if (r.status != 400 || strcmp(test_error_code(&r), "invalid_body") ||
		    (!strstr(msg, "'locale'") && !strstr(msg, "'language'")))
			haven_test_fail(__FILE__, __LINE__, "PATCH %s: %ld %s", bad_bodies[i],
			                r.status, r.body);
		test_resp_free(&r);
	}
	me_locale(&s, tok, "en-GB", "deployment");
	free(tok);
	ASSERT_EQ(register_with(&s, ctok, "bad@example.org", "\"klingon\"", &r), 400);
	ASSERT_STR_EQ(test_error_code(&r), "invalid_body");
	ASSERT(strstr(test_error_message(&r), "field 'locale'"));
	test_resp_free(&r);
	ASSERT_EQ(register_with(&s, ctok, "bad2@example.org", "42", &r), 400);
	ASSERT(strstr(test_error_message(&r), "locale"));
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "users"), 8);

	/* Clinicians and administrators do not choose one (patients only). */
	test_call(&s, "PATCH", "/api/v1/me", ctok, "{\"locale\":\"en-GB\"}", &r);
	ASSERT_EQ(r.status, 403);
	test_resp_free(&r);
	free(ctok);
	test_server_stop(&s);
}

TEST(api_locale_default_is_en_us_without_deployment_locale)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "c@example.org");
	char *ctok = test_login(&s, "c@example.org");
	test_register(&s, ctok, "p@example.org", 1);
	char *tok = test_login(&s, "p@example.org");
	me_locale(&s, tok, "en-US", "deployment");
	char *reply = crisis_reply(&s, tok);
	static const char *const us[] = {"988", "911"};
	static const char *const not_us[] = {"116 123", "999"};
	check_reply("no locale anywhere", reply, us, 2, not_us, 2);
	free(reply);
	free(tok);
	free(ctok);
	test_server_stop(&s);
}
