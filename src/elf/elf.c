/* elf.c - clang-compiled BPF objects through libbpf's object API, without
 * touching the kernel.
 *
 * Listing uses bpf_object__open_file(). Getting a program's instructions
 * needs libbpf's relocation pass (it appends the subprograms a program calls
 * and fixes the call offsets), which libbpf only runs inside
 * bpf_object__load(). We run that load in libbpf's "loader generation" mode
 * (bpf_object__gen_loader): libbpf then records every map creation and
 * program load instead of issuing bpf() system calls, and map references come
 * out as BPF_PSEUDO_MAP_IDX / _IDX_VALUE, which makes them easy to refuse.
 * Only the chosen program is marked for loading.
 *
 * Read-only global data (.rodata* maps) is merged into one block that
 * travels with the instructions (sbpf_elf__prog_insns_rodata); every other
 * map reference is refused.
 *
 * libbpf's messages are captured (never printed) so the last warning can be
 * quoted in an error.
 *
 * libbpf 1.1 crashes on some malformed objects, so every libbpf parse runs
 * in a child process (isolate.c): the *_inproc functions below do the work
 * there and serialise their answer; the public functions fork, read the
 * answer back, and turn a crashed child into an error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "elf/elfInt.h"
#include "safebpf/elf.h"

struct prog_entry {
	char *name;             /* function name */
	char *section;          /* ELF section ("xdp", "xdp/foo", ...) */
	int is_xdp;             /* libbpf mapped the section to BPF_PROG_TYPE_XDP */
};

struct sbpf_elf {
	char *path;             /* the object file, reopened per extraction */
	struct prog_entry *progs; /* entry programs in ELF order */
	size_t nprogs;          /* entries in progs */
};

/* ---- libbpf message capture ------------------------------------------- */

static char last_warning[256];  /* last WARN-level libbpf line of the current call */

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	char line[sizeof(last_warning)];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == ' '))
		line[--len] = '\0';
	const char *p = line;
	if (!strncmp(p, "libbpf: ", 8))
		p += 8;
	snprintf(last_warning, sizeof(last_warning), "%s", p);
	return 0;
}

static libbpf_print_fn_t quiet_begin(void)
{
	last_warning[0] = '\0';
	return libbpf_set_print(capture_print);
}

static void quiet_end(libbpf_print_fn_t prev)
{
	libbpf_set_print(prev);
}

static int fail(struct sbpf_elf_error *err, int rc, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* libbpf's own errno range (LIBBPF_ERRNO__*) folded into plain errnos. */
static int plain_errno(int e)
{
	if (e <= 0)
		return EINVAL;
	return e >= 4000 ? EINVAL : e;
}

/* ---- opening ------------------------------------------------------------ */

int sbpf_elf_is_elf(const void *buf, size_t len)
{
	return len >= 4 && !memcmp(buf, "\177ELF", 4);
}

void sbpf_elf__close(struct sbpf_elf *obj)
{
	if (!obj)
		return;
	for (size_t i = 0; i < obj->nprogs; i++) {
		free(obj->progs[i].name);
		free(obj->progs[i].section);
	}
	free(obj->progs);
	free(obj->path);
	free(obj);
}

/* Opens @path with libbpf, quietly; NULL with errno and @err on failure. */
static struct bpf_object *open_object(const char *path, struct sbpf_elf_error *err)
{
	libbpf_print_fn_t prev = quiet_begin();
	struct bpf_object *bo = bpf_object__open_file(path, NULL);
	int e = bo ? 0 : plain_errno(errno);
	quiet_end(prev);
	if (!bo) {
		fail(err, 0, "%s: not a loadable BPF object: %s", path,
		     last_warning[0] ? last_warning : strerror(e));
		errno = e;
	}
	return bo;
}

/* Listing of an object with a legacy "maps" section (legacy.c). */
static struct sbpf_elf *open_legacy(const char *path, struct sbpf_elf_error *err)
{
	struct elf_blob b = { 0 };
	uint32_t count = 0;
	struct sbpf_elf *obj = NULL;
	if (elf_legacy_list(path, &b, &count) || !count) {
		elf_blob_free(&b);
		errno = ENOENT;
		return NULL; /* keep libbpf's reason in @err */
	}
	size_t pos = 0;
	obj = calloc(1, sizeof(*obj));
	if (!obj || !(obj->path = strdup(path)) || !(obj->progs = calloc(count, sizeof(*obj->progs))))
		goto nomem;
	for (uint32_t i = 0; i < count; i++) {
		const char *name, *sec;
		uint32_t xdp = 0;
		elf_blob_get_str(&b, &pos, &name);
		elf_blob_get_str(&b, &pos, &sec);
		elf_blob_get_u32(&b, &pos, &xdp);
		struct prog_entry *e = &obj->progs[obj->nprogs++];
		e->name = strdup(name);
		e->section = strdup(sec);
		e->is_xdp = (int)xdp;
		if (!e->name || !e->section)
			goto nomem;
	}
	elf_blob_free(&b);
	err->msg[0] = '\0';
	return obj;
nomem:
	elf_blob_free(&b);
	sbpf_elf__close(obj);
	fail(err, 0, "out of memory");
	errno = ENOMEM;
	return NULL;
}

/* In-process listing (runs in the child). */
static struct sbpf_elf *open_inproc(const char *path, struct sbpf_elf_error *err)
{
	struct bpf_object *bo = open_object(path, err);
	if (!bo && elf_legacy_detect(path))
		return open_legacy(path, err);
	if (!bo)
		return NULL;
	struct sbpf_elf *obj = calloc(1, sizeof(*obj));
	struct bpf_program *p;
	size_t count = 0;
	bpf_object__for_each_program(p, bo)
		count++;
	if (obj) {
		obj->path = strdup(path);
		obj->progs = calloc(count ? count : 1, sizeof(*obj->progs));
	}
	if (!obj || !obj->path || !obj->progs)
		goto nomem;
	bpf_object__for_each_program(p, bo) {
		struct prog_entry *e = &obj->progs[obj->nprogs++];
		e->name = strdup(bpf_program__name(p));
		e->section = strdup(bpf_program__section_name(p));
		e->is_xdp = bpf_program__type(p) == BPF_PROG_TYPE_XDP;
		if (!e->name || !e->section)
			goto nomem;
	}
	bpf_object__close(bo);
	if (!obj->nprogs) {
		fail(err, 0, "%s: the object has no BPF program (no function in an executable section)", path);
		sbpf_elf__close(obj);
		errno = ENOENT;
		return NULL;
	}
	return obj;
nomem:
	bpf_object__close(bo);
	sbpf_elf__close(obj);
	fail(err, 0, "out of memory");
	errno = ENOMEM;
	return NULL;
}

size_t sbpf_elf__prog_count(const struct sbpf_elf *obj)
{
	return obj->nprogs;
}

const char *sbpf_elf__prog_name(const struct sbpf_elf *obj, size_t i)
{
	return i < obj->nprogs ? obj->progs[i].name : NULL;
}

const char *sbpf_elf__prog_section(const struct sbpf_elf *obj, size_t i)
{
	return i < obj->nprogs ? obj->progs[i].section : NULL;
}

int sbpf_elf__prog_is_xdp(const struct sbpf_elf *obj, size_t i)
{
	return i < obj->nprogs && obj->progs[i].is_xdp;
}

int sbpf_elf__find_prog(const struct sbpf_elf *obj, const char *which,
			struct sbpf_elf_error *err)
{
	/* A name match wins over a section match: several programs may share
	 * one section, names are unique. */
	for (size_t i = 0; i < obj->nprogs; i++)
		if (!strcmp(obj->progs[i].name, which))
			return (int)i;
	int found = -1;
	for (size_t i = 0; i < obj->nprogs; i++) {
		if (strcmp(obj->progs[i].section, which))
			continue;
		if (found >= 0)
			return fail(err, -EINVAL, "section '%s' holds several programs ('%s', '%s', ...): choose one by name",
				    which, obj->progs[found].name, obj->progs[i].name);
		found = (int)i;
	}
	if (found >= 0)
		return found;
	char list[200] = "";
	size_t len = 0;
	for (size_t i = 0; i < obj->nprogs && len < sizeof(list) - 1; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s (section %s)",
					i ? ", " : "", obj->progs[i].name, obj->progs[i].section);
	return fail(err, -ENOENT, "no program or section named '%s' in %s; it has: %s",
		    which, obj->path, list);
}

/* ---- unsupported features ------------------------------------------------ */

/* The .BTF.ext header (kernel documentation, "BTF.ext section"): offsets
 * are relative to the end of the header; the CO-RE part is optional. */
struct btf_ext_hdr {
	uint16_t magic;          /* 0xeb9f */
	uint8_t version;         /* 1 */
	uint8_t flags;           /* 0 */
	uint32_t hdr_len;        /* bytes of this header */
	uint32_t func_info_off;  /* function info records */
	uint32_t func_info_len;
	uint32_t line_info_off;  /* line info records */
	uint32_t line_info_len;
	uint32_t core_relo_off;  /* CO-RE relocation records (if hdr_len >= 32) */
	uint32_t core_relo_len;
};

/* A malloc'ed copy of section @want of the ELF file @path (*@size bytes),
 * or NULL when there is none. (libbpf 1.1 declares btf_ext__raw_data() but
 * does not export it, so the .BTF.ext bytes are read with libelf.) */
static uint8_t *read_section(const char *path, const char *want, size_t *size)
{
	uint8_t *copy = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t shstrndx;
	if (elf && !elf_getshdrstrndx(elf, &shstrndx)) {
		for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
			GElf_Shdr sh;
			const char *name;
			Elf_Data *d;
			if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
			    strcmp(name, want))
				continue;
			d = elf_getdata(scn, NULL);
			if (d && d->d_buf && d->d_size && (copy = malloc(d->d_size))) {
				memcpy(copy, d->d_buf, d->d_size);
				*size = d->d_size;
			}
			break;
		}
	}
	elf_end(elf);
	close(fd);
	return copy;
}

/* Number of CO-RE relocations recorded for section @sec (or .text, where
 * the subprograms live) of @path; 0 when the object has no .BTF.ext. */
static long core_relos_for(const char *path, const char *sec)
{
	size_t size = 0;
	uint8_t *raw = read_section(path, ".BTF.ext", &size);
	if (!raw)
		return 0;
	libbpf_print_fn_t prev = quiet_begin();
	struct btf *btf = btf__parse_elf(path, NULL);
	quiet_end(prev);
	long count = 0;
	struct btf_ext_hdr h;
	memset(&h, 0, sizeof(h));
	memcpy(&h, raw, size < sizeof(h) ? size : sizeof(h));
	if (btf && h.magic == 0xeb9f && h.hdr_len >= 32 && h.hdr_len <= size && h.core_relo_len &&
	    (uint64_t)h.hdr_len + h.core_relo_off + h.core_relo_len <= size) {
		const uint8_t *p = raw + h.hdr_len + h.core_relo_off;
		const uint8_t *end = p + h.core_relo_len;
		uint32_t rec_size;
		memcpy(&rec_size, p, 4);
		p += 4;
		while (rec_size && end - p >= 8) {
			uint32_t name_off, num;
			memcpy(&name_off, p, 4);
			memcpy(&num, p + 4, 4);
			p += 8;
			const char *name = btf__name_by_offset(btf, name_off);
			if (name && (!strcmp(name, sec) || !strcmp(name, ".text")))
				count += num;
			if ((uint64_t)num * rec_size > (uint64_t)(end - p))
				break;
			p += (size_t)num * rec_size;
		}
	}
	btf__free(btf);
	free(raw);
	return count;
}

/* Name of map @idx of @bo, or "?". */
static const char *map_name(struct bpf_object *bo, int idx)
{
	struct bpf_map *m;
	int i = 0;
	bpf_object__for_each_map(m, bo)
		if (i++ == idx)
			return bpf_map__name(m);
	return "?";
}

/* Map @idx of @bo, or NULL. */
static struct bpf_map *map_at(struct bpf_object *bo, int idx)
{
	struct bpf_map *m;
	int i = 0;
	bpf_object__for_each_map(m, bo)
		if (i++ == idx)
			return m;
	return NULL;
}

/* 1 when map @idx is read-only global data: one of the internal maps
 * libbpf makes of .rodata* sections (never written by programs). */
static int is_rodata_map(struct bpf_object *bo, int idx)
{
	struct bpf_map *m = map_at(bo, idx);
	return m && bpf_map__is_internal(m) && (bpf_map__map_flags(m) & BPF_F_RDONLY_PROG) &&
	       strstr(bpf_map__name(m), ".rodata");
}

/* Refuses relocated instructions that reach outside the program; with
 * @want_rodata, references to read-only data maps are allowed. */
static int check_insns(struct bpf_object *bo, const char *prog, const struct bpf_insn *in,
		       size_t n, int want_rodata, int want_maps, struct sbpf_elf_error *err)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t code = in[i].code;
		if (code == (BPF_LD | BPF_DW | BPF_IMM)) {
			switch (in[i].src_reg) {
			case 0:
				break;
			case BPF_PSEUDO_MAP_FD: case BPF_PSEUDO_MAP_IDX:
				if (want_maps && in[i].src_reg == BPF_PSEUDO_MAP_IDX && map_at(bo, in[i].imm))
					break; /* renumbered by collect_maps() */
				return fail(err, -EOPNOTSUPP, "program '%s': instruction %zu references map '%s': "
					    "map references are not supported for user-space runs yet",
					    prog, i, map_name(bo, in[i].imm));
			case BPF_PSEUDO_MAP_IDX_VALUE:
				if (want_rodata && is_rodata_map(bo, in[i].imm))
					break; /* merged by collect_rodata() */
				if (want_maps && !is_rodata_map(bo, in[i].imm) && map_at(bo, in[i].imm))
					break; /* global data: renumbered by collect_maps() */
				if (is_rodata_map(bo, in[i].imm))
					return fail(err, -EOPNOTSUPP, "program '%s': instruction %zu reads read-only "
						    "data ('%s': const tables, string literals), which this caller "
						    "does not take", prog, i, map_name(bo, in[i].imm));
				/* fall through */
			case BPF_PSEUDO_MAP_VALUE:
				return fail(err, -EOPNOTSUPP, "program '%s': instruction %zu references global data or "
					    "map '%s': map references are not supported for user-space runs yet "
					    "(only read-only .rodata is)",
					    prog, i, map_name(bo, in[i].imm));
			case BPF_PSEUDO_BTF_ID:
				return fail(err, -EOPNOTSUPP, "program '%s': instruction %zu references a kernel symbol "
					    "(__ksym): not supported for user-space runs", prog, i);
			case BPF_PSEUDO_FUNC:
				return fail(err, -EOPNOTSUPP, "program '%s': instruction %zu takes a function's address "
					    "(a callback, e.g. for bpf_loop): not supported yet", prog, i);
			default:
				return fail(err, -EOPNOTSUPP, "program '%s': instruction %zu is a 64-bit load with "
					    "unknown pseudo source %d", prog, i, in[i].src_reg);
			}
			i++; /* second slot */
		} else if (code == (BPF_JMP | BPF_CALL) && in[i].src_reg == BPF_PSEUDO_KFUNC_CALL) {
			return fail(err, -EOPNOTSUPP, "program '%s': instruction %zu calls a kernel function "
				    "(kfunc): not supported for user-space runs", prog, i);
		}
	}
	return 0;
}

/* ---- extraction ---------------------------------------------------------- */

#define RODATA_ALIGN 8

/* Merges the read-only data maps @in (@n slots, already checked) refers to
 * into one malloc'ed block (*@data, *@len; each map 8-byte aligned, in map
 * order) and rewrites each reference to index 0 with its offset into the
 * block: lddw src=BPF_PSEUDO_MAP_IDX_VALUE imm=0, second imm = offset. */
static int collect_rodata(struct bpf_object *bo, struct sbpf_insn *in, size_t n,
			  uint8_t **data, size_t *len, struct sbpf_elf_error *err)
{
	size_t nmaps = 0, total = 0;
	struct bpf_map *m;
	bpf_object__for_each_map(m, bo)
		nmaps++;
	size_t *base = calloc(nmaps ? nmaps : 1, sizeof(*base));
	uint8_t *used = calloc(nmaps ? nmaps : 1, 1);
	if (!base || !used) {
		free(base);
		free(used);
		return fail(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (in[i].code == (BPF_LD | BPF_DW | BPF_IMM) && in[i].src_reg == BPF_PSEUDO_MAP_IDX_VALUE &&
		    in[i].imm >= 0 && (size_t)in[i].imm < nmaps)
			used[in[i].imm] = 1;
	for (size_t k = 0; k < nmaps; k++) {
		size_t sz = 0;
		if (!used[k])
			continue;
		bpf_map__initial_value(map_at(bo, (int)k), &sz);
		base[k] = total;
		total += (sz + RODATA_ALIGN - 1) / RODATA_ALIGN * RODATA_ALIGN;
	}
	*data = NULL;
	*len = 0;
	if (total) {
		if (total > UINT32_MAX || !(*data = calloc(1, total))) {
			free(base);
			free(used);
			return fail(err, -ENOMEM, "read-only data too large (%zu bytes)", total);
		}
		for (size_t k = 0; k < nmaps; k++) {
			size_t sz = 0;
			const void *v = used[k] ? bpf_map__initial_value(map_at(bo, (int)k), &sz) : NULL;
			if (v && sz)
				memcpy(*data + base[k], v, sz);
		}
		*len = total;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (in[i].code == (BPF_LD | BPF_DW | BPF_IMM) && in[i].src_reg == BPF_PSEUDO_MAP_IDX_VALUE &&
		    in[i].imm >= 0 && (size_t)in[i].imm < nmaps) {
			in[i + 1].imm = (int32_t)((uint32_t)in[i + 1].imm + (uint32_t)base[in[i].imm]);
			in[i].imm = 0;
			i++;
		}
	free(base);
	free(used);
	return 0;
}

/* Serialises every map of @bo but the read-only data ones into @out (u32
 * count; per map: str name, u32 type, key_size, value_size, max_entries,
 * flags, init_len, the initial bytes) and renumbers the references of
 * @in (@n slots) to them: map K becomes lddw src=BPF_PSEUDO_MAP_FD imm=K,
 * global data src=BPF_PSEUDO_MAP_VALUE imm=K (safebpf/maps.h). */
static void collect_maps(struct bpf_object *bo, struct sbpf_insn *in, size_t n, struct elf_blob *out)
{
	int idx = 0, count = 0, newidx[4096];
	struct bpf_map *m;
	bpf_object__for_each_map(m, bo) {
		if (idx < 4096)
			newidx[idx] = is_rodata_map(bo, idx) ? -1 : count++;
		idx++;
	}
	elf_blob_put_u32(out, (uint32_t)count);
	idx = 0;
	bpf_object__for_each_map(m, bo) {
		if (is_rodata_map(bo, idx++))
			continue;
		size_t init_len = 0;
		const void *init = bpf_map__is_internal(m) ? bpf_map__initial_value(m, &init_len) : NULL;
		elf_blob_put_str(out, bpf_map__name(m));
		elf_blob_put_u32(out, (uint32_t)bpf_map__type(m));
		elf_blob_put_u32(out, bpf_map__key_size(m));
		elf_blob_put_u32(out, bpf_map__value_size(m));
		elf_blob_put_u32(out, bpf_map__max_entries(m));
		elf_blob_put_u32(out, bpf_map__map_flags(m));
		elf_blob_put_u32(out, init ? (uint32_t)init_len : 0);
		if (init)
			elf_blob_put(out, init, init_len);
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (in[i].code != (BPF_LD | BPF_DW | BPF_IMM))
			continue;
		int k = in[i].imm;
		if ((in[i].src_reg == BPF_PSEUDO_MAP_IDX || in[i].src_reg == BPF_PSEUDO_MAP_IDX_VALUE) &&
		    k >= 0 && k < idx && k < 4096 && newidx[k] >= 0) {
			in[i].src_reg = in[i].src_reg == BPF_PSEUDO_MAP_IDX ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE;
			in[i].imm = newidx[k];
		}
		i++;
	}
}

/* In-process extraction (runs in the child); @rodata NULL refuses
 * programs that read read-only data. */
static int insns_inproc(struct sbpf_elf *obj, size_t idx, struct sbpf_insn **out,
			size_t *n, uint8_t **rodata, size_t *rodata_len, struct elf_blob *maps,
			struct sbpf_elf_error *err)
{
	if (idx >= obj->nprogs)
		return fail(err, -ENOENT, "no program #%zu in %s", idx, obj->path);
	const struct prog_entry *want = &obj->progs[idx];
	if (elf_legacy_detect(obj->path)) {
		struct bpf_object *lbo = open_object(obj->path, NULL);
		if (!lbo) { /* libbpf refuses it: read it ourselves */
			if (!maps)
				return fail(err, -EOPNOTSUPP, "program '%s' references maps of a legacy \"maps\" "
					    "section: map references are not supported for user-space runs yet",
					    want->name);
			if (rodata) {
				*rodata = NULL;
				*rodata_len = 0;
			}
			return elf_legacy_insns(obj->path, want->section, out, n, maps, err->msg, sizeof(err->msg));
		}
		bpf_object__close(lbo);
	}
	long core = core_relos_for(obj->path, want->section);
	if (core > 0)
		return fail(err, -EOPNOTSUPP, "program '%s' needs %ld BTF CO-RE relocation%s (BPF_CORE_READ, "
			    "preserve_access_index): not supported for user-space runs",
			    want->name, core, core == 1 ? "" : "s");

	struct bpf_object *bo = open_object(obj->path, err);
	if (!bo)
		return -errno;
	struct bpf_program *p, *chosen = NULL;
	bpf_object__for_each_program(p, bo) {
		int is_it = !chosen && !strcmp(bpf_program__name(p), want->name);
		if (is_it)
			chosen = p;
		bpf_program__set_autoload(p, is_it);
	}
	int rc;
	if (!chosen) {
		rc = fail(err, -ENOENT, "program '%s' vanished from %s", want->name, obj->path);
		goto out;
	}
	/* libbpf refuses to "load" a program of unknown type even in loader
	 * generation mode; the type does not matter for relocation. */
	if (bpf_program__type(chosen) == BPF_PROG_TYPE_UNSPEC)
		bpf_program__set_type(chosen, BPF_PROG_TYPE_XDP);

	/* Nothing is pinned: the maps are this run's (xdp-tools objects ask
	 * for pinning by name). */
	struct bpf_map *pm;
	bpf_object__for_each_map(pm, bo)
		bpf_map__set_pin_path(pm, NULL);
	LIBBPF_OPTS(gen_loader_opts, gen);
	libbpf_print_fn_t prev = quiet_begin();
	rc = bpf_object__gen_loader(bo, &gen);
	if (!rc)
		rc = bpf_object__load(bo);
	int e = rc ? plain_errno(-rc) : 0;
	quiet_end(prev);
	if (rc) {
		rc = fail(err, -e, "%s: libbpf could not relocate program '%s': %s", obj->path, want->name,
			  last_warning[0] ? last_warning : strerror(e));
		goto out;
	}
	const struct bpf_insn *insns = bpf_program__insns(chosen);
	size_t cnt = bpf_program__insn_cnt(chosen);
	rc = check_insns(bo, want->name, insns, cnt, rodata != NULL, maps != NULL, err);
	if (rc)
		goto out;
	if (!cnt) {
		rc = fail(err, -EINVAL, "program '%s' is empty", want->name);
		goto out;
	}
	*out = malloc(cnt * sizeof(**out));
	if (!*out) {
		rc = fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*out, insns, cnt * sizeof(**out));
	*n = cnt;
	if (maps)
		collect_maps(bo, *out, cnt, maps);
	if (rodata && !rc)
		rc = collect_rodata(bo, *out, cnt, rodata, rodata_len, err);
	if (rc) {
		free(*out);
		*out = NULL;
	}
out:
	bpf_object__close(bo);
	return rc;
}

/* ---- isolation: the public entry points ------------------------------------ */

/* Message for a child that did not come back. */
static int child_died(struct sbpf_elf_error *err, const char *path, int rc, int sig)
{
	if (rc == -ECHILD)
		return fail(err, -EINVAL, "%s: malformed object: libbpf failed while reading it%s%s", path,
			    sig ? ", killed by " : "", sig ? strsignal(sig) : "");
	return fail(err, rc, "%s: cannot read the object: %s", path, strerror(-rc));
}

struct open_job {
	const char *path;        /* object to list */
};

/* Child: lists programs. Answer: u32 errno (0 ok), str message, u32 count,
 * then per program str name, str section, u32 is_xdp. */
static void open_child(void *arg, struct elf_blob *out)
{
	const struct open_job *job = arg;
	struct sbpf_elf_error err = { "" };
	struct sbpf_elf *obj = open_inproc(job->path, &err);
	elf_blob_put_u32(out, obj ? 0 : (uint32_t)(errno ? errno : EINVAL));
	elf_blob_put_str(out, err.msg);
	elf_blob_put_u32(out, obj ? (uint32_t)obj->nprogs : 0);
	for (size_t i = 0; obj && i < obj->nprogs; i++) {
		elf_blob_put_str(out, obj->progs[i].name);
		elf_blob_put_str(out, obj->progs[i].section);
		elf_blob_put_u32(out, (uint32_t)obj->progs[i].is_xdp);
	}
	sbpf_elf__close(obj); /* in process (elf_set_in_process) nothing else frees it */
}

struct sbpf_elf *sbpf_elf__open(const char *path, struct sbpf_elf_error *err)
{
	struct open_job job = { path };
	struct elf_blob r;
	int sig;
	int rc = elf_isolated(open_child, &job, &r, &sig);
	if (rc) {
		errno = -child_died(err, path, rc, sig);
		return NULL;
	}
	size_t pos = 0;
	uint32_t e = 0, count = 0;
	const char *msg = "";
	struct sbpf_elf *obj = NULL;
	if (elf_blob_get_u32(&r, &pos, &e) || elf_blob_get_str(&r, &pos, &msg) ||
	    elf_blob_get_u32(&r, &pos, &count))
		goto garbled;
	if (e) {
		fail(err, 0, "%s", msg);
		elf_blob_free(&r);
		errno = (int)e;
		return NULL;
	}
	obj = calloc(1, sizeof(*obj));
	if (!obj || !(obj->path = strdup(path)) || !(obj->progs = calloc(count ? count : 1, sizeof(*obj->progs))))
		goto nomem;
	for (uint32_t i = 0; i < count; i++) {
		const char *name, *sec;
		uint32_t xdp;
		if (elf_blob_get_str(&r, &pos, &name) || elf_blob_get_str(&r, &pos, &sec) ||
		    elf_blob_get_u32(&r, &pos, &xdp))
			goto garbled;
		struct prog_entry *pe = &obj->progs[obj->nprogs++];
		pe->name = strdup(name);
		pe->section = strdup(sec);
		pe->is_xdp = (int)xdp;
		if (!pe->name || !pe->section)
			goto nomem;
	}
	elf_blob_free(&r);
	return obj;
nomem:
	elf_blob_free(&r);
	sbpf_elf__close(obj);
	fail(err, 0, "out of memory");
	errno = ENOMEM;
	return NULL;
garbled:
	elf_blob_free(&r);
	sbpf_elf__close(obj);
	fail(err, 0, "%s: internal error: garbled answer from the reading process", path);
	errno = EIO;
	return NULL;
}

struct insns_job {
	struct sbpf_elf *obj;    /* the listed object */
	size_t idx;              /* program wanted */
	int want_rodata;         /* accept and return read-only data */
	int want_maps;           /* accept maps and global data, return their definitions */
};

/* Child: extracts one program. Answer: u32 -rc, str message, u32 slots,
 * u32 read-only data bytes, the slots, the data. */
static void insns_child(void *arg, struct elf_blob *out)
{
	const struct insns_job *job = arg;
	struct sbpf_elf_error err = { "" };
	struct sbpf_insn *insns = NULL;
	uint8_t *ro = NULL;
	size_t n = 0, ro_len = 0;
	struct elf_blob maps = { 0 };
	int rc = insns_inproc(job->obj, job->idx, &insns, &n, job->want_rodata ? &ro : NULL, &ro_len,
			      job->want_maps ? &maps : NULL, &err);
	elf_blob_put_u32(out, (uint32_t)-rc);
	elf_blob_put_str(out, err.msg);
	elf_blob_put_u32(out, rc ? 0 : (uint32_t)n);
	elf_blob_put_u32(out, rc ? 0 : (uint32_t)ro_len);
	elf_blob_put_u32(out, rc ? 0 : (uint32_t)maps.len);
	if (!rc) {
		elf_blob_put(out, insns, n * sizeof(*insns));
		elf_blob_put(out, ro, ro_len);
		elf_blob_put(out, maps.p, maps.len);
	}
	elf_blob_free(&maps);
	free(insns);
	free(ro);
}

void sbpf_elf_maps__free(struct sbpf_elf_map *maps, size_t n)
{
	for (size_t i = 0; maps && i < n; i++)
		free(maps[i].init);
	free(maps);
}

/* Reads the map definitions collect_maps() wrote (@len bytes at @p). */
static int parse_maps(const uint8_t *p, size_t len, struct sbpf_elf_map **maps, size_t *nmaps)
{
	struct elf_blob b = { (uint8_t *)p, len, len, 0 };
	size_t pos = 0;
	uint32_t count = 0;
	*maps = NULL;
	*nmaps = 0;
	if (elf_blob_get_u32(&b, &pos, &count) || count > 4096)
		return -EIO;
	struct sbpf_elf_map *m = calloc(count ? count : 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		const char *name;
		uint32_t init_len;
		if (elf_blob_get_str(&b, &pos, &name) || elf_blob_get_u32(&b, &pos, &m[i].type) ||
		    elf_blob_get_u32(&b, &pos, &m[i].key_size) || elf_blob_get_u32(&b, &pos, &m[i].value_size) ||
		    elf_blob_get_u32(&b, &pos, &m[i].max_entries) || elf_blob_get_u32(&b, &pos, &m[i].flags) ||
		    elf_blob_get_u32(&b, &pos, &init_len) || init_len > len - pos) {
			sbpf_elf_maps__free(m, i);
			return -EIO;
		}
		snprintf(m[i].name, sizeof(m[i].name), "%s", name);
		if (init_len) {
			if (!(m[i].init = malloc(init_len))) {
				sbpf_elf_maps__free(m, i);
				return -ENOMEM;
			}
			elf_blob_get(&b, &pos, m[i].init, init_len);
			m[i].init_len = init_len;
		}
	}
	*maps = m;
	*nmaps = count;
	return 0;
}

int sbpf_elf__prog_insns_rodata(struct sbpf_elf *obj, size_t idx, struct sbpf_insn **out,
				size_t *n, uint8_t **rodata, size_t *rodata_len,
				struct sbpf_elf_error *err)
{
	return sbpf_elf__prog_insns_maps(obj, idx, out, n, rodata, rodata_len, NULL, NULL, err);
}

int sbpf_elf__prog_insns_maps(struct sbpf_elf *obj, size_t idx, struct sbpf_insn **out,
			      size_t *n, uint8_t **rodata, size_t *rodata_len,
			      struct sbpf_elf_map **maps, size_t *nmaps, struct sbpf_elf_error *err)
{
	if (idx >= obj->nprogs)
		return fail(err, -ENOENT, "no program #%zu in %s", idx, obj->path);
	struct insns_job job = { obj, idx, rodata != NULL, maps != NULL };
	struct elf_blob r;
	int sig;
	int rc = elf_isolated(insns_child, &job, &r, &sig);
	if (rc)
		return child_died(err, obj->path, rc, sig);
	size_t pos = 0;
	uint32_t e = 0, count = 0, ro_len = 0, maps_len = 0;
	const char *msg = "";
	if (elf_blob_get_u32(&r, &pos, &e) || elf_blob_get_str(&r, &pos, &msg) ||
	    elf_blob_get_u32(&r, &pos, &count) || elf_blob_get_u32(&r, &pos, &ro_len) ||
	    elf_blob_get_u32(&r, &pos, &maps_len) ||
	    r.len - pos != (size_t)count * sizeof(struct sbpf_insn) + ro_len + maps_len ||
	    (ro_len && !rodata)) {
		elf_blob_free(&r);
		return fail(err, -EIO, "%s: internal error: garbled answer from the reading process", obj->path);
	}
	if (e) {
		fail(err, 0, "%s", msg);
		elf_blob_free(&r);
		return -(int)e;
	}
	*out = malloc(count * sizeof(**out));
	uint8_t *ro = ro_len ? malloc(ro_len) : NULL;
	if (!*out || (ro_len && !ro)) {
		free(*out);
		*out = NULL;
		free(ro);
		elf_blob_free(&r);
		return fail(err, -ENOMEM, "out of memory");
	}
	memcpy(*out, r.p + pos, count * sizeof(**out));
	if (ro_len)
		memcpy(ro, r.p + pos + count * sizeof(**out), ro_len);
	*n = count;
	if (rodata) {
		*rodata = ro;
		*rodata_len = ro_len;
	}
	if (maps && parse_maps(r.p + pos + count * sizeof(**out) + ro_len, maps_len, maps, nmaps)) {
		free(*out);
		*out = NULL;
		free(ro);
		if (rodata)
			*rodata = NULL;
		elf_blob_free(&r);
		return fail(err, -EIO, "%s: internal error: garbled map definitions", obj->path);
	}
	elf_blob_free(&r);
	return 0;
}

int sbpf_elf__prog_insns(struct sbpf_elf *obj, size_t idx, struct sbpf_insn **out,
			 size_t *n, struct sbpf_elf_error *err)
{
	return sbpf_elf__prog_insns_rodata(obj, idx, out, n, NULL, NULL, err);
}
