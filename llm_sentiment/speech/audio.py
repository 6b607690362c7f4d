"""Recordings are untrusted input: sniffed by content, limited, and decoded defensively.

The container is recognised from its magic bytes, never the file name, and only wav, flac, mp3,
ogg/opus, m4a/mp4 audio and webm/matroska are decoded. The demuxer is forced to the sniffed one
and fed from an open file object, so a playlist or manifest (HLS, DASH, ffconcat) can never make
the decoder open another file or a URL; those are refused outright. Size is checked before
reading, channels before decoding, and duration is counted while decoding (a header may lie), so
an oversized file stops early with bounded memory. A file that breaks off part-way still gives the
audio before the break, with an ``audio.partial_decode`` warning; one that yields nothing is an error.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
from pydantic import BaseModel, Field

from llm_sentiment.errors import (
    AudioTooLargeError,
    AudioTooLongError,
    DecodeFailedError,
    EmptyInputError,
    InputNotFoundError,
    PlaylistError,
    TooManyChannelsError,
    UnsupportedAudioError,
)
from llm_sentiment.transcript.model import Warning

SAMPLE_RATE = 16000
"""What Whisper and the speaker encoder expect; every recording is resampled to it."""

Container = Literal["wav", "flac", "mp3", "ogg", "mp4", "webm"]
AUDIO_SUFFIXES = frozenset(
    {".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".webm", ".mka", ".weba"}
)
_DEMUXERS: dict[Container, str] = {
    "wav": "wav",
    "flac": "flac",
    "mp3": "mp3",
    "ogg": "ogg",
    "mp4": "mov",
    "webm": "matroska",
}
_SNIFF_BYTES = 4096
_MAX_BAD_PACKETS = 50
# MP4/ISO brands that hold still images, not recordings.
_IMAGE_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis", b"jp2 ", b"crx "}
_OTHER_TYPES = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"FORM", "an AIFF or IFF file"),
    (b"caff", "a Core Audio (CAF) file"),
    (b"#!AMR", "an AMR recording"),
    (b"0&\xb2u\x8ef\xcf\x11", "a Windows Media (ASF/WMA) file"),
    (b"MThd", "a MIDI file"),
]
_PLAYLIST_MARKERS = [
    (b"#EXTM3U", "an M3U/HLS playlist"),
    (b"#EXT-X-", "an HLS playlist"),
    (b"ffconcat version", "an ffmpeg concat list"),
    (b"[playlist]", "a PLS playlist"),
]
_XML_PLAYLIST = re.compile(rb"\A(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(mpd|smil|asx|playlist)\b", re.I | re.S)
_XML_KINDS = {b"mpd": "a DASH manifest", b"smil": "a SMIL playlist", b"asx": "an ASX playlist"}


class AudioLimits(BaseModel):
    max_bytes: int = Field(500_000_000, gt=0)
    max_seconds: float = Field(4 * 3600, gt=0)
    max_channels: int = Field(2, ge=1, le=2)


class Probe(BaseModel):
    """What a file is, found before decoding it: enough to refuse it early or find it in the cache."""

    container: Container
    size_bytes: int
    sha256: str


class AudioInfo(BaseModel):
    """What the recording is, as found while decoding it (not as its header claims)."""

    container: Container
    codec: str
    channels: int
    sample_rate: int = Field(description="The source's sample rate; decoding resamples to 16 kHz.")
    duration: float = Field(ge=0, description="Seconds decoded.")
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class DecodedAudio:
    info: AudioInfo
    channels: np.ndarray
    """(n_channels, n_samples) float32 at ``SAMPLE_RATE``."""
    warnings: list[Warning]


def _skip_id3(head: bytes, f: BinaryIO) -> bytes:
    """The bytes after any ID3v2 tags (MP3s and some FLACs start with one, possibly megabytes long)."""
    offset = 0
    while head.startswith(b"ID3") and len(head) >= 10:
        size = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F))
        size += 10 if head[5] & 0x10 else 0  # footer
        offset += size
        f.seek(offset)
        head = f.read(_SNIFF_BYTES)
    return head


def _mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG-1/2/2.5 layer I-III frame header (sync, no reserved version, layer, bitrate or rate)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate != 0xF and rate != 3


# kbit/s by bitrate index, for (MPEG-1?, layer); MPEG-2 and 2.5 share a table.
_MPEG_KBPS = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame_bytes(head: bytes) -> int | None:
    """How long the MPEG audio frame that starts with ``head`` is (None: not a frame, or free format)."""
    if not _mpeg_audio_frame(head) or head[2] >> 4 == 0:
        return None
    version, layer = (head[1] >> 3) & 3, 4 - ((head[1] >> 1) & 3)
    bits_per_s = _MPEG_KBPS[(version == 3, layer)][head[2] >> 4] * 1000
    rate = _MPEG_RATES[version][(head[2] >> 2) & 3]
    padding = (head[2] >> 1) & 1
    if layer == 1:
        return (12 * bits_per_s // rate + padding) * 4
    per_frame = 72 if layer == 3 and version != 3 else 144  # MPEG-2/2.5 layer III frames are half as long
    return per_frame * bits_per_s // rate + padding


def _describe(head: bytes) -> str:
    for magic, what in _OTHER_TYPES:
        if head.startswith(magic):
            return what
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "raw AAC (ADTS) without a container; wrap it in m4a"
    if b"\x00" not in head[:512]:
        return "text"
    return "not a recognised audio container"


def _playlist(head: bytes) -> str | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for marker, what in _PLAYLIST_MARKERS:
        if text.startswith(marker):
            return what
    if match := _XML_PLAYLIST.match(text):
        return _XML_KINDS.get(match.group(1).lower(), "an XSPF playlist")
    return None


def sniff(path: Path, name: str | None = None) -> Container | None:
    """The allowed container ``path`` holds, or None when it is not audio; playlists raise.

    ``name`` is what messages call the file (an upload's own name, not its temporary file's)."""
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
        if what := _playlist(head):
            raise PlaylistError(
                f"{name or path.name} is {what}, not a recording",
                hint="Playlists and manifests point at other files or URLs and are never opened; "
                "pass the recording itself.",
            )
        if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
            return "wav"
        if head.startswith(b"OggS"):
            return "ogg"
        if head[4:8] == b"ftyp":
            return None if head[8:12] in _IMAGE_BRANDS else "mp4"
        if head.startswith(b"\x1a\x45\xdf\xa3"):
            return "webm" if b"webm" in head[:64] or b"matroska" in head[:64] else None
        head = _skip_id3(head, f)
        if head.startswith(b"fLaC"):
            return "flac"
        if _mpeg_audio_frame(head):
            return "mp3"
    return None


def looks_like_recording(path: Path) -> bool:
    """Audio by content, or meant as audio by its name (so that a fake one gets an audio error)."""
    if not path.is_file() or path.stat().st_size == 0:
        return path.suffix.lower() in AUDIO_SUFFIXES
    return sniff(path) is not None or path.suffix.lower() in AUDIO_SUFFIXES


def not_audio_error(path: Path, name: str | None = None) -> UnsupportedAudioError:
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    return UnsupportedAudioError(
        f"{name or path.name} is not a supported recording ({_describe(head)})",
        hint="Supported: wav, flac, mp3, ogg/opus, m4a/mp4 audio, webm. The content decides, not the file name.",
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def _wav_length_warning(path: Path, size: int) -> Warning | None:
    """ffmpeg trusts a WAV's data-chunk size silently in both directions; compare it with the bytes there."""
    with path.open("rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF":
            return None  # RIFX is rare; RF64 keeps its sizes in a ds64 chunk
        byte_rate = 0
        while chunk := f.read(8):
            if len(chunk) < 8:
                return None
            kind, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if kind == b"fmt ":
                fmt = f.read(min(length, 16))
                byte_rate = struct.unpack("<I", fmt[8:12])[0] if len(fmt) >= 12 else 0
                f.seek(length - len(fmt) + (length & 1), 1)
            elif kind == b"data":
                offset = f.tell()
                break
            else:
                f.seek(length + (length & 1), 1)
        else:
            return None
    if not byte_rate or length in (0, 0xFFFFFFFF) or length >= 0xFFFFFFFF - 64:
        return None  # streaming writers leave the size unset; ffmpeg then reads to the end
    present = size - offset
    if length > present + byte_rate // 10:
        return Warning(
            code="audio.partial_decode",
            message=f"the WAV header declares {length / byte_rate:.1f} s of audio but the file holds "
            f"{present / byte_rate:.1f} s: it was cut short; the transcript covers what is there",
        )
    if present - length > byte_rate and not _chunks_follow(path, offset + length + (length & 1), size):
        return Warning(
            code="audio.partial_decode",
            message=f"the WAV header declares {length / byte_rate:.1f} s of audio but "
            f"{(present - length) / byte_rate:.1f} s more follow it; only the declared part was decoded "
            "(the header is wrong: rewrite the file)",
        )
    return None


def _chunks_follow(path: Path, offset: int, size: int) -> bool:
    """Whether the bytes after the data chunk are well-formed RIFF chunks (metadata), not more audio."""
    with path.open("rb") as f:
        f.seek(offset)
        while offset + 8 <= size:
            chunk = f.read(8)
            if not all(32 <= c < 127 for c in chunk[:4]):
                return False
            length = struct.unpack("<I", chunk[4:])[0]
            offset += 8 + length + (length & 1)
            f.seek(offset)
        return offset >= size - 1


def probe(path: Path, limits: AudioLimits, name: str | None = None) -> Probe:
    """Size limit, container and content hash; raises for anything that is not an allowed recording."""
    size = _check_size(path, limits, name)
    container = sniff(path, name)
    if container is None:
        raise not_audio_error(path, name)
    return Probe(container=container, size_bytes=size, sha256=_sha256(path))


def _check_size(path: Path, limits: AudioLimits, name: str | None = None) -> int:
    if not path.exists():
        raise InputNotFoundError(f"{path}: no such file", hint="Check the path.")
    if path.is_dir():
        raise InputNotFoundError(f"{path}: is a directory, not a recording")
    size = path.stat().st_size
    if size == 0:
        raise EmptyInputError(f"{name or path}: the file is empty", hint="Pass a recording with content.")
    if size > limits.max_bytes:
        raise AudioTooLargeError(
            f"{name or path.name} is {size / 1e6:.0f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB",
            hint="Split the recording, or raise LLM_SENTIMENT_MAX_AUDIO_MB.",
        )
    return size


@dataclass
class _Reading:
    """What came out of the decoder so far."""

    chunks: list[np.ndarray] = field(default_factory=list)
    samples: int = 0
    bad_packets: int = 0
    broke_off: str | None = None
    last_packet: bytes = b""


def decode(path: Path, probed: Probe, limits: AudioLimits) -> DecodedAudio:
    """Every channel resampled to 16 kHz float32, within the limits, decoded from the file's content."""
    import av

    container = probed.container
    with path.open("rb") as f:
        try:
            media = av.open(f, mode="r", format=_DEMUXERS[container])
        except av.FFmpegError as exc:
            raise DecodeFailedError(f"{path.name}: not a readable {container} file ({exc.strerror})") from None
        with media:
            if not media.streams.audio:
                raise DecodeFailedError(f"{path.name}: the {container} file has no audio stream")
            stream = media.streams.audio[0]
            _check_channels(path, stream.codec_context.channels, limits)
            reading = _read(media, stream, path, limits)
            declared = _declared_seconds(media, stream)
            codec, source_rate = stream.codec_context.name, stream.codec_context.sample_rate or 0
    if reading.samples == 0:
        reason = reading.broke_off or ("every packet was damaged" if reading.bad_packets else "no audio frames")
        raise DecodeFailedError(f"{path.name}: nothing could be decoded ({reason})", hint="Is the file complete?")
    samples = _stack(reading.chunks, reading.samples)
    duration = samples.shape[1] / SAMPLE_RATE
    cut_short = container == "mp3" and _cut_short(reading.last_packet)
    warning = _partial(reading, duration, declared, cut_short) or (
        _wav_length_warning(path, probed.size_bytes) if container == "wav" else None
    )
    info = AudioInfo(
        container=container,
        codec=codec,
        channels=samples.shape[0],
        sample_rate=source_rate,
        duration=round(duration, 3),
        size_bytes=probed.size_bytes,
        sha256=probed.sha256,
    )
    return DecodedAudio(info=info, channels=samples, warnings=[warning] if warning else [])


def _read(media: Any, stream: Any, path: Path, limits: AudioLimits) -> _Reading:
    """Demux and decode the audio stream; damaged packets are skipped and counted, the length enforced."""
    import av

    reading = _Reading()
    max_samples = int(limits.max_seconds * SAMPLE_RATE)
    resampler: av.AudioResampler | None = None

    def keep(frames: list[av.AudioFrame]) -> None:
        for out in frames:
            reading.chunks.append(out.to_ndarray())
            reading.samples += out.samples

    last: Any = None
    try:
        for packet in media.demux(stream):
            last = packet if packet.size else last
            try:
                frames = packet.decode()
            except av.FFmpegError:
                reading.bad_packets += 1
                if reading.bad_packets > _MAX_BAD_PACKETS:
                    reading.broke_off = "too many damaged packets"
                    break
                continue
            for frame in frames:
                _check_channels(path, frame.layout.nb_channels, limits)
                if resampler is None:  # the first frame, not the header, says how many channels there are
                    layout = "stereo" if frame.layout.nb_channels == 2 else "mono"
                    resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
                keep(resampler.resample(frame))
                if reading.samples > max_samples:
                    raise AudioTooLongError(
                        f"{path.name} runs longer than the {_clock(limits.max_seconds)} limit (counted while decoding)",
                        hint="Split the recording, or raise LLM_SENTIMENT_MAX_AUDIO_SECONDS.",
                    )
        if resampler is not None:
            keep(resampler.resample(None))
    except av.FFmpegError as exc:
        reading.broke_off = exc.strerror or type(exc).__name__
    reading.last_packet = bytes(last) if last is not None else b""
    return reading


def _cut_short(packet: bytes) -> bool:
    """The last MPEG audio frame holds fewer bytes than its header says: the file was cut mid-frame.

    An MP3 without a Xing/Info frame count declares no length (the demuxer estimates one from the
    file's size, truncated or not); this is what gives a truncated one away."""
    length = _mpeg_frame_bytes(packet[:4])
    return length is not None and len(packet) < length


def _partial(reading: _Reading, duration: float, declared: float | None, cut_short: bool) -> Warning | None:
    """Decoding broke off, skipped damaged packets, ended well short of the length the container
    declares, or ended inside a frame."""
    if reading.broke_off:
        what = f"decoding stopped at {duration:.1f} s ({reading.broke_off})"
    elif reading.bad_packets:
        what = f"{reading.bad_packets} damaged packets skipped"
    elif declared is not None and duration < declared - max(0.5, 0.01 * declared):
        what = f"decoded {duration:.1f} s of the {declared:.1f} s the file declares: it looks truncated"
    elif cut_short:
        what = f"the file ends inside an audio frame after {duration:.1f} s: it looks truncated"
    else:
        return None
    return Warning(code="audio.partial_decode", message=f"{what}; the transcript covers only what decoded")


def _stack(chunks: list[np.ndarray], total: int) -> np.ndarray:
    """One (channels, samples) array, freeing each chunk as it is copied so memory peaks near 1x, not 2x."""
    samples = np.empty((chunks[0].shape[0], total), dtype=np.float32)
    chunks.reverse()
    position = 0
    while chunks:
        chunk = chunks.pop()
        samples[:, position : position + chunk.shape[1]] = chunk
        position += chunk.shape[1]
    return samples


def _check_channels(path: Path, channels: int, limits: AudioLimits) -> None:
    if channels > limits.max_channels:
        raise TooManyChannelsError(
            f"{path.name} has {channels} channels; at most {limits.max_channels} are accepted "
            "(one per party: agent and customer)",
            hint="Mix it down to mono or stereo first, e.g. `sox in.wav -c 2 out.wav`.",
        )


def _declared_seconds(media: Any, stream: Any) -> float | None:
    """What the container says the length is, for spotting truncation (never to enforce limits)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return media.duration / 1_000_000 if media.duration else None


def _clock(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def identical_channels(channels: np.ndarray) -> bool:
    """A mono recording stored as stereo: the two channels differ by less than -40 dB of the signal."""
    if channels.shape[0] != 2:
        return False
    signal = float(np.sqrt(np.mean(np.square(channels, dtype=np.float64))))
    difference = float(np.sqrt(np.mean(np.square(channels[0] - channels[1], dtype=np.float64))))
    return signal == 0 or difference < 0.01 * signal


def silent_channel(channels: np.ndarray) -> int | None:
    """The channel carrying nothing (below -60 dBFS) while the other carries sound, if there is one."""
    if channels.shape[0] != 2:
        return None
    levels = [float(np.sqrt(np.mean(np.square(c, dtype=np.float64)))) for c in channels]
    for index in (0, 1):
        if levels[index] < 1e-3 and levels[1 - index] >= 1e-3:
            return index
    return None
