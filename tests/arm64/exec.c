/* exec.c - `runner exec`: runs raw AArch64 code on given registers, flags
 * and memory, and prints what it left, so that the prover's AArch64
 * semantics (src/prove/a64_sem.c) can be compared with real execution
 * under qemu-aarch64 (tests/unit/test_prove_arm64.c writes the cases and
 * reads the results).
 *
 * Input, one case per line on stdin:
 *   N W1..WN X0..X30 NZCV MEM
 * (N instruction words, the 31 registers and NZCV in hex, MEM the
 * EXEC_MEM_SIZE bytes at EXEC_MEM_BASE as hex). Output, one line per case:
 *   X0..X30 NZCV MEM
 * The code runs between a prologue that loads every register and the
 * flags from the case and an epilogue that stores them back; it must not
 * touch sp, and may branch forward to its own end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define EXEC_MEM_BASE 0x40000000ul
#define EXEC_MEM_SIZE 1024
#define MAX_WORDS 512

int exec_main(void);

/* state: x0..x30 at 8*i, NZCV at 8*31. */
__asm__(
	".text\n"
	".globl exec_pro\n"
	"exec_pro:\n"
	"	stp x29, x30, [sp, #-16]!\n"
	"	stp x27, x28, [sp, #-16]!\n"
	"	stp x25, x26, [sp, #-16]!\n"
	"	stp x23, x24, [sp, #-16]!\n"
	"	stp x21, x22, [sp, #-16]!\n"
	"	stp x19, x20, [sp, #-16]!\n"
	"	str x0, [sp, #-16]!\n"
	"	ldr x1, [x0, #248]\n"
	"	msr nzcv, x1\n"
	"	ldp x2, x3, [x0, #16]\n"
	"	ldp x4, x5, [x0, #32]\n"
	"	ldp x6, x7, [x0, #48]\n"
	"	ldp x8, x9, [x0, #64]\n"
	"	ldp x10, x11, [x0, #80]\n"
	"	ldp x12, x13, [x0, #96]\n"
	"	ldp x14, x15, [x0, #112]\n"
	"	ldp x16, x17, [x0, #128]\n"
	"	ldp x18, x19, [x0, #144]\n"
	"	ldp x20, x21, [x0, #160]\n"
	"	ldp x22, x23, [x0, #176]\n"
	"	ldp x24, x25, [x0, #192]\n"
	"	ldp x26, x27, [x0, #208]\n"
	"	ldp x28, x29, [x0, #224]\n"
	"	ldr x30, [x0, #240]\n"
	"	ldp x0, x1, [x0]\n"
	".globl exec_pro_end\n"
	"exec_pro_end:\n"
	".globl exec_epi\n"
	"exec_epi:\n"
	"	stp x0, x1, [sp, #-16]!\n"
	"	ldr x0, [sp, #16]\n"
	"	stp x2, x3, [x0, #16]\n"
	"	stp x4, x5, [x0, #32]\n"
	"	stp x6, x7, [x0, #48]\n"
	"	stp x8, x9, [x0, #64]\n"
	"	stp x10, x11, [x0, #80]\n"
	"	stp x12, x13, [x0, #96]\n"
	"	stp x14, x15, [x0, #112]\n"
	"	stp x16, x17, [x0, #128]\n"
	"	stp x18, x19, [x0, #144]\n"
	"	stp x20, x21, [x0, #160]\n"
	"	stp x22, x23, [x0, #176]\n"
	"	stp x24, x25, [x0, #192]\n"
	"	stp x26, x27, [x0, #208]\n"
	"	stp x28, x29, [x0, #224]\n"
	"	str x30, [x0, #240]\n"
	"	mrs x1, nzcv\n"
	"	str x1, [x0, #248]\n"
	"	ldp x2, x3, [sp], #16\n"
	"	stp x2, x3, [x0]\n"
	"	add sp, sp, #16\n"
	"	ldp x19, x20, [sp], #16\n"
	"	ldp x21, x22, [sp], #16\n"
	"	ldp x23, x24, [sp], #16\n"
	"	ldp x25, x26, [sp], #16\n"
	"	ldp x27, x28, [sp], #16\n"
	"	ldp x29, x30, [sp], #16\n"
	"	ret\n"
	".globl exec_epi_end\n"
	"exec_epi_end:\n");

extern const uint8_t exec_pro[], exec_pro_end[], exec_epi[], exec_epi_end[];

static int hexbytes(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

int exec_main(void)
{
	uint8_t *mem = mmap((void *)EXEC_MEM_BASE, EXEC_MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	size_t pro = (size_t)(exec_pro_end - exec_pro), epi = (size_t)(exec_epi_end - exec_epi);
	size_t cap = pro + 4 * MAX_WORDS + epi;
	uint8_t *code = mmap(NULL, cap, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || (uintptr_t)mem != EXEC_MEM_BASE || code == MAP_FAILED) {
		fprintf(stderr, "exec: cannot map the memory window or the code\n");
		return 1;
	}
	static char line[65536];
	int cases = 0;
	while (fgets(line, sizeof(line), stdin)) {
		char *p = line, *end;
		unsigned long n = strtoul(p, &end, 10);
		if (end == p)
			continue;
		if (n > MAX_WORDS) {
			fprintf(stderr, "exec: too many words\n");
			return 1;
		}
		p = end;
		memcpy(code, exec_pro, pro);
		for (unsigned long i = 0; i < n; i++) {
			uint32_t w = (uint32_t)strtoul(p, &end, 16);
			p = end;
			memcpy(code + pro + 4 * i, &w, 4);
		}
		memcpy(code + pro + 4 * n, exec_epi, epi);
		uint64_t st[32];
		for (int i = 0; i < 32; i++) {
			st[i] = strtoull(p, &end, 16);
			p = end;
		}
		while (*p == ' ')
			p++;
		if (hexbytes(p, mem, EXEC_MEM_SIZE)) {
			fprintf(stderr, "exec: case %d: bad memory\n", cases);
			return 1;
		}
		__builtin___clear_cache((char *)code, (char *)code + cap);
		((void (*)(uint64_t *))(void *)code)(st);
		for (int i = 0; i < 32; i++)
			printf("%" PRIx64 " ", st[i]);
		for (int i = 0; i < EXEC_MEM_SIZE; i++)
			printf("%02x", mem[i]);
		printf("\n");
		cases++;
	}
	fflush(stdout);
	return 0;
}
