/*
 * risk.c: the deterioration-risk model (risk.h): features from a trajectory, scoring
 * with per-feature contributions, training by penalised Newton's method, evaluation.
 *
 * Training does not reuse src/nlp's trainer: that one fits hashed sparse text features
 * by stochastic gradient descent over many epochs, while this model has five dense
 * features, for which a handful of exact Newton steps on a 6x6 system converge to the
 * penalised optimum deterministically, with no learning rate to tune.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "measures/risk.h"

#define DAY_MS 86400000LL
#define WEEK_MS (7 * DAY_MS)

static const struct {
	const char *name, *description;
} features[HAVEN_RISK_NFEATURES] = {
    {"phq9_last", "latest PHQ-9 total in the last 90 days (0-27)"},
    {"phq9_slope", "change in PHQ-9 per week over the last 8 weeks (points)"},
    {"mood_drop", "usual check-in mood minus its recent smoothed level (points of 10)"},
    {"checkin_adherence", "share of the last 14 days with a check-in (0-1)"},
    {"sleep_change", "recent average sleep minus usual sleep (hours)"},
};

const char *haven_risk_feature_name(int i)
{
	return i >= 0 && i < HAVEN_RISK_NFEATURES ? features[i].name : NULL;
}

const char *haven_risk_feature_description(int i)
{
	return i >= 0 && i < HAVEN_RISK_NFEATURES ? features[i].description : NULL;
}

int haven_risk_feature_find(const char *name)
{
	for (int i = 0; i < HAVEN_RISK_NFEATURES; i++)
		if (!strcmp(features[i].name, name))
			return i;
	return -1;
}

void haven_risk_model_default(struct haven_risk_model *m)
{
	memset(m, 0, sizeof(*m));
	/* Expert-set, not fitted. The outcome is a rise of 6 points or more from the
	 * current PHQ-9, so the leading signs carry the weight: mood slipping below the
	 * person's usual (+0.6 per point), thinning check-ins (-1.5 per unit of the 0-1
	 * share below 0.7) and shorter sleep (-0.4 per hour). The current PHQ-9 level and
	 * its recent slope get small or no weight: a high score has less room to rise 6
	 * more, and a score that just jumped tends to come back (regression to the mean),
	 * so naive positive weights on them point the wrong way (docs/monitoring.md shows
	 * the figures). The intercept sets a base rate of about 8% over 28 days. */
	m->intercept = -2.45;
	m->weight[HAVEN_RISK_PHQ9_LAST] = -0.03;
	m->reference[HAVEN_RISK_PHQ9_LAST] = 10;
	m->weight[HAVEN_RISK_PHQ9_SLOPE] = 0;
	m->reference[HAVEN_RISK_PHQ9_SLOPE] = 0;
	m->weight[HAVEN_RISK_MOOD_DROP] = 0.6;
	m->reference[HAVEN_RISK_MOOD_DROP] = 0;
	m->weight[HAVEN_RISK_CHECKIN_ADHERENCE] = -1.5;
	m->reference[HAVEN_RISK_CHECKIN_ADHERENCE] = 0.7;
	m->weight[HAVEN_RISK_SLEEP_CHANGE] = -0.4;
	m->reference[HAVEN_RISK_SLEEP_CHANGE] = 0;
	haven_strlcpy(m->source, "expert-set default weights (not fitted to outcome data)",
	              sizeof(m->source));
}

json_t *haven_risk_model_json(const struct haven_risk_model *m)
{
	json_t *feats = json_object();
	for (int i = 0; feats && i < HAVEN_RISK_NFEATURES; i++)
		if (json_object_set_new(feats, features[i].name,
		                        json_pack("{s:f,s:f}", "weight", m->weight[i], "reference",
		                                  m->reference[i]))) {
			json_decref(feats);
			feats = NULL;
		}
	if (!feats)
		return NULL;
	return json_pack("{s:s,s:f,s:o}", "source", m->source, "intercept", m->intercept,
	                 "features", feats);
}

static int number_of(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return -1;
	double d = json_number_value(v);
	if (!isfinite(d) || fabs(d) > 1e6)
		return -1;
	*out = d;
	return 0;
}

int haven_risk_model_apply(struct haven_risk_model *m, const json_t *obj, char *err, size_t errlen)
{
	struct haven_risk_model t = *m;
	const char *key;
	json_t *val;
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "'model' must be an object");
		return HAVEN_EINVAL;
	}
	json_object_foreach((json_t *)obj, key, val)
	{
		if (!strcmp(key, "source")) {
			if (!json_is_string(val) || json_string_length(val) == 0 ||
			    json_string_length(val) >= sizeof(t.source)) {
				snprintf(err, errlen,
				         "'model.source' must be a string of 1 to %zu bytes",
				         sizeof(t.source) - 1);
				return HAVEN_EINVAL;
			}
			haven_strlcpy(t.source, json_string_value(val), sizeof(t.source));
		} else if (!strcmp(key, "intercept")) {
			if (number_of(val, &t.intercept)) {
				snprintf(err, errlen, "'model.intercept' must be a finite number");
				return HAVEN_EINVAL;
			}
		} else if (!strcmp(key, "features")) {
			const char *fk;
			json_t *fv;
			if (!json_is_object(val)) {
				snprintf(err, errlen, "'model.features' must be an object");
				return HAVEN_EINVAL;
			}
			json_object_foreach(val, fk, fv)
			{
				int i = haven_risk_feature_find(fk);
				if (i < 0) {
					snprintf(err, errlen,
					         "unknown feature 'model.features.%.40s' (known: "
					         "phq9_last, "
					         "phq9_slope, mood_drop, checkin_adherence, "
					         "sleep_change)",
					         fk);
					return HAVEN_EINVAL;
				}
				const char *pk;
				json_t *pv;
				if (!json_is_object(fv)) {
					snprintf(err, errlen,
					         "'model.features.%s' must be an object", fk);
					return HAVEN_EINVAL;
				}
				json_object_foreach(fv, pk, pv)
				{
					double *dst = !strcmp(pk, "weight")      ? &t.weight[i]
					              : !strcmp(pk, "reference") ? &t.reference[i]
					                                         : NULL;
					if (!dst) {
						snprintf(err, errlen,
						         "unknown field 'model.features.%s.%.40s' "
						         "(weight, "
						         "reference)",
						         fk, pk);
						return HAVEN_EINVAL;
					}
					if (number_of(pv, dst)) {
						snprintf(err, errlen,
						         "'model.features.%s.%s' must be a finite "
						         "number",
						         fk, pk);
						return HAVEN_EINVAL;
					}
				}
			}
		} else {
			snprintf(err, errlen,
			         "unknown field 'model.%.40s' (source, intercept, features)", key);
			return HAVEN_EINVAL;
		}
	}
	*m = t;
	return 0;
}

void haven_risk_score(const struct haven_risk_model *m, const struct haven_risk_features *f,
                      struct haven_risk_score *out)
{
	double logit = m->intercept;
	for (int i = 0; i < HAVEN_RISK_NFEATURES; i++) {
		double c = f->present[i] ? m->weight[i] * (f->x[i] - m->reference[i]) : 0.0;
		out->contribution[i] = c;
		logit += c;
	}
	out->logit = logit;
	out->probability = 1.0 / (1.0 + exp(-logit));
}

static double round4(double x)
{
	return round(x * 10000.0) / 10000.0;
}

json_t *haven_risk_score_json(const struct haven_risk_model *m, const struct haven_risk_features *f,
                              const struct haven_risk_score *s, double threshold)
{
	int order[HAVEN_RISK_NFEATURES];
	for (int i = 0; i < HAVEN_RISK_NFEATURES; i++)
		order[i] = i;
	/* largest absolute contribution first (insertion sort of five) */
	for (int i = 1; i < HAVEN_RISK_NFEATURES; i++)
		for (int j = i;
		     j > 0 && fabs(s->contribution[order[j]]) > fabs(s->contribution[order[j - 1]]);
		     j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	json_t *arr = json_array();
	for (int k = 0; arr && k < HAVEN_RISK_NFEATURES; k++) {
		int i = order[k];
		json_t *o = json_pack("{s:s,s:s,s:o,s:b,s:f,s:f,s:f}", "name", features[i].name,
		                      "description", features[i].description, "value",
		                      f->present[i] ? json_real(round4(f->x[i])) : json_null(),
		                      "missing", !f->present[i], "reference", m->reference[i],
		                      "weight", m->weight[i], "contribution", s->contribution[i]);
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (!arr)
		return NULL;
	return json_pack("{s:f,s:f,s:f,s:f,s:b,s:i,s:o,s:s}", "probability", s->probability,
	                 "logit", s->logit, "intercept", m->intercept, "threshold", threshold,
	                 "above_threshold", s->probability >= threshold, "horizon_days",
	                 HAVEN_RISK_HORIZON_DAYS, "features", arr, "model_source", m->source);
}

/* ---- Features ---- */

void haven_risk_features_compute(const struct haven_risk_phq9 *phq9, size_t nphq9,
                                 const struct haven_risk_checkin *checkins, size_t ncheckins,
                                 int64_t now_ms, double mood_alpha, struct haven_risk_features *out)
{
	memset(out, 0, sizeof(*out));

	/* PHQ-9: latest in 90 days; least-squares slope over 8 weeks. */
	int64_t last_at = INT64_MIN;
	double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
	int64_t first_in = INT64_MAX, last_in = INT64_MIN;
	for (size_t i = 0; i < nphq9; i++) {
		int64_t at = phq9[i].at_ms;
		if (at > now_ms)
			continue;
		if (at >= now_ms - 90 * DAY_MS && at > last_at) {
			last_at = at;
			out->x[HAVEN_RISK_PHQ9_LAST] = phq9[i].total;
			out->present[HAVEN_RISK_PHQ9_LAST] = 1;
		}
		if (at >= now_ms - 56 * DAY_MS) {
			double w = (double)(at - now_ms) / (double)WEEK_MS;
			sx += w;
			sy += phq9[i].total;
			sxx += w * w;
			sxy += w * phq9[i].total;
			n++;
			if (at < first_in)
				first_in = at;
			if (at > last_in)
				last_in = at;
		}
	}
	if (n >= 2 && last_in - first_in >= WEEK_MS) {
		double den = n * sxx - sx * sx;
		if (den > 1e-12) {
			out->x[HAVEN_RISK_PHQ9_SLOPE] = (n * sxy - sx * sy) / den;
			out->present[HAVEN_RISK_PHQ9_SLOPE] = 1;
		}
	}

	/* Check-ins: baseline = the 28 days before the last 7; recent = the last 7. */
	int64_t recent_from = now_ms - 7 * DAY_MS, base_from = recent_from - 28 * DAY_MS;
	double mood_sum = 0, sleep_sum = 0, rsleep_sum = 0;
	int nmood = 0, nsleep = 0, nrsleep = 0, nrecent = 0, any = 0;
	for (size_t i = 0; i < ncheckins; i++) {
		int64_t at = checkins[i].at_ms;
		if (at > now_ms)
			continue;
		any = 1;
		if (at >= base_from && at < recent_from) {
			mood_sum += checkins[i].mood;
			nmood++;
			if (checkins[i].sleep_hours >= 0) {
				sleep_sum += checkins[i].sleep_hours;
				nsleep++;
			}
		} else if (at >= recent_from) {
			nrecent++;
			if (checkins[i].sleep_hours >= 0) {
				rsleep_sum += checkins[i].sleep_hours;
				nrsleep++;
			}
		}
	}
	if (nmood >= 3 && nrecent >= 1) {
		/* The EWMA over the recent check-ins in time order, started at the baseline
		 * mean (the same statistic the mood_decline rule charts). */
		double base = mood_sum / nmood, z = base;
		int64_t prev = INT64_MIN;
		for (int k = 0; k < nrecent; k++) {
			/* the next recent check-in after prev */
			size_t best = ncheckins;
			for (size_t i = 0; i < ncheckins; i++) {
				int64_t at = checkins[i].at_ms;
				if (at < recent_from || at > now_ms || at <= prev)
					continue;
				if (best == ncheckins || at < checkins[best].at_ms)
					best = i;
			}
			if (best == ncheckins)
				break;
			prev = checkins[best].at_ms;
			z = mood_alpha * checkins[best].mood + (1 - mood_alpha) * z;
		}
		out->x[HAVEN_RISK_MOOD_DROP] = base - z;
		out->present[HAVEN_RISK_MOOD_DROP] = 1;
	}
	if (nsleep >= 3 && nrsleep >= 1) {
		out->x[HAVEN_RISK_SLEEP_CHANGE] = rsleep_sum / nrsleep - sleep_sum / nsleep;
		out->present[HAVEN_RISK_SLEEP_CHANGE] = 1;
	}
	if (any) {
		int days = 0;
		for (int d = 0; d < 14; d++) {
			int64_t hi = now_ms - (int64_t)d * DAY_MS, lo = hi - DAY_MS;
			for (size_t i = 0; i < ncheckins; i++)
				if (checkins[i].at_ms > lo && checkins[i].at_ms <= hi) {
					days++;
					break;
				}
		}
		out->x[HAVEN_RISK_CHECKIN_ADHERENCE] = days / 14.0;
		out->present[HAVEN_RISK_CHECKIN_ADHERENCE] = 1;
	}
}

/* ---- Examples ---- */

int haven_risk_example_write(FILE *f, const struct haven_risk_example *e)
{
	json_t *feats = json_object();
	for (int i = 0; feats && i < HAVEN_RISK_NFEATURES; i++)
		if (json_object_set_new(feats, features[i].name,
		                        e->f.present[i] ? json_real(round4(e->f.x[i]))
		                                        : json_null())) {
			json_decref(feats);
			feats = NULL;
		}
	json_t *o =
	    feats ? json_pack("{s:o,s:b}", "features", feats, "deteriorated", e->label) : NULL;
	if (!o)
		return HAVEN_ENOMEM;
	int rc = json_dumpf(o, f, JSON_COMPACT | JSON_REAL_PRECISION(6)) || fputc('\n', f) == EOF
	             ? HAVEN_EIO
	             : 0;
	json_decref(o);
	return rc;
}

static int parse_example(const json_t *o, struct haven_risk_example *e, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not a JSON object");
		return HAVEN_EINVAL;
	}
	const char *key;
	json_t *val;
	int have_label = 0, have_features = 0;
	json_object_foreach((json_t *)o, key, val)
	{
		if (!strcmp(key, "deteriorated")) {
			if (!json_is_boolean(val)) {
				snprintf(err, errlen, "'deteriorated' must be true or false");
				return HAVEN_EINVAL;
			}
			e->label = json_is_true(val);
			have_label = 1;
		} else if (!strcmp(key, "features")) {
			const char *fk;
			json_t *fv;
			if (!json_is_object(val)) {
				snprintf(err, errlen, "'features' must be an object");
				return HAVEN_EINVAL;
			}
			have_features = 1;
			json_object_foreach(val, fk, fv)
			{
				int i = haven_risk_feature_find(fk);
				if (i < 0) {
					snprintf(err, errlen, "unknown feature '%.40s'", fk);
					return HAVEN_EINVAL;
				}
				if (json_is_null(fv))
					continue;
				if (number_of(fv, &e->f.x[i])) {
					snprintf(err, errlen,
					         "feature '%s' must be a finite number or null",
					         fk);
					return HAVEN_EINVAL;
				}
				e->f.present[i] = 1;
			}
		} else if (strcmp(key, "meta")) {
			snprintf(err, errlen,
			         "unknown field '%.40s' (features, deteriorated, meta)", key);
			return HAVEN_EINVAL;
		}
	}
	if (!have_label || !have_features) {
		snprintf(err, errlen, "missing '%s'", have_label ? "features" : "deteriorated");
		return HAVEN_EINVAL;
	}
	return 0;
}

#define MAX_EXAMPLES 5000000
#define MAX_LINE (64 * 1024)

int haven_risk_examples_read(const char *path, struct haven_risk_example **out, size_t *n,
                             char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? HAVEN_ENOTFOUND : HAVEN_EIO;
	}
	struct haven_risk_example *arr = NULL;
	size_t cap = 0, len = 0, lineno = 0;
	char *line = malloc(MAX_LINE);
	int rc = line ? 0 : HAVEN_ENOMEM;
	while (!rc && fgets(line, MAX_LINE, f)) {
		lineno++;
		size_t l = strlen(line);
		if (l == MAX_LINE - 1 && line[l - 1] != '\n') {
			snprintf(err, errlen, "%s: line %zu is longer than %d bytes", path, lineno,
			         MAX_LINE - 2);
			rc = HAVEN_EINVAL;
			break;
		}
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = 0;
		if (!l)
			continue;
		if (len == MAX_EXAMPLES) {
			snprintf(err, errlen, "%s: more than %d examples", path, MAX_EXAMPLES);
			rc = HAVEN_ELIMIT;
			break;
		}
		json_error_t jerr;
		json_t *o = json_loadb(line, l, JSON_REJECT_DUPLICATES, &jerr);
		if (!o) {
			snprintf(err, errlen, "%s: line %zu: not valid JSON: %s (column %d)", path,
			         lineno, jerr.text, jerr.column);
			rc = HAVEN_EINVAL;
			break;
		}
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 256;
			void *p = realloc(arr, nc * sizeof(*arr));
			if (!p) {
				json_decref(o);
				rc = HAVEN_ENOMEM;
				break;
			}
			arr = p;
			cap = nc;
		}
		char msg[160];
		if (parse_example(o, &arr[len], msg, sizeof(msg))) {
			snprintf(err, errlen, "%s: line %zu: %s", path, lineno, msg);
			rc = HAVEN_EINVAL;
		} else
			len++;
		json_decref(o);
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = HAVEN_EIO;
	}
	fclose(f);
	free(line);
	if (rc) {
		free(arr);
		return rc;
	}
	*out = arr;
	*n = len;
	return 0;
}

/* ---- Training ---- */

#define D (HAVEN_RISK_NFEATURES + 1)

/* Solves A x = b (D x D) by Gaussian elimination with partial pivoting; -1 if singular. */
static int solve(double a[D][D], double b[D], double x[D])
{
	for (int c = 0; c < D; c++) {
		int p = c;
		for (int r = c + 1; r < D; r++)
			if (fabs(a[r][c]) > fabs(a[p][c]))
				p = r;
		if (fabs(a[p][c]) < 1e-12)
			return -1;
		if (p != c) {
			for (int k = 0; k < D; k++) {
				double t = a[c][k];
				a[c][k] = a[p][k];
				a[p][k] = t;
			}
			double t = b[c];
			b[c] = b[p];
			b[p] = t;
		}
		for (int r = c + 1; r < D; r++) {
			double f = a[r][c] / a[c][c];
			for (int k = c; k < D; k++)
				a[r][k] -= f * a[c][k];
			b[r] -= f * b[c];
		}
	}
	for (int r = D - 1; r >= 0; r--) {
		double s = b[r];
		for (int k = r + 1; k < D; k++)
			s -= a[r][k] * x[k];
		x[r] = s / a[r][r];
	}
	return 0;
}

int haven_risk_train(const struct haven_risk_example *ex, size_t n, double l2,
                     struct haven_risk_model *out)
{
	if (n < 20 || !(l2 >= 0))
		return HAVEN_EINVAL;
	size_t pos = 0;
	double mean[HAVEN_RISK_NFEATURES] = {0}, sd[HAVEN_RISK_NFEATURES] = {0};
	size_t cnt[HAVEN_RISK_NFEATURES] = {0};
	for (size_t i = 0; i < n; i++) {
		pos += ex[i].label != 0;
		for (int j = 0; j < HAVEN_RISK_NFEATURES; j++)
			if (ex[i].f.present[j]) {
				mean[j] += ex[i].f.x[j];
				cnt[j]++;
			}
	}
	if (pos == 0 || pos == n)
		return HAVEN_EINVAL;
	for (int j = 0; j < HAVEN_RISK_NFEATURES; j++)
		mean[j] = cnt[j] ? mean[j] / cnt[j] : 0;
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < HAVEN_RISK_NFEATURES; j++)
			if (ex[i].f.present[j])
				sd[j] += (ex[i].f.x[j] - mean[j]) * (ex[i].f.x[j] - mean[j]);
	for (int j = 0; j < HAVEN_RISK_NFEATURES; j++)
		sd[j] = cnt[j] > 1 ? sqrt(sd[j] / (cnt[j] - 1)) : 0;

	/* beta[0] intercept, beta[1 + j] on standardised feature j (0 when constant). */
	double beta[D] = {0};
	double prior = (double)pos / (double)n;
	beta[0] = log(prior / (1 - prior));
	for (int it = 0; it < 100; it++) {
		double g[D] = {0}, h[D][D] = {{0}};
		for (size_t i = 0; i < n; i++) {
			double z[D];
			z[0] = 1;
			for (int j = 0; j < HAVEN_RISK_NFEATURES; j++)
				z[1 + j] = ex[i].f.present[j] && sd[j] > 1e-9
				               ? (ex[i].f.x[j] - mean[j]) / sd[j]
				               : 0;
			double eta = 0;
			for (int k = 0; k < D; k++)
				eta += beta[k] * z[k];
			double p = 1 / (1 + exp(-eta));
			double w = p * (1 - p);
			for (int k = 0; k < D; k++) {
				g[k] += ((ex[i].label ? 1.0 : 0.0) - p) * z[k];
				for (int m = 0; m < D; m++)
					h[k][m] += w * z[k] * z[m];
			}
		}
		for (int k = 1; k < D; k++) {
			g[k] -= l2 * beta[k];
			h[k][k] += l2 + 1e-9;
		}
		h[0][0] += 1e-9;
		double step[D] = {0};
		if (solve(h, g, step))
			return HAVEN_EINVAL;
		double moved = 0;
		for (int k = 0; k < D; k++) {
			beta[k] += step[k];
			moved = fmax(moved, fabs(step[k]));
		}
		if (moved < 1e-10)
			break;
	}
	memset(out, 0, sizeof(*out));
	/* Back to per-unit weights around the means: the logit is unchanged. */
	out->intercept = beta[0];
	for (int j = 0; j < HAVEN_RISK_NFEATURES; j++) {
		out->weight[j] = sd[j] > 1e-9 ? beta[1 + j] / sd[j] : 0;
		out->reference[j] = mean[j];
	}
	snprintf(out->source, sizeof(out->source),
	         "fitted by haven train on %zu examples (%zu deteriorated), L2 %.3g", n, pos, l2);
	return 0;
}

/* ---- Evaluation ---- */

struct scored {
	double s;
	int y;
};

static int by_score(const void *a, const void *b)
{
	double x = ((const struct scored *)a)->s, y = ((const struct scored *)b)->s;
	return (x > y) - (x < y);
}

double haven_risk_auroc(const double *score, const int *label, size_t n)
{
	struct scored *v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return NAN;
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		v[i].s = score[i];
		v[i].y = label[i] != 0;
		pos += v[i].y;
	}
	size_t neg = n - pos;
	if (!pos || !neg) {
		free(v);
		return NAN;
	}
	qsort(v, n, sizeof(*v), by_score);
	/* Mann-Whitney U with mid-ranks for ties. */
	double rank_sum = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[j].s == v[i].s)
			j++;
		double mid = (i + 1 + j) / 2.0; /* ranks i+1 .. j */
		for (size_t k = i; k < j; k++)
			if (v[k].y)
				rank_sum += mid;
		i = j;
	}
	free(v);
	return (rank_sum - pos * (pos + 1) / 2.0) / ((double)pos * (double)neg);
}

void haven_risk_evaluate(const struct haven_risk_model *m, const struct haven_risk_example *ex,
                         size_t n, struct haven_risk_eval *out)
{
	memset(out, 0, sizeof(*out));
	out->n = n;
	double *score = malloc((n ? n : 1) * sizeof(double));
	int *label = malloc((n ? n : 1) * sizeof(int));
	double bin_sum_p[10] = {0}, bin_sum_y[10] = {0};
	if (!score || !label) {
		free(score);
		free(label);
		out->auroc = NAN;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct haven_risk_score s;
		haven_risk_score(m, &ex[i].f, &s);
		double p = s.probability, y = ex[i].label ? 1 : 0;
		score[i] = p;
		label[i] = ex[i].label != 0;
		out->positives += label[i];
		out->brier += (p - y) * (p - y);
		double pc = fmin(fmax(p, 1e-12), 1 - 1e-12);
		out->log_loss -= y * log(pc) + (1 - y) * log(1 - pc);
		int b = (int)(p * 10);
		if (b > 9)
			b = 9;
		bin_sum_p[b] += p;
		bin_sum_y[b] += y;
		out->bin_n[b]++;
	}
	if (n) {
		out->brier /= n;
		out->log_loss /= n;
	}
	for (int b = 0; b < 10; b++) {
		if (!out->bin_n[b]) {
			out->bin_pred[b] = out->bin_obs[b] = NAN;
			continue;
		}
		out->bin_pred[b] = bin_sum_p[b] / out->bin_n[b];
		out->bin_obs[b] = bin_sum_y[b] / out->bin_n[b];
		out->ece += (double)out->bin_n[b] / n * fabs(out->bin_pred[b] - out->bin_obs[b]);
	}
	out->auroc = haven_risk_auroc(score, label, n);
	free(score);
	free(label);
}
