"""The error hierarchy: every failure a user can see, each mapped once to an HTTP status,
an OpenAI error type and a CLI exit code."""

from __future__ import annotations


class FmstackError(Exception):
    """Base class. `status` is the HTTP status, `type` the OpenAI error type."""

    status = 500
    type = "server_error"
    code: str | None = None
    exit_code = 1

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def to_openai(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidInput(FmstackError):
    status = 400
    type = "invalid_request_error"
    exit_code = 2


class ContextLengthExceeded(InvalidInput):
    code = "context_length_exceeded"


class PayloadTooLarge(InvalidInput):
    status = 413
    code = "payload_too_large"


class Unauthorized(FmstackError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"
    exit_code = 3


class Forbidden(FmstackError):
    """The caller is known but may not do this (a role too low, a policy that refuses a path or URL)."""

    status = 403
    type = "permission_error"
    code = "forbidden"
    exit_code = 3


class RateLimited(FmstackError):
    """A key's requests or tokens per minute, or its monthly budget, are spent; `retry_after` in s."""

    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"
    exit_code = 6

    def __init__(self, message: str, *, retry_after: int = 1, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))


class NotFound(FmstackError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"
    exit_code = 4


class ModelNotFound(NotFound):
    code = "model_not_found"


class ConfigError(FmstackError):
    """Configuration that cannot work as written (missing API key, bad config file)."""

    status = 500
    type = "configuration_error"
    code = "configuration_error"
    exit_code = 5


class Busy(FmstackError):
    status = 429
    type = "rate_limit_error"
    code = "queue_full"
    exit_code = 6


class ModelError(FmstackError):
    """The model or its provider failed while answering."""

    status = 500
    type = "server_error"
    code = "model_error"
    exit_code = 7


class ProviderUnavailable(ModelError):
    status = 503
    code = "provider_unavailable"
