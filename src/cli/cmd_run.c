/* cmd_run.c - `safebpf run`: load a program (assembly, raw bytecode, a
 * clang-compiled BPF object or a .data test file), run it on an input buffer
 * with the chosen engine (interpreter, JIT or the kernel), print r0 and,
 * with --repeat, the time per run. A run-time error prints "error at pc N:
 * reason" and exits 1. A program with Kops sites is lowered first (error
 * pcs are slots of the lowered program); --kops runs the sites as native
 * operations once the kernel verifier accepts the lowered program, and
 * first finds them with the recognizer in a program that has none.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "safebpf/asm.h"
#include "safebpf/datafile.h"
#include "safebpf/elf.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safebpf run FILE [--mem HEX | --mem-file F] [--dump-mem] [--prog NAME]\n"
		"                        [--repeat N] [--verbose] [engine options]\n"
		"\n"
		"Runs FILE - assembly text (.s), raw bytecode, a clang-compiled BPF object\n"
		"(clang -O2 -target bpf -c x.c), or a .data test file (its program, and its\n"
		"-- mem unless --mem/--mem-file is given) - and prints r0. For type xdp the\n"
		"memory is the packet.\n"
		"\n"
		"  --mem HEX         input memory as hex bytes (\"00 01 ff\" or \"0001ff\")\n"
		"  --mem-file F      input memory from the bytes of file F\n"
		"  --dump-mem        print the memory (hex) after the run\n"
		"  --prog NAME       the program (function name or section) of an object file\n"
		"                    with several; an XDP section selects --type xdp\n"
		"  --repeat N        run N times on the same memory and print the time per\n"
		"                    run (kernel: BPF_PROG_TEST_RUN's average duration; other\n"
		"                    engines: CPU time of the N runs / N)\n"
		"  --verbose         print the kernel verifier's log (engine kernel); with\n"
		"                    --kops, list the sites used and which ran natively\n"
		"  --rodata F        the program's read-only data, from file F (what\n"
		"                    `kops rewrite` writes for an object file's program; an\n"
		"                    object file carries its own)\n"
		"  --maps-in F       initial contents of the object's maps, JSON keyed by map\n"
		"                    name (docs/vm.md, \"Map contents\")\n"
		"  --maps-out F      write the maps' contents after the run(s) to F (- : stdout)\n"
		"  --seed N          seed of bpf_get_prandom_u32 in user-space engines (default 1)\n");
	cli_engine_usage(f);
	fprintf(f, "\nExit: 0 ok, 1 run-time error, 2 usage, 3 bad program or input.\n");
}

/* Everything the command was asked to do. */
struct run_args {
	const char *file;       /* program file */
	const char *mem_hex;    /* --mem */
	const char *mem_file;   /* --mem-file */
	int dump_mem;           /* --dump-mem */
	const char *prog;       /* --prog: program of an object file */
	uint64_t repeat;        /* --repeat (0: run once, no timing) */
	struct cli_exec exec;   /* engine and its options */
	uint8_t *rodata;        /* read-only data of an object file's program or --rodata, or NULL */
	size_t rodata_len;      /* its bytes */
	const char *rodata_file; /* --rodata */
	const char *maps_in;    /* --maps-in */
	const char *maps_out;   /* --maps-out */
	uint64_t seed;          /* --seed (0: default) */
	struct sbpf_maps *own_maps; /* an empty set for --maps-out of a program without maps */
};

/* Parses argv into @a. Returns -1 to continue, else an exit code. */
static int parse_args(int argc, char **argv, struct run_args *a)
{
	cli_exec_init(&a->exec);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int rc = cli_engine_parse_opt(argc, argv, &i, &a->exec);
		if (rc < 0)
			return EXIT_USAGE;
		if (rc > 0)
			continue;
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(arg, "--mem") && i + 1 < argc) {
			a->mem_hex = argv[++i];
		} else if (!strcmp(arg, "--mem-file") && i + 1 < argc) {
			a->mem_file = argv[++i];
		} else if (!strcmp(arg, "--dump-mem")) {
			a->dump_mem = 1;
		} else if (!strcmp(arg, "--prog") && i + 1 < argc) {
			a->prog = argv[++i];
		} else if (!strcmp(arg, "--rodata") && i + 1 < argc) {
			a->rodata_file = argv[++i];
		} else if (!strcmp(arg, "--maps-in") && i + 1 < argc) {
			a->maps_in = argv[++i];
		} else if (!strcmp(arg, "--maps-out") && i + 1 < argc) {
			a->maps_out = argv[++i];
		} else if (!strcmp(arg, "--seed") && i + 1 < argc) {
			char *end;
			errno = 0;
			a->seed = strtoull(argv[++i], &end, 0);
			if (errno || *end || end == argv[i]) {
				fprintf(stderr, "safebpf run: --seed wants a number, not '%s'\n", argv[i]);
				return EXIT_USAGE;
			}
		} else if (!strcmp(arg, "--verbose")) {
			a->exec.opts.verbose = 1;
		} else if (!strcmp(arg, "--repeat") && i + 1 < argc) {
			char *end;
			const char *v = argv[++i];
			errno = 0;
			a->repeat = strtoull(v, &end, 0);
			if (errno || end == v || *end || v[0] == '-' || !a->repeat) {
				fprintf(stderr, "safebpf run: --repeat wants a positive number, not '%s'\n", v);
				return EXIT_USAGE;
			}
		} else if (arg[0] == '-' && arg[1]) {
			fprintf(stderr, "safebpf run: unknown option or missing value: %s\n", arg);
			usage(stderr);
			return EXIT_USAGE;
		} else if (!a->file) {
			a->file = arg;
		} else {
			fprintf(stderr, "safebpf run: more than one program file (%s, %s)\n", a->file, arg);
			return EXIT_USAGE;
		}
	}
	if (!a->file) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (a->mem_hex && a->mem_file) {
		fprintf(stderr, "safebpf run: give --mem or --mem-file, not both\n");
		return EXIT_USAGE;
	}
	if (a->rodata_file && cli_is_elf_file(a->file)) {
		fprintf(stderr, "safebpf run: --rodata is for programs without an object file; %s carries its own\n",
			a->file);
		return EXIT_USAGE;
	}
	if (a->prog && !cli_is_elf_file(a->file)) {
		fprintf(stderr, "safebpf run: --prog chooses a program of an object file; %s is not one\n",
			a->file);
		return EXIT_USAGE;
	}
	return -1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* Loads the program (and, for .data files, its memory into *@mem unless
 * the command line gives memory). Returns 0 or an exit code. */
static int load_inputs(struct run_args *a, struct sbpf_insn **insns, size_t *n,
		       uint8_t **mem, size_t *mem_len)
{
	if (cli_is_elf_file(a->file)) {
		int is_xdp = 0;
		*insns = cli_load_elf_rodata(a->file, a->prog, n, &is_xdp, &a->rodata, &a->rodata_len);
		if (!*insns)
			return EXIT_INPUT;
		a->exec.opts.rodata = a->rodata;
		a->exec.opts.rodata_len = a->rodata_len;
		if (is_xdp && !a->exec.opts.type_set)
			a->exec.opts.type = SBPF_PROG_XDP;
	} else if (ends_with(a->file, ".data")) {
		char *text = cli_read_file(a->file, NULL);
		if (!text)
			return EXIT_INPUT;
		struct sbpf_datafile df;
		struct sbpf_diags diags = { 0 };
		int rc = sbpf_datafile__parse(text, a->file, &df, &diags);
		if (!rc)
			rc = sbpf_datafile__program(&df, a->file, insns, n, &diags);
		if (rc) {
			char *msg = sbpf_diags__format(&diags);
			if (rc == -ENOENT)
				fprintf(stderr, "safebpf: %s: no program (no -- asm or -- raw section)\n", a->file);
			else
				fputs(msg && *msg ? msg : "safebpf: cannot read the test file\n", stderr);
			free(msg);
		} else if (!a->mem_hex && !a->mem_file && df.mem) {
			*mem = df.mem;
			*mem_len = df.mem_len;
			df.mem = NULL;
		}
		sbpf_diags__free(&diags);
		sbpf_datafile__free(&df);
		free(text);
		if (rc)
			return EXIT_INPUT;
	} else {
		*insns = cli_load_program(a->file, n);
		if (!*insns)
			return EXIT_INPUT;
	}
	if (!a->rodata_file && !a->rodata) {
		for (size_t i = 0; i + 1 < *n; i++)
			if ((*insns)[i].code == (SBPF_LD | SBPF_DW | SBPF_IMM) &&
			    (*insns)[i].src_reg == SBPF_PSEUDO_MAP_IDX_VALUE) {
				fprintf(stderr, "safebpf: %s: instruction %zu reads read-only data: give it with "
						"--rodata FILE (kops rewrite writes OUT.rodata)\n", a->file, i);
				return EXIT_INPUT;
			}
	}
	if (a->rodata_file) {
		a->rodata = (uint8_t *)cli_read_file(a->rodata_file, &a->rodata_len);
		if (!a->rodata)
			return EXIT_INPUT;
		a->exec.opts.rodata = a->rodata;
		a->exec.opts.rodata_len = a->rodata_len;
	}
	struct sbpf_maps *maps = cli_program_maps();
	if (a->maps_in && !maps) {
		fprintf(stderr, "safebpf run: %s: --maps-in: the program has no maps\n", a->file);
		return EXIT_USAGE;
	}
	if (a->maps_out && !maps && !(maps = a->own_maps = sbpf_maps__new())) /* dumps as {} */
		return EXIT_INPUT;
	if (maps) {
		a->exec.opts.maps = maps;
		if (a->seed)
			sbpf_maps__set_seed(maps, a->seed);
	}
	if (a->maps_in) {
		char *text = cli_read_file(a->maps_in, NULL);
		char why[300];
		if (!text)
			return EXIT_INPUT;
		int jrc = sbpf_maps__load_json(maps, text, why, sizeof(why));
		free(text);
		if (jrc) {
			fprintf(stderr, "safebpf: %s: %s\n", a->maps_in, why);
			return EXIT_INPUT;
		}
	}
	if (a->mem_hex && cli_parse_hex(a->mem_hex, mem, mem_len)) {
		fprintf(stderr, "safebpf run: --mem: not hex bytes: %s\n", a->mem_hex);
		return EXIT_USAGE;
	}
	if (a->mem_file) {
		char *buf = cli_read_file(a->mem_file, mem_len);
		if (!buf)
			return EXIT_INPUT;
		*mem = (uint8_t *)buf;
	}
	return 0;
}

static void print_r0(uint64_t r0, enum sbpf_prog_type type)
{
	static const char *const xdp_actions[] = {
		"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT",
	};
	if ((int64_t)r0 < 0)
		printf("r0 = 0x%" PRIx64 " (%" PRIu64 ", %" PRId64 ")", r0, r0, (int64_t)r0);
	else
		printf("r0 = 0x%" PRIx64 " (%" PRIu64 ")", r0, r0);
	if (type == SBPF_PROG_XDP && r0 < sizeof(xdp_actions) / sizeof(xdp_actions[0]))
		printf(" %s", xdp_actions[r0]);
	putchar('\n');
}

static void dump_mem(const uint8_t *mem, size_t len)
{
	for (size_t i = 0; i < len; i++)
		printf("%02x%s", mem[i], (i + 1) % 16 == 0 || i + 1 == len ? "\n" : " ");
}

/* Writes the maps' contents as JSON to @path ("-": stdout). 0 or -1. */
static int write_maps(const char *path, const struct sbpf_maps *maps)
{
	char *text = sbpf_maps__dump_json(maps);
	if (!text) {
		fprintf(stderr, "safebpf run: out of memory\n");
		return -1;
	}
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	int ok = f && fputs(text, f) >= 0;
	if (f && f != stdout)
		ok &= fclose(f) == 0;
	if (!ok)
		fprintf(stderr, "safebpf run: --maps-out %s: %s\n", path, strerror(errno));
	free(text);
	return ok ? 0 : -1;
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = { 0 };
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	struct sbpf_insn *insns = NULL;
	uint8_t *mem = NULL;
	size_t n = 0, mem_len = 0;
	struct sbpf_kops_lowered low = { 0 };
	int status = load_inputs(&a, &insns, &n, &mem, &mem_len);
	if (status)
		goto out;
	char why[512] = "";
	if (a.exec.opts.kops && strncmp(a.exec.engine->name, "jit", 3)) {
		fprintf(stderr, "safebpf run: --kops needs a JIT engine (--engine jit or jit-unchecked)\n");
		status = EXIT_USAGE;
		goto out;
	}
	struct cli_kops_prep kp = { .mode = a.exec.opts.kops, .rodata = a.exec.opts.rodata,
				    .rodata_len = a.exec.opts.rodata_len, .recognize = 1, .file = a.file,
				    .verbose = a.exec.opts.verbose };
	rc = cli_kops_prepare_opts(insns, n, &kp, &low, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "safebpf: %s: %s\n", a.file, why);
		sbpf_kops_lowered__free(&low); /* nothing of it is used: insns is freed below */
		status = rc == -EPERM ? EXIT_PERM : EXIT_INPUT;
		goto out;
	}
	if (rc > 0) {
		free(insns);
		insns = low.insns; /* run and report on the lowered program (freed with low) */
		n = low.n;
		a.exec.opts.lowered = &low;
		a.exec.opts.kops_verified = kp.verified;
		if (kp.recognized && !low.nsites)
			fprintf(stderr, "safebpf: %s: note: the recognizer found no Kops sites, so nothing runs "
				"natively\n", a.file);
	} else {
		a.exec.opts.kops = CLI_KOPS_OFF; /* nothing native (said why): the engine need not ask again */
	}
	void *h = a.exec.engine->load(insns, n, &a.exec.opts, why, sizeof(why));
	if (!h) {
		fprintf(stderr, "safebpf: %s: %s\n", a.file, why);
		status = EXIT_INPUT;
		goto out;
	}
	uint64_t r0 = 0;
	double ns = 0;
	struct sbpf_run_error err = { 0 };
	if (a.repeat)
		rc = cli_engine_run_repeat(a.exec.engine, h, mem, mem_len, a.repeat, &r0, &ns, &err);
	else
		rc = a.exec.engine->run(h, mem, mem_len, &r0, &err);
	if (rc) {
		char text[128];
		fprintf(stderr, "error at pc %zu: %s\n", err.pc, err.reason);
		if (err.pc < n && sbpf_disasm_insn(insns, n, err.pc, SBPF_DISASM_ASM, text, sizeof(text)) > 0)
			fprintf(stderr, "  %zu: %s\n", err.pc, text);
	} else {
		print_r0(r0, a.exec.opts.type);
		if (a.repeat)
			printf("time: %.1f ns per run (%s, %" PRIu64 " runs%s)\n", ns, a.exec.engine->name,
			       a.repeat, a.exec.engine->run_timed ? ", kernel-measured" : "");
		if (a.dump_mem)
			dump_mem(mem, mem_len);
	}
	if (!rc && a.maps_out && write_maps(a.maps_out, a.exec.opts.maps))
		rc = -EIO;
	a.exec.engine->unload(h);
	status = rc ? EXIT_FAIL : EXIT_OK;
out:
	if (low.insns)
		sbpf_kops_lowered__free(&low);
	else
		free(insns);
	free(mem);
	free(a.rodata);
	sbpf_maps__free(a.own_maps);
	return status;
}
