/* bulk_copy.c - Kops operation "bulk_copy": copy len bytes from a + soff to
 * dst + doff, as clang emits a fixed-size memcpy (runs of ldx/stx through a
 * temporary). Native: wide moves.
 *
 * Semantics are those of the proof sequence: 8/4/2/1-byte chunks copied in
 * ascending order through the scratch register c. When the two ranges may
 * overlap with the destination above the source, a native emit must keep
 * that chunk order (see docs/kops.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

#define SRC_OFF(p) ((int16_t)((uint32_t)(p)->imm & 0xffff))
#define DST_OFF(p) ((int16_t)((uint32_t)(p)->imm >> 16))

static int check(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	if (p->variant < 1 || p->variant > KOPS_COPY_MAX)
		return snprintf(why, whysz, "bulk_copy: length %d outside 1..%d", p->variant, KOPS_COPY_MAX), -EINVAL;
	if ((long)SRC_OFF(p) + p->variant > INT16_MAX || (long)DST_OFF(p) + p->variant > INT16_MAX)
		return snprintf(why, whysz, "bulk_copy: offsets + length overflow 16 bits"), -EINVAL;
	if (kops_check_reg("destination base dst", p->dst, false, why, whysz) ||
	    kops_check_reg("source base a", p->a, false, why, whysz) ||
	    kops_check_reg("scratch c", p->c, true, why, whysz))
		return -EINVAL;
	if (p->c == p->dst || p->c == p->a)
		return snprintf(why, whysz, "bulk_copy: scratch c must differ from both bases"), -EINVAL;
	return 0;
}

/* Chunk size for the copy at byte @done of @len. */
static int chunk(int done, int len)
{
	int left = len - done;
	return left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

static uint8_t size_bits(int bytes)
{
	return bytes == 8 ? SBPF_DW : bytes == 4 ? SBPF_W : bytes == 2 ? SBPF_H : SBPF_B;
}

/* c = *(a + soff + i); *(dst + doff + i) = c   for each chunk i */
static int instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	int rc = 0;
	for (int done = 0; done < p->variant;) {
		int k = chunk(done, p->variant);
		sbpf_builder__emit(b, SBPF_LDX_MEM(size_bits(k), p->c, p->a, (int16_t)(SRC_OFF(p) + done)));
		rc = sbpf_builder__emit(b, SBPF_STX_MEM(size_bits(k), p->dst, p->c, (int16_t)(DST_OFF(p) + done)));
		done += k;
	}
	return rc;
}

static void spec(const struct sbpf_kops_payload *p, uint64_t r[SBPF_NREGS])
{
	uint8_t *dst = (uint8_t *)(uintptr_t)(r[p->dst] + (uint64_t)(int64_t)DST_OFF(p));
	const uint8_t *src = (const uint8_t *)(uintptr_t)(r[p->a] + (uint64_t)(int64_t)SRC_OFF(p));
	uint64_t last = 0;
	for (int done = 0; done < p->variant;) {
		int k = chunk(done, p->variant);
		last = 0;
		memcpy(&last, src + done, (size_t)k); /* little-endian host, zero-extended like ldx */
		memcpy(dst + done, &last, (size_t)k);
		done += k;
	}
	r[p->c] = last; /* the scratch ends holding the last chunk */
}

static uint16_t clobbers(const struct sbpf_kops_payload *p)
{
	return (uint16_t)(1u << p->c);
}

/* ---- x86-64 ---- */

#define WIDE 16 /* bytes per wide move (movdqu through xmm0) */

/* The proof sequence's chunks from byte @from on: 8/4/2/1 bytes through
 * the scratch c, in ascending order. */
static void x86_chunks(struct jit_buf *b, int from, int len, int c, int src, int32_t so, int dst, int32_t dof)
{
	for (int done = from; done < len;) {
		int k = chunk(done, len);
		emit_load(b, k, c, src, so + done);                        /* mov(zx) c, [src+i] */
		emit_store(b, k, dst, dof + done, c);                      /* mov [dst+i], c */
		done += k;
	}
}

/* Groups of two 8-byte chunks as one 16-byte move, then the remaining
 * chunks. Equal to the proof sequence unless the destination starts 1..15
 * bytes above the source (a chunk's store would feed the next chunk's
 * load, which the wide move has already done). */
static void x86_wide(struct jit_buf *b, int len, int c, int src, int32_t so, int dst, int32_t dof)
{
	int done = 0;
	for (; done + WIDE <= len; done += WIDE) {
		emit_movdqu_load(b, 0, src, so + done);                    /* movdqu xmm0, [src+i] */
		emit_movdqu_store(b, dst, dof + done, 0);                  /* movdqu [dst+i], xmm0 */
	}
	x86_chunks(b, done, len, c, src, so, dst, dof);
}

/* x86-64 (unchecked mode only: in checked mode a fault part-way must leave
 * memory as the proof sequence leaves it, so the checked proof sequence
 * runs). Same base register: the overlap is known now. Different bases:
 * r10 = source, r11 = destination, and at run time the chunked copy when
 * 0 < dst - src < 16, else the wide one. */
static int emit_x86_64(const struct sbpf_kops_payload *p, struct kops_x86 *x)
{
	struct jit_buf *b = x->b;
	int len = p->variant, c = kops_x86_reg(x, p->c);
	int src = kops_x86_reg(x, p->a), dst = kops_x86_reg(x, p->dst);
	int32_t so = SRC_OFF(p), dof = DST_OFF(p);
	if (x->checked)
		return -EOPNOTSUPP;
	if (len < WIDE) {
		x86_chunks(b, 0, len, c, src, so, dst, dof);
		return 0;
	}
	if (p->a == p->dst || x->mutant == KOPS_MUT_COPY_OVERLAP) {
		int32_t delta = dof - so;
		if (p->a == p->dst && delta > 0 && delta < WIDE)
			x86_chunks(b, 0, len, c, src, so, dst, dof);
		else
			x86_wide(b, len, c, src, so, dst, dof);
		return 0;
	}
	emit_lea(b, X64_R10, src, so);                                     /* lea r10, [a+soff] */
	emit_lea(b, X64_R11, dst, dof);                                    /* lea r11, [dst+doff] */
	emit_lea(b, X64_R9, X64_R11, -1);                                  /* lea r9, [r11-1] */
	emit_alu_rr(b, 1, X64_OP_SUB, X64_R9, X64_R10);                    /* sub r9, r10 */
	emit_alu_ri(b, 1, X64_EXT_CMP, X64_R9, WIDE - 1);                  /* cmp r9, 15 */
	emit_jcc_rel32(b, X64_CC_B, 0);                                    /* jb chunked */
	size_t to_chunked = b->len - 4;
	x86_wide(b, len, c, X64_R10, 0, X64_R11, 0);
	emit_jmp_rel32(b, 0);                                              /* jmp done */
	size_t to_done = b->len - 4;
	jit_patch_rel32(b, to_chunked);
	x86_chunks(b, 0, len, c, X64_R10, 0, X64_R11, 0);                  /* chunked: */
	jit_patch_rel32(b, to_done);                                       /* done: */
	return 0;
}

/* ---- AArch64 ---- */

/* The proof sequence's chunks from byte @from on, through the scratch c,
 * at [src + i] / [dst + i] (offsets stay in the scaled forms). */
static void a64_chunks(struct kops_arm64 *x, int from, int len, int c, int src, int32_t so, int dst,
		       int32_t dof)
{
	for (int done = from; done < len;) {
		int k = chunk(done, len);
		x->ldst(x, k, A64_LDR, c, src, so + done);                      /* ldr c, [src, #i] */
		x->ldst(x, k, A64_STR, c, dst, dof + done);                     /* str c, [dst, #i] */
		done += k;
	}
}

/* 16-byte groups through x9/x10 with ldp/stp, then the remaining chunks. */
static void a64_wide(struct kops_arm64 *x, int len, int c, int src, int dst)
{
	int done = 0;
	for (; done + WIDE <= len; done += WIDE) {
		emit_a64_pair(x->b, true, A64_PAIR_OFF, A64_X9, A64_X10, src, done);  /* ldp x9, x10, [src, #i] */
		emit_a64_pair(x->b, false, A64_PAIR_OFF, A64_X9, A64_X10, dst, done); /* stp x9, x10, [dst, #i] */
	}
	a64_chunks(x, done, len, c, src, 0, dst, 0);
}

/* AArch64 (unchecked mode only, as on x86-64): x13 = source, x14 =
 * destination; with one base register the overlap is known now, else at
 * run time the chunked copy runs when 0 < dst - src < 16, the ldp/stp one
 * otherwise (the same rule as the x86-64 emit). */
static int emit_arm64(const struct sbpf_kops_payload *p, struct kops_arm64 *x)
{
	struct jit_buf *b = x->b;
	int len = p->variant, c = kops_a64_reg(x, p->c);
	int src = kops_a64_reg(x, p->a), dst = kops_a64_reg(x, p->dst);
	int32_t so = SRC_OFF(p), dof = DST_OFF(p);
	if (x->checked)
		return -EOPNOTSUPP;
	if (len < WIDE) {
		a64_chunks(x, 0, len, c, src, so, dst, dof);
		return 0;
	}
	x->add_imm(x, A64_X13, src, so);                                       /* add x13, a, #soff */
	x->add_imm(x, A64_X14, dst, dof);                                      /* add x14, dst, #doff */
	if (p->a == p->dst || x->mutant == KOPS_MUT_A64_COPY_OVERLAP) {
		int32_t delta = dof - so;
		if (p->a == p->dst && delta > 0 && delta < WIDE && x->mutant != KOPS_MUT_A64_COPY_OVERLAP)
			a64_chunks(x, 0, len, c, A64_X13, 0, A64_X14, 0);
		else
			a64_wide(x, len, c, A64_X13, A64_X14);
		return 0;
	}
	emit_a64_alu_rrr(b, 1, A64_SUB, A64_X9, A64_X14, A64_X13, 0, 0);            /* sub x9, x14, x13 */
	emit_a64_addsub_imm(b, 1, A64_SUBI, A64_X9, A64_X9, 1, false);              /* sub x9, x9, #1 */
	emit_a64_addsub_imm(b, 1, A64_SUBSI, A64_ZR, A64_X9, WIDE - 1, false);      /* cmp x9, #15 */
	size_t to_chunked = b->len;
	emit_a64_bcond(b, A64_LO, 0);                                               /* b.lo chunked */
	a64_wide(x, len, c, A64_X13, A64_X14);
	size_t to_done = b->len;
	emit_a64_b(b, 0);                                                           /* b done */
	a64_patch_imm19(b, to_chunked);
	a64_chunks(x, 0, len, c, A64_X13, 0, A64_X14, 0);                      /* chunked: */
	a64_patch_imm26(b, to_done);                                           /* done: */
	return 0;
}

const struct kops_op kops_op_bulk_copy = {
	.id = SBPF_KOPS_BULK_COPY,
	.name = "bulk_copy",
	.summary = "copy len bytes from a + soff to dst + doff (fixed-size memcpy)",
	.payload_doc = "dst = destination base; a = source base; c = scratch; "
		       "imm = soff (low 16 bits) | doff << 16; variant = length (1..256)",
	.max_proof_len = 2 * (KOPS_COPY_MAX / 8 + 3), /* 8-byte chunks, then at most a 4, 2 and 1 */
	.writes_dst = false,
	.check = check,
	.instantiate = instantiate,
	.spec = spec,
	.clobbers = clobbers,
	.example = { .op = SBPF_KOPS_BULK_COPY, .variant = 40, .dst = 1, .a = 2, .c = 3,
		     .imm = 0 | 64 << 16 },
	.emit_x86_64 = emit_x86_64,
	.native_max_x86_64 = 1024,
	.x86_scratch = KOPS_X86_SCRATCH_GPR(X64_R9) | KOPS_X86_SCRATCH_GPR(X64_R10) |
		       KOPS_X86_SCRATCH_GPR(X64_R11) | KOPS_X86_SCRATCH_XMM(0),
	.emit_arm64 = emit_arm64,
	.native_max_arm64 = 1024,
	.arm64_scratch = KOPS_A64_SCRATCH(A64_X9) | KOPS_A64_SCRATCH(A64_X10) | KOPS_A64_SCRATCH(A64_X13) |
			 KOPS_A64_SCRATCH(A64_X14),
};
