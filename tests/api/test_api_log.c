/*
 * test_api_log.c: the server's log. One structured line per request (method, route
 * pattern, status, duration, request id), and never a password, a token, an email or
 * clinical text, checked by reading everything logged during a login and a check-in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_test.h"
#include "harness.h"

#define NOTE "log-test-private-note-do-not-log"

TEST(api_log_has_requests_but_no_secrets)
{
	struct test_server s;
	struct test_resp r;
	const char *path = haven_test_tmpfile("server-log");
	FILE *f = fopen(path, "w+");
	ASSERT(f);
	haven_log_set_file(f);
	test_server_start(&s, NULL);
	haven_log_set_level(HAVEN_LOG_INFO);
	test_make_user(&s, "patient", "secret-person@example.org");
	char *tok = test_login(&s, "secret-person@example.org");
	test_call(&s, "POST", "/api/v1/auth/login", NULL,
	          "{\"email\":\"secret-person@example.org\",\"password\":\"wrong-password-xyz\"}",
	          &r);
	ASSERT_EQ(r.status, 401);
	test_resp_free(&r);
	test_http(&s, "POST", "/api/v1/checkins", tok, NULL,
	          "{\"mood\":5,\"sleep_hours\":7,\"note\":\"" NOTE "\"}",
	          strlen("{\"mood\":5,\"sleep_hours\":7,\"note\":\"" NOTE "\"}"),
	          "X-Request-Id: log-test-req-1", &r);
	ASSERT_EQ(r.status, 201);
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/checkins", tok, NULL, &r);
	ASSERT_CONTAINS(r.body, NOTE);
	test_resp_free(&r);
	test_server_stop(&s);
	haven_log_set_file(NULL);

	fflush(f);
	long size = ftell(f);
	ASSERT(size > 0);
	char *log = calloc(1, (size_t)size + 1);
	ASSERT(log);
	rewind(f);
	ASSERT_EQ(fread(log, 1, (size_t)size, f), (size_t)size);
	fclose(f);

	ASSERT_CONTAINS(log, "event=request method=POST route=/api/v1/auth/login status=200");
	ASSERT_CONTAINS(log, "route=/api/v1/auth/login status=401");
	ASSERT_CONTAINS(log, "method=POST route=/api/v1/checkins status=201 duration_ms=");
	ASSERT_CONTAINS(log, "request_id=log-test-req-1");
	ASSERT(!strstr(log, TEST_PASSWORD));
	ASSERT(!strstr(log, "wrong-password-xyz"));
	ASSERT(!strstr(log, tok));
	ASSERT(!strstr(log, NOTE));
	ASSERT(!strstr(log, "secret-person"));
	free(log);
	free(tok);
}
