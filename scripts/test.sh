#!/usr/bin/env bash
# The one test command: installs what is missing, then runs every test (unit, the fixture
# corpus, and the integration tests against a real local Dovecot + SMTP server), plus
# the format and lint checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# The integration tests are one binary (tests/it): everything but the fault tests first, then
# the fault tests on their own, one at a time (their timing windows must not compete on 2 cores).
# (criterion's bench harness takes no --skip: the bench runs as a test on its own, by name:
# `--benches` would also run every unit test of the library a second time)
cargo test --lib --bins --tests --examples --locked -- --skip faults::
cargo test --bench analyze --locked
cargo test --test it --locked faults:: -- --test-threads=1
