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
    "scene_tps": ("TPS melapor: dibuka, pemungutan suara, surat suara, logistik",
                  "Polling stations report: open, voting, ballots cast, logistics"),
    "tps_board": ("Papan pemilu: {n} dari {total} TPS melapor, partisipasi {pct:.1f}%",
                  "Election board: {n} of {total} polling stations reported, turnout {pct:.1f}%"),
    "tps_relocated": ("TPS {tps} terendam dan dipindahkan ke {place}",
                      "Polling station {tps} is flooded and moved to {place}"),
    "flood_reported": ("Banjir dilaporkan: {affected} warga terdampak, {evacuated} mengungsi; "
                       "perahu masih kurang {outstanding}",
                       "Flood reported: {affected} people affected, {evacuated} evacuated; "
                       "{outstanding} boats still needed"),
    "direct_sent": ("Pesan langsung gubernur ke {to}: tersegel untuk HT-nya, {state}",
                    "Governor's direct message to {to}: sealed to their HT, {state}"),
    "sitrep_written": ("Laporan situasi (Markdown dan PDF) disimpan: {path}",
                       "Situation report (Markdown and PDF) filed: {path}"),
    "console_address": ("Konsol peramban: {url}  — masuk sebagai Gubernur Jambi dengan kode "
                        "{code}",
                        "Browser console: {url}  — sign in as Gubernur Jambi with code {code}"),
    "console_hold": ("Konsol tetap aktif di {url} : bicaralah dengan kabupaten/kota. Tekan "
                     "Enter atau Ctrl-C untuk selesai.",
                     "Console stays on at {url} : talk to the regencies. Press Enter or Ctrl-C "
                     "to end."),
    "console_bye": ("Konsol ditutup.", "Console closed."),
    "demo_api": ("API HTTP dan dokumentasinya: {url}", "HTTP API and its docs: {url}"),
    "sum_operations": ("Operasi pemilu dan banjir", "Election and flood operations"),
    "sum_operations_value": ("{tps} laporan TPS, {flood} laporan banjir, partisipasi {turnout}",
                             "{tps} TPS reports, {flood} flood reports, turnout {turnout}"),
    "sum_direct": ("Pesan langsung", "Direct message"),
    "sum_sitrep": ("Laporan situasi", "Situation report"),
    "verified": ("terverifikasi", "verified"),
    "not_verified": ("TIDAK terverifikasi", "NOT verified"),
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
    # ---- sitrep and boards ----
    "sr_title": ("Laporan Situasi — {where}", "Situation Report — {where}"),
    "sr_generated": ("Dibuat {when} (WIB = UTC+7)", "Generated {when} (WIB = UTC+7)"),
    "sr_page": ("Halaman {n}", "Page {n}"),
    "sr_province": ("Ringkasan provinsi", "Province summary"),
    "sr_election": ("Pemilu", "Election"),
    "sr_flood": ("Banjir dan darurat", "Floods and emergencies"),
    "sr_turnout_chart": ("Partisipasi pemilih per kabupaten/kota (TPS yang sudah melapor)",
                         "Voter turnout by regency (polling stations that reported)"),
    "sr_no_data": ("belum ada data", "no data yet"),
    "sr_election_reported": ("{reported}/{total} TPS melapor", "{reported}/{total} polling "
                             "stations reported"),
    "sr_election_ballots": ("{ballots} suara dari DPT {voters} di TPS yang melapor suara; "
                            "partisipasi {turnout}",
                            "{ballots} ballots of {voters} registered voters where ballots "
                            "were reported; turnout {turnout}"),
    "sr_disrupted": ("TPS terganggu: {ids}", "Disrupted polling stations: {ids}"),
    "sr_relocated": ("TPS dipindah: {ids}", "Relocated polling stations: {ids}"),
    "sr_relocated_to": ("ke {place}", "to {place}"),
    "sr_tps": ("TPS", "Polling station"),
    "sr_village": ("Desa/Kelurahan", "Village"),
    "sr_status": ("Status", "Status"),
    "sr_ballots": ("Suara / DPT", "Ballots / voters"),
    "sr_turnout": ("Partisipasi", "Turnout"),
    "sr_incidents": ("Kejadian", "Incidents"),
    "sr_logistics": ("Logistik", "Logistics"),
    "sr_updated": ("Diperbarui", "Updated"),
    "sr_note": ("Catatan", "Note"),
    "sr_unreported": ("Belum melapor: {ids}", "Not yet reported: {ids}"),
    "sr_and_more": ("dan {n} lainnya", "and {n} more"),
    "sr_no_tps": ("Tidak ada TPS terdaftar.", "No polling stations registered."),
    "sr_flood_summary": ("{active} kejadian aktif, {receding} surut, {closed} selesai; "
                         "terdampak {affected}, dievakuasi {evacuated}, di pengungsian "
                         "{sheltered} (kapasitas {capacity})",
                         "{active} incidents active, {receding} receding, {closed} closed; "
                         "{affected} affected, {evacuated} evacuated, {sheltered} in shelters "
                         "(capacity {capacity})"),
    "sr_needs_open": ("permintaan terbuka: {needs}", "open supply requests: {needs}"),
    "sr_incident": ("Kejadian", "Incident"),
    "sr_water": ("Air (cm)", "Water (cm)"),
    "sr_affected": ("Terdampak", "Affected"),
    "sr_evacuated": ("Dievakuasi", "Evacuated"),
    "sr_sheltered": ("Pengungsian", "Sheltered"),
    "sr_needs": ("Kebutuhan belum terpenuhi", "Outstanding needs"),
    "sr_no_incidents": ("Tidak ada kejadian banjir.", "No flood incidents."),
    "sr_orders": ("Perintah terbuka", "Open orders"),
    "sr_order_by": ("Dari", "From"),
    "sr_order_to": ("Kepada", "To"),
    "sr_order_text": ("Isi", "Text"),
    "sr_order_due": ("Tenggat", "Due"),
    "sr_order_copied": ("Diterima", "Copied"),
    "sr_order_pending": ("Belum menjawab", "Pending"),
    "sr_order_done": ("Selesai", "Done"),
    "sr_order_escalations": ("Eskalasi", "Escalations"),
    "sr_no_orders": ("Tidak ada perintah terbuka.", "No open orders."),
    "sr_silent": ("Stasiun diam pada absensi terakhir", "Silent stations at the last roll call"),
    "sr_name": ("Nama", "Name"),
    "sr_region": ("Wilayah", "Region"),
    "sr_rollcall_at": ("Absensi", "Roll call"),
    "sr_province_level": ("Provinsi", "Province"),
    "sr_no_silent": ("Semua stasiun menjawab.", "Every station answered."),
    "sr_emergencies": ("Panggilan darurat terakhir", "Recent emergencies"),
    "sr_talkgroup": ("Talkgroup", "Talkgroup"),
    "sr_raised_by": ("Oleh", "Raised by"),
    "sr_at": ("Waktu", "At"),
    "sr_cleared": ("Diakhiri", "Cleared"),
    "sr_still_active": ("masih berlangsung", "still active"),
    "sr_no_emergencies": ("Tidak ada panggilan darurat.", "No emergencies."),
    "sr_tps_preparing": ("persiapan", "preparing"),
    "sr_tps_open": ("dibuka", "open"),
    "sr_tps_voting": ("pemungutan suara", "voting"),
    "sr_tps_counting": ("penghitungan", "counting"),
    "sr_tps_finished": ("selesai", "finished"),
    "sr_tps_disrupted": ("terganggu", "disrupted"),
    "sr_tps_relocated": ("dipindah", "relocated"),
    "sr_kind_flooding": ("banjir", "flooding"),
    "sr_kind_logistics_delay": ("logistik terlambat", "logistics delay"),
    "sr_kind_security": ("keamanan", "security"),
    "sr_kind_power": ("listrik padam", "power cut"),
    "sr_kind_other": ("lainnya", "other"),
    "sr_logistics_dispatched": ("dikirim", "dispatched"),
    "sr_logistics_arrived": ("tiba", "arrived"),
    "sr_logistics_returned": ("dikembalikan", "returned"),
    "sr_flood_active": ("aktif", "active"),
    "sr_flood_receding": ("surut", "receding"),
    "sr_flood_closed": ("selesai", "closed"),
    "sr_need_food": ("pangan", "food"),
    "sr_need_water": ("air bersih", "water"),
    "sr_need_boats": ("perahu", "boats"),
    "sr_need_medicine": ("obat-obatan", "medicine"),
    "sr_need_shelter": ("tenda/hunian", "shelter"),
    "sr_need_other": ("lainnya", "other"),
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
