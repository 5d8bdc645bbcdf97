"""A real SMTP server for the tests: aiosmtpd on a loopback port, storing every message it
accepts as <dir>/<n>.eml (the raw message, exactly as received) with the envelope
recipients in an `X-Envelope-To` header added on top.

Usage: sink.py PORT DIR [USER:PASSWORD] — runs until killed; prints "ready" once it
listens. With USER:PASSWORD, clients must authenticate (AUTH PLAIN/LOGIN; allowed without
TLS here because it only listens on loopback).
"""

import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, out = int(sys.argv[1]), Path(sys.argv[2])
credentials = sys.argv[3].split(":", 1) if len(sys.argv) > 3 else None
out.mkdir(parents=True, exist_ok=True)
lock = threading.Lock()


class Store:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            n = len(list(out.glob("*.eml"))) + 1
            head = f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
            tmp = out / f"{n}.tmp"
            tmp.write_bytes(head + envelope.original_content)
            tmp.rename(out / f"{n}.eml")
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and [
        auth_data.login.decode(),
        auth_data.password.decode(),
    ] == credentials
    return AuthResult(success=ok)


extra = {}
if credentials:
    extra = dict(authenticator=authenticate, auth_required=True, auth_require_tls=False)
controller = Controller(Store(), hostname="127.0.0.1", port=port, **extra)
controller.start()
print("ready", flush=True)
threading.Event().wait()
