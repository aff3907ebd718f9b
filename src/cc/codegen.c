/* codegen.c - eBPF for the congestion-control DSL's plans, with the
 * project's builder and offsets from vmlinux BTF (meas.c); no compiler at
 * run time. Every plan has the same four tcp_congestion_ops callbacks:
 *
 *   cong_control(sk, ack, flag, rs)  per ACK: finds the socket's storage
 *       (BPF_MAP_TYPE_SK_STORAGE; a flow id on the first ACK), computes the
 *       measurements into a stack record, then
 *         MVSF:   sends the record to user space (ring buffer) and applies
 *                 the cwnd / pacing rate user space last wrote for the flow
 *                 (control map);
 *         kernel: runs the folds and rules on the state in the storage,
 *                 applies actions directly, sends the state on `report`;
 *   ssthresh(sk)   max(cwnd / 2, 2) (the kernel stores it; cwnd stays ours);
 *   undo_cwnd(sk)  the current cwnd (no undo);
 *   release(sk)    tells user space the flow closed, drops its control entry.
 *
 * Register use in cong_control: r6 = sk (tcp_sock), r7 = rs, r8 = storage,
 * r9 = flag; expressions are computed in r0 with operands in r1-r3 and
 * temporaries on the stack (depth bounded by the parser).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/ccInt.h"

/* Stack layout (offsets from r10). */
#define OFF_FLAG  (-8)                             /* u64: a report ran */
#define OFF_KEY   (-16)                            /* u32: flow id as a map key */
#define OFF_REC   (-16 - 8 * (CC_NMEAS + 1 + CC_MAX_STATE)) /* record: header, measurements, state */
#define OFF_MEAS(m) (OFF_REC + 8 * (1 + (m)))
#define OFF_RSTATE(i) OFF_MEAS(CC_NMEAS + (i))     /* folds plan: state in the record */
#define OFF_TMP(d) (OFF_REC - 8 * ((d) + 1))       /* expression temporaries */
#define REC_BYTES (8 * (CC_NMEAS + 1))

#define STATE_OFF(i) (16 + 8 * (i))                /* state variable i in the storage */

/* Helper ids (the kernel's numbering). */
enum { H_MAP_LOOKUP = 1, H_MAP_DELETE = 3, H_SK_STORAGE_GET = 107, H_RINGBUF_OUTPUT = 130 };

/* Kernel constants (include/net/tcp.h, tcp_input.c). */
enum { CA_RECOVERY = 3, CA_LOSS = 4, FLAG_ECE = 0x40, SK_PACING_NEEDED = 1 };

static const char *const cb_members[CC_NCB] = { "cong_control", "ssthresh", "undo_cwnd", "release" };

const char *cc_cb_member(int cb) { return cb >= 0 && cb < CC_NCB ? cb_members[cb] : NULL; }

struct gen {
	struct sbpf_builder *b;      /* the program being built */
	const struct cc_layout *l;   /* kernel offsets */
	const struct cc_maps *m;     /* map fds */
	const struct cc_prog *p;     /* the DSL program */
};

#define E(insn) sbpf_builder__emit(g->b, insn)

static void map_fd(struct gen *g, int reg, int fd)
{
	sbpf_builder__emit_lddw(g->b, reg, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)fd);
}

static void load_const(struct gen *g, int reg, uint64_t v)
{
	if (v <= 0x7fffffff)
		E(SBPF_MOV64_IMM(reg, (int32_t)v));
	else
		sbpf_builder__emit_lddw(g->b, reg, 0, v);
}

/* if (reg <op> imm) goto label */
static void jmp_imm(struct gen *g, int op, int reg, int32_t imm, int label)
{
	sbpf_builder__jump(g->b, SBPF_JMP_IMM(op, reg, imm, 0), label);
}

/* r0 = value of @e; @d is the first free temporary. */
static void expr(struct gen *g, const struct cc_expr *e, int d)
{
	switch (e->kind) {
	case CC_E_NUM:
		load_const(g, 0, e->num);
		return;
	case CC_E_STATE:
		E(SBPF_LDX_MEM(SBPF_DW, 0, 8, STATE_OFF(e->index)));
		return;
	case CC_E_MEAS:
		E(SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, OFF_MEAS(e->index)));
		return;
	case CC_E_NOT:
		expr(g, e->a, d);
		E(SBPF_MOV64_REG(1, 0));
		E(SBPF_MOV64_IMM(0, 0));
		E(SBPF_JMP_IMM(SBPF_JNE, 1, 0, 1));
		E(SBPF_MOV64_IMM(0, 1));
		return;
	case CC_E_CBRT: {
		expr(g, e->a, d);            /* r0 = x */
		E(SBPF_MOV64_IMM(1, 0));     /* r1 = y */
		for (int s = 63; s >= 0; s -= 3) {
			E(SBPF_ALU64_IMM(SBPF_LSH, 1, 1));       /* y <<= 1 */
			E(SBPF_MOV64_REG(2, 1));
			E(SBPF_ALU64_IMM(SBPF_ADD, 2, 1));
			E(SBPF_ALU64_REG(SBPF_MUL, 2, 1));
			E(SBPF_ALU64_IMM(SBPF_MUL, 2, 3));
			E(SBPF_ALU64_IMM(SBPF_ADD, 2, 1));       /* b = 3y(y+1) + 1 */
			E(SBPF_MOV64_REG(3, 0));
			if (s)
				E(SBPF_ALU64_IMM(SBPF_RSH, 3, s));
			E(SBPF_JMP_REG(SBPF_JLT, 3, 2, s ? 3 : 2)); /* (x >> s) < b: skip */
			if (s)
				E(SBPF_ALU64_IMM(SBPF_LSH, 2, s));
			E(SBPF_ALU64_REG(SBPF_SUB, 0, 2));       /* x -= b << s */
			E(SBPF_ALU64_IMM(SBPF_ADD, 1, 1));       /* y++ */
		}
		E(SBPF_MOV64_REG(0, 1));
		return;
	}
	case CC_E_MIN:
	case CC_E_MAX:
	case CC_E_BIN:
		break;
	}
	expr(g, e->a, d);
	E(SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, OFF_TMP(d)));
	expr(g, e->b, d + 1);
	E(SBPF_MOV64_REG(1, 0));
	E(SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, OFF_TMP(d))); /* r0 = a, r1 = b */
	if (e->kind == CC_E_MIN || e->kind == CC_E_MAX) {
		E(SBPF_JMP_REG(e->kind == CC_E_MIN ? SBPF_JLT : SBPF_JGE, 0, 1, 1));
		E(SBPF_MOV64_REG(0, 1));
		return;
	}
	static const int alu[] = { [CC_OP_ADD] = SBPF_ADD, [CC_OP_SUB] = SBPF_SUB, [CC_OP_MUL] = SBPF_MUL,
				   [CC_OP_DIV] = SBPF_DIV, [CC_OP_MOD] = SBPF_MOD, [CC_OP_SHL] = SBPF_LSH,
				   [CC_OP_SHR] = SBPF_RSH, [CC_OP_AND] = SBPF_AND, [CC_OP_OR] = SBPF_OR };
	static const int cmp[] = { [CC_OP_EQ] = SBPF_JEQ, [CC_OP_NE] = SBPF_JNE, [CC_OP_LT] = SBPF_JLT,
				   [CC_OP_LE] = SBPF_JLE, [CC_OP_GT] = SBPF_JGT, [CC_OP_GE] = SBPF_JGE };
	switch (e->op) {
	case CC_OP_SHL:
	case CC_OP_SHR:
		E(SBPF_ALU64_IMM(SBPF_AND, 1, 63));
		/* fall through */
	case CC_OP_ADD: case CC_OP_SUB: case CC_OP_MUL: case CC_OP_DIV: case CC_OP_MOD:
	case CC_OP_AND: case CC_OP_OR:
		E(SBPF_ALU64_REG(alu[e->op], 0, 1));
		return;
	case CC_OP_LAND:
	case CC_OP_LOR:
		E(SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 1));
		E(SBPF_MOV64_IMM(0, 1));
		E(SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 1));
		E(SBPF_MOV64_IMM(1, 1));
		E(SBPF_ALU64_REG(e->op == CC_OP_LAND ? SBPF_AND : SBPF_OR, 0, 1));
		return;
	default:
		E(SBPF_MOV64_IMM(2, 1));
		E(SBPF_JMP_REG(cmp[e->op], 0, 1, 1));
		E(SBPF_MOV64_IMM(2, 0));
		E(SBPF_MOV64_REG(0, 2));
		return;
	}
}

/* Writes r@reg as the socket's cwnd (clamped to [1, 1000000] first). */
static void apply_cwnd(struct gen *g, int reg)
{
	E(SBPF_JMP_IMM(SBPF_JGE, reg, 1, 1));
	E(SBPF_MOV64_IMM(reg, 1));
	E(SBPF_JMP_IMM(SBPF_JLE, reg, 1000000, 1));
	E(SBPF_MOV64_IMM(reg, 1000000));
	E(SBPF_STX_MEM(SBPF_W, 6, reg, (int16_t)g->l->snd_cwnd));
}

/* Writes r@reg, when not 0, as the pacing rate, and asks TCP to pace. */
static void apply_rate(struct gen *g, int reg)
{
	E(SBPF_JMP_IMM(SBPF_JEQ, reg, 0, 2));
	E(SBPF_STX_MEM(SBPF_DW, 6, reg, (int16_t)g->l->pacing_rate));
	E(SBPF_ST_MEM(SBPF_W, 6, (int16_t)g->l->pacing_status, SK_PACING_NEEDED));
}

/* For a program that never sets the pacing rate: keeps sk_pacing_rate as the
 * kernel does after every ACK for its own algorithms (tcp_update_pacing_rate:
 * mss * max(cwnd, packets_out) / srtt, times 2 in slow start, i.e. while
 * cwnd < ssthresh / 2, else times 1.2, capped by sk_max_pacing_rate). TCP
 * small queues bound what a socket keeps in the qdisc by this rate; pacing
 * itself stays off (sk_pacing_status is left alone). */
static void default_pacing(struct gen *g)
{
	const struct cc_layout *l = g->l;
	E(SBPF_LDX_MEM(SBPF_W, 1, 6, (int16_t)l->snd_cwnd));
	E(SBPF_LDX_MEM(SBPF_W, 2, 6, (int16_t)l->packets_out));
	E(SBPF_JMP_REG(SBPF_JGE, 1, 2, 1));
	E(SBPF_MOV64_REG(1, 2));                          /* r1 = max(cwnd, packets_out) */
	E(SBPF_LDX_MEM(SBPF_W, 0, 6, (int16_t)l->mss_cache));
	E(SBPF_ALU64_IMM(SBPF_MUL, 0, 80000));            /* (USEC_PER_SEC / 100) << 3 */
	E(SBPF_ALU64_REG(SBPF_MUL, 0, 1));
	E(SBPF_LDX_MEM(SBPF_W, 2, 6, (int16_t)l->snd_ssthresh));
	E(SBPF_ALU64_IMM(SBPF_RSH, 2, 1));
	E(SBPF_LDX_MEM(SBPF_W, 1, 6, (int16_t)l->snd_cwnd));
	E(SBPF_MOV64_IMM(3, 120));
	E(SBPF_JMP_REG(SBPF_JGE, 1, 2, 1));
	E(SBPF_MOV64_IMM(3, 200));
	E(SBPF_ALU64_REG(SBPF_MUL, 0, 3));
	E(SBPF_LDX_MEM(SBPF_W, 2, 6, (int16_t)l->srtt_us)); /* srtt << 3 */
	E(SBPF_JMP_IMM(SBPF_JEQ, 2, 0, 1));
	E(SBPF_ALU64_REG(SBPF_DIV, 0, 2));
	E(SBPF_LDX_MEM(SBPF_DW, 1, 6, (int16_t)l->max_pacing_rate));
	E(SBPF_JMP_REG(SBPF_JLE, 0, 1, 1));
	E(SBPF_MOV64_REG(0, 1));
	E(SBPF_STX_MEM(SBPF_DW, 6, 0, (int16_t)l->pacing_rate));
}

static void stmts(struct gen *g, const struct cc_stmt *s)
{
	for (; s; s = s->next) {
		switch (s->kind) {
		case CC_S_ASSIGN:
			expr(g, s->e, 0);
			E(SBPF_STX_MEM(SBPF_DW, 8, 0, STATE_OFF(s->index)));
			break;
		case CC_S_WHEN: {
			int l_else = sbpf_builder__new_label(g->b), l_end = sbpf_builder__new_label(g->b);
			expr(g, s->e, 0);
			jmp_imm(g, SBPF_JEQ, 0, 0, l_else);
			stmts(g, s->body);
			sbpf_builder__jump(g->b, SBPF_JA(0), l_end);
			sbpf_builder__bind(g->b, l_else);
			stmts(g, s->els);
			sbpf_builder__bind(g->b, l_end);
			break;
		}
		case CC_S_SET_CWND:
			expr(g, s->e, 0);
			apply_cwnd(g, 0);
			break;
		case CC_S_SET_RATE:
			expr(g, s->e, 0);
			apply_rate(g, 0);
			break;
		case CC_S_REPORT:
			E(SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, OFF_FLAG, 1));
			break;
		}
	}
}

/* Stores r0 as measurement @m. */
static void put_meas(struct gen *g, int m)
{
	E(SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, OFF_MEAS(m)));
}

/* r0 = 0 when r0, read as signed with @bits bits, is negative. */
static void clamp_negative(struct gen *g, int bits)
{
	if (bits == 32)
		E(SBPF_JMP32_IMM(SBPF_JSGE, 0, 0, 1));
	else
		E(SBPF_JMP_IMM(SBPF_JSGE, 0, 0, 1));
	E(SBPF_MOV64_IMM(0, 0));
}

/* The measurements of one ACK into the stack record. */
static void measurements(struct gen *g)
{
	const struct cc_layout *l = g->l;
	E(SBPF_LDX_MEM(SBPF_W, 0, 7, (int16_t)l->rs_acked_sacked));
	put_meas(g, CC_M_ACKED);
	E(SBPF_LDX_MEM(SBPF_DW, 0, 7, (int16_t)l->rs_rtt_us));
	clamp_negative(g, 64);
	put_meas(g, CC_M_RTT);
	E(SBPF_LDX_MEM(SBPF_W, 0, 6, (int16_t)l->srtt_us));
	E(SBPF_ALU64_IMM(SBPF_RSH, 0, 3));
	put_meas(g, CC_M_SRTT);
	E(SBPF_LDX_MEM(SBPF_W, 0, 6, (int16_t)l->rtt_min_v));
	put_meas(g, CC_M_MIN_RTT);
	E(SBPF_LDX_MEM(SBPF_W, 0, 7, (int16_t)l->rs_losses));
	clamp_negative(g, 32);
	put_meas(g, CC_M_LOSS);
	E(SBPF_LDX_MEM(SBPF_B, 1, 6, (int16_t)l->ca_state_byte));
	if (l->ca_state_shift)
		E(SBPF_ALU64_IMM(SBPF_RSH, 1, (int32_t)l->ca_state_shift));
	E(SBPF_ALU64_IMM(SBPF_AND, 1, (int32_t)l->ca_state_mask));
	for (int k = 0; k < 2; k++) {
		E(SBPF_MOV64_IMM(0, 0));
		E(SBPF_JMP_IMM(SBPF_JNE, 1, k ? CA_RECOVERY : CA_LOSS, 1));
		E(SBPF_MOV64_IMM(0, 1));
		put_meas(g, k ? CC_M_RECOVERY : CC_M_TIMEOUT);
	}
	E(SBPF_MOV64_REG(0, 9));
	E(SBPF_ALU64_IMM(SBPF_RSH, 0, 6)); /* FLAG_ECE is bit 6 */
	E(SBPF_ALU64_IMM(SBPF_AND, 0, 1));
	put_meas(g, CC_M_ECN);
	/* packets_out - (sacked_out + lost_out) + retrans_out, in 32 bits */
	E(SBPF_LDX_MEM(SBPF_W, 0, 6, (int16_t)l->packets_out));
	E(SBPF_LDX_MEM(SBPF_W, 1, 6, (int16_t)l->sacked_out));
	E(SBPF_ALU32_REG(SBPF_SUB, 0, 1));
	E(SBPF_LDX_MEM(SBPF_W, 1, 6, (int16_t)l->lost_out));
	E(SBPF_ALU32_REG(SBPF_SUB, 0, 1));
	E(SBPF_LDX_MEM(SBPF_W, 1, 6, (int16_t)l->retrans_out));
	E(SBPF_ALU32_REG(SBPF_ADD, 0, 1));
	put_meas(g, CC_M_INFLIGHT);
	E(SBPF_LDX_MEM(SBPF_W, 0, 7, (int16_t)l->rs_delivered));
	clamp_negative(g, 32);
	put_meas(g, CC_M_DELIVERED);
	E(SBPF_MOV64_REG(2, 0));                                   /* r2 = delivered */
	E(SBPF_LDX_MEM(SBPF_DW, 0, 7, (int16_t)l->rs_interval_us));
	clamp_negative(g, 64);
	put_meas(g, CC_M_INTERVAL);
	E(SBPF_MOV64_REG(3, 0));                                   /* r3 = interval */
	E(SBPF_LDX_MEM(SBPF_W, 1, 6, (int16_t)l->mss_cache));
	E(SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, OFF_MEAS(CC_M_MSS)));
	/* rate = delivered * mss * 1000000 / interval (0 / 0 is 0 in eBPF) */
	E(SBPF_MOV64_REG(0, 2));
	E(SBPF_ALU64_REG(SBPF_MUL, 0, 1));
	E(SBPF_ALU64_IMM(SBPF_MUL, 0, 1000000));
	E(SBPF_ALU64_REG(SBPF_DIV, 0, 3));
	put_meas(g, CC_M_RATE);
	E(SBPF_LDX_MEM(SBPF_DW, 0, 6, (int16_t)l->tcp_mstamp));
	put_meas(g, CC_M_NOW);
	E(SBPF_LDX_MEM(SBPF_W, 0, 6, (int16_t)l->snd_cwnd));
	put_meas(g, CC_M_CWND);
	E(SBPF_LDX_MEM(SBPF_B, 0, 7, (int16_t)l->rs_is_app_limited));
	put_meas(g, CC_M_APP_LIMITED);
	/* tcp_is_cwnd_limited: in slow start (cwnd < ssthresh) while
	 * cwnd < 2 * max_packets_out, else the is_cwnd_limited bit */
	E(SBPF_LDX_MEM(SBPF_W, 1, 6, (int16_t)l->snd_cwnd));
	E(SBPF_LDX_MEM(SBPF_W, 2, 6, (int16_t)l->snd_ssthresh));
	E(SBPF_JMP_REG(SBPF_JGE, 1, 2, 6));
	E(SBPF_LDX_MEM(SBPF_W, 2, 6, (int16_t)l->max_packets_out));
	E(SBPF_ALU64_IMM(SBPF_LSH, 2, 1));
	E(SBPF_MOV64_IMM(0, 1));
	E(SBPF_JMP_REG(SBPF_JLT, 1, 2, 4));
	E(SBPF_MOV64_IMM(0, 0));
	E(SBPF_JA(2));
	E(SBPF_LDX_MEM(SBPF_B, 0, 6, (int16_t)l->cwnd_limited_byte));
	E(SBPF_ALU64_IMM(SBPF_RSH, 0, (int32_t)l->cwnd_limited_shift)); /* shift by 0 is allowed */
	E(SBPF_ALU64_IMM(SBPF_AND, 0, 1));
	put_meas(g, CC_M_CWND_LIMITED);
}

/* r8 = the socket's storage (created on demand; exit when none). When its
 * header is 0 (first ACK), takes the next flow id and sets the initial
 * state. @state: whether to write initial values. */
static void storage(struct gen *g, int l_out, bool create, bool state)
{
	map_fd(g, 1, g->m->storage);
	E(SBPF_MOV64_REG(2, 6));
	E(SBPF_MOV64_IMM(3, 0));
	E(SBPF_MOV64_IMM(4, create ? 1 : 0)); /* BPF_SK_STORAGE_GET_F_CREATE */
	E(SBPF_CALL_HELPER(H_SK_STORAGE_GET));
	jmp_imm(g, SBPF_JEQ, 0, 0, l_out);
	E(SBPF_MOV64_REG(8, 0));
	if (!create)
		return;
	int l_have = sbpf_builder__new_label(g->b);
	E(SBPF_LDX_MEM(SBPF_DW, 1, 8, 0));
	jmp_imm(g, SBPF_JNE, 1, 0, l_have);
	/* flow id = ++counter[0] */
	E(SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, OFF_KEY, 0));
	map_fd(g, 1, g->m->counter);
	E(SBPF_MOV64_REG(2, SBPF_REG_FP));
	E(SBPF_ALU64_IMM(SBPF_ADD, 2, OFF_KEY));
	E(SBPF_CALL_HELPER(H_MAP_LOOKUP));
	jmp_imm(g, SBPF_JEQ, 0, 0, l_out);
	E(SBPF_MOV64_IMM(1, 1));
	E(SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD | SBPF_FETCH, 0, 1, 0));
	E(SBPF_ALU64_IMM(SBPF_ADD, 1, 1));
	E(SBPF_MOV32_REG(1, 1));                   /* 32-bit flow ids */
	sbpf_builder__emit_lddw(g->b, 2, 0, (uint64_t)CC_REC_REPORT << 32);
	E(SBPF_ALU64_REG(SBPF_OR, 1, 2));
	E(SBPF_STX_MEM(SBPF_DW, 8, 1, 0));
	if (state)
		for (int i = 0; i < g->p->nstate; i++) {
			load_const(g, 1, g->p->state_init[i]);
			E(SBPF_STX_MEM(SBPF_DW, 8, 1, STATE_OFF(i)));
		}
	sbpf_builder__bind(g->b, l_have);
}

/* Sends @bytes at r2 (already set) to the ring buffer; counts a failure in
 * counter[1]. */
static void output(struct gen *g, int bytes)
{
	map_fd(g, 1, g->m->ringbuf);
	E(SBPF_MOV64_IMM(3, bytes));
	E(SBPF_MOV64_IMM(4, 0));
	E(SBPF_CALL_HELPER(H_RINGBUF_OUTPUT));
	int l_ok = sbpf_builder__new_label(g->b);
	jmp_imm(g, SBPF_JEQ, 0, 0, l_ok);
	E(SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, OFF_KEY, 1));
	map_fd(g, 1, g->m->counter);
	E(SBPF_MOV64_REG(2, SBPF_REG_FP));
	E(SBPF_ALU64_IMM(SBPF_ADD, 2, OFF_KEY));
	E(SBPF_CALL_HELPER(H_MAP_LOOKUP));
	jmp_imm(g, SBPF_JEQ, 0, 0, l_ok);
	E(SBPF_MOV64_IMM(1, 1));
	E(SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD, 0, 1, 0));
	sbpf_builder__bind(g->b, l_ok);
}

/* @kitems: items run in the kernel (0: MVSF; all: the kernel plan; else
 * the folds plan, whose leading folds run here and whose record carries the
 * state after them). */
static void cong_control(struct gen *g, size_t kitems)
{
	int l_out = sbpf_builder__new_label(g->b);
	bool kernel = kitems == g->p->nitems;
	E(SBPF_LDX_MEM(SBPF_DW, 6, 1, 0));   /* sk */
	E(SBPF_LDX_MEM(SBPF_DW, 9, 1, 16));  /* flag */
	E(SBPF_LDX_MEM(SBPF_DW, 7, 1, 24));  /* rs */
	storage(g, l_out, true, kitems > 0);
	measurements(g);
	if (!kernel) {
		int bytes = REC_BYTES;
		for (size_t i = 0; i < kitems; i++)
			stmts(g, g->p->items[i].stmts);
		for (int i = 0; kitems && i < g->p->nstate; i++) {
			E(SBPF_LDX_MEM(SBPF_DW, 1, 8, STATE_OFF(i)));
			E(SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, OFF_RSTATE(i)));
			bytes += 8;
		}
		/* record header: CC_REC_ACK << 32 | flow */
		E(SBPF_LDX_MEM(SBPF_W, 1, 8, 0));
		E(SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, OFF_REC));
		E(SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 1, OFF_KEY));
		E(SBPF_MOV64_REG(2, SBPF_REG_FP));
		E(SBPF_ALU64_IMM(SBPF_ADD, 2, OFF_REC));
		output(g, bytes);
		E(SBPF_LDX_MEM(SBPF_W, 1, 8, 0));
		E(SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 1, OFF_KEY));
		map_fd(g, 1, g->m->control);
		E(SBPF_MOV64_REG(2, SBPF_REG_FP));
		E(SBPF_ALU64_IMM(SBPF_ADD, 2, OFF_KEY));
		E(SBPF_CALL_HELPER(H_MAP_LOOKUP));
		jmp_imm(g, SBPF_JEQ, 0, 0, l_out);
		E(SBPF_MOV64_REG(7, 0));
		int l_rate = sbpf_builder__new_label(g->b);
		E(SBPF_LDX_MEM(SBPF_DW, 1, 7, 0));
		jmp_imm(g, SBPF_JEQ, 1, 0, l_rate);
		apply_cwnd(g, 1);
		sbpf_builder__bind(g->b, l_rate);
		E(SBPF_LDX_MEM(SBPF_DW, 1, 7, 8));
		apply_rate(g, 1);
		if (!g->p->uses_rate)
			default_pacing(g);
	} else {
		/* Test knob: a store the verifier forbids (srtt_us is not writable
		 * from tcp_congestion_ops), so tests can watch a real refusal, its
		 * reason and its cached verdict. */
		if (getenv("SAFEBPF_CC_TEST_BAD_STORE"))
			E(SBPF_ST_MEM(SBPF_W, 6, (int16_t)g->l->srtt_us, 0));
		E(SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, OFF_FLAG, 0));
		for (size_t i = 0; i < g->p->nitems; i++)
			stmts(g, g->p->items[i].stmts);
		if (!g->p->uses_rate)
			default_pacing(g);
		if (g->p->uses_report) {
			E(SBPF_LDX_MEM(SBPF_DW, 1, SBPF_REG_FP, OFF_FLAG));
			jmp_imm(g, SBPF_JEQ, 1, 0, l_out);
			E(SBPF_MOV64_REG(2, 8));
			output(g, (int)CC_STORAGE_BYTES(g->p->nstate));
		}
	}
	sbpf_builder__bind(g->b, l_out);
	E(SBPF_MOV64_IMM(0, 0));
	E(SBPF_EXIT_INSN());
}

static void ssthresh(struct gen *g)
{
	E(SBPF_LDX_MEM(SBPF_DW, 1, 1, 0));
	E(SBPF_LDX_MEM(SBPF_W, 0, 1, (int16_t)g->l->snd_cwnd));
	E(SBPF_ALU64_IMM(SBPF_RSH, 0, 1));
	E(SBPF_JMP_IMM(SBPF_JGE, 0, 2, 1));
	E(SBPF_MOV64_IMM(0, 2));
	E(SBPF_EXIT_INSN());
}

static void undo_cwnd(struct gen *g)
{
	E(SBPF_LDX_MEM(SBPF_DW, 1, 1, 0));
	E(SBPF_LDX_MEM(SBPF_W, 0, 1, (int16_t)g->l->snd_cwnd));
	E(SBPF_EXIT_INSN());
}

static void release(struct gen *g)
{
	int l_out = sbpf_builder__new_label(g->b);
	E(SBPF_LDX_MEM(SBPF_DW, 6, 1, 0));
	storage(g, l_out, false, false);
	E(SBPF_LDX_MEM(SBPF_W, 1, 8, 0));
	jmp_imm(g, SBPF_JEQ, 1, 0, l_out);          /* never saw an ACK */
	E(SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 1, OFF_KEY));
	sbpf_builder__emit_lddw(g->b, 2, 0, (uint64_t)CC_REC_CLOSE << 32);
	E(SBPF_ALU64_REG(SBPF_OR, 1, 2));
	E(SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, OFF_REC));
	E(SBPF_MOV64_REG(2, SBPF_REG_FP));
	E(SBPF_ALU64_IMM(SBPF_ADD, 2, OFF_REC));
	output(g, 8);
	map_fd(g, 1, g->m->control);
	E(SBPF_MOV64_REG(2, SBPF_REG_FP));
	E(SBPF_ALU64_IMM(SBPF_ADD, 2, OFF_KEY));
	E(SBPF_CALL_HELPER(H_MAP_DELETE));
	sbpf_builder__bind(g->b, l_out);
	E(SBPF_MOV64_IMM(0, 0));
	E(SBPF_EXIT_INSN());
}

void cc_progs_free(struct cc_progs *p)
{
	for (int i = 0; i < CC_NCB; i++) {
		free(p->insns[i]);
		p->insns[i] = NULL;
		p->n[i] = 0;
	}
}

int cc_codegen(const struct cc_prog *p, size_t kernel_items, const struct cc_layout *l, const struct cc_maps *m,
	       struct cc_progs *out, char *err, size_t errsz)
{
	memset(out, 0, sizeof(*out));
	if (kernel_items > p->nitems) {
		snprintf(err, errsz, "the program has only %zu items", p->nitems);
		return -EINVAL;
	}
	for (size_t i = 0; kernel_items < p->nitems && i < kernel_items; i++)
		if (!p->items[i].fold) {
			snprintf(err, errsz, "only folds run in the kernel under a split plan");
			return -EINVAL;
		}
	for (int cb = 0; cb < CC_NCB; cb++) {
		struct gen g = { .b = sbpf_builder__new(), .l = l, .m = m, .p = p };
		if (!g.b) {
			cc_progs_free(out);
			return -ENOMEM;
		}
		switch (cb) {
		case CC_CB_CONG_CONTROL: cong_control(&g, kernel_items); break;
		case CC_CB_SSTHRESH: ssthresh(&g); break;
		case CC_CB_UNDO_CWND: undo_cwnd(&g); break;
		case CC_CB_RELEASE: release(&g); break;
		}
		struct sbpf_validate_error ve;
		int r = sbpf_builder__finish(g.b, &out->insns[cb], &out->n[cb], &ve);
		sbpf_builder__free(g.b);
		if (r) {
			snprintf(err, errsz, "generating %s: %s (instruction %zu)", cb_members[cb], ve.rule, ve.index);
			cc_progs_free(out);
			return r;
		}
	}
	return 0;
}
