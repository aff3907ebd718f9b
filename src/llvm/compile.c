/* compile.c - the LLVM engine's driver: handle, O-level pipeline
 * (LLVMRunPasses, the new pass manager), code generation into an ELF
 * object for the host CPU, the cache of such objects keyed by the
 * program's hash, and loading an object into executable memory with ORC
 * (LLJIT): the helpers and the few libc functions LLVM may call (memset,
 * memcpy, memmove) are the only symbols the object may resolve.
 *
 * The same object is what `safebpf aot` writes, so the cache, the JIT and
 * ahead-of-time output share one code path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <llvm/Config/llvm-config.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/Object.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "llvm/llvmInt.h"
#include "safebpf/ctx.h"

#define DEFAULT_ENTRY "sbpf_prog"
#define MEM_CACHE_MAX 256
/* Version of the key layout, the translator and the pipeline: bump it when
 * any of them changes what an object holds (old cache entries then miss). */
#define KEY_MAGIC 0x53425046464c4c32ull

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static char version[160];
static char *host_cpu, *host_features; /* LLVMGetHostCPUName/Features, once */

static void init_llvm(void)
{
	LLVMInitializeNativeTarget();
	LLVMInitializeNativeAsmPrinter();
	/* No SLP vectorizer: on packet code it turns unrolled bit loops into
	 * 512-bit vector multiplies and shuffles that run 3x slower than the
	 * scalar code (bench toeplitz: 10.0 us vs 2.9 us; geomean over the
	 * suite 1.37x -> 1.45x the kernel JIT). LLVM 14's pass-builder option
	 * for it does not reach the pass, so this is LLVM's own flag (for
	 * the whole process: it is the only LLVM user here). */
	const char *argv[] = { "safebpf", "-vectorize-slp=false" };
	LLVMParseCommandLineOptions(2, argv, "");
	host_cpu = LLVMGetHostCPUName();
	host_features = LLVMGetHostCPUFeatures();
	snprintf(version, sizeof(version), "LLVM %s, host CPU %s", LLVM_VERSION_STRING, host_cpu);
}

const char *sbpf_llvm_version(void)
{
	pthread_once(&init_once, init_llvm);
	return version;
}

/* CPU time of this thread (compiles run on the caller's thread), so that
 * figures do not count time spent preempted on a shared machine. */
static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) ? 0 : ru.ru_maxrss;
}

/* ---- handle ---------------------------------------------------------------- */

#define OPT(o, f, def) \
	((o) && (o)->sz >= offsetof(struct sbpf_llvm_opts, f) + sizeof((o)->f) ? (o)->f : (def))

struct sbpf_llvm *sbpf_llvm__new(const struct sbpf_insn *insns, size_t n,
				 const struct sbpf_llvm_opts *opts, struct sbpf_validate_error *err)
{
	int rc = sbpf_validate(insns, n, err);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	struct sbpf_llvm *l = calloc(1, sizeof(*l));
	if (!l) {
		errno = ENOMEM;
		return NULL;
	}
	l->o.sz = sizeof(l->o);
	l->o.type = OPT(opts, type, SBPF_PROG_MEM);
	l->o.rodata = OPT(opts, rodata, NULL);
	l->o.rodata_len = OPT(opts, rodata_len, 0);
	l->o.cache_dir = OPT(opts, cache_dir, NULL);
	l->o.no_cache = OPT(opts, no_cache, 0);
	l->o.no_facts = OPT(opts, no_facts, 0);
	l->o.opt_level = OPT(opts, opt_level, 0);
	l->o.entry = OPT(opts, entry, NULL);
	if (!l->o.entry)
		l->o.entry = DEFAULT_ENTRY;
	if (!l->o.opt_level)
		l->o.opt_level = 2;
	if ((int)l->o.type < 0 || l->o.type >= SBPF_PROG__COUNT || l->o.opt_level < 0 || l->o.opt_level > 3) {
		free(l);
		errno = EINVAL;
		return NULL;
	}
	l->insns = malloc(n * sizeof(*insns));
	if (l->o.rodata && l->o.rodata_len)
		l->rodata = malloc(l->o.rodata_len);
	if (!l->insns || (l->o.rodata && l->o.rodata_len && !l->rodata)) {
		sbpf_llvm__free(l);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(l->insns, insns, n * sizeof(*insns));
	if (l->rodata)
		memcpy(l->rodata, l->o.rodata, l->o.rodata_len);
	l->o.rodata = l->rodata;
	l->n = n;
	rc = sbpf_ctx_rewrite(l->o.type, l->insns, n, err);
	if (rc) {
		sbpf_llvm__free(l);
		errno = -rc;
		return NULL;
	}
	return l;
}

void sbpf_llvm__free(struct sbpf_llvm *l)
{
	if (!l)
		return;
	if (l->jit)
		LLVMOrcDisposeLLJIT(l->jit);
	free(l->insns);
	free(l->rodata);
	free(l);
}

int sbpf_llvm__set_helper(struct sbpf_llvm *l, uint32_t id, sbpf_helper_fn fn)
{
	if (id >= SBPF_MAX_HELPERS)
		return -EINVAL;
	l->helpers[id] = fn;
	return 0;
}

int sbpf_llvm__helpers_from_vm(struct sbpf_llvm *l, const struct sbpf_vm *vm)
{
	for (uint32_t id = 0; id < SBPF_MAX_HELPERS; id++)
		l->helpers[id] = sbpf_vm__helper(vm, id);
	return 0;
}

size_t sbpf_llvm__helpers_used(const struct sbpf_llvm *l, uint32_t *ids, size_t max)
{
	uint8_t seen[SBPF_MAX_HELPERS] = { 0 };
	for (size_t pc = 0; pc < l->n; pc = llvm_next(l->insns, pc))
		if (l->insns[pc].code == (SBPF_JMP | SBPF_CALL) && l->insns[pc].src_reg == 0 &&
		    (uint32_t)l->insns[pc].imm < SBPF_MAX_HELPERS)
			seen[l->insns[pc].imm] = 1;
	size_t k = 0;
	for (uint32_t id = 0; id < SBPF_MAX_HELPERS; id++)
		if (seen[id]) {
			if (k < max)
				ids[k] = id;
			k++;
		}
	return k;
}

const char *sbpf_llvm__error(const struct sbpf_llvm *l)
{
	return l ? l->err : "";
}

void sbpf_llvm__stats(const struct sbpf_llvm *l, struct sbpf_llvm_stats *st)
{
	*st = l->st;
}

void *sbpf_llvm__entry(const struct sbpf_llvm *l)
{
	return (void *)(uintptr_t)l->entry;
}

/* ---- IR and object --------------------------------------------------------- */

/* The host's target machines, one per optimization level, made on first
 * use and kept: creating one costs more than compiling a small program.
 * Users hold tm_mu (a target machine is not safe to share between threads). */
static pthread_mutex_t tm_mu = PTHREAD_MUTEX_INITIALIZER;
static LLVMTargetMachineRef tms[4];

/* Locks tm_mu and returns the host target machine for l's level, or NULL
 * (unlocked) with l->err set. Release with tm_release(). */
static LLVMTargetMachineRef host_tm(struct sbpf_llvm *l)
{
	pthread_once(&init_once, init_llvm);
	pthread_mutex_lock(&tm_mu);
	if (tms[l->o.opt_level]) {
		return tms[l->o.opt_level];
	}
	char *triple = LLVMGetDefaultTargetTriple();
	LLVMTargetRef target;
	char *msg = NULL;
	if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
		snprintf(l->err, sizeof(l->err), "LLVM has no target for %s: %s", triple, msg ? msg : "");
		LLVMDisposeMessage(msg);
		LLVMDisposeMessage(triple);
		pthread_mutex_unlock(&tm_mu);
		return NULL;
	}
	static const LLVMCodeGenOptLevel lv[4] = { LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
						   LLVMCodeGenLevelDefault, LLVMCodeGenLevelAggressive };
	LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, host_cpu, host_features,
							  lv[l->o.opt_level], LLVMRelocPIC, LLVMCodeModelDefault);
	LLVMDisposeMessage(triple);
	if (!tm) {
		snprintf(l->err, sizeof(l->err), "LLVM cannot create a target machine for this host");
		pthread_mutex_unlock(&tm_mu);
		return NULL;
	}
	tms[l->o.opt_level] = tm;
	return tm;
}

static void tm_release(void)
{
	pthread_mutex_unlock(&tm_mu);
}

static int llvm_fail(struct sbpf_llvm *l, const char *what, LLVMErrorRef e)
{
	char *m = LLVMGetErrorMessage(e);
	snprintf(l->err, sizeof(l->err), "%s: %s", what, m);
	LLVMDisposeErrorMessage(m);
	return -EIO;
}

/* Translates and (when @optimize) runs the pipeline: the module in @ctx for
 * @tm, or NULL with l->err set and *@rc the errno. */
static LLVMModuleRef build_module(struct sbpf_llvm *l, LLVMContextRef ctx, LLVMTargetMachineRef tm,
				  int optimize, int *rc)
{
	double t0 = now_ms();
	LLVMModuleRef m = llvm_translate(l, ctx, l->o.entry, rc);
	if (!m)
		return NULL;
	char *triple = LLVMGetTargetMachineTriple(tm);
	LLVMSetTarget(m, triple);
	LLVMDisposeMessage(triple);
	LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
	LLVMSetModuleDataLayout(m, dl);
	LLVMDisposeTargetData(dl);
	char *msg = NULL;
	if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
		snprintf(l->err, sizeof(l->err), "internal error: the translated IR is invalid: %.250s", msg);
		LLVMDisposeMessage(msg);
		LLVMDisposeModule(m);
		*rc = -EIO;
		return NULL;
	}
	LLVMDisposeMessage(msg);
	double t1 = now_ms();
	l->st.translate_ms = t1 - t0;
	if (!optimize)
		return m;
	static const char *const pipe[4] = { "default<O0>", "default<O1>", "default<O2>", "default<O3>" };
	/* With the verifier's facts, constraint elimination relates one packet
	 * bounds check to the next (their pointer additions are `nuw`); it runs
	 * on SSA form (after SROA), before SimplifyCFG folds the checks into
	 * selects where no check dominates another any more. */
	char pipeline[160];
	snprintf(pipeline, sizeof(pipeline), "%s%s", !l->o.no_facts && l->o.opt_level >= 2
		 ? "function(sroa,early-cse,constraint-elimination)," : "", pipe[l->o.opt_level]);
	LLVMPassBuilderOptionsRef pbo = LLVMCreatePassBuilderOptions();
	LLVMErrorRef e = LLVMRunPasses(m, pipeline, tm, pbo);
	LLVMDisposePassBuilderOptions(pbo);
	if (e) {
		*rc = llvm_fail(l, "LLVM pipeline", e);
		LLVMDisposeModule(m);
		return NULL;
	}
	size_t count = 0;
	for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f))
		for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
			for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i))
				count++;
	l->st.ir_insns = count;
	l->st.optimize_ms = now_ms() - t1;
	return m;
}

/* Size of the object's .text sections. */
static size_t text_bytes(const void *obj, size_t len)
{
	LLVMMemoryBufferRef mb = LLVMCreateMemoryBufferWithMemoryRange(obj, len, "obj", 0);
	char *msg = NULL;
	LLVMBinaryRef bin = LLVMCreateBinary(mb, NULL, &msg);
	size_t total = 0;
	if (bin) {
		LLVMSectionIteratorRef it = LLVMObjectFileCopySectionIterator(bin);
		for (; !LLVMObjectFileIsSectionIteratorAtEnd(bin, it); LLVMMoveToNextSection(it)) {
			const char *name = LLVMGetSectionName(it);
			if (name && !strncmp(name, ".text", 5))
				total += LLVMGetSectionSize(it);
		}
		LLVMDisposeSectionIterator(it);
		LLVMDisposeBinary(bin);
	}
	LLVMDisposeMessage(msg);
	LLVMDisposeMemoryBuffer(mb);
	return total;
}

/* Compiles to an object in *@obj (malloc'ed) / *@len. */
static int compile_object(struct sbpf_llvm *l, void **obj, size_t *len)
{
	int rc = 0;
	LLVMTargetMachineRef tm = host_tm(l);
	if (!tm)
		return -EIO;
	LLVMContextRef ctx = LLVMContextCreate();
	LLVMModuleRef m = build_module(l, ctx, tm, 1, &rc);
	if (m) {
		double t0 = now_ms();
		char *msg = NULL;
		LLVMMemoryBufferRef mb = NULL;
		if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &msg, &mb)) {
			snprintf(l->err, sizeof(l->err), "LLVM code generation: %s", msg ? msg : "?");
			rc = -EIO;
		} else {
			*len = LLVMGetBufferSize(mb);
			*obj = malloc(*len ? *len : 1);
			if (*obj)
				memcpy(*obj, LLVMGetBufferStart(mb), *len);
			else
				rc = -ENOMEM;
			LLVMDisposeMemoryBuffer(mb);
		}
		LLVMDisposeMessage(msg);
		LLVMDisposeModule(m);
		l->st.codegen_ms = now_ms() - t0;
	}
	LLVMContextDispose(ctx);
	tm_release();
	return rc;
}

int sbpf_llvm__emit_object(struct sbpf_llvm *l, void **obj, size_t *len)
{
	l->err[0] = '\0';
	memset(&l->st, 0, sizeof(l->st));
	l->aot = 1;
	int rc = compile_object(l, obj, len);
	l->aot = 0;
	if (!rc) {
		l->st.object_bytes = *len;
		l->st.code_bytes = text_bytes(*obj, *len);
	}
	return rc;
}

char *sbpf_llvm__ir(struct sbpf_llvm *l, int optimized)
{
	int rc = 0;
	l->err[0] = '\0';
	LLVMTargetMachineRef tm = host_tm(l);
	if (!tm) {
		errno = EIO;
		return NULL;
	}
	LLVMContextRef ctx = LLVMContextCreate();
	LLVMModuleRef m = build_module(l, ctx, tm, optimized, &rc);
	char *out = NULL;
	if (m) {
		char *s = LLVMPrintModuleToString(m);
		out = strdup(s);
		LLVMDisposeMessage(s);
		LLVMDisposeModule(m);
	}
	LLVMContextDispose(ctx);
	tm_release();
	if (!out)
		errno = rc ? -rc : ENOMEM;
	return out;
}

/* ---- cache ----------------------------------------------------------------- */

/* The key: everything the object depends on (layout version, LLVM and CPU,
 * options, program, read-only data, helper ids). Malloc'ed, in *@len. */
static uint8_t *cache_key(const struct sbpf_llvm *l, size_t *len)
{
	const char *ver = sbpf_llvm_version();
	const char *feat = host_features;
	uint32_t ids[SBPF_MAX_HELPERS];
	size_t nh = sbpf_llvm__helpers_used(l, ids, SBPF_MAX_HELPERS);
	uint64_t hdr[8] = { KEY_MAGIC, (uint64_t)l->o.type, (uint64_t)l->o.opt_level, (uint64_t)l->o.no_facts,
			    l->n, l->o.rodata_len, nh, strlen(l->o.entry) };
	size_t vl = strlen(ver) + 1, fl = strlen(feat) + 1, el = strlen(l->o.entry);
	*len = sizeof(hdr) + vl + fl + el + l->n * sizeof(*l->insns) + l->o.rodata_len + nh * sizeof(ids[0]);
	uint8_t *k = malloc(*len), *p = k;
	if (k) {
		memcpy(p, hdr, sizeof(hdr)), p += sizeof(hdr);
		memcpy(p, ver, vl), p += vl;
		memcpy(p, feat, fl), p += fl;
		memcpy(p, l->o.entry, el), p += el;
		memcpy(p, l->insns, l->n * sizeof(*l->insns)), p += l->n * sizeof(*l->insns);
		if (l->o.rodata_len)
			memcpy(p, l->rodata, l->o.rodata_len), p += l->o.rodata_len;
		memcpy(p, ids, nh * sizeof(ids[0]));
	}
	return k;
}

/* 64-bit FNV-1a of @p. */
static uint64_t fnv64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* One cached object. */
struct centry {
	uint8_t *key;       /* full key (compared, so hash collisions are harmless) */
	size_t keylen;
	void *obj;          /* ELF object */
	size_t objlen;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct centry mem_cache[MEM_CACHE_MAX];
static size_t mem_next;     /* next slot to (re)use, round robin */

static int mem_lookup(const uint8_t *key, size_t keylen, void **obj, size_t *objlen)
{
	int hit = 0;
	pthread_mutex_lock(&cache_mu);
	for (size_t i = 0; i < MEM_CACHE_MAX && !hit; i++) {
		struct centry *e = &mem_cache[i];
		if (e->key && e->keylen == keylen && !memcmp(e->key, key, keylen) && (*obj = malloc(e->objlen))) {
			memcpy(*obj, e->obj, e->objlen);
			*objlen = e->objlen;
			hit = 1;
		}
	}
	pthread_mutex_unlock(&cache_mu);
	return hit;
}

static void mem_store(const uint8_t *key, size_t keylen, const void *obj, size_t objlen)
{
	uint8_t *k = malloc(keylen);
	void *o = malloc(objlen);
	if (!k || !o) {
		free(k);
		free(o);
		return;
	}
	memcpy(k, key, keylen);
	memcpy(o, obj, objlen);
	pthread_mutex_lock(&cache_mu);
	struct centry *e = &mem_cache[mem_next];
	mem_next = (mem_next + 1) % MEM_CACHE_MAX;
	free(e->key);
	free(e->obj);
	*e = (struct centry){ k, keylen, o, objlen };
	pthread_mutex_unlock(&cache_mu);
}

static void disk_path(const char *dir, uint64_t h, char *path, size_t sz)
{
	snprintf(path, sz, "%s/%016llx.sbpfllvm", dir, (unsigned long long)h);
}

/* A file holds: key length (u64), key, object. */
static int disk_lookup(const char *dir, uint64_t h, const uint8_t *key, size_t keylen, void **obj, size_t *objlen)
{
	char path[4096];
	disk_path(dir, h, path, sizeof(path));
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	int hit = 0;
	uint64_t kl;
	struct stat sb;
	uint8_t *k = NULL;
	if (!fstat(fileno(f), &sb) && fread(&kl, sizeof(kl), 1, f) == 1 && kl == keylen &&
	    (uint64_t)sb.st_size > sizeof(kl) + kl && (k = malloc(keylen)) && fread(k, 1, keylen, f) == keylen &&
	    !memcmp(k, key, keylen)) {
		size_t ol = (size_t)sb.st_size - sizeof(kl) - keylen;
		*obj = malloc(ol);
		if (*obj && fread(*obj, 1, ol, f) == ol) {
			*objlen = ol;
			hit = 1;
		} else {
			free(*obj);
			*obj = NULL;
		}
	}
	free(k);
	fclose(f);
	return hit;
}

static void disk_store(const char *dir, uint64_t h, const uint8_t *key, size_t keylen, const void *obj, size_t objlen)
{
	char path[4096], tmp[4200];
	mkdir(dir, 0700);
	disk_path(dir, h, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return;
	uint64_t kl = keylen;
	int ok = fwrite(&kl, sizeof(kl), 1, f) == 1 && fwrite(key, 1, keylen, f) == keylen &&
		 fwrite(obj, 1, objlen, f) == objlen;
	if (fclose(f) || !ok || rename(tmp, path))
		remove(tmp);
}

/* ---- loading ----------------------------------------------------------------- */

static int define_abs(struct sbpf_llvm *l, LLVMOrcJITDylibRef jd, const char *const *names,
		      const uint64_t *addrs, size_t n)
{
	if (!n)
		return 0;
	LLVMJITCSymbolMapPair *pairs = calloc(n, sizeof(*pairs));
	if (!pairs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		pairs[i].Name = LLVMOrcLLJITMangleAndIntern(l->jit, names[i]);
		pairs[i].Sym.Address = addrs[i];
		pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
		pairs[i].Sym.Flags.TargetFlags = 0;
	}
	LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, n);
	free(pairs);
	LLVMErrorRef e = LLVMOrcJITDylibDefine(jd, mu);
	return e ? llvm_fail(l, "ORC symbols", e) : 0;
}

/* Loads object @obj into a fresh LLJIT and resolves the entry. */
static int load_object(struct sbpf_llvm *l, const void *obj, size_t len)
{
	double t0 = now_ms();
	LLVMErrorRef e = LLVMOrcCreateLLJIT(&l->jit, NULL);
	if (e) {
		l->jit = NULL;
		return llvm_fail(l, "ORC LLJIT", e);
	}
	LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(l->jit);
	const char *names[SBPF_MAX_HELPERS + 3];
	char store[SBPF_MAX_HELPERS][24];
	uint64_t addrs[SBPF_MAX_HELPERS + 3];
	size_t k = 0;
	names[k] = "memset", addrs[k++] = (uint64_t)(uintptr_t)memset;
	names[k] = "memcpy", addrs[k++] = (uint64_t)(uintptr_t)memcpy;
	names[k] = "memmove", addrs[k++] = (uint64_t)(uintptr_t)memmove;
	uint32_t ids[SBPF_MAX_HELPERS];
	size_t nh = sbpf_llvm__helpers_used(l, ids, SBPF_MAX_HELPERS);
	for (size_t i = 0; i < nh; i++)
		if (l->helpers[ids[i]]) {
			snprintf(store[i], sizeof(store[i]), "sbpf_helper_%u", ids[i]);
			names[k] = store[i];
			addrs[k++] = (uint64_t)(uintptr_t)l->helpers[ids[i]];
		}
	int rc = define_abs(l, jd, names, addrs, k);
	if (rc)
		return rc;
	LLVMMemoryBufferRef mb = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, len, "sbpf-object");
	e = LLVMOrcLLJITAddObjectFile(l->jit, jd, mb);
	if (e)
		return llvm_fail(l, "ORC object", e);
	LLVMOrcExecutorAddress addr = 0;
	e = LLVMOrcLLJITLookup(l->jit, &addr, l->o.entry);
	if (e)
		return llvm_fail(l, "ORC lookup", e);
	l->entry = (uint64_t (*)(uint64_t, uint64_t))(uintptr_t)addr;
	l->st.load_ms = now_ms() - t0;
	return 0;
}

int sbpf_llvm__compile(struct sbpf_llvm *l)
{
	double t0 = now_ms();
	long rss0 = peak_rss_kb();
	l->err[0] = '\0';
	if (l->jit) {
		LLVMOrcDisposeLLJIT(l->jit);
		l->jit = NULL;
		l->entry = NULL;
	}
	memset(&l->st, 0, sizeof(l->st));
	/* every helper must be there before anything is cached or compiled */
	uint32_t ids[SBPF_MAX_HELPERS];
	size_t nh = sbpf_llvm__helpers_used(l, ids, SBPF_MAX_HELPERS);
	for (size_t i = 0; i < nh; i++)
		if (!l->helpers[ids[i]]) {
			for (size_t pc = 0; pc < l->n; pc = llvm_next(l->insns, pc))
				if (l->insns[pc].code == (SBPF_JMP | SBPF_CALL) && l->insns[pc].src_reg == 0 &&
				    (uint32_t)l->insns[pc].imm == ids[i]) {
					snprintf(l->err, sizeof(l->err), "instruction %zu: call to unknown helper %u",
						 pc, ids[i]);
					break;
				}
			return -ENOENT;
		}
	void *obj = NULL;
	size_t objlen = 0, keylen = 0;
	uint8_t *key = l->o.no_cache ? NULL : cache_key(l, &keylen);
	uint64_t h = key ? fnv64(key, keylen) : 0;
	int hit = key && mem_lookup(key, keylen, &obj, &objlen);
	if (!hit && key && l->o.cache_dir && disk_lookup(l->o.cache_dir, h, key, keylen, &obj, &objlen)) {
		hit = 1;
		mem_store(key, keylen, obj, objlen);
	}
	int rc = 0;
	if (!hit) {
		rc = compile_object(l, &obj, &objlen);
		if (!rc && key) {
			mem_store(key, keylen, obj, objlen);
			if (l->o.cache_dir)
				disk_store(l->o.cache_dir, h, key, keylen, obj, objlen);
		}
	}
	free(key);
	if (!rc)
		rc = load_object(l, obj, objlen);
	if (!rc) {
		l->st.cache_hit = hit;
		l->st.object_bytes = objlen;
		l->st.code_bytes = text_bytes(obj, objlen);
	} else if (l->jit) {
		LLVMOrcDisposeLLJIT(l->jit);
		l->jit = NULL;
		l->entry = NULL;
	}
	free(obj);
	l->st.total_ms = now_ms() - t0;
	l->st.rss_growth_kb = peak_rss_kb() - rss0;
	return rc;
}

int sbpf_llvm__run(struct sbpf_llvm *l, void *mem, size_t len, uint64_t *r0, struct sbpf_run_error *err)
{
	if (!l->entry) {
		if (err) {
			err->pc = 0;
			snprintf(err->reason, sizeof(err->reason), "the program is not compiled");
		}
		return -EINVAL;
	}
	if (l->o.type == SBPF_PROG_XDP) {
		struct sbpf_xdp_ctx ctx;
		sbpf_xdp_ctx__init(&ctx, mem, mem ? len : 0);
		*r0 = l->entry((uint64_t)(uintptr_t)&ctx, 0);
		return 0;
	}
	*r0 = l->entry((uint64_t)(uintptr_t)mem, mem ? (uint64_t)len : 0);
	return 0;
}
