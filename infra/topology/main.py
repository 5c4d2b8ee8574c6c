"""The system as SAM deploys it, run locally: every function of template.yaml as its own process on
the Lambda Runtime API, behind an API Gateway REST front and a CloudFront front built from the
template, fed by the template's event sources, each calling AWS (LocalStack) through a proxy that
enforces its role's IAM statements.

Usage: python infra/topology/main.py --stack STACK --state-file F [options]
The data-plane stack must be deployed (infra/stack/env.sh deploy_stack) and LocalStack up.
When ready it writes the state file: {"api": URL, "cdn": URL, "control": URL, "pid": N}.

Control endpoints (for tests and drivers, on their own port):
  GET  /usage   per function: the calls its role allowed (action, resource), its statements, denials
  GET  /stats   per function: cold starts, init times, invocation durations; event source counters
  POST /faults  a fault rule (faults.py): calls of a function (or "*") to an action (or "service:*"),
                on a resource containing `resource`, at `rate`, for `count` calls or `seconds`, get an
                AWS error (`status`, `code`, in the service's own shape), a delay (`delay_ms`) or a
                connection reset (`kind: "reset"`, `after` to let the call through first)
  GET  /faults  every rule added and how many calls each hit
  POST /faults/clear  ends every rule
  POST /kill    {"function", "wait_s"}: kill -9 of an instance of the function while it handles an
                invocation (waits up to wait_s for one); {"killed": bool}
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import apigw  # noqa: E402
import faults as fault_rules  # noqa: E402
import cdn as cdn_front  # noqa: E402
import iam  # noqa: E402
import sources  # noqa: E402
import template  # noqa: E402
from runtime import FunctionPool  # noqa: E402


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--template", default=str(template.ROOT / "template.yaml"))
    p.add_argument("--stack", required=True)
    p.add_argument("--stage", default="local")
    p.add_argument("--region", default=os.environ.get("AWS_REGION", "eu-west-2"))
    p.add_argument("--localstack", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    p.add_argument("--bin-dir", required=True, help="where the function binaries are (target/debug)")
    p.add_argument("--api-port", type=int, default=3000)
    p.add_argument("--cdn-port", type=int, default=0)
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE for every function (local overrides)")
    p.add_argument("--schedule-interval", type=float, default=None, help="seconds between scheduled runs")
    p.add_argument("--max-instances", type=int, default=8, help="instances per function at most")
    p.add_argument("--state-file", required=True)
    p.add_argument("--log-dir", required=True)
    p.add_argument("--usage-file", default=None, help="where to write the IAM usage when stopping")
    p.add_argument("--no-event-sources", action="store_true",
                   help="serve the fronts only (a second topology beside one that consumes the sources)")
    a = p.parse_args()

    log_dir = Path(a.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    topo_log = open(log_dir / "topology.log", "a", buffering=1)

    def log(message):
        topo_log.write(f"{time.strftime('%H:%M:%S')} {message}\n")

    import boto3
    from botocore.config import Config as BotoConfig
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    boto = BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 2}, max_pool_connections=50)

    # The CDN's address first: it is the public base URL the functions are configured with.
    stopping = threading.Event()
    cdn_server_holder = {}

    class LateCdn:
        def handle(self, *args):
            return cdn_server_holder["cdn"].handle(*args)

    cdn_server = cdn_front.serve(LateCdn(), port=a.cdn_port)
    cdn_url = f"http://127.0.0.1:{cdn_server.server_address[1]}"
    parameters = {"Stage": a.stage}
    os.environ["AWS_ENDPOINT_URL"] = a.localstack
    topo = template.read(a.template, a.stack, a.region, parameters, cdn_url)
    # The CDN front speaks plain HTTP: the template's https://<distribution> URLs point at it.
    cdn_host = cdn_url.split("://", 1)[1]
    for fn in topo.functions.values():
        fn.env = {k: v.replace(f"https://{cdn_host}", cdn_url) for k, v in fn.env.items()}
    s3 = boto3.client("s3", region_name=a.region, endpoint_url=a.localstack, config=boto)
    cdn_server_holder["cdn"] = cdn_front.Cdn(topo, s3)

    proxy = iam.IamProxy(a.localstack, a.region, template.ACCOUNT)
    faults = fault_rules.Faults()
    kills = []
    proxy.fault = faults
    for fn in topo.functions.values():
        proxy.add_principal(fn.logical_id, fn.logical_id,
                            f"arn:aws:sts::{template.ACCOUNT}:assumed-role/{fn.role_arn.rsplit('/', 1)[-1]}/{fn.name}",
                            iam.Policy(fn.statements))
    aws_endpoint = proxy.start()

    overrides = dict(kv.split("=", 1) for kv in a.env)
    function_log = open(log_dir / "functions.log", "ab", buffering=0)
    pools = {}
    missing = []
    for lid, fn in topo.functions.items():
        binary = Path(a.bin_dir) / fn.binary
        if not binary.exists():
            missing.append(str(binary))
        pools[lid] = FunctionPool(fn, str(binary), a.region, aws_endpoint, overrides, function_log, a.max_instances)
    if missing:
        sys.exit("topology: function binaries not built: " + ", ".join(missing))

    def invoke(lid, event):
        return pools[lid].invoke(event)

    api = apigw.Api(topo, invoke)
    api_server = apigw.serve(api, port=a.api_port)
    api_url = f"http://127.0.0.1:{api_server.server_address[1]}"

    def client(service, lid):
        return boto3.client(service, region_name=a.region, endpoint_url=aws_endpoint, config=boto,
                            aws_access_key_id=lid, aws_secret_access_key="local")

    admin_sqs = boto3.client("sqs", region_name=a.region, endpoint_url=a.localstack, config=boto)

    def queue_url_of(arn):
        return admin_sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]

    started_sources = []
    if a.no_event_sources:
        topo.stream_mappings, topo.queue_mappings, topo.schedules = [], [], []
    for m in topo.stream_mappings:
        lid = m["Function"]
        src = sources.StreamSource(m, pools[lid], client("dynamodbstreams", lid), client("sqs", lid),
                                   a.region, log, stopping, queue_url_of)
        src.start()
        started_sources.append(("stream", lid, src))
    for m in topo.queue_mappings:
        lid = m["Function"]
        # ScalingConfig.MaximumConcurrency caps the batches in flight: one poller each.
        most = int((m.get("ScalingConfig") or {}).get("MaximumConcurrency") or 4)
        src = sources.QueueSource(m, pools[lid], client("sqs", lid), a.region, log, stopping,
                                  queue_url_of(m["EventSourceArn"]), pollers=min(4, most))
        src.start()
        started_sources.append(("queue", lid, src))
    for s in topo.schedules:
        lid = s["Function"]
        src = sources.ScheduleSource(s, pools[lid], log, stopping, a.schedule_interval)
        src.start()
        started_sources.append(("schedule", lid, src))

    def usage():
        return {
            "functions": {
                lid: {
                    "used": sorted([list(u) for u in proxy.usage.get(lid, set())]),
                    "statements": fn.statements,
                } for lid, fn in topo.functions.items()
            },
            "denials": list(proxy.denials),
        }

    def stats():
        out = {"functions": {}, "sources": [], "faults_injected": faults.injected, "kills": list(kills)}
        for lid, pool in pools.items():
            out["functions"][lid] = {
                "binary": pool.function.binary,
                "instances": pool.count,
                "cold_starts_ms": [round(c * 1000, 1) for c in pool.cold_starts],
                "inits_ms": [round(c * 1000, 1) for c in pool.inits],
                "invocations": len(pool.durations),
                "warm_invocations": len(pool.warm),
                "warm_p50_ms": percentile([d * 1000 for d in pool.warm], 50),
                "warm_p99_ms": percentile([d * 1000 for d in pool.warm], 99),
            }
        for kind, lid, src in started_sources:
            entry = {"kind": kind, "function": lid, "invocations": getattr(src, "invocations", None)}
            for attr in ("failures", "discarded", "ticks"):
                if hasattr(src, attr):
                    entry[attr] = getattr(src, attr)
            out["sources"].append(entry)
        return out

    class Control(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, status, value):
            body = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/usage":
                return self._send(200, usage())
            if self.path == "/stats":
                return self._send(200, stats())
            if self.path == "/faults":
                return self._send(200, {"rules": faults.snapshot(), "injected": faults.injected})
            self._send(404, {"message": "no such control endpoint"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/faults":
                try:
                    faults.add(body)
                except (ValueError, TypeError) as e:
                    return self._send(400, {"message": str(e)})
                return self._send(200, {"ok": True})
            if self.path == "/faults/clear":
                faults.clear()
                return self._send(200, {"ok": True})
            if self.path == "/kill":
                pool = pools.get(body.get("function", ""))
                if pool is None:
                    return self._send(404, {"message": "no such function"})
                killed = pool.kill_busy(float(body.get("wait_s", 10)))
                kills.append({"function": body["function"], "killed": killed, "time": time.time()})
                return self._send(200, {"killed": killed})
            self._send(404, {"message": "no such control endpoint"})

    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    control.daemon_threads = True
    threading.Thread(target=control.serve_forever, daemon=True).start()
    control_url = f"http://127.0.0.1:{control.server_address[1]}"

    state = {"api": api_url, "cdn": cdn_url, "control": control_url, "aws": aws_endpoint, "pid": os.getpid(),
             "functions": {lid: fn.binary for lid, fn in topo.functions.items()}}
    Path(a.state_file).write_text(json.dumps(state))
    log(f"ready: api {api_url}, cdn {cdn_url}, control {control_url}, {len(pools)} functions")
    print(f"topology: {len(pools)} functions; API {api_url}; CDN {cdn_url}; "
          f"event sources: {len(topo.stream_mappings)} stream, {len(topo.queue_mappings)} queue, "
          f"{len(topo.schedules)} schedule", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    stopping.set()
    if a.usage_file:
        Path(a.usage_file).write_text(json.dumps(usage()))
    for pool in pools.values():
        pool.stop()
    cdn_server_holder["cdn"].stop()
    proxy.stop()
    try:
        os.unlink(a.state_file)
    except FileNotFoundError:
        pass


if __name__ == "__main__":
    main()
