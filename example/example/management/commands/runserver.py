"""
``runserver`` for the demo: Django's (with static files), taking bursts of connections.

Django's development server listens with a queue of 10 connections; a burst
beyond that (a script clicking Generate for 50 courses at once) had
connections reset before Django saw them. The example overrides the command
(its app comes before ``django.contrib.staticfiles`` in ``INSTALLED_APPS``)
only to listen with a longer queue.
"""

from django.contrib.staticfiles.management.commands.runserver import Command as StaticFilesRunserver
from django.core.servers.basehttp import WSGIServer


class DemoWSGIServer(WSGIServer):
    request_queue_size = 128


class Command(StaticFilesRunserver):
    server_cls = DemoWSGIServer
