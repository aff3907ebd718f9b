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

/* Values of the pid set (see forget_program): a state and, for a dying
 * process, the task whose exit marked it. */
enum { PIDS_TRACED = 1, PIDS_DYING = 2 };
struct pids_value {
	uint8_t state;     /* PIDS_TRACED or PIDS_DYING (offset 0, SQL_PIDS_STATE) */
	uint8_t pad[7];
	uint64_t task;     /* dying: the exiting task (offset 8, SQL_PIDS_TASK) */
};
_Static_assert(sizeof(struct pids_value) == SQL_PIDS_VALUE_SIZE, "pid set value layout");

struct sql_kpids {
	struct sql_khelper h;     /* hash: u32 tgid -> u8, and the fork program */
	struct sql_khelper mark;  /* marks a traced process dying at its exit (no map of its own) */
	struct sql_khelper forget; /* forgets a freed one (no map of its own) */
};

/* The fork program: if the current tgid is traced (and not dying), add
 * child_pid. */
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
	/* a dying id forks only as another process given it (an exiting task
	 * does not fork) */
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_B, 1, 0, SQL_PIDS_STATE));             /* r1 = value.state */
	sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 1, PIDS_DYING, 0), l_out);        /* not traced */
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_W, 1, 6, (int16_t)child->offset));     /* r1 = child_pid */
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 1, -8));               /* *(u32 *)(r10 - 8) = r1 */
	sbpf_builder__emit(b, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, -24, PIDS_TRACED));    /* value.state = traced */
	sbpf_builder__emit(b, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, -16, 0));              /* value.task = 0 */
	sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)map_fd); /* r1 = pids */
	sbpf_builder__emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, -8));                        /* r2 = &child */
	sbpf_builder__emit(b, SBPF_MOV64_REG(3, SBPF_REG_FP));
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 3, -24));                       /* r3 = &value */
	sbpf_builder__emit(b, SBPF_MOV64_IMM(4, BPF_ANY));                             /* r4 = BPF_ANY */
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_update_elem));             /* pids[child] = 1 */
	sbpf_builder__bind(b, l_out);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));                                   /* r0 = 0 */
	sbpf_builder__emit(b, SBPF_EXIT_INSN());                                       /* exit */
	int rc = sbpf_builder__finish(b, out, n, NULL);
	sbpf_builder__free(b);
	return rc;
}

/* Forgetting exited processes: a traced process's id must leave the set
 * once it can be reused, or an unrelated process given the same id would
 * be counted; but not before the process's own last events (its
 * sched_process_exit rows among them) have been judged, and not when a
 * traced child has been given the id meanwhile.
 *
 * The set's value says which: 1 traced, 2 dying. Where sched_process_exit
 * has group_dead (kernels since 6.15), the mark program sets 2 when the
 * last thread of a traced process exits; the free program (on
 * sched_process_free, an RCU grace period after the id was released)
 * deletes the id only if it is still 2, so a traced child that reused the
 * id (the fork program wrote 1) stays. Without group_dead, the free
 * program deletes unconditionally (a traced child given the id within that
 * grace period is then forgotten). Until the free, an unrelated process
 * given the id would still be counted: one grace period after a reap. */
/* The mark program (@group_dead the field) or the free program (@pidf the
 * freed task's pid; @only_dying: delete only ids marked dying). */
static int forget_program(int map_fd, const struct sql_tp_field *group_dead, const struct sql_tp_field *pidf,
			  bool only_dying, struct sbpf_insn **out, size_t *n)
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
	if (group_dead || only_dying) {
		sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)map_fd); /* r1 = pids */
		sbpf_builder__emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));
		sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, -4));                        /* r2 = &id */
		sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));             /* r0 = &pids[id] */
		sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_out);                 /* not traced */
	}
	if (group_dead) {
		sbpf_builder__emit(b, SBPF_MOV64_REG(6, 0));                                   /* r6 = &pids[id] */
		sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_get_current_task));            /* r0 = this task */
		sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, 6, 0, SQL_PIDS_TASK));             /* value.task = r0 */
		sbpf_builder__emit(b, SBPF_ST_MEM(SBPF_B, 6, SQL_PIDS_STATE, PIDS_DYING));     /* value.state = dying */
	} else {
		if (only_dying) {
			sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_B, 3, 0, SQL_PIDS_STATE));     /* r3 = value.state */
			sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JNE, 3, PIDS_DYING, 0), l_out); /* reborn: keep */
		}
		sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)map_fd); /* r1 = pids */
		sbpf_builder__emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));
		sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, -4));                        /* r2 = &id */
		sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_delete_elem));             /* delete pids[id] */
	}
	sbpf_builder__bind(b, l_out);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));                                   /* r0 = 0 */
	sbpf_builder__emit(b, SBPF_EXIT_INSN());                                       /* exit */
	int rc = sbpf_builder__finish(b, out, n, NULL);
	sbpf_builder__free(b);
	return rc;
}

/* Attaches to @tp the program @h of the pid set of @k: the mark program
 * when @field is "group_dead", else the free program reading the freed
 * task's id from @field. */
static int attach_forget(struct sql_kpids *k, struct sql_khelper *h, const char *tp, const char *field,
			 bool only_dying, char *err, size_t errsz)
{
	struct sql_tp_format fmt;
	char why[256];
	int rc = sql_tracefs_load(tp, &fmt, why, sizeof(why));
	if (rc) {
		snprintf(err, errsz, "cannot forget exited processes: %s", why);
		return rc;
	}
	const struct sql_tp_field *f = sql_tp_field(&fmt, field);
	bool mark = !strcmp(field, "group_dead");
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	rc = !f || f->size != (mark ? 1 : 4) || f->offset < 8
		     ? -ENOENT
		     : forget_program(k->h.map_fd, mark ? f : NULL, mark ? NULL : f, only_dying, &insns, &n);
	sql_tp_format_free(&fmt);
	if (rc) {
		snprintf(err, errsz, "cannot forget exited processes: %s has no usable %s", tp, field);
		return rc;
	}
	rc = sql_khelper_attach(h, insns, n, mark ? "sbpf_dying" : "sbpf_freed", tp,
				mark ? "the exit mark program" : "the free program", err, errsz);
	free(insns);
	return rc;
}

/* The mark program where sched_process_exit has group_dead, and the free
 * program. */
static int forget_exited(struct sql_kpids *k, char *err, size_t errsz)
{
	struct sql_tp_format fmt;
	char why[256];
	bool has_group_dead = false;
	if (!sql_tracefs_load(EXIT_TP, &fmt, why, sizeof(why))) {
		const struct sql_tp_field *f = sql_tp_field(&fmt, "group_dead");
		has_group_dead = f && f->size == 1 && f->offset >= 8;
		sql_tp_format_free(&fmt);
	}
	int rc = has_group_dead ? attach_forget(k, &k->mark, EXIT_TP, "group_dead", false, err, errsz) : 0;
	return rc ? rc : attach_forget(k, &k->forget, FREE_TP, "pid", has_group_dead, err, errsz);
}

struct sql_kpids *sql_kpids_new(int pid, bool follow, char *err, size_t errsz)
{
	struct sql_kpids *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	k->h.map_fd = k->h.prog_fd = k->forget.map_fd = k->forget.prog_fd = k->mark.map_fd = k->mark.prog_fd = -1;
	struct sbpf_kmap_opts mo = { .sz = sizeof(mo), .type = SBPF_KMAP_HASH, .name = "sbpf_pids",
				     .key_size = 4, .value_size = sizeof(struct pids_value), .max_entries = MAX_PIDS };
	int rc = k->h.map_fd = sbpf_kmap_create(&mo);
	uint32_t key = (uint32_t)pid;
	struct pids_value traced = { .state = PIDS_TRACED };
	if (rc >= 0)
		rc = sbpf_kmap_update(k->h.map_fd, &key, &traced, 0);
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
	sql_khelper_close(&k->mark);
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
