import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from flask import Flask, g, jsonify
from flask.testing import FlaskClient

from shared.auth import ISSUER, ROLES, Principal, TokenAuthority, requires
from shared.clock import FixedClock, SystemClock
from shared.events import Actor
from shared.problems import Problem

KEY = "khoa-ky-thu-nghiem-32-ky-tu-0123"
OTHER_KEY = "mot-khoa-khac-cung-du-32-ky-tu-9"
START = datetime(2021, 12, 1, 2, 0, tzinfo=UTC)

REVIEWER = Principal(id="reviewer-1", name="Trần Thị B", roles=frozenset({"reviewer"}))
CLERK = Principal(id="clerk-1", name="Nguyễn Văn A", roles=frozenset({"unit_clerk"}), unit="hoa-tan")
HEAD = Principal(id="head-1", name="Lê Văn C", roles=frozenset({"review_head", "reviewer", "auditor"}))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def authority(clock: FixedClock) -> TokenAuthority:
    return TokenAuthority(KEY, clock, hours=12)


def problem_of(authority: TokenAuthority, token: str) -> Problem:
    with pytest.raises(Problem) as raised:
        authority.verify(token)
    return raised.value


def claims(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "iss": ISSUER,
        "sub": "reviewer-1",
        "name": "Trần Thị B",
        "roles": ["reviewer"],
        "unit": None,
        "iat": int(START.timestamp()),
        "exp": int((START + timedelta(hours=12)).timestamp()),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- tokens ----------------------------------------------------------------


@pytest.mark.parametrize("principal", [REVIEWER, CLERK, HEAD], ids=["reviewer", "clerk", "several roles"])
def test_a_verified_token_gives_back_the_principal_it_was_issued_for(
    authority: TokenAuthority, principal: Principal
) -> None:
    assert authority.verify(authority.issue(principal)) == principal


def test_a_token_carries_the_person_and_signs_with_hs256(authority: TokenAuthority) -> None:
    token = authority.issue(CLERK)

    header = jwt.get_unverified_header(token)
    body = jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False}, issuer=ISSUER)
    assert header["alg"] == "HS256"
    assert body["sub"] == "clerk-1"
    assert body["name"] == "Nguyễn Văn A"
    assert body["roles"] == ["unit_clerk"]
    assert body["unit"] == "hoa-tan"
    assert body["iat"] == int(START.timestamp())
    assert body["exp"] == int((START + timedelta(hours=12)).timestamp())


def test_a_token_is_valid_until_its_hours_are_up_on_the_injected_clock(
    authority: TokenAuthority, clock: FixedClock
) -> None:
    token = authority.issue(REVIEWER)

    clock.advance(timedelta(hours=12))
    assert authority.verify(token) == REVIEWER

    clock.advance(timedelta(seconds=1))
    problem = problem_of(authority, token)
    assert problem.status == 401
    assert problem.code == "token_expired"
    assert not problem.detail.isascii()


def test_issue_can_shorten_the_life_of_one_token(authority: TokenAuthority, clock: FixedClock) -> None:
    token = authority.issue(REVIEWER, hours=1)

    clock.advance(timedelta(hours=1, seconds=1))

    assert problem_of(authority, token).code == "token_expired"


def test_a_token_issued_in_2021_verifies_while_the_clock_says_2021(authority: TokenAuthority) -> None:
    token = authority.issue(REVIEWER)

    assert authority.verify(token) == REVIEWER
    # The wall clock is years past its expiry: only the injected clock is asked.
    assert problem_of(TokenAuthority(KEY, SystemClock()), token).code == "token_expired"


def test_a_token_issued_after_the_clock_was_set_back_is_judged_by_the_new_time(
    authority: TokenAuthority, clock: FixedClock
) -> None:
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    token = authority.issue(REVIEWER)
    clock.set(START)

    assert authority.verify(token) == REVIEWER


def _tampered_claims(token: str) -> str:
    header, _, signature = token.split(".")
    return ".".join([header, _b64(claims(roles=["admin"])), signature])


def _tampered_signature(token: str) -> str:
    head, _, signature = token.rpartition(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{head}.{flipped}"


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: jwt.encode(claims(), OTHER_KEY, algorithm="HS256"),
        _tampered_claims,
        _tampered_signature,
        lambda token: token[:-8],
        lambda token: "rác",
        lambda token: "not.a.token",
        lambda token: "",
        lambda token: jwt.encode(claims(), None, algorithm="none"),
        lambda token: jwt.encode(claims(iss="someone-else"), KEY, algorithm="HS256"),
        lambda token: jwt.encode(claims(iss=...), KEY, algorithm="HS256"),
        lambda token: jwt.encode(claims(sub=...), KEY, algorithm="HS256"),
        lambda token: jwt.encode(claims(exp=...), KEY, algorithm="HS256"),
        lambda token: jwt.encode(claims(roles=...), KEY, algorithm="HS256"),
    ],
    ids=[
        "another key",
        "tampered claims",
        "tampered signature",
        "truncated",
        "garbage",
        "three dots of garbage",
        "empty",
        "unsigned",
        "another issuer",
        "no issuer",
        "no subject",
        "no expiry",
        "no roles",
    ],
)
def test_a_token_not_signed_as_ours_is_invalid(authority: TokenAuthority, forge) -> None:
    problem = problem_of(authority, forge(authority.issue(REVIEWER)))

    assert problem.status == 401
    assert problem.code == "invalid_token"
    assert problem.detail == "Mã truy cập không hợp lệ."


def test_a_token_signed_with_our_key_by_hand_is_accepted(authority: TokenAuthority) -> None:
    # The forgeries above differ from this one only in what they break.
    assert authority.verify(jwt.encode(claims(), KEY, algorithm="HS256")) == REVIEWER


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        (Principal("x", "X", frozenset({"reviewer", "superuser"})), "unknown roles: superuser"),
        (Principal("x", "X", frozenset({"Reviewer"})), "unknown roles: Reviewer"),
        (Principal("x", "X", frozenset()), "unknown roles: none given"),
        (Principal("x", "X", frozenset({"unit_clerk"})), "a unit clerk needs a unit"),
        (Principal("x", "X", frozenset({"unit_clerk"}), unit=""), "a unit clerk needs a unit"),
        (Principal("x", "X", frozenset({"unit_clerk", "auditor"})), "a unit clerk needs a unit"),
    ],
    ids=["unknown role", "wrong case", "no roles", "clerk without unit", "clerk with empty unit", "clerk and more"],
)
def test_issue_refuses_a_principal_it_cannot_vouch_for(
    authority: TokenAuthority, principal: Principal, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        authority.issue(principal)


@pytest.mark.parametrize("role", ROLES)
def test_every_known_role_can_be_issued(authority: TokenAuthority, role: str) -> None:
    principal = Principal("x", "X", frozenset({role}), unit="hoa-tan")

    assert authority.verify(authority.issue(principal)).roles == {role}


@pytest.mark.parametrize("key", ["", "ngắn", "k" * 31])
def test_a_signing_key_shorter_than_32_characters_is_refused(clock: FixedClock, key: str) -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        TokenAuthority(key, clock)


def test_a_signing_key_of_32_characters_is_enough(clock: FixedClock) -> None:
    authority = TokenAuthority("k" * 32, clock)

    assert authority.verify(authority.issue(REVIEWER)) == REVIEWER


# --- principals ------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "role"),
    [
        (("review_head", "reviewer"), "review_head"),
        (("reviewer", "review_head"), "reviewer"),
        (("council_chair", "auditor", "reviewer"), "auditor"),
        (("admin", "reviewer"), "reviewer"),
    ],
)
def test_the_actor_takes_the_first_allowed_role_the_person_has(allowed: tuple[str, ...], role: str) -> None:
    assert HEAD.actor(allowed) == Actor(id="head-1", name="Lê Văn C", role=role, unit=None)


def test_the_actor_keeps_the_unit_of_the_person() -> None:
    assert CLERK.actor(iter(["unit_clerk"])) == Actor(
        id="clerk-1", name="Nguyễn Văn A", role="unit_clerk", unit="hoa-tan"
    )


def test_has_any_tells_whether_the_roles_meet() -> None:
    assert HEAD.has_any(["admin", "auditor"])
    assert not HEAD.has_any(["admin", "unit_clerk"])
    assert not HEAD.has_any([])


# --- the requires decorator ------------------------------------------------


@pytest.fixture
def client(authority: TokenAuthority) -> FlaskClient:
    app = Flask("test_auth")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.register_error_handler(Problem, lambda err: err.response())
    app.extensions["thidua.tokens"] = authority

    @app.get("/reviews")
    @requires("reviewer", "review_head")
    def reviews():
        return jsonify(g.actor.as_dict())

    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["code"] == code
    assert not body["detail"].isascii()
    return body


def test_no_token_is_answered_401_missing_token_with_a_bearer_challenge(client: FlaskClient) -> None:
    response = client.get("/reviews")

    body = assert_problem(response, 401, "missing_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "đăng nhập" in body["detail"]
    assert body["title"] == "Chưa đăng nhập"


@pytest.mark.parametrize(
    "header",
    ["Basic cmV2aWV3ZXI6bWF0LWtoYXU=", "Token abc.def.ghi", "Bearer", "Bearer    ", "abc.def.ghi", ""],
    ids=["basic", "other scheme", "scheme only", "scheme and blanks", "token without scheme", "empty"],
)
def test_a_header_without_a_bearer_token_is_answered_401(client: FlaskClient, header: str) -> None:
    response = client.get("/reviews", headers={"Authorization": header})

    assert_problem(response, 401, "missing_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_invalid_token_is_answered_401_invalid_token(client: FlaskClient) -> None:
    response = client.get("/reviews", headers=bearer(jwt.encode(claims(), OTHER_KEY, algorithm="HS256")))

    assert_problem(response, 401, "invalid_token")


def test_an_expired_token_is_answered_401_token_expired(
    client: FlaskClient, authority: TokenAuthority, clock: FixedClock
) -> None:
    token = authority.issue(REVIEWER)
    clock.advance(timedelta(hours=13))

    assert_problem(client.get("/reviews", headers=bearer(token)), 401, "token_expired")


def test_a_valid_token_with_another_role_is_answered_403_forbidden_role(
    client: FlaskClient, authority: TokenAuthority
) -> None:
    response = client.get("/reviews", headers=bearer(authority.issue(CLERK)))

    body = assert_problem(response, 403, "forbidden_role")
    assert body["title"] == "Không có quyền"
    assert "WWW-Authenticate" not in response.headers


def test_a_reviewer_token_reaches_the_route_as_its_actor(client: FlaskClient, authority: TokenAuthority) -> None:
    response = client.get("/reviews", headers=bearer(authority.issue(REVIEWER)))

    assert response.status_code == 200
    assert response.get_json() == {"id": "reviewer-1", "name": "Trần Thị B", "role": "reviewer", "unit": None}


def test_a_person_with_several_allowed_roles_acts_in_the_first_the_route_names(
    client: FlaskClient, authority: TokenAuthority
) -> None:
    response = client.get("/reviews", headers={"Authorization": f"bearer  {authority.issue(HEAD)} "})

    assert response.status_code == 200
    assert response.get_json()["role"] == "reviewer"


@pytest.mark.parametrize("roles", [("nonsense",), ("reviewer", "nonsense"), ("Reviewer",)])
def test_requires_refuses_unknown_roles_when_decorating(roles: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="unknown roles"):
        requires(*roles)


def test_requires_records_the_roles_on_the_view() -> None:
    @requires("auditor", "admin")
    def view() -> str:
        return "ok"

    assert view.required_roles == ("auditor", "admin")  # type: ignore[attr-defined]
    assert view.__name__ == "view"


@pytest.mark.parametrize("hours", [0, -1])
def test_issue_refuses_a_token_that_would_never_be_valid(authority: TokenAuthority, hours: float) -> None:
    with pytest.raises(ValueError, match="positive number of hours"):
        authority.issue(Principal("p", "Lê Văn C", frozenset({"auditor"})), hours)


def test_requires_refuses_a_route_that_allows_nobody() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        requires()
