/*
 * train.c: training. Both model kinds are fitted by stochastic gradient descent over the
 * hashed, idf-weighted, L2-normalised features, with a linearly decaying learning rate and
 * an example order drawn from the seed (splitmix64), so a run is a pure function of data,
 * options and seed.
 *
 * Linear model: logistic loss, one-vs-rest sigmoids or a multinomial softmax. L2 is
 * LIBLINEAR's objective 1/2|w|^2 + C sum(loss), i.e. lambda = 1/(C N) per example, applied
 * exactly through a global weight scale (Bottou's trick); L1 uses the cumulative penalty of
 * Tsuruoka et al. (2009), which clips weights at zero. Threads: one-vs-rest labels are
 * independent problems, so each thread trains its own block of labels over the same example
 * order; the result is bit-identical for any thread count. A softmax couples the labels and
 * trains on one thread.
 *
 * Embedding bag (fastText's model): the weighted mean of the features' embeddings feeds a
 * linear output layer (softmax, or independent sigmoids for multi-label). It trains on one
 * thread: Hogwild-style parallel updates are not reproducible.
 *
 * Example weights: each training example's loss is multiplied by its weight (scaled to mean
 * 1 over the training examples, so C keeps its meaning), the way the class weights multiply
 * it; class weights are computed from each label's weighted share. Examples of weight 0 are
 * left out altogether, so they change nothing. Dev data is scored without weights and
 * without the extra (training-only) examples.
 *
 * After training, on dev data: a temperature per part minimising log-loss (golden-section
 * search), the ensemble mixing weight, per-label thresholds and the "at least one label"
 * rule are chosen for the configured goal.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nlp/nlp_int.h"

void haven_train_opts_default(struct haven_train_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = HAVEN_MODEL_LINEAR;
	haven_text_opts_default(&o->text);
	o->reg = HAVEN_REG_L2;
	o->c = 4.0;
	o->linear_epochs = 8;
	o->linear_lr = 0.5;
	o->dim = 32;
	o->bag_epochs = 10;
	o->bag_lr = 0.3;
	o->seed = 1;
	o->threads = 1;
	o->calibrate = 1;
	o->threshold = HAVEN_THRESHOLD_F1;
	o->target_recall = 0.95;
	o->mix = -1;
	o->at_least_one = -1;
	o->nb_beta = 1;
	o->name = "model";
	o->version = "1.0.0";
}

static void logf_(FILE *f, const char *fmt, ...) HAVEN_PRINTF(2, 3);
static void logf_(FILE *f, const char *fmt, ...)
{
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fflush(f);
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) HAVEN_PRINTF(4, 5);
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- sparse matrix of examples ---- */

struct csr {
	size_t n;
	size_t *row;     /* n + 1 */
	uint32_t *idx;
	float *val;
	size_t nnz, cap;
};

static void csr_release(struct csr *c)
{
	free(c->row);
	free(c->idx);
	free(c->val);
	memset(c, 0, sizeof(*c));
}

static int csr_build(const struct haven_dataset *d, const struct haven_text_opts *o,
		     const float *idf, struct csr *c, uint32_t *df)
{
	int rc = 0;
	struct haven_tokens t;
	struct haven_features f;
	haven_tokens_init(&t);
	haven_features_init(&f);
	memset(c, 0, sizeof(*c));
	c->n = d->n;
	c->row = calloc(d->n + 1, sizeof(size_t));
	if (!c->row) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->n; i++) {
		const char *s = d->ex[i].text;
		if ((rc = haven_tokenize(o, s, strlen(s), &t)) ||
		    (rc = haven_features_extract(o, &t, idf, 0, &f)))
			goto out;
		if (c->nnz + f.n > c->cap) {
			size_t cap = c->cap ? c->cap : 4096;
			while (cap < c->nnz + f.n)
				cap *= 2;
			uint32_t *ix = realloc(c->idx, cap * sizeof(uint32_t));
			if (!ix) {
				rc = HAVEN_ENOMEM;
				goto out;
			}
			c->idx = ix;
			float *v = realloc(c->val, cap * sizeof(float));
			if (!v) {
				rc = HAVEN_ENOMEM;
				goto out;
			}
			c->val = v;
			c->cap = cap;
		}
		for (size_t k = 0; k < f.n; k++) {
			c->idx[c->nnz + k] = f.v[k].index;
			c->val[c->nnz + k] = f.v[k].value;
			if (df)
				df[f.v[k].index]++;
		}
		c->nnz += f.n;
		c->row[i + 1] = c->nnz;
	}
out:
	haven_tokens_release(&t);
	haven_features_release(&f);
	if (rc)
		csr_release(c);
	return rc;
}

/* ---- shared training state ---- */

struct job {
	const struct csr *x;
	const unsigned char *y; /* N x L gold 0/1 */
	const uint32_t *cls;    /* softmax: class of each example */
	const uint32_t *order;  /* epochs x N example indices */
	size_t total;           /* epochs x N */
	size_t L;
	uint32_t buckets;
	enum haven_output output;
	const float *wpos, *wneg; /* sigmoid per-label weights; softmax: wpos per class */
	const float *sw;        /* per-example weights, mean 1 */
	float t_pos, t_neg;     /* targets of a gold label and of the others (smoothing) */
	double lr0, lambda;
	enum haven_reg reg;
	/* linear: a thread's label block */
	size_t l0, l1;
	float *w, *b; /* buckets x (l1-l0), (l1-l0) */
	int rc;
};

static void *linear_worker(void *arg)
{
	struct job *j = arg;
	const struct csr *x = j->x;
	size_t Lg = j->l1 - j->l0, L = j->L;
	float *w = j->w, *b = j->b, *q = NULL;
	float *s = malloc(Lg * sizeof(float)), *g = malloc(Lg * sizeof(float));
	double scale = 1.0, u = 0;
	if (j->reg == HAVEN_REG_L1)
		q = calloc((size_t)j->buckets * Lg, sizeof(float));
	if (!s || !g || (j->reg == HAVEN_REG_L1 && !q)) {
		j->rc = HAVEN_ENOMEM;
		goto out;
	}
	for (size_t t = 0; t < j->total; t++) {
		size_t i = j->order[t];
		double lr = j->lr0 * (1.0 - (double)t / (double)j->total);
		if (lr < j->lr0 * 1e-4)
			lr = j->lr0 * 1e-4;
		size_t r0 = x->row[i], r1 = x->row[i + 1];
		for (size_t l = 0; l < Lg; l++)
			s[l] = 0;
		for (size_t k = r0; k < r1; k++) {
			const float *row = w + (size_t)x->idx[k] * Lg;
			float v = x->val[k];
			for (size_t l = 0; l < Lg; l++)
				s[l] += v * row[l];
		}
		for (size_t l = 0; l < Lg; l++)
			s[l] = (float)(s[l] * scale) + b[l];
		if (j->output == HAVEN_OUTPUT_SIGMOID) {
			const unsigned char *y = j->y + i * L + j->l0;
			for (size_t l = 0; l < Lg; l++) {
				float p = 1.0f / (1.0f + expf(-s[l]));
				g[l] = (y[l] ? (p - j->t_pos) * j->wpos[j->l0 + l]
					     : (p - j->t_neg) * j->wneg[j->l0 + l]) *
				       j->sw[i];
			}
		} else {
			float mx = s[0];
			for (size_t l = 1; l < Lg; l++)
				if (s[l] > mx)
					mx = s[l];
			double sum = 0;
			for (size_t l = 0; l < Lg; l++) {
				g[l] = expf(s[l] - mx);
				sum += g[l];
			}
			uint32_t c = j->cls[i];
			float cw = j->wpos[c] * j->sw[i];
			for (size_t l = 0; l < Lg; l++)
				g[l] = (float)(g[l] / sum - (l == c ? j->t_pos : j->t_neg)) * cw;
		}
		if (j->reg == HAVEN_REG_L2) {
			scale *= 1.0 - lr * j->lambda;
			if (scale < 1e-6) {
				for (size_t k = 0; k < (size_t)j->buckets * Lg; k++)
					w[k] = (float)(w[k] * scale);
				scale = 1.0;
			}
		} else {
			u += lr * j->lambda;
		}
		for (size_t k = r0; k < r1; k++) {
			size_t base = (size_t)x->idx[k] * Lg;
			float *row = w + base;
			float step = (float)(lr * x->val[k] / scale);
			for (size_t l = 0; l < Lg; l++)
				row[l] -= step * g[l];
			if (q) { /* cumulative L1 penalty */
				for (size_t l = 0; l < Lg; l++) {
					float z = row[l];
					if (z > 0) {
						float nz = z - (float)(u + q[base + l]);
						row[l] = nz > 0 ? nz : 0;
					} else if (z < 0) {
						float nz = z + (float)(u - q[base + l]);
						row[l] = nz < 0 ? nz : 0;
					}
					q[base + l] += row[l] - z;
				}
			}
		}
		for (size_t l = 0; l < Lg; l++)
			b[l] -= (float)(lr * g[l]);
	}
	if (scale != 1.0)
		for (size_t k = 0; k < (size_t)j->buckets * Lg; k++)
			w[k] = (float)(w[k] * scale);
out:
	free(s);
	free(g);
	free(q);
	return NULL;
}

static int train_linear(struct job *tmpl, int threads, float **w_out, float **b_out)
{
	int rc = 0;
	size_t L = tmpl->L, B = tmpl->buckets;
	size_t nthreads = tmpl->output == HAVEN_OUTPUT_SIGMOID ? (size_t)threads : 1;
	if (nthreads > L)
		nthreads = L;
	if (nthreads < 1)
		nthreads = 1;
	struct job jobs[64];
	pthread_t tid[64];
	int started[64] = {0};
	if (nthreads > 64)
		nthreads = 64;
	float *w = calloc(B * L, sizeof(float)), *b = calloc(L, sizeof(float));
	*w_out = *b_out = NULL;
	if (!w || !b) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	for (size_t t = 0; t < nthreads; t++) {
		jobs[t] = *tmpl;
		jobs[t].l0 = L * t / nthreads;
		jobs[t].l1 = L * (t + 1) / nthreads;
		size_t Lg = jobs[t].l1 - jobs[t].l0;
		jobs[t].w = calloc(B * Lg, sizeof(float));
		jobs[t].b = calloc(Lg, sizeof(float));
		jobs[t].rc = 0;
		if (!jobs[t].w || !jobs[t].b) {
			for (size_t k = 0; k <= t; k++) {
				free(jobs[k].w);
				free(jobs[k].b);
			}
			rc = HAVEN_ENOMEM;
			goto out;
		}
	}
	for (size_t t = 1; t < nthreads; t++)
		started[t] = !pthread_create(&tid[t], NULL, linear_worker, &jobs[t]);
	linear_worker(&jobs[0]);
	for (size_t t = 1; t < nthreads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			linear_worker(&jobs[t]);
	}
	for (size_t t = 0; t < nthreads; t++) {
		size_t Lg = jobs[t].l1 - jobs[t].l0;
		if (jobs[t].rc)
			rc = jobs[t].rc;
		for (size_t f = 0; f < B; f++)
			memcpy(w + f * L + jobs[t].l0, jobs[t].w + f * Lg, Lg * sizeof(float));
		memcpy(b + jobs[t].l0, jobs[t].b, Lg * sizeof(float));
		free(jobs[t].w);
		free(jobs[t].b);
	}
	if (!rc) {
		*w_out = w;
		*b_out = b;
		w = b = NULL;
	}
out:
	free(w);
	free(b);
	return rc;
}

static int train_bag(const struct job *j, uint32_t dim, uint64_t seed, float **emb_out,
		     float **out_out, float **ob_out)
{
	int rc = 0;
	const struct csr *x = j->x;
	size_t L = j->L, B = j->buckets;
	float *emb = malloc(B * dim * sizeof(float)), *out = calloc(L * dim, sizeof(float));
	float *ob = calloc(L, sizeof(float)), *h = malloc(dim * sizeof(float));
	float *gh = malloc(dim * sizeof(float)), *s = malloc(L * sizeof(float));
	float *g = malloc(L * sizeof(float));
	*emb_out = *out_out = *ob_out = NULL;
	if (!emb || !out || !ob || !h || !gh || !s || !g) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	uint64_t rng = seed ^ 0x5EEDBA6ull;
	for (size_t k = 0; k < B * dim; k++)
		emb[k] = (float)((haven__rng_uniform(&rng) * 2 - 1) / dim);
	for (size_t t = 0; t < j->total; t++) {
		size_t i = j->order[t];
		double lr = j->lr0 * (1.0 - (double)t / (double)j->total);
		if (lr < j->lr0 * 1e-4)
			lr = j->lr0 * 1e-4;
		size_t r0 = x->row[i], r1 = x->row[i + 1];
		float z = 0;
		for (size_t k = r0; k < r1; k++)
			z += x->val[k];
		if (z <= 0)
			continue;
		memset(h, 0, dim * sizeof(float));
		for (size_t k = r0; k < r1; k++) {
			const float *e = emb + (size_t)x->idx[k] * dim;
			float v = x->val[k] / z;
			for (size_t d = 0; d < dim; d++)
				h[d] += v * e[d];
		}
		for (size_t l = 0; l < L; l++) {
			const float *o = out + l * dim;
			float v = ob[l];
			for (size_t d = 0; d < dim; d++)
				v += o[d] * h[d];
			s[l] = v;
		}
		if (j->output == HAVEN_OUTPUT_SIGMOID) {
			const unsigned char *y = j->y + i * L;
			for (size_t l = 0; l < L; l++) {
				float p = 1.0f / (1.0f + expf(-s[l]));
				g[l] = (y[l] ? (p - j->t_pos) * j->wpos[l] : (p - j->t_neg) * j->wneg[l]) *
				       j->sw[i];
			}
		} else {
			float mx = s[0];
			for (size_t l = 1; l < L; l++)
				if (s[l] > mx)
					mx = s[l];
			double sum = 0;
			for (size_t l = 0; l < L; l++) {
				g[l] = expf(s[l] - mx);
				sum += g[l];
			}
			uint32_t c = j->cls[i];
			float cw = j->wpos[c] * j->sw[i];
			for (size_t l = 0; l < L; l++)
				g[l] = (float)(g[l] / sum - (l == c ? j->t_pos : j->t_neg)) * cw;
		}
		memset(gh, 0, dim * sizeof(float));
		for (size_t l = 0; l < L; l++) {
			float *o = out + l * dim;
			float gl = g[l];
			if (gl == 0)
				continue;
			for (size_t d = 0; d < dim; d++) {
				gh[d] += gl * o[d];
				o[d] -= (float)lr * gl * h[d];
			}
			ob[l] -= (float)lr * gl;
		}
		for (size_t k = r0; k < r1; k++) {
			float *e = emb + (size_t)x->idx[k] * dim;
			float step = (float)lr * x->val[k] / z;
			for (size_t d = 0; d < dim; d++)
				e[d] -= step * gh[d];
		}
	}
	*emb_out = emb;
	*out_out = out;
	*ob_out = ob;
	emb = out = ob = NULL;
out:
	free(emb);
	free(out);
	free(ob);
	free(h);
	free(gh);
	free(s);
	free(g);
	return rc;
}

/* ---- NB-weighted features (Wang & Manning 2012) ---- */

/* Log-count ratios of a two-label task: r[b] = log((p_b/|p|1) / (q_b/|q|1)) with p_b = alpha
 * + the number of rows of class 1 that contain bucket b (binarised, as in the paper; each
 * row counted with its weight), q_b the same for class 0. Sums run in a fixed order in
 * double, so r is a pure function of the data. */
static int nb_ratios(const struct csr *x, const uint32_t *cls, const float *sw, uint32_t B,
		     double alpha, float **r_out)
{
	double *cnt = calloc((size_t)B * 2, sizeof(double));
	float *r = malloc((size_t)B * sizeof(float));
	*r_out = NULL;
	if (!cnt || !r) {
		free(cnt);
		free(r);
		return HAVEN_ENOMEM;
	}
	for (size_t i = 0; i < x->n; i++)
		for (size_t k = x->row[i]; k < x->row[i + 1]; k++)
			if (x->val[k] != 0)
				cnt[(size_t)x->idx[k] * 2 + (cls[i] == 1)] += sw[i];
	double sum[2] = {alpha * B, alpha * B};
	for (size_t b = 0; b < B; b++) {
		sum[0] += cnt[b * 2];
		sum[1] += cnt[b * 2 + 1];
	}
	for (size_t b = 0; b < B; b++)
		r[b] = (float)(log((alpha + cnt[b * 2 + 1]) / sum[1]) -
			       log((alpha + cnt[b * 2]) / sum[0]));
	free(cnt);
	*r_out = r;
	return 0;
}

/* Interpolates the margin of a two-label softmax trained on NB-scaled features towards its
 * mean magnitude (w' = (1 - beta) mean|w| + beta w over the buckets that were trained), then
 * folds the ratios into the weights, so that w' . (r x) is computed as (w' r) . x. */
static void nb_fold(float *w, uint32_t B, const float *r, double beta)
{
	if (beta < 1) {
		double sum = 0;
		size_t n = 0;
		for (size_t b = 0; b < B; b++)
			if (w[b * 2] != 0 || w[b * 2 + 1] != 0) {
				sum += fabs((double)w[b * 2 + 1] - w[b * 2]);
				n++;
			}
		double half = n ? 0.5 * (1 - beta) * sum / (double)n : 0;
		for (size_t b = 0; b < B; b++)
			if (w[b * 2] != 0 || w[b * 2 + 1] != 0) {
				w[b * 2] = (float)(beta * w[b * 2] - half);
				w[b * 2 + 1] = (float)(beta * w[b * 2 + 1] + half);
			}
	}
	for (size_t b = 0; b < B; b++) {
		w[b * 2] *= r[b];
		w[b * 2 + 1] *= r[b];
	}
}

/* ---- example selection ---- */

/* A view of d (sharing its examples' strings and labels) without the training examples of
 * weight 0 (training) or without the extra examples (dev). *ex is the view's own array. */
static int keep_examples(const struct haven_dataset *d, int training, struct haven_dataset *view,
			 struct haven_example **ex)
{
	memset(view, 0, sizeof(*view));
	*ex = malloc((d->n ? d->n : 1) * sizeof(**ex));
	if (!*ex)
		return HAVEN_ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		if (training ? d->ex[i].weight > 0 : !d->ex[i].extra)
			(*ex)[view->n++] = d->ex[i];
	view->ex = *ex;
	view->cap = view->n;
	view->label_names = d->label_names;
	view->nlabel_names = d->nlabel_names;
	view->label_cap = d->nlabel_names;
	view->skipped = d->skipped;
	return 0;
}

/* ---- dev-set tuning ---- */

static double nll(enum haven_output o, const float *S, const unsigned char *Y, size_t N, size_t L,
		  double t, float *tmp)
{
	double sum = 0;
	for (size_t i = 0; i < N; i++) {
		haven__probs(o, S + i * L, L, (float)t, tmp);
		for (size_t l = 0; l < L; l++) {
			double p = tmp[l];
			if (p < 1e-7)
				p = 1e-7;
			if (p > 1 - 1e-7)
				p = 1 - 1e-7;
			if (o == HAVEN_OUTPUT_SIGMOID)
				sum -= Y[i * L + l] ? log(p) : log(1 - p);
			else if (Y[i * L + l])
				sum -= log(p);
		}
	}
	return sum;
}

static float fit_temperature(enum haven_output o, const float *S, const unsigned char *Y,
			     size_t N, size_t L, float *tmp)
{
	double a = log(0.05), b = log(20.0);
	const double gr = (sqrt(5.0) - 1) / 2;
	double c = b - gr * (b - a), d = a + gr * (b - a);
	double fc = nll(o, S, Y, N, L, exp(c), tmp), fd = nll(o, S, Y, N, L, exp(d), tmp);
	for (int it = 0; it < 40; it++) {
		if (fc < fd) {
			b = d;
			d = c;
			fd = fc;
			c = b - gr * (b - a);
			fc = nll(o, S, Y, N, L, exp(c), tmp);
		} else {
			a = c;
			c = d;
			fc = fd;
			d = a + gr * (b - a);
			fd = nll(o, S, Y, N, L, exp(d), tmp);
		}
	}
	return (float)exp((a + b) / 2);
}

struct py {
	float p;
	unsigned char y;
};

static int by_p_desc(const void *x, const void *y)
{
	const struct py *a = x, *b = y;
	if (a->p != b->p)
		return a->p > b->p ? -1 : 1;
	return (int)b->y - (int)a->y;
}

/* Threshold for one label's probabilities; goal as enum haven_threshold_goal. */
static float pick_threshold(struct py *v, size_t N, enum haven_threshold_goal goal,
			    double target_recall)
{
	size_t pos = 0;
	for (size_t i = 0; i < N; i++)
		pos += v[i].y;
	if (goal == HAVEN_THRESHOLD_NONE)
		return 0.5f;
	if (!pos || pos == N)
		return 0.5f;
	qsort(v, N, sizeof(*v), by_p_desc);
	double best = -1;
	size_t best_k = 0, tp = 0;
	/* predicting the top k as positive; cut only between distinct probabilities */
	for (size_t k = 1; k <= N; k++) {
		tp += v[k - 1].y;
		if (k < N && v[k].p == v[k - 1].p)
			continue;
		double score;
		if (goal == HAVEN_THRESHOLD_F1)
			score = 2.0 * tp / (double)(k + pos);
		else if (goal == HAVEN_THRESHOLD_BALANCED)
			score = 0.5 * ((double)tp / pos + (double)(N - k - (pos - tp)) / (N - pos));
		else { /* recall target: the smallest k reaching it */
			if ((double)tp / pos >= target_recall) {
				best_k = k;
				break;
			}
			continue;
		}
		if (score > best) {
			best = score;
			best_k = k;
		}
	}
	if (best_k == 0)
		return 0.5f;
	if (best_k >= N)
		return v[N - 1].p * 0.5f;
	return 0.5f * (v[best_k - 1].p + v[best_k].p);
}

/* Decides every dev example and returns the goal metric (macro-F1, or balanced accuracy). */
static double dev_score(enum haven_output o, int at_least_one, const float *P,
			const unsigned char *Y, size_t N, size_t L, const float *th,
			enum haven_threshold_goal goal, unsigned char *pred)
{
	struct haven_metrics_acc *a = NULL;
	struct haven_metrics m;
	double r = 0;
	if (haven_metrics_acc_create(L, o == HAVEN_OUTPUT_SIGMOID, &a))
		return -1;
	for (size_t i = 0; i < N; i++) {
		size_t top;
		haven__decide(o, at_least_one, P + i * L, th, L, pred, &top);
		if (haven_metrics_acc_add(a, Y + i * L, pred, NULL)) {
			haven_metrics_acc_destroy(&a);
			return -1;
		}
	}
	if (!haven_metrics_compute(a, &m)) {
		r = goal == HAVEN_THRESHOLD_BALANCED ? m.balanced_accuracy : m.macro_f1;
		haven_metrics_release(&m);
	}
	haven_metrics_acc_destroy(&a);
	return r;
}

/* Chooses thresholds for dev probabilities P; returns the goal metric. */
static double tune_thresholds(enum haven_output o, int at_least_one, const float *P,
			      const unsigned char *Y, size_t N, size_t L,
			      const struct haven_train_opts *opt, float *th, struct py *tmp,
			      unsigned char *pred)
{
	enum haven_threshold_goal goal = opt->threshold;
	if (o == HAVEN_OUTPUT_SIGMOID) {
		for (size_t l = 0; l < L; l++) {
			for (size_t i = 0; i < N; i++) {
				tmp[i].p = P[i * L + l];
				tmp[i].y = Y[i * L + l];
			}
			th[l] = pick_threshold(tmp, N, goal, opt->target_recall);
		}
	} else if (L == 2) {
		for (size_t i = 0; i < N; i++) {
			tmp[i].p = P[i * L + 1];
			tmp[i].y = Y[i * L + 1];
		}
		th[1] = pick_threshold(tmp, N, goal, opt->target_recall);
		th[0] = 1 - th[1];
	} else {
		for (size_t l = 0; l < L; l++)
			th[l] = 1;
		if (goal == HAVEN_THRESHOLD_F1 || goal == HAVEN_THRESHOLD_BALANCED) {
			/* coordinate ascent on per-class prior scales */
			static const float grid[] = {0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f,
						     1.15f, 1.3f, 1.5f, 1.75f, 2.0f, 2.5f};
			double best = dev_score(o, at_least_one, P, Y, N, L, th, goal, pred);
			for (int round = 0; round < 2; round++)
				for (size_t l = 0; l < L; l++) {
					float keep = th[l], bt = th[l];
					for (size_t gi = 0; gi < sizeof(grid) / sizeof(grid[0]); gi++) {
						th[l] = keep * grid[gi];
						double s = dev_score(o, at_least_one, P, Y, N, L, th,
								     goal, pred);
						if (s > best + 1e-12) {
							best = s;
							bt = th[l];
						}
					}
					th[l] = bt;
				}
		}
	}
	return dev_score(o, at_least_one, P, Y, N, L, th, goal, pred);
}

static void scores_for(const struct haven__draft *d, const struct csr *x, int part, float *S,
		       float *hidden)
{
	size_t L = d->info.nlabels;
	struct haven_features f = {0};
	struct haven_feature *buf = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < x->n; i++) {
		size_t r0 = x->row[i], r1 = x->row[i + 1];
		if (r1 - r0 > cap) {
			struct haven_feature *nb = realloc(buf, (r1 - r0) * sizeof(*nb));
			if (!nb)
				break;
			buf = nb;
			cap = r1 - r0;
		}
		for (size_t k = r0; k < r1; k++) {
			buf[k - r0].index = x->idx[k];
			buf[k - r0].value = x->val[k];
			buf[k - r0].name = NULL;
		}
		f.v = buf;
		f.n = r1 - r0;
		if (part == HAVEN_MODEL_LINEAR)
			haven__linear_scores(d->lw, d->lb, L, &f, S + i * L);
		else
			haven__bag_scores(d->emb, d->out, d->ob, L, d->info.dim, &f, hidden,
					  S + i * L);
	}
	free(buf);
}

int haven_model_train(const struct haven_dataset *train, const struct haven_dataset *dev,
		      const struct haven_train_opts *o, struct haven_model **out, char *err,
		      size_t errlen)
{
	int rc = 0;
	struct haven__draft d;
	struct csr x = {0}, xd = {0};
	uint32_t *df = NULL, *order = NULL, *cls = NULL;
	unsigned char *y = NULL, *yd = NULL, *pred = NULL, *bytes = NULL;
	float *wpos = NULL, *wneg = NULL, *Sl = NULL, *Sb = NULL, *P = NULL, *Pl = NULL,
	      *Pb = NULL, *tmpf = NULL, *hidden = NULL, *nbr = NULL, *sw = NULL;
	struct py *tmp = NULL;
	struct haven_dataset kept_train, kept_dev;
	struct haven_example *kept_ex = NULL, *kept_dev_ex = NULL;
	size_t len = 0;
	memset(&d, 0, sizeof(d));
	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	for (size_t i = 0; i < train->n; i++)
		if (!(train->ex[i].weight >= 0 && isfinite(train->ex[i].weight)))
			return fail(err, errlen, HAVEN_EINVAL,
				    "training example %zu has weight %g (must be a number >= 0)",
				    i + 1, (double)train->ex[i].weight);
	size_t N = train->n, L = train->nlabel_names;
	if (!N)
		return fail(err, errlen, HAVEN_EINVAL, "no training examples");
	if (L < 1 || L > 4096)
		return fail(err, errlen, HAVEN_EINVAL, "bad number of labels (%zu)", L);
	if (o->text.buckets < 1 || o->text.buckets > (1u << 26) || o->text.word_ngrams < 1 ||
	    o->text.word_ngrams > 3 || o->text.char_minn > o->text.char_maxn ||
	    o->text.char_maxn > 12 || (o->text.char_maxn && !o->text.char_minn))
		return fail(err, errlen, HAVEN_EINVAL, "bad feature settings");
	if ((o->kind & HAVEN_MODEL_EMBEDDING_BAG) && (o->dim < 1 || o->dim > 1024))
		return fail(err, errlen, HAVEN_EINVAL, "embedding dimension must be 1..1024");
	if (dev && dev->n) {
		if (dev->nlabel_names != L)
			return fail(err, errlen, HAVEN_EINVAL, "dev data has other labels");
		for (size_t l = 0; l < L; l++)
			if (strcmp(dev->label_names[l], train->label_names[l]))
				return fail(err, errlen, HAVEN_EINVAL,
					    "dev label %zu is '%s', training has '%s'", l,
					    dev->label_names[l], train->label_names[l]);
	} else {
		dev = NULL;
	}
	enum haven_output output = o->output;
	int multi = 0;
	for (size_t i = 0; i < N; i++)
		if (train->ex[i].nlabels > 1)
			multi = 1;
	if (!output)
		output = multi ? HAVEN_OUTPUT_SIGMOID : HAVEN_OUTPUT_SOFTMAX;
	if (output == HAVEN_OUTPUT_SOFTMAX && L < 2)
		return fail(err, errlen, HAVEN_EINVAL, "a softmax model needs at least two labels");
	if (!(o->nb_alpha >= 0) || !(o->nb_beta > 0 && o->nb_beta <= 1))
		return fail(err, errlen, HAVEN_EINVAL, "NB alpha must be >= 0 and beta in (0, 1]");
	if (o->nb_alpha > 0 && (L != 2 || output != HAVEN_OUTPUT_SOFTMAX))
		return fail(err, errlen, HAVEN_EINVAL,
			    "NB-weighted features need a two-label, one-label-per-text task "
			    "(this data has %zu labels%s)", L,
			    output == HAVEN_OUTPUT_SIGMOID ? ", several per text" : "");
	if (o->nb_alpha > 0 && o->kind != HAVEN_MODEL_LINEAR)
		return fail(err, errlen, HAVEN_EINVAL,
			    "NB-weighted features need the linear model");
	if (!(o->label_smoothing >= 0 && o->label_smoothing < 1))
		return fail(err, errlen, HAVEN_EINVAL, "label smoothing must be in [0, 1)");
	uint32_t B = o->text.buckets;

	/* From here on: training examples of weight 0 are left out, and dev data is scored
	   without the extra (training-only) examples and without weights. */
	if ((rc = keep_examples(train, 1, &kept_train, &kept_ex)) ||
	    (dev && (rc = keep_examples(dev, 0, &kept_dev, &kept_dev_ex))))
		goto out;
	train = &kept_train;
	N = train->n;
	if (!N) {
		rc = fail(err, errlen, HAVEN_EINVAL, "no training examples of weight above 0");
		goto out;
	}
	if (dev)
		dev = kept_dev.n ? &kept_dev : NULL;
	/* Per-example weights scaled to mean 1, so that C keeps its meaning. */
	sw = malloc(N * sizeof(float));
	if (!sw) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	{
		double total = 0;
		for (size_t i = 0; i < N; i++)
			total += train->ex[i].weight;
		for (size_t i = 0; i < N; i++)
			sw[i] = (float)(train->ex[i].weight * ((double)N / total));
	}

	d.info.name = o->name ? o->name : "";
	d.info.version = o->version ? o->version : "";
	d.info.task = o->task ? o->task : "";
	d.info.data = o->data ? o->data : "";
	d.info.license = o->license ? o->license : "";
	d.info.created_by = o->created_by ? o->created_by : "";
	d.info.kind = o->kind;
	d.info.output = output;
	d.info.multi_label = output == HAVEN_OUTPUT_SIGMOID;
	d.info.nlabels = L;
	d.info.buckets = B;
	d.info.dim = (o->kind & HAVEN_MODEL_EMBEDDING_BAG) ? o->dim : 0;
	d.info.mix = o->kind == HAVEN_MODEL_ENSEMBLE ? 0.5f : (o->kind == HAVEN_MODEL_LINEAR);
	d.info.temperature_linear = 1;
	d.info.temperature_bag = 1;
	d.info.text = o->text;
	d.labels = train->label_names;

	/* features: document frequencies first, then idf-weighted vectors */
	if (o->text.use_idf) {
		df = calloc(B, sizeof(uint32_t));
		d.idf = malloc(B * sizeof(float));
		if (!df || !d.idf) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		if ((rc = csr_build(train, &o->text, NULL, &x, df)))
			goto out;
		csr_release(&x);
		for (size_t b = 0; b < B; b++)
			d.idf[b] = (float)(log((1.0 + N) / (1.0 + df[b])) + 1.0);
	}
	if ((rc = csr_build(train, &o->text, d.idf, &x, NULL)))
		goto out;
	logf_(o->log, "train: %zu examples, %zu labels, %zu features (%.1f per example)\n", N, L,
	      x.nnz, (double)x.nnz / N);

	y = calloc(N * L, 1);
	cls = calloc(N, sizeof(uint32_t));
	wpos = malloc(L * sizeof(float));
	wneg = malloc(L * sizeof(float));
	if (!y || !cls || !wpos || !wneg) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < N; i++) {
		const struct haven_example *e = &train->ex[i];
		for (uint32_t k = 0; k < e->nlabels; k++)
			y[i * L + e->labels[k]] = 1;
		cls[i] = e->nlabels ? e->labels[0] : 0;
	}
	/* Class weights from each label's share of the (example-weighted) training mass. */
	double mass = 0;
	for (size_t i = 0; i < N; i++)
		mass += sw[i];
	for (size_t l = 0; l < L; l++) {
		size_t pos = 0;
		double pos_mass = 0;
		for (size_t i = 0; i < N; i++) {
			pos += y[i * L + l];
			pos_mass += y[i * L + l] ? sw[i] : 0;
		}
		wpos[l] = wneg[l] = 1;
		if (o->class_weight && pos && pos < N) {
			if (output == HAVEN_OUTPUT_SIGMOID) {
				/* balanced, softened by a square root for rare labels */
				wpos[l] = (float)sqrt(mass / (2.0 * pos_mass));
				wneg[l] = (float)sqrt(mass / (2.0 * (mass - pos_mass)));
			} else {
				double c = 0;
				for (size_t i = 0; i < N; i++)
					c += cls[i] == l ? sw[i] : 0;
				wpos[l] = c > 0 ? (float)(mass / ((double)L * c)) : 1;
			}
		}
	}

	if (o->nb_alpha > 0) {
		/* train on x * r; r is folded into the weights afterwards */
		if ((rc = nb_ratios(&x, cls, sw, B, o->nb_alpha, &nbr)))
			goto out;
		for (size_t k = 0; k < x.nnz; k++)
			x.val[k] *= nbr[x.idx[k]];
	}

	struct job j = {0};
	j.x = &x;
	j.y = y;
	j.cls = cls;
	j.L = L;
	j.buckets = B;
	j.output = output;
	j.wpos = wpos;
	j.wneg = wneg;
	j.sw = sw;
	if (output == HAVEN_OUTPUT_SIGMOID) {
		j.t_pos = (float)(1 - o->label_smoothing / 2);
		j.t_neg = (float)(o->label_smoothing / 2);
	} else {
		j.t_pos = (float)(1 - o->label_smoothing + o->label_smoothing / (double)L);
		j.t_neg = (float)(o->label_smoothing / (double)L);
	}
	j.reg = o->reg;
	j.lambda = 1.0 / (o->c * (double)N);

	int epochs = o->linear_epochs > o->bag_epochs ? o->linear_epochs : o->bag_epochs;
	if (epochs < 1)
		epochs = 1;
	order = malloc((size_t)epochs * N * sizeof(uint32_t));
	if (!order) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	{
		uint64_t rng = o->seed;
		for (int e = 0; e < epochs; e++) {
			uint32_t *p = order + (size_t)e * N;
			for (size_t i = 0; i < N; i++)
				p[i] = (uint32_t)i;
			for (size_t i = N - 1; i > 0; i--) {
				size_t k = haven__rng_next(&rng) % (i + 1);
				uint32_t t = p[i];
				p[i] = p[k];
				p[k] = t;
			}
		}
	}
	j.order = order;
	if (o->kind & HAVEN_MODEL_LINEAR) {
		j.total = (size_t)(o->linear_epochs > 0 ? o->linear_epochs : 1) * N;
		j.lr0 = o->linear_lr;
		if ((rc = train_linear(&j, o->threads, &d.lw, &d.lb)))
			goto out;
		if (nbr)
			nb_fold(d.lw, B, nbr, o->nb_beta);
		logf_(o->log, "train: linear model done (%d epochs)\n", o->linear_epochs);
	}
	if (o->kind & HAVEN_MODEL_EMBEDDING_BAG) {
		j.total = (size_t)(o->bag_epochs > 0 ? o->bag_epochs : 1) * N;
		j.lr0 = o->bag_lr;
		if ((rc = train_bag(&j, o->dim, o->seed, &d.emb, &d.out, &d.ob)))
			goto out;
		logf_(o->log, "train: embedding bag done (%d epochs, dim %u)\n", o->bag_epochs,
		      o->dim);
	}

	d.thresholds = malloc(L * sizeof(float));
	if (!d.thresholds) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	for (size_t l = 0; l < L; l++)
		d.thresholds[l] = output == HAVEN_OUTPUT_SIGMOID ? 0.5f : 1.0f;
	if (output == HAVEN_OUTPUT_SOFTMAX && L == 2)
		d.thresholds[0] = d.thresholds[1] = 0.5f;
	d.info.at_least_one = o->at_least_one > 0;
	if (o->kind == HAVEN_MODEL_ENSEMBLE && o->mix >= 0)
		d.info.mix = (float)o->mix;

	if (dev) {
		size_t Nd = dev->n;
		if ((rc = csr_build(dev, &o->text, d.idf, &xd, NULL)))
			goto out;
		yd = calloc(Nd * L, 1);
		Sl = calloc(Nd * L, sizeof(float));
		Sb = calloc(Nd * L, sizeof(float));
		P = calloc(Nd * L, sizeof(float));
		Pl = calloc(Nd * L, sizeof(float));
		Pb = calloc(Nd * L, sizeof(float));
		tmpf = calloc(L, sizeof(float));
		hidden = calloc(o->dim ? o->dim : 1, sizeof(float));
		tmp = calloc(Nd, sizeof(*tmp));
		pred = calloc(L, 1);
		if (!yd || !Sl || !Sb || !P || !Pl || !Pb || !tmpf || !hidden || !tmp || !pred) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < Nd; i++) {
			const struct haven_example *e = &dev->ex[i];
			for (uint32_t k = 0; k < e->nlabels; k++)
				yd[i * L + e->labels[k]] = 1;
		}
		if (o->kind & HAVEN_MODEL_LINEAR) {
			scores_for(&d, &xd, HAVEN_MODEL_LINEAR, Sl, hidden);
			if (o->calibrate)
				d.info.temperature_linear =
					fit_temperature(output, Sl, yd, Nd, L, tmpf);
			for (size_t i = 0; i < Nd; i++)
				haven__probs(output, Sl + i * L, L, d.info.temperature_linear,
					     Pl + i * L);
		}
		if (o->kind & HAVEN_MODEL_EMBEDDING_BAG) {
			scores_for(&d, &xd, HAVEN_MODEL_EMBEDDING_BAG, Sb, hidden);
			if (o->calibrate)
				d.info.temperature_bag = fit_temperature(output, Sb, yd, Nd, L, tmpf);
			for (size_t i = 0; i < Nd; i++)
				haven__probs(output, Sb + i * L, L, d.info.temperature_bag,
					     Pb + i * L);
		}
		logf_(o->log, "dev: %zu examples; temperatures linear %.3f bag %.3f\n", Nd,
		      d.info.temperature_linear, d.info.temperature_bag);
		/* mixing weight (ensembles), then thresholds and the at-least-one rule */
		double mixes[11];
		size_t nmix = 0;
		if (o->kind == HAVEN_MODEL_ENSEMBLE && o->mix < 0)
			for (int k = 0; k <= 10; k++)
				mixes[nmix++] = k / 10.0;
		else
			mixes[nmix++] = d.info.mix;
		double best = -1;
		float best_mix = d.info.mix;
		int alo_options[2] = {0, 1}, nalo = 2;
		if (output != HAVEN_OUTPUT_SIGMOID || o->at_least_one >= 0) {
			alo_options[0] = o->at_least_one > 0;
			nalo = 1;
		}
		float *th = malloc(L * sizeof(float));
		if (!th) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		int best_alo = d.info.at_least_one;
		for (size_t mi = 0; mi < nmix; mi++) {
			float a = (float)mixes[mi];
			for (size_t k = 0; k < Nd * L; k++)
				P[k] = a * Pl[k] + (1 - a) * Pb[k];
			for (int ai = 0; ai < nalo; ai++) {
				double s = tune_thresholds(output, alo_options[ai], P, yd, Nd, L, o,
							   th, tmp, pred);
				if (nmix > 1 || nalo > 1)
					logf_(o->log, "dev: mix %.1f at-least-one %d: %.4f\n", a,
					      alo_options[ai], s);
				if (s > best + 1e-9) {
					best = s;
					best_mix = a;
					best_alo = alo_options[ai];
					memcpy(d.thresholds, th, L * sizeof(float));
				}
			}
		}
		free(th);
		d.info.mix = best_mix;
		d.info.at_least_one = best_alo;
		logf_(o->log, "dev: %s %.4f (mix %.2f, at-least-one %d)\n",
		      o->threshold == HAVEN_THRESHOLD_BALANCED ? "balanced accuracy" : "macro-F1",
		      best, d.info.mix, d.info.at_least_one);
	}
	if ((rc = haven__draft_serialize(&d, &bytes, &len)))
		goto out;
	{
		char why[256];
		rc = haven_model_load_mem(bytes, len, HAVEN_LOAD_COPY, out, why, sizeof(why));
		if (rc)
			rc = fail(err, errlen, rc, "internal: trained model does not load: %s", why);
	}
out:
	if (rc && err && errlen && !err[0])
		snprintf(err, errlen, "training failed: %s", haven_strerror(rc));
	d.labels = NULL;
	haven__draft_release(&d);
	csr_release(&x);
	csr_release(&xd);
	free(df);
	free(order);
	free(cls);
	free(y);
	free(yd);
	free(pred);
	free(bytes);
	free(wpos);
	free(wneg);
	free(Sl);
	free(Sb);
	free(P);
	free(Pl);
	free(Pb);
	free(tmpf);
	free(hidden);
	free(tmp);
	free(nbr);
	free(sw);
	free(kept_ex);
	free(kept_dev_ex);
	return rc;
}
