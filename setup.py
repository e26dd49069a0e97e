"""Packaging for proctoring_results; dependencies come from requirements/base.in."""

import re
from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent


def version():
    text = (HERE / "proctoring_results" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def requirements(name):
    lines = (HERE / "requirements" / name).read_text(encoding="utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip() and not line.startswith("-")]


setup(
    name="proctoring-results",
    version=version(),
    description="Proctored exam attempts, provider reviews and the Proctored Exam Results Report for Django LMSs.",
    long_description=(HERE / "README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    license_expression="Apache-2.0",
    # Namespace discovery lists templates/ and static/ too, so setuptools ships them as the
    # package data they are (MANIFEST.in names the same files for the sdist).
    packages=find_namespace_packages(include=["proctoring_results", "proctoring_results.*"], exclude=["*.__pycache__"]),
    include_package_data=True,
    python_requires=">=3.11",
    install_requires=requirements("base.in"),
    entry_points={"lms.djangoapp": ["proctoring_results = proctoring_results.apps:ProctoringResultsConfig"]},
    classifiers=[
        "Framework :: Django",
        "Framework :: Django :: 4.2",
        "Framework :: Django :: 5.2",
        "Programming Language :: Python :: 3.11",
    ],
    zip_safe=False,
)
