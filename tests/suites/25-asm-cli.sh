#!/usr/bin/env bash
# The asm and disasm commands (ASan build): output, files, pipes, exit codes.
set -u
cd "$(dirname "$0")/../.."
S=build/asan/safebpf
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check NAME EXPECTED_EXIT CMD... : runs CMD, keeps stdout/stderr in $out/$err.
check() {
	local name=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
	if [ "$rc" -eq "$want" ]; then
		return 0
	fi
	echo "FAIL $name: exit $rc, want $want"
	sed 's/^/  | /' "$tmp/err" | head -n 10
	fail=$((fail + 1))
	return 1
}
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

cat >"$tmp/p.s" <<'PROG'
# a loop and a local call
mov %r0, 0
loop: add %r0, 1
jlt %r0, 10, loop
lddw %r1, map_value 3 + 8
call local f
exit
f:
mov %r0, 7
exit
PROG

check "asm to hex" 0 $S asm "$tmp/p.s" &&
	{ [ "$(head -n 1 <<<"$out")" = "b7 00 00 00 00 00 00 00" ] && [ "$(wc -l <<<"$out")" -eq 9 ] &&
	  ok || bad "asm hex output: $out"; }
check "asm -o" 0 $S asm "$tmp/p.s" -o "$tmp/p.bin" &&
	{ [ "$(stat -c %s "$tmp/p.bin")" -eq 72 ] && ok || bad "asm -o size"; }
check "disasm raw" 0 $S disasm "$tmp/p.bin" &&
	{ grep -qx 'jlt %r0, 10, L1' <<<"$out" && grep -qx 'lddw %r1, map_value 3 + 8' <<<"$out" &&
	  grep -qx 'call local fn7' <<<"$out" && ok || bad "disasm labels: $out"; }
printf '%s\n' "$out" >"$tmp/back.s"
check "reassemble listing" 0 $S asm "$tmp/back.s" -o "$tmp/back.bin" &&
	{ cmp -s "$tmp/p.bin" "$tmp/back.bin" && ok || bad "round trip through files differs"; }
check "disasm --no-labels" 0 $S disasm --no-labels "$tmp/p.bin" &&
	{ grep -qx 'jlt %r0, 10, -2' <<<"$out" && grep -qx 'call local +1' <<<"$out" && ok ||
	  bad "no-labels: $out"; }
check "disasm --kernel-style" 0 $S disasm --kernel-style "$tmp/p.bin" &&
	{ grep -qx '2: (a5) if r0 < 0xa goto pc-2' <<<"$out" &&
	  grep -qx '3: (18) r1 = map_value\[fd:3\]+8' <<<"$out" && ok || bad "kernel style: $out"; }
$S asm "$tmp/p.s" | $S disasm - >"$tmp/pipe.s" 2>/dev/null
cmp -s "$tmp/pipe.s" "$tmp/back.s" && ok || bad "asm | disasm - differs from disasm of the file"

printf 'mov %%r0, 1\nmvo %%r1, 2\nja nowhere\nexit\n' >"$tmp/bad.s"
check "asm errors exit 3" 3 $S asm "$tmp/bad.s" &&
	{ grep -q "bad.s:2:1: error: unknown mnemonic 'mvo'" <<<"$err" &&
	  grep -q "hint: did you mean 'mov'?" <<<"$err" && grep -qx '      | ^~~' <<<"$err" &&
	  grep -q "bad.s:3:4: error: undefined label 'nowhere'" <<<"$err" && [ -z "$out" ] && ok ||
	  bad "error output: $err"; }
printf '\xff\0\0\0\0\0\0\0\x95\0\0\0\0\0\0\0' >"$tmp/undecodable.bin"
check "disasm undecodable exit 3" 3 $S disasm "$tmp/undecodable.bin" &&
	{ [ "$out" = $'.raw 0xff00000000000000\nexit' ] && ok || bad "raw output: $out"; }
printf '\x01\x02\x03' >"$tmp/odd.bin"
check "disasm odd size exit 3" 3 $S disasm "$tmp/odd.bin" &&
	{ grep -q 'not a whole number of 8-byte slots' <<<"$err" && ok || bad "odd size: $err"; }
check "asm --help" 0 $S asm --help && { grep -q '^usage: safebpf asm' <<<"$out" && ok || bad "help"; }
check "disasm --help" 0 $S disasm --help && ok
check "asm no file" 2 $S asm && ok
check "disasm bad option" 2 $S disasm --frob "$tmp/p.bin" && ok
check "asm missing file" 3 $S asm "$tmp/none.s" && ok

# A clang object with a const table (.rodata): disasm lists the code, whose
# loads of the table are map_value[idx:0] pseudo loads, then the table's
# bytes as comments; the listing assembles back to the same code; jit takes
# the object too.
obj=build/bench/micro/crc32.o
if [ -f "$obj" ]; then
	check "disasm object with .rodata" 0 $S disasm "$obj" &&
		{ grep -q '^lddw %r[0-9], map_idx_value 0' <<<"$out" &&
		  grep -q '^# read-only data (.rodata, map_value\[idx:0\]): 1024 bytes$' <<<"$out" &&
		  grep -q '^# +0x0000: 00 00 00 00 96 30 07 77 2c 61 0e ee ba 51 09 99$' <<<"$out" &&
		  [ "$(grep -c '^# +0x' <<<"$out")" -eq 64 ] && ok || bad "rodata listing: $(head -c 300 <<<"$out")"; }
	grep -v '^#' "$tmp/out" >"$tmp/crc.s"
	check "object listing reassembles" 0 $S asm "$tmp/crc.s" -o "$tmp/crc.bin" &&
		check "and disassembles to the same listing" 0 $S disasm "$tmp/crc.bin" &&
		{ diff -q "$tmp/out" "$tmp/crc.s" >/dev/null && ok || bad "round trip differs"; }
	check "jit object with .rodata" 0 $S jit "$obj" --type xdp --unchecked &&
		{ grep -q '41 eBPF instructions -> [0-9]* bytes of x86_64 code' <<<"$out" && ok || bad "jit: $out"; }
else
	bad "$obj missing (make asan builds it)"
fi

echo "25-asm-cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
