/* maps.c - user-space BPF maps (safebpf/maps.h): array, percpu_array,
 * hash, percpu_hash, lru_hash, lpm_trie, ringbuf, and placeholders for the
 * types whose entries are kernel objects (prog_array, perf_event_array,
 * devmap, cpumap, xskmap: always empty here, as in a fresh kernel map).
 *
 * Every map's values live in one block (struct sbpf_map.values) so that
 * the checked engines can treat it as one region. Hash-like maps keep
 * max_entries preallocated slots: keys in their own block, a chained hash
 * index over the slots, a free list, and for lru_hash a use stamp per slot
 * (a full map evicts the slot used longest ago). An lpm_trie is a set of
 * (prefix, key) slots searched for the longest match. A ring buffer is a
 * linear byte area (records of an 8-byte header and the data rounded up to
 * 8 bytes) that nothing consumes during a run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/maps.h"
#include "vm/vmInt.h"

#define RB_HDR 8
#define RB_BUSY 0x80000000u     /* reserved, not yet submitted */
#define RB_DISCARD 0x40000000u  /* discarded */

struct sbpf_map {
	char name[64];         /* unique in the set */
	uint32_t type;         /* SBPF_MAP_* */
	uint32_t key_size, value_size, max_entries, flags; /* the definition */
	uint32_t vsz;          /* value bytes rounded up to 8 */
	unsigned ncpu;         /* values per entry: CPUs for per-CPU maps, else 1 */
	int kind;              /* K_* */
	uint8_t *values;       /* value block: max_entries * ncpu * vsz (ring: the ring) */
	size_t values_len;     /* its bytes */
	uint8_t *init;         /* array maps: initial value bytes, or NULL */
	size_t init_len;       /* their count */
	/* hash-like maps */
	uint8_t *keys;         /* max_entries * key_size */
	uint8_t *used;         /* per slot: 1 when it holds an entry */
	int32_t *bucket;       /* nbuckets heads of slot chains (-1: empty) */
	int32_t *next;         /* per slot: next slot in its chain, or in the free list */
	uint64_t *stamp;       /* lru_hash: last use per slot */
	uint32_t nbuckets;     /* power of 2 */
	int32_t free_head;     /* first free slot, -1 when full */
	uint32_t count;        /* entries held */
	uint64_t clock;        /* lru_hash: use counter */
	size_t rb_pos;         /* ringbuf: bytes produced */
	struct sbpf_maps *set; /* owner (current CPU) */
};

enum { K_NONE, K_ARRAY, K_HASH, K_LPM, K_RING };

struct sbpf_maps {
	struct sbpf_map *map[SBPF_MAX_MAPS]; /* by index */
	size_t n;                            /* maps held */
	unsigned ncpus;                      /* possible CPUs */
	unsigned cpu;                        /* the CPU runs count as */
	uint64_t rng;                        /* get_prandom_u32 state */
};

/* Possible CPUs from /sys (the kernel's per-CPU value count). */
static unsigned possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	unsigned max = 0;
	if (f) {
		unsigned a, b;
		int c;
		while (fscanf(f, "%u", &a) == 1) {
			b = a;
			c = fgetc(f);
			if (c == '-' && fscanf(f, "%u", &b) == 1)
				c = fgetc(f);
			if (b + 1 > max)
				max = b + 1;
			if (c != ',')
				break;
		}
		fclose(f);
	}
	return max ? max : 1;
}

struct sbpf_maps *sbpf_maps__new(void)
{
	struct sbpf_maps *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->ncpus = possible_cpus();
	m->rng = 1;
	return m;
}

static void map_free(struct sbpf_map *p)
{
	if (!p)
		return;
	free(p->values);
	free(p->init);
	free(p->keys);
	free(p->used);
	free(p->bucket);
	free(p->next);
	free(p->stamp);
	free(p);
}

void sbpf_maps__free(struct sbpf_maps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		map_free(m->map[i]);
	free(m);
}

unsigned sbpf_maps__ncpus(const struct sbpf_maps *m) { return m->ncpus; }
void sbpf_maps__set_cpu(struct sbpf_maps *m, unsigned cpu) { m->cpu = cpu < m->ncpus ? cpu : 0; }
void sbpf_maps__set_seed(struct sbpf_maps *m, uint64_t seed) { m->rng = seed ? seed : 1; }
size_t sbpf_maps__count(const struct sbpf_maps *m) { return m->n; }
struct sbpf_map *sbpf_maps__get(const struct sbpf_maps *m, size_t i) { return i < m->n ? m->map[i] : NULL; }

struct sbpf_map *sbpf_maps__find(const struct sbpf_maps *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->map[i]->name, name))
			return m->map[i];
	return NULL;
}

/* Next state of the set's xorshift64* generator (vmInt.h). */
uint32_t vm_maps_prandom(struct sbpf_maps *m)
{
	uint64_t x = m->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	m->rng = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

unsigned vm_maps_cpu(const struct sbpf_maps *m)
{
	return m->cpu;
}

static int kind_of(uint32_t type)
{
	switch (type) {
	case SBPF_MAP_ARRAY: case SBPF_MAP_PERCPU_ARRAY: return K_ARRAY;
	case SBPF_MAP_HASH: case SBPF_MAP_PERCPU_HASH: case SBPF_MAP_LRU_HASH: return K_HASH;
	case SBPF_MAP_LPM_TRIE: return K_LPM;
	case SBPF_MAP_RINGBUF: return K_RING;
	default: return K_NONE;
	}
}

static int why_fail(char *why, size_t whysz, int rc, const char *fmt, const char *name, unsigned long long v)
{
	if (why && whysz)
		snprintf(why, whysz, fmt, name, v);
	return rc;
}

/* Empties hash-like slots: every slot free, index empty. */
static void hash_clear(struct sbpf_map *p)
{
	for (uint32_t b = 0; b < p->nbuckets; b++)
		p->bucket[b] = -1;
	for (uint32_t i = 0; i < p->max_entries; i++)
		p->next[i] = i + 1 < p->max_entries ? (int32_t)(i + 1) : -1;
	memset(p->used, 0, p->max_entries);
	p->free_head = p->max_entries ? 0 : -1;
	p->count = 0;
	memset(p->values, 0, p->values_len);
}

static void map_reset(struct sbpf_map *p)
{
	switch (p->kind) {
	case K_ARRAY:
		memset(p->values, 0, p->values_len);
		if (p->init)
			for (size_t i = 0; i < p->init_len && i / p->value_size < p->max_entries; i++)
				p->values[(i / p->value_size) * p->vsz * p->ncpu + i % p->value_size] = p->init[i];
		break;
	case K_HASH: case K_LPM:
		hash_clear(p);
		break;
	case K_RING:
		memset(p->values, 0, p->values_len);
		p->rb_pos = 0;
		break;
	}
}

void sbpf_maps__reset(struct sbpf_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		map_reset(m->map[i]);
}

int sbpf_maps__add(struct sbpf_maps *m, const struct sbpf_map_def *d, char *why, size_t whysz)
{
	const char *name = d->name ? d->name : "";
	if (m->n >= SBPF_MAX_MAPS)
		return why_fail(why, whysz, -E2BIG, "map '%s': more than %llu maps", name, SBPF_MAX_MAPS);
	if (!*name || strlen(name) >= sizeof(((struct sbpf_map *)0)->name))
		return why_fail(why, whysz, -EINVAL, "map '%s': a name of 1 to %llu characters is needed", name, 63);
	if (sbpf_maps__find(m, name))
		return why_fail(why, whysz, -EEXIST, "map '%s': defined twice%.0llu", name, 0);
	int kind = kind_of(d->type);
	struct sbpf_map *p = calloc(1, sizeof(*p));
	if (!p)
		return why_fail(why, whysz, -ENOMEM, "map '%s': out of memory%.0llu", name, 0);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->type = d->type;
	p->key_size = d->key_size;
	p->value_size = d->value_size;
	p->max_entries = d->max_entries;
	p->flags = d->flags;
	p->kind = kind;
	p->set = m;
	p->vsz = (d->value_size + 7) & ~7u;
	p->ncpu = d->type == SBPF_MAP_PERCPU_ARRAY || d->type == SBPF_MAP_PERCPU_HASH ? m->ncpus : 1;
	int rc = 0;
	if (kind == K_RING) {
		uint32_t sz = d->max_entries;
		if (sz < 4096 || (sz & (sz - 1)))
			rc = why_fail(why, whysz, -EINVAL, "map '%s': a ring buffer's size must be a power of 2 of at "
				      "least 4096 bytes, not %llu", name, sz);
		else if (!(p->values = calloc(1, sz)))
			rc = -ENOMEM;
		p->values_len = sz;
	} else if (kind != K_NONE) {
		uint64_t bytes = (uint64_t)d->max_entries * p->ncpu * p->vsz;
		if (!d->value_size || !d->max_entries || (kind == K_ARRAY ? d->key_size != 4 : !d->key_size) ||
		    (kind == K_LPM && d->key_size < 5))
			rc = why_fail(why, whysz, -EINVAL, "map '%s': bad key or value size or entry count for "
				      "its type %llu", name, d->type);
		else if (bytes > (1ull << 30) || (uint64_t)d->max_entries * d->key_size > (1ull << 30))
			rc = why_fail(why, whysz, -E2BIG, "map '%s': %llu bytes of values is more than user space "
				      "keeps (1 GiB)", name, bytes);
		else if (!(p->values = calloc(1, bytes ? bytes : 1)))
			rc = why_fail(why, whysz, -ENOMEM, "map '%s': out of memory for %llu bytes", name, bytes);
		p->values_len = bytes;
		if (!rc && kind != K_ARRAY) {
			p->nbuckets = 1;
			while (p->nbuckets < d->max_entries && p->nbuckets < (1u << 30))
				p->nbuckets <<= 1;
			p->keys = calloc(d->max_entries, d->key_size);
			p->used = calloc(d->max_entries, 1);
			p->bucket = malloc(p->nbuckets * sizeof(*p->bucket));
			p->next = malloc(d->max_entries * sizeof(*p->next));
			if (d->type == SBPF_MAP_LRU_HASH)
				p->stamp = calloc(d->max_entries, sizeof(*p->stamp));
			if (!p->keys || !p->used || !p->bucket || !p->next ||
			    (d->type == SBPF_MAP_LRU_HASH && !p->stamp))
				rc = why_fail(why, whysz, -ENOMEM, "map '%s': out of memory%.0llu", name, 0);
		}
		if (!rc && kind == K_ARRAY && d->init && d->init_len) {
			size_t len = d->init_len;
			if (len > (size_t)d->max_entries * d->value_size)
				len = (size_t)d->max_entries * d->value_size;
			if (!(p->init = malloc(len)))
				rc = -ENOMEM;
			else
				memcpy(p->init, d->init, len);
			p->init_len = len;
		}
	}
	if (rc) {
		map_free(p);
		return rc;
	}
	map_reset(p);
	m->map[m->n] = p;
	return (int)m->n++;
}

const char *sbpf_map__name(const struct sbpf_map *p) { return p->name; }
uint32_t sbpf_map__type(const struct sbpf_map *p) { return p->type; }
uint32_t sbpf_map__key_size(const struct sbpf_map *p) { return p->key_size; }
uint32_t sbpf_map__value_size(const struct sbpf_map *p) { return p->value_size; }
uint32_t sbpf_map__max_entries(const struct sbpf_map *p) { return p->max_entries; }
uint32_t sbpf_map__flags(const struct sbpf_map *p) { return p->flags; }
int sbpf_map__supported(const struct sbpf_map *p) { return p->kind != K_NONE || vm_map_is_redirect(p->type) ||
							   p->type == SBPF_MAP_PERF_EVENT_ARRAY ||
							   p->type == SBPF_MAP_PROG_ARRAY; }
int sbpf_map__percpu(const struct sbpf_map *p) { return p->ncpu > 1 || p->type == SBPF_MAP_PERCPU_ARRAY ||
						       p->type == SBPF_MAP_PERCPU_HASH; }

int vm_map_is_redirect(uint32_t type)
{
	return type == SBPF_MAP_DEVMAP || type == SBPF_MAP_CPUMAP || type == SBPF_MAP_XSKMAP ||
	       type == SBPF_MAP_DEVMAP_HASH;
}

const char *sbpf_map__type_name(const struct sbpf_map *p)
{
	switch (p->type) {
	case SBPF_MAP_HASH: return "hash";
	case SBPF_MAP_ARRAY: return "array";
	case SBPF_MAP_PROG_ARRAY: return "prog_array";
	case SBPF_MAP_PERF_EVENT_ARRAY: return "perf_event_array";
	case SBPF_MAP_PERCPU_HASH: return "percpu_hash";
	case SBPF_MAP_PERCPU_ARRAY: return "percpu_array";
	case SBPF_MAP_LRU_HASH: return "lru_hash";
	case SBPF_MAP_LPM_TRIE: return "lpm_trie";
	case SBPF_MAP_DEVMAP: return "devmap";
	case SBPF_MAP_CPUMAP: return "cpumap";
	case SBPF_MAP_XSKMAP: return "xskmap";
	case SBPF_MAP_DEVMAP_HASH: return "devmap_hash";
	case SBPF_MAP_RINGBUF: return "ringbuf";
	default: return "unsupported";
	}
}

/* ---- hash-like slots ---------------------------------------------------- */

static uint32_t hash_bytes(const uint8_t *k, uint32_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

static uint8_t *slot_key(const struct sbpf_map *p, int32_t s) { return p->keys + (size_t)s * p->key_size; }
static uint8_t *slot_values(const struct sbpf_map *p, uint32_t s) { return p->values + (size_t)s * p->ncpu * p->vsz; }

static int32_t hash_find(const struct sbpf_map *p, const void *key)
{
	for (int32_t s = p->bucket[hash_bytes(key, p->key_size) & (p->nbuckets - 1)]; s >= 0; s = p->next[s])
		if (!memcmp(slot_key(p, s), key, p->key_size))
			return s;
	return -1;
}

static void hash_unlink(struct sbpf_map *p, int32_t s)
{
	int32_t *link = &p->bucket[hash_bytes(slot_key(p, s), p->key_size) & (p->nbuckets - 1)];
	while (*link >= 0 && *link != s)
		link = &p->next[*link];
	if (*link == s)
		*link = p->next[s];
	p->used[s] = 0;
	p->next[s] = p->free_head;
	p->free_head = s;
	p->count--;
}

/* A free slot for a new entry (lru_hash: evicting the least recently used
 * one when full); -1 when full. */
static int32_t hash_alloc(struct sbpf_map *p, const void *key)
{
	if (p->free_head < 0 && p->stamp) {
		int32_t old = -1;
		for (uint32_t s = 0; s < p->max_entries; s++)
			if (p->used[s] && (old < 0 || p->stamp[s] < p->stamp[old]))
				old = (int32_t)s;
		if (old >= 0)
			hash_unlink(p, old);
	}
	int32_t s = p->free_head;
	if (s < 0)
		return -1;
	p->free_head = p->next[s];
	memcpy(slot_key(p, s), key, p->key_size);
	uint32_t b = hash_bytes(key, p->key_size) & (p->nbuckets - 1);
	p->next[s] = p->bucket[b];
	p->bucket[b] = s;
	p->used[s] = 1;
	p->count++;
	memset(slot_values(p, (uint32_t)s), 0, (size_t)p->ncpu * p->vsz);
	return s;
}

/* lpm_trie: 1 when the first @bits bits of @a and @b agree. */
static int prefix_match(const uint8_t *a, const uint8_t *b, uint32_t bits)
{
	uint32_t whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole))
		return 0;
	return !rest || ((a[whole] ^ b[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

static uint32_t lpm_prefixlen(const void *key)
{
	uint32_t v;
	memcpy(&v, key, 4);
	return v;
}

/* ---- element access ------------------------------------------------------ */

static int array_index(const struct sbpf_map *p, const void *key, uint32_t *idx)
{
	memcpy(idx, key, 4);
	return *idx < p->max_entries ? 0 : -1;
}

void *sbpf_map__values(struct sbpf_map *p, const void *key)
{
	uint32_t idx;
	int32_t s;
	switch (p->kind) {
	case K_ARRAY:
		return array_index(p, key, &idx) ? NULL : slot_values(p, idx);
	case K_HASH: case K_LPM:
		s = hash_find(p, key);
		return s < 0 ? NULL : slot_values(p, (uint32_t)s);
	default:
		return NULL;
	}
}

void *sbpf_map__lookup(struct sbpf_map *p, const void *key)
{
	unsigned cpu = p->ncpu > 1 ? p->set->cpu : 0;
	if (p->kind == K_LPM) {
		uint32_t want = lpm_prefixlen(key), dbits = (p->key_size - 4) * 8, best_len = 0;
		int32_t best = -1;
		if (want > dbits)
			want = dbits;
		for (uint32_t s = 0; s < p->max_entries; s++) {
			if (!p->used[s])
				continue;
			uint32_t len = lpm_prefixlen(slot_key(p, (int32_t)s));
			if (len <= want && (best < 0 || len > best_len) &&
			    prefix_match(slot_key(p, (int32_t)s) + 4, (const uint8_t *)key + 4, len)) {
				best = (int32_t)s;
				best_len = len;
			}
		}
		return best < 0 ? NULL : slot_values(p, (uint32_t)best);
	}
	uint8_t *v = sbpf_map__values(p, key);
	if (v && p->stamp) {
		int32_t s = (int32_t)((size_t)(v - p->values) / p->vsz);
		p->stamp[s] = ++p->clock;
	}
	return v ? v + (size_t)cpu * p->vsz : NULL;
}

/* Writes @src into slot values: one CPU's (@all 0) or all CPUs' (1). */
static void put_values(struct sbpf_map *p, uint8_t *vals, const void *src, int all)
{
	if (all) {
		for (unsigned c = 0; c < p->ncpu; c++)
			memcpy(vals + (size_t)c * p->vsz, (const uint8_t *)src + (size_t)c * p->vsz, p->value_size);
	} else {
		memcpy(vals + (size_t)(p->ncpu > 1 ? p->set->cpu : 0) * p->vsz, src, p->value_size);
	}
}

static int update(struct sbpf_map *p, const void *key, const void *value, uint64_t flags, int all)
{
	uint32_t idx;
	if (flags > 2)
		return -EINVAL;
	switch (p->kind) {
	case K_ARRAY:
		if (array_index(p, key, &idx))
			return -E2BIG;
		if (flags == 1)
			return -EEXIST;
		put_values(p, slot_values(p, idx), value, all);
		return 0;
	case K_HASH: case K_LPM: {
		if (p->kind == K_LPM && lpm_prefixlen(key) > (p->key_size - 4) * 8)
			return -EINVAL;
		int32_t s = hash_find(p, key);
		if (s >= 0 && flags == 1)
			return -EEXIST;
		if (s < 0 && flags == 2)
			return -ENOENT;
		if (s < 0 && (s = hash_alloc(p, key)) < 0)
			return -E2BIG;
		if (p->stamp)
			p->stamp[s] = ++p->clock;
		put_values(p, slot_values(p, (uint32_t)s), value, all);
		return 0;
	}
	default:
		return -EOPNOTSUPP;
	}
}

int sbpf_map__update(struct sbpf_map *p, const void *key, const void *value, uint64_t flags)
{
	return update(p, key, value, flags, 0);
}

int sbpf_map__update_all(struct sbpf_map *p, const void *key, const void *values)
{
	return update(p, key, values, 0, 1);
}

int sbpf_map__delete(struct sbpf_map *p, const void *key)
{
	if (p->kind == K_ARRAY)
		return -EINVAL;
	if (p->kind != K_HASH && p->kind != K_LPM)
		return -EOPNOTSUPP;
	int32_t s = hash_find(p, key);
	if (s < 0)
		return -ENOENT;
	hash_unlink(p, s);
	return 0;
}

int sbpf_map__next_key(const struct sbpf_map *p, const void *key, void *next)
{
	if (p->kind == K_ARRAY) {
		uint32_t idx = 0;
		if (key) {
			memcpy(&idx, key, 4);
			idx = idx >= p->max_entries ? 0 : idx + 1;
		}
		if (idx >= p->max_entries)
			return -ENOENT;
		memcpy(next, &idx, 4);
		return 0;
	}
	if (p->kind != K_HASH && p->kind != K_LPM)
		return -ENOENT;
	int32_t best = -1; /* smallest key greater than @key */
	for (uint32_t s = 0; s < p->max_entries; s++) {
		if (!p->used[s])
			continue;
		const uint8_t *k = slot_key(p, (int32_t)s);
		if (key && memcmp(k, key, p->key_size) <= 0)
			continue;
		if (best < 0 || memcmp(k, slot_key(p, best), p->key_size) < 0)
			best = (int32_t)s;
	}
	if (best < 0)
		return -ENOENT;
	memcpy(next, slot_key(p, best), p->key_size);
	return 0;
}

/* ---- ring buffers ---------------------------------------------------------- */

void *vm_ringbuf_reserve(struct sbpf_map *p, uint64_t size)
{
	if (p->kind != K_RING || size > p->values_len / 2)
		return NULL;
	size_t need = RB_HDR + ((size + 7) & ~7ull);
	if (p->rb_pos + need > p->values_len)
		return NULL;
	uint8_t *h = p->values + p->rb_pos;
	uint32_t hdr = (uint32_t)size | RB_BUSY;
	memcpy(h, &hdr, 4);
	memset(h + 4, 0, 4);
	p->rb_pos += need;
	return h + RB_HDR;
}

/* The map whose ring holds @data as a reserved record, and its header. */
static uint8_t *ring_header(struct sbpf_map *p, uint64_t data)
{
	uint64_t lo = (uint64_t)(uintptr_t)p->values;
	if (p->kind != K_RING || data < lo + RB_HDR || data >= lo + p->rb_pos || (data - lo) % 8)
		return NULL;
	uint8_t *h = (uint8_t *)(uintptr_t)(data - RB_HDR);
	uint32_t hdr;
	memcpy(&hdr, h, 4);
	return hdr & RB_BUSY ? h : NULL;
}

int vm_ringbuf_commit(struct sbpf_maps *m, uint64_t data, int discard)
{
	for (size_t i = 0; i < m->n; i++) {
		uint8_t *h = ring_header(m->map[i], data);
		if (h) {
			uint32_t hdr;
			memcpy(&hdr, h, 4);
			hdr = (hdr & ~RB_BUSY) | (discard ? RB_DISCARD : 0);
			memcpy(h, &hdr, 4);
			return 0;
		}
	}
	return -EINVAL;
}

int sbpf_map__ringbuf_push(struct sbpf_map *p, const void *data, uint32_t len)
{
	uint8_t *d = vm_ringbuf_reserve(p, len);
	if (!d)
		return -E2BIG;
	memcpy(d, data, len);
	uint32_t hdr = len;
	memcpy(d - RB_HDR, &hdr, 4);
	return 0;
}

/* Walks the submitted records: the @i-th's data (or, @i = SIZE_MAX, the count). */
static const uint8_t *ring_walk(const struct sbpf_map *p, size_t i, uint32_t *len, size_t *count)
{
	size_t pos = 0, k = 0;
	while (p->kind == K_RING && pos + RB_HDR <= p->rb_pos) {
		uint32_t hdr;
		memcpy(&hdr, p->values + pos, 4);
		uint32_t sz = hdr & ~(RB_BUSY | RB_DISCARD);
		/* the ring is program memory: a header it overwrote may lie */
		if (sz > p->rb_pos - pos - RB_HDR)
			break;
		if (!(hdr & (RB_BUSY | RB_DISCARD))) {
			if (k == i) {
				*len = sz;
				return p->values + pos + RB_HDR;
			}
			k++;
		}
		pos += RB_HDR + ((sz + 7u) & ~7u);
	}
	if (count)
		*count = k;
	return NULL;
}

size_t sbpf_map__ringbuf_count(const struct sbpf_map *p)
{
	size_t count = 0;
	uint32_t len;
	ring_walk(p, SIZE_MAX, &len, &count);
	return count;
}

const void *sbpf_map__ringbuf_record(const struct sbpf_map *p, size_t i, uint32_t *len)
{
	return ring_walk(p, i, len, NULL);
}

/* ---- regions and references --------------------------------------------- */

int sbpf_map__region(const struct sbpf_map *p, void **base, size_t *len)
{
	if (!p->values || !p->values_len)
		return -ENOENT;
	*base = p->values;
	*len = p->values_len;
	return 0;
}

int vm_maps_owns(const struct sbpf_maps *m, uint64_t ptr)
{
	for (size_t i = 0; i < m->n; i++)
		if ((uint64_t)(uintptr_t)m->map[i] == ptr)
			return 1;
	return 0;
}

int sbpf_maps_referenced(const struct sbpf_insn *insns, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (insns[i].code == (SBPF_LD | SBPF_DW | SBPF_IMM)) {
			if (insns[i].src_reg == 1 || insns[i].src_reg == 2)
				return 1;
			i++;
		}
	return 0;
}

int sbpf_maps__resolve(struct sbpf_maps *m, struct sbpf_insn *insns, size_t n, char *why, size_t whysz)
{
	int count = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		struct sbpf_insn *in = &insns[i];
		if (in->code != (SBPF_LD | SBPF_DW | SBPF_IMM))
			continue;
		int src = in->src_reg;
		if (src == 1 || src == 2) {
			if (in->imm < 0 || (size_t)in->imm >= m->n) {
				snprintf(why, whysz, "instruction %zu refers to map %d, but the program has %zu map%s",
					 i, in->imm, m->n, m->n == 1 ? "" : "s");
				return -EINVAL;
			}
			struct sbpf_map *p = m->map[in->imm];
			uint64_t addr = (uint64_t)(uintptr_t)p;
			if (!sbpf_map__supported(p)) {
				snprintf(why, whysz, "instruction %zu refers to map '%s' of type %u, which user space "
					 "does not provide (kernel objects only)", i, p->name, p->type);
				return -EINVAL;
			}
			if (src == 2) {
				uint32_t off = (uint32_t)insns[i + 1].imm;
				if (p->kind != K_ARRAY || off >= p->value_size) {
					snprintf(why, whysz, "instruction %zu takes the address of byte %u of map '%s' "
						 "(direct value access needs an array map and an offset in its value)",
						 i, off, p->name);
					return -EINVAL;
				}
				addr = (uint64_t)(uintptr_t)p->values + off;
			}
			in->src_reg = 0;
			in->imm = (int32_t)(uint32_t)addr;
			insns[i + 1].imm = (int32_t)(uint32_t)(addr >> 32);
			count++;
		}
		i++;
	}
	return count;
}
