/* fuzz_sql.c - libFuzzer target for the SQL front end and executor: any
 * text either compiles or yields exactly one diagnostic located inside the
 * text; whatever compiles explains without error and runs through the
 * executor (every operator, every sink format, typed rows to a callback
 * whose values must be consistent) on synthetic rows of its tables, without
 * crashing, leaking or undefined behaviour. Deeply nested
 * input either compiles or is refused with "nested too deeply" (seeds
 * deep-*.sql sit at and beyond the limit).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/sql.h"
#include "sql/sqlInt.h"

#define CHECK(cond, ...)                                                            \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "fuzz_sql: property violated: " __VA_ARGS__); \
			fputc('\n', stderr);                                        \
			abort();                                                    \
		}                                                                   \
	} while (0)

static const char *const strings[] = { "", "a", "bash", "fuzz%", "/etc/passwd", "x_y", "it's", "\"q\"" };

/* Row @k of table @t: values derived from @seed, some NULL. */
static void make_row(const struct sql_table *t, uint64_t seed, struct sql_value *row)
{
	for (size_t c = 0; c < t->ncols; c++) {
		uint64_t x = (seed + c) * 0x9e3779b97f4a7c15ull;
		x ^= x >> 29;
		struct sql_value *v = &row[c];
		v->type = (x & 15) == 0 ? SQL_T_NULL : t->cols[c].type;
		switch (v->type) {
		case SQL_T_STR:
			v->s = strings[(x >> 8) % (sizeof(strings) / sizeof(strings[0]))];
			break;
		case SQL_T_BOOL:
			v->i = (int64_t)((x >> 8) & 1);
			break;
		case SQL_T_NULL:
			break;
		default:
			/* small values often (groups and joins meet), extremes sometimes */
			v->i = (x & 48) == 48 ? (int64_t)x : (int64_t)((x >> 8) % 5) - 1;
			break;
		}
	}
}

/* Typed rows (rows.c): strings carry their length, histogram buckets add
 * up to the count and are ordered. */
static int typed_row(void *ctx, const struct sbpf_row *row)
{
	const struct sql_query *q = ctx;
	CHECK(row->ncols == q->ncols, "typed row of %zu columns", row->ncols);
	for (size_t i = 0; i < row->ncols; i++) {
		const struct sbpf_value *v = &row->vals[i];
		if (v->kind == SBPF_VALUE_STR)
			CHECK(strlen(v->str.ptr) == v->str.len, "string length");
		if (v->kind != SBPF_VALUE_HIST)
			continue;
		uint64_t sum = 0;
		for (size_t b = 0; b < v->hist->nbuckets; b++) {
			sum += v->hist->buckets[b].count;
			CHECK(b == 0 || v->hist->buckets[b].lo_open || v->hist->buckets[b - 1].hi_open ||
				      v->hist->buckets[b].lo == v->hist->buckets[b - 1].hi, "buckets not contiguous");
		}
		CHECK(sum == v->hist->count, "bucket counts add to %llu, count %llu", (unsigned long long)sum,
		      (unsigned long long)v->hist->count);
	}
	return 0;
}

/* Inputs refused for their nesting (read by a debugger or a custom main;
 * keeps the branch observable in coverage). */
static volatile unsigned long nested_too_deep;

static void run_executor(const char *text, enum sql_sink_format fmt, uint64_t seed)
{
	struct sql_arena a = { 0 };
	struct sbpf_diags d = { 0 };
	struct sql_stmt *st;
	struct sql_query q;
	int rc = sql_parse(text, "<fuzz>", &a, &st, &d);
	if (!rc)
		rc = sql_bind(st, text, "<fuzz>", &a, &q, &d);
	CHECK(rc == 0, "compiled once, refused the second time");
	FILE *out = fopen("/dev/null", "w");
	CHECK(out, "cannot open /dev/null");
	struct sql_sink *sink = sql_sink_new(&q, fmt, out, out);
	struct sql_rowcb cb = { .row = typed_row, .ctx = &q };
	if (sink && (seed & 4))
		CHECK(sql_sink_set_rows(sink, &cb) == 0, "typed rows");
	if (sink)
		sql_sink_set_wall_time(sink, seed & 8);
	struct sql_exec *x = sink ? sql_exec_new(&q, sink) : NULL;
	if (x) {
		struct sql_value row[64];
		for (int w = 0; w < 3; w++) {
			for (int k = 0; k < 12; k++) {
				int side = k % q.ntables;
				memset(row, 0, sizeof(row));
				if (q.tables[side]->ncols <= 64) {
					make_row(q.tables[side], seed + (uint64_t)(w * 16 + k), row);
					CHECK(sql_exec_row(x, side, row) >= 0, "row failed");
				}
			}
			struct sql_window_info wi = { .start_ns = (uint64_t)w * 1000000000ull, .end_ns = (uint64_t)(w + 1) * 1000000000ull,
						      .last = w == 2 };
			CHECK(sql_exec_window(x, &wi) == 0, "window failed");
		}
	}
	sql_exec_free(x);
	sql_sink_free(sink);
	fclose(out);
	sbpf_diags__free(&d);
	sql_arena_reset(&a);
}

/* Inputs up to 64 KiB: long enough for expressions at and beyond the
 * nesting limit (SQL_MAX_DEPTH: 1,000 "NOT " take 4,000 bytes). */
#define MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct sbpf_diags d = { 0 };
	struct sbpf_query *q = NULL;
	int rc = sbpf_query__compile(text, NULL, &q, &d);
	if (rc) {
		CHECK(rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);
		if (rc == -EINVAL) {
			CHECK(d.n == 1, "%zu diagnostics", d.n);
			CHECK(d.items[0].line >= 1 && d.items[0].col >= 1 && d.items[0].len >= 1, "bad position");
			size_t len = strlen(text);
			CHECK(d.items[0].col <= (int)len + 1, "caret past the text");
			char *msg = sbpf_diags__format(&d);
			CHECK(msg && strstr(msg, "error: "), "unformatted diagnostic");
			if (strstr(d.items[0].message, "nested too deeply"))
				nested_too_deep++;
			free(msg);
		}
	} else {
		CHECK(d.n == 0, "success with diagnostics");
		FILE *out = fopen("/dev/null", "w");
		CHECK(out && sbpf_query__explain(q, out, 0, NULL, 0) == 0, "explain failed");
		fclose(out);
		sbpf_query__free(q);
		uint64_t seed = size ? data[0] : 0;
		run_executor(text, (enum sql_sink_format)(seed % 3), seed);
	}
	sbpf_diags__free(&d);
	free(text);
	return 0;
}
