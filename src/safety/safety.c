/*
 * safety.c: the crisis lines file, the extra rules (overdose taken, denials) and the
 * protocol's state machine. See safety.h for the contract and DESIGN.md for the protocol.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safety/safety.h"

/* ---- Crisis lines ---- */

static char *dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void haven_crisis_lines_destroy(struct haven_crisis_lines **pl)
{
	struct haven_crisis_lines *l = *pl;
	if (!l)
		return;
	for (size_t i = 0; i < l->nregions; i++) {
		struct haven_region *r = &l->regions[i];
		for (size_t j = 0; j < r->nlocales; j++)
			free(r->locales[j]);
		for (size_t j = 0; j < r->nlines; j++)
			free(r->lines[j]);
		free(r->emergency);
		free(r->directory);
	}
	free(l->regions);
	free(l);
	*pl = NULL;
}

static int lines_fail(char *err, size_t errlen, const char *name, unsigned line, const char *fmt,
		      ...) HAVEN_PRINTF(5, 6);
static int lines_fail(char *err, size_t errlen, const char *name, unsigned line, const char *fmt,
		      ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%u: %s", name, line, msg);
	return HAVEN_EINVAL;
}

static int check_region(const struct haven_region *r, const char *name, unsigned line, char *err,
			size_t errlen)
{
	if (!r->name[0])
		return lines_fail(err, errlen, name, line, "region %s has no 'name'", r->code);
	if (!r->nlines)
		return lines_fail(err, errlen, name, line, "region %s has no 'line'", r->code);
	if (!r->emergency)
		return lines_fail(err, errlen, name, line, "region %s has no 'emergency'", r->code);
	if (!r->nlocales)
		return lines_fail(err, errlen, name, line, "region %s has no 'locales'", r->code);
	return 0;
}

int haven_crisis_lines_parse(const char *text, size_t len, const char *name,
			     struct haven_crisis_lines **out, char *err, size_t errlen)
{
	*out = NULL;
	struct haven_crisis_lines *l = haven_calloc(1, sizeof(*l));
	if (!l)
		return HAVEN_ENOMEM;
	int rc = 0;
	unsigned line = 0, region_line = 0;
	size_t pos = 0, bad;
	if (!haven_utf8_valid(text, len, &bad)) {
		rc = lines_fail(err, errlen, name, 1, "invalid UTF-8 at byte %zu", bad);
		goto out;
	}
	while (pos < len && !rc) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char buf[512];
		line++;
		if (ll >= sizeof(buf)) {
			rc = lines_fail(err, errlen, name, line, "line too long");
			break;
		}
		memcpy(buf, text + pos, ll);
		buf[ll] = '\0';
		pos += ll + (nl != NULL);
		while (ll && isspace((unsigned char)buf[ll - 1]))
			buf[--ll] = '\0';
		char *s = buf;
		while (*s == ' ')
			s++;
		if (!*s || *s == '#')
			continue;
		char *arg = strchr(s, ' ');
		if (!arg) {
			rc = lines_fail(err, errlen, name, line, "'%s' needs a value", s);
			break;
		}
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
		struct haven_region *r = l->nregions ? &l->regions[l->nregions - 1] : NULL;
		if (!strcmp(s, "region")) {
			if (r && (rc = check_region(r, name, region_line, err, errlen)))
				break;
			if (strlen(arg) < 2 || strlen(arg) > 4) {
				rc = lines_fail(err, errlen, name, line, "region code '%s' must be 2-4 "
									 "letters",
						arg);
				break;
			}
			for (size_t i = 0; i < l->nregions; i++)
				if (!strcmp(l->regions[i].code, arg))
					rc = lines_fail(err, errlen, name, line,
							"region %s is defined twice", arg);
			if (rc)
				break;
			struct haven_region *v =
			    realloc(l->regions, (l->nregions + 1) * sizeof(*v));
			if (!v) {
				rc = HAVEN_ENOMEM;
				break;
			}
			l->regions = v;
			r = &v[l->nregions++];
			memset(r, 0, sizeof(*r));
			haven_strlcpy(r->code, arg, sizeof(r->code));
			region_line = line;
			continue;
		}
		if (!r) {
			rc = lines_fail(err, errlen, name, line, "'%s' before any 'region' line", s);
			break;
		}
		if (!strcmp(s, "name"))
			haven_strlcpy(r->name, arg, sizeof(r->name));
		else if (!strcmp(s, "line")) {
			if (r->nlines == HAVEN_REGION_MAX_LINES)
				rc = lines_fail(err, errlen, name, line, "at most %d lines per region",
						HAVEN_REGION_MAX_LINES);
			else if (!(r->lines[r->nlines++] = dupn(arg, strlen(arg))))
				rc = HAVEN_ENOMEM;
		} else if (!strcmp(s, "emergency")) {
			if (r->emergency)
				rc = lines_fail(err, errlen, name, line, "'emergency' given twice");
			else if (!(r->emergency = dupn(arg, strlen(arg))))
				rc = HAVEN_ENOMEM;
		} else if (!strcmp(s, "directory")) {
			if (r->directory)
				rc = lines_fail(err, errlen, name, line, "'directory' given twice");
			else if (!(r->directory = dupn(arg, strlen(arg))))
				rc = HAVEN_ENOMEM;
		} else if (!strcmp(s, "locales")) {
			char *save = arg;
			while (*save && !rc) {
				char *e = strchr(save, ' ');
				size_t n = e ? (size_t)(e - save) : strlen(save);
				if (r->nlocales == HAVEN_REGION_MAX_LOCALES)
					rc = lines_fail(err, errlen, name, line,
							"at most %d locales per region",
							HAVEN_REGION_MAX_LOCALES);
				else if (!(r->locales[r->nlocales++] = dupn(save, n)))
					rc = HAVEN_ENOMEM;
				save += n;
				while (*save == ' ')
					save++;
			}
		} else
			rc = lines_fail(err, errlen, name, line,
					"unknown directive '%s' (region, name, locales, line, "
					"emergency, directory)",
					s);
	}
	if (rc)
		goto out;
	if (l->nregions && (rc = check_region(&l->regions[l->nregions - 1], name, region_line, err,
					      errlen)))
		goto out;
	for (size_t i = 0; i < l->nregions; i++)
		if (!strcmp(l->regions[i].code, "INTL"))
			l->intl = &l->regions[i];
	if (!l->intl || !l->intl->directory) {
		rc = lines_fail(err, errlen, name, line,
				"an INTL region with a 'directory' line is required");
		goto out;
	}
	*out = l;
	l = NULL;
out:
	haven_crisis_lines_destroy(&l);
	return rc;
}

int haven_crisis_lines_load(const char *path, struct haven_crisis_lines **out, char *err,
			    size_t errlen)
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
		rc = haven_crisis_lines_parse(b.data ? b.data : "", b.len, path, out, err, errlen);
	else
		snprintf(err, errlen, "%s: cannot read: %s", path, haven_strerror(rc));
	haven_buf_release(&b);
	return rc;
}

const struct haven_region *haven_crisis_lines_for(const struct haven_crisis_lines *l,
						  const char *locale)
{
	if (!locale)
		locale = "";
	for (size_t i = 0; i < l->nregions; i++)
		for (size_t j = 0; j < l->regions[i].nlocales; j++)
			if (!strcasecmp(l->regions[i].locales[j], locale))
				return &l->regions[i];
	/* "en-NZ" -> "en" */
	char lang[16];
	haven_strlcpy(lang, locale, sizeof(lang));
	char *dash = strpbrk(lang, "-_");
	if (dash) {
		*dash = '\0';
		/* A country part that names a region directly ("fr-CA" is listed; "xx-GB"). */
		const char *country = locale + (dash - lang) + 1;
		for (size_t i = 0; i < l->nregions; i++)
			if (!strcasecmp(l->regions[i].code, country) ||
			    (!strcasecmp(country, "UK") && !strcmp(l->regions[i].code, "GB")))
				return &l->regions[i];
		return l->intl;
	}
	for (size_t i = 0; i < l->nregions; i++)
		for (size_t j = 0; j < l->regions[i].nlocales; j++)
			if (!strcasecmp(l->regions[i].locales[j], lang))
				return &l->regions[i];
	return l->intl;
}

int haven_region_lines_text(const struct haven_crisis_lines *l, const struct haven_region *r,
			    struct haven_buf *b)
{
	int rc = 0;
	for (size_t i = 0; i < r->nlines && !rc; i++)
		rc = haven_buf_printf(b, "%s%s", i ? "; " : "", r->lines[i]);
	if (!rc && r != l->intl)
		rc = haven_buf_printf(b, ". Outside the %s: %s.", r->name, l->intl->directory);
	else if (!rc)
		rc = haven_buf_puts(b, ".");
	return rc;
}

/* ---- Extra rules ---- */

/* Lower-cases text into words (letters, digits, apostrophes dropped) separated by one space,
 * with a leading and trailing space, so " word " searches are whole-word. */
static void normalise(const char *text, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	out[o++] = ' ';
	for (size_t i = 0; i < len && o + 2 < outlen; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\'' || c == 0x27)
			continue;
		if (c >= 0x80) { /* ’ and other non-ASCII: drop apostrophe-like, keep the rest */
			if (c == 0xE2 && i + 2 < len && (unsigned char)text[i + 1] == 0x80 &&
			    ((unsigned char)text[i + 2] == 0x99 || (unsigned char)text[i + 2] == 0x98)) {
				i += 2;
				continue;
			}
			out[o++] = (char)c;
			continue;
		}
		if (isalnum(c))
			out[o++] = (char)tolower(c);
		else if (out[o - 1] != ' ')
			out[o++] = ' ';
	}
	if (out[o - 1] != ' ')
		out[o++] = ' ';
	out[o] = '\0';
}

static int has_any(const char *norm, const char *const *phrases)
{
	for (size_t i = 0; phrases[i]; i++)
		if (strstr(norm, phrases[i]))
			return 1;
	return 0;
}

/* Whether the start of a message (400 bytes), normalised, holds one of the phrases. */
static int says_any(const char *text, size_t len, const char *const *phrases)
{
	char norm[512];
	normalise(text, len < 400 ? len : 400, norm, sizeof(norm));
	return has_any(norm, phrases);
}

int haven_safety_overdose_taken(const char *text, size_t len)
{
	static const char *const taken[] = {
	    " i overdosed ", " ive overdosed ", " i have overdosed ", " just overdosed ",
	    " i od d ", " i odd ", " ive od d ", " i took an overdose ", " ive taken an overdose ",
	    " i have taken an overdose ", " took too many pills ", " taken too many pills ",
	    " took all my pills ", " took all of my pills ", " took all my meds ",
	    " took all of my meds ", " took all my tablets ", " took a whole bottle ",
	    " swallowed all my pills ", " swallowed a bottle ", " swallowed all the pills ",
	    " swallowed a load of pills ", " took a bunch of pills ", " took a lot of pills ",
	    " took loads of pills ", " took the whole pack ", " took the whole box ",
	    " took too many tablets ", " took too much of my medication ",
	    " took too many of my meds ", " overdosing right now ", " overdosing now ", NULL};
	static const char *const long_ago[] = {
	    " years ago ", " year ago ", " last year ", " when i was ", " in high school ",
	    " as a teenager ", " months ago ", " month ago ", " a long time ago ", " once ",
	    " in the past ", " back then ", NULL};
	char norm[2048];
	normalise(text, len < 1800 ? len : 1800, norm, sizeof(norm));
	return has_any(norm, taken) && !has_any(norm, long_ago);
}

int haven_safety_is_denial(const char *text, size_t len)
{
	static const char *const denials[] = {
	    " im fine ", " i am fine ", " im ok ", " im okay ", " i am ok ", " i am okay ",
	    " you misunderstood ", " you misunderstand ", " you got it wrong ",
	    " i didnt mean it ", " i did not mean it ", " i didnt mean that ",
	    " i was joking ", " just joking ", " jk ", " only joking ", " i was kidding ",
	    " just kidding ", " not serious ", " im not serious ", " i wasnt serious ",
	    " never mind ", " nevermind ", " forget it ", " its nothing ", " im alright ",
	    " im all right ", " i am alright ", " im safe ", " i am safe ", " its fine ",
	    " all good ", " no im not ", " no i dont ", " i dont want to die ",
	    " thats not what i meant ", " not what i meant ", NULL};
	return says_any(text, len, denials);
}

int haven_safety_wants_to_end(const char *text, size_t len)
{
	/* Whole-phrase matches on the normalised text; none of them is about dying ("end it"
	 * is not here: it is a crisis phrase). A match only asks the confirming question. */
	static const char *const phrases[] = {
	    " can we stop ", " can we stop this ", " i want to stop ", " i want to stop this ",
	    " lets stop ", " please stop ", " stop this ", " stop now ", " i want to leave ",
	    " i want to go back ", " can we go back ", " go back to ", " back to what we were ",
	    " end this chat ", " end this conversation ", " end the chat ", " finish this ",
	    " i feel better ", " i feel better now ", " feeling better ", " i feel safer ",
	    " i feel safe ", " i feel safe now ", " im safer ", " i am safer ", " im calmer ",
	    " i am calmer ", " i feel calmer ", " feeling calmer ", " im ok now ", " im okay now ",
	    " i called ", " ive called ", " i have called ", " i rang ", " i texted ",
	    " ive texted ", " i talked to ", " ive talked to ", " i spoke to ", " ive spoken to ",
	    " im with my ", " i am with my ", " the crisis has passed ", " it has passed ",
	    " its passed ", " the feeling has passed ", NULL};
	return says_any(text, len, phrases);
}

int haven_safety_is_unsure(const char *text, size_t len)
{
	static const char *const hedges[] = {
	    " maybe ", " perhaps ", " probably ", " possibly ", " not sure ", " unsure ",
	    " dont know ", " do not know ", " didnt know ", " idk ", " dunno ", " no idea ",
	    " later ", " not now ", " not today ", " not right now ", " rather not ",
	    " dont want to say ", " dont want to talk ", " dont ask ", " not telling ",
	    " kind of ", " kinda ", " sort of ", " sorta ", " i guess ", " i suppose ",
	    " sometimes ", " a bit ", " a little ", " not really sure ", " hard to say ",
	    " depends ", " on and off ", " not exactly ", NULL};
	return says_any(text, len, hedges);
}

int haven_safety_asks_for_lines(const char *text, size_t len)
{
	/* Substrings of the normalised text: " crisis line" is also " crisis lines ". */
	static const char *const lines[] = {
	    " crisis number", " crisis line", " crisis hotline", " crisis text line",
	    " crisis service", " crisis phone", " hotline", " helpline", " help line",
	    " suicide line", " suicide number", " suicide prevention line", " lifeline ",
	    " samaritans number", " emergency number", " number to call", " numbers to call",
	    " line to call", " someone to call", " who can i call ", " who do i call ",
	    " who should i call ", " who can i ring ", " who do i ring ", " who can i text ",
	    NULL};
	static const char *const request[] = {
	    " what ", " whats ", " which ", " where ", " who ", " give me ", " tell me ",
	    " send me ", " show me ", " can i have ", " can i get ", " could i have ",
	    " can you give ", " could you give ", " i need ", " need a ", " need the ",
	    " need some ", " is there ", " are there ", " do you have ", " how do i ",
	    " how can i ", " number for ", " numbers for ", " please ", NULL};
	char norm[512];
	size_t n = len < 400 ? len : 400;
	normalise(text, n, norm, sizeof(norm));
	if (!has_any(norm, lines))
		return 0;
	return memchr(text, '?', n) != NULL || has_any(norm, request);
}

/* ---- The protocol ---- */

const char *haven_safety_mode_name(enum haven_safety_mode m)
{
	switch (m) {
	case HAVEN_SAFETY_MODE_CHECK:
		return "check";
	case HAVEN_SAFETY_MODE_CRISIS:
		return "crisis";
	case HAVEN_SAFETY_MODE_CONFIRM:
		return "confirm";
	default:
		return "none";
	}
}

int haven_safety_mode_parse(const char *s, enum haven_safety_mode *out)
{
	for (int m = HAVEN_SAFETY_MODE_NONE; m <= HAVEN_SAFETY_MODE_CONFIRM; m++)
		if (s && !strcmp(s, haven_safety_mode_name((enum haven_safety_mode)m))) {
			*out = (enum haven_safety_mode)m;
			return 0;
		}
	return HAVEN_EINVAL;
}

static void say(struct haven_safety_result *out, enum haven_safety_step step, const char *node,
		enum haven_safety_mode mode, const char *rule)
{
	out->step = step;
	out->say = node;
	out->mode = mode;
	out->rule = rule;
}

void haven_safety_decide(enum haven_safety_mode mode, int unclear,
			 const struct haven_safety_input *in, struct haven_safety_result *out)
{
	memset(out, 0, sizeof(*out));
	enum haven_risk_level level = in->crisis ? in->crisis->level : HAVEN_RISK_NONE;
	int high_rule = 0;
	if (in->overdose && level < HAVEN_RISK_HIGH) {
		level = HAVEN_RISK_HIGH;
		high_rule = 1;
	}
	if (in->forced_crisis && level < HAVEN_RISK_HIGH)
		level = HAVEN_RISK_HIGH;
	out->level = level;
	const char *high_why = high_rule ? "overdose_taken"
			       : in->forced_crisis && (!in->crisis || in->crisis->level < HAVEN_RISK_HIGH)
				   ? "content_danger"
				   : "screen_high";
	out->mode = mode;

	switch (mode) {
	case HAVEN_SAFETY_MODE_CRISIS:
		if (level == HAVEN_RISK_HIGH) {
			say(out, HAVEN_SAFETY_SAY, "crisis_stay", mode, high_why);
			out->raise_alert = 1;
		} else if (in->wants_plan)
			say(out, HAVEN_SAFETY_SAY, "plan", mode, "plan_requested");
		else if (in->denial || in->yesno == 0)
			say(out, HAVEN_SAFETY_SAY, "confirm", HAVEN_SAFETY_MODE_CONFIRM, "denial");
		else if (in->wants_end)
			/* The way out DESIGN.md gives: the one confirming question, answered. */
			say(out, HAVEN_SAFETY_SAY, "confirm", HAVEN_SAFETY_MODE_CONFIRM, "wants_end");
		else
			say(out, HAVEN_SAFETY_SAY, "crisis_stay", mode, "protocol_continues");
		return;
	case HAVEN_SAFETY_MODE_CONFIRM:
		if (level == HAVEN_RISK_HIGH) {
			say(out, HAVEN_SAFETY_SAY, "crisis_stay", HAVEN_SAFETY_MODE_CRISIS, high_why);
			out->raise_alert = 1;
		} else if ((in->yesno == 0 || in->denial) && !in->unsure &&
			   level < HAVEN_RISK_MODERATE) {
			/* The only way out: a clear "no" to the confirming question. */
			say(out, HAVEN_SAFETY_RESUME, "confirm_no", HAVEN_SAFETY_MODE_NONE,
			    "confirmed_no");
			out->answer = "no";
		} else if (in->yesno == 1 && !in->denial) {
			say(out, HAVEN_SAFETY_SAY, "crisis_stay", HAVEN_SAFETY_MODE_CRISIS,
			    "confirmed_yes");
			out->answer = "yes";
			out->raise_alert = 1;
		} else if (in->wants_plan)
			say(out, HAVEN_SAFETY_SAY, "plan", HAVEN_SAFETY_MODE_CRISIS, "plan_requested");
		else
			/* No clear answer: the protocol goes on. */
			say(out, HAVEN_SAFETY_SAY, "crisis_stay", HAVEN_SAFETY_MODE_CRISIS,
			    "confirm_unclear");
		return;
	case HAVEN_SAFETY_MODE_CHECK:
		if (level == HAVEN_RISK_HIGH || (in->yesno == 1 && !in->denial)) {
			say(out, HAVEN_SAFETY_SAY, "crisis", HAVEN_SAFETY_MODE_CRISIS,
			    level == HAVEN_RISK_HIGH ? high_why : "check_yes");
			out->raise_alert = 1;
			if (in->yesno == 1 && level < HAVEN_RISK_HIGH)
				out->answer = "yes";
			if (out->level < HAVEN_RISK_HIGH)
				out->level = HAVEN_RISK_HIGH;
		} else if ((in->yesno == 0 || in->denial) && !in->unsure) {
			say(out, HAVEN_SAFETY_RESUME, "check_no", HAVEN_SAFETY_MODE_NONE, "check_no");
			out->answer = "no";
		} else if (unclear >= 1 && level < HAVEN_RISK_MODERATE) {
			/* Asked twice without an answer: say where help is and go back. */
			say(out, HAVEN_SAFETY_RESUME, "check_no", HAVEN_SAFETY_MODE_NONE,
			    "check_unanswered");
		} else
			say(out, HAVEN_SAFETY_SAY, "check", HAVEN_SAFETY_MODE_CHECK, "check_unclear");
		return;
	default:
		break;
	}
	if (level == HAVEN_RISK_HIGH) {
		say(out, HAVEN_SAFETY_SAY, "crisis", HAVEN_SAFETY_MODE_CRISIS, high_why);
		out->enter = 1;
		out->raise_alert = 1;
	} else if (level == HAVEN_RISK_MODERATE || in->forced_check) {
		/* An answer above 0 to PHQ-9 item 9 is a passive wish or more: moderate. */
		if (out->level < HAVEN_RISK_MODERATE)
			out->level = HAVEN_RISK_MODERATE;
		say(out, HAVEN_SAFETY_SAY, "check", HAVEN_SAFETY_MODE_CHECK,
		    in->forced_check && level < HAVEN_RISK_MODERATE ? "item9" : "screen_moderate");
		out->enter = 1;
	} else if (in->crisis && (in->crisis->flags & HAVEN_CRISIS_ABOUT_OTHER)) {
		out->step = HAVEN_SAFETY_OTHERS;
		out->rule = "about_other";
	} else {
		out->step = HAVEN_SAFETY_PASS;
		out->rule = "pass";
	}
}
