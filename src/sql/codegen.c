/* codegen.c - generation of the minimum verifier-safe function (MVSF) of a
 * probe with the builder API: a BPF_PROG_TYPE_TRACEPOINT program that
 * reads the captures of a record layout (record.c) and hands the record to
 * user space through a ring buffer. No compiler runs: the program is built
 * instruction by instruction, with map fds patched into lddw.
 *
 * Program shape (r6 = tracepoint record, r7 = per-CPU scratch record):
 *
 *     [skip the tracer's own process]
 *     epoch; counters.fired += 1      (sql_codegen_prologue: accounting)
 *     r7 = scratch[0]                 stage the record in per-CPU scratch
 *     header; context values; fields; strings
 *     -- pushed-down predicates go here: they see the staged record and
 *        jump to `out` before any ring-buffer space is taken --
 *     r0 = bpf_ringbuf_reserve(rb, size)
 *     if r0 == 0: counters.lost += 1; goto out
 *     copy scratch -> r0; bpf_ringbuf_submit(r0)
 *   out:
 *     counters.done += 1              (sql_codegen_epilogue)
 *     return 0
 *
 * Staging in scratch keeps strings (paths of up to SQL_MAX_RECORD bytes)
 * off the 512-byte stack, and it is where an optimizer's filters will run.
 * Per-CPU scratch is safe because tracepoint programs attached through perf
 * events never nest on a CPU (the kernel skips, and counts, a nested run).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "safebpf/isa.h"
#include "sql/sqlInt.h"

/* Registers with a fixed role in every MVSF. */
enum { R_CTX = 6, R_SCRATCH = 7 };

struct gen {
	struct sbpf_builder *b;          /* program being built */
	const struct sql_layout *lay;    /* record to produce */
};

static void emit(struct gen *g, struct sbpf_insn insn)
{
	sbpf_builder__emit(g->b, insn);
}

static void call(struct gen *g, enum bpf_func_id helper)
{
	emit(g, SBPF_CALL_HELPER((int32_t)helper));
}

/* lddw rD, map_fd (pseudo map fd: the kernel swaps in the map pointer). */
static void load_map(struct gen *g, int reg, int fd)
{
	sbpf_builder__emit_lddw(g->b, reg, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)fd);
}

static int size_code(unsigned size)
{
	return size == 8 ? SBPF_DW : size == 4 ? SBPF_W : size == 2 ? SBPF_H : SBPF_B;
}

/* r0 = &map[0] for a one-entry array map, or jump to @out when missing. */
static void lookup_first(struct gen *g, int fd, int out)
{
	emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, SQL_STK_MKEY, 0)); /* *(u32 *)(r10 - 4) = 0 */
	load_map(g, 1, fd);                                          /* r1 = map */
	emit(g, SBPF_MOV64_REG(2, SBPF_REG_FP));                     /* r2 = r10 */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 2, SQL_STK_MKEY));          /* r2 += -4 */
	call(g, BPF_FUNC_map_lookup_elem);                           /* r0 = lookup(map, r2) */
	sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), out); /* if r0 == 0 goto out */
}

/* Copies tracepoint field bytes [foff, foff + size) to the record at
 * @roff with the widest loads the context allows (aligned, 1..8 bytes). */
static void copy_field(struct gen *g, unsigned foff, unsigned size, unsigned roff)
{
	for (unsigned i = 0; i < size;) {
		unsigned s = 8;
		while (s > 1 && ((foff + i) % s || size - i < s))
			s /= 2;
		emit(g, SBPF_LDX_MEM(size_code(s), 1, R_CTX, (int16_t)(foff + i)));       /* r1 = *(ctx + off) */
		emit(g, SBPF_STX_MEM(size_code(s), R_SCRATCH, 1, (int16_t)(roff + i)));   /* *(rec + off) = r1 */
		i += s;
	}
}

/* r1 = &record[off], r2 = size: the destination of a string helper. */
static void string_dest(struct gen *g, const struct sql_cap *c)
{
	emit(g, SBPF_MOV64_REG(1, R_SCRATCH));                       /* r1 = r7 */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, c->off));                /* r1 += off */
	emit(g, SBPF_MOV64_IMM(2, c->size));                         /* r2 = size */
}

/* Emits the reading of a USDT argument of @size bytes into the record at
 * @roff: register @reg (a struct pt_regs offset), user memory at that
 * register + @imm (zero when unreadable), or the constant @imm. */
static void usdt_arg(struct gen *g, enum sql_usdt_loc loc, uint16_t reg, int64_t imm, unsigned size, unsigned roff)
{
	if (loc == SQL_USDT_REG) {
		copy_field(g, reg, size, roff);
	} else if (loc == SQL_USDT_MEM) {
		emit(g, SBPF_LDX_MEM(SBPF_DW, 3, R_CTX, reg));          /* r3 = the base register */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 3, (int32_t)imm));      /* r3 += displacement */
		emit(g, SBPF_MOV64_REG(1, R_SCRATCH));                   /* r1 = r7 */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, (int32_t)roff));     /* r1 += off */
		emit(g, SBPF_MOV64_IMM(2, (int32_t)size));               /* r2 = size */
		call(g, BPF_FUNC_probe_read_user);
	} else {
		sbpf_builder__emit_lddw(g->b, 1, 0, (uint64_t)imm);      /* r1 = imm */
		emit(g, SBPF_STX_MEM(size_code(size), R_SCRATCH, 1, (int16_t)roff)); /* *(rec + off) = r1 */
	}
}

/* Emits the reading of a user argv array (SQL_CAP_UARGV): count = 0, then
 * for each of the first SQL_ARGV_MAX entries, read the pointer, stop at NULL
 * or a fault, read the string into its slot and count it. Unrolled: the
 * verifier sees straight-line code with forward jumps only. */
static void capture_argv(struct gen *g, const struct sql_cap *c)
{
	int l_done = sbpf_builder__new_label(g->b);
	emit(g, SBPF_LDX_MEM(SBPF_DW, 3, R_CTX, c->field->offset));          /* r3 = argv (user pointer) */
	emit(g, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 3, SQL_STK_ARGV));        /* spill it */
	emit(g, SBPF_ST_MEM(SBPF_DW, R_SCRATCH, c->off, 0));                  /* count = 0 */
	for (int i = 0; i < SQL_ARGV_MAX; i++) {
		emit(g, SBPF_MOV64_REG(1, SBPF_REG_FP));                      /* r1 = r10 */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, SQL_STK_ARGP));           /* r1 += ARGP */
		emit(g, SBPF_MOV64_IMM(2, 8));                                /* r2 = 8 */
		emit(g, SBPF_LDX_MEM(SBPF_DW, 3, SBPF_REG_FP, SQL_STK_ARGV)); /* r3 = argv */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 3, 8 * i));                  /* r3 += 8 * i */
		call(g, BPF_FUNC_probe_read_user);                            /* entry i */
		sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JNE, 0, 0, 0), l_done); /* fault: stop */
		emit(g, SBPF_LDX_MEM(SBPF_DW, 3, SBPF_REG_FP, SQL_STK_ARGP)); /* r3 = argv[i] */
		sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JEQ, 3, 0, 0), l_done); /* NULL: the end */
		emit(g, SBPF_MOV64_REG(1, R_SCRATCH));                        /* r1 = r7 */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, c->off + 8 + i * SQL_ARGV_ARG)); /* r1 += slot i */
		emit(g, SBPF_MOV64_IMM(2, SQL_ARGV_ARG));                     /* r2 = slot size */
		call(g, BPF_FUNC_probe_read_user_str);
		emit(g, SBPF_ST_MEM(SBPF_DW, R_SCRATCH, c->off, i + 1));     /* count = i + 1 */
	}
	sbpf_builder__bind(g->b, l_done);
}

/* Emits the reading of the current CPU's run-queue length (SQL_CAP_RUNQ):
 * the current task's se.cfs_rq, its rq, rq->nr_running, each read with
 * bpf_probe_read_kernel into the record's slot (a fault or a NULL pointer
 * leaves 0), then less one for the running task (0 stays 0). The offsets
 * come from the kernel's BTF (sql_runq_path); the recplan has checked
 * that they exist, so a failure here leaves the value 0. */
static void capture_runq(struct gen *g, const struct sql_cap *c)
{
	struct sql_runq_path rq;
	char err[160];
	int l_done = sbpf_builder__new_label(g->b);
	emit(g, SBPF_ST_MEM(SBPF_DW, R_SCRATCH, c->off, 0));                 /* value = 0 */
	if (sql_runq_path(&rq, err, sizeof(err))) {
		sbpf_builder__bind(g->b, l_done);
		return;
	}
	call(g, BPF_FUNC_get_current_task);                                  /* r0 = current task */
	emit(g, SBPF_MOV64_REG(3, 0));                                       /* r3 = r0 */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 3, (int32_t)rq.cfs_rq));            /* r3 = &task->se.cfs_rq */
	emit(g, SBPF_MOV64_REG(1, R_SCRATCH));
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, c->off));                        /* r1 = &value */
	emit(g, SBPF_MOV64_IMM(2, 8));
	call(g, BPF_FUNC_probe_read_kernel);                                 /* value = cfs_rq */
	emit(g, SBPF_LDX_MEM(SBPF_DW, 3, R_SCRATCH, c->off));                /* r3 = cfs_rq */
	sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JEQ, 3, 0, 0), l_done);
	if (rq.embedded) {
		emit(g, SBPF_ALU64_IMM(SBPF_SUB, 3, (int32_t)rq.rq));        /* r3 = container rq */
	} else {
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 3, (int32_t)rq.rq));        /* r3 = &cfs_rq->rq */
		emit(g, SBPF_ST_MEM(SBPF_DW, R_SCRATCH, c->off, 0));
		emit(g, SBPF_MOV64_REG(1, R_SCRATCH));
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, c->off));
		emit(g, SBPF_MOV64_IMM(2, 8));
		call(g, BPF_FUNC_probe_read_kernel);                         /* value = rq */
		emit(g, SBPF_LDX_MEM(SBPF_DW, 3, R_SCRATCH, c->off));        /* r3 = rq */
		sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JEQ, 3, 0, 0), l_done);
	}
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 3, (int32_t)rq.nr_running));        /* r3 = &rq->nr_running */
	emit(g, SBPF_ST_MEM(SBPF_DW, R_SCRATCH, c->off, 0));                 /* value = 0 */
	emit(g, SBPF_MOV64_REG(1, R_SCRATCH));
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, c->off));
	emit(g, SBPF_MOV64_IMM(2, (int32_t)rq.nr_size));
	call(g, BPF_FUNC_probe_read_kernel);                                 /* low bytes = nr_running */
	emit(g, SBPF_LDX_MEM(SBPF_DW, 1, R_SCRATCH, c->off));                /* r1 = nr_running */
	sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 0), l_done);   /* idle: 0 */
	emit(g, SBPF_ALU64_IMM(SBPF_SUB, 1, 1));                             /* less the running task */
	emit(g, SBPF_STX_MEM(SBPF_DW, R_SCRATCH, 1, c->off));
	sbpf_builder__bind(g->b, l_done);
}

/* Emits the instructions that fill capture @c of the staged record. */
static void capture(struct gen *g, const struct sql_cap *c)
{
	const struct sql_tp_field *f = c->field;
	switch (c->kind) {
	case SQL_CAP_TS:
		call(g, BPF_FUNC_ktime_get_ns);
		emit(g, SBPF_STX_MEM(SBPF_DW, R_SCRATCH, 0, c->off));   /* *(u64 *)(r7 + off) = r0 */
		break;
	case SQL_CAP_CPU:
		call(g, BPF_FUNC_get_smp_processor_id);
		emit(g, SBPF_STX_MEM(SBPF_W, R_SCRATCH, 0, c->off));    /* *(u32 *)(r7 + off) = r0 */
		break;
	case SQL_CAP_PID_TGID:
	case SQL_CAP_UID_GID:
	case SQL_CAP_CGROUP:
		if (g->lay->origin) {
			/* The event's task, recorded at its origin (korigin.c). */
			int at = c->kind == SQL_CAP_PID_TGID ? 0 : c->kind == SQL_CAP_UID_GID ? 8 : 16;
			emit(g, SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, (int16_t)(SQL_IDENT_STK + at)));
		} else {
			call(g, c->kind == SQL_CAP_PID_TGID ? BPF_FUNC_get_current_pid_tgid
				: c->kind == SQL_CAP_UID_GID ? BPF_FUNC_get_current_uid_gid
				: BPF_FUNC_get_current_cgroup_id);
		}
		emit(g, SBPF_STX_MEM(SBPF_DW, R_SCRATCH, 0, c->off));   /* *(u64 *)(r7 + off) = r0 */
		break;
	case SQL_CAP_COMM:
		if (g->lay->origin) {
			for (int i = 0; i < 16 && i < c->size; i += 8) {
				emit(g, SBPF_LDX_MEM(SBPF_DW, 1, SBPF_REG_FP, (int16_t)(SQL_IDENT_STK + 24 + i)));
				emit(g, SBPF_STX_MEM(SBPF_DW, R_SCRATCH, 1, (int16_t)(c->off + i)));
			}
			break;
		}
		string_dest(g, c);
		call(g, BPF_FUNC_get_current_comm);
		break;
	case SQL_CAP_FIELD:
		if (f->kind == SQL_FIELD_UMEM || f->kind == SQL_FIELD_CONST) {
			usdt_arg(g, f->kind == SQL_FIELD_UMEM ? SQL_USDT_MEM : SQL_USDT_CONST, f->offset, f->imm, f->size,
				 c->off);
		} else if (f->kind == SQL_FIELD_USDT_SITES) {
			/* the places of the site that fired: its attach cookie */
			int l_end = sbpf_builder__new_label(g->b);
			emit(g, SBPF_MOV64_REG(1, R_CTX));                       /* r1 = ctx */
			call(g, BPF_FUNC_get_attach_cookie);                     /* r0 = the site's variant */
			for (uint8_t v = 0; v < f->nsites; v++) {
				const struct sql_usdt_arg *a = &f->sites[v];
				int l_next = sbpf_builder__new_label(g->b);
				sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JNE, 0, v, 0), l_next); /* if r0 != v goto next */
				usdt_arg(g, a->loc, a->reg, a->imm, a->size, c->off);
				sbpf_builder__jump(g->b, SBPF_JA(0), l_end);             /* goto end */
				sbpf_builder__bind(g->b, l_next);
			}
			sbpf_builder__bind(g->b, l_end);
		} else {
			copy_field(g, f->offset, f->size, c->off);
		}
		break;
	case SQL_CAP_LOC_STR:
		/* u32 at the field: length << 16 | offset (from the record start for
		 * __data_loc, from the end of the field for __rel_loc). */
		emit(g, SBPF_LDX_MEM(SBPF_W, 4, R_CTX, f->offset));     /* r4 = *(u32 *)(ctx + off) */
		emit(g, SBPF_ALU64_IMM(SBPF_AND, 4, 0xffff));            /* r4 &= 0xffff */
		if (f->kind == SQL_FIELD_REL_LOC)
			emit(g, SBPF_ALU64_IMM(SBPF_ADD, 4, f->offset + f->size)); /* r4 += end of field */
		emit(g, SBPF_MOV64_REG(3, R_CTX));                       /* r3 = ctx */
		emit(g, SBPF_ALU64_REG(SBPF_ADD, 3, 4));                 /* r3 += r4 */
		string_dest(g, c);
		call(g, BPF_FUNC_probe_read_kernel_str);
		break;
	case SQL_CAP_KPTR_STR:
	case SQL_CAP_UPTR_STR:
		emit(g, SBPF_LDX_MEM(size_code(f->size), 3, R_CTX, f->offset)); /* r3 = pointer */
		string_dest(g, c);
		call(g, c->kind == SQL_CAP_UPTR_STR ? BPF_FUNC_probe_read_user_str : BPF_FUNC_probe_read_kernel_str);
		break;
	case SQL_CAP_TASK:
		call(g, BPF_FUNC_get_current_task);                      /* r0 = current task */
		emit(g, SBPF_MOV64_REG(3, 0));                           /* r3 = r0 */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 3, (int32_t)c->toff));  /* r3 += member offset */
		string_dest(g, c);                                       /* r1 = &record[off], r2 = size */
		call(g, BPF_FUNC_probe_read_kernel);
		break;
	case SQL_CAP_UARGV:
		capture_argv(g, c);
		break;
	case SQL_CAP_RUNQ:
		capture_runq(g, c);
		break;
	case SQL_CAP_KSTACK:
	case SQL_CAP_USTACK:
		/* bpf_get_stack zero-fills what the stack does not use (all of it
		 * on an error), so the record needs no length. */
		emit(g, SBPF_MOV64_REG(1, R_CTX));                       /* r1 = ctx */
		emit(g, SBPF_MOV64_REG(2, R_SCRATCH));                   /* r2 = r7 */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 2, c->off));            /* r2 += off */
		emit(g, SBPF_MOV64_IMM(3, c->size));                     /* r3 = size */
		emit(g, SBPF_MOV64_IMM(4, c->kind == SQL_CAP_USTACK ? BPF_F_USER_STACK : 0)); /* r4 = flags */
		call(g, BPF_FUNC_get_stack);
		break;
	case SQL_CAP_LOC_BYTES: {
		/* Bytes of an array: its length (clamped to the capture) first. */
		int l_fits = sbpf_builder__new_label(g->b);
		emit(g, SBPF_LDX_MEM(SBPF_W, 4, R_CTX, f->offset));     /* r4 = *(u32 *)(ctx + off) */
		emit(g, SBPF_MOV64_REG(5, 4));                           /* r5 = r4 */
		emit(g, SBPF_ALU64_IMM(SBPF_RSH, 5, 16));                /* r5 >>= 16 (length) */
		emit(g, SBPF_ALU64_IMM(SBPF_AND, 4, 0xffff));            /* r4 &= 0xffff (offset) */
		if (f->kind == SQL_FIELD_REL_LOC)
			emit(g, SBPF_ALU64_IMM(SBPF_ADD, 4, f->offset + f->size)); /* r4 += end of field */
		sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JLE, 5, c->size - 8, 0), l_fits); /* if r5 <= max goto fits */
		emit(g, SBPF_MOV64_IMM(5, c->size - 8));                 /* r5 = max */
		sbpf_builder__bind(g->b, l_fits);
		emit(g, SBPF_STX_MEM(SBPF_W, R_SCRATCH, 5, c->off));     /* *(u32 *)(rec + off) = r5 */
		emit(g, SBPF_MOV64_REG(3, R_CTX));                       /* r3 = ctx */
		emit(g, SBPF_ALU64_REG(SBPF_ADD, 3, 4));                 /* r3 += r4 */
		emit(g, SBPF_MOV64_REG(1, R_SCRATCH));                   /* r1 = r7 */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, c->off + 8));        /* r1 += off + 8 */
		emit(g, SBPF_MOV64_REG(2, 5));                           /* r2 = length */
		call(g, BPF_FUNC_probe_read_kernel);
		break;
	}
	}
}

void sql_codegen_stage(struct sbpf_builder *b, const struct sql_layout *lay)
{
	struct gen g = { .b = b, .lay = lay };
	emit(&g, SBPF_ST_MEM(SBPF_W, R_SCRATCH, 0, (int32_t)lay->tp_id)); /* header: tracepoint id */
	emit(&g, SBPF_ST_MEM(SBPF_W, R_SCRATCH, 4, (int32_t)lay->size));  /* header: record size */
	for (size_t i = 0; i < lay->ncaps; i++)
		capture(&g, &lay->caps[i]);
}

void sql_codegen_prologue(struct sbpf_builder *b, int epoch_fd, int counters_fd, int probe, int l_exit)
{
	struct gen g = { .b = b };
	lookup_first(&g, epoch_fd, l_exit);                          /* r0 = &epoch */
	emit(&g, SBPF_LDX_MEM(SBPF_W, 1, 0, 0));                     /* r1 = epoch */
	emit(&g, SBPF_ALU64_IMM(SBPF_AND, 1, 1));                    /* r1 &= 1 */
	emit(&g, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 1, SQL_STK_EPOCH)); /* *(u32 *)(r10 + STK_EPOCH) = r1 */
	emit(&g, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 1, SQL_STK_MKEY)); /* key = r1 */
	load_map(&g, 1, counters_fd);                                /* r1 = counters */
	emit(&g, SBPF_MOV64_REG(2, SBPF_REG_FP));                    /* r2 = r10 */
	emit(&g, SBPF_ALU64_IMM(SBPF_ADD, 2, SQL_STK_MKEY));         /* r2 += -4 */
	call(&g, BPF_FUNC_map_lookup_elem);                          /* r0 = &counters[epoch] */
	sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_exit); /* if r0 == 0 goto exit */
	emit(&g, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, SQL_STK_CNT)); /* spill the counters pointer */
	sql_codegen_count(b, (enum sql_kcnt)(SQL_KCNT_FIRED + probe));
}

void sql_codegen_epilogue(struct sbpf_builder *b, int l_out, int l_exit)
{
	sbpf_builder__bind(b, l_out);
	sql_codegen_count(b, SQL_KCNT_DONE);
	sbpf_builder__bind(b, l_exit);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));                         /* r0 = 0 */
	sbpf_builder__emit(b, SBPF_EXIT_INSN());                             /* exit */
}

size_t sql_stack_slots(const struct sql_stk_slot **slots)
{
#define SLOT(m, sz) { #m, m, sz }
	static const struct sql_stk_slot all[] = {
		SLOT(SQL_STK_MKEY, 4),
		SLOT(SQL_STK_KEY, 4),
		SLOT(SQL_STK_TGID, 4),
		SLOT(SQL_STK_PKEY, 16),
		SLOT(SQL_STK_GKEY, SQL_KAGG_MAX_KEY),
		SLOT(SQL_IDENT_STK, SQL_IDENT_SIZE),
		SLOT(SQL_ORIGIN_STK, 16),
		SLOT(SQL_STK_CNT, 8),
		SLOT(SQL_STK_EPOCH, 4),
		SLOT(SQL_STK_ARGV, 8),
		SLOT(SQL_STK_ARGP, 8),
	};
#undef SLOT
	*slots = all;
	return sizeof(all) / sizeof(all[0]);
}

void sql_codegen_count(struct sbpf_builder *b, enum sql_kcnt idx)
{
	int16_t off = (int16_t)(8 * (int)idx);
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 1, SBPF_REG_FP, SQL_STK_CNT)); /* r1 = counters */
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 2, 1, off));              /* r2 = counters[idx] */
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, 1));               /* r2 += 1 */
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, 1, 2, off));              /* counters[idx] = r2 */
}

void sql_codegen_tag(struct sbpf_builder *b, int reg, int16_t off, uint32_t size)
{
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_W, 1, SBPF_REG_FP, SQL_STK_EPOCH)); /* r1 = epoch */
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_LSH, 1, 31));              /* r1 <<= 31 */
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_OR, 1, (int32_t)size));    /* r1 |= size */
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_W, reg, 1, (int16_t)(off + 4))); /* header size word = r1 */
}

int sql_codegen_mvsf(const struct sql_layout *lay, const struct sql_mvsf_maps *maps,
		     const struct sql_mvsf_opts *opts, struct sbpf_insn **out, size_t *n)
{
	if (lay->size < SQL_REC_HDR || lay->size > SQL_MAX_RECORD || lay->size % 8)
		return -EINVAL;
	struct gen g = { .b = sbpf_builder__new(), .lay = lay };
	if (!g.b)
		return -ENOMEM;
	int l_out = sbpf_builder__new_label(g.b), l_exit = sbpf_builder__new_label(g.b);
	int l_have = sbpf_builder__new_label(g.b);

	emit(&g, SBPF_MOV64_REG(R_CTX, 1));                          /* r6 = ctx */
	if (lay->origin) {
		int rc = sql_codegen_identity(g.b, lay->origin, lay->fmt, maps->origin_fd);
		if (rc) {
			sbpf_builder__free(g.b);
			return rc;
		}
	}
	uint32_t skip = opts && opts->sz >= offsetof(struct sql_mvsf_opts, probe) ? opts->skip_tgid : 0;
	int probe = opts && opts->sz >= sizeof(*opts) ? opts->probe : 0;
	if (skip) {
		if (lay->origin)
			emit(&g, SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, SQL_IDENT_STK)); /* r0 = event's pid_tgid */
		else
			call(&g, BPF_FUNC_get_current_pid_tgid);
		emit(&g, SBPF_ALU64_IMM(SBPF_RSH, 0, 32));               /* r0 >>= 32 (tgid) */
		sbpf_builder__jump(g.b, SBPF_JMP_IMM(SBPF_JEQ, 0, (int32_t)skip, 0), l_exit);
	}
	sql_codegen_prologue(g.b, maps->epoch_fd, maps->lost_fd, probe, l_exit);
	lookup_first(&g, maps->scratch_fd, l_out);
	emit(&g, SBPF_MOV64_REG(R_SCRATCH, 0));                      /* r7 = scratch record */
	sql_codegen_stage(g.b, lay);
	sql_codegen_tag(g.b, R_SCRATCH, 0, lay->size);

	load_map(&g, 1, maps->ringbuf_fd);                           /* r1 = ring buffer */
	emit(&g, SBPF_MOV64_IMM(2, (int32_t)lay->size));             /* r2 = size */
	emit(&g, SBPF_MOV64_IMM(3, 0));                              /* r3 = 0 */
	call(&g, BPF_FUNC_ringbuf_reserve);
	sbpf_builder__jump(g.b, SBPF_JMP_IMM(SBPF_JNE, 0, 0, 0), l_have); /* if r0 != 0 goto have */
	sql_codegen_count(g.b, (enum sql_kcnt)(SQL_KCNT_LOST + probe)); /* ring buffer full */
	sbpf_builder__jump(g.b, SBPF_JA(0), l_out);
	sbpf_builder__bind(g.b, l_have);
	for (uint32_t off = 0; off < lay->size; off += 8) {
		emit(&g, SBPF_LDX_MEM(SBPF_DW, 1, R_SCRATCH, (int16_t)off)); /* r1 = *(u64 *)(r7 + off) */
		emit(&g, SBPF_STX_MEM(SBPF_DW, 0, 1, (int16_t)off));         /* *(u64 *)(r0 + off) = r1 */
	}
	emit(&g, SBPF_MOV64_REG(1, 0));                              /* r1 = record */
	emit(&g, SBPF_MOV64_IMM(2, 0));                              /* r2 = 0 (flags) */
	call(&g, BPF_FUNC_ringbuf_submit);
	sql_codegen_epilogue(g.b, l_out, l_exit);                    /* out: done += 1; exit */

	int rc = sbpf_builder__finish(g.b, out, n, NULL);
	sbpf_builder__free(g.b);
	return rc;
}
