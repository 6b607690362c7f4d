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
    │   ├── DatasetError                   input.dataset             60  (eval dataset)
    │   └── EvalFileError                  input.eval_file           61  (eval thresholds, baseline results)
    ├── SetupError           (the installation or configuration needs fixing)
    │   ├── ModelMissingError              model.missing             20
    │   ├── ModelCorruptError              model.corrupt             21
    │   ├── ConfigError                    config.invalid            22
    │   └── TemplateError                  prompt.invalid            23
    ├── ModelOutputError     (the LLM answered, but not usefully)
    │   └── InvalidAnswerError             llm.invalid_answer        30
    ├── ProviderError        (the LLM could not be reached; fallback models are tried)
    │   ├── ProviderTimeoutError           llm.timeout               40
    │   ├── ProviderRateLimitError         llm.rate_limited          41
    │   ├── ProviderUnavailableError       llm.unavailable           42
    │   ├── ProviderRejectedError          llm.rejected              43  (4xx other than 429: no fallback)
    │   └── AllModelsFailedError           llm.all_failed            44
    └── QualityGateError     (an eval ran; its results are below the gate)
        └── BelowThresholdError            eval.below_threshold      62

Only ``ProviderError`` subclasses marked ``retryable`` trigger a fallback model: a bad request
or a malformed answer would fail the same way on the next model.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LLMSentimentError(Exception):
    code: ClassVar[str] = "internal"
    exit_code: ClassVar[int] = 1

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


class InputError(LLMSentimentError):
    code = "input.invalid"
    exit_code = 14


class InputNotFoundError(InputError):
    code = "input.not_found"
    exit_code = 10


class EmptyInputError(InputError):
    code = "input.empty"
    exit_code = 11


class UnknownFormatError(InputError):
    code = "input.unknown_format"
    exit_code = 12


class EncodingError(InputError):
    code = "input.encoding"
    exit_code = 13


class InvalidTranscriptError(InputError):
    code = "input.invalid_transcript"
    exit_code = 14


class OneRoleError(InputError):
    code = "input.one_role"
    exit_code = 15


class RolesSpecError(InputError):
    code = "input.roles_spec"
    exit_code = 16


class QuestionsFileError(InputError):
    code = "input.questions"
    exit_code = 17


class DatasetError(InputError):
    code = "input.dataset"
    exit_code = 60


class EvalFileError(InputError):
    code = "input.eval_file"
    exit_code = 61


class SetupError(LLMSentimentError):
    code = "setup.invalid"
    exit_code = 22


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


class ModelOutputError(LLMSentimentError):
    code = "llm.invalid_answer"
    exit_code = 30


class InvalidAnswerError(ModelOutputError):
    code = "llm.invalid_answer"
    exit_code = 30


class ProviderError(LLMSentimentError):
    code = "llm.provider"
    exit_code = 42
    retryable: ClassVar[bool] = True


class ProviderTimeoutError(ProviderError):
    code = "llm.timeout"
    exit_code = 40


class ProviderRateLimitError(ProviderError):
    code = "llm.rate_limited"
    exit_code = 41


class ProviderUnavailableError(ProviderError):
    code = "llm.unavailable"
    exit_code = 42


class ProviderRejectedError(ProviderError):
    code = "llm.rejected"
    exit_code = 43
    retryable = False


class AllModelsFailedError(ProviderError):
    code = "llm.all_failed"
    exit_code = 44
    retryable = False


class QualityGateError(LLMSentimentError):
    code = "eval.gate"
    exit_code = 62


class BelowThresholdError(QualityGateError):
    code = "eval.below_threshold"
    exit_code = 62
