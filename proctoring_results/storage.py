"""
Where report files live: the storage under ``STORAGES[app_settings.STORAGE_ALIAS]``.

Production points that alias at django-storages' ``S3Storage`` (private
objects, SigV4, ``file_overwrite=False``); without it, reports go to the local
file system under ``MEDIA_ROOT/proctoring_results``. Reports are listed from
the ``Report`` table, never by listing the storage. Links to the files are
signed and checked in ``links.py``.
"""

import logging
import os
import queue
import sys
import tempfile
import threading
from contextlib import contextmanager

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

from .conf import app_settings

log = logging.getLogger(__name__)


def get_report_storage():
    """The configured report storage (Django caches it per alias and resets it on ``override_settings``)."""
    alias = app_settings.STORAGE_ALIAS
    if alias in getattr(settings, "STORAGES", {}):
        return storages[alias]
    # Owner-only: the files hold personal data, and other local accounts must not read them.
    return FileSystemStorage(
        location=os.path.join(settings.MEDIA_ROOT, "proctoring_results"),
        base_url=None,
        file_permissions_mode=0o600,
        directory_permissions_mode=0o700,
    )


def is_s3_storage(storage):
    """
    Is this django-storages' ``S3Storage`` (or a subclass)?

    Answered without importing it: a storage of that class means its module is
    loaded already. A site storing reports on local disk then never loads boto3,
    which took 0.3 s and 15 MB of a worker's first report.
    """
    s3 = sys.modules.get("storages.backends.s3")
    return s3 is not None and isinstance(storage, s3.S3Storage)


def writes_into_final_files(storage):
    """
    Are reports written straight into their files here (``LocalFileUpload``)? Then a killed worker leaves one behind.

    Django's ``FileSystemStorage`` itself only: a subclass may store differently in its own ``_save``.
    """
    return type(storage) is FileSystemStorage


def overwrites_files(storage):
    """
    True when saving a name that exists would replace the existing object.

    django-storages' S3 backend overwrites by default (``file_overwrite=True``):
    two reports must never replace each other, so a system check warns (W002).
    """
    return is_s3_storage(storage) and bool(getattr(storage, "file_overwrite", False))


# ---------------------------------------------------------------- writing a report into storage

#: S3 part size when the storage's ``transfer_config`` names none (S3's smallest part is 5 MiB).
DEFAULT_PART_BYTES = 8 * 2**20

#: Full parts handed to the uploader thread and not sent yet: with the part being filled, (1 + this)
#: part buffers, made once and reused, whatever the report's size.
PARTS_IN_FLIGHT = 1

#: The checksum each part is sent with, and the object's, composed of its parts' (S3's "composite").
PART_CHECKSUM = "CRC32"


class ReportUploadError(Exception):
    """Storing the report failed; ``__cause__`` is the storage's own error (its text may name the bucket)."""


@contextmanager
def report_upload(storage, name):
    """
    A binary file to write a report into, stored under ``name`` once the block ends without error.

    Yields an object with ``write(data)``; after the block, its ``name`` is the
    name the storage gave the file. On S3 (``S3Storage`` without gzip) the bytes
    go up as a multipart upload *while* they are written, through a bounded
    buffer (``S3MultipartUpload``): no temporary file, and memory bounded by a
    few parts. On the local file system (Django's ``FileSystemStorage`` itself) they
    go straight into the file under the name the storage gives
    (``LocalFileUpload``). Any other storage, a subclass included, gets the
    bytes in a temporary file saved through ``storage.save`` at the end. Either
    way nothing is left stored when the block raises: the multipart upload is
    aborted, the local file deleted. (A worker *killed* midway cannot clean up:
    ``reports.lifecycle.delete_files_of_dead_runs`` does, when its task is
    recovered.) A storage failure is raised as ``ReportUploadError``.
    """
    if is_s3_storage(storage) and not getattr(storage, "gzip", False):
        upload = S3MultipartUpload(storage, name)
    elif writes_into_final_files(storage):
        upload = LocalFileUpload(storage, name)
    else:
        upload = None
    if upload is not None:
        try:
            yield upload
        except BaseException:
            upload.abort()
            raise
        upload.complete()
        return
    with tempfile.TemporaryFile(prefix="proctoring-report-", suffix=".csv") as tmp:
        upload = _TemporaryFileUpload(tmp)
        yield upload
        tmp.flush()
        tmp.seek(0)
        try:
            upload.name = storage.save(name, File(tmp, name=os.path.basename(name)))
        except Exception as exc:
            raise ReportUploadError(type(exc).__name__) from exc


class _LocalFileWrites:
    """``write`` into ``self.file``, where the file system's error (a full disk, a lost mount) is a storage error."""

    def write(self, data):
        try:
            self.file.write(data)
        except OSError as exc:
            raise ReportUploadError(type(exc).__name__) from exc


class _TemporaryFileUpload(_LocalFileWrites):
    def __init__(self, fileobj):
        self.file = fileobj
        self.name = None


class LocalFileUpload(_LocalFileWrites):
    """
    A report written straight into its file in a ``FileSystemStorage``, under the name the storage gives it.

    ``storage.save`` of an empty file claims the name, with the storage's
    directories and permissions; the rows are then written into that file, so
    the finished report is never copied (a 134 MB copy, 0.3-0.5 s of a 4-5 s
    report at a million attempts, docs/performance.rst). Reports are listed
    from the ``Report`` table, so the file is seen by no one until its row exists.
    """

    def __init__(self, storage, name):
        self.storage = storage
        try:
            self.name = storage.save(name, ContentFile(b""))
            self.file = open(storage.path(self.name), "wb")  # closed by complete() or abort()
        except Exception as exc:
            raise ReportUploadError(type(exc).__name__) from exc

    def complete(self):
        try:
            self.file.close()
        except OSError as exc:
            self.abort()
            raise ReportUploadError(type(exc).__name__) from exc
        return self.name

    def abort(self):
        """Close and delete the file (logged, never raised)."""
        try:
            self.file.close()
        except OSError:
            pass
        delete_quietly(self.storage, self.name)


class S3MultipartUpload:
    """
    A multipart upload to an ``S3Storage``, fed part by part while the report is written.

    ``write`` copies into a part of ``multipart_chunksize`` bytes (the
    storage's ``transfer_config``); each full part is handed to a thread that
    uploads it while the next part fills, so the database read and the upload
    overlap. The parts are ``PARTS_IN_FLIGHT + 1`` buffers made once and
    reused: when none is free, ``write`` waits for the upload instead of
    memory growing, and memory stays the same whatever the report's size. S3
    hears nothing before the first part is full; a report smaller than one
    part is one ``PutObject`` at the end. ``complete`` finishes the upload;
    ``abort`` (any failure) aborts it, so S3 keeps no object and no unfinished
    upload. The object gets the name and parameters ``storage.save`` would
    give it (``default_acl``, object parameters, content type).
    """

    def __init__(self, storage, name):
        self.storage = storage
        self.name = name  # until S3 is asked whether it is free (``_claim_name``), with the first part
        self.key = None
        self.client = storage.connection.meta.client
        config = getattr(storage, "transfer_config", None)
        self.part_bytes = max(5 * 2**20, getattr(config, "multipart_chunksize", None) or DEFAULT_PART_BYTES)
        self.part, self.filled = None, 0  # the buffer being filled, and how far
        self.buffers_made = 0
        self.free_buffers = queue.Queue()  # given back by the uploader once a part is sent
        self.upload_id = None
        self.checksum = {}  # how parts are checked (``_part_checksum``), once the name is claimed
        self.parts = []
        self.queue = None
        self.thread = None
        self.stopped = False
        self.error = None

    def write(self, data):
        data = memoryview(data).cast("B")
        while data:
            if self.part is None:
                self.part = self._empty_buffer()
            taken = data[: self.part_bytes - self.filled]
            self.part[self.filled : self.filled + len(taken)] = taken
            self.filled += len(taken)
            data = data[len(taken) :]
            if self.filled == self.part_bytes:
                self._hand_over()

    def _empty_buffer(self):
        if self.buffers_made <= PARTS_IN_FLIGHT:
            self.buffers_made += 1
            return bytearray(self.part_bytes)
        while True:
            try:
                return self.free_buffers.get(timeout=1)
            except queue.Empty:  # the uploader is still sending; it may have failed
                self._raise_if_failed()

    def _hand_over(self):
        if self.thread is None:
            self._start()
        self._raise_if_failed()
        self.queue.put((self.part, self.filled))
        self.part, self.filled = None, 0

    def _claim_name(self):
        """The name ``storage.save`` would give (an existing key gets another), its key and object parameters."""
        from storages.utils import clean_name

        self.name = clean_name(self.storage.get_available_name(self.name))
        self.key = self.storage._normalize_name(self.name)
        self.params = self.storage._get_write_parameters(self.key)
        self.checksum = _part_checksum(self.client)

    def _start(self):
        try:
            self._claim_name()
            created = self.client.create_multipart_upload(
                Bucket=self.storage.bucket_name, Key=self.key, **self.params, **self.checksum
            )
        except Exception as exc:
            raise ReportUploadError(type(exc).__name__) from exc
        self.upload_id = created["UploadId"]
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._send_parts, name="report-upload", daemon=True)
        self.thread.start()

    def _send_parts(self):
        """The uploader thread: parts from the queue until ``None``; the first error stops it."""
        while (handed := self.queue.get()) is not None:
            buffer, size = handed
            try:
                if self.error is None:
                    number = len(self.parts) + 1
                    sent = self.client.upload_part(
                        Bucket=self.storage.bucket_name,
                        Key=self.key,
                        UploadId=self.upload_id,
                        PartNumber=number,
                        Body=buffer if size == len(buffer) else buffer[:size],
                        **self.checksum,
                    )
                    checksum = {f"Checksum{a}": sent[f"Checksum{a}"] for a in self.checksum.values()}
                    self.parts.append({"PartNumber": number, "ETag": sent["ETag"], **checksum})
            except Exception as exc:  # noqa: BLE001 - handed to the writer's thread
                self.error = exc
            finally:
                self.free_buffers.put(buffer)

    def _raise_if_failed(self):
        if self.error is not None:
            raise ReportUploadError(type(self.error).__name__) from self.error

    def _join(self):
        if self.thread is not None and not self.stopped:
            self.stopped = True
            self.queue.put(None)
            self.thread.join()

    def complete(self):
        """Send what is left and finish the upload (or abort it and raise ``ReportUploadError``)."""
        try:
            if self.thread is None:  # smaller than one part
                self._claim_name()
                body = self.part[: self.filled] if self.part is not None else b""
                self.client.put_object(Bucket=self.storage.bucket_name, Key=self.key, Body=body, **self.params)
                return self.name
            if self.filled:
                self._hand_over()
            self._join()
            self._raise_if_failed()
            self.client.complete_multipart_upload(
                Bucket=self.storage.bucket_name,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            )
        except ReportUploadError:
            self.abort()
            raise
        except Exception as exc:
            self.abort()
            raise ReportUploadError(type(exc).__name__) from exc
        return self.name

    def abort(self):
        """Stop the uploader and abort the multipart upload, so nothing stays in S3 (logged, never raised)."""
        self.part, self.filled = None, 0
        if self.error is None:
            self.error = ReportUploadError("aborted")
        self._join()
        if self.upload_id is None:
            return
        try:
            self.client.abort_multipart_upload(Bucket=self.storage.bucket_name, Key=self.key, UploadId=self.upload_id)
            self.upload_id = None
        except Exception as exc:  # noqa: BLE001 - must not hide the failure that led here
            log.warning("Could not abort the multipart upload of %s: %s", self.key, type(exc).__name__)


def _part_checksum(client):
    """
    ``{"ChecksumAlgorithm": "CRC32"}``, unless the operator's boto configuration sends checksums only when required.

    S3 then checks each part as it arrives and keeps the object's checksum as
    one composed of its parts', instead of reading the whole object again when
    the upload completes. botocore computes a part's CRC32 anyway under its
    default ``request_checksum_calculation="when_supported"``; an S3-compatible
    server without checksums is served with ``when_required``, which this follows.
    """
    if getattr(client.meta.config, "request_checksum_calculation", "when_supported") == "when_required":
        return {}
    return {"ChecksumAlgorithm": PART_CHECKSUM}


def delete_quietly(storage, name):
    """Delete a stored object, logging (without personal data) instead of raising; True when gone."""
    try:
        storage.delete(name)
        return True
    except Exception as exc:  # noqa: BLE001 - any storage error must not hide the original failure
        log.warning("Could not delete report object %s from storage: %s", name, type(exc).__name__)
        return False
