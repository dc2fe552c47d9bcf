"""The feature registry: every feature, what runs it, where its data lives and who shows it.

Why one explicit list: a newcomer (and the daemon, the scrape and ``hashwatch status``) finds
each feature's pieces here instead of in string lists scattered over four modules. Imports are
plain on purpose: a feature module that fails to import stops the daemon at start-up and fails
the tests, instead of silently dropping that feature's jobs, metrics or status rows.

Data flow per feature: ``collect/<job>.py`` (I/O) -> ``indicators/`` (pure maths) -> a section in
the snapshot (``snapshot/``) -> ``metrics/`` | ``alerts/`` | ``status/``; settings in ``config/``.
See docs/architecture.md for the feature -> files table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric

from .collect import blocks as collect_blocks
from .collect import chain as collect_chain
from .collect import economics as collect_economics
from .collect import headers as collect_headers
from .collect import mempool as collect_mempool
from .collect import pools as collect_pools
from .collect import price as collect_price
from .collect.context import DaemonContext, JobSpec
from .indicators.difficulty_view import DifficultyView
from .indicators.economics import EconomicsSection, PriceQuote
from .indicators.fees import FeesSection
from .indicators.pools import PoolsSection
from .metrics import alerts as metrics_alerts
from .metrics import base as metrics_base
from .metrics import difficulty as metrics_difficulty
from .metrics import economics as metrics_economics
from .metrics import fees as metrics_fees
from .metrics import pools as metrics_pools
from .snapshot.blocks import RecentBlocks
from .snapshot.store import NodeSnapshot, NodeStatus, Snapshot
from .status import difficulty as status_difficulty
from .status import economics as status_economics
from .status import fees as status_fees
from .status import pools as status_pools

JobMaker = Callable[[DaemonContext], list[JobSpec]]
Renderer = Callable[[Snapshot], Iterable[Metric]]
StatusRows = Callable[[NodeSnapshot, Snapshot], list[tuple[str, str]]]


@dataclass(frozen=True)
class Feature:
    """One feature and its parts; ``None`` where a feature has no such part.

    ``job`` is the job name (a metric label and the key for ``Daemon.trigger``); ``section`` the
    snapshot key its job writes (``NodeSnapshot.<section>`` reads it, typed as
    ``section_type``); ``renderer`` the (``renderer`` label, function) pair the scrape runs;
    ``config`` the attribute of :class:`~hashwatch.config.Config` with its settings; ``then``
    the jobs run right after this feature's job succeeds (same node; every node after a
    daemon-wide job), so a new block shows in hashprice and pool shares at once.
    """

    name: str
    job: str | None
    make_jobs: JobMaker | None
    section: str | None
    section_type: type | None
    renderer: tuple[str, Renderer] | None
    status_rows: StatusRows | None
    config: str | None
    then: tuple[str, ...] = ()


FEATURES: tuple[Feature, ...] = (
    Feature("node", "chain", collect_chain.make_jobs, "status", NodeStatus,
            ("base", metrics_base.render), None, "nodes"),
    Feature("difficulty", "headers", collect_headers.make_jobs, "difficulty", DifficultyView,
            ("difficulty", metrics_difficulty.render), status_difficulty.rows, "difficulty"),
    Feature("blocks", "blocks", collect_blocks.make_jobs, "blocks", RecentBlocks,
            None, None, "fees", then=("economics", "pools")),
    Feature("fees", "mempool", collect_mempool.make_jobs, "fees", FeesSection,
            ("fees", metrics_fees.render), status_fees.rows, "fees"),
    Feature("price", "price", collect_price.make_jobs, "price", PriceQuote,
            None, None, "economics", then=("economics",)),
    Feature("economics", "economics", collect_economics.make_jobs, "economics", EconomicsSection,
            ("economics", metrics_economics.render), status_economics.rows, "economics"),
    Feature("pools", "pools", collect_pools.make_jobs, "pools", PoolsSection,
            ("pools", metrics_pools.render), status_pools.rows, "pools"),
    Feature("alerts", None, None, None, None,
            ("alerts", metrics_alerts.render), None, "alerts"),
)  # fmt: skip

# Jobs run on a new block (ZMQ ``hashblock``), before the timer would: tip, headers, the block
# itself and the mempool it emptied; ``blocks`` then triggers its own ``then``.
ON_NEW_BLOCK: tuple[str, ...] = ("chain", "headers", "blocks", "mempool")

# Every job name in first-run order (the daemon runs and schedules them in this order).
JOB_NAMES: tuple[str, ...] = tuple(f.job for f in FEATURES if f.job is not None)


def make_jobs(ctx: DaemonContext, only: Sequence[str] = JOB_NAMES) -> list[JobSpec]:
    """The jobs of every feature whose job name is in ``only``, in registry order."""
    unknown = set(only) - set(JOB_NAMES)
    if unknown:
        raise ValueError(f"unknown job(s) {sorted(unknown)}; known: {', '.join(JOB_NAMES)}")
    jobs: list[JobSpec] = []
    for feature in FEATURES:
        if feature.make_jobs is not None and feature.job in only:
            jobs.extend(feature.make_jobs(ctx))
    return jobs


def follow_ups(job: str) -> tuple[str, ...]:
    """Jobs to run right after ``job`` succeeds (``blocks`` -> economics, pools; ``price`` ->
    economics)."""
    for feature in FEATURES:
        if feature.job == job:
            return feature.then
    return ()


def renderers() -> list[tuple[str, Renderer]]:
    """(``renderer`` label, render function) for the scrape, in exposition order."""
    return [f.renderer for f in FEATURES if f.renderer is not None]


def status_rows() -> list[tuple[str, StatusRows]]:
    """(feature, rows function) for ``hashwatch status``, in print order."""
    return [(f.name, f.status_rows) for f in FEATURES if f.status_rows is not None]


def section_types() -> dict[str, type]:
    """Snapshot section key -> the type stored under it (``status`` and ``price`` excluded:
    they are a field of :class:`NodeSnapshot` and a daemon-wide value, not node sections)."""
    return {
        f.section: f.section_type
        for f in FEATURES
        if f.section is not None and f.section_type is not None and f.name not in ("node", "price")
    }
