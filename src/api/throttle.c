/*
 * throttle.c: login throttling. Failed logins are counted per key ("account:<email>",
 * "address:<ip>") in fixed windows; once a key has used its allowance, further logins
 * are refused with 429 until its window ends. The table is fixed-size (memory cannot
 * grow under a flood of random emails): when a probe finds no free slot, the entry
 * whose window ends first is evicted. State is in memory: a restart forgets it, which
 * errs toward letting people in.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

#define THROTTLE_SLOTS 8192
#define THROTTLE_PROBE 16
#define THROTTLE_KEY 280

struct slot {
	char key[THROTTLE_KEY];
	int64_t window_end_ms;
	int failures;
};

struct haven__throttle {
	pthread_mutex_t lock;
	struct slot slots[THROTTLE_SLOTS];
};

int haven__throttle_create(struct haven__throttle **out)
{
	*out = NULL;
	struct haven__throttle *t = calloc(1, sizeof(*t));
	if (!t)
		return HAVEN_ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return HAVEN_OK;
}

void haven__throttle_destroy(struct haven__throttle **pt)
{
	struct haven__throttle *t = *pt;
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
	*pt = NULL;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Finds key's live slot, or (when create) a slot for it. Caller holds the lock. */
static struct slot *find(struct haven__throttle *t, const char *key, int64_t now, int create)
{
	uint64_t h = fnv1a(key);
	struct slot *victim = NULL;
	for (int i = 0; i < THROTTLE_PROBE; i++) {
		struct slot *s = &t->slots[(h + (uint64_t)i) % THROTTLE_SLOTS];
		int live = s->key[0] && s->window_end_ms > now;
		if (live && !strcmp(s->key, key))
			return s;
		if (!live) {
			if (!victim || victim->key[0])
				victim = s;
		} else if (!victim ||
		           (victim->key[0] && s->window_end_ms < victim->window_end_ms)) {
			victim = s;
		}
	}
	if (!create)
		return NULL;
	haven_strlcpy(victim->key, key, sizeof(victim->key));
	victim->failures = 0;
	victim->window_end_ms = 0;
	return victim;
}

int haven__throttle_check(struct haven__throttle *t, const char *key, int limit, int64_t window_ms,
                          int64_t now_ms, int64_t *retry_after_s)
{
	int rc = HAVEN_OK;
	pthread_mutex_lock(&t->lock);
	struct slot *s = find(t, key, now_ms, 0);
	if (s && s->failures >= limit) {
		*retry_after_s = (s->window_end_ms - now_ms + 999) / 1000;
		if (*retry_after_s < 1)
			*retry_after_s = 1;
		rc = HAVEN_ELIMIT;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void haven__throttle_fail(struct haven__throttle *t, const char *key, int64_t window_ms,
                          int64_t now_ms)
{
	pthread_mutex_lock(&t->lock);
	struct slot *s = find(t, key, now_ms, 1);
	if (s->failures == 0)
		s->window_end_ms = now_ms + window_ms;
	s->failures++;
	pthread_mutex_unlock(&t->lock);
}

void haven__throttle_clear(struct haven__throttle *t, const char *key)
{
	pthread_mutex_lock(&t->lock);
	struct slot *s = find(t, key, haven_now_ms(), 0);
	if (s)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&t->lock);
}
