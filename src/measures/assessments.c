/*
 * assessments.c: assessments and episodes of care in the store.
 *
 * An assessment row keeps in clear only what queues and consent rules need: the
 * patient, the episode, the instrument, the time and a "safety" flag (a PHQ-9 item 9
 * answer above 0, the same fact the phq9_item9 alert already records in clear). The
 * answers and the total are sealed together under the patient's data key (table
 * "assessments", field "payload") as {"answers": [...], "total": N}.
 *
 * Alerts are raised with haven_alert_raise() inside the transaction that stores the
 * assessment, so the answer and its alert commit together or not at all.
 */
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "audit/audit.h"
#include "crypto/keyring.h"
#include "measures/measures.h"

json_t *haven_time_json(int64_t ms)
{
	char t[32];
	haven_time_format(ms, t);
	return json_string(t);
}

/* ---- Episodes ---- */

static int open_episode_id(struct haven_tx *tx, int64_t patient_id, int64_t *id)
{
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	return haven_tx_query_int(tx,
	                          "SELECT id FROM episodes WHERE patient_id = ? AND closed_at IS "
	                          "NULL ORDER BY id DESC LIMIT 1",
	                          p, 1, id);
}

int haven_episode_open(struct haven_tx *tx, int64_t patient_id, int64_t by, int64_t now,
                       int64_t *id)
{
	int64_t existing;
	int rc = open_episode_id(tx, patient_id, &existing);
	if (rc == 0) {
		*id = existing;
		return HAVEN_ECONFLICT;
	}
	if (rc != HAVEN_ENOTFOUND)
		return rc;
	struct haven_param p[] = {HAVEN_P_INT(patient_id), HAVEN_P_INT(now),
	                          by > 0 ? HAVEN_P_INT(by) : HAVEN_P_NULL};
	return haven_tx_query_int(tx,
	                          "INSERT INTO episodes (patient_id, opened_at, opened_by) VALUES "
	                          "(?, ?, ?) RETURNING id",
	                          p, 3, id);
}

int haven_episode_close(struct haven_tx *tx, int64_t patient_id, int64_t by, int64_t now,
                        int64_t *id)
{
	int rc = open_episode_id(tx, patient_id, id);
	if (rc)
		return rc;
	struct haven_param p[] = {HAVEN_P_INT(now), by > 0 ? HAVEN_P_INT(by) : HAVEN_P_NULL,
	                          HAVEN_P_INT(*id)};
	return haven_tx_exec(tx, "UPDATE episodes SET closed_at = ?, closed_by = ? WHERE id = ?",
	                     p, 3, NULL);
}

/* ---- Sealed payloads ---- */

static int payload_seal(const struct haven_data_key *dk, int64_t patient_id, const char *rid,
                        const int *answers, size_t n, int total, uint8_t **ct, size_t *ct_len)
{
	json_t *arr = json_array();
	if (!arr)
		return HAVEN_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_integer(answers[i]))) {
			json_decref(arr);
			return HAVEN_ENOMEM;
		}
	json_t *obj = json_pack("{s:o,s:i}", "answers", arr, "total", total);
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (!text)
		return HAVEN_ENOMEM;
	char ad[512];
	int rc = haven_crypto_ad(ad, sizeof(ad), "assessments", rid, patient_id, "payload");
	if (!rc)
		rc = haven_seal(dk, ad, text, strlen(text), ct, ct_len);
	haven_secret_free(text, strlen(text));
	return rc;
}

static int payload_open(const struct haven_data_key *dk, int64_t patient_id, const char *rid,
                        const uint8_t *ct, size_t ct_len, const struct haven_instrument *in,
                        struct haven_assessment *a)
{
	char ad[512];
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc = haven_crypto_ad(ad, sizeof(ad), "assessments", rid, patient_id, "payload");
	if (!rc)
		rc = haven_open(dk, ad, ct, ct_len, &pt, &pt_len);
	if (rc)
		return rc;
	json_error_t jerr;
	json_t *obj = json_loadb((const char *)pt, pt_len, 0, &jerr);
	haven_secret_free(pt, pt_len);
	json_t *arr = json_object_get(obj, "answers");
	json_t *tot = json_object_get(obj, "total");
	rc = HAVEN_ECORRUPT;
	if (!json_is_array(arr) || !json_is_integer(tot) || json_array_size(arr) != in->nitems)
		goto out;
	a->nanswers = in->nitems;
	for (size_t i = 0; i < in->nitems; i++) {
		json_t *v = json_array_get(arr, i);
		if (!json_is_integer(v))
			goto out;
		a->answers[i] = (int)json_integer_value(v);
	}
	a->total = (int)json_integer_value(tot);
	rc = 0;
out:
	json_decref(obj);
	return rc;
}

/* ---- Loading ---- */

struct load_ctx {
	const struct haven_data_key *dk;
	int64_t patient_id;
	struct haven_assessment *v;
	size_t n, cap;
	int rc;
};

static int load_row(const struct haven_row *row, void *arg)
{
	struct load_ctx *c = arg;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct haven_assessment *g = realloc(c->v, cap * sizeof(*g));
		if (!g)
			return HAVEN_ENOMEM;
		c->v = g;
		c->cap = cap;
	}
	struct haven_assessment *a = &c->v[c->n];
	memset(a, 0, sizeof(*a));
	a->id = haven_row_int(row, 0);
	const char *rid = haven_row_text(row, 1, NULL);
	haven_strlcpy(a->rid, rid ? rid : "", sizeof(a->rid));
	a->episode_id = haven_row_int(row, 2);
	a->instrument = haven_instrument_find(haven_row_text(row, 3, NULL));
	a->created_at = haven_row_int(row, 4);
	if (!a->instrument)
		return HAVEN_ECORRUPT;
	size_t len;
	const void *ct = haven_row_blob(row, 5, &len);
	int rc = payload_open(c->dk, c->patient_id, a->rid, ct, len, a->instrument, a);
	if (rc)
		return rc;
	c->n++;
	return 0;
}

int haven_assessments_load(struct haven_tx *tx, const struct haven_master_key *mk,
                           int64_t patient_id, struct haven_assessment **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct haven_data_key *dk = NULL;
	int rc = haven_keyring_get(tx, mk, patient_id, &dk);
	if (rc == HAVEN_ENOTFOUND)
		return 0; /* no key yet: nothing sealed, so no assessments */
	if (rc)
		return rc;
	struct load_ctx c = {.dk = dk, .patient_id = patient_id};
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	rc = haven_tx_query(tx,
	                    "SELECT id, rid, episode_id, instrument, created_at, payload FROM "
	                    "assessments WHERE patient_id = ? ORDER BY created_at, id",
	                    p, 1, load_row, &c);
	haven_data_key_destroy(&dk);
	if (rc) {
		free(c.v);
		return rc;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

/* ---- Recording ---- */

static json_t *change_json(const struct haven_instrument *in, int previous, int total)
{
	enum haven_reliable r = haven_instrument_reliable(in, previous, total);
	const char *name = haven_reliable_name(r);
	double sdiff = haven_instrument_sdiff(in);
	json_t *rci = sdiff > 0 ? json_real((double)(int64_t)((total - previous) / sdiff * 100 +
	                                                      (total >= previous ? 0.5 : -0.5)) /
	                                    100)
	                        : json_null();
	return json_pack("{s:i,s:i,s:o,s:s?}", "previous_total", previous, "difference",
	                 total - previous, "rci", rci, "reliable", name);
}

struct first_ctx {
	const struct haven_data_key *dk;
	int64_t patient_id;
	const struct haven_instrument *in;
	int found, total;
	int rc;
};

static int first_row(const struct haven_row *row, void *arg)
{
	struct first_ctx *c = arg;
	struct haven_assessment a;
	memset(&a, 0, sizeof(a));
	const char *rid = haven_row_text(row, 0, NULL);
	size_t len;
	const void *ct = haven_row_blob(row, 1, &len);
	int rc = payload_open(c->dk, c->patient_id, rid ? rid : "", ct, len, c->in, &a);
	if (rc)
		return rc;
	c->found = 1;
	c->total = a.total;
	return 0;
}

/* The total of the patient's latest (newest = 1) or the episode's first (newest = 0)
 * assessment of an instrument. */
static int some_total(struct haven_tx *tx, const struct haven_data_key *dk, int64_t patient_id,
                      const struct haven_instrument *in, int64_t episode_id, int *found,
                      int *total)
{
	struct first_ctx c = {.dk = dk, .patient_id = patient_id, .in = in};
	int rc;
	if (episode_id) {
		struct haven_param p[] = {HAVEN_P_INT(patient_id), HAVEN_P_TEXT(in->id),
		                          HAVEN_P_INT(episode_id)};
		rc = haven_tx_query(tx,
		                    "SELECT rid, payload FROM assessments WHERE patient_id = ? AND "
		                    "instrument = ? AND episode_id = ? ORDER BY created_at, id LIMIT 1",
		                    p, 3, first_row, &c);
	} else {
		struct haven_param p[] = {HAVEN_P_INT(patient_id), HAVEN_P_TEXT(in->id)};
		rc = haven_tx_query(tx,
		                    "SELECT rid, payload FROM assessments WHERE patient_id = ? AND "
		                    "instrument = ? ORDER BY created_at DESC, id DESC LIMIT 1",
		                    p, 2, first_row, &c);
	}
	*found = c.found;
	*total = c.total;
	return rc;
}

static int raise_one(struct haven_tx *tx, const struct haven_master_key *mk,
                     struct haven_alert_new *an, json_t *alerts)
{
	int64_t id = 0;
	int created = 0;
	int rc = haven_alert_raise(tx, mk, an, &id, &created);
	if (rc)
		return rc;
	json_t *a = json_pack("{s:I,s:s,s:s,s:O,s:b}", "id", (json_int_t)id, "kind", an->kind,
	                      "severity", an->severity, "reasons", an->reasons, "new", created);
	return a && json_array_append_new(alerts, a) == 0 ? 0 : HAVEN_ENOMEM;
}

static int raise_item9(struct haven_tx *tx, const struct haven_master_key *mk,
                       const struct haven_assessment_new *a, const char *source, int total,
                       json_t *alerts)
{
	const struct haven_instrument *in = a->instrument;
	int answer = a->answers[8];
	const char *label = "";
	for (size_t i = 0; i < in->noptions; i++)
		if (in->options[i].value == answer)
			label = in->options[i].label;
	char text[400];
	snprintf(text, sizeof(text),
	         "On PHQ-9 question 9 (thoughts of being better off dead, or of hurting "
	         "themselves in some way) the answer was \"%s\" (%d of 3). Any answer above 0 "
	         "on this question is a safety event for the care team to follow up today.",
	         label, answer);
	json_t *reasons = json_pack("[{s:s,s:s,s:{s:i,s:i,s:i,s:i}}]", "text", text, "rule",
	                            "phq9_item9_above_0", "values", "item", 9, "answer", answer,
	                            "threshold", 0, "total", total);
	if (!reasons)
		return HAVEN_ENOMEM;
	struct haven_alert_new an = {.patient_id = a->patient_id,
	                             .kind = "phq9_item9",
	                             .severity = "urgent",
	                             .reasons = reasons,
	                             .source = source};
	int rc = raise_one(tx, mk, &an, alerts);
	json_decref(reasons);
	return rc;
}

static int raise_deterioration(struct haven_tx *tx, const struct haven_master_key *mk,
                               const struct haven_assessment_new *a, const char *source,
                               int64_t episode_id, int baseline, int total, json_t *alerts)
{
	const struct haven_instrument *in = a->instrument;
	char text[400], dedup[64];
	double rci = (total - baseline) / haven_instrument_sdiff(in);
	snprintf(text, sizeof(text),
	         "%s went from %d at the start of this episode of care to %d, a rise of %d "
	         "points. A rise of %d or more is a reliable deterioration (NHS Talking "
	         "Therapies); the reliable change index is %.2f.",
	         in->title, baseline, total, total - baseline, in->reliable_change, rci);
	snprintf(dedup, sizeof(dedup), "episode:%lld:%s", (long long)episode_id, in->id);
	json_t *reasons = json_pack("[{s:s,s:s,s:{s:s,s:i,s:i,s:i,s:i,s:f}}]", "text", text,
	                            "rule", "reliable_deterioration", "values", "instrument",
	                            in->id, "baseline", baseline, "score", total, "change",
	                            total - baseline, "threshold", in->reliable_change, "rci",
	                            (double)(int64_t)(rci * 100 + 0.5) / 100);
	if (!reasons)
		return HAVEN_ENOMEM;
	struct haven_alert_new an = {.patient_id = a->patient_id,
	                             .kind = "reliable_deterioration",
	                             .severity = "warning",
	                             .reasons = reasons,
	                             .source = source,
	                             .dedup_key = dedup};
	int rc = raise_one(tx, mk, &an, alerts);
	json_decref(reasons);
	return rc;
}

int haven_assessment_record(struct haven_tx *tx, const struct haven_master_key *mk,
                            const struct haven_assessment_new *a,
                            struct haven_assessment_result *out)
{
	const struct haven_instrument *in = a->instrument;
	struct haven_data_key *dk = NULL;
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	char err[160];
	int rc, total;
	const struct haven_band *band;

	memset(out, 0, sizeof(*out));
	if ((rc = haven_instrument_score(in, a->answers, a->nanswers, &total, &band, err,
	                                 sizeof(err))))
		return rc;
	out->total = total;
	out->band = band;
	out->created_at = haven_now_ms();
	haven_record_id(out->rid);
	if (!(out->alerts = json_array()))
		return HAVEN_ENOMEM;

	rc = open_episode_id(tx, a->patient_id, &out->episode_id);
	if (rc == HAVEN_ENOTFOUND)
		rc = haven_episode_open(tx, a->patient_id, 0, out->created_at, &out->episode_id);
	if (rc)
		goto out;
	if ((rc = haven_keyring_get_or_create(tx, mk, a->patient_id, &dk)))
		goto out;

	int found, previous, baseline = 0, has_baseline = 0;
	if ((rc = some_total(tx, dk, a->patient_id, in, 0, &found, &previous)))
		goto out;
	out->has_previous = found;
	out->previous_total = previous;
	if (in->reliable_change &&
	    (rc = some_total(tx, dk, a->patient_id, in, out->episode_id, &has_baseline, &baseline)))
		goto out;

	int safety = !strcmp(in->id, "phq9") && a->answers[8] > 0;
	if ((rc = payload_seal(dk, a->patient_id, out->rid, a->answers, a->nanswers, total, &ct,
	                       &ct_len)))
		goto out;
	struct haven_param p[] = {HAVEN_P_TEXT(out->rid),         HAVEN_P_INT(a->patient_id),
	                          HAVEN_P_INT(out->episode_id),   HAVEN_P_TEXT(in->id),
	                          HAVEN_P_INT(safety),            HAVEN_P_INT(out->created_at),
	                          HAVEN_P_BLOB(ct, ct_len)};
	rc = haven_tx_query_int(tx,
	                        "INSERT INTO assessments (rid, patient_id, episode_id, instrument, "
	                        "safety, created_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?) "
	                        "RETURNING id",
	                        p, 7, &out->id);
	if (rc)
		goto out;

	char subject[48], detail[128], source[64];
	snprintf(subject, sizeof(subject), "patient:%lld", (long long)a->patient_id);
	snprintf(detail, sizeof(detail), "assessment=%lld instrument=%s episode=%lld",
	         (long long)out->id, in->id, (long long)out->episode_id);
	struct haven_audit_event ev = {a->actor_id,     a->actor_role ? a->actor_role : "patient",
	                               "assessment.write", subject,
	                               "ok",            a->request_id ? a->request_id : "",
	                               detail};
	if ((rc = haven_audit_append(tx, &ev)))
		goto out;

	snprintf(source, sizeof(source), "assessment:%s", out->rid);
	if (safety && (rc = raise_item9(tx, mk, a, source, total, out->alerts)))
		goto out;
	if (has_baseline &&
	    haven_instrument_reliable(in, baseline, total) == HAVEN_RELIABLE_DETERIORATION &&
	    (rc = raise_deterioration(tx, mk, a, source, out->episode_id, baseline, total,
	                              out->alerts)))
		goto out;
out:
	haven_data_key_destroy(&dk);
	free(ct);
	if (rc) {
		json_decref(out->alerts);
		out->alerts = NULL;
	}
	return rc;
}

/* ---- Reading ---- */

static json_t *assessment_json(const struct haven_assessment *a, const struct haven_assessment *prev)
{
	const struct haven_instrument *in = a->instrument;
	const struct haven_band *b = haven_instrument_band(in, a->total);
	json_t *answers = json_array();
	if (!answers)
		return NULL;
	for (size_t i = 0; i < a->nanswers; i++)
		if (json_array_append_new(answers, json_integer(a->answers[i]))) {
			json_decref(answers);
			return NULL;
		}
	json_t *o = json_pack("{s:I,s:s,s:o,s:i,s:s,s:I,s:o,s:o}", "id", (json_int_t)a->id,
	                      "instrument", in->id, "answers", answers, "total", a->total, "band",
	                      b ? b->name : "", "episode_id", (json_int_t)a->episode_id,
	                      "created_at", haven_time_json(a->created_at), "change",
	                      prev ? change_json(in, prev->total, a->total) : json_null());
	if (o && in->scale && json_object_set_new(o, "score_100", json_integer(a->total * in->scale))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int haven_assessments_json(struct haven_tx *tx, const struct haven_master_key *mk,
                           int64_t patient_id, json_t **out)
{
	struct haven_assessment *v = NULL;
	size_t n = 0;
	*out = NULL;
	int rc = haven_assessments_load(tx, mk, patient_id, &v, &n);
	if (rc)
		return rc;
	json_t *arr = json_array();
	rc = arr ? 0 : HAVEN_ENOMEM;
	for (size_t k = n; k-- > 0 && !rc;) {
		const struct haven_assessment *prev = NULL;
		for (size_t j = k; j-- > 0;)
			if (v[j].instrument == v[k].instrument) {
				prev = &v[j];
				break;
			}
		json_t *o = assessment_json(&v[k], prev);
		if (!o || json_array_append_new(arr, o))
			rc = HAVEN_ENOMEM;
	}
	free(v);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

json_t *haven_assessment_change_json(const struct haven_instrument *in, int previous, int total)
{
	return change_json(in, previous, total);
}

int haven_safety_events_json(struct haven_tx *tx, const struct haven_master_key *mk,
                             int64_t patient_id, json_t **out)
{
	struct haven_assessment *v = NULL;
	size_t n = 0;
	*out = NULL;
	int rc = haven_assessments_load(tx, mk, patient_id, &v, &n);
	if (rc)
		return rc;
	json_t *arr = json_array();
	rc = arr ? 0 : HAVEN_ENOMEM;
	for (size_t k = n; k-- > 0 && !rc;) {
		if (strcmp(v[k].instrument->id, "phq9") || v[k].answers[8] <= 0)
			continue;
		json_t *o = json_pack("{s:I,s:s,s:i,s:i,s:o}", "assessment_id", (json_int_t)v[k].id,
		                      "instrument", "phq9", "item", 9, "answer", v[k].answers[8],
		                      "created_at", haven_time_json(v[k].created_at));
		if (!o || json_array_append_new(arr, o))
			rc = HAVEN_ENOMEM;
	}
	free(v);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* ---- Outcomes ---- */

struct episode {
	int64_t id, opened_at, closed_at; /* closed_at 0 while open */
};

struct episode_list {
	struct episode *v;
	size_t n, cap;
};

static int episode_row(const struct haven_row *row, void *arg)
{
	struct episode_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct episode *g = realloc(l->v, cap * sizeof(*g));
		if (!g)
			return HAVEN_ENOMEM;
		l->v = g;
		l->cap = cap;
	}
	l->v[l->n].id = haven_row_int(row, 0);
	l->v[l->n].opened_at = haven_row_int(row, 1);
	l->v[l->n].closed_at = haven_row_is_null(row, 2) ? 0 : haven_row_int(row, 2);
	l->n++;
	return 0;
}

/* Computes the outcome of episode e from the assessments v[0..n). */
static void episode_outcome(const struct episode *e, const struct haven_assessment *v, size_t n,
                            struct haven_outcome *o, size_t *count)
{
	int *phq = malloc((n ? n : 1) * sizeof(int)), *gad = malloc((n ? n : 1) * sizeof(int));
	size_t np = 0, ng = 0, c = 0;
	for (size_t i = 0; phq && gad && i < n; i++) {
		if (v[i].episode_id != e->id)
			continue;
		c++;
		if (!strcmp(v[i].instrument->id, "phq9"))
			phq[np++] = v[i].total;
		else if (!strcmp(v[i].instrument->id, "gad7"))
			gad[ng++] = v[i].total;
	}
	struct haven_episode_scores s = {phq, np, gad, ng};
	haven_outcome_compute(&s, o);
	*count = c;
	free(phq);
	free(gad);
}

static int load_all(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                    struct episode_list *el, struct haven_assessment **v, size_t *n)
{
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	int rc = haven_tx_query(tx,
	                        "SELECT id, opened_at, closed_at FROM episodes WHERE patient_id = ? "
	                        "ORDER BY opened_at DESC, id DESC",
	                        p, 1, episode_row, el);
	if (!rc)
		rc = haven_assessments_load(tx, mk, patient_id, v, n);
	return rc;
}

int haven_outcomes_json(struct haven_tx *tx, const struct haven_master_key *mk,
                        int64_t patient_id, json_t **out)
{
	struct episode_list el = {0};
	struct haven_assessment *v = NULL;
	size_t n = 0;
	json_t *eps = NULL;
	*out = NULL;
	int rc = load_all(tx, mk, patient_id, &el, &v, &n);
	if (rc)
		goto out;
	if (!(eps = json_array())) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	int64_t closed = 0, eligible = 0, recovered = 0;
	for (size_t i = 0; i < el.n; i++) {
		struct haven_outcome o;
		size_t count;
		episode_outcome(&el.v[i], v, n, &o, &count);
		int is_closed = el.v[i].closed_at != 0;
		if (is_closed) {
			closed++;
			if (o.recovery >= 0) {
				eligible++;
				recovered += o.recovery;
			}
		}
		json_t *e = json_pack("{s:I,s:o,s:o,s:s,s:I,s:o}", "id", (json_int_t)el.v[i].id,
		                      "opened_at", haven_time_json(el.v[i].opened_at), "closed_at",
		                      is_closed ? haven_time_json(el.v[i].closed_at) : json_null(),
		                      "status", is_closed ? "closed" : "open", "assessments",
		                      (json_int_t)count, "outcome", haven_outcome_json(&o));
		if (!e || json_array_append_new(eps, e)) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
	}
	*out = json_pack("{s:I,s:O,s:{s:I,s:I,s:I,s:I,s:o}}", "patient_id", (json_int_t)patient_id,
	                 "episodes", eps, "summary", "episodes", (json_int_t)el.n, "closed",
	                 (json_int_t)closed, "recovery_eligible", (json_int_t)eligible, "recovered",
	                 (json_int_t)recovered, "recovery_rate",
	                 eligible ? json_real((double)recovered / (double)eligible) : json_null());
	if (!*out)
		rc = HAVEN_ENOMEM;
out:
	json_decref(eps);
	free(el.v);
	free(v);
	return rc;
}

int haven_outcomes_tally(struct haven_tx *tx, const struct haven_master_key *mk,
                         int64_t patient_id, struct haven_caseload_tally *t)
{
	struct episode_list el = {0};
	struct haven_assessment *v = NULL;
	size_t n = 0;
	int rc = load_all(tx, mk, patient_id, &el, &v, &n);
	if (!rc) {
		t->patients++;
		for (size_t i = 0; i < el.n; i++) {
			t->episodes++;
			if (!el.v[i].closed_at)
				continue;
			struct haven_outcome o;
			size_t count;
			episode_outcome(&el.v[i], v, n, &o, &count);
			t->closed++;
			t->reliable_improvement += o.reliable_improvement == 1;
			t->reliable_deterioration += o.reliable_deterioration == 1;
			if (o.recovery >= 0) {
				t->eligible++;
				t->recovered += o.recovery;
				t->reliable_recovery += o.reliable_recovery == 1;
			}
		}
	}
	free(el.v);
	free(v);
	return rc;
}
