"""Docker packaging, checked as far as a machine without a Docker engine allows.

- docker-compose.yml goes through the real Docker Compose v2 (`scripts/compose.sh`,
  built from the Go module proxy): it validates, interpolates and normalizes
  the file without an engine.
- Every variable given to the herald service is one that config.py or
  gunicorn.conf.py reads, and its broker URLs name adapters of app.brokers.
- Prometheus and Grafana listen on loopback, get the files of deploy/ where
  those files say (the scrape's token file is a secret made from Herald's own
  METRICS_TOKEN); deploy/ itself is checked in tests/test_dashboards.py.
- The Dockerfile is read statically (stages, user, command, health check, what
  it copies and what .dockerignore lets through), and the files its runtime
  stage holds are started with its own CMD, ENV and HEALTHCHECK.

Pulling images and `docker build` need an engine and Docker Hub: not checked here.
"""

import fnmatch
import json
import os
import re
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from app.brokers import REGISTRY
from config import CONFIGS, load_config
from tests.support.services import ROOT, free_port, run_script

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_SCRIPT = ROOT / "scripts" / "compose.sh"

STRONG_SECRET = "compose-test-secret-0123456789abcdef0123456789"
METRICS_TOKEN = "compose-test-metrics-token-0123456789"
# What every compose command needs: no default signing key, and Prometheus needs the token.
REQUIRED = {"JWT_SECRET_KEY": STRONG_SECRET, "METRICS_TOKEN": METRICS_TOKEN}
KAFKA_URL = "kafka://kafka:9092"
AMQP_URL = "amqp://guest:guest@rabbitmq:5672/%2F"
# Read by gunicorn.conf.py or by load_config() itself rather than a Config attribute.
PROCESS_SETTINGS = {
    "HERALD_ENV",
    "HOST",
    "PORT",
    "WEB_CONCURRENCY",
    "WORKER_CONNECTIONS",
    "ACCESS_LOG",
    "LOG_LEVEL",
}
# Variables docker-compose.yml interpolates; the tests set them explicitly.
COMPOSE_VARIABLES = (
    "JWT_SECRET_KEY",
    "METRICS_TOKEN",
    "BROKER_URL",
    "WEB_CONCURRENCY",
    "LOG_LEVEL",
    "GRAFANA_ADMIN_PASSWORD",
)


# ---- helpers ----------------------------------------------------------------


@pytest.fixture(scope="session")
def compose_installed():
    """Docker Compose v2 under .cache/bin, built once (quick when present)."""
    run_script("compose.sh", "install", timeout=900)


@pytest.fixture
def compose(compose_installed, tmp_path):
    """Run `scripts/compose.sh config ARGS` with exactly the given variables.

    The caller's COMPOSE_* and Herald variables are dropped, and an empty env
    file replaces the repo's .env, so a developer's settings cannot leak in.
    """
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")

    def run(*args, **variables):
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("COMPOSE_", "ADMIN_")) and name not in COMPOSE_VARIABLES
        }
        env["COMPOSE_ENV_FILES"] = str(empty_env_file)
        env.update(variables)
        return subprocess.run(
            ["bash", str(COMPOSE_SCRIPT), "config", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    return run


def normalized(compose, *args, **variables):
    result = compose("--format", "json", *args, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def settings_read():
    """Every environment variable config.py and gunicorn.conf.py read."""
    names = set()
    for source in (ROOT / "config.py", ROOT / "gunicorn.conf.py"):
        text = source.read_text()
        names |= set(re.findall(r"\benv_(?:str|int|float|bool)\(\s*[\"']([A-Z0-9_]+)[\"']", text))
        names |= set(re.findall(r"os\.environ\.get\(\s*[\"']([A-Z0-9_]+)[\"']", text))
    return names


def dockerfile_instructions():
    """[(stage index, INSTRUCTION, arguments)], continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    instructions, stage = [], -1
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append((stage, keyword, arguments.strip()))
    return instructions


def final_stage():
    instructions = dockerfile_instructions()
    last = max(stage for stage, _, _ in instructions)
    return [(keyword, arguments) for stage, keyword, arguments in instructions if stage == last]


def exec_form(arguments):
    """The JSON array of an exec-form CMD/HEALTHCHECK CMD."""
    assert arguments.startswith("["), f"use the exec (JSON) form: {arguments}"
    return json.loads(arguments)


def healthcheck_command():
    """The exec form of the runtime stage's HEALTHCHECK CMD."""
    checks = [arguments for keyword, arguments in final_stage() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1, "one HEALTHCHECK in the runtime stage"
    return exec_form(checks[0].split(" CMD ", 1)[1])


def copy_sources():
    """(stage, sources, destination) of every COPY from the build context."""
    copies = []
    for stage, keyword, arguments in dockerfile_instructions():
        if keyword not in ("COPY", "ADD"):
            continue
        words = shlex.split(arguments)
        if any(word.startswith("--from") for word in words):
            continue
        words = [word for word in words if not word.startswith("--")]
        copies.append((stage, words[:-1], words[-1]))
    return copies


def dockerignore_excludes(path):
    """Whether .dockerignore leaves `path` (relative, '/'-separated) out: last match wins."""
    excluded = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    for raw in DOCKERIGNORE.read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        candidates = prefixes
        if pattern.startswith("**/"):  # any depth: match the tail of the path
            pattern = pattern[3:]
            candidates = [
                "/".join(parts[index : end + 1])
                for index in range(len(parts))
                for end in range(index, len(parts))
            ]
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
            excluded = not negate
    return excluded


def context_files(source):
    """The files of `source` (a file or folder of the repo) that reach the build context."""
    path = ROOT / source
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    relative = (file.relative_to(ROOT).as_posix() for file in files)
    return [name for name in relative if not dockerignore_excludes(name)]


# ---- (a) docker compose config -------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, KAFKA_URL), (KAFKA_URL, KAFKA_URL), (AMQP_URL, AMQP_URL)],
    ids=["default-kafka", "kafka", "amqp"],
)
def test_compose_config_chooses_the_broker_with_one_variable(compose, given, expected):
    variables = dict(REQUIRED)
    if given is not None:
        variables["BROKER_URL"] = given
    config = normalized(compose, **variables)

    environment = config["services"]["herald"]["environment"]
    assert environment["BROKER_URL"] == expected
    assert environment["JWT_SECRET_KEY"] == STRONG_SECRET
    assert environment["HERALD_ENV"] == "production"
    assert environment["MONGODB_URI"] == "mongodb://mongodb:27017/herald"
    # The broker's host is a service of this file, so both brokers are reachable.
    assert urlsplit(expected).hostname in config["services"]


@pytest.mark.parametrize("name", ["JWT_SECRET_KEY", "METRICS_TOKEN"])
def test_compose_config_refuses_a_missing_or_empty_required_variable(compose, name):
    others = {key: value for key, value in REQUIRED.items() if key != name}
    for variables in (others, {**others, name: ""}):
        result = compose(**variables)
        assert result.returncode != 0, result.stdout
        assert name in result.stderr


def test_compose_services_wait_for_healthy_dependencies(compose):
    services = normalized(compose, **REQUIRED)["services"]
    assert set(services) == {
        "mongodb",
        "kafka",
        "rabbitmq",
        "herald",
        "prometheus",
        "grafana",
        "mailpit",
    }
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    # Emails go to the Mailpit of this file unless SMTP_URL names a real provider.
    assert urlsplit(services["herald"]["environment"]["SMTP_URL"]).hostname == "mailpit"

    herald = services["herald"]
    assert herald["build"]["context"] == str(ROOT)
    assert any(port["target"] == 8000 and port["published"] == "8000" for port in herald["ports"])
    for name in ("mongodb", "kafka", "rabbitmq"):
        assert herald["depends_on"][name]["condition"] == "service_healthy"
        assert services[name]["healthcheck"]["test"], name

    assert services["mongodb"]["image"] == "mongo:7"
    assert "mongosh" in services["mongodb"]["healthcheck"]["test"]
    assert any(
        volume["target"] == "/data/db" and volume["type"] == "volume"
        for volume in services["mongodb"]["volumes"]
    )
    assert services["rabbitmq"]["healthcheck"]["test"][1:] == ["rabbitmq-diagnostics", "-q", "ping"]

    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"


# ---- (b) the herald service's settings -------------------------------------------


def test_every_herald_variable_is_a_setting_herald_reads(compose):
    read = settings_read()
    assert read >= PROCESS_SETTINGS, "the settings regex no longer matches"
    assert {"JWT_SECRET_KEY", "MONGODB_URI", "BROKER_URL", "WS_PING_INTERVAL"} <= read

    raw = normalized(compose, "--no-interpolate")["services"]["herald"]["environment"]
    unknown = sorted(set(raw) - read - PROCESS_SETTINGS)
    assert not unknown, f"herald gets variables nothing reads: {unknown}"


def test_herald_broker_urls_name_registered_adapters(compose):
    raw = normalized(compose, "--no-interpolate")["services"]["herald"]["environment"]
    default = re.fullmatch(r"\$\{BROKER_URL:-(.+)\}", raw["BROKER_URL"])
    assert default, raw["BROKER_URL"]
    assert default.group(1) == KAFKA_URL

    for url in (KAFKA_URL, AMQP_URL):
        scheme = urlsplit(url).scheme
        assert scheme in REGISTRY
        # Several gunicorn workers need a broker that fans out between processes.
        assert scheme != "memory"
    # The documented switch is the one this test uses.
    assert f"BROKER_URL={AMQP_URL}" in (ROOT / "docker-compose.yml").read_text()


def test_herald_environment_passes_production_validation(compose, monkeypatch):
    environment = normalized(compose, **REQUIRED)["services"]["herald"]["environment"]
    assert environment["HERALD_ENV"] in CONFIGS
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = load_config()
    assert config.ENV_NAME == "production"
    assert config.BROKER_URL == KAFKA_URL
    assert int(environment["WEB_CONCURRENCY"]) >= 1

    monkeypatch.setenv("JWT_SECRET_KEY", "too-short")
    with pytest.raises(RuntimeError, match="JWT_SECRET_KEY"):
        load_config()


# ---- (b2) Prometheus and Grafana beside Herald ----------------------------------------


def bind_mounts(service):
    """{path in the container: path in the repo, relative} of a service's bind mounts."""
    return {
        volume["target"]: Path(volume["source"]).relative_to(ROOT).as_posix()
        for volume in service["volumes"]
        if volume["type"] == "bind"
    }


def promtool_release():
    """The Prometheus release scripts/promtool.sh builds: its module's v0.3XX.Y is 3.XX.Y."""
    version = re.search(
        r"^PROMETHEUS_MODULE_VERSION=v0\.(\d)(\d\d)\.(\d+)",
        (ROOT / "scripts" / "promtool.sh").read_text(),
        re.M,
    )
    return "{}.{}.{}".format(*(int(part) for part in version.groups()))


def test_prometheus_grafana_and_mailpit_listen_on_loopback_only(compose):
    services = normalized(compose, **REQUIRED)["services"]
    for name, port in (("prometheus", 9090), ("grafana", 3000), ("mailpit", 8025)):
        (published,) = services[name]["ports"]
        assert published["target"] == port and published["host_ip"] == "127.0.0.1", name


def test_prometheus_gets_the_config_and_the_token_herald_gets(compose):
    config = normalized(compose, **REQUIRED)
    prometheus = config["services"]["prometheus"]
    config_file = next(
        flag.split("=", 1)[1] for flag in prometheus["command"] if flag.startswith("--config.file=")
    )
    assert bind_mounts(prometheus)[config_file] == "deploy/prometheus/prometheus.yml"
    # The token file is a secret made from the very variable Herald's METRICS_TOKEN is.
    (secret,) = prometheus["secrets"]
    assert config["secrets"][secret["source"]]["environment"] == "METRICS_TOKEN"
    raw = normalized(compose, "--no-interpolate")["services"]["herald"]["environment"]
    assert raw["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    (job,) = scrape["scrape_configs"]
    assert job["authorization"]["credentials_file"] == secret["target"]
    host, port = job["static_configs"][0]["targets"][0].split(":")
    assert host == "herald" and port == config["services"]["herald"]["environment"]["PORT"]
    assert config["services"]["grafana"]["depends_on"]["prometheus"]
    # The config is checked by the promtool of the Prometheus that runs it.
    assert prometheus["image"] == f"prom/prometheus:v{promtool_release()}"


def test_grafana_gets_its_provisioning_and_the_dashboard(compose):
    grafana = normalized(compose, **REQUIRED)["services"]["grafana"]
    mounts = bind_mounts(grafana)
    assert mounts["/etc/grafana/provisioning"] == "deploy/grafana/provisioning"
    providers = ROOT / "deploy/grafana/provisioning/dashboards/herald.yml"
    (provider,) = yaml.safe_load(providers.read_text())["providers"]
    dashboards = provider["options"]["path"]
    assert mounts[dashboards] == "deploy/grafana/dashboards"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (ROOT / mounts[dashboards] / Path(home).relative_to(dashboards)).is_file()
    assert grafana["environment"]["GF_USERS_ALLOW_SIGN_UP"] == "false"


# ---- (c) the Dockerfile -------------------------------------------------------------


def test_dockerfile_is_multi_stage_on_python_slim():
    instructions = dockerfile_instructions()
    froms = [arguments for _, keyword, arguments in instructions if keyword == "FROM"]
    assert len(froms) >= 2, "build wheels in a builder stage"
    default_image = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.M)
    assert default_image and default_image.group(1) == "python:3.11-slim"
    assert all(image.split()[0] == "${PYTHON_IMAGE}" for image in froms)

    builder_runs = " ".join(
        arguments for stage, keyword, arguments in instructions if stage == 0 and keyword == "RUN"
    )
    assert "pip wheel" in builder_runs and "'.[brokers]'" in builder_runs
    final = final_stage()
    assert any(keyword == "COPY" and "--from=builder" in arguments for keyword, arguments in final)
    assert not any(keyword == "RUN" and "pip install" in arguments for keyword, arguments in final)


def test_dockerfile_runs_gunicorn_gevent_as_non_root():
    final = final_stage()
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users, "the runtime stage must set a USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")

    env = " ".join(arguments for keyword, arguments in final if keyword == "ENV")
    for setting in (
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONUNBUFFERED=1",
        "HERALD_ENV=production",
        "HOST=0.0.0.0",
    ):
        assert setting in env
    assert ("EXPOSE", "8000") in final

    commands = [exec_form(arguments) for keyword, arguments in final if keyword == "CMD"]
    assert commands[-1] == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["worker_class"] == "gevent"


def test_dockerfile_healthcheck_uses_the_python_stdlib():
    command = healthcheck_command()
    assert command[0] == "python"
    assert "urllib.request" in command[-1] and "/healthz" in command[-1]


def test_everything_the_dockerfile_copies_exists_and_reaches_the_context():
    copies = copy_sources()
    assert copies
    for _, sources, _ in copies:
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repo"
            assert context_files(source), f"COPY {source}: left out by .dockerignore"


def test_dockerignore_keeps_local_state_out_of_the_context():
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        ".cache/bin/docker-compose",
        ".run/ferretdb/ferretdb.log",
        ".env",
        "tests/conftest.py",
        "test-artifacts/report.xml",
        ".pytest_cache/v/cache",
        "app/__pycache__/config.cpython-311.pyc",
        "herald.egg-info/PKG-INFO",
    ):
        assert dockerignore_excludes(path), path
    for path in ("app/__init__.py", "wsgi.py", "config.py", "gunicorn.conf.py", "setup.cfg"):
        assert not dockerignore_excludes(path), path


def test_the_installed_package_carries_every_file_of_app():
    """The image installs a wheel: files under app/ other than .py need MANIFEST.in/package_data."""
    others = [name for name in context_files("app") if not name.endswith(".py")]
    declared = (ROOT / "MANIFEST.in").exists() or "package_data" in (ROOT / "setup.cfg").read_text()
    assert not others or declared, f"not in the wheel without MANIFEST.in/package_data: {others}"


# ---- the runtime stage's files, started as the image starts them ----------------


def runtime_tree(destination):
    """What the runtime stage holds of the repo: the installed `app` package and its COPYs."""
    final_index = max(stage for stage, _, _ in dockerfile_instructions())
    sources = ["app"]  # installed into /opt/venv by the builder
    sources += [
        source for stage, names, _ in copy_sources() if stage == final_index for source in names
    ]
    for source in sources:
        for name in context_files(source):
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
    return destination


FIND_ORIGINS = (
    "import importlib.util\n"
    "for name in ('app', 'app.brokers', 'config', 'wsgi'):\n"
    "    print(importlib.util.find_spec(name).origin)\n"
)


def start_like_the_image(workdir, **env):
    final = final_stage()
    image_env = {}
    for keyword, arguments in final:
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                image_env[name] = value
    image_env.pop("PATH", None)
    command = [exec_form(arguments) for keyword, arguments in final if keyword == "CMD"][-1]
    check = healthcheck_command()
    bin_dir = os.path.dirname(os.path.realpath(sys.executable))
    venv_bin = str(ROOT / ".venv" / "bin")
    process_env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("HERALD")},
        **image_env,
        "PATH": os.pathsep.join([venv_bin, bin_dir, os.environ.get("PATH", "")]),
        "WEB_CONCURRENCY": "1",
        **env,
    }
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return process, check, process_env


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    return process.stdout.read().decode(errors="replace")


def test_runtime_files_serve_with_the_image_cmd_and_healthcheck(tmp_path, mongodb_uri):
    workdir = runtime_tree(tmp_path / "srv")
    # The code is the runtime tree's (cwd first on sys.path), not the repo's.
    origins = subprocess.run(
        [sys.executable, "-c", FIND_ORIGINS],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert origins and all(origin.startswith(str(workdir)) for origin in origins), origins
    port = free_port()
    process, check, env = start_like_the_image(
        workdir,
        HOST="127.0.0.1",
        PORT=str(port),
        JWT_SECRET_KEY=STRONG_SECRET,
        MONGODB_URI=mongodb_uri,
        BROKER_URL="memory://",
        INSTANCE_ID=f"docker-test-{port}",
    )
    try:
        deadline = time.monotonic() + 30
        healthy = False
        while time.monotonic() < deadline and process.poll() is None:
            result = subprocess.run(check, env=env, cwd=workdir, capture_output=True, timeout=10)
            if result.returncode == 0:
                healthy = True
                break
            time.sleep(0.3)
    finally:
        output = stop(process)
    assert healthy, f"the HEALTHCHECK never passed; gunicorn said:\n{output}"


def test_runtime_refuses_a_weak_jwt_secret(tmp_path, mongodb_uri):
    workdir = runtime_tree(tmp_path / "srv")
    process, _, _ = start_like_the_image(
        workdir,
        HOST="127.0.0.1",
        PORT=str(free_port()),
        JWT_SECRET_KEY="short",
        MONGODB_URI=mongodb_uri,
        BROKER_URL="memory://",
    )
    try:
        process.wait(30)
    finally:
        output = stop(process)
    assert process.returncode != 0
    assert "JWT_SECRET_KEY" in output
