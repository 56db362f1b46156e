# The README's two commands are `make run` (the main job on the embedded
# default) and `make test` (what CI runs).
GO ?= go

.PHONY: run test vet golden golden-check build bench fmt

run:
	$(GO) run ./cmd/rtsapc run ./examples/equities-vwap --events 20000

test:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "not gofmt'd: $$unformatted"; exit 1; fi
	$(GO) test -timeout 40m ./...

vet:
	$(GO) vet ./...

build:
	$(GO) build -o bin/rtsapc ./cmd/rtsapc

golden:
	RTSAPC_UPDATE=1 $(GO) test ./...

golden-check:
	RTSAPC_UPDATE=1 $(GO) test ./... && git diff --exit-code

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
