/* korigin.c - identities recorded where an event is born: for a probe that
 * may run in a task other than the one the event belongs to (block
 * requests are often handed to the driver by a kernel worker, or from an
 * interrupt that restarts the queue), a program on an earlier tracepoint
 * that always runs in the owning task (block_getrq: a request is allocated
 * for a bio in the task submitting it) stores that task's pid_tgid,
 * uid_gid, cgroup and comm in an LRU hash under the event's key fields
 * (dev, sector). The probe takes the entry with the same key and uses it
 * for its context columns, its process filter and its self-skip; without
 * an entry (an event born before the query started) it falls back to the
 * current task. Entries are not deleted when taken (a requeued request is
 * issued again); a new event at the same key overwrites its entry.
 * An event whose only_if field is 0 has no origin: a cache flush (no
 * sectors) is shared by every fsync waiting when the kernel sends it, all
 * keyed at sector 0, so any owner taken from the map would depend on which
 * CPU wrote last; it belongs to the task that sends it, as its row says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "safebpf/kernel.h"
#include "sql/sqlInt.h"

#define MAX_ORIGINS 16384 /* events between birth and probe at once */

struct sql_korigin {
	struct sql_khelper h;     /* LRU hash: key (two u64) -> identity (SQL_IDENT_SIZE bytes),
				     and the origin program */
};

static void emit(struct sbpf_builder *b, struct sbpf_insn insn)
{
	sbpf_builder__emit(b, insn);
}

/* r1 = integer field @name of @fmt (r6 = tracepoint record), zero-extended. */
static int load_field(struct sbpf_builder *b, const struct sql_tp_format *fmt, const char *name)
{
	const struct sql_tp_field *f = sql_tp_field(fmt, name);
	if (!f || f->kind != SQL_FIELD_INT || f->nelem != 1 ||
	    (f->size != 1 && f->size != 2 && f->size != 4 && f->size != 8))
		return -ENOENT;
	int sz = f->size == 8 ? SBPF_DW : f->size == 4 ? SBPF_W : f->size == 2 ? SBPF_H : SBPF_B;
	emit(b, SBPF_LDX_MEM(sz, 1, 6, (int16_t)f->offset));                              /* r1 = field */
	return 0;
}

/* Stores the key fields of @fmt (r6 = tracepoint record) as u64 at
 * SQL_ORIGIN_STK. */
static int store_key(struct sbpf_builder *b, const struct sql_origin *o, const struct sql_tp_format *fmt)
{
	for (int i = 0; i < 2; i++) {
		int16_t at = (int16_t)(SQL_ORIGIN_STK + 8 * i);
		if (!o->key[i]) {
			emit(b, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, at, 0));                 /* key[i] = 0 */
			continue;
		}
		int rc = load_field(b, fmt, o->key[i]);
		if (rc)
			return rc;
		emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, at));                        /* key[i] = r1 */
	}
	return 0;
}

/* Jumps to @label when the event has no origin (its o->only_if field is 0). */
static int jump_unless_origin(struct sbpf_builder *b, const struct sql_origin *o, const struct sql_tp_format *fmt,
			      int label)
{
	if (!o->only_if)
		return 0;
	int rc = load_field(b, fmt, o->only_if);
	if (!rc)
		sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 0), label);           /* if r1 == 0 goto label */
	return rc;
}

/* r1 = map, r2 = &key. */
static void map_key(struct sbpf_builder *b, int fd)
{
	sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)fd);
	emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));
	emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, SQL_ORIGIN_STK));
}

/* The current task's identity at SQL_IDENT_STK. */
static void current_identity(struct sbpf_builder *b)
{
	emit(b, SBPF_CALL_HELPER(BPF_FUNC_get_current_pid_tgid));
	emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, SQL_IDENT_STK));                /* pid_tgid */
	emit(b, SBPF_CALL_HELPER(BPF_FUNC_get_current_uid_gid));
	emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, SQL_IDENT_STK + 8));            /* uid_gid */
	emit(b, SBPF_CALL_HELPER(BPF_FUNC_get_current_cgroup_id));
	emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, SQL_IDENT_STK + 16));           /* cgroup */
	emit(b, SBPF_MOV64_REG(1, SBPF_REG_FP));
	emit(b, SBPF_ALU64_IMM(SBPF_ADD, 1, SQL_IDENT_STK + 24));                     /* r1 = &comm */
	emit(b, SBPF_MOV64_IMM(2, 16));                                               /* r2 = 16 */
	emit(b, SBPF_CALL_HELPER(BPF_FUNC_get_current_comm));
}

/* The origin program: identity[key] = current task. */
static int origin_program(int map_fd, const struct sql_origin *o, const struct sql_tp_format *fmt,
			  struct sbpf_insn **out, size_t *n)
{
	struct sbpf_builder *b = sbpf_builder__new();
	if (!b)
		return -ENOMEM;
	int l_exit = sbpf_builder__new_label(b);
	emit(b, SBPF_MOV64_REG(6, 1));                                                /* r6 = ctx */
	int rc = jump_unless_origin(b, o, fmt, l_exit);
	if (!rc)
		rc = store_key(b, o, fmt);
	if (!rc) {
		current_identity(b);
		map_key(b, map_fd);
		emit(b, SBPF_MOV64_REG(3, SBPF_REG_FP));
		emit(b, SBPF_ALU64_IMM(SBPF_ADD, 3, SQL_IDENT_STK));                  /* r3 = &identity */
		emit(b, SBPF_MOV64_IMM(4, BPF_ANY));
		emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_update_elem));                  /* map[key] = identity */
		sbpf_builder__bind(b, l_exit);
		emit(b, SBPF_MOV64_IMM(0, 0));
		emit(b, SBPF_EXIT_INSN());
		rc = sbpf_builder__finish(b, out, n, NULL);
	}
	sbpf_builder__free(b);
	return rc;
}

int sql_codegen_identity(struct sbpf_builder *b, const struct sql_origin *o, const struct sql_tp_format *fmt,
			 int origin_fd)
{
	int l_none = sbpf_builder__new_label(b), l_done = sbpf_builder__new_label(b);
	int rc = jump_unless_origin(b, o, fmt, l_none);
	if (!rc)
		rc = store_key(b, o, fmt);
	if (rc)
		return rc;
	map_key(b, origin_fd);
	emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));                          /* r0 = map[key] */
	sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_none);
	for (int off = 0; off < SQL_IDENT_SIZE; off += 8) {
		emit(b, SBPF_LDX_MEM(SBPF_DW, 1, 0, (int16_t)off));                       /* r1 = identity[off] */
		emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, (int16_t)(SQL_IDENT_STK + off)));
	}
	/* The entry stays: a request the driver gives back (block_rq_requeue)
	 * is issued again, often by a kernel worker, and is still the
	 * submitter's. The next request allocated at the same place overwrites
	 * it; the LRU bound drops entries nothing asks for any more. */
	sbpf_builder__jump(b, SBPF_JA(0), l_done);
	sbpf_builder__bind(b, l_none);
	current_identity(b);
	sbpf_builder__bind(b, l_done);
	return 0;
}

struct sql_korigin *sql_korigin_new(const struct sql_origin *o, char *err, size_t errsz)
{
	struct sql_korigin *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	k->h.map_fd = k->h.prog_fd = -1;
	struct sbpf_kmap_opts mo = { .sz = sizeof(mo), .type = SBPF_KMAP_LRU_HASH, .name = "sbpf_origin",
				     .key_size = 16, .value_size = SQL_IDENT_SIZE, .max_entries = MAX_ORIGINS };
	if ((k->h.map_fd = sbpf_kmap_create(&mo)) < 0) {
		snprintf(err, errsz, "cannot create the identity map of %s: %s", o->tp, strerror(-k->h.map_fd));
		goto fail;
	}
	struct sql_tp_format fmt;
	char why[256];
	int rc = sql_tracefs_load(o->tp, &fmt, why, sizeof(why));
	if (rc) {
		snprintf(err, errsz, "cannot record identities at %s: %s", o->tp, why);
		goto fail;
	}
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	rc = origin_program(k->h.map_fd, o, &fmt, &insns, &n);
	sql_tp_format_free(&fmt);
	if (rc) {
		snprintf(err, errsz, "cannot record identities at %s: %s", o->tp,
			 rc == -ENOENT ? "a key field is missing" : strerror(-rc));
		goto fail;
	}
	char what[160];
	snprintf(what, sizeof(what), "the program of %s", o->tp);
	rc = sql_khelper_attach(&k->h, insns, n, "sbpf_origin", o->tp, what, err, errsz);
	free(insns);
	if (rc)
		goto fail;
	return k;
fail:
	sql_korigin_free(k);
	return NULL;
}

/* Origin events the kernel skipped (its program ran while the CPU was
 * already in a BPF program): each may leave a request without its owner,
 * so its row could be filtered as another task's; counted as lost. */
uint64_t sql_korigin_misses(const struct sql_korigin *k)
{
	struct sbpf_kprog_info info;
	if (!k || k->h.prog_fd < 0 || sbpf_kernel_prog_info(k->h.prog_fd, &info))
		return 0;
	return info.recursion_misses;
}

int sql_korigin_fd(const struct sql_korigin *k)
{
	return k ? k->h.map_fd : -1;
}

void sql_korigin_free(struct sql_korigin *k)
{
	if (!k)
		return;
	sql_khelper_close(&k->h);
	free(k);
}
