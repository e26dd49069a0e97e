"""
Deployment and supply chain: security headers on every app URL, the
production settings pass ``check --deploy``, the dashboard keeps working under
its Content-Security-Policy in a real browser, and the CI runs pip-audit.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import reverse

from ..factories import COURSE_ID
from .conftest import client_for
from .test_authz_matrix import EXPECTATIONS, PUBLIC, call, url_for

ROOT = Path(__file__).resolve().parents[2]
APP_ENDPOINTS = sorted(k for k, e in EXPECTATIONS.items() if e.kind != PUBLIC)


def assert_security_headers(response):
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    for name in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in directives[name] and "'unsafe-eval'" not in directives[name]
        assert "*" not in directives[name] and "http" not in directives[name]


@pytest.mark.django_db
@pytest.mark.parametrize("key", APP_ENDPOINTS)
@pytest.mark.parametrize("role", ["instructor", "learner", "anonymous"])
def test_every_app_response_carries_the_security_headers(course, key, role):
    """Allowed or refused, page or API or file: the same headers."""
    for method in EXPECTATIONS[key].methods:
        response = call(
            client_for(course.users[role]), method, url_for(key, course, role), EXPECTATIONS[key].bodies.get(method)
        )
        assert_security_headers(response)


@pytest.mark.django_db
def test_each_request_gets_its_own_nonce(course):
    client = client_for(course.users["instructor"])
    page = reverse("proctoring_results:data_download", args=[COURSE_ID])
    nonces = [re.search(r"'nonce-([^']+)'", client.get(page)["Content-Security-Policy"]).group(1) for _ in range(2)]
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 16


@pytest.mark.django_db
def test_the_host_pages_are_left_alone(client):
    """The host's own pages (here: the example's home page) are the host's business."""
    response = client.get("/")
    assert "Content-Security-Policy" not in response


@pytest.mark.django_db
def test_the_dashboard_needs_nothing_the_policy_blocks(course):
    """Scripts and styles are same-origin files; no inline script, handler or style attribute in the app's markup."""
    response = client_for(course.users["instructor"]).get(reverse("proctoring_results:data_download", args=[COURSE_ID]))
    html = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    for tag in re.findall(r"<script\b[^>]*>", html):
        # Data blocks (type="application/json") are never run, so the policy does not apply to them.
        assert "src=" in tag or f'nonce="{nonce}"' in tag or 'type="application/json"' in tag, tag
    for tag in re.findall(r"<style\b[^>]*>", html):
        assert f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"<[^>]+\sstyle\s*=", html), "inline style attribute"
    for src in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html):
        assert src.startswith("/"), src


def test_the_dashboard_script_does_not_need_eval_or_inline_styles():
    static = ROOT / "proctoring_results" / "static" / "proctoring_results"
    for script in static.glob("*.js"):
        text = script.read_text()
        assert not re.search(r"\beval\(|new Function\(|setAttribute\(\s*['\"](style|on)", text), script.name
        assert not re.search(r"""style\s*=\s*\\?["']""", text), f"{script.name} writes an inline style attribute"


@pytest.mark.django_db
def test_the_security_check_warns_without_the_middleware(settings):
    from proctoring_results.checks import check_security_headers

    assert check_security_headers() == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "SecurityHeadersMiddleware" not in m]
    assert [w.id for w in check_security_headers()] == ["proctoring_results.W010"]


def test_the_open_edx_plugin_installs_the_middleware_and_leaves_the_policy_to_the_lms():
    """Inside an LMS: no-store and nosniff on the app's pages (W010 silent), the LMS's own CSP (if any) applies."""
    import types

    from proctoring_results.settings.common import plugin_settings

    lms = types.SimpleNamespace(MIDDLEWARE=["x.First", "django.middleware.security.SecurityMiddleware", "x.Last"])
    plugin_settings(lms)
    plugin_settings(lms)  # idempotent
    assert lms.MIDDLEWARE == [
        "x.First",
        "django.middleware.security.SecurityMiddleware",
        "proctoring_results.security.SecurityHeadersMiddleware",
        "x.Last",
    ]
    assert lms.PROCTORING_RESULTS["CONTENT_SECURITY_POLICY"] is None
    own = types.SimpleNamespace(
        MIDDLEWARE=("a.Tuple",), PROCTORING_RESULTS={"CONTENT_SECURITY_POLICY": "default-src 'self'"}
    )
    plugin_settings(own)
    assert own.MIDDLEWARE == ("a.Tuple",)  # not a list: left to the operator (and W010 tells them)
    assert own.PROCTORING_RESULTS["CONTENT_SECURITY_POLICY"] == "default-src 'self'"


@pytest.mark.django_db
def test_without_a_policy_the_other_headers_stay(course, settings):
    settings.PROCTORING_RESULTS = {"CONTENT_SECURITY_POLICY": None}
    response = client_for(course.users["instructor"]).get(reverse("proctoring_results:data_download", args=[COURSE_ID]))
    assert "Content-Security-Policy" not in response and "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"


def run_manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT / "example",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def test_check_deploy_is_clean_with_the_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        "--settings",
        "example.settings_production",
        DJANGO_SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-0123456789",
        DJANGO_ALLOWED_HOSTS="lms.example.edu",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"DJANGO_SECRET_KEY": "", "DJANGO_ALLOWED_HOSTS": "lms.example.edu"}, "Set DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "example-only-not-a-secret", "DJANGO_ALLOWED_HOSTS": "x"}, "placeholder"),
        ({"DJANGO_SECRET_KEY": "k" * 60, "DJANGO_ALLOWED_HOSTS": ""}, "Set DJANGO_ALLOWED_HOSTS"),
    ],
)
def test_production_settings_refuse_to_start_without_their_secrets(env, words):
    result = run_manage("check", "--settings", "example.settings_production", **env)
    assert result.returncode != 0 and words in result.stderr
    assert "Traceback" not in result.stderr


def test_the_example_settings_fail_the_deploy_check():
    """The demo's settings (DEBUG, a known key) are not for production, and check --deploy says so."""
    with pytest.raises(SystemCheckError):
        with override_settings(DEBUG=True, SECRET_KEY="example-only-not-a-secret"):
            call_command("check", "--deploy", "--fail-level", "WARNING")


def test_ci_runs_pip_audit_and_the_deploy_check():
    makefile = (ROOT / "Makefile").read_text()
    quality = makefile.split("\nquality:", 1)[1].split("\n\n", 1)[0]
    assert "pip-audit" in quality and "-r requirements/test.txt" in quality
    assert "check --deploy --fail-level WARNING --settings example.settings_production" in quality
    assert "make quality" in (ROOT / ".ci" / "run").read_text()


# ---------------------------------------------------------------- in a real browser


@pytest.mark.e2e
@pytest.mark.system
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_runs_under_its_policy_in_chromium(live_server, browser):
    """No Content-Security-Policy violation while the page loads and its script polls Pending Tasks."""
    tasks_part = reverse("proctoring_results:data_download_tasks", args=[COURSE_ID])
    from proctoring_results import api

    from ..factories import UserFactory

    UserFactory(username="csp-instructor", email="csp.instructor@example.edu")
    from django.contrib.auth import get_user_model

    api.grant_course_role(get_user_model().objects.get(username="csp-instructor"), COURSE_ID, "instructor")
    context = browser.new_context(locale="en-US")
    context.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push("
        "e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = context.new_page()
    # With no task running the script polls every 15 s: the test moves the page's clock to the poll
    # instead of waiting for it (the script's own timer still fires it).
    page.clock.install()
    console = []
    page.on("console", lambda msg: console.append(msg.text))
    polled = []
    page.on("request", lambda request: polled.append(request.url) if tasks_part in request.url else None)
    page.goto(f"{live_server.url}{reverse('proctoring_results:data_download', args=[COURSE_ID])}")
    page.fill("input[name=username]", "csp-instructor")
    page.fill("input[name=password]", "password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Generate Proctored Exam Results Report")
    page.wait_for_function("() => true")
    page.wait_for_timeout(500)
    if not polled:
        with page.expect_request(lambda r: tasks_part in r.url, timeout=20_000):
            page.clock.run_for(16_000)
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], violations
    assert not [m for m in console if "Content Security Policy" in m], console
    assert polled, "the page's script never polled Pending Tasks"
    context.close()


def cases_tried():
    """Checks in this module, for docs/security.rst (category 7), the pinned packages pip-audit covers apart."""
    headers = sum(len(EXPECTATIONS[key].methods) for key in APP_ENDPOINTS) * 3
    return headers + 1 + 1 + 1 + 1 + 1 + 1 + 3 + 1 + 1 + 1 + 2


def pinned_packages():
    """The packages ``make quality`` has pip-audit check: every pin of requirements/test.txt, mysql.txt and doc.txt."""
    names = set()
    for name in ("test.txt", "mysql.txt", "doc.txt"):
        for line in (ROOT / "requirements" / name).read_text().splitlines():
            if "==" in line and not line.lstrip().startswith("#"):
                names.add(line.split("==")[0].strip().lower())
    return len(names)
