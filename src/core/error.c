/* error.c: names for haven_err values, errno conversion, and the assertion hook. */
#include <errno.h>
#include <stdlib.h>

#include "core/core.h"

const char *haven_strerror(int err)
{
	switch (err) {
	case HAVEN_OK: return "success";
	case HAVEN_ENOMEM: return "out of memory";
	case HAVEN_EINVAL: return "invalid input";
	case HAVEN_ENOTFOUND: return "not found";
	case HAVEN_ECONFLICT: return "conflict";
	case HAVEN_EIO: return "input/output error";
	case HAVEN_ECORRUPT: return "corrupt data";
	case HAVEN_EAUTH: return "authentication failed";
	case HAVEN_ELIMIT: return "limit exceeded";
	case HAVEN_EDB: return "database error";
	case HAVEN_EBUSY: return "busy";
	case HAVEN_EPERM: return "permission denied";
	case HAVEN_EUNSUPPORTED: return "not supported";
	case HAVEN_ETIMEOUT: return "timed out";
	case HAVEN_ECRYPTO: return "cryptography failure";
	case HAVEN_ECLOSED: return "shutting down";
	}
	return "unknown error";
}

int haven_err_from_errno(int e)
{
	switch (e) {
	case 0: return HAVEN_OK;
	case ENOMEM: return HAVEN_ENOMEM;
	case ENOENT: return HAVEN_ENOTFOUND;
	case EACCES: case EPERM: case EROFS: return HAVEN_EPERM;
	case EEXIST: return HAVEN_ECONFLICT;
	case EINVAL: return HAVEN_EINVAL;
	case EFBIG: case ENOSPC: case EMFILE: case ENFILE: return HAVEN_ELIMIT;
	case EAGAIN: case EBUSY: return HAVEN_EBUSY;
	case ETIMEDOUT: return HAVEN_ETIMEOUT;
	default: return HAVEN_EIO;
	}
}

void haven__assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "haven: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
	abort();
}

void *haven_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		haven__assert_fail("allocation size overflow", __FILE__, __LINE__);
	return calloc(n ? n : 1, size ? size : 1);
}

int haven_grow(void *items, size_t *cap, size_t n, size_t elem, size_t first)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : first;
	if (elem && nc > SIZE_MAX / elem)
		return HAVEN_ENOMEM;
	void **p = items;
	void *g = realloc(*p, nc * elem);
	if (!g)
		return HAVEN_ENOMEM;
	*p = g;
	*cap = nc;
	return 0;
}
