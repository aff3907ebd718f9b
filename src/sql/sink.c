/* sink.c - where result rows go: an aligned table for people (histograms
 * drawn as bars), CSV, or JSON lines. Also reports, per window, the events
 * the kernel could not hand over (lost) and those dropped by bounded state
 * (evicted): on the log stream for table and CSV, as a record in JSON.
 *
 * Streaming tables start from widths by type and widen a column when a
 * longer value arrives; finished tables (per window, or at the end) are
 * measured first.
 *
 * Value formats:   table            CSV / JSON
 *   duration       10.071ms         nanoseconds (integer)
 *   time           14:03:22.123456  nanoseconds since boot (integer), or with
 *                                   --time wall RFC 3339 UTC with nanoseconds
 *   NULL           -                empty / null
 *   histogram      bars below row   "lo..hi=count;..." / [{"lo":..,"hi":..,"count":..}]
 * JSON integers of magnitude above 2^53 are strings (rows.c); CSV fields are
 * quoted per RFC 4180. With a row callback (rows.c) rows leave typed instead.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sql/sqlInt.h"

#define BAR_WIDTH 40

struct trow {
	char **cells;               /* formatted cells */
	char *below;                /* histogram blocks printed under the row, or NULL */
};

struct sql_sink {
	const struct sql_query *q;  /* columns and types */
	enum sql_sink_format fmt;   /* output format */
	FILE *out;                  /* results */
	FILE *log;                  /* loss reports (table, CSV), or NULL */
	bool streaming;             /* rows are printed as they come */
	bool flush_rows;            /* flush after each row (not for regular files: the run loop
				       flushes after every poll, a write per batch, not per row) */
	bool windowed;              /* WINDOW clause */
	bool header_done;           /* table/CSV header written */
	int64_t mono_to_real;       /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	uint64_t window_start;      /* wall clock start of the current window */
	int *width;                 /* table column widths */
	struct trow *rows;          /* table rows of the current window */
	size_t nrows, rcap;         /* rows used / allocated */
	struct sql_rows *typed;     /* typed rows to a callback instead of text, or NULL */
	bool wall_time;             /* CSV / JSON: time columns as RFC 3339 */
	struct sql_flame *flame;    /* SVG: the rows of every window, drawn at the end */
	char *folded;               /* folded / SVG: one row's frames */
};

#define FOLDED_MAX (4 * SQL_STACK_STR) /* bytes of one folded line's frames */

static int64_t ns_of(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct sql_sink *sql_sink_new(const struct sql_query *q, enum sql_sink_format fmt, FILE *out, FILE *log)
{
	struct sql_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->q = q;
	s->fmt = fmt;
	s->out = out;
	s->log = log;
	s->streaming = sql_query_streaming(q);
	struct stat st;
	s->flush_rows = s->streaming && !(out && !fstat(fileno(out), &st) && S_ISREG(st.st_mode));
	s->windowed = q->window_ns != 0;
	s->mono_to_real = ns_of(CLOCK_REALTIME) - ns_of(CLOCK_MONOTONIC);
	if (!(s->width = calloc(q->ncols ? q->ncols : 1, sizeof(*s->width))) ||
	    ((fmt == SQL_SINK_FOLDED || fmt == SQL_SINK_SVG) && !(s->folded = malloc(FOLDED_MAX))) ||
	    (fmt == SQL_SINK_SVG && !(s->flame = sql_flame_new()))) {
		free(s->width);
		free(s->folded);
		free(s);
		return NULL;
	}
	return s;
}

int sql_sink_set_rows(struct sql_sink *s, const struct sql_rowcb *cb)
{
	sql_rows_free(s->typed);
	s->typed = cb ? sql_rows_new(s->q, cb) : NULL;
	return cb && !s->typed ? -ENOMEM : 0;
}

void sql_sink_set_wall_time(struct sql_sink *s, bool wall)
{
	s->wall_time = wall;
}

void sql_sink_window_start(struct sql_sink *s, uint64_t start_ns)
{
	s->window_start = start_ns;
}

/* ---- value formatting ---- */

/* Removes trailing zeros of a fixed-point number ("10.070" -> "10.07"). */
static void trim_zeros(char *num)
{
	char *dot = strchr(num, '.');
	if (!dot)
		return;
	char *end = num + strlen(num) - 1;
	while (end > dot && *end == '0')
		*end-- = '\0';
	if (end == dot)
		*end = '\0';
}

void sql_fmt_duration(int64_t ns, char *buf, size_t bufsz)
{
	static const struct {
		uint64_t per;       /* nanoseconds per unit */
		const char *unit;   /* suffix */
	} units[] = { { 1000000000ull, "s" }, { 1000000, "ms" }, { 1000, "us" } };
	uint64_t a = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
	const char *sign = ns < 0 ? "-" : "";
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (a >= units[i].per) {
			char num[48];
			uint64_t whole = a / units[i].per, frac = a % units[i].per;
			/* three decimals, truncated */
			snprintf(num, sizeof(num), "%" PRIu64 ".%03" PRIu64, whole, frac * 1000 / units[i].per);
			trim_zeros(num);
			snprintf(buf, bufsz, "%s%s%s", sign, num, units[i].unit);
			return;
		}
	}
	snprintf(buf, bufsz, "%s%" PRIu64 "ns", sign, a);
}

static void fmt_clock(const struct sql_sink *s, int64_t real_ns, bool micro, char *buf, size_t sz)
{
	time_t sec = (time_t)(real_ns / 1000000000);
	struct tm tm;
	localtime_r(&sec, &tm);
	size_t n = strftime(buf, sz, "%H:%M:%S", &tm);
	if (micro && n < sz)
		snprintf(buf + n, sz - n, ".%06" PRId64, (real_ns % 1000000000) / 1000);
	(void)s;
}

/* A window boundary: "14:03:22", with milliseconds when not a whole second. */
static void fmt_boundary(int64_t real_ns, char *buf, size_t sz)
{
	time_t sec = (time_t)(real_ns / 1000000000);
	struct tm tm;
	localtime_r(&sec, &tm);
	size_t n = strftime(buf, sz, "%H:%M:%S", &tm);
	if (real_ns % 1000000000 && n < sz)
		snprintf(buf + n, sz - n, ".%03" PRId64, (real_ns % 1000000000) / 1000000);
}

static void fmt_iso(uint64_t real_ns, char *buf, size_t sz)
{
	time_t sec = (time_t)(real_ns / 1000000000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n < sz)
		snprintf(buf + n, sz - n, ".%03" PRIu64 "Z", (real_ns % 1000000000) / 1000000);
}

/* Table cell text of @v. */
static void fmt_cell(const struct sql_sink *s, const struct sql_value *v, char *buf, size_t sz)
{
	switch (v->type) {
	case SQL_T_NULL: snprintf(buf, sz, "-"); break;
	case SQL_T_UINT: snprintf(buf, sz, "%" PRIu64, v->u); break;
	case SQL_T_INT: snprintf(buf, sz, "%" PRId64, v->i); break;
	case SQL_T_BOOL: snprintf(buf, sz, "%s", v->i ? "true" : "false"); break;
	case SQL_T_DURATION: sql_fmt_duration(v->i, buf, sz); break;
	case SQL_T_TIME: fmt_clock(s, v->i + s->mono_to_real, true, buf, sz); break;
	case SQL_T_STR: snprintf(buf, sz, "%s", v->s); break;
	}
}

/* CSV / JSON scalar (numbers raw; JSON integers beyond 2^53 as strings;
 * times as RFC 3339 text with --time wall, quoted in JSON). */
static void fmt_raw(const struct sql_sink *s, const struct sql_value *v, bool json, char *buf, size_t sz)
{
	if (v->type == SQL_T_TIME && s->wall_time) {
		char t[48];
		sql_fmt_rfc3339((uint64_t)(v->i + s->mono_to_real), t, sizeof(t));
		snprintf(buf, sz, json ? "\"%s\"" : "%s", t);
		return;
	}
	switch (v->type) {
	case SQL_T_UINT:
		if (json)
			sql_json_u64(v->u, buf, sz);
		else
			snprintf(buf, sz, "%" PRIu64, v->u);
		break;
	case SQL_T_BOOL: snprintf(buf, sz, "%s", v->i ? "true" : "false"); break;
	default:
		if (json)
			sql_json_s64(v->i, buf, sz);
		else
			snprintf(buf, sz, "%" PRId64, v->i);
		break;
	}
}

static bool right_aligned(enum sql_type t)
{
	return t != SQL_T_STR && t != SQL_T_BOOL && t != SQL_T_NULL;
}

static int default_width(enum sql_type t)
{
	switch (t) {
	case SQL_T_INT: return 7;
	case SQL_T_UINT: return 10;
	case SQL_T_TIME: return 15;
	case SQL_T_DURATION: return 10;
	case SQL_T_STR: return 16;
	default: return 5;
	}
}

/* ---- histograms ---- */

/* "1K", "512", "2M": a power of two with a binary suffix. */
static void fmt_pow2(int64_t v, char *buf, size_t sz)
{
	static const char *const suffix[] = { "", "K", "M", "G", "T", "P", "E" };
	int k = 0;
	while (v >= 1024 && v % 1024 == 0 && k < 6) {
		v /= 1024;
		k++;
	}
	snprintf(buf, sz, "%" PRId64 "%s", v, suffix[k]);
}

static void fmt_bound(const struct sql_hist *h, int64_t v, char *buf, size_t sz)
{
	if (h->linear && h->duration)
		sql_fmt_duration(v, buf, sz);
	else if (h->linear)
		snprintf(buf, sz, "%" PRId64, v);
	else
		fmt_pow2(v, buf, sz);
}

/* Label of bucket @i: "[4, 8)", "[1]", "(..., 0)", "[100, ...)". */
static void bucket_label(const struct sql_hist *h, size_t i, char *buf, size_t sz)
{
	int64_t lo, hi;
	char a[32], b[32];
	sql_hist_bounds(h, i, &lo, &hi);
	if (i == 0) {
		fmt_bound(h, hi, b, sizeof(b));
		snprintf(buf, sz, "(..., %s)", b);
	} else if (h->linear && i == h->nbuckets - 1) {
		fmt_bound(h, lo, a, sizeof(a));
		snprintf(buf, sz, "[%s, ...)", a);
	} else if (!h->linear && hi - lo == 1) {
		fmt_bound(h, lo, a, sizeof(a));
		snprintf(buf, sz, "[%s]", a);
	} else {
		fmt_bound(h, lo, a, sizeof(a));
		fmt_bound(h, hi, b, sizeof(b));
		snprintf(buf, sz, "[%s, %s)", a, b);
	}
}

/* First and last non-empty buckets; false when empty. */
static bool hist_range(const struct sql_hist *h, size_t *first, size_t *last)
{
	if (!h || !h->total)
		return false;
	*first = 0;
	while (!h->counts[*first])
		(*first)++;
	*last = h->nbuckets - 1;
	while (!h->counts[*last])
		(*last)--;
	return true;
}

static void draw_hist(FILE *f, const char *name, const struct sql_hist *h)
{
	size_t first, last;
	fprintf(f, "  %s%s:\n", name, h && h->duration && !h->linear ? " (ns)" : "");
	if (!hist_range(h, &first, &last)) {
		fprintf(f, "  (no values)\n");
		return;
	}
	uint64_t max = 0;
	for (size_t i = first; i <= last; i++)
		if (h->counts[i] > max)
			max = h->counts[i];
	for (size_t i = first; i <= last; i++) {
		char label[80], bar[BAR_WIDTH + 1];
		bucket_label(h, i, label, sizeof(label));
		size_t n = (size_t)(h->counts[i] * BAR_WIDTH / max);
		memset(bar, '@', n);
		memset(bar + n, ' ', BAR_WIDTH - n);
		bar[BAR_WIDTH] = '\0';
		fprintf(f, "  %-20s %8" PRIu64 " |%s|\n", label, h->counts[i], bar);
	}
}

static void csv_hist(FILE *f, const struct sql_hist *h)
{
	size_t first, last;
	if (!hist_range(h, &first, &last))
		return;
	bool sep = false;
	for (size_t i = first; i <= last; i++) {
		if (!h->counts[i])
			continue;
		int64_t lo, hi;
		sql_hist_bounds(h, i, &lo, &hi);
		fprintf(f, "%s", sep ? ";" : "");
		if (i != 0)
			fprintf(f, "%" PRId64, lo);
		fputs("..", f);
		if (!(h->linear && i == h->nbuckets - 1))
			fprintf(f, "%" PRId64, hi);
		fprintf(f, "=%" PRIu64, h->counts[i]);
		sep = true;
	}
}

static void json_hist(FILE *f, const struct sql_hist *h)
{
	size_t first, last;
	fputc('[', f);
	if (hist_range(h, &first, &last)) {
		bool sep = false;
		for (size_t i = first; i <= last; i++) {
			if (!h->counts[i])
				continue;
			int64_t lo, hi;
			sql_hist_bounds(h, i, &lo, &hi);
			char num[32];
			fprintf(f, "%s{\"lo\":", sep ? "," : "");
			sql_json_s64(lo, num, sizeof(num));
			fputs(i == 0 ? "null" : num, f);
			fputs(",\"hi\":", f);
			sql_json_s64(hi, num, sizeof(num));
			fputs(h->linear && i == h->nbuckets - 1 ? "null" : num, f);
			sql_json_u64(h->counts[i], num, sizeof(num));
			fprintf(f, ",\"count\":%s}", num);
			sep = true;
		}
	}
	fputc(']', f);
}

/* ---- CSV and JSON ---- */

static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p); /* bytes as code points: always valid JSON */
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void csv_header(struct sql_sink *s)
{
	const struct sql_query *q = s->q;
	if (s->windowed)
		fputs("window,", s->out);
	for (size_t i = 0; i < q->ncols; i++) {
		if (i)
			fputc(',', s->out);
		csv_field(s->out, q->cols[i].name);
	}
	fputc('\n', s->out);
}

static void csv_row(struct sql_sink *s, const struct sql_value *vals, struct sql_hist *const *hists)
{
	const struct sql_query *q = s->q;
	char buf[64];
	if (s->windowed) {
		fmt_iso(s->window_start, buf, sizeof(buf));
		fprintf(s->out, "%s,", buf);
	}
	for (size_t i = 0; i < q->ncols; i++) {
		if (i)
			fputc(',', s->out);
		if (q->cols[i].hist) {
			fputc('"', s->out);
			csv_hist(s->out, hists ? hists[i] : NULL);
			fputc('"', s->out);
		} else if (vals[i].type == SQL_T_STR) {
			csv_field(s->out, vals[i].s);
		} else if (vals[i].type != SQL_T_NULL) {
			fmt_raw(s, &vals[i], false, buf, sizeof(buf));
			fputs(buf, s->out);
		}
	}
	fputc('\n', s->out);
}

static void json_row(struct sql_sink *s, const struct sql_value *vals, struct sql_hist *const *hists)
{
	const struct sql_query *q = s->q;
	char buf[64];
	fputc('{', s->out);
	if (s->windowed) {
		fmt_iso(s->window_start, buf, sizeof(buf));
		fprintf(s->out, "\"window\":\"%s\"%s", buf, q->ncols ? "," : "");
	}
	for (size_t i = 0; i < q->ncols; i++) {
		if (i)
			fputc(',', s->out);
		json_string(s->out, q->cols[i].name);
		fputc(':', s->out);
		if (q->cols[i].hist) {
			json_hist(s->out, hists ? hists[i] : NULL);
		} else if (vals[i].type == SQL_T_STR) {
			json_string(s->out, vals[i].s);
		} else if (vals[i].type == SQL_T_NULL) {
			fputs("null", s->out);
		} else {
			fmt_raw(s, &vals[i], true, buf, sizeof(buf));
			fputs(buf, s->out);
		}
	}
	fputs("}\n", s->out);
}

/* ---- table ---- */

static void table_header(struct sql_sink *s)
{
	const struct sql_query *q = s->q;
	for (size_t i = 0; i < q->ncols; i++) {
		bool last = i + 1 == q->ncols;
		const char *name = q->cols[i].name;
		if (right_aligned(q->cols[i].type))
			fprintf(s->out, "%s%*s", i ? "  " : "", s->width[i], name);
		else
			fprintf(s->out, "%s%-*s", i ? "  " : "", last ? 0 : s->width[i], name);
	}
	fputc('\n', s->out);
}

static void table_line(struct sql_sink *s, char **cells)
{
	const struct sql_query *q = s->q;
	for (size_t i = 0; i < q->ncols; i++) {
		bool last = i + 1 == q->ncols;
		if (right_aligned(q->cols[i].type))
			fprintf(s->out, "%s%*s", i ? "  " : "", s->width[i], cells[i]);
		else
			fprintf(s->out, "%s%-*s", i ? "  " : "", last ? 0 : s->width[i], cells[i]);
	}
	fputc('\n', s->out);
}

static char *render_hists(struct sql_sink *s, struct sql_hist *const *hists)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	if (!f)
		return NULL;
	for (size_t i = 0; i < s->q->ncols; i++)
		if (s->q->cols[i].hist)
			draw_hist(f, s->q->cols[i].name, hists ? hists[i] : NULL);
	fclose(f);
	return buf;
}

static void free_rows(struct sql_sink *s)
{
	for (size_t r = 0; r < s->nrows; r++) {
		for (size_t i = 0; i < s->q->ncols; i++)
			free(s->rows[r].cells[i]);
		free(s->rows[r].cells);
		free(s->rows[r].below);
	}
	s->nrows = 0;
}

static int table_row(struct sql_sink *s, const struct sql_value *vals, struct sql_hist *const *hists)
{
	const struct sql_query *q = s->q;
	char buf[4096];
	if (s->streaming) {
		if (!s->header_done) {
			for (size_t i = 0; i < q->ncols; i++) {
				int w = default_width(q->cols[i].type), n = (int)strlen(q->cols[i].name);
				s->width[i] = n > w ? n : w;
			}
			table_header(s);
			s->header_done = true;
		}
		char *cells[q->ncols ? q->ncols : 1];
		char *store = malloc(q->ncols * 256 + 1);
		if (!store)
			return -ENOMEM;
		for (size_t i = 0; i < q->ncols; i++) {
			cells[i] = store + i * 256;
			fmt_cell(s, &vals[i], cells[i], 256);
			/* A longer value widens its column for the rows that follow. */
			int n = (int)strlen(cells[i]);
			if (n > s->width[i] && i + 1 < q->ncols)
				s->width[i] = n;
		}
		table_line(s, cells);
		free(store);
		return 0;
	}
	if (s->nrows == s->rcap) {
		size_t ncap = s->rcap ? s->rcap * 2 : 64;
		struct trow *nr = realloc(s->rows, ncap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		s->rows = nr;
		s->rcap = ncap;
	}
	struct trow *r = &s->rows[s->nrows];
	r->below = NULL;
	if (!(r->cells = calloc(q->ncols ? q->ncols : 1, sizeof(*r->cells))))
		return -ENOMEM;
	s->nrows++;
	for (size_t i = 0; i < q->ncols; i++) {
		if (q->cols[i].hist)
			snprintf(buf, sizeof(buf), "%s", "");
		else
			fmt_cell(s, &vals[i], buf, sizeof(buf));
		if (!(r->cells[i] = strdup(buf)))
			return -ENOMEM;
	}
	for (size_t i = 0; i < q->ncols; i++)
		if (q->cols[i].hist && !(r->below = render_hists(s, hists)))
			return -ENOMEM;
	return 0;
}

static void table_flush(struct sql_sink *s, const struct sql_window_info *w)
{
	const struct sql_query *q = s->q;
	if (s->windowed) {
		char a[32], b[32];
		fmt_boundary((int64_t)w->start_ns, a, sizeof(a));
		fmt_boundary((int64_t)w->end_ns, b, sizeof(b));
		fprintf(s->out, "[%s - %s] %" PRIu64 " row%s\n", a, b, w->rows, w->rows == 1 ? "" : "s");
	}
	if (s->streaming)
		return;
	for (size_t i = 0; i < q->ncols; i++)
		s->width[i] = (int)strlen(q->cols[i].name);
	for (size_t r = 0; r < s->nrows; r++)
		for (size_t i = 0; i < q->ncols; i++) {
			int n = (int)strlen(s->rows[r].cells[i]);
			if (n > s->width[i])
				s->width[i] = n;
		}
	table_header(s);
	for (size_t r = 0; r < s->nrows; r++) {
		table_line(s, s->rows[r].cells);
		if (s->rows[r].below)
			fputs(s->rows[r].below, s->out);
	}
	if (s->windowed)
		fputc('\n', s->out);
	free_rows(s);
}

/* ---- interface ---- */

int sql_sink_row(struct sql_sink *s, const struct sql_value *vals, struct sql_hist *const *hists)
{
	if (s->typed)
		return sql_rows_emit(s->typed, vals, hists, s->window_start, s->mono_to_real);
	switch (s->fmt) {
	case SQL_SINK_CSV:
		if (!s->header_done) {
			csv_header(s);
			s->header_done = true;
		}
		csv_row(s, vals, hists);
		break;
	case SQL_SINK_JSON:
		json_row(s, vals, hists);
		break;
	case SQL_SINK_TABLE:
		return table_row(s, vals, hists);
	case SQL_SINK_FOLDED:
	case SQL_SINK_SVG: {
		uint64_t n;
		sql_folded_row(s->q, vals, s->folded, FOLDED_MAX, &n);
		if (!n)
			break;
		if (s->fmt == SQL_SINK_SVG)
			return sql_flame_add(s->flame, s->folded, n);
		fprintf(s->out, "%s %" PRIu64 "\n", s->folded[0] ? s->folded : "[none]", n);
		break;
	}
	}
	if (s->flush_rows)
		fflush(s->out);
	return ferror(s->out) ? -EIO : 0;
}

int sql_sink_window(struct sql_sink *s, const struct sql_window_info *w)
{
	char a[40], b[40];
	if (s->typed)
		return sql_rows_window(s->typed, w);
	switch (s->fmt) {
	case SQL_SINK_CSV:
		if (!s->header_done) {
			csv_header(s);
			s->header_done = true;
		}
		break;
	case SQL_SINK_JSON:
		fmt_iso(w->start_ns, a, sizeof(a));
		fmt_iso(w->end_ns, b, sizeof(b));
		fprintf(s->out,
			"{\"window\":{\"start\":\"%s\",\"end\":\"%s\",\"rows\":%" PRIu64 ",\"events\":%" PRIu64
			",\"lost\":%" PRIu64 ",\"evicted\":%" PRIu64, a, b, w->rows, w->events, w->lost, w->evicted);
		if (w->acct)
			fprintf(s->out,
				",\"fired\":%" PRIu64 ",\"counted\":%" PRIu64 ",\"filtered\":%" PRIu64
				",\"rows_lost\":%" PRIu64 ",\"rows_evicted\":%" PRIu64 ",\"unpaired\":%" PRIu64 "%s",
				w->fired, w->counted, w->filtered, w->rowlost, w->rowevicted, w->unpaired,
				w->late ? ",\"late\":true" : "");
		if (w->acct)
			fprintf(s->out, ",\"group_map_full\":%" PRIu64, w->groupfull);
		if (w->last && w->acct)
			fprintf(s->out, ",\"total_group_map_full\":%" PRIu64, w->total_groupfull);
		fprintf(s->out, "%s}}\n", w->last ? ",\"last\":true" : "");
		break;
	case SQL_SINK_TABLE:
		if (s->streaming && !s->header_done && w->last) {
			for (size_t i = 0; i < s->q->ncols; i++) {
				int dw = default_width(s->q->cols[i].type), n = (int)strlen(s->q->cols[i].name);
				s->width[i] = n > dw ? n : dw;
			}
			table_header(s);
			s->header_done = true;
		}
		table_flush(s, w);
		break;
	case SQL_SINK_FOLDED:
		break;
	case SQL_SINK_SVG:
		if (w->last)
			sql_flame_write_svg(s->flame, s->out, s->q->text);
		break;
	}
	fflush(s->out);
	if (s->log && s->fmt != SQL_SINK_JSON) {
		/* Every window says what it lost, even when nothing: losses are
		 * never silent, and a steady "0 lost" is itself information. */
		if (s->windowed) {
			/* a window wider or narrower than asked (a slow cut, the
			 * run's first and last windows) says where it ended and
			 * how wide it was */
			uint64_t width = w->end_ns > w->start_ns ? w->end_ns - w->start_ns : 0;
			if (w->window_ns && (width > w->window_ns + w->window_ns / 100 ||
					     width + w->window_ns / 100 < w->window_ns)) {
				fmt_boundary((int64_t)w->start_ns, a, sizeof(a));
				fmt_boundary((int64_t)w->end_ns, b, sizeof(b));
				fprintf(s->log, "safebpf: window %s to %s (%" PRIu64 ".%03" PRIu64 " s wide)", a, b,
					width / 1000000000u, width / 1000000u % 1000u);
			} else {
				fmt_clock(s, (int64_t)w->start_ns, false, a, sizeof(a));
				fprintf(s->log, "safebpf: window %s", a);
			}
			fprintf(s->log, ": %" PRIu64 " events, %" PRIu64 " lost (%s), %" PRIu64 " evicted (bounded state full)",
				w->events, w->lost,
				w->groupfull ? "group map full, buffer full, or probe skipped"
					     : "buffer or map full, or probe skipped", w->evicted);
			if (w->acct)
				fprintf(s->log, "; %" PRIu64 " fired = %" PRIu64 " counted + %" PRIu64 " filtered + %" PRIu64
					" lost + %" PRIu64 " evicted + %" PRIu64 " unpaired",
					w->fired, w->counted, w->filtered, w->rowlost, w->rowevicted, w->unpaired);
			if (w->groupfull)
				fprintf(s->log, "; of the lost, %" PRIu64 " group map full", w->groupfull);
			if (w->late)
				fputs(" (the kernel's records could not all be read in time: some rows of this "
				      "window are counted in the next)", s->log);
			fputc('\n', s->log);
		} else if (w->groupfull) {
			fprintf(s->log, "safebpf: %" PRIu64 " events lost (group map full, buffer full, or probe "
				"skipped), %" PRIu64 " evicted (bounded state full)\n", w->lost, w->evicted);
		} else if (w->lost || w->evicted) {
			fprintf(s->log, "safebpf: %" PRIu64 " events lost (buffer or map full, or probe skipped), %" PRIu64
				" evicted (bounded state full)\n", w->lost, w->evicted);
		}
		if (w->last) {
			fprintf(s->log, "safebpf: %" PRIu64 " events, %" PRIu64 " lost, %" PRIu64 " evicted",
				w->total_events, w->total_lost, w->total_evicted);
			if (w->acct)
				fprintf(s->log, "; %" PRIu64 " fired = %" PRIu64 " counted + %" PRIu64 " filtered + %" PRIu64
					" lost + %" PRIu64 " evicted + %" PRIu64 " unpaired",
					w->total_fired, w->total_counted, w->total_filtered, w->total_rowlost,
					w->total_rowevicted, w->total_unpaired);
			if (w->total_groupfull)
				fprintf(s->log, "; of the lost, %" PRIu64 " group map full", w->total_groupfull);
			fputc('\n', s->log);
		}
		fflush(s->log);
	}
	return ferror(s->out) ? -EIO : 0;
}

void sql_sink_free(struct sql_sink *s)
{
	if (!s)
		return;
	free_rows(s);
	free(s->rows);
	free(s->width);
	sql_rows_free(s->typed);
	sql_flame_free(s->flame);
	free(s->folded);
	free(s);
}
