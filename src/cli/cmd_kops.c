/* cmd_kops.c - `safebpf kops <sub>`: Kops native operations. One table of
 * subcommands (a row each: name, handler, summary); the handler gets argv
 * with argv[0] = the subcommand's name.
 *   kops list [OP]          the registry: payload, clobbers, proof sequence
 *                           and x86-64 native code of an example site
 *   kops lower IN [-o OUT]  a program with sites -> its vanilla lowering
 *   kops encode OP k=v...   the two .raw lines of a site, for assembly text
 *   kops rewrite / stats    the recognizer's (cmd_kops_rewrite.c)
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safebpf/asm.h"
#include "safebpf/jit.h"

/* The recognizer's subcommands, defined in cmd_kops_rewrite.c; weak so
 * that the table links before that file is there. */
int kops_cmd_rewrite(int argc, char **argv) __attribute__((weak));
int kops_cmd_stats(int argc, char **argv) __attribute__((weak));

static int kops_list(int argc, char **argv);
static int kops_lower(int argc, char **argv);
static int kops_encode(int argc, char **argv);

static const struct kops_sub {
	const char *name;                    /* subcommand */
	int (*fn)(int argc, char **argv);    /* handler (NULL: not in this build) */
	const char *summary;                 /* one line for `safebpf kops --help` */
} subs[] = {
	{ "list", kops_list, "the operations: payload, clobbers, proof sequence, native code" },
	{ "lower", kops_lower, "replace every site by its proof sequence (vanilla eBPF)" },
	{ "encode", kops_encode, "print a site as the two .raw lines assembly text uses" },
	{ "rewrite", kops_cmd_rewrite, "find EInsn idioms and write the program with sites" },
	{ "stats", kops_cmd_stats, "idioms found, sites written and refused, per operation" },
};
#define NSUBS (sizeof(subs) / sizeof(subs[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: safebpf kops COMMAND [ARGS]   (safebpf kops COMMAND --help for its options)\n\n"
		   "Kops native operations (docs/kops.md): each has a proof sequence of vanilla\n"
		   "eBPF the kernel verifier checks and a native emit the JIT produces instead.\n\n");
	for (size_t i = 0; i < NSUBS; i++)
		if (subs[i].fn)
			fprintf(f, "  %-9s %s\n", subs[i].name, subs[i].summary);
	fprintf(f, "\nExit: 0 ok, 1 failed, 2 usage, 3 bad program.\n");
}

int cmd_kops(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (size_t i = 0; i < NSUBS; i++)
		if (!strcmp(argv[1], subs[i].name)) {
			if (!subs[i].fn) {
				fprintf(stderr, "safebpf kops %s: not part of this build\n", argv[1]);
				return EXIT_USAGE;
			}
			return subs[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "safebpf kops: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

/* ---- kops list ----------------------------------------------------------- */

/* Disassembles @code[0..@len) with capstone, one instruction a line. */
static void print_x86(const uint8_t *code, size_t len, const char *indent)
{
	csh cs;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return;
	cs_insn *ins;
	size_t count = cs_disasm(cs, code, len, 0, 0, &ins);
	for (size_t i = 0; i < count; i++)
		printf("%s%s %s\n", indent, ins[i].mnemonic, ins[i].op_str);
	cs_free(ins, count);
	cs_close(&cs);
}

/* Names of the registers in @mask ("r2, r3"), or "none". */
static void reg_names(uint16_t mask, char *buf, size_t sz)
{
	buf[0] = '\0';
	for (int r = 0; r < SBPF_NREGS; r++)
		if (mask >> r & 1)
			snprintf(buf + strlen(buf), sz - strlen(buf), "%sr%d", buf[0] ? ", " : "", r);
	if (!buf[0])
		snprintf(buf, sz, "none");
}

/* Compiles "site @p; r0 = 0; exit" and prints the site's native code (or
 * why there is none). */
static void print_native(const struct sbpf_kops_payload *p, const struct sbpf_jit_opts *base)
{
	struct sbpf_insn prog[4];
	sbpf_kops_encode(p, prog);
	prog[2] = SBPF_MOV64_IMM(0, 0);
	prog[3] = SBPF_EXIT_INSN();
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error err;
	if (sbpf_kops_lower(prog, 4, &l, &err)) {
		printf("      (cannot lower the example: %s)\n", err.rule);
		return;
	}
	struct sbpf_jit_opts jo = *base;
	jo.kops = &l;
	struct sbpf_jit *jit = sbpf_jit__new(l.insns, l.n, &jo, &err);
	size_t from = 0, to = 0, size;
	int native = jit && !sbpf_jit__compile(jit) ? sbpf_jit__kops_site(jit, 0, &from, &to) : -1;
	const uint8_t *code = jit ? sbpf_jit__code(jit, &size) : NULL;
	if (native == 1) {
		printf("    x86-64 native (%zu bytes):\n", to - from);
		print_x86(code + from, to - from, "      ");
	} else {
		printf("    x86-64 native: none in this mode, the proof sequence runs\n");
	}
	sbpf_jit__free(jit);
	sbpf_kops_lowered__free(&l);
}

static void print_op(uint32_t id, const struct sbpf_jit_opts *jo)
{
	const struct sbpf_kops_info *info = sbpf_kops_info(id);
	const struct sbpf_kops_payload *p = &info->example;
	char d[128], clob[64];
	cli_kops_describe(p, d, sizeof(d));
	reg_names(sbpf_kops_clobbers(p), clob, sizeof(clob));
	printf("%u %s: %s\n", id, info->name, info->summary);
	printf("    payload: %s\n", info->payload);
	printf("    example: %s (clobbers %s)\n", d, clob);
	struct sbpf_builder *b = sbpf_builder__new();
	struct sbpf_insn *seq = NULL;
	size_t n = 0;
	if (b && sbpf_kops_instantiate(p, b) >= 0 && sbpf_builder__emit(b, SBPF_EXIT_INSN()) >= 0 &&
	    !sbpf_builder__finish(b, &seq, &n, NULL)) {
		printf("    proof sequence (%zu instructions):\n", n - 1);
		for (size_t pc = 0; pc + 1 < n;) {
			char text[160];
			int k = sbpf_disasm_insn(seq, n, pc, SBPF_DISASM_ASM, text, sizeof(text));
			printf("      %s\n", text);
			pc += k > 0 ? (size_t)k : 1;
		}
		if (n == 1)
			printf("      (none: nothing for the verifier to check)\n");
	}
	free(seq);
	sbpf_builder__free(b);
	print_native(p, jo);
}

static int kops_list(int argc, char **argv)
{
	struct sbpf_jit_opts jo = { .sz = sizeof(jo), .unchecked = 1 };
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: safebpf kops list [OP] [--checked] [--no-bmi1] [--no-movbe]\n\n"
			       "Prints every operation (or OP): its payload fields, an example site with\n"
			       "the registers it clobbers, its proof sequence, and the x86-64 code the JIT\n"
			       "emits for it on this CPU (unchecked mode unless --checked).\n");
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--checked")) {
			jo.unchecked = 0;
		} else if (!strcmp(argv[i], "--no-bmi1")) {
			jo.features |= SBPF_JIT_NO_BMI1;
		} else if (!strcmp(argv[i], "--no-movbe")) {
			jo.features |= SBPF_JIT_NO_MOVBE;
		} else if (argv[i][0] != '-' && !only) {
			only = argv[i];
		} else {
			fprintf(stderr, "safebpf kops list: unknown option '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	int id = only ? sbpf_kops_by_name(only) : 0;
	if (id < 0) {
		fprintf(stderr, "safebpf kops list: no operation '%s'\n", only);
		return EXIT_USAGE;
	}
	for (uint32_t op = 1; op < SBPF_KOPS__MAX; op++)
		if (!only || (int)op == id) {
			print_op(op, &jo);
			printf("\n");
		}
	return EXIT_OK;
}

/* ---- kops lower ----------------------------------------------------------- */

static int kops_lower(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: safebpf kops lower IN [-o OUT]\n\n"
			       "Replaces every Kops site of IN (assembly text or raw bytecode) by its proof\n"
			       "sequence, checking the site rules, and writes the vanilla program to OUT\n"
			       "(assembly text when OUT ends in .s, raw bytecode otherwise) or prints it.\n"
			       "\nExit: 0 ok, 1 cannot write, 2 usage, 3 bad program or site.\n");
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (argv[i][0] != '-' && !in) {
			in = argv[i];
		} else {
			fprintf(stderr, "safebpf kops lower: unknown option or missing value '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!in) {
		fprintf(stderr, "usage: safebpf kops lower IN [-o OUT]\n");
		return EXIT_USAGE;
	}
	size_t n;
	struct sbpf_insn *insns = cli_load_program(in, &n);
	if (!insns)
		return EXIT_INPUT;
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error err = { 0 };
	int rc = sbpf_kops_lower(insns, n, &l, &err);
	free(insns);
	if (rc) {
		fprintf(stderr, "safebpf kops lower: %s: instruction %zu: %s\n", in, err.index, err.rule);
		return EXIT_INPUT;
	}
	int ex = EXIT_OK;
	size_t len = strlen(out ? out : "");
	FILE *f = !out ? stdout : fopen(out, "w");
	if (!f) {
		fprintf(stderr, "safebpf kops lower: cannot write %s: %s\n", out, strerror(errno));
		ex = EXIT_FAIL;
	} else if (out && !(len > 2 && !strcmp(out + len - 2, ".s"))) {
		if (fwrite(l.insns, sizeof(*l.insns), l.n, f) != l.n)
			ex = EXIT_FAIL;
	} else if (sbpf_disasm(l.insns, l.n, SBPF_DISASM_ASM, f)) {
		ex = EXIT_FAIL;
	}
	if (f && f != stdout && fclose(f))
		ex = EXIT_FAIL;
	if (ex)
		fprintf(stderr, "safebpf kops lower: error writing %s\n", out ? out : "the output");
	fprintf(stderr, "%s: %zu site%s lowered, %zu -> %zu slots\n", in, l.nsites, l.nsites == 1 ? "" : "s",
		n, l.n);
	sbpf_kops_lowered__free(&l);
	return ex;
}

/* ---- kops encode ---------------------------------------------------------- */

/* Parses "rN" (or a bare number) into @reg. */
static int parse_reg(const char *v, uint8_t *reg)
{
	char *end;
	long r = strtol(v[0] == 'r' ? v + 1 : v, &end, 10);
	if (*end || end == v || r < 0 || r > 15)
		return -1;
	*reg = (uint8_t)r;
	return 0;
}

static int kops_encode(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: safebpf kops encode OP [dst=rN] [a=rN] [b=rN] [c=rN] [imm=N] [variant=N]\n\n"
		       "Prints the site as the two .raw lines the assembler reads (fields not given\n"
		       "are 0; `safebpf kops list OP` shows what each field means). The payload is\n"
		       "checked; the site rules are checked when the program is assembled.\n");
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	int id = sbpf_kops_by_name(argv[1]);
	if (id < 0) {
		fprintf(stderr, "safebpf kops encode: no operation '%s' (see safebpf kops list)\n", argv[1]);
		return EXIT_USAGE;
	}
	struct sbpf_kops_payload p = { .op = (uint32_t)id };
	for (int i = 2; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		const char *v = eq ? eq + 1 : "";
		size_t klen = eq ? (size_t)(eq - argv[i]) : 0;
		char *end = NULL;
		int bad = !eq;
		if (!bad && klen == 3 && !strncmp(argv[i], "dst", 3))
			bad = parse_reg(v, &p.dst);
		else if (!bad && klen == 1 && strchr("abc", argv[i][0]))
			bad = parse_reg(v, argv[i][0] == 'a' ? &p.a : argv[i][0] == 'b' ? &p.b : &p.c);
		else if (!bad && klen == 3 && !strncmp(argv[i], "imm", 3))
			p.imm = (int32_t)strtoll(v, &end, 0), bad = !*v || *end;
		else if (!bad && klen == 7 && !strncmp(argv[i], "variant", 7))
			p.variant = (uint16_t)strtoul(v, &end, 0), bad = !*v || *end;
		else
			bad = 1;
		if (bad) {
			fprintf(stderr, "safebpf kops encode: bad field '%s' (dst=rN a=rN b=rN c=rN imm=N variant=N)\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	char why[128];
	if (sbpf_kops_check_payload(&p, why, sizeof(why))) {
		fprintf(stderr, "safebpf kops encode: %s\n", why);
		return EXIT_INPUT;
	}
	struct sbpf_insn site[2];
	sbpf_kops_encode(&p, site);
	char d[128];
	cli_kops_describe(&p, d, sizeof(d));
	for (int k = 0; k < 2; k++) {
		const uint8_t *bytes = (const uint8_t *)&site[k];
		printf(".raw 0x");
		for (int i = 0; i < 8; i++)
			printf("%02x", bytes[i]);
		printf(k ? "\n" : "  # kops %s\n", d);
	}
	return EXIT_OK;
}
