/*
 * exercise_texts.c: the loader of content/exercises.txt, the words the exercises page
 * (GET /api/v1/exercises, src/api/exercises.c) shows for each flow the agent offers. One
 * directive per line, as in the flow files; the file is checked against the flows when the
 * agent loads (src/dialog/dialog.c), so a wrong file stops `haven serve` and `haven chat`
 * with the file, the line and what is wrong instead of serving a page with gaps.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog/exercise_texts.h"

enum field { FIELD_KIND, FIELD_DESCRIPTION, FIELD_START, FIELD_RATING, FIELD_COUNT };

static const char *const field_names[FIELD_COUNT] = {"kind", "description", "start", "rating"};

static const char *const kinds[] = {"exercise", "check_in", "questionnaire", "safety_plan"};

static int fail(char *err, size_t errlen, const char *name, unsigned line, const char *fmt, ...)
    HAVEN_PRINTF(5, 6);
static int fail(char *err, size_t errlen, const char *name, unsigned line, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err, errlen, "%s:%u: %s", name, line, msg);
	else
		snprintf(err, errlen, "%s: %s", name, msg);
	return HAVEN_EINVAL;
}

void haven_exercise_texts_destroy(struct haven_exercise_texts **pt)
{
	struct haven_exercise_texts *t = *pt;
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		struct haven_exercise_text *e = &t->items[i];
		free(e->flow);
		free(e->kind);
		free(e->description);
		free(e->start);
		free(e->rating);
	}
	free(t->items);
	free(t);
	*pt = NULL;
}

const struct haven_exercise_text *haven_exercise_text_of(const struct haven_exercise_texts *t,
                                                         const char *flow)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (!strcmp(t->items[i].flow, flow))
			return &t->items[i];
	return NULL;
}

static char **field_slot(struct haven_exercise_text *e, enum field f)
{
	switch (f) {
	case FIELD_KIND:
		return &e->kind;
	case FIELD_DESCRIPTION:
		return &e->description;
	case FIELD_START:
		return &e->start;
	default:
		return &e->rating;
	}
}

/* The checks that need the whole entry, reported at its 'flow' line. */
static int check_entry(const struct haven_exercise_text *e, const struct haven_flow *f,
                       const char *name, char *err, size_t errlen)
{
	for (int i = 0; i < FIELD_RATING; i++)
		if (!*field_slot((struct haven_exercise_text *)e, (enum field)i))
			return fail(err, errlen, name, e->line, "flow %s has no '%s' line", e->flow,
			            field_names[i]);
	if (f->exercise && !e->rating)
		return fail(err, errlen, name, e->line,
		            "flow %s is rated before and after (an 'exercise' line in %s), so it "
		            "needs a 'rating' line saying what the numbers measure",
		            e->flow, f->file);
	if (f->exercise && strcmp(e->kind, "exercise"))
		return fail(err, errlen, name, e->line,
		            "flow %s is a rated exercise, so its kind must be 'exercise', not '%s'",
		            e->flow, e->kind);
	return 0;
}

/* Where an entry's flow is among the content's, or -1. */
static int flow_of(const struct haven_content *c, const char *flow)
{
	return haven_content_flow_index(c, flow);
}

int haven_exercise_texts_parse(const char *text, size_t len, const char *name,
                               const struct haven_content *c, struct haven_exercise_texts **out,
                               char *err, size_t errlen)
{
	*out = NULL;
	struct haven_exercise_texts *t = haven_calloc(1, sizeof(*t));
	if (!t)
		return HAVEN_ENOMEM;
	int rc = 0;
	unsigned line = 0, seen[FIELD_COUNT] = {0};
	size_t pos = 0, bad;
	if (!haven_utf8_valid(text, len, &bad)) {
		unsigned at = 1;
		for (size_t i = 0; i < bad; i++)
			at += text[i] == '\n';
		rc = fail(err, errlen, name, at, "invalid UTF-8 at byte %zu", bad);
		goto out;
	}
	while (pos < len && !rc) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char buf[HAVEN_EXERCISE_TEXT_MAX_LINE + 1];
		line++;
		if (ll >= sizeof(buf)) {
			rc = fail(err, errlen, name, line, "line too long (at most %d bytes)",
			          HAVEN_EXERCISE_TEXT_MAX_LINE);
			break;
		}
		memcpy(buf, text + pos, ll);
		buf[ll] = '\0';
		pos += ll + (nl != NULL);
		while (ll && (buf[ll - 1] == ' ' || buf[ll - 1] == '\r'))
			buf[--ll] = '\0';
		for (size_t i = 0; i < ll && !rc; i++)
			if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
				rc = fail(err, errlen, name, line,
				          "a tab or control character at column %zu (use spaces)", i + 1);
		if (rc)
			break;
		if (!buf[0] || buf[0] == '#')
			continue;
		if (buf[0] == ' ') {
			rc = fail(err, errlen, name, line, "a line must not start with a space");
			break;
		}
		char *arg = strchr(buf, ' ');
		if (arg) {
			*arg++ = '\0';
			while (*arg == ' ')
				arg++;
		}
		struct haven_exercise_text *e = t->n ? &t->items[t->n - 1] : NULL;
		if (!strcmp(buf, "flow")) {
			if (!arg || !*arg) {
				rc = fail(err, errlen, name, line, "'flow' needs the name of a flow");
				break;
			}
			if (e && (rc = check_entry(e, &c->flows[flow_of(c, e->flow)], name, err,
			                           errlen)))
				break;
			int fi = flow_of(c, arg);
			if (fi < 0) {
				rc = fail(err, errlen, name, line,
				          "'%s' is not a flow of the content (content/flows/*.flow)",
				          arg);
				break;
			}
			if (!c->flows[fi].menu) {
				rc = fail(err, errlen, name, line,
				          "flow %s is not offered (no 'menu' line in %s), so the "
				          "exercises page does not list it",
				          arg, c->flows[fi].file);
				break;
			}
			const struct haven_exercise_text *dup = haven_exercise_text_of(t, arg);
			if (dup) {
				rc = fail(err, errlen, name, line,
				          "flow %s has an entry already (line %u)", arg, dup->line);
				break;
			}
			struct haven_exercise_text *v = realloc(t->items, (t->n + 1) * sizeof(*v));
			if (!v) {
				rc = HAVEN_ENOMEM;
				break;
			}
			t->items = v;
			e = &v[t->n++];
			memset(e, 0, sizeof(*e));
			e->line = line;
			memset(seen, 0, sizeof(seen));
			if (!(e->flow = strdup(arg)))
				rc = HAVEN_ENOMEM;
			continue;
		}
		enum field f = FIELD_COUNT;
		for (int i = 0; i < FIELD_COUNT; i++)
			if (!strcmp(buf, field_names[i]))
				f = (enum field)i;
		if (f == FIELD_COUNT) {
			rc = fail(err, errlen, name, line,
			          "unknown directive '%s' (flow, kind, description, start, rating)",
			          buf);
			break;
		}
		if (!e) {
			rc = fail(err, errlen, name, line, "'%s' before any 'flow' line", buf);
			break;
		}
		if (!arg || !*arg) {
			rc = fail(err, errlen, name, line, "'%s' needs a value", buf);
			break;
		}
		if (seen[f]) {
			rc = fail(err, errlen, name, line, "flow %s has a '%s' line already (line %u)",
			          e->flow, buf, seen[f]);
			break;
		}
		seen[f] = line;
		const struct haven_flow *fl = &c->flows[flow_of(c, e->flow)];
		if (f == FIELD_KIND) {
			int known = 0;
			for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
				known |= !strcmp(arg, kinds[i]);
			if (!known) {
				rc = fail(err, errlen, name, line,
				          "kind '%s' is not one of exercise, check_in, questionnaire, "
				          "safety_plan",
				          arg);
				break;
			}
		}
		if (f == FIELD_RATING && !fl->exercise) {
			rc = fail(err, errlen, name, line,
			          "flow %s is not rated (no 'exercise' line in %s), so it has no "
			          "'rating'",
			          e->flow, fl->file);
			break;
		}
		if (!(*field_slot(e, f) = strdup(arg)))
			rc = HAVEN_ENOMEM;
	}
	if (rc)
		goto out;
	if (t->n && (rc = check_entry(&t->items[t->n - 1],
	                              &c->flows[flow_of(c, t->items[t->n - 1].flow)], name, err,
	                              errlen)))
		goto out;
	for (size_t i = 0; i < c->nflows; i++)
		if (c->flows[i].menu && !haven_exercise_text_of(t, c->flows[i].name)) {
			rc = fail(err, errlen, name, 0,
			          "flow %s is offered (a 'menu' line in %s:%u) but has no entry here "
			          "(flow, kind, description, start)",
			          c->flows[i].name, c->flows[i].file, c->flows[i].line);
			goto out;
		}
	*out = t;
	t = NULL;
out:
	haven_exercise_texts_destroy(&t);
	return rc;
}

int haven_exercise_texts_load(const char *path, const struct haven_content *c,
                              struct haven_exercise_texts **out, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return HAVEN_ENOTFOUND;
	}
	struct haven_buf b;
	haven_buf_init(&b, 1u << 20);
	int rc = haven_buf_append_file(&b, f);
	fclose(f);
	if (!rc)
		rc = haven_exercise_texts_parse(b.data ? b.data : "", b.len, path, c, out, err,
		                                errlen);
	else
		snprintf(err, errlen, "%s: cannot read: %s", path, haven_strerror(rc));
	haven_buf_release(&b);
	return rc;
}
