"""The deployment files: docker-compose.yml and Dockerfile say what the README promises.

No Docker engine runs here; where a Docker client exists, ``docker compose config``
must also accept the file (skipped, visibly, otherwise).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_mongo_runs_as_a_replica_set_with_a_data_volume(compose: dict) -> None:
    mongo = compose["services"]["mongo"]
    assert mongo["image"].split(":")[0] == "mongo"
    command = mongo["command"]
    command = command if isinstance(command, list) else command.split()
    assert "--replSet" in command
    volume, target = mongo["volumes"][0].split(":")[:2]
    assert target == "/data/db" and volume in compose["volumes"]
    check = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate" in check and "isWritablePrimary" in check


def test_the_lrs_waits_for_mongo_and_serves_port_8000(compose: dict) -> None:
    lrs = compose["services"]["lrs"]
    assert lrs["build"] == "."
    assert lrs["depends_on"]["mongo"]["condition"] == "service_healthy"
    env = lrs["environment"]
    replica_set = re.search(r"replSet\W+(\w+)", " ".join(compose["services"]["mongo"]["command"])).group(1)
    assert env["LRS_DATABASE_URL"].startswith("mongodb://mongo:27017/")
    assert f"replicaSet={replica_set}" in env["LRS_DATABASE_URL"]
    assert {"LRS_ADMIN_KEY", "LRS_ADMIN_SECRET"} <= set(env)
    assert "8000:8000" in lrs["ports"]
    assert "/xapi/about" in " ".join(lrs["healthcheck"]["test"])


def test_dockerfile_slim_non_root_lrs_serve() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.\d+-slim\b", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    cmd = re.findall(r"^CMD (.+)$", text, re.M)[-1]
    assert "lrs serve" in cmd and "--host 0.0.0.0" in cmd and "--port 8000" in cmd and "--workers" in cmd
    for path in ("lrs", "statement_schemas", "profiles", "pyproject.toml"):
        assert re.search(rf"^COPY .*\b{re.escape(path)}\b", text, re.M), path
    assert "HEALTHCHECK" in text


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def test_docker_compose_config_parses() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("no Docker Compose here (no `docker compose` plugin, no docker-compose): "
                    "`docker compose config` not run (the YAML checks above ran)")
    result = subprocess.run([*command, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
