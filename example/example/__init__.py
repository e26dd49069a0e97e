"""Example host project for proctoring_results: the demo and the tests' host."""

from .celery import app as celery_app

__all__ = ("celery_app",)
