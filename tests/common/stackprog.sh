# stackprog.sh - shared by the test suites that query build/e2e/stackprog
# (sourced; uses the caller's $SB, $SP and $tmp).
#
# stackprog_query OUT ARGS -- QUERY-ARGS...: starts stackprog ARGS waiting
# on a pipe, runs `safebpf query --show-plan -p PID QUERY-ARGS` on it,
# releases it after the "attached" line, waits for its "done", stops the
# query with SIGINT (it reads every event already produced), then lets the
# program exit. Output in OUT, stderr in OUT.err.
stackprog_query() {
	local out=$1; shift
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	rm -f "$tmp/go" "$tmp/perr" "$tmp/dout"
	mkfifo "$tmp/go" "$tmp/perr" "$tmp/dout"
	exec 4<>"$tmp/go" 6<>"$tmp/dout"
	"$SP" --wait-fd 3 "${args[@]}" 3<&4 >&6 &
	local pid=$!
	"$SB" query --show-plan -p "$pid" "$@" >"$out" 2>"$tmp/perr" &
	local q=$!
	exec 5<"$tmp/perr"
	local line
	while IFS= read -r line <&5; do case $line in *attached*) break ;; esac; done
	echo go >&4
	read -r line <&6
	kill -INT "$q"
	wait "$q"
	cat <&5 >"$out.err"
	echo bye >&4
	wait "$pid"
	exec 4>&- 5<&- 6>&-
}
