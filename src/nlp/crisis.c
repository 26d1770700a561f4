/*
 * crisis.c: the crisis screen: reads the lexicon matches of a message in their context
 * (negation, subject, questions, quotes, reported speech, laughter, figures of speech,
 * a named time) and combines them with the classifier into one level, score and reasons.
 * The rules are described for clinicians and operators in docs/crisis.md; keep the two
 * in step.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nlp/crisis_int.h"
#include "nlp/crisis_model.h"

#define NEGATION_WINDOW 3 /* tokens between a negation and the phrase it negates */
#define RESOLVED_WINDOW 6 /* tokens between a phrase and "but not anymore" */

struct haven_crisis {
	struct haven_crisis_lexicon *lex;
	char lexicon_version[96];
	struct haven__crisis_model *model; /* NULL when no model file was found */
	char model_version[128];
	char model_path[PATH_MAX];
	/* The short-message classifier, beside the main model (NULL when absent). */
	struct haven__crisis_model *short_model;
	char short_version[128];
	int clone; /* the lexicon and models belong to the instance this was cloned from */
	/* Scratch kept from one message to the next (never shared with a clone). */
	struct crisis_scan scan;
	struct judged *js;
	size_t js_cap;
};

/* The short-message classifier is trained on the chat messages written for Haven
 * (models/crisis_short.md) with three labels (none, crisis, crisis_high); it may raise a
 * short message the lexicon rated below high, to "moderate" (the agent asks) when
 * p(crisis) + p(crisis_high) >= SHORT_MODEL_P, to "high" when p(crisis_high) >=
 * SHORT_MODEL_HIGH_P. Both thresholds were chosen by holding out written sets in turn
 * (models/crisis_short.md): 0.60 until 1.4.0, trained with balanced class weights; 0.45
 * since 1.5.0, trained without, which at 0.45 kept the recall of the balanced model at 0.60
 * with fewer false alarms ("i'm going to the store" was high). */
#define SHORT_MODEL_P 0.45
#define SHORT_MODEL_HIGH_P 0.45 /* p("crisis_high") for "high" (models/crisis_short.md) */
/* Messages up to 80 tokens: since 1.5.0 it is trained on messages of up to 60 words, and
 * holding its training sets out in turn, 80 kept recall that 40 lost (train4 +2, train6 +7
 * crisis messages) for one more false alarm. */
#define SHORT_MODEL_MAX_TOKENS 80
/* And from 3 tokens: one or two words ("done", "all done") are too few for a bag of
 * n-grams, which read them as "im done"; of the 14 crisis messages of one or two words in
 * every written set the lexicon alone reads 12, and held out the classifier caught none of
 * them. */
#define SHORT_MODEL_MIN_TOKENS 3
/* A figure of speech anywhere, or words aimed at or about someone else: the classifiers,
 * which read the whole message, would take them for the writer's own. */
#define CONTEXT_READ (HAVEN_CRISIS_FIGURATIVE | HAVEN_CRISIS_DIRECTED | HAVEN_CRISIS_ABOUT_OTHER)

const char *haven_risk_level_name(enum haven_risk_level level)
{
	switch (level) {
	case HAVEN_RISK_NONE: return "none";
	case HAVEN_RISK_LOW: return "low";
	case HAVEN_RISK_MODERATE: return "moderate";
	case HAVEN_RISK_HIGH: return "high";
	}
	return "none";
}

const char *haven_crisis_flag_name(unsigned flag)
{
	switch (flag) {
	case HAVEN_CRISIS_ABOUT_OTHER: return "about_other";
	case HAVEN_CRISIS_FIGURATIVE: return "figurative";
	case HAVEN_CRISIS_NEGATED: return "negated";
	case HAVEN_CRISIS_HYPOTHETICAL: return "hypothetical";
	case HAVEN_CRISIS_QUOTED: return "quoted";
	case HAVEN_CRISIS_REPORTED: return "reported";
	case HAVEN_CRISIS_HUMOUR: return "humour";
	case HAVEN_CRISIS_DIRECTED: return "directed_at_other";
	case HAVEN_CRISIS_TRUNCATED: return "truncated";
	default: return "unknown";
	}
}

/* ------------------------------------------------------------------ creation */

static int exe_dir(char *out, size_t n)
{
	ssize_t l = readlink("/proc/self/exe", out, n - 1);
	if (l <= 0)
		return -1;
	out[l] = '\0';
	char *slash = strrchr(out, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

/* Finds a data file: $env, then ./rel, then <exe dir>/../rel. Returns 0 and the path. */
static int find_data_file(const char *env, const char *rel, char *out, size_t n)
{
	const char *e = getenv(env);
	if (e && *e) {
		haven_strlcpy(out, e, n);
		return 0;
	}
	if (access(rel, R_OK) == 0) {
		haven_strlcpy(out, rel, n);
		return 0;
	}
	char dir[PATH_MAX];
	if (exe_dir(dir, sizeof(dir)) == 0) {
		int w = snprintf(out, n, "%s/../%s", dir, rel);
		if (w > 0 && (size_t)w < n && access(out, R_OK) == 0)
			return 0;
	}
	haven_strlcpy(out, rel, n);
	return -1;
}

int haven_crisis_create(const char *lexicon_path, const char *model_path,
			struct haven_crisis **out, char *err, size_t errlen)
{
	*out = NULL;
	char path[PATH_MAX];
	int rc;
	struct haven_crisis *c = calloc(1, sizeof(*c));
	if (!c)
		return HAVEN_ENOMEM;
	if (lexicon_path)
		haven_strlcpy(path, lexicon_path, sizeof(path));
	else
		(void)find_data_file("HAVEN_CRISIS_LEXICON", "content/lexicon/crisis-v1.txt", path,
				     sizeof(path));
	if ((rc = haven_crisis_lexicon_load(path, &c->lex, err, errlen)))
		goto out;
	snprintf(c->lexicon_version, sizeof(c->lexicon_version), "%s",
		 haven_crisis_lexicon_version(c->lex));

	int have_model = 1;
	if (model_path && !model_path[0])
		have_model = 0; /* "" asks for the lexicon alone */
	else if (model_path)
		haven_strlcpy(path, model_path, sizeof(path));
	else
		have_model = find_data_file("HAVEN_CRISIS_MODEL", "models/crisis.hvm", path,
					    sizeof(path)) == 0;
	if (have_model) {
		rc = haven__crisis_model_load(path, &c->model, c->model_version,
					      sizeof(c->model_version), err, errlen);
		if (rc == HAVEN_ENOTFOUND && !model_path) {
			rc = HAVEN_OK; /* an absent default model is reported, not an error */
		} else if (rc) {
			goto out;
		} else {
			haven_strlcpy(c->model_path, path, sizeof(c->model_path));
		}
	}
	if (c->model) {
		/* crisis_short.hvm beside crisis.hvm; optional. */
		char *slash = strrchr(path, '/');
		size_t dir = slash ? (size_t)(slash - path + 1) : 0;
		if (dir + sizeof("crisis_short.hvm") <= sizeof(path)) {
			memcpy(path + dir, "crisis_short.hvm", sizeof("crisis_short.hvm"));
			rc = haven__crisis_model_load(path, &c->short_model, c->short_version,
						      sizeof(c->short_version), err, errlen);
			if (rc && rc != HAVEN_ENOTFOUND)
				goto out;
		}
	}
	rc = HAVEN_OK;
out:
	if (rc)
		haven_crisis_destroy(&c);
	*out = c;
	return rc;
}

int haven_crisis_clone(const struct haven_crisis *base, struct haven_crisis **out)
{
	*out = NULL;
	struct haven_crisis *c = malloc(sizeof(*c));
	if (!c)
		return HAVEN_ENOMEM;
	*c = *base;
	c->clone = 1;
	c->model = c->short_model = NULL;
	memset(&c->scan, 0, sizeof(c->scan));
	c->js = NULL;
	c->js_cap = 0;
	int rc = 0;
	if (base->model)
		rc = haven__crisis_model_clone(base->model, &c->model);
	if (!rc && base->short_model)
		rc = haven__crisis_model_clone(base->short_model, &c->short_model);
	if (rc) {
		haven_crisis_destroy(&c);
		return rc;
	}
	*out = c;
	return 0;
}

void haven_crisis_destroy(struct haven_crisis **pc)
{
	struct haven_crisis *c = pc ? *pc : NULL;
	if (!c)
		return;
	if (!c->clone)
		haven_crisis_lexicon_destroy(&c->lex);
	haven__crisis_model_destroy(&c->model);
	haven__crisis_model_destroy(&c->short_model);
	haven__crisis_scan_release(&c->scan);
	free(c->js);
	free(c);
	*pc = NULL;
}

const char *haven_crisis_model_path(const struct haven_crisis *c)
{
	return c->model ? c->model_path : NULL;
}

/* ------------------------------------------------------------------ assessment */

enum subject { SUBJECT_SELF_DEFAULT, SUBJECT_SELF, SUBJECT_OTHER, SUBJECT_GENERIC };

struct judged {
	const struct crisis_match *m;
	const struct crisis_pattern *pat;
	enum haven_risk_level level;
	unsigned discounted_by;
	unsigned flags; /* what the phrase itself says (directed, about someone else) */
	int dropped;    /* covered by a longer phrase that decides its reading */
};

struct context {
	const struct haven_crisis_lexicon *lex;
	const struct crisis_scan *scan;
	uint64_t present; /* bit c: some match has category c (most cues are absent, and a
			     question about one is then answered without a loop) */
};

_Static_assert(CRISIS_CAT__COUNT <= 64, "struct context's present is 64 bits");

static int cat_present(const struct context *cx, enum crisis_cat cat)
{
	return (int)((cx->present >> cat) & 1);
}

static uint8_t cat_of(const struct context *cx, const struct crisis_match *m)
{
	return haven__crisis_pattern(cx->lex, m->pattern)->cat;
}

static uint32_t sentence_of(const struct context *cx, uint32_t tok)
{
	return cx->scan->toks[tok].sentence;
}

static uint32_t clause_of(const struct context *cx, uint32_t tok)
{
	return cx->scan->toks[tok].clause;
}

/* Is there a cue of category `cat` covering the token? */
static int token_has_cue(const struct context *cx, uint32_t tok, enum crisis_cat cat)
{
	if (!cat_present(cx, cat))
		return 0;
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *c = &cx->scan->matches[i];
		if (cat_of(cx, c) == cat && c->first <= tok && tok < c->last)
			return 1;
	}
	return 0;
}

static int cue_in_sentence(const struct context *cx, const struct crisis_match *m,
			   enum crisis_cat cat, int before_only)
{
	if (!cat_present(cx, cat))
		return 0;
	uint32_t s = sentence_of(cx, m->first);
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *c = &cx->scan->matches[i];
		if (cat_of(cx, c) != cat || sentence_of(cx, c->first) != s)
			continue;
		if (before_only && c->first >= m->first)
			continue;
		return 1;
	}
	return 0;
}

static int cue_anywhere(const struct context *cx, enum crisis_cat cat)
{
	return cat_present(cx, cat);
}

static int time_outside(const struct context *cx, const struct crisis_match *m)
{
	if (!cat_present(cx, CRISIS_CAT_TIME))
		return 0;
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *t = &cx->scan->matches[i];
		if (cat_of(cx, t) == CRISIS_CAT_TIME && (t->last <= m->first || t->first >= m->last))
			return 1;
	}
	return 0;
}

static int is_subject_cue(uint8_t cat)
{
	return cat == CRISIS_CAT_SUBJECT_SELF || cat == CRISIS_CAT_SUBJECT_OTHER ||
	       cat == CRISIS_CAT_SUBJECT_GENERIC;
}

static int negated(const struct context *cx, const struct crisis_match *m)
{
	if (!cat_present(cx, CRISIS_CAT_NEGATION))
		return 0;
	uint32_t cl = clause_of(cx, m->first);
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *n = &cx->scan->matches[i];
		/* A negation before the phrase, or one that starts before it and runs into it
		 * ("no thoughts of hurting myself"). */
		if (cat_of(cx, n) != CRISIS_CAT_NEGATION || n->first >= m->first ||
		    n->last > m->last)
			continue;
		uint32_t gap = n->last > m->first ? 0 : m->first - n->last;
		if (gap > NEGATION_WINDOW || clause_of(cx, n->first) != cl)
			continue;
		/* A new subject between the negation and the phrase starts a new thought:
		 * "im not ok i want to die". */
		int new_subject = 0;
		for (size_t k = 0; k < cx->scan->nmatch && !new_subject; k++) {
			const struct crisis_match *s = &cx->scan->matches[k];
			if (is_subject_cue(cat_of(cx, s)) && s->first >= n->last &&
			    s->first < m->first)
				new_subject = 1;
		}
		/* A negation that is a word of another risk phrase ending before this one
		 * belongs to that phrase: "can't stop" in "can't stop picking at the cuts",
		 * "cant stop thinking maybe i should just end it". */
		for (size_t k = 0; k < cx->scan->nmatch && !new_subject; k++) {
			const struct crisis_match *o = &cx->scan->matches[k];
			if (cat_of(cx, o) < CRISIS_CAT__RISK_END && o != m && o->first <= n->first &&
			    n->last <= o->last && o->last <= m->first)
				new_subject = 1;
		}
		if (!new_subject)
			return 1;
	}
	return 0;
}

static int resolved_after(const struct context *cx, const struct crisis_match *m)
{
	if (!cat_present(cx, CRISIS_CAT_RESOLVED))
		return 0;
	uint32_t s = sentence_of(cx, m->first);
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *c = &cx->scan->matches[i];
		if (cat_of(cx, c) == CRISIS_CAT_RESOLVED && c->first >= m->last &&
		    c->first - m->last <= RESOLVED_WINDOW && sentence_of(cx, c->first) == s)
			return 1;
	}
	return 0;
}

/* Is this phrase history: a past attempt, or a `past` cue before it (or at its start) in
 * its sentence ("i used to cut as a teenager", "a year ago i was in hospital after ...")? */
static int is_history(const struct context *cx, const struct crisis_match *m, uint8_t cat)
{
	if (cat == CRISIS_CAT_PAST_ATTEMPT)
		return 1;
	if (!cat_present(cx, CRISIS_CAT_PAST))
		return 0;
	uint32_t s = sentence_of(cx, m->first);
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *c = &cx->scan->matches[i];
		if (cat_of(cx, c) == CRISIS_CAT_PAST && c->first < m->last &&
		    sentence_of(cx, c->first) == s)
			return 1;
	}
	return 0;
}

/* History said to be over anywhere after it, in the same sentence or a later one ("five
 * years ago i tried to end my life. today i graduated, that chapter is closed"; "the
 * voices used to tell me to hurt myself. theyve been gone 18 months now"). */
static int history_resolved_later(const struct context *cx, const struct crisis_match *m,
				  uint8_t cat)
{
	if (!cat_present(cx, CRISIS_CAT_RESOLVED) || !is_history(cx, m, cat))
		return 0;
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *c = &cx->scan->matches[i];
		if (cat_of(cx, c) == CRISIS_CAT_RESOLVED && c->first >= m->last)
			return 1;
	}
	return 0;
}

static int inside_reported_cue(const struct context *cx, uint32_t tok)
{
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *r = &cx->scan->matches[i];
		if (cat_of(cx, r) == CRISIS_CAT_REPORTED && r->first < tok && tok < r->last)
			return 1;
	}
	return 0;
}

/* Someone else's words, quoted or reported: "my friend texted me 'goodbye, thanks for
 * everything'", "my son said \"i won't be a burden much longer\"", "my brother texted sorry
 * for everything". The speaker is the nearest subject before the quotation (or the
 * reporting words), not counting the one spoken to ("texted me"). Words reported without
 * quotation marks stay the writer's when an "i" comes between ("my therapist asked if im
 * suicidal") or is in the phrase ("he told me to kill myself"). */
static int spoken_by_other(const struct context *cx, const struct crisis_match *m)
{
	uint32_t s = sentence_of(cx, m->first);
	uint32_t anchor; /* speaker candidates start before it */
	int quoted = 1;
	for (uint32_t t = m->first; t < m->last && quoted; t++)
		quoted = cx->scan->toks[t].quoted;
	if (quoted) {
		anchor = m->first;
		while (anchor > 0 && cx->scan->toks[anchor - 1].quoted &&
		       sentence_of(cx, anchor - 1) == s)
			anchor--;
	} else {
		if (!cat_present(cx, CRISIS_CAT_REPORTED))
			return 0;
		const struct crisis_match *rep = NULL;
		for (size_t i = 0; i < cx->scan->nmatch; i++) {
			const struct crisis_match *r = &cx->scan->matches[i];
			if (cat_of(cx, r) == CRISIS_CAT_REPORTED && r->last <= m->first &&
			    sentence_of(cx, r->first) == s && (!rep || r->last > rep->last))
				rep = r;
		}
		if (!rep)
			return 0;
		for (size_t i = 0; i < cx->scan->nmatch; i++) {
			const struct crisis_match *c = &cx->scan->matches[i];
			if (cat_of(cx, c) == CRISIS_CAT_SUBJECT_SELF && c->first >= rep->last &&
			    c->first < m->last)
				return 0;
		}
		anchor = rep->last;
	}
	const struct crisis_match *best = NULL;
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *c = &cx->scan->matches[i];
		if (!is_subject_cue(cat_of(cx, c)) || c->first >= anchor || c->last > anchor ||
		    sentence_of(cx, c->first) != s || inside_reported_cue(cx, c->first))
			continue;
		if (!best || c->last > best->last ||
		    (c->last == best->last && c->first < best->first))
			best = c;
	}
	return best && cat_of(cx, best) == CRISIS_CAT_SUBJECT_OTHER;
}

static enum subject subject_of(const struct context *cx, const struct crisis_match *m)
{
	int self = 0, other = 0, generic = 0;
	if (spoken_by_other(cx, m))
		return SUBJECT_OTHER;
	/* Goodbyes and preparations speak to others ("thank you all, goodbye") and are the
	 * writer's own; "you" inside them is the audience, not the subject. */
	uint8_t cat = cat_of(cx, m);
	int audience = cat == CRISIS_CAT_GOODBYE || cat == CRISIS_CAT_PREPARATION;
	/* In an act on the body a pronoun after its first word is what is acted on ("picking
	 * the scabs open so they bleed"), not who acts. */
	int act = cat == CRISIS_CAT_SELF_HARM;
	/* So is a pronoun after the first word of means or an attempt: what is taken ("not
	 * planning on taking them the normal way", "took them an hour ago"; since 1.9.0).
	 * "you" there stays people in general ("how much would kill you"). */
	int taken = cat == CRISIS_CAT_MEANS || cat == CRISIS_CAT_PAST_ATTEMPT;
	for (uint32_t t = m->first; t < m->last; t++) {
		self |= token_has_cue(cx, t, CRISIS_CAT_SUBJECT_SELF);
		if (!audience && !((act || taken) && t > m->first))
			other |= token_has_cue(cx, t, CRISIS_CAT_SUBJECT_OTHER);
		if (!audience && !(act && t > m->first))
			generic |= token_has_cue(cx, t, CRISIS_CAT_SUBJECT_GENERIC);
	}
	/* A goodbye is the writer's own whoever it names; a preparation is the writer's own
	 * unless someone else is its subject ("my dad's been giving his stuff away"). */
	if (cat == CRISIS_CAT_GOODBYE && !self)
		self = 1;
	if (self)
		return SUBJECT_SELF;
	if (other)
		return SUBJECT_OTHER;
	if (generic)
		return SUBJECT_GENERIC;
	/* The nearest subject before the phrase in the same sentence; of two ending on the same
	 * word the longer is the more specific ("asking for a friend" over "friend"). */
	uint32_t s = sentence_of(cx, m->first);
	const struct crisis_match *best = NULL;
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *c = &cx->scan->matches[i];
		if (!is_subject_cue(cat_of(cx, c)) || c->last > m->first ||
		    sentence_of(cx, c->first) != s)
			continue;
		/* After a preposition a person is an object: "argued with dad and went and
		 * cut again" is the writer's own. */
		if (cat_of(cx, c) == CRISIS_CAT_SUBJECT_OTHER && c->first > 0 &&
		    token_has_cue(cx, c->first - 1, CRISIS_CAT_OBJECT) &&
		    !cue_in_sentence(cx, m, CRISIS_CAT_ABOUT_OTHER, 0))
			continue;
		/* In a preparation, "my (little) brother" is whom it is for, not who does it. */
		if (audience && cat_of(cx, c) == CRISIS_CAT_SUBJECT_OTHER &&
		    c->last - c->first == 1 &&
		    ((c->first > 0 && token_has_cue(cx, c->first - 1, CRISIS_CAT_SUBJECT_SELF)) ||
		     (c->first > 1 && token_has_cue(cx, c->first - 2, CRISIS_CAT_SUBJECT_SELF))))
			continue;
		if (!best || c->last > best->last ||
		    (c->last == best->last && c->first < best->first))
			best = c;
	}
	if (!best)
		return audience ? SUBJECT_SELF : SUBJECT_SELF_DEFAULT;
	switch (cat_of(cx, best)) {
	case CRISIS_CAT_SUBJECT_OTHER: return SUBJECT_OTHER;
	case CRISIS_CAT_SUBJECT_GENERIC: return audience ? SUBJECT_SELF : SUBJECT_GENERIC;
	default: return SUBJECT_SELF;
	}
}

static enum haven_risk_level step_down(enum haven_risk_level l)
{
	return l > HAVEN_RISK_NONE ? (enum haven_risk_level)(l - 1) : HAVEN_RISK_NONE;
}

static int quoted_span(const struct context *cx, const struct crisis_match *m)
{
	for (uint32_t t = m->first; t < m->last; t++)
		if (!cx->scan->toks[t].quoted)
			return 0;
	return 1;
}

/* Categories that talk about wishes and words rather than acts or means. */
static int is_wish_category(uint8_t cat)
{
	return cat == CRISIS_CAT_IDEATION || cat == CRISIS_CAT_PASSIVE ||
	       cat == CRISIS_CAT_SLANG || cat == CRISIS_CAT_AMBIGUOUS ||
	       cat == CRISIS_CAT_HOPELESSNESS || cat == CRISIS_CAT_DISTRESS;
}

static void judge(const struct context *cx, struct judged *j, unsigned *flags)
{
	const struct crisis_match *m = j->m;
	uint8_t cat = j->pat->cat;
	enum haven_risk_level level = (enum haven_risk_level)j->pat->level;

	/* 1. A figure of speech that overlaps the phrase ("want to end things with him",
	 * "overdosed on caffeine"), unless the phrase starts before it and reaches past its
	 * end, i.e. the figure is only the phrase's tail ("starve myself to death"). An act,
	 * a plan, means or slang said to be meant in the same sentence ("burned myself with
	 * the iron on purpose", "catch the bus tonight if you know what i mean") is neither
	 * an accident nor a figure, and below neither a hypothetical nor "you" in general. */
	int deliberate = (cat == CRISIS_CAT_SELF_HARM || cat == CRISIS_CAT_PLAN ||
			  cat == CRISIS_CAT_MEANS || cat == CRISIS_CAT_SLANG) &&
			 cue_in_sentence(cx, m, CRISIS_CAT_DELIBERATE, 0);
	/* Worry about someone else is read as such even where a figure covers what was
	 * found ("found blades in her pencil case": not the writer's means; since 1.9.0). */
	for (size_t i = 0; i < cx->scan->nmatch && !deliberate && cat != CRISIS_CAT_ABOUT_OTHER;
	     i++) {
		const struct crisis_match *f = &cx->scan->matches[i];
		if (cat_of(cx, f) != CRISIS_CAT_FIGURATIVE)
			continue;
		int overlap = f->first < m->last && m->first < f->last;
		int tail_only = m->first < f->first && m->last >= f->last;
		/* A method named before the figure begins is not part of it:
		 * "how much paracetamol would kill me" is not "that would kill me". */
		int method_first = f->first >= m->first + 3 && cat == CRISIS_CAT_PLAN;
		/* A figure reads the words of its own clause: an urge or a wish that carries
		 * on past it into a later clause says more than the figure ("2 months clean
		 * from cutting but the urge is so loud today"; since 1.9.0). Not for plans
		 * and means, whose patterns join items of a list ("washed the car, bought a
		 * new hose"). */
		int later_clause = (cat == CRISIS_CAT_SELF_HARM || cat == CRISIS_CAT_IDEATION ||
				    cat == CRISIS_CAT_PASSIVE) &&
				   m->last > f->last &&
				   cx->scan->toks[m->last - 1].clause > cx->scan->toks[f->last - 1].clause;
		if (overlap && !tail_only && !method_first && !later_clause) {
			j->level = HAVEN_RISK_NONE;
			j->discounted_by = HAVEN_CRISIS_FIGURATIVE;
			return;
		}
	}
	/* "is it normal to think about how you would kill yourself": inside a question
	 * asking whether others feel so, "you" is anyone, the writer included; asked
	 * about, not read as words aimed at someone (since 1.9.0). */
	if (cat == CRISIS_CAT_DIRECTED && cue_in_sentence(cx, m, CRISIS_CAT_ASKS_SELF, 0) &&
	    !negated(cx, m)) {
		j->level = HAVEN_RISK_MODERATE;
		j->discounted_by |= HAVEN_CRISIS_HYPOTHETICAL;
		return;
	}
	if (cat == CRISIS_CAT_DIRECTED) {
		j->level = level;
		*flags |= HAVEN_CRISIS_DIRECTED;
		return;
	}
	if (cat == CRISIS_CAT_ABOUT_OTHER) {
		*flags |= HAVEN_CRISIS_ABOUT_OTHER;
		if (cue_in_sentence(cx, m, CRISIS_CAT_HYPOTHETICAL, 0)) {
			j->level = HAVEN_RISK_NONE; /* "how do i help someone who ..." */
			j->discounted_by = HAVEN_CRISIS_HYPOTHETICAL;
		} else {
			j->level = level;
		}
		return;
	}
	/* 2. Negation close before it in the same clause ("i would never kill myself").
	 * Negations of life are phrases of their own ("dont want to live") and start
	 * with the negation, so they are not negated by it. */
	if (negated(cx, m)) {
		j->level = HAVEN_RISK_NONE;
		j->discounted_by = HAVEN_CRISIS_NEGATED;
		return;
	}
	/* 2b. Said to be over, later in the same sentence ("i used to want to die but not
	 * anymore", "asked if i want to die and honestly no"): a wish is gone, an act is
	 * history. */
	if (resolved_after(cx, m)) {
		if (is_wish_category(cat)) {
			j->level = HAVEN_RISK_NONE;
			j->discounted_by = HAVEN_CRISIS_NEGATED;
			return;
		}
		if (level > HAVEN_RISK_MODERATE)
			level = HAVEN_RISK_MODERATE;
		j->discounted_by |= HAVEN_CRISIS_NEGATED;
	}
	/* 2c. History said to be over later in the message, in any sentence. */
	if (history_resolved_later(cx, m, cat)) {
		j->level = HAVEN_RISK_NONE;
		j->discounted_by = HAVEN_CRISIS_NEGATED;
		return;
	}
	/* 3. Whose words: the user's, someone else's, people in general. */
	enum subject subj = subject_of(cx, m);
	if (subj == SUBJECT_OTHER) {
		j->level = level >= HAVEN_RISK_MODERATE ? HAVEN_RISK_LOW : HAVEN_RISK_NONE;
		j->discounted_by = HAVEN_CRISIS_ABOUT_OTHER;
		return;
	}
	/* "is it normal to want to die", "does anyone else think about taking your own
	 * life": asking whether others feel so is telling that the writer does; the
	 * question makes a plan or intent a thought (high -> moderate), no less. An
	 * ambiguous phrase stays a question ("is it normal to think about death"). */
	if (cat != CRISIS_CAT_AMBIGUOUS && cat != CRISIS_CAT_DISTRESS &&
	    cue_in_sentence(cx, m, CRISIS_CAT_ASKS_SELF, 0) &&
	    (subj == SUBJECT_GENERIC || subj == SUBJECT_SELF_DEFAULT)) {
		j->level = level == HAVEN_RISK_HIGH ? HAVEN_RISK_MODERATE : level;
		j->discounted_by |= HAVEN_CRISIS_HYPOTHETICAL;
		return;
	}
	/* "if you know what i mean" addresses the reader; it is no "you" in general. */
	int hypothetical = cue_in_sentence(cx, m, CRISIS_CAT_HYPOTHETICAL, 0) && !deliberate;
	if (subj == SUBJECT_GENERIC && !deliberate) {
		j->level = hypothetical ? HAVEN_RISK_NONE : step_down(level);
		j->discounted_by = HAVEN_CRISIS_HYPOTHETICAL;
		return;
	}
	/* 4. A question or hypothetical about the topic with no "I" in it; the topic's bare
	 * name ("suicide", "overdose") in a question or in study is the topic, whoever
	 * asks ("for my psych class we're learning about suicide"). */
	if (hypothetical && cat == CRISIS_CAT_AMBIGUOUS && m->last - m->first == 1) {
		j->level = HAVEN_RISK_NONE;
		j->discounted_by = HAVEN_CRISIS_HYPOTHETICAL;
		return;
	}
	if (subj == SUBJECT_SELF_DEFAULT && hypothetical) {
		level = level == HAVEN_RISK_HIGH ? HAVEN_RISK_MODERATE
		       : level == HAVEN_RISK_LOW ? HAVEN_RISK_LOW
						 : HAVEN_RISK_NONE;
		j->discounted_by |= HAVEN_CRISIS_HYPOTHETICAL;
	}
	/* 5. Quotations, lyrics, films. */
	int fiction = cue_in_sentence(cx, m, CRISIS_CAT_FICTION, 0);
	if (quoted_span(cx, m)) {
		level = fiction ? HAVEN_RISK_NONE : step_down(level);
		j->discounted_by |= HAVEN_CRISIS_QUOTED;
	} else if (fiction && is_wish_category(cat) && subj == SUBJECT_SELF_DEFAULT) {
		level = step_down(level);
		j->discounted_by |= HAVEN_CRISIS_QUOTED;
	}
	/* 6. Reported speech ("he told me to kill myself"). */
	if (cue_in_sentence(cx, m, CRISIS_CAT_REPORTED, 1)) {
		level = step_down(level);
		j->discounted_by |= HAVEN_CRISIS_REPORTED;
	}
	/* 7. Laughter with an everyday annoyance named in the message ("my team is trash im
	 * gonna off myself lol", "this lag makes me want to jump off a cliff haha") is a
	 * joke, unless a time is named; acts on the body and goodbyes are never read so. */
	if (level >= HAVEN_RISK_MODERATE && cat != CRISIS_CAT_SELF_HARM &&
	    cat != CRISIS_CAT_PAST_ATTEMPT && cat != CRISIS_CAT_PREPARATION &&
	    cat != CRISIS_CAT_GOODBYE && cue_anywhere(cx, CRISIS_CAT_HUMOUR) &&
	    cue_anywhere(cx, CRISIS_CAT_TRIVIAL) && !cue_anywhere(cx, CRISIS_CAT_TIME)) {
		j->level = HAVEN_RISK_NONE;
		j->discounted_by |= HAVEN_CRISIS_FIGURATIVE;
		return;
	}
	/* 7b. Laughter around slang or a wish: ambiguous, so asked about, not escalated. */
	if (level == HAVEN_RISK_HIGH && is_wish_category(cat) &&
	    cue_anywhere(cx, CRISIS_CAT_HUMOUR) && !cue_anywhere(cx, CRISIS_CAT_TIME)) {
		level = HAVEN_RISK_MODERATE;
		j->discounted_by |= HAVEN_CRISIS_HUMOUR;
	}
	/* 8. A time named with a wish to die or with intent makes it a plan ("i want to die
	 * tonight"); a time inside the phrase itself is part of its meaning ("hope i don't
	 * wake up tomorrow" stays a passive wish). */
	if (level >= HAVEN_RISK_MODERATE && !j->discounted_by &&
	    (cat == CRISIS_CAT_IDEATION || cat == CRISIS_CAT_SLANG ||
	     cat == CRISIS_CAT_AMBIGUOUS || cat == CRISIS_CAT_INTENT) &&
	    time_outside(cx, m))
		level = HAVEN_RISK_HIGH;
	j->level = level;
}

/* Is a judged phrase one of the signs that count together: a goodbye or an ambiguous
 * statement read as the writer's own and not discounted? */
static int combinable(const struct judged *j)
{
	uint8_t cat = j->pat->cat;
	return !j->dropped && !j->discounted_by && j->level == HAVEN_RISK_MODERATE &&
	       (cat == CRISIS_CAT_AMBIGUOUS || cat == CRISIS_CAT_GOODBYE);
}

static int spans_overlap(const struct crisis_match *a, const struct crisis_match *b)
{
	return a->first < b->last && b->first < a->last;
}

/* A weak sign: a `weak` cue (a bare goodbye word, arranging care for a pet, cancelling
 * things) that is not part of a figure of speech ("bye, see you tomorrow") nor negated.
 * A message about someone else raises nothing through weak signs (see the caller). */
static int weak_sign(const struct context *cx, const struct crisis_match *f)
{
	if (cat_of(cx, f) != CRISIS_CAT_WEAK)
		return 0;
	for (size_t k = 0; k < cx->scan->nmatch; k++) {
		const struct crisis_match *g = &cx->scan->matches[k];
		if (cat_of(cx, g) == CRISIS_CAT_FIGURATIVE && spans_overlap(f, g))
			return 0;
	}
	return !negated(cx, f);
}

/* Going to a place ("im going to the station"): an everyday trip alone, so read as a figure
 * of speech, but beside a goodbye or an ambiguous sign it counts as a weak sign ("im going
 * to the station, goodbye everyone"). Not when negated. */
static int place_sign(const struct context *cx, const struct crisis_match *f)
{
	return cat_of(cx, f) == CRISIS_CAT_PLACE && !negated(cx, f);
}

/* Two such signs that do not overlap, or one and a weak sign (or a place) elsewhere in the
 * message. */
static int combined_signs(const struct context *cx, const struct judged *js, size_t nj)
{
	for (size_t a = 0; a < nj; a++) {
		if (!combinable(&js[a]))
			continue;
		for (size_t b = a + 1; b < nj; b++)
			if (combinable(&js[b]) && !spans_overlap(js[a].m, js[b].m))
				return 1;
		for (size_t i = 0; i < cx->scan->nmatch; i++) {
			const struct crisis_match *f = &cx->scan->matches[i];
			if ((weak_sign(cx, f) || place_sign(cx, f)) && !spans_overlap(f, js[a].m))
				return 1;
		}
	}
	return 0;
}

/* Weak signs alone: two of them in different words make a moderate ("cleaned my room and
 * left my passwords for mum"), so the agent asks. */
static int weak_signs_together(const struct context *cx)
{
	for (size_t i = 0; i < cx->scan->nmatch; i++) {
		const struct crisis_match *a = &cx->scan->matches[i];
		if (!weak_sign(cx, a))
			continue;
		for (size_t k = i + 1; k < cx->scan->nmatch; k++)
			if (weak_sign(cx, &cx->scan->matches[k]) &&
			    !spans_overlap(a, &cx->scan->matches[k]))
				return 1;
	}
	return 0;
}

/* Score bands per level; the score lies inside the band of the level. */
static const double band_lo[4] = {0.0, 0.25, 0.5, 0.8};
static const double band_hi[4] = {0.25, 0.5, 0.8, 1.0};

static void copy_phrase(char *dst, size_t n, const char *text, size_t start, size_t end)
{
	size_t len = end - start;
	if (len >= n) {
		len = n - 1;
		while (len > 0 && ((unsigned char)text[start + len] & 0xC0) == 0x80)
			len--; /* do not cut a UTF-8 sequence */
	}
	memcpy(dst, text + start, len);
	dst[len] = '\0';
}

static int reason_order(const void *a, const void *b)
{
	const struct judged *x = a, *y = b;
	if (x->dropped != y->dropped)
		return x->dropped - y->dropped;
	if (x->level != y->level)
		return (int)y->level - (int)x->level;
	if (x->pat->level != y->pat->level)
		return (int)y->pat->level - (int)x->pat->level;
	return (int)x->m->first - (int)y->m->first;
}

void haven_crisis_assess(struct haven_crisis *c, const char *text, size_t len,
			 struct haven_crisis_result *out)
{
	haven__crisis_assess_shared(c, text, len, NULL, out);
}

void haven__crisis_assess_shared(struct haven_crisis *c, const char *text, size_t len,
				 struct haven__text *shared, struct haven_crisis_result *out)
{
	memset(out, 0, sizeof(*out));
	out->lexicon_version = c->lexicon_version;
	out->model_version = c->model ? c->model_version : NULL;
	if (len > HAVEN_CRISIS_MAX_TEXT) {
		len = HAVEN_CRISIS_MAX_TEXT;
		out->flags |= HAVEN_CRISIS_TRUNCATED;
	}
	struct crisis_scan *sp = &c->scan;
	struct judged *js = NULL;
	if (haven__crisis_scan(c->lex, text, len, sp)) {
		/* Out of memory: fail safe, towards asking. */
		out->level = HAVEN_RISK_MODERATE;
		out->score = 0.5;
		goto out;
	}
	if (sp->truncated)
		out->flags |= HAVEN_CRISIS_TRUNCATED;
	struct context cx = {c->lex, sp, 0};
	for (size_t i = 0; i < sp->nmatch; i++)
		cx.present |= 1ull << haven__crisis_pattern(c->lex, sp->matches[i].pattern)->cat;
	if (sp->nmatch > c->js_cap) {
		size_t cap = c->js_cap ? c->js_cap : 16;
		while (cap < sp->nmatch)
			cap *= 2;
		struct judged *v = realloc(c->js, cap * sizeof(*v));
		if (!v) {
			out->level = HAVEN_RISK_MODERATE;
			out->score = 0.5;
			goto out;
		}
		c->js = v;
		c->js_cap = cap;
	}
	js = c->js;
	if (sp->nmatch)
		memset(js, 0, sp->nmatch * sizeof(*js));
	size_t nj = 0;
	enum haven_risk_level lex_level = HAVEN_RISK_NONE;
	unsigned discounts = 0;
	int n_risk = 0;
	for (size_t i = 0; i < sp->nmatch; i++) {
		const struct crisis_pattern *pat = haven__crisis_pattern(c->lex, sp->matches[i].pattern);
		if (pat->cat == CRISIS_CAT_FIGURATIVE)
			out->flags |= HAVEN_CRISIS_FIGURATIVE;
		if (pat->cat >= CRISIS_CAT__RISK_END)
			continue;
		struct judged *j = &js[nj++];
		j->m = &sp->matches[i];
		j->pat = pat;
		judge(&cx, j, &j->flags);
	}
	/* A phrase inside a longer one that reached the same level or higher adds nothing.
	 * A phrase inside a longer one that puts it in the past ("tried to kill myself"), on
	 * someone else, or that context discounted ("what does suicidal ideation mean")
	 * takes the longer one's reading. */
	for (size_t a = 0; a < nj; a++)
		for (size_t b = 0; b < nj; b++) {
			if (a == b || js[b].dropped)
				continue;
			const struct crisis_match *x = js[a].m, *y = js[b].m;
			int covers = y->first <= x->first && y->last >= x->last &&
				     (y->last - y->first > x->last - x->first || b < a);
			if (!covers)
				continue;
			uint8_t ycat = js[b].pat->cat;
			if (js[b].level >= js[a].level || js[b].discounted_by ||
			    ycat == CRISIS_CAT_PAST_ATTEMPT ||
			    ycat == CRISIS_CAT_ABOUT_OTHER || ycat == CRISIS_CAT_DIRECTED)
				js[a].dropped = 1;
		}
	for (size_t i = 0; i < nj; i++) {
		if (js[i].dropped)
			continue;
		out->flags |= js[i].flags | js[i].discounted_by;
		/* Context read around risk words keeps the classifiers out; a negated
		 * or reported distress word ("im not scared anymore") does not. */
		if (js[i].pat->level >= HAVEN_RISK_MODERATE)
			discounts |= js[i].flags | js[i].discounted_by;
		if (js[i].level > lex_level)
			lex_level = js[i].level;
		if (js[i].level >= HAVEN_RISK_MODERATE)
			n_risk++;
	}
	/* Signs that are ambiguous alone are a goodbye together: "sorry for everything.
	 * goodbye", "gave my cat away so she's looked after when im gone". */
	int combined = lex_level < HAVEN_RISK_HIGH && combined_signs(&cx, js, nj);
	if (combined) {
		lex_level = HAVEN_RISK_HIGH;
		n_risk++;
	} else if (lex_level < HAVEN_RISK_MODERATE && !(out->flags & HAVEN_CRISIS_ABOUT_OTHER) &&
		   weak_signs_together(&cx)) {
		combined = 1;
		lex_level = HAVEN_RISK_MODERATE;
	}
	if (nj > 1)
		qsort(js, nj, sizeof(*js), reason_order);
	for (size_t i = 0; i < nj && out->n_reasons < HAVEN_CRISIS_MAX_REASONS; i++) {
		if (js[i].dropped)
			continue;
		struct haven_crisis_reason *r = &out->reasons[out->n_reasons++];
		r->rule = haven__crisis_cat_name((enum crisis_cat)js[i].pat->cat);
		r->description = haven__crisis_cat_description((enum crisis_cat)js[i].pat->cat);
		r->lexicon_line = js[i].pat->line;
		r->start = sp->toks[js[i].m->first].start;
		r->end = sp->toks[js[i].m->last - 1].end;
		copy_phrase(r->phrase, sizeof(r->phrase), text, r->start, r->end);
		r->rule_level = (enum haven_risk_level)js[i].pat->level;
		r->level = js[i].level;
		r->discounted_by = js[i].discounted_by;
	}

	if (combined && out->n_reasons < HAVEN_CRISIS_MAX_REASONS) {
		struct haven_crisis_reason *r = &out->reasons[out->n_reasons++];
		r->rule = "combined";
		r->description = "several signs of saying goodbye or putting things in order "
				 "in one message";
		r->start = 0;
		r->end = len;
		r->rule_level = lex_level;
		r->level = lex_level;
	}

	/* The classifier: catches long and indirect posts the lexicon does not name. It may
	 * raise the level, never lower what the lexicon found; where the lexicon saw a
	 * figure of speech, a negation, someone else or a question, it adds nothing. */
	enum haven_risk_level level = lex_level;
	double score = band_lo[level] + (band_hi[level] - band_lo[level]) *
					       (n_risk > 1 ? 0.6 : 0.4);
	if (c->model) {
		struct haven__crisis_model_out mo;
		haven__crisis_model_predict(c->model, text, len, shared, 1, &mo);
		out->model_used = 1;
		out->model_probability = mo.probability;
		out->n_model_terms = mo.n_terms;
		memcpy(out->model_terms, mo.terms, sizeof(out->model_terms));
		enum haven_risk_level ml = haven__crisis_model_level(c->model, &mo, mo.ntokens);
		if (discounts || (out->flags & CONTEXT_READ))
			ml = HAVEN_RISK_NONE; /* the lexicon has read these words in context */
		if (ml > level) {
			level = ml;
			score = band_lo[level] + (band_hi[level] - band_lo[level]) * 0.3;
			if (out->n_reasons < HAVEN_CRISIS_MAX_REASONS) {
				struct haven_crisis_reason *r = &out->reasons[out->n_reasons++];
				r->rule = "classifier";
				r->description = "the wording resembles messages from people at risk";
				r->start = 0;
				r->end = len;
				r->rule_level = ml;
				r->level = ml;
			}
		}
		/* Within a level the classifier's confidence orders messages. */
		double p = mo.probability;
		if (p > 0.5 && level >= HAVEN_RISK_MODERATE)
			score += (band_hi[level] - score) * (p - 0.5);
		/* A short message the lexicon did not place, or placed below high: the
		 * short-message classifier may make it a question ("moderate"), or, when it
		 * reads the wording as a plan, means, preparation, goodbye or self-harm, the
		 * crisis protocol ("high"). */
		if (c->short_model && level < HAVEN_RISK_HIGH &&
		    mo.ntokens < SHORT_MODEL_MAX_TOKENS && mo.ntokens >= SHORT_MODEL_MIN_TOKENS &&
		    !discounts &&
		    !(out->flags & CONTEXT_READ)) {
			struct haven__crisis_model_out so;
			haven__crisis_model_predict(c->short_model, text, len, shared, 0, &so);
			out->short_model_used = 1;
			out->short_model_probability = so.probability;
			out->short_model_high_probability = so.high_probability;
			out->short_model_version = c->short_version;
			enum haven_risk_level sl = so.high_probability >= SHORT_MODEL_HIGH_P
							   ? HAVEN_RISK_HIGH
						   : so.probability >= SHORT_MODEL_P
							   ? HAVEN_RISK_MODERATE
							   : HAVEN_RISK_NONE;
			if (sl > level) {
				level = sl;
				score = band_lo[level] + (band_hi[level] - band_lo[level]) * 0.3;
				if (out->n_reasons < HAVEN_CRISIS_MAX_REASONS) {
					struct haven_crisis_reason *r = &out->reasons[out->n_reasons++];
					r->rule = "short_classifier";
					r->description =
						sl == HAVEN_RISK_HIGH
							? "the wording resembles short messages that "
							  "name a plan, means, preparation, a goodbye "
							  "or self-harm"
							: "the wording resembles crisis messages in "
							  "short chats";
					/* only here are its n-grams shown */
					haven__crisis_model_terms(c->short_model, text, len, &so);
					if (so.n_terms)
						haven_strlcpy(r->phrase, so.terms[0].text,
							      sizeof(r->phrase));
					r->start = 0;
					r->end = len;
					r->rule_level = sl;
					r->level = sl;
				}
			}
		}
	}
	if (score > 1.0)
		score = 1.0;
	out->level = level;
	out->score = round(score * 1000.0) / 1000.0;
out:;
}
