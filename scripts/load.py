#!/usr/bin/env python3
"""Write load against a running `triage serve`: N keep-alive connections posting tickets for
a fixed time, then one JSON line with writes/s, latency percentiles and errors.

Loopback only, bounded in time and connections (it refuses other hosts). Standard library
only: one thread and one HTTP/1.1 connection per client.

    scripts/load.py --url http://127.0.0.1:8080 --token T [--connections 32] [--seconds 60]
"""
import argparse
import http.client
import json
import threading
import time
import urllib.parse


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--seconds", type=float, default=60)
    a = p.parse_args()
    u = urllib.parse.urlparse(a.url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load.py only targets loopback addresses")
    if not (1 <= a.connections <= 256 and 0 < a.seconds <= 600):
        raise SystemExit("--connections 1..256, --seconds up to 600")

    stop_at = time.monotonic() + a.seconds
    lat, statuses, errors = [], {}, []
    lock = threading.Lock()

    def client(n):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        mine, seen, errs = [], {}, []
        i = 0
        while time.monotonic() < stop_at:
            body = json.dumps({"subject": f"load c{n} #{i}", "body": "load test: the export is empty",
                               "external_id": f"load-{n}-{i}-{time.time_ns()}"})
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/tickets", body,
                             {"Authorization": f"Bearer {a.token}", "Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                dt = time.perf_counter() - t0
                seen[r.status] = seen.get(r.status, 0) + 1
                if r.status == 201:
                    mine.append(dt)
                else:
                    errs.append(r.status)
            except Exception as e:  # a refused or reset connection counts as an error
                errs.append(type(e).__name__)
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            i += 1
        with lock:
            lat.extend(mine)
            errors.extend(errs)
            for k, v in seen.items():
                statuses[k] = statuses.get(k, 0) + v

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(a.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    lat.sort()
    pct = lambda q: round(1000 * lat[min(len(lat) - 1, int(q * len(lat)))], 2) if lat else None
    print(json.dumps({
        "connections": a.connections, "seconds": round(elapsed, 1), "acknowledged": len(lat),
        "writes_per_second": round(len(lat) / elapsed, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
        "max_ms": round(1000 * lat[-1], 2) if lat else None, "errors": len(errors),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }))


if __name__ == "__main__":
    main()
