/* replay.c - deterministic replay of recorded ACKs (stub until the
 * interpreter-backed kernel replay lands). */
#include <errno.h>
#include <stdio.h>
#include "cc/ccInt.h"

long cc_replay(const struct cc_prog *p, enum cc_plan_mode mode, FILE *in, FILE *out, char *err, size_t errsz)
{
	(void)p, (void)mode, (void)in, (void)out;
	snprintf(err, errsz, "not yet");
	return -ENOSYS;
}
