"""Hostile config, rule and web-config files: bounded memory and time, one line, exit 2.

The corpus (test_corpus.py) pins the exact messages; here: the memory a bomb may cost, legit
anchors still work, and the ``${...}`` forms (literal ``$${``, nested defaults).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hashwatch.config import ConfigError, load_config
from hashwatch.config.envsubst import expand

CORPUS = Path(__file__).parent / "corpus"
BOMBS = ["yaml_alias_bomb.yaml", "yaml_alias_bomb_mappings.yaml", "rules_alias_bomb.yaml",
         "webconfig_alias_bomb.yaml", "yaml_alias_recursive.yaml", "yaml_nested_too_deep.yaml"]
# VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across exec, so a child of a large
# pytest process would report the parent's peak.
_MEASURE = """
import sys
from hashwatch.cli import main
code = main(["check-config", "--config", sys.argv[1]])
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(code, hwm)
"""


@pytest.mark.parametrize("name", BOMBS)
def test_bomb_check_config_exit_2_in_bounded_memory_and_time(name):
    """Before: MemoryError traceback after gigabytes. Now: refused from the node graph."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE, name], cwd=CORPUS,
                          capture_output=True, text=True, timeout=120)  # hang guard
    code, max_rss_kib = proc.stdout.split()
    assert int(code) == 2
    assert "YAML refused" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert int(max_rss_kib) < 150 * 1024  # the interpreter and imports are most of it


def test_legit_anchors_and_merge_keys_still_work(tmp_path):
    cfg = tmp_path / "hashwatch.yaml"
    # unknown top-level keys are errors, so the anchor is set on the first list item
    cfg.write_text(textwrap.dedent("""\
        nodes:
          - &node
            name: a
            cookie_file: /var/lib/bitcoind/.cookie
            timeout_seconds: 7
          - <<: *node
            name: b
    """))
    config = load_config(cfg)
    assert [(n.name, n.timeout_seconds) for n in config.nodes] == [("a", 7.0), ("b", 7.0)]


@pytest.mark.parametrize(
    "text,env,expected",
    [("$${HOME}", {}, "${HOME}"),
     ("pa$$word", {}, "pa$$word"),
     ("${A:-${B:-x}}", {}, "x"),
     ("${A:-${B:-x}}", {"B": "b"}, "b"),
     ("${A:-${B:-x}}", {"A": "a"}, "a"),
     ("${A:-${B}}", {"A": "a"}, "a"),  # an unused default is not evaluated
     ("pre-${A}-$${A}-${B:-}", {"A": "1"}, "pre-1-${A}-"),
     ("${A:-a}b}", {}, "ab}")],
)
def test_envsubst_literal_escape_and_nested_defaults(text, env, expected):
    assert expand(text, env) == expected


def test_literal_dollar_brace_reaches_the_config_value(tmp_path, monkeypatch):
    monkeypatch.delenv("HW_T_PASS", raising=False)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("nodes:\n  - name: a\n    user: u\n    password: 'x$${HW_T_PASS}y'\n")
    assert load_config(cfg).nodes[0].password.get_secret_value() == "x${HW_T_PASS}y"


def test_nested_default_reaches_the_config_value(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("nodes:\n  - name: a\n    user: u\n    password: ${HW_T_A:-${HW_T_B:-pw}}\n")
    env = {"HW_T_B": "from-b"}
    from hashwatch.config import read_config_data, validate_config

    config = validate_config(*read_config_data(cfg, env))
    assert config.nodes[0].password.get_secret_value() == "from-b"


def test_secret_fifo_refused_without_blocking(tmp_path):
    import os

    fifo = tmp_path / "pw"
    os.mkfifo(fifo)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"nodes:\n  - name: a\n    user: u\n    password_file: {fifo}\n")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)  # would block forever on open() before
    assert "not a regular file" in str(info.value)


def test_secret_file_over_64_kib_refused(tmp_path):
    secret = tmp_path / "pw"
    secret.write_bytes(b"x" * (64 * 1024 + 1))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"nodes:\n  - name: a\n    user: u\n    password_file: {secret}\n")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert "larger than 65536 bytes" in str(info.value)
