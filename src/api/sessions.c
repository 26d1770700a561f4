/*
 * sessions.c: recent session lookups kept in memory.
 *
 * Every authenticated request resolves its token to an account. On PostgreSQL that is a
 * round trip to the database server, and on a small machine the round trip costs more
 * than the rest of a cheap request. A lookup is kept here only while the store can tell
 * that no session or account changed since it was read (haven_store_auth_epoch(): a
 * notice from PostgreSQL with every change, the store's own commits seen at once); the
 * epoch is taken before the read, so a change committed while the read was under way
 * leaves the kept entry stale from the start. On SQLite the epoch is 0 and nothing is
 * kept. An entry also lapses with its session's expiry and after KEEP_MS at most, so a
 * notice that never arrived cannot keep a lookup alive for long.
 *
 * The table is direct-mapped on the token hash (already uniform): a collision replaces
 * the older entry. Only the token's hash is kept, never the token.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_int.h"

#define SLOTS 1024
#define KEEP_MS 60000

struct slot {
	uint8_t hash[HAVEN_TOKEN_HASH_BYTES];
	uint64_t epoch; /* 0: empty */
	int64_t kept_at, expires_at;
	int64_t id, created_at;
	char role[16];
	char email[256];
	char locale[HAVEN_SESSION_LOCALE_MAX];
};

struct haven__sessions {
	pthread_mutex_t lock;
	uint64_t hits, misses;
	struct slot slot[SLOTS];
};

int haven__sessions_create(struct haven__sessions **out)
{
	struct haven__sessions *c = calloc(1, sizeof(*c));
	if (!c)
		return HAVEN_ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void haven__sessions_destroy(struct haven__sessions **pc)
{
	struct haven__sessions *c = *pc;
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	sodium_memzero(c->slot, sizeof(c->slot));
	free(c);
	*pc = NULL;
}

static struct slot *slot_of(struct haven__sessions *c, const uint8_t *hash)
{
	uint32_t i;
	memcpy(&i, hash, sizeof(i));
	return &c->slot[i % SLOTS];
}

int haven__sessions_get(struct haven__sessions *c, uint64_t epoch, const uint8_t *hash,
                        int64_t now_ms, struct haven_req *r)
{
	struct slot *s = slot_of(c, hash);
	struct slot copy;
	int hit = 0;
	pthread_mutex_lock(&c->lock);
	if (epoch && s->epoch == epoch && now_ms < s->expires_at && now_ms - s->kept_at < KEEP_MS &&
	    now_ms >= s->kept_at && !memcmp(s->hash, hash, sizeof(s->hash))) {
		copy = *s;
		hit = 1;
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	if (!hit)
		return 0;
	r->who.id = copy.id;
	r->who.created_at = copy.created_at;
	r->who.role = haven_arena_strdup(&r->arena, copy.role);
	r->who.email = haven_arena_strdup(&r->arena, copy.email);
	r->who.locale = haven_arena_strdup(&r->arena, copy.locale);
	sodium_memzero(&copy, sizeof(copy));
	return r->who.role && r->who.email && r->who.locale;
}

void haven__sessions_put(struct haven__sessions *c, uint64_t epoch, const uint8_t *hash,
                         int64_t now_ms, int64_t expires_at, const struct haven_req *r)
{
	const char *role = r->who.role, *email = r->who.email, *locale = r->who.locale;
	if (!epoch || !role || !email || !locale)
		return;
	struct slot n = {.epoch = epoch,
	                 .kept_at = now_ms,
	                 .expires_at = expires_at,
	                 .id = r->who.id,
	                 .created_at = r->who.created_at};
	memcpy(n.hash, hash, sizeof(n.hash));
	if (haven_strlcpy(n.role, role, sizeof(n.role)) >= sizeof(n.role) ||
	    haven_strlcpy(n.email, email, sizeof(n.email)) >= sizeof(n.email) ||
	    haven_strlcpy(n.locale, locale, sizeof(n.locale)) >= sizeof(n.locale))
		return; /* too long to keep here: looked up every time */
	struct slot *s = slot_of(c, hash);
	pthread_mutex_lock(&c->lock);
	*s = n;
	pthread_mutex_unlock(&c->lock);
	sodium_memzero(&n, sizeof(n));
}

void haven__sessions_stats(struct haven__sessions *c, uint64_t *hits, uint64_t *misses)
{
	pthread_mutex_lock(&c->lock);
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->lock);
}
