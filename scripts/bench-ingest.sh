#!/usr/bin/env bash
# The ingest benchmark: scripts/bench-ingest.sh N [--huge]
# Starts a fresh local mail stack, puts N realistic reports (2 KB to 2 MB, a fifth with
# attachments; --huge adds one 30 MB message) into the list mailbox, and measures in the
# same run: a raw IMAP fetch (the ceiling), `secintake run --once` ingesting them, the
# outbox delivering the receipts, peak RSS, and arrival-to-receipt latency with IDLE.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
shift || true
scripts/setup-debian.sh
echo "== building (release)"
cargo build --release --quiet --locked --bin secintake --example bench_ingest
work=$(mktemp -d /tmp/secintake-bench.XXXXXX)
chmod 755 "$work"
scripts/mailstack.sh start "$work/stack" > "$work/stack.env"
trap 'scripts/mailstack.sh stop "$work/stack" >/dev/null 2>&1; rm -rf "$work"' EXIT
# shellcheck disable=SC1091
source "$work/stack.env"
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; N = $n $*"
target/release/examples/bench_ingest "$n" "$(pwd)/target/release/secintake" "$work/run" "$IMAP_PORT" "$SMTP_PORT" "$@"
