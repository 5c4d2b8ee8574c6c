"""An API Gateway REST API front built from the template's API definition (the swagger the SAM
transform generates): its resources and methods, Lambda proxy integrations (payload 1.0), the
REQUEST authorizer with its cache, binary media types, gateway responses and the stage's
throttling. The API is served at the root of its port, as behind a custom domain's base path
mapping; the stage name still appears in `requestContext`.
"""

import base64
import json
import re
import threading
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

from runtime import InvocationError
from serving import Handler, serve_in_background

ACCOUNT = "000000000000"
PAYLOAD_LIMIT = 10 * 1024 * 1024   # API Gateway's request payload limit
INTEGRATION_TIMEOUT = 29.0         # seconds: API Gateway's default integration timeout

# Gateway response types: default status and message (without a template: {"message": ...}).
GATEWAY_DEFAULTS = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "AUTHORIZER_FAILURE": (500, None),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None),
    "THROTTLED": (429, "Too Many Requests"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "INTEGRATION_FAILURE": (502, "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "BAD_REQUEST_PARAMETERS": (400, "Invalid request parameters"),
}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class Route:
    def __init__(self, path, methods):
        self.path = path
        self.methods = methods
        pattern, self.greedy, self.literals = "", False, 0
        for segment in path.strip("/").split("/") if path != "/" else []:
            m = re.fullmatch(r"\{(\w+)(\+?)\}", segment)
            if m and m.group(2):
                pattern += f"/(?P<{m.group(1)}>.+)"
                self.greedy = True
            elif m:
                pattern += f"/(?P<{m.group(1)}>[^/]+)"
            else:
                pattern += "/" + re.escape(segment)
                self.literals += 1
        self.regex = re.compile("^" + (pattern or "/") + "$")

    def method(self, method):
        return self.methods.get(method.lower()) or self.methods.get("x-amazon-apigateway-any-method")


class Api:
    """What the template says about the API, and how a request is answered."""

    def __init__(self, topo, invoke, api_id="local"):
        self.swagger = topo.swagger
        self.stage = topo.stage_settings.get("StageName", topo.stage)
        self.region = topo.region
        self.invoke = invoke       # invoke(function logical id, event) -> payload | InvocationError
        self.api_id = api_id
        self.routes = [Route(p, m) for p, m in self.swagger.get("paths", {}).items()]
        # Most specific first: non-greedy before greedy, more literal segments first.
        self.routes.sort(key=lambda r: (r.greedy, -r.literals, -len(r.path)))
        self.binary_types = [t.replace("~1", "/") for t in self.swagger.get("x-amazon-apigateway-binary-media-types", [])]
        self.gateway_responses = self.swagger.get("x-amazon-apigateway-gateway-responses", {})
        self.authorizers = {
            name: scheme["x-amazon-apigateway-authorizer"]
            for name, scheme in self.swagger.get("securityDefinitions", {}).items()
            if "x-amazon-apigateway-authorizer" in scheme
        }
        self.auth_cache = {}
        self.auth_lock = threading.Lock()
        rate, burst = None, None
        for s in topo.stage_settings.get("MethodSettings", []):
            if s.get("ResourcePath") == "/*" and s.get("HttpMethod") == "*":
                rate, burst = s.get("ThrottlingRateLimit"), s.get("ThrottlingBurstLimit")
        self.bucket = TokenBucket(rate, burst) if rate is not None else None

    # ------------------------------------------------------------------ gateway responses
    def gateway_response(self, kind, request_id, message=None):
        status, default_message = GATEWAY_DEFAULTS.get(kind, (500, "Internal server error"))
        message = message if message is not None else default_message
        config = self.gateway_responses.get(kind)
        if config is None:
            config = self.gateway_responses.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX")
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id,
                   "x-amzn-ErrorType": _error_type(kind)}
        if config is None:
            body = json.dumps({"message": message}).encode()
            return status, headers, body
        status = int(config.get("statusCode", status))
        for name, value in config.get("responseParameters", {}).items():
            if name.startswith("gatewayresponse.header."):
                headers[name[len("gatewayresponse.header."):]] = value.strip("'")
        templates = config.get("responseTemplates", {})
        template = templates.get("application/json", next(iter(templates.values()), None))
        if template is None:
            body = json.dumps({"message": message}).encode()
        else:
            # Simple variable substitution only: gateway response templates are not VTL.
            values = {
                "$context.error.messageString": json.dumps(message),
                "$context.error.message": message or "",
                "$context.error.responseType": kind,
                "$context.requestId": request_id,
                "$context.stage": self.stage,
            }
            body = template
            for name in sorted(values, key=len, reverse=True):
                body = body.replace(name, values[name])
            body = body.encode()
        return status, headers, body

    # ------------------------------------------------------------------ requests
    def handle(self, method, raw_path, headers, body, source_ip):
        """(status, headers, body) for one request."""
        request_id = str(uuid.uuid4())
        if self.bucket and not self.bucket.take():
            return self.gateway_response("THROTTLED", request_id)
        if len(body) > PAYLOAD_LIMIT:
            return self.gateway_response("REQUEST_TOO_LARGE", request_id)
        split = urlsplit(raw_path)
        path = split.path or "/"
        route, params = None, None
        for r in self.routes:
            m = r.regex.match(path)
            if m:
                route, params = r, m.groupdict()
                break
        spec = route.method(method) if route else None
        if spec is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id)
        integration = spec.get("x-amazon-apigateway-integration", {})
        resource_method = method.upper()
        method_arn = (f"arn:aws:execute-api:{self.region}:{ACCOUNT}:{self.api_id}/{self.stage}/"
                      f"{resource_method}{path}")
        query = parse_qsl(split.query, keep_blank_values=True)
        event = {
            "resource": route.path,
            "path": path,
            "httpMethod": resource_method,
            "headers": {k: v for k, v in headers} or None,
            "multiValueHeaders": _multi(headers) or None,
            "queryStringParameters": {k: v for k, v in query} or None,
            "multiValueQueryStringParameters": _multi(query) or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "local",
                "resourcePath": route.path,
                "httpMethod": resource_method,
                "extendedRequestId": request_id,
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
                "path": f"/{self.stage}{path}",
                "accountId": ACCOUNT,
                "protocol": "HTTP/1.1",
                "stage": self.stage,
                "domainPrefix": "local",
                "requestTimeEpoch": int(time.time() * 1000),
                "requestId": request_id,
                "identity": {"sourceIp": source_ip, "userAgent": _header(headers, "user-agent")},
                "domainName": _header(headers, "host") or "localhost",
                "apiId": self.api_id,
            },
            "body": None,
            "isBase64Encoded": False,
        }
        if body:
            if self._binary(_header(headers, "content-type")):
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
            else:
                event["body"] = body.decode("utf-8", errors="replace")
        for security in spec.get("security", []):
            for name in security:
                if name in self.authorizers:
                    refused = self._authorize(self.authorizers[name], event, headers, method_arn, request_id)
                    if refused:
                        return refused
        started = time.monotonic()
        try:
            answer = self.invoke(integration["x-local-function"], event)
        except InvocationError as e:
            if e.error_type == "Sandbox.Timedout" and time.monotonic() - started >= INTEGRATION_TIMEOUT:
                return self.gateway_response("INTEGRATION_TIMEOUT", request_id)
            return self.gateway_response("INTEGRATION_FAILURE", request_id)
        return self._response(answer, headers, request_id)

    def _authorize(self, authorizer, event, headers, method_arn, request_id):
        sources = [s.strip() for s in authorizer.get("identitySource", "").split(",") if s.strip()]
        identity = []
        for source in sources:
            if source.startswith("method.request.header."):
                identity.append(_header(headers, source[len("method.request.header."):]))
            elif source.startswith("method.request.querystring."):
                q = event["queryStringParameters"] or {}
                identity.append(q.get(source[len("method.request.querystring."):]))
        if sources and any(not v for v in identity):
            # No identity source: API Gateway refuses without calling the authorizer.
            return self.gateway_response("UNAUTHORIZED", request_id)
        ttl = int(authorizer.get("authorizerResultTtlInSeconds", 300))
        key = (authorizer["x-local-function"], tuple(identity))
        now = time.monotonic()
        with self.auth_lock:
            cached = self.auth_cache.get(key) if ttl > 0 else None
            if cached and cached[0] < now:
                cached = None
        if cached:
            answer = cached[1]
        else:
            auth_event = {
                "type": "REQUEST",
                "methodArn": method_arn,
                "resource": event["resource"],
                "path": event["path"],
                "httpMethod": event["httpMethod"],
                "headers": event["headers"],
                "multiValueHeaders": event["multiValueHeaders"],
                "queryStringParameters": event["queryStringParameters"],
                "multiValueQueryStringParameters": event["multiValueQueryStringParameters"],
                "pathParameters": event["pathParameters"],
                "stageVariables": None,
                "requestContext": event["requestContext"],
            }
            try:
                answer = self.invoke(authorizer["x-local-function"], auth_event)
            except InvocationError as e:
                if e.message == "Unauthorized":
                    return self.gateway_response("UNAUTHORIZED", request_id)
                return self.gateway_response("AUTHORIZER_FAILURE", request_id)
            if not isinstance(answer, dict) or "policyDocument" not in answer or "principalId" not in answer:
                return self.gateway_response("AUTHORIZER_CONFIGURATION_ERROR", request_id)
            if ttl > 0:
                with self.auth_lock:
                    self.auth_cache[key] = (now + ttl, answer)
        if not _policy_allows(answer["policyDocument"], method_arn):
            return self.gateway_response("ACCESS_DENIED", request_id)
        context = {"principalId": answer["principalId"]}
        for k, v in (answer.get("context") or {}).items():
            context[k] = v
        event["requestContext"]["authorizer"] = context
        return None

    def _binary(self, media_type):
        media_type = (media_type or "").split(";")[0].strip().lower()
        if not media_type:
            return False
        for t in self.binary_types:
            t = t.lower()
            if t == media_type or t == "*/*" or (t.endswith("/*") and media_type.startswith(t[:-1])):
                return True
        return False

    def _response(self, answer, request_headers, request_id):
        if not isinstance(answer, dict) or not isinstance(answer.get("statusCode"), int):
            # A Lambda proxy answer without a status: API Gateway's "Malformed Lambda proxy response".
            return self.gateway_response("INTEGRATION_FAILURE", request_id)
        headers = {"x-amzn-RequestId": request_id}
        multi = []
        for k, v in (answer.get("headers") or {}).items():
            headers[k] = str(v)
        for k, values in (answer.get("multiValueHeaders") or {}).items():
            headers.pop(k, None)
            multi += [(k, str(v)) for v in values]
        body = answer.get("body") or ""
        if answer.get("isBase64Encoded"):
            # Bytes only when the client's first accepted type is a binary media type; otherwise
            # the client gets the base64 text, as API Gateway sends it.
            accept = (_header(request_headers, "accept") or "").split(",")[0]
            data = base64.b64decode(body) if self._binary(accept) else body.encode()
        else:
            data = body.encode()
        out = list(headers.items()) + multi
        return int(answer["statusCode"]), out, data


def _error_type(kind):
    return {"MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
            "UNAUTHORIZED": "UnauthorizedException", "ACCESS_DENIED": "AccessDeniedException",
            "THROTTLED": "TooManyRequestsException"}.get(kind, "InternalServerErrorException")


def _header(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


def _multi(pairs):
    out = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def _arn_matches(pattern, arn):
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), arn) is not None


def _policy_allows(document, method_arn):
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    allowed = False
    for s in statements:
        actions = s.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        resources = s.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if not any(a in ("execute-api:Invoke", "execute-api:*", "*") for a in actions):
            continue
        if any(_arn_matches(r, method_arn) for r in resources):
            if s.get("Effect") == "Deny":
                return False
            allowed = allowed or s.get("Effect") == "Allow"
    return allowed


class TokenBucket:
    """The stage's throttle: `rate` requests per second on average, bursts up to `burst`."""

    def __init__(self, rate, burst):
        self.rate = float(rate)
        self.capacity = float(burst if burst is not None else rate)
        self.tokens = self.capacity
        self.at = time.monotonic()
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def serve(api, host="127.0.0.1", port=0):
    class Front(Handler):
        def any_method(self):
            status, headers, data = api.handle(self.command, self.path, list(self.headers.items()),
                                               self.body(), self.client_address[0])
            self.reply(status, headers.items() if isinstance(headers, dict) else headers, data)

    return serve_in_background(Front, host, port)
