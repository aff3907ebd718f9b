/* cmd_asm.c - "safebpf asm": assemble a text file into eBPF bytecode, written
 * raw to a file (-o) or as hex lines (one instruction per line) to stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safebpf/asm.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: safebpf asm FILE [-o OUT]\n"
		   "\n"
		   "Assembles FILE (bpf_conformance / uBPF syntax, see docs/asm.md; '-' reads\n"
		   "stdin). With -o, writes the raw bytecode (8 bytes per slot) to OUT; otherwise\n"
		   "prints one instruction slot per line as hex bytes.\n"
		   "\n"
		   "exit codes: 0 ok, 2 usage, 3 assembly errors (printed with line:column).\n");
}

/* Writes @n slots to @path as raw bytes. Returns 0 or prints why and -1. */
static int write_raw(const char *path, const struct sbpf_insn *insns, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "safebpf: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t put = fwrite(insns, sizeof(*insns), n, f);
	if (fclose(f) || put != n) {
		fprintf(stderr, "safebpf: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

int cmd_asm(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "safebpf asm: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		} else if (!in) {
			in = argv[i];
		} else {
			fprintf(stderr, "safebpf asm: more than one input file\n");
			return EXIT_USAGE;
		}
	}
	if (!in) {
		usage(stderr);
		return EXIT_USAGE;
	}
	char *text = cli_read_file(in, NULL);
	if (!text)
		return EXIT_INPUT;
	struct sbpf_diags diags = { 0 };
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	int rc = sbpf_assemble(text, in, &insns, &n, &diags);
	free(text);
	if (rc) {
		cli_print_diags(&diags);
		if (diags.n > 1)
			fprintf(stderr, "%zu errors\n", diags.n);
		sbpf_diags__free(&diags);
		return rc == -ENOMEM ? EXIT_FAIL : EXIT_INPUT;
	}
	sbpf_diags__free(&diags);
	int status = EXIT_OK;
	if (out) {
		if (write_raw(out, insns, n))
			status = EXIT_FAIL;
	} else {
		for (size_t i = 0; i < n; i++) {
			const unsigned char *b = (const unsigned char *)&insns[i];
			printf("%02x %02x %02x %02x %02x %02x %02x %02x\n", b[0], b[1], b[2], b[3],
			       b[4], b[5], b[6], b[7]);
		}
		if (fflush(stdout))
			status = EXIT_FAIL;
	}
	free(insns);
	return status;
}
