"""Fault rules (faults.py): which calls they pick, for how long, and the answers they give."""

import json
import random
import time
import unittest
import xml.etree.ElementTree as ElementTree

from faults import Faults, error_answer, validate
from iam import ResetConnection


class FaultRulesTest(unittest.TestCase):
    def test_rules_pick_by_principal_action_and_resource(self):
        f = Faults()
        f.add({"principal": "*", "action": "dynamodb:*", "resource": "/Statuses", "count": 5,
               "status": 400, "code": "ProvisionedThroughputExceededException"})
        self.assertIsNone(f("IssueFunction", "kms:Sign", "arn:...:table/Statuses"))
        self.assertIsNone(f("IssueFunction", "dynamodb:PutItem", "arn:...:table/Lists"))
        status, headers, body = f("IssueFunction", "dynamodb:PutItem", "arn:...:table/Statuses")
        self.assertEqual((status, headers["x-amzn-ErrorType"]), (400, "ProvisionedThroughputExceededException"))
        self.assertEqual(json.loads(body)["__type"], "ProvisionedThroughputExceededException")
        self.assertEqual(f.injected, 1)

    def test_count_and_seconds_end_a_rule(self):
        f = Faults()
        f.add({"principal": "P", "action": "kms:Sign", "count": 2})
        self.assertIsNotNone(f("P", "kms:Sign", "k"))
        self.assertIsNotNone(f("P", "KMS:sign", "k"))
        self.assertIsNone(f("P", "kms:Sign", "k"))
        f.add({"principal": "P", "action": "kms:Sign", "seconds": 0.2})
        self.assertIsNotNone(f("P", "kms:Sign", "k"))
        time.sleep(0.25)
        self.assertIsNone(f("P", "kms:Sign", "k"))
        f.add({"principal": "P", "action": "*", "seconds": 60})
        f.clear()
        self.assertIsNone(f("P", "s3:GetObject", "b/k"))
        self.assertEqual([r["injected"] for r in f.snapshot()], [2, 1, 0])

    def test_rate_picks_that_share_of_calls(self):
        f = Faults(rng=random.Random(7))
        f.add({"principal": "*", "action": "*", "rate": 0.25, "seconds": 60, "label": "quarter"})
        hits = sum(f("P", "s3:PutObject", "b/k") is not None for _ in range(4000))
        self.assertTrue(850 < hits < 1150, hits)
        self.assertEqual(f.snapshot()[0]["label"], "quarter")

    def test_delays_then_lets_through_and_resets_raise(self):
        f = Faults()
        f.add({"principal": "P", "action": "s3:GetObject", "delay_ms": 150, "count": 1})
        started = time.monotonic()
        self.assertIsNone(f("P", "s3:GetObject", "b/k"))
        self.assertGreaterEqual(time.monotonic() - started, 0.15)
        f.add({"principal": "P", "action": "sqs:SendMessage", "kind": "reset", "after": True, "count": 1})
        with self.assertRaises(ResetConnection) as raised:
            f("P", "sqs:SendMessage", "q")
        self.assertTrue(raised.exception.after)

    def test_each_service_answers_in_its_own_shape(self):
        status, headers, body = error_answer("s3:PutObject", 503, "SlowDown")
        self.assertEqual((status, headers["Content-Type"]), (503, "application/xml"))
        self.assertEqual(ElementTree.fromstring(body).findtext("Code"), "SlowDown")
        _, headers, body = error_answer("kms:Sign", 400, "ThrottlingException")
        self.assertEqual(headers["Content-Type"], "application/x-amz-json-1.1")
        self.assertEqual(json.loads(body)["__type"], "ThrottlingException")
        _, headers, _ = error_answer("sqs:SendMessageBatch", 400, "RequestThrottled")
        self.assertEqual(headers["x-amzn-query-error"], "RequestThrottled;Sender")
        _, headers, _ = error_answer("dynamodb:Query", 500, "InternalServerError")
        self.assertEqual(headers["Content-Type"], "application/x-amz-json-1.0")

    def test_bad_rules_are_refused(self):
        for rule, message in [
            ({"action": "kms:Sign", "count": 1}, "principal"),
            ({"principal": "P", "action": "kms:Sign"}, "count or seconds"),
            ({"principal": "P", "action": "kms:Sign", "count": 1, "kind": "explode"}, "kind"),
            ({"principal": "P", "action": "kms:Sign", "count": 1, "rate": 0}, "rate"),
            ({"principal": "P", "action": "kms:Sign", "count": 1, "kind": "delay"}, "delay_ms"),
        ]:
            with self.assertRaises(ValueError) as refused:
                validate(rule)
            self.assertIn(message, str(refused.exception))


if __name__ == "__main__":
    unittest.main()
