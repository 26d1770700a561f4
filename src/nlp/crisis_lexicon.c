/*
 * crisis_lexicon.c: the crisis lexicon: its file format, validation, and a fast matcher.
 *
 * Text and patterns go through the same normaliser: lower case, apostrophes dropped
 * ("don't" -> "dont"), runs of a repeated letter collapsed ("sooo" -> "so", "kill" ->
 * "kil"), digits between letters read as letters ("k1ll"), each emoji one token. Every
 * pattern is expanded into concrete token sequences stored in one token trie, so a
 * message is matched in one pass over its tokens whatever the size of the lexicon (no
 * regular expression per pattern). A token of six letters or more that is not in the
 * lexicon's vocabulary is matched to a vocabulary word one edit away, when that word is
 * unique ("suicidial", "myslef").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nlp/crisis_int.h"

#define WORD_MAX 48
#define PATTERN_ITEMS_MAX 24
#define ALT_TERMS_MAX 8
#define EXPANSIONS_MAX 200000
/* An item whose alternatives times what follows it expand to more sequences than this
 * shares one continuation (insert()); smaller ones are expanded into the trie, where a
 * walk reads all of them with one lookup per token. */
#define SHARE_MIN 64
#define GAP_MAX 3
#define FUZZY_MIN_LEN 6
#define SPLIT_MIN_LEN 6    /* joined words: shortest token tried */
#define SPLIT_MAX_PIECES 6 /* joined words: most pieces */
#define SPLIT_PIECE_MAX 12 /* joined words: longest piece */
#define TERM_AMBIGUOUS UINT32_MAX
#define LINE_MAX_BYTES 4096

/* ------------------------------------------------------------------ categories */

static const struct {
	const char *name;
	const char *description;
} cat_info[CRISIS_CAT__COUNT] = {
	[CRISIS_CAT_IDEATION] = {"suicidal_thoughts", "says they want to die or to end their life"},
	[CRISIS_CAT_PASSIVE] = {"passive_wish", "wishes they were not alive or would not wake up"},
	[CRISIS_CAT_HOPELESSNESS] = {"hopelessness", "sees no way forward or no reason to go on"},
	[CRISIS_CAT_PLAN] = {"plan", "describes a plan or a way of ending their life"},
	[CRISIS_CAT_INTENT] = {"intent", "says they are going to act on it"},
	[CRISIS_CAT_MEANS] = {"means", "has or is gathering the means"},
	[CRISIS_CAT_PREPARATION] = {"preparation", "is putting things in order or giving things away"},
	[CRISIS_CAT_GOODBYE] = {"goodbye", "is saying goodbye"},
	[CRISIS_CAT_SELF_HARM] = {"self_harm", "talks about hurting themselves"},
	[CRISIS_CAT_PAST_ATTEMPT] = {"past_attempt", "mentions a past attempt on their life"},
	[CRISIS_CAT_SLANG] = {"slang", "uses slang for ending their life"},
	[CRISIS_CAT_AMBIGUOUS] = {"ambiguous", "says something that may be about ending their life"},
	[CRISIS_CAT_DISTRESS] = {"distress", "is in distress"},
	[CRISIS_CAT_DIRECTED] = {"directed_at_other", "uses the words at someone else"},
	[CRISIS_CAT_ABOUT_OTHER] = {"about_other", "is worried about someone else"},
	[CRISIS_CAT_NEGATION] = {"negation", "negation"},
	[CRISIS_CAT_HYPOTHETICAL] = {"hypothetical", "question or hypothetical"},
	[CRISIS_CAT_FICTION] = {"fiction", "song, film, book or quotation"},
	[CRISIS_CAT_REPORTED] = {"reported", "reported speech"},
	[CRISIS_CAT_FIGURATIVE] = {"figurative", "figure of speech"},
	[CRISIS_CAT_HUMOUR] = {"humour", "laughter"},
	[CRISIS_CAT_TIME] = {"time", "a time or moment is named"},
	[CRISIS_CAT_SUBJECT_SELF] = {"subject_self", "first person"},
	[CRISIS_CAT_SUBJECT_OTHER] = {"subject_other", "another person"},
	[CRISIS_CAT_SUBJECT_GENERIC] = {"subject_generic", "people in general"},
	[CRISIS_CAT_WEAK] = {"weak_sign", "a weak sign that counts only beside another"},
	[CRISIS_CAT_RESOLVED] = {"resolved", "says it is over"},
	[CRISIS_CAT_TRIVIAL] = {"trivial", "an everyday annoyance"},
	[CRISIS_CAT_DELIBERATE] = {"deliberate", "says it was done on purpose"},
	[CRISIS_CAT_OBJECT] = {"object", "a preposition: the person after it is not the subject"},
	[CRISIS_CAT_PAST] = {"past", "a time in the past"},
	[CRISIS_CAT_PLACE] = {"place", "going to a place"},
	[CRISIS_CAT_ASKS_SELF] = {"asks_self", "asks whether others feel so too: the writer's own"},
};

const char *haven__crisis_cat_name(enum crisis_cat cat)
{
	return (unsigned)cat < CRISIS_CAT__COUNT ? cat_info[cat].name : "unknown";
}

const char *haven__crisis_cat_description(enum crisis_cat cat)
{
	return (unsigned)cat < CRISIS_CAT__COUNT ? cat_info[cat].description : "";
}

/* The names used in the lexicon file (shorter than the names in reasons). */
static const char *const file_cat_names[CRISIS_CAT__COUNT] = {
	[CRISIS_CAT_IDEATION] = "ideation",
	[CRISIS_CAT_PASSIVE] = "passive",
	[CRISIS_CAT_HOPELESSNESS] = "hopelessness",
	[CRISIS_CAT_PLAN] = "plan",
	[CRISIS_CAT_INTENT] = "intent",
	[CRISIS_CAT_MEANS] = "means",
	[CRISIS_CAT_PREPARATION] = "preparation",
	[CRISIS_CAT_GOODBYE] = "goodbye",
	[CRISIS_CAT_SELF_HARM] = "self_harm",
	[CRISIS_CAT_PAST_ATTEMPT] = "past_attempt",
	[CRISIS_CAT_SLANG] = "slang",
	[CRISIS_CAT_AMBIGUOUS] = "ambiguous",
	[CRISIS_CAT_DISTRESS] = "distress",
	[CRISIS_CAT_DIRECTED] = "directed",
	[CRISIS_CAT_ABOUT_OTHER] = "about_other",
	[CRISIS_CAT_NEGATION] = "negation",
	[CRISIS_CAT_HYPOTHETICAL] = "hypothetical",
	[CRISIS_CAT_FICTION] = "fiction",
	[CRISIS_CAT_REPORTED] = "reported",
	[CRISIS_CAT_FIGURATIVE] = "figurative",
	[CRISIS_CAT_HUMOUR] = "humour",
	[CRISIS_CAT_TIME] = "time",
	[CRISIS_CAT_SUBJECT_SELF] = "self",
	[CRISIS_CAT_SUBJECT_OTHER] = "other",
	[CRISIS_CAT_SUBJECT_GENERIC] = "generic",
	[CRISIS_CAT_WEAK] = "weak",
	[CRISIS_CAT_RESOLVED] = "resolved",
	[CRISIS_CAT_TRIVIAL] = "trivial",
	[CRISIS_CAT_DELIBERATE] = "deliberate",
	[CRISIS_CAT_OBJECT] = "object",
	[CRISIS_CAT_PAST] = "past",
	[CRISIS_CAT_PLACE] = "place",
	[CRISIS_CAT_ASKS_SELF] = "asks_self",
};

/* ------------------------------------------------------------------ string map */

/* A key of up to 8 bytes is kept in the entry itself: most words are, and a lookup then
 * compares bytes in the line it has already read instead of following a pointer. */
#define SMAP_INLINE 8

struct smap_entry {
	union {
		char *ptr;                 /* longer keys: a copy of their own */
		char bytes[SMAP_INLINE];   /* short keys */
	} key;
	uint32_t klen1; /* key length + 1; 0 = empty slot */
	uint32_t val;
	uint64_t hash;
};

struct smap {
	struct smap_entry *e;
	size_t cap, n;
};

static const char *entry_key(const struct smap_entry *e)
{
	return e->klen1 - 1 <= SMAP_INLINE ? e->key.bytes : e->key.ptr;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void smap_release(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->e[i].klen1 - 1 > SMAP_INLINE && m->e[i].klen1)
			free(m->e[i].key.ptr);
	free(m->e);
	memset(m, 0, sizeof(*m));
}

static struct smap_entry *smap_slot(const struct smap *m, const char *k, size_t n, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct smap_entry *e = &m->e[i];
		if (!e->klen1 ||
		    (e->hash == h && e->klen1 == n + 1 && !memcmp(entry_key(e), k, n)))
			return e;
	}
}

/* Looks k up by its hash_bytes h. */
static int smap_get_hashed(const struct smap *m, const char *k, size_t n, uint64_t h,
			   uint32_t *val)
{
	if (!m->cap)
		return 0;
	struct smap_entry *e = smap_slot(m, k, n, h);
	if (!e->klen1)
		return 0;
	*val = e->val;
	return 1;
}

static int smap_get(const struct smap *m, const char *k, size_t n, uint32_t *val)
{
	return smap_get_hashed(m, k, n, hash_bytes(k, n), val);
}

static int smap_grow(struct smap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 256;
	struct smap_entry *ne = haven_calloc(ncap, sizeof(*ne));
	if (!ne)
		return HAVEN_ENOMEM;
	struct smap old = *m;
	m->e = ne;
	m->cap = ncap;
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.e[i].klen1)
			continue;
		*smap_slot(m, entry_key(&old.e[i]), old.e[i].klen1 - 1, old.e[i].hash) = old.e[i];
	}
	free(old.e);
	return HAVEN_OK;
}

/* Inserts k -> val. If k is present: with `mark_ambiguous`, a different value turns the
 * entry into TERM_AMBIGUOUS; otherwise the old value is kept. */
static int smap_put(struct smap *m, const char *k, size_t n, uint32_t val, int mark_ambiguous)
{
	if ((m->n + 1) * 2 > m->cap && smap_grow(m))
		return HAVEN_ENOMEM;
	uint64_t h = hash_bytes(k, n);
	struct smap_entry *e = smap_slot(m, k, n, h);
	if (e->klen1) {
		if (mark_ambiguous && e->val != val)
			e->val = TERM_AMBIGUOUS;
		return HAVEN_OK;
	}
	if (n >= UINT32_MAX)
		return HAVEN_EINVAL;
	if (n <= SMAP_INLINE) {
		memcpy(e->key.bytes, k, n);
	} else {
		e->key.ptr = malloc(n);
		if (!e->key.ptr)
			return HAVEN_ENOMEM;
		memcpy(e->key.ptr, k, n);
	}
	e->klen1 = (uint32_t)n + 1;
	e->val = val;
	e->hash = h;
	m->n++;
	return HAVEN_OK;
}

/* ------------------------------------------------------------------ lexicon */

struct trie_edge {
	uint32_t term;
	uint32_t child;
};

struct trie_node {
	struct trie_edge *edges; /* sorted by term after the build */
	uint32_t nedges, capedges;
	int32_t gap;             /* child reached through a gap of 0..GAP_MAX tokens, or -1 */
	uint32_t *terminals;     /* pattern ids ending here */
	uint32_t nterm, capterm;
	/* Nodes a walk also continues from without reading a token: the one continuation
	 * that every alternative of a pattern's item leads to (see insert()). */
	uint32_t *links;
	uint32_t nlinks, caplinks;
};

/* A node of the finished trie, read by the walk: its edges, terminals and links are runs of
 * shared arrays (lex->edges, lex->ids: terminals then links), so a node is 24 bytes and
 * what a walk reads of it sits together instead of in four separate allocations. */
struct walk_node {
	uint32_t edges, nedges; /* run in lex->edges, sorted by term */
	uint32_t ids;           /* run in lex->ids: nterm pattern ids, then nlinks node ids */
	uint32_t nterm, nlinks;
	int32_t gap;
};

struct lex_set {
	char name[32];
	struct alt_list *alts;
};

struct haven_crisis_lexicon {
	char version[64];
	struct crisis_pattern *patterns;
	size_t npatterns, cappatterns;
	struct trie_node *nodes;
	size_t nnodes, capnodes;
	struct smap exact;  /* normalised word -> term id */
	struct smap prefix; /* normalised prefix -> term id */
	struct smap del;    /* one-deletion variants of long exact words -> term id */
	/* @spell: a word of the text also read as other words ("miself" as "myself"):
	 * word -> index into spell_ids of its run of term ids, ended by UINT32_MAX. */
	struct smap spell;
	uint32_t *spell_ids;
	size_t nspell_ids, capspell_ids;
	uint32_t nterms;
	uint8_t prefix_lens[WORD_MAX + 1]; /* which prefix lengths exist */
	/* Filters made after the build, so that a walk skips the nodes that cannot match at
	 * a position without reading them (most of them: the trie is larger than the cache,
	 * and a walk's cost is its reads of nodes). reach[node]: bit 0 when the node or a
	 * node it links to ends a pattern or has a gap, and for every term a token may
	 * continue with from the node or a node it links to, bit term_bit(term). A node
	 * with reach & token_bits(token) == 0 adds nothing at that token. */
	uint64_t *reach;
	uint32_t *root_child; /* term -> child of the root, or UINT32_MAX */
	/* The finished trie (the build's nodes are freed once it is made). */
	struct walk_node *walk_nodes;
	struct trie_edge *edges;
	uint32_t *ids;
};

static uint64_t term_bit(uint32_t term)
{
	return 2ull << (term % 63);
}

const char *haven_crisis_lexicon_version(const struct haven_crisis_lexicon *lex)
{
	return lex->version;
}

size_t haven_crisis_lexicon_size(const struct haven_crisis_lexicon *lex)
{
	return lex->npatterns;
}

const struct crisis_pattern *haven__crisis_pattern(const struct haven_crisis_lexicon *lex,
						   uint32_t idx)
{
	HAVEN_ASSERT(idx < lex->npatterns);
	return &lex->patterns[idx];
}

void haven_crisis_lexicon_destroy(struct haven_crisis_lexicon **plex)
{
	struct haven_crisis_lexicon *lex = plex ? *plex : NULL;
	if (!lex)
		return;
	for (size_t i = 0; lex->nodes && i < lex->nnodes; i++) {
		free(lex->nodes[i].edges);
		free(lex->nodes[i].terminals);
		free(lex->nodes[i].links);
	}
	free(lex->nodes);
	free(lex->walk_nodes);
	free(lex->edges);
	free(lex->ids);
	free(lex->reach);
	free(lex->root_child);
	free(lex->patterns);
	smap_release(&lex->exact);
	smap_release(&lex->prefix);
	smap_release(&lex->del);
	smap_release(&lex->spell);
	free(lex->spell_ids);
	free(lex);
	*plex = NULL;
}

/* ------------------------------------------------------------------ tokeniser */

static int is_emoji(uint32_t cp)
{
	return (cp >= 0x1F000 && cp <= 0x1FAFF) || (cp >= 0x2600 && cp <= 0x27BF) ||
	       (cp >= 0x2B00 && cp <= 0x2BFF) || cp == 0x2639 || cp == 0x263A;
}

static int is_ignorable(uint32_t cp)
{
	/* variation selectors, zero-width joiner and non-joiner, skin tones, BOM */
	return cp == 0xFE0F || cp == 0xFE0E || cp == 0x200D || cp == 0x200C || cp == 0x200B ||
	       cp == 0xFEFF || (cp >= 0x1F3FB && cp <= 0x1F3FF);
}

static int is_apostrophe(uint32_t cp)
{
	return cp == '\'' || cp == '`' || cp == 0x2018 || cp == 0x2019 || cp == 0x02BC ||
	       cp == 0xB4;
}

static int is_quote_mark(uint32_t cp)
{
	return cp == '"' || cp == 0x201C || cp == 0x201D || cp == 0xAB || cp == 0xBB;
}

static int is_sentence_end(uint32_t cp)
{
	return cp == '.' || cp == '!' || cp == '?' || cp == '\n' || cp == '\r' || cp == 0x2026 ||
	       cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F;
}

static int is_clause_end(uint32_t cp)
{
	return cp == ',' || cp == ';' || cp == ':' || cp == '(' || cp == ')' || cp == '[' ||
	       cp == ']' || cp == 0x2013 || cp == 0x2014;
}

static int is_word_char(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		       (cp >= '0' && cp <= '9');
	if (cp == 0xFFFD || cp < 0xC0)
		return 0;
	if (cp >= 0x2000 && cp <= 0x2BFF) /* punctuation, symbols, arrows, dingbats */
		return 0;
	if (cp >= 0x3000 && cp <= 0x303F)
		return 0;
	if (cp >= 0xFE00 && cp <= 0xFE6F)
		return 0;
	return !is_emoji(cp) && !is_ignorable(cp) && cp != 0xD7 && cp != 0xF7;
}

static char leet_letter(char c)
{
	switch (c) {
	case '0': return 'o';
	case '1': return 'i';
	case '3': return 'e';
	case '4': return 'a';
	case '5': return 's';
	case '7': return 't';
	default: return 0;
	}
}

static int ascii_alpha(char c)
{
	return c >= 'a' && c <= 'z';
}

/* Normalises a raw word (lower-cased ASCII and raw UTF-8 bytes) in place; returns the
 * new length. */
static size_t normalise_word(char *w, size_t n)
{
	for (size_t i = 1; i + 1 < n; i++) {
		char l = leet_letter(w[i]);
		if (l && ascii_alpha(w[i - 1]) && (ascii_alpha(w[i + 1]) || leet_letter(w[i + 1])))
			w[i] = l;
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (o > 0 && ascii_alpha(w[i]) && w[o - 1] == w[i])
			continue;
		w[o++] = w[i];
	}
	return o;
}

/* Conjunctions that open a new clause, so that negation and subjects do not reach across
 * them ("i'm not ok but i want to die"). Compared after normalisation. */
static int is_clause_word(const char *w, size_t n)
{
	static const char *const words[] = {"but", "and", "so", "because", "becuse", "cause",
					    "cuz", "bc", "though", "although", "however", "yet",
					    "tho", "or"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && !memcmp(words[i], w, n))
			return 1;
	return 0;
}

struct tok_state {
	uint32_t sentence, clause;
	int quoted;
	const char *raw; /* the word before normalising (lower case), for split_joined */
	size_t rawlen;
};

typedef int (*tok_emit_fn)(void *ctx, const char *norm, size_t nlen, uint32_t start,
			   uint32_t end, const struct tok_state *st);

/* Splits text into normalised tokens and calls emit for each. A non-zero return from
 * emit stops the scan and is returned (1 means "enough tokens", not an error). */
static int tokenise(const char *text, size_t len, tok_emit_fn emit, void *ctx)
{
	struct tok_state st = {0, 0, 0, NULL, 0};
	char word[WORD_MAX], raw[WORD_MAX];
	size_t wlen = 0;
	uint32_t wstart = 0, wend = 0;
	int in_word = 0, rc;
	size_t i = 0;

#define FLUSH_WORD()                                                                     \
	do {                                                                             \
		if (in_word) {                                                           \
			memcpy(raw, word, wlen);                                         \
			st.raw = raw;                                                    \
			st.rawlen = wlen;                                                \
			size_t nl_ = normalise_word(word, wlen);                         \
			if (is_clause_word(word, nl_))                                   \
				st.clause++;                                             \
			if (nl_ && (rc = emit(ctx, word, nl_, wstart, wend, &st)))       \
				return rc;                                               \
			in_word = 0;                                                     \
			wlen = 0;                                                        \
		}                                                                        \
	} while (0)

	while (i < len) {
		uint32_t cp;
		size_t l = haven_utf8_decode(text + i, len - i, &cp);
		uint32_t at = (uint32_t)i;
		i += l;
		if (is_word_char(cp)) {
			if (!in_word) {
				in_word = 1;
				wstart = at;
			}
			wend = (uint32_t)i;
			if (cp < 0x80) {
				char c = (char)cp;
				if (c >= 'A' && c <= 'Z')
					c = (char)(c - 'A' + 'a');
				if (wlen < WORD_MAX)
					word[wlen++] = c;
			} else if (wlen + l <= WORD_MAX) {
				memcpy(word + wlen, text + at, l);
				wlen += l;
			}
			continue;
		}
		if (is_apostrophe(cp) && in_word)
			continue; /* "don't" -> "dont"; a trailing one ends nothing */
		if (in_word && i < len && ascii_alpha(text[i]) &&
		    (cp == '!' || cp == '@' || cp == '$' || cp == '*')) {
			/* Letters disguised inside a word: "k!ll", "s*icide", "su!c!de". A star
			 * is a hidden letter, left to the one-edit match. */
			if (cp != '*' && wlen < WORD_MAX)
				word[wlen++] = cp == '!' ? 'i' : cp == '@' ? 'a' : 's';
			wend = (uint32_t)i;
			continue;
		}
		if (is_ignorable(cp))
			continue;
		FLUSH_WORD();
		if (is_emoji(cp)) {
			char e[4];
			size_t el = haven_utf8_encode(cp, e);
			if ((rc = emit(ctx, e, el, at, (uint32_t)i, &st)))
				return rc;
		} else if (is_sentence_end(cp)) {
			st.sentence++;
			st.clause++;
		} else if (is_clause_end(cp)) {
			st.clause++;
		} else if (is_quote_mark(cp)) {
			if (cp == 0x201C || cp == 0xAB)
				st.quoted = 1;
			else if (cp == 0x201D || cp == 0xBB)
				st.quoted = 0;
			else
				st.quoted = !st.quoted;
		}
	}
	FLUSH_WORD();
#undef FLUSH_WORD
	return 0;
}

/* ------------------------------------------------------------------ term lookup */

static void token_add_term(struct crisis_token *t, uint32_t term)
{
	if (term == TERM_AMBIGUOUS)
		return;
	for (unsigned i = 0; i < t->nterms; i++)
		if (t->terms[i] == term)
			return;
	if (t->nterms < CRISIS_TOKEN_TERMS)
		t->terms[t->nterms++] = term;
}

static int ascii_word(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ascii_alpha(w[i]))
			return 0;
	return 1;
}

static void lookup_terms(const struct haven_crisis_lexicon *lex, const char *w, size_t n,
			 struct crisis_token *t)
{
	uint32_t id;
	int exact = smap_get(&lex->exact, w, n, &id);
	if (exact)
		token_add_term(t, id);
	if (lex->spell_ids && smap_get(&lex->spell, w, n, &id)) {
		for (const uint32_t *s = lex->spell_ids + id; *s != UINT32_MAX; s++)
			token_add_term(t, *s);
		exact = 1; /* a spelling of its own, not a slip for another word */
	}
	/* the prefixes' hashes, one byte at a time (hash_bytes is FNV-1a) */
	uint64_t h = 1469598103934665603ull;
	for (size_t pl = 1; pl <= n && pl <= WORD_MAX; pl++) {
		h ^= (unsigned char)w[pl - 1];
		h *= 1099511628211ull;
		if (lex->prefix_lens[pl] && smap_get_hashed(&lex->prefix, w, pl, h, &id))
			token_add_term(t, id);
	}
	if (exact || t->nterms || n < FUZZY_MIN_LEN - 1 || n >= WORD_MAX || !ascii_word(w, n))
		return;
	/* One edit away from a long vocabulary word, and only when unambiguous. */
	uint32_t found = TERM_AMBIGUOUS;
	int nfound = 0;
	if (smap_get(&lex->del, w, n, &id) && id != TERM_AMBIGUOUS) {
		/* A letter missing ("suicdal" for "suicidal") is the likelier slip, so it
		 * wins over a changed or extra letter that names another word. */
		token_add_term(t, id);
		return;
	}
	if (n >= FUZZY_MIN_LEN) {
		char d[WORD_MAX];
		for (size_t k = 0; k < n; k++) {
			memcpy(d, w, k);
			memcpy(d + k, w + k + 1, n - k - 1);
			/* a letter too many, or one letter changed or swapped */
			if ((smap_get(&lex->exact, d, n - 1, &id) ||
			     smap_get(&lex->del, d, n - 1, &id)) &&
			    id != TERM_AMBIGUOUS && id != found) {
				found = id;
				nfound++;
			}
		}
	}
	if (nfound == 1)
		token_add_term(t, found);
}

/* ------------------------------------------------------------------ scanning */

struct scan_ctx {
	const struct haven_crisis_lexicon *lex;
	struct crisis_scan *scan;
	size_t cap;
	unsigned njoined; /* run-together words split so far */
};

/* A match that takes only one piece of a run-together word is a coincidence of spelling
 * ("passive" is "pass" + "ive"), not a reading of it: every run-together word a match
 * touches must give it at least two of its pieces. */
static int joined_match_ok(const struct crisis_scan *s, const struct crisis_match *m)
{
	for (uint32_t t = m->first; t < m->last; t++) {
		uint16_t j = s->toks[t].joined;
		if (!j || (t > m->first && s->toks[t - 1].joined == j))
			continue;
		if (t + 1 >= m->last || s->toks[t + 1].joined != j)
			return 0;
	}
	return 1;
}

/* Words run together ("iwanttodie", "killmyself", "idontwanttolive"): a token that is not
 * in the vocabulary, nor one edit from it, is read as the fewest vocabulary words that
 * spell it, when there are such words. The split is made on the word as written (before
 * repeated letters are collapsed, so "want"+"to" stays two words) and each piece is then
 * normalised like any word. Only "i" and "u" may be one letter long. The pieces replace
 * the token (which matched nothing), each with the whole token's byte span. */
static int piece_term(const struct haven_crisis_lexicon *lex, const char *raw, size_t n,
		      uint32_t *id)
{
	char w[SPLIT_PIECE_MAX];
	memcpy(w, raw, n);
	size_t nl = normalise_word(w, n);
	return smap_get(&lex->exact, w, nl, id) && *id != TERM_AMBIGUOUS;
}

static void split_joined(struct scan_ctx *ctx, const char *w, size_t n)
{
	/* best[k]: fewest pieces spelling w[0..k); from[k], where the last of them starts */
	uint8_t best[WORD_MAX + 1], from[WORD_MAX + 1];
	uint32_t id;
	if (n > WORD_MAX)
		return;
	for (size_t k = 0; k < n; k++)
		if (!ascii_alpha(w[k]))
			return;
	memset(best, 0xff, sizeof(best));
	best[0] = 0;
	for (size_t s = 0; s < n; s++) {
		if (best[s] == 0xff || best[s] >= SPLIT_MAX_PIECES)
			continue;
		for (size_t e = s + 1; e <= n && e - s <= SPLIT_PIECE_MAX; e++) {
			if (e - s == 1 && w[s] != 'i' && w[s] != 'u')
				continue;
			/* no word starts with a doubled letter: "wanttolive" is "want"+"to",
			 * not "wan"+"tto" */
			if (e - s >= 2 && w[s] == w[s + 1])
				break;
			if (best[s] + 1 < best[e] && piece_term(ctx->lex, w + s, e - s, &id)) {
				best[e] = (uint8_t)(best[s] + 1);
				from[e] = (uint8_t)s;
			}
		}
	}
	if (best[n] == 0xff || best[n] < 2)
		return;
	struct crisis_scan *sc = ctx->scan;
	size_t np = best[n];
	if (sc->ntok + np - 1 > ctx->cap)
		return;
	size_t starts[SPLIT_MAX_PIECES], ends[SPLIT_MAX_PIECES];
	for (size_t k = n, i = np; i > 0; i--) {
		starts[i - 1] = from[k];
		ends[i - 1] = k;
		k = from[k];
	}
	struct crisis_token proto = sc->toks[sc->ntok - 1];
	sc->ntok--;
	proto.joined = (uint16_t)(++ctx->njoined);
	for (size_t i = 0; i < np; i++) {
		struct crisis_token *t = &sc->toks[sc->ntok++];
		char piece[SPLIT_PIECE_MAX];
		size_t pl = ends[i] - starts[i];
		memcpy(piece, w + starts[i], pl);
		pl = normalise_word(piece, pl);
		*t = proto;
		t->nterms = 0;
		lookup_terms(ctx->lex, piece, pl, t);
	}
}

static int scan_emit(void *vctx, const char *norm, size_t nlen, uint32_t start, uint32_t end,
		     const struct tok_state *st)
{
	struct scan_ctx *ctx = vctx;
	struct crisis_scan *s = ctx->scan;
	if (s->ntok == ctx->cap) {
		s->truncated = 1;
		return 1;
	}
	struct crisis_token *t = &s->toks[s->ntok++];
	memset(t, 0, sizeof(*t));
	t->start = start;
	t->end = end;
	t->sentence = st->sentence;
	t->clause = st->clause;
	t->quoted = (uint8_t)st->quoted;
	lookup_terms(ctx->lex, norm, nlen, t);
	if (!t->nterms && nlen >= SPLIT_MIN_LEN && st->raw && ascii_word(norm, nlen))
		split_joined(ctx, st->raw, st->rawlen);
	return 0;
}

/* The child of n along term, or UINT32_MAX. */
static uint32_t edge_child(const struct haven_crisis_lexicon *lex, const struct walk_node *n,
			   uint32_t term)
{
	/* branch-free binary search: the comparisons are unpredictable, a select is not */
	const struct trie_edge *e = lex->edges + n->edges;
	uint32_t len = n->nedges;
	if (len == 0)
		return UINT32_MAX;
	while (len > 1) {
		uint32_t half = len / 2;
		e = e[half].term <= term ? e + half : e;
		len -= half;
	}
	return e->term == term ? e->child : UINT32_MAX;
}

static void add_match(struct crisis_scan *s, size_t first_match, uint32_t pattern,
		      uint32_t first, uint32_t last)
{
	for (size_t i = first_match; i < s->nmatch; i++) {
		if (s->matches[i].pattern == pattern) {
			if (last < s->matches[i].last)
				s->matches[i].last = last;
			return;
		}
	}
	if (s->nmatch < CRISIS_MAX_MATCHES)
		s->matches[s->nmatch++] = (struct crisis_match){pattern, first, last};
}

/* Whether a walk at node from token pos (in the start token's sentence) can add anything
 * (see reach). Past the sentence no token is read, so only bit 0 counts. */
static int may_match(const struct haven_crisis_lexicon *lex, const struct crisis_scan *s,
		     uint32_t node, size_t pos, uint32_t sentence)
{
	uint64_t bits = pos < s->ntok && s->toks[pos].sentence == sentence ? s->toks[pos].term_bits
									  : 1;
	return (lex->reach[node] & bits) != 0;
}

static void walk(const struct haven_crisis_lexicon *lex, struct crisis_scan *s, uint32_t node,
		 size_t pos, uint32_t first, size_t first_match, uint32_t sentence)
{
	const struct walk_node *n = &lex->walk_nodes[node];
	const uint32_t *terminals = lex->ids + n->ids, *links = terminals + n->nterm;
	for (uint32_t i = 0; i < n->nterm; i++)
		add_match(s, first_match, terminals[i], first, (uint32_t)pos);
	for (uint32_t i = 0; i < n->nlinks; i++)
		if (may_match(lex, s, links[i], pos, sentence))
			walk(lex, s, links[i], pos, first, first_match, sentence);
	if (pos < s->ntok && s->toks[pos].sentence == sentence) {
		const struct crisis_token *t = &s->toks[pos];
		for (unsigned k = 0; k < t->nterms; k++) {
			uint32_t c = edge_child(lex, n, t->terms[k]);
			if (c != UINT32_MAX && may_match(lex, s, c, pos + 1, sentence))
				walk(lex, s, c, pos + 1, first, first_match, sentence);
		}
	}
	if (n->gap >= 0) {
		uint32_t g = (uint32_t)n->gap;
		for (size_t k = 0; k <= GAP_MAX && pos + k < s->ntok; k++) {
			if (s->toks[pos + k].sentence != sentence)
				break;
			if (may_match(lex, s, g, pos + k, sentence))
				walk(lex, s, g, pos + k, first, first_match, sentence);
		}
	}
}

static int cmp_match(const void *a, const void *b)
{
	const struct crisis_match *x = a, *y = b;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	if (x->pattern != y->pattern)
		return x->pattern < y->pattern ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

int haven__crisis_scan(const struct haven_crisis_lexicon *lex, const char *text, size_t len,
		       struct crisis_scan *s)
{
	/* A token takes at least one byte; so does the gap between two. */
	size_t cap = len / 2 + 2;
	if (cap > CRISIS_MAX_TOKENS)
		cap = CRISIS_MAX_TOKENS;
	s->ntok = 0;
	s->nmatch = 0;
	s->truncated = 0;
	if (cap > s->toks_cap) { /* the buffers of the last text serve when large enough */
		free(s->toks);
		s->toks = malloc(cap * sizeof(*s->toks));
		s->toks_cap = s->toks ? cap : 0;
	}
	if (!s->matches)
		s->matches = malloc(CRISIS_MAX_MATCHES * sizeof(*s->matches));
	if (!s->toks || !s->matches) {
		haven__crisis_scan_release(s);
		return HAVEN_ENOMEM;
	}
	struct scan_ctx ctx = {lex, s, cap, 0};
	(void)tokenise(text, len, scan_emit, &ctx);
	for (size_t i = 0; i < s->ntok; i++) {
		struct crisis_token *t = &s->toks[i];
		t->term_bits = 1;
		for (unsigned k = 0; k < t->nterms; k++)
			t->term_bits |= term_bit(t->terms[k]);
	}
	for (size_t i = 0; i < s->ntok && s->nmatch < CRISIS_MAX_MATCHES; i++) {
		const struct crisis_token *t = &s->toks[i];
		size_t first_match = s->nmatch;
		for (unsigned k = 0; k < t->nterms; k++) {
			uint32_t c = lex->root_child[t->terms[k]];
			if (c != UINT32_MAX && may_match(lex, s, c, i + 1, t->sentence))
				walk(lex, s, c, i + 1, (uint32_t)i, first_match, t->sentence);
		}
	}
	/* One order whatever the trie's shape: by first token, then lexicon line. */
	qsort(s->matches, s->nmatch, sizeof(*s->matches), cmp_match);
	if (ctx.njoined) {
		size_t kept = 0;
		for (size_t i = 0; i < s->nmatch; i++)
			if (joined_match_ok(s, &s->matches[i]))
				s->matches[kept++] = s->matches[i];
		s->nmatch = kept;
	}
	return HAVEN_OK;
}

void haven__crisis_scan_release(struct crisis_scan *s)
{
	free(s->toks);
	free(s->matches);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ parsing */

/* An alternative: a sequence of term ids (empty = the optional "~"). */
struct alt {
	uint32_t terms[ALT_TERMS_MAX];
	uint8_t n;
};

struct alt_list {
	struct alt *v;
	size_t n, cap;
};

struct item {
	int gap;
	struct alt_list alts;
};

struct parser {
	struct haven_crisis_lexicon *lex;
	const char *name;
	unsigned line;
	char *err;
	size_t errlen;
	struct lex_set *sets;
	size_t nsets, capsets;
	size_t expansions;
};

static int perr(struct parser *p, const char *fmt, ...) HAVEN_PRINTF(2, 3);
static int perr(struct parser *p, const char *fmt, ...)
{
	if (p->err && p->errlen) {
		int o = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
		va_list ap;
		va_start(ap, fmt);
		if (o >= 0 && (size_t)o < p->errlen)
			vsnprintf(p->err + o, p->errlen - (size_t)o, fmt, ap);
		va_end(ap);
	}
	return HAVEN_EINVAL;
}

static void alt_list_release(struct alt_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int alt_list_push(struct alt_list *l, const struct alt *a)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 4;
		struct alt *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return HAVEN_ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *a;
	return HAVEN_OK;
}

static int term_id(struct parser *p, const char *w, size_t n, int is_prefix, uint32_t *out)
{
	struct haven_crisis_lexicon *lex = p->lex;
	struct smap *m = is_prefix ? &lex->prefix : &lex->exact;
	if (smap_get(m, w, n, out))
		return HAVEN_OK;
	uint32_t id = lex->nterms++;
	if (smap_put(m, w, n, id, 0))
		return HAVEN_ENOMEM;
	if (is_prefix) {
		lex->prefix_lens[n] = 1;
	} else if (n >= FUZZY_MIN_LEN && n < WORD_MAX && ascii_word(w, n)) {
		char d[WORD_MAX];
		for (size_t k = 0; k < n; k++) {
			memcpy(d, w, k);
			memcpy(d + k, w + k + 1, n - k - 1);
			if (smap_put(&lex->del, d, n - 1, id, 1))
				return HAVEN_ENOMEM;
		}
	}
	*out = id;
	return HAVEN_OK;
}

struct collect_ctx {
	char words[ALT_TERMS_MAX][WORD_MAX];
	size_t lens[ALT_TERMS_MAX];
	size_t n;
	int overflow;
};

static int collect_emit(void *vctx, const char *norm, size_t nlen, uint32_t start,
			uint32_t end, const struct tok_state *st)
{
	struct collect_ctx *c = vctx;
	if (c->n == ALT_TERMS_MAX) {
		c->overflow = 1;
		return 1;
	}
	memcpy(c->words[c->n], norm, nlen);
	c->lens[c->n++] = nlen;
	return 0;
}

/* Appends the terms of one written word ("don't", "suicid*", "💀") to alt. */
static int parse_word(struct parser *p, const char *w, size_t n, struct alt *a)
{
	int is_prefix = 0;
	if (n > 1 && w[n - 1] == '*') {
		is_prefix = 1;
		n--;
	}
	for (size_t i = 0; i < n; i++)
		if (w[i] == '*' || w[i] == '$' || w[i] == '~')
			return perr(p, "'%.*s': '%c' may only be used as described in docs/crisis.md",
				    (int)n, w, w[i]);
	struct collect_ctx c;
	memset(&c, 0, sizeof(c));
	(void)tokenise(w, n, collect_emit, &c);
	if (c.overflow)
		return perr(p, "'%.*s' is too long", (int)n, w);
	if (c.n == 0)
		return perr(p, "'%.*s' contains no word or emoji", (int)n, w);
	if (is_prefix && c.n != 1)
		return perr(p, "prefix '%.*s*' must be a single word", (int)n, w);
	for (size_t i = 0; i < c.n; i++) {
		if (a->n == ALT_TERMS_MAX)
			return perr(p, "'%.*s': too many words in one alternative", (int)n, w);
		int rc = term_id(p, c.words[i], c.lens[i], is_prefix, &a->terms[a->n]);
		if (rc)
			return rc;
		a->n++;
	}
	return HAVEN_OK;
}

static const struct lex_set *find_set(const struct parser *p, const char *name, size_t n)
{
	for (size_t i = 0; i < p->nsets; i++)
		if (strlen(p->sets[i].name) == n && !memcmp(p->sets[i].name, name, n))
			return &p->sets[i];
	return NULL;
}

/* Parses one alternative "a_b_$SET_c": words in a row, where a set inside the sequence
 * multiplies it (one sequence per alternative of the set). Appends the sequences to out. */
static int parse_sequence(struct parser *p, const char *alt, size_t alen, struct alt_list *out,
			  int allow_sets)
{
	struct alt_list cur = {0}, next = {0};
	struct alt empty = {.n = 0};
	int rc = alt_list_push(&cur, &empty);
	size_t k = 0;
	while (!rc && k < alen) {
		size_t e = k;
		while (e < alen && alt[e] != '_')
			e++;
		if (e == k) {
			rc = perr(p, "empty word in '%.*s'", (int)alen, alt);
			break;
		}
		if (alt[k] == '$') {
			const struct lex_set *set =
				allow_sets ? find_set(p, alt + k + 1, e - k - 1) : NULL;
			if (!set) {
				rc = perr(p, "unknown set '%.*s'%s", (int)(e - k), alt + k,
					  allow_sets ? " (define it with @set before use)"
						     : " (sets cannot nest)");
				break;
			}
			for (size_t i = 0; !rc && i < cur.n; i++)
				for (size_t j = 0; !rc && j < set->alts->n; j++) {
					const struct alt *x = &cur.v[i], *y = &set->alts->v[j];
					if (x->n + y->n > ALT_TERMS_MAX) {
						rc = perr(p, "'%.*s': too many words in one alternative",
							  (int)alen, alt);
						break;
					}
					struct alt z = *x;
					memcpy(z.terms + z.n, y->terms, y->n * sizeof(uint32_t));
					z.n = (uint8_t)(z.n + y->n);
					rc = alt_list_push(&next, &z);
				}
			alt_list_release(&cur);
			cur = next;
			memset(&next, 0, sizeof(next));
		} else {
			for (size_t i = 0; !rc && i < cur.n; i++)
				rc = parse_word(p, alt + k, e - k, &cur.v[i]);
		}
		k = e + 1;
	}
	for (size_t i = 0; !rc && i < cur.n; i++)
		rc = alt_list_push(out, &cur.v[i]);
	alt_list_release(&cur);
	alt_list_release(&next);
	return rc;
}

/* Parses "a|b_c|$SET|~" into alternatives. */
static int parse_alternatives(struct parser *p, const char *s, size_t n, struct alt_list *out,
			      int allow_sets)
{
	size_t i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && s[j] != '|')
			j++;
		if (j == i)
			return perr(p, "empty alternative in '%.*s'", (int)n, s);
		const char *alt = s + i;
		size_t alen = j - i;
		int rc;
		if (alen == 1 && alt[0] == '~') {
			struct alt empty = {.n = 0};
			if ((rc = alt_list_push(out, &empty)))
				return rc;
		} else if ((rc = parse_sequence(p, alt, alen, out, allow_sets))) {
			return rc;
		}
		i = j + 1;
	}
	return HAVEN_OK;
}

static int new_node(struct haven_crisis_lexicon *lex, uint32_t *out)
{
	if (lex->nnodes == lex->capnodes) {
		size_t nc = lex->capnodes ? lex->capnodes * 2 : 1024;
		struct trie_node *nn = realloc(lex->nodes, nc * sizeof(*nn));
		if (!nn)
			return HAVEN_ENOMEM;
		lex->nodes = nn;
		lex->capnodes = nc;
	}
	struct trie_node *n = &lex->nodes[lex->nnodes];
	memset(n, 0, sizeof(*n));
	n->gap = -1;
	*out = (uint32_t)lex->nnodes++;
	return HAVEN_OK;
}

static int node_child(struct haven_crisis_lexicon *lex, uint32_t node, uint32_t term,
		      uint32_t *out)
{
	struct trie_node *n = &lex->nodes[node];
	for (uint32_t i = 0; i < n->nedges; i++)
		if (n->edges[i].term == term) {
			*out = n->edges[i].child;
			return HAVEN_OK;
		}
	uint32_t child;
	int rc = new_node(lex, &child);
	if (rc)
		return rc;
	n = &lex->nodes[node]; /* new_node may move the array */
	if (n->nedges == n->capedges) {
		uint32_t nc = n->capedges ? n->capedges * 2 : 2;
		struct trie_edge *ne = realloc(n->edges, nc * sizeof(*ne));
		if (!ne)
			return HAVEN_ENOMEM;
		n->edges = ne;
		n->capedges = nc;
	}
	n->edges[n->nedges++] = (struct trie_edge){term, child};
	*out = child;
	return HAVEN_OK;
}

/* Appends v to a node's growable array of ids unless it is there already. */
static int ids_add(uint32_t **ids, uint32_t *n, uint32_t *cap, uint32_t v)
{
	for (uint32_t i = 0; i < *n; i++)
		if ((*ids)[i] == v)
			return HAVEN_OK;
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 1;
		uint32_t *nv = realloc(*ids, nc * sizeof(*nv));
		if (!nv)
			return HAVEN_ENOMEM;
		*ids = nv;
		*cap = nc;
	}
	(*ids)[(*n)++] = v;
	return HAVEN_OK;
}

static int node_add_terminal(struct haven_crisis_lexicon *lex, uint32_t node, uint32_t pattern)
{
	struct trie_node *n = &lex->nodes[node];
	return ids_add(&n->terminals, &n->nterm, &n->capterm, pattern);
}

/* The number of term sequences items[from..] expand to (a gap counts once), capped. */
static size_t rest_sequences(const struct item *items, size_t nitems, size_t from)
{
	size_t n = 1;
	for (size_t i = from; i < nitems && n <= SHARE_MIN; i++)
		if (!items[i].gap)
			n *= items[i].alts.n;
	return n;
}

static int node_add_link(struct haven_crisis_lexicon *lex, uint32_t node, uint32_t to)
{
	struct trie_node *n = &lex->nodes[node];
	return ids_add(&n->links, &n->nlinks, &n->caplinks, to);
}

static int insert(struct parser *p, uint32_t node, const struct item *items, size_t nitems,
		  size_t i, uint32_t pattern, int consumed)
{
	struct haven_crisis_lexicon *lex = p->lex;
	int rc;
	if (i == nitems) {
		if (!consumed)
			return perr(p, "the pattern can match an empty text (every item is optional)");
		if (++p->expansions > EXPANSIONS_MAX)
			return perr(p, "the pattern expands to more than %d sequences; split it",
				    EXPANSIONS_MAX);
		return node_add_terminal(lex, node, pattern);
	}
	if (items[i].gap) {
		uint32_t g;
		if (lex->nodes[node].gap < 0) {
			if ((rc = new_node(lex, &g)))
				return rc;
			lex->nodes[node].gap = (int32_t)g;
		}
		g = (uint32_t)lex->nodes[node].gap;
		return insert(p, g, items, nitems, i + 1, pattern, consumed);
	}
	/* Every non-empty alternative of this item leads to one new continuation node (a
	 * link from the node each alternative reaches), so the rest of the pattern is
	 * inserted once, not once per alternative: a line's cost is the sum of its items'
	 * alternatives, not their product. A trie node stands for one sequence of terms, so
	 * a walk that reaches it has read one of this pattern's prefixes and may go on into
	 * the continuation; nothing but links leads into it, so no other pattern's path
	 * runs through it. */
	uint32_t rest = UINT32_MAX;
	int share = items[i].alts.n > 1 && i + 1 < nitems &&
		    items[i].alts.n * rest_sequences(items, nitems, i + 1) > SHARE_MIN;
	for (size_t k = 0; k < items[i].alts.n; k++) {
		const struct alt *a = &items[i].alts.v[k];
		uint32_t cur = node;
		for (uint8_t t = 0; t < a->n; t++)
			if ((rc = node_child(lex, cur, a->terms[t], &cur)))
				return rc;
		if (a->n == 0 && consumed == 0 && i + 1 < nitems && items[i + 1].gap)
			return perr(p, "a pattern cannot start with a gap '*'");
		if (!share || a->n == 0) {
			if ((rc = insert(p, cur, items, nitems, i + 1, pattern, consumed || a->n)))
				return rc;
			continue;
		}
		if (rest == UINT32_MAX) {
			if ((rc = new_node(lex, &rest)))
				return rc;
			if ((rc = insert(p, rest, items, nitems, i + 1, pattern, 1)))
				return rc;
		}
		if ((rc = node_add_link(lex, cur, rest)))
			return rc;
	}
	return HAVEN_OK;
}

static int parse_category(const char *s, size_t n)
{
	for (int c = 0; c < CRISIS_CAT__COUNT; c++)
		if (strlen(file_cat_names[c]) == n && !memcmp(file_cat_names[c], s, n))
			return c;
	return -1;
}

static int parse_level(const char *s, size_t n)
{
	static const char *const names[] = {"none", "low", "moderate", "high"};
	if (n == 1 && s[0] == '-')
		return 0;
	for (int l = 1; l < 4; l++)
		if (strlen(names[l]) == n && !memcmp(names[l], s, n))
			return l;
	(void)names[0];
	return -1;
}

/* Splits off the next whitespace-separated field. */
static int next_field(const char **s, const char *end, const char **f, size_t *n)
{
	while (*s < end && (**s == ' ' || **s == '\t'))
		(*s)++;
	if (*s == end)
		return 0;
	*f = *s;
	while (*s < end && **s != ' ' && **s != '\t')
		(*s)++;
	*n = (size_t)(*s - *f);
	return 1;
}

/* Normalises s (n bytes) into c when it is exactly one word; otherwise a parse error. */
static int spell_word(struct parser *p, const char *s, size_t n, struct collect_ctx *c)
{
	memset(c, 0, sizeof(*c));
	(void)tokenise(s, n, collect_emit, c);
	if (c->overflow || c->n != 1)
		return perr(p, "@spell: '%.*s' must be a single word", (int)n, s);
	return HAVEN_OK;
}

static int spell_push(struct haven_crisis_lexicon *lex, uint32_t id)
{
	if (haven_grow(&lex->spell_ids, &lex->capspell_ids, lex->nspell_ids,
	               sizeof(*lex->spell_ids), 64))
		return HAVEN_ENOMEM;
	lex->spell_ids[lex->nspell_ids++] = id;
	return HAVEN_OK;
}

static int parse_directive(struct parser *p, const char *s, const char *end)
{
	const char *f;
	size_t n;
	int rc;
	next_field(&s, end, &f, &n);
	if (n == 8 && !memcmp(f, "@version", 8)) {
		if (!next_field(&s, end, &f, &n) || n >= sizeof(p->lex->version))
			return perr(p, "@version needs a version name (at most %zu bytes)",
				    sizeof(p->lex->version) - 1);
		if (p->lex->version[0])
			return perr(p, "@version given twice");
		memcpy(p->lex->version, f, n);
		p->lex->version[n] = '\0';
		const char *g;
		size_t gn;
		if (next_field(&s, end, &g, &gn))
			return perr(p, "unexpected text after the version");
		return HAVEN_OK;
	}
	if (n == 4 && !memcmp(f, "@set", 4)) {
		const char *name, *val;
		size_t nn, vn;
		if (!next_field(&s, end, &name, &nn) || !next_field(&s, end, &val, &vn))
			return perr(p, "@set needs a NAME and alternatives: @set NAME a|b|c");
		const char *g;
		size_t gn;
		if (next_field(&s, end, &g, &gn))
			return perr(p, "@set alternatives must not contain spaces (use '_' "
				       "between words)");
		if (nn >= sizeof(p->sets[0].name))
			return perr(p, "set name '%.*s' is too long", (int)nn, name);
		for (size_t i = 0; i < nn; i++)
			if (!((name[i] >= 'A' && name[i] <= 'Z') || name[i] == '_' ||
			      (name[i] >= '0' && name[i] <= '9')))
				return perr(p, "set name '%.*s' must be upper case letters, digits "
					       "and '_'", (int)nn, name);
		if (find_set(p, name, nn))
			return perr(p, "set '%.*s' is defined twice", (int)nn, name);
		if (p->nsets == p->capsets) {
			size_t nc = p->capsets ? p->capsets * 2 : 16;
			struct lex_set *ns = realloc(p->sets, nc * sizeof(*ns));
			if (!ns)
				return HAVEN_ENOMEM;
			p->sets = ns;
			p->capsets = nc;
		}
		struct lex_set *set = &p->sets[p->nsets];
		memcpy(set->name, name, nn);
		set->name[nn] = '\0';
		set->alts = calloc(1, sizeof(*set->alts));
		if (!set->alts)
			return HAVEN_ENOMEM;
		p->nsets++;
		if ((rc = parse_alternatives(p, val, vn, set->alts, 1)))
			return rc;
		return HAVEN_OK;
	}
	if (n == 6 && !memcmp(f, "@spell", 6)) {
		const char *word, *val;
		size_t wn, vn;
		if (!next_field(&s, end, &word, &wn) || !next_field(&s, end, &val, &vn))
			return perr(p, "@spell needs a WORD and the words it is read as: "
				       "@spell miself myself");
		const char *g;
		size_t gn;
		if (next_field(&s, end, &g, &gn))
			return perr(p, "unexpected text after the words of @spell");
		struct collect_ctx c;
		if ((rc = spell_word(p, word, wn, &c)))
			return rc;
		uint32_t id;
		if (smap_get(&p->lex->spell, c.words[0], c.lens[0], &id))
			return perr(p, "@spell: '%.*s' is given twice", (int)wn, word);
		struct haven_crisis_lexicon *lex = p->lex;
		uint32_t first = (uint32_t)lex->nspell_ids;
		const char *v = val, *vend = val + vn;
		while (v <= vend) {
			const char *bar = memchr(v, '|', (size_t)(vend - v));
			size_t an = bar ? (size_t)(bar - v) : (size_t)(vend - v);
			struct collect_ctx t;
			if ((rc = spell_word(p, v, an, &t)) ||
			    (rc = term_id(p, t.words[0], t.lens[0], 0, &id)) ||
			    (rc = spell_push(lex, id)))
				return rc;
			v += an + 1;
		}
		rc = spell_push(lex, UINT32_MAX);
		if (rc || (rc = smap_put(&lex->spell, c.words[0], c.lens[0], first, 0)))
			return rc;
		return HAVEN_OK;
	}
	return perr(p, "unknown directive '%.*s' (expected @version, @set or @spell)", (int)n, f);
}

static int parse_pattern_line(struct parser *p, const char *s, const char *end)
{
	struct haven_crisis_lexicon *lex = p->lex;
	const char *f;
	size_t n;
	int rc = HAVEN_OK;
	struct item items[PATTERN_ITEMS_MAX];
	size_t nitems = 0;

	if (!lex->version[0])
		return perr(p, "the lexicon must start with '@version NAME'");
	next_field(&s, end, &f, &n);
	int cat = parse_category(f, n);
	if (cat < 0)
		return perr(p, "unknown category '%.*s'", (int)n, f);
	if (!next_field(&s, end, &f, &n))
		return perr(p, "missing level and pattern (expected: category level pattern)");
	int level = parse_level(f, n);
	if (level < 0)
		return perr(p, "unknown level '%.*s' (expected low, moderate, high or -)", (int)n,
			    f);
	if (cat < CRISIS_CAT__RISK_END && level == 0)
		return perr(p, "category '%s' needs a level (low, moderate or high)",
			    file_cat_names[cat]);
	if (cat >= CRISIS_CAT__RISK_END && level != 0)
		return perr(p, "category '%s' is a context cue; its level must be '-'",
			    file_cat_names[cat]);
	while (next_field(&s, end, &f, &n)) {
		if (nitems == PATTERN_ITEMS_MAX) {
			rc = perr(p, "pattern has more than %d items", PATTERN_ITEMS_MAX);
			goto out;
		}
		struct item *it = &items[nitems];
		memset(it, 0, sizeof(*it));
		nitems++;
		if (n == 1 && f[0] == '*') {
			if (nitems == 1) {
				rc = perr(p, "a pattern cannot start with a gap '*'");
				goto out;
			}
			if (items[nitems - 2].gap) {
				rc = perr(p, "two gaps '* *' in a row");
				goto out;
			}
			it->gap = 1;
			continue;
		}
		if ((rc = parse_alternatives(p, f, n, &it->alts, 1)))
			goto out;
	}
	if (nitems == 0) {
		rc = perr(p, "missing pattern after the level");
		goto out;
	}
	if (items[nitems - 1].gap) {
		rc = perr(p, "a pattern cannot end with a gap '*'");
		goto out;
	}
	if (lex->npatterns == lex->cappatterns) {
		size_t nc = lex->cappatterns ? lex->cappatterns * 2 : 256;
		struct crisis_pattern *np = realloc(lex->patterns, nc * sizeof(*np));
		if (!np) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		lex->patterns = np;
		lex->cappatterns = nc;
	}
	uint32_t pid = (uint32_t)lex->npatterns;
	lex->patterns[pid] = (struct crisis_pattern){(uint8_t)cat, (uint8_t)level, p->line};
	lex->npatterns++;
	p->expansions = 0;
	rc = insert(p, 0, items, nitems, 0, pid, 0);
out:
	for (size_t i = 0; i < nitems; i++)
		alt_list_release(&items[i].alts);
	return rc;
}

/* reach[node] (see struct haven_crisis_lexicon), following links depth first. state: 0
 * not seen, 1 on the path (a cycle, which insert() never makes: the node is kept always),
 * 2 done. */
static uint64_t node_reach(struct haven_crisis_lexicon *lex, uint8_t *state, uint32_t node)
{
	if (state[node] == 2)
		return lex->reach[node];
	if (state[node] == 1)
		return ~0ull;
	state[node] = 1;
	const struct trie_node *n = &lex->nodes[node];
	uint64_t r = n->nterm || n->gap >= 0 ? 1 : 0;
	for (uint32_t i = 0; i < n->nedges; i++)
		r |= term_bit(n->edges[i].term);
	for (uint32_t i = 0; i < n->nlinks; i++)
		r |= node_reach(lex, state, n->links[i]);
	lex->reach[node] = r;
	state[node] = 2;
	return r;
}

static int build_filters(struct haven_crisis_lexicon *lex)
{
	lex->reach = malloc(lex->nnodes * sizeof(*lex->reach));
	lex->root_child = malloc((lex->nterms ? lex->nterms : 1) * sizeof(*lex->root_child));
	uint8_t *state = calloc(lex->nnodes, 1);
	if (!lex->reach || !lex->root_child || !state) {
		free(state);
		return HAVEN_ENOMEM;
	}
	for (size_t k = 0; k < lex->nnodes; k++)
		node_reach(lex, state, (uint32_t)k);
	free(state);
	memset(lex->root_child, 0xFF, lex->nterms * sizeof(*lex->root_child));
	const struct trie_node *root = &lex->nodes[0];
	for (uint32_t i = 0; i < root->nedges; i++)
		lex->root_child[root->edges[i].term] = root->edges[i].child;
	return HAVEN_OK;
}

/* Makes the walk's trie (struct walk_node) from the build's and frees the build's. */
static int finish_trie(struct haven_crisis_lexicon *lex)
{
	size_t nedges = 0, nids = 0;
	for (size_t k = 0; k < lex->nnodes; k++) {
		const struct trie_node *n = &lex->nodes[k];
		nedges += n->nedges;
		nids += (size_t)n->nterm + n->nlinks;
	}
	if (nedges >= UINT32_MAX || nids >= UINT32_MAX)
		return HAVEN_ENOMEM;
	lex->walk_nodes = malloc(lex->nnodes * sizeof(*lex->walk_nodes));
	lex->edges = malloc((nedges ? nedges : 1) * sizeof(*lex->edges));
	lex->ids = malloc((nids ? nids : 1) * sizeof(*lex->ids));
	if (!lex->walk_nodes || !lex->edges || !lex->ids)
		return HAVEN_ENOMEM;
	size_t e = 0, d = 0;
	for (size_t k = 0; k < lex->nnodes; k++) {
		struct trie_node *n = &lex->nodes[k];
		struct walk_node *w = &lex->walk_nodes[k];
		*w = (struct walk_node){(uint32_t)e, n->nedges, (uint32_t)d, n->nterm, n->nlinks,
					n->gap};
		if (n->nedges)
			memcpy(lex->edges + e, n->edges, n->nedges * sizeof(*lex->edges));
		e += n->nedges;
		if (n->nterm)
			memcpy(lex->ids + d, n->terminals, n->nterm * sizeof(*lex->ids));
		d += n->nterm;
		if (n->nlinks)
			memcpy(lex->ids + d, n->links, n->nlinks * sizeof(*lex->ids));
		d += n->nlinks;
		free(n->edges);
		free(n->terminals);
		free(n->links);
	}
	free(lex->nodes);
	lex->nodes = NULL;
	return HAVEN_OK;
}

static int cmp_edge(const void *a, const void *b)
{
	uint32_t x = ((const struct trie_edge *)a)->term, y = ((const struct trie_edge *)b)->term;
	return x < y ? -1 : x > y;
}

int haven_crisis_lexicon_parse(const char *text, size_t len, const char *name,
			       struct haven_crisis_lexicon **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	struct parser p = {.name = name ? name : "lexicon", .err = err, .errlen = errlen};
	int rc;
	uint32_t root;
	p.lex = calloc(1, sizeof(*p.lex));
	if (!p.lex)
		return HAVEN_ENOMEM;
	if ((rc = new_node(p.lex, &root)))
		goto out;
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		p.line++;
		const char *s = text + i, *end = text + j;
		i = j + 1;
		if (end > s && end[-1] == '\r')
			end--;
		if ((size_t)(end - s) > LINE_MAX_BYTES) {
			rc = perr(&p, "line longer than %d bytes", LINE_MAX_BYTES);
			goto out;
		}
		size_t bad;
		if (!haven_utf8_valid(s, (size_t)(end - s), &bad)) {
			rc = perr(&p, "invalid UTF-8 at byte %zu of the line", bad + 1);
			goto out;
		}
		for (const char *c = s; c < end; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t') {
				rc = perr(&p, "control character in the line");
				goto out;
			}
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s == end || *s == '#')
			continue;
		rc = *s == '@' ? parse_directive(&p, s, end) : parse_pattern_line(&p, s, end);
		if (rc)
			goto out;
	}
	if (!p.lex->version[0]) {
		p.line = 1;
		rc = perr(&p, "the lexicon must start with '@version NAME'");
		goto out;
	}
	if (p.lex->npatterns == 0) {
		rc = perr(&p, "the lexicon has no patterns");
		goto out;
	}
	for (size_t k = 0; k < p.lex->nnodes; k++) {
		struct trie_node *n = &p.lex->nodes[k];
		if (n->nedges > 1)
			qsort(n->edges, n->nedges, sizeof(*n->edges), cmp_edge);
	}
	if ((rc = build_filters(p.lex)) || (rc = finish_trie(p.lex)))
		goto out;
	rc = HAVEN_OK;
out:
	for (size_t k = 0; k < p.nsets; k++) {
		alt_list_release(p.sets[k].alts);
		free(p.sets[k].alts);
	}
	free(p.sets);
	if (rc)
		haven_crisis_lexicon_destroy(&p.lex);
	*out = p.lex;
	return rc;
}

int haven_crisis_lexicon_load(const char *path, struct haven_crisis_lexicon **out, char *err,
			      size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open the crisis lexicon: %s", path,
				 strerror(e));
		return haven_err_from_errno(e);
	}
	struct haven_buf b;
	haven_buf_init(&b, 16u << 20);
	int rc = haven_buf_append_file(&b, f);
	if (rc == HAVEN_EIO) {
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "%s: the crisis lexicon is larger than 16 MiB", path);
		goto out;
	}
	rc = haven_crisis_lexicon_parse(b.data ? b.data : "", b.len, path, out, err, errlen);
out:
	fclose(f);
	haven_buf_release(&b);
	return rc;
}
