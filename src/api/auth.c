/*
 * auth.c: accounts and sessions. Login (argon2id password check, throttled per account
 * and per client address, the same work for unknown emails), bearer-token sessions
 * (only BLAKE2b hashes of tokens are stored, with an expiry, revoked at logout),
 * registration with a clinician's invitation, GET /me and PATCH /me (a patient's own
 * locale for crisis lines), and account creation shared with `haven user add` and POST
 * /users.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api/api_int.h"
#include "dialog/dialog.h"

struct login_body {
	struct haven_jv email, password, cookie;
};
static const struct haven_field login_fields[] = {
    {.name = "email",
     .type = HAVEN_JT_STRING,
     .required = 1,
     .offset = offsetof(struct login_body, email),
     .max_chars = 254,
     .min_chars = 1},
    {.name = "password",
     .type = HAVEN_JT_STRING,
     .required = 1,
     .offset = offsetof(struct login_body, password),
     .max_chars = HAVEN_PASSWORD_MAX,
     .min_chars = 1},
    /* true from the web pages: the token goes into an HttpOnly cookie, not the body */
    {.name = "cookie", .type = HAVEN_JT_BOOL, .offset = offsetof(struct login_body, cookie)},
    {.name = NULL},
};
const struct haven_body_schema haven__login_schema = {"login body", login_fields,
                                                      sizeof(struct login_body)};

struct register_body {
	struct haven_jv code, email, password, locale, consents, care_team, sensing, research;
};
static const struct haven_field register_consent_fields[] = {
    {.name = "care_team",
     .type = HAVEN_JT_BOOL,
     .offset = offsetof(struct register_body, care_team)},
    {.name = "sensing", .type = HAVEN_JT_BOOL, .offset = offsetof(struct register_body, sensing)},
    {.name = "research", .type = HAVEN_JT_BOOL, .offset = offsetof(struct register_body, research)},
    {.name = NULL},
};
static const struct haven_field register_fields[] = {
    {.name = "code",
     .type = HAVEN_JT_STRING,
     .required = 1,
     .offset = offsetof(struct register_body, code),
     .max_chars = 128,
     .min_chars = 1},
    {.name = "email",
     .type = HAVEN_JT_STRING,
     .required = 1,
     .offset = offsetof(struct register_body, email),
     .max_chars = 254,
     .min_chars = 1},
    {.name = "password",
     .type = HAVEN_JT_STRING,
     .required = 1,
     .offset = offsetof(struct register_body, password),
     .max_chars = HAVEN_PASSWORD_MAX,
     .min_chars = 1},
    /* optional: the person's own locale for crisis lines; absent, the deployment's applies */
    {.name = "locale",
     .type = HAVEN_JT_STRING,
     .offset = offsetof(struct register_body, locale),
     .max_chars = 64},
    {.name = "consents",
     .type = HAVEN_JT_OBJECT,
     .offset = offsetof(struct register_body, consents),
     .sub = register_consent_fields},
    {.name = NULL},
};
const struct haven_body_schema haven__register_schema = {"registration body", register_fields,
                                                         sizeof(struct register_body)};

struct user_create_body {
	struct haven_jv email, password, role;
};
static const struct haven_field user_create_fields[] = {
    {.name = "email",
     .type = HAVEN_JT_STRING,
     .required = 1,
     .offset = offsetof(struct user_create_body, email),
     .max_chars = 254,
     .min_chars = 1},
    {.name = "password",
     .type = HAVEN_JT_STRING,
     .required = 1,
     .offset = offsetof(struct user_create_body, password),
     .max_chars = HAVEN_PASSWORD_MAX,
     .min_chars = 1},
    {.name = "role",
     .type = HAVEN_JT_STRING,
     .required = 1,
     .offset = offsetof(struct user_create_body, role),
     .max_chars = 16,
     .min_chars = 1},
    {.name = NULL},
};
const struct haven_body_schema haven__user_create_schema = {"user body", user_create_fields,
                                                            sizeof(struct user_create_body)};

int haven_email_normalize(const char *in, char out[256], const char **why)
{
	size_t n = strlen(in);
	while (n && isspace((unsigned char)in[n - 1]))
		n--;
	while (n && isspace((unsigned char)*in)) {
		in++;
		n--;
	}
	*why = NULL;
	if (n == 0 || n > 254) {
		*why = "must be 1 to 254 characters";
		return HAVEN_EINVAL;
	}
	const char *at = memchr(in, '@', n);
	if (!at || at == in || at == in + n - 1 || memchr(at + 1, '@', n - (size_t)(at - in) - 1)) {
		*why = "must look like name@domain";
		return HAVEN_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= ' ' || c == 0x7f || c == '"' || c == ',' || c == '<' || c == '>') {
			*why = "contains a character not allowed in an email address";
			return HAVEN_EINVAL;
		}
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	return HAVEN_OK;
}

static int password_ok(const char *pw, size_t len, const char **why)
{
	if (len < HAVEN_PASSWORD_MIN) {
		*why = "must be at least 10 characters";
		return 0;
	}
	if (len > HAVEN_PASSWORD_MAX) {
		*why = "must be at most 1024 bytes";
		return 0;
	}
	return 1;
}

static int role_ok(const char *role)
{
	return !strcmp(role, "patient") || !strcmp(role, "clinician") || !strcmp(role, "admin");
}

/* ---- Sessions ---- */

struct auth_lookup {
	const uint8_t *hash;
	struct haven_req *r;
	int found;
	int64_t expires_at, revoked, disabled;
};

static int auth_row(const struct haven_row *row, void *arg)
{
	struct auth_lookup *a = arg;
	a->r->who.id = haven_row_int(row, 0);
	const char *role = haven_row_text(row, 1, NULL);
	const char *email = haven_row_text(row, 2, NULL);
	const char *locale = haven_row_text(row, 3, NULL);
	a->r->who.role = haven_arena_strdup(&a->r->arena, role ? role : "");
	a->r->who.email = haven_arena_strdup(&a->r->arena, email ? email : "");
	a->r->who.locale = haven_arena_strdup(&a->r->arena, locale ? locale : "");
	a->r->who.created_at = haven_row_int(row, 4);
	a->expires_at = haven_row_int(row, 5);
	a->revoked = haven_row_int(row, 6);
	a->disabled = haven_row_int(row, 7);
	a->found = a->r->who.role && a->r->who.email && a->r->who.locale;
	return 0;
}

static int auth_tx(struct haven_tx *tx, void *arg)
{
	struct auth_lookup *a = arg;
	struct haven_param p[] = {HAVEN_P_BLOB(a->hash, HAVEN_TOKEN_HASH_BYTES)};
	return haven_tx_query(tx,
	                      "SELECT u.id, u.role, u.email, u.locale, u.created_at, s.expires_at, "
	                      "s.revoked, u.disabled FROM sessions s JOIN users u ON u.id = "
	                      "s.user_id WHERE s.token_hash = ?",
	                      p, 1, auth_row, a);
}

/* The value of the session cookie in a Cookie header, copied into the arena, or NULL. */
static const char *cookie_token(struct haven_req *r, const char *header)
{
	static const char name[] = HAVEN_SESSION_COOKIE "=";
	const char *p = header;
	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > sizeof(name) - 1 && !strncmp(p, name, sizeof(name) - 1)) {
			size_t vn = n - (sizeof(name) - 1);
			while (vn && p[sizeof(name) - 1 + vn - 1] == ' ')
				vn--;
			return vn ? haven_arena_strndup(&r->arena, p + sizeof(name) - 1, vn) : NULL;
		}
		p = end;
	}
	return NULL;
}

int haven__authenticate(struct haven_req *r)
{
	const char *h = r->authorization;
	r->auth_failure = NULL;
	if (!h) {
		/* No bearer header: a browser's session cookie. */
		const char *c = cookie_token(r, haven__header(r, "Cookie"));
		if (!c)
			return HAVEN_EAUTH;
		r->via_cookie = 1;
		r->session_token = c;
		h = c;
	} else {
		if (strncasecmp(h, "Bearer ", 7))
			return HAVEN_EAUTH;
		h += 7;
		while (*h == ' ')
			h++;
	}
	size_t n = strlen(h);
	if (n == 0 || n > 256)
		return HAVEN_EAUTH;
	haven_token_hash(h, n, r->who.token_hash);
	/* The epoch before the read: a change committed from here on leaves what is read
	 * stale from the start, and it is never used again. */
	uint64_t epoch = haven_store_auth_epoch(r->api->store);
	if (haven__sessions_get(r->api->sessions, epoch, r->who.token_hash, haven_now_ms(), r))
		return HAVEN_OK;
	struct auth_lookup a = {r->who.token_hash, r, 0, 0, 0, 0};
	int rc = haven_store_read_one(r->api->store, auth_tx, &a);
	int64_t now = haven_now_ms();
	if (rc == 0 && a.found) {
		if (a.revoked)
			r->auth_failure = "ended";
		else if (a.disabled)
			r->auth_failure = "disabled";
		else if (a.expires_at <= now)
			r->auth_failure = "expired";
	}
	if (rc || !a.found || r->auth_failure) {
		r->who.id = 0;
		r->who.role = "anonymous";
		r->who.email = NULL;
		return rc ? rc : HAVEN_EAUTH;
	}
	haven__sessions_put(r->api->sessions, epoch, r->who.token_hash, now, a.expires_at, r);
	return HAVEN_OK;
}

/* ---- Browser sessions: the cookie and the CSRF token ---- */

const char *haven__session_cookie(struct haven_req *r, const char *token, int64_t max_age_s)
{
	/* Secure when the server is told it sits behind TLS, or a proxy says the request
	 * came over https; a Secure cookie would never come back over plain http. */
	const char *proto = haven__header(r, "X-Forwarded-Proto");
	int secure = r->api->cfg.cookie_secure || (proto && !strcasecmp(proto, "https"));
	return haven_arena_printf(&r->arena, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
	                          HAVEN_SESSION_COOKIE, token ? token : "",
	                          (long long)(token ? max_age_s : 0), secure ? "; Secure" : "");
}

/* The CSRF token is a keyed hash of the session token: only a page that could read it
 * from the server (GET /me or the login reply, same origin only) knows it, it needs no
 * storage, and it reveals nothing about the session token itself. */
void haven__csrf_token(const char *session_token, char out[65])
{
	static const char key[] = "haven/csrf-token/v1";
	uint8_t digest[32];
	haven_blake2b(session_token, strlen(session_token), (const uint8_t *)key, sizeof(key) - 1,
	              digest);
	haven_hex_encode(digest, sizeof(digest), out);
}

int haven__csrf_ok(struct haven_req *r)
{
	if (!r->via_cookie || !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"))
		return 1;
	const char *given = haven__header(r, "X-CSRF-Token");
	char want[65];
	haven__csrf_token(r->session_token, want);
	int ok = given && strlen(given) == 64 && haven_memcmp_ct(given, want, 64) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

/* ---- Login ---- */

/* A real hash of a random password, verified for unknown emails so that they cost the
 * same as known ones. Made at the first such login, not at start-up: argon2id at its
 * interactive cost would add a noticeable delay and memory peak to every start. */
static char dummy_hash[HAVEN_PWHASH_MAX];
static int dummy_hash_rc;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_hash_make(void)
{
	char pw[33];
	haven_random_id(pw);
	dummy_hash_rc = haven_password_hash(pw, strlen(pw), dummy_hash);
	sodium_memzero(pw, sizeof(pw));
}

struct login_user {
	struct haven_arena *arena;
	int64_t id;
	char *role, *email, *hash;
	int disabled;
};

static int login_user_row(const struct haven_row *row, void *arg)
{
	struct login_user *u = arg;
	u->id = haven_row_int(row, 0);
	u->role = haven_arena_strdup(u->arena, haven_row_text(row, 1, NULL));
	u->email = haven_arena_strdup(u->arena, haven_row_text(row, 2, NULL));
	u->hash = haven_arena_strdup(u->arena, haven_row_text(row, 3, NULL));
	u->disabled = (int)haven_row_int(row, 4);
	return (u->role && u->email && u->hash) ? 0 : HAVEN_ENOMEM;
}

struct login_lookup {
	const char *email;
	struct login_user *u;
};

static int login_lookup_tx(struct haven_tx *tx, void *arg)
{
	struct login_lookup *l = arg;
	struct haven_param p[] = {HAVEN_P_TEXT(l->email)};
	return haven_tx_query(tx,
	                      "SELECT id, role, email, password_hash, disabled FROM users WHERE "
	                      "email = ?",
	                      p, 1, login_user_row, l->u);
}

struct login_write {
	struct haven_req *r;
	const struct login_user *u; /* NULL for unknown emails */
	const char *email;
	int ok;
	const char *reason;
	uint8_t token_hash[HAVEN_TOKEN_HASH_BYTES];
	int64_t now, expires;
};

static int login_write_tx(struct haven_tx *tx, void *arg)
{
	struct login_write *w = arg;
	char subject[48] = "";
	if (w->u)
		snprintf(subject, sizeof(subject), "user:%lld", (long long)w->u->id);
	if (w->ok) {
		struct haven_param p[] = {HAVEN_P_BLOB(w->token_hash, sizeof(w->token_hash)),
		                          HAVEN_P_INT(w->u->id), HAVEN_P_INT(w->now),
		                          HAVEN_P_INT(w->expires)};
		int rc = haven_tx_exec(tx,
		                       "INSERT INTO sessions (token_hash, user_id, created_at, "
		                       "expires_at) VALUES (?, ?, ?, ?)",
		                       p, 4, NULL);
		if (rc)
			return rc;
	}
	struct haven_audit_event ev = {
	    .actor_id = w->u ? w->u->id : 0,
	    .actor_role = w->u ? w->u->role : "anonymous",
	    .action = "auth.login",
	    .subject = subject,
	    .outcome =
	        w->ok ? "ok" : (w->reason && !strcmp(w->reason, "throttled") ? "denied" : "failed"),
	    .request_id = w->r->request_id,
	    .detail = w->reason,
	};
	return haven_audit_append(tx, &ev);
}

static json_t *user_json(int64_t id, const char *email, const char *role)
{
	return json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "email", email, "role", role);
}

/* A login past its throttle check: the account's lookup, the password check (argon2id)
 * and the audited write run on a slow-work thread (haven__run_then), the reply on a
 * worker. The strings it reads from the store live in its own arena: the worker may
 * still be using the request's as the thread starts. */
struct login_job {
	struct haven_req *r;
	struct login_body *b;
	struct haven_arena arena;
	struct login_user u;
	struct login_write w;
	char email[256];
	const char *acct_key, *addr_key;
	const char *stage; /* what failed, for the reply */
	int verified;
	char token[HAVEN_TOKEN_CHARS + 1];
};

static int login_work(void *arg)
{
	struct login_job *j = arg;
	struct haven_api *api = j->r->api;
	struct login_lookup l = {j->email, &j->u};
	j->stage = "looking up the account";
	int rc = haven_store_read(api->store, login_lookup_tx, &l);
	if (rc)
		return rc; /* login_reply wipes the password */
	if (j->u.id) {
		j->verified = haven_password_verify(j->u.hash, j->b->password.s,
		                                    j->b->password.len) == 0 &&
		              !j->u.disabled;
		j->w.u = &j->u;
	} else {
		/* Same cost as a real check, so timing does not tell which emails exist. */
		j->verified = 0;
		pthread_once(&dummy_once, dummy_hash_make);
		if (dummy_hash_rc == 0 &&
		    haven_password_verify(dummy_hash, j->b->password.s, j->b->password.len) == 0)
			j->verified = 0;
	}
	sodium_memzero((void *)j->b->password.s, j->b->password.len);
	if (j->verified) {
		haven_token_generate(j->token);
		haven_token_hash(j->token, strlen(j->token), j->w.token_hash);
		j->w.ok = 1;
		j->w.expires = j->w.now + api->cfg.session_ttl_ms;
	} else {
		j->w.reason = j->u.id ? (j->u.disabled ? "disabled" : "bad_password") : "unknown_email";
	}
	j->stage = "recording the login";
	return haven_store_write(api->store, login_write_tx, &j->w);
}

static void login_reply(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct login_job *j = arg;
	struct haven_api *api = r->api;
	(void)err;
	if (rc) {
		/* Also when the work never ran (the server is stopping). */
		sodium_memzero((void *)j->b->password.s, j->b->password.len);
		sodium_memzero(j->token, sizeof(j->token));
		haven_arena_release(&j->arena);
		haven_reply_err(r, rc, j->stage ? j->stage : "logging in");
		return;
	}
	r->audited = 1;
	if (!j->verified) {
		haven__throttle_fail(api->throttle, j->acct_key, api->cfg.login_window_ms, j->w.now);
		haven__throttle_fail(api->throttle, j->addr_key, api->cfg.login_window_ms, j->w.now);
		haven_arena_release(&j->arena);
		haven_reply_error(r, 401, "invalid_credentials", "the email or password is wrong");
		return;
	}
	haven__throttle_clear(api->throttle, j->acct_key);
	json_t *reply;
	if (j->b->cookie.present && j->b->cookie.b) {
		char csrf[65];
		haven__csrf_token(j->token, csrf);
		r->set_cookie = haven__session_cookie(r, j->token, api->cfg.session_ttl_ms / 1000);
		reply = json_pack("{s:s,s:o,s:o}", "csrf_token", csrf, "expires_at",
		                  haven__json_time(j->w.expires), "user",
		                  user_json(j->u.id, j->u.email, j->u.role));
		sodium_memzero(csrf, sizeof(csrf));
	} else {
		reply = json_pack("{s:s,s:o,s:o}", "token", j->token, "expires_at",
		                  haven__json_time(j->w.expires), "user",
		                  user_json(j->u.id, j->u.email, j->u.role));
	}
	sodium_memzero(j->token, sizeof(j->token));
	haven_arena_release(&j->arena);
	haven_reply_json(r, 200, reply);
}

void haven__h_login(struct haven_req *r)
{
	struct login_body *b = r->body;
	struct haven_api *api = r->api;
	struct login_job *j = haven_arena_alloc(&r->arena, sizeof(*j));
	const char *why;
	if (!j) {
		sodium_memzero((void *)b->password.s, b->password.len);
		haven_reply_err(r, HAVEN_ENOMEM, "logging in");
		return;
	}
	memset(j, 0, sizeof(*j));
	j->r = r;
	j->b = b;
	j->w = (struct login_write){.r = r, .now = haven_now_ms()};
	/* An email that cannot be valid is still a failed login, counted per address. */
	if (haven_email_normalize(b->email.s, j->email, &why))
		haven_strlcpy(j->email, "(invalid)", sizeof(j->email));
	j->acct_key = haven_arena_printf(&r->arena, "account:%s", j->email);
	j->addr_key = haven_arena_printf(&r->arena, "address:%s", r->client_addr);
	if (!j->acct_key || !j->addr_key) {
		sodium_memzero((void *)b->password.s, b->password.len);
		haven_reply_err(r, HAVEN_ENOMEM, "logging in");
		return;
	}
	int64_t retry = 0;
	if (haven__throttle_check(api->throttle, j->addr_key, api->cfg.login_fail_address,
	                          api->cfg.login_window_ms, j->w.now, &retry) ||
	    haven__throttle_check(api->throttle, j->acct_key, api->cfg.login_fail_account,
	                          api->cfg.login_window_ms, j->w.now, &retry)) {
		sodium_memzero((void *)b->password.s, b->password.len);
		j->w.reason = "throttled";
		int rc = haven_store_write(api->store, login_write_tx, &j->w);
		r->audited = rc == 0;
		snprintf(r->retry_after, sizeof(r->retry_after), "%lld", (long long)retry);
		haven_reply_error(r, 429, "too_many_attempts",
		                  "too many failed logins; retry in %lld seconds",
		                  (long long)retry);
		return;
	}
	haven_arena_init(&j->arena, 64 * 1024);
	j->u.arena = &j->arena;
	haven__run_then(r, login_work, j, login_reply);
}

/* ---- Logout ---- */

static int logout_tx(struct haven_tx *tx, void *arg)
{
	struct haven_req *r = arg;
	struct haven_param p[] = {HAVEN_P_BLOB(r->who.token_hash, HAVEN_TOKEN_HASH_BYTES)};
	int rc =
	    haven_tx_exec(tx, "UPDATE sessions SET revoked = 1 WHERE token_hash = ?", p, 1, NULL);
	if (rc)
		return rc;
	char subject[48];
	snprintf(subject, sizeof(subject), "user:%lld", (long long)r->who.id);
	return haven__audit(tx, r, "auth.logout", subject, "ok", NULL);
}

/* After the write (a deferred reply: no worker waits while the group commits). */
static void logged_out(struct haven_req *r, void *arg, int rc, const char *err)
{
	(void)arg;
	(void)err;
	if (rc) {
		haven_reply_err(r, rc, "ending the session");
		return;
	}
	/* Whatever the client was, the browser forgets the cookie and anything cached. */
	r->set_cookie = haven__session_cookie(r, NULL, 0);
	r->clear_site_data = 1;
	haven_reply_empty(r, 204);
}

void haven__h_logout(struct haven_req *r)
{
	haven__write_then(r, logout_tx, r, logged_out);
}

/* ---- GET /me, PATCH /me ---- */

/* A locale from a request body, checked against the crisis lines file: 0 with out set, or
 * the error reply already sent. */
static int locale_from_body(struct haven_req *r, const char *in, char out[HAVEN_LOCALE_MAX])
{
	const char *why;
	char err[512];
	int rc = haven_locale_check(in, out, &why, err, sizeof(err));
	if (rc && why)
		haven_reply_error(r, 400, "invalid_body", "field 'locale' %s", why);
	else if (rc) {
		haven_log(HAVEN_LOG_ERROR, "event=crisis_lines_unreadable reason=\"%s\"", err);
		haven_reply_err(r, rc, "checking the locale");
	}
	return rc;
}

struct me_locale {
	struct haven_req *r;
	const char *locale; /* NULL: unset */
};

static int me_locale_tx(struct haven_tx *tx, void *arg)
{
	struct me_locale *m = arg;
	struct haven_param p[] = {m->locale ? HAVEN_P_TEXT(m->locale) : HAVEN_P_NULL,
	                          HAVEN_P_INT(m->r->who.id)};
	int rc = haven_tx_exec(tx, "UPDATE users SET locale = ? WHERE id = ?", p, 2, NULL);
	if (rc)
		return rc;
	char subject[48], detail[48];
	snprintf(subject, sizeof(subject), "user:%lld", (long long)m->r->who.id);
	snprintf(detail, sizeof(detail), "locale=%s", m->locale ? m->locale : "(unset)");
	return haven__audit(tx, m->r, "user.update", subject, "ok", detail);
}

/* PATCH /me {"locale": "en-GB"} sets the patient's own locale for crisis lines;
 * {"locale": null} unsets it, so that the deployment's applies again. Replies as GET /me. */
static int me_update(struct haven_req *r)
{
	static const char *const allowed[] = {"locale", NULL};
	json_t *body = haven__body_object(r, "account body", allowed);
	if (!body)
		return -1;
	json_t *v = json_object_get(body, "locale");
	char locale[HAVEN_LOCALE_MAX] = "";
	int rc = 0;
	if (!v) {
		haven_reply_error(r, 400, "invalid_body", "missing field 'locale' in account body");
		rc = -1;
	} else if (!json_is_null(v) && !json_is_string(v)) {
		haven_reply_error(r, 400, "invalid_body",
		                  "field 'locale' must be a string, or null to unset it");
		rc = -1;
	} else if (json_is_string(v) && locale_from_body(r, json_string_value(v), locale)) {
		rc = -1;
	}
	json_decref(body);
	if (rc)
		return rc;
	struct me_locale m = {r, locale[0] ? locale : NULL};
	if ((rc = haven_store_write(r->api->store, me_locale_tx, &m))) {
		haven_reply_err(r, rc, "storing the locale");
		return rc;
	}
	r->audited = 1;
	r->who.locale = haven_arena_strdup(&r->arena, locale);
	if (!r->who.locale) {
		haven_reply_err(r, HAVEN_ENOMEM, "storing the locale");
		return HAVEN_ENOMEM;
	}
	return 0;
}

/* GET /me is answered from the session lookup that authenticated the request: no second
 * query. "locale" is the locale in effect for crisis lines (the patient's own, else the
 * deployment's, else en-US) and "locale_source" says which: "patient" or "deployment".
 * PATCH /me (patients) goes through the same handler, so that the route table needs no
 * new entry point, and replies with the account as changed. */
void haven__h_me(struct haven_req *r)
{
	if (!strcmp(r->method, "PATCH") && me_update(r))
		return;
	int own = r->who.locale && *r->who.locale;
	const char *locale = haven_locale_effective(r->who.locale, r->api->cfg.locale);
	json_t *me = json_pack("{s:I,s:s,s:s,s:s,s:s,s:o}", "id", (json_int_t)r->who.id, "email",
	                       r->who.email, "role", r->who.role, "locale", locale,
	                       "locale_source", own ? "patient" : "deployment", "created_at",
	                       haven__json_time(r->who.created_at));
	if (me && r->via_cookie) {
		/* The page needs the CSRF token again after a reload; only same-origin script
		 * can read this reply. */
		char csrf[65];
		haven__csrf_token(r->session_token, csrf);
		json_object_set_new(me, "csrf_token", json_string(csrf));
		sodium_memzero(csrf, sizeof(csrf));
	}
	haven_reply_json(r, 200, me);
}

/* ---- Creating accounts ---- */

struct create_user {
	const char *email, *role, *hash;
	const char *locale; /* NULL: unset, the deployment's applies */
	int64_t actor_id;
	const char *actor_role, *request_id;
	int64_t id;
	/* registration */
	const uint8_t *code_hash;
	int consent_care_team, consent_sensing, consent_research;
	int invitation_bad;
};

static int insert_user(struct haven_tx *tx, struct create_user *c)
{
	struct haven_param p[] = {HAVEN_P_TEXT(c->email), HAVEN_P_TEXT(c->role),
	                          HAVEN_P_TEXT(c->hash),
	                          c->locale ? HAVEN_P_TEXT(c->locale) : HAVEN_P_NULL,
	                          HAVEN_P_INT(haven_now_ms())};
	return haven_tx_query_int(tx,
	                          "INSERT INTO users (email, role, password_hash, locale, "
	                          "created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
	                          p, 5, &c->id);
}

static int create_user_tx(struct haven_tx *tx, void *arg)
{
	struct create_user *c = arg;
	int rc = insert_user(tx, c);
	if (rc)
		return rc;
	char subject[48], detail[48];
	snprintf(subject, sizeof(subject), "user:%lld", (long long)c->id);
	snprintf(detail, sizeof(detail), "role=%s", c->role);
	struct haven_audit_event ev = {c->actor_id, c->actor_role, "user.create", subject,
	                               "ok",        c->request_id, detail};
	return haven_audit_append(tx, &ev);
}

int haven_account_create(struct haven_store *s, const char *email, const char *password,
                         const char *role, int64_t actor_id, const char *actor_role,
                         const char *request_id, int64_t *id)
{
	char norm[256], hash[HAVEN_PWHASH_MAX];
	const char *why;
	int rc;
	*id = 0;
	if (!role_ok(role) || haven_email_normalize(email, norm, &why) ||
	    !password_ok(password, strlen(password), &why))
		return HAVEN_EINVAL;
	if ((rc = haven_password_hash(password, strlen(password), hash)))
		return rc;
	struct create_user c = {.email = norm,
	                        .role = role,
	                        .hash = hash,
	                        .actor_id = actor_id,
	                        .actor_role = actor_role,
	                        .request_id = request_id};
	rc = haven_store_write(s, create_user_tx, &c);
	if (rc == 0)
		*id = c.id;
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

void haven__h_users_create(struct haven_req *r)
{
	struct user_create_body *b = r->body;
	char norm[256];
	const char *why;
	if (!role_ok(b->role.s)) {
		haven_reply_error(r, 400, "invalid_body",
		                  "field 'role' must be one of patient, clinician, admin");
		return;
	}
	if (haven_email_normalize(b->email.s, norm, &why)) {
		haven_reply_error(r, 400, "invalid_body", "field 'email' %s", why);
		return;
	}
	if (!password_ok(b->password.s, b->password.len, &why)) {
		haven_reply_error(r, 400, "invalid_body", "field 'password' %s", why);
		return;
	}
	int64_t id;
	int rc = haven_account_create(r->api->store, norm, b->password.s, b->role.s, r->who.id,
	                              r->who.role, r->request_id, &id);
	sodium_memzero((void *)b->password.s, b->password.len);
	if (rc == HAVEN_ECONFLICT) {
		haven_reply_error(r, 409, "email_taken", "an account with this email exists");
		return;
	}
	if (rc) {
		haven_reply_err(r, rc, "creating the user");
		return;
	}
	haven_reply_json(r, 201, user_json(id, norm, b->role.s));
}

struct users_list {
	json_t *arr;
};

static int users_row(const struct haven_row *row, void *arg)
{
	struct users_list *l = arg;
	json_t *u = json_pack("{s:I,s:s,s:s,s:b,s:o}", "id", (json_int_t)haven_row_int(row, 0),
	                      "email", haven_row_text(row, 1, NULL), "role",
	                      haven_row_text(row, 2, NULL), "disabled", (int)haven_row_int(row, 3),
	                      "created_at", haven__json_time(haven_row_int(row, 4)));
	return u && json_array_append_new(l->arr, u) == 0 ? 0 : HAVEN_ENOMEM;
}

static int users_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(tx,
	                      "SELECT id, email, role, disabled, created_at FROM users ORDER BY id",
	                      NULL, 0, users_row, arg);
}

void haven__h_users_list(struct haven_req *r)
{
	struct users_list l = {json_array()};
	int rc = l.arr ? haven_store_read(r->api->store, users_tx, &l) : HAVEN_ENOMEM;
	if (rc) {
		json_decref(l.arr);
		haven_reply_err(r, rc, "listing users");
		return;
	}
	haven_reply_json(r, 200, json_pack("{s:o}", "users", l.arr));
}

/* ---- Registration ---- */

static int add_consent(struct haven_tx *tx, int64_t patient, const char *scope, int granted,
                       int64_t version, int64_t now)
{
	struct haven_param p[] = {HAVEN_P_INT(patient), HAVEN_P_TEXT(scope), HAVEN_P_INT(granted),
	                          HAVEN_P_INT(version), HAVEN_P_INT(now)};
	return haven_tx_exec(tx,
	                     "INSERT INTO consents (patient_id, scope, granted, document_version, "
	                     "at) VALUES (?, ?, ?, ?, ?)",
	                     p, 5, NULL);
}

static int register_tx(struct haven_tx *tx, void *arg)
{
	struct create_user *c = arg;
	int64_t now = haven_now_ms(), clinician;
	struct haven_param pc[] = {HAVEN_P_BLOB(c->code_hash, HAVEN_TOKEN_HASH_BYTES),
	                           HAVEN_P_INT(now)};
	int rc = haven_tx_query_int(tx,
	                            "SELECT clinician_id FROM invitations WHERE code_hash = ? AND "
	                            "used_at IS NULL AND expires_at > ?",
	                            pc, 2, &clinician);
	if (rc == HAVEN_ENOTFOUND) {
		c->invitation_bad = 1;
		struct haven_audit_event ev = {0,        "anonymous",   "auth.register",     "",
		                               "denied", c->request_id, "invalid_invitation"};
		return haven_audit_append(tx, &ev);
	}
	if (rc)
		return rc;
	if ((rc = insert_user(tx, c)))
		return rc;
	struct haven_param pu[] = {HAVEN_P_INT(c->id), HAVEN_P_INT(now),
	                           HAVEN_P_BLOB(c->code_hash, HAVEN_TOKEN_HASH_BYTES)};
	if ((rc = haven_tx_exec(tx,
	                        "UPDATE invitations SET used_by = ?, used_at = ? WHERE "
	                        "code_hash = ?",
	                        pu, 3, NULL)))
		return rc;
	struct haven_param pt[] = {HAVEN_P_INT(c->id), HAVEN_P_INT(clinician), HAVEN_P_INT(now)};
	if ((rc = haven_tx_exec(tx,
	                        "INSERT INTO care_team (patient_id, clinician_id, created_at) "
	                        "VALUES (?, ?, ?)",
	                        pt, 3, NULL)))
		return rc;
	int64_t version;
	if ((rc = haven__consent_version(tx, &version)))
		return rc;
	if ((rc = add_consent(tx, c->id, "care_team", c->consent_care_team, version, now)) ||
	    (rc = add_consent(tx, c->id, "sensing", c->consent_sensing, version, now)) ||
	    (rc = add_consent(tx, c->id, "research", c->consent_research, version, now)))
		return rc;
	char subject[48], detail[64];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)c->id);
	snprintf(detail, sizeof(detail), "clinician=%lld", (long long)clinician);
	struct haven_audit_event ev = {c->id, "patient",     "auth.register", subject,
	                               "ok",  c->request_id, detail};
	return haven_audit_append(tx, &ev);
}

/* A registration past its checks: the password hash (argon2id) and the write run on a
 * slow-work thread (haven__run_then), as a login's do: the endpoint is open to anyone
 * with an invitation code, and must not let them hold the HTTP workers. */
struct register_job {
	struct register_body *b;
	struct haven_store *store;
	char norm[256], hash[HAVEN_PWHASH_MAX], locale[HAVEN_LOCALE_MAX];
	uint8_t code_hash[HAVEN_TOKEN_HASH_BYTES];
	struct create_user c;
	const char *stage;
};

static int register_work(void *arg)
{
	struct register_job *j = arg;
	j->stage = "hashing the password";
	int rc = haven_password_hash(j->b->password.s, j->b->password.len, j->hash);
	sodium_memzero((void *)j->b->password.s, j->b->password.len);
	if (rc)
		return rc;
	j->stage = "registering";
	rc = haven_store_write(j->store, register_tx, &j->c);
	sodium_memzero(j->hash, sizeof(j->hash));
	return rc;
}

static void register_reply(struct haven_req *r, void *arg, int rc, const char *err)
{
	struct register_job *j = arg;
	(void)err;
	/* Also when the work never ran (the server is stopping). */
	sodium_memzero((void *)j->b->password.s, j->b->password.len);
	if (rc == HAVEN_ECONFLICT) {
		haven_reply_error(r, 409, "email_taken", "an account with this email exists");
		return;
	}
	if (rc) {
		haven_reply_err(r, rc, j->stage ? j->stage : "registering");
		return;
	}
	if (j->c.invitation_bad) {
		r->audited = 1;
		haven_reply_error(r, 403, "invalid_invitation",
		                  "the invitation code is unknown, used or expired");
		return;
	}
	haven_reply_json(r, 201,
	                 json_pack("{s:o}", "user", user_json(j->c.id, j->norm, "patient")));
}

void haven__h_register(struct haven_req *r)
{
	struct register_body *b = r->body;
	struct register_job *j = haven_arena_alloc(&r->arena, sizeof(*j));
	const char *why;
	if (!j) {
		sodium_memzero((void *)b->password.s, b->password.len);
		haven_reply_err(r, HAVEN_ENOMEM, "registering");
		return;
	}
	memset(j, 0, sizeof(*j));
	j->b = b;
	j->store = r->api->store;
	if (haven_email_normalize(b->email.s, j->norm, &why)) {
		sodium_memzero((void *)b->password.s, b->password.len);
		haven_reply_error(r, 400, "invalid_body", "field 'email' %s", why);
		return;
	}
	if (!password_ok(b->password.s, b->password.len, &why)) {
		sodium_memzero((void *)b->password.s, b->password.len);
		haven_reply_error(r, 400, "invalid_body", "field 'password' %s", why);
		return;
	}
	if (b->locale.present && locale_from_body(r, b->locale.s, j->locale)) {
		sodium_memzero((void *)b->password.s, b->password.len);
		return;
	}
	haven_token_hash(b->code.s, b->code.len, j->code_hash);
	j->c = (struct create_user){.email = j->norm,
	                            .role = "patient",
	                            .hash = j->hash,
	                            .locale = j->locale[0] ? j->locale : NULL,
	                            .request_id = r->request_id,
	                            .code_hash = j->code_hash,
	                            .consent_care_team = b->care_team.present && b->care_team.b,
	                            .consent_sensing = b->sensing.present && b->sensing.b,
	                            .consent_research = b->research.present && b->research.b};
	haven__run_then(r, register_work, j, register_reply);
}
