#!/usr/bin/env bash
# Makes the pgp_intake fuzz target's keys (fuzz/keys) and seeds (fuzz/seeds/pgp_intake) with
# gpg: a list key with its secret part (no passphrase, never expires), Alice's public key, and
# one seed per way OpenPGP data reaches the intake. A seed is one byte (the wrapper kind, see
# fuzz_targets/pgp_intake.rs) followed by the data.
set -euo pipefail
cd "$(dirname "$0")/.."
g=$(mktemp -d); trap 'gpgconf --homedir "$g" --kill all 2>/dev/null || true; rm -rf "$g"' EXIT
gpg() { command gpg --homedir "$g" --batch --quiet --pinentry-mode loopback --passphrase '' --trust-model always "$@"; }
gpg --quick-gen-key "Security Team <security@example.org>" future-default default never
gpg --quick-gen-key "Alice <alice@example.net>" future-default default never
gpg --armor --export-secret-keys security@example.org > keys/list.sec.asc
gpg --armor --export alice@example.net > keys/alice.pub.asc
s=seeds/pgp_intake; rm -rf "$s"; mkdir -p "$s"
text=$'Content-Type: text/plain\r\n\r\nexpress 4.21.1: res.redirect() injects headers; curl -i localhost; an attacker fixes sessions.\r\n'
seed() { { printf "\\x$(printf %02x "$1")"; cat; } > "$s/$2"; }
printf '%s' "$text" | gpg --armor -z 0 --encrypt -R security@example.org | seed 1 mime-hidden-nocompress
printf '%s' "$text" | gpg --armor --sign --local-user alice@example.net --encrypt -r security@example.org | seed 1 mime-signed-armored
printf '%s' "$text" | gpg --sign --local-user alice@example.net --encrypt -r security@example.org | seed 1 mime-signed-binary
printf '%s' "$text" | gpg --armor --encrypt -r security@example.org | sed '1,/^$/d;/^-----END/d' | seed 2 inline-body
{ printf 'From: alice@example.net\r\nTo: security@example.org\r\nSubject: x\r\n\r\n'; printf '%s' "$text" | gpg --clearsign --local-user alice@example.net; } | seed 0 clearsigned
printf 'signed\r\n' | gpg --armor --detach-sign --local-user alice@example.net | seed 3 detached-sig
seed 4 attached-key < keys/alice.pub.asc
ls -la "$s"
