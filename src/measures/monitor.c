/*
 * monitor.c: the monitoring rules (monitor.h): the clinic's configuration, the pure
 * evaluations, the rules run inside a check-in's or a sensing batch's transaction, the
 * periodic sweep and its thread.
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/alerts.h"
#include "audit/audit.h"
#include "crypto/keyring.h"
#include "measures/measures.h"
#include "measures/monitor.h"
#include "measures/reminders.h"
#include "measures/sensing.h"

/* ---- Configuration ---- */

void haven_monitor_config_default(struct haven_monitor_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mood.enabled = 1;
	c->mood.method = HAVEN_MOOD_METHOD_EWMA;
	c->mood.ewma_alpha = 0.3;
	c->mood.ewma_limit_sd = 3.0;
	c->mood.min_drop = 1.5;
	c->mood.cusum_k = 0.5;
	c->mood.cusum_h = 4.0;
	c->mood.baseline_days = 28;
	c->mood.recent_days = 7;
	c->mood.min_baseline = 7;
	c->mood.min_recent = 2;
	c->disengagement.enabled = 1;
	c->disengagement.days = 5;
	c->sleep.enabled = 1;
	c->sleep.drop_hours = 1.5;
	c->sleep.baseline_days = 28;
	c->sleep.recent_days = 7;
	c->sleep.min_baseline_days = 7;
	c->sleep.min_recent_days = 3;
	c->activity.enabled = 1;
	c->activity.drop_fraction = 0.5;
	c->activity.min_baseline_steps = 1000;
	c->activity.baseline_days = 28;
	c->activity.recent_days = 7;
	c->activity.min_baseline_days = 7;
	c->activity.min_recent_days = 3;
	c->risk.enabled = 1;
	c->risk.threshold = 0.5;
	haven_risk_model_default(&c->risk.model);
	c->sweep_minutes = 60;
}

enum ftype { F_BOOL, F_INT, F_DOUBLE };
struct cfield {
	const char *section, *key;
	enum ftype type;
	size_t off;
	double min, max;
};
#define OFF(m) offsetof(struct haven_monitor_config, m)
static const struct cfield cfields[] = {
    {"mood_decline", "enabled", F_BOOL, OFF(mood.enabled), 0, 1},
    {"mood_decline", "ewma_alpha", F_DOUBLE, OFF(mood.ewma_alpha), 0.05, 1},
    {"mood_decline", "ewma_limit_sd", F_DOUBLE, OFF(mood.ewma_limit_sd), 0.5, 6},
    {"mood_decline", "min_drop", F_DOUBLE, OFF(mood.min_drop), 0, 10},
    {"mood_decline", "cusum_k", F_DOUBLE, OFF(mood.cusum_k), 0, 3},
    {"mood_decline", "cusum_h", F_DOUBLE, OFF(mood.cusum_h), 0.5, 20},
    {"mood_decline", "baseline_days", F_INT, OFF(mood.baseline_days), 7, 90},
    {"mood_decline", "recent_days", F_INT, OFF(mood.recent_days), 1, 28},
    {"mood_decline", "min_baseline", F_INT, OFF(mood.min_baseline), 3, 90},
    {"mood_decline", "min_recent", F_INT, OFF(mood.min_recent), 1, 28},
    {"disengagement", "enabled", F_BOOL, OFF(disengagement.enabled), 0, 1},
    {"disengagement", "days", F_INT, OFF(disengagement.days), 1, 60},
    {"sleep_low", "enabled", F_BOOL, OFF(sleep.enabled), 0, 1},
    {"sleep_low", "drop_hours", F_DOUBLE, OFF(sleep.drop_hours), 0.25, 12},
    {"sleep_low", "baseline_days", F_INT, OFF(sleep.baseline_days), 7, 90},
    {"sleep_low", "recent_days", F_INT, OFF(sleep.recent_days), 1, 28},
    {"sleep_low", "min_baseline_days", F_INT, OFF(sleep.min_baseline_days), 3, 90},
    {"sleep_low", "min_recent_days", F_INT, OFF(sleep.min_recent_days), 1, 28},
    {"activity_low", "enabled", F_BOOL, OFF(activity.enabled), 0, 1},
    {"activity_low", "drop_fraction", F_DOUBLE, OFF(activity.drop_fraction), 0.05, 0.95},
    {"activity_low", "min_baseline_steps", F_DOUBLE, OFF(activity.min_baseline_steps), 0, 50000},
    {"activity_low", "baseline_days", F_INT, OFF(activity.baseline_days), 7, 90},
    {"activity_low", "recent_days", F_INT, OFF(activity.recent_days), 1, 28},
    {"activity_low", "min_baseline_days", F_INT, OFF(activity.min_baseline_days), 3, 90},
    {"activity_low", "min_recent_days", F_INT, OFF(activity.min_recent_days), 1, 28},
    {"deterioration_risk", "enabled", F_BOOL, OFF(risk.enabled), 0, 1},
    {"deterioration_risk", "threshold", F_DOUBLE, OFF(risk.threshold), 0.01, 0.99},
    {NULL, "sweep_minutes", F_INT, OFF(sweep_minutes), 1, 1440},
};
#define NCFIELDS (sizeof(cfields) / sizeof(cfields[0]))
static const char *const sections[] = {"mood_decline", "disengagement", "sleep_low", "activity_low",
                                       "deterioration_risk"};
#define NSECTIONS 5

static int set_field(struct haven_monitor_config *c, const struct cfield *f, const json_t *v,
                     char *err, size_t errlen)
{
	char name[64];
	snprintf(name, sizeof(name), "%s%s%s", f->section ? f->section : "", f->section ? "." : "",
	         f->key);
	char *p = (char *)c + f->off;
	switch (f->type) {
	case F_BOOL:
		if (!json_is_boolean(v)) {
			snprintf(err, errlen, "'%s' must be true or false", name);
			return HAVEN_EINVAL;
		}
		*(int *)p = json_is_true(v);
		return 0;
	case F_INT:
		if (!json_is_integer(v) || json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max) {
			snprintf(err, errlen, "'%s' must be an integer from %g to %g", name, f->min,
			         f->max);
			return HAVEN_EINVAL;
		}
		*(int *)p = (int)json_integer_value(v);
		return 0;
	case F_DOUBLE:
		if (!json_is_number(v) || !(json_number_value(v) >= f->min) ||
		    !(json_number_value(v) <= f->max)) {
			snprintf(err, errlen, "'%s' must be a number from %g to %g", name, f->min,
			         f->max);
			return HAVEN_EINVAL;
		}
		*(double *)p = json_number_value(v);
		return 0;
	}
	return HAVEN_EINVAL;
}

static int apply_section(struct haven_monitor_config *c, const char *section, const json_t *obj,
                         char *err, size_t errlen)
{
	const char *key;
	json_t *val;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "'%s' must be an object", section);
		return HAVEN_EINVAL;
	}
	json_object_foreach((json_t *)obj, key, val)
	{
		if (!strcmp(section, "mood_decline") && !strcmp(key, "method")) {
			const char *m = json_is_string(val) ? json_string_value(val) : "";
			if (!strcmp(m, "ewma"))
				c->mood.method = HAVEN_MOOD_METHOD_EWMA;
			else if (!strcmp(m, "cusum"))
				c->mood.method = HAVEN_MOOD_METHOD_CUSUM;
			else {
				snprintf(err, errlen,
				         "'mood_decline.method' must be \"ewma\" or \"cusum\"");
				return HAVEN_EINVAL;
			}
			continue;
		}
		if (!strcmp(section, "deterioration_risk") && !strcmp(key, "model")) {
			int rc = haven_risk_model_apply(&c->risk.model, val, err, errlen);
			if (rc)
				return rc;
			continue;
		}
		const struct cfield *f = NULL;
		for (size_t i = 0; i < NCFIELDS && !f; i++)
			if (cfields[i].section && !strcmp(cfields[i].section, section) &&
			    !strcmp(cfields[i].key, key))
				f = &cfields[i];
		if (!f) {
			snprintf(err, errlen, "unknown field '%s.%.40s'", section, key);
			return HAVEN_EINVAL;
		}
		int rc = set_field(c, f, val, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int haven_monitor_config_apply(struct haven_monitor_config *c, const json_t *obj, char *err,
                               size_t errlen)
{
	struct haven_monitor_config t = *c;
	const char *key;
	json_t *val;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "the monitoring configuration must be a JSON object");
		return HAVEN_EINVAL;
	}
	json_object_foreach((json_t *)obj, key, val)
	{
		int rc, known = 0;
		if (!strcmp(key, "sweep_minutes")) {
			if ((rc = set_field(&t, &cfields[NCFIELDS - 1], val, err, errlen)))
				return rc;
			continue;
		}
		for (size_t i = 0; i < NSECTIONS && !known; i++)
			if (!strcmp(key, sections[i])) {
				known = 1;
				if ((rc = apply_section(&t, sections[i], val, err, errlen)))
					return rc;
			}
		if (!known) {
			snprintf(err, errlen,
			         "unknown field '%.40s' (mood_decline, disengagement, sleep_low, "
			         "activity_low, deterioration_risk, sweep_minutes)",
			         key);
			return HAVEN_EINVAL;
		}
	}
	if (t.mood.min_baseline > t.mood.baseline_days * 4 ||
	    t.sleep.min_baseline_days > t.sleep.baseline_days ||
	    t.sleep.min_recent_days > t.sleep.recent_days ||
	    t.activity.min_baseline_days > t.activity.baseline_days ||
	    t.activity.min_recent_days > t.activity.recent_days) {
		snprintf(
		    err, errlen,
		    "a rule needs more days with data than its window holds (min_baseline_days "
		    "<= baseline_days, min_recent_days <= recent_days)");
		return HAVEN_EINVAL;
	}
	*c = t;
	return 0;
}

json_t *haven_monitor_config_json(const struct haven_monitor_config *c)
{
	json_t *root = json_object();
	for (size_t s = 0; root && s < NSECTIONS; s++)
		if (json_object_set_new(root, sections[s], json_object())) {
			json_decref(root);
			root = NULL;
		}
	for (size_t i = 0; root && i < NCFIELDS; i++) {
		const struct cfield *f = &cfields[i];
		json_t *dst = f->section ? json_object_get(root, f->section) : root;
		const char *p = (const char *)c + f->off;
		json_t *v = f->type == F_BOOL  ? json_boolean(*(const int *)p)
		            : f->type == F_INT ? json_integer(*(const int *)p)
		                               : json_real(*(const double *)p);
		if (json_object_set_new(dst, f->key, v)) {
			json_decref(root);
			root = NULL;
		}
	}
	if (root &&
	    (json_object_set_new(
	         json_object_get(root, "mood_decline"), "method",
	         json_string(c->mood.method == HAVEN_MOOD_METHOD_CUSUM ? "cusum" : "ewma")) ||
	     json_object_set_new(json_object_get(root, "deterioration_risk"), "model",
	                         haven_risk_model_json(&c->risk.model)))) {
		json_decref(root);
		root = NULL;
	}
	return root;
}

/* The last stored document this process parsed, and what it parsed to. Every check-in
 * reads the configuration; parsing it anew each time cost a tenth of a check-in's time.
 * The row is still read in the caller's transaction (another server process may have
 * changed it), and only a byte-identical document reuses the parse. */
static struct {
	pthread_mutex_t lock;
	char *text;
	size_t len;
	struct haven_monitor_config c;
	int rc;
} parsed = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct config_row {
	struct haven_monitor_config *c;
	int found, hit, rc;
	char *text; /* a document not parsed before */
	size_t len;
};

static int config_row(const struct haven_row *row, void *arg)
{
	struct config_row *t = arg;
	size_t len = 0;
	const char *s = haven_row_text(row, 0, &len);
	if (!s)
		return 0;
	t->found = 1;
	pthread_mutex_lock(&parsed.lock);
	if (parsed.text && parsed.len == len && !memcmp(parsed.text, s, len)) {
		*t->c = parsed.c;
		t->rc = parsed.rc;
		t->hit = 1;
	}
	pthread_mutex_unlock(&parsed.lock);
	if (!t->hit && !(t->text = strndup(s, len)))
		return HAVEN_ENOMEM;
	t->len = len;
	return 0;
}

int haven_monitor_config_load(struct haven_tx *tx, struct haven_monitor_config *c)
{
	haven_monitor_config_default(c);
	struct config_row t = {.c = c};
	int rc = haven_tx_query(tx, "SELECT config FROM monitoring_config WHERE id = 1", NULL, 0,
	                        config_row, &t);
	if (rc || !t.found) {
		free(t.text);
		if (rc)
			haven_monitor_config_default(c);
		return rc;
	}
	if (t.hit)
		return t.rc;
	json_error_t jerr;
	json_t *o = json_loads(t.text, 0, &jerr);
	char err[200];
	rc = o && !haven_monitor_config_apply(c, o, err, sizeof(err)) ? 0 : HAVEN_ECORRUPT;
	json_decref(o);
	if (rc)
		haven_monitor_config_default(c);
	pthread_mutex_lock(&parsed.lock);
	free(parsed.text);
	parsed.text = t.text;
	parsed.len = t.len;
	parsed.c = *c;
	parsed.rc = rc;
	pthread_mutex_unlock(&parsed.lock);
	return rc;
}

int haven_monitor_config_store(struct haven_tx *tx, const struct haven_monitor_config *c,
                               int64_t actor_id, const char *actor_role, const char *request_id)
{
	json_t *o = haven_monitor_config_json(c);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!text)
		return HAVEN_ENOMEM;
	struct haven_param p[] = {HAVEN_P_TEXT(text), HAVEN_P_INT(haven_now_ms()),
	                          actor_id > 0 ? HAVEN_P_INT(actor_id) : HAVEN_P_NULL};
	int rc = haven_tx_exec(tx,
	                       "INSERT INTO monitoring_config (id, config, updated_at, updated_by) "
	                       "VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET config = "
	                       "excluded.config, updated_at = excluded.updated_at, updated_by = "
	                       "excluded.updated_by",
	                       p, 3, NULL);
	free(text);
	if (rc)
		return rc;
	struct haven_audit_event ev = {.actor_id = actor_id,
	                               .actor_role = actor_role,
	                               .action = "monitoring.config.write",
	                               .subject = "monitoring_config",
	                               .outcome = "ok",
	                               .request_id = request_id,
	                               .detail = NULL};
	return haven_audit_append(tx, &ev);
}

/* The configuration the rules run with: a stored document that no longer validates
 * (written by another version, or edited by hand) must not stop check-ins, so the rules
 * fall back to the defaults and say so in the log; GET /monitoring/config still reports
 * it. */
static int rules_config(struct haven_tx *tx, struct haven_monitor_config *c)
{
	int rc = haven_monitor_config_load(tx, c);
	if (rc == HAVEN_ECORRUPT) {
		haven_log(HAVEN_LOG_WARN, "event=monitoring_config_invalid action=using_defaults");
		haven_monitor_config_default(c);
		rc = 0;
	}
	return rc;
}

/* ---- Pure evaluations ---- */

void haven_monitor_mood_eval(const struct haven_monitor_config *c, const struct haven_obs *obs,
                             size_t n, int64_t today, struct haven_mood_eval *out)
{
	memset(out, 0, sizeof(*out));
	int64_t recent_from = today - c->mood.recent_days + 1;
	int64_t base_from = recent_from - c->mood.baseline_days;
	double sum = 0, sq = 0;
	for (size_t i = 0; i < n; i++)
		if (obs[i].day >= base_from && obs[i].day < recent_from) {
			sum += obs[i].value;
			out->n_baseline++;
		} else if (obs[i].day >= recent_from && obs[i].day <= today) {
			/* obs are in time order: a new day starts where the day changes */
			if (!out->n_recent || obs[i].day != obs[i - 1].day)
				out->recent_days_with_checkins++;
			out->n_recent++;
		}
	if (!out->n_baseline)
		return;
	out->baseline_mean = sum / out->n_baseline;
	for (size_t i = 0; i < n; i++)
		if (obs[i].day >= base_from && obs[i].day < recent_from)
			sq += (obs[i].value - out->baseline_mean) *
			      (obs[i].value - out->baseline_mean);
	out->baseline_sd = out->n_baseline > 1 ? sqrt(sq / (out->n_baseline - 1)) : 0;
	if (out->baseline_sd < 0.5)
		out->baseline_sd = 0.5; /* mood is whole points: never chart against zero spread */
	double z = out->baseline_mean, s = 0, rsum = 0, a = c->mood.ewma_alpha;
	for (size_t i = 0; i < n; i++) {
		if (obs[i].day < recent_from || obs[i].day > today)
			continue;
		z = a * obs[i].value + (1 - a) * z;
		s = fmax(0, s + (out->baseline_mean - obs[i].value) / out->baseline_sd -
		                c->mood.cusum_k);
		rsum += obs[i].value;
	}
	out->ewma = z;
	out->cusum = s;
	out->recent_mean = out->n_recent ? rsum / out->n_recent : out->baseline_mean;
	/* The EWMA's asymptotic standard deviation (Lucas and Saccucci 1990). */
	double sd_z = out->baseline_sd * sqrt(a / (2 - a));
	double limit_drop = fmax(c->mood.ewma_limit_sd * sd_z, c->mood.min_drop);
	out->ewma_limit = out->baseline_mean - limit_drop;
	/* Several low check-ins on one bad day are one day: min_recent counts days. */
	int enough = out->n_baseline >= c->mood.min_baseline &&
	             out->recent_days_with_checkins >= c->mood.min_recent;
	if (c->mood.method == HAVEN_MOOD_METHOD_EWMA) {
		out->drop = out->baseline_mean - out->ewma;
		out->fired = enough && out->drop >= limit_drop - 1e-9;
	} else {
		out->drop = out->baseline_mean - out->recent_mean;
		out->fired = enough && out->cusum >= c->mood.cusum_h - 1e-9 &&
		             out->drop >= c->mood.min_drop - 1e-9;
	}
}

void haven_monitor_baseline_eval(const struct haven_obs *days, size_t n, int64_t today,
                                 int baseline_window, int recent_window, int min_baseline,
                                 int min_recent, struct haven_baseline_eval *out)
{
	memset(out, 0, sizeof(*out));
	int64_t recent_from = today - recent_window + 1, base_from = recent_from - baseline_window;
	double bsum = 0, rsum = 0;
	for (size_t i = 0; i < n; i++) {
		if (days[i].day >= base_from && days[i].day < recent_from) {
			bsum += days[i].value;
			out->baseline_days++;
		} else if (days[i].day >= recent_from && days[i].day <= today) {
			rsum += days[i].value;
			out->recent_days++;
		}
	}
	out->recent_missing = recent_window - out->recent_days;
	out->baseline_mean = out->baseline_days ? bsum / out->baseline_days : 0;
	out->recent_mean = out->recent_days ? rsum / out->recent_days : 0;
	out->enough = out->baseline_days >= min_baseline && out->recent_days >= min_recent;
}

/* ---- The patient's data ---- */

struct pdata {
	int offset;
	int64_t now, today;
	struct haven_risk_checkin *ck; /* time order */
	size_t nck, cap;
	struct haven_sensing_day *sd; /* sd_first .. today */
	size_t nsd;
	struct haven_risk_phq9 *ph; /* PHQ-9 totals, when read ahead (ph_loaded) */
	size_t nph;
	int ph_loaded;
	const struct haven_data_key *dk;
	int64_t patient;
};

static void pdata_release(struct pdata *d)
{
	free(d->ck);
	free(d->sd);
	free(d->ph);
}

static int checkin_row(const struct haven_row *row, void *arg)
{
	struct pdata *d = arg;
	const char *rid = haven_row_text(row, 0, NULL);
	int64_t at = haven_row_int(row, 1);
	size_t ct_len;
	const uint8_t *ct = haven_row_blob(row, 2, &ct_len);
	char ad[256];
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	if (!rid)
		return HAVEN_ECORRUPT;
	int rc = haven_crypto_ad(ad, sizeof(ad), "checkins", rid, d->patient, "payload");
	if (!rc)
		rc = haven_open(d->dk, ad, ct, ct_len, &pt, &pt_len);
	if (rc)
		return rc;
	json_error_t jerr;
	json_t *o = json_loadb((const char *)pt, pt_len, 0, &jerr);
	haven_secret_free(pt, pt_len);
	json_t *mood = json_object_get(o, "mood"), *sleep = json_object_get(o, "sleep_hours");
	if (!json_is_number(mood)) {
		json_decref(o);
		return HAVEN_ECORRUPT;
	}
	if (d->nck == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		void *p = realloc(d->ck, cap * sizeof(*d->ck));
		if (!p) {
			json_decref(o);
			return HAVEN_ENOMEM;
		}
		d->ck = p;
		d->cap = cap;
	}
	d->ck[d->nck++] = (struct haven_risk_checkin){
	    .at_ms = at,
	    .mood = json_number_value(mood),
	    .sleep_hours = json_is_number(sleep) ? json_number_value(sleep) : -1};
	json_decref(o);
	return 0;
}

#define WINDOW_MAX_DAYS 120

/* The rules read at most this many check-ins (the newest): four a day over the longest
 * default window. */
#define RULE_MAX_CHECKINS 150

/* Loads the check-ins (the newest max_checkins) and sensed days of the last window_days
 * local days. */
static int pdata_load(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient,
                      int64_t now, int window_days, int with_sensing, int64_t max_checkins,
                      struct pdata *d)
{
	memset(d, 0, sizeof(*d));
	d->patient = patient;
	d->now = now;
	struct haven_reminder r;
	int is_set;
	int rc = haven_reminder_get(tx, patient, &r, &is_set);
	if (rc)
		return rc;
	d->offset = r.utc_offset_minutes;
	d->today = haven_local_day(now, d->offset);
	if (with_sensing && window_days > WINDOW_MAX_DAYS)
		window_days = WINDOW_MAX_DAYS;
	int64_t first = d->today - window_days + 1;
	struct haven_data_key *dk = NULL;
	rc = haven_keyring_get(tx, mk, patient, &dk);
	if (rc == HAVEN_ENOTFOUND)
		return 0; /* nothing sealed yet: no check-ins, no sensing */
	if (rc)
		return rc;
	d->dk = dk;
	int64_t from_ms = first * HAVEN_DAY_MS - (int64_t)d->offset * 60000;
	struct haven_param p[] = {HAVEN_P_INT(patient), HAVEN_P_INT(from_ms), HAVEN_P_INT(now),
	                          HAVEN_P_INT(max_checkins)};
	/* The newest max_checkins of the window, so that the work a check-in causes stays
	 * bounded however often someone checks in; then back into time order. */
	rc =
	    haven_tx_query(tx,
	                   "SELECT rid, created_at, payload FROM checkins WHERE patient_id = ? AND "
	                   "created_at >= ? AND created_at <= ? ORDER BY created_at DESC, id DESC "
	                   "LIMIT ?",
	                   p, 4, checkin_row, d);
	for (size_t i = 0; !rc && i < d->nck / 2; i++) {
		struct haven_risk_checkin t = d->ck[i];
		d->ck[i] = d->ck[d->nck - 1 - i];
		d->ck[d->nck - 1 - i] = t;
	}
	int64_t sensing = 0;
	if (!rc && with_sensing) {
		/* Sensed data counts only while the person grants the sensing consent. */
		struct haven_param q[] = {HAVEN_P_INT(patient)};
		rc = haven_tx_query_int(
		    tx,
		    "SELECT granted FROM consents WHERE patient_id = ? AND scope = "
		    "'sensing' ORDER BY id DESC LIMIT 1",
		    q, 1, &sensing);
		if (rc == HAVEN_ENOTFOUND) {
			sensing = 0;
			rc = 0;
		}
	}
	if (!rc && sensing) {
		rc = haven_sensing_days(tx, mk, patient, first, d->today, &d->sd);
		if (!rc)
			d->nsd = (size_t)(d->today - first + 1);
	}
	d->dk = NULL;
	haven_data_key_destroy(&dk);
	return rc;
}

/* ---- Raising ---- */

static int raise_alert(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient,
                       const char *kind, const char *severity, json_t *reason, const char *dedup,
                       json_t *alerts, int *raised)
{
	if (!reason)
		return HAVEN_ENOMEM;
	json_t *reasons = json_array();
	if (!reasons || json_array_append_new(reasons, reason)) {
		json_decref(reasons);
		return HAVEN_ENOMEM;
	}
	char source[64];
	snprintf(source, sizeof(source), "rule:%s", kind);
	struct haven_alert_new a = {.patient_id = patient,
	                            .kind = kind,
	                            .severity = severity,
	                            .reasons = reasons,
	                            .source = source,
	                            .dedup_key = dedup};
	int64_t id = 0;
	int created = 0;
	/* One alert per rule and key, whatever became of it: once a clinician has resolved
	 * this week's mood_decline (or this gap's disengagement), the rule does not raise it
	 * again with every check-in or sweep; next week's key can. haven_alert_raise's own
	 * dedup only looks at alerts still open. */
	struct haven_param q[] = {HAVEN_P_INT(patient), HAVEN_P_TEXT(kind), HAVEN_P_TEXT(dedup)};
	int rc = haven_tx_query_int(tx,
	                            "SELECT id FROM alerts WHERE patient_id = ? AND kind = ? AND "
	                            "dedup_key = ? ORDER BY id DESC LIMIT 1",
	                            q, 3, &id);
	if (rc == HAVEN_ENOTFOUND)
		rc = haven_alert_raise(tx, mk, &a, &id, &created);
	if (!rc && created && raised)
		(*raised)++;
	if (!rc && alerts &&
	    json_array_append_new(alerts, json_pack("{s:I,s:s,s:s,s:b,s:O}", "id", (json_int_t)id,
	                                            "kind", kind, "severity", severity, "new",
	                                            created, "reasons", reasons)))
		rc = HAVEN_ENOMEM;
	json_decref(reasons);
	return rc;
}

/* "<kind>:<date of the Monday of today's week>": one open alert per rule and week. */
static void week_key(char *out, size_t len, const char *kind, int64_t today)
{
	char date[11];
	haven_local_date(today - haven_local_weekday(today), date);
	snprintf(out, len, "%s:%s", kind, date);
}

static double r1(double x)
{
	return round(x * 10.0) / 10.0;
}

static int rule_mood(struct haven_tx *tx, const struct haven_master_key *mk,
                     const struct haven_monitor_config *c, const struct pdata *d, json_t *alerts,
                     int *raised)
{
	if (!c->mood.enabled || !d->nck)
		return 0;
	struct haven_obs *obs = malloc(d->nck * sizeof(*obs));
	if (!obs)
		return HAVEN_ENOMEM;
	for (size_t i = 0; i < d->nck; i++)
		obs[i] =
		    (struct haven_obs){haven_local_day(d->ck[i].at_ms, d->offset), d->ck[i].mood};
	struct haven_mood_eval e;
	haven_monitor_mood_eval(c, obs, d->nck, d->today, &e);
	free(obs);
	if (!e.fired)
		return 0;
	char text[600];
	json_t *values;
	if (c->mood.method == HAVEN_MOOD_METHOD_EWMA) {
		snprintf(
		    text, sizeof(text),
		    "Mood in check-ins has fallen below this person's usual level. Over the last "
		    "%d days (%d check-ins on %d days) the smoothed mood (EWMA) is %.1f out of 10, "
		    "against a usual %.1f (spread %.1f) from %d check-ins in the %d days before: "
		    "a drop of %.1f points, past this clinic's limit of %.1f.",
		    c->mood.recent_days, e.n_recent, e.recent_days_with_checkins, e.ewma,
		    e.baseline_mean, e.baseline_sd, e.n_baseline, c->mood.baseline_days, e.drop,
		    e.baseline_mean - e.ewma_limit);
		values = json_pack("{s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:i,s:i,s:i,s:i,s:i}", "method",
		                   "ewma", "ewma", r1(e.ewma), "baseline_mean", r1(e.baseline_mean),
		                   "baseline_sd", r1(e.baseline_sd), "drop", r1(e.drop), "limit",
		                   r1(e.ewma_limit), "alpha", c->mood.ewma_alpha, "recent_checkins",
		                   e.n_recent, "baseline_checkins", e.n_baseline, "recent_days",
		                   c->mood.recent_days, "baseline_days", c->mood.baseline_days,
		                   "recent_days_with_checkins", e.recent_days_with_checkins);
	} else {
		snprintf(
		    text, sizeof(text),
		    "Mood in check-ins has stayed below this person's usual level. Over the last "
		    "%d days (%d check-ins on %d days) mood averaged %.1f out of 10, against a "
		    "usual %.1f (spread %.1f) from %d check-ins in the %d days before; the running "
		    "shortfall (CUSUM) reached %.1f, past this clinic's limit of %.1f.",
		    c->mood.recent_days, e.n_recent, e.recent_days_with_checkins, e.recent_mean,
		    e.baseline_mean, e.baseline_sd, e.n_baseline, c->mood.baseline_days, e.cusum,
		    c->mood.cusum_h);
		values = json_pack(
		    "{s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:i,s:i,s:i,s:i,s:i}", "method", "cusum",
		    "cusum", r1(e.cusum), "cusum_h", c->mood.cusum_h, "cusum_k", c->mood.cusum_k,
		    "recent_mean", r1(e.recent_mean), "baseline_mean", r1(e.baseline_mean),
		    "baseline_sd", r1(e.baseline_sd), "drop", r1(e.drop), "recent_checkins",
		    e.n_recent, "baseline_checkins", e.n_baseline, "recent_days",
		    c->mood.recent_days, "baseline_days", c->mood.baseline_days,
		    "recent_days_with_checkins", e.recent_days_with_checkins);
	}
	char key[64];
	week_key(key, sizeof(key), "mood_decline", d->today);
	return raise_alert(tx, mk, d->patient, "mood_decline", "warning",
	                   json_pack("{s:s,s:s,s:s,s:o}", "text", text, "rule", "mood_decline",
	                             "version", HAVEN_MONITOR_VERSION, "values", values),
	                   key, alerts, raised);
}

static int rule_sleep(struct haven_tx *tx, const struct haven_master_key *mk,
                      const struct haven_monitor_config *c, const struct pdata *d, json_t *alerts,
                      int *raised)
{
	if (!c->sleep.enabled)
		return 0;
	/* One value per day: sensed sleep when there is any, else the check-ins' mean. */
	int64_t first = d->today - (c->sleep.baseline_days + c->sleep.recent_days) + 1;
	size_t nd = (size_t)(d->today - first + 1), n = 0;
	struct haven_obs *days = calloc(nd, sizeof(*days));
	if (!days)
		return HAVEN_ENOMEM;
	int sensed_days = 0;
	for (size_t i = 0; i < nd; i++) {
		int64_t day = first + (int64_t)i;
		double v = -1;
		if (d->sd && day >= d->sd[0].day && day <= d->sd[d->nsd - 1].day) {
			const struct haven_sensing_day *s = &d->sd[day - d->sd[0].day];
			if (s->count[HAVEN_SENSING_SLEEP_MINUTES]) {
				v = s->value[HAVEN_SENSING_SLEEP_MINUTES] / 60.0;
				sensed_days++;
			}
		}
		if (v < 0) {
			double sum = 0;
			int cnt = 0;
			for (size_t k = 0; k < d->nck; k++)
				if (d->ck[k].sleep_hours >= 0 &&
				    haven_local_day(d->ck[k].at_ms, d->offset) == day) {
					sum += d->ck[k].sleep_hours;
					cnt++;
				}
			if (cnt)
				v = sum / cnt;
		}
		if (v >= 0)
			days[n++] = (struct haven_obs){day, v};
	}
	struct haven_baseline_eval e;
	haven_monitor_baseline_eval(days, n, d->today, c->sleep.baseline_days, c->sleep.recent_days,
	                            c->sleep.min_baseline_days, c->sleep.min_recent_days, &e);
	free(days);
	double drop = e.baseline_mean - e.recent_mean;
	if (!e.enough || drop < c->sleep.drop_hours - 1e-9)
		return 0;
	char text[600];
	snprintf(text, sizeof(text),
	         "Sleep has been shorter than this person's usual. Over the last %d days (%d with "
	         "data) sleep averaged %.1f hours a night, against a usual %.1f hours over %d days "
	         "in the %d days before: %.1f hours less, past this clinic's limit of %.1f hours. "
	         "Sleep is taken from sensed sleep where there is any, else from check-ins.",
	         c->sleep.recent_days, e.recent_days, e.recent_mean, e.baseline_mean,
	         e.baseline_days, c->sleep.baseline_days, drop, c->sleep.drop_hours);
	char key[64];
	week_key(key, sizeof(key), "sleep_low", d->today);
	return raise_alert(
	    tx, mk, d->patient, "sleep_low", "warning",
	    json_pack("{s:s,s:s,s:s,s:{s:f,s:f,s:f,s:f,s:i,s:i,s:i,s:i,s:i}}", "text", text, "rule",
	              "sleep_low", "version", HAVEN_MONITOR_VERSION, "values", "recent_mean_hours",
	              r1(e.recent_mean), "baseline_mean_hours", r1(e.baseline_mean), "drop_hours",
	              r1(drop), "limit_hours", c->sleep.drop_hours, "recent_days_with_data",
	              e.recent_days, "recent_days_missing", e.recent_missing,
	              "baseline_days_with_data", e.baseline_days, "sensed_days", sensed_days,
	              "recent_days", c->sleep.recent_days),
	    key, alerts, raised);
}

static int rule_activity(struct haven_tx *tx, const struct haven_master_key *mk,
                         const struct haven_monitor_config *c, const struct pdata *d,
                         json_t *alerts, int *raised)
{
	if (!c->activity.enabled || !d->sd)
		return 0;
	struct haven_obs *days = calloc(d->nsd, sizeof(*days));
	size_t n = 0;
	if (!days)
		return HAVEN_ENOMEM;
	for (size_t i = 0; i < d->nsd; i++)
		if (d->sd[i].count[HAVEN_SENSING_STEPS])
			days[n++] =
			    (struct haven_obs){d->sd[i].day, d->sd[i].value[HAVEN_SENSING_STEPS]};
	struct haven_baseline_eval e;
	haven_monitor_baseline_eval(days, n, d->today, c->activity.baseline_days,
	                            c->activity.recent_days, c->activity.min_baseline_days,
	                            c->activity.min_recent_days, &e);
	free(days);
	if (!e.enough || e.baseline_mean < c->activity.min_baseline_steps ||
	    e.recent_mean > e.baseline_mean * (1 - c->activity.drop_fraction) + 1e-9)
		return 0;
	double pct = 100.0 * e.recent_mean / e.baseline_mean;
	char text[600];
	snprintf(text, sizeof(text),
	         "Activity is far below this person's usual. Over the last %d days (%d with data, "
	         "%d without) steps averaged %.0f a day, against a usual %.0f a day over %d days "
	         "in the %d days before: %.0f%% of usual, at or under this clinic's limit of "
	         "%.0f%%.",
	         c->activity.recent_days, e.recent_days, e.recent_missing, e.recent_mean,
	         e.baseline_mean, e.baseline_days, c->activity.baseline_days, pct,
	         100.0 * (1 - c->activity.drop_fraction));
	char key[64];
	week_key(key, sizeof(key), "activity_low", d->today);
	return raise_alert(tx, mk, d->patient, "activity_low", "warning",
	                   json_pack("{s:s,s:s,s:s,s:{s:f,s:f,s:f,s:f,s:i,s:i,s:i,s:i}}", "text",
	                             text, "rule", "activity_low", "version", HAVEN_MONITOR_VERSION,
	                             "values", "recent_mean_steps", round(e.recent_mean),
	                             "baseline_mean_steps", round(e.baseline_mean),
	                             "percent_of_usual", r1(pct), "limit_percent",
	                             100.0 * (1 - c->activity.drop_fraction),
	                             "recent_days_with_data", e.recent_days, "recent_days_missing",
	                             e.recent_missing, "baseline_days_with_data", e.baseline_days,
	                             "recent_days", c->activity.recent_days),
	                   key, alerts, raised);
}

/* When the patient joined care, for someone who has never checked in: the latest of the
 * account's creation, the acceptance of the invitation that joined them to a care team,
 * and the opening of the episode of care still open. *basis names which one. */
static int joined_at(struct haven_tx *tx, int64_t patient, int64_t *at, const char **basis)
{
	struct haven_param p[] = {HAVEN_P_INT(patient)};
	int64_t created = 0, invited = 0, opened = 0;
	int rc = haven_tx_query_int(tx, "SELECT created_at FROM users WHERE id = ?", p, 1, &created);
	if (!rc)
		rc = haven_tx_query_int(tx,
		                        "SELECT COALESCE(MAX(used_at), 0) FROM invitations WHERE "
		                        "used_by = ?",
		                        p, 1, &invited);
	if (!rc)
		rc = haven_tx_query_int(tx,
		                        "SELECT COALESCE(MAX(opened_at), 0) FROM episodes WHERE "
		                        "patient_id = ? AND closed_at IS NULL",
		                        p, 1, &opened);
	if (rc)
		return rc;
	*at = created;
	*basis = "account_created";
	if (invited > *at) {
		*at = invited;
		*basis = "invitation_accepted";
	}
	if (opened > *at) {
		*at = opened;
		*basis = "episode_opened";
	}
	return 0;
}

static const char *joined_words(const char *basis)
{
	return !strcmp(basis, "episode_opened")        ? "their episode of care was opened"
	       : !strcmp(basis, "invitation_accepted") ? "they accepted their invitation"
	                                               : "their account was created";
}

/* No check-in for N whole days: counted from the last check-in, or, for someone who has
 * never checked in, from the day they joined (joined_at), which counts like a check-in
 * day. Without that second clock the people least engaged of all, those who never
 * started, would never be noticed. */
static int rule_disengagement(struct haven_tx *tx, const struct haven_master_key *mk,
                              const struct haven_monitor_config *c, int64_t patient, int64_t now,
                              json_t *alerts, int *raised)
{
	if (!c->disengagement.enabled)
		return 0;
	struct haven_missed m;
	int rc = haven_checkins_missed(tx, patient, now, 28, &m);
	if (rc)
		return rc;
	int64_t from_ms = m.last_checkin_at;
	const char *basis = "last_checkin";
	if (!from_ms && (rc = joined_at(tx, patient, &from_ms, &basis)))
		return rc;
	int64_t today = haven_local_day(now, m.utc_offset_minutes);
	int64_t from_day = haven_local_day(from_ms, m.utc_offset_minutes);
	int64_t gap = today - from_day - 1; /* whole days since, today not counted */
	if (gap < c->disengagement.days)
		return 0;
	char from[11];
	haven_local_date(from_day, from);
	char text[600], key[64];
	json_t *values;
	if (m.last_checkin_at) {
		snprintf(text, sizeof(text),
		         "No check-in for %lld days: the last one was on %s. This clinic's limit is "
		         "%d days. Over the last %d days, %d of %d scheduled check-in days were "
		         "missed.",
		         (long long)gap, from, c->disengagement.days, m.window_days,
		         m.expected - m.checked_in, m.expected);
		snprintf(key, sizeof(key), "disengagement:%s", from);
		values = json_pack("{s:I,s:s,s:i,s:i,s:i,s:i,s:i}", "days_without_checkin",
		                   (json_int_t)gap, "last_checkin_date", from, "limit_days",
		                   c->disengagement.days, "window_days", m.window_days,
		                   "scheduled_days", m.expected, "missed_days",
		                   m.expected - m.checked_in, "consecutive_missed", m.consecutive);
	} else {
		snprintf(text, sizeof(text),
		         "No check-in at all since joining: %s on %s, %lld days ago. This clinic's "
		         "limit is %d days.",
		         joined_words(basis), from, (long long)gap, c->disengagement.days);
		/* One alert per start of care: a new episode or invitation may raise it again. */
		snprintf(key, sizeof(key), "disengagement:joined:%s:%s", basis, from);
		values = json_pack("{s:I,s:n,s:s,s:s,s:i,s:i,s:i,s:i,s:i}", "days_without_checkin",
		                   (json_int_t)gap, "last_checkin_date", "joined_date", from,
		                   "counted_from", basis, "limit_days", c->disengagement.days,
		                   "window_days", m.window_days, "scheduled_days", m.expected,
		                   "missed_days", m.expected - m.checked_in, "consecutive_missed",
		                   m.consecutive);
	}
	if (!values)
		return HAVEN_ENOMEM;
	return raise_alert(tx, mk, patient, "disengagement", "info",
	                   json_pack("{s:s,s:s,s:s,s:o}", "text", text, "rule", "disengagement",
	                             "version", HAVEN_MONITOR_VERSION, "values", values),
	                   key, alerts, raised);
}

/* The patient's PHQ-9 totals (decrypted), any order; *out is malloc'd. */
static int load_phq9(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient,
                     struct haven_risk_phq9 **out, size_t *n)
{
	struct haven_assessment *as = NULL;
	size_t na = 0;
	*out = NULL;
	*n = 0;
	int rc = haven_assessments_load(tx, mk, patient, &as, &na);
	if (rc == HAVEN_ENOTFOUND) {
		na = 0;
		rc = 0;
	}
	if (rc)
		return rc;
	struct haven_risk_phq9 *ph = malloc((na ? na : 1) * sizeof(*ph));
	if (!ph) {
		free(as);
		return HAVEN_ENOMEM;
	}
	for (size_t i = 0; i < na; i++)
		if (!strcmp(as[i].instrument->id, "phq9"))
			ph[(*n)++] = (struct haven_risk_phq9){as[i].created_at, as[i].total};
	free(as);
	*out = ph;
	return 0;
}

/* The features and score of the patient at d->now (d loaded with >= 35 days). */
static int risk_compute(struct haven_tx *tx, const struct haven_master_key *mk,
                        const struct haven_monitor_config *c, const struct pdata *d,
                        struct haven_risk_features *f, struct haven_risk_score *s)
{
	struct haven_risk_phq9 *ph = d->ph, *own = NULL;
	size_t np = d->nph;
	if (!d->ph_loaded) {
		int rc = load_phq9(tx, mk, d->patient, &own, &np);
		if (rc)
			return rc;
		ph = own;
	}
	haven_risk_features_compute(ph, np, d->ck, d->nck, d->now, c->mood.ewma_alpha, f);
	free(own);
	haven_risk_score(&c->risk.model, f, s);
	return 0;
}

static int rule_risk(struct haven_tx *tx, const struct haven_master_key *mk,
                     const struct haven_monitor_config *c, const struct pdata *d, json_t *alerts,
                     int *raised)
{
	if (!c->risk.enabled)
		return 0;
	struct haven_risk_features f;
	struct haven_risk_score s;
	int rc = risk_compute(tx, mk, c, d, &f, &s);
	int any = 0;
	for (int i = 0; i < HAVEN_RISK_NFEATURES; i++)
		any |= f.present[i];
	/* Nothing known about the person: the score is the intercept, not a finding. */
	if (rc || !any || s.probability < c->risk.threshold)
		return rc;
	json_t *detail = haven_risk_score_json(&c->risk.model, &f, &s, c->risk.threshold);
	if (!detail)
		return HAVEN_ENOMEM;
	/* The two largest contributions, in words. */
	json_t *feats = json_object_get(detail, "features");
	char top[300] = "";
	size_t off = 0;
	for (size_t i = 0; i < 2 && i < json_array_size(feats); i++) {
		json_t *ft = json_array_get(feats, i);
		double contrib = json_real_value(json_object_get(ft, "contribution"));
		if (contrib <= 0)
			break;
		json_t *v = json_object_get(ft, "value");
		int w =
		    snprintf(top + off, sizeof(top) - off, "%s%s (%s %.2f, adds %.2f)",
		             i ? "; " : "", json_string_value(json_object_get(ft, "description")),
		             "value", json_is_number(v) ? json_number_value(v) : 0.0, contrib);
		if (w < 0 || (size_t)w >= sizeof(top) - off)
			break;
		off += (size_t)w;
	}
	char text[700];
	snprintf(text, sizeof(text),
	         "The deterioration-risk score is %.2f, at or above this clinic's threshold of "
	         "%.2f: the estimated chance of a reliable worsening on PHQ-9 within %d days. "
	         "What raises it most: %s. The score is a prompt to look, not a judgement.",
	         s.probability, c->risk.threshold, HAVEN_RISK_HORIZON_DAYS,
	         top[0] ? top : "no single feature stands out");
	char key[64];
	week_key(key, sizeof(key), "deterioration_risk", d->today);
	return raise_alert(tx, mk, d->patient, "deterioration_risk", "warning",
	                   json_pack("{s:s,s:s,s:s,s:o}", "text", text, "rule",
	                             "deterioration_risk", "version", HAVEN_MONITOR_VERSION,
	                             "values", detail),
	                   key, alerts, raised);
}

static int window_days(const struct haven_monitor_config *c)
{
	int w = 36; /* the risk features look back 35 days */
	w = w > c->mood.baseline_days + c->mood.recent_days
	        ? w
	        : c->mood.baseline_days + c->mood.recent_days;
	w = w > c->sleep.baseline_days + c->sleep.recent_days
	        ? w
	        : c->sleep.baseline_days + c->sleep.recent_days;
	w = w > c->activity.baseline_days + c->activity.recent_days
	        ? w
	        : c->activity.baseline_days + c->activity.recent_days;
	return w + 1;
}

int haven_monitor_after_checkin(struct haven_tx *tx, const struct haven_master_key *mk,
                                int64_t patient_id, int64_t now_ms, json_t *alerts)
{
	struct haven_monitor_config c;
	struct pdata d;
	int rc = rules_config(tx, &c);
	if (rc || (!c.mood.enabled && !c.sleep.enabled && !c.risk.enabled))
		return rc;
	rc = pdata_load(tx, mk, patient_id, now_ms, window_days(&c), c.sleep.enabled,
	                RULE_MAX_CHECKINS, &d);
	if (!rc)
		rc = rule_mood(tx, mk, &c, &d, alerts, NULL);
	if (!rc)
		rc = rule_sleep(tx, mk, &c, &d, alerts, NULL);
	if (!rc)
		rc = rule_risk(tx, mk, &c, &d, alerts, NULL);
	pdata_release(&d);
	return rc;
}

struct haven_monitor_prep {
	struct haven_monitor_config c;
	struct pdata d;
	const struct haven_master_key *mk;
	int skip;
};

int haven_monitor_checkin_prepare(struct haven_tx *tx, const struct haven_master_key *mk,
                                  int64_t patient_id, int64_t now_ms,
                                  struct haven_monitor_prep **out)
{
	*out = NULL;
	struct haven_monitor_prep *p = calloc(1, sizeof(*p));
	if (!p)
		return HAVEN_ENOMEM;
	p->mk = mk;
	int rc = rules_config(tx, &p->c);
	if (rc || (!p->c.mood.enabled && !p->c.sleep.enabled && !p->c.risk.enabled)) {
		p->skip = 1;
	} else {
		rc = pdata_load(tx, mk, patient_id, now_ms, window_days(&p->c), p->c.sleep.enabled,
		                RULE_MAX_CHECKINS, &p->d);
		if (!rc && p->c.risk.enabled) {
			rc = load_phq9(tx, mk, patient_id, &p->d.ph, &p->d.nph);
			p->d.ph_loaded = !rc;
		}
	}
	if (rc) {
		haven_monitor_prep_destroy(&p);
		return rc;
	}
	*out = p;
	return 0;
}

int haven_monitor_checkin_apply(struct haven_tx *tx, struct haven_monitor_prep *p, int64_t at_ms,
                                double mood, double sleep_hours, json_t *alerts)
{
	if (p->skip)
		return 0;
	struct pdata *d = &p->d;
	if (d->nck == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		void *q = realloc(d->ck, cap * sizeof(*d->ck));
		if (!q)
			return HAVEN_ENOMEM;
		d->ck = q;
		d->cap = cap;
	}
	d->ck[d->nck++] = (struct haven_risk_checkin){at_ms, mood, sleep_hours};
	d->now = at_ms;
	d->today = haven_local_day(at_ms, d->offset);
	int rc = rule_mood(tx, p->mk, &p->c, d, alerts, NULL);
	if (!rc)
		rc = rule_sleep(tx, p->mk, &p->c, d, alerts, NULL);
	if (!rc)
		rc = rule_risk(tx, p->mk, &p->c, d, alerts, NULL);
	return rc;
}

void haven_monitor_prep_destroy(struct haven_monitor_prep **pp)
{
	if (!*pp)
		return;
	pdata_release(&(*pp)->d);
	free(*pp);
	*pp = NULL;
}

int haven_monitor_after_sensing(struct haven_tx *tx, const struct haven_master_key *mk,
                                int64_t patient_id, int64_t now_ms, json_t *alerts)
{
	struct haven_monitor_config c;
	struct pdata d;
	int rc = rules_config(tx, &c);
	if (rc || (!c.sleep.enabled && !c.activity.enabled))
		return rc;
	rc = pdata_load(tx, mk, patient_id, now_ms, window_days(&c), 1, RULE_MAX_CHECKINS, &d);
	if (!rc)
		rc = rule_sleep(tx, mk, &c, &d, alerts, NULL);
	if (!rc)
		rc = rule_activity(tx, mk, &c, &d, alerts, NULL);
	pdata_release(&d);
	return rc;
}

int haven_monitor_risk_json(struct haven_tx *tx, const struct haven_master_key *mk,
                            int64_t patient_id, int64_t now_ms, json_t **out)
{
	*out = NULL;
	struct haven_monitor_config c;
	struct pdata d;
	int rc = rules_config(tx, &c);
	if (rc)
		return rc;
	rc = pdata_load(tx, mk, patient_id, now_ms, 36, 0, RULE_MAX_CHECKINS, &d);
	struct haven_risk_features f;
	struct haven_risk_score s;
	if (!rc)
		rc = risk_compute(tx, mk, &c, &d, &f, &s);
	pdata_release(&d);
	if (rc)
		return rc;
	*out = haven_risk_score_json(&c.risk.model, &f, &s, c.risk.threshold);
	if (*out)
		json_object_set_new(*out, "enabled", json_boolean(c.risk.enabled));
	return *out ? 0 : HAVEN_ENOMEM;
}

/* ---- The sweep ---- */

struct ids {
	int64_t *v;
	size_t n, cap;
};

static int id_row(const struct haven_row *row, void *arg)
{
	struct ids *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		void *p = realloc(l->v, cap * sizeof(*l->v));
		if (!p)
			return HAVEN_ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = haven_row_int(row, 0);
	return 0;
}

static int list_patients(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(tx,
	                      "SELECT id FROM users WHERE role = 'patient' AND disabled = 0 ORDER "
	                      "BY id",
	                      NULL, 0, id_row, arg);
}

struct sweep_one {
	const struct haven_master_key *mk;
	int64_t patient, now;
	int raised;
};

static int sweep_tx(struct haven_tx *tx, void *arg)
{
	struct sweep_one *s = arg;
	struct haven_monitor_config c;
	int rc = rules_config(tx, &c);
	if (!rc)
		rc = rule_disengagement(tx, s->mk, &c, s->patient, s->now, NULL, &s->raised);
	if (!rc && c.risk.enabled) {
		struct pdata d;
		rc = pdata_load(tx, s->mk, s->patient, s->now, 36, 0, RULE_MAX_CHECKINS, &d);
		if (!rc)
			rc = rule_risk(tx, s->mk, &c, &d, NULL, &s->raised);
		pdata_release(&d);
	}
	return rc;
}

int haven_monitor_sweep(struct haven_store *store, const struct haven_master_key *mk,
                        int64_t now_ms, struct haven_monitor_sweep_stats *stats)
{
	struct ids l = {0};
	memset(stats, 0, sizeof(*stats));
	int rc = haven_store_read(store, list_patients, &l);
	if (rc) {
		free(l.v);
		return rc;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct sweep_one s = {.mk = mk, .patient = l.v[i], .now = now_ms};
		stats->patients++;
		int r = haven_store_write(store, sweep_tx, &s);
		if (r) {
			stats->errors++;
			haven_log(HAVEN_LOG_WARN,
			          "event=monitor.sweep.patient_failed patient=%lld err=%s",
			          (long long)l.v[i], haven_strerror(r));
			continue;
		}
		stats->raised += s.raised;
	}
	free(l.v);
	return 0;
}

/* ---- Training export ---- */

static int list_research(struct haven_tx *tx, void *arg)
{
	/* the latest research consent of each patient is a grant */
	return haven_tx_query(tx,
	                      "SELECT u.id FROM users u WHERE u.role = 'patient' AND (SELECT "
	                      "c.granted FROM consents c WHERE c.patient_id = u.id AND c.scope = "
	                      "'research' ORDER BY c.id DESC LIMIT 1) = 1 ORDER BY u.id",
	                      NULL, 0, id_row, arg);
}

struct export_one {
	const struct haven_master_key *mk;
	int64_t patient, now, written;
	FILE *out;
};

static int export_tx(struct haven_tx *tx, void *arg)
{
	struct export_one *e = arg;
	struct haven_monitor_config c;
	int rc = rules_config(tx, &c);
	if (rc)
		return rc;
	struct haven_assessment *as = NULL;
	size_t na = 0;
	rc = haven_assessments_load(tx, e->mk, e->patient, &as, &na);
	if (rc == HAVEN_ENOTFOUND) {
		na = 0;
		rc = 0;
	}
	if (rc)
		return rc;
	struct pdata d;
	/* the check-ins of the last ten years */
	rc = pdata_load(tx, e->mk, e->patient, e->now, 3660, 0, 50000, &d);
	struct haven_risk_phq9 *ph = malloc((na ? na : 1) * sizeof(*ph));
	size_t np = 0;
	if (!rc && !ph)
		rc = HAVEN_ENOMEM;
	for (size_t i = 0; !rc && i < na; i++)
		if (!strcmp(as[i].instrument->id, "phq9"))
			ph[np++] = (struct haven_risk_phq9){as[i].created_at, as[i].total};
	free(as);
	int64_t horizon = (int64_t)HAVEN_RISK_HORIZON_DAYS * HAVEN_DAY_MS;
	for (size_t i = 0; !rc && i < np; i++) {
		if (ph[i].at_ms + horizon > e->now)
			continue; /* not yet followed up for the whole horizon */
		struct haven_risk_example ex = {0};
		haven_risk_features_compute(ph, np, d.ck, d.nck, ph[i].at_ms, c.mood.ewma_alpha,
		                            &ex.f);
		for (size_t k = 0; k < np; k++)
			if (ph[k].at_ms > ph[i].at_ms && ph[k].at_ms <= ph[i].at_ms + horizon &&
			    ph[k].total >= ph[i].total + 6)
				ex.label = 1;
		rc = haven_risk_example_write(e->out, &ex);
		if (!rc)
			e->written++;
	}
	free(ph);
	pdata_release(&d);
	if (rc)
		return rc;
	char subject[48], detail[48];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)e->patient);
	snprintf(detail, sizeof(detail), "examples=%lld", (long long)e->written);
	struct haven_audit_event ev = {.actor_id = 0,
	                               .actor_role = "system",
	                               .action = "monitoring.training_export",
	                               .subject = subject,
	                               .outcome = "ok",
	                               .request_id = "cli",
	                               .detail = detail};
	return haven_audit_append(tx, &ev);
}

int haven_monitor_export_training(struct haven_store *store, const struct haven_master_key *mk,
                                  int64_t now_ms, FILE *out, int64_t *examples, int64_t *patients)
{
	struct ids l = {0};
	*examples = *patients = 0;
	int rc = haven_store_read(store, list_research, &l);
	for (size_t i = 0; !rc && i < l.n; i++) {
		struct export_one e = {.mk = mk, .patient = l.v[i], .now = now_ms, .out = out};
		rc = haven_store_write(store, export_tx, &e);
		if (!rc) {
			*examples += e.written;
			(*patients)++;
		}
	}
	free(l.v);
	return rc;
}

/* ---- The sweep thread ---- */

struct haven_monitor_sweeper {
	struct haven_store *store;
	const struct haven_master_key *mk;
	int64_t interval_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

static int interval_tx(struct haven_tx *tx, void *arg)
{
	struct haven_monitor_config c;
	int rc = rules_config(tx, &c);
	*(int64_t *)arg = (int64_t)c.sweep_minutes * 60000;
	return rc;
}

static void *sweeper_main(void *arg)
{
	struct haven_monitor_sweeper *s = arg;
	for (;;) {
		int64_t t0 = haven_monotonic_ns();
		struct haven_monitor_sweep_stats st;
		int rc = haven_monitor_sweep(s->store, s->mk, haven_now_ms(), &st);
		if (rc)
			haven_log(HAVEN_LOG_WARN, "event=monitor.sweep.failed err=%s",
			          haven_strerror(rc));
		else
			haven_log(
			    HAVEN_LOG_INFO,
			    "event=monitor.sweep patients=%lld raised=%lld errors=%lld ms=%lld",
			    (long long)st.patients, (long long)st.raised, (long long)st.errors,
			    (long long)((haven_monotonic_ns() - t0) / 1000000));
		int64_t wait_ms = s->interval_ms;
		if (wait_ms <= 0 && haven_store_read(s->store, interval_tx, &wait_ms))
			wait_ms = 60 * 60000;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(wait_ms / 1000);
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->mu);
		while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
			;
		int stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
	}
	return NULL;
}

int haven_monitor_sweeper_start(struct haven_store *store, const struct haven_master_key *mk,
                                int64_t interval_ms, struct haven_monitor_sweeper **out)
{
	*out = NULL;
	struct haven_monitor_sweeper *s = calloc(1, sizeof(*s));
	if (!s)
		return HAVEN_ENOMEM;
	s->store = store;
	s->mk = mk;
	s->interval_ms = interval_ms;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, sweeper_main, s)) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		return HAVEN_ENOMEM;
	}
	*out = s;
	return 0;
}

void haven_monitor_sweeper_stop(struct haven_monitor_sweeper **sp)
{
	struct haven_monitor_sweeper *s = *sp;
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	*sp = NULL;
}
