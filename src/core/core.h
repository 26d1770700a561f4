/*
 * core.h: the small shared toolkit every Haven module builds on: one error enum,
 * growable buffers with a hard maximum, request arenas, UTF-8 validation, time,
 * logging and assertions.
 *
 * Ownership: a struct haven_buf owns its bytes; haven_buf_release() frees them.
 * An arena owns everything allocated from it; haven_arena_release() frees it all at once.
 * Functions returning `char *` from an arena never need freeing on their own.
 */
#ifndef HAVEN_CORE_H
#define HAVEN_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/banned.h"

#define HAVEN_WUR __attribute__((warn_unused_result))
#define HAVEN_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Errors: 0 is success, negative values are errors. haven_strerror() names them. */
enum haven_err {
	HAVEN_OK = 0,
	HAVEN_ENOMEM = -1,       /* allocation failed */
	HAVEN_EINVAL = -2,       /* bad input from outside */
	HAVEN_ENOTFOUND = -3,    /* no such record or file */
	HAVEN_ECONFLICT = -4,    /* uniqueness or state conflict */
	HAVEN_EIO = -5,          /* an I/O call failed */
	HAVEN_ECORRUPT = -6,     /* stored data fails its checks */
	HAVEN_EAUTH = -7,        /* authentication or decryption failed */
	HAVEN_ELIMIT = -8,       /* a size or rate limit was exceeded */
	HAVEN_EDB = -9,          /* the database reported an error */
	HAVEN_EBUSY = -10,       /* resource busy; try again */
	HAVEN_EPERM = -11,       /* not allowed */
	HAVEN_EUNSUPPORTED = -12,/* not supported by this build or backend */
	HAVEN_ETIMEOUT = -13,    /* timed out */
	HAVEN_ECRYPTO = -14,     /* the crypto library failed */
	HAVEN_ECLOSED = -15,     /* the object is shutting down */
};

const char *haven_strerror(int err);
/* Maps an errno value to a haven_err (call right after the failing system call). */
int haven_err_from_errno(int e);

/* Bugs abort; bad input never reaches these. */
#define HAVEN_ASSERT(x)                                                                       \
	do {                                                                                  \
		if (!(x))                                                                     \
			haven__assert_fail(#x, __FILE__, __LINE__);                           \
	} while (0)
_Noreturn void haven__assert_fail(const char *expr, const char *file, int line);

/* Allocation helpers that abort on overflow of size arithmetic but return NULL on OOM. */
void *haven_calloc(size_t n, size_t size);
/* Makes room for one more element in a growing array: when *n == *cap, *items (an array of
 * elem-byte elements) is reallocated to twice *cap, or to first when empty. 0, or
 * HAVEN_ENOMEM with the array unchanged. */
int haven_grow(void *items, size_t *cap, size_t n, size_t elem, size_t first) HAVEN_WUR;

/* ---- Growable buffer with a hard maximum (curl's dynbuf). ---- */
struct haven_buf {
	char *data;    /* always NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t cap;
	size_t max;    /* appends that would exceed this fail with HAVEN_ELIMIT */
};
void haven_buf_init(struct haven_buf *b, size_t max);
void haven_buf_release(struct haven_buf *b);
void haven_buf_reset(struct haven_buf *b);
int haven_buf_append(struct haven_buf *b, const void *p, size_t n) HAVEN_WUR;
int haven_buf_puts(struct haven_buf *b, const char *s) HAVEN_WUR;
int haven_buf_printf(struct haven_buf *b, const char *fmt, ...) HAVEN_PRINTF(2, 3) HAVEN_WUR;
int haven_buf_vprintf(struct haven_buf *b, const char *fmt, va_list ap) HAVEN_WUR;
/* Hands the bytes to the caller (free() them); the buffer is left empty. */
char *haven_buf_detach(struct haven_buf *b, size_t *len);
/* Appends everything f has left to read. HAVEN_ELIMIT past the buffer's maximum,
 * HAVEN_ENOMEM, or HAVEN_EIO when reading fails; f stays open either way. */
int haven_buf_append_file(struct haven_buf *b, FILE *f) HAVEN_WUR;

/* ---- Arena: many small allocations freed in one go (h2o's mem pool). ---- */
struct haven_arena_chunk;
struct haven_arena {
	struct haven_arena_chunk *head;
	size_t used_total;
	size_t max;    /* 0 = unlimited; beyond it allocations return NULL */
};
void haven_arena_init(struct haven_arena *a, size_t max);
void haven_arena_release(struct haven_arena *a);
void *haven_arena_alloc(struct haven_arena *a, size_t n);
char *haven_arena_strdup(struct haven_arena *a, const char *s);
char *haven_arena_strndup(struct haven_arena *a, const char *s, size_t n);
char *haven_arena_printf(struct haven_arena *a, const char *fmt, ...) HAVEN_PRINTF(2, 3);

/* ---- UTF-8 ---- */
/* Returns 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
 * On failure *bad_offset (if given) is the byte offset of the first invalid sequence. */
int haven_utf8_valid(const char *s, size_t n, size_t *bad_offset);
/* Decodes one code point at s (n bytes left); returns its length (>= 1) and sets *cp.
 * Invalid input yields U+FFFD and length 1. */
size_t haven_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Encodes cp into out (>= 4 bytes); returns the length. */
size_t haven_utf8_encode(uint32_t cp, char *out);
/* Copies s into b, replacing every invalid sequence with U+FFFD. */
int haven_utf8_sanitize(struct haven_buf *b, const char *s, size_t n) HAVEN_WUR;

/* ---- Time ---- */
int64_t haven_now_ms(void);          /* wall clock, Unix epoch milliseconds */
int64_t haven_monotonic_ns(void);    /* for durations */
/* Formats epoch ms as RFC 3339 UTC ("2026-11-22T15:04:05.123Z"); out >= 25 bytes. */
void haven_time_format(int64_t ms, char out[32]);

/* ---- Logging: one line per event, key=value, never clinical text. ---- */
enum haven_log_level { HAVEN_LOG_DEBUG, HAVEN_LOG_INFO, HAVEN_LOG_WARN, HAVEN_LOG_ERROR };
void haven_log_set_level(enum haven_log_level lvl);
void haven_log_set_file(FILE *f); /* default stderr */
void haven_log(enum haven_log_level lvl, const char *fmt, ...) HAVEN_PRINTF(2, 3);

/* ---- Small parsing helpers (atoi and friends are banned). ---- */
/* Parses a whole decimal int64; returns 0 on success, HAVEN_EINVAL otherwise. */
int haven_parse_int64(const char *s, int64_t *out) HAVEN_WUR;
int haven_parse_double(const char *s, double *out) HAVEN_WUR;

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t haven_strlcpy(char *dst, const char *src, size_t size);
/* Hex encoding: out must hold 2*n+1 bytes. */
void haven_hex_encode(const uint8_t *p, size_t n, char *out);
int haven_hex_decode(const char *hex, uint8_t *out, size_t n) HAVEN_WUR;

#endif
