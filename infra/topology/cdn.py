"""A CloudFront-shaped front for the tokens bucket, built from the template's distribution: the
viewer-request CloudFront Function (its code from the template, run with Node), the cache policy's
handling of query strings and headers (what is not in the cache key is not forwarded to the
origin), the allowed methods, and the objects' own Cache-Control. Origin reads go to the LocalStack
bucket as the distribution's origin access control would make them. It keeps no edge cache: every
request is a miss (as right after an invalidation), so tests see each publish.
"""

import json
import subprocess
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from serving import Handler, serve_in_background

HERE = Path(__file__).resolve().parent


class FunctionRunner:
    """CloudFront Functions in one long-lived Node process."""

    def __init__(self):
        self.process = subprocess.Popen(["node", str(HERE / "cloudfront-function.js")],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lock = threading.Lock()

    def run(self, code, event):
        with self.lock:
            self.process.stdin.write(json.dumps({"code": code, "event": event}) + "\n")
            self.process.stdin.flush()
            out = json.loads(self.process.stdout.readline())
        if "error" in out:
            raise RuntimeError(out["error"])
        return out["result"]

    def stop(self):
        self.process.kill()


class Cdn:
    def __init__(self, topo, s3):
        self.config = topo.cdn["distribution"]
        self.behavior = self.config["DefaultCacheBehavior"]
        self.policy = topo.cdn.get("cache_policy", {})
        self.bucket = topo.cdn["bucket"]
        self.functions = topo.cdn.get("functions", {})
        self.s3 = s3
        self.runner = FunctionRunner() if self.behavior.get("FunctionAssociations") else None

    def _viewer_request(self, method, path, query, headers):
        request = {
            "method": method,
            "uri": path,
            "querystring": {k: {"value": v} for k, v in query},
            "headers": {k.lower(): {"value": v} for k, v in headers},
            "cookies": {},
        }
        for association in self.behavior.get("FunctionAssociations", []):
            if association.get("EventType") != "viewer-request":
                continue
            code = self.functions[association["FunctionARN"]]
            event = {"version": "1.0", "context": {"eventType": "viewer-request"},
                     "viewer": {"ip": "127.0.0.1"}, "request": request}
            request = self.runner.run(code, event)
            if "statusCode" in request:   # the function answered itself
                return None, request
        return request, None

    def handle(self, method, raw_path, headers):
        if method not in self.behavior.get("AllowedMethods", ["GET", "HEAD"]):
            return 403, [("Content-Type", "text/html")], b"403 ERROR: This distribution is not configured to allow the HTTP request method."
        split = urlsplit(raw_path)
        query = parse_qsl(split.query, keep_blank_values=True)
        request, answer = self._viewer_request(method, split.path, query, headers)
        if answer is not None:
            out = [(k, v["value"]) for k, v in answer.get("headers", {}).items()]
            return int(answer["statusCode"]), out, (answer.get("body") or {}).get("data", "").encode()
        cors = _cors(headers)
        if method == "OPTIONS":
            return 200, cors, b""
        # The cache policy decides what reaches the origin: with QueryStringBehavior none and
        # HeaderBehavior none, neither query strings nor viewer headers (Accept among them) do.
        key = request["uri"].lstrip("/")
        try:
            got = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            # The origin access control may read objects but not list the bucket: S3 says 403.
            body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                    b'<Message>Access Denied</Message></Error>')
            return 403, [("Content-Type", "application/xml"), ("X-Cache", "Error from cloudfront")] + cors, body
        data = got["Body"].read()
        out = [("Content-Type", got.get("ContentType", "binary/octet-stream")),
               ("ETag", got.get("ETag", "")),
               ("Last-Modified", got["LastModified"].strftime("%a, %d %b %Y %H:%M:%S GMT")),
               ("Via", "1.1 local.cloudfront.net (CloudFront)"),
               ("X-Cache", "Miss from cloudfront"),
               ("Age", "0")]
        if got.get("CacheControl"):
            out.append(("Cache-Control", got["CacheControl"]))
        return 200, out + cors, data

    def stop(self):
        if self.runner:
            self.runner.stop()


def _cors(headers):
    # The managed CORS-With-Preflight response headers policy.
    if not any(k.lower() == "origin" for k, _ in headers):
        return []
    return [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
            ("Access-Control-Allow-Headers", "*")]


def serve(cdn, host="127.0.0.1", port=0):
    class Front(Handler):
        def any_method(self):
            self.body()
            try:
                status, headers, data = cdn.handle(self.command, self.path, list(self.headers.items()))
            except Exception as e:  # an origin failure: CloudFront's 502
                status, headers, data = 502, [("Content-Type", "text/plain")], f"502 ERROR: {e}".encode()
            self.reply(status, headers, data)

    return serve_in_background(Front, host, port)
