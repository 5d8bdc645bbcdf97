"""A real SMTP server for the tests: aiosmtpd on a loopback port, storing every message it
accepts as <dir>/<n>.eml (the raw message, exactly as received) with the envelope
recipients in an `X-Envelope-To` header added on top.

Usage: sink.py PORT DIR — runs until killed; prints "ready" once it listens.
"""

import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller

port, out = int(sys.argv[1]), Path(sys.argv[2])
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


controller = Controller(Store(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
threading.Event().wait()
