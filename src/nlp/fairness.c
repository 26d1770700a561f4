/*
 * fairness.c: group fairness measures as Fairlearn defines them (see fairness.h), and a
 * small CSV/TSV reader for predictions files.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nlp/fairness.h"

#define MAX_GROUPS 100000
#define MAX_FIELDS 4096

int haven_fairness_create(struct haven_fairness **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? HAVEN_OK : HAVEN_ENOMEM;
}

void haven_fairness_destroy(struct haven_fairness **pf)
{
	struct haven_fairness *f = pf ? *pf : NULL;
	if (!f)
		return;
	for (size_t i = 0; i < f->ngroups; i++)
		free(f->groups[i].name);
	free(f->groups);
	free(f);
	*pf = NULL;
}

static void count(struct haven_fairness_group *g, int label, int pred)
{
	g->n++;
	if (label && pred)
		g->tp++;
	else if (!label && pred)
		g->fp++;
	else if (label && !pred)
		g->fn++;
	else
		g->tn++;
}

int haven_fairness_add(struct haven_fairness *f, const char *group, int label, int pred)
{
	struct haven_fairness_group *g = NULL;
	for (size_t i = 0; i < f->ngroups; i++)
		if (!strcmp(f->groups[i].name, group)) {
			g = &f->groups[i];
			break;
		}
	if (!g) {
		if (f->ngroups == MAX_GROUPS)
			return HAVEN_ELIMIT;
		if (f->ngroups == f->capgroups) {
			size_t nc = f->capgroups ? f->capgroups * 2 : 8;
			struct haven_fairness_group *ng = realloc(f->groups, nc * sizeof(*ng));
			if (!ng)
				return HAVEN_ENOMEM;
			f->groups = ng;
			f->capgroups = nc;
		}
		g = &f->groups[f->ngroups];
		memset(g, 0, sizeof(*g));
		g->name = strdup(group);
		if (!g->name)
			return HAVEN_ENOMEM;
		f->ngroups++;
	}
	count(g, label != 0, pred != 0);
	count(&f->overall, label != 0, pred != 0);
	return HAVEN_OK;
}

static double ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : NAN;
}

static void rates(struct haven_fairness_group *g)
{
	g->selection_rate = ratio(g->tp + g->fp, g->n);
	g->tpr = ratio(g->tp, g->tp + g->fn);
	g->fpr = ratio(g->fp, g->fp + g->tn);
	g->precision = ratio(g->tp, g->tp + g->fp);
}

/* max - min over the groups where the rate is defined; counts the others. */
static double spread(const struct haven_fairness *f, size_t offset, size_t *undefined)
{
	double lo = INFINITY, hi = -INFINITY;
	*undefined = 0;
	for (size_t i = 0; i < f->ngroups; i++) {
		double v = *(const double *)(const void *)((const char *)&f->groups[i] + offset);
		if (isnan(v)) {
			(*undefined)++;
			continue;
		}
		if (v < lo)
			lo = v;
		if (v > hi)
			hi = v;
	}
	return hi >= lo ? hi - lo : NAN;
}

void haven_fairness_finish(struct haven_fairness *f)
{
	size_t none;
	for (size_t i = 0; i < f->ngroups; i++)
		rates(&f->groups[i]);
	rates(&f->overall);
	f->demographic_parity_difference =
		spread(f, offsetof(struct haven_fairness_group, selection_rate), &none);
	f->tpr_difference =
		spread(f, offsetof(struct haven_fairness_group, tpr), &f->groups_without_tpr);
	f->fpr_difference =
		spread(f, offsetof(struct haven_fairness_group, fpr), &f->groups_without_fpr);
	if (isnan(f->tpr_difference))
		f->equalized_odds_difference = f->fpr_difference;
	else if (isnan(f->fpr_difference))
		f->equalized_odds_difference = f->tpr_difference;
	else
		f->equalized_odds_difference = f->tpr_difference > f->fpr_difference
						       ? f->tpr_difference
						       : f->fpr_difference;
}

/* ------------------------------------------------------------------ reading */

struct row {
	char **field;
	size_t n, cap;
	struct haven_buf cell;
};

static int row_push(struct row *r)
{
	if (r->n == MAX_FIELDS)
		return HAVEN_ELIMIT;
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		char **nf = realloc(r->field, nc * sizeof(*nf));
		if (!nf)
			return HAVEN_ENOMEM;
		r->field = nf;
		r->cap = nc;
	}
	r->field[r->n] = strdup(r->cell.data ? r->cell.data : "");
	if (!r->field[r->n])
		return HAVEN_ENOMEM;
	r->n++;
	haven_buf_reset(&r->cell);
	return HAVEN_OK;
}

static void row_clear(struct row *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->field[i]);
	r->n = 0;
	haven_buf_reset(&r->cell);
}

/* Reads one record (RFC 4180: quoted fields may hold separators, quotes as "" and
 * newlines). Returns 1 with a record, 0 at end of file, negative on error. *line is the
 * line the record started on; it advances past every newline read. */
static int read_record(FILE *fp, char sep, struct row *r, unsigned long *line,
		       unsigned long *start_line)
{
	int c, quoted = 0, any = 0, rc;
	row_clear(r);
	*start_line = *line + 1;
	while ((c = getc(fp)) != EOF) {
		any = 1;
		if (quoted) {
			if (c == '"') {
				int d = getc(fp);
				if (d == '"') {
					if ((rc = haven_buf_append(&r->cell, "\"", 1)))
						return rc;
					continue;
				}
				quoted = 0;
				if (d == EOF)
					break;
				c = d; /* fall through to the unquoted handling of d */
			} else {
				if (c == '\n')
					(*line)++;
				char ch = (char)c;
				if ((rc = haven_buf_append(&r->cell, &ch, 1)))
					return rc;
				continue;
			}
		}
		if (c == '"' && r->cell.len == 0) {
			quoted = 1;
			continue;
		}
		if (c == sep) {
			if ((rc = row_push(r)))
				return rc;
			continue;
		}
		if (c == '\n') {
			(*line)++;
			if (r->cell.len && r->cell.data[r->cell.len - 1] == '\r')
				r->cell.data[--r->cell.len] = '\0';
			return row_push(r) ? HAVEN_ENOMEM : 1;
		}
		char ch = (char)c;
		if ((rc = haven_buf_append(&r->cell, &ch, 1)))
			return rc;
	}
	if (quoted)
		return HAVEN_ECORRUPT;
	if (!any)
		return 0;
	(*line)++;
	return row_push(r) ? HAVEN_ENOMEM : 1;
}

static long find_col(const struct row *header, const char *name)
{
	for (size_t i = 0; i < header->n; i++)
		if (!strcmp(header->field[i], name))
			return (long)i;
	int64_t v;
	if (haven_parse_int64(name, &v) == 0 && v >= 1 && (size_t)v <= header->n)
		return (long)(v - 1);
	return -1;
}

static int is_positive(const char *v, const char *positive)
{
	while (*v == ' ')
		v++;
	size_t vl = strlen(v);
	while (vl && v[vl - 1] == ' ')
		vl--;
	const char *p = positive;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t pl = e ? (size_t)(e - p) : strlen(p);
		if (pl == vl && !strncasecmp(p, v, vl))
			return 1;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

static int blank(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '\0';
}

int haven_fairness_read(const char *path, const struct haven_fairness_read_opts *o,
			struct haven_fairness **out, char *err, size_t errlen)
{
	*out = NULL;
	int rc;
	struct row header = {0}, r = {0};
	haven_buf_init(&header.cell, 1u << 20);
	haven_buf_init(&r.cell, 1u << 24);
	struct haven_fairness *f = NULL;
	unsigned long line = 0, start;
	const char *positive = o->positive ? o->positive : "1,true,yes,positive";
	char sep = o->sep;
	if (!sep) {
		size_t pl = strlen(path);
		sep = (pl > 4 && (!strcmp(path + pl - 4, ".tsv") || !strcmp(path + pl - 4, ".txt")))
			      ? '\t'
			      : ',';
	}
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return HAVEN_ENOTFOUND;
	}
	if ((rc = haven_fairness_create(&f)))
		goto out;
	rc = read_record(fp, sep, &header, &line, &start);
	if (rc <= 0) {
		snprintf(err, errlen, "%s:1: %s", path,
			 rc == 0 ? "the file is empty (a header row is needed)" : "unreadable header");
		rc = HAVEN_EINVAL;
		goto out;
	}
	long gc = find_col(&header, o->group_col), lc = find_col(&header, o->label_col),
	     pc = find_col(&header, o->pred_col);
	const char *missing = gc < 0 ? o->group_col : lc < 0 ? o->label_col : pc < 0 ? o->pred_col
										       : NULL;
	if (missing) {
		snprintf(err, errlen, "%s:1: no column '%s' in the header (columns are named by "
				      "header or 1-based number; separator '%s')",
			 path, missing, sep == '\t' ? "tab" : ",");
		rc = HAVEN_EINVAL;
		goto out;
	}
	size_t need = (size_t)(gc > lc ? (gc > pc ? gc : pc) : (lc > pc ? lc : pc)) + 1;
	while ((rc = read_record(fp, sep, &r, &line, &start)) == 1) {
		if (r.n == 1 && blank(r.field[0]))
			continue; /* an empty line */
		if (r.n < need) {
			snprintf(err, errlen, "%s:%lu: %zu fields, the columns asked for need %zu",
				 path, start, r.n, need);
			rc = HAVEN_EINVAL;
			goto out;
		}
		if (blank(r.field[lc]) || blank(r.field[pc])) {
			f->rows_skipped++;
			continue;
		}
		if ((rc = haven_fairness_add(f, r.field[gc], is_positive(r.field[lc], positive),
					     is_positive(r.field[pc], positive)))) {
			snprintf(err, errlen, "%s:%lu: %s", path, start,
				 rc == HAVEN_ELIMIT ? "too many groups" : "out of memory");
			goto out;
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s:%lu: %s", path, start,
			 rc == HAVEN_ECORRUPT ? "unterminated quoted field" : "read error");
		goto out;
	}
	if (f->overall.n == 0) {
		snprintf(err, errlen, "%s: no rows with a label and a prediction", path);
		rc = HAVEN_EINVAL;
		goto out;
	}
	haven_fairness_finish(f);
	rc = HAVEN_OK;
out:
	fclose(fp);
	row_clear(&header);
	row_clear(&r);
	free(header.field);
	free(r.field);
	haven_buf_release(&header.cell);
	haven_buf_release(&r.cell);
	if (rc)
		haven_fairness_destroy(&f);
	*out = f;
	return rc;
}
