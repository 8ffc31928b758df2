"""Opus voice coding through PyAV's libopus binding: 20 ms mono frames at 48 kHz.

Every frame of a transmission is one Opus packet, so the codec is driven frame by frame:
:class:`OpusEncoder` turns exactly one 960-sample frame into exactly one packet, and
:class:`OpusDecoder` turns one packet (or one loss) back into 960 samples.

What we verified about PyAV/libopus (FFmpeg ``libopus`` wrapper):

* The encoder is 1-in-1-out: each 20 ms frame sent yields one packet at once, there is no
  frame-sized buffering. Its only latency is libopus' look-ahead, which FFmpeg reports as
  ``initial_padding`` and as the ``pre_skip`` of the OpusHead extradata: 312 samples (6.5 ms)
  for ``application=voip``. Decoded audio is therefore delayed by :data:`PRE_SKIP` samples;
  Ogg files carry that number so players trim it. Flushing the encoder would emit one extra
  packet holding the last 6.5 ms; a live transmission never flushes and loses nothing audible.
* Options FFmpeg does not recognise are silently left in ``CodecContext.options`` after
  ``open()``; we treat leftovers as an error so a misspelt tuning option cannot go unnoticed.
* The decoder has no "packet lost" call, but libopus runs its packet-loss concealment (PLC)
  for any frame of length zero. A one-byte packet (just the TOC byte, code 0) is such a frame,
  so :meth:`OpusDecoder.conceal` drives the real libopus PLC, which extrapolates the last
  voice and fades to silence by itself over a few frames. In-band FEC cannot be decoded
  through FFmpeg (``opus_decode(..., decode_fec=1)`` is not exposed), so FEC only helps
  receivers with direct libopus access; the encoder still sends it for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import Any, Final

import av
import numpy as np
import numpy.typing as npt

from ..errors import AudioError

SAMPLE_RATE: Final = 48000
FRAME_MS: Final = 20
FRAME_SAMPLES: Final = SAMPLE_RATE * FRAME_MS // 1000
#: libopus look-ahead at 48 kHz (``application=voip``): decoded audio lags the input by this.
PRE_SKIP: Final = 312

PCM = npt.NDArray[np.int16]

_TIME_BASE: Final = Fraction(1, SAMPLE_RATE)
#: Frame durations (in 48 kHz samples) for each TOC configuration, RFC 6716 section 3.1.
_SILK_SIZES: Final = (480, 960, 1920, 2880)
_HYBRID_SIZES: Final = (480, 960)
_CELT_SIZES: Final = (120, 240, 480, 960)


def _check_frame(pcm: npt.NDArray[Any]) -> PCM:
    if pcm.dtype != np.int16 or pcm.shape != (FRAME_SAMPLES,):
        raise AudioError(
            f"expected {FRAME_SAMPLES} int16 samples, got shape {pcm.shape} dtype {pcm.dtype}"
        )
    return pcm


def packet_samples(packet: bytes) -> int:
    """Number of 48 kHz samples an Opus packet decodes to, read from its TOC byte(s)."""
    if not packet:
        raise AudioError("empty Opus packet")
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        size = _SILK_SIZES[config % 4]
    elif config < 16:
        size = _HYBRID_SIZES[config % 2]
    else:
        size = _CELT_SIZES[config % 4]
    code = toc & 0x03
    if code == 0:
        count = 1
    elif code in (1, 2):
        count = 2
    else:
        if len(packet) < 2:
            raise AudioError("Opus code-3 packet without frame count")
        count = packet[1] & 0x3F
    return size * count


def frames(pcm: npt.NDArray[np.int16]) -> Iterator[PCM]:
    """Split mono PCM into 20 ms frames, zero-padding the last so every frame is whole."""
    if pcm.ndim != 1:
        raise AudioError(f"expected mono 1-D PCM, got shape {pcm.shape}")
    for start in range(0, len(pcm), FRAME_SAMPLES):
        chunk = pcm[start:start + FRAME_SAMPLES]
        if len(chunk) < FRAME_SAMPLES:
            chunk = np.concatenate([chunk, np.zeros(FRAME_SAMPLES - len(chunk), np.int16)])
        yield np.ascontiguousarray(chunk, dtype=np.int16)


def _to_int16(frame: Any) -> PCM:
    """Mono int16 samples of a decoded PyAV frame (libopus gives s16, FFmpeg's own decoder flt)."""
    data: npt.NDArray[Any] = np.asarray(frame.to_ndarray())
    if data.ndim == 2:
        data = data[0] if data.shape[0] == 1 else data.mean(axis=0)
    if data.dtype == np.int16:
        return np.asarray(data, dtype=np.int16)
    scaled = np.clip(np.rint(data.astype(np.float64) * 32768.0), -32768, 32767)
    return scaled.astype(np.int16)


class OpusEncoder:
    """Speech-tuned Opus encoder producing one packet per 20 ms frame.

    ``application=voip`` favours intelligibility at low rates; in-band FEC with an expected loss
    lets a libopus receiver rebuild a lost frame from the next one. VBR spends bits where the
    speech needs them (averaging a little above ``bitrate``); ``vbr=False`` gives constant
    ``bitrate / 400``-byte packets when the size must be exact.
    """

    def __init__(
        self, bitrate: int = 16000, fec: bool = True, expected_loss_pct: int = 10,
        vbr: bool = True,
    ) -> None:
        if not 6000 <= bitrate <= 510000:
            raise AudioError(f"Opus bitrate {bitrate} outside 6000..510000")
        if not 0 <= expected_loss_pct <= 100:
            raise AudioError(f"expected loss {expected_loss_pct}% outside 0..100")
        self.bitrate = bitrate
        options = {
            "application": "voip",
            "frame_duration": str(FRAME_MS),
            "packet_loss": str(expected_loss_pct),
            "fec": "1" if fec else "0",
            "vbr": "on" if vbr else "off",
        }
        try:
            ctx = av.CodecContext.create("libopus", "w")
            ctx.sample_rate = SAMPLE_RATE
            ctx.layout = "mono"
            ctx.format = "s16"
            ctx.bit_rate = bitrate
            ctx.time_base = _TIME_BASE
            ctx.options = options
            ctx.open()
        except (av.FFmpegError, ValueError) as exc:
            raise AudioError(f"cannot open Opus encoder: {exc}") from exc
        leftover = dict(ctx.options)
        if leftover:
            raise AudioError(f"Opus encoder ignored options {sorted(leftover)}")
        self._ctx = ctx
        self._pts = 0
        extradata = bytes(ctx.extradata or b"")
        # OpusHead: magic(8) version(1) channels(1) pre_skip(u16 LE) ...
        self.pre_skip = (
            int.from_bytes(extradata[10:12], "little") if extradata[:8] == b"OpusHead"
            else PRE_SKIP
        )

    def encode(self, pcm960: npt.NDArray[np.int16]) -> bytes:
        """Encode one 20 ms frame; always returns exactly one packet (no priming to wait for)."""
        pcm = _check_frame(pcm960)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = _TIME_BASE
        frame.pts = self._pts
        self._pts += FRAME_SAMPLES
        try:
            packets = self._ctx.encode(frame)
        except av.FFmpegError as exc:
            raise AudioError(f"Opus encoding failed: {exc}") from exc
        if len(packets) != 1:
            raise AudioError(f"Opus encoder returned {len(packets)} packets for one frame")
        return bytes(packets[0])


class OpusDecoder:
    """Opus decoder for one stream, with libopus packet-loss concealment for missing frames."""

    def __init__(self) -> None:
        try:
            ctx = av.CodecContext.create("libopus", "r")
            ctx.sample_rate = SAMPLE_RATE
            ctx.layout = "mono"
            ctx.format = "s16"
            ctx.open()
        except (av.FFmpegError, ValueError) as exc:
            raise AudioError(f"cannot open Opus decoder: {exc}") from exc
        self._ctx = ctx
        self._last_toc: int | None = None

    def _run(self, packet: bytes) -> PCM:
        try:
            decoded = self._ctx.decode(av.Packet(packet))
        except av.FFmpegError as exc:
            raise AudioError(f"Opus decoding failed: {exc}") from exc
        if not decoded:
            raise AudioError("Opus decoder produced no audio for a packet")
        return np.concatenate([_to_int16(f) for f in decoded])

    def decode(self, packet: bytes) -> PCM:
        """Decode one packet (960 samples for a 20 ms packet); an empty packet is a loss."""
        if not packet:
            return self.conceal()
        pcm = self._run(packet)
        self._last_toc = packet[0]
        return pcm

    def conceal(self) -> PCM:
        """20 ms standing in for a lost packet, from libopus PLC (see the module docstring).

        Before any packet was decoded there is nothing to extrapolate, so this is silence.
        """
        if self._last_toc is None:
            return np.zeros(FRAME_SAMPLES, np.int16)
        # Code 0 (one frame) with no frame data: libopus treats the frame as lost.
        pcm = self._run(bytes([self._last_toc & 0xFC]))
        if len(pcm) < FRAME_SAMPLES:
            pcm = np.concatenate([pcm, np.zeros(FRAME_SAMPLES - len(pcm), np.int16)])
        return pcm[:FRAME_SAMPLES]


def encode_pcm(
    pcm: npt.NDArray[np.int16], bitrate: int = 16000, vbr: bool = True
) -> list[bytes]:
    """Encode mono 48 kHz PCM into one packet per (zero-padded) 20 ms frame.

    The packets hold the input delayed by :data:`PRE_SKIP` samples; the last 6.5 ms of the
    input are not flushed out (a transmission ends in silence anyway).
    """
    encoder = OpusEncoder(bitrate=bitrate, vbr=vbr)
    return [encoder.encode(frame) for frame in frames(pcm)]


def decode_packets(packets: Iterable[bytes | None]) -> PCM:
    """Decode a packet sequence in order; ``None`` marks a lost packet and is concealed."""
    decoder = OpusDecoder()
    out = [decoder.conceal() if p is None else decoder.decode(p) for p in packets]
    return np.concatenate(out) if out else np.zeros(0, np.int16)


__all__ = [
    "FRAME_MS", "FRAME_SAMPLES", "PCM", "PRE_SKIP", "SAMPLE_RATE",
    "OpusDecoder", "OpusEncoder", "decode_packets", "encode_pcm", "frames", "packet_samples",
]
