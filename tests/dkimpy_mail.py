#!/usr/bin/python3
"""Plays the mail servers around secintake with dkimpy, an implementation nobody here wrote.

  keygen rsa|ed25519 SELECTOR DOMAIN KEYFILE
      writes a private key to KEYFILE and prints the `team.dkim_keys` entry for it
      (`SELECTOR._domainkey.DOMAIN v=DKIM1; k=...; p=...`).
  sign KEYFILE rsa|ed25519 SELECTOR DOMAIN  < mail > signed mail
      the coordinator's mail server: dkim.sign over From, To, Subject, Date, Message-ID,
      In-Reply-To, References.
  relay KEYSFILE KEYFILE SELECTOR DOMAIN [options]  < mail > relayed mail
      a list server or forwarder: checks the mail as it arrives (dkim.verify and
      dkim.arc_verify, keys from KEYSFILE, one `team.dkim_keys` entry a line, instead of
      DNS), writes what it saw in its own Authentication-Results, changes the mail as the
      options say, and seals it with dkim.arc_sign.
      --footer TEXT           append TEXT to the body, after a `-- ` line
      --append-body TEXT      append TEXT to the body as a line of its own
      --srv-id ID             the authserv-id of its Authentication-Results (default DOMAIN)
      --subject-prefix TEXT   prefix the Subject
      --rewrite-from ADDRESS  From: "'NAME' via List" <ADDRESS>, the original From moved to
      --original-header NAME  this header (X-Original-From or X-Original-Sender)
      --reply-to ADDRESS      set Reply-To (Google Groups puts the list or the author there)
      --dmarc RESULT          override the dmarc result the list records (pass, fail)

Exit status 2 with a message on stderr when dkimpy, authres or PyNaCl is missing
(scripts/setup-debian.sh installs them).
"""

import base64
import re
import subprocess
import sys

try:
    import dkim
    import authres  # noqa: F401  (dkim.arc_sign needs it)
    import nacl.signing
except ImportError as e:
    sys.stderr.write(
        "dkimpy, authres and PyNaCl are needed for these tests (%s): run scripts/setup-debian.sh "
        "or /usr/bin/python3 -m pip install --break-system-packages dkimpy authres pynacl\n" % e
    )
    sys.exit(2)

SIGNED = [b"from", b"to", b"subject", b"date", b"message-id", b"in-reply-to", b"references"]


def keygen(kind, selector, domain, keyfile):
    if kind == "rsa":
        pem = subprocess.run(
            ["openssl", "genrsa", "-traditional", "2048"], check=True, capture_output=True
        ).stdout
        der = subprocess.run(
            ["openssl", "rsa", "-pubout", "-outform", "DER"],
            input=pem,
            check=True,
            capture_output=True,
        ).stdout
        open(keyfile, "wb").write(pem)
        record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    else:
        key = nacl.signing.SigningKey.generate()
        open(keyfile, "wb").write(base64.b64encode(bytes(key)))
        record = "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(key.verify_key)).decode()
    print("%s._domainkey.%s %s" % (selector, domain, record))


def pinned_dns(keysfile):
    records = {}
    for line in open(keysfile, encoding="utf-8"):
        line = line.strip()
        if line:
            name, record = line.split(None, 1)
            records[name.lower().rstrip(".")] = record.encode()

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return records.get(name.lower().rstrip("."))

    return dnsfunc


def sign(keyfile, kind, selector, domain):
    message = sys.stdin.buffer.read()
    algo = b"rsa-sha256" if kind == "rsa" else b"ed25519-sha256"
    sig = dkim.sign(
        message,
        selector.encode(),
        domain.encode(),
        open(keyfile, "rb").read(),
        signature_algorithm=algo,
        include_headers=[h for h in SIGNED if re.search(b"(?im)^" + h + b":", message)],
        linesep=b"\r\n",
    )
    sys.stdout.buffer.write(sig + message)


def split(message):
    head, sep, body = message.partition(b"\r\n\r\n")
    return head + b"\r\n", body


def header(head, name):
    m = re.search(b"(?im)^" + re.escape(name) + b":[ \t]*(.*(?:\r\n[ \t].*)*)\r\n", head)
    return m.group(1) if m else None


def replace_header(head, name, value):
    pattern = re.compile(b"(?im)^" + re.escape(name) + b":.*(?:\r\n[ \t].*)*\r\n")
    line = name + b": " + value + b"\r\n"
    if pattern.search(head):
        return pattern.sub(lambda _: line, head, count=1)
    return head + line


def relay(keysfile, keyfile, selector, domain, args):
    opts = {}
    while args:
        k = args.pop(0)
        opts[k] = args.pop(0)
    message = sys.stdin.buffer.read()
    dns = pinned_dns(keysfile)
    head, body = split(message)
    from_value = header(head, b"From") or b""
    m = re.search(rb"[\w.+-]+@([\w.-]+)", from_value)
    from_domain = m.group(1).decode().lower() if m else ""
    # What the list sees on arrival: the sender's DKIM signature and the ARC chain so far.
    results = []
    d = dkim.DKIM(message)
    dkim_ok = False
    if re.search(b"(?im)^DKIM-Signature:", head):
        try:
            dkim_ok = d.verify(dnsfunc=dns)
        except dkim.DKIMException:
            dkim_ok = False
        sig_domain = d.domain.decode() if d.domain else from_domain
        results.append("dkim=%s header.d=%s" % ("pass" if dkim_ok else "fail", sig_domain))
        aligned = dkim_ok and (sig_domain == from_domain or from_domain.endswith("." + sig_domain))
    else:
        results.append("dkim=none")
        aligned = False
    dmarc = opts.get("--dmarc", "pass" if aligned else "fail")
    results.append("dmarc=%s header.from=%s" % (dmarc, from_domain))
    if re.search(b"(?im)^ARC-Seal:", head):
        cv, _, _ = dkim.arc_verify(message, dnsfunc=dns)
        results.append("arc=%s" % cv.decode())
    srv_id = opts.get("--srv-id", domain)
    ar = ("Authentication-Results: %s; %s\r\n" % (srv_id, "; ".join(results))).encode()
    # What the list changes.
    if "--subject-prefix" in opts:
        head = replace_header(head, b"Subject", opts["--subject-prefix"].encode() + b" " + (header(head, b"Subject") or b""))
    if "--rewrite-from" in opts:
        name = re.sub(rb"\s*<.*", b"", from_value).strip(b'" ') or from_value
        head = replace_header(head, opts["--original-header"].encode(), from_value)
        head = replace_header(
            head, b"From", b"\"'" + name + b"' via Security\" <" + opts["--rewrite-from"].encode() + b">"
        )
    if "--reply-to" in opts:
        head = replace_header(head, b"Reply-To", opts["--reply-to"].encode())
    if "--footer" in opts:
        body = body.rstrip(b"\r\n") + b"\r\n\r\n-- \r\n" + opts["--footer"].encode() + b"\r\n"
    if "--append-body" in opts:
        body = body.rstrip(b"\r\n") + b"\r\n" + opts["--append-body"].encode() + b"\r\n"
    changed = ar + head + b"\r\n" + body
    signed = SIGNED + [b"reply-to", b"x-original-from", b"x-original-sender"]
    arc_set = dkim.arc_sign(
        changed,
        selector.encode(),
        domain.encode(),
        open(keyfile, "rb").read(),
        srv_id.encode(),
        include_headers=[h for h in signed if re.search(b"(?im)^" + h + b":", changed)],
        linesep=b"\r\n",
    )
    if not arc_set:
        sys.stderr.write("dkim.arc_sign made no ARC set\n")
        sys.exit(1)
    sys.stdout.buffer.write(b"".join(arc_set) + changed)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "keygen":
        keygen(*args)
    elif cmd == "sign":
        sign(*args)
    elif cmd == "relay":
        relay(args[0], args[1], args[2], args[3], args[4:])
    else:
        sys.exit("unknown command %s" % cmd)


if __name__ == "__main__":
    main()
