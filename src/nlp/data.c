/*
 * data.c: labelled datasets: reading CSV (RFC 4180, quoted multi-line fields) and TSV files
 * by column name or number, label-name files and multi-label fields, per-row training
 * weights and extra training-only examples from other columns, and deterministic grouped
 * train/dev splits.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nlp/nlp_int.h"

#define MAX_FILE (1u << 30)
#define MAX_FIELDS 4096

void haven_read_opts_default(struct haven_read_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->header = 1;
	o->extra_weight = 1;
	o->weight_power = 1;
}

int haven_dataset_create(struct haven_dataset **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : HAVEN_ENOMEM;
}

void haven_dataset_destroy(struct haven_dataset **dp)
{
	struct haven_dataset *d = dp ? *dp : NULL;
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->ex[i].text);
		free(d->ex[i].group);
		free(d->ex[i].labels);
	}
	free(d->ex);
	for (size_t i = 0; i < d->nlabel_names; i++)
		free(d->label_names[i]);
	free(d->label_names);
	free(d);
	*dp = NULL;
}

static long label_lookup(const struct haven_dataset *d, const char *name)
{
	for (size_t i = 0; i < d->nlabel_names; i++)
		if (!strcmp(d->label_names[i], name))
			return (long)i;
	return -1;
}

static int label_add(struct haven_dataset *d, const char *name)
{
	if (d->nlabel_names == d->label_cap) {
		size_t cap = d->label_cap ? d->label_cap * 2 : 16;
		char **p = realloc(d->label_names, cap * sizeof(*p));
		if (!p)
			return HAVEN_ENOMEM;
		d->label_names = p;
		d->label_cap = cap;
	}
	char *s = strdup(name);
	if (!s)
		return HAVEN_ENOMEM;
	d->label_names[d->nlabel_names++] = s;
	return 0;
}

static int add_indices(struct haven_dataset *d, const char *text, const char *group,
		       const uint32_t *labels, size_t nlabels, float weight, uint8_t extra)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		struct haven_example *p = realloc(d->ex, cap * sizeof(*p));
		if (!p)
			return HAVEN_ENOMEM;
		d->ex = p;
		d->cap = cap;
	}
	struct haven_example *e = &d->ex[d->n];
	memset(e, 0, sizeof(*e));
	e->text = strdup(text);
	e->group = group ? strdup(group) : NULL;
	e->labels = malloc((nlabels ? nlabels : 1) * sizeof(uint32_t));
	if (!e->text || (group && !e->group) || !e->labels) {
		free(e->text);
		free(e->group);
		free(e->labels);
		return HAVEN_ENOMEM;
	}
	memcpy(e->labels, labels, nlabels * sizeof(uint32_t));
	e->nlabels = (uint32_t)nlabels;
	e->weight = weight;
	e->extra = extra;
	d->n++;
	return 0;
}

int haven_dataset_add(struct haven_dataset *d, const char *text, const char *group,
		      const char *const *labels, size_t nlabels)
{
	uint32_t idx[256];
	size_t k = 0;
	if (nlabels > 256)
		return HAVEN_ELIMIT;
	for (size_t i = 0; i < nlabels; i++) {
		long j = label_lookup(d, labels[i]);
		if (j < 0) {
			int rc = label_add(d, labels[i]);
			if (rc)
				return rc;
			j = (long)d->nlabel_names - 1;
		}
		int dup = 0;
		for (size_t q = 0; q < k; q++)
			dup |= idx[q] == (uint32_t)j;
		if (!dup)
			idx[k++] = (uint32_t)j;
	}
	return add_indices(d, text, group, idx, k, 1.0f, 0);
}

/* ---- delimited files ---- */

struct reader {
	char *buf;
	size_t len, pos;
	int tsv;
	size_t line; /* 1-based line of the current record */
	/* fields of the current record */
	char **f;
	size_t nf;
	struct haven_buf field;
	char *rec; /* storage for the current record's fields */
	size_t rec_cap;
};

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

/* Reads one record; returns 1 when one was read, 0 at the end, <0 on error. Field strings
 * live in r->rec until the next call. */
static int next_record(struct reader *r, char *err, size_t errlen)
{
	if (r->pos >= r->len)
		return 0;
	size_t nf = 0, rl = 0;
	size_t offs[MAX_FIELDS];
	r->line++;
	/* worst case the record needs its bytes plus a NUL per field */
	size_t need = r->len - r->pos + MAX_FIELDS + 1;
	if (need > r->rec_cap) {
		char *p = realloc(r->rec, need);
		if (!p)
			return HAVEN_ENOMEM;
		r->rec = p;
		r->rec_cap = need;
	}
	size_t start_line = r->line;
	for (;;) {
		if (nf >= MAX_FIELDS)
			return fail(err, errlen, HAVEN_ELIMIT, "line %zu: more than %d fields",
				    start_line, MAX_FIELDS);
		offs[nf++] = rl;
		int quoted = !r->tsv && r->pos < r->len && r->buf[r->pos] == '"';
		if (quoted) {
			r->pos++;
			for (;;) {
				if (r->pos >= r->len)
					return fail(err, errlen, HAVEN_EINVAL,
						    "line %zu: unterminated quoted field", start_line);
				char c = r->buf[r->pos++];
				if (c == '"') {
					if (r->pos < r->len && r->buf[r->pos] == '"') {
						r->rec[rl++] = '"';
						r->pos++;
						continue;
					}
					break;
				}
				if (c == '\n')
					r->line++;
				r->rec[rl++] = c;
			}
			/* tolerate junk between closing quote and delimiter */
			while (r->pos < r->len && r->buf[r->pos] != ',' && r->buf[r->pos] != '\n')
				r->pos++;
		} else {
			char delim = r->tsv ? '\t' : ',';
			while (r->pos < r->len && r->buf[r->pos] != delim && r->buf[r->pos] != '\n')
				r->rec[rl++] = r->buf[r->pos++];
			if (rl > offs[nf - 1] && r->rec[rl - 1] == '\r' &&
			    (r->pos >= r->len || r->buf[r->pos] == '\n'))
				rl--;
		}
		r->rec[rl++] = 0;
		if (r->pos >= r->len)
			break;
		char c = r->buf[r->pos++];
		if (c == '\n')
			break;
		if (c == '\r' && r->pos < r->len && r->buf[r->pos] == '\n') {
			r->pos++;
			break;
		}
	}
	if (nf > r->nf || !r->f) {
		char **f = realloc(r->f, MAX_FIELDS * sizeof(char *));
		if (!f)
			return HAVEN_ENOMEM;
		r->f = f;
	}
	for (size_t i = 0; i < nf; i++)
		r->f[i] = r->rec + offs[i];
	r->nf = nf;
	return 1;
}

static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(err, errlen, errno == ENOENT ? HAVEN_ENOTFOUND : HAVEN_EIO,
			    "cannot open %s: %s", path, strerror(errno));
	struct haven_buf b;
	haven_buf_init(&b, MAX_FILE);
	int rc = haven_buf_append_file(&b, f);
	fclose(f);
	if (rc) {
		haven_buf_release(&b);
		return fail(err, errlen, rc, "cannot read %s: %s", path, haven_strerror(rc));
	}
	if (haven_buf_append(&b, "", 0)) {
		haven_buf_release(&b);
		return HAVEN_ENOMEM;
	}
	*out = haven_buf_detach(&b, len);
	if (!*out) {
		*out = calloc(1, 1);
		*len = 0;
		if (!*out)
			return HAVEN_ENOMEM;
	}
	return 0;
}

/* Column index from a name or 1-based number; -1 if not found. */
static long column(const char *spec, char **header, size_t nh)
{
	for (size_t i = 0; header && i < nh; i++)
		if (!strcmp(header[i], spec))
			return (long)i;
	int64_t v;
	if (!haven_parse_int64(spec, &v) && v >= 1 && v <= MAX_FIELDS)
		return (long)(v - 1);
	return -1;
}

static void trim(char **s)
{
	while (**s == ' ')
		(*s)++;
	size_t n = strlen(*s);
	while (n && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\r'))
		(*s)[--n] = 0;
}

static int in_list(const char *list, const char *s)
{
	if (!list)
		return 0;
	size_t n = strlen(s);
	const char *p = list;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && !memcmp(p, s, n))
			return 1;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

/* Applies a "FROM=TO;...;*=TO" map to s; returns the mapped name in buf, or s. */
static const char *map_label(const char *map, const char *s, char *buf, size_t n)
{
	if (!map)
		return s;
	const char *p = map, *star = NULL;
	size_t star_len = 0, sl = strlen(s);
	while (*p) {
		const char *e = strchr(p, ';');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		const char *eq = memchr(p, '=', l);
		if (eq) {
			size_t fl = (size_t)(eq - p);
			if (fl == 1 && *p == '*') {
				star = eq + 1;
				star_len = l - 2;
			} else if (fl == sl && !memcmp(p, s, sl)) {
				size_t tl = l - fl - 1;
				if (tl >= n)
					tl = n - 1;
				memcpy(buf, eq + 1, tl);
				buf[tl] = 0;
				return buf;
			}
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (star) {
		if (star_len >= n)
			star_len = n - 1;
		memcpy(buf, star, star_len);
		buf[star_len] = 0;
		return buf;
	}
	return s;
}

/* The labels of one label field (split by label_sep, looked up in the names file, mapped):
 * up to 256 names in labels, of which the first 8 may point into mapped. Returns the
 * number of labels (0: none), or <0 with err set. The field is modified. */
static long field_labels(char *lab, const struct haven_read_opts *o, char **names,
			 size_t nnames, char mapped[8][256], const char **labels,
			 const char *path, size_t line, char *err, size_t errlen)
{
	size_t nl = 0;
	char *p = lab;
	for (;;) {
		char *e = o->label_sep && *o->label_sep ? strstr(p, o->label_sep) : NULL;
		if (e)
			*e = 0;
		char *s = p;
		trim(&s);
		if (*s && nl < 256) {
			if (names) {
				int64_t v;
				if (haven_parse_int64(s, &v) || v < 0 || (size_t)v >= nnames)
					return fail(err, errlen, HAVEN_EINVAL,
						    "%s:%zu: label '%s' is not an index into the "
						    "%zu label names",
						    path, line, s, nnames);
				s = names[v];
			}
			const char *name = s;
			if (o->label_map && nl < 8)
				name = map_label(o->label_map, s, mapped[nl], sizeof(mapped[nl]));
			labels[nl++] = name;
		}
		if (!e)
			break;
		p = e + strlen(o->label_sep);
	}
	return (long)nl;
}

/* Adds an example to d and gives it a weight and the extra mark. */
static int add_weighted(struct haven_dataset *d, const char *text, const char *group,
			const char *const *labels, size_t nlabels, float weight, uint8_t extra)
{
	int rc = haven_dataset_add(d, text, group, labels, nlabels);
	if (!rc) {
		d->ex[d->n - 1].weight = weight;
		d->ex[d->n - 1].extra = extra;
	}
	return rc;
}

/* Whether a sentence of s (length n) ends at byte i: '.', '!' or '?' followed by white
 * space, or a line break that does not follow one of them. */
static int sentence_end(const char *s, size_t i, size_t n)
{
	if (i + 1 >= n)
		return 0;
	if (s[i] == '\n')
		return !(i > 0 && strchr(".!?", s[i - 1]));
	return s[i] && strchr(".!?", s[i]) && strchr(" \t\r\n", s[i + 1]);
}

/* Two consecutive sentences of s, starting at the sentence FNV-1a-64(s) modulo their number
 * picks; written into out without the white space around them. */
static int crop_sentences(const char *s, struct haven_buf *out)
{
	size_t n = strlen(s), count = 1;
	for (size_t i = 0; i < n; i++)
		count += sentence_end(s, i, n);
	size_t pick = (size_t)(haven__fnv1a64(s, n) % count), k = 0, start = 0, end = n;
	for (size_t i = 0; i < n; i++) {
		if (!sentence_end(s, i, n))
			continue;
		k++;
		if (k == pick)
			start = i + 1;
		if (k == pick + 2) {
			end = i + 1;
			break;
		}
	}
	while (start < end && strchr(" \t\r\n", s[start]))
		start++;
	while (end > start && strchr(" \t\r\n", s[end - 1]))
		end--;
	haven_buf_reset(out);
	return haven_buf_append(out, s + start, end - start); /* NUL-terminated after it */
}

/* Column of an optional training-only option: -1 when not asked for, -2 when missing. */
static long optional_column(const char *spec, char **header, size_t nh, const char *path,
			    const char *what, char *err, size_t errlen)
{
	if (!spec)
		return -1;
	long c = column(spec, header, nh);
	if (c < 0) {
		fail(err, errlen, HAVEN_EINVAL, "%s: no %s column '%s'", path, what, spec);
		return -2;
	}
	return c;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int haven_dataset_read(const char *path, const struct haven_read_opts *o,
		       struct haven_dataset **out, char *err, size_t errlen)
{
	int rc = 0;
	struct haven_dataset *d = NULL, *tmp = NULL;
	struct reader r = {0};
	char **header = NULL, *names_buf = NULL;
	char **names = NULL;
	size_t nh = 0, nnames = 0, names_len = 0;
	long tcols[16];
	size_t ntcols = 0;
	long lcol, gcol = -1, wcol = -1, xtcol = -1, xlcol = -1;
	struct haven_buf text, crop;
	haven_buf_init(&text, HAVEN_NLP_MAX_TEXT * 64);
	haven_buf_init(&crop, HAVEN_NLP_MAX_TEXT * 64);
	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (!o->text_cols || !o->label_col)
		return fail(err, errlen, HAVEN_EINVAL, "text and label columns are required");
	if ((rc = read_file(path, &r.buf, &r.len, err, errlen)))
		goto out;
	if (o->format == HAVEN_FORMAT_TSV)
		r.tsv = 1;
	else if (o->format == HAVEN_FORMAT_AUTO) {
		size_t pl = strlen(path);
		r.tsv = (pl > 4 && (!strcmp(path + pl - 4, ".tsv") || !strcmp(path + pl - 4, ".txt")));
	}
	if (r.len >= 3 && !memcmp(r.buf, "\xEF\xBB\xBF", 3))
		r.pos = 3;
	if (o->label_names) {
		if ((rc = read_file(o->label_names, &names_buf, &names_len, err, errlen)))
			goto out;
		names = calloc(names_len + 1, sizeof(char *));
		if (!names) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		char *p = names_buf;
		while (*p) {
			char *e = strchr(p, '\n');
			if (e)
				*e = 0;
			char *s = p;
			trim(&s);
			if (*s)
				names[nnames++] = s;
			if (!e)
				break;
			p = e + 1;
		}
	}
	if (o->header) {
		rc = next_record(&r, err, errlen);
		if (rc <= 0) {
			if (!rc)
				rc = fail(err, errlen, HAVEN_EINVAL, "%s: empty file", path);
			goto out;
		}
		nh = r.nf;
		header = calloc(nh, sizeof(char *));
		if (!header) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < nh; i++) {
			header[i] = strdup(r.f[i]);
			if (!header[i]) {
				rc = HAVEN_ENOMEM;
				goto out;
			}
			char *s = header[i];
			trim(&s);
			memmove(header[i], s, strlen(s) + 1);
		}
	}
	{
		const char *p = o->text_cols;
		while (*p && ntcols < 16) {
			char spec[256];
			const char *e = strchr(p, ',');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if (l >= sizeof(spec))
				l = sizeof(spec) - 1;
			memcpy(spec, p, l);
			spec[l] = 0;
			long c = column(spec, header, nh);
			if (c < 0) {
				rc = fail(err, errlen, HAVEN_EINVAL, "%s: no text column '%s'", path,
					  spec);
				goto out;
			}
			tcols[ntcols++] = c;
			if (!e)
				break;
			p = e + 1;
		}
	}
	lcol = column(o->label_col, header, nh);
	if (lcol < 0) {
		rc = fail(err, errlen, HAVEN_EINVAL, "%s: no label column '%s'", path, o->label_col);
		goto out;
	}
	if (o->group_col && (gcol = column(o->group_col, header, nh)) < 0) {
		rc = fail(err, errlen, HAVEN_EINVAL, "%s: no group column '%s'", path, o->group_col);
		goto out;
	}
	if ((wcol = optional_column(o->weight_col, header, nh, path, "weight", err, errlen)) == -2 ||
	    (xtcol = optional_column(o->extra_text_col, header, nh, path, "extra text", err,
				     errlen)) == -2 ||
	    (xlcol = optional_column(o->extra_label_col, header, nh, path, "extra label", err,
				     errlen)) == -2) {
		rc = HAVEN_EINVAL;
		goto out;
	}
	if (((o->extra_text_col || o->extra_label_col) &&
	     !(o->extra_weight >= 0 && o->extra_weight <= 1e6)) ||
	    (o->weight_col && !(o->min_weight >= 0 && o->min_weight <= 1e30)) ||
	    (o->weight_col && !(o->weight_power > 0 && o->weight_power <= 16))) {
		rc = fail(err, errlen, HAVEN_EINVAL,
			  "extra weight and minimum weight must be >= 0, weight power in (0, 16]");
		goto out;
	}
	if ((rc = haven_dataset_create(&tmp)))
		goto out;
	for (;;) {
		rc = next_record(&r, err, errlen);
		if (rc < 0)
			goto out;
		if (rc == 0)
			break;
		rc = 0;
		if (r.nf == 1 && r.f[0][0] == 0)
			continue; /* blank line */
		size_t line = r.line;
		long maxc = lcol > gcol ? lcol : gcol;
		for (size_t i = 0; i < ntcols; i++)
			if (tcols[i] > maxc)
				maxc = tcols[i];
		if (wcol > maxc)
			maxc = wcol;
		if (xtcol > maxc)
			maxc = xtcol;
		if (xlcol > maxc)
			maxc = xlcol;
		if ((size_t)maxc >= r.nf) {
			rc = fail(err, errlen, HAVEN_EINVAL,
				  "%s:%zu: record has %zu fields, column %ld needed", path, line, r.nf,
				  maxc + 1);
			goto out;
		}
		haven_buf_reset(&text);
		for (size_t i = 0; i < ntcols; i++) {
			const char *s = r.f[tcols[i]];
			if (!*s)
				continue;
			if ((text.len && (rc = haven_buf_puts(&text, "\n"))) ||
			    (rc = haven_buf_puts(&text, s)))
				goto out;
		}
		char *lab = r.f[lcol];
		trim(&lab);
		if (!text.len || !*lab || in_list(o->skip_labels, lab)) {
			tmp->skipped++;
			continue;
		}
		const char *labels[256];
		char mapped[8][256];
		long nl = field_labels(lab, o, names, nnames, mapped, labels, path, line, err,
				       errlen);
		if (nl < 0) {
			rc = (int)nl;
			goto out;
		}
		if (!nl) {
			tmp->skipped++;
			continue;
		}
		double weight = 1;
		if (wcol >= 0) {
			char *w = r.f[wcol];
			trim(&w);
			if (haven_parse_double(w, &weight) || !isfinite(weight) || weight < 0) {
				rc = fail(err, errlen, HAVEN_EINVAL,
					  "%s:%zu: weight '%s' in column '%s' is not a number >= 0",
					  path, line, w, o->weight_col);
				goto out;
			}
			if (weight < o->min_weight)
				weight = 0;
			else if (o->weight_power != 1)
				weight = pow(weight, o->weight_power);
		}
		const char *group = gcol >= 0 ? r.f[gcol] : NULL;
		if ((rc = add_weighted(tmp, text.data, group, labels, (size_t)nl, (float)weight,
				       0)))
			goto out;
		/* Extra examples carry their row's split key as group, so they follow it. */
		const char *key = group ? group : text.data;
		float extra_weight = (float)(weight * o->extra_weight);
		if (xtcol >= 0) {
			char *xs = r.f[xtcol];
			trim(&xs);
			const char *x = xs;
			if (!*x && o->extra_text_crop) {
				if ((rc = crop_sentences(text.data, &crop)))
					goto out;
				x = crop.data;
			}
			if (*x && (rc = add_weighted(tmp, x, key, labels, (size_t)nl, extra_weight,
						     1)))
				goto out;
		}
		if (xlcol >= 0) {
			char *xl = r.f[xlcol];
			const char *xlabels[256];
			char xmapped[8][256];
			trim(&xl);
			if (!*xl || in_list(o->skip_labels, xl))
				continue;
			long xn = field_labels(xl, o, names, nnames, xmapped, xlabels, path, line,
					       err, errlen);
			if (xn < 0) {
				rc = (int)xn;
				goto out;
			}
			if (xn && (rc = add_weighted(tmp, text.data, key, xlabels, (size_t)xn,
						     extra_weight, 1)))
				goto out;
		}
	}
	/* Final label order: fixed (a model's), the names file's, or sorted. */
	if ((rc = haven_dataset_create(&d)))
		goto out;
	d->skipped = tmp->skipped;
	if (o->fixed_labels) {
		for (size_t i = 0; i < o->nfixed_labels; i++)
			if ((rc = label_add(d, o->fixed_labels[i])))
				goto out;
	} else if (names) {
		for (size_t i = 0; i < nnames; i++)
			if (label_lookup(d, names[i]) < 0 && (rc = label_add(d, names[i])))
				goto out;
	} else {
		char **sorted = malloc((tmp->nlabel_names + 1) * sizeof(char *));
		if (!sorted) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		memcpy(sorted, tmp->label_names, tmp->nlabel_names * sizeof(char *));
		qsort(sorted, tmp->nlabel_names, sizeof(char *), cmp_str);
		for (size_t i = 0; i < tmp->nlabel_names && !rc; i++)
			rc = label_add(d, sorted[i]);
		free(sorted);
		if (rc)
			goto out;
	}
	{
		uint32_t *map = malloc((tmp->nlabel_names + 1) * sizeof(uint32_t));
		if (!map) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < tmp->nlabel_names; i++) {
			long j = label_lookup(d, tmp->label_names[i]);
			if (j < 0) {
				rc = fail(err, errlen, HAVEN_EINVAL,
					  "%s: label '%s' is not one of the model's labels", path,
					  tmp->label_names[i]);
				free(map);
				goto out;
			}
			map[i] = (uint32_t)j;
		}
		for (size_t i = 0; i < tmp->n && !rc; i++) {
			struct haven_example *e = &tmp->ex[i];
			for (uint32_t k = 0; k < e->nlabels; k++)
				e->labels[k] = map[e->labels[k]];
			rc = add_indices(d, e->text, e->group, e->labels, e->nlabels, e->weight,
					 e->extra);
		}
		free(map);
		if (rc)
			goto out;
	}
	if (!d->n) {
		rc = fail(err, errlen, HAVEN_EINVAL, "%s: no labelled rows", path);
		goto out;
	}
	*out = d;
	d = NULL;
out:
	haven_dataset_destroy(&d);
	haven_dataset_destroy(&tmp);
	if (header)
		for (size_t i = 0; i < nh; i++)
			free(header[i]);
	free(header);
	free(names);
	free(names_buf);
	free(r.buf);
	free(r.rec);
	free(r.f);
	haven_buf_release(&text);
	haven_buf_release(&crop);
	if (rc && err && errlen && !err[0])
		snprintf(err, errlen, "%s: %s", path, haven_strerror(rc));
	return rc;
}

int haven_dataset_split(const struct haven_dataset *d, double frac, uint64_t seed,
			struct haven_dataset **train, struct haven_dataset **dev)
{
	int rc;
	struct haven_dataset *a = NULL, *b = NULL;
	*train = *dev = NULL;
	if ((rc = haven_dataset_create(&a)) || (rc = haven_dataset_create(&b)))
		goto out;
	for (size_t i = 0; i < d->nlabel_names; i++)
		if ((rc = label_add(a, d->label_names[i])) || (rc = label_add(b, d->label_names[i])))
			goto out;
	for (size_t i = 0; i < d->n; i++) {
		const struct haven_example *e = &d->ex[i];
		unsigned char sb[8];
		for (int k = 0; k < 8; k++)
			sb[k] = (unsigned char)(seed >> (8 * k));
		uint64_t h = haven__fnv1a64(sb, 8);
		const char *key = e->group ? e->group : e->text;
		h = haven__fnv1a64_update(h, key, strlen(key));
		double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);
		struct haven_dataset *to = u < frac ? b : a;
		if (to == b && e->extra)
			continue; /* extra examples are for training only */
		if ((rc = add_indices(to, e->text, e->group, e->labels, e->nlabels, e->weight,
				      e->extra)))
			goto out;
	}
	*train = a;
	*dev = b;
	a = b = NULL;
out:
	haven_dataset_destroy(&a);
	haven_dataset_destroy(&b);
	return rc;
}
