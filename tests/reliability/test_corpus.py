"""Bad-input corpus: every malformed config or rule file gives exact one-line errors and exit 2.

Each case is a small file under ``corpus/`` and the exact lines ``hashwatch check-config`` must
print for it (paths are relative: the test runs from the corpus folder). The table is the spec:
a message that loses its line number, key path or fix fails here. A second test runs a few
cases through a real ``python -m hashwatch`` process to prove the entry point behaves the same
(exit code 2, no traceback).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hashwatch.cli import main

CORPUS = Path(__file__).parent / "corpus"
# git keeps no empty dirs, FIFOs or megabyte files: made by the fixture
MADE_AT_RUN_TIME = {"does_not_exist.yaml", "config_is_directory.yaml", "config_is_fifo.yaml",
                    "config_too_large.yaml"}


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A copy of the corpus plus the cases git cannot hold (a directory named like a file)."""
    where = tmp_path / "corpus"
    shutil.copytree(CORPUS, where)
    (where / "config_is_directory.yaml").mkdir(exist_ok=True)
    os.mkfifo(where / "config_is_fifo.yaml")  # reading it would block forever
    os.mkfifo(where / "secrets" / "fifo.secret")
    os.mkfifo(where / "web" / "fifo.yml")
    big = "nodes:\n  - name: main\n    cookie_file: /c\n" + "# padding\n" * 110_000
    (where / "config_too_large.yaml").write_text(big)
    return where
PREFIX = "hashwatch: config error: "
# Values in the corpus that are secrets: no error message may repeat them.
SECRETS = ("s3cr3t-pass", "rpc-pass-1234", "XXXXSECRETTOKEN", "hooks.slack.com/services/T000")
_ONE_OF = "Input should be"
_ALIAS = ("YAML refused: anchors and aliases expand it to more than 200000 values (an alias "
          "bomb?); write the values out or use fewer aliases")
_CHECK_SPELLING = "unknown key; check the spelling against config/hashwatch.example.yaml"

CONFIG_CASES: list[tuple[str, list[str]]] = [
    ("unknown_top_key.yaml", [f"unknown_top_key.yaml:4: pollling: {_CHECK_SPELLING}"]),
    ("unknown_nested_key.yaml",
     [f"unknown_nested_key.yaml:5: polling.chain_secs: {_CHECK_SPELLING}"]),
    ("wrong_type_interval.yaml",
     ["wrong_type_interval.yaml:5: polling.chain_seconds: Input should be a valid number, "
      "unable to parse string as a number (got 'fast')"]),
    ("negative_interval.yaml",
     ["negative_interval.yaml:5: polling.mempool_seconds: Input should be greater than 0"]),
    ("zero_interval.yaml",
     ["zero_interval.yaml:5: polling.headers_seconds: Input should be greater than 0"]),
    ("timeout_zero.yaml",
     ["timeout_zero.yaml:4: nodes[0].timeout_seconds: Input should be greater than 0"]),
    ("port_out_of_range.yaml",
     ["port_out_of_range.yaml:5: metrics.port: Input should be less than or equal to 65535"]),
    ("port_wrong_type.yaml",
     ["port_wrong_type.yaml:5: metrics.port: Input should be a valid integer"]),
    ("url_without_scheme.yaml",
     ["url_without_scheme.yaml:3: nodes[0].url: expected a URL like http://127.0.0.1:8332/"]),
    ("url_with_credentials.yaml",
     ["url_with_credentials.yaml:3: nodes[0].url: put credentials in user/password(_file) or "
      "cookie_file, not the URL"]),
    ("url_bad_port.yaml",
     ["url_bad_port.yaml:3: nodes[0].url: the port in the URL is not a number from 1 to 65535"]),
    ("node_without_credentials.yaml",
     ["node_without_credentials.yaml:2: nodes[0]: no credentials: set user + password (or "
      "password_file), cookie_file, or datadir"]),
    ("node_two_auth_methods.yaml",
     ["node_two_auth_methods.yaml:2: nodes[0]: set only one of password, cookie_file or datadir"]),
    ("password_without_user.yaml",
     ["password_without_user.yaml:2: nodes[0]: password given without user"]),
    ("duplicate_node_names.yaml",
     ["duplicate_node_names.yaml:1: nodes: duplicate node name 'main'; names must be unique"]),
    ("nodes_empty.yaml",
     ["nodes_empty.yaml:1: nodes: at least one node is required (a list item with name and url)"]),
    ("nodes_missing.yaml", ["nodes_missing.yaml:1: nodes: required key is missing"]),
    ("empty_file.yaml",
     ["empty_file.yaml: config file is empty; see config/hashwatch.example.yaml"]),
    ("comments_only.yaml",
     ["comments_only.yaml: config file is empty; see config/hashwatch.example.yaml"]),
    ("yaml_unclosed_bracket.yaml",
     ["yaml_unclosed_bracket.yaml:6: YAML syntax error: expected ',' or ']', but got "
      "'<stream end>'"]),
    ("yaml_tab_indent.yaml",
     ["yaml_tab_indent.yaml:2: YAML syntax error: found character '\\t' that cannot start "
      "any token"]),
    ("yaml_duplicate_key.yaml",
     ["yaml_duplicate_key.yaml:6: YAML syntax error: duplicate key 'chain_seconds' (first at "
      "line 5)"]),
    ("top_level_list.yaml",
     ["top_level_list.yaml:1: the top level must be a mapping of keys (nodes:, ...)"]),
    ("does_not_exist.yaml",
     ["does_not_exist.yaml: config file not found; create it or pass --config"]),
    ("config_is_directory.yaml",
     ["config_is_directory.yaml: cannot read config file: IsADirectoryError"]),
    ("password_file_missing.yaml",
     ["password_file_missing.yaml:2: nodes[0]: password_file: secret file "
      "/nonexistent/hashwatch/rpc.secret not found"]),
    ("env_var_unset.yaml",
     ["env_var_unset.yaml:4: nodes[0].password: environment variable HASHWATCH_CORPUS_UNSET_VAR "
      "is not set; export it or write ${HASHWATCH_CORPUS_UNSET_VAR:-default}"]),
    ("bad_network.yaml",
     [f"bad_network.yaml:3: nodes[0].network: {_ONE_OF} 'main', 'test', 'testnet3', "
      "'testnet4', 'signet' or 'regtest' (got 'mainnet')"]),
    ("bad_node_name.yaml",
     ["bad_node_name.yaml:2: nodes[0].name: node names are 1-64 letters, digits, '_', '.' or "
      "'-' (they become the `node` label); got 'my node'"]),
    ("bad_log_level.yaml",
     [f"bad_log_level.yaml:5: logging.level: {_ONE_OF} 'debug', 'info', 'warning' or 'error' "
      "(got 'verbose')"]),
    ("bad_zmq_endpoint.yaml",
     ["bad_zmq_endpoint.yaml:4: nodes[0].zmq_hashblock: expected a ZMQ endpoint like "
      "tcp://127.0.0.1:28332"]),
    ("state_dir_wrong_type.yaml",
     ["state_dir_wrong_type.yaml:4: state_dir: expected a file or directory path "
      "(got {'path': '/var/lib/hashwatch'})"]),
    ("slack_bad_webhook_url.yaml",
     ["slack_bad_webhook_url.yaml:8: alerts.channels[0].webhook_url: expected an http(s) "
      "URL (value not shown: it is a secret)"]),
    ("duplicate_channel_names.yaml",
     ["duplicate_channel_names.yaml:4: alerts: duplicate channel name(s) ops; names must be "
      "unique"]),
    ("route_unknown_channel.yaml",
     ["route_unknown_channel.yaml:4: alerts: routes[0] names channel 'pager', which is not "
      "defined under alerts.channels (known: log)"]),
    ("email_user_without_password.yaml",
     ["email_user_without_password.yaml:6: alerts.channels[0]: set both username and "
      "password (or password_file), or neither"]),
    ("unknown_channel_type.yaml",
     ["unknown_channel_type.yaml:6: alerts.channels[0]: Input tag 'teams' found using 'type' "
      "does not match any of the expected tags: 'slack', 'email', 'webhook', 'alertmanager', "
      "'log'"]),
    ("price_two_sources.yaml",
     ["price_two_sources.yaml:5: economics.price: set exactly one of static_usd or url"]),
    ("duplicate_scenario_names.yaml",
     ["duplicate_scenario_names.yaml:5: economics.scenarios: duplicate scenario name 'home'; "
      "names must be unique"]),
    # -- hostile files: alias bombs, FIFOs, devices, oversized (refused, exit 2, no traceback)
    ("yaml_alias_bomb.yaml", [f"yaml_alias_bomb.yaml:6: {_ALIAS}"]),
    ("yaml_alias_bomb_mappings.yaml", [f"yaml_alias_bomb_mappings.yaml:8: {_ALIAS}"]),
    ("yaml_alias_recursive.yaml",
     ["yaml_alias_recursive.yaml:1: YAML refused: an alias refers to the collection that "
      "contains it"]),
    ("yaml_nested_too_deep.yaml",
     ["yaml_nested_too_deep.yaml:4: YAML refused: nested more than 64 levels deep"]),
    ("webconfig_alias_bomb.yaml", [f"web/alias_bomb.yml:5: {_ALIAS}"]),
    ("webconfig_fifo.yaml",
     ["web/fifo.yml: web config file is not a regular file (a FIFO, socket or device); point "
      "to a plain file"]),
    ("config_is_fifo.yaml",
     ["config_is_fifo.yaml: config file is not a regular file (a FIFO, socket or device); "
      "point to a plain file"]),
    ("config_too_large.yaml",
     ["config_too_large.yaml: config file is larger than 1048576 bytes; is this the right "
      "file?"]),
    ("secret_file_empty.yaml",
     ["secret_file_empty.yaml:2: nodes[0]: password_file: secret file secrets/empty.secret is "
      "empty; put the secret in it"]),
    ("secret_file_blank.yaml",
     ["secret_file_blank.yaml:2: nodes[0]: password_file: secret file secrets/blank.secret is "
      "empty; put the secret in it"]),
    ("secret_file_fifo.yaml",
     ["secret_file_fifo.yaml:2: nodes[0]: password_file: secrets/fifo.secret: secret file is "
      "not a regular file (a FIFO, socket or device); point to a plain file"]),
    ("secret_file_device.yaml",
     ["secret_file_device.yaml:2: nodes[0]: password_file: /dev/zero: secret file is not a "
      "regular file (a FIFO, socket or device); point to a plain file"]),
    # -- ${...} references: malformed ones are errors, never literal text
    ("env_unterminated.yaml",
     ["env_unterminated.yaml:4: nodes[0].password: unterminated "
      "${HASHWATCH_CORPUS_UNSET_VAR...}; write $${ for a literal ${"]),
    ("env_unsupported_form.yaml",
     ["env_unsupported_form.yaml:4: nodes[0].password: unsupported form "
      "${HASHWATCH_CORPUS_UNSET_VAR:?...}: use ${HASHWATCH_CORPUS_UNSET_VAR} or "
      "${HASHWATCH_CORPUS_UNSET_VAR:-default}; write $${ for a literal ${"]),
    ("env_nested_unset.yaml",
     ["env_nested_unset.yaml:4: nodes[0].password: environment variable "
      "HASHWATCH_CORPUS_UNSET_VAR2 is not set; export it or write "
      "${HASHWATCH_CORPUS_UNSET_VAR2:-default}"]),
    # -- ports out of range anywhere a URL or endpoint is given
    ("node_url_port_zero.yaml",
     ["node_url_port_zero.yaml:3: nodes[0].url: the port in the URL is not a number from 1 to "
      "65535"]),
    ("webhook_url_port_out_of_range.yaml",
     ["webhook_url_port_out_of_range.yaml:8: alerts.channels[0].url: the port in the URL is "
      "not a number from 1 to 65535"]),
    ("zmq_port_out_of_range.yaml",
     ["zmq_port_out_of_range.yaml:4: nodes[0].zmq_sequence: expected a ZMQ endpoint like "
      "tcp://127.0.0.1:28332 (port 1-65535)"]),
    ("price_url_port_out_of_range.yaml",
     ["price_url_port_out_of_range.yaml:6: economics.price.url: the port in the URL is not a "
      "number from 1 to 65535"]),
    # -- price plausibility range
    ("price_min_above_max.yaml",
     ["price_min_above_max.yaml:5: economics.price: min_usd 5e+06 must be below max_usd 1000"]),
    ("price_static_outside_range.yaml",
     ["price_static_outside_range.yaml:5: economics.price: static_usd 5 is outside "
      "min_usd..max_usd (100..1e+07); fix the price or widen the range"]),
    ("history_too_small.yaml",
     ["history_too_small.yaml:5: difficulty.history_blocks: Input should be greater than or "
      "equal to 4032"]),
]

RULE_CASES: list[tuple[str, list[str]]] = [
    ("rules_yaml_error.yaml",
     ["rules/yaml_error.yml:6: YAML syntax error: expected ',' or ']', but got '<stream end>'"]),
    ("rules_unknown_key.yaml",
     ["rules/unknown_key.yml:6: rule 'my_fee_rule': treshold_resolve: unknown key; see "
      "README.md#alerts for the rule keys"]),
    ("rules_missing_threshold.yaml",
     ["rules/missing_threshold.yml:2: rule 'my_fee_rule': threshold: op and threshold are "
      "required for kind threshold"]),
    ("rules_duplicate_rule.yaml",
     ["rules/duplicate_rule.yml:6: rule 'my_fee_rule': defined twice in the same file"]),
    ("rules_bad_duration.yaml",
     ["rules/bad_duration.yml:6: rule 'my_fee_rule': for: expected a duration like 30s, 5m, "
      "1h, 7d (got '5 minutes')"]),
    ("rules_bad_op.yaml",
     ["rules/bad_op.yml:4: rule 'my_fee_rule': op: Input should be '<', '<=', '>', '>=', '==' "
      "or '!=' (got '=>')"]),
    ("rules_not_a_list.yaml",
     ["rules/not_a_list.yml:1: a rules file is a mapping with a `rules:` list"]),
    ("rules_unnamed_rule.yaml", ["rules/unnamed_rule.yml:2: rules[0]: every rule needs a name"]),
    ("rules_bad_template.yaml",
     ["rules/bad_template.yml:6: rule 'my_fee_rule': summary: unknown template field "
      "'fee_rate'; known: rule, node, severity, status, value, observed, threshold, "
      "resolve_threshold, reference, window, labels, indicator, network, site"]),
    ("rules_wrong_hysteresis.yaml",
     ["rules/wrong_hysteresis.yml:6: rule 'my_fee_rule': resolve_threshold: 60 must be <= "
      "threshold 50 for op > (hysteresis resolves further away)"]),
    ("rules_unknown_channel.yaml",
     ["rules/unknown_channel.yml:6: rule 'my_fee_rule': channels: unknown channel 'pager' "
      "(known: log)"]),
    ("rules_alias_bomb.yaml", [f"rules/alias_bomb.yml:5: {_ALIAS}"]),
    ("rules_missing_file.yaml",
     ["rules/missing.yml: rules file not found; check the path in the config"]),
]


def _cases() -> list:
    return [pytest.param(f, e, id=f) for f, e in CONFIG_CASES + RULE_CASES]


@pytest.mark.parametrize("name,expected", RULE_CASES, ids=[f for f, _ in RULE_CASES])
def test_check_rules_bad_rule_file_names_file_line_rule_and_key(name, expected, monkeypatch,
                                                               corpus):
    """The rule-file messages themselves, checked through the function check-config will call."""
    from hashwatch.alerts.commands import check_rules
    from hashwatch.config import ConfigError, load_config

    monkeypatch.chdir(corpus)
    with pytest.raises(ConfigError) as info:
        check_rules(load_config(name))
    assert info.value.problems == expected


def test_corpus_has_at_least_30_cases_each_with_a_file():
    names = [f for f, _ in CONFIG_CASES + RULE_CASES]
    assert len(set(names)) == len(names) >= 30
    missing = [f for f in names if not (CORPUS / f).exists() and f not in MADE_AT_RUN_TIME]
    assert missing == []


@pytest.mark.parametrize("name,expected", _cases())
def test_check_config_bad_input_prints_exact_lines_and_exits_2(name, expected, monkeypatch,
                                                               capsys, corpus):
    monkeypatch.chdir(corpus)
    monkeypatch.delenv("HASHWATCH_CORPUS_UNSET_VAR", raising=False)
    code = main(["check-config", "--config", name])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == [PREFIX + line for line in expected]
    assert out == ""
    for secret in SECRETS:
        assert secret not in err


SUBPROCESS_CASES = ["yaml_tab_indent.yaml", "slack_bad_webhook_url.yaml", "does_not_exist.yaml",
                    "yaml_alias_bomb.yaml"]


def test_check_config_real_process_bad_input_exit_2_without_traceback():
    expected = dict(CONFIG_CASES)

    def run(name: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "hashwatch", "check-config", "--config", name],
            cwd=CORPUS, capture_output=True, text=True, timeout=60,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(SUBPROCESS_CASES, pool.map(run, SUBPROCESS_CASES), strict=True))
    for name, proc in results.items():
        assert proc.returncode == 2, name
        assert "Traceback" not in proc.stderr
        assert proc.stderr.splitlines() == [PREFIX + line for line in expected[name]]
