"""The unit's documents, stored by their content.

A dossier carries four documents (PDF, DOCX, DOC, JPEG or PNG). What a document *is* is judged from its bytes,
never from the name the unit gave it: a program renamed ``x.pdf`` is refused. An upload streams into a
:class:`Spool` — a temporary file under ``<root>/tmp/`` that hashes and counts every chunk as it is written and
refuses the chunk that would pass the size limit — so no upload is ever held in memory whole and an oversized
one is stopped while it arrives. :meth:`DocumentStore.keep` then judges the bytes and moves the file, fsynced,
to ``<root>/<sha[:2]>/<sha256>``; the same content uploaded twice is stored once. A refused or failed upload
leaves no file behind: the spool deletes its temporary file whenever it is closed without being kept, and the
request class from :func:`request_class_for` closes every spool of a request when the request ends.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

import flask

from shared.problems import Problem

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer
    from _typeshed.wsgi import WSGIEnvironment

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOC = "application/msword"
JPEG = "image/jpeg"
PNG = "image/png"

ACCEPTED_TYPES: dict[str, str] = {PDF: ".pdf", DOCX: ".docx", DOC: ".doc", JPEG: ".jpg", PNG: ".png"}
"""Content type -> the usual extension, for the types a dossier may carry."""

_MEGABYTE = 1024 * 1024
_CHUNK = 64 * 1024  # how much of a file is read at a time when looking inside it
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

_PDF_MAGIC = b"%PDF-"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORD_STREAM = "WordDocument".encode("utf-16-le")

_ACCEPTED_IN_WORDS = "PDF, DOCX, DOC, JPEG hoặc PNG"


# --- judging the bytes ---------------------------------------------------------------------------------------


def sniff(path: Path) -> str | None:
    """The content type judged from the bytes, or None if not one of :data:`ACCEPTED_TYPES`.

    Only the first bytes are read, except for a DOC, which is searched in chunks for its ``WordDocument``
    stream, and a DOCX, whose ZIP directory is read (nothing is decompressed).
    """
    with open(path, "rb") as file:
        head = file.read(len(_OLE2_MAGIC))
        if head.startswith(_PDF_MAGIC):
            return PDF
        if head.startswith(_PNG_MAGIC):
            return PNG
        if head.startswith(_JPEG_MAGIC):
            return JPEG
        if head.startswith(_OLE2_MAGIC):
            # .xls, .ppt and .msi are OLE2 compound files too; only Word's has a "WordDocument" stream.
            return DOC if _contains(file, _WORD_STREAM) else None
    if head.startswith(_ZIP_MAGIC) and _zip_kind(path) == "docx":
        return DOCX
    return None


def _contains(file: BinaryIO, needle: bytes) -> bool:
    """Whether ``needle`` occurs anywhere in the file, reading it a chunk at a time."""
    file.seek(0)
    keep = len(needle) - 1
    tail = b""
    while chunk := file.read(_CHUNK):
        window = tail + chunk
        if needle in window:
            return True
        tail = window[-keep:] if keep else b""
    return False


def _zip_kind(path: Path) -> str | None:
    """What an OOXML package holds, from its ZIP directory: "docx", "docm", "xlsx", "pptx", "zip"; None if
    the file cannot be read as a ZIP at all."""
    try:
        with zipfile.ZipFile(path) as archive:
            # OPC part names are case-insensitive.
            names = {name.casefold() for name in archive.namelist()}
    except Exception:  # untrusted bytes: whatever stops zipfile means this is not a package we can judge
        return None
    if "[content_types].xml" not in names:
        return "zip"
    if "word/document.xml" in names:
        # A macro-enabled document (.docm) renamed .docx would otherwise pass for one.
        return "docm" if "word/vbaproject.bin" in names else "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    return "zip"


_ZIP_KINDS_IN_WORDS = {
    "docm": "tài liệu Word có macro (DOCM)",
    "xlsx": "bảng tính Excel (XLSX)",
    "pptx": "bản trình chiếu PowerPoint (PPTX)",
    "zip": "tệp nén ZIP",
}
_OTHER_MAGICS = (
    (b"MZ", "tệp chương trình (EXE, DLL)"),
    (b"\x7fELF", "tệp chương trình (ELF)"),
    (b"GIF8", "ảnh GIF"),
    (b"II*\x00", "ảnh TIFF"),
    (b"MM\x00*", "ảnh TIFF"),
    (b"Rar!", "tệp nén RAR"),
    (b"7z\xbc\xaf\x27\x1c", "tệp nén 7z"),
    (b"{\\rtf", "tài liệu RTF"),
)


def _describe_refused(path: Path) -> str:
    """In Vietnamese, what a refused file seems to be, for telling the clerk why it was refused."""
    with open(path, "rb") as file:
        head = file.read(16)
    if head.startswith(_OLE2_MAGIC):
        return "tệp Office cũ không phải Word (XLS, PPT, MSI…)"
    if head.startswith(_ZIP_MAGIC):
        kind = _zip_kind(path)
        return _ZIP_KINDS_IN_WORDS.get(kind or "", "tệp nén ZIP hỏng")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "ảnh WEBP"
    for magic, words in _OTHER_MAGICS:
        if head.startswith(magic):
            return words
    return "không xác định được loại"


# --- storing -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredDocument:
    sha256: str  # hex
    size: int
    content_type: str

    @property
    def extension(self) -> str:
        """The usual extension of the content type, e.g. ".pdf"."""
        return ACCEPTED_TYPES[self.content_type]


class Spool(io.BufferedIOBase, BinaryIO):
    """A writable, seekable, readable binary file that hashes and counts what is written, in a temp file.

    Writing only appends: each chunk goes to the disk at once (nothing is buffered in memory), updates the running
    SHA-256 and size, and the chunk that would pass ``max_bytes`` is refused with a 413 problem and deletes the
    file. Closing a spool that was not kept deletes its file too, so an upload nobody kept never stays behind.
    """

    def __init__(self, directory: Path, max_bytes: int) -> None:
        super().__init__()
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, not {max_bytes}")
        self._max_bytes = max_bytes
        self._hash = hashlib.sha256()
        self._size = 0
        self._kept = False
        self._file: io.BufferedRandom | None = None
        try:
            fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
        except BaseException:
            super().close()  # nothing was made: the finaliser must not try to clean up
            raise
        self._path = Path(name)
        try:
            self._file = open(fd, "w+b")  # noqa: SIM115 -- closed by close()
        except BaseException:
            os.close(fd)
            self._path.unlink(missing_ok=True)
            super().close()
            raise

    # What was written.

    @property
    def sha256(self) -> str:
        """The SHA-256 (hex) of everything written so far."""
        return self._hash.hexdigest()

    @property
    def size(self) -> int:
        """How many bytes were written."""
        return self._size

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def path(self) -> Path:
        """Where the temporary file is (until it is kept or deleted)."""
        return self._path

    @property
    def name(self) -> str:
        return str(self._path)

    @property
    def mode(self) -> str:
        return "w+b"

    # Writing.

    def write(self, data: ReadableBuffer) -> int:
        file = self._open_file()
        with memoryview(data) as view:
            length = view.nbytes
        if file.tell() != self._size:
            # The hash covers the bytes in the order written; rewriting the middle would make it a lie.
            raise io.UnsupportedOperation("a spool only appends; seek to the end before writing")
        if self._size + length > self._max_bytes:
            self.close()
            raise Problem(
                413,
                "document_too_large",
                f"Tệp vượt quá dung lượng cho phép ({_megabytes(self._max_bytes)} MB).",
                limit_bytes=self._max_bytes,
            )
        try:
            file.write(data)
            file.flush()  # straight to the disk, so nothing accumulates in memory
        except BaseException:
            self.close()  # a failed upload (disk full…) leaves no file behind
            raise
        self._hash.update(data)
        self._size += length
        return length

    def writelines(self, lines: Iterable[ReadableBuffer]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
        elif self.closed:
            raise ValueError("I/O operation on closed spool")

    # Reading and moving about.

    def read(self, size: int | None = -1) -> bytes:
        return self._open_file().read(-1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        return self._open_file().read1(size)

    def readinto(self, buffer: WriteableBuffer) -> int:
        return self._open_file().readinto(buffer)

    def readline(self, size: int | None = -1) -> bytes:
        return self._open_file().readline(-1 if size is None else size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._open_file().seek(offset, whence)

    def tell(self) -> int:
        return self._open_file().tell()

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    # Ending.

    def close(self) -> None:
        """Close the file; unless it was kept, delete it. Safe to call more than once."""
        if self.closed:
            return
        try:
            file, self._file = self._file, None
            if file is not None:
                file.close()
        finally:
            try:
                if not self._kept:
                    self._path.unlink(missing_ok=True)
            finally:
                super().close()

    def __enter__(self) -> Spool:
        return self

    def __repr__(self) -> str:
        state = "kept" if self._kept else "closed" if self.closed else "open"
        return f"<Spool {self._path.name} {state} size={self._size}>"

    def _open_file(self) -> io.BufferedRandom:
        if self._file is None:
            raise ValueError("I/O operation on closed spool")
        return self._file

    def _sync(self) -> None:
        """Make the written bytes durable before the file is moved into place."""
        file = self._open_file()
        file.flush()
        os.fsync(file.fileno())

    def _mark_kept(self) -> None:
        """The file was moved to its content address; closing must no longer delete anything."""
        self._kept = True


class DocumentStore:
    """Documents under ``root``, each at ``root/<sha[:2]>/<sha256>``; uploads spool in ``root/tmp/``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._tmp = self.root / "tmp"

    def spool(self) -> Spool:
        """A new temporary file under ``root/tmp/`` for one upload."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        return Spool(self._tmp, self.max_bytes)

    def keep(self, spool: Spool | IO[bytes]) -> StoredDocument:
        """Judge the spooled bytes and store them at their content address; the spool is closed either way.

        Raises Problem 400 ``document_empty`` for an empty upload and 415 ``document_type_not_accepted`` for
        anything but the accepted types (said of the field ``file``); the temporary file is deleted then. Keeping
        content that is already stored just deletes the temporary file.
        """
        return self.keep_all({"file": spool})["file"]

    def keep_all(self, spools: Mapping[str, Spool | IO[bytes]]) -> dict[str, StoredDocument]:
        """Several uploads of one request, by the field each came in: every one is judged before any is stored, so
        a refusal (as :meth:`keep`'s, naming its field in ``errors``) stores none of them. Every spool is closed
        either way."""
        owned = {field: self._own(spool) for field, spool in spools.items()}
        try:
            judged = {}
            for field, spool in owned.items():
                if spool.closed:
                    raise ValueError(f"{spool!r} is closed: it was already kept, discarded or refused")
                try:
                    judged[field] = _judge(spool)
                except Problem as refused:
                    raise refused.about(field) from None
            return {field: self._place(owned[field], content_type) for field, content_type in judged.items()}
        finally:
            for spool in owned.values():
                spool.close()

    def _place(self, spool: Spool, content_type: str) -> StoredDocument:
        sha256 = spool.sha256
        target = self.path(sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Two uploads of the same content may race here; both move identical bytes, either wins.
            os.replace(spool.path, target)
            spool._mark_kept()
            _fsync_directory(target.parent)
        return StoredDocument(sha256=sha256, size=spool.size, content_type=content_type)

    def discard(self, spool: Spool | IO[bytes]) -> None:
        """Delete the spool's temporary file if it is still there; calling it again does nothing."""
        self._own(spool).close()

    def path(self, sha256: str) -> Path:
        """Where the document with this SHA-256 (64 lowercase hex digits) is or would be."""
        if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 in lowercase hex: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def open(self, sha256: str) -> BinaryIO:
        """The stored document for reading; FileNotFoundError if there is none."""
        return self.path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def remove(self, sha256: str) -> None:
        """Delete a stored document if it is there; calling it again does nothing.

        The same bytes may belong to several dossiers: remove only content that no record refers to.
        """
        self.path(sha256).unlink(missing_ok=True)

    def _own(self, spool: Spool | IO[bytes]) -> Spool:
        if not isinstance(spool, Spool):
            raise TypeError(
                f"expected a Spool from DocumentStore.spool(), got {type(spool).__name__}; "
                "is the app's request_class made by request_class_for()?"
            )
        if spool.path.parent.resolve() != self._tmp.resolve():
            raise ValueError(f"{spool!r} was not spooled by the store at {self.root}")
        return spool


def _judge(spool: Spool) -> str:
    """The content type of the spooled bytes, made durable first; a Problem if they are empty or not accepted."""
    if spool.size == 0:
        raise Problem(400, "document_empty", "Tệp tải lên không có nội dung (0 byte); hãy chọn lại tệp.")
    spool._sync()
    content_type = sniff(spool.path)
    if content_type is None:
        raise Problem(
            415,
            "document_type_not_accepted",
            f"Chỉ nhận tệp {_ACCEPTED_IN_WORDS}; tệp này {_is(_describe_refused(spool.path))}.",
            accepted=list(ACCEPTED_TYPES),
        )
    return content_type


def _is(words: str) -> str:
    """ "tệp này là <kind>", or "tệp này không xác định được loại"."""
    return words if words.startswith("không ") else f"là {words}"


def _megabytes(size: int) -> str:
    """A byte count in MB the Vietnamese way: "20", "1,5", "0,00095" (two significant digits below 1 MB)."""
    megabytes = size / _MEGABYTE
    if megabytes <= 0:
        return "0"
    decimals = 1 if megabytes >= 1 else 1 - math.floor(math.log10(megabytes))
    return f"{megabytes:.{decimals}f}".rstrip("0").rstrip(".").replace(".", ",")


def _fsync_directory(directory: Path) -> None:
    """Make a rename into ``directory`` durable; not every platform can open a directory, so best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- werkzeug ------------------------------------------------------------------------------------------------


def request_class_for(store_for_app: Callable[[], DocumentStore]) -> type[flask.Request]:
    """A Request whose multipart file parts stream into the app's DocumentStore spools.

    ``store_for_app`` is called when a file part starts, inside the request, e.g.
    ``lambda: current_app.extensions["thidua.documents"]``. When the request ends, every spool it opened and nobody
    kept is deleted — also the part that was being received when the upload was refused or broke off.
    """

    class DocumentRequest(flask.Request):
        def __init__(self, environ: WSGIEnvironment, populate_request: bool = True, shallow: bool = False) -> None:
            super().__init__(environ, populate_request, shallow)
            self._spools: list[Spool] = []

        def _get_file_stream(
            self,
            total_content_length: int | None,
            content_type: str | None,
            filename: str | None = None,
            content_length: int | None = None,
        ) -> IO[bytes]:
            spool = store_for_app().spool()
            self._spools.append(spool)
            return spool

        def close(self) -> None:
            try:
                super().close()
            finally:
                spools, self._spools = self._spools, []
                for spool in spools:
                    spool.close()

    return DocumentRequest
