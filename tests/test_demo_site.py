"""
``make demo`` as a newcomer runs it, and the demo holding up under the concurrency a demo sees.

The demo runs for real: ``make demo PORT=<free port>`` in a process group of
its own, on its embedded defaults (a SQLite file, the file-system broker, local
report storage) in a temporary ``EXAMPLE_VAR_DIR``, with its Celery worker and
``runserver``. Requests come over HTTP from real threads, as browsers and a
proctoring provider would send them. Whatever database the suite runs on, the
demo is SQLite, so every leg of CI checks it.
"""

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from proctoring_results import signatures

from .e2e.test_data_download_browser import browser  # noqa: F401  (Debian's Chromium, shared with the page's tests)
from .services import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = "course-v1:DemoX+Proctoring101+2026"
INSTRUCTOR = ("instructor", "demo-instructor-pw")
PROVIDER, PROVIDER_SECRET = "demo-provider", "demo-provider-secret"
SEED_MESSAGE = (
    "The proctored exam results report is being created. To view the status of the report, see Pending Tasks below."
)
API = "/api/proctoring-results/v1"
READY_SECONDS = 180

pytestmark = pytest.mark.system


def demo_environment(var_dir):
    """This process's environment without what would point the demo away from its embedded defaults."""
    dropped = {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith("PROCTORING_RESULTS_S3")
    }
    env["EXAMPLE_VAR_DIR"] = str(var_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])  # this checkout's app
    return env


def start_demo(port, var_dir, log_dir):
    """``make demo PORT=<port>`` with this virtualenv's Python, in a new session (so Ctrl-C can be sent to it)."""
    out, err = open(log_dir / "demo.out", "wb"), open(log_dir / "demo.err", "wb")
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "demo", f"PORT={port}", f"PY={sys.executable}"]
    with out, err:
        return subprocess.Popen(
            command, cwd=ROOT, env=demo_environment(var_dir), stdout=out, stderr=err, start_new_session=True
        )


class Demo:
    def __init__(self, process, port, var_dir, log_dir):
        self.process, self.port, self.var_dir, self.log_dir = process, port, var_dir, log_dir
        self.url = f"http://127.0.0.1:{port}"

    def stdout(self):
        return (self.log_dir / "demo.out").read_text(errors="replace")

    def stderr(self):
        return (self.log_dir / "demo.err").read_text(errors="replace")

    def output(self):
        return f"stdout:\n{self.stdout()[-3000:]}\nstderr:\n{self.stderr()[-3000:]}"

    @property
    def worker_pid(self):
        return int(re.search(r"Celery worker running \(pid (\d+)", self.stdout()).group(1))

    @property
    def database(self):
        return self.var_dir / "example.sqlite3"

    def query(self, sql, params=()):
        """Read the demo's database (read-only), as an operator with ``sqlite3`` would."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=20) as conn:
            return conn.execute(sql, params).fetchall()

    def processes(self):
        """Every process still running in the demo's session (make, the script, the worker, the server)."""
        found = []
        for proc in psutil.process_iter(["pid"]):
            try:
                if os.getsid(proc.pid) == self.process.pid and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except (ProcessLookupError, psutil.Error):
                continue
        return found

    def stop(self, sig=signal.SIGINT, timeout=30):
        """Ctrl-C (SIGINT to the whole process group, as a terminal sends it); SIGKILL what is left after it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + timeout
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = self.processes()
        for proc in left:
            proc.kill()
        return left


def answers(url):
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("demo-logs")
    var_dir = tmp_path_factory.mktemp("demo") / "var"
    port = free_port()
    process = start_demo(port, var_dir, log_dir)
    running = Demo(process, port, var_dir, log_dir)
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not answers(running.url + "/"):
            if process.poll() is not None:
                pytest.fail(f"make demo exited with {process.returncode} before serving:\n{running.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"make demo did not serve within {READY_SECONDS} s:\n{running.output()}")
            time.sleep(0.25)
        yield running
    finally:
        running.stop()


def sign_in(demo, username=INSTRUCTOR[0], password=INSTRUCTOR[1]):
    """A signed-in browser session: its cookies and the CSRF token the page's script sends."""
    session = requests.Session()
    page = session.get(f"{demo.url}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{demo.url}/accounts/login/",
        timeout=30,
        allow_redirects=False,
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302, response.text[:500]
    return session.cookies.get_dict()


def click_generate(demo, cookies, course_id=COURSE_ID):
    """What the page's Generate button sends."""
    return requests.post(
        f"{demo.url}{API}/courses/{course_id}/report-tasks/",
        json={},
        cookies=cookies,
        timeout=60,
        headers={"X-CSRFToken": cookies["csrftoken"]},
    )


def at_once(calls):
    """Run the calls from real threads released together; return their results (or exceptions), in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion that follows
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def statuses(results):
    return sorted(str(r.status_code) if isinstance(r, requests.Response) else repr(r) for r in results)


# ---------------------------------------------------------------- make demo PORT=...


def test_demo_serves_on_the_port_given_and_prints_its_urls_with_it(demo):
    printed = demo.stdout()
    urls = re.findall(r"https?://(?:127\.0\.0\.1|localhost)[^\s,]*", printed)  # the demo's own, not Django's docs
    assert f"Course page: {demo.url}/courses/{COURSE_ID}/instructor/data_download/" in printed
    assert urls and all(url.startswith(f"{demo.url}/") for url in urls), urls
    assert ":8000" not in printed
    page = requests.get(f"{demo.url}/courses/{COURSE_ID}/instructor/data_download/", timeout=30)
    assert "/accounts/login/" in page.url and page.status_code == 200


def test_a_taken_port_is_one_sentence_and_a_non_zero_exit(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_demo(port, tmp_path / "var", tmp_path)
        demo = Demo(process, port, tmp_path / "var", tmp_path)
        try:
            process.wait(60)
        finally:
            left = demo.stop()
    assert process.returncode != 0
    ours = [line for line in demo.stderr().splitlines() if line and not line.startswith("make:")]
    assert ours == [
        f"make demo: port {port} on 127.0.0.1 is already in use; stop what uses it or choose another, "
        f"e.g. make demo PORT={port + 1}."
    ], demo.output()
    assert demo.stdout() == ""
    assert left == []  # nothing was started, so nothing is left running
    assert not (tmp_path / "var" / "example.sqlite3").exists()


def test_the_demo_files_are_readable_by_their_owner_only(demo):
    assert stat.S_IMODE(demo.var_dir.stat().st_mode) == 0o700
    files = [path for path in demo.var_dir.rglob("*") if path.is_file()]
    assert demo.database in files and (demo.var_dir / "worker.log") in files
    modes = {str(path.relative_to(demo.var_dir)): oct(stat.S_IMODE(path.stat().st_mode)) for path in files}
    assert set(modes.values()) == {"0o600"}, modes
    assert demo.query("PRAGMA journal_mode") == [("wal",)]


# ---------------------------------------------------------------- concurrency


def test_twenty_simultaneous_review_callbacks_are_all_stored(demo):
    """20 signed reviews from a provider at the same moment: 20 answers of 200, 20 reviews kept."""
    codes = [
        code
        for (code,) in demo.query(
            "SELECT a.attempt_code FROM proctoring_results_examattempt a "
            "JOIN proctoring_results_proctoredexam e ON e.id = a.exam_id "
            "WHERE e.course_id = ? AND a.status = 'submitted' ORDER BY a.id LIMIT 20",
            [COURSE_ID],
        )
    ]
    assert len(codes) == 20

    def deliver(code):
        body = json.dumps(
            {
                "attempt_code": code,
                "review_id": f"burst-{code}",
                "status": "violation",
                "flags": [{"rule": "phone", "comment": "Phone on the desk."}],
            }
        ).encode()
        return lambda: requests.post(
            f"{demo.url}{API}/reviews/",
            data=body,
            timeout=60,
            headers={
                "Content-Type": "application/json",
                signatures.PROVIDER_HEADER: PROVIDER,
                signatures.SIGNATURE_HEADER: signatures.sign(PROVIDER_SECRET, body),
            },
        )

    results = at_once([deliver(code) for code in codes])
    assert statuses(results) == ["200"] * 20, [r.text[:300] for r in results if getattr(r, "status_code", 0) != 200]
    assert {r.json()["status"] for r in results} == {"rejected"}
    # Every review is there for the course team, with its flag.
    cookies = sign_in(demo)
    for code in codes:
        history = requests.get(f"{demo.url}{API}/attempts/{code}/reviews/", cookies=cookies, timeout=30).json()
        assert [review["review_id"] for review in history["results"]] == [f"burst-{code}"], history


def test_twenty_simultaneous_generate_clicks_make_one_report(demo):
    """While the task is queued, 19 of 20 clicks are told at once that the report is being created."""
    cookies = sign_in(demo)
    reports_before = requests.get(f"{demo.url}{API}/courses/{COURSE_ID}/reports/", cookies=cookies, timeout=30)
    count_before = reports_before.json()["count"]
    tasks_before = demo.query("SELECT COUNT(*) FROM proctoring_results_reporttask")[0][0]
    worker = psutil.Process(demo.worker_pid)
    worker.suspend()  # a busy worker: the task stays queued while the clicks arrive
    try:
        started = time.monotonic()
        results = at_once([lambda: click_generate(demo, cookies)] * 20)
        took = time.monotonic() - started
    finally:
        worker.resume()
    assert statuses(results) == ["202"] + ["409"] * 19, [getattr(r, "text", r) for r in results]
    [accepted] = [r.json()["task"] for r in results if r.status_code == 202]
    for refused in (r.json() for r in results if r.status_code == 409):
        assert refused["message"] == SEED_MESSAGE
        assert refused["task"]["id"] == accepted["id"] and refused["task"]["state"] == "queued"
    assert took < 15, f"20 clicks took {took:.1f} s"
    # The worker then makes the one report.
    wait_until(
        lambda: (
            requests.get(f"{demo.url}{API}/courses/{COURSE_ID}/reports/", cookies=cookies, timeout=30).json()["count"]
            == count_before + 1
        ),
        timeout=60,
        message="the report of the 20 clicks",
    )
    assert demo.query("SELECT COUNT(*) FROM proctoring_results_reporttask")[0][0] == tasks_before + 1
    assert demo.query("SELECT state FROM proctoring_results_reporttask WHERE id = ?", [accepted["id"]]) == [
        ("succeeded",)
    ]


def test_generate_for_fifty_courses_in_a_burst(demo):
    """An instructor of 50 courses clicks Generate in each at once: 50 tasks queued, 50 reports made."""
    courses = [f"course-v1:BurstX+Course{i:02d}+2026" for i in range(50)]
    grant = (
        "from django.contrib.auth import get_user_model; from proctoring_results import api; "
        "user = get_user_model().objects.get(username='instructor'); "
        f"[api.grant_course_role(user, course, 'instructor') for course in {courses!r}]"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", grant],
        cwd=ROOT / "example",
        check=True,
        env=demo_environment(demo.var_dir),
        capture_output=True,
        timeout=120,
    )
    cookies = sign_in(demo)
    results = at_once([lambda course=course: click_generate(demo, cookies, course) for course in courses])
    assert statuses(results) == ["202"] * 50, [
        getattr(r, "text", r) for r in results if getattr(r, "status_code", 0) != 202
    ]

    def states():
        return dict(
            demo.query(
                "SELECT state, COUNT(*) FROM proctoring_results_reporttask WHERE course_id LIKE 'course-v1:BurstX+%' "
                "GROUP BY state"
            )
        )

    deadline = time.monotonic() + 240
    while (made := states()) != {"succeeded": 50} and time.monotonic() < deadline:
        time.sleep(1)
    assert made == {"succeeded": 50}, "tasks by state"
    for course in courses[:3] + courses[-3:]:
        listing = requests.get(f"{demo.url}{API}/courses/{course}/reports/", cookies=cookies, timeout=30).json()
        assert listing["count"] == 1


# ---------------------------------------------------------------- signing out, stopping


@pytest.mark.e2e
def test_signing_out_returns_to_the_demo_home_page(demo, browser):
    from playwright.sync_api import expect

    page = browser.new_page(locale="en-US")
    page.set_default_timeout(60_000)
    page.goto(f"{demo.url}/accounts/login/")
    page.fill("input[name=username]", INSTRUCTOR[0])
    page.fill("input[name=password]", INSTRUCTOR[1])
    page.click("button[type=submit]:has-text('Sign in')")
    page.goto(f"{demo.url}/courses/{COURSE_ID}/instructor/data_download/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{demo.url}/")
    expect(page.get_by_role("heading", name="Example LMS")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.get_by_text("quality time")).to_have_count(0)
    page.context.close()


def test_when_the_site_stops_the_demo_stops_its_worker(demo):
    """Last in this module: the site ending (here its server killed) ends the demo and its Celery worker."""
    worker = psutil.Process(demo.worker_pid)
    servers = [proc for proc in demo.processes() if "runserver" in " ".join(proc.cmdline())]
    assert servers and worker.is_running()
    for server in servers:  # runserver's reloader and its child: the demo may end the second once the first ends
        with contextlib.suppress(psutil.NoSuchProcess):
            server.terminate()
    demo.process.wait(60)  # the demo ends with its site...
    worker.wait(30)  # ...and takes its worker with it
    assert not worker.is_running()
    assert demo.stop() == []
