#!/usr/bin/env bash
# Builds the Debian package: the release binary, the man page from the clap definition
# (`secintake man`), then cargo-deb without a second build, then lintian on the result.
# Needs cargo-deb (`cargo install cargo-deb`) and, for the check, lintian (`apt-get install lintian`).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null || { echo "build-deb: cargo-deb is missing: cargo install cargo-deb" >&2; exit 1; }
cargo build --release --locked
mkdir -p target/man
target/release/secintake man > target/man/secintake.1
gzip -9nf target/man/secintake.1
cargo deb --no-build --locked
deb=$(ls -t target/debian/secintake_*.deb | head -1)
echo "built $deb"
if command -v lintian >/dev/null; then
  lintian "$deb"
else
  echo "build-deb: lintian is not installed (apt-get install lintian): not checked" >&2
fi
