/* safebpf/row.h - typed result rows: what a query hands to a program that
 * embeds safebpf instead of reading text. A row is an array of struct
 * sbpf_value, one per output column; each value says its kind (unsigned or
 * signed integer, double, condition, duration, time, string with length,
 * histogram with its buckets). Column metadata (name, kind, role: grouping
 * key or which aggregate) lets a consumer decide what a column means, e.g.
 * `safebpf serve` turns keys into labels and aggregates into metrics.
 * Included by safebpf/sql.h; documented in docs/library.md.
 */
#ifndef SAFEBPF_ROW_H
#define SAFEBPF_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sbpf_value_kind {
	SBPF_VALUE_NULL,      /* no value */
	SBPF_VALUE_U64,       /* u64: unsigned integer (ids, sizes, addresses) */
	SBPF_VALUE_S64,       /* s64: signed integer (counts, return values) */
	SBPF_VALUE_DOUBLE,    /* f64: floating point (reserved: the language has no floats yet) */
	SBPF_VALUE_BOOL,      /* u64: 0 or 1 */
	SBPF_VALUE_DURATION,  /* s64: nanoseconds */
	SBPF_VALUE_TIME,      /* s64: nanoseconds since boot (CLOCK_MONOTONIC); see wall_offset_ns */
	SBPF_VALUE_STR,       /* str: bytes and length (also NUL-terminated) */
	SBPF_VALUE_HIST,      /* hist: a histogram (HIST, LHIST columns) */
};

/* One bucket: the values v with lo <= v < hi. The first bucket has no lower
 * bound (lo_open), the last bucket of a linear histogram no upper bound
 * (hi_open); values are integers, so a bucket holds lo..hi-1. */
struct sbpf_hist_bucket {
	int64_t lo;           /* lowest value (meaningless when lo_open) */
	int64_t hi;           /* first value of the next bucket (meaningless when hi_open) */
	bool lo_open;         /* extends to minus infinity */
	bool hi_open;         /* extends to plus infinity */
	uint64_t count;       /* values in this bucket */
};

struct sbpf_hist {
	bool linear;          /* LHIST (linear buckets), else HIST (log2 buckets) */
	bool duration;        /* values are durations in nanoseconds */
	size_t nbuckets;      /* every bucket of the histogram, empty ones included */
	const struct sbpf_hist_bucket *buckets; /* in increasing order */
	uint64_t count;       /* values counted (the sum of the bucket counts) */
	bool has_sum;         /* sum is known (every plan keeps it today; check it all the same) */
	int64_t sum;          /* sum of the values (wraps like the language's arithmetic) */
};

struct sbpf_value {
	enum sbpf_value_kind kind; /* which member is valid */
	union {
		uint64_t u64;         /* U64, BOOL */
		int64_t s64;          /* S64, DURATION, TIME */
		double f64;           /* DOUBLE */
		struct {
			const char *ptr;  /* bytes, NUL-terminated */
			size_t len;       /* length without the NUL */
		} str;                /* STR */
		const struct sbpf_hist *hist; /* HIST */
	};
};

/* One output row, valid only during the callback that receives it. */
struct sbpf_row {
	size_t ncols;                 /* values */
	const struct sbpf_value *vals; /* one per output column */
	uint64_t window_start_ns;     /* wall clock (CLOCK_REALTIME) start of its window; 0 without WINDOW */
	int64_t wall_offset_ns;       /* add to a TIME value to get CLOCK_REALTIME nanoseconds */
};

/* The end of a window (or, with last set, of the run): counts of the events
 * read, lost by the kernel, and evicted by bounded state (docs/sql.md). */
struct sbpf_window {
	uint64_t start_ns, end_ns;    /* wall clock, end exclusive */
	uint64_t rows;                /* rows emitted */
	uint64_t events;              /* events read in the window */
	uint64_t lost;                /* the kernel could not hand over (ring buffer full) */
	uint64_t evicted;             /* dropped by bounded user-space state */
	bool last;                    /* the final report of the run */
};

/* What an output column is. */
enum sbpf_col_role {
	SBPF_COL_VALUE,       /* a column of a query without aggregates */
	SBPF_COL_KEY,         /* aggregate query: a grouping expression */
	SBPF_COL_COUNT,       /* COUNT(*) / COUNT(x) */
	SBPF_COL_SUM,         /* SUM(x) */
	SBPF_COL_MIN,         /* MIN(x) */
	SBPF_COL_MAX,         /* MAX(x) */
	SBPF_COL_AVG,         /* AVG(x) */
	SBPF_COL_QUANTILE,    /* P50..P999(x), PERCENTILE(x, p); ppm says which */
	SBPF_COL_HIST,        /* HIST(x) */
	SBPF_COL_LHIST,       /* LHIST(x, min, max, step) */
	SBPF_COL_EXPR,        /* another expression over aggregates (COUNT(*) * 2) */
	SBPF_COL_COUNT_DISTINCT, /* COUNT(DISTINCT x): not additive across windows */
};

struct sbpf_col_info {
	size_t sz;                    /* sizeof(struct sbpf_col_info) */
	const char *name;             /* header (valid until the query is freed) */
	enum sbpf_value_kind kind;    /* kind of its values (NULL: only NULLs) */
	enum sbpf_col_role role;      /* what it is */
	int permille;                 /* QUANTILE: ppm / 1000, rounded down (kept for older callers) */
	bool unsigned_arg;            /* SUM/MIN/MAX: the argument is unsigned (never negative) */
	enum sbpf_value_kind arg_kind; /* aggregates: kind of the argument (HIST of durations: DURATION) */
	uint32_t ppm;                 /* QUANTILE: parts per million (990000 for P99, 999000 for P999);
					 set only when sz covers it (added after permille) */
};

/* Name of a value kind ("u64", "duration"). */
const char *sbpf_value_kind_name(enum sbpf_value_kind k);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_ROW_H */
