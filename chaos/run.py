"""One chaos run, start to end: stack up, workload and faults, drain, checks, report."""
from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path

from chaos import checks, leaks
from chaos.checks import Check
from chaos.cli import HubCli
from chaos.client import Sender
from chaos.drain import drain
from chaos.evidence import Evidence, gather
from chaos.faults import Injector, plan
from chaos.profile import Profile, StackSecrets
from chaos.report import fault_plan, faults_table, invariants_table
from chaos.stack import REPO, ChaosStack
from chaos.views import compare_rebuild
from chaos.workload import generate
from hub.apikeys import ApiKeyStore
from hub.db import connect

__all__ = ["run"]

_SCOPES = ["invoice.*", "payment.*", "sms.*", "email.*"]


def _say(message: str) -> None:
    print(message, flush=True)


async def run(seed: int, profile: Profile, *, keep: bool = False,
              only: Sequence[str] = ()) -> int:
    """0 when every invariant held, 1 when one did not, 2 when the stack did not start."""
    began = time.monotonic()
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGTERM, signal.SIGINT):  # stop the stack before going
        asyncio.get_running_loop().add_signal_handler(signum, task.cancel)
    home = Path(tempfile.mkdtemp(prefix="hub-chaos-"))
    stack = ChaosStack(home, StackSecrets(), seed, say=_say)
    _say(f"chaos: seed {seed}, {profile.name} run ({profile.requests} requests, "
         f"{profile.faults} faults over {profile.window_s:.0f} s) in {home}")
    _say(f"chaos: reproduce with `python -m chaos --seed {seed}"
         f"{' --long' if profile.name == 'long' else ''}"
         f"{' --faults ' + ','.join(only) if only else ''}`")
    ok = False
    try:
        try:
            await asyncio.to_thread(stack.start_servers)
            api_key = await _api_key(stack)
            await asyncio.to_thread(stack.start_processes)
        except Exception as exc:  # noqa: BLE001 - nothing to check without a stack
            _say(f"chaos: the stack did not start: {type(exc).__name__}: {exc}")
            return 2
        _say(f"chaos: stack up in {time.monotonic() - began:.0f} s")
        ok = await _exercise(stack, api_key, seed, profile, only)
        return 0 if ok else 1
    finally:
        await asyncio.to_thread(_teardown, stack)
        if ok and not keep:
            shutil.rmtree(home, ignore_errors=True)
        else:
            _say(f"chaos: logs and state kept in {home}")
        _say(f"chaos: finished in {time.monotonic() - began:.0f} s")


async def _api_key(stack: ChaosStack) -> str:
    conn = await connect(stack.servers().database_url, "hub")
    try:
        key, _ = await ApiKeyStore(conn).create("chaos", _SCOPES)
        return key
    finally:
        await conn.close()


def _teardown(stack: ChaosStack) -> None:
    stack.stop_processes()
    stack.stop_servers()


async def _exercise(stack: ChaosStack, api_key: str, seed: int, profile: Profile,
                    only: Sequence[str]) -> bool:
    work = generate(seed, profile.requests, profile.window_s)
    faults = plan(seed, profile, only)
    cases = ", ".join(f"{n} {c}" for c, n in sorted(work.counts.items()))
    _say(f"chaos: workload {len(work.requests)} requests ({cases} cases); fault plan:")
    _say(fault_plan(faults))
    sender = Sender(stack.ingress_url, api_key, stack.secrets.stripe_webhook, seed)
    injector = Injector(stack)
    started = time.monotonic()
    stop = asyncio.Event()
    supervisor = asyncio.create_task(injector.supervise(stop, started))
    # Providers and services retry for a minute after the last fault (or the window's end).
    grace = 60.0

    async def faults_then_grace() -> None:
        await injector.run(faults, started)
        sender.extend(time.monotonic() + grace)

    try:
        await asyncio.gather(
            sender.run(work.requests, started, give_up_at=started + profile.window_s + grace),
            faults_then_grace())
    finally:
        stop.set()
        await supervisor
    answers = ", ".join(f"{k} {v}" for k, v in sorted(sender.answers.items()))
    _say(f"chaos: workload sent in {time.monotonic() - started:.0f} s; answers: {answers}")

    cli = HubCli(stack.env(), str(REPO))
    drained = await drain(stack, cli, profile.drain_s)
    _say(f"chaos: {'drained' if drained.drained else 'NOT drained'} in {drained.seconds:.0f} s "
         f"({drained.detail})")
    try:
        evidence = await gather(stack.servers().kafka_bootstrap, stack.sim_url, cli)
    except Exception as exc:  # noqa: BLE001 - without evidence no invariant can be judged
        _say(f"chaos: seed {seed}: VIOLATED: could not read the log, the simulators or the "
             f"dead letters back: {type(exc).__name__}: {exc}")
        return False
    results: list[Check] = [
        Check.judge("the stack drained (all groups caught up, no callbacks pending)",
                    [] if drained.drained else [drained.detail], f"in {drained.seconds:.0f} s"),
        Check.judge("every request was acknowledged in the end",
                    [f"{r.label}: {status} {text[:200]}" for r, status, text in sender.rejected]
                    + [f"{r.label}: never acknowledged" for r in sender.abandoned],
                    f"{len(sender.acks)} of {len(work.requests)} answered 2xx"),
        checks.acknowledged_in_log(sender.acks, evidence),
        checks.one_id_per_key(sender.acks),
    ]
    results.append(checks.effects_once(evidence)[0])
    results.append(checks.projections_applied_all(evidence))
    results.append(Check.judge("every record of every topic decodes with schemas/",
                               evidence.log.undecodable,
                               f"{len(evidence.log.records)} records"))
    url = stack.servers().database_url
    for name in ("reconciliation", "audit"):
        results.append(await _guarded(f"the {name} view equals a fresh rebuild",
                                      compare_rebuild(name, url, cli)))
    verify = await cli.run(["audit", "verify"], check=False)
    results.append(Check.judge("hub audit verify passes",
                               [] if verify.returncode == 0 else [verify.stdout + verify.stderr],
                               verify.stdout.strip().splitlines()[-1] if verify.stdout else ""))
    await cli.run(["reconcile", "--format", "json"], check=False)
    await cli.run(["lag", "--json"], check=False)
    results.append(await _guarded(
        "no configured secret in any log, record, header, row, answer or CLI output",
        _no_secrets(stack, api_key, evidence, sender.errors, cli, injector)))

    _say("\nFAULTS INJECTED")
    _say(faults_table(injector.results, injector.restarted, evidence.injected))
    _say("\nINVARIANTS")
    _say(invariants_table(results))
    violated = [c.name for c in results if not c.ok]
    _say(f"\nchaos: seed {seed}: " + ("all invariants held" if not violated else
                                       "VIOLATED: " + "; ".join(violated)))
    return not violated


async def _guarded(name: str, check: Awaitable[Check]) -> Check:
    try:
        return await check
    except Exception as exc:  # noqa: BLE001 - a check that cannot run is a violation
        return Check.judge(name, [f"could not check: {type(exc).__name__}: {exc}"], "")


async def _no_secrets(stack: ChaosStack, api_key: str, evidence: Evidence, errors: list[str],
                      cli: HubCli, injector: Injector) -> Check:
    """Topics (values, keys, headers: outcomes and dead letters included), database rows,
    every error text the run saw and every CLI output; then, with the processes stopped so
    their logs are complete, every log file."""
    secrets = leaks.secrets_of(stack.config(), api_keys=[api_key])
    found = leaks.scan_records(evidence.log.records, secrets)
    conn = await connect(stack.servers().database_url, "hub")
    try:
        found += await leaks.scan_database(conn, secrets)
    finally:
        await conn.close()
    texts = [("answer", e) for e in errors] + list(cli.outputs)
    texts += [("fault", r.error) for r in injector.results if r.error]
    for where, text in texts:
        found += leaks.scan_text(where, text, secrets)
    await asyncio.to_thread(stack.stop_processes)
    files = stack.log_files()
    found += leaks.scan_files(files, secrets)
    return Check.judge(
        "no configured secret in any log, record, header, row, answer or CLI output",
        [str(leak) for leak in found],
        f"{len(secrets)} secrets; {len(files)} log files, {len(evidence.log.records)} records, "
        f"{len(texts)} error texts and CLI outputs, every table")
