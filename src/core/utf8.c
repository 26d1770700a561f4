/* utf8.c: strict UTF-8 validation, decoding with replacement, and sanitising. */
#include "core/core.h"

size_t haven_utf8_decode(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	if (n == 0) {
		*cp = 0xFFFD;
		return 1;
	}
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t len;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2; v = c & 0x1F; min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3; v = c & 0x0F; min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4; v = c & 0x07; min = 0x10000;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	if (n < len) {
		*cp = 0xFFFD;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*cp = 0xFFFD;
		return 1;
	}
	*cp = v;
	return len;
}

int haven_utf8_valid(const char *s, size_t n, size_t *bad_offset)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		size_t l = haven_utf8_decode(s + i, n - i, &cp);
		if (cp == 0xFFFD && l == 1) {
			/* A literal U+FFFD is three bytes, so length 1 means invalid. */
			if (bad_offset)
				*bad_offset = i;
			return 0;
		}
		i += l;
	}
	return 1;
}

size_t haven_utf8_encode(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp >= 0xD800 && cp <= 0xDFFF)
		cp = 0xFFFD;
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	if (cp > 0x10FFFF)
		return haven_utf8_encode(0xFFFD, out);
	o[0] = (unsigned char)(0xF0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

int haven_utf8_sanitize(struct haven_buf *b, const char *s, size_t n)
{
	size_t i = 0, run = 0;
	while (i < n) {
		uint32_t cp;
		size_t l = (unsigned char)s[i] < 0x80 ? 1 : haven_utf8_decode(s + i, n - i, &cp);
		if (l == 1 && (unsigned char)s[i] >= 0x80) {
			int rc = haven_buf_append(b, s + run, i - run);
			if (!rc)
				rc = haven_buf_append(b, "\xEF\xBF\xBD", 3);
			if (rc)
				return rc;
			run = i + 1;
		}
		i += l;
	}
	return haven_buf_append(b, s + run, n - run);
}
