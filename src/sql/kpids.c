/* kpids.c - process filters in the kernel: a hash map of the process ids a
 * query traces (-p PID, -c COMMAND) that kernel plans look up before doing
 * anything else, and, to follow descendants, a program on
 * sched/sched_process_fork that adds the child of a traced process. The
 * fork program runs in the parent before the child can run, so the child's
 * first event is already filtered correctly. Also the map-plus-program
 * pair (sql_khelper) that this and the origin programs (korigin.c) share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "safebpf/kernel.h"
#include "sql/sqlInt.h"

#define FORK_TP "sched/sched_process_fork"
#define EXIT_TP "sched/sched_process_exit"
#define FREE_TP "sched/sched_process_free"
#define MAX_PIDS 65536

struct sql_kpids {
	struct sql_khelper h;     /* hash: u32 tgid -> u8, and the fork program */
	struct sql_khelper forget; /* the program that forgets an exited process (no map of its own) */
};

/* The fork program: if the current tgid is traced, add child_pid. */
static int fork_program(int map_fd, const struct sql_tp_field *child, struct sbpf_insn **out, size_t *n)
{
	struct sbpf_builder *b = sbpf_builder__new();
	if (!b)
		return -ENOMEM;
	int l_out = sbpf_builder__new_label(b);
	sbpf_builder__emit(b, SBPF_MOV64_REG(6, 1));                                    /* r6 = ctx */
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_get_current_pid_tgid));         /* r0 = pid_tgid */
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_RSH, 0, 32));                        /* r0 >>= 32 */
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 0, -4));               /* *(u32 *)(r10 - 4) = r0 */
	sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)map_fd); /* r1 = pids */
	sbpf_builder__emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));                         /* r2 = r10 */
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, -4));                        /* r2 += -4 */
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));             /* r0 = lookup */
	sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_out);                 /* not traced */
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_W, 1, 6, (int16_t)child->offset));     /* r1 = child_pid */
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 1, -8));               /* *(u32 *)(r10 - 8) = r1 */
	sbpf_builder__emit(b, SBPF_ST_MEM(SBPF_B, SBPF_REG_FP, -12, 1));               /* *(u8 *)(r10 - 12) = 1 */
	sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)map_fd); /* r1 = pids */
	sbpf_builder__emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, -8));                        /* r2 = &child */
	sbpf_builder__emit(b, SBPF_MOV64_REG(3, SBPF_REG_FP));
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 3, -12));                       /* r3 = &one */
	sbpf_builder__emit(b, SBPF_MOV64_IMM(4, BPF_ANY));                             /* r4 = BPF_ANY */
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_update_elem));             /* pids[child] = 1 */
	sbpf_builder__bind(b, l_out);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));                                   /* r0 = 0 */
	sbpf_builder__emit(b, SBPF_EXIT_INSN());                                       /* exit */
	int rc = sbpf_builder__finish(b, out, n, NULL);
	sbpf_builder__free(b);
	return rc;
}

/* The forget program: drop a traced process's id from the set once it can
 * be reused, or an unrelated process given the same id would be counted.
 *
 * Where sched_process_exit says group_dead (the last thread of the process
 * is exiting; kernels since 6.15), the program runs there, in the exiting
 * task: after the process's last system call and fault, and before its id
 * can be released, so a new process can never be given the id first.
 * Older kernels only have sched_process_free, which comes an RCU grace
 * period after the id was released: a new process that reuses the id at
 * once can be added by the fork program and then forgotten. */
static int forget_program(int map_fd, const struct sql_tp_field *group_dead, const struct sql_tp_field *pidf,
			  struct sbpf_insn **out, size_t *n)
{
	struct sbpf_builder *b = sbpf_builder__new();
	if (!b)
		return -ENOMEM;
	int l_out = sbpf_builder__new_label(b);
	if (group_dead) {
		sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_B, 2, 1, (int16_t)group_dead->offset)); /* r2 = group_dead */
		sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 2, 0, 0), l_out);                 /* threads remain */
		sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_get_current_pid_tgid));         /* r0 = pid_tgid */
		sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_RSH, 0, 32));                        /* r0 = tgid */
		sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 0, -4));               /* *(u32 *)(r10 - 4) = r0 */
	} else {
		sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_W, 2, 1, (int16_t)pidf->offset));      /* r2 = pid */
		sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 2, -4));               /* *(u32 *)(r10 - 4) = r2 */
	}
	sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)map_fd); /* r1 = pids */
	sbpf_builder__emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, -4));                        /* r2 = &id */
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_delete_elem));             /* delete pids[id] */
	sbpf_builder__bind(b, l_out);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));                                   /* r0 = 0 */
	sbpf_builder__emit(b, SBPF_EXIT_INSN());                                       /* exit */
	int rc = sbpf_builder__finish(b, out, n, NULL);
	sbpf_builder__free(b);
	return rc;
}

/* Attaches the forget program to the pid set of @k: on sched_process_exit
 * when it has group_dead, else on sched_process_free. */
static int forget_exited(struct sql_kpids *k, char *err, size_t errsz)
{
	struct sql_tp_format fmt;
	char why[256];
	const char *tp = EXIT_TP;
	int rc = sql_tracefs_load(tp, &fmt, why, sizeof(why));
	const struct sql_tp_field *group_dead = rc ? NULL : sql_tp_field(&fmt, "group_dead");
	if (!group_dead || group_dead->size != 1 || group_dead->offset < 8) {
		if (!rc)
			sql_tp_format_free(&fmt);
		group_dead = NULL;
		tp = FREE_TP;
		rc = sql_tracefs_load(tp, &fmt, why, sizeof(why));
	}
	if (rc) {
		snprintf(err, errsz, "cannot forget exited processes: %s", why);
		return rc;
	}
	const struct sql_tp_field *pidf = sql_tp_field(&fmt, "pid");
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	rc = !group_dead && (!pidf || pidf->size != 4 || pidf->offset < 8)
		     ? -ENOENT
		     : forget_program(k->h.map_fd, group_dead, pidf, &insns, &n);
	sql_tp_format_free(&fmt);
	if (rc) {
		snprintf(err, errsz, "cannot forget exited processes: %s has no usable pid", tp);
		return rc;
	}
	rc = sql_khelper_attach(&k->forget, insns, n, "sbpf_forget", tp, "the forget program", err, errsz);
	free(insns);
	return rc;
}

struct sql_kpids *sql_kpids_new(int pid, bool follow, char *err, size_t errsz)
{
	struct sql_kpids *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	k->h.map_fd = k->h.prog_fd = k->forget.map_fd = k->forget.prog_fd = -1;
	struct sbpf_kmap_opts mo = { .sz = sizeof(mo), .type = SBPF_KMAP_HASH, .name = "sbpf_pids",
				     .key_size = 4, .value_size = 1, .max_entries = MAX_PIDS };
	int rc = k->h.map_fd = sbpf_kmap_create(&mo);
	uint32_t key = (uint32_t)pid;
	uint8_t one = 1;
	if (rc >= 0)
		rc = sbpf_kmap_update(k->h.map_fd, &key, &one, 0);
	if (rc < 0) {
		snprintf(err, errsz, "cannot create the process map: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = forget_exited(k, err, errsz)))
		goto fail;
	if (!follow)
		return k;
	struct sql_tp_format fmt;
	char why[256];
	if ((rc = sql_tracefs_load(FORK_TP, &fmt, why, sizeof(why)))) {
		snprintf(err, errsz, "cannot follow child processes: %s", why);
		goto fail;
	}
	const struct sql_tp_field *child = sql_tp_field(&fmt, "child_pid");
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	if (!child || child->size != 4 || child->offset < 8)
		rc = -ENOENT;
	else
		rc = fork_program(k->h.map_fd, child, &insns, &n);
	sql_tp_format_free(&fmt);
	if (rc) {
		snprintf(err, errsz, "cannot follow child processes: %s has no usable child_pid", FORK_TP);
		goto fail;
	}
	rc = sql_khelper_attach(&k->h, insns, n, "sbpf_forks", FORK_TP, "the fork program", err, errsz);
	free(insns);
	if (rc)
		goto fail;
	return k;
fail:
	sql_kpids_free(k);
	return NULL;
}

int sql_kpids_fd(const struct sql_kpids *k)
{
	return k ? k->h.map_fd : -1;
}

void sql_kpids_free(struct sql_kpids *k)
{
	if (!k)
		return;
	sql_khelper_close(&k->forget);
	sql_khelper_close(&k->h);
	free(k);
}

int sql_khelper_attach(struct sql_khelper *h, const struct sbpf_insn *insns, size_t n, const char *name,
		       const char *tp, const char *what, char *err, size_t errsz)
{
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = SBPF_KPROG_TRACEPOINT, .name = name };
	h->prog_fd = sbpf_kernel_load(insns, n, &lo);
	if (h->prog_fd < 0) {
		int rc = h->prog_fd;
		snprintf(err, errsz, "the kernel refused %s: %s", what, strerror(-rc));
		return rc;
	}
	char why[256];
	if (!(h->link = sbpf_klink__tracepoint(h->prog_fd, tp, why, sizeof(why)))) {
		snprintf(err, errsz, "%s", why);
		return -EINVAL;
	}
	return 0;
}

void sql_khelper_close(struct sql_khelper *h)
{
	sbpf_klink__destroy(h->link);
	h->link = NULL;
	if (h->prog_fd >= 0)
		close(h->prog_fd);
	if (h->map_fd >= 0)
		close(h->map_fd);
	h->prog_fd = h->map_fd = -1;
}
