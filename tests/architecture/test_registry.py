"""The feature registry is complete, and a broken feature module fails loudly.

Why: features used to be wired by string lists loaded with importlib that skipped a module that
failed to import, so a typo in ``status/fees.py`` silently dropped the fee rows from ``status``.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import hashwatch
from hashwatch import collect, features, metrics, status
from hashwatch.config import Config
from hashwatch.daemon import Daemon

REPO = Path(__file__).resolve().parents[2]


def _modules(package) -> list:
    return [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
    ]


def test_every_collect_module_with_make_jobs_is_registered():
    registered = {f.make_jobs for f in features.FEATURES if f.make_jobs is not None}
    found = {m.make_jobs for m in _modules(collect) if hasattr(m, "make_jobs")}
    assert found and found == registered


def test_every_metrics_renderer_is_registered():
    registered = {render for _, render in features.renderers()}
    found = {m.render for m in _modules(metrics) if hasattr(m, "render")}
    assert found and found == registered
    assert metrics.default_renderers() == features.renderers()


def test_every_status_module_is_registered():
    registered = {rows for _, rows in features.status_rows()}
    found = {m.rows for m in _modules(status) if hasattr(m, "rows")}
    assert found and found == registered


def test_registry_names_real_config_sections_and_unique_jobs():
    fields = set(Config.model_fields)
    for f in features.FEATURES:
        assert f.config is None or f.config in fields, f.name
    assert len(set(features.JOB_NAMES)) == len(features.JOB_NAMES)
    for f in features.FEATURES:
        assert set(f.then) <= set(features.JOB_NAMES), f.name
    assert set(features.ON_NEW_BLOCK) <= set(features.JOB_NAMES)


def test_triggers_new_block_then_blocks_then_economics_and_pools_price_then_economics():
    assert features.ON_NEW_BLOCK == ("chain", "headers", "blocks", "mempool")
    assert features.follow_ups("blocks") == ("economics", "pools")
    assert features.follow_ups("price") == ("economics",)
    assert features.follow_ups("chain") == ()


def test_unknown_job_name_is_an_error_not_an_empty_daemon(tmp_path):
    config = Config.model_validate(
        {"nodes": [{"name": "n1", "url": "http://127.0.0.1:1", "user": "u", "password": "p"}],
         "state_dir": str(tmp_path)}
    )
    with pytest.raises(ValueError, match="unknown job"):
        Daemon(config, job_modules=("chian",), serve_metrics=False, alerts=False)


def test_daemon_wide_price_job_triggers_economics_on_every_node(tmp_path):
    config = Config.model_validate(
        {
            "nodes": [
                {"name": n, "url": "http://127.0.0.1:1", "user": "u", "password": "p"}
                for n in ("n1", "n2")
            ],
            "economics": {"price": {"static_usd": 80500}},
            "state_dir": str(tmp_path),
        }
    )
    daemon = Daemon(config, job_modules=("price",), serve_metrics=False, alerts=False)
    triggered: list[tuple[str, str | None]] = []
    daemon.trigger = lambda job, node=None: triggered.append((job, node))  # type: ignore[method-assign]
    try:
        daemon.run_job_now("price")
        assert daemon.store.current().price is not None
        assert triggered == [("economics", "n1"), ("economics", "n2")]
    finally:
        daemon.stop()


BROKEN = """
import importlib.abc, sys
class Broken(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            raise ModuleNotFoundError("simulated broken module " + name, name=name)
        return None
sys.meta_path.insert(0, Broken())
{body}
"""


@pytest.mark.parametrize(
    ("module", "body"),
    [
        ("hashwatch.status.fees", "from hashwatch.status.report import feature_rows"),
        ("hashwatch.metrics.pools", "from hashwatch.metrics import default_renderers\n"
                                    "default_renderers()"),
        ("hashwatch.collect.price", "from hashwatch.daemon import Daemon"),
    ],
)
def test_a_broken_feature_module_fails_loudly(module, body):
    """Raised as ModuleNotFoundError for that very module: what the old loaders skipped."""
    code = BROKEN.format(module=module, body=body)
    env = {"PYTHONPATH": str(Path(hashwatch.__file__).parents[1]), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, cwd=REPO)
    assert done.returncode != 0
    leaf = module.rsplit(".", 1)[1]
    assert "ImportError" in done.stderr or "ModuleNotFoundError" in done.stderr
    assert f"simulated broken module {module}" in done.stderr or f"name '{leaf}'" in done.stderr


def test_a_missing_feature_module_is_not_skipped():
    """The old loaders caught ModuleNotFoundError for the module itself and moved on."""
    code = ("import sys; sys.modules['hashwatch.status.pools'] = None\n"
            "from hashwatch.status.report import feature_rows")
    env = {"PYTHONPATH": str(Path(hashwatch.__file__).parents[1]), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, cwd=REPO)
    assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr


def test_registry_section_types_are_the_types_the_store_enforces():
    from hashwatch.snapshot import sections, store

    assert features.section_types() == sections.section_types()
    for name in features.section_types():
        assert isinstance(getattr(store.NodeSnapshot, name), property), name


def test_set_section_rejects_the_wrong_type():
    from hashwatch.snapshot.store import SnapshotStore

    s = SnapshotStore(["n1"], clock=lambda: 1.0)
    with pytest.raises(TypeError, match="must be FeesSection"):
        s.set_section("n1", "fees", object())  # type: ignore[call-overload]
    assert s.current().nodes["n1"].fees is None
    with pytest.raises(TypeError, match="must be PriceQuote"):
        s.set_global("price", 80500.0)  # type: ignore[call-overload]
