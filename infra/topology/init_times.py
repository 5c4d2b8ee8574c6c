"""Init time of every function binary, as Lambda counts it: from process start to its first
`GET /runtime/invocation/next`, with the Runtime API answering and AWS unreachable (nothing listens
at AWS_ENDPOINT_URL), so any AWS call made before the first event would show as a stall or an init
error. Each function gets the environment the template gives it (resolved offline).

Usage: init_times.py --bin-dir DIR [--runs N] [--template template.yaml]
Prints one row per function (median, min and max of N starts, and the binary's size) and exits 1 if
a function failed to ask for its first event (an init error, an exit, or no request in 5 s).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import template
from serving import serve_in_background

NEXT = "/2018-06-01/runtime/invocation/next"
EXTENSION_REGISTER = "/2020-01-01/extension/register"
TARGET_MS = 20.0


def start_once(binary, fn, region):
    """Milliseconds from process start to the first `next`, or an error string."""
    asked = threading.Event()
    init_error = []

    class Runtime(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == NEXT:
                asked.set()
            # The long poll never answers (the runtime's, or an internal extension's): the process
            # is stopped once it has asked.
            time.sleep(10)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path == EXTENSION_REGISTER:  # an internal extension, during init (as Lambda allows)
                answer = json.dumps({"functionName": fn.name, "functionVersion": "$LATEST",
                                     "handler": "bootstrap"}).encode()
                self.send_response(200)
                self.send_header("Lambda-Extension-Identifier", "init-time-extension")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                return
            init_error.append(body.decode(errors="replace"))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = serve_in_background(Runtime)
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "_HANDLER": "bootstrap",
        "AWS_ACCESS_KEY_ID": "init-time",
        "AWS_SECRET_ACCESS_KEY": "init-time",
        "AWS_SESSION_TOKEN": "init-time",
        # Port 9 (discard) on loopback: nothing answers, a connection is refused at once.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        **fn.env,
    }
    started = time.monotonic()
    process = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 5
        while not asked.is_set():
            if init_error:
                return f"init error: {init_error[0][:200]}"
            if process.poll() is not None:
                return f"exited with {process.returncode} before asking for an event"
            if time.monotonic() > deadline:
                return "no request for an event within 5 s"
            asked.wait(0.0005)
        return (time.monotonic() - started) * 1000
    finally:
        process.kill()
        process.wait()
        server.shutdown()
        server.server_close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--region", default="eu-west-2")
    p.add_argument("--template", default=str(template.ROOT / "template.yaml"))
    a = p.parse_args()
    topo = template.read(a.template, "statuslist", a.region, {"Stage": "prod"},
                         "https://cdn.example", facts=({}, {}))
    failed = []
    rows = []
    for fn in sorted(topo.functions.values(), key=lambda f: f.binary):
        binary = Path(a.bin_dir) / fn.binary
        if not binary.exists():
            sys.exit(f"init_times: {binary} is not built")
        times = []
        for _ in range(a.runs):
            result = start_once(str(binary), fn, a.region)
            if isinstance(result, str):
                failed.append(f"{fn.binary}: {result}")
                break
            times.append(result)
        if times:
            rows.append((fn.binary, statistics.median(times), min(times), max(times), binary.stat().st_size))
    print(f"init (process start to first `next`, AWS unreachable), {a.runs} starts each, binaries in {a.bin_dir}:")
    print(f"  {'function':<26} {'median ms':>9} {'min':>6} {'max':>6} {'binary MB':>9}")
    for name, med, lo, hi, size in rows:
        print(f"  {name:<26} {med:9.1f} {lo:6.1f} {hi:6.1f} {size / 1e6:9.1f}")
    if rows:
        medians = [r[1] for r in rows]
        slowest = max(rows, key=lambda r: r[1])
        within = sum(m <= TARGET_MS for m in medians)
        print(f"init: {within} of {len(rows)} functions within {TARGET_MS:.0f} ms (median of medians "
              f"{statistics.median(medians):.1f} ms, slowest {slowest[0]} {slowest[1]:.1f} ms)")
    for f in failed:
        print(f"init FAILED: {f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
