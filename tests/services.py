"""
Real services for tests: an S3-compatible server on loopback and a Celery worker process.

Registered as a pytest plugin (``pytest_plugins = ["tests.services"]`` in
conftest.py). When ``PROCTORING_RESULTS_REQUIRE_SERVICES=1`` (``.ci/run`` sets
it) a service that cannot start fails the test; otherwise it is skipped with
the reason, so ``make test`` passes on a machine without Redis.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIR = ROOT / "example"
S3_BUCKET = "proctoring-results"
S3_LOCATION = "proctoring-results"
S3_CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}
WORKER_READY_SECONDS = 60


def services_required():
    return os.environ.get("PROCTORING_RESULTS_REQUIRE_SERVICES") == "1"


def unavailable(reason):
    """Fail in CI (services required), skip elsewhere."""
    if services_required():
        pytest.fail(f"{reason} (PROCTORING_RESULTS_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.05, message="condition"):
    """Poll ``predicate`` until it returns something truthy; return it, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {message}.", pytrace=False)
        time.sleep(interval)


# ---------------------------------------------------------------- S3 (moto's server mode)


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3-compatible server on 127.0.0.1 and a free port, with the bucket created; yields the endpoint."""
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - moto[server] is in requirements/test.in
        unavailable(f"moto's server mode is not installed: {exc}")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=S3_BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def s3_storage_config(endpoint, **options):
    """The STORAGES entry for S3Storage against ``endpoint``: private, SigV4, never overwriting."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": endpoint,
            **S3_CREDENTIALS,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "signature_version": "s3v4",
            "file_overwrite": False,
            "location": S3_LOCATION,
            **options,
        },
    }


@pytest.fixture
def s3_client(s3_server):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def s3_storage(s3_server, s3_client, monkeypatch):
    """
    Report storage = S3Storage on the moto server, in this process and in workers started after it.

    Empties the bucket first, so a test sees only its own objects. Yields the boto3 client.
    """
    listed = s3_client.list_objects_v2(Bucket=S3_BUCKET).get("Contents", [])
    for obj in listed:
        s3_client.delete_object(Bucket=S3_BUCKET, Key=obj["Key"])
    monkeypatch.setenv("PROCTORING_RESULTS_S3_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("PROCTORING_RESULTS_S3_BUCKET", S3_BUCKET)
    with override_settings(STORAGES={**settings.STORAGES, "proctoring_results": s3_storage_config(s3_server)}):
        yield s3_client


def s3_keys(client):
    return sorted(obj["Key"] for obj in client.list_objects_v2(Bucket=S3_BUCKET).get("Contents", []))


# ---------------------------------------------------------------- Celery worker process


def app_subprocess_env(**env):
    """This process's environment for a Python subprocess running the app on the test settings, plus ``env``."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(EXAMPLE_DIR), os.environ.get("PYTHONPATH", "")]),
        **env,
    }


def database_url():
    """A DATABASE_URL naming the test database this process uses, for a worker subprocess."""
    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(conf["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            unavailable("a worker process cannot open an in-memory SQLite test database")
        return f"sqlite:///{name}"
    schemes = {"postgresql": "postgres", "mysql": "mysql"}
    if connection.vendor in schemes:
        user = quote(conf.get("USER") or "", safe="")
        password = quote(conf.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = conf.get("HOST") or "127.0.0.1"
        port = f":{conf['PORT']}" if conf.get("PORT") else ""
        return f"{schemes[connection.vendor]}://{auth}{host}{port}/{conf['NAME']}"
    unavailable(f"no worker support for {connection.vendor}")


def check_broker():
    """Fail/skip unless the configured broker answers (the file-system broker always does)."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem"):
        return
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure means "no broker"
        unavailable(f"the Celery broker at {url} is not reachable: {type(exc).__name__}")


class Worker:
    """A running ``celery worker`` process; ``kill()`` is SIGKILL, as a crashed machine would do."""

    def __init__(self, process, log_path):
        self.process = process
        self.log_path = log_path

    @property
    def pid(self):
        return self.process.pid

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self):
        return self.process.poll() is None

    def kill(self):
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def pause(self):
        """SIGSTOP: the process and its threads freeze (a slow but live worker that stopped beating)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        """Cold shutdown (SIGQUIT): the test is over, nothing is left to finish."""
        if self.alive():
            self.resume()
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(1)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def celery_worker_factory(transactional_db, tmp_path):
    """
    Start real worker processes on the configured broker, pointed at this test database.

    ``start(queues=None, beat=False, **env)`` consumes the given queues (comma-separated;
    default: Celery's default queue), runs Celery beat in the worker when ``beat``, adds environment variables for the
    worker (e.g. test settings switches), and returns a ready ``Worker``; all
    are stopped after the test.
    """
    check_broker()
    from example.celery import app as celery_app
    from example.celery import worker_command

    # Messages left by earlier tests would reach this test's worker with ids that mean nothing here.
    celery_app.control.purge()
    workers = []

    def start(queues=None, beat=False, **env):
        log_path = tmp_path / f"worker-{len(workers)}.log"
        worker_env = app_subprocess_env(
            DATABASE_URL=database_url(),
            PYTHONUNBUFFERED="1",
            **{key: str(value) for key, value in env.items()},
        )
        command = worker_command(
            f"test{len(workers)}@%h",
            queues=queues,
            beat_schedule=tmp_path / f"beat-{len(workers)}" if beat else None,  # the demo runs the periodic checks
        )
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(
                command,
                cwd=EXAMPLE_DIR,
                env=worker_env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(process, log_path)
        workers.append(worker)
        deadline = time.monotonic() + WORKER_READY_SECONDS
        while " ready." not in worker.log():
            if not worker.alive():
                unavailable(f"the Celery worker exited with code {process.returncode}:\n{worker.log()[-3000:]}")
            if time.monotonic() > deadline:
                worker.kill()
                unavailable(f"the Celery worker was not ready within {WORKER_READY_SECONDS} s:\n{worker.log()[-3000:]}")
            time.sleep(0.1)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def celery_worker(celery_worker_factory):
    """One real Celery worker process (solo pool) on the configured broker and this test database."""
    return celery_worker_factory()
