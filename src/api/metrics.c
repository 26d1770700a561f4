/*
 * metrics.c: request counters by route and status, a latency histogram, and the
 * Prometheus text rendering of GET /metrics (with store statistics and uptime).
 * Counters are atomics, so observing a request takes no lock.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "alerts/alerts.h"
#include "api/api_int.h"

/* The statuses the server gives; anything else is counted under "other". */
static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405,
                               409, 413, 415, 429, 431, 500, 503, 0};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

static const double buckets_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                   0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
#define NBUCKETS (sizeof(buckets_s) / sizeof(buckets_s[0]))

struct haven__metrics {
	size_t nroutes;        /* plus one slot for unmatched requests */
	atomic_ullong *counts; /* [(nroutes + 1) * NSTATUS] */
	atomic_ullong buckets[NBUCKETS + 1];
	atomic_ullong sum_ns;
	atomic_ullong total;
};

int haven__metrics_create(size_t nroutes, struct haven__metrics **out)
{
	*out = NULL;
	struct haven__metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return HAVEN_ENOMEM;
	m->nroutes = nroutes;
	m->counts = haven_calloc((nroutes + 1) * NSTATUS, sizeof(*m->counts));
	if (!m->counts) {
		free(m);
		return HAVEN_ENOMEM;
	}
	*out = m;
	return HAVEN_OK;
}

void haven__metrics_destroy(struct haven__metrics **pm)
{
	struct haven__metrics *m = *pm;
	if (!m)
		return;
	free(m->counts);
	free(m);
	*pm = NULL;
}

static size_t status_slot(int status)
{
	for (size_t i = 0; i + 1 < NSTATUS; i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

void haven__metrics_observe(struct haven__metrics *m, int route_index, int status,
                            int64_t duration_ns)
{
	size_t route = route_index < 0 ? m->nroutes : (size_t)route_index;
	atomic_fetch_add(&m->counts[route * NSTATUS + status_slot(status)], 1);
	double s = (double)duration_ns / 1e9;
	size_t b = 0;
	while (b < NBUCKETS && s > buckets_s[b])
		b++;
	atomic_fetch_add(&m->buckets[b], 1);
	atomic_fetch_add(&m->sum_ns, (unsigned long long)(duration_ns > 0 ? duration_ns : 0));
	atomic_fetch_add(&m->total, 1);
}

int haven__metrics_render(struct haven_api *api, struct haven_buf *out)
{
	struct haven__metrics *m = api->metrics;
	size_t nroutes;
	const struct haven_route *routes = haven__routes(&nroutes);
	int rc = 0;

	rc |= haven_buf_puts(out, "# HELP haven_http_requests_total HTTP requests by route "
	                          "and status.\n# TYPE haven_http_requests_total counter\n");
	for (size_t r = 0; r <= m->nroutes; r++) {
		for (size_t s = 0; s < NSTATUS; s++) {
			unsigned long long v = atomic_load(&m->counts[r * NSTATUS + s]);
			if (!v)
				continue;
			char status[8];
			if (statuses[s])
				snprintf(status, sizeof(status), "%d", statuses[s]);
			else
				snprintf(status, sizeof(status), "other");
			rc |= haven_buf_printf(
			    out,
			    "haven_http_requests_total{method=\"%s\",route=\"%s\","
			    "status=\"%s\"} %llu\n",
			    r < nroutes ? routes[r].method : "",
			    r < nroutes ? routes[r].pattern : "(unmatched)", status, v);
		}
	}
	rc |= haven_buf_puts(out, "# HELP haven_http_request_duration_seconds Time from "
	                          "request headers to reply sent.\n"
	                          "# TYPE haven_http_request_duration_seconds histogram\n");
	unsigned long long cum = 0;
	for (size_t b = 0; b < NBUCKETS; b++) {
		cum += atomic_load(&m->buckets[b]);
		rc |= haven_buf_printf(
		    out, "haven_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
		    buckets_s[b], cum);
	}
	cum += atomic_load(&m->buckets[NBUCKETS]);
	rc |= haven_buf_printf(out,
	                       "haven_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	                       "haven_http_request_duration_seconds_sum %.6f\n"
	                       "haven_http_request_duration_seconds_count %llu\n",
	                       cum, (double)atomic_load(&m->sum_ns) / 1e9, atomic_load(&m->total));

	struct haven_store_stats st;
	haven_store_stats(api->store, &st);
	rc |= haven_buf_printf(
	    out,
	    "# HELP haven_store_writes_total Write closures committed.\n"
	    "# TYPE haven_store_writes_total counter\nhaven_store_writes_total %llu\n"
	    "# HELP haven_store_transactions_total Group transactions committed.\n"
	    "# TYPE haven_store_transactions_total counter\n"
	    "haven_store_transactions_total %llu\n"
	    "# HELP haven_store_write_errors_total Write closures that failed.\n"
	    "# TYPE haven_store_write_errors_total counter\n"
	    "haven_store_write_errors_total %llu\n"
	    "# HELP haven_store_reads_total Read transactions.\n"
	    "# TYPE haven_store_reads_total counter\nhaven_store_reads_total %llu\n"
	    "# HELP haven_store_checkpoints_total SQLite WAL checkpoints, by who ran them (the "
	    "checkpoint thread, or the writer when the WAL grew past 64 MiB).\n"
	    "# TYPE haven_store_checkpoints_total counter\n"
	    "haven_store_checkpoints_total{by=\"thread\"} %llu\n"
	    "haven_store_checkpoints_total{by=\"writer\"} %llu\n",
	    (unsigned long long)st.writes, (unsigned long long)st.transactions,
	    (unsigned long long)st.write_errors, (unsigned long long)st.reads,
	    (unsigned long long)st.checkpoints, (unsigned long long)st.writer_checkpoints);
	uint64_t hits, misses;
	haven__sessions_stats(api->sessions, &hits, &misses);
	rc |= haven_buf_printf(
	    out,
	    "# HELP haven_session_lookups_total Session lookups, by where the answer came from "
	    "(memory while the store can tell nothing changed, else the database).\n"
	    "# TYPE haven_session_lookups_total counter\n"
	    "haven_session_lookups_total{from=\"memory\"} %llu\n"
	    "haven_session_lookups_total{from=\"database\"} %llu\n"
	    "# HELP haven_session_cache_current 1 while session lookups may be kept in memory.\n"
	    "# TYPE haven_session_cache_current gauge\nhaven_session_cache_current %d\n",
	    (unsigned long long)hits, (unsigned long long)misses,
	    haven_store_auth_epoch(api->store) != 0);
	struct haven_alert_stats as;
	if (haven_alert_stats(api->store, &as) == 0)
		rc |= haven_buf_printf(
		    out,
		    "# HELP haven_alert_outbox_pending Alert webhook events not yet delivered.\n"
		    "# TYPE haven_alert_outbox_pending gauge\nhaven_alert_outbox_pending %lld\n"
		    "# HELP haven_alert_outbox_oldest_pending_seconds Age of the oldest "
		    "undelivered event.\n# TYPE haven_alert_outbox_oldest_pending_seconds gauge\n"
		    "haven_alert_outbox_oldest_pending_seconds %.3f\n"
		    "# HELP haven_alerts_open_urgent Urgent alerts not yet acknowledged.\n"
		    "# TYPE haven_alerts_open_urgent gauge\nhaven_alerts_open_urgent %lld\n",
		    (long long)as.pending, (double)as.oldest_pending_ms / 1000.0,
		    (long long)as.open_urgent);
	rc |= haven_buf_printf(out,
	                       "# HELP haven_http_requests_timed_out_total Connections closed for "
	                       "taking longer than request_timeout to send a request.\n"
	                       "# TYPE haven_http_requests_timed_out_total counter\n"
	                       "haven_http_requests_timed_out_total %llu\n",
	                       (unsigned long long)atomic_load(&api->requests_timed_out));
	rc |= haven_buf_printf(out,
	                       "# HELP haven_uptime_seconds Seconds since the server started.\n"
	                       "# TYPE haven_uptime_seconds gauge\nhaven_uptime_seconds %.3f\n"
	                       "# HELP haven_http_requests_in_flight Requests being handled.\n"
	                       "# TYPE haven_http_requests_in_flight gauge\n"
	                       "haven_http_requests_in_flight %d\n"
	                       "# HELP haven_http_workers HTTP worker threads (the threads option).\n"
	                       "# TYPE haven_http_workers gauge\nhaven_http_workers %d\n",
	                       (double)(haven_now_ms() - api->started_ms) / 1000.0,
	                       atomic_load(&api->in_flight), api->cfg.threads);
	return rc ? HAVEN_ELIMIT : HAVEN_OK;
}
