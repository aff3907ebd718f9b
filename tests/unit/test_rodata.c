/* test_rodata.c - a program's read-only data (vm.h SBPF_RODATA_PSEUDO):
 * the same bytecode reads its constants on the interpreter, the JIT
 * (checked and unchecked) and the kernel (a frozen array map through
 * fd_array); checked engines refuse stores into it and reads past it; the
 * ELF loader merges a clang object's .rodata and rewrites its references;
 * programs without data, or engines given none, behave as before.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safebpf/elf.h"
#include "safebpf/jit.h"
#include "safebpf/kernel.h"
#include "safebpf/vm.h"

static const uint8_t table[16] = {
	0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8,
};

/* r0 = *(u64 *)(rodata + 0) + *(u32 *)(rodata + 12) + @extra access */
#define PROG(extra...)                                                                   \
	{                                                                                \
		SBPF_LD_IMM64_LO(1, SBPF_RODATA_PSEUDO, 0), SBPF_LD_IMM64_HI(0),         \
		SBPF_LD_IMM64_LO(2, SBPF_RODATA_PSEUDO, 0), SBPF_LD_IMM64_HI(12),        \
		SBPF_LDX_MEM(SBPF_DW, 0, 1, 0),                                          \
		SBPF_LDX_MEM(SBPF_W, 3, 2, 0),                                           \
		SBPF_ALU64_REG(SBPF_ADD, 0, 3),                                          \
		extra                                                                    \
		SBPF_EXIT_INSN(),                                                        \
	}

/* lddw with an offset: the second slot's imm is the offset, not address bits */
static void set_off(struct sbpf_insn *p, size_t at, uint32_t off)
{
	p[at].imm = 0;
	p[at + 1].imm = (int32_t)off;
}

#define EXPECT (0xfedcba9876543210ull + 0x08070605ull)

Test(rodata, every_user_space_engine_reads_it)
{
	struct sbpf_insn p[] = PROG();
	set_off(p, 0, 0);
	set_off(p, 2, 12);
	size_t n = sizeof(p) / sizeof(p[0]);
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .rodata = table, .rodata_len = sizeof(table) };
	struct sbpf_vm *vm = sbpf_vm__new(p, n, &vo, NULL);
	cr_assert_not_null(vm);
	uint64_t r0 = 0;
	struct sbpf_run_error err = { 0 };
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, &err), 0, "%s", err.reason);
	cr_assert_eq(r0, EXPECT);
	sbpf_vm__free(vm);
	for (int unchecked = 0; unchecked < 2; unchecked++) {
		struct sbpf_jit_opts jo = {
			.sz = sizeof(jo), .unchecked = unchecked, .rodata = table, .rodata_len = sizeof(table),
		};
		struct sbpf_jit *jit = sbpf_jit__new(p, n, &jo, NULL);
		cr_assert_not_null(jit);
		r0 = 0;
		cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &r0, &err), 0, "%s", err.reason);
		cr_assert_eq(r0, EXPECT, "unchecked=%d", unchecked);
		sbpf_jit__free(jit);
	}
}

Test(rodata, engines_keep_their_own_copy)
{
	struct sbpf_insn p[] = PROG();
	set_off(p, 0, 0);
	set_off(p, 2, 12);
	size_t n = sizeof(p) / sizeof(p[0]);
	uint8_t mine[16];
	memcpy(mine, table, sizeof(mine));
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .rodata = mine, .rodata_len = sizeof(mine) };
	struct sbpf_jit_opts jo = { .sz = sizeof(jo), .rodata = mine, .rodata_len = sizeof(mine) };
	struct sbpf_vm *vm = sbpf_vm__new(p, n, &vo, NULL);
	struct sbpf_jit *jit = sbpf_jit__new(p, n, &jo, NULL);
	memset(mine, 0, sizeof(mine)); /* the caller's buffer may go away */
	uint64_t a = 0, b = 0;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &a, NULL), 0);
	cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &b, NULL), 0);
	cr_assert_eq(a, EXPECT);
	cr_assert_eq(b, EXPECT);
	sbpf_vm__free(vm);
	sbpf_jit__free(jit);
}

Test(rodata, checked_engines_refuse_stores_and_overreads)
{
	/* a store into the data, then a load one past its end */
	struct sbpf_insn st[] = PROG(SBPF_ST_MEM(SBPF_B, 1, 3, 9),);
	struct sbpf_insn ld[] = PROG(SBPF_LDX_MEM(SBPF_W, 4, 1, 13),);
	struct sbpf_insn *progs[2] = { st, ld };
	size_t ns[2] = { sizeof(st) / sizeof(st[0]), sizeof(ld) / sizeof(ld[0]) };
	const char *want[2] = { "read-only", "out-of-bounds" };
	for (int k = 0; k < 2; k++) {
		set_off(progs[k], 0, 0);
		set_off(progs[k], 2, 12);
		struct sbpf_vm_opts vo = { .sz = sizeof(vo), .rodata = table, .rodata_len = sizeof(table) };
		struct sbpf_vm *vm = sbpf_vm__new(progs[k], ns[k], &vo, NULL);
		struct sbpf_run_error err = { 0 };
		uint64_t r0;
		cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, &err), -EFAULT);
		cr_assert(strstr(err.reason, "rodata") && strstr(err.reason, want[k]), "interp: %s", err.reason);
		sbpf_vm__free(vm);
		struct sbpf_jit_opts jo = { .sz = sizeof(jo), .rodata = table, .rodata_len = sizeof(table) };
		struct sbpf_jit *jit = sbpf_jit__new(progs[k], ns[k], &jo, NULL);
		memset(&err, 0, sizeof(err));
		cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &r0, &err), -EFAULT);
		cr_assert(strstr(err.reason, "rodata") && strstr(err.reason, want[k]), "jit: %s", err.reason);
		sbpf_jit__free(jit);
	}
}

Test(rodata, without_data_the_reference_stays_an_error)
{
	struct sbpf_insn p[] = PROG();
	set_off(p, 0, 0);
	set_off(p, 2, 12);
	size_t n = sizeof(p) / sizeof(p[0]);
	struct sbpf_vm *vm = sbpf_vm__new(p, n, NULL, NULL);
	struct sbpf_run_error err = { 0 };
	uint64_t r0;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, &err), -EINVAL);
	cr_assert(strstr(err.reason, "lddw"), "%s", err.reason);
	sbpf_vm__free(vm);
	/* an offset past the data is not resolved either */
	struct sbpf_insn q[] = PROG();
	set_off(q, 0, 17);
	set_off(q, 2, 12);
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .rodata = table, .rodata_len = sizeof(table) };
	vm = sbpf_vm__new(q, n, &vo, NULL);
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, &err), -EINVAL);
	sbpf_vm__free(vm);
	cr_assert_eq(sbpf_rodata_resolve(q, n, table, sizeof(table)), 1, "only the in-range lddw");
}

Test(rodata, the_kernel_reads_it_from_a_frozen_map)
{
	char why[200];
	if (sbpf_kernel_check_privileges(why, sizeof(why)))
		cr_skip_test("kernel tests skipped: %s", why);
	/* XDP: return the low 32 bits (the kernel keeps 32) */
	struct sbpf_insn p[] = PROG(SBPF_ALU64_IMM(SBPF_RSH, 0, 0),);
	set_off(p, 0, 0);
	set_off(p, 2, 12);
	size_t n = sizeof(p) / sizeof(p[0]);
	char log[4096] = "";
	struct sbpf_kload_opts lo = {
		.sz = sizeof(lo), .type = SBPF_KPROG_XDP, .name = "t_rodata", .log_buf = log,
		.log_size = sizeof(log), .rodata = table, .rodata_len = sizeof(table),
	};
	int fd = sbpf_kernel_load(p, n, &lo);
	cr_assert_geq(fd, 0, "load: %d: %s", fd, log);
	uint8_t pkt[64] = { 0 };
	struct sbpf_ktest_opts to = { .sz = sizeof(to), .data_in = pkt, .data_len = sizeof(pkt), .repeat = 1 };
	struct sbpf_ktest_result res = { 0 };
	cr_assert_eq(sbpf_kernel_test_run(fd, &to, &res), 0);
	cr_assert_eq(res.retval, (uint32_t)EXPECT);
	struct sbpf_kprog_info info;
	cr_assert_eq(sbpf_kernel_prog_info(fd, &info), 0);
	cr_assert_gt(info.jited_len, 0);
	cr_assert_gt(info.xlated_len, 0);
	close(fd);
	/* the verifier refuses a store into it (BPF_F_RDONLY_PROG) */
	struct sbpf_insn st[] = PROG(SBPF_ST_MEM(SBPF_B, 1, 3, 9),);
	set_off(st, 0, 0);
	set_off(st, 2, 12);
	fd = sbpf_kernel_load(st, sizeof(st) / sizeof(st[0]), &lo);
	cr_assert_lt(fd, 0, "a store into read-only data was accepted");
}

Test(rodata, elf_merges_clang_rodata)
{
	struct sbpf_elf_error err = { "" };
	struct sbpf_elf *obj = sbpf_elf__open("build/bench/micro/crc32.o", &err);
	cr_assert_not_null(obj, "%s (make asan builds it)", err.msg);
	struct sbpf_insn *insns = NULL;
	uint8_t *ro = NULL;
	size_t n = 0, len = 0;
	/* callers that do not take read-only data are refused with a reason */
	cr_assert_eq(sbpf_elf__prog_insns(obj, 0, &insns, &n, &err), -EOPNOTSUPP);
	cr_assert(strstr(err.msg, "read-only data"), "%s", err.msg);
	cr_assert_eq(sbpf_elf__prog_insns_rodata(obj, 0, &insns, &n, &ro, &len, &err), 0, "%s", err.msg);
	cr_assert_eq(len, 1024, "the 256-entry CRC table");
	uint32_t t1;
	memcpy(&t1, ro + 4, 4);
	cr_assert_eq(t1, 0x77073096u, "crc_table[1]");
	int refs = 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (insns[i].code == (SBPF_LD | SBPF_DW | SBPF_IMM) && insns[i].src_reg) {
			cr_assert_eq(insns[i].src_reg, SBPF_RODATA_PSEUDO);
			cr_assert_eq(insns[i].imm, 0);
			cr_assert_lt((uint32_t)insns[i + 1].imm, len);
			refs++;
		}
	cr_assert_gt(refs, 0);
	free(insns);
	free(ro);
	sbpf_elf__close(obj);
}
