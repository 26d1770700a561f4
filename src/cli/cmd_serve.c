/*
 * cmd_serve.c: `haven serve` runs the HTTP API until SIGTERM or SIGINT. It reads the
 * configuration (defaults < --config FILE < HAVEN_* environment < flags), opens and
 * migrates the store, loads the master key and serves; on a signal it stops accepting
 * connections, finishes the requests in flight and exits 0.
 */
#include <ctype.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "api/api.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "measures/monitor.h"

static const char usage_text[] =
    "usage: haven serve [--db URL] [--listen HOST:PORT] [--config FILE] [--key-file PATH]\n"
    "                   [--threads N] [--web DIR] [--alert-webhook URL]\n"
    "                   [--alert-escalation-webhook URL] [--alert-escalate-after SECONDS]\n"
    "                   [--alert-escalation-contact EMAIL[,EMAIL...]]\n\n"
    "Serves the HTTP API (see docs/api.md). The database is migrated at start.\n\n"
    "  --db URL          sqlite:PATH or postgresql://... (default " HAVEN_DEFAULT_DB ")\n"
    "  --listen H:P      address and port (default 127.0.0.1:8080; port 0 picks one)\n"
    "  --config FILE     a file of 'name = value' lines (docs/configuration.md)\n"
    "  --key-file PATH   the master key file (default var/haven.key, created if missing;\n"
    "                    HAVEN_MASTER_KEY=<64 hex digits> overrides it)\n"
    "  --threads N       HTTP worker threads (default 4 on SQLite, 16 on PostgreSQL)\n"
    "  --web DIR         the web pages served at / (default web; '' serves none;\n"
    "                    docs/web.md)\n"
    "  --alert-webhook URL\n"
    "                    POST alert events there, signed with HAVEN_WEBHOOK_SECRET\n"
    "                    (X-Haven-Signature: sha256=<hex HMAC-SHA256 of the body>)\n"
    "  --alert-escalation-webhook URL\n"
    "                    where escalations of unacknowledged urgent alerts go (default:\n"
    "                    the alert webhook)\n"
    "  --alert-escalate-after SECONDS\n"
    "                    escalate urgent alerts still open after this long (default 900;\n"
    "                    0 never); see docs/alerts.md\n"
    "  --alert-escalation-contact EMAIL[,EMAIL...]\n"
    "                    the clinic's escalation contacts: clinician accounts (up to 8)\n"
    "                    who see escalated alerts in their inbox and may acknowledge them,\n"
    "                    for patients whose care team named no contact of its own\n"
    "                    (PUT /api/v1/me/escalation-contacts); with or without a webhook\n\n"
    "Environment: HAVEN_DB, HAVEN_LISTEN, HAVEN_THREADS, HAVEN_KEY_FILE and HAVEN_<OPTION>\n"
    "for every configuration-file option override the file; flags override both.\n"
    "SIGTERM or SIGINT stops the server after the requests in flight finish.\n";

/* Options that may come from the environment as HAVEN_<NAME in capitals>. */
static const char *const env_options[] = {
    "listen",       "threads",        "max_connections", "connection_timeout", "max_body",
    "max_header",   "session_ttl",    "invitation_ttl",  "login_fail_account", "login_fail_address",
    "login_window", "shutdown_grace", "web_root",        "cookie_secure",      "request_timeout",
};

static int apply_env(struct haven_api_config *cfg)
{
	for (size_t i = 0; i < sizeof(env_options) / sizeof(env_options[0]); i++) {
		char var[64] = "HAVEN_";
		size_t n = strlen(var);
		for (const char *p = env_options[i]; *p && n + 1 < sizeof(var); p++)
			var[n++] = (char)toupper((unsigned char)*p);
		var[n] = '\0';
		const char *v = getenv(var);
		if (v && *v && haven_api_config_set(cfg, env_options[i], v))
			return haven_cli_fail("bad value in %s: '%s'", var, v);
	}
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	const char *db = NULL, *listen = NULL, *config = NULL, *key_file = NULL, *threads = NULL;
	const char *webhook = NULL, *esc_webhook = NULL, *esc_after = NULL, *web = NULL;
	const char *esc_contact = NULL;
	struct haven_opt opts[] = {
	    {"--db", &db, NULL},
	    {"--listen", &listen, NULL},
	    {"--config", &config, NULL},
	    {"--key-file", &key_file, NULL},
	    {"--threads", &threads, NULL},
	    {"--web", &web, NULL},
	    {"--alert-webhook", &webhook, NULL},
	    {"--alert-escalation-webhook", &esc_webhook, NULL},
	    {"--alert-escalate-after", &esc_after, NULL},
	    {"--alert-escalation-contact", &esc_contact, NULL},
	    {NULL, NULL, NULL},
	};
	struct haven_alert_delivery_config dcfg;
	struct haven_alert_dispatcher *dispatcher = NULL;
	struct haven_monitor_sweeper *sweeper = NULL;
	struct haven_api_config cfg;
	struct haven_store *store = NULL;
	struct haven_master_key *mk = NULL;
	struct haven_api *api = NULL;
	char file_db[512] = "", file_key[512] = "", err[600];
	int rc, status = 1;

	if (haven_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if ((rc = haven_cli_parse("serve", argc, argv, opts)))
		return rc;
	haven_api_config_init(&cfg);
	if (config && haven_api_config_load(&cfg, config, file_db, sizeof(file_db), file_key,
	                                    sizeof(file_key), err, sizeof(err)))
		return haven_cli_fail("%s", err);
	if (apply_env(&cfg))
		return 1;
	if (listen && haven_api_config_set(&cfg, "listen", listen))
		return haven_cli_usage_error("serve", "--listen wants HOST:PORT, not '%s'", listen);
	if (threads && haven_api_config_set(&cfg, "threads", threads))
		return haven_cli_usage_error("serve", "--threads wants 1 to 256, not '%s'",
		                             threads);
	if (web && haven_api_config_set(&cfg, "web_root", web))
		return haven_cli_usage_error("serve", "--web wants a directory path");
	haven_alert_delivery_config_init(&dcfg);
	if (!webhook)
		webhook = getenv("HAVEN_ALERT_WEBHOOK");
	if (!esc_webhook)
		esc_webhook = getenv("HAVEN_ALERT_ESCALATION_WEBHOOK");
	if (!esc_after)
		esc_after = getenv("HAVEN_ALERT_ESCALATE_AFTER");
	if (!esc_contact)
		esc_contact = getenv("HAVEN_ALERT_ESCALATION_CONTACT");
	dcfg.escalation_contacts = esc_contact && *esc_contact ? esc_contact : NULL;
	dcfg.url = webhook && *webhook ? webhook : NULL;
	dcfg.escalation_url = esc_webhook && *esc_webhook ? esc_webhook : NULL;
	dcfg.secret = getenv("HAVEN_WEBHOOK_SECRET");
	if (esc_after && *esc_after) {
		int64_t secs;
		if (haven_parse_int64(esc_after, &secs) || secs < 0 || secs > 7 * 24 * 3600)
			return haven_cli_usage_error("serve",
			                             "--alert-escalate-after wants 0 to 604800 "
			                             "seconds, not '%s'",
			                             esc_after);
		dcfg.escalate_after_ms = secs * 1000;
	}
	const char *poll = getenv("HAVEN_ALERT_POLL_MS"), *base = getenv("HAVEN_ALERT_BACKOFF_MS");
	int64_t v;
	if (poll && *poll && haven_parse_int64(poll, &v) == 0 && v >= 10 && v <= 60000)
		dcfg.poll_ms = v;
	if (base && *base && haven_parse_int64(base, &v) == 0 && v >= 10 && v <= 60000)
		dcfg.backoff_base_ms = v;
	for (const char *u = dcfg.url; u; u = u == dcfg.url ? dcfg.escalation_url : NULL)
		if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
			return haven_cli_usage_error("serve",
			                             "a webhook URL must be http:// or https://");
	if ((dcfg.url || dcfg.escalation_url) &&
	    (!dcfg.secret || strlen(dcfg.secret) < 16 || strlen(dcfg.secret) > 1024))
		return haven_cli_fail("a webhook needs HAVEN_WEBHOOK_SECRET set to 16 to 1024 "
		                      "characters");
	if (!db)
		db = getenv("HAVEN_DB");
	if (!db || !*db)
		db = file_db[0] ? file_db : HAVEN_DEFAULT_DB;
	if (!key_file && !getenv("HAVEN_KEY_FILE") && file_key[0])
		key_file = file_key;

	/* Block the stop signals before any thread starts (the store's writer, the HTTP
	 * workers): threads inherit the mask, so only the sigwait below receives them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* glibc gives busy threads malloc arenas of their own, up to eight per core, and each
	 * keeps what it freed: with 64 HTTP workers that held about 10 MiB more after a load
	 * (bench/http.sh). Four arenas are plenty for two to four cores. MALLOC_ARENA_MAX in
	 * the environment still decides when set. */
	if (!getenv("MALLOC_ARENA_MAX"))
		mallopt(M_ARENA_MAX, 4);

	if (haven_crypto_init())
		return haven_cli_fail("cannot initialise libsodium");
	if ((rc = haven_store_open(db, NULL, &store))) {
		haven_cli_fail("cannot open the database: %s", haven_store_last_error());
		goto out;
	}
	int applied = 0;
	if ((rc = haven_store_migrate(store, &applied))) {
		haven_cli_fail("cannot migrate the database: %s", haven_store_last_error());
		goto out;
	}
	if (haven_cli_master_key(key_file, store, &mk))
		goto out;

	if ((rc = haven_api_start(&cfg, store, mk, &api))) {
		haven_cli_fail("cannot listen on %s:%d: %s", cfg.host, cfg.port,
		               haven_strerror(rc));
		goto out;
	}
	if (dcfg.escalation_contacts &&
	    haven_alert_escalation_contacts_check(store, dcfg.escalation_contacts, err,
	                                          sizeof(err))) {
		haven_cli_fail("--alert-escalation-contact: %s", err);
		goto out;
	}
	if ((rc = haven_alert_dispatcher_start(&dcfg, store, &dispatcher))) {
		haven_cli_fail("cannot start alert delivery: %s", haven_strerror(rc));
		goto out;
	}
	/* The time-based monitoring rules, every sweep_minutes of the clinic's monitoring
	 * configuration (HAVEN_MONITOR_SWEEP_MS overrides it, for tests). */
	int64_t sweep_ms = 0;
	const char *sweep_env = getenv("HAVEN_MONITOR_SWEEP_MS");
	if (sweep_env && *sweep_env &&
	    (haven_parse_int64(sweep_env, &sweep_ms) || sweep_ms < 100 || sweep_ms > 86400000)) {
		haven_cli_fail("HAVEN_MONITOR_SWEEP_MS wants 100 to 86400000, not '%s'", sweep_env);
		goto out;
	}
	if ((rc = haven_monitor_sweeper_start(store, mk, sweep_ms, &sweeper))) {
		haven_cli_fail("cannot start the monitoring sweep: %s", haven_strerror(rc));
		goto out;
	}
	haven_log(HAVEN_LOG_INFO,
	          "event=alert_delivery webhook=%s escalation_webhook=%s escalation_contacts=%s "
	          "escalate_after_s=%lld",
	          dcfg.url ? "set" : "none", dcfg.escalation_url ? "set" : "none",
	          dcfg.escalation_contacts ? "set" : "none",
	          (long long)(dcfg.escalate_after_ms / 1000));
	haven_log(HAVEN_LOG_INFO, "event=listening url=http://%s%s%s:%d/ migrations_applied=%d",
	          strchr(cfg.host, ':') ? "[" : "", cfg.host, strchr(cfg.host, ':') ? "]" : "",
	          haven_api_port(api), applied);
	const char *fast = getenv("HAVEN_PWHASH_FAST");
	if (fast && !strcmp(fast, "1"))
		haven_log(HAVEN_LOG_WARN, "event=weak_password_hashing detail=\"HAVEN_PWHASH_FAST=1 "
		                          "is for tests only: new passwords get the minimum argon2id "
		                          "limits\"");
	int sig = 0;
	sigwait(&stop, &sig);
	haven_log(HAVEN_LOG_INFO, "event=stopping signal=%d", sig);
	haven_api_stop(&api);
	haven_monitor_sweeper_stop(&sweeper);
	haven_alert_dispatcher_stop(&dispatcher);
	haven_log(HAVEN_LOG_INFO, "event=stopped");
	status = 0;
out:
	haven_api_stop(&api);
	haven_monitor_sweeper_stop(&sweeper);
	haven_alert_dispatcher_stop(&dispatcher);
	haven_master_key_destroy(&mk);
	haven_store_destroy(&store);
	return status;
}
