"""Sphinx configuration for the proctoring_results docs (built with -W: warnings are errors)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "example")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

import django  # noqa: E402

django.setup()

from proctoring_results import __version__  # noqa: E402

project = "proctoring_results"
author = "proctoring_results developers"
copyright = "2026, proctoring_results developers"
release = version = __version__
extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
