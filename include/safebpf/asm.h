/* safebpf/asm.h - assembler (text -> bytecode) and disassembler (bytecode
 * -> text) for the bpf_conformance / uBPF assembly syntax, plus the kernel
 * verifier-log style for reading.
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_ASM_H
#define SAFEBPF_ASM_H

#include <stddef.h>
#include <stdio.h>

#include "safebpf/diag.h"
#include "safebpf/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Assembles @text (named @file in diagnostics). On success stores a malloc'ed
 * program in *@out / *@n and returns 0. On error returns -EINVAL and leaves
 * every problem found (line:column, caret, hint) in @diags, which the caller
 * frees with sbpf_diags__free(). */
int sbpf_assemble(const char *text, const char *file, struct sbpf_insn **out,
		  size_t *n, struct sbpf_diags *diags);

enum sbpf_disasm_style {
	SBPF_DISASM_ASM,          /* "ldxh %r9, [%r0+2]" - reassembles byte-identically;
				   * whole programs get labels for jump targets */
	SBPF_DISASM_KERNEL,       /* "r9 = *(u16 *)(r0 +2)" - verifier-log style */
	SBPF_DISASM_ASM_NOLABELS, /* as ASM, but jump targets always as +off / -off */
};

/* Writes one instruction (at slot @pc of @insns, @n slots; lddw reads the
 * next slot) into @buf (always NUL-terminated when @bufsz > 0; truncated if
 * short). Jump targets are written as relative offsets. Returns the slots
 * consumed (1 or 2), or -EINVAL for an instruction that has no form, uses a
 * field its form leaves unused, or names a register above r10 (then @buf
 * holds ".raw 0x<16 hex digits>", the 8 bytes in memory order, which the
 * assembler accepts back). */
int sbpf_disasm_insn(const struct sbpf_insn *insns, size_t n, size_t pc,
		     enum sbpf_disasm_style style, char *buf, size_t bufsz);

/* Writes the whole program to @out, one instruction per line. ASM style:
 * jump and call targets get labels ("L12:", "fn20:" after the slot index);
 * KERNEL style: each line starts with "slot: (opcode) ". Undecodable slots
 * are written as .raw and the program is still written to the end. Returns
 * 0, -EINVAL when some slot was undecodable, or -EIO on a write error. */
int sbpf_disasm(const struct sbpf_insn *insns, size_t n, enum sbpf_disasm_style style,
		FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_ASM_H */
