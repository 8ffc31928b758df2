"""The demo's browser console: its address and a one-time code for the governor, printed when
the demo starts, and, after the scripted scene, the network kept on the air for the console.

When the demo runs in a terminal (stdin is a TTY) the server stays up after the scene, the key
keeper seals talkgroup keys to the browser's new device, and the simulated regencies answer:
a regency head replies when the governor has spoken, answers roll calls and copies orders.
Enter or Ctrl-C ends it and the demo prints its summary. Without a TTY (CI, pipes) the demo
ends by itself as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from . import wire
from .i18n import t
from .identity import code_hash, new_code
from .web import console_url

if TYPE_CHECKING:
    from .demo import Demo
    from .server import Server

#: How long the printed enrollment code stays valid, in seconds.
CODE_LIFETIME = 3600.0
GOVERNOR = "gubernur"


def announce_console(demo: Demo, server: Server) -> str:
    """Issue the governor's one-time code and print where the console is. Returns the code."""
    assert demo.registry is not None
    code = new_code()
    now = time.time()
    demo.registry.issue_code(code_hash(code), member=GOVERNOR, now=now,
                             expires_at=now + CODE_LIFETIME, created_by="demo")
    demo.console.print(t("console_address", demo.lang, url=console_url(server.url), code=code),
                       style="bold green", highlight=False, soft_wrap=True)
    return code


class Regencies:
    """The simulated stations' manners after the scene: they answer the governor."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.tasks: set[asyncio.Task[object]] = set()
        self.chosen: dict[int, str | None] = {}  # stream -> the head who answers it
        self.copied: set[tuple[str, str]] = set()  # (order, member) acknowledged
        self.heads = [m for m in demo.stations
                      if demo.roster.members[m].role == "regional_head"]
        self.rotation = itertools.cycle(self.heads)
        for member_id, client in demo.stations.items():
            previous = client.on_event
            client.on_event = self._listener(member_id, previous)

    def _listener(self, member_id: str, previous: Callable[[wire.ServerMessage], None] | None
                  ) -> Callable[[wire.ServerMessage], None]:
        def on_event(msg: wire.ServerMessage) -> None:
            if previous is not None:
                previous(msg)
            self.react(member_id, msg)
        return on_event

    def _spawn(self, coro: Coroutine[Any, Any, object], delay: float) -> None:
        async def later() -> object:
            await asyncio.sleep(delay)
            return await coro
        task = asyncio.get_running_loop().create_task(later())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def react(self, member_id: str, msg: wire.ServerMessage) -> None:
        client = self.demo.stations[member_id]
        if isinstance(msg, wire.Rollcall) and msg.by != member_id:
            self._spawn(client.answer_rollcall(msg.id), 0.5 + 0.2 * len(self.tasks))
        elif (isinstance(msg, wire.OrderMsg) and member_id in msg.to
              and (msg.id, member_id) not in self.copied):
            # Now every station copies its orders (in the scene one stayed silent on purpose).
            self.copied.add((msg.id, member_id))
            self._spawn(client.acknowledge_order(msg.id), 1.5)
        elif (isinstance(msg, wire.TalkerStop) and msg.member == GOVERNOR
              and msg.outcome == "completed"):
            # Every station hears the end of the call; the first decides who answers it.
            if msg.stream not in self.chosen:
                self.chosen[msg.stream] = self.replier(msg.talkgroup)
            if self.chosen[msg.stream] == member_id:
                self._spawn(self.reply(member_id, msg.talkgroup), 1.0)

    def replier(self, talkgroup: str) -> str | None:
        """Who answers the governor: the head of that regency, or on a shared net each head
        in turn."""
        roster = self.demo.roster
        members = roster.talkgroups[talkgroup].members
        heads = [m for m in self.heads if m in members]
        if len(heads) <= 1:
            return heads[0] if heads else None
        for _ in range(len(self.heads)):
            head = next(self.rotation)
            if head in heads:
                return head
        return None  # pragma: no cover - a head of the net is always in the rotation

    async def reply(self, member_id: str, talkgroup: str) -> None:
        region = self.demo.roster.members[member_id].region.replace(".", "")
        await self.demo.talk(member_id, talkgroup, f"lapor_{region}")

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def hold_console(demo: Demo, server: Server, *, interactive: bool | None = None,
               stop: asyncio.Event | None = None) -> None:
    """After the scene: keep the network on the air for the console until Enter or Ctrl-C.

    Does nothing without a terminal, so CI and scripted runs still end by themselves."""
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        return
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    keeper = demo.stations.get("admin")
    keeping = (loop.create_task(keeper.keep_keys(demo.roster.talkgroups))
               if keeper is not None else None)
    regencies = Regencies(demo)
    demo.console.print()
    demo.console.print(t("console_hold", demo.lang, url=console_url(server.url)),
                       style="bold green",
                       highlight=False, soft_wrap=True)
    watching = sys.stdin.isatty()
    if watching:
        def enter_pressed() -> None:
            sys.stdin.readline()
            stop.set()
        loop.add_reader(sys.stdin.fileno(), enter_pressed)
        loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        await stop.wait()
    finally:
        if watching:
            loop.remove_reader(sys.stdin.fileno())
            loop.remove_signal_handler(signal.SIGINT)
        await regencies.close()
        if keeping is not None:
            keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await keeping
        demo.console.print(t("console_bye", demo.lang), highlight=False)


__all__ = ["announce_console", "hold_console"]
