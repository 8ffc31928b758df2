"""Live playout: jitter, loss and silence between transmissions, with time stepped by hand."""

from __future__ import annotations

import numpy as np

from siaga.audio.opus import FRAME_SAMPLES, SAMPLE_RATE, OpusEncoder, frames
from siaga.client.player import SILENCE, Player
from siaga.wire import FLAG_END, AudioFrame


def speech_like(seconds: float) -> np.ndarray:
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    return (np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t) * 9000).astype(np.int16)


def packets(seconds: float) -> list[bytes]:
    enc = OpusEncoder()
    return [enc.encode(f) for f in frames(speech_like(seconds))]


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(float) ** 2)))


def test_silence_when_nobody_talks() -> None:
    player = Player("komando")
    assert all(player.tick(t * 0.02) is SILENCE for t in range(10))


def test_plays_every_frame_once_despite_reordering_and_conceals_a_loss() -> None:
    pk = packets(1.0)
    player = Player("komando", target_ms=60)
    # Arrival order with jitter: pairs swapped, frame 20 lost, last one flagged END.
    order = [i ^ 1 for i in range(len(pk)) if (i ^ 1) < len(pk)]
    order.remove(20)
    out: list[np.ndarray] = []
    now = 0.0
    for n, seq in enumerate(order):
        flags = FLAG_END if seq == len(pk) - 1 else 0
        player.push(AudioFrame(1, 7, seq, seq * 20, pk[seq], flags), now)
        if n >= 3:
            out.append(player.tick(now))
        now += 0.02
    player.end(7)
    for _ in range(20):
        out.append(player.tick(now))
        now += 0.02
    assert player.frames_played == len(pk) - 1
    assert player.frames_concealed == 1
    voiced = [chunk for chunk in out if rms(chunk) > 500]
    assert len(voiced) >= len(pk) - 3
    assert all(len(chunk) == FRAME_SAMPLES for chunk in out)
    assert rms(out[-1]) == 0.0  # back to silence after the transmission


def test_two_transmissions_play_one_after_the_other() -> None:
    a, b = packets(0.2), packets(0.2)
    player = Player("x", target_ms=20)
    for i, p in enumerate(a):
        player.push(AudioFrame(1, 1, i, i * 20, p), 0.0)
    for i, p in enumerate(b):
        player.push(AudioFrame(1, 2, i, i * 20, p), 0.0)
    player.end(1)
    player.end(2)
    played = [player.tick(0.1 + i * 0.02) for i in range(len(a) + len(b) + 2)]
    assert player.frames_played == len(a) + len(b)
    assert rms(played[-1]) == 0.0
