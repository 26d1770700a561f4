/* test_crisis.c: the crisis lexicon's format and validation, and the screen's reading of
 * each category, negation, figures of speech, worry about others, hypotheticals, slang and
 * misspellings. The tests run from the repository root (content/lexicon/crisis-v1.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "nlp/crisis.h"

#define LEXICON "content/lexicon/crisis-v1.txt"

static void parse_fails(const char *text, const char *want)
{
	struct haven_crisis_lexicon *lex = (void *)1;
	char err[512];
	ASSERT_EQ(haven_crisis_lexicon_parse(text, strlen(text), "t.txt", &lex, err, sizeof(err)),
		  HAVEN_EINVAL);
	ASSERT(lex == NULL);
	ASSERT_CONTAINS(err, want);
}

TEST(crisis_lexicon_errors_name_file_and_line)
{
	parse_fails("ideation high want to die\n", "t.txt:1: the lexicon must start with '@version");
	parse_fails("@version t\n\n# c\nbogus high want\n", "t.txt:4: unknown category 'bogus'");
	parse_fails("@version t\nideation extreme die\n", "t.txt:2: unknown level 'extreme'");
	parse_fails("@version t\nideation - die\n", "t.txt:2: category 'ideation' needs a level");
	parse_fails("@version t\nnegation high not\n", "t.txt:2: category 'negation' is a context cue");
	parse_fails("@version t\nideation high\n", "t.txt:2: missing pattern after the level");
	parse_fails("@version t\nideation\n", "t.txt:2: missing level and pattern");
	parse_fails("@version t\nideation high $NOPE die\n", "t.txt:2: unknown set '$NOPE'");
	parse_fails("@version t\nideation high * die\n", "t.txt:2: a pattern cannot start with a gap");
	parse_fails("@version t\nideation high die *\n", "t.txt:2: a pattern cannot end with a gap");
	parse_fails("@version t\nideation high a * * b\n", "t.txt:2: two gaps");
	parse_fails("@version t\nideation high ~|a\n", "t.txt:2: the pattern can match an empty text");
	parse_fails("@version t\n@set A a|b\n@set A c\n", "t.txt:3: set 'A' is defined twice");
	parse_fails("@version t\nideation high a||b\n", "t.txt:2: empty alternative");
	parse_fails("@version t\nideation high \xC3\x28\n", "t.txt:2: invalid UTF-8");
	parse_fails("@version t\n", "the lexicon has no patterns");
	parse_fails("@version t\n@frob x\n", "t.txt:2: unknown directive '@frob'");
	parse_fails("@version t\n@spell miself\n", "t.txt:2: @spell needs a WORD");
	parse_fails("@version t\n@spell mi a_b\n", "t.txt:2: @spell: 'a_b' must be a single word");
	parse_fails("@version t\n@spell mi i\n@spell mii my\n", "t.txt:3: @spell: 'mii' is given twice");
}

TEST(crisis_lexicon_missing_file_is_clear)
{
	struct haven_crisis_lexicon *lex;
	char err[512];
	ASSERT_EQ(haven_crisis_lexicon_load("/nonexistent/crisis.txt", &lex, err, sizeof(err)),
		  HAVEN_ENOTFOUND);
	ASSERT_CONTAINS(err, "/nonexistent/crisis.txt: cannot open the crisis lexicon");
}

TEST(crisis_shipped_lexicon_loads)
{
	struct haven_crisis_lexicon *lex;
	char err[512] = "";
	int rc = haven_crisis_lexicon_load(LEXICON, &lex, err, sizeof(err));
	if (rc)
		haven_test_fail(__FILE__, __LINE__, "%s", err);
	ASSERT_STR_EQ(haven_crisis_lexicon_version(lex), "crisis-v1.9.1");
	ASSERT(haven_crisis_lexicon_size(lex) > 300);
	haven_crisis_lexicon_destroy(&lex);
	ASSERT(lex == NULL);
}

static struct haven_crisis *screen(void)
{
	struct haven_crisis *c;
	char err[512] = "";
	/* The lexicon alone: these tests pin down the rules, not the classifier. */
	if (haven_crisis_create(LEXICON, "", &c, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "%s", err);
	return c;
}

static struct haven_crisis_result res;

static enum haven_risk_level level(struct haven_crisis *c, const char *text)
{
	haven_crisis_assess(c, text, strlen(text), &res);
	return res.level;
}

#define EXPECT_WITH(screen_, text, lvl)                                                      \
	do {                                                                                \
		enum haven_risk_level got_ = level(screen_, text);                          \
		if (got_ != (lvl))                                                          \
			haven_test_fail(__FILE__, __LINE__, "\"%s\": %s, expected %s", text, \
					haven_risk_level_name(got_),                       \
					haven_risk_level_name(lvl));                       \
	} while (0)

#define EXPECT(text, lvl) EXPECT_WITH(c, text, lvl)

TEST(crisis_categories)
{
	struct haven_crisis *c = screen();
	EXPECT("i want to kill myself", HAVEN_RISK_HIGH);
	ASSERT_STR_EQ(res.reasons[0].rule, "suicidal_thoughts");
	ASSERT_STR_EQ(res.reasons[0].phrase, "want to kill myself");
	ASSERT_EQ(res.reasons[0].start, 2);
	ASSERT_EQ(res.reasons[0].end, 21);
	ASSERT(res.reasons[0].lexicon_line > 0);
	ASSERT_STR_EQ(res.lexicon_version, "crisis-v1.9.1");
	ASSERT(res.model_version == NULL && !res.model_used);
	ASSERT(res.score >= 0.8 && res.score <= 1.0);
	EXPECT("wish I could sleep and never wake up", HAVEN_RISK_MODERATE);
	ASSERT_STR_EQ(res.reasons[0].rule, "passive_wish");
	EXPECT("everyone would be better off without me", HAVEN_RISK_MODERATE);
	EXPECT("I'm going to jump off the bridge tonight", HAVEN_RISK_HIGH);
	ASSERT_STR_EQ(res.reasons[0].rule, "plan");
	EXPECT("i'm going to kill myself", HAVEN_RISK_HIGH);
	ASSERT_STR_EQ(res.reasons[0].rule, "intent");
	EXPECT("I've been saving my pills", HAVEN_RISK_HIGH);
	ASSERT_STR_EQ(res.reasons[0].rule, "means");
	EXPECT("bought a rope", HAVEN_RISK_HIGH);
	EXPECT("wrote letters to everyone", HAVEN_RISK_HIGH);
	ASSERT_STR_EQ(res.reasons[0].rule, "preparation");
	EXPECT("giving my stuff away", HAVEN_RISK_HIGH);
	EXPECT("this is my last message, goodbye everyone", HAVEN_RISK_HIGH);
	ASSERT_STR_EQ(res.reasons[0].rule, "goodbye");
	EXPECT("i cut myself again", HAVEN_RISK_HIGH);
	EXPECT("i keep burning myself", HAVEN_RISK_HIGH);
	EXPECT("i want to hurt myself", HAVEN_RISK_HIGH);
	EXPECT("I tried to kill myself last year", HAVEN_RISK_MODERATE);
	ASSERT_STR_EQ(res.reasons[0].rule, "past_attempt");
	EXPECT("i tried to kill myself last night", HAVEN_RISK_HIGH);
	EXPECT("there's no reason to live", HAVEN_RISK_MODERATE);
	EXPECT("I feel awful", HAVEN_RISK_LOW);
	EXPECT("so stressed", HAVEN_RISK_LOW);
	EXPECT("hey, how are you?", HAVEN_RISK_NONE);
	ASSERT_EQ(res.n_reasons, 0);
	haven_crisis_destroy(&c);
	ASSERT(c == NULL);
}

TEST(crisis_negation)
{
	struct haven_crisis *c = screen();
	EXPECT("I would never kill myself", HAVEN_RISK_NONE);
	ASSERT(res.flags & HAVEN_CRISIS_NEGATED);
	ASSERT(res.reasons[0].discounted_by & HAVEN_CRISIS_NEGATED);
	EXPECT("i'm not suicidal", HAVEN_RISK_NONE);
	EXPECT("i don't want to die", HAVEN_RISK_NONE);
	/* A negation of life is not a negation of risk. */
	EXPECT("I don't want to live anymore", HAVEN_RISK_HIGH);
	EXPECT("i dont want to be alive", HAVEN_RISK_HIGH);
	EXPECT("i can't stop thinking about killing myself", HAVEN_RISK_HIGH);
	/* A new subject ends the negation's reach. */
	EXPECT("im not ok i want to die", HAVEN_RISK_HIGH);
	EXPECT("i'm not fine, i want to die", HAVEN_RISK_HIGH);
	haven_crisis_destroy(&c);
}

TEST(crisis_figures_of_speech)
{
	struct haven_crisis *c = screen();
	const char *none[] = {
		"this traffic is killing me", "I could kill for a pizza", "dying of laughter",
		"my phone is dead", "I'm dead \xF0\x9F\x98\x82", "this exam will be the death of me",
		"kill the lights", "i want to die my hair pink", "i overdosed on caffeine lol",
		"cut myself shaving", "i want to end things with my boyfriend",
		"i'd rather die than go to that party", "bye everyone see you tomorrow",
		"this is my last day at work", "i'm killing myself studying for finals",
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		EXPECT(none[i], HAVEN_RISK_NONE);
	EXPECT("this traffic is killing me", HAVEN_RISK_NONE);
	ASSERT(res.flags & HAVEN_CRISIS_FIGURATIVE);
	/* A figure of speech at the tail of a longer phrase does not hide it. */
	EXPECT("i'm going to starve myself to death", HAVEN_RISK_HIGH);
	haven_crisis_destroy(&c);
}

TEST(crisis_about_other_and_hypothetical)
{
	struct haven_crisis *c = screen();
	EXPECT("my friend wants to kill herself", HAVEN_RISK_LOW);
	ASSERT(res.flags & HAVEN_CRISIS_ABOUT_OTHER);
	EXPECT("my sister has been cutting herself", HAVEN_RISK_LOW);
	ASSERT(res.flags & HAVEN_CRISIS_ABOUT_OTHER);
	EXPECT("my friend is depressed and wants to die", HAVEN_RISK_LOW);
	EXPECT("what should I do if someone is suicidal", HAVEN_RISK_NONE);
	ASSERT(res.flags & HAVEN_CRISIS_HYPOTHETICAL);
	EXPECT("is it normal to think about death", HAVEN_RISK_NONE);
	EXPECT("what are the warning signs of suicide", HAVEN_RISK_NONE);
	/* A question in the first person about one's own wish is still asked about. */
	EXPECT("is it normal to want to die", HAVEN_RISK_MODERATE);
	EXPECT("what if i just killed myself", HAVEN_RISK_HIGH);
	/* Reported speech, quotations, words aimed at others. */
	EXPECT("he told me to kill myself", HAVEN_RISK_MODERATE);
	ASSERT(res.flags & HAVEN_CRISIS_REPORTED);
	EXPECT("the song goes \"i want to die\"", HAVEN_RISK_NONE);
	ASSERT(res.flags & HAVEN_CRISIS_QUOTED);
	EXPECT("lol kys", HAVEN_RISK_LOW);
	ASSERT(res.flags & HAVEN_CRISIS_DIRECTED);
	haven_crisis_destroy(&c);
}

TEST(crisis_slang_and_misspellings)
{
	struct haven_crisis *c = screen();
	const char *high[] = {
		"kms", "i should just kys", "gonna unalive myself", "sewer slide",
		"wanna die", "im so suicidial", "i want to end it all", "ctb tonight",
		"i wanna diiiiie", "I WANT TO DIE", "i want to k1ll myself", "i wanna kill myslef",
		"i dont wanna live anymore", "i don\xE2\x80\x99t want to live", "i wnat to die",
		"sucidal again", "i want to die \xF0\x9F\x98\xAD",
	};
	for (size_t i = 0; i < sizeof(high) / sizeof(high[0]); i++)
		EXPECT(high[i], HAVEN_RISK_HIGH);
	EXPECT("i just want to not be here anymore", HAVEN_RISK_HIGH);
	/* Laughter around slang: ambiguous, so asked about rather than escalated. */
	EXPECT("kms lol", HAVEN_RISK_MODERATE);
	ASSERT(res.flags & HAVEN_CRISIS_HUMOUR);
	EXPECT("i want to die lol everything is pointless", HAVEN_RISK_MODERATE);
	/* Aimed at an everyday thing, it is a figure of speech. */
	EXPECT("kms lol this homework", HAVEN_RISK_NONE);
	ASSERT(res.flags & HAVEN_CRISIS_FIGURATIVE);
	/* Laughter with an everyday annoyance named is a joke; without laughter, or with
	 * a time named, it is not. */
	EXPECT("my team is trash im gonna off myself lol jk", HAVEN_RISK_NONE);
	EXPECT("if we lose this match im jumping off a cliff lmao", HAVEN_RISK_NONE);
	EXPECT("if we lose this match im jumping off a cliff", HAVEN_RISK_HIGH);
	EXPECT("if we lose this match im jumping off a cliff tonight lol", HAVEN_RISK_HIGH);
	EXPECT("i cut again lol this lag", HAVEN_RISK_HIGH);
	/* A time named turns a wish into a plan. */
	EXPECT("i want to die tonight", HAVEN_RISK_HIGH);
	haven_crisis_destroy(&c);
}

/* Version 1.1 and 1.2 rules: words run together, disguised letters, signs that count
 * together, a negation that runs into the phrase, "but not anymore". */
TEST(crisis_joined_words_and_disguised_letters)
{
	struct haven_crisis *c = screen();
	EXPECT("iwanttodie", HAVEN_RISK_HIGH);
	ASSERT_EQ(res.reasons[0].start, 0);
	ASSERT_EQ(res.reasons[0].end, 10);
	EXPECT("idontwanttolive anymore", HAVEN_RISK_HIGH);
	EXPECT("killmyself", HAVEN_RISK_HIGH);
	/* A match must take two pieces of a run-together word: "passive" is not "pass ive",
	 * so this stays a question about the topic. */
	EXPECT("what does passive suicidal ideation mean", HAVEN_RISK_NONE);
	EXPECT("i wanna k!ll myself", HAVEN_RISK_HIGH);
	EXPECT("thinking about su!c!de", HAVEN_RISK_HIGH);
	/* A sentence end is still a sentence end. */
	EXPECT("wow! kill the lights", HAVEN_RISK_NONE);
	haven_crisis_destroy(&c);
}

TEST(crisis_signs_together)
{
	struct haven_crisis *c = screen();
	/* Each alone is a moderate; together a goodbye. */
	EXPECT("sorry for everything", HAVEN_RISK_MODERATE);
	EXPECT("sorry for everything. goodbye", HAVEN_RISK_HIGH);
	int combined = 0;
	for (size_t i = 0; i < res.n_reasons; i++)
		combined |= !strcmp(res.reasons[i].rule, "combined");
	ASSERT(combined);
	EXPECT("goodbye everyone, this is the end", HAVEN_RISK_HIGH);
	EXPECT("gave my cat to my neighbour so she's looked after when im gone", HAVEN_RISK_HIGH);
	/* A goodbye word inside a figure of speech counts for nothing. */
	EXPECT("thanks for everything, bye see you tomorrow", HAVEN_RISK_NONE);
	/* Two weak signs: asked about, not escalated. */
	EXPECT("cleaned my room and left my passwords on a note for mum", HAVEN_RISK_MODERATE);
	EXPECT("cleaned my room", HAVEN_RISK_NONE);
	haven_crisis_destroy(&c);
}

TEST(crisis_negation_and_resolution)
{
	struct haven_crisis *c = screen();
	EXPECT("no thoughts of hurting myself, just annoyed", HAVEN_RISK_NONE);
	EXPECT("i used to want to die but not anymore", HAVEN_RISK_NONE);
	ASSERT(res.flags & HAVEN_CRISIS_NEGATED);
	EXPECT("i want to die", HAVEN_RISK_HIGH);
	/* A plan's method named before a figure is not swallowed by it; a figure that starts
	 * at the phrase's verb still is. */
	EXPECT("how much paracetamol would kill me", HAVEN_RISK_HIGH);
	EXPECT("gonna hang out at the mall later", HAVEN_RISK_NONE);
	EXPECT("is suicide hereditary", HAVEN_RISK_NONE);
	haven_crisis_destroy(&c);
}

TEST(crisis_whose_words)
{
	struct haven_crisis *c = screen();
	/* "soon" is not "son" once repeated letters are folded. */
	EXPECT("it'll all be over soon", HAVEN_RISK_MODERATE);
	EXPECT("my son keeps saying he wants to die", HAVEN_RISK_LOW);
	ASSERT(res.flags & HAVEN_CRISIS_ABOUT_OTHER);
	/* "Asking for a friend" is the writer asking. */
	EXPECT("asking for a friend whats the lethal dose of amitriptyline", HAVEN_RISK_HIGH);
	/* A preparation is the writer's own unless someone else is doing it; the person it
	 * is for is not its subject. */
	EXPECT("my dad's been giving his stuff away and i'm worried", HAVEN_RISK_LOW);
	EXPECT("wrote my little brother a letter explaining it wasnt his fault", HAVEN_RISK_HIGH);
	/* "can't stop" is not a negation. */
	EXPECT("cant stop thinking about stepping in front of the train", HAVEN_RISK_HIGH);
	/* A recovery milestone is not a disclosure. */
	EXPECT("two years today since i last self harmed", HAVEN_RISK_NONE);
	EXPECT("i used to want to die but i dont anymore, therapy actually worked",
	       HAVEN_RISK_NONE);
	haven_crisis_destroy(&c);
}

TEST(crisis_any_bytes)
{
	struct haven_crisis *c = screen();
	EXPECT("", HAVEN_RISK_NONE);
	haven_crisis_assess(c, "want\0to die", 11, &res);
	haven_crisis_assess(c, "\xFF\xFE kill myself \xC3", 16, &res);
	ASSERT_EQ(res.level, HAVEN_RISK_HIGH);
	size_t n = HAVEN_CRISIS_MAX_TEXT + 100;
	char *big = malloc(n);
	ASSERT(big);
	for (size_t i = 0; i < n; i++)
		big[i] = "ab die "[i % 7];
	haven_crisis_assess(c, big, n, &res);
	ASSERT(res.flags & HAVEN_CRISIS_TRUNCATED);
	free(big);
	haven_crisis_destroy(&c);
}

/* Lexicon 1.4: a high place visited for the view, a game's drop ship, a will made for a
 * house, a team that keeps losing; and colleagues, pupils and twins as someone else. The
 * same places and words with a time and nothing else stay plans. */
TEST(crisis_views_wills_and_workmates)
{
	struct haven_crisis *c = screen();
	EXPECT("going up to the bridge tomorrow night to watch the fireworks", HAVEN_RISK_NONE);
	EXPECT("going up to the bridge tomorrow night, this is it", HAVEN_RISK_HIGH);
	EXPECT("going to the bridge tonight", HAVEN_RISK_HIGH);
	EXPECT("jumped off the battle bus too early and died instantly", HAVEN_RISK_NONE);
	EXPECT("wrote my will today cos we're buying a house", HAVEN_RISK_NONE);
	EXPECT("updated my life insurance now the baby's here", HAVEN_RISK_NONE);
	EXPECT("if spurs lose again i'm jumping off a bridge 😂", HAVEN_RISK_NONE);
	EXPECT("one of my staff mentioned ending it all", HAVEN_RISK_LOW);
	EXPECT("my twin keeps saying she wants to die", HAVEN_RISK_LOW);
	EXPECT("i want to die", HAVEN_RISK_HIGH);
	haven_crisis_destroy(&c);
}

/* Lexicon 1.5, written from the kinds of phrasing blind6's first run missed, checked here
 * on other wordings of the same kinds (not blind6's own messages), and the everyday uses
 * of the same words that must stay quiet. */
TEST(crisis_acts_arrangements_and_safety)
{
	struct haven_crisis *c = screen();
	/* An overdose or poison already taken, told by amount, substance or symptoms. */
	EXPECT("i just took 25 of my citalopram", HAVEN_RISK_HIGH);
	EXPECT("i took the lot like 10 mins ago", HAVEN_RISK_HIGH);
	EXPECT("i swallowed all of them and now im so dizzy", HAVEN_RISK_HIGH);
	EXPECT("drank some weedkiller from the shed", HAVEN_RISK_HIGH);
	EXPECT("what happens if you take 50 sertraline cause i already did", HAVEN_RISK_HIGH);
	EXPECT("i took all of them to school 20 min ago", HAVEN_RISK_NONE);
	EXPECT("drank some bleach by accident, just the smell really", HAVEN_RISK_NONE);
	/* Preparations that name no death. */
	EXPECT("he doesnt know its forever. i left him my bike", HAVEN_RISK_HIGH);
	EXPECT("ive been giving my records away, wont need them", HAVEN_RISK_HIGH);
	EXPECT("passwords and the will are in the drawer for whoever finds me", HAVEN_RISK_HIGH);
	EXPECT("left the door unlocked so the police find me not my kids", HAVEN_RISK_HIGH);
	EXPECT("i already wrote the goodbye letters", HAVEN_RISK_HIGH);
	EXPECT("been giving my old clothes away to charity, wont need them in the new flat",
	       HAVEN_RISK_NONE);
	EXPECT("finished my letter of recommendation for her", HAVEN_RISK_NONE);
	/* Plans as a condition or a place; means gathered as an errand. */
	EXPECT("waiting for my wife to go to work then its done", HAVEN_RISK_HIGH);
	EXPECT("thinking the viaduct, when nobodys around", HAVEN_RISK_HIGH);
	EXPECT("im gonna be gone for good and i dont mean moving", HAVEN_RISK_HIGH);
	EXPECT("been hiding my sleeping tablets instead of taking them", HAVEN_RISK_HIGH);
	EXPECT("stocked up on co codamol", HAVEN_RISK_HIGH);
	EXPECT("stocked up on paracetamol for flu season", HAVEN_RISK_NONE);
	EXPECT("sunday is the one day i get to rest", HAVEN_RISK_NONE);
	/* A time alone, a deadline, a goodbye with no death word. */
	EXPECT("tonight. thats all im saying", HAVEN_RISK_HIGH);
	EXPECT("i give myself till the end of the month then im done", HAVEN_RISK_HIGH);
	EXPECT("if i stop replying its because im dead", HAVEN_RISK_HIGH);
	EXPECT("please tell my mum it wasnt her fault", HAVEN_RISK_HIGH);
	EXPECT("i have till friday then i stop working for the holidays", HAVEN_RISK_NONE);
	EXPECT("its time for me to go now, my bus is here", HAVEN_RISK_NONE);
	EXPECT("counting down the days till christmas, 3 days left", HAVEN_RISK_NONE);
	/* Oblique questions about methods; one's own safety. */
	EXPECT("does it hurt to hang yourself", HAVEN_RISK_HIGH);
	EXPECT("what floor does a fall have to be from to be fatal", HAVEN_RISK_HIGH);
	EXPECT("i cant guarantee ill stay safe tonight", HAVEN_RISK_HIGH);
	EXPECT("i dont feel safe around myself right now", HAVEN_RISK_HIGH);
	EXPECT("im not safe tonight", HAVEN_RISK_HIGH);
	EXPECT("im not safe driving in this snow", HAVEN_RISK_NONE);
	EXPECT("i dont trust myself with money", HAVEN_RISK_NONE);
	/* Caribbean and second-language English; passive wishes. */
	EXPECT("mi waan dead", HAVEN_RISK_HIGH);
	EXPECT("me cyaan take it no more", HAVEN_RISK_MODERATE);
	EXPECT("i am finished, my life has no meaning", HAVEN_RISK_MODERATE);
	EXPECT("heaven would be better than this life", HAVEN_RISK_MODERATE);
	EXPECT("i would welcome a car crash honestly", HAVEN_RISK_MODERATE);
	EXPECT("i dont want to die i just want to stop existing", HAVEN_RISK_MODERATE);
	EXPECT("id rather be dead than go back there", HAVEN_RISK_MODERATE);
	EXPECT("id rather be dead than wear crocs", HAVEN_RISK_NONE);
	EXPECT("dont know how long i can keep going", HAVEN_RISK_MODERATE);
	EXPECT("dunno how much longer i can hold on at this job", HAVEN_RISK_NONE);
	/* Self-harm told by its marks or a household object. */
	EXPECT("20 new lines on my thigh", HAVEN_RISK_HIGH);
	EXPECT("been burning my arm with a lighter", HAVEN_RISK_HIGH);
	EXPECT("ive been burning myself with the iron, so clumsy", HAVEN_RISK_NONE);
	/* Intent stays high beside laughter; a joke about a trivial thing is not a crisis. */
	EXPECT("im gonna neck myself lmao", HAVEN_RISK_HIGH);
	EXPECT("need to kms fr haha", HAVEN_RISK_HIGH);
	EXPECT("if i have to go to church again im gonna unalive myself lol", HAVEN_RISK_NONE);
	EXPECT("writing my will before i try the one chip challenge", HAVEN_RISK_NONE);
	EXPECT("tell everyone i loved them, im going to ikea on a saturday 💀", HAVEN_RISK_NONE);
	EXPECT("got an 8am tomorrow, goodbye cruel world", HAVEN_RISK_NONE);
	EXPECT("i want to die this is so embarrassing", HAVEN_RISK_NONE);
	EXPECT("this traffic will be the death of me", HAVEN_RISK_NONE);
	/* Everyday trying, recovery milestones. */
	EXPECT("tried pilates, hated it, will try again next week", HAVEN_RISK_NONE);
	EXPECT("tried the breathing exercise last night", HAVEN_RISK_NONE);
	EXPECT("6 months self harm free today", HAVEN_RISK_NONE);
	/* Someone else's goodbye or arrangements: the helping-others flow. */
	EXPECT("my brother keeps giving his things away and i'm scared", HAVEN_RISK_LOW);
	ASSERT(res.flags & HAVEN_CRISIS_ABOUT_OTHER);
	EXPECT("my mate sent me thanks for everything and now hes not answering", HAVEN_RISK_LOW);
	ASSERT(res.flags & HAVEN_CRISIS_ABOUT_OTHER);
	/* Distress about one thing, without a death wish. */
	EXPECT("theres no way out of this overdraft", HAVEN_RISK_NONE);
	EXPECT("whats the point of revising for maths", HAVEN_RISK_NONE);
	haven_crisis_destroy(&c);
}

/* Lexicon 1.6 (written from blind7's first run, checked here on other wordings of each
 * kind): an act said to be meant is no accident or figure; euphemisms and plans as a place
 * or a means; intent with only a pronoun; a command voice; self-harm under way; passive
 * wishes in religious and bodily terms; recovery milestones; hyperbole about trifles. */
TEST(crisis_meant_acts_euphemisms_and_milestones)
{
	struct haven_crisis *c = screen();
	/* Meant: "on purpose" undoes the accident reading, "if you know what i mean" the
	 * figure and the "you". */
	EXPECT("held my hand on the hob on purpose to feel something", HAVEN_RISK_HIGH);
	EXPECT("burnt myself on the kettle deliberately again", HAVEN_RISK_HIGH);
	EXPECT("burnt myself on the kettle making tea, ouch", HAVEN_RISK_NONE);
	EXPECT("might take the train tonight if you know what i mean", HAVEN_RISK_HIGH);
	EXPECT("taking the train tonight to see my gran", HAVEN_RISK_NONE);
	EXPECT("been thinking of catching the train lately, the permanent kind", HAVEN_RISK_MODERATE);
	/* Plans as a means or a place and no way back. */
	EXPECT("the plan is the rope in the garage", HAVEN_RISK_HIGH);
	EXPECT("my plan is to take all my tablets at once", HAVEN_RISK_HIGH);
	EXPECT("my plan is to take my tablets with breakfast from now on", HAVEN_RISK_NONE);
	EXPECT("gonna walk out to the cliffs and never come back", HAVEN_RISK_MODERATE);
	EXPECT("gonna walk to the cliffs tomorrow and never come back", HAVEN_RISK_HIGH);
	EXPECT("i wish i could go on holiday and never come back", HAVEN_RISK_NONE);
	/* Intent with only a pronoun; acting on the thoughts; a command voice. */
	EXPECT("it was only thoughts for months but now i'm going to do it", HAVEN_RISK_HIGH);
	EXPECT("i think im finally going to act on the urges", HAVEN_RISK_HIGH);
	EXPECT("the voices keep telling me to end it all", HAVEN_RISK_HIGH);
	/* Self-harm under way or just done, told as an act. */
	EXPECT("im cutting rn and i cant stop", HAVEN_RISK_HIGH);
	EXPECT("argued with dad and went and cut again", HAVEN_RISK_HIGH);
	EXPECT("ended up cutting the grass before the rain", HAVEN_RISK_NONE);
	/* Passive wishes: religious, bodily, after complaints. */
	EXPECT("dear god please just take me home", HAVEN_RISK_MODERATE);
	EXPECT("my heart is failing and honestly i dont care", HAVEN_RISK_MODERATE);
	EXPECT("i hope my heart just stops in my sleep", HAVEN_RISK_MODERATE);
	EXPECT("long day, sore back, and i wouldnt mind if i didnt wake up", HAVEN_RISK_MODERATE);
	/* A dialect goodbye: two weak signs together ask. */
	EXPECT("ahm off tae be wi ma mam now. dinnae greet", HAVEN_RISK_MODERATE);
	/* Recovery milestones and wishes said to be over. */
	EXPECT("one year clean from self harm today", HAVEN_RISK_NONE);
	EXPECT("three years since my overdose and im thriving", HAVEN_RISK_NONE);
	EXPECT("i used to want to die every day but havent for months", HAVEN_RISK_NONE);
	EXPECT("i used to want to die every day and i still do", HAVEN_RISK_HIGH);
	EXPECT("around this time last year i felt awful", HAVEN_RISK_LOW);
	EXPECT("by this time next week i wont be here", HAVEN_RISK_HIGH);
	EXPECT("this time i will get the recipe right", HAVEN_RISK_NONE);
	EXPECT("this time it will work, i've got enough tablets", HAVEN_RISK_HIGH);
	/* Hyperbole about trifles; someone (or something) else wanting to harm me. */
	EXPECT("that spin class nearly finished me off", HAVEN_RISK_NONE);
	EXPECT("this staircase is how i'll die honestly", HAVEN_RISK_NONE);
	EXPECT("melting out here, i'm dying in this heat", HAVEN_RISK_NONE);
	EXPECT("twelve hour shift, kill me now lol", HAVEN_RISK_NONE);
	EXPECT("my toddler looks like she wants to murder me when i say no", HAVEN_RISK_NONE);
	haven_crisis_destroy(&c);
}

/* Lexicon and engine 1.8 (written from blind10's and blind11's first runs, checked here on
 * other wordings of each kind): someone else's words, quoted or reported; history said to
 * be over in a later sentence; a place beside a goodbye; the voice in the head; negations
 * that belong to another phrase or say yes; everyday uses that tripped the screen. */
TEST(crisis_others_words_history_places_and_voices)
{
	struct haven_crisis *c = screen();
	/* Other Englishes' spellings read as the words the patterns use (@spell). */
	EXPECT("mi a tink bout kill miself", HAVEN_RISK_HIGH);
	EXPECT("cannae be bothered wi living anymore", HAVEN_RISK_MODERATE);
	EXPECT("cant be bothered living anymore", HAVEN_RISK_MODERATE);
	EXPECT("cant be bothered with the washing up", HAVEN_RISK_NONE);
	EXPECT("mi give weh all mi clothes, mi nah need dem again", HAVEN_RISK_HIGH);
	EXPECT("i cannae wait for the weekend", HAVEN_RISK_NONE);
	EXPECT("mi gonna kill miself laughing", HAVEN_RISK_NONE);
	/* Asking whether others feel so tells that the writer does (asks_self). */
	EXPECT("is it normal to want to die", HAVEN_RISK_MODERATE);
	EXPECT("is it normal to think about taking your own life", HAVEN_RISK_MODERATE);
	EXPECT("do other nurses think about eating a bullet or is it just me", HAVEN_RISK_MODERATE);
	EXPECT("is it normal to think about death", HAVEN_RISK_NONE);
	EXPECT("is it normal to feel sad after a breakup", HAVEN_RISK_LOW);
	EXPECT("is it normal for my son to want to die", HAVEN_RISK_LOW);
	/* Prison, the street, starving, stockpiles. */
	EXPECT("rather be dead than go back inside", HAVEN_RISK_MODERATE);
	EXPECT("death couldnt be worse than this place", HAVEN_RISK_MODERATE);
	EXPECT("drink or the cold, whatever gets me first", HAVEN_RISK_MODERATE);
	EXPECT("im just going to stop eating until theres nothing left", HAVEN_RISK_HIGH);
	EXPECT("been stockpiling my tablets for weeks", HAVEN_RISK_HIGH);
	EXPECT("better late than never", HAVEN_RISK_NONE);
	EXPECT("hid the sweets in my sock drawer", HAVEN_RISK_NONE);
	EXPECT("my head keeps saying jump", HAVEN_RISK_MODERATE);
	EXPECT("the voices on the radio say it will rain", HAVEN_RISK_NONE);
	/* The other home. */
	EXPECT("i just want to go home to god", HAVEN_RISK_MODERATE);
	EXPECT("ready to go home to god now", HAVEN_RISK_HIGH);
	EXPECT("im going home", HAVEN_RISK_NONE);
	EXPECT("hes going home to his family", HAVEN_RISK_NONE);
	/* Someone else's goodbye is theirs (the writer is worried: low, not none). */
	EXPECT("my sister texted me \"goodbye, thanks for everything\" and now she wont pick up",
	       HAVEN_RISK_LOW);
	EXPECT("my son said \"i won't be a burden much longer\" at dinner", HAVEN_RISK_LOW);
	EXPECT("my friend texted me goodbye thanks for everything", HAVEN_RISK_LOW);
	EXPECT("my brother texted sorry for everything and now his phone is off", HAVEN_RISK_LOW);
	EXPECT("goodbye, thanks for everything", HAVEN_RISK_HIGH);
	EXPECT("my therapist asked if im suicidal and i said yes", HAVEN_RISK_MODERATE);
	/* History said to be over, in the same sentence or a later one; history that is back
	 * stays. */
	EXPECT("two years ago i tried to kill myself. now im engaged and that chapter is closed",
	       HAVEN_RISK_NONE);
	EXPECT("a year ago i was in hospital after an overdose. today i got my degree, that "
	       "chapter is closed",
	       HAVEN_RISK_NONE);
	EXPECT("i used to hear voices telling me to hurt myself. theyve been gone for a year now",
	       HAVEN_RISK_NONE);
	EXPECT("i used to cut every night. thats a thing of the past now", HAVEN_RISK_NONE);
	EXPECT("two years ago i tried to kill myself and its all coming back this week",
	       HAVEN_RISK_MODERATE);
	EXPECT("i used to cut, its all coming back this week", HAVEN_RISK_MODERATE);
	/* A place beside a goodbye. */
	EXPECT("im going to the bridge, goodbye everyone", HAVEN_RISK_HIGH);
	EXPECT("heading to the cliffs, goodbye everyone", HAVEN_RISK_HIGH);
	EXPECT("goodbye everyone", HAVEN_RISK_MODERATE);
	EXPECT("goodbye everyone, see you tomorrow", HAVEN_RISK_NONE);
	EXPECT("going to the beach tomorrow with the kids", HAVEN_RISK_NONE);
	EXPECT("im going to the station to catch the train to work", HAVEN_RISK_NONE);
	/* The voice in the head is no one else's report. */
	EXPECT("my head keeps telling me to kill myself", HAVEN_RISK_HIGH);
	EXPECT("the voices keep saying just do it", HAVEN_RISK_MODERATE);
	EXPECT("my mind says kill yourself all day", HAVEN_RISK_MODERATE);
	/* Negations that belong to another phrase, or say yes. */
	EXPECT("cant stop thinking i should just die", HAVEN_RISK_HIGH);
	EXPECT("cant stop scratching the cuts so they open again", HAVEN_RISK_HIGH);
	EXPECT("i know i shouldnt be thinking about killing myself but i am", HAVEN_RISK_HIGH);
	EXPECT("can't stop crying, i want to die", HAVEN_RISK_HIGH);
	EXPECT("i dont want to die", HAVEN_RISK_NONE);
	/* Passive wishes, understated. */
	EXPECT("i keep hoping this shift is the one i dont come back from", HAVEN_RISK_MODERATE);
	EXPECT("i keep hoping the next deployment is the one i dont come back from",
	       HAVEN_RISK_MODERATE);
	EXPECT("honestly id be relieved if i got hit by a car", HAVEN_RISK_MODERATE);
	/* Everyday uses that tripped the screen, beside the real thing. */
	EXPECT("gonna top myself up with tea before work", HAVEN_RISK_NONE);
	EXPECT("this flu is trying to kill me", HAVEN_RISK_NONE);
	EXPECT("need to cut 300 words from my dissertation", HAVEN_RISK_NONE);
	EXPECT("buying rat poison for the shed, mice everywhere", HAVEN_RISK_NONE);
	EXPECT("giving away all my old uni books, anyone want them", HAVEN_RISK_NONE);
	EXPECT("giving away all my stuff, wont need it soon", HAVEN_RISK_HIGH);
	EXPECT("this mortgage is a noose around my neck lol", HAVEN_RISK_NONE);
	EXPECT("tied a noose around my neck last night", HAVEN_RISK_HIGH);
	haven_crisis_destroy(&c);
}

/* Lexicon 1.7.0 (written from blind8's and blind9's first runs): other wordings of each new
 * frame, and the everyday sentences that share their words. */
TEST(crisis_understated_wishes_tools_and_everyday_words)
{
	struct haven_crisis *c = screen();
	/* "noose" and "nose" normalise alike: everyday noses are figures, a noose is not. */
	EXPECT("my nose wont stop running, this cold is the worst", HAVEN_RISK_NONE);
	EXPECT("blew my nose so much its red raw", HAVEN_RISK_NONE);
	EXPECT("i bought a noose", HAVEN_RISK_HIGH);
	/* Understated passive wishes. */
	EXPECT("i would quite like to be dead most of the time", HAVEN_RISK_MODERATE);
	EXPECT("sometimes i just want to go to sleep and never wake up again", HAVEN_RISK_MODERATE);
	EXPECT("i should have just died that night", HAVEN_RISK_MODERATE);
	EXPECT("why do i even keep waking up", HAVEN_RISK_MODERATE);
	EXPECT("why do i keep waking up at 4am every night", HAVEN_RISK_NONE);
	EXPECT("not much point carrying on like this", HAVEN_RISK_MODERATE);
	EXPECT("no point carrying on with this diet", HAVEN_RISK_NONE);
	EXPECT("if they deport me i would rather die here", HAVEN_RISK_MODERATE);
	EXPECT("i would happily accept being dead", HAVEN_RISK_MODERATE);
	EXPECT("i wish the crash had killed me", HAVEN_RISK_MODERATE);
	EXPECT("the river has been calling me lately", HAVEN_RISK_MODERATE);
	EXPECT("counting down till its all over", HAVEN_RISK_MODERATE);
	EXPECT("counting down till the exams are over", HAVEN_RISK_NONE);
	/* On one's mind; Hindi and Spanish. */
	EXPECT("suicide has been on my mind all week", HAVEN_RISK_HIGH);
	EXPECT("dying has been on my mind lately", HAVEN_RISK_MODERATE);
	EXPECT("main mar jaana chahta hoon", HAVEN_RISK_HIGH);
	EXPECT("jeena nahi chahta yaar", HAVEN_RISK_HIGH);
	EXPECT("ya no aguanto mas", HAVEN_RISK_MODERATE);
	EXPECT("quiero morir", HAVEN_RISK_HIGH);
	/* Self-harm told by the tool and the place on the body; shaving is a figure. */
	EXPECT("carved his name into my arm with a compass", HAVEN_RISK_HIGH);
	EXPECT("nicked my wrist with a razor on purpose", HAVEN_RISK_HIGH);
	EXPECT("nicked my leg shaving this morning", HAVEN_RISK_NONE);
	EXPECT("my thighs are 🔪 again", HAVEN_RISK_HIGH);
	/* Plans and intent: a window that opens, a shot unheard, trains timed, calm after
	 * deciding, no future with me in it. */
	EXPECT("the window on the 12th floor opens all the way", HAVEN_RISK_HIGH);
	EXPECT("no one will hear the shot", HAVEN_RISK_HIGH);
	EXPECT("the thunder will cover the noise", HAVEN_RISK_MODERATE);
	EXPECT("went down to the railway line to time the trains", HAVEN_RISK_HIGH);
	EXPECT("i feel so calm now that ive decided", HAVEN_RISK_HIGH);
	EXPECT("ive decided to quit my job and feel calm now", HAVEN_RISK_NONE);
	EXPECT("theres no version of next month where im still here", HAVEN_RISK_HIGH);
	/* Means: taken from work, kept close, ordered, saved. */
	EXPECT("got the euthanasia drugs in my locker", HAVEN_RISK_HIGH);
	EXPECT("keeping the shotgun under my pillow now", HAVEN_RISK_HIGH);
	EXPECT("ordered the chemical online, the one people use", HAVEN_RISK_HIGH);
	EXPECT("six weeks of codeine stashed in a sock drawer", HAVEN_RISK_HIGH);
	/* Preparations: not needing things where one is going, unless a holiday is named. */
	EXPECT("wont need my clothes where im going", HAVEN_RISK_HIGH);
	EXPECT("wont need my coat where im going, spain here i come", HAVEN_RISK_NONE);
	/* "end it with" needs the person to be a break-up. */
	EXPECT("tried to end it with a belt last year", HAVEN_RISK_MODERATE);
	EXPECT("ended it with him last night, feeling sad", HAVEN_RISK_LOW);
	EXPECT("my cellmate keeps talking about ending it", HAVEN_RISK_LOW);
	/* Everyday words and figures. */
	EXPECT("this cold is killing me", HAVEN_RISK_NONE);
	EXPECT("im gonna unalive my sister if she takes my charger again", HAVEN_RISK_NONE);
	EXPECT("that is the hill i will die on", HAVEN_RISK_NONE);
	EXPECT("my succulents are committing mass suicide", HAVEN_RISK_NONE);
	EXPECT("skipping the meeting would be career suicide", HAVEN_RISK_NONE);
	EXPECT("if my boss plays that playlist one more time im walking into the sea",
	       HAVEN_RISK_NONE);
	EXPECT("bought rope to support the tomatoes", HAVEN_RISK_NONE);
	EXPECT("our hours have been cut again this month", HAVEN_RISK_NONE);
	EXPECT("washed the car and bought a new hose for the garden", HAVEN_RISK_NONE);
	EXPECT("goodbye cruel world the coffee machine has run out", HAVEN_RISK_NONE);
	EXPECT("i die liao lah this essay", HAVEN_RISK_NONE);
	/* Everyday trips that name a station or a coast. */
	EXPECT("i'm going to the train station", HAVEN_RISK_NONE);
	EXPECT("walking the dog along the cliffs", HAVEN_RISK_NONE);
	EXPECT("going to the train station to jump in front of the express", HAVEN_RISK_HIGH);
	/* An accident welcomed, intent stated or said to be meant, a time when others sleep. */
	EXPECT("if the bus hit me i wouldnt be too fussed", HAVEN_RISK_MODERATE);
	EXPECT("when i get off this shift im ending it", HAVEN_RISK_HIGH);
	EXPECT("gonna sewer slide fr this time", HAVEN_RISK_HIGH);
	EXPECT("ill do it when everyone goes to bed", HAVEN_RISK_MODERATE);
	EXPECT("ill do the dishes after my mom goes to sleep", HAVEN_RISK_NONE);
	EXPECT("mera mann karta hai sab khatam kar du", HAVEN_RISK_MODERATE);
	/* Terse messages about voices, eating, prison and sleeping rough. */
	EXPECT("the voices say i deserve to die", HAVEN_RISK_HIGH);
	EXPECT("the voices want me dead", HAVEN_RISK_HIGH);
	EXPECT("the voices say its tonight", HAVEN_RISK_HIGH);
	EXPECT("im going to do what the voices say", HAVEN_RISK_HIGH);
	EXPECT("i hear voices sometimes, meds help", HAVEN_RISK_NONE);
	EXPECT("gonna starve until i disappear", HAVEN_RISK_MODERATE);
	EXPECT("took a whole box of laxatives", HAVEN_RISK_HIGH);
	EXPECT("took laxatives for constipation", HAVEN_RISK_NONE);
	EXPECT("made a ligature out of my sheet", HAVEN_RISK_HIGH);
	EXPECT("dont think ill make it to my release", HAVEN_RISK_MODERATE);
	EXPECT("i dont think ill make it to my date", HAVEN_RISK_NONE);
	EXPECT("the only way im leaving here is in a body bag", HAVEN_RISK_MODERATE);
	EXPECT("hope i freeze out here tonight", HAVEN_RISK_MODERATE);
	EXPECT("i hope i dont freeze tonight", HAVEN_RISK_NONE);
	haven_crisis_destroy(&c);
}

/* Lexicon 1.9.0 (written from blind12-15's disagreements): other wordings of each kind,
 * with their everyday twins. */
TEST(crisis_welcomed_disasters_rescues_marks_and_everyday_1_9)
{
	struct haven_crisis *c = screen();
	/* A disaster welcomed, death awaited, a rescue resented. */
	EXPECT("honestly wishing my flight would crash tomorrow", HAVEN_RISK_MODERATE);
	EXPECT("i keep hoping the plane goes down", HAVEN_RISK_MODERATE);
	EXPECT("hoping the train is on time tomorrow", HAVEN_RISK_NONE);
	EXPECT("praying an asteroid just takes out my house", HAVEN_RISK_MODERATE);
	EXPECT("just waiting for this tired body to give out", HAVEN_RISK_MODERATE);
	EXPECT("why did the paramedics even bother reviving me", HAVEN_RISK_MODERATE);
	EXPECT("if i disappeared tomorrow nobody would even notice", HAVEN_RISK_MODERATE);
	EXPECT("i wouldnt mind if i never woke up", HAVEN_RISK_MODERATE);
	/* A rescue or an attempt told as history. */
	EXPECT("a passer by talked me down from the ledge last year", HAVEN_RISK_MODERATE);
	EXPECT("waded into the river and my brother pulled me out", HAVEN_RISK_MODERATE);
	EXPECT("attempted when i was 17", HAVEN_RISK_MODERATE);
	/* Wishes and decisions in other frames. */
	EXPECT("been wanting to die for months now", HAVEN_RISK_HIGH);
	EXPECT("this cake is to die for", HAVEN_RISK_NONE);
	EXPECT("i've decided to take my own life", HAVEN_RISK_HIGH);
	EXPECT("i decided to take a gap year", HAVEN_RISK_NONE);
	EXPECT("i finally get why people kill themselves", HAVEN_RISK_MODERATE);
	EXPECT("i get why people do it, the pay is great", HAVEN_RISK_NONE);
	EXPECT("is it normal to think about how you would kill yourself", HAVEN_RISK_MODERATE);
	EXPECT("keep staring at the rafters in the garage", HAVEN_RISK_MODERATE);
	/* Plans: a vehicle, a garage, steps, a family's way. */
	EXPECT("might just swerve into a wall on the motorway", HAVEN_RISK_HIGH);
	EXPECT("gonna crash into bed after this shift", HAVEN_RISK_NONE);
	EXPECT("left the engine running in the garage with the door shut", HAVEN_RISK_HIGH);
	EXPECT("i want to go the same way my uncle did", HAVEN_RISK_HIGH);
	EXPECT("tonight i will do the thing with the tablets", HAVEN_RISK_HIGH);
	/* Self-harm by marks, objects and hiding; an urge after a milestone. */
	EXPECT("new cuts are fine but fresh ones across my thighs sting", HAVEN_RISK_HIGH);
	EXPECT("held the lighter against my arm till it blistered", HAVEN_RISK_HIGH);
	EXPECT("burnt my arm on the oven door", HAVEN_RISK_NONE);
	EXPECT("wear jeans so the cuts don't show", HAVEN_RISK_HIGH);
	EXPECT("took the blade out of a pencil sharpener", HAVEN_RISK_HIGH);
	EXPECT("six months clean from self harm but the urges are back", HAVEN_RISK_HIGH);
	EXPECT("six months clean from self harm today", HAVEN_RISK_NONE);
	EXPECT("going to cut myself while everyone is out because i deserve it", HAVEN_RISK_HIGH);
	/* Someone else: what was found on a child; a pupil's poem; the news. */
	EXPECT("found razor blades in my daughters bedside drawer", HAVEN_RISK_LOW);
	EXPECT("my 15 year old has been self harming", HAVEN_RISK_LOW);
	/* Recovery told as a good outcome. */
	EXPECT("i used to self harm. that was another life", HAVEN_RISK_NONE);
	EXPECT("three years ago i tried to end my life. im proud of myself now", HAVEN_RISK_NONE);
	/* Everyday words. */
	EXPECT("the council tax is bleeding us dry", HAVEN_RISK_NONE);
	EXPECT("my last words will be 'i told you so'", HAVEN_RISK_NONE);
	EXPECT("almost strangled myself with my headphones on the bus", HAVEN_RISK_NONE);
	EXPECT("that back pass was suicidal", HAVEN_RISK_NONE);
	EXPECT("we just bought a flat so we should make wills", HAVEN_RISK_NONE);
	EXPECT("need to hang some shelves this weekend", HAVEN_RISK_NONE);
	EXPECT("if one more person sends a meeting invite im walking into the sea lol",
	       HAVEN_RISK_NONE);
	EXPECT("my dad took my phone again", HAVEN_RISK_NONE);
	EXPECT("leg day tried to kill me today", HAVEN_RISK_NONE);
	/* "too" and "to" normalise alike: "me too" is no question about others. */
	EXPECT("some guy in the lobby told me to kys lol", HAVEN_RISK_LOW);
	/* A pronoun inside means or an attempt is what is taken, not who takes it. */
	EXPECT("already did it, too late, swallowed them all an hour ago", HAVEN_RISK_HIGH);
	EXPECT("my sister swallowed them all an hour ago", HAVEN_RISK_LOW);
	/* An act told in the past of someone unnamed is about someone else. */
	EXPECT("saw on the news a man drowned himself in the canal, so sad", HAVEN_RISK_LOW);
	/* Sitting in a car is the writer's, not a bike's. */
	EXPECT("it was just sitting in the garage so i gave it to my nephew", HAVEN_RISK_NONE);
	haven_crisis_destroy(&c);
}

/* Lexicon 1.9.1: taking one's own tablets, cutting or jumping today is not an attempt by
 * itself; taking someone else's pills, an attempt with a time, cutting again are. */
TEST(crisis_own_tablets_and_ordinary_acts_1_9_1)
{
	struct haven_crisis *c = screen();
	EXPECT("i took my tablets this morning like the doctor said", HAVEN_RISK_NONE);
	EXPECT("took my meds", HAVEN_RISK_NONE);
	EXPECT("jumped in the pool this morning", HAVEN_RISK_NONE);
	EXPECT("cut the grass yesterday", HAVEN_RISK_NONE);
	EXPECT("got my hair cut again", HAVEN_RISK_NONE);
	EXPECT("they cut my hours again", HAVEN_RISK_NONE);
	EXPECT("took my mums sleeping pills", HAVEN_RISK_HIGH);
	EXPECT("stole my dads tablets", HAVEN_RISK_HIGH);
	EXPECT("tried to hang myself last night", HAVEN_RISK_HIGH);
	EXPECT("jumped off the bridge last night and survived", HAVEN_RISK_HIGH);
	EXPECT("took all my pills last night", HAVEN_RISK_HIGH);
	EXPECT("swallowed them all an hour ago", HAVEN_RISK_HIGH);
	EXPECT("cut again", HAVEN_RISK_HIGH);
	EXPECT("i cut again last night", HAVEN_RISK_HIGH);
	haven_crisis_destroy(&c);
}

/* The shipped short-message classifier (models/crisis_short.hvm): a plan in words no
 * lexicon rule names is rated high by it, with its reason; an everyday sentence with the
 * same place in it is left alone; and it never overrides what the lexicon discounted. */
TEST(crisis_short_classifier_levels)
{
	struct haven_crisis *c;
	char err[512] = "";
	if (haven_crisis_create(LEXICON, NULL, &c, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "%s", err);
	/* Without the classifier the lexicon does not place it. */
	struct haven_crisis *lex = screen();
	EXPECT_WITH(lex, "leaving for the cliffs in an hour", HAVEN_RISK_NONE);
	haven_crisis_destroy(&lex);

	ASSERT_EQ(level(c, "leaving for the cliffs in an hour"), HAVEN_RISK_HIGH);
	ASSERT(res.short_model_used);
	ASSERT(res.short_model_version && strstr(res.short_model_version, "crisis_short"));
	ASSERT(res.short_model_probability >= 0.60);
	int found = 0;
	for (size_t i = 0; i < res.n_reasons; i++)
		if (!strcmp(res.reasons[i].rule, "short_classifier")) {
			found = 1;
			ASSERT_EQ(res.reasons[i].level, HAVEN_RISK_HIGH);
			ASSERT(strstr(res.reasons[i].description, "plan") != NULL);
		}
	ASSERT(found);
	ASSERT_EQ(level(c, "the old quarry out past the farm looks nice in spring"),
		  HAVEN_RISK_NONE);
	/* A figure of speech the lexicon read is not the classifier's to raise. */
	ASSERT(level(c, "this commute is killing me") < HAVEN_RISK_MODERATE);
	/* Plain wants and plans (short classifier 1.10.0, trained with train15 and train16,
	 * everyday messages in plain words): the crisis protocol does not start for them
	 * (1.9.0 rated the first two high), and plain crisis messages still do. */
	static const char *const everyday[] = {
		"i want to go to the beach",
		"i'm going to the shops",
		"i took my tablets this morning like the doctor said",
		"i want to see my mum",
		"i want to learn to swim",
		"i bought a new knife for the kitchen",
		"i'm going on a long trip next month",
		"i just want everyone to be happy",
	};
	for (size_t i = 0; i < sizeof(everyday) / sizeof(everyday[0]); i++) {
		/* the first two may be asked about (moderate), never high */
		enum haven_risk_level ceiling = i < 2 ? HAVEN_RISK_HIGH : HAVEN_RISK_MODERATE;
		if (level(c, everyday[i]) >= ceiling)
			haven_test_fail(__FILE__, __LINE__, "\"%s\": %s", everyday[i],
					haven_risk_level_name(level(c, everyday[i])));
	}
	ASSERT(level(c, "i want to go to sleep and never wake up") >= HAVEN_RISK_MODERATE);
	ASSERT(level(c, "i just want to not exist anymore") >= HAVEN_RISK_MODERATE);
	haven_crisis_destroy(&c);
}

/* A line whose items multiply to a hundred million sequences (40^5) loads at once and
 * matches exactly its sequences: each item's alternatives share one continuation instead
 * of being expanded one by one (which ran out of memory, or hit the expansion limit). */
TEST(crisis_lexicon_wide_lines_share_their_continuation)
{
	char set[40 * 3 + 16] = "@set A ";
	size_t o = strlen(set);
	for (int i = 0; i < 40; i++) {
		set[o++] = (char)('x' + i / 26);
		set[o++] = (char)('a' + i % 26);
		set[o++] = i < 39 ? '|' : '\n';
	}
	set[o] = '\0';
	char text[512];
	snprintf(text, sizeof(text),
		 "@version wide\n%sideation high $A $A $A $A $A\nplan high $A * $A zebra\n", set);
	char path[] = "/tmp/haven-lexicon-XXXXXX";
	int fd = mkstemp(path);
	ASSERT(fd >= 0);
	FILE *f = fdopen(fd, "w");
	ASSERT(f != NULL);
	fputs(text, f);
	fclose(f);
	struct haven_crisis *c;
	char err[512] = "";
	if (haven_crisis_create(path, "", &c, err, sizeof(err)))
		haven_test_fail(__FILE__, __LINE__, "%s", err);
	unlink(path);
	EXPECT("xa yb xc yd xe", HAVEN_RISK_HIGH);
	EXPECT("i said yn yn yn yn yn today", HAVEN_RISK_HIGH);
	EXPECT("xa yb xc yd", HAVEN_RISK_NONE);
	EXPECT("xa yb xc yd yo", HAVEN_RISK_NONE); /* "yo" is not in the set */
	EXPECT("xa yb xc. yd xe", HAVEN_RISK_NONE); /* not across a sentence end */
	EXPECT("xb then some xc zebra", HAVEN_RISK_HIGH);
	EXPECT("xb one two three four xc zebra", HAVEN_RISK_NONE); /* gap of at most 3 */
	haven_crisis_destroy(&c);
}
