"""3. The LLM port and what wraps it: fallback, cache, metering; adapters (``litellm``, ``llama_cpp``) apart.

Only composition roots import the adapters; everything else sees ``LLMClient``.
"""

from .base import ChatMessage, LLMClient, LLMRequest, LLMResponse, TokenLogprob, WrapperLLM
from .cached import CachedLLM, ResponseCache
from .fallback import Backup, FallbackLLM
from .metered import MeteredLLM

__all__ = [
    "Backup",
    "CachedLLM",
    "ChatMessage",
    "FallbackLLM",
    "LLMClient",
    "LLMRequest",
    "LLMResponse",
    "MeteredLLM",
    "ResponseCache",
    "TokenLogprob",
    "WrapperLLM",
]
