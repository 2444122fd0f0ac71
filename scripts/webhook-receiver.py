#!/usr/bin/python3
"""A local receiver for secintake's channel deliveries (tests and demo).

Listens on 127.0.0.1, records every request as one JSON line in --log, and, given
--secret, checks the Standard Webhooks signature with the `standardwebhooks` library
from PyPI (not with secintake's code). Answers in the order given by --answers
(e.g. `500,400,delay:3,200`; `delay:N` waits N seconds, then answers 200), then 200.

  webhook-receiver.py --port-file F --log L [--port N] [--secret whsec_...]
                      [--answers 500,200] [--tls-cert C --tls-key K]

Needs: pip install standardwebhooks (scripts/setup-debian.sh does it).
"""

import argparse
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError:
    sys.exit("webhook-receiver: the Python package `standardwebhooks` is missing: "
             "run scripts/setup-debian.sh or `pip install standardwebhooks`")

ARGS = None
LOCK = threading.Lock()
ANSWERS = []


def next_answer():
    with LOCK:
        return ANSWERS.pop(0) if ANSWERS else "200"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified, error = None, None
        if ARGS.secret and "webhook-signature" in headers:
            try:
                Webhook(ARGS.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError as e:
                verified, error = False, str(e)
        elif ARGS.secret:
            verified, error = False, "no webhook-signature header"
        answer = next_answer()
        if answer.startswith("delay:"):
            time.sleep(float(answer.split(":", 1)[1]))
            status = 200
        else:
            status = int(answer)
        record = {
            "method": self.command,
            "path": self.path,
            "headers": headers,
            "body": body.decode("utf-8", "replace"),
            "verified": verified,
            "error": error,
            "status": status,
            "at": time.time(),
        }
        with LOCK, open(ARGS.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self.command == "PUT":
            reply = json.dumps({"event_id": "$event-" + self.path.rsplit("/", 1)[-1]}).encode()
        else:
            reply = b"ok" if status < 300 else ("refused: status %d" % status).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to answer

    do_POST = handle_any
    do_PUT = handle_any


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--secret")
    p.add_argument("--answers", default="")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    ARGS = p.parse_args()
    ANSWERS.extend(a for a in ARGS.answers.split(",") if a)
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    if ARGS.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, ARGS.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
