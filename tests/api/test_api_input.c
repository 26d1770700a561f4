/*
 * test_api_input.c: bad input over HTTP. Malformed JSON (with its position in the
 * message), wrong types, missing and unknown fields, out-of-range values, invalid UTF-8
 * (with its byte offset), oversized bodies (413, by Content-Length and while streaming)
 * and a wrong content type (415) each get a 4xx in the one error shape, and nothing is
 * written.
 */
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "harness.h"

struct bad_case {
	const char *content_type;
	const char *body;
	int status;
	const char *code;
	const char *in_message;
};

static const struct bad_case cases[] = {
    {NULL, "{\"mood\": 5, \"sleep_hours\": 7,}", 400, "invalid_body", "line 1, column"},
    {NULL, "{\"mood\": 5,\n \"sleep_hours\": }", 400, "invalid_body", "line 2"},
    {NULL, "", 400, "invalid_body", "empty"},
    {NULL, "[1, 2]", 400, "invalid_body", "JSON object"},
    {NULL, "{\"mood\": \"5\", \"sleep_hours\": 7}", 400, "invalid_body",
     "'mood' must be an integer"},
    {NULL, "{\"mood\": 5.5, \"sleep_hours\": 7}", 400, "invalid_body", "'mood'"},
    {NULL, "{\"mood\": 11, \"sleep_hours\": 7}", 400, "invalid_body", "from 0 to 10"},
    {NULL, "{\"mood\": 5, \"sleep_hours\": 25}", 400, "invalid_body", "'sleep_hours'"},
    {NULL, "{\"mood\": 5, \"sleep_hours\": true}", 400, "invalid_body", "must be a number"},
    {NULL, "{\"sleep_hours\": 7}", 400, "invalid_body", "missing required field 'mood'"},
    {NULL, "{\"mood\": 5, \"sleep_hours\": 7, \"colour\": \"blue\"}", 400, "invalid_body",
     "unknown field 'colour'"},
    {NULL, "{\"mood\": 5, \"sleep_hours\": 7, \"note\": 3}", 400, "invalid_body",
     "'note' must be a string"},
    {NULL, "{\"mood\": 5, \"mood\": 6, \"sleep_hours\": 7}", 400, "invalid_body", "duplicate"},
    {NULL, "{\"mood\": 5, \"sleep_hours\": 7, \"note\": \"bad \xc3\x28 byte\"}", 400,
     "invalid_body", "not valid UTF-8 at byte 43"},
    {NULL, "{\"mood\": 5, \"sleep_hours\": 7, \"note\": \"nul \\u0000 inside\"}", 400,
     "invalid_body", "malformed JSON"},
    {"text/plain", "{\"mood\": 5, \"sleep_hours\": 7}", 415, "unsupported_media_type",
     "application/json"},
    {"application/x-www-form-urlencoded", "mood=5", 415, "unsupported_media_type", "Content-Type"},
};

TEST(api_bad_input_is_refused_and_nothing_written)
{
	struct test_server s;
	struct test_resp r;
	test_server_start(&s, NULL);
	test_make_user(&s, "patient", "p@example.org");
	char *tok = test_login(&s, "p@example.org");
	int64_t audit_before = test_count(&s, "audit_log");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		test_http(&s, "POST", "/api/v1/checkins", tok, c->content_type, c->body,
		          strlen(c->body), NULL, &r);
		if (r.status != c->status || strcmp(test_error_code(&r), c->code) ||
		    !strstr(test_error_message(&r), c->in_message))
			haven_test_fail(__FILE__, __LINE__, "case %zu: got %ld %s", i, r.status,
			                r.body);
		test_resp_free(&r);
	}
	/* A note longer than 2000 characters (2001 two-byte characters). */
	char big[8000];
	size_t n = (size_t)snprintf(big, sizeof(big), "{\"mood\":1,\"sleep_hours\":1,\"note\":\"");
	for (int i = 0; i < 2001; i++) {
		big[n++] = '\xc3';
		big[n++] = '\xa9';
	}
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\"}");
	test_http(&s, "POST", "/api/v1/checkins", tok, NULL, big, n, NULL, &r);
	ASSERT_EQ(r.status, 400);
	ASSERT_CONTAINS(test_error_message(&r), "at most 2000");
	test_resp_free(&r);

	ASSERT_EQ(test_count(&s, "checkins"), 0);
	ASSERT_EQ(test_count(&s, "data_keys"), 0);
	ASSERT_EQ(test_count(&s, "audit_log"), audit_before);

	/* Bad input for the other schemas: nested fields are named with their path. */
	test_call(&s, "PUT", "/api/v1/me/consents", tok, "{\"scopes\":{\"care_team\":\"yes\"}}",
	          &r);
	ASSERT_EQ(r.status, 400);
	ASSERT_CONTAINS(test_error_message(&r), "'scopes.care_team' must be true or false");
	test_resp_free(&r);
	test_call(&s, "PUT", "/api/v1/me/consents", tok, "{\"scopes\":{\"tv\":true}}", &r);
	ASSERT_EQ(r.status, 400);
	ASSERT_CONTAINS(test_error_message(&r), "unknown field 'scopes.tv'");
	test_resp_free(&r);
	test_call(&s, "POST", "/api/v1/auth/login", NULL, "{\"email\":\"p@example.org\"}", &r);
	ASSERT_EQ(r.status, 400);
	ASSERT_CONTAINS(test_error_message(&r), "'password'");
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "consents"), 0);

	/* Headers beyond the per-connection memory limit: 431, and the server carries on. */
	char *huge = malloc(48 * 1024);
	ASSERT(huge);
	int hn = snprintf(huge, 48 * 1024, "X-Padding: ");
	memset(huge + hn, 'a', 40 * 1024);
	huge[hn + 40 * 1024] = '\0';
	test_http(&s, "GET", "/api/v1/me", tok, NULL, NULL, 0, huge, &r);
	ASSERT_EQ(r.status, 431);
	test_resp_free(&r);
	free(huge);
	test_call(&s, "GET", "/api/v1/me", tok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);
	free(tok);
	test_server_stop(&s);
}

TEST(api_body_limit_413)
{
	struct test_server s;
	struct test_resp r;
	test_server_start(&s, NULL);
	test_make_user(&s, "patient", "p@example.org");
	char *tok = test_login(&s, "p@example.org");
	size_t n = 64 * 1024 + 1;
	char *big = malloc(n + 1);
	ASSERT(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	/* Declared by Content-Length: refused before the body is read. */
	test_http(&s, "POST", "/api/v1/checkins", tok, NULL, big, n, NULL, &r);
	ASSERT_EQ(r.status, 413);
	ASSERT_STR_EQ(test_error_code(&r), "body_too_large");
	test_resp_free(&r);
	/* Chunked: counted while streaming. */
	test_http(&s, "POST", "/api/v1/checkins", tok, NULL, big, n, "Transfer-Encoding: chunked",
	          &r);
	ASSERT_EQ(r.status, 413);
	ASSERT_STR_EQ(test_error_code(&r), "body_too_large");
	test_resp_free(&r);
	/* Exactly at the limit is decoded (and is valid JSON: an empty object). */
	big[n - 2] = '}';
	test_http(&s, "POST", "/api/v1/checkins", tok, NULL, big, n - 1, NULL, &r);
	ASSERT_EQ(r.status, 400);
	ASSERT_CONTAINS(test_error_message(&r), "missing required field");
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "checkins"), 0);
	free(big);
	free(tok);
	test_server_stop(&s);
}
