/*
 * runner.c: runs the registered tests. Each test runs in-process; a failed assertion
 * longjmps back here. Arguments select tests by substring of their name or file.
 * The last line printed is "N passed, N failed".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

struct test {
	const char *name, *file;
	void (*fn)(void);
};

static struct test *tests;
static size_t ntests, captests;
static jmp_buf fail_jmp;
static char tmpdir[256];
static unsigned tmp_counter;

void haven_test_register(const char *name, const char *file, void (*fn)(void))
{
	if (ntests == captests) {
		captests = captests ? captests * 2 : 64;
		tests = realloc(tests, captests * sizeof(*tests));
		if (!tests)
			abort();
	}
	tests[ntests++] = (struct test){name, file, fn};
}

void haven_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stdout, "    %s:%d: assertion failed: ", file, line);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	longjmp(fail_jmp, 1);
}

const char *haven_test_tmpfile(const char *name)
{
	static __thread char path[512];
	snprintf(path, sizeof(path), "%s/%s-%u", tmpdir, name, tmp_counter++);
	return path;
}

const char *haven_test_db_url(void)
{
	static __thread char url[600];
	const char *pg = getenv("HAVEN_TEST_PG");
	if (pg && *pg) {
		/* A fresh schema per call keeps tests independent on one server. */
		snprintf(url, sizeof(url), "%s%soptions=-csearch_path%%3Dt%u_%d", pg,
			 strchr(pg, '?') ? "&" : "?", tmp_counter++, (int)getpid());
		return url;
	}
	snprintf(url, sizeof(url), "sqlite:%s", haven_test_tmpfile("db"));
	return url;
}

static int selected(const struct test *t, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strstr(t->name, argv[i]) || strstr(t->file, argv[i]))
			return 1;
	return 0;
}

static int by_file_then_name(const void *a, const void *b)
{
	const struct test *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/haven-test-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	qsort(tests, ntests, sizeof(*tests), by_file_then_name);
	int passed = 0, failed = 0;
	const char *label = getenv("HAVEN_TEST_LABEL");
	for (size_t i = 0; i < ntests; i++) {
		if (!selected(&tests[i], argc, argv))
			continue;
		if (setjmp(fail_jmp) == 0) {
			tests[i].fn();
			passed++;
			printf("ok   %s%s%s\n", label ? label : "", label ? " " : "", tests[i].name);
		} else {
			failed++;
			printf("FAIL %s%s%s (%s)\n", label ? label : "", label ? " " : "",
			       tests[i].name, tests[i].file);
		}
	}
	if (!getenv("HAVEN_TEST_KEEP")) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
