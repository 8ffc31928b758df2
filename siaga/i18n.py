"""Words the operators read: Bahasa Indonesia first, English second.

One catalog for every user-facing line of the CLI and the demo, so a translation is one edit
and a missing one is caught by a test rather than shown as a key.
"""

from __future__ import annotations

import os
from typing import Final

LANGS: Final = ("id", "en")

CATALOG: Final[dict[str, tuple[str, str]]] = {
    # radio log
    "talk_start": ("{who} mulai bicara{tags}", "{who} starts talking{tags}"),
    "talk_stop": ("{who} selesai ({outcome}, {secs:.1f} dtk)",
                  "{who} done ({outcome}, {secs:.1f} s)"),
    "late": (" [masuk terlambat]", " [late entry]"),
    "granted": ("{who}: izin bicara diberikan dalam {ms:.1f} ms (batas {limit} dtk)",
                "{who}: floor granted in {ms:.1f} ms (limit {limit} s)"),
    "granted_queued": ("{who}: izin bicara diberikan setelah antre {secs:.1f} dtk",
                       "{who}: floor granted after {secs:.1f} s in the queue"),
    "queued": ("{who}: antre, posisi {pos}", "{who}: queued, position {pos}"),
    "denied": ("{who}: ditolak — {reason}", "{who}: denied — {reason}"),
    "revoked": ("{who}: dihentikan — {reason}", "{who}: cut off — {reason}"),
    "emergency_on": ("DARURAT dari {who}! Semua anggota disiagakan",
                     "EMERGENCY from {who}! All members alerted"),
    "emergency_off": ("Status darurat diakhiri oleh {who}", "Emergency cleared by {who}"),
    "joined": ("{who} bergabung ke {tg}", "{who} joins {tg}"),
    "late_entry": ("{who} masuk terlambat: mendengar siaran berjalan setelah {ms:.0f} ms",
                   "{who} late entry: hears the ongoing call after {ms:.0f} ms"),
    "heard": ("{who} mendengar {n} paket suara dari {talker}",
              "{who} heard {n} voice packets from {talker}"),
    # outcomes and reasons
    "completed": ("selesai", "completed"),
    "preempted": ("didahului", "pre-empted"),
    "timed_out": ("batas waktu habis", "time limit reached"),
    "connection_lost": ("koneksi putus", "connection lost"),
    "interrupted": ("terputus", "interrupted"),
    "time_limit": ("batas waktu bicara habis", "transmit time limit reached"),
    "emergency": ("panggilan darurat", "emergency call"),
    "prio_emergency": ("darurat", "emergency"),
    "prio_command": ("prioritas komando", "command priority"),
    # demo narrative
    "demo_title": ("Siaga — simulasi hari pemungutan suara dan banjir di Provinsi Jambi",
                   "Siaga — election-day and flood simulation in Jambi Province"),
    "demo_server": ("Server berjalan di {url} (data: {data})",
                    "Server running at {url} (data: {data})"),
    "demo_stations": ("{n} stasiun terhubung: gubernur, 11 kepala daerah, Polda, BPBD, operator",
                      "{n} stations connected: governor, 11 regional heads, police, BPBD, "
                      "operator"),
    "demo_enrolled": ("{n} perangkat didaftarkan dengan kode sekali pakai; masuk dengan tanda "
                      "tangan perangkat (identitas: {path})",
                      "{n} devices enrolled with one-time codes; sign-in by device signature "
                      "(identities: {path})"),
    "demo_keys": ("Kunci talkgroup dibuat oleh perangkat admin dan disegel untuk tiap perangkat "
                  "({n} talkgroup): server tidak dapat mendengar",
                  "Talkgroup keys made by the admin's device and sealed to each device "
                  "({n} talkgroups): the server cannot listen"),
    "scene": ("— {text} —", "— {text} —"),
    "scene_rollcall": ("Absensi jaringan komando oleh operator posko provinsi",
                       "Roll call of the command net by the provincial operator"),
    "rollcall_done": ("Absensi selesai: {n}/{total} menjawab, median {median:.1f} dtk; "
                      "diam: {silent}",
                      "Roll call closed: {n}/{total} answered, median {median:.1f} s; "
                      "silent: {silent}"),
    "scene_order": ("Perintah gubernur yang wajib dijawab", "An order that must be acknowledged"),
    "order_copied": ("{who}: perintah diterima (copy)", "{who}: order copied"),
    "order_done": ("{who}: perintah selesai", "{who}: order done"),
    "order_escalated": ("{who}: perintah belum dijawab — diulang ({n}x), operator disiagakan",
                        "{who}: order not acknowledged — repeated ({n}x), operator alerted"),
    "order_issued": ("{who}: perintah dikirim", "{who}: order issued"),
    "state_issued": ("dikirim", "issued"),
    "state_copied": ("diterima", "copied"),
    "state_done": ("selesai", "done"),
    "state_escalated": ("tereskalasi", "escalated"),
    "sum_orders": ("Perintah (status terakhir)", "Orders (latest state)"),
    "sum_positions": ("Posisi anggota di peta", "Member positions on the map"),
    "sum_rollcall": ("Absensi komando (menjawab)", "Command-net roll call (answered)"),
    "scene_open": ("Gubernur membuka jaringan komando",
                   "The governor opens the command net"),
    "scene_replies": ("Laporan dari kabupaten/kota (antrean bicara)",
                      "Reports from the regencies (floor queue)"),
    "scene_preempt": ("Gubernur mendahului Polda di jaringan gabungan",
                      "The governor pre-empts the police on the joint net"),
    "scene_emergency": ("Banjir di Tanjung Jabung Timur: panggilan darurat",
                        "Flood in Tanjung Jabung Timur: emergency call"),
    "scene_limit": ("Laporan logistik Merangin melewati batas waktu {limit} dtk",
                    "Merangin logistics report runs past the {limit} s limit"),
    "scene_close": ("Gubernur menutup siaran", "The governor closes"),
    "summary": ("Ringkasan", "Summary"),
    "sum_tx": ("Transmisi", "Transmissions"),
    "sum_access": ("Waktu akses izin bicara p50 / p95 / maks",
                   "Floor access time p50 / p95 / max"),
    "sum_relay": ("Latensi relay server p50 / p95 / maks", "Server relay latency p50 / p95 / max"),
    "sum_queue": ("Lama antre sebelum bicara", "Time waited in the floor queue"),
    "sum_late": ("Waktu masuk terlambat", "Late-entry time"),
    "sum_frames": ("Paket suara diteruskan / dibuang", "Voice packets relayed / dropped"),
    "sum_rec": ("Rekaman tersimpan", "Recordings stored"),
    "sum_outcomes": ("Hasil transmisi", "Transmission outcomes"),
    "sum_messages": ("Pesan", "Messages"),
    "sum_messages_value": ("{n} pesan tersegel terkirim; {receipts} tanda terima",
                           "{n} sealed messages sent; {receipts} receipts"),
    "alert_published": ("Peringatan publik CAP 1.2 bertanda tangan diterbitkan: {path}",
                        "Signed CAP 1.2 public alert published: {path}"),
    "sum_alerts": ("Peringatan publik (CAP 1.2)", "Public alerts (CAP 1.2)"),
    "sum_devices": ("Perangkat terdaftar", "Devices enrolled"),
    "sum_audit": ("Log audit", "Audit log"),
    "sum_e2e": ("Enkripsi ujung ke ujung", "End-to-end encryption"),
    "sum_e2e_value": ("{sealed}/{heard} siaran diterima tersegel dan terverifikasi; "
                      "{rejected} paket ditolak",
                      "{sealed}/{heard} transmissions heard sealed and verified; "
                      "{rejected} packets refused"),
    "sum_duration": ("Durasi simulasi", "Simulation time"),
    "rec_hint": ("Dengarkan: siaga recordings list --data-dir {data}, lalu siaga recordings "
                 "export ID -o siaran.wav --identity {data}/identities/auditor.json "
                 "(rekaman tersegel: hanya pemegang kunci yang dapat membukanya)",
                 "Listen: siaga recordings list --data-dir {data}, then siaga recordings "
                 "export ID -o call.wav --identity {data}/identities/auditor.json "
                 "(recordings are sealed: only a key holder can open them)"),
}


def lang_from_env() -> str:
    lang = os.environ.get("SIAGA_LANG", "id")
    return lang if lang in LANGS else "id"


def t(key: str, lang: str = "id", **fields: object) -> str:
    """The text for ``key`` in ``lang``, with ``fields`` filled in."""
    texts = CATALOG[key]
    text = texts[LANGS.index(lang)] if lang in LANGS else texts[0]
    return text.format(**fields) if fields else text


__all__ = ["CATALOG", "LANGS", "lang_from_env", "t"]
