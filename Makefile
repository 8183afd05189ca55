# podeip: `make demo` runs the whole system locally; `make test` type-checks, lints and runs the tests.
NPM ?= npm
NODE ?= node
JEST := $(NODE) --experimental-vm-modules --no-warnings=ExperimentalWarning node_modules/jest/bin/jest.js
DEPS_STAMP := node_modules/.package-lock.json

.PHONY: all deps build typecheck lint format test demo sandbox bench chaos clean

all: build

# Installs exactly what package-lock.json pins, once, and again whenever the lock file changes.
$(DEPS_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(DEPS_STAMP)

# From an empty dist/, so no output of a deleted source lingers and ends up in the published package.
build: deps
	rm -rf dist
	$(NPM) run --silent build

typecheck: deps
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json --noEmit

# One layout for everything: prettier formats (`make format` rewrites), eslint holds comments to the same width.
lint: deps
	$(NODE) node_modules/prettier/bin/prettier.cjs --check --log-level warn .
	$(NODE) node_modules/eslint/bin/eslint.js .

format: deps
	$(NODE) node_modules/prettier/bin/prettier.cjs --write --log-level warn .

# --forceExit: a test that fails half-way can leave a server or a sampling loop behind; the run must still end
# and report the failure, not wait for CI's time limit (jest runs in one process on a 2-core machine).
test: typecheck lint build
	$(JEST) --forceExit $(JEST_ARGS)

demo: build
	$(NODE) dist/cli/main.js demo

# Local Kubernetes and Alibaba Cloud stand-ins in the foreground; kubeconfig and cloud.json land in .sandbox/.
sandbox: build
	$(NODE) dist/cli/main.js sandbox --dir .sandbox

# Benchmarks print figures beside a baseline measured in the same run; they are not timed tests.
bench: deps
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.bench.json
	$(NODE) .bench/tests/bench/webhook.bench.js
	$(NODE) .bench/tests/bench/binder.bench.js

# The long chaos run (make test runs a short one): the binder SIGKILLed 20 times over 200 EIP pods.
chaos: build
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.bench.json
	$(NODE) .bench/tests/chaos/chaos.main.js

clean:
	rm -rf dist coverage .bench
