"""Key Vault secret semantics: versions, attributes, disabling, soft delete, recover, purge."""

import pytest

from fakes.keyvault.errors import VaultError
from fakes.keyvault.store import MAX_VALUE_CHARS, Changes, SecretStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> SecretStore:
    return SecretStore(clock)


def refused(status: int, code: str) -> "pytest.RaisesExc[VaultError]":
    return pytest.raises(VaultError, check=lambda e: (e.status, e.code) == (status, code))


def test_each_set_makes_a_new_latest_version(store: SecretStore) -> None:
    first = store.set("ibkr-password", "one")
    second = store.set("ibkr-password", "two")
    assert len(first.version) == 32
    assert int(first.version, 16) >= 0
    assert first.version != second.version
    assert store.get("ibkr-password").value == "two"
    assert store.get("ibkr-password", first.version).value == "one"
    assert [v.version for v in store.versions("ibkr-password")] == [first.version, second.version]


def test_attributes_and_metadata_are_kept(store: SecretStore) -> None:
    store.set(
        "ibkr-password",
        "pw",
        enabled=True,
        not_before=1_700_000_000,
        expires=1_900_000_000,
        content_type="text/plain",
        tags={"owner": "bot"},
    )
    got = store.get("ibkr-password")
    assert (got.not_before, got.expires, got.content_type, got.tags) == (
        1_700_000_000,
        1_900_000_000,
        "text/plain",
        {"owner": "bot"},
    )
    assert got.created == got.updated == 1_800_000_000


def test_an_expired_secret_is_still_served_as_key_vault_does(store: SecretStore) -> None:
    store.set("old", "v", expires=1_000)
    assert store.get("old").value == "v"


def test_unknown_secrets_and_versions_are_not_found(store: SecretStore) -> None:
    store.set("known", "v")
    with refused(404, "SecretNotFound"):
        store.get("unknown")
    with refused(404, "SecretNotFound"):
        store.get("known", "0" * 32)


def test_a_disabled_version_is_listed_but_not_served(store: SecretStore) -> None:
    old = store.set("ibkr-password", "one")
    store.set("ibkr-password", "two")
    store.update("ibkr-password", "", Changes(enabled=False))
    with refused(403, "Forbidden"):
        store.get("ibkr-password")
    assert store.get("ibkr-password", old.version).value == "one"
    assert store.find("ibkr-password").enabled is False
    store.update("ibkr-password", "", Changes(enabled=True))
    assert store.get("ibkr-password").value == "two"


def test_an_update_changes_only_what_it_names(store: SecretStore, clock: Clock) -> None:
    store.set("s", "v", content_type="text/plain", tags={"a": "1"})
    clock.now += 60
    updated = store.update("s", "", Changes(tags={"b": "2"}))
    assert (updated.value, updated.content_type, updated.tags) == ("v", "text/plain", {"b": "2"})
    assert updated.updated == updated.created + 60


def test_listing_shows_the_latest_of_each_secret_by_name(store: SecretStore) -> None:
    store.set("b", "1")
    store.set("a", "1")
    store.set("a", "2")
    assert [(v.name, v.value) for v in store.secrets()] == [("a", "2"), ("b", "1")]


def test_a_deleted_secret_is_gone_recoverable_and_blocks_its_name(store: SecretStore) -> None:
    store.set("s", "1")
    store.set("s", "2")
    deleted = store.delete("s")
    assert deleted.latest.value == "2"
    assert deleted.purge_on == deleted.deleted_on + 90 * 86_400
    with refused(404, "SecretNotFound"):
        store.get("s")
    assert store.secrets() == []
    assert [d.latest.name for d in store.deleted_secrets()] == ["s"]
    with refused(409, "Conflict"):
        store.set("s", "3")
    assert store.recover("s").value == "2"
    assert [v.value for v in store.versions("s")] == ["1", "2"]
    with refused(404, "SecretNotFound"):
        store.deleted("s")


def test_a_purged_secret_is_gone_for_good_and_its_name_is_free(store: SecretStore) -> None:
    store.set("s", "1")
    store.delete("s")
    store.purge("s")
    with refused(404, "SecretNotFound"):
        store.recover("s")
    store.set("s", "new")
    assert [v.value for v in store.versions("s")] == ["new"]


def test_only_deleted_secrets_can_be_purged_or_recovered(store: SecretStore) -> None:
    store.set("live", "v")
    with refused(404, "SecretNotFound"):
        store.purge("live")
    with refused(404, "SecretNotFound"):
        store.recover("live")


@pytest.mark.parametrize("name", ["bad_name", "dots.not.allowed", "", "a" * 128, "spa ce", "ü"])
def test_invalid_names_are_bad_parameters(store: SecretStore, name: str) -> None:
    with refused(400, "BadParameter"):
        store.set(name, "v")
    with refused(400, "BadParameter"):
        store.get(name)


def test_a_name_of_127_letters_digits_and_dashes_is_valid(store: SecretStore) -> None:
    name = ("Ab-9" * 32)[:127]
    assert store.set(name, "v").name == name


def test_values_are_limited_to_25k_characters(store: SecretStore) -> None:
    store.set("big", "x" * MAX_VALUE_CHARS)
    with refused(400, "BadParameter"):
        store.set("big", "x" * (MAX_VALUE_CHARS + 1))
    assert len(store.versions("big")) == 1
