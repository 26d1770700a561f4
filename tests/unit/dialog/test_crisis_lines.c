/*
 * test_crisis_lines.c: the shipped crisis lines are the right facts, the web page's copy
 * (web/js/crisis-lines.js) agrees with content/crisis_lines.txt, and the locale rules:
 * which locale is in effect (the patient's, else the deployment's, else en-US), which
 * region a locale gets, and which chosen locales are accepted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog/dialog.h"
#include "harness.h"
#include "safety/safety.h"

static struct haven_crisis_lines *load_shipped(void)
{
	struct haven_crisis_lines *l = NULL;
	char err[256] = "";
	if (haven_crisis_lines_load("content/crisis_lines.txt", &l, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "content/crisis_lines.txt: %s", err);
	return l;
}

/* The region's lines, emergency number and the directory, as the agent says them. */
static char *region_text(const struct haven_crisis_lines *l, const struct haven_region *r)
{
	struct haven_buf b;
	haven_buf_init(&b, 0);
	ASSERT_OK(haven_region_lines_text(l, r, &b));
	ASSERT_OK(haven_buf_printf(&b, " Emergency: %s", r->emergency));
	char *s = strndup(b.data, b.len);
	haven_buf_release(&b);
	ASSERT(s);
	return s;
}

struct region_facts {
	const char *locale, *code;
	const char *must[7];     /* every one must be in the text */
	const char *must_not[4]; /* none may be (another country's numbers) */
};

/* Checked against the services' own sites: 988lifeline.org, samaritans.org,
 * giveusashout.org, 988.ca, lifeline.org.au, textaboutit.ie, findahelpline.com. */
static const struct region_facts facts[] = {
    {"en-US", "US", {"988", "741741", "911"}, {"116 123", "999", "000", "13 11 14"}},
    {"en-GB", "GB", {"Samaritans", "116 123", "85258", "999"}, {"988", "911", "50808"}},
    {"en-CA", "CA", {"988", "911"}, {"116 123", "999", "741741"}},
    {"fr-CA", "CA", {"988", "911"}, {"116 123", "999"}},
    {"en-AU", "AU", {"Lifeline", "13 11 14", "000"}, {"988", "911", "116 123"}},
    {"en-IE",
     "IE",
     {"Samaritans", "116 123", "Pieta", "1800 247 247", "50808", "112", "999"},
     {"988", "911", "85258"}},
    {"fr-FR", "INTL", {"findahelpline.com"}, {"988", "911", "116 123", "999"}},
    {"de-DE", "INTL", {"findahelpline.com"}, {"988", "911", "116 123"}},
};

TEST(crisis_lines_shipped_facts_per_region)
{
	struct haven_crisis_lines *l = load_shipped();
	for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
		const struct region_facts *f = &facts[i];
		const struct haven_region *r = haven_crisis_lines_for(l, f->locale);
		ASSERT(r);
		if (strcmp(r->code, f->code))
			haven_test_fail(__FILE__, __LINE__, "%s: region %s, want %s", f->locale,
			                r->code, f->code);
		char *text = region_text(l, r);
		for (size_t j = 0; j < sizeof(f->must) / sizeof(f->must[0]) && f->must[j]; j++)
			if (!strstr(text, f->must[j]))
				haven_test_fail(__FILE__, __LINE__, "%s: no '%s' in \"%s\"",
				                f->locale, f->must[j], text);
		for (size_t j = 0;
		     j < sizeof(f->must_not) / sizeof(f->must_not[0]) && f->must_not[j]; j++)
			if (strstr(text, f->must_not[j]))
				haven_test_fail(__FILE__, __LINE__, "%s: '%s' in \"%s\"", f->locale,
				                f->must_not[j], text);
		free(text);
	}
	/* Every national region points to the directory for anywhere else. */
	ASSERT_STR_EQ(l->intl->code, "INTL");
	ASSERT(strstr(l->intl->directory, "findahelpline.com"));
	ASSERT_EQ(l->nregions, 6);
	haven_crisis_lines_destroy(&l);
}

TEST(crisis_lines_locale_in_effect)
{
	ASSERT_STR_EQ(haven_locale_effective("en-AU", "en-GB"), "en-AU");
	ASSERT_STR_EQ(haven_locale_effective(NULL, "en-GB"), "en-GB");
	ASSERT_STR_EQ(haven_locale_effective("", "en-GB"), "en-GB");
	ASSERT_STR_EQ(haven_locale_effective(NULL, NULL), "en-US");
	ASSERT_STR_EQ(haven_locale_effective("", ""), "en-US");
}

TEST(crisis_lines_chosen_locale_is_checked)
{
	struct haven_crisis_lines *l = load_shipped();
	static const char *const ok[][2] = {
	    {"en-GB", "en-GB"}, {"en-gb", "en-GB"}, {"EN_IE", "en-IE"},   {"fr-ca", "fr-CA"},
	    {"en", "en"},       {"fr_fr", "fr-FR"}, {"es-419", "es-419"}, {"ga-IE", "ga-IE"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char out[HAVEN_LOCALE_MAX];
		const char *why = "x";
		if (haven_locale_normalize(l, ok[i][0], out, &why))
			haven_test_fail(__FILE__, __LINE__, "'%s' refused: %s", ok[i][0], why);
		ASSERT_STR_EQ(out, ok[i][1]);
		ASSERT(why == NULL);
	}
	static const char *const bad[] = {"",      "x",      "xx",         "english", "en-GBR",
	                                  "en GB", "en-GB ", "../etc",     "en--GB",  "12-GB",
	                                  "e1-GB", "en-1B",  "en-GB-x-yz", "en-"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[HAVEN_LOCALE_MAX];
		const char *why = NULL;
		if (haven_locale_normalize(l, bad[i], out, &why) != HAVEN_EINVAL)
			haven_test_fail(__FILE__, __LINE__, "'%s' accepted as '%s'", bad[i], out);
		ASSERT(why && strstr(why, "crisis_lines.txt"));
		ASSERT_STR_EQ(out, "");
	}
	/* haven_locale_check reads the same file from the content root (./content here). */
	char out[HAVEN_LOCALE_MAX], err[256];
	const char *why;
	ASSERT_OK(haven_locale_check("en-au", out, &why, err, sizeof(err)));
	ASSERT_STR_EQ(out, "en-AU");
	ASSERT_EQ(haven_locale_check("nope", out, &why, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT(why);
	haven_crisis_lines_destroy(&l);
}

/* ---- web/js/crisis-lines.js against content/crisis_lines.txt ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		haven_test_fail(__FILE__, __LINE__, "cannot open %s", path);
	char *s = malloc(1 << 16);
	ASSERT(s);
	size_t n = fread(s, 1, (1 << 16) - 1, f);
	fclose(f);
	s[n] = '\0';
	return s;
}

/* The digits of s, spaces and dashes dropped: "116 123" and "116123" compare equal. */
static void digits_only(const char *s, size_t n, char *out, size_t outlen)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < outlen; i++)
		if (s[i] >= '0' && s[i] <= '9')
			out[k++] = s[i];
	out[k] = '\0';
}

/* Each run of digits (with single spaces inside, as in "13 11 14") in text, squeezed. */
static size_t numbers_in(const char *text, char out[][32], size_t max)
{
	size_t n = 0;
	for (const char *p = text; *p && n < max;) {
		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		const char *start = p;
		while ((*p >= '0' && *p <= '9') || (*p == ' ' && p[1] >= '0' && p[1] <= '9'))
			p++;
		digits_only(start, (size_t)(p - start), out[n], sizeof(out[n]));
		n++;
	}
	return n;
}

TEST(crisis_lines_web_copy_agrees)
{
	struct haven_crisis_lines *l = load_shipped();
	char *js = slurp("web/js/crisis-lines.js");
	/* The digits of the JS file, so that "Call 116 123" and tel: '116123' both count. */
	size_t jn = strlen(js);
	size_t nregions_js = 0;
	for (const char *p = js; (p = strstr(p, "{code: '")); p++)
		nregions_js++;
	/* Every region but the directory is on the page, and nothing else. */
	ASSERT_EQ(nregions_js, l->nregions - 1);
	for (size_t i = 0; i < l->nregions; i++) {
		const struct haven_region *r = &l->regions[i];
		if (r == l->intl) {
			ASSERT(strstr(js, r->directory));
			continue;
		}
		char key[256];
		snprintf(key, sizeof(key), "{code: '%s', country: '%s'", r->code, r->name);
		const char *block = strstr(js, key);
		if (!block)
			haven_test_fail(__FILE__, __LINE__, "web copy has no %s", key);
		/* The region's block ends at the next region or at the end of the list. */
		const char *end = strstr(block + 1, "{code: '");
		if (!end)
			end = strstr(block, "\n];");
		size_t blen = end ? (size_t)(end - block) : jn - (size_t)(block - js);
		char *b = strndup(block, blen), bdigits[512];
		ASSERT(b);
		digits_only(b, blen, bdigits, sizeof(bdigits));
		snprintf(key, sizeof(key), "emergency: '%s'", r->emergency);
		if (!strstr(b, key))
			haven_test_fail(__FILE__, __LINE__, "%s: web copy lacks %s", r->code, key);
		for (size_t j = 0; j < r->nlines; j++) {
			/* The service's name, then every number the server's line gives. */
			const char *colon = strchr(r->lines[j], ':');
			ASSERT(colon);
			snprintf(key, sizeof(key), "name: '%.*s'", (int)(colon - r->lines[j]),
			         r->lines[j]);
			if (!strstr(b, key))
				haven_test_fail(__FILE__, __LINE__, "%s: web copy lacks %s",
				                r->code, key);
			char nums[8][32];
			size_t nn = numbers_in(colon, nums, 8);
			for (size_t k = 0; k < nn; k++)
				if (!strstr(bdigits, nums[k]))
					haven_test_fail(__FILE__, __LINE__,
					                "%s: web copy lacks the number %s of '%s'",
					                r->code, nums[k], r->lines[j]);
		}
		/* The page maps a locale to a region by its country part (regionForLocale): each
		 * locale the file lists must name its region's country, or be "en" for the US. */
		for (size_t j = 0; j < r->nlocales; j++) {
			const char *loc = r->locales[j], *dash = strchr(loc, '-');
			int same = dash ? !strcmp(dash + 1, r->code)
			                : !strcmp(loc, "en") && !strcmp(r->code, "US");
			if (!same)
				haven_test_fail(__FILE__, __LINE__,
				                "%s lists %s, which the web page maps elsewhere",
				                r->code, loc);
		}
		/* No line on the page that the server does not give. */
		size_t lines_js = 0;
		for (const char *p = b; (p = strstr(p, "{name: '")); p++)
			lines_js++;
		ASSERT_EQ(lines_js, r->nlines);
		free(b);
	}
	free(js);
	haven_crisis_lines_destroy(&l);
}
