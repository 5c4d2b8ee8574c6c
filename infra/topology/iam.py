"""An IAM-enforcing proxy in front of LocalStack, for running the SAM template's functions locally.

LocalStack enforces no IAM, so a function whose role misses a permission works locally and fails
in AWS. Locally each function runs as its own process with its own access key id (its function
name, say) and AWS_ENDPOINT_URL pointing here. For each call this proxy works out which function
made it (from the SigV4 credential scope), the (action, resource) pairs IAM would evaluate for it,
and checks them against that function's role statements the way IAM does. A denied call gets the
error AWS would send; an allowed one is forwarded unchanged to LocalStack and its answer relayed.

It also records what each function used (`usage`, to find grants nobody needs) and every denial
(`denials`), and lets a test inject faults after the IAM check (`fault`).

Calls signed with a key id that is not a registered principal (e.g. `test`, used by deploy
scripts and test drivers) pass through unchecked and unrecorded.

What is modelled (and where it stops):
- Identity-based policies only: Allow/Deny, Action/NotAction, Resource/NotResource, IAM wildcards.
  Conditions are ignored (a statement with a Condition applies as if it held). No resource
  policies, permission boundaries or SCPs.
- Request -> (action, resource) mapping for DynamoDB (+ Streams), KMS, EventBridge, SQS (JSON and
  query protocols) and S3 (path and virtual-host style). Other services map to
  `{service}:{Operation}` on `*`, and unparseable requests to `{service}:Unknown` on `*`, so they
  show up in `denials` unless a policy grants `*`.
- Where AWS authorizes against something the request does not name, the proxy looks it up:
  KMS calls naming a key by alias are checked against the key the alias points to (as AWS does),
  and DynamoDB Streams GetRecords against the stream its shard iterator was issued for (the proxy
  remembers iterators from GetShardIterator/GetRecords answers). `requested()` alone, without the
  proxy's state, reports the alias ARN and `*` for those.
- KMS Decrypt without KeyId is checked against `*` (the key is inside the ciphertext).
- S3 DeleteObjects is denied as a whole when any key is denied (AWS answers 200 and lists
  per-key AccessDenied errors).

Standard library only, so it runs with any Python 3.13 and no virtualenv.
"""

from __future__ import annotations

import http.client
import http.server
import json
import re
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
import xml.etree.ElementTree as ElementTree
from functools import lru_cache
from typing import Callable
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape as xml_escape

__all__ = ["Policy", "requested", "access_denied", "IamProxy", "ResetConnection"]


class ResetConnection(Exception):
    """Raised by a fault hook: the caller's connection gets a TCP reset instead of an answer;
    with `after`, once the call has gone through to AWS (its effect happens, its answer is lost)."""

    def __init__(self, after: bool = False):
        super().__init__("injected connection reset")
        self.after = after


# ----------------------------------------------------------------------------- policy evaluation


@lru_cache(maxsize=8192)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern:
    # IAM wildcards: `*` is any run of characters (including `/` and `:`), `?` exactly one;
    # nothing else is special (unlike fnmatch, `[` is literal).
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _any_match(patterns: list[str], value: str, ignore_case: bool) -> bool:
    return any(_glob(p, ignore_case).fullmatch(value) for p in patterns)


def _strings(value) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


class _Statement:
    def __init__(self, statement: dict):
        self.deny = str(statement.get("Effect", "")).lower() == "deny"
        self.actions = _strings(statement.get("Action"))
        self.not_actions = _strings(statement.get("NotAction"))
        self.resources = _strings(statement.get("Resource"))
        self.not_resources = _strings(statement.get("NotResource"))

    def applies(self, action: str, resource: str) -> bool:
        # Action names are case-insensitive in IAM, resource ARNs are not.
        if self.actions is not None:
            if not _any_match(self.actions, action, True):
                return False
        elif self.not_actions is not None:
            if _any_match(self.not_actions, action, True):
                return False
        else:
            return False  # IAM rejects such a statement; here it grants and denies nothing
        if self.resources is not None:
            return _any_match(self.resources, resource, False)
        if self.not_resources is not None:
            return not _any_match(self.not_resources, resource, False)
        return False


class Policy:
    """A role's identity-based statements, with every intrinsic function already resolved."""

    def __init__(self, statements: list[dict]):
        if isinstance(statements, dict):  # a lone statement, as IAM also accepts
            statements = [statements]
        self.statements = list(statements)
        self._compiled = [_Statement(s) for s in self.statements]

    def decide(self, action: str, resource: str) -> str:
        """"allow", "explicit-deny" or "implicit-deny": a matching Deny wins over any Allow."""
        allowed = False
        for statement in self._compiled:
            if statement.applies(action, resource):
                if statement.deny:
                    return "explicit-deny"
                allowed = True
        return "allow" if allowed else "implicit-deny"


# ----------------------------------------------------------------------------- request -> IAM

_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")


def _lower(headers) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers.items() if hasattr(headers, "items") else headers)}


def credential(headers, query: str = "") -> tuple[str, str, str] | None:
    """(key id, region, service) from a SigV4 Authorization header or presigned query, else None.

    SigV4a scopes name no region: region is then "".
    """
    h = _lower(headers)
    scope = None
    match = _CREDENTIAL.search(h.get("authorization", ""))
    if match:
        scope = match.group(1)
    else:
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key.lower() == "x-amz-credential":
                scope = value
                break
    if not scope:
        return None
    parts = scope.split("/")
    if len(parts) == 5:  # key/date/region/service/aws4_request
        return parts[0], parts[2], parts[3]
    if len(parts) == 4:  # SigV4a: key/date/service/aws4_request
        return parts[0], "", parts[2]
    return None


def _json_body(body: bytes) -> dict:
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(pairs))


def requested(method: str, path: str, query: str, headers: dict[str, str], body: bytes,
              region: str, account: str) -> list[tuple[str, str]]:
    """The (action, resource ARN) pairs IAM evaluates for this request; all must be allowed.

    `path` is the raw (still percent-encoded) path, `query` the raw query string without `?`.
    An empty list means the call needs no permission (sts:GetCallerIdentity).
    """
    h = _lower(headers)
    scope = credential(h, query)
    service = scope[2] if scope else ""
    target = h.get("x-amz-target", "")
    if target:
        pairs = _json_protocol(target, service, _json_body(body), region, account)
    elif service == "s3":
        pairs = _s3(method.upper(), path, query, h, body)
    elif "x-www-form-urlencoded" in h.get("content-type", "") or "Action=" in query:
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        pairs = _query_protocol(service, params, path, region, account)
    else:
        pairs = [(f"{service or 'unknown'}:Unknown", "*")]
    return _unique(pairs)


def _json_protocol(target: str, service: str, doc: dict, region: str, account: str):
    prefix, _, op = target.partition(".")
    if not op:
        return [(f"{service or 'unknown'}:Unknown", "*")]
    if prefix.startswith("DynamoDBStreams_"):
        return _dynamodb_streams(op, doc)
    if prefix.startswith("DynamoDB_"):
        return _dynamodb(op, doc, region, account)
    if prefix == "TrentService":
        return _kms(op, doc, region, account)
    if prefix == "AWSEvents":
        return _events(op, doc, region, account)
    if prefix == "AmazonSQS":
        return _sqs(op, doc, "", region, account)
    return [(f"{service or prefix}:{op}", "*")]


def _query_protocol(service: str, params: dict, path: str, region: str, account: str):
    action = params.get("Action", "")
    if not action:
        return [(f"{service or 'unknown'}:Unknown", "*")]
    if service == "sqs":
        return _sqs(action, params, path, region, account)
    if service == "sts" and action == "GetCallerIdentity":
        return []  # AWS answers it whatever the policies say
    return [(f"{service}:{action}", "*")]


# DynamoDB ---------------------------------------------------------------------------------------

_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}
_PARTIQL = {"SELECT": "PartiQLSelect", "INSERT": "PartiQLInsert", "UPDATE": "PartiQLUpdate",
            "DELETE": "PartiQLDelete"}
_PARTIQL_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+("(?:[^"]|"")+"|[\w.-]+)(?:\."((?:[^"]|"")+)")?',
                            re.IGNORECASE)


def _dynamodb(op: str, doc: dict, region: str, account: str):
    def table(name) -> str:
        name = _text(name)
        # TableName may also be the table's ARN.
        return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"

    if op == "TransactWriteItems":
        return [(f"dynamodb:{_TRANSACT_WRITE[kind]}", table(request.get("TableName")))
                for item in doc.get("TransactItems") or [] if isinstance(item, dict)
                for kind, request in item.items() if kind in _TRANSACT_WRITE and isinstance(request, dict)]
    if op == "TransactGetItems":
        return [("dynamodb:GetItem", table(item["Get"].get("TableName")))
                for item in doc.get("TransactItems") or []
                if isinstance(item, dict) and isinstance(item.get("Get"), dict)]
    if op in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{op}", table(name)) for name in doc.get("RequestItems") or {}]
    if op == "ExecuteStatement":
        return [_partiql(doc.get("Statement"), table)]
    if op in ("BatchExecuteStatement", "ExecuteTransaction"):
        key = "Statements" if op == "BatchExecuteStatement" else "TransactStatements"
        return [_partiql(s.get("Statement"), table) for s in doc.get(key) or [] if isinstance(s, dict)]
    if isinstance(doc.get("TableName"), str):
        arn = table(doc["TableName"])
        if op in ("Query", "Scan") and isinstance(doc.get("IndexName"), str):
            arn += f"/index/{doc['IndexName']}"
        return [(f"dynamodb:{op}", arn)]
    for key in ("ResourceArn", "StreamArn", "TableArn", "BackupArn", "ExportArn", "ImportArn"):
        if isinstance(doc.get(key), str):
            return [(f"dynamodb:{op}", doc[key])]
    return [(f"dynamodb:{op}", "*")]  # ListTables, DescribeLimits, DescribeEndpoints, ...


def _partiql(statement, table) -> tuple[str, str]:
    # Best effort: the verb picks the action, the first table named after FROM/INTO/UPDATE the
    # resource ("T"."I" is an index).
    statement = _text(statement).strip()
    verb = statement.split(None, 1)[0].upper() if statement else ""
    match = _PARTIQL_TABLE.search(statement)
    if verb not in _PARTIQL or not match:
        return ("dynamodb:PartiQLUnknown", "*")
    arn = table(match.group(1).strip('"').replace('""', '"'))
    if match.group(2):
        arn += "/index/" + match.group(2).replace('""', '"')
    return (f"dynamodb:{_PARTIQL[verb]}", arn)


def _dynamodb_streams(op: str, doc: dict):
    # GetRecords names only a shard iterator, which is opaque: `*` here; IamProxy resolves it to
    # the stream the iterator was issued for. ListStreams has no resource in IAM.
    stream = doc.get("StreamArn")
    if op in ("DescribeStream", "GetShardIterator") and isinstance(stream, str):
        return [(f"dynamodb:{op}", stream)]
    return [(f"dynamodb:{op}", "*")]


# KMS --------------------------------------------------------------------------------------------


def _kms(op: str, doc: dict, region: str, account: str):
    def key(value) -> str:
        value = _text(value)
        if not value:
            return "*"
        if value.startswith("arn:"):
            return value
        if value.startswith("alias/"):
            return f"arn:aws:kms:{region}:{account}:{value}"
        return f"arn:aws:kms:{region}:{account}:key/{value}"

    action = f"kms:{op}"
    if op in ("CreateAlias", "UpdateAlias"):  # needs the permission on the alias and on the key
        return [(action, key(doc.get("AliasName"))), (action, key(doc.get("TargetKeyId")))]
    if op == "DeleteAlias":
        return [(action, key(doc.get("AliasName")))]
    if op == "ReEncrypt":
        return [("kms:ReEncryptFrom", key(doc.get("SourceKeyId"))),
                ("kms:ReEncryptTo", key(doc.get("DestinationKeyId")))]
    if op in ("ListAliases", "ListKeys", "CreateKey", "GenerateRandom"):
        return [(action, "*")]
    return [(action, key(doc.get("KeyId")))]


# EventBridge ------------------------------------------------------------------------------------


_RULE_OPS = {"PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule"}
_TARGET_OPS = {"PutTargets", "RemoveTargets", "ListTargetsByRule"}


def _events(op: str, doc: dict, region: str, account: str):
    def bus(name) -> str:
        name = _text(name) or "default"
        return name if name.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{name}"

    action = f"events:{op}"
    if op == "PutEvents":
        entries = [e for e in doc.get("Entries") or [] if isinstance(e, dict)] or [{}]
        return [(action, bus(entry.get("EventBusName"))) for entry in entries]
    if op.endswith("EventBus"):  # Describe/Create/Delete/UpdateEventBus
        return [(action, bus(doc.get("Name")))]
    rule = _text(doc.get("Name") if op in _RULE_OPS else doc.get("Rule") if op in _TARGET_OPS else None)
    if rule:
        bus_name = _text(doc.get("EventBusName")).rsplit("event-bus/", 1)[-1] or "default"
        path = rule if bus_name == "default" else f"{bus_name}/{rule}"
        return [(action, f"arn:aws:events:{region}:{account}:rule/{path}")]
    return [(action, "*")]


# SQS --------------------------------------------------------------------------------------------

_SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
              "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def _sqs(op: str, params: dict, path: str, region: str, account: str):
    action = "sqs:" + _SQS_BATCH.get(op, op)

    def queue(name, owner=None) -> str:
        return f"arn:aws:sqs:{region}:{owner or account}:{name}"

    if op == "ListQueues":
        return [(action, "*")]
    if op in ("GetQueueUrl", "CreateQueue"):
        name = _text(params.get("QueueName"))
        return [(action, queue(name, _text(params.get("QueueOwnerAWSAccountId")))) if name else (action, "*")]
    if op in ("StartMessageMoveTask", "ListMessageMoveTasks") and isinstance(params.get("SourceArn"), str):
        return [(action, params["SourceArn"])]
    # The queue is the URL's last segment, its owner the one before it (both LocalStack's
    # `host/000000000000/name` and `host/queue/region/000000000000/name` forms); the query
    # protocol may instead post to the queue URL itself.
    url = _text(params.get("QueueUrl")) or path
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if segments:
        owner = segments[-2] if len(segments) > 1 and re.fullmatch(r"\d{12}", segments[-2]) else None
        if owner or params.get("QueueUrl"):
            return [(action, queue(unquote(segments[-1]), owner))]
    return [(action, "*")]


# S3 ---------------------------------------------------------------------------------------------

# Bucket subresource -> IAM action for GET, PUT, DELETE (several deletes need the Put permission).
_BUCKET_SUBRESOURCES = {
    "accelerate": ("GetAccelerateConfiguration", "PutAccelerateConfiguration", None),
    "acl": ("GetBucketAcl", "PutBucketAcl", None),
    "analytics": ("GetAnalyticsConfiguration", "PutAnalyticsConfiguration", "PutAnalyticsConfiguration"),
    "cors": ("GetBucketCORS", "PutBucketCORS", "PutBucketCORS"),
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    "intelligent-tiering": ("GetIntelligentTieringConfiguration", "PutIntelligentTieringConfiguration",
                            "PutIntelligentTieringConfiguration"),
    "inventory": ("GetInventoryConfiguration", "PutInventoryConfiguration", "PutInventoryConfiguration"),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    "location": ("GetBucketLocation", None, None),
    "logging": ("GetBucketLogging", "PutBucketLogging", None),
    "metrics": ("GetMetricsConfiguration", "PutMetricsConfiguration", "PutMetricsConfiguration"),
    "notification": ("GetBucketNotification", "PutBucketNotification", None),
    "object-lock": ("GetBucketObjectLockConfiguration", "PutBucketObjectLockConfiguration", None),
    "ownershipControls": ("GetBucketOwnershipControls", "PutBucketOwnershipControls", "PutBucketOwnershipControls"),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "policyStatus": ("GetBucketPolicyStatus", None, None),
    "publicAccessBlock": ("GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "PutBucketPublicAccessBlock"),
    "replication": ("GetReplicationConfiguration", "PutReplicationConfiguration", "PutReplicationConfiguration"),
    "requestPayment": ("GetBucketRequestPayment", "PutBucketRequestPayment", None),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "uploads": ("ListBucketMultipartUploads", None, None),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "versions": ("ListBucketVersions", None, None),
    "website": ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
}
# Query parameters that are arguments, not subresources (listing, SDK hints, presigning).
_PLAIN_PARAMS = {"list-type", "prefix", "delimiter", "max-keys", "marker", "continuation-token",
                 "start-after", "fetch-owner", "encoding-type", "key-marker", "version-id-marker",
                 "upload-id-marker", "max-uploads", "x-id", "id", "optional-object-attributes"}
_VHOST = re.compile(r"^(?P<bucket>.+?)\.s3[.-]")


def _s3(method: str, path: str, query: str, h: dict, body: bytes):
    params = dict(parse_qsl(query, keep_blank_values=True))
    host = h.get("host", "").rsplit(":", 1)[0] if not h.get("host", "").startswith("[") else ""
    vhost = _VHOST.match(host)
    if vhost:
        bucket, key = vhost.group("bucket"), unquote(path[1:])
    else:
        first, _, rest = path.lstrip("/").partition("/")
        bucket, key = unquote(first), unquote(rest)
    if not bucket:
        return [("s3:ListAllMyBuckets", "*")] if method in ("GET", "HEAD") else [("s3:Unknown", "*")]
    if key:
        return _s3_object(method, params, bucket, key, h)
    return _s3_bucket(method, params, bucket, h, body)


def _s3_object(method: str, params: dict, bucket: str, key: str, h: dict):
    arn = f"arn:aws:s3:::{bucket}/{key}"
    version = "Version" if "versionId" in params else ""
    if method in ("GET", "HEAD"):
        if "uploadId" in params:
            return [("s3:ListMultipartUploadParts", arn)]
        for sub, name in (("acl", f"GetObject{version}Acl"), ("tagging", f"GetObject{version}Tagging"),
                          ("attributes", f"GetObject{version}Attributes"), ("retention", "GetObjectRetention"),
                          ("legal-hold", "GetObjectLegalHold"), ("torrent", f"GetObject{version}Torrent")):
            if sub in params:
                return [(f"s3:{name}", arn)]
        return [(f"s3:GetObject{version}", arn)]
    if method == "PUT":
        for sub, name in (("acl", f"PutObject{version}Acl"), ("tagging", f"PutObject{version}Tagging"),
                          ("retention", "PutObjectRetention"), ("legal-hold", "PutObjectLegalHold")):
            if sub in params:
                return [(f"s3:{name}", arn)]
        pairs = [("s3:PutObject", arn)]  # also UploadPart and UploadPartCopy
        # Setting tags or an ACL while writing needs those permissions as well.
        if "x-amz-tagging" in h:
            pairs.append(("s3:PutObjectTagging", arn))
        if "x-amz-acl" in h or any(k.startswith("x-amz-grant-") for k in h):
            pairs.append(("s3:PutObjectAcl", arn))
        if "x-amz-copy-source" in h:
            pairs.append(_copy_source(h["x-amz-copy-source"]))
        return pairs
    if method == "DELETE":
        if "uploadId" in params:
            return [("s3:AbortMultipartUpload", arn)]
        if "tagging" in params:
            return [(f"s3:DeleteObject{version}Tagging", arn)]
        return [(f"s3:DeleteObject{version}", arn)]
    if method == "POST":
        if "uploads" in params or "uploadId" in params:  # create / complete a multipart upload
            return [("s3:PutObject", arn)]
        if "restore" in params:
            return [("s3:RestoreObject", arn)]
        if "select" in params:
            return [("s3:GetObject", arn)]
    return [("s3:Unknown", arn)]


def _copy_source(value: str) -> tuple[str, str]:
    # `/bucket/key?versionId=v` or `bucket/key`, percent-encoded.
    source, _, query = value.partition("?")
    source = unquote(source).lstrip("/")
    versioned = "versionId" in dict(parse_qsl(query, keep_blank_values=True))
    return (f"s3:GetObject{'Version' if versioned else ''}", f"arn:aws:s3:::{source}")


def _s3_bucket(method: str, params: dict, bucket: str, h: dict, body: bytes):
    arn = f"arn:aws:s3:::{bucket}"
    if method == "POST" and "delete" in params:
        return _delete_objects(bucket, h, body)
    column = {"GET": 0, "HEAD": 0, "PUT": 1, "DELETE": 2}.get(method)
    for sub, actions in _BUCKET_SUBRESOURCES.items():
        if sub in params:
            action = actions[column] if column is not None else None
            return [(f"s3:{action}", arn) if action else ("s3:Unknown", arn)]
    # Subresources not in the table: s3:Get<Thing> / s3:Put<Thing> / s3:Delete<Thing>.
    others = [k for k in params if k not in _PLAIN_PARAMS
              and not k.lower().startswith(("x-amz-", "response-"))]
    if others:
        verb = {"GET": "Get", "HEAD": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method)
        thing = others[0][:1].upper() + others[0][1:]
        return [(f"s3:{verb}Bucket{thing}", arn) if verb else ("s3:Unknown", arn)]
    action = {"GET": "ListBucket", "HEAD": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)
    return [(f"s3:{action}", arn) if action else ("s3:Unknown", arn)]


def _delete_objects(bucket: str, h: dict, body: bytes):
    if "aws-chunked" in h.get("content-encoding", "") or h.get("x-amz-content-sha256", "").startswith("STREAMING-"):
        body = _aws_chunked_payload(body)
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return [("s3:DeleteObject", f"arn:aws:s3:::{bucket}/*")]

    def local(element) -> str:
        return element.tag.rsplit("}", 1)[-1]

    pairs = []
    for element in root:
        if local(element) != "Object":
            continue
        fields = {local(child): child.text or "" for child in element}
        action = "s3:DeleteObjectVersion" if fields.get("VersionId") else "s3:DeleteObject"
        pairs.append((action, f"arn:aws:s3:::{bucket}/{fields.get('Key', '')}"))
    return pairs or [("s3:DeleteObject", f"arn:aws:s3:::{bucket}/*")]


def _aws_chunked_payload(body: bytes) -> bytes:
    """The payload inside an `aws-chunked` body (`hex-size[;chunk-signature=...]\\r\\ndata\\r\\n`...)."""
    out, at = [], 0
    while True:
        end = body.find(b"\r\n", at)
        if end < 0:
            break
        try:
            size = int(body[at:end].split(b";", 1)[0], 16)
        except ValueError:
            return body
        if size == 0:
            break
        out.append(body[end + 2:end + 2 + size])
        at = end + 2 + size + 2
    return b"".join(out)


# ----------------------------------------------------------------------------- denied answers


def access_denied(service: str, action: str, resource: str, principal_arn: str, headers,
                  *, explicit: bool = False, method: str = "") -> tuple[int, dict[str, str], bytes]:
    """The error AWS answers when IAM denies `action` on `resource` (status, headers, body).

    `headers` are the request's: they tell SQS's JSON protocol from its query protocol.
    """
    h = _lower(headers)
    why = ("with an explicit deny in an identity-based policy" if explicit
           else f"because no identity-based policy allows the {action} action")
    message = f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {why}"
    target = h.get("x-amz-target", "")
    json_request = bool(target) or "json" in h.get("content-type", "")

    if service == "s3":
        request_id = uuid.uuid4().hex[:16].upper()
        # S3 now names the principal and action for same-account callers, as the others do.
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                f"<Message>{xml_escape(message)}</Message><RequestId>{request_id}</RequestId></Error>").encode()
        headers_out = {"Content-Type": "application/xml", "x-amz-request-id": request_id,
                       "x-amzn-RequestId": request_id}
        if method.upper() == "HEAD":
            return 403, headers_out, b""
        return 403, headers_out, body

    request_id = str(uuid.uuid4())
    ids = {"x-amzn-RequestId": request_id, "x-amz-request-id": request_id}
    if service == "sqs" and not json_request:
        body = ('<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
                f"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{xml_escape(message)}</Message>"
                f"<Detail/></Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        return 403, {"Content-Type": "text/xml", **ids}, body
    if service == "sqs":
        # JSON SQS keeps the query protocol's error code in x-amzn-query-error (awsQueryCompatible).
        body = json.dumps({"__type": "com.amazon.coral.service#AccessDeniedException", "message": message})
        return 403, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": "AccessDenied;Sender",
                     "x-amzn-ErrorType": "AccessDeniedException", **ids}, body.encode()
    if service == "dynamodb" or target.startswith("DynamoDB"):
        error_type, content_type = "com.amazonaws.dynamodb.v20120810#AccessDeniedException", "application/x-amz-json-1.0"
    elif service == "kms" or target.startswith("TrentService"):
        error_type, content_type = "AccessDeniedException", "application/x-amz-json-1.1"
    elif json_request or service == "events":
        error_type, content_type = "com.amazon.coral.service#AccessDeniedException", "application/x-amz-json-1.1"
    else:  # other query-protocol services
        body = ('<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>'
                f"<Message>{xml_escape(message)}</Message></Error><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>").encode()
        return 403, {"Content-Type": "text/xml", **ids}, body
    body = json.dumps({"__type": error_type, "message": message}).encode()
    return 400, {"Content-Type": content_type, "x-amzn-ErrorType": "AccessDeniedException", **ids}, body


# ----------------------------------------------------------------------------- the proxy

# Connection-level headers, never forwarded in either direction (RFC 9110 section 7.6.1).
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
               "te", "trailer", "trailers", "transfer-encoding", "upgrade", "expect", "content-length"}
_ITERATOR_MEMORY = 100_000


class _Principal:
    def __init__(self, key_id: str, name: str, role_arn: str, policy: Policy, account: str):
        self.key_id, self.name, self.role_arn, self.policy = key_id, name, role_arn, policy
        if ":assumed-role/" in role_arn:  # already the session's ARN
            self.arn = role_arn
        else:
            # Lambda's session is the function: assumed-role/<role name without path>/<function>.
            self.arn = f"arn:aws:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{name}"


class _Upstream:
    """One keep-alive connection to the upstream, reused across one client connection's requests."""

    def __init__(self, scheme: str, netloc: str, timeout: float):
        self.scheme, self.netloc, self.timeout = scheme, netloc, timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None):
        for attempt in (1, 2):
            reused = self.conn is not None
            if self.conn is None:
                kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
                self.conn = kind(self.netloc, timeout=self.timeout)
            try:
                # Host, Accept-Encoding and Content-Length are the client's own (see _forward).
                self.conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    self.conn.putheader(name, value)
                self.conn.endheaders(body)
                response = self.conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The upstream closed an idle kept-alive connection before reading this request:
                # retry once on a new one. A fresh connection failing is a real error.
                self.close()
                if not reused or attempt == 2:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            try:
                data = response.read()
            except BaseException:
                self.close()
                raise
            if response.will_close:
                self.close()
            return response.status, response.reason, response.getheaders(), data
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class IamProxy:
    """Checks each registered principal's AWS calls against its policy; forwards allowed ones."""

    def __init__(self, upstream: str, region: str, account: str):
        parts = urlsplit(upstream)
        self.upstream = upstream.rstrip("/")
        self._scheme, self._netloc = parts.scheme or "http", parts.netloc
        self.region, self.account = region, account
        self.timeout = 120.0  # SQS long polls wait up to 20 s
        # principal name -> (action, resource) pairs allowed and forwarded; each set is replaced,
        # never changed in place, so it may be read from any thread without a lock.
        self.usage: dict[str, set[tuple[str, str]]] = {}
        self.denials: list[dict] = []  # {"principal", "action", "resource", "time"}, appended
        self.fault: Callable[[str, str, str], tuple[int, dict, bytes] | None] | None = None
        self.verbose = False  # log the server's own errors (never individual requests)
        self._principals: dict[str, _Principal] = {}
        self._iterators: dict[str, str] = {}  # DynamoDB Streams shard iterator -> stream ARN
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def add_principal(self, key_id: str, name: str, role_arn: str, policy: Policy):
        with self._lock:
            self._principals[key_id] = _Principal(key_id, name, role_arn, policy, self.account)
            self.usage.setdefault(name, set())

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        handler = type("IamProxyHandler", (_Handler,), {"proxy": self})
        self._server = _Server((host, port), handler)
        # A short poll interval so stop() returns promptly.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="iam-proxy",
                                        daemon=True)
        self._thread.start()
        bound_host, bound_port = self._server.server_address[:2]
        return f"http://{bound_host}:{bound_port}"

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()  # kept-alive clients would otherwise still be served
        self._thread.join()
        self._server = self._thread = None

    # -- one request -------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
               upstream: _Upstream | None = None) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Answer one request: (status, reason, headers, body). `target` is the raw request target."""
        parts = urlsplit(target)
        path, query = parts.path or "/", parts.query
        h = _lower(headers)
        scope = credential(h, query)
        principal = self._principals.get(scope[0]) if scope else None
        if principal is None:
            return self._forward(method, target, headers, body, upstream, h)

        region, service = scope[1] or self.region, scope[2]
        try:
            pairs = requested(method, path, query, h, body, region, self.account)
            pairs = self._resolve(pairs, scope[0], h, body, region, upstream)
        except Exception:  # a parsing bug must not pass the call: it shows up as a denial
            self._log_error()
            pairs = [(f"{service or 'unknown'}:Unknown", "*")]
        for action, resource in pairs:
            decision = principal.policy.decide(action, resource)
            if decision != "allow":
                with self._lock:
                    self.denials.append({"principal": principal.name, "action": action,
                                         "resource": resource, "time": time.time()})
                status, out, payload = access_denied(service, action, resource, principal.arn, h,
                                                     explicit=decision == "explicit-deny", method=method)
                return status, http.client.responses.get(status, ""), list(out.items()), payload

        fault = self.fault
        reset_after = None
        if fault is not None:
            for action, resource in pairs:
                try:
                    answer = fault(principal.name, action, resource)
                except ResetConnection as reset:
                    if not reset.after:
                        raise
                    reset_after, answer = reset, None
                if answer is not None:
                    status, out, payload = answer
                    payload = payload.encode() if isinstance(payload, str) else bytes(payload or b"")
                    out = [(k, v) for k, v in dict(out or {}).items() if k.lower() not in _HOP_BY_HOP]
                    if not any(k.lower() in ("x-amzn-requestid", "x-amz-request-id") for k, _ in out):
                        request_id = str(uuid.uuid4())
                        out += [("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id)]
                    return status, http.client.responses.get(status, ""), out, payload

        response = self._forward(method, target, headers, body, upstream, h)
        with self._lock:
            # Copy on write: a reader iterating a principal's set never sees it change.
            used = self.usage.get(principal.name, set())
            if not used.issuperset(pairs):
                self.usage[principal.name] = used | set(pairs)
        if reset_after is not None:
            raise reset_after  # the call went through; its answer is lost
        return response

    def _forward(self, method, target, headers, body, upstream, h):
        own = upstream is None
        upstream = upstream or _Upstream(self._scheme, self._netloc, self.timeout)
        # Headers named in Connection are hop-by-hop too.
        dropped = _HOP_BY_HOP | {t.strip().lower() for t in h.get("connection", "").split(",")}
        out = [(k, v) for k, v in headers if k.lower() not in dropped]
        if "host" not in h:
            out.append(("Host", self._netloc))
        # Keep the Host the client signed (LocalStack reads virtual-host buckets from it);
        # the body is relayed byte for byte (aws-chunked included), de-chunked only at HTTP level.
        if body or "content-length" in h or "transfer-encoding" in h:
            out.append(("Content-Length", str(len(body))))
        try:
            status, reason, resp_headers, data = upstream.request(method, target, out, body or None)
        except (OSError, http.client.HTTPException) as error:
            payload = f"iam proxy: upstream {self.upstream} failed: {error}".encode()
            return 502, "Bad Gateway", [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))], payload
        finally:
            if own:
                upstream.close()
        self._observe_streams(h, body, status, data)

        bodiless = method.upper() == "HEAD" or status in (204, 304) or 100 <= status < 200
        relayed = [(k, v) for k, v in resp_headers
                   if k.lower() not in _HOP_BY_HOP or (bodiless and k.lower() == "content-length")]
        if bodiless:
            return status, reason, relayed, b""  # a HEAD keeps the object's Content-Length
        relayed.append(("Content-Length", str(len(data))))
        return status, reason, relayed, data

    # -- what the request alone does not say ------------------------------------------------------

    def _resolve(self, pairs, key_id, h, body, region, upstream):
        resolved = []
        for action, resource in pairs:
            if action.lower() == "dynamodb:getrecords" and resource == "*":
                iterator = _json_body(body).get("ShardIterator")
                with self._lock:
                    resource = self._iterators.get(iterator, "*") if isinstance(iterator, str) else "*"
            elif (action.lower().startswith("kms:") and ":alias/" in resource
                  and action.lower() not in ("kms:createalias", "kms:updatealias", "kms:deletealias")):
                # IAM authorizes a KMS call against the key an alias names, not the alias.
                resource = self._alias_target(resource, key_id, region, upstream) or resource
            resolved.append((action, resource))
        return _unique(resolved)

    def _alias_target(self, alias_arn: str, key_id: str, region: str, upstream) -> str | None:
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        headers = [("Host", self._netloc), ("Content-Type", "application/x-amz-json-1.1"),
                   ("X-Amz-Target", "TrentService.DescribeKey"), ("X-Amz-Date", date),
                   # LocalStack checks no signature but reads account and region from the scope.
                   ("Authorization", f"AWS4-HMAC-SHA256 Credential={key_id}/{date[:8]}/{region}/kms/aws4_request, "
                                     "SignedHeaders=host;x-amz-date, Signature=0")]
        body = json.dumps({"KeyId": alias_arn}).encode()
        headers.append(("Content-Length", str(len(body))))
        own = upstream is None
        upstream = upstream or _Upstream(self._scheme, self._netloc, self.timeout)
        try:
            status, _, _, data = upstream.request("POST", "/", headers, body)
        except (OSError, http.client.HTTPException):
            return None
        finally:
            if own:
                upstream.close()
        arn = _json_body(data).get("KeyMetadata", {}).get("Arn") if status == 200 else None
        return arn if isinstance(arn, str) else None

    def _observe_streams(self, h, body, status, data):
        # Remember which stream each shard iterator belongs to, for GetRecords' resource.
        target = h.get("x-amz-target", "")
        if status != 200 or not target.startswith("DynamoDBStreams_"):
            return
        op = target.partition(".")[2]
        if op == "GetShardIterator":
            stream, issued = _json_body(body).get("StreamArn"), _json_body(data).get("ShardIterator")
        elif op == "GetRecords":
            with self._lock:
                stream = self._iterators.get(_json_body(body).get("ShardIterator"))
            issued = _json_body(data).get("NextShardIterator")
        else:
            return
        if isinstance(stream, str) and isinstance(issued, str):
            with self._lock:
                self._iterators[issued] = stream
                while len(self._iterators) > _ITERATOR_MEMORY:
                    del self._iterators[next(iter(self._iterators))]

    def _log_error(self):
        if self.verbose:
            traceback.print_exc(file=sys.stderr)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many function processes connect at once

    def __init__(self, *args, **kwargs):
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def track(self, connection: socket.socket, alive: bool):
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(connection)

    def close_connections(self):
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # a client hanging up mid-request is not news


class _Handler(http.server.BaseHTTPRequestHandler):
    proxy: IamProxy
    protocol_version = "HTTP/1.1"  # keep-alive: the Rust SDK (hyper) reuses connections
    disable_nagle_algorithm = True  # small answers must not wait for delayed ACKs

    def setup(self):
        super().setup()
        self.server.track(self.connection, True)
        self._upstream = _Upstream(self.proxy._scheme, self.proxy._netloc, self.proxy.timeout)

    def finish(self):
        try:
            super().finish()
        finally:
            self._upstream.close()
            self.server.track(self.connection, False)

    def log_message(self, format, *args):
        if self.proxy.verbose:
            super().log_message(format, *args)

    def _serve(self):
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._write(400, "Bad Request", [("Content-Type", "text/plain")], b"malformed request body")
            return
        try:
            status, reason, headers, payload = self.proxy.handle(
                self.command, self.path, list(self.headers.items()), body, self._upstream)
        except ResetConnection:
            # An injected fault: a TCP reset (no answer at all) instead of a response.
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            return
        except Exception:
            self.proxy._log_error()
            self.close_connection = True
            status, reason, headers, payload = 500, "Internal Server Error", [("Content-Type", "text/plain")], b"iam proxy error"
        self._write(status, reason, headers, payload)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _serve

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ValueError("connection closed inside a chunked body")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)  # the CRLF after the chunk
            while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers: nothing of ours needs them
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, status: int, reason: str, headers, body: bytes):
        # One write for status line, headers and body; Content-Length is always right (or, for
        # HEAD/204/304, the upstream's), so the client can keep the connection.
        head = self.command == "HEAD"  # a HEAD answer keeps its Content-Length but sends no body
        lines = [f"HTTP/1.1 {status} {reason or http.client.responses.get(status, '')}"]
        has_length = False
        for name, value in headers:
            has_length |= name.lower() == "content-length"
            lines.append(f"{name}: {value}")
        if not has_length and status not in (204, 304) and not 100 <= status < 200:
            lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        if not (head or status in (204, 304) or 100 <= status < 200):
            data += body
        self.wfile.write(data)
