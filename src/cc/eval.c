/* eval.c - the reference semantics of the congestion-control DSL, and the
 * run time of the MVSF plan in user space: one ACK's measurements through
 * the folds and rules, in source order. The kernel code (codegen.c) must
 * compute exactly this; the replay test compares them.
 */
#include "cc/ccInt.h"

uint64_t cc_cbrt(uint64_t x)
{
	/* Bit by bit, three bits of x per bit of the root, from the top. */
	uint64_t y = 0;
	for (int s = 63; s >= 0; s -= 3) {
		y <<= 1;
		uint64_t b = 3 * y * (y + 1) + 1;
		if ((x >> s) >= b) {
			x -= b << s;
			y++;
		}
	}
	return y;
}

uint64_t cc_clamp_cwnd(uint64_t v)
{
	return v < 1 ? 1 : v > 1000000 ? 1000000 : v;
}

uint64_t cc_eval_expr(const struct cc_expr *e, const uint64_t *state, const uint64_t *meas)
{
	uint64_t a, b;
	switch (e->kind) {
	case CC_E_NUM:
		return e->num;
	case CC_E_STATE:
		return state[e->index];
	case CC_E_MEAS:
		return meas[e->index];
	case CC_E_NOT:
		return !cc_eval_expr(e->a, state, meas);
	case CC_E_CBRT:
		return cc_cbrt(cc_eval_expr(e->a, state, meas));
	case CC_E_MIN:
	case CC_E_MAX:
		a = cc_eval_expr(e->a, state, meas);
		b = cc_eval_expr(e->b, state, meas);
		return (e->kind == CC_E_MIN) == (a < b) ? a : b;
	case CC_E_BIN:
		break;
	}
	a = cc_eval_expr(e->a, state, meas);
	b = cc_eval_expr(e->b, state, meas);
	switch (e->op) {
	case CC_OP_ADD: return a + b;
	case CC_OP_SUB: return a - b;
	case CC_OP_MUL: return a * b;
	case CC_OP_DIV: return b ? a / b : 0;
	case CC_OP_MOD: return b ? a % b : a;
	case CC_OP_SHL: return a << (b & 63);
	case CC_OP_SHR: return a >> (b & 63);
	case CC_OP_AND: return a & b;
	case CC_OP_OR: return a | b;
	case CC_OP_LAND: return (a != 0) & (b != 0);
	case CC_OP_LOR: return (a != 0) | (b != 0);
	case CC_OP_EQ: return a == b;
	case CC_OP_NE: return a != b;
	case CC_OP_LT: return a < b;
	case CC_OP_LE: return a <= b;
	case CC_OP_GT: return a > b;
	case CC_OP_GE: return a >= b;
	}
	return 0;
}

static void run(const struct cc_stmt *s, uint64_t *state, const uint64_t *meas, struct cc_effect *eff)
{
	for (; s; s = s->next) {
		switch (s->kind) {
		case CC_S_ASSIGN:
			state[s->index] = cc_eval_expr(s->e, state, meas);
			break;
		case CC_S_WHEN:
			if (cc_eval_expr(s->e, state, meas))
				run(s->body, state, meas, eff);
			else
				run(s->els, state, meas, eff);
			break;
		case CC_S_SET_CWND:
			eff->cwnd = cc_clamp_cwnd(cc_eval_expr(s->e, state, meas));
			break;
		case CC_S_SET_RATE: {
			uint64_t r = cc_eval_expr(s->e, state, meas);
			if (r) /* 0 leaves the pacing rate alone */
				eff->rate = r;
			break;
		}
		case CC_S_REPORT:
			eff->report = true;
			break;
		}
	}
}

void cc_eval_items(const struct cc_prog *p, size_t from, size_t to, uint64_t *state, const uint64_t *meas,
		   struct cc_effect *eff)
{
	for (size_t i = from; i < to && i < p->nitems; i++)
		run(p->items[i].stmts, state, meas, eff);
}
