/* umaps.c - user-space maps (safebpf/maps.h) mirrored into the kernel, so
 * that BPF_PROG_TEST_RUN runs a program on the same map contents as the
 * user-space engines and its results can be read back and compared:
 * create one kernel map per user map, copy contents in, read them back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENOTSUPP_KERNEL 524 /* the kernel's ENOTSUPP, which user space sees as is */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "safebpf/kernel.h"
#include "safebpf/maps.h"

static int is_array(uint32_t t)
{
	return t == SBPF_MAP_ARRAY || t == SBPF_MAP_PERCPU_ARRAY;
}

static int has_entries(uint32_t t)
{
	return is_array(t) || t == SBPF_MAP_HASH || t == SBPF_MAP_PERCPU_HASH || t == SBPF_MAP_LRU_HASH ||
	       t == SBPF_MAP_LPM_TRIE;
}

void sbpf_kernel_maps_close(const struct sbpf_maps *m, int *fds)
{
	for (size_t i = 0; i < sbpf_maps__count(m); i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* Bytes of all CPUs' values of one entry of @map, as the kernel's lookup
 * and update of a per-CPU map want them. */
static size_t values_size(const struct sbpf_maps *m, const struct sbpf_map *map)
{
	size_t vsz = (sbpf_map__value_size(map) + 7) & ~7u;
	return sbpf_map__percpu(map) ? vsz * sbpf_maps__ncpus(m) : sbpf_map__value_size(map);
}

int sbpf_kernel_maps_create(struct sbpf_maps *m, int *fds, char *why, size_t whysz)
{
	for (size_t i = 0; i < SBPF_MAX_MAPS; i++)
		fds[i] = -1;
	for (size_t i = 0; i < sbpf_maps__count(m); i++) {
		struct sbpf_map *map = sbpf_maps__get(m, i);
		uint32_t t = sbpf_map__type(map);
		LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = sbpf_map__flags(map));
		char name[16];
		snprintf(name, sizeof(name), "%s", sbpf_map__name(map));
		for (char *c = name; *c; c++)
			if (*c != '_' && *c != '.' && !(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') &&
			    !(*c >= '0' && *c <= '9'))
				*c = '_';
		fds[i] = bpf_map_create((enum bpf_map_type)t, name, sbpf_map__key_size(map),
					sbpf_map__value_size(map), sbpf_map__max_entries(map), &mo);
		if (fds[i] < 0) {
			int e = errno;
			snprintf(why, whysz, "cannot create kernel map '%s' (%s): %s", sbpf_map__name(map),
				 sbpf_map__type_name(map), strerror(e));
			sbpf_kernel_maps_close(m, fds);
			return -e;
		}
		if (!has_entries(t) || !sbpf_map__key_size(map))
			continue;
		uint8_t key[512], prev[512];
		int have = 0;
		if (sbpf_map__key_size(map) > sizeof(key))
			continue;
		while (!sbpf_map__next_key(map, have ? prev : NULL, key)) {
			const uint8_t *vals = sbpf_map__values(map, key);
			have = 1;
			memcpy(prev, key, sbpf_map__key_size(map));
			if (!vals)
				continue;
			size_t vs = values_size(m, map), z = 0;
			while (z < vs && !vals[z])
				z++;
			if (is_array(t) && z == vs)
				continue; /* already zero in the kernel */
			if (bpf_map_update_elem(fds[i], key, vals, 0)) {
				int e = errno;
				snprintf(why, whysz, "cannot fill kernel map '%s': %s", sbpf_map__name(map), strerror(e));
				sbpf_kernel_maps_close(m, fds);
				return -e;
			}
		}
	}
	return 0;
}

/* ring_buffer callback: appends the record to the user-space ring. */
static int push_record(void *ctx, void *data, size_t len)
{
	sbpf_map__ringbuf_push(ctx, data, (uint32_t)len);
	return 0;
}

/* Reads every entry of kernel map @fd into @map with batched lookups
 * (BPF_MAP_LOOKUP_BATCH: a few system calls instead of two per entry).
 * Returns 0 when done, 1 when the kernel has no batch operation for the
 * map (the caller iterates key by key), or a negative errno. */
static int read_batch(struct sbpf_maps *m, struct sbpf_map *map, int fd, size_t vs)
{
	uint32_t ks = sbpf_map__key_size(map), chunk = 4096;
	uint8_t *keys = malloc((size_t)chunk * ks), *vals = malloc((size_t)chunk * vs);
	uint64_t in_batch = 0, out_batch = 0;
	int first = 1, rc = 0;
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (;;) {
		uint32_t count = chunk;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		int r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals, &count, &bo);
		int e = r ? errno : 0;
		if (r && e != ENOENT) {
			rc = first && (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP || e == ENOTSUPP_KERNEL) ? 1 : -e;
			break;
		}
		for (uint32_t k = 0; k < count && !rc; k++)
			rc = sbpf_map__update_all(map, keys + (size_t)k * ks, vals + (size_t)k * vs);
		if (rc || e == ENOENT)
			break;
		in_batch = out_batch;
		first = 0;
	}
	(void)m;
	free(keys);
	free(vals);
	return rc;
}

int sbpf_kernel_maps_read(struct sbpf_maps *m, const int *fds, char *why, size_t whysz)
{
	sbpf_maps__reset(m);
	for (size_t i = 0; i < sbpf_maps__count(m); i++) {
		struct sbpf_map *map = sbpf_maps__get(m, i);
		uint32_t t = sbpf_map__type(map);
		if (t == SBPF_MAP_RINGBUF) {
			struct ring_buffer *rb = ring_buffer__new(fds[i], push_record, map, NULL);
			if (!rb) {
				int e = errno;
				snprintf(why, whysz, "cannot read ring buffer '%s': %s", sbpf_map__name(map), strerror(e));
				return -e;
			}
			ring_buffer__consume(rb);
			ring_buffer__free(rb);
			continue;
		}
		if (!has_entries(t) || sbpf_map__key_size(map) > 512)
			continue;
		size_t vs = values_size(m, map);
		int brc = read_batch(m, map, fds[i], vs);
		if (brc <= 0) {
			if (brc < 0) {
				snprintf(why, whysz, "cannot read kernel map '%s': %s", sbpf_map__name(map), strerror(-brc));
				return brc;
			}
			continue;
		}
		uint8_t key[512], next[512];
		uint8_t *vals = malloc(vs);
		if (!vals)
			return -ENOMEM;
		int have = 0, rc = 0;
		while (!bpf_map_get_next_key(fds[i], have ? key : NULL, next)) {
			have = 1;
			memcpy(key, next, sbpf_map__key_size(map));
			if (bpf_map_lookup_elem(fds[i], key, vals))
				continue;
			if ((rc = sbpf_map__update_all(map, key, vals)) != 0) {
				snprintf(why, whysz, "cannot store kernel map '%s''s entry: %s", sbpf_map__name(map),
					 strerror(-rc));
				break;
			}
		}
		free(vals);
		if (rc)
			return rc;
	}
	return 0;
}
