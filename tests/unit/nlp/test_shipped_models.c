/* test_shipped_models.c: every model in models/ loads and gives sane answers on a few
 * obvious sentences (the tests run from the repository root; $HAVEN_MODELS overrides). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlp/nlp.h"

static struct haven_model *load(const char *name)
{
	char path[1024], err[256];
	const char *dir = getenv("HAVEN_MODELS");
	struct haven_model *m = NULL;
	snprintf(path, sizeof(path), "%s/%s.hvm", dir && *dir ? dir : "models", name);
	if (haven_model_load(path, &m, err, sizeof(err)))
		fprintf(stdout, "    cannot load %s: %s\n", path, err);
	return m;
}

/* Returns 1 when `label` is among the predicted labels of `text`. */
static int predicts(struct haven_model *m, struct haven_nlp_ws *ws, const char *text,
		    const char *label)
{
	struct haven_prediction p;
	long i = haven_model_label_index(m, label);
	if (i < 0 || haven_model_predict(m, ws, text, strlen(text), &p))
		return 0;
	return p.predicted[i];
}

TEST(shipped_models_load_and_make_sense)
{
	struct haven_nlp_ws *ws;
	ASSERT_OK(haven_nlp_ws_create(&ws));
	struct haven_model *m = load("emotion");
	ASSERT(m);
	ASSERT_EQ(haven_model_info(m)->nlabels, 28);
	ASSERT(predicts(m, ws, "Thank you so much, I really appreciate it!", "gratitude"));
	ASSERT(predicts(m, ws, "I am so scared of what will happen tomorrow", "fear"));
	ASSERT(predicts(m, ws, "I miss her so much, I feel so sad", "sadness"));
	ASSERT(predicts(m, ws, "This is hilarious lol", "amusement"));
	haven_model_destroy(&m);

	m = load("sentiment");
	ASSERT(m);
	ASSERT(predicts(m, ws, "I love this so much", "positive"));
	ASSERT(predicts(m, ws, "I hate everything about today", "negative"));
	haven_model_destroy(&m);

	m = load("stress");
	ASSERT(m);
	ASSERT(predicts(m, ws, "I can't pay rent and I am panicking, I don't know what to do", "1"));
	ASSERT(predicts(m, ws, "We had a lovely picnic in the park with friends", "0"));
	haven_model_destroy(&m);

	m = load("distortion");
	ASSERT(m);
	ASSERT_EQ(haven_model_info(m)->nlabels, 11);
	ASSERT(haven_model_label_index(m, "No Distortion") >= 0);
	ASSERT(predicts(m, ws, "I always fail at everything, I am a total loser",
			"Overgeneralization") ||
	       predicts(m, ws, "I always fail at everything, I am a total loser", "Labeling"));
	haven_model_destroy(&m);

	m = load("sdcnl");
	ASSERT(m);
	ASSERT(predicts(m, ws, "I have written my note and I am going to kill myself tonight", "1"));
	haven_model_destroy(&m);
	haven_nlp_ws_destroy(&ws);
}
