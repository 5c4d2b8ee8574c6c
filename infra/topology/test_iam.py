"""Tests of iam.py: policy evaluation, request mapping, AWS's denied answers, and the proxy end to end
against a fake upstream (no LocalStack needed).

Run: python -m unittest discover -s infra/topology -p 'test_*.py'
"""

import http.client
import http.server
import json
import socket
import sys
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import iam  # noqa: E402
from iam import IamProxy, Policy, access_denied, requested  # noqa: E402

REGION, ACCOUNT = "eu-west-2", "000000000000"


def auth(key: str, service: str, region: str = REGION) -> str:
    return (f"AWS4-HMAC-SHA256 Credential={key}/20250101/{region}/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00")


def json_call(service: str, target: str, doc: dict, key: str = "F") -> dict:
    """What requested() is given for an SDK call of a JSON protocol."""
    return dict(method="POST", path="/", query="",
                headers={"Host": "127.0.0.1:4566", "X-Amz-Target": target,
                         "Content-Type": "application/x-amz-json-1.0", "Authorization": auth(key, service)},
                body=json.dumps(doc).encode(), region=REGION, account=ACCOUNT)


def s3_call(method: str, path: str, query: str = "", body: bytes = b"", headers=None) -> dict:
    h = {"Host": "127.0.0.1:4566", "Authorization": auth("F", "s3"), **(headers or {})}
    return dict(method=method, path=path, query=query, headers=h, body=body, region=REGION, account=ACCOUNT)


TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"
KMS = f"arn:aws:kms:{REGION}:{ACCOUNT}"
QUEUE_URL = f"http://sqs.{REGION}.localhost.localstack.cloud:4566/{ACCOUNT}/statuslist-local-publish.fifo"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:statuslist-local-publish.fifo"


class PolicyTest(unittest.TestCase):
    def test_wildcards_in_actions_are_case_insensitive(self):
        policy = Policy([{"Effect": "Allow", "Action": ["dynamodb:Get*", "S3:?utObject"], "Resource": "*"}])
        self.assertEqual(policy.decide("dynamodb:GetItem", f"{TABLE}/T"), "allow")
        self.assertEqual(policy.decide("DynamoDB:getitem", f"{TABLE}/T"), "allow")
        self.assertEqual(policy.decide("s3:PutObject", "arn:aws:s3:::b/k"), "allow")
        self.assertEqual(policy.decide("s3:PPutObject", "arn:aws:s3:::b/k"), "implicit-deny")
        self.assertEqual(policy.decide("dynamodb:PutItem", f"{TABLE}/T"), "implicit-deny")

    def test_resources_are_case_sensitive_and_star_crosses_slashes(self):
        policy = Policy([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/t/*"}])
        self.assertEqual(policy.decide("s3:GetObject", "arn:aws:s3:::bucket/t/a/b/c"), "allow")
        self.assertEqual(policy.decide("s3:GetObject", "arn:aws:s3:::bucket/T/a"), "implicit-deny")
        self.assertEqual(policy.decide("s3:GetObject", "arn:aws:s3:::Bucket/t/a"), "implicit-deny")
        self.assertEqual(policy.decide("s3:GetObject", "arn:aws:s3:::bucket/t"), "implicit-deny")

    def test_question_mark_is_one_character_and_brackets_are_literal(self):
        policy = Policy([{"Effect": "Allow", "Action": "kms:Sign", "Resource": ["arn:aws:kms:*:*:key/k?", "x[ab]"]}])
        self.assertEqual(policy.decide("kms:Sign", f"{KMS}:key/k1"), "allow")
        self.assertEqual(policy.decide("kms:Sign", f"{KMS}:key/k12"), "implicit-deny")
        self.assertEqual(policy.decide("kms:Sign", "x[ab]"), "allow")
        self.assertEqual(policy.decide("kms:Sign", "xa"), "implicit-deny")

    def test_explicit_deny_wins_over_allow(self):
        policy = Policy([
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"},
        ])
        self.assertEqual(policy.decide("s3:DeleteObject", "arn:aws:s3:::b/k"), "explicit-deny")
        self.assertEqual(policy.decide("s3:DeleteObject", "arn:aws:s3:::other/k"), "allow")
        self.assertEqual(policy.decide("s3:GetObject", "arn:aws:s3:::b/k"), "allow")

    def test_request_on_star_matches_only_a_star_resource(self):
        # ListTables is authorized on "*": a grant on every table does not cover it.
        tables = Policy([{"Effect": "Allow", "Action": "dynamodb:*", "Resource": f"{TABLE}/*"}])
        self.assertEqual(tables.decide("dynamodb:ListTables", "*"), "implicit-deny")
        self.assertEqual(Policy([{"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}])
                         .decide("dynamodb:ListTables", "*"), "allow")

    def test_not_action_and_not_resource(self):
        policy = Policy([
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::mine", "arn:aws:s3:::mine/*"]},
        ])
        self.assertEqual(policy.decide("iam:CreateUser", "*"), "implicit-deny")
        self.assertEqual(policy.decide("sqs:SendMessage", QUEUE), "allow")
        self.assertEqual(policy.decide("s3:GetObject", "arn:aws:s3:::mine/k"), "allow")
        self.assertEqual(policy.decide("s3:GetObject", "arn:aws:s3:::theirs/k"), "explicit-deny")

    def test_conditions_are_ignored(self):
        policy = Policy([{"Effect": "Allow", "Action": "kms:Sign", "Resource": "*",
                          "Condition": {"StringEquals": {"kms:SigningAlgorithm": "RSASSA_PSS_SHA_256"}}}])
        self.assertEqual(policy.decide("kms:Sign", f"{KMS}:key/k"), "allow")

    def test_no_statements_deny_implicitly(self):
        self.assertEqual(Policy([]).decide("s3:GetObject", "arn:aws:s3:::b/k"), "implicit-deny")
        self.assertEqual(Policy([{"Effect": "Allow", "Action": "*"}]).decide("s3:GetObject", "*"), "implicit-deny")


class DynamoDbRequestTest(unittest.TestCase):
    def test_item_operations_name_the_table(self):
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.GetItem",
                                               {"TableName": "Clients", "Key": {"pk": {"S": "a"}}})),
                         [("dynamodb:GetItem", f"{TABLE}/Clients")])
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.DescribeTable", {"TableName": "Lists"})),
                         [("dynamodb:DescribeTable", f"{TABLE}/Lists")])

    def test_table_name_may_be_an_arn(self):
        other = f"arn:aws:dynamodb:us-east-1:111111111111:table/X"
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.PutItem", {"TableName": other})),
                         [("dynamodb:PutItem", other)])

    def test_query_and_scan_on_an_index(self):
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.Query",
                                               {"TableName": "Statuses", "IndexName": "byList"})),
                         [("dynamodb:Query", f"{TABLE}/Statuses/index/byList")])
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.Scan", {"TableName": "Lists"})),
                         [("dynamodb:Scan", f"{TABLE}/Lists")])

    def test_transact_write_items_checks_each_item(self):
        doc = {"TransactItems": [
            {"Put": {"TableName": "Entries", "Item": {}}},
            {"Update": {"TableName": "Lists", "Key": {}, "UpdateExpression": "SET a = :a"}},
            {"Delete": {"TableName": "Idempotency", "Key": {}}},
            {"ConditionCheck": {"TableName": "Clients", "Key": {}, "ConditionExpression": "attribute_exists(pk)"}},
            {"Put": {"TableName": "Entries", "Item": {}}},
        ]}
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.TransactWriteItems", doc)), [
            ("dynamodb:PutItem", f"{TABLE}/Entries"),
            ("dynamodb:UpdateItem", f"{TABLE}/Lists"),
            ("dynamodb:DeleteItem", f"{TABLE}/Idempotency"),
            ("dynamodb:ConditionCheckItem", f"{TABLE}/Clients"),
        ])

    def test_transact_get_items(self):
        doc = {"TransactItems": [{"Get": {"TableName": "A", "Key": {}}}, {"Get": {"TableName": "B", "Key": {}}}]}
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.TransactGetItems", doc)),
                         [("dynamodb:GetItem", f"{TABLE}/A"), ("dynamodb:GetItem", f"{TABLE}/B")])

    def test_batch_operations_check_every_table(self):
        get = {"RequestItems": {"A": {"Keys": []}, "B": {"Keys": []}}}
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.BatchGetItem", get)),
                         [("dynamodb:BatchGetItem", f"{TABLE}/A"), ("dynamodb:BatchGetItem", f"{TABLE}/B")])
        write = {"RequestItems": {"Entries": [{"PutRequest": {"Item": {}}}]}}
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.BatchWriteItem", write)),
                         [("dynamodb:BatchWriteItem", f"{TABLE}/Entries")])

    def test_operations_without_a_table_are_on_star(self):
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.ListTables", {})),
                         [("dynamodb:ListTables", "*")])

    def test_partiql(self):
        doc = {"Statement": 'SELECT * FROM "Statuses"."byList" WHERE list = ?'}
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.ExecuteStatement", doc)),
                         [("dynamodb:PartiQLSelect", f"{TABLE}/Statuses/index/byList")])
        doc = {"TransactStatements": [{"Statement": "UPDATE Lists SET a = 1 WHERE pk = 'x'"},
                                      {"Statement": 'INSERT INTO "Entries" VALUE {}'}]}
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDB_20120810.ExecuteTransaction", doc)),
                         [("dynamodb:PartiQLUpdate", f"{TABLE}/Lists"), ("dynamodb:PartiQLInsert", f"{TABLE}/Entries")])

    def test_streams(self):
        stream = f"{TABLE}/Statuses/stream/2025-01-01T00:00:00.000"
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDBStreams_20120810.DescribeStream", {"StreamArn": stream})),
                         [("dynamodb:DescribeStream", stream)])
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDBStreams_20120810.GetShardIterator",
                                               {"StreamArn": stream, "ShardId": "s", "ShardIteratorType": "LATEST"})),
                         [("dynamodb:GetShardIterator", stream)])
        # The iterator is opaque: requested() alone says "*"; the proxy resolves it (see ProxyTest).
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDBStreams_20120810.GetRecords", {"ShardIterator": "x"})),
                         [("dynamodb:GetRecords", "*")])
        self.assertEqual(requested(**json_call("dynamodb", "DynamoDBStreams_20120810.ListStreams", {"TableName": "T"})),
                         [("dynamodb:ListStreams", "*")])


class KmsEventsSqsRequestTest(unittest.TestCase):
    def test_kms_key_forms(self):
        def key_of(key_id):
            return requested(**json_call("kms", "TrentService.Sign", {"KeyId": key_id, "Message": "bQ=="}))

        self.assertEqual(key_of("1234abcd-12ab"), [("kms:Sign", f"{KMS}:key/1234abcd-12ab")])
        self.assertEqual(key_of(f"{KMS}:key/k"), [("kms:Sign", f"{KMS}:key/k")])
        self.assertEqual(key_of("alias/signing"), [("kms:Sign", f"{KMS}:alias/signing")])
        self.assertEqual(key_of(f"{KMS}:alias/signing"), [("kms:Sign", f"{KMS}:alias/signing")])

    def test_kms_operations_without_and_with_two_keys(self):
        self.assertEqual(requested(**json_call("kms", "TrentService.ListKeys", {})), [("kms:ListKeys", "*")])
        self.assertEqual(requested(**json_call("kms", "TrentService.CreateAlias",
                                               {"AliasName": "alias/a", "TargetKeyId": "k"})),
                         [("kms:CreateAlias", f"{KMS}:alias/a"), ("kms:CreateAlias", f"{KMS}:key/k")])

    def test_put_events_per_bus(self):
        bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus"
        doc = {"Entries": [{"EventBusName": "analytics"}, {"EventBusName": f"{bus}/other"}, {}, {"EventBusName": "analytics"}]}
        self.assertEqual(requested(**json_call("events", "AWSEvents.PutEvents", doc)), [
            ("events:PutEvents", f"{bus}/analytics"), ("events:PutEvents", f"{bus}/other"),
            ("events:PutEvents", f"{bus}/default"),
        ])

    def test_sqs_json_protocol(self):
        def call(op, doc):
            return requested(**json_call("sqs", f"AmazonSQS.{op}", doc))

        self.assertEqual(call("SendMessage", {"QueueUrl": QUEUE_URL, "MessageBody": "m"}), [("sqs:SendMessage", QUEUE)])
        self.assertEqual(call("SendMessageBatch", {"QueueUrl": QUEUE_URL, "Entries": []}), [("sqs:SendMessage", QUEUE)])
        self.assertEqual(call("DeleteMessageBatch", {"QueueUrl": QUEUE_URL}), [("sqs:DeleteMessage", QUEUE)])
        self.assertEqual(call("ChangeMessageVisibilityBatch", {"QueueUrl": QUEUE_URL}),
                         [("sqs:ChangeMessageVisibility", QUEUE)])
        self.assertEqual(call("ReceiveMessage", {"QueueUrl": f"http://localhost:4566/queue/{REGION}/{ACCOUNT}/q"}),
                         [("sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")])
        self.assertEqual(call("GetQueueUrl", {"QueueName": "statuslist-local-publish.fifo"}), [("sqs:GetQueueUrl", QUEUE)])
        self.assertEqual(call("ListQueues", {}), [("sqs:ListQueues", "*")])

    def test_sqs_query_protocol(self):
        body = f"Action=SendMessage&Version=2012-11-05&QueueUrl={QUEUE_URL.replace(':', '%3A').replace('/', '%2F')}&MessageBody=m"
        call = dict(method="POST", path="/", query="", body=body.encode(), region=REGION, account=ACCOUNT,
                    headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                             "Authorization": auth("F", "sqs")})
        self.assertEqual(requested(**call), [("sqs:SendMessage", QUEUE)])
        # Posted to the queue URL itself, without a QueueUrl parameter.
        call.update(path=f"/{ACCOUNT}/q", body=b"Action=DeleteMessageBatch&ReceiptHandle=r")
        self.assertEqual(requested(**call), [("sqs:DeleteMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")])

    def test_unrecognised_requests(self):
        call = dict(method="POST", path="/2015-03-31/functions/f/invocations", query="", body=b"{}",
                    headers={"Authorization": auth("F", "lambda")}, region=REGION, account=ACCOUNT)
        self.assertEqual(requested(**call), [("lambda:Unknown", "*")])
        self.assertEqual(requested(**json_call("logs", "Logs_20140328.PutLogEvents", {})), [("logs:PutLogEvents", "*")])
        sts = dict(method="POST", path="/", query="", body=b"Action=GetCallerIdentity&Version=2011-06-15",
                   headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth("F", "sts")},
                   region=REGION, account=ACCOUNT)
        self.assertEqual(requested(**sts), [])  # needs no permission


class S3RequestTest(unittest.TestCase):
    def test_objects(self):
        self.assertEqual(requested(**s3_call("GET", "/tokens/t/abc", "x-id=GetObject")),
                         [("s3:GetObject", "arn:aws:s3:::tokens/t/abc")])
        self.assertEqual(requested(**s3_call("HEAD", "/tokens/t/abc")), [("s3:GetObject", "arn:aws:s3:::tokens/t/abc")])
        self.assertEqual(requested(**s3_call("GET", "/tokens/t/abc", "versionId=v1")),
                         [("s3:GetObjectVersion", "arn:aws:s3:::tokens/t/abc")])
        self.assertEqual(requested(**s3_call("PUT", "/tokens/t/a%20b%2Bc", "x-id=PutObject", b"data")),
                         [("s3:PutObject", "arn:aws:s3:::tokens/t/a b+c")])
        self.assertEqual(requested(**s3_call("DELETE", "/tokens/t/abc", "x-id=DeleteObject")),
                         [("s3:DeleteObject", "arn:aws:s3:::tokens/t/abc")])
        self.assertEqual(requested(**s3_call("DELETE", "/tokens/t/abc", "versionId=v1")),
                         [("s3:DeleteObjectVersion", "arn:aws:s3:::tokens/t/abc")])

    def test_copy_also_reads_the_source(self):
        self.assertEqual(requested(**s3_call("PUT", "/tokens/t/new", headers={"x-amz-copy-source": "/tokens/t/old%201?versionId=v"})),
                         [("s3:PutObject", "arn:aws:s3:::tokens/t/new"), ("s3:GetObjectVersion", "arn:aws:s3:::tokens/t/old 1")])
        self.assertEqual(requested(**s3_call("PUT", "/tokens/t/new", headers={"X-Amz-Copy-Source": "other/k"})),
                         [("s3:PutObject", "arn:aws:s3:::tokens/t/new"), ("s3:GetObject", "arn:aws:s3:::other/k")])

    def test_buckets(self):
        self.assertEqual(requested(**s3_call("GET", "/tokens", "list-type=2&prefix=t%2F")), [("s3:ListBucket", "arn:aws:s3:::tokens")])
        self.assertEqual(requested(**s3_call("GET", "/tokens/")), [("s3:ListBucket", "arn:aws:s3:::tokens")])
        self.assertEqual(requested(**s3_call("HEAD", "/tokens")), [("s3:ListBucket", "arn:aws:s3:::tokens")])
        self.assertEqual(requested(**s3_call("GET", "/tokens", "versions&prefix=t")), [("s3:ListBucketVersions", "arn:aws:s3:::tokens")])
        self.assertEqual(requested(**s3_call("GET", "/tokens", "versioning")), [("s3:GetBucketVersioning", "arn:aws:s3:::tokens")])
        self.assertEqual(requested(**s3_call("PUT", "/tokens", "versioning")), [("s3:PutBucketVersioning", "arn:aws:s3:::tokens")])
        self.assertEqual(requested(**s3_call("DELETE", "/tokens", "cors")), [("s3:PutBucketCORS", "arn:aws:s3:::tokens")])
        self.assertEqual(requested(**s3_call("PUT", "/tokens")), [("s3:CreateBucket", "arn:aws:s3:::tokens")])
        self.assertEqual(requested(**s3_call("GET", "/")), [("s3:ListAllMyBuckets", "*")])

    def test_delete_objects_checks_each_key(self):
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                b"<Object><Key>t/1</Key></Object><Object><Key>t/2</Key><VersionId>v</VersionId></Object>"
                b"<Quiet>true</Quiet></Delete>")
        expected = [("s3:DeleteObject", "arn:aws:s3:::tokens/t/1"), ("s3:DeleteObjectVersion", "arn:aws:s3:::tokens/t/2")]
        self.assertEqual(requested(**s3_call("POST", "/tokens", "delete", body)), expected)
        chunked = b"%x;chunk-signature=00\r\n" % len(body) + body + b"\r\n0;chunk-signature=00\r\n\r\n"
        self.assertEqual(requested(**s3_call("POST", "/tokens", "delete", chunked, {"Content-Encoding": "aws-chunked"})), expected)

    def test_virtual_host_style(self):
        call = s3_call("GET", "/t/abc", headers={"Host": "tokens.s3.localhost.localstack.cloud:4566"})
        self.assertEqual(requested(**call), [("s3:GetObject", "arn:aws:s3:::tokens/t/abc")])
        call = s3_call("GET", "/", "list-type=2", headers={"Host": "my.tokens.s3.eu-west-2.amazonaws.com"})
        self.assertEqual(requested(**call), [("s3:ListBucket", "arn:aws:s3:::my.tokens")])

    def test_presigned_url(self):
        query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=F%2F20250101%2Feu-west-2%2Fs3%2Faws4_request"
                 "&X-Amz-Date=20250101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
        call = dict(method="GET", path="/tokens/t/abc", query=query, headers={"Host": "127.0.0.1:4566"},
                    body=b"", region=REGION, account=ACCOUNT)
        self.assertEqual(requested(**call), [("s3:GetObject", "arn:aws:s3:::tokens/t/abc")])
        self.assertEqual(iam.credential({}, query), ("F", REGION, "s3"))


class AccessDeniedTest(unittest.TestCase):
    PRINCIPAL = f"arn:aws:sts::{ACCOUNT}:assumed-role/IssueFunctionRole/IssueFunction"

    def message(self, action, resource, explicit=False):
        why = ("with an explicit deny in an identity-based policy" if explicit
               else f"because no identity-based policy allows the {action} action")
        return f"User: {self.PRINCIPAL} is not authorized to perform: {action} on resource: {resource} {why}"

    def test_dynamodb(self):
        status, headers, body = access_denied("dynamodb", "dynamodb:GetItem", f"{TABLE}/T", self.PRINCIPAL,
                                              {"X-Amz-Target": "DynamoDB_20120810.GetItem"})
        self.assertEqual(status, 400)
        self.assertEqual(headers["Content-Type"], "application/x-amz-json-1.0")
        self.assertEqual(headers["x-amzn-ErrorType"], "AccessDeniedException")
        self.assertTrue(headers["x-amzn-RequestId"])
        self.assertEqual(json.loads(body), {"__type": "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
                                            "message": self.message("dynamodb:GetItem", f"{TABLE}/T")})

    def test_kms_and_events_explicit_deny(self):
        status, headers, body = access_denied("kms", "kms:Sign", f"{KMS}:key/k", self.PRINCIPAL,
                                              {"X-Amz-Target": "TrentService.Sign"}, explicit=True)
        self.assertEqual((status, headers["Content-Type"]), (400, "application/x-amz-json-1.1"))
        self.assertEqual(json.loads(body), {"__type": "AccessDeniedException",
                                            "message": self.message("kms:Sign", f"{KMS}:key/k", explicit=True)})
        status, headers, body = access_denied("events", "events:PutEvents", "arn:bus", self.PRINCIPAL,
                                              {"X-Amz-Target": "AWSEvents.PutEvents"})
        self.assertEqual((status, headers["Content-Type"]), (400, "application/x-amz-json-1.1"))
        self.assertEqual(json.loads(body)["__type"], "com.amazon.coral.service#AccessDeniedException")

    def test_sqs_json_and_query(self):
        status, headers, body = access_denied("sqs", "sqs:SendMessage", QUEUE, self.PRINCIPAL,
                                              {"x-amz-target": "AmazonSQS.SendMessage"})
        self.assertEqual(status, 403)
        self.assertEqual(headers["x-amzn-query-error"], "AccessDenied;Sender")
        self.assertEqual(json.loads(body), {"__type": "com.amazon.coral.service#AccessDeniedException",
                                            "message": self.message("sqs:SendMessage", QUEUE)})
        status, headers, body = access_denied("sqs", "sqs:SendMessage", QUEUE, self.PRINCIPAL,
                                              {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, headers["Content-Type"]), (403, "text/xml"))
        self.assertIn(b"<Type>Sender</Type><Code>AccessDenied</Code>", body)
        self.assertIn(self.message("sqs:SendMessage", QUEUE).encode(), body)
        self.assertIn(f"<RequestId>{headers['x-amzn-RequestId']}</RequestId>".encode(), body)

    def test_s3(self):
        status, headers, body = access_denied("s3", "s3:GetObject", "arn:aws:s3:::b/k&", self.PRINCIPAL, {})
        self.assertEqual((status, headers["Content-Type"]), (403, "application/xml"))
        self.assertTrue(body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'))
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        self.assertIn(b"arn:aws:s3:::b/k&amp;", body)
        self.assertIn(f"<RequestId>{headers['x-amz-request-id']}</RequestId>".encode(), body)
        self.assertEqual(access_denied("s3", "s3:GetObject", "arn:aws:s3:::b/k", self.PRINCIPAL, {}, method="HEAD")[2], b"")


# ----------------------------------------------------------------------------- end to end


class FakeUpstream:
    """Stands in for LocalStack: records requests, echoes them back as JSON."""

    def __init__(self):
        self.requests = []
        self.answers = {}  # X-Amz-Target -> (status, body) to answer instead of the echo
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream.requests.append((self.command, self.path, dict(self.headers), body))
                target = self.headers.get("X-Amz-Target", "")
                if target in upstream.answers:
                    status, out = upstream.answers[target]
                else:
                    status = 204 if self.command == "DELETE" else 200
                    out = json.dumps({"method": self.command, "path": self.path, "length": len(body),
                                      "host": self.headers.get("Host")}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-RequestId", "upstream-id")
                if status != 204:
                    self.send_header("Content-Length", str(len(body) if self.command == "HEAD" else len(out)))
                self.end_headers()
                if self.command != "HEAD" and status != 204:
                    self.wfile.write(out)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


ROLE = f"arn:aws:iam::{ACCOUNT}:role/IssueFunctionRole"
ISSUE_POLICY = Policy([
    {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": f"{TABLE}/Clients"},
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::tokens/t/*"},
    {"Effect": "Allow", "Action": "kms:Sign", "Resource": f"{KMS}:key/real-key"},
    {"Effect": "Allow", "Action": "dynamodb:GetRecords", "Resource": f"{TABLE}/Statuses/stream/*"},
    {"Effect": "Allow", "Action": "dynamodb:GetShardIterator", "Resource": "*"},
    {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::tokens/t/locked"},
])


class ProxyTest(unittest.TestCase):
    def setUp(self):
        self.upstream = FakeUpstream()
        self.proxy = IamProxy(self.upstream.url, REGION, ACCOUNT)
        self.proxy.add_principal("IssueFunction", "IssueFunction", ROLE, ISSUE_POLICY)
        self.url = self.proxy.start()
        self.conn = http.client.HTTPConnection(self.url.removeprefix("http://"), timeout=10)

    def tearDown(self):
        self.conn.close()
        self.proxy.stop()
        self.upstream.close()

    def call(self, method, path, body=b"", key="IssueFunction", service="s3", headers=None, conn=None):
        conn = conn or self.conn
        h = {"Authorization": auth(key, service), **(headers or {})}
        conn.request(method, path, body=body, headers=h)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()

    def dynamodb(self, op, doc, key="IssueFunction"):
        return self.call("POST", "/", json.dumps(doc).encode(), key, "dynamodb",
                         {"X-Amz-Target": f"DynamoDB_20120810.{op}", "Content-Type": "application/x-amz-json-1.0"})

    def test_allowed_calls_are_forwarded_and_recorded(self):
        status, _, body = self.dynamodb("GetItem", {"TableName": "Clients", "Key": {}})
        self.assertEqual((status, json.loads(body)["method"]), (200, "POST"))
        payload = bytes(range(256)) * 40  # binary, both ways
        status, headers, body = self.call("PUT", "/tokens/t/abc?x-id=PutObject", payload)
        self.assertEqual((status, json.loads(body)["length"]), (200, len(payload)))
        self.assertEqual(headers["Content-Length"], str(len(body)))
        self.assertEqual(self.upstream.requests[-1][3], payload)
        self.assertEqual(self.upstream.requests[-1][1], "/tokens/t/abc?x-id=PutObject")
        self.assertEqual(self.proxy.usage["IssueFunction"], {
            ("dynamodb:GetItem", f"{TABLE}/Clients"), ("s3:PutObject", "arn:aws:s3:::tokens/t/abc")})
        self.assertEqual(self.proxy.denials, [])

    def test_host_and_signature_headers_are_forwarded_unchanged(self):
        self.call("GET", "/t/abc", headers={"Host": "tokens.s3.localhost.localstack.cloud:4566",
                                                   "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"})
        _, _, headers, _ = self.upstream.requests[-1]
        self.assertEqual(headers["Host"], "tokens.s3.localhost.localstack.cloud:4566")
        self.assertEqual(headers["X-Amz-Content-Sha256"], "UNSIGNED-PAYLOAD")
        self.assertEqual(headers["Authorization"], auth("IssueFunction", "s3"))
        self.assertEqual(self.proxy.usage["IssueFunction"], {("s3:GetObject", "arn:aws:s3:::tokens/t/abc")})

    def test_denied_calls_get_aws_errors_and_are_recorded(self):
        status, headers, body = self.dynamodb("PutItem", {"TableName": "Clients", "Item": {}})
        self.assertEqual(status, 400)
        self.assertEqual(headers["x-amzn-ErrorType"], "AccessDeniedException")
        self.assertIn("assumed-role/IssueFunctionRole/IssueFunction is not authorized to perform: dynamodb:PutItem",
                      json.loads(body)["message"])
        status, _, body = self.call("PUT", "/tokens/t/locked", b"x")
        self.assertEqual(status, 403)
        self.assertIn(b"with an explicit deny", body)
        status, headers, body = self.call("HEAD", "/tokens/other")
        self.assertEqual((status, body), (403, b""))
        self.assertEqual(self.upstream.requests, [])
        self.assertEqual([(d["principal"], d["action"], d["resource"]) for d in self.proxy.denials], [
            ("IssueFunction", "dynamodb:PutItem", f"{TABLE}/Clients"),
            ("IssueFunction", "s3:PutObject", "arn:aws:s3:::tokens/t/locked"),
            ("IssueFunction", "s3:GetObject", "arn:aws:s3:::tokens/other"),
        ])
        self.assertTrue(all(isinstance(d["time"], float) for d in self.proxy.denials))
        self.assertEqual(self.proxy.usage["IssueFunction"], set())

    def test_one_denied_pair_denies_the_call(self):
        doc = {"TransactItems": [{"Get": {"TableName": "Clients"}}, {"Get": {"TableName": "Lists"}}]}
        status, _, _ = self.dynamodb("TransactGetItems", doc)
        self.assertEqual(status, 400)
        self.assertEqual(self.proxy.denials[0]["resource"], f"{TABLE}/Lists")

    def test_principal_arn_from_a_role_or_a_session_arn(self):
        session = f"arn:aws:sts::{ACCOUNT}:assumed-role/IssueRole/issue-fn"
        self.proxy.add_principal("Other", "Other", session, Policy([]))
        _, _, body = self.dynamodb("GetItem", {"TableName": "Clients"}, key="Other")
        self.assertIn(f"User: {session} is not", json.loads(body)["message"])
        self.proxy.add_principal("Pathed", "Pathed", f"arn:aws:iam::{ACCOUNT}:role/service/PathedRole", Policy([]))
        _, _, body = self.dynamodb("GetItem", {"TableName": "Clients"}, key="Pathed")
        self.assertIn(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/PathedRole/Pathed is not", json.loads(body)["message"])

    def test_unknown_key_ids_pass_through_unrecorded(self):
        status, _, body = self.dynamodb("DeleteTable", {"TableName": "Clients"}, key="test")
        self.assertEqual(status, 200)
        status, _, _ = self.call("GET", "/_localstack/health", key="nobody")
        self.assertEqual(status, 200)
        self.conn.request("GET", "/no-credential")
        self.assertEqual(self.conn.getresponse().read() != b"", True)
        self.assertEqual(len(self.upstream.requests), 3)
        self.assertEqual((self.proxy.usage, self.proxy.denials), ({"IssueFunction": set()}, []))

    def test_fault_short_circuits_after_the_iam_check(self):
        seen = []

        def fault(principal, action, resource):
            seen.append((principal, action, resource))
            if action == "s3:PutObject":
                return 503, {"Content-Type": "application/xml"}, b"<Error><Code>SlowDown</Code></Error>"
            return None

        self.proxy.fault = fault
        status, headers, body = self.call("PUT", "/tokens/t/abc", b"x")
        self.assertEqual((status, body), (503, b"<Error><Code>SlowDown</Code></Error>"))
        self.assertEqual(headers["Content-Length"], str(len(body)))
        self.assertTrue(headers["x-amzn-RequestId"])
        self.assertEqual(self.call("GET", "/tokens/t/abc")[0], 200)  # fault declined: forwarded
        self.assertEqual(self.call("GET", "/tokens/secret")[0], 403)  # denied before the fault is asked
        self.dynamodb("GetItem", {"TableName": "X"}, key="test")  # unregistered: never asked
        self.assertEqual(seen, [("IssueFunction", "s3:PutObject", "arn:aws:s3:::tokens/t/abc"),
                                ("IssueFunction", "s3:GetObject", "arn:aws:s3:::tokens/t/abc")])
        self.assertEqual([r[1] for r in self.upstream.requests], ["/tokens/t/abc", "/"])

    def test_injected_resets_answer_nothing_before_or_after_the_call(self):
        from faults import Faults
        faults = Faults()
        self.proxy.fault = faults
        faults.add({"principal": "IssueFunction", "action": "s3:PutObject", "kind": "reset", "count": 1})
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
            self.call("PUT", "/tokens/t/abc", b"x")
        self.assertEqual(self.upstream.requests, [])  # never reached AWS
        self.conn.close()
        faults.add({"principal": "*", "action": "dynamodb:*", "kind": "reset", "after": True, "count": 1})
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
            self.dynamodb("GetItem", {"TableName": "Clients", "Key": {}})
        self.assertEqual(len(self.upstream.requests), 1)  # it did: only its answer was lost
        self.conn.close()
        status, _, _ = self.dynamodb("GetItem", {"TableName": "Clients", "Key": {}})
        self.assertEqual(status, 200)  # both rules used up
        self.assertEqual([r["injected"] for r in faults.snapshot()], [1, 1])

    def test_chunked_request_bodies(self):
        sock = socket.create_connection(self.url.removeprefix("http://").split(":"), timeout=10)
        try:
            request = (f"PUT /tokens/t/chunked HTTP/1.1\r\nHost: x\r\nAuthorization: {auth('IssueFunction', 's3')}\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
            sock.sendall(request.encode())
            response = http.client.HTTPResponse(sock)
            response.begin()
            self.assertEqual(json.loads(response.read())["length"], 11)
        finally:
            sock.close()
        self.assertEqual(self.upstream.requests[-1][3], b"hello world")
        self.assertEqual(self.upstream.requests[-1][2]["Content-Length"], "11")
        self.assertNotIn("Transfer-Encoding", self.upstream.requests[-1][2])

    def test_keep_alive_head_and_no_content(self):
        # Many requests on one client connection: every answer must be framed right.
        for _ in range(3):
            status, headers, body = self.call("HEAD", "/tokens/t/abc")
            self.assertEqual((status, body), (200, b""))
            self.assertEqual(headers["Content-Length"], "0")
            status, headers, body = self.call("GET", "/tokens/t/abc")
            self.assertEqual(status, 200)
            status, _, body = self.call("DELETE", "/tokens/t/abc", key="test")
            self.assertEqual((status, body), (204, b""))
        self.assertEqual(self.proxy.usage["IssueFunction"], {("s3:GetObject", "arn:aws:s3:::tokens/t/abc")})

    def test_many_concurrent_clients(self):
        errors = []

        def client(n):
            conn = http.client.HTTPConnection(self.url.removeprefix("http://"), timeout=20)
            try:
                for i in range(10):
                    allowed = i % 2 == 0
                    path = f"/tokens/t/{n}-{i}" if allowed else f"/tokens/x/{n}-{i}"
                    status, _, _ = self.call("GET", path, conn=conn)
                    if status != (200 if allowed else 403):
                        errors.append((n, i, status))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(self.proxy.usage["IssueFunction"]), 200)
        self.assertEqual(len(self.proxy.denials), 200)
        self.assertEqual(len(self.upstream.requests), 200)

    def test_get_records_is_checked_against_the_iterators_stream(self):
        stream = f"{TABLE}/Statuses/stream/2025"
        self.upstream.answers["DynamoDBStreams_20120810.GetShardIterator"] = (200, b'{"ShardIterator":"it-1"}')
        self.upstream.answers["DynamoDBStreams_20120810.GetRecords"] = (200, b'{"Records":[],"NextShardIterator":"it-2"}')

        def streams(op, doc):
            return self.call("POST", "/", json.dumps(doc).encode(), service="dynamodb",
                             headers={"X-Amz-Target": f"DynamoDBStreams_20120810.{op}"})[0]

        self.assertEqual(streams("GetRecords", {"ShardIterator": "never-issued"}), 400)
        self.assertEqual(streams("GetShardIterator", {"StreamArn": stream, "ShardId": "s"}), 200)
        self.assertEqual(streams("GetRecords", {"ShardIterator": "it-1"}), 200)
        self.assertEqual(streams("GetRecords", {"ShardIterator": "it-2"}), 200)
        self.assertIn(("dynamodb:GetRecords", stream), self.proxy.usage["IssueFunction"])
        self.assertEqual([(d["action"], d["resource"]) for d in self.proxy.denials], [("dynamodb:GetRecords", "*")])

    def test_kms_alias_is_checked_against_its_key(self):
        self.upstream.answers["TrentService.DescribeKey"] = (200, json.dumps({"KeyMetadata": {"Arn": f"{KMS}:key/real-key"}}).encode())
        headers = {"X-Amz-Target": "TrentService.Sign", "Content-Type": "application/x-amz-json-1.1"}
        status, _, _ = self.call("POST", "/", b'{"KeyId":"alias/signing","Message":"bQ=="}', service="kms", headers=headers)
        self.assertEqual(status, 200)
        self.assertEqual(self.proxy.usage["IssueFunction"], {("kms:Sign", f"{KMS}:key/real-key")})
        described = json.loads(self.upstream.requests[0][3])
        self.assertEqual(described, {"KeyId": f"{KMS}:alias/signing"})

    def test_upstream_down_is_a_bad_gateway(self):
        self.upstream.close()
        dead = IamProxy(self.upstream.url, REGION, ACCOUNT)
        url = dead.start()
        try:
            conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
            status, _, _ = self.call("GET", "/x", key="test", conn=conn)
            self.assertEqual(status, 502)
            conn.close()
        finally:
            dead.stop()

    def test_stop_closes_kept_alive_connections(self):
        self.assertEqual(self.call("GET", "/tokens/t/a")[0], 200)
        self.proxy.stop()
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.call("GET", "/tokens/t/a")
        self.proxy.stop()  # idempotent; tearDown stops again


try:
    import boto3  # noqa: F401
    from botocore.config import Config
except ImportError:
    boto3 = None


@unittest.skipIf(boto3 is None, "boto3 is not installed")
class Boto3TrafficTest(unittest.TestCase):
    """Real SDK requests, signed by botocore, parsed by the proxy (fake upstream behind it)."""

    def setUp(self):
        self.upstream = FakeUpstream()
        self.proxy = IamProxy(self.upstream.url, REGION, ACCOUNT)
        self.proxy.add_principal("IssueFunction", "IssueFunction", ROLE, Policy([
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::tokens/secret"}]))
        session = boto3.Session(aws_access_key_id="IssueFunction", aws_secret_access_key="x", region_name=REGION)
        url = self.proxy.start()
        config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
        self.client = lambda service: session.client(service, endpoint_url=url, config=config)

    def tearDown(self):
        self.proxy.stop()
        self.upstream.close()

    def test_sdk_requests_map_to_iam(self):
        kms_answer = {"KeyId": f"{KMS}:key/k", "Signature": "AAAA", "SigningAlgorithm": "ECDSA_SHA_256"}
        self.upstream.answers["TrentService.Sign"] = (200, json.dumps(kms_answer).encode())
        self.upstream.answers["AmazonSQS.SendMessage"] = (200, b'{"MessageId":"m","MD5OfMessageBody":"ba5b3d7dd2ac5bd1e7b2bd7df5c4ab7b"}')
        self.client("dynamodb").get_item(TableName="Clients", Key={"pk": {"S": "a"}})
        self.upstream.answers.clear()
        s3 = self.client("s3")
        for call in (lambda: s3.put_object(Bucket="tokens", Key="t/a b+c.json", Body=b"{}"),
                     lambda: self.client("kms").sign(KeyId="k", Message=b"m", SigningAlgorithm="ECDSA_SHA_256"),
                     lambda: self.client("sqs").send_message(QueueUrl=QUEUE_URL, MessageBody="m", MessageGroupId="g")):
            try:
                call()
            except Exception:  # noqa: BLE001 - the fake upstream's echo is not a valid answer for every SDK
                pass
        self.assertEqual(self.proxy.usage["IssueFunction"], {
            ("dynamodb:GetItem", f"{TABLE}/Clients"),
            ("s3:PutObject", "arn:aws:s3:::tokens/t/a b+c.json"),
            ("kms:Sign", f"{KMS}:key/k"),
            ("sqs:SendMessage", QUEUE),
        })

    def test_sdk_parses_the_denials(self):
        from botocore.exceptions import ClientError

        with self.assertRaises(ClientError) as caught:
            self.client("s3").get_object(Bucket="tokens", Key="secret")
        self.assertEqual(caught.exception.response["Error"]["Code"], "AccessDenied")
        self.assertIn("explicit deny", caught.exception.response["Error"]["Message"])


if __name__ == "__main__":
    unittest.main()
