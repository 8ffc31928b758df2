"""Recording files: round trip, crash tolerance, format checks and exports."""

from __future__ import annotations

import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.audio import FRAME_SAMPLES, PRE_SKIP, SAMPLE_RATE, encode_pcm, read_audio
from siaga.errors import AudioError
from siaga.recording import (
    MAGIC,
    RecordingWriter,
    export_ogg,
    export_wav,
    read_recording,
)
from siaga.wire import FLAG_END, FLAG_SEALED, AudioFrame


def voice_frames(count: int, start_seq: int = 100) -> list[AudioFrame]:
    t = np.arange(count * FRAME_SAMPLES) / SAMPLE_RATE
    pcm = (7000 * np.sin(2 * np.pi * 330 * t)).astype(np.int16)
    packets = encode_pcm(pcm)
    return [
        AudioFrame(talkgroup=3, stream=77, seq=(start_seq + i) & 0xFFFFFFFF, timestamp=i * 20,
                   payload=p, flags=FLAG_END if i == count - 1 else 0)
        for i, p in enumerate(packets)
    ]


def record(path: Path, frames: list[AudioFrame]) -> None:
    with RecordingWriter(path) as writer:
        for i, frame in enumerate(frames):
            writer.write(i * 20, frame.encode())


frame_strategy = st.builds(
    AudioFrame,
    talkgroup=st.integers(0, 0xFFFF),
    stream=st.integers(0, 0xFFFFFFFF),
    seq=st.integers(0, 0xFFFFFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=1500),
    flags=st.sampled_from([0, FLAG_END, FLAG_SEALED, FLAG_END | FLAG_SEALED]),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 0xFFFFFFFF), frame_strategy), max_size=20))
def test_round_trip(records: list[tuple[int, AudioFrame]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.rec"
        with RecordingWriter(path) as writer:
            for offset, frame in records:
                writer.write(offset, frame.encode())
        contents = read_recording(path)
    assert contents.frames == records
    assert not contents.truncated


@settings(max_examples=50, deadline=None)
@given(st.lists(frame_strategy, min_size=1, max_size=8), st.data())
def test_any_torn_tail_reads_as_a_prefix(frames: list[AudioFrame], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.rec"
        record(path, frames)
        whole = path.read_bytes()
        cut = data.draw(st.integers(0, len(whole) - 1))
        path.write_bytes(whole[:cut])
        contents = read_recording(path)
    got = [f for _, f in contents.frames]
    assert got == frames[:len(got)]
    assert len(got) < len(frames)
    assert contents.truncated == (cut not in _record_boundaries(frames))


def _record_boundaries(frames: list[AudioFrame]) -> set[int]:
    """Byte lengths at which a file ends exactly between records (never truncated there)."""
    pos = len(MAGIC) + 2
    ends = {pos}
    for frame in frames:
        pos += 6 + len(frame.encode())
        ends.add(pos)
    return ends


def test_header_is_written_on_creation_and_frames_on_flush(tmp_path: Path) -> None:
    path = tmp_path / "live.rec"
    writer = RecordingWriter(path)
    assert path.read_bytes() == MAGIC + b"\x00\x01"
    frame = voice_frames(1)[0]
    writer.write(0, frame.encode())
    writer.flush(sync=True)
    assert read_recording(path).frames == [(0, frame)]  # readable while still open
    writer.close()
    writer.close()
    assert writer.closed
    with pytest.raises(AudioError):
        writer.write(20, frame.encode())


def test_never_overwrites_an_existing_recording(tmp_path: Path) -> None:
    path = tmp_path / "x.rec"
    record(path, voice_frames(2))
    with pytest.raises(AudioError):
        RecordingWriter(path)
    assert len(read_recording(path).frames) == 2


def test_writer_rejects_invalid_frames_and_offsets(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path / "x.rec") as writer:
        with pytest.raises(AudioError):
            writer.write(0, b"short")
        with pytest.raises(AudioError):
            writer.write(-1, voice_frames(1)[0].encode())
    assert read_recording(tmp_path / "x.rec").frames == []


def test_bad_magic_and_version(tmp_path: Path) -> None:
    path = tmp_path / "bad.rec"
    path.write_bytes(b"NOTAREC!\x00\x01")
    with pytest.raises(AudioError, match="magic"):
        read_recording(path)
    path.write_bytes(MAGIC + b"\x00\x02")
    with pytest.raises(AudioError, match="version"):
        read_recording(path)
    path.write_bytes(b"RIFF")
    with pytest.raises(AudioError):
        read_recording(path)


def test_header_cut_short_is_an_empty_truncated_recording(tmp_path: Path) -> None:
    path = tmp_path / "crash.rec"
    path.write_bytes(MAGIC[:5])
    contents = read_recording(path)
    assert contents.frames == [] and contents.truncated


def test_corrupt_frame_inside_the_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "c.rec"
    record(path, voice_frames(2))
    data = bytearray(path.read_bytes())
    data[len(MAGIC) + 2 + 6] = 9  # protocol version byte of the first frame
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError):
        read_recording(path)


def test_export_wav_conceals_a_missing_frame(tmp_path: Path) -> None:
    frames = voice_frames(25, start_seq=0xFFFFFFFF - 5)  # crosses the u32 wrap
    del frames[10]
    src = tmp_path / "gap.rec"
    record(src, frames)
    dst = tmp_path / "gap.wav"
    export_wav(src, dst)
    with wave.open(str(dst)) as w:
        assert w.getframerate() == SAMPLE_RATE
        assert w.getnframes() == 25 * FRAME_SAMPLES - PRE_SKIP
    pcm = read_audio(dst)
    gap = pcm[10 * FRAME_SAMPLES - PRE_SKIP:11 * FRAME_SAMPLES - PRE_SKIP]
    assert np.sqrt(np.mean(gap.astype(np.float64) ** 2)) > 500  # concealed, not silent


def test_export_ogg_remuxes_and_keeps_gaps(tmp_path: Path) -> None:
    frames = voice_frames(20)
    del frames[4:6]
    src = tmp_path / "r.rec"
    record(src, frames)
    dst = tmp_path / "r.ogg"
    export_ogg(src, dst)
    assert len(read_audio(dst)) == 20 * FRAME_SAMPLES - PRE_SKIP
    wav = tmp_path / "r.wav"
    export_wav(src, wav)
    assert len(read_audio(wav)) == len(read_audio(dst))


def test_export_skips_duplicates(tmp_path: Path) -> None:
    frames = voice_frames(6)
    src = tmp_path / "d.rec"
    record(src, [*frames[:3], frames[2], *frames[3:]])
    dst = tmp_path / "d.wav"
    export_wav(src, dst)
    assert len(read_audio(dst)) == 6 * FRAME_SAMPLES - PRE_SKIP


def test_sealed_recording_cannot_be_exported(tmp_path: Path) -> None:
    frame = AudioFrame(1, 2, 3, 0, b"\x00" * 40, FLAG_SEALED)
    src = tmp_path / "s.rec"
    record(src, [frame])
    assert read_recording(src).sealed
    for export, name in ((export_wav, "s.wav"), (export_ogg, "s.ogg")):
        with pytest.raises(AudioError, match="encrypted"):
            export(src, tmp_path / name)
        assert not (tmp_path / name).exists()
