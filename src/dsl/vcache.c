/* vcache.c - the verifier-verdict cache of every DSL (SQL, cc, sched): one
 * line per plan fingerprint in <cache dir>/<file>-<kernel release> (SQL uses
 * "verdicts", cc and sched "dsl-verdicts"), so a candidate this kernel
 * refused once is skipped on the next run. Only a cache: every error is
 * ignored, and an accepted plan is still loaded (and so judged again) when
 * it runs.
 *
 * Line format: "%016llx accepted" or "%016llx rejected <reason>"; the last
 * line for a fingerprint wins. Lines are short single write()s on an
 * O_APPEND file under flock, so concurrent runs never interleave them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "dsl/dsl.h"

static char rel[128];          /* uname release, set once */
static char dir[400];          /* cache directory, set once ("" when unusable) */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* mkdir -p @path. 0 or a negative errno. */
static int mkdirs(const char *path)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static void init_once(void)
{
	struct utsname u;
	snprintf(rel, sizeof(rel), "%s", uname(&u) ? "unknown" : u.release);
	const char *env = getenv("SAFEBPF_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (env && env[0])
		snprintf(dir, sizeof(dir), "%s", env);
	else if (xdg && xdg[0])
		snprintf(dir, sizeof(dir), "%s/safebpf", xdg);
	else if (home && home[0])
		snprintf(dir, sizeof(dir), "%s/.cache/safebpf", home);
	else
		return;
	if (mkdirs(dir))
		dir[0] = '\0';
}

const char *dsl_kernel_release(void)
{
	pthread_once(&once, init_once);
	return rel;
}

const char *dsl_cache_dir(void)
{
	pthread_once(&once, init_once);
	return dir[0] ? dir : NULL;
}

/* Cache file @file of this kernel release, or -ENOENT when there is none. */
static int cache_path(const char *file, char *path, size_t sz)
{
	pthread_once(&once, init_once);
	if (!dir[0] || getenv("SAFEBPF_NO_VERDICT_CACHE"))
		return -ENOENT;
	snprintf(path, sz, "%s/%s-%s", dir, file, rel);
	return 0;
}

bool dsl_vcache_get(const char *file, uint64_t fp, enum dsl_verdict *v, char *reason, size_t reasonsz)
{
	char path[600], line[512];
	if (!fp || cache_path(file, path, sizeof(path)))
		return false;
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long x;
		char word[16];
		int n = 0;
		if (sscanf(line, "%16llx %15s %n", &x, word, &n) < 2 || x != fp)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(word, "accepted")) {
			*v = DSL_VERDICT_ACCEPTED;
			if (reasonsz)
				reason[0] = '\0';
		} else if (!strcmp(word, "rejected")) {
			*v = DSL_VERDICT_REJECTED;
			if (reasonsz)
				snprintf(reason, reasonsz, "%s", n ? line + n : "");
		} else {
			continue;
		}
		found = true;
	}
	fclose(f);
	return found;
}

void dsl_vcache_put(const char *file, uint64_t fp, enum dsl_verdict v, const char *reason)
{
	char path[600], line[400], clean[304];
	enum dsl_verdict old;
	char had[8];
	if (!fp || (v != DSL_VERDICT_ACCEPTED && v != DSL_VERDICT_REJECTED) || cache_path(file, path, sizeof(path)))
		return;
	if (dsl_vcache_get(file, fp, &old, had, sizeof(had)) && old == v)
		return; /* already known */
	snprintf(clean, sizeof(clean), "%s", reason ? reason : "");
	for (char *c = clean; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	int n = v == DSL_VERDICT_ACCEPTED
			? snprintf(line, sizeof(line), "%016llx accepted\n", (unsigned long long)fp)
			: snprintf(line, sizeof(line), "%016llx rejected %s\n", (unsigned long long)fp, clean);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	flock(fd, LOCK_EX);
	if (n > 0 && write(fd, line, (size_t)n) != n) {
		/* a cache: nothing to do */
	}
	flock(fd, LOCK_UN);
	close(fd);
}
