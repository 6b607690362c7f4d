"""JSON schema -> llama.cpp grammar (GBNF), escaped correctly and parsed by llama.cpp before any use.

llama-cpp-python 0.3.36 escapes only CR, LF and ``"`` in grammar literals, so an enum value or a
property name holding a backslash (every JSON escape: ``\\"``, ``\\t``, ``\\u0008``) yields a grammar
that llama.cpp either cannot parse (it returns NULL and sampling dereferences it: a segfault) or
that allows only invalid JSON. ``to_gbnf`` escapes every literal for GBNF itself, and
``GrammarChecker`` runs llama.cpp's own parser on the result, so no grammar reaches the sampler
unchecked: one that does not parse raises ``InvalidGrammarError`` with the parser's message.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import sys
from collections import deque
from collections.abc import Iterator
from typing import Any

from llm_sentiment.errors import InvalidGrammarError

_LITERAL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\r": "\\r", "\n": "\\n", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f]')
_FRAGMENT_CHARS = 80


def gbnf_literal(text: str) -> str:
    """``text`` as a GBNF string literal: backslash and quote escaped, control characters as ``\\xHH``."""
    return '"' + _NEEDS_ESCAPE.sub(lambda m: _LITERAL_ESCAPES.get(m.group(0), f"\\x{ord(m.group(0)):02x}"), text) + '"'


def to_gbnf(schema: dict[str, Any]) -> str:
    """The grammar llama.cpp samples with for ``schema`` (llama-cpp-python's converter, literals fixed)."""
    from llama_cpp import llama_grammar

    base: Any = llama_grammar.SchemaConverter

    class _Converter(base):  # type: ignore[misc]
        def _format_literal(self, literal: str) -> str:
            return gbnf_literal(literal)

    converter: Any = _Converter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    try:
        resolved = converter.resolve_refs(json.loads(json.dumps(schema)), "schema")
        converter.visit(resolved, "")
        return str(converter.format_grammar())
    except (ValueError, KeyError, TypeError, AssertionError, RecursionError) as exc:
        raise InvalidGrammarError(
            "the answer's schema cannot be turned into a grammar",
            hint="The question is asked without the grammar and its answer validated instead.",
            fragment=str(exc)[:_FRAGMENT_CHARS],
        ) from None


@contextlib.contextmanager
def _stderr_into(sink: list[str]) -> Iterator[None]:
    """What native code writes to file descriptor 2 meanwhile (llama.cpp's grammar parser reports there),
    kept out of the process's own stderr: a rejected grammar is quoted whole."""
    sys.stderr.flush()
    saved = os.dup(2)
    captured = os.memfd_create("llama-stderr")
    os.dup2(captured, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.lseek(captured, 0, os.SEEK_SET)
        with os.fdopen(captured, "rb") as f:
            sink.append(f.read(1 << 16).decode("utf-8", errors="replace"))


class _LogTap:
    """Keeps llama.cpp's recent log lines (the grammar parser reports through it) instead of printing them."""

    def __init__(self) -> None:
        import llama_cpp

        self.lines: deque[str] = deque(maxlen=8)

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def _tap(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
            self.lines.append(text.decode("utf-8", errors="replace"))

        self._callback = _tap  # kept referenced: llama.cpp calls it for the life of the process
        llama_cpp.llama_log_set(self._callback, ctypes.c_void_p(0))

    def parser_message(self) -> str:
        """The parser's complaint, cut short: it quotes the grammar, which must not reach any log whole."""
        for line in reversed(self.lines):
            if "parse" in line or "grammar" in line:
                return line.strip()[:_FRAGMENT_CHARS]
        return "no message from llama.cpp"


def _parser_complaint(printed: str) -> str | None:
    """``expecting newline or end at …``: the parser's reason and where, cut short."""
    for line in printed.splitlines():
        if "error parsing grammar" in line:
            return line.split("error parsing grammar:", 1)[-1].strip()[:_FRAGMENT_CHARS]
    return None


class GrammarChecker:
    """Parses grammars with llama.cpp's own parser, against a loaded vocabulary (a model's, or vocab-only)."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        self._log = _LogTap()

    def check(self, gbnf: str) -> None:
        import llama_cpp

        printed: list[str] = []
        with _stderr_into(printed):
            sampler = llama_cpp.llama_sampler_init_grammar(self.vocab, gbnf.encode("utf-8"), b"root")
        if not sampler:
            raise InvalidGrammarError(
                "llama.cpp cannot parse the answer's grammar",
                hint="The question is asked without the grammar and its answer validated instead.",
                fragment=_parser_complaint(printed[0]) or self._log.parser_message(),
            )
        llama_cpp.llama_sampler_free(sampler)

    def accepts(self, gbnf: str, text: str) -> bool:
        """Whether the grammar allows exactly ``text`` (token by token, through llama.cpp's sampler)."""
        import llama_cpp

        self.check(gbnf)
        sampler = llama_cpp.llama_sampler_init_grammar(self.vocab, gbnf.encode("utf-8"), b"root")
        try:
            for token in [*self._tokens(text), llama_cpp.llama_vocab_eos(self.vocab)]:
                if not self._allowed(sampler, token):
                    return False
                if token != llama_cpp.llama_vocab_eos(self.vocab):
                    llama_cpp.llama_sampler_accept(sampler, token)
            return True
        finally:
            llama_cpp.llama_sampler_free(sampler)

    def _tokens(self, text: str) -> list[int]:
        import llama_cpp

        data = text.encode("utf-8")
        buffer = (llama_cpp.llama_token * (len(data) + 8))()
        count = llama_cpp.llama_tokenize(self.vocab, data, len(data), buffer, len(buffer), False, False)
        if count < 0:
            raise ValueError(f"cannot tokenize {len(data)} bytes")
        return list(buffer[:count])

    @staticmethod
    def _allowed(sampler: Any, token: int) -> bool:
        import llama_cpp

        candidate = (llama_cpp.llama_token_data * 1)(llama_cpp.llama_token_data(id=token, logit=0.0, p=0.0))
        array = llama_cpp.llama_token_data_array(data=candidate, size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(array))
        return bool(candidate[0].logit != float("-inf"))
