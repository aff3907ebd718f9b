/* kexpr.c - bound SQL expressions compiled to eBPF, for the operators the
 * optimizer moves into the kernel (filters, group keys, aggregate
 * arguments). Values are read from staged records (record.c layouts) that a
 * program holds in per-CPU scratch; nothing here calls a helper.
 *
 * Only expressions whose kernel result is exactly what the executor
 * (exec.c sql_eval) computes are accepted by sql_kx_ok():
 *   - columns of one table side read as numbers (conversion NUM or DIFF),
 *     as in record.c: raw field width, sign extension, 32-bit halves;
 *   - numeric and boolean literals; + - * & | and unary minus (64-bit
 *     wrap-around like the executor); / and % by a positive literal,
 *     unsigned (BPF_DIV/BPF_MOD) when the node is u64 and signed (an
 *     emulation with truncation toward zero, which every kernel accepts,
 *     unlike the cpu v4 sdiv/smod) when it is s64; signed() and unsigned(),
 *     which change only the type;
 *   - comparisons (signed, unsigned, and mixed as sql_value_cmp orders
 *     them), AND, OR, NOT, IN lists, BETWEEN, IS [NOT] NULL;
 *   - string columns (conversion STR) compared with a literal by = != IN
 *     and LIKE 'text' / LIKE 'prefix%'.
 * None of these can be NULL in the kernel (columns are always captured),
 * so three-valued logic reduces to two values there.
 *
 * Registers: expression values live in r0..r5 (depth d uses r<d>), so
 * nesting is bounded by SQL_KX_REGS; r6..r9 belong to the program around.
 */
#include <errno.h>
#include <string.h>

#include "sql/sqlInt.h"

static void emit(struct sql_kx *k, struct sbpf_insn insn)
{
	sbpf_builder__emit(k->b, insn);
}

static void jump(struct sql_kx *k, struct sbpf_insn insn, int label)
{
	sbpf_builder__jump(k->b, insn, label);
}

/* goto @label, written as "if r10 != 0" (always true): the verifier's CFG
 * check refuses code no edge reaches, and a constant condition (IS NULL of
 * a value that cannot be NULL, a string longer than its field) would leave
 * the code after an unconditional jump unreachable; with a conditional
 * jump that code stays in the CFG and the verifier prunes it as dead. */
static void always(struct sql_kx *k, int label)
{
	sbpf_builder__jump(k->b, SBPF_JMP_IMM(SBPF_JNE, SBPF_REG_FP, 0, 0), label);
}

static int size_code(unsigned size)
{
	return size == 8 ? SBPF_DW : size == 4 ? SBPF_W : size == 2 ? SBPF_H : SBPF_B;
}

static bool fits_imm(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* reg = 64-bit constant @v. */
static void load_const(struct sql_kx *k, int reg, uint64_t v)
{
	if (fits_imm((int64_t)v))
		emit(k, SBPF_MOV64_IMM(reg, (int32_t)(int64_t)v));                    /* reg = imm */
	else
		sbpf_builder__emit_lddw(k->b, reg, 0, v);                            /* reg = imm64 */
}

/* ---- what can be compiled ---------------------------------------------- */

static bool numeric_type(enum sql_type t)
{
	return t == SQL_T_INT || t == SQL_T_UINT || t == SQL_T_TIME || t == SQL_T_DURATION || t == SQL_T_BOOL;
}

static const struct sql_column *column_of(const struct sql_table *t, const struct sql_expr *e)
{
	return e->col >= 0 && (size_t)e->col < t->ncols ? &t->cols[e->col] : NULL;
}

/* Probes (bit per probe) a column's value comes from. */
static unsigned column_probes(const struct sql_column *c)
{
	unsigned m = 0;
	for (int i = 0; i < 3; i++)
		if (c->src.in[i].name)
			m |= 1u << c->src.in[i].probe;
	return m;
}

/* A string column the kernel can compare: a plain string capture. */
static bool string_column(const struct sql_table *t, const struct sql_expr *e, int side)
{
	const struct sql_column *c;
	return e->kind == SQL_E_COLUMN && e->side == side && (c = column_of(t, e)) && c->type == SQL_T_STR &&
	       c->src.conv == SQL_CONV_STR;
}

static bool string_lit(const struct sql_expr *e)
{
	return e->kind == SQL_E_LIT && e->v.type == SQL_T_STR && e->v.s;
}

/* LIKE patterns the kernel matches: no '_', no '%' except one at the end. */
static bool simple_like(const char *pat, size_t *len, bool *prefix)
{
	size_t n = strlen(pat);
	*prefix = n && pat[n - 1] == '%';
	if (*prefix)
		n--;
	for (size_t i = 0; i < n; i++)
		if (pat[i] == '%' || pat[i] == '_')
			return false;
	*len = n;
	return true;
}

static bool positive_lit(const struct sql_expr *e)
{
	return e->kind == SQL_E_LIT && numeric_type(e->v.type) &&
	       (e->v.type == SQL_T_UINT ? e->v.u > 0 && e->v.u <= INT64_MAX : e->v.i > 0);
}

/* signed(x) / unsigned(x): the same bits, only the type changes. */
static bool retype_call(const struct sql_expr *e)
{
	return e->kind == SQL_E_CALL && e->fn && e->nlist == 1 &&
	       (!strcmp(e->fn->name, "signed") || !strcmp(e->fn->name, "unsigned"));
}

struct okctx {
	const struct sql_table *t; /* table of the side */
	int side;                  /* the side */
	unsigned probes;           /* probes read so far */
};

static int need_value(struct okctx *o, const struct sql_expr *e);
static int need_pred(struct okctx *o, const struct sql_expr *e);

static int max2(int a, int b)
{
	return a > b ? a : b;
}

/* Registers a value computation needs, or -1 when it cannot be compiled. */
static int need_value(struct okctx *o, const struct sql_expr *e)
{
	int x, y;
	if (!e || !numeric_type(e->type))
		return -1;
	switch (e->kind) {
	case SQL_E_LIT:
		return numeric_type(e->v.type) ? 1 : -1;
	case SQL_E_COLUMN: {
		const struct sql_column *c = e->side == o->side ? column_of(o->t, e) : NULL;
		if (!c || (c->src.conv != SQL_CONV_NUM && c->src.conv != SQL_CONV_DIFF))
			return -1;
		o->probes |= column_probes(c);
		return c->src.conv == SQL_CONV_DIFF ? 2 : 1;
	}
	case SQL_E_UNARY:
		if (e->op == SQL_OP_NEG)
			return need_value(o, e->a);
		return need_pred(o, e);
	case SQL_E_CALL:
		return retype_call(e) ? need_value(o, e->list[0]) : -1;
	case SQL_E_BINARY:
		switch (e->op) {
		case SQL_OP_ADD: case SQL_OP_SUB: case SQL_OP_MUL:
		case SQL_OP_BITAND: case SQL_OP_BITOR:
			x = need_value(o, e->a);
			y = need_value(o, e->b);
			return x < 0 || y < 0 ? -1 : max2(x, y + 1);
		case SQL_OP_DIV: case SQL_OP_MOD:
			if (!positive_lit(e->b))
				return -1;
			x = need_value(o, e->a);
			return x < 0 ? -1 : max2(x, 2);
		default:
			return need_pred(o, e);
		}
	default:
		return need_pred(o, e);
	}
}

/* Registers a condition needs (materialized as 0/1 or branched on). */
static int need_pred(struct okctx *o, const struct sql_expr *e)
{
	int x, y, z;
	if (!e || (e->type != SQL_T_BOOL))
		return -1;
	switch (e->kind) {
	case SQL_E_LIT:
		return 1;
	case SQL_E_COLUMN:
		return need_value(o, e);
	case SQL_E_UNARY:
		return e->op == SQL_OP_NOT ? need_pred(o, e->a) : -1;
	case SQL_E_BINARY:
		switch (e->op) {
		case SQL_OP_AND: case SQL_OP_OR:
			x = need_pred(o, e->a);
			y = need_pred(o, e->b);
			return x < 0 || y < 0 ? -1 : max2(x, y);
		case SQL_OP_EQ: case SQL_OP_NE:
			if (string_column(o->t, e->a, o->side) && string_lit(e->b)) {
				o->probes |= column_probes(column_of(o->t, e->a));
				return 2;
			}
			if (string_column(o->t, e->b, o->side) && string_lit(e->a)) {
				o->probes |= column_probes(column_of(o->t, e->b));
				return 2;
			}
			/* fall through */
		case SQL_OP_LT: case SQL_OP_LE: case SQL_OP_GT: case SQL_OP_GE:
			x = need_value(o, e->a);
			y = need_value(o, e->b);
			return x < 0 || y < 0 ? -1 : max2(x, y + 1);
		default:
			return -1;
		}
	case SQL_E_IN:
		if (string_column(o->t, e->a, o->side)) {
			for (size_t i = 0; i < e->nlist; i++)
				if (!string_lit(e->list[i]))
					return -1;
			o->probes |= column_probes(column_of(o->t, e->a));
			return 2;
		}
		x = need_value(o, e->a);
		for (size_t i = 0; i < e->nlist && x >= 0; i++)
			if (e->list[i]->kind != SQL_E_LIT || !numeric_type(e->list[i]->v.type))
				x = -1;
		return x < 0 ? -1 : max2(x, 2);
	case SQL_E_BETWEEN:
		x = need_value(o, e->a);
		y = need_value(o, e->b);
		z = need_value(o, e->c);
		return x < 0 || y < 0 || z < 0 ? -1 : max2(x, max2(y, z) + 1);
	case SQL_E_LIKE: {
		size_t len;
		bool prefix;
		if (!string_column(o->t, e->a, o->side) || !string_lit(e->b) || !simple_like(e->b->v.s, &len, &prefix))
			return -1;
		o->probes |= column_probes(column_of(o->t, e->a));
		return 2;
	}
	case SQL_E_ISNULL:
		/* Kernel values are never NULL; the operand must still compile. */
		x = numeric_type(e->a->type) ? need_value(o, e->a) : -1;
		if (x < 0 && string_column(o->t, e->a, o->side)) {
			o->probes |= column_probes(column_of(o->t, e->a));
			x = 1;
		}
		return x;
	default:
		return -1;
	}
}

bool sql_kx_ok(const struct sql_table *t, int side, const struct sql_expr *e, bool pred, unsigned *probes)
{
	struct okctx o = { .t = t, .side = side };
	int n = pred ? need_pred(&o, e) : need_value(&o, e);
	if (probes)
		*probes = o.probes;
	return n >= 1 && n <= SQL_KX_REGS;
}

/* ---- loading columns ----------------------------------------------------- */

/* reg = input @b of the staged records, as record.c's input_u64 reads it. */
static int load_input(struct sql_kx *k, const struct sql_inbind *b, int reg)
{
	if (b->probe < 0 || b->probe >= SQL_MAX_PROBES || k->base[b->probe] < 0)
		return -EINVAL;
	const struct sql_cap *c = &k->rp->lay[b->probe].caps[b->cap];
	int base = k->base[b->probe];
	if (c->kind == SQL_CAP_FIELD) {
		unsigned es = c->field->size / c->field->nelem;
		unsigned off = c->off + (b->elem > 0 ? (unsigned)b->elem * es : 0);
		emit(k, SBPF_LDX_MEM(size_code(es), reg, base, (int16_t)off));          /* reg = *(rec + off) */
		if (c->field->is_signed && es < 8) {
			emit(k, SBPF_ALU64_IMM(SBPF_LSH, reg, 64 - 8 * (int)es));       /* sign extend */
			emit(k, SBPF_ALU64_IMM(SBPF_ARSH, reg, 64 - 8 * (int)es));
		}
	} else if (c->kind == SQL_CAP_CPU) {
		emit(k, SBPF_LDX_MEM(SBPF_W, reg, base, (int16_t)c->off));               /* reg = *(u32 *)(rec + off) */
	} else if (c->kind == SQL_CAP_TS || c->kind == SQL_CAP_PID_TGID || c->kind == SQL_CAP_UID_GID ||
		   c->kind == SQL_CAP_CGROUP) {
		emit(k, SBPF_LDX_MEM(SBPF_DW, reg, base, (int16_t)c->off));              /* reg = *(u64 *)(rec + off) */
	} else {
		return -EINVAL;
	}
	if (b->part == SQL_PART_LO32)
		emit(k, SBPF_MOV32_REG(reg, reg));                                       /* w = low half */
	else if (b->part == SQL_PART_HI32)
		emit(k, SBPF_ALU64_IMM(SBPF_RSH, reg, 32));                              /* reg >>= 32 */
	return 0;
}

int sql_kx_input(struct sql_kx *k, const struct sql_inbind *b, int reg)
{
	return load_input(k, b, reg);
}

static const struct sql_colbind *colbind(struct sql_kx *k, const struct sql_expr *e)
{
	if (e->kind != SQL_E_COLUMN || e->side != k->side || e->col < 0 || (size_t)e->col >= k->rp->t->ncols)
		return NULL;
	const struct sql_colbind *cb = &k->rp->cols[e->col];
	return cb->used ? cb : NULL;
}

/* ---- values -------------------------------------------------------------- */

static int value(struct sql_kx *k, const struct sql_expr *e, int d);
static int branch(struct sql_kx *k, const struct sql_expr *e, bool sense, int label, int d);

static int reg_of(struct sql_kx *k, int d)
{
	if (d >= SQL_KX_REGS) {
		k->err = -E2BIG;
		return 0;
	}
	return d;
}

/* Condition @e as 0 or 1 in r<d>. */
static int materialize(struct sql_kx *k, const struct sql_expr *e, int d)
{
	int r = reg_of(k, d);
	int l_true = sbpf_builder__new_label(k->b), l_end = sbpf_builder__new_label(k->b);
	int rc = branch(k, e, true, l_true, d);
	emit(k, SBPF_MOV64_IMM(r, 0));                                                   /* r = 0 */
	always(k, l_end);
	sbpf_builder__bind(k->b, l_true);
	emit(k, SBPF_MOV64_IMM(r, 1));                                                   /* r = 1 */
	sbpf_builder__bind(k->b, l_end);
	return rc;
}

/* Signed division or remainder of r<d> by the positive constant @c, with
 * C's truncation toward zero (the executor's int64 / and %). */
static void signed_divmod(struct sql_kx *k, int r, int tmp, uint64_t c, bool mod)
{
	int l_neg = sbpf_builder__new_label(k->b), l_end = sbpf_builder__new_label(k->b);
	load_const(k, tmp, c);
	jump(k, SBPF_JMP_IMM(SBPF_JSLT, r, 0, 0), l_neg);                               /* if r s< 0 goto neg */
	emit(k, SBPF_ALU64_REG(mod ? SBPF_MOD : SBPF_DIV, r, tmp));                      /* r = r op tmp */
	always(k, l_end);
	sbpf_builder__bind(k->b, l_neg);
	emit(k, SBPF_INSN(SBPF_ALU64 | SBPF_NEG | SBPF_K, r, 0, 0, 0));                  /* r = -r */
	emit(k, SBPF_ALU64_REG(mod ? SBPF_MOD : SBPF_DIV, r, tmp));                      /* r = r op tmp */
	emit(k, SBPF_INSN(SBPF_ALU64 | SBPF_NEG | SBPF_K, r, 0, 0, 0));                  /* r = -r */
	sbpf_builder__bind(k->b, l_end);
}

static int value(struct sql_kx *k, const struct sql_expr *e, int d)
{
	int r = reg_of(k, d), rc;
	switch (e->kind) {
	case SQL_E_LIT:
		load_const(k, r, e->v.type == SQL_T_BOOL ? (uint64_t)(e->v.i != 0) : e->v.u);
		return 0;
	case SQL_E_COLUMN: {
		const struct sql_colbind *cb = colbind(k, e);
		if (!cb)
			return -EINVAL;
		const struct sql_column *c = &k->rp->t->cols[e->col];
		if ((rc = load_input(k, &cb->in[0], r)))
			return rc;
		if (c->src.conv == SQL_CONV_DIFF) {
			int r2 = reg_of(k, d + 1);
			if ((rc = load_input(k, &cb->in[1], r2)))
				return rc;
			emit(k, SBPF_ALU64_REG(SBPF_SUB, r, r2));                         /* r -= r2 */
		} else if (c->src.conv != SQL_CONV_NUM) {
			return -EINVAL;
		}
		if (c->type == SQL_T_BOOL) {
			int l = sbpf_builder__new_label(k->b);
			jump(k, SBPF_JMP_IMM(SBPF_JEQ, r, 0, 0), l);                      /* r = r != 0 */
			emit(k, SBPF_MOV64_IMM(r, 1));
			sbpf_builder__bind(k->b, l);
		}
		return 0;
	}
	case SQL_E_CALL:
		if (!retype_call(e))
			return -EINVAL;
		return value(k, e->list[0], d);
	case SQL_E_UNARY:
		if (e->op != SQL_OP_NEG)
			return materialize(k, e, d);
		if ((rc = value(k, e->a, d)))
			return rc;
		emit(k, SBPF_INSN(SBPF_ALU64 | SBPF_NEG | SBPF_K, r, 0, 0, 0));          /* r = -r */
		return 0;
	case SQL_E_BINARY: {
		static const int alu[] = {
			[SQL_OP_ADD] = SBPF_ADD, [SQL_OP_SUB] = SBPF_SUB, [SQL_OP_MUL] = SBPF_MUL,
			[SQL_OP_BITAND] = SBPF_AND, [SQL_OP_BITOR] = SBPF_OR,
		};
		switch (e->op) {
		case SQL_OP_ADD: case SQL_OP_SUB: case SQL_OP_MUL:
		case SQL_OP_BITAND: case SQL_OP_BITOR:
			if ((rc = value(k, e->a, d)) || (rc = value(k, e->b, d + 1)))
				return rc;
			emit(k, SBPF_ALU64_REG(alu[e->op], r, reg_of(k, d + 1)));        /* r op= r' */
			return 0;
		case SQL_OP_DIV: case SQL_OP_MOD: {
			if (!positive_lit(e->b))
				return -EINVAL;
			if ((rc = value(k, e->a, d)))
				return rc;
			/* the node's type decides, as in the executor (arg1 / 10: u64) */
			bool unsig = e->type == SQL_T_UINT;
			int tmp = reg_of(k, d + 1);
			if (unsig) {
				load_const(k, tmp, e->b->v.u);
				emit(k, SBPF_ALU64_REG(e->op == SQL_OP_DIV ? SBPF_DIV : SBPF_MOD, r, tmp));
			} else {
				signed_divmod(k, r, tmp, e->b->v.u, e->op == SQL_OP_MOD);
			}
			return 0;
		}
		default:
			return materialize(k, e, d);
		}
	}
	default:
		return materialize(k, e, d);
	}
}

int sql_kx_value(struct sql_kx *k, const struct sql_expr *e, int reg)
{
	k->err = 0;
	int rc = value(k, e, reg);
	return rc ? rc : k->err;
}

/* ---- conditions ---------------------------------------------------------- */

/* Jump ops: [op][signed] for "if a op b goto". */
static int jmp_op(enum sql_op op, bool sgn)
{
	switch (op) {
	case SQL_OP_EQ: return SBPF_JEQ;
	case SQL_OP_NE: return SBPF_JNE;
	case SQL_OP_LT: return sgn ? SBPF_JSLT : SBPF_JLT;
	case SQL_OP_LE: return sgn ? SBPF_JSLE : SBPF_JLE;
	case SQL_OP_GT: return sgn ? SBPF_JSGT : SBPF_JGT;
	default: return sgn ? SBPF_JSGE : SBPF_JGE;
	}
}

static enum sql_op negate_op(enum sql_op op)
{
	switch (op) {
	case SQL_OP_EQ: return SQL_OP_NE;
	case SQL_OP_NE: return SQL_OP_EQ;
	case SQL_OP_LT: return SQL_OP_GE;
	case SQL_OP_LE: return SQL_OP_GT;
	case SQL_OP_GT: return SQL_OP_LE;
	default: return SQL_OP_LT;
	}
}

static enum sql_op swap_op(enum sql_op op)
{
	switch (op) {
	case SQL_OP_LT: return SQL_OP_GT;
	case SQL_OP_LE: return SQL_OP_GE;
	case SQL_OP_GT: return SQL_OP_LT;
	case SQL_OP_GE: return SQL_OP_LE;
	default: return op;
	}
}

/* Whether "a op b" holds when a is unsigned and b is negative (a > b). */
static bool mixed_negative_result(enum sql_op op)
{
	return op == SQL_OP_NE || op == SQL_OP_GT || op == SQL_OP_GE;
}

/* if (a op b) == sense goto label; a, b numeric. Orders like sql_value_cmp:
 * two unsigned operands unsigned, two signed ones signed, and a negative
 * signed operand below every unsigned one. */
static int compare(struct sql_kx *k, enum sql_op op, const struct sql_expr *a, const struct sql_expr *b,
		   bool sense, int label, int d)
{
	int rc;
	/* Put a literal on the right. */
	if (a->kind == SQL_E_LIT && b->kind != SQL_E_LIT) {
		const struct sql_expr *t = a;
		a = b;
		b = t;
		op = swap_op(op);
	}
	if (!sense)
		op = negate_op(op);
	bool au = a->type == SQL_T_UINT, bu = b->type == SQL_T_UINT;
	int ra = reg_of(k, d);
	if ((rc = value(k, a, d)))
		return rc;
	if (au && !bu && b->kind == SQL_E_LIT) {
		/* Unsigned value against a signed literal: decided by its sign. */
		if (b->v.i >= 0) {
			bu = true; /* both non-negative: unsigned order */
		} else {
			/* a unsigned, b negative: a > b always (op already adjusted for sense) */
			if (mixed_negative_result(op))
				always(k, label);
			return 0;
		}
	}
	if (b->kind == SQL_E_LIT && (au == bu) && fits_imm((int64_t)b->v.u) && b->v.type != SQL_T_BOOL) {
		/* Immediates are sign-extended: fine for signed order, and for
		 * unsigned order when the constant is the same 64-bit value. */
		jump(k, SBPF_JMP_IMM(jmp_op(op, !au), ra, (int32_t)(int64_t)b->v.u, 0), label);
		return 0;
	}
	int rb = reg_of(k, d + 1);
	if ((rc = value(k, b, d + 1)))
		return rc;
	if (au == bu) {
		jump(k, SBPF_JMP_REG(jmp_op(op, !au), ra, rb, 0), label);
		return 0;
	}
	/* Mixed, both computed: the signed one may be negative. */
	int rs = au ? rb : ra;
	int l_pos = sbpf_builder__new_label(k->b);
	jump(k, SBPF_JMP_IMM(SBPF_JSGE, rs, 0, 0), l_pos);                               /* if signed >= 0 goto pos */
	/* negative signed operand: unsigned one is greater */
	bool holds = au ? mixed_negative_result(op) : mixed_negative_result(swap_op(op));
	if (holds)
		always(k, label);
	int l_end = sbpf_builder__new_label(k->b);
	always(k, l_end);
	sbpf_builder__bind(k->b, l_pos);
	jump(k, SBPF_JMP_REG(jmp_op(op, false), ra, rb, 0), label);
	sbpf_builder__bind(k->b, l_end);
	return 0;
}

/* Compares @n bytes of the string capture of column @e with @lit[0..n)
 * (padded with NULs); jumps to @l_ne at the first difference. */
static int bytes_equal(struct sql_kx *k, const struct sql_expr *col, const char *lit, size_t litlen, size_t n,
		       int l_ne, int d)
{
	const struct sql_colbind *cb = colbind(k, col);
	if (!cb)
		return -EINVAL;
	const struct sql_inbind *b = &cb->in[0];
	if (b->probe < 0 || k->base[b->probe] < 0)
		return -EINVAL;
	const struct sql_cap *c = &k->rp->lay[b->probe].caps[b->cap];
	int base = k->base[b->probe], r = reg_of(k, d), rc2 = reg_of(k, d + 1);
	for (size_t i = 0; i < n;) {
		unsigned s = 8;
		while (s > 1 && (((c->off + i) % s) || n - i < s))
			s /= 2;
		uint64_t want = 0;
		for (unsigned j = 0; j < s; j++)
			if (i + j < litlen)
				want |= (uint64_t)(unsigned char)lit[i + j] << (8 * j);
		emit(k, SBPF_LDX_MEM(size_code(s), r, base, (int16_t)(c->off + i)));     /* r = bytes */
		if (s == 8) {
			sbpf_builder__emit_lddw(k->b, rc2, 0, want);                     /* r' = expected */
			jump(k, SBPF_JMP_REG(SBPF_JNE, r, rc2, 0), l_ne);
		} else {
			jump(k, SBPF_JMP32_IMM(SBPF_JNE, r, (int32_t)(uint32_t)want, 0), l_ne);
		}
		i += s;
	}
	return 0;
}

/* Capture size of a string column. */
static size_t string_size(struct sql_kx *k, const struct sql_expr *col)
{
	const struct sql_colbind *cb = colbind(k, col);
	if (!cb || cb->in[0].probe < 0)
		return 0;
	return k->rp->lay[cb->in[0].probe].caps[cb->in[0].cap].size;
}

/* if (column = lit, or LIKE 'lit%' when @prefix) == sense goto label. The
 * executor's string is the capture up to its first NUL. */
static int string_test(struct sql_kx *k, const struct sql_expr *col, const char *lit, size_t len, bool prefix,
		       bool sense, int label, int d)
{
	size_t size = string_size(k, col);
	if (!size || !colbind(k, col))
		return -EINVAL;
	if (len > size || (len == size && !prefix && memchr(lit, 0, len))) {
		if (!sense)
			always(k, label); /* can never match */
		return 0;
	}
	size_t n = prefix || len == size ? len : len + 1; /* the NUL ends an equal string */
	if (n == 0) {
		if (sense)
			always(k, label); /* LIKE '%' matches everything */
		return 0;
	}
	if (sense) {
		int l_ne = sbpf_builder__new_label(k->b);
		int rc = bytes_equal(k, col, lit, len, n, l_ne, d);
		always(k, label);
		sbpf_builder__bind(k->b, l_ne);
		return rc;
	}
	return bytes_equal(k, col, lit, len, n, label, d);
}

static int branch(struct sql_kx *k, const struct sql_expr *e, bool sense, int label, int d)
{
	int rc;
	switch (e->kind) {
	case SQL_E_LIT:
		if ((e->v.type == SQL_T_BOOL && e->v.i) == sense)
			always(k, label);
		return 0;
	case SQL_E_COLUMN:
		if ((rc = value(k, e, d)))
			return rc;
		jump(k, SBPF_JMP_IMM(sense ? SBPF_JNE : SBPF_JEQ, reg_of(k, d), 0, 0), label);
		return 0;
	case SQL_E_UNARY:
		if (e->op != SQL_OP_NOT)
			return -EINVAL;
		return branch(k, e->a, !sense, label, d);
	case SQL_E_BINARY:
		switch (e->op) {
		case SQL_OP_AND:
		case SQL_OP_OR: {
			/* AND with sense false / OR with sense true: either operand decides. */
			bool any = (e->op == SQL_OP_OR) == sense;
			if (any) {
				if ((rc = branch(k, e->a, sense, label, d)))
					return rc;
				return branch(k, e->b, sense, label, d);
			}
			int l_skip = sbpf_builder__new_label(k->b);
			if ((rc = branch(k, e->a, !sense, l_skip, d)) || (rc = branch(k, e->b, sense, label, d)))
				return rc;
			sbpf_builder__bind(k->b, l_skip);
			return 0;
		}
		case SQL_OP_EQ: case SQL_OP_NE: {
			const struct sql_expr *col = string_lit(e->b) ? e->a : string_lit(e->a) ? e->b : NULL;
			if (col && col->type == SQL_T_STR) {
				const char *s = col == e->a ? e->b->v.s : e->a->v.s;
				return string_test(k, col, s, strlen(s), false, sense == (e->op == SQL_OP_EQ), label, d);
			}
			return compare(k, e->op, e->a, e->b, sense, label, d);
		}
		case SQL_OP_LT: case SQL_OP_LE: case SQL_OP_GT: case SQL_OP_GE:
			return compare(k, e->op, e->a, e->b, sense, label, d);
		default:
			return -EINVAL;
		}
	case SQL_E_IN: {
		/* a IN (l1, l2, ...) == !negated when some item equals a. */
		bool want_hit = sense != e->negated;
		int l_hit = want_hit ? label : sbpf_builder__new_label(k->b);
		bool str = e->a->type == SQL_T_STR;
		for (size_t i = 0; i < e->nlist; i++) {
			const struct sql_expr *it = e->list[i];
			if (str) {
				rc = string_test(k, e->a, it->v.s, strlen(it->v.s), false, true, l_hit, d);
			} else {
				rc = compare(k, SQL_OP_EQ, e->a, it, true, l_hit, d);
			}
			if (rc)
				return rc;
		}
		if (!want_hit) {
			always(k, label); /* no item matched */
			sbpf_builder__bind(k->b, l_hit);
		}
		return 0;
	}
	case SQL_E_BETWEEN: {
		/* inside = a >= b AND a <= c; truth = inside != negated */
		bool want_inside = sense != e->negated;
		if (!want_inside) {
			if ((rc = compare(k, SQL_OP_GE, e->a, e->b, false, label, d)))
				return rc;
			return compare(k, SQL_OP_LE, e->a, e->c, false, label, d);
		}
		int l_out = sbpf_builder__new_label(k->b);
		if ((rc = compare(k, SQL_OP_GE, e->a, e->b, false, l_out, d)) ||
		    (rc = compare(k, SQL_OP_LE, e->a, e->c, true, label, d)))
			return rc;
		sbpf_builder__bind(k->b, l_out);
		return 0;
	}
	case SQL_E_LIKE: {
		size_t len;
		bool prefix;
		if (!simple_like(e->b->v.s, &len, &prefix))
			return -EINVAL;
		return string_test(k, e->a, e->b->v.s, len, prefix, sense != e->negated, label, d);
	}
	case SQL_E_ISNULL:
		/* never NULL: IS NULL is false, IS NOT NULL true */
		if (e->negated == sense)
			always(k, label);
		return 0;
	default:
		return -EINVAL;
	}
}

int sql_kx_branch(struct sql_kx *k, const struct sql_expr *e, bool sense, int label)
{
	k->err = 0;
	int rc = branch(k, e, sense, label, 0);
	return rc ? rc : k->err;
}
