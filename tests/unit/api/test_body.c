/*
 * test_body.c: the pieces of the API that need no server: body decoding and its
 * messages, the login throttle's windows, the router's path matching and the
 * configuration file.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "harness.h"

struct demo {
	struct haven_jv name, count, ratio, flag, opts, inner;
};
static const struct haven_field demo_inner[] = {
    {.name = "inner", .type = HAVEN_JT_BOOL, .offset = offsetof(struct demo, inner)},
    {.name = NULL},
};
static const struct haven_field demo_fields[] = {
    {.name = "name",
     .type = HAVEN_JT_STRING,
     .required = 1,
     .offset = offsetof(struct demo, name),
     .max_chars = 3,
     .min_chars = 1},
    {.name = "count",
     .type = HAVEN_JT_INT,
     .offset = offsetof(struct demo, count),
     .min = -5,
     .max = 5},
    {.name = "ratio", .type = HAVEN_JT_NUMBER, .offset = offsetof(struct demo, ratio)},
    {.name = "flag", .type = HAVEN_JT_BOOL, .offset = offsetof(struct demo, flag)},
    {.name = "opts",
     .type = HAVEN_JT_OBJECT,
     .offset = offsetof(struct demo, opts),
     .sub = demo_inner},
    {.name = NULL},
};
static const struct haven_body_schema demo_schema = {"demo body", demo_fields, sizeof(struct demo)};

static int decode(const char *body, struct demo *d, char *err, struct haven_arena *a)
{
	return haven_body_decode(&demo_schema, body, strlen(body), a, d, err, 400);
}

TEST(body_decode_valid_and_messages)
{
	struct haven_arena a;
	struct demo d;
	char err[400];
	haven_arena_init(&a, 0);
	ASSERT_OK(decode(
	    "{\"name\":\"\xc3\xa9t\xc3\xa9\",\"count\":-5,\"ratio\":1,\"opts\":{\"inner\":true}}",
	    &d, err, &a));
	ASSERT(d.name.present && d.name.len == 5);
	ASSERT_STR_EQ(d.name.s, "\xc3\xa9t\xc3\xa9"); /* three characters, five bytes */
	ASSERT_EQ(d.count.i, -5);
	ASSERT_NEAR(d.ratio.d, 1.0, 1e-12);
	ASSERT(!d.flag.present);
	ASSERT(d.inner.present && d.inner.b);

	static const struct {
		const char *body, *want;
	} bad[] = {
	    {"{\"name\":\"abcd\"}", "'name' is too long: 4 characters, at most 3"},
	    {"{\"name\":\"\"}", "'name' is too short"},
	    {"{\"name\":\"a\",\"count\":6}", "'count' must be an integer from -5 to 5"},
	    {"{\"name\":\"a\",\"opts\":{\"inner\":1}}", "'opts.inner' must be true or false"},
	    {"{\"name\":\"a\",\"opts\":[]}", "'opts' must be an object"},
	    {"{\"name\":\"a\",\"opts\":{\"x\":1}}", "unknown field 'opts.x'"},
	    {"{\"count\":1}", "missing required field 'name'"},
	    {"{\"name\":\"a\"}\n{", "malformed JSON at line 2, column 1 (byte"},
	    {"{\"name\":\"a\"", "malformed JSON at line 1"},
	    {"\"just a string\"", "malformed JSON"},
	    {"{\"name\":\"a\",\"\xff\":1}", "not valid UTF-8 at byte 13"},
	    {"", "empty"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int rc = decode(bad[i].body, &d, err, &a);
		if (rc != HAVEN_EINVAL || !strstr(err, bad[i].want))
			haven_test_fail(__FILE__, __LINE__, "case %zu: rc %d, message \"%s\"", i,
			                rc, err);
	}
	/* A null counts as absent: required fields still fail, optional ones stay unset. */
	ASSERT_OK(decode("{\"name\":\"a\",\"flag\":null}", &d, err, &a));
	ASSERT(!d.flag.present);
	haven_arena_release(&a);
}

TEST(throttle_windows)
{
	struct haven__throttle *t;
	int64_t retry = 0, now = 1000000;
	ASSERT_OK(haven__throttle_create(&t));
	for (int i = 0; i < 3; i++) {
		ASSERT_OK(haven__throttle_check(t, "account:a", 3, 60000, now, &retry));
		haven__throttle_fail(t, "account:a", 60000, now);
	}
	ASSERT_EQ(haven__throttle_check(t, "account:a", 3, 60000, now + 1000, &retry),
	          HAVEN_ELIMIT);
	ASSERT_EQ(retry, 59);
	ASSERT_OK(haven__throttle_check(t, "account:b", 3, 60000, now, &retry));
	/* The window ends: allowed again. */
	ASSERT_OK(haven__throttle_check(t, "account:a", 3, 60000, now + 60001, &retry));
	/* Many keys never fail an insert (eviction), and the table stays usable. */
	for (int i = 0; i < 20000; i++) {
		char key[32];
		snprintf(key, sizeof(key), "address:%d", i);
		haven__throttle_fail(t, key, 60000, now);
	}
	haven__throttle_fail(t, "account:z", 60000, now);
	haven__throttle_clear(t, "account:z");
	haven__throttle_destroy(&t);
	ASSERT(t == NULL);
}

TEST(router_matches_patterns)
{
	int index, has_id, mismatch;
	int64_t id;
	const struct haven_route *r = haven__route_match("GET", "/api/v1/patients/42/checkins",
	                                                 &index, &id, &has_id, &mismatch);
	ASSERT(r && has_id && id == 42);
	ASSERT_STR_EQ(r->pattern, "/api/v1/patients/{id}/checkins");
	ASSERT(!haven__route_match("GET", "/api/v1/patients/042", &index, &id, &has_id, &mismatch));
	ASSERT(!haven__route_match("GET", "/api/v1/patients/-1", &index, &id, &has_id, &mismatch));
	ASSERT(!haven__route_match("GET", "/api/v1/patients/1234567890123456789", &index, &id,
	                           &has_id, &mismatch));
	ASSERT(!haven__route_match("GET", "/api/v1/patients/", &index, &id, &has_id, &mismatch));
	ASSERT(!haven__route_match("GET", "/api/v1/me/", &index, &id, &has_id, &mismatch));
	ASSERT(!haven__route_match("PUT", "/api/v1/me", &index, &id, &has_id, &mismatch));
	ASSERT_EQ(mismatch, 1);
	ASSERT_EQ(index, -1);
}

TEST(api_config_file)
{
	struct haven_api_config cfg;
	char db[128] = "", key[128] = "", err[300] = "";
	const char *path = haven_test_tmpfile("haven.conf");
	FILE *f = fopen(path, "w");
	ASSERT(f);
	fputs("# comment\n\nlisten = [::1]:9000\nthreads=3 # trailing\ndb = sqlite:/tmp/x.db\n"
	      "key_file = /tmp/k\nsession_ttl = 3600\n",
	      f);
	fclose(f);
	haven_api_config_init(&cfg);
	ASSERT_OK(
	    haven_api_config_load(&cfg, path, db, sizeof(db), key, sizeof(key), err, sizeof(err)));
	ASSERT_STR_EQ(cfg.host, "::1");
	ASSERT_EQ(cfg.port, 9000);
	ASSERT_EQ(cfg.threads, 3);
	ASSERT_EQ(cfg.session_ttl_ms, 3600 * 1000);
	ASSERT_STR_EQ(db, "sqlite:/tmp/x.db");
	ASSERT_STR_EQ(key, "/tmp/k");
	f = fopen(path, "w");
	ASSERT(f);
	fputs("threads = 3\nthreads = lots\n", f);
	fclose(f);
	ASSERT_EQ(haven_api_config_load(&cfg, path, NULL, 0, NULL, 0, err, sizeof(err)),
	          HAVEN_EINVAL);
	ASSERT_CONTAINS(err, ":2: unknown option or bad value for 'threads'");
	ASSERT_EQ(haven_api_config_set(&cfg, "listen", "nonsense"), HAVEN_EINVAL);
	ASSERT_EQ(haven_api_config_set(&cfg, "max_body", "10"), HAVEN_EINVAL);
	ASSERT_OK(haven_api_config_set(&cfg, "listen", ":0"));
	ASSERT_STR_EQ(cfg.host, "127.0.0.1");
}
