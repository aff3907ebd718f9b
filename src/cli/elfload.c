/* elfload.c - the CLI side of ELF loading: turn a clang-compiled BPF object
 * into instructions (safebpf/elf.h) and print the library's reason when it
 * cannot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "safebpf/datafile.h"
#include "safebpf/diag.h"
#include "safebpf/elf.h"
#include "safebpf/kernel.h"
#include "safebpf/maps.h"

struct sbpf_insn *cli_load_elf(const char *path, const char *prog, size_t *n, int *is_xdp)
{
	return cli_load_elf_rodata(path, prog, n, is_xdp, NULL, NULL);
}

/* The maps of the last object loaded (cli_program_maps) and their kernel
 * copies, which every kernel load of this process uses. */
static struct sbpf_maps *loaded_maps;
static int loaded_kfds[SBPF_MAX_MAPS];
static int loaded_nkfds;

static void free_loaded_maps(void)
{
	sbpf_kernel_set_map_fds(NULL, 0);
	if (loaded_maps && loaded_nkfds)
		sbpf_kernel_maps_close(loaded_maps, loaded_kfds);
	loaded_nkfds = 0;
	sbpf_maps__free(loaded_maps);
	loaded_maps = NULL;
}

struct sbpf_maps *cli_program_maps(void)
{
	return loaded_maps;
}

/* Makes the user-space maps of @defs (and, when this process may, kernel
 * copies for the kernel loads: the verifier, the kernel engine). Returns
 * 0, or -1 having printed why. */
static int make_maps(const char *path, const struct sbpf_elf_map *defs, size_t nmaps)
{
	free_loaded_maps();
	if (!nmaps)
		return 0;
	if (!(loaded_maps = sbpf_maps__new())) {
		fprintf(stderr, "safebpf: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < nmaps; i++) {
		char why[200];
		struct sbpf_map_def d = {
			.name = defs[i].name, .type = defs[i].type, .key_size = defs[i].key_size,
			.value_size = defs[i].value_size, .max_entries = defs[i].max_entries,
			.flags = defs[i].flags, .init = defs[i].init, .init_len = defs[i].init_len,
		};
		if (sbpf_maps__add(loaded_maps, &d, why, sizeof(why)) < 0) {
			fprintf(stderr, "safebpf: %s: %s\n", path, why);
			free_loaded_maps();
			return -1;
		}
	}
	char why[200], perm[128];
	if (!sbpf_kernel_check_privileges(perm, sizeof(perm)) &&
	    !sbpf_kernel_maps_create(loaded_maps, loaded_kfds, why, sizeof(why))) {
		loaded_nkfds = (int)nmaps;
		sbpf_kernel_set_map_fds(loaded_kfds, nmaps);
	}
	return 0;
}

struct sbpf_insn *cli_load_elf_rodata(const char *path, const char *prog, size_t *n, int *is_xdp,
				      uint8_t **rodata, size_t *rodata_len)
{
	struct sbpf_elf_error err = { "" };
	struct stat st;
	if (!stat(path, &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size > CLI_MAX_INPUT) {
		fprintf(stderr, "safebpf: %s: input larger than %zu MiB (the limit for a program, "
			"its assembly or a data file)\n", path, CLI_MAX_INPUT >> 20);
		return NULL;
	}
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
	struct sbpf_elf_map *defs = NULL;
	size_t nmaps = 0;
	if (idx >= 0 && sbpf_elf__prog_insns_maps(obj, (size_t)idx, &insns, n, rodata, rodata_len,
						  &defs, &nmaps, &err) == 0) {
		if (is_xdp)
			*is_xdp = sbpf_elf__prog_is_xdp(obj, (size_t)idx);
		if (make_maps(path, defs, nmaps)) {
			free(insns);
			insns = NULL;
		}
		sbpf_elf_maps__free(defs, nmaps);
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
