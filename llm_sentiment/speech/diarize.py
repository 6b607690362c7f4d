"""Who spoke when in a mono recording of two people: speaker embeddings clustered over speech.

Speech regions come from Silero VAD (bundled with faster-whisper) with short pauses kept, so turns
separate; long regions are cut into pieces of about 1.5 s so a speaker change without a pause is
still found. Each piece is embedded by Resemblyzer's GE2E voice encoder (its weights ship inside
the package) in one batched pass, and the pieces are split into two voices by spherical 2-means.
When the two voices are not distinct enough, or one barely speaks, the result says so instead of
inventing a second speaker.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np

from llm_sentiment.errors import ModelMissingError

from .audio import SAMPLE_RATE
from .ports import Diarization, SpeakerSpan

_PIECE_S = 1.5
_MIN_REGION_S = 0.2
_MIN_SPEECH_S = 3.0
_MIN_SHARE = 0.05
SAME_VOICE_SIMILARITY = 0.90
"""Cosine similarity of the two centroids at or above which they are taken for one voice. Calibrated on
espeak-ng voices: one voice split in two scored 0.89-0.96, distinct voices 0.65-0.91."""
_FRAME = 160  # 10 ms at 16 kHz: the encoder's mel hop
_TARGET_DBFS = -30.0
_LOCK = threading.Lock()
_ENCODER: list[Any] = []


def _encoder() -> Any:
    with _LOCK:
        if not _ENCODER:
            try:
                with warnings.catch_warnings():  # resemblyzer's own imports are noisy on current setuptools/scipy
                    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
                    warnings.filterwarnings(
                        "ignore", message="Please import `binary_dilation`", category=DeprecationWarning
                    )
                    from resemblyzer import VoiceEncoder
            except ImportError:
                raise ModelMissingError(
                    "diarization of mono recordings needs resemblyzer, which is not installed",
                    hint="Install the diarization extra: `pip install -e '.[diarization]'`.",
                ) from None
            _ENCODER.append(VoiceEncoder("cpu", verbose=False))
        return _ENCODER[0]


def speech_regions(samples: np.ndarray) -> list[tuple[int, int]]:
    """Sample ranges with speech, split at pauses of a quarter second or more."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=250, speech_pad_ms=30, min_speech_duration_ms=100)
    return [(r["start"], r["end"]) for r in get_speech_timestamps(samples, options)]


def pieces(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Each region cut into near-equal pieces of about ``_PIECE_S``; very short regions are left out."""
    out: list[tuple[int, int]] = []
    step = int(_PIECE_S * SAMPLE_RATE)
    for start, end in regions:
        if end - start < _MIN_REGION_S * SAMPLE_RATE:
            continue
        n = max(1, round((end - start) / step))
        bounds = np.linspace(start, end, n + 1).astype(int)
        out.extend(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
    return out


def _embed(samples: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """One L2-normalised voice embedding per span, in one batched pass of variable-length pieces."""
    import torch

    encoder = _encoder()
    from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

    mels = []
    for start, end in spans:
        piece = normalize_volume(samples[start:end], _TARGET_DBFS, increase_only=True)
        mels.append(torch.from_numpy(wav_to_mel_spectrogram(piece)))
    threads = torch.get_num_threads()
    # A small LSTM gains nothing from threads, and on a busy machine their spin-waits made it 100x slower.
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            packed = torch.nn.utils.rnn.pack_sequence(mels, enforce_sorted=False)
            _, (hidden, _) = encoder.lstm(packed)
            raw = encoder.relu(encoder.linear(hidden[-1]))
            embeddings = raw / torch.norm(raw, dim=1, keepdim=True).clamp_min(1e-9)
    finally:
        torch.set_num_threads(threads)
    return np.asarray(embeddings.numpy(), dtype=np.float64)


def two_means(embeddings: np.ndarray, weights: np.ndarray, iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Spherical 2-means weighted by duration, seeded with the two least similar long pieces."""
    similarity = embeddings @ embeddings.T
    long_enough = weights >= np.median(weights)
    masked = np.where(np.outer(long_enough, long_enough), similarity, np.inf)
    first, second = np.unravel_index(int(np.argmin(masked)), masked.shape)
    centroids = embeddings[[first, second]]
    labels = np.zeros(len(embeddings), dtype=int)
    for _ in range(iterations):
        new = np.argmax(embeddings @ centroids.T, axis=1)
        for k in (0, 1):
            members = new == k
            if members.any():
                mean = (embeddings[members] * weights[members, None]).sum(axis=0)
                centroids[k] = mean / max(float(np.linalg.norm(mean)), 1e-9)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels, centroids


def diarize(samples: np.ndarray) -> Diarization:
    """Two speakers in 16 kHz mono audio, numbered in order of first speech."""
    spans = pieces(speech_regions(samples))
    speech = sum(end - start for start, end in spans) / SAMPLE_RATE
    if len(spans) < 2 or speech < _MIN_SPEECH_S:
        return Diarization(
            spans=_spans(spans, np.zeros(len(spans), dtype=int)),
            separated=False,
            reason=f"too little speech to tell voices apart ({speech:.1f} s)",
        )
    weights = np.array([(end - start) / SAMPLE_RATE for start, end in spans])
    labels, centroids = two_means(_embed(samples, spans), weights)
    if labels[0] == 1:
        labels, centroids = 1 - labels, centroids[::-1]
    similarity = round(float(centroids[0] @ centroids[1]), 3)
    shares = [round(float(weights[labels == k].sum() / weights.sum()), 3) for k in (0, 1)]
    reason = None
    if similarity >= SAME_VOICE_SIMILARITY:
        reason = f"the two voice clusters are too alike (similarity {similarity:.2f})"
    elif min(shares) < _MIN_SHARE:
        reason = f"one voice has only {min(shares):.0%} of the speech"
    return Diarization(
        spans=_spans(spans, labels),
        separated=reason is None,
        confidence=_confidence(similarity) if reason is None else 0.0,
        similarity=similarity,
        shares=shares,
        reason=reason,
    )


def _confidence(similarity: float) -> float:
    """How cleanly the voices separate: 0 at the same-voice threshold, 1 at 0.2 below it and lower."""
    return round(min(1.0, max(0.0, (SAME_VOICE_SIMILARITY - similarity) / 0.2)), 3)


class VoiceDiarizer:
    """``Diarizer`` over Resemblyzer's voice encoder and Silero VAD (``diarize``)."""

    def diarize(self, samples: np.ndarray) -> Diarization:
        return diarize(samples)


def _spans(spans: list[tuple[int, int]], labels: np.ndarray) -> list[SpeakerSpan]:
    return [
        SpeakerSpan(start=round(start / SAMPLE_RATE, 3), end=round(end / SAMPLE_RATE, 3), speaker=int(label))
        for (start, end), label in zip(spans, labels, strict=True)
    ]
