"""The request pipeline every simulator shares.

auth -> parse -> fault decision -> idempotency key -> latency -> operation -> call log.
Injected faults are answered before the idempotency layer (like a load balancer in
front of the API), so they are never saved for replay and a retry can succeed.
"""
from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from aiohttp import web

from hub.simulators.callbacks import CallbackSender
from hub.simulators.calllog import CallLog
from hub.simulators.faults import FaultConfig, FaultDecision, decide
from hub.simulators.idempotency import IdempotencyStore, SavedAnswer, fingerprint
from hub.simulators.params import ApiError, parse_body

__all__ = ["Operation", "Outcome", "ProviderStyle", "SimCore"]


class ProviderStyle(Protocol):
    """How one provider authenticates and shapes its errors."""

    idempotency_header: str | None

    def authenticate(self, request: web.Request) -> None:
        """Raise ApiError(401/404) unless the request carries the right credentials."""

    def render_error(self, error: ApiError) -> dict[str, Any]:
        """The provider's JSON error body for `error`."""


@dataclass(frozen=True)
class Outcome:
    """What an operation did. `then` runs once after a real (not replayed) execution,
    e.g. to schedule webhooks. `save=False` keeps the answer out of idempotent replay."""

    status: int
    body: dict[str, Any]
    effect: str | None = None
    ref: str | None = None
    client_reference: str | None = None
    then: Callable[[], None] | None = None
    save: bool = True


Operation = Callable[[web.Request, dict[str, Any]], Outcome]
Reference = Callable[[dict[str, Any]], str | None]


@dataclass
class SimCore:
    """Per-simulator state: faults, seeded RNG, call log, idempotency keys, callbacks."""

    name: str
    style: ProviderStyle
    initial_faults: FaultConfig
    seed: int
    calls: CallLog
    callbacks: CallbackSender
    faults: FaultConfig = field(init=False)
    rng: random.Random = field(init=False)
    keys: IdempotencyStore = field(init=False, default_factory=IdempotencyStore)
    on_reset: list[Callable[[], None]] = field(init=False, default_factory=list)
    initial_seed: int = field(init=False)

    def __post_init__(self) -> None:
        self.faults = self.initial_faults
        self.initial_seed = self.seed
        self.rng = random.Random(f"{self.seed}:{self.name}")

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(f"{seed}:{self.name}")

    def reset(self) -> None:
        """Back to start-up: empty log, keys and state, start-up faults, fresh RNG."""
        self.callbacks.cancel_all()
        self.calls.clear()
        self.keys.clear()
        self.faults = self.initial_faults
        self.reseed(self.initial_seed)
        for hook in self.on_reset:
            hook()

    async def serve(
        self, request: web.Request, operation: Operation, reference: Reference | None = None
    ) -> web.Response:
        header = self.style.idempotency_header
        key = request.headers.get(header) if header and request.method == "POST" else None
        params: dict[str, Any] = {}
        client_ref: str | None = None
        try:
            self.style.authenticate(request)
            if request.method == "GET":
                params = dict(request.query)
            else:
                params = parse_body(await request.read(), request.content_type)
            client_ref = reference(params) if reference is not None else None
        except ApiError as refused:
            return self._error(request, refused, params, key, client_ref)
        decision, self.faults = decide(self.faults, self.rng)
        if decision.kind != "ok" and not decision.effect_first:
            await asyncio.sleep(decision.latency_s + decision.hang_s)
            injected = _fault_error(decision)
            return self._error(request, injected, params, key, client_ref, fault=decision.kind)
        if key is None:
            await asyncio.sleep(decision.latency_s)
            return await self._execute(request, operation, params, None, client_ref, decision)
        return await self._with_key(request, operation, params, key, client_ref, decision)

    async def _with_key(
        self,
        request: web.Request,
        operation: Operation,
        params: dict[str, Any],
        key: str,
        client_ref: str | None,
        decision: FaultDecision,
    ) -> web.Response:
        fault = "timeout" if decision.kind == "timeout" else None
        lookup = self.keys.begin(key, fingerprint(request.method, request.path, params))
        if lookup.verdict == "new":
            try:
                await asyncio.sleep(decision.latency_s)
                return await self._execute(request, operation, params, key, client_ref, decision)
            finally:
                self.keys.release_unsaved(key)
        await asyncio.sleep(decision.latency_s + decision.hang_s)
        if lookup.verdict == "mismatch":
            refused = ApiError(400, "idempotency", _MISMATCH.format(key=key))
            return self._error(request, refused, params, key, client_ref, fault=fault)
        if lookup.verdict == "in_flight":
            refused = ApiError(409, "conflict", _IN_FLIGHT.format(key=key))
            return self._error(request, refused, params, key, client_ref, fault=fault)
        assert lookup.saved is not None
        saved = lookup.saved
        self.calls.record("in", request.method, request.path, saved.status, body=params,
                          idempotency_key=key, client_reference=client_ref, replayed=True,
                          fault=fault)
        headers = {**dict(saved.headers), "Idempotent-Replayed": "true"}
        return _response(saved.status, saved.body, headers)

    async def _execute(
        self,
        request: web.Request,
        operation: Operation,
        params: dict[str, Any],
        key: str | None,
        client_ref: str | None,
        decision: FaultDecision,
    ) -> web.Response:
        fault = "timeout" if decision.kind == "timeout" else None
        try:
            outcome = operation(request, params)
        except ApiError as refused:
            return self._error(request, refused, params, key, client_ref, fault=fault)
        body = orjson.dumps(outcome.body)
        if key is not None and outcome.save:
            self.keys.save(key, SavedAnswer(outcome.status, body))
        self.calls.record(
            "in", request.method, request.path, outcome.status, body=params,
            idempotency_key=key, client_reference=outcome.client_reference or client_ref,
            effect=outcome.effect, ref=outcome.ref, fault=fault,
        )
        if outcome.then is not None:
            outcome.then()
        if decision.kind == "timeout":
            await asyncio.sleep(decision.hang_s)
        return _response(outcome.status, body)

    def _error(
        self,
        request: web.Request,
        error: ApiError,
        params: dict[str, Any],
        key: str | None,
        client_ref: str | None,
        *,
        fault: str | None = None,
    ) -> web.Response:
        self.calls.record("in", request.method, request.path, error.status, body=params,
                          idempotency_key=key, client_reference=client_ref, fault=fault,
                          extra={"error": error.message})
        headers = {}
        if error.retry_after_s is not None:
            headers["Retry-After"] = str(error.retry_after_s)
        return _response(error.status, orjson.dumps(self.style.render_error(error)), headers)


_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were "
    "first used with. Try using a key other than '{key}' if you meant to execute a "
    "different request."
)
_IN_FLIGHT = (
    "There is currently another in-progress request using this idempotency key ('{key}'). "
    "Please try again later."
)


def _fault_error(decision: FaultDecision) -> ApiError:
    if decision.kind == "reject":
        return ApiError(decision.status, "rejected", decision.reason, code="rejected")
    if decision.kind == "rate_limit":
        return ApiError(429, "rate_limit", "Too many requests; slow down and retry later.",
                        code="rate_limit", retry_after_s=decision.retry_after_s)
    if decision.kind == "timeout":
        return ApiError(504, "timeout", "The request timed out.", code="timeout")
    return ApiError(500, "server", "An unexpected error occurred on our side (injected).",
                    code="internal_error")


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json",
                        headers=headers)
