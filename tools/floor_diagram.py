"""Print the floor-control state diagram (Mermaid) drawn from ``siaga.floor.TRANSITIONS``.

``docs/protocol.md`` embeds this output between markers; a test checks it is current, so the
picture in the docs is always the table the code enforces. Run: ``python tools/floor_diagram.py``.
"""

from __future__ import annotations

from siaga.floor import TRANSITIONS


def mermaid() -> str:
    lines = ["stateDiagram-v2", "    [*] --> idle"]
    for (source, trigger), targets in TRANSITIONS.items():
        for target in targets:
            lines.append(f"    {source.value} --> {target.value}: {trigger.value}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(mermaid())
