/* usdt.c - statically defined user-space probes (USDT, the SystemTap SDT
 * format) read from an ELF file: the probe list, where each probe's sites
 * are in the file, its semaphore, and where each argument lives at a site.
 *
 * A probe site is an ELF note in section .note.stapsdt (owner "stapsdt",
 * type 3) whose description holds three addresses (the site's pc, the
 * link-time address of section .stapsdt.base, the semaphore or 0), then
 * three strings: provider, name, and the arguments as assembler operands
 * with a size prefix ("-4@%edi 8@-16(%rbp) -1@$5"). When the file was
 * prelinked its .stapsdt.base moved: a pc is moved by the same amount.
 * Addresses become file offsets through the PT_LOAD segment holding them
 * (what a uprobe and its reference counter are attached by).
 *
 * Sites of one probe may keep its arguments in different places (a
 * macro expanded in two functions): each different set of places is a
 * variant, and each site says which one it uses (the attach cookie of its
 * uprobe, read by the generated program). Arguments are decoded for
 * x86-64 into one of three places (struct sql_usdt_arg): a register of
 * struct pt_regs, memory at a register plus a displacement (sym(%rip) is
 * memory at the probe's own address plus the distance from the site to
 * the symbol), or a constant. Anything else (an
 * index register, a segment, a bare number relative to %rip) is kept with
 * the reason it cannot be read, so that listing works and only a query
 * reading that argument fails.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sql/sqlInt.h"

#define NT_STAPSDT 3

/* x86-64 registers by every name an operand may use: the struct pt_regs
 * offset of the 64-bit register, and the byte the name starts at (1 for
 * %ah..%dh). */
static const struct { const char *name[5]; uint16_t off; } regs[] = {
	{ { "rax", "eax", "ax", "al", "ah" }, 80 },     { { "rbx", "ebx", "bx", "bl", "bh" }, 40 },
	{ { "rcx", "ecx", "cx", "cl", "ch" }, 88 },     { { "rdx", "edx", "dx", "dl", "dh" }, 96 },
	{ { "rsi", "esi", "si", "sil" }, 104 },         { { "rdi", "edi", "di", "dil" }, 112 },
	{ { "rbp", "ebp", "bp", "bpl" }, 32 },          { { "rsp", "esp", "sp", "spl" }, 152 },
	{ { "r8", "r8d", "r8w", "r8b" }, 72 },          { { "r9", "r9d", "r9w", "r9b" }, 64 },
	{ { "r10", "r10d", "r10w", "r10b" }, 56 },      { { "r11", "r11d", "r11w", "r11b" }, 48 },
	{ { "r12", "r12d", "r12w", "r12b" }, 24 },      { { "r13", "r13d", "r13w", "r13b" }, 16 },
	{ { "r14", "r14d", "r14w", "r14b" }, 8 },       { { "r15", "r15d", "r15w", "r15b" }, 0 },
	{ { "rip" }, 128 },
};

/* The pt_regs byte offset of register @name (without '%'), or -1. */
static int reg_offset(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		for (int k = 0; k < 5 && regs[i].name[k]; k++)
			if (strlen(regs[i].name[k]) == len && !strncmp(regs[i].name[k], name, len))
				return regs[i].off + (k == 4 ? 1 : 0);
	return -1;
}

/* An ELF file open for reading: its descriptor and libelf handle. */
struct elfile {
	int fd;                /* open file */
	Elf *e;                /* libelf handle */
};

static void elfile_close(struct elfile *f)
{
	if (f->e)
		elf_end(f->e);
	if (f->fd >= 0)
		close(f->fd);
}

/* Opens @path as an ELF file: 0, or -errno with a reason in @err. */
static int elfile_open(const char *path, struct elfile *f, char *err, size_t errsz)
{
	f->e = NULL;
	if ((f->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		int e = errno;
		snprintf(err, errsz, "cannot open '%s': %s", path, strerror(e));
		return -e;
	}
	elf_version(EV_CURRENT);
	if (!(f->e = elf_begin(f->fd, ELF_C_READ, NULL)) || elf_kind(f->e) != ELF_K_ELF) {
		snprintf(err, errsz, "'%s' is not an ELF file", path);
		elfile_close(f);
		return -ENOEXEC;
	}
	return 0;
}

/* File offset of address @addr (in a PT_LOAD segment with file bytes), or
 * -ENOENT. */
static int addr_offset(Elf *e, uint64_t addr, uint64_t *off)
{
	size_t n;
	if (elf_getphdrnum(e, &n))
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && addr >= ph.p_vaddr &&
		    addr < ph.p_vaddr + ph.p_filesz) {
			*off = addr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* The section named @name, or NULL. */
static Elf_Scn *section(Elf *e, const char *name, GElf_Shdr *sh)
{
	size_t shstr;
	if (elf_getshdrstrndx(e, &shstr))
		return NULL;
	for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
		const char *n = gelf_getshdr(s, sh) ? elf_strptr(e, shstr, sh->sh_name) : NULL;
		if (n && !strcmp(n, name))
			return s;
	}
	return NULL;
}

/* Address of symbol @name (.symtab, then .dynsym), or -ENOENT. */
static int symbol_addr(Elf *e, const char *name, uint64_t *addr)
{
	for (int pass = 0; pass < 2; pass++)
		for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
			GElf_Shdr sh;
			if (!gelf_getshdr(s, &sh) || sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB) || !sh.sh_entsize)
				continue;
			Elf_Data *d = elf_getdata(s, NULL);
			for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym sym;
				const char *n = gelf_getsym(d, (int)i, &sym) ? elf_strptr(e, sh.sh_link, sym.st_name) : NULL;
				if (n && sym.st_shndx != SHN_UNDEF && !strcmp(n, name)) {
					*addr = sym.st_value;
					return 0;
				}
			}
		}
	return -ENOENT;
}

/* Parses a decimal or 0x number at @s into @v; the end, or NULL. */
static const char *number(const char *s, int64_t *v)
{
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 0);
	if (end == s || errno)
		return NULL;
	*v = x;
	return end;
}

/* Decodes operand @text of a site at address @pc of @e into @a (loc and
 * the reason when it cannot be read). */
static void parse_arg(Elf *e, uint64_t pc, const char *text, struct sql_usdt_arg *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->text, sizeof(a->text), "%s", text);
	a->loc = SQL_USDT_BAD;
	a->size = 8;
	const char *at = strchr(text, '@'), *op = text;
	if (at) {
		int64_t sz;
		const char *end = number(text, &sz);
		if (end != at || !sz || (sz != 1 && sz != 2 && sz != 4 && sz != 8 && sz != -1 && sz != -2 &&
					 sz != -4 && sz != -8)) {
			snprintf(a->why, sizeof(a->why), "its size is not 1, 2, 4 or 8 bytes");
			return;
		}
		a->is_signed = sz < 0;
		a->size = (uint8_t)(sz < 0 ? -sz : sz);
		op = at + 1;
	}
	if (op[0] == '$') {
		const char *end = number(op + 1, &a->imm);
		if (!end || *end) {
			snprintf(a->why, sizeof(a->why), "the constant is not a number");
			return;
		}
		a->loc = SQL_USDT_CONST;
		return;
	}
	if (op[0] == '%') {
		int off = reg_offset(op + 1, strlen(op + 1));
		if (off < 0 || off == 128) {
			snprintf(a->why, sizeof(a->why), "unknown register");
			return;
		}
		a->loc = SQL_USDT_REG;
		a->reg = (uint16_t)off;
		return;
	}
	/* memory: [disp | sym[+-disp]](%reg) */
	const char *paren = strchr(op, '(');
	const char *close = paren ? strchr(paren, ')') : NULL;
	if (!paren || !close || close[1] || paren[1] != '%' || strchr(paren, ',') || strchr(op, ':')) {
		snprintf(a->why, sizeof(a->why), "only a register, a constant, or memory at a register plus a displacement "
			 "can be read (not an index register, a segment or another form)");
		return;
	}
	int off = reg_offset(paren + 2, (size_t)(close - paren - 2));
	if (off < 0) {
		snprintf(a->why, sizeof(a->why), "unknown base register");
		return;
	}
	if (off % 8) {
		snprintf(a->why, sizeof(a->why), "a byte register as a base");
		return;
	}
	int64_t disp = 0;
	if (off == 128) {
		/* sym(%rip), sym+N(%rip): the symbol's address, reached from the
		 * probe's address at run time (pt_regs ip at the uprobe). */
		char sym[128];
		size_t n = 0;
		while (op + n < paren && (isalnum((unsigned char)op[n]) || op[n] == '_' || op[n] == '.') && n < 127)
			n++;
		snprintf(sym, sizeof(sym), "%.*s", (int)n, op);
		uint64_t sa;
		if (!n || isdigit((unsigned char)sym[0]) || (op[n] != '(' && (!number(op + n, &disp) ||
									    number(op + n, &disp) != paren))) {
			snprintf(a->why, sizeof(a->why), "memory relative to %%rip without a symbol");
			return;
		}
		if (symbol_addr(e, sym, &sa)) {
			snprintf(a->why, sizeof(a->why), "symbol '%.64s' is not defined in the file", sym);
			return;
		}
		disp += (int64_t)(sa - pc);
	} else if (op != paren && number(op, &disp) != paren) {
		snprintf(a->why, sizeof(a->why), "the displacement is not a number");
		return;
	}
	if (disp < INT32_MIN || disp > INT32_MAX) {
		snprintf(a->why, sizeof(a->why), "the displacement does not fit in 32 bits");
		return;
	}
	a->loc = SQL_USDT_MEM;
	a->reg = (uint16_t)off;
	a->imm = disp;
}

/* Whether argument lists @x and @y (@n each) are in the same places. */
static bool same_args(const struct sql_usdt_arg *x, const struct sql_usdt_arg *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (x[i].loc != y[i].loc || x[i].size != y[i].size || x[i].is_signed != y[i].is_signed ||
		    x[i].reg != y[i].reg || (x[i].imm != y[i].imm && x[i].loc != SQL_USDT_BAD))
			return false;
	return true;
}

/* The variant of @p whose places are @args (@nargs), added when new; -1
 * with p->mixed set when the site cannot share the probe's table. */
static int variant_of(struct sql_usdt_probe *p, const struct sql_usdt_arg *args, size_t nargs)
{
	if (nargs != p->nargs) {
		snprintf(p->mixed, sizeof(p->mixed), "its sites have different numbers of arguments");
		return -1;
	}
	for (size_t v = 0; v < p->nvariants; v++)
		if (same_args(p->args[v], args, nargs))
			return (int)v;
	for (size_t i = 0; i < nargs && p->nvariants; i++)
		if (args[i].size != p->args[0][i].size || args[i].is_signed != p->args[0][i].is_signed) {
			snprintf(p->mixed, sizeof(p->mixed), "its sites give argument %zu different types (%s, %s)",
				 i + 1, p->args[0][i].text, args[i].text);
			return -1;
		}
	if (p->nvariants == SQL_USDT_MAX_VARIANTS) {
		snprintf(p->mixed, sizeof(p->mixed), "its sites keep their arguments in more than %d different places",
			 SQL_USDT_MAX_VARIANTS);
		return -1;
	}
	memcpy(p->args[p->nvariants], args, nargs * sizeof(*args));
	return (int)p->nvariants++;
}

/* Adds the site of note description @desc (@len bytes) to @v. */
static int add_site(Elf *e, const uint8_t *desc, size_t len, uint64_t base_now, bool has_base,
		    struct sql_usdt_probe **v, size_t *n, char *err, size_t errsz, const char *path)
{
	if (len < 3 * 8 + 3)
		return 0; /* malformed: skipped */
	uint64_t pc, base, sema;
	memcpy(&pc, desc, 8);
	memcpy(&base, desc + 8, 8);
	memcpy(&sema, desc + 16, 8);
	const char *prov = (const char *)desc + 24, *end = (const char *)desc + len;
	const char *name = memchr(prov, 0, (size_t)(end - prov));
	const char *args = name ? memchr(name + 1, 0, (size_t)(end - name - 1)) : NULL;
	if (!args || !memchr(args + 1, 0, (size_t)(end - args - 1)))
		return 0;
	name++;
	args++;
	if (has_base)
		pc += base_now - base; /* prelink moved the file: move the site with it */
	struct sql_usdt_arg parsed[SQL_USDT_MAX_ARGS];
	size_t nargs = 0;
	char buf[sizeof(parsed[0].text)];
	for (const char *s = args; *s;) {
		while (*s == ' ')
			s++;
		size_t k = strcspn(s, " ");
		if (!k)
			break;
		if (nargs == SQL_USDT_MAX_ARGS) {
			snprintf(err, errsz, "%s: probe %s:%s has more than %d arguments", path, prov, name,
				 SQL_USDT_MAX_ARGS);
			return -E2BIG;
		}
		snprintf(buf, sizeof(buf), "%.*s", (int)k, s);
		parse_arg(e, pc, buf, &parsed[nargs++]);
		s += k;
	}
	uint64_t off, soff = 0;
	if (addr_offset(e, pc, &off) || (sema && addr_offset(e, sema, &soff)))
		return 0; /* not in the file's loaded image: skipped */
	struct sql_usdt_probe *p = NULL;
	for (size_t i = 0; i < *n && !p; i++)
		if (!strcmp((*v)[i].provider, prov) && !strcmp((*v)[i].name, name))
			p = &(*v)[i];
	if (!p) {
		struct sql_usdt_probe *nv = realloc(*v, (*n + 1) * sizeof(**v));
		if (!nv) {
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
		*v = nv;
		p = &nv[(*n)++];
		memset(p, 0, sizeof(*p));
		snprintf(p->provider, sizeof(p->provider), "%s", prov);
		snprintf(p->name, sizeof(p->name), "%s", name);
		snprintf(p->argstr, sizeof(p->argstr), "%s", args);
		p->nargs = nargs;
		p->sema = soff;
	}
	int var = p->mixed[0] ? -1 : variant_of(p, parsed, nargs);
	if (p->nsites < SQL_USDT_MAX_SITES) {
		p->sites[p->nsites] = off;
		p->site_variant[p->nsites] = (uint8_t)(var < 0 ? 0 : var);
	}
	p->nsites++;
	return 0;
}

int sql_usdt_list(const char *path, struct sql_usdt_probe **out, size_t *n, char *err, size_t errsz)
{
	*out = NULL;
	*n = 0;
	struct elfile f;
	int rc = elfile_open(path, &f, err, errsz);
	if (rc)
		return rc;
	GElf_Shdr sh, bsh;
	Elf_Scn *notes = section(f.e, ".note.stapsdt", &sh);
	bool has_base = section(f.e, ".stapsdt.base", &bsh) != NULL;
	if (!notes || sh.sh_type != SHT_NOTE) {
		snprintf(err, errsz, "'%s' has no USDT probes (no .note.stapsdt section)", path);
		elfile_close(&f);
		return -ENODATA;
	}
	if (gelf_getclass(f.e) != ELFCLASS64) {
		snprintf(err, errsz, "'%s' is not a 64-bit ELF file", path);
		elfile_close(&f);
		return -ENOEXEC;
	}
	Elf_Data *d = elf_getdata(notes, NULL);
	size_t at = 0, next;
	GElf_Nhdr nh;
	size_t name_off, desc_off;
	while (!rc && d && (next = gelf_getnote(d, at, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_STAPSDT && nh.n_namesz == 8 &&
		    !memcmp((const char *)d->d_buf + name_off, "stapsdt", 8))
			rc = add_site(f.e, (const uint8_t *)d->d_buf + desc_off, nh.n_descsz, bsh.sh_addr, has_base,
				      out, n, err, errsz, path);
		at = next;
	}
	elfile_close(&f);
	if (!rc && !*n) {
		snprintf(err, errsz, "'%s' has no USDT probes (its .note.stapsdt is empty)", path);
		rc = -ENODATA;
	}
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int sql_usdt_find(const char *path, const char *spec, struct sql_usdt_probe *out, char *err, size_t errsz)
{
	struct sql_usdt_probe *v;
	size_t n;
	int rc = sql_usdt_list(path, &v, &n, err, errsz);
	if (rc)
		return rc;
	const char *colon = strchr(spec, ':');
	size_t found = 0, at = 0;
	for (size_t i = 0; i < n; i++) {
		bool match = colon ? (size_t)(colon - spec) == strlen(v[i].provider) &&
					     !strncmp(spec, v[i].provider, (size_t)(colon - spec)) &&
					     !strcmp(colon + 1, v[i].name)
				   : !strcmp(spec, v[i].name);
		if (match && !found++)
			at = i;
	}
	if (found == 1) {
		*out = v[at];
	} else if (found > 1) {
		size_t k = (size_t)snprintf(err, errsz, "probe name '%s' is ambiguous in '%s': it is", spec, path);
		for (size_t i = 0, m = 0; i < n && k < errsz; i++)
			if (!strcmp(spec, v[i].name))
				k += (size_t)snprintf(err + k, errsz - k, "%s %s:%s", m++ ? "," : "", v[i].provider,
						      v[i].name);
		rc = -EINVAL;
	} else {
		size_t k = (size_t)snprintf(err, errsz, "'%s' has no USDT probe '%s' (it has", path, spec);
		for (size_t i = 0; i < n && i < 6 && k < errsz; i++)
			k += (size_t)snprintf(err + k, errsz - k, "%s %s:%s", i ? "," : "", v[i].provider, v[i].name);
		if (k < errsz)
			snprintf(err + k, errsz - k, "%s)", n > 6 ? ", ..." : "");
		rc = -ENOENT;
	}
	free(v);
	return rc;
}
