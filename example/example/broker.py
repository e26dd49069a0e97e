"""
The demo's file-system Celery broker, with messages that appear whole.

kombu's file-system transport creates a message's file, then writes it: a
worker listing the folder in between takes the empty file, fails to decode it
and stops (seen with 50 Generate clicks in a burst; celery/kombu#1551), and the
message is lost. Here a message is written under a name the worker skips, then
renamed into place; a rename is atomic, so the worker sees a whole message or none.
``example/celery.py`` makes it the transport of ``filesystem://`` URLs in the
example's processes (the URL, not a setting, picks it, so a test that points
Celery at another broker gets that broker).
"""

import os
import time
import uuid

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # kombu's name: milliseconds first, so the worker takes messages in order.
        name = f"{int(round(time.monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")  # not "<id>.<queue>.msg": skipped
        try:
            with open(partial, "wb") as fh:
                fh.write(dumps(payload).encode())
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add a message to {self.data_folder_out!r}") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def use_for_filesystem_urls():
    """``filesystem://`` means this transport from now on, in this process."""
    TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"
