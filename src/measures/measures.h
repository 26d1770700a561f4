/*
 * measures.h: standardised instruments as data (PHQ-9, GAD-7, PHQ-2, GAD-2, WHO-5),
 * scoring and bands, the reliable change index, outcomes per episode of care as NHS
 * Talking Therapies defines them, and the store operations behind assessments and
 * episodes (answers sealed under the patient's data key, audited, alerts raised in the
 * same transaction).
 *
 * The rules are DESIGN.md's "Clinical measures"; docs/measures.md explains them with
 * worked examples. The instrument table lives in instruments.c; nothing else in Haven
 * knows an item or a threshold.
 *
 * Ownership: instrument pointers are static and never freed. JSON returned through
 * json_t ** is owned by the caller (json_decref). Functions taking a struct haven_tx run
 * inside the caller's store transaction.
 */
#ifndef HAVEN_MEASURES_H
#define HAVEN_MEASURES_H

#include <stdint.h>

#include <jansson.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "store/store.h"

#define HAVEN_MEASURES_MAX_ITEMS 9
#define HAVEN_MEASURES_MAX_OPTIONS 6
#define HAVEN_MEASURES_MAX_BANDS 5

struct haven_option {
	int value;
	const char *label;
	const char *loinc; /* LOINC answer code (LA...), or NULL */
};

struct haven_item {
	const char *text;
	const char *loinc; /* LOINC question code, or NULL when not verified */
};

struct haven_band {
	int min, max; /* raw totals, inclusive */
	const char *name;  /* machine name: "moderately_severe" */
	const char *label; /* for people: "Moderately severe" */
};

struct haven_instrument {
	const char *id;    /* "phq9" */
	const char *title; /* "PHQ-9" */
	const char *name;  /* "Patient Health Questionnaire-9" */
	const char *stem;  /* the question the items complete */
	const char *loinc_panel, *loinc_total; /* NULL when not verified */
	size_t nitems;
	struct haven_item items[HAVEN_MEASURES_MAX_ITEMS];
	size_t noptions;
	struct haven_option options[HAVEN_MEASURES_MAX_OPTIONS];
	size_t nbands;
	struct haven_band bands[HAVEN_MEASURES_MAX_BANDS];
	int max_total;
	int scale; /* the reported percentage is total * scale (WHO-5: 4); 0 = none */
	int higher_is_worse; /* 1 for symptom measures, 0 for WHO-5 */
	/* Reliable change: a change of at least this many raw points is reliable (NHS
	 * Talking Therapies: PHQ-9 6, GAD-7 4); 0 when Haven has no criterion. */
	int reliable_change;
	/* Caseness threshold (PHQ-9 10, GAD-7 8); 0 when the measure has none. */
	int caseness;
	const char *copyright;
};

/* Every instrument, in a fixed order. */
size_t haven_instruments(const struct haven_instrument *const **out);
/* The instrument with this id, or NULL. */
const struct haven_instrument *haven_instrument_find(const char *id);
/* The instrument as JSON for clients rendering a form (GET /instruments). */
json_t *haven_instrument_json(const struct haven_instrument *in);

/* Scores answers (nanswers values). 0 and *total, *band; HAVEN_EINVAL with a message
 * ("answer 3 is 4; answers are 0 to 3") in err for a wrong count or an out-of-range
 * value. */
int haven_instrument_score(const struct haven_instrument *in, const int *answers,
                           size_t nanswers, int *total, const struct haven_band **band,
                           char *err, size_t errlen) HAVEN_WUR;
/* The band a total falls in (NULL outside 0..max_total). */
const struct haven_band *haven_instrument_band(const struct haven_instrument *in, int total);

/* ---- Reliable change ----
 * Jacobson & Truax (1991): RCI = (x2 - x1) / S_diff, S_diff = sqrt(2 * SE^2),
 * SE = sd * sqrt(1 - reliability). |RCI| > 1.96 is a reliable change (p < .05). */
double haven_rci(double x1, double x2, double sd, double reliability);
/* S_diff for an instrument with a national reliable-change threshold: threshold / 1.96,
 * so that |RCI| >= 1.96 exactly when |change| >= the threshold. 0 when there is none. */
double haven_instrument_sdiff(const struct haven_instrument *in);

enum haven_reliable {
	HAVEN_RELIABLE_NONE,
	HAVEN_RELIABLE_IMPROVEMENT,
	HAVEN_RELIABLE_DETERIORATION,
	HAVEN_RELIABLE_UNKNOWN, /* the instrument has no reliable-change criterion */
};
/* Classifies the change from x1 to x2 by the instrument's threshold and direction. */
enum haven_reliable haven_instrument_reliable(const struct haven_instrument *in, int x1, int x2);
const char *haven_reliable_name(enum haven_reliable r); /* "improvement", ..., NULL */

/* ---- Outcomes of an episode (pure) ----
 * The PHQ-9 and GAD-7 scores of one episode, in time order. A measure with fewer than
 * two scores has no change. */
struct haven_episode_scores {
	const int *phq9;
	size_t nphq9;
	const int *gad7;
	size_t ngad7;
};

/* -1 where a rule cannot apply (no scores, or not a case at the start for recovery). */
struct haven_outcome {
	int case_start;   /* PHQ-9 >= 10 or GAD-7 >= 8 on the first scores */
	int case_end;     /* the same on the last scores; -1 without a second score */
	int recovery;     /* a case at the start, not a case on both measures at the end */
	int reliable_improvement;   /* a reliable decrease on one, no reliable increase */
	int reliable_deterioration; /* a reliable increase on either */
	int reliable_recovery;      /* recovery with reliable improvement */
	int phq9_first, phq9_last, gad7_first, gad7_last; /* -1 when absent */
	int phq9_n, gad7_n;        /* how many scores of each */
	double phq9_rci, gad7_rci; /* 0 when there is no pair */
};
void haven_outcome_compute(const struct haven_episode_scores *s, struct haven_outcome *out);
/* The outcome as JSON: the flags (true/false/null) and the scores behind them. */
json_t *haven_outcome_json(const struct haven_outcome *o);

/* ---- Assessments and episodes in the store ---- */

struct haven_assessment_new {
	int64_t patient_id;
	const struct haven_instrument *instrument;
	const int *answers;
	size_t nanswers;
	int64_t actor_id; /* the patient */
	const char *actor_role, *request_id;
};

struct haven_assessment_result {
	int64_t id, episode_id, created_at;
	char rid[33];
	int total;
	const struct haven_band *band;
	int has_previous;
	int previous_total;
	json_t *alerts; /* [{"id", "kind", "severity", "reasons"}], owned by the caller */
};

/* Records a scored assessment in tx: opens an episode if none is open, seals the answers
 * under the patient's key, raises phq9_item9 (urgent) for a PHQ-9 item 9 answer above 0
 * and reliable_deterioration (warning) for a reliable increase on PHQ-9 or GAD-7 against
 * the first score of that measure in the episode, and audits the write. The caller has
 * validated the answers (haven_instrument_score). */
int haven_assessment_record(struct haven_tx *tx, const struct haven_master_key *mk,
                            const struct haven_assessment_new *a,
                            struct haven_assessment_result *out) HAVEN_WUR;

/* The patient's assessments, decrypted, newest first:
 * [{"id", "instrument", "answers", "total", "band", "episode_id", "created_at",
 *   "change": {...}|null}] (the change since the previous one of the same instrument).
 * An empty array when the patient has none or no key. */
int haven_assessments_json(struct haven_tx *tx, const struct haven_master_key *mk,
                           int64_t patient_id, json_t **out) HAVEN_WUR;
/* The change from previous to total: {"previous_total", "difference", "rci", "reliable"}
 * ("rci" and "reliable" are null for instruments without a reliable-change criterion). */
json_t *haven_assessment_change_json(const struct haven_instrument *in, int previous, int total);
/* Epoch ms as an RFC 3339 JSON string (UTC, milliseconds). */
json_t *haven_time_json(int64_t ms);

/* Safety events only (PHQ-9 item 9 answers above 0), read without decrypting anything
 * but item 9: [{"assessment_id", "instrument", "item", "answer", "created_at"}]. */
int haven_safety_events_json(struct haven_tx *tx, const struct haven_master_key *mk,
                             int64_t patient_id, json_t **out) HAVEN_WUR;

/* A decrypted assessment, for the outcomes and the FHIR export. */
struct haven_assessment {
	int64_t id, episode_id, created_at;
	char rid[33];
	const struct haven_instrument *instrument;
	int answers[HAVEN_MEASURES_MAX_ITEMS];
	size_t nanswers;
	int total;
};
/* All of a patient's assessments in time order (oldest first). *out is malloc'd
 * (free()); *n may be 0. */
int haven_assessments_load(struct haven_tx *tx, const struct haven_master_key *mk,
                           int64_t patient_id, struct haven_assessment **out,
                           size_t *n) HAVEN_WUR;

/* Episodes. Opening fails with HAVEN_ECONFLICT while one is open; closing with
 * HAVEN_ENOTFOUND when none is. by is the clinician's id (0: opened by an assessment). */
int haven_episode_open(struct haven_tx *tx, int64_t patient_id, int64_t by, int64_t now,
                       int64_t *id) HAVEN_WUR;
int haven_episode_close(struct haven_tx *tx, int64_t patient_id, int64_t by, int64_t now,
                        int64_t *id) HAVEN_WUR;

/* The patient's episodes with their outcomes, newest first:
 * {"episodes": [{"id", "opened_at", "closed_at", "status", "assessments",
 *   "outcome": {...}}], "summary": {"episodes", "closed", "recovery_eligible",
 *   "recovered", "recovery_rate"}}. */
int haven_outcomes_json(struct haven_tx *tx, const struct haven_master_key *mk,
                        int64_t patient_id, json_t **out) HAVEN_WUR;

/* Adds one patient's closed episodes into a caseload tally. */
struct haven_caseload_tally {
	int64_t patients, episodes, closed, eligible, recovered, reliable_improvement,
	    reliable_deterioration, reliable_recovery;
};
int haven_outcomes_tally(struct haven_tx *tx, const struct haven_master_key *mk,
                         int64_t patient_id, struct haven_caseload_tally *t) HAVEN_WUR;

#endif
