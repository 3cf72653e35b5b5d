"""Where content keys come from: generated here, or from an external key service (SPEKE v2).

SPEKE v2 (AWS Secure Packager and Encoder Key Exchange) is the interface MediaPackage and
MediaConvert use towards DRM key services: the packager POSTs a CPIX 2.3 document naming the
key ids it wants and the DRM systems it signals; the service answers with the keys and each
system's PSSH box. Plugging a commercial DRM (Widevine, PlayReady, FairPlay) into vodstack is
configuring such a service: its PSSH boxes go into the init segments and the MPD as they are.
"""

from __future__ import annotations

import base64
import secrets
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import defusedxml
import defusedxml.ElementTree as SafeET
import httpx

from vodstack.errors import ConfigError, StorageError

CPIX = "urn:dashif:org:cpix"
PSKC = "urn:ietf:params:xml:ns:keyprov:pskc"
W3C_COMMON_SYSTEM_ID = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
_MAX_RESPONSE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ProvidedKey:
    kid: bytes
    key: bytes
    iv: bytes
    pssh: tuple[bytes, ...] = ()  # full pssh boxes from the key service (other DRM systems)


class KeyProvider(Protocol):
    name: str

    def provide(self, content_id: str, scheme: str) -> ProvidedKey: ...


class LocalKeyProvider:
    """128-bit random keys, KIDs and IVs from the OS CSPRNG."""

    name = "local"

    def provide(self, content_id: str, scheme: str) -> ProvidedKey:
        return ProvidedKey(uuid.uuid4().bytes, secrets.token_bytes(16), secrets.token_bytes(16))


def cpix_request(content_id: str, kid: bytes, scheme: str, system_ids: Sequence[str]) -> bytes:
    """A SPEKE v2.0 request: one content key, the DRM systems whose PSSH we want."""
    ET.register_namespace("cpix", CPIX)
    ET.register_namespace("pskc", PSKC)
    kid_text = str(uuid.UUID(bytes=kid))
    root = ET.Element(f"{{{CPIX}}}CPIX", contentId=content_id, version="2.3")
    keys = ET.SubElement(root, f"{{{CPIX}}}ContentKeyList")
    # AES-128 HLS has no CENC scheme name; its key is requested like cbcs (same 16 bytes).
    ET.SubElement(
        keys,
        f"{{{CPIX}}}ContentKey",
        kid=kid_text,
        commonEncryptionScheme="cenc" if scheme == "cenc" else "cbcs",
    )
    systems = ET.SubElement(root, f"{{{CPIX}}}DRMSystemList")
    for system_id in system_ids:
        drm = ET.SubElement(systems, f"{{{CPIX}}}DRMSystem", kid=kid_text, systemId=system_id)
        ET.SubElement(drm, f"{{{CPIX}}}PSSH")
    rules = ET.SubElement(root, f"{{{CPIX}}}ContentKeyUsageRuleList")
    ET.SubElement(rules, f"{{{CPIX}}}ContentKeyUsageRule", kid=kid_text, intendedTrackType="ALL")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def parse_cpix_response(body: bytes, kid: bytes) -> ProvidedKey:
    """Key, optional explicit IV and PSSH boxes for ``kid`` from a CPIX response."""
    try:
        root = SafeET.fromstring(body)
    except (ET.ParseError, defusedxml.DefusedXmlException) as exc:
        raise StorageError(f"the key service sent unusable CPIX ({type(exc).__name__})") from exc
    kid_text = str(uuid.UUID(bytes=kid))
    key = iv = None
    for content_key in root.iter(f"{{{CPIX}}}ContentKey"):
        if content_key.get("kid", "").lower() != kid_text:
            continue
        value = content_key.find(f"{{{CPIX}}}Data/{{{PSKC}}}Secret/{{{PSKC}}}PlainValue")
        if value is not None and value.text:
            key = base64.b64decode(value.text.strip())
        if content_key.get("explicitIV"):
            iv = base64.b64decode(content_key.get("explicitIV", ""))
    if key is None or len(key) != 16:
        raise StorageError("the key service returned no 16-byte key for the requested KID")
    boxes = tuple(
        base64.b64decode(p.text.strip())
        for drm in root.iter(f"{{{CPIX}}}DRMSystem")
        if drm.get("kid", "").lower() == kid_text
        for p in drm.findall(f"{{{CPIX}}}PSSH")
        if p.text and p.text.strip()
    )
    return ProvidedKey(kid, key, iv if iv and len(iv) == 16 else secrets.token_bytes(16), boxes)


class SpekeKeyProvider:
    """SPEKE v2.0 client (CPIX 2.3 over HTTP POST)."""

    name = "speke"

    def __init__(
        self,
        url: str,
        system_ids: Sequence[str] = (),
        *,
        client: httpx.Client | None = None,
        timeout_s: float = 10,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError("the SPEKE URL must be http(s)")
        self.url = url
        self.system_ids = tuple(system_ids)
        self.client = client or httpx.Client(timeout=timeout_s)

    def provide(self, content_id: str, scheme: str) -> ProvidedKey:
        kid = uuid.uuid4().bytes
        body = cpix_request(content_id, kid, scheme, self.system_ids)
        try:
            response = self.client.post(
                self.url,
                content=body,
                headers={"Content-Type": "application/xml", "X-Speke-Version": "2.0"},
            )
        except httpx.HTTPError as exc:
            raise StorageError(f"the key service is unreachable ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise StorageError(f"the key service answered {response.status_code}")
        if len(response.content) > _MAX_RESPONSE:
            raise StorageError("the key service answer is too large")
        return parse_cpix_response(response.content, kid)
