/* fuzz_serve_conf.c - libFuzzer target for the configuration parser of
 * `safebpf serve` (src/serve/config.c): any text either parses, giving
 * queries with valid names and non-empty SQL, or is refused with a message
 * that starts with the file name; nothing crashes or leaks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serveInt.h"

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_serve_conf: property violated: " __VA_ARGS__); \
			fputc('\n', stderr);                                               \
			abort();                                                           \
		}                                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct serve_conf c = { 0 };
	char err[512] = "";
	int rc = serve_conf_parse(text, "f.conf", &c, err, sizeof(err));
	if (rc == 0) {
		for (size_t i = 0; i < c.nq; i++) {
			CHECK(serve_name_ok(c.q[i].name, strlen(c.q[i].name)), "bad name accepted: %s", c.q[i].name);
			CHECK(c.q[i].sql && *c.q[i].sql, "query without sql accepted");
			for (size_t j = 0; j < i; j++)
				CHECK(strcmp(c.q[i].name, c.q[j].name), "duplicate name accepted");
		}
	} else {
		CHECK(rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);
		CHECK(rc == -ENOMEM || !strncmp(err, "f.conf", 6), "message without the file: %s", err);
	}
	serve_conf_free(&c);
	free(text);
	return 0;
}
