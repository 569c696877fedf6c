#!/bin/sh
# targets.sh lists every go test -fuzz target of the module, one per line as
# "<package dir> <FuzzName>", found by grepping every *_test.go for
# `func FuzzName(`. `make fuzz` runs what it prints, so a target added
# anywhere (backends/dynamodb, sse, ...) is fuzzed without editing a list.
set -eu
cd "$(dirname "$0")/.."
grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . |
	grep -v -e '/testdata/' -e '/node_modules/' |
	sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*$#\1 \2#' |
	sort -u
