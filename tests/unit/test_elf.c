/* test_elf.c - ELF loading (src/elf/elf.c) on the clang-compiled objects
 * the Makefile builds from tests/xdp into build/xdp: program listing and
 * choice, relocated local calls, and the refusals with their reasons.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safebpf/elf.h"

/* Opens build/xdp/@name.o (built by `make asan`). */
static struct sbpf_elf *open_obj(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "build/xdp/%s.o", name);
	cr_assert_eq(access(path, R_OK), 0, "%s missing: run make asan first", path);
	struct sbpf_elf_error err = { "" };
	struct sbpf_elf *obj = sbpf_elf__open(path, &err);
	cr_assert_not_null(obj, "open %s: %s", path, err.msg);
	return obj;
}

Test(elf, magic)
{
	cr_assert(sbpf_elf_is_elf("\177ELF\2\1", 6));
	cr_assert_not(sbpf_elf_is_elf("\177EL", 3));
	cr_assert_not(sbpf_elf_is_elf("mov r0, 1", 9));
}

Test(elf, lists_and_relocates_local_calls)
{
	struct sbpf_elf *obj = open_obj("filter");
	cr_assert_eq(sbpf_elf__prog_count(obj), 1);
	cr_assert_str_eq(sbpf_elf__prog_name(obj, 0), "xdp_filter");
	cr_assert_str_eq(sbpf_elf__prog_section(obj, 0), "xdp");
	cr_assert(sbpf_elf__prog_is_xdp(obj, 0));
	cr_assert_null(sbpf_elf__prog_name(obj, 1));
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	struct sbpf_elf_error err = { "" };
	cr_assert_eq(sbpf_elf__prog_insns(obj, 0, &insns, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(sbpf_validate(insns, n, NULL), 0, "relocated program is not valid");
	/* the call to l4_dport (in .text) lands inside the program, on a slot
	 * after the main function's last exit */
	int calls = 0;
	for (size_t i = 0; i < n; i++) {
		if (insns[i].code != (SBPF_JMP | SBPF_CALL) || insns[i].src_reg != SBPF_PSEUDO_CALL)
			continue;
		long target = (long)i + 1 + insns[i].imm;
		cr_assert(target > (long)i && target < (long)n, "call at %zu goes to %ld of %zu", i, target, n);
		cr_assert_eq(insns[target - 1].code, SBPF_JMP | SBPF_EXIT, "callee not appended after an exit");
		calls++;
	}
	cr_assert_eq(calls, 1);
	free(insns);
	sbpf_elf__close(obj);
}

Test(elf, chooses_by_name_or_section)
{
	struct sbpf_elf *obj = open_obj("multi");
	struct sbpf_elf_error err = { "" };
	cr_assert_eq(sbpf_elf__prog_count(obj), 2);
	int by_name = sbpf_elf__find_prog(obj, "xdp_ttl", &err);
	int by_sec = sbpf_elf__find_prog(obj, "xdp.frags", &err);
	cr_assert_geq(by_name, 0);
	cr_assert_eq(by_name, by_sec);
	cr_assert_str_eq(sbpf_elf__prog_name(obj, (size_t)by_name), "xdp_ttl");
	cr_assert_eq(sbpf_elf__find_prog(obj, "nope", &err), -ENOENT);
	cr_assert(strstr(err.msg, "xdp_pass_all") && strstr(err.msg, "xdp_ttl"), "%s", err.msg);
	sbpf_elf__close(obj);
}

/* Expects program @prog of @name to be refused with @what in the reason. */
static void refused(const char *name, const char *prog, const char *what)
{
	struct sbpf_elf *obj = open_obj(name);
	struct sbpf_elf_error err = { "" };
	int i = sbpf_elf__find_prog(obj, prog, &err);
	cr_assert_geq(i, 0, "%s", err.msg);
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	cr_assert_eq(sbpf_elf__prog_insns(obj, (size_t)i, &insns, &n, &err), -EOPNOTSUPP,
		     "%s/%s was not refused", name, prog);
	cr_assert(strstr(err.msg, what), "reason '%s' lacks '%s'", err.msg, what);
	cr_assert_null(insns);
	sbpf_elf__close(obj);
}

Test(elf, refuses_maps_global_data_and_core)
{
	refused("uses_map", "xdp_count", "map references are not supported for user-space runs yet");
	refused("uses_map", "xdp_count", "'counts'");
	refused("uses_map", "xdp_global", "global data");
	refused("uses_core", "xdp_core", "CO-RE");
}

Test(elf, bad_files)
{
	struct sbpf_elf_error err = { "" };
	cr_assert_null(sbpf_elf__open("tests/xdp/filter.c", &err));
	cr_assert(strstr(err.msg, "not a loadable BPF object"), "%s", err.msg);
	cr_assert_null(sbpf_elf__open("build/asan/safebpf", &err)); /* an x86-64 ELF */
	cr_assert(strstr(err.msg, "not a loadable BPF object"), "%s", err.msg);
	cr_assert_null(sbpf_elf__open("build/xdp/does-not-exist.o", &err));
	cr_assert_eq(errno, ENOENT);
}
