/* schedInt.h - private declarations of the socket-scheduling DSL
 * (src/sched/): the policy's syntax tree (parse.c), its reference
 * semantics and key hash (policy.c), the SK_REUSEPORT code generator
 * (codegen.c), the candidate plans and the optimizer (plan.c), and the
 * attached group with its user-space agent (group.c).
 */
#ifndef SAFEBPF_SCHED_INT_H
#define SAFEBPF_SCHED_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"
#include "safebpf/sched.h"
#include "dsl/dsl.h"

#define SCHED_MAX_KEY 8         /* fields in a `key` clause */
#define SCHED_MAX_MAPS 4        /* `map` declarations */
#define SCHED_MAX_PAYLOAD 16    /* bytes of one payload field */
#define SCHED_MAX_PAYLOAD_OFF 1024 /* largest payload offset */
#define SCHED_SLOTS 1024        /* about this many key buckets (rounded up to a multiple of N) */
#define SCHED_EMPTY 0xffffffffu /* a bucket with no decision yet */

/* The key hash (docs/sched.md "Key hash"): FNV-1a over 32-bit words, then a
 * final mix. The same constants are emitted by codegen.c. */
#define SCHED_HASH_SEED 0x811c9dc5u
#define SCHED_HASH_PRIME 0x01000193u
#define SCHED_HASH_MIX 0x85ebca6bu

enum sched_field_kind {
	SCHED_F_SRC_IP, SCHED_F_DST_IP, SCHED_F_SRC_PORT, SCHED_F_DST_PORT,
	SCHED_F_PROTO, SCHED_F_CPU, SCHED_F_PAYLOAD,
};

struct sched_field {
	enum sched_field_kind kind;   /* which input */
	uint16_t off, len;            /* payload fields: byte offset and length */
};

enum sched_act_kind {
	SCHED_A_RR,                   /* round_robin: a counter modulo N */
	SCHED_A_HASH,                 /* hash: key hash modulo N */
	SCHED_A_LEAST,                /* least_loaded(v [- w]): smallest slot, lowest index on ties */
	SCHED_A_STICKY,               /* sticky(inner): a key bucket keeps its first decision */
	SCHED_A_EXEC,                 /* executor K */
};

struct sched_action {
	enum sched_act_kind kind;     /* what it does */
	int map;                      /* SCHED_A_LEAST: index into maps[] */
	int sub;                      /* SCHED_A_LEAST: vector subtracted from it, -1: none */
	unsigned exec;                /* SCHED_A_EXEC: the executor */
	struct sched_action *inner;   /* SCHED_A_STICKY: decision for a new bucket */
	size_t pos;                   /* source offset (diagnostics) */
};

struct sbpf_sched_policy {
	char name[64];                /* after `policy` */
	unsigned executors;           /* `executors N`, 0: the group's size */
	size_t exec_pos;              /* source offset of `executors` */
	struct sched_field key[SCHED_MAX_KEY]; /* `key` fields, in order */
	size_t nkey;                  /* how many */
	char maps[SCHED_MAX_MAPS][32]; /* `map` and `counter` names (one u64 per executor each) */
	bool counter[SCHED_MAX_MAPS]; /* a `counter`: +1 on each selection of its executor */
	size_t nmaps;                 /* how many */
	struct sched_action acts[4];  /* storage for the action tree */
	size_t nacts;                 /* used */
	struct sched_action *sel;     /* the `select` action */
};

/* ---- policy.c: reference semantics ---------------------------------------- */

/* Key buckets for a group of @n executors: a multiple of @n near SCHED_SLOTS
 * (so that h % n == (h % buckets) % n), 1 when the policy has no key. */
uint32_t sched_buckets(const struct sbpf_sched_policy *p, unsigned n);
/* Whether @a (or what it contains) has state kinds. */
bool sched_uses(const struct sched_action *a, enum sched_act_kind k);

/* State of the reference semantics (also the MVSF agent's state). */
struct sched_state {
	unsigned n;                   /* executors */
	uint32_t nb;                  /* key buckets */
	uint64_t rr;                  /* round_robin counter */
	uint32_t *sticky;             /* nb decisions (SCHED_EMPTY: none) */
	uint64_t *maps[SCHED_MAX_MAPS]; /* n slots per `map` or `counter` */
};

/* Decision of action @a for a packet with key hash @h in state @st;
 * @commit advances the state (counter, sticky table) as the kernel would,
 * otherwise the call only peeks. */
unsigned sched_decide(const struct sbpf_sched_policy *p, const struct sched_action *a, struct sched_state *st,
		      uint32_t h, bool commit);

/* Counts a selection of executor @e in every `counter` of @p. */
void sched_account(const struct sbpf_sched_policy *p, struct sched_state *st, unsigned e);

/* ---- codegen.c -------------------------------------------------------------- */

/* Map fds a program refers to (-1: unused). */
struct sched_maps {
	int sockarray;                /* REUSEPORT_SOCKARRAY, n entries */
	int state;                    /* ARRAY, 1 entry: u64 rr counter, u64 lost reports */
	int sticky;                   /* ARRAY, nb entries of u32 */
	int user[SCHED_MAX_MAPS];     /* ARRAY, 1 entry of n u64 (mmapable): maps and counters */
	int table;                    /* MVSF: ARRAY, nb + 1 entries of u32 (last: default) */
	int ring;                     /* MVSF: ring buffer of struct sched_report */
	/* The arrays are memory-mapped (BPF_F_MMAPABLE): user space reads and
	 * writes them without system calls. Slots are u64 (programs use the
	 * low 32 bits of u32 slots). */
	uint64_t *state_mem;          /* [0] rr counter, [1] lost reports */
	uint64_t *sticky_mem;         /* nb slots */
	uint64_t *user_mem[SCHED_MAX_MAPS]; /* n slots each */
	uint64_t *table_mem;          /* nb + 1 slots */
	size_t state_len, sticky_len, user_len, table_len; /* mapped bytes */
};

/* One MVSF report: what the kernel saw and chose. */
struct sched_report {
	uint32_t h;                   /* key hash */
	uint32_t chosen;              /* executor the kernel selected (SCHED_EMPTY: none) */
};

enum sched_plan_kind {
	SCHED_PLAN_KERNEL,            /* the whole policy in the kernel */
	SCHED_PLAN_STICKY,            /* sticky(inner): the bucket table in the kernel; a new
				         bucket takes the default user space wrote and is reported */
	SCHED_PLAN_MVSF,              /* bucket lookup + report; the policy in user space */
};

/* Whether plan SCHED_PLAN_STICKY can run @p: sticky over a key-independent
 * decision (round_robin, least_loaded, executor), no counters. */
bool sched_sticky_plan_ok(const struct sbpf_sched_policy *p);

/* Emits the program of plan @kind for @p with @n executors and @nb buckets.
 * 0 with *@out (malloc'ed) or a negative errno. */
int sched_codegen(const struct sbpf_sched_policy *p, enum sched_plan_kind kind, unsigned n, uint32_t nb,
		  const struct sched_maps *m, struct sbpf_insn **out, size_t *nout);

/* ---- plan.c: maps, candidates, the optimizer -------------------------------- */

#define SCHED_NCAND 3

/* A policy built for a group of n executors: its maps, its candidate
 * plans with their programs and verdicts, and the loaded choice. */
struct sched_build {
	const struct sbpf_sched_policy *p; /* the policy */
	unsigned n;                   /* executors */
	uint32_t nb;                  /* key buckets */
	struct sched_maps m;          /* every map any candidate uses */
	struct dsl_candidate cand[SCHED_NCAND]; /* cheapest first; MVSF last */
	enum sched_plan_kind kind[SCHED_NCAND]; /* what each candidate is */
	struct sbpf_insn *insns[SCHED_NCAND]; /* their programs (after fingerprinting) */
	size_t ninsns[SCHED_NCAND];   /* their lengths */
	size_t ncand;                 /* candidates */
	int prog_fd;                  /* the accepted program, -1 when none */
	int chosen;                   /* index of the accepted candidate, -1 when none */
};

/* Creates the maps (every slot empty) and judges the candidates with
 * dsl_iterate(); on success b->prog_fd holds the chosen program. 0 or a
 * negative errno with a reason in @err. sched_build_free() in every case. */
int sched_build(struct sched_build *b, const struct sbpf_sched_policy *p, unsigned n, enum sbpf_sched_plan plan,
		char *err, size_t errsz);
void sched_build_free(struct sched_build *b);

/* ---- group.c: an attached policy --------------------------------------------- */

struct sbpf_kringbuf;
struct sbpf_sched {
	struct sched_build b;         /* maps and the loaded program */
	int attach_fd;                /* the socket the program is attached through */
	bool agent;                   /* MVSF or kernel-sticky: the user-space agent decides */
	bool partial;                 /* kernel-sticky: reports are new buckets, decided by sel->inner */
	struct sbpf_kringbuf *rb;     /* MVSF reports */
	struct sched_state st;        /* the agent's policy state */
	uint32_t *sticky;             /* the agent's sticky table (nb) */
	pthread_mutex_t mu;           /* guards the agent */
	struct sbpf_sched_stats stats; /* reports, lag */
};

/* ---- selftest.c ------------------------------------------------------------ */

void sched_mvsf_selftest(int verbose, struct dsl_mvsf_result *r);

#endif /* SAFEBPF_SCHED_INT_H */
