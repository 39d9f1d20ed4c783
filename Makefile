# citadel — quick start: `make run` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:4566
DATA ?= ./data

.PHONY: deps configure build run test unit e2e fuzz bench clean

deps:
	@scripts/install-deps.sh

configure: deps
	@[ -f $(BUILD)/build.ninja ] || cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/citadel serve --listen $(LISTEN) --data-dir $(DATA)

unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

e2e: build
	@CITADEL_BIN=$(abspath $(BUILD))/citadel python3 -m unittest discover -s tests/e2e -p 'test_*.py' -v

fuzz: deps
	@scripts/fuzz-smoke.sh

test: build
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory fuzz

bench: build
	@python3 bench/run.py --citadel $(abspath $(BUILD))/citadel --loadgen $(abspath $(BUILD))/loadgen

clean:
	rm -rf $(BUILD) build-fuzz
