#!/usr/bin/env bash
# The search benchmark: scripts/bench-search.sh [CASES] [MESSAGES_PER_CASE]
# Builds a database with the real schema and CASES cases (default 10,000) of
# MESSAGES_PER_CASE messages and notes each (default 5: 50,000), then prints p50/p99 of
# `search` queries by kind and of the similar-case lookup for a new report.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building (release)"
cargo build --release --quiet --locked --example bench_search
work=$(mktemp -d /tmp/secintake-bench-search.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
target/release/examples/bench_search "${1:-10000}" "${2:-5}" "$work"
