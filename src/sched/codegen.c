/* codegen.c - SK_REUSEPORT programs for a scheduling policy, emitted with
 * the project's builder (no compiler at run time). Two shapes:
 *   - the whole policy (plan "kernel"): key hash, then round-robin counter
 *     (atomic fetch-add), hash modulo N, least-loaded scan of a map written
 *     from user space, sticky bucket table (atomic compare-and-exchange),
 *     or a fixed executor; then bpf_sk_select_reuseport();
 *   - the MVSF: key hash, the decision user space last wrote for the key's
 *     bucket (else its default slot), a report of the hash and the choice
 *     into a ring buffer, then bpf_sk_select_reuseport(). Its code depends
 *     only on the key fields, each a fixed bounded load, so the verifier
 *     accepts it for every policy (safebpf selftest checks every field).
 *   - between them, for sticky(round_robin | least_loaded | executor)
 *     (plan "kernel-sticky"): the bucket table in the kernel; a new bucket
 *     takes the default user space wrote, keeps it and is reported (no
 *     atomic instructions: kernels without BPF atomics run it).
 * All compute the key hash exactly as policy.c does.
 *
 * Registers: r6 context, r7 key hash, r8 scratch word, r9 executor.
 * Stack: fp-8 select key, fp-32..fp-17 payload bytes, fp-40 map key,
 * fp-48 report / saved pointer, fp-56 saved pointer.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include <linux/bpf.h>

#include "sched/schedInt.h"

#define R(i) (i)
#define CTX_OFF(f) ((int16_t)offsetof(struct sk_reuseport_md, f))
#define ETH_P_IP_BE 0x0008      /* htons(ETH_P_IP) as the context's u32 holds it */
#define IPPROTO_UDP_NR 17
#define SK_PASS_RET 1

struct gen {
	struct sbpf_builder *b;       /* output */
	const struct sbpf_sched_policy *p;
	const struct sched_maps *m;   /* map fds */
	unsigned n;                   /* executors */
	uint32_t nb;                  /* key buckets */
	int pass;                     /* label: return SK_PASS without selecting */
	int select;                   /* label: select executor r9 */
	int account;                  /* label: count executor r9 in the counters, then select */
};

static void emit(struct gen *g, struct sbpf_insn i)
{
	sbpf_builder__emit(g->b, i);
}

static void ld_map(struct gen *g, int reg, int fd)
{
	sbpf_builder__emit_lddw(g->b, reg, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)fd);
}

/* h = (h ^ w8) * prime, 32-bit. */
static void mix_r8(struct gen *g)
{
	emit(g, SBPF_ALU32_REG(SBPF_XOR, R(7), R(8)));                 /* w7 ^= w8 */
	emit(g, SBPF_ALU32_IMM(SBPF_MUL, R(7), (int32_t)SCHED_HASH_PRIME)); /* w7 *= prime */
}

/* r0 = lookup(@fd, key in fp-40 = w@keyreg or imm); null -> pass. */
static void lookup(struct gen *g, int fd)
{
	ld_map(g, R(1), fd);                                          /* r1 = map */
	emit(g, SBPF_MOV64_REG(R(2), SBPF_REG_FP));                   /* r2 = fp */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, R(2), -40));                 /* r2 += -40 */
	emit(g, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));          /* call map_lookup_elem */
	sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JEQ, R(0), 0, 0), g->pass); /* if r0 == 0 goto pass */
}

/* r8 = one key field (or its first words mixed into r7 already). */
static void key_field(struct gen *g, const struct sched_field *f)
{
	int skip = sbpf_builder__new_label(g->b);
	switch (f->kind) {
	case SCHED_F_SRC_IP:
	case SCHED_F_DST_IP:
		emit(g, SBPF_MOV64_IMM(R(8), 0));                             /* r8 = 0 */
		emit(g, SBPF_LDX_MEM(SBPF_W, R(0), R(6), CTX_OFF(eth_protocol))); /* r0 = ctx->eth_protocol */
		sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JNE, R(0), ETH_P_IP_BE, 0), skip); /* not IPv4 */
		emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -16, 0));            /* *(u32 *)(fp-16) = 0 */
		emit(g, SBPF_MOV64_REG(R(1), R(6)));                          /* r1 = ctx */
		emit(g, SBPF_MOV64_IMM(R(2), f->kind == SCHED_F_SRC_IP ? 12 : 16)); /* r2 = address offset */
		emit(g, SBPF_MOV64_REG(R(3), SBPF_REG_FP));                   /* r3 = fp */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, R(3), -16));                 /* r3 += -16 */
		emit(g, SBPF_MOV64_IMM(R(4), 4));                             /* r4 = 4 */
		emit(g, SBPF_MOV64_IMM(R(5), BPF_HDR_START_NET));             /* r5 = network header */
		emit(g, SBPF_CALL_HELPER(BPF_FUNC_skb_load_bytes_relative));  /* call skb_load_bytes_relative */
		emit(g, SBPF_LDX_MEM(SBPF_W, R(8), SBPF_REG_FP, -16));        /* r8 = *(u32 *)(fp-16) */
		break;
	case SCHED_F_SRC_PORT:
	case SCHED_F_DST_PORT:
		emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -16, 0));            /* *(u32 *)(fp-16) = 0 */
		emit(g, SBPF_MOV64_REG(R(1), R(6)));                          /* r1 = ctx */
		emit(g, SBPF_MOV64_IMM(R(2), f->kind == SCHED_F_SRC_PORT ? 0 : 2)); /* r2 = port offset */
		emit(g, SBPF_MOV64_REG(R(3), SBPF_REG_FP));                   /* r3 = fp */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, R(3), -16));                 /* r3 += -16 */
		emit(g, SBPF_MOV64_IMM(R(4), 2));                             /* r4 = 2 */
		emit(g, SBPF_CALL_HELPER(BPF_FUNC_skb_load_bytes));           /* call skb_load_bytes */
		emit(g, SBPF_LDX_MEM(SBPF_H, R(8), SBPF_REG_FP, -16));        /* r8 = *(u16 *)(fp-16) */
		emit(g, SBPF_INSN(SBPF_ALU | SBPF_END | SBPF_TO_BE, R(8), 0, 0, 16)); /* r8 = be16 r8 */
		break;
	case SCHED_F_PROTO:
		emit(g, SBPF_LDX_MEM(SBPF_W, R(8), R(6), CTX_OFF(ip_protocol))); /* r8 = ctx->ip_protocol */
		break;
	case SCHED_F_CPU:
		emit(g, SBPF_CALL_HELPER(BPF_FUNC_get_smp_processor_id));     /* call get_smp_processor_id */
		emit(g, SBPF_MOV64_REG(R(8), R(0)));                          /* r8 = r0 */
		break;
	case SCHED_F_PAYLOAD: {
		int words = sbpf_builder__new_label(g->b);
		emit(g, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, -32, 0));           /* *(u64 *)(fp-32) = 0 */
		emit(g, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, -24, 0));           /* *(u64 *)(fp-24) = 0 */
		emit(g, SBPF_LDX_MEM(SBPF_W, R(0), R(6), CTX_OFF(ip_protocol))); /* r0 = ctx->ip_protocol */
		sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JNE, R(0), IPPROTO_UDP_NR, 0), words); /* no payload */
		emit(g, SBPF_MOV64_REG(R(1), R(6)));                          /* r1 = ctx */
		emit(g, SBPF_MOV64_IMM(R(2), 8 + f->off));                    /* r2 = udp header + off */
		emit(g, SBPF_MOV64_REG(R(3), SBPF_REG_FP));                   /* r3 = fp */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, R(3), -32));                 /* r3 += -32 */
		emit(g, SBPF_MOV64_IMM(R(4), f->len));                        /* r4 = len */
		emit(g, SBPF_CALL_HELPER(BPF_FUNC_skb_load_bytes));           /* call skb_load_bytes (zeros on failure) */
		sbpf_builder__bind(g->b, words);
		for (unsigned k = 0; k < f->len; k += 4) {
			emit(g, SBPF_LDX_MEM(SBPF_W, R(8), SBPF_REG_FP, (int16_t)(-32 + (int)k))); /* r8 = word k */
			if (k + 4 < f->len)
				mix_r8(g);
		}
		break;
	}
	}
	sbpf_builder__bind(g->b, skip);
	mix_r8(g);
}

/* r7 = key hash (0 without a key). */
static void key_hash(struct gen *g)
{
	emit(g, SBPF_MOV64_IMM(R(7), 0));                                      /* r7 = 0 */
	if (!g->p->nkey)
		return;
	emit(g, SBPF_MOV32_IMM(R(7), (int32_t)SCHED_HASH_SEED));               /* w7 = seed */
	for (size_t i = 0; i < g->p->nkey; i++)
		key_field(g, &g->p->key[i]);
	emit(g, SBPF_MOV32_REG(R(8), R(7)));                                   /* w8 = w7 */
	emit(g, SBPF_ALU32_IMM(SBPF_RSH, R(8), 16));                           /* w8 >>= 16 */
	emit(g, SBPF_ALU32_REG(SBPF_XOR, R(7), R(8)));                         /* w7 ^= w8 */
	emit(g, SBPF_ALU32_IMM(SBPF_MUL, R(7), (int32_t)SCHED_HASH_MIX));      /* w7 *= mix */
	emit(g, SBPF_MOV32_REG(R(8), R(7)));                                   /* w8 = w7 */
	emit(g, SBPF_ALU32_IMM(SBPF_RSH, R(8), 13));                           /* w8 >>= 13 */
	emit(g, SBPF_ALU32_REG(SBPF_XOR, R(7), R(8)));                         /* w7 ^= w8 */
}

/* *(u32 *)(fp-40) = bucket of the key hash. */
static void bucket_key(struct gen *g)
{
	emit(g, SBPF_MOV32_REG(R(1), R(7)));                                   /* w1 = w7 */
	emit(g, SBPF_ALU32_IMM(SBPF_MOD, R(1), (int32_t)g->nb));               /* w1 %= buckets */
	emit(g, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, R(1), -40));                 /* *(u32 *)(fp-40) = w1 */
}

/* r9 = decision of action @a (kernel plan). */
static void decide(struct gen *g, const struct sched_action *a)
{
	switch (a->kind) {
	case SCHED_A_RR:
		emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -40, 0));                     /* *(u32 *)(fp-40) = 0 */
		lookup(g, g->m->state);
		emit(g, SBPF_MOV64_IMM(R(1), 1));                                      /* r1 = 1 */
		emit(g, SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD | SBPF_FETCH, R(0), R(1), 0)); /* r1 = fetch_add(counter, 1) */
		emit(g, SBPF_MOV64_REG(R(9), R(1)));                                   /* r9 = r1 */
		emit(g, SBPF_ALU64_IMM(SBPF_MOD, R(9), (int32_t)g->n));                /* r9 %= n */
		break;
	case SCHED_A_HASH:
		emit(g, SBPF_MOV32_REG(R(9), R(7)));                                   /* w9 = w7 */
		emit(g, SBPF_ALU32_IMM(SBPF_MOD, R(9), (int32_t)g->n));                /* w9 %= n */
		break;
	case SCHED_A_LEAST: {
		/* r0 = the vector, r2 = the one subtracted (signed compare then). */
		bool sub = a->sub >= 0;
		if (sub) {
			emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -40, 0));             /* *(u32 *)(fp-40) = 0 */
			lookup(g, g->m->user[a->sub]);
			emit(g, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, R(0), -56));        /* save the subtracted vector */
		}
		emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -40, 0));                     /* *(u32 *)(fp-40) = 0 */
		lookup(g, g->m->user[a->map]);
		if (sub)
			emit(g, SBPF_LDX_MEM(SBPF_DW, R(2), SBPF_REG_FP, -56));        /* r2 = subtracted vector */
		emit(g, SBPF_MOV64_IMM(R(9), 0));                                      /* r9 = 0 */
		emit(g, SBPF_LDX_MEM(SBPF_DW, R(8), R(0), 0));                         /* r8 = v[0] */
		if (sub) {
			emit(g, SBPF_LDX_MEM(SBPF_DW, R(3), R(2), 0));                 /* r3 = w[0] */
			emit(g, SBPF_ALU64_REG(SBPF_SUB, R(8), R(3)));                 /* r8 -= r3 */
		}
		for (unsigned i = 1; i < g->n; i++) {
			emit(g, SBPF_LDX_MEM(SBPF_DW, R(1), R(0), (int16_t)(8 * i)));  /* r1 = v[i] */
			if (sub) {
				emit(g, SBPF_LDX_MEM(SBPF_DW, R(3), R(2), (int16_t)(8 * i))); /* r3 = w[i] */
				emit(g, SBPF_ALU64_REG(SBPF_SUB, R(1), R(3)));         /* r1 -= r3 */
			}
			emit(g, SBPF_JMP_REG(sub ? SBPF_JSGE : SBPF_JGE, R(1), R(8), 2)); /* if r1 >= r8 skip */
			emit(g, SBPF_MOV64_REG(R(8), R(1)));                           /* r8 = r1 */
			emit(g, SBPF_MOV64_IMM(R(9), (int32_t)i));                     /* r9 = i */
		}
		break;
	}
	case SCHED_A_STICKY: {
		int won = sbpf_builder__new_label(g->b);
		bucket_key(g);
		lookup(g, g->m->sticky);
		emit(g, SBPF_LDX_MEM(SBPF_W, R(9), R(0), 0));                          /* r9 = sticky[bucket] */
		sbpf_builder__jump(g->b, SBPF_JMP32_IMM(SBPF_JNE, R(9), -1, 0), g->account); /* known */
		emit(g, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, R(0), -48));                /* save the slot */
		decide(g, a->inner);
		emit(g, SBPF_LDX_MEM(SBPF_DW, R(1), SBPF_REG_FP, -48));                /* r1 = the slot */
		emit(g, SBPF_MOV32_IMM(R(0), -1));                                     /* w0 = empty */
		emit(g, SBPF_MOV64_REG(R(2), R(9)));                                   /* r2 = r9 */
		emit(g, SBPF_ATOMIC_OP(SBPF_W, SBPF_CMPXCHG, R(1), R(2), 0));          /* w0 = cmpxchg(slot, w0, w2) */
		sbpf_builder__jump(g->b, SBPF_JMP32_IMM(SBPF_JEQ, R(0), -1, 0), won);  /* we stored it */
		emit(g, SBPF_MOV32_REG(R(9), R(0)));                                   /* another CPU did first */
		sbpf_builder__bind(g->b, won);
		break;
	}
	case SCHED_A_EXEC:
		emit(g, SBPF_MOV64_IMM(R(9), (int32_t)(a->exec % g->n)));              /* r9 = executor */
		break;
	}
}

/* r9 = what user space last wrote for the bucket, else its default slot;
 * then the report. */
static void mvsf_body(struct gen *g)
{
	int have = sbpf_builder__new_label(g->b), sent = sbpf_builder__new_label(g->b);
	if (g->nb > 1)
		bucket_key(g);
	else
		emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -40, 0));                     /* *(u32 *)(fp-40) = 0 */
	lookup(g, g->m->table);
	emit(g, SBPF_LDX_MEM(SBPF_W, R(9), R(0), 0));                                  /* r9 = table[bucket] */
	sbpf_builder__jump(g->b, SBPF_JMP32_IMM(SBPF_JNE, R(9), -1, 0), have);         /* decided */
	emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -40, (int32_t)g->nb));                /* key = default slot */
	lookup(g, g->m->table);
	emit(g, SBPF_LDX_MEM(SBPF_W, R(9), R(0), 0));                                  /* r9 = table[default] */
	sbpf_builder__bind(g->b, have);
	emit(g, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, R(7), -48));                         /* report.h = w7 */
	emit(g, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, R(9), -44));                         /* report.chosen = w9 */
	ld_map(g, R(1), g->m->ring);                                                   /* r1 = ring */
	emit(g, SBPF_MOV64_REG(R(2), SBPF_REG_FP));                                    /* r2 = fp */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, R(2), -48));                                  /* r2 += -48 */
	emit(g, SBPF_MOV64_IMM(R(3), sizeof(struct sched_report)));                    /* r3 = size */
	emit(g, SBPF_MOV64_IMM(R(4), 0));                                              /* r4 = 0 */
	emit(g, SBPF_CALL_HELPER(BPF_FUNC_ringbuf_output));                            /* call ringbuf_output */
	sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JEQ, R(0), 0, 0), sent);            /* reported */
	emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -40, 1));                             /* key = 1 (lost) */
	lookup(g, g->m->state);
	emit(g, SBPF_MOV64_IMM(R(1), 1));                                              /* r1 = 1 */
	emit(g, SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD, R(0), R(1), 0));                     /* lost += 1 */
	sbpf_builder__bind(g->b, sent);
	sbpf_builder__jump(g->b, SBPF_JMP32_IMM(SBPF_JEQ, R(9), -1, 0), g->pass);      /* no decision yet */
}

/* r9 = the bucket's remembered executor; a new bucket takes the default
 * slot user space wrote, remembers it and is reported (kernel-sticky). */
static void sticky_partial_body(struct gen *g)
{
	int known = sbpf_builder__new_label(g->b), sent = sbpf_builder__new_label(g->b);
	bucket_key(g);
	lookup(g, g->m->sticky);
	emit(g, SBPF_LDX_MEM(SBPF_W, R(9), R(0), 0));                                  /* r9 = sticky[bucket] */
	sbpf_builder__jump(g->b, SBPF_JMP32_IMM(SBPF_JNE, R(9), -1, 0), known);        /* remembered */
	emit(g, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, R(0), -56));                        /* save the slot */
	emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -40, (int32_t)g->nb));                /* key = default slot */
	lookup(g, g->m->table);
	emit(g, SBPF_LDX_MEM(SBPF_W, R(9), R(0), 0));                                  /* r9 = table[default] */
	sbpf_builder__jump(g->b, SBPF_JMP32_IMM(SBPF_JEQ, R(9), -1, 0), g->pass);      /* nothing written yet */
	emit(g, SBPF_LDX_MEM(SBPF_DW, R(1), SBPF_REG_FP, -56));                        /* r1 = the slot */
	emit(g, SBPF_STX_MEM(SBPF_W, R(1), R(9), 0));                                  /* sticky[bucket] = w9 */
	emit(g, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, R(7), -48));                         /* report.h = w7 */
	emit(g, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, R(9), -44));                         /* report.chosen = w9 */
	ld_map(g, R(1), g->m->ring);                                                   /* r1 = ring */
	emit(g, SBPF_MOV64_REG(R(2), SBPF_REG_FP));                                    /* r2 = fp */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, R(2), -48));                                  /* r2 += -48 */
	emit(g, SBPF_MOV64_IMM(R(3), sizeof(struct sched_report)));                    /* r3 = size */
	emit(g, SBPF_MOV64_IMM(R(4), 0));                                              /* r4 = 0 */
	emit(g, SBPF_CALL_HELPER(BPF_FUNC_ringbuf_output));                            /* call ringbuf_output */
	sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JEQ, R(0), 0, 0), sent);            /* reported */
	emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -40, 1));                             /* key = 1 (lost) */
	lookup(g, g->m->state);
	emit(g, SBPF_MOV64_IMM(R(1), 1));                                              /* r1 = 1 */
	emit(g, SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD, R(0), R(1), 0));                     /* lost += 1 */
	sbpf_builder__bind(g->b, sent);
	sbpf_builder__bind(g->b, known);
}

bool sched_sticky_plan_ok(const struct sbpf_sched_policy *p)
{
	if (p->sel->kind != SCHED_A_STICKY || p->sel->inner->kind == SCHED_A_HASH)
		return false;
	for (size_t i = 0; i < p->nmaps; i++)
		if (p->counter[i])
			return false;
	return true;
}

int sched_codegen(const struct sbpf_sched_policy *p, enum sched_plan_kind kind, unsigned n, uint32_t nb,
		  const struct sched_maps *m, struct sbpf_insn **out, size_t *nout)
{
	if (!n || n > SBPF_SCHED_MAX_EXECUTORS || !nb)
		return -EINVAL;
	struct gen g = { .b = sbpf_builder__new(), .p = p, .m = m, .n = n, .nb = nb };
	if (!g.b)
		return -ENOMEM;
	g.pass = sbpf_builder__new_label(g.b);
	g.select = sbpf_builder__new_label(g.b);
	emit(&g, SBPF_MOV64_REG(R(6), R(1)));                                          /* r6 = ctx */
	key_hash(&g);
	g.account = sbpf_builder__new_label(g.b);
	if (kind == SCHED_PLAN_KERNEL) {
		decide(&g, p->sel);
		sbpf_builder__bind(g.b, g.account);
		for (size_t i = 0; i < p->nmaps; i++) {
			if (!p->counter[i])
				continue;
			emit(&g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -40, 0));            /* *(u32 *)(fp-40) = 0 */
			lookup(&g, m->user[i]);
			sbpf_builder__jump(g.b, SBPF_JMP_IMM(SBPF_JGE, R(9), (int32_t)n, 0), g.pass); /* bound r9 */
			emit(&g, SBPF_MOV64_REG(R(1), R(9)));                          /* r1 = r9 */
			emit(&g, SBPF_ALU64_IMM(SBPF_LSH, R(1), 3));                   /* r1 <<= 3 */
			emit(&g, SBPF_ALU64_REG(SBPF_ADD, R(0), R(1)));                /* r0 += r1 */
			emit(&g, SBPF_MOV64_IMM(R(1), 1));                             /* r1 = 1 */
			emit(&g, SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD, R(0), R(1), 0));    /* counter[r9] += 1 */
		}
	} else if (kind == SCHED_PLAN_STICKY) {
		if (!sched_sticky_plan_ok(p) || nb < 2) {
			sbpf_builder__free(g.b);
			return -EINVAL;
		}
		sticky_partial_body(&g);
		sbpf_builder__bind(g.b, g.account);
	} else {
		mvsf_body(&g);
		sbpf_builder__bind(g.b, g.account);
	}
	sbpf_builder__bind(g.b, g.select);
	emit(&g, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, R(9), -8));                         /* *(u32 *)(fp-8) = w9 */
	emit(&g, SBPF_MOV64_REG(R(1), R(6)));                                          /* r1 = ctx */
	ld_map(&g, R(2), m->sockarray);                                                /* r2 = sockets */
	emit(&g, SBPF_MOV64_REG(R(3), SBPF_REG_FP));                                   /* r3 = fp */
	emit(&g, SBPF_ALU64_IMM(SBPF_ADD, R(3), -8));                                  /* r3 += -8 */
	emit(&g, SBPF_MOV64_IMM(R(4), 0));                                             /* r4 = 0 */
	emit(&g, SBPF_CALL_HELPER(BPF_FUNC_sk_select_reuseport));                      /* call sk_select_reuseport */
	sbpf_builder__bind(g.b, g.pass);
	emit(&g, SBPF_MOV64_IMM(R(0), SK_PASS_RET));                                   /* r0 = SK_PASS */
	emit(&g, SBPF_EXIT_INSN());                                                    /* exit */
	int err = sbpf_builder__finish(g.b, out, nout, NULL);
	sbpf_builder__free(g.b);
	return err;
}
