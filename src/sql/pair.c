/* pair.c - the pairing operator: matches each closing ("right") event with
 * the latest unmatched opening ("left") event of equal key, in bounded
 * memory. Paired tables use it (sys_enter/sys_exit by thread, block issue/
 * completion by device and sector), and so do JOINs of two event streams.
 *
 * Entries live in a chained hash table (newest first in each chain, so the
 * first equal key found is the latest) and on one list in insertion order
 * (oldest first), which is the eviction order when a bound is reached.
 * Every eviction is counted: a query can always say how much it dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sqlInt.h"

#define DEFAULT_MAX_ENTRIES 65536
#define DEFAULT_MAX_BYTES (64u << 20)
#define MIN_BUCKETS 64

struct entry {
	struct entry *chain;          /* next in the bucket (older) */
	struct entry *older, *newer;  /* neighbours in insertion order */
	uint64_t hash;                /* hash of the key */
	uint64_t ts;                  /* caller's time, for sql_pair_expire */
	uint32_t klen, plen;          /* key and payload bytes */
	unsigned char data[];         /* key, then payload */
};

struct sql_pair {
	struct entry **buckets;       /* chains, newest first */
	size_t nbuckets;              /* power of two */
	struct entry *oldest, *newest;/* insertion-order list */
	size_t count, bytes;          /* entries and key + payload bytes held */
	uint64_t evicted;             /* entries dropped unmatched */
	struct entry *taken;          /* last entry returned by take, freed on the next call */
	struct sql_pair_opts o;       /* bounds and eviction callback */
};

/* FNV-1a over the key bytes. */
static uint64_t hash_key(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void release_taken(struct sql_pair *p)
{
	free(p->taken);
	p->taken = NULL;
}

struct sql_pair *sql_pair_new(const struct sql_pair_opts *opts)
{
	struct sql_pair *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (opts) {
		size_t n = opts->sz < sizeof(p->o) ? opts->sz : sizeof(p->o);
		memcpy(&p->o, opts, n);
	}
	if (!p->o.max_entries)
		p->o.max_entries = DEFAULT_MAX_ENTRIES;
	if (!p->o.max_bytes)
		p->o.max_bytes = DEFAULT_MAX_BYTES;
	p->nbuckets = MIN_BUCKETS;
	p->buckets = calloc(p->nbuckets, sizeof(*p->buckets));
	if (!p->buckets) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

/* Unlinks @e from its chain and from the insertion list; accounts for it. */
static void unlink_entry(struct sql_pair *p, struct entry *e)
{
	struct entry **pp = &p->buckets[e->hash & (p->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	if (e->older)
		e->older->newer = e->newer;
	else
		p->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		p->newest = e->older;
	p->count--;
	p->bytes -= e->klen + e->plen;
}

static void evict(struct sql_pair *p, struct entry *e)
{
	unlink_entry(p, e);
	p->evicted++;
	if (p->o.on_evict)
		p->o.on_evict(p->o.evict_ctx, e->data + e->klen, e->plen);
	free(e);
}

void sql_pair_free(struct sql_pair *p)
{
	if (!p)
		return;
	for (struct entry *e = p->oldest, *next; e; e = next) {
		next = e->newer;
		free(e);
	}
	release_taken(p);
	free(p->buckets);
	free(p);
}

/* Doubles the bucket array when chains get long; failure only costs speed. */
static void maybe_grow(struct sql_pair *p)
{
	if (p->count < p->nbuckets)
		return;
	size_t n = p->nbuckets * 2;
	struct entry **nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	/* Re-insert oldest first so that every chain stays newest first. */
	for (struct entry *e = p->oldest; e; e = e->newer) {
		struct entry **head = &nb[e->hash & (n - 1)];
		e->chain = *head;
		*head = e;
	}
	free(p->buckets);
	p->buckets = nb;
	p->nbuckets = n;
}

static int same_key(const struct entry *e, uint64_t h, const void *key, size_t klen)
{
	return e->hash == h && e->klen == klen && !memcmp(e->data, key, klen);
}

int sql_pair_put(struct sql_pair *p, const void *key, size_t klen, const void *payload, size_t plen,
		 uint64_t ts)
{
	release_taken(p);
	size_t need = klen + plen;
	if (need > p->o.max_bytes || klen > UINT32_MAX || plen > UINT32_MAX)
		return -E2BIG;
	uint64_t h = hash_key(key, klen);
	if (p->o.max_per_key) {
		/* Keep at most max_per_key - 1 older entries of this key. */
		size_t same = 0;
		struct entry *oldest_same = NULL;
		for (struct entry *e = p->buckets[h & (p->nbuckets - 1)]; e; e = e->chain)
			if (same_key(e, h, key, klen)) {
				same++;
				oldest_same = e;
			}
		if (same >= p->o.max_per_key)
			evict(p, oldest_same);
	}
	while (p->oldest && (p->count >= p->o.max_entries || p->bytes + need > p->o.max_bytes))
		evict(p, p->oldest);
	struct entry *e = malloc(sizeof(*e) + need);
	if (!e)
		return -ENOMEM;
	e->hash = h;
	e->ts = ts;
	e->klen = (uint32_t)klen;
	e->plen = (uint32_t)plen;
	memcpy(e->data, key, klen);
	if (plen)
		memcpy(e->data + klen, payload, plen);
	struct entry **head = &p->buckets[h & (p->nbuckets - 1)];
	e->chain = *head;
	*head = e;
	e->newer = NULL;
	e->older = p->newest;
	if (p->newest)
		p->newest->newer = e;
	else
		p->oldest = e;
	p->newest = e;
	p->count++;
	p->bytes += need;
	maybe_grow(p);
	return 0;
}

const void *sql_pair_take(struct sql_pair *p, const void *key, size_t klen, size_t *plen)
{
	release_taken(p);
	uint64_t h = hash_key(key, klen);
	for (struct entry *e = p->buckets[h & (p->nbuckets - 1)]; e; e = e->chain) {
		if (!same_key(e, h, key, klen))
			continue;
		unlink_entry(p, e);
		p->taken = e;
		if (plen)
			*plen = e->plen;
		return e->data + e->klen;
	}
	return NULL;
}

size_t sql_pair_expire(struct sql_pair *p, uint64_t before)
{
	release_taken(p);
	size_t n = 0;
	while (p->oldest && p->oldest->ts < before) {
		evict(p, p->oldest);
		n++;
	}
	return n;
}

size_t sql_pair_drain(struct sql_pair *p, uint64_t before, void (*fn)(void *ctx, const void *payload, size_t len),
		      void *ctx)
{
	release_taken(p);
	size_t n = 0;
	while (p->oldest && p->oldest->ts < before) {
		struct entry *e = p->oldest;
		unlink_entry(p, e);
		fn(ctx, e->data + e->klen, e->plen);
		free(e);
		n++;
	}
	return n;
}

uint64_t sql_pair_evicted(const struct sql_pair *p)
{
	return p->evicted;
}

size_t sql_pair_count(const struct sql_pair *p)
{
	return p->count;
}

size_t sql_pair_bytes(const struct sql_pair *p)
{
	return p->bytes;
}
