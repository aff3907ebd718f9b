/* cmd_jit.c - `safebpf jit`: compile a program with the JIT and show what
 * came out: with --dump every eBPF instruction (disassembled by the
 * assembler's disassembler) followed by the native instructions it became
 * (disassembled by capstone), then the prologue/epilogue/stub regions and
 * the code size. A program with Kops sites is lowered first; with --kops
 * (after the kernel verifier accepts the lowered program) each site's
 * native emit is shown next to its proof sequence.
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safebpf/asm.h"
#include "safebpf/datafile.h"
#include "safebpf/jit.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safebpf jit FILE [--dump] [--unchecked] [--kops | --einsn | --kops-unverified] [--arch A]\n"
		"                        [--checked] [--verbose]\n"
		"                        [--no-bmi1] [--no-bmi2] [--no-movbe] [--no-lse] [--kernel-style]\n"
		"                        [--type T] [--rodata F] [--count-mem F]\n"
		"\n"
		"Compiles FILE (assembly text, raw bytecode or a .data test file) to native\n"
		"code and prints its size; with --dump, also the native code of every eBPF\n"
		"instruction, next to that instruction.\n"
		"\n"
		"  --dump           show the native code per eBPF instruction (capstone)\n"
		"  --unchecked      compile without bounds/budget/depth checks, as used for\n"
		"                   programs the kernel verifier accepted\n"
		"  --kops, --einsn  compile Kops sites to their native operations, once the\n"
		"                   kernel verifier accepts the lowered program (needs root);\n"
		"                   a program without sites is first rewritten by the\n"
		"                   recognizer (rewrites the verifier refuses are left out\n"
		"                   and reported); an accepted xdp program compiles unchecked.\n"
		"                   Without it, sites compile as their proof sequences\n"
		"  --checked        with --kops: keep the bounds checks\n"
		"  --verbose        list the sites used and which became native code\n"
		"  --kops-unverified  as --kops without asking the kernel (tests only)\n"
		"  --no-bmi1        Kops extract without bextr (shr + and)\n"
		"  --no-bmi2        do not use BMI2 shifts (shlx/shrx/sarx)\n"
		"  --no-movbe       Kops bswap_load without movbe (mov + bswap)\n"
		"  --arch A         target: x86_64 or arm64 (default: this host's); code for\n"
		"                   another architecture is compiled and shown, not run\n"
		"  --no-lse         arm64: atomics as ldaxr/stlxr loops instead of LSE\n"
		"  --rodata F       the program's read-only data from file F (kops rewrite\n"
		"                   writes OUT.rodata); an object file carries its own\n"
		"  --kernel-style   show eBPF instructions in the verifier-log style\n"
		"  --type T         program type (mem, xdp)\n"
		"  --count-mem F    run the compiled program once on the interpreter with the\n"
		"                   bytes of file F as its memory (xdp: the packet) and print\n"
		"                   its dynamic native instruction count: each slot's\n"
		"                   executions times the instructions emitted for it (arm64:\n"
		"                   bytes / 4; a native Kops site counts at its first slot),\n"
		"                   plus the prologue; an estimate where a slot's code\n"
		"                   branches inside itself\n"
		"\n"
		"Exit: 0 ok, 1 compile error, 2 usage, 3 bad program or refused by the\n"
		"kernel verifier, 4 --kops without the privileges to ask the kernel.\n");
}

/* What the command was asked to do. */
struct jit_args {
	const char *file;        /* program file */
	int dump;                /* --dump */
	int unchecked;           /* --unchecked */
	int no_bmi2;             /* --no-bmi2 */
	int no_bmi1;             /* --no-bmi1 */
	int no_movbe;            /* --no-movbe */
	int no_lse;              /* --no-lse */
	const char *arch;        /* --arch (NULL: the host's) */
	const char *rodata_file; /* --rodata */
	int kops;                /* --kops / --kops-unverified: CLI_KOPS_* */
	int kernel_style;        /* --kernel-style */
	int checked;             /* --checked */
	int verbose;             /* --verbose */
	enum sbpf_prog_type type; /* --type */
	const char *count_mem;   /* --count-mem */
};

static int parse_args(int argc, char **argv, struct jit_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(arg, "--dump")) {
			a->dump = 1;
		} else if (!strcmp(arg, "--unchecked")) {
			a->unchecked = 1;
		} else if (!strcmp(arg, "--no-bmi2")) {
			a->no_bmi2 = 1;
		} else if (!strcmp(arg, "--no-bmi1")) {
			a->no_bmi1 = 1;
		} else if (!strcmp(arg, "--no-movbe")) {
			a->no_movbe = 1;
		} else if (!strcmp(arg, "--checked")) {
			a->checked = 1;
		} else if (!strcmp(arg, "--verbose")) {
			a->verbose = 1;
		} else if (!strcmp(arg, "--kops") || !strcmp(arg, "--einsn")) {
			a->kops = CLI_KOPS_ON;
		} else if (!strcmp(arg, "--kops-unverified")) {
			a->kops = CLI_KOPS_UNVERIFIED;
		} else if (!strcmp(arg, "--count-mem") && i + 1 < argc) {
			a->count_mem = argv[++i];
		} else if (!strcmp(arg, "--rodata") && i + 1 < argc) {
			a->rodata_file = argv[++i];
		} else if (!strcmp(arg, "--no-lse")) {
			a->no_lse = 1;
		} else if (!strcmp(arg, "--arch") && i + 1 < argc) {
			a->arch = argv[++i];
			if (strcmp(a->arch, "x86_64") && strcmp(a->arch, "arm64")) {
				fprintf(stderr, "safebpf jit: unknown architecture '%s' (x86_64, arm64)\n", a->arch);
				return EXIT_USAGE;
			}
		} else if (!strcmp(arg, "--kernel-style")) {
			a->kernel_style = 1;
		} else if (!strcmp(arg, "--type") && i + 1 < argc) {
			if (sbpf_prog_type__from_name(argv[++i], &a->type)) {
				fprintf(stderr, "safebpf jit: unknown program type '%s' (mem, xdp)\n", argv[i]);
				return EXIT_USAGE;
			}
		} else if (arg[0] == '-' && arg[1]) {
			fprintf(stderr, "safebpf jit: unknown option or missing value: %s\n", arg);
			usage(stderr);
			return EXIT_USAGE;
		} else if (!a->file) {
			a->file = arg;
		} else {
			fprintf(stderr, "safebpf jit: more than one program file (%s, %s)\n", a->file, arg);
			return EXIT_USAGE;
		}
	}
	if (!a->file) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* The slot whose code starts at native offset @off, or -1. */
static long pc_at(const struct sbpf_jit *jit, size_t n, uint64_t off)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if ((uint64_t)sbpf_jit__insn_offset(jit, mid) < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The first slot at that offset that has code of its own. */
	if (lo < n && (uint64_t)sbpf_jit__insn_offset(jit, lo) == off)
		return (long)lo;
	return -1;
}

/* Prints native code [@from, @to) of the image, one instruction a line,
 * naming the eBPF target of jumps and calls into the program. */
static void print_native(csh cs, const struct sbpf_jit *jit, size_t n, const uint8_t *code,
			 size_t from, size_t to)
{
	cs_insn *ins;
	size_t count = cs_disasm(cs, code + from, to - from, from, 0, &ins);
	size_t done = from;
	for (size_t i = 0; i < count; i++) {
		char bytes[3 * 16 + 1] = "";
		for (int k = 0; k < ins[i].size && k < 12; k++)
			sprintf(bytes + 3 * k, "%02x ", ins[i].bytes[k]);
		char note[48] = "";
		const char *m = ins[i].mnemonic;
		if ((m[0] == 'j' || !strcmp(m, "call")) && !strncmp(ins[i].op_str, "0x", 2)) {
			uint64_t t = strtoull(ins[i].op_str, NULL, 16);
			uint64_t end = (uint64_t)sbpf_jit__insn_offset(jit, n);
			long pc = pc_at(jit, n, t);
			if (t == end)
				snprintf(note, sizeof(note), "  ; -> epilogue");
			else if (t > end)
				snprintf(note, sizeof(note), "  ; -> error exit / stub");
			else if (pc >= 0)
				snprintf(note, sizeof(note), "  ; -> %ld", pc);
		}
		printf("    %5" PRIx64 ":  %-36s %s %s%s\n", ins[i].address, bytes, ins[i].mnemonic,
		       ins[i].op_str, note);
		done = ins[i].address + ins[i].size;
	}
	cs_free(ins, count);
	if (done < to)
		printf("    %5zx:  (%zu bytes capstone cannot decode)\n", done, to - done);
}

/* Prints the header of Kops site @k of @l (and, for a native one, its
 * proof sequence and native code); returns the slots it covered (0: the
 * slots follow as ordinary instructions). */
static size_t dump_site(csh cs, const struct sbpf_jit *jit, const struct sbpf_kops_lowered *l, size_t k,
			enum sbpf_disasm_style style, const uint8_t *code)
{
	const struct sbpf_kops_site *s = &l->sites[k];
	char d[128];
	size_t from, to;
	cli_kops_describe(&s->p, d, sizeof(d));
	int native = sbpf_jit__kops_site(jit, k, &from, &to);
	if (native != 1) {
		printf("      kops %s: proof sequence, slots %zu..%zu%s\n", d, s->lowered_start,
		       s->lowered_start + s->lowered_len - 1,
		       native < 0 ? " (--kops for the native operation)" : " (no native emit in this mode)");
		return 0;
	}
	if (!s->lowered_len) {
		printf("%4zu: kops %s   (no proof sequence)\n", s->lowered_start, d);
	} else {
		printf("%4zu: kops %s   native, in place of slots %zu..%zu:\n", s->lowered_start, d,
		       s->lowered_start, s->lowered_start + s->lowered_len - 1);
		for (size_t pc = s->lowered_start; pc < s->lowered_start + s->lowered_len;) {
			char text[160];
			int slots = sbpf_disasm_insn(l->insns, l->n, pc, style, text, sizeof(text));
			printf("      | %s\n", text);
			pc += slots > 0 ? (size_t)slots : 1;
		}
	}
	print_native(cs, jit, l->n, code, from, to);
	return s->lowered_len;
}

static int dump(const struct sbpf_jit *jit, const struct sbpf_insn *insns, size_t n,
		const struct sbpf_kops_lowered *l, enum sbpf_disasm_style style)
{
	size_t size;
	const uint8_t *code = sbpf_jit__code(jit, &size);
	int arch, mode;
	sbpf_jit__capstone_mode(jit, &arch, &mode);
	csh cs;
	if (cs_open((cs_arch)arch, (cs_mode)mode, &cs) != CS_ERR_OK) {
		fprintf(stderr, "safebpf jit: capstone cannot open %s\n", sbpf_jit__target_name(jit));
		return EXIT_FAIL;
	}
	size_t start = (size_t)sbpf_jit__insn_offset(jit, 0);
	if (start) {
		printf("prologue:\n");
		print_native(cs, jit, n, code, 0, start);
	}
	size_t k = 0; /* next Kops site */
	for (size_t pc = 0; pc < n;) {
		size_t covered = 0;
		while (l && k < l->nsites && l->sites[k].lowered_start == pc) {
			covered = dump_site(cs, jit, l, k++, style, code);
			if (l->sites[k - 1].lowered_len)
				break;
		}
		if (covered) {
			pc += covered;
			continue;
		}
		char text[160];
		int slots = sbpf_disasm_insn(insns, n, pc, style, text, sizeof(text));
		if (slots < 1)
			slots = 1;
		size_t from = (size_t)sbpf_jit__insn_offset(jit, pc);
		size_t to = (size_t)sbpf_jit__insn_offset(jit, pc + (size_t)slots);
		printf("%4zu: %s%s\n", pc, text, from == to ? "   (no code)" : "");
		print_native(cs, jit, n, code, from, to);
		pc += (size_t)slots;
	}
	size_t end = (size_t)sbpf_jit__insn_offset(jit, n);
	if (end < size) {
		printf("epilogue, error exit and out-of-line checks:\n");
		print_native(cs, jit, n, code, end, size);
	}
	cs_close(&cs);
	return EXIT_OK;
}

/* Frees the program: the lowered one with its sites, or the loaded one. */
static void release(struct sbpf_insn *insns, struct sbpf_kops_lowered *low)
{
	if (low->insns)
		sbpf_kops_lowered__free(low);
	else
		free(insns);
}

/* "kops: 3 sites, 3 native (rotate x2, lea), 0 as proof sequences" */
static void print_sites(const struct sbpf_jit *jit, const struct sbpf_kops_lowered *l, int kops)
{
	size_t native = 0, per_op[SBPF_KOPS__MAX] = { 0 };
	for (size_t k = 0; k < l->nsites; k++) {
		size_t from, to;
		if (sbpf_jit__kops_site(jit, k, &from, &to) == 1) {
			native++;
			if (l->sites[k].p.op < SBPF_KOPS__MAX)
				per_op[l->sites[k].p.op]++;
		}
	}
	printf("kops: %zu site%s, %zu native", l->nsites, l->nsites == 1 ? "" : "s", native);
	const char *sep = " (";
	for (uint32_t op = 0; op < SBPF_KOPS__MAX; op++)
		if (per_op[op]) {
			printf("%s%s", sep, sbpf_kops_info(op)->name);
			if (per_op[op] > 1)
				printf(" x%zu", per_op[op]);
			sep = ", ";
		}
	printf("%s, %zu as proof sequences%s\n", native ? ")" : "", l->nsites - native,
	       kops ? "" : " (--kops for native operations)");
}

/* --verbose: one line per site, with what it became. */
static void list_sites(const struct sbpf_jit *jit, const struct sbpf_kops_lowered *l)
{
	for (size_t k = 0; k < l->nsites; k++) {
		size_t from, to;
		char d[128];
		int r = sbpf_jit__kops_site(jit, k, &from, &to);
		cli_kops_describe(&l->sites[k].p, d, sizeof(d));
		if (r == 1)
			printf("kops site %zu: %s at slot %zu: native, %zu bytes\n", k, d, l->sites[k].lowered_start,
			       to - from);
		else
			printf("kops site %zu: %s at slot %zu: proof sequence\n", k, d, l->sites[k].lowered_start);
	}
}

/* --count-mem: runs the program once on the interpreter (per-slot
 * profile) on the bytes of a->count_mem and prints its dynamic count of
 * native instructions by the compiled code's slot lengths. Returns 0 or
 * -1 (printed). */
static int count_run(const struct jit_args *a, const struct sbpf_jit *jit, const struct sbpf_insn *insns,
		     size_t n, const uint8_t *rodata, size_t rodata_len)
{
	size_t len;
	uint8_t *mem = (uint8_t *)cli_read_file(a->count_mem, &len);
	if (!mem) {
		fprintf(stderr, "safebpf jit: %s: cannot read\n", a->count_mem);
		return -1;
	}
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = a->type, .rodata = rodata, .rodata_len = rodata_len };
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_vm *vm = sbpf_vm__new(insns, n, &vo, &verr);
	uint64_t *counts = calloc(n + 1, sizeof(*counts)), r0 = 0;
	struct sbpf_run_error err = { 0 };
	int rc = vm && counts ? 0 : -1;
	if (!rc) {
		sbpf_vm__set_profile(vm, counts);
		rc = sbpf_vm__run(vm, mem, len, &r0, &err);
	}
	if (rc) {
		fprintf(stderr, "safebpf jit: --count-mem: the interpreter run failed: %s\n",
			vm ? err.reason : strerror(errno));
	} else {
		bool a64 = !strcmp(sbpf_jit__target_name(jit), "arm64");
		uint64_t native = 0, executed = 0;
		for (size_t pc = 0; pc < n; pc++) {
			long bytes = sbpf_jit__insn_offset(jit, pc + 1) - sbpf_jit__insn_offset(jit, pc);
			native += counts[pc] * (uint64_t)bytes;
			executed += counts[pc];
		}
		uint64_t prologue = (uint64_t)sbpf_jit__insn_offset(jit, 0);
		if (a64)
			printf("count: r0=0x%llx, %llu eBPF instructions executed -> %llu %s instructions "
			       "(%llu in the body, %llu in the prologue; epilogue not counted)\n",
			       (unsigned long long)r0, (unsigned long long)executed,
			       (unsigned long long)((native + prologue) / 4), sbpf_jit__target_name(jit),
			       (unsigned long long)(native / 4), (unsigned long long)(prologue / 4));
		else
			printf("count: r0=0x%llx, %llu eBPF instructions executed -> %llu bytes of %s code executed "
			       "(%llu in the body, %llu in the prologue; epilogue not counted)\n",
			       (unsigned long long)r0, (unsigned long long)executed,
			       (unsigned long long)(native + prologue), sbpf_jit__target_name(jit),
			       (unsigned long long)native, (unsigned long long)prologue);
	}
	free(counts);
	sbpf_vm__free(vm);
	free(mem);
	return rc ? -1 : 0;
}

int cmd_jit(int argc, char **argv)
{
	struct jit_args a = { 0 };
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	size_t n = 0, rodata_len = 0;
	uint8_t *rodata = NULL;
	struct sbpf_insn *insns = cli_load_any_rodata(a.file, &n, &rodata, &rodata_len);
	if (!insns)
		return EXIT_INPUT;
	if (a.rodata_file) {
		if (rodata) {
			fprintf(stderr, "safebpf jit: --rodata is for programs without an object file; %s carries its own\n",
				a.file);
			free(insns);
			free(rodata);
			return EXIT_USAGE;
		}
		rodata = (uint8_t *)cli_read_file(a.rodata_file, &rodata_len);
		if (!rodata) {
			fprintf(stderr, "safebpf jit: %s: cannot read\n", a.rodata_file);
			free(insns);
			return EXIT_INPUT;
		}
	}
	char why[512];
	struct sbpf_kops_lowered low;
	struct cli_kops_prep kp = { .mode = a.kops, .rodata = rodata, .rodata_len = rodata_len, .recognize = 1,
				    .file = a.file, .verbose = a.verbose };
	rc = cli_kops_prepare_opts(insns, n, &kp, &low, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "safebpf: %s: %s\n", a.file, why);
		free(insns);
		free(rodata);
		return rc == -EPERM ? EXIT_PERM : EXIT_INPUT;
	}
	const struct sbpf_kops_lowered *l = rc > 0 ? &low : NULL;
	if (l) {
		free(insns);
		insns = low.insns; /* compile (and show) the lowered program */
		n = low.n;
	}
	if (l && kp.recognized && !l->nsites)
		fprintf(stderr, "safebpf: %s: note: the recognizer found no Kops sites, so nothing is native\n", a.file);
	/* the kernel verifier accepted this program as XDP: it compiles unchecked */
	if (kp.verified && a.type == SBPF_PROG_XDP && !a.checked)
		a.unchecked = 1;
	struct sbpf_jit_opts jo = {
		.sz = sizeof(jo), .type = a.type, .unchecked = a.unchecked,
		.features = (a.no_bmi2 ? SBPF_JIT_NO_BMI2 : 0) | (a.no_bmi1 ? SBPF_JIT_NO_BMI1 : 0) |
			    (a.no_movbe ? SBPF_JIT_NO_MOVBE : 0) | (a.no_lse ? SBPF_JIT_NO_LSE : 0),
		.target = a.arch,
		.kops = a.kops ? l : NULL, .rodata = rodata, .rodata_len = rodata_len,
	};
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_jit *jit = sbpf_jit__new(insns, n, &jo, &verr);
	if (!jit) {
		free(rodata);
		if (errno == EINVAL)
			fprintf(stderr, "safebpf: %s: invalid program: instruction %zu: %s\n", a.file,
				verr.index, verr.rule);
		else
			fprintf(stderr, "safebpf: %s: cannot load program: %s\n", a.file, strerror(errno));
		release(insns, &low);
		return EXIT_INPUT;
	}
	struct sbpf_vm *vm = sbpf_vm__new(insns, n, NULL, NULL);
	rc = vm ? sbpf_jit__helpers_from_vm(jit, vm) : -errno;
	sbpf_vm__free(vm);
	if (!rc)
		rc = sbpf_jit__compile(jit);
	if (rc) {
		fprintf(stderr, "safebpf: %s: cannot compile: %s\n", a.file, strerror(-rc));
		free(rodata);
		sbpf_jit__free(jit);
		release(insns, &low);
		return EXIT_FAIL;
	}
	int ex = EXIT_OK;
	if (a.dump)
		ex = dump(jit, insns, n, l, a.kernel_style ? SBPF_DISASM_KERNEL : SBPF_DISASM_ASM);
	size_t size;
	sbpf_jit__code(jit, &size);
	size_t body = (size_t)(sbpf_jit__insn_offset(jit, n) - sbpf_jit__insn_offset(jit, 0));
	printf("%s: %zu eBPF instructions -> %zu bytes of %s code (%s; prologue %ld, body %zu,"
	       " epilogue and stubs %zu; %d passes)\n", a.file, n, size, sbpf_jit__target_name(jit),
	       a.unchecked ? "unchecked" : "checked", sbpf_jit__insn_offset(jit, 0), body,
	       size - (size_t)sbpf_jit__insn_offset(jit, n), sbpf_jit__passes(jit));
	if (l)
		print_sites(jit, l, a.kops);
	if (l && a.verbose)
		list_sites(jit, l);
	if (a.count_mem && count_run(&a, jit, insns, n, rodata, rodata_len) && ex == EXIT_OK)
		ex = EXIT_FAIL;
	free(rodata);
	sbpf_jit__free(jit);
	release(insns, &low);
	return ex;
}
