/* util.c: time, logging, number parsing and string helpers shared by every module. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

int64_t haven_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t haven_monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void haven_time_format(int64_t ms, char out[32])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[24];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

static enum haven_log_level log_level = HAVEN_LOG_INFO;
static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void haven_log_set_level(enum haven_log_level lvl) { log_level = lvl; }
void haven_log_set_file(FILE *f) { log_file = f; }

void haven_log(enum haven_log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	if (lvl < log_level)
		return;
	char ts[32], line[2048];
	haven_time_format(haven_now_ms(), ts);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	FILE *f = log_file ? log_file : stderr;
	pthread_mutex_lock(&log_lock);
	fprintf(f, "ts=%s level=%s %s\n", ts, names[lvl], line);
	fflush(f);
	pthread_mutex_unlock(&log_lock);
}

int haven_parse_int64(const char *s, int64_t *out)
{
	if (!s || !*s)
		return HAVEN_EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s)
		return HAVEN_EINVAL;
	*out = v;
	return HAVEN_OK;
}

int haven_parse_double(const char *s, double *out)
{
	if (!s || !*s)
		return HAVEN_EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v))
		return HAVEN_EINVAL;
	*out = v;
	return HAVEN_OK;
}

size_t haven_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

void haven_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int haven_hex_decode(const char *hex, uint8_t *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return HAVEN_EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return HAVEN_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return HAVEN_OK;
}
