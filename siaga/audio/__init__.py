"""Audio for Siaga: Opus coding, audio files, the receive jitter buffer and demo clips."""

from __future__ import annotations

from .clips import clip_path, list_clips
from .files import opus_head, read_audio, read_opus_packets, write_ogg_opus, write_wav
from .jitter import JitterBuffer, JitterStats, Lost
from .opus import (
    FRAME_MS,
    FRAME_SAMPLES,
    PCM,
    PRE_SKIP,
    SAMPLE_RATE,
    OpusDecoder,
    OpusEncoder,
    decode_packets,
    encode_pcm,
    frames,
    packet_samples,
)

__all__ = [
    "FRAME_MS", "FRAME_SAMPLES", "PCM", "PRE_SKIP", "SAMPLE_RATE",
    "JitterBuffer", "JitterStats", "Lost", "OpusDecoder", "OpusEncoder",
    "clip_path", "decode_packets", "encode_pcm", "frames", "list_clips", "opus_head",
    "packet_samples", "read_audio", "read_opus_packets", "write_ogg_opus", "write_wav",
]
