"""The hashwatch image recipe and the stack's helper files: non-root, health-checked, every
COPY source present; the compose configs validate against hashwatch's own schema."""

from __future__ import annotations

import json
import re
import shutil
from fnmatch import fnmatch

import pytest

from hashwatch.cli import build_parser
from hashwatch.config import load_config

from .stackutil import REPO, load_yaml, run

DOCKERFILE = REPO / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_final_stage_runs_as_non_root_user():
    users = [rest for word, rest in _instructions() if word == "USER"]
    assert users, "no USER instruction"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_has_healthcheck_on_healthz():
    checks = [rest for word, rest in _instructions() if word == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "HASHWATCH_HEALTH_URL" in checks[0]
    assert "HASHWATCH_HEALTH_URL=http://127.0.0.1:9332/healthz" in DOCKERFILE.read_text()


def test_dockerfile_base_images_are_slim():
    bases = [rest.split()[0] for word, rest in _instructions() if word == "FROM"]
    assert len(bases) == 2  # build stage + runtime stage
    assert all("slim" in b for b in bases)


def test_dockerfile_copy_sources_exist_and_pass_dockerignore():
    ignore = [p for p in (REPO / ".dockerignore").read_text().splitlines()
              if p and not p.startswith("#")]

    def included(path: str) -> bool:
        keep = True
        for pattern in ignore:
            negate = pattern.startswith("!")
            pat = pattern.lstrip("!").rstrip("/")
            if fnmatch(path, pat) or fnmatch(path, pat + "/*") or path == pat:
                keep = negate
        return keep

    sources = []
    for word, rest in _instructions():
        if word == "COPY" and "--from=" not in rest:
            sources += rest.split()[:-1]
    assert "README.md" in sources and "pyproject.toml" in sources
    for src in sources:
        assert (REPO / src).exists(), f"COPY source {src} missing"
        assert included(src), f"{src} excluded by .dockerignore"


def test_dockerfile_cmd_is_accepted_by_cli():
    cmd = next(rest for word, rest in _instructions() if word == "CMD")
    args = json.loads(cmd)
    parsed = build_parser().parse_args(args)
    assert str(parsed.state_dir) == "/var/lib/hashwatch"


def test_dockerfile_config_path_matches_compose_mount():
    m = re.search(r"HASHWATCH_CONFIG=(\S+)", DOCKERFILE.read_text())
    compose = load_yaml(REPO / "docker-compose.yml")
    targets = [v.split(":")[1] for v in compose["services"]["hashwatch"]["volumes"]]
    assert m and m.group(1) in targets


def test_docker_hashwatch_config_regtest_validates():
    config = load_config(
        REPO / "config/docker/hashwatch.yaml",
        env={"HASHWATCH_POOLS_FILE": str(REPO / "config/docker/regtest-pools.json")},
    )
    assert config.nodes[0].network == "regtest"
    assert config.metrics.listen == "0.0.0.0"
    assert config.economics.price is not None and config.economics.scenarios


def test_docker_hashwatch_config_mainnet_validates():
    config = load_config(REPO / "config/docker/hashwatch-mainnet.yaml",
                         env={"BITCOIN_RPC_PASSWORD": "not-a-real-secret"})
    node = config.nodes[0]
    assert node.network == "main" and node.user == "hashwatch"
    assert "not-a-real-secret" not in repr(config)


def test_regtest_pools_file_matches_miner_addresses():
    pools = json.loads((REPO / "config/docker/regtest-pools.json").read_text())
    file_addresses = {a for p in pools for a in p["addresses"]}
    script = (REPO / "docker/regtest-miner.sh").read_text()
    script_addresses = set(re.findall(r"^POOL_[A-Z]=(bcrt1\w+)", script, re.M))
    assert len(file_addresses) == 5
    assert script_addresses == file_addresses


@pytest.mark.parametrize("script", ["regtest-miner.sh", "render-alertmanager.sh",
                                    "bitcoind-entrypoint.sh"])
def test_helper_scripts_posix_sh_syntax_ok(script):
    sh = shutil.which("dash") or shutil.which("sh")
    result = run([sh, "-n", str(REPO / "docker" / script)])
    assert result.returncode == 0, result.stderr
