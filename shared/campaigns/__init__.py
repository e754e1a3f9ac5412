"""Campaign definitions (phong trào thi đua), read from TOML data files.

Every reading of the district plan that a reasonable person could make differently (which targets are
required, how units are ranked, how ties are settled, what an individual's reward is worth) is a setting in
the campaign file rather than a constant in code, so a new campaign or a corrected interpretation is a data
change. The schemas refuse unknown keys so that a misspelt setting cannot silently fall back to a default.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

__all__ = [
    "RANKING_KEYS",
    "TARGET_CODES",
    "Campaign",
    "CampaignError",
    "Council",
    "DocumentKind",
    "Individuals",
    "Prize",
    "Rules",
    "Target",
    "Track",
    "Unit",
    "default_campaign",
    "load_campaign",
    "load_campaigns",
]

CAMPAIGN_DIR = Path(__file__).resolve().parent
DEFAULT_CAMPAIGN = "chau-thanh-2021"

#: Metrics computable from the one-stop-shop counts (Phụ lục 2); targets and ranking keys refer to them.
TARGET_CODES: tuple[str, ...] = ("case_file_rate", "procedure_coverage")
RANKING_KEYS: tuple[str, ...] = (*TARGET_CODES, "online_case_files", "online_procedures")

TargetsRequired = Literal["all", "any"]
TiePolicy = Literal["council", "share"]
WordsStyle = Literal["south", "north"]

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- the model -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A competing unit; `level4_procedures` is None where the plan gives no count (the communes)."""

    code: str
    name: str
    track: str
    level4_procedures: int | None
    aliases: tuple[str, ...] = ()  # other exact spellings official documents use for the unit


@dataclass(frozen=True)
class Prize:
    rank: int
    name: str
    amount: int
    award: str


@dataclass(frozen=True)
class Track:
    """A group of units ranked against each other, each with its own prize ladder."""

    code: str
    name: str
    prizes: tuple[Prize, ...]

    @property
    def total(self) -> int:
        """The most the track can pay out, since budgets are planned before the ranking is known."""
        return sum(prize.amount for prize in self.prizes)


@dataclass(frozen=True)
class Target:
    code: str
    name: str
    threshold: Fraction


@dataclass(frozen=True)
class DocumentKind:
    code: str
    name: str


@dataclass(frozen=True)
class Rules:
    """The plan's ambiguities, each settled explicitly per campaign."""

    targets_required: TargetsRequired
    zero_total_meets_target: bool
    ranking_keys: tuple[str, ...]
    tie_policy: TiePolicy
    prizes_never_exceed_qualifying: bool
    deadline_end_of_day: bool


@dataclass(frozen=True)
class Individuals:
    """Individual awards; the plan only says "at the current rate", so the rate is data, not law in code."""

    per_winning_unit: int
    max_total: int
    award: str
    legal_basis: str
    base_salary: int
    multiplier: Fraction
    round_up_to: int

    @property
    def amount(self) -> int:
        """Rounded up, not to nearest, because the decree pays at least the computed sum."""
        steps = math.ceil(self.base_salary * self.multiplier / self.round_up_to)
        return steps * self.round_up_to


@dataclass(frozen=True)
class CouncilMember:
    """A seat on the council; ``id`` is the person id their bearer token carries."""

    id: str
    name: str
    position: str
    unit: str | None = None  # the unit they head, whose nominations they may not vote on


@dataclass(frozen=True)
class Council:
    """`majority` is exclusive: a nomination passes with MORE than this share of the members present."""

    quorum: Fraction
    majority: Fraction
    members: tuple[CouncilMember, ...] = ()

    def member(self, person_id: str) -> CouncilMember | None:
        return next((m for m in self.members if m.id == person_id), None)


@dataclass(frozen=True)
class Campaign:
    code: str
    name: str
    organiser: str
    year: int
    timezone: str
    data_window_start: date
    data_window_end: date
    dossier_deadline: date
    proposal_deadline: date
    tracks: tuple[Track, ...]
    units: tuple[Unit, ...]
    targets: tuple[Target, ...]
    documents: tuple[DocumentKind, ...]
    rules: Rules
    individuals: Individuals
    council: Council
    amount_words_style: WordsStyle
    funding: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def unit(self, code: str) -> Unit:
        found = self._units_by_code.get(code)
        return found if found is not None else _by_code(self.units, code, "unit", self.code)

    def track(self, code: str) -> Track:
        return _by_code(self.tracks, code, "track", self.code)

    def target(self, code: str) -> Target:
        return _by_code(self.targets, code, "target", self.code)

    def find_unit(self, code_or_exact_name: str) -> Unit | None:
        """Exact match only (the code, the name, or an alias): a near miss must not pick the wrong unit's figures."""
        return self._units_by_word.get(unicodedata.normalize("NFC", code_or_exact_name))

    # A campaign may have thousands of units; every request that names one finds it in these, not by a scan.
    @cached_property
    def _units_by_code(self) -> dict[str, Unit]:
        return {unit.code: unit for unit in self.units}

    @cached_property
    def _units_by_word(self) -> dict[str, Unit]:
        """Each unit by its code, its name and its aliases; the first unit to use a word keeps it."""
        found: dict[str, Unit] = {}
        for unit in self.units:
            for word in (unit.code, unit.name, *unit.aliases):
                found.setdefault(word, unit)
        return found

    def units_of(self, track_code: str) -> tuple[Unit, ...]:
        return tuple(unit for unit in self.units if unit.track == track_code)


_Coded = TypeVar("_Coded", Unit, Track, Target)


def _by_code(items: tuple[_Coded, ...], code: str, kind: str, campaign: str) -> _Coded:
    for item in items:
        if item.code == code:
            return item
    known = ", ".join(item.code for item in items)
    raise KeyError(f"No {kind} {code!r} in campaign {campaign!r} (known: {known})")


# --- errors ----------------------------------------------------------------------------------------------


class CampaignError(Exception):
    """A campaign file that cannot be used; `errors` maps dotted field paths to messages."""

    def __init__(self, path: Path, errors: Mapping[str, list[str]]) -> None:
        self.path = path
        self.errors = {key: list(messages) for key, messages in errors.items()}
        super().__init__(self._describe())

    def __reduce__(self) -> tuple[type[CampaignError], tuple[Path, dict[str, list[str]]]]:
        return (type(self), (self.path, self.errors))

    def _describe(self) -> str:
        lines = [f"Invalid campaign file {self.path}:"]
        for key in sorted(self.errors):
            lines.extend(f"  {key}: {message}" for message in self.errors[key])
        return "\n".join(lines)


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow nests errors by field and list index; callers want one line per bad field."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = prefix if key == "_schema" and prefix else _join(prefix, str(key))
            for sub_key, sub_messages in _flatten(value, path).items():
                flat.setdefault(sub_key, []).extend(sub_messages)
    elif isinstance(messages, list) and not all(isinstance(m, str) for m in messages):
        for value in messages:
            for sub_key, sub_messages in _flatten(value, prefix).items():
                flat.setdefault(sub_key, []).extend(sub_messages)
    else:
        items = messages if isinstance(messages, list) else [messages]
        flat[prefix or "_schema"] = [str(m) for m in items]
    return flat


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


# --- fields ----------------------------------------------------------------------------------------------


_NOT_A_FLAG = "Must be true or false."
_NOT_A_DAY = "Not a valid date (expected YYYY-MM-DD)."
_NOT_A_PERCENT = 'Must be a percent string such as "60" or "59.5".'
_PERCENT_RANGE = "Must be between 0 and 100 percent."
_NOT_A_RATIO = 'Must be a ratio string such as "2/3" or "0.15".'
_NOT_A_ZONE = "Not a known time zone (expected an IANA name such as Asia/Ho_Chi_Minh)."


class _Text(fields.String):
    """Vietnamese text is compared exactly, so it is stored in one Unicode form (NFC) whatever the editor."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=True, validate=validate.Regexp(r"\S", error="Must not be blank."), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        return unicodedata.normalize("NFC", super()._deserialize(value, attr, data, **kwargs))


def _code(pattern: re.Pattern[str], example: str) -> fields.String:
    error = f"Must match {pattern.pattern} (for example {example!r})."
    return fields.String(required=True, validate=validate.Regexp(pattern, error=error))


def _count(minimum: int = 0, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=minimum), **kwargs)


class _Flag(fields.Field[bool]):
    """TOML has real booleans; accepting "yes" or 1 would hide a typo in a rule."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(_NOT_A_FLAG)
        return value


class _Day(fields.Field[date]):
    """A TOML date or an ISO string; a date-time is refused because deadlines are whole local days."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if not isinstance(value, str) or not _ISO_DAY.match(value):
            raise ValidationError(_NOT_A_DAY)
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError(_NOT_A_DAY) from exc


class _Percent(fields.Field[Fraction]):
    """A percent string parsed exactly, because 59.999 % must compare below 60 %; floats would blur that."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Fraction:
        if not isinstance(value, str):
            raise ValidationError(_NOT_A_PERCENT)
        try:
            number = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValidationError(_NOT_A_PERCENT) from exc
        if not number.is_finite():
            raise ValidationError(_NOT_A_PERCENT)
        if not 0 <= number <= 100:
            raise ValidationError(_PERCENT_RANGE)
        return Fraction(number) / 100


class _Ratio(fields.Field[Fraction]):
    """A ratio string such as "2/3" or "0.15"; two thirds has no exact decimal or percent form."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Fraction:
        if not isinstance(value, str):
            raise ValidationError(_NOT_A_RATIO)
        try:
            return Fraction(value)
        except (ValueError, ZeroDivisionError) as exc:
            raise ValidationError(_NOT_A_RATIO) from exc


class _Timezone(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValidationError(_NOT_A_ZONE) from exc
        return name


def _one_of(choices: Iterable[str]) -> fields.String:
    return fields.String(required=True, validate=validate.OneOf(tuple(choices)))


def _many(schema: type[Schema], **kwargs: Any) -> fields.List:
    return fields.List(fields.Nested(schema), required=True, **kwargs)


# --- schemas ---------------------------------------------------------------------------------------------


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _UnitSchema(_Strict):
    code = _code(_SLUG, "tu-phap")
    name = _Text()
    track = _code(_IDENTIFIER, "district")
    level4_procedures = _count(load_default=None)
    aliases = fields.List(_Text(), load_default=list)


class _PrizeSchema(_Strict):
    rank = _count(1, required=True)
    name = _Text()
    amount = _count(required=True)
    award = _Text()


class _TrackSchema(_Strict):
    code = _code(_IDENTIFIER, "district")
    name = _Text()
    prizes = _many(_PrizeSchema)

    @validates_schema(skip_on_field_errors=False)
    def _ranks_are_a_ladder(self, data: dict[str, Any], **kwargs: Any) -> None:
        ranks = [prize.get("rank") for prize in data.get("prizes", [])]
        if None not in ranks and ranks != list(range(1, len(ranks) + 1)):
            raise ValidationError({"prizes": [f"Ranks must be 1..n in order, got {ranks}."]})


class _TargetSchema(_Strict):
    code = _one_of(TARGET_CODES)
    name = _Text()
    threshold = _Percent(required=True)


class _DocumentSchema(_Strict):
    code = _code(_IDENTIFIER, "to_trinh")
    name = _Text()


class _RulesSchema(_Strict):
    targets_required = _one_of(("all", "any"))
    zero_total_meets_target = _Flag(required=True)
    ranking_keys = fields.List(
        fields.String(validate=validate.OneOf(RANKING_KEYS)), required=True, validate=validate.Length(min=1)
    )
    tie_policy = _one_of(("council", "share"))
    prizes_never_exceed_qualifying = _Flag(required=True)
    deadline_end_of_day = _Flag(required=True)

    @validates_schema(skip_on_field_errors=False)
    def _keys_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        keys = data.get("ranking_keys", [])
        if len(set(keys)) != len(keys):
            raise ValidationError({"ranking_keys": ["Each ranking key may appear only once."]})


class _IndividualsSchema(_Strict):
    per_winning_unit = _count(required=True)
    max_total = _count(required=True)
    award = _Text()
    legal_basis = _Text()
    base_salary = _count(required=True)
    multiplier = _Ratio(required=True, validate=validate.Range(min=0))
    round_up_to = _count(1, required=True)


class _CouncilMemberSchema(_Strict):
    id = _code(_SLUG, "chu-tich")
    name = _Text()
    position = _Text()
    unit = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(_SLUG))


class _CouncilSchema(_Strict):
    quorum = _Ratio(required=True, validate=validate.Range(min=0, max=1, min_inclusive=False))
    majority = _Ratio(required=True, validate=validate.Range(min=0, max=1, max_inclusive=False))
    members = fields.List(fields.Nested(_CouncilMemberSchema), load_default=list)


class _CampaignSchema(_Strict):
    code = _code(_SLUG, "chau-thanh-2021")
    name = _Text()
    organiser = _Text()
    year = fields.Integer(strict=True, required=True, validate=validate.Range(min=2000, max=2999))
    timezone = _Timezone(required=True)
    data_window_start = _Day(required=True)
    data_window_end = _Day(required=True)
    dossier_deadline = _Day(required=True)
    proposal_deadline = _Day(required=True)
    tracks = _many(_TrackSchema, validate=validate.Length(min=1))
    units = _many(_UnitSchema, validate=validate.Length(min=1))
    targets = _many(_TargetSchema)
    documents = _many(_DocumentSchema)
    rules = fields.Nested(_RulesSchema, required=True)
    individuals = fields.Nested(_IndividualsSchema, required=True)
    council = fields.Nested(_CouncilSchema, required=True)
    amount_words_style = _one_of(("south", "north"))
    funding = _Text()

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Runs despite field errors (on whatever did load) so that one pass reports every problem."""
        errors: dict[str, list[str]] = {}
        _check_dates(data, errors)
        for section in ("tracks", "units", "targets", "documents"):
            _check_unique(data.get(section, []), section, "code", errors)
        _check_unique(data.get("units", []), "units", "name", errors)
        _check_unit_tracks(data, errors)
        if errors:
            raise ValidationError(errors)


def _check_dates(data: Mapping[str, Any], errors: dict[str, list[str]]) -> None:
    start, end = data.get("data_window_start"), data.get("data_window_end")
    dossier, proposal = data.get("dossier_deadline"), data.get("proposal_deadline")
    if start and end and start > end:
        errors.setdefault("data_window_end", []).append("Must not be before data_window_start.")
    for key, deadline in (("dossier_deadline", dossier), ("proposal_deadline", proposal)):
        if end and deadline and deadline <= end:
            errors.setdefault(key, []).append("Must be after data_window_end.")
    if dossier and proposal and dossier > proposal:
        errors.setdefault("proposal_deadline", []).append("Must not be before dossier_deadline.")


def _check_unique(items: list[dict[str, Any]], section: str, key: str, errors: dict[str, list[str]]) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        value = item.get(key)
        if value is None:
            continue
        if value in seen:
            message = f"Duplicate {key} {value!r} (already used by {section}.{seen[value]})."
            errors.setdefault(f"{section}.{index}.{key}", []).append(message)
        seen.setdefault(value, index)


def _check_unit_tracks(data: Mapping[str, Any], errors: dict[str, list[str]]) -> None:
    if "tracks" not in data:
        return
    codes = [track["code"] for track in data["tracks"] if "code" in track]
    for index, unit in enumerate(data.get("units", [])):
        if "track" in unit and unit["track"] not in codes:
            errors.setdefault(f"units.{index}.track", []).append(f"Must be one of: {', '.join(codes)}.")


# --- building the model ----------------------------------------------------------------------------------


def _build(data: dict[str, Any]) -> Campaign:
    """Dataclasses are built only after the whole file validated, so validators never see half-built data."""
    tracks = tuple(_build_track(track) for track in data["tracks"])
    rules = data["rules"]
    return Campaign(
        **{key: data[key] for key in _SCALARS},
        tracks=tracks,
        units=tuple(Unit(**{**unit, "aliases": tuple(unit["aliases"])}) for unit in data["units"]),
        targets=tuple(Target(**target) for target in data["targets"]),
        documents=tuple(DocumentKind(**document) for document in data["documents"]),
        rules=Rules(**{**rules, "ranking_keys": tuple(rules["ranking_keys"])}),
        individuals=Individuals(**data["individuals"]),
        council=Council(
            quorum=data["council"]["quorum"],
            majority=data["council"]["majority"],
            members=tuple(CouncilMember(**member) for member in data["council"]["members"]),
        ),
    )


_SCALARS = (
    "code",
    "name",
    "organiser",
    "year",
    "timezone",
    "data_window_start",
    "data_window_end",
    "dossier_deadline",
    "proposal_deadline",
    "amount_words_style",
    "funding",
)


def _build_track(data: dict[str, Any]) -> Track:
    prizes = tuple(Prize(**prize) for prize in data["prizes"])
    return Track(code=data["code"], name=data["name"], prizes=prizes)


# --- loading ---------------------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CampaignError(path, {"_toml": [f"Not valid UTF-8 TOML: {exc}"]}) from exc


def load_campaign(path: Path) -> Campaign:
    """Read and validate one campaign file; a missing file raises the usual OSError."""
    raw = _read_toml(path)
    try:
        data = _CampaignSchema().load(raw)
    except ValidationError as exc:
        raise CampaignError(path, _flatten(exc.messages)) from exc
    return _build(cast(dict[str, Any], data))


def load_campaigns(extra_dir: Path | None = None) -> dict[str, Campaign]:
    """The shipped campaigns plus a deployment's own; a code may be defined only once across both."""
    if extra_dir is not None and not extra_dir.is_dir():
        raise CampaignError(extra_dir, {"_dir": ["Not a directory."]})
    paths = sorted(CAMPAIGN_DIR.glob("*.toml"))
    if extra_dir is not None:
        paths += sorted(extra_dir.glob("*.toml"))
    campaigns: dict[str, Campaign] = {}
    origins: dict[str, Path] = {}
    for path in paths:
        campaign = load_campaign(path)
        if campaign.code in campaigns:
            message = f"Duplicate campaign code {campaign.code!r}: already defined in {origins[campaign.code]}."
            raise CampaignError(path, {"code": [message]})
        campaigns[campaign.code] = campaign
        origins[campaign.code] = path
    return campaigns


@cache
def default_campaign() -> Campaign:
    """Cached because the campaign is immutable and read on many requests."""
    return load_campaign(CAMPAIGN_DIR / f"{DEFAULT_CAMPAIGN}.toml")
