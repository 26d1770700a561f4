/*
 * tokenize.c: the chat-text tokenizer. One pass over the code points of a text (invalid
 * UTF-8 decodes to U+FFFD) produces words, numbers, punctuation, emoji and emoticons, with
 * case folding, contraction expansion, elongation collapsing and negation scope marking.
 *
 * Contractions are expanded into two tokens ("can't" -> "can" "not", "i'm" -> "i" "am",
 * and the apostrophe-less chat forms "dont", "cant", "im" likewise) so that "not" is one
 * token however it was written, which makes negation scope and n-grams consistent. "'s" is
 * kept as its own token because it is ambiguous (possessive or "is").
 */
#include <stdlib.h>
#include <string.h>

#include "nlp/nlp_int.h"

void haven_text_opts_default(struct haven_text_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->buckets = 1u << 18;
	o->word_ngrams = 2;
	o->char_minn = 3;
	o->char_maxn = 5;
	o->lowercase = 1;
	o->contractions = 1;
	o->negation = 1;
	o->scaling = HAVEN_SCALING_LOG;
	o->use_idf = 1;
	o->char_weight = 0.5f;
}

void haven_tokens_init(struct haven_tokens *t)
{
	memset(t, 0, sizeof(*t));
}

void haven_tokens_release(struct haven_tokens *t)
{
	free(t->v);
	free(t->store);
	memset(t, 0, sizeof(*t));
}

static int is_space(uint32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
	       c == 0xA0 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202F || c == 0x205F || c == 0x3000 || c == 0 || c == 0xFEFF;
}

/* Joiners and modifiers that belong to the previous emoji and are dropped. */
static int is_emoji_modifier(uint32_t c)
{
	return c == 0xFE0F || c == 0xFE0E || c == 0x200D || (c >= 0x1F3FB && c <= 0x1F3FF) ||
	       (c >= 0xE0020 && c <= 0xE007F) || c == 0x20E3;
}

static int is_emoji(uint32_t c)
{
	return (c >= 0x1F000 && c <= 0x1FAFF) || (c >= 0x2600 && c <= 0x27BF) ||
	       (c >= 0x2300 && c <= 0x23FF) || (c >= 0x2B00 && c <= 0x2BFF) || c == 0x3030 ||
	       c == 0x303D || c == 0x00A9 || c == 0x00AE || c == 0x2764 || c == 0x2122;
}

static int is_apostrophe(uint32_t c)
{
	return c == '\'' || c == 0x2019 || c == 0x2018 || c == 0x02BC;
}

/* Word characters: ASCII letters and digits, and any non-ASCII code point that is not
 * space, punctuation (General Punctuation block, Latin-1 symbols), emoji or U+FFFD. */
static int is_word_char(uint32_t c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		       c == '_';
	if (c < 0xC0)
		return c == 0xAA || c == 0xB5 || c == 0xBA;
	if (c == 0xD7 || c == 0xF7 || c == 0xFFFD)
		return 0;
	if (c >= 0x2000 && c <= 0x2BFF)
		return 0;
	if (c >= 0x3000 && c <= 0x303F)
		return 0;
	if (c >= 0xFE00 && c <= 0xFE0F)
		return 0;
	if (is_emoji(c) || is_emoji_modifier(c) || is_space(c))
		return 0;
	return 1;
}

static int is_upper(uint32_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
	       (c >= 0x100 && c <= 0x17F && !(c & 1) && c != 0x130 && c != 0x138) ||
	       (c >= 0x391 && c <= 0x3A9) || (c >= 0x410 && c <= 0x42F);
}

static int is_lower_letter(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 0xDF && c <= 0xFF && c != 0xF7) ||
	       (c >= 0x100 && c <= 0x17F && (c & 1)) || (c >= 0x3B1 && c <= 0x3C9) ||
	       (c >= 0x430 && c <= 0x44F);
}

static uint32_t fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 32;
	if (c >= 0x100 && c <= 0x17F && !(c & 1) && c != 0x130 && c != 0x138)
		return c + 1;
	if ((c >= 0x391 && c <= 0x3A9) || (c >= 0x410 && c <= 0x42F))
		return c + 32;
	return c;
}

/* ---- storage ---- */

static int store_reserve(struct haven_tokens *t, size_t extra)
{
	if (t->store_len + extra <= t->store_cap)
		return 0;
	size_t cap = t->store_cap ? t->store_cap : 256;
	while (cap < t->store_len + extra)
		cap *= 2;
	char *p = realloc(t->store, cap);
	if (!p)
		return HAVEN_ENOMEM;
	t->store = p;
	t->store_cap = cap;
	return 0;
}

/* Appends a token; its text is stored as an offset until haven_tokenize finishes. */
static int push_token(struct haven_tokens *t, const char *s, size_t n, uint32_t flags,
		      uint32_t start, uint32_t src_len)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		struct haven_token *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return HAVEN_ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	if (store_reserve(t, n + 1))
		return HAVEN_ENOMEM;
	memcpy(t->store + t->store_len, s, n);
	t->store[t->store_len + n] = 0;
	struct haven_token *k = &t->v[t->n++];
	k->text = (const char *)(uintptr_t)t->store_len;
	k->len = (uint32_t)n;
	k->flags = flags;
	k->start = start;
	k->src_len = src_len;
	t->store_len += n + 1;
	return 0;
}

/* ---- contractions ---- */

struct expansion {
	const char *word, *a, *b;
};

/* Whole-word forms, with and without apostrophe (chat writes "dont", "im", "cant"). */
static const struct expansion whole_words[] = {
	{"can't", "can", "not"},      {"cant", "can", "not"},        {"cannot", "can", "not"},
	{"won't", "will", "not"},     {"wont", "will", "not"},       {"shan't", "shall", "not"},
	{"ain't", "is", "not"},       {"aint", "is", "not"},         {"dont", "do", "not"},
	{"doesnt", "does", "not"},    {"didnt", "did", "not"},       {"isnt", "is", "not"},
	{"arent", "are", "not"},      {"wasnt", "was", "not"},       {"werent", "were", "not"},
	{"havent", "have", "not"},    {"hasnt", "has", "not"},       {"hadnt", "had", "not"},
	{"wouldnt", "would", "not"},  {"couldnt", "could", "not"},   {"shouldnt", "should", "not"},
	{"mustnt", "must", "not"},    {"neednt", "need", "not"},     {"im", "i", "am"},
	{"ive", "i", "have"},         {"youre", "you", "are"},       {"theyre", "they", "are"},
	{"youve", "you", "have"},     {"theyve", "they", "have"},    {"idk", "i", "dunno"},
	{"gonna", "going", "to"},     {"wanna", "want", "to"},       {"gotta", "got", "to"},
};

static const struct expansion suffixes[] = {
	{"n't", NULL, "not"}, {"'m", NULL, "am"},     {"'re", NULL, "are"},
	{"'ve", NULL, "have"}, {"'ll", NULL, "will"}, {"'d", NULL, "would"},
	{"'s", NULL, "'s"},
};

static int is_negator(const char *w, size_t n)
{
	if (n < 2 || n > 7 || (w[0] != 'n' && w[0] != 'w'))
		return 0;
	static const char *neg[] = {"not", "no", "never", "nothing", "nobody", "none",
				    "nowhere", "neither", "nor", "without", "nope", "nah"};
	for (size_t i = 0; i < sizeof(neg) / sizeof(neg[0]); i++)
		if (neg[i][0] == w[0] && !strncmp(neg[i], w, n) && !neg[i][n])
			return 1;
	return 0;
}

static int emit_word(struct haven_tokens *t, const struct haven_text_opts *o, const char *w,
		     size_t n, uint32_t flags, uint32_t start, uint32_t src_len)
{
	int rc;
	if (o->contractions && n >= 2 && n <= 8 && w[n - 1] != '\'' &&
	    strchr("cwsadihmnytg", w[0])) {
		for (size_t i = 0; i < sizeof(whole_words) / sizeof(whole_words[0]); i++) {
			const struct expansion *e = &whole_words[i];
			if (e->word[0] == w[0] && !strncmp(e->word, w, n) && !e->word[n]) {
				uint32_t f = flags | HAVEN_TOK_EXPANDED;
				if ((rc = push_token(t, e->a, strlen(e->a), f, start, src_len)))
					return rc;
				return push_token(t, e->b, strlen(e->b), f, start, src_len);
			}
		}
	}
	if (o->contractions && memchr(w, '\'', n)) {
		for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			const struct expansion *e = &suffixes[i];
			size_t sl = strlen(e->word);
			if (n > sl && !memcmp(w + n - sl, e->word, sl)) {
				uint32_t f = flags | HAVEN_TOK_EXPANDED;
				if ((rc = push_token(t, w, n - sl, f, start, src_len)))
					return rc;
				return push_token(t, e->b, strlen(e->b), f, start, src_len);
			}
		}
	}
	return push_token(t, w, n, flags, start, src_len);
}

/* ---- emoticons ---- */

static const char *const emoticons[] = {
	">:-(", ">:(", ":'-(", ":'(", ":')", "</3", "^_^", "-_-", "T_T", ";_;", ":-)", ":-(",
	":-D", ":-P", ":-p", ":-/", ":-|", ":-*", ";-)", ":)", ":(", ":D", ":P", ":p", ":/",
	":|", ":o", ":O", ":*", ":3", ";)", "=)", "=(", "<3", "xD", "XD", "^^", ":\\",
	":]", ":[", "=D", ";(", ":c",
};

/* Length of the emoticon at s (n bytes left), or 0. An emoticon must stand alone: what
 * follows is the end, space or punctuation other than letters and digits. */
static size_t match_emoticon(const char *s, size_t n, int at_word_start)
{
	if (!at_word_start || !strchr(":;=<>^-TxX", s[0]))
		return 0;
	for (size_t i = 0; i < sizeof(emoticons) / sizeof(emoticons[0]); i++) {
		size_t l = strlen(emoticons[i]);
		if (l <= n && !memcmp(s, emoticons[i], l)) {
			if (l < n) {
				unsigned char c = (unsigned char)s[l];
				if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9'))
					continue;
			}
			return l;
		}
	}
	return 0;
}

/* Canonical form: the nose is dropped and letters fold (":-D" -> ":d"). */
static size_t canon_emoticon(const char *s, size_t l, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < l; i++) {
		char c = s[i];
		if (c == '-' && l > 2 && i > 0 && i + 1 < l && s[0] != '-')
			continue;
		if (c >= 'A' && c <= 'Z' && !(l == 3 && s[0] == 'T'))
			c = (char)(c + 32);
		out[k++] = c;
	}
	return k;
}

/* ---- main loop ---- */

static int is_scope_end(const struct haven_token *k, const char *text)
{
	if (!(k->flags & (HAVEN_TOK_PUNCT | HAVEN_TOK_EMOJI | HAVEN_TOK_EMOTICON)))
		return !strcmp(text, "but") || !strcmp(text, "however");
	return strchr(".,!?;:", text[0]) != NULL || (k->flags & (HAVEN_TOK_EMOJI |
								  HAVEN_TOK_EMOTICON));
}

int haven_tokenize(const struct haven_text_opts *o, const char *text, size_t n,
		   struct haven_tokens *t)
{
	int rc = 0;
	char word[512 + 8];
	t->n = 0;
	t->store_len = 0;
	t->truncated = 0;
	t->replaced = 0;
	if (n > HAVEN_NLP_MAX_TEXT) {
		n = HAVEN_NLP_MAX_TEXT;
		t->truncated = 1;
	}
	size_t i = 0;
	int prev_space = 1;
	while (i < n) {
		uint32_t c;
		size_t l = haven_utf8_decode(text + i, n - i, &c);
		if (c == 0xFFFD && l == 1)
			t->replaced = 1;
		if (is_space(c)) {
			i += l;
			prev_space = 1;
			continue;
		}
		size_t emo = c < 0x80 ? match_emoticon(text + i, n - i, prev_space) : 0;
		if (emo) {
			char buf[16];
			size_t k = canon_emoticon(text + i, emo, buf);
			if ((rc = push_token(t, buf, k, HAVEN_TOK_EMOTICON, (uint32_t)i,
					     (uint32_t)emo)))
				goto out;
			i += emo;
			prev_space = 0;
			continue;
		}
		prev_space = 0;
		if (is_emoji(c)) {
			size_t start = i;
			i += l;
			while (i < n) { /* drop modifiers; a ZWJ sequence keeps its first emoji */
				uint32_t d;
				size_t dl = haven_utf8_decode(text + i, n - i, &d);
				if (is_emoji_modifier(d)) {
					i += dl;
					if (d == 0x200D && i < n) {
						dl = haven_utf8_decode(text + i, n - i, &d);
						if (is_emoji(d))
							i += dl;
					}
					continue;
				}
				break;
			}
			if ((rc = push_token(t, text + start, l, HAVEN_TOK_EMOJI, (uint32_t)start,
					     (uint32_t)(i - start))))
				goto out;
			continue;
		}
		if (is_emoji_modifier(c)) {
			i += l;
			continue;
		}
		if (is_word_char(c)) {
			size_t start = i, wl = 0;
			uint32_t p1 = 0, p2 = 0;
			int upper = 0, lower = 0, elong = 0, digits = 0, letters = 0;
			while (i < n) {
				uint32_t d;
				size_t dl = haven_utf8_decode(text + i, n - i, &d);
				if (is_apostrophe(d)) {
					/* part of the word only between word characters */
					uint32_t e = 0;
					if (i + dl < n)
						haven_utf8_decode(text + i + dl, n - i - dl, &e);
					if (!is_word_char(e) || wl == 0)
						break;
					d = '\'';
				} else if (!is_word_char(d)) {
					break;
				}
				i += dl;
				if (is_upper(d))
					upper++;
				else if (is_lower_letter(d))
					lower++;
				if (d >= '0' && d <= '9')
					digits++;
				else if (d != '\'')
					letters++;
				uint32_t f = o->lowercase ? fold(d) : d;
				if (f == p1 && f == p2 && !(f >= '0' && f <= '9')) {
					elong = 1; /* third repeat or more: collapse to two */
					continue;
				}
				p2 = p1;
				p1 = f;
				if (wl + 4 <= 512)
					wl += haven_utf8_encode(f, word + wl);
			}
			uint32_t flags = HAVEN_TOK_WORD;
			if (elong)
				flags |= HAVEN_TOK_ELONG;
			if (upper >= 2 && lower == 0)
				flags |= HAVEN_TOK_CAPS;
			uint32_t src_len = (uint32_t)(i - start);
			if (digits && !letters) {
				/* numbers like 3, 3.5, 1,000: one "<num>" token */
				while (i + 1 < n && (text[i] == '.' || text[i] == ',') &&
				       text[i + 1] >= '0' && text[i + 1] <= '9') {
					i++;
					while (i < n && text[i] >= '0' && text[i] <= '9')
						i++;
				}
				rc = push_token(t, "<num>", 5, HAVEN_TOK_NUM, (uint32_t)start,
						(uint32_t)(i - start));
			} else {
				rc = emit_word(t, o, word, wl, flags, (uint32_t)start, src_len);
			}
			if (rc)
				goto out;
			continue;
		}
		/* punctuation and symbols: a run of the same mark is one token */
		{
			size_t start = i;
			i += l;
			int run = 1;
			while (i < n) {
				uint32_t d;
				size_t dl = haven_utf8_decode(text + i, n - i, &d);
				if (d != c)
					break;
				i += dl;
				run++;
			}
			char buf[8];
			size_t k;
			if (c == '.' && run >= 2) {
				memcpy(buf, "...", 3);
				k = 3;
			} else if (c == 0x2026) {
				memcpy(buf, "...", 3);
				k = 3;
			} else if (c == 0x201C || c == 0x201D) {
				buf[0] = '"';
				k = 1;
			} else {
				k = haven_utf8_encode(c, buf);
			}
			if ((rc = push_token(t, buf, k, HAVEN_TOK_PUNCT, (uint32_t)start,
					     (uint32_t)(i - start))))
				goto out;
		}
	}
	/* Resolve text offsets into pointers, then mark negation scope. */
	int in_scope = 0;
	for (size_t k = 0; k < t->n; k++) {
		struct haven_token *tok = &t->v[k];
		tok->text = t->store + (uintptr_t)tok->text;
		if (!o->negation)
			continue;
		if (is_scope_end(tok, tok->text)) {
			in_scope = 0;
			continue;
		}
		if ((tok->flags & HAVEN_TOK_WORD) && is_negator(tok->text, tok->len)) {
			tok->flags |= HAVEN_TOK_NEGATOR;
			in_scope = 1;
			continue;
		}
		if (in_scope && (tok->flags & (HAVEN_TOK_WORD | HAVEN_TOK_NUM)))
			tok->flags |= HAVEN_TOK_NEG;
	}
out:
	if (rc) {
		t->n = 0;
		t->store_len = 0;
	}
	return rc;
}
