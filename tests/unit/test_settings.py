import dataclasses
from pathlib import Path

import pytest

from shared.settings import PREFIX, SETTINGS, Setting, Settings, SettingsError

# One value per setting that differs from its default, and the field value it must become.
OVERRIDES: dict[str, tuple[str, object]] = {
    "DATA_DIR": ("/srv/thidua", Path("/srv/thidua")),
    "DATABASE_URL": (
        "postgresql+psycopg://thidua@db/{service}",
        "postgresql+psycopg://thidua@db/{service}",
    ),
    "BROKER_URL": ("amqp://guest:guest@rabbit:5672//", "amqp://guest:guest@rabbit:5672//"),
    "BUS_NAMESPACE": ("thidua-staging", "thidua-staging"),
    "SECRET_KEY": ("k" * 40, "k" * 40),
    "TOKEN_HOURS": ("1.5", 1.5),
    "NOW": ("2021-12-01T09:00", "2021-12-01T09:00"),
    "CLOCK_FILE": ("/etc/thidua/clock", Path("/etc/thidua/clock")),
    "CAMPAIGNS_DIR": ("/etc/thidua/campaigns", Path("/etc/thidua/campaigns")),
    "DOCUMENTS_DIR": ("/mnt/shared/documents", Path("/mnt/shared/documents")),
    "MAX_UPLOAD_BYTES": ("1048576", 1_048_576),
    "CONSUMER_PREFETCH": ("4", 4),
    "CONSUMER_BATCH": ("16", 16),
    "RETRY_ATTEMPTS": ("9", 9),
    "RETRY_BACKOFF_SECONDS": ("0", 0.0),
    "RETRY_BACKOFF_MAX_SECONDS": ("120.5", 120.5),
    "OUTBOX_POLL_SECONDS": ("0.25", 0.25),
    "OUTBOX_BATCH": ("50", 50),
    "HOST": ("0.0.0.0", "0.0.0.0"),
    "PORT": ("9000", 9000),
    "WORKERS": ("8", 8),
    "LOG_LEVEL": ("DEBUG", "DEBUG"),
    "API_URL": ("http://proxy.internal/", "http://proxy.internal"),
    "SESSION_HOURS": ("4", 4.0),
    "SIGNIN_ATTEMPTS": ("3", 3),
    "SIGNIN_LOCK_MINUTES": ("30", 30.0),
}

FIELDS = [f.name for f in dataclasses.fields(Settings) if f.name != "overrides"]


def test_an_empty_environment_gives_the_defaults() -> None:
    settings = Settings.from_env({})

    assert settings == Settings(
        data_dir=Path("data"),
        database_url="sqlite:///{data_dir}/{service}.db",
        broker_url="memory://",
        bus_namespace="thidua",
        secret_key="",
        token_hours=12.0,
        now="",
        clock_file=None,
        campaigns_dir=None,
        documents_dir=Path("./data/documents"),
        max_upload_bytes=20 * 1024 * 1024,
        consumer_prefetch=64,
        consumer_batch=32,
        retry_attempts=5,
        retry_backoff_seconds=0.5,
        retry_backoff_max_seconds=30.0,
        outbox_poll_seconds=1.0,
        outbox_batch=200,
        host="127.0.0.1",
        port=8000,
        workers=2,
        log_level="INFO",
        api_url="",
        session_hours=8.0,
        signin_attempts=5,
        signin_lock_minutes=15.0,
    )
    assert isinstance(settings.port, int)
    assert isinstance(settings.token_hours, float)


def test_variables_without_the_prefix_are_ignored() -> None:
    assert Settings.from_env({"PORT": "1", "DATA_DIR": "/elsewhere", "thidua_port": "2"}) == Settings.from_env({})


def test_the_override_table_covers_every_setting() -> None:
    assert set(OVERRIDES) == {setting.name for setting in SETTINGS}


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_every_variable_overrides_its_field(setting: Setting) -> None:
    value, expected = OVERRIDES[setting.name]
    assert value != setting.default

    settings = Settings.from_env({PREFIX + setting.name: value})

    assert getattr(settings, setting.name.lower()) == expected
    assert getattr(settings, setting.name.lower()) != getattr(Settings.from_env({}), setting.name.lower())
    follows = {"DATA_DIR": {"documents_dir"}}.get(setting.name, set())  # defaults derived from this setting
    others = [name for name in FIELDS if name != setting.name.lower() and name not in follows]
    assert [getattr(settings, n) for n in others] == [getattr(Settings.from_env({}), n) for n in others]


def test_the_log_level_is_upper_cased() -> None:
    assert Settings.from_env({"THIDUA_LOG_LEVEL": "warning"}).log_level == "WARNING"


def test_the_data_dir_expands_the_home_folder() -> None:
    assert Settings.from_env({"THIDUA_DATA_DIR": "~/thidua"}).data_dir == Path("~/thidua").expanduser()


def test_an_empty_campaigns_dir_means_none() -> None:
    assert Settings.from_env({"THIDUA_CAMPAIGNS_DIR": ""}).campaigns_dir is None


def test_keyword_overrides_win_over_the_environment() -> None:
    environ = {"THIDUA_PORT": "9000", "THIDUA_HOST": "0.0.0.0", "THIDUA_DATA_DIR": "/srv/thidua"}

    settings = Settings.from_env(environ, port=9100, data_dir=Path("/tmp/other"), token_hours=2)

    assert settings.port == 9100
    assert settings.data_dir == Path("/tmp/other")
    assert settings.token_hours == 2.0
    assert settings.host == "0.0.0.0"


def test_none_overrides_are_ignored() -> None:
    settings = Settings.from_env({"THIDUA_PORT": "9000"}, port=None, host=None, campaigns_dir=None)

    assert settings.port == 9000
    assert settings.host == "127.0.0.1"
    assert settings.campaigns_dir is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOKEN_HOURS", "twelve"),
        ("TOKEN_HOURS", ""),
        ("MAX_UPLOAD_BYTES", "20MB"),
        ("MAX_UPLOAD_BYTES", "1e6"),
        ("CONSUMER_PREFETCH", "1.5"),
        ("RETRY_ATTEMPTS", "năm"),
        ("RETRY_BACKOFF_SECONDS", "0,5"),
        ("RETRY_BACKOFF_MAX_SECONDS", "30s"),
        ("OUTBOX_POLL_SECONDS", "every second"),
        ("OUTBOX_BATCH", ""),
        ("PORT", "http"),
        ("WORKERS", "two"),
    ],
)
def test_a_value_that_is_not_a_number_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{PREFIX}{name}={value!r} is not a"):
        Settings.from_env({PREFIX + name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOKEN_HOURS", "0"),
        ("TOKEN_HOURS", "0.001"),
        ("MAX_UPLOAD_BYTES", "0"),
        ("CONSUMER_PREFETCH", "0"),
        ("RETRY_ATTEMPTS", "0"),
        ("RETRY_BACKOFF_SECONDS", "-0.1"),
        ("RETRY_BACKOFF_MAX_SECONDS", "-1"),
        ("OUTBOX_POLL_SECONDS", "0"),
        ("OUTBOX_BATCH", "0"),
        ("PORT", "-1"),
        ("WORKERS", "0"),
    ],
)
def test_a_value_below_the_minimum_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"{PREFIX}{name}={value!r} must be at least"):
        Settings.from_env({PREFIX + name: value})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TOKEN_HOURS", "0.01", 0.01),
        ("RETRY_BACKOFF_SECONDS", "0", 0.0),
        ("PORT", "0", 0),
        ("WORKERS", "1", 1),
        ("OUTBOX_POLL_SECONDS", "0.01", 0.01),
    ],
)
def test_a_value_at_the_minimum_is_accepted(name: str, value: str, expected: float) -> None:
    assert getattr(Settings.from_env({PREFIX + name: value}), name.lower()) == expected


def test_a_bad_keyword_override_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="THIDUA_WORKERS='0' must be at least 1"):
        Settings.from_env({}, workers=0)


@pytest.mark.parametrize("name", ["TOKEN_HOURS", "RETRY_BACKOFF_SECONDS", "OUTBOX_POLL_SECONDS"])
def test_nan_is_refused_as_not_a_number(name: str) -> None:
    with pytest.raises(SettingsError, match=f"{PREFIX}{name}"):
        Settings.from_env({PREFIX + name: "nan"})


# --- derived values --------------------------------------------------------


def test_database_url_for_fills_in_the_service_and_the_absolute_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"THIDUA_DATA_DIR": str(tmp_path)})

    assert settings.database_url_for("intake") == f"sqlite:///{tmp_path.resolve().as_posix()}/intake.db"
    assert settings.database_url_for("audit") == f"sqlite:///{tmp_path.resolve().as_posix()}/audit.db"


def test_database_url_for_resolves_a_relative_data_dir() -> None:
    url = Settings.from_env({}).database_url_for("review")

    assert url == f"sqlite:///{Path('data').resolve().as_posix()}/review.db"
    assert "{" not in url


def test_database_url_for_a_server_names_one_database_per_service() -> None:
    settings = Settings.from_env({"THIDUA_DATABASE_URL": "postgresql+psycopg://thidua@db:5432/thidua_{service}"})

    assert settings.database_url_for("awards") == "postgresql+psycopg://thidua@db:5432/thidua_awards"


@pytest.mark.parametrize(
    ("url", "volatile"),
    [
        ("memory://", True),
        ("memory://thidua", True),
        ("amqp://guest:guest@127.0.0.1:5672//", False),
        ("pyamqp://rabbit//", False),
    ],
)
def test_broker_is_volatile_only_in_memory(url: str, volatile: bool) -> None:
    assert Settings.from_env({"THIDUA_BROKER_URL": url}).broker_is_volatile is volatile


def test_with_changes_replaces_fields_and_keeps_the_rest() -> None:
    settings = Settings.from_env({})

    changed = settings.with_changes(port=9999)

    assert changed.port == 9999
    assert settings.port == 8000
    assert dataclasses.replace(changed, port=8000) == settings


# --- the table and the dataclass agree ---------------------------------------


def test_every_setting_is_a_field_and_every_field_is_a_setting() -> None:
    assert sorted(s.name.lower() for s in SETTINGS) == sorted(FIELDS)
    assert len({s.name for s in SETTINGS}) == len(SETTINGS)


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_every_setting_is_named_in_capitals_and_explained(setting: Setting) -> None:
    assert setting.name == setting.name.upper()
    assert not setting.name.startswith(PREFIX)
    assert setting.help.strip()


def test_a_misspelled_keyword_override_is_refused_rather_than_ignored() -> None:
    with pytest.raises(TypeError, match="PROT"):
        Settings.from_env({}, prot=1)


def test_the_documents_live_in_the_data_folder_unless_told_otherwise() -> None:
    assert Settings.from_env({"THIDUA_DATA_DIR": "/srv/thidua"}).documents_dir == Path("/srv/thidua/documents")
