/* vcache.c - SQL's use of the DSLs' verifier-verdict cache (src/dsl/vcache.c):
 * SQL plans keep their own file, <cache dir>/verdicts-<kernel release>, and
 * their verdict values map onto the DSLs' (untried and failed plans are
 * never stored). A fingerprint hashes the generated programs (with
 * placeholder map fds) and the map definitions, so changing the code
 * generator or the tracepoint layouts changes it.
 */
#include "dsl/dsl.h"
#include "sql/sqlInt.h"

static const char vcache_file[] = "verdicts";

bool sql_vcache_get(uint64_t fp, enum sql_verdict *v, char *reason, size_t reasonsz)
{
	enum dsl_verdict d;
	if (!dsl_vcache_get(vcache_file, fp, &d, reason, reasonsz))
		return false;
	*v = d == DSL_VERDICT_ACCEPTED ? SQL_VERDICT_ACCEPTED : SQL_VERDICT_REJECTED;
	return true;
}

void sql_vcache_put(uint64_t fp, enum sql_verdict v, const char *reason)
{
	if (v == SQL_VERDICT_ACCEPTED || v == SQL_VERDICT_REJECTED)
		dsl_vcache_put(vcache_file, fp,
			       v == SQL_VERDICT_ACCEPTED ? DSL_VERDICT_ACCEPTED : DSL_VERDICT_REJECTED, reason);
}
