/*
 * monitor.h: monitoring rules. Each rule compares a person with their own baseline (or
 * notices that they stopped checking in) and raises an alert through
 * haven_alert_raise() whose reasons say in plain words what changed, with the numbers
 * behind it ("values") and the thresholds the clinic set.
 *
 *   mood_decline   check-in mood falling against the person's baseline: an EWMA chart
 *                  (default) or a lower CUSUM, run after every check-in (warning)
 *   sleep_low      sleep (sensed minutes, else check-in hours) below baseline, after a
 *                  check-in or a sensing batch (warning)
 *   activity_low   sensed steps far below baseline, after a sensing batch (warning)
 *   disengagement  no check-in for N days, from the periodic sweep (info): counted from
 *                  the last check-in, or for someone who never checked in from when they
 *                  joined (the latest of account creation, invitation acceptance and the
 *                  opening of the episode of care still open)
 *   deterioration_risk  the risk score (risk.h) above the clinic's threshold, after a
 *                  check-in and from the sweep (warning)
 *
 * Rules that follow a write run inside the write's transaction, so the data and the
 * alert commit together; time-based rules run from haven_monitor_sweep(), which
 * `haven serve` calls from a thread and `haven monitor --once` calls once.
 *
 * Thresholds are per clinic: one JSON document in the monitoring_config table (GET/PUT
 * /api/v1/monitoring/config), defaults in haven_monitor_config_default(); docs/monitoring.md
 * lists them. Ownership: JSON returned through json_t ** is the caller's.
 */
#ifndef HAVEN_MEASURES_MONITOR_H
#define HAVEN_MEASURES_MONITOR_H

#include <stdint.h>

#include <jansson.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "measures/risk.h"
#include "store/store.h"

#define HAVEN_MONITOR_VERSION "monitor 1"

enum haven_mood_method {
	HAVEN_MOOD_METHOD_EWMA,
	HAVEN_MOOD_METHOD_CUSUM,
};

struct haven_monitor_config {
	struct {
		int enabled;
		enum haven_mood_method method;
		double ewma_alpha;    /* smoothing weight of the newest check-in, 0.05 .. 1 */
		double ewma_limit_sd; /* control limit L in EWMA standard deviations */
		double min_drop;      /* and never for a drop under this many mood points */
		double cusum_k;       /* CUSUM allowance, in baseline SDs */
		double cusum_h;       /* CUSUM decision limit, in baseline SDs */
		/* min_baseline counts check-ins, min_recent days with a check-in */
		int baseline_days, recent_days, min_baseline, min_recent;
	} mood;
	struct {
		int enabled;
		int days; /* whole days since the last check-in */
	} disengagement;
	struct {
		int enabled;
		double drop_hours;
		int baseline_days, recent_days, min_baseline_days, min_recent_days;
	} sleep;
	struct {
		int enabled;
		double drop_fraction;      /* recent mean <= baseline * (1 - drop_fraction) */
		double min_baseline_steps; /* no rule for a baseline under this */
		int baseline_days, recent_days, min_baseline_days, min_recent_days;
	} activity;
	struct {
		int enabled;
		double threshold; /* probability */
		struct haven_risk_model model;
	} risk;
	int sweep_minutes; /* how often `haven serve` sweeps */
};

/* The documented defaults (docs/monitoring.md). */
void haven_monitor_config_default(struct haven_monitor_config *c);
/* Applies the members of obj over c (a partial document changes only what it names).
 * HAVEN_EINVAL with "what and where" in err for an unknown key, a wrong type or a value
 * out of range; c is unchanged then. */
int haven_monitor_config_apply(struct haven_monitor_config *c, const json_t *obj, char *err,
                               size_t errlen) HAVEN_WUR;
/* The whole configuration as JSON (every key, the risk model included). */
json_t *haven_monitor_config_json(const struct haven_monitor_config *c);

/* The clinic's configuration (defaults when none was stored). */
int haven_monitor_config_load(struct haven_tx *tx, struct haven_monitor_config *c) HAVEN_WUR;
/* Stores c (replacing any) and audits "monitoring.config.write" as actor. */
int haven_monitor_config_store(struct haven_tx *tx, const struct haven_monitor_config *c,
                               int64_t actor_id, const char *actor_role,
                               const char *request_id) HAVEN_WUR;

/* ---- Pure rule evaluation (unit-tested on synthetic trajectories) ---- */

/* One value on one day (day numbers as haven_local_day). Series are in time order. */
struct haven_obs {
	int64_t day;
	double value;
};

struct haven_mood_eval {
	int fired;
	int n_baseline, n_recent;
	int recent_days_with_checkins;     /* what min_recent counts */
	double baseline_mean, baseline_sd; /* sd floored at 0.5 */
	double ewma;                       /* EWMA after the recent check-ins */
	double ewma_limit;                 /* the mood below which the EWMA fires */
	double cusum;                      /* lower CUSUM after the recent check-ins */
	double recent_mean;
	double drop; /* baseline_mean - (EWMA or recent mean for CUSUM) */
};
/* Check-in moods (0-10) in time order; today is the local day of the newest. The
 * baseline is the check-ins of the baseline_days before the last recent_days days. */
void haven_monitor_mood_eval(const struct haven_monitor_config *c, const struct haven_obs *obs,
                             size_t n, int64_t today, struct haven_mood_eval *out);

struct haven_baseline_eval {
	int enough;         /* enough days on both sides to judge */
	int baseline_days;  /* days with data in the baseline window */
	int recent_days;    /* days with data in the recent window */
	int recent_missing; /* days without data in the recent window */
	double baseline_mean, recent_mean;
};
/* Daily values (at most one per day) compared as: the mean of the days with data in
 * (today - recent, today] against the mean in the baseline window before it. */
void haven_monitor_baseline_eval(const struct haven_obs *days, size_t n, int64_t today,
                                 int baseline_window, int recent_window, int min_baseline,
                                 int min_recent, struct haven_baseline_eval *out);

/* ---- Rules against the store ---- */

/* What a rule run raised: [{"id", "kind", "severity", "new", "reasons"}] is appended to
 * alerts when it is not NULL. */
int haven_monitor_after_checkin(struct haven_tx *tx, const struct haven_master_key *mk,
                                int64_t patient_id, int64_t now_ms, json_t *alerts) HAVEN_WUR;
/* The same rules for a check-in, in two steps so that the store's single writer does
 * only the cheap part: prepare reads the configuration and the person's history
 * (decrypting it) inside a read transaction of the caller's, in the request's thread;
 * apply adds the new check-in (at_ms, mood, sleep_hours) and evaluates and raises inside
 * the check-in's write transaction. A check-in of the same person committed in between is
 * not in the history (the next check-in sees it). */
struct haven_monitor_prep;
int haven_monitor_checkin_prepare(struct haven_tx *tx, const struct haven_master_key *mk,
                                  int64_t patient_id, int64_t now_ms,
                                  struct haven_monitor_prep **out) HAVEN_WUR;
int haven_monitor_checkin_apply(struct haven_tx *tx, struct haven_monitor_prep *p, int64_t at_ms,
                                double mood, double sleep_hours, json_t *alerts) HAVEN_WUR;
void haven_monitor_prep_destroy(struct haven_monitor_prep **p);
int haven_monitor_after_sensing(struct haven_tx *tx, const struct haven_master_key *mk,
                                int64_t patient_id, int64_t now_ms, json_t *alerts) HAVEN_WUR;

struct haven_monitor_sweep_stats {
	int64_t patients, raised, errors;
};
/* The time-based rules (disengagement, deterioration risk) for every active patient,
 * one write transaction per patient. */
int haven_monitor_sweep(struct haven_store *store, const struct haven_master_key *mk,
                        int64_t now_ms, struct haven_monitor_sweep_stats *stats) HAVEN_WUR;

/* The patient's current risk score with each feature's contribution (for GET
 * /patients/{id}/risk); no alert is raised. */
int haven_monitor_risk_json(struct haven_tx *tx, const struct haven_master_key *mk,
                            int64_t patient_id, int64_t now_ms, json_t **out) HAVEN_WUR;

/* Writes training examples for the deterioration-risk model from the clinic's own data
 * (`haven monitor --export-training`), one JSON line each (risk.h's format), for the
 * patients who grant the `research` consent: at each PHQ-9 of theirs with at least 28
 * days of follow-up, the features then and whether a PHQ-9 in the next 28 days was a
 * reliable deterioration (6 points or more above it). No ids or times are written.
 * Each patient's export is audited. *examples and *patients count what was written. */
int haven_monitor_export_training(struct haven_store *store, const struct haven_master_key *mk,
                                  int64_t now_ms, FILE *out, int64_t *examples,
                                  int64_t *patients) HAVEN_WUR;

/* The sweep thread of `haven serve`: runs haven_monitor_sweep every
 * config.sweep_minutes (read again each time) or every interval_ms when that is > 0. */
struct haven_monitor_sweeper;
int haven_monitor_sweeper_start(struct haven_store *store, const struct haven_master_key *mk,
                                int64_t interval_ms, struct haven_monitor_sweeper **out) HAVEN_WUR;
void haven_monitor_sweeper_stop(struct haven_monitor_sweeper **s);

#endif
