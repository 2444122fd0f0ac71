# Part of scripts/demo.sh (sourced; uses $bin, $run, $IMAP_PORT): a reporter encrypts a
# report with GnuPG to the key `secintake pgp-key` prints, and decrypts the receipt.
echo; echo "== a careful reporter encrypts a report with GnuPG to the key that 'secintake pgp-key' prints"
gr="$run/gnupg-reporter"; mkdir -m 700 "$gr"
gpg --homedir "$gr" --batch --quiet --passphrase '' \
  --quick-gen-key "Erin Reporter <erin@example.test>" future-default default never 2>/dev/null
"$bin" pgp-key | gpg --homedir "$gr" --batch --quiet --import 2>/dev/null
printf 'Content-Type: text/plain; charset=UTF-8; protected-headers="v1"\r\nSubject: Prototype pollution in qs.parse (confidential)\r\n\r\nHello,\r\n\r\nqs 6.11.0 through 6.13.0 (used by express 4.21.1) lets a query string set __proto__ keys.\r\n\r\nTo reproduce:\r\ncurl "http://localhost:3000/?a[__proto__][admin]=1"\r\n\r\nImpact: an attacker can make every request look like an admin one (privilege escalation).\r\n\r\nErin\r\n' \
  | gpg --homedir "$gr" --batch --quiet --trust-model always --armor --sign --encrypt \
      -r security@example.test --local-user erin@example.test > "$run/erin.asc"
gpg --homedir "$gr" --batch --export erin@example.test > "$run/erin.pub"
python3 - "$run/erin.asc" "$run/erin.pub" "$run/erin.eml" <<'PY'
import base64, sys
armored = open(sys.argv[1]).read().replace("\r\n", "\n").replace("\n", "\r\n")
key = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
folded = "\r\n ".join(key[i:i + 72] for i in range(0, len(key), 72))
mail = ("From: Erin Reporter <erin@example.test>\r\nTo: security@example.test\r\nSubject: ...\r\n"
        "Message-ID: <erin-1@example.test>\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\n"
        f"Autocrypt: addr=erin@example.test; keydata=\r\n {folded}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
        '--b1\r\nContent-Type: application/octet-stream; name="encrypted.asc"\r\n\r\n'
        f"{armored}\r\n--b1--\r\n")
open(sys.argv[3], "w").write(mail)
PY
scripts/mailtool.py append "$IMAP_PORT" security "$run/erin.eml"
sleep 3
"$bin" cases --json > "$run/cases.json"
python3 - "$run/cases.json" <<'PY'
import json, sys
for c in json.load(open(sys.argv[1])):
    if c["encryption"] != "none":
        missing = ", ".join(c["missing"]) or "nothing"
        print(f'{c["id"]}: encryption {c["encryption"]}, signature {c["signature"]}, '
              f'body check {c["body_check"]}, missing {missing}, subject {c["subject"]!r}')
PY
echo "-- Erin's receipt, as it arrived (only the case tag is outside the encryption):"
python3 - "$IMAP_PORT" "$run/erin-receipt.asc" <<'PY'
import email, email.policy, imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); m.login("catchall", "secret"); m.select("INBOX", readonly=True)
for i in m.search(None, "TO", "erin@example.test")[1][0].split():
    raw = m.fetch(i, "(BODY.PEEK[])")[1][0][1]
    e = email.message_from_bytes(raw, policy=email.policy.default)
    print(f"   Subject: {e['Subject']}   Content-Type: {e.get_content_type()}   Autocrypt: {str(e['Autocrypt'])[:40]}...")
    t = raw.decode(errors="replace")
    open(sys.argv[2], "w").write(t[t.index("-----BEGIN PGP MESSAGE-----"):t.index("-----END PGP MESSAGE-----") + 25] + "\n")
    break
PY
echo "-- what Erin's gpg reads in it:"
gpg --homedir "$gr" --batch --decrypt "$run/erin-receipt.asc" 2> "$run/erin-gpg.txt" > "$run/erin-receipt.txt"
python3 - "$run/erin-receipt.txt" <<'PY'
import email, email.policy, sys
e = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
print(f"   Subject (protected, inside): {e['Subject']}")
for line in e.get_content().splitlines()[:6]:
    print("   | " + line)
PY
grep -E "Good signature|encrypted with" "$run/erin-gpg.txt" | sed 's/^/   /' || true
echo "-- the team's notice of it is in clear, and carries nothing of the report:"
python3 - "$IMAP_PORT" <<'PY'
import email, email.policy, imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); m.login("triage", "secret"); m.select("INBOX", readonly=True)
for i in m.search(None, 'SUBJECT', '"encrypted report"')[1][0].split()[:1]:
    e = email.message_from_bytes(m.fetch(i, "(BODY.PEEK[])")[1][0][1], policy=email.policy.default)
    print(f"   Subject: {e['Subject']}")
    for line in e.get_body(preferencelist=("plain",)).get_content().splitlines()[:10]:
        print("   | " + line)
PY
