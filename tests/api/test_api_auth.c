/*
 * test_api_auth.c: accounts over real HTTP: login, /me, logout, registration by
 * invitation, admin user management, throttling, operations endpoints, request ids.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_test.h"
#include "harness.h"

TEST(api_login_me_logout)
{
	struct test_server s;
	struct test_resp r;
	test_server_start(&s, NULL);
	int64_t admin = test_make_user(&s, "admin", "Admin@Example.org");

	test_call(&s, "POST", "/api/v1/auth/login", NULL,
	          "{\"email\":\"admin@example.org\",\"password\":\"" TEST_PASSWORD "\"}", &r);
	ASSERT_EQ(r.status, 200);
	const char *token = json_string_value(json_object_get(r.json, "token"));
	ASSERT(token && strlen(token) == HAVEN_TOKEN_CHARS);
	ASSERT(json_is_string(json_object_get(r.json, "expires_at")));
	json_t *user = json_object_get(r.json, "user");
	ASSERT_EQ(json_integer_value(json_object_get(user, "id")), admin);
	ASSERT_STR_EQ(json_string_value(json_object_get(user, "role")), "admin");
	char *tok = strdup(token);
	test_resp_free(&r);

	test_call(&s, "GET", "/api/v1/me", tok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "email")), "admin@example.org");
	ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "role")), "admin");
	test_resp_free(&r);

	/* A wrong password and an unknown email look the same. */
	test_call(&s, "POST", "/api/v1/auth/login", NULL,
	          "{\"email\":\"admin@example.org\",\"password\":\"wrong password!\"}", &r);
	ASSERT_EQ(r.status, 401);
	ASSERT_STR_EQ(test_error_code(&r), "invalid_credentials");
	test_resp_free(&r);
	test_call(&s, "POST", "/api/v1/auth/login", NULL,
	          "{\"email\":\"nobody@example.org\",\"password\":\"wrong password!\"}", &r);
	ASSERT_EQ(r.status, 401);
	ASSERT_STR_EQ(test_error_code(&r), "invalid_credentials");
	test_resp_free(&r);

	test_call(&s, "POST", "/api/v1/auth/logout", tok, NULL, &r);
	ASSERT_EQ(r.status, 204);
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/me", tok, NULL, &r);
	ASSERT_EQ(r.status, 401);
	ASSERT_STR_EQ(test_error_code(&r), "unauthorized");
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/me", "not-a-token", NULL, &r);
	ASSERT_EQ(r.status, 401);
	test_resp_free(&r);
	free(tok);
	/* Logins (ok and failed), the logout and the refusals are audited. */
	ASSERT(test_count(&s, "audit_log") >= 6);
	test_server_stop(&s);
}

TEST(api_register_by_invitation)
{
	struct test_server s;
	struct test_resp r;
	test_server_start(&s, NULL);
	test_make_user(&s, "clinician", "clin@example.org");
	char *ctok = test_login(&s, "clin@example.org");

	test_call(&s, "POST", "/api/v1/invitations", ctok, NULL, &r);
	ASSERT_EQ(r.status, 201);
	char *code = strdup(json_string_value(json_object_get(r.json, "code")));
	test_resp_free(&r);
	char body[600];
	snprintf(body, sizeof(body),
	         "{\"code\":\"%s\",\"email\":\"pat@example.org\",\"password\":\"" TEST_PASSWORD
	         "\",\"consents\":{\"care_team\":true,\"research\":false}}",
	         code);
	test_call(&s, "POST", "/api/v1/auth/register", NULL, body, &r);
	ASSERT_EQ(r.status, 201);
	int64_t pid = json_integer_value(json_object_get(json_object_get(r.json, "user"), "id"));
	test_resp_free(&r);
	/* The code is single use. */
	snprintf(body, sizeof(body),
	         "{\"code\":\"%s\",\"email\":\"other@example.org\",\"password\":\"" TEST_PASSWORD
	         "\"}",
	         code);
	test_call(&s, "POST", "/api/v1/auth/register", NULL, body, &r);
	ASSERT_EQ(r.status, 403);
	ASSERT_STR_EQ(test_error_code(&r), "invalid_invitation");
	test_resp_free(&r);
	test_call(&s, "POST", "/api/v1/auth/register", NULL,
	          "{\"code\":\"made-up\",\"email\":\"x@example.org\",\"password\":\"" TEST_PASSWORD
	          "\"}",
	          &r);
	ASSERT_EQ(r.status, 403);
	test_resp_free(&r);
	free(code);

	/* The patient is on the clinician's care team, with consents as given. */
	test_call(&s, "GET", "/api/v1/patients", ctok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *list = json_object_get(r.json, "patients");
	ASSERT_EQ(json_array_size(list), 1);
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(list, 0), "id")), pid);
	ASSERT(json_is_null(json_object_get(json_array_get(list, 0), "last_checkin_at")));
	test_resp_free(&r);

	char *ptok = test_login(&s, "pat@example.org");
	test_call(&s, "GET", "/api/v1/me/consents", ptok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *sc = json_object_get(r.json, "scopes");
	ASSERT(json_is_true(json_object_get(sc, "care_team")));
	ASSERT(json_is_false(json_object_get(sc, "research")));
	ASSERT(json_is_false(json_object_get(sc, "sensing")));
	ASSERT_EQ(
	    json_integer_value(json_object_get(json_object_get(r.json, "document"), "version")), 1);
	ASSERT(json_is_string(json_object_get(json_object_get(r.json, "document"), "text")));
	test_resp_free(&r);
	test_call(&s, "PUT", "/api/v1/me/consents", ptok, "{\"scopes\":{\"research\":true}}", &r);
	ASSERT_EQ(r.status, 200);
	ASSERT(json_is_true(json_object_get(json_object_get(r.json, "scopes"), "research")));
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "consents"), 4);

	/* Email uniqueness. */
	test_call(&s, "POST", "/api/v1/invitations", ctok, NULL, &r);
	code = strdup(json_string_value(json_object_get(r.json, "code")));
	test_resp_free(&r);
	snprintf(body, sizeof(body),
	         "{\"code\":\"%s\",\"email\":\"PAT@example.org\",\"password\":\"" TEST_PASSWORD
	         "\"}",
	         code);
	test_call(&s, "POST", "/api/v1/auth/register", NULL, body, &r);
	ASSERT_EQ(r.status, 409);
	ASSERT_STR_EQ(test_error_code(&r), "email_taken");
	test_resp_free(&r);
	free(code);
	free(ptok);
	free(ctok);
	test_server_stop(&s);
}

TEST(api_admin_users)
{
	struct test_server s;
	struct test_resp r;
	test_server_start(&s, NULL);
	test_make_user(&s, "admin", "root@example.org");
	char *tok = test_login(&s, "root@example.org");
	test_call(&s, "POST", "/api/v1/users", tok,
	          "{\"email\":\"doc@example.org\",\"password\":\"" TEST_PASSWORD
	          "\",\"role\":\"clinician\"}",
	          &r);
	ASSERT_EQ(r.status, 201);
	ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "role")), "clinician");
	test_resp_free(&r);
	test_call(&s, "POST", "/api/v1/users", tok,
	          "{\"email\":\"doc2@example.org\",\"password\":\"short\",\"role\":\"clinician\"}",
	          &r);
	ASSERT_EQ(r.status, 400);
	ASSERT_CONTAINS(test_error_message(&r), "password");
	test_resp_free(&r);
	test_call(&s, "POST", "/api/v1/users", tok,
	          "{\"email\":\"doc3@example.org\",\"password\":\"" TEST_PASSWORD
	          "\",\"role\":\"wizard\"}",
	          &r);
	ASSERT_EQ(r.status, 400);
	ASSERT_CONTAINS(test_error_message(&r), "role");
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/users", tok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "users")), 2);
	ASSERT(!strstr(r.body, "password"));
	test_resp_free(&r);
	free(tok);
	test_server_stop(&s);
}

TEST(api_login_throttled)
{
	struct test_server s;
	struct test_resp r;
	struct haven_api_config cfg;
	haven_api_config_init(&cfg);
	cfg.threads = 2;
	cfg.login_fail_account = 3;
	cfg.login_fail_address = 6;
	test_server_start(&s, &cfg);
	test_make_user(&s, "patient", "p@example.org");
	test_make_user(&s, "patient", "q@example.org");
	for (int i = 0; i < 3; i++) {
		test_call(&s, "POST", "/api/v1/auth/login", NULL,
		          "{\"email\":\"p@example.org\",\"password\":\"not the password\"}", &r);
		ASSERT_EQ(r.status, 401);
		test_resp_free(&r);
	}
	/* The account is locked for its window, even with the right password. */
	test_call(&s, "POST", "/api/v1/auth/login", NULL,
	          "{\"email\":\"p@example.org\",\"password\":\"" TEST_PASSWORD "\"}", &r);
	ASSERT_EQ(r.status, 429);
	ASSERT_STR_EQ(test_error_code(&r), "too_many_attempts");
	ASSERT(r.retry_after[0]);
	int64_t retry;
	ASSERT_OK(haven_parse_int64(r.retry_after, &retry));
	ASSERT(retry > 0 && retry <= 15 * 60);
	test_resp_free(&r);
	/* Another account from the same address still works until the address limit. */
	char *tok = test_login(&s, "q@example.org");
	free(tok);
	for (int i = 0; i < 3; i++) {
		test_call(&s, "POST", "/api/v1/auth/login", NULL,
		          "{\"email\":\"q@example.org\",\"password\":\"not the password\"}", &r);
		ASSERT_EQ(r.status, i < 3 ? 401 : 429);
		test_resp_free(&r);
	}
	test_call(&s, "POST", "/api/v1/auth/login", NULL,
	          "{\"email\":\"new@example.org\",\"password\":\"not the password\"}", &r);
	ASSERT_EQ(r.status, 429); /* six failures from this address */
	test_resp_free(&r);
	test_server_stop(&s);
}

TEST(api_operations_and_request_id)
{
	struct test_server s;
	struct test_resp r;
	test_server_start(&s, NULL);
	test_call(&s, "GET", "/healthz", NULL, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT(r.request_id[0]);
	test_resp_free(&r);
	test_http(&s, "GET", "/readyz", NULL, NULL, NULL, 0, "X-Request-Id: trace-42.a_b", &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(r.request_id, "trace-42.a_b");
	test_resp_free(&r);
	test_http(&s, "GET", "/readyz", NULL, NULL, NULL, 0, "X-Request-Id: bad id <script>", &r);
	ASSERT(strcmp(r.request_id, "bad id <script>"));
	ASSERT_EQ(strlen(r.request_id), 16);
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/nowhere", NULL, NULL, &r);
	ASSERT_EQ(r.status, 404);
	ASSERT_STR_EQ(test_error_code(&r), "not_found");
	test_resp_free(&r);
	test_call(&s, "PUT", "/api/v1/me", NULL, NULL, &r);
	ASSERT_EQ(r.status, 405);
	test_resp_free(&r);
	/* A request is counted when libmicrohttpd reports it complete, which may come just
	 * after its client has the reply: look again for a moment. */
	const char *readyz_twice =
	    "haven_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 2";
	for (int i = 0;; i++) {
		test_call(&s, "GET", "/metrics", NULL, NULL, &r);
		if (i == 50 || (r.body && strstr(r.body, readyz_twice)))
			break;
		test_resp_free(&r);
		usleep(20 * 1000);
	}
	ASSERT_EQ(r.status, 200);
	ASSERT_CONTAINS(r.content_type, "text/plain");
	ASSERT_CONTAINS(r.body, readyz_twice);
	ASSERT_CONTAINS(r.body, "haven_http_request_duration_seconds_bucket{le=\"+Inf\"}");
	ASSERT_CONTAINS(r.body, "haven_store_writes_total");
	ASSERT_CONTAINS(r.body, "haven_uptime_seconds");
	test_resp_free(&r);
	test_server_stop(&s);
}
