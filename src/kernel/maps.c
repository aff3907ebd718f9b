/* maps.c - BPF maps through libbpf: create, element access, iteration,
 * and sums over per-CPU counters. No pinning: a map lives as long as an fd
 * or a program refers to it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "safebpf/kernel.h"

static enum bpf_map_type kernel_map_type(enum sbpf_kmap_type t)
{
	switch (t) {
	case SBPF_KMAP_PERCPU_ARRAY: return BPF_MAP_TYPE_PERCPU_ARRAY;
	case SBPF_KMAP_HASH:         return BPF_MAP_TYPE_HASH;
	case SBPF_KMAP_PERCPU_HASH:  return BPF_MAP_TYPE_PERCPU_HASH;
	case SBPF_KMAP_RINGBUF:      return BPF_MAP_TYPE_RINGBUF;
	case SBPF_KMAP_ARRAY_OF_MAPS: return BPF_MAP_TYPE_ARRAY_OF_MAPS;
	case SBPF_KMAP_LRU_HASH:     return BPF_MAP_TYPE_LRU_HASH;
	case SBPF_KMAP_REUSEPORT_SOCKARRAY: return BPF_MAP_TYPE_REUSEPORT_SOCKARRAY;
	case SBPF_KMAP_ARRAY:
	default:                     return BPF_MAP_TYPE_ARRAY;
	}
}

int sbpf_kmap_create(const struct sbpf_kmap_opts *opts)
{
	char name[16] = "";
	if (opts->name)
		snprintf(name, sizeof(name), "%s", opts->name);
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	if (opts->sz >= offsetof(struct sbpf_kmap_opts, inner_map_fd) + sizeof(opts->inner_map_fd) &&
	    opts->type == SBPF_KMAP_ARRAY_OF_MAPS)
		mo.inner_map_fd = (uint32_t)opts->inner_map_fd;
	if (opts->sz >= offsetof(struct sbpf_kmap_opts, map_flags) + sizeof(opts->map_flags))
		mo.map_flags = opts->map_flags;
	int fd = bpf_map_create(kernel_map_type(opts->type), name[0] ? name : NULL, opts->key_size,
				opts->value_size, opts->max_entries, &mo);
	return fd >= 0 ? fd : -errno;
}

int sbpf_kernel_ncpus(void)
{
	return libbpf_num_possible_cpus();
}

int sbpf_kmap_lookup(int fd, const void *key, void *value)
{
	return bpf_map_lookup_elem(fd, key, value) ? -errno : 0;
}

int sbpf_kmap_update(int fd, const void *key, const void *value, uint64_t flags)
{
	return bpf_map_update_elem(fd, key, value, flags) ? -errno : 0;
}

int sbpf_kmap_delete(int fd, const void *key)
{
	return bpf_map_delete_elem(fd, key) ? -errno : 0;
}

int sbpf_kmap_read_batch(int fd, void *in, void *out, void *keys, void *values, uint32_t *count, bool del)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 n = *count;
	int rc = (del ? bpf_map_lookup_and_delete_batch(fd, in, out, keys, values, &n, &o)
		      : bpf_map_lookup_batch(fd, in, out, keys, values, &n, &o)) ? -errno : 0;
	*count = rc && rc != -ENOENT ? 0 : n;
	return rc;
}

int sbpf_kmap_next_key(int fd, const void *key, void *next)
{
	return bpf_map_get_next_key(fd, key, next) ? -errno : 0;
}

int sbpf_kmap_percpu_sum(int fd, uint32_t index, uint64_t *sum)
{
	int ncpus = sbpf_kernel_ncpus();
	if (ncpus <= 0)
		return ncpus < 0 ? ncpus : -EINVAL;
	uint64_t *vals = calloc((size_t)ncpus, sizeof(uint64_t));
	if (!vals)
		return -ENOMEM;
	int rc = sbpf_kmap_lookup(fd, &index, vals);
	if (!rc) {
		*sum = 0;
		for (int i = 0; i < ncpus; i++)
			*sum += vals[i];
	}
	free(vals);
	return rc;
}
