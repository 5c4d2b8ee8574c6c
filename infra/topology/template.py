"""The deployed shape, read from template.yaml the way SAM deploys it.

`template.yaml` is expanded with aws-sam-translator (the transform SAM and CloudFormation run), and
the result's intrinsic functions are resolved against the data-plane stack deployed on LocalStack
(infra/stack/dataplane.py). What AWS would create for the functions (roles, the REST API and its
stage, event source mappings, schedules, the CDN) is read from that expanded template, so the local
topology runs what the template says, not a copy of it.
"""

import copy
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "000000000000"

# AWS managed policies the SAM transform attaches, with the statements that matter locally (the
# calls the event source pollers make with the function's role). Logs and X-Ray calls do not go
# through the local AWS endpoint.
AWS_MANAGED = {
    "AWSLambdaBasicExecutionRole": [],
    "AWSXrayWriteOnlyAccess": [],
    "AWSXRayDaemonWriteAccess": [],
    "AWSLambdaDynamoDBExecutionRole": [{
        "Effect": "Allow",
        "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                   "dynamodb:ListStreams"],
        "Resource": "*",
    }],
    "AWSLambdaSQSQueueExecutionRole": [{
        "Effect": "Allow",
        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        "Resource": "*",
    }],
}


# The one YAML reader of the template's short-form intrinsics (!Ref, !GetAtt, ...).
sys.path.insert(0, str(ROOT / "infra" / "stack"))
from dataplane import CfnLoader  # noqa: E402


def load(path):
    import yaml
    return yaml.load(Path(path).read_text(), Loader=CfnLoader)


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs by name; the template names none."""

    def load(self):
        return {}


def translate(template, parameters, region):
    """The template after the SAM transform (plain CloudFormation), as SAM would deploy it."""
    import os
    from samtranslator.translator.transform import transform
    os.environ.setdefault("AWS_DEFAULT_REGION", region)  # the translator asks a boto3 session
    values = {"AWS::Region": region, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
              "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "local", "AWS::NoValue": None}
    for name, spec in template.get("Parameters", {}).items():
        values[name] = parameters.get(name, spec.get("Default"))
    packaged = copy.deepcopy(template)
    # As `sam package` leaves it: code in S3 (the local topology runs the built binaries instead).
    for r in packaged["Resources"].values():
        if r["Type"] == "AWS::Serverless::Function" and isinstance(r["Properties"].get("CodeUri"), str):
            r["Properties"]["CodeUri"] = f"s3://local-code/{r['Properties']['CodeUri']}"
    return transform(packaged, values, _NoManagedPolicies())


class Unresolvable(Exception):
    pass


NO_VALUE = object()


class Resolver:
    """Evaluates intrinsic functions: parameters and conditions of the template, physical ids of
    the data-plane stack, and synthesized names for what only exists in the local topology."""

    def __init__(self, template, parameters, region, physical, attributes):
        self.t = template
        self.region = region
        self.params = {"AWS::Region": region, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                       "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "local"}
        for name, spec in template.get("Parameters", {}).items():
            value = parameters.get(name, spec.get("Default"))
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [v for v in value.split(",")] if value else [""]
            self.params[name] = value
        self.physical = physical      # logical id -> physical id (Ref)
        self.attributes = attributes  # (logical id, attribute) -> value (GetAtt)
        self.conditions = {}

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(self.t["Conditions"][name]))
        return self.conditions[name]

    def ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.params:
            return self.params[name]
        if name in self.physical:
            return self.physical[name]
        raise Unresolvable(f"Ref {name}")

    def getatt(self, name, attribute):
        key = (name, attribute)
        if key in self.attributes:
            return self.attributes[key]
        raise Unresolvable(f"GetAtt {name}.{attribute}")

    def sub(self, text, extra=None):
        def one(m):
            token = m.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if extra and token in extra:
                return str(self.value(extra[token]))
            if "." in token:
                name, attribute = token.split(".", 1)
                return str(self.getatt(name, attribute))
            return str(self.ref(token))
        return re.sub(r"\$\{([^}]+)\}", one, text)

    def value(self, node):
        if isinstance(node, list):
            out = [self.value(v) for v in node]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(name, attribute)
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg)
                return self.sub(arg[0], arg[1])
            if key == "Fn::If":
                return self.value(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                a, b = (self.value(v) for v in arg)
                # CloudFormation compares parameter values as strings (a Number parameter is "0").
                scalar = (str, int, float)
                if isinstance(a, scalar) and isinstance(b, scalar) and not isinstance(a, bool) and not isinstance(b, bool):
                    return str(a) == str(b)
                return a == b
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(v) for v in arg)
            if key == "Fn::Or":
                return any(self.value(v) for v in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                sep, items = arg
                items = self.value(items)
                return sep.join(str(i) for i in (items if isinstance(items, list) else [items]))
            if key == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if key == "Fn::Split":
                return str(self.value(arg[1])).split(arg[0])
        out = {}
        for k, v in node.items():
            v = self.value(v)
            if v is not NO_VALUE:
                out[k] = v
        return out


def reserved_concurrency(value):
    """A function's ReservedConcurrentExecutions, resolved: None when the template leaves it out."""
    return None if value is None or value is NO_VALUE else int(value)


@dataclass
class Function:
    logical_id: str
    name: str            # the deployed function name
    binary: str          # the cargo binary (functions/<dir>'s package)
    env: dict
    timeout: int
    memory: int
    role_arn: str
    statements: list
    reserved_concurrency: int | None = None


@dataclass
class Topology:
    region: str
    stage: str
    functions: dict = field(default_factory=dict)        # logical id -> Function
    swagger: dict = field(default_factory=dict)          # the REST API's definition
    stage_settings: dict = field(default_factory=dict)   # the API stage (MethodSettings)
    stream_mappings: list = field(default_factory=list)  # event source mappings (stream)
    queue_mappings: list = field(default_factory=list)   # event source mappings (SQS)
    schedules: list = field(default_factory=list)        # schedules
    cdn: dict = field(default_factory=dict)              # function code, cache policy, bucket
    function_by_arn: dict = field(default_factory=dict)


def _data_resource(lid, rtype, name, region, physical, attributes):
    """Ref and GetAtt values of a data-plane resource named `name`, as AWS derives them from the
    name. False for other types."""
    if rtype == "AWS::DynamoDB::Table":
        physical[lid] = name
        attributes[(lid, "Arn")] = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"
        attributes[(lid, "StreamArn")] = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}/stream/local"
    elif rtype == "AWS::SQS::Queue":
        physical[lid] = f"http://sqs.local/{ACCOUNT}/{name}"
        attributes[(lid, "Arn")] = f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"
        attributes[(lid, "QueueName")] = name
    elif rtype == "AWS::S3::Bucket":
        physical[lid] = name
        attributes[(lid, "Arn")] = f"arn:aws:s3:::{name}"
        attributes[(lid, "RegionalDomainName")] = f"{name}.s3.{region}.amazonaws.com"
        attributes[(lid, "DomainName")] = f"{name}.s3.amazonaws.com"
    elif rtype == "AWS::KMS::Key":
        physical[lid] = name
        attributes[(lid, "Arn")] = f"arn:aws:kms:{region}:{ACCOUNT}:key/{name}"
        attributes[(lid, "KeyId")] = name
    elif rtype == "AWS::Events::EventBus":
        physical[lid] = name
        attributes[(lid, "Name")] = name
        attributes[(lid, "Arn")] = f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{name}"
    else:
        return False
    return True


def stack_facts(stack, region):
    """Ref and GetAtt values of the data-plane resources deployed as `stack` on LocalStack."""
    import boto3
    cfn = boto3.client("cloudformation", region_name=region)
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    physical, attributes = {}, {}
    ddb = boto3.client("dynamodb", region_name=region)
    for r in resources:
        lid, pid, rtype = r["LogicalResourceId"], r["PhysicalResourceId"], r["ResourceType"]
        # Queues' and keys' physical ids are a URL and an ARN: the name is their last segment.
        if not _data_resource(lid, rtype, pid.rstrip("/").rsplit("/", 1)[-1], region, physical, attributes):
            physical[lid] = pid
        if rtype == "AWS::SQS::Queue":
            physical[lid] = pid  # the queue's real URL
        elif rtype == "AWS::DynamoDB::Table":
            stream = ddb.describe_table(TableName=pid)["Table"].get("LatestStreamArn")
            if stream:
                attributes[(lid, "StreamArn")] = stream
            else:
                del attributes[(lid, "StreamArn")]
        elif rtype == "AWS::IAM::ManagedPolicy":
            attributes[(lid, "PolicyArn")] = pid
    return physical, attributes


def _synthesize(lid, rtype, stack, region, cdn_host, physical, attributes):
    """The physical id and attributes AWS would give a resource the local stack lacks (the
    functions, roles, API and CDN; everything, when reading the template offline)."""
    name = f"{stack}-{lid}"
    if _data_resource(lid, rtype, name, region, physical, attributes):
        attributes[(lid, "Id")] = physical[lid]
        return
    physical[lid] = name
    arn = None
    if rtype == "AWS::Lambda::Function":
        arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
    elif rtype == "AWS::IAM::Role":
        arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    elif rtype == "AWS::IAM::ManagedPolicy":
        physical[lid] = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
    elif rtype == "AWS::ApiGateway::RestApi":
        physical[lid] = "local"
        attributes[(lid, "RootResourceId")] = "root"
    elif rtype == "AWS::CloudFront::Distribution":
        physical[lid] = "LOCALCDN"
        attributes[(lid, "DomainName")] = cdn_host
    elif rtype == "AWS::CloudFront::Function":
        arn = f"arn:aws:cloudfront::{ACCOUNT}:function/{lid}"
        attributes[(lid, "FunctionMetadata.FunctionARN")] = arn
    if arn:
        attributes[(lid, "Arn")] = arn
    attributes[(lid, "Id")] = physical[lid]


def read(template_path, stack, region, parameters, cdn_url, facts=None):
    """The topology the template describes, resolved against the deployed data-plane stack
    (`facts`: (physical ids, attributes) instead of asking LocalStack, e.g. offline tests)."""
    source = load(template_path)
    translated = translate(source, parameters, region)
    resources = translated["Resources"]
    physical, attributes = facts if facts is not None else stack_facts(stack, region)
    physical, attributes = dict(physical), dict(attributes)
    cdn_host = cdn_url.split("://", 1)[1]
    # What the data-plane stack does not hold: names AWS would generate.
    for lid, r in resources.items():
        if lid not in physical:
            _synthesize(lid, r["Type"], stack, region, cdn_host, physical, attributes)
    resolver = Resolver(translated, parameters, region, physical, attributes)
    topo = Topology(region=region, stage=str(resolver.params.get("Stage", "")))
    originals = source["Resources"]
    globals_env = source.get("Globals", {}).get("Function", {})

    def policies_of(role):
        statements = []
        props = resolver.value(role["Properties"])
        for p in props.get("Policies", []):
            doc = p["PolicyDocument"]
            statements += doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        for arn in props.get("ManagedPolicyArns", []):
            name = arn.rsplit("/", 1)[-1]
            if arn.startswith("arn:aws:iam::aws:policy/"):
                if name not in AWS_MANAGED:
                    raise Unresolvable(f"AWS managed policy {arn}: add its statements to AWS_MANAGED")
                statements += AWS_MANAGED[name]
                continue
            owner = next((lid for lid, pid in physical.items() if pid == arn), None)
            if owner is None:
                raise Unresolvable(f"managed policy {arn}")
            doc = resolver.value(resources[owner]["Properties"]["PolicyDocument"])
            statements += doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        return statements

    for lid, r in resources.items():
        if r["Type"] != "AWS::Lambda::Function":
            continue
        props = r["Properties"]
        env = resolver.value(props.get("Environment", {}).get("Variables", {}))
        role_ref = props["Role"]
        role_lid = role_ref["Fn::GetAtt"][0] if "Fn::GetAtt" in role_ref else None
        code_uri = originals[lid]["Properties"].get("CodeUri") or globals_env.get("CodeUri")
        cargo = tomllib.loads((ROOT / code_uri / "Cargo.toml").read_text())
        binary = cargo["package"]["name"]
        fn = Function(
            logical_id=lid,
            name=physical[lid],
            binary=binary,
            env={k: str(v) for k, v in env.items()},
            timeout=int(resolver.value(props.get("Timeout", 3))),
            memory=int(resolver.value(props.get("MemorySize", 128))),
            role_arn=attributes[(lid + "Role", "Arn")] if role_lid is None else attributes[(role_lid, "Arn")],
            statements=policies_of(resources[role_lid]) if role_lid else [],
            reserved_concurrency=reserved_concurrency(resolver.value(props.get("ReservedConcurrentExecutions"))),
        )
        topo.functions[lid] = fn
        topo.function_by_arn[attributes[(lid, "Arn")]] = lid

    def function_of(node):
        value = resolver.value(node)
        if isinstance(value, str):
            for arn, lid in topo.function_by_arn.items():
                if value in (arn, physical[lid]) or f"{arn}/" in value:
                    return lid
        raise Unresolvable(f"function of {node}")

    for lid, r in resources.items():
        rtype = r["Type"]
        if rtype == "AWS::ApiGateway::RestApi":
            topo.swagger = resolver.value(r["Properties"]["Body"])
        elif rtype == "AWS::ApiGateway::Stage":
            topo.stage_settings = resolver.value(r["Properties"])
        elif rtype == "AWS::Lambda::EventSourceMapping":
            props = resolver.value(r["Properties"])
            props["Function"] = function_of(r["Properties"]["FunctionName"])
            (topo.queue_mappings if ":sqs:" in props["EventSourceArn"] else topo.stream_mappings).append(props)
        elif rtype in ("AWS::Scheduler::Schedule", "AWS::Events::Rule"):
            props = resolver.value(r["Properties"])
            target = props["Target"] if "Target" in props else props["Targets"][0]
            props["Function"] = function_of(target["Arn"])
            topo.schedules.append(props)
        elif rtype == "AWS::CloudFront::Function":
            topo.cdn.setdefault("functions", {})[f"arn:aws:cloudfront::{ACCOUNT}:function/{lid}"] = \
                r["Properties"]["FunctionCode"]
        elif rtype == "AWS::CloudFront::CachePolicy":
            topo.cdn.setdefault("cache_policies", {})[lid] = resolver.value(r["Properties"])["CachePolicyConfig"]
        elif rtype == "AWS::CloudFront::Distribution":
            topo.cdn["distribution"] = resolver.value(r["Properties"])["DistributionConfig"]
    # The swagger names functions by ARN in integration URIs: keep the logical ids beside.
    for path, methods in topo.swagger.get("paths", {}).items():
        for method, spec in methods.items():
            integration = spec.get("x-amazon-apigateway-integration") if isinstance(spec, dict) else None
            if integration:
                integration["x-local-function"] = function_of(integration["uri"])
    for name, scheme in topo.swagger.get("securityDefinitions", {}).items():
        auth = scheme.get("x-amazon-apigateway-authorizer")
        if auth:
            auth["x-local-function"] = function_of(auth["authorizerUri"])
    # The CDN's cache policy, by id (the template refers to it by Ref).
    behavior = topo.cdn.get("distribution", {}).get("DefaultCacheBehavior", {})
    policy_id = behavior.get("CachePolicyId")
    for lid, config in topo.cdn.get("cache_policies", {}).items():
        if physical.get(lid) == policy_id:
            topo.cdn["cache_policy"] = config
    origin = topo.cdn.get("distribution", {}).get("Origins", [{}])[0]
    topo.cdn["bucket"] = origin.get("DomainName", "").split(".s3.", 1)[0]
    return topo

