/* safebpf/datafile.h - reader for instruction test files in the
 * bpf_conformance ".data" format:
 *
 *   # comment
 *   -- asm          assembly, one instruction per line ('#' starts a comment)
 *   -- raw          bytecode: two-digit hex bytes ("b7 00 00 00 2a 00 00 00")
 *                   or 64-bit words ("0x0000002a000000b7", opcode in the low byte)
 *   -- mem          input memory: two-digit hex bytes
 *   -- result       expected r0: 0x-prefixed hex or decimal (may be negative)
 *   -- error        expected error: a substring of the failure message
 *   -- c, ...       any other section is ignored
 *
 * When both -- raw and -- asm are present, -- raw is the program.
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_DATAFILE_H
#define SAFEBPF_DATAFILE_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/diag.h"
#include "safebpf/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sbpf_datafile {
	char *asm_text;   /* the -- asm section with every other line blanked (line numbers match the file), or NULL */
	uint8_t *raw;     /* -- raw bytes, or NULL */
	size_t raw_len;   /* bytes in raw (a multiple of 8) */
	uint8_t *mem;     /* -- mem bytes, or NULL */
	size_t mem_len;   /* bytes in mem */
	int has_result;   /* a -- result value was given */
	uint64_t result;  /* expected r0 */
	char *error;      /* expected error substring (last non-empty line of -- error), or NULL */
};

/* Parses @text (the contents of @file) into @df. Returns 0, or -EINVAL with
 * line:column diagnostics in @diags (bad hex, bad number, a raw section that
 * is not whole instructions), or -ENOMEM. @df is always safe to free. */
int sbpf_datafile__parse(const char *text, const char *file, struct sbpf_datafile *df,
			 struct sbpf_diags *diags);

/* The program of @df: -- raw if present, else the assembled -- asm. Stores
 * a malloc'ed array in *@out / *@n and returns 0; -ENOENT when the file has
 * no instructions; -EINVAL with assembler diagnostics in @diags. */
int sbpf_datafile__program(const struct sbpf_datafile *df, const char *file,
			   struct sbpf_insn **out, size_t *n, struct sbpf_diags *diags);

void sbpf_datafile__free(struct sbpf_datafile *df);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_DATAFILE_H */
