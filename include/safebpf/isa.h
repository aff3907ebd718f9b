/* safebpf/isa.h - the eBPF instruction set (RFC 9669): instruction layout,
 * opcode constants, instruction-building macros, decoding and validation.
 *
 * Every instruction form is defined once in src/isa/opcodes.def; this header
 * exposes the raw encoding constants (for code generators) and a decoder that
 * maps an instruction to its form.
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_ISA_H
#define SAFEBPF_ISA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One 8-byte instruction slot, laid out as on the wire (little endian). */
struct sbpf_insn {
	uint8_t code;       /* opcode byte: class | op | source/size/mode */
	uint8_t dst_reg:4;  /* destination register (low nibble) */
	uint8_t src_reg:4;  /* source register (high nibble) */
	int16_t off;        /* signed offset: jump distance or memory offset */
	int32_t imm;        /* signed immediate */
};

#define SBPF_NREGS    11    /* r0..r10 */
#define SBPF_REG_FP   10    /* read-only frame pointer */
#define SBPF_STACK_SIZE 512 /* bytes of stack per frame */
#define SBPF_MAX_INSNS (1u << 20)

/* Instruction classes (low 3 bits). */
enum {
	SBPF_LD = 0x00, SBPF_LDX = 0x01, SBPF_ST = 0x02, SBPF_STX = 0x03,
	SBPF_ALU = 0x04, SBPF_JMP = 0x05, SBPF_JMP32 = 0x06, SBPF_ALU64 = 0x07,
};
#define SBPF_CLASS(code) ((code) & 0x07)

/* Source operand bit for ALU and JMP classes. */
enum { SBPF_K = 0x00, SBPF_X = 0x08 };

/* ALU operations (high 4 bits). */
enum {
	SBPF_ADD = 0x00, SBPF_SUB = 0x10, SBPF_MUL = 0x20, SBPF_DIV = 0x30,
	SBPF_OR = 0x40, SBPF_AND = 0x50, SBPF_LSH = 0x60, SBPF_RSH = 0x70,
	SBPF_NEG = 0x80, SBPF_MOD = 0x90, SBPF_XOR = 0xa0, SBPF_MOV = 0xb0,
	SBPF_ARSH = 0xc0, SBPF_END = 0xd0,
};
enum { SBPF_TO_LE = 0x00, SBPF_TO_BE = 0x08 };

/* Jump operations (high 4 bits). */
enum {
	SBPF_JA = 0x00, SBPF_JEQ = 0x10, SBPF_JGT = 0x20, SBPF_JGE = 0x30,
	SBPF_JSET = 0x40, SBPF_JNE = 0x50, SBPF_JSGT = 0x60, SBPF_JSGE = 0x70,
	SBPF_CALL = 0x80, SBPF_EXIT = 0x90, SBPF_JLT = 0xa0, SBPF_JLE = 0xb0,
	SBPF_JSLT = 0xc0, SBPF_JSLE = 0xd0,
};

/* Load/store sizes and modes. */
enum { SBPF_W = 0x00, SBPF_H = 0x08, SBPF_B = 0x10, SBPF_DW = 0x18 };
enum { SBPF_IMM = 0x00, SBPF_MEM = 0x60, SBPF_MEMSX = 0x80, SBPF_ATOMIC = 0xc0 };

/* Atomic operations (imm field of SBPF_ATOMIC instructions). */
enum {
	SBPF_FETCH = 0x01, SBPF_XCHG = 0xe0 | SBPF_FETCH,
	SBPF_CMPXCHG = 0xf0 | SBPF_FETCH,
};

/* src_reg values of call and lddw pseudo forms. */
enum { SBPF_PSEUDO_CALL = 1, SBPF_PSEUDO_KFUNC_CALL = 2 };
enum {
	SBPF_PSEUDO_MAP_FD = 1, SBPF_PSEUDO_MAP_VALUE = 2, SBPF_PSEUDO_BTF_ID = 3,
	SBPF_PSEUDO_FUNC = 4, SBPF_PSEUDO_MAP_IDX = 5, SBPF_PSEUDO_MAP_IDX_VALUE = 6,
};

/* Instruction-building macros, in the style of the kernel's filter.h. */
#define SBPF_INSN(c, d, s, o, i) \
	((struct sbpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define SBPF_ALU64_IMM(op, d, i) SBPF_INSN(SBPF_ALU64 | (op) | SBPF_K, d, 0, 0, i)
#define SBPF_ALU64_REG(op, d, s) SBPF_INSN(SBPF_ALU64 | (op) | SBPF_X, d, s, 0, 0)
#define SBPF_ALU32_IMM(op, d, i) SBPF_INSN(SBPF_ALU | (op) | SBPF_K, d, 0, 0, i)
#define SBPF_ALU32_REG(op, d, s) SBPF_INSN(SBPF_ALU | (op) | SBPF_X, d, s, 0, 0)
#define SBPF_MOV64_IMM(d, i)     SBPF_ALU64_IMM(SBPF_MOV, d, i)
#define SBPF_MOV64_REG(d, s)     SBPF_ALU64_REG(SBPF_MOV, d, s)
#define SBPF_MOV32_IMM(d, i)     SBPF_ALU32_IMM(SBPF_MOV, d, i)
#define SBPF_MOV32_REG(d, s)     SBPF_ALU32_REG(SBPF_MOV, d, s)
#define SBPF_LDX_MEM(sz, d, s, o) SBPF_INSN(SBPF_LDX | SBPF_MEM | (sz), d, s, o, 0)
#define SBPF_STX_MEM(sz, d, s, o) SBPF_INSN(SBPF_STX | SBPF_MEM | (sz), d, s, o, 0)
#define SBPF_ST_MEM(sz, d, o, i)  SBPF_INSN(SBPF_ST | SBPF_MEM | (sz), d, 0, o, i)
#define SBPF_ATOMIC_OP(sz, op, d, s, o) SBPF_INSN(SBPF_STX | SBPF_ATOMIC | (sz), d, s, o, op)
#define SBPF_JMP_IMM(op, d, i, o) SBPF_INSN(SBPF_JMP | (op) | SBPF_K, d, 0, o, i)
#define SBPF_JMP_REG(op, d, s, o) SBPF_INSN(SBPF_JMP | (op) | SBPF_X, d, s, o, 0)
#define SBPF_JMP32_IMM(op, d, i, o) SBPF_INSN(SBPF_JMP32 | (op) | SBPF_K, d, 0, o, i)
#define SBPF_JMP32_REG(op, d, s, o) SBPF_INSN(SBPF_JMP32 | (op) | SBPF_X, d, s, o, 0)
#define SBPF_JA(o)               SBPF_INSN(SBPF_JMP | SBPF_JA, 0, 0, o, 0)
#define SBPF_CALL_HELPER(id)     SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, 0, 0, id)
#define SBPF_EXIT_INSN()         SBPF_INSN(SBPF_JMP | SBPF_EXIT, 0, 0, 0, 0)
/* lddw takes two slots: use both macros in sequence. */
#define SBPF_LD_IMM64_LO(d, src, v) SBPF_INSN(SBPF_LD | SBPF_DW | SBPF_IMM, d, src, 0, (int32_t)(uint32_t)(uint64_t)(v))
#define SBPF_LD_IMM64_HI(v)         SBPF_INSN(0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)(v) >> 32))

/* Operand layouts: which fields an instruction form uses. */
enum sbpf_fmt {
	SBPF_FMT_ALU_K,      /* dst op= imm */
	SBPF_FMT_ALU_X,      /* dst op= src */
	SBPF_FMT_MOVSX,      /* dst = (sN) src; off holds N */
	SBPF_FMT_NEG,        /* dst = -dst */
	SBPF_FMT_END,        /* byte swap of dst; imm holds the width */
	SBPF_FMT_LDX,        /* dst = *(src + off) */
	SBPF_FMT_ST,         /* *(dst + off) = imm */
	SBPF_FMT_STX,        /* *(dst + off) = src */
	SBPF_FMT_ATOMIC,     /* atomic op on *(dst + off) with src; imm holds the op */
	SBPF_FMT_LDDW,       /* dst = 64-bit immediate (two slots) */
	SBPF_FMT_JA,         /* pc += off */
	SBPF_FMT_JA32,       /* pc += imm */
	SBPF_FMT_JCOND_K,    /* if dst op imm: pc += off */
	SBPF_FMT_JCOND_X,    /* if dst op src: pc += off */
	SBPF_FMT_CALL,       /* helper (or kfunc) call by imm */
	SBPF_FMT_CALL_LOCAL, /* bpf-to-bpf call: pc += imm */
	SBPF_FMT_EXIT,       /* return r0 */
};

/* Which field separates forms that share an opcode byte. */
enum sbpf_key { SBPF_KEY_NONE, SBPF_KEY_OFF, SBPF_KEY_IMM, SBPF_KEY_SRC };

/* One instruction form; ids come from opcodes.def (SBPF_OP_<ID>). */
enum sbpf_op {
	SBPF_OP_INVALID = 0,
#define OP(id, code, key, kv, mn, fmt, sym) SBPF_OP_##id,
#include "safebpf/opcodes.def"
	SBPF_OP__COUNT
};

struct sbpf_op_info {
	const char *id;       /* "ADD64_IMM" */
	const char *mnemonic; /* assembler mnemonic, e.g. "add" or "lock fetch add32" */
	const char *symbol;   /* verifier-log operator, e.g. "+=" */
	uint8_t code;         /* opcode byte */
	uint8_t key;          /* enum sbpf_key */
	int32_t key_value;    /* value of the key field for this form */
	uint8_t fmt;          /* enum sbpf_fmt */
};

/* Table entry for form @op, or NULL when out of range. */
const struct sbpf_op_info *sbpf_op_info(enum sbpf_op op);

/* Instruction fields, as bits of sbpf_op_operands(). */
enum { SBPF_FIELD_DST = 1, SBPF_FIELD_SRC = 2, SBPF_FIELD_OFF = 4, SBPF_FIELD_IMM = 8 };

/* The fields form @op takes operands from (kfunc calls: imm and the BTF
 * object index in off). Its key field, if any, is part of the opcode and not
 * counted; every other field must be zero. */
int sbpf_op_operands(enum sbpf_op op);

/* The form of @insn, or SBPF_OP_INVALID when no form matches its opcode
 * byte and key field. Does not check reserved fields (see sbpf_validate). */
enum sbpf_op sbpf_decode(const struct sbpf_insn *insn);

/* Number of slots @op occupies (2 for lddw, else 1). */
static inline int sbpf_op_slots(enum sbpf_op op)
{
	const struct sbpf_op_info *i = sbpf_op_info(op);
	return i && i->fmt == SBPF_FMT_LDDW ? 2 : 1;
}

/* Why a program failed validation. */
struct sbpf_validate_error {
	size_t index;       /* instruction index (slot) that breaks the rule */
	char rule[160];     /* the rule broken, for people */
};

/* Check that @insns (@n slots) is well formed: known opcodes, reserved
 * fields zero, registers in range, dst not r10 for writes, lddw second slot
 * well formed, jump and call targets inside the program and not into the
 * second slot of an lddw, last instruction an exit or unconditional jump.
 * Returns 0, or -EINVAL with @err filled (@err may be NULL). */
int sbpf_validate(const struct sbpf_insn *insns, size_t n,
		  struct sbpf_validate_error *err);

/* For a program that passed sbpf_validate(): refuses, as the kernel verifier
 * does, a read of r1-r5 after a call (helper, kfunc or bpf-to-bpf) on some
 * path before the register is written again; those registers are undefined
 * after a call and the engines leave different values there. The checked
 * engines (interpreter, checked JIT) apply it at load. Returns 0, -EINVAL
 * with @err filled (the reading instruction), or -ENOMEM. */
int sbpf_validate_clobbers(const struct sbpf_insn *insns, size_t n,
			   struct sbpf_validate_error *err);
/* The same with @flags: SBPF_VALIDATE_STACK_ESCAPE lets stack addresses
 * leave the program (for the library's own comparison harnesses, which
 * compare stack addresses by their offset from r10; never for a user's
 * program). sbpf_validate_clobbers() also refuses, in every program, a
 * stack-derived value (r10, r10 plus or minus a number, anything computed
 * from one except the distance between two) returned in r0, stored outside
 * the stack or handed to an atomic operation: it is a host address, placed
 * differently by each engine. */
#define SBPF_VALIDATE_STACK_ESCAPE 1u
int sbpf_validate_registers(const struct sbpf_insn *insns, size_t n, unsigned flags,
			    struct sbpf_validate_error *err);

/*
 * Builder: the code-generation API. Append instructions, jump to labels that
 * are bound before or after the jump, and collect the program at the end.
 * The first error sticks: later calls do nothing and finish() reports it.
 */
struct sbpf_builder;

struct sbpf_builder *sbpf_builder__new(void);
void sbpf_builder__free(struct sbpf_builder *b);

/* Appends one slot; returns its index or a negative error. */
int sbpf_builder__emit(struct sbpf_builder *b, struct sbpf_insn insn);
/* Appends lddw dst, imm (two slots), with @pseudo as src_reg (0 for a constant). */
int sbpf_builder__emit_lddw(struct sbpf_builder *b, int dst, int pseudo, uint64_t imm);

/* A fresh, unbound label id (>= 0), or a negative error. */
int sbpf_builder__new_label(struct sbpf_builder *b);
/* Binds @label to the next instruction appended. */
int sbpf_builder__bind(struct sbpf_builder *b, int label);
/* Appends @jmp (a ja, ja32 or conditional jump) whose target is @label;
 * the offset field is filled in by finish(). */
int sbpf_builder__jump(struct sbpf_builder *b, struct sbpf_insn jmp, int label);
/* Appends a bpf-to-bpf call to @label. */
int sbpf_builder__call_local(struct sbpf_builder *b, int label);

size_t sbpf_builder__len(const struct sbpf_builder *b);
/* The sticky error (0 when none). */
int sbpf_builder__error(const struct sbpf_builder *b);

/* Resolves labels and validates. On success stores a malloc'ed array the
 * caller frees in *@out and its length in *@n, and returns 0; otherwise
 * returns the first error (-EINVAL for unbound labels, out-of-range jumps or
 * an invalid program, with the reason in @err when not NULL). */
int sbpf_builder__finish(struct sbpf_builder *b, struct sbpf_insn **out, size_t *n,
			 struct sbpf_validate_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_ISA_H */
