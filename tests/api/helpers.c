/* helpers.c: the API tests' server and client helpers (see api_test.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "api_test.h"
#include "harness.h"

__attribute__((constructor)) static void curl_setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* argon2id at its interactive cost would make the suite slow. */
	setenv("HAVEN_PWHASH_FAST", "1", 1);
}

__attribute__((destructor)) static void curl_teardown(void)
{
	curl_global_cleanup();
}

void test_server_start(struct test_server *s, const struct haven_api_config *cfg)
{
	memset(s, 0, sizeof(*s));
	/* One line per request would drown the test output; HAVEN_TEST_VERBOSE keeps it. */
	if (!getenv("HAVEN_TEST_VERBOSE"))
		haven_log_set_level(HAVEN_LOG_WARN);
	ASSERT_OK(haven_crypto_init());
	haven_strlcpy(s->db_url, haven_test_db_url(), sizeof(s->db_url));
	ASSERT_OK(haven_store_open(s->db_url, NULL, &s->store));
	ASSERT_OK(haven_store_migrate(s->store, NULL));
	ASSERT_OK(haven_master_key_generate(&s->mk));
	if (cfg) {
		s->cfg = *cfg;
	} else {
		haven_api_config_init(&s->cfg);
		s->cfg.threads = 4;
	}
	haven_strlcpy(s->cfg.host, "127.0.0.1", sizeof(s->cfg.host));
	s->cfg.port = 0;
	ASSERT_OK(haven_api_start(&s->cfg, s->store, s->mk, &s->api));
	ASSERT(haven_api_port(s->api) > 0);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", haven_api_port(s->api));
}

void test_server_stop(struct test_server *s)
{
	haven_api_stop(&s->api);
	haven_master_key_destroy(&s->mk);
	haven_store_destroy(&s->store);
	haven_log_set_level(HAVEN_LOG_INFO);
}

struct sink {
	char *data;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *b = arg;
	size_t add = size * n;
	char *g = realloc(b->data, b->len + add + 1);
	if (!g)
		return 0;
	memcpy(g + b->len, p, add);
	b->data = g;
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	if (n <= nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	size_t vn = n - nl - 1;
	while (vn && (*v == ' '))
		v++, vn--;
	while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n'))
		vn--;
	if (vn >= outlen)
		vn = outlen - 1;
	memcpy(out, v, vn);
	out[vn] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct test_resp *r = arg;
	size_t len = size * n;
	header_value(p, len, "X-Request-Id", r->request_id, sizeof(r->request_id));
	header_value(p, len, "Retry-After", r->retry_after, sizeof(r->retry_after));
	header_value(p, len, "Content-Type", r->content_type, sizeof(r->content_type));
	size_t have = r->headers ? strlen(r->headers) : 0;
	char *g = realloc(r->headers, have + len + 1);
	if (!g)
		return 0;
	memcpy(g + have, p, len);
	g[have + len] = '\0';
	r->headers = g;
	return len;
}

void test_http(struct test_server *s, const char *method, const char *path, const char *token,
               const char *content_type, const char *body, size_t body_len,
               const char *extra_header, struct test_resp *out)
{
	memset(out, 0, sizeof(*out));
	CURL *c = curl_easy_init();
	ASSERT(c);
	char url[512], auth[400], ct[200];
	struct curl_slist *hdr = NULL;
	struct sink b = {NULL, 0};
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdr = curl_slist_append(hdr, auth);
	}
	if (body) {
		snprintf(ct, sizeof(ct), "Content-Type: %s",
		         content_type ? content_type : "application/json");
		hdr = curl_slist_append(hdr, ct);
		hdr = curl_slist_append(hdr, "Expect:");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	/* Several extra headers are separated by newlines. */
	for (const char *h = extra_header; h && *h;) {
		const char *nl = strchr(h, '\n');
		size_t n = nl ? (size_t)(nl - h) : strlen(h);
		char *line = strndup(h, n);
		ASSERT(line);
		hdr = curl_slist_append(hdr, line);
		free(line);
		h += n + (nl ? 1 : 0);
	}
	/* Send paths as written: the static-file tests need "/../" to reach the server. */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		free(b.data);
		haven_test_fail(__FILE__, __LINE__, "%s %s: %s", method, path,
		                curl_easy_strerror(rc));
	}
	out->body = b.data ? b.data : strdup("");
	out->len = b.len;
	out->json = json_loadb(out->body, out->len, 0, NULL);
}

void test_call(struct test_server *s, const char *method, const char *path, const char *token,
               const char *json_body, struct test_resp *out)
{
	test_http(s, method, path, token, NULL, json_body, json_body ? strlen(json_body) : 0, NULL,
	          out);
}

void test_resp_free(struct test_resp *r)
{
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

const char *test_header(const struct test_resp *r, const char *name, char *out, size_t outlen)
{
	out[0] = '\0';
	for (const char *line = r->headers; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line + 1) : strlen(line);
		header_value(line, n, name, out, outlen);
		if (out[0])
			return out;
		line += n;
	}
	return NULL;
}

const char *test_error_code(const struct test_resp *r)
{
	json_t *e = json_object_get(r->json, "error");
	if (!json_is_object(e) || json_object_size(e) != 2 || json_object_size(r->json) != 1)
		return "";
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	return code && msg && *msg ? code : "";
}

const char *test_error_message(const struct test_resp *r)
{
	const char *m =
	    json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));
	return m ? m : "";
}

int64_t test_make_user(struct test_server *s, const char *role, const char *email)
{
	int64_t id = 0;
	ASSERT_OK(
	    haven_account_create(s->store, email, TEST_PASSWORD, role, 0, "system", "test", &id));
	return id;
}

char *test_login(struct test_server *s, const char *email)
{
	char body[400];
	struct test_resp r;
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email,
	         TEST_PASSWORD);
	test_call(s, "POST", "/api/v1/auth/login", NULL, body, &r);
	ASSERT_EQ(r.status, 200);
	const char *tok = json_string_value(json_object_get(r.json, "token"));
	ASSERT(tok);
	char *copy = strdup(tok);
	test_resp_free(&r);
	return copy;
}

int64_t test_register(struct test_server *s, const char *clinician_token, const char *email,
                      int care_team_consent)
{
	struct test_resp r;
	char body[600];
	test_call(s, "POST", "/api/v1/invitations", clinician_token, NULL, &r);
	ASSERT_EQ(r.status, 201);
	const char *code = json_string_value(json_object_get(r.json, "code"));
	ASSERT(code);
	snprintf(body, sizeof(body),
	         "{\"code\":\"%s\",\"email\":\"%s\",\"password\":\"%s\","
	         "\"consents\":{\"care_team\":%s}}",
	         code, email, TEST_PASSWORD, care_team_consent ? "true" : "false");
	test_resp_free(&r);
	test_call(s, "POST", "/api/v1/auth/register", NULL, body, &r);
	ASSERT_EQ(r.status, 201);
	int64_t id = json_integer_value(json_object_get(json_object_get(r.json, "user"), "id"));
	ASSERT(id > 0);
	test_resp_free(&r);
	return id;
}

int64_t test_start_care_pair(struct test_server *s, const char *patient_email, char **ctok,
                             char **ptok)
{
	test_server_start(s, NULL);
	test_make_user(s, "clinician", "c@example.org");
	*ctok = test_login(s, "c@example.org");
	int64_t id = test_register(s, *ctok, patient_email, 1);
	*ptok = test_login(s, patient_email);
	return id;
}

struct count_arg {
	const char *table;
	int64_t n;
};

static int count_tx(struct haven_tx *tx, void *arg)
{
	struct count_arg *c = arg;
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", c->table);
	return haven_tx_query_int(tx, sql, NULL, 0, &c->n);
}

int64_t test_count(struct test_server *s, const char *table)
{
	struct count_arg c = {table, -1};
	ASSERT_OK(haven_store_read(s->store, count_tx, &c));
	return c.n;
}

struct exec_arg {
	const char *sql;
	int64_t id;
};

static int exec_tx(struct haven_tx *tx, void *arg)
{
	struct exec_arg *e = arg;
	struct haven_param p[] = {HAVEN_P_INT(e->id)};
	return haven_tx_exec(tx, e->sql, p, 1, NULL);
}

void test_exec_id(struct haven_store *store, const char *sql, int64_t id)
{
	struct exec_arg e = {sql, id};
	ASSERT_OK(haven_store_write(store, exec_tx, &e));
}

/* One chat turn; fails unless 200. The caller json_decrefs. */
json_t *test_say(struct test_server *s, const char *tok, const char *text)
{
	json_t *body = json_pack("{s:s}", "text", text);
	char *b = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	struct test_resp r;
	test_call(s, "POST", "/api/v1/chat/messages", tok, b, &r);
	free(b);
	if (r.status != 200 || !r.json)
		haven_test_fail(__FILE__, __LINE__, "chat \"%s\": %ld (%s)", text, r.status, r.body);
	json_t *j = json_incref(r.json);
	test_resp_free(&r);
	return j;
}
