/* test_nlp.c: the text engine: tokenizer, features, training, model files, explanations,
 * metrics and dataset reading. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nlp/nlp.h"
#include "nlp/nlp_int.h"

static struct haven_text_opts topts(void)
{
	struct haven_text_opts o;
	haven_text_opts_default(&o);
	return o;
}

static const struct haven_token *find_tok(const struct haven_tokens *t, const char *s, size_t from)
{
	for (size_t i = from; i < t->n; i++)
		if (!strcmp(t->v[i].text, s))
			return &t->v[i];
	return NULL;
}

TEST(nlp_tokenize_chat_text)
{
	struct haven_text_opts o = topts();
	struct haven_tokens t;
	haven_tokens_init(&t);
	const char *s = "I CAN'T believe it\xE2\x80\x99s soooo good :-) \xF0\x9F\x98\x80\xF0\x9F\x8F\xBD "
			"not happy at all. OK 3.5 hrs";
	ASSERT_OK(haven_tokenize(&o, s, strlen(s), &t));
	const char *want[] = {"i", "can", "not", "believe", "it", "'s", "soo", "good", ":)",
			      "\xF0\x9F\x98\x80", "not", "happy", "at", "all", ".", "ok", "<num>",
			      "hrs"};
	ASSERT_EQ(t.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < t.n; i++)
		ASSERT_STR_EQ(t.v[i].text, want[i]);
	ASSERT(t.v[2].flags & HAVEN_TOK_NEGATOR);
	ASSERT(t.v[1].flags & HAVEN_TOK_CAPS);
	ASSERT(t.v[3].flags & HAVEN_TOK_NEG);      /* believe */
	ASSERT(t.v[6].flags & HAVEN_TOK_ELONG);    /* soo */
	ASSERT(t.v[7].flags & HAVEN_TOK_NEG);      /* good */
	ASSERT(t.v[8].flags & HAVEN_TOK_EMOTICON); /* ends the scope */
	ASSERT(t.v[9].flags & HAVEN_TOK_EMOJI);    /* skin tone dropped */
	ASSERT(t.v[11].flags & HAVEN_TOK_NEG);     /* happy */
	ASSERT(!(t.v[15].flags & HAVEN_TOK_NEG));  /* after "." */
	ASSERT(t.v[16].flags & HAVEN_TOK_NUM);
	ASSERT(!t.replaced && !t.truncated);
	haven_tokens_release(&t);
}

TEST(nlp_tokenize_chat_forms_and_bad_bytes)
{
	struct haven_text_opts o = topts();
	struct haven_tokens t;
	haven_tokens_init(&t);
	const char *s = "im fine, dont worry <3 lol";
	ASSERT_OK(haven_tokenize(&o, s, strlen(s), &t));
	ASSERT(find_tok(&t, "am", 0));
	const struct haven_token *w = find_tok(&t, "worry", 0);
	ASSERT(w && (w->flags & HAVEN_TOK_NEG));
	const struct haven_token *h = find_tok(&t, "<3", 0);
	ASSERT(h && (h->flags & HAVEN_TOK_EMOTICON));
	/* invalid UTF-8, NUL bytes and control bytes never break tokenizing */
	const char bad[] = "ab\xFF\xFE cd\x00\x01\xC3 \xE2\x82 ef\xF0\x9F";
	ASSERT_OK(haven_tokenize(&o, bad, sizeof(bad) - 1, &t));
	ASSERT(t.replaced);
	ASSERT(find_tok(&t, "ab", 0) && find_tok(&t, "cd", 0) && find_tok(&t, "ef", 0));
	/* very long input is truncated and said so */
	size_t big = HAVEN_NLP_MAX_TEXT * 2;
	char *long_text = malloc(big);
	ASSERT(long_text);
	for (size_t i = 0; i < big; i++)
		long_text[i] = (i % 7 == 6) ? ' ' : 'a' + (char)(i % 5);
	ASSERT_OK(haven_tokenize(&o, long_text, big, &t));
	ASSERT(t.truncated);
	free(long_text);
	/* garbage of every byte value */
	unsigned char all[512];
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i * 37);
	ASSERT_OK(haven_tokenize(&o, (const char *)all, sizeof(all), &t));
	haven_tokens_release(&t);
}

TEST(nlp_features_named_and_normalised)
{
	struct haven_text_opts o = topts();
	struct haven_tokens t;
	struct haven_features f;
	haven_tokens_init(&t);
	haven_features_init(&f);
	const char *s = "not happy, sooo tired";
	ASSERT_OK(haven_tokenize(&o, s, strlen(s), &t));
	ASSERT_OK(haven_features_extract(&o, &t, NULL, 1, &f));
	int neg = 0, chr = 0, bi = 0, elong = 0;
	double norm = 0;
	for (size_t i = 0; i < f.n; i++) {
		for (size_t k = 0; k < i; k++)
			ASSERT(f.v[i].index != f.v[k].index);
		ASSERT(f.v[i].index < o.buckets);
		norm += (double)f.v[i].value * f.v[i].value;
		neg |= !strcmp(f.v[i].name, "w:NEG_happy");
		chr |= !strcmp(f.v[i].name, "c:<ti");
		bi |= !strcmp(f.v[i].name, "b:not|happy");
		elong |= !strcmp(f.v[i].name, "f:<elong>");
	}
	ASSERT(neg && chr && bi && elong);
	ASSERT_NEAR(norm, 1.0, 1e-4);
	haven_features_release(&f);
	haven_tokens_release(&t);
}

/* A tiny synthetic task: a sentence's label is given by one cue word. */
static struct haven_dataset *synthetic(int multi)
{
	static const char *pos[] = {"love", "great", "wonderful", "happy", "awesome"};
	static const char *neg[] = {"hate", "awful", "terrible", "sad", "horrible"};
	static const char *pre[] = {"i feel ", "this is ", "", "so ", "what a "};
	static const char *post[] = {" today", "", " day at work", " about it", " thing"};
	struct haven_dataset *d;
	if (haven_dataset_create(&d))
		return NULL;
	for (int i = 0; i < 5; i++)
		for (int k = 0; k < 5; k++) {
			char buf[128];
			const char *lp[] = {"pos"}, *ln[] = {"neg"}, *lb[] = {"pos", "tired"};
			snprintf(buf, sizeof(buf), "%s%s%s", pre[k], pos[i], post[k]);
			if (haven_dataset_add(d, buf, NULL, lp, 1))
				return NULL;
			snprintf(buf, sizeof(buf), "%s%s%s", pre[k], neg[i], post[k]);
			if (haven_dataset_add(d, buf, NULL, ln, 1))
				return NULL;
			if (multi) {
				snprintf(buf, sizeof(buf), "exhausted but %s", pos[i]);
				if (haven_dataset_add(d, buf, NULL, lb, 2))
					return NULL;
			}
		}
	return d;
}

static struct haven_model *train_synthetic(enum haven_model_kind kind, int multi, int threads)
{
	struct haven_dataset *d = synthetic(multi);
	struct haven_train_opts o;
	struct haven_model *m = NULL;
	char err[256];
	if (!d)
		return NULL;
	haven_train_opts_default(&o);
	o.kind = kind;
	o.text.buckets = 4096;
	o.linear_epochs = 30;
	o.bag_epochs = 40;
	o.dim = 8;
	o.threads = threads;
	o.name = "synthetic";
	if (haven_model_train(d, d, &o, &m, err, sizeof(err)))
		fprintf(stderr, "train: %s\n", err);
	haven_dataset_destroy(&d);
	return m;
}

static void expect_perfect(struct haven_model *m, int multi)
{
	struct haven_dataset *d = synthetic(multi);
	struct haven_metrics mt;
	ASSERT(d);
	ASSERT_OK(haven_model_evaluate(m, d, &mt));
	ASSERT_NEAR(mt.accuracy, 1.0, 1e-9);
	haven_metrics_release(&mt);
	haven_dataset_destroy(&d);
}

static unsigned char *file_bytes(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long l = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *p = malloc((size_t)l + 1);
	if (p && fread(p, 1, (size_t)l, f) != (size_t)l) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*n = (size_t)l;
	return p;
}

/* Saves a and b under names made from tag and asserts the two files hold the same bytes. */
static void expect_same_bytes(const struct haven_model *a, const struct haven_model *b,
                              const char *tag)
{
	char pa[512], pb[512], name[64];
	snprintf(name, sizeof(name), "%s-a", tag);
	snprintf(pa, sizeof(pa), "%s", haven_test_tmpfile(name));
	snprintf(name, sizeof(name), "%s-b", tag);
	snprintf(pb, sizeof(pb), "%s", haven_test_tmpfile(name));
	ASSERT_OK(haven_model_save(a, pa));
	ASSERT_OK(haven_model_save(b, pb));
	size_t na, nb;
	unsigned char *ba = file_bytes(pa, &na), *bb = file_bytes(pb, &nb);
	ASSERT(ba && bb);
	ASSERT_EQ(na, nb);
	ASSERT(!memcmp(ba, bb, na));
	free(ba);
	free(bb);
}

TEST(nlp_train_linear_learns_and_is_deterministic)
{
	struct haven_model *a = train_synthetic(HAVEN_MODEL_LINEAR, 0, 1);
	struct haven_model *b = train_synthetic(HAVEN_MODEL_LINEAR, 0, 1);
	ASSERT(a && b);
	expect_perfect(a, 0);
	expect_same_bytes(a, b, "lin");
	haven_model_destroy(&a);
	haven_model_destroy(&b);
	ASSERT(a == NULL);
}

TEST(nlp_train_multilabel_threads_identical)
{
	struct haven_model *a = train_synthetic(HAVEN_MODEL_LINEAR, 1, 1);
	struct haven_model *b = train_synthetic(HAVEN_MODEL_LINEAR, 1, 2);
	ASSERT(a && b);
	ASSERT(haven_model_info(a)->multi_label);
	expect_perfect(a, 1);
	expect_same_bytes(a, b, "ml");
	haven_model_destroy(&a);
	haven_model_destroy(&b);
}

TEST(nlp_train_bag_and_ensemble_learn)
{
	struct haven_model *m = train_synthetic(HAVEN_MODEL_EMBEDDING_BAG, 0, 1);
	ASSERT(m);
	expect_perfect(m, 0);
	haven_model_destroy(&m);
	m = train_synthetic(HAVEN_MODEL_ENSEMBLE, 1, 2);
	ASSERT(m);
	expect_perfect(m, 1);
	haven_model_destroy(&m);
}

TEST(nlp_model_roundtrip_and_explanations)
{
	struct haven_model *m = train_synthetic(HAVEN_MODEL_LINEAR, 0, 1), *l = NULL;
	struct haven_nlp_ws *ws;
	char path[512], err[256];
	ASSERT(m);
	snprintf(path, sizeof(path), "%s", haven_test_tmpfile("rt"));
	ASSERT_OK(haven_model_save(m, path));
	ASSERT_OK(haven_model_load(path, &l, err, sizeof(err)));
	ASSERT_STR_EQ(haven_model_info(l)->name, "synthetic");
	ASSERT_EQ(haven_model_info(l)->nlabels, 2);
	ASSERT_STR_EQ(haven_model_label(l, 0), "pos"); /* order of first appearance */
	ASSERT_OK(haven_nlp_ws_create(&ws));
	const char *s = "what a wonderful day, i love it";
	struct haven_prediction p;
	ASSERT_OK(haven_model_predict(l, ws, s, strlen(s), &p));
	ASSERT_EQ(p.top, 0);
	ASSERT(p.predicted[0]);
	float score1 = p.score[0], prob1 = p.prob[0];
	ASSERT_OK(haven_model_predict(m, ws, s, strlen(s), &p));
	ASSERT_NEAR(p.score[0], score1, 0);
	struct haven_explanation e;
	ASSERT_OK(haven_model_explain(l, ws, s, strlen(s), 0, 3, &e));
	double sum = e.bias;
	for (size_t i = 0; i < e.nall; i++)
		sum += e.all[i].contribution;
	ASSERT_NEAR(sum, e.score, 1e-4);
	ASSERT_NEAR(e.score, score1, 1e-4);
	ASSERT_NEAR(e.prob, prob1, 1e-6);
	ASSERT_EQ(e.n, 3);
	ASSERT(fabsf(e.top[0].contribution) >= fabsf(e.top[1].contribution));
	int cue = 0;
	for (size_t i = 0; i < e.n; i++)
		cue |= strstr(e.top[i].name, "love") || strstr(e.top[i].name, "wonderful") ||
		       strstr(e.top[i].name, "wond");
	ASSERT(cue);
	ASSERT_EQ(haven_model_explain(l, ws, s, strlen(s), 7, 3, &e), HAVEN_EINVAL);
	/* one tokenization shared by several models gives the same prediction */
	struct haven_tokens t;
	haven_tokens_init(&t);
	ASSERT_OK(haven_tokenize(&haven_model_info(l)->text, s, strlen(s), &t));
	ASSERT_OK(haven_model_predict_tokens(l, ws, &t, &p));
	ASSERT_NEAR(p.score[0], score1, 0);
	haven_tokens_release(&t);
	haven_nlp_ws_destroy(&ws);
	haven_model_destroy(&l);
	haven_model_destroy(&m);
}

TEST(nlp_bag_explanation_sums_to_score)
{
	struct haven_model *m = train_synthetic(HAVEN_MODEL_EMBEDDING_BAG, 0, 1);
	struct haven_nlp_ws *ws;
	ASSERT(m);
	ASSERT_OK(haven_nlp_ws_create(&ws));
	const char *s = "so terrible about it";
	struct haven_prediction p;
	ASSERT_OK(haven_model_predict(m, ws, s, strlen(s), &p));
	float score0 = p.score[0];
	struct haven_explanation e;
	ASSERT_OK(haven_model_explain(m, ws, s, strlen(s), 0, 5, &e));
	double sum = e.bias;
	for (size_t i = 0; i < e.nall; i++)
		sum += e.all[i].contribution;
	ASSERT_NEAR(sum, score0, 1e-4);
	haven_nlp_ws_destroy(&ws);
	haven_model_destroy(&m);
}

TEST(nlp_model_rejects_corrupt_files)
{
	struct haven_model *m = train_synthetic(HAVEN_MODEL_ENSEMBLE, 0, 1), *l = NULL;
	char path[512], err[256];
	ASSERT(m);
	snprintf(path, sizeof(path), "%s", haven_test_tmpfile("c"));
	ASSERT_OK(haven_model_save(m, path));
	haven_model_destroy(&m);
	size_t n;
	unsigned char *b = file_bytes(path, &n);
	ASSERT(b);
	ASSERT_OK(haven_model_load_mem(b, n, HAVEN_LOAD_COPY, &l, err, sizeof(err)));
	haven_model_destroy(&l);
	/* every truncation fails cleanly */
	for (size_t k = 0; k < n; k += (k < 256 ? 1 : 97)) {
		ASSERT_EQ(haven_model_load_mem(b, k, HAVEN_LOAD_COPY, &l, err, sizeof(err)),
			  HAVEN_ECORRUPT);
		ASSERT(l == NULL);
		ASSERT(err[0]);
	}
	/* a flipped bit anywhere in the payload fails the checksum */
	for (size_t k = 32; k < n; k += 131) {
		b[k] ^= 0x10;
		ASSERT_EQ(haven_model_load_mem(b, n, HAVEN_LOAD_COPY, &l, err, sizeof(err)),
			  HAVEN_ECORRUPT);
		ASSERT_CONTAINS(err, "checksum");
		b[k] ^= 0x10;
	}
	/* the same flip in two words of one lane (32 bytes apart) does not cancel out */
	for (size_t k = 64; k + 32 < n; k += 1031) {
		b[k] ^= 0x80;
		b[k + 32] ^= 0x80;
		ASSERT_EQ(haven_model_load_mem(b, n, HAVEN_LOAD_COPY, &l, err, sizeof(err)),
			  HAVEN_ECORRUPT);
		ASSERT_CONTAINS(err, "checksum");
		b[k] ^= 0x80;
		b[k + 32] ^= 0x80;
	}
	/* a file of format 1 (the same payload under FNV-1a-64) still loads, and its checksum
	 * is checked the old way */
	ASSERT_EQ(b[8], 2);
	unsigned char sum2[8];
	memcpy(sum2, b + 24, 8);
	b[8] = 1;
	ASSERT_EQ(haven_model_load_mem(b, n, HAVEN_LOAD_COPY, &l, err, sizeof(err)),
		  HAVEN_ECORRUPT);
	ASSERT_CONTAINS(err, "checksum");
	uint64_t fnv = haven__fnv1a64(b + 32, n - 32);
	for (int i = 0; i < 8; i++)
		b[24 + i] = (unsigned char)(fnv >> (8 * i));
	ASSERT_OK(haven_model_load_mem(b, n, HAVEN_LOAD_COPY, &l, err, sizeof(err)));
	haven_model_destroy(&l);
	b[8] = 2;
	memcpy(b + 24, sum2, 8);
	/* bad magic and version */
	b[0] = 'X';
	ASSERT_EQ(haven_model_load_mem(b, n, HAVEN_LOAD_COPY, &l, err, sizeof(err)),
		  HAVEN_ECORRUPT);
	ASSERT_CONTAINS(err, "magic");
	b[0] = 'H';
	b[8] = 99;
	ASSERT_EQ(haven_model_load_mem(b, n, HAVEN_LOAD_COPY, &l, err, sizeof(err)),
		  HAVEN_ECORRUPT);
	ASSERT_CONTAINS(err, "version");
	b[8] = 1;
	/* a truncated file on disk */
	FILE *f = fopen(path, "wb");
	ASSERT(f);
	ASSERT_EQ(fwrite(b, 1, n / 2, f), n / 2);
	fclose(f);
	ASSERT_EQ(haven_model_load(path, &l, err, sizeof(err)), HAVEN_ECORRUPT);
	ASSERT_CONTAINS(err, "truncated");
	ASSERT_EQ(haven_model_load("/nonexistent/model.hvm", &l, err, sizeof(err)),
		  HAVEN_ENOTFOUND);
	free(b);
}

TEST(nlp_metrics_hand_worked)
{
	struct haven_metrics_acc *a;
	struct haven_metrics m;
	ASSERT_OK(haven_metrics_acc_create(2, 0, &a));
	/* gold 1,1,0,0; predicted 1,0,0,1; p(1) 0.9,0.4,0.3,0.6 */
	const int gold[] = {1, 1, 0, 0}, pred[] = {1, 0, 0, 1};
	const float p1[] = {0.9f, 0.4f, 0.3f, 0.6f};
	for (int i = 0; i < 4; i++) {
		unsigned char g[2] = {(unsigned char)!gold[i], (unsigned char)gold[i]};
		unsigned char q[2] = {(unsigned char)!pred[i], (unsigned char)pred[i]};
		float pr[2] = {1 - p1[i], p1[i]};
		ASSERT_OK(haven_metrics_acc_add(a, g, q, pr));
	}
	ASSERT_OK(haven_metrics_compute(a, &m));
	ASSERT_NEAR(m.accuracy, 0.5, 1e-9);
	ASSERT_NEAR(m.label[1].precision, 0.5, 1e-9);
	ASSERT_NEAR(m.label[1].recall, 0.5, 1e-9);
	ASSERT_NEAR(m.label[1].f1, 0.5, 1e-9);
	ASSERT_NEAR(m.macro_f1, 0.5, 1e-9);
	ASSERT_NEAR(m.balanced_accuracy, 0.5, 1e-9);
	ASSERT_NEAR(m.auroc, 0.75, 1e-9); /* 3 of 4 positive/negative pairs ordered */
	ASSERT_EQ(m.confusion[1 * 2 + 1], 1);
	ASSERT_EQ(m.confusion[0 * 2 + 1], 1);
	haven_metrics_release(&m);
	haven_metrics_acc_destroy(&a);

	/* multi-label, 3 labels: micro vs macro */
	ASSERT_OK(haven_metrics_acc_create(3, 1, &a));
	unsigned char g1[3] = {1, 1, 0}, q1[3] = {1, 0, 0};
	unsigned char g2[3] = {0, 0, 1}, q2[3] = {0, 0, 1};
	unsigned char g3[3] = {1, 0, 0}, q3[3] = {0, 1, 0};
	ASSERT_OK(haven_metrics_acc_add(a, g1, q1, NULL));
	ASSERT_OK(haven_metrics_acc_add(a, g2, q2, NULL));
	ASSERT_OK(haven_metrics_acc_add(a, g3, q3, NULL));
	ASSERT_OK(haven_metrics_compute(a, &m));
	/* label0: tp1 fn1 -> f1 2/3; label1: fp1 fn1 -> 0; label2: tp1 -> 1 */
	ASSERT_NEAR(m.macro_f1, (2.0 / 3 + 0 + 1) / 3, 1e-9);
	/* micro: tp 2, fp 1, fn 2 -> 4/7 */
	ASSERT_NEAR(m.micro_f1, 4.0 / 7, 1e-9);
	ASSERT_NEAR(m.accuracy, 1.0 / 3, 1e-9);
	haven_metrics_release(&m);
	haven_metrics_acc_destroy(&a);
}

TEST(nlp_dataset_csv_tsv_and_split)
{
	char path[512], err[256];
	snprintf(path, sizeof(path), "%s.csv", haven_test_tmpfile("data"));
	FILE *f = fopen(path, "w");
	ASSERT(f);
	fputs("id,text,label,post\r\n"
	      "1,\"multi\nline, with \"\"quotes\"\"\",a,p1\r\n"
	      "2,plain text,b,p1\r\n"
	      "3,,a,p2\r\n"
	      "4,third,\"a|b\",p3\r\n",
	      f);
	fclose(f);
	struct haven_read_opts o;
	haven_read_opts_default(&o);
	o.text_cols = "text";
	o.label_col = "label";
	o.group_col = "post";
	o.label_sep = "|";
	struct haven_dataset *d;
	ASSERT_OK(haven_dataset_read(path, &o, &d, err, sizeof(err)));
	ASSERT_EQ(d->n, 3);
	ASSERT_EQ(d->skipped, 1);
	ASSERT_STR_EQ(d->ex[0].text, "multi\nline, with \"quotes\"");
	ASSERT_EQ(d->nlabel_names, 2);
	ASSERT_STR_EQ(d->label_names[0], "a");
	ASSERT_EQ(d->ex[2].nlabels, 2);
	struct haven_dataset *tr, *dv;
	ASSERT_OK(haven_dataset_split(d, 0.5, 7, &tr, &dv));
	ASSERT_EQ(tr->n + dv->n, 3);
	/* rows of group p1 stay together */
	int p1_train = 0;
	for (size_t i = 0; i < tr->n; i++)
		p1_train += !strcmp(tr->ex[i].group, "p1");
	ASSERT(p1_train == 0 || p1_train == 2);
	haven_dataset_destroy(&tr);
	haven_dataset_destroy(&dv);
	haven_dataset_destroy(&d);

	/* numbered columns, no header, TSV, label names */
	char names[512];
	snprintf(path, sizeof(path), "%s.tsv", haven_test_tmpfile("data"));
	snprintf(names, sizeof(names), "%s", haven_test_tmpfile("names"));
	f = fopen(path, "w");
	ASSERT(f);
	fputs("hello \"there\"\t0,2\tx1\nbye\t1\tx2\n", f);
	fclose(f);
	f = fopen(names, "w");
	ASSERT(f);
	fputs("joy\nsadness\nsurprise\n", f);
	fclose(f);
	haven_read_opts_default(&o);
	o.header = 0;
	o.text_cols = "1";
	o.label_col = "2";
	o.label_sep = ",";
	o.label_names = names;
	ASSERT_OK(haven_dataset_read(path, &o, &d, err, sizeof(err)));
	ASSERT_EQ(d->n, 2);
	ASSERT_STR_EQ(d->ex[0].text, "hello \"there\"");
	ASSERT_EQ(d->nlabel_names, 3);
	ASSERT_EQ(d->ex[0].nlabels, 2);
	ASSERT_EQ(d->ex[0].labels[1], 2);
	haven_dataset_destroy(&d);
	/* errors: a bad index, a missing column, an unterminated quote */
	f = fopen(path, "w");
	ASSERT(f);
	fputs("hello\t7\n", f);
	fclose(f);
	ASSERT_EQ(haven_dataset_read(path, &o, &d, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, ":1:");
	o.label_col = "9";
	ASSERT_EQ(haven_dataset_read(path, &o, &d, err, sizeof(err)), HAVEN_EINVAL);
	snprintf(path, sizeof(path), "%s.csv", haven_test_tmpfile("bad"));
	f = fopen(path, "w");
	ASSERT(f);
	fputs("text,label\n\"open,a\n", f);
	fclose(f);
	haven_read_opts_default(&o);
	o.text_cols = "text";
	o.label_col = "label";
	ASSERT_EQ(haven_dataset_read(path, &o, &d, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "unterminated");
	ASSERT(d == NULL);
}

TEST(nlp_train_l1_is_sparse_and_learns)
{
	struct haven_dataset *d = synthetic(0);
	struct haven_train_opts o;
	struct haven_model *m = NULL;
	char err[256], path[512];
	ASSERT(d);
	haven_train_opts_default(&o);
	o.text.buckets = 4096;
	o.linear_epochs = 30;
	o.reg = HAVEN_REG_L1;
	o.c = 5;
	o.output = HAVEN_OUTPUT_SIGMOID;
	ASSERT_OK(haven_model_train(d, d, &o, &m, err, sizeof(err)));
	expect_perfect(m, 0);
	/* most weights are exactly zero: count them in the saved file's linear section */
	snprintf(path, sizeof(path), "%s", haven_test_tmpfile("l1"));
	ASSERT_OK(haven_model_save(m, path));
	struct haven_nlp_ws *ws;
	ASSERT_OK(haven_nlp_ws_create(&ws));
	/* words that occur equally with both labels: L1 zeroes their weights */
	const char *s = "i feel today this is day at work so about it what a thing";
	struct haven_explanation e;
	ASSERT_OK(haven_model_explain(m, ws, s, strlen(s), 0, 100, &e));
	size_t zero = 0;
	for (size_t i = 0; i < e.nall; i++)
		zero += e.all[i].weight == 0;
	ASSERT(zero > e.nall / 2);
	haven_nlp_ws_destroy(&ws);
	haven_model_destroy(&m);
	haven_dataset_destroy(&d);
}

/* Effective weight (after folding) of the feature named name in the explanation of s. */
static float weight_of(struct haven_model *m, struct haven_nlp_ws *ws, const char *s,
		       const char *name)
{
	struct haven_explanation e;
	ASSERT_OK(haven_model_explain(m, ws, s, strlen(s), 0, 1, &e));
	for (size_t i = 0; i < e.nall; i++)
		if (!strcmp(e.all[i].name, name))
			return e.all[i].weight;
	ASSERT(!"feature not in the explanation");
	return 0;
}

TEST(nlp_train_nb_weighted_two_labels)
{
	struct haven_dataset *d = synthetic(0), *multi = synthetic(1), *three = NULL;
	struct haven_train_opts o;
	struct haven_model *m = NULL, *again = NULL, *plain = NULL;
	struct haven_nlp_ws *ws;
	char err[256];
	ASSERT(d && multi);
	haven_train_opts_default(&o);
	o.text.buckets = 4096;
	o.linear_epochs = 30;
	ASSERT_OK(haven_model_train(d, d, &o, &plain, err, sizeof(err)));
	o.nb_alpha = 1;
	ASSERT_OK(haven_model_train(d, d, &o, &m, err, sizeof(err)));
	expect_perfect(m, 0);
	/* The cue separates the labels; "feel" occurs as often with both, so its log-count
	   ratio (about 0) takes its weight to nearly zero, far below the plain model's. */
	ASSERT_OK(haven_nlp_ws_create(&ws));
	const char *s = "i feel love today";
	float cue = weight_of(m, ws, s, "w:love"), neutral = weight_of(m, ws, s, "w:feel");
	ASSERT(cue > 0);
	ASSERT(fabsf(neutral) < 0.05f * cue);
	float plain_cue = weight_of(plain, ws, s, "w:love");
	float plain_neutral = weight_of(plain, ws, s, "w:feel");
	ASSERT(fabsf(neutral) / cue < fabsf(plain_neutral) / plain_cue);
	/* same data, options and seed: the same bytes */
	ASSERT_OK(haven_model_train(d, d, &o, &again, err, sizeof(err)));
	expect_same_bytes(m, again, "nb");
	haven_model_destroy(&again);
	/* interpolated with the mean weight (the paper's beta) it still learns */
	o.nb_beta = 0.25;
	ASSERT_OK(haven_model_train(d, d, &o, &again, err, sizeof(err)));
	expect_perfect(again, 0);
	haven_model_destroy(&again);
	o.nb_beta = 1;
	/* refused: three labels, several labels per row, the embedding bag, bad beta */
	ASSERT_OK(haven_dataset_create(&three));
	static const char *texts[] = {"love it", "hate it", "no idea"};
	static const char *names[] = {"pos", "neg", "unsure"};
	for (int i = 0; i < 3; i++) {
		const char *lab[] = {names[i]};
		ASSERT_OK(haven_dataset_add(three, texts[i], NULL, lab, 1));
	}
	ASSERT_EQ(haven_model_train(three, NULL, &o, &again, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "two-label");
	ASSERT(!again);
	ASSERT_EQ(haven_model_train(multi, NULL, &o, &again, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "several per text");
	o.kind = HAVEN_MODEL_EMBEDDING_BAG;
	ASSERT_EQ(haven_model_train(d, NULL, &o, &again, err, sizeof(err)), HAVEN_EINVAL);
	o.kind = HAVEN_MODEL_LINEAR;
	o.nb_beta = 0;
	ASSERT_EQ(haven_model_train(d, NULL, &o, &again, err, sizeof(err)), HAVEN_EINVAL);
	haven_nlp_ws_destroy(&ws);
	haven_dataset_destroy(&three);
	haven_dataset_destroy(&multi);
	haven_dataset_destroy(&d);
	haven_model_destroy(&m);
	haven_model_destroy(&plain);
}

/* Writes a CSV of 120 rows: text, label, agreement, a span, a second label and a group (two
 * rows per group); the last row's fields are given. */
static void write_weighted_csv(const char *path, const char *last)
{
	FILE *f = fopen(path, "w");
	ASSERT(f);
	fputs("text,label,agree,span,second,grp\n", f);
	for (int i = 0; i < 120; i++)
		fprintf(f, "row %d says %s,%s,%s,%s,%s,g%d\n", i, i % 2 ? "yes" : "no",
			i % 2 ? "a" : "b", i % 3 ? "1" : "0.6", i % 4 ? "span words" : "",
			i % 5 ? "" : "b", i / 2);
	if (last)
		fprintf(f, "%s\n", last);
	fclose(f);
}

TEST(nlp_dataset_weights_and_extra_examples)
{
	char path[512], err[256];
	snprintf(path, sizeof(path), "%s.csv", haven_test_tmpfile("weighted"));
	write_weighted_csv(path, NULL);
	struct haven_read_opts o;
	struct haven_dataset *d = NULL, *plain = NULL;
	haven_read_opts_default(&o);
	o.text_cols = "text";
	o.label_col = "label";
	ASSERT_OK(haven_dataset_read(path, &o, &plain, err, sizeof(err)));
	ASSERT_EQ(plain->n, 120);
	for (size_t i = 0; i < plain->n; i++)
		ASSERT(plain->ex[i].weight == 1 && !plain->ex[i].extra);
	o.weight_col = "agree";
	o.min_weight = 0.7;
	o.extra_text_col = "span";
	o.extra_label_col = "second";
	o.extra_weight = 0.5;
	ASSERT_OK(haven_dataset_read(path, &o, &d, err, sizeof(err)));
	/* 120 rows, 90 spans, 24 second labels */
	ASSERT_EQ(d->n, 120 + 90 + 24);
	size_t rows = 0, spans = 0, seconds = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct haven_example *e = &d->ex[i];
		if (!e->extra) {
			/* agreement 0.6 is below the minimum: weight 0, still read (for dev) */
			ASSERT(e->weight == (rows % 3 ? 1.0f : 0.0f));
			ASSERT(e->group == NULL);
			rows++;
			continue;
		}
		/* an extra example follows its row and carries the row's text as split key */
		const struct haven_example *row = &d->ex[i - 1 - (d->ex[i - 1].extra != 0)];
		ASSERT(!row->extra);
		ASSERT_STR_EQ(e->group, row->text);
		ASSERT(e->weight == 0.5f * row->weight);
		if (!strcmp(e->text, "span words")) {
			ASSERT_EQ(e->labels[0], row->labels[0]);
			spans++;
		} else {
			ASSERT_STR_EQ(e->text, row->text);
			ASSERT_STR_EQ(d->label_names[e->labels[0]], "b");
			seconds++;
		}
	}
	ASSERT_EQ(rows, 120);
	ASSERT_EQ(spans, 90);
	ASSERT_EQ(seconds, 24);

	/* The split puts extra examples with their row and never in dev: dev is exactly the
	   dev part of the file read without them. */
	struct haven_dataset *tr, *dv, *ptr, *pdv;
	ASSERT_OK(haven_dataset_split(d, 0.4, 3, &tr, &dv));
	ASSERT_OK(haven_dataset_split(plain, 0.4, 3, &ptr, &pdv));
	ASSERT(dv->n > 20 && ptr->n > 20);
	ASSERT_EQ(dv->n, pdv->n);
	for (size_t i = 0; i < dv->n; i++) {
		ASSERT(!dv->ex[i].extra);
		ASSERT_STR_EQ(dv->ex[i].text, pdv->ex[i].text);
	}
	size_t train_extras = 0;
	for (size_t i = 0; i < tr->n; i++) {
		if (!tr->ex[i].extra)
			continue;
		train_extras++;
		int row_in_train = 0;
		for (size_t k = 0; k < ptr->n; k++)
			row_in_train |= !strcmp(ptr->ex[k].text, tr->ex[i].group);
		ASSERT(row_in_train);
	}
	ASSERT(train_extras > 0 && train_extras < 90 + 24);
	haven_dataset_destroy(&tr);
	haven_dataset_destroy(&dv);
	haven_dataset_destroy(&ptr);
	haven_dataset_destroy(&pdv);
	haven_dataset_destroy(&d);
	/* a power of the column's value: 0.6^2 */
	o.min_weight = 0;
	o.weight_power = 2;
	ASSERT_OK(haven_dataset_read(path, &o, &d, err, sizeof(err)));
	ASSERT_NEAR(d->ex[0].weight, 0.36, 1e-6);
	ASSERT(d->ex[1].extra); /* row 0's second label, at half its row's weight */
	ASSERT_NEAR(d->ex[1].weight, 0.18, 1e-6);
	ASSERT(!d->ex[2].extra && d->ex[2].weight == 1);
	haven_dataset_destroy(&d);
	o.min_weight = 0.7;
	o.weight_power = 1;
	/* with a group column the extras carry the group, so a group stays on one side */
	o.group_col = "grp";
	ASSERT_OK(haven_dataset_read(path, &o, &d, err, sizeof(err)));
	for (size_t i = 0; i < d->n; i++)
		ASSERT(d->ex[i].group && d->ex[i].group[0] == 'g');
	haven_dataset_destroy(&d);
	o.group_col = NULL;

	/* --extra-text-crop: a row without extra text gets two of its own sentences */
	FILE *f = fopen(path, "w");
	ASSERT(f);
	fputs("text,label,agree,span,second,grp\n"
	      "\"Alpha one. Beta two! Gamma three?\nDelta four\",a,1,,,g1\n"
	      "Epsilon five. Zeta six.,b,1,the span,,g2\n",
	      f);
	fclose(f);
	haven_read_opts_default(&o);
	o.text_cols = "text";
	o.label_col = "label";
	o.extra_text_col = "span";
	ASSERT_OK(haven_dataset_read(path, &o, &d, err, sizeof(err)));
	ASSERT_EQ(d->n, 3); /* no crop asked for: the first row has no extra example */
	haven_dataset_destroy(&d);
	o.extra_text_crop = 1;
	ASSERT_OK(haven_dataset_read(path, &o, &d, err, sizeof(err)));
	ASSERT_EQ(d->n, 4);
	ASSERT(d->ex[1].extra && !d->ex[2].extra && d->ex[3].extra);
	static const char *windows[] = {"Alpha one. Beta two!", "Beta two! Gamma three?",
					"Gamma three?\nDelta four", "Delta four"};
	int found = 0;
	for (size_t k = 0; k < 4; k++)
		found |= !strcmp(d->ex[1].text, windows[k]);
	ASSERT(found);
	ASSERT_STR_EQ(d->ex[1].group, d->ex[0].text);
	ASSERT_STR_EQ(d->ex[3].text, "the span");
	haven_dataset_destroy(&d);
	haven_read_opts_default(&o);
	o.text_cols = "text";
	o.label_col = "label";
	o.weight_col = "agree";
	o.min_weight = 0.7;
	o.extra_text_col = "span";
	o.extra_label_col = "second";
	o.extra_weight = 0.5;

	/* bad input: the row's line and the column are named */
	write_weighted_csv(path, "late row,a,high,,,g99");
	ASSERT_EQ(haven_dataset_read(path, &o, &d, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, ":122:");
	ASSERT_CONTAINS(err, "'high'");
	ASSERT_CONTAINS(err, "'agree'");
	write_weighted_csv(path, "late row,a,-0.5,,,g99");
	ASSERT_EQ(haven_dataset_read(path, &o, &d, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, ":122:");
	write_weighted_csv(path, "late row,a,,,,g99");
	ASSERT_EQ(haven_dataset_read(path, &o, &d, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, ":122:");
	write_weighted_csv(path, "late row,a,nan,,,g99");
	ASSERT_EQ(haven_dataset_read(path, &o, &d, err, sizeof(err)), HAVEN_EINVAL);
	write_weighted_csv(path, NULL);
	o.weight_col = "agreement";
	ASSERT_EQ(haven_dataset_read(path, &o, &d, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "no weight column 'agreement'");
	o.weight_col = NULL;
	o.extra_text_col = "spans";
	ASSERT_EQ(haven_dataset_read(path, &o, &d, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "no extra text column 'spans'");
	o.extra_text_col = NULL;
	o.extra_label_col = "9";
	ASSERT_EQ(haven_dataset_read(path, &o, &d, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "column 9 needed");
	ASSERT(d == NULL);
	haven_dataset_destroy(&plain);
}

/* Trains the synthetic task's linear model on train (dev: the synthetic data). */
static struct haven_model *train_on(const struct haven_dataset *train,
				    const struct haven_dataset *dev)
{
	struct haven_train_opts o;
	struct haven_model *m = NULL;
	char err[256];
	haven_train_opts_default(&o);
	o.text.buckets = 4096;
	o.linear_epochs = 30;
	o.class_weight = 1;
	if (haven_model_train(train, dev, &o, &m, err, sizeof(err)))
		fprintf(stderr, "train: %s\n", err);
	return m;
}

/* p(label) of text under m. */
static float prob_of(struct haven_model *m, const char *text, const char *label)
{
	struct haven_nlp_ws *ws;
	struct haven_prediction p;
	ASSERT_OK(haven_nlp_ws_create(&ws));
	ASSERT_OK(haven_model_predict(m, ws, text, strlen(text), &p));
	float r = -1;
	for (size_t l = 0; l < haven_model_info(m)->nlabels; l++)
		if (!strcmp(haven_model_label(m, l), label))
			r = p.prob[l];
	haven_nlp_ws_destroy(&ws);
	return r;
}

TEST(nlp_train_example_weights)
{
	struct haven_dataset *d = synthetic(0), *zero = synthetic(0), *twice = synthetic(0);
	struct haven_dataset *dev = synthetic(0);
	const char *neg[] = {"neg"};
	char err[256];
	ASSERT(d && zero && twice && dev);
	/* A weight of 0 removes an example's influence: the same bytes as without it. */
	ASSERT_OK(haven_dataset_add(zero, "what a love zebra", NULL, neg, 1));
	zero->ex[zero->n - 1].weight = 0;
	/* Weights are relative: all 2 is all 1. Dev weights are not used. */
	for (size_t i = 0; i < twice->n; i++)
		twice->ex[i].weight = 2;
	for (size_t i = 0; i < dev->n; i++)
		dev->ex[i].weight = i % 2 ? 0.0f : 3.0f;
	struct haven_model *a = train_on(d, d), *b = train_on(zero, d), *c = train_on(twice, dev);
	ASSERT(a && b && c);
	expect_same_bytes(a, b, "w0");
	expect_same_bytes(a, c, "w2");
	haven_model_destroy(&b);
	haven_model_destroy(&c);
	/* The same text with two labels: the heavier one wins, either way round. */
	const char *pos[] = {"pos"};
	ASSERT_OK(haven_dataset_add(zero, "zebra zebra", NULL, pos, 1));
	zero->ex[zero->n - 1].weight = 1;
	ASSERT_OK(haven_dataset_add(zero, "zebra zebra", NULL, neg, 1));
	zero->ex[zero->n - 1].weight = 6;
	b = train_on(zero, d);
	ASSERT(b);
	ASSERT(prob_of(b, "zebra", "neg") > 0.6f);
	haven_model_destroy(&b);
	zero->ex[zero->n - 2].weight = 6;
	zero->ex[zero->n - 1].weight = 1;
	b = train_on(zero, d);
	ASSERT(b);
	ASSERT(prob_of(b, "zebra", "pos") > 0.6f);
	haven_model_destroy(&b);
	/* refused: a negative or non-finite weight (naming the example), nothing left */
	struct haven_train_opts o;
	haven_train_opts_default(&o);
	zero->ex[3].weight = -1;
	ASSERT_EQ(haven_model_train(zero, NULL, &o, &b, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "example 4");
	zero->ex[3].weight = NAN;
	ASSERT_EQ(haven_model_train(zero, NULL, &o, &b, err, sizeof(err)), HAVEN_EINVAL);
	for (size_t i = 0; i < zero->n; i++)
		zero->ex[i].weight = 0;
	ASSERT_EQ(haven_model_train(zero, NULL, &o, &b, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT(!b);
	haven_model_destroy(&a);
	haven_dataset_destroy(&d);
	haven_dataset_destroy(&zero);
	haven_dataset_destroy(&twice);
	haven_dataset_destroy(&dev);
}

TEST(nlp_train_extra_examples_train_only)
{
	struct haven_dataset *d = synthetic(0), *with = synthetic(0);
	struct haven_nlp_ws *ws;
	ASSERT(d && with);
	/* an extra example whose word occurs nowhere else */
	const char *pos[] = {"pos"}, *neg[] = {"neg"};
	ASSERT_OK(haven_dataset_add(with, "quokka", with->ex[0].text, pos, 1));
	with->ex[with->n - 1].extra = 1;
	struct haven_model *plain = train_on(d, d), *m = train_on(with, d);
	ASSERT(plain && m);
	ASSERT_OK(haven_nlp_ws_create(&ws));
	/* trained on: its word leans towards its label, which the plain model never saw */
	ASSERT(weight_of(m, ws, "quokka", "w:quokka") > 0.1f); /* label 0 is "pos" */
	ASSERT(prob_of(m, "quokka", "pos") > prob_of(plain, "quokka", "pos") + 0.1f);
	/* never scored on: extra examples in dev data change nothing, even with a wrong label */
	struct haven_dataset *dev = synthetic(0);
	ASSERT(dev);
	ASSERT_OK(haven_dataset_add(dev, "i feel love today", NULL, neg, 1));
	dev->ex[dev->n - 1].extra = 1;
	struct haven_model *with_dev_extra = train_on(with, dev);
	ASSERT(with_dev_extra);
	expect_same_bytes(m, with_dev_extra, "extra");
	haven_nlp_ws_destroy(&ws);
	haven_model_destroy(&with_dev_extra);
	haven_model_destroy(&plain);
	haven_model_destroy(&m);
	haven_dataset_destroy(&dev);
	haven_dataset_destroy(&d);
	haven_dataset_destroy(&with);
}

TEST(nlp_train_label_smoothing)
{
	struct haven_dataset *d = synthetic(0), *multi = synthetic(1);
	struct haven_train_opts o;
	struct haven_model *sharp = NULL, *smooth = NULL;
	struct haven_nlp_ws *ws;
	struct haven_prediction p;
	char err[256];
	ASSERT(d && multi);
	ASSERT_OK(haven_nlp_ws_create(&ws));
	haven_train_opts_default(&o);
	o.text.buckets = 4096;
	o.linear_epochs = 30;
	o.calibrate = 0;
	/* softmax, then one-vs-rest sigmoids: smoothed targets keep the raw scores smaller
	   (a hard target drives them on for ever), and the model still learns */
	for (int round = 0; round < 2; round++) {
		struct haven_dataset *data = round ? multi : d;
		o.label_smoothing = 0;
		ASSERT_OK(haven_model_train(data, data, &o, &sharp, err, sizeof(err)));
		o.label_smoothing = 0.3;
		ASSERT_OK(haven_model_train(data, data, &o, &smooth, err, sizeof(err)));
		expect_perfect(smooth, round);
		const char *s = "what a wonderful thing";
		ASSERT_OK(haven_model_predict(sharp, ws, s, strlen(s), &p));
		float sharp_score = p.score[0];
		ASSERT_OK(haven_model_predict(smooth, ws, s, strlen(s), &p));
		ASSERT(sharp_score > 0 && p.score[0] > 0);
		ASSERT(p.score[0] < 0.8f * sharp_score);
		haven_model_destroy(&sharp);
		haven_model_destroy(&smooth);
	}
	o.label_smoothing = 1;
	ASSERT_EQ(haven_model_train(d, NULL, &o, &smooth, err, sizeof(err)), HAVEN_EINVAL);
	ASSERT_CONTAINS(err, "label smoothing");
	haven_nlp_ws_destroy(&ws);
	haven_dataset_destroy(&d);
	haven_dataset_destroy(&multi);
}
