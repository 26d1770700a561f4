/*
 * model.c: the model file format, loading (mmap), prediction and explanation.
 *
 * File layout, all integers little-endian:
 *   0  "HVNMODEL"            magic (8 bytes)
 *   8  u32 version           HAVEN__MODEL_VERSION (2; 1 is still read)
 *   12 u32 header size       32
 *   16 u64 payload length    file size - 32
 *   24 u64 checksum          of the payload: model_sum() in version 2, FNV-1a-64 in 1
 *   32 sections, each: u32 tag, u32 0, u64 length, data, zero padding to 16 bytes.
 * Every section starts 16-byte aligned, so float arrays are used in place from the mmap.
 * Sections: META (u32 count; count x (u32 len, key, u32 len, value)), CONFIG (fixed
 * fields, see put_config), LABELS (u32 count; count x (u32 len, bytes)), THRESHOLDS,
 * IDF, LINEAR_W (buckets x labels), LINEAR_B, BAG_EMB (buckets x dim), BAG_OUT
 * (labels x dim), BAG_B: f32 arrays. Unknown tags are skipped (later minor additions).
 * Float arrays are IEEE-754 little-endian and read in place, so this engine builds only on
 * little-endian hosts (checked at compile time); every scalar is decoded explicitly.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nlp/nlp_int.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "model weights are read in place: little-endian hosts only"
#endif

#define MAX_LABELS 4096u
#define MAX_BUCKETS (1u << 26)
#define MAX_DIM 1024u
#define MAX_STR 65536u
#define CONFIG_SIZE 56u

uint64_t haven__fnv1a64_update(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001B3ull;
	}
	return h;
}

uint64_t haven__fnv1a64(const void *p, size_t n)
{
	return haven__fnv1a64_update(0xCBF29CE484222325ull, p, n);
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/*
 * The payload checksum of format 2. FNV-1a reads one byte per multiplication, each waiting
 * on the one before: about 15 ms for the three models the server loads at start. This
 * reads 64-bit words in four independent lanes (a multiply-rotate-multiply round, as
 * xxHash64 mixes its input), so the lanes' multiplications overlap; the lanes, the tail
 * bytes and the length are then folded with FNV-1a. It guards against corruption and
 * truncation, not against tampering (nor did FNV-1a).
 */
static uint64_t sum_round(uint64_t acc, uint64_t word)
{
	acc += word * 0xC2B2AE3D27D4EB4Full;
	acc = (acc << 31) | (acc >> 33);
	return acc * 0x9E3779B185EBCA87ull;
}

static uint64_t model_sum(const unsigned char *p, uint64_t n)
{
	uint64_t lane[4] = {0x60EA27EEADC0B5D6ull, 0xC2B2AE3D27D4EB4Full, 0,
			    0x61C8864E7A143579ull};
	uint64_t i = 0;
	for (; i + 32 <= n; i += 32)
		for (int k = 0; k < 4; k++) {
			uint64_t word; /* little-endian host (checked above) */
			memcpy(&word, p + i + 8 * k, 8);
			lane[k] = sum_round(lane[k], word);
		}
	unsigned char fold[40];
	for (int k = 0; k < 5; k++)
		for (int b = 0; b < 8; b++)
			fold[8 * k + b] = (unsigned char)((k < 4 ? lane[k] : n) >> (8 * b));
	return haven__fnv1a64_update(haven__fnv1a64(fold, sizeof(fold)), p + i, n - i);
}

static float get_f32(const unsigned char *p)
{
	uint32_t u = get_u32(p);
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* ---- writer ---- */

struct writer {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

static void w_bytes(struct writer *w, const void *s, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + n)
			cap *= 2;
		unsigned char *p = realloc(w->p, cap);
		if (!p) {
			w->failed = 1;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	if (n)
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void w_u32(struct writer *w, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 24)};
	w_bytes(w, b, 4);
}

static void w_u64(struct writer *w, uint64_t v)
{
	w_u32(w, (uint32_t)v);
	w_u32(w, (uint32_t)(v >> 32));
}

static void w_f32(struct writer *w, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	w_u32(w, u);
}

static void w_u8(struct writer *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void w_str(struct writer *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	w_u32(w, (uint32_t)n);
	w_bytes(w, s, n);
}

static size_t section_begin(struct writer *w, uint32_t tag)
{
	w_u32(w, tag);
	w_u32(w, 0);
	w_u64(w, 0); /* patched by section_end */
	return w->len;
}

static void section_end(struct writer *w, size_t start)
{
	if (w->failed)
		return;
	uint64_t n = w->len - start;
	for (int i = 0; i < 8; i++)
		w->p[start - 8 + i] = (unsigned char)(n >> (8 * i));
	static const unsigned char zero[16];
	w_bytes(w, zero, (16 - (w->len & 15)) & 15);
}

static void w_floats(struct writer *w, uint32_t tag, const float *v, size_t n)
{
	size_t s = section_begin(w, tag);
	w_bytes(w, v, n * sizeof(float)); /* little-endian host (checked above) */
	section_end(w, s);
}

int haven__draft_serialize(const struct haven__draft *d, unsigned char **out, size_t *len)
{
	const struct haven_model_info *in = &d->info;
	struct writer w = {0};
	*out = NULL;
	*len = 0;
	w_bytes(&w, HAVEN__MODEL_MAGIC, 8);
	w_u32(&w, HAVEN__MODEL_VERSION);
	w_u32(&w, HAVEN__MODEL_HEADER);
	w_u64(&w, 0);
	w_u64(&w, 0);

	size_t s = section_begin(&w, HAVEN__TAG_META);
	const char *keys[] = {"name", "version", "task", "data", "license", "created_by"};
	const char *vals[] = {in->name, in->version, in->task, in->data, in->license, in->created_by};
	w_u32(&w, 6);
	for (int i = 0; i < 6; i++) {
		w_str(&w, keys[i]);
		w_str(&w, vals[i]);
	}
	section_end(&w, s);

	s = section_begin(&w, HAVEN__TAG_CONFIG);
	w_u32(&w, in->kind);
	w_u32(&w, in->output);
	w_u32(&w, (uint32_t)in->multi_label);
	w_u32(&w, (uint32_t)in->at_least_one);
	w_u32(&w, (uint32_t)in->nlabels);
	w_u32(&w, in->buckets);
	w_u32(&w, in->dim);
	w_f32(&w, in->mix);
	w_f32(&w, in->temperature_linear);
	w_f32(&w, in->temperature_bag);
	w_u32(&w, in->text.buckets);
	w_u8(&w, in->text.word_ngrams);
	w_u8(&w, in->text.char_minn);
	w_u8(&w, in->text.char_maxn);
	w_u8(&w, in->text.lowercase);
	w_u8(&w, in->text.contractions);
	w_u8(&w, in->text.negation);
	w_u8(&w, in->text.scaling);
	w_u8(&w, in->text.use_idf);
	w_f32(&w, in->text.char_weight);
	section_end(&w, s);

	s = section_begin(&w, HAVEN__TAG_LABELS);
	w_u32(&w, (uint32_t)in->nlabels);
	for (size_t i = 0; i < in->nlabels; i++)
		w_str(&w, d->labels[i]);
	section_end(&w, s);

	w_floats(&w, HAVEN__TAG_THRESHOLDS, d->thresholds, in->nlabels);
	if (in->text.use_idf)
		w_floats(&w, HAVEN__TAG_IDF, d->idf, in->buckets);
	if (in->kind & HAVEN_MODEL_LINEAR) {
		w_floats(&w, HAVEN__TAG_LINEAR_W, d->lw, (size_t)in->buckets * in->nlabels);
		w_floats(&w, HAVEN__TAG_LINEAR_B, d->lb, in->nlabels);
	}
	if (in->kind & HAVEN_MODEL_EMBEDDING_BAG) {
		w_floats(&w, HAVEN__TAG_BAG_EMB, d->emb, (size_t)in->buckets * in->dim);
		w_floats(&w, HAVEN__TAG_BAG_OUT, d->out, (size_t)in->nlabels * in->dim);
		w_floats(&w, HAVEN__TAG_BAG_B, d->ob, in->nlabels);
	}
	if (w.failed) {
		free(w.p);
		return HAVEN_ENOMEM;
	}
	uint64_t plen = w.len - HAVEN__MODEL_HEADER;
	uint64_t sum = model_sum(w.p + HAVEN__MODEL_HEADER, plen);
	for (int i = 0; i < 8; i++) {
		w.p[16 + i] = (unsigned char)(plen >> (8 * i));
		w.p[24 + i] = (unsigned char)(sum >> (8 * i));
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

void haven__draft_release(struct haven__draft *d)
{
	free(d->thresholds);
	free(d->idf);
	free(d->lw);
	free(d->lb);
	free(d->emb);
	free(d->out);
	free(d->ob);
	memset(d, 0, sizeof(*d));
}

/* ---- loader ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...) HAVEN_PRINTF(3, 4);
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return HAVEN_ECORRUPT;
}

struct section {
	const unsigned char *p;
	uint64_t len;
	int present;
};

/* Copies a length-prefixed string at *off within sec; advances *off. */
static int take_str(const struct section *sec, uint64_t *off, char **dst, char **cursor)
{
	if (sec->len - *off < 4)
		return -1;
	uint32_t n = get_u32(sec->p + *off);
	*off += 4;
	if (n > MAX_STR || sec->len - *off < n)
		return -1;
	const char *s = (const char *)sec->p + *off;
	if (memchr(s, 0, n) || !haven_utf8_valid(s, n, NULL))
		return -1;
	memcpy(*cursor, s, n);
	(*cursor)[n] = 0;
	*dst = *cursor;
	*cursor += n + 1;
	*off += n;
	return 0;
}

static int floats(const struct section *s, uint64_t n, const float **out)
{
	if (!s->present || n > UINT64_MAX / 4 || s->len != n * 4)
		return -1;
	*out = (const float *)(const void *)s->p;
	return 0;
}

static int parse(struct haven_model *m, char *err, size_t errlen)
{
	const unsigned char *b = m->bytes;
	size_t len = m->len;
	struct section sec[11] = {{0}};
	uint64_t off = HAVEN__MODEL_HEADER;
	while (off < len) {
		if (len - off < 16)
			return fail(err, errlen, "truncated section header at byte %llu",
				    (unsigned long long)off);
		uint32_t tag = get_u32(b + off);
		uint64_t slen = get_u64(b + off + 8);
		off += 16;
		if (slen > len - off)
			return fail(err, errlen, "section %u at byte %llu runs past the end", tag,
				    (unsigned long long)(off - 16));
		if (tag >= 1 && tag <= 10) {
			if (sec[tag].present)
				return fail(err, errlen, "section %u appears twice", tag);
			sec[tag] = (struct section){b + off, slen, 1};
		}
		uint64_t pad = (16 - (slen & 15)) & 15;
		off += slen;
		off += pad < len - off ? pad : len - off;
	}
	struct section *cfg = &sec[HAVEN__TAG_CONFIG];
	if (!cfg->present || cfg->len < CONFIG_SIZE)
		return fail(err, errlen, "missing or short CONFIG section");
	struct haven_model_info *in = &m->info;
	const unsigned char *c = cfg->p;
	uint32_t kind = get_u32(c), output = get_u32(c + 4);
	in->multi_label = get_u32(c + 8) != 0;
	in->at_least_one = get_u32(c + 12) != 0;
	uint32_t nlabels = get_u32(c + 16);
	in->buckets = get_u32(c + 20);
	in->dim = get_u32(c + 24);
	in->mix = get_f32(c + 28);
	in->temperature_linear = get_f32(c + 32);
	in->temperature_bag = get_f32(c + 36);
	in->text.buckets = get_u32(c + 40);
	in->text.word_ngrams = c[44];
	in->text.char_minn = c[45];
	in->text.char_maxn = c[46];
	in->text.lowercase = c[47];
	in->text.contractions = c[48];
	in->text.negation = c[49];
	in->text.scaling = c[50];
	in->text.use_idf = c[51];
	in->text.char_weight = get_f32(c + 52);
	if (kind < 1 || kind > 3)
		return fail(err, errlen, "unknown model kind %u", kind);
	if (output != HAVEN_OUTPUT_SOFTMAX && output != HAVEN_OUTPUT_SIGMOID)
		return fail(err, errlen, "unknown output kind %u", output);
	in->kind = (enum haven_model_kind)kind;
	in->output = (enum haven_output)output;
	if (nlabels < 1 || nlabels > MAX_LABELS)
		return fail(err, errlen, "bad label count %u", nlabels);
	in->nlabels = nlabels;
	if (in->buckets < 1 || in->buckets > MAX_BUCKETS || in->text.buckets != in->buckets)
		return fail(err, errlen, "bad bucket count %u", in->buckets);
	if ((kind & HAVEN_MODEL_EMBEDDING_BAG) ? (in->dim < 1 || in->dim > MAX_DIM) : in->dim != 0)
		return fail(err, errlen, "bad embedding dimension %u", in->dim);
	if (in->text.word_ngrams < 1 || in->text.word_ngrams > 3 || in->text.char_maxn > 12 ||
	    in->text.char_minn > in->text.char_maxn || in->text.scaling > 2 ||
	    (in->text.char_maxn && !in->text.char_minn))
		return fail(err, errlen, "bad tokenizer settings");
	if (!isfinite(in->mix) || in->mix < 0 || in->mix > 1 || !isfinite(in->temperature_linear) ||
	    !(in->temperature_linear > 0) || !isfinite(in->temperature_bag) ||
	    !(in->temperature_bag > 0) || !isfinite(in->text.char_weight) ||
	    in->text.char_weight < 0)
		return fail(err, errlen, "bad calibration or weight settings");

	/* strings: an upper bound of their total size is the two sections' sizes */
	struct section *meta = &sec[HAVEN__TAG_META], *lab = &sec[HAVEN__TAG_LABELS];
	if (!lab->present)
		return fail(err, errlen, "missing LABELS section");
	size_t need = (meta->present ? meta->len : 0) + lab->len + 16 + 2 * (size_t)nlabels;
	m->strings = malloc(need);
	m->labels = calloc(nlabels, sizeof(char *));
	if (!m->strings || !m->labels)
		return HAVEN_ENOMEM;
	char *cursor = m->strings;
	*cursor = 0;
	const char *empty = cursor++;
	in->name = in->version = in->task = in->data = in->license = in->created_by = empty;
	if (meta->present) {
		uint64_t o = 0;
		if (meta->len < 4)
			return fail(err, errlen, "short META section");
		uint32_t count = get_u32(meta->p);
		o = 4;
		if (count > 64)
			return fail(err, errlen, "too many metadata entries");
		for (uint32_t i = 0; i < count; i++) {
			char *k, *v;
			if (take_str(meta, &o, &k, &cursor) || take_str(meta, &o, &v, &cursor))
				return fail(err, errlen, "bad metadata entry %u", i);
			if (!strcmp(k, "name")) in->name = v;
			else if (!strcmp(k, "version")) in->version = v;
			else if (!strcmp(k, "task")) in->task = v;
			else if (!strcmp(k, "data")) in->data = v;
			else if (!strcmp(k, "license")) in->license = v;
			else if (!strcmp(k, "created_by")) in->created_by = v;
		}
	}
	{
		uint64_t o = 0;
		if (lab->len < 4 || get_u32(lab->p) != nlabels)
			return fail(err, errlen, "LABELS section does not hold %u labels", nlabels);
		o = 4;
		for (uint32_t i = 0; i < nlabels; i++)
			if (take_str(lab, &o, &m->labels[i], &cursor) || !m->labels[i][0])
				return fail(err, errlen, "bad label %u", i);
	}
	if (floats(&sec[HAVEN__TAG_THRESHOLDS], nlabels, &m->thresholds))
		return fail(err, errlen, "missing or mis-sized THRESHOLDS section");
	for (uint32_t i = 0; i < nlabels; i++)
		if (!isfinite(m->thresholds[i]) || m->thresholds[i] < 0)
			return fail(err, errlen, "bad threshold for label %u", i);
	if (in->text.use_idf && floats(&sec[HAVEN__TAG_IDF], in->buckets, &m->idf))
		return fail(err, errlen, "missing or mis-sized IDF section");
	if (kind & HAVEN_MODEL_LINEAR) {
		if (floats(&sec[HAVEN__TAG_LINEAR_W], (uint64_t)in->buckets * nlabels, &m->lw) ||
		    floats(&sec[HAVEN__TAG_LINEAR_B], nlabels, &m->lb))
			return fail(err, errlen, "missing or mis-sized linear weights");
	}
	if (kind & HAVEN_MODEL_EMBEDDING_BAG) {
		if (floats(&sec[HAVEN__TAG_BAG_EMB], (uint64_t)in->buckets * in->dim, &m->emb) ||
		    floats(&sec[HAVEN__TAG_BAG_OUT], (uint64_t)nlabels * in->dim, &m->out) ||
		    floats(&sec[HAVEN__TAG_BAG_B], nlabels, &m->ob))
			return fail(err, errlen, "missing or mis-sized embedding-bag weights");
	}
	return 0;
}

static int check_header(const unsigned char *b, size_t len, unsigned flags, char *err,
			size_t errlen)
{
	if (len < HAVEN__MODEL_HEADER)
		return fail(err, errlen, "file too short (%zu bytes) to be a model", len);
	if (memcmp(b, HAVEN__MODEL_MAGIC, 8))
		return fail(err, errlen, "not a Haven model file (bad magic)");
	uint32_t ver = get_u32(b + 8);
	if (ver != HAVEN__MODEL_VERSION && ver != 1)
		return fail(err, errlen,
			    "unsupported model format version %u (this build reads 1 to %u)", ver,
			    HAVEN__MODEL_VERSION);
	if (get_u32(b + 12) != HAVEN__MODEL_HEADER)
		return fail(err, errlen, "bad header size");
	uint64_t plen = get_u64(b + 16);
	if (plen != len - HAVEN__MODEL_HEADER)
		return fail(err, errlen, "%s: payload is %llu bytes, header says %llu",
			    plen > len - HAVEN__MODEL_HEADER ? "truncated file" : "trailing bytes",
			    (unsigned long long)(len - HAVEN__MODEL_HEADER),
			    (unsigned long long)plen);
	if (!(flags & HAVEN_LOAD_NO_CHECKSUM) &&
	    (ver == 1 ? haven__fnv1a64(b + HAVEN__MODEL_HEADER, plen)
		      : model_sum(b + HAVEN__MODEL_HEADER, plen)) != get_u64(b + 24))
		return fail(err, errlen, "checksum mismatch (file corrupt)");
	return 0;
}

void haven_model_destroy(struct haven_model **mp)
{
	struct haven_model *m = mp ? *mp : NULL;
	if (!m)
		return;
	if (m->map)
		munmap(m->map, m->len);
	free(m->copy);
	free(m->strings);
	free(m->labels);
	free(m);
	*mp = NULL;
}

int haven_model_load_mem(const void *data, size_t n, unsigned flags, struct haven_model **out,
			 char *err, size_t errlen)
{
	int rc;
	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	struct haven_model *m = calloc(1, sizeof(*m));
	if (!m)
		return HAVEN_ENOMEM;
	if ((flags & HAVEN_LOAD_COPY) || ((uintptr_t)data & 15)) {
		m->copy = malloc(n ? n : 1);
		if (!m->copy) {
			rc = HAVEN_ENOMEM;
			goto out;
		}
		if (n)
			memcpy(m->copy, data, n);
		data = m->copy;
	}
	m->bytes = data;
	m->len = n;
	if ((rc = check_header(data, n, flags, err, errlen)))
		goto out;
	if ((rc = parse(m, err, errlen)))
		goto out;
	*out = m;
out:
	if (rc)
		haven_model_destroy(&m);
	return rc;
}

int haven_model_load(const char *path, struct haven_model **out, char *err, size_t errlen)
{
	int rc = 0, fd = -1;
	void *map = NULL;
	size_t len = 0;
	struct haven_model *m = NULL;
	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = haven_err_from_errno(errno);
		if (err)
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = HAVEN_EIO;
		if (err)
			snprintf(err, errlen, "%s is not a regular file", path);
		goto out;
	}
	len = (size_t)st.st_size;
	if (len < HAVEN__MODEL_HEADER) {
		rc = fail(err, errlen, "%s: file too short (%zu bytes) to be a model", path, len);
		goto out;
	}
	/* MAP_POPULATE: the checksum reads every page at once, and one populating call costs
	 * less than a fault per page. */
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		map = NULL;
		rc = haven_err_from_errno(errno);
		if (err)
			snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		rc = HAVEN_ENOMEM;
		goto out;
	}
	m->map = map;
	m->bytes = map;
	m->len = len;
	map = NULL;
	char why[200] = "";
	if ((rc = check_header(m->bytes, len, 0, why, sizeof(why))) ||
	    (rc = parse(m, why, sizeof(why)))) {
		if (err)
			snprintf(err, errlen, "%s: %s", path, why[0] ? why : haven_strerror(rc));
		goto out;
	}
	*out = m;
	m = NULL;
out:
	if (map)
		munmap(map, len);
	haven_model_destroy(&m);
	if (fd >= 0)
		close(fd);
	return rc;
}

int haven_model_save(const struct haven_model *m, const char *path)
{
	int rc = 0;
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return HAVEN_EINVAL;
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return haven_err_from_errno(errno);
	if (fwrite(m->bytes, 1, m->len, f) != m->len)
		rc = HAVEN_EIO;
	if (fclose(f) && !rc)
		rc = HAVEN_EIO;
	if (!rc && rename(tmp, path))
		rc = haven_err_from_errno(errno);
	if (rc)
		unlink(tmp);
	return rc;
}

const struct haven_model_info *haven_model_info(const struct haven_model *m)
{
	return &m->info;
}

const char *haven_model_label(const struct haven_model *m, size_t i)
{
	return i < m->info.nlabels ? m->labels[i] : NULL;
}

long haven_model_label_index(const struct haven_model *m, const char *name)
{
	for (size_t i = 0; i < m->info.nlabels; i++)
		if (!strcmp(m->labels[i], name))
			return (long)i;
	return -1;
}

float haven_model_threshold(const struct haven_model *m, size_t i)
{
	return i < m->info.nlabels ? m->thresholds[i] : 0;
}

/* ---- workspace ---- */

int haven_nlp_ws_create(struct haven_nlp_ws **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return HAVEN_ENOMEM;
	haven_tokens_init(&(*out)->tok);
	haven_features_init(&(*out)->feat);
	return 0;
}

void haven_nlp_ws_destroy(struct haven_nlp_ws **wp)
{
	struct haven_nlp_ws *ws = wp ? *wp : NULL;
	if (!ws)
		return;
	haven_tokens_release(&ws->tok);
	haven_features_release(&ws->feat);
	haven__hashed_release(&ws->hashed);
	free(ws->feature_of);
	free(ws->score);
	free(ws->prob);
	free(ws->score_bag);
	free(ws->prob_bag);
	free(ws->hidden);
	free(ws->grad);
	free(ws->pred);
	free(ws->contrib);
	free(ws->top);
	free(ws);
	*wp = NULL;
}

const struct haven_tokens *haven_nlp_ws_tokens(const struct haven_nlp_ws *ws)
{
	return &ws->tok;
}

int haven__ws_reserve(struct haven_nlp_ws *ws, size_t nlabels, size_t dim)
{
	if (nlabels > ws->cap_labels) {
		float **arrs[] = {&ws->score, &ws->prob, &ws->score_bag, &ws->prob_bag};
		for (size_t i = 0; i < 4; i++) {
			float *p = realloc(*arrs[i], nlabels * sizeof(float));
			if (!p)
				return HAVEN_ENOMEM;
			*arrs[i] = p;
		}
		unsigned char *p = realloc(ws->pred, nlabels);
		if (!p)
			return HAVEN_ENOMEM;
		ws->pred = p;
		ws->cap_labels = nlabels;
	}
	if (dim > ws->cap_dim) {
		float *h = realloc(ws->hidden, dim * sizeof(float));
		if (!h)
			return HAVEN_ENOMEM;
		ws->hidden = h;
		float *g = realloc(ws->grad, dim * sizeof(float));
		if (!g)
			return HAVEN_ENOMEM;
		ws->grad = g;
		ws->cap_dim = dim;
	}
	return 0;
}

/* ---- prediction ---- */

/* The hot loop of prediction: vectorised even in -O2 builds. With nl known at compile
 * time (the switch below) the scores stay in registers; each is still summed in feature
 * order, so the result is the same float as the general loop's. */
static inline __attribute__((always_inline)) void
linear_scores_n(const float *w, size_t stride, const float *b, size_t nl,
		const struct haven_features *f, float *score)
{
	float acc[32];
	HAVEN_ASSERT(nl <= 32);
	for (size_t l = 0; l < nl; l++)
		acc[l] = b[l];
	/* rows are scattered over the table: fetch a few features ahead */
	for (size_t i = 0; i < f->n && i < 8; i++)
		__builtin_prefetch(w + (size_t)f->v[i].index * stride);
	for (size_t i = 0; i < f->n; i++) {
		if (i + 8 < f->n) {
			const float *ahead = w + (size_t)f->v[i + 8].index * stride;
			__builtin_prefetch(ahead);
			if (nl > 16)
				__builtin_prefetch(ahead + 16);
		}
		const float *row = w + (size_t)f->v[i].index * stride;
		float v = f->v[i].value;
		for (size_t l = 0; l < nl; l++)
			acc[l] += v * row[l];
	}
	memcpy(score, acc, nl * sizeof(float));
}

/* gcc only: clang (the fuzz build) has no per-function optimize attribute. */
#if defined(__GNUC__) && !defined(__clang__)
#define HAVEN_HOT_O3 __attribute__((optimize("O3")))
#else
#define HAVEN_HOT_O3
#endif

HAVEN_HOT_O3 void haven__linear_scores(const float *w, const float *b,
							   size_t nl,
							   const struct haven_features *f,
							   float *score)
{
	switch (nl) {
	case 2: linear_scores_n(w, 2, b, 2, f, score); return;
	case 3: linear_scores_n(w, 3, b, 3, f, score); return;
	case 4: linear_scores_n(w, 4, b, 4, f, score); return;
	case 11: linear_scores_n(w, 11, b, 11, f, score); return;
	case 28: linear_scores_n(w, 28, b, 28, f, score); return;
	default: break;
	}
	memcpy(score, b, nl * sizeof(float));
	for (size_t i = 0; i < f->n && i < 8; i++)
		__builtin_prefetch(w + (size_t)f->v[i].index * nl);
	for (size_t i = 0; i < f->n; i++) {
		if (i + 8 < f->n) {
			const float *ahead = w + (size_t)f->v[i + 8].index * nl;
			__builtin_prefetch(ahead);
			if (nl > 16)
				__builtin_prefetch(ahead + 16);
		}
		const float *row = w + (size_t)f->v[i].index * nl;
		float v = f->v[i].value;
		for (size_t l = 0; l < nl; l++)
			score[l] += v * row[l];
	}
}

static float feature_mass(const struct haven_features *f)
{
	float z = 0;
	for (size_t i = 0; i < f->n; i++)
		z += f->v[i].value;
	return z;
}

void haven__bag_scores(const float *emb, const float *out, const float *ob, size_t nl,
		       size_t dim, const struct haven_features *f, float *hidden, float *score)
{
	memset(hidden, 0, dim * sizeof(float));
	float z = feature_mass(f);
	if (z > 0) {
		for (size_t i = 0; i < f->n; i++) {
			const float *e = emb + (size_t)f->v[i].index * dim;
			float v = f->v[i].value / z;
			for (size_t d = 0; d < dim; d++)
				hidden[d] += v * e[d];
		}
	}
	for (size_t l = 0; l < nl; l++) {
		const float *o = out + l * dim;
		float s = ob[l];
		for (size_t d = 0; d < dim; d++)
			s += o[d] * hidden[d];
		score[l] = s;
	}
}

void haven__probs(enum haven_output output, const float *score, size_t nl, float t, float *prob)
{
	if (output == HAVEN_OUTPUT_SIGMOID) {
		for (size_t l = 0; l < nl; l++)
			prob[l] = 1.0f / (1.0f + expf(-score[l] / t));
		return;
	}
	float mx = -INFINITY;
	for (size_t l = 0; l < nl; l++)
		if (score[l] / t > mx)
			mx = score[l] / t;
	double sum = 0;
	for (size_t l = 0; l < nl; l++) {
		prob[l] = expf(score[l] / t - mx);
		sum += prob[l];
	}
	for (size_t l = 0; l < nl; l++)
		prob[l] = (float)(prob[l] / sum);
}

size_t haven__decide(enum haven_output output, int at_least_one, const float *prob,
		     const float *th, size_t nl, unsigned char *pred, size_t *top)
{
	size_t best = 0, npred = 0;
	for (size_t l = 1; l < nl; l++)
		if (prob[l] > prob[best])
			best = l;
	*top = best;
	if (output == HAVEN_OUTPUT_SIGMOID) {
		for (size_t l = 0; l < nl; l++) {
			pred[l] = prob[l] >= th[l];
			npred += pred[l];
		}
		if (!npred && at_least_one) {
			pred[best] = 1;
			npred = 1;
		}
		return npred;
	}
	/* single label: the label with the largest prob / threshold (thresholds act as
	   priors; for two labels with t0 = 1 - t1 this is "p1 >= t1") */
	size_t pick = 0;
	double bestv = -1;
	for (size_t l = 0; l < nl; l++) {
		double v = th[l] > 0 ? prob[l] / th[l] : prob[l] * 1e30;
		if (v > bestv) {
			bestv = v;
			pick = l;
		}
	}
	memset(pred, 0, nl);
	pred[pick] = 1;
	return 1;
}

int haven_model_features(const struct haven_model *m, struct haven_nlp_ws *ws,
			 const char *text, size_t n, int keep_names,
			 const struct haven_features **out)
{
	int rc;
	*out = NULL;
	if ((rc = haven_tokenize(&m->info.text, text, n, &ws->tok)))
		return rc;
	if ((rc = haven_features_extract(&m->info.text, &ws->tok, m->idf, keep_names, &ws->feat)))
		return rc;
	*out = &ws->feat;
	return 0;
}

int haven_model_predict_features(const struct haven_model *m, struct haven_nlp_ws *ws,
				 const struct haven_features *f, struct haven_prediction *p)
{
	const struct haven_model_info *in = &m->info;
	size_t nl = in->nlabels;
	int rc = haven__ws_reserve(ws, nl, in->dim);
	if (rc)
		return rc;
	memset(p, 0, sizeof(*p));
	if (in->kind & HAVEN_MODEL_LINEAR) {
		haven__linear_scores(m->lw, m->lb, nl, f, ws->score);
		haven__probs(in->output, ws->score, nl, in->temperature_linear, ws->prob);
	}
	if (in->kind & HAVEN_MODEL_EMBEDDING_BAG) {
		haven__bag_scores(m->emb, m->out, m->ob, nl, in->dim, f, ws->hidden, ws->score_bag);
		haven__probs(in->output, ws->score_bag, nl, in->temperature_bag, ws->prob_bag);
		if (in->kind == HAVEN_MODEL_EMBEDDING_BAG) {
			memcpy(ws->score, ws->score_bag, nl * sizeof(float));
			memcpy(ws->prob, ws->prob_bag, nl * sizeof(float));
		} else {
			for (size_t l = 0; l < nl; l++)
				ws->prob[l] = in->mix * ws->prob[l] + (1 - in->mix) * ws->prob_bag[l];
		}
	}
	p->nlabels = nl;
	p->score = ws->score;
	p->prob = ws->prob;
	p->predicted = ws->pred;
	p->npredicted = haven__decide(in->output, in->at_least_one, ws->prob, m->thresholds, nl,
				      ws->pred, &p->top);
	return 0;
}

int haven_model_predict(const struct haven_model *m, struct haven_nlp_ws *ws, const char *text,
			size_t n, struct haven_prediction *out)
{
	const struct haven_features *f;
	int rc = haven_model_features(m, ws, text, n, 0, &f);
	if (rc)
		return rc;
	if ((rc = haven_model_predict_features(m, ws, f, out)))
		return rc;
	out->truncated = ws->tok.truncated;
	out->replaced = ws->tok.replaced;
	out->ntokens = ws->tok.n;
	return 0;
}

int haven_model_predict_tokens(const struct haven_model *m, struct haven_nlp_ws *ws,
			       const struct haven_tokens *t, struct haven_prediction *out)
{
	int rc = haven_features_extract(&m->info.text, t, m->idf, 0, &ws->feat);
	if (rc)
		return rc;
	if ((rc = haven_model_predict_features(m, ws, &ws->feat, out)))
		return rc;
	out->truncated = t->truncated;
	out->replaced = t->replaced;
	out->ntokens = t->n;
	return 0;
}

static int by_abs_contribution(const void *a, const void *b)
{
	const struct haven_contribution *x = a, *y = b;
	float ax = fabsf(x->contribution), ay = fabsf(y->contribution);
	if (ax != ay)
		return ax > ay ? -1 : 1;
	return strcmp(x->name, y->name);
}

int haven_model_explain(const struct haven_model *m, struct haven_nlp_ws *ws, const char *text,
			size_t n, size_t label, size_t k, struct haven_explanation *e)
{
	const struct haven_model_info *in = &m->info;
	const struct haven_features *f;
	struct haven_prediction p;
	memset(e, 0, sizeof(*e));
	if (label >= in->nlabels)
		return HAVEN_EINVAL;
	int rc = haven_model_features(m, ws, text, n, 1, &f);
	if (rc)
		return rc;
	if ((rc = haven_model_predict_features(m, ws, f, &p)))
		return rc;
	if (f->n > ws->contrib_cap) {
		struct haven_contribution *c = realloc(ws->contrib, f->n * sizeof(*c));
		if (!c)
			return HAVEN_ENOMEM;
		ws->contrib = c;
		c = realloc(ws->top, f->n * sizeof(*c));
		if (!c)
			return HAVEN_ENOMEM;
		ws->top = c;
		ws->contrib_cap = f->n;
	}
	size_t nl = in->nlabels;
	double score;
	if (in->kind & HAVEN_MODEL_LINEAR) {
		score = m->lb[label];
		e->bias = m->lb[label];
		for (size_t i = 0; i < f->n; i++) {
			struct haven_contribution *c = &ws->contrib[i];
			c->name = f->v[i].name;
			c->value = f->v[i].value;
			c->weight = m->lw[(size_t)f->v[i].index * nl + label];
			c->contribution = c->value * c->weight;
			score += c->contribution;
		}
	} else {
		float z = feature_mass(f);
		const float *o = m->out + label * in->dim;
		score = m->ob[label];
		e->bias = m->ob[label];
		for (size_t i = 0; i < f->n; i++) {
			struct haven_contribution *c = &ws->contrib[i];
			const float *em = m->emb + (size_t)f->v[i].index * in->dim;
			double dot = 0;
			for (size_t d = 0; d < in->dim; d++)
				dot += (double)o[d] * em[d];
			c->name = f->v[i].name;
			c->value = f->v[i].value;
			c->weight = z > 0 ? (float)(dot / z) : 0;
			c->contribution = c->value * c->weight;
			score += c->contribution;
		}
	}
	memcpy(ws->top, ws->contrib, f->n * sizeof(*ws->top));
	qsort(ws->top, f->n, sizeof(*ws->top), by_abs_contribution);
	e->label = label;
	e->score = (float)score;
	e->prob = p.prob[label];
	e->nall = f->n;
	e->all = ws->contrib;
	e->n = k < f->n ? k : f->n;
	e->top = ws->top;
	return 0;
}
