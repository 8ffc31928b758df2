"""The ``siaga`` command, called in process through ``siaga.cli.main``.

These tests are synchronous: the CLI runs its own event loop, and a real server for it runs in
a background thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import server_in_thread

from siaga import cli
from siaga.audio.files import read_audio, write_wav
from siaga.audio.opus import SAMPLE_RATE
from siaga.cli import main
from siaga.recording import read_recording
from siaga.server import Server
from siaga.store import open_store


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables are checked for whole names, so do not let Rich wrap them at 80 columns."""
    monkeypatch.setattr(cli.console, "width", 200)


@pytest.fixture
def threaded_server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """A real server on loopback, in its own thread and event loop."""
    data = tmp_path / "srv"
    with server_in_thread(data) as (server, _):
        yield server, data


def tone_wav(path: Path, seconds: float = 1.0) -> Path:
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    write_wav(path, (np.sin(2 * np.pi * 330 * t) * 8000).astype(np.int16))
    return path


def test_help_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["no-such-command"]) == 2


def test_roster_lists_jambi(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["roster"]) == 0
    out = capsys.readouterr().out
    assert "Gubernur Jambi" in out and "Komando Provinsi" in out and "Sungai Penuh" in out


def test_bad_roster_file_is_a_clear_error(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[network]\nname = "x"\nprovince = "y"\n[[members]]\nid = "a"\nname = "A"\n'
                   'role = "wizard"\n')
    assert main(["roster", "--roster", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "config" in out and "role" in out


def test_talk_send_and_listen_then_export(threaded_server: tuple[Server, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    server, data = threaded_server
    wav = tone_wav(tmp_path / "pesan.wav", 1.0)
    heard_dir = tmp_path / "heard"
    listener = threading.Thread(target=main, args=([
        "talk", "--as", "bupati-kerinci", "-t", "komando", "--server", server.url,
        "--listen", "2.5", "--out", str(heard_dir), "--live", str(tmp_path / "live.wav")],))
    listener.start()
    time.sleep(0.8)  # let the listener join before the call starts
    assert main(["talk", "--as", "gubernur", "-t", "komando", "--server", server.url,
                 "--send", str(wav)]) == 0
    listener.join(15)
    assert not listener.is_alive()
    files = list(heard_dir.glob("komando-*-gubernur.wav"))
    assert len(files) == 1
    heard = read_audio(files[0])
    assert abs(len(heard) / SAMPLE_RATE - 1.0) < 0.1
    assert np.sqrt(np.mean(heard.astype(float) ** 2)) > 1000
    live = read_audio(tmp_path / "live.wav")  # the loudspeaker: silence, the call, silence
    assert abs(len(live) / SAMPLE_RATE - 2.5) < 0.1
    loud = np.abs(live.reshape(-1, 960).astype(float)).mean(axis=1) > 500
    assert 0.8 < loud.sum() * 0.02 < 1.2

    capsys.readouterr()
    assert main(["recordings", "list", "--data-dir", str(data)]) == 0
    listing = capsys.readouterr().out
    assert "Gubernur Jambi" in listing and "completed" in listing

    store = open_store(data)
    try:
        [rec] = store.list_recordings()
    finally:
        store.close()
    assert read_recording(data / rec.path).frames
    out_wav = tmp_path / "export.wav"
    out_ogg = tmp_path / "export.ogg"
    assert main(["recordings", "export", str(rec.id), "-o", str(out_wav),
                 "--data-dir", str(data)]) == 0
    assert main(["recordings", "export", str(rec.id), "-o", str(out_ogg),
                 "--data-dir", str(data)]) == 0
    for path in (out_wav, out_ogg):
        assert abs(len(read_audio(path)) / SAMPLE_RATE - 1.0) < 0.1
    assert main(["recordings", "export", str(rec.id), "-o", str(tmp_path / "x.mp3"),
                 "--data-dir", str(data)]) == 2
    assert main(["recordings", "export", "999", "-o", str(out_wav),
                 "--data-dir", str(data)]) == 1


def test_talk_as_unknown_member_fails_cleanly(threaded_server: tuple[Server, Path],
                                              tmp_path: Path) -> None:
    server, _ = threaded_server
    wav = tone_wav(tmp_path / "x.wav", 0.2)
    assert main(["talk", "--as", "penyusup", "-t", "komando", "--server", server.url,
                 "--send", str(wav)]) == 1


def test_quick_demo_plays_the_whole_scene(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "demo"
    assert main(["demo", "--quick", "--data-dir", str(data), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    for expected in ("queued, position 1", "cut off — transmit time limit reached",
                     "cut off — pre-empted", "EMERGENCY from Bupati Tanjung Jabung Timur",
                     "late entry", "Emergency cleared by Gubernur Jambi", "Summary",
                     "Signed CAP 1.2 public alert published", "sealed and verified",
                     "Roll call closed", "silent: Wali Kota Sungai Penuh",
                     "order not acknowledged — repeated (1x), operator alerted",
                     "Bupati Muaro Jambi: order copied",
                     "is flooded and moved to SD Negeri 12 Muara Sabak",
                     "2 boats still needed", "sealed to their HT, verified",
                     "Situation report (Markdown and PDF) filed"):
        assert expected in out, expected
    store = open_store(data)
    try:
        recordings = store.list_recordings(limit=100)
    finally:
        store.close()
    outcomes = {r.outcome for r in recordings}
    assert {"completed", "preempted", "timed_out"} <= outcomes
    assert any(r.emergency for r in recordings)
    assert all((data / r.path).is_file() for r in recordings)
    # Again in the same data directory: the last run's devices are retired, not piled up.
    assert main(["demo", "--quick", "--data-dir", str(data)]) == 0
    store = open_store(data)
    try:
        from siaga.store.identity_sql import DeviceRegistry

        devices = DeviceRegistry(store.engine).devices()
    finally:
        store.close()
    assert sum(not d.revoked for d in devices) == len(devices) // 2
    assert (data / "alerts" / "feed.xml").is_file() and list((data / "alerts").glob("*.sig"))


def test_msg_send_and_inbox(threaded_server: tuple[Server, Path],
                            capsys: pytest.CaptureFixture[str]) -> None:
    server, _ = threaded_server
    url = server.url
    assert main(["msg", "send", "-t", "komando", "--text", "Laporkan situasi TPS", "--as",
                 "gubernur", "--server", url]) == 0
    assert main(["msg", "send", "-t", "komando", "--status", "banjir", "--as",
                 "bupati-tanjabtim", "--server", url]) == 0
    assert "12 penerima/recipients" in capsys.readouterr().out
    assert main(["msg", "inbox", "--as", "bupati-kerinci", "--server", url,
                 "--wait", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "Laporkan situasi TPS" in out and "Banjir" in out and "gubernur" in out
    assert main(["msg", "send", "-t", "komando", "--status", "pesta", "--as", "gubernur",
                 "--server", url]) == 1
    assert main(["msg", "send", "-t", "komando", "--as", "gubernur", "--server", url]) == 2
    # One to one: only the bupati of Muaro Jambi sees it, marked direct.
    assert main(["msg", "send", "--to", "bupati-muarojambi", "--text", "Telepon saya",
                 "--as", "gubernur", "--server", url]) == 0
    assert "1 penerima/recipients" in capsys.readouterr().out
    assert main(["msg", "inbox", "--as", "bupati-muarojambi", "--server", url,
                 "--wait", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "Telepon saya" in out and "langsung/direct" in out
    assert main(["msg", "send", "-t", "komando", "--to", "gubernur", "--text", "x",
                 "--as", "bupati-tebo", "--server", url]) == 2


def test_alert_evacuation_is_signed_valid_and_in_the_feed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from siaga.alerts import verify
    from siaga.alerts.archive import AlertArchive
    from siaga.client.identity import Identity
    from siaga.crypto import DeviceKeys

    gov = Identity(member="gubernur", keys=DeviceKeys.generate())
    gov.save(tmp_path / "gov.json")
    out = tmp_path / "alerts"
    args = ["alert", "evacuation", "--region", "15.06", "--level", "awas",
            "--headline", "Evakuasi warga Muara Sabak", "--description", "Banjir & <air> naik",
            "--headline-en", "Evacuate Muara Sabak", "--out", str(out)]
    assert main([*args, "--identity", str(tmp_path / "gov.json")]) == 0
    [signed] = AlertArchive(out).all()
    verify(signed, gov.keys.public)
    alert = signed.to_alert()
    assert alert.infos[0].language == "id-ID" and alert.infos[1].language == "en-US"
    assert alert.infos[0].description == "Banjir & <air> naik"
    assert alert.identifier.encode() in (out / "feed.xml").read_bytes()
    # A bupati may not warn another regency; a bad level is a usage error.
    tebo = Identity(member="bupati-tebo", keys=DeviceKeys.generate())
    tebo.save(tmp_path / "tebo.json")
    assert main([*args, "--identity", str(tmp_path / "tebo.json")]) == 1
    bad_level = [a if a != "awas" else "kiamat" for a in args]
    assert main([*bad_level, "--identity", str(tmp_path / "gov.json")]) == 2
    assert len(AlertArchive(out).all()) == 1


def test_rollcall_commands(threaded_server: tuple[Server, Path],
                           capsys: pytest.CaptureFixture[str]) -> None:
    server, data = threaded_server
    answerer = threading.Thread(target=main, args=([
        "rollcall", "answer", "--as", "bupati-tebo", "--server", server.url, "--wait", "5"],))
    answerer.start()
    time.sleep(0.5)
    assert main(["rollcall", "start", "-t", "tebo", "--timeout", "5", "--as",
                 "operator-provinsi", "--server", server.url]) == 0
    answerer.join(10)
    out = capsys.readouterr().out
    assert "Bupati Tebo" in out and "diam/silent" in out  # the governor and the operator
    time.sleep(0.3)
    assert main(["rollcall", "history", "--data-dir", str(data)]) == 0
    assert "1/3" in capsys.readouterr().out


def test_serve_publishes_the_alert_feed_over_http(threaded_server: tuple[Server, Path],
                                                  tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    from siaga.client.identity import Identity
    from siaga.crypto import DeviceKeys

    server, data = threaded_server
    gov = Identity(member="gubernur", keys=DeviceKeys.generate())
    gov.save(tmp_path / "gov.json")
    assert main(["alert", "evacuation", "--region", "15.06", "--level", "siaga",
                 "--headline", "Siaga banjir", "--description", "Air naik",
                 "--identity", str(tmp_path / "gov.json"), "--data-dir", str(data)]) == 0
    base = f"http://127.0.0.1:{server.port}"
    with urllib.request.urlopen(f"{base}/alerts/feed.xml", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("application/atom+xml")
        feed = response.read().decode()
    assert "Siaga banjir" in feed
    name = next(p.name for p in (data / "alerts").glob("siaga-*.xml"))
    with urllib.request.urlopen(f"{base}/alerts/{name}", timeout=5) as response:
        assert b"urn:oasis:names:tc:emergency:cap:1.2" in response.read()
    for bad in ("/alerts/../siaga.db", "/alerts/siaga.db", "/alerts/nothing.xml"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + bad, timeout=5)
        assert err.value.code == 404
        err.value.close()
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
        assert response.read() == b"ok\n"


def test_order_commands(threaded_server: tuple[Server, Path],
                        capsys: pytest.CaptureFixture[str]) -> None:
    server, _ = threaded_server
    url = server.url
    assert main(["order", "issue", "-t", "komando", "--to", "bupati-tebo", "--text",
                 "Kirim laporan TPS", "--as", "gubernur", "--server", url]) == 0
    order_id = capsys.readouterr().out.split()[1]
    assert main(["order", "list", "--copy", "--as", "bupati-tebo", "--server", url]) == 0
    assert "Kirim laporan TPS" in capsys.readouterr().out
    time.sleep(0.3)
    assert main(["order", "list", "--as", "bupati-tebo", "--server", url]) == 0
    assert order_id not in capsys.readouterr().out  # copied: no longer waiting
    assert main(["order", "issue", "-t", "komando", "--to", "polda", "--text", "x", "--as",
                 "gubernur", "--server", url]) == 1


def test_aid_point_and_tps_relocation_alerts(tmp_path: Path) -> None:
    from siaga.alerts import verify
    from siaga.alerts.archive import AlertArchive
    from siaga.client.identity import Identity
    from siaga.crypto import DeviceKeys

    head = Identity(member="bupati-tanjabtim", keys=DeviceKeys.generate())
    head.save(tmp_path / "head.json")
    out = tmp_path / "alerts"
    common = ["--region", "15.06", "--identity", str(tmp_path / "head.json"), "--out", str(out)]
    assert main(["alert", "aid-point", *common, "--place", "Kantor Camat Sabak",
                 "--lat", "-1.12", "--lon", "103.82", "--hours", "12",
                 "--headline", "Titik bantuan", "--description", "Beras dan air bersih"]) == 0
    assert main(["alert", "tps-relocation", *common, "--tps", "TPS 003 Desa Sabak",
                 "--new-place", "SD Negeri 5", "--lat", "-1.13", "--lon", "103.80",
                 "--headline", "TPS 003 pindah", "--description", "Banjir"]) == 0
    alerts = AlertArchive(out).all()
    assert len(alerts) == 2
    for signed in alerts:
        verify(signed, head.keys.public)
    # another regency's head may not speak for Tanjung Jabung Timur
    other = Identity(member="bupati-tebo", keys=DeviceKeys.generate())
    other.save(tmp_path / "other.json")
    assert main(["alert", "aid-point", "--region", "15.06", "--identity",
                 str(tmp_path / "other.json"), "--out", str(out), "--place", "X", "--lat", "0",
                 "--lon", "0", "--hours", "1", "--headline", "h", "--description", "d"]) == 1


def test_report_commands(threaded_server: tuple[Server, Path], tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    server, _ = threaded_server
    url = server.url
    tps = "15.06.01.01.001"
    assert main(["report", "tps", "--tps", tps, "--status", "relocated", "--incident",
                 "flooding", "--relocate-to", "SD 12 Muara Sabak", "--lat", "-1.12", "--lon",
                 "103.83", "--as", "operator-tanjabtim", "--server", url]) == 0
    assert main(["report", "tps", "--tps", tps, "--ballots", "-1", "--as",
                 "operator-tanjabtim", "--server", url]) == 1
    assert main(["report", "flood", "incident", "--incident", "banjir-sabak", "--regency",
                 "15.06", "--lat", "-1.12", "--lon", "103.82", "--title", "Banjir Muara Sabak",
                 "--affected", "900", "--as", "bupati-tanjabtim", "--server", url]) == 0
    assert main(["report", "flood", "need", "--incident", "banjir-sabak", "--need",
                 "perahu", "--need-kind", "boats", "--quantity", "4", "--unit", "unit",
                 "--as", "bpbd", "--server", url]) == 0
    capsys.readouterr()
    assert main(["report", "board", "election", "--as", "gubernur", "--server", url]) == 0
    assert tps in capsys.readouterr().out
    assert main(["report", "board", "flood", "--as", "gubernur", "--server", url]) == 0
    out = capsys.readouterr().out
    assert "boats" in out and "900" in out
    assert main(["report", "board", "flood", "--json", "--as", "bpbd", "--server", url]) == 0
    assert '"banjir-sabak"' in capsys.readouterr().out
    assert main(["report", "sitrep", "--lang", "en", "--as", "gubernur", "--server", url]) == 0
    assert "Tanjung Jabung Timur" in capsys.readouterr().out
    assert main(["report", "sitrep", "--out", str(tmp_path / "sr"), "--as", "gubernur",
                 "--server", url]) == 0
    assert len(list((tmp_path / "sr").glob("sitrep-*.pdf"))) == 1
    assert main(["report", "board", "weather", "--as", "gubernur", "--server", url]) == 2


def test_serve_refuses_a_bad_tps_registry(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "tps.csv"
    bad.write_text("id,regency,district,village,number,lat,lon,voters\n"
                   "15.99.1,15.99,X,Y,1,0,0,10\n", encoding="utf-8")
    assert main(["serve", "--tps", str(bad), "--data-dir", str(tmp_path / "d")]) == 1
    assert "line 2, column 'regency'" in capsys.readouterr().out
