"""Reading and writing audio files: any input to 48 kHz mono PCM, WAV out, Ogg Opus out.

Ogg Opus is written by muxing packets we already have (from a recording or our encoder)
instead of decoding and re-encoding them, so an exported transmission is bit-for-bit what the
talker sent and costs no CPU to produce.
"""

from __future__ import annotations

import struct
import wave
from fractions import Fraction
from pathlib import Path
from typing import Final

import av
import numpy as np
import numpy.typing as npt

from ..errors import AudioError
from .opus import PCM, PRE_SKIP, SAMPLE_RATE, frames, packet_samples

_TIME_BASE: Final = Fraction(1, SAMPLE_RATE)

StrPath = str | Path


def read_audio(path: StrPath) -> PCM:
    """Decode the first audio stream of a WAV, Ogg Opus (or any FFmpeg-readable) file.

    The result is resampled to mono int16 at 48 kHz, the only format the rest of Siaga uses.
    Ogg Opus pre-skip is honoured by FFmpeg, so the codec's start-up delay is trimmed.
    """
    chunks: list[PCM] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1).astype(np.int16, copy=False))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.int16, copy=False))
    except (av.FFmpegError, OSError) as exc:
        raise AudioError(f"cannot read audio from {path}: {exc}") from exc
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


def read_opus_packets(path: StrPath) -> list[bytes]:
    """The Opus packets of an Ogg Opus file as stored, for sending without re-encoding."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            if stream.codec_context.name not in ("opus", "libopus"):
                raise AudioError(f"{path}: audio is {stream.codec_context.name}, not Opus")
            return [bytes(p) for p in container.demux(stream) if p.size]
    except (av.FFmpegError, OSError) as exc:
        raise AudioError(f"cannot read Opus packets from {path}: {exc}") from exc


def write_wav(path: StrPath, pcm: npt.NDArray[np.int16], rate: int = SAMPLE_RATE) -> None:
    """Write mono 16-bit PCM as a plain WAV file (stdlib only: every player reads it)."""
    if pcm.ndim != 1 or pcm.dtype != np.int16:
        raise AudioError(f"expected mono int16 PCM, got shape {pcm.shape} dtype {pcm.dtype}")
    try:
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(pcm.astype("<i2", copy=False).tobytes())
    except (OSError, wave.Error) as exc:
        raise AudioError(f"cannot write WAV {path}: {exc}") from exc


def opus_head(pre_skip: int = PRE_SKIP, channels: int = 1) -> bytes:
    """The OpusHead identification header (RFC 7845 section 5.1) for a mono 48 kHz stream."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, SAMPLE_RATE, 0, 0)


def write_ogg_opus(path: StrPath, packets: list[bytes], pre_skip: int = PRE_SKIP) -> None:
    """Mux already-encoded mono Opus packets into an Ogg Opus file without re-encoding.

    Timestamps start at ``-pre_skip`` like the encoder's own, so the final granule position
    counts exactly the samples the packets hold and players drop the codec delay. A one-byte
    packet (TOC only) is legal Opus meaning "lost frame": decoders conceal it, which is how
    gaps in a recording are kept in time.
    """
    try:
        with av.open(str(path), "w", format="ogg") as container:
            stream = container.add_stream("libopus", rate=SAMPLE_RATE)
            stream.codec_context.layout = "mono"
            stream.codec_context.extradata = opus_head(pre_skip)
            stream.time_base = _TIME_BASE
            pts = -pre_skip
            for data in packets:
                duration = packet_samples(data)
                packet = av.Packet(data)
                packet.stream = stream
                packet.time_base = _TIME_BASE
                packet.pts = packet.dts = pts
                packet.duration = duration
                container.mux(packet)
                pts += duration
    except (av.FFmpegError, OSError) as exc:
        raise AudioError(f"cannot write Ogg Opus {path}: {exc}") from exc


__all__ = ["frames", "opus_head", "read_audio", "read_opus_packets", "write_ogg_opus", "write_wav"]
