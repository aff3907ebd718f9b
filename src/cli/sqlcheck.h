/* sqlcheck.h - comparing the results of `safebpf sqlcheck` runs
 * (sqlcheck_rows.c): CSV outputs normalised to multisets of rows, windows
 * merged per key, the loss a run reported, and the comparison rule.
 */
#ifndef SAFEBPF_SQLCHECK_H
#define SAFEBPF_SQLCHECK_H

#include <stdbool.h>
#include <stddef.h>

/* How two outputs of one query are compared. */
enum sqlc_cmp {
	SQLC_ROWS,      /* the rows as multisets (the window column dropped) */
	SQLC_MERGE,     /* rows merged per key over windows (ops below), then as multisets */
	SQLC_DISTINCT,  /* the distinct rows (DISTINCT per window: the union is exact) */
	SQLC_COUNT,     /* the number of rows only (LIMIT without ORDER BY keys) */
	SQLC_NONE,      /* not compared: the query must only run */
};

#define SQLC_MAX_COLS 32

struct sqlc_mode {
	enum sqlc_cmp cmp;           /* comparison */
	/* One letter per output column (window column excluded): 'd' drops
	 * the column before anything else (any comparison); for SQLC_MERGE
	 * 'k' key, 's' sum, 'x' maximum, 'n' minimum; columns beyond the
	 * string are keys. Empty: the last column takes @last, the others
	 * are keys. */
	char ops[SQLC_MAX_COLS + 1];
	char last;                   /* op of the last column when @ops is empty */
};

/* Normalised rows of CSV output @csv under @m: header first, then the
 * data rows sorted (merged, deduplicated). Returns a malloc'ed array of
 * malloc'ed strings with the count in *@n, or NULL on allocation failure. */
char **sqlc_rows(const char *csv, const struct sqlc_mode *m, size_t *n);
void sqlc_rows_free(char **v, size_t n);

/* Compares outputs @a and @b under @m. *@only_a / *@only_b: rows of one
 * missing from the other (multiset difference; for SQLC_COUNT the
 * difference in row counts, on the side that has more); *@rows_a: rows of
 * @a. Returns false when the headers differ or memory ran out. */
bool sqlc_compare(const char *a, const char *b, const struct sqlc_mode *m, size_t *only_a, size_t *only_b,
		  size_t *rows_a);

/* Events a run reported lost, from its log (the final summary
 * "safebpf: N events, N lost, N evicted"), or -1 when there is none. */
long long sqlc_lost(const char *log);

#endif /* SAFEBPF_SQLCHECK_H */
