"""
Django 4.2's SQLite backend with the two ``OPTIONS`` Django 5.1 added.

Django 5.1 reads ``transaction_mode`` (e.g. ``"IMMEDIATE"``: ``BEGIN
IMMEDIATE`` takes the write lock when a transaction starts, so a busy
database makes it wait its turn instead of failing when a reader turns
writer) and ``init_command`` (statements run on each new connection, e.g.
the WAL journal). Django 4.2 hands every option to ``sqlite3.connect()``,
which refuses them. The example's settings use this engine only on Django
older than 5.1, so both versions read the same ``OPTIONS``; delete it with
Django 4.2 support.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    transaction_modes = frozenset(["DEFERRED", "EXCLUSIVE", "IMMEDIATE"])
    transaction_mode = None
    init_commands = ()

    def get_connection_params(self):
        kwargs = super().get_connection_params()
        mode = kwargs.pop("transaction_mode", None)
        if mode is not None and mode.upper() not in self.transaction_modes:
            raise ImproperlyConfigured(
                f"settings.DATABASES[{self.alias!r}]['OPTIONS']['transaction_mode'] is {mode!r}; "
                f"use one of {', '.join(sorted(self.transaction_modes))}, or None."
            )
        self.transaction_mode = mode.upper() if mode else None
        self.init_commands = [c.strip() for c in kwargs.pop("init_command", "").split(";") if c.strip()]
        return kwargs

    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)
        for command in self.init_commands:
            conn.execute(command)
        return conn

    def _start_transaction_under_autocommit(self):
        self.cursor().execute(f"BEGIN {self.transaction_mode}" if self.transaction_mode else "BEGIN")
