/* ccInt.h - private header of the congestion-control DSL (src/cc/):
 * the language (lex.c, parse.c: per-ACK folds into declared state, `when`
 * rules, actions), its reference semantics (eval.c, the user-space run
 * time of the MVSF plan), the socket measurements and their BTF layout
 * (meas.c), eBPF generation of the MVSF and the in-kernel plan (codegen.c),
 * planning with DSL-guided iteration and struct_ops registration (plan.c),
 * the user-space loop (runtime.c), trace replay (replay.c) and the MVSF
 * self-test (selftest.c). See docs/cc.md.
 */
#ifndef SAFEBPF_CC_INT_H
#define SAFEBPF_CC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dsl/dsl.h"
#include "safebpf/diag.h"
#include "safebpf/isa.h"

/* ---- measurements (meas.c) --------------------------------------------- */

/* What each ACK tells the program; the order is the record layout. */
enum cc_meas {
	CC_M_ACKED,       /* packets newly acked or sacked (rate_sample.acked_sacked) */
	CC_M_RTT,         /* RTT sample in us (0: none on this ACK) */
	CC_M_SRTT,        /* smoothed RTT in us */
	CC_M_MIN_RTT,     /* windowed minimum RTT in us (tcp_sock.rtt_min) */
	CC_M_LOSS,        /* packets newly marked lost (rate_sample.losses) */
	CC_M_TIMEOUT,     /* 1 while in the Loss state after a retransmission timeout */
	CC_M_RECOVERY,    /* 1 while in fast recovery */
	CC_M_ECN,         /* 1 when this ACK echoed congestion (ECE) */
	CC_M_INFLIGHT,    /* packets in flight */
	CC_M_DELIVERED,   /* packets delivered over the rate sample's interval */
	CC_M_INTERVAL,    /* that interval in us */
	CC_M_RATE,        /* delivery rate in bytes/s: delivered * mss * 1e6 / interval */
	CC_M_NOW,         /* time of this ACK in us (tcp_sock.tcp_mstamp) */
	CC_M_MSS,         /* sender MSS in bytes */
	CC_M_CWND,        /* the socket's congestion window now, in packets */
	CC_M_APP_LIMITED, /* 1 when the sample was application-limited */
	CC_M_CWND_LIMITED,/* 1 when the window limits sending (the kernel's tcp_is_cwnd_limited) */
	CC_NMEAS
};

/* Name of measurement @m ("acked"), or NULL. */
const char *cc_meas_name(int m);
/* The measurement called @name, or -1. */
int cc_meas_find(const char *name);

/* Ring-buffer record kinds: word 0 of a record is kind << 32 | flow id. */
enum { CC_REC_ACK = 0, CC_REC_CLOSE = 2, CC_REC_REPORT = 3 };

/* Limits of the language (docs/cc.md). */
#define CC_MAX_STATE 16     /* declared state variables */
#define CC_MAX_DEPTH 24     /* expression nesting (kernel temporaries on the stack) */

/* ---- the language (lex.c, parse.c) ---------------------------------------- */

enum cc_tok {
	CC_T_EOF, CC_T_IDENT, CC_T_NUM, CC_T_PUNCT, /* PUNCT: text holds the operator */
};

struct cc_token {
	enum cc_tok kind;   /* token class */
	size_t off, len;    /* byte span in the source */
	uint64_t num;       /* value of a number */
	char text[32];      /* identifier or operator text (truncated) */
};

/* Splits @src into tokens (malloc'ed array ending with CC_T_EOF in *@out).
 * Returns 0, or -EINVAL with diagnostics in @d, or -ENOMEM. */
int cc_lex(const char *src, const char *file, struct sbpf_diags *d, struct cc_token **out, size_t *n);

enum cc_expr_kind {
	CC_E_NUM,    /* constant: num */
	CC_E_STATE,  /* state variable: index */
	CC_E_MEAS,   /* measurement: index */
	CC_E_BIN,    /* binary operator: op, a, b */
	CC_E_NOT,    /* !a */
	CC_E_MIN, CC_E_MAX, /* min(a, b), max(a, b) */
	CC_E_CBRT,   /* cbrt(a): floor of the cube root */
};

/* Binary operators. */
enum cc_binop {
	CC_OP_ADD, CC_OP_SUB, CC_OP_MUL, CC_OP_DIV, CC_OP_MOD, CC_OP_SHL, CC_OP_SHR,
	CC_OP_AND, CC_OP_OR,   /* bitwise & | */
	CC_OP_LAND, CC_OP_LOR, /* logical && || (both sides evaluated: no side effects) */
	CC_OP_EQ, CC_OP_NE, CC_OP_LT, CC_OP_LE, CC_OP_GT, CC_OP_GE,
};

struct cc_expr {
	enum cc_expr_kind kind;  /* what it is */
	enum cc_binop op;        /* CC_E_BIN: the operator */
	uint64_t num;            /* CC_E_NUM: the value */
	int index;               /* CC_E_STATE / CC_E_MEAS: which */
	struct cc_expr *a, *b;   /* operands */
	size_t off;              /* source position (diagnostics) */
};

enum cc_stmt_kind {
	CC_S_ASSIGN,   /* state[index] = e */
	CC_S_WHEN,     /* when e { body } else { els } */
	CC_S_SET_CWND, /* set cwnd = e */
	CC_S_SET_RATE, /* set rate = e */
	CC_S_REPORT,   /* report */
};

struct cc_stmt {
	enum cc_stmt_kind kind;  /* what it is */
	int index;               /* CC_S_ASSIGN: the state variable */
	struct cc_expr *e;       /* value or condition */
	struct cc_stmt *body;    /* CC_S_WHEN: statements when e holds */
	struct cc_stmt *els;     /* CC_S_WHEN: statements otherwise (may be NULL) */
	struct cc_stmt *next;    /* next statement of the block */
	size_t off;              /* source position */
};

/* A top-level item, run per ACK in source order. */
struct cc_item {
	bool fold;               /* a fold block (assignments only) or a when rule */
	struct cc_stmt *stmts;   /* fold: the assignments; rule: one CC_S_WHEN */
	size_t off;              /* source position */
	int line;                /* its source line (explain) */
};

struct cc_prog {
	char name[16];           /* `algorithm NAME` (the struct_ops name by default), or "" */
	int nstate;              /* declared state variables */
	char state_name[CC_MAX_STATE][32];  /* their names */
	uint64_t state_init[CC_MAX_STATE];  /* their initial values */
	struct cc_item *items;   /* folds and rules in source order */
	size_t nitems;
	bool uses_rate;          /* some action sets the pacing rate */
	bool uses_report;        /* some rule reports */
	void *mem;               /* allocations (freed by cc_prog_free) */
};

/* Parses @src (file name @file for diagnostics) into *@out. Returns 0, or
 * -EINVAL with caret diagnostics in @d, or -ENOMEM. */
int cc_parse(const char *src, const char *file, struct sbpf_diags *d, struct cc_prog **out);
void cc_prog_free(struct cc_prog *p);

/* ---- reference semantics (eval.c) --------------------------------------- */

/* What one ACK made the program do. */
struct cc_effect {
	uint64_t cwnd;           /* cwnd set (packets), 0: not set on this ACK */
	uint64_t rate;           /* pacing rate set (bytes/s), 0: not set */
	bool report;             /* a report action ran */
};

/* floor(cbrt(x)), the algorithm the kernel code uses too. */
uint64_t cc_cbrt(uint64_t x);
/* Value of @e. Unsigned 64-bit arithmetic, x / 0 = 0, x % 0 = x, shifts
 * by the amount & 63, comparisons and logic give 0 or 1. */
uint64_t cc_eval_expr(const struct cc_expr *e, const uint64_t *state, const uint64_t *meas);
/* Runs items [from, to) of @p for one ACK: updates @state, fills @eff. */
void cc_eval_items(const struct cc_prog *p, size_t from, size_t to, uint64_t *state, const uint64_t *meas,
		   struct cc_effect *eff);
/* The cwnd an action asks for, clamped as the kernel code clamps it. */
uint64_t cc_clamp_cwnd(uint64_t v);

/* ---- kernel layout (meas.c) ---------------------------------------------- */

/* Offsets in the running kernel's structures, from vmlinux BTF. */
struct cc_layout {
	uint32_t snd_cwnd, srtt_us, rtt_min_v, mss_cache, packets_out, sacked_out, lost_out,
		retrans_out, tcp_mstamp;  /* tcp_sock fields (bytes from the start) */
	uint32_t ca_state_byte;          /* byte holding icsk_ca_state */
	uint32_t ca_state_shift, ca_state_mask; /* its bit position and mask in that byte */
	uint32_t cwnd_limited_byte, cwnd_limited_shift; /* tcp_sock.is_cwnd_limited (1 bit) */
	uint32_t max_packets_out;        /* tcp_sock.max_packets_out (4 bytes) */
	uint32_t pacing_rate;            /* sock.sk_pacing_rate (8 bytes) */
	uint32_t pacing_status;          /* sock.sk_pacing_status (4 bytes) */
	uint32_t max_pacing_rate;        /* sock.sk_max_pacing_rate (8 bytes) */
	uint32_t snd_ssthresh;           /* tcp_sock.snd_ssthresh (4 bytes) */
	uint32_t rs_delivered, rs_interval_us, rs_rtt_us, rs_losses, rs_acked_sacked,
		rs_is_app_limited;       /* rate_sample fields */
	uint32_t tcp_sock_size, rate_sample_size; /* sizes of both structures */
};

/* Fills @l from /sys/kernel/btf/vmlinux (cached after the first call).
 * Returns 0, or a negative errno with the missing piece named in @err. */
int cc_layout_get(struct cc_layout *l, char *err, size_t errsz);

/* ---- code generation (codegen.c) ------------------------------------------ */

/* Which struct_ops callbacks a plan implements. */
enum cc_cb { CC_CB_CONG_CONTROL, CC_CB_SSTHRESH, CC_CB_UNDO_CWND, CC_CB_RELEASE, CC_NCB };
/* Member name of callback @cb in struct tcp_congestion_ops. */
const char *cc_cb_member(int cb);

/* Map fds (or, for replay, tags) the programs refer to. */
struct cc_maps {
	int ringbuf;             /* BPF_MAP_TYPE_RINGBUF: records to user space */
	int storage;             /* BPF_MAP_TYPE_SK_STORAGE: per-socket header + state */
	int control;             /* HASH flow id -> {cwnd, rate} written by user space (MVSF) */
	int counter;             /* ARRAY[1] u64: the next flow id */
};

/* A plan's programs, one per callback. */
struct cc_progs {
	struct sbpf_insn *insns[CC_NCB]; /* malloc'ed programs */
	size_t n[CC_NCB];                /* their lengths in slots */
};

/* Per-socket storage value: word 0 header (CC_REC_REPORT << 32 | flow id;
 * 0 until the first ACK), word 1 reserved, then the state variables. */
#define CC_STORAGE_BYTES(nstate) (16u + 8u * (unsigned)(nstate))

/* Generates the programs of a plan: @kernel_items of @p's items run in the
 * kernel (0: the MVSF, which records every ACK and applies the control
 * map; p->nitems: the whole program in the kernel; in between: the folds
 * plan, leading folds in the kernel, their state in each ACK's record, the
 * rest in user space; see cc_split_point). Returns 0, or a negative errno
 * with a reason in @err. */
int cc_codegen(const struct cc_prog *p, size_t kernel_items, const struct cc_layout *l, const struct cc_maps *m,
	       struct cc_progs *out, char *err, size_t errsz);
void cc_progs_free(struct cc_progs *g);

/* ---- plans and registration (plan.c) ---------------------------------------- */

enum cc_plan_mode { CC_PLAN_AUTO, CC_PLAN_MVSF, CC_PLAN_KERNEL, CC_PLAN_FOLDS };

/* The folds plan's split: the largest k (0: none) such that items [0, k)
 * are folds, k < nitems, and no item from k on assigns a state variable
 * items [0, k) use; @owned (CC_MAX_STATE entries, may be NULL) tells which
 * variables items [0, k) use (the kernel owns them). */
size_t cc_split_point(const struct cc_prog *p, bool *owned);

struct cc_candidate_info {
	const char *name;        /* plan name */
	size_t kernel_items;     /* items run in the kernel */
	double cost;             /* cost estimate */
	size_t insns;            /* instructions of its cong_control program */
};

/* A planned (and perhaps registered) algorithm: maps, the chosen plan's
 * programs in a struct_ops object, its registration. */
struct sbpf_kstructops;
struct cc_handle {
	struct cc_prog *prog;    /* the program (not owned) */
	char name[16];           /* the name setsockopt(TCP_CONGESTION) takes */
	struct dsl_candidate cand[3]; /* candidates judged */
	struct cc_candidate_info info[3]; /* what each is */
	size_t ncand;            /* number of candidates */
	int chosen;              /* index in cand of the plan that runs */
	bool kernel;             /* the chosen plan runs the program in the kernel */
	struct cc_maps maps;     /* map fds (-1: not created) */
	int btf_fd;              /* BTF of the storage map (-1: none) */
	struct sbpf_kstructops *ops; /* the chosen plan's programs and registration */
	size_t insns[CC_NCB];    /* sizes of the chosen plan's programs */
	struct sbpf_kstructops *trial; /* programs of the candidate being judged */
	struct cc_progs gen[3];  /* generated programs per candidate */
	size_t user_from;        /* the first item user space runs (0: MVSF, all of them) */
	bool owned[CC_MAX_STATE];/* folds plan: state variables the kernel keeps */
	bool registered;         /* registered as tcp_congestion_ops */
	uint32_t map_id, link_id;/* ids of the struct_ops map and link */
};

/* Plans @p for this kernel: candidates (in-kernel whole program, MVSF)
 * judged by the verifier through dsl_iterate(); @mode restricts them.
 * With @do_register, the chosen plan is registered as tcp_congestion_ops
 * @name (NULL: the program's name). Returns 0 with *@out, or a negative
 * errno with a reason in @err. */
int cc_plan(struct cc_prog *p, enum cc_plan_mode mode, const char *name, bool do_register, struct cc_handle **out,
	    char *err, size_t errsz);
/* Unregisters (closes the link and struct_ops map) and frees everything. */
void cc_handle_free(struct cc_handle *h);

/* ---- user-space run time (runtime.c) --------------------------------------- */

struct cc_run_opts {
	size_t sz;               /* sizeof(struct cc_run_opts) */
	FILE *record;            /* MVSF: every ACK record as a text line (replay input), or NULL */
	FILE *reports;           /* report lines, or NULL */
	volatile int *stop;      /* set non-zero (e.g. by a signal) to stop */
	int child_pidfd;         /* stop when this process exits (-1: none) */
};

struct cc_run_stats {
	uint64_t acks;           /* ACK records handled in user space */
	uint64_t reports;        /* reports received */
	uint64_t control_writes; /* control map updates */
	uint64_t flows;          /* flows seen */
	uint64_t lost;           /* records the kernel could not reserve */
};

/* Consumes records until *stop or the child exits: runs the program in user
 * space for the MVSF plan, prints reports. Returns 0 or a negative errno. */
int cc_run(struct cc_handle *h, const struct cc_run_opts *o, struct cc_run_stats *st);

/* The text form of an ACK record (replay input): "ack FLOW m0 m1 ... m16". */
void cc_record_line(FILE *f, uint32_t flow, const uint64_t *meas);

/* ---- replay (replay.c) ------------------------------------------------------ */

/* Feeds recorded ACK lines of @in to plan @mode of @p (MVSF: the reference
 * semantics in user space; kernel: the generated in-kernel eBPF program run
 * in safebpf's interpreter on a synthetic socket; folds: the folds plan's
 * program there, the rest with the reference semantics on its record; a
 * program without a split is refused with -EINVAL) and writes one line per
 * ACK, "FLOW cwnd rate", to @out. The socket's cwnd is the one the plan set
 * last (the record's initial one until then). Returns the number of ACKs
 * replayed, or a negative errno with a reason in @err. */
long cc_replay(const struct cc_prog *p, enum cc_plan_mode mode, FILE *in, FILE *out, char *err, size_t errsz);

#endif /* SAFEBPF_CC_INT_H */
