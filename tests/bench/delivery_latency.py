#!/usr/bin/env python3
"""Delivery latency of automations (tests/bench/run.sh, section automations).

Receives webhooks on 127.0.0.1:PORT and moves aliases with `ln -sfn`
through regfs mounts; for every move, prints the time from the start of
`ln -sfn` to the webhook's arrival, and the time `ln -sfn` itself took.

  delivery_latency.py --port P --moves N VARIANT=LINK=PATH...

VARIANT names a line of output; LINK is the alias's symlink in a mount
(moved between v0 and v1); PATH is the URL path its automation posts to.
Variants take turns move by move (rotating which goes first), so that
both see the same moments of the machine. Output, one line per move:
VARIANT<TAB>delivery ms<TAB>ln -sfn ms.
"""
import argparse
import http.server
import subprocess
import sys
import threading
import time

arrived = {}  # URL path -> list of monotonic ns
cond = threading.Condition()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        now = time.monotonic_ns()
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with cond:
            arrived.setdefault(self.path, []).append(now)
            cond.notify_all()

    def log_message(self, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--moves", type=int, default=20)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("variants", nargs="+")
    a = p.parse_args()
    variants = [v.split("=", 2) for v in a.variants]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for i in range(a.moves):
        for k in range(len(variants)):
            name, link, path = variants[(i + k) % len(variants)]
            with cond:
                before = len(arrived.get(path, []))
            start = time.monotonic_ns()
            subprocess.run(["ln", "-sfn", f"v{i % 2}", link], check=True)
            moved = time.monotonic_ns()
            with cond:
                if not cond.wait_for(
                    lambda: len(arrived.get(path, [])) > before, a.timeout
                ):
                    sys.exit(f"{name}: no delivery within {a.timeout} s")
                got = arrived[path][before]
            print(f"{name}\t{(got - start) / 1e6:.3f}\t{(moved - start) / 1e6:.3f}")
            sys.stdout.flush()
    server.shutdown()


if __name__ == "__main__":
    main()
