"""Lambda as it runs a function: each instance is the function's own binary in its own process,
talking to a Lambda Runtime API served here (one small HTTP server per instance, at the address in
`AWS_LAMBDA_RUNTIME_API`). An instance handles one invocation at a time; a function scales out to
more instances under concurrent load, up to its reserved concurrency. An invocation past the
function's timeout fails and its instance is stopped, as in AWS.

The same server answers the Extensions API for internal extensions (registered from the
function's own process during init): each gets an INVOKE event when the runtime takes an
invocation; the caller has the response as soon as the runtime posts it, but the instance takes
no other invocation (Lambda would freeze it) until every extension has asked for its next event,
within the function's timeout.
"""

import json
import os
import queue
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

from serving import serve_in_background

PREFIX = "/2018-06-01/runtime"
EXT_PREFIX = "/2020-01-01/extension"


class InvocationError(Exception):
    """The function failed: its own error answer, a timeout, or a crash."""

    def __init__(self, error_type, message, payload=None):
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.payload = payload or {"errorType": error_type, "errorMessage": message}


class _Invocation:
    def __init__(self, event, deadline_ms, arn):
        self.id = str(uuid.uuid4())
        self.event = event
        self.deadline_ms = deadline_ms
        self.arn = arn
        self.done = threading.Event()
        self.ok = None
        self.payload = None


class Instance:
    """One execution environment: a process of the function's binary and its Runtime API."""

    def __init__(self, pool, number):
        self.pool = pool
        self.number = number
        self.events = queue.Queue()
        self.current = None
        # Internal extensions: id -> queue of events; the ones still working on the current
        # invocation (they have not asked for their next event since it was handed to them).
        self.extensions = {}
        self.extensions_busy = set()
        self.extensions_idle = threading.Condition()
        self.started = time.monotonic()
        self.ready_at = None           # first `next`: init done
        self.first_answer_at = None    # first invocation answered: cold start as the caller sees it
        self.init_error = None
        self.server = serve_in_background(self._handler())
        port = self.server.server_address[1]
        fn = pool.function
        env = {
            "PATH": "/usr/bin:/bin",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{number}",
            "AWS_REGION": pool.region,
            "AWS_DEFAULT_REGION": pool.region,
            "_HANDLER": "bootstrap",
            "LAMBDA_TASK_ROOT": os.path.dirname(pool.binary),
            # The role's credentials: the key id names the function, so the IAM proxy knows who calls.
            "AWS_ACCESS_KEY_ID": fn.logical_id,
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": f"session-{fn.logical_id}",
            "AWS_ENDPOINT_URL": pool.aws_endpoint,
        }
        env.update(fn.env)
        env.update(pool.overrides)
        self.process = subprocess.Popen([pool.binary], env=env, stdin=subprocess.DEVNULL,
                                        stdout=pool.log, stderr=subprocess.STDOUT)

    def _handler(self):
        instance = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self):
                if self.path == f"{EXT_PREFIX}/event/next":
                    return self._extension_next()
                if self.path != f"{PREFIX}/invocation/next":
                    return self._answer(404)
                if instance.ready_at is None:
                    instance.ready_at = time.monotonic()
                invocation = instance.events.get()
                if invocation is None:  # shutting down
                    return self._answer(410)
                instance.current = invocation
                instance.dispatch_to_extensions(invocation)
                body = json.dumps(invocation.event).encode()
                self._answer(200, body, {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": invocation.id,
                    "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": invocation.arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
                })

            def _extension_next(self):
                ext = self.headers.get("Lambda-Extension-Identifier", "")
                events = instance.extensions.get(ext)
                if events is None:
                    return self._answer(403, b'{"errorMessage":"unknown extension id"}')
                instance.extension_ready(ext)
                event = events.get()
                if event is None:  # shutting down
                    return self._answer(410)
                self._answer(200, json.dumps(event).encode(), {
                    "Content-Type": "application/json",
                    "Lambda-Extension-Event-Identifier": str(uuid.uuid4()),
                })

            def do_POST(self):
                body = self._body()
                if self.path == f"{EXT_PREFIX}/register":
                    if instance.ready_at is not None:  # after init: Lambda refuses it
                        return self._answer(403, b'{"errorMessage":"registration after init"}')
                    ext = str(uuid.uuid4())
                    instance.extensions[ext] = queue.Queue()
                    return self._answer(200, json.dumps({
                        "functionName": instance.pool.function.name,
                        "functionVersion": "$LATEST",
                        "handler": "bootstrap",
                    }).encode(), {"Content-Type": "application/json", "Lambda-Extension-Identifier": ext})
                if self.path.startswith(EXT_PREFIX):
                    # init/error and exit/error: the extension gives up; the process exits after.
                    return self._answer(202, b'{"status":"OK"}')
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if parts == ["init", "error"]:
                    instance.init_error = body.decode(errors="replace")
                    return self._answer(202, b'{"status":"OK"}')
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    invocation = instance.current
                    if invocation is None or invocation.id != parts[1]:
                        return self._answer(400, b'{"errorMessage":"unknown request id"}')
                    invocation.ok = parts[2] == "response"
                    invocation.payload = body
                    instance.current = None
                    invocation.done.set()
                    return self._answer(202, b'{"status":"OK"}')
                return self._answer(404)

        return Handler

    def dispatch_to_extensions(self, invocation):
        """The INVOKE event, to every registered extension, as the runtime takes the invocation."""
        event = {
            "eventType": "INVOKE",
            "deadlineMs": invocation.deadline_ms,
            "requestId": invocation.id,
            "invokedFunctionArn": invocation.arn,
            "tracing": {"type": "X-Amzn-Trace-Id",
                        "value": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"},
        }
        with self.extensions_idle:
            for ext, events in self.extensions.items():
                self.extensions_busy.add(ext)
                events.put(event)

    def extension_ready(self, ext):
        with self.extensions_idle:
            self.extensions_busy.discard(ext)
            self.extensions_idle.notify_all()

    def wait_for_extensions(self, until):
        """True once every extension is done with the invocation (asked for its next event)."""
        with self.extensions_idle:
            while self.extensions_busy:
                left = until - time.monotonic()
                if left <= 0 or not self.alive():
                    return False
                self.extensions_idle.wait(min(left, 0.05))
            return True

    def alive(self):
        return self.process.poll() is None

    def run(self, invocation, timeout):
        """Hands the invocation to the process and waits for its answer, its death or the deadline."""
        self.events.put(invocation)
        limit = time.monotonic() + timeout
        while not invocation.done.wait(0.05):
            if not self.alive():
                detail = self.init_error or f"exit status {self.process.returncode}"
                kind = "Runtime.ExitError" if self.ready_at else "Runtime.InitError"
                raise InvocationError(kind, f"the function's process exited: {detail}")
            if time.monotonic() > limit:
                self.stop()
                raise InvocationError("Sandbox.Timedout",
                                      f"Task timed out after {timeout:.2f} seconds")
        if self.first_answer_at is None:
            self.first_answer_at = time.monotonic()
        return invocation

    def stop(self):
        if self.alive():
            self.process.kill()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.events.put(None)
        for events in list(self.extensions.values()):
            events.put(None)
        self.server.shutdown()
        self.server.server_close()


class FunctionPool:
    """The instances of one function; `invoke` is Lambda's synchronous Invoke."""

    def __init__(self, function, binary, region, aws_endpoint, overrides, log, max_instances):
        self.function = function
        self.binary = binary
        self.region = region
        self.aws_endpoint = aws_endpoint
        self.overrides = overrides
        self.log = log
        self.max_instances = min(max_instances, function.reserved_concurrency or max_instances)
        self.idle = []
        self.count = 0
        self.lock = threading.Condition()
        self.arn = f"arn:aws:lambda:{region}:000000000000:function:{function.name}"
        self.cold_starts = []   # seconds from process start to first answer
        self.inits = []         # seconds from process start to its first `next`
        self.durations = []     # seconds per invocation (warm and cold)
        self.warm = []          # seconds per invocation of an instance that had answered before
        self.stopped = False
        self.instances = set()

    def _acquire(self):
        with self.lock:
            while True:
                if self.stopped:
                    raise InvocationError("Local.Stopped", "the topology is stopping")
                while self.idle:
                    instance = self.idle.pop()
                    if instance.alive():
                        return instance
                    self.count -= 1
                if self.count < self.max_instances:
                    self.count += 1
                    number = self.count
                    break
                self.lock.wait(1)
        try:
            instance = Instance(self, number)
            with self.lock:
                self.instances.add(instance)
            return instance
        except Exception:
            with self.lock:
                self.count -= 1
                self.lock.notify()
            raise

    def _release_after_extensions(self, instance, until):
        if instance.wait_for_extensions(until):
            self._release(instance, True)
        else:
            instance.stop()
            self._release(instance, False)

    def _release(self, instance, healthy):
        with self.lock:
            if healthy and instance.alive() and not self.stopped:
                self.idle.append(instance)
            else:
                self.count -= 1
                self.instances.discard(instance)
            self.lock.notify()

    def invoke(self, event):
        """The function's answer (parsed JSON) or InvocationError."""
        instance = self._acquire()
        timeout = self.function.timeout
        deadline_ms = int((time.time() + timeout) * 1000)
        invocation = _Invocation(event, deadline_ms, self.arn)
        started = time.monotonic()
        cold = instance.first_answer_at is None
        try:
            instance.run(invocation, timeout)
        except InvocationError:
            instance.stop()
            self._release(instance, False)
            raise
        # The caller has its answer now; the instance takes the next invocation once its
        # extensions are done with this one (within the function's timeout, as Lambda counts it).
        until = started + timeout
        if instance.extensions:
            threading.Thread(target=self._release_after_extensions, args=(instance, until), daemon=True).start()
        else:
            self._release(instance, True)
        self.durations.append(time.monotonic() - started)
        if not cold:
            self.warm.append(time.monotonic() - started)
        if cold and instance.first_answer_at is not None:
            self.cold_starts.append(instance.first_answer_at - instance.started)
            if instance.ready_at:
                self.inits.append(instance.ready_at - instance.started)
        try:
            payload = json.loads(invocation.payload or b"null")
        except ValueError:
            payload = invocation.payload.decode(errors="replace")
        if not invocation.ok:
            if not isinstance(payload, dict):
                payload = {"errorType": "Unhandled", "errorMessage": str(payload)}
            raise InvocationError(payload.get("errorType", "Unhandled"),
                                  payload.get("errorMessage", ""), payload)
        return payload

    def kill_busy(self, wait_s):
        """kill -9 of an instance while it handles an invocation (the first busy one within
        `wait_s`): its invocation fails as a crash does. True if one was killed."""
        until = time.monotonic() + wait_s
        while time.monotonic() < until and not self.stopped:
            with self.lock:
                busy = [i for i in self.instances if i.current is not None and i.alive()]
            if busy:
                busy[0].process.kill()
                return True
            time.sleep(0.01)
        return False

    def stop(self):
        with self.lock:
            self.stopped = True
            instances, self.idle = list(self.instances), []
            self.lock.notify_all()
        for instance in instances:
            instance.stop()
