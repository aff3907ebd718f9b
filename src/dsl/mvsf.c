/* mvsf.c - the registry of MVSF self-tests: one entry per row of mvsf.def,
 * so that `safebpf selftest` loads every DSL's minimum verifier-safe
 * function without knowing the DSLs.
 */
#include <stddef.h>
#include <string.h>

#include "dsl/dsl.h"

#define MVSF(name, fn, what) void fn(int verbose, struct dsl_mvsf_result *r);
#include "dsl/mvsf.def"

static const struct dsl_mvsf table[] = {
#define MVSF(name, fn, what) { name, what, fn },
#include "dsl/mvsf.def"
	{ NULL, NULL, NULL }, /* sentinel: keeps the array non-empty */
};

const struct dsl_mvsf *dsl_mvsfs(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]) - 1;
	return table;
}

const struct dsl_mvsf *dsl_mvsf_find(const char *name)
{
	for (size_t i = 0; table[i].dsl; i++)
		if (!strcmp(table[i].dsl, name))
			return &table[i];
	return NULL;
}
