"""The whole stack benchmark in one run: the raw limits, then the project beside them, with the ratios.

    .venv/bin/python -m bench.stack --quick      # about two minutes on an idle machine: small sizes
    .venv/bin/python -m bench.stack              # the README's figures (the campaign alone takes longest)

Each part is also a script of its own (``bench.limits``, ``bench.consumer``, ``bench.submit``,
``bench.campaign``), with the same options. RabbitMQ and PostgreSQL are found at ``THIDUA_BENCH_AMQP_URL`` and
``THIDUA_BENCH_POSTGRES_URL`` (default: the local ones); every queue, exchange and database a run makes is
removed at its end.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bench import campaign, consumer, limits, submit
from bench.rig import load, stamp


@dataclass(frozen=True)
class Sizes:
    messages: int
    events: int
    latency: int
    load: int
    units: int


QUICK = Sizes(messages=1000, events=300, latency=50, load=300, units=0)
FULL = Sizes(messages=5000, events=2000, latency=200, load=2000, units=10_000)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes, and no campaign.")
    parser.add_argument("--units", type=int, help="Units of the synthetic campaign (0: skip it).")
    parser.add_argument("--clients", type=int, default=8, help="Concurrent clients of the submit load.")
    parser.add_argument("--campaign-clients", type=int, default=8, help="The simulator's parallel clients.")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    units = sizes.units if args.units is None else args.units
    print(f"thidua stack benchmark, {stamp()}, {load()}\n")

    raw = limits.measure(sizes.messages)
    limits.report(raw, sizes.messages)
    print()
    consumer.report(consumer.measure(sizes.events, batch=32), raw.pipeline)
    print()
    with submit.campaign_setting(max(sizes.latency + 10, sizes.load)) as setting:
        submit.report_latency(submit.measure_latency(setting, sizes.latency + 10, args.clients))
        print()
        submit.report_load(submit.measure_load(setting, sizes.load, args.clients, api_workers=1), args.clients, 1)
    if units:
        print()
        campaign.report(
            campaign.play(
                units,
                seed=7,
                api_workers=1,
                service_workers=campaign.SERVICE_WORKERS,
                clients=args.campaign_clients,
                timeout=1800,
            )
        )


if __name__ == "__main__":
    main()
