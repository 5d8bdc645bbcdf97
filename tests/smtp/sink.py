"""A real SMTP server for the tests: aiosmtpd on a loopback port, storing every message it
accepts as <dir>/<n>.eml (the raw message, exactly as received) with the envelope
recipients in an `X-Envelope-To` header added on top.

Usage: sink.py PORT DIR [USER:PASSWORD | --starttls] — runs until killed; prints "ready"
once it listens. With USER:PASSWORD, clients must authenticate (AUTH PLAIN/LOGIN; allowed
without TLS here because it only listens on loopback). With --starttls, clients must
upgrade with STARTTLS to a certificate for "localhost" issued by a throwaway CA, whose
certificate is written to DIR/ca.pem.
"""

import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, out = int(sys.argv[1]), Path(sys.argv[2])
option = sys.argv[3] if len(sys.argv) > 3 else None
credentials = option.split(":", 1) if option and option != "--starttls" else None
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
if option == "--starttls":
    import ssl

    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(out / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    extra = dict(tls_context=context, require_starttls=True)
controller = Controller(Store(), hostname="127.0.0.1", port=port, **extra)
controller.start()
print("ready", flush=True)
threading.Event().wait()
