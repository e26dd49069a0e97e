"""
Authorization matrix: every URL the app serves × every role, generated from the URL configuration.

The URL patterns are read from Django's resolver (everything under the app's
namespace, and anything else whose route names the app). Each must have an
entry in ``EXPECTATIONS``: a new endpoint without one fails
``test_every_endpoint_is_in_the_matrix``, so it cannot escape the matrix; an
entry whose endpoint is gone fails too, so the table stays true.

What each kind of endpoint must answer:

- page: anonymous (and inactive) → the login page; learner, staff of another
  course → 403; course staff, instructor, global staff → the page;
- page part (the HTML the page's script fetches): as a page, but anonymous → 403,
  never a login page the script would show in place of the part;
- REST: anonymous (and inactive) → 401/403; learner, staff of another course → 403;
- provider callback: 401 without a valid signature, whoever is signed in;
- download view: 403 (or 410) unless the link was made for the caller and the
  caller may still see the course; anonymous → the login page.

A refused response never shows the course's personal data (emails, names,
review comments), and no response is a 5xx.
"""

from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from proctoring_results import links

from .. import pii_guard
from ..factories import COURSE_ID
from .conftest import NOT_SIGNED_IN, PRIVILEGED, ROLES, client_for

pytestmark = pytest.mark.django_db

APP_NAMESPACE = "proctoring_results"
PAGE, PART, REST, CALLBACK, DOWNLOAD, PUBLIC = "page", "part", "rest", "callback", "download", "public"
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Endpoint:
    kind: str
    #: method → status a privileged role gets (None: any non-refusal below 500).
    methods: dict
    #: URL kwargs from the ``course`` fixture: name → attribute path.
    kwargs: dict = field(default_factory=dict)
    #: JSON body per method for the privileged call.
    bodies: dict = field(default_factory=dict)


EXPECTATIONS = {
    "proctoring_results:data_download": Endpoint(PAGE, {"GET": 200}, {"course_id": "course_id"}),
    "proctoring_results:data_download_tasks": Endpoint(PART, {"GET": 200}, {"course_id": "course_id"}),
    "proctoring_results:data_download_reports": Endpoint(PART, {"GET": 200}, {"course_id": "course_id"}),
    "proctoring_results:report_download": Endpoint(DOWNLOAD, {"GET": 200}, {"token": "token"}),
    "proctoring_results:v1-reviews": Endpoint(CALLBACK, {"POST": None}),
    "proctoring_results:v1-attempt-decision": Endpoint(
        REST,
        {"POST": 200},
        {"attempt_code": "attempt.attempt_code"},
        {"POST": {"status": "verified", "reason": "Second review: the monitor was off."}},
    ),
    "proctoring_results:v1-attempt-reviews": Endpoint(REST, {"GET": 200}, {"attempt_code": "attempt.attempt_code"}),
    # The course already has a report and nothing changed since: a new one is forced (issue 14).
    "proctoring_results:v1-report-tasks": Endpoint(
        REST,
        {"GET": 200, "POST": 202},
        {"course_id": "course_id"},
        {"POST": {"force": True}},
    ),
    "proctoring_results:v1-reports": Endpoint(REST, {"GET": 200}, {"course_id": "course_id"}),
    "proctoring_results:v1-status-counts": Endpoint(REST, {"GET": 200}, {"course_id": "course_id"}),
    # The example host serves the API's OpenAPI schema beside it: public, and free of personal data.
    "openapi-schema": Endpoint(PUBLIC, {"GET": 200}),
}


# ---------------------------------------------------------------- reading the URL configuration


def walk(resolver=None, prefix="", namespaces=()):
    """Yield ``(key, route, pattern, namespaces)`` for every URL pattern of the project."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            names = namespaces + ((entry.namespace,) if entry.namespace else ())
            yield from walk(entry, route, names)
        elif isinstance(entry, URLPattern):
            name = ":".join(namespaces + (entry.name,)) if entry.name else None
            yield name or route, route, entry, namespaces


def app_endpoints():
    """The app's endpoints: its namespace, or a route that names it (e.g. a host-mounted schema view)."""
    found = {}
    for key, route, pattern, namespaces in walk():
        if APP_NAMESPACE in namespaces or "proctoring-results" in route or "proctoring_results" in route:
            found[key] = (route, pattern)
    return found


def implemented_methods(pattern):
    """The HTTP methods a class-based view implements (function views: unknown, tested by 405 below)."""
    view_class = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
    if view_class is None:
        return None
    return {m.upper() for m in ALL_METHODS if hasattr(view_class, m.lower())}


def is_admin(key, route):
    """The Django admin's pages for the app's models: a rule of their own (admin_view guards them all)."""
    return key.startswith("admin:") or route.startswith("admin/")


def test_every_endpoint_is_in_the_matrix():
    found = {key: value for key, value in app_endpoints().items() if not is_admin(key, value[0])}
    assert len(found) >= 8, f"the resolver walk found too few endpoints: {sorted(found)}"
    missing = sorted(set(found) - set(EXPECTATIONS))
    assert not missing, (
        f"Endpoint(s) {missing} are not in the authorization matrix: add them to EXPECTATIONS in "
        f"{__name__} with who may call them."
    )
    stale = sorted(set(EXPECTATIONS) - set(found))
    assert not stale, f"EXPECTATIONS lists endpoint(s) {stale} that the URL configuration no longer has."


@pytest.mark.parametrize("key", sorted(EXPECTATIONS))
def test_every_implemented_method_is_in_the_matrix(key):
    route, pattern = app_endpoints()[key]
    methods = implemented_methods(pattern)
    if methods is not None:
        unlisted = sorted(methods - set(EXPECTATIONS[key].methods))
        assert not unlisted, f"{key} implements {unlisted}, which the matrix does not try."


# ---------------------------------------------------------------- calling them


def _resolve(course, path):
    value = course
    for part in path.split("."):
        value = getattr(value, part)
    return value


def url_for(key, course, role):
    endpoint = EXPECTATIONS[key]
    kwargs = {}
    for name, path in endpoint.kwargs.items():
        if path == "token":
            # A link signed for the caller, as the page would make it if they could see the page
            # (anonymous callers get the instructor's link).
            user = course.users[role] or course.users["instructor"]
            kwargs[name] = links.make_report_link(course.report.id, user.pk).token
        else:
            kwargs[name] = _resolve(course, path)
    return reverse(key, kwargs=kwargs)


def call(client, method, url, body=None):
    if method == "GET":
        return client.get(url)
    return client.generic(method, url, data=__import__("json").dumps(body or {}), content_type="application/json")


def refused(response, role, kind):
    """Is this the refusal the matrix expects for ``role`` on an endpoint of ``kind``?"""
    status = response.status_code
    login_redirect = status == 302 and response["Location"].startswith(settings.LOGIN_URL)
    if kind == CALLBACK:
        return status == 401
    if role in NOT_SIGNED_IN:
        if kind in (PAGE, DOWNLOAD):
            return login_redirect
        return status in (401, 403)
    if kind == DOWNLOAD:
        return status in (403, 410)
    return status == 403


def assert_no_personal_data(response, role):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert pii_guard.find_marker(content.decode("utf-8", "replace")) is None, (
        f"a refused response to {role} shows personal data of the course"
    )


CASES = [(key, method, role) for key in sorted(EXPECTATIONS) for method in EXPECTATIONS[key].methods for role in ROLES]


def check_case(course, key, method, role, *, token=False):
    """Call one cell of the matrix, each role on the same fresh state; return what is wrong, or None."""
    with transaction.atomic():
        try:
            return _check_case(course, key, method, role, token=token)
        finally:
            transaction.set_rollback(True)


def _check_case(course, key, method, role, *, token=False):
    endpoint = EXPECTATIONS[key]
    client = client_for(course.users[role], token=token)
    response = call(client, method, url_for(key, course, role), endpoint.bodies.get(method))
    status = response.status_code
    if status >= 500:
        return f"{key} {method} as {role}: {status}"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    shows_personal_data = pii_guard.find_marker(content.decode("utf-8", "replace")) is not None
    if endpoint.kind == PUBLIC:
        if status != 200 and not (token and role == "inactive_user" and status == 401):
            return f"{key} {method} as {role}: {status}, expected 200"
        return f"{key} {method} as {role}: shows personal data" if shows_personal_data else None
    if role in PRIVILEGED and endpoint.kind != CALLBACK:
        if status != endpoint.methods[method]:
            return f"{key} {method} as {role}: {status}, expected {endpoint.methods[method]}"
        return None
    if token and role == "inactive_user":
        ok = status in (401, 403)  # DRF refuses an inactive user's token
    else:
        ok = refused(response, role, endpoint.kind)
    if not ok:
        return f"{key} {method} as {role}: {status} is not the expected refusal"
    if shows_personal_data:
        return f"{key} {method} as {role}: the refusal shows the course's personal data"
    return None


@pytest.mark.parametrize(("key", "method"), sorted({(k, m) for k, m, _r in CASES}))
def test_matrix_session(course, key, method):
    """Browser-style calls (session cookie), one per role."""
    problems = [check_case(course, key, method, role) for role in ROLES]
    assert not [p for p in problems if p], problems


TOKEN_CASES = [
    (key, method, role)
    for key, method, role in CASES
    if EXPECTATIONS[key].kind in (REST, DOWNLOAD, CALLBACK) and role != "anonymous"
]


@pytest.mark.parametrize(("key", "method"), sorted({(k, m) for k, m, _r in TOKEN_CASES}))
def test_matrix_api_token(course, key, method):
    """Script-style calls (``Authorization: Token ...``): same answers; an inactive user's token is refused."""
    problems = [check_case(course, k, m, role, token=True) for k, m, role in TOKEN_CASES if (k, m) == (key, method)]
    assert not [p for p in problems if p], problems


UNLISTED = [
    (key, method) for key in sorted(EXPECTATIONS) for method in ALL_METHODS if method not in EXPECTATIONS[key].methods
]


@pytest.mark.parametrize(("key", "method"), UNLISTED)
def test_methods_outside_the_matrix_are_refused(course, key, method):
    """A method nobody planned for is 405 for the course team, and still refused for a learner."""
    kind = EXPECTATIONS[key].kind
    for role in ("learner", "instructor"):
        status = call(client_for(course.users[role]), method, url_for(key, course, role)).status_code
        if kind == CALLBACK:
            assert status in (401, 405), (role, status)
        elif role == "instructor":
            assert status == 405, (role, status)
        else:
            assert status in (403, 405), (role, status)


def test_someone_elses_link_is_refused(course):
    """The instructor's link, followed by anyone else signed in, is refused whatever their role."""
    token = links.make_report_link(course.report.id, course.users["instructor"].pk).token
    for role in sorted(set(ROLES) - {"instructor", "anonymous"}):
        response = client_for(course.users[role]).get(reverse("proctoring_results:report_download", args=[token]))
        if role == "inactive_user":
            assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)
        else:
            assert response.status_code == 403, role
        assert_no_personal_data(response, role)


def test_revoked_role_closes_every_endpoint(course):
    """Instructor one moment, nobody the next: the page, the API and the download all refuse at once."""
    instructor = course.users["instructor"]
    client = client_for(instructor)
    token = links.make_report_link(course.report.id, instructor.pk).token
    from proctoring_results import api

    api.revoke_course_roles(instructor, course.course_id)
    for key in (
        "proctoring_results:data_download",
        "proctoring_results:data_download_tasks",
        "proctoring_results:data_download_reports",
        "proctoring_results:v1-reports",
        "proctoring_results:v1-report-tasks",
        "proctoring_results:v1-status-counts",
        "proctoring_results:v1-attempt-reviews",
    ):
        kwargs = {name: _resolve(course, path) for name, path in EXPECTATIONS[key].kwargs.items()}
        assert client.get(reverse(key, kwargs=kwargs)).status_code == 403, key
    assert client.get(reverse("proctoring_results:report_download", args=[token])).status_code == 403


# ---------------------------------------------------------------- CSRF and hostile ids

UNSAFE = [
    (key, method)
    for key in sorted(EXPECTATIONS)
    for method in EXPECTATIONS[key].methods
    if method not in ("GET", "HEAD") and EXPECTATIONS[key].kind in (REST, PAGE)
]


@pytest.mark.parametrize(("key", "method"), UNSAFE)
def test_session_writes_need_the_csrf_token(course, key, method):
    """A page of another site cannot make the instructor's browser Generate or decide (cookie alone: 403)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(course.users["instructor"])
    url = url_for(key, course, "instructor")
    body = EXPECTATIONS[key].bodies.get(method)
    assert call(client, method, url, body).status_code == 403
    client.get(reverse("proctoring_results:data_download", args=[course.course_id]))  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.generic(
        method, url, data=__import__("json").dumps(body or {}), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == EXPECTATIONS[key].methods[method]


HOSTILE_COURSE_IDS = [
    "course-v1:A+B+C%00",
    "course-v1:" + "A" * 3000 + "+B+C",
    "course-v1:Ä+ö+ü",
    "course-v1:a+b+c'--",
    "course-v1:a+b+c;DROP TABLE x",
    "course-v1:a+b+%3Cscript%3E",
    "x/y/z",
    "course-v1:a+b+c+d+e",
    "course-v1:TestX+Proctoring+2026%0A",
    "course-v1:testx+proctoring+2026",
    "..%2F..%2Fetc+passwd+x",
]
HOSTILE_ATTEMPT_CODES = ["x" * 3000, "%00", "' OR '1'='1", "%3Cscript%3E", "..%2F", "ＡＢＣ"]


def same_course(url):
    from urllib.parse import unquote

    from proctoring_results import api

    for cid in HOSTILE_COURSE_IDS:
        if cid in url:
            try:
                return str(api.parse_course_id(unquote(cid))) == str(api.parse_course_id(COURSE_ID))
            except Exception:  # noqa: BLE001 - not a course id at all
                return False
    return False


def test_hostile_ids_are_4xx_for_everyone(course):
    """Ids in URLs that are malformed, huge, encoded or of another case: refused, never a 5xx, never data."""
    problems = []
    for role in ("anonymous", "learner", "instructor"):
        client = client_for(course.users[role])
        urls = [f"/courses/{cid}/instructor/data_download/" for cid in HOSTILE_COURSE_IDS]
        urls += [
            f"/api/proctoring-results/v1/courses/{cid}/{what}/"
            for cid in HOSTILE_COURSE_IDS
            for what in ("reports", "report-tasks", "status-counts")
        ]
        urls += [f"/api/proctoring-results/v1/attempts/{code}/reviews/" for code in HOSTILE_ATTEMPT_CODES]
        urls += [f"/api/proctoring-results/v1/attempts/{code}/decision/" for code in HOSTILE_ATTEMPT_CODES]
        for url in urls:
            response = (
                client.post(url, {"status": "verified"}, content_type="application/json")
                if url.endswith("/decision/")
                else client.get(url)
            )
            text = response.content.decode("utf-8", "replace")
            if response.status_code == 200 and role == "instructor" and same_course(url):
                continue  # e.g. a trailing newline: parsed to the instructor's own course, and checked as such
            if not (300 <= response.status_code < 500) or pii_guard.find_marker(text):
                problems.append((role, url[:80], response.status_code))
    assert not problems, problems


ID_FUZZ_EXAMPLES = 100


@pytest.mark.slow
def test_fuzzed_ids_in_every_url_never_5xx(course):
    """Any text (NUL, surrogates' neighbours, slashes, %-escapes) as course id or attempt code: never a 5xx."""
    from urllib.parse import quote

    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st

    client = client_for(course.users["instructor"])
    templates = [
        "/courses/{c}/instructor/data_download/",
        "/api/proctoring-results/v1/courses/{c}/reports/",
        "/api/proctoring-results/v1/courses/{c}/report-tasks/",
        "/api/proctoring-results/v1/courses/{c}/status-counts/",
        "/api/proctoring-results/v1/attempts/{a}/reviews/",
    ]

    @hypothesis_settings(
        max_examples=ID_FUZZ_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(
        org=st.text(min_size=1, max_size=20),
        run=st.text(min_size=1, max_size=20),
        code=st.text(min_size=1, max_size=60),
        template=st.sampled_from(templates),
    )
    def run_one(org, run, code, template):
        course_id = quote(f"course-v1:{org}+X+{run}", safe=":+")
        url = template.format(c=course_id, a=quote(code, safe=""))
        assert client.get(url).status_code < 500, url

    run_one()


# ---------------------------------------------------------------- the Django admin


def admin_urls():
    """A concrete URL for each admin page of the app's models, and the methods tried on it."""
    urls = []
    for key, (route, pattern) in sorted(app_endpoints().items()):
        if not is_admin(key, route):
            continue
        if key.startswith("admin:"):
            converters = getattr(pattern.pattern, "converters", {}) or {}
            names = set(converters) | set(getattr(getattr(pattern.pattern, "regex", None), "groupindex", {}))
            url = reverse(key, kwargs={n: "proctoring_results" if n == "app_label" else "1" for n in names})
        else:
            url = "/" + route.replace("<path:object_id>", "1")
        methods = ("GET", "POST") if key.endswith(("_add", "_change", "_delete")) else ("GET",)
        urls.append((key, url, methods))
    return urls


ADMIN_URLS = admin_urls()


@pytest.fixture
def admin_users(db):
    from django.utils import timezone

    from proctoring_results.models import Report

    from .conftest import make_users

    Report.objects.create(
        id=1,
        course_id="course-v1:TestX+Proctoring+2026",
        file_name="r.csv",
        storage_key="k/r.csv",
        size_bytes=1,
        row_count=0,
        checksum_sha256="0" * 64,
        created=timezone.now(),
    )
    return make_users()


@pytest.mark.parametrize(("key", "url", "methods"), ADMIN_URLS)
def test_admin_pages_need_model_permissions(admin_users, key, url, methods):
    """
    None of the seven roles reads or changes the app's data through the admin (superusers and users
    given model permissions do): non-staff get the admin's login page, staff without permissions 403.
    """
    for role in ROLES:
        for method in methods:
            response = call(client_for(admin_users[role]), method, url)
            status = response.status_code
            assert status != 200 and status < 500, (key, method, role, status)
            if role == "global_staff":
                # 403, or 404 for an app index with nothing to show, or a redirect to another admin page.
                assert status in (403, 404) or (status == 302 and "/admin/" in response["Location"]), (
                    key,
                    method,
                    status,
                )
            else:
                assert status == 302 and response["Location"].startswith("/admin/login/"), (key, method, role, status)


def cases_tried():
    """Requests this module makes, for docs/security.rst (category 1)."""
    admin = sum(len(methods) for _key, _url, methods in ADMIN_URLS) * len(ROLES)
    someone_elses = len(set(ROLES) - {"instructor", "anonymous"})
    revoked = 6
    csrf = 2 * len(UNSAFE)
    hostile = 3 * (len(HOSTILE_COURSE_IDS) * 4 + 2 * len(HOSTILE_ATTEMPT_CODES)) + ID_FUZZ_EXAMPLES
    return len(CASES) + len(TOKEN_CASES) + 2 * len(UNLISTED) + someone_elses + revoked + admin + csrf + hostile
