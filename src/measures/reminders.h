/*
 * reminders.h: check-in reminder schedules and missed check-in detection.
 *
 * A patient chooses the days of the week and the local time at which they would like a
 * reminder to check in (stored in the reminders table). The server works out, on every
 * read, whether a check-in is due now (haven_checkin_due_eval) and which days were
 * missed; the patient's app shows both from GET /api/v1/me/reminders, and the care team
 * is told of a silence by the disengagement alert (monitor.h), which goes out on the
 * webhook like every alert. Haven sends no push message, e-mail or SMS itself. A "missed" day is a scheduled day
 * (every day when no schedule is set) that has ended, in the patient's own time, with no
 * check-in. Days before the patient's account existed are never missed.
 *
 * Check-in times are stored in clear (only their content is sealed), so detection
 * needs no key: it is cheap enough for monitoring rules to call for every patient.
 *
 * Time zones are a fixed offset from UTC in minutes (-720 .. +840), chosen by the
 * patient; a change of daylight-saving time needs the offset updated.
 */
#ifndef HAVEN_MEASURES_REMINDERS_H
#define HAVEN_MEASURES_REMINDERS_H

#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

#define HAVEN_DAY_MS 86400000LL
#define HAVEN_ALL_DAYS 0x7fu /* bit 0 = Monday ... bit 6 = Sunday */
#define HAVEN_MISSED_WINDOW_MAX 90

struct haven_reminder {
	int enabled;
	int minute_of_day;      /* local time, 0 .. 1439 */
	unsigned days;          /* HAVEN_ALL_DAYS bits; never 0 when enabled */
	int utc_offset_minutes; /* -720 .. 840 */
	int64_t updated_at;
};

/* The patient's schedule; *is_set 0 (and r filled with defaults: disabled, 19:00, every
 * day, UTC) when they never set one. */
int haven_reminder_get(struct haven_tx *tx, int64_t patient_id, struct haven_reminder *r,
                       int *is_set) HAVEN_WUR;
/* Stores the schedule (replacing any). HAVEN_EINVAL for values out of range. */
int haven_reminder_put(struct haven_tx *tx, int64_t patient_id,
                       const struct haven_reminder *r) HAVEN_WUR;
/* The next reminder time after now_ms (epoch ms), or 0 when disabled. */
int64_t haven_reminder_next(const struct haven_reminder *r, int64_t now_ms);

/* Whether a check-in is due now, for the patient's own screen (GET /me/reminders):
 * today (in the patient's offset) is one of their reminder days, today's reminder time
 * has passed, and they have not checked in since their local midnight. Nothing is due
 * while reminders are disabled: a person who did not ask to be reminded is not nagged
 * (their missed days are still counted, below, for the care team). */
struct haven_checkin_due {
	int due;              /* a check-in is due now */
	int scheduled_today;  /* reminders enabled and today is a reminder day */
	int checked_in_today; /* a check-in since local midnight */
	int64_t due_at;       /* today's reminder time (epoch ms), 0 when none today */
	int64_t today;        /* the local day number */
};
void haven_checkin_due_eval(const struct haven_reminder *r, int64_t now_ms,
                            int64_t last_checkin_at, struct haven_checkin_due *out);

/* The local day number (days since 1970-01-01 in the patient's offset) of a time. */
int64_t haven_local_day(int64_t ms, int utc_offset_minutes);
/* 0 = Monday ... 6 = Sunday for a local day number. */
int haven_local_weekday(int64_t day);
/* "YYYY-MM-DD" for a local day number. */
void haven_local_date(int64_t day, char out[11]);

/*
 * Pure detection: given check-in times (epoch ms, any order), the expected weekdays
 * (HAVEN_ALL_DAYS bits), the offset, and the local days [first_day, last_day], writes
 * the missed day numbers in ascending order into out (at most cap) and returns how many
 * days were missed in all (which may exceed cap).
 */
size_t haven_missed_days(const int64_t *checkins, size_t n, unsigned days, int utc_offset_minutes,
                         int64_t first_day, int64_t last_day, int64_t *out, size_t cap);

struct haven_missed {
	int window_days;         /* the window looked at, ending yesterday (local) */
	int expected;            /* scheduled days in the window */
	int checked_in;          /* of those, days with a check-in */
	size_t n;                /* missed days (<= HAVEN_MISSED_WINDOW_MAX) */
	int64_t days[HAVEN_MISSED_WINDOW_MAX]; /* local day numbers, oldest first */
	int consecutive;         /* missed days in a row up to yesterday */
	int64_t last_checkin_at; /* epoch ms, 0 when never */
	int utc_offset_minutes;
};

/* Missed check-ins of the patient over the window_days (1 .. HAVEN_MISSED_WINDOW_MAX)
 * local days that ended before now_ms, by their reminder schedule. */
int haven_checkins_missed(struct haven_tx *tx, int64_t patient_id, int64_t now_ms,
                          int window_days, struct haven_missed *out) HAVEN_WUR;

#endif
