/* dsl.h - what every safebpf DSL shares (congestion control, socket
 * scheduling, and in time the SQL front half): DSL-guided iteration.
 *
 * A DSL compiles a program into a list of candidate plans, each a set of
 * eBPF programs with a cost. dsl_iterate() tries them cheapest first with
 * the running kernel's verifier as the judge, the minimum verifier-safe
 * function (MVSF) plan always last, and remembers every verdict in a cache
 * keyed by (program hash, kernel release) so that a candidate this kernel
 * refused once is not loaded again. The MVSF self-test registry lets
 * `safebpf selftest` load every DSL's MVSF (src/dsl/mvsf.def).
 *
 * Private to the DSL modules (src/cc, src/sched, src/cli): functions carry
 * the dsl_ prefix, return negative errno codes and never print.
 */
#ifndef SAFEBPF_DSL_H
#define SAFEBPF_DSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"

/* ---- hashing (iterate.c) ------------------------------------------------- */

/* FNV-1a over @len bytes of @p, continuing from @h (start with
 * DSL_HASH_INIT). Never returns 0 for a non-empty input chain. */
#define DSL_HASH_INIT 0xcbf29ce484222325ull
uint64_t dsl_hash(uint64_t h, const void *p, size_t len);
/* The hash of a program: its instructions with the imm of every lddw whose
 * src is a map fd cleared (fds differ between runs), chained onto @h. */
uint64_t dsl_hash_insns(uint64_t h, const struct sbpf_insn *insns, size_t n);

/* ---- verdict cache (vcache.c) --------------------------------------------- */

enum dsl_verdict {
	DSL_VERDICT_UNKNOWN,       /* not judged */
	DSL_VERDICT_ACCEPTED,      /* the verifier accepted the plan's programs */
	DSL_VERDICT_REJECTED,      /* the verifier (or a test knob) refused one */
};

/* Kernel release (uname -r) the cache is keyed by. */
const char *dsl_kernel_release(void);
/* The cache directory ($SAFEBPF_CACHE_DIR, else $XDG_CACHE_HOME/safebpf,
 * else ~/.cache/safebpf), created when missing. NULL when unusable. */
const char *dsl_cache_dir(void);
/* The verdict remembered for fingerprint @fp on this kernel release in cache
 * file @file ("dsl-verdicts" for cc and sched, "verdicts" for SQL), with the
 * refusal reason in @reason. False when none is known (or the cache is off:
 * SAFEBPF_NO_VERDICT_CACHE set, no cache directory). The file is
 * <cache dir>/<file>-<release>, one line per verdict (the last one wins). */
bool dsl_vcache_get(const char *file, uint64_t fp, enum dsl_verdict *v, char *reason, size_t reasonsz);
/* Remembers a verdict in cache file @file; errors are ignored (a cache). */
void dsl_vcache_put(const char *file, uint64_t fp, enum dsl_verdict v, const char *reason);

/* ---- DSL-guided iteration (iterate.c) --------------------------------------- */

/* One candidate plan. The DSL fills name, cost, mvsf and arg. */
struct dsl_candidate {
	const char *name;          /* short plan name shown by explain ("kernel", "mvsf") */
	double cost;               /* estimated cost: lower is tried first */
	bool mvsf;                 /* the minimum verifier-safe plan: tried last, whatever its cost */
	void *arg;                 /* the DSL's own data for this candidate */
	/* filled by dsl_iterate(): */
	uint64_t fp;               /* fingerprint (hash of its programs) */
	enum dsl_verdict verdict;  /* what the judge (or the cache) said */
	bool cached;               /* the verdict came from the cache (not loaded again) */
	bool tried;                /* dsl_iterate got to this candidate */
	char reason[256];          /* why it was refused ("" when accepted) */
};

/* How a DSL lets dsl_iterate judge its candidates. */
struct dsl_judge {
	size_t sz;                 /* sizeof(struct dsl_judge) */
	/* Generates the programs of @c and stores their hash in *fp (see
	 * dsl_hash_insns). 0, or a negative errno with a reason: a candidate
	 * that cannot be generated counts as refused (not cached). */
	int (*fingerprint)(void *ctx, struct dsl_candidate *c, uint64_t *fp, char *reason, size_t rsz);
	/* Loads the programs of @c into the kernel. 0 when the verifier
	 * accepted all of them (they stay loaded: the DSL owns them), or a
	 * negative errno with the verifier's reason (-EACCES/-EINVAL: refused;
	 * other errors are not cached as verdicts). */
	int (*load)(void *ctx, struct dsl_candidate *c, char *reason, size_t rsz);
	/* Environment variable naming candidates to refuse as if the verifier
	 * had (a comma-separated list of plan names), for tests; or NULL. */
	const char *test_reject_env;
};

/* Tries the candidates cheapest first (stable for equal costs), MVSF
 * candidates after every other one. A candidate the cache says this kernel
 * refused is skipped without loading; every other one is loaded (an
 * accepted cached verdict is confirmed by loading). Stops at the first
 * accepted candidate and returns its index in @c (the array is not
 * reordered); every candidate records what happened to it. Returns
 * -ENOENT when all were refused (an MVSF refused is a bug the self-test
 * reports), or -EINVAL for bad arguments. */
int dsl_iterate(struct dsl_candidate *c, size_t n, const struct dsl_judge *j, void *ctx);

/* The order dsl_iterate tries candidates in: fills @order (n entries) with
 * indices of @c. */
void dsl_try_order(const struct dsl_candidate *c, size_t n, size_t *order);

/* ---- MVSF self-test registry (mvsf.c, mvsf.def) ------------------------------ */

/* Outcome of one MVSF self-test. */
struct dsl_mvsf_result {
	int status;                /* 0 pass, -EOPNOTSUPP unavailable on this kernel, other: fail */
	size_t programs;           /* programs the kernel verified */
	size_t max_insns;          /* largest of them */
	char detail[512];          /* one line for people: what was checked, or why it failed */
};

/* A self-test: generates the DSL's MVSF programs, loads them (the verifier
 * judges), attaches and detaches them where the DSL can, checks nothing
 * stays in the kernel, fills @r. @verbose asks for more detail. */
typedef void (*dsl_mvsf_check_fn)(int verbose, struct dsl_mvsf_result *r);

struct dsl_mvsf {
	const char *dsl;           /* DSL name ("cc", "sched") */
	const char *what;          /* the MVSF in a few words */
	dsl_mvsf_check_fn check;   /* the self-test */
};

/* The registered MVSF self-tests (from mvsf.def), and their number. */
const struct dsl_mvsf *dsl_mvsfs(size_t *n);
/* The one of DSL @name, or NULL. */
const struct dsl_mvsf *dsl_mvsf_find(const char *name);

#endif /* SAFEBPF_DSL_H */
