# make test: everything CI runs. On a fresh Debian machine with Go, node and
# npm it first installs what the tests need (redis-server and redis-cli for
# the store tests, redis-sentinel for the failover tests, Debian's chromium
# for the browser tests, and with npm ci the pinned npm packages of the
# tests of Ory's JavaScript SDK in integration/testdata/ory-client-js), then
# lints (see make lint) and runs every test with the race detector. That
# includes the several-instances tests (integration/instances_test.go,
# sentinel_test.go, reshard_test.go: Caddy processes built from cmd/caddy
# on a Redis Cluster or Sentinel group, failovers and resharding under
# load; about two minutes).
#
# Other targets:
#   make test-short  the edit-test loop: every test with -short, without the
#                    race detector and without installing anything; tests
#                    that build binaries, drive Chromium or start a Redis
#                    Cluster or Sentinel group skip themselves under -short.
#   make lint        gofmt (fails listing the files it would change), go vet
#                    and staticcheck (STATICCHECK_VERSION, fetched and run
#                    with go run through the Go module proxy).
#   make vet         go vet alone.
#   make fuzz        runs each fuzz target below for FUZZTIME (default
#                    30s), one after another: go test -fuzz takes one
#                    target of one package per run. For a quick pass:
#                      make fuzz FUZZTIME=10s
#                    for one target:
#                      make fuzz FUZZ_TARGETS=./schema:FuzzCompile FUZZTIME=5m
#                    Every target also runs on its seed corpus in every go
#                    test. A failure leaves its input under
#                    <package>/testdata/fuzz/<target>/.
#   make bench       every benchmark but bench-memory's.
#   make bench-memory  what 100,000 anonymous login and registration flows
#                    cost Redis and the memory store, live and expired
#                    (BenchmarkFlowMemory; a few minutes). Fewer flows:
#                      make bench-memory MEMORY_FLOWS=20000
#   make bench-load  the hot paths against a Caddy of their own (built from
#                    ./cmd/caddy), on Redis and on the memory store, from
#                    32 clients (cmd/kratos-load): the settings round trip
#                    and whoami (ops/s, p50, p99, Caddy's CPU and Redis
#                    commands per operation), the app path through
#                    reverse_proxy with a session and identity_headers and
#                    without one, as a ratio to a plain reverse_proxy (wrk;
#                    Caddy's CPU per request beside it), and Caddy's peak
#                    RSS. Installs redis-server and wrk if missing. Each
#                    measurement runs LOAD_DURATION (default 10s):
#                      make bench-load LOAD_DURATION=20s
#   make demo        the demo site of Caddyfile.example.
#   make deps        installs the Debian packages the tests need, and the
#                    npm packages of integration/testdata/ory-client-js
#                    (npm ci, exactly as package-lock.json pins them) when
#                    its node_modules is missing or older than the lock.
#
# The fuzz targets:
#   internal/siteurl    FuzzCheckReturnTo   return_to checks: only absolute
#                       http(s) URLs on the site's origin or under an
#                       allowed return URL, clean paths, no backslash or
#                       control character.
#   internal/negotiate  FuzzAcceptsJSON     Accept/Content-Type negotiation
#                       (AcceptsJSON, WantsJSON).
#   internal/body       FuzzRead            JSON, form and multipart request
#                       bodies and their traits (Read, Traits): 4xx errors
#                       only.
#   internal/jsonpatch  FuzzApply           JSON Patch documents (Parse,
#                       Apply) on fuzzed documents.
#                       FuzzApplyOne        one operation built from fuzzed
#                       members (op, path, from, value).
#                       FuzzParsePointer    JSON Pointer parsing and
#                       escaping round trip.
#   internal/passwords  FuzzArgon2id        argon2id hash parsing,
#                       ValidImported and Check (with bounded parameters).
#                       FuzzPolicy          the password policy.
#   schema              FuzzTraitsFromForm  traits from form bodies.
#                       FuzzTraitsFromJSON  traits from JSON bodies.
#                       FuzzCompile         identity schema documents, and
#                       the use of those that compile.
#                       FuzzNormalizeIdentifier  login identifiers: a normal
#                       form is its own, lower-case, without invisible
#                       characters or stray combining marks.

GO ?= go
GOFMT ?= gofmt
STATICCHECK_VERSION := v0.8.2
FUZZTIME ?= 30s
MEMORY_FLOWS ?= 100000
LOAD_DURATION ?= 10s
ALL_FUZZ_TARGETS := \
	./internal/siteurl:FuzzCheckReturnTo \
	./internal/negotiate:FuzzAcceptsJSON \
	./internal/body:FuzzRead \
	./internal/jsonpatch:FuzzApply \
	./internal/jsonpatch:FuzzApplyOne \
	./internal/jsonpatch:FuzzParsePointer \
	./internal/passwords:FuzzArgon2id \
	./internal/passwords:FuzzPolicy \
	./schema:FuzzTraitsFromForm \
	./schema:FuzzTraitsFromJSON \
	./schema:FuzzCompile \
	./schema:FuzzNormalizeIdentifier
FUZZ_TARGETS ?= $(ALL_FUZZ_TARGETS)

APT_PACKAGES := $(if $(shell command -v redis-server),,redis-server) \
                $(if $(shell command -v redis-cli),,redis-tools) \
                $(if $(shell command -v redis-sentinel),,redis-sentinel) \
                $(if $(shell command -v chromium),,chromium)

# apt_install installs the Debian packages named, if any (with sudo unless
# root).
apt_install = $(if $(strip $(1)),@echo "installing $(strip $(1))"; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(1))

# The tests of Ory's JavaScript SDK (@ory/client), their bundler (esbuild)
# and cookie jar (tough-cookie). npm ci writes node_modules/.package-lock.json.
ORY_CLIENT_JS := integration/testdata/ory-client-js

.PHONY: test test-short lint vet fuzz deps demo bench bench-memory bench-load

test: deps lint
	$(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(GO) test -short -count=1 ./...

deps: $(ORY_CLIENT_JS)/node_modules/.package-lock.json
	$(call apt_install,$(APT_PACKAGES))

# No install scripts: esbuild's only checks its binary, which the
# platform's @esbuild package already is.
$(ORY_CLIENT_JS)/node_modules/.package-lock.json: $(ORY_CLIENT_JS)/package.json $(ORY_CLIENT_JS)/package-lock.json
	cd $(ORY_CLIENT_JS) && npm ci --include=dev --ignore-scripts --no-audit --no-fund

lint: vet
	@unformatted=$$($(GOFMT) -l .); \
	  if [ -n "$$unformatted" ]; then echo "gofmt -l: these files are not gofmt-ed:"; echo "$$unformatted"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

vet:
	$(GO) vet ./...

# Every func FuzzXxx in the repository must be listed in ALL_FUZZ_TARGETS.
fuzz:
	@for fn in $$(grep -rhoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' . | sed 's/^func //'); do \
	  case " $(ALL_FUZZ_TARGETS) " in *":$$fn "*) ;; *) echo "make fuzz: $$fn is not in ALL_FUZZ_TARGETS" >&2; exit 1;; esac; \
	done
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "== $$pkg $$fn for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

demo:
	$(GO) run ./cmd/caddy run --config Caddyfile.example

bench: deps
	$(GO) test -run '^$$' -bench . -skip FlowMemory -benchmem ./...

bench-memory: deps
	$(GO) test -run '^$$' -bench FlowMemory -benchtime 1x -timeout 30m ./integration/ -args -memory-flows $(MEMORY_FLOWS)

LOAD_PACKAGES := $(if $(shell command -v redis-server),,redis-server) \
                 $(if $(shell command -v wrk),,wrk)

bench-load:
	$(call apt_install,$(LOAD_PACKAGES))
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	  $(GO) build -o "$$dir/caddy" ./cmd/caddy && \
	  $(GO) run ./cmd/kratos-load -caddy "$$dir/caddy" -d $(LOAD_DURATION)
