/* fuzz_interp.c - libFuzzer target for the interpreter: arbitrary bytes are
 * split into an input memory and a program; a program that passes
 * validation runs with a small budget. Whatever it does, the run must end
 * with r0 or a clean error - never a crash, sanitizer report or hang.
 *
 * Input layout: byte 0 = memory length (0..63) and, in bit 6, "with the
 * user-space runtime" (safebpf/maps.h: one map of each type, lddw src 1/2
 * naming them, the runtime helpers with fuzzed arguments), then that many
 * memory bytes, then the program (trailing bytes that do not fill an
 * instruction are dropped).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t mem_len = data[0] & 63;
	int runtime = data[0] & 64;
	data++, size--;
	if (mem_len > size)
		mem_len = size;
	/* An exact-size heap copy, so any access past it is an ASan report. */
	uint8_t *mem = mem_len ? malloc(mem_len) : NULL;
	if (mem_len && !mem)
		return 0;
	if (mem_len)
		memcpy(mem, data, mem_len);
	data += mem_len, size -= mem_len;

	size_t n = size / sizeof(struct sbpf_insn);
	struct sbpf_insn *insns = n ? malloc(n * sizeof(*insns)) : NULL;
	if (n && !insns) {
		free(mem);
		return 0;
	}
	if (n)
		memcpy(insns, data, n * sizeof(*insns));
	struct sbpf_maps *maps = runtime ? sbpf_maps__new() : NULL;
	if (maps) {
		static const struct sbpf_map_def defs[] = {
			{ .name = "a", .type = SBPF_MAP_ARRAY, .key_size = 4, .value_size = 12, .max_entries = 4 },
			{ .name = "h", .type = SBPF_MAP_HASH, .key_size = 4, .value_size = 8, .max_entries = 4 },
			{ .name = "p", .type = SBPF_MAP_PERCPU_HASH, .key_size = 2, .value_size = 4, .max_entries = 2 },
			{ .name = "l", .type = SBPF_MAP_LRU_HASH, .key_size = 8, .value_size = 8, .max_entries = 2 },
			{ .name = "t", .type = SBPF_MAP_LPM_TRIE, .key_size = 8, .value_size = 4, .max_entries = 4 },
			{ .name = "r", .type = SBPF_MAP_RINGBUF, .max_entries = 4096 },
			{ .name = "x", .type = SBPF_MAP_XSKMAP, .key_size = 4, .value_size = 4, .max_entries = 4 },
		};
		char why[160];
		for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
			sbpf_maps__add(maps, &defs[i], why, sizeof(why));
	}
	struct sbpf_vm_opts o = { .sz = sizeof(o), .insn_budget = 10000, .maps = maps };
	struct sbpf_validate_error verr;
	struct sbpf_vm *vm = sbpf_vm__new(insns, n, &o, &verr);
	if (vm) {
		uint64_t r0;
		struct sbpf_run_error err = { 0 };
		int rc = sbpf_vm__run(vm, mem, mem_len, &r0, &err);
		if (rc && !err.reason[0])
			abort(); /* every failure must say why */
		if (sbpf_vm__insn_count(vm) > 10000)
			abort(); /* the budget must hold */
		sbpf_vm__free(vm);
	}
	sbpf_maps__free(maps);
	free(insns);
	free(mem);
	return 0;
}
