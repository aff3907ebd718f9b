/* disasm.c - the disassembler: bytecode -> text, either in the assembler's
 * syntax (which assembles back to the same bytes) or in the kernel
 * verifier-log style for reading.
 *
 * Names and operators come from opcodes.def through sbpf_op_info(). An
 * instruction the text cannot reproduce exactly (no form, a field its form
 * leaves unused is set, a register above r10) is written as ".raw 0x...".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/asm.h"

/* Label kinds of a slot in whole-program ASM output. */
enum { LBL_NONE, LBL_JUMP, LBL_CALL };

struct sbuf {
	char *buf;   /* destination */
	size_t sz;   /* its size */
	size_t len;  /* characters wanted so far (may exceed sz: truncated) */
};

__attribute__((format(printf, 2, 3)))
static void put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = b->len < b->sz ? b->sz - b->len : 0;
	int k = vsnprintf(room ? b->buf + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (k > 0)
		b->len += (size_t)k;
}

enum { F_DST = SBPF_FIELD_DST, F_SRC = SBPF_FIELD_SRC, F_OFF = SBPF_FIELD_OFF, F_IMM = SBPF_FIELD_IMM };

/* Whether the text for form @op (@f) reproduces @in exactly. */
static int reproducible(const struct sbpf_insn *in, enum sbpf_op op, const struct sbpf_op_info *f)
{
	int shown = sbpf_op_operands(op);
	struct sbpf_insn t = { .code = f->code };
	if (shown & F_DST) {
		if (in->dst_reg > SBPF_REG_FP)
			return 0;
		t.dst_reg = in->dst_reg;
	}
	if (shown & F_SRC) {
		if (in->src_reg > SBPF_REG_FP)
			return 0;
		t.src_reg = in->src_reg;
	}
	if (shown & F_OFF)
		t.off = in->off;
	if (shown & F_IMM)
		t.imm = in->imm;
	switch (f->key) {
	case SBPF_KEY_OFF: t.off = (int16_t)f->key_value; break;
	case SBPF_KEY_IMM: t.imm = f->key_value; break;
	case SBPF_KEY_SRC: t.src_reg = (uint8_t)f->key_value; break;
	default: break;
	}
	return !memcmp(&t, in, sizeof(t));
}

/* The form of slot @pc if the text can reproduce it (lddw: both slots),
 * else NULL. */
static const struct sbpf_op_info *printable(const struct sbpf_insn *insns, size_t n, size_t pc)
{
	const struct sbpf_insn *in = &insns[pc];
	enum sbpf_op op = sbpf_decode(in);
	if (op == SBPF_OP_INVALID)
		return NULL;
	const struct sbpf_op_info *f = sbpf_op_info(op);
	if (!reproducible(in, op, f))
		return NULL;
	if (f->fmt == SBPF_FMT_LDDW) {
		if (pc + 1 >= n)
			return NULL;
		const struct sbpf_insn *hi = &insns[pc + 1];
		if (hi->code || hi->dst_reg || hi->src_reg || hi->off)
			return NULL;
	}
	return f;
}

static void put_raw(struct sbuf *b, const struct sbpf_insn *in)
{
	uint8_t bytes[8];
	memcpy(bytes, in, sizeof(bytes));
	unsigned long long v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | bytes[i];
	put(b, ".raw 0x%016llx", v);
}

/* An immediate: small values in decimal; large ones in hex, unless the value
 * is sign-extended to 64 bits where it is used (@wide) and negative. */
static void put_imm(struct sbuf *b, int32_t v, int wide)
{
	if (v > -65536 && v < 65536)
		put(b, "%d", v);
	else if (v > 0)
		put(b, "0x%x", (unsigned)v);
	else if (wide)
		put(b, "%d", v);
	else
		put(b, "0x%x", (unsigned)v);
}

/* Whether the immediate of @in is sign-extended to 64 bits when used. */
static int imm_is_wide(const struct sbpf_insn *in)
{
	int cls = SBPF_CLASS(in->code);
	return cls == SBPF_ALU64 || cls == SBPF_JMP ||
	       (cls == SBPF_ST && (in->code & 0x18) == SBPF_DW);
}

/* A jump target: a label when one names the slot, else a signed offset. */
static void put_target(struct sbuf *b, size_t n, size_t pc, long long delta,
		       const uint8_t *labels)
{
	long long t = (long long)pc + 1 + delta;
	if (labels && t >= 0 && t < (long long)n && labels[t])
		put(b, "%s%lld", labels[t] == LBL_CALL ? "fn" : "L", t);
	else
		put(b, "%+lld", delta);
}

static void put_mem(struct sbuf *b, int reg, int off)
{
	if (off)
		put(b, "[%%r%d%+d]", reg, off);
	else
		put(b, "[%%r%d]", reg);
}

/* The assembler syntax of slot @pc (form @f). */
static void asm_text(struct sbuf *b, const struct sbpf_insn *insns, size_t n, size_t pc,
		     const struct sbpf_op_info *f, const uint8_t *labels)
{
	const struct sbpf_insn *in = &insns[pc];
	int wide = imm_is_wide(in);
	put(b, "%s", f->mnemonic);
	switch (f->fmt) {
	case SBPF_FMT_ALU_K:
		put(b, " %%r%d, ", in->dst_reg);
		put_imm(b, in->imm, wide);
		break;
	case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX:
		put(b, " %%r%d, %%r%d", in->dst_reg, in->src_reg);
		break;
	case SBPF_FMT_NEG: case SBPF_FMT_END:
		put(b, " %%r%d", in->dst_reg);
		break;
	case SBPF_FMT_LDX:
		put(b, " %%r%d, ", in->dst_reg);
		put_mem(b, in->src_reg, in->off);
		break;
	case SBPF_FMT_ST:
		put(b, " ");
		put_mem(b, in->dst_reg, in->off);
		put(b, ", ");
		put_imm(b, in->imm, wide);
		break;
	case SBPF_FMT_STX: case SBPF_FMT_ATOMIC:
		put(b, " ");
		put_mem(b, in->dst_reg, in->off);
		put(b, ", %%r%d", in->src_reg);
		break;
	case SBPF_FMT_LDDW: {
		int32_t hi = insns[pc + 1].imm;
		put(b, " %%r%d, ", in->dst_reg);
		if (!f->key_value) {
			uint64_t v = (uint64_t)(uint32_t)in->imm | (uint64_t)(uint32_t)hi << 32;
			if ((int64_t)v > -65536 && (int64_t)v < 65536)
				put(b, "%lld", (long long)(int64_t)v);
			else
				put(b, "0x%llx", (unsigned long long)v);
			break;
		}
		put(b, "%s ", f->symbol);
		if (f->key_value == SBPF_PSEUDO_FUNC)
			put_target(b, n, pc, in->imm, labels);
		else
			put_imm(b, in->imm, 0);
		if (hi) {
			put(b, " + ");
			put_imm(b, hi, 0);
		}
		break;
	}
	case SBPF_FMT_JA:
		put(b, " ");
		put_target(b, n, pc, in->off, labels);
		break;
	case SBPF_FMT_JA32: case SBPF_FMT_CALL_LOCAL:
		put(b, " ");
		put_target(b, n, pc, in->imm, labels);
		break;
	case SBPF_FMT_JCOND_K:
		put(b, " %%r%d, ", in->dst_reg);
		put_imm(b, in->imm, wide);
		put(b, ", ");
		put_target(b, n, pc, in->off, labels);
		break;
	case SBPF_FMT_JCOND_X:
		put(b, " %%r%d, %%r%d, ", in->dst_reg, in->src_reg);
		put_target(b, n, pc, in->off, labels);
		break;
	case SBPF_FMT_CALL:
		put(b, " %d", in->imm);
		if (in->off)
			put(b, ", %d", in->off);
		break;
	default:
		break;
	}
}

/* The operation word of an atomic mnemonic: "lock fetch add32" -> "add". */
static void atomic_word(const char *mn, char *out, size_t sz)
{
	const char *w = strrchr(mn, ' ');
	w = w ? w + 1 : mn;
	size_t l = strlen(w);
	if (l > 2 && !strcmp(w + l - 2, "32"))
		l -= 2;
	snprintf(out, sz, "%.*s", (int)l, w);
}

/* The verifier-log style text of slot @pc (form @f). */
static void kernel_text(struct sbuf *b, const struct sbpf_insn *insns, size_t pc,
			const struct sbpf_op_info *f)
{
	const struct sbpf_insn *in = &insns[pc];
	int cls = SBPF_CLASS(in->code);
	char r = cls == SBPF_ALU || cls == SBPF_JMP32 ? 'w' : 'r';
	int d = in->dst_reg, s = in->src_reg;
	switch (f->fmt) {
	case SBPF_FMT_ALU_K:
		put(b, "%c%d %s %d", r, d, f->symbol, in->imm);
		break;
	case SBPF_FMT_ALU_X:
		put(b, "%c%d %s %c%d", r, d, f->symbol, r, s);
		break;
	case SBPF_FMT_MOVSX:
		put(b, "%c%d = %s%c%d", r, d, f->symbol, r, s);
		break;
	case SBPF_FMT_NEG:
		put(b, "%c%d %s%c%d", r, d, f->symbol, r, d);
		break;
	case SBPF_FMT_END:
		put(b, "r%d = %s r%d", d, f->symbol, d);
		break;
	case SBPF_FMT_LDX:
		put(b, "r%d = *(%s *)(r%d %+d)", d, f->symbol, s, in->off);
		break;
	case SBPF_FMT_ST:
		put(b, "*(%s *)(r%d %+d) = %d", f->symbol, d, in->off, in->imm);
		break;
	case SBPF_FMT_STX:
		put(b, "*(%s *)(r%d %+d) = r%d", f->symbol, d, in->off, s);
		break;
	case SBPF_FMT_ATOMIC: {
		int dw = (in->code & 0x18) == SBPF_DW;
		const char *sz = dw ? "u64" : "u32", *sfx = dw ? "64" : "";
		char word[16];
		atomic_word(f->mnemonic, word, sizeof(word));
		if (in->imm == SBPF_CMPXCHG)
			put(b, "r0 = atomic%s_cmpxchg((%s *)(r%d %+d), r0, r%d)", sfx, sz, d, in->off, s);
		else if (in->imm == SBPF_XCHG)
			put(b, "r%d = atomic%s_xchg((%s *)(r%d %+d), r%d)", s, sfx, sz, d, in->off, s);
		else if (in->imm & SBPF_FETCH)
			put(b, "r%d = atomic%s_fetch_%s((%s *)(r%d %+d), r%d)", s, sfx, word, sz, d,
			    in->off, s);
		else
			put(b, "lock *(%s *)(r%d %+d) %s r%d", sz, d, in->off, f->symbol, s);
		break;
	}
	case SBPF_FMT_LDDW: {
		uint32_t lo = (uint32_t)in->imm, hi = (uint32_t)insns[pc + 1].imm;
		switch (f->key_value) {
		case 0:
			put(b, "r%d = 0x%llx ll", d, (unsigned long long)((uint64_t)hi << 32 | lo));
			break;
		case SBPF_PSEUDO_MAP_FD: put(b, "r%d = map[fd:%d]", d, in->imm); break;
		case SBPF_PSEUDO_MAP_IDX: put(b, "r%d = map[idx:%d]", d, in->imm); break;
		case SBPF_PSEUDO_MAP_VALUE: put(b, "r%d = map_value[fd:%d]+%u", d, in->imm, hi); break;
		case SBPF_PSEUDO_MAP_IDX_VALUE:
			put(b, "r%d = map_value[idx:%d]+%u", d, in->imm, hi);
			break;
		case SBPF_PSEUDO_BTF_ID: put(b, "r%d = btf_var[id:%d]", d, in->imm); break;
		case SBPF_PSEUDO_FUNC: put(b, "r%d = func pc%+d", d, in->imm); break;
		default: put(b, "r%d = %s %d", d, f->symbol, in->imm); break;
		}
		if (f->key_value && f->key_value != SBPF_PSEUDO_MAP_VALUE &&
		    f->key_value != SBPF_PSEUDO_MAP_IDX_VALUE && hi)
			put(b, " (hi 0x%x)", hi);
		break;
	}
	case SBPF_FMT_JA:
		put(b, "%s pc%+d", f->symbol, in->off);
		break;
	case SBPF_FMT_JA32:
		put(b, "%s pc%+d", f->symbol, in->imm);
		break;
	case SBPF_FMT_JCOND_K:
		put(b, "if %c%d %s 0x%x goto pc%+d", r, d, f->symbol, (unsigned)in->imm, in->off);
		break;
	case SBPF_FMT_JCOND_X:
		put(b, "if %c%d %s %c%d goto pc%+d", r, d, f->symbol, r, s, in->off);
		break;
	case SBPF_FMT_CALL:
		put(b, "%s %d", f->symbol, in->imm);
		if (in->off)
			put(b, " (btf obj %d)", in->off);
		break;
	case SBPF_FMT_CALL_LOCAL:
		put(b, "%s%+d", f->symbol, in->imm);
		break;
	case SBPF_FMT_EXIT:
		put(b, "%s", f->symbol);
		break;
	default:
		break;
	}
}

/* Writes slot @pc into @b; returns the slots consumed or -EINVAL (.raw). */
static int disasm_one(const struct sbpf_insn *insns, size_t n, size_t pc,
		      enum sbpf_disasm_style style, const uint8_t *labels, struct sbuf *b)
{
	const struct sbpf_op_info *f = printable(insns, n, pc);
	if (!f) {
		put_raw(b, &insns[pc]);
		return -EINVAL;
	}
	if (style == SBPF_DISASM_KERNEL)
		kernel_text(b, insns, pc, f);
	else
		asm_text(b, insns, n, pc, f, labels);
	return f->fmt == SBPF_FMT_LDDW ? 2 : 1;
}

int sbpf_disasm_insn(const struct sbpf_insn *insns, size_t n, size_t pc,
		     enum sbpf_disasm_style style, char *buf, size_t bufsz)
{
	struct sbuf b = { buf, bufsz, 0 };
	if (bufsz)
		buf[0] = '\0';
	if (!insns || pc >= n)
		return -EINVAL;
	return disasm_one(insns, n, pc, style, NULL, &b);
}

/* Marks the slots that jumps, local calls and code_addr loads land on. */
static uint8_t *find_labels(const struct sbpf_insn *insns, size_t n)
{
	uint8_t *starts = calloc(n, 1), *labels = calloc(n, 1);
	if (!starts || !labels) {
		free(starts);
		free(labels);
		return NULL;
	}
	for (size_t pc = 0; pc < n;) {
		const struct sbpf_op_info *f = printable(insns, n, pc);
		starts[pc] = 1;
		pc += f && f->fmt == SBPF_FMT_LDDW ? 2 : 1;
	}
	for (size_t pc = 0; pc < n; pc++) {
		const struct sbpf_op_info *f = starts[pc] ? printable(insns, n, pc) : NULL;
		if (!f)
			continue;
		long long delta;
		int kind = LBL_JUMP;
		switch (f->fmt) {
		case SBPF_FMT_JA: case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
			delta = insns[pc].off;
			break;
		case SBPF_FMT_JA32:
			delta = insns[pc].imm;
			break;
		case SBPF_FMT_CALL_LOCAL:
			delta = insns[pc].imm;
			kind = LBL_CALL;
			break;
		case SBPF_FMT_LDDW:
			if (f->key_value != SBPF_PSEUDO_FUNC)
				continue;
			delta = insns[pc].imm;
			kind = LBL_CALL;
			break;
		default:
			continue;
		}
		long long t = (long long)pc + 1 + delta;
		if (t >= 0 && t < (long long)n && starts[t] && labels[t] < kind)
			labels[t] = (uint8_t)kind;
	}
	free(starts);
	return labels;
}

int sbpf_disasm(const struct sbpf_insn *insns, size_t n, enum sbpf_disasm_style style, FILE *out)
{
	if (!insns && n)
		return -EINVAL;
	uint8_t *labels = NULL;
	if (style == SBPF_DISASM_ASM && n) {
		labels = find_labels(insns, n);
		if (!labels)
			return -ENOMEM;
	}
	int bad = 0;
	char line[160];
	for (size_t pc = 0; pc < n;) {
		struct sbuf b = { line, sizeof(line), 0 };
		if (labels && labels[pc])
			fprintf(out, "%s%zu:\n", labels[pc] == LBL_CALL ? "fn" : "L", pc);
		if (style == SBPF_DISASM_KERNEL)
			put(&b, "%zu: (%02x) ", pc, insns[pc].code);
		int k = disasm_one(insns, n, pc, style, labels, &b);
		fprintf(out, "%s\n", line);
		if (k < 0)
			bad = 1;
		pc += k > 0 ? (size_t)k : 1;
	}
	free(labels);
	if (ferror(out))
		return -EIO;
	return bad ? -EINVAL : 0;
}
