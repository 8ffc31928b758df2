"""The browser console, tested as a person uses it: a real headless Chromium (Debian's
``chromium`` and ``chromium-driver``, driven by Selenium) against a real server on loopback,
with Python clients on the other end of the radio.

The browser's microphone is a speech WAV (Chromium's fake capture device), so what the
Python client hears can be compared with what was "said"; the other way, the page keeps the
PCM it decoded (for the history's replay), which the test reads back and compares with what
the Python client sent. Screenshots of the main screens are taken on the way; to refresh
``docs/screenshots/``, run with ``SIAGA_SCREENSHOTS=docs/screenshots``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pytest

from siaga import wire
from siaga.audio import clip_path, read_audio, read_opus_packets, write_wav
from siaga.audio.opus import decode_packets
from siaga.client import Client
from siaga.identity import code_hash, new_code
from siaga.roster import load_roster
from siaga.server import Server
from siaga.store import open_store
from siaga.store.identity_sql import DeviceRegistry

T = TypeVar("T")
#: Where screenshots go: docs/screenshots/ when refreshing them on purpose
#: (SIAGA_SCREENSHOTS=docs/screenshots), else a temporary folder, so a test run leaves the
#: work tree clean.
SHOTS = Path(os.environ["SIAGA_SCREENSHOTS"]) if os.environ.get("SIAGA_SCREENSHOTS") else None
#: The clip the browser's fake microphone plays (looped by Chromium).
MIC_CLIP = "gubernur_buka"
KEYED = ["komando", "gabungan"]
WAIT = 15.0

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


class Loop:
    """An event loop in a thread: the server and the Python stations live there, while the
    test (and Selenium, which blocks) runs in the main thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def spawn(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Network:
    loop: Loop
    server: Server
    registry: DeviceRegistry
    stations: dict[str, Client] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/"

    def code(self, member: str) -> str:
        code = new_code()
        now = time.time()
        self.registry.issue_code(code_hash(code), member=member, now=now, expires_at=now + 600,
                                 created_by="test")
        return code


def chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        if os.environ.get("CI"):  # CI installs them (scripts/test.sh): they must run there
            pytest.fail("chromium or chromium-driver missing in CI")
        pytest.skip("chromium and chromium-driver are not installed (scripts/test.sh installs "
                    "them with apt-get when run as root)")
    return browser, driver


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    data = tmp_path_factory.mktemp("web-data")
    loop = Loop()
    store = open_store(data)
    server = Server(load_roster(), store, data, port=0, require_auth=True)
    net = Network(loop, server, DeviceRegistry(store.engine))

    async def setup() -> None:
        await server.start()
        for member in ["admin", "bupati-kerinci", "operator-provinsi", "polda"]:
            identity = await Client.enroll(server.url, net.code(member), member)
            client = await Client.connect(server.url, identity=identity)
            net.stations[member] = client
        keeper = net.stations["admin"]
        for tg in KEYED:
            await keeper.publish_group_key(tg)
        # The keeper stays on duty: when the browser enrolls, it seals new keys to it too.
        net.keeper_task = asyncio.get_running_loop().create_task(keeper.keep_keys(KEYED))
        for member in ["bupati-kerinci", "operator-provinsi", "polda"]:
            client = net.stations[member]
            for tg in KEYED:
                if any(g.id == tg for g in client.welcome.talkgroups):  # type: ignore[union-attr]
                    await client.join(tg)
                    await client.key_ready(tg)

    loop.run(setup())
    try:
        yield net
    finally:
        async def teardown() -> None:
            net.keeper_task.cancel()
            for client in net.stations.values():
                await client.close()
            await net.server.close()  # the last test restarts it
        loop.run(teardown())
        loop.stop()
        store.close()


@pytest.fixture(scope="module")
def mic_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, npt.NDArray[np.int16]]:
    pcm = read_audio(clip_path(MIC_CLIP))
    path = tmp_path_factory.mktemp("mic") / "mic.wav"
    write_wav(path, pcm)
    return path, pcm


@pytest.fixture(scope="module")
def browser(mic_wav: tuple[Path, npt.NDArray[np.int16]],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    binary, driver_path = chromium()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-audio-capture={mic_wav[0]}",
                "--autoplay-policy=no-user-gesture-required", "--window-size=1400,1000",
                "--lang=id-ID"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.capabilities["siaga_shots"] = str(tmp_path_factory.mktemp("screenshots"))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = WAIT,
             what: str = "condition") -> Any:
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)
    except TimeoutException:
        logs = driver.get_log("browser")
        raise AssertionError(f"{what} not met; browser log: {logs[-20:]}") from None


def js(driver: WebDriver, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def shot(driver: WebDriver, name: str) -> None:
    folder = SHOTS or Path(driver.capabilities["siaga_shots"])
    folder.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(folder / f"{name}.png"))


def correlation(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> tuple[float, int]:
    """Peak of the normalised cross-correlation of ``a`` inside ``b`` (and its lag)."""
    a = a.astype(np.float64) - a.mean()
    b = b.astype(np.float64)
    n = len(a)
    spectrum = np.fft.rfft(b, len(b) + n) * np.conj(np.fft.rfft(a, len(b) + n))
    xc = np.fft.irfft(spectrum)[:len(b) - n + 1]
    sums = np.concatenate(([0.0], np.cumsum(b)))
    squares = np.concatenate(([0.0], np.cumsum(b * b)))
    window_sum = sums[n:] - sums[:-n]
    energy = squares[n:] - squares[:-n] - window_sum ** 2 / n
    scores = xc / np.sqrt(np.maximum(energy, 1e-9) * float(np.dot(a, a)))
    lag = int(np.argmax(scores))
    return float(scores[lag]), lag


def downsample(pcm: npt.NDArray[Any], factor: int = 6) -> npt.NDArray[np.float64]:
    """8 kHz is plenty to compare speech, and six times faster."""
    usable = len(pcm) // factor * factor
    return pcm[:usable].astype(np.float64).reshape(-1, factor).mean(axis=1)


def phase(driver: WebDriver) -> str:
    return str(js(driver, "return document.getElementById('floor-status').dataset.phase"))


def visible(driver: WebDriver, element_id: str) -> bool:
    return bool(js(driver, "const e = document.getElementById(arguments[0]); "
                           "return !!e && !e.hidden && e.offsetParent !== null", element_id))


def history_pcm(driver: WebDriver, index: int = 0) -> npt.NDArray[np.int16]:
    """The decoded PCM the page keeps for the history's replay, as 16-bit samples."""
    b64 = js(driver, """
        const pcm = window.siagaConsole.listener.history[arguments[0]].playout.pcm();
        const ints = new Int16Array(pcm.length);
        pcm.forEach((v, i) => {
          ints[i] = Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
        });
        let bin = '';
        const bytes = new Uint8Array(ints.buffer);
        for (let i = 0; i < bytes.length; i += 8192) {
          bin += String.fromCharCode(...bytes.subarray(i, i + 8192));
        }
        return btoa(bin);""", index)
    return np.frombuffer(base64.b64decode(b64), dtype="<i2")


def test_1_enroll_and_sign_in(network: Network, browser: WebDriver) -> None:
    browser.get(network.url)
    wait_for(browser, lambda d: js(d, "return document.body.dataset.ready === 'true'"),
             what="page ready")
    from selenium.webdriver.support.ui import Select
    Select(browser.find_element(By.ID, "enroll-member")).select_by_value("gubernur")
    browser.find_element(By.ID, "enroll-code").send_keys(network.code("gubernur").lower())
    shot(browser, "01-sign-in")
    browser.find_element(By.ID, "enroll-submit").click()
    wait_for(browser, lambda d: visible(d, "console-view"), what="console shown")
    # The key keeper saw the new device and sealed the talkgroup keys to it.
    wait_for(browser, lambda d: js(d, "return arguments[0].every(g => "
                                      "window.siagaConsole.keyring.latest(g))", KEYED),
             what="group keys")
    assert "Gubernur Jambi" in browser.find_element(By.ID, "whoami").text
    assert js(browser, "return window.siagaConsole.selected") == "komando"
    # The private keys are not extractable, even by the page itself.
    assert js(browser, "return window.siagaConsole.device.signKey.extractable") is False
    assert js(browser, "return window.siagaConsole.device.dhKey.extractable") is False
    wait_for(browser, lambda d: phase(d) == "idle")
    shot(browser, "02-console")


def test_2_browser_talks_python_hears(network: Network, browser: WebDriver,
                                      mic_wav: tuple[Path, npt.NDArray[np.int16]]) -> None:
    kerinci = network.stations["bupati-kerinci"]
    before = len(kerinci.heard("komando"))
    ptt = browser.find_element(By.ID, "ptt")
    ActionChains(browser).click_and_hold(ptt).perform()
    wait_for(browser, lambda d: phase(d) == "talking", what="floor granted")
    shot(browser, "03-talking")
    time.sleep(3.0)
    ActionChains(browser).release(ptt).perform()
    wait_for(browser, lambda d: phase(d) == "idle", what="released")
    wait_for(browser, lambda d: len(kerinci.heard("komando")) > before
             and kerinci.heard("komando")[before].done, what="Python client heard it")
    heard = kerinci.heard("komando")[before]
    assert heard.verified_member == "gubernur"  # signed envelope, checked against the directory
    assert heard.sealed and heard.rejected == 0
    pcm = heard.to_pcm()
    assert len(pcm) > 48000 * 2.5
    source = mic_wav[1]
    # The fake microphone loops the clip from wherever it was when capture began: look for
    # a 1.5 s stretch of what was heard anywhere in two rounds of the source.
    part = downsample(pcm[48000:48000 + 72000])
    score, _ = correlation(part, downsample(np.concatenate([source, source])))
    assert score > 0.6, f"what the Python client heard does not match the microphone ({score:.2f})"
    # Mouth to ear: microphone capture in the page -> frame opened by the Python client.
    sent = {int(s[0]): float(s[1]) for s in js(browser, "return window.siagaConsole.talker.sent")
            if s[1] is not None}
    delays = sorted(arrived * 1000 - sent[f.seq] for arrived, f in heard.frames if f.seq in sent)
    median = delays[len(delays) // 2]
    print(f"\nbrowser -> Python: capture to arrival median {median:.1f} ms, "
          f"p95 {delays[int(len(delays) * 0.95)]:.1f} ms, correlation {score:.2f}")
    assert median < 500


def test_3_python_talks_browser_plays(network: Network, browser: WebDriver) -> None:
    kerinci = network.stations["bupati-kerinci"]
    packets = read_opus_packets(clip_path("lapor_1501"))[:125]
    heard_before = js(browser, "return window.siagaConsole.listener.history.length")
    tx = network.loop.run(kerinci.send_packets("komando", packets))
    wait_for(browser, lambda d: js(d, "return window.siagaConsole.listener.history.length")
             > heard_before, what="browser heard it")
    who = js(browser, "return window.siagaConsole.listener.history[0].verified")
    assert who == "bupati-kerinci"
    played = history_pcm(browser)
    expected = decode_packets(packets)
    assert abs(len(played) - len(expected)) <= 960 * 2
    score, _ = correlation(downsample(expected[24000:-24000]), downsample(played))
    assert score > 0.9, f"the page's decoded audio does not match what was sent ({score:.2f})"
    arrivals = {int(s): float(at) for s, at in
                js(browser, "return window.siagaConsole.listener.history[0].arrivals")}
    delays = sorted(arrivals[seq] - sent * 1000 for seq, sent in enumerate(tx.sent_at)
                    if seq in arrivals)
    median = delays[len(delays) // 2]
    print(f"\nPython -> browser: send to arrival median {median:.1f} ms "
          f"(+60 ms playout buffer), correlation {score:.3f}")
    js(browser, "document.getElementById('tab-history').click()")
    wait_for(browser, lambda d: "Bupati Kerinci" in d.find_element(By.ID, "history-list").text)
    shot(browser, "04-history")
    replay = browser.find_element(By.CSS_SELECTOR, "#history-list button")
    assert "Putar ulang" in replay.text
    replay.click()


def test_4_emergency_preempts_talker(network: Network, browser: WebDriver) -> None:
    kerinci = network.stations["bupati-kerinci"]
    packets = read_opus_packets(clip_path("logistik_panjang"))[:400]
    talking = network.loop.spawn(kerinci.send_packets("komando", packets))
    wait_for(browser, lambda d: js(d, "return !!window.siagaConsole.listener.talking('komando')"
                                      " && !!window.siagaConsole.listener.talking('komando')"
                                      ".verified"), what="browser hears Kerinci")
    assert "Bupati Kerinci" in browser.find_element(By.ID, "talkers").text
    shot(browser, "05-listening")
    browser.find_element(By.ID, "emergency").click()
    tx = talking.result(WAIT)
    assert tx.revoked == "emergency"
    wait_for(browser, lambda d: phase(d) == "talking", what="emergency call on the air")
    wait_for(browser, lambda d: visible(d, "emergency-banner"), what="emergency banner")
    time.sleep(0.5)
    shot(browser, "06-emergency")
    browser.find_element(By.ID, "emergency").click()  # end the call
    wait_for(browser, lambda d: phase(d) == "idle", what="emergency call ended")
    browser.find_element(By.ID, "clear-emergency").click()
    wait_for(browser, lambda d: not visible(d, "emergency-banner"), what="emergency cleared")


def test_5_rollcall_answered_in_browser(network: Network, browser: WebDriver) -> None:
    operator = network.stations["operator-provinsi"]
    board = network.loop.run(operator.start_rollcall("komando", timeout=30))
    wait_for(browser, lambda d: visible(d, "rollcall-banner"), what="roll call banner")
    browser.find_element(By.ID, "tab-rollcall").click()
    assert "Operator Posko Provinsi" in browser.find_element(By.ID, "rollcall-boards").text
    shot(browser, "07-rollcall")
    browser.find_element(By.ID, "rollcall-answer").click()
    wait_for(browser, lambda d: any(e.member == "gubernur" for e in
                                    operator.boards[board.id].answered), what="answer counted")
    assert not visible(browser, "rollcall-banner")


def test_6_map_shows_reported_position(network: Network, browser: WebDriver) -> None:
    kerinci = network.stations["bupati-kerinci"]
    network.loop.run(kerinci.report_position(-1.87, 101.44, accuracy=25.0))
    browser.find_element(By.ID, "tab-map").click()
    marker = wait_for(browser, lambda d: d.find_elements(
        By.CSS_SELECTOR, "#map svg g.member[data-member='bupati-kerinci']"), what="marker")[0]
    assert "Bupati Kerinci" in marker.text
    assert "Bupati Kerinci" in browser.find_element(By.ID, "position-list").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#map g.seat")) == 11
    shot(browser, "08-map")


def test_7_messages_and_orders(network: Network, browser: WebDriver) -> None:
    kerinci = network.stations["bupati-kerinci"]
    accepted = network.loop.run(kerinci.send_message("komando", text="Jembatan Siulak aman"))
    browser.find_element(By.ID, "tab-messages").click()
    wait_for(browser, lambda d: "Jembatan Siulak aman" in d.find_element(By.ID, "message-list")
             .text, what="sealed message opened in the page")
    wait_for(browser, lambda d: kerinci.receipts.get(accepted.id, {}).get("gubernur", {})
             .get("read") is not None, what="read receipt")
    browser.find_element(By.ID, "message-text").send_keys("Terima kasih, pantau terus")
    browser.find_element(By.CSS_SELECTOR, "#message-form button[type=submit]").click()
    wait_for(browser, lambda d: any(m.text == "Terima kasih, pantau terus" and m.verified
                                    for m in kerinci.inbox.values()), what="Python opened it")
    wait_for(browser, lambda d: "Bupati Kerinci: diterima" in d.find_element(
        By.ID, "message-list").text or "Bupati Kerinci: dibaca" in d.find_element(
        By.ID, "message-list").text, what="delivery receipt shown")
    shot(browser, "09-messages")
    # An order from the governor's console, copied by the regency.
    browser.find_element(By.ID, "tab-orders").click()
    browser.find_element(By.CSS_SELECTOR, "#order-to input[value='bupati-kerinci']").click()
    browser.find_element(By.ID, "order-text").send_keys("Laporkan tinggi muka air tiap jam")
    browser.find_element(By.CSS_SELECTOR, "#order-form button[type=submit]").click()
    wait_for(browser, lambda d: any(content.text == "Laporkan tinggi muka air tiap jam"
                                    for _, content in kerinci.orders.values()), what="order")
    order_id = next(i for i, (_, c) in kerinci.orders.items()
                    if c.text == "Laporkan tinggi muka air tiap jam")
    network.loop.run(kerinci.acknowledge_order(order_id))
    wait_for(browser, lambda d: "dimengerti" in d.find_element(By.ID, "orders-by").text,
             what="acknowledgement shown")
    # An order for the governor, copied in the console.
    operator = network.stations["operator-provinsi"]
    status = network.loop.run(operator.issue_order("komando", ["gubernur"],
                                                   "Hadiri rapat koordinasi pukul 14.00",
                                                   due_in=3600))
    card = wait_for(browser, lambda d: d.find_elements(
        By.CSS_SELECTOR, f"#orders-for li[data-id='{status.id}'] button"), what="order shown")
    assert "Hadiri rapat koordinasi" in browser.find_element(By.ID, "orders-for").text
    shot(browser, "10-orders")
    card[0].click()  # "Dimengerti" (copy)
    wait_for(browser, lambda d: operator.order_status.get(status.id, {}).get("gubernur")
             is not None and operator.order_status[status.id]["gubernur"].state == "copied",
             what="the issuer sees it copied")


def test_7b_public_alerts(network: Network, browser: WebDriver) -> None:
    from siaga.alerts import AlertLevel, Wording, evacuation, publish
    from siaga.alerts.archive import AlertArchive
    from siaga.crypto import DeviceKeys

    keys = DeviceKeys.generate()
    now = time.time()
    alert = evacuation(sender=keys.public.device_id, now=now,
                       region=network.server.hub.roster.regions["15.06"], level=AlertLevel.AWAS,
                       indonesian=Wording("Evakuasi warga Muara Sabak", "Banjir naik.",
                                          "Menuju posko."))
    archive = AlertArchive(network.server.recorder.data_dir / "alerts")
    archive.add(publish(alert, keys))
    archive.write_feed(now, network.url)
    browser.find_element(By.ID, "tab-alerts").click()  # the tab reloads the feed
    wait_for(browser, lambda d: "Evakuasi warga Muara Sabak" in d.find_element(
        By.ID, "alert-list").text, what="alert from the CAP feed")
    shot(browser, "14-alerts")


# ---- coordination: election and flood boards, direct messages, sitrep, alert broadcasts ------


def tanjabtim(network: Network) -> Client:
    """The operator of Tanjung Jabung Timur, a Python station enrolled on first use."""
    if "operator-tanjabtim" not in network.stations:
        async def connect() -> Client:
            identity = await Client.enroll(network.server.url, network.code("operator-tanjabtim"),
                                           "operator-tanjabtim")
            return await Client.connect(network.server.url, identity=identity)
        network.stations["operator-tanjabtim"] = network.loop.run(connect())
    return network.stations["operator-tanjabtim"]


def test_7c_election_board_and_tps_report(network: Network, browser: WebDriver) -> None:
    from selenium.webdriver.support.ui import Select
    operator = tanjabtim(network)
    network.loop.run(operator.report_tps("15.06.01.01.001", status="relocated",
                                         incidents=["flooding"],
                                         relocated_to=("Balai Desa Muara Sabak", -1.12, 103.83),
                                         note="Halaman sekolah tergenang"))
    browser.find_element(By.ID, "tab-election").click()
    Select(browser.find_element(By.ID, "election-regency")).select_by_value("15.06")
    wait_for(browser, lambda d: "Balai Desa Muara Sabak" in d.find_element(
        By.ID, "election-stations").text, what="the relocation on the board")
    row = browser.find_element(By.CSS_SELECTOR, "#election-summary tr[data-id='15.06']").text
    assert "Tanjung Jabung Timur" in row and "1/5" in row  # reported/total, then 1 relocated
    station = browser.find_element(By.CSS_SELECTOR,
                                   "#election-stations tr[data-id='15.06.01.01.001']")
    assert "dipindah" in station.text and "banjir" in station.text
    # The governor reports from the console; the Python side sees it on its board.
    Select(browser.find_element(By.ID, "tps-id")).select_by_value("15.06.02.01.001")
    Select(browser.find_element(By.ID, "tps-status")).select_by_value("counting")
    browser.find_element(By.ID, "tps-ballots").send_keys("150")
    browser.find_element(By.CSS_SELECTOR, "#tps-incidents input[value='power']").click()
    browser.find_element(By.CSS_SELECTOR, "#tps-form button[type=submit]").click()
    wait_for(browser, lambda d: "tersimpan" in d.find_element(By.ID, "tps-result").text,
             what="report stored")
    board = network.loop.run(operator.board("election"))
    mine = next(s for s in board["stations"] if s["id"] == "15.06.02.01.001")
    assert (mine["status"], mine["ballots_cast"], mine["incidents"], mine["reporter"]) == (
        "counting", 150, ["power"], "gubernur")
    wait_for(browser, lambda d: "150/191" in d.find_element(
        By.CSS_SELECTOR, "#election-stations tr[data-id='15.06.02.01.001']").text,
        what="the board refreshed")
    # Reported elsewhere while the board is open: pushed (board_changed), not waiting for
    # the 10 s poll.
    network.loop.run(operator.report_tps("15.06.02.02.001", status="voting", ballots_cast=77))
    wait_for(browser, lambda d: "77/" in d.find_element(
        By.CSS_SELECTOR, "#election-stations tr[data-id='15.06.02.02.001']").text,
        timeout=4, what="the board refreshed by the server's board_changed")
    js(browser, "document.getElementById('boards').scrollIntoView()")
    shot(browser, "15-election")
    # A bad report: the server's error names the field, and the field is marked.
    Select(browser.find_element(By.ID, "tps-id")).select_by_value("15.06.02.02.001")
    browser.find_element(By.ID, "tps-ballots").send_keys("-5")
    browser.find_element(By.CSS_SELECTOR, "#tps-form button[type=submit]").click()
    wait_for(browser, lambda d: "ballots_cast" in d.find_element(By.ID, "tps-result").text,
             what="field error shown")
    assert browser.find_element(By.ID, "tps-ballots").get_attribute("aria-invalid") == "true", \
        browser.find_element(By.ID, "tps-result").text
    browser.find_element(By.ID, "tps-ballots").clear()
    browser.find_element(By.ID, "tps-ballots").send_keys("999")  # more than its 252 voters
    browser.find_element(By.CSS_SELECTOR, "#tps-form button[type=submit]").click()
    wait_for(browser, lambda d: "999" in d.find_element(By.ID, "tps-result").text
             or "252" in d.find_element(By.ID, "tps-result").text, what="too many ballots")
    assert browser.find_element(By.ID, "tps-result").text.startswith("Galat: ballots_cast")
    browser.find_element(By.ID, "tps-ballots").clear()


def test_7d_flood_board_and_report(network: Network, browser: WebDriver) -> None:
    from selenium.webdriver.support.ui import Select
    operator = tanjabtim(network)

    async def report() -> None:
        await operator.report_flood("incident", incident="banjir-sabak", regency="15.06",
                                    lat=-1.12, lon=103.83, title="Banjir Muara Sabak",
                                    water_level_cm=60, affected=800, evacuated=120)
        await operator.report_flood("incident", incident="banjir-sabak", water_level_cm=95,
                                    affected=1200, evacuated=300)
        await operator.report_flood("shelter", shelter="posko-sabak", incident="banjir-sabak",
                                    name="Posko SDN 7 Muara Sabak", lat=-1.11, lon=103.82,
                                    capacity=400, occupants=300)
        await operator.report_flood("need", need="perahu-sabak", incident="banjir-sabak",
                                    kind="boats", quantity=6, unit="unit")
        await operator.report_flood("fulfilment", need="perahu-sabak", quantity=2)
    network.loop.run(report())
    browser.find_element(By.ID, "tab-flood").click()
    card = wait_for(browser, lambda d: d.find_elements(
        By.CSS_SELECTOR, "#flood-incidents li[data-id='banjir-sabak']"), what="incident shown")[0]
    text = card.text
    assert "Banjir Muara Sabak" in text and "95 cm" in text and "1.200" in text
    assert "Posko SDN 7 Muara Sabak" in text and "300/400" in text
    assert "perahu" in text and "4 unit" in text  # outstanding: 6 requested, 2 delivered
    assert len(card.find_elements(By.CSS_SELECTOR, "svg.spark polyline")) == 1
    assert "60 cm → 95 cm" in card.find_element(By.CSS_SELECTOR, "svg.spark").get_attribute(
        "aria-label")
    summary = browser.find_element(By.ID, "flood-summary").text
    assert "Provinsi Jambi" in summary and "perahu: 1 permintaan" in summary
    # An update from the console: the water rises.
    Select(browser.find_element(By.ID, "flood-incident")).select_by_value("banjir-sabak")
    assert not visible(browser, "flood-new")
    browser.find_element(By.ID, "flood-water").send_keys("130")
    browser.find_element(By.ID, "flood-evacuated").send_keys("450")
    browser.find_element(By.CSS_SELECTOR, "#flood-form button[type=submit]").click()
    wait_for(browser, lambda d: "tersimpan" in d.find_element(By.ID, "flood-result").text,
             what="flood report stored")
    board = network.loop.run(operator.board("flood"))
    inc = next(i for i in board["incidents"] if i["id"] == "banjir-sabak")
    assert (inc["water_level_cm"], inc["evacuated"], inc["reporter"]) == (130, 450, "gubernur")
    wait_for(browser, lambda d: "130 cm" in d.find_element(
        By.CSS_SELECTOR, "#flood-incidents li[data-id='banjir-sabak']").text, what="refreshed")
    # A new incident without a title is refused, naming the field.
    Select(browser.find_element(By.ID, "flood-incident")).select_by_value("")
    Select(browser.find_element(By.ID, "flood-new-regency")).select_by_value("15.06")
    browser.find_element(By.ID, "flood-lat").send_keys("-1.2")
    browser.find_element(By.ID, "flood-lon").send_keys("103.7")
    browser.find_element(By.CSS_SELECTOR, "#flood-form button[type=submit]").click()
    wait_for(browser, lambda d: "Galat" in d.find_element(By.ID, "flood-result").text,
             what="flood field error")
    assert browser.find_element(By.ID, "flood-title").get_attribute("aria-invalid") == "true", \
        browser.find_element(By.ID, "flood-result").text
    browser.find_element(By.ID, "flood-lat").clear()
    browser.find_element(By.ID, "flood-lon").clear()
    js(browser, "document.getElementById('boards').scrollIntoView()")
    shot(browser, "16-flood")


def test_7e_direct_messages_both_ways(network: Network, browser: WebDriver) -> None:
    from selenium.webdriver.support.ui import Select
    operator = tanjabtim(network)
    accepted = network.loop.run(operator.send_direct("gubernur",
                                                     text="Pesan langsung: tanggul aman"))
    browser.find_element(By.ID, "tab-messages").click()
    item = wait_for(browser, lambda d: d.find_elements(
        By.CSS_SELECTOR, f"#message-list li[data-id='{accepted.id}']"), what="direct shown")[0]
    wait_for(browser, lambda d: "tanggul aman" in item.text, what="direct opened")
    assert "[E2E]" in item.text and "langsung" in item.text
    assert js(browser, "return window.siagaConsole.inbox.get(arguments[0]).verified", accepted.id)
    wait_for(browser, lambda d: operator.receipts.get(accepted.id, {}).get("gubernur", {})
             .get("read") is not None, what="read receipt of the direct message")
    browser.find_element(By.ID, "message-mode-person").click()
    Select(browser.find_element(By.ID, "message-person")).select_by_value("operator-tanjabtim")
    browser.find_element(By.ID, "message-text").send_keys("Siapkan perahu karet")
    browser.find_element(By.CSS_SELECTOR, "#message-form button[type=submit]").click()
    wait_for(browser, lambda d: any(m.text == "Siapkan perahu karet" and m.verified
                                    and m.to == "operator-tanjabtim"
                                    for m in operator.inbox.values()), what="Python opened it")
    got = next(m for m in operator.inbox.values() if m.text == "Siapkan perahu karet")
    assert got.sender == "gubernur" and got.talkgroup == ""
    network.loop.run(operator.mark_read(got.id))
    wait_for(browser, lambda d: "Operator Kabupaten Tanjung Jabung Timur: dibaca" in d.find_element(
        By.CSS_SELECTOR, f"#message-list li[data-id='{got.id}']").text, what="read receipt shown")
    js(browser, "document.getElementById('boards').scrollIntoView()")
    shot(browser, "17-direct")
    browser.find_element(By.ID, "message-mode-talkgroup").click()


def test_7f_sitrep_downloads(network: Network, browser: WebDriver) -> None:
    browser.find_element(By.ID, "sitrep").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "sitrep-pdf"), timeout=30,
             what="sitrep links")
    result = browser.execute_async_script("""
        const done = arguments[0];
        // What the links hold (the page's CSP forbids fetch() of blob: URLs, so read the Blobs).
        const { markdown, pdf: file } = window.siagaConsole.coord.sitrep;
        const get = async (blob) => new Uint8Array(await blob.arrayBuffer());
        Promise.all([get(markdown), get(file)]).then(([md, pdf]) => done({
          md: new TextDecoder().decode(md), pdf: String.fromCharCode(...pdf.subarray(0, 5)),
          names: ['sitrep-md', 'sitrep-pdf'].map((id) => document.getElementById(id).download),
          hrefs: ['sitrep-md', 'sitrep-pdf'].map((id) => document.getElementById(id).href),
        }));""")
    assert result["pdf"] == "%PDF-"
    assert "Tanjung Jabung Timur" in result["md"]
    assert result["names"][0].endswith(".md") and result["names"][1].endswith(".pdf")
    assert all(h.startswith("blob:") for h in result["hrefs"])
    js(browser, "window.scrollTo(0, 0)")
    shot(browser, "20-sitrep")


def test_7g_alert_broadcast_live(network: Network, browser: WebDriver) -> None:
    from siaga.alerts import AlertLevel, Wording, evacuation
    kerinci = network.stations["bupati-kerinci"]
    assert kerinci.keyring is not None
    alert = evacuation(sender=kerinci.keyring.device_id, now=time.time(),
                       region=network.server.hub.roster.regions["15.01"], level=AlertLevel.SIAGA,
                       indonesian=Wording("Siaga longsor Gunung Kerinci", "Hujan deras.",
                                          "Jauhi tebing."))
    browser.find_element(By.ID, "tab-alerts").click()
    sent = network.loop.run(kerinci.publish_alert(alert))
    item = wait_for(browser, lambda d: d.find_elements(
        By.CSS_SELECTOR, f"#alert-list li.live[data-id='{sent.id}']"), what="live alert")[0]
    assert "Siaga longsor Gunung Kerinci" in item.text and "Kerinci" in item.text
    js(browser, "document.getElementById('boards').scrollIntoView()")
    shot(browser, "18-alert-live")
    browser.set_window_size(390, 844)
    browser.find_element(By.ID, "tab-election").click()
    time.sleep(0.3)
    assert js(browser, "return document.documentElement.scrollWidth <= window.innerWidth + 1")
    js(browser, "document.getElementById('boards').scrollIntoView()")
    shot(browser, "19-phone-election")
    for tab in ["tab-election", "tab-flood", "tab-messages"]:  # every new control is named
        browser.find_element(By.ID, tab).click()
        js(browser, "document.getElementById('message-mode-person').click()")
        unnamed = js(browser, """
            return [...document.querySelectorAll('#boards button, #boards input, #boards select')]
              .filter(e => e.offsetParent !== null)
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                           && !e.textContent.trim()).map(e => e.outerHTML.slice(0, 80));""")
        assert unnamed == [], tab
        assert js(browser, "return document.documentElement.scrollWidth <= window.innerWidth + 1")
    js(browser, "document.getElementById('message-mode-talkgroup').click()")
    browser.set_window_size(1400, 1000)
    browser.find_element(By.ID, "tab-map").click()


def test_7h_direct_message_format_matches_python(browser: WebDriver) -> None:
    """seal_direct/open_direct in the page and in siaga.crypto are one format: each opens what
    the other sealed, and refuses another id, another sender or a changed byte (as
    tests/test_crypto.py does for the Python side)."""
    from siaga.crypto import CryptoError, DeviceKeys, DevicePublic, open_direct, seal_direct
    python = DeviceKeys.generate()
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    page = browser.execute_async_script("""
        const [signPub, dhPub, deviceId, done] = arguments;
        (async () => {
          const c = await import('/js/crypto.js');
          const { b64d, b64e } = await import('/js/bytes.js');
          const dev = await c.generateDevice();
          window.directTest = dev;
          const payload = new TextEncoder().encode('Hubungi saya');
          const blob = await c.sealDirect('msg-000001', dev, deviceId, b64d(dhPub), payload);
          done({ blob: b64e(blob), sign: b64e(dev.signPub), dh: b64e(dev.dhPub),
                 id: dev.deviceId });
        })().catch((e) => done({ error: String(e) }));""",
        b64(python.public.sign_pub), b64(python.public.dh_pub), python.public.device_id)
    assert "error" not in page, page
    sender = DevicePublic(base64.urlsafe_b64decode(page["sign"] + "=="),
                          base64.urlsafe_b64decode(page["dh"] + "=="))
    assert sender.device_id == page["id"]
    blob = base64.urlsafe_b64decode(page["blob"] + "==")
    assert open_direct(python, "msg-000001", sender, blob) == b"Hubungi saya"
    with pytest.raises(CryptoError):
        open_direct(python, "msg-000002", sender, blob)
    # Python -> page: opens; another id, another claimed sender or a flipped byte do not.
    sealed = seal_direct("msg-000003", python, sender, b"Evakuasi warga")
    results = browser.execute_async_script("""
        const [blob, senderId, senderSign, otherId, done] = arguments;
        (async () => {
          const c = await import('/js/crypto.js');
          const { b64d } = await import('/js/bytes.js');
          const dev = window.directTest;
          const attempt = async (id, from, bytes) => {
            try {
              const plain = await c.openDirect(dev, id, from, b64d(senderSign), bytes);
              return new TextDecoder().decode(plain);
            }
            catch { return null; }
          };
          const good = b64d(blob), flipped = good.slice();
          flipped[flipped.length - 1] ^= 1;
          done([await attempt('msg-000003', senderId, good),
                await attempt('msg-000004', senderId, good),
                await attempt('msg-000003', otherId, good),
                await attempt('msg-000003', senderId, flipped)]);
        })().catch((e) => done([String(e)]));""",
        b64(sealed), python.public.device_id, b64(python.public.sign_pub),
        DeviceKeys.generate().public.device_id)
    assert results == ["Evakuasi warga", None, None, None]


def test_8_space_bar_is_ptt(network: Network, browser: WebDriver) -> None:
    from selenium.webdriver.common.keys import Keys
    kerinci = network.stations["bupati-kerinci"]
    before = len(kerinci.heard("komando"))
    tab = browser.find_element(By.ID, "tab-map")
    tab.click()
    # On another control, Space keeps its own meaning (here: the tab), it is not PTT.
    browser.find_element(By.ID, "tab-history").send_keys(Keys.SPACE)
    assert browser.find_element(By.ID, "tab-history").get_attribute("aria-selected") == "true"
    assert phase(browser) == "idle"
    tab.click()
    js(browser, "document.activeElement.blur()")  # nothing focused: Space is the PTT key
    ActionChains(browser).key_down(Keys.SPACE).perform()
    wait_for(browser, lambda d: phase(d) == "talking", what="space pressed = PTT")
    time.sleep(0.6)
    ActionChains(browser).key_up(Keys.SPACE).perform()
    wait_for(browser, lambda d: phase(d) == "idle")
    wait_for(browser, lambda d: len(kerinci.heard("komando")) > before
             and kerinci.heard("komando")[before].done, what="heard")
    assert kerinci.heard("komando")[before].verified_member == "gubernur"


def test_9_english_phone_and_labels(network: Network, browser: WebDriver) -> None:
    from selenium.webdriver.support.ui import Select
    Select(browser.find_element(By.ID, "lang")).select_by_value("en")
    assert browser.find_element(By.ID, "ptt").text == "PUSH TO TALK"
    assert browser.find_element(By.ID, "tab-election").text == "Election"
    assert browser.find_element(By.ID, "sitrep").text == "Situation report"
    assert js(browser, "return document.documentElement.lang") == "en"
    assert browser.find_element(By.ID, "conn-status").text == "Connected"
    # Every control has a name a screen reader can say.
    unnamed = js(browser, """
        return [...document.querySelectorAll('button, input, select, textarea')]
          .filter(e => e.offsetParent !== null)
          .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                       && !e.textContent.trim()).map(e => e.outerHTML.slice(0, 80));""")
    assert unnamed == []
    shot(browser, "11-english")
    browser.set_window_size(390, 844)
    time.sleep(0.3)
    assert js(browser, "return document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(browser, "12-phone")
    browser.set_window_size(1400, 1000)
    Select(browser.find_element(By.ID, "lang")).select_by_value("id")


def test_12_sign_out_and_back_in(network: Network, browser: WebDriver) -> None:
    browser.find_element(By.ID, "signout").click()
    wait_for(browser, lambda d: visible(d, "known-device"), what="sign-in view")
    browser.find_element(By.ID, "continue").click()
    wait_for(browser, lambda d: visible(d, "console-view"), what="signed in again")
    wait_for(browser, lambda d: js(d, "return !!window.siagaConsole.keyring.latest('komando')"))
    assert any(True for _ in wire.SERVER_TYPES)  # the wire module is what both sides speak


def test_11_floor_states_preempted_queued_denied(network: Network, browser: WebDriver) -> None:
    """The talker sees each floor state in words: cut off, queued with its place, refused."""
    polda = network.stations["polda"]
    browser.find_element(By.ID, "sel-gabungan").click()
    ptt = browser.find_element(By.ID, "ptt")
    ActionChains(browser).click_and_hold(ptt).perform()
    wait_for(browser, lambda d: phase(d) == "talking", what="talking on gabungan")
    assert "Gabungan" in browser.find_element(By.ID, "floor-status").text
    assert "sisa" in browser.find_element(By.ID, "floor-time").text  # time left before the limit
    emergency = network.loop.run(polda.request_floor("gabungan", emergency=True))
    wait_for(browser, lambda d: phase(d) == "preempted", what="pre-empted by an emergency")
    assert "panggilan darurat" in browser.find_element(By.ID, "floor-status").text
    ActionChains(browser).release(ptt).perform()
    ActionChains(browser).click_and_hold(ptt).perform()  # again, while the emergency holds
    wait_for(browser, lambda d: phase(d) == "queued", what="queued behind the emergency")
    assert "urutan ke-1" in browser.find_element(By.ID, "floor-status").text
    shot(browser, "13-queued")
    ActionChains(browser).release(ptt).perform()  # leaves the queue
    wait_for(browser, lambda d: phase(d) == "idle", what="withdrawn")
    network.loop.run(emergency.release())
    browser.find_element(By.ID, "clear-emergency").click()
    wait_for(browser, lambda d: not visible(d, "emergency-banner"), what="emergency cleared")
    # A talkgroup whose key has not arrived: refused here, never sent in the clear.
    browser.find_element(By.ID, "sel-kerinci").click()
    ActionChains(browser).click_and_hold(ptt).perform()
    wait_for(browser, lambda d: phase(d) == "denied", what="refused without a key")
    assert "kunci" in browser.find_element(By.ID, "floor-status").text
    ActionChains(browser).release(ptt).perform()
    browser.find_element(By.ID, "sel-komando").click()


def test_13_volume_mute_and_playout_buffer(network: Network, browser: WebDriver,
                                           opus_packets: list[bytes]) -> None:
    """Per-talkgroup volume and mute act on that talkgroup's gain; the playout buffer delays
    the first packet by 60 ms and, when a packet comes too late, moves its schedule back
    instead of cutting the speech."""
    slider = browser.find_element(By.ID, "vol-komando")
    js(browser, "arguments[0].value = '0.3'; arguments[0].dispatchEvent(new Event('input'))",
       slider)
    level = "window.siagaConsole.listener.level('komando')"
    assert js(browser, f"return {level}.volume") == 0.3
    mute = browser.find_element(By.CSS_SELECTOR, "li[data-talkgroup='komando'] .mute")
    mute.click()
    assert js(browser, f"return {level}.muted") is True
    wait_for(browser, lambda d: js(d, f"return {level}.gain && {level}.gain.gain.value") == 0,
             what="muted gain")
    assert mute.get_attribute("aria-pressed") == "true"
    mute.click()
    wait_for(browser, lambda d: js(d, f"return {level}.gain.gain.value") == pytest.approx(0.3),
             what="volume restored")
    packets = [base64.b64encode(p).decode() for p in opus_packets[:20]]
    result = browser.execute_async_script("""
        const [packets, done] = arguments;
        const { Playout, audioContext } = await import('/js/audio.js');
        const ctx = await audioContext();
        const p = new Playout(ctx.createGain());
        const bytes = (b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0));
        packets.slice(0, 10).forEach((b, i) => p.push(i, bytes(b)));
        await new Promise((r) => setTimeout(r, 500));   // the next packets are 300 ms late
        const base = p.base;
        packets.slice(10).forEach((b, i) => p.push(10 + i, bytes(b)));
        await p.finish();
        done({ late: p.late, moved: p.base - base, frames: p.frames.filter(Boolean).length,
               first: base + 0 - ctx.currentTime });""", packets)
    assert result["frames"] == 20
    assert result["late"] >= 1
    assert result["moved"] > 0.25


def test_14_reconnects_after_a_server_restart(network: Network, browser: WebDriver) -> None:
    """A radio comes back by itself: the console signs in again when the server returns."""
    old = network.server
    network.loop.run(old.close())
    wait_for(browser, lambda d: "Terputus" in d.find_element(By.ID, "conn-status").text,
             what="disconnection shown")
    server = Server(old.hub.roster, old.store, old.recorder.data_dir, port=old.port,
                    require_auth=True)
    network.loop.run(server.start())
    network.server = server
    wait_for(browser, lambda d: d.find_element(By.ID, "conn-status").text == "Terhubung",
             timeout=20, what="signed in again")
    wait_for(browser, lambda d: js(d, "return !!window.siagaConsole.keyring.latest('komando')"),
             what="keys delivered again")
