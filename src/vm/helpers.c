/* helpers.c - the helper functions every VM starts with (listed in vm.h).
 * Helpers take r1..r5 and return r0; none of these touches program memory.
 */
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "vm/vmInt.h"

/* id 5: returns r1 unchanged (bpf_conformance's "call 5" tests). */
static uint64_t h_identity(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	return r1;
}

/* id 8: the CPU the calling thread runs on (0 when unknown). */
static uint64_t h_smp_processor_id(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	int cpu = sched_getcpu();
	return cpu < 0 ? 0 : (uint64_t)cpu;
}

/* id 14: tgid in the upper 32 bits, thread id in the lower. */
static uint64_t h_pid_tgid(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	return (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)gettid();
}

/* id 125: CLOCK_BOOTTIME in nanoseconds. */
static uint64_t h_ktime_boot_ns(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	struct timespec ts;
	if (clock_gettime(CLOCK_BOOTTIME, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vm_helpers_register_defaults(struct sbpf_vm *vm)
{
	sbpf_vm__set_helper(vm, SBPF_HELPER_IDENTITY, "identity", h_identity);
	sbpf_vm__set_helper(vm, 8, "get_smp_processor_id", h_smp_processor_id);
	sbpf_vm__set_helper(vm, 14, "get_current_pid_tgid", h_pid_tgid);
	sbpf_vm__set_helper(vm, 125, "ktime_get_boot_ns", h_ktime_boot_ns);
}

/* ---- the runtime helpers (maps, packet, time, redirect, ring buffers) -----
 * Each finds the run in progress through the thread's environment
 * (sbpf_rt__enter). Arguments are checked as the kernel verifier would
 * have: a map argument must be one of the run's maps, memory arguments
 * must be memory the program may access (env->check; unchecked code is
 * trusted). A bad argument gives -EINVAL (or NULL) instead of touching
 * memory the program does not own. */

#include <errno.h>
#include <string.h>

#include "safebpf/ctx.h"

#define XDP_ABORTED 0
#define XDP_REDIRECT 4
#define ETH_HLEN 14

static _Thread_local struct sbpf_rt_env *rt_env;

struct sbpf_rt_env *sbpf_rt__enter(struct sbpf_rt_env *env)
{
	struct sbpf_rt_env *prev = rt_env;
	rt_env = env;
	return prev;
}

void sbpf_rt__leave(struct sbpf_rt_env *prev)
{
	rt_env = prev;
}

struct sbpf_rt_env *vm_rt_current(void)
{
	return rt_env;
}

/* The map @ptr names in the current run, or NULL. */
static struct sbpf_map *arg_map(uint64_t ptr)
{
	struct sbpf_rt_env *e = rt_env;
	if (!e || !e->maps || !vm_maps_owns(e->maps, ptr))
		return NULL;
	return (struct sbpf_map *)(uintptr_t)ptr;
}

/* 1 when the program may access [@addr, @addr + @len). */
static int arg_mem(uint64_t addr, uint64_t len, int write)
{
	struct sbpf_rt_env *e = rt_env;
	if (!e)
		return 0;
	if (!len)
		return 1;
	if (addr + len < addr)
		return 0;
	return !e->check || e->check(e->check_arg, addr, len, write) == 0;
}

#define UNUSED4(a, b, c, d) ((void)(a), (void)(b), (void)(c), (void)(d))

/* 1 map_lookup_elem(map, key): the value, or NULL. */
static uint64_t h_map_lookup(uint64_t map, uint64_t key, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	struct sbpf_map *m = arg_map(map);
	if (!m || !arg_mem(key, sbpf_map__key_size(m), 0))
		return 0;
	return (uint64_t)(uintptr_t)sbpf_map__lookup(m, (const void *)(uintptr_t)key);
}

/* 2 map_update_elem(map, key, value, flags). */
static uint64_t h_map_update(uint64_t map, uint64_t key, uint64_t value, uint64_t flags, uint64_t r5)
{
	(void)r5;
	struct sbpf_map *m = arg_map(map);
	if (!m || !arg_mem(key, sbpf_map__key_size(m), 0) || !arg_mem(value, sbpf_map__value_size(m), 0))
		return (uint64_t)-EINVAL;
	return (uint64_t)(int64_t)sbpf_map__update(m, (const void *)(uintptr_t)key,
						   (const void *)(uintptr_t)value, flags);
}

/* 3 map_delete_elem(map, key). */
static uint64_t h_map_delete(uint64_t map, uint64_t key, uint64_t r3, uint64_t r4, uint64_t r5)
{
	UNUSED4(r3, r4, r5, 0);
	struct sbpf_map *m = arg_map(map);
	if (!m || !arg_mem(key, sbpf_map__key_size(m), 0))
		return (uint64_t)-EINVAL;
	return (uint64_t)(int64_t)sbpf_map__delete(m, (const void *)(uintptr_t)key);
}

/* 5 ktime_get_ns: CLOCK_MONOTONIC in nanoseconds. */
static uint64_t h_ktime_ns(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	UNUSED4(r1, r2, r3, r4), (void)r5;
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 7 get_prandom_u32: the maps' seeded generator (sbpf_maps__set_seed). */
static uint64_t h_prandom(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	UNUSED4(r1, r2, r3, r4), (void)r5;
	return rt_env && rt_env->maps ? vm_maps_prandom(rt_env->maps) : 0;
}

/* 8 get_smp_processor_id: the CPU runs count as (sbpf_maps__set_cpu). */
static uint64_t h_cpu(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	UNUSED4(r1, r2, r3, r4), (void)r5;
	return rt_env && rt_env->maps ? vm_maps_cpu(rt_env->maps) : 0;
}

/* 12 tail_call(ctx, prog_array, index): user-space prog arrays hold no
 * programs, so, as with an empty slot in the kernel, the call fails and
 * the program goes on. */
static uint64_t h_tail_call(uint64_t ctx, uint64_t map, uint64_t idx, uint64_t r4, uint64_t r5)
{
	(void)ctx, (void)idx, (void)r4, (void)r5;
	struct sbpf_map *m = arg_map(map);
	if (!m || sbpf_map__type(m) != SBPF_MAP_PROG_ARRAY)
		return (uint64_t)-EINVAL;
	return (uint64_t)-ENOENT;
}

/* 23 redirect(ifindex, flags): XDP_REDIRECT, or XDP_ABORTED with flags. */
static uint64_t h_redirect(uint64_t ifindex, uint64_t flags, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)ifindex, (void)r3, (void)r4, (void)r5;
	return flags ? XDP_ABORTED : XDP_REDIRECT;
}

/* 25 perf_event_output(ctx, map, flags, data, size): no perf event is open
 * on any slot in user space, so -ENOENT as the kernel gives then (after
 * the kernel's own argument checks). */
static uint64_t h_perf_output(uint64_t ctx, uint64_t map, uint64_t flags, uint64_t data, uint64_t size)
{
	struct sbpf_map *m = arg_map(map);
	if (!m || sbpf_map__type(m) != SBPF_MAP_PERF_EVENT_ARRAY || !arg_mem(data, size, 0))
		return (uint64_t)-EINVAL;
	if (flags & ~(0xfffffull << 32 | 0xffffffffull))
		return (uint64_t)-EINVAL;
	struct sbpf_xdp_ctx *x = (struct sbpf_xdp_ctx *)(uintptr_t)ctx;
	uint64_t ctxlen = (flags >> 32) & 0xfffff;
	if (ctxlen && rt_env && rt_env->pkt_end && ctxlen > x->data_end - x->data)
		return (uint64_t)-EFAULT;
	uint64_t index = flags & 0xffffffffull;
	if (index != 0xffffffffull && index >= sbpf_map__max_entries(m))
		return (uint64_t)-E2BIG;
	return (uint64_t)-ENOENT;
}

/* 28 csum_diff(from, from_size, to, to_size, seed): the one's complement
 * sum of seed, the complement of @from's words and @to's words, folded to
 * 16 bits as current kernels return it (test_umaps compares with the
 * running kernel; older x86 kernels returned the unfolded 32-bit sum). */
static uint64_t h_csum_diff(uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size, uint64_t seed)
{
	if (((from_size | to_size) & 3) || from_size + to_size > 512 || from_size > 512 ||
	    (from_size && !arg_mem(from, from_size, 0)) || (to_size && !arg_mem(to, to_size, 0)))
		return (uint64_t)-EINVAL;
	uint64_t sum = (uint32_t)seed;
	for (uint64_t i = 0; i < from_size; i += 4) {
		uint32_t w;
		memcpy(&w, (const uint8_t *)(uintptr_t)from + i, 4);
		sum += (uint32_t)~w;
	}
	for (uint64_t i = 0; i < to_size; i += 4) {
		uint32_t w;
		memcpy(&w, (const uint8_t *)(uintptr_t)to + i, 4);
		sum += w;
	}
	while (sum >> 16)
		sum = (sum & 0xffffull) + (sum >> 16);
	return sum;
}

/* The xdp context of the current run at @ctx, or NULL. */
static struct sbpf_xdp_ctx *arg_xdp(uint64_t ctx)
{
	if (!rt_env || !rt_env->pkt_end || !arg_mem(ctx, sizeof(struct sbpf_xdp_ctx), 0))
		return NULL;
	return (struct sbpf_xdp_ctx *)(uintptr_t)ctx;
}

/* 44 xdp_adjust_head(ctx, delta): moves the packet start within the
 * buffer (user space has no headroom before the caller's bytes). */
static uint64_t h_adjust_head(uint64_t ctx, uint64_t delta, uint64_t r3, uint64_t r4, uint64_t r5)
{
	UNUSED4(r3, r4, r5, 0);
	struct sbpf_xdp_ctx *x = arg_xdp(ctx);
	if (!x)
		return (uint64_t)-EINVAL;
	int64_t d = (int32_t)delta;
	uint64_t metalen = x->data - x->data_meta;
	uint64_t data = x->data + (uint64_t)d;
	if (data < rt_env->pkt_start + metalen || data + ETH_HLEN > x->data_end)
		return (uint64_t)-EINVAL;
	if (metalen)
		memmove((void *)(uintptr_t)(x->data_meta + (uint64_t)d), (void *)(uintptr_t)x->data_meta, metalen);
	x->data_meta += (uint64_t)d;
	x->data = data;
	return 0;
}

/* 54 xdp_adjust_meta(ctx, delta): metadata of up to 32 bytes (multiple of
 * 4) before the packet. */
static uint64_t h_adjust_meta(uint64_t ctx, uint64_t delta, uint64_t r3, uint64_t r4, uint64_t r5)
{
	UNUSED4(r3, r4, r5, 0);
	struct sbpf_xdp_ctx *x = arg_xdp(ctx);
	if (!x)
		return (uint64_t)-EINVAL;
	uint64_t meta = x->data_meta + (uint64_t)(int64_t)(int32_t)delta;
	if (meta < rt_env->pkt_start || meta > x->data)
		return (uint64_t)-EINVAL;
	uint64_t metalen = x->data - meta;
	if ((metalen & 3) || metalen > 32)
		return (uint64_t)-EACCES;
	x->data_meta = meta;
	return 0;
}

/* 65 xdp_adjust_tail(ctx, delta): moves the packet end within the buffer. */
static uint64_t h_adjust_tail(uint64_t ctx, uint64_t delta, uint64_t r3, uint64_t r4, uint64_t r5)
{
	UNUSED4(r3, r4, r5, 0);
	struct sbpf_xdp_ctx *x = arg_xdp(ctx);
	if (!x)
		return (uint64_t)-EINVAL;
	int64_t d = (int32_t)delta;
	uint64_t end = x->data_end + (uint64_t)d;
	if (end > rt_env->pkt_end || end < x->data + ETH_HLEN)
		return (uint64_t)-EINVAL;
	if (d > 0)
		memset((void *)(uintptr_t)x->data_end, 0, (size_t)d);
	x->data_end = end;
	return 0;
}

/* 51 redirect_map(map, key, flags): user-space redirect maps are empty, so
 * the lookup fails and the result is the action in flags' low bits, as in
 * the kernel. */
static uint64_t h_redirect_map(uint64_t map, uint64_t key, uint64_t flags, uint64_t r4, uint64_t r5)
{
	(void)key, (void)r4, (void)r5;
	struct sbpf_map *m = arg_map(map);
	if (!m || !vm_map_is_redirect(sbpf_map__type(m)))
		return XDP_ABORTED;
	if (flags & ~(uint64_t)(3 | 8 | 16))
		return XDP_ABORTED;
	return flags & 3;
}

/* 93/94 spin_lock / spin_unlock: runs are single-threaded, nothing to wait
 * for; the lock word must be program memory. */
static uint64_t h_spin(uint64_t lock, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	UNUSED4(r2, r3, r4, r5);
	return arg_mem(lock, 4, 1) ? 0 : (uint64_t)-EINVAL;
}

/* 130 ringbuf_output(map, data, size, flags). */
static uint64_t h_ringbuf_output(uint64_t map, uint64_t data, uint64_t size, uint64_t flags, uint64_t r5)
{
	(void)flags, (void)r5;
	struct sbpf_map *m = arg_map(map);
	if (!m || sbpf_map__type(m) != SBPF_MAP_RINGBUF || !arg_mem(data, size, 0))
		return (uint64_t)-EINVAL;
	return sbpf_map__ringbuf_push(m, (const void *)(uintptr_t)data, (uint32_t)size) ? (uint64_t)-EAGAIN : 0;
}

/* 131 ringbuf_reserve(map, size, flags): the record's data, or NULL. */
static uint64_t h_ringbuf_reserve(uint64_t map, uint64_t size, uint64_t flags, uint64_t r4, uint64_t r5)
{
	(void)r4, (void)r5;
	struct sbpf_map *m = arg_map(map);
	if (!m || sbpf_map__type(m) != SBPF_MAP_RINGBUF || flags)
		return 0;
	return (uint64_t)(uintptr_t)vm_ringbuf_reserve(m, size);
}

/* 132 ringbuf_submit(data, flags), 133 ringbuf_discard(data, flags). */
static uint64_t h_ringbuf_submit(uint64_t data, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	UNUSED4(r2, r3, r4, r5);
	return rt_env && rt_env->maps ? (uint64_t)(int64_t)vm_ringbuf_commit(rt_env->maps, data, 0) : 0;
}

static uint64_t h_ringbuf_discard(uint64_t data, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	UNUSED4(r2, r3, r4, r5);
	return rt_env && rt_env->maps ? (uint64_t)(int64_t)vm_ringbuf_commit(rt_env->maps, data, 1) : 0;
}

void vm_helpers_register_runtime(struct sbpf_vm *vm)
{
	static const struct {
		uint32_t id;
		sbpf_helper_fn fn;
	} table[] = {
		{ 1, h_map_lookup }, { 2, h_map_update }, { 3, h_map_delete }, { 5, h_ktime_ns },
		{ 7, h_prandom }, { 8, h_cpu }, { 12, h_tail_call }, { 23, h_redirect },
		{ 25, h_perf_output }, { 28, h_csum_diff }, { 44, h_adjust_head }, { 51, h_redirect_map },
		{ 54, h_adjust_meta }, { 65, h_adjust_tail }, { 93, h_spin }, { 94, h_spin },
		{ 130, h_ringbuf_output }, { 131, h_ringbuf_reserve }, { 132, h_ringbuf_submit },
		{ 133, h_ringbuf_discard },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		sbpf_vm__set_helper(vm, table[i].id, sbpf_helper_name(table[i].id), table[i].fn);
}

const char *sbpf_helper_name(uint32_t id)
{
	static const char *const names[] = {
#define HELPER(id, name) [id] = name,
#include "vm/helper_names.def"
#undef HELPER
	};
	return id < sizeof(names) / sizeof(names[0]) ? names[id] : NULL;
}
