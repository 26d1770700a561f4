/*
 * test_api_web.c: what the web pages rely on, over real HTTP: static files from the web
 * root (content types, ETag revalidation, the security headers, path traversal refused),
 * browser sessions (the HttpOnly SameSite=Strict cookie, CSRF tokens on state-changing
 * requests, logout and erasure clearing the cookie, an expired session reported as such)
 * and the administrators' audit-log endpoints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_test.h"
#include "harness.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ASSERT(f);
	fputs(text, f);
	fclose(f);
}

/* A web root with a page, a script, a style sheet in a folder, a hidden file, a symbolic
 * link pointing out of the root, and a secret file beside the root. */
static void make_web_root(char *root, size_t rootlen)
{
	const char *base = haven_test_tmpfile("webroot");
	char p[700];
	snprintf(root, rootlen, "%s/web", base);
	ASSERT_EQ(mkdir(base, 0700), 0);
	ASSERT_EQ(mkdir(root, 0700), 0);
	snprintf(p, sizeof(p), "%s/css", root);
	ASSERT_EQ(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/index.html", root);
	write_file(p, "<!doctype html><title>t</title><p>index-marker</p>\n");
	snprintf(p, sizeof(p), "%s/app.js", root);
	write_file(p, "export const x = 1;\n");
	snprintf(p, sizeof(p), "%s/css/site.css", root);
	write_file(p, "body { color: black; }\n");
	snprintf(p, sizeof(p), "%s/.hidden.txt", root);
	write_file(p, "hidden-marker\n");
	snprintf(p, sizeof(p), "%s/secret.txt", base);
	write_file(p, "secret-marker\n");
	char link[700];
	snprintf(link, sizeof(link), "%s/link.txt", root);
	ASSERT_EQ(symlink(p, link), 0);
}

static void start_with_root(struct test_server *s, const char *root)
{
	struct haven_api_config cfg;
	haven_api_config_init(&cfg);
	cfg.threads = 4;
	haven_strlcpy(cfg.web_root, root, sizeof(cfg.web_root));
	test_server_start(s, &cfg);
}

TEST(web_static_files_and_headers)
{
	char root[600], h[600];
	struct test_server s;
	struct test_resp r;
	make_web_root(root, sizeof(root));
	start_with_root(&s, root);

	test_call(&s, "GET", "/", NULL, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT(strstr(r.body, "index-marker"));
	ASSERT_STR_EQ(r.content_type, "text/html; charset=utf-8");
	ASSERT(test_header(&r, "Content-Security-Policy", h, sizeof(h)));
	ASSERT(strstr(h, "script-src 'self'"));
	ASSERT(strstr(h, "style-src 'self'"));
	ASSERT(strstr(h, "frame-ancestors 'none'"));
	ASSERT(strstr(h, "default-src 'none'"));
	ASSERT(!strstr(h, "unsafe-inline"));
	ASSERT(test_header(&r, "X-Content-Type-Options", h, sizeof(h)));
	ASSERT_STR_EQ(h, "nosniff");
	ASSERT(test_header(&r, "Referrer-Policy", h, sizeof(h)));
	ASSERT_STR_EQ(h, "no-referrer");
	ASSERT(test_header(&r, "Cache-Control", h, sizeof(h)));
	ASSERT_STR_EQ(h, "no-cache");
	char etag[128];
	ASSERT(test_header(&r, "ETag", etag, sizeof(etag)));
	ASSERT(etag[0] == '"' && strlen(etag) == 34);
	test_resp_free(&r);

	/* Revalidation: the same ETag gets 304 and no body; another gets the file. */
	char inm[200];
	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	test_http(&s, "GET", "/index.html", NULL, NULL, NULL, 0, inm, &r);
	ASSERT_EQ(r.status, 304);
	ASSERT_EQ(r.len, 0);
	test_resp_free(&r);
	test_http(&s, "GET", "/index.html", NULL, NULL, NULL, 0, "If-None-Match: \"stale\"", &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);

	test_call(&s, "GET", "/app.js", NULL, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(r.content_type, "text/javascript; charset=utf-8");
	test_resp_free(&r);
	test_call(&s, "GET", "/css/site.css", NULL, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(r.content_type, "text/css; charset=utf-8");
	test_resp_free(&r);
	test_call(&s, "HEAD", "/css/site.css", NULL, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(r.len, 0);
	test_resp_free(&r);

	/* API replies carry the same security headers and stay uncached. */
	test_call(&s, "GET", "/api/v1/healthz", NULL, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT(test_header(&r, "Content-Security-Policy", h, sizeof(h)));
	ASSERT(test_header(&r, "Cache-Control", h, sizeof(h)));
	ASSERT_STR_EQ(h, "no-store");
	test_resp_free(&r);
	/* An unknown API path is the JSON 404, never a page. */
	test_call(&s, "GET", "/api/v1/no-such-thing", NULL, NULL, &r);
	ASSERT_EQ(r.status, 404);
	ASSERT_STR_EQ(test_error_code(&r), "not_found");
	test_resp_free(&r);
	/* Static files answer GET and HEAD only. */
	test_call(&s, "POST", "/index.html", NULL, "{}", &r);
	ASSERT_EQ(r.status, 404);
	ASSERT_STR_EQ(test_error_code(&r), "not_found");
	test_resp_free(&r);
	test_server_stop(&s);
}

TEST(web_static_refuses_traversal)
{
	char root[600];
	struct test_server s;
	struct test_resp r;
	make_web_root(root, sizeof(root));
	start_with_root(&s, root);
	static const char *const bad[] = {
	    "/../secret.txt",    "/%2e%2e/secret.txt", "/css/../../secret.txt",
	    "/css/../index.html", "/.hidden.txt",      "/link.txt",
	    "//etc/passwd",      "/css/",              "/css/%2e%2e/index.html",
	    "/no-such.html",     "/index.html/",       "/%2fetc%2fpasswd.txt",
	    "/css\\site.css",    "/app.exe",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_call(&s, "GET", bad[i], NULL, NULL, &r);
		if (r.status != 404)
			haven_test_fail(__FILE__, __LINE__, "GET %s: status %ld, want 404", bad[i],
			                r.status);
		ASSERT(!strstr(r.body, "secret-marker"));
		ASSERT(!strstr(r.body, "hidden-marker"));
		ASSERT(!strstr(r.body, "root:"));
		test_resp_free(&r);
	}
	test_server_stop(&s);

	/* With no web root, no page is served but the API works. */
	struct haven_api_config cfg;
	haven_api_config_init(&cfg);
	cfg.threads = 2;
	cfg.web_root[0] = '\0';
	test_server_start(&s, &cfg);
	test_call(&s, "GET", "/", NULL, NULL, &r);
	ASSERT_EQ(r.status, 404);
	test_resp_free(&r);
	test_call(&s, "GET", "/healthz", NULL, NULL, &r);
	ASSERT_EQ(r.status, 200);
	test_resp_free(&r);
	test_server_stop(&s);
}

/* Logs in with cookie:true; returns the token from Set-Cookie and the CSRF token. */
static void cookie_login(struct test_server *s, const char *email, const char *extra,
                         char token[128], char csrf[128], char set_cookie[400])
{
	char body[300];
	struct test_resp r;
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"cookie\":true}",
	         email, TEST_PASSWORD);
	test_http(s, "POST", "/api/v1/auth/login", NULL, NULL, body, strlen(body), extra, &r);
	ASSERT_EQ(r.status, 200);
	/* The token stays out of reach of scripts: not in the body, only in the cookie. */
	ASSERT(!json_object_get(r.json, "token"));
	const char *c = json_string_value(json_object_get(r.json, "csrf_token"));
	ASSERT(c && strlen(c) == 64);
	haven_strlcpy(csrf, c, 128);
	ASSERT(test_header(&r, "Set-Cookie", set_cookie, 400));
	ASSERT(!strncmp(set_cookie, "haven_session=", 14));
	const char *semi = strchr(set_cookie, ';');
	ASSERT(semi);
	snprintf(token, 128, "%.*s", (int)(semi - set_cookie - 14), set_cookie + 14);
	ASSERT_EQ(strlen(token), 43);
	test_resp_free(&r);
}

TEST(web_cookie_session_and_csrf)
{
	struct test_server s;
	struct test_resp r;
	char token[128], csrf[128], sc[400], hdr[600], h[400];
	test_server_start(&s, NULL);
	int64_t clin = test_make_user(&s, "clinician", "dr@example.org");
	(void)clin;
	char *ctok = test_login(&s, "dr@example.org");
	test_register(&s, ctok, "pat@example.org", 1);

	cookie_login(&s, "pat@example.org", NULL, token, csrf, sc);
	ASSERT(strstr(sc, "; HttpOnly"));
	ASSERT(strstr(sc, "; SameSite=Strict"));
	ASSERT(strstr(sc, "; Path=/"));
	ASSERT(strstr(sc, "; Max-Age=43200"));
	ASSERT(!strstr(sc, "Secure")); /* plain http: a Secure cookie would never come back */

	/* The cookie authenticates; /me hands the page its CSRF token again. */
	snprintf(hdr, sizeof(hdr), "Cookie: other=1; haven_session=%s", token);
	test_http(&s, "GET", "/api/v1/me", NULL, NULL, NULL, 0, hdr, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "email")), "pat@example.org");
	ASSERT_STR_EQ(json_string_value(json_object_get(r.json, "csrf_token")), csrf);
	test_resp_free(&r);

	/* A state-changing request by cookie needs the CSRF token: missing or wrong is 403
	 * and writes nothing. */
	const char *checkin = "{\"mood\":6,\"sleep_hours\":7}";
	test_http(&s, "POST", "/api/v1/checkins", NULL, NULL, checkin, strlen(checkin), hdr, &r);
	ASSERT_EQ(r.status, 403);
	ASSERT_STR_EQ(test_error_code(&r), "csrf_failed");
	test_resp_free(&r);
	char wrong[800];
	snprintf(wrong, sizeof(wrong), "%s\nX-CSRF-Token: %064d", hdr, 0);
	test_http(&s, "POST", "/api/v1/checkins", NULL, NULL, checkin, strlen(checkin), wrong, &r);
	ASSERT_EQ(r.status, 403);
	ASSERT_STR_EQ(test_error_code(&r), "csrf_failed");
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "checkins"), 0);
	/* Another session's CSRF token does not fit this session. */
	char token2[128], csrf2[128], sc2[400];
	cookie_login(&s, "pat@example.org", NULL, token2, csrf2, sc2);
	ASSERT(strcmp(csrf, csrf2));
	snprintf(wrong, sizeof(wrong), "%s\nX-CSRF-Token: %s", hdr, csrf2);
	test_http(&s, "POST", "/api/v1/checkins", NULL, NULL, checkin, strlen(checkin), wrong, &r);
	ASSERT_EQ(r.status, 403);
	test_resp_free(&r);
	char good[800];
	snprintf(good, sizeof(good), "%s\nX-CSRF-Token: %s", hdr, csrf);
	test_http(&s, "POST", "/api/v1/checkins", NULL, NULL, checkin, strlen(checkin), good, &r);
	ASSERT_EQ(r.status, 201);
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "checkins"), 1);
	/* DELETE needs it too (erasure without the token changes nothing). */
	test_http(&s, "DELETE", "/api/v1/me", NULL, NULL, NULL, 0, hdr, &r);
	ASSERT_EQ(r.status, 403);
	ASSERT_STR_EQ(test_error_code(&r), "csrf_failed");
	test_resp_free(&r);
	ASSERT_EQ(test_count(&s, "checkins"), 1);

	/* The bearer header works as before, with no CSRF token (no ambient credential). */
	char *ptok = test_login(&s, "pat@example.org");
	test_call(&s, "POST", "/api/v1/checkins", ptok, checkin, &r);
	ASSERT_EQ(r.status, 201);
	test_resp_free(&r);
	free(ptok);

	/* Logout clears the cookie and the site's data; the session is then refused. */
	test_http(&s, "POST", "/api/v1/auth/logout", NULL, NULL, NULL, 0, hdr, &r);
	ASSERT_EQ(r.status, 403);
	test_resp_free(&r);
	test_http(&s, "POST", "/api/v1/auth/logout", NULL, NULL, NULL, 0, good, &r);
	ASSERT_EQ(r.status, 204);
	ASSERT(test_header(&r, "Set-Cookie", h, sizeof(h)));
	ASSERT(!strncmp(h, "haven_session=;", 15));
	ASSERT(strstr(h, "Max-Age=0"));
	ASSERT(test_header(&r, "Clear-Site-Data", h, sizeof(h)));
	ASSERT(strstr(h, "\"cookies\""));
	test_resp_free(&r);
	test_http(&s, "GET", "/api/v1/me", NULL, NULL, NULL, 0, hdr, &r);
	ASSERT_EQ(r.status, 401);
	ASSERT_STR_EQ(test_error_code(&r), "unauthorized");
	ASSERT(test_header(&r, "Set-Cookie", h, sizeof(h)));
	ASSERT(strstr(h, "Max-Age=0"));
	test_resp_free(&r);

	/* Erasure by cookie (with the token) clears the cookie too. */
	snprintf(hdr, sizeof(hdr), "Cookie: haven_session=%s\nX-CSRF-Token: %s", token2, csrf2);
	test_http(&s, "DELETE", "/api/v1/me", NULL, NULL, NULL, 0, hdr, &r);
	ASSERT_EQ(r.status, 204);
	ASSERT(test_header(&r, "Set-Cookie", h, sizeof(h)));
	ASSERT(strstr(h, "Max-Age=0"));
	test_resp_free(&r);
	free(ctok);
	test_server_stop(&s);
}

static int expire_all_tx(struct haven_tx *tx, void *arg)
{
	struct haven_param p[] = {HAVEN_P_INT(haven_now_ms() - 1000)};
	return haven_tx_exec(tx, "UPDATE sessions SET expires_at = ?", p, 1, NULL);
}

TEST(web_cookie_secure_and_expiry)
{
	struct test_server s;
	struct test_resp r;
	char token[128], csrf[128], sc[400], hdr[600], h[400];
	struct haven_api_config cfg;
	haven_api_config_init(&cfg);
	cfg.threads = 2;
	cfg.cookie_secure = 1;
	test_server_start(&s, &cfg);
	test_make_user(&s, "admin", "root@example.org");
	cookie_login(&s, "root@example.org", NULL, token, csrf, sc);
	ASSERT(strstr(sc, "; Secure"));
	test_server_stop(&s);

	/* Behind a TLS proxy that says so, the cookie is Secure without configuration. */
	test_server_start(&s, NULL);
	test_make_user(&s, "admin", "root@example.org");
	cookie_login(&s, "root@example.org", "X-Forwarded-Proto: https", token, csrf, sc);
	ASSERT(strstr(sc, "; Secure"));

	/* An expired session says so, by cookie and by bearer token, and the cookie is
	 * cleared. */
	ASSERT_OK(haven_store_write(s.store, expire_all_tx, NULL));
	snprintf(hdr, sizeof(hdr), "Cookie: haven_session=%s", token);
	test_http(&s, "GET", "/api/v1/me", NULL, NULL, NULL, 0, hdr, &r);
	ASSERT_EQ(r.status, 401);
	ASSERT_STR_EQ(test_error_code(&r), "session_expired");
	ASSERT(test_header(&r, "Set-Cookie", h, sizeof(h)));
	ASSERT(strstr(h, "Max-Age=0"));
	test_resp_free(&r);
	test_call(&s, "GET", "/api/v1/users", token, NULL, &r);
	ASSERT_EQ(r.status, 401);
	ASSERT_STR_EQ(test_error_code(&r), "session_expired");
	test_resp_free(&r);
	/* A token nobody issued is simply unauthorized. */
	test_http(&s, "GET", "/api/v1/me", NULL, NULL, NULL, 0,
	          "Cookie: haven_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &r);
	ASSERT_EQ(r.status, 401);
	ASSERT_STR_EQ(test_error_code(&r), "unauthorized");
	test_resp_free(&r);
	test_server_stop(&s);
}

TEST(web_audit_log_endpoints)
{
	struct test_server s;
	struct test_resp r;
	test_server_start(&s, NULL);
	test_make_user(&s, "admin", "root@example.org");
	test_make_user(&s, "clinician", "dr@example.org");
	char *atok = test_login(&s, "root@example.org");
	char *ctok = test_login(&s, "dr@example.org");

	test_call(&s, "GET", "/api/v1/audit/verify", atok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT(json_is_true(json_object_get(r.json, "intact")));
	int64_t records = json_integer_value(json_object_get(r.json, "records"));
	ASSERT(records >= 4); /* two accounts created, two logins */
	ASSERT_EQ(json_integer_value(json_object_get(r.json, "first_bad_id")), 0);
	json_t *head = json_object_get(r.json, "head");
	ASSERT_EQ(json_integer_value(json_object_get(head, "id")), records);
	ASSERT_EQ(strlen(json_string_value(json_object_get(head, "hash"))), 64);
	test_resp_free(&r);

	/* Newest first; the verification itself was audited. */
	test_call(&s, "GET", "/api/v1/audit?limit=2", atok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	json_t *recs = json_object_get(r.json, "records");
	ASSERT_EQ(json_array_size(recs), 2);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(recs, 0), "action")),
	              "audit.verify");
	int64_t first = json_integer_value(json_object_get(json_array_get(recs, 0), "id"));
	int64_t second = json_integer_value(json_object_get(json_array_get(recs, 1), "id"));
	ASSERT_EQ(second, first - 1);
	int64_t next = json_integer_value(json_object_get(r.json, "next_before"));
	ASSERT_EQ(next, second);
	test_resp_free(&r);
	char path[100];
	snprintf(path, sizeof(path), "/api/v1/audit?before=%lld&limit=500", (long long)next);
	test_call(&s, "GET", path, atok, NULL, &r);
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(json_array_size(json_object_get(r.json, "records")), (size_t)(next - 1));
	ASSERT(!json_object_get(r.json, "next_before"));
	test_resp_free(&r);

	static const char *const bad[] = {"/api/v1/audit?limit=0", "/api/v1/audit?limit=501",
	                                  "/api/v1/audit?before=x", "/api/v1/audit?before=-3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_call(&s, "GET", bad[i], atok, NULL, &r);
		ASSERT_EQ(r.status, 400);
		ASSERT_STR_EQ(test_error_code(&r), "invalid_query");
		test_resp_free(&r);
	}
	/* Administrators only. */
	test_call(&s, "GET", "/api/v1/audit/verify", ctok, NULL, &r);
	ASSERT_EQ(r.status, 403);
	test_resp_free(&r);
	free(atok);
	free(ctok);
	test_server_stop(&s);
}
