/* replay_main.c - a libFuzzer-compatible driver for regression runs without
 * libFuzzer: feeds every file named on the command line (directories are
 * walked) to LLVMFuzzerTestOneInput once. Linked with gcc + ASan by the
 * Makefile (build/asan/replay/fuzz_*), run by tests/suites/30-fuzz-replay.sh.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replayed, unreadable;

/* Runs the target on the bytes of @path. */
static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		unreadable++;
		return;
	}
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (!buf) {
		unreadable++;
		return;
	}
	/* A fresh copy of exactly n bytes, so ASan sees reads past the input. */
	uint8_t *exact = malloc(n ? n : 1);
	if (exact) {
		memcpy(exact, buf, n);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
		replayed++;
	}
	free(buf);
}

/* Replays @path, or every regular file below it when it is a directory. */
static void replay_path(const char *path)
{
	struct stat st;
	if (stat(path, &st)) {
		fprintf(stderr, "replay: no such file %s\n", path);
		unreadable++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	struct dirent **names;
	int k = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < k; i++) {
		if (names[i]->d_name[0] != '.') {
			char child[4096];
			snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
			replay_path(child);
		}
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		replay_path(argv[i]);
	printf("replayed %d inputs\n", replayed);
	return unreadable ? 2 : 0;
}
