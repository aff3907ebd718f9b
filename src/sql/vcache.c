/* vcache.c - the verifier-verdict cache: one line per plan fingerprint and
 * kernel release, in <cache dir>/verdicts-<release>, so that a repeated
 * query skips the candidates this kernel already refused (and explain
 * skips loading the ones it accepted). A fingerprint hashes the generated
 * programs (with placeholder map fds) and the map definitions, so changing
 * the code generator or the tracepoint layouts changes it. The file is
 * only a cache: any error is ignored, and a run still loads the chosen
 * programs (an accepted verdict is confirmed by loading).
 *
 * Line format: "%016llx accepted" or "%016llx rejected <reason>".
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

#include "sql/sqlInt.h"

static char rel[128];          /* uname release, set once */
static char dir[400];          /* cache directory, set once ("" when unusable) */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void);

const char *sql_kernel_release(void)
{
	pthread_once(&once, init_once);
	return rel;
}

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

const char *sql_cache_dir(void)
{
	pthread_once(&once, init_once);
	return dir[0] ? dir : NULL;
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

static int cache_path(char *path, size_t sz)
{
	const char *dir = sql_cache_dir();
	if (!dir)
		return -ENOENT;
	snprintf(path, sz, "%s/verdicts-%s", dir, sql_kernel_release());
	return 0;
}

bool sql_vcache_get(uint64_t fp, enum sql_verdict *v, char *reason, size_t reasonsz)
{
	char path[600], line[512];
	if (!fp || getenv("SAFEBPF_NO_VERDICT_CACHE") || cache_path(path, sizeof(path)))
		return false;
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool found = false;
	/* The last line for a fingerprint wins. */
	while (fgets(line, sizeof(line), f)) {
		unsigned long long x;
		char word[16];
		int n = 0;
		if (sscanf(line, "%16llx %15s %n", &x, word, &n) < 2 || x != fp)
			continue;
		if (!strcmp(word, "accepted")) {
			*v = SQL_VERDICT_ACCEPTED;
			if (reasonsz)
				reason[0] = '\0';
		} else if (!strcmp(word, "rejected")) {
			*v = SQL_VERDICT_REJECTED;
			line[strcspn(line, "\n")] = '\0';
			snprintf(reason, reasonsz, "%s", n ? line + n : "");
		} else {
			continue;
		}
		found = true;
	}
	fclose(f);
	return found;
}

void sql_vcache_put(uint64_t fp, enum sql_verdict v, const char *reason)
{
	char path[600], clean[304], had[8];
	enum sql_verdict old;
	if (!fp || (v != SQL_VERDICT_ACCEPTED && v != SQL_VERDICT_REJECTED) || getenv("SAFEBPF_NO_VERDICT_CACHE") ||
	    cache_path(path, sizeof(path)))
		return;
	if (sql_vcache_get(fp, &old, had, sizeof(had)) && old == v)
		return; /* already known */
	snprintf(clean, sizeof(clean), "%s", reason ? reason : "");
	for (char *c = clean; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	reason = clean;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char line[400];
	int n = v == SQL_VERDICT_ACCEPTED ? snprintf(line, sizeof(line), "%016llx accepted\n", (unsigned long long)fp)
					  : snprintf(line, sizeof(line), "%016llx rejected %.300s\n",
						     (unsigned long long)fp, reason ? reason : "");
	/* One write of a short line on an O_APPEND file: lines never interleave. */
	flock(fd, LOCK_EX);
	if (n > 0 && write(fd, line, (size_t)n) != n) {
		/* a cache: nothing to do */
	}
	flock(fd, LOCK_UN);
	close(fd);
}
