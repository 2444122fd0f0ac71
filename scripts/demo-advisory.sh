# Part of scripts/demo.sh (sourced; uses $bin, $run, $IMAP_PORT, $f): from /accept to a
# published advisory with nothing but mail and `secintake advisory`, each export checked
# against its official schema (OSV, CVE JSON 5.1.1, GitHub's REST description).
echo; echo "== coordinator alice accepts the ReDoS report and gives the advisory facts by mail"
redos=$("$bin" cases --json | python3 -c 'import json,sys; print([c["id"] for c in json.load(sys.stdin) if c["subject"].startswith("ReDoS in route matching")][0])')
mid=$(grep -i '^Message-ID:' "$f/01-complete-redos-path-regex.eml" | head -1 | cut -d' ' -f2- | tr -d '\r')
printf 'From: Alice <alice@example.test>\r\nTo: security@example.test\r\nSubject: Re: [%s] ReDoS in route matching\r\nMessage-ID: <demo-alice-adv@example.test>\r\nIn-Reply-To: %s\r\nAuthentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nConfirmed, fix is ready.\r\n/assign me\r\n/assess\r\n/accept\r\n/patch\r\n/cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H\r\n/cve CVE-2026-41299\r\n/ghsa GHSA-9wv6-86v2-598j\r\n/cwe CWE-1333\r\n/affected express <4.21.2\r\n/summary ReDoS in route matching with many parameters\r\n/advisory\r\nA route with several parameters in one segment (`/:a-:b`) compiles to a regular\r\nexpression that backtracks on a long path: one request blocks the event loop.\r\n\r\nUpgrade to **4.21.2**. Thanks to the reporter for a clear report.\r\n' "$redos" "$mid" > "$run/alice-adv.eml"
scripts/mailtool.py append "$IMAP_PORT" security "$run/alice-adv.eml"
sleep 3
"$bin" case "$redos" command /released 4.21.2 | sed 's/^/   /'
echo "-- secintake advisory $redos --check"
"$bin" advisory "$redos" --check | sed 's/^/   /' || true
for fmt in osv cve ghsa; do
  "$bin" advisory "$redos" --format "$fmt" > "$run/advisory.$fmt.json"
  printf '   %-5s %6d bytes, official schema: ' "$fmt" "$(wc -c < "$run/advisory.$fmt.json")"
  /usr/bin/python3 scripts/validate-advisory.py "$fmt" "$run/advisory.$fmt.json"
done
echo "-- the OSV record (head):"
sed -n '1,14p' "$run/advisory.osv.json" | sed 's/^/   /'
echo "-- the announcement draft (head):"
"$bin" advisory "$redos" --format announcement | sed -n '1,12p' | sed 's/^/   | /'
