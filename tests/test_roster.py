"""The roster file: the Jambi default, selectors, rules, and clear errors for bad files."""

from __future__ import annotations

from dataclasses import replace

import pytest

from siaga import wire
from siaga.errors import ConfigError
from siaga.hub import Hub, Send
from siaga.roster import Priority, Role, Roster, load_roster, parse_roster

HEADER = '[network]\nname = "N"\nprovince = "P"\n'
REGION = ('[[regions]]\ncode = "15.04"\nname = "Kabupaten Batanghari"\nhead_title = "Bupati"\n'
          'seat = "Muara Bulian"\nlat = -1.71\nlon = 103.26\n')


def member(mid: str, role: str, region: str = "") -> str:
    extra = f'region = "{region}"\n' if region else ""
    return f'[[members]]\nid = "{mid}"\nname = "{mid.title()}"\nrole = "{role}"\n{extra}'


def test_jambi_default(roster: Roster) -> None:
    assert roster.province == "Provinsi Jambi"
    assert len(roster.regions) == 11
    assert sorted(roster.regions)[0] == "15.01" and "15.72" in roster.regions
    heads = {m.id for m in roster.members.values() if m.role is Role.REGIONAL_HEAD}
    assert len(heads) == 11
    komando = roster.talkgroups["komando"]
    assert komando.transmitters == heads | {"gubernur"}
    assert "operator-provinsi" in komando.members - komando.transmitters
    assert len(roster.talkgroups) == 14  # command, 11 regency nets, joint, emergency
    assert roster.talkgroups["darurat"].members == frozenset(roster.members)
    assert {"polda", "damkar", "bpbd"} <= roster.talkgroups["gabungan"].members
    numbers = sorted(tg.number for tg in roster.talkgroups.values())
    assert numbers == list(range(1, 15))
    assert roster.members["gubernur"].priority is Priority.COMMAND
    assert roster.members["bupati-tebo"].priority is Priority.REGIONAL
    assert roster.members["polda"].priority is Priority.STAFF
    assert roster.region_name("15.04") == "Kabupaten Batanghari"


def test_with_talkgroup_replaces_by_id_and_number(roster: Roster) -> None:
    changed = roster.with_talkgroup(replace(roster.talkgroups["tebo"], time_limit=5.0))
    assert changed.talkgroups["tebo"].time_limit == 5.0
    assert changed.by_number[changed.talkgroups["tebo"].number].time_limit == 5.0
    assert roster.talkgroups["tebo"].time_limit == 30.0  # the original is untouched


@pytest.mark.parametrize(("body", "fragment"), [
    ("not toml [", "not valid TOML"),
    (HEADER + member("a", "wizard"), "role"),
    (HEADER + member("a", "staff") + member("a", "staff"), "duplicate member"),
    (HEADER + member("a", "staff", "99.99"), "unknown region"),
    (HEADER + member("a", "staff") + '[[talkgroups]]\nid = "t"\nname = "T"\nmembers = ["b"]\n',
     "matches no member"),
    (HEADER + member("a", "staff") + '[[talkgroups]]\nid = "t"\nname = "T"\n'
     'members = ["role:pirate"]\n', "unknown role"),
    (HEADER + member("a", "staff") + '[[talkgroups]]\nid = "t"\nname = "T"\nmembers = []\n',
     "no members"),
    (HEADER + member("a", "staff") + '[[talkgroups]]\nid = "t"\nname = "T"\nmembers = ["*"]\n'
     'time_limit = -1\n', "time_limit"),
    (HEADER + REGION.replace("-1.71", "-123.0"), "lat"),
    (HEADER + member("bad id!", "staff"), "id"),
    (HEADER + '[[members]]\nid = "a"\nname = "A"\nrole = "staff"\ncolour = "red"\n', "colour"),
])
def test_bad_rosters_name_the_problem(body: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_roster(body, "my.toml")
    assert "my.toml" in str(info.value) and fragment in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: object) -> None:
    with pytest.raises(ConfigError):
        load_roster("/nonexistent/roster.toml")


def test_preempt_rule_makes_higher_priority_wait(roster: Roster) -> None:
    """On a net where only the governor may cut in, a bupati outranking the talker queues."""
    text = (HEADER + REGION + member("gub", "governor") + member("bup", "regional_head", "15.04")
            + member("op", "staff", "15.04") + '[[talkgroups]]\nid = "t"\nname = "T"\n'
            'members = ["*"]\npreempt = ["role:governor"]\n')
    custom = parse_roster(text)
    assert custom.talkgroups["t"].preempters == {"gub"}
    hub = Hub(custom)
    conns = {}
    for i, who in enumerate(["gub", "bup", "op"], start=1):
        hub.connect(i, 0.0)
        hub.receive_text(i, wire.encode(wire.Hello(v=1, member=who, device="d")), 0.0)
        hub.receive_text(i, wire.encode(wire.Join(talkgroup="t")), 0.0)
        conns[who] = i

    def answers(conn: int, out: list[object]) -> list[str]:
        return [type(wire.decode_server(o.text)).__name__ for o in out
                if isinstance(o, Send) and o.to == (conn,)]

    hub.receive_text(conns["op"], wire.encode(wire.FloorRequest(talkgroup="t")), 1.0)
    out = hub.receive_text(conns["bup"], wire.encode(wire.FloorRequest(talkgroup="t")), 2.0)
    assert answers(conns["bup"], out) == ["FloorQueued"]
    out = hub.receive_text(conns["gub"], wire.encode(wire.FloorRequest(talkgroup="t")), 3.0)
    assert "FloorGranted" in answers(conns["gub"], out)
    assert "FloorRevoked" in answers(conns["op"], out)
