/* test_core.c: buffers, arenas, UTF-8 and parsing helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "harness.h"

TEST(buf_append_and_limit)
{
	struct haven_buf b;
	haven_buf_init(&b, 8);
	ASSERT_OK(haven_buf_puts(&b, "abcd"));
	ASSERT_OK(haven_buf_printf(&b, "%d", 123));
	ASSERT_STR_EQ(b.data, "abcd123");
	ASSERT_EQ(haven_buf_puts(&b, "xy"), HAVEN_ELIMIT);
	ASSERT_STR_EQ(b.data, "abcd123");
	haven_buf_release(&b);
}

/* A file read whole into a buffer, past chunk boundaries, and one that does not fit. */
TEST(buf_append_file_reads_all_and_respects_max)
{
	FILE *f = tmpfile();
	ASSERT(f != NULL);
	for (int i = 0; i < 5000; i++)
		fprintf(f, "line %04d\n", i);
	rewind(f);
	struct haven_buf b;
	haven_buf_init(&b, 1u << 20);
	ASSERT_OK(haven_buf_puts(&b, ">"));
	ASSERT_OK(haven_buf_append_file(&b, f));
	ASSERT_EQ(b.len, 1 + 5000 * 10);
	ASSERT(!strncmp(b.data, ">line 0000\n", 11));
	ASSERT(!strcmp(b.data + b.len - 10, "line 4999\n"));
	haven_buf_release(&b);
	rewind(f);
	haven_buf_init(&b, 20000);
	ASSERT_EQ(haven_buf_append_file(&b, f), HAVEN_ELIMIT);
	haven_buf_release(&b);
	fclose(f);
}

TEST(arena_allocates_and_respects_max)
{
	struct haven_arena a;
	haven_arena_init(&a, 100000);
	char *s = haven_arena_printf(&a, "%s-%d", "x", 7);
	ASSERT_STR_EQ(s, "x-7");
	for (int i = 0; i < 50; i++)
		ASSERT(haven_arena_alloc(&a, 1000));
	ASSERT(haven_arena_alloc(&a, 200000) == NULL);
	haven_arena_release(&a);
}

TEST(grow_doubles_and_keeps_what_was_there)
{
	int *v = NULL;
	size_t n = 0, cap = 0;
	for (int i = 0; i < 100; i++) {
		ASSERT_OK(haven_grow(&v, &cap, n, sizeof(*v), 8));
		ASSERT(cap > n);
		v[n++] = i * 3;
	}
	ASSERT_EQ(cap, 128); /* 8, 16, 32, 64, 128 */
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(v[i], i * 3);
	/* Room to spare: nothing moves. */
	int *before = v;
	ASSERT_OK(haven_grow(&v, &cap, n, sizeof(*v), 8));
	ASSERT(v == before && cap == 128);
	free(v);
}

TEST(utf8_validation)
{
	size_t off = 99;
	ASSERT(haven_utf8_valid("h\xC3\xA9llo \xF0\x9F\x98\x80", 11, NULL));
	ASSERT(!haven_utf8_valid("ab\xC0\xAF", 4, &off)); /* overlong */
	ASSERT_EQ(off, 2);
	ASSERT(!haven_utf8_valid("\xED\xA0\x80", 3, &off)); /* surrogate */
	ASSERT(!haven_utf8_valid("\xF4\x90\x80\x80", 4, &off)); /* > U+10FFFF */
	ASSERT(!haven_utf8_valid("abc\xE2\x82", 5, &off)); /* truncated */
	ASSERT_EQ(off, 3);
}

TEST(utf8_sanitize_replaces_invalid_bytes)
{
	struct haven_buf b;
	haven_buf_init(&b, 0);
	ASSERT_OK(haven_utf8_sanitize(&b, "a\xFF" "b", 3));
	ASSERT_STR_EQ(b.data, "a\xEF\xBF\xBD" "b");
	haven_buf_release(&b);
}

TEST(parse_int64_rejects_garbage)
{
	int64_t v;
	ASSERT_OK(haven_parse_int64("-42", &v));
	ASSERT_EQ(v, -42);
	ASSERT_EQ(haven_parse_int64("12x", &v), HAVEN_EINVAL);
	ASSERT_EQ(haven_parse_int64("", &v), HAVEN_EINVAL);
	ASSERT_EQ(haven_parse_int64("99999999999999999999", &v), HAVEN_EINVAL);
}

TEST(hex_roundtrip)
{
	uint8_t in[3] = {0x00, 0xAB, 0xFF}, out[3];
	char hex[7];
	haven_hex_encode(in, 3, hex);
	ASSERT_STR_EQ(hex, "00abff");
	ASSERT_OK(haven_hex_decode(hex, out, 3));
	ASSERT(!memcmp(in, out, 3));
	ASSERT_EQ(haven_hex_decode("0g", out, 1), HAVEN_EINVAL);
}
