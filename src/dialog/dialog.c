/*
 * dialog.c: loading the agent (content, crisis lines, models), per-thread workers, and
 * the analysis of one message: crisis screen, intent, emotion, distortion, numbers and
 * yes/no. Everything here runs before the store transaction, on the caller's thread.
 */
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dialog/dialog.h"
#include "nlp/nlp.h"

struct haven_dialog {
	struct haven_content *content;
	struct haven_crisis_lines *lines;
	struct haven_exercise_texts *exercise_texts;
	struct haven_model *intent, *emotion, *distortion;
	/* The crisis screen, loaded once when the first worker is made; each worker clones
	 * it (its lexicon and models shared, its scratch space its own). Loading it takes
	 * longer than the rest of start-up (the lexicon's trie, two model files checked), so
	 * it is not part of haven_dialog_create; `haven serve` makes its first worker in the
	 * background as soon as it listens (src/api/chat.c). */
	pthread_mutex_t crisis_lock;
	struct haven_crisis *crisis;
	int crisis_rc; /* the load's result once tried (it is not tried again) */
	char crisis_err[256];
	char default_locale[16];
};

struct haven_dialog_worker {
	struct haven_dialog *d;
	struct haven_crisis *crisis;
	struct haven_nlp_ws *ws;
};

static int dir_has(const char *dir, const char *file)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return access(p, R_OK) == 0;
}

/* models/ under the working directory, else beside the executable. */
static void models_dir_default(char *out, size_t outlen)
{
	if (dir_has("models", "intent.hvm")) {
		haven_strlcpy(out, "models", outlen);
		return;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(out, outlen, "%s/../models", exe) < (int)outlen)
				return;
		}
	}
	haven_strlcpy(out, "models", outlen);
}

static int load_model(const char *dir, const char *name, int required, struct haven_model **out,
		      char *err, size_t errlen)
{
	char path[PATH_MAX + 32], e[200] = "";
	snprintf(path, sizeof(path), "%s/%s.hvm", dir, name);
	int rc = haven_model_load(path, out, e, sizeof(e));
	if (rc == HAVEN_ENOTFOUND && !required)
		return 0;
	if (rc)
		snprintf(err, errlen, "%s: %s", path, e[0] ? e : haven_strerror(rc));
	return rc;
}

void haven_dialog_destroy(struct haven_dialog **pd)
{
	struct haven_dialog *d = *pd;
	if (!d)
		return;
	haven_content_destroy(&d->content);
	haven_crisis_lines_destroy(&d->lines);
	haven_exercise_texts_destroy(&d->exercise_texts);
	haven_model_destroy(&d->intent);
	haven_model_destroy(&d->emotion);
	haven_model_destroy(&d->distortion);
	haven_crisis_destroy(&d->crisis);
	pthread_mutex_destroy(&d->crisis_lock);
	free(d);
	*pd = NULL;
}

int haven_dialog_create(const struct haven_dialog_config *cfg, struct haven_dialog **out,
			char *err, size_t errlen)
{
	*out = NULL;
	struct haven_dialog_config none = {0};
	if (!cfg)
		cfg = &none;
	struct haven_dialog *d = haven_calloc(1, sizeof(*d));
	if (!d)
		return HAVEN_ENOMEM;
	pthread_mutex_init(&d->crisis_lock, NULL);
	char root[PATH_MAX], path[PATH_MAX + 32], models[PATH_MAX];
	int rc = 0;
	if (cfg->content_dir)
		haven_strlcpy(root, cfg->content_dir, sizeof(root));
	else if ((rc = haven_content_root(root, sizeof(root)))) {
		snprintf(err, errlen, "content: no content/ directory under the working directory or "
				      "beside the executable (set HAVEN_CONTENT_DIR)");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/flows", root);
	if ((rc = haven_content_load(path, &d->content, err, errlen)))
		goto out;
	snprintf(path, sizeof(path), "%s/crisis_lines.txt", root);
	if ((rc = haven_crisis_lines_load(path, &d->lines, err, errlen)))
		goto out;
	snprintf(path, sizeof(path), "%s/exercises.txt", root);
	if ((rc = haven_exercise_texts_load(path, d->content, &d->exercise_texts, err, errlen)))
		goto out;
	if (cfg->models_dir)
		haven_strlcpy(models, cfg->models_dir, sizeof(models));
	else
		models_dir_default(models, sizeof(models));
	if ((rc = load_model(models, "intent", 1, &d->intent, err, errlen)) ||
	    (rc = load_model(models, "emotion", 0, &d->emotion, err, errlen)) ||
	    (rc = load_model(models, "distortion", 0, &d->distortion, err, errlen)))
		goto out;
	for (size_t i = 0; i < d->content->nintents; i++)
		if (haven_model_label_index(d->intent, d->content->intents[i]) < 0) {
			snprintf(err, errlen,
				 "%s/intent.hvm: the content uses the intent '%s', which the intent "
				 "model does not know (add examples to content/intents/intents.tsv "
				 "and run models/train_intent.sh)",
				 models, d->content->intents[i]);
			rc = HAVEN_EINVAL;
			goto out;
		}
	haven_strlcpy(d->default_locale,
		      cfg->default_locale && *cfg->default_locale ? cfg->default_locale : "en-US",
		      sizeof(d->default_locale));
	*out = d;
	d = NULL;
out:
	haven_dialog_destroy(&d);
	return rc;
}

const struct haven_content *haven_dialog_content(const struct haven_dialog *d)
{
	return d->content;
}

const struct haven_crisis_lines *haven_dialog_lines(const struct haven_dialog *d)
{
	return d->lines;
}

const struct haven_exercise_texts *haven_dialog_exercise_texts(const struct haven_dialog *d)
{
	return d->exercise_texts;
}

const char *haven_dialog_default_locale(const struct haven_dialog *d)
{
	return d->default_locale;
}

int haven_dialog_worker_create(struct haven_dialog *d, struct haven_dialog_worker **out, char *err,
			       size_t errlen)
{
	*out = NULL;
	struct haven_dialog_worker *w = haven_calloc(1, sizeof(*w));
	if (!w)
		return HAVEN_ENOMEM;
	w->d = d;
	pthread_mutex_lock(&d->crisis_lock);
	if (!d->crisis && !d->crisis_rc) {
		d->crisis_rc = haven_crisis_create(NULL, NULL, &d->crisis, d->crisis_err,
		                                   sizeof(d->crisis_err));
		if (!d->crisis && !d->crisis_rc)
			d->crisis_rc = HAVEN_ENOMEM;
	}
	int rc = d->crisis_rc;
	if (rc)
		snprintf(err, errlen, "%s", d->crisis_err);
	else if ((rc = haven_crisis_clone(d->crisis, &w->crisis)))
		snprintf(err, errlen, "the crisis screen: %s", haven_strerror(rc));
	pthread_mutex_unlock(&d->crisis_lock);
	if (!rc)
		rc = haven_nlp_ws_create(&w->ws);
	if (rc) {
		haven_dialog_worker_destroy(&w);
		return rc;
	}
	*out = w;
	return 0;
}

struct haven_dialog *haven_dialog_worker_dialog(struct haven_dialog_worker *w)
{
	return w->d;
}

void haven_dialog_worker_destroy(struct haven_dialog_worker **pw)
{
	struct haven_dialog_worker *w = *pw;
	if (!w)
		return;
	haven_crisis_destroy(&w->crisis);
	haven_nlp_ws_destroy(&w->ws);
	free(w);
	*pw = NULL;
}

/* ---- Parsing ---- */

/* Lower-case words of text joined by single spaces, with a space at both ends. */
static void words(const char *text, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	out[o++] = ' ';
	for (size_t i = 0; i < len && o + 2 < outlen; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\'')
			continue;
		if (isalnum(c) || c >= 0x80)
			out[o++] = (char)tolower(c);
		else if (out[o - 1] != ' ')
			out[o++] = ' ';
	}
	if (out[o - 1] != ' ')
		out[o++] = ' ';
	out[o] = '\0';
}

static int starts_with_any(const char *w, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strncmp(w, list[i], strlen(list[i])))
			return 1;
	return 0;
}

int haven_parse_yesno(const char *text, size_t len)
{
	static const char *const yes[] = {
	    " yes ", " yeah ", " yea ", " yep ", " yup ", " y ", " sure ", " ok ", " okay ",
	    " okey ", " k ", " of course ", " definitely ", " absolutely ", " please ",
	    " i do ", " go ahead ", " lets ", " alright ",
	    " sounds good ", " why not ", " correct ", " true ", " kind of ",
	    " kinda ", " sometimes ", " a bit ", " a little ", " maybe yes ", " ya ", " ye ",
	    NULL};
	static const char *const no[] = {
	    " no ", " nope ", " nah ", " n ", " not really ", " not now ", " no thanks ",
	    " never ", " i dont ", " i do not ", " im not ", " i am not ", " not at all ",
	    " maybe later ", " not today ", " id rather not ", " i havent ", " negative ",
	    " no way ", " dont ", NULL};
	char w[256];
	words(text, len < 200 ? len : 200, w, sizeof(w));
	/* "no" words win over a later "yes" ("no, I'm okay"); negatives first. */
	if (starts_with_any(w, no))
		return 0;
	if (starts_with_any(w, yes))
		return 1;
	return -1;
}

int haven_parse_frequency(const char *text, size_t len)
{
	char w[256];
	words(text, len < 200 ? len : 200, w, sizeof(w));
	if (strstr(w, " nearly every day ") || strstr(w, " every day ") ||
	    strstr(w, " almost every day ") || strstr(w, " all the time ") ||
	    strstr(w, " everyday "))
		return 3;
	if (strstr(w, " more than half ") || strstr(w, " most days ") || strstr(w, " often "))
		return 2;
	if (strstr(w, " several days ") || strstr(w, " some days ") || strstr(w, " a few days ") ||
	    strstr(w, " sometimes ") || strstr(w, " occasionally "))
		return 1;
	if (strstr(w, " not at all ") || strstr(w, " never ") || strstr(w, " none ") ||
	    strstr(w, " no days "))
		return 0;
	return -1;
}

int haven_parse_number(const char *text, size_t len, long *out)
{
	for (size_t i = 0; i < len; i++) {
		if (text[i] >= '0' && text[i] <= '9') {
			/* A minus sign right before the digits makes it negative. */
			int neg = i > 0 && text[i - 1] == '-' && (i < 2 || text[i - 2] == ' ');
			long v = 0;
			size_t j = i;
			while (j < len && text[j] >= '0' && text[j] <= '9' && v < 100000)
				v = v * 10 + (text[j++] - '0');
			*out = neg ? -v : v;
			return 1;
		}
	}
	static const char *const names[] = {"zero", "one", "two",   "three", "four", "five",
					    "six",  "seven", "eight", "nine", "ten",  NULL};
	char w[512];
	words(text, len < 400 ? len : 400, w, sizeof(w));
	long best = -1;
	const char *bestpos = NULL;
	for (long k = 0; names[k]; k++) {
		char pat[16];
		snprintf(pat, sizeof(pat), " %s ", names[k]);
		const char *p = strstr(w, pat);
		if (p && (!bestpos || p < bestpos)) {
			bestpos = p;
			best = k;
		}
	}
	if (strstr(w, " none ") && !bestpos) {
		*out = 0;
		return 1;
	}
	if (!bestpos)
		return 0;
	*out = best;
	return 1;
}

/* ---- Analysis ---- */

/* Plain words for GoEmotions labels a person might be told they seem to feel. */
static const char *feeling_word(const char *label)
{
	static const char *const map[][2] = {
	    {"sadness", "sad"},           {"grief", "a sense of loss"},
	    {"disappointment", "let down"}, {"nervousness", "anxious"},
	    {"fear", "afraid"},           {"anger", "angry"},
	    {"annoyance", "frustrated"},  {"remorse", "guilty"},
	    {"embarrassment", "embarrassed"}, {"confusion", "confused"},
	    {"disgust", "fed up"},        {"disapproval", "unhappy about it"},
	    {"joy", "happy"},             {"gratitude", "grateful"},
	    {"relief", "relieved"},       {"optimism", "hopeful"},
	    {"love", "loving"},           {"pride", "proud"},
	    {"excitement", "excited"},    {"amusement", "amused"},
	    {"caring", "caring"},         {"desire", "a longing"},
	    {"surprise", "surprised"},    {"admiration", "admiring"},
	    {"approval", "okay about it"}, {"curiosity", "curious"},
	    {"realization", "a sense of realising something"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i][0], label))
			return map[i][1];
	return NULL;
}

static int analyze_emotion(struct haven_dialog_worker *w, const char *text, size_t len,
			   struct haven_turn_nlp *out)
{
	if (!w->d->emotion)
		return 0;
	struct haven_prediction p;
	int rc = haven_model_predict(w->d->emotion, w->ws, text, len, &p);
	if (rc)
		return rc;
	/* The two most probable predicted feelings (not neutral). */
	size_t best[2] = {SIZE_MAX, SIZE_MAX};
	for (size_t i = 0; i < p.nlabels; i++) {
		const char *l = haven_model_label(w->d->emotion, i);
		if (!p.predicted[i] || !feeling_word(l) || p.prob[i] < 0.2f)
			continue;
		if (best[0] == SIZE_MAX || p.prob[i] > p.prob[best[0]]) {
			best[1] = best[0];
			best[0] = i;
		} else if (best[1] == SIZE_MAX || p.prob[i] > p.prob[best[1]])
			best[1] = i;
	}
	if (best[0] == SIZE_MAX)
		return 0;
	const char *a = feeling_word(haven_model_label(w->d->emotion, best[0]));
	const char *b = best[1] != SIZE_MAX ? feeling_word(haven_model_label(w->d->emotion, best[1]))
					    : NULL;
	if (b && strcmp(a, b))
		snprintf(out->feeling, sizeof(out->feeling), "%s and %s", a, b);
	else
		haven_strlcpy(out->feeling, a, sizeof(out->feeling));
	return 0;
}

static int analyze_distortion(struct haven_dialog_worker *w, const char *text, size_t len,
			      struct haven_turn_nlp *out)
{
	if (!w->d->distortion)
		return 0;
	struct haven_prediction p;
	int rc = haven_model_predict(w->d->distortion, w->ws, text, len, &p);
	if (rc)
		return rc;
	/* The most probable thinking trap other than "No Distortion". */
	long none = haven_model_label_index(w->d->distortion, "No Distortion");
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < p.nlabels; i++)
		if ((long)i != none && (best == SIZE_MAX || p.prob[i] > p.prob[best]))
			best = i;
	if (best == SIZE_MAX || (none >= 0 && p.top == (size_t)none))
		return 0;
	haven_strlcpy(out->trap, haven_model_label(w->d->distortion, best), sizeof(out->trap));
	out->trap_p = p.prob[best];
	struct haven_explanation ex;
	if (haven_model_explain(w->d->distortion, w->ws, text, len, best, 4, &ex))
		return 0;
	size_t o = 0;
	for (size_t i = 0; i < ex.n; i++) {
		const char *name = ex.top[i].name;
		if (ex.top[i].contribution <= 0 || strncmp(name, "w:", 2))
			continue;
		/* A word inside a negation's scope is a feature of its own ("NEG_real"); the
		 * person wrote the word. */
		const char *word = name + 2;
		if (!strncmp(word, "NEG_", 4))
			word += 4;
		int n = snprintf(out->trap_terms + o, sizeof(out->trap_terms) - o, "%s\"%s\"",
				 o ? ", " : "", word);
		if (n < 0 || (size_t)n >= sizeof(out->trap_terms) - o)
			break;
		o += (size_t)n;
	}
	return 0;
}

int haven_dialog_analyze(struct haven_dialog_worker *w, const char *text, size_t len,
			 struct haven_turn_nlp *out)
{
	memset(out, 0, sizeof(*out));
	haven_crisis_assess(w->crisis, text, len, &out->crisis);
	out->overdose = haven_safety_overdose_taken(text, len);
	out->denial = haven_safety_is_denial(text, len);
	out->asks_lines = haven_safety_asks_for_lines(text, len);
	out->yesno = haven_parse_yesno(text, len);
	long n;
	out->has_number = haven_parse_number(text, len, &n);
	out->number = out->has_number ? n : 0;
	out->phq_answer = haven_parse_frequency(text, len);
	struct haven_prediction p;
	int rc = haven_model_predict(w->d->intent, w->ws, text, len, &p);
	if (rc)
		return rc;
	haven_strlcpy(out->intent, haven_model_label(w->d->intent, p.top), sizeof(out->intent));
	out->intent_p = p.prob[p.top];
	if (out->yesno < 0 && out->intent_p >= 0.6) {
		if (!strcmp(out->intent, "yes"))
			out->yesno = 1;
		else if (!strcmp(out->intent, "no"))
			out->yesno = 0;
	}
	if ((rc = analyze_emotion(w, text, len, out)))
		return rc;
	return analyze_distortion(w, text, len, out);
}
