/*
 * danger.c: the danger-and-abuse screen (danger.h, docs/safety.md): tokens, a small pattern
 * matcher, the rules with their reasons, the context rules (negation, figures of speech,
 * long ago, now) and the helplines per region.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safety/danger.h"

#define MAX_TOK 200
#define TOK_LEN 24
#define GAP_MAX 4

/* ---- tokens ---- */

struct toks {
	char t[MAX_TOK][TOK_LEN];
	size_t n;
};

/* Words written together without the apostrophe: "im" is "i am", "hes" is "he is". */
static void emit(struct toks *k, const char *w)
{
	static const char *const split[][3] = {
	    {"im", "i", "am"},        {"hes", "he", "is"},     {"shes", "she", "is"},
	    {"ive", "i", "have"},     {"theyre", "they", "are"}, {"youre", "you", "are"},
	    {"id", "i", "would"},     {"hed", "he", "would"},  {"shed", "she", "would"},
	};
	for (size_t i = 0; i < sizeof(split) / sizeof(split[0]); i++)
		if (!strcmp(w, split[i][0])) {
			if (k->n + 2 <= MAX_TOK) {
				haven_strlcpy(k->t[k->n++], split[i][1], TOK_LEN);
				haven_strlcpy(k->t[k->n++], split[i][2], TOK_LEN);
			}
			return;
		}
	if (k->n < MAX_TOK)
		haven_strlcpy(k->t[k->n++], w, TOK_LEN);
}

/* Lower case; apostrophes dropped ("he's" -> "hes" is split as "he s" below so that "he s
 * going to" reads like "he is going to"); sentence and clause ends become "|". */
static void tokenize(const char *text, size_t len, struct toks *k)
{
	char w[TOK_LEN];
	size_t wl = 0;
	k->n = 0;
	for (size_t i = 0; i <= len && k->n < MAX_TOK; i++) {
		unsigned char c = i < len ? (unsigned char)text[i] : ' ';
		if (c == 0xE2 && i + 2 < len && (unsigned char)text[i + 1] == 0x80 &&
		    ((unsigned char)text[i + 2] == 0x99 || (unsigned char)text[i + 2] == 0x98)) {
			c = '\'';
			i += 2;
		}
		if (isalnum(c) && c < 0x80) {
			if (wl + 1 < TOK_LEN)
				w[wl++] = (char)tolower(c);
			continue;
		}
		if (c == '\'' && wl) {
			/* he's, she's, i'm, he'll, he'd: the contraction is its own word */
			w[wl] = '\0';
			emit(k, w);
			wl = 0;
			continue;
		}
		if (wl) {
			w[wl] = '\0';
			if (!strcmp(w, "but") || !strcmp(w, "though") || !strcmp(w, "although")) {
				if (!k->n || strcmp(k->t[k->n - 1], "|"))
					haven_strlcpy(k->t[k->n++], "|", TOK_LEN);
			} else
				emit(k, w);
			wl = 0;
		}
		if ((c == '.' || c == '!' || c == '?' || c == ';' || c == ',' || c == '\n' ||
		     c == ':') &&
		    k->n && strcmp(k->t[k->n - 1], "|") && k->n < MAX_TOK)
			haven_strlcpy(k->t[k->n++], "|", TOK_LEN);
	}
	/* "s" after a pronoun is "is"; "m" is "am"; "ll" is "will"; "d" is "would"; "t" after
	 * don/won/can... is "not" (dont, wont: written together below). */
	for (size_t i = 1; i < k->n; i++) {
		char *p = k->t[i], *prev = k->t[i - 1];
		if (!strcmp(p, "s") && (!strcmp(prev, "he") || !strcmp(prev, "she") ||
					!strcmp(prev, "it") || !strcmp(prev, "that") ||
					!strcmp(prev, "who") || !strcmp(prev, "there")))
			haven_strlcpy(p, "is", TOK_LEN);
		else if (!strcmp(p, "m"))
			haven_strlcpy(p, "am", TOK_LEN);
		else if (!strcmp(p, "ll"))
			haven_strlcpy(p, "will", TOK_LEN);
		else if (!strcmp(p, "re"))
			haven_strlcpy(p, "are", TOK_LEN);
		else if (!strcmp(p, "ve"))
			haven_strlcpy(p, "have", TOK_LEN);
		else if (!strcmp(p, "d"))
			haven_strlcpy(p, "would", TOK_LEN);
		else if (!strcmp(p, "t") && strlen(prev) + 2 < TOK_LEN) {
			/* don't -> dont: join */
			haven_strlcpy(prev + strlen(prev), "t", 2);
			memmove(k->t[i], k->t[i + 1], (k->n - i - 1) * TOK_LEN);
			k->n--;
			i--;
		}
	}
}

static int tok_is(const struct toks *k, size_t i, const char *w)
{
	return i < k->n && !strcmp(k->t[i], w);
}

/* ---- word sets ---- */

struct wset {
	const char *name;
	const char *words; /* space-separated, with a leading and trailing space */
};

static const struct wset sets[] = {
    {"perp", " he she husband hubby wife partner boyfriend girlfriend bf gf ex fiance fiancee "
	     "dad father stepdad stepfather mum mom mam mother stepmum stepmom stepmother uncle "
	     "brother stepbrother sister cousin grandad grandpa grandfather they someone somebody "
	     "man guy men neighbour neighbor carer landlord coach teacher boss parents him "},
    /* people who say "kill me" as a figure of speech far more often than as a threat */
    {"figperp", " boss manager teacher coach mum mom mam mother dad father parents sister "
		"brother friend friends bestie sis bro nan gran grandma teammates team "},
    {"parent", " dad father stepdad stepfather mum mom mam mother stepmum stepmom stepmother "
	       "uncle grandad grandpa grandfather parents "},
    {"partner", " husband hubby wife partner boyfriend girlfriend bf gf ex fiance fiancee "},
    {"victim_other", " her him them his their "},
    {"other", " friend friends sister brother mum mom mother dad father neighbour neighbor "
	      "cousin aunt colleague coworker daughter son niece nephew flatmate roommate "
	      "classmate bestie kids children child "},
    {"kids", " kids children child son daughter baby kid "},
    {"kill", " kill murder strangle stab shoot "},
    {"hurtv", " kill murder strangle stab shoot hurt hit beat attack "},
    {"hitv", " hit hits hitting beat beats beating beaten punched punches punch punching kicked "
	     "kicks kick kicking slapped slaps slap slapping hurt hurts hurting pushed shoves "
	     "shoved attacked attacks attacking assaulted assaults bit bites burned burns "
	     "abuses abused abusing bruised "},
    {"strangle", " strangled strangles strangling choked chokes choking throttled suffocated "
		 "smothered "},
    {"sexv", " raped rapes raping molested molests molesting groped gropes groping "},
    {"touchv", " touches touched touching "},
    {"weapon", " knife knives gun guns weapon axe machete hammer bat blade "},
    {"drug", " sertraline fluoxetine citalopram escitalopram prozac zoloft lexapro paroxetine "
	     "venlafaxine effexor mirtazapine duloxetine lithium quetiapine seroquel olanzapine "
	     "aripiprazole diazepam valium xanax alprazolam lorazepam ativan clonazepam zopiclone "
	     "zolpidem ambien melatonin propranolol bupropion wellbutrin pregabalin gabapentin "
	     "amitriptyline trazodone adderall ritalin methylphenidate antidepressant "
	     "antidepressants paracetamol ibuprofen codeine tramadol "},
    {"meds", " pill pills meds med medication medications medicine medicines tablet tablets "
	     "dose doses dosage prescription antidepressant antidepressants "},
    {"negation", " never not dont doesnt didnt wont wouldnt hasnt havent hadnt isnt wasnt "
		 "arent cant cannot no nobody nothing neither nor "},
    /* words of danger around a "kill me": a threat, not a figure of speech */
    {"fear", " scared afraid terrified frightened fear knife gun weapon hiding hide locked "
	     "police strangled choked bruises bleeding threatened threatens threatening unsafe "
	     "hurts hurt hit hits beats beat abusive abuse "},
    {"nowcue", " tonight outside downstairs hiding coming banging breaking "},
};

static const char *set_words(const char *name)
{
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (!strcmp(sets[i].name, name))
			return sets[i].words;
	return NULL;
}

static int in_set(const char *name, const char *w)
{
	const char *ws = set_words(name);
	char pat[TOK_LEN + 2];
	if (!ws || !*w || strlen(w) + 3 > sizeof(pat))
		return 0;
	snprintf(pat, sizeof(pat), " %s ", w);
	return strstr(ws, pat) != NULL;
}

static int any_in_set(const struct toks *k, const char *name)
{
	for (size_t i = 0; i < k->n; i++)
		if (in_set(name, k->t[i]))
			return 1;
	return 0;
}

/* ---- patterns ----
 * Space-separated elements: "a|b|c" one word among them; "@set" a word of a set; "*" up to
 * GAP_MAX words (not across a clause end); an element ending in "?" is optional. */

#define MAX_EL 16
struct pat {
	char el[MAX_EL][192];
	size_t n;
};

static void pat_parse(const char *s, struct pat *p)
{
	p->n = 0;
	while (*s && p->n < MAX_EL) {
		while (*s == ' ')
			s++;
		size_t l = strcspn(s, " ");
		if (!l)
			break;
		if (l >= sizeof(p->el[0]))
			l = sizeof(p->el[0]) - 1;
		memcpy(p->el[p->n], s, l);
		p->el[p->n][l] = '\0';
		p->n++;
		s += strcspn(s, " ");
	}
}

static int el_word(const char *el, size_t el_len, const char *w)
{
	if (!strcmp(w, "|"))
		return 0;
	size_t wl = strlen(w);
	for (const char *a = el; a < el + el_len;) {
		size_t l = strcspn(a, "|");
		if (a + l > el + el_len)
			l = (size_t)(el + el_len - a);
		if (a[0] == '@') {
			char name[32];
			size_t n = l - 1 < sizeof(name) - 1 ? l - 1 : sizeof(name) - 1;
			memcpy(name, a + 1, n);
			name[n] = '\0';
			if (in_set(name, w))
				return 1;
		} else if (l == wl && !memcmp(a, w, l))
			return 1;
		a += l + 1;
	}
	return 0;
}

/* Matches elements from ei at token ti; on success *end is one past the last token and
 * role[t] is 'g' for tokens a gap took, the element index + 1 otherwise. */
static int match_at(const struct pat *p, size_t ei, const struct toks *k, size_t ti,
		    size_t *end, unsigned char *role)
{
	if (ei == p->n) {
		*end = ti;
		return 1;
	}
	const char *el = p->el[ei];
	size_t el_len = strlen(el);
	if (!strcmp(el, "*")) {
		for (size_t g = 0; g <= GAP_MAX; g++) {
			if (g && (ti + g - 1 >= k->n || !strcmp(k->t[ti + g - 1], "|")))
				break;
			if (match_at(p, ei + 1, k, ti + g, end, role)) {
				for (size_t x = 0; x < g; x++)
					role[ti + x] = 'g';
				return 1;
			}
		}
		return 0;
	}
	int opt = el_len > 1 && el[el_len - 1] == '?';
	if (opt)
		el_len--;
	if (ti < k->n && el_word(el, el_len, k->t[ti]) &&
	    match_at(p, ei + 1, k, ti + 1, end, role)) {
		role[ti] = (unsigned char)(ei + 1);
		return 1;
	}
	return opt && match_at(p, ei + 1, k, ti, end, role);
}

/* ---- rules ---- */

enum kind {
	K_NOW,      /* danger now whatever the context (unless negated) */
	K_THREAT,   /* a threat: now, unless a figure of speech */
	K_ABUSE,    /* abuse or violence against the person */
	K_NEEDCTX,  /* abuse only with fear or a parent figure ("my stepfather touches me") */
	K_OTHER,    /* someone else is being hurt */
	K_MED,      /* a question about medication */
};

/* flags */
#define F_NONEG 1u  /* the pattern itself holds a negation ("won't let me"): no negation rule */
#define F_URGENT 2u /* a high-lethality or safeguarding sign: urgent even when not now */

struct rule {
	const char *name, *category;
	enum kind kind;
	unsigned flags;
	const char *pattern;
	const char *description;
};

static const struct rule rules[] = {
    /* violence_from_other: threats, weapons, strangling */
    {"threat_to_kill", HAVEN_DANGER_VIOLENCE, K_THREAT, F_URGENT,
     "@perp is|are? going|gonna to? @hurtv me", "says someone is going to kill or hurt them"},
    {"threat_to_kill", HAVEN_DANGER_VIOLENCE, K_THREAT, F_URGENT,
     "@perp will|gonna|wants|wanna to? @hurtv me", "says someone will kill or hurt them"},
    {"threat_to_kill", HAVEN_DANGER_VIOLENCE, K_THREAT, F_URGENT,
     "@perp is|are coming to? * to? @hurtv me", "says someone is coming to hurt them"},
    {"threatened_to_kill", HAVEN_DANGER_VIOLENCE, K_ABUSE, F_URGENT,
     "@perp * threatened|threatens|threatening|threat to? @kill me|us|my",
     "says someone threatened to kill them (a high-lethality sign)"},
    {"threatened_to_kill", HAVEN_DANGER_VIOLENCE, K_ABUSE, F_URGENT,
     "@perp * said|says|told * would|will|gonna|going @kill me",
     "says someone threatened to kill them (a high-lethality sign)"},
    {"being_attacked", HAVEN_DANGER_VIOLENCE, K_NOW, 0,
     "@perp is|are hitting|beating|hurting|choking|strangling|attacking|stabbing|kicking me",
     "says someone is attacking them now"},
    {"weapon_now", HAVEN_DANGER_VIOLENCE, K_NOW, F_URGENT,
     "@perp * with|holding|pointing|waving|has|got a|his|her|the @weapon",
     "says someone has a weapon"},
    {"weapon_used", HAVEN_DANGER_VIOLENCE, K_ABUSE, F_URGENT,
     "@perp * pulled|held|pointed|put|used a|his|her|the @weapon",
     "says someone used or threatened them with a weapon"},
    {"strangled", HAVEN_DANGER_VIOLENCE, K_ABUSE, F_URGENT, "@perp * @strangle me",
     "says they were strangled or choked (a high-lethality sign)"},
    {"strangled", HAVEN_DANGER_VIOLENCE, K_ABUSE, F_URGENT,
     "@perp * put|had|wrapped his|her|their hands|hand|arm around|round|on my neck|throat",
     "says they were strangled or choked (a high-lethality sign)"},
    {"strangled", HAVEN_DANGER_VIOLENCE, K_ABUSE, F_URGENT, "i was|got|been strangled|choked",
     "says they were strangled or choked (a high-lethality sign)"},
    {"scared_of_harm", HAVEN_DANGER_VIOLENCE, K_THREAT, F_URGENT,
     "scared|afraid|terrified|frightened * @perp * will|would|might|going|gonna|is to? "
     "@hurtv me",
     "says they are afraid someone will hurt them"},
    /* physical abuse (domestic_abuse for a partner, child_abuse for a parent figure) */
    {"physical_violence", HAVEN_DANGER_DOMESTIC, K_ABUSE, 0, "@perp * @hitv me",
     "says someone hits or hurts them"},
    {"physical_violence", HAVEN_DANGER_DOMESTIC, K_ABUSE, 0,
     "i am|was|get|got|been being? beaten|hit|attacked|assaulted|abused|battered",
     "says they are hurt or abused by someone"},
    {"abusive_relationship", HAVEN_DANGER_DOMESTIC, K_ABUSE, 0,
     "in an? abusive|violent|toxic relationship|marriage|home",
     "says they are in an abusive relationship"},
    {"scared_of_partner", HAVEN_DANGER_DOMESTIC, K_ABUSE, 0,
     "i am|feel|get so|really|very? scared|afraid|terrified|frightened of my? @partner|@parent|him|her",
     "says they are afraid of a partner or family member"},
    {"not_safe_at_home", HAVEN_DANGER_DOMESTIC, K_ABUSE, F_NONEG,
     "i * not|dont|never|cant * safe at|in home|my|this",
     "says they are not safe at home"},
    /* coercive control */
    {"coercive_control", HAVEN_DANGER_DOMESTIC, K_ABUSE, F_NONEG,
     "@perp * wont|doesnt|dont|never|wouldnt let|lets me see|go|leave|have|talk|work|out|use",
     "says someone controls where they go or whom they see"},
    {"coercive_control", HAVEN_DANGER_DOMESTIC, K_ABUSE, 0,
     "@perp * takes|took|controls|keeps|checks|tracks|monitors|reads all? of? my money|phone|passport|"
     "keys|card|bank|messages|location",
     "says someone controls their money, phone or movements"},
    {"coercive_control", HAVEN_DANGER_DOMESTIC, K_ABUSE, 0,
     "@perp * locks|locked|locking me in|out|up", "says someone locks them in or out"},
    {"coercive_control", HAVEN_DANGER_DOMESTIC, K_ABUSE, 0,
     "@perp * threatens|threatened to take the|my kids|children|baby",
     "says someone threatens to take their children"},
    /* sexual violence */
    {"sexual_violence", HAVEN_DANGER_SEXUAL, K_ABUSE, F_URGENT,
     "i was|got|have|been|am being? raped|molested|sexually|groped",
     "says they were raped or sexually assaulted"},
    {"sexual_violence", HAVEN_DANGER_SEXUAL, K_ABUSE, F_URGENT, "@perp * @sexv me",
     "says someone raped or sexually assaulted them"},
    {"sexual_violence", HAVEN_DANGER_SEXUAL, K_ABUSE, F_URGENT,
     "@perp * forced|forces|made|makes me * sex|sexual|things|touch",
     "says someone forced them into sex"},
    {"sexual_violence", HAVEN_DANGER_SEXUAL, K_ABUSE, F_URGENT,
     "@perp * sexually assaulted|abused|abuses|abusing me", "says someone sexually abused them"},
    {"unwanted_touching", HAVEN_DANGER_SEXUAL, K_NEEDCTX, F_URGENT, "@perp * @touchv me",
     "says someone touches them and they are afraid (possible sexual abuse)"},
    /* someone else being hurt */
    {"other_hurt", HAVEN_DANGER_DOMESTIC, K_OTHER, 0,
     "@perp * @hitv|@strangle|@sexv|threatens|controls @victim_other",
     "says someone else is being hurt"},
    {"other_hurt", HAVEN_DANGER_DOMESTIC, K_OTHER, 0, "@perp * @hitv|@strangle|@sexv my @other",
     "says someone else is being hurt"},
    {"other_hurt", HAVEN_DANGER_DOMESTIC, K_OTHER, 0,
     "my @other * is|was|are|were|got|has|been being? hit|beaten|abused|raped|hurt|"
     "assaulted|strangled|choked|molested|attacked",
     "says someone else is being hurt"},
    {"other_hurt", HAVEN_DANGER_DOMESTIC, K_OTHER, 0,
     "my @other * is|are|feels scared|afraid|terrified of @victim_other @perp|@partner",
     "says someone else is afraid of their partner or family"},
    /* medication questions */
    {"medication_question", HAVEN_DANGER_MEDICATION_Q, K_MED, F_NONEG,
     "should|can|could|shall|ok|okay|safe|allowed|fine * take|stop|quit|double|increase|"
     "reduce|lower|skip|halve|change|mix|drink|up|combine|come * @meds|@drug",
     "asks whether to take, change or stop medication"},
    {"medication_question", HAVEN_DANGER_MEDICATION_Q, K_MED, F_NONEG,
     "how many|much * @meds|@drug * should|can|do|to",
     "asks how much medication to take"},
    /* an amount between the verb and the medicine ("take 2 more of my sleeping pills")
     * can be longer than one gap */
    {"medication_question", HAVEN_DANGER_MEDICATION_Q, K_MED, F_NONEG,
     "should|can|could|shall|ok|okay|safe|allowed|fine * take|have|use * more|extra|another|"
     "less|fewer|half * @meds|@drug",
     "asks whether to take more or less medication"},
    {"medication_question", HAVEN_DANGER_MEDICATION_Q, K_MED, F_NONEG,
     "what dose|dosage", "asks about a dose"},
    {"medication_question", HAVEN_DANGER_MEDICATION_Q, K_MED, F_NONEG,
     "should|can|could|do i * take|try|get|go on|start * @drug|@meds",
     "asks whether to take medication"},
};

/* ---- context ---- */

static int negated(const struct toks *k, size_t start, size_t end, const unsigned char *role)
{
	/* a negation a gap took inside the match, or up to three words before it (same
	 * clause) */
	for (size_t i = start; i < end; i++)
		if (role[i] == 'g' && in_set("negation", k->t[i]))
			return 1;
	for (size_t b = 1; b <= 3 && b <= start; b++) {
		if (!strcmp(k->t[start - b], "|"))
			break;
		if (in_set("negation", k->t[start - b]))
			return 1;
	}
	return 0;
}

static int has_seq(const struct toks *k, const char *pattern)
{
	struct pat p;
	pat_parse(pattern, &p);
	unsigned char role[MAX_TOK];
	size_t end;
	for (size_t i = 0; i < k->n; i++)
		if (match_at(&p, 0, k, i, &end, role))
			return 1;
	return 0;
}

static int historical(const struct toks *k)
{
	static const char *const cues[] = {
	    "when i was a|little|young|younger|small|kid|child|teen|teenager",
	    "as a kid|child|teen|teenager|little", "growing up", "years|year ago",
	    "used to", "in the past", "my childhood", "no longer", "last year", "long time ago",
	    NULL};
	for (size_t i = 0; cues[i]; i++)
		if (has_seq(k, cues[i]))
			return 1;
	return 0;
}

static int now_cue(const struct toks *k)
{
	return any_in_set(k, "nowcue") || has_seq(k, "right now") || has_seq(k, "on his|her way") ||
	       has_seq(k, "at the door");
}

/* "my boss is going to kill me if i'm late": a consequence after the threat, or someone who
 * says it in jest, with nothing frightening around it. */
static int figurative(const struct toks *k, size_t start, size_t end, const unsigned char *role)
{
	if (any_in_set(k, "fear"))
		return 0;
	const char *perp = NULL;
	for (size_t i = start; i < end; i++)
		if (role[i] == 1) {
			perp = k->t[i];
			break;
		}
	/* the word before the perpetrator: "my friends husband" is someone's husband */
	if (perp && in_set("figperp", perp))
		return 1;
	if (end < k->n && (tok_is(k, end, "if") || tok_is(k, end, "when") ||
			   tok_is(k, end, "unless") || tok_is(k, end, "for") ||
			   tok_is(k, end, "lol") || tok_is(k, end, "haha") || tok_is(k, end, "lmao"))) {
		/* "if i leave", "if i tell anyone" are real threats */
		for (size_t i = end + 1; i < end + 6 && i < k->n; i++)
			if (!strcmp(k->t[i], "leave") || !strcmp(k->t[i], "leaving") ||
			    !strcmp(k->t[i], "tell") || !strcmp(k->t[i], "police") ||
			    !strcmp(k->t[i], "report") || !strcmp(k->t[i], "anyone"))
				return 0;
		return 1;
	}
	return 0;
}

/* The perpetrator word of a match (the token the pattern's first element took), or "". */
static const char *perp_of(const struct toks *k, size_t start, size_t end,
			   const unsigned char *role)
{
	for (size_t i = start; i < end; i++)
		if (role[i] == 1)
			return k->t[i];
	return "";
}

/* "my friends husband hits me" never happens; "my friends husband" before "hits her" is
 * someone else's. A perpetrator right after a possessive of another person ("friends",
 * "sisters") makes a self pattern about someone else only when the object is not "me", which
 * the patterns already require, so nothing to do here. */

static int small_age(const char *w)
{
	int v = 0;
	for (size_t i = 0; w[i]; i++) {
		if (!isdigit((unsigned char)w[i]) || i > 2)
			return 0;
		v = v * 10 + (w[i] - '0');
	}
	return v > 0 && v < 18;
}

static int child_context(const struct toks *k)
{
	for (size_t i = 0; i + 1 < k->n; i++)
		if (tok_is(k, i, "am") && small_age(k->t[i + 1]))
			return 1;
	for (size_t i = 0; i + 2 < k->n; i++)
		if (small_age(k->t[i]) && tok_is(k, i + 1, "years") && tok_is(k, i + 2, "old"))
			return 1;
	return has_seq(k, "at school") || has_seq(k, "my teacher") || has_seq(k, "my parents");
}

static unsigned cat_bit(const char *c)
{
	if (!strcmp(c, HAVEN_DANGER_VIOLENCE))
		return HAVEN_DANGER_BIT_VIOLENCE;
	if (!strcmp(c, HAVEN_DANGER_SEXUAL))
		return HAVEN_DANGER_BIT_SEXUAL;
	if (!strcmp(c, HAVEN_DANGER_CHILD))
		return HAVEN_DANGER_BIT_CHILD;
	if (!strcmp(c, HAVEN_DANGER_DOMESTIC))
		return HAVEN_DANGER_BIT_DOMESTIC;
	return 0;
}

const char *haven_danger_level_name(enum haven_danger_level l)
{
	switch (l) {
	case HAVEN_DANGER_MEDICATION:
		return "medication";
	case HAVEN_DANGER_OTHER:
		return "other";
	case HAVEN_DANGER_DISCLOSED:
		return "disclosed";
	case HAVEN_DANGER_NOW:
		return "now";
	default:
		return "none";
	}
}

void haven_danger_screen(const char *text, size_t len, struct haven_danger_result *out)
{
	memset(out, 0, sizeof(*out));
	struct toks *k = malloc(sizeof(*k));
	if (!k)
		return;
	tokenize(text, len > 4000 ? 4000 : len, k);
	int hist = historical(k), nowc = now_cue(k), fear = any_in_set(k, "fear"),
	    child = child_context(k);
	unsigned char role[MAX_TOK];
	for (size_t ri = 0; ri < sizeof(rules) / sizeof(rules[0]); ri++) {
		const struct rule *r = &rules[ri];
		struct pat p;
		pat_parse(r->pattern, &p);
		for (size_t i = 0; i < k->n; i++) {
			size_t end = 0;
			memset(role, 0, sizeof(role));
			if (!match_at(&p, 0, k, i, &end, role) || end == i)
				continue;
			struct haven_danger_reason reason = {.rule = r->name,
							     .category = r->category,
							     .description = r->description};
			size_t o = 0;
			for (size_t t = i; t < end && o + 2 < sizeof(reason.phrase); t++) {
				int n = snprintf(reason.phrase + o, sizeof(reason.phrase) - o, "%s%s",
						 o ? " " : "", k->t[t]);
				if (n < 0)
					break;
				o += (size_t)n;
				if (o >= sizeof(reason.phrase))
					o = sizeof(reason.phrase) - 1;
			}
			const char *perp = perp_of(k, i, end, role);
			enum haven_danger_level lv = HAVEN_DANGER_NONE;
			switch (r->kind) {
			case K_NOW:
				lv = HAVEN_DANGER_NOW;
				break;
			case K_THREAT:
				lv = HAVEN_DANGER_NOW;
				if (figurative(k, i, end, role))
					reason.discounted_by = "figurative";
				break;
			case K_ABUSE:
				lv = nowc && !hist ? HAVEN_DANGER_NOW : HAVEN_DANGER_DISCLOSED;
				break;
			case K_NEEDCTX:
				lv = nowc && !hist ? HAVEN_DANGER_NOW : HAVEN_DANGER_DISCLOSED;
				if (!fear && !in_set("parent", perp) && !child &&
				    !has_seq(k, "private|privately|inappropriately|secret") &&
				    !has_seq(k, "down there"))
					reason.discounted_by = "no_sign_of_harm";
				break;
			case K_OTHER:
				lv = HAVEN_DANGER_OTHER;
				break;
			case K_MED:
				lv = HAVEN_DANGER_MEDICATION;
				break;
			}
			if (!reason.discounted_by && !(r->flags & F_NONEG) &&
			    negated(k, i, end, role))
				reason.discounted_by = "negated";
			/* who: a parent figure, or a child writing, is child abuse too */
			reason.bits = cat_bit(reason.category);
			if (r->kind != K_MED && r->kind != K_OTHER && (in_set("parent", perp) || child)) {
				reason.bits |= HAVEN_DANGER_BIT_CHILD;
				if (!strcmp(r->category, HAVEN_DANGER_DOMESTIC) ||
				    (!strcmp(r->category, HAVEN_DANGER_SEXUAL) && !hist))
					reason.category = HAVEN_DANGER_CHILD;
			}
			if (r->kind == K_OTHER) {
				for (size_t t = i; t < k->n && t < end + 2; t++)
					if (in_set("kids", k->t[t])) {
						reason.category = HAVEN_DANGER_CHILD;
						reason.bits |= HAVEN_DANGER_BIT_CHILD;
					}
			}
			reason.historical = hist && r->kind != K_MED;
			reason.level = reason.discounted_by ? HAVEN_DANGER_NONE : lv;
			/* one reason per rule and start; keep the first of a rule that counts */
			int dup = 0;
			for (size_t x = 0; x < out->n_reasons; x++)
				if (out->reasons[x].rule == reason.rule &&
				    (out->reasons[x].level >= reason.level))
					dup = 1;
			if (!dup && out->n_reasons < HAVEN_DANGER_MAX_REASONS)
				out->reasons[out->n_reasons++] = reason;
			break; /* the first match of this pattern is enough */
		}
	}
	/* Self outranks someone else: "he hits me and my kids" is the person's own danger. */
	for (size_t x = 0; x < out->n_reasons; x++) {
		struct haven_danger_reason *r = &out->reasons[x];
		if (r->level > out->level) {
			out->level = r->level;
			out->category = r->category;
			out->rule = r->rule;
			out->historical = r->historical;
		}
	}
	for (size_t x = 0; x < out->n_reasons; x++) {
		struct haven_danger_reason *r = &out->reasons[x];
		if (r->level == out->level && out->level >= HAVEN_DANGER_OTHER) {
			out->categories |= r->bits | cat_bit(r->category);
			if (!r->historical) {
				for (size_t ri = 0; ri < sizeof(rules) / sizeof(rules[0]); ri++)
					if (!strcmp(rules[ri].name, r->rule) &&
					    (rules[ri].flags & F_URGENT))
						out->urgent = 1;
				if (!strcmp(r->category, HAVEN_DANGER_CHILD))
					out->urgent = 1;
			}
		}
	}
	if (out->level == HAVEN_DANGER_NOW)
		out->urgent = 1;
	(void)fear;
	free(k);
}

/* ---- helplines ----
 * Facts: check each against the service's own website before changing it. Checked on
 * 2026-12-03 against published sources (the services' own pages where the search found
 * them; docs/safety.md lists each source): National Domestic Violence Hotline 800-799-7233
 * and text START to 88788 (ovc.ojp.gov, thehotline.org); RAINN 800-656-HOPE (4673)
 * (rainn.org); Childhelp 1-800-422-4453, call or text (childhelphotline.org and others);
 * National Domestic Abuse Helpline 0808 2000 247, free, 24 hours (refuge.org.uk); Childline
 * 0800 1111 (learning.nspcc.org.uk, under 19); Kids Help Phone 1-800-668-6868 and text
 * CONNECT to 686868 (kidshelpphone.ca); Kids Helpline 1800 55 1800; Women's Aid 1800 341 900
 * (womensaid.ie); National Rape Crisis Helpline 1800 77 88 88 (drcc.ie); ISPCC Childline
 * 1800 66 66 66 (ispcc.ie, under 18). NOT confirmed that day: Rape Crisis England and Wales
 * 0808 500 2222 (its support line's pages were found, without the number). 1800RESPECT's
 * digits 1800 737 732 were confirmed later that day from a news page (The Daily Aus, January
 * 2024), not the service's own. A region or category without a line here gets the international
 * directory (Canada has no national line for adults hurt by a partner: the Assaulted Women's
 * Helpline is Ontario's, and its number was not confirmed, so it is not listed). */

struct helpline {
	const char *region;
	unsigned bits; /* the categories it serves */
	const char *text;
};

#define B_DV (HAVEN_DANGER_BIT_DOMESTIC | HAVEN_DANGER_BIT_VIOLENCE)
static const struct helpline helplines[] = {
    {"US", B_DV, "the National Domestic Violence Hotline: call 1-800-799-7233 or text START to 88788"},
    {"US", HAVEN_DANGER_BIT_SEXUAL, "RAINN's National Sexual Assault Hotline: call 1-800-656-4673"},
    {"US", HAVEN_DANGER_BIT_CHILD, "the Childhelp National Child Abuse Hotline: call or text 1-800-422-4453"},
    {"GB", B_DV, "the National Domestic Abuse Helpline: call 0808 2000 247 (free, any time)"},
    {"GB", HAVEN_DANGER_BIT_SEXUAL, "Rape Crisis (England and Wales): call 0808 500 2222"},
    {"GB", HAVEN_DANGER_BIT_CHILD, "Childline: call 0800 1111 (free, for anyone under 19)"},
    {"CA", HAVEN_DANGER_BIT_CHILD, "Kids Help Phone: call 1-800-668-6868 or text CONNECT to 686868"},
    {"AU", B_DV | HAVEN_DANGER_BIT_SEXUAL, "1800RESPECT: call 1800 737 732"},
    {"AU", HAVEN_DANGER_BIT_CHILD, "Kids Helpline: call 1800 55 1800"},
    {"IE", B_DV, "Women's Aid: call 1800 341 900 (free, any time)"},
    {"IE", HAVEN_DANGER_BIT_SEXUAL, "the National Rape Crisis Helpline: call 1800 77 88 88"},
    {"IE", HAVEN_DANGER_BIT_CHILD, "Childline: call 1800 66 66 66"},
};

int haven_danger_helplines(const struct haven_crisis_lines *l, const struct haven_region *r,
			   unsigned categories, struct haven_buf *b)
{
	int rc = 0, n = 0;
	if (!categories)
		categories = HAVEN_DANGER_BIT_DOMESTIC;
	for (size_t i = 0; i < sizeof(helplines) / sizeof(helplines[0]) && !rc; i++) {
		if (strcmp(helplines[i].region, r->code) || !(helplines[i].bits & categories))
			continue;
		rc = haven_buf_printf(b, "%s%s", n ? "; " : "You can talk in confidence to ",
				      helplines[i].text);
		n++;
	}
	if (!rc && n)
		rc = haven_buf_puts(b, ".");
	if (!rc && !n)
		rc = haven_buf_printf(b, "Free, confidential helplines for people being hurt by "
					 "someone are listed at %s.",
				      l->intl->directory);
	return rc;
}

static const char *const replies[][2] = {
    {"now", "I'm really glad you told me, and I'm taking this seriously. You deserve to be "
	    "safe. If you are in danger right now, please call {emergency} now, if you can do "
	    "it safely, or go to a place where there are other people. What someone else does "
	    "to you is never your fault. {helplines} I've let your care team know. I'm here "
	    "with you."},
    /* The same without a care team (no clinician would see the alert): no claim that
     * anyone was told. */
    {"now_no_team", "I'm really glad you told me, and I'm taking this seriously. You deserve "
		    "to be safe. If you are in danger right now, please call {emergency} now, if "
		    "you can do it safely, or go to a place where there are other people. What "
		    "someone else does to you is never your fault. {helplines} I can't contact "
		    "anyone for you from here, so please reach out to them when you can do it "
		    "safely. I'm here with you."},
    {"disclosed", "Thank you for telling me; I know that can be really hard to say, and I "
		  "believe you. What happened is not your fault, and you deserve to be safe. "
		  "{helplines} They are free and confidential, and they can talk things "
		  "through with you at your own pace; you don't have to decide anything now. "
		  "I've let your care team know so that they can support you. If you are ever in "
		  "danger, call {emergency}."},
    {"disclosed_no_team", "Thank you for telling me; I know that can be really hard to say, "
			  "and I believe you. What happened is not your fault, and you deserve "
			  "to be safe. {helplines} They are free and confidential, and they can "
			  "talk things through with you at your own pace; you don't have to "
			  "decide anything now. If you have a doctor or someone you trust, they "
			  "can support you too. If you are ever in danger, call {emergency}."},
    {"other", "It's kind of you to look out for them, and it can be frightening to see. What "
	      "is happening to them is not their fault. If they are in danger right now, call "
	      "{emergency}. {helplines} These services also talk with friends and family who "
	      "are worried about someone. Supporting someone through this is heavy, and you "
	      "matter too. Is there someone you can talk to about how this is for you?"},
    {"confirm", "I hear you, and I'm glad. I want to be sure you're safe, so I'll ask once, "
		"clearly: right now, are you in danger from anyone, or having any thoughts of "
		"hurting yourself?"},
    {"stay_note", "{helplines}"},
};

int haven_danger_reply(const char *which, const struct haven_crisis_lines *l,
		       const struct haven_region *r, unsigned categories, int care_team,
		       struct haven_buf *b)
{
	const char *text = NULL;
	char alt[48];
	snprintf(alt, sizeof(alt), "%s_no_team", which);
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++)
		if (!strcmp(replies[i][0], which) && !text)
			text = replies[i][1];
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]) && !care_team; i++)
		if (!strcmp(replies[i][0], alt))
			text = replies[i][1];
	if (!text)
		return HAVEN_EINVAL;
	int rc = 0;
	for (const char *p = text; *p && !rc;) {
		const char *o = strchr(p, '{');
		if (!o)
			return haven_buf_puts(b, p);
		if ((rc = haven_buf_append(b, p, (size_t)(o - p))))
			return rc;
		const char *e = strchr(o, '}');
		if (!e)
			return haven_buf_puts(b, o);
		size_t n = (size_t)(e - o - 1);
		if (n == 9 && !strncmp(o + 1, "emergency", 9))
			rc = haven_buf_puts(b, r->emergency);
		else if (n == 5 && !strncmp(o + 1, "lines", 5))
			rc = haven_region_lines_text(l, r, b);
		else if (n == 9 && !strncmp(o + 1, "helplines", 9))
			rc = haven_danger_helplines(l, r, categories, b);
		p = e + 1;
	}
	return rc;
}
