/*
 * test_measures.c: the instrument tables (every band boundary of every instrument),
 * validation, reliable change, each outcome definition on worked examples on PHQ-9 and
 * GAD-7, missed check-in detection, and the store operations: an assessment and its
 * alerts commit or roll back together, and the answers are sealed.
 */
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "crypto/keyring.h"
#include "harness.h"
#include "measures/measures.h"
#include "measures/reminders.h"

/* Answers adding up to total: as many maximal answers as fit, then the rest. */
static size_t answers_for(const struct haven_instrument *in, int total, int *out)
{
	int hi = 0;
	for (size_t i = 0; i < in->noptions; i++)
		if (in->options[i].value > hi)
			hi = in->options[i].value;
	for (size_t i = 0; i < in->nitems; i++) {
		int v = total > hi ? hi : total;
		out[i] = v;
		total -= v;
	}
	ASSERT_EQ(total, 0);
	return in->nitems;
}

struct band_case {
	const char *instrument;
	int total;
	const char *band;
};

/* Written out from DESIGN.md, not derived from the table under test. */
static const struct band_case band_cases[] = {
    {"phq9", 0, "minimal"},
    {"phq9", 4, "minimal"},
    {"phq9", 5, "mild"},
    {"phq9", 9, "mild"},
    {"phq9", 10, "moderate"},
    {"phq9", 14, "moderate"},
    {"phq9", 15, "moderately_severe"},
    {"phq9", 19, "moderately_severe"},
    {"phq9", 20, "severe"},
    {"phq9", 27, "severe"},
    {"gad7", 0, "minimal"},
    {"gad7", 4, "minimal"},
    {"gad7", 5, "mild"},
    {"gad7", 9, "mild"},
    {"gad7", 10, "moderate"},
    {"gad7", 14, "moderate"},
    {"gad7", 15, "severe"},
    {"gad7", 21, "severe"},
    {"phq2", 0, "negative"},
    {"phq2", 2, "negative"},
    {"phq2", 3, "positive"},
    {"phq2", 6, "positive"},
    {"gad2", 0, "negative"},
    {"gad2", 2, "negative"},
    {"gad2", 3, "positive"},
    {"gad2", 6, "positive"},
    {"who5", 0, "poor_wellbeing"},
    {"who5", 12, "poor_wellbeing"}, /* 48 of 100 */
    {"who5", 13, "not_poor"},       /* 52 of 100 */
    {"who5", 25, "not_poor"},
};

TEST(measures_band_boundaries)
{
	for (size_t i = 0; i < sizeof(band_cases) / sizeof(band_cases[0]); i++) {
		const struct band_case *c = &band_cases[i];
		const struct haven_instrument *in = haven_instrument_find(c->instrument);
		ASSERT(in);
		int answers[HAVEN_MEASURES_MAX_ITEMS], total;
		const struct haven_band *band;
		char err[160];
		size_t n = answers_for(in, c->total, answers);
		ASSERT_OK(haven_instrument_score(in, answers, n, &total, &band, err, sizeof(err)));
		ASSERT_EQ(total, c->total);
		if (strcmp(band->name, c->band))
			haven_test_fail(__FILE__, __LINE__, "%s total %d: band %s, want %s",
			                c->instrument, c->total, band->name, c->band);
	}
	/* Every total of every instrument falls in exactly one band. */
	const struct haven_instrument *const *all;
	size_t n = haven_instruments(&all);
	ASSERT_EQ(n, 5);
	for (size_t i = 0; i < n; i++)
		for (int t = 0; t <= all[i]->max_total; t++) {
			int hits = 0;
			for (size_t b = 0; b < all[i]->nbands; b++)
				hits += t >= all[i]->bands[b].min && t <= all[i]->bands[b].max;
			ASSERT_EQ(hits, 1);
		}
	ASSERT_EQ(haven_instrument_find("phq9")->max_total, 27);
	ASSERT_EQ(haven_instrument_find("gad7")->max_total, 21);
	ASSERT_EQ(haven_instrument_find("who5")->scale, 4);
	ASSERT_EQ(haven_instrument_find("phq9")->nitems, 9);
	ASSERT_EQ(haven_instrument_find("gad7")->nitems, 7);
	ASSERT_EQ(haven_instrument_find("phq2")->nitems, 2);
	ASSERT_EQ(haven_instrument_find("gad2")->nitems, 2);
	ASSERT_EQ(haven_instrument_find("who5")->nitems, 5);
	ASSERT(!haven_instrument_find("phq10"));
	ASSERT(!haven_instrument_find(NULL));
}

TEST(measures_loinc_codes)
{
	const struct haven_instrument *phq = haven_instrument_find("phq9");
	const struct haven_instrument *gad = haven_instrument_find("gad7");
	ASSERT_STR_EQ(phq->loinc_panel, "44249-1");
	ASSERT_STR_EQ(phq->loinc_total, "44261-6");
	ASSERT_STR_EQ(phq->items[8].loinc, "44260-8");
	ASSERT_STR_EQ(phq->items[0].loinc, "44250-9");
	ASSERT_STR_EQ(gad->loinc_panel, "69737-5");
	ASSERT_STR_EQ(gad->loinc_total, "70274-6");
	ASSERT_STR_EQ(gad->items[0].loinc, "69725-0");
	ASSERT_STR_EQ(phq->options[0].loinc, "LA6568-5");
	ASSERT_STR_EQ(phq->options[3].loinc, "LA6571-9");
	/* PHQ-2 has its own panel and total (LOINC 55757-9, 55758-7). */
	const struct haven_instrument *phq2 = haven_instrument_find("phq2");
	ASSERT_STR_EQ(phq2->loinc_panel, "55757-9");
	ASSERT_STR_EQ(phq2->loinc_total, "55758-7");
	ASSERT_STR_EQ(phq2->items[0].loinc, "44250-9");
	ASSERT_STR_EQ(phq2->items[1].loinc, "44255-8");
	/* Unverified codes are absent, not guessed: GAD-2's panel and total, all of WHO-5. */
	const struct haven_instrument *gad2 = haven_instrument_find("gad2");
	const struct haven_instrument *who5 = haven_instrument_find("who5");
	ASSERT(!gad2->loinc_panel);
	ASSERT(!gad2->loinc_total);
	ASSERT_STR_EQ(gad2->items[0].loinc, "69725-0");
	ASSERT(!who5->loinc_panel);
	ASSERT(!who5->loinc_total);
	for (size_t i = 0; i < who5->nitems; i++)
		ASSERT(!who5->items[i].loinc);
	/* PHQ-2 and GAD-2 are the first two questions of PHQ-9 and GAD-7. */
	ASSERT_STR_EQ(haven_instrument_find("phq2")->items[1].text, phq->items[1].text);
	ASSERT_STR_EQ(haven_instrument_find("gad2")->items[1].loinc, gad->items[1].loinc);
}

TEST(measures_score_rejects_bad_answers)
{
	const struct haven_instrument *phq = haven_instrument_find("phq9");
	const struct haven_instrument *who = haven_instrument_find("who5");
	int a[9] = {0, 1, 2, 3, 0, 1, 2, 3, 0}, total;
	const struct haven_band *band;
	char err[160];
	ASSERT_EQ(haven_instrument_score(phq, a, 8, &total, &band, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "needs 9 values, not 8");
	a[3] = 4;
	ASSERT_EQ(haven_instrument_score(phq, a, 9, &total, &band, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "answers[3] (question 4) is 4; PHQ-9 answers are 0 to 3");
	a[3] = -1;
	ASSERT_EQ(haven_instrument_score(phq, a, 9, &total, &band, err, sizeof(err)), HAVEN_EINVAL);
	int w[5] = {5, 5, 5, 5, 5};
	ASSERT_OK(haven_instrument_score(who, w, 5, &total, &band, err, sizeof(err)));
	ASSERT_EQ(total, 25);
	w[2] = 6;
	ASSERT_EQ(haven_instrument_score(who, w, 5, &total, &band, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "WHO-5 answers are 0 to 5");
}

TEST(measures_reliable_change)
{
	/* Jacobson & Truax on a textbook case: sd 5, reliability 0.8: SE = 2.236,
	 * S_diff = 3.162, a fall of 10 points gives RCI -3.162. */
	ASSERT_NEAR(haven_rci(20, 10, 5, 0.8), -3.1623, 1e-3);
	ASSERT_NEAR(haven_rci(10, 10, 5, 0.8), 0, 1e-9);
	const struct haven_instrument *phq = haven_instrument_find("phq9");
	const struct haven_instrument *gad = haven_instrument_find("gad7");
	const struct haven_instrument *who = haven_instrument_find("who5");
	/* The NHS thresholds: 6 points on PHQ-9, 4 on GAD-7. */
	ASSERT_EQ(haven_instrument_reliable(phq, 15, 9), HAVEN_RELIABLE_IMPROVEMENT);
	ASSERT_EQ(haven_instrument_reliable(phq, 15, 10), HAVEN_RELIABLE_NONE);
	ASSERT_EQ(haven_instrument_reliable(phq, 9, 15), HAVEN_RELIABLE_DETERIORATION);
	ASSERT_EQ(haven_instrument_reliable(phq, 9, 14), HAVEN_RELIABLE_NONE);
	ASSERT_EQ(haven_instrument_reliable(gad, 12, 8), HAVEN_RELIABLE_IMPROVEMENT);
	ASSERT_EQ(haven_instrument_reliable(gad, 12, 9), HAVEN_RELIABLE_NONE);
	ASSERT_EQ(haven_instrument_reliable(gad, 8, 12), HAVEN_RELIABLE_DETERIORATION);
	ASSERT_EQ(haven_instrument_reliable(who, 10, 20), HAVEN_RELIABLE_UNKNOWN);
	/* The RCI agrees with the threshold: exactly 1.96 at 6 PHQ-9 points. */
	ASSERT_NEAR(6 / haven_instrument_sdiff(phq), 1.96, 1e-9);
	ASSERT_NEAR(4 / haven_instrument_sdiff(gad), 1.96, 1e-9);
	json_t *c = haven_assessment_change_json(phq, 16, 9);
	ASSERT_EQ(json_integer_value(json_object_get(c, "difference")), -7);
	ASSERT_STR_EQ(json_string_value(json_object_get(c, "reliable")), "improvement");
	ASSERT_NEAR(json_real_value(json_object_get(c, "rci")), -2.29, 0.001);
	json_decref(c);
}

/* DESIGN.md fixes reliable change for PHQ-9 and GAD-7 only. For PHQ-2, GAD-2 and WHO-5
 * Haven reports the difference and no RCI and no reliable/unreliable verdict, however
 * large the change: inventing a threshold would put a made-up judgement in front of a
 * clinician. */
TEST(measures_short_instruments_have_no_reliable_change)
{
	static const char *const ids[] = {"phq2", "gad2", "who5"};
	for (size_t i = 0; i < 3; i++) {
		const struct haven_instrument *in = haven_instrument_find(ids[i]);
		ASSERT_EQ(in->reliable_change, 0);
		ASSERT_EQ(in->caseness, 0);
		ASSERT_NEAR(haven_instrument_sdiff(in), 0, 1e-12);
		ASSERT_EQ(haven_instrument_reliable(in, 0, in->max_total), HAVEN_RELIABLE_UNKNOWN);
		ASSERT_EQ(haven_instrument_reliable(in, in->max_total, 0), HAVEN_RELIABLE_UNKNOWN);
		ASSERT(!haven_reliable_name(HAVEN_RELIABLE_UNKNOWN));
		json_t *c = haven_assessment_change_json(in, 1, in->max_total);
		ASSERT(c);
		ASSERT_EQ(json_integer_value(json_object_get(c, "previous_total")), 1);
		ASSERT_EQ(json_integer_value(json_object_get(c, "difference")), in->max_total - 1);
		ASSERT(json_is_null(json_object_get(c, "rci")));
		ASSERT(json_is_null(json_object_get(c, "reliable")));
		json_decref(c);
		json_t *j = haven_instrument_json(in);
		ASSERT(json_is_null(json_object_get(j, "reliable_change")));
		json_decref(j);
	}
}

static void outcome_of(const int *phq, size_t np, const int *gad, size_t ng,
                       struct haven_outcome *o)
{
	struct haven_episode_scores s = {phq, np, gad, ng};
	haven_outcome_compute(&s, o);
}

TEST(measures_outcome_worked_examples)
{
	struct haven_outcome o;
	/* A: PHQ-9 16 -> 7 and GAD-7 12 -> 6: a case that recovers, with reliable falls on
	 * both: recovery, reliable improvement, reliable recovery. */
	int a_p[] = {16, 12, 7}, a_g[] = {12, 9, 6};
	outcome_of(a_p, 3, a_g, 3, &o);
	ASSERT_EQ(o.case_start, 1);
	ASSERT_EQ(o.case_end, 0);
	ASSERT_EQ(o.recovery, 1);
	ASSERT_EQ(o.reliable_improvement, 1);
	ASSERT_EQ(o.reliable_deterioration, 0);
	ASSERT_EQ(o.reliable_recovery, 1);
	ASSERT_NEAR(o.phq9_rci, -9 / (6 / 1.96), 1e-9);

	/* B: PHQ-9 12 -> 9 and GAD-7 9 -> 7: below both thresholds at the end (recovery)
	 * but neither fall is reliable (3 < 6, 2 < 4): no reliable recovery. */
	int b_p[] = {12, 9}, b_g[] = {9, 7};
	outcome_of(b_p, 2, b_g, 2, &o);
	ASSERT_EQ(o.recovery, 1);
	ASSERT_EQ(o.reliable_improvement, 0);
	ASSERT_EQ(o.reliable_recovery, 0);
	ASSERT_EQ(o.reliable_deterioration, 0);

	/* C: PHQ-9 14 -> 8 (a reliable fall) but GAD-7 6 -> 10 (a reliable rise): the rise
	 * rules out reliable improvement and is a reliable deterioration; GAD-7 10 >= 8 is
	 * still a case, so no recovery. */
	int c_p[] = {14, 8}, c_g[] = {6, 10};
	outcome_of(c_p, 2, c_g, 2, &o);
	ASSERT_EQ(o.case_start, 1);
	ASSERT_EQ(o.case_end, 1);
	ASSERT_EQ(o.recovery, 0);
	ASSERT_EQ(o.reliable_improvement, 0);
	ASSERT_EQ(o.reliable_deterioration, 1);
	ASSERT_EQ(o.reliable_recovery, 0);

	/* D: not a case at the start (PHQ-9 9, GAD-7 7: both one below): recovery does not
	 * apply. */
	int d_p[] = {9, 3}, d_g[] = {7, 2};
	outcome_of(d_p, 2, d_g, 2, &o);
	ASSERT_EQ(o.case_start, 0);
	ASSERT_EQ(o.recovery, -1);
	ASSERT_EQ(o.reliable_recovery, -1);
	ASSERT_EQ(o.reliable_improvement, 1); /* PHQ-9 fell 6, GAD-7 fell 5 */

	/* E: the caseness boundaries: PHQ-9 10 alone, GAD-7 8 alone. */
	int e_p[] = {10, 10}, e_g[] = {7, 7};
	outcome_of(e_p, 2, e_g, 2, &o);
	ASSERT_EQ(o.case_start, 1);
	int e2_p[] = {9, 9}, e2_g[] = {8, 8};
	outcome_of(e2_p, 2, e2_g, 2, &o);
	ASSERT_EQ(o.case_start, 1);
	ASSERT_EQ(o.case_end, 1);
	ASSERT_EQ(o.recovery, 0);

	/* F: "not a case on both measures": PHQ-9 18 -> 8 is no longer a case, but GAD-7
	 * 10 -> 9 still is: no recovery, although the PHQ-9 fall is a reliable
	 * improvement. */
	int f_p[] = {18, 8}, f_g[] = {10, 9};
	outcome_of(f_p, 2, f_g, 2, &o);
	ASSERT_EQ(o.recovery, 0);
	ASSERT_EQ(o.reliable_improvement, 1);
	ASSERT_EQ(o.reliable_recovery, 0);

	/* G: reliable deterioration on PHQ-9 alone (5 -> 11, +6) and on GAD-7 alone
	 * (3 -> 7, +4), each at exactly the threshold. */
	int g_p[] = {5, 11}, g_g[] = {3, 3};
	outcome_of(g_p, 2, g_g, 2, &o);
	ASSERT_EQ(o.reliable_deterioration, 1);
	int g2_p[] = {5, 5}, g2_g[] = {3, 7};
	outcome_of(g2_p, 2, g2_g, 2, &o);
	ASSERT_EQ(o.reliable_deterioration, 1);
	int g3_p[] = {5, 10}, g3_g[] = {3, 6};
	outcome_of(g3_p, 2, g3_g, 2, &o);
	ASSERT_EQ(o.reliable_deterioration, 0);

	/* H: GAD-7 only, 15 -> 7: a case that recovers reliably on the one measure. */
	int h_g[] = {15, 7};
	outcome_of(NULL, 0, h_g, 2, &o);
	ASSERT_EQ(o.case_start, 1);
	ASSERT_EQ(o.recovery, 1);
	ASSERT_EQ(o.reliable_recovery, 1);
	ASSERT_EQ(o.phq9_first, -1);

	/* I: one score only: a start but no end yet. */
	int i_p[] = {20};
	outcome_of(i_p, 1, NULL, 0, &o);
	ASSERT_EQ(o.case_start, 1);
	ASSERT_EQ(o.case_end, -1);
	ASSERT_EQ(o.recovery, -1);
	ASSERT_EQ(o.reliable_deterioration, -1);

	/* J: nothing at all. */
	outcome_of(NULL, 0, NULL, 0, &o);
	ASSERT_EQ(o.case_start, -1);

	/* The JSON carries the flags as true/false/null. */
	outcome_of(a_p, 3, a_g, 3, &o);
	json_t *j = haven_outcome_json(&o);
	ASSERT(json_is_true(json_object_get(j, "reliable_recovery")));
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(j, "phq9"), "first")), 16);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(j, "gad7"), "last")), 6);
	json_decref(j);
	outcome_of(i_p, 1, NULL, 0, &o);
	j = haven_outcome_json(&o);
	ASSERT(json_is_null(json_object_get(j, "recovery")));
	ASSERT(json_is_null(json_object_get(json_object_get(j, "phq9"), "rci")));
	json_decref(j);
}

/* 2026-11-23 is a Monday: local day 20780. */
#define MONDAY 20780LL
#define DAY_MS 86400000LL

TEST(measures_missed_days)
{
	ASSERT_EQ(haven_local_weekday(MONDAY), 0);
	ASSERT_EQ(haven_local_weekday(MONDAY + 6), 6);
	ASSERT_EQ(haven_local_weekday(0), 3); /* 1970-01-01, a Thursday */
	char d[11];
	haven_local_date(MONDAY, d);
	ASSERT_STR_EQ(d, "2026-11-23");
	/* Check-ins on Monday 09:00 and Wednesday 23:30 UTC; days Mon-Sun. */
	int64_t mon = MONDAY * DAY_MS;
	int64_t times[] = {mon + 9 * 3600000LL, mon + 2 * DAY_MS + 23 * 3600000LL + 1800000LL};
	int64_t out[16];
	size_t n = haven_missed_days(times, 2, HAVEN_ALL_DAYS, 0, MONDAY, MONDAY + 6, out, 16);
	ASSERT_EQ(n, 5); /* Tue, Thu, Fri, Sat, Sun */
	ASSERT_EQ(out[0], MONDAY + 1);
	ASSERT_EQ(out[1], MONDAY + 3);
	/* Only Mondays, Wednesdays and Fridays are scheduled: Friday alone was missed. */
	unsigned mwf = 1u | 4u | 16u;
	n = haven_missed_days(times, 2, mwf, 0, MONDAY, MONDAY + 6, out, 16);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(out[0], MONDAY + 4);
	/* At UTC+60 the Wednesday 23:30 UTC check-in belongs to Thursday: Wednesday is
	 * missed instead. */
	n = haven_missed_days(times, 2, mwf, 60, MONDAY, MONDAY + 6, out, 16);
	ASSERT_EQ(n, 2);
	ASSERT_EQ(out[0], MONDAY + 2);
	ASSERT_EQ(out[1], MONDAY + 4);
	/* The count goes on beyond cap. */
	n = haven_missed_days(NULL, 0, HAVEN_ALL_DAYS, 0, MONDAY, MONDAY + 13, out, 3);
	ASSERT_EQ(n, 14);

	/* The next reminder: 19:30 on Mondays and Thursdays at UTC-300 (New York in
	 * winter). On Monday at 12:00 UTC (07:00 local) it is today at 19:30 local. */
	struct haven_reminder r = {1, 19 * 60 + 30, 1u | 8u, -300, 0};
	int64_t next = haven_reminder_next(&r, mon + 12 * 3600000LL);
	ASSERT_EQ(next, mon + (19 * 60 + 30 + 300) * 60000LL);
	/* After it has passed, the next is Thursday. */
	next = haven_reminder_next(&r, mon + DAY_MS + 3 * 3600000LL);
	ASSERT_EQ(next, mon + 3 * DAY_MS + (19 * 60 + 30 + 300) * 60000LL);
	r.enabled = 0;
	ASSERT_EQ(haven_reminder_next(&r, mon), 0);
}

/* A check-in is due from today's reminder time until the person checks in, on their
 * reminder days only, in their own time zone, and never while reminders are off. */
TEST(measures_checkin_due)
{
	int64_t mon = MONDAY * DAY_MS;
	/* 19:30 on Mondays and Thursdays at UTC-300: Monday's reminder is 00:30 UTC Tuesday. */
	struct haven_reminder r = {1, 19 * 60 + 30, 1u | 8u, -300, 0};
	int64_t due_at = mon + (19 * 60 + 30 + 300) * 60000LL;
	struct haven_checkin_due d;
	/* Monday 19:29 local: scheduled, not yet due. */
	haven_checkin_due_eval(&r, due_at - 60000, 0, &d);
	ASSERT(d.scheduled_today);
	ASSERT(!d.due);
	ASSERT_EQ(d.due_at, due_at);
	ASSERT_EQ(d.today, MONDAY);
	/* 19:30 local (already Tuesday in UTC): due, never checked in. */
	haven_checkin_due_eval(&r, due_at, 0, &d);
	ASSERT(d.due);
	ASSERT_EQ(d.today, MONDAY);
	/* A check-in on Monday morning local counts for Monday: nothing due. */
	int64_t morning = mon + (9 * 60 + 300) * 60000LL;
	haven_checkin_due_eval(&r, due_at + 3600000, morning, &d);
	ASSERT(d.checked_in_today);
	ASSERT(!d.due);
	/* Sunday's check-in (late Sunday local, Monday in UTC) does not count for Monday. */
	int64_t sunday_late = mon + 2 * 3600000LL; /* Monday 02:00 UTC = Sunday 21:00 local */
	haven_checkin_due_eval(&r, due_at + 3600000, sunday_late, &d);
	ASSERT(!d.checked_in_today);
	ASSERT(d.due);
	/* Tuesday is not a reminder day: nothing due, no time today. */
	haven_checkin_due_eval(&r, due_at + DAY_MS, 0, &d);
	ASSERT(!d.scheduled_today);
	ASSERT(!d.due);
	ASSERT_EQ(d.due_at, 0);
	ASSERT_EQ(d.today, MONDAY + 1);
	/* Reminders off: never due, but a check-in today is still seen. */
	r.enabled = 0;
	haven_checkin_due_eval(&r, due_at + 3600000, morning, &d);
	ASSERT(!d.due);
	ASSERT(!d.scheduled_today);
	ASSERT(d.checked_in_today);
}

/* ---- Store-backed ---- */

struct fixture {
	struct haven_store *s;
	struct haven_master_key *mk;
	int64_t patient;
};

static int make_patient_tx(struct haven_tx *tx, void *arg)
{
	struct fixture *f = arg;
	struct haven_param p[] = {HAVEN_P_INT(haven_now_ms() - 40 * DAY_MS)};
	return haven_tx_query_int(tx,
	                          "INSERT INTO users (email, role, password_hash, created_at) "
	                          "VALUES ('p@example.org', 'patient', 'x', ?) RETURNING id",
	                          p, 1, &f->patient);
}

static void fixture_open(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	ASSERT_OK(haven_crypto_init());
	ASSERT_OK(haven_store_open(haven_test_db_url(), NULL, &f->s));
	ASSERT_OK(haven_store_migrate(f->s, NULL));
	ASSERT_OK(haven_master_key_generate(&f->mk));
	ASSERT_OK(haven_store_write(f->s, make_patient_tx, f));
}

static void fixture_close(struct fixture *f)
{
	haven_master_key_destroy(&f->mk);
	haven_store_destroy(&f->s);
}

struct record_op {
	struct fixture *f;
	const char *instrument;
	int answers[9];
	int fail_after; /* return an error after recording, to roll everything back */
	struct haven_assessment_result res;
};

static int record_tx(struct haven_tx *tx, void *arg)
{
	struct record_op *op = arg;
	const struct haven_instrument *in = haven_instrument_find(op->instrument);
	struct haven_assessment_new a = {op->f->patient, in, op->answers, in->nitems,
	                                 op->f->patient, "patient", "test"};
	int rc = haven_assessment_record(tx, op->f->mk, &a, &op->res);
	if (!rc && op->fail_after)
		return HAVEN_EIO;
	return rc;
}

static int64_t count(struct fixture *f, const char *sql);

struct count_op {
	const char *sql;
	int64_t n;
};

static int count_tx(struct haven_tx *tx, void *arg)
{
	struct count_op *c = arg;
	return haven_tx_query_int(tx, c->sql, NULL, 0, &c->n);
}

static int64_t count(struct fixture *f, const char *sql)
{
	struct count_op c = {sql, -1};
	ASSERT_OK(haven_store_read(f->s, count_tx, &c));
	return c.n;
}

static void record(struct fixture *f, const char *instrument, const int *answers,
                   struct record_op *op)
{
	const struct haven_instrument *in = haven_instrument_find(instrument);
	memset(op, 0, sizeof(*op));
	op->f = f;
	op->instrument = instrument;
	memcpy(op->answers, answers, in->nitems * sizeof(int));
	ASSERT_OK(haven_store_write(f->s, record_tx, op));
}

TEST(measures_item9_alert_in_the_same_transaction)
{
	struct fixture f;
	fixture_open(&f);
	struct record_op op;

	/* Item 9 answered 0: no alert, but an episode was opened and the row stored. */
	int none[9] = {1, 1, 1, 1, 1, 1, 1, 1, 0};
	record(&f, "phq9", none, &op);
	ASSERT_EQ(op.res.total, 8);
	ASSERT_EQ(json_array_size(op.res.alerts), 0);
	ASSERT(op.res.episode_id > 0);
	json_decref(op.res.alerts);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts"), 0);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM episodes WHERE closed_at IS NULL"), 1);

	/* Item 9 answered 1, in a transaction that then fails: neither the assessment nor
	 * the alert survive. */
	int some[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
	memset(&op, 0, sizeof(op));
	op.f = &f;
	op.instrument = "phq9";
	memcpy(op.answers, some, sizeof(some));
	op.fail_after = 1;
	ASSERT_EQ(haven_store_write(f.s, record_tx, &op), HAVEN_EIO);
	json_decref(op.res.alerts);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM assessments"), 1);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts"), 0);

	/* The same committed: one urgent phq9_item9 alert, from this assessment. */
	record(&f, "phq9", some, &op);
	ASSERT_EQ(json_array_size(op.res.alerts), 1);
	json_t *al = json_array_get(op.res.alerts, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(al, "kind")), "phq9_item9");
	ASSERT_STR_EQ(json_string_value(json_object_get(al, "severity")), "urgent");
	json_t *reason = json_array_get(json_object_get(al, "reasons"), 0);
	ASSERT_CONTAINS(json_string_value(json_object_get(reason, "text")), "\"Several days\" (1 of 3)");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(reason, "values"), "answer")),
	          1);
	json_decref(op.res.alerts);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'phq9_item9' AND "
	                    "severity = 'urgent' AND status = 'open'"),
	          1);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM assessments WHERE safety = 1"), 1);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts a JOIN assessments s ON a.source = "
	                    "'assessment:' || s.rid WHERE s.safety = 1"),
	          1);
	/* Item 9 on a GAD-7 does not exist: seven answers of 3 raise nothing urgent. */
	int gad[7] = {3, 3, 3, 3, 3, 3, 3};
	record(&f, "gad7", gad, &op);
	ASSERT_EQ(json_array_size(op.res.alerts), 0);
	json_decref(op.res.alerts);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts"), 1);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM audit_log WHERE action = 'assessment.write'"), 3);
	fixture_close(&f);
}

TEST(measures_reliable_deterioration_alert_within_episode)
{
	struct fixture f;
	fixture_open(&f);
	struct record_op op;
	int start[9] = {1, 1, 1, 1, 1, 0, 0, 0, 0}; /* 5 */
	int worse[9] = {2, 2, 1, 1, 1, 1, 1, 1, 0}; /* 10: +5, not reliable */
	int much[9] = {2, 2, 2, 1, 1, 1, 1, 1, 0};  /* 11: +6 from the start */
	record(&f, "phq9", start, &op);
	json_decref(op.res.alerts);
	ASSERT_EQ(op.res.has_previous, 0);
	record(&f, "phq9", worse, &op);
	ASSERT_EQ(json_array_size(op.res.alerts), 0);
	ASSERT_EQ(op.res.previous_total, 5);
	json_decref(op.res.alerts);
	record(&f, "phq9", much, &op);
	ASSERT_EQ(json_array_size(op.res.alerts), 1);
	json_t *al = json_array_get(op.res.alerts, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(al, "kind")), "reliable_deterioration");
	ASSERT_STR_EQ(json_string_value(json_object_get(al, "severity")), "warning");
	const char *text = json_string_value(
	    json_object_get(json_array_get(json_object_get(al, "reasons"), 0), "text"));
	ASSERT_CONTAINS(text, "PHQ-9 went from 5 at the start of this episode of care to 11");
	ASSERT_CONTAINS(text, "rise of 6 points");
	json_decref(op.res.alerts);
	/* A further rise in the same episode does not raise a second open alert. */
	record(&f, "phq9", much, &op);
	json_decref(op.res.alerts);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'reliable_deterioration'"), 1);
	/* GAD-7: 3 -> 7 is reliable (+4). */
	int g1[7] = {1, 1, 1, 0, 0, 0, 0}, g2[7] = {1, 1, 1, 1, 1, 1, 1};
	record(&f, "gad7", g1, &op);
	json_decref(op.res.alerts);
	record(&f, "gad7", g2, &op);
	ASSERT_EQ(json_array_size(op.res.alerts), 1);
	json_decref(op.res.alerts);
	ASSERT_EQ(count(&f, "SELECT COUNT(*) FROM alerts WHERE kind = 'reliable_deterioration'"), 2);
	fixture_close(&f);
}

struct episode_op {
	struct fixture *f;
	int open;
	int64_t id;
};

static int episode_tx(struct haven_tx *tx, void *arg)
{
	struct episode_op *e = arg;
	return e->open ? haven_episode_open(tx, e->f->patient, 0, haven_now_ms(), &e->id)
	               : haven_episode_close(tx, e->f->patient, 0, haven_now_ms(), &e->id);
}

struct json_op {
	struct fixture *f;
	json_t *out;
	int which;
};

static int json_tx(struct haven_tx *tx, void *arg)
{
	struct json_op *j = arg;
	if (j->which == 0)
		return haven_outcomes_json(tx, j->f->mk, j->f->patient, &j->out);
	return haven_assessments_json(tx, j->f->mk, j->f->patient, &j->out);
}

struct tally_op {
	struct fixture *f;
	struct haven_caseload_tally t;
};

static int tally_tx(struct haven_tx *tx, void *arg)
{
	struct tally_op *t = arg;
	return haven_outcomes_tally(tx, t->f->mk, t->f->patient, &t->t);
}

struct scan_op {
	int rows, plain;
};

static int scan_row(const struct haven_row *row, void *arg)
{
	struct scan_op *s = arg;
	size_t len;
	const char *b = haven_row_blob(row, 0, &len);
	s->rows++;
	if (memmem(b, len, "answers", 7) || memmem(b, len, "total", 5))
		s->plain++;
	return 0;
}

static int scan_tx(struct haven_tx *tx, void *arg)
{
	return haven_tx_query(tx, "SELECT payload FROM assessments", NULL, 0, scan_row, arg);
}

TEST(measures_episodes_and_outcomes_in_the_store)
{
	struct fixture f;
	fixture_open(&f);
	struct record_op op;
	struct episode_op e = {&f, 0, 0};
	/* No open episode to close. */
	ASSERT_EQ(haven_store_write(f.s, episode_tx, &e), HAVEN_ENOTFOUND);
	/* Episode 1: PHQ-9 16 -> 7, GAD-7 12 -> 6 (example A), then closed. */
	int p16[9] = {2, 2, 2, 2, 2, 2, 2, 1, 1}, p7[9] = {1, 1, 1, 1, 1, 1, 1, 0, 0};
	int g12[7] = {2, 2, 2, 2, 2, 1, 1}, g6[7] = {1, 1, 1, 1, 1, 1, 0};
	record(&f, "phq9", p16, &op);
	json_decref(op.res.alerts);
	int64_t ep1 = op.res.episode_id;
	record(&f, "gad7", g12, &op);
	json_decref(op.res.alerts);
	record(&f, "phq9", p7, &op);
	json_decref(op.res.alerts);
	record(&f, "gad7", g6, &op);
	json_decref(op.res.alerts);
	ASSERT_EQ(op.res.episode_id, ep1);
	e.open = 1;
	ASSERT_EQ(haven_store_write(f.s, episode_tx, &e), HAVEN_ECONFLICT);
	e.open = 0;
	ASSERT_OK(haven_store_write(f.s, episode_tx, &e));
	ASSERT_EQ(e.id, ep1);
	/* Episode 2 opened by the next assessment: PHQ-9 14 -> 8, GAD-7 6 -> 10 (C). */
	int p14[9] = {2, 2, 2, 2, 2, 2, 1, 1, 0}, p8[9] = {1, 1, 1, 1, 1, 1, 1, 1, 0};
	int g6b[7] = {1, 1, 1, 1, 1, 1, 0}, g10[7] = {2, 2, 2, 1, 1, 1, 1};
	record(&f, "phq9", p14, &op);
	json_decref(op.res.alerts);
	ASSERT(op.res.episode_id != ep1);
	record(&f, "gad7", g6b, &op);
	json_decref(op.res.alerts);
	record(&f, "phq9", p8, &op);
	json_decref(op.res.alerts);
	record(&f, "gad7", g10, &op);
	ASSERT_EQ(json_array_size(op.res.alerts), 1); /* reliable deterioration on GAD-7 */
	json_decref(op.res.alerts);
	ASSERT_OK(haven_store_write(f.s, episode_tx, &e));

	struct json_op j = {&f, NULL, 0};
	ASSERT_OK(haven_store_write(f.s, json_tx, &j));
	json_t *eps = json_object_get(j.out, "episodes");
	ASSERT_EQ(json_array_size(eps), 2);
	json_t *newest = json_object_get(json_array_get(eps, 0), "outcome");
	json_t *oldest = json_object_get(json_array_get(eps, 1), "outcome");
	ASSERT(json_is_true(json_object_get(oldest, "reliable_recovery")));
	ASSERT(json_is_false(json_object_get(newest, "recovery")));
	ASSERT(json_is_true(json_object_get(newest, "reliable_deterioration")));
	json_t *sum = json_object_get(j.out, "summary");
	ASSERT_EQ(json_integer_value(json_object_get(sum, "recovery_eligible")), 2);
	ASSERT_EQ(json_integer_value(json_object_get(sum, "recovered")), 1);
	ASSERT_NEAR(json_real_value(json_object_get(sum, "recovery_rate")), 0.5, 1e-9);
	json_decref(j.out);

	struct tally_op t = {&f, {0}};
	ASSERT_OK(haven_store_write(f.s, tally_tx, &t));
	ASSERT_EQ(t.t.patients, 1);
	ASSERT_EQ(t.t.closed, 2);
	ASSERT_EQ(t.t.eligible, 2);
	ASSERT_EQ(t.t.recovered, 1);
	ASSERT_EQ(t.t.reliable_recovery, 1);
	ASSERT_EQ(t.t.reliable_deterioration, 1);

	/* The stored answers are sealed: no plaintext "answers" in the payload column. */
	j.which = 1;
	ASSERT_OK(haven_store_write(f.s, json_tx, &j));
	ASSERT_EQ(json_array_size(j.out), 8);
	json_t *last = json_array_get(j.out, 0); /* newest first */
	ASSERT_STR_EQ(json_string_value(json_object_get(last, "instrument")), "gad7");
	ASSERT_EQ(json_integer_value(json_object_get(last, "total")), 10);
	ASSERT_EQ(json_integer_value(
	              json_object_get(json_object_get(last, "change"), "previous_total")),
	          6);
	json_decref(j.out);
	struct scan_op sc = {0, 0};
	ASSERT_OK(haven_store_read(f.s, scan_tx, &sc));
	ASSERT_EQ(sc.rows, 8);
	ASSERT_EQ(sc.plain, 0);
	fixture_close(&f);
}
