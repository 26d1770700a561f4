/*
 * instruments.c: the instruments as data. Each entry holds the items in their published
 * wording and order, the answer options with their values, the bands of the total as
 * DESIGN.md gives them, the LOINC codes Haven has verified (a code left NULL is
 * exported uncoded rather than guessed), the national reliable-change threshold and the
 * caseness threshold where there is one.
 *
 * Sources: PHQ-9, GAD-7, PHQ-2 and GAD-2 were developed by Drs Spitzer, Williams,
 * Kroenke and colleagues with an educational grant from Pfizer Inc; no permission is
 * required to reproduce, translate, display or distribute them. The WHO-5 Well-Being
 * Index (WHO Regional Office for Europe, 1998) is free to use. LOINC codes were checked
 * against the LOINC panels 44249-1 (PHQ-9) and 69737-5 (GAD-7) and their answer list
 * LL358-3 (LA6568-5 ... LA6571-9). PHQ-2 and GAD-2 reuse the first two PHQ-9 and GAD-7
 * questions and their codes. PHQ-2 has its own panel, 55757-9 "Patient Health
 * Questionnaire 2 item (PHQ-2) [Reported]", and total, 55758-7 "Patient Health
 * Questionnaire 2 item (PHQ-2) total score [Reported]". No GAD-2 panel or total code and
 * no WHO-5 code (panel, total or items) could be confirmed (70272-0 is the PHQ-4 total,
 * 71969-0 a PROMIS-10 score: both were offered elsewhere and rejected), so those stay
 * NULL and are exported in the instrument's own code system with their text
 * (src/fhir/fhir.c; docs/measures.md, "LOINC codes").
 * Reliable change (6 points on PHQ-9, 4 on GAD-7) and caseness (PHQ-9 >= 10,
 * GAD-7 >= 8) are NHS Talking Therapies' definitions. DESIGN.md gives no reliable-change
 * criterion for PHQ-2, GAD-2 or WHO-5, so their reliable_change is 0: a change is
 * reported with its difference, and "rci" and "reliable" are null.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "measures/measures.h"

#define PHQ_OPTIONS                                                                                \
	.noptions = 4, .options = {                                                                \
		{0, "Not at all", "LA6568-5"},                                                     \
		{1, "Several days", "LA6569-3"},                                                   \
		{2, "More than half the days", "LA6570-1"},                                        \
		{3, "Nearly every day", "LA6571-9"},                                               \
	}

#define PFIZER                                                                                     \
	"Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "  \
	"with an educational grant from Pfizer Inc. No permission required to reproduce, "         \
	"translate, display or distribute."

#define PHQ_STEM                                                                                   \
	"Over the last 2 weeks, how often have you been bothered by any of the following "         \
	"problems?"
#define GAD_STEM                                                                                   \
	"Over the last 2 weeks, how often have you been bothered by the following problems?"

#define PHQ_ITEM1 {"Little interest or pleasure in doing things", "44250-9"}
#define PHQ_ITEM2 {"Feeling down, depressed, or hopeless", "44255-8"}
#define GAD_ITEM1 {"Feeling nervous, anxious, or on edge", "69725-0"}
#define GAD_ITEM2 {"Not being able to stop or control worrying", "68509-9"}

static const struct haven_instrument phq9 = {
    .id = "phq9",
    .title = "PHQ-9",
    .name = "Patient Health Questionnaire-9",
    .stem = PHQ_STEM,
    .loinc_panel = "44249-1",
    .loinc_total = "44261-6",
    .nitems = 9,
    .items =
        {
            PHQ_ITEM1,
            PHQ_ITEM2,
            {"Trouble falling or staying asleep, or sleeping too much", "44259-0"},
            {"Feeling tired or having little energy", "44254-1"},
            {"Poor appetite or overeating", "44251-7"},
            {"Feeling bad about yourself, or that you are a failure or have let yourself or "
             "your family down",
             "44258-2"},
            {"Trouble concentrating on things, such as reading the newspaper or watching "
             "television",
             "44252-5"},
            {"Moving or speaking so slowly that other people could have noticed, or the "
             "opposite: being so fidgety or restless that you have been moving around a lot "
             "more than usual",
             "44253-3"},
            {"Thoughts that you would be better off dead, or of hurting yourself in some way",
             "44260-8"},
        },
    PHQ_OPTIONS,
    .nbands = 5,
    .bands =
        {
            {0, 4, "minimal", "Minimal"},
            {5, 9, "mild", "Mild"},
            {10, 14, "moderate", "Moderate"},
            {15, 19, "moderately_severe", "Moderately severe"},
            {20, 27, "severe", "Severe"},
        },
    .max_total = 27,
    .higher_is_worse = 1,
    .reliable_change = 6,
    .caseness = 10,
    .copyright = PFIZER,
};

static const struct haven_instrument gad7 = {
    .id = "gad7",
    .title = "GAD-7",
    .name = "Generalized Anxiety Disorder-7",
    .stem = GAD_STEM,
    .loinc_panel = "69737-5",
    .loinc_total = "70274-6",
    .nitems = 7,
    .items =
        {
            GAD_ITEM1,
            GAD_ITEM2,
            {"Worrying too much about different things", "69733-4"},
            {"Trouble relaxing", "69734-2"},
            {"Being so restless that it is hard to sit still", "69735-9"},
            {"Becoming easily annoyed or irritable", "69689-8"},
            {"Feeling afraid, as if something awful might happen", "69736-7"},
        },
    PHQ_OPTIONS,
    .nbands = 4,
    .bands =
        {
            {0, 4, "minimal", "Minimal"},
            {5, 9, "mild", "Mild"},
            {10, 14, "moderate", "Moderate"},
            {15, 21, "severe", "Severe"},
        },
    .max_total = 21,
    .higher_is_worse = 1,
    .reliable_change = 4,
    .caseness = 8,
    .copyright = PFIZER,
};

static const struct haven_instrument phq2 = {
    .id = "phq2",
    .title = "PHQ-2",
    .name = "Patient Health Questionnaire-2",
    .stem = PHQ_STEM,
    .loinc_panel = "55757-9",
    .loinc_total = "55758-7",
    .nitems = 2,
    .items = {PHQ_ITEM1, PHQ_ITEM2},
    PHQ_OPTIONS,
    .nbands = 2,
    .bands = {{0, 2, "negative", "Negative screen"}, {3, 6, "positive", "Positive screen"}},
    .max_total = 6,
    .higher_is_worse = 1,
    .copyright = PFIZER,
};

static const struct haven_instrument gad2 = {
    .id = "gad2",
    .title = "GAD-2",
    .name = "Generalized Anxiety Disorder-2",
    .stem = GAD_STEM,
    .nitems = 2,
    .items = {GAD_ITEM1, GAD_ITEM2},
    PHQ_OPTIONS,
    .nbands = 2,
    .bands = {{0, 2, "negative", "Negative screen"}, {3, 6, "positive", "Positive screen"}},
    .max_total = 6,
    .higher_is_worse = 1,
    .copyright = PFIZER,
};

static const struct haven_instrument who5 = {
    .id = "who5",
    .title = "WHO-5",
    .name = "WHO-5 Well-Being Index",
    .stem = "Over the last two weeks:",
    .nitems = 5,
    .items =
        {
            {"I have felt cheerful and in good spirits", NULL},
            {"I have felt calm and relaxed", NULL},
            {"I have felt active and vigorous", NULL},
            {"I woke up feeling fresh and rested", NULL},
            {"My daily life has been filled with things that interest me", NULL},
        },
    .noptions = 6,
    .options =
        {
            {5, "All of the time", NULL},
            {4, "Most of the time", NULL},
            {3, "More than half of the time", NULL},
            {2, "Less than half of the time", NULL},
            {1, "Some of the time", NULL},
            {0, "At no time", NULL},
        },
    .nbands = 2,
    /* Raw 0-25; times 4 gives 0-100, and 50 or less (raw 12 or less) suggests poor
     * wellbeing. */
    .bands = {{0, 12, "poor_wellbeing", "Poor wellbeing (50 or less out of 100)"},
              {13, 25, "not_poor", "Not indicating poor wellbeing (above 50 out of 100)"}},
    .max_total = 25,
    .scale = 4,
    .higher_is_worse = 0,
    .copyright = "WHO-5 Well-Being Index, WHO Regional Office for Europe, 1998; free to use.",
};

static const struct haven_instrument *const all[] = {&phq9, &gad7, &phq2, &gad2, &who5};

size_t haven_instruments(const struct haven_instrument *const **out)
{
	*out = all;
	return sizeof(all) / sizeof(all[0]);
}

const struct haven_instrument *haven_instrument_find(const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i]->id, id))
			return all[i];
	return NULL;
}

const struct haven_band *haven_instrument_band(const struct haven_instrument *in, int total)
{
	for (size_t i = 0; i < in->nbands; i++)
		if (total >= in->bands[i].min && total <= in->bands[i].max)
			return &in->bands[i];
	return NULL;
}

static int option_valid(const struct haven_instrument *in, int v)
{
	for (size_t i = 0; i < in->noptions; i++)
		if (in->options[i].value == v)
			return 1;
	return 0;
}

static void option_range(const struct haven_instrument *in, int *lo, int *hi)
{
	*lo = in->options[0].value;
	*hi = in->options[0].value;
	for (size_t i = 1; i < in->noptions; i++) {
		if (in->options[i].value < *lo)
			*lo = in->options[i].value;
		if (in->options[i].value > *hi)
			*hi = in->options[i].value;
	}
}

int haven_instrument_score(const struct haven_instrument *in, const int *answers,
                           size_t nanswers, int *total, const struct haven_band **band,
                           char *err, size_t errlen)
{
	int lo, hi;
	option_range(in, &lo, &hi);
	if (nanswers != in->nitems) {
		snprintf(err, errlen, "%s has %zu questions, so 'answers' needs %zu values, not %zu",
		         in->title, in->nitems, in->nitems, nanswers);
		return HAVEN_EINVAL;
	}
	int sum = 0;
	for (size_t i = 0; i < nanswers; i++) {
		if (!option_valid(in, answers[i])) {
			snprintf(err, errlen, "answers[%zu] (question %zu) is %d; %s answers are %d to %d",
			         i, i + 1, answers[i], in->title, lo, hi);
			return HAVEN_EINVAL;
		}
		sum += answers[i];
	}
	const struct haven_band *b = haven_instrument_band(in, sum);
	HAVEN_ASSERT(b != NULL); /* the bands cover 0..max_total */
	*total = sum;
	*band = b;
	return 0;
}

json_t *haven_instrument_json(const struct haven_instrument *in)
{
	json_t *items = json_array(), *options = json_array(), *bands = json_array();
	json_t *o = NULL;
	if (!items || !options || !bands)
		goto out;
	for (size_t i = 0; i < in->nitems; i++) {
		json_t *it = json_pack("{s:I,s:s,s:s*}", "number", (json_int_t)(i + 1), "text",
		                       in->items[i].text, "loinc", in->items[i].loinc);
		if (!it || json_array_append_new(items, it))
			goto out;
	}
	for (size_t i = 0; i < in->noptions; i++) {
		json_t *op = json_pack("{s:i,s:s,s:s*}", "value", in->options[i].value, "label",
		                       in->options[i].label, "loinc", in->options[i].loinc);
		if (!op || json_array_append_new(options, op))
			goto out;
	}
	for (size_t i = 0; i < in->nbands; i++) {
		json_t *b = json_pack("{s:i,s:i,s:s,s:s}", "min", in->bands[i].min, "max",
		                      in->bands[i].max, "name", in->bands[i].name, "label",
		                      in->bands[i].label);
		if (!b || json_array_append_new(bands, b))
			goto out;
	}
	o = json_pack("{s:s,s:s,s:s,s:s,s:O,s:O,s:O,s:i,s:b,s:{s:s*,s:s*},s:s}", "id", in->id,
	              "title", in->title, "name", in->name, "stem", in->stem, "items", items,
	              "options", options, "bands", bands, "max_total", in->max_total,
	              "higher_is_worse", in->higher_is_worse, "loinc", "panel", in->loinc_panel,
	              "total", in->loinc_total, "copyright", in->copyright);
	if (!o)
		goto out;
	if (json_object_set_new(o, "scale", in->scale ? json_integer(in->scale) : json_null()) ||
	    json_object_set_new(o, "reliable_change",
	                        in->reliable_change ? json_integer(in->reliable_change)
	                                            : json_null()) ||
	    json_object_set_new(o, "caseness",
	                        in->caseness ? json_integer(in->caseness) : json_null())) {
		json_decref(o);
		o = NULL;
	}
out:
	json_decref(items);
	json_decref(options);
	json_decref(bands);
	return o;
}

/* ---- Reliable change ---- */

double haven_rci(double x1, double x2, double sd, double reliability)
{
	double se = sd * sqrt(1.0 - reliability);
	double sdiff = sqrt(2.0 * se * se);
	return sdiff > 0 ? (x2 - x1) / sdiff : 0.0;
}

double haven_instrument_sdiff(const struct haven_instrument *in)
{
	return in->reliable_change ? in->reliable_change / 1.96 : 0.0;
}

enum haven_reliable haven_instrument_reliable(const struct haven_instrument *in, int x1, int x2)
{
	if (!in->reliable_change)
		return HAVEN_RELIABLE_UNKNOWN;
	int worse = in->higher_is_worse ? x2 - x1 : x1 - x2;
	if (worse >= in->reliable_change)
		return HAVEN_RELIABLE_DETERIORATION;
	if (-worse >= in->reliable_change)
		return HAVEN_RELIABLE_IMPROVEMENT;
	return HAVEN_RELIABLE_NONE;
}

const char *haven_reliable_name(enum haven_reliable r)
{
	switch (r) {
	case HAVEN_RELIABLE_NONE:
		return "none";
	case HAVEN_RELIABLE_IMPROVEMENT:
		return "improvement";
	case HAVEN_RELIABLE_DETERIORATION:
		return "deterioration";
	default:
		return NULL;
	}
}
