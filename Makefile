# nervemap: `make demo` and `make test` work on a fresh Debian 12 machine as root.
#   deps  install every Debian package the build, the tests and the demo need (only what is missing),
#         then the viewer's npm packages (npm ci: NiiVue 0.69.0 and playwright-core, from package-lock.json)
#   build configure and compile into build/ (binary: build/bin/nervemap)
#   demo  run the whole pipeline on the built-in synthetic neck
#   test  every test (CTest), slow ones included
#   bench build and run the benchmarks
#   demo-model  re-train the demo segmentation model (CPU, ~30 min; never part of demo or test)
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)

# Build, test and demo dependencies, all from Debian 12 (bookworm). See research/ecosystem.md.
DEB_PACKAGES := \
  build-essential cmake ninja-build pkg-config ccache git ca-certificates \
  libinsighttoolkit5-dev libeigen3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev \
  zlib1g-dev libdeflate-dev libzip-dev libcairo2-dev libnanoflann-dev libyaml-cpp-dev libvalijson-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  libtorch-dev libopenblas0-pthread python3-torch \
  poppler-utils libgdcm-tools fonts-dejavu-core \
  libcpp-httplib-dev libsqlite3-dev libssl-dev libbrotli-dev curl chromium

# Only for re-training the demo model (tools/train_demo_model.py): Debian's nibabel reads the phantoms.
TRAIN_PACKAGES := python3-nibabel python3-torch

.PHONY: deps build demo demo-model serve test bench clean format

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: missing packages ($$missing); run as root or install them" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q && apt-get install -y --no-install-recommends $$missing; \
	fi
	@# Node (for npm ci and the browser test): Debian's if none is installed.
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" != 0 ]; then echo "error: node/npm missing; run as root or install them" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; \
	fi
	@# The viewer's packages, exactly as locked (nothing is fetched at run time; no browser download).
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --ignore-scripts --no-audit --no-fund; \
	fi

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/bin/nervemap demo --out demo-out --data nervemap-data

# Re-train models/demo_phantom_neck on phantoms (seed, command, times and held-out Dice in its training.json).
demo-model: build
	@missing=$$(for p in $(TRAIN_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y --no-install-recommends $$missing; fi
	/usr/bin/python3 tools/train_demo_model.py --out models/demo_phantom_neck --nervemap $(BUILD)/bin/nervemap

# The web service and viewer on http://127.0.0.1:8080/ (data in ./nervemap-data).
serve: build
	$(BUILD)/bin/nervemap serve

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 1200

# Every benchmark (numbers and protocol in bench/README.md). The segmentation runtime is compared with
# PyTorch on the same random-weight, TotalSegmentator-sized network (written once by the baseline script).
BENCH_MODEL := $(BUILD)/bench/ts_sized_net
bench: build
	@for b in mesh_bench nerves_bench report_bench run_bench demo_bench; do echo "== $$b"; $(BUILD)/bin/$$b || exit 1; done
	@test -d $(BENCH_MODEL) || /usr/bin/python3 bench/segment_baseline.py make-model --out $(BENCH_MODEL) \
	  --stages 6 --patch 128 128 128
	@echo "== segment_bench (C++) vs segment_baseline.py (PyTorch)"
	$(BUILD)/bin/segment_bench time --model $(BENCH_MODEL) --threads 2 --repeats 5 --image 192 128 128 --sw-repeats 2
	/usr/bin/python3 bench/segment_baseline.py time --model $(BENCH_MODEL) --threads 2 --repeats 5 --image 192 128 128 --sw-repeats 2
	$(BUILD)/bin/segment_bench roi --model $(BENCH_MODEL) --threads 2 --repeats 1

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD)
