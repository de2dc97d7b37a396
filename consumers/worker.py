"""The worker runtime: one integration on the consumer loop, as group `hub.<integration>`.

For each routed event: claim it in `processed_events` (done ⇒ skip; reserved and
unfinished ⇒ resume: ask the integration, then call again with the same idempotency
key), call the provider through the token bucket and the circuit breaker, retry in
process per the RetryPolicy, then through the retry topics, then dead-letter. The
interaction's record and `status='done'` are written in one transaction after the
provider answered. Every attempt, success, failure and dead letter becomes an
`integration.outcome` event on `hub.outcomes`.

Throughput: the claims of events that start together go to the database in one
statement, and the finished events of a few milliseconds share one transaction (group
commit), each with its own record and status; an event's outcome is acknowledged by the
broker before that transaction, and its offset is stored only after it committed.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from opentelemetry.trace import SpanKind

from consumers.acks import BatchedAcks
from consumers.dedupe import ProcessedEvents
from consumers.errors import CircuitOpen, ProviderError, classify_exception
from consumers.group_commit import Done, GroupCommit
from consumers.outcomes import OutcomeStatus, outcome_event
from consumers.policy import BreakerState, CircuitBreaker, RetryLadder, RetryPolicy, TokenBucket
from consumers.ports import Effect, Integration
from consumers.redact import redact
from hub import codec
from hub.consumer import ConsumerLoop, LoopSettings, Received
from hub.dlq import REDRIVEN_FROM
from hub.envelope import Event, utcnow
from hub.metrics import CIRCUIT_STATES, M, gauge_source
from hub.producer import HubProducer
from hub.provider_health import note_breaker
from hub.redelivery import FailureContext, failure_context, failure_headers
from hub.routing import IntegrationConfig
from hub.schemastore import SchemaStore
from hub.topics import Topics
from hub.tracing import span_from, tracer, tracing_enabled

__all__ = ["Worker"]

log = logging.getLogger(__name__)


class Worker:
    """Runs `integration` for the event types routed to it. Set `loop` before running so
    an open circuit can pause the partitions."""

    def __init__(
        self,
        integration: Integration,
        config: IntegrationConfig,
        routed: frozenset[str],
        *,
        pool: Any,
        producer: HubProducer,
        schemas: SchemaStore,
        topics: Topics,
    ) -> None:
        self.integration = integration
        self.config = config
        self.routed = routed
        self.name = config.name
        self.group = topics.group(config.name)
        self.topics = topics
        self.policy = RetryPolicy(config.retry.attempts, config.retry.base, config.retry.cap)
        self.ladder = RetryLadder(config.retry.topics)
        self.bucket = TokenBucket(config.rate_per_s, config.burst)
        b = config.breaker
        self.breaker = CircuitBreaker(b.failure_ratio, b.window_s, b.min_calls, b.cooldown_s,
                                      on_change=self._breaker_changed)
        _BREAKERS[self.name] = self.breaker
        gauge_source("hub.provider.circuit_state", "circuit breaker state per integration "
                     "(0 closed, 1 half-open, 2 open)", "1", _breaker_states)
        self._labels = {"integration": self.name, "provider": integration.provider}
        self.dedupe = ProcessedEvents(pool)
        self.stats: Counter[str] = Counter()
        self.loop: ConsumerLoop | None = None
        self._running: dict[str, asyncio.Future[None]] = {}
        self._pool = pool
        self._producer = producer
        self._schemas = schemas
        self._acks = BatchedAcks(producer)
        self._batches = GroupCommit(pool, self.dedupe, integration, self.group)
        self._tracing = tracing_enabled()

    async def close(self) -> None:
        """Wait for the database round trips already started (after the loop stopped)."""
        await self._batches.aclose()

    def retry_topics(self) -> list[str]:
        return [self.topics.retry(self.name, d) for d in self.ladder.delays]

    def loop_settings(self, **overrides: Any) -> LoopSettings:
        sources = sorted({self.topics.for_type(t) for t in self.routed})
        fields: dict[str, Any] = {
            "group_id": self.group,
            "topics": tuple(sources + self.retry_topics()),
            "dlq_topic": self.topics.dlq(self.name),
            "concurrency": self.config.concurrency,
            # librdkafka hands out a fetch's records partition by partition: with its 1 MB
            # default, a backlog arrives as runs of thousands of one partition's records,
            # and the other partitions' concurrency sits idle (docs/adr/0007).
            "librdkafka": {"max.partition.fetch.bytes": 64 * 1024},
        }
        fields.update(overrides)
        return LoopSettings(**fields)

    async def handle(self, msg: Received) -> None:
        """Do `msg`'s side effect once, or hand it to a retry or dead-letter topic."""
        event = msg.event
        if event.type not in self.routed:
            return
        # Copies of one event in two topics (a duplicate and its retry record) never run
        # at once in this process; the second then finds the first one's outcome.
        while (running := self._running.get(event.id)) is not None:
            await asyncio.shield(running)
        done = self._running[event.id] = asyncio.get_running_loop().create_future()
        started = time.monotonic()
        try:
            if self._tracing:
                # The event's traceparent links this to the request that wrote it.
                with span_from(f"{msg.topic} process", event.traceparent, kind=SpanKind.CONSUMER,
                               attributes={"messaging.system": "kafka",
                                           "messaging.destination.name": msg.topic,
                                           "messaging.consumer.group.name": self.group,
                                           "messaging.kafka.offset": msg.offset,
                                           "hub.event_id": event.id}):
                    result = await self._handle(msg)
            else:
                result = await self._handle(msg)
            M.processing_latency.record(time.monotonic() - started,
                                        {"integration": self.name, "result": result})
        finally:
            del self._running[event.id]
            done.set_result(None)

    async def _handle(self, msg: Received) -> str:
        """Returns what became of the event: skipped, succeeded, declined, retry, dead_lettered."""
        event = msg.event
        claim = await self._batches.claim(event.id, event.type)
        if claim.status == "dead_lettered" and msg.header(REDRIVEN_FROM) is not None:
            claim = await self.dedupe.reopen(self.group, event.id) or claim  # `hub dlq redrive`
        if claim.status in ("done", "dead_lettered"):
            self.stats["skipped_duplicate"] += 1
            return "skipped"
        ctx = failure_context(msg.headers, msg.topic, msg.partition, msg.offset)
        attempt = max(ctx.attempts, claim.attempts)
        first_failure = ctx.first_failure or claim.first_failure_at
        key = self.integration.idempotency_key(event)
        if claim.status == "reserved":
            self.stats["resumed" if ctx.stage is None else "retry_delivery"] += 1
            try:
                found = await self.integration.resolve_interrupted(event)
            except Exception as exc:
                if classify_exception(exc) is None:
                    raise
                found = None  # could not ask: perform decides, with the idempotency key
            if found is not None:
                return await self._succeed(msg, found, attempt, key)
        local = 0
        while True:
            attempt += 1
            local += 1
            await self._gate(msg)
            self._emit(event, "attempted", attempt, idempotency_key=key)
            try:
                effect = await self._call(event, key)
            except ProviderError as error:
                now = utcnow()
                first_failure = first_failure or now
                self._emit(event, "failed", attempt, idempotency_key=key, error=error,
                           request=error.request)
                delay = self.policy.next_delay(local, error)
                if delay is not None:
                    self.stats["retried_in_process"] += 1
                    M.retries.add(1, {"integration": self.name, "path": "in_process"})
                    log.info("%s: attempt %d failed (%s); retrying in %.2f s", self.name, attempt,
                             error, delay, extra=msg.log_extra())
                    await asyncio.sleep(delay)
                    continue
                return await self._give_up(msg, ctx, error, attempt, first_failure, now, key)
            return await self._succeed(msg, effect, attempt, key)

    async def _call(self, event: Event, key: str | None) -> Effect:
        if not self._tracing:
            return await self._call_provider(event, key)
        with tracer().start_as_current_span(
                f"{self.integration.provider} {self.integration.action(event)}",
                kind=SpanKind.CLIENT,
                attributes={"hub.integration": self.name, "hub.event_id": event.id,
                            "hub.idempotency_key": key or ""}):
            return await self._call_provider(event, key)

    async def _call_provider(self, event: Event, key: str | None) -> Effect:
        settled = False
        started = time.monotonic()
        try:
            effect = await self.integration.perform(event, key)
            self.breaker.record_success()
            settled = True
            self._called(started, "succeeded" if effect.ok else "declined")
            return effect
        except Exception as exc:
            error = classify_exception(exc)
            if error is None:
                raise
            self._called(started, type(error).__name__)
            if error.counts_against_provider:
                self.breaker.record_failure()
            elif not error.retriable:
                self.breaker.record_success()  # the provider answered; the input was bad
            else:
                self.breaker.record_neutral()
            settled = True
            if error is exc:
                raise
            raise error from exc
        finally:
            if not settled:  # cancelled or a bug: free a half-open probe slot
                self.breaker.record_neutral()

    def _called(self, started: float, outcome: str) -> None:
        M.provider_latency.record(time.monotonic() - started, self._labels)
        M.provider_calls.add(1, {**self._labels, "outcome": outcome})

    async def _gate(self, msg: Received) -> None:
        """Wait while the circuit is open (partitions paused meanwhile), then for a token."""
        while True:
            try:
                self.breaker.before_call()
                break
            except CircuitOpen as exc:
                wait = max(exc.retry_after or 0.0, 0.05)
                if self.loop is not None:
                    self.loop.pause_all("circuit_open", wait)
                await asyncio.sleep(wait)
        delay = self.bucket.reserve()
        if delay > 0:
            M.rate_limit_wait.record(delay, {"integration": self.name})
            await asyncio.sleep(delay)

    async def _succeed(self, msg: Received, effect: Effect, attempt: int, key: str | None) -> str:
        event = msg.event
        effect = replace(effect, request=redact(effect.request), response=redact(effect.response))
        status: OutcomeStatus = "succeeded" if effect.ok else "failed"
        # Outcome first (deterministic id), acknowledged before the commit: a crash in
        # between repeats both, never loses the outcome.
        outcome = self._build(event, status, attempt, provider_reference=effect.provider_reference,
                              idempotency_key=key, request=effect.request,
                              amount_minor=effect.amount_minor, currency=effect.currency,
                              error_message=None if effect.ok else effect.status)
        acked = self._acks.produce(self.topics.outcomes,
                                   codec.encode(self._schemas, outcome, validate=False),
                                   key=outcome.key, headers=outcome.headers())
        await self._batches.done(Done(event, effect, attempt, acked))
        result = "succeeded" if effect.ok else "declined"
        self.stats[result] += 1
        return result

    async def _give_up(
        self, msg: Received, ctx: FailureContext, error: ProviderError, attempt: int,
        first_failure: datetime, now: datetime, key: str | None,
    ) -> str:
        event = msg.event
        step = self.ladder.after(error, ctx.stage)
        common: dict[str, Any] = {
            "origin": ctx.origin, "group": self.group, "error_class": type(error).__name__,
            "error_message": str(error), "attempts": attempt, "first_failure": first_failure,
            "last_failure": now,
        }
        extra = {**msg.log_extra(), "attempts": attempt, "error_class": type(error).__name__}
        if step.action == "retry" and step.delay is not None:
            topic = self.topics.retry(self.name, step.delay)
            wait = max(float(step.seconds), error.retry_after or 0.0)
            headers = failure_headers(msg.headers, stage=step.delay,
                                      due=now + timedelta(seconds=wait), **common)
            await self._producer.produce(topic, msg.value, key=msg.key, headers=headers)
            await self.dedupe.failed(self.group, event.id, attempt, str(error), now)
            self.stats["retry_scheduled"] += 1
            M.retries.add(1, {"integration": self.name, "path": "retry_topic"})
            log.warning("%s: giving the event to %s after %d attempts: %s", self.name, topic,
                        attempt, error, extra={**extra, "retry_topic": topic})
            return "retry"
        dlq = self.topics.dlq(self.name)
        await self._producer.produce(dlq, msg.value, key=msg.key,
                                     headers=failure_headers(msg.headers, **common))
        record = Effect(action=self.integration.action(event), status="dead_lettered",
                        provider_reference=None, request=redact(error.request or {}),
                        response=redact(error.response), ok=False)
        # Outcome before the commit, as for a success: a crash in between repeats it.
        await self._outcome(event, "dead_lettered", attempt, idempotency_key=key, error=error,
                            request=error.request)
        async with self._pool.acquire() as conn, conn.transaction():
            if await self.dedupe.finish(conn, self.group, event.id, "dead_lettered", attempt,
                                        str(error)):
                await self.integration.record(conn, event, record)
        self.stats["dead_lettered"] += 1
        M.dead_letters.add(1, {"group": self.group})
        log.error("%s: event dead-lettered to %s after %d attempts: %s", self.name, dlq, attempt,
                  error, extra={**extra, "dlq_topic": dlq})
        return "dead_lettered"

    def _emit(self, event: Event, status: OutcomeStatus, attempt: int, **kw: Any) -> None:
        """Queue an attempt/failure outcome without waiting; a later awaited outcome on
        the same key (partition) is acknowledged only after it (idempotent producer)."""
        outcome = self._build(event, status, attempt, **kw)
        self._producer.produce_nowait(self.topics.outcomes,
                                      codec.encode(self._schemas, outcome, validate=False),
                                      key=outcome.key, headers=outcome.headers(),
                                      on_delivery=_log_failed_delivery)

    async def _outcome(self, event: Event, status: OutcomeStatus, attempt: int, **kw: Any) -> None:
        outcome = self._build(event, status, attempt, **kw)
        await self._producer.produce(self.topics.outcomes,
                                     codec.encode(self._schemas, outcome, validate=False),
                                     key=outcome.key, headers=outcome.headers())

    def _build(self, event: Event, status: OutcomeStatus, attempt: int, **kw: Any) -> Event:
        return outcome_event(group=self.group, integration=self.name,
                             provider=self.integration.provider,
                             action=self.integration.action(event), event=event, status=status,
                             attempt=attempt, now=utcnow(), **kw)

    def _breaker_changed(self, old: BreakerState, new: BreakerState, why: str) -> None:
        self.stats[f"breaker_{new}"] += 1
        level = logging.WARNING if new == "open" else logging.INFO
        log.log(level, "%s: circuit %s -> %s (%s)", self.name, old, new, why,
                extra={"integration": self.name, "group": self.group, "breaker": new})
        # For the operator page (the ingress reads it; workers do not serve it).
        note_breaker(self._pool, self.name, self.group, self.integration.provider, new, why)


# Every breaker in this process, for the circuit-state gauge (read at scrape time).
_BREAKERS: dict[str, CircuitBreaker] = {}


def _breaker_states() -> list[tuple[float, dict[str, Any]]]:
    return [(float(CIRCUIT_STATES[b.last_state]), {"integration": name})
            for name, b in list(_BREAKERS.items())]


def _log_failed_delivery(err: Any, msg: Any) -> None:
    if err is not None:
        log.warning("outcome event not acknowledged: %s", err)
