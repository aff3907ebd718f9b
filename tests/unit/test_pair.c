/* test_pair.c - the pairing operator (pair.c): latest-unmatched matching,
 * per-key and global bounds with counted eviction, expiry, and memory that
 * stays within its budget.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sqlInt.h"

static int put_u64(struct sql_pair *p, uint64_t key, uint64_t payload, uint64_t ts)
{
	return sql_pair_put(p, &key, sizeof(key), &payload, sizeof(payload), ts);
}

/* The payload taken for @key, or -1 when there is none. */
static int64_t take_u64(struct sql_pair *p, uint64_t key)
{
	size_t len = 0;
	const void *v = sql_pair_take(p, &key, sizeof(key), &len);
	if (!v)
		return -1;
	cr_assert_eq(len, 8);
	uint64_t out;
	memcpy(&out, v, 8);
	return (int64_t)out;
}

Test(pair, matches_by_key)
{
	struct sql_pair *p = sql_pair_new(NULL);
	cr_assert_not_null(p);
	cr_assert_eq(put_u64(p, 1, 100, 0), 0);
	cr_assert_eq(put_u64(p, 2, 200, 0), 0);
	cr_assert_eq(take_u64(p, 3), -1);
	cr_assert_eq(take_u64(p, 2), 200);
	cr_assert_eq(take_u64(p, 2), -1);
	cr_assert_eq(take_u64(p, 1), 100);
	cr_assert_eq(sql_pair_count(p), 0);
	cr_assert_eq(sql_pair_bytes(p), 0);
	cr_assert_eq(sql_pair_evicted(p), 0);
	sql_pair_free(p);
}

Test(pair, latest_unmatched_left_first)
{
	struct sql_pair *p = sql_pair_new(NULL);
	for (uint64_t i = 0; i < 5; i++)
		put_u64(p, 7, i, i);
	for (int64_t i = 4; i >= 0; i--)
		cr_assert_eq(take_u64(p, 7), i);
	cr_assert_eq(take_u64(p, 7), -1);
	sql_pair_free(p);
}

Test(pair, keys_of_different_lengths_differ)
{
	struct sql_pair *p = sql_pair_new(NULL);
	uint64_t k[2] = { 5, 0 };
	sql_pair_put(p, k, 16, "a", 2, 0);
	cr_assert_null(sql_pair_take(p, k, 8, NULL));
	cr_assert_str_eq(sql_pair_take(p, k, 16, NULL), "a");
	sql_pair_free(p);
}

static void count_evict(void *ctx, const void *payload, size_t len)
{
	(void)payload;
	cr_assert_eq(len, 8);
	(*(int *)ctx)++;
}

Test(pair, one_per_key_replaces_and_counts)
{
	int calls = 0;
	struct sql_pair_opts o = { .sz = sizeof(o), .max_per_key = 1, .on_evict = count_evict, .evict_ctx = &calls };
	struct sql_pair *p = sql_pair_new(&o);
	put_u64(p, 9, 1, 0);
	put_u64(p, 9, 2, 0);
	put_u64(p, 8, 3, 0);
	put_u64(p, 9, 4, 0);
	cr_assert_eq(sql_pair_evicted(p), 2);
	cr_assert_eq(calls, 2);
	cr_assert_eq(sql_pair_count(p), 2);
	cr_assert_eq(take_u64(p, 9), 4);
	cr_assert_eq(take_u64(p, 9), -1);
	cr_assert_eq(take_u64(p, 8), 3);
	sql_pair_free(p);
}

Test(pair, entry_bound_evicts_oldest_and_counts)
{
	struct sql_pair_opts o = { .sz = sizeof(o), .max_entries = 100 };
	struct sql_pair *p = sql_pair_new(&o);
	for (uint64_t i = 0; i < 1000; i++) {
		cr_assert_eq(put_u64(p, i, i, i), 0);
		cr_assert(sql_pair_count(p) <= 100);
	}
	cr_assert_eq(sql_pair_count(p), 100);
	cr_assert_eq(sql_pair_evicted(p), 900);
	cr_assert_eq(take_u64(p, 0), -1);
	cr_assert_eq(take_u64(p, 899), -1);
	cr_assert_eq(take_u64(p, 900), 900);
	cr_assert_eq(take_u64(p, 999), 999);
	sql_pair_free(p);
}

Test(pair, byte_bound_holds)
{
	struct sql_pair_opts o = { .sz = sizeof(o), .max_bytes = 1000 };
	struct sql_pair *p = sql_pair_new(&o);
	char payload[100] = "x";
	for (uint64_t i = 0; i < 500; i++) {
		cr_assert_eq(sql_pair_put(p, &i, 8, payload, sizeof(payload), i), 0);
		cr_assert(sql_pair_bytes(p) <= 1000);
	}
	cr_assert_eq(sql_pair_count(p), 9); /* 9 * 108 <= 1000 < 10 * 108 */
	cr_assert_eq(sql_pair_evicted(p), 491);
	char big[2000] = { 0 };
	uint64_t k = 1;
	cr_assert_eq(sql_pair_put(p, &k, 8, big, sizeof(big), 0), -E2BIG);
	cr_assert_eq(sql_pair_count(p), 9);
	sql_pair_free(p);
}

Test(pair, expire_by_time)
{
	struct sql_pair *p = sql_pair_new(NULL);
	for (uint64_t i = 0; i < 10; i++)
		put_u64(p, i, i, i * 10);
	cr_assert_eq(sql_pair_expire(p, 35), 4); /* ts 0, 10, 20, 30 */
	cr_assert_eq(sql_pair_evicted(p), 4);
	cr_assert_eq(take_u64(p, 3), -1);
	cr_assert_eq(take_u64(p, 4), 4);
	cr_assert_eq(sql_pair_expire(p, 0), 0);
	sql_pair_free(p);
}

/* Many keys (the table grows and rehashes) and random interleavings:
 * every stored entry is found, counts stay exact. */
Test(pair, many_keys_and_random_order)
{
	struct sql_pair_opts o = { .sz = sizeof(o), .max_entries = 1 << 20 };
	struct sql_pair *p = sql_pair_new(&o);
	const uint64_t n = 100000;
	for (uint64_t i = 0; i < n; i++)
		put_u64(p, i * 2654435761u, i, i);
	cr_assert_eq(sql_pair_count(p), n);
	srand(1);
	uint64_t found = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t j = (i * 7919) % n; /* a permutation: 7919 is prime and n = 2^5 5^5 */
		if (take_u64(p, j * 2654435761u) == (int64_t)j)
			found++;
	}
	cr_assert_eq(found, n);
	cr_assert_eq(sql_pair_count(p), 0);
	cr_assert_eq(sql_pair_evicted(p), 0);
	sql_pair_free(p);
}

Test(pair, taken_payload_survives_until_next_call)
{
	struct sql_pair *p = sql_pair_new(NULL);
	uint64_t k = 1;
	sql_pair_put(p, &k, 8, "hello", 6, 0);
	const char *v = sql_pair_take(p, &k, 8, NULL);
	cr_assert_str_eq(v, "hello"); /* ASan would flag a use after free */
	sql_pair_free(p);                /* frees the taken entry too (LeakSanitizer) */
}
