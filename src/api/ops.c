/*
 * ops.c: the operations endpoints, answered without a token: /healthz (the process is
 * up), /readyz (the store answers a query) and /metrics (Prometheus text format).
 * None of them reveals anything about patients.
 */
#include <stdlib.h>

#include "api/api_int.h"

void haven__h_healthz(struct haven_req *r)
{
	haven_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void haven__h_readyz(struct haven_req *r)
{
	int rc = haven_store_ping(r->api->store);
	if (rc) {
		haven_reply_error(r, 503, "not_ready", "the database does not answer (%s)",
		                  haven_strerror(rc));
		return;
	}
	haven_reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

void haven__h_metrics(struct haven_req *r)
{
	struct haven_buf b;
	haven_buf_init(&b, 1u << 20);
	int rc = haven__metrics_render(r->api, &b);
	if (rc)
		haven_reply_err(r, rc, "rendering metrics");
	else
		haven_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8",
		                 b.data ? b.data : "", b.len);
	haven_buf_release(&b);
}
