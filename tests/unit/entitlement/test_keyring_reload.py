"""The key ring's group is read on every delivery request: in a server a read never waits
for the catalogue (issue #15). One background thread re-reads it; unchanged rows keep the
same group; a change made through the ring is seen at once; elsewhere reads re-read in place."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from vodstack.compose.services import Services, build_services
from vodstack.config import Settings
from vodstack.entitlement.keyring import KeyRing


def until(check: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture
def services(tmp_path: Path):
    services = build_services(Settings(home=tmp_path))
    yield services
    services.close()


def reads_by_thread(ring: KeyRing) -> list[str]:
    """The names of the threads that read the catalogue's key rows, from now on."""
    names: list[str] = []
    read = ring.grants.signing_keys

    def counted():  # type: ignore[no-untyped-def]
        names.append(threading.current_thread().name)
        return read()

    ring.grants.signing_keys = counted  # type: ignore[method-assign]
    return names


def test_a_server_ring_reloads_in_the_background_only(services: Services) -> None:
    ring = KeyRing(services.grants, services.keyring.store, refresh_s=0.2)
    first = ring.key_group()
    ring.start_reloading()
    reads = reads_by_thread(ring)
    until(lambda: len(reads) >= 3)
    for _ in range(50):  # reads never wait for the catalogue, however old the group
        assert ring.key_group() is first  # nothing changed: the same group, no PEM parsed
        time.sleep(0.01)
    assert set(reads) == {"keyring-reload"}

    # another process (here: another ring) rotates; the reloader brings it in
    new_id = KeyRing(services.grants, services.keyring.store).rotate()
    until(lambda: ring._current[0] is not None and ring._current[0].signing_key_id == new_id)
    assert ring.key_group().signing_key_id == new_id

    # a change made through this ring: the next read has it, in that read
    old_id = first.signing_key_id
    assert old_id is not None
    ring.retire(old_id)
    assert ring.key_group().verification_key(old_id) is None

    reloader = ring._reloader
    assert reloader is not None
    ring.close()
    reloader.join(5)
    assert not reloader.is_alive()


def test_without_a_reloader_an_old_group_is_read_again_in_place(services: Services) -> None:
    ring = KeyRing(services.grants, services.keyring.store, refresh_s=0.05)
    ring.key_group()
    reads = reads_by_thread(ring)
    time.sleep(0.1)
    ring.key_group()
    assert reads == [threading.current_thread().name]


def test_a_failed_reload_keeps_the_keys_in_use(services: Services) -> None:
    ring = KeyRing(services.grants, services.keyring.store, refresh_s=0.2)
    group = ring.key_group()
    tries: list[float] = []

    def away() -> list:
        tries.append(time.monotonic())
        raise OSError("catalogue unreachable")

    ring.grants.signing_keys = away  # type: ignore[method-assign]
    ring.start_reloading()
    until(lambda: len(tries) >= 2)
    for _ in range(100):
        assert ring.key_group() is group
    ring.close()
    assert len(tries) < 10  # tried every refresh_s / 2, not once per read


def test_a_follower_is_told_the_group_while_the_ring_reloads(services: Services) -> None:
    """The gate's verifier compares with the group it was told instead of calling the ring on
    every request; it is told None whenever it has to ask again."""
    ring = KeyRing(services.grants, services.keyring.store, refresh_s=0.2)
    told: list[object] = []
    ring.follow(told.append)
    ring.key_group()
    assert told == []  # no reloader: every read asks the ring, nobody is told
    ring.start_reloading()
    until(lambda: bool(told))
    assert told[-1] is ring.key_group()

    old_id = ring.key_group().signing_key_id
    assert old_id is not None
    new_id = ring.rotate()
    ring.retire(old_id)
    assert told[-1] is None  # a change made here: told at once, before the next read
    group = ring.key_group()  # that read loads it in place, and tells it
    assert group.signing_key_id == new_id
    assert told[-1] is group
    ring.close()
    assert told[-1] is None


def test_a_key_retired_in_the_server_process_is_refused_at_once(services: Services) -> None:
    """Through the services' own wiring (the verifier follows the ring): a known grant's quick
    re-check does not outlive its key."""
    from vodstack.entitlement.policy import Policy
    from vodstack.entitlement.signing import signed_cookies

    ring, verifier = services.keyring, services.signature_verifier
    base = services.settings.base_url()
    key_id, private_key = ring.signer()
    cookies = signed_cookies(
        Policy(f"{base}/v1/abcdefghijkl/*", int(time.time()) + 600), key_id, private_key
    )
    header = "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()
    url = f"{base}/v1/abcdefghijkl/v720/1.m4s"
    ring.start_reloading()
    until(lambda: verifier._followed is not None)
    assert verifier.verify_credential("cookie", url, header, "127.0.0.1").ok
    assert verifier.verify_credential("cookie", url, header, "127.0.0.1").ok  # known
    ring.rotate()
    ring.retire(key_id)
    verdict = verifier.verify_credential("cookie", url, header, "127.0.0.1")
    assert (verdict.ok, verdict.reason) == (False, "unknown_key")
