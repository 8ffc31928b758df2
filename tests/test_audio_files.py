"""Audio files: WAV and Ogg Opus round trips, resampling, framing and the bundled clips."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from siaga.audio import (
    FRAME_SAMPLES,
    PRE_SKIP,
    SAMPLE_RATE,
    clip_path,
    encode_pcm,
    frames,
    list_clips,
    read_audio,
    write_ogg_opus,
    write_wav,
)
from siaga.errors import AudioError

EXPECTED_CLIPS = {
    "gubernur_buka", "polda_patroli", "gubernur_potong", "darurat_1506", "bpbd_jawab",
    "logistik_panjang", "gubernur_arahan",
    *(f"lapor_{code}" for code in (1501, 1502, 1503, 1504, 1505, 1506, 1507, 1508, 1509,
                                   1571, 1572)),
}


def tone(seconds: float, freq: float = 440.0, rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    t = np.arange(int(seconds * rate)) / rate
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def rms(x: npt.NDArray[np.int16]) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_frames_pads_the_last_frame_with_zeros() -> None:
    pcm = np.arange(1, 2 * FRAME_SAMPLES + 11, dtype=np.int16)
    chunks = list(frames(pcm))
    assert [c.shape for c in chunks] == [(FRAME_SAMPLES,)] * 3
    assert np.array_equal(np.concatenate(chunks)[:len(pcm)], pcm)
    assert not chunks[-1][10:].any()
    assert list(frames(np.zeros(0, np.int16))) == []


def test_wav_round_trip_is_exact(tmp_path: Path) -> None:
    pcm = tone(0.3)
    path = tmp_path / "a.wav"
    write_wav(path, pcm)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
    assert np.array_equal(read_audio(path), pcm)


def test_read_audio_resamples_and_downmixes(tmp_path: Path) -> None:
    rate = 22050
    mono = tone(1.0, 300.0, rate)
    stereo = np.stack([mono, mono], axis=1).reshape(-1)
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(stereo.astype("<i2").tobytes())
    pcm = read_audio(path)
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert abs(len(pcm) - SAMPLE_RATE) < 200
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(pcm)
    assert abs(peak_hz - 300) < 5


def test_ogg_opus_is_muxed_without_reencoding(tmp_path: Path) -> None:
    pcm = tone(1.0)
    packets = encode_pcm(pcm)
    path = tmp_path / "a.ogg"
    write_ogg_opus(path, packets)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        stored = [bytes(p) for p in container.demux(stream) if p.size]
    assert stored == packets
    decoded = read_audio(path)
    assert len(decoded) == len(packets) * FRAME_SAMPLES - PRE_SKIP
    assert rms(decoded) > 0.5 * rms(pcm)


def test_ogg_opus_header_and_granule(tmp_path: Path) -> None:
    packets = encode_pcm(tone(0.2))
    path = tmp_path / "b.ogg"
    write_ogg_opus(path, packets)
    data = path.read_bytes()
    head = data.index(b"OpusHead")
    _version, channels, pre_skip, rate = struct.unpack_from("<BBHI", data, head + 8)
    assert (channels, pre_skip, rate) == (1, PRE_SKIP, SAMPLE_RATE)
    last_page = data.rindex(b"OggS")
    granule = struct.unpack_from("<q", data, last_page + 6)[0]
    assert granule == len(packets) * FRAME_SAMPLES


def test_ogg_lost_frame_placeholder_keeps_duration(tmp_path: Path) -> None:
    packets = encode_pcm(tone(0.4))
    packets[5] = packets[5][:1]  # TOC only: a lost frame, concealed by the decoder
    path = tmp_path / "gap.ogg"
    write_ogg_opus(path, packets)
    assert len(read_audio(path)) == len(packets) * FRAME_SAMPLES - PRE_SKIP


def test_read_audio_errors(tmp_path: Path) -> None:
    with pytest.raises(AudioError):
        read_audio(tmp_path / "missing.wav")
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(b"this is not audio" * 10)
    with pytest.raises(AudioError):
        read_audio(junk)


def test_write_wav_rejects_non_pcm(tmp_path: Path) -> None:
    with pytest.raises(AudioError):
        write_wav(tmp_path / "x.wav", np.zeros((2, 10), np.int16))


def test_all_clips_are_bundled_and_small() -> None:
    assert set(list_clips()) == EXPECTED_CLIPS
    total = sum(clip_path(name).stat().st_size for name in EXPECTED_CLIPS)
    assert total < 300 * 1024


def test_clip_lookup_errors() -> None:
    with pytest.raises(AudioError):
        clip_path("no_such_clip")
    with pytest.raises(AudioError):
        clip_path("../README")


@pytest.mark.parametrize("name", ["gubernur_buka", "darurat_1506", "lapor_1571"])
def test_clip_is_speech(name: str) -> None:
    pcm = read_audio(clip_path(name))
    assert len(pcm) > SAMPLE_RATE
    assert rms(pcm) > 500
    # Speech has syllables and pauses: 50 ms energies vary strongly over time.
    block = SAMPLE_RATE // 20
    energies = np.array([rms(pcm[i:i + block]) for i in range(0, len(pcm) - block, block)])
    assert energies.std() > 0.3 * energies.mean()
    assert (energies < 0.2 * energies.max()).any() and (energies > 0.5 * energies.max()).any()


@pytest.mark.parametrize(("name", "minimum"), [("logistik_panjang", 14.0),
                                               ("gubernur_arahan", 6.0)])
def test_long_clips_are_long_enough(name: str, minimum: float) -> None:
    assert len(read_audio(clip_path(name))) / SAMPLE_RATE >= minimum
