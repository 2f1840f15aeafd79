# ahasd: the two commands a user needs are `make demo` and `make test`.
# Each installs what is missing (Debian packages, a virtual environment),
# builds the C core and its cffi extension, then runs.

PYTHON   ?= python3
VENV     ?= .venv
VPY      := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
BUILD    := build
CSRC     := $(wildcard csrc/*.c) $(wildcard csrc/*.h)
CTESTS   := $(wildcard tests/c/*.c) $(wildcard tests/c/*.h)
GSL_LIBS  = $(shell gsl-config --libs 2>/dev/null || echo -lgsl -lgslcblas -lm)
CFLAGS_C  = -std=c99 -Wall -Wextra -Wno-unused-parameter -Werror -Icsrc -Itests/c
ASAN      = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow \
            -fno-sanitize-recover=undefined,float-cast-overflow
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS := libgsl-dev clang libclang-rt-14-dev llvm valgrind
EXT      := ahasd/.built
EXT_ASAN := ahasd/.built-asan
FUZZ_SECONDS ?= 60
SHELL    := /bin/bash

.PHONY: demo test deps venv build ctest valgrind pytest pytest-asan fuzz fuzz-smoke \
        bench validate wheel clean

# ---------------------------------------------------------------- set-up
deps:
	@missing=""; \
	command -v gsl-config >/dev/null 2>&1 || missing="$$missing libgsl-dev"; \
	command -v clang >/dev/null 2>&1 || missing="$$missing clang"; \
	[ -n "$$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] || missing="$$missing libclang-rt-14-dev"; \
	command -v valgrind >/dev/null 2>&1 || missing="$$missing valgrind"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	fi

$(STAMP): pyproject.toml setup.py | deps
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test]'
	touch $@

venv: $(STAMP)

# The editable install compiles the extension once; later C edits are
# rebuilt in place here.
$(EXT): $(CSRC) ahasd/_build_ffi.py $(STAMP)
	$(VPY) ahasd/_build_ffi.py
	touch $@

build: $(EXT)

$(EXT_ASAN): $(CSRC) ahasd/_build_ffi.py $(STAMP)
	AHASD_SANITIZE=1 $(VPY) ahasd/_build_ffi.py
	touch $@

# ---------------------------------------------------------------- C tests
CTEST_MODS = $(filter-out main,$(patsubst tests/c/test_%.c,%,$(wildcard tests/c/test_*.c)))

$(BUILD)/ctest_list.h: $(wildcard tests/c/test_*.c)
	@mkdir -p $(BUILD)
	@printf '%s\n' $(foreach m,$(CTEST_MODS),"X($(m))") > $@

$(BUILD)/ctest-asan: $(CSRC) $(CTESTS) $(BUILD)/ctest_list.h | deps
	gcc $(CFLAGS_C) -I$(BUILD) $(ASAN) csrc/*.c tests/c/*.c -o $@ $(GSL_LIBS)

$(BUILD)/ctest-plain: $(CSRC) $(CTESTS) $(BUILD)/ctest_list.h | deps
	gcc $(CFLAGS_C) -I$(BUILD) -O1 -g csrc/*.c tests/c/*.c -o $@ $(GSL_LIBS)

ctest: $(BUILD)/ctest-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(BUILD)/ctest-asan

valgrind: $(BUILD)/ctest-plain
	valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible \
	  --errors-for-leak-kinds=definite,indirect,possible $(BUILD)/ctest-plain --quick

# ---------------------------------------------------------------- Python tests
pytest: $(EXT)
	$(VPY) -m pytest -q

# The whole fast suite again against the sanitizer build of the extension.
pytest-asan: $(EXT_ASAN)
	AHASD_NATIVE=asan LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(VPY) -m pytest -q -m "not slow" -p no:cacheprovider

# ---------------------------------------------------------------- fuzzing
FUZZERS  := estimate simulate draft costs params
FUZZ_BIN := $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZERS))
CLANG    ?= clang

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(CSRC) | deps
	@mkdir -p $(BUILD)/fuzz
	$(CLANG) -std=c99 -g -O1 -Icsrc -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined csrc/*.c $< -o $@ $(GSL_LIBS)

fuzz: $(FUZZ_BIN)

# Replay the regression inputs, then a bounded run of each harness.
fuzz-smoke: $(FUZZ_BIN)
	@set -e; per=$$(( $(FUZZ_SECONDS) / $(words $(FUZZERS)) )); \
	for f in $(FUZZERS); do \
	  reg=$$(ls tests/fuzz/regressions/$$f/* 2>/dev/null | grep -v README || true); \
	  if [ -n "$$reg" ]; then $(BUILD)/fuzz/fuzz_$$f $$reg; fi; \
	  mkdir -p $(BUILD)/fuzz/work-$$f $(BUILD)/fuzz/artifacts; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(BUILD)/fuzz/fuzz_$$f $(BUILD)/fuzz/work-$$f tests/fuzz/corpus/$$f \
	    -max_total_time=$$per -timeout=20 -rss_limit_mb=2048 -print_final_stats=0 \
	    -artifact_prefix=$(BUILD)/fuzz/artifacts/$$f- 2>&1 | tail -n 3; \
	  test $${PIPESTATUS[0]} -eq 0 || { echo "fuzzer $$f failed"; exit 1; }; \
	done

# ---------------------------------------------------------------- entry points
demo: $(EXT)
	$(VENV)/bin/ahasd demo --out $(BUILD)/demo

test: ctest valgrind pytest pytest-asan fuzz-smoke

bench: $(EXT)
	$(VPY) benchmarks/bench.py

validate: $(EXT)
	$(VPY) benchmarks/validate.py

wheel: $(STAMP)
	$(VPY) -m build --outdir dist .

clean:
	rm -rf $(BUILD) dist *.egg-info ahasd/_ahasd_cffi* ahasd/.built*
