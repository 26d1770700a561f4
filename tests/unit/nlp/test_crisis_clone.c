/*
 * test_crisis_clone.c: haven_crisis_clone. A clone shares the lexicon and the loaded models
 * of the instance it came from and judges every text exactly as that instance does, from
 * other threads at the same time; destroying clones leaves the original working.
 */
#include <pthread.h>
#include <string.h>

#include "harness.h"
#include "nlp/crisis.h"

static const char *const texts[] = {
    "i want to kill myself tonight",
    "this exam is killing me lol",
    "i have the pills ready",
    "my friend said she wants to die and i'm scared for her",
    "kms",
    "honestly i just want to sleep and not wake up",
    "had a good day at work, went for a run after",
    "i'm not suicidal, i just already wrote the letters",
    "i used to cut but i'm 2 years clean now",
    "nobody would even notice if i was gone",
    "gonna unalive myself if this meeting runs over lmao",
    "took a whole box of paracetamol an hour ago",
};
#define NTEXTS (sizeof(texts) / sizeof(texts[0]))

static void same(const struct haven_crisis_result *a, const struct haven_crisis_result *b)
{
	ASSERT_EQ(a->level, b->level);
	ASSERT(a->score == b->score);
	ASSERT_EQ(a->flags, b->flags);
	ASSERT_EQ(a->n_reasons, b->n_reasons);
	for (size_t i = 0; i < a->n_reasons; i++)
		ASSERT(!memcmp(&a->reasons[i], &b->reasons[i], sizeof(a->reasons[i])));
	ASSERT_EQ(a->model_used, b->model_used);
	ASSERT(a->model_probability == b->model_probability);
	ASSERT_EQ(a->n_model_terms, b->n_model_terms);
	ASSERT_EQ(a->short_model_used, b->short_model_used);
	ASSERT(a->short_model_probability == b->short_model_probability);
	ASSERT_STR_EQ(a->lexicon_version, b->lexicon_version);
}

struct job {
	const struct haven_crisis *base;
	const struct haven_crisis_result *want;
	int mismatches;
	int rc;
};

static void *judge_all(void *arg)
{
	struct job *j = arg;
	struct haven_crisis *c = NULL;
	j->rc = haven_crisis_clone(j->base, &c);
	if (j->rc)
		return NULL;
	for (int round = 0; round < 20; round++)
		for (size_t i = 0; i < NTEXTS; i++) {
			struct haven_crisis_result r;
			haven_crisis_assess(c, texts[i], strlen(texts[i]), &r);
			if (r.level != j->want[i].level || r.score != j->want[i].score ||
			    r.model_probability != j->want[i].model_probability ||
			    r.short_model_probability != j->want[i].short_model_probability)
				j->mismatches++;
		}
	haven_crisis_destroy(&c);
	return NULL;
}

TEST(crisis_clone_judges_as_its_original_from_other_threads)
{
	struct haven_crisis *base = NULL;
	char err[256];
	ASSERT_OK(haven_crisis_create(NULL, NULL, &base, err, sizeof(err)));
	struct haven_crisis_result want[NTEXTS];
	int high = 0;
	for (size_t i = 0; i < NTEXTS; i++) {
		haven_crisis_assess(base, texts[i], strlen(texts[i]), &want[i]);
		high += want[i].level == HAVEN_RISK_HIGH;
	}
	ASSERT(high >= 3); /* the texts above do reach the screen's rules */

	struct haven_crisis *c = NULL;
	ASSERT_OK(haven_crisis_clone(base, &c));
	for (size_t i = 0; i < NTEXTS; i++) {
		struct haven_crisis_result r;
		haven_crisis_assess(c, texts[i], strlen(texts[i]), &r);
		same(&want[i], &r);
		ASSERT_STR_EQ(haven_crisis_model_path(c) ? haven_crisis_model_path(c) : "",
		              haven_crisis_model_path(base) ? haven_crisis_model_path(base) : "");
	}
	haven_crisis_destroy(&c);
	ASSERT(c == NULL);

	struct job jobs[3];
	pthread_t t[3];
	for (int k = 0; k < 3; k++) {
		jobs[k] = (struct job){base, want, 0, 0};
		ASSERT_EQ(pthread_create(&t[k], NULL, judge_all, &jobs[k]), 0);
	}
	for (int k = 0; k < 3; k++) {
		pthread_join(t[k], NULL);
		ASSERT_OK(jobs[k].rc);
		ASSERT_EQ(jobs[k].mismatches, 0);
	}

	/* The original still works once every clone is gone. */
	for (size_t i = 0; i < NTEXTS; i++) {
		struct haven_crisis_result r;
		haven_crisis_assess(base, texts[i], strlen(texts[i]), &r);
		same(&want[i], &r);
	}
	haven_crisis_destroy(&base);
}
