import gc
import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app, jsonify, request

from services.intake import storage
from services.intake.storage import (
    ACCEPTED_TYPES,
    DocumentStore,
    Spool,
    StoredDocument,
    request_class_for,
    sniff,
)
from shared.problems import Problem
from shared.text import safe_filename

KB = 1024
MB = 1024 * KB
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# --- real small files of each kind ----------------------------------------------------------------------------


def pdf_bytes(size: int = KB) -> bytes:
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    return head + b"0" * (size - len(head))


def png_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 200 + b"\xff\xd9"


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


CONTENT_TYPES_XML = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)


def docx_bytes(text: str = "Tờ trình đề nghị khen thưởng") -> bytes:
    document = f'<w:document xmlns:w="urn:w"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'
    return zip_bytes({"[Content_Types].xml": CONTENT_TYPES_XML, "word/document.xml": document.encode()})


def xlsx_bytes() -> bytes:
    return zip_bytes({"[Content_Types].xml": CONTENT_TYPES_XML, "xl/workbook.xml": b"<workbook/>"})


def ole2_bytes(stream_name: str, *, padding: int = 0) -> bytes:
    """A minimal OLE2 compound file: the 512-byte header, then a directory entry naming one stream."""
    header = OLE2 + b"\x00" * (512 - len(OLE2))
    name = stream_name.encode("utf-16-le") + b"\x00\x00"
    entry = name + b"\x00" * (64 - len(name)) + len(name).to_bytes(2, "little") + b"\x02" + b"\x00" * 61
    return header + b"\x00" * padding + entry


def doc_bytes() -> bytes:
    return ole2_bytes("WordDocument")


EXE = b"MZ\x90\x00" + b"\x00" * 1020

SAMPLES: dict[str, tuple[bytes, str | None]] = {
    "pdf": (pdf_bytes(), "application/pdf"),
    "png": (png_bytes(), "image/png"),
    "jpeg": (jpeg_bytes(), "image/jpeg"),
    "docx": (docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "doc": (doc_bytes(), "application/msword"),
    "xlsx is not a docx": (xlsx_bytes(), None),
    "plain zip is not a docx": (zip_bytes({"a.txt": b"xin chao"}), None),
    "docm is not a docx": (
        zip_bytes(
            {
                "[Content_Types].xml": CONTENT_TYPES_XML,
                "word/document.xml": b"<w:document/>",
                "word/vbaProject.bin": b"\x00" * 64,
            }
        ),
        None,
    ),
    "broken zip": (b"PK\x03\x04" + b"\x00" * 100, None),
    "xls is not a doc": (ole2_bytes("Workbook"), None),
    "msi is not a doc": (ole2_bytes("\u4840\u3b3f\u4577"), None),
    "exe": (EXE, None),
    "text": ("Tờ trình".encode(), None),
    "empty": (b"", None),
    "pdf magic too short": (b"%PDF", None),
}


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


# --- sniff ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "expected"), SAMPLES.values(), ids=SAMPLES.keys())
def test_sniff_judges_the_bytes(tmp_path: Path, content: bytes, expected: str | None) -> None:
    assert sniff(write(tmp_path, "upload.bin", content)) == expected


def test_sniff_ignores_the_file_name(tmp_path: Path) -> None:
    assert sniff(write(tmp_path, "hoá đơn.pdf", EXE)) is None
    assert sniff(write(tmp_path, "ảnh.exe", png_bytes())) == "image/png"


@pytest.mark.parametrize("offset", [0, 1, 5, 23, 24])
def test_sniff_finds_the_word_stream_across_a_chunk_boundary(tmp_path: Path, offset: int) -> None:
    needle = "WordDocument".encode("utf-16-le")
    at = storage._CHUNK - offset
    content = OLE2 + b"\x00" * (at - len(OLE2)) + needle + b"\x00" * 100
    assert sniff(write(tmp_path, "split.doc", content)) == "application/msword"


def test_sniff_reads_a_large_doc_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "big.doc", ole2_bytes("WordDocument", padding=3 * MB))
    reads: list[int] = []

    class Recording(io.FileIO):
        def read(self, size: int | None = -1) -> bytes:
            reads.append(-1 if size is None else size)
            return super().read(size)

    monkeypatch.setattr(storage, "open", lambda p, mode: Recording(p, mode), raising=False)

    assert sniff(path) == "application/msword"
    assert len(reads) > 3 * MB // storage._CHUNK
    assert all(0 < size <= storage._CHUNK for size in reads)


# --- Spool ----------------------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "documents", max_bytes=64 * KB)


def test_the_store_makes_its_folders_lazily(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "documents", max_bytes=KB)
    assert not (tmp_path / "documents").exists()

    store.spool().close()

    assert (tmp_path / "documents" / "tmp").is_dir()


def test_a_spool_that_cannot_be_made_says_why(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Spool(tmp_path / "missing", max_bytes=KB)


def test_a_spool_nobody_closed_is_deleted_when_collected(store: DocumentStore) -> None:
    spool = store.spool()
    spool.write(pdf_bytes())
    path = spool.path

    del spool
    gc.collect()

    assert not path.exists()


def test_spool_hashes_and_counts_what_is_written(store: DocumentStore) -> None:
    chunks: list[bytes | bytearray | memoryview] = [
        b"%PDF-1.7\n",
        bytes(range(256)) * 40,
        b"",
        bytearray(b"\x00" * 999),
        memoryview(b"cuoi"),
    ]
    whole = b"".join(bytes(chunk) for chunk in chunks)

    with store.spool() as spool:
        for chunk in chunks:
            assert spool.write(chunk) == len(chunk)

        assert spool.sha256 == hashlib.sha256(whole).hexdigest()
        assert spool.size == len(whole)
        assert spool.path.read_bytes() == whole
        assert spool.seek(0) == 0
        assert spool.read(9) == b"%PDF-1.7\n"
        assert spool.tell() == 9
        assert spool.readable() and spool.writable() and spool.seekable()


def test_spool_accepts_exactly_max_bytes(store: DocumentStore) -> None:
    spool = store.spool()
    spool.write(b"x" * (store.max_bytes - 1))
    spool.write(b"x")

    assert spool.size == store.max_bytes
    assert spool.path.stat().st_size == store.max_bytes
    spool.close()


def test_spool_refuses_one_byte_over_and_deletes_its_file(store: DocumentStore) -> None:
    spool = store.spool()
    spool.write(b"x" * store.max_bytes)
    path = spool.path

    with pytest.raises(Problem) as raised:
        spool.write(b"x")

    assert raised.value.status == 413
    assert raised.value.code == "document_too_large"
    assert raised.value.detail == "Tệp vượt quá dung lượng cho phép (0,062 MB)."
    assert raised.value.extra == {"limit_bytes": store.max_bytes}
    assert not path.exists()
    assert spool.closed
    assert files_under(store.root) == []


def test_spool_refuses_a_single_chunk_larger_than_the_limit_before_writing_it(store: DocumentStore) -> None:
    spool = store.spool()

    with pytest.raises(Problem):
        spool.write(b"x" * (store.max_bytes + 1))

    assert files_under(store.root) == []


def test_the_limit_is_told_in_megabytes(tmp_path: Path) -> None:
    spool = DocumentStore(tmp_path, max_bytes=20 * MB).spool()
    spool.write(b"x" * (20 * MB))

    with pytest.raises(Problem) as raised:
        spool.write(b"x")

    assert raised.value.detail == "Tệp vượt quá dung lượng cho phép (20 MB)."


def test_spool_writes_through_to_the_disk(tmp_path: Path) -> None:
    spool = DocumentStore(tmp_path, max_bytes=5 * MB).spool()
    digest = hashlib.sha256()
    chunk = bytes(range(256)) * 256  # 64 KB

    for _ in range(5 * MB // len(chunk)):
        spool.write(chunk)
        digest.update(chunk)

    assert spool.path.stat().st_size == 5 * MB  # on disk before close, not held in memory
    assert spool.sha256 == digest.hexdigest()
    spool.close()


def test_spool_only_appends(store: DocumentStore) -> None:
    spool = store.spool()
    spool.write(b"%PDF-1.7 abc")
    spool.seek(0)

    with pytest.raises(io.UnsupportedOperation):
        spool.write(b"X")

    spool.seek(0, io.SEEK_END)
    spool.write(b"def")
    assert spool.sha256 == hashlib.sha256(b"%PDF-1.7 abcdef").hexdigest()
    spool.close()


def test_closing_a_spool_that_was_not_kept_deletes_it(store: DocumentStore) -> None:
    spool = store.spool()
    spool.write(pdf_bytes())

    spool.close()
    spool.close()

    assert files_under(store.root) == []
    with pytest.raises(ValueError):
        spool.read()


def test_discard_deletes_the_temp_file_and_is_idempotent(store: DocumentStore) -> None:
    spool = store.spool()
    spool.write(pdf_bytes())

    store.discard(spool)
    store.discard(spool)

    assert files_under(store.root) == []


# --- keep -----------------------------------------------------------------------------------------------------


def spooled(store: DocumentStore, content: bytes) -> Spool:
    spool = store.spool()
    for start in range(0, len(content), 1000):
        spool.write(content[start : start + 1000])
    spool.seek(0)
    return spool


@pytest.mark.parametrize("kind", ["pdf", "png", "jpeg", "docx", "doc"])
def test_keep_stores_each_accepted_type_at_its_content_address(store: DocumentStore, kind: str) -> None:
    content, content_type = SAMPLES[kind]
    sha = hashlib.sha256(content).hexdigest()

    document = store.keep(spooled(store, content))

    assert document == StoredDocument(sha256=sha, size=len(content), content_type=str(content_type))
    assert document.extension == ACCEPTED_TYPES[document.content_type]
    assert store.path(sha) == store.root / sha[:2] / sha
    assert files_under(store.root) == [store.root / sha[:2] / sha]
    assert store.exists(sha)
    with store.open(sha) as stored:
        assert stored.read() == content


def test_keeping_the_same_content_twice_stores_one_file(store: DocumentStore) -> None:
    first = store.keep(spooled(store, pdf_bytes()))
    second = store.keep(spooled(store, pdf_bytes()))

    assert first == second
    assert files_under(store.root) == [store.path(first.sha256)]


def test_keep_closes_the_spool(store: DocumentStore) -> None:
    spool = spooled(store, pdf_bytes())

    store.keep(spool)

    assert spool.closed
    with pytest.raises(ValueError, match="closed"):
        store.keep(spool)
    store.discard(spool)  # nothing left to discard, and the kept document stays
    assert len(files_under(store.root)) == 1


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (EXE, "tệp này là tệp chương trình (EXE, DLL)."),
        (xlsx_bytes(), "tệp này là bảng tính Excel (XLSX)."),
        (ole2_bytes("Workbook"), "tệp này là tệp Office cũ không phải Word (XLS, PPT, MSI…)."),
        (zip_bytes({"a.txt": b"x"}), "tệp này là tệp nén ZIP."),
        (b"GIF89a" + b"\x00" * 50, "tệp này là ảnh GIF."),
        ("Tờ trình".encode(), "tệp này không xác định được loại."),
    ],
)
def test_keep_refuses_other_types_and_leaves_nothing(store: DocumentStore, content: bytes, said: str) -> None:
    with pytest.raises(Problem) as raised:
        store.keep(spooled(store, content))

    assert raised.value.status == 415
    assert raised.value.code == "document_type_not_accepted"
    assert raised.value.detail == f"Chỉ nhận tệp PDF, DOCX, DOC, JPEG hoặc PNG; {said}"
    assert raised.value.extra == {"accepted": list(ACCEPTED_TYPES)}
    assert files_under(store.root) == []


def test_keep_refuses_an_empty_upload(store: DocumentStore) -> None:
    with pytest.raises(Problem) as raised:
        store.keep(store.spool())

    assert raised.value.status == 400
    assert raised.value.code == "document_empty"
    assert files_under(store.root) == []


def test_keep_takes_only_a_spool_of_its_own_store(tmp_path: Path, store: DocumentStore) -> None:
    with pytest.raises(TypeError, match="request_class_for"):
        store.keep(io.BytesIO(pdf_bytes()))

    other = DocumentStore(tmp_path / "other", max_bytes=KB).spool()
    other.write(pdf_bytes(100))
    with pytest.raises(ValueError, match="not spooled by"):
        store.keep(other)
    other.close()


def test_remove_deletes_a_stored_document_and_is_idempotent(store: DocumentStore) -> None:
    kept = store.keep(spooled(store, png_bytes()))

    store.remove(kept.sha256)
    store.remove(kept.sha256)

    assert not store.exists(kept.sha256)
    assert files_under(store.root) == []


# --- paths ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    ["../x", "", "a" * 63, "a" * 65, "A" * 64, "g" * 64, "../" + "a" * 61, "a" * 64 + "\n", "/" + "a" * 63],
)
def test_path_refuses_anything_but_a_lowercase_sha256(store: DocumentStore, given: str) -> None:
    with pytest.raises(ValueError):
        store.path(given)
    with pytest.raises(ValueError):
        store.open(given)
    with pytest.raises(ValueError):
        store.remove(given)


def test_open_of_an_absent_document_is_file_not_found(store: DocumentStore) -> None:
    sha = hashlib.sha256(b"never uploaded").hexdigest()

    assert not store.exists(sha)
    with pytest.raises(FileNotFoundError):
        store.open(sha)


# --- Flask ----------------------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = Flask(__name__)
    app.request_class = request_class_for(lambda: current_app.extensions["thidua.documents"])
    app.extensions["thidua.documents"] = DocumentStore(tmp_path / "documents", max_bytes=64 * KB)
    app.register_error_handler(Problem, lambda e: e.response())

    @app.post("/documents")
    def upload() -> Any:
        upload = request.files["file"]
        store: DocumentStore = current_app.extensions["thidua.documents"]
        document = store.keep(upload.stream)
        return jsonify(
            sha256=document.sha256,
            size=document.size,
            content_type=document.content_type,
            filename=safe_filename(upload.filename),
            spooled_by=type(upload.stream).__name__,
        ), 201

    @app.post("/refuse-before-keeping")
    def refuse() -> Any:
        request.files["file"]  # parsed and spooled, then not kept
        raise Problem(400, "validation_failed", "Dữ liệu gửi lên chưa hợp lệ.")

    yield app


def root_of(app: Flask) -> Path:
    store: DocumentStore = app.extensions["thidua.documents"]
    return store.root


def test_an_upload_is_stored_under_its_sha256(app: Flask) -> None:
    content = pdf_bytes(KB)

    response = app.test_client().post("/documents", data={"file": (io.BytesIO(content), "Tờ trình 2021.pdf")})

    assert response.status_code == 201, response.get_data(as_text=True)
    sha = hashlib.sha256(content).hexdigest()
    assert response.json == {
        "sha256": sha,
        "size": KB,
        "content_type": "application/pdf",
        "filename": "Tờ trình 2021.pdf",
        "spooled_by": "Spool",
    }
    root = root_of(app)
    assert files_under(root) == [root / sha[:2] / sha]
    assert (root / sha[:2] / sha).read_bytes() == content


def test_an_upload_over_the_limit_is_413_and_leaves_nothing(app: Flask) -> None:
    response = app.test_client().post("/documents", data={"file": (io.BytesIO(pdf_bytes(200 * KB)), "lớn.pdf")})

    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.json is not None
    assert response.json["code"] == "document_too_large"
    assert response.json["limit_bytes"] == 64 * KB
    assert files_under(root_of(app)) == []


def test_an_executable_named_pdf_is_415_and_leaves_nothing(app: Flask) -> None:
    response = app.test_client().post("/documents", data={"file": (io.BytesIO(EXE), "x.pdf")})

    assert response.status_code == 415
    assert response.json is not None
    assert response.json["code"] == "document_type_not_accepted"
    assert response.json["accepted"] == list(ACCEPTED_TYPES)
    assert files_under(root_of(app)) == []


def test_an_earlier_part_is_removed_when_a_later_one_is_too_large(app: Flask) -> None:
    data = {"file": (io.BytesIO(pdf_bytes(KB)), "a.pdf"), "more": (io.BytesIO(pdf_bytes(200 * KB)), "b.pdf")}

    response = app.test_client().post("/documents", data=data)

    assert response.status_code == 413
    assert files_under(root_of(app)) == []


def test_an_upload_nobody_kept_is_removed_when_the_request_ends(app: Flask) -> None:
    response = app.test_client().post("/refuse-before-keeping", data={"file": (io.BytesIO(pdf_bytes()), "a.pdf")})

    assert response.status_code == 400
    assert files_under(root_of(app)) == []
