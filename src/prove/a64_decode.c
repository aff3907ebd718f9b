/* a64_decode.c - from native bytes to the instructions the AArch64 model
 * executes. Each 32-bit word is decoded twice, independently: by its
 * encoding fields, class by class as the Arm Architecture Reference
 * Manual lays out the A64 base instructions (the fields the model reads),
 * and by capstone's AArch64 mode, which must name an instruction of the
 * same class (so a word is never read as something capstone would not
 * call it). The operands come from the fields because capstone 4 prints
 * aliases that drop some (extr rd, rn, rn, #k shows as ror rd, rn, #k, and
 * the same for rn != rm would be lost). Anything outside the classes -
 * SIMD, system instructions, writeback addressing, indirect or backward
 * branches, branches out of the code - is refused. Also the renaming
 * comparison that lets one proof cover a class of register assignments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#include "prove/proveInt.h"

#define NOREG 0xff /* a register field the class does not have */

const char *prove_a64_reg_name(int hw)
{
	static const char *const names[32] = {
		"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
		"x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29",
		"x30", "sp",
	};
	return hw >= 0 && hw < 32 ? names[hw] : "?";
}

/* One capstone handle per thread, opened on first use. */
static _Thread_local csh handle;
static _Thread_local bool handle_open;

void prove_a64_decode_release(void)
{
	if (handle_open)
		cs_close(&handle);
	handle_open = false;
}

static int open_handle(void)
{
	if (handle_open)
		return 0;
	if (cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &handle) != CS_ERR_OK)
		return -ENOTSUP;
	handle_open = true;
	return 0;
}

/* DecodeBitMasks(N, imms, immr, immediate) of the Arm ARM for a logical
 * immediate of @bits (32 or 64); false for a reserved encoding. */
static bool bitmask(unsigned int n, unsigned int immr, unsigned int imms, unsigned int bits, uint64_t *out)
{
	unsigned int combined = n << 6 | (~imms & 0x3f);
	int len = -1;
	for (int i = 6; i >= 0; i--)
		if (combined & (1u << i)) {
			len = i;
			break;
		}
	if (len < 1 || (unsigned int)(1 << len) > bits)
		return false;
	unsigned int levels = (1u << len) - 1, esize = 1u << len;
	if ((imms & levels) == levels)
		return false;
	unsigned int s = imms & levels, r = immr & levels;
	uint64_t emask = esize == 64 ? ~0ull : (1ull << esize) - 1;
	uint64_t welem = s + 1 == 64 ? ~0ull : (1ull << (s + 1)) - 1;
	uint64_t elem = r ? ((welem >> r) | (welem << (esize - r))) & emask : welem;
	uint64_t v = 0;
	for (unsigned int i = 0; i < bits; i += esize)
		v |= elem << i;
	*out = v;
	return true;
}

static int64_t sext(uint64_t v, unsigned int bits)
{
	return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

#define F(w, hi, lo) (((w) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))

/* Fills the fields of @w into @in; returns an error text for a word
 * outside the model's classes (NULL when decoded). Branch targets are
 * stored as byte offsets from the code's start. */
static const char *fields(uint32_t w, uint32_t at, struct prove_a64_insn *in)
{
	in->rd = in->rn = in->rm = in->ra = NOREG;
	in->sf = (uint8_t)(w >> 31);
	unsigned int rd = F(w, 4, 0), rn = F(w, 9, 5), rm = F(w, 20, 16);
	if (w == 0xd503201f) {
		in->cls = PA_NOP;
		return NULL;
	}
	if ((w & 0x1f200000) == 0x0b000000) { /* add/sub, shifted register */
		in->cls = PA_ADDSUB_SR;
		in->opc = (uint8_t)F(w, 30, 29);
		in->shift = (uint8_t)F(w, 23, 22);
		in->amount = (uint8_t)F(w, 15, 10);
		if (in->shift == 3 || (!in->sf && in->amount >= 32))
			return "reserved shift";
		in->rd = (uint8_t)rd, in->rn = (uint8_t)rn, in->rm = (uint8_t)rm;
		return NULL;
	}
	if ((w & 0x1f000000) == 0x0a000000) { /* logical, shifted register */
		in->cls = PA_LOGIC_SR;
		in->opc = (uint8_t)(F(w, 30, 29) << 1 | F(w, 21, 21));
		in->shift = (uint8_t)F(w, 23, 22);
		in->amount = (uint8_t)F(w, 15, 10);
		if (!in->sf && in->amount >= 32)
			return "reserved shift";
		in->rd = (uint8_t)rd, in->rn = (uint8_t)rn, in->rm = (uint8_t)rm;
		return NULL;
	}
	if ((w & 0x1f800000) == 0x11000000) { /* add/sub, immediate */
		in->cls = PA_ADDSUB_IMM;
		in->opc = (uint8_t)F(w, 30, 29);
		in->imm = (int64_t)F(w, 21, 10) << (F(w, 22, 22) ? 12 : 0);
		in->rd = (uint8_t)rd, in->rn = (uint8_t)rn;
		return NULL;
	}
	if ((w & 0x1f800000) == 0x12000000) { /* logical, immediate */
		in->cls = PA_LOGIC_IMM;
		in->opc = (uint8_t)F(w, 30, 29);
		uint64_t v;
		if ((!in->sf && F(w, 22, 22)) || !bitmask(F(w, 22, 22), F(w, 21, 16), F(w, 15, 10), in->sf ? 64 : 32, &v))
			return "reserved logical immediate";
		in->imm = (int64_t)v;
		in->rd = (uint8_t)rd, in->rn = (uint8_t)rn;
		return NULL;
	}
	if ((w & 0x1f800000) == 0x12800000) { /* move wide */
		in->cls = PA_MOVW;
		in->opc = (uint8_t)F(w, 30, 29);
		in->amount = (uint8_t)(16 * F(w, 22, 21));
		in->imm = F(w, 20, 5);
		if (in->opc == 1 || (!in->sf && in->amount >= 32))
			return "reserved move-wide encoding";
		in->rd = (uint8_t)rd;
		return NULL;
	}
	if ((w & 0x1f800000) == 0x13000000) { /* bitfield */
		in->cls = PA_BFM;
		in->opc = (uint8_t)F(w, 30, 29);
		in->shift = (uint8_t)F(w, 21, 16); /* immr */
		in->amount = (uint8_t)F(w, 15, 10); /* imms */
		if (in->opc == 3 || F(w, 22, 22) != in->sf || (!in->sf && (in->shift >= 32 || in->amount >= 32)))
			return "reserved bitfield encoding";
		in->rd = (uint8_t)rd, in->rn = (uint8_t)rn;
		return NULL;
	}
	if ((w & 0x7fa00000) == 0x13800000) { /* extract */
		in->cls = PA_EXTR;
		in->amount = (uint8_t)F(w, 15, 10);
		if (F(w, 22, 22) != in->sf || (!in->sf && in->amount >= 32))
			return "reserved extract encoding";
		in->rd = (uint8_t)rd, in->rn = (uint8_t)rn, in->rm = (uint8_t)rm;
		return NULL;
	}
	if ((w & 0x5fe00000) == 0x1ac00000) { /* data processing, two sources */
		in->cls = PA_DP2;
		in->opc = (uint8_t)F(w, 15, 10);
		if (in->opc != 2 && in->opc != 3 && (in->opc < 8 || in->opc > 11))
			return "two-source operation not modelled";
		in->rd = (uint8_t)rd, in->rn = (uint8_t)rn, in->rm = (uint8_t)rm;
		return NULL;
	}
	if ((w & 0x5fff0000) == 0x5ac00000) { /* data processing, one source */
		in->cls = PA_DP1;
		in->opc = (uint8_t)F(w, 15, 10);
		if (in->opc > 5 || (in->opc == 3 && !in->sf))
			return "one-source operation not modelled";
		in->rd = (uint8_t)rd, in->rn = (uint8_t)rn;
		return NULL;
	}
	if ((w & 0x1fe00000) == 0x1a800000) { /* conditional select */
		in->cls = PA_CSEL;
		if (F(w, 29, 29) || F(w, 11, 11))
			return "reserved conditional-select encoding";
		in->opc = (uint8_t)(F(w, 30, 30) << 1 | F(w, 10, 10));
		in->cond = (uint8_t)F(w, 15, 12);
		in->rd = (uint8_t)rd, in->rn = (uint8_t)rn, in->rm = (uint8_t)rm;
		return NULL;
	}
	unsigned int size = F(w, 31, 30), opc = F(w, 23, 22);
	bool prfm = size == 3 && opc == 2;
	if ((w & 0x3f000000) == 0x39000000 || (w & 0x3f200c00) == 0x38000000 || (w & 0x3f200c00) == 0x38200800) {
		/* load/store register: unsigned offset, unscaled, register offset */
		in->cls = prfm ? PA_PRFM : PA_LDST;
		in->amount = (uint8_t)size;
		in->opc = (uint8_t)opc;
		if (!prfm && ((size == 3 && opc >= 2) || (size == 2 && opc == 3)))
			return "load/store form not modelled";
		in->rn = (uint8_t)rn;
		if (!prfm)
			in->rd = (uint8_t)rd;
		if ((w & 0x3f000000) == 0x39000000) {
			in->imm = (int64_t)F(w, 21, 10) << size;
		} else if ((w & 0x00200000) == 0) {
			in->imm = sext(F(w, 20, 12), 9);
		} else {
			unsigned int option = F(w, 15, 13);
			if (option != 2 && option != 3 && option != 6 && option != 7)
				return "reserved register-offset extension";
			in->rm = (uint8_t)rm;
			in->shift = (uint8_t)option;
			in->cond = (uint8_t)(F(w, 12, 12) ? size : 0); /* the index's shift */
		}
		return NULL;
	}
	if ((w & 0x3e000000) == 0x28000000) { /* load/store pair */
		in->cls = PA_LDSTP;
		unsigned int mode = F(w, 24, 23), popc = F(w, 31, 30);
		if (mode != 2)
			return "pair addressing with writeback is not modelled";
		if (popc != 0 && popc != 2)
			return "pair form not modelled";
		in->sf = popc == 2;
		in->opc = (uint8_t)F(w, 22, 22); /* 1: load */
		in->imm = sext(F(w, 21, 15), 7) * (in->sf ? 8 : 4);
		in->rd = (uint8_t)rd, in->ra = (uint8_t)F(w, 14, 10), in->rn = (uint8_t)rn;
		return NULL;
	}
	if ((w & 0xff000010) == 0x54000000) { /* b.cond */
		in->cls = PA_BCOND;
		in->cond = (uint8_t)F(w, 3, 0);
		in->imm = (int64_t)at + sext(F(w, 23, 5), 19) * 4;
		return NULL;
	}
	if ((w & 0xfc000000) == 0x14000000) { /* b */
		in->cls = PA_B;
		in->imm = (int64_t)at + sext(F(w, 25, 0), 26) * 4;
		return NULL;
	}
	return "instruction not modelled";
}

/* True when capstone's @id names an instruction of class @cls. */
static bool same_class(unsigned int cls, unsigned int id)
{
	static const struct { uint8_t cls; uint16_t ids[20]; } tab[] = {
		{ PA_ADDSUB_SR, { ARM64_INS_ADD, ARM64_INS_SUB, ARM64_INS_CMP, ARM64_INS_CMN, ARM64_INS_NEG,
				  ARM64_INS_NEGS } },
		{ PA_LOGIC_SR, { ARM64_INS_AND, ARM64_INS_BIC, ARM64_INS_ORR, ARM64_INS_ORN, ARM64_INS_EOR,
				 ARM64_INS_EON, ARM64_INS_TST, ARM64_INS_MVN, ARM64_INS_MOV } },
		{ PA_ADDSUB_IMM, { ARM64_INS_ADD, ARM64_INS_SUB, ARM64_INS_CMP, ARM64_INS_CMN, ARM64_INS_MOV } },
		{ PA_LOGIC_IMM, { ARM64_INS_AND, ARM64_INS_ORR, ARM64_INS_EOR, ARM64_INS_TST, ARM64_INS_MOV } },
		{ PA_MOVW, { ARM64_INS_MOVZ, ARM64_INS_MOVN, ARM64_INS_MOVK, ARM64_INS_MOV } },
		{ PA_BFM, { ARM64_INS_SBFM, ARM64_INS_BFM, ARM64_INS_UBFM, ARM64_INS_LSL, ARM64_INS_LSR, ARM64_INS_ASR,
			    ARM64_INS_UBFX, ARM64_INS_SBFX, ARM64_INS_BFI, ARM64_INS_BFXIL, ARM64_INS_SBFIZ,
			    ARM64_INS_UBFIZ, ARM64_INS_SXTB, ARM64_INS_SXTH, ARM64_INS_SXTW, ARM64_INS_UXTB,
			    ARM64_INS_UXTH } },
		{ PA_EXTR, { ARM64_INS_EXTR, ARM64_INS_ROR } },
		{ PA_DP2, { ARM64_INS_UDIV, ARM64_INS_SDIV, ARM64_INS_LSL, ARM64_INS_LSR, ARM64_INS_ASR, ARM64_INS_ROR } },
		{ PA_DP1, { ARM64_INS_RBIT, ARM64_INS_REV16, ARM64_INS_REV32, ARM64_INS_REV, ARM64_INS_CLZ,
			    ARM64_INS_CLS } },
		{ PA_CSEL, { ARM64_INS_CSEL, ARM64_INS_CSINC, ARM64_INS_CSINV, ARM64_INS_CSNEG, ARM64_INS_CSET,
			     ARM64_INS_CSETM, ARM64_INS_CINC, ARM64_INS_CINV, ARM64_INS_CNEG } },
		{ PA_LDST, { ARM64_INS_LDR, ARM64_INS_LDRB, ARM64_INS_LDRH, ARM64_INS_LDRSB, ARM64_INS_LDRSH,
			     ARM64_INS_LDRSW, ARM64_INS_STR, ARM64_INS_STRB, ARM64_INS_STRH, ARM64_INS_LDUR,
			     ARM64_INS_LDURB, ARM64_INS_LDURH, ARM64_INS_LDURSB, ARM64_INS_LDURSH, ARM64_INS_LDURSW,
			     ARM64_INS_STUR, ARM64_INS_STURB, ARM64_INS_STURH } },
		{ PA_LDSTP, { ARM64_INS_LDP, ARM64_INS_STP } },
		{ PA_PRFM, { ARM64_INS_PRFM, ARM64_INS_PRFUM } },
		{ PA_BCOND, { ARM64_INS_B } },
		{ PA_B, { ARM64_INS_B } },
		{ PA_NOP, { ARM64_INS_NOP } },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].cls == cls)
			for (size_t k = 0; k < 20 && tab[i].ids[k]; k++)
				if (tab[i].ids[k] == id)
					return true;
	return false;
}

int prove_a64_decode(const uint8_t *code, size_t len, struct prove_a64_insn **out, size_t *n,
		     char *why, size_t whysz)
{
	*out = NULL;
	*n = 0;
	if (len % 4) {
		snprintf(why, whysz, "%zu bytes: not whole instructions", len);
		return -EINVAL;
	}
	int rc = open_handle();
	if (rc) {
		snprintf(why, whysz, "capstone: cannot open the AArch64 mode");
		return rc;
	}
	size_t cnt = len / 4;
	struct prove_a64_insn *v = calloc(cnt ? cnt : 1, sizeof(*v));
	cs_insn *ci = cs_malloc(handle);
	if (!v || !ci)
		rc = -ENOMEM;
	for (size_t i = 0; i < cnt && !rc; i++) {
		struct prove_a64_insn *in = &v[i];
		uint32_t w;
		memcpy(&w, code + 4 * i, 4);
		in->word = w;
		in->offset = (uint32_t)(4 * i);
		const uint8_t *at = code + 4 * i;
		size_t left = 4;
		uint64_t addr = 4 * i;
		if (!cs_disasm_iter(handle, &at, &left, &addr, ci)) {
			snprintf(why, whysz, "+%zu %08x: capstone does not decode it", 4 * i, w);
			rc = -EINVAL;
			break;
		}
		in->id = ci->id;
		size_t m = strnlen(ci->mnemonic, 15), o = strnlen(ci->op_str, sizeof(in->text) - 17);
		memcpy(in->text, ci->mnemonic, m); /* "mnemonic operands" */
		if (o) {
			in->text[m++] = ' ';
			memcpy(in->text + m, ci->op_str, o);
		}
		in->text[m + o] = 0;
		const char *err = fields(w, in->offset, in);
		if (!err && !same_class(in->cls, in->id))
			err = "capstone names another instruction than the encoding fields";
		if (!err && (in->cls == PA_BCOND || in->cls == PA_B)) {
			if (in->imm <= (int64_t)in->offset)
				err = "backward branches (loops) are not modelled";
			else if (in->imm > (int64_t)len || in->imm % 4)
				err = "branch target outside the code";
			else
				in->imm /= 4; /* as an instruction index (cnt: the end) */
		}
		if (err) {
			snprintf(why, whysz, "+%u %s: %s", in->offset, in->text, err);
			rc = -EINVAL;
		}
	}
	if (ci)
		cs_free(ci, 1);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* x0..x30 are renamed; 31 (sp or zr) and absent fields stay. */
static uint8_t ren(uint8_t r, const uint8_t perm[PROVE_NREGS])
{
	return r < 31 ? perm[r] : r;
}

bool prove_a64_renamed(const struct prove_a64_insn *a, const struct prove_a64_insn *b, size_t n,
		       const uint8_t perm[PROVE_NREGS])
{
	for (size_t i = 0; i < n; i++) {
		const struct prove_a64_insn *x = &a[i], *y = &b[i];
		if (x->cls != y->cls || x->id != y->id || x->sf != y->sf || x->opc != y->opc ||
		    x->shift != y->shift || x->amount != y->amount || x->cond != y->cond || x->imm != y->imm)
			return false;
		if (ren(x->rd, perm) != y->rd || ren(x->rn, perm) != y->rn || ren(x->rm, perm) != y->rm ||
		    ren(x->ra, perm) != y->ra)
			return false;
	}
	return true;
}
