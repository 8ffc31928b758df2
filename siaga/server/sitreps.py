"""Situation reports on disk and the TPS registry a server starts with (adapter helpers)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ..election import TpsRegistry, load_tps_registry
from ..errors import ConfigError
from ..roster import Roster
from ..sitrep import Sitrep, to_markdown, to_pdf

log = logging.getLogger("siaga.server")


def default_tps(roster: Roster) -> TpsRegistry:
    """The bundled Jambi sample registry, or none for a roster of another province."""
    try:
        return load_tps_registry(set(roster.regions))
    except ConfigError:
        log.warning("the built-in TPS list is for Jambi; give --tps FILE for this roster")
        return TpsRegistry()


def render_sitrep(sitrep: Sitrep, format: str, lang: str) -> str | bytes:
    """Markdown text, or PDF bytes."""
    return to_pdf(sitrep, lang) if format == "pdf" else to_markdown(sitrep, lang)


def write_sitrep(sitrep: Sitrep, folder: Path, lang: str = "id") -> list[Path]:
    """``sitrep-YYYYmmdd-HHMM.md`` and ``.pdf`` in ``folder`` (UTC in the name)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / time.strftime("sitrep-%Y%m%d-%H%M", time.gmtime(sitrep.generated_at))
    md, pdf = stem.with_suffix(".md"), stem.with_suffix(".pdf")
    md.write_text(to_markdown(sitrep, lang), encoding="utf-8")
    pdf.write_bytes(to_pdf(sitrep, lang))
    return [md, pdf]
