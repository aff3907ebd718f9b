/* main.c - the safebpf command: dispatches to one cmd_<name>() per
 * subcommand (see commands.def) and owns the shared input helpers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safebpf/asm.h"
#include "safebpf/elf.h"

#define SAFEBPF_VERSION "0.1.0"

struct command {
	const char *name;                   /* as typed */
	int (*fn)(int argc, char **argv);   /* handler; argv[0] is the name */
	const char *summary;                /* one line for the help text */
};

static const struct command commands[] = {
#define CMD(name, fn, summary) { name, cmd_##fn, summary },
#include "commands.def"
};

static void usage(FILE *f)
{
	fprintf(f, "usage: safebpf <command> [options]   (safebpf <command> --help for more)\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-20s %s\n", commands[i].name, commands[i].summary);
}

int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("safebpf %s\n", SAFEBPF_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "safebpf: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

char *cli_read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "safebpf: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int too_big = 0;
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		if (n > CLI_MAX_INPUT) {
			too_big = 1;
			break;
		}
		size_t ncap = cap * 2 > CLI_MAX_INPUT ? CLI_MAX_INPUT + 1 : cap * 2;
		char *nb = realloc(buf, ncap + 1);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap = ncap;
	}
	int bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (too_big) {
		fprintf(stderr, "safebpf: %s: input larger than %zu MiB (the limit for a program, "
			"its assembly or a data file)\n", path, CLI_MAX_INPUT >> 20);
		free(buf);
		return NULL;
	}
	if (!buf || bad) {
		fprintf(stderr, "safebpf: cannot read %s\n", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int looks_like_text(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t'))
			return 0;
	}
	return 1;
}

struct sbpf_insn *cli_load_program(const char *path, size_t *n)
{
	return cli_load_program_rodata(path, n, NULL, NULL);
}

struct sbpf_insn *cli_load_program_rodata(const char *path, size_t *n, uint8_t **rodata, size_t *rodata_len)
{
	size_t len;
	char *buf = cli_read_file(path, &len);
	if (!buf)
		return NULL;
	if (sbpf_elf_is_elf(buf, len)) {
		free(buf);
		return cli_load_elf_rodata(path, NULL, n, NULL, rodata, rodata_len);
	}
	const char *dot = strrchr(path, '.');
	int is_asm = (dot && (!strcmp(dot, ".s") || !strcmp(dot, ".asm"))) ||
		     (len > 0 && looks_like_text(buf, len));
	struct sbpf_insn *insns = NULL;
	if (!is_asm && cli_check_bytecode_len(path, len)) {
		/* binary bytes that cannot be bytecode: said above */
	} else if (is_asm) {
		struct sbpf_diags diags = { 0 };
		if (sbpf_assemble(buf, path, &insns, n, &diags)) {
			cli_print_diags(&diags);
			insns = NULL;
		}
		sbpf_diags__free(&diags);
	} else if (len == 0) {
		fprintf(stderr, "safebpf: %s: empty program\n", path);
	} else {
		insns = malloc(len);
		if (insns) {
			memcpy(insns, buf, len);
			*n = len / 8;
		}
	}
	free(buf);
	return insns;
}

int cli_check_bytecode_len(const char *path, size_t len)
{
	if (len % sizeof(struct sbpf_insn)) {
		fprintf(stderr, "safebpf: %s: %zu bytes is not a whole number of 8-byte slots\n", path, len);
		return -EINVAL;
	}
	if (len > CLI_MAX_BYTECODE) {
		fprintf(stderr, "safebpf: %s: %zu bytes of bytecode is more than %u instructions (%zu MiB)\n",
			path, len, SBPF_MAX_INSNS, CLI_MAX_BYTECODE >> 20);
		return -E2BIG;
	}
	return 0;
}

void cli_print_diags(const struct sbpf_diags *d)
{
	char *msg = sbpf_diags__format(d);
	fputs(msg ? msg : "safebpf: out of memory formatting diagnostics\n", stderr);
	free(msg);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int cli_parse_hex(const char *text, uint8_t **out, size_t *len)
{
	size_t cap = strlen(text) / 2 + 1, n = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (const char *p = text; *p;) {
		if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
			p++;
			continue;
		}
		int hi = hexval(p[0]), lo = p[1] ? hexval(p[1]) : -1;
		if (hi < 0 || lo < 0) {
			free(buf);
			return -EINVAL;
		}
		buf[n++] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	*out = buf;
	*len = n;
	return 0;
}

int cli_is_elf_file(const char *path)
{
	unsigned char magic[4];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t got = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	return sbpf_elf_is_elf(magic, got);
}

bool cli_is_option(const char *arg)
{
	if (arg[0] != '-' || !arg[1])
		return false;
	for (const char *c = arg; *c; c++)
		if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r')
			return false;
	return true;
}

const char *cli_query_text(const char *arg, const char *path, char **owned, const char **file)
{
	*owned = NULL;
	*file = "<query>";
	if (!path)
		return arg;
	size_t len;
	char *text = cli_read_file(path, &len);
	if (!text)
		return NULL;
	if (strlen(text) != len) {
		fprintf(stderr, "safebpf: %s: a query is text, but the file holds a NUL byte\n", path);
		free(text);
		return NULL;
	}
	*owned = text;
	*file = strcmp(path, "-") ? path : "<stdin>";
	return text;
}

int cli_compile_query(const char *sql, const char *file, enum sbpf_plan_strategy plan, struct sbpf_query **q)
{
	struct sbpf_diags diags = { 0 };
	struct sbpf_query_opts qo = { .sz = sizeof(qo), .file = file, .plan = plan };
	int rc = sbpf_query__compile(sql, &qo, q, &diags);
	if (rc)
		cli_print_diags(&diags);
	sbpf_diags__free(&diags);
	return !rc ? EXIT_OK : rc == -ENOMEM ? EXIT_FAIL : EXIT_INPUT;
}
