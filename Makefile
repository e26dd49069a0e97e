.DEFAULT_GOAL := help
.PHONY: help demo test test-postgres test-mysql test-django42 bench bench-rush bench-s3 bench-mysql test-import test-openedx edx-proctoring-venv edx-proctoring-schema test-edx-proctoring-live bench-edx-proctoring-sync docs quality migrations-check package-check requirements upgrade clean

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "} {printf "  %-18s %s\n", $$1, $$2}'

# --no-compile: byte-compiling every installed file is a third of an install (25 of 61 s of CPU for
# requirements/test.txt); Python compiles what a run imports, once, when it first imports it.
$(STAMP): requirements/test.txt setup.py
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -r requirements/test.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

PORT ?= 8000
demo: $(STAMP) ## set up, load the demo course, run a Celery worker and the site on 127.0.0.1:8000 (or PORT=8123)
	@PORT=$(PORT) PYTHON=$(abspath $(PY)) ./example/run_demo.sh

test: $(STAMP) ## set up and run the whole test suite (SQLite unless DATABASE_URL is set)
	$(PY) -m pytest $(PYTEST_ARGS)

# The services' names can be changed, so two checkouts on one machine (or CI beside a developer) do not share them.
PG_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
test-postgres: $(STAMP) ## run the suite on the local PostgreSQL, Redis and an S3-compatible server
	DATABASE_URL=$(PG_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(PY) -m pytest $(PYTEST_ARGS)

# mysqlclient builds from source, so it has a requirement set and a stamp of its own:
# `make test` and `make demo` never need a compiler or C headers.
MYSQL_STAMP := $(VENV)/.installed-mysql
$(MYSQL_STAMP): requirements/mysql.txt $(STAMP)
	@$(PY) -m pip install --quiet -r requirements/mysql.txt || { \
		echo "mysqlclient did not build: install MariaDB's or MySQL's client headers and pkg-config (Debian: apt-get install libmariadb-dev pkg-config), then run this again." >&2; \
		exit 1; }
	touch $@

MYSQL_DATABASE_URL ?= mysql://root@127.0.0.1:3306/pr_mysql
test-mysql: $(MYSQL_STAMP) ## run the suite on the local MySQL/MariaDB (Open edX's database), Redis and an S3-compatible server
	mysql -h 127.0.0.1 -u root -e 'CREATE DATABASE IF NOT EXISTS `$(lastword $(subst /, ,$(MYSQL_DATABASE_URL)))` CHARACTER SET utf8mb4'
	DATABASE_URL=$(MYSQL_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
		$(PY) -m pytest $(PYTEST_ARGS)

# Django 4.2 LTS, which Open edX still deploys: the same pins, Django and REST framework stepped back.
DJ42_VENV := .tox/django42

$(DJ42_VENV)/.installed: requirements/test.txt setup.py
	python3.11 -m venv $(DJ42_VENV) || python3 -m venv $(DJ42_VENV)
	$(DJ42_VENV)/bin/python -m pip install --quiet --no-compile -r requirements/test.txt
	$(DJ42_VENV)/bin/python -m pip install --quiet --no-compile "Django>=4.2,<5.0" "djangorestframework>=3.15,<3.17"
	$(DJ42_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

# Every test of the app's code runs on 4.2. Left out (-m "not system", pytest.ini): the demo and the example's
# production site, which install the 5.2 pins (requirements/example.txt) so never run on 4.2; the page's
# script in Chromium, the same JavaScript on any Django, its views tested in-process here; and workers
# killed mid-report, whose recovery code test_report_recovery.py runs here in-process. `make test` runs them.
test-django42: $(DJ42_VENV)/.installed ## run the suite on Django 4.2 LTS (SQLite unless DATABASE_URL is set), less the system tests
	$(DJ42_VENV)/bin/python -m pytest -m "not system" $(PYTEST_ARGS)

# The plugin inside an LMS-shaped environment: openedx-filters, web-fragments and Mako from PyPI
# beside edx-django-utils, the package installed so its lms.djangoapp entry point is found, and
# settings built as the LMS builds them (tests/openedx/lms_settings.py).
OPENEDX_VENV := .tox/openedx

$(OPENEDX_VENV)/.installed: requirements/test.txt requirements/openedx.txt setup.py
	python3.11 -m venv $(OPENEDX_VENV) || python3 -m venv $(OPENEDX_VENV)
	$(OPENEDX_VENV)/bin/python -m pip install --quiet --no-compile -r requirements/test.txt -r requirements/openedx.txt
	$(OPENEDX_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

test-openedx: $(OPENEDX_VENV)/.installed ## run the Open edX dashboard tests (filters, LMS-shaped page, browser) in .tox/openedx
	$(OPENEDX_VENV)/bin/python -m pytest tests/openedx --ds=tests.openedx.lms_settings $(PYTEST_ARGS)

BENCH_N ?= 1000
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/pr_bench
bench: $(STAMP) ## report benchmark on PostgreSQL at BENCH_N attempts (default 1000; e.g. BENCH_N=1000,100k,1M)
	createdb -h 127.0.0.1 -U postgres $(lastword $(subst /, ,$(BENCH_DATABASE_URL))) 2>/dev/null || true
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) benchmarks/report_benchmark.py --attempts $(BENCH_N) $(BENCH_ARGS)

RUSH_BROKER_URL ?= redis://127.0.0.1:6379/5
bench-rush: $(STAMP) ## end-of-term rush: 100 courses x 10k attempts at once, 1, 2 and 4 workers (RUSH_ARGS to change)
	createdb -h 127.0.0.1 -U postgres $(lastword $(subst /, ,$(BENCH_DATABASE_URL))) 2>/dev/null || true
	DATABASE_URL=$(BENCH_DATABASE_URL) CELERY_BROKER_URL=$(RUSH_BROKER_URL) $(PY) benchmarks/rush.py $(RUSH_ARGS)

bench-s3: $(STAMP) ## the report benchmark with reports stored in moto's S3-compatible server (its own process)
	$(MAKE) bench BENCH_ARGS="--s3 $(BENCH_ARGS)"

BENCH_MYSQL_DATABASE_URL ?= mysql://root@127.0.0.1:3306/pr_bench_mysql
bench-mysql: $(MYSQL_STAMP) ## report benchmark on MySQL/MariaDB at BENCH_N attempts, against Django's .iterator()
	DATABASE_URL=$(BENCH_MYSQL_DATABASE_URL) $(PY) benchmarks/mysql_report.py --attempts $(BENCH_N) $(BENCH_ARGS)

package-check: $(STAMP) ## build the sdist and wheel; install the wheel in a fresh virtualenv and run migrate and check from it
	.ci/check-package $(PY)

migrations-check: $(STAMP) ## fail if the models changed without a migration
	cd example && ../$(PY) manage.py makemigrations --check --dry-run proctoring_results

# edx-proctoring from PyPI in a virtualenv of its own: only its migrations are run there.
EDXP_VENV := .tox/edx-proctoring
EDXP_VERSION ?= 6.1.4

$(EDXP_VENV)/.installed:
	python3.11 -m venv $(EDXP_VENV) || python3 -m venv $(EDXP_VENV)
	$(EDXP_VENV)/bin/pip install --quiet --no-compile "edx-proctoring==$(EDXP_VERSION)"
	touch $@

edx-proctoring-venv: $(EDXP_VENV)/.installed ## install edx-proctoring from PyPI into .tox/edx-proctoring

test-import: $(STAMP) $(EDXP_VENV)/.installed ## test the edx-proctoring import on a database made by edx-proctoring's own migrations
	$(PY) -m pytest tests/test_import_edx_proctoring.py $(PYTEST_ARGS)

# edx-proctoring 6.1.4 from PyPI installed beside this app, on one Django, as in an LMS: its API drives,
# a real Celery worker follows. PostgreSQL and Redis, with names of their own unless told otherwise.
LIVE_VENV := .tox/edx-proctoring-live
LIVE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/edxp_live
LIVE_BROKER_URL ?= $(TEST_BROKER_URL)

$(LIVE_VENV)/.installed: requirements/test.txt requirements/edx_proctoring_live.txt setup.py
	python3.11 -m venv $(LIVE_VENV) || python3 -m venv $(LIVE_VENV)
	$(LIVE_VENV)/bin/python -m pip install --quiet --no-compile -r requirements/test.txt -r requirements/edx_proctoring_live.txt
	$(LIVE_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

test-edx-proctoring-live: $(LIVE_VENV)/.installed ## edx-proctoring 6.1.4 beside the app: its changes reach the report through a real worker
	DATABASE_URL=$(LIVE_DATABASE_URL) CELERY_BROKER_URL=$(LIVE_BROKER_URL) \
		$(LIVE_VENV)/bin/python -m pytest tests/edx_proctoring_live --ds tests.edx_proctoring_live.settings $(PYTEST_ARGS)

BENCH_EDXP_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/pr_bench_edxp
BENCH_CALLS ?= 500
bench-edx-proctoring-sync: $(LIVE_VENV)/.installed ## what the edx-proctoring receivers add to its create_exam_attempt and update_attempt_status
	createdb -h 127.0.0.1 -U postgres $(lastword $(subst /, ,$(BENCH_EDXP_DATABASE_URL))) 2>/dev/null || true
	DATABASE_URL=$(BENCH_EDXP_DATABASE_URL) CELERY_BROKER_URL=$(LIVE_BROKER_URL) \
		$(LIVE_VENV)/bin/python benchmarks/edx_proctoring_sync.py --calls $(BENCH_CALLS)

edx-proctoring-schema: $(EDXP_VENV)/.installed ## regenerate tests/fixtures/edx_proctoring_schema.sql from edx-proctoring's migrations
	rm -f /tmp/edx-proctoring-schema.sqlite3
	cd tests/edx_proctoring_site && EDXP_DB=/tmp/edx-proctoring-schema.sqlite3 DJANGO_SETTINGS_MODULE=edxp_settings \
		PYTHONPATH=. ../../$(EDXP_VENV)/bin/python -m django migrate --noinput -v 0
	$(PY) tests/edx_proctoring_site/dump_schema.py /tmp/edx-proctoring-schema.sqlite3 $(EDXP_VERSION) \
		> tests/fixtures/edx_proctoring_schema.sql

docs: $(STAMP) ## build the Sphinx docs, warnings as errors
	$(PY) -m pip install --quiet -r requirements/doc.txt
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

quality: $(STAMP) ## ruff lint and format check, the import contract, deploy checks with the production settings, pip-audit of the pins
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# Layers point one way and nothing imports itself back (docs/architecture.rst).
	$(PY) -m pytest -q -p no:cacheprovider tests/test_layers.py
	cd example && DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) DJANGO_ALLOWED_HOSTS=lms.example.edu \
		../$(PY) manage.py check --deploy --fail-level WARNING --settings example.settings_production
	# Known vulnerabilities in any pinned package fail the build (docs/security.rst).
	$(VENV)/bin/pip-audit --no-deps --disable-pip --progress-spinner off \
		-r requirements/test.txt -r requirements/mysql.txt -r requirements/doc.txt -r requirements/openedx.txt

requirements: ## recompile requirements/*.txt from requirements/*.in
	$(PY) -m pip install --quiet pip-tools
	for f in base example test mysql doc openedx edx_proctoring_live; do \
		$(VENV)/bin/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
			$(PIP_COMPILE_OPTS) -o requirements/$$f.txt requirements/$$f.in; done

upgrade: ## recompile requirements with the newest allowed versions
	$(MAKE) requirements PIP_COMPILE_OPTS=--upgrade

clean: ## remove the virtualenv, the demo's data and build output
	rm -rf $(VENV) example/var docs/_build *.egg-info .pytest_cache
