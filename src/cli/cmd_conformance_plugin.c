/* cmd_conformance_plugin.c - `safebpf conformance-plugin`: the plugin
 * process of the bpf_conformance runner. Protocol: the program arrives on
 * stdin as hex bytes; the optional first argument is the input memory as
 * hex bytes ("00  01  ff"); further arguments are options. On success r0 is
 * printed in hex on stdout and the exit code is 0; on failure nothing goes
 * to stdout, the error message goes to stderr and the exit code is 1.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safebpf conformance-plugin [MEMORY-HEX] [engine options] < PROGRAM-HEX\n"
		"\n"
		"Plugin for the bpf_conformance runner (--plugin_path): reads the program as\n"
		"hex bytes on stdin, runs it on MEMORY-HEX (hex bytes, e.g. \"00 01\"), prints\n"
		"r0 in hex and exits 0; on error prints the message to stderr and exits 1.\n"
		"Engine options go through the runner's --plugin_options.\n\n");
	cli_engine_usage(f);
}

/* Prints @msg to stderr and returns the failure exit code. */
static int plugin_fail(const char *msg)
{
	fprintf(stderr, "%s\n", msg);
	return EXIT_FAIL;
}

int cmd_conformance_plugin(int argc, char **argv)
{
	struct cli_exec x;
	cli_exec_init(&x);
	const char *mem_hex = NULL;
	for (int i = 1; i < argc; i++) {
		int rc = cli_engine_parse_opt(argc, argv, &i, &x);
		if (rc < 0)
			return EXIT_USAGE;
		if (rc > 0)
			continue;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		}
		if (!strcmp(argv[i], "--elf"))
			return plugin_fail("ELF input (--elf) is not supported: pass raw bytecode");
		if (i == 1 && strncmp(argv[i], "--", 2)) {
			mem_hex = argv[i];
			continue;
		}
		fprintf(stderr, "safebpf conformance-plugin: unexpected argument '%s'\n", argv[i]);
		return EXIT_USAGE;
	}

	uint8_t *mem = NULL, *code = NULL;
	size_t mem_len = 0, code_len = 0;
	if (mem_hex && cli_parse_hex(mem_hex, &mem, &mem_len))
		return plugin_fail("memory argument is not hex bytes");
	char *text = cli_read_file("-", NULL);
	if (!text) {
		free(mem);
		return EXIT_FAIL;
	}
	int rc = cli_parse_hex(text, &code, &code_len);
	free(text);
	if (rc || code_len == 0 || code_len % sizeof(struct sbpf_insn)) {
		free(mem);
		free(code);
		return plugin_fail(rc ? "program on stdin is not hex bytes"
				      : code_len ? "program is not a whole number of 8-byte instructions"
						 : "empty program");
	}

	char why[256] = "";
	void *h = x.engine->load((const struct sbpf_insn *)code, code_len / sizeof(struct sbpf_insn),
				 &x.opts, why, sizeof(why));
	int status = EXIT_OK;
	if (!h) {
		status = plugin_fail(why);
	} else {
		uint64_t r0 = 0;
		struct sbpf_run_error err = { 0 };
		if (x.engine->run(h, mem, mem_len, &r0, &err)) {
			char msg[256];
			snprintf(msg, sizeof(msg), "error at pc %zu: %s", err.pc, err.reason);
			status = plugin_fail(msg);
		} else {
			printf("0x%" PRIx64 "\n", r0);
		}
		x.engine->unload(h);
	}
	free(mem);
	free(code);
	return status;
}
