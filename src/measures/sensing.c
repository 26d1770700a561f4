/*
 * sensing.c: parsing sensed observations (plain JSON and FHIR R4 Observation), storing
 * them sealed, and per-day features with missing-data flags (sensing.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keyring.h"
#include "measures/reminders.h"
#include "measures/sensing.h"

#define SKEW_MS (5 * 60000LL)

static const struct {
	const char *name;
	const char *loinc;      /* NULL: Haven's code system */
	const char *haven_code; /* code in HAVEN_SENSING_CODE_SYSTEM */
	const char *unit;       /* the plain JSON unit */
	double min, max;        /* per observation */
} kinds[HAVEN_SENSING_NKINDS] = {
    {"steps", "55423-8", "steps", "steps", 0, 100000},
    {"sleep_minutes", "93832-4", "sleep-duration", "min", 0, 1440},
    {"resting_heart_rate", "40443-4", "resting-heart-rate", "/min", 20, 250},
    {"screen_time_minutes", NULL, "screen-time", "min", 0, 1440},
};

const char *haven_sensing_kind_name(int kind)
{
	return kind >= 0 && kind < HAVEN_SENSING_NKINDS ? kinds[kind].name : NULL;
}

int haven_sensing_kind_find(const char *name)
{
	for (int i = 0; i < HAVEN_SENSING_NKINDS; i++)
		if (!strcmp(kinds[i].name, name))
			return i;
	return -1;
}

/* ---- Dates ---- */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_date_part(const char *s, int64_t *day)
{
	int y, m, d;
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &m) || s[7] != '-' ||
	    digits(s + 8, 2, &d))
		return -1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	*day = days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

/* "YYYY-MM-DD" alone: *is_date 1, *ms local midnight. Or a full RFC 3339 date-time with
 * a zone ("Z" or +hh:mm): epoch ms. -1 for anything else. */
static int parse_time(const char *s, int utc_offset_minutes, int64_t *ms, int *is_date)
{
	int64_t day;
	size_t len = strlen(s);
	if (len < 10 || parse_date_part(s, &day))
		return -1;
	if (len == 10) {
		*is_date = 1;
		*ms = day * HAVEN_DAY_MS - (int64_t)utc_offset_minutes * 60000;
		return 0;
	}
	int hh, mi, ss;
	if (s[10] != 'T' || len < 20 || digits(s + 11, 2, &hh) || s[13] != ':' ||
	    digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &ss) || hh > 23 ||
	    mi > 59 || ss > 60)
		return -1;
	const char *p = s + 19;
	int frac_ms = 0;
	if (*p == '.') {
		p++;
		int nd = 0;
		while (*p >= '0' && *p <= '9') {
			if (nd < 3)
				frac_ms = frac_ms * 10 + (*p - '0');
			nd++;
			p++;
		}
		if (!nd || nd > 9)
			return -1;
		for (; nd < 3; nd++)
			frac_ms *= 10;
	}
	int off = 0;
	if (*p == 'Z' && p[1] == 0)
		off = 0;
	else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh, om;
		if (digits(p + 1, 2, &oh) || digits(p + 4, 2, &om) || oh > 14 || om > 59)
			return -1;
		off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
	} else
		return -1;
	*is_date = 0;
	*ms = ((day * 24 + hh) * 60 + mi) * 60000LL + ss * 1000LL + frac_ms - off * 60000LL;
	return 0;
}

/* ---- Parsing ---- */

struct parse_ctx {
	int64_t now_ms;
	int offset;
	struct haven_sensing_obs *v;
	size_t n;
	const char **code;
	char *err;
	size_t errlen;
};

#define FAIL(c, codename, ...)                                                                     \
	do {                                                                                       \
		*(c)->code = codename;                                                             \
		snprintf((c)->err, (c)->errlen, __VA_ARGS__);                                      \
		return HAVEN_EINVAL;                                                               \
	} while (0)

static int add_obs(struct parse_ctx *c, const char *where, int kind, double value, const char *when)
{
	if (c->n == HAVEN_SENSING_BATCH_MAX) {
		*c->code = "too_many";
		snprintf(c->err, c->errlen,
		         "a batch holds at most %d observations; send the rest "
		         "in another request",
		         HAVEN_SENSING_BATCH_MAX);
		return HAVEN_ELIMIT;
	}
	if (!isfinite(value) || value < kinds[kind].min || value > kinds[kind].max)
		FAIL(c, "out_of_range", "%s: %s must be between %g and %g %s, not %g", where,
		     kinds[kind].name, kinds[kind].min, kinds[kind].max, kinds[kind].unit, value);
	int64_t ms;
	int is_date;
	if (parse_time(when, c->offset, &ms, &is_date))
		FAIL(c, "invalid_body",
		     "%s: the time '%.40s' must be a date (YYYY-MM-DD) or an RFC 3339 date-time "
		     "with a zone (2026-11-20T07:30:00Z)",
		     where, when);
	int64_t day = haven_local_day(ms, c->offset);
	int64_t today = haven_local_day(c->now_ms, c->offset);
	if ((!is_date && ms > c->now_ms + SKEW_MS) || (is_date && day > today))
		FAIL(c, "future_time", "%s: the time '%.40s' is in the future", where, when);
	c->v[c->n++] = (struct haven_sensing_obs){
	    .kind = kind, .value = value, .effective_ms = ms, .day = day};
	return 0;
}

static int plain_obs(struct parse_ctx *c, size_t i, const json_t *o)
{
	char where[48];
	snprintf(where, sizeof(where), "observations[%zu]", i);
	if (!json_is_object(o))
		FAIL(c, "invalid_body", "%s must be an object", where);
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)o, key, val)
	{
		if (strcmp(key, "type") && strcmp(key, "value") && strcmp(key, "date") &&
		    strcmp(key, "time") && strcmp(key, "unit"))
			FAIL(c, "invalid_body",
			     "%s: unknown field '%.40s' (type, value, unit, date or time)", where,
			     key);
	}
	json_t *type = json_object_get(o, "type"), *value = json_object_get(o, "value");
	json_t *date = json_object_get(o, "date"), *time = json_object_get(o, "time");
	json_t *unit = json_object_get(o, "unit");
	if (!json_is_string(type))
		FAIL(c, "invalid_body", "%s: 'type' must be a string", where);
	int kind = haven_sensing_kind_find(json_string_value(type));
	if (kind < 0)
		FAIL(c, "unknown_type",
		     "%s: unknown type '%.40s' (steps, sleep_minutes, resting_heart_rate, "
		     "screen_time_minutes)",
		     where, json_string_value(type));
	if (!json_is_number(value))
		FAIL(c, "invalid_body", "%s: 'value' must be a number", where);
	if (unit && (!json_is_string(unit) || strcmp(json_string_value(unit), kinds[kind].unit)))
		FAIL(c, "invalid_unit", "%s: the unit of %s is '%s'%s", where, kinds[kind].name,
		     kinds[kind].unit, json_is_string(unit) ? "" : " (a string)");
	if (!!date == !!time)
		FAIL(c, "invalid_body", "%s: give exactly one of 'date' (YYYY-MM-DD) or 'time'",
		     where);
	json_t *when = date ? date : time;
	if (!json_is_string(when))
		FAIL(c, "invalid_body", "%s: '%s' must be a string", where, date ? "date" : "time");
	if (date && json_string_length(date) != 10)
		FAIL(c, "invalid_body", "%s: 'date' must be YYYY-MM-DD", where);
	return add_obs(c, where, kind, json_number_value(value), json_string_value(when));
}

static const char *str_of(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int fhir_obs(struct parse_ctx *c, const char *where, const json_t *o)
{
	if (!json_is_object(o))
		FAIL(c, "invalid_body", "%s must be an object", where);
	const char *rt = str_of(o, "resourceType");
	if (!rt || strcmp(rt, "Observation"))
		FAIL(c, "invalid_body", "%s: resourceType must be 'Observation', not '%.40s'",
		     where, rt ? rt : "(missing)");
	const char *status = str_of(o, "status");
	if (!status)
		FAIL(c, "invalid_body", "%s: 'status' is required (FHIR R4 Observation.status)",
		     where);
	if (strcmp(status, "final") && strcmp(status, "amended") && strcmp(status, "corrected") &&
	    strcmp(status, "preliminary"))
		FAIL(c, "invalid_body",
		     "%s: status '%.30s' is not a measurement to record (final, amended, "
		     "corrected or preliminary)",
		     where, status);
	json_t *code = json_object_get(o, "code");
	json_t *coding = json_object_get(code, "coding");
	if (!json_is_array(coding) || !json_array_size(coding))
		FAIL(c, "invalid_body", "%s: 'code.coding' must be a non-empty array", where);
	int kind = -1;
	size_t i;
	json_t *cd;
	json_array_foreach(coding, i, cd)
	{
		const char *sys = str_of(cd, "system"), *cv = str_of(cd, "code");
		if (!sys || !cv)
			continue;
		for (int k = 0; k < HAVEN_SENSING_NKINDS && kind < 0; k++) {
			if (kinds[k].loinc && !strcmp(sys, "http://loinc.org") &&
			    !strcmp(cv, kinds[k].loinc))
				kind = k;
			if (!strcmp(sys, HAVEN_SENSING_CODE_SYSTEM) &&
			    !strcmp(cv, kinds[k].haven_code))
				kind = k;
		}
	}
	if (kind < 0)
		FAIL(c, "unknown_type",
		     "%s: no known code: LOINC 55423-8 (steps), 93832-4 (sleep duration), "
		     "40443-4 (resting heart rate) or " HAVEN_SENSING_CODE_SYSTEM " screen-time",
		     where);
	json_t *q = json_object_get(o, "valueQuantity");
	if (!json_is_object(q))
		FAIL(c, "invalid_body", "%s: 'valueQuantity' is required", where);
	json_t *qv = json_object_get(q, "value");
	if (!json_is_number(qv))
		FAIL(c, "invalid_body", "%s: 'valueQuantity.value' must be a number", where);
	const char *usys = str_of(q, "system"), *ucode = str_of(q, "code");
	if (!ucode || !usys || strcmp(usys, "http://unitsofmeasure.org"))
		FAIL(c, "invalid_unit",
		     "%s: valueQuantity needs a UCUM unit: 'system' http://unitsofmeasure.org and "
		     "'code'",
		     where);
	double value = json_number_value(qv), scale = 0;
	switch (kind) {
	case HAVEN_SENSING_STEPS:
		if (!strcmp(ucode, "{steps}") || !strcmp(ucode, "1") || !strcmp(ucode, "/d"))
			scale = 1;
		break;
	case HAVEN_SENSING_SLEEP_MINUTES:
	case HAVEN_SENSING_SCREEN_TIME_MINUTES:
		if (!strcmp(ucode, "min"))
			scale = 1;
		else if (!strcmp(ucode, "h"))
			scale = 60;
		break;
	case HAVEN_SENSING_RESTING_HEART_RATE:
		if (!strcmp(ucode, "/min") || !strcmp(ucode, "{beats}/min"))
			scale = 1;
		break;
	}
	if (!scale)
		FAIL(c, "invalid_unit", "%s: unit '%.20s' is not one for %s (%s)", where, ucode,
		     kinds[kind].name,
		     kind == HAVEN_SENSING_STEPS                ? "{steps}, 1 or /d"
		     : kind == HAVEN_SENSING_RESTING_HEART_RATE ? "/min or {beats}/min"
		                                                : "min or h");
	const char *when = str_of(o, "effectiveDateTime");
	if (!when) {
		json_t *per = json_object_get(o, "effectivePeriod");
		when = str_of(per, "end");
		if (!when)
			when = str_of(per, "start");
	}
	if (!when)
		FAIL(c, "invalid_body", "%s: 'effectiveDateTime' or 'effectivePeriod' is required",
		     where);
	return add_obs(c, where, kind, value * scale, when);
}

int haven_sensing_parse(const json_t *body, int64_t now_ms, int utc_offset_minutes,
                        struct haven_sensing_obs **out, size_t *n, const char **code, char *err,
                        size_t errlen)
{
	*out = NULL;
	*n = 0;
	*code = "invalid_body";
	struct parse_ctx c = {.now_ms = now_ms,
	                      .offset = utc_offset_minutes,
	                      .code = code,
	                      .err = err,
	                      .errlen = errlen};
	if (!json_is_object(body))
		FAIL(&c, "invalid_body", "the sensing body must be a JSON object");
	c.v = malloc(HAVEN_SENSING_BATCH_MAX * sizeof(*c.v));
	if (!c.v)
		return HAVEN_ENOMEM;
	int rc = 0;
	const char *rt = str_of(body, "resourceType");
	json_t *obs = json_object_get(body, "observations");
	if (rt && !strcmp(rt, "Bundle")) {
		json_t *entries = json_object_get(body, "entry");
		size_t i;
		json_t *e;
		if (!json_is_array(entries) || !json_array_size(entries)) {
			*code = "invalid_body";
			snprintf(err, errlen, "the Bundle has no 'entry' array");
			rc = HAVEN_EINVAL;
		}
		if (!rc && json_array_size(entries) > HAVEN_SENSING_BATCH_MAX) {
			*code = "too_many";
			snprintf(err, errlen, "a batch holds at most %d observations, not %zu",
			         HAVEN_SENSING_BATCH_MAX, json_array_size(entries));
			rc = HAVEN_ELIMIT;
		}
		json_array_foreach(entries, i, e)
		{
			if (rc)
				break;
			char where[48];
			snprintf(where, sizeof(where), "entry[%zu].resource", i);
			rc = fhir_obs(&c, where, json_object_get(e, "resource"));
		}
	} else if (rt) {
		rc = fhir_obs(&c, "the Observation", body);
	} else if (obs) {
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)body, key, val)
		{
			if (strcmp(key, "observations")) {
				*code = "invalid_body";
				snprintf(err, errlen,
				         "unknown field '%.40s' in the sensing body (observations)",
				         key);
				rc = HAVEN_EINVAL;
				break;
			}
		}
		if (!rc && (!json_is_array(obs) || !json_array_size(obs))) {
			*code = "invalid_body";
			snprintf(err, errlen, "'observations' must be a non-empty array");
			rc = HAVEN_EINVAL;
		}
		if (!rc && json_array_size(obs) > HAVEN_SENSING_BATCH_MAX) {
			*code = "too_many";
			snprintf(err, errlen, "a batch holds at most %d observations, not %zu",
			         HAVEN_SENSING_BATCH_MAX, json_array_size(obs));
			rc = HAVEN_ELIMIT;
		}
		for (size_t i = 0; !rc && i < json_array_size(obs); i++)
			rc = plain_obs(&c, i, json_array_get(obs, i));
	} else {
		*code = "invalid_body";
		snprintf(err, errlen,
		         "the sensing body must have 'observations' or be a FHIR Observation or "
		         "Bundle ('resourceType')");
		rc = HAVEN_EINVAL;
	}
	if (rc) {
		free(c.v);
		return rc;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

/* ---- Store ---- */

int haven_sensing_store(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                        const struct haven_sensing_obs *obs, size_t n, int64_t now_ms,
                        size_t *replaced)
{
	struct haven_data_key *dk = NULL;
	int rc = haven_keyring_get_or_create(tx, mk, patient_id, &dk);
	if (replaced)
		*replaced = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		char rid[33], ad[256], pt[64];
		haven_record_id(rid);
		int len = snprintf(pt, sizeof(pt), "{\"value\":%.17g}", obs[i].value);
		uint8_t *ct = NULL;
		size_t ct_len = 0;
		if ((rc = haven_crypto_ad(ad, sizeof(ad), "sensing_observations", rid, patient_id,
		                          "payload")))
			break;
		if ((rc = haven_seal(dk, ad, pt, (size_t)len, &ct, &ct_len)))
			break;
		int64_t existed = 0;
		struct haven_param q[] = {HAVEN_P_INT(patient_id),
		                          HAVEN_P_TEXT(kinds[obs[i].kind].name),
		                          HAVEN_P_INT(obs[i].effective_ms)};
		rc = haven_tx_query_int(
		    tx,
		    "SELECT COUNT(*) FROM sensing_observations WHERE patient_id = ? "
		    "AND kind = ? AND effective_at = ?",
		    q, 3, &existed);
		if (!rc) {
			struct haven_param p[] = {HAVEN_P_TEXT(rid),
			                          HAVEN_P_INT(patient_id),
			                          HAVEN_P_TEXT(kinds[obs[i].kind].name),
			                          HAVEN_P_INT(obs[i].effective_ms),
			                          HAVEN_P_INT(obs[i].day),
			                          HAVEN_P_INT(now_ms),
			                          HAVEN_P_BLOB(ct, ct_len)};
			rc = haven_tx_exec(
			    tx,
			    "INSERT INTO sensing_observations (rid, patient_id, kind, "
			    "effective_at, day, "
			    "created_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
			    "(patient_id, "
			    "kind, effective_at) DO UPDATE SET rid = excluded.rid, day = "
			    "excluded.day, "
			    "created_at = excluded.created_at, payload = excluded.payload",
			    p, 7, NULL);
		}
		free(ct);
		if (!rc && existed && replaced)
			(*replaced)++;
	}
	haven_data_key_destroy(&dk);
	return rc;
}

struct days_ctx {
	const struct haven_data_key *dk;
	int64_t patient_id, first;
	struct haven_sensing_day *days;
	size_t ndays;
};

static int day_row(const struct haven_row *row, void *arg)
{
	struct days_ctx *c = arg;
	const char *rid = haven_row_text(row, 0, NULL);
	const char *kind_name = haven_row_text(row, 1, NULL);
	int64_t day = haven_row_int(row, 2);
	size_t ct_len;
	const uint8_t *ct = haven_row_blob(row, 3, &ct_len);
	int kind = kind_name ? haven_sensing_kind_find(kind_name) : -1;
	if (kind < 0 || !rid || day < c->first || day >= c->first + (int64_t)c->ndays)
		return HAVEN_ECORRUPT;
	char ad[256];
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc =
	    haven_crypto_ad(ad, sizeof(ad), "sensing_observations", rid, c->patient_id, "payload");
	if (!rc)
		rc = haven_open(c->dk, ad, ct, ct_len, &pt, &pt_len);
	if (rc)
		return rc;
	json_error_t jerr;
	json_t *o = json_loadb((const char *)pt, pt_len, 0, &jerr);
	haven_secret_free(pt, pt_len);
	json_t *v = json_object_get(o, "value");
	if (!json_is_number(v)) {
		json_decref(o);
		return HAVEN_ECORRUPT;
	}
	struct haven_sensing_day *d = &c->days[day - c->first];
	d->value[kind] += json_number_value(v);
	d->count[kind]++;
	json_decref(o);
	return 0;
}

int haven_sensing_days(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                       int64_t first_day, int64_t last_day, struct haven_sensing_day **out)
{
	*out = NULL;
	if (last_day < first_day || last_day - first_day >= HAVEN_SENSING_DAYS_MAX + 60)
		return HAVEN_EINVAL;
	size_t nd = (size_t)(last_day - first_day + 1);
	struct days_ctx c = {.patient_id = patient_id, .first = first_day, .ndays = nd};
	c.days = calloc(nd, sizeof(*c.days));
	if (!c.days)
		return HAVEN_ENOMEM;
	for (size_t i = 0; i < nd; i++)
		c.days[i].day = first_day + (int64_t)i;
	struct haven_data_key *dk = NULL;
	int rc = haven_keyring_get(tx, mk, patient_id, &dk);
	if (rc == HAVEN_ENOTFOUND) {
		*out = c.days;
		return 0;
	}
	if (!rc) {
		c.dk = dk;
		struct haven_param p[] = {HAVEN_P_INT(patient_id), HAVEN_P_INT(first_day),
		                          HAVEN_P_INT(last_day)};
		rc =
		    haven_tx_query(tx,
		                   "SELECT rid, kind, day, payload FROM sensing_observations WHERE "
		                   "patient_id = ? AND day BETWEEN ? AND ? ORDER BY day DESC LIMIT "
		                   "50000",
		                   p, 3, day_row, &c);
	}
	haven_data_key_destroy(&dk);
	if (rc) {
		free(c.days);
		return rc;
	}
	for (size_t i = 0; i < nd; i++) {
		struct haven_sensing_day *d = &c.days[i];
		int k = HAVEN_SENSING_RESTING_HEART_RATE;
		if (d->count[k])
			d->value[k] /= d->count[k];
	}
	*out = c.days;
	return 0;
}

struct list_ctx {
	const struct haven_data_key *dk;
	int64_t patient_id;
	json_t *arr;
};

static int list_row(const struct haven_row *row, void *arg)
{
	struct list_ctx *c = arg;
	const char *rid = haven_row_text(row, 0, NULL), *kind = haven_row_text(row, 1, NULL);
	size_t ct_len;
	const uint8_t *ct = haven_row_blob(row, 4, &ct_len);
	char ad[256], date[11], when[32], recv[32];
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	if (!rid || !kind)
		return HAVEN_ECORRUPT;
	int rc =
	    haven_crypto_ad(ad, sizeof(ad), "sensing_observations", rid, c->patient_id, "payload");
	if (!rc)
		rc = haven_open(c->dk, ad, ct, ct_len, &pt, &pt_len);
	if (rc)
		return rc;
	json_error_t jerr;
	json_t *o = json_loadb((const char *)pt, pt_len, 0, &jerr);
	haven_secret_free(pt, pt_len);
	json_t *v = json_object_get(o, "value");
	if (!json_is_number(v)) {
		json_decref(o);
		return HAVEN_ECORRUPT;
	}
	haven_local_date(haven_row_int(row, 3), date);
	haven_time_format(haven_row_int(row, 2), when);
	haven_time_format(haven_row_int(row, 5), recv);
	json_t *e = json_pack("{s:s,s:f,s:s,s:s,s:s}", "type", kind, "value", json_number_value(v),
	                      "time", when, "date", date, "received_at", recv);
	json_decref(o);
	return e && !json_array_append_new(c->arr, e) ? 0 : HAVEN_ENOMEM;
}

int haven_sensing_json(struct haven_tx *tx, const struct haven_master_key *mk, int64_t patient_id,
                       json_t **out)
{
	struct list_ctx c = {.patient_id = patient_id, .arr = json_array()};
	struct haven_data_key *dk = NULL;
	*out = NULL;
	if (!c.arr)
		return HAVEN_ENOMEM;
	int rc = haven_keyring_get(tx, mk, patient_id, &dk);
	if (rc == HAVEN_ENOTFOUND) {
		*out = c.arr;
		return 0;
	}
	if (!rc) {
		c.dk = dk;
		struct haven_param p[] = {HAVEN_P_INT(patient_id)};
		rc = haven_tx_query(
		    tx,
		    "SELECT rid, kind, effective_at, day, payload, created_at FROM "
		    "sensing_observations WHERE patient_id = ? ORDER BY effective_at, id",
		    p, 1, list_row, &c);
	}
	haven_data_key_destroy(&dk);
	if (rc) {
		json_decref(c.arr);
		return rc;
	}
	*out = c.arr;
	return 0;
}

static double round2(double x)
{
	return round(x * 100.0) / 100.0;
}

json_t *haven_sensing_days_json(const struct haven_sensing_day *days, size_t n)
{
	json_t *arr = json_array(), *summary = json_object(), *empty = json_array();
	int ok = arr && summary && empty;
	for (size_t i = 0; ok && i < n; i++) {
		char date[11];
		haven_local_date(days[i].day, date);
		json_t *o = json_pack("{s:s}", "date", date), *missing = json_array();
		int any = 0;
		ok = o && missing;
		for (int k = 0; ok && k < HAVEN_SENSING_NKINDS; k++) {
			if (days[i].count[k]) {
				any = 1;
				ok = !json_object_set_new(o, kinds[k].name,
				                          json_real(round2(days[i].value[k])));
			} else
				ok = !json_object_set_new(o, kinds[k].name, json_null()) &&
				     !json_array_append_new(missing, json_string(kinds[k].name));
		}
		if (ok && !any)
			ok = !json_array_append_new(empty, json_string(date));
		if (ok)
			ok = !json_object_set_new(o, "missing", missing) &&
			     !json_object_set_new(o, "no_data", json_boolean(!any)) &&
			     !json_array_append_new(arr, o);
		else {
			json_decref(o);
			json_decref(missing);
		}
	}
	for (int k = 0; ok && k < HAVEN_SENSING_NKINDS; k++) {
		int with = 0;
		double sum = 0;
		for (size_t i = 0; i < n; i++)
			if (days[i].count[k]) {
				with++;
				sum += days[i].value[k];
			}
		ok = !json_object_set_new(
		    summary, kinds[k].name,
		    json_pack("{s:i,s:i,s:o}", "days_with_data", with, "days_missing",
		              (int)n - with, "mean",
		              with ? json_real(round2(sum / with)) : json_null()));
	}
	char from[11] = "", to[11] = "";
	if (n) {
		haven_local_date(days[0].day, from);
		haven_local_date(days[n - 1].day, to);
	}
	if (!ok) {
		json_decref(arr);
		json_decref(summary);
		json_decref(empty);
		return NULL;
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:o}", "from", from, "to", to, "days", arr, "summary",
	                 summary, "days_without_data", empty);
}
