# safebpf - one non-recursive Makefile.
#
#   make            build build/safebpf (optimized)
#   make test       build with ASan+UBSan and run every test suite
#   make bench      run the benchmark suites
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
#   make soak       long overload runs (scripts/run-soak.sh, ~15 min; not in make test)
#   make lib        build/libsafebpf.so (versioned symbols) next to build/libsafebpf.a
#   make man        build/man/: a man page per command, from its --help text
#   make install    install the CLI, both libraries, headers, safebpf.pc and the
#                   man pages into $(DESTDIR)$(PREFIX)
#
# Sources are found by directory: a new file under src/<module>/ is built
# without editing this file.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   := build
FUZZ_SECONDS ?= 60

WARN    := -Wall -Wextra -Werror -Wno-missing-field-initializers
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -g $(WARN) -Iinclude -Isrc -MMD -MP
CFLAGS  ?= -O2
LIBS    := -lbpf -lelf -lz -lcapstone -lz3 -lm -lpthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRCS := $(sort $(filter-out src/cli/% src/llvm/%,$(wildcard src/*/*.c src/*/*/*.c src/*/*/*/*.c)))
# The LLVM engine (src/llvm/) is a library of its own: only the CLI links it
# and LLVM (a C++ library); unit tests and fuzzers link libsafebpf.a alone.
LLVM_CONFIG ?= llvm-config-14
LLVM_SRCS := $(sort $(wildcard src/llvm/*.c))
LLVM_CFLAGS := -I$(shell $(LLVM_CONFIG) --includedir)
LLVM_LIBS := -L$(shell $(LLVM_CONFIG) --libdir) -lLLVM-$(shell $(LLVM_CONFIG) --version | cut -d. -f1) \
	-Wl,-rpath,$(shell $(LLVM_CONFIG) --libdir)
CLI_SRCS := $(sort $(wildcard src/cli/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
E2E_SRCS  := $(sort $(wildcard tests/e2e/*.c))
XDP_SRCS  := $(sort $(wildcard tests/xdp/*.c))
MICRO_SRCS := $(sort $(wildcard bench/micro/*.c))
KOPS_SRCS := $(sort $(wildcard tests/kops/*.c))

# Optimized objects: build/opt/...; sanitized objects: build/asan/...
OPT_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/opt/%.o)
ASAN_OBJS := $(LIB_SRCS:%.c=$(BUILD)/asan/%.o)
OPT_CLI   := $(CLI_SRCS:%.c=$(BUILD)/opt/%.o)
ASAN_CLI  := $(CLI_SRCS:%.c=$(BUILD)/asan/%.o)
OPT_LLVM  := $(LLVM_SRCS:%.c=$(BUILD)/opt/%.o)
ASAN_LLVM := $(LLVM_SRCS:%.c=$(BUILD)/asan/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/asan/tests/%)
E2E_BINS  := $(E2E_SRCS:tests/e2e/%.c=$(BUILD)/e2e/%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
XDP_OBJS  := $(XDP_SRCS:tests/xdp/%.c=$(BUILD)/xdp/%.o)
KOPS_OBJS := $(KOPS_SRCS:tests/kops/%.c=$(BUILD)/kops/%.o) $(KOPS_SRCS:tests/kops/%.c=$(BUILD)/kops/%.v3.o)
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/asan/replay/%)
MICRO_OBJS := $(MICRO_SRCS:bench/micro/%.c=$(BUILD)/bench/micro/%.o)
MICRO_NATIVE := $(MICRO_SRCS:bench/micro/%.c=$(BUILD)/bench/micro/native/%.o)
MICRO_V3  := $(MICRO_SRCS:bench/micro/%.c=$(BUILD)/bench/micro/v3/%.o)
MICRO_NATIVE_CLANG := $(MICRO_SRCS:bench/micro/%.c=$(BUILD)/bench/micro/native-clang/%.o)

.PHONY: all test test-long unit bench bench-micro bench-probe bench-cc bench-sched fuzz soak install clean asan e2e-helpers demo lib man arm64-runner
all: $(BUILD)/safebpf

$(BUILD)/opt/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O1 $(SAN) -c $< -o $@

$(BUILD)/opt/src/llvm/%.o: src/llvm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(LLVM_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/src/llvm/%.o: src/llvm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(LLVM_CFLAGS) -O1 $(SAN) -c $< -o $@

$(BUILD)/libsafebpf-llvm.a: $(OPT_LLVM)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/libsafebpf-llvm.a: $(ASAN_LLVM)
	@rm -f $@
	ar rcs $@ $^

# The trade-off table of safebpf bench states the trusted code in lines,
# counted here: the JIT, the EInsn emits, the LLVM engine's own code, and
# the size of libLLVM.
TCB_DEFS = -DSBPF_TCB_JIT_LINES=$$(cat src/jit/jit.c src/jit/x86_64/*.[ch] | wc -l) \
	-DSBPF_TCB_EMIT_LINES=$$(cat src/kops/ops/*.c | wc -l) \
	-DSBPF_TCB_LLVM_GLUE_LINES=$$(cat $(LLVM_SRCS) src/llvm/*.h | wc -l) \
	-DSBPF_TCB_LIBLLVM_MB=$$(( $$(stat -L -c %s $(shell $(LLVM_CONFIG) --libdir)/libLLVM-$(shell $(LLVM_CONFIG) --version | cut -d. -f1).so) / 1000000 ))
TCB_SRCS := $(wildcard src/jit/jit.c src/jit/x86_64/*.c src/jit/x86_64/*.h src/kops/ops/*.c src/llvm/*.h) $(LLVM_SRCS)
$(BUILD)/opt/src/cli/bench_report.o: src/cli/bench_report.c $(TCB_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(TCB_DEFS) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/src/cli/bench_report.o: src/cli/bench_report.c $(TCB_SRCS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(TCB_DEFS) -O1 $(SAN) -c $< -o $@

# Position-independent objects for the shared library: build/pic/...
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -fPIC -c $< -o $@

# The shared library: soname libsafebpf.so.$(SO_MAJOR); only the public
# sbpf_* functions are exported, each with the version node of
# src/libsafebpf.map (SAFEBPF_0.1).
VERSION  := 0.1.0
SO_MAJOR := 0
PIC_OBJS := $(LIB_SRCS:%.c=$(BUILD)/pic/%.o)
$(BUILD)/libsafebpf.so.$(VERSION): $(PIC_OBJS) src/libsafebpf.map
	$(CC) -shared -Wl,-soname,libsafebpf.so.$(SO_MAJOR) -Wl,--version-script,src/libsafebpf.map \
		-Wl,--no-undefined -o $@ $(PIC_OBJS) $(LIBS)

lib: $(BUILD)/libsafebpf.so.$(VERSION) $(BUILD)/libsafebpf.a

# Man pages: one per command, generated from its --help text.
man: $(BUILD)/safebpf scripts/gen-man.sh
	@scripts/gen-man.sh $(BUILD)/safebpf $(BUILD)/man $(VERSION)

$(BUILD)/libsafebpf.a: $(OPT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/libsafebpf.a: $(ASAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/safebpf: $(OPT_CLI) $(BUILD)/libsafebpf-llvm.a $(BUILD)/libsafebpf.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS) $(LLVM_LIBS)

$(BUILD)/asan/safebpf: $(ASAN_CLI) $(BUILD)/asan/libsafebpf-llvm.a $(BUILD)/asan/libsafebpf.a
	$(CC) $(SAN) -o $@ $^ $(LIBS) $(LLVM_LIBS)

$(BUILD)/asan/tests/%: tests/unit/%.c $(BUILD)/asan/libsafebpf.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O1 $(SAN) -o $@ $< $(BUILD)/asan/libsafebpf.a -lcriterion $(LIBS)

# End-to-end helpers (workload generators) are plain programs, no sanitizers.
$(BUILD)/e2e/%: tests/e2e/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O2 -o $@ $<

# Sample XDP programs: clang-compiled BPF objects (tests/xdp, benchmarks).
$(BUILD)/xdp/%.o: tests/xdp/%.c
	@mkdir -p $(dir $@)
	clang -O2 -g -target bpf -I/usr/include/$(shell $(CC) -dumpmachine) -c $< -o $@

# Microbenchmarks (bench/micro): each source twice, as an XDP object and as
# a native function (cc -O2) in one shared object that safebpf bench loads.
$(BUILD)/bench/micro/%.o: bench/micro/%.c bench/micro/bench.h
	@mkdir -p $(dir $@)
	clang -O2 -g -target bpf -I/usr/include/$(shell $(CC) -dumpmachine) -c $< -o $@

# The same programs for -mcpu=v3 (32-bit ALU and jumps), a second figure.
$(BUILD)/bench/micro/v3/%.o: bench/micro/%.c bench/micro/bench.h
	@mkdir -p $(dir $@)
	clang -O2 -g -target bpf -mcpu=v3 -I/usr/include/$(shell $(CC) -dumpmachine) -c $< -o $@

$(BUILD)/bench/micro/native/%.o: bench/micro/%.c bench/micro/bench.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -fPIC -c $< -o $@

$(BUILD)/bench/micro/native.so: $(MICRO_NATIVE)
	$(CC) -shared -o $@ $^

# The same native functions built by clang -O2: the llvm engine is held to
# the faster of the two native builds (scripts/run-bench.sh).
$(BUILD)/bench/micro/native-clang/%.o: bench/micro/%.c bench/micro/bench.h
	@mkdir -p $(dir $@)
	clang -O2 -fPIC -c $< -o $@

$(BUILD)/bench/micro/native-clang.so: $(MICRO_NATIVE_CLANG)
	clang -shared -o $@ $^

bench-micro: $(MICRO_OBJS) $(MICRO_V3) $(BUILD)/bench/micro/native.so $(BUILD)/bench/micro/native-clang.so

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	clang $(CFLAGS_BASE) -DSBPF_LIBFUZZER -O1 -fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_SRCS) $(LIBS)

# Fuzz targets without libFuzzer (gcc + ASan, tests/fuzz/replay_main.c), for
# replaying the seed corpora in `make test`.
$(BUILD)/asan/replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(BUILD)/asan/libsafebpf.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O1 $(SAN) -o $@ $< tests/fuzz/replay_main.c $(BUILD)/asan/libsafebpf.a $(LIBS)

# Kops recognizer test programs: each idiom as clang emits it, for the
# default CPU (64-bit ALU only) and for -mcpu=v3 (32-bit ALU and jumps).
$(BUILD)/kops/%.o: tests/kops/%.c
	@mkdir -p $(dir $@)
	clang -O2 -g -target bpf -I/usr/include/$(shell $(CC) -dumpmachine) -c $< -o $@

$(BUILD)/kops/%.v3.o: tests/kops/%.c
	@mkdir -p $(dir $@)
	clang -O2 -g -target bpf -mcpu=v3 -I/usr/include/$(shell $(CC) -dumpmachine) -c $< -o $@

# AArch64: the core library (isa, asm, vm, jit, kops, testgen) cross-compiled
# into one static test runner (tests/arm64/) that tests/suites/26-arm64.sh
# runs under qemu-aarch64. Capstone is used for its header only (the
# backends name their disassembler mode), so the runner needs no library.
A64_CC   ?= aarch64-linux-gnu-gcc
A64_SRCS := $(filter-out src/kops/verify.c,$(sort $(wildcard src/isa/*.c src/asm/*.c src/vm/*.c \
	src/jit/*.c src/jit/*/*.c src/kops/*.c src/kops/ops/*.c src/testgen/*.c src/util/*.c)))
A64_OBJS := $(A64_SRCS:%.c=$(BUILD)/arm64/%.o)

$(BUILD)/arm64/include/capstone:
	@mkdir -p $(dir $@)
	ln -sfn /usr/include/capstone $@

$(BUILD)/arm64/%.o: %.c | $(BUILD)/arm64/include/capstone
	@mkdir -p $(dir $@)
	$(A64_CC) $(CFLAGS_BASE) -I$(BUILD)/arm64/include -O2 -c $< -o $@

$(BUILD)/arm64/runner: $(sort $(wildcard tests/arm64/*.c)) $(A64_OBJS)
	$(A64_CC) $(CFLAGS_BASE) -I$(BUILD)/arm64/include -O2 -static -o $@ $(filter %.c %.o,$^)

arm64-runner: $(BUILD)/arm64/runner

asan: $(BUILD)/asan/safebpf $(UNIT_BINS) $(E2E_BINS) $(REPLAY_BINS) $(XDP_OBJS) $(KOPS_OBJS) bench-micro

# The one test command: install what is missing, build with sanitizers, run
# every suite, end with one "N passed, N failed, N skipped" line.
test:
	@scripts/install-deps.sh
	@$(MAKE) --no-print-directory asan $(BUILD)/safebpf
	@scripts/run-tests.sh

# What make test samples, at full size (not in make test: about an hour on
# 2 cores): the ARM64 Kops sweep under qemu, llvm's differential test on
# 20,000 programs, and 10,000 generated SQL queries under the three plans.
test-long:
	@$(MAKE) --no-print-directory asan $(BUILD)/safebpf
	ARM64_KOPS=quick bash tests/suites/26-arm64.sh
	LLVM_DIFF_PROGRAMS=20000 bash tests/suites/27-llvm.sh
	SQLGEN_QUERIES=10000 bash tests/suites/62-sql-generator.sh

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t || exit 1; done

fuzz: $(FUZZ_BINS)
	@scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# Overload soak (issue 16): stops obeyed under load and on a never-read
# pipe, flat RSS, a 10-minute fork-heavy GROUP BY without evictions.
soak: $(BUILD)/safebpf e2e-helpers
	@scripts/run-soak.sh

bench: $(BUILD)/safebpf $(XDP_OBJS) bench-micro
	@scripts/run-bench.sh

# The README's first command: install what is missing, build, and run the
# default query (top system calls for 5 seconds) on the running kernel.
DEMO_QUERY := SELECT syscall_name(syscall_number) AS syscall, COUNT(*) AS calls, P50(duration) AS p50, P99(duration) AS p99, MAX(duration) AS worst FROM system_calls GROUP BY syscall ORDER BY calls DESC LIMIT 10
demo:
	@scripts/install-deps.sh
	@$(MAKE) --no-print-directory $(BUILD)/safebpf
	$(BUILD)/safebpf query -d 5s '$(DEMO_QUERY)'

# Congestion-control DSL against the kernel's algorithms on veth (bench/cc/run.sh).
bench-cc: $(BUILD)/safebpf
	@bench/cc/run.sh

# Probe effect of SQL queries on RocksDB db_bench (bench/probe/run.sh).
bench-probe: $(BUILD)/safebpf
	@bench/probe/run.sh

# Tail latency of a SO_REUSEPORT server with one slow worker: the kernel's
# default hashing against a least-loaded safebpf sched policy (loopback).
bench-sched: $(BUILD)/safebpf $(BUILD)/e2e/sched_client
	@scripts/bench-sched.sh

LIBDIR ?= $(PREFIX)/lib
install: $(BUILD)/safebpf lib man
	install -D -m 0755 $(BUILD)/safebpf $(DESTDIR)$(PREFIX)/bin/safebpf
	install -d $(DESTDIR)$(PREFIX)/include/safebpf $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 include/safebpf/*.h include/safebpf/*.def $(DESTDIR)$(PREFIX)/include/safebpf/
	install -m 0644 $(BUILD)/libsafebpf.a $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(BUILD)/libsafebpf.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libsafebpf.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsafebpf.so.$(SO_MAJOR)
	ln -sf libsafebpf.so.$(SO_MAJOR) $(DESTDIR)$(LIBDIR)/libsafebpf.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		safebpf.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/safebpf.pc
	install -m 0644 $(BUILD)/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
