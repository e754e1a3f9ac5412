"""Generated material for a simulated campaign: synthetic campaign files of any size, and the units' documents.

A synthetic campaign keeps every rule of the 2021 plan (targets, prize ladder, individuals, council, deadlines) and
replaces its 21 units by N generated ones split between the two tracks, so a run at scale still means what the
plan means. It is written as a campaign file and validated by the same loader the services use, so a remote
system can load it from THIDUA_CAMPAIGNS_DIR. Documents are made on demand, small and different per unit, and
never kept.
"""

from __future__ import annotations

import struct
import tomllib
import zlib
from datetime import date
from pathlib import Path
from typing import Any

from shared.campaigns import CAMPAIGN_DIR, DEFAULT_CAMPAIGN, Campaign, load_campaign

DISTRICT_SHARE = 0.4  # of the units, specialised offices; the rest are communes


def campaign_code(units: int, seed: int) -> str:
    return f"mo-phong-{units}-{seed}"


def synthetic_campaign_text(units: int, seed: int) -> str:
    """The TOML of a campaign like 2021's with ``units`` generated units (at least 2: one per track)."""
    if units < 2:
        raise ValueError("a synthetic campaign needs at least 2 units, one per track")
    data = tomllib.loads((CAMPAIGN_DIR / f"{DEFAULT_CAMPAIGN}.toml").read_text(encoding="utf-8"))
    district = max(1, min(units - 1, round(units * DISTRICT_SHARE)))
    data["code"] = campaign_code(units, seed)
    data["name"] = f"Phong trào thi đua mô phỏng {units} đơn vị (hạt giống {seed})"
    data["units"] = [
        {
            "code": f"phong-{n:05d}",
            "name": f"Phòng mô phỏng số {n}",
            "track": "district",
            "level4_procedures": 5 + n % 40,
        }
        for n in range(1, district + 1)
    ] + [
        {"code": f"xa-{n:05d}", "name": f"Xã mô phỏng số {n}", "track": "commune"}
        for n in range(1, units - district + 1)
    ]
    # Members who head a unit: one office and one commune, so the rule that no one votes on their own unit is played.
    heads = {"truong-phong-noi-vu": "phong-00001", "truong-phong-tu-phap": "xa-00001"}
    for member in data["council"]["members"]:
        member.pop("unit", None)
        if member["id"] in heads:
            member["unit"] = heads[member["id"]]
    return _toml(data)


def write_synthetic_campaign(units: int, seed: int, folder: Path) -> tuple[Path, Campaign]:
    """Write the campaign file into ``folder`` and load it back, so only a valid file is ever left there."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{campaign_code(units, seed)}.toml"
    path.write_text(synthetic_campaign_text(units, seed), encoding="utf-8")
    return path, load_campaign(path)


def document_files(unit: str, campaign: Campaign) -> dict[str, tuple[str, bytes]]:
    """Every document the campaign asks of ``unit``, as the files of one upload named by their kinds:
    ``{kind: (filename, bytes)}``."""
    files = {}
    for kind in (doc.code for doc in campaign.documents):
        data, filename = document(unit, kind)
        files[kind] = (filename, data)
    return files


def document(unit: str, kind: str, version: int = 1) -> tuple[bytes, str]:
    """A small scanned-looking document of ``unit``: the summary list as a PNG, the others as PDF."""
    if kind == "danh_sach_tom_tat":
        return _png(f"{unit}:{kind}:{version}"), f"{kind}.png"
    text = f"{unit} {kind} v{version}".encode()
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<< /Title (" + text + b") >>endobj\ntrailer<<>>\n%%EOF\n"
    return body, f"{kind}.pdf"


def _png(label: str) -> bytes:
    """An 8x8 grey PNG whose shade depends on ``label``: a valid image, different per unit."""
    shade = zlib.crc32(label.encode()) % 256
    rows = b"".join(b"\x00" + bytes([shade]) * 8 for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# -- a TOML writer for the shapes a campaign file has (tables, arrays of tables, strings, numbers, dates) --------


def _toml(data: dict[str, Any]) -> str:
    lines = [f"{key} = {_value(value)}" for key, value in data.items() if not isinstance(value, dict)]
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]", *(f"{k} = {_value(v)}" for k, v in value.items())]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | date):
        return value.isoformat() if isinstance(value, date) else repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[\n" + "".join(f"    {_value(item)},\n" for item in value) + "]" if value else "[]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")
