/*
 * content.c: the flow-file parser and validator (format: docs/content.md). Parsing is
 * line by line; linking resolves names into indices once every file is read, so that
 * flows may point at each other in any order.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dialog/content.h"

/* Built-in placeholders the engine fills (docs/content.md, "Placeholders"). */
static const char *const builtins[] = {"feeling", "lines",     "emergency", "total",
                                       "band",    "recommend", "trap",      "trap_hint",
                                       "plan",    "menu",      "directory", "helplines",
                                       NULL};

/* Flows the engine itself relies on. */
static const char *const required_flows[] = {"home", "onboarding", "safety", "helping_others",
                                             NULL};
/* Nodes of flow "safety" the safety protocol says (src/safety). */
static const char *const safety_nodes[] = {"check",          "check_no",           "crisis",
                                           "crisis_stay",    "confirm",            "confirm_no",
                                           "plan",           "crisis_no_team",     "confirm_no_no_team",
                                           "confirm_no_danger", "confirm_no_danger_no_team",
                                           "confirm_no_both",   "confirm_no_both_no_team",
                                           NULL};

static char *xstrdup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int haven_content_create(struct haven_content **out)
{
	*out = haven_calloc(1, sizeof(**out));
	return *out ? 0 : HAVEN_ENOMEM;
}

static void node_release(struct haven_node *n)
{
	free(n->name);
	for (size_t i = 0; i < n->nsays; i++)
		free(n->says[i]);
	free(n->reprompt);
	for (size_t i = 0; i < n->noptions; i++)
		free(n->options[i]);
	free(n->slot);
	for (size_t i = 0; i < n->nactions; i++)
		free(n->actions[i].arg);
	free(n->actions);
	for (size_t i = 0; i < n->ntrans; i++) {
		free(n->trans[i].arg);
		free(n->trans[i].target_text);
	}
	free(n->trans);
	free(n->next_text);
}

void haven_content_destroy(struct haven_content **pc)
{
	struct haven_content *c = *pc;
	if (!c)
		return;
	for (size_t i = 0; i < c->nflows; i++) {
		struct haven_flow *f = &c->flows[i];
		free(f->name);
		free(f->title);
		free(f->file);
		for (size_t j = 0; j < f->nintents; j++)
			free(f->intents[j]);
		free(f->intents);
		free(f->start_text);
		for (size_t j = 0; j < f->nstarts_if; j++) {
			free(f->starts_if[j].slot);
			free(f->starts_if[j].node_text);
		}
		free(f->starts_if);
		free(f->exercise);
		for (size_t j = 0; j < f->nnodes; j++)
			node_release(&f->nodes[j]);
		free(f->nodes);
	}
	free(c->flows);
	for (size_t i = 0; i < c->nintents; i++)
		free(c->intents[i]);
	free(c->intents);
	free(c);
	*pc = NULL;
}

int haven_content_flow_index(const struct haven_content *c, const char *name)
{
	for (size_t i = 0; i < c->nflows; i++)
		if (!strcmp(c->flows[i].name, name))
			return (int)i;
	return -1;
}

int haven_content_node_index(const struct haven_flow *f, const char *name)
{
	for (size_t i = 0; i < f->nnodes; i++)
		if (!strcmp(f->nodes[i].name, name))
			return (int)i;
	return -1;
}

/* ---- Parsing ---- */

struct parser {
	struct haven_content *c;
	const char *name;
	unsigned line;
	char *err;
	size_t errlen;
	struct haven_flow *flow;
	struct haven_node *node;
};

static int fail(struct parser *p, const char *fmt, ...) HAVEN_PRINTF(2, 3);
static int fail(struct parser *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%u: %s", p->name, p->line, msg);
	return HAVEN_EINVAL;
}

static int valid_name(const char *s)
{
	if (!*s || strlen(s) > 48)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static int parse_int(const char *s, int *out)
{
	int64_t v;
	if (haven_parse_int64(s, &v) || v < -1000000 || v > 1000000)
		return HAVEN_EINVAL;
	*out = (int)v;
	return 0;
}

/* Splits s (modified) into at most max words separated by spaces. */
static size_t split_words(char *s, char **w, size_t max)
{
	size_t n = 0;
	while (*s) {
		while (*s == ' ')
			*s++ = '\0';
		if (!*s)
			break;
		if (n == max)
			return max + 1;
		w[n++] = s;
		while (*s && *s != ' ')
			s++;
	}
	return n;
}

static int add_intent(struct haven_content *c, const char *name)
{
	for (size_t i = 0; i < c->nintents; i++)
		if (!strcmp(c->intents[i], name))
			return 0;
	char **v = realloc(c->intents, (c->nintents + 1) * sizeof(*v));
	if (!v)
		return HAVEN_ENOMEM;
	c->intents = v;
	if (!(v[c->nintents] = xstrdup(name, strlen(name))))
		return HAVEN_ENOMEM;
	c->nintents++;
	return 0;
}

static int directive_flow(struct parser *p, char *arg)
{
	if (!valid_name(arg))
		return fail(p, "flow name '%s' must be 1-48 characters of a-z, 0-9 and _", arg);
	if (haven_content_flow_index(p->c, arg) >= 0)
		return fail(p, "flow '%s' is defined twice", arg);
	struct haven_flow *v = realloc(p->c->flows, (p->c->nflows + 1) * sizeof(*v));
	if (!v)
		return HAVEN_ENOMEM;
	p->c->flows = v;
	struct haven_flow *f = &v[p->c->nflows++];
	memset(f, 0, sizeof(*f));
	f->start = -1;
	f->line = p->line;
	if (!(f->name = xstrdup(arg, strlen(arg))) ||
	    !(f->file = xstrdup(p->name, strlen(p->name))))
		return HAVEN_ENOMEM;
	p->flow = f;
	p->node = NULL;
	return 0;
}

static int directive_node(struct parser *p, char *arg)
{
	struct haven_flow *f = p->flow;
	if (!valid_name(arg))
		return fail(p, "node name '%s' must be 1-48 characters of a-z, 0-9 and _", arg);
	if (haven_content_node_index(f, arg) >= 0)
		return fail(p, "node '%s' is defined twice in flow %s", arg, f->name);
	struct haven_node *v = realloc(f->nodes, (f->nnodes + 1) * sizeof(*v));
	if (!v)
		return HAVEN_ENOMEM;
	f->nodes = v;
	struct haven_node *n = &v[f->nnodes++];
	memset(n, 0, sizeof(*n));
	n->line = p->line;
	n->next.flow = -2;
	if (!(n->name = xstrdup(arg, strlen(arg))))
		return HAVEN_ENOMEM;
	p->node = n;
	return 0;
}

static int directive_expect(struct parser *p, char *arg)
{
	struct haven_node *n = p->node;
	char *w[HAVEN_CONTENT_MAX_OPTIONS + 2];
	size_t nw = split_words(arg, w, HAVEN_CONTENT_MAX_OPTIONS + 1);
	if (nw == 0)
		return fail(
		    p, "'expect' needs a kind: none, text, yesno, scale LO HI, choice A B ...");
	if (nw > HAVEN_CONTENT_MAX_OPTIONS + 1)
		return fail(p, "'expect choice' takes at most %d options",
		            HAVEN_CONTENT_MAX_OPTIONS);
	if (!strcmp(w[0], "none") && nw == 1)
		n->expect = HAVEN_EXPECT_NONE;
	else if (!strcmp(w[0], "text") && nw == 1)
		n->expect = HAVEN_EXPECT_TEXT;
	else if (!strcmp(w[0], "yesno") && nw == 1)
		n->expect = HAVEN_EXPECT_YESNO;
	else if (!strcmp(w[0], "scale")) {
		if (nw != 3 || parse_int(w[1], &n->lo) || parse_int(w[2], &n->hi) || n->lo >= n->hi)
			return fail(p, "'expect scale' needs two whole numbers LO < HI");
		n->expect = HAVEN_EXPECT_SCALE;
	} else if (!strcmp(w[0], "choice")) {
		if (nw < 3)
			return fail(p, "'expect choice' needs at least two options");
		n->expect = HAVEN_EXPECT_CHOICE;
		for (size_t i = 1; i < nw; i++) {
			if (!valid_name(w[i]))
				return fail(p, "choice option '%s' must be a-z, 0-9 and _", w[i]);
			if (!(n->options[n->noptions++] = xstrdup(w[i], strlen(w[i]))))
				return HAVEN_ENOMEM;
		}
	} else
		return fail(p,
		            "unknown 'expect' kind '%s' (none, text, yesno, scale LO HI, choice "
		            "A B ...)",
		            w[0]);
	return 0;
}

static int directive_on(struct parser *p, char *arg)
{
	struct haven_node *n = p->node;
	char *arrow = strstr(arg, "->");
	if (!arrow)
		return fail(p, "'on' needs 'CONDITION -> TARGET'");
	*arrow = '\0';
	char *cond = arg, *target = arrow + 2;
	while (*target == ' ')
		target++;
	size_t cl = strlen(cond);
	while (cl && cond[cl - 1] == ' ')
		cond[--cl] = '\0';
	while (*cond == ' ')
		cond++;
	if (!*cond || !*target || strchr(target, ' '))
		return fail(p,
		            "'on' needs 'CONDITION -> TARGET' with one-word condition and target");
	struct haven_transition t = {.line = p->line};
	if (!strcmp(cond, "yes"))
		t.cond = HAVEN_COND_YES;
	else if (!strcmp(cond, "no"))
		t.cond = HAVEN_COND_NO;
	else if (!strcmp(cond, "any"))
		t.cond = HAVEN_COND_ANY;
	else if (!strcmp(cond, "distortion"))
		t.cond = HAVEN_COND_DISTORTION;
	else if (!strncmp(cond, "intent:", 7)) {
		if (!valid_name(cond + 7))
			return fail(p, "intent name '%s' must be a-z, 0-9 and _", cond + 7);
		t.cond = HAVEN_COND_INTENT;
		if (!(t.arg = xstrdup(cond + 7, strlen(cond + 7))))
			return HAVEN_ENOMEM;
		if (add_intent(p->c, t.arg)) {
			free(t.arg);
			return HAVEN_ENOMEM;
		}
	} else if ((cond[0] >= '0' && cond[0] <= '9')) {
		char *dash = strchr(cond, '-');
		if (dash)
			*dash = '\0';
		if (parse_int(cond, &t.lo) ||
		    (dash ? parse_int(dash + 1, &t.hi) : (t.hi = t.lo, 0)) || t.lo > t.hi)
			return fail(p, "number range '%s' must be N or N-M with N <= M", cond);
		t.cond = HAVEN_COND_RANGE;
	} else if (valid_name(cond)) {
		t.cond = HAVEN_COND_OPTION;
		if (!(t.arg = xstrdup(cond, strlen(cond))))
			return HAVEN_ENOMEM;
	} else
		return fail(p, "unknown condition '%s'", cond);
	if (!(t.target_text = xstrdup(target, strlen(target)))) {
		free(t.arg);
		return HAVEN_ENOMEM;
	}
	struct haven_transition *v = realloc(n->trans, (n->ntrans + 1) * sizeof(*v));
	if (!v) {
		free(t.arg);
		free(t.target_text);
		return HAVEN_ENOMEM;
	}
	n->trans = v;
	v[n->ntrans++] = t;
	return 0;
}

static int directive_do(struct parser *p, char *arg)
{
	struct haven_node *n = p->node;
	char *w[3];
	size_t nw = split_words(arg, w, 2);
	struct haven_action a = {0};
	if (nw == 0 || nw > 2)
		return fail(p, "'do' needs an action and at most one argument");
	if (!strcmp(w[0], "score") && nw == 2 && (!strcmp(w[1], "phq9") || !strcmp(w[1], "gad7")))
		a.kind = HAVEN_ACTION_SCORE;
	else if (!strcmp(w[0], "item9") && nw == 1)
		a.kind = HAVEN_ACTION_ITEM9;
	else if (!strcmp(w[0], "plan_add") && nw == 2)
		a.kind = HAVEN_ACTION_PLAN_ADD;
	else if (!strcmp(w[0], "rate_before") && nw == 1)
		a.kind = HAVEN_ACTION_RATE_BEFORE;
	else if (!strcmp(w[0], "rate_after") && nw == 1)
		a.kind = HAVEN_ACTION_RATE_AFTER;
	else if (!strcmp(w[0], "distortion") && nw == 1)
		a.kind = HAVEN_ACTION_DISTORTION;
	else if (!strcmp(w[0], "consent") && nw == 1)
		a.kind = HAVEN_ACTION_CONSENT;
	else if (!strcmp(w[0], "remember") && nw == 2 && valid_name(w[1]))
		a.kind = HAVEN_ACTION_REMEMBER;
	else if (!strcmp(w[0], "forget") && nw == 1)
		a.kind = HAVEN_ACTION_FORGET;
	else
		return fail(p,
		            "unknown action '%s' (score phq9|gad7, item9, plan_add SECTION, "
		            "rate_before, rate_after, distortion, consent, remember SLOT, forget)",
		            w[0]);
	if (a.kind == HAVEN_ACTION_PLAN_ADD) {
		static const char *const sections[] = {
		    "warning_signs", "coping", "distractions", "people", "professionals",
		    "environment",   NULL};
		int ok = 0;
		for (size_t i = 0; sections[i]; i++)
			ok |= !strcmp(sections[i], w[1]);
		if (!ok)
			return fail(p,
			            "unknown safety plan section '%s' (warning_signs, coping, "
			            "distractions, people, professionals, environment)",
			            w[1]);
	}
	if (nw == 2 && !(a.arg = xstrdup(w[1], strlen(w[1]))))
		return HAVEN_ENOMEM;
	struct haven_action *v = realloc(n->actions, (n->nactions + 1) * sizeof(*v));
	if (!v) {
		free(a.arg);
		return HAVEN_ENOMEM;
	}
	n->actions = v;
	v[n->nactions++] = a;
	return 0;
}

static int parse_line(struct parser *p, char *s)
{
	char *sp = strchr(s, ' ');
	char *arg = "";
	if (sp) {
		*sp = '\0';
		arg = sp + 1;
		while (*arg == ' ')
			arg++;
	}
	const char *d = s;
	if (!strcmp(d, "flow"))
		return directive_flow(p, arg);
	if (!p->flow)
		return fail(p, "'%s' before any 'flow' line", d);
	struct haven_flow *f = p->flow;
	if (!strcmp(d, "node"))
		return directive_node(p, arg);
	if (!p->node) {
		/* Flow-level directives. */
		if (!strcmp(d, "title")) {
			if (!*arg || f->title)
				return fail(p, "'title' needs text and appears once per flow");
			return (f->title = xstrdup(arg, strlen(arg))) ? 0 : HAVEN_ENOMEM;
		}
		if (!strcmp(d, "start")) {
			char *w[4];
			size_t nw = split_words(arg, w, 3);
			if (nw == 3 && !strcmp(w[1], "if")) {
				/* start NODE if SLOT: a follow-up start (docs/content.md) */
				if (!valid_name(w[0]) || !valid_name(w[2]))
					return fail(p, "'start NODE if SLOT' needs a node and a slot "
					               "name (a-z, 0-9, _)");
				struct haven_start_if *v =
				    realloc(f->starts_if, (f->nstarts_if + 1) * sizeof(*v));
				if (!v)
					return HAVEN_ENOMEM;
				f->starts_if = v;
				struct haven_start_if *si = &v[f->nstarts_if++];
				memset(si, 0, sizeof(*si));
				si->line = p->line;
				si->node = -1;
				if (!(si->slot = xstrdup(w[2], strlen(w[2]))) ||
				    !(si->node_text = xstrdup(w[0], strlen(w[0]))))
					return HAVEN_ENOMEM;
				return 0;
			}
			if (nw != 1 || !valid_name(w[0]) || f->start_text)
				return fail(p, "'start' needs one node name (or 'NODE if SLOT') and "
				               "the plain form appears once per flow");
			return (f->start_text = xstrdup(w[0], strlen(w[0]))) ? 0 : HAVEN_ENOMEM;
		}
		if (!strcmp(d, "intent")) {
			if (!valid_name(arg))
				return fail(p, "intent name '%s' must be a-z, 0-9 and _", arg);
			char **v = realloc(f->intents, (f->nintents + 1) * sizeof(*v));
			if (!v)
				return HAVEN_ENOMEM;
			f->intents = v;
			if (!(v[f->nintents] = xstrdup(arg, strlen(arg))))
				return HAVEN_ENOMEM;
			f->nintents++;
			return add_intent(p->c, arg);
		}
		if (!strcmp(d, "menu")) {
			if (*arg)
				return fail(p, "'menu' takes no argument");
			f->menu = 1;
			return 0;
		}
		if (!strcmp(d, "exercise")) {
			char *w[5];
			size_t nw = split_words(arg, w, 4);
			double a = 0, b = 0;
			if ((nw != 3 && nw != 4) || !valid_name(w[0]) ||
			    haven_parse_double(w[1], &a) || haven_parse_double(w[2], &b) ||
			    !(a > 0) || !(b > 0) || a > 1000 || b > 1000)
				return fail(p, "'exercise' needs NAME HELPED NOT [lower|higher] with "
				               "two positive prior counts");
			if (nw == 4 && strcmp(w[3], "lower") && strcmp(w[3], "higher"))
				return fail(p, "'exercise' direction '%s' must be 'lower' (a lower "
				               "rating is better: distress) or 'higher' (mood)",
				            w[3]);
			if (f->exercise)
				return fail(p, "'exercise' appears once per flow");
			f->higher_better = nw == 4 && !strcmp(w[3], "higher");
			f->prior_helped = a;
			f->prior_not = b;
			return (f->exercise = xstrdup(w[0], strlen(w[0]))) ? 0 : HAVEN_ENOMEM;
		}
		return fail(p,
		            "unknown flow directive '%s' (title, start, intent, menu, exercise, "
		            "node)",
		            d);
	}
	struct haven_node *n = p->node;
	if (!strcmp(d, "say")) {
		if (!*arg)
			return fail(p, "'say' needs text");
		if (n->nsays == HAVEN_CONTENT_MAX_SAYS)
			return fail(p, "a node has at most %d 'say' variations",
			            HAVEN_CONTENT_MAX_SAYS);
		return (n->says[n->nsays++] = xstrdup(arg, strlen(arg))) ? 0 : HAVEN_ENOMEM;
	}
	if (!strcmp(d, "reprompt")) {
		if (!*arg || n->reprompt)
			return fail(p, "'reprompt' needs text and appears once per node");
		return (n->reprompt = xstrdup(arg, strlen(arg))) ? 0 : HAVEN_ENOMEM;
	}
	if (!strcmp(d, "expect"))
		return directive_expect(p, arg);
	if (!strcmp(d, "set")) {
		if (!valid_name(arg) || n->slot)
			return fail(p, "'set' needs one slot name (a-z, 0-9, _) once per node");
		return (n->slot = xstrdup(arg, strlen(arg))) ? 0 : HAVEN_ENOMEM;
	}
	if (!strcmp(d, "on"))
		return directive_on(p, arg);
	if (!strcmp(d, "next")) {
		if (!*arg || strchr(arg, ' ') || n->next_text)
			return fail(p, "'next' needs one target and appears once per node");
		return (n->next_text = xstrdup(arg, strlen(arg))) ? 0 : HAVEN_ENOMEM;
	}
	if (!strcmp(d, "do"))
		return directive_do(p, arg);
	return fail(p, "unknown node directive '%s' (say, reprompt, expect, set, on, next, do)", d);
}

int haven_content_parse(struct haven_content *c, const char *text, size_t len, const char *name,
                        char *err, size_t errlen)
{
	struct parser p = {.c = c, .name = name, .err = err, .errlen = errlen};
	size_t bad;
	if (!haven_utf8_valid(text, len, &bad)) {
		unsigned line = 1;
		for (size_t i = 0; i < bad; i++)
			line += text[i] == '\n';
		p.line = line;
		return fail(&p, "invalid UTF-8 at byte %zu", bad);
	}
	size_t pos = 0;
	char buf[2048];
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		p.line++;
		if (ll >= sizeof(buf))
			return fail(&p, "line longer than %zu bytes", sizeof(buf) - 1);
		memcpy(buf, text + pos, ll);
		buf[ll] = '\0';
		pos += ll + (nl ? 1 : 0);
		if (memchr(buf, '\0', ll))
			return fail(&p, "NUL byte in line");
		/* Trim, skip blanks and comments. */
		while (ll && (buf[ll - 1] == ' ' || buf[ll - 1] == '\t' || buf[ll - 1] == '\r'))
			buf[--ll] = '\0';
		char *s = buf;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		for (char *q = s; *q; q++)
			if (*q == '\t')
				return fail(&p, "tab character; use spaces");
		int rc = parse_line(&p, s);
		if (rc)
			return rc == HAVEN_ENOMEM ? fail(&p, "out of memory"), HAVEN_ENOMEM : rc;
	}
	return 0;
}

/* ---- Linking ---- */

static int link_fail(char *err, size_t errlen, const char *file, unsigned line, const char *fmt,
                     ...) HAVEN_PRINTF(5, 6);
static int link_fail(char *err, size_t errlen, const char *file, unsigned line, const char *fmt,
                     ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%u: %s", file, line, msg);
	return HAVEN_EINVAL;
}

/* "node", "flow:NAME" or "end". */
static int resolve(const struct haven_content *c, int self, const char *text,
                   struct haven_target *t)
{
	if (!strcmp(text, "end") || !strcmp(text, "crisis")) {
		t->flow = text[0] == 'e' ? HAVEN_TARGET_END : HAVEN_TARGET_CRISIS;
		t->node = -1;
		return 0;
	}
	if (!strcmp(text, "recommended")) {
		t->flow = HAVEN_TARGET_RECOMMENDED;
		t->node = -1;
		return 0;
	}
	if (!strncmp(text, "flow:", 5)) {
		char name[64];
		haven_strlcpy(name, text + 5, sizeof(name));
		char *dot = strchr(name, '.');
		if (dot)
			*dot = '\0';
		int fi = haven_content_flow_index(c, name);
		if (fi < 0)
			return -1;
		t->flow = fi;
		t->node =
		    dot ? haven_content_node_index(&c->flows[fi], dot + 1) : c->flows[fi].start;
		t->at_start = !dot;
		return t->node < 0 ? -1 : 0;
	}
	int ni = haven_content_node_index(&c->flows[self], text);
	if (ni < 0)
		return -1;
	t->flow = self;
	t->node = ni;
	return 0;
}

static int flow_sets_slot(const struct haven_flow *f, const char *name, size_t n)
{
	for (size_t i = 0; i < f->nnodes; i++)
		if (f->nodes[i].slot && strlen(f->nodes[i].slot) == n &&
		    !strncmp(f->nodes[i].slot, name, n))
			return 1;
	return 0;
}

static int check_placeholders(const struct haven_flow *f, const char *s, unsigned line, char *err,
                              size_t errlen)
{
	for (const char *p = s; (p = strchr(p, '{'));) {
		const char *e = strchr(p, '}');
		if (!e)
			return link_fail(err, errlen, f->file, line, "'{' without a closing '}'");
		size_t n = (size_t)(e - p - 1);
		int ok = flow_sets_slot(f, p + 1, n);
		for (size_t i = 0; builtins[i] && !ok; i++)
			ok = strlen(builtins[i]) == n && !strncmp(builtins[i], p + 1, n);
		if (!ok)
			return link_fail(err, errlen, f->file, line,
			                 "placeholder {%.*s} is neither a slot set in flow %s nor "
			                 "a built-in value",
			                 (int)n, p + 1, f->name);
		p = e + 1;
	}
	return 0;
}

static int link_node(struct haven_content *c, size_t fi, struct haven_node *n, char *err,
                     size_t errlen)
{
	struct haven_flow *f = &c->flows[fi];
	if (!n->nsays)
		return link_fail(err, errlen, f->file, n->line, "node %s has no 'say' line",
		                 n->name);
	for (size_t i = 0; i < n->nsays; i++)
		if (check_placeholders(f, n->says[i], n->line, err, errlen))
			return HAVEN_EINVAL;
	if (n->reprompt && check_placeholders(f, n->reprompt, n->line, err, errlen))
		return HAVEN_EINVAL;
	if (n->expect == HAVEN_EXPECT_NONE) {
		if (n->ntrans || n->slot || n->nactions)
			return link_fail(err, errlen, f->file, n->line,
			                 "node %s expects nothing, so it takes no 'on', 'set' or "
			                 "'do' (use 'next')",
			                 n->name);
		if (!n->next_text)
			return link_fail(err, errlen, f->file, n->line,
			                 "node %s expects nothing and needs a 'next' target",
			                 n->name);
		if (resolve(c, (int)fi, n->next_text, &n->next))
			return link_fail(err, errlen, f->file, n->line,
			                 "'next' target '%s' is not a node of flow %s, flow:NAME, "
			                 "end, recommended or crisis",
			                 n->next_text, f->name);
		return 0;
	}
	if (n->next_text)
		return link_fail(err, errlen, f->file, n->line,
		                 "node %s expects an answer; use 'on' lines, not 'next'", n->name);
	if (!n->ntrans)
		return link_fail(err, errlen, f->file, n->line,
		                 "node %s expects an answer but has no 'on' line", n->name);
	for (size_t i = 0; i < n->ntrans; i++) {
		struct haven_transition *t = &n->trans[i];
		if (resolve(c, (int)fi, t->target_text, &t->target))
			return link_fail(err, errlen, f->file, t->line,
			                 "'on' target '%s' is not a node of flow %s, flow:NAME, "
			                 "end, recommended or crisis",
			                 t->target_text, f->name);
		int ok = 1;
		switch (t->cond) {
		case HAVEN_COND_YES:
		case HAVEN_COND_NO:
			ok = n->expect == HAVEN_EXPECT_YESNO;
			break;
		case HAVEN_COND_RANGE:
			ok = n->expect == HAVEN_EXPECT_SCALE && t->lo >= n->lo && t->hi <= n->hi;
			break;
		case HAVEN_COND_OPTION:
			ok = 0;
			for (size_t k = 0; k < n->noptions; k++)
				ok |= !strcmp(n->options[k], t->arg);
			break;
		case HAVEN_COND_DISTORTION:
			ok = n->expect == HAVEN_EXPECT_TEXT;
			break;
		default:
			break;
		}
		if (!ok)
			return link_fail(err, errlen, f->file, t->line,
			                 "condition '%s' does not fit what node %s expects",
			                 t->cond == HAVEN_COND_RANGE ? "number range"
			                 : t->arg                    ? t->arg
			                                             : "yes/no/distortion",
			                 n->name);
	}
	for (size_t i = 0; i < n->nactions; i++) {
		enum haven_action_kind k = n->actions[i].kind;
		if ((k == HAVEN_ACTION_RATE_BEFORE || k == HAVEN_ACTION_RATE_AFTER) &&
		    (!f->exercise || n->expect != HAVEN_EXPECT_SCALE))
			return link_fail(err, errlen, f->file, n->line,
			                 "rate_before/rate_after need an 'exercise' flow and a "
			                 "scale node");
		if (k == HAVEN_ACTION_ITEM9 && n->expect != HAVEN_EXPECT_SCALE)
			return link_fail(err, errlen, f->file, n->line, "item9 needs a scale node");
		if (k == HAVEN_ACTION_CONSENT && n->expect != HAVEN_EXPECT_YESNO)
			return link_fail(err, errlen, f->file, n->line, "consent needs a yesno node");
		if (k == HAVEN_ACTION_DISTORTION && n->expect != HAVEN_EXPECT_TEXT)
			return link_fail(err, errlen, f->file, n->line,
			                 "distortion needs a text node");
		if (k == HAVEN_ACTION_REMEMBER &&
		    !flow_sets_slot(f, n->actions[i].arg, strlen(n->actions[i].arg)))
			return link_fail(err, errlen, f->file, n->line,
			                 "remember: slot '%s' is not set in flow %s",
			                 n->actions[i].arg, f->name);
	}
	return 0;
}

int haven_content_link(struct haven_content *c, char *err, size_t errlen)
{
	/* Starts first, so flow:NAME targets can use them. */
	for (size_t i = 0; i < c->nflows; i++) {
		struct haven_flow *f = &c->flows[i];
		if (!f->start_text)
			return link_fail(err, errlen, f->file, f->line,
			                 "flow %s has no 'start' line", f->name);
		if ((f->start = haven_content_node_index(f, f->start_text)) < 0)
			return link_fail(err, errlen, f->file, f->line,
			                 "start node '%s' is not a node of flow %s", f->start_text,
			                 f->name);
		if (!f->title)
			return link_fail(err, errlen, f->file, f->line,
			                 "flow %s has no 'title' line", f->name);
		for (size_t j = 0; j < f->nstarts_if; j++) {
			struct haven_start_if *si = &f->starts_if[j];
			if ((si->node = haven_content_node_index(f, si->node_text)) < 0)
				return link_fail(err, errlen, f->file, si->line,
				                 "start node '%s' is not a node of flow %s",
				                 si->node_text, f->name);
			if (!flow_sets_slot(f, si->slot, strlen(si->slot)))
				return link_fail(err, errlen, f->file, si->line,
				                 "'start %s if %s': slot '%s' is not set in flow %s",
				                 si->node_text, si->slot, si->slot, f->name);
		}
	}
	for (size_t i = 0; i < c->nflows; i++)
		for (size_t j = 0; j < c->flows[i].nnodes; j++)
			if (link_node(c, i, &c->flows[i].nodes[j], err, errlen))
				return HAVEN_EINVAL;
	for (size_t i = 0; required_flows[i]; i++)
		if (haven_content_flow_index(c, required_flows[i]) < 0) {
			snprintf(err, errlen, "content: the required flow '%s' is missing",
			         required_flows[i]);
			return HAVEN_EINVAL;
		}
	const struct haven_flow *hf = &c->flows[haven_content_flow_index(c, "home")];
	if (haven_content_node_index(hf, "menu") < 0 || haven_content_node_index(hf, "again") < 0)
		return link_fail(err, errlen, hf->file, hf->line,
		                 "flow home needs the nodes 'menu' and 'again'");
	const struct haven_flow *sf = &c->flows[haven_content_flow_index(c, "safety")];
	for (size_t i = 0; safety_nodes[i]; i++)
		if (haven_content_node_index(sf, safety_nodes[i]) < 0)
			return link_fail(
			    err, errlen, sf->file, sf->line,
			    "flow safety needs a node '%s' (the safety protocol says it)",
			    safety_nodes[i]);
	/* Sort intents for a stable order. */
	for (size_t i = 1; i < c->nintents; i++)
		for (size_t j = i; j > 0 && strcmp(c->intents[j - 1], c->intents[j]) > 0; j--) {
			char *t = c->intents[j];
			c->intents[j] = c->intents[j - 1];
			c->intents[j - 1] = t;
		}
	return 0;
}

/* ---- Files ---- */

static int dir_exists(const char *p)
{
	DIR *d = opendir(p);
	if (d)
		closedir(d);
	return d != NULL;
}

int haven_content_root(char *out, size_t outlen)
{
	const char *env = getenv("HAVEN_CONTENT_DIR");
	if (env && *env) {
		haven_strlcpy(out, env, outlen);
		return dir_exists(out) ? 0 : HAVEN_ENOTFOUND;
	}
	if (dir_exists("content/flows")) {
		haven_strlcpy(out, "content", outlen);
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(out, outlen, "%s/../content", exe);
			char probe[PATH_MAX + 16];
			snprintf(probe, sizeof(probe), "%s/flows", out);
			if (dir_exists(probe))
				return 0;
		}
	}
	return HAVEN_ENOTFOUND;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(const char *path, char **out, size_t *len)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return haven_err_from_errno(errno);
	struct haven_buf b;
	haven_buf_init(&b, 1u << 20);
	int rc = haven_buf_append_file(&b, f);
	fclose(f);
	if (rc) {
		haven_buf_release(&b);
		return rc;
	}
	if (haven_buf_append(&b, "", 1)) {
		haven_buf_release(&b);
		return HAVEN_ENOMEM;
	}
	*out = haven_buf_detach(&b, len);
	(*len)--;
	return 0;
}

int haven_content_load(const char *dir, struct haven_content **out, char *err, size_t errlen)
{
	*out = NULL;
	char root[PATH_MAX], flows[PATH_MAX + 8];
	if (!dir) {
		if (haven_content_root(root, sizeof(root))) {
			snprintf(err, errlen,
			         "content: no content/flows directory under the working directory "
			         "or beside the executable (set HAVEN_CONTENT_DIR)");
			return HAVEN_ENOTFOUND;
		}
		snprintf(flows, sizeof(flows), "%s/flows", root);
		dir = flows;
	}
	struct haven_content *c = NULL;
	char **names = NULL;
	size_t nnames = 0;
	int rc = haven_content_create(&c);
	if (rc)
		goto out;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: cannot open the content directory: %s", dir,
		         strerror(errno));
		rc = HAVEN_ENOTFOUND;
		goto out;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".flow"))
			continue;
		char **v = realloc(names, (nnames + 1) * sizeof(*v));
		if (!v || !(v[nnames] = xstrdup(e->d_name, l))) {
			if (v)
				names = v;
			rc = HAVEN_ENOMEM;
			break;
		}
		names = v;
		nnames++;
	}
	closedir(d);
	if (rc)
		goto out;
	if (!nnames) {
		snprintf(err, errlen, "%s: no .flow files", dir);
		rc = HAVEN_ENOTFOUND;
		goto out;
	}
	qsort(names, nnames, sizeof(*names), cmp_str);
	for (size_t i = 0; i < nnames && !rc; i++) {
		char path[PATH_MAX * 2];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *text;
		size_t len;
		if ((rc = read_file(path, &text, &len))) {
			snprintf(err, errlen, "%s: cannot read: %s", path, haven_strerror(rc));
			break;
		}
		rc = haven_content_parse(c, text, len, path, err, errlen);
		free(text);
	}
	if (!rc)
		rc = haven_content_link(c, err, errlen);
	if (!rc) {
		snprintf(c->version, sizeof(c->version), "content-%zu-flows", c->nflows);
		*out = c;
		c = NULL;
	}
out:
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	haven_content_destroy(&c);
	return rc;
}
