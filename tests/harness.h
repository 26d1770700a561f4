/*
 * harness.h: Haven's tiny test harness (libuv's TEST_IMPL and ASSERT_EQ habits).
 *
 *   TEST(buf_grows) { struct haven_buf b; ...; ASSERT_EQ(b.len, 3); }
 *
 * Every TEST registers itself at start-up; the runner (tests/runner.c) runs the
 * tests whose name contains any of its arguments and ends with "N passed, N failed".
 * A failed ASSERT ends the test at once; cleanup that matters runs in TEST_CLEANUP
 * style helpers of the test's own, or is left to the process exit.
 */
#ifndef HAVEN_TEST_HARNESS_H
#define HAVEN_TEST_HARNESS_H

#include <stdint.h>
#include <string.h>

void haven_test_register(const char *name, const char *file, void (*fn)(void));
_Noreturn void haven_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A fresh path in the run's temporary directory: "<tmpdir>/<name>-<counter>". */
const char *haven_test_tmpfile(const char *name);
/* The database URL for store-backed tests: $HAVEN_TEST_DB, or a fresh SQLite file.
 * Each call returns a URL to an empty database (on PostgreSQL: a fresh schema). */
const char *haven_test_db_url(void);
/* Skip-free: a test that needs PostgreSQL runs against whatever haven_test_db_url gives. */

#define TEST(name)                                                                     \
	static void test_##name(void);                                                 \
	__attribute__((constructor)) static void test_register_##name(void)            \
	{                                                                              \
		haven_test_register(#name, __FILE__, test_##name);                     \
	}                                                                              \
	static void test_##name(void)

#define ASSERT(cond)                                                                   \
	do {                                                                           \
		if (!(cond))                                                           \
			haven_test_fail(__FILE__, __LINE__, "%s", #cond);              \
	} while (0)

#define ASSERT_EQ(a, b)                                                                \
	do {                                                                           \
		long long a_ = (long long)(a), b_ = (long long)(b);                    \
		if (a_ != b_)                                                          \
			haven_test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", \
					#a, #b, a_, b_);                               \
	} while (0)

#define ASSERT_NE(a, b)                                                                \
	do {                                                                           \
		long long a_ = (long long)(a), b_ = (long long)(b);                    \
		if (a_ == b_)                                                          \
			haven_test_fail(__FILE__, __LINE__, "%s != %s (both %lld)", #a, \
					#b, a_);                                       \
	} while (0)

#define ASSERT_OK(expr)                                                                \
	do {                                                                           \
		long long r_ = (long long)(expr);                                      \
		if (r_ != 0)                                                           \
			haven_test_fail(__FILE__, __LINE__, "%s returned %lld", #expr, \
					r_);                                           \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                            \
	do {                                                                           \
		const char *a_ = (a), *b_ = (b);                                       \
		if (!a_ || !b_ || strcmp(a_, b_))                                      \
			haven_test_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", \
					#a, #b, a_ ? a_ : "(null)",                    \
					b_ ? b_ : "(null)");                           \
	} while (0)

#define ASSERT_CONTAINS(hay, needle)                                                   \
	do {                                                                           \
		const char *h_ = (hay), *n_ = (needle);                                \
		if (!h_ || !strstr(h_, n_))                                            \
			haven_test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", \
					h_ ? h_ : "(null)", n_);                       \
	} while (0)

#define ASSERT_NEAR(a, b, eps)                                                         \
	do {                                                                           \
		double a_ = (double)(a), b_ = (double)(b);                             \
		if (a_ - b_ > (eps) || b_ - a_ > (eps))                                \
			haven_test_fail(__FILE__, __LINE__, "%s ~= %s (%g vs %g)", #a, #b, \
					a_, b_);                                       \
	} while (0)

#endif
