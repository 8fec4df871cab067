"""Shared pieces of the benchmarks: servers, Herald under gunicorn, users and tokens, results.

Every benchmark is one command (`python -m bench.<name>`). It starts what it
needs through `Stack` (FerretDB, Kafka, RabbitMQ via scripts/*.sh on free ports
with throw-away data, unless MONGODB_URI / KAFKA_BOOTSTRAP_SERVERS /
RABBITMQ_URL are given), starts Herald with `start_herald` (the tests' own
launcher, `tests.support.processes.HeraldProcess`), and stops all of it on the
way out, on Ctrl-C, SIGTERM, and when its hard timeout (`deadline`) fires.

Results: bench/results/latest-<name>.json is the one tracked file per
benchmark; every run is also kept with its time under .run/bench/history/
(untracked), beside the gunicorn logs and the profiles, and that is where the
runs of an A/B comparison belong too. `make docs` rebuilds the tables of
docs/BENCHMARKS.md from the latest files (bench/report.py).

Users are inserted in bulk with pymongo and their access tokens minted with
flask-jwt-extended's `create_access_token` under the same JWT_SECRET_KEY, so
10,000 accounts take a second instead of 10,000 bcrypt logins.
"""

import contextlib
import datetime as dt
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from tests.support.processes import HeraldProcess, herald_env
from tests.support.services import free_port, run_script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"  # tracked: latest-<name>.json only
LOGS = ROOT / ".run" / "bench"  # untracked: gunicorn logs, profiles, history
HISTORY = LOGS / "history"  # every result, <name>-<time>.json
JWT_SECRET = "bench-secret-" + "x" * 40
ADMIN = {
    "username": "benchadmin",
    "email": "benchadmin@example.test",
    "password": "bench-admin-pw-1",
}
TOPIC = "herald.notifications"


class HardTimeout(Exception):
    """The benchmark ran past its hard limit."""


def _raise_interrupt(signum, _frame):
    if signum == signal.SIGALRM:
        raise HardTimeout("hard timeout reached")
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def deadline(seconds):
    """Stop the whole run (cleanly, through `finally` blocks) after `seconds`, or on SIGTERM."""
    previous = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGALRM, signal.SIGTERM)}
    signal.alarm(int(seconds))
    try:
        yield
    finally:
        signal.alarm(0)
        for s, handler in previous.items():
            signal.signal(s, handler)


def raise_nofile():
    """Raise this process's open-file limit to its hard limit; returns the new soft limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- servers


class Stack(contextlib.ExitStack):
    """The database and brokers of one run; everything it started stops on exit."""

    def __init__(self, store="sqlite"):
        super().__init__()
        self.info = {}
        self.store = store  # FerretDB's backend: sqlite, or postgresql (scripts/postgres.sh)
        self.ferretdb_pid_file = None
        self.postgres_port = self.postgres_data = None

    def __exit__(self, *exc):
        signal.alarm(0)  # the hard timeout covers the run, not the orderly shutdown after it
        return super().__exit__(*exc)

    def database_pid(self):
        """The pid of the FerretDB this stack started, if any."""
        with contextlib.suppress(OSError, ValueError, TypeError):
            return int(Path(self.ferretdb_pid_file).read_text().split()[0])
        return None

    def database_cpu_seconds(self):
        """CPU seconds used so far by the store: FerretDB, and PostgreSQL's processes."""
        pid = self.database_pid()
        if pid is None:
            return None
        total = cpu_seconds(pid)
        if self.postgres_port:
            postmaster = int(run_script("postgres.sh", "pid", *self._postgres_args()))
            total += sum(cpu_seconds(p) for p in [postmaster, *children(postmaster)])
        return total

    def mongodb(self):
        """A MongoDB-protocol server URI ending in a fresh database name."""
        given = os.environ.get("MONGODB_URI")
        name = f"herald_bench_{uuid.uuid4().hex[:8]}"
        if given:
            base = given.rsplit("/", 1)[0]
        else:
            port, data = free_port(), tempfile.mkdtemp(prefix="herald-bench-ferretdb-")
            run_script("ferretdb.sh", "install")
            backend = []
            if self.store == "postgresql":
                backend = ["--postgresql-url", self._postgres()]
            log(f"starting FerretDB ({self.store}) on {port}")
            run_script("ferretdb.sh", "start", "--port", str(port), "--data", data, *backend)
            self.callback(shutil.rmtree, data, True)
            self.callback(run_script, "ferretdb.sh", "stop", "--port", str(port))
            base = f"mongodb://127.0.0.1:{port}"
            self.ferretdb_pid_file = ROOT / ".run" / "ferretdb" / f"ferretdb-{port}.pid"
        uri = f"{base}/{name}"
        self.info["database"] = describe_database(base, self.info.get("store", "SQLite"))
        if given:
            self.callback(_drop_database, base, name)
        return uri

    def _postgres(self):
        """The URL of a PostgreSQL cluster of this stack's own (one per stack)."""
        if self.postgres_port is None:
            self.postgres_port = free_port()
            self.postgres_data = tempfile.mkdtemp(prefix="herald-bench-postgres-")
            run_script("postgres.sh", "install", timeout=900)
            log(f"starting PostgreSQL on {self.postgres_port}")
            run_script("postgres.sh", "start", *self._postgres_args())
            self.callback(shutil.rmtree, self.postgres_data, True)
            self.callback(run_script, "postgres.sh", "stop", *self._postgres_args())
            self.info["store"] = run_script("postgres.sh", "version", *self._postgres_args())
        return run_script("postgres.sh", "url", *self._postgres_args())

    def _postgres_args(self):
        return ["--port", str(self.postgres_port), "--data", self.postgres_data]

    def broker(self, kind):
        """The BROKER_URL for `kind` (memory, kafka, rabbitmq)."""
        if kind == "memory":
            self.info["broker"] = "memory:// (in-process)"
            return "memory://"
        if kind == "kafka":
            given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
            if not given:
                given = self._script_server("kafka.sh", "bootstrap", "kafka-{port}")
            self.info["broker"] = describe_kafka(given)
            return f"kafka://{given}"
        if kind == "rabbitmq":
            url = os.environ.get("RABBITMQ_URL") or self._script_server(
                "rabbitmq.sh", "url", "rabbitmq-{port}"
            )
            self.info["broker"] = describe_rabbitmq(url)
            return url
        raise ValueError(f"unknown broker {kind!r}")

    def _script_server(self, script, address_command, run_dir):
        port = free_port()
        run_script(script, "install", timeout=900)
        log(f"starting {script} on {port}")
        self.callback(shutil.rmtree, ROOT / ".run" / run_dir.format(port=port), True)
        self.callback(run_script, script, "stop", "--port", str(port))
        run_script(script, "start", "--port", str(port))
        return run_script(script, address_command, "--port", str(port))


def _drop_database(base, name):
    import pymongo

    with pymongo.MongoClient(base, serverSelectionTimeoutMS=3000) as client:
        client.drop_database(name)


def describe_database(base, backend="SQLite"):
    import pymongo

    with pymongo.MongoClient(base, serverSelectionTimeoutMS=10000) as client:
        info = client.admin.command("buildInfo")
    ferret = info.get("ferretdbVersion") or info.get("ferretdb", {}).get("version")
    if ferret:
        return f"FerretDB {ferret} ({backend} backend; MongoDB wire {info.get('version')})"
    return f"MongoDB {info.get('version')}"


def describe_kafka(bootstrap):
    from confluent_kafka.admin import AdminClient

    meta = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    version = "4.1.1" if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS") else "external"
    return f"Apache Kafka {version} (KRaft, {len(meta.brokers)} broker, scripts/kafka.sh)"


def describe_rabbitmq(url):
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        props = connection._impl.server_properties
        version = props.get("version", b"?")
        version = version.decode() if isinstance(version, bytes) else version
    finally:
        connection.close()
    return f"RabbitMQ {version} (scripts/rabbitmq.sh)"


# ---------------------------------------------------------------- Herald


SERVER_ENV = {
    "JWT_ACCESS_TOKEN_EXPIRES": "7200",
    "BCRYPT_ROUNDS": "4",
    "WORKER_CONNECTIONS": "30000",
    "LOG_LEVEL": "WARNING",
    "GUNICORN_TIMEOUT": "120",
    "WS_PING_INTERVAL": "600",  # no server pings during a run
    "OUTBOX_POLL_INTERVAL": "0.5",
    "ADMIN_USERNAME": ADMIN["username"],
    "ADMIN_EMAIL": ADMIN["email"],
    "ADMIN_PASSWORD": ADMIN["password"],
    "PYTHONUNBUFFERED": "1",
    # The benchmarks measure throughput from one address and one sender;
    # the abuse limits (60 sockets/min per address, ...) would measure the limiter.
    "RATELIMIT_ENABLED": "false",
}


def start_herald(*, mongodb_uri, broker_url, workers=1, app="wsgi:app", extra_env=None):
    """Herald (or another WSGI app) under gunicorn's gevent worker, started and ready.

    It waits until all `workers` run; stopping it is SIGTERM, then SIGKILL after
    5 s: a benchmark does not wait on 10,000 graceful closes.
    """
    raise_nofile()  # the gunicorn master and its workers inherit the limit
    port = free_port()
    settings = {"BROKER_URL": broker_url, "JWT_SECRET_KEY": JWT_SECRET, **SERVER_ENV}
    env = herald_env(mongodb_uri, **{**settings, **(extra_env or {})})
    herald = HeraldProcess(
        env,
        port=port,
        log_path=LOGS / f"gunicorn-{port}.log",
        app=app,
        workers=workers,
        stop_grace=5,
    )
    return herald.start(timeout=60)


def rss_kb(pid):
    """Resident set size of `pid` in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def children(pid):
    """The pids of `pid`'s children (Linux)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def cpu_seconds(pid):
    """User+system CPU seconds used so far by `pid`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- users and tokens


def create_users(mongodb_uri, count, prefix="bench"):
    """Insert `count` users in bulk; returns their ids."""
    import bcrypt
    import pymongo

    from app.auth.models import User

    hashed = bcrypt.hashpw(b"bench-password-1", bcrypt.gensalt(4)).decode()
    # Only fields this checkout's User model knows (mongoengine refuses unknown ones).
    extra = {"token_version": 0} if "token_version" in User._fields else {}
    created = dt.datetime.now(dt.UTC)
    run = uuid.uuid4().hex[:6]
    ids = [str(uuid.uuid4()) for _ in range(count)]
    docs = [
        {
            "_id": user_id,
            "username": f"{prefix}{run}{n}"[:32],
            "email": f"{prefix}{run}{n}@example.test",
            "password_hash": hashed,
            "role": "user",
            "created_at": created,
            **extra,
        }
        for n, user_id in enumerate(ids)
    ]
    with pymongo.MongoClient(mongodb_uri, uuidRepresentation="standard") as client:
        users = client.get_default_database()["users"]
        for start in range(0, len(docs), 1000):
            users.insert_many(docs[start : start + 1000], ordered=False)
    return ids


def mint_tokens(user_ids, secret=JWT_SECRET, hours=6):
    """Access tokens Herald accepts, signed with its JWT_SECRET_KEY."""
    from flask import Flask
    from flask_jwt_extended import JWTManager, create_access_token

    app = Flask("bench-tokens")
    app.config.update(JWT_SECRET_KEY=secret, JWT_ACCESS_TOKEN_EXPIRES=dt.timedelta(hours=hours))
    JWTManager(app)
    with app.app_context():
        # The claims Herald's own tokens carry (app/auth/tokens.py: role, token version).
        claims = {"role": "user", "ver": 0}
        return [create_access_token(identity=u, additional_claims=claims) for u in user_ids]


def admin_token(base_url):
    response = requests.post(
        base_url + "/api/login",
        json={"username": ADMIN["username"], "password": ADMIN["password"]},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


# ---------------------------------------------------------------- statistics and results


def percentiles(values, points=(50, 95, 99)):
    """Nearest-rank percentiles of `values` (milliseconds in, milliseconds out)."""
    if not values:
        return {**{f"p{p}": None for p in points}, "max": None}
    ordered = sorted(values)
    out = {}
    for p in points:
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        out[f"p{p}"] = round(ordered[rank], 2)
    out["max"] = round(ordered[-1], 2)
    return out


def machine():
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024**2, 1),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def package_versions():
    from importlib.metadata import version

    names = ("gunicorn", "gevent", "flask-sock", "simple-websocket", "confluent-kafka", "pika")
    out = {}
    for name in names:
        with contextlib.suppress(Exception):
            out[name] = version(name)
    return out


def git_revision():
    with contextlib.suppress(Exception):
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "app"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        return rev + ("+dirty(app)" if dirty else "")
    return "?"


# Taken when the benchmark starts: a checkout that moves during a long run must not
# name the code it measured.
REVISION = git_revision()


def save_result(name, result, stack_info=None):
    """Write bench/results/latest-<name>.json and a copy .run/bench/history/<name>-<time>.json.

    Only the latest is tracked; docs/BENCHMARKS.md changes only with `make docs`.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    HISTORY.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    document = {
        "benchmark": name,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git": REVISION,
        "machine": machine(),
        "packages": package_versions(),
        "services": stack_info or {},
        **result,
    }
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    (HISTORY / f"{name}-{stamp}.json").write_text(text)
    (RESULTS / f"latest-{name}.json").write_text(text)
    log(
        f"wrote bench/results/latest-{name}.json (and .run/bench/history/{name}-{stamp}.json); "
        "`make docs` puts it in docs/BENCHMARKS.md"
    )
    return document


def loadavg():
    return [round(x, 2) for x in os.getloadavg()]
