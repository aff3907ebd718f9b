/* cli.h - shared declarations for the command-line front end (src/cli/).
 * Only this directory prints or exits; the library returns errors.
 */
#ifndef SAFEBPF_CLI_H
#define SAFEBPF_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"

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

/* Reads a whole file (or stdin for "-") into a NUL-terminated malloc'ed
 * buffer. Returns NULL and prints why on failure. */
char *cli_read_file(const char *path, size_t *len);

/* Loads a program from @path: a clang-compiled BPF object (ELF magic; its
 * only program), assembly text (.s/.asm or anything that is not a multiple
 * of 8 bytes of bytecode) or raw bytecode. Prints diagnostics and
 * returns NULL on error. */
struct sbpf_insn *cli_load_program(const char *path, size_t *n);

/* Loads program @prog (a name or section; NULL: the only one, an error
 * listing them when there are several) of the clang-compiled BPF object
 * @path (safebpf/elf.h). *@is_xdp (when not NULL) tells whether its section
 * makes it an XDP program. Prints why and returns NULL on error. */
struct sbpf_insn *cli_load_elf(const char *path, const char *prog, size_t *n, int *is_xdp);
/* cli_load_elf() that also takes read-only data (safebpf/elf.h
 * sbpf_elf__prog_insns_rodata): *@rodata malloc'ed or NULL. */
struct sbpf_insn *cli_load_elf_rodata(const char *path, const char *prog, size_t *n, int *is_xdp,
				      uint8_t **rodata, size_t *rodata_len);

/* Parses "aa bb 11" or "aabb11" hex into a malloc'ed buffer. Returns 0 or -EINVAL. */
int cli_parse_hex(const char *text, uint8_t **out, size_t *len);

#endif
