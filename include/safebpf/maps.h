/* safebpf/maps.h - the user-space runtime shared by every user-space engine
 * (interpreter, checked and unchecked JIT): BPF maps kept in this process,
 * the references programs make to them, their contents as JSON, and the
 * run-time environment the runtime helpers (map operations, redirect,
 * ring buffers, tail calls...) work in.
 *
 * A program names map K of a set with
 *   lddw dst, src=BPF_PSEUDO_MAP_FD (1), imm=K            the map itself
 *   lddw dst, src=BPF_PSEUDO_MAP_VALUE (2), imm=K, off    byte OFF of entry 0's value
 * i.e. K is the map's index in its set, not a file descriptor (safebpf/elf.h
 * produces this from an object's relocations). Engines given a set resolve
 * those to host addresses (sbpf_maps__resolve); the kernel engine resolves
 * them to the fds of kernel maps made like them (safebpf/kernel.h).
 *
 * Storage: every map's values live in one block (entries * value size,
 * rounded up to 8, times the CPU count for per-CPU maps); a hash map keeps
 * max_entries value slots preallocated, as the kernel's default hash maps
 * do. The checked engines treat each block as one read-write memory region
 * named after the map, so a pointer a lookup returns is valid for the
 * value's bytes; what they cannot tell apart is a program straying from one
 * value into a neighbouring value of the same map (memory-safe either way).
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_MAPS_H
#define SAFEBPF_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Map types, numbered as the kernel's enum bpf_map_type. */
enum {
	SBPF_MAP_HASH = 1,
	SBPF_MAP_ARRAY = 2,
	SBPF_MAP_PROG_ARRAY = 3,
	SBPF_MAP_PERF_EVENT_ARRAY = 4,  /* no readers in user space: output gives -ENOENT */
	SBPF_MAP_PERCPU_HASH = 5,
	SBPF_MAP_PERCPU_ARRAY = 6,
	SBPF_MAP_LRU_HASH = 9,
	SBPF_MAP_LPM_TRIE = 11,
	SBPF_MAP_DEVMAP = 14,           /* redirect targets: always empty in user space */
	SBPF_MAP_CPUMAP = 16,
	SBPF_MAP_XSKMAP = 17,
	SBPF_MAP_DEVMAP_HASH = 25,
	SBPF_MAP_RINGBUF = 27,          /* max_entries = bytes (a power of 2 and a multiple of 4096) */
};

#define SBPF_MAX_MAPS 32            /* maps per set */

/* What a map is made from (an object's map definition). */
struct sbpf_map_def {
	const char *name;          /* unique in the set (copied) */
	uint32_t type;             /* SBPF_MAP_* */
	uint32_t key_size;         /* bytes (0 for ring buffers) */
	uint32_t value_size;       /* bytes (0 for ring buffers) */
	uint32_t max_entries;      /* entries, or ring buffer bytes */
	uint32_t flags;            /* BPF_F_* creation flags (kept for the kernel's copy) */
	const void *init;          /* array maps: initial bytes of the values from entry 0
				    * (global data .data/.bss), or NULL */
	size_t init_len;           /* bytes of init */
};

struct sbpf_maps;
struct sbpf_map;

/* An empty set. NULL with errno on failure. */
struct sbpf_maps *sbpf_maps__new(void);
void sbpf_maps__free(struct sbpf_maps *m);
/* Adds a map; returns its index, or a negative errno with a reason in @why
 * (-EINVAL bad sizes, -EEXIST duplicate name, -E2BIG too large or too
 * many maps). Map types user space has no storage for (unknown types) are
 * added as placeholders: a program that refers to one is refused by
 * sbpf_maps__resolve(), naming it. */
int sbpf_maps__add(struct sbpf_maps *m, const struct sbpf_map_def *def, char *why, size_t whysz);
size_t sbpf_maps__count(const struct sbpf_maps *m);
struct sbpf_map *sbpf_maps__get(const struct sbpf_maps *m, size_t i);
/* The map called @name, or NULL. */
struct sbpf_map *sbpf_maps__find(const struct sbpf_maps *m, const char *name);
/* Empties every map (values back to zero / the definition's initial data,
 * hash maps and ring buffers emptied). */
void sbpf_maps__reset(struct sbpf_maps *m);

/* Number of CPUs of per-CPU maps (the possible CPUs of this machine, as the
 * kernel counts them), and the CPU user-space runs count as (default 0:
 * get_smp_processor_id returns it and per-CPU lookups see its value). */
unsigned sbpf_maps__ncpus(const struct sbpf_maps *m);
void sbpf_maps__set_cpu(struct sbpf_maps *m, unsigned cpu);
/* Seeds get_prandom_u32 (default seed 1): runs are deterministic. */
void sbpf_maps__set_seed(struct sbpf_maps *m, uint64_t seed);

const char *sbpf_map__name(const struct sbpf_map *map);
uint32_t sbpf_map__type(const struct sbpf_map *map);
/* "array", "percpu_hash", ...; "type N" for placeholders. */
const char *sbpf_map__type_name(const struct sbpf_map *map);
uint32_t sbpf_map__key_size(const struct sbpf_map *map);
uint32_t sbpf_map__value_size(const struct sbpf_map *map);
uint32_t sbpf_map__max_entries(const struct sbpf_map *map);
uint32_t sbpf_map__flags(const struct sbpf_map *map);
/* 1 when the map has user-space storage (else a placeholder). */
int sbpf_map__supported(const struct sbpf_map *map);
/* 1 for the per-CPU types. */
int sbpf_map__percpu(const struct sbpf_map *map);

/* Element access as a program sees it: the value for the current CPU, or
 * NULL (no such key; lpm_trie: the longest matching prefix). */
void *sbpf_map__lookup(struct sbpf_map *map, const void *key);
/* Update and delete with the kernel's flags and errors (BPF_ANY 0,
 * BPF_NOEXIST 1, BPF_EXIST 2; -EEXIST, -ENOENT, -E2BIG when full, -EINVAL
 * for arrays' delete or a bad index/flag). Update writes the current CPU's
 * value of a per-CPU map. */
int sbpf_map__update(struct sbpf_map *map, const void *key, const void *value, uint64_t flags);
int sbpf_map__delete(struct sbpf_map *map, const void *key);
/* Iteration in a stable order (arrays: index order; hash maps: ascending
 * key bytes): the key after @key (NULL: the first) into @next. 0, or
 * -ENOENT at the end. */
int sbpf_map__next_key(const struct sbpf_map *map, const void *key, void *next);
/* All CPUs' values of an entry (per-CPU maps: ncpus values of
 * round_up(value_size, 8) bytes each; others: one value), for dumps and
 * the kernel's copy. NULL when the key is absent. */
void *sbpf_map__values(struct sbpf_map *map, const void *key);
/* Writes all CPUs' values (same layout) for @key (adding it). */
int sbpf_map__update_all(struct sbpf_map *map, const void *key, const void *values);

/* Ring buffers: the records submitted so far (not discarded), in order. */
size_t sbpf_map__ringbuf_count(const struct sbpf_map *map);
const void *sbpf_map__ringbuf_record(const struct sbpf_map *map, size_t i, uint32_t *len);
/* Appends a record (the kernel's copy hands its records back this way).
 * 0, or -E2BIG when the ring is full. */
int sbpf_map__ringbuf_push(struct sbpf_map *map, const void *data, uint32_t len);

/* The value block of a map as a memory region for the checked engines:
 * 0 with *@base and *@len set, or -ENOENT for maps without one. */
int sbpf_map__region(const struct sbpf_map *map, void **base, size_t *len);

/* Rewrites the map references of @insns (@n slots, see the top of this
 * file) into plain lddws of host addresses: the map object (src 1) or the
 * value byte (src 2, array maps). Returns the number rewritten, or -EINVAL
 * with a reason for people in @why (index out of range, a placeholder
 * map, a value reference to a non-array map or past its values). */
int sbpf_maps__resolve(struct sbpf_maps *m, struct sbpf_insn *insns, size_t n, char *why, size_t whysz);
/* 1 when @insns refers to maps at all (lddw src 1 or 2). */
int sbpf_maps_referenced(const struct sbpf_insn *insns, size_t n);

/* ---- contents as JSON (docs/vm.md, "Map contents") ------------------------ */

/* Applies @text: an object keyed by map name, each value an object with
 * optional "type"/"key_size"/"value_size"/"max_entries" (checked when
 * given) and "entries": [{"key": HEX, "value": HEX or [HEX per CPU]}];
 * ring buffers take "records": [HEX]. Returns 0, or -EINVAL with a reason
 * (line:column for syntax errors) in @why. */
int sbpf_maps__load_json(struct sbpf_maps *m, const char *text, char *why, size_t whysz);
/* The contents of every map as JSON (malloc'ed, NULL on ENOMEM): arrays
 * list their non-zero entries, hash maps every entry in key order, ring
 * buffers their records, placeholders no entries. */
char *sbpf_maps__dump_json(const struct sbpf_maps *m);

/* ---- the run-time environment of the helpers ------------------------------- */

/* What an engine tells the runtime helpers about the run in progress.
 * Helpers find it through a thread-local pointer (sbpf_rt__enter). */
struct sbpf_rt_env {
	struct sbpf_maps *maps;    /* the program's maps */
	/* Checked engines: 0 when [@addr, @addr+@len) is memory the program may
	 * read (@write 0) or write (1) right now, else -1. NULL: trust the
	 * program (unchecked code: the kernel verifier accepted it). */
	int (*check)(void *arg, uint64_t addr, uint64_t len, int write);
	void *check_arg;           /* for check() */
	uint64_t pkt_start;        /* xdp: first byte of the buffer the packet may move in */
	uint64_t pkt_end;          /* xdp: one past its last byte */
};

/* Makes @env the current environment of this thread; returns the previous
 * one, which the engine restores (sbpf_rt__leave) after the run. */
struct sbpf_rt_env *sbpf_rt__enter(struct sbpf_rt_env *env);
void sbpf_rt__leave(struct sbpf_rt_env *prev);

/* Name of kernel helper @id ("map_lookup_elem"), or NULL when unknown. */
const char *sbpf_helper_name(uint32_t id);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_MAPS_H */
