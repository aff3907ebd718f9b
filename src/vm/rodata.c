/* rodata.c - read-only data of a program (const tables, string literals:
 * the .rodata sections of a clang object, see safebpf/elf.h). A program
 * names byte <off> of its read-only block with
 *   lddw dst, src=BPF_PSEUDO_MAP_IDX_VALUE (6) imm=0, second slot imm = off
 * (the kernel resolves that against fd_array[0], a frozen read-only array
 * map). User-space engines keep their own copy of the block and resolve
 * each such lddw into a plain 64-bit constant: its host address.
 */
#include <errno.h>
#include <stdint.h>

#include "safebpf/vm.h"

int sbpf_rodata_resolve(struct sbpf_insn *insns, size_t n, const void *base, size_t len)
{
	int count = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		struct sbpf_insn *in = &insns[i];
		if (in->code != (SBPF_LD | SBPF_DW | SBPF_IMM))
			continue;
		uint32_t off = (uint32_t)insns[i + 1].imm;
		if (in->src_reg == SBPF_RODATA_PSEUDO && in->imm == 0 && base && off <= len) {
			uint64_t addr = (uint64_t)(uintptr_t)base + off;
			in->src_reg = 0;
			in->imm = (int32_t)(uint32_t)addr;
			insns[i + 1].imm = (int32_t)(uint32_t)(addr >> 32);
			count++;
		}
		i++; /* second slot */
	}
	return count;
}
