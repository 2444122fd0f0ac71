#!/usr/bin/env bash
# The quick start, end to end: installs what is missing, builds secintake, starts a real
# local mail stack (Dovecot IMAP + a delivering SMTP server on 127.0.0.1), runs the daemon,
# drops sample reports into the security list's mailbox, and shows the resulting cases and
# the mail that reporters and the team received. Everything lives in ./demo-run.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/setup-debian.sh
echo "== building secintake"
cargo build --quiet --locked
bin=$top/target/debug/secintake

run=$top/demo-run
[ -d "$run/stack" ] && scripts/mailstack.sh stop "$run/stack" >/dev/null 2>&1 || true
rm -rf "$run"; mkdir -p "$run"
echo "== starting the local mail stack"
scripts/mailstack.sh start "$run/stack" > "$run/stack.env"
# shellcheck disable=SC1091
source "$run/stack.env"
cleanup() {
  for h in "$run/gnupg-list" "$run/gnupg-reporter"; do
    [ -d "$h" ] && gpgconf --homedir "$h" --kill all >/dev/null 2>&1 || true
  done
  # `wait` gives the stopped process's status (143): not the demo's (set -e would take it).
  [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [ -n "${hook_pid:-}" ] && kill "$hook_pid" 2>/dev/null && wait "$hook_pid" 2>/dev/null || true
  scripts/mailstack.sh stop "$run/stack" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== starting a local webhook receiver (the team's chat bridge; it checks signatures with the standardwebhooks library)"
printf 'whsec_%s\n' "$(head -c 24 /dev/urandom | base64)" > "$run/webhook-secret"
/usr/bin/python3 scripts/webhook-receiver.py --port-file "$run/hook.port" --log "$run/hook.jsonl" \
  --secret "$(cat "$run/webhook-secret")" &
hook_pid=$!
for _ in $(seq 1 100); do [ -s "$run/hook.port" ] && break; sleep 0.1; done
HOOK_PORT=$(cat "$run/hook.port")

echo "== creating the list's OpenPGP key with gpg (Curve25519), exported for secintake as list-key.asc"
gl="$run/gnupg-list"; mkdir -m 700 "$gl"
gpg --homedir "$gl" --batch --quiet --passphrase '' \
  --quick-gen-key "Security Team <security@example.test>" future-default default never 2>/dev/null
gpg --homedir "$gl" --batch --armor --export-secret-keys security@example.test > "$run/list-key.asc"
chmod 600 "$run/list-key.asc"

cat > "$run/secintake.toml" <<TOML
[imap]
host = "127.0.0.1"
port = $IMAP_PORT
tls = "none"
username = "security"
password = "$PASSWORD"
poll_interval = "2s"
[smtp]
host = "127.0.0.1"
port = $SMTP_PORT
tls = "none"
from = "Security Team <security@example.test>"
[database]
url = "sqlite://$run/secintake.db"
[team]
list_address = "security@example.test"
notify = "triage@example.test"
coordinators = ["alice@example.test"]
trusted_authserv_ids = ["mx.example.test"]
project_repos = ["github.com/expressjs"]
[policy]
sweep_interval = "2s"
digest_hour = "off"    # the demo asks for the digest by hand, once there are cases
[[channels]]
kind = "webhook"
url = "http://127.0.0.1:$HOOK_PORT/secintake"
secret_file = "$run/webhook-secret"
events = ["premature-disclosure"]
[advisory]
ecosystem = "npm"
default_package = "express"
repository = "github.com/expressjs/express"
cna_org_id = "00000000-0000-4000-8000-000000000000"
[pgp]
secret_key_file = "list-key.asc"   # relative: \$CREDENTIALS_DIRECTORY, else this file's folder
TOML
export SECINTAKE_CONFIG=$run/secintake.toml
"$bin" check-config --connect

f=tests/fixtures
# A report of the labelled similar-case set as a mail: FILE.txt (Subject line, blank line, body).
as_mail() { # as_mail NAME FROM MESSAGE-ID OUT
  python3 - "$f/similar/reports/$1.txt" "$2" "$3" "$4" <<'PY'
import sys
head, body = open(sys.argv[1]).read().split("\n\n", 1)
mail = (f"From: {sys.argv[2]}\r\nTo: security@example.test\r\n{head}\r\nMessage-ID: {sys.argv[3]}\r\n"
        "Date: Mon, 04 Mar 2024 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + body.replace("\n", "\r\n"))
open(sys.argv[4], "w").write(mail)
PY
}
as_mail qs-proto-en "Jon Smith <jon@example.test>" "<qs-proto-2024@example.test>" "$run/qs-proto-2024.eml"
echo "== the mailbox already has history: three reports from 2024, read long ago"
python3 - "$IMAP_PORT" "$PASSWORD" "$f/02-complete-open-redirect-res-location.eml" "$f/03-complete-xss-res-redirect.eml" "$run/qs-proto-2024.eml" <<'PY'
import imaplib, sys, time
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("security", sys.argv[2])
for i, path in enumerate(sys.argv[3:]):
    when = time.mktime((2024, 3, 4 + i, 10, 0, 0, 0, 0, -1))
    with open(path, "rb") as fh:
        m.append("INBOX", r"(\Seen)", imaplib.Time2Internaldate(when), fh.read())
m.logout()
PY

echo "== starting the daemon (log: demo-run/daemon.log)"
"$bin" run 2> "$run/daemon.log" &
daemon_pid=$!
for _ in $(seq 1 100); do grep -q "IMAP ready" "$run/daemon.log" && break; sleep 0.1; done

echo; echo "== the history became quiet cases (secintake cases --state historical): nothing was sent for it"
sleep 2
"$bin" cases --state historical

echo "== the list receives five mails: a complete report, a link-only report, an HTML-only report, an out-of-office reply, a report that links a public issue (premature disclosure)"
f=tests/fixtures
sent_at=$(date +%s.%N)
scripts/mailtool.py append "$IMAP_PORT" security \
  "$f/01-complete-redos-path-regex.eml" "$f/10-link-only-gist.eml" \
  "$f/23-html-only-rich-text-table.eml" "$f/36-auto-reply-vacation-rfc3834.eml" \
  "$f/47-premature-public-issue.eml"
sleep 3

echo; echo "== what the webhook receiver got (signature checked by standardwebhooks)"
python3 - "$run/hook.jsonl" "$sent_at" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    body = json.loads(r["body"])
    print(f'{body["type"]}  {body["data"]["case_id"]}  signature verified: {r["verified"]}  '
          f'{r["at"] - float(sys.argv[2]):.2f} s after the mail reached the list')
    print("  " + body["data"]["text"].replace("\n", "\n  "))
PY

echo; echo "== secintake cases"
"$bin" cases
first=$("$bin" cases --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
echo; echo "== secintake case $first"
"$bin" case "$first"

echo; echo "== coordinator alice replies to the link-only report with commands (authenticated by the trusted MX)"
mid=$(grep -i '^Message-ID:' "$f/10-link-only-gist.eml" | head -1 | cut -d' ' -f2- | tr -d '\r')
linkonly=$("$bin" cases --json | python3 -c 'import json,sys; print([c["id"] for c in json.load(sys.stdin) if c["body_check"] == "link-only"][0])')
printf 'From: Alice <alice@example.test>\r\nTo: security@example.test\r\nSubject: Re: [%s] Security vulnerability in express\r\nMessage-ID: <demo-alice-1@example.test>\r\nIn-Reply-To: %s\r\nAuthentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n\r\nI will take this one.\r\n/assign me\r\n/needs-info\r\n/note asked the reporter to paste the gist into the mail\r\n' "$linkonly" "$mid" > "$run/alice.eml"
scripts/mailtool.py append "$IMAP_PORT" security "$run/alice.eml"
sleep 3
"$bin" cases

echo; echo "== another reporter writes up a bug from the history, in their own words and language: the notice says which case it looks like"
as_mail qs-proto-es "Lucia Perez <lucia@example.test>" "<qs-proto-es@example.test>" "$run/qs-proto-es.eml"
scripts/mailtool.py append "$IMAP_PORT" security "$run/qs-proto-es.eml"
sleep 3
python3 - "$IMAP_PORT" <<'PY'
import email, email.policy, imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); m.login("triage", "secret"); m.select("INBOX", readonly=True)
for i in m.search(None, "BODY", "lucia@example.test")[1][0].split()[:1]:
    e = email.message_from_bytes(m.fetch(i, "(BODY.PEEK[])")[1][0][1], policy=email.policy.default)
    print(f"   Subject: {e['Subject']}")
    for line in e.get_body(preferencelist=("plain",)).get_content().splitlines()[:8]:
        print("   | " + line)
PY

# shellcheck source=scripts/demo-advisory.sh
source scripts/demo-advisory.sh

# shellcheck source=scripts/demo-encrypted.sh
source scripts/demo-encrypted.sh

echo; echo "== the daily digest, queued by hand (secintake digest); the running daemon sends it"
"$bin" digest
sleep 2

echo; echo "== mail the reporters, the team and the coordinator received"
for u in catchall triage alice; do scripts/mailtool.py show "$IMAP_PORT" "$u"; done
echo; echo "== secintake status"
"$bin" status || true
echo; echo "== secintake report --html: the working group's report with charts (no report text, no addresses)"
"$bin" report --html "$run/report.html"
echo "open $run/report.html in a browser (self-contained: it loads nothing)"
echo; echo "== secintake vacuum: the WAL checkpointed and free pages given back, beside the running daemon"
"$bin" vacuum
echo; echo "demo done: the daemon and the mail stack are stopped now; ./demo-run keeps the database and logs"
