/* utable.c - user-space functions as tables: uprobe('/path', 'func') (one
 * row per call, with the argument registers), uretprobe('/path', 'func')
 * (one row per return, with the return value) and ufunc('/path', 'func')
 * (one row per completed call: the entry paired with its return on the
 * same thread, with arguments, return value and duration); and USDT probes
 * as tables: usdt('/path', 'provider:name') (one row per time the probe
 * fires, with its arguments typed from the probe's note, usdt.c).
 *
 * The parser turns the call into the name "KIND:PATH:FUNC" ("usdt:PATH:SPEC"). The function
 * is looked up when the query is bound (libelf, symbolize.c), so a missing
 * file, a stripped binary or a missing function is a caret error at
 * compile time; the offset is looked up again when the probe is attached.
 * Tables are built on first use and kept for the life of the process; each
 * has its MVSF like every table (a kprobe-type program reading struct
 * pt_regs at the built-in "uprobe/" probe format, tracefs.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sqlInt.h"

#define UT_MAX_COLS 32

struct utable {
	char name[4200];                 /* "ufunc:/bin/bash:readline" */
	char tp[2][4200];                /* "uprobe/PATH:FUNC", "uretprobe/PATH:FUNC" */
	const char *tps[3];              /* tracepoint list (NULL-terminated) */
	struct sql_probe probes[2];      /* entry and/or return */
	struct sql_pairing pair;         /* ufunc: by thread */
	struct sql_column cols[UT_MAX_COLS]; /* columns */
	struct sql_table t;              /* the table */
	char argdoc[SQL_USDT_MAX_ARGS][192];  /* usdt: "argument 1: -4@%edi (signed, 4 bytes)" */
	char argwhy[SQL_USDT_MAX_ARGS][400]; /* usdt: why an argument cannot be read */
	char notes[768];                 /* usdt: the table's remarks */
	struct utable *next;             /* cache list */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct utable *cache;

static const char *const kinds[] = { "uprobe", "uretprobe", "ufunc", "usdt" };
#define NKINDS 4
#define K_USDT 3

bool sql_utable_name(const char *name)
{
	for (size_t i = 0; i < NKINDS; i++) {
		size_t n = strlen(kinds[i]);
		if (!strncmp(name, kinds[i], n) && name[n] == ':')
			return true;
	}
	return false;
}

static const char *const arg_regs[] = { "di", "si", "dx", "cx", "r8", "r9" };
static const char *const arg_docs[] = {
	"first integer argument (rdi at entry)", "second integer argument (rsi)", "third integer argument (rdx)",
	"fourth integer argument (rcx)", "fifth integer argument (r8)", "sixth integer argument (r9)",
};
static const char *const arg_names[SQL_USDT_MAX_ARGS] = {
	"arg0", "arg1", "arg2", "arg3", "arg4", "arg5", "arg6", "arg7", "arg8", "arg9", "arg10", "arg11",
};

static void col(struct utable *u, size_t *n, const char *name, enum sql_type type, const char *doc,
		struct sql_colsrc src)
{
	u->cols[(*n)++] = (struct sql_column){ .name = name, .type = type, .doc = doc, .src = src };
}

#define IN(p, nm) { .probe = (p), .elem = -1, .name = (nm) }
#define NUM(p, nm) (struct sql_colsrc){ .conv = SQL_CONV_NUM, .in = { IN(p, nm) } }

/* Fills @u for kind @k (0 uprobe, 1 uretprobe, 2 ufunc) of @path:@func. */
static void build(struct utable *u, int k, const char *path, const char *func)
{
	size_t n = 0, nctx;
	bool ret = k == 1, pair = k == 2;
	snprintf(u->tp[0], sizeof(u->tp[0]), "%s/%s:%s", ret ? "uretprobe" : "uprobe", path, func);
	snprintf(u->tp[1], sizeof(u->tp[1]), "uretprobe/%s:%s", path, func);
	u->tps[0] = u->tp[0];
	u->tps[1] = pair ? u->tp[1] : NULL;
	u->probes[0] = (struct sql_probe){ .tp = u->tp[0], .doc = ret ? "the function returns" : "the function is entered" };
	u->probes[1] = (struct sql_probe){ .tp = u->tp[1], .doc = "the function returns (paired with its entry on the thread)" };
	const struct sql_column *ctx = sql_catalog_context(&nctx);
	for (size_t i = 0; i < nctx; i++)
		u->cols[n++] = ctx[i];
	if (pair)
		u->cols[0].src = NUM(1, "$ts"); /* ts: the return */
	if (!ret)
		for (int i = 0; i < 6; i++)
			col(u, &n, arg_names[i], SQL_T_UINT, arg_docs[i], NUM(0, arg_regs[i]));
	if (ret || pair)
		col(u, &n, "retval", SQL_T_INT, "return value (rax at the return)", NUM(pair ? 1 : 0, "ax"));
	if (pair) {
		col(u, &n, "enter_ts", SQL_T_TIME, "when the function was entered", NUM(0, "$ts"));
		col(u, &n, "duration", SQL_T_DURATION, "ts - enter_ts: time in the function (children included)",
		    ((struct sql_colsrc){ .conv = SQL_CONV_DIFF, .in = { IN(1, "$ts"), IN(0, "$ts") } }));
		u->pair = (struct sql_pairing){ .lkey = { IN(0, "$tid") }, .rkey = { IN(1, "$tid") } };
	}
	size_t nstk;
	const struct sql_column *stk = sql_catalog_stacks(&nstk);
	for (size_t i = 0; i < nstk; i++)
		u->cols[n++] = stk[i];
	u->t = (struct sql_table){
		.name = u->name, .doc = pair ? "one row per completed call of a user-space function (entry paired "
					       "with its return on the thread)"
				  : ret ? "one row per return of a user-space function" : "one row per call of a user-space function",
		.cols = u->cols, .ncols = n, .tracepoints = u->tps, .probes = u->probes, .nprobes = pair ? 2 : 1,
		.pair = pair ? &u->pair : NULL,
		.notes = "Attached with a uprobe at the function's offset in the file (found in its ELF symbol "
			 "table with libelf), in every process that maps the file. Arguments are the integer "
			 "argument registers of the x86-64 calling convention.",
		.attribution = "rows belong to the thread that called the function; -p/-c match its pid",
	};
}

/* Fills @u for USDT probe @p (@spec as written) of @path: 0, or -EINVAL
 * with @err when its sites read their arguments from different places. */
static int build_usdt(struct utable *u, const char *path, const char *spec, const struct sql_usdt_probe *p,
		      char *err, size_t errsz)
{
	if (p->mixed[0]) {
		snprintf(err, errsz, "USDT probe %s:%s (%zu sites) cannot be one table: %s", p->provider, p->name,
			 p->nsites, p->mixed);
		return -EINVAL;
	}
	size_t n = 0, nctx;
	snprintf(u->tp[0], sizeof(u->tp[0]), "usdt/%s:%s", path, spec);
	u->tps[0] = u->tp[0];
	u->tps[1] = NULL;
	u->probes[0] = (struct sql_probe){ .tp = u->tp[0], .doc = "the probe fires" };
	const struct sql_column *ctx = sql_catalog_context(&nctx);
	for (size_t i = 0; i < nctx; i++)
		u->cols[n++] = ctx[i];
	for (size_t i = 0; i < p->nargs; i++) {
		const struct sql_usdt_arg *a = &p->args[0][i];
		if (p->nvariants > 1)
			snprintf(u->argdoc[i], sizeof(u->argdoc[i]), "probe argument %zu (%s, %u bytes; in %zu places "
				 "among the sites, %s at the first)", i + 1, a->is_signed ? "signed" : "unsigned",
				 a->size, p->nvariants, a->text);
		else
			snprintf(u->argdoc[i], sizeof(u->argdoc[i]), "probe argument %zu, operand %s (%s, %u bytes)",
				 i + 1, a->text, a->is_signed ? "signed" : "unsigned", a->size);
		col(u, &n, arg_names[i], a->is_signed ? SQL_T_INT : SQL_T_UINT, u->argdoc[i], NUM(0, arg_names[i]));
		for (size_t v = 0; v < p->nvariants && !u->cols[n - 1].unusable; v++) {
			const struct sql_usdt_arg *b = &p->args[v][i];
			if (b->loc != SQL_USDT_BAD)
				continue;
			snprintf(u->argwhy[i], sizeof(u->argwhy[i]), "probe %s:%s has it at '%s'%s: %s", p->provider,
				 p->name, b->text, v ? " at some sites" : "", b->why);
			u->cols[n - 1].unusable = u->argwhy[i];
		}
	}
	size_t nstk;
	const struct sql_column *stk = sql_catalog_stacks(&nstk);
	for (size_t i = 0; i < nstk; i++)
		u->cols[n++] = stk[i];
	snprintf(u->notes, sizeof(u->notes),
		 "USDT probe %s:%s (%zu site%s%s). Attached with a uprobe at each site (found in the file's "
		 ".note.stapsdt with libelf), in every process that maps the file%s. Arguments are read where "
		 "the probe's note says: a register, user memory at a register plus a displacement, or a "
		 "constant; sign- or zero-extended from their size.",
		 p->provider, p->name, p->nsites, p->nsites == 1 ? "" : "s", p->sema ? ", with a semaphore" : "",
		 p->sema ? "; the kernel increments the probe's semaphore while it is attached" : "");
	u->t = (struct sql_table){
		.name = u->name, .doc = "one row per time a USDT probe fires",
		.cols = u->cols, .ncols = n, .tracepoints = u->tps, .probes = u->probes, .nprobes = 1,
		.notes = u->notes,
		.attribution = "rows belong to the thread that reached the probe; -p/-c match its pid",
	};
	return 0;
}

/* The USDT table @name ("usdt:PATH:SPEC"); the lock is held. */
static struct utable *find_usdt(const char *name, char *err, size_t errsz)
{
	const char *path0 = name + 5, *colon = strchr(path0, ':');
	if (!colon || colon == path0 || !colon[1] || strlen(name) >= sizeof(cache->name)) {
		snprintf(err, errsz, "not a USDT probe: write usdt('/path/to/file', 'provider:name')");
		errno = EINVAL;
		return NULL;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%.*s", (int)(colon - path0), path0);
	struct sql_usdt_probe *p = malloc(sizeof(*p));
	struct utable *u = NULL;
	int rc = p ? sql_usdt_find(path, colon + 1, p, err, errsz) : -ENOMEM;
	if (!rc && !(u = calloc(1, sizeof(*u))))
		rc = -ENOMEM;
	if (rc == -ENOMEM)
		snprintf(err, errsz, "out of memory");
	if (!rc) {
		snprintf(u->name, sizeof(u->name), "%s", name);
		rc = build_usdt(u, path, colon + 1, p, err, errsz);
	}
	free(p);
	if (rc) {
		free(u);
		errno = -rc;
		return NULL;
	}
	return u;
}

const struct sql_table *sql_utable_find(const char *name, char *err, size_t errsz)
{
	int k = -1;
	for (int i = 0; i < NKINDS && k < 0; i++) {
		size_t n = strlen(kinds[i]);
		if (!strncmp(name, kinds[i], n) && name[n] == ':')
			k = i;
	}
	if (k == K_USDT) {
		pthread_mutex_lock(&lock);
		struct utable *u = cache;
		while (u && strcmp(u->name, name))
			u = u->next;
		if (!u && (u = find_usdt(name, err, errsz))) {
			u->next = cache;
			cache = u;
		}
		pthread_mutex_unlock(&lock);
		return u ? &u->t : NULL;
	}
	const char *spec = k >= 0 ? strchr(name, ':') + 1 : NULL, *colon = spec ? strrchr(spec, ':') : NULL;
	if (!colon || colon == spec || !colon[1] || strlen(name) >= sizeof(cache->name)) {
		snprintf(err, errsz, "not a user function: write uprobe('/path/to/file', 'function')");
		errno = EINVAL;
		return NULL;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%.*s", (int)(colon - spec), spec);
	pthread_mutex_lock(&lock);
	struct utable *u = cache;
	while (u && strcmp(u->name, name))
		u = u->next;
	if (!u) {
		uint64_t off;
		int rc = sql_elf_func_offset(path, colon + 1, &off, err, errsz);
		if (rc || !(u = calloc(1, sizeof(*u)))) {
			pthread_mutex_unlock(&lock);
			if (!rc)
				snprintf(err, errsz, "out of memory");
			errno = rc ? -rc : ENOMEM;
			return NULL;
		}
		snprintf(u->name, sizeof(u->name), "%s", name);
		build(u, k, path, colon + 1);
		u->next = cache;
		cache = u;
	}
	pthread_mutex_unlock(&lock);
	return &u->t;
}
