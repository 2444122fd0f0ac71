#!/usr/bin/env bash
# The history benchmark (issue 20): scripts/bench-history.sh [THREADS] [MESSAGES_PER_THREAD]
# Starts a fresh local mail stack, builds a database of THREADS (10,000) historical cases of
# MESSAGES_PER_THREAD (10) messages with `secintake import --history`, puts 20 fresh reports
# into the list mailbox and ingests them with `run --once` into it and into an empty
# database, then prints, big beside small: one sweep pass (and its SQL statements), time
# and peak RSS of cases, case ID, deadlines, status --offline, digest and report, the
# daemon's idle RSS, and the database size per stored message.
# The import of 100,000 messages takes minutes: BENCH_HISTORY_CACHE=DIR keeps the imported
# database in DIR and later runs copy it instead of importing again (said in the output).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
echo "== building (release)"
cargo build --release --quiet --locked --bin secintake --example bench_history
work=$(mktemp -d /tmp/secintake-bench-history.XXXXXX)
chmod 755 "$work"
scripts/mailstack.sh start "$work/stack" > "$work/stack.env"
trap 'scripts/mailstack.sh stop "$work/stack" >/dev/null 2>&1; rm -rf "$work"' EXIT
# shellcheck disable=SC1091
source "$work/stack.env"
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; ${1:-10000} threads x ${2:-10} messages"
target/release/examples/bench_history "$(pwd)/target/release/secintake" "$work/run" "$IMAP_PORT" "$SMTP_PORT" "${1:-10000}" "${2:-10}"
