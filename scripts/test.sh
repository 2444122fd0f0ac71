#!/usr/bin/env bash
# The one test command: installs what is missing, then runs every test (unit, the fixture
# corpus, and the integration tests against a real local Dovecot + SMTP server), plus
# the format and lint checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
