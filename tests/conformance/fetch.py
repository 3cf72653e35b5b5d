"""Fetch a whole HLS presentation the way a player does (I/O at the rim of the checker):
the multivariant playlist, every media playlist, every segment, the init sections and keys,
all through the real gate with the viewer's signed cookies. Sizes are the bytes served
(ciphertext for AES-128); the clear bytes of video segments are kept for the key-frame rule.
"""

from __future__ import annotations

from urllib.parse import urljoin

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.conformance.hls_rules import (
    Key,
    MediaPlaylist,
    Multivariant,
    parse_media_playlist,
    parse_multivariant,
)


def _get(client: httpx.Client, url: str, byterange: str | None = None) -> bytes:
    headers = {}
    if byterange is not None:  # "<length>@<offset>" [RFC 8216 §4.3.2.2]
        length, _, offset = byterange.partition("@")
        headers["Range"] = f"bytes={int(offset)}-{int(offset) + int(length) - 1}"
    r = client.get(url, headers=headers)
    assert r.status_code in (200, 206), f"GET {url}: {r.status_code} {r.text[:200]}"
    return r.content


def _decrypt(client: httpx.Client, base: str, key: Key | None, data: bytes, seq: int) -> bytes:
    """AES-128: whole resource CBC + PKCS7 [§4.3.2.4]; IV attribute, else the sequence
    number [§5.2]. SAMPLE-AES media keeps its boxes clear: returned as is."""
    if key is None or key.method != "AES-128":
        return data
    raw = _get(client, urljoin(base, key.uri))
    iv = bytes.fromhex(key.iv[2:]) if key.iv else seq.to_bytes(16, "big")
    padded = Cipher(algorithms.AES(raw), modes.CBC(iv)).decryptor().update(data)
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def fetch_media_playlist(client: httpx.Client, url: str, *, keep_bodies: bool) -> MediaPlaylist:
    p = parse_media_playlist(url, _get(client, url).decode())
    if p.map_uri is not None:
        if p.map_key is not None and p.map_key.method == "AES-128":
            assert p.map_key.iv, f"{url}: encrypted EXT-X-MAP without an IV (§4.3.2.5)"
        p.init = _decrypt(client, url, p.map_key, _get(client, urljoin(url, p.map_uri)), 0)
    sized = []
    for seq, s in enumerate(p.segments):
        data = _get(client, urljoin(url, s.uri), s.byterange)
        sized.append(type(s)(s.uri, s.duration, s.extinf, s.key, s.byterange, len(data)))
        if keep_bodies and not p.iframes_only:
            p.bodies.append(_decrypt(client, url, s.key, data, seq))
    p.segments = sized
    return p


def fetch_presentation(
    client: httpx.Client, master_url: str
) -> tuple[Multivariant, dict[str, MediaPlaylist]]:
    """The multivariant playlist and every playlist it names, keyed by the URI as written."""
    m = parse_multivariant(_get(client, master_url).decode())
    playlists: dict[str, MediaPlaylist] = {}
    for v in m.variants:
        playlists[v.uri] = fetch_media_playlist(
            client, urljoin(master_url, v.uri), keep_bodies=not v.iframe
        )
    for r in m.renditions:
        if r.uri and r.uri not in playlists:
            playlists[r.uri] = fetch_media_playlist(
                client, urljoin(master_url, r.uri), keep_bodies=False
            )
    return m, playlists
