/* jit_diff.h - test harness shared by the JIT unit tests: a growable
 * program under construction, and a differential runner that executes one
 * program on the interpreter and on the JIT (checked, checked without BMI2,
 * and unchecked when the interpreter says the program is safe) and asserts
 * the same return code, r0, error pc, error message and final memory.
 */
#ifndef SAFEBPF_TEST_JIT_DIFF_H
#define SAFEBPF_TEST_JIT_DIFF_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/asm.h"
#include "safebpf/isa.h"
#include "safebpf/jit.h"
#include "safebpf/vm.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A program being built. */
struct prog {
	struct sbpf_insn *v;  /* slots */
	size_t n, cap;        /* used / allocated */
};

static inline void put(struct prog *p, struct sbpf_insn in)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 256;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		cr_assert_not_null(p->v);
	}
	p->v[p->n++] = in;
}

static inline void put_lddw(struct prog *p, int dst, uint64_t v)
{
	put(p, SBPF_LD_IMM64_LO(dst, 0, v));
	put(p, SBPF_LD_IMM64_HI(v));
}

/* The result of one run. */
struct outcome {
	int rc;               /* return code */
	uint64_t r0;          /* r0 when rc == 0 */
	size_t pc;            /* error pc when rc != 0 */
	char reason[160];     /* error message when rc != 0 */
	uint8_t *mem;         /* memory after the run (malloc'ed copy) */
};

/* Program text for failure messages (static buffer). */
static inline const char *listing(const struct sbpf_insn *p, size_t n)
{
	static char buf[8192];
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return "?";
	size_t from = n > 40 ? n - 40 : 0;
	if (from)
		fprintf(f, "(last 40 of %zu slots)\n", n);
	for (size_t pc = from; pc < n;) {
		char line[160];
		int k = sbpf_disasm_insn(p, n, pc, SBPF_DISASM_ASM, line, sizeof(line));
		fprintf(f, "%4zu: %s\n", pc, line);
		pc += k > 0 ? (size_t)k : 1;
	}
	fclose(f);
	snprintf(buf, sizeof(buf), "%s", text ? text : "?");
	free(text);
	return buf;
}

static inline void outcome_free(struct outcome *o)
{
	free(o->mem);
	o->mem = NULL;
}

static inline void run_interp(const struct sbpf_insn *p, size_t n, const void *mem, size_t len,
			      struct outcome *o)
{
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_vm *vm = sbpf_vm__new(p, n, NULL, &verr);
	cr_assert_not_null(vm, "interp refused: insn %zu: %s", verr.index, verr.rule);
	struct sbpf_run_error err = { 0 };
	o->mem = malloc(len ? len : 1);
	if (len)
		memcpy(o->mem, mem, len);
	o->r0 = 0;
	o->rc = sbpf_vm__run(vm, mem ? o->mem : NULL, len, &o->r0, &err);
	o->pc = err.pc;
	memcpy(o->reason, err.reason, sizeof(o->reason));
	sbpf_vm__free(vm);
}

static inline void run_jit(const struct sbpf_insn *p, size_t n, const void *mem, size_t len,
			   int unchecked, unsigned features, struct outcome *o)
{
	struct sbpf_jit_opts jo = { .sz = sizeof(jo), .unchecked = unchecked, .features = features };
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_jit *jit = sbpf_jit__new(p, n, &jo, &verr);
	cr_assert_not_null(jit, "jit refused: insn %zu: %s", verr.index, verr.rule);
	struct sbpf_vm *vm = sbpf_vm__new(p, n, NULL, NULL);
	cr_assert_not_null(vm);
	cr_assert_eq(sbpf_jit__helpers_from_vm(jit, vm), 0);
	sbpf_vm__free(vm);
	int rc = sbpf_jit__compile(jit);
	cr_assert_eq(rc, 0, "compile failed: %d\n%s", rc, listing(p, n));
	struct sbpf_run_error err = { 0 };
	o->mem = malloc(len ? len : 1);
	if (len)
		memcpy(o->mem, mem, len);
	o->r0 = 0;
	o->rc = sbpf_jit__run(jit, mem ? o->mem : NULL, len, &o->r0, &err);
	o->pc = err.pc;
	memcpy(o->reason, err.reason, sizeof(o->reason));
	sbpf_jit__free(jit);
}

/* Asserts that @b (engine @name) matches the interpreter's @a. */
static inline void same_outcome(const struct outcome *a, const struct outcome *b, size_t len,
				const char *name, const struct sbpf_insn *p, size_t n)
{
	cr_assert_eq(b->rc, a->rc, "%s: rc %d, interp %d (%s)\n%s", name, b->rc, a->rc,
		     b->rc ? b->reason : a->reason, listing(p, n));
	if (a->rc == 0) {
		cr_assert_eq(b->r0, a->r0, "%s: r0 0x%llx, interp 0x%llx\n%s", name,
			     (unsigned long long)b->r0, (unsigned long long)a->r0, listing(p, n));
	} else {
		cr_assert_eq(b->pc, a->pc, "%s: error pc %zu, interp %zu\n%s", name, b->pc, a->pc,
			     listing(p, n));
		if (a->rc != -E2BIG)
			cr_assert_str_eq(b->reason, a->reason, "%s: message differs\n%s", name,
					 listing(p, n));
	}
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(b->mem[i], a->mem[i],
			     "%s: memory byte %zu is 0x%02x, interp 0x%02x\n%s", name, i, b->mem[i],
			     a->mem[i], listing(p, n));
}

/* Engines agree_on() runs besides the interpreter. */
enum {
	DIFF_CHECKED = 1,     /* jit, bounds-checked */
	DIFF_NO_BMI2 = 2,     /* jit, bounds-checked, shifts through cl */
	DIFF_UNCHECKED = 4,   /* jit-unchecked, only when the interpreter succeeds */
	DIFF_ALL = 7,
};

/* Runs @p on the interpreter and the JIT modes in @modes and asserts they
 * agree. Returns the interpreter's return code (r0 in *@r0). Unchecked code
 * does not zero the stack or registers first, so only programs that never
 * read either before writing it may ask for DIFF_UNCHECKED. */
static inline int agree_on(const struct sbpf_insn *p, size_t n, const void *mem, size_t len,
			   uint64_t *r0, int modes)
{
	struct outcome a, b;
	run_interp(p, n, mem, len, &a);
	if (modes & DIFF_CHECKED) {
		run_jit(p, n, mem, len, 0, 0, &b);
		same_outcome(&a, &b, len, "jit", p, n);
		outcome_free(&b);
	}
	if (modes & DIFF_NO_BMI2) {
		run_jit(p, n, mem, len, 0, SBPF_JIT_NO_BMI2, &b);
		same_outcome(&a, &b, len, "jit (no bmi2)", p, n);
		outcome_free(&b);
	}
	if ((modes & DIFF_UNCHECKED) && a.rc == 0) {
		run_jit(p, n, mem, len, 1, 0, &b);
		same_outcome(&a, &b, len, "jit-unchecked", p, n);
		outcome_free(&b);
	}
	if (r0)
		*r0 = a.r0;
	outcome_free(&a);
	return a.rc;
}

static inline int agree(const struct sbpf_insn *p, size_t n, const void *mem, size_t len,
			uint64_t *r0)
{
	return agree_on(p, n, mem, len, r0, DIFF_ALL);
}

#endif /* SAFEBPF_TEST_JIT_DIFF_H */
