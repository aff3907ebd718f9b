/* fuzz_asm.c - libFuzzer target for the assembler: any text either
 * assembles or yields at least one located diagnostic, and whatever
 * assembles survives assemble -> disassemble -> assemble byte for byte in
 * both assembler styles (with labels and with +off targets).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/asm.h"

#define CHECK(cond, ...)                                                            \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "fuzz_asm: property violated: " __VA_ARGS__); \
			fputc('\n', stderr);                                        \
			abort();                                                    \
		}                                                                   \
	} while (0)

/* Disassembles @p in @style and checks the text assembles to @p again. */
static void check_round_trip(const struct sbpf_insn *p, size_t n, enum sbpf_disasm_style style)
{
	char *text = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&text, &sz);
	if (!f)
		return;
	int rc = sbpf_disasm(p, n, style, f);
	fclose(f);
	CHECK(rc == 0, "disasm of a valid program returned %d", rc);
	struct sbpf_diags d = { 0 };
	struct sbpf_insn *q = NULL;
	size_t n2 = 0;
	rc = sbpf_assemble(text, "listing", &q, &n2, &d);
	if (rc) {
		char *msg = sbpf_diags__format(&d);
		fprintf(stderr, "listing:\n%s\nerrors:\n%s", text, msg ? msg : "?");
		free(msg);
	}
	CHECK(rc == 0, "the listing (style %d) does not assemble", style);
	CHECK(n2 == n && !memcmp(p, q, n * sizeof(*p)), "round trip (style %d) changed the bytes:\n%s",
	      style, text);
	free(q);
	free(text);
	sbpf_diags__free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* an embedded NUL simply ends the text */
	struct sbpf_diags d = { 0 };
	struct sbpf_insn *p = NULL;
	size_t n = 0;
	int rc = sbpf_assemble(text, "fuzz.s", &p, &n, &d);
	char *msg = sbpf_diags__format(&d);
	free(msg);
	if (rc == 0) {
		CHECK(d.n == 0 && p && n > 0, "success with %zu diagnostics", d.n);
		CHECK(sbpf_validate(p, n, NULL) == 0, "assembled program does not validate");
		check_round_trip(p, n, SBPF_DISASM_ASM);
		check_round_trip(p, n, SBPF_DISASM_ASM_NOLABELS);
		char buf[24]; /* short on purpose: truncation must be safe */
		for (size_t pc = 0; pc < n;) {
			int k = sbpf_disasm_insn(p, n, pc, SBPF_DISASM_KERNEL, buf, sizeof(buf));
			CHECK(k == 1 || k == 2, "kernel style of slot %zu returned %d", pc, k);
			pc += (size_t)k;
		}
	} else {
		CHECK(p == NULL, "failure left a program");
		CHECK(d.n > 0 || rc == -12, "failure %d without a diagnostic", rc);
		for (size_t i = 0; i < d.n; i++)
			CHECK(d.items[i].line >= 1 && d.items[i].col >= 1 && d.items[i].message[0],
			      "diagnostic %zu has no position", i);
	}
	free(p);
	free(text);
	sbpf_diags__free(&d);
	return 0;
}
