"""Faults injected between the function processes and AWS (LocalStack), by the IAM proxy after its
IAM check: each rule picks calls by principal (a function's logical id, or "*"), action ("s3:PutObject",
"dynamodb:*", "*") and a resource substring, and then, for each picked call, with probability
`rate`:
  - "error": answers the call with that service's own error shape (S3's XML, the JSON protocols'
    `__type`, SQS's query-compatible code header), `status` and `code`;
  - "delay": holds the call `delay_ms`, then lets it through;
  - "reset": closes the connection with a TCP reset instead of answering; with `after`, the call
    reaches AWS first (its effect happens, its answer is lost).
A rule ends after `count` injections or `seconds` after it was added, whichever comes first (one of
the two is required). Each rule may carry a `label`; `snapshot()` reports what each injected.
"""

import json
import random
import threading
import time

from iam import ResetConnection

KINDS = ("error", "delay", "reset")

# The JSON protocols' content types; S3 answers XML; SQS (JSON 1.0, query-compatible) also names
# its code in a header.
_JSON_1_1 = {"kms", "events", "logs", "cloudwatch"}


def error_answer(action, status, code):
    """(status, headers, body) of an AWS error as `action`'s service sends it."""
    service = action.split(":", 1)[0].lower()
    if service == "s3":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>injected fault</Message></Error>").encode()
        return status, {"Content-Type": "application/xml"}, body
    content_type = "application/x-amz-json-1.1" if service in _JSON_1_1 else "application/x-amz-json-1.0"
    headers = {"Content-Type": content_type, "x-amzn-ErrorType": code}
    if service == "sqs":
        headers["x-amzn-query-error"] = f"{code};{'Sender' if status < 500 else 'Receiver'}"
    return status, headers, json.dumps({"__type": code, "message": "injected fault"}).encode()


def _matches(pattern, value):
    pattern, value = pattern.lower(), value.lower()
    if pattern in ("*", ""):
        return True
    if pattern.endswith(":*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def validate(rule):
    """The rule as stored, or ValueError naming what is wrong."""
    for key in ("principal", "action"):
        if not isinstance(rule.get(key), str) or not rule[key]:
            raise ValueError(f"{key} is required")
    if "count" not in rule and "seconds" not in rule:
        raise ValueError("count or seconds is required")
    kind = rule.get("kind") or ("delay" if "delay_ms" in rule else "error")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    rate = float(rule.get("rate", 1.0))
    if not 0 < rate <= 1:
        raise ValueError("rate must be in (0, 1]")
    if kind == "delay" and not isinstance(rule.get("delay_ms"), (int, float)):
        raise ValueError("delay_ms is required for a delay")
    stored = dict(rule, kind=kind, rate=rate, injected=0)
    stored["count"] = int(rule["count"]) if "count" in rule else None
    stored["until"] = time.monotonic() + float(rule["seconds"]) if "seconds" in rule else None
    stored.setdefault("resource", "")
    return stored


class Faults:
    """The rules in force; called by the IAM proxy for each allowed call."""

    def __init__(self, rng=None):
        self.rules = []
        self.lock = threading.Lock()
        self.injected = 0
        self.rng = rng or random.Random()

    def add(self, rule):
        stored = validate(rule)
        with self.lock:
            self.rules.append(stored)

    def clear(self):
        """Ends every rule (their counts stay in `snapshot`)."""
        with self.lock:
            for rule in self.rules:
                rule["count"] = 0

    def snapshot(self):
        with self.lock:
            return [{k: rule.get(k) for k in ("label", "principal", "action", "resource", "kind", "code",
                                               "status", "delay_ms", "after", "rate", "injected")}
                    for rule in self.rules]

    def _live(self, rule, now):
        return (rule["count"] is None or rule["count"] > 0) and (rule["until"] is None or now < rule["until"])

    def __call__(self, principal, action, resource):
        """None (let the call through, after any injected delay), an error answer, or raises
        ResetConnection."""
        now = time.monotonic()
        with self.lock:
            for rule in self.rules:
                if not (self._live(rule, now) and _matches(rule["principal"], principal)
                        and _matches(rule["action"], action) and rule["resource"] in resource):
                    continue
                if rule["rate"] < 1 and self.rng.random() >= rule["rate"]:
                    continue
                if rule["count"] is not None:
                    rule["count"] -= 1
                rule["injected"] += 1
                self.injected += 1
                chosen = rule
                break
            else:
                return None
        if chosen["kind"] == "delay":
            time.sleep(chosen["delay_ms"] / 1000)  # latency: the call then goes through
            return None
        if chosen["kind"] == "reset":
            raise ResetConnection(after=bool(chosen.get("after")))
        return error_answer(action, int(chosen.get("status", 503)), chosen.get("code", "ServiceUnavailable"))
