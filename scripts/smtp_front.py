#!/usr/bin/python3
"""SMTP front of the local test mail stack (started by scripts/mailstack.sh).

Accepts mail on 127.0.0.1 (plain with STARTTLS, optionally implicit TLS) and
hands every recipient to Dovecot over LMTP, one recipient per LMTP
transaction.  The reply to DATA is sent only after Dovecot stored the message
for every recipient: 250 on success, 451 if any LMTP delivery failed.  A raw
copy of every accepted message (exactly the DATA content) is written to
--sent-dir as NNNNNN-<first-rcpt>.eml.

Recipient mapping: the local part of the address (case-insensitive) names the
Dovecot user; an unknown local part goes to the catch-all user.

Needs the Debian package python3-aiosmtpd; run it with /usr/bin/python3.
"""

import argparse
import asyncio
import logging
import os
import re
import signal
import smtplib
import ssl
import sys

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:  # pragma: no cover
    sys.stderr.write("smtp_front.py: aiosmtpd missing: apt-get install -y python3-aiosmtpd "
                     "(and run with /usr/bin/python3)\n")
    sys.exit(3)

log = logging.getLogger("smtp_front")


class FrontSMTP(SMTP):
    # RFC 5321 says 1000, but a test stack should not reject what real MTAs
    # pass through; also gives the stream reader a larger buffer.
    line_length_limit = 1 << 20


class Handler:
    def __init__(self, args):
        self.lmtp = args.lmtp
        self.sent_dir = args.sent_dir
        self.users = {u.strip().lower() for u in args.users.split(",") if u.strip()}
        self.catchall = args.catchall
        self.password = args.password.encode()
        self.counter = self._initial_counter()

    def _initial_counter(self):
        top = 0
        try:
            for name in os.listdir(self.sent_dir):
                m = re.match(r"^(\d+)-", name)
                if m:
                    top = max(top, int(m.group(1)))
        except FileNotFoundError:
            os.makedirs(self.sent_dir, exist_ok=True)
        return top

    def mailbox_for(self, address):
        local = address.rpartition("@")[0] if "@" in address else address
        local = local.strip('"').lower()
        return local if local in self.users else self.catchall

    # -- AUTH: optional; any stack user with the stack password -------------
    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace").lower()
            login = login.rpartition("@")[0] if "@" in login else login
            if login in self.users and auth_data.password == self.password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    # -- delivery -----------------------------------------------------------
    def _deliver_one(self, mail_from, user, content, smtputf8):
        with smtplib.LMTP(self.lmtp, local_hostname="localhost", timeout=120) as conn:
            opts = []
            if smtputf8:
                conn.ehlo_or_helo_if_needed()
                if conn.has_extn("smtputf8"):
                    opts.append("SMTPUTF8")
            conn.sendmail(mail_from, [user], content, mail_options=opts)

    def _write_sent(self, path, content):
        tmp = os.path.join(self.sent_dir, "." + os.path.basename(path) + ".tmp")
        with open(tmp, "wb") as f:
            f.write(content)
        os.rename(tmp, path)

    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        content = envelope.original_content
        if content is None:
            content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        mail_from = envelope.mail_from or ""
        if mail_from == "<>":
            mail_from = ""
        seen = set()
        rcpts = []
        for r in envelope.rcpt_tos:
            if r.lower() not in seen:
                seen.add(r.lower())
                rcpts.append(r)
        for rcpt in rcpts:
            user = self.mailbox_for(rcpt)
            try:
                await loop.run_in_executor(
                    None, self._deliver_one, mail_from, user, content, envelope.smtp_utf8)
            except Exception as e:  # noqa: BLE001 - any failure is a temporary failure
                log.error("LMTP delivery of <%s> as %s failed: %r", rcpt, user, e)
                detail = re.sub(r"[\r\n]+", " ", str(e))[:200]
                return "451 4.3.0 LMTP delivery to %s failed: %s" % (user, detail)
            log.info("delivered from=<%s> rcpt=<%s> user=%s size=%d",
                     mail_from, rcpt, user, len(content))
        self.counter += 1
        safe = re.sub(r"[^A-Za-z0-9@._+-]", "_", rcpts[0])[:100] or "unknown"
        path = os.path.join(self.sent_dir, "%06d-%s.eml" % (self.counter, safe))
        try:
            await loop.run_in_executor(None, self._write_sent, path, content)
        except OSError as e:
            log.error("writing %s failed: %r", path, e)
            return "451 4.3.0 could not store sent copy"
        return "250 2.0.0 OK delivered to %d recipient(s)" % len(rcpts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--lmtp", required=True)
    ap.add_argument("--sent-dir", required=True)
    ap.add_argument("--users", required=True)
    ap.add_argument("--catchall", default="catchall")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--max-size", type=int, default=128 * 1024 * 1024)
    ap.add_argument("--pidfile", required=True)
    ap.add_argument("--stack", default="", help="stack directory (identifies the process)")
    args = ap.parse_args()

    try:
        os.setsid()
    except OSError:
        pass
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    tls_ctx = None
    if args.cert and args.key:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.cert, args.key)

    handler = Handler(args)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory(starttls):
        def make():
            return FrontSMTP(
                handler,
                data_size_limit=args.max_size,
                enable_SMTPUTF8=True,
                decode_data=False,
                hostname="localhost",
                ident="mailstack smtp front",
                tls_context=tls_ctx if starttls else None,
                require_starttls=False,
                auth_required=False,
                auth_require_tls=False,
                authenticator=handler.authenticate,
                timeout=600,
                loop=loop,
            )
        return make

    servers = []
    try:
        servers.append(loop.run_until_complete(
            loop.create_server(factory(True), host=args.host, port=args.port,
                               reuse_address=True)))
        if args.tls_port and tls_ctx is not None:
            servers.append(loop.run_until_complete(
                loop.create_server(factory(False), host=args.host, port=args.tls_port,
                                   reuse_address=True, ssl=tls_ctx)))
    except OSError as e:
        log.error("BIND FAILED: %s", e)
        sys.exit(2)

    tmp = args.pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, args.pidfile)
    log.info("listening on %s:%d (STARTTLS %s)%s, delivering via LMTP %s",
             args.host, args.port, "on" if tls_ctx else "off",
             (", implicit TLS on %d" % args.tls_port) if len(servers) > 1 else "",
             args.lmtp)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    log.info("stopping")
    for s in servers:
        s.close()
    try:
        os.unlink(args.pidfile)
    except OSError:
        pass
    # Do not wait for open client connections; just go.
    os._exit(0)


if __name__ == "__main__":
    main()
