"""The pure state machine: for, hysteresis, repeat, inhibition, absent values, windowed kinds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hashwatch.alerts.engine import AlertState, Engine, flatten, step
from hashwatch.alerts.windows import History
from hashwatch.alerts.rules import Rule

from ..support.alertkit import FakeClock, iv, snapshot


def rule(**kw) -> Rule:
    base = {"name": "r", "indicator": "x", "op": ">=", "threshold": 10.0}
    return Rule.model_validate({**base, **kw})


def engine(*rules: Rule, resolution: float = 60.0) -> Engine:
    return Engine(list(rules), History(resolution, Engine.retention(rules)))


def run(eng: Engine, clock: FakeClock, **kw):
    plan = eng.plan(flatten(snapshot(clock, **kw)), clock())
    eng.commit(plan)
    return [(t.kind, t.state.rule) for t in plan.transitions], plan


def test_step_threshold_crossed_fires_then_resolves_with_message_numbers(clock):
    eng = engine(rule(summary="x is {value:.1f} (>= {threshold:g})"))
    kinds, plan = run(eng, clock, values=[iv("x", 12.5)])
    assert kinds == [("firing", "r")]
    assert plan.transitions[0].summary == "x is 12.5 (>= 10)"
    assert plan.transitions[0].labels == {"alertname": "r", "severity": "warning", "node": "n1"}
    clock.advance(60)
    assert run(eng, clock, values=[iv("x", 12.0)])[0] == []
    kinds, plan = run(eng, clock, values=[iv("x", 3.0)])
    assert kinds == [("resolved", "r")]
    assert plan.transitions[0].summary == "x is 3.0 (>= 10)"


def test_step_for_duration_pending_until_elapsed(clock):
    eng = engine(rule(**{"for": "5m"}))
    assert run(eng, clock, values=[iv("x", 11)])[0] == []
    (state,) = eng.states.values()
    assert state.state == "pending"
    clock.advance(299)
    assert run(eng, clock, values=[iv("x", 11)])[0] == []
    clock.advance(1)
    assert run(eng, clock, values=[iv("x", 11)])[0] == [("firing", "r")]


def test_step_condition_clears_while_pending_returns_inactive_without_message(clock):
    eng = engine(rule(**{"for": "5m"}))
    run(eng, clock, values=[iv("x", 11)])
    clock.advance(100)
    assert run(eng, clock, values=[iv("x", 9)])[0] == []
    assert next(iter(eng.states.values())).state == "inactive"
    clock.advance(250)  # the pending clock restarted: 250 s is not 5 min
    assert run(eng, clock, values=[iv("x", 11)])[0] == []


def test_step_hysteresis_band_keeps_firing_until_resolve_threshold(clock):
    eng = engine(rule(resolve_threshold=8))
    run(eng, clock, values=[iv("x", 10)])
    assert run(eng, clock, values=[iv("x", 9)])[0] == []
    assert run(eng, clock, values=[iv("x", 8)])[0] == []  # 8 >= 8 still holds
    assert run(eng, clock, values=[iv("x", 7.9)])[0] == [("resolved", "r")]


def test_step_repeat_interval_renotifies_while_firing(clock):
    eng = engine(rule(repeat_interval="1h"))
    run(eng, clock, values=[iv("x", 11)])
    clock.advance(3599)
    assert run(eng, clock, values=[iv("x", 11)])[0] == []
    clock.advance(1)
    assert run(eng, clock, values=[iv("x", 11)])[0] == [("repeat", "r")]


def test_step_absent_value_neither_fires_nor_resolves(clock):
    eng = engine(rule())
    run(eng, clock, values=[iv("x", 11)])
    clock.advance(86400)
    assert run(eng, clock, values=[])[0] == []
    assert next(iter(eng.states.values())).state == "firing"


def test_step_absent_resolve_after_resolves_vanished_series(clock):
    eng = engine(rule(absent_resolve_after="1h"))
    run(eng, clock, values=[iv("x", 11, pool="foundry")])
    clock.advance(1800)
    assert run(eng, clock, values=[])[0] == []
    clock.advance(1800)
    assert run(eng, clock, values=[])[0] == [("resolved", "r")]


def test_step_node_down_inhibits_market_rule_and_resets_pending(clock):
    eng = engine(rule(**{"for": "5m", "inhibited_by_node_health": True}))
    run(eng, clock, values=[iv("x", 11)])
    assert next(iter(eng.states.values())).state == "pending"
    run(eng, clock, up=False)
    assert next(iter(eng.states.values())).state == "inactive"


def test_step_initial_block_download_blocks_firing_of_inhibited_rule(clock):
    eng = engine(rule(inhibited_by_node_health=True), rule(name="free"))
    kinds, _ = run(eng, clock, ibd=True, values=[iv("x", 11)])
    assert kinds == [("firing", "free")]


def test_step_node_down_rule_fires_on_node_up_zero(clock):
    down = Rule.model_validate(
        {"name": "node_down", "indicator": "node_up", "op": "<", "threshold": 1, "for": "2m"}
    )
    eng = engine(down)
    run(eng, clock, up=False)
    clock.advance(120)
    assert run(eng, clock, up=False)[0] == [("firing", "node_down")]
    assert run(eng, clock, up=True)[0] == [("resolved", "node_down")]


def test_observe_age_kind_measures_seconds_since_block(clock):
    r = Rule.model_validate(
        {
            "name": "stale",
            "indicator": "node_best_block_time_seconds",
            "kind": "age",
            "op": ">=",
            "threshold": 3600,
            "summary": "{observed:.0f}",
        }
    )
    eng = engine(r)
    assert run(eng, clock, block_age=3599)[0] == []
    kinds, plan = run(eng, clock, block_age=3700)
    assert kinds == [("firing", "stale")] and plan.transitions[0].summary == "3700"


def test_observe_change_over_window_compares_with_value_window_ago(clock):
    eng = engine(
        rule(
            kind="change",
            window="1h",
            op="<=",
            threshold=-10,
            min_coverage=1,
            summary="{observed:.1f}% from {reference:g}",
        )
    )
    for _ in range(60):
        assert run(eng, clock, values=[iv("x", 100)])[0] == []
        clock.advance(60)
    kinds, plan = run(eng, clock, values=[iv("x", 85)])
    assert kinds == [("firing", "r")]
    assert plan.transitions[0].summary == "-15.0% from 100"


def test_observe_change_without_enough_history_is_absent(clock):
    eng = engine(rule(kind="change", window="1h", op="<=", threshold=-10))
    run(eng, clock, values=[iv("x", 100)])
    clock.advance(600)
    assert run(eng, clock, values=[iv("x", 1)])[0] == []


def test_observe_baseline_ratio_with_min_value_guard(clock):
    eng = engine(
        rule(kind="baseline_ratio", window="1h", threshold=3, min_value=20, resolve_threshold=2)
    )
    for _ in range(40):
        run(eng, clock, values=[iv("x", 6) if _ % 2 else iv("x", 10)])
        clock.advance(60)
    # baseline = median of 6s and 10s = 8
    assert run(eng, clock, values=[iv("x", 19)])[0] == []  # 2.4x
    assert run(eng, clock, values=[iv("x", 24)])[0] == [("firing", "r")]  # 3x, >= 20
    assert run(eng, clock, values=[iv("x", 21)])[0] == []  # 2.6x: inside the band
    assert run(eng, clock, values=[iv("x", 15)])[0] == [("resolved", "r")]


def test_observe_baseline_ratio_below_min_value_does_not_fire(clock):
    eng = engine(rule(kind="baseline_ratio", window="1h", threshold=3, min_value=20))
    for _ in range(40):
        run(eng, clock, values=[iv("x", 5)])
        clock.advance(60)
    assert run(eng, clock, values=[iv("x", 18)])[0] == []  # 3.6x but below 20 sat/vB


def test_observe_new_low_fires_below_window_minimum(clock):
    eng = engine(
        rule(
            kind="new_low",
            window="2h",
            op="<=",
            threshold=1,
            resolve_threshold=1.02,
            min_coverage=0.9,
        )
    )
    for i in range(120):
        run(eng, clock, values=[iv("x", 40 + (i % 5))])
        clock.advance(60)
    assert run(eng, clock, values=[iv("x", 40.5)])[0] == []
    assert run(eng, clock, values=[iv("x", 39.0)])[0] == [("firing", "r")]
    assert run(eng, clock, values=[iv("x", 39.5)])[0] == []
    assert run(eng, clock, values=[iv("x", 41.0)])[0] == [("resolved", "r")]


def test_plan_label_matchers_select_series_and_keep_labels(clock):
    eng = engine(rule(match={"window": "1008"}, summary="{labels[pool]}"))
    kinds, plan = run(
        eng,
        clock,
        values=[iv("x", 50, pool="a", window="144"), iv("x", 50, pool="b", window="1008")],
    )
    assert kinds == [("firing", "r")]
    assert plan.transitions[0].summary == "b"
    assert plan.transitions[0].labels["pool"] == "b"


def test_plan_failed_commit_leaves_engine_unchanged(clock):
    eng = engine(rule())
    plan = eng.plan(flatten(snapshot(clock, values=[iv("x", 11)])), clock())
    assert plan.transitions and eng.states == {}
    again = eng.plan(flatten(snapshot(clock, values=[iv("x", 11)])), clock())
    assert [t.kind for t in again.transitions] == ["firing"]


values = st.one_of(st.none(), st.floats(min_value=0, max_value=20))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(values, st.booleans(), st.integers(0, 400)), max_size=40),
    st.sampled_from([0, 120]),
    st.sampled_from([None, 6.0]),
)
def test_step_any_sequence_alternates_firing_and_resolved(seq, for_, resolve):
    """Invariant: per alert, transitions go firing (repeat)* resolved firing ...; instances
    count firings; resolves only follow a firing of the same instance."""
    r = rule(
        inhibited_by_node_health=True,
        **{"for": for_, "resolve_threshold": resolve, "repeat_interval": "5m"},
    )
    s = AlertState("fp", "r", "n1", ())
    now = 0.0
    firing = False
    fired = 0
    for value, healthy, dt in seq:
        now += dt
        obs = None
        if value is not None:
            from hashwatch.alerts.engine import Observation

            obs = Observation(value, value)
        s, kind = step(r, s, now, obs, healthy=healthy)
        if kind == "firing":
            assert not firing
            firing, fired = True, fired + 1
            assert healthy and s.instance == fired
        elif kind in ("resolved", "repeat"):
            assert firing
            if kind == "resolved":
                firing = False
        assert (s.state == "firing") == firing


def test_flatten_global_section_evaluated_without_node_and_broken_section_absent(clock):
    import dataclasses
    from types import MappingProxyType

    from ..support.alertkit import Section

    class Broken:
        def values(self):
            raise RuntimeError("bug")

    snap = snapshot(clock, values=[iv("x", 1)])
    node = dataclasses.replace(
        snap.nodes["n1"],
        sections=MappingProxyType({**snap.nodes["n1"].sections, "bad": Broken()}),
    )
    snap = dataclasses.replace(
        snap,
        nodes=MappingProxyType({"n1": node}),
        globals=MappingProxyType({"price": Section((iv("btc_price_usd", 80_000),))}),
    )
    eng = engine(rule(indicator="btc_price_usd", op="<", threshold=90_000, summary="{node}"))
    plan = eng.plan(flatten(snap), clock())
    assert [(t.kind, t.state.node, t.summary) for t in plan.transitions] == [("firing", "", "-")]
    assert "labels" not in plan.transitions[0].labels and "node" not in plan.transitions[0].labels
