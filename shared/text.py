"""The text the services take from people: what a database can hold, and what a file may be called.

PostgreSQL refuses the NUL character in text, and no database (nor UTF-8) holds a lone surrogate, which JSON can
spell as ``"\\ud800"``. Both are refused where a request comes in, with a 400 naming the field, so that no request
fails half-way at the database. An uploaded file's name is stricter still: it is shown to people and sent back in
a ``Content-Disposition`` header.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator

from shared.problems import FieldMessage, Problem

MAX_FILENAME_LENGTH = 200

# Control characters (NUL, newlines, ESC…), invisible format characters (the right-to-left override that shows
# "exe.pdf" for "fdp.exe", zero-width spaces), lone surrogates and line/paragraph separators: none belongs in a
# name that is shown to people and sent back in a Content-Disposition header.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

UNSTORABLE = FieldMessage(
    "invalid_character", "Có ký tự không hợp lệ (ký tự NUL hoặc mã Unicode lẻ); hãy nhập lại nội dung này."
)


def storable(text: str) -> bool:
    """Whether a database can hold the text: no NUL, and UTF-8 can spell every character of it."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_parameters(parameters: Iterable[tuple[str, str]]) -> list[str]:
    """The names of the parameters (a query's, a form's) whose name or value a database cannot hold."""
    return [name for name, value in parameters if not (storable(name) and storable(value))]


def unstorable_fields(value: object, path: str = "") -> Iterator[str]:
    """The path (``a.b.0``) of every string, key or value, of a parsed JSON document that a database cannot hold."""
    if isinstance(value, str):
        if not storable(value):
            yield path or "_schema"
    elif isinstance(value, dict):
        for key, item in value.items():
            if not storable(key):
                yield path or "_schema"
            else:
                yield from unstorable_fields(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable_fields(item, f"{path}.{index}" if path else str(index))


def safe_filename(name: str | None) -> str:
    """The name as the unit gave it, if it is safe to show and to put in a Content-Disposition header.

    The name is NFC-normalised (macOS sends decomposed Vietnamese) and stripped of surrounding whitespace. It is
    only ever shown, never used as a path: documents are stored by their SHA-256.
    """
    if name is None:
        raise _unsafe_filename("chưa có tên tệp.")
    text = unicodedata.normalize("NFC", name).strip()
    if not text:
        raise _unsafe_filename("tên tệp trống.")
    if "/" in text or "\\" in text:
        raise _unsafe_filename("tên tệp không được chứa dấu / hoặc \\.")
    if any(unicodedata.category(char) in _UNSAFE_CATEGORIES for char in text):
        raise _unsafe_filename("tên tệp không được chứa ký tự điều khiển hoặc ký tự ẩn.")
    if text in {".", ".."}:
        raise _unsafe_filename("tên tệp không được là '.' hoặc '..'.")
    if len(text) > MAX_FILENAME_LENGTH:
        raise _unsafe_filename(f"tên tệp dài quá {MAX_FILENAME_LENGTH} ký tự.")
    return text


def _unsafe_filename(reason: str) -> Problem:
    return Problem(400, "unsafe_filename", f"Tên tệp không hợp lệ: {reason}")
