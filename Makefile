# pogodock: one entry point for people and CI. Every target that needs tools runs `setup`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-done
TYPINGS := build/typings
RP2EMU := rp2emu/node_modules/.package-lock.json
# Tier B's heap: the 64-bit unix port's objects are about twice the RP2040's and the
# simulator shares the heap, so this is tighter for the firmware than the board's ~240 KB.
# (288k since the per-cycle path became machine code, larger on x64 than on armv6m;
# 296k since the supply pins' half reads added machine code, 304k since the ShuntBank's
# machine code and drift's 256-term sigma pool, 320k since the interrupt's stretches and
# the sharing judgement (the power-cut test's App built again after a cut ran out in a
# fresh clone at 304k): the board's own figure, tier C's fw_rp2_heap_free_bytes, is the
# one that counts.)
MPY_HEAP := 320k

BOARD ?= pico-dock-4
# The firmware's file set, also what MicroPython's build freezes (README, "The manifest").
MANIFEST ?= firmware/manifest.py
PORT  ?= auto
SCENARIO ?= scenarios/demo.json

.PHONY: setup test-deps test test-a test-b test-c rp2emu lint demo flash safe resume monitor bench reliability clean

setup: $(STAMP)

# Only the tests need a broker and a Prometheus server: demo, flash and monitor do not
# wait for them.
test-deps: setup
	@sh tools/ensure_mosquitto.sh
	@sh tools/ensure_prometheus.sh

$(STAMP): requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "pogodock needs Python 3.10 or newer, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	rm -rf $(TYPINGS)
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --target $(TYPINGS) \
		$$(grep -E '^micropython-(rp2|stdlib)-stubs==' requirements-dev.txt)
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check firmware sim host tests tools
	$(BIN)/ruff format --check firmware sim host tests tools
	$(BIN)/python tools/compile_firmware.py --check
	$(BIN)/pyright -p tools/pyright-firmware.json
	$(BIN)/pyright -p pyrightconfig.json

test-a: setup test-deps
	$(BIN)/pytest -n 2 --dist loadgroup tests --ignore=tests/tierc

test-b: setup
	MPY_HEAP=$(MPY_HEAP) $(BIN)/python tools/tier_b.py

# Tier C: the flashed image on the official rp2 port in rp2040js (README, "Tier C"). Needs
# POGODOCK_RP2_IMAGE and POGODOCK_RP2_BOOTROM; its tests fail, saying so, without them.
test-c: setup rp2emu
	$(BIN)/pytest -n 2 tests/tierc

# rp2040js, pinned by rp2emu/package-lock.json, into rp2emu/node_modules.
rp2emu: $(RP2EMU)

$(RP2EMU): rp2emu/package.json rp2emu/package-lock.json
	@command -v npm >/dev/null || { echo "tier C needs Node.js 18 or newer with npm (apt-get install nodejs npm)" >&2; exit 1; }
	cd rp2emu && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: lint test-a test-b test-c

demo: setup
	$(BIN)/python tools/demo.py --scenario $(SCENARIO)

bench: setup rp2emu
	$(BIN)/python tools/bench.py

# The long runs behind the README's "Reliability" figures (about 20 minutes on 2 cores):
# hostile commands, every monitor failing every way, 200 power cuts on the virtual
# board, and a month of every fault under MicroPython.
reliability: setup test-deps
	$(BIN)/python tools/reliability_commands.py --inputs 100000 --corpus 5000 --only fuzz,mp,vboard
	$(BIN)/python tools/reliability_commands.py --corpus 1000 --only sim
	$(BIN)/python tools/reliability_faults.py --seeds 8 --jobs 2
	$(BIN)/python tools/powercuts.py --cuts 200 --seed 1
	$(BIN)/python tools/soak.py --days 30 --seed 1

flash: setup
	$(BIN)/python tools/flash.py --port $(PORT) --board $(BOARD) --manifest $(MANIFEST)

# Safe mode: the firmware and its watchdog stay stopped, charging off, the REPL free.
safe: setup
	$(BIN)/python tools/flash.py --port $(PORT) --safe

resume: setup
	$(BIN)/python tools/flash.py --port $(PORT) --resume

monitor: setup
	$(BIN)/pogodock monitor

clean:
	rm -rf build .pytest_cache
