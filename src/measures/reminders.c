/*
 * reminders.c: reminder schedules and missed check-in detection (see reminders.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "measures/reminders.h"

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t haven_local_day(int64_t ms, int utc_offset_minutes)
{
	return floor_div(ms + (int64_t)utc_offset_minutes * 60000, HAVEN_DAY_MS);
}

int haven_local_weekday(int64_t day)
{
	/* 1970-01-01 was a Thursday (3 with Monday = 0). */
	int64_t w = (day + 3) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

void haven_local_date(int64_t day, char out[11])
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static void defaults(struct haven_reminder *r)
{
	r->enabled = 0;
	r->minute_of_day = 19 * 60;
	r->days = HAVEN_ALL_DAYS;
	r->utc_offset_minutes = 0;
	r->updated_at = 0;
}

struct get_ctx {
	struct haven_reminder *r;
	int found;
};

static int get_row(const struct haven_row *row, void *arg)
{
	struct get_ctx *c = arg;
	c->r->enabled = haven_row_int(row, 0) != 0;
	c->r->minute_of_day = (int)haven_row_int(row, 1);
	c->r->days = (unsigned)haven_row_int(row, 2) & HAVEN_ALL_DAYS;
	c->r->utc_offset_minutes = (int)haven_row_int(row, 3);
	c->r->updated_at = haven_row_int(row, 4);
	c->found = 1;
	return 0;
}

int haven_reminder_get(struct haven_tx *tx, int64_t patient_id, struct haven_reminder *r,
                       int *is_set)
{
	struct get_ctx c = {r, 0};
	defaults(r);
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	int rc = haven_tx_query(tx,
	                        "SELECT enabled, minute_of_day, days, utc_offset_minutes, "
	                        "updated_at FROM reminders WHERE patient_id = ?",
	                        p, 1, get_row, &c);
	if (!c.found)
		defaults(r);
	*is_set = c.found;
	return rc;
}

int haven_reminder_put(struct haven_tx *tx, int64_t patient_id, const struct haven_reminder *r)
{
	if (r->minute_of_day < 0 || r->minute_of_day > 1439 || r->utc_offset_minutes < -720 ||
	    r->utc_offset_minutes > 840 || (r->days & ~HAVEN_ALL_DAYS) || (r->enabled && !r->days))
		return HAVEN_EINVAL;
	struct haven_param del[] = {HAVEN_P_INT(patient_id)};
	int rc = haven_tx_exec(tx, "DELETE FROM reminders WHERE patient_id = ?", del, 1, NULL);
	if (rc)
		return rc;
	struct haven_param p[] = {HAVEN_P_INT(patient_id),      HAVEN_P_INT(r->enabled != 0),
	                          HAVEN_P_INT(r->minute_of_day), HAVEN_P_INT(r->days),
	                          HAVEN_P_INT(r->utc_offset_minutes), HAVEN_P_INT(r->updated_at)};
	return haven_tx_exec(tx,
	                     "INSERT INTO reminders (patient_id, enabled, minute_of_day, days, "
	                     "utc_offset_minutes, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
	                     p, 6, NULL);
}

int64_t haven_reminder_next(const struct haven_reminder *r, int64_t now_ms)
{
	if (!r->enabled || !r->days)
		return 0;
	int64_t off = (int64_t)r->utc_offset_minutes * 60000;
	int64_t today = haven_local_day(now_ms, r->utc_offset_minutes);
	for (int k = 0; k <= 7; k++) {
		int64_t day = today + k;
		if (!(r->days & (1u << haven_local_weekday(day))))
			continue;
		int64_t at = day * HAVEN_DAY_MS + (int64_t)r->minute_of_day * 60000 - off;
		if (at > now_ms)
			return at;
	}
	return 0;
}

void haven_checkin_due_eval(const struct haven_reminder *r, int64_t now_ms,
                            int64_t last_checkin_at, struct haven_checkin_due *out)
{
	memset(out, 0, sizeof(*out));
	out->today = haven_local_day(now_ms, r->utc_offset_minutes);
	out->checked_in_today =
	    last_checkin_at > 0 && haven_local_day(last_checkin_at, r->utc_offset_minutes) ==
	                               out->today;
	out->scheduled_today =
	    r->enabled && (r->days & (1u << haven_local_weekday(out->today))) != 0;
	if (!out->scheduled_today)
		return;
	out->due_at = out->today * HAVEN_DAY_MS + (int64_t)r->minute_of_day * 60000 -
	              (int64_t)r->utc_offset_minutes * 60000;
	out->due = now_ms >= out->due_at && !out->checked_in_today;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

size_t haven_missed_days(const int64_t *checkins, size_t n, unsigned days, int utc_offset_minutes,
                         int64_t first_day, int64_t last_day, int64_t *out, size_t cap)
{
	size_t missed = 0;
	int64_t *local = malloc((n ? n : 1) * sizeof(int64_t));
	if (!local)
		return 0;
	for (size_t i = 0; i < n; i++)
		local[i] = haven_local_day(checkins[i], utc_offset_minutes);
	qsort(local, n, sizeof(int64_t), cmp64);
	size_t j = 0;
	for (int64_t d = first_day; d <= last_day; d++) {
		while (j < n && local[j] < d)
			j++;
		if (!(days & (1u << haven_local_weekday(d))))
			continue;
		if (j < n && local[j] == d)
			continue;
		if (missed < cap)
			out[missed] = d;
		missed++;
	}
	free(local);
	return missed;
}

struct times {
	int64_t *v;
	size_t n, cap;
};

static int time_row(const struct haven_row *row, void *arg)
{
	struct times *t = arg;
	if (haven_grow(&t->v, &t->cap, t->n, sizeof(*t->v), 64))
		return HAVEN_ENOMEM;
	t->v[t->n++] = haven_row_int(row, 0);
	return 0;
}

int haven_checkins_missed(struct haven_tx *tx, int64_t patient_id, int64_t now_ms,
                          int window_days, struct haven_missed *out)
{
	struct haven_reminder r;
	int is_set, rc;
	struct times t = {0};
	int64_t created = 0, last = 0;
	memset(out, 0, sizeof(*out));
	if (window_days < 1 || window_days > HAVEN_MISSED_WINDOW_MAX)
		return HAVEN_EINVAL;
	if ((rc = haven_reminder_get(tx, patient_id, &r, &is_set)))
		return rc;
	struct haven_param p[] = {HAVEN_P_INT(patient_id)};
	rc = haven_tx_query_int(tx, "SELECT created_at FROM users WHERE id = ?", p, 1, &created);
	if (rc)
		return rc;
	int64_t yesterday = haven_local_day(now_ms, r.utc_offset_minutes) - 1;
	int64_t first = yesterday - window_days + 1;
	int64_t joined = haven_local_day(created, r.utc_offset_minutes);
	if (first < joined)
		first = joined;
	/* Check-ins of the window (from its first local day), and the latest one ever. */
	struct haven_param q[] = {
	    HAVEN_P_INT(patient_id),
	    HAVEN_P_INT(first * HAVEN_DAY_MS - (int64_t)r.utc_offset_minutes * 60000)};
	rc = haven_tx_query(tx,
	                    "SELECT created_at FROM checkins WHERE patient_id = ? AND "
	                    "created_at >= ? ORDER BY created_at",
	                    q, 2, time_row, &t);
	if (!rc) {
		rc = haven_tx_query_int(
		    tx, "SELECT COALESCE(MAX(created_at), 0) FROM checkins WHERE patient_id = ?", p,
		    1, &last);
	}
	if (rc)
		goto out;
	unsigned days = is_set ? r.days : HAVEN_ALL_DAYS;
	if (!days)
		days = HAVEN_ALL_DAYS;
	out->window_days = window_days;
	out->utc_offset_minutes = r.utc_offset_minutes;
	out->last_checkin_at = last;
	for (int64_t d = first; d <= yesterday; d++)
		if (days & (1u << haven_local_weekday(d)))
			out->expected++;
	size_t total = first <= yesterday ? haven_missed_days(t.v, t.n, days, r.utc_offset_minutes,
	                                                      first, yesterday, out->days,
	                                                      HAVEN_MISSED_WINDOW_MAX)
	                                  : 0;
	out->n = total < HAVEN_MISSED_WINDOW_MAX ? total : HAVEN_MISSED_WINDOW_MAX;
	out->checked_in = out->expected - (int)total;
	/* Consecutive missed scheduled days ending with the last scheduled day. */
	size_t k = out->n;
	int64_t d = yesterday;
	while (k > 0 && d >= first) {
		if (!(days & (1u << haven_local_weekday(d)))) {
			d--;
			continue;
		}
		if (out->days[k - 1] != d)
			break;
		out->consecutive++;
		k--;
		d--;
	}
out:
	free(t.v);
	return rc;
}
