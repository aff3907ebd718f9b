/* fuzz_validate.c - libFuzzer target for the validator and disassembler on
 * raw bytecode: nothing crashes; a program sbpf_validate() accepts has no
 * undecodable slot and its listing assembles back to the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/asm.h"

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz_validate: property violated: " __VA_ARGS__); \
			fputc('\n', stderr);                                             \
			abort();                                                         \
		}                                                                        \
	} while (0)

/* The listing of @p in @style (malloc'ed); *@rc gets sbpf_disasm's result. */
static char *listing(const struct sbpf_insn *p, size_t n, enum sbpf_disasm_style style, int *rc)
{
	char *text = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&text, &sz);
	if (!f)
		return NULL;
	*rc = sbpf_disasm(p, n, style, f);
	fclose(f);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size / sizeof(struct sbpf_insn);
	if (n == 0 || n > 4096)
		return 0;
	struct sbpf_insn *p = malloc(n * sizeof(*p));
	if (!p)
		return 0;
	memcpy(p, data, n * sizeof(*p));
	struct sbpf_validate_error err;
	int valid = sbpf_validate(p, n, &err) == 0;
	if (!valid)
		CHECK(err.index < n, "error index %zu beyond %zu slots", err.index, n);

	int rc_asm, rc_kern;
	char *kern = listing(p, n, SBPF_DISASM_KERNEL, &rc_kern);
	char *text = listing(p, n, SBPF_DISASM_ASM, &rc_asm);
	CHECK(rc_asm == rc_kern, "styles disagree on decodability (%d vs %d)", rc_asm, rc_kern);
	if (valid && text) {
		CHECK(rc_asm == 0, "valid program has undecodable slots:\n%s", text);
		struct sbpf_diags d = { 0 };
		struct sbpf_insn *q = NULL;
		size_t n2 = 0;
		int rc = sbpf_assemble(text, "listing", &q, &n2, &d);
		CHECK(rc == 0, "listing of a valid program does not assemble:\n%s", text);
		CHECK(n2 == n && !memcmp(p, q, n * sizeof(*p)), "round trip changed bytes:\n%s", text);
		free(q);
		sbpf_diags__free(&d);
	}
	free(kern);
	free(text);
	free(p);
	return 0;
}
