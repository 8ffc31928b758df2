"""The ``siaga`` command: serve a network, talk on it, replay its recordings, run the demo.

``main(argv)`` is the entry point so tests call the CLI directly, in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .errors import SiagaError

if TYPE_CHECKING:
    from .store import Recording, Store
    from .store.identity_sql import DeviceRegistry
    from .wire import AudioFrame

app = typer.Typer(
    name="siaga",
    help="Siaga — jaringan HT (push-to-talk) untuk pejabat provinsi. "
         "Push-to-talk radio network for a province's officials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _group(name: str, help: str) -> typer.Typer:
    """A sub-command group such as ``siaga admin``."""
    sub = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


recordings_app = _group("recordings", "Daftar dan ekspor rekaman. List and export recordings.")
admin_app = _group("admin", "Perangkat dan hak akses. Devices and access (admin).")
msg_app = _group("msg", "Pesan teks dan status. Text and status messages.")
alert_app = _group("alert", "Peringatan publik (CAP 1.2). Public alerts (CAP 1.2).")
rollcall_app = _group("rollcall", "Absensi radio. Roll call (radio check).")
positions_app = _group("positions", "Posisi anggota. Member positions.")
order_app = _group("order", "Perintah yang wajib dijawab. Orders to acknowledge.")
report_app = _group("report", "Laporan pemilu, banjir dan situasi. Election, flood and "
                              "situation reports.")
keys_app = _group("keys", "Kunci talkgroup (perangkat admin). Talkgroup keys (key keeper).")
audit_app = _group("audit", "Log audit. The tamper-evident audit log.")
tls_app = _group("tls", "Sertifikat TLS. TLS certificates.")

console = Console(emoji=False)  # ":ab:" in a fingerprint is data, not an emoji

DataDir = Annotated[Path | None, typer.Option(
    "--data-dir", help="Data directory (default: $SIAGA_DATA_DIR or ./siaga-data).")]
RosterFile = Annotated[Path | None, typer.Option(
    "--roster", help="Roster TOML file (default: the built-in Jambi Province roster).")]
Lang = Annotated[str, typer.Option("--lang", help="id (Bahasa Indonesia) or en.")]
CaFile = Annotated[Path | None, typer.Option(
    "--ca", help="Trust only this certificate (PEM) for a wss:// server, e.g. a field "
                 "server's self-signed one (default: the system's trusted CAs).")]


def _client_tls(server: str, ca: Path | None) -> ssl.SSLContext | None:
    if ca is None:
        return None
    if not server.lower().startswith("wss://"):
        raise typer.BadParameter("--ca needs a wss:// server URL", param_hint="--ca")
    from .client import client_context

    return client_context(ca)


def _run(coro: Coroutine[Any, Any, Any], use_uvloop: bool = False) -> Any:
    if use_uvloop:
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8750,
    roster: RosterFile = None,
    data_dir: DataDir = None,
    loop: Annotated[str, typer.Option(help="Event loop: asyncio or uvloop.")] = "uvloop",
    open_network: Annotated[bool, typer.Option(
        "--open", help="Let any roster member sign in without an enrolled device "
                       "(drills and labs only).")] = False,
    tls_cert: Annotated[Path | None, typer.Option(
        "--tls-cert", help="Serve wss:// with this certificate (PEM, with its chain).")] = None,
    tls_key: Annotated[Path | None, typer.Option(
        "--tls-key", help="The certificate's private key (PEM).")] = None,
    http_port: Annotated[int, typer.Option(
        help="Port of the HTTP API (OpenAPI docs at /docs); 0 turns it off.")] = 8751,
    tps: Annotated[Path | None, typer.Option(
        "--tps", help="TPS registry CSV (id,regency,district,village,number,lat,lon,voters); "
                      "default: the built-in Jambi sample.")] = None,
    sitrep_every: Annotated[float, typer.Option(
        help="Write a sitrep (Markdown + PDF) to DATA/sitreps every this many seconds; "
             "0: never.", min=0)] = 0.0,
) -> None:
    """Jalankan server. Run the server until Ctrl-C (recordings are finished on shutdown).

    Devices must be enrolled (siaga admin enroll, then siaga enroll on the device) unless
    --open is given. With --tls-cert and --tls-key the server speaks wss:// only."""
    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither",
                                 param_hint="--tls-cert/--tls-key")
    from .election import load_tps_registry
    from .roster import load_roster
    from .server import Server, server_context
    from .store import data_dir as resolve_data_dir
    from .store import open_store
    from .web import console_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    the_roster = load_roster(roster)
    registry = (load_tps_registry(set(the_roster.regions), tps) if tps is not None else None)
    directory = resolve_data_dir(data_dir)
    tls = (server_context(tls_cert, tls_key)
           if tls_cert is not None and tls_key is not None else None)

    async def main() -> None:
        store = open_store(directory)
        server = Server(the_roster, store, directory, host=host, port=port,
                        require_auth=not open_network, ssl=tls,
                        http_port=http_port or None, tps=registry,
                        sitrep_every=sitrep_every or None)
        await server.start()
        console.print(f"Siaga: {the_roster.network} — {server.url} (data: {directory})")
        if server.http_url:
            console.print(f"HTTP API: {server.http_url}api/v1 — dokumentasi/docs: "
                          f"{server.http_url}docs")
        if open_network:
            console.print("[yellow]Jaringan TERBUKA: tanpa pendaftaran perangkat. "
                          "OPEN network: no device enrollment.[/yellow]")
        console.print(f"Konsol/console: {console_url(server.url)}", highlight=False)
        stop = asyncio.Event()
        loop_ = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop_.add_signal_handler(sig, stop.set)
        await stop.wait()
        console.print("Menutup server… / shutting down…")
        await server.close()
        store.close()

    _run(main(), use_uvloop=loop == "uvloop")


@app.command()
def enroll(
    code: Annotated[str, typer.Option(help="One-time code from the admin.")],
    member: Annotated[str, typer.Option("--as", help="Member id the code was issued for.")],
    identity: Annotated[Path, typer.Option(help="Where to keep this device's identity.")],
    server: Annotated[str, typer.Option(help="Server URL.")] = "ws://127.0.0.1:8750/",
    label: Annotated[str, typer.Option(help="A name for this device, e.g. 'HT Bupati'.")] = "",
    ca: CaFile = None,
) -> None:
    """Daftarkan perangkat ini. Enroll this device: its keys are made here and never leave."""
    from .client import Client

    tls = _client_tls(server, ca)

    async def main() -> None:
        ident = await Client.enroll(server, code, member, label=label, ssl=tls)
        ident.save(identity)
        console.print(f"Terdaftar/enrolled: {ident.member} — perangkat/device {ident.device_id}"
                      f" → {identity}")

    _run(main())


@app.command()
def talk(
    talkgroup: Annotated[str, typer.Option("--talkgroup", "-t", help="Talkgroup id.")],
    member: Annotated[str | None, typer.Option(
        "--as", help="Member id (open networks; otherwise taken from --identity).")] = None,
    identity: Annotated[Path | None, typer.Option(
        help="This device's identity file (from siaga enroll).")] = None,
    server: Annotated[str, typer.Option(help="Server URL.")] = "ws://127.0.0.1:8750/",
    wav: Annotated[Path | None, typer.Option(
        "--send", help="Audio file (WAV or Ogg) to transmit, then exit.")] = None,
    listen: Annotated[float, typer.Option(help="Seconds to listen when not sending.")] = 30.0,
    out: Annotated[Path, typer.Option(help="Directory for WAV files of what was heard.")] = Path(
        "heard"),
    emergency: Annotated[bool, typer.Option(help="Transmit as an emergency call.")] = False,
    live: Annotated[Path | None, typer.Option(
        help="Also write what the loudspeaker would play (jitter buffer, concealment) to this "
             "WAV file.")] = None,
    ca: CaFile = None,
) -> None:
    """Kirim berkas suara ke talkgroup, atau dengarkan dan rekam. Send audio, or listen."""
    import numpy as np

    from .audio.files import read_audio, write_wav
    from .audio.opus import PCM, encode_pcm
    from .client import Client
    from .client.identity import Identity

    ident = Identity.load(identity) if identity is not None else None
    if ident is None and member is None:
        raise typer.BadParameter("give --identity (or --as on an open network)")
    tls = _client_tls(server, ca)

    async def main() -> None:
        async with await Client.connect(server, member, device=f"cli-{member}",
                                        identity=ident, ssl=tls) as radio:
            await radio.join(talkgroup)
            if wav is not None:
                packets = encode_pcm(read_audio(wav))
                tx = await radio.send_packets(talkgroup, packets, emergency=emergency)
                state = f"dihentikan/cut off: {tx.revoked}" if tx.revoked else "selesai/done"
                sealed = "tersegel/sealed" if tx.cipher else "TIDAK tersegel/NOT sealed"
                console.print(f"{len(tx.sent_at)}/{len(packets)} paket/packets, "
                              f"akses/access {tx.access_time * 1000:.1f} ms, {state}, {sealed}")
                return
            console.print(f"Mendengarkan/listening {talkgroup} {listen:g} s…")
            if live is None:
                await asyncio.sleep(listen)
            else:
                chunks: list[PCM] = []
                player = await radio.play(talkgroup, chunks.append, listen)
                write_wav(live, np.concatenate(chunks))
                console.print(f"Siaran langsung/live: {player.frames_played} paket/packets, "
                              f"{player.frames_concealed} disamarkan/concealed → {live}")
            out.mkdir(parents=True, exist_ok=True)
            for r in radio.heard(talkgroup):
                path = out / f"{talkgroup}-{r.stream}-{r.member.id}.wav"
                r.write_wav(path)
                # Say which protection each call had; never leave the user to assume it.
                if r.verified_member is not None:
                    how = f"tersegel, terverifikasi/sealed, verified: {r.verified_member}"
                elif r.sealed:
                    how = f"tersegel, TIDAK terbuka/sealed, NOT opened ({r.problem})"
                else:
                    how = "tidak tersegel/not sealed"
                console.print(f"{r.member.name}: {len(r.frames)} paket/packets, {how} → {path}")

    _run(main())


@recordings_app.command("list")
def recordings_list(
    data_dir: DataDir = None,
    talkgroup: Annotated[str | None, typer.Option("--talkgroup", "-t")] = None,
    member: Annotated[str | None, typer.Option("--member", "-m")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
) -> None:
    """Daftar rekaman terbaru. List recent recordings, newest first."""
    from .store import data_dir as resolve_data_dir
    from .store import open_store

    store = open_store(resolve_data_dir(data_dir))
    try:
        rows = store.list_recordings(talkgroup=talkgroup, member=member, limit=limit)
    finally:
        store.close()
    table = Table("id", "mulai/start", "talkgroup", "pembicara/talker", "prio", "dtk/s",
                  "hasil/outcome", "paket/frames")
    for r in rows:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at))
        prio = f"{r.priority}{' !' if r.emergency else ''}"
        dur = f"{r.duration:.1f}" if r.duration is not None else "…"
        table.add_row(str(r.id), started, r.talkgroup, r.member_name, prio, dur,
                      r.outcome or "…", str(r.frames))
    console.print(table)


@recordings_app.command("export")
def recordings_export(
    rec_id: Annotated[int, typer.Argument(help="Recording id (see `siaga recordings list`).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.wav or .ogg/.opus).")],
    identity: Annotated[Path | None, typer.Option(
        help="Identity of a device that held the talkgroup key (a member's, or an auditor's), "
             "for end-to-end sealed recordings.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Ekspor rekaman ke WAV atau Ogg Opus. Export a recording to WAV or Ogg Opus.

    Sealed recordings open only with the identity of a device that held the key: the server's
    files alone do not reveal the audio."""
    from .recording import export_ogg, export_wav
    from .store import data_dir as resolve_data_dir
    from .store import open_store

    suffix = out.suffix.lower()
    if suffix not in (".wav", ".ogg", ".opus"):
        raise typer.BadParameter("use a .wav, .ogg or .opus file name", param_hint="--out")
    directory = resolve_data_dir(data_dir)
    store = open_store(directory)
    try:
        rec = store.get_recording(rec_id)
        opener = _recording_opener(store, rec, identity) if rec.e2e else None
    finally:
        store.close()
    src = directory / rec.path
    if suffix == ".wav":
        export_wav(src, out, opener)
    else:
        export_ogg(src, out, opener)
    console.print(f"{rec.member_name} @ {rec.talkgroup} → {out}")


def _recording_opener(store: Store, rec: Recording,
                      identity_file: Path | None) -> Callable[[AudioFrame], AudioFrame]:
    """Open a sealed recording as the given device: its sealed copy of the talkgroup key (kept
    by the server), the talker's public keys, and the talker's signed envelope."""
    from . import wire
    from .client.identity import Identity
    from .client.keyring import Keyring
    from .crypto import DevicePublic, b64e, peek_envelope
    from .errors import ErrorCode, Refused
    from .store.identity_sql import DeviceRegistry
    from .store.keys_sql import KeyStore

    if identity_file is None:
        raise typer.BadParameter("this recording is end-to-end sealed: give --identity",
                                 param_hint="--identity")
    assert rec.e2e is not None
    ident = Identity.load(identity_file)
    envelope = peek_envelope(rec.e2e)
    registry = DeviceRegistry(store.engine)
    talker = registry.get(envelope.device_id)
    sealed = KeyStore(store.engine).for_device(ident.device_id, talkgroup=rec.talkgroup,
                                               epoch=envelope.epoch)
    keeper = registry.get(sealed[0].keeper) if sealed else None
    if talker is None or keeper is None:
        raise Refused(f"device {ident.device_id} never held the key of {rec.talkgroup} "
                      f"epoch {envelope.epoch}", ErrorCode.NOT_MEMBER)
    keyring = Keyring(ident.device_id, ident.keys, ident.keeper)
    k = sealed[0]
    if keyring.add_sealed(wire.Keys(
            talkgroup=k.talkgroup, epoch=k.epoch, keeper=k.keeper,
            keeper_sign=b64e(keeper.sign_pub), keeper_dh=b64e(keeper.dh_pub),
            sealed=b64e(k.sealed), sig=b64e(k.signature))) is None:
        raise Refused("the stored key does not open with this identity", ErrorCode.DECRYPT_FAILED)
    keyring.directory[talker.device_id] = (talker.member,
                                           DevicePublic(talker.sign_pub, talker.dh_pub))
    return keyring.recording_receiver(rec.e2e, rec.talkgroup).open


def _registry(data_dir: Path | None) -> tuple[Store, DeviceRegistry]:
    from .store import data_dir as resolve_data_dir
    from .store import open_store
    from .store.identity_sql import DeviceRegistry

    store = open_store(resolve_data_dir(data_dir))
    return store, DeviceRegistry(store.engine)


@admin_app.command("enroll")
def admin_enroll(
    member: Annotated[str | None, typer.Option(help="Roster member id.")] = None,
    name: Annotated[str | None, typer.Option(help="The person's name (to pick among several).")
                    ] = None,
    role: Annotated[str | None, typer.Option(
        help="gubernur, bupati, walikota, staf, polisi, damkar, bpbd, auditor, admin.")] = None,
    region: Annotated[str | None, typer.Option(help="Kabupaten/kota code, e.g. 15.04.")] = None,
    valid_hours: Annotated[float, typer.Option(min=0.1, max=24 * 14)] = 24.0,
    by: Annotated[str, typer.Option(help="Who issues the code (for the audit log).")] = "admin",
    roster_file: RosterFile = None,
    data_dir: DataDir = None,
) -> None:
    """Buat kode pendaftaran sekali pakai. Issue a one-time enrollment code for a person."""
    from .identity import code_hash, new_code, resolve_member
    from .roster import load_roster

    person = resolve_member(load_roster(roster_file), member=member, name=name, role=role,
                            region=region)
    code = new_code()
    now = time.time()
    store, registry = _registry(data_dir)
    try:
        registry.issue_code(code_hash(code), member=person.id, now=now,
                            expires_at=now + valid_hours * 3600, created_by=by)
        _audit(store, "enroll_issued", now, by, person.id, {"valid_hours": valid_hours})
    finally:
        store.close()
    console.print(f"{person.name} ({person.id}): kode/code [bold]{code}[/bold], berlaku/valid "
                  f"{valid_hours:g} jam/h. Di perangkat/on the device: siaga enroll "
                  f"--as {person.id} --code {code} --identity FILE")


Server = Annotated[str, typer.Option("--server", help="Server URL.")]
IdentityOpt = Annotated[Path | None, typer.Option(
    "--identity", help="This device's identity file (from siaga enroll).")]
AsMember = Annotated[str | None, typer.Option(
    "--as", help="Member id (open networks; otherwise taken from --identity).")]


async def _radio(server: str, identity: Path | None, member: str | None) -> Any:
    from .client import Client
    from .client.identity import Identity

    ident = Identity.load(identity) if identity is not None else None
    if ident is None and member is None:
        raise typer.BadParameter("give --identity (or --as on an open network)")
    return await Client.connect(server, member, device=f"cli-{member}", identity=ident)


@msg_app.command("send")
def msg_send(
    talkgroup: Annotated[str | None, typer.Option("--talkgroup", "-t", help="Talkgroup id.")
                         ] = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="A member id, for a direct (one-to-one) message.")] = None,
    text: Annotated[str | None, typer.Option(help="Free text (at most 1000 characters).")
                    ] = None,
    status: Annotated[str | None, typer.Option(
        help="A status code: tps_aman, banjir, butuh_bantuan, logistik_tiba, ...")] = None,
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
) -> None:
    """Kirim pesan ke talkgroup atau ke satu orang. Send a message to a talkgroup (-t) or to
    one member (--to); returns once the server has stored it."""
    if (text is None) == (status is None):
        raise typer.BadParameter("give --text or --status")
    if (talkgroup is None) == (to is None):
        raise typer.BadParameter("give --talkgroup or --to")

    async def main() -> None:
        radio = await _radio(server, identity, member)
        try:
            if to is not None:
                accepted = await radio.send_direct(to, text=text, status=status)
            else:
                assert talkgroup is not None
                if radio.keyring is not None:
                    await radio.key_ready(talkgroup)
                accepted = await radio.send_message(talkgroup, text=text, status=status)
        finally:
            await radio.close()
        sealed = "tersegel/sealed" if radio.keyring is not None else "tidak tersegel/not sealed"
        console.print(f"Tersimpan/stored: {accepted.id} → {accepted.recipients} penerima/"
                      f"recipients, {sealed}", highlight=False)

    _run(main())


@msg_app.command("inbox")
def msg_inbox(
    wait: Annotated[float, typer.Option(help="Seconds to wait for messages.")] = 2.0,
    read: Annotated[bool, typer.Option(help="Send read receipts for what is shown.")] = True,
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
) -> None:
    """Tampilkan pesan masuk. Show messages (those that waited while offline come first)."""

    async def main() -> None:
        radio = await _radio(server, identity, member)
        try:
            await asyncio.sleep(wait)
            table = Table("waktu/time", "talkgroup", "dari/from", "pesan/message",
                          "perlindungan/protection")
            statuses = {s.code: s.text_id for s in radio.welcome.status_codes}
            for m in radio.inbox.values():
                when = time.strftime("%H:%M:%S", time.localtime(m.sent_at))
                body = m.text if m.text is not None else statuses.get(m.status or "", m.status)
                how = ("tersegel, terverifikasi/sealed, verified" if m.verified else
                       f"TIDAK terbuka/NOT opened: {m.problem}" if m.sealed else
                       "tidak tersegel/not sealed")
                where = m.talkgroup or "(langsung/direct)"
                table.add_row(when, where, m.sender, body or "", how)
                if read:
                    await radio.mark_read(m.id)
            console.print(table)
            await asyncio.sleep(0.2)  # let the receipts leave
        finally:
            await radio.close()

    _run(main())


Headline = Annotated[str, typer.Option(help="Judul (Bahasa Indonesia).")]
Description = Annotated[str, typer.Option(help="Uraian (Bahasa Indonesia).")]
Instruction = Annotated[str, typer.Option(help="Petunjuk (Bahasa Indonesia).")]
HeadlineEn = Annotated[str | None, typer.Option(help="Optional English headline.")]
DescriptionEn = Annotated[str | None, typer.Option(help="English description.")]
Publisher = Annotated[Path, typer.Option("--identity", help="The publisher's device identity.")]
RegionCode = Annotated[str, typer.Option("--region", help="Kabupaten/kota code, e.g. 15.06.")]
PublishVia = Annotated[str | None, typer.Option(
    "--server", help="Publish through this server (ws://...): it checks the signature, the "
                     "schema and your right, then serves it. Else written to a local folder.")]
AlertsOut = Annotated[Path | None, typer.Option(
    "--out", help="Folder served to subscribers (default: the data directory's alerts/, which "
                  "`siaga serve` serves at /alerts/feed.xml).")]
BaseUrl = Annotated[str, typer.Option("--base-url", help="Where subscribers reach the server.")]


def _publish_alert(kind: str, identity: Path, region: str, roster_file: Path | None,
                   out: Path | None, via: str | None, base_url: str, data_dir: Path | None,
                   build: Callable[..., Any], wording: tuple[str, str, str],
                   english: tuple[str | None, str | None]) -> None:
    """What every public notice does: check the publisher may issue it for that region,
    build it, sign it with the publisher's device key, add it to the served folder and feed."""
    from .alerts import NoticeKind, Wording, authorise, publish
    from .alerts.archive import AlertArchive
    from .client.identity import Identity
    from .roster import load_roster
    from .store import data_dir as resolve_data_dir

    roster = load_roster(roster_file)
    ident = Identity.load(identity)
    member = roster.members.get(ident.member)
    where = roster.regions.get(region)
    if member is None or where is None:
        raise typer.BadParameter(f"unknown member {ident.member!r} or region {region!r}")
    authorise(member, NoticeKind(kind), region)
    headline_en, description_en = english
    en = (Wording(headline_en, description_en or headline_en)
          if headline_en is not None else None)
    now = time.time()
    alert = build(sender=ident.device_id, now=now, region=where, indonesian=Wording(*wording),
                  english=en, sender_name=member.name)
    if via is not None:  # the server checks signature, schema and rights, then serves it
        async def send() -> Any:
            radio = await _radio(via, identity, None)
            try:
                return await radio.publish_alert(alert)
            finally:
                await radio.close()
        notice = _run(send())
        console.print(f"CAP 1.2 → {via.replace('ws', 'http', 1).rstrip('/')}{notice.url} "
                      f"(+ .sig)", highlight=False)
        return
    folder = out if out is not None else resolve_data_dir(data_dir) / "alerts"
    archive = AlertArchive(folder)
    path = archive.add(publish(alert, ident.keys))
    archive.write_feed(now, base_url)
    console.print(f"CAP 1.2 → {path} (+ .sig), feed → {folder / 'feed.xml'} "
                  f"({base_url}/alerts/feed.xml)", highlight=False)


@alert_app.command("evacuation")
def alert_evacuation(
    region: RegionCode,
    level: Annotated[str, typer.Option(help="waspada, siaga or awas.")],
    headline: Headline,
    description: Description,
    identity: Publisher,
    instruction: Instruction = "",
    headline_en: HeadlineEn = None,
    description_en: DescriptionEn = None,
    out: AlertsOut = None,
    via: PublishVia = None,
    base_url: BaseUrl = "http://127.0.0.1:8750",
    roster_file: RosterFile = None,
    data_dir: DataDir = None,
) -> None:
    """Terbitkan peringatan evakuasi bertanda tangan. Publish a signed evacuation alert:
    CAP 1.2, schema-checked, with a detached Ed25519 signature, and update the feed."""
    from functools import partial

    from .alerts import AlertLevel, evacuation

    try:
        alert_level = AlertLevel(level.capitalize())
    except ValueError as exc:
        raise typer.BadParameter("waspada, siaga or awas", param_hint="--level") from exc
    _publish_alert("evacuation", identity, region, roster_file, out, via, base_url, data_dir,
                   partial(evacuation, level=alert_level), (headline, description, instruction),
                   (headline_en, description_en))


@alert_app.command("aid-point")
def alert_aid_point(
    region: RegionCode,
    place: Annotated[str, typer.Option(help="Where aid is handed out.")],
    lat: Annotated[float, typer.Option(min=-90, max=90)],
    lon: Annotated[float, typer.Option(min=-180, max=180)],
    hours: Annotated[float, typer.Option(min=0.5, max=24 * 14, help="Open for how long.")],
    headline: Headline,
    description: Description,
    identity: Publisher,
    instruction: Instruction = "",
    headline_en: HeadlineEn = None,
    description_en: DescriptionEn = None,
    out: AlertsOut = None,
    via: PublishVia = None,
    base_url: BaseUrl = "http://127.0.0.1:8750",
    roster_file: RosterFile = None,
    data_dir: DataDir = None,
) -> None:
    """Umumkan titik bantuan. Announce an aid distribution point, open from now."""
    from functools import partial

    from .alerts import aid_point

    now = time.time()
    _publish_alert("aid_point", identity, region, roster_file, out, via, base_url, data_dir,
                   partial(aid_point, place=place, location=(lat, lon), opens=now,
                           closes=now + hours * 3600),
                   (headline, description, instruction), (headline_en, description_en))


@alert_app.command("tps-relocation")
def alert_tps_relocation(
    region: RegionCode,
    tps: Annotated[str, typer.Option(help="The polling station, e.g. 'TPS 003 Desa Sabak'.")],
    new_place: Annotated[str, typer.Option(help="Where it moved to.")],
    lat: Annotated[float, typer.Option(min=-90, max=90)],
    lon: Annotated[float, typer.Option(min=-180, max=180)],
    headline: Headline,
    description: Description,
    identity: Publisher,
    instruction: Instruction = "",
    headline_en: HeadlineEn = None,
    description_en: DescriptionEn = None,
    out: AlertsOut = None,
    via: PublishVia = None,
    base_url: BaseUrl = "http://127.0.0.1:8750",
    roster_file: RosterFile = None,
    data_dir: DataDir = None,
) -> None:
    """Umumkan pemindahan TPS. Announce a relocated polling station (TPS)."""
    from functools import partial

    from .alerts import tps_relocation

    _publish_alert("tps_relocation", identity, region, roster_file, out, via, base_url,
                   data_dir,
                   partial(tps_relocation, tps=tps, new_place=new_place, location=(lat, lon)),
                   (headline, description, instruction), (headline_en, description_en))


def _board_table(board: Any, roster: Any) -> Table:
    table = Table("anggota/member", "dtk/s", "cara/how", title=(
        f"{board.talkgroup}: {len(board.answered)}/{len(board.answered) + len(board.silent)} "
        "menjawab/answered"))
    for e in board.answered:
        name = roster.members[e.member].name if e.member in roster.members else e.member
        table.add_row(name, f"{e.seconds:.1f}", "PTT" if e.via == "ptt" else "tombol/key")
    for m in board.silent:
        name = roster.members[m].name if m in roster.members else m
        table.add_row(name, "-", "[red]diam/silent[/red]")
    return table


@rollcall_app.command("start")
def rollcall_start(
    talkgroup: Annotated[str, typer.Option("--talkgroup", "-t", help="Talkgroup to poll.")],
    timeout: Annotated[float, typer.Option(min=5, max=3600, help="Seconds to answer.")] = 60,
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
    roster_file: RosterFile = None,
) -> None:
    """Mulai absensi dan tunggu hasilnya. Poll a talkgroup and show who answered, how fast."""
    from .roster import load_roster

    roster = load_roster(roster_file)

    async def main() -> None:
        radio = await _radio(server, identity, member)
        try:
            board = await radio.start_rollcall(talkgroup, timeout=timeout)
            console.print(f"Absensi/roll call {board.id}: menunggu/waiting {timeout:g} s…")
            while not radio.boards[board.id].closed:
                await asyncio.sleep(0.1)
            console.print(_board_table(radio.boards[board.id], roster))
        finally:
            await radio.close()

    _run(main())


@rollcall_app.command("answer")
def rollcall_answer(
    wait: Annotated[float, typer.Option(help="Seconds to wait for a poll.")] = 30.0,
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
) -> None:
    """Jawab absensi. Answer the roll calls that arrive within --wait seconds."""

    async def main() -> None:
        radio = await _radio(server, identity, member)
        answered = 0
        try:
            loop = asyncio.get_running_loop()
            end = loop.time() + wait
            while loop.time() < end:
                for poll_id in list(radio.polls):
                    await radio.answer_rollcall(poll_id)
                    answered += 1
                if answered:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
        finally:
            await radio.close()
        console.print(f"{answered} absensi dijawab/roll calls answered")

    _run(main())


@rollcall_app.command("history")
def rollcall_history(
    talkgroup: Annotated[str | None, typer.Option("--talkgroup", "-t")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    data_dir: DataDir = None,
) -> None:
    """Riwayat absensi untuk dibandingkan. Past roll calls, to compare readiness over time."""
    import statistics

    from .store import data_dir as resolve_data_dir
    from .store import open_store
    from .store.rollcall_sql import RollcallStore

    store = open_store(resolve_data_dir(data_dir))
    try:
        past = RollcallStore(store.engine).history(talkgroup, limit)
    finally:
        store.close()
    table = Table("waktu/time", "talkgroup", "oleh/by", "menjawab/answered", "median dtk/s",
                  "diam/silent")
    for rc in past:
        secs = [a.seconds_after(rc.started_at) for a in rc.answers.values()]
        table.add_row(time.strftime("%Y-%m-%d %H:%M", time.localtime(rc.started_at)),
                      rc.talkgroup, rc.by, f"{len(rc.answers)}/{len(rc.expected)}",
                      f"{statistics.median(secs):.1f}" if secs else "-",
                      ", ".join(rc.silent()))
    console.print(table)


@positions_app.command("report")
def positions_report(
    lat: Annotated[float, typer.Option(min=-90, max=90)],
    lon: Annotated[float, typer.Option(min=-180, max=180)],
    accuracy: Annotated[float, typer.Option(min=0, help="Metres.")] = 0.0,
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
) -> None:
    """Laporkan posisi perangkat ini. Report this device's position."""

    async def main() -> None:
        radio = await _radio(server, identity, member)
        try:
            await radio.report_position(lat, lon, accuracy)
            await radio.ping()  # the report has reached the server
        finally:
            await radio.close()

    _run(main())


@report_app.command("tps")
def report_tps(
    tps: Annotated[str, typer.Option("--tps", help="TPS code, e.g. 15.06.01.01.001.")],
    status: Annotated[str | None, typer.Option(
        help="preparing, open, voting, counting, finished, disrupted or relocated.")] = None,
    ballots: Annotated[int | None, typer.Option(help="Ballots cast so far.")] = None,
    incident: Annotated[list[str] | None, typer.Option(
        help="flooding, logistics_delay, security, power or other (repeatable).")] = None,
    logistics: Annotated[str | None, typer.Option(
        help="Ballot logistics: dispatched, arrived or returned.")] = None,
    relocate_to: Annotated[str | None, typer.Option(help="New place (with --status "
                                                         "relocated, --lat, --lon).")] = None,
    lat: Annotated[float | None, typer.Option()] = None,
    lon: Annotated[float | None, typer.Option()] = None,
    note: Annotated[str | None, typer.Option(help="At most 500 characters.")] = None,
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
) -> None:
    """Laporan TPS. Report on a polling station; returns once the server has stored it."""
    moved = None
    if relocate_to is not None:
        if lat is None or lon is None:
            raise typer.BadParameter("--relocate-to needs --lat and --lon")
        moved = (relocate_to, lat, lon)
    fields: dict[str, Any] = {k: v for k, v in (
        ("status", status), ("ballots_cast", ballots), ("logistics", logistics),
        ("note", note), ("relocated_to", moved)) if v is not None}
    if incident:
        fields["incidents"] = incident

    _send_report(server, identity, member, lambda radio: radio.report_tps(tps, **fields))


@report_app.command("flood")
def report_flood(
    kind: Annotated[str, typer.Argument(help="incident, shelter, need or fulfilment.")],
    incident: Annotated[str | None, typer.Option(help="Incident id (you choose it).")] = None,
    regency: Annotated[str | None, typer.Option(help="Kabupaten/kota code (first report).")
                       ] = None,
    lat: Annotated[float | None, typer.Option()] = None,
    lon: Annotated[float | None, typer.Option()] = None,
    title: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="active, receding or closed.")] = None,
    water_level: Annotated[int | None, typer.Option(help="Water level, cm.")] = None,
    affected: Annotated[int | None, typer.Option(help="People affected.")] = None,
    evacuated: Annotated[int | None, typer.Option(help="People evacuated.")] = None,
    shelter: Annotated[str | None, typer.Option(help="Shelter id.")] = None,
    name: Annotated[str | None, typer.Option(help="Shelter name.")] = None,
    capacity: Annotated[int | None, typer.Option()] = None,
    occupants: Annotated[int | None, typer.Option()] = None,
    need: Annotated[str | None, typer.Option(help="Need id.")] = None,
    need_kind: Annotated[str | None, typer.Option(
        help="food, water, boats, medicine, shelter or other.")] = None,
    quantity: Annotated[int | None, typer.Option()] = None,
    unit: Annotated[str | None, typer.Option()] = None,
    note: Annotated[str | None, typer.Option()] = None,
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
) -> None:
    """Laporan banjir: kejadian, posko, kebutuhan, pemenuhan. A flood report."""
    if kind not in ("incident", "shelter", "need", "fulfilment"):
        raise typer.BadParameter("one of incident, shelter, need, fulfilment", param_hint="KIND")
    fields = {k: v for k, v in (
        ("incident", incident), ("regency", regency), ("lat", lat), ("lon", lon),
        ("title", title), ("status", status), ("water_level_cm", water_level),
        ("affected", affected), ("evacuated", evacuated), ("shelter", shelter),
        ("name", name), ("capacity", capacity), ("occupants", occupants), ("need", need),
        ("kind", need_kind), ("quantity", quantity), ("unit", unit), ("note", note))
        if v is not None}

    _send_report(server, identity, member, lambda radio: radio.report_flood(kind, **fields))


def _send_report(server: str, identity: Path | None, member: str | None,
                 send: Callable[[Any], Awaitable[Any]]) -> None:
    """Sign in, send one report, say it was stored (a refusal names the field)."""
    async def main() -> None:
        radio = await _radio(server, identity, member)
        try:
            accepted = await send(radio)
        finally:
            await radio.close()
        console.print(f"Tersimpan/stored: {accepted.id}", highlight=False)

    _run(main())


@report_app.command("board")
def report_board(
    board: Annotated[str, typer.Argument(help="election or flood.")],
    regency: Annotated[str | None, typer.Option(help="One kabupaten/kota.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the board as JSON.")] = False,
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
) -> None:
    """Papan pemilu atau banjir. The election or flood board, per kabupaten/kota."""
    if board not in ("election", "flood"):
        raise typer.BadParameter("election or flood", param_hint="BOARD")

    async def main() -> dict[str, Any]:
        radio = await _radio(server, identity, member)
        try:
            data: dict[str, Any] = await radio.board(board, regency)
            return data
        finally:
            await radio.close()

    data = _run(main())
    if as_json:
        import json

        console.print_json(json.dumps(data))
        return
    if board == "election":
        table = Table("kab/kota", "TPS", "dilaporkan/reported", "partisipasi/turnout",
                      "terganggu/disrupted", "dipindah/relocated")
        for r in [*data["regencies"], data["province"]]:
            turnout = f"{r['turnout'] * 100:.1f}%" if r["turnout"] is not None else "-"
            table.add_row(r["name"], str(r["tps_total"]), str(r["tps_reported"]), turnout,
                          ", ".join(r["disrupted"]) or "-", ", ".join(r["relocated"]) or "-")
    else:
        table = Table("kab/kota", "kejadian/incidents", "terdampak/affected",
                      "mengungsi/evacuated", "di posko/sheltered", "kebutuhan/needs open")
        for r in [*data["regencies"], data["province"]]:
            needs = ", ".join(f"{k} {v}" for k, v in r["needs_outstanding"].items() if v)
            table.add_row(r["name"], str(r["incidents"]), str(r["affected"]),
                          str(r["evacuated"]), str(r["sheltered"]), needs or "-")
    console.print(table)


@report_app.command("sitrep")
def report_sitrep(
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Folder for sitrep-*.md and .pdf (else Markdown is printed).")
                   ] = None,
    lang: Annotated[str, typer.Option(help="id or en.")] = "id",
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
) -> None:
    """Laporan situasi (sitrep) sekarang. The situation report now, as Markdown and PDF."""
    if lang not in ("id", "en"):
        raise typer.BadParameter("id or en", param_hint="--lang")

    async def main() -> tuple[str | bytes, str | bytes | None]:
        radio = await _radio(server, identity, member)
        try:
            markdown = await radio.sitrep("markdown", lang)
            pdf = await radio.sitrep("pdf", lang) if out is not None else None
            return markdown, pdf
        finally:
            await radio.close()

    markdown, pdf = _run(main())
    if out is None:
        console.print(markdown, markup=False, highlight=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    stem = out / time.strftime("sitrep-%Y%m%d-%H%M")
    stem.with_suffix(".md").write_text(str(markdown), encoding="utf-8")
    assert isinstance(pdf, bytes)
    stem.with_suffix(".pdf").write_bytes(pdf)
    console.print(f"{stem}.md, {stem}.pdf", highlight=False)


@positions_app.command("export")
def positions_export(
    out: Annotated[Path, typer.Option("--out", "-o", help="GeoJSON file to write.")],
    member: Annotated[str | None, typer.Option(help="Also this member's track.")] = None,
    since: Annotated[float, typer.Option(help="Track since (unix seconds).")] = 0.0,
    data_dir: DataDir = None,
    roster_file: RosterFile = None,
) -> None:
    """Ekspor posisi terakhir (dan jejak) ke GeoJSON. Export latest positions (and a track)."""
    import json

    from .positions import geojson
    from .roster import load_roster
    from .store import data_dir as resolve_data_dir
    from .store import open_store
    from .store.positions_sql import PositionStore

    roster = load_roster(roster_file)
    store = open_store(resolve_data_dir(data_dir))
    try:
        positions = PositionStore(store.engine)
        latest = positions.latest()
        tracks = {member: positions.track(member, since)} if member else None
    finally:
        store.close()
    names = {m.id: m.name for m in roster.members.values()}
    out.write_text(json.dumps(geojson(latest, tracks, names), ensure_ascii=False, indent=1),
                   encoding="utf-8")
    console.print(f"{len(latest)} posisi/positions → {out}")


@order_app.command("issue")
def order_issue(
    talkgroup: Annotated[str, typer.Option("--talkgroup", "-t", help="Talkgroup id.")],
    to: Annotated[list[str], typer.Option("--to", help="Recipient member id (repeat).")],
    text: Annotated[str, typer.Option(help="The order.")],
    due_in: Annotated[float, typer.Option(min=60, help="Seconds until it is due.")] = 3600,
    ack_within: Annotated[float, typer.Option(
        min=5, help="Seconds to answer 'copy' before it is repeated and escalated.")] = 600,
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
) -> None:
    """Beri perintah. Issue an order; returns once the server has stored it."""

    async def main() -> None:
        radio = await _radio(server, identity, member)
        try:
            if radio.keyring is not None:
                await radio.key_ready(talkgroup)
            status = await radio.issue_order(talkgroup, to, text, due_in=due_in,
                                             ack_within=ack_within)
        finally:
            await radio.close()
        console.print(f"Perintah/order {status.id} → {', '.join(to)}", highlight=False)

    _run(main())


@order_app.command("list")
def order_list(
    copy: Annotated[bool, typer.Option(help="Answer 'copy' to every order shown.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for orders.")] = 1.0,
    server: Server = "ws://127.0.0.1:8750/",
    identity: IdentityOpt = None,
    member: AsMember = None,
) -> None:
    """Perintah yang belum dijawab. Orders waiting for this member's answer."""

    async def main() -> None:
        radio = await _radio(server, identity, member)
        try:
            await asyncio.sleep(wait)
            table = Table("id", "dari/from", "perintah/order", "tenggat/due")
            for order_id, (msg, content) in radio.orders.items():
                due = time.strftime("%Y-%m-%d %H:%M", time.localtime(msg.due_at))
                table.add_row(order_id, msg.by, content.text or f"({content.problem})", due)
                if copy:
                    await radio.acknowledge_order(order_id)
            console.print(table)
            await asyncio.sleep(0.2)
        finally:
            await radio.close()

    _run(main())


@keys_app.command("rotate")
def keys_rotate(
    identity: Annotated[Path, typer.Option(help="The admin device's identity (the keeper).")],
    talkgroup: Annotated[list[str] | None, typer.Option(
        "--talkgroup", "-t", help="Talkgroup(s) to rotate (default: all of them).")] = None,
    server: Annotated[str, typer.Option(help="Server URL.")] = "ws://127.0.0.1:8750/",
    ca: Annotated[Path | None, typer.Option(help="Trust this certificate (wss://).")] = None,
    roster_file: RosterFile = None,
) -> None:
    """Buat kunci baru dan segel untuk tiap perangkat. Make each talkgroup's next key and seal
    it to every enrolled device: after enrolling new devices, and after revoking one."""
    from .client import Client
    from .client.identity import Identity
    from .client.tls import client_context
    from .roster import load_roster

    groups = talkgroup or list(load_roster(roster_file).talkgroups)
    ident = Identity.load(identity)
    context = client_context(ca) if ca is not None else None

    async def main() -> None:
        async with await Client.connect(server, identity=ident, ssl=context) as keeper:
            for tg in groups:
                gk = await keeper.publish_group_key(tg)
                console.print(f"{tg}: epoch {gk.epoch}")

    _run(main())


@keys_app.command("keeper")
def keys_keeper(
    identity: Annotated[Path, typer.Option(help="The admin device's identity (the keeper).")],
    server: Annotated[str, typer.Option(help="Server URL.")] = "ws://127.0.0.1:8750/",
    ca: Annotated[Path | None, typer.Option(help="Trust this certificate (wss://).")] = None,
    roster_file: RosterFile = None,
) -> None:
    """Jaga kunci terus-menerus. Run the key keeper: first keys for every talkgroup, then a new
    epoch whenever a member's device is enrolled or revoked (until Ctrl-C)."""
    from .client import Client
    from .client.identity import Identity
    from .client.tls import client_context
    from .roster import load_roster

    groups = list(load_roster(roster_file).talkgroups)
    ident = Identity.load(identity)
    context = client_context(ca) if ca is not None else None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def main() -> None:
        async with await Client.connect(server, identity=ident, ssl=context) as keeper:
            console.print(f"Penjaga kunci aktif/key keeper running for {len(groups)} "
                          "talkgroups")
            await keeper.keep_keys(groups)

    _run(main())


@admin_app.command("revoke")
def admin_revoke(
    device: Annotated[str, typer.Argument(help="Device id (see `siaga admin devices`).")],
    by: Annotated[str, typer.Option(help="Who revokes (for the audit log).")] = "admin",
    data_dir: DataDir = None,
) -> None:
    """Nonaktifkan HT yang hilang. Disable a lost or stolen device (cut off within a second).

    Then rotate the talkgroup keys (siaga keys rotate) so it cannot read what follows."""
    now = time.time()
    store, registry = _registry(data_dir)
    try:
        record = registry.revoke(device, now=now, by=by)
        if record is None:
            raise typer.BadParameter(f"no device {device!r}", param_hint="DEVICE")
        _audit(store, "revoked", now, by, device, {"member": record.member})
    finally:
        store.close()
    console.print(f"Perangkat/device {device} ({record.member}) dinonaktifkan/revoked. "
                  "A running `siaga keys keeper` rotates the keys now; otherwise: "
                  "siaga keys rotate --identity ADMIN.json")


@admin_app.command("devices")
def admin_devices(
    member: Annotated[str | None, typer.Option(help="Only this member's devices.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Daftar perangkat terdaftar. List enrolled devices."""
    from .crypto import DevicePublic, fingerprint

    store, registry = _registry(data_dir)
    try:
        rows = registry.devices(member=member)
    finally:
        store.close()
    table = Table("device", "anggota/member", "label", "sidik jari/fingerprint",
                  "terdaftar/enrolled", "status")
    for d in rows:
        enrolled = time.strftime("%Y-%m-%d %H:%M", time.localtime(d.enrolled_at))
        status = "dicabut/revoked" if d.revoked else "aktif/active"
        table.add_row(d.device_id, d.member, d.label,
                      fingerprint(DevicePublic(d.sign_pub, d.dh_pub)), enrolled, status)
    console.print(table)


def _audit(store: Store, kind: str, at: float, actor: str, subject: str,
           detail: dict[str, Any]) -> None:
    from .store.audit_sql import AuditLog

    AuditLog(store.engine).append(kind, at, actor, subject, detail)


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[str | None, typer.Option(
        help="A 'seq:hash' noted earlier (siaga audit list --anchor): also proves that no "
             "entry up to it was cut off the end.")] = None,
    data_dir: DataDir = None,
    lang: Lang = "id",
) -> None:
    """Periksa keutuhan log audit. Check the audit log for edited, deleted or re-ordered
    entries (exit code 1 if it is broken)."""
    from .audit import format_report, parse_anchor
    from .store import data_dir as resolve_data_dir
    from .store import open_store
    from .store.audit_sql import AuditLog

    if anchor is not None:
        parse_anchor(anchor)
    store = open_store(resolve_data_dir(data_dir))
    try:
        report = AuditLog(store.engine).verify(anchor=anchor)
    finally:
        store.close()
    console.print(format_report(report, lang), style="green" if report.ok else "bold red",
                  highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(min=1, max=100000)] = 50,
    show_anchor: Annotated[bool, typer.Option(
        "--anchor", help="Also print the anchor of the newest entry, to keep elsewhere.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Tampilkan entri terbaru. Show the newest audit entries."""
    from .audit import anchor
    from .store import data_dir as resolve_data_dir
    from .store import open_store
    from .store.audit_sql import AuditLog

    store = open_store(resolve_data_dir(data_dir))
    try:
        log = AuditLog(store.engine)
        head = log.head()
        first = max(0, (head.seq if head else 0) - limit)
        entries = log.entries(since_seq=first)
    finally:
        store.close()
    table = Table("#", "waktu/time", "jenis/kind", "pelaku/actor", "subjek/subject",
                  "rincian/detail")
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.at))
        table.add_row(str(e.seq), when, e.kind, e.actor, e.subject,
                      ", ".join(f"{k}={v}" for k, v in sorted(e.detail.items())))
    console.print(table)
    if show_anchor and head is not None:
        console.print(f"anchor: {anchor(head)}", highlight=False)


@tls_app.command("self-signed")
def tls_self_signed(
    cert: Annotated[Path, typer.Option("--cert", help="Where to write the certificate (PEM).")],
    key: Annotated[Path, typer.Option("--key", help="Where to write the private key (PEM, "
                                                    "readable by the owner only).")],
    host: Annotated[list[str] | None, typer.Option(
        "--host", help="DNS name or IP address the HTs use to reach the server (repeat for "
                       "several; default: localhost and 127.0.0.1).")] = None,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days the certificate is valid."
                                      )] = 825,
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Buat sertifikat swa-tanda tangan. Make a self-signed certificate for a field server
    without a CA; give the certificate (never the key) to each device: siaga talk --ca FILE."""
    from .server.tls import fingerprint, make_self_signed

    for path, hint in ((cert, "--cert"), (key, "--key")):
        if path.exists() and not force:
            raise typer.BadParameter(f"{path} exists (use --force to replace it)",
                                     param_hint=hint)
    hosts = host or ["localhost", "127.0.0.1"]
    made = make_self_signed(cert, key, hosts=hosts, days=days)
    console.print(f"Sertifikat/certificate → {cert}\nKunci/key → {key} (rahasia/secret)\n"
                  f"Nama/names: {', '.join(hosts)}; berlaku/valid {days} hari/days\n"
                  f"SHA-256: {fingerprint(made)}", highlight=False,
                  soft_wrap=True)  # operators compare the fingerprint whole, on one line


@app.command()
def demo(
    data_dir: DataDir = None,
    lang: Lang = "id",
    quick: Annotated[bool, typer.Option(help="Shortened scene (for tests).")] = False,
) -> None:
    """Simulasi hari pemilu dan banjir. Run the election-day and flood scene (< 1 minute)."""
    from .demo import run_demo
    from .store import data_dir as resolve_data_dir

    logging.basicConfig(level=logging.WARNING)
    _run(run_demo(resolve_data_dir(data_dir), console=console, lang=lang, quick=quick))


@app.command()
def roster(roster_file: RosterFile = None) -> None:
    """Tampilkan anggota dan talkgroup. Show the roster's members and talkgroups."""
    from .roster import ROLE_LABEL_ID, load_roster

    r = load_roster(roster_file)
    console.print(f"[bold]{r.network}[/bold] — {r.province}")
    members = Table("id", "nama/name", "peran/role", "wilayah/region")
    for m in r.members.values():
        members.add_row(m.id, m.name, ROLE_LABEL_ID[m.role], r.region_name(m.region))
    console.print(members)
    groups = Table("#", "id", "nama/name", "anggota/members", "bicara/transmit", "batas/limit s")
    for tg in r.talkgroups.values():
        groups.add_row(str(tg.number), tg.id, tg.name, str(len(tg.members)),
                       str(len(tg.transmitters)), f"{tg.time_limit:g}")
    console.print(groups)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code instead of exiting, so tests can call it."""
    try:
        result = app(args=argv, prog_name="siaga", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        console.print("dibatalkan / aborted")
        return 130
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        return int(getattr(exc, "exit_code", 2))
    except SiagaError as exc:
        console.print(f"[red]Galat/error {exc.code}:[/red] {exc.message}", highlight=False)
        return 1
    except ssl.SSLCertVerificationError as exc:
        console.print(f"[red]Sertifikat server ditolak/server certificate refused:[/red] "
                      f"{exc.verify_message} (--ca FILE?)", highlight=False)
        return 1
    return result if isinstance(result, int) else 0


def entry() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
