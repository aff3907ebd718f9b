/* kops_batch.h - the batch harness shared by the Kops emit tests of every
 * target (tests/unit/test_kops_x86.c on the host, tests/arm64/kops.c under
 * qemu-aarch64): the memory layout of a batch run, the input values, and
 * the program "for each block: load every register from the input; the
 * site; store every register the site does not clobber", so one compile
 * covers many register assignments. Included by exactly those two files.
 */
#ifndef SBPF_TESTS_KOPS_BATCH_H
#define SBPF_TESTS_KOPS_BATCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kops/kopsInt.h"
#include "safebpf/isa.h"

/* ---- memory layout of a batch run ---------------------------------------- */

#define DATA_LEN  256                    /* data area at mem + 0: memory operands point here */
#define PRIS_OFF  256                    /* pristine data (256) + pristine stack area (128) */
#define IN_OFF    (PRIS_OFF + 384)       /* input values of r0..r9 */
#define OUT_OFF   (IN_OFF + 80)          /* per block: r0..r10, then data and stack copies */
#define STK       (-144)                 /* stack data area: fp-144 .. fp-17 (128 bytes) */
#define STK_LEN   128
#define REGS_OUT  88                     /* r0..r10 */
#define MEM_OUT   (DATA_LEN + STK_LEN)   /* data and stack after the block (memory-writing ops) */
#define ROUNDS    8

/* One block of a batch: a site and where its pointer registers point. */
struct blk {
	struct sbpf_kops_payload p;      /* the site */
	int32_t ptr[11];                 /* r<i> = mem + ptr[i], or NOPTR: an input value */
};
#define NOPTR INT32_MIN

/* A growable program. */
struct prog {
	struct sbpf_insn *v;
	size_t n, cap;
};

static void put(struct prog *p, struct sbpf_insn in)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		if (!p->v) {
			fprintf(stderr, "kops batch: out of memory\n");
			abort();
		}
	}
	p->v[p->n++] = in;
}

static const uint64_t boundary[] = {
	0, 1, 2, 7, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0xfffffffffffffffeull,
	0x0123456789abcdefull, 0xffffffff80000000ull, 0x00000000fffffffeull,
};
#define NBOUND (sizeof(boundary) / sizeof(boundary[0]))

static uint64_t rnd(void)
{
	return (uint64_t)random() << 42 ^ (uint64_t)random() << 21 ^ (uint64_t)random();
}

/* Input value of r<r> in round @k: boundary values, random ones, all
 * registers equal (conditions that compare equal), small counts with
 * random high bits (rotate and shift amounts around 0, 31, 32, 63, 64). */
static uint64_t value(int k, int r, uint64_t same)
{
	switch (k % 4) {
	case 0:  return boundary[(size_t)(k * 7 + r * 3) % NBOUND];
	case 1:  return rnd();
	case 2:  return same;
	default: return (rnd() & ~0x7full) | (uint64_t)(random() % 70);
	}
}

static int writes_memory(const struct sbpf_kops_payload *p)
{
	return p->op == SBPF_KOPS_BULK_COPY;
}

/* Builds the batch program for @blks[0..@nb). */
static void build(const struct blk *blks, size_t nb, struct prog *pg)
{
	int wm = writes_memory(&blks[0].p);
	size_t out_size = REGS_OUT + (wm ? MEM_OUT : 0);
	put(pg, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, -8));
	for (int i = 0; i < STK_LEN; i += 8) {
		put(pg, SBPF_LDX_MEM(SBPF_DW, 0, 1, (int16_t)(PRIS_OFF + DATA_LEN + i)));
		put(pg, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, (int16_t)(STK + i)));
	}
	for (size_t j = 0; j < nb; j++) {
		const struct blk *bk = &blks[j];
		int16_t out = (int16_t)(OUT_OFF + j * out_size);
		uint16_t clob = sbpf_kops_clobbers(&bk->p);
		put(pg, SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, -8));
		if (wm) {
			for (int i = 0; i < DATA_LEN; i += 8) {
				put(pg, SBPF_LDX_MEM(SBPF_DW, 1, 0, (int16_t)(PRIS_OFF + i)));
				put(pg, SBPF_STX_MEM(SBPF_DW, 0, 1, (int16_t)i));
			}
			for (int i = 0; i < STK_LEN; i += 8) {
				put(pg, SBPF_LDX_MEM(SBPF_DW, 1, 0, (int16_t)(PRIS_OFF + DATA_LEN + i)));
				put(pg, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, (int16_t)(STK + i)));
			}
		}
		for (int r = 1; r <= 9; r++) {
			if (bk->ptr[r] != NOPTR) {
				put(pg, SBPF_MOV64_REG(r, 0));
				put(pg, SBPF_ALU64_IMM(SBPF_ADD, r, bk->ptr[r]));
			} else {
				put(pg, SBPF_LDX_MEM(SBPF_DW, r, 0, (int16_t)(IN_OFF + 8 * r)));
			}
		}
		if (bk->ptr[0] != NOPTR)
			put(pg, SBPF_ALU64_IMM(SBPF_ADD, 0, bk->ptr[0]));
		else
			put(pg, SBPF_LDX_MEM(SBPF_DW, 0, 0, IN_OFF));
		struct sbpf_insn site[2];
		sbpf_kops_encode(&bk->p, site);
		put(pg, site[0]);
		put(pg, site[1]);
		/* an fp-relative result leaves as its distance from r10 (a stack
		 * address must not leave the program: sbpf_validate_clobbers) */
		if (bk->p.op == SBPF_KOPS_LEA && bk->p.a == SBPF_REG_FP && !(clob >> bk->p.dst & 1))
			put(pg, SBPF_ALU64_REG(SBPF_SUB, bk->p.dst, SBPF_REG_FP));
		if (!(clob & 1))
			put(pg, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, -16));
		put(pg, SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, -8));
		for (int r = 1; r <= 9; r++)
			if (!(clob >> r & 1))
				put(pg, SBPF_STX_MEM(SBPF_DW, 0, r, (int16_t)(out + 8 * r)));
		put(pg, SBPF_ST_MEM(SBPF_DW, 0, (int16_t)(out + 80), 0)); /* r10: 0 (the distances above) */
		if (!(clob & 1)) {
			put(pg, SBPF_LDX_MEM(SBPF_DW, 1, SBPF_REG_FP, -16));
			put(pg, SBPF_STX_MEM(SBPF_DW, 0, 1, out));
		}
		if (wm) {
			for (int i = 0; i < DATA_LEN; i += 8) {
				put(pg, SBPF_LDX_MEM(SBPF_DW, 1, 0, (int16_t)i));
				put(pg, SBPF_STX_MEM(SBPF_DW, 0, 1, (int16_t)(out + REGS_OUT + i)));
			}
			for (int i = 0; i < STK_LEN; i += 8) {
				put(pg, SBPF_LDX_MEM(SBPF_DW, 1, SBPF_REG_FP, (int16_t)(STK + i)));
				put(pg, SBPF_STX_MEM(SBPF_DW, 0, 1, (int16_t)(out + REGS_OUT + DATA_LEN + i)));
			}
		}
	}
	put(pg, SBPF_MOV64_IMM(0, 0));
	put(pg, SBPF_EXIT_INSN());
}

#endif
