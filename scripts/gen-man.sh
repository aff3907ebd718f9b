#!/usr/bin/env bash
# gen-man.sh - man pages from the CLI's own help text, so that the two never
# disagree: safebpf(1) from `safebpf help`, and safebpf-CMD(1) for every
# command listed there, from `safebpf CMD --help` (its first line, the usage,
# becomes the SYNOPSIS; the rest the DESCRIPTION, kept as written).
#
#   scripts/gen-man.sh SAFEBPF OUTDIR VERSION
set -eu
sb=$1 out=$2 version=$3
mkdir -p "$out"

# Escapes text for roff: backslashes, and lines starting with . or '.
roff() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

page() { # NAME SECTION-TITLE SUMMARY HELP-FILE
	local name=$1 title=$2 summary=$3 help=$4
	{
		printf '.TH %s 1 "" "safebpf %s" "safebpf manual"\n' "$title" "$version"
		printf '.SH NAME\n%s \\- %s\n' "$name" "$(printf '%s' "$summary" | roff)"
		printf '.SH SYNOPSIS\n.nf\n'
		head -n 1 "$help" | sed 's/^usage: //' | roff
		printf '.fi\n.SH DESCRIPTION\n.nf\n'
		tail -n +2 "$help" | roff
		printf '.fi\n'
		if [ "$name" != safebpf ]; then
			printf '.SH SEE ALSO\n.BR safebpf (1)\n'
		fi
	} >"$out/$name.1"
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$sb" help >"$tmp"
page safebpf SAFEBPF "eBPF toolchain: verifier-safe SQL over kernel events, assembler, JIT, Kops" "$tmp"
# Commands: the lines "  name   summary" after "commands:".
sed -n '/^commands:/,/^$/p' "$tmp" | sed -n 's/^  \([a-z][a-z-]*\)  *\(.*\)$/\1\t\2/p' | while IFS=$'\t' read -r cmd summary; do
	[ "$cmd" = help ] && continue
	"$sb" "$cmd" --help >"$tmp.c" 2>&1 </dev/null || true
	page "safebpf-$cmd" "SAFEBPF-$(tr a-z A-Z <<<"$cmd")" "$summary" "$tmp.c"
	rm -f "$tmp.c"
done
echo "man pages: $(ls "$out" | wc -l) in $out"
