/*
 * sensing.h: passively sensed observations (steps, sleep minutes, resting heart rate,
 * screen time) sent by a patient's phone or wearable, as plain JSON or as FHIR R4
 * Observation resources, and the per-day features the monitoring rules and clinicians
 * read (daily totals or means, and flags for days without data).
 *
 * Parsing is pure (the fuzz target and the unit tests call it directly); storing and
 * reading run in the caller's transaction. Values are sealed under the patient's data
 * key (table "sensing_observations", field "payload"); kind, time and day stay in clear.
 * The caller checks the `sensing` consent and audits.
 */
#ifndef HAVEN_MEASURES_SENSING_H
#define HAVEN_MEASURES_SENSING_H

#include <stdint.h>

#include <jansson.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "store/store.h"

enum haven_sensing_kind {
	HAVEN_SENSING_STEPS,
	HAVEN_SENSING_SLEEP_MINUTES,
	HAVEN_SENSING_RESTING_HEART_RATE,
	HAVEN_SENSING_SCREEN_TIME_MINUTES,
	HAVEN_SENSING_NKINDS
};

#define HAVEN_SENSING_BATCH_MAX 1000 /* observations per request */
#define HAVEN_SENSING_DAYS_MAX 90    /* the longest window of daily features */
/* Haven's code system for what LOINC has no code for (screen time). */
#define HAVEN_SENSING_CODE_SYSTEM "urn:haven:fhir:sensing"

/* "steps", "sleep_minutes", "resting_heart_rate", "screen_time_minutes". */
const char *haven_sensing_kind_name(int kind);
int haven_sensing_kind_find(const char *name); /* -1 when unknown */

struct haven_sensing_obs {
	int kind;
	double value;         /* in the kind's unit: steps, minutes, beats per minute */
	int64_t effective_ms; /* the time it was measured (a date: local midnight) */
	int64_t day;          /* the local day it counts for */
};

/*
 * Parses a POST /sensing body:
 *  - {"observations": [{"type", "value", "date": "YYYY-MM-DD" | "time": RFC 3339,
 *    "unit"?}, ...]};
 *  - a FHIR R4 Observation, or a Bundle whose entries' resources are Observations
 *    (LOINC 55423-8 steps, 93832-4 sleep duration, 40443-4 resting heart rate; screen
 *    time as HAVEN_SENSING_CODE_SYSTEM "screen-time"), with valueQuantity in UCUM and
 *    effectiveDateTime or effectivePeriod.
 * Rejects unknown types and codes, wrong units, values out of range, times in the
 * future (beyond 5 minutes of clock skew) or before 1970, and more than
 * HAVEN_SENSING_BATCH_MAX observations: HAVEN_EINVAL (or HAVEN_ELIMIT for the count)
 * with "what and where" in err and *code set to a short error code ("invalid_body",
 * "unknown_type", "invalid_unit", "out_of_range", "future_time", "too_many"). *out is
 * malloc'd (free()).
 */
int haven_sensing_parse(const json_t *body, int64_t now_ms, int utc_offset_minutes,
                        struct haven_sensing_obs **out, size_t *n, const char **code, char *err,
                        size_t errlen) HAVEN_WUR;

/* Stores the observations (one sealed value each; the same patient, kind and time
 * replaces the earlier value). *replaced counts those that replaced one. */
int haven_sensing_store(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                        const struct haven_sensing_obs *obs, size_t n, int64_t now_ms,
                        size_t *replaced) HAVEN_WUR;

struct haven_sensing_day {
	int64_t day;
	double value[HAVEN_SENSING_NKINDS]; /* totals; mean for resting heart rate */
	int count[HAVEN_SENSING_NKINDS];    /* observations behind it (0: missing) */
};
/* The days first_day..last_day (at most HAVEN_SENSING_DAYS_MAX + 60), one entry each,
 * oldest first; *out is malloc'd. HAVEN_OK with every day missing when the patient has
 * no data or no key. At most the 50 000 observations of the latest days are read, so
 * that the work stays bounded (one a minute, every minute, for 34 days). */
int haven_sensing_days(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                       int64_t first_day, int64_t last_day,
                       struct haven_sensing_day **out) HAVEN_WUR;
/* Every observation of the patient, decrypted, oldest first, for their own export:
 * [{"type", "value", "time", "date", "received_at"}]. An empty array without a key. */
int haven_sensing_json(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                       json_t **out) HAVEN_WUR;
/* {"from", "to", "days": [{"date", "steps", ..., "missing": [kinds]}],
 *  "summary": {kind: {"days_with_data", "days_missing", "mean"}}, "days_without_data"}. */
json_t *haven_sensing_days_json(const struct haven_sensing_day *days, size_t n);

#endif
