"""Roll call (radio check, *absensi*): who answered a poll of a talkgroup, how fast, who is silent.

Sans-I/O: the hub feeds it answers and the time and asks for its deadline; the result is kept
in the store so roll calls can be compared over time (`siaga rollcall history`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Via = Literal["answer", "ptt"]

#: Roles that may poll a talkgroup: the governor, operators, BPBD and admins.
DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class Answer:
    member: str
    at: float
    via: Via

    def seconds_after(self, started_at: float) -> float:
        return self.at - started_at


@dataclass(slots=True)
class RollCall:
    id: str
    talkgroup: str
    by: str
    started_at: float
    deadline: float
    expected: frozenset[str]
    answers: dict[str, Answer] = field(default_factory=dict)
    closed_at: float | None = None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def answer(self, member: str, at: float, via: Via = "answer") -> Answer | None:
        """Record the first answer of an expected member; later ones and strangers count for
        nothing (None)."""
        if self.closed or member not in self.expected or member in self.answers:
            return None
        if at > self.deadline:
            return None
        self.answers[member] = Answer(member, at, via)
        return self.answers[member]

    def silent(self) -> list[str]:
        return sorted(self.expected - self.answers.keys())

    def close(self, at: float) -> None:
        if self.closed_at is None:
            self.closed_at = min(at, self.deadline)

    @property
    def complete(self) -> bool:
        return not self.silent()


__all__ = ["DEFAULT_TIMEOUT", "Answer", "RollCall", "Via"]
