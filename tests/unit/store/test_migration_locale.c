/*
 * test_migration_locale.c: migration 8 on a database that has the earlier schema: a
 * users.locale that was only ever the old default 'en-US' becomes NULL (the deployment's
 * locale then applies), a locale set by hand is kept, and afterwards the column takes NULL
 * and has no default. Runs on SQLite and, with HAVEN_TEST_PG, on PostgreSQL.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "store/store_int.h"

static int exec_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_exec(tx, arg, NULL, 0, NULL);
}

struct locale_row {
	char got[3][16];
	size_t n;
};

static int locale_row(const struct haven_row *row, void *arg)
{
	struct locale_row *l = arg;
	const char *v = haven_row_text(row, 0, NULL);
	if (l->n < 3)
		haven_strlcpy(l->got[l->n++], v ? v : "(null)", sizeof(l->got[0]));
	return 0;
}

static int locales_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(tx, "SELECT locale FROM users ORDER BY id", NULL, 0, locale_row, arg);
}

TEST(store_migration_8_unsets_default_locale)
{
	struct haven_store *s;
	ASSERT_OK(haven_store_open(haven_test_db_url(), NULL, &s));
	size_t n, before = 0;
	const struct haven__migration *ms = haven__migrations(&n);
	while (before < n && ms[before].version < 8)
		before++;
	ASSERT(before < n && ms[before].version == 8);
	ASSERT_OK(haven__store_migrate_list(s, ms, before, NULL));
	ASSERT_OK(haven_store_write(s, exec_tx,
	                            "INSERT INTO users (email, role, password_hash, created_at) "
	                            "VALUES ('a@x', 'patient', 'h', 1)"));
	ASSERT_OK(haven_store_write(s, exec_tx,
	                            "INSERT INTO users (email, role, password_hash, locale, "
	                            "created_at) VALUES ('b@x', 'patient', 'h', 'en-AU', 1)"));
	int applied = 0;
	ASSERT_OK(haven_store_migrate(s, &applied));
	ASSERT(applied >= 1);
	ASSERT_OK(haven_store_write(s, exec_tx,
	                            "INSERT INTO users (email, role, password_hash, created_at) "
	                            "VALUES ('c@x', 'clinician', 'h', 1)"));
	struct locale_row l = {.n = 0};
	ASSERT_OK(haven_store_read(s, locales_tx, &l));
	ASSERT_EQ(l.n, 3);
	ASSERT_STR_EQ(l.got[0], "(null)"); /* was the default 'en-US', never chosen */
	ASSERT_STR_EQ(l.got[1], "en-AU");  /* set on purpose: kept */
	ASSERT_STR_EQ(l.got[2], "(null)"); /* no default any more */
	ASSERT(haven_store_write(s, exec_tx, "UPDATE users SET locale = '' WHERE id = 1") != 0);
	haven_store_destroy(&s);
}
