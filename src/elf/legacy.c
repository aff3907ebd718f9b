/* legacy.c - objects with a legacy "maps" section (struct bpf_map_def:
 * type, key_size, value_size, max_entries, map_flags as u32s, one per
 * symbol), which libbpf 1.0+ refuses to open. They are read with libelf:
 * one program per executable section (its first global function), map
 * relocations (R_BPF_64_64 against a symbol in "maps") become
 * lddw src=BPF_PSEUDO_MAP_FD imm=K (safebpf/maps.h). Only that: a program
 * whose section has other relocations (local calls, global data) is
 * refused with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>
#include <linux/bpf.h>

#include "elf/elfInt.h"
#include "safebpf/isa.h"

/* An open object: the ELF handle and the sections that matter. */
struct legacy {
	int fd;                 /* the file */
	Elf *elf;               /* libelf handle */
	size_t shstrndx;        /* section name table */
	Elf_Scn *symtab;        /* .symtab */
	size_t maps_idx;        /* index of "maps" (0: none) */
};

static int legacy_open(const char *path, struct legacy *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (elf_version(EV_CURRENT) == EV_NONE || (l->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (!(l->elf = elf_begin(l->fd, ELF_C_READ, NULL)) || elf_getshdrstrndx(l->elf, &l->shstrndx))
		return -1;
	for (Elf_Scn *scn = elf_nextscn(l->elf, NULL); scn; scn = elf_nextscn(l->elf, scn)) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(l->elf, l->shstrndx, sh.sh_name)))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			l->symtab = scn;
		if (!strcmp(name, "maps"))
			l->maps_idx = elf_ndxscn(scn);
	}
	return l->maps_idx && l->symtab ? 0 : -1;
}

static void legacy_close(struct legacy *l)
{
	if (l->elf)
		elf_end(l->elf);
	if (l->fd >= 0)
		close(l->fd);
}

int elf_legacy_detect(const char *path)
{
	struct legacy l;
	int rc = legacy_open(path, &l) == 0;
	legacy_close(&l);
	return rc;
}

/* Calls @fn for each symbol (index, symbol, its name). */
static void each_symbol(struct legacy *l, void (*fn)(void *, size_t, const GElf_Sym *, const char *), void *arg)
{
	GElf_Shdr sh;
	Elf_Data *d = elf_getdata(l->symtab, NULL);
	if (!d || !gelf_getshdr(l->symtab, &sh) || !sh.sh_entsize)
		return;
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
		GElf_Sym s;
		const char *name;
		if (gelf_getsym(d, (int)i, &s) && (name = elf_strptr(l->elf, sh.sh_link, s.st_name)))
			fn(arg, i, &s, name);
	}
}

struct prog_list {
	struct legacy *l;       /* the object */
	struct elf_blob *out;   /* u32 count is written by the caller; entries here */
	uint32_t count;         /* programs found */
	size_t seen[64];        /* sections already listed */
	size_t nseen;
};

static void add_prog(void *arg, size_t i, const GElf_Sym *s, const char *name)
{
	struct prog_list *p = arg;
	(void)i;
	Elf_Scn *scn = elf_getscn(p->l->elf, s->st_shndx);
	GElf_Shdr sh;
	const char *sec;
	if (GELF_ST_TYPE(s->st_info) != STT_FUNC || GELF_ST_BIND(s->st_info) != STB_GLOBAL || !scn ||
	    !gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_EXECINSTR) ||
	    !(sec = elf_strptr(p->l->elf, p->l->shstrndx, sh.sh_name)) || !strcmp(sec, ".text"))
		return;
	for (size_t k = 0; k < p->nseen; k++)
		if (p->seen[k] == s->st_shndx)
			return;
	if (p->nseen < 64)
		p->seen[p->nseen++] = s->st_shndx;
	elf_blob_put_str(p->out, name);
	elf_blob_put_str(p->out, sec);
	elf_blob_put_u32(p->out, !strncmp(sec, "xdp", 3));
	p->count++;
}

int elf_legacy_list(const char *path, struct elf_blob *progs, uint32_t *count)
{
	struct legacy l;
	if (legacy_open(path, &l)) {
		legacy_close(&l);
		return -EINVAL;
	}
	struct prog_list p = { .l = &l, .out = progs };
	each_symbol(&l, add_prog, &p);
	legacy_close(&l);
	*count = p.count;
	return 0;
}

struct map_list {
	struct legacy *l;       /* the object */
	size_t sym[64];         /* symbol index of map K */
	uint64_t off[64];       /* its offset in "maps" */
	const char *name[64];   /* its name */
	size_t n;               /* maps */
};

static void add_map(void *arg, size_t i, const GElf_Sym *s, const char *name)
{
	struct map_list *m = arg;
	if (s->st_shndx != m->l->maps_idx || !*name || m->n >= 64 || GELF_ST_TYPE(s->st_info) == STT_SECTION)
		return;
	size_t k = m->n++;
	while (k && m->off[k - 1] > s->st_value) { /* keep offset order */
		m->sym[k] = m->sym[k - 1];
		m->off[k] = m->off[k - 1];
		m->name[k] = m->name[k - 1];
		k--;
	}
	m->sym[k] = i;
	m->off[k] = s->st_value;
	m->name[k] = name;
}

int elf_legacy_insns(const char *path, const char *section, struct sbpf_insn **out, size_t *n,
		     struct elf_blob *maps, char *why, size_t whysz)
{
	struct legacy l;
	int rc = -EINVAL;
	*out = NULL;
	if (legacy_open(path, &l)) {
		snprintf(why, whysz, "%s: cannot read the legacy object", path);
		goto out;
	}
	struct map_list ml = { .l = &l };
	each_symbol(&l, add_map, &ml);
	Elf_Data *md = elf_getdata(elf_getscn(l.elf, l.maps_idx), NULL);
	Elf_Scn *prog = NULL;
	size_t prog_idx = 0;
	for (Elf_Scn *scn = elf_nextscn(l.elf, NULL); scn; scn = elf_nextscn(l.elf, scn)) {
		GElf_Shdr sh;
		const char *name;
		if (gelf_getshdr(scn, &sh) && (name = elf_strptr(l.elf, l.shstrndx, sh.sh_name)) &&
		    !strcmp(name, section) && (sh.sh_flags & SHF_EXECINSTR)) {
			prog = scn;
			prog_idx = elf_ndxscn(scn);
		}
	}
	Elf_Data *pd = prog ? elf_getdata(prog, NULL) : NULL;
	if (!pd || !pd->d_size || pd->d_size % sizeof(struct sbpf_insn)) {
		snprintf(why, whysz, "%s: section '%s' holds no program", path, section);
		goto out;
	}
	*n = pd->d_size / sizeof(struct sbpf_insn);
	if (!(*out = malloc(pd->d_size))) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(*out, pd->d_buf, pd->d_size);
	/* the relocations of this section: maps only */
	for (Elf_Scn *scn = elf_nextscn(l.elf, NULL); scn; scn = elf_nextscn(l.elf, scn)) {
		GElf_Shdr sh;
		Elf_Data *rd;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_REL || sh.sh_info != prog_idx ||
		    !(rd = elf_getdata(scn, NULL)) || !sh.sh_entsize)
			continue;
		for (size_t r = 0; r < sh.sh_size / sh.sh_entsize; r++) {
			GElf_Rel rel;
			if (!gelf_getrel(rd, (int)r, &rel))
				continue;
			size_t sym = GELF_R_SYM(rel.r_info), at = rel.r_offset / sizeof(struct sbpf_insn), k;
			for (k = 0; k < ml.n && ml.sym[k] != sym; k++)
				;
			if (k == ml.n || at + 1 >= *n || (*out)[at].code != (BPF_LD | BPF_DW | BPF_IMM)) {
				snprintf(why, whysz, "%s: program section '%s' has a relocation at instruction %zu "
					 "that is not a map reference (legacy objects: maps only; no local calls "
					 "or global data)", path, section, at);
				rc = -EOPNOTSUPP;
				goto out;
			}
			(*out)[at].src_reg = BPF_PSEUDO_MAP_FD;
			(*out)[at].imm = (int32_t)k;
		}
	}
	/* the definitions, serialised as collect_maps() does */
	elf_blob_put_u32(maps, (uint32_t)ml.n);
	for (size_t k = 0; k < ml.n; k++) {
		uint32_t def[5] = { 0 };
		if (md && ml.off[k] < md->d_size)
			memcpy(def, (const uint8_t *)md->d_buf + ml.off[k],
			       md->d_size - ml.off[k] < sizeof(def) ? md->d_size - ml.off[k] : sizeof(def));
		elf_blob_put_str(maps, ml.name[k]);
		for (int f = 0; f < 5; f++)
			elf_blob_put_u32(maps, def[f]);
		elf_blob_put_u32(maps, 0); /* no initial data */
	}
	rc = 0;
out:
	if (rc) {
		free(*out);
		*out = NULL;
	}
	legacy_close(&l);
	return rc;
}
