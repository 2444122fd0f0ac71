#!/usr/bin/env bash
# Installs what secintake's demo and tests need on Debian (as root), if missing:
# Dovecot (IMAP + LMTP), Python's aiosmtpd (the delivering SMTP front), openssl, sqlite3,
# GNU time, systemd for systemd-analyze (tests/it/systemd_unit.rs checks the unit; systemd need not run),
# headless Chromium with a font (tests/it/report_html.rs renders `report --html` to a PNG),
# and GnuPG (tests/it/pgp.rs: gpg is the reporter's mail client).
set -euo pipefail
need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-core dovecot-imapd dovecot-lmtpd)
[ -x /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
[ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
[ -x /usr/bin/time ] || need+=(time)   # GNU time: peak memory in tests/it/faults.rs and the benchmark
command -v chromium >/dev/null 2>&1 || command -v chromium-headless-shell >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)   # the charts' text
command -v gpg >/dev/null 2>&1 || need+=(gnupg)   # gpg, gpg-agent, gpgconf
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust 1.95 or newer (https://rustup.rs), then run this again" >&2
  exit 1
fi
