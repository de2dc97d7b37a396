"""The invariants, judged from the evidence: no acknowledged event lost, every needed
effect exactly once (or dead-lettered with a reason), one event id per Idempotency-Key."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chaos.client import Ack
from chaos.evidence import Evidence
from hub.ids import derived_id
from hub.topics import Topics

__all__ = ["Check", "acknowledged_in_log", "effects_once", "needed_effects", "one_id_per_key",
           "projections_applied_all"]

_TOPICS = Topics("")
# Stripe event type ⇒ the domain event hub derives from it.
_STRIPE_TYPES = {"payment_intent.succeeded": "payment.succeeded",
                 "payment_intent.payment_failed": "payment.failed",
                 "charge.refunded": "payment.refunded"}
_SHOWN = 8  # examples per violated invariant


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    problems: list[str] = field(default_factory=list)

    @classmethod
    def judge(cls, name: str, problems: Iterable[str], detail: str) -> Check:
        found = list(problems)
        return cls(name, not found, detail if not found else f"{len(found)} violation(s); {detail}",
                   found[:_SHOWN])


def acknowledged_in_log(acks: list[Ack], evidence: Evidence) -> Check:
    """Every 2xx the workload got, and every 2xx the simulators' webhooks got, is in the log
    (published: the answer's event id on its type's topic; webhooks: the deterministic raw
    id on hub.webhooks and each domain event the answer named)."""
    log = evidence.log
    problems: list[str] = []
    wanted = 0
    for ack in acks:
        request, answer = ack.request, ack.answer
        if request.kind == "publish":
            wanted += 1
            event_id = str(answer.get("event_id"))
            topic = _TOPICS.for_type(request.event_type)
            if not log.has(topic, event_id):
                problems.append(f"{request.label} (key {request.idempotency_key}): event "
                                f"{event_id}, acknowledged {ack.status}, not on {topic}")
            continue
        assert request.provider_event_id is not None
        raw = derived_id("stripe", request.provider_event_id)
        wanted += 1
        if answer.get("event_id") != raw:
            problems.append(f"{request.label}: answered event id {answer.get('event_id')}, "
                            f"expected the derived {raw}")
        if not log.has(_TOPICS.webhooks, raw):
            problems.append(f"{request.label}: raw event {raw} acknowledged, not on hub.webhooks")
        for event in answer.get("events", []):
            wanted += 1
            if not log.has(_TOPICS.for_type(event["type"]), event["event_id"]):
                problems.append(f"{request.label}: {event['type']} {event['event_id']} "
                                "acknowledged, not in the log")
    sent = 0
    for sim, provider in (("payments", "stripe"), ("sms", "twilio")):
        for call in evidence.callbacks.get(sim, []):
            if not 200 <= int(call["status"]) < 300:
                continue
            body = call["body"] or {}
            if provider == "stripe":
                pid, hub_type = str(body.get("id")), _STRIPE_TYPES.get(str(body.get("type")))
            else:
                pid, hub_type = f"{body.get('MessageSid')}:{body.get('MessageStatus')}", None
            sent += 1
            raw = derived_id(provider, pid)
            if not log.has(_TOPICS.webhooks, raw):
                problems.append(f"{sim} simulator's {provider} webhook {pid}: acknowledged, "
                                f"raw event {raw} not on hub.webhooks")
            if hub_type is not None:
                derived = derived_id(provider, pid, hub_type)
                if not log.has(_TOPICS.for_type(hub_type), derived):
                    problems.append(f"{sim} simulator's webhook {pid}: {hub_type} {derived} "
                                    "not in the log")
    return Check.judge("every acknowledged webhook and published event is in the log",
                       problems, f"{wanted} events of {len(acks)} acknowledged requests and "
                       f"{sent} acknowledged simulator webhooks, all found")


def projections_applied_all(evidence: Evidence) -> Check:
    """No projection dead-lettered an event: the views hold every event of the log."""
    dead = [d for d in evidence.dead_letters if str(d.get("integration", "")).startswith("projection")]
    return Check.judge("no event dead-lettered by a projection",
                       [f"{d['integration']}: {d.get('event_type')} {d.get('event_id')}: "
                        f"{d.get('error_class')}: {d.get('error_message')}" for d in dead],
                       f"{len(evidence.dead_letters)} dead letters, all from provider workers")


def one_id_per_key(acks: list[Ack]) -> Check:
    """Repeats of a publish with one Idempotency-Key were all answered with one event id."""
    ids: dict[str, set[str]] = defaultdict(set)
    for ack in acks:
        if ack.request.idempotency_key is not None:
            ids[ack.request.idempotency_key].add(str(ack.answer.get("event_id")))
    repeated = sum(1 for a in acks if a.request.copy)
    problems = [f"Idempotency-Key {k}: event ids {sorted(v)}" for k, v in ids.items() if len(v) > 1]
    return Check.judge("an Idempotency-Key always answers one event id", problems,
                       f"{len(ids)} keys, {repeated} deliberate repeats")


# (simulator, effect family, business key) of every effect an event of the log needs.
_Key = tuple[str, str, str]


def needed_effects(evidence: Evidence) -> dict[_Key, set[str]]:
    """Effect ⇒ the ids of the events in the log that need it."""
    out: dict[_Key, set[str]] = defaultdict(set)
    for e in evidence.log.domain:
        d = e.data
        if e.type == "invoice.issued":
            out["accounting", "invoice", d["invoice_id"]].add(e.id)
        elif e.type == "payment.intent_requested":
            out["payments", "charge", d["invoice_id"]].add(e.id)
        elif e.type == "sms.requested":
            out["sms", "sms", e.id].add(e.id)
        elif e.type == "email.requested":
            out["email", "email", e.id].add(e.id)
        elif e.type == "payment.succeeded":
            out["accounting", "journal", d["payment_id"]].add(e.id)
            out["email", "receipt", d["payment_id"]].add(e.id)
    return out


def _effect_key(sim: str, effect: dict[str, Any]) -> _Key | None:
    kind, body = effect["effect"], effect.get("body") or {}
    if sim == "payments" and kind in ("charge", "decline"):
        return sim, "charge", str(effect["client_reference"])
    if sim == "accounting" and kind == "invoice":
        return sim, "invoice", str(effect["client_reference"])
    if sim == "accounting" and kind == "journal":
        return sim, "journal", str(body.get("reference"))
    if sim == "sms" and kind == "sms":
        return sim, "sms", str(effect["client_reference"])
    if sim == "email" and kind == "email":
        if body.get("TemplateAlias") == "receipt":
            return sim, "receipt", str((body.get("TemplateModel") or {}).get("payment_id"))
        return sim, "email", str((body.get("Metadata") or {}).get("client_reference"))
    return None


def effects_once(evidence: Evidence) -> tuple[Check, dict[str, int]]:
    """Each needed effect happened exactly once at its simulator, or its event sits in the
    integration's dead-letter topic with a reason; no effect happened that nothing needed."""
    needed = needed_effects(evidence)
    done: Counter[_Key] = Counter()
    unknown: list[str] = []
    for sim, effects in evidence.effects.items():
        for effect in effects:
            key = _effect_key(sim, effect)
            if key is None:
                unknown.append(f"{sim}: unexpected effect kind {effect['effect']!r}")
            else:
                done[key] += 1
    dead: dict[tuple[str, str], str] = {}
    for d in evidence.dead_letters:
        if d.get("event_id") and d.get("error_message"):
            dead[str(d["integration"]), str(d["event_id"])] = str(d["error_message"])
    tally = Counter[str]()
    problems = list(unknown)
    for key, causes in sorted(needed.items()):
        sim, family, business = key
        n = done[key]
        reasons = [dead[sim, c] for c in causes if (sim, c) in dead]
        if n == 1:
            tally["once"] += 1
            if reasons:
                tally["done, yet dead-lettered"] += 1
        elif n > 1:
            tally["doubled"] += 1
            problems.append(f"{sim} {family} {business}: {n} effects (events {sorted(causes)})")
        elif reasons:
            tally["dead-lettered"] += 1
        else:
            tally["missing"] += 1
            problems.append(f"{sim} {family} {business}: no effect and no dead letter "
                            f"(events {sorted(causes)})")
    for key, n in sorted(done.items()):
        if key not in needed:
            problems.append(f"{key[0]} {key[1]} {key[2]}: {n} effect(s) no event in the log needs")
    families = Counter(f"{family}" for _, family, _ in needed)
    detail = (f"{len(needed)} effects needed ({', '.join(f'{n} {f}' for f, n in sorted(families.items()))}): "
              f"{tally['once']} once, {tally['dead-lettered']} dead-lettered with a reason")
    if tally["done, yet dead-lettered"]:
        detail += f" ({tally['done, yet dead-lettered']} done once and also dead-lettered)"
    return Check.judge("every needed provider effect happened exactly once or is dead-lettered",
                       problems, detail), dict(tally)
