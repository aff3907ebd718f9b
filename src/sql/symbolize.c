/* symbolize.c - stack addresses to function names, in user space, for the
 * kstack and ustack columns (record.c) and for uprobe tables (their
 * function's file offset).
 *
 * Kernel addresses are looked up in /proc/kallsyms (read once, sorted).
 * A user address of process P is looked up in P's memory map
 * (/proc/P/maps, cached per process and read again when an address falls
 * outside every cached mapping), turned into a file offset, then into the
 * file's virtual address through its PT_LOAD segments, and named from the
 * file's ELF symbol tables (.symtab, else .dynsym) read with libelf. Files
 * are cached by device and inode, and share one symbol table when their
 * GNU build ids are equal (the same binary under two paths or mounts).
 * Files are opened through /proc/P/root so that a process in another mount
 * namespace names its own files.
 *
 * All caches live for the life of the process and are guarded by one
 * mutex (queries may run in several threads: safebpf serve).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sql/sqlInt.h"

/* ---- ELF symbol tables ------------------------------------------------------ */

struct sym {
	uint64_t addr;   /* st_value (virtual address in the file's own layout) */
	uint64_t size;   /* st_size (0: unknown, up to the next symbol) */
	const char *name;/* into the names block */
};

struct seg {
	uint64_t off;    /* p_offset */
	uint64_t vaddr;  /* p_vaddr */
	uint64_t filesz; /* p_filesz */
};

#define MAX_SEGS 16

struct symtab {
	char build_id[41];     /* hex GNU build id, "" when the file has none */
	struct sym *syms;      /* sorted by addr */
	size_t nsyms;          /* entries in syms */
	char *names;           /* copies of the names */
	struct seg segs[MAX_SEGS]; /* PT_LOAD segments */
	size_t nsegs;          /* entries in segs */
	bool stripped;         /* neither .symtab nor .dynsym has a function */
	bool has_symtab;       /* the functions come from .symtab (else .dynsym: exported only) */
};

struct file {
	dev_t dev;             /* st_dev of the mapped file */
	ino_t ino;             /* st_ino */
	char *base;            /* basename, for frames without a symbol */
	struct symtab *st;     /* NULL: not an ELF file we can read */
	struct file *next;     /* cache list */
};

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static void symtab_free(struct symtab *st)
{
	if (!st)
		return;
	free(st->syms);
	free(st->names);
	free(st);
}

/* Hex build id from the GNU build-id note of @e, or "". */
static void read_build_id(Elf *e, char out[41])
{
	out[0] = '\0';
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t off = 0, noff, doff;
		GElf_Nhdr nh;
		while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((const char *)d->d_buf + noff, "GNU", 4)) {
				const unsigned char *id = (const unsigned char *)d->d_buf + doff;
				size_t n = nh.n_descsz > 20 ? 20 : nh.n_descsz;
				for (size_t i = 0; i < n; i++)
					snprintf(out + 2 * i, 3, "%02x", id[i]);
				return;
			}
		}
	}
}

/* Appends the functions of symbol table section @scn to @st. */
static int add_symbols(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct symtab *st, size_t *cap,
		       size_t *namelen, size_t *namecap)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !sh->sh_entsize)
		return 0;
	size_t n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s))
			continue;
		int type = GELF_ST_TYPE(s.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !s.st_value || s.st_shndx == SHN_UNDEF)
			continue;
		const char *name = elf_strptr(e, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		size_t l = strlen(name) + 1;
		if (*namelen + l > *namecap) {
			size_t nc = (*namecap ? *namecap * 2 : 65536) + l;
			char *nn = realloc(st->names, nc);
			if (!nn)
				return -ENOMEM;
			st->names = nn;
			*namecap = nc;
		}
		memcpy(st->names + *namelen, name, l);
		if (st->nsyms == *cap) {
			size_t c = *cap ? *cap * 2 : 1024;
			struct sym *ns = realloc(st->syms, c * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			st->syms = ns;
			*cap = c;
		}
		/* names are offsets until the block stops moving */
		st->syms[st->nsyms++] = (struct sym){ s.st_value, s.st_size, (const char *)(uintptr_t)*namelen };
		*namelen += l;
	}
	return 0;
}

/* Reads the segments, build id and function symbols of the ELF file open
 * at @fd. NULL with errno when it is not a readable ELF file. */
static struct symtab *symtab_read(int fd)
{
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		errno = ENOEXEC;
		return NULL;
	}
	struct symtab *st = calloc(1, sizeof(*st));
	if (!st) {
		elf_end(e);
		errno = ENOMEM;
		return NULL;
	}
	size_t nph = 0;
	if (!elf_getphdrnum(e, &nph))
		for (size_t i = 0; i < nph && st->nsegs < MAX_SEGS; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD)
				st->segs[st->nsegs++] = (struct seg){ ph.p_offset, ph.p_vaddr, ph.p_filesz };
		}
	read_build_id(e, st->build_id);
	size_t cap = 0, namelen = 0, namecap = 0;
	int rc = 0;
	/* .symtab has every function; .dynsym only the exported ones. */
	static const unsigned order[] = { SHT_SYMTAB, SHT_DYNSYM };
	for (size_t k = 0; k < 2 && !rc; k++) {
		unsigned want = order[k];
		Elf_Scn *scn = NULL;
		while ((scn = elf_nextscn(e, scn)) && !rc) {
			GElf_Shdr sh;
			if (gelf_getshdr(scn, &sh) && sh.sh_type == want)
				rc = add_symbols(e, scn, &sh, st, &cap, &namelen, &namecap);
		}
		if (st->nsyms) {
			st->has_symtab = k == 0;
			break;
		}
	}
	elf_end(e);
	if (rc) {
		symtab_free(st);
		errno = -rc;
		return NULL;
	}
	for (size_t i = 0; i < st->nsyms; i++)
		st->syms[i].name = st->names + (uintptr_t)st->syms[i].name;
	if (st->nsyms)
		qsort(st->syms, st->nsyms, sizeof(*st->syms), sym_cmp);
	st->stripped = st->nsyms == 0;
	return st;
}

/* The function of @st containing virtual address @va, or NULL. */
static const struct sym *symtab_find(const struct symtab *st, uint64_t va)
{
	size_t lo = 0, hi = st->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->syms[mid].addr <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	/* among equal addresses prefer a sized symbol */
	const struct sym *s = &st->syms[lo - 1];
	for (size_t i = lo - 1; i > 0 && st->syms[i - 1].addr == s->addr; i--)
		if (!s->size)
			s = &st->syms[i - 1];
	if (s->size && va >= s->addr + s->size)
		return NULL;
	return s;
}

/* Virtual address of file offset @off in @st (PT_LOAD), false if none. */
static bool symtab_off_to_va(const struct symtab *st, uint64_t off, uint64_t *va)
{
	for (size_t i = 0; i < st->nsegs; i++)
		if (off >= st->segs[i].off && off < st->segs[i].off + st->segs[i].filesz) {
			*va = off - st->segs[i].off + st->segs[i].vaddr;
			return true;
		}
	return false;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct file *files;         /* every file read so far */

/* The cached file for (dev, ino), reading it from @path when new. */
static struct file *file_get(const char *path, const char *shown)
{
	struct stat sb;
	if (stat(path, &sb))
		return NULL;
	for (struct file *f = files; f; f = f->next)
		if (f->dev == sb.st_dev && f->ino == sb.st_ino)
			return f;
	struct file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	const char *slash = strrchr(shown, '/');
	f->base = strdup(slash ? slash + 1 : shown);
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		f->st = symtab_read(fd);
		close(fd);
	}
	/* The same build id already read (another path or mount): share it. */
	if (f->st && f->st->build_id[0])
		for (struct file *o = files; o; o = o->next)
			if (o->st && !strcmp(o->st->build_id, f->st->build_id)) {
				symtab_free(f->st);
				f->st = o->st;
				break;
			}
	f->next = files;
	files = f;
	return f;
}

/* ---- process memory maps ------------------------------------------------------ */

struct map {
	uint64_t start, end;   /* [start, end) */
	uint64_t pgoff;        /* file offset of start */
	struct file *file;     /* the mapped file, or NULL (anonymous, [vdso], unreadable) */
	char *name;            /* the path or [name] as /proc/PID/maps shows it */
};

struct proc {
	int pid;               /* process id */
	struct map *maps;      /* executable mappings, by address */
	size_t nmaps;          /* entries in maps */
	struct proc *next;     /* cache list */
};

#define MAX_PROCS 4096     /* processes whose maps are kept (all dropped beyond) */
static struct proc *procs;
static size_t nprocs;

static void proc_clear(struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		free(p->maps[i].name);
	free(p->maps);
	p->maps = NULL;
	p->nmaps = 0;
}

/* (Re)reads the executable mappings of @p. 0 or -errno (process gone). */
static int proc_load(struct proc *p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	FILE *fp = fopen(path, "re");
	if (!fp)
		return -errno;
	proc_clear(p);
	size_t cap = 0;
	char line[4352];
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long s, e, off;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &s, &e, perms, &off, &pos) < 4 || perms[2] != 'x')
			continue;
		char *name = line + pos;
		while (*name == ' ')
			name++;
		name[strcspn(name, "\n")] = '\0';
		if (p->nmaps == cap) {
			cap = cap ? cap * 2 : 32;
			struct map *nm = realloc(p->maps, cap * sizeof(*nm));
			if (!nm)
				break;
			p->maps = nm;
		}
		struct map *m = &p->maps[p->nmaps];
		*m = (struct map){ s, e, off, NULL, strdup(name) };
		if (!m->name)
			break;
		p->nmaps++;
		if (name[0] == '/') {
			char full[4352 + 32];
			snprintf(full, sizeof(full), "/proc/%d/root%s", p->pid, name);
			if (!(m->file = file_get(full, name)))
				m->file = file_get(name, name);
		}
	}
	fclose(fp);
	return 0;
}

static struct proc *proc_get(int pid, bool *fresh)
{
	*fresh = false;
	for (struct proc *p = procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	if (nprocs >= MAX_PROCS) {
		while (procs) {
			struct proc *n = procs->next;
			proc_clear(procs);
			free(procs);
			procs = n;
		}
		nprocs = 0;
	}
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	proc_load(p);
	p->next = procs;
	procs = p;
	nprocs++;
	*fresh = true;
	return p;
}

static const struct map *map_find(const struct proc *p, uint64_t addr)
{
	for (size_t i = 0; i < p->nmaps; i++)
		if (addr >= p->maps[i].start && addr < p->maps[i].end)
			return &p->maps[i];
	return NULL;
}

/* Names user address @addr of process @pid into @out: "function",
 * "[file]" when the file has no symbol there, "[unknown]" when no mapping
 * holds it (the process is gone, or the address is not code). */
static void name_user(int pid, uint64_t addr, char *out, size_t outsz)
{
	bool fresh;
	struct proc *p = proc_get(pid, &fresh);
	const struct map *m = p ? map_find(p, addr) : NULL;
	if (p && !m && !fresh && !proc_load(p))
		m = map_find(p, addr);
	if (!m) {
		snprintf(out, outsz, "[unknown]");
		return;
	}
	uint64_t va;
	const struct sym *s = NULL;
	if (m->file && m->file->st && symtab_off_to_va(m->file->st, addr - m->start + m->pgoff, &va))
		s = symtab_find(m->file->st, va);
	if (s)
		snprintf(out, outsz, "%s", s->name);
	else if (m->file)
		snprintf(out, outsz, "[%s]", m->file->base);
	else
		snprintf(out, outsz, "%s", m->name[0] ? m->name : "[anon]");
}

/* ---- kernel symbols --------------------------------------------------------------- */

static struct symtab *ksyms;       /* /proc/kallsyms text symbols */
static bool ksyms_tried;

static void ksyms_load(void)
{
	ksyms_tried = true;
	FILE *fp = fopen("/proc/kallsyms", "re");
	if (!fp)
		return;
	struct symtab *st = calloc(1, sizeof(*st));
	size_t cap = 0, namelen = 0, namecap = 0;
	char line[512];
	while (st && fgets(line, sizeof(line), fp)) {
		unsigned long long a;
		char type, name[256];
		if (sscanf(line, "%llx %c %255s", &a, &type, name) != 3 || (type != 't' && type != 'T') || !a)
			continue;
		size_t l = strlen(name) + 1;
		if (namelen + l > namecap) {
			namecap = (namecap ? namecap * 2 : 1 << 20) + l;
			char *nn = realloc(st->names, namecap);
			if (!nn)
				goto fail;
			st->names = nn;
		}
		if (st->nsyms == cap) {
			cap = cap ? cap * 2 : 65536;
			struct sym *ns = realloc(st->syms, cap * sizeof(*ns));
			if (!ns)
				goto fail;
			st->syms = ns;
		}
		memcpy(st->names + namelen, name, l);
		st->syms[st->nsyms++] = (struct sym){ a, 0, (const char *)(uintptr_t)namelen };
		namelen += l;
	}
	fclose(fp);
	if (!st)
		return;
	for (size_t i = 0; i < st->nsyms; i++)
		st->syms[i].name = st->names + (uintptr_t)st->syms[i].name;
	if (st->nsyms)
		qsort(st->syms, st->nsyms, sizeof(*st->syms), sym_cmp);
	ksyms = st;
	return;
fail:
	fclose(fp);
	symtab_free(st);
}

static void name_kernel(uint64_t addr, char *out, size_t outsz)
{
	if (!ksyms_tried)
		ksyms_load();
	const struct sym *s = ksyms ? symtab_find(ksyms, addr) : NULL;
	if (s)
		snprintf(out, outsz, "%s", s->name);
	else
		snprintf(out, outsz, "0x%llx", (unsigned long long)addr);
}

/* ---- stacks --------------------------------------------------------------------- */

void sql_stack_format(const uint64_t *ips, size_t n, bool user, int pid, char *out, size_t outsz)
{
	size_t len = 0, depth = 0;
	out[0] = '\0';
	while (depth < n && ips[depth])
		depth++;
	pthread_mutex_lock(&lock);
	/* ips[0] is the innermost frame; folded stacks start at the root. */
	for (size_t i = depth; i-- > 0;) {
		char name[256];
		if (user)
			name_user(pid, ips[i], name, sizeof(name));
		else
			name_kernel(ips[i], name, sizeof(name));
		size_t k = strlen(name);
		if (len + k + (len ? 1 : 0) + 1 > outsz)
			break;
		if (len)
			out[len++] = ';';
		memcpy(out + len, name, k + 1);
		len += k;
	}
	pthread_mutex_unlock(&lock);
}

int sql_elf_func_offset(const char *path, const char *func, uint64_t *off, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errsz, "cannot open '%s': %s", path, strerror(e));
		return -e;
	}
	struct symtab *st = symtab_read(fd);
	close(fd);
	if (!st) {
		int e = errno;
		snprintf(err, errsz, "'%s' is not an ELF file", path);
		return -(e ? e : ENOEXEC);
	}
	int rc = -ENOENT;
	if (st->stripped) {
		snprintf(err, errsz, "'%s' is stripped: it has no symbol table to find '%s' in", path, func);
		rc = -ENODATA;
	}
	for (size_t i = 0; i < st->nsyms && rc == -ENOENT; i++) {
		if (strcmp(st->syms[i].name, func))
			continue;
		/* the file offset of the function's first byte */
		for (size_t k = 0; k < st->nsegs; k++) {
			const struct seg *sg = &st->segs[k];
			if (st->syms[i].addr >= sg->vaddr && st->syms[i].addr < sg->vaddr + sg->filesz) {
				*off = st->syms[i].addr - sg->vaddr + sg->off;
				rc = 0;
				break;
			}
		}
	}
	if (rc == -ENOENT && !st->has_symtab) {
		snprintf(err, errsz, "'%s' is stripped and exports no function '%s'", path, func);
		rc = -ENODATA;
	} else if (rc == -ENOENT) {
		snprintf(err, errsz, "'%s' has no function '%s'", path, func);
	}
	symtab_free(st);
	return rc;
}
