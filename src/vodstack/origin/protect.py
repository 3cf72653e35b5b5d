"""Protection applied at the origin, just in time, to the one clear CMAF copy.

Which tag (scheme + key generation) a manifest points at, whether a requested tag may be
served, and the encrypted bytes of init and media segments. Clear URLs of an asset that is
now protected stop resolving at once: protection cannot be bypassed by an old URL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from vodstack.base.lru import Lru
from vodstack.catalogue import Asset
from vodstack.errors import MediaError, NotFound
from vodstack.packaging import (
    DashProtection,
    HlsKey,
    Presentation,
    ServedSizes,
    Track,
    VariantTag,
    index_memo,
    segment_track,
    served_sizes,
)
from vodstack.packaging.encryption import (
    TrackCrypto,
    aes128_encrypt,
    aes128_init_iv,
    aes128_segment_iv,
    aes128_size,
    clearkey_pssh,
    encrypt_init,
    encrypt_segment,
    measure_growth,
    read_track_crypto,
)
from vodstack.protection import (
    ActiveKey,
    Protection,
    dash_scheme,
    hls_scheme,
    parse_schemes,
    refuse_external_in_clear,
)
from vodstack.storage.slices import BytesResource

log = logging.getLogger(__name__)
KEY_CACHE_CONTROL = "no-store"
#: Reads ``length`` bytes at ``offset`` of a track's stored (clear) file.
TrackReader = Callable[[Track, int, int], bytes]
#: The growth per scheme recorded beside a track's file ({} when there is no record).
GrowthReader = Callable[[Track], Mapping[str, tuple[int, ...]]]


def track_tag(p: Presentation, track: Track) -> int:
    """A per-track number that keeps IVs apart between tracks sharing one key."""
    return next(i for i, t in enumerate(p.tracks) if t.track_id == track.track_id) % 256


class ProtectedPackager:
    def __init__(
        self, protection: Protection, license_url: str, *, clear_external_keys: bool = False
    ) -> None:
        self.protection = protection
        self.license_url = license_url  # "{base}/v1/{asset}/license" with {asset}
        self.clear_external_keys = clear_external_keys  # see refuse_external_in_clear
        self._crypto: Lru[tuple[str, int, str], TrackCrypto] = Lru(1024)
        self._lock = threading.Lock()

    def _tag(self, asset: Asset, segment_s: int, scheme: str | None) -> VariantTag:
        if scheme is None:
            return VariantTag(asset.revision, segment_s)
        key = self.protection.current(asset.id, scheme)
        return VariantTag(asset.revision, segment_s, scheme, key.generation)

    def hls_tag(self, asset: Asset, segment_s: int) -> VariantTag:
        return self._tag(asset, segment_s, hls_scheme(parse_schemes(asset.drm)))

    def dash_tag(self, asset: Asset, segment_s: int) -> tuple[VariantTag, DashProtection | None]:
        tag = self._tag(asset, segment_s, dash_scheme(parse_schemes(asset.drm)))
        if tag.scheme is None:
            return tag, None
        key = self.key(asset.id, tag)
        licence = self.license_url.format(asset=asset.id) if self._clear_ok(key) else None
        return tag, DashProtection(tag.scheme, key.content_key.kid, licence, self._boxes(key))

    def _clear_ok(self, key: ActiveKey) -> bool:
        """Whether the key may be signalled and released as ClearKey (refuse_external_in_clear)."""
        return self.clear_external_keys or not key.external

    def _boxes(self, key: ActiveKey) -> tuple[bytes, ...]:
        """PSSH boxes for init segments: the W3C common one (ClearKey) only for keys ClearKey
        may release, then the key service's."""
        common = (clearkey_pssh([key.content_key.kid]),) if self._clear_ok(key) else ()
        return (*common, *key.pssh)

    def check(self, asset: Asset, tag: VariantTag) -> None:
        """A tag may be served only in a form the asset currently allows."""
        schemes = parse_schemes(asset.drm)
        if tag.scheme is None:
            if "clear" not in schemes:
                raise NotFound("this asset is no longer served in the clear")
            return
        if tag.scheme not in schemes:
            raise NotFound(f"this asset is not served with {tag.scheme}")
        current = self.protection.current(asset.id, tag.scheme).generation
        if tag.key_generation > current:  # named by a newer manifest than this process knows
            current = self.protection.current(asset.id, tag.scheme, fresh=True).generation
        if tag.key_generation not in (current, current - 1):  # previous key: players finishing
            raise NotFound("this key generation is no longer served")

    def key(self, asset_id: str, tag: VariantTag) -> ActiveKey:
        assert tag.scheme is not None
        return self.protection.generation(asset_id, tag.scheme, tag.key_generation)

    def hls_key(self, p: Presentation, track: Track, tag: VariantTag) -> HlsKey | None:
        if tag.scheme is None:
            return None
        if tag.scheme == "cenc":
            raise NotFound("HLS cannot carry cenc; use cbcs (SAMPLE-AES) or AES-128")
        key = self.key(p.asset_id, tag).content_key
        method = "AES-128" if tag.scheme == "aes-128" else "SAMPLE-AES"
        return HlsKey(method, key.iv, track_tag(p, track))

    def key_resource(self, asset_id: str, tag: VariantTag) -> BytesResource:
        """The raw 16-byte key for HLS (KEYFORMAT identity); never cached anywhere."""
        active = self.key(asset_id, tag)
        refuse_external_in_clear([active], self.clear_external_keys)
        key = active.content_key.key
        return BytesResource(
            key, "application/octet-stream", KEY_CACHE_CONTROL, f'"k{tag.key_generation}"'
        )

    def _track_crypto(self, p: Presentation, track: Track, clear_init: bytes) -> TrackCrypto:
        cache_key = (p.asset_id, p.revision, track.track_id)
        with self._lock:
            found = self._crypto.peek(cache_key)
        if found is None:
            found = read_track_crypto(clear_init, iv_tag=track_tag(p, track))
            with self._lock:
                self._crypto.put(cache_key, found)
        return found

    def encrypt_init(self, p: Presentation, track: Track, tag: VariantTag, clear: bytes) -> bytes:
        key = self.key(p.asset_id, tag)
        if tag.scheme == "aes-128":
            # The playlist's first EXT-X-KEY (with this IV) precedes the EXT-X-MAP: the
            # header is served encrypted like a segment [RFC 8216 §4.3.2.4, §4.3.2.5].
            iv = aes128_init_iv(key.content_key.iv, track_tag(p, track))
            return aes128_encrypt(clear, key.content_key, iv)
        return encrypt_init(clear, tag.scheme, key.content_key, self._boxes(key))  # type: ignore[arg-type]

    def encrypt_segment(
        self,
        p: Presentation,
        track: Track,
        tag: VariantTag,
        number: int,
        clear: bytes,
        clear_init: bytes,
    ) -> bytes:
        key = self.key(p.asset_id, tag).content_key
        if tag.scheme == "aes-128":
            return aes128_encrypt(
                clear, key, aes128_segment_iv(key.iv, number, track_tag(p, track))
            )
        crypto = self._track_crypto(p, track, clear_init)
        return encrypt_segment(clear, tag.scheme, key, crypto)  # type: ignore[arg-type]

    def served_sizes(
        self, p: Presentation, tag: VariantTag, read: TrackReader, recorded: GrowthReader
    ) -> ServedSizes:
        """The bytes every media segment is served as under ``tag``, per track id, for the
        manifests' bit rates [RFC 8216 §4.3.4.2; ISO/IEC 23009-1 §5.3.5.2].

        AES-128 pads each segment to the next 16-byte block (arithmetic). ``cenc``/``cbcs``
        add saiz/saio/senc boxes to every fragment: what the transcoder ``recorded`` beside
        the track (packaging/encryption/growth.py), else measured now from the media
        (revisions made before that record existed: one pass per track and scheme, then
        remembered with the fragment index). Tracks still being encoded window by window
        keep their estimated clear sizes.
        """
        out: dict[str, tuple[int, ...]] = {}
        if tag.scheme is None:
            return out
        scheme = tag.scheme
        for track in p.tracks:
            if track.kind not in ("video", "audio") or track.windowed or not track.fragments:
                continue
            segments = segment_track(track, tag.segment_s)
            if scheme == "aes-128":
                out[track.track_id] = index_memo.get(
                    segments,
                    "aes128-sizes",
                    lambda s=segments: tuple(aes128_size(seg.size) for seg in s),
                )
                continue
            fragment_sizes = index_memo.get(
                track.fragments,
                f"protected-sizes/{scheme}",
                lambda t=track: self._protected_fragment_sizes(p, t, scheme, read, recorded),
            )
            if fragment_sizes:
                out[track.track_id] = served_sizes(track, tag.segment_s, fragment_sizes)
        return out

    def _protected_fragment_sizes(
        self,
        p: Presentation,
        track: Track,
        scheme: str,
        read: TrackReader,
        recorded: GrowthReader,
    ) -> tuple[int, ...]:
        """Fragment sizes under ``scheme``; () for a track it cannot protect (its segments
        fail alike)."""
        growth = recorded(track).get(scheme)
        if growth is None:
            try:
                crypto = self._track_crypto(p, track, read(track, 0, track.init_size))
                measured = measure_growth(
                    (read(track, f.offset, f.size) for f in track.fragments), crypto, (scheme,)
                )
            except MediaError as exc:
                log.warning("cannot size %s %s segments of %s: %s", scheme, track.track_id,
                            p.asset_id, exc)  # fmt: skip
                return ()
            growth = tuple(measured[scheme])
        return tuple(f.size + g for f, g in zip(track.fragments, growth, strict=True))

    def forget(self, asset_id: str) -> None:
        self.protection.forget(asset_id)
        with self._lock:
            self._crypto.pop_where(lambda k, _: k[0] == asset_id)
