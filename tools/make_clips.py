"""Generate the demo speech clips in ``siaga/data/clips`` (run once; the results are committed).

Each clip is synthesised in Bahasa Indonesia by espeak-ng (voice ``id``, a different variant,
pitch and speed per speaker so talkers are told apart), resampled to 48 kHz mono, long pauses
shortened (so the set stays under 300 KB), encoded with Siaga's own
:class:`~siaga.audio.OpusEncoder` at a constant 16 kbit/s and muxed to Ogg Opus, so the clips
are exactly what a Siaga client would put on the wire.

Usage: ``python tools/make_clips.py [--out DIR] [--espeak PATH]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from siaga.audio import SAMPLE_RATE, encode_pcm, read_audio, write_ogg_opus  # noqa: E402

#: Constant bitrate: every packet is exactly 40 bytes, which keeps the clip set under 300 KB.
BITRATE: Final = 16000
#: Longest pause kept inside a clip, and the amplitude below which a sample counts as silent.
MAX_PAUSE_S: Final = 0.18
SILENCE: Final = 200


class Speaker(NamedTuple):
    voice: str
    pitch: int
    speed: int = 180


GUBERNUR = Speaker("id+m3", 38, 170)
POLDA = Speaker("id+m7", 30)
BPBD = Speaker("id+f2", 55)

REGENCIES: dict[int, tuple[str, str, Speaker]] = {
    1501: ("Bupati", "Kerinci", Speaker("id+m1", 45)),
    1502: ("Bupati", "Merangin", Speaker("id+f1", 60)),
    1503: ("Bupati", "Sarolangun", Speaker("id+m2", 50)),
    1504: ("Bupati", "Batanghari", Speaker("id+m4", 42)),
    1505: ("Bupati", "Muaro Jambi", Speaker("id+f3", 58)),
    1506: ("Bupati", "Tanjung Jabung Timur", Speaker("id+m5", 48)),
    1507: ("Bupati", "Tanjung Jabung Barat", Speaker("id+m6", 44)),
    1508: ("Bupati", "Tebo", Speaker("id+f4", 62)),
    1509: ("Bupati", "Bungo", Speaker("id+m1", 55)),
    1571: ("Wali Kota", "Jambi", Speaker("id+f5", 57)),
    1572: ("Wali Kota", "Sungai Penuh", Speaker("id+m2", 36)),
}


def clips() -> dict[str, tuple[Speaker, str]]:
    """Clip name -> (speaker, text)."""
    table: dict[str, tuple[Speaker, str]] = {
        "gubernur_buka": (GUBERNUR, "Semua kepala daerah, di sini Gubernur Jambi. Laporkan "
                          "situasi pemungutan suara di wilayah masing-masing. Ganti."),
    }
    for code, (title, place, speaker) in REGENCIES.items():
        table[f"lapor_{code}"] = (speaker, f"Gubernur, di sini {title} {place}. TPS sudah "
                                  "dibuka, situasi aman dan lancar. Ganti.")
    table.update({
        "polda_patroli": (POLDA, "Di sini Polda Jambi. Patroli pengamanan TPS di Muara Bulian "
                          "berjalan normal, tidak ada gangguan, personel tetap siaga di lokasi."),
        "gubernur_potong": (GUBERNUR, "Semua unit, di sini Gubernur. Prioritaskan evakuasi "
                            "warga di daerah banjir. Ganti."),
        "darurat_1506": (REGENCIES[1506][2], "Darurat, darurat! Di sini Bupati Tanjung Jabung "
                         "Timur. Banjir merendam tiga TPS di Muara Sabak. Kami butuh perahu "
                         "dan bantuan evakuasi segera!"),
        "bpbd_jawab": (BPBD, "BPBD Provinsi menerima. Tim perahu karet berangkat ke Muara "
                       "Sabak sekarang. Ganti."),
        "logistik_panjang": (REGENCIES[1502][2], "Laporan logistik dari Kabupaten Merangin. "
                             "Kotak suara untuk kecamatan Bangko, Tabir, Pamenang, dan Sungai "
                             "Manau sudah tiba semua. Surat suara cadangan masih di gudang KPU "
                             "kabupaten, dan akan kami kirim besok pagi bersama petugas "
                             "pengamanan dari kepolisian resor. Jalan ke kecamatan Jangkat masih "
                             "licin setelah hujan, jadi pengiriman ke sana memerlukan kendaraan "
                             "dengan penggerak empat roda."),
        "gubernur_arahan": (GUBERNUR, "Terima kasih semua. Tetap pantau TPS yang rawan banjir, "
                            "dan laporkan setiap perubahan melalui jaringan ini. Gubernur, "
                            "selesai."),
    })
    return table


def synthesise(espeak: str, speaker: Speaker, text: str, wav: Path) -> None:
    subprocess.run(
        [espeak, "-v", speaker.voice, "-s", str(speaker.speed), "-p", str(speaker.pitch),
         "-w", str(wav), text],
        check=True,
    )


def tighten(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """Trim leading/trailing silence and cap pauses at :data:`MAX_PAUSE_S` to save bytes.

    espeak-ng pauses generously at every comma; a radio operator does not, and every 20 ms of
    silence still costs an Opus packet.
    """
    step = SAMPLE_RATE // 100  # 10 ms
    limit = round(MAX_PAUSE_S * 100)
    kept: list[npt.NDArray[np.int16]] = []
    quiet = 0
    for start in range(0, len(pcm), step):
        chunk = pcm[start:start + step]
        quiet = quiet + 1 if int(np.abs(chunk.astype(np.int32)).max()) < SILENCE else 0
        if quiet <= limit:
            kept.append(chunk)
    out = np.concatenate(kept)
    loud = np.flatnonzero(np.abs(out.astype(np.int32)) >= SILENCE)
    if len(loud) == 0:
        return out
    lead, tail = SAMPLE_RATE // 20, SAMPLE_RATE // 10  # 50 ms before, 100 ms after
    return out[max(0, int(loud[0]) - lead):int(loud[-1]) + tail]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "siaga" / "data" / "clips")
    parser.add_argument("--espeak", default="espeak-ng")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (speaker, text) in clips().items():
            wav = Path(tmp) / f"{name}.wav"
            synthesise(args.espeak, speaker, text, wav)
            packets = encode_pcm(tighten(read_audio(wav)), bitrate=BITRATE, vbr=False)
            target = args.out / f"{name}.ogg"
            write_ogg_opus(target, packets)
            size = target.stat().st_size
            total += size
            print(f"{name:18} {len(packets) * 0.02:6.2f} s {size:7d} B  {speaker.voice}")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
