"""docker-compose.yml and the mainnet override, checked without a Docker engine: they parse,
everything they mount exists, every ${VAR} is documented, nothing secret is written in them."""

from __future__ import annotations

import re
import shutil

import pytest

from .stackutil import REPO, load_yaml, run

COMPOSE = REPO / "docker-compose.yml"
MAINNET = REPO / "docker" / "compose.mainnet.yml"
ENV_EXAMPLE = REPO / ".env.example"
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "WEBHOOK", "API_KEY")


def _env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


def _volumes(service: dict) -> list[tuple[str, str]]:
    """(source, target) for each short-syntax volume entry."""
    out = []
    for entry in service.get("volumes", []):
        assert isinstance(entry, str), f"use the short volume syntax: {entry!r}"
        source, target = entry.split(":")[:2]
        out.append((source, target))
    return out


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def override() -> dict:
    return load_yaml(MAINNET)


def test_compose_services_whole_stack_present(compose):
    assert set(compose["services"]) == {
        "bitcoind", "miner", "hashwatch", "prometheus", "alertmanager", "grafana", "mailpit"
    }


@pytest.mark.parametrize("path", [COMPOSE, MAINNET], ids=["compose", "mainnet"])
def test_compose_bind_mounts_exist_in_repo(path):
    services = load_yaml(path)["services"]
    missing = []
    for name, service in services.items():
        for source, _ in _volumes(service):
            if source.startswith(("./", "../", "/")):
                if not (REPO / source).exists():  # relative to the project directory
                    missing.append(f"{name}: {source}")
    assert missing == []


def test_compose_named_volumes_declared(compose):
    declared = set(compose["volumes"])
    used = {
        source
        for service in compose["services"].values()
        for source, _ in _volumes(service)
        if not source.startswith(("./", "/", "$"))
    }
    assert used == declared


@pytest.mark.parametrize("path", [COMPOSE, MAINNET], ids=["compose", "mainnet"])
def test_compose_env_references_documented_in_env_example(path):
    referenced = set(VAR_RE.findall(path.read_text(encoding="utf-8")))
    assert referenced, "expected ${VAR} references"
    assert referenced - set(_env_example()) == set()


def test_env_example_every_variable_used_somewhere():
    used = set()
    for path in (COMPOSE, MAINNET, REPO / "config/docker/hashwatch.yaml",
                 REPO / "config/docker/hashwatch-mainnet.yaml"):
        used |= set(VAR_RE.findall(path.read_text(encoding="utf-8")))
    assert set(_env_example()) - used == set()


def test_env_example_secrets_are_empty():
    secrets = {k: v for k, v in _env_example().items() if any(w in k for w in SECRET_WORDS)}
    assert secrets, "expected secret variables to be documented"
    assert {k: v for k, v in secrets.items() if v} == {}


@pytest.mark.parametrize("path", [COMPOSE, MAINNET], ids=["compose", "mainnet"])
def test_compose_secret_settings_come_from_environment(path):
    for name, service in load_yaml(path)["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(w in key for w in SECRET_WORDS):
                assert isinstance(value, str) and value.startswith("${"), f"{name}.{key}"


def test_compose_every_service_has_healthcheck(compose):
    for name, service in compose["services"].items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), name


def test_compose_ports_bind_loopback_only(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_compose_images_pinned(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        default = image.split(":-", 1)[1].rstrip("}") if image.startswith("${") else image
        if "build" in service:
            continue
        assert ":" in default and not default.endswith(":latest"), f"{name}: {image}"


def test_compose_build_args_declared_in_dockerfile(compose):
    build = compose["services"]["hashwatch"]["build"]
    dockerfile = REPO / build["context"] / build["dockerfile"]
    declared = set(re.findall(r"^ARG\s+([A-Za-z_][A-Za-z0-9_]*)", dockerfile.read_text(), re.M))
    assert set(build.get("args", {})) <= declared


def test_compose_depends_on_existing_services(compose):
    for name, service in compose["services"].items():
        deps = service.get("depends_on", [])
        assert set(deps) <= set(compose["services"]), name


def test_compose_entrypoint_files_are_mounted(compose):
    """Scripts and templates named in an entrypoint are mounted into that container."""
    for name, service in compose["services"].items():
        text = " ".join(service.get("entrypoint", []) if isinstance(service.get("entrypoint"),
                                                                      list) else [])
        targets = {t for _, t in _volumes(service)}
        for path in re.findall(r"(/(?:opt/hashwatch|etc/alertmanager)/[\w./-]+)", text):
            assert path in targets, f"{name}: {path} is not mounted"


def test_compose_cookie_and_zmq_wiring_matches_hashwatch_config(compose):
    hw_config = load_yaml(REPO / "config/docker/hashwatch.yaml")["nodes"][0]
    flags = dict(f.lstrip("-").split("=", 1) for f in compose["services"]["bitcoind"]["command"])
    assert flags["rpccookiefile"] == hw_config["cookie_file"]
    assert flags["rpccookieperms"] == "group"
    assert flags["zmqpubsequence"].rsplit(":", 1)[1] == hw_config["zmq_sequence"].rsplit(":", 1)[1]
    assert hw_config["url"] == "http://bitcoind:18443/"  # regtest RPC port
    cookie_dir = hw_config["cookie_file"].rsplit("/", 1)[0]
    for name in ("hashwatch", "miner"):
        assert any(t == cookie_dir for _, t in _volumes(compose["services"][name])), name
    miner = (REPO / "docker/regtest-miner.sh").read_text()
    assert f"-rpccookiefile={hw_config['cookie_file']}" in miner


def test_compose_hashwatch_hardened(compose):
    hw = compose["services"]["hashwatch"]
    assert hw["read_only"] is True
    assert hw["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in hw["security_opt"]


def test_compose_grafana_mounts_match_provisioning(compose):
    grafana = dict((t, s) for s, t in _volumes(compose["services"]["grafana"]))
    provider = load_yaml(REPO / "grafana/provisioning/dashboards/hashwatch.yml")["providers"][0]
    dash_dir = provider["options"]["path"]
    assert grafana[dash_dir] == "./grafana/dashboards"
    assert grafana["/etc/grafana/provisioning"] == "./grafana/provisioning"
    env = compose["services"]["grafana"]["environment"]
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dash_dir + "/")
    assert (REPO / "grafana/dashboards" / home[len(dash_dir) + 1:]).is_file()
    datasource = load_yaml(REPO / "grafana/provisioning/datasources/prometheus.yml")
    url = datasource["datasources"][0]["url"]
    assert url.split("//")[1].split(":")[0] in compose["services"]


def test_mainnet_override_disables_regtest_services_and_swaps_config(override):
    services = override["services"]
    assert services["bitcoind"]["profiles"] == ["regtest"]
    assert services["miner"]["profiles"] == ["regtest"]
    targets = dict((t, s) for s, t in _volumes(services["hashwatch"]))
    assert targets["/etc/hashwatch/hashwatch.yaml"] == "./config/docker/hashwatch-mainnet.yaml"


def test_docker_compose_config_validates_when_plugin_present(tmp_path):
    docker = shutil.which("docker")
    if not docker or run([docker, "compose", "version"]).returncode != 0:
        pytest.skip("docker compose plugin not installed (the YAML checks above still ran)")
    result = run([docker, "compose", "-f", str(COMPOSE), "config", "--quiet"], cwd=REPO)
    assert result.returncode == 0, result.stderr
