"""The HTTP face of the services: one Flask app per service, mounted under its prefix in every process.

Each service app serves its routes, ``openapi.json`` (generated from the marshmallow schemas) and ``docs``
(Swagger UI, shipped with the package so it works offline). The process app mounts the service apps at
``/<service>`` and answers ``/healthz`` (alive) and ``/readyz`` (every database of the process answers; the broker
is reported beside them, see :class:`Readiness`).
The same apps run in ``thidua run`` and under gunicorn, so paths are the same in both modes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import swagger_ui_bundle
from flask import Flask, Request, Response, current_app, jsonify, request, send_from_directory
from flask_smorest import Api, Blueprint
from flask_smorest.utils import resolve_schema_instance
from marshmallow import Schema, fields
from sqlalchemy.engine import Engine
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.dispatcher import DispatcherMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

from shared.auth import TokenAuthority, requires
from shared.db import ConcurrentUpdate, database_ready, database_unreachable
from shared.problems import FieldMessage, Problem, validation_problem
from shared.service import ServiceRuntime
from shared.statemachine import IllegalTransition, RuleViolation
from shared.text import UNSTORABLE, storable, unstorable_fields, unstorable_parameters

log = logging.getLogger(__name__)


class _Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # invalid input is the client's mistake, answered as our 400 problem

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req) and req.get_data(cache=True):
            # A body the route cannot read (a form, text): said so, rather than answering that every field is missing.
            raise Problem(
                415, "unsupported_media_type", "Nội dung phải gửi dưới dạng JSON (Content-Type: application/json)."
            )
        try:
            document = super()._raw_load_json(req)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise  # webargs answers these itself: an empty body is no body, anything else is not JSON
        except (ValueError, RecursionError) as beyond:
            # JSON, but past what Python reads: an integer of thousands of digits, arrays nested thousands deep.
            self._handle_invalid_json_error(beyond, req)  # type: ignore[arg-type]
        # NUL and lone surrogates reach a JSON string only as \u escapes; a body without one needs no walk.
        if b"\\u" in req.get_data(cache=True):
            unstorable = {field: [UNSTORABLE] for field in unstorable_fields(document)}
            if unstorable:
                raise validation_problem(unstorable, "json")
        return document


class _PaginationParser(_Parser):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        parameters = super().parse(*args, **kwargs)
        if parameters.page > MAX_PAGE:
            # Far past any list's end, and past the offset a database can hold: refused rather than looked up.
            raise validation_problem(
                {"page": [FieldMessage("too_large", f"Phải nhỏ hơn hoặc bằng {MAX_PAGE}.")]}, "query"
            )
        return parameters


MAX_PAGE = 1_000_000
"""The last page a list route serves (at most 100 items a page)."""


class ServiceBlueprint(Blueprint):
    """The blueprint every service uses: its input errors are 400 problems, and its OpenAPI says so."""

    ARGUMENTS_PARSER = _Parser()
    PAGINATION_ARGUMENTS_PARSER = _PaginationParser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """Parse with one instance of the schema per route: given a class, webargs would build it, and each of its
        nested schemas, again for every request (schemas keep no state between loads, so threads share one)."""
        return super().arguments(resolve_schema_instance(schema), *args, **kwargs)


class _FieldError(Schema):
    code = fields.String()
    message = fields.String()


class ProblemSchema(Schema):
    """application/problem+json: a stable English ``code``, a Vietnamese ``detail``, field errors when invalid."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    code = fields.String()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(_FieldError)))


class ProblemApi(Api):
    """flask-smorest, with every HTTP error answered (and documented) as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        data = getattr(error, "data", None) or {}
        if "messages" in data:
            # webargs: {"json": {"field": [...]}} — one location per request in this API.
            location, messages = next(iter(data["messages"].items()))
            return validation_problem(messages, location).response()
        return Problem(
            error.code or 500,
            _HTTP_CODES.get(error.code or 500, "http_error"),
            _HTTP_DETAILS.get(error.code or 500, error.description or ""),
        ).response()


class _OutboxCounts(Schema):
    committed = fields.Integer(metadata={"description": "events written by the service's transactions"})
    sent = fields.Integer(metadata={"description": "of those, published to the broker"})
    pending = fields.Integer(metadata={"description": "committed, not yet published"})


class BusCountsSchema(Schema):
    """What one service has put on the bus and taken from it."""

    outbox = fields.Nested(_OutboxCounts)
    inbox = fields.Integer(metadata={"description": "events received and applied (each once)"})
    dead_letters = fields.Raw(
        metadata={
            "description": "messages waiting in the service's dead-letter queue, or why the broker could not say",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
        }
    )


def _bus_blueprint() -> ServiceBlueprint:
    """The operators' route every service has; built per app, since each app documents it under its own name."""
    blueprint = ServiceBlueprint("bus", __name__, url_prefix="/", description="Sự kiện trên bus (vận hành)")

    @blueprint.get("/bus")
    @requires("admin", "auditor")
    @blueprint.response(200, BusCountsSchema)
    def bus_counts() -> dict[str, object]:
        """Số sự kiện: the service's outbox (committed, sent, pending), the events it applied (inbox) and the
        messages in its dead-letter queue — to see at a glance whether anything is stuck."""
        return current_runtime().bus_counts()

    return blueprint


def current_runtime() -> ServiceRuntime:
    """The runtime of the service whose request this is."""
    runtime: ServiceRuntime = current_app.extensions["thidua.runtime"]
    return runtime


def create_service_app(runtime: ServiceRuntime, tokens: TokenAuthority) -> Flask:
    spec = runtime.spec
    app = Flask(f"thidua.{spec.name}")
    app.config.update(
        API_TITLE=spec.title,
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"/{spec.name}/swagger-ui/",
        MAX_CONTENT_LENGTH=runtime.settings.max_upload_bytes + 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    api = ProblemApi(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
            "security": [{"bearer": []}],
            "servers": [{"url": f"/{spec.name}"}],
        },
    )
    app.extensions["thidua.runtime"] = runtime
    app.extensions["thidua.tokens"] = tokens
    if spec.setup is not None:
        spec.setup(app, runtime)
    api.register_blueprint(spec.blueprint)
    api.register_blueprint(_bus_blueprint())
    app.before_request(_refuse_unstorable_addresses)
    _register_errors(app)

    @app.get("/swagger-ui/<path:filename>")
    def swagger_ui(filename: str) -> Response:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    return app


def _refuse_unstorable_addresses() -> None:
    """An id in the path or a filter in the query that no database can hold (a NUL, sent as ``%00``) is refused
    here, before a route looks it up."""
    if not storable(request.path):
        raise validation_problem({"_schema": [UNSTORABLE]}, "path")
    unstorable = unstorable_parameters(request.args.items(multi=True))
    if unstorable:
        raise validation_problem({name: [UNSTORABLE] for name in unstorable}, "query")


def _register_errors(app: Flask) -> None:
    app.register_error_handler(Problem, lambda err: err.response())
    app.register_error_handler(
        RuleViolation, lambda err: Problem(err.status, err.code, err.detail, **err.extra).response()
    )
    app.register_error_handler(
        IllegalTransition,
        lambda err: Problem(
            409,
            err.code,
            err.detail,
            state=err.state,
            trigger=err.trigger,
            allowed=err.allowed,
        ).response(),
    )
    app.register_error_handler(
        ConcurrentUpdate,
        lambda err: Problem(
            409, err.code, "Hồ sơ vừa được người khác thay đổi; vui lòng tải lại rồi thử lại."
        ).response(),
    )

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Response:
        if isinstance(err, HTTPException):
            return ProblemApi.handle_http_exception(None, err)  # type: ignore[arg-type]
        if database_unreachable(err):
            # Not the request's fault and not a bug: the same request can be tried again once the database is back.
            log.warning("database unavailable on %s %s: %s", request.method, request.script_root + request.path, err)
            response = Problem(
                503, "database_unavailable", "Cơ sở dữ liệu tạm thời không truy cập được; vui lòng thử lại sau ít phút."
            ).response()
            response.headers["Retry-After"] = "5"
            return response
        log.exception("unhandled error on %s %s", request.method, request.script_root + request.path)
        return Problem(500, "internal_error", _HTTP_DETAILS[500]).response()


@dataclass(frozen=True)
class Readiness:
    """What ``/readyz`` asks of a process: each database it serves from, by name, and the broker if it runs services.

    Without a database the process cannot answer its routes: it is ``unavailable`` (503), and a load balancer or
    Kubernetes sends its requests elsewhere until the database is back. Without the broker it can: its routes keep
    accepting changes and the outbox keeps their events until the broker is back. So a broker away is reported and
    leaves the process ready (``degraded``, 200). Failing readiness for it would take every API out of service at
    once, the very outage the outbox is there to prevent.
    """

    databases: Mapping[str, Engine]
    broker: Callable[[], str | None] | None = None

    def answer(self) -> tuple[dict[str, Any], int]:
        databases = {f"database:{name}": database_ready(engine) for name, engine in self.databases.items()}
        broker = {} if self.broker is None else {"broker": self.broker()}
        if any(databases.values()):
            status, code = "unavailable", 503
        else:
            status, code = ("degraded" if any(broker.values()) else "ready"), 200
        return {"status": status, "checks": {k: v or "ok" for k, v in {**databases, **broker}.items()}}, code


def create_process_app(
    runtimes: Sequence[ServiceRuntime],
    tokens: TokenAuthority,
    readiness: Readiness,
    root: Flask | None = None,
) -> Flask:
    """The WSGI app of one process: the services under their prefixes, and the health routes."""
    app = root or Flask("thidua")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok", services=[r.name for r in runtimes])

    @app.get("/readyz")
    def readyz() -> Any:
        body, status = readiness.answer()
        return jsonify(body), status

    mounts: dict[str, WSGIApplication] = {f"/{r.name}": create_service_app(r, tokens) for r in runtimes}
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, mounts)  # type: ignore[method-assign]
    return app


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    500: "internal_error",
}
_HTTP_DETAILS = {
    400: "Yêu cầu không hợp lệ.",
    404: "Không tìm thấy địa chỉ hoặc đối tượng được yêu cầu.",
    405: "Địa chỉ này không hỗ trợ phương thức được dùng.",
    413: "Dữ liệu gửi lên quá lớn.",
    415: "Loại dữ liệu gửi lên không được chấp nhận.",
    500: "Hệ thống gặp lỗi ngoài dự kiến; vui lòng thử lại sau.",
}
