/*
 * test_crisis_every_node.c: issue 4 asks that "explicit, indirect, misspelt and slang crisis
 * messages at any point of any flow trigger the protocol". This checks it at every node of
 * every flow under content/flows/ where a conversation can rest (every node that waits for an
 * answer; a node that expects nothing is said on the way to one and is never where a message
 * arrives), so a node or flow added tomorrow is covered the day it is added.
 *
 * How each node is reached: a breadth-first search over the pure engine (haven_dialog_step
 * on a copy of the conversation state) tries the answers each node expects (yes and no, the
 * ends of a scale, every option, an example of every intent a transition names, free text)
 * and keeps the first list of messages that ends at each node. The list is then replayed
 * through the real turn (haven_chat_turn over a real database, as the API and `haven chat`
 * run it) for a fresh person, who must end at that node; there:
 *   - a crisis message, in turn explicit, indirect, misspelt and slang, starts the protocol:
 *     state safety.crisis, risk high, the crisis lines and the emergency number in the reply
 *     and as an action, an urgent crisis_chat alert action and one open urgent alert stored;
 *     with a clinician on the care team every other person, the reply says the care team was
 *     told, and without one it says there is none;
 *   - one denial ("im fine, you misunderstood") does not end it: safety.confirm, alert open;
 *   - its end (a clear "no") goes back to the node the person was at, saying it again (at
 *     home: home.again), and the alert stays open for a clinician;
 * and, on a second replay for another fresh person, a figure of speech at the node runs no
 * protocol (risk below moderate, no safety state) and raises no alert.
 * The protocol's own steps (the flow "safety": the direct question, the crisis, staying in
 * it, the safety plan, the confirming question) are checked by the second test here; the
 * others walk the same paths with a moderate message (the direct question, then back) and
 * with an abuse disclosure (the abuse flow, then back to the exercise), and with the other
 * out-of-scope requests (diagnosis, medication, the safety plan, the crisis number: answered,
 * then back to the exercise's step with its slots), and check the protocol before the terms
 * are agreed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog_test.h"
#include "harness.h"
#include "safety/danger.h"

#define MAX_PATH 24
#define MAX_EXAMPLES 2 /* examples tried per intent */

static const char *const crises[] = {
    "i want to kill myself",               /* explicit */
    "kms tonight",                         /* slang */
    "i have the pills ready",              /* indirect: means, preparation */
    "going to unalive myself",             /* slang */
    "ive wrote my goodbye letters",        /* indirect: a goodbye, misspelt grammar */
    "i want to die",                       /* explicit */
    "i wanna kil myself",                  /* misspelt */
    "honestly i just wanna kms",           /* slang */
    "i keep thinking about sucide",        /* misspelt */
    "im going to end it all tonight",      /* indirect: intent, a time */
    "I took all my pills an hour ago",     /* an overdose already taken */
    "i wont be here tomorrow, ive made my peace", /* indirect: a goodbye */
};
#define NCRISES (sizeof(crises) / sizeof(crises[0]))

static const char *const figures[] = {
    "this homework is killing me",
    "i'm dead \xf0\x9f\x98\x82 that's hilarious",
    "this traffic is killing me",
    "my feet are killing me",
    "I nearly died laughing",
    "i'd kill for a coffee right now",
};
#define NFIGURES (sizeof(figures) / sizeof(figures[0]))

static const char DENIAL[] = "im fine, you misunderstood";
/* Answers any free-text node; plain enough that no screen reads anything into it. */
static const char TEXT_ANSWER[] = "I went for a walk with my sister after work";
/* For 'on distortion': a thought with thinking traps in it. */
static const char TRAP_ANSWER[] =
    "she always ignores me, everyone hates me and I will never have real friends";

/* Nodes that wait for an answer where no conversation can rest, with why. */
static const char *const never_at_rest[][2] = {
    {"home.menu", "home's start is only where the engine reads a message when a state has no "
		  "flow; no transition leads there, and a flow's end goes to home.again"},
};

static int is_never_at_rest(const char *where)
{
	for (size_t i = 0; i < sizeof(never_at_rest) / sizeof(never_at_rest[0]); i++)
		if (!strcmp(never_at_rest[i][0], where))
			return 1;
	return 0;
}

/* ---- the intents file's examples ---- */

struct example {
	char *text, *intent;
};

static struct example *examples;
static size_t nexamples;

static void load_examples(void)
{
	if (examples)
		return;
	FILE *fp = fopen("content/intents/intents.tsv", "r");
	ASSERT(fp);
	char line[1024];
	size_t cap = 0;
	while (fgets(line, sizeof(line), fp)) {
		char *tab = strchr(line, '\t');
		if (!tab || line[0] == '#')
			continue;
		*tab = '\0';
		tab[1 + strcspn(tab + 1, "\r\n")] = '\0';
		if (nexamples == cap) {
			cap = cap ? cap * 2 : 256;
			examples = realloc(examples, cap * sizeof(*examples));
			ASSERT(examples);
		}
		examples[nexamples].text = strdup(line);
		examples[nexamples].intent = strdup(tab + 1);
		ASSERT(examples[nexamples].text && examples[nexamples].intent);
		nexamples++;
	}
	fclose(fp);
	ASSERT(nexamples > 0);
}

/* ---- analysed messages (each text analysed once) ---- */

struct message {
	char *text;
	struct haven_turn_nlp nlp;
	int usable; /* 0: the turn would not be the engine's (a screen would act on it) */
};

struct search {
	struct chat_fixture *f;
	const struct haven_content *c;
	const struct haven_region *region;
	struct message *msgs;
	size_t nmsgs, cap;
};

/* The index of text among the analysed messages, analysing it the first time. A message
 * the chat turn would hand to a screen instead of the engine is marked unusable: danger now,
 * a medication question or someone else hurt (chat.c's danger route), moderate risk or more.
 * A disclosure of abuse goes to the abuse flow, as chat.c routes it. */
static size_t message_index(struct search *se, const char *text)
{
	for (size_t i = 0; i < se->nmsgs; i++)
		if (!strcmp(se->msgs[i].text, text))
			return i;
	if (se->nmsgs == se->cap) {
		se->cap = se->cap ? se->cap * 2 : 128;
		se->msgs = realloc(se->msgs, se->cap * sizeof(*se->msgs));
		ASSERT(se->msgs);
	}
	struct message *m = &se->msgs[se->nmsgs];
	m->text = strdup(text);
	ASSERT(m->text);
	ASSERT_OK(haven_dialog_analyze(se->f->w, text, strlen(text), &m->nlp));
	struct haven_danger_result dg;
	haven_danger_screen(text, strlen(text), &dg);
	m->usable = m->nlp.crisis.level < HAVEN_RISK_MODERATE && !m->nlp.overdose &&
		    dg.level != HAVEN_DANGER_NOW && dg.level != HAVEN_DANGER_MEDICATION &&
		    dg.level != HAVEN_DANGER_OTHER;
	if (dg.level == HAVEN_DANGER_DISCLOSED) {
		haven_strlcpy(m->nlp.intent, "abuse", sizeof(m->nlp.intent));
		m->nlp.intent_p = 1.0;
		m->nlp.routed = 1;
	}
	return se->nmsgs++;
}

/* ---- the search ---- */

struct item {
	json_t *state, *plan;
	size_t path[MAX_PATH];
	size_t plen;
};

struct found {
	size_t path[MAX_PATH];
	size_t plen;
	int reached;
};

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* 1 when a transition or 'next' of node ni (through nodes that expect nothing) goes to the
 * exercise the personalisation picks: where such a step leads depends on the turn's seed,
 * which a replay for another person does not share. */
static int leads_to_recommended(const struct haven_content *c, int fi, int ni, int depth)
{
	if (fi < 0 || ni < 0 || depth > 12)
		return 0;
	const struct haven_node *n = &c->flows[fi].nodes[ni];
	if (n->expect == HAVEN_EXPECT_NONE)
		return n->next.flow == HAVEN_TARGET_RECOMMENDED ||
		       (n->next.flow >= 0 && leads_to_recommended(c, n->next.flow, n->next.node,
								  depth + 1));
	for (size_t i = 0; i < n->ntrans; i++) {
		const struct haven_target *t = &n->trans[i].target;
		if (t->flow == HAVEN_TARGET_RECOMMENDED ||
		    (t->flow >= 0 && !t->at_start && c->flows[t->flow].nodes[t->node].expect ==
							     HAVEN_EXPECT_NONE &&
		     leads_to_recommended(c, t->flow, t->node, depth + 1)))
			return 1;
	}
	return 0;
}

/* Appends the messages worth trying at the state's node to out (indexes, no repeats). */
static size_t candidates(struct search *se, json_t *state, size_t *out, size_t max)
{
	const struct haven_content *c = se->c;
	char texts[160][160];
	size_t nt = 0;
#define ADD(...)                                                                               \
	do {                                                                                   \
		if (nt < 160)                                                                  \
			snprintf(texts[nt++], sizeof(texts[0]), __VA_ARGS__);                  \
	} while (0)
	int fi = jstr(state, "flow") ? haven_content_flow_index(c, jstr(state, "flow")) : -1;
	int ni = fi >= 0 ? haven_content_node_index(&c->flows[fi], jstr(state, "node")) : -1;
	if (ni < 0) {
		ADD("hello");
	} else {
		const struct haven_node *n = &c->flows[fi].nodes[ni];
		switch (n->expect) {
		case HAVEN_EXPECT_YESNO:
			ADD("yes");
			ADD("no");
			break;
		case HAVEN_EXPECT_SCALE:
			ADD("%d", n->lo);
			ADD("%d", (n->lo + n->hi) / 2);
			ADD("%d", n->hi);
			break;
		case HAVEN_EXPECT_CHOICE:
			for (size_t i = 0; i < n->noptions; i++) {
				ADD("%s", n->options[i]);
				for (char *q = texts[nt - 1]; *q; q++)
					if (*q == '_')
						*q = ' ';
			}
			break;
		default:
			ADD("%s", TEXT_ANSWER);
			break;
		}
		for (size_t i = 0; i < n->ntrans; i++) {
			const struct haven_transition *t = &n->trans[i];
			if (t->cond == HAVEN_COND_RANGE && t->lo != n->lo)
				ADD("%d", t->lo);
			if (t->cond == HAVEN_COND_DISTORTION)
				ADD("%s", TRAP_ANSWER);
			if (t->cond != HAVEN_COND_INTENT)
				continue;
			size_t k = 0;
			for (size_t e = 0; e < nexamples && k < MAX_EXAMPLES; e++)
				if (!strcmp(examples[e].intent, t->arg)) {
					ADD("%s", examples[e].text);
					k++;
				}
		}
		/* At home, every flow a person can ask for. */
		if (!strcmp(c->flows[fi].name, "home"))
			for (size_t g = 0; g < c->nflows; g++)
				for (size_t j = 0; j < c->flows[g].nintents; j++) {
					size_t k = 0;
					for (size_t e = 0; e < nexamples && k < MAX_EXAMPLES; e++)
						if (!strcmp(examples[e].intent,
							    c->flows[g].intents[j])) {
							ADD("%s", examples[e].text);
							k++;
						}
				}
	}
#undef ADD
	size_t n = 0;
	for (size_t i = 0; i < nt && n < max; i++) {
		size_t m = message_index(se, texts[i]);
		int dup = 0;
		for (size_t j = 0; j < n; j++)
			dup |= out[j] == m;
		if (!dup && se->msgs[m].usable)
			out[n++] = m;
	}
	return n;
}

/* Where the state rests, with which flows remember something (a flow may start elsewhere
 * when it does: 'start NODE if SLOT'). */
static void state_key(json_t *state, char *out, size_t n)
{
	int o = snprintf(out, n, "%s.%s|", jstr(state, "flow") ? jstr(state, "flow") : "",
			 jstr(state, "node") ? jstr(state, "node") : "");
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(state, "memory"), k, v)
	{
		if (json_object_size(v) && o > 0 && (size_t)o < n)
			o += snprintf(out + o, n - (size_t)o, "%s,", k);
	}
}

/* The index of a node in found[]: flows in content order, nodes in flow order. */
static size_t node_slot(const struct haven_content *c, int fi, int ni)
{
	size_t k = 0;
	for (int i = 0; i < fi; i++)
		k += c->flows[i].nnodes;
	return k + (size_t)ni;
}

static size_t total_nodes(const struct haven_content *c)
{
	return node_slot(c, (int)c->nflows, 0);
}

/* Fills found[] with a shortest list of messages to every node the search reaches. */
static void search_paths(struct search *se, struct found *found)
{
	const struct haven_content *c = se->c;
	size_t qcap = 1024, qhead = 0, qtail = 0;
	struct item *q = calloc(qcap, sizeof(*q));
	size_t kcap = 1024, nkeys = 0;
	char (*keys)[200] = calloc(kcap, sizeof(*keys));
	ASSERT(q && keys);
	q[qtail].state = json_object();
	q[qtail].plan = json_object();
	qtail++;
	while (qhead < qtail) {
		struct item it = q[qhead++];
		size_t cand[200];
		size_t nc = it.plen < MAX_PATH ? candidates(se, it.state, cand, 200) : 0;
		const char *oldflow = jstr(it.state, "flow");
		int ofi = oldflow ? haven_content_flow_index(c, oldflow) : -1;
		int oni = ofi >= 0 ? haven_content_node_index(&c->flows[ofi], jstr(it.state, "node"))
				   : -1;
		for (size_t i = 0; i < nc; i++) {
			const struct message *m = &se->msgs[cand[i]];
			json_t *state = json_deep_copy(it.state), *plan = json_deep_copy(it.plan);
			ASSERT(state && plan);
			struct haven_step s = {.d = se->f->d,
					       .nlp = &m->nlp,
					       .text = m->text,
					       .len = strlen(m->text),
					       .region = se->region,
					       .seed = 1,
					       .care_team = 1,
					       .state = state,
					       .plan = plan};
			ASSERT_OK(haven_step_init(&s));
			ASSERT_OK(haven_dialog_step(&s));
			const char *flow = jstr(state, "flow"), *node = jstr(state, "node");
			const char *mode = jstr(json_object_get(state, "safety"), "mode");
			int keep = flow && node && strncmp(s.state_name, "safety.", 7) &&
				   (!mode || !strcmp(mode, "none")) &&
				   !(strcmp(flow, "home") && (!oldflow || strcmp(flow, oldflow)) &&
				     leads_to_recommended(c, ofi, oni, 0));
			haven_step_release(&s);
			char key[200];
			if (keep)
				state_key(state, key, sizeof(key));
			for (size_t k = 0; keep && k < nkeys; k++)
				keep = strcmp(keys[k], key) != 0;
			if (!keep) {
				json_decref(state);
				json_decref(plan);
				continue;
			}
			if (nkeys == kcap) {
				kcap *= 2;
				keys = realloc(keys, kcap * sizeof(*keys));
				ASSERT(keys);
			}
			memcpy(keys[nkeys++], key, sizeof(key));
			int fi = haven_content_flow_index(c, flow);
			struct found *fd = &found[node_slot(c, fi, haven_content_node_index(
							       &c->flows[fi], node))];
			struct item next = {.state = state, .plan = plan, .plen = it.plen + 1};
			memcpy(next.path, it.path, it.plen * sizeof(size_t));
			next.path[it.plen] = cand[i];
			if (!fd->reached) {
				fd->reached = 1;
				fd->plen = next.plen;
				memcpy(fd->path, next.path, sizeof(next.path));
			}
			if (qtail == qcap) {
				qcap *= 2;
				q = realloc(q, qcap * sizeof(*q));
				ASSERT(q);
			}
			q[qtail++] = next;
		}
		json_decref(it.state);
		json_decref(it.plan);
	}
	free(q);
	free(keys);
}

/* ---- the replay ---- */

/* A fresh person in the fixture's database (f->patient), with an active clinician on their
 * care team when team is set. */
static void new_person(struct chat_fixture *f, int team)
{
	char sql[300];
	long long n = (long long)chat_count(f, "SELECT COUNT(*) FROM users");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO users (email, role, password_hash, locale, created_at) VALUES "
		 "('person%lld@example.org', 'patient', 'x', 'en-US', 1)",
		 n);
	chat_exec(f, sql);
	f->patient = chat_count(f, "SELECT MAX(id) FROM users");
	if (team)
		chat_add_clinician(f, 0);
}

static int64_t open_crisis_alerts(struct chat_fixture *f)
{
	char sql[200];
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM alerts WHERE patient_id = %lld AND kind = 'crisis_chat' AND "
		 "severity = 'urgent' AND status = 'open'",
		 (long long)f->patient);
	return chat_count(f, sql);
}

static int64_t all_alerts(struct chat_fixture *f)
{
	char sql[120];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM alerts WHERE patient_id = %lld",
		 (long long)f->patient);
	return chat_count(f, sql);
}

/* Replays a path for the fixture's person; it must end at want ("flow.node"). */
static void replay(struct search *se, const struct found *fd, const char *want)
{
	json_t *t = NULL;
	for (size_t i = 0; i < fd->plen; i++) {
		json_decref(t);
		t = chat_say(se->f, se->msgs[fd->path[i]].text);
	}
	if (!t || strcmp(turn_state(t), want)) {
		char path[2048];
		size_t o = 0;
		for (size_t i = 0; i < fd->plen && o < sizeof(path) - 8; i++)
			o += (size_t)snprintf(path + o, sizeof(path) - o, "%s\"%s\"", i ? ", " : "",
					      se->msgs[fd->path[i]].text);
		haven_test_fail(__FILE__, __LINE__, "replaying [%s] ended at %s, not %s", path,
				t ? turn_state(t) : "(no turn)", want);
	}
	json_decref(t);
}

/* 1 when the turn has an urgent crisis_chat alert action. */
static int urgent_crisis_alert(json_t *turn)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(turn, "actions"), i, a)
	{
		const char *ty = jstr(a, "type"), *k = jstr(a, "kind"), *sv = jstr(a, "severity");
		if (ty && k && sv && !strcmp(ty, "alert") && !strcmp(k, "crisis_chat") &&
		    !strcmp(sv, "urgent"))
			return 1;
	}
	return 0;
}

/* The crisis message's turn at `where`: the protocol with everything DESIGN.md lists. */
static void check_crisis_turn(struct chat_fixture *f, json_t *t, const char *where,
			      const char *msg, const char *want_state, int team)
{
	const char *why = NULL;
	if (strcmp(turn_state(t), want_state))
		why = "not the protocol's state";
	else if (strcmp(turn_level(t), "high"))
		why = "risk is not high";
	else if (!urgent_crisis_alert(t))
		why = "no urgent crisis_chat alert action";
	else if (!turn_has_action(t, "crisis_lines", NULL))
		why = "no crisis_lines action";
	else if (!strstr(turn_reply(t), "988") || !strstr(turn_reply(t), "911"))
		why = "the reply does not give the crisis lines and emergency number";
	else if (!strcmp(want_state, "safety.crisis") &&
		 !strstr(turn_reply(t), team ? "I've let your care team know"
					     : "You don't have a care team linked here"))
		why = team ? "the reply does not say the care team was told"
			   : "the reply does not say there is no care team";
	else if (open_crisis_alerts(f) != 1)
		why = "not exactly one open urgent crisis_chat alert stored";
	if (why)
		haven_test_fail(__FILE__, __LINE__, "at %s, \"%s\": %s (state %s, risk %s, reply \"%s\")",
				where, msg, why, turn_state(t), turn_level(t), turn_reply(t));
}

/* What a node says before its first placeholder, for each of its variations: a resumed node
 * must say one of them. */
static int says_node(const struct haven_node *n, const char *reply)
{
	for (size_t i = 0; i < n->nsays; i++) {
		char head[40];
		haven_strlcpy(head, n->says[i], sizeof(head));
		head[strcspn(head, "{")] = '\0';
		if (strstr(reply, head))
			return 1;
	}
	return 0;
}

/* A denial, then a clear "no": the protocol ends at `back`, which says node n again. */
static void end_protocol(struct chat_fixture *f, const char *where, const char *back,
			 const struct haven_node *n)
{
	json_t *t = chat_say(f, DENIAL);
	if (strcmp(turn_state(t), "safety.confirm") || open_crisis_alerts(f) != 1)
		haven_test_fail(__FILE__, __LINE__, "at %s: one denial gave %s with %lld open alerts",
				where, turn_state(t), (long long)open_crisis_alerts(f));
	json_decref(t);
	t = chat_say(f, "no");
	if (strcmp(turn_state(t), back) || !strstr(turn_reply(t), "go back to where we were") ||
	    !says_node(n, turn_reply(t)))
		haven_test_fail(__FILE__, __LINE__,
				"at %s: the protocol's end went to %s, not %s (reply \"%s\")", where,
				turn_state(t), back, turn_reply(t));
	json_decref(t);
	/* The alert stays open until a clinician acknowledges it. */
	ASSERT_EQ(open_crisis_alerts(f), 1);
}

struct walk {
	struct chat_fixture f;
	struct search se;
	struct found *found;
};

static void walk_init(struct walk *w)
{
	memset(w, 0, sizeof(*w));
	load_examples();
	chat_fixture_init(&w->f, NULL);
	w->se.f = &w->f;
	w->se.c = haven_dialog_content(w->f.d);
	w->se.region = haven_crisis_lines_for(haven_dialog_lines(w->f.d), "en-US");
	w->found = calloc(total_nodes(w->se.c), sizeof(*w->found));
	ASSERT(w->found);
	search_paths(&w->se, w->found);
}

static void walk_release(struct walk *w)
{
	for (size_t i = 0; i < w->se.nmsgs; i++)
		free(w->se.msgs[i].text);
	free(w->se.msgs);
	free(w->found);
	chat_fixture_release(&w->f);
}

/* The path found to node ni of flow fi when a conversation rests there and the search
 * reached it, else NULL (the first test fails on a node not reached); where receives
 * "flow.node". */
static const struct found *resting_node(const struct walk *w, size_t fi, size_t ni,
					char where[112])
{
	const struct haven_flow *fl = &w->se.c->flows[fi];
	const struct found *fd = &w->found[node_slot(w->se.c, (int)fi, (int)ni)];
	if (fl->nodes[ni].expect == HAVEN_EXPECT_NONE || !fd->reached)
		return NULL;
	snprintf(where, 112, "%s.%s", fl->name, fl->nodes[ni].name);
	return fd;
}

/* Where the protocol's end goes from a node of flow: the node, or home's "again" (home is
 * where the person was; its question, if any, was about what to do next). */
static const struct haven_node *back_node(const struct haven_flow *fl, const struct haven_node *n,
					  char *out, size_t len)
{
	if (strcmp(fl->name, "home")) {
		snprintf(out, len, "%s.%s", fl->name, n->name);
		return n;
	}
	haven_strlcpy(out, "home.again", len);
	int again = haven_content_node_index(fl, "again");
	ASSERT(again >= 0);
	return &fl->nodes[again];
}

TEST(crisis_at_every_node_of_every_flow)
{
	struct walk w;
	walk_init(&w);
	const struct haven_content *c = w.se.c;
	size_t flows = 0, nodes = 0, k = 0, kf = 0, missing = 0;
	char unreached[2048] = "";
	for (size_t fi = 0; fi < c->nflows; fi++) {
		const struct haven_flow *fl = &c->flows[fi];
		if (!strcmp(fl->name, "safety"))
			continue; /* the protocol's own words: the next test */
		size_t before = nodes;
		for (size_t ni = 0; ni < fl->nnodes; ni++) {
			const struct haven_node *n = &fl->nodes[ni];
			if (n->expect == HAVEN_EXPECT_NONE)
				continue;
			const struct found *fd = &w.found[node_slot(c, (int)fi, (int)ni)];
			char where[112], back[112];
			snprintf(where, sizeof(where), "%s.%s", fl->name, n->name);
			if (!fd->reached && is_never_at_rest(where))
				continue;
			if (!fd->reached) {
				size_t l = strlen(unreached);
				snprintf(unreached + l, sizeof(unreached) - l, " %s", where);
				missing++;
				continue;
			}
			const struct haven_node *bn = back_node(fl, n, back, sizeof(back));
			/* The crisis, one denial, the end and the way back. */
			int team = nodes % 2 == 0;
			new_person(&w.f, team);
			replay(&w.se, fd, where);
			const char *msg = crises[k++ % NCRISES];
			json_t *t = chat_say(&w.f, msg);
			check_crisis_turn(&w.f, t, where, msg, "safety.crisis", team);
			json_decref(t);
			end_protocol(&w.f, where, back, bn);
			/* A figure of speech at the same node, for someone else. */
			new_person(&w.f, 1);
			replay(&w.se, fd, where);
			const char *fig = figures[kf++ % NFIGURES];
			int64_t alerts = all_alerts(&w.f);
			t = chat_say(&w.f, fig);
			if (!strcmp(turn_level(t), "high") || !strcmp(turn_level(t), "moderate") ||
			    !strncmp(turn_state(t), "safety.", 7) || all_alerts(&w.f) != alerts)
				haven_test_fail(__FILE__, __LINE__,
						"at %s, the figure of speech \"%s\" gave risk %s, state "
						"%s, %lld new alerts",
						where, fig, turn_level(t), turn_state(t),
						(long long)(all_alerts(&w.f) - alerts));
			json_decref(t);
			nodes++;
		}
		flows += nodes > before;
	}
	if (missing)
		haven_test_fail(__FILE__, __LINE__,
				"%zu nodes that wait for an answer were not reached:%s", missing,
				unreached);
	printf("     %zu nodes of %zu flows, %zu crisis and %zu figurative messages\n", nodes,
	       flows, k, kf);
	ASSERT(flows >= 17 && nodes >= 80);
	walk_release(&w);
}

/* The protocol's own steps, each reached from nodes of different flows: a crisis message
 * there keeps (or, from the direct question, starts) the protocol with its lines and its one
 * urgent alert, and the protocol's end still goes back to the node. */
TEST(crisis_at_every_step_of_the_protocol)
{
	static const struct {
		const char *step;            /* the protocol's node the crisis message arrives at */
		const char *before[2];       /* what brings the protocol there */
		const char *then;            /* where the crisis message leaves it */
	} steps[] = {
	    {"safety.check", {"sometimes i wish i wasn't alive", NULL}, "safety.crisis"},
	    {"safety.crisis", {"i want to kill myself", NULL}, "safety.crisis_stay"},
	    {"safety.crisis_stay", {"i want to kill myself", "I'm sitting on my bed"},
	     "safety.crisis_stay"},
	    {"safety.plan", {"i want to kill myself", "show my safety plan"}, "safety.crisis_stay"},
	    {"safety.confirm", {"i want to kill myself", DENIAL}, "safety.crisis_stay"},
	};
	struct walk w;
	walk_init(&w);
	const struct haven_content *c = w.se.c;
	/* Every resting node, in content order, to pick bases from. */
	size_t nbase = 0, k = 0, tried = 0;
	size_t *base = calloc(total_nodes(c), sizeof(*base));
	ASSERT(base);
	for (size_t i = 0; i < total_nodes(c); i++)
		if (w.found[i].reached)
			base[nbase++] = i;
	ASSERT(nbase > 10);
	for (size_t si = 0; si < sizeof(steps) / sizeof(steps[0]); si++)
		for (size_t b = 0; b < 4; b++) {
			/* Spread the bases over the flows: a different one for every step. */
			size_t slot = base[(si * 4 + b) * 37 % nbase];
			size_t fi = 0, ni = slot;
			while (ni >= c->flows[fi].nnodes)
				ni -= c->flows[fi++].nnodes;
			const struct haven_flow *fl = &c->flows[fi];
			char where[112], back[112];
			snprintf(where, sizeof(where), "%s.%s", fl->name, fl->nodes[ni].name);
			const struct haven_node *bn = back_node(fl, &fl->nodes[ni], back, sizeof(back));
			new_person(&w.f, 1);
			replay(&w.se, &w.found[slot], where);
			json_t *t = NULL;
			for (size_t j = 0; j < 2 && steps[si].before[j]; j++) {
				json_decref(t);
				t = chat_say(&w.f, steps[si].before[j]);
			}
			if (strcmp(turn_state(t), steps[si].step))
				haven_test_fail(__FILE__, __LINE__, "from %s: at %s, not %s", where,
						turn_state(t), steps[si].step);
			json_decref(t);
			char at[240];
			snprintf(at, sizeof(at), "%s (from %s)", steps[si].step, where);
			const char *msg = crises[k++ % NCRISES];
			t = chat_say(&w.f, msg);
			check_crisis_turn(&w.f, t, at, msg, steps[si].then, 1);
			json_decref(t);
			end_protocol(&w.f, at, back, bn);
			tried++;
		}
	free(base);
	ASSERT_EQ(tried, 20);
	walk_release(&w);
}

/* Before the terms are agreed: the very first message, and after declining them. The
 * protocol runs as anywhere; its end goes back to the terms (there is no home before them:
 * the next message would start onboarding anyway), not to a menu of exercises. */
TEST(crisis_before_the_terms_are_agreed)
{
	struct chat_fixture f;
	chat_fixture_init(&f, NULL);
	chat_add_clinician(&f, 0);
	const struct haven_content *c = haven_dialog_content(f.d);
	const struct haven_flow *ob = &c->flows[haven_content_flow_index(c, "onboarding")];
	const struct haven_node *what = &ob->nodes[haven_content_node_index(ob, "what")];
	for (int declined = 0; declined < 2; declined++) {
		const char *where = declined ? "onboarding.declined" : "the first message";
		if (declined) {
			new_person(&f, 1);
			chat_step(&f, "hello", "onboarding.what");
			chat_step(&f, "no", "onboarding.declined");
		}
		const char *msg = crises[declined ? 5 : 1];
		json_t *t = chat_say(&f, msg);
		check_crisis_turn(&f, t, where, msg, "safety.crisis", 1);
		json_decref(t);
		end_protocol(&f, where, "onboarding.what", what);
		/* The terms, agreed now, lead on as they always do. */
		chat_step(&f, "yes", "onboarding.agreed");
	}
	chat_fixture_release(&f);
}

/* An abuse disclosure at every node of an exercise (every flow but home, onboarding and the
 * abuse flow itself): the abuse flow runs, raises its alert, and when it ends ("not in danger
 * now", "no" to the safety plan) the person is back at the node, as after the crisis
 * protocol. */
TEST(abuse_disclosure_at_every_node_resumes_it)
{
	static const char *const disclosures[] = {
	    "my partner hits me",
	    "I was raped last week",
	    "my husband strangled me last night",
	    "he won't let me see my friends",
	};
	struct walk w;
	walk_init(&w);
	const struct haven_content *c = w.se.c;
	size_t nodes = 0;
	for (size_t fi = 0; fi < c->nflows; fi++) {
		const struct haven_flow *fl = &c->flows[fi];
		if (!strcmp(fl->name, "home") || !strcmp(fl->name, "onboarding") ||
		    !strcmp(fl->name, "abuse") || !strcmp(fl->name, "safety"))
			continue;
		for (size_t ni = 0; ni < fl->nnodes; ni++) {
			char where[112];
			const struct found *fd = resting_node(&w, fi, ni, where);
			if (!fd)
				continue;
			new_person(&w.f, nodes % 2);
			replay(&w.se, fd, where);
			const char *msg = disclosures[nodes % 4];
			json_t *t = chat_say(&w.f, msg);
			if (strcmp(turn_state(t), "abuse.answer") || all_alerts(&w.f) != 1)
				haven_test_fail(__FILE__, __LINE__,
						"at %s, \"%s\" gave %s with %lld alerts", where, msg,
						turn_state(t), (long long)all_alerts(&w.f));
			json_decref(t);
			chat_step(&w.f, "no", "abuse.support");
			t = chat_say(&w.f, "no");
			if (strcmp(turn_state(t), where) ||
			    !strstr(turn_reply(t), "Let's go back to where we were.") ||
			    !says_node(&fl->nodes[ni], turn_reply(t)))
				haven_test_fail(__FILE__, __LINE__,
						"at %s: the abuse flow's end went to %s (reply \"%s\")",
						where, turn_state(t), turn_reply(t));
			json_decref(t);
			nodes++;
		}
	}
	printf("     %zu nodes\n", nodes);
	ASSERT(nodes >= 60);
	walk_release(&w);
}

/* A moderate message (a passive wish to be dead, a burden, a past attempt) at every node
 * where a conversation can rest: the direct question (safety.check, risk moderate, no alert
 * yet), and a clear "no" to it goes back to the node. */
TEST(moderate_risk_at_every_node_asks_and_goes_back)
{
	static const char *const moderate[] = {
	    "sometimes i wish i wasn't alive",
	    "everyone would be better off without me",
	    "i tried to kill myself last year",
	};
	struct walk w;
	walk_init(&w);
	const struct haven_content *c = w.se.c;
	size_t nodes = 0;
	for (size_t fi = 0; fi < c->nflows; fi++) {
		const struct haven_flow *fl = &c->flows[fi];
		for (size_t ni = 0; ni < fl->nnodes; ni++) {
			char where[112], back[112];
			const struct found *fd = resting_node(&w, fi, ni, where);
			if (!fd)
				continue;
			const struct haven_node *bn = back_node(fl, &fl->nodes[ni], back, sizeof(back));
			new_person(&w.f, 1);
			replay(&w.se, fd, where);
			const char *msg = moderate[nodes % 3];
			json_t *t = chat_say(&w.f, msg);
			if (strcmp(turn_state(t), "safety.check") || strcmp(turn_level(t), "moderate"))
				haven_test_fail(__FILE__, __LINE__, "at %s, \"%s\" gave %s, risk %s",
						where, msg, turn_state(t), turn_level(t));
			json_decref(t);
			t = chat_say(&w.f, "no");
			if (strcmp(turn_state(t), back) || !says_node(bn, turn_reply(t)))
				haven_test_fail(__FILE__, __LINE__,
						"at %s: \"no\" to the direct question went to %s", where,
						turn_state(t));
			json_decref(t);
			nodes++;
		}
	}
	ASSERT(nodes >= 100);
	walk_release(&w);
}

/* ---- out-of-scope requests inside an exercise (asides, engine.c) ---- */

/* One out-of-scope request a node, in rotation: the words its answer must have and must not
 * have (no diagnosis, no advice on medication), and the flow that answers it (a node of that
 * flow gets the next request). */
static const struct {
	const char *text, *flow;
	const char *must[3], *never[4];
} out_of_scope[] = {
    {"do i have depression?",
     "diagnosis",
     {"I can't diagnose", "doctor", NULL},
     {"you have depression", "you are depressed", "you do have", "Would you like to do one"}},
    {"should i stop taking my sertraline",
     "medication",
     {"I can't give advice about medication", "pharmacist", NULL},
     {"you should stop", "you can stop", "stop taking it", "safe to stop"}},
    {"can i see my safety plan", "show_plan", {"Here is your safety plan", "988", NULL}, {NULL}},
    {"what's the crisis number",
     "crisis_lines",
     {"988", "911", "not an emergency service"},
     {"outside what I can help with", NULL}},
};
#define NOUT (sizeof(out_of_scope) / sizeof(out_of_scope[0]))

/* The analysis of text as the chat turn hands it to the engine (chat.c's danger route: a
 * medication question or a disclosure is the rule's, not the classifier's). */
static void routed_nlp(struct chat_fixture *f, const char *text, struct haven_turn_nlp *nlp)
{
	ASSERT_OK(haven_dialog_analyze(f->w, text, strlen(text), nlp));
	struct haven_danger_result dg;
	haven_danger_screen(text, strlen(text), &dg);
	const char *intent = dg.level == HAVEN_DANGER_MEDICATION  ? "medication"
			     : dg.level == HAVEN_DANGER_DISCLOSED ? "abuse"
								  : NULL;
	if (intent) {
		haven_strlcpy(nlp->intent, intent, sizeof(nlp->intent));
		nlp->intent_p = 1.0;
		nlp->routed = 1;
	}
}

/* The slots at the end of fd's path and after text, through the pure engine (the sealed
 * state of a real turn is not read here); 1 when they are the same. */
static int slots_kept(struct walk *w, const struct found *fd, const char *text)
{
	json_t *state = json_object(), *plan = json_object();
	ASSERT(state && plan);
	json_t *before = NULL;
	for (size_t i = 0; i <= fd->plen; i++) {
		struct haven_turn_nlp nlp;
		const char *msg = i < fd->plen ? w->se.msgs[fd->path[i]].text : text;
		if (i < fd->plen)
			nlp = w->se.msgs[fd->path[i]].nlp;
		else {
			before = json_deep_copy(json_object_get(state, "slots"));
			routed_nlp(&w->f, text, &nlp);
		}
		struct haven_step s = {.d = w->f.d,
				       .nlp = &nlp,
				       .text = msg,
				       .len = strlen(msg),
				       .region = w->se.region,
				       .seed = 1,
				       .care_team = 1,
				       .state = state,
				       .plan = plan};
		ASSERT_OK(haven_step_init(&s));
		ASSERT_OK(haven_dialog_step(&s));
		haven_step_release(&s);
	}
	json_t *after = json_object_get(state, "slots");
	int same = before ? json_equal(before, after) : !after || !json_object_size(after);
	json_decref(before);
	json_decref(state);
	json_decref(plan);
	return same;
}

/* At every node where a conversation can rest inside a flow (not home, onboarding or the
 * protocol), one out-of-scope request in rotation: a safe answer (its words, none of the
 * words of a diagnosis or of advice on medication), no protocol, no new alert, and the person
 * back at the node in the same turn, its words said again after "Let's go back to where we
 * were.", with the slots of the exercise as they were. */
TEST(out_of_scope_at_every_node_answers_and_resumes_it)
{
	struct walk w;
	walk_init(&w);
	const struct haven_content *c = w.se.c;
	size_t nodes = 0, k = 0, per[NOUT] = {0};
	for (size_t fi = 0; fi < c->nflows; fi++) {
		const struct haven_flow *fl = &c->flows[fi];
		if (!strcmp(fl->name, "home") || !strcmp(fl->name, "onboarding") ||
		    !strcmp(fl->name, "safety"))
			continue;
		for (size_t ni = 0; ni < fl->nnodes; ni++) {
			char where[112];
			const struct found *fd = resting_node(&w, fi, ni, where);
			if (!fd)
				continue;
			size_t r = k++ % NOUT;
			if (!strcmp(out_of_scope[r].flow, fl->name))
				r = k++ % NOUT; /* asked where it is answered: the next one */
			new_person(&w.f, nodes % 2);
			replay(&w.se, fd, where);
			const char *msg = out_of_scope[r].text;
			int64_t alerts = all_alerts(&w.f); /* the path's own (abuse.answer) */
			json_t *t = chat_say(&w.f, msg);
			const char *reply = turn_reply(t);
			for (size_t i = 0; i < 3 && out_of_scope[r].must[i]; i++)
				if (!strstr(reply, out_of_scope[r].must[i]))
					haven_test_fail(__FILE__, __LINE__,
							"at %s, \"%s\": the reply lacks \"%s\" (\"%s\")",
							where, msg, out_of_scope[r].must[i], reply);
			for (size_t i = 0; i < 4 && out_of_scope[r].never[i]; i++)
				if (strcasestr(reply, out_of_scope[r].never[i]))
					haven_test_fail(__FILE__, __LINE__,
							"at %s, \"%s\": the reply has \"%s\" (\"%s\")",
							where, msg, out_of_scope[r].never[i], reply);
			if (strcmp(turn_state(t), where) ||
			    !strstr(reply, "Let's go back to where we were.") ||
			    !says_node(&fl->nodes[ni], strstr(reply, "Let's go back to where we were.")))
				haven_test_fail(__FILE__, __LINE__,
						"at %s, \"%s\" went to %s (reply \"%s\")", where, msg,
						turn_state(t), reply);
			if (!strcmp(turn_level(t), "high") || all_alerts(&w.f) != alerts ||
			    turn_has_action(t, "alert", NULL))
				haven_test_fail(__FILE__, __LINE__,
						"at %s, \"%s\": risk %s, %lld alerts", where, msg,
						turn_level(t), (long long)all_alerts(&w.f));
			json_decref(t);
			if (!slots_kept(&w, fd, msg))
				haven_test_fail(__FILE__, __LINE__,
						"at %s, \"%s\" changed the exercise's slots", where,
						msg);
			per[r]++;
			nodes++;
		}
	}
	printf("     %zu nodes (%zu diagnosis, %zu medication, %zu safety plan, %zu crisis "
	       "number)\n",
	       nodes, per[0], per[1], per[2], per[3]);
	ASSERT(nodes >= 60);
	for (size_t i = 0; i < NOUT; i++)
		ASSERT(per[i] >= 10);
	walk_release(&w);
}
