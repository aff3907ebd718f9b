/* cli.h - shared declarations for the command-line front end (src/cli/).
 * Only this directory prints or exits; the library returns errors.
 */
#ifndef SAFEBPF_CLI_H
#define SAFEBPF_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"
#include "safebpf/kops.h"
#include "safebpf/sql.h"

/* Exit codes scripts can rely on. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,      /* the operation ran and failed (test failed, program error) */
	EXIT_USAGE = 2,     /* bad command line */
	EXIT_INPUT = 3,     /* bad input file (assembly, bytecode, query) */
	EXIT_PERM = 4,      /* missing privileges */
};

#define CMD(name, fn, summary) int cmd_##fn(int argc, char **argv);
#include "commands.def"

/* Input size limits (docs/asm.md "Input limits"). Raw bytecode is at most
 * SBPF_MAX_INSNS 8-byte slots (8 MiB); any other input file (assembly or
 * hex text, .data test files, BPF objects, --mem-file, --rodata, queries)
 * at most CLI_MAX_INPUT bytes, which holds the assembly of the largest
 * program (about 40 bytes a line). */
#define CLI_MAX_BYTECODE ((size_t)SBPF_MAX_INSNS * 8)
#define CLI_MAX_INPUT ((size_t)64 << 20)

/* Reads a whole file (or stdin for "-") into a NUL-terminated malloc'ed
 * buffer, at most CLI_MAX_INPUT bytes: a longer input (/dev/zero, a pipe
 * that never ends) is refused after reading one byte past the limit.
 * Returns NULL and prints why on failure. */
char *cli_read_file(const char *path, size_t *len);
/* The bytes of @path as raw bytecode: prints why and returns nonzero when
 * @len is not a whole number of slots or exceeds CLI_MAX_BYTECODE. */
int cli_check_bytecode_len(const char *path, size_t len);

/* Loads a program from @path: a clang-compiled BPF object (ELF magic; its
 * only program), assembly text (.s/.asm or anything that is not a multiple
 * of 8 bytes of bytecode) or raw bytecode. Prints diagnostics and
 * returns NULL on error. */
struct sbpf_insn *cli_load_program(const char *path, size_t *n);
/* cli_load_program() that also takes an object's read-only data (.rodata:
 * const tables, string literals) into *@rodata (malloc'ed, NULL if none). */
struct sbpf_insn *cli_load_program_rodata(const char *path, size_t *n, uint8_t **rodata, size_t *rodata_len);

/* cli_load_program_rodata(), or the program of a .data test file (by its
 * name's suffix). Prints diagnostics and returns NULL on error. */
struct sbpf_insn *cli_load_any_rodata(const char *file, size_t *n, uint8_t **rodata, size_t *rodata_len);

/* Loads program @prog (a name or section; NULL: the only one, an error
 * listing them when there are several) of the clang-compiled BPF object
 * @path (safebpf/elf.h). *@is_xdp (when not NULL) tells whether its section
 * makes it an XDP program. Prints why and returns NULL on error. */
struct sbpf_insn *cli_load_elf(const char *path, const char *prog, size_t *n, int *is_xdp);
/* cli_load_elf() that also takes read-only data (safebpf/elf.h
 * sbpf_elf__prog_insns_rodata): *@rodata malloc'ed or NULL. */
struct sbpf_insn *cli_load_elf_rodata(const char *path, const char *prog, size_t *n, int *is_xdp,
				      uint8_t **rodata, size_t *rodata_len);
/* The maps (safebpf/maps.h) of the object cli_load_elf*() loaded last, or
 * NULL when it has none; its references in the instructions name them
 * (lddw src 1/2, imm = index). Kernel copies of them, when this process
 * may make them, are what later kernel loads resolve those to
 * (sbpf_kernel_set_map_fds). Lives until the next object is loaded. */
struct sbpf_maps *cli_program_maps(void);

/* Prints collected diagnostics (caret form) to stderr. */
struct sbpf_diags;
void cli_print_diags(const struct sbpf_diags *d);
/* 1 when the file at @path starts with the ELF magic. */
int cli_is_elf_file(const char *path);
/* Compiles query @sql with @plan into *@q, printing diagnostics that name
 * @file ("<query>", a path, "<stdin>"). Returns EXIT_OK, or the exit code
 * of the failure. */
int cli_compile_query(const char *sql, const char *file, enum sbpf_plan_strategy plan, struct sbpf_query **q);
/* Whether a command-line argument is an option ("-d", "--plan"): it starts
 * with '-' and holds no blank, so that a query starting with a "--" comment
 * is taken as the query. */
bool cli_is_option(const char *arg);
/* The query of a command: the text of @path (--file; "-" is standard input,
 * NULL: none) or else @arg. Sets *@file to the name its diagnostics show
 * and *@owned to the buffer to free (or NULL). Prints why and returns NULL
 * when the file cannot be read or is not text. */
const char *cli_query_text(const char *arg, const char *path, char **owned, const char **file);

/* Parses "aa bb 11" or "aabb11" hex into a malloc'ed buffer. Returns 0 or -EINVAL. */
int cli_parse_hex(const char *text, uint8_t **out, size_t *len);

/* ---- Kops (kops_cli.c) ---- */

/* --kops modes (struct cli_engine_opts kops, safebpf jit). */
enum {
	CLI_KOPS_OFF = 0,        /* sites run their proof sequences */
	CLI_KOPS_ON = 1,         /* native operations, after the kernel verifier accepts */
	CLI_KOPS_UNVERIFIED = 2, /* native operations without asking the kernel (tests only) */
};

/* 1 when @insns holds at least one Kops site. */
int cli_kops_has_sites(const struct sbpf_insn *insns, size_t n);

/* When @insns has Kops sites, lowers it into @l (the caller runs l->insns
 * and frees @l) and returns 1; with @mode CLI_KOPS_ON the lowered program
 * must first pass the running kernel's verifier (with the program's
 * read-only data @rodata, @rodata_len bytes, or NULL). Returns 0 (nothing done,
 * @l empty) when there are no sites, or a negative errno with a reason for
 * people in @why: -EINVAL for a malformed site or a broken site rule
 * ("invalid program: instruction N: ..."), -EPERM when the kernel cannot
 * be asked, another errno with the verifier's reason when it refuses. */
int cli_kops_prepare(const struct sbpf_insn *insns, size_t n, int mode, const void *rodata, size_t rodata_len,
		     struct sbpf_kops_lowered *l, char *why, size_t whysz);

/* What cli_kops_prepare_opts() is asked, and what it tells. */
struct cli_kops_prep {
	int mode;               /* CLI_KOPS_* */
	const void *rodata;     /* the program's read-only data, or NULL */
	size_t rodata_len;      /* its bytes */
	int recognize;          /* 1: with mode != OFF, a program without sites goes
				 * through the recognizer (EInsn on any program) */
	const char *file;       /* the program's name in messages (NULL: "program") */
	int verbose;            /* 1: list each site used on stderr */
	int verified;           /* out: the kernel verifier accepted the lowered program */
	int recognized;         /* out: the sites came from the recognizer */
};

/* cli_kops_prepare() with the recognizer: a program without sites, with
 * @p->mode CLI_KOPS_ON and @p->recognize, is rewritten under the kernel
 * verifier (sbpf_kops_rewrite_verified(): rewrites it refuses are left out
 * and printed on stderr, one line each) and returns 1 with the accepted
 * program lowered in @l (it may hold no site); with CLI_KOPS_UNVERIFIED the
 * recognizer's output is lowered without asking the kernel. A program
 * without sites that the verifier refuses as it is gets a note on stderr
 * and 0 (it runs as it is, nothing native). Sets
 * @p->verified when the kernel accepted what @l holds. */
int cli_kops_prepare_opts(const struct sbpf_insn *insns, size_t n, struct cli_kops_prep *p,
			  struct sbpf_kops_lowered *l, char *why, size_t whysz);

/* ---- the llvm engine (engine_llvm.c) ---- */

struct cli_engine_opts;

/* Asks the running kernel's verifier about @insns as an XDP program with
 * the read-only data of @o. Returns 0 when it accepts, else a negative
 * errno with the reason for people in @why (not xdp, no privileges, or the
 * verifier's own reason). */
int cli_llvm_verify(const struct sbpf_insn *insns, size_t n, const struct cli_engine_opts *o, char *why,
		    size_t whysz);

/* "rotate dst=r1 a=r0 b=r0 c=r2 imm=8 variant=0x0" */
void cli_kops_describe(const struct sbpf_kops_payload *p, char *buf, size_t bufsz);

#endif
