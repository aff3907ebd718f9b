#!/usr/bin/env bash
# 66-serve.sh - `safebpf serve` scraped by a real Prometheus server: a
# configuration file with three named queries over a deterministic workload
# (tests/e2e/workload, copied under a name of its own so that only its
# events count), Prometheus started on loopback with a scrape interval of
# 500ms, and exact values read back through its HTTP API with PromQL:
# counters (1000 getppid calls, then 500 more: the difference of two
# samples is 500), a histogram bucket, count and sum, a label value with a
# quote, a backslash and a newline. Then, without Prometheus: the
# cardinality limit (6 processes, max_series 2: 4 evicted), SIGHUP keeping
# an unchanged query's counters, SIGTERM exiting 0 with everything
# detached. Waits are polls of a condition with a deadline, never sleeps.
# Skips, saying why, without privileges or when Prometheus cannot start.
set -u
cd "$(dirname "$0")/../.."
SB=${SAFEBPF:-build/asan/safebpf}
PROM=${PROMETHEUS:-/usr/bin/prometheus}
pass=0 fail=0 skip=0
NCHECKS=26
tmp=$(mktemp -d)
svpid= prompid=
cleanup() {
	[ -n "$svpid" ] && kill "$svpid" 2>/dev/null && wait "$svpid" 2>/dev/null
	[ -n "$prompid" ] && kill "$prompid" 2>/dev/null && wait "$prompid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "66-serve: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

if [ ! -x "$SB" ] || [ ! -x build/e2e/workload ]; then
	bad "build: $SB and build/e2e/workload must exist (make asan)"
	finish
fi
"$SB" query -d 1ms 'SELECT COUNT(*) FROM process_exit' >/dev/null 2>"$tmp/probe.err"
if [ $? -ne 0 ]; then
	echo "skip serve tests: $(grep safebpf "$tmp/probe.err" | head -n 1)"
	skip=$NCHECKS
	finish
fi

"$SB" serve -l 127.0.0.1:0 -q 'x=SELECT pdi, COUNT(*) FROM system_calls GROUP BY pdi' 2>"$tmp/bad.err"
check "bad query: exit 3 with a caret diagnostic naming the query" \
	"[ $? -eq 3 ] && grep -q \"^query x:1:8: error: unknown column 'pdi'\" '$tmp/bad.err' && grep -q '\\^~~' '$tmp/bad.err'"
"$SB" serve -l 127.0.0.1:0 -q 'x=SELECT pid FROM system_calls' 2>"$tmp/noagg.err"
check "a query without aggregates is refused (exit 3, says why)" \
	"[ $? -eq 3 ] && grep -q \"query 'x' has no aggregate\" '$tmp/noagg.err'"

# The workload under a name of its own (comm is at most 15 characters).
name=sbsv$$
name=${name:0:15}
WL="$tmp/$name"
cp build/e2e/workload "$WL"
nproc=0   # workload processes run so far (each exits once: one pids series)
odd="$tmp/q\"b\\s
n"
touch "$odd"

# waitfor SECONDS CMD...: runs CMD until it succeeds or the deadline passes
# (polling every 100ms: the poll interval, not a synchronisation).
waitfor() {
	local end=$(( $(date +%s) + $1 ))
	shift
	until "$@"; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.1
	done
}
checkc() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
metric() { curl -s "http://$addr/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
ism() { [ "$(metric "$1")" = "$2" ]; }            # serve's own value of a sample
alive_or() { grep -q "$2" "$1" || ! kill -0 "$svpid" 2>/dev/null; }

cat >"$tmp/serve.conf" <<CONF
# 66-serve test configuration
interval = 500ms

[query calls]
sql = SELECT syscall_name(syscall_number) AS syscall, COUNT(*) AS calls,
      LHIST(ret, 0, 4, 1) AS ret
      FROM system_calls WHERE comm = '$name' GROUP BY syscall

[query opens]
sql = SELECT path, COUNT(*) AS opens, LHIST(ret, -4, 8, 1) AS fd
      FROM file_opens WHERE comm = '$name' GROUP BY path
plan = mvsf

[query pids]
sql = SELECT pid, COUNT(*) AS exits FROM process_exit WHERE comm = '$name' GROUP BY pid
max_series = 2
CONF
"$SB" serve -c "$tmp/serve.conf" --listen 127.0.0.1:0 2>"$tmp/serve.err" &
svpid=$!
waitfor 60 alive_or "$tmp/serve.err" 'attached; serving'
addr=$(sed -n 's|.*serving 3 queries on http://\([0-9.:]*\)/metrics|\1|p' "$tmp/serve.err")
check "serve: attached 3 queries on loopback ($addr)" "[ -n '$addr' ] && [ '${addr%:*}' = 127.0.0.1 ]"
if [ -z "$addr" ]; then cat "$tmp/serve.err"; skip=$((NCHECKS - 3)); finish; fi

curl -s "http://$addr/metrics" >"$tmp/text.txt"
curl -s -H 'Accept: application/openmetrics-text;version=1.0.0' "http://$addr/metrics" >"$tmp/om.txt"
check "text format: counter TYPE with _total, histogram TYPE, plan and health metrics" \
	"grep -qx '# TYPE safebpf_calls_calls_total counter' '$tmp/text.txt' && grep -qx '# TYPE safebpf_calls_ret histogram' '$tmp/text.txt' && grep -q '^safebpf_query_plan{query=\"opens\",kernel=\"false\"' '$tmp/text.txt' && grep -qx 'safebpf_query_up{query=\"pids\"} 1' '$tmp/text.txt'"
check "OpenMetrics when asked by Accept: family without _total, ends with # EOF" \
	"grep -qx '# TYPE safebpf_calls_calls counter' '$tmp/om.txt' && [ \"\$(tail -n 1 '$tmp/om.txt')\" = '# EOF' ]"

# A real Prometheus on loopback, scraping serve every 500ms.
pport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/prom.yml" <<YML
global:
  scrape_interval: 500ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: safebpf
    scrape_interval: 500ms
    scrape_timeout: 400ms
    static_configs:
      - targets: ['$addr']
YML
"$PROM" --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/data" --web.listen-address="127.0.0.1:$pport" \
	>"$tmp/prom.log" 2>&1 &
prompid=$!
P="http://127.0.0.1:$pport"
# pq EXPR [TIME]: the value of a PromQL instant query with one result ("" otherwise).
pq() {
	python3 - "$P" "$@" <<'PY'
import json, sys, urllib.parse, urllib.request
args = {"query": sys.argv[2]}
if len(sys.argv) > 3:
    args["time"] = sys.argv[3]
try:
    r = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode(args), timeout=5))
    res = r["data"]["result"]
    print(res[0]["value"][1] if len(res) == 1 else "")
except Exception:
    print("")
PY
}
pqis() { local want=$1; shift; [ "$(pq "$@")" = "$want" ]; }   # pqis VALUE EXPR [TIME]
prom_ready() { curl -sf "$P/-/ready" >/dev/null || ! kill -0 "$prompid" 2>/dev/null; }
label_back() {
	python3 - "$P" "$odd" <<'PY'
import json, sys, urllib.parse, urllib.request
q = urllib.parse.urlencode({'query': 'safebpf_opens_opens_total'})
res = json.load(urllib.request.urlopen(sys.argv[1] + '/api/v1/query?' + q, timeout=5))['data']['result']
sys.exit(0 if [r['value'][1] for r in res if r['metric'].get('path') == sys.argv[2]] == ['3'] else 1)
PY
}
if ! waitfor 60 prom_ready || ! kill -0 "$prompid" 2>/dev/null; then
	echo "skip Prometheus checks: Prometheus did not start: $(tail -n 3 "$tmp/prom.log" | tr '\n' ' ')"
	prompid=
	skip=$((skip + 13))
else
	checkc "Prometheus scrapes serve (up == 1)" waitfor 30 pqis 1 'up{job="safebpf"}'
	checkc "Prometheus negotiated OpenMetrics and parsed it (scrapes by format)" \
		eval '[ "$(pq "safebpf_scrapes_total{format=\"openmetrics\"} > 0")" != "" ]'
	"$WL" --getppid 1000 --write-null 7 --open "$odd" 3
	nproc=$((nproc + 1))
	G='safebpf_calls_calls_total{syscall="getppid"}'
	checkc "PromQL: getppid counter is exactly 1000" waitfor 30 pqis 1000 "$G"
	t1=$(pq "timestamp($G)")
	"$WL" --getppid 500
	nproc=$((nproc + 1))
	checkc "PromQL: after 500 more, exactly 1500" waitfor 30 pqis 1500 "$G"
	t2=$(pq "timestamp($G)")
	d=$(python3 -c "print(round(($t2 - $t1) * 1000))")
	checkc "PromQL: the counter's increase between the two samples ($G - $G offset ${d}ms) is 500" \
		pqis 500 "$G - $G offset ${d}ms" "$t2"
	checkc "PromQL: resets() of the counter is 0" pqis 0 "resets(${G}[10m])"
	W='syscall="write"'
	checkc "PromQL: bucket le=\"1\" of write's return value (ret 1, 7 writes) is 7" \
		waitfor 30 pqis 7 "safebpf_calls_ret_bucket{$W,le=\"1\"}"
	checkc "PromQL: no bucket le=\"0\" for write (no value below 1)" pqis "" "safebpf_calls_ret_bucket{$W,le=\"0\"}"
	checkc "PromQL: histogram _count 7" pqis 7 "safebpf_calls_ret_count{$W}"
	checkc "PromQL: +Inf bucket 7" pqis 7 "safebpf_calls_ret_bucket{$W,le=\"+Inf\"}"
	checkc "PromQL: histogram _sum 7 (seven writes returning 1), aggregated in the kernel" \
		eval 'pqis 7 "safebpf_calls_ret_sum{$W}" && pqis 1 "count(safebpf_query_plan{query=\"calls\",placement=~\".*aggregate @kernel.*\"})"'
	# The opens query runs in user space (plan mvsf), where histograms keep their sum:
	# the odd path opened 3 times, each open returning fd 3.
	O="path=\"$(sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' <<<"$odd" | sed -z 's/\n$//; s/\n/\\n/g')\""
	checkc "PromQL: mvsf histogram: bucket le=\"3\" 3, _sum 9 (3 opens returning fd 3)" \
		eval 'waitfor 30 pqis 3 "safebpf_opens_fd_bucket{$O,le=\"3\"}" && pqis 9 "safebpf_opens_fd_sum{$O}"'
	checkc "PromQL: a label value with quote, backslash and newline reads back exactly (3 opens)" \
		waitfor 30 label_back
fi

# Cardinality: the workload and its 5 children exit (after the runs above,
# each one process), max_series 2: all but 2 series are evicted.
"$WL" --fork 5
nproc=$((nproc + 6))
card() { ism 'safebpf_query_series_evicted_total{query="pids"}' $((nproc - 2)) && ism 'safebpf_query_series{query="pids"}' 2; }
checkc "cardinality limit: $((nproc - 2)) of $nproc series evicted (one per process), 2 kept" waitfor 30 card
events=$(metric 'safebpf_query_events_total{query="calls"}')
checkc "health: events counted ($events >= 1510), none lost" \
	eval "[ '${events:-0}' -ge 1510 ] && ism 'safebpf_query_lost_events_total{query=\"calls\"}' 0"

# SIGHUP: 'opens' changes, 'pids' goes, 'calls' stays with its counters.
G='safebpf_calls_calls_total{syscall="getppid"}'
before=$(metric "$G")
sed -i -e 's/AS opens,/AS n,/' -e '/^\[query pids\]/,$d' "$tmp/serve.conf"
kill -HUP "$svpid"
checkc "SIGHUP: reloaded, 1 kept, 1 started (changed), 2 stopped (changed and removed)" \
	waitfor 30 grep -q 'reloaded .*: 1 kept, 1 started, 2 stopped' "$tmp/serve.err"
checkc "SIGHUP: the unchanged query keeps its counter ($before)" eval "[ '$before' = 1500 ] && ism '$G' 1500"
curl -s "http://$addr/metrics" >"$tmp/after.txt"
check "SIGHUP: the changed query is new, the removed one gone" \
	"grep -q '^# TYPE safebpf_opens_n_total counter' '$tmp/after.txt' && ! grep -q 'safebpf_pids_' '$tmp/after.txt'"
echo "bad = " >"$tmp/serve.conf"
kill -HUP "$svpid"
checkc "SIGHUP with a bad file: says where, keeps the running set" \
	waitfor 30 grep -q 'serve.conf:1: .*not reloaded' "$tmp/serve.err"
checkc "  ... and the counter" ism "$G" 1500

# SIGTERM: exits 0 once every query detached.
kill -TERM "$svpid"
wait "$svpid"
rc=$?
svpid=
check "SIGTERM: exit 0, every program detached" "[ $rc -eq 0 ] && grep -q 'stopped; every program detached' '$tmp/serve.err'"
finish
