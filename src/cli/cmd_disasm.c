/* cmd_disasm.c - "safebpf disasm": print a program in the assembler syntax
 * (default; reassembles to the same bytes) or the kernel verifier-log style.
 * Input: a BPF object (its read-only data is listed after the code), raw
 * bytecode, hex text as printed by "safebpf asm", or assembly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safebpf/elf.h"
#include "safebpf/asm.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: safebpf disasm FILE [--kernel-style] [--no-labels]\n"
		   "\n"
		   "Disassembles FILE ('-' reads stdin): a BPF object (clang -target bpf; its\n"
		   "read-only data is dumped after the code), raw bytecode (8 bytes per slot),\n"
		   "hex text as printed by 'safebpf asm', or assembly text (.s/.asm).\n"
		   "  --kernel-style   verifier-log style: '3: (79) r0 = *(u64 *)(r1 +8)'\n"
		   "  --no-labels      write jump targets as +off/-off instead of labels\n"
		   "Undecodable slots are printed as '.raw 0x<bytes>'.\n"
		   "\n"
		   "exit codes: 0 ok, 2 usage, 3 unreadable or undecodable input.\n");
}

/* Whether @text holds only hex byte pairs and white space (hex dump input). */
static int is_hex_dump(const char *text, size_t len)
{
	size_t digits = 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
			continue;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
		digits++;
	}
	return digits > 0 && digits % 16 == 0;
}

/* Whether @buf looks like text: no NUL or control bytes but tab, CR, LF. */
static int is_text(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
			return 0;
	}
	return 1;
}

/* Loads @path once (stdin allowed): BPF object (its read-only data into
 * *@rodata), hex dump, assembly or raw bytecode. */
static struct sbpf_insn *load(const char *path, size_t *n, uint8_t **rodata, size_t *rodata_len)
{
	size_t len;
	char *buf = cli_read_file(path, &len);
	if (!buf)
		return NULL;
	if (sbpf_elf_is_elf(buf, len) && strcmp(path, "-")) {
		free(buf);
		return cli_load_elf_rodata(path, NULL, n, NULL, rodata, rodata_len);
	}
	struct sbpf_insn *insns = NULL;
	const char *dot = strrchr(path, '.');
	int is_asm_name = dot && (!strcmp(dot, ".s") || !strcmp(dot, ".asm"));
	if (!is_asm_name && is_hex_dump(buf, len)) {
		uint8_t *bytes;
		size_t nb;
		if (cli_parse_hex(buf, &bytes, &nb) == 0) {
			if (cli_check_bytecode_len(path, nb)) {
				free(bytes);
			} else {
				insns = (struct sbpf_insn *)bytes;
				*n = nb / sizeof(*insns);
			}
		}
	} else if (!is_asm_name && !is_text(buf, len) && cli_check_bytecode_len(path, len)) {
		/* said by cli_check_bytecode_len() */
	} else if (is_asm_name || is_text(buf, len)) {
		struct sbpf_diags diags = { 0 };
		if (sbpf_assemble(buf, path, &insns, n, &diags)) {
			cli_print_diags(&diags);
			insns = NULL;
		}
		sbpf_diags__free(&diags);
	} else {
		insns = malloc(len);
		if (insns) {
			memcpy(insns, buf, len);
			*n = len / sizeof(*insns);
		}
	}
	free(buf);
	return insns;
}

/* An object's read-only data, after the listing, as comments: the
 * listing's "map_value[idx:0]+OFF" loads point into it. */
static void print_rodata(const uint8_t *d, size_t len)
{
	printf("# read-only data (.rodata, map_value[idx:0]): %zu bytes\n", len);
	for (size_t i = 0; i < len; i += 16) {
		printf("# +0x%04zx:", i);
		for (size_t k = i; k < i + 16 && k < len; k++)
			printf(" %02x", d[k]);
		putchar('\n');
	}
}

int cmd_disasm(int argc, char **argv)
{
	const char *in = NULL;
	enum sbpf_disasm_style style = SBPF_DISASM_ASM;
	int no_labels = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--kernel-style")) {
			style = SBPF_DISASM_KERNEL;
		} else if (!strcmp(argv[i], "--no-labels")) {
			no_labels = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "safebpf disasm: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		} else if (!in) {
			in = argv[i];
		} else {
			fprintf(stderr, "safebpf disasm: more than one input file\n");
			return EXIT_USAGE;
		}
	}
	if (!in) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (no_labels && style == SBPF_DISASM_ASM)
		style = SBPF_DISASM_ASM_NOLABELS;
	size_t n = 0, rodata_len = 0;
	uint8_t *rodata = NULL;
	struct sbpf_insn *insns = load(in, &n, &rodata, &rodata_len);
	if (!insns)
		return EXIT_INPUT;
	if (n == 0) {
		fprintf(stderr, "safebpf: %s: empty program\n", in);
		free(insns);
		free(rodata);
		return EXIT_INPUT;
	}
	int rc = sbpf_disasm(insns, n, style, stdout);
	if (!rc && rodata)
		print_rodata(rodata, rodata_len);
	free(rodata);
	int status = EXIT_OK;
	if (rc == -EINVAL) {
		fprintf(stderr, "safebpf: %s: some slots are not valid instructions (shown as .raw)\n", in);
		status = EXIT_INPUT;
	} else if (rc) {
		fprintf(stderr, "safebpf: cannot write the listing: %s\n", strerror(-rc));
		status = EXIT_FAIL;
	} else {
		struct sbpf_validate_error ve;
		if (sbpf_validate(insns, n, &ve))
			fprintf(stderr, "safebpf: note: %s is not a valid program: slot %zu: %s\n", in,
				ve.index, ve.rule);
	}
	free(insns);
	return status;
}
