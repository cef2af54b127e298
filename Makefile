# Switchboard. `make` lists the targets; README.md has the two set-up commands (make run, make test).
.DEFAULT_GOAL := help
SHELL := /bin/bash
GO ?= go
BIN := bin/switchboard

# With no DATABASE_URL, everything uses the checkout's private PostgreSQL cluster (scripts/db.sh), started on demand; a failure to
# start it stops the recipe.
WITH_DB = url="$${DATABASE_URL:-$$(scripts/db.sh up)}" &&

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## install missing Debian packages (PostgreSQL, Chromium)
	@scripts/install-deps.sh

.PHONY: build
build: ## build bin/switchboard
	$(GO) build -o $(BIN) ./cmd/switchboard

.PHONY: db
db: deps ## start the local PostgreSQL cluster and print its URL
	@scripts/db.sh up

.PHONY: run
run: deps build ## build, start the local database and run the server with demo traffic
	@$(WITH_DB) DATABASE_URL="$$url" ./$(BIN) serve

.PHONY: test
# One package at a time: the end-to-end packages (Chromium, WebRTC on loopback, the emulator) are sensitive to CPU starvation
# on a 2-core machine, and the suite stays well under its 15 minutes.
test: deps ## run the whole test suite (real PostgreSQL, race detector)
	@$(WITH_DB) SWITCHBOARD_TEST_DATABASE_URL="$$url" $(GO) test -p 1 -race -count=1 -timeout 14m ./...

.PHONY: bench
bench: deps ## run every benchmark (large data sets: SWITCHBOARD_BENCH_ROWS=1000000)
	@$(WITH_DB) SWITCHBOARD_TEST_DATABASE_URL="$$url" $(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

.PHONY: check
check: deps ## gofmt, go vet, staticcheck, the dependency rules and the race detector
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) test -count=1 -run 'TestDependencyRules|TestPurePackages' .
	@$(WITH_DB) SWITCHBOARD_TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 -timeout 14m ./...

.PHONY: e2e
e2e: deps ## browser end-to-end tests only (headless Chromium)
	@$(WITH_DB) SWITCHBOARD_TEST_DATABASE_URL="$$url" $(GO) test -count=1 -run 'E2E' ./...

.PHONY: db-down
db-down: ## stop the local PostgreSQL cluster (its data stays in .data/)
	@scripts/db.sh down

.PHONY: clean
clean: ## remove build output (keeps the database)
	rm -rf bin
