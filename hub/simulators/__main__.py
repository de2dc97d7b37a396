"""`python -m hub.simulators`: serve the provider simulators until SIGTERM or SIGINT.

Prints one JSON line once listening: {"listening": base_url, "simulators": {name: url}}.
Fault flags apply to every simulator; `--faults JSON` sets them per simulator on top,
e.g. --faults '{"payments": {"error_rate": 0.1}, "sms": {"latency_ms": 50}}'.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from typing import Any

import orjson

from hub.simulators import config as defaults
from hub.simulators.config import SIMULATORS, SimulatorConfig
from hub.simulators.faults import FaultConfig
from hub.simulators.server import start_simulators

__all__ = ["main", "parse_args"]

_FAULT_FLAGS = {
    "latency_ms": float, "latency_jitter_ms": float, "error_rate": float,
    "burst_500": int, "rate_limit": int, "rate_limit_rate": float, "retry_after_s": int,
    "timeout_rate": float, "timeout_s": float,
}


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, SimulatorConfig]:
    """Parse the command line; argparse exits with a message naming a bad flag."""
    parser = argparse.ArgumentParser(prog="python -m hub.simulators", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=0, help="0 picks a free port (printed at start)")
    add("--only", choices=SIMULATORS, help="serve one simulator at the root path")
    add("--seed", type=int, default=0)
    add("--webhook-url", help="where the payments simulator sends Stripe-style webhooks")
    add("--stripe-key", default=defaults.DEV_STRIPE_API_KEY)
    add("--stripe-secret", default=defaults.DEV_STRIPE_WEBHOOK_SECRET)
    add("--decline-amount", type=int, action="append",
        help="amount (minor units) that is declined; repeatable (default: 402)")
    add("--twilio-sid", default=defaults.DEV_TWILIO_ACCOUNT_SID)
    add("--twilio-token", default=defaults.DEV_TWILIO_AUTH_TOKEN)
    add("--sms-callback-url", help="default StatusCallback URL for SMS delivery status")
    add("--sms-bad-number", default=SimulatorConfig.sms_bad_number_pattern,
        help="regex of numbers that end undelivered (ErrorCode 30003)")
    add("--accounting-token", default=defaults.DEV_ACCOUNTING_TOKEN)
    add("--postmark-token", default=defaults.DEV_POSTMARK_TOKEN)
    add("--callback-delay-s", type=float, default=SimulatorConfig.callback_delay_s)
    add("--callback-attempts", type=int, default=SimulatorConfig.callback_attempts)
    add("--log-cap", type=int, default=SimulatorConfig.log_cap)
    for name, kind in _FAULT_FLAGS.items():
        add("--" + name.replace("_", "-"), type=kind, dest=name)
    add("--faults", type=orjson.loads, default={}, help="per-simulator faults as JSON")
    args = parser.parse_args(argv)
    try:
        config = _config(args)
    except ValueError as exc:
        parser.error(str(exc))
    return args, config


def _config(args: argparse.Namespace) -> SimulatorConfig:
    common = {n: getattr(args, n) for n in _FAULT_FLAGS if getattr(args, n) is not None}
    per_sim: Any = args.faults
    if not isinstance(per_sim, dict) or set(per_sim) - set(SIMULATORS):
        raise ValueError(f"--faults must be a JSON object keyed by {list(SIMULATORS)}")
    faults = {n: FaultConfig.from_mapping({**common, **per_sim.get(n, {})}) for n in SIMULATORS}
    return SimulatorConfig(
        seed=args.seed, faults=faults, log_cap=args.log_cap,
        callback_delay_s=args.callback_delay_s, callback_attempts=args.callback_attempts,
        stripe_api_key=args.stripe_key, stripe_webhook_secret=args.stripe_secret,
        payments_webhook_url=args.webhook_url,
        decline_amounts=frozenset(args.decline_amount or SimulatorConfig.decline_amounts),
        twilio_account_sid=args.twilio_sid, twilio_auth_token=args.twilio_token,
        sms_status_callback_url=args.sms_callback_url,
        sms_bad_number_pattern=args.sms_bad_number,
        accounting_token=args.accounting_token, postmark_token=args.postmark_token,
    )


async def _serve(args: argparse.Namespace, config: SimulatorConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner, running = await start_simulators(config, host=args.host, port=args.port,
                                             only=args.only)
    try:
        line = {"listening": running.base_url, "simulators": running.urls}
        sys.stdout.write(orjson.dumps(line).decode() + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args, config = parse_args(argv)
    try:
        asyncio.run(_serve(args, config))
    except OSError as exc:
        print(f"simulators: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
