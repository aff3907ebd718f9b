/* x86_decode.c - from native bytes to the instructions the x86-64 model
 * executes: capstone (detail mode) decodes, this file keeps exactly what
 * the model reads (instruction id, operands with hardware register
 * numbers, implicit general-register uses, jump targets as instruction
 * indexes) and refuses what the model gives no meaning to. Also the
 * renaming comparison that lets one proof cover a whole class of register
 * assignments (prove.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#include "prove/proveInt.h"

static const char *const reg_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

const char *prove_x86_reg_name(int hw)
{
	return hw >= 0 && hw < 16 ? reg_names[hw] : "?";
}

/* Hardware number, size in bytes and high-byte flag of a capstone general
 * register; returns -1 for any other register (rip, flags, segment, xmm). */
static int gpr(unsigned int r, uint8_t *size, uint8_t *hi8)
{
	static const struct { uint16_t reg; uint8_t hw, size, hi; } tab[] = {
#define R4(q, d, w, b, hw) { X86_REG_##q, hw, 8, 0 }, { X86_REG_##d, hw, 4, 0 }, \
			   { X86_REG_##w, hw, 2, 0 }, { X86_REG_##b, hw, 1, 0 }
		R4(RAX, EAX, AX, AL, 0), R4(RCX, ECX, CX, CL, 1), R4(RDX, EDX, DX, DL, 2),
		R4(RBX, EBX, BX, BL, 3), R4(RSP, ESP, SP, SPL, 4), R4(RBP, EBP, BP, BPL, 5),
		R4(RSI, ESI, SI, SIL, 6), R4(RDI, EDI, DI, DIL, 7),
		R4(R8, R8D, R8W, R8B, 8), R4(R9, R9D, R9W, R9B, 9), R4(R10, R10D, R10W, R10B, 10),
		R4(R11, R11D, R11W, R11B, 11), R4(R12, R12D, R12W, R12B, 12),
		R4(R13, R13D, R13W, R13B, 13), R4(R14, R14D, R14W, R14B, 14),
		R4(R15, R15D, R15W, R15B, 15),
#undef R4
		{ X86_REG_AH, 0, 1, 1 }, { X86_REG_CH, 1, 1, 1 }, { X86_REG_DH, 2, 1, 1 },
		{ X86_REG_BH, 3, 1, 1 },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].reg == r) {
			if (size)
				*size = tab[i].size;
			if (hi8)
				*hi8 = tab[i].hi;
			return tab[i].hw;
		}
	return -1;
}

/* PX_XMM(i) for xmm0..15, else -1. */
static int xmm(unsigned int r)
{
	return r >= X86_REG_XMM0 && r <= X86_REG_XMM15 ? PX_XMM((int)(r - X86_REG_XMM0)) : -1;
}

/* One capstone handle per thread, opened on first use. */
static _Thread_local csh handle;
static _Thread_local bool handle_open;

static int open_handle(void)
{
	if (handle_open)
		return 0;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK)
		return -ENOTSUP;
	cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
	handle_open = true;
	return 0;
}

static int fail(char *why, size_t whysz, const cs_insn *ci, const char *what)
{
	snprintf(why, whysz, "+%u %s %s: %s", (unsigned)ci->address, ci->mnemonic, ci->op_str, what);
	return -EINVAL;
}

/* Fills @out from capstone's @ci. */
static int convert(const cs_insn *ci, struct prove_x86_insn *out, char *why, size_t whysz)
{
	const cs_x86 *x = &ci->detail->x86;
	memset(out, 0, sizeof(*out));
	out->id = ci->id;
	out->offset = (uint32_t)ci->address;
	size_t m = strnlen(ci->mnemonic, 31), o = strnlen(ci->op_str, sizeof(out->text) - 33);
	memcpy(out->text, ci->mnemonic, m); /* "mnemonic operands" (snprintf is slow here) */
	if (o) {
		out->text[m++] = ' ';
		memcpy(out->text + m, ci->op_str, o);
	}
	out->text[m + o] = 0;
	if (x->prefix[0])
		return fail(why, whysz, ci, "rep/lock prefixes are not modelled");
	if (x->prefix[1])
		return fail(why, whysz, ci, "segment overrides are not modelled");
	if (x->addr_size != 8)
		return fail(why, whysz, ci, "32-bit addressing is not modelled");
	if (x->op_count > 4)
		return fail(why, whysz, ci, "more than 4 operands");
	out->nops = x->op_count;
	for (int i = 0; i < x->op_count; i++) {
		const cs_x86_op *o = &x->operands[i];
		struct prove_x86_opnd *p = &out->op[i];
		p->size = o->size;
		p->base = p->index = PX_NOREG;
		switch (o->type) {
		case X86_OP_REG: {
			int hw = gpr(o->reg, &p->size, &p->hi8);
			if (hw < 0 && (hw = xmm(o->reg)) >= 0)
				p->size = 16;
			if (hw < 0) {
				char msg[64];
				snprintf(msg, sizeof(msg), "register %s is not modelled", cs_reg_name(handle, o->reg));
				return fail(why, whysz, ci, msg);
			}
			p->kind = PX_REG;
			p->reg = (uint8_t)hw;
			break;
		}
		case X86_OP_IMM:
			p->kind = PX_IMM;
			p->val = o->imm;
			break;
		case X86_OP_MEM: {
			p->kind = PX_MEM;
			p->val = o->mem.disp;
			p->scale = (uint8_t)o->mem.scale;
			if (o->mem.segment != X86_REG_INVALID)
				return fail(why, whysz, ci, "segment overrides are not modelled");
			if (o->mem.base != X86_REG_INVALID) {
				int hw = gpr(o->mem.base, NULL, NULL);
				if (hw < 0)
					return fail(why, whysz, ci, "only general registers may address memory");
				p->base = (uint8_t)hw;
			}
			if (o->mem.index != X86_REG_INVALID) {
				int hw = gpr(o->mem.index, NULL, NULL);
				if (hw < 0)
					return fail(why, whysz, ci, "only general registers may address memory");
				p->index = (uint8_t)hw;
			}
			break;
		}
		default:
			return fail(why, whysz, ci, "operand kind not modelled");
		}
	}
	/* capstone also lists some explicit operands as implicit (cl of a
	 * shift): only registers that are not operands are implicit */
	uint16_t explicit_regs = 0;
	for (int i = 0; i < out->nops; i++)
		if (out->op[i].kind == PX_REG && out->op[i].reg < 16)
			explicit_regs |= (uint16_t)(1u << out->op[i].reg);
	for (int i = 0; i < ci->detail->regs_read_count; i++) {
		int hw = gpr(ci->detail->regs_read[i], NULL, NULL);
		if (hw >= 0)
			out->implicit_rd |= (uint16_t)(1u << hw);
	}
	for (int i = 0; i < ci->detail->regs_write_count; i++) {
		int hw = gpr(ci->detail->regs_write[i], NULL, NULL);
		if (hw >= 0)
			out->implicit_wr |= (uint16_t)(1u << hw);
	}
	out->implicit_rd &= (uint16_t)~explicit_regs;
	out->implicit_wr &= (uint16_t)~explicit_regs;
	return 0;
}

static bool is_jump(const cs_insn *ci)
{
	for (int i = 0; i < ci->detail->groups_count; i++)
		if (ci->detail->groups[i] == CS_GRP_JUMP)
			return true;
	return false;
}

/* Decoded instructions by their bytes, per thread. x86 decoding depends
 * only on the bytes (the address changes only the text and targets of
 * relative jumps, which are not cached), and the prover decodes the same
 * instructions over and over - one per register assignment - so most
 * lookups hit. */
#define CACHE_BUCKETS 16384
#define CACHE_MAX 65536

struct cached {
	struct cached *next;           /* bucket chain */
	uint8_t len;                   /* instruction bytes */
	uint8_t bytes[16];
	struct prove_x86_insn insn;    /* its decoding (offset 0) */
};

static _Thread_local struct cached **cache;
static _Thread_local size_t ncached;
static _Thread_local uint32_t cached_lens; /* bit n: an entry of n bytes exists */

static void cache_clear(void)
{
	for (size_t i = 0; cache && i < CACHE_BUCKETS; i++)
		for (struct cached *e = cache[i], *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
	if (cache)
		memset(cache, 0, CACHE_BUCKETS * sizeof(*cache));
	ncached = 0;
	cached_lens = 0;
}

void prove_x86_decode_release(void)
{
	cache_clear();
	free(cache);
	cache = NULL;
	if (handle_open)
		cs_close(&handle);
	handle_open = false;
}

/* Bucket of the @len bytes at @code. */
static size_t bucket(const uint8_t *code, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ code[i]) * 16777619u;
	return h % CACHE_BUCKETS;
}

/* The cached instruction the bytes at @code start with (@left remain):
 * tried for each instruction length seen so far. */
static const struct cached *cache_find(const uint8_t *code, size_t left)
{
	if (!cache)
		return NULL;
	for (size_t len = 1; len <= left && len < 16; len++) {
		if (!(cached_lens & (1u << len)))
			continue;
		for (const struct cached *e = cache[bucket(code, len)]; e; e = e->next)
			if (e->len == len && !memcmp(e->bytes, code, len))
				return e;
	}
	return NULL;
}

static void cache_add(const uint8_t *code, const cs_insn *ci, const struct prove_x86_insn *insn)
{
	if (!cache && !(cache = calloc(CACHE_BUCKETS, sizeof(*cache))))
		return;
	if (ci->size > sizeof(((struct cached *)0)->bytes))
		return;
	if (ncached >= CACHE_MAX)
		cache_clear();
	struct cached *e = malloc(sizeof(*e));
	if (!e)
		return;
	size_t b = bucket(code, ci->size);
	cached_lens |= 1u << ci->size;
	e->len = (uint8_t)ci->size;
	memcpy(e->bytes, code, ci->size);
	e->insn = *insn;
	e->insn.offset = 0;
	e->next = cache[b];
	cache[b] = e;
	ncached++;
}

int prove_x86_decode(const uint8_t *code, size_t len, struct prove_x86_insn **out, size_t *n,
		     char *why, size_t whysz)
{
	*out = NULL;
	*n = 0;
	int rc = open_handle();
	if (rc) {
		snprintf(why, whysz, "capstone: cannot open x86-64 mode");
		return rc;
	}
	size_t cap = 16, cnt = 0;
	struct prove_x86_insn *v = malloc(cap * sizeof(*v));
	bool *jump = malloc(cap * sizeof(*jump));
	cs_insn *ci = cs_malloc(handle);
	if (!v || !jump || !ci)
		rc = -ENOMEM;
	for (size_t off = 0; off < len && !rc;) {
		if (cnt == cap) {
			cap *= 2;
			struct prove_x86_insn *nv = realloc(v, cap * sizeof(*v));
			bool *nj = nv ? realloc(jump, cap * sizeof(*jump)) : NULL;
			v = nv ? nv : v;
			jump = nj ? nj : jump;
			if (!nv || !nj) {
				rc = -ENOMEM;
				break;
			}
		}
		const struct cached *hit = cache_find(code + off, len - off);
		if (hit) {
			v[cnt] = hit->insn;
			v[cnt].offset = (uint32_t)off;
			jump[cnt++] = false;
			off += hit->len;
			continue;
		}
		const uint8_t *at = code + off;
		size_t left = len - off;
		uint64_t addr = off;
		if (!cs_disasm_iter(handle, &at, &left, &addr, ci)) {
			snprintf(why, whysz, "bytes at +%zu do not decode", off);
			rc = -EINVAL;
			break;
		}
		if ((rc = convert(ci, &v[cnt], why, whysz)))
			break;
		jump[cnt] = is_jump(ci);
		if (jump[cnt] && (v[cnt].nops != 1 || v[cnt].op[0].kind != PX_IMM))
			rc = fail(why, whysz, ci, "indirect jumps are not modelled");
		else if (!jump[cnt])
			cache_add(code + off, ci, &v[cnt]);
		off += ci->size;
		cnt++;
	}
	/* direct jumps: the target as an instruction index */
	for (size_t i = 0; i < cnt && !rc; i++) {
		if (!jump[i])
			continue;
		uint64_t target = (uint64_t)v[i].op[0].val;
		size_t k = 0;
		while (k < cnt && v[k].offset != target)
			k++;
		if (k == cnt && target != len) {
			snprintf(why, whysz, "+%u %s: jump target is outside the code or inside an instruction",
				 (unsigned)v[i].offset, v[i].text);
			rc = -EINVAL;
		}
		v[i].op[0].val = (int64_t)k;
	}
	if (ci)
		cs_free(ci, 1);
	free(jump);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static uint16_t rename_mask(uint16_t m, const uint8_t perm[16])
{
	uint16_t r = 0;
	for (int i = 0; i < 16; i++)
		if (m & (1u << i))
			r |= (uint16_t)(1u << perm[i]);
	return r;
}

/* General registers are renamed; xmm registers (holding no eBPF state)
 * stay. */
static uint8_t rename_reg(uint8_t r, const uint8_t perm[16])
{
	return r < 16 ? perm[r] : r;
}

bool prove_x86_renamed(const struct prove_x86_insn *a, const struct prove_x86_insn *b, size_t n,
		       const uint8_t perm[16])
{
	for (size_t i = 0; i < n; i++) {
		const struct prove_x86_insn *x = &a[i], *y = &b[i];
		if (x->id != y->id || x->nops != y->nops ||
		    rename_mask(x->implicit_rd, perm) != y->implicit_rd ||
		    rename_mask(x->implicit_wr, perm) != y->implicit_wr)
			return false;
		for (int k = 0; k < x->nops; k++) {
			const struct prove_x86_opnd *p = &x->op[k], *q = &y->op[k];
			if (p->kind != q->kind || p->size != q->size || p->val != q->val)
				return false;
			if (p->kind == PX_REG && (rename_reg(p->reg, perm) != q->reg || p->hi8 != q->hi8))
				return false;
			if (p->kind == PX_MEM && (rename_reg(p->base, perm) != q->base ||
						  rename_reg(p->index, perm) != q->index || p->scale != q->scale))
				return false;
		}
	}
	return true;
}
