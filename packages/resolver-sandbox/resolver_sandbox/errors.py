"""Errors in the shape grpc-gateway gives them: a gRPC code, its HTTP status and a message.

    SandboxError               any refusal; carries the gRPC code and the message
    ├── BadRequest             the body or a field is malformed (INVALID_ARGUMENT, 400)
    ├── NotFound               no such coupon, offer or campaign (NOT_FOUND, 404)
    └── Conflict               the external id already has a coupon (ALREADY_EXISTS, 409)

Handlers raise these; `error_response` turns any of them into the JSON body PassKit sends,
`{"code": 5, "message": "coupon not found", "details": []}`.
"""

from __future__ import annotations

from enum import IntEnum

from starlette.responses import JSONResponse


class GrpcCode(IntEnum):
    """The gRPC status codes the sandbox answers with."""

    CANCELLED = 1
    INVALID_ARGUMENT = 3
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    FAILED_PRECONDITION = 9
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    UNAUTHENTICATED = 16


# grpc-gateway's runtime.HTTPStatusFromCode for the codes above.
HTTP_STATUS: dict[GrpcCode, int] = {
    GrpcCode.CANCELLED: 499,
    GrpcCode.INVALID_ARGUMENT: 400,
    GrpcCode.NOT_FOUND: 404,
    GrpcCode.ALREADY_EXISTS: 409,
    GrpcCode.FAILED_PRECONDITION: 400,
    GrpcCode.UNIMPLEMENTED: 501,
    GrpcCode.INTERNAL: 500,
    GrpcCode.UNAVAILABLE: 503,
    GrpcCode.UNAUTHENTICATED: 401,
}


class SandboxError(Exception):
    """Raised for any request the sandbox refuses; answered as a grpc-gateway error body."""

    def __init__(self, code: GrpcCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BadRequest(SandboxError):
    """Raised when a body is not JSON, lacks a required field or has a field of the wrong type."""

    def __init__(self, message: str) -> None:
        super().__init__(GrpcCode.INVALID_ARGUMENT, message)


class NotFound(SandboxError):
    """Raised when the coupon, offer or campaign asked for does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(GrpcCode.NOT_FOUND, message)


class Conflict(SandboxError):
    """Raised when creating a coupon for an external id that already has one."""

    def __init__(self, message: str) -> None:
        super().__init__(GrpcCode.ALREADY_EXISTS, message)


def error_response(code: GrpcCode, message: str) -> JSONResponse:
    """The grpc-gateway error body for `code`, with the HTTP status it maps to."""
    return JSONResponse(
        {"code": int(code), "message": message, "details": []}, status_code=HTTP_STATUS[code]
    )


def sandbox_error_response(error: SandboxError) -> JSONResponse:
    """The error body for a raised `SandboxError`."""
    return error_response(error.code, error.message)
