/* asm.c - placeholder until the assembler lands (issue 2). */
#include <errno.h>
#include "safebpf/asm.h"
int sbpf_assemble(const char *text, const char *file, struct sbpf_insn **out, size_t *n,
		  struct sbpf_diags *diags)
{
	(void)out; (void)n;
	sbpf_diags__add(diags, file, text, 0, 1, NULL, "assembler not implemented yet");
	return -ENOSYS;
}
