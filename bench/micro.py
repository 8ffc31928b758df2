"""Client-side cost of end-to-end encryption, one operation at a time (timeit, one process).

Run by ``bench/run.py`` (after the load phases, when nothing else runs); standalone:
``.venv/bin/python bench/micro.py``. Every operation is the real function from siaga/crypto.py
with the sizes of the benchmark: talkgroup ``tg0000``, a 40-byte Opus packet (one 20 ms frame at
16 kbit/s), a fresh envelope per call where the real client makes one per call.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HEADER, PAYLOAD_BYTES, group_id

from siaga.crypto import (
    DeviceKeys,
    GroupKey,
    ReplayWindow,
    make_envelope,
    new_nonce,
    open_envelope,
    peek_envelope,
    stream_key,
)
from siaga.wire import FLAG_SEALED

OPUS_BYTES = 40
FRAME_US = 20_000.0


def wire_sizes() -> dict[str, int]:
    """Bytes on the wire with and without end-to-end encryption, as the load generator sends."""
    keys = DeviceKeys.generate()
    tg = group_id(0)
    env = make_envelope(keys, tg, 1, time.time())
    plain = json.dumps({"type": "floor_request", "talkgroup": tg})
    sealed = json.dumps({"type": "floor_request", "talkgroup": tg, "e2e": env})
    return {"envelope_chars": len(env), "floor_request_plain": len(plain.encode()),
            "floor_request_sealed": len(sealed.encode()),
            "frame_plain": HEADER.size + PAYLOAD_BYTES,
            "frame_sealed": HEADER.size + PAYLOAD_BYTES + 16}


def crypto_micro(repeats: int = 5, min_time: float = 0.1) -> list[dict[str, Any]]:
    """Median microseconds per call of each client-side operation, over ``repeats`` runs of
    about ``min_time`` seconds each."""
    keys = DeviceKeys.generate()
    tg = group_id(0)
    gk = GroupKey.generate(tg, 1)
    nonce = new_nonce(16)
    env = make_envelope(keys, tg, gk.epoch, time.time(), nonce=nonce)
    cipher = stream_key(gk, nonce, keys.public.device_id)
    pub = keys.public
    directory = {pub.device_id: pub}
    packet = bytes(OPUS_BYTES)
    header = HEADER.pack(1, FLAG_SEALED, 1, 7, 1234, 1234 * 20)
    sealed = cipher.seal(header, packet)
    window = ReplayWindow()
    seq = iter(range(1 << 62))

    def verify() -> None:
        # What a listener does per talker_start: find the device, verify, not seen before
        # (a fresh set each call, so the nonce check passes as it does for a new envelope).
        open_envelope(env, directory[peek_envelope(env).device_id], talkgroup=tg,
                      now=time.time(), max_age=600.0, seen=set())

    def open_frame() -> None:
        cipher.open(header, sealed)
        window.check(next(seq))

    ops: list[tuple[str, str, bool, Any]] = [
        ("make_envelope (sign the PTT envelope)", "talker, per PTT press", False,
         lambda: make_envelope(keys, tg, gk.epoch, time.time())),
        ("peek_envelope + open_envelope (verify)", "each listener, per transmission", False,
         verify),
        ("stream_key (HKDF-SHA256 + AES-GCM key setup)",
         "talker and each listener, per transmission", False,
         lambda: stream_key(gk, nonce, pub.device_id)),
        (f"StreamCipher.seal, {OPUS_BYTES}-byte packet", "talker, per 20 ms frame", True,
         lambda: cipher.seal(header, packet)),
        (f"StreamCipher.open, {OPUS_BYTES}-byte packet", "each listener, per 20 ms frame", True,
         lambda: cipher.open(header, sealed)),
        ("StreamCipher.open + ReplayWindow.check", "each listener, per 20 ms frame", True,
         open_frame),
    ]
    out = []
    for name, who, per_frame, fn in ops:
        timer = timeit.Timer(fn)
        number, _ = timer.autorange()
        number = max(1, int(number * min_time / 0.2))  # autorange: >= 0.2 s
        runs = [t / number * 1e6 for t in timer.repeat(repeats, number)]
        out.append({"op": name, "who": who, "per_frame": per_frame,
                    "us": statistics.median(runs), "us_min": min(runs), "calls": number})
    return out


if __name__ == "__main__":
    print(json.dumps(wire_sizes()))
    for row in crypto_micro():
        print(f"{row['us']:8.2f} us (min {row['us_min']:.2f})  {row['op']}  [{row['who']}]")
