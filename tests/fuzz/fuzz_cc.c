/* fuzz_cc.c - libFuzzer target for the congestion-control DSL: any text
 * either parses or yields diagnostics located inside the text; whatever
 * parses generates its plans' programs, and on a fixed trace of ACKs the
 * kernel plan (its eBPF in the interpreter), the folds plan when there is
 * one, and the MVSF plan (reference semantics) give the same windows and
 * rates, without crashing, leaking or
 * undefined behaviour. The replay needs vmlinux BTF; without it only the
 * front end is fuzzed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/ccInt.h"

#define CHECK(cond, ...)                                                           \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "fuzz_cc: property violated: " __VA_ARGS__); \
			fputc('\n', stderr);                                       \
			abort();                                                   \
		}                                                                  \
	} while (0)

/* A fixed trace: 64 ACKs of two flows with losses, timeouts and samples. */
static FILE *trace(void)
{
	FILE *f = tmpfile();
	uint64_t x = 0x243f6a8885a308d3ull, now = 5000;
	for (int i = 0; i < 64; i++) {
		uint64_t m[CC_NMEAS] = { 0 };
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		m[CC_M_ACKED] = x % 5;
		m[CC_M_RTT] = x % 3 ? 50 + (x >> 8) % 9000 : 0;
		m[CC_M_SRTT] = 60 + (x >> 16) % 9000;
		m[CC_M_MIN_RTT] = 40 + (x >> 24) % 100;
		m[CC_M_LOSS] = i % 17 == 3 ? 2 : 0;
		m[CC_M_TIMEOUT] = i == 40;
		m[CC_M_RECOVERY] = i % 17 == 3 || i % 17 == 4;
		m[CC_M_ECN] = i % 23 == 5;
		m[CC_M_INFLIGHT] = (x >> 32) % 100;
		m[CC_M_DELIVERED] = (x >> 40) % 64;
		m[CC_M_INTERVAL] = i % 9 ? (x >> 20) % 20000 : 0;
		m[CC_M_MSS] = 1448;
		m[CC_M_RATE] = m[CC_M_INTERVAL] ? m[CC_M_DELIVERED] * 1448 * 1000000 / m[CC_M_INTERVAL] : 0;
		now += (x >> 48) % 300;
		m[CC_M_NOW] = now;
		m[CC_M_CWND] = 10;
		m[CC_M_APP_LIMITED] = i % 11 == 0;
		m[CC_M_CWND_LIMITED] = i % 5 != 0;
		cc_record_line(f, 1 + (uint32_t)(i % 2), m);
	}
	return f;
}

static char *slurp(FILE *f)
{
	fflush(f);
	long n = ftell(f);
	char *b = calloc(1, (size_t)n + 1);
	rewind(f);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		return NULL;
	}
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16 * 1024)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	size_t len = strlen(text);
	int lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	struct sbpf_diags d = { 0 };
	struct cc_prog *p = NULL;
	int rc = cc_parse(text, "fuzz.cc", &d, &p);
	if (rc) {
		CHECK(rc == -ENOMEM || d.n >= 1, "refused without a diagnostic");
		for (size_t i = 0; i < d.n; i++)
			CHECK(d.items[i].line >= 1 && d.items[i].line <= lines && d.items[i].col >= 1,
			      "diagnostic at %d:%d outside the text", d.items[i].line, d.items[i].col);
		char *m = sbpf_diags__format(&d);
		free(m);
		sbpf_diags__free(&d);
		free(text);
		return 0;
	}
	CHECK(d.n == 0, "parsed with diagnostics");
	struct cc_layout l;
	char err[300];
	if (!cc_layout_get(&l, err, sizeof(err))) {
		FILE *in = trace(), *a = tmpfile(), *b = tmpfile();
		rewind(in);
		long na = cc_replay(p, CC_PLAN_MVSF, in, a, err, sizeof(err));
		rewind(in);
		long nb = cc_replay(p, CC_PLAN_KERNEL, in, b, err, sizeof(err));
		CHECK(na == 64 && nb == 64, "replay failed (%ld, %ld): %s", na, nb, err);
		char *x = slurp(a), *y = slurp(b);
		CHECK(x && y && !strcmp(x, y), "plans differ:\n--- mvsf\n%s--- kernel\n%s", x ? x : "", y ? y : "");
		free(y);
		if (cc_split_point(p, NULL)) {
			FILE *c = tmpfile();
			rewind(in);
			long nc = cc_replay(p, CC_PLAN_FOLDS, in, c, err, sizeof(err));
			char *z = slurp(c);
			CHECK(nc == 64 && z && !strcmp(x, z), "folds plan differs: %s", err);
			free(z);
			fclose(c);
		}
		free(x);
		fclose(in);
		fclose(a);
		fclose(b);
	}
	cc_prog_free(p);
	free(text);
	return 0;
}
