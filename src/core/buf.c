/* buf.c: growable byte buffers with a hard maximum, and request arenas. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

void haven_buf_init(struct haven_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : SIZE_MAX / 2;
}

void haven_buf_release(struct haven_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void haven_buf_reset(struct haven_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int buf_reserve(struct haven_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return HAVEN_ELIMIT;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return HAVEN_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return HAVEN_ENOMEM;
	b->data = p;
	b->cap = cap;
	return HAVEN_OK;
}

int haven_buf_append(struct haven_buf *b, const void *p, size_t n)
{
	int rc = buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return HAVEN_OK;
}

int haven_buf_puts(struct haven_buf *b, const char *s)
{
	return haven_buf_append(b, s, strlen(s));
}

int haven_buf_vprintf(struct haven_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return HAVEN_EINVAL;
	int rc = buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return HAVEN_OK;
}

int haven_buf_printf(struct haven_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = haven_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *haven_buf_detach(struct haven_buf *b, size_t *len)
{
	char *p = b->data;
	if (!p)
		p = calloc(1, 1);
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

int haven_buf_append_file(struct haven_buf *b, FILE *f)
{
	char chunk[16384];
	size_t n;
	int rc;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((rc = haven_buf_append(b, chunk, n)))
			return rc;
	return ferror(f) ? HAVEN_EIO : HAVEN_OK;
}

/* ---- arena ---- */
struct haven_arena_chunk {
	struct haven_arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

void haven_arena_init(struct haven_arena *a, size_t max)
{
	a->head = NULL;
	a->used_total = 0;
	a->max = max;
}

void haven_arena_release(struct haven_arena *a)
{
	struct haven_arena_chunk *c = a->head;
	while (c) {
		struct haven_arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	a->head = NULL;
	a->used_total = 0;
}

void *haven_arena_alloc(struct haven_arena *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + align - 1) & ~(align - 1);
	if (n == 0)
		n = align;
	if (a->max && (n > a->max || a->used_total > a->max - n))
		return NULL;
	struct haven_arena_chunk *c = a->head;
	if (!c || c->size - c->used < n) {
		size_t size = n > 8192 ? n : 8192;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	a->used_total += n;
	return p;
}

char *haven_arena_strndup(struct haven_arena *a, const char *s, size_t n)
{
	char *p = haven_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *haven_arena_strdup(struct haven_arena *a, const char *s)
{
	return haven_arena_strndup(a, s, strlen(s));
}

char *haven_arena_printf(struct haven_arena *a, const char *fmt, ...)
{
	va_list ap, cp;
	va_start(ap, fmt);
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	char *p = n < 0 ? NULL : haven_arena_alloc(a, (size_t)n + 1);
	if (p)
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
