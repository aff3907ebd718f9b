/* rcheck.c - the recognizer's sanity check: run an original snippet and its
 * replacement in the reference interpreter from the same random states and
 * compare what they leave behind (registers, a data buffer, the stack).
 * This is not the proof - the matching rules and the symbolic comparison
 * are - but a rewrite that ever disagrees here is refused.
 *
 * Harness (program type mem, r1 = the buffer):
 *   buffer: [0, DATA) random bytes, address registers point at DATA/2;
 *           [REGS_IN, +80) initial r0..r9; [REGS_OUT, +88) final r0..r10;
 *           [STACK_OUT, +512) the stack after the snippet.
 * The two runs have stacks of their own, so a register holding a stack
 * address (r10 + k) compares by its offset k from its run's r10 (values
 * that differ by exactly the distance between the two stacks).
 *   prologue: save r1 in a free stack slot, fill the stack from the buffer,
 *             load r0..r9; snippet; epilogue: store r0..r9 and the stack.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kops/kopsInt.h"
#include "safebpf/vm.h"

#define R(i) ((uint16_t)(1u << (i)))

#define DATA      4096
#define REGS_IN   DATA
#define REGS_OUT  (REGS_IN + 80)
#define STACK_OUT (REGS_OUT + 88)
#define BUF_LEN   (STACK_OUT + SBPF_STACK_SIZE)
#define NSLOTS    (SBPF_STACK_SIZE / 8)

/* Stack slots (index j: r10 - 512 + 8j) a snippet addresses through r10. */
static void stack_use(const struct sbpf_insn *s, size_t n, uint8_t used[NSLOTS])
{
	for (size_t i = 0; i < n; i++) {
		uint8_t cls = SBPF_CLASS(s[i].code);
		int base = cls == SBPF_LDX ? s[i].src_reg : (cls == SBPF_ST || cls == SBPF_STX) ? s[i].dst_reg : -1;
		if (base != SBPF_REG_FP)
			continue;
		static const int bytes[4] = { 4, 2, 1, 8 };
		int sz = bytes[(s[i].code >> 3) & 3];
		for (int b = s[i].off; b < s[i].off + sz; b++)
			if (b >= -SBPF_STACK_SIZE && b < 0)
				used[(b + SBPF_STACK_SIZE) / 8] = 1;
	}
}

/* Builds harness + @snip into a program; NULL on failure. */
static struct sbpf_insn *harness(const struct sbpf_insn *snip, size_t n, uint16_t ptrs, int f1, int f2,
				 size_t *len)
{
	struct sbpf_builder *b = sbpf_builder__new();
	if (!b)
		return NULL;
	int16_t s1 = (int16_t)(-SBPF_STACK_SIZE + 8 * f1), s2 = (int16_t)(-SBPF_STACK_SIZE + 8 * f2);
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, s1));
	/* the stack starts with the random bytes of the buffer (r2 is loaded later) */
	for (int j = 0; j < NSLOTS; j++) {
		if (j == f1 || j == f2)
			continue;
		sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 2, 1, (int16_t)(DATA / 2 - SBPF_STACK_SIZE + 8 * j)));
		sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 2, (int16_t)(-SBPF_STACK_SIZE + 8 * j)));
	}
	for (int r = 0; r < 10; r++) {
		if (r == 1)
			continue;
		if (ptrs & R(r)) {
			sbpf_builder__emit(b, SBPF_MOV64_REG(r, 1));
			sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, r, DATA / 2));
		} else {
			sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, r, 1, (int16_t)(REGS_IN + 8 * r)));
		}
	}
	if (ptrs & R(1))
		sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 1, DATA / 2));
	else
		sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 1, 1, REGS_IN + 8));
	for (size_t i = 0; i < n; i++)
		sbpf_builder__emit(b, snip[i]);
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, s2));
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, s1));
	for (int r = 1; r < 10; r++)
		sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, 0, r, (int16_t)(REGS_OUT + 8 * r)));
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 1, SBPF_REG_FP, s2));
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, 0, 1, REGS_OUT));
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, 0, SBPF_REG_FP, REGS_OUT + 80));
	for (int j = 0; j < NSLOTS; j++) {
		if (j == f1 || j == f2)
			continue;
		sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 1, SBPF_REG_FP, (int16_t)(-SBPF_STACK_SIZE + 8 * j)));
		sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, 0, 1, (int16_t)(STACK_OUT + 8 * j)));
	}
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	struct sbpf_insn *prog = NULL;
	if (sbpf_builder__finish(b, &prog, len, NULL))
		prog = NULL;
	sbpf_builder__free(b);
	return prog;
}

static uint64_t rnd64(uint64_t *s)
{
	/* xorshift64*: deterministic, so a refusal can be reproduced */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static const uint64_t edge[] = {
	0, 1, 2, 7, 8, 31, 32, 63, 64, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
	0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0x0123456789abcdefull,
};

int kops_rcheck(const struct sbpf_insn *orig, size_t norig, const struct sbpf_insn *repl,
		size_t nrepl, const struct kops_regfacts *in, uint16_t ptrs, uint16_t dead,
		uint16_t low32, unsigned rounds, char *why, size_t whysz)
{
	uint8_t used[NSLOTS] = { 0 };
	stack_use(orig, norig, used);
	stack_use(repl, nrepl, used);
	int f1 = -1, f2 = -1;
	for (int j = 0; j < NSLOTS && f2 < 0; j++)
		if (!used[j]) {
			if (f1 < 0)
				f1 = j;
			else
				f2 = j;
		}
	if (f2 < 0)
		return snprintf(why, whysz, "no free stack slot for the harness"), -ENOSPC;
	size_t n1, n2;
	struct sbpf_insn *p1 = harness(orig, norig, ptrs, f1, f2, &n1);
	struct sbpf_insn *p2 = harness(repl, nrepl, ptrs, f1, f2, &n2);
	/* (the harness stores r10 and registers that may hold stack
	 * addresses, compared by offset: its own, trusted use) */
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .stack_escape = true };
	struct sbpf_vm *v1 = p1 ? sbpf_vm__new(p1, n1, &vo, NULL) : NULL;
	struct sbpf_vm *v2 = p2 ? sbpf_vm__new(p2, n2, &vo, NULL) : NULL;
	uint8_t *m1 = malloc(BUF_LEN), *m2 = malloc(BUF_LEN);
	int rc = 0;
	if (!v1 || !v2 || !m1 || !m2) {
		snprintf(why, whysz, "harness could not be built");
		rc = -EINVAL;
		goto out;
	}
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ norig << 8 ^ nrepl;
	for (unsigned round = 0; round < rounds && !rc; round++) {
		for (size_t i = 0; i < DATA; i += 8) {
			uint64_t v = rnd64(&seed);
			memcpy(m1 + i, &v, 8);
		}
		for (int r = 0; r < 10; r++) {
			uint64_t v = round % 3 == 0 ? edge[(round / 3 + (unsigned)r * 5) % (sizeof(edge) / 8)] : rnd64(&seed);
			if (in && (in->known & R(r)))
				v = in->val[r];
			else if (in && (in->zext & R(r)))
				v &= 0xffffffffull;
			memcpy(m1 + REGS_IN + 8 * r, &v, 8);
		}
		memset(m1 + REGS_OUT, 0, BUF_LEN - REGS_OUT);
		/* both run on the same buffer (m2), so pointers compare equal;
		 * m1 keeps the initial state, then the original's final state */
		uint64_t r0a = 0, r0b = 0;
		struct sbpf_run_error e1, e2;
		memcpy(m2, m1, BUF_LEN);
		int rc1 = sbpf_vm__run(v1, m2, BUF_LEN, &r0a, &e1);
		for (size_t i = 0; i < BUF_LEN; i++) { /* swap: m1 = after original, m2 = initial */
			uint8_t t = m1[i];
			m1[i] = m2[i];
			m2[i] = t;
		}
		int rc2 = sbpf_vm__run(v2, m2, BUF_LEN, &r0b, &e2);
		if (rc1 != rc2) {
			snprintf(why, whysz, "round %u: original %s, replacement %s", round,
				 rc1 ? e1.reason : "runs", rc2 ? e2.reason : "runs");
			rc = -EDOM;
			break;
		}
		if (rc1)
			continue; /* both stop at a bad access: nothing to compare */
		uint64_t fpa, fpb;
		memcpy(&fpa, m1 + REGS_OUT + 80, 8);
		memcpy(&fpb, m2 + REGS_OUT + 80, 8);
		for (int r = 0; r < 10 && !rc; r++) {
			uint64_t a, b;
			memcpy(&a, m1 + REGS_OUT + 8 * r, 8);
			memcpy(&b, m2 + REGS_OUT + 8 * r, 8);
			if (dead & R(r))
				continue;
			if (a != b && a - fpa == b - fpb)
				continue; /* r10 + the same offset: equal as stack addresses */
			if (low32 & R(r)) {
				a = (uint32_t)a;
				b = (uint32_t)b;
			}
			if (a != b) {
				snprintf(why, whysz, "round %u: r%d is 0x%llx after the original, 0x%llx after the replacement",
					 round, r, (unsigned long long)a, (unsigned long long)b);
				rc = -EDOM;
			}
		}
		if (!rc && memcmp(m1, m2, DATA)) {
			snprintf(why, whysz, "round %u: memory differs", round);
			rc = -EDOM;
		}
		if (!rc && memcmp(m1 + STACK_OUT, m2 + STACK_OUT, SBPF_STACK_SIZE)) {
			snprintf(why, whysz, "round %u: stack differs", round);
			rc = -EDOM;
		}
	}
out:
	sbpf_vm__free(v1);
	sbpf_vm__free(v2);
	free(p1);
	free(p2);
	free(m1);
	free(m2);
	return rc;
}
