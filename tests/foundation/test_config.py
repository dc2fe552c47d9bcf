"""Config loading: key paths, file lines, env interpolation, secret files, exact messages."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hashwatch.config import ConfigError, load_config


def write(tmp_path: Path, text: str, name: str = "hashwatch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    return info.value.problems


def test_load_config_minimal_cookie_node_uses_defaults(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: main
            cookie_file: /var/lib/bitcoind/.cookie
    """,
    )
    config = load_config(path, env={})
    assert config.nodes[0].url == "http://127.0.0.1:8332/"
    assert config.metrics.listen == "127.0.0.1"
    assert config.polling.chain_seconds == 15


def test_load_config_env_interpolation_fills_password(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: main
            user: hw
            password: ${RPC_PASSWORD}
    """,
    )
    config = load_config(path, env={"RPC_PASSWORD": "s3cret-value"})
    assert config.nodes[0].password.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(config)


def test_load_config_unset_env_names_variable_line_and_fix(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: main
            user: hw
            password: ${RPC_PASSWORD}
    """,
    )
    assert problems(path) == [
        f"{path}:4: nodes[0].password: environment variable RPC_PASSWORD is not set; "
        "export it or write ${RPC_PASSWORD:-default}"
    ]


def test_load_config_env_default_used_when_unset(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: main
            url: http://${HOST:-127.0.0.1}:18443/
            cookie_file: /x/.cookie
    """,
    )
    assert load_config(path, env={}).nodes[0].url == "http://127.0.0.1:18443/"


def test_load_config_password_file_read_and_stripped(tmp_path):
    secret = tmp_path / "rpc.secret"
    secret.write_text("from-a-file\n")
    path = write(
        tmp_path,
        f"""
        nodes:
          - name: main
            user: hw
            password_file: {secret}
    """,
    )
    assert load_config(path, env={}).nodes[0].password.get_secret_value() == "from-a-file"


def test_load_config_missing_password_file_names_key_and_path(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: main
            user: hw
            password_file: /nonexistent/rpc.secret
    """,
    )
    assert problems(path) == [
        f"{path}:2: nodes[0]: password_file: secret file /nonexistent/rpc.secret not found"
    ]


def test_load_config_unknown_key_names_path_and_line(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: main
            cookie_file: /x/.cookie
        polling:
          chain_secs: 5
    """,
    )
    assert problems(path) == [
        f"{path}:5: polling.chain_secs: unknown key; check the spelling against "
        "config/hashwatch.example.yaml"
    ]


def test_load_config_negative_interval_names_key(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: main
            cookie_file: /x/.cookie
        polling:
          mempool_seconds: -5
    """,
    )
    assert problems(path) == [f"{path}:5: polling.mempool_seconds: Input should be greater than 0"]


def test_load_config_bad_url_says_expected_form(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: main
            url: localhost:8332
            cookie_file: /x/.cookie
    """,
    )
    assert problems(path) == [f"{path}:3: nodes[0].url: expected a URL like http://127.0.0.1:8332/"]


def test_load_config_no_credentials_is_explained(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: main
    """,
    )
    assert problems(path) == [
        f"{path}:2: nodes[0]: no credentials: set user + password (or password_file), "
        "cookie_file, or datadir"
    ]


def test_load_config_duplicate_node_names_rejected(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: a
            cookie_file: /x/.cookie
          - name: a
            cookie_file: /y/.cookie
    """,
    )
    assert problems(path) == [f"{path}:1: nodes: duplicate node name 'a'; names must be unique"]


def test_load_config_duplicate_yaml_key_rejected_with_line(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: a
            cookie_file: /x/.cookie
        polling:
          chain_seconds: 5
          chain_seconds: 6
    """,
    )
    assert problems(path) == [
        f"{path}:6: YAML syntax error: duplicate key 'chain_seconds' (first at line 5)"
    ]


def test_load_config_yaml_syntax_error_has_line(tmp_path):
    path = write(tmp_path, "nodes:\n  - name: a\n    cookie_file: [unclosed\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:4: YAML syntax error:")


def test_load_config_empty_file_is_explained(tmp_path):
    path = write(tmp_path, "")
    assert problems(path) == [f"{path}: config file is empty; see config/hashwatch.example.yaml"]


def test_load_config_missing_file_says_how_to_fix(tmp_path):
    path = tmp_path / "nope.yaml"
    assert problems(path) == [f"{path}: config file not found; create it or pass --config"]


def test_load_config_wrong_type_shows_value(tmp_path):
    path = write(
        tmp_path,
        """
        nodes:
          - name: a
            cookie_file: /x/.cookie
        metrics:
          port: ninety
    """,
    )
    assert problems(path) == [
        f"{path}:5: metrics.port: Input should be a valid integer, unable to parse string as "
        "an integer (got 'ninety')"
    ]


def test_example_config_is_valid():
    example = Path(__file__).resolve().parents[2] / "config" / "hashwatch.example.yaml"
    config = load_config(example, env={"BITCOIN_RPC_PASSWORD": "x" * 12})
    assert config.nodes


@pytest.mark.parametrize("feature", ["difficulty", "fees", "economics", "alerts"])
def test_example_config_carries_each_feature_fragment_verbatim(feature):
    """docs/config-<feature>.yaml (validated by the feature's tests) is the example's section."""
    repo = Path(__file__).resolve().parents[2]
    fragment = (repo / "docs" / f"config-{feature}.yaml").read_text().strip()
    assert fragment in (repo / "config" / "hashwatch.example.yaml").read_text()
