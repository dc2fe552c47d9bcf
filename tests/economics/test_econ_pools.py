"""Pool identification and concentration: hand-computed windows, properties, the real pool list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashwatch.collect.pools import builtin_definitions, load_definitions_file, make_identifier
from hashwatch.indicators.pools import (
    UNKNOWN,
    PoolDef,
    PoolDefinitionError,
    PoolIdentifier,
    compute_pools,
    concentration,
    label_value,
    parse_pool_definitions,
)

from ..support.shared import needs_mainnet_file, shared_dir

POOLS_V2 = shared_dir() / "mainnet" / "pools-v2.json"
needs_pools_v2 = needs_mainnet_file("pools-v2.json")


def _ident() -> PoolIdentifier:
    return PoolIdentifier([
        PoolDef("Foundry USA", ("bc1qfoundry",), ("Foundry USA Pool",)),
        PoolDef("Pool", (), ("Pool",)),
        PoolDef("AntPool", ("1Ant",), ("/AntPool/",)),
    ])


def test_identify_payout_address_beats_tag() -> None:
    assert _ident().identify("/AntPool/ mined", ("bc1qfoundry",)) == "Foundry USA"


def test_identify_longest_tag_wins_over_shorter_match() -> None:
    assert _ident().identify("/Foundry USA Pool #dropgold/") == "Foundry USA"
    assert _ident().identify("some Pool") == "Pool"


def test_identify_tag_case_insensitive() -> None:
    assert _ident().identify("xx/ANTPOOL/yy") == "AntPool"


def test_identify_nothing_matches_unknown() -> None:
    assert _ident().identify("/solo miner/", ("bc1qother",)) == UNKNOWN


def test_identify_earlier_definition_wins_tie() -> None:
    ident = PoolIdentifier([PoolDef("File Name", (), ("/x/",)), PoolDef("Builtin", (), ("/X/",))])
    assert ident.identify("/x/") == "File Name"


def test_concentration_hand_computed_window() -> None:
    # 10 blocks: A 5, B 3, C 1, unknown 1.
    c = concentration(10, ["A"] * 5 + ["B"] * 3 + ["C", UNKNOWN])
    assert c.shares == {"A": 0.5, "B": 0.3, "C": 0.1}
    assert c.unknown_share == 0.1 and c.top_share == 0.5
    assert c.hhi == pytest.approx(0.25 + 0.09 + 0.01 + 0.01)
    assert c.nakamoto_coefficient == 2  # A alone is exactly half, not more


def test_concentration_majority_pool_nakamoto_one() -> None:
    assert concentration(10, ["A"] * 6 + ["B"] * 4).nakamoto_coefficient == 1


def test_concentration_all_unknown_counts_single_block_miners() -> None:
    c = concentration(4, [UNKNOWN] * 4)
    assert c.shares == {} and c.top_share == 0.0 and c.unknown_share == 1.0
    assert c.hhi == pytest.approx(0.25)
    assert c.nakamoto_coefficient == 3


def test_concentration_no_blocks_raises() -> None:
    with pytest.raises(ValueError):
        concentration(144, [])


@given(st.lists(st.sampled_from(["A", "B", "C", "D", UNKNOWN]), min_size=1, max_size=300))
def test_concentration_shares_and_bounds_hold(producers: list[str]) -> None:
    c = concentration(len(producers), producers)
    n = len(producers)
    assert sum(c.shares.values()) + c.unknown_share == pytest.approx(1.0)
    assert 1 / n - 1e-12 <= c.hhi <= 1 + 1e-12
    assert c.hhi >= c.top_share**2 - 1e-12
    assert all(c.top_share >= s for s in c.shares.values())
    assert 1 <= c.nakamoto_coefficient <= n
    # the top-k miners really hold more than half, and k-1 do not
    counts = sorted([producers.count(p) for p in set(producers) - {UNKNOWN}]
                    + [1] * producers.count(UNKNOWN), reverse=True)
    k = c.nakamoto_coefficient
    assert 2 * sum(counts[:k]) > n and 2 * sum(counts[: k - 1]) <= n


def test_compute_pools_window_longer_than_known_blocks_absent() -> None:
    rows = [(h, "/AntPool/" if h % 2 else "Foundry USA Pool", ()) for h in range(200)]
    section = compute_pools(_ident(), rows, [144, 1008])
    assert section is not None
    assert [c.window for c in section.windows] == [144]
    assert section.window(144).shares == {"AntPool": 0.5, "Foundry USA": 0.5}
    assert section.window(1008) is None
    assert section.tip_height == 199


def test_compute_pools_window_uses_newest_blocks() -> None:
    rows = [(h, "/AntPool/" if h < 10 else "Foundry USA Pool", ()) for h in range(20)]
    section = compute_pools(_ident(), rows, [10])
    assert section is not None and section.window(10).shares == {"Foundry USA": 1.0}


def test_compute_pools_no_blocks_none() -> None:
    assert compute_pools(_ident(), [], [144]) is None


def test_pools_section_values_labels_pool_and_window() -> None:
    rows = [(h, "/AntPool/", ()) for h in range(6)]
    section = compute_pools(_ident(), rows, [6])
    assert section is not None
    values = {(v.name, v.labels): v.value for v in section.values()}
    assert values[("pools_share_ratio", (("pool", "AntPool"), ("window", "6")))] == 1.0
    assert values[("pools_nakamoto_coefficient", (("window", "6"),))] == 1.0
    assert values[("pools_unknown_share_ratio", (("window", "6"),))] == 0.0


def test_label_value_hostile_name_sanitized_and_bounded() -> None:
    assert label_value('Evil"}\nPool') == "Evil_Pool"
    assert len(label_value("x" * 500)) == 64
    assert label_value("七彩") == "_"


def test_parse_pool_definitions_array_layout() -> None:
    defs = parse_pool_definitions([{"id": 1, "name": "A", "addresses": ["1a"], "tags": ["/a/"],
                                    "link": ""}])
    assert defs == [PoolDef("A", ("1a",), ("/a/",))]


def test_parse_pool_definitions_legacy_layout() -> None:
    defs = parse_pool_definitions({"coinbase_tags": {"/a/": {"name": "A"}},
                                   "payout_addresses": {"1a": {"name": "A"}, "1b": {"name": "B"}}})
    assert PoolDef("A", ("1a",), ("/a/",)) in defs and PoolDef("B", ("1b",), ()) in defs


@pytest.mark.parametrize("data", [{"pools": []}, [{"tags": []}], [{"name": "A", "tags": "x"}], [3]])
def test_parse_pool_definitions_bad_layout_raises(data: object) -> None:
    with pytest.raises(PoolDefinitionError):
        parse_pool_definitions(data)


def test_load_definitions_file_bad_json_names_file(tmp_path: Path) -> None:
    path = tmp_path / "pools.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="pools.json: pool definitions are not valid JSON"):
        load_definitions_file(path)


def test_builtin_definitions_common_tags_identified() -> None:
    ident = PoolIdentifier(builtin_definitions())
    assert len(ident.names) >= 15
    cases = {
        "\x03\x9a\x1e\x0e/Foundry USA Pool #dropgold/\x00": "Foundry USA",
        "/AntPool/ab": "AntPool", "Mined by AntPool": "AntPool", "七彩神仙鱼": "F2Pool",
        "/ViaBTC/Mined by x/": "ViaBTC", "SpiderPool/": "SpiderPool", "/mara/": "MARA Pool",
        "/Binance/123": "Binance Pool", "/LUXOR/": "Luxor", "SecPool": "SECPOOL",
        "/poolin/": "Poolin", "/BTC.com/": "BTC.com", "/SBICrypto.com Pool/": "SBI Crypto",
        "OCEAN.XYZ": "OCEAN", "/slush/": "Braiins Pool", "/ultimus/": "ULTIMUSPOOL",
    }
    for text, name in cases.items():
        assert ident.identify(text) == name, text


def test_make_identifier_file_entry_wins_over_builtin(tmp_path: Path) -> None:
    path = tmp_path / "pools.json"
    path.write_text(json.dumps([{"id": 1, "name": "My Foundry", "addresses": [],
                                 "tags": ["Foundry USA Pool"], "link": ""}]), encoding="utf-8")
    ident = make_identifier(path)
    assert ident.identify("/Foundry USA Pool #dropgold/") == "My Foundry"
    assert ident.identify("/AntPool/") == "AntPool"  # built-in still covers the rest


@needs_pools_v2
def test_parse_pool_definitions_community_list_loads_all() -> None:
    defs = load_definitions_file(POOLS_V2)
    assert len(defs) == len(json.loads(POOLS_V2.read_text(encoding="utf-8")))
    ident = PoolIdentifier(defs)
    assert ident.identify("/Foundry USA Pool #dropgold/") == "Foundry USA"
    assert ident.identify("random", ("12dRugNcdxK39288NjcDV4GX7rMsKCGn6B",)) == "AntPool"
    assert ident.identify("\x03abc/ViaBTC/Mined by someone/") == "ViaBTC"


@needs_pools_v2
def test_builtin_definitions_agree_with_community_list() -> None:
    community = PoolIdentifier(load_definitions_file(POOLS_V2))
    checked = 0
    for d in builtin_definitions():
        for tag in d.tags:
            name = community.identify(tag)
            if name != UNKNOWN:  # a few built-in tags are newer than the list
                assert name == d.name, (tag, name)
                checked += 1
    assert checked >= 15
