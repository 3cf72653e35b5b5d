"""Just-in-time content protection of the one clear CMAF copy: pure functions over bytes.

- ``cenc`` / ``cbcs`` common encryption (ISO/IEC 23001-7) for DASH and HLS SAMPLE-AES:
  :func:`encrypt_init` rewrites the header, :func:`encrypt_segment` the fragments; a
  :class:`TrackCrypto` (from :func:`read_track_crypto` on the clear header) carries what the
  fragments need to know about the track.
- HLS ``AES-128`` (RFC 8216 §4.3.2.4): :func:`aes128_encrypt` of whole resources with derived
  IVs.
- Keys (:class:`ContentKey`) and PSSH boxes, incl. the W3C ClearKey one.

Same inputs, same output bytes: nothing here is random, so edges can cache and agree.
"""

from vodstack.packaging.encryption.aes128 import (
    aes128_encrypt,
    aes128_init_iv,
    aes128_segment_iv,
    aes128_size,
    hls_iv,
)
from vodstack.packaging.encryption.fragment import cenc_iv, encrypt_segment, protected_size
from vodstack.packaging.encryption.growth import (
    decode_growth,
    encode_growth,
    growth_key,
    measure_growth,
)
from vodstack.packaging.encryption.init import Scheme, encrypt_init
from vodstack.packaging.encryption.keys import (
    ContentKey,
    b64url,
    b64url_decode,
    clearkey_jwk,
    kid_from_uuid,
    kid_to_uuid,
)
from vodstack.packaging.encryption.pssh import (
    COMMON_SYSTEM_ID,
    DASHIF_CLEARKEY_SCHEME,
    FAIRPLAY_SYSTEM_ID,
    PLAYREADY_SYSTEM_ID,
    WIDEVINE_SYSTEM_ID,
    Pssh,
    check_pssh,
    clearkey_pssh,
    make_pssh,
    parse_pssh,
    pssh_from_base64,
)
from vodstack.packaging.encryption.track import TrackCrypto, read_track_crypto

__all__ = [
    "COMMON_SYSTEM_ID",
    "DASHIF_CLEARKEY_SCHEME",
    "FAIRPLAY_SYSTEM_ID",
    "PLAYREADY_SYSTEM_ID",
    "WIDEVINE_SYSTEM_ID",
    "ContentKey",
    "Pssh",
    "Scheme",
    "TrackCrypto",
    "aes128_encrypt",
    "aes128_init_iv",
    "aes128_segment_iv",
    "aes128_size",
    "b64url",
    "b64url_decode",
    "cenc_iv",
    "check_pssh",
    "clearkey_jwk",
    "clearkey_pssh",
    "decode_growth",
    "encode_growth",
    "encrypt_init",
    "encrypt_segment",
    "growth_key",
    "hls_iv",
    "kid_from_uuid",
    "kid_to_uuid",
    "make_pssh",
    "measure_growth",
    "parse_pssh",
    "protected_size",
    "pssh_from_base64",
    "read_track_crypto",
]
