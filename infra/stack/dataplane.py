"""Derives the data-plane template from template.yaml and deploys it to LocalStack.

Lambda functions cannot run in LocalStack without Docker, so the local stack is the production
template minus the functions and everything that only exists for them (the API, their event
sources and permissions), plus anything LocalStack's community edition cannot create. Deriving
it from the one template keeps local and production resources from drifting apart.

Usage: dataplane.py derive              print the derived template (JSON)
       dataplane.py deploy STACK OUT    deploy it as STACK and write its outputs to OUT (KEY=VALUE)
"""

import json
import re
import sys
import time
from pathlib import Path

import boto3
import botocore
import yaml

ROOT = Path(__file__).resolve().parents[2]

# Resources dropped outright: compute and its wiring (needs Docker in LocalStack), and the CDN
# (not in LocalStack's community edition; locally the API serves the token URLs itself).
DROP_TYPES = re.compile(
    r"^AWS::(Serverless::(Function|Api)|Lambda::.*|ApiGateway::.*|Scheduler::.*|Events::Rule"
    r"|CloudFront::.*|Pipes::.*|CloudWatch::Alarm|IAM::Role)$"
)


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(name):
    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for short in ["Ref", "Condition"]:
    CfnLoader.add_constructor(f"!{short}", _tag(short))
for short in ["GetAtt", "Sub", "If", "Not", "Equals", "And", "Or", "Join", "Select", "Split",
              "FindInMap", "GetAZs", "ImportValue", "Base64", "Cidr"]:
    CfnLoader.add_constructor(f"!{short}", _tag(f"Fn::{short}"))


def load_template(path=ROOT / "template.yaml"):
    return yaml.load(path.read_text(), Loader=CfnLoader)


def references(node):
    """Logical ids a node refers to (Ref, GetAtt, Sub)."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found.update(m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text))
                if isinstance(value, list):
                    found.update(references(value[1]))
            else:
                found.update(references(value))
    elif isinstance(node, list):
        for item in node:
            found.update(references(item))
    return found


def derive(template):
    resources = dict(template["Resources"])
    dropped = {name for name, r in resources.items() if DROP_TYPES.match(r["Type"])}
    changed = True
    while changed:  # drop whatever depends on something dropped
        changed = False
        for name, r in list(resources.items()):
            if name in dropped:
                continue
            deps = references(r) | set(r.get("DependsOn", []) if isinstance(r.get("DependsOn"), list)
                                        else [r["DependsOn"]] if r.get("DependsOn") else [])
            if deps & dropped:
                dropped.add(name)
                changed = True
    kept = {n: r for n, r in resources.items() if n not in dropped}
    outputs = {n: o for n, o in template.get("Outputs", {}).items() if not (references(o) & dropped)}
    derived = {k: v for k, v in template.items() if k not in ("Resources", "Outputs", "Globals", "Transform")}
    derived["Resources"] = kept
    derived["Outputs"] = outputs
    if any(r["Type"].startswith("AWS::Serverless::") for r in kept.values()):
        derived["Transform"] = template["Transform"]
    return derived, sorted(dropped)


def deploy(stack, out_path, parameters=None):
    derived, dropped = derive(load_template())
    body = json.dumps(derived)
    cfn = boto3.client("cloudformation")
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()]
    try:
        cfn.describe_stacks(StackName=stack)
        exists = True
    except botocore.exceptions.ClientError:
        exists = False
    started = time.time()
    try:
        if exists:
            cfn.update_stack(StackName=stack, TemplateBody=body, Parameters=params)
            waiter = cfn.get_waiter("stack_update_complete")
        else:
            cfn.create_stack(StackName=stack, TemplateBody=body, Parameters=params, OnFailure="DELETE")
            waiter = cfn.get_waiter("stack_create_complete")
        waiter.wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    except botocore.exceptions.ClientError as e:
        if "No updates are to be performed" not in str(e):
            raise
    except botocore.exceptions.WaiterError:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
        reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events
                   if "FAILED" in e["ResourceStatus"]]
        sys.exit(f"deploy: stack {stack} failed: " + "; ".join(reasons[:5]))
    apply_lifecycle_rules(cfn, stack, derived, parameters or {})
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    lines = [f"{o['OutputKey']}={o['OutputValue']}" for o in outputs]
    Path(out_path).write_text("\n".join(lines) + "\n")
    print(f"deploy: stack {stack} ready in {time.time() - started:.1f}s "
          f"({len(derived['Resources'])} resources; not deployed locally: {', '.join(dropped)})")


def lifecycle_rules(properties, parameters, defaults):
    """A bucket's LifecycleConfiguration in the S3 API's shape, with `Ref`s to parameters resolved.
    Only the rule fields the template uses are known: anything else stops the deploy, so a rule
    is never applied locally in part."""
    def value(v):
        if isinstance(v, dict) and set(v) == {"Ref"}:
            return int(parameters.get(v["Ref"], defaults[v["Ref"]]))
        return v

    rules = []
    for rule in properties["LifecycleConfiguration"]["Rules"]:
        unknown = set(rule) - {"Id", "Status", "NoncurrentVersionExpiration"}
        if unknown or set(rule.get("NoncurrentVersionExpiration", {})) - {"NoncurrentDays"}:
            sys.exit(f"deploy: lifecycle rule fields not applied locally: {sorted(unknown) or rule}")
        out = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": ""}}
        if "NoncurrentVersionExpiration" in rule:
            out["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": value(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])}
        rules.append(out)
    return rules


def apply_lifecycle_rules(cfn, stack, derived, parameters):
    """LocalStack's CloudFormation creates a bucket without its LifecycleConfiguration (and ignores
    it on update), so the deploy applies each bucket's rules itself, from the same template."""
    defaults = {n: p.get("Default") for n, p in derived.get("Parameters", {}).items()}
    s3 = boto3.client("s3")
    for name, resource in derived["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::S3::Bucket" or "LifecycleConfiguration" not in properties:
            continue
        bucket = cfn.describe_stack_resource(StackName=stack, LogicalResourceId=name)[
            "StackResourceDetail"]["PhysicalResourceId"]
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": lifecycle_rules(properties, parameters, defaults)})


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "derive":
        print(json.dumps(derive(load_template())[0], indent=1))
    elif len(sys.argv) >= 4 and sys.argv[1] == "deploy":
        deploy(sys.argv[2], sys.argv[3], dict(a.split("=", 1) for a in sys.argv[4:]))
    else:
        sys.exit(__doc__)
