"""Provider simulators: Stripe-, Twilio-, Xero- and Postmark-like HTTP servers with faults.

They stand in for third-party SaaS in `hub dev up`, the tests, the benchmark and the
chaos suite. From Python::

    async with run_simulators(SimulatorConfig(payments_webhook_url=url)) as sims:
        sims.payments  # "http://127.0.0.1:<port>/payments"

From a shell: `python -m hub.simulators --port 8900 --webhook-url URL ...`.
"""
from __future__ import annotations

from hub.simulators.config import SIMULATORS, SimulatorConfig
from hub.simulators.faults import FaultConfig, FaultDecision, decide
from hub.simulators.server import RunningSimulators, build_app, run_simulators, start_simulators

__all__ = [
    "SIMULATORS",
    "FaultConfig",
    "FaultDecision",
    "RunningSimulators",
    "SimulatorConfig",
    "build_app",
    "decide",
    "run_simulators",
    "start_simulators",
]
