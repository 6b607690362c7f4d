"""2. Speech: a recording in, a speaker-labelled transcript out.

The ports (``Transcriber``, ``Diarizer``) and the orchestration (``recording``) are here; the adapters
that run native code (``whisper``, ``diarize``, ``host``) are imported only by composition roots.
"""

from .ports import Diarization, Diarizer, Transcriber
from .recording import AudioOptions, Recognizer, TranscriptionResult, transcribe_recording, transcribe_samples

__all__ = [
    "AudioOptions",
    "Diarization",
    "Diarizer",
    "Recognizer",
    "Transcriber",
    "TranscriptionResult",
    "transcribe_recording",
    "transcribe_samples",
]
