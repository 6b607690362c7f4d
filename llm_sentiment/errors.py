"""Every error the service raises, split by who has to act on it.

    LLMSentimentError                      code                     exit
    ├── InputError           (the caller sent something we cannot use)
    │   ├── InputNotFoundError             input.not_found           10
    │   ├── EmptyInputError                input.empty               11
    │   ├── UnknownFormatError             input.unknown_format      12
    │   ├── EncodingError                  input.encoding            13
    │   ├── InvalidTranscriptError         input.invalid_transcript  14
    │   ├── OneRoleError                   input.one_role            15
    │   ├── RolesSpecError                 input.roles_spec          16
    │   ├── QuestionsFileError             input.questions           17
    │   ├── DatasetError                   input.dataset             70  (eval dataset)
    │   ├── EvalFileError                  input.eval_file           71  (eval thresholds, baseline results)
    │   ├── InputTooLargeError             input.too_large           18
    │   ├── InvalidParameterError          input.parameter           19  (a request field; ``field`` names it)
    │   ├── CallTooLongError               input.too_long            57  (one turn longer than a context window)
    │   ├── TokenLimitError                input.token_limit         58  (a synchronous text request over its limit)
    │   └── AudioError       (a recording we will not or cannot decode)
    │       ├── UnsupportedAudioError      audio.unsupported_format  50
    │       ├── PlaylistError              audio.playlist            51
    │       ├── AudioTooLargeError         audio.too_large           52
    │       ├── AudioTooLongError          audio.too_long            53
    │       ├── TooManyChannelsError       audio.too_many_channels   54
    │       ├── DecodeFailedError          audio.decode_failed       55
    │       └── NoSpeechError              audio.no_speech           56
    ├── SetupError           (the installation or configuration needs fixing)
    │   ├── ModelMissingError              model.missing             20
    │   ├── ModelCorruptError              model.corrupt             21
    │   ├── ConfigError                    config.invalid            22
    │   ├── TemplateError                  prompt.invalid            23
    │   └── DependencyMissingError         setup.dependency          24  (an optional extra is not installed)
    ├── ModelOutputError     (the LLM answered, but not usefully)
    │   ├── InvalidAnswerError             llm.invalid_answer        30
    │   └── InvalidGrammarError            llm.grammar               31  (llama.cpp cannot parse the answer's grammar)
    ├── NativeCrashError                   native.crashed            45  (llama.cpp, CTranslate2 or onnxruntime died
    │                                                                     in its child process: one request fails)
    ├── ProviderError        (the LLM could not be reached; fallback models are tried)
    │   ├── ProviderTimeoutError           llm.timeout               40
    │   ├── ProviderRateLimitError         llm.rate_limited          41
    │   ├── ProviderUnavailableError       llm.unavailable           42
    │   ├── ProviderRejectedError          llm.rejected              43  (4xx other than 429: no fallback)
    │   └── AllModelsFailedError           llm.all_failed            44
    ├── ServiceError         (the HTTP service refused a request, or a job could not run)
    │   ├── UnauthorizedError              auth.unauthorized         60
    │   ├── ForbiddenError                 auth.forbidden            61
    │   ├── RateLimitedError               auth.rate_limited         62
    │   ├── JobNotFoundError               job.not_found             63  (also another tenant's job)
    │   ├── JobNotReadyError               job.not_ready             64
    │   ├── JobFailedError                 job.failed                65
    │   ├── JobAbandonedError              job.abandoned             66  (its worker stopped too many times)
    │   ├── WorkerCrashedError             job.worker_crashed        74  (native code died running it, every attempt)
    │   ├── JobNotAnalyzedError            job.not_analyzed          69  (processed without full-analysis)
    │   ├── IdempotencyConflictError       request.idempotency       67
    │   ├── QueueUnavailableError          queue.unavailable         68
    │   └── QueueFullError                 queue.full                73  (the synchronous LLM queue; Retry-After)
    └── QualityGateError     (an eval ran; its results are below the gate)
        └── BelowThresholdError            eval.below_threshold      72

Only ``ProviderError`` subclasses marked ``retryable`` trigger a fallback model: a bad request
or a malformed answer would fail the same way on the next model. Each class carries the HTTP status
the service answers it with (``http_status``, inherited where a class names none: 500 at the root);
a job that fails records its error's ``code``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LLMSentimentError(Exception):
    code: ClassVar[str] = "internal"
    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        if self.details:
            body["details"] = self.details
        return body

    @classmethod
    def rebuild(cls, message: str, *, hint: str | None, details: dict[str, Any]) -> LLMSentimentError:
        """The error from its parts, as another process raised it (whatever this class's constructor takes)."""
        error = cls.__new__(cls)
        LLMSentimentError.__init__(error, message, hint=hint, **details)
        for name, value in details.items():
            if name in ("field", "retry_after_s"):
                setattr(error, name, value)
        return error


def error_class(code: str) -> type[LLMSentimentError] | None:
    """The most specific error class with this code (a branch and its leaf may share one)."""
    found: type[LLMSentimentError] | None = None
    pending: list[type[LLMSentimentError]] = [LLMSentimentError]
    while pending:
        cls = pending.pop()
        if cls.code == code and (found is None or issubclass(cls, found)):
            found = cls
        pending.extend(cls.__subclasses__())
    return found


class InputError(LLMSentimentError):
    code = "input.invalid"
    exit_code = 14
    http_status = 400


class InputNotFoundError(InputError):
    code = "input.not_found"
    exit_code = 10


class EmptyInputError(InputError):
    code = "input.empty"
    exit_code = 11
    http_status = 422


class UnknownFormatError(InputError):
    code = "input.unknown_format"
    exit_code = 12
    http_status = 415


class EncodingError(InputError):
    code = "input.encoding"
    exit_code = 13
    http_status = 415


class InvalidTranscriptError(InputError):
    code = "input.invalid_transcript"
    exit_code = 14
    http_status = 422


class OneRoleError(InputError):
    code = "input.one_role"
    exit_code = 15
    http_status = 422


class RolesSpecError(InputError):
    code = "input.roles_spec"
    exit_code = 16


class QuestionsFileError(InputError):
    code = "input.questions"
    exit_code = 17
    http_status = 422


class DatasetError(InputError):
    code = "input.dataset"
    exit_code = 70


class EvalFileError(InputError):
    code = "input.eval_file"
    exit_code = 71


class InputTooLargeError(InputError):
    code = "input.too_large"
    exit_code = 18
    http_status = 413


class InvalidParameterError(InputError):
    """A request parameter we cannot use; ``field`` names it (``body.webhook_url``, ``query.view``)."""

    code = "input.parameter"
    exit_code = 19

    def __init__(self, field: str, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(f"{field}: {message}", hint=hint, field=field, **details)
        self.field = field


class CallTooLongError(InputError):
    code = "input.too_long"
    exit_code = 57


class TokenLimitError(InputError):
    """Synchronous requests (Deepgram's ``/v1/read``) must fit one context window; jobs are windowed instead."""

    code = "input.token_limit"
    exit_code = 58


class AudioError(InputError):
    """Checked before and while decoding: a recording is untrusted input like any other."""

    code = "audio.invalid"
    exit_code = 55


class UnsupportedAudioError(AudioError):
    code = "audio.unsupported_format"
    exit_code = 50
    http_status = 415


class PlaylistError(AudioError):
    """Playlists and manifests point the decoder at other files or URLs; they are never opened."""

    code = "audio.playlist"
    exit_code = 51
    http_status = 415


class AudioTooLargeError(AudioError):
    code = "audio.too_large"
    exit_code = 52
    http_status = 413


class AudioTooLongError(AudioError):
    code = "audio.too_long"
    exit_code = 53
    http_status = 413


class TooManyChannelsError(AudioError):
    code = "audio.too_many_channels"
    exit_code = 54
    http_status = 422


class DecodeFailedError(AudioError):
    code = "audio.decode_failed"
    exit_code = 55
    http_status = 422


class NoSpeechError(AudioError):
    code = "audio.no_speech"
    exit_code = 56
    http_status = 422


class SetupError(LLMSentimentError):
    code = "setup.invalid"
    exit_code = 22
    http_status = 503


class ModelMissingError(SetupError):
    code = "model.missing"
    exit_code = 20


class ModelCorruptError(SetupError):
    code = "model.corrupt"
    exit_code = 21


class ConfigError(SetupError):
    code = "config.invalid"
    exit_code = 22


class TemplateError(SetupError):
    code = "prompt.invalid"
    exit_code = 23


class DependencyMissingError(SetupError):
    code = "setup.dependency"
    exit_code = 24


class ModelOutputError(LLMSentimentError):
    code = "llm.invalid_answer"
    exit_code = 30
    http_status = 502


class InvalidAnswerError(ModelOutputError):
    code = "llm.invalid_answer"
    exit_code = 30


class InvalidGrammarError(ModelOutputError):
    """Raised before sampling, never after: the asker then asks without the grammar and validates the answer."""

    code = "llm.grammar"
    exit_code = 31


class SlotsUnsupportedError(ModelOutputError):
    """The model cannot read label slots (no chat template in its file, labels sharing a first token): the
    segment scorer asks it batch questions instead, so a user only meets this from a direct call."""

    code = "llm.no_slots"
    exit_code = 32


class NativeCrashError(LLMSentimentError):
    """The child process running native code died mid-request; the next request starts a fresh one."""

    code = "native.crashed"
    exit_code = 45
    http_status = 502


class ProviderError(LLMSentimentError):
    code = "llm.provider"
    exit_code = 42
    http_status = 503
    retryable: ClassVar[bool] = True


class ProviderTimeoutError(ProviderError):
    code = "llm.timeout"
    exit_code = 40
    http_status = 504


class ProviderRateLimitError(ProviderError):
    code = "llm.rate_limited"
    exit_code = 41


class ProviderUnavailableError(ProviderError):
    code = "llm.unavailable"
    exit_code = 42


class ProviderRejectedError(ProviderError):
    code = "llm.rejected"
    exit_code = 43
    http_status = 502
    retryable = False


class AllModelsFailedError(ProviderError):
    code = "llm.all_failed"
    exit_code = 44
    retryable = False


class ServiceError(LLMSentimentError):
    code = "service.error"
    exit_code = 60


class UnauthorizedError(ServiceError):
    code = "auth.unauthorized"
    exit_code = 60
    http_status = 401


class ForbiddenError(ServiceError):
    code = "auth.forbidden"
    exit_code = 61
    http_status = 403


class RateLimitedError(ServiceError):
    code = "auth.rate_limited"
    exit_code = 62
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float, **details: Any) -> None:
        super().__init__(message, retry_after_s=round(retry_after_s, 3), **details)
        self.retry_after_s = retry_after_s


class JobNotFoundError(ServiceError):
    code = "job.not_found"
    exit_code = 63
    http_status = 404


class JobNotReadyError(ServiceError):
    code = "job.not_ready"
    exit_code = 64
    http_status = 404


class JobFailedError(ServiceError):
    code = "job.failed"
    exit_code = 65
    http_status = 409


class JobAbandonedError(ServiceError):
    code = "job.abandoned"
    exit_code = 66
    http_status = 409


class WorkerCrashedError(ServiceError):
    code = "job.worker_crashed"
    exit_code = 74


class JobNotAnalyzedError(ServiceError):
    code = "job.not_analyzed"
    exit_code = 69
    http_status = 403


class IdempotencyConflictError(ServiceError):
    code = "request.idempotency"
    exit_code = 67
    http_status = 422


class QueueUnavailableError(ServiceError):
    code = "queue.unavailable"
    exit_code = 68
    http_status = 503


class QueueFullError(ServiceError):
    """The synchronous LLM endpoints' queue (or the key's share of it) is full; retry later."""

    code = "queue.full"
    exit_code = 73
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float, **details: Any) -> None:
        super().__init__(message, retry_after_s=round(retry_after_s, 3), **details)
        self.retry_after_s = retry_after_s


class QualityGateError(LLMSentimentError):
    code = "eval.gate"
    exit_code = 72


class BelowThresholdError(QualityGateError):
    code = "eval.below_threshold"
    exit_code = 72
