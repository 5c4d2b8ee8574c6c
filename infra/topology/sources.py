"""Event sources as Lambda runs them, from the template's event source mappings and schedules:
- a DynamoDB stream -> function: batches up to BatchSize within the batching window, in order per
  shard; a failed batch is retried (bisected when BisectBatchOnFunctionError) and the shard waits
  until it succeeds, MaximumRetryAttempts runs out (-1: never), or MaximumRecordAgeInSeconds passes;
  then the batch's metadata goes to the on-failure destination;
- an SQS queue -> function: batches up to BatchSize; with ReportBatchItemFailures only the
  reported messages stay on the queue; a function error leaves the whole batch; the queue's own
  redrive policy moves a message received maxReceiveCount times to its dead-letter queue;
- a schedule -> function: one invocation per tick, retried per its RetryPolicy.
The pollers call AWS with the function's role (its own access key id), as the mappings do.
"""

import datetime
import json
import re
import threading
import time
import uuid

from runtime import InvocationError


def _plain(value):
    """boto3's shapes as the JSON Lambda delivers (datetimes as epoch seconds)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return value


class StreamSource:
    RETRY_FIRST, RETRY_MAX = 0.1, 1.0  # between retries of a failed batch

    def __init__(self, mapping, pool, streams, sqs, region, log, stopping, queue_url_of):
        self.m = mapping
        self.pool = pool
        self.streams = streams
        self.sqs = sqs
        self.region = region
        self.log = log
        self.stopping = stopping
        self.arn = mapping["EventSourceArn"]
        self.batch_size = int(mapping.get("BatchSize", 100))
        self.window = float(mapping.get("MaximumBatchingWindowInSeconds", 0))
        self.retries = int(mapping.get("MaximumRetryAttempts", -1))
        self.max_age = int(mapping.get("MaximumRecordAgeInSeconds", -1))
        self.bisect = bool(mapping.get("BisectBatchOnFunctionError", False))
        self.destination = (mapping.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        self.queue_url_of = queue_url_of
        self.iterators = {}   # shard id -> iterator
        self.done_shards = set()
        self.invocations = 0
        self.failures = 0
        self.discarded = 0

    def start(self):
        threading.Thread(target=self._run, daemon=True, name=f"stream-{self.pool.function.logical_id}").start()

    def _discover(self):
        description = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]
        start = self.m.get("StartingPosition", "LATEST")
        for shard in description["Shards"]:
            sid = shard["ShardId"]
            if sid in self.iterators or sid in self.done_shards:
                continue
            parent = shard.get("ParentShardId")
            if parent and parent in self.iterators:
                continue  # children start once the parent is done, as Lambda keeps order
            self.iterators[sid] = self.streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=sid, ShardIteratorType=start)["ShardIterator"]

    def _run(self):
        last_discovery = 0.0
        while not self.stopping.is_set():
            try:
                if time.monotonic() - last_discovery > 10 or not self.iterators:
                    self._discover()
                    last_discovery = time.monotonic()
                busy = False
                for sid in list(self.iterators):
                    busy |= self._poll_shard(sid)
                if not busy:
                    time.sleep(0.2)
            except Exception as e:  # a poller never dies: log and go on, as Lambda's would
                self.log(f"stream poller: {e}")
                time.sleep(1)

    def _poll_shard(self, sid):
        records, iterator = [], self.iterators[sid]
        window_end = time.monotonic() + self.window
        while len(records) < self.batch_size:
            got = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size - len(records))
            records += got.get("Records", [])
            iterator = got.get("NextShardIterator")
            if iterator is None or not records or time.monotonic() >= window_end or self.stopping.is_set():
                break
            time.sleep(0.05)
        if records:
            self._deliver([_plain(r) for r in records])
        if iterator is None:
            del self.iterators[sid]
            self.done_shards.add(sid)
        else:
            self.iterators[sid] = iterator
        return bool(records)

    def _event(self, records):
        for r in records:
            r["eventSourceARN"] = self.arn
        return {"Records": records}

    def _deliver(self, records):
        """Invokes until the batch succeeds; the shard waits meanwhile (order is kept)."""
        pending = [records]
        while pending and not self.stopping.is_set():
            batch = pending.pop(0)
            attempts, delay = 0, self.RETRY_FIRST
            while not self.stopping.is_set():
                self.invocations += 1
                try:
                    self.pool.invoke(self._event([dict(r) for r in batch]))
                    break
                except InvocationError as e:
                    self.failures += 1
                    attempts += 1
                    oldest = min(r["dynamodb"].get("ApproximateCreationDateTime", time.time()) for r in batch)
                    too_old = self.max_age >= 0 and time.time() - oldest > self.max_age
                    if (self.retries >= 0 and attempts > self.retries) or too_old:
                        self._give_up(batch, e)
                        break
                    if self.bisect and len(batch) > 1:
                        half = len(batch) // 2
                        pending[:0] = [batch[:half], batch[half:]]
                        batch = None
                        break
                    time.sleep(delay)
                    delay = min(delay * 2, self.RETRY_MAX)
            if batch is None:
                continue

    def _give_up(self, batch, error):
        self.discarded += len(batch)
        self.log(f"stream batch of {len(batch)} records given up after retries: {error}")
        if not self.destination:
            return
        # Only metadata, as AWS sends it: the records themselves are not in the message.
        first, last = batch[0]["dynamodb"]["SequenceNumber"], batch[-1]["dynamodb"]["SequenceNumber"]
        body = {
            "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": self.pool.arn,
                               "condition": "RetryAttemptsExhausted", "approximateInvokeCount": self.retries + 1},
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
            "DDBStreamBatchInfo": {"shardId": "", "startSequenceNumber": first, "endSequenceNumber": last,
                                   "batchSize": len(batch), "streamArn": self.arn},
        }
        url = self.queue_url_of(self.destination)
        self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))


class QueueSource:
    def __init__(self, mapping, pool, sqs, region, log, stopping, queue_url, pollers=4):
        self.m = mapping
        self.pool = pool
        self.sqs = sqs
        self.region = region
        self.log = log
        self.stopping = stopping
        self.arn = mapping["EventSourceArn"]
        self.batch_size = int(mapping.get("BatchSize", 10))
        self.partial = "ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or [])
        self.pollers = pollers
        self.url = queue_url   # the mapping knows its queue by ARN: no GetQueueUrl with the role
        self.invocations = 0

    def start(self):
        for i in range(self.pollers):
            threading.Thread(target=self._run, daemon=True, name=f"sqs-{i}").start()

    def _run(self):
        while not self.stopping.is_set():
            try:
                self._once()
            except Exception as e:
                self.log(f"queue poller: {e}")
                time.sleep(1)

    def _once(self):
        got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=self.batch_size,
                                       WaitTimeSeconds=1, AttributeNames=["All"],
                                       MessageAttributeNames=["All"])
        messages = got.get("Messages", [])
        if not messages:
            return
        records = [{
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": self.region,
        } for m in messages]
        self.invocations += 1
        try:
            answer = self.pool.invoke({"Records": records})
        except InvocationError as e:
            self.log(f"queue batch failed, left on the queue: {e}")
            return
        keep = set()
        if self.partial and isinstance(answer, dict) and answer.get("batchItemFailures"):
            ids = {m["MessageId"] for m in messages}
            failures = [f.get("itemIdentifier") for f in answer["batchItemFailures"]]
            if any(f not in ids for f in failures):
                return  # an unknown or empty id: Lambda treats the whole batch as failed
            keep = set(failures)
        done = [m for m in messages if m["MessageId"] not in keep]
        for i in range(0, len(done), 10):
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[i:i + 10])])


def rate_seconds(expression):
    m = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not m:
        raise ValueError(f"schedule {expression!r}: only rate(...) expressions are supported locally")
    return int(m.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[m.group(2).rstrip("s")]


class ScheduleSource:
    def __init__(self, schedule, pool, log, stopping, interval=None):
        self.pool = pool
        self.log = log
        self.stopping = stopping
        self.interval = interval or rate_seconds(schedule["ScheduleExpression"])
        target = schedule.get("Target", {})
        self.retries = int((target.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 185))
        self.ticks = 0

    def start(self):
        threading.Thread(target=self._run, daemon=True, name="schedule").start()

    def _run(self):
        while not self.stopping.wait(self.interval):
            self.ticks += 1
            for attempt in range(self.retries + 1):
                try:
                    self.pool.invoke({"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                                      "source": "aws.scheduler", "time": datetime.datetime.now(datetime.UTC).isoformat(),
                                      "detail": {}})
                    break
                except InvocationError as e:
                    self.log(f"scheduled invocation failed (attempt {attempt + 1}): {e}")
