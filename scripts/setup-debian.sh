#!/usr/bin/env bash
# Installs what secintake's demo and tests need on Debian (as root), if missing:
# Dovecot (IMAP + LMTP), Python's aiosmtpd (the delivering SMTP front), openssl, sqlite3,
# GNU time, systemd for systemd-analyze (tests/it/systemd_unit.rs checks the unit; systemd need not run),
# headless Chromium with a font (tests/it/report_html.rs renders `report --html` to a PNG), and,
# from PyPI, for the system Python: dkimpy, authres and PyNaCl (tests/it/arc.rs signs and seals with dkimpy),
# standardwebhooks and formatflowed (tests/it/channels.rs, tests/it/mail_text.rs); and GnuPG
# (tests/it/pgp.rs: gpg is the reporter's mail client); the official advisory schemas (PyPI osv,
# cvelib, jsonschema; npm @octokit/openapi) for tests/it/advisory.rs.
set -euo pipefail
need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-core dovecot-imapd dovecot-lmtpd)
[ -x /usr/lib/dovecot/lmtp ] || need+=(dovecot-lmtpd)
[ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
[ -x /usr/bin/time ] || need+=(time)   # GNU time: peak memory in tests/it/faults.rs and the benchmark
command -v chromium >/dev/null 2>&1 || command -v chromium-headless-shell >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)   # the charts' text
# PyPI packages that play the other side in tests: standardwebhooks verifies our webhook
# signatures (tests/it/channels.rs, the demo's receiver), formatflowed reads our flowed mail.
pip_need=()
/usr/bin/python3 -c 'import standardwebhooks' >/dev/null 2>&1 || pip_need+=("standardwebhooks>=1.1,<2")
/usr/bin/python3 -c 'import formatflowed' >/dev/null 2>&1 || pip_need+=("formatflowed==2.0.0")
if [ ${#pip_need[@]} -gt 0 ] && ! /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
  need+=(python3-pip)
fi
command -v gpg >/dev/null 2>&1 || need+=(gnupg)   # gpg, gpg-agent, gpgconf
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# dkimpy (DKIM and ARC signer, an independent implementation for the tests), authres (which
# dkim.arc_sign needs) and PyNaCl (Ed25519 signatures).
if ! /usr/bin/python3 -c 'import dkim, authres, nacl' >/dev/null 2>&1; then
  echo "installing from PyPI: dkimpy authres pynacl"
  /usr/bin/python3 -m pip install -q --break-system-packages 'dkimpy==1.1.8' 'authres==1.2.0' 'pynacl>=1.5' >/dev/null
fi
if [ ${#pip_need[@]} -gt 0 ]; then
  echo "installing from PyPI: ${pip_need[*]}"
  /usr/bin/python3 -m pip install -q --disable-pip-version-check --break-system-packages "${pip_need[@]}"
fi
# The official advisory schemas tests/it/advisory.rs validates the exports against (with
# scripts/validate-advisory.py): OSV (PyPI osv), CVE JSON 5.1.1 (PyPI cvelib), GitHub's REST
# description (npm @octokit/openapi), and the validator (PyPI jsonschema).
if ! /usr/bin/python3 -c 'import osv, cvelib, jsonschema' >/dev/null 2>&1; then
  echo "installing from PyPI: osv cvelib jsonschema"
  /usr/bin/python3 -m pip install -q --disable-pip-version-check --break-system-packages 'osv==0.0.22' 'cvelib==1.8.0' 'jsonschema>=4.18,<5'
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "installing: npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
if [ ! -e "$(npm root -g)/@octokit/openapi/generated/api.github.com.deref.json" ]; then
  echo "installing from npm: @octokit/openapi"
  npm install -g --silent '@octokit/openapi@23.0.2'
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust 1.95 or newer (https://rustup.rs), then run this again" >&2
  exit 1
fi
