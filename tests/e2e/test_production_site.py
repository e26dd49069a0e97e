"""
The example under its production settings, deployed as docs/operations.rst says, in headless Chromium.

``migrate``, ``collectstatic``, then gunicorn (``example.wsgi``, gthread
workers, TLS with a certificate made for the test) and a Celery worker, all
with ``example.settings_production``: DEBUG off, HTTPS only, static files from
WhiteNoise. An instructor opens the Data Download page: its script and styles
load, and Generate makes a report that appears on the page. The site keeps its
embedded database and broker (a SQLite file and a folder, in a temporary
``EXAMPLE_VAR_DIR``), so nothing is shared with the rest of the suite.
"""

import datetime
import ipaddress
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from example.celery import worker_command

from ..services import free_port
from .test_data_download_browser import TIMEOUT_MS, browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.system]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = ROOT / "example"
COURSE_ID = "course-v1:DemoX+Proctoring101+2026"
PAGE = f"/courses/{COURSE_ID}/instructor/data_download/"
SEED_MESSAGE = (
    "The proctored exam results report is being created. To view the status of the report, see Pending Tasks below."
)
READY_SECONDS = 90


def self_signed_certificate(directory):
    """A certificate for 127.0.0.1 and its key, as PEM files; the browser is told to accept it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def production_site(tmp_path):
    """The example deployed with its production settings; yields its https:// URL."""
    var_dir = tmp_path / "var"
    dropped = {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith("PROCTORING_RESULTS_S3")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "example.settings_production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "EXAMPLE_VAR_DIR": str(var_dir),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(EXAMPLE_DIR), os.environ.get("PYTHONPATH", "")]),
            "PYTHONUNBUFFERED": "1",
        }
    )

    def manage(*args):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=EXAMPLE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"

    # The deploy steps of docs/operations.rst.
    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")
    manage("load_demo_course", "--learners", "20")
    cert, key = self_signed_certificate(tmp_path)
    port = free_port()
    logs = {name: open(tmp_path / f"{name}.log", "wb") for name in ("gunicorn", "worker")}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "example.wsgi:application",
                "--workers",
                "2",
                "--threads",
                "4",
                "--worker-class",
                "gthread",
                "--keep-alive",
                "5",
                "--bind",
                f"127.0.0.1:{port}",
                "--certfile",
                str(cert),
                "--keyfile",
                str(key),
            ],
            cwd=EXAMPLE_DIR,
            env=env,
            stdout=logs["gunicorn"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            worker_command("production@%h"),
            cwd=EXAMPLE_DIR,
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        ),
    ]
    url = f"https://127.0.0.1:{port}"

    def output():
        return "\n".join(f"{name}:\n{(tmp_path / f'{name}.log').read_text(errors='replace')[-3000:]}" for name in logs)

    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                if requests.get(f"{url}/", verify=str(cert), timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
                pytest.fail(f"the production site did not start:\n{output()}")
            time.sleep(0.25)
        while " ready." not in (tmp_path / "worker.log").read_text(errors="replace"):
            if processes[1].poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{output()}")
            time.sleep(0.1)
        yield url
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()


def test_under_production_settings_the_page_loads_its_script_and_styles_and_generate_works(browser, production_site):
    from playwright.sync_api import expect

    context = browser.new_context(ignore_https_errors=True, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    static = []
    page.on("response", lambda response: static.append(response) if "/static/" in response.url else None)
    page.goto(f"{production_site}/accounts/login/")
    page.fill("input[name=username]", "instructor")
    page.fill("input[name=password]", "demo-instructor-pw")
    page.click("button[type=submit]:has-text('Sign in')")
    page.goto(f"{production_site}{PAGE}")

    # The script and the styles, under their hashed names from collectstatic, served by WhiteNoise.
    loaded = {re.sub(r"\.[0-9a-f]{12}\.", ".", r.url.rsplit("/", 1)[1]): r for r in static}
    for name in ("data_download.js", "data_download.css"):
        assert name in loaded, [r.url for r in static]
        response = loaded[name]
        assert response.status == 200 and re.search(r"\.[0-9a-f]{12}\.(js|css)$", response.url), response.url
        assert "max-age=315360000" in response.headers.get("cache-control", ""), response.headers
    assert page.evaluate(
        "[...document.styleSheets].some(s => s.href && s.href.includes('data_download') && s.cssRules.length > 0)"
    )

    # The script runs: Generate is answered with the seed's message, and the report appears.
    page.get_by_role("button", name="Generate Proctored Exam Results Report").click()
    expect(page.locator("#pr-status")).to_have_text(SEED_MESSAGE)
    link = page.locator("#pr-reports a.pr-report-link").first
    expect(link).to_have_text(re.compile(r"^DemoX_Proctoring101_2026_proctored_exam_results_report_[-0-9]+\.csv$"))
    expect(page.locator("#pr-status")).to_contain_text("A new report is ready")
    context.close()
