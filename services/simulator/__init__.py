"""The campaign simulator: a whole campaign played through the HTTP routes, for operators, trainers and tests.

Not a service: it owns no database and never touches the bus, it only calls the routes as the people would.

    target = Target(urls, tokens, ClockFile(path))      # or embedded_target(folder, start) in this process
    report = simulate(target, campaign, seed=2021, progress=print, workers=8)
"""

from services.simulator.client import ApiError, NeverArrived
from services.simulator.embedded import embedded_target
from services.simulator.plan import Plan, plan_campaign
from services.simulator.scenario import (
    AwardRow,
    ClockFile,
    DossierOutcome,
    Refusal,
    Report,
    SimulationError,
    Target,
    simulate,
)
from services.simulator.synthetic import synthetic_campaign_text, write_synthetic_campaign

__all__ = [
    "ApiError",
    "AwardRow",
    "ClockFile",
    "DossierOutcome",
    "NeverArrived",
    "Plan",
    "Refusal",
    "Report",
    "SimulationError",
    "Target",
    "embedded_target",
    "plan_campaign",
    "simulate",
    "synthetic_campaign_text",
    "write_synthetic_campaign",
]
