"""The official DASH MPD schema (ISO/IEC 23009-1 ``DASH-MPD.xsd``) as an independent checker.

The XSD and the W3C schemas it imports are test fixtures (``tests/fixtures/dash_schema``, with
their source and licence in the README there); imports by URL are answered from those local
copies, so validation never touches the network.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

SCHEMA_DIR = Path(__file__).parent / "fixtures" / "dash_schema"
# What the XSDs import by absolute URL → the local copy.
_LOCAL = {
    "http://www.w3.org/XML/2008/06/xlink.xsd": "xlink.xsd",
    "http://www.w3.org/2001/xml.xsd": "xml.xsd",
    "http://www.w3.org/2009/01/xml.xsd": "xml.xsd",
}


class _LocalCopies(etree.Resolver):
    def resolve(self, system_url, public_id, context):  # type: ignore[no-untyped-def]
        name = _LOCAL.get(system_url)
        if name is not None:
            return self.resolve_filename(str(SCHEMA_DIR / name), context)
        if "://" in (system_url or ""):
            raise AssertionError(f"the DASH schema wants {system_url}: add a local copy")
        return None


@functools.cache
def mpd_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(load_dtd=True, resolve_entities=True, no_network=True)
    parser.resolvers.add(_LocalCopies())
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "DASH-MPD.xsd"), parser))


def schema_errors(mpd_text: str | bytes) -> list[str]:
    """Every schema violation of an MPD, as ``line: message`` (empty when it validates)."""
    data = mpd_text.encode() if isinstance(mpd_text, str) else mpd_text
    schema = mpd_schema()
    document = etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False))
    if schema.validate(document):
        return []
    return [f"{e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]


def assert_valid_mpd(mpd_text: str | bytes) -> None:
    errors = schema_errors(mpd_text)
    assert not errors, "MPD fails ISO/IEC 23009-1 DASH-MPD.xsd:\n" + "\n".join(errors)
