/*
 * api_test.h: helpers for the API tests: a real server on 127.0.0.1 (port 0) over a
 * fresh database from haven_test_db_url(), and a small libcurl client.
 */
#ifndef HAVEN_TEST_API_H
#define HAVEN_TEST_API_H

#include <jansson.h>

#include "api/api.h"
#include "crypto/crypto.h"
#include "store/store.h"

struct test_server {
	struct haven_store *store;
	struct haven_master_key *mk;
	struct haven_api *api;
	struct haven_api_config cfg;
	char db_url[640];
	char base[64];
};

struct test_resp {
	long status;
	char *body; /* NUL-terminated */
	size_t len;
	char request_id[80];
	char retry_after[32];
	char content_type[96];
	json_t *json; /* parsed body, or NULL */
	char *headers; /* every header line as received (malloc'd, NUL-terminated) */
};

/* Starts a server; cfg may be NULL for defaults (4 threads). */
void test_server_start(struct test_server *s, const struct haven_api_config *cfg);
void test_server_stop(struct test_server *s);

/* Sends a request; body may be NULL. content_type NULL means application/json when a
 * body is given. Extra headers (e.g. "X-Request-Id: x", several separated by newlines)
 * may be NULL. The path is sent as written (no "/../" squashing). */
void test_http(struct test_server *s, const char *method, const char *path, const char *token,
               const char *content_type, const char *body, size_t body_len,
               const char *extra_header, struct test_resp *out);
/* test_http with a NUL-terminated JSON body. */
void test_call(struct test_server *s, const char *method, const char *path, const char *token,
               const char *json_body, struct test_resp *out);
void test_resp_free(struct test_resp *r);
/* The value of the first header called name in r (copied into out), or NULL. */
const char *test_header(const struct test_resp *r, const char *name, char *out, size_t outlen);

/* Error replies: checks the shape and returns the code ("" when not an error shape). */
const char *test_error_code(const struct test_resp *r);
const char *test_error_message(const struct test_resp *r);

/* Accounts. */
int64_t test_make_user(struct test_server *s, const char *role, const char *email);
/* Logs in (password TEST_PASSWORD); returns a malloc'd token. */
char *test_login(struct test_server *s, const char *email);
/* Registers a patient through an invitation of the clinician (token), with the
 * care_team consent as given; returns the patient id. */
int64_t test_register(struct test_server *s, const char *clinician_token, const char *email,
                      int care_team_consent);
/* Starts a server with a clinician c@example.org and one patient of theirs (care_team
 * consent granted), both logged in: *ctok and *ptok are malloc'd tokens. Returns the
 * patient id. */
int64_t test_start_care_pair(struct test_server *s, const char *patient_email, char **ctok,
                             char **ptok);
/* Sends one chat message (POST /api/v1/chat/messages) and returns the turn; fails the test
 * unless 200. The caller json_decrefs. */
json_t *test_say(struct test_server *s, const char *tok, const char *text);
/* Counts rows of a table (SELECT COUNT(*) FROM table). */
int64_t test_count(struct test_server *s, const char *table);
/* Runs sql (one '?' for id) in a write transaction of store; fails the test unless it
 * succeeds. */
void test_exec_id(struct haven_store *store, const char *sql, int64_t id);

#define TEST_PASSWORD "correct horse battery staple"

#endif
