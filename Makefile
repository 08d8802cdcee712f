# make test: everything CI runs. On a fresh Debian machine with Go it first
# installs what the tests need (redis-server and redis-cli for the store
# tests, Debian's chromium for the browser tests), then vets and runs every
# test with the race detector.

GO ?= go
APT_PACKAGES := $(if $(shell command -v redis-server),,redis-server) \
                $(if $(shell command -v redis-cli),,redis-tools) \
                $(if $(shell command -v chromium),,chromium)

.PHONY: test deps vet demo bench

test: deps vet
	$(GO) test -race -count=1 -timeout 30m ./...

deps:
ifneq ($(strip $(APT_PACKAGES)),)
	@echo "installing $(strip $(APT_PACKAGES))"
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PACKAGES)
endif

vet:
	$(GO) vet ./...

demo:
	$(GO) run ./cmd/caddy run --config Caddyfile.example

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...
