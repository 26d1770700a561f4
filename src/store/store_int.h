/*
 * store_int.h: private to src/store. The backend vtable each backend file fills in,
 * and the migration list shared by both backends.
 */
#ifndef HAVEN_STORE_INT_H
#define HAVEN_STORE_INT_H

#include "store/store.h"

struct haven__migration {
	int version;
	const char *name;
	const char *sqlite; /* one or more statements separated by ';' */
	const char *pg;
};

/* The migrations in version order. */
const struct haven__migration *haven__migrations(size_t *count);

#endif
