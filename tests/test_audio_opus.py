"""Opus encoder/decoder behaviour through PyAV: framing, bitrate, fidelity and concealment."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from siaga.audio import (
    FRAME_SAMPLES,
    PRE_SKIP,
    SAMPLE_RATE,
    OpusDecoder,
    OpusEncoder,
    decode_packets,
    encode_pcm,
    packet_samples,
)
from siaga.errors import AudioError


def chirp(seconds: float = 1.0, f0: float = 200.0, f1: float = 3000.0) -> npt.NDArray[np.int16]:
    """A sweep through the speech band with a syllable-like amplitude envelope."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)
    return (9000 * envelope * np.sin(phase)).astype(np.int16)


def rms(x: npt.NDArray[np.int16]) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def best_lag(reference: npt.NDArray[np.int16], delayed: npt.NDArray[np.int16],
             max_lag: int = 2000) -> tuple[int, float]:
    """Lag (samples) that best aligns ``delayed`` to ``reference`` and the correlation there."""
    ref = reference.astype(np.float64)
    out = delayed.astype(np.float64)
    n = len(ref) - max_lag
    best = (0, -1.0)
    for lag in range(max_lag):
        a, b = ref[:n], out[lag:lag + n]
        c = float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))
        if c > best[1]:
            best = (lag, c)
    return best


def test_one_packet_per_frame_from_the_first_frame() -> None:
    encoder = OpusEncoder()
    pcm = chirp(0.5)
    for i in range(len(pcm) // FRAME_SAMPLES):
        packet = encoder.encode(pcm[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES])
        assert isinstance(packet, bytes) and packet
        assert packet_samples(packet) == FRAME_SAMPLES


def test_encoder_reports_the_libopus_look_ahead() -> None:
    assert OpusEncoder().pre_skip == PRE_SKIP == 312


def test_encode_pcm_pads_the_last_frame() -> None:
    packets = encode_pcm(chirp(0.5)[:FRAME_SAMPLES * 3 + 10])
    assert len(packets) == 4


def test_16_kbit_packets_average_about_40_bytes() -> None:
    packets = encode_pcm(chirp(3.0))
    mean = sum(map(len, packets)) / len(packets)
    assert 30 <= mean <= 55, mean
    constant = encode_pcm(chirp(1.0), vbr=False)
    assert {len(p) for p in constant} == {40}


def test_round_trip_keeps_energy_and_shape_after_codec_delay() -> None:
    pcm = chirp(2.0)
    decoded = decode_packets(encode_pcm(pcm))
    assert decoded.dtype == np.int16 and decoded.shape == (len(pcm),)
    lag, corr = best_lag(pcm, decoded)
    assert abs(lag - PRE_SKIP) <= 16, lag
    assert corr > 0.8, corr
    aligned = decoded[lag:]
    assert 0.5 < rms(aligned) / rms(pcm[:len(aligned)]) < 1.5


def test_concealment_uses_libopus_plc_and_fades() -> None:
    pcm = chirp(1.0, 440, 440)  # steady tone: PLC should continue it
    packets = encode_pcm(pcm)
    decoder = OpusDecoder()
    for p in packets[:20]:
        decoder.decode(p)
    concealed = [decoder.conceal() for _ in range(8)]
    assert all(c.shape == (FRAME_SAMPLES,) and c.dtype == np.int16 for c in concealed)
    levels = [rms(c) for c in concealed]
    assert levels[0] > 500  # not silence: the tone is extrapolated
    assert levels[-1] < levels[0] / 4  # and fades out over a few losses
    # decoding resumes normally after the gap
    assert rms(decoder.decode(packets[28])) > 0


def test_conceal_before_any_packet_is_silence() -> None:
    out = OpusDecoder().conceal()
    assert out.shape == (FRAME_SAMPLES,) and not out.any()


def test_decode_packets_conceals_none_in_place() -> None:
    packets: list[bytes | None] = list(encode_pcm(chirp(0.4)))
    packets[5] = None
    packets[6] = None
    out = decode_packets(packets)
    assert len(out) == len(packets) * FRAME_SAMPLES


def test_encoder_rejects_wrong_frames() -> None:
    encoder = OpusEncoder()
    with pytest.raises(AudioError):
        encoder.encode(np.zeros(100, np.int16))
    with pytest.raises(AudioError):
        wrong: Any = np.zeros(FRAME_SAMPLES, np.float32)
        encoder.encode(wrong)


def test_garbage_packet_raises_audio_error() -> None:
    with pytest.raises(AudioError):
        OpusDecoder().decode(bytes([0xFF, 0xFF, 0xFF]))


def test_bad_settings_raise_audio_error() -> None:
    with pytest.raises(AudioError):
        OpusEncoder(bitrate=100)
    with pytest.raises(AudioError):
        OpusEncoder(expected_loss_pct=101)


@pytest.mark.parametrize(
    ("toc", "samples"),
    [(0x08, 960), (0x00, 480), (0x18, 2880), (0x78, 960), (0xF8, 960), (0x80, 120),
     (0x09, 1920)],
)
def test_packet_samples_reads_the_toc(toc: int, samples: int) -> None:
    assert packet_samples(bytes([toc, 0])) == samples


def test_packet_samples_code_3_and_empty() -> None:
    assert packet_samples(bytes([0x0B, 0x03])) == 3 * 960
    with pytest.raises(AudioError):
        packet_samples(b"")
