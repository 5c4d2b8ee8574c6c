"""Least privilege, from what the functions did: fails when a function's role holds a write, delete
or kms:Sign right (action on a resource pattern) that no call of that function used across the
suites, or when a function was refused a call (a right it needs and lacks).

Usage: least_privilege.py USAGE.json   (written by the topology: main.py --usage-file)
"""

import fnmatch
import json
import sys

# Rights that change or sign something: each must be earned by a use.
MUTATING = {
    "kms:sign",
    "dynamodb:putitem", "dynamodb:updateitem", "dynamodb:deleteitem", "dynamodb:batchwriteitem",
    "s3:putobject", "s3:deleteobject", "s3:deleteobjectversion",
    "sqs:sendmessage", "sqs:deletemessage", "sqs:changemessagevisibility", "sqs:purgequeue",
    "events:putevents",
}


def as_list(value):
    return value if isinstance(value, list) else [value]


def check(usage):
    problems, notes = [], []
    for lid, f in sorted(usage["functions"].items()):
        used = [(a.lower(), r) for a, r in f["used"]]
        for statement in f["statements"]:
            if statement.get("Effect") != "Allow" or "Action" not in statement:
                continue
            for action in as_list(statement["Action"]):
                held = [m for m in MUTATING if fnmatch.fnmatchcase(m, action.lower())]
                for right in held:
                    for resource in as_list(statement.get("Resource", "*")):
                        if not any(a == right and fnmatch.fnmatchcase(r, resource) for a, r in used):
                            problems.append(f"{lid} holds {right} on {resource} and never used it")
    for d in usage.get("denials", []):
        problems.append(f"{d['principal']} was refused {d['action']} on {d['resource']}")
    for lid, f in sorted(usage["functions"].items()):
        actions = sorted({a for a, _ in f["used"]})
        notes.append(f"{lid}: {', '.join(actions) or 'no AWS calls'}")
    return problems, notes


def main():
    usage = json.loads(open(sys.argv[1]).read())
    problems, notes = check(usage)
    print("least privilege: what each function called")
    for n in notes:
        print("  " + n)
    if problems:
        print("least privilege: FAILED")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print(f"least privilege: every write, delete and kms:Sign right of {len(usage['functions'])} functions was used")


if __name__ == "__main__":
    main()
