/* elfload.c - the CLI side of ELF loading: turn a clang-compiled BPF object
 * into instructions (safebpf/elf.h) and print the library's reason when it
 * cannot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safebpf/datafile.h"
#include "safebpf/diag.h"
#include "safebpf/elf.h"

struct sbpf_insn *cli_load_elf(const char *path, const char *prog, size_t *n, int *is_xdp)
{
	return cli_load_elf_rodata(path, prog, n, is_xdp, NULL, NULL);
}

struct sbpf_insn *cli_load_elf_rodata(const char *path, const char *prog, size_t *n, int *is_xdp,
				      uint8_t **rodata, size_t *rodata_len)
{
	struct sbpf_elf_error err = { "" };
	struct sbpf_elf *obj = sbpf_elf__open(path, &err);
	if (!obj) {
		fprintf(stderr, "safebpf: %s\n", err.msg);
		return NULL;
	}
	int idx = 0;
	if (prog) {
		idx = sbpf_elf__find_prog(obj, prog, &err);
	} else if (sbpf_elf__prog_count(obj) > 1) {
		fprintf(stderr, "safebpf: %s has %zu programs; choose one with --prog NAME:\n", path,
			sbpf_elf__prog_count(obj));
		for (size_t i = 0; i < sbpf_elf__prog_count(obj); i++)
			fprintf(stderr, "  %-24s (section %s)\n", sbpf_elf__prog_name(obj, i),
				sbpf_elf__prog_section(obj, i));
		sbpf_elf__close(obj);
		return NULL;
	}
	struct sbpf_insn *insns = NULL;
	if (idx >= 0 && sbpf_elf__prog_insns_rodata(obj, (size_t)idx, &insns, n, rodata, rodata_len,
						    &err) == 0) {
		if (is_xdp)
			*is_xdp = sbpf_elf__prog_is_xdp(obj, (size_t)idx);
	} else {
		fprintf(stderr, "safebpf: %s\n", err.msg);
		insns = NULL;
	}
	sbpf_elf__close(obj);
	return insns;
}

struct sbpf_insn *cli_load_any_rodata(const char *file, size_t *n, uint8_t **rodata, size_t *rodata_len)
{
	size_t len = strlen(file);
	if (len < 5 || strcmp(file + len - 5, ".data"))
		return cli_load_program_rodata(file, n, rodata, rodata_len);
	char *text = cli_read_file(file, NULL);
	if (!text)
		return NULL;
	struct sbpf_datafile df;
	struct sbpf_diags diags = { 0 };
	struct sbpf_insn *insns = NULL;
	int rc = sbpf_datafile__parse(text, file, &df, &diags);
	if (!rc)
		rc = sbpf_datafile__program(&df, file, &insns, n, &diags);
	if (rc) {
		char *msg = sbpf_diags__format(&diags);
		if (rc == -ENOENT)
			fprintf(stderr, "safebpf: %s: no program (no -- asm or -- raw section)\n", file);
		else
			fputs(msg && *msg ? msg : "safebpf: cannot read the test file\n", stderr);
		free(msg);
		insns = NULL;
	}
	sbpf_diags__free(&diags);
	sbpf_datafile__free(&df);
	free(text);
	return insns;
}
