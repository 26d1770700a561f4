/*
 * engine.c: one step of the conversation, pure (no I/O): the safety gate first, then the
 * flow engine over the content, then personalisation. The state it reads and writes is a
 * JSON object (its fields are listed in docs/chat.md) kept sealed by chat.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog/dialog.h"
#include "safety/danger.h"

#define MAX_HOPS 12

struct pos {
	int flow, node;
};

/* ---- small JSON helpers ---- */

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_int_t jint(json_t *o, const char *k, json_int_t dflt)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static json_t *jobj(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_object(v)) {
		v = json_object();
		if (!v || json_object_set_new(o, k, v))
			return NULL;
	}
	return v;
}

static int jset(json_t *o, const char *k, json_t *v)
{
	return v && !json_object_set_new(o, k, v) ? 0 : HAVEN_ENOMEM;
}

static int action(struct haven_step *s, json_t *a)
{
	return a && !json_array_append_new(s->actions, a) ? 0 : HAVEN_ENOMEM;
}

/* ---- random numbers for Thompson sampling (splitmix64, seeded per turn) ---- */

static uint64_t rng_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *x)
{
	return ((rng_next(x) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double rng_normal(uint64_t *x)
{
	double u = rng_unit(x), v = rng_unit(x);
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Marsaglia and Tsang's gamma sampler (shape a > 0, scale 1). */
static double rng_gamma(uint64_t *x, double a)
{
	if (a < 1.0)
		return rng_gamma(x, a + 1.0) * pow(rng_unit(x), 1.0 / a);
	double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
	for (int i = 0; i < 1000; i++) {
		double z = rng_normal(x), v = 1.0 + c * z;
		if (v <= 0)
			continue;
		v = v * v * v;
		double u = rng_unit(x);
		if (log(u) < 0.5 * z * z + d - d * v + d * log(v))
			return d * v;
	}
	return a;
}

static double rng_beta(uint64_t *x, double a, double b)
{
	double g1 = rng_gamma(x, a), g2 = rng_gamma(x, b);
	return g1 + g2 > 0 ? g1 / (g1 + g2) : 0.5;
}

/* ---- position ---- */

static const struct haven_content *C(const struct haven_step *s)
{
	return haven_dialog_content(s->d);
}

static int flow_named(const struct haven_step *s, const char *name)
{
	return name ? haven_content_flow_index(C(s), name) : -1;
}

static struct pos get_pos(struct haven_step *s)
{
	struct pos p = {-1, -1};
	p.flow = flow_named(s, jstr(s->state, "flow"));
	if (p.flow >= 0) {
		p.node = haven_content_node_index(&C(s)->flows[p.flow], jstr(s->state, "node")
									? jstr(s->state, "node")
									: "");
		if (p.node < 0)
			p.flow = -1;
	}
	return p;
}

static int set_pos(struct haven_step *s, struct pos p, int keep_slots)
{
	const struct haven_flow *f = &C(s)->flows[p.flow];
	const char *old = jstr(s->state, "flow");
	int same = old && !strcmp(old, f->name);
	int rc = jset(s->state, "flow", json_string(f->name));
	if (!rc)
		rc = jset(s->state, "node", json_string(f->nodes[p.node].name));
	if (!rc && !(same || keep_slots)) {
		/* A new run of the flow starts with what it remembered (do remember SLOT). */
		json_t *mem = json_object_get(json_object_get(s->state, "memory"), f->name);
		rc = jset(s->state, "slots", json_is_object(mem) ? json_deep_copy(mem) : json_object());
	}
	if (!rc)
		rc = jset(s->state, "misses", json_integer(0));
	snprintf(s->state_name, sizeof(s->state_name), "%s.%s", f->name, f->nodes[p.node].name);
	return rc;
}

/* ---- personalisation ---- */

static const char *lower_title(const struct haven_flow *f, char *buf, size_t n)
{
	haven_strlcpy(buf, f->title, n);
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* 1 when the person's own ratings say the exercise helped them more often than not. */
static int helped_this_person(json_t *ex, const struct haven_flow *f)
{
	json_t *st = json_object_get(ex, f->exercise);
	return jint(st, "h", 0) > jint(st, "n", 0);
}

/* Picks an exercise by Thompson sampling over Beta(prior + own outcomes) and writes the
 * suggestion with its reason into out. Sets state "rec". When something has helped this
 * person (their own before/after ratings), the draw is among those exercises only, so the
 * suggestion is what worked for them; otherwise it explores every exercise. */
static int recommend(struct haven_step *s, struct haven_buf *out)
{
	const struct haven_content *c = C(s);
	json_t *ex = jobj(s->state, "ex");
	if (!ex)
		return HAVEN_ENOMEM;
	int own_only = 0;
	for (size_t i = 0; i < c->nflows && !own_only; i++)
		own_only = c->flows[i].exercise && helped_this_person(ex, &c->flows[i]);
	uint64_t rng = s->seed ^ 0x5bd1e995u;
	int best = -1;
	double best_v = -1;
	for (size_t i = 0; i < c->nflows; i++) {
		const struct haven_flow *f = &c->flows[i];
		if (!f->exercise || (own_only && !helped_this_person(ex, f)))
			continue;
		json_t *st = json_object_get(ex, f->exercise);
		double a = f->prior_helped + (double)jint(st, "h", 0);
		double b = f->prior_not + (double)jint(st, "n", 0);
		double v = rng_beta(&rng, a, b);
		if (v > best_v) {
			best_v = v;
			best = (int)i;
		}
	}
	if (best < 0)
		return haven_buf_puts(out, "I can suggest an exercise.");
	const struct haven_flow *f = &c->flows[best];
	json_t *st = json_object_get(ex, f->exercise);
	char t[96];
	lower_title(f, t, sizeof(t));
	json_int_t h = jint(st, "h", 0), n = jint(st, "n", 0), b = jint(st, "b", -1),
		   a = jint(st, "a", -1);
	char reason[200];
	int up = json_is_true(json_object_get(st, "up"));
	if (b >= 0 && a >= 0 && (up ? a > b : a < b))
		snprintf(reason, sizeof(reason), "%s helped you last time: %lld \xe2\x86\x92 %lld.",
			 f->title, (long long)b, (long long)a);
	else if (h + n > 0)
		snprintf(reason, sizeof(reason), "%s helped you %lld of the %lld times you rated it.",
			 f->title, (long long)h, (long long)(h + n));
	else
		snprintf(reason, sizeof(reason),
			 "You haven't tried %s with me yet, and many people find it helps.", t);
	int rc = haven_buf_printf(out, "I'd suggest %s. %s", t, reason);
	if (!rc)
		rc = jset(s->state, "rec", json_string(f->name));
	if (!rc)
		rc = action(s, json_pack("{s:s,s:s,s:s,s:{s:f,s:f},s:{s:I,s:I}}", "type",
					 "recommendation", "exercise", f->exercise, "reason", reason,
					 "prior", "helped", f->prior_helped, "not", f->prior_not,
					 "own", "helped", (json_int_t)h, "not", (json_int_t)n));
	return rc;
}

/* ---- rendering ---- */

static const char *const plan_titles[][2] = {
    {"warning_signs", "Warning signs"},
    {"coping", "Things I can do on my own"},
    {"distractions", "People and places that take my mind off things"},
    {"people", "People I can ask for help"},
    {"professionals", "Professionals and crisis lines"},
    {"environment", "Making my surroundings safer"},
};

static int render_plan(struct haven_step *s, struct haven_buf *b)
{
	int any = 0, rc = 0;
	for (size_t i = 0; i < 6 && !rc; i++) {
		json_t *arr = json_object_get(s->plan, plan_titles[i][0]);
		if (!json_is_array(arr) || !json_array_size(arr))
			continue;
		rc = haven_buf_printf(b, "%s%s: ", any ? " " : "", plan_titles[i][1]);
		for (size_t j = 0; j < json_array_size(arr) && !rc; j++)
			rc = haven_buf_printf(b, "%s%s", j ? "; " : "",
					      json_string_value(json_array_get(arr, j)));
		if (!rc)
			rc = haven_buf_puts(b, ".");
		any = 1;
	}
	if (!rc && !any)
		rc = haven_buf_puts(b, "You haven't written a safety plan yet; we can make one "
				       "together when things feel calmer.");
	return rc;
}

static int render_menu(struct haven_step *s, struct haven_buf *b)
{
	const struct haven_content *c = C(s);
	size_t n = 0, k = 0;
	for (size_t i = 0; i < c->nflows; i++)
		n += c->flows[i].menu;
	int rc = 0;
	for (size_t i = 0; i < c->nflows && !rc; i++) {
		if (!c->flows[i].menu)
			continue;
		char t[96];
		rc = haven_buf_printf(b, "%s%s", k == 0 ? "" : k + 1 == n ? " or " : ", ",
				      lower_title(&c->flows[i], t, sizeof(t)));
		k++;
	}
	return rc;
}

/* The key under which a step's {feeling} is kept with the flow's slots. A content slot
 * name is a-z, 0-9 and _, so this one cannot be taken by a flow. */
#define HEARD_FEELING "heard:feeling"

/* {feeling}: the feeling the person expressed at this step. When the step is first said
 * it is the one the emotion model heard in the answer that led here, and it is kept with
 * the flow's slots; when the step is said again (after the crisis protocol or an aside
 * took the person away and brought them back, or after an answer that did not fit) it is
 * the one kept, never the one in the latest message ("no", or the crisis message itself).
 * With none kept, no feeling is named. */
static int render_feeling(struct haven_step *s, json_t *slots, struct haven_buf *b)
{
	const char *f = s->nlp->feeling;
	if (s->saying_again)
		f = jstr(slots, HEARD_FEELING);
	else if (json_is_object(slots) && json_object_set_new(slots, HEARD_FEELING, json_string(f)))
		return HAVEN_ENOMEM;
	return haven_buf_puts(b, f && *f ? f : "a mix of things");
}

static int render(struct haven_step *s, const char *text)
{
	struct haven_buf *b = &s->reply;
	json_t *slots = json_object_get(s->state, "slots");
	int rc = 0;
	if (b->len && (rc = haven_buf_puts(b, " ")))
		return rc;
	const struct haven_crisis_lines *lines = haven_dialog_lines(s->d);
	for (const char *p = text; *p && !rc;) {
		const char *o = strchr(p, '{');
		if (!o)
			return haven_buf_puts(b, p);
		if ((rc = haven_buf_append(b, p, (size_t)(o - p))))
			return rc;
		const char *e = strchr(o, '}');
		if (!e)
			return haven_buf_puts(b, o);
		char name[64];
		size_t n = (size_t)(e - o - 1);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, o + 1, n);
		name[n] = '\0';
		p = e + 1;
		const char *sv = jstr(slots, name);
		if (sv)
			rc = haven_buf_puts(b, sv);
		else if (!strcmp(name, "feeling"))
			rc = render_feeling(s, slots, b);
		else if (!strcmp(name, "lines"))
			rc = haven_region_lines_text(lines, s->region, b);
		else if (!strcmp(name, "emergency"))
			rc = haven_buf_puts(b, s->region->emergency);
		else if (!strcmp(name, "directory"))
			rc = haven_buf_puts(b, lines->intl->directory);
		else if (!strcmp(name, "helplines"))
			/* The helplines for the abuse or danger the person told of (the last
			 * categories kept, haven_dialog_step), as the danger replies give them. */
			rc = haven_danger_helplines(
			    lines, s->region,
			    (unsigned)jint(json_object_get(s->state, "safety"), "danger_bits", 0), b);
		else if (!strcmp(name, "recommend"))
			rc = recommend(s, b);
		else if (!strcmp(name, "plan"))
			rc = render_plan(s, b);
		else if (!strcmp(name, "menu"))
			rc = render_menu(s, b);
		/* total, band, trap, trap_hint before they are set: nothing. */
	}
	return rc;
}

static int say_node(struct haven_step *s, const struct haven_node *n)
{
	json_int_t turns = jint(s->state, "turns", 0);
	return render(s, n->says[(size_t)(turns + (json_int_t)n->line) % n->nsays]);
}

/* ---- moving ---- */

static int go(struct haven_step *s, struct haven_target t, int depth);

/* Says node p (and follows "next" for nodes that expect nothing). */
static int enter(struct haven_step *s, struct pos p, int keep_slots, int depth)
{
	if (depth > MAX_HOPS)
		return HAVEN_ELIMIT;
	int rc = set_pos(s, p, keep_slots);
	const struct haven_node *n = &C(s)->flows[p.flow].nodes[p.node];
	if (!rc)
		rc = say_node(s, n);
	if (!rc && n->expect == HAVEN_EXPECT_NONE)
		rc = go(s, n->next, depth + 1);
	return rc;
}

static int resume_from(struct haven_step *s, const char *key, int depth);

static int end_flow(struct haven_step *s, int depth)
{
	const char *cur = jstr(s->state, "flow");
	int rc = jset(s->state, "slots", json_object());
	if (rc)
		return rc;
	if (cur && !strcmp(cur, "onboarding") && !json_is_true(json_object_get(s->state, "onboarded"))) {
		/* Not agreed: the next message starts onboarding again. */
		json_object_del(s->state, "flow");
		json_object_del(s->state, "node");
		snprintf(s->state_name, sizeof(s->state_name), "onboarding.declined");
		return 0;
	}
	if (json_object_get(s->state, "back")) {
		/* A flow that interrupted an exercise (an aside: an abuse disclosure, a question
		 * about diagnosis or medication, the safety plan, help: engine()) has ended: back
		 * to the exercise, at its step, with what the person had written. */
		rc = render(s, "Let's go back to where we were.");
		return rc ? rc : resume_from(s, "back", depth);
	}
	int hf = flow_named(s, "home");
	struct pos p = {hf, haven_content_node_index(&C(s)->flows[hf], "again")};
	return enter(s, p, 0, depth + 1);
}

static int pick_recommended(struct haven_step *s, struct haven_target *t)
{
	int fi = flow_named(s, jstr(s->state, "rec"));
	if (fi < 0) {
		struct haven_buf tmp;
		haven_buf_init(&tmp, 4096);
		int rc = recommend(s, &tmp);
		haven_buf_release(&tmp);
		if (rc)
			return rc;
		fi = flow_named(s, jstr(s->state, "rec"));
	}
	if (fi < 0)
		fi = flow_named(s, "home");
	t->flow = fi;
	t->node = C(s)->flows[fi].start;
	t->at_start = 1;
	json_object_del(s->state, "rec");
	return 0;
}

/* Where flow fi starts for this person: the first 'start NODE if SLOT' whose slot the flow
 * remembers from an earlier run (a follow-up), else its start node. */
static int start_node(struct haven_step *s, int fi)
{
	const struct haven_flow *f = &C(s)->flows[fi];
	json_t *mem = json_object_get(json_object_get(s->state, "memory"), f->name);
	for (size_t i = 0; i < f->nstarts_if; i++) {
		const char *v = jstr(mem, f->starts_if[i].slot);
		if (v && *v)
			return f->starts_if[i].node;
	}
	return f->start;
}

static int safety_enter_crisis(struct haven_step *s, int depth);

static int go(struct haven_step *s, struct haven_target t, int depth)
{
	if (t.flow == HAVEN_TARGET_END)
		return end_flow(s, depth);
	if (t.flow == HAVEN_TARGET_CRISIS)
		return safety_enter_crisis(s, depth);
	if (t.flow == HAVEN_TARGET_RECOMMENDED) {
		int rc = pick_recommended(s, &t);
		if (rc)
			return rc;
	}
	if (t.at_start)
		t.node = start_node(s, t.flow);
	return enter(s, (struct pos){t.flow, t.node}, 0, depth);
}

/* ---- the safety gate ---- */

/* How many asides may wait inside one another ("back" within "back"). */
#define MAX_BACK 4

/* Keeps where the person is (flow, node and what they have written so far) under key:
 * "ret" while the safety protocol runs, "back" while a flow that interrupted an exercise
 * runs (an aside, engine()). The first "ret" kept stays until it is used. A "back" kept
 * while another waits (an aside asked inside an aside: a medication question at the abuse
 * flow's danger question) holds the older one, up to MAX_BACK deep, so each is gone back
 * to in turn (resume_from). */
static int save_point(struct haven_step *s, const char *key)
{
	json_t *old = json_object_get(s->state, key);
	int nest = !strcmp(key, "back");
	if (old && !nest)
		return 0;
	for (int d = 1; old; old = json_object_get(old, "back"))
		if (++d > MAX_BACK)
			return 0;
	old = json_object_get(s->state, key);
	json_t *slots = json_object_get(s->state, "slots");
	const char *f = jstr(s->state, "flow"), *n = jstr(s->state, "node");
	if (!f || !n)
		return 0;
	json_t *pt = json_pack("{s:s,s:s,s:O}", "flow", f, "node", n, "slots",
			       slots ? slots : json_object());
	if (pt && old && json_object_set(pt, "back", old)) {
		json_decref(pt);
		pt = NULL;
	}
	return jset(s->state, key, pt);
}

static int save_return(struct haven_step *s)
{
	return save_point(s, "ret");
}

static int say_safety(struct haven_step *s, const char *node)
{
	int sf = flow_named(s, "safety");
	const struct haven_flow *f = &C(s)->flows[sf];
	int ni = haven_content_node_index(f, node);
	HAVEN_ASSERT(ni >= 0); /* checked when the content was linked */
	const char *state = node; /* the state keeps the protocol's step, whichever words */
	char why[64];
	json_t *st = json_object_get(s->state, "safety");
	if (!strcmp(node, "confirm_no") && json_is_true(json_object_get(st, "for_danger"))) {
		/* The closing words fit why the protocol ran: danger from someone else
		 * ("confirm_no_danger"), or that and thoughts of suicide or self-harm
		 * ("confirm_no_both"); "confirm_no" speaks of those thoughts alone. */
		snprintf(why, sizeof(why), "%s_%s", node,
			 json_is_true(json_object_get(st, "for_thoughts")) ? "both" : "danger");
		int wi = haven_content_node_index(f, why);
		HAVEN_ASSERT(wi >= 0); /* required by the content loader */
		ni = wi;
		node = why;
	}
	if (!s->care_team) {
		/* No clinician will see an alert: the node's words without a care team, so the
		 * agent never says it told one ("crisis_no_team", "confirm_no_no_team"). */
		char alt[96];
		snprintf(alt, sizeof(alt), "%s_no_team", node);
		int ai = haven_content_node_index(f, alt);
		if (ai >= 0)
			ni = ai;
	}
	snprintf(s->state_name, sizeof(s->state_name), "safety.%s", state);
	return say_node(s, &f->nodes[ni]);
}

static int set_mode(struct haven_step *s, enum haven_safety_mode m, int unclear)
{
	json_t *sf = jobj(s->state, "safety");
	if (!sf)
		return HAVEN_ENOMEM;
	int rc = jset(sf, "mode", json_string(haven_safety_mode_name(m)));
	if (!rc)
		rc = jset(sf, "unclear", json_integer(unclear));
	return rc;
}

static int resume_at(struct haven_step *s, json_t *ret, int depth)
{
	struct pos p = {flow_named(s, jstr(ret, "flow")), -1};
	if (p.flow >= 0)
		p.node = haven_content_node_index(&C(s)->flows[p.flow],
						  jstr(ret, "node") ? jstr(ret, "node") : "");
	int rc = 0;
	if (p.flow >= 0 && p.node >= 0 && strcmp(jstr(ret, "flow"), "home")) {
		json_t *slots = json_object_get(ret, "slots");
		rc = jset(s->state, "slots", json_is_object(slots) ? json_incref(slots) : json_object());
		if (!rc)
			rc = jset(s->state, "flow", json_string(jstr(ret, "flow")));
		if (!rc) {
			/* The step is said again: its feeling is the one kept with its slots. */
			s->saying_again = 1;
			rc = enter(s, p, 1, depth + 1);
			s->saying_again = 0;
		}
		return rc;
	}
	/* Nowhere to go back to (the protocol began at home, before any flow, or the node is
	 * gone from the content): home, at "again". */
	if (!json_is_true(json_object_get(s->state, "onboarded"))) {
		/* Before the terms are agreed (the very first message, or after declining them)
		 * there is no home yet: the next message would start onboarding anyway, so the
		 * way back is the terms, not a menu of exercises that cannot start. */
		int ob = flow_named(s, "onboarding");
		return enter(s, (struct pos){ob, C(s)->flows[ob].start}, 0, depth + 1);
	}
	int hf = flow_named(s, "home");
	if ((rc = jset(s->state, "flow", json_string("home"))))
		return rc;
	return enter(s, (struct pos){hf, haven_content_node_index(&C(s)->flows[hf], "again")}, 0,
		     depth + 1);
}

/* Goes back to the point kept under key (save_point) and forgets it; an older "back" it
 * holds (an aside that was waiting when another began) waits again. */
static int resume_from(struct haven_step *s, const char *key, int depth)
{
	json_t *ret = json_incref(json_object_get(s->state, key));
	json_object_del(s->state, key);
	json_t *older = json_object_get(ret, "back");
	int rc = older ? jset(s->state, "back", json_incref(older)) : 0;
	if (!rc)
		rc = resume_at(s, ret, depth);
	json_decref(ret);
	return rc;
}

static int resume(struct haven_step *s, int depth)
{
	return resume_from(s, "ret", depth);
}

static int record_safety(struct haven_step *s, const struct haven_safety_result *r)
{
	s->safety_rule = r->rule;
	if (r->level > s->level)
		s->level = r->level;
	if (r->raise_alert)
		s->raise_crisis = 1;
	if (r->answer)
		s->safety_answer = r->answer;
	json_t *a = json_pack("{s:s,s:s,s:s,s:s}", "type", "safety", "rule", r->rule, "mode",
			      haven_safety_mode_name(r->mode), "level",
			      haven_risk_level_name(r->level));
	if (a && r->answer)
		json_object_set_new(a, "answer", json_string(r->answer));
	return action(s, a);
}

/* Why the crisis protocol runs, for its closing words (say_safety): "for_danger", danger
 * from someone else (the danger screen's danger now, or "yes, I'm in danger" to the abuse
 * flow: rule content_danger); "for_thoughts", the person's own risk (anything else that
 * starts the protocol, or a message of the crisis screen's own at moderate or above, or an
 * overdose, while it runs). Kept for one episode. */
static int note_why(struct haven_step *s, json_t *sf, const struct haven_safety_result *r,
		    int was_crisis)
{
	const struct haven_turn_nlp *nlp = s->nlp;
	int running = was_crisis || r->mode == HAVEN_SAFETY_MODE_CONFIRM;
	int danger = (r->mode == HAVEN_SAFETY_MODE_CRISIS && !strcmp(r->rule, "content_danger")) ||
		     nlp->danger_now;
	int own = (nlp->crisis.level >= HAVEN_RISK_MODERATE && !nlp->danger_raised) ||
		  nlp->overdose;
	int rc = 0;
	if (r->mode == HAVEN_SAFETY_MODE_CRISIS && !was_crisis) {
		rc = jset(sf, "for_danger", json_boolean(danger));
		if (!rc)
			rc = jset(sf, "for_thoughts", json_boolean(!danger || own));
		return rc;
	}
	if (!running)
		return 0;
	if (danger)
		rc = jset(sf, "for_danger", json_true());
	if (!rc && own)
		rc = jset(sf, "for_thoughts", json_true());
	return rc;
}

/* Applies a gate decision other than PASS. */
static int apply_safety(struct haven_step *s, const struct haven_safety_result *r, int unclear,
			int depth)
{
	int rc = record_safety(s, r);
	if (rc)
		return rc;
	if (r->step == HAVEN_SAFETY_OTHERS) {
		int fi = flow_named(s, "helping_others");
		return enter(s, (struct pos){fi, C(s)->flows[fi].start}, 0, depth + 1);
	}
	if (r->enter && (rc = save_return(s)))
		return rc;
	json_t *sf = jobj(s->state, "safety");
	const char *old = sf ? jstr(sf, "mode") : NULL;
	int was_crisis = old && (!strcmp(old, "crisis") || !strcmp(old, "confirm"));
	if (!sf)
		return HAVEN_ENOMEM;
	if (r->mode == HAVEN_SAFETY_MODE_CRISIS && !was_crisis &&
	    (rc = jset(sf, "episode", json_integer(jint(s->state, "turns", 0)))))
		return rc;
	if ((rc = note_why(s, sf, r, was_crisis)))
		return rc;
	if ((rc = set_mode(s, r->mode, !strcmp(r->rule, "check_unclear") ? unclear + 1 : 0)))
		return rc;
	if ((rc = say_safety(s, r->say)))
		return rc;
	if (r->mode == HAVEN_SAFETY_MODE_CRISIS || r->mode == HAVEN_SAFETY_MODE_CONFIRM)
		rc = action(s, json_pack("{s:s,s:s,s:s}", "type", "crisis_lines", "region",
					 s->region->code, "emergency", s->region->emergency));
	if (!rc && r->step == HAVEN_SAFETY_RESUME)
		rc = resume(s, depth);
	return rc;
}

static int safety_enter_crisis(struct haven_step *s, int depth)
{
	struct haven_safety_input in = {.yesno = -1, .forced_crisis = 1};
	struct haven_safety_result r;
	haven_safety_decide(HAVEN_SAFETY_MODE_NONE, 0, &in, &r);
	/* Afterwards, not back into the flow that led here (it was about the danger): back to
	 * the exercise that flow interrupted, if any (engine()), else home. */
	json_object_del(s->state, "ret");
	json_t *back = json_object_get(s->state, "back");
	if (back && jset(s->state, "ret", json_incref(back)))
		return HAVEN_ENOMEM;
	json_object_del(s->state, "back");
	int hf = flow_named(s, "home");
	int rc = set_pos(s, (struct pos){hf, haven_content_node_index(&C(s)->flows[hf], "again")}, 0);
	return rc ? rc : apply_safety(s, &r, 0, depth);
}

/* ---- answers and actions ---- */

struct answer {
	int fits;
	int yesno;      /* YESNO */
	long number;    /* SCALE */
	int option;     /* CHOICE: index */
	char value[64]; /* what a slot keeps, for non-text answers */
};

static void parse_answer(struct haven_step *s, const struct haven_node *n, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	a->option = -1;
	switch (n->expect) {
	case HAVEN_EXPECT_YESNO:
		a->yesno = s->nlp->yesno;
		a->fits = a->yesno >= 0;
		haven_strlcpy(a->value, a->yesno == 1 ? "yes" : "no", sizeof(a->value));
		break;
	case HAVEN_EXPECT_SCALE:
		if (n->lo == 0 && n->hi == 3 && s->nlp->phq_answer >= 0 &&
		    !(s->nlp->has_number && s->nlp->number >= 0 && s->nlp->number <= 3)) {
			a->number = s->nlp->phq_answer;
			a->fits = 1;
		} else if (s->nlp->has_number && s->nlp->number >= n->lo &&
			   s->nlp->number <= n->hi) {
			a->number = s->nlp->number;
			a->fits = 1;
		}
		snprintf(a->value, sizeof(a->value), "%ld", a->number);
		break;
	case HAVEN_EXPECT_CHOICE: {
		char w[512];
		size_t o = 0;
		w[o++] = ' ';
		for (size_t i = 0; i < s->len && o + 2 < sizeof(w); i++) {
			char ch = s->text[i];
			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			w[o++] = ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) ? ch : ' ';
		}
		w[o++] = ' ';
		w[o] = '\0';
		for (size_t i = 0; i < n->noptions && a->option < 0; i++) {
			char pat[64];
			snprintf(pat, sizeof(pat), " %s ", n->options[i]);
			for (char *q = pat; *q; q++)
				if (*q == '_')
					*q = ' ';
			if (strstr(w, pat) || !strcmp(s->nlp->intent, n->options[i]))
				a->option = (int)i;
		}
		if (a->option < 0 && s->nlp->has_number && s->nlp->number >= 1 &&
		    (size_t)s->nlp->number <= n->noptions)
			a->option = (int)s->nlp->number - 1;
		a->fits = a->option >= 0;
		if (a->fits)
			haven_strlcpy(a->value, n->options[a->option], sizeof(a->value));
		break;
	}
	case HAVEN_EXPECT_TEXT:
		a->fits = s->len > 0;
		break;
	default:
		break;
	}
}

static int cond_holds(struct haven_step *s, const struct haven_node *n,
		      const struct haven_transition *t, const struct answer *a)
{
	switch (t->cond) {
	case HAVEN_COND_YES:
		return a->fits && a->yesno == 1;
	case HAVEN_COND_NO:
		return a->fits && a->yesno == 0;
	case HAVEN_COND_RANGE:
		return a->fits && a->number >= t->lo && a->number <= t->hi;
	case HAVEN_COND_OPTION:
		return a->fits && !strcmp(n->options[a->option], t->arg);
	case HAVEN_COND_INTENT:
		return !strcmp(s->nlp->intent, t->arg) && s->nlp->intent_p >= 0.4;
	case HAVEN_COND_DISTORTION:
		return a->fits && s->nlp->trap[0] && s->nlp->trap_p >= 0.15;
	case HAVEN_COND_ANY:
		return a->fits;
	}
	return 0;
}

static const char *trap_hint(const char *trap)
{
	static const char *const map[][2] = {
	    {"All-or-nothing thinking", "seeing things as all good or all bad, with nothing in between"},
	    {"Emotional Reasoning", "taking a feeling as proof that something is true"},
	    {"Fortune-telling", "predicting that things will turn out badly"},
	    {"Labeling", "putting a harsh label on yourself or someone else"},
	    {"Magnification", "making one part of a situation bigger than it is"},
	    {"Mental filter", "noticing only what went wrong and filtering out the rest"},
	    {"Mind Reading", "assuming you know what other people are thinking"},
	    {"Overgeneralization", "taking one event as a pattern that will always repeat"},
	    {"Personalization", "blaming yourself for things that are not only up to you"},
	    {"Should statements", "holding yourself to rigid 'should' and 'must' rules"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i][0], trap))
			return map[i][1];
	return "a common thinking trap";
}

static int slot_int(json_t *slots, const char *name, long *out)
{
	const char *v = jstr(slots, name);
	int64_t x;
	if (!v || haven_parse_int64(v, &x))
		return -1;
	*out = (long)x;
	return 0;
}

static int run_action(struct haven_step *s, const struct haven_flow *f,
		      const struct haven_action *act, const struct answer *a, int *check)
{
	json_t *slots = jobj(s->state, "slots");
	if (!slots)
		return HAVEN_ENOMEM;
	switch (act->kind) {
	case HAVEN_ACTION_SCORE: {
		/* Scored by src/measures (one piece of code for every instrument); the
		 * turn records it as an assessment in the same transaction (chat.c). */
		const struct haven_instrument *in = haven_instrument_find(act->arg);
		if (!in)
			return HAVEN_EINVAL; /* the content loader accepts phq9 and gad7 only */
		int answers[HAVEN_MEASURES_MAX_ITEMS];
		json_t *arr = json_array();
		if (!arr)
			return HAVEN_ENOMEM;
		for (size_t i = 0; i < in->nitems; i++) {
			char k[32];
			long v;
			snprintf(k, sizeof(k), "item%zu", i + 1);
			if (slot_int(slots, k, &v)) {
				json_decref(arr);
				return 0; /* not every item answered: nothing to score */
			}
			answers[i] = (int)v;
			json_array_append_new(arr, json_integer(v));
		}
		int total = 0;
		const struct haven_band *band = NULL;
		char err[160];
		if (haven_instrument_score(in, answers, in->nitems, &total, &band, err,
					   sizeof(err))) {
			json_decref(arr);
			return HAVEN_EINVAL;
		}
		char tb[16], bl[48];
		snprintf(tb, sizeof(tb), "%d", total);
		haven_strlcpy(bl, band->label, sizeof(bl));
		if (bl[0] >= 'A' && bl[0] <= 'Z')
			bl[0] = (char)(bl[0] - 'A' + 'a');
		int rc = jset(slots, "total", json_string(tb));
		if (!rc)
			rc = jset(slots, "band", json_string(bl));
		if (!rc) {
			s->assess = in;
			memcpy(s->assess_answers, answers, sizeof(answers));
			s->assess_n = in->nitems;
			rc = action(s, json_pack("{s:s,s:s,s:i,s:s,s:o}", "type", "assessment",
						 "instrument", in->id, "total", total, "band",
						 band->name, "answers", arr));
		} else {
			json_decref(arr);
		}
		return rc;
	}
	case HAVEN_ACTION_ITEM9:
		if (a->number > 0) {
			s->raise_item9 = 1;
			s->item9_value = (int)a->number;
			*check = 1;
		}
		return 0;
	case HAVEN_ACTION_PLAN_ADD: {
		/* "no", "none", "skip" add nothing. */
		if (s->nlp->yesno == 0 || s->len < 2 || !strncasecmp(s->text, "skip", 4) ||
		    !strncasecmp(s->text, "none", 4) || !strncasecmp(s->text, "nothing", 7))
			return 0;
		json_t *sec = json_object_get(s->plan, act->arg);
		if (!json_is_array(sec)) {
			sec = json_array();
			if (jset(s->plan, act->arg, sec))
				return HAVEN_ENOMEM;
		}
		if (json_array_size(sec) >= 20)
			return 0;
		size_t n = s->len > 500 ? 500 : s->len;
		while (n > 0 && ((unsigned char)s->text[n] & 0xC0) == 0x80 && n < s->len)
			n--; /* cut at a character boundary */
		if (json_array_append_new(sec, json_stringn(s->text, n)))
			return HAVEN_ENOMEM;
		s->plan_changed = 1;
		return action(s, json_pack("{s:s,s:s}", "type", "safety_plan_updated", "section",
					   act->arg));
	}
	case HAVEN_ACTION_RATE_BEFORE:
		return jset(s->state, "cur", json_pack("{s:s,s:I}", "ex", f->exercise, "b",
						       (json_int_t)a->number));
	case HAVEN_ACTION_RATE_AFTER: {
		json_t *cur = json_object_get(s->state, "cur");
		const char *ex = jstr(cur, "ex");
		if (!ex || strcmp(ex, f->exercise))
			return 0;
		json_int_t before = jint(cur, "b", -1), after = a->number;
		json_t *all = jobj(s->state, "ex");
		json_t *st = all ? jobj(all, f->exercise) : NULL;
		if (!st)
			return HAVEN_ENOMEM;
		/* Which way is better is the flow's: lower for distress and tension, higher for
		 * mood ('exercise NAME H N higher'). The last pair keeps its direction ("up"),
		 * so the suggestion's reason reads it the way it was asked. */
		int helped = f->higher_better ? after > before : after < before;
		int rc = jset(st, helped ? "h" : "n", json_integer(jint(st, helped ? "h" : "n", 0) + 1));
		if (!rc)
			rc = jset(st, "b", json_integer(before));
		if (!rc)
			rc = jset(st, "a", json_integer(after));
		if (!rc)
			rc = jset(st, "up", json_boolean(f->higher_better));
		json_object_del(s->state, "cur");
		if (!rc)
			rc = action(s, json_pack("{s:s,s:s,s:I,s:I,s:b,s:s}", "type", "exercise_rated",
						 "exercise", f->exercise, "before", before, "after",
						 after, "helped", helped, "better",
						 f->higher_better ? "higher" : "lower"));
		return rc;
	}
	case HAVEN_ACTION_REMEMBER: {
		/* Kept apart from the slots, which end with the flow: the flow's next run starts
		 * with it (set_pos) and may start at its follow-up (start_node). */
		const char *v = jstr(slots, act->arg);
		json_t *mem = jobj(s->state, "memory");
		json_t *fm = mem ? jobj(mem, f->name) : NULL;
		if (!fm)
			return HAVEN_ENOMEM;
		return v ? jset(fm, act->arg, json_string(v)) : 0;
	}
	case HAVEN_ACTION_FORGET: {
		json_t *mem = json_object_get(s->state, "memory");
		if (json_is_object(mem))
			json_object_del(mem, f->name);
		return 0;
	}
	case HAVEN_ACTION_DISTORTION: {
		if (!s->nlp->trap[0])
			return 0;
		char t[64];
		haven_strlcpy(t, s->nlp->trap, sizeof(t));
		for (char *q = t; *q; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q - 'A' + 'a');
		char hint[256];
		if (s->nlp->trap_terms[0])
			snprintf(hint, sizeof(hint), "%s (words like %s can be a sign of it)",
				 trap_hint(s->nlp->trap), s->nlp->trap_terms);
		else
			haven_strlcpy(hint, trap_hint(s->nlp->trap), sizeof(hint));
		int rc = jset(slots, "trap", json_string(t));
		if (!rc)
			rc = jset(slots, "trap_hint", json_string(hint));
		if (!rc)
			rc = action(s, json_pack("{s:s,s:s,s:f,s:s}", "type", "distortion_suggested",
						 "label", s->nlp->trap, "probability", s->nlp->trap_p,
						 "terms", s->nlp->trap_terms));
		return rc;
	}
	case HAVEN_ACTION_CONSENT: {
		if (a->yesno != 1)
			return 0; /* on a yes/no node, only "yes" agrees */
		int rc = jset(s->state, "onboarded", json_true());
		if (!rc)
			rc = action(s, json_pack("{s:s}", "type", "onboarding_agreed"));
		return rc;
	}
	}
	return 0;
}

/* Intents that may interrupt a flow that is waiting for free text. Not worry_other: an
 * answer naming someone ("my friend Sam" as a person to ask for help) is not worry about
 * them; danger to someone else is the safety gate's to notice, from any state. */
static int interrupts(const char *intent)
{
	static const char *const list[] = {"diagnosis", "medication", "abuse", "show_plan", NULL};
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(list[i], intent))
			return 1;
	return 0;
}

/* Requests that, made inside an exercise, do not lose it: asides. The person goes back to
 * the exercise's step with what they had written, as after the crisis protocol (DESIGN.md):
 * the point is kept under "back" (save_point) and end_flow goes back to it. An aside whose
 * flow runs is answered by its whole flow first, with what that flow asks: an abuse
 * disclosure (are you in danger now?), going through the safety plan. The others are answered
 * in the same turn (aside_answer). Choosing another exercise, or "stop", is no aside: it
 * replaces the exercise, as it always did. The crisis lines asked for are an answered aside
 * too (engine(), flow crisis_lines). */
static const struct {
	const char *intent;
	int runs;
} asides[] = {
    {"abuse", 1},     {"safety_plan", 1}, {"diagnosis", 0},    {"medication", 0},
    {"show_plan", 0}, {"help", 0},        {"out_of_scope", 0},
};

/* -1: no aside; 0: answered at once; 1: its flow runs, then back. */
static int aside_kind(const char *intent)
{
	for (size_t i = 0; i < sizeof(asides) / sizeof(asides[0]); i++)
		if (!strcmp(asides[i].intent, intent))
			return asides[i].runs;
	return -1;
}

/* Starts flow g as an aside from p. Inside an exercise (not home, not onboarding) the point
 * is kept; an answered aside then says g's words up to the first node that would wait (the
 * diagnosis flow's offer of a questionnaire is for when nothing else is going on) and goes
 * straight back. At home its flow runs as it always did; before the terms are agreed (the
 * crisis lines asked for as the very first message) the terms follow. */
static int aside(struct haven_step *s, struct pos p, int g, int runs)
{
	const struct haven_flow *gf = &C(s)->flows[g];
	int hf = flow_named(s, "home"), ob = flow_named(s, "onboarding");
	int onboarded = json_is_true(json_object_get(s->state, "onboarded"));
	int kept = p.flow >= 0 && p.flow != hf && p.flow != ob;
	int rc = kept ? save_point(s, "back") : 0;
	struct pos q = {g, start_node(s, g)};
	if (rc || runs || (!kept && onboarded) || gf->nodes[q.node].expect != HAVEN_EXPECT_NONE)
		return rc ? rc : enter(s, q, 0, 0);
	for (int hops = 0;; hops++) {
		const struct haven_node *n = &gf->nodes[q.node];
		if (hops > MAX_HOPS)
			return HAVEN_ELIMIT;
		if ((rc = set_pos(s, q, 0)) || (rc = say_node(s, n)))
			return rc;
		if (n->next.flow != g || n->next.at_start ||
		    gf->nodes[n->next.node].expect != HAVEN_EXPECT_NONE)
			break;
		q.node = n->next.node;
	}
	if (!kept) {
		/* Not agreed yet: the terms again, as after the protocol (resume_at). */
		json_object_del(s->state, "flow");
		json_object_del(s->state, "node");
		return enter(s, (struct pos){ob, C(s)->flows[ob].start}, 0, 1);
	}
	return end_flow(s, 1);
}

static int flow_for_intent(struct haven_step *s, const char *intent)
{
	const struct haven_content *c = C(s);
	for (size_t i = 0; i < c->nflows; i++)
		for (size_t j = 0; j < c->flows[i].nintents; j++)
			if (!strcmp(c->flows[i].intents[j], intent))
				return (int)i;
	return -1;
}

static int engine(struct haven_step *s)
{
	const struct haven_content *c = C(s);
	int onboarded = json_is_true(json_object_get(s->state, "onboarded"));
	struct pos p = get_pos(s);
	int ob = flow_named(s, "onboarding");
	/* The crisis lines asked for ("what's the crisis number"): given wherever the person is,
	 * even before the terms are agreed, and then back to where they were. A rule, not the
	 * intent model, finds the request; the flow is optional content. */
	int lf = flow_named(s, "crisis_lines");
	if (s->nlp->asks_lines && lf >= 0 && p.flow != lf)
		return aside(s, p, lf, 0);
	if (!onboarded && p.flow != ob)
		return enter(s, (struct pos){ob, c->flows[ob].start}, 0, 0);
	int hf = flow_named(s, "home");
	if (p.flow < 0)
		p = (struct pos){hf, c->flows[hf].start};
	const struct haven_flow *f = &c->flows[p.flow];
	const struct haven_node *n = &f->nodes[p.node];
	const char *intent = s->nlp->intent;
	double ip = s->nlp->intent_p;
	snprintf(s->state_name, sizeof(s->state_name), "%s.%s", f->name, n->name);

	if (!strcmp(intent, "stop") && ip >= 0.6 && p.flow != hf && p.flow != ob) {
		int rc = render(s, "Okay, let's stop there.");
		return rc ? rc : end_flow(s, 0);
	}
	struct answer a;
	parse_answer(s, n, &a);
	/* Explicit intent transitions first. */
	for (size_t i = 0; i < n->ntrans; i++)
		if (n->trans[i].cond == HAVEN_COND_INTENT && cond_holds(s, n, &n->trans[i], &a)) {
			if (n->slot && a.fits && n->expect == HAVEN_EXPECT_TEXT &&
			    jset(jobj(s->state, "slots"), n->slot, json_stringn(s->text, s->len)))
				return HAVEN_ENOMEM;
			return go(s, n->trans[i].target, 0);
		}
	/* Another flow, when the person asks for it. */
	int g = flow_for_intent(s, intent);
	if (g >= 0 && g != p.flow && (p.flow != ob || onboarded)) {
		/* A rule's request (s->nlp->routed) interrupts any node: a disclosure or a
		 * medication question is never taken for a rating or an answer. */
		int sw = s->nlp->routed			  ? 1
			 : p.flow == hf || p.flow == ob	  ? ip >= 0.5
			 : n->expect == HAVEN_EXPECT_TEXT ? ip >= 0.85 && interrupts(intent)
							  : ip >= 0.6 && !a.fits;
		if (sw) {
			/* An out-of-scope request inside an exercise does not lose the exercise
			 * (aside); the abuse flow's danger question may start the crisis
			 * protocol, whose end goes back there too (safety_enter_crisis). */
			int kind = aside_kind(intent);
			if (kind >= 0)
				return aside(s, p, g, kind);
			/* Another exercise chosen: it replaces this one, and whatever an aside
			 * was to go back to. */
			json_object_del(s->state, "back");
			return enter(s, (struct pos){g, start_node(s, g)}, 0, 0);
		}
	}
	for (size_t i = 0; i < n->ntrans; i++) {
		const struct haven_transition *t = &n->trans[i];
		if (t->cond == HAVEN_COND_INTENT || !cond_holds(s, n, t, &a))
			continue;
		json_t *slots = jobj(s->state, "slots");
		if (!slots)
			return HAVEN_ENOMEM;
		if (n->slot) {
			size_t tl = s->len > 1000 ? 1000 : s->len;
			while (tl > 0 && tl < s->len && ((unsigned char)s->text[tl] & 0xC0) == 0x80)
				tl--;
			json_t *v = n->expect == HAVEN_EXPECT_TEXT ? json_stringn(s->text, tl)
								  : json_string(a.value);
			if (jset(slots, n->slot, v))
				return HAVEN_ENOMEM;
		}
		int check = 0, rc = 0;
		for (size_t k = 0; k < n->nactions && !rc; k++)
			rc = run_action(s, f, &n->actions[k], &a, &check);
		if (rc)
			return rc;
		if (check) {
			/* PHQ-9 item 9 above 0: move on silently, then ask the safety question. */
			struct haven_target tt = t->target;
			if (tt.flow >= 0 && (rc = set_pos(s, (struct pos){tt.flow, tt.node}, 1)))
				return rc;
			struct haven_safety_input in = {.yesno = -1, .forced_check = 1};
			struct haven_safety_result r;
			haven_safety_decide(HAVEN_SAFETY_MODE_NONE, 0, &in, &r);
			return apply_safety(s, &r, 0, 0);
		}
		return go(s, t->target, 0);
	}
	/* Nothing fits: ask again, and after three misses leave it gently. */
	json_int_t misses = jint(s->state, "misses", 0) + 1;
	if (misses >= 3 && p.flow != hf) {
		int rc = render(s, "Let's leave that there for now.");
		return rc ? rc : end_flow(s, 0);
	}
	int rc = jset(s->state, "misses", json_integer(misses));
	if (!rc)
		rc = render(s, n->reprompt ? n->reprompt : "Sorry, I didn't quite catch that.");
	if (!rc) {
		s->saying_again = 1;
		rc = say_node(s, n);
		s->saying_again = 0;
	}
	return rc;
}

int haven_step_init(struct haven_step *s)
{
	haven_buf_init(&s->reply, 64 * 1024);
	s->actions = json_array();
	s->state_name[0] = '\0';
	s->level = HAVEN_RISK_NONE;
	s->safety_rule = "pass";
	s->safety_answer = NULL;
	s->raise_crisis = s->raise_item9 = s->item9_value = s->plan_changed = 0;
	s->saying_again = 0;
	s->assess = NULL;
	s->assess_n = 0;
	return s->actions ? 0 : HAVEN_ENOMEM;
}

void haven_step_release(struct haven_step *s)
{
	haven_buf_release(&s->reply);
	json_decref(s->actions);
	s->actions = NULL;
}

int haven_dialog_step(struct haven_step *s)
{
	const struct haven_turn_nlp *nlp = s->nlp;
	s->level = nlp->crisis.level;
	json_t *sf = json_object_get(s->state, "safety");
	enum haven_safety_mode mode = HAVEN_SAFETY_MODE_NONE;
	if (jstr(sf, "mode") && haven_safety_mode_parse(jstr(sf, "mode"), &mode))
		return HAVEN_ECORRUPT;
	int unclear = (int)jint(sf, "unclear", 0);
	int plan_intent = (!strcmp(nlp->intent, "show_plan") || !strcmp(nlp->intent, "safety_plan")) &&
			  nlp->intent_p >= 0.5;
	struct haven_safety_input in = {
	    .crisis = &nlp->crisis,
	    .overdose = nlp->overdose,
	    .denial = nlp->denial,
	    .yesno = nlp->yesno,
	    .wants_plan = plan_intent || (mode == HAVEN_SAFETY_MODE_CRISIS && nlp->yesno == 1),
	    .wants_end = (!strcmp(nlp->intent, "stop") && nlp->intent_p >= 0.6) ||
			 haven_safety_wants_to_end(s->text, s->len),
	    .unsure = haven_safety_is_unsure(s->text, s->len),
	};
	struct haven_safety_result r;
	haven_safety_decide(mode, unclear, &in, &r);
	int rc = jset(s->state, "turns", json_integer(jint(s->state, "turns", 0) + 1));
	if (rc)
		return rc;
	if (nlp->danger_bits) {
		/* The abuse or danger told of, for the helplines of the protocol's closing
		 * words ({helplines}): kept until another such message. */
		json_t *st = jobj(s->state, "safety");
		if (!st || (rc = jset(st, "danger_bits", json_integer(nlp->danger_bits))))
			return rc ? rc : HAVEN_ENOMEM;
	}
	if (r.step != HAVEN_SAFETY_PASS)
		rc = apply_safety(s, &r, unclear, 0);
	else {
		s->safety_rule = r.rule;
		if (r.level > s->level)
			s->level = r.level;
		rc = engine(s);
	}
	return rc;
}

/* ---- what the conversation waits for (quick replies, docs/chat.md) ---- */

static json_t *reply_option(const char *label, const char *value)
{
	return json_pack("{s:s,s:s}", "label", label, "value", value);
}

/* The words after "V (" up to ")" in what the agent said, as in "from 0 (calm) to 10
 * (extremely)"; 0 when the reply names no label for V. */
static int scale_label(const char *reply, int v, char *out, size_t n)
{
	char pat[24];
	int pl = snprintf(pat, sizeof(pat), "%d (", v);
	for (const char *p = reply ? strstr(reply, pat) : NULL; p; p = strstr(p + 1, pat)) {
		if (p > reply && ((p[-1] >= '0' && p[-1] <= '9') || p[-1] == '-'))
			continue; /* "10 (" is not "0 (" */
		const char *b = p + pl, *e = strchr(b, ')'), *o = strchr(b, '(');
		if (!e || e == b || (o && o < e) || (size_t)(e - b) >= n)
			continue;
		memcpy(out, b, (size_t)(e - b));
		out[e - b] = '\0';
		return 1;
	}
	return 0;
}

static json_t *expects_scale(const struct haven_node *n, const char *reply)
{
	json_t *labels = json_array();
	json_t *o = json_pack("{s:s,s:i,s:i,s:o}", "kind", "scale", "min", n->lo, "max", n->hi,
			      "labels", labels);
	if (!o)
		return NULL;
	int rc = 0;
	if (n->lo == 0 && n->hi == 3) {
		/* Every 0-3 scale takes the PHQ-9/GAD-7 answer words (parse_answer). */
		const struct haven_instrument *in = haven_instrument_find("phq9");
		for (size_t i = 0; in && i < in->noptions && !rc; i++)
			rc = json_array_append_new(labels,
						   json_pack("{s:i,s:s}", "value", in->options[i].value,
							     "label", in->options[i].label));
	} else {
		char l[96];
		int ends[2] = {n->lo, n->hi};
		for (size_t i = 0; i < 2 && !rc; i++)
			if (scale_label(reply, ends[i], l, sizeof(l)))
				rc = json_array_append_new(
				    labels, json_pack("{s:i,s:s}", "value", ends[i], "label", l));
	}
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *expects_choice(const struct haven_node *n)
{
	json_t *opts = json_array();
	json_t *o = json_pack("{s:s,s:o}", "kind", "choice", "options", opts);
	if (!o)
		return NULL;
	for (size_t i = 0; i < n->noptions; i++) {
		char value[64], label[64];
		haven_strlcpy(value, n->options[i], sizeof(value));
		for (char *q = value; *q; q++)
			if (*q == '_')
				*q = ' ';
		haven_strlcpy(label, value, sizeof(label));
		if (label[0] >= 'a' && label[0] <= 'z')
			label[0] = (char)(label[0] - 'a' + 'A');
		if (json_array_append_new(opts, reply_option(label, value))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *haven_dialog_expects(const struct haven_dialog *d, const char *state, const char *reply)
{
	const struct haven_content *c = haven_dialog_content(d);
	const struct haven_node *n = NULL;
	const char *dot = state ? strchr(state, '.') : NULL;
	if (dot && (size_t)(dot - state) < 64) {
		char flow[64];
		memcpy(flow, state, (size_t)(dot - state));
		flow[dot - state] = '\0';
		int fi = haven_content_flow_index(c, flow);
		int ni = fi >= 0 ? haven_content_node_index(&c->flows[fi], dot + 1) : -1;
		if (ni >= 0)
			n = &c->flows[fi].nodes[ni];
	}
	switch (n ? n->expect : HAVEN_EXPECT_TEXT) {
	case HAVEN_EXPECT_YESNO:
		return json_pack("{s:s,s:[o,o]}", "kind", "yes_no", "options",
				 reply_option("Yes", "yes"), reply_option("No", "no"));
	case HAVEN_EXPECT_SCALE:
		return expects_scale(n, reply);
	case HAVEN_EXPECT_CHOICE:
		return expects_choice(n);
	default:
		/* Free text, and a state that is no node ("onboarding.declined": the next
		 * message starts onboarding again). In the crisis protocol the agent offers to
		 * go through the safety plan (the gate takes the plan intent, or a yes, as
		 * wanting it): that offer is a suggested reply; anything else may be written. */
		if (state && (!strcmp(state, "safety.crisis") || !strcmp(state, "safety.crisis_stay")))
			return json_pack("{s:s,s:[o]}", "kind", "text", "options",
					 reply_option("Show my safety plan", "show my safety plan"));
		return json_pack("{s:s}", "kind", "text");
	}
}
