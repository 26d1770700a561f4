/*
 * cmd_monitor.c: `haven monitor` runs the time-based monitoring rules once (what the
 * sweep thread of `haven serve` does every sweep_minutes), for cron or tests, and
 * exports training examples for the deterioration-risk model from the clinic's own
 * data (patients who grant the research consent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "measures/monitor.h"

static const char usage_text[] =
    "usage: haven monitor --once [--db URL] [--key-file PATH] [--now TIME]\n"
    "       haven monitor --export-training FILE [--db URL] [--key-file PATH]\n\n"
    "--once runs the time-based monitoring rules (disengagement, deterioration risk)\n"
    "for every active patient, as the sweep thread of 'haven serve' does, and prints\n"
    "{\"patients\", \"raised\", \"errors\"} as JSON. Alerts are raised and audited as the\n"
    "server would. --now (RFC 3339 or epoch milliseconds) judges as of another time.\n\n"
    "--export-training writes one JSON line per PHQ-9 with 28 days of follow-up, of the\n"
    "patients who grant the research consent: the risk features then and whether it\n"
    "was followed by a reliable deterioration (the input of 'haven train --task\n"
    "deterioration'). No ids, dates or text are written. Audited per patient.\n\n"
    "  --db URL          sqlite:PATH or postgresql://... (default " HAVEN_DEFAULT_DB ")\n"
    "  --key-file PATH   the master key file (default var/haven.key; HAVEN_MASTER_KEY\n"
    "                    overrides it)\n";

/* Epoch ms from "1795608000000" or "2026-11-25T12:00:00Z" (UTC only). */
static int parse_now(const char *s, int64_t *out)
{
	if (!haven_parse_int64(s, out))
		return *out > 0 ? 0 : -1;
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	time_t t = timegm(&tm);
	if (t < 0)
		return -1;
	*out = (int64_t)t * 1000;
	return 0;
}

int cmd_monitor(int argc, char **argv)
{
	const char *db = NULL, *key_file = NULL, *now_s = NULL, *export_path = NULL;
	int once = 0;
	struct haven_opt opts[] = {{"--db", &db, NULL},
	                           {"--key-file", &key_file, NULL},
	                           {"--now", &now_s, NULL},
	                           {"--once", NULL, &once},
	                           {"--export-training", &export_path, NULL},
	                           {NULL, NULL, NULL}};
	struct haven_store *store = NULL;
	struct haven_master_key *mk = NULL;
	int rc, status = 1;
	int64_t now = haven_now_ms();

	if (haven_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if ((rc = haven_cli_parse("monitor", argc, argv, opts)))
		return rc;
	if (once == !!export_path)
		return haven_cli_usage_error("monitor",
		                             "give one of --once or --export-training FILE");
	if (now_s && parse_now(now_s, &now))
		return haven_cli_usage_error("monitor",
		                             "--now wants epoch milliseconds or "
		                             "YYYY-MM-DDTHH:MM:SSZ, not '%s'",
		                             now_s);
	if (haven_cli_open_store(db, &store))
		goto out;
	if (haven_cli_master_key(key_file, store, &mk))
		goto out;
	if (once) {
		struct haven_monitor_sweep_stats st;
		if ((rc = haven_monitor_sweep(store, mk, now, &st))) {
			haven_cli_fail("the monitoring sweep failed: %s", haven_strerror(rc));
			goto out;
		}
		printf("{\"patients\": %lld, \"raised\": %lld, \"errors\": %lld}\n",
		       (long long)st.patients, (long long)st.raised, (long long)st.errors);
		status = st.errors ? 1 : 0;
		goto out;
	}
	FILE *f = strcmp(export_path, "-") ? fopen(export_path, "w") : stdout;
	if (!f) {
		haven_cli_fail("cannot write %s", export_path);
		goto out;
	}
	int64_t examples = 0, patients = 0;
	rc = haven_monitor_export_training(store, mk, now, f, &examples, &patients);
	if ((f != stdout && fclose(f)) || (f == stdout && fflush(stdout)))
		rc = rc ? rc : HAVEN_EIO;
	if (rc) {
		haven_cli_fail("the training export failed: %s", haven_strerror(rc));
		goto out;
	}
	fprintf(stderr, "haven: wrote %lld examples from %lld patients with the research consent\n",
	        (long long)examples, (long long)patients);
	status = 0;
out:
	haven_master_key_destroy(&mk);
	haven_store_destroy(&store);
	return status;
}
