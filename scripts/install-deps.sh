#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages safebpf needs, skipping
# those already installed. Idempotent; run as root (or with sudo available).
set -eu
packages=(
	build-essential make pkg-config clang llvm libclang-rt-14-dev   # compilers, BPF target, libFuzzer
	libbpf-dev libelf-dev zlib1g-dev                               # kernel interaction
	systemtap-sdt-dev                                               # <sys/sdt.h>: the USDT test program
	libcapstone-dev libz3-dev libcriterion-dev                     # disassembly, proofs, unit tests
	bpftool bpftrace gnuplot-nox rocksdb-tools                     # tools, plots, probe-effect workload
	qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross    # arm64 tests
	llvm-14-dev                                                     # the LLVM engine
	prometheus curl iperf3 xdp-tools iproute2                       # exporter (and its test), congestion-control and XDP corpus tests
)
missing=()
for p in "${packages[@]}"; do
	case "$p" in \#*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all packages present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
