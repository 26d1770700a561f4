/*
 * writer.c: the write queue and writer thread both backends use for group commit
 * (store_int.h). Callers queue a request and sleep on its condition variable; the writer
 * takes up to group_max queued requests (a request flagged ALONE goes by itself) and
 * hands them to the backend's run_group, which runs them in one transaction with one
 * durable commit, then wakes every caller of the group. An asynchronous request
 * (haven_store_write_async) has no caller waiting: the writer calls its done function
 * after the group instead, and frees it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

void haven__write_req_fail(struct haven__write_req *r, int rc, const char *msg)
{
	r->rc = rc;
	haven_strlcpy(r->err, msg, sizeof(r->err));
}

static void *writer_main(void *p)
{
	struct haven__writer *w = p;
	for (;;) {
		int n = 0;
		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->work, &w->lock);
		if (!w->head) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		/* A closure that asks to be alone gets a transaction of its own. */
		if (w->head->flags & HAVEN__WRITE_ALONE) {
			w->group[n++] = w->head;
			w->head = w->head->next;
		} else {
			while (w->head && n < w->group_max && !(w->head->flags & HAVEN__WRITE_ALONE)) {
				w->group[n++] = w->head;
				w->head = w->head->next;
			}
		}
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);

		w->run_group(w->ctx, w->group, n);

		/* Waiting callers are woken under the lock; the asynchronous requests are
		 * moved to the front of the group and finished after it. */
		int nasync = 0;
		pthread_mutex_lock(&w->lock);
		for (int i = 0; i < n; i++) {
			struct haven__write_req *r = w->group[i];
			if (r->done_fn) {
				w->group[nasync++] = r;
				continue;
			}
			/* The caller frees its request as soon as it sees done, so touch it
			 * no more after this. */
			r->done = 1;
			pthread_cond_signal(&r->cond);
		}
		pthread_mutex_unlock(&w->lock);
		for (int i = 0; i < nasync; i++) {
			struct haven__write_req *r = w->group[i];
			r->done_fn(r->done_ctx, r->rc, r->rc ? (r->err[0] ? r->err : haven_strerror(r->rc)) : "");
			free(r);
		}
	}
	return NULL;
}

int haven__writer_start(struct haven__writer *w, int group_max, haven__run_group_fn run_group,
                        void *ctx)
{
	memset(w, 0, sizeof(*w));
	w->group_max = group_max > 0 ? group_max : 1;
	w->run_group = run_group;
	w->ctx = ctx;
	w->group = haven_calloc((size_t)w->group_max, sizeof(*w->group));
	if (!w->group)
		return HAVEN_ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	w->initialised = 1;
	if (pthread_create(&w->thread, NULL, writer_main, w))
		return HAVEN_ENOMEM;
	w->started = 1;
	return 0;
}

/* Appends r to the queue and wakes the writer; the caller holds w->lock. */
static int enqueue_locked(struct haven__writer *w, struct haven__write_req *r, char *err,
                          size_t errlen)
{
	if (w->stopping || !w->started) {
		snprintf(err, errlen, "the store is closing");
		return HAVEN_ECLOSED;
	}
	if (w->tail)
		w->tail->next = r;
	else
		w->head = r;
	w->tail = r;
	pthread_cond_signal(&w->work);
	return 0;
}

int haven__writer_submit(struct haven__writer *w, haven_tx_fn fn, void *arg, int flags,
                         char *err, size_t errlen)
{
	struct haven__write_req r;
	memset(&r, 0, sizeof(r));
	r.fn = fn;
	r.arg = arg;
	r.flags = flags;
	if (pthread_cond_init(&r.cond, NULL)) {
		snprintf(err, errlen, "could not create a condition variable");
		return HAVEN_ENOMEM;
	}
	pthread_mutex_lock(&w->lock);
	int rc = enqueue_locked(w, &r, err, errlen);
	if (rc) {
		pthread_mutex_unlock(&w->lock);
		pthread_cond_destroy(&r.cond);
		return rc;
	}
	while (!r.done)
		pthread_cond_wait(&r.cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	pthread_cond_destroy(&r.cond);
	if (r.rc)
		snprintf(err, errlen, "%s", r.err[0] ? r.err : haven_strerror(r.rc));
	return r.rc;
}

int haven__writer_submit_async(struct haven__writer *w, haven_tx_fn fn, void *arg,
                               haven_write_done_fn done, void *ctx, char *err, size_t errlen)
{
	struct haven__write_req *r = haven_calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory queueing a write");
		return HAVEN_ENOMEM;
	}
	r->fn = fn;
	r->arg = arg;
	r->done_fn = done;
	r->done_ctx = ctx;
	pthread_mutex_lock(&w->lock);
	int rc = enqueue_locked(w, r, err, errlen);
	pthread_mutex_unlock(&w->lock);
	if (rc)
		free(r);
	return rc;
}

void haven__thread_stop(pthread_mutex_t *lock, pthread_cond_t *cond, int *flag, pthread_t thread)
{
	pthread_mutex_lock(lock);
	*flag = 1;
	pthread_cond_signal(cond);
	pthread_mutex_unlock(lock);
	pthread_join(thread, NULL);
}

void haven__writer_stop(struct haven__writer *w)
{
	if (w->started) {
		/* The writer drains the queue before it sees stopping and exits. */
		haven__thread_stop(&w->lock, &w->work, &w->stopping, w->thread);
		w->started = 0;
	}
	if (w->initialised) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->work);
		w->initialised = 0;
	}
	free(w->group);
	w->group = NULL;
}

void haven__writer_count(struct haven_store *s, struct haven__write_req **group, int n)
{
	for (int i = 0; i < n; i++)
		haven__stat_add(group[i]->rc ? &s->write_errors : &s->writes, 1);
}
