#!/usr/bin/python3
"""Small IMAP helper for the demo: put a message into a mailbox, or show a mailbox.

  mailtool.py append PORT USER FILE...   APPEND each .eml to USER's INBOX
  mailtool.py show PORT USER             print subject, threading and body of each message
"""
import email
import email.policy
import imaplib
import sys


def login(port, user):
    m = imaplib.IMAP4("127.0.0.1", int(port))
    m.login(user, "secret")
    return m


def append(port, user, files):
    m = login(port, user)
    for f in files:
        with open(f, "rb") as fh:
            m.append("INBOX", None, None, fh.read())
    m.logout()


def paragraphs(part):
    """The text as a mail client shows it: a format=flowed body (RFC 3676) decoded by the
    PyPI formatflowed reader, each paragraph on one line (quotes keep their '>'); any other
    body line by line."""
    if part.get_param("format", "").lower() != "flowed":
        return part.get_content().splitlines()
    import formatflowed
    raw = part.get_payload(decode=True)
    charset = part.get_content_charset() or "us-ascii"
    out = []
    for info, text in formatflowed.decode(raw, character_set=charset):
        depth = info.get("quotedepth", 0)
        prefix = "> " * depth
        if info["type"] == formatflowed.SIGNATURE_SEPARATOR:
            out.append("-- ")
        else:
            out.extend(prefix + t for t in (text.splitlines() or [""]))
    return out


def show(port, user):
    m = login(port, user)
    m.select("INBOX", readonly=True)
    _, data = m.search(None, "ALL")
    ids = data[0].split()
    print(f"== {user}: {len(ids)} message(s)")
    for i in ids:
        _, msg = m.fetch(i, "(BODY.PEEK[])")
        e = email.message_from_bytes(msg[0][1], policy=email.policy.default)
        print(f"-- Subject: {e['Subject']}")
        print(f"   To: {e['To']}   In-Reply-To: {e.get('In-Reply-To', '-')}   Auto-Submitted: {e.get('Auto-Submitted', '-')}")
        body = e.get_body(preferencelist=("plain",))
        lines = paragraphs(body) if body else []
        for line in lines[:14]:
            print(f"   | {line}")
        if len(lines) > 14:
            print("   | ...")
    m.logout()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "append":
        append(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "show":
        show(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
