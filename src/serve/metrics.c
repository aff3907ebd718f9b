/* metrics.c - the metrics of one continuous query (docs/serve.md): its
 * result, window after window, turned into Prometheus series.
 *
 *   GROUP BY columns      labels (values escaped), one series per group
 *   COUNT                 counter  <ns>_<col>_total: the sum of every window's count
 *   SUM of unsigned or    counter  <ns>_<col>_total (durations: _seconds_total)
 *     duration values
 *   MIN, MAX, AVG, P50..  gauge    <ns>_<col> (durations: _seconds): the value of the
 *     P99, other SUMs,             last finished window; absent for a group that had
 *     expressions                  no rows in it
 *   HIST, LHIST           histogram <ns>_<col> (_bucket{le}, _sum, _count), cumulative
 *
 * where <ns> is safebpf_<query>. Values are integers, so a bucket [lo, hi)
 * holds the values up to hi-1 and gets le="hi-1" (in seconds for
 * durations, written exactly). The number of series is bounded: when a
 * window leaves more than max_series, the least recently updated series are
 * evicted (and counted).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serveInt.h"

enum mkind {
	M_SKIP,      /* not exported (a string that is not a key) */
	M_LABEL,     /* grouping column */
	M_COUNTER,   /* cumulative sum of window values */
	M_GAUGE,     /* value of the last window */
	M_HIST,      /* cumulative histogram */
};

struct mcol {
	enum mkind kind;             /* how it is exported */
	char name[192];              /* metric name (counters without _total) or label name */
	const char *col;             /* column header (for HELP) */
	bool seconds;                /* durations: exported in seconds */
	/* histogram layout, set by the first row */
	size_t nb;                   /* buckets (0: not known yet) */
	int64_t *le;                 /* upper bound per bucket (hi - 1) */
	bool *inf;                   /* bucket has no upper bound */
};

struct cell {
	uint64_t acc;                /* counter: sum (nanoseconds for durations) */
	enum sbpf_value_kind gk;     /* gauge: kind of the last value (NULL: none) */
	uint64_t gbits;              /* gauge: the value (TIME: wall-clock ns) */
	uint64_t *b;                 /* histogram: count per bucket */
	uint64_t hcount;             /* histogram: values */
	uint64_t hsum;               /* histogram: sum (two's complement) */
	bool nosum;                  /* histogram: some window had no sum */
};

struct series {
	char *labels;                /* a="x",b="y" (escaped), "" without keys */
	uint64_t hash;               /* of labels */
	uint64_t seen;               /* last window with a row of this series */
	struct cell *cells;          /* one per column */
};

struct serve_metrics {
	pthread_mutex_t mu;          /* guards everything below */
	char name[SERVE_MAX_NAME];   /* query name */
	size_t ncols;                /* columns */
	struct mcol *cols;           /* per column */
	struct series **s;           /* series, in creation order */
	size_t ns, scap;             /* used / allocated */
	uint32_t *idx;               /* hash index: series number + 1, 0 empty */
	size_t icap;                 /* power of two */
	uint64_t cur;                /* window whose rows are arriving */
	uint64_t done;               /* windows finished */
	struct serve_health h;       /* counts and plan */
	char *buf;                   /* label rendering scratch */
	size_t bufsz;                /* its size */
};

/* ---- names and numbers ---- */

void serve_sanitize(const char *s, char *out, size_t outsz)
{
	size_t n = 0;
	if (outsz == 0)
		return;
	if (*s >= '0' && *s <= '9' && n + 1 < outsz)
		out[n++] = '_';
	for (; *s && n + 1 < outsz; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!ok) {
			if (n && out[n - 1] == '_')
				continue;
			c = '_';
		}
		out[n++] = c;
	}
	while (n > 1 && out[n - 1] == '_')
		n--;
	if (!n)
		out[n++] = '_';
	out[n] = '\0';
}

/* Length of the valid UTF-8 sequence at @p (at most @n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t k = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!k || k > n || (k == 2 && p[0] < 0xc2))
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	uint32_t c = k == 1 ? p[0] : k == 2 ? p[0] & 0x1f : k == 3 ? p[0] & 0x0f : p[0] & 0x07;
	for (size_t i = 1; i < k; i++)
		c = c << 6 | (p[i] & 0x3f);
	if ((k == 3 && (c < 0x800 || (c >= 0xd800 && c < 0xe000))) || (k == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0; /* overlong, surrogate, beyond Unicode */
	return k;
}

void serve_label_value(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		/* Prometheus takes only UTF-8: a byte that is not part of a valid
		 * sequence becomes U+FFFD. */
		size_t k = utf8_len((const unsigned char *)s + i, len - i);
		if (k > 1) {
			fwrite(s + i, 1, k, f);
			i += k - 1;
			continue;
		}
		if (!k)
			fputs("\xef\xbf\xbd", f);
		else if (s[i] == '\\')
			fputs("\\\\", f);
		else if (s[i] == '"')
			fputs("\\\"", f);
		else if (s[i] == '\n')
			fputs("\\n", f);
		else
			fputc(s[i], f);
	}
	fputc('"', f);
}

void serve_fmt_seconds(int64_t ns, char *buf, size_t sz)
{
	uint64_t a = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
	int n = snprintf(buf, sz, "%s%" PRIu64, ns < 0 ? "-" : "", a / 1000000000u);
	uint64_t frac = a % 1000000000u;
	if (frac && n > 0 && (size_t)n < sz) {
		char f[16];
		snprintf(f, sizeof(f), "%09" PRIu64, frac);
		size_t k = strlen(f);
		while (k && f[k - 1] == '0')
			f[--k] = '\0';
		snprintf(buf + n, sz - (size_t)n, ".%s", f);
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* ---- setup ---- */

struct serve_metrics *serve_metrics_new(const char *name, const struct sbpf_query *q, size_t max_series,
					char *err, size_t errsz)
{
	if (!sbpf_query__aggregate(q)) {
		snprintf(err, errsz, "query '%s' has no aggregate: serve exports GROUP BY results "
			 "(e.g. SELECT comm, COUNT(*) AS calls FROM system_calls GROUP BY comm)", name);
		errno = EINVAL;
		return NULL;
	}
	struct serve_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->h.max_series = max_series;
	m->ncols = sbpf_query__ncols(q);
	if (!(m->cols = calloc(m->ncols ? m->ncols : 1, sizeof(*m->cols)))) {
		serve_metrics_free(m);
		return NULL;
	}
	size_t nmetrics = 0;
	for (size_t i = 0; i < m->ncols; i++) {
		struct mcol *c = &m->cols[i];
		struct sbpf_col_info ci = { .sz = sizeof(ci) };
		sbpf_query__col_info(q, i, &ci);
		char base[128];
		serve_sanitize(ci.name, base, sizeof(base));
		c->col = ci.name;
		c->seconds = ci.kind == SBPF_VALUE_DURATION ||
			     (ci.kind == SBPF_VALUE_HIST && ci.arg_kind == SBPF_VALUE_DURATION);
		switch (ci.role) {
		case SBPF_COL_KEY:
			c->kind = M_LABEL;
			if (!strcmp(base, "le") || !strcmp(base, "quantile") || !strncmp(base, "__", 2))
				snprintf(c->name, sizeof(c->name), "%s_", base); /* reserved label names */
			else
				snprintf(c->name, sizeof(c->name), "%s", base);
			continue;
		case SBPF_COL_COUNT:
			c->kind = M_COUNTER;
			break;
		case SBPF_COL_SUM:
			c->kind = ci.unsigned_arg || ci.kind == SBPF_VALUE_DURATION ? M_COUNTER : M_GAUGE;
			break;
		case SBPF_COL_HIST:
		case SBPF_COL_LHIST:
			c->kind = M_HIST;
			break;
		default:
			c->kind = ci.kind == SBPF_VALUE_STR || ci.kind == SBPF_VALUE_NULL ? M_SKIP : M_GAUGE;
			break;
		}
		if (c->kind == M_SKIP)
			continue;
		nmetrics++;
		if (ends_with(base, "_total") && c->kind == M_COUNTER)
			base[strlen(base) - 6] = '\0';
		snprintf(c->name, sizeof(c->name), "safebpf_%s_%s%s", name, base,
			 c->seconds && !ends_with(base, "_seconds") ? "_seconds" : "");
	}
	if (!nmetrics) {
		snprintf(err, errsz, "query '%s' has no numeric aggregate to export", name);
		serve_metrics_free(m);
		errno = EINVAL;
		return NULL;
	}
	return m;
}

static void free_series(struct serve_metrics *m, struct series *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->cells && i < m->ncols; i++)
		free(s->cells[i].b);
	free(s->cells);
	free(s->labels);
	free(s);
}

void serve_metrics_free(struct serve_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ns; i++)
		free_series(m, m->s[i]);
	for (size_t i = 0; m->cols && i < m->ncols; i++) {
		free(m->cols[i].le);
		free(m->cols[i].inf);
	}
	free(m->cols);
	free(m->s);
	free(m->idx);
	free(m->buf);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* ---- series table ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static int reindex(struct serve_metrics *m, size_t cap)
{
	uint32_t *idx = calloc(cap, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < m->ns; i++)
		for (size_t j = m->s[i]->hash & (cap - 1);; j = (j + 1) & (cap - 1))
			if (!idx[j]) {
				idx[j] = (uint32_t)(i + 1);
				break;
			}
	free(m->idx);
	m->idx = idx;
	m->icap = cap;
	return 0;
}

/* The series with @labels, created when new. NULL when out of memory. */
static struct series *find_series(struct serve_metrics *m, const char *labels)
{
	uint64_t h = hash_str(labels);
	if (m->icap)
		for (size_t j = h & (m->icap - 1); m->idx[j]; j = (j + 1) & (m->icap - 1)) {
			struct series *s = m->s[m->idx[j] - 1];
			if (s->hash == h && !strcmp(s->labels, labels))
				return s;
		}
	if ((m->ns + 1) * 2 > m->icap && reindex(m, m->icap ? m->icap * 2 : 64))
		return NULL;
	if (m->ns == m->scap) {
		size_t ncap = m->scap ? m->scap * 2 : 64;
		struct series **ns = realloc(m->s, ncap * sizeof(*ns));
		if (!ns)
			return NULL;
		m->s = ns;
		m->scap = ncap;
	}
	struct series *s = calloc(1, sizeof(*s));
	if (!s || !(s->labels = strdup(labels)) || !(s->cells = calloc(m->ncols ? m->ncols : 1, sizeof(*s->cells)))) {
		free_series(m, s);
		return NULL;
	}
	s->hash = h;
	m->s[m->ns++] = s;
	for (size_t j = h & (m->icap - 1);; j = (j + 1) & (m->icap - 1))
		if (!m->idx[j]) {
			m->idx[j] = (uint32_t)m->ns;
			break;
		}
	return s;
}

/* Label text of a key value. */
static void key_text(FILE *f, const struct sbpf_value *v, int64_t wall_offset)
{
	char b[64];
	switch (v->kind) {
	case SBPF_VALUE_STR:
		serve_label_value(f, v->str.ptr, v->str.len);
		return;
	case SBPF_VALUE_U64: snprintf(b, sizeof(b), "%" PRIu64, v->u64); break;
	case SBPF_VALUE_BOOL: snprintf(b, sizeof(b), "%s", v->u64 ? "true" : "false"); break;
	case SBPF_VALUE_DURATION: serve_fmt_seconds(v->s64, b, sizeof(b)); break;
	case SBPF_VALUE_TIME: snprintf(b, sizeof(b), "%" PRId64, v->s64 + wall_offset); break;
	case SBPF_VALUE_S64: snprintf(b, sizeof(b), "%" PRId64, v->s64); break;
	default: b[0] = '\0'; break;
	}
	serve_label_value(f, b, strlen(b));
}

/* Learns the bucket layout of histogram column @c from @h. */
static int learn_layout(struct mcol *c, const struct sbpf_hist *h)
{
	if (c->nb || !h->nbuckets)
		return 0;
	if (!(c->le = calloc(h->nbuckets, sizeof(*c->le))) || !(c->inf = calloc(h->nbuckets, sizeof(*c->inf))))
		return -ENOMEM;
	for (size_t i = 0; i < h->nbuckets; i++) {
		c->le[i] = h->buckets[i].hi - 1;
		c->inf[i] = h->buckets[i].hi_open;
	}
	c->nb = h->nbuckets;
	return 0;
}

int serve_metrics_row(struct serve_metrics *m, const struct sbpf_row *row)
{
	pthread_mutex_lock(&m->mu);
	int rc = 0;
	free(m->buf); /* open_memstream makes a new buffer */
	m->buf = NULL;
	FILE *f = open_memstream(&m->buf, &m->bufsz);
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	bool first = true;
	for (size_t i = 0; i < m->ncols && i < row->ncols; i++) {
		if (m->cols[i].kind != M_LABEL)
			continue;
		fprintf(f, "%s%s=", first ? "" : ",", m->cols[i].name);
		key_text(f, &row->vals[i], row->wall_offset_ns);
		first = false;
	}
	if (fclose(f)) {
		rc = -ENOMEM;
		goto out;
	}
	struct series *s = find_series(m, m->buf);
	if (!s) {
		rc = -ENOMEM;
		goto out;
	}
	s->seen = m->cur;
	for (size_t i = 0; i < m->ncols && i < row->ncols; i++) {
		struct mcol *c = &m->cols[i];
		struct cell *cl = &s->cells[i];
		const struct sbpf_value *v = &row->vals[i];
		switch (c->kind) {
		case M_COUNTER:
			if (v->kind != SBPF_VALUE_NULL)
				cl->acc += v->u64; /* S64/U64/DURATION share the bits; wraps like the language */
			break;
		case M_GAUGE:
			cl->gk = v->kind;
			cl->gbits = v->kind == SBPF_VALUE_TIME ? (uint64_t)(v->s64 + row->wall_offset_ns) : v->u64;
			break;
		case M_HIST: {
			if (v->kind != SBPF_VALUE_HIST)
				break;
			const struct sbpf_hist *h = v->hist;
			if ((rc = learn_layout(c, h)))
				goto out;
			if (h->nbuckets && h->nbuckets != c->nb)
				break; /* cannot happen: one layout per column */
			if (!cl->b && c->nb && !(cl->b = calloc(c->nb, sizeof(*cl->b)))) {
				rc = -ENOMEM;
				goto out;
			}
			for (size_t k = 0; k < h->nbuckets; k++)
				cl->b[k] += h->buckets[k].count;
			cl->hcount += h->count;
			cl->hsum += (uint64_t)h->sum;
			cl->nosum |= !h->has_sum;
			break;
		}
		default:
			break;
		}
	}
out:
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int by_seen_desc(const void *a, const void *b)
{
	const struct series *x = *(struct series *const *)a, *y = *(struct series *const *)b;
	return (x->seen < y->seen) - (x->seen > y->seen);
}

void serve_metrics_window(struct serve_metrics *m, const struct sbpf_window *w)
{
	pthread_mutex_lock(&m->mu);
	m->h.events += w->events;
	m->h.lost += w->lost;
	m->h.evicted += w->evicted;
	m->h.windows++;
	uint64_t len = w->end_ns > w->start_ns ? w->end_ns - w->start_ns : 0;
	m->h.events_per_sec = len ? (double)w->events * 1e9 / (double)len : 0;
	m->done = m->cur + 1; /* gauges show the window just finished */
	m->cur++;
	if (m->ns > m->h.max_series) {
		/* Keep the most recently updated series (stable: creation order on ties). */
		size_t keep = m->h.max_series;
		struct series **tmp = malloc(m->ns * sizeof(*tmp));
		if (tmp) {
			memcpy(tmp, m->s, m->ns * sizeof(*tmp));
			qsort(tmp, m->ns, sizeof(*tmp), by_seen_desc);
			uint64_t cut = tmp[keep - 1]->seen;
			size_t k = 0, kept_at_cut = 0, need_at_cut = 0;
			for (size_t i = 0; i < keep; i++)
				need_at_cut += tmp[i]->seen == cut;
			for (size_t i = 0; i < m->ns; i++) {
				struct series *s = m->s[i];
				bool stay = s->seen > cut || (s->seen == cut && kept_at_cut++ < need_at_cut);
				if (stay) {
					m->s[k++] = s;
				} else {
					free_series(m, s);
					m->h.series_evicted++;
				}
			}
			m->ns = k;
			free(tmp);
			reindex(m, m->icap);
		}
	}
	m->h.series = m->ns;
	pthread_mutex_unlock(&m->mu);
}

void serve_metrics_set_plan(struct serve_metrics *m, const struct sbpf_query_plan_info *pi, bool up)
{
	pthread_mutex_lock(&m->mu);
	m->h.up = up;
	if (pi && pi->chosen) {
		m->h.plan = pi->chosen;
		m->h.kernel = pi->kernel;
		snprintf(m->h.placement, sizeof(m->h.placement), "%s", pi->placement ? pi->placement : "");
	}
	pthread_mutex_unlock(&m->mu);
}

void serve_metrics_health(struct serve_metrics *m, struct serve_health *h)
{
	pthread_mutex_lock(&m->mu);
	*h = m->h;
	h->series = m->ns;
	pthread_mutex_unlock(&m->mu);
}

/* ---- rendering ---- */

static void sample_name(FILE *f, const char *name, const char *suffix, const char *labels, const char *extra)
{
	fprintf(f, "%s%s", name, suffix);
	bool l = labels && *labels, e = extra && *extra;
	if (l || e)
		fprintf(f, "{%s%s%s}", l ? labels : "", l && e ? "," : "", e ? extra : "");
	fputc(' ', f);
}

static void help_line(FILE *f, const char *family, const struct serve_metrics *m, const char *col, const char *what)
{
	fprintf(f, "# HELP %s %s of column ", family, what);
	for (const char *p = col; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '"' || (unsigned char)*p >= 0x80)
			fputc('\'', f); /* OpenMetrics HELP text has no raw quotes; keep it ASCII */
		else
			fputc(*p, f);
	}
	fprintf(f, " of query %s\n", m->name);
}

static void gauge_value(FILE *f, const struct cell *c, bool seconds)
{
	char b[64];
	switch (c->gk) {
	case SBPF_VALUE_U64: fprintf(f, "%" PRIu64 "\n", c->gbits); return;
	case SBPF_VALUE_BOOL: fprintf(f, "%d\n", c->gbits != 0); return;
	case SBPF_VALUE_DOUBLE: {
		double d;
		memcpy(&d, &c->gbits, sizeof(d));
		fprintf(f, "%.17g\n", d);
		return;
	}
	case SBPF_VALUE_TIME:
	case SBPF_VALUE_DURATION:
		serve_fmt_seconds((int64_t)c->gbits, b, sizeof(b));
		fprintf(f, "%s\n", b);
		return;
	default:
		if (seconds) {
			serve_fmt_seconds((int64_t)c->gbits, b, sizeof(b));
			fprintf(f, "%s\n", b);
		} else {
			fprintf(f, "%" PRId64 "\n", (int64_t)c->gbits);
		}
		return;
	}
}

static void le_text(const struct mcol *c, size_t k, char *b, size_t sz)
{
	if (c->seconds)
		serve_fmt_seconds(c->le[k], b, sz);
	else
		snprintf(b, sz, "%" PRId64, c->le[k]);
}

void serve_metrics_render(struct serve_metrics *m, FILE *f, enum serve_format fmt)
{
	bool om = fmt == SERVE_OPENMETRICS;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->ncols; i++) {
		const struct mcol *c = &m->cols[i];
		char b[64], extra[96];
		switch (c->kind) {
		case M_COUNTER: {
			char family[208];
			snprintf(family, sizeof(family), "%s%s", c->name, om ? "" : "_total");
			help_line(f, family, m, c->col, "Running total over windows");
			fprintf(f, "# TYPE %s counter\n", family);
			for (size_t s = 0; s < m->ns; s++) {
				sample_name(f, c->name, "_total", m->s[s]->labels, NULL);
				if (c->seconds) {
					serve_fmt_seconds((int64_t)m->s[s]->cells[i].acc, b, sizeof(b));
					fprintf(f, "%s\n", b);
				} else {
					fprintf(f, "%" PRIu64 "\n", m->s[s]->cells[i].acc);
				}
			}
			break;
		}
		case M_GAUGE:
			help_line(f, c->name, m, c->col, "Last window's value");
			fprintf(f, "# TYPE %s gauge\n", c->name);
			for (size_t s = 0; s < m->ns; s++) {
				const struct series *se = m->s[s];
				if (!m->done || se->seen != m->done - 1 || se->cells[i].gk == SBPF_VALUE_NULL)
					continue;
				sample_name(f, c->name, "", se->labels, NULL);
				gauge_value(f, &se->cells[i], c->seconds);
			}
			break;
		case M_HIST:
			help_line(f, c->name, m, c->col, "Histogram");
			fprintf(f, "# TYPE %s histogram\n", c->name);
			for (size_t s = 0; s < m->ns; s++) {
				const struct series *se = m->s[s];
				const struct cell *cl = &se->cells[i];
				/* Buckets from the first to the last ever non-empty one. */
				size_t first = c->nb, last = 0;
				for (size_t k = 0; cl->b && k < c->nb; k++)
					if (cl->b[k] && !c->inf[k]) {
						if (first == c->nb)
							first = k;
						last = k;
					}
				uint64_t cum = 0;
				for (size_t k = 0; cl->b && k < c->nb && first < c->nb; k++) {
					cum += cl->b[k];
					if (k < first || k > last)
						continue;
					le_text(c, k, b, sizeof(b));
					snprintf(extra, sizeof(extra), "le=\"%s\"", b);
					sample_name(f, c->name, "_bucket", se->labels, extra);
					fprintf(f, "%" PRIu64 "\n", cum);
				}
				sample_name(f, c->name, "_bucket", se->labels, "le=\"+Inf\"");
				fprintf(f, "%" PRIu64 "\n", cl->hcount);
				sample_name(f, c->name, "_count", se->labels, NULL);
				fprintf(f, "%" PRIu64 "\n", cl->hcount);
				/* OpenMetrics: a sum is a counter, never negative. */
				if (!cl->nosum && (int64_t)cl->hsum >= 0) {
					sample_name(f, c->name, "_sum", se->labels, NULL);
					if (c->seconds)
						serve_fmt_seconds((int64_t)cl->hsum, b, sizeof(b));
					else
						snprintf(b, sizeof(b), "%" PRId64, (int64_t)cl->hsum);
					fprintf(f, "%s\n", b);
				}
			}
			break;
		default:
			break;
		}
	}
	pthread_mutex_unlock(&m->mu);
}
