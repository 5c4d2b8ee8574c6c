"""The API Gateway and CloudFront fronts read the template: a route, a binary media type, a gateway
response or the CDN's path function taken out of a copy of template.yaml changes what they answer.
Offline: the template is read with synthesized resource names, and functions are stand-ins that
answer as the real ones do (the suites run the real binaries)."""

import base64
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import apigw  # noqa: E402
import template  # noqa: E402
from runtime import InvocationError  # noqa: E402

CWT = bytes([0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xff, 0x00])


def topology(edit=None, parameters=None):
    source = (template.ROOT / "template.yaml").read_text()
    if edit:
        source = edit(source)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(source)
    return template.read(f.name, "t", "eu-west-2", {"Stage": "test", **(parameters or {})},
                         "http://127.0.0.1:1", facts=({}, {}))


def answer_like_functions(lid, event):
    """Stand-ins with the real functions' answer shapes: a CWT as base64, JSON otherwise."""
    if lid == "AuthorizerFunction":
        if event["headers"].get("Authorization") != "Bearer good":
            raise InvocationError("Unhandled", "Unauthorized")
        return {"principalId": "t1", "policyDocument": {"Version": "2012-10-17", "Statement": [{
            "Action": "execute-api:Invoke", "Effect": "Allow",
            "Resource": event["methodArn"].split("/", 2)[0] + "/test/*"}]},
            "context": {"tenantId": "t1", "role": "admin"}}
    if lid == "TokenFunction":
        return {"statusCode": 200, "headers": {"content-type": "application/statuslist+cwt"},
                "body": base64.b64encode(CWT).decode(), "isBase64Encoded": True}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"function": lid, "authorizer": event["requestContext"].get("authorizer")}),
            "isBase64Encoded": False}


def call(api, method, path, headers=None, body=b""):
    status, out, data = api.handle(method, path, list((headers or {}).items()), body, "127.0.0.1")
    return status, dict(out), data


class ReservedConcurrencyComesFromTheTemplate(unittest.TestCase):
    def test_the_pipeline_and_revoke_reserve_theirs_and_0_reserves_none(self):
        functions = topology().functions
        self.assertEqual(functions["ResignerFunction"].reserved_concurrency, 1)
        self.assertEqual(functions["RevokeFunction"].reserved_concurrency, 20)
        self.assertEqual(functions["ForwarderFunction"].reserved_concurrency, 4)
        self.assertEqual(functions["PublisherFunction"].reserved_concurrency, 10)
        self.assertIsNone(functions["IssueFunction"].reserved_concurrency)
        functions = topology(parameters={"PublisherReservedConcurrency": "0", "RevokeReservedConcurrency": "3"}).functions
        self.assertIsNone(functions["PublisherFunction"].reserved_concurrency)
        self.assertEqual(functions["RevokeFunction"].reserved_concurrency, 3)


class FrontReadsTheTemplate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.api = apigw.Api(topology(), answer_like_functions)

    def test_routes_come_from_the_template(self):
        status, _, data = call(self.api, "POST", "/issue")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["function"], "IssueFunction")
        status, _, data = call(self.api, "GET", "/t/ABCDEF123456")
        self.assertEqual(status, 200)
        # A route taken out of the template: the catch-all function answers instead.
        without = apigw.Api(topology(lambda s: s.replace("Path: /issue\n", "Path: /issue-gone\n")),
                            answer_like_functions)
        status, _, data = call(without, "POST", "/issue")
        self.assertEqual(json.loads(data)["function"], "NotFoundFunction")

    def test_unknown_paths_go_to_the_catch_all_function(self):
        for path in ["/nope", "/v2/credentials/mobile/nope/x/y", "/"]:
            status, _, data = call(self.api, "GET", path)
            self.assertEqual(json.loads(data)["function"], "NotFoundFunction", path)

    def test_binary_media_types_come_from_the_template(self):
        accept = {"Accept": "application/statuslist+cwt"}
        status, _, data = call(self.api, "GET", "/t/ABCDEF123456", accept)
        self.assertEqual(data, CWT)
        without = apigw.Api(topology(lambda s: s.replace('        - "*~1*"\n', "")),
                            answer_like_functions)
        status, _, data = call(without, "GET", "/t/ABCDEF123456", accept)
        self.assertEqual(data, base64.b64encode(CWT), "without the binary media type: base64 text")

    def test_gateway_responses_come_from_the_template(self):
        status, _, data = call(self.api, "PUT", "/issue")   # a route without that method
        body = json.loads(data)
        self.assertEqual(status, 405)
        self.assertEqual((body["error"], body["code"]), ("METHOD_NOT_ALLOWED", "MethodNotAllowed"))

        def drop(s):
            start = s.index("        MISSING_AUTHENTICATION_TOKEN:\n")
            end = s.index("        THROTTLED:\n")
            return s[:start] + s[end:]
        without = apigw.Api(topology(drop), answer_like_functions)
        status, _, data = call(without, "PUT", "/issue")
        # Falls back to DEFAULT_4XX, with API Gateway's own status and message.
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(data)["error_description"], "Missing Authentication Token")

    def test_the_authorizer_guards_the_management_routes_and_passes_its_context(self):
        path = "/v2/credentials/mobile/status-lists/configurations"
        status, _, data = call(self.api, "GET", path)
        self.assertEqual((status, json.loads(data)["code"]), (401, "Unauthorized"))
        status, _, data = call(self.api, "GET", path, {"Authorization": "Bearer bad"})
        self.assertEqual(status, 401)
        status, _, data = call(self.api, "GET", path, {"Authorization": "Bearer good"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["authorizer"]["tenantId"], "t1")
        # Public mDoc routes have no authorizer.
        status, _, _ = call(self.api, "GET", "/v2/credentials/mobile/status-lists/distribution")
        self.assertEqual(status, 200)

    def test_authorizer_answers_are_cached_for_the_templates_ttl(self):
        calls = []

        def counting(lid, event):
            if lid == "AuthorizerFunction":
                calls.append(event["methodArn"])
            return answer_like_functions(lid, event)

        api = apigw.Api(topology(), counting)
        good = {"Authorization": "Bearer good"}
        # One authorizer call for two routes: the cached policy covers the stage (/test/*).
        self.assertEqual(call(api, "GET", "/v2/credentials/mobile/status-lists/configurations", good)[0], 200)
        self.assertEqual(call(api, "GET", "/v2/credentials/mobile/status-lists", good)[0], 200)
        self.assertEqual(len(calls), 1)
        # Without caching (ReauthorizeEvery: 0), every request asks the authorizer.
        calls.clear()
        uncached = apigw.Api(topology(lambda s: s.replace("ReauthorizeEvery: 60", "ReauthorizeEvery: 0")), counting)
        for _ in range(2):
            call(uncached, "GET", "/v2/credentials/mobile/status-lists", good)
        self.assertEqual(len(calls), 2)

    def test_the_stage_throttle_comes_from_the_template(self):
        tight = apigw.Api(topology(lambda s: s.replace("ThrottlingBurstLimit: 500", "ThrottlingBurstLimit: 2")
                                   .replace("ThrottlingRateLimit: 1000", "ThrottlingRateLimit: 1")),
                          answer_like_functions)
        statuses = [call(tight, "POST", "/issue")[0] for _ in range(5)]
        self.assertEqual(statuses[:2], [200, 200])
        self.assertIn(429, statuses[2:])
        status, _, data = call(tight, "POST", "/issue")
        self.assertEqual(json.loads(data)["error"], "TOO_MANY_REQUESTS")


class CdnReadsTheTemplate(unittest.TestCase):
    def test_the_path_function_and_cache_policy_come_from_the_template(self):
        import cdn

        class Objects:
            class exceptions:
                class NoSuchKey(Exception):
                    pass

            def __init__(self):
                self.keys = []

            def get_object(self, Bucket, Key):
                self.keys.append(Key)
                raise self.exceptions.NoSuchKey()

        objects = Objects()
        front = cdn.Cdn(topology(), objects)
        try:
            lid = "0b0c8a36-2f3c-4c61-9d1e-3f3a1b2c4d5e"
            status, _, _ = front.handle("GET", f"/v2/credentials/mobile/status-lists/{lid}/token?x=1", [])
            self.assertEqual(status, 403)   # S3 behind an origin access control: missing is 403
            front.handle("GET", "/t/ABC?v=5", [("Accept", "application/statuslist+cwt")])
            self.assertEqual(objects.keys, [f"t/{lid}.cwt", "t/ABC"])   # query strings dropped
            # ?time= is refused at the edge (501), in each family's error body, and reaches no object.
            status, headers, body = front.handle("GET", "/t/ABC?time=5", [])
            self.assertEqual((status, json.loads(body)["error"]), (501, "NOT_IMPLEMENTED"))
            self.assertIn(("cache-control", "no-store"), headers)
            status, _, body = front.handle("GET", f"/v2/credentials/mobile/status-lists/{lid}/token?time=5", [])
            self.assertEqual((status, json.loads(body)["code"]), (501, "NotImplemented"))
            self.assertEqual(len(objects.keys), 2)
            self.assertEqual(front.handle("POST", "/t/ABC", [])[0], 403)
        finally:
            front.stop()


if __name__ == "__main__":
    unittest.main()
