"""Live playout of one talkgroup: what a radio's loudspeaker plays, 20 ms at a time.

Frames arrive with network jitter; :class:`Player` holds each transmission in a
:class:`~siaga.audio.jitter.JitterBuffer`, and on every 20 ms tick returns one frame of PCM —
decoded speech, libopus concealment for a lost frame, or silence between transmissions. It is
sans-I/O (time is passed in); :meth:`siaga.client.Client.play` drives it from a timer, and a
gateway to an analog radio would hand each frame to its sound card.
"""

from __future__ import annotations

import numpy as np

from ..audio.jitter import JitterBuffer, Lost
from ..audio.opus import FRAME_SAMPLES, PCM, OpusDecoder
from ..wire import AudioFrame

SILENCE: PCM = np.zeros(FRAME_SAMPLES, dtype=np.int16)


class _Stream:
    __slots__ = ("buffer", "decoder")

    def __init__(self, target_ms: int) -> None:
        self.buffer = JitterBuffer(target_ms=target_ms)
        self.decoder = OpusDecoder()


class Player:
    """Plays the transmissions of one talkgroup in the order they started."""

    def __init__(self, talkgroup: str, *, target_ms: int = 60) -> None:
        self.talkgroup = talkgroup
        self.target_ms = target_ms
        self._streams: dict[int, _Stream] = {}
        self.frames_played = 0
        self.frames_concealed = 0

    def push(self, frame: AudioFrame, now: float) -> None:
        stream = self._streams.get(frame.stream)
        if stream is None:
            stream = self._streams[frame.stream] = _Stream(self.target_ms)
        stream.buffer.push(frame.seq, frame.payload, now, end=frame.end)

    def end(self, stream_id: int) -> None:
        """The transmission is over: play out what is buffered, then move on."""
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.buffer.end_stream()

    def tick(self, now: float) -> PCM:
        """The next 20 ms of sound."""
        for stream_id, stream in list(self._streams.items()):
            item = stream.buffer.pop(now)
            if item is None:
                if stream.buffer.done:
                    del self._streams[stream_id]
                    continue
                return SILENCE  # still filling: the oldest transmission plays first
            if isinstance(item, Lost):
                self.frames_concealed += 1
                return stream.decoder.conceal()
            self.frames_played += 1
            return stream.decoder.decode(item)
        return SILENCE


__all__ = ["SILENCE", "Player"]
