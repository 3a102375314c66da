# `make` installs the dependencies, type-checks, and leaves ./server and ./client launchers,
# as the original C++ project promised: `make`, then `./server`, `./client <ip> <port>`.
.PHONY: all install check test bench clean

all: install check server client

node_modules/.package-lock.json: package.json package-lock.json
	npm ci

install: node_modules/.package-lock.json

check: install
	npx tsc --noEmit -p .

server: install
	printf '#!/bin/sh\nexec node "$$(dirname "$$0")/bin/p2p-server" "$$@"\n' > $@
	chmod +x $@

client: install
	printf '#!/bin/sh\nexec node "$$(dirname "$$0")/bin/p2p-client" "$$@"\n' > $@
	chmod +x $@

test: install
	npm test

bench: install
	npm run bench

clean:
	rm -f server client
