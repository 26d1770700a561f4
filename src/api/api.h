/*
 * api.h: Haven's HTTP API (libmicrohttpd) and the account operations the command line
 * shares with it (creating users, exporting and erasing a patient).
 *
 *   struct haven_api_config cfg;
 *   haven_api_config_init(&cfg);              // defaults: 127.0.0.1:8080, 64 KiB bodies
 *   struct haven_api *api;
 *   if (haven_api_start(&cfg, store, master_key, &api) == 0) {
 *           ... haven_api_port(api) ...          // the bound port (useful with port 0)
 *           haven_api_stop(&api);                // finishes requests in flight, then frees
 *   }
 *
 * Ownership: the server borrows the store and the master key; both must outlive it.
 * Strings in the config are copied by haven_api_start. JSON values returned through
 * json_t ** are owned by the caller (json_decref).
 */
#ifndef HAVEN_API_H
#define HAVEN_API_H

#include <stdint.h>

#include <jansson.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "store/store.h"

struct haven_api_config {
	char host[64];            /* address to listen on, numeric IPv4 or IPv6 */
	int port;                 /* 0 picks a free port (read it with haven_api_port) */
	int threads;              /* worker threads in the pool; 0: 4 on SQLite, 16 on PostgreSQL */
	int max_connections;      /* concurrent connections; beyond, new ones are refused */
	int connection_timeout_s; /* idle connection timeout */
	int request_timeout_s;    /* to receive one request, headers and body (then closed) */
	size_t max_body;          /* request body limit in bytes (413 beyond) */
	size_t max_header;        /* per-connection memory for headers (431 beyond) */
	int64_t session_ttl_ms;   /* bearer token lifetime */
	int64_t invitation_ttl_ms;
	int login_fail_account; /* failed logins allowed per account per window */
	int login_fail_address; /* failed logins allowed per client address per window */
	int64_t login_window_ms;
	int shutdown_grace_ms; /* how long haven_api_stop waits for requests in flight */
	char locale[16];       /* the deployment's locale for crisis lines ("en-US") */
	char web_root[512];    /* static pages served at / ("" serves none); docs/web.md */
	int cookie_secure;     /* mark the session cookie Secure (behind a TLS proxy) */
};

/* Fills cfg with the defaults documented in docs/configuration.md. */
void haven_api_config_init(struct haven_api_config *cfg);
/* Sets one option by its configuration-file name ("listen", "threads", "max_body", ...).
 * Returns HAVEN_EINVAL for an unknown name or a bad value. */
int haven_api_config_set(struct haven_api_config *cfg, const char *name,
                         const char *value) HAVEN_WUR;
/* Reads a configuration file of "name = value" lines ('#' starts a comment). On a bad
 * line, HAVEN_EINVAL with "PATH:LINE: what" in err. "db" and "key_file" lines are
 * returned through db_url/key_file (each errlen/size bytes, may be NULL). */
int haven_api_config_load(struct haven_api_config *cfg, const char *path, char *db_url,
                          size_t db_url_size, char *key_file, size_t key_file_size, char *err,
                          size_t errlen) HAVEN_WUR;

struct haven_api;

int haven_api_start(const struct haven_api_config *cfg, struct haven_store *store,
                    const struct haven_master_key *mk, struct haven_api **out) HAVEN_WUR;
int haven_api_port(const struct haven_api *api);
/* Stops accepting connections, waits up to shutdown_grace_ms for requests in flight to
 * finish, stops the server and frees it. *api is set to NULL. */
void haven_api_stop(struct haven_api **api);

/* The router table, for the OpenAPI check and the authorisation matrix test. */
enum haven_role_req {
	HAVEN_ROLE_NONE, /* no token needed */
	HAVEN_ROLE_ANY,  /* any signed-in user */
	HAVEN_ROLE_PATIENT,
	HAVEN_ROLE_CLINICIAN,
	HAVEN_ROLE_ADMIN,
};
struct haven_route_info {
	const char *method;
	const char *pattern; /* full path, "{id}" for a numeric path parameter */
	enum haven_role_req role;
};
/* Returns the number of routes; *routes points into static storage. */
size_t haven_api_routes(const struct haven_route_info **routes);

/* ---- Account operations shared by the API and the command line ---- */

/* Minimum password length in bytes. */
#define HAVEN_PASSWORD_MIN 10
#define HAVEN_PASSWORD_MAX 1024

/* Checks and normalises an email (trimmed, lower-cased) into out (>= 255 bytes).
 * Returns HAVEN_EINVAL with a reason in *why. */
int haven_email_normalize(const char *in, char out[256], const char **why) HAVEN_WUR;

/* Creates a user (password hashed with argon2id) and audits it as done by actor.
 * HAVEN_ECONFLICT when the email is taken. *id receives the new id. */
int haven_account_create(struct haven_store *s, const char *email, const char *password,
                         const char *role, int64_t actor_id, const char *actor_role,
                         const char *request_id, int64_t *id) HAVEN_WUR;

/* Everything Haven holds about a patient, decrypted, as the JSON of GET /me/export.
 * Audited as patient.export by actor. HAVEN_ENOTFOUND when there is no such patient. */
int haven_patient_export(struct haven_store *s, const struct haven_master_key *mk,
                         int64_t patient_id, int64_t actor_id, const char *actor_role,
                         const char *request_id, json_t **out) HAVEN_WUR;

/* Erases a patient: destroys their data key, deletes their rows and sessions, and
 * audits it (the record keeps only ids). HAVEN_ENOTFOUND when there is no such patient. */
int haven_patient_erase(struct haven_store *s, int64_t patient_id, int64_t actor_id,
                        const char *actor_role, const char *request_id) HAVEN_WUR;

#endif
