/*
 * metrics.c: evaluation metrics: accuracy (subset accuracy for multi-label), per-label
 * precision/recall/F1, macro and micro F1, balanced accuracy, AUROC (rank statistic with
 * ties averaged) and the confusion matrix of single-label tasks.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nlp/nlp_int.h"

struct haven_metrics_acc {
	size_t nlabels, n, cap;
	int multi_label;
	unsigned char *gold, *pred;
	float *prob;
	int have_prob;
};

int haven_metrics_acc_create(size_t nlabels, int multi_label, struct haven_metrics_acc **out)
{
	*out = NULL;
	if (!nlabels)
		return HAVEN_EINVAL;
	struct haven_metrics_acc *a = calloc(1, sizeof(*a));
	if (!a)
		return HAVEN_ENOMEM;
	a->nlabels = nlabels;
	a->multi_label = multi_label;
	a->have_prob = 1;
	*out = a;
	return 0;
}

void haven_metrics_acc_destroy(struct haven_metrics_acc **ap)
{
	struct haven_metrics_acc *a = ap ? *ap : NULL;
	if (!a)
		return;
	free(a->gold);
	free(a->pred);
	free(a->prob);
	free(a);
	*ap = NULL;
}

int haven_metrics_acc_add(struct haven_metrics_acc *a, const unsigned char *gold,
			  const unsigned char *pred, const float *prob)
{
	size_t L = a->nlabels;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		unsigned char *g = realloc(a->gold, cap * L);
		if (!g)
			return HAVEN_ENOMEM;
		a->gold = g;
		unsigned char *p = realloc(a->pred, cap * L);
		if (!p)
			return HAVEN_ENOMEM;
		a->pred = p;
		float *q = realloc(a->prob, cap * L * sizeof(float));
		if (!q)
			return HAVEN_ENOMEM;
		a->prob = q;
		a->cap = cap;
	}
	memcpy(a->gold + a->n * L, gold, L);
	memcpy(a->pred + a->n * L, pred, L);
	if (prob)
		memcpy(a->prob + a->n * L, prob, L * sizeof(float));
	else {
		memset(a->prob + a->n * L, 0, L * sizeof(float));
		a->have_prob = 0;
	}
	a->n++;
	return 0;
}

struct scored {
	float p;
	unsigned char y;
};

static int by_p(const void *x, const void *y)
{
	const struct scored *a = x, *b = y;
	return a->p < b->p ? -1 : a->p > b->p;
}

/* AUROC by the Mann-Whitney statistic with average ranks for ties. */
static double auroc(struct scored *s, size_t n)
{
	size_t pos = 0;
	for (size_t i = 0; i < n; i++)
		pos += s[i].y;
	size_t neg = n - pos;
	if (!pos || !neg)
		return NAN;
	qsort(s, n, sizeof(*s), by_p);
	double rank_sum = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && s[j].p == s[i].p)
			j++;
		double avg = (double)(i + 1 + j) / 2.0; /* ranks i+1..j */
		for (size_t k = i; k < j; k++)
			if (s[k].y)
				rank_sum += avg;
		i = j;
	}
	return (rank_sum - (double)pos * (pos + 1) / 2.0) / ((double)pos * neg);
}

static double safe_div(double a, double b)
{
	return b > 0 ? a / b : 0;
}

int haven_metrics_compute(const struct haven_metrics_acc *a, struct haven_metrics *m)
{
	size_t L = a->nlabels, N = a->n;
	memset(m, 0, sizeof(*m));
	m->n = N;
	m->nlabels = L;
	m->multi_label = a->multi_label;
	m->label = calloc(L, sizeof(*m->label));
	struct scored *s = malloc((N ? N : 1) * sizeof(*s));
	if (!a->multi_label)
		m->confusion = calloc(L * L, sizeof(size_t));
	if (!m->label || !s || (!a->multi_label && !m->confusion)) {
		free(s);
		haven_metrics_release(m);
		return HAVEN_ENOMEM;
	}
	size_t exact = 0, tp_all = 0, fp_all = 0, fn_all = 0;
	for (size_t i = 0; i < N; i++) {
		const unsigned char *g = a->gold + i * L, *p = a->pred + i * L;
		int same = 1;
		size_t gi = 0, pi = 0;
		for (size_t l = 0; l < L; l++) {
			struct haven_label_metrics *lm = &m->label[l];
			if (g[l] && p[l]) lm->tp++;
			else if (!g[l] && p[l]) lm->fp++;
			else if (g[l] && !p[l]) lm->fn++;
			else lm->tn++;
			if (g[l] != p[l])
				same = 0;
			if (g[l])
				gi = l;
			if (p[l])
				pi = l;
		}
		exact += same;
		if (m->confusion)
			m->confusion[gi * L + pi]++;
	}
	double sum_f1 = 0, sum_p = 0, sum_r = 0, sum_auc = 0;
	size_t nauc = 0;
	for (size_t l = 0; l < L; l++) {
		struct haven_label_metrics *lm = &m->label[l];
		lm->support = lm->tp + lm->fn;
		lm->precision = safe_div((double)lm->tp, (double)(lm->tp + lm->fp));
		lm->recall = safe_div((double)lm->tp, (double)(lm->tp + lm->fn));
		lm->f1 = safe_div(2.0 * lm->tp, (double)(2 * lm->tp + lm->fp + lm->fn));
		sum_f1 += lm->f1;
		sum_p += lm->precision;
		sum_r += lm->recall;
		tp_all += lm->tp;
		fp_all += lm->fp;
		fn_all += lm->fn;
		lm->auroc = NAN;
		if (a->have_prob) {
			for (size_t i = 0; i < N; i++) {
				s[i].p = a->prob[i * L + l];
				s[i].y = a->gold[i * L + l];
			}
			lm->auroc = auroc(s, N);
			if (!isnan(lm->auroc)) {
				sum_auc += lm->auroc;
				nauc++;
			}
		}
	}
	free(s);
	m->accuracy = safe_div((double)exact, (double)N);
	m->macro_f1 = sum_f1 / (double)L;
	m->macro_precision = sum_p / (double)L;
	m->macro_recall = sum_r / (double)L;
	m->micro_f1 = safe_div(2.0 * tp_all, (double)(2 * tp_all + fp_all + fn_all));
	if (L == 2 && !a->multi_label) {
		m->auroc = m->label[1].auroc;
		double tpr = m->label[1].recall, tnr = m->label[0].recall;
		m->balanced_accuracy = (tpr + tnr) / 2;
	} else {
		m->auroc = nauc ? sum_auc / (double)nauc : NAN;
		/* mean recall over labels that occur */
		double r = 0;
		size_t k = 0;
		for (size_t l = 0; l < L; l++)
			if (m->label[l].support) {
				r += m->label[l].recall;
				k++;
			}
		m->balanced_accuracy = k ? r / (double)k : 0;
	}
	return 0;
}

void haven_metrics_release(struct haven_metrics *m)
{
	free(m->label);
	free(m->confusion);
	m->label = NULL;
	m->confusion = NULL;
}

int haven_model_evaluate(const struct haven_model *m, const struct haven_dataset *d,
			 struct haven_metrics *out)
{
	int rc;
	size_t L = m->info.nlabels;
	struct haven_metrics_acc *a = NULL;
	struct haven_nlp_ws *ws = NULL;
	unsigned char *gold = calloc(L, 1);
	memset(out, 0, sizeof(*out));
	if (!gold)
		return HAVEN_ENOMEM;
	if ((rc = haven_metrics_acc_create(L, m->info.multi_label, &a)) ||
	    (rc = haven_nlp_ws_create(&ws)))
		goto out;
	for (size_t i = 0; i < d->n; i++) {
		struct haven_prediction p;
		const struct haven_example *e = &d->ex[i];
		if ((rc = haven_model_predict(m, ws, e->text, strlen(e->text), &p)))
			goto out;
		memset(gold, 0, L);
		for (uint32_t k = 0; k < e->nlabels; k++)
			if (e->labels[k] < L)
				gold[e->labels[k]] = 1;
		if ((rc = haven_metrics_acc_add(a, gold, p.predicted, p.prob)))
			goto out;
	}
	rc = haven_metrics_compute(a, out);
out:
	free(gold);
	haven_metrics_acc_destroy(&a);
	haven_nlp_ws_destroy(&ws);
	return rc;
}
