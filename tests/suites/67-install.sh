#!/usr/bin/env bash
# 67-install.sh - `make install DESTDIR=...` and the embeddable library:
# the installed tree (CLI, headers, libsafebpf.a, libsafebpf.so with its
# soname links, safebpf.pc, a man page per command), the shared library's
# exports (only sbpf_* functions, each versioned SAFEBPF_0.1), man pages
# equal to the --help text they come from, and examples/count_events.c built
# with `pkg-config --cflags --libs safebpf` against the DESTDIR tree and run
# on a deterministic workload (exact counts; skipped without privileges).
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() { echo "67-install: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

root="$tmp/root"
nice make --no-print-directory -j2 install DESTDIR="$root" PREFIX=/usr >"$tmp/install.log" 2>&1
rc=$?
check "make install DESTDIR=... PREFIX=/usr exits 0" "[ $rc -eq 0 ]"
[ $rc -ne 0 ] && { tail -n 20 "$tmp/install.log"; finish; }
L="$root/usr/lib"
check "installed: CLI, headers, both libraries with soname links, safebpf.pc" \
	"[ -x '$root/usr/bin/safebpf' ] && [ -f '$root/usr/include/safebpf/sql.h' ] && [ -f '$root/usr/include/safebpf/row.h' ] && [ -f '$root/usr/include/safebpf/opcodes.def' ] && [ -f '$L/libsafebpf.a' ] && [ -f '$L/libsafebpf.so.0.1.0' ] && [ \"\$(readlink '$L/libsafebpf.so.0')\" = libsafebpf.so.0.1.0 ] && [ \"\$(readlink '$L/libsafebpf.so')\" = libsafebpf.so.0 ] && [ -f '$L/pkgconfig/safebpf.pc' ]"
check "soname is libsafebpf.so.0" "readelf -d '$L/libsafebpf.so.0.1.0' | grep -q 'Library soname: \\[libsafebpf.so.0\\]'"
nm -D --defined-only "$L/libsafebpf.so.0.1.0" | awk '{ print $3 }' >"$tmp/syms"
nsyms=$(grep -c '^sbpf_.*@@SAFEBPF_0\.1$' "$tmp/syms")
check "exports: $nsyms sbpf_* functions, all @@SAFEBPF_0.1, nothing else" \
	"[ $nsyms -gt 100 ] && [ \$(grep -vc -e '^sbpf_.*@@SAFEBPF_0\\.1\$' -e '^SAFEBPF_0\\.1\$' '$tmp/syms') -eq 0 ]"
check "exports include the typed-row API" "grep -q '^sbpf_query__col_info@@SAFEBPF_0.1' '$tmp/syms' && grep -q '^sbpf_value_kind_name@@' '$tmp/syms'"

# A man page per command, equal to its --help text.
cmds=$(./build/safebpf help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | grep -vx help)
same=0 total=0
for c in $cmds; do
	total=$((total + 1))
	page="$root/usr/share/man/man1/safebpf-$c.1"
	[ -f "$page" ] || continue
	sed -n '/^\.SH DESCRIPTION/,/^\.fi/p' "$page" | sed -e '1,2d' -e '$d' -e 's/\\e/\\/g' -e 's/^\\&//' >"$tmp/man.txt"
	./build/safebpf "$c" --help 2>&1 </dev/null | tail -n +2 >"$tmp/help.txt"
	cmp -s "$tmp/man.txt" "$tmp/help.txt" && same=$((same + 1))
done
check "man pages: $same of $total commands have one, equal to --help" "[ $total -ge 15 ] && [ $same -eq $total ] && [ -f '$root/usr/share/man/man1/safebpf.1' ]"
check "man renders (man -l safebpf-serve.1 shows its synopsis)" \
	"! command -v man >/dev/null || man -l '$root/usr/share/man/man1/safebpf-serve.1' 2>/dev/null | grep -q 'safebpf serve \\[-c FILE\\]'"

# The example, built through pkg-config against the DESTDIR tree.
export PKG_CONFIG_PATH="$L/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
flags=$(pkg-config --cflags --libs safebpf)
check "pkg-config --cflags --libs safebpf points into the tree ($flags)" \
	"[ \"$(echo $flags)\" = \"-I$root/usr/include -L$root/usr/lib -lsafebpf\" ]"
cc -O2 -Wall -Wextra -Werror examples/count_events.c $flags -o "$tmp/count_events" 2>"$tmp/cc.err"
check "examples/count_events.c builds with pkg-config flags" "[ $? -eq 0 ]"
check "it links the shared library (libsafebpf.so.0 from the tree)" \
	"LD_LIBRARY_PATH='$L' ldd '$tmp/count_events' | grep -q 'libsafebpf.so.0 => $L/libsafebpf.so.0'"
if ./build/safebpf query -d 1ms 'SELECT COUNT(*) FROM process_exit' >/dev/null 2>"$tmp/probe.err"; then
	LD_LIBRARY_PATH="$L" "$tmp/count_events" build/e2e/workload --getppid 1000 --write-null 5 >"$tmp/count.out" 2>"$tmp/count.err"
	rc=$?
	check "count_events runs the workload (exit 0)" "[ $rc -eq 0 ]"
	check "count_events counts exactly 1000 getppid and 5 writes (typed rows)" \
		"grep -qx 'getppid 1000' '$tmp/count.out' && grep -qx 'write 5' '$tmp/count.out' && grep -q '^total [0-9]*$' '$tmp/count.out'"
else
	echo "skip running the example: $(grep safebpf "$tmp/probe.err" | head -n 1)"
	skip=$((skip + 2))
fi
finish
