/* test_sql_merge.c - the JOIN reorder buffer (merge.c): rows come out in
 * (ts, arrival) order, only those below the watermark, the others stay
 * (strings intact) for a later release; a stop from the callback ends it.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "sql/sqlInt.h"

struct got {
	uint64_t ts[16];   /* ts of the rows released, in order */
	char name[16][16]; /* their string column */
	int n;             /* rows released */
	int stop_at;       /* stop after this many (0: never) */
};

static int collect(void *ctx, const struct sql_value *row)
{
	struct got *g = ctx;
	g->ts[g->n] = row[0].u;
	snprintf(g->name[g->n], sizeof(g->name[0]), "%s", row[1].type == SQL_T_STR ? row[1].s : "");
	g->n++;
	return g->stop_at && g->n == g->stop_at;
}

static void put(struct sql_merge *m, uint64_t ts, const char *name)
{
	struct sql_value row[3] = {
		{ .type = SQL_T_TIME, .u = ts },
		{ .type = SQL_T_STR, .s = name },
		{ .type = SQL_T_NULL },
	};
	cr_assert_eq(sql_merge_put(m, row), 0);
}

Test(sql_merge, releases_in_time_order_below_the_watermark)
{
	struct sql_merge *m = sql_merge_new(3, 0);
	cr_assert_not_null(m);
	put(m, 30, "c");
	put(m, 10, "a");
	put(m, 50, "e");
	put(m, 20, "b1");
	put(m, 20, "b2"); /* same time: arrival order */
	struct got g = { 0 };
	cr_assert_eq(sql_merge_release(m, 31, collect, &g), 0);
	cr_assert_eq(g.n, 4);
	uint64_t want[] = { 10, 20, 20, 30 };
	const char *names[] = { "a", "b1", "b2", "c" };
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(g.ts[i], want[i]);
		cr_assert_str_eq(g.name[i], names[i]);
	}
	cr_assert_eq(sql_merge_count(m), 1);
	put(m, 40, "d"); /* earlier than the row still held */
	g.n = 0;
	cr_assert_eq(sql_merge_release(m, UINT64_MAX, collect, &g), 0);
	cr_assert_eq(g.n, 2);
	cr_assert_eq(g.ts[0], 40);
	cr_assert_str_eq(g.name[0], "d");
	cr_assert_eq(g.ts[1], 50);
	cr_assert_str_eq(g.name[1], "e");
	cr_assert_eq(sql_merge_count(m), 0);
	sql_merge_free(m);
}

Test(sql_merge, a_stop_ends_the_release)
{
	struct sql_merge *m = sql_merge_new(3, 0);
	for (uint64_t t = 5; t > 0; t--)
		put(m, t, "x");
	struct got g = { .stop_at = 2 };
	cr_assert_eq(sql_merge_release(m, UINT64_MAX, collect, &g), 1);
	cr_assert_eq(g.n, 2);
	cr_assert_eq(g.ts[0], 1);
	cr_assert_eq(g.ts[1], 2);
	sql_merge_free(m);
}

Test(sql_merge, many_rows_keep_their_bytes)
{
	struct sql_merge *m = sql_merge_new(3, 0);
	char names[200][16];
	for (int i = 0; i < 200; i++) {
		snprintf(names[i], sizeof(names[i]), "n%d", i);
		put(m, (uint64_t)((i * 7919) % 200), names[i]); /* a permutation of 0..199 */
	}
	/* Release half, then the rest: each row keeps its own string. */
	struct got g = { 0 };
	for (uint64_t w = 0; w < 200; w += 8) {
		g.n = 0;
		cr_assert_eq(sql_merge_release(m, w + 8, collect, &g), 0);
		cr_assert_eq(g.n, 8);
		for (int k = 0; k < 8; k++) {
			uint64_t ts = w + (uint64_t)k;
			cr_assert_eq(g.ts[k], ts);
			int i = 0;
			while ((uint64_t)((i * 7919) % 200) != ts)
				i++;
			cr_assert_str_eq(g.name[k], names[i]);
		}
	}
	cr_assert_eq(sql_merge_count(m), 0);
	sql_merge_free(m);
}
