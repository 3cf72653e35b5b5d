"""Asset labels (limits, merge semantics, filters, search) and scoped API keys (hashed at
rest, constant-time checked, revocable) on both backends."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from vodstack.catalogue import labels as L
from vodstack.catalogue.apikeys import (
    ADMIN,
    LAST_USED_EVERY,
    ApiKey,
    ApiKeys,
    Principal,
    key_id_of,
    token_hash,
)
from vodstack.catalogue.listing import ASSETS, PLAYBACK, PROTECTIONS
from vodstack.catalogue.models import utcnow
from vodstack.catalogue.repository import new_id
from vodstack.compose.services import Services
from vodstack.errors import Forbidden, InvalidInput, NotFound


def _asset(services: Services, title: str = "t") -> str:
    asset_id = new_id()
    services.catalogue.create_asset(
        asset_id, title=title, source_key="masters/x/s.mp4", source_name="s.mp4", source_size=1
    )
    return asset_id


def _ids(services: Services, **params: list[str]) -> set[str]:
    return {a.id for a in ASSETS.page(services.db, ASSETS.parse(params)).items}


# -- labels: limits (pure) -----------------------------------------------------------------------
def test_metadata_limits() -> None:
    assert L.validate({f"k{i}": "v" for i in range(50)}).metadata["k49"] == "v"
    with pytest.raises(InvalidInput, match="51 keys; at most 50"):
        L.validate({f"k{i}": "v" for i in range(51)})
    big = {f"k{i}": "x" * 400 for i in range(45)}  # 45 × ~408 bytes > 16 KB
    with pytest.raises(InvalidInput, match="at most 16384"):
        L.validate(big)
    with pytest.raises(InvalidInput, match="longer than 512"):
        L.validate({"k": "x" * 513})
    for key in ("", "-x", "a b", "é", "k" * 65, "a/b"):
        with pytest.raises(InvalidInput, match="metadata key"):
            L.validate({key: "v"})
    for value in ("nul\x00", "bell\x07", 5, None, ["list"]):
        with pytest.raises(InvalidInput):
            L.validate({"k": value})
    assert L.validate({"k": "tab\tand\nnewline"}).metadata["k"] == "tab\tand\nnewline"
    # multi-byte text counts in bytes: 500 × 4-byte characters is within a value, not the size
    assert L.validate({"k": "😀" * 500}).metadata["k"] == "😀" * 500


def test_tags_and_governance_limits() -> None:
    labels = L.validate(tags=["promo", "promo", "S1:E2", "a/b+c"])
    assert labels.tags == ("S1:E2", "a/b+c", "promo")  # a set: duplicates dropped, sorted
    with pytest.raises(InvalidInput, match="at most 50 tags"):
        L.validate(tags=[f"t{i}" for i in range(51)])
    for tag in ("", "has space", "x" * 65, "a,b", "_lead"):
        with pytest.raises(InvalidInput, match="tag"):
            L.validate(tags=[tag])
    with pytest.raises(InvalidInput, match="list of strings"):
        L.validate(tags="promo")
    assert L.validate(governance={"owner": "  Ann  "}).owner == "Ann"
    assert L.validate(governance={"owner": "   "}).owner is None
    with pytest.raises(InvalidInput, match="longer than 64"):
        L.validate(governance={"classification": "x" * 65})
    with pytest.raises(InvalidInput, match="unknown label"):
        L.validate(governance={"colour": "red"})


def test_upload_fields() -> None:
    labels = L.from_fields(
        {"metadata": '{"show": "S1"}', "tags": "a, b,,c", "owner": "ann", "title": "ignored"}
    )
    assert labels == L.Labels({"show": "S1"}, ("a", "b", "c"), None, "ann", None)
    assert L.from_fields({}).is_empty()
    for bad in ('{"show": 1}', "[1]", "not json", '"s"'):
        with pytest.raises(InvalidInput, match="metadata"):
            L.from_fields({"metadata": bad})
    with pytest.raises(InvalidInput):
        L.from_fields({"metadata": json.dumps({"k": "x" * 100_000})})


def test_merge_patch_semantics() -> None:
    current = L.Labels({"a": "1", "b": "2"}, ("x",), "internal", "ann", "cc1")
    after = L.LabelsPatch(
        metadata={"a": None, "c": "3"}, governance={"owner": None, "cost_center": "cc2"}
    ).apply(current)
    assert after == L.Labels({"b": "2", "c": "3"}, ("x",), "internal", None, "cc2")
    assert L.LabelsPatch(tags=[]).apply(current).tags == ()
    assert L.LabelsPatch().apply(current) == current
    with pytest.raises(InvalidInput, match="51 keys"):  # checked on the merged result
        L.LabelsPatch(metadata={f"n{i}": "v" for i in range(49)}).apply(current)


def test_listing_choices_match_the_layers_they_mirror() -> None:
    from vodstack.edge.policy import PLAYBACK_POLICIES
    from vodstack.protection.service import SCHEMES

    assert ("clear", *SCHEMES) == PROTECTIONS
    assert PLAYBACK == PLAYBACK_POLICIES


# -- labels: storage, filters, search -------------------------------------------------------------
def test_labels_are_stored_filtered_and_searched(services: Services) -> None:
    store = L.LabelStore(services.db)
    a, b = _asset(services, "Summer Promo"), _asset(services, "Lecture 100%")
    c = _asset(services, "Sale: 50% off_today")
    store.update(a, L.LabelsPatch(metadata={"show": "Lost", "season": "2"}, tags=["promo", "hd"]))
    store.update(b, L.LabelsPatch(tags=["promo"], governance={"owner": "ann", "cost_center": "c1"}))
    store.update(c, L.LabelsPatch(metadata={"note": "50% off_today"}, governance={"owner": "bob"}))
    assert store.get(a) == L.Labels({"season": "2", "show": "Lost"}, ("hd", "promo"))
    assert _ids(services, tag=["promo"]) == {a, b}
    assert _ids(services, tag=["promo", "hd"]) == {a}
    assert _ids(services, tag=["nope"]) == set()
    assert _ids(services, **{"metadata[show]": ["Lost"]}) == {a}
    assert _ids(services, **{"metadata[show]": ["lost"]}) == set()  # exact
    assert _ids(services, owner=["ann"], cost_center=["c1"]) == {b}
    assert _ids(services, q=["summer"]) == {a}  # title, any case
    assert _ids(services, q=["LOST"]) == set()  # metadata: by metadata[KEY]=VALUE, not q
    assert _ids(services, q=["100%"]) == {b}  # wildcards are literal
    assert _ids(services, q=["0% off_"]) == {c}
    assert _ids(services, q=["%"]) == {b, c}
    assert _ids(services, q=["_"]) == {c}
    # every asset of a page gets its own labels (one query per table, not per asset)
    rows = ASSETS.page(services.db, ASSETS.parse({})).items
    found = store.of(rows)
    assert found[b].owner == "ann" and found[c].metadata == {"note": "50% off_today"}
    with pytest.raises(NotFound):
        store.update("z" * 20, L.LabelsPatch(tags=["x"]))
    with pytest.raises(InvalidInput):  # nothing written
        store.update(a, L.LabelsPatch(metadata={"bad key": "v"}, tags=[]))
    assert store.get(a).tags == ("hd", "promo")
    services.catalogue.delete_asset(a)  # labels go with the asset
    with services.db.session() as session:
        assert (
            session.execute(
                text("SELECT count(*) FROM asset_tags WHERE asset_id = :a"), {"a": a}
            ).scalar()
            == 0
        )
        assert (
            session.execute(
                text("SELECT count(*) FROM asset_metadata WHERE asset_id = :a"), {"a": a}
            ).scalar()
            == 0
        )


def test_protection_filter_matches_scheme_sets(services: Services) -> None:
    ids = {}
    for drm in ("clear", "cenc", "aes-128,cenc", "aes-128,cbcs,cenc", "cbcs"):
        ids[drm] = _asset(services)
        services.catalogue.update_asset(ids[drm], drm=drm)
    assert _ids(services, protection=["cenc"]) == {
        ids["cenc"],
        ids["aes-128,cenc"],
        ids["aes-128,cbcs,cenc"],
    }
    assert _ids(services, protection=["cbcs"]) == {ids["aes-128,cbcs,cenc"], ids["cbcs"]}
    assert _ids(services, protection=["clear"]) == {ids["clear"]}


# -- API keys -------------------------------------------------------------------------------------
def test_keys_are_hashed_shown_once_and_verified(services: Services) -> None:
    keys = ApiKeys(services.db)
    key, token = keys.create("ci uploader", ["upload", "read", "upload"], ADMIN)
    assert key.scopes == ["read", "upload"] and key.created_by == "the admin token"
    assert token.startswith(f"vsk_{key.id}_") and len(token) >= 60
    assert key_id_of(token) == key.id
    with services.db.session() as session:
        row = session.scalars(select(ApiKey)).one()
        stored = " ".join(str(v) for v in row.__dict__.values())
        assert token not in stored and token.split("_", 2)[2] not in stored
        assert row.secret_hash == token_hash(token)
    principal = keys.verify(token)
    assert principal == Principal("ci uploader", frozenset({"read", "upload"}), key.id)
    assert principal.allows("upload") and not principal.allows("publish")
    for wrong in (
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # one character off
        token + "x",
        f"vsk_{key.id}_",
        f"vsk_{'z' * 16}_{token.split('_', 2)[2]}",  # another id, same secret
        "vsk_",
        "",
    ):
        assert keys.verify(wrong) is None, wrong


def test_last_use_is_recorded_at_most_once_a_minute(services: Services) -> None:
    keys = ApiKeys(services.db)
    key, token = keys.create("reader", "read", ADMIN)
    assert keys.get(key.id).last_used_at is None
    now = utcnow()
    keys.verify(token, now=now)
    first = keys.get(key.id).last_used_at
    assert first is not None
    keys.verify(token, now=now + timedelta(seconds=5))
    assert keys.get(key.id).last_used_at == first
    keys.verify(token, now=now + LAST_USED_EVERY + timedelta(seconds=1))
    assert keys.get(key.id).last_used_at > first


def test_revoked_keys_stop_at_once(services: Services) -> None:
    keys = ApiKeys(services.db)
    key, token = keys.create("temp", ["read"], ADMIN)
    assert keys.verify(token) is not None
    assert keys.revoke(key.id).revoked_at is not None
    assert keys.verify(token) is None
    keys.revoke(key.id)  # again: no change, no error
    assert [k.id for k in keys.list()] == []
    assert [k.id for k in keys.list(include_revoked=True)] == [key.id]
    with pytest.raises(NotFound):
        keys.revoke("nope")


def test_a_key_grants_only_scopes_it_holds(services: Services) -> None:
    keys = ApiKeys(services.db)
    manager = Principal("key manager", frozenset({"keys", "read"}), "k" * 16)
    keys.create("reader", ["read"], manager)
    for wanted in (["admin"], ["read", "publish"], ["upload"]):
        with pytest.raises(Forbidden, match="cannot grant the scope"):
            keys.create("escalate", wanted, manager)
    for bad in ([], ["root"], ["read", "write"]):
        with pytest.raises(InvalidInput, match="scope"):
            keys.create("bad", bad, ADMIN)
    for name in ("", " ", "x" * 101, "tab\tname"):
        with pytest.raises(InvalidInput, match="name"):
            keys.create(name, ["read"], ADMIN)
