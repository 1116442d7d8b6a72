"""The API-key cache: a key seen valid is remembered for its TTL, a revocation holds after it."""

from __future__ import annotations

from sfsync.models import Store
from sfsync.models.operations.api_keys import KeyCache, create_key, revoke_key
from sfsync.models.types import ApiScope


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key(store: Store, name: str = "cached") -> tuple[str, str]:
    with store.session() as s:
        issued = create_key(s, name, ApiScope.INGEST)
    return issued.key_id, issued.token


def _revoke(store: Store, key_id: str) -> None:
    with store.session() as s:
        revoke_key(s, key_id)


def test_a_revoked_key_is_admitted_until_its_entry_expires_then_refused(store: Store) -> None:
    """Within the TTL the cached principal answers; past it the store's revocation holds."""
    clock = FakeClock()
    cache = KeyCache(5.0, clock=clock)
    key_id, token = _key(store)
    first = cache.principal(store, token)
    assert first is not None and first.key_id == key_id
    _revoke(store, key_id)
    clock.now += 4.9
    assert cache.principal(store, token) == first
    clock.now += 0.2
    assert cache.principal(store, token) is None
    assert cache.principal(store, token) is None


def test_a_ttl_of_zero_asks_the_store_every_time(store: Store) -> None:
    """With no cache a revocation is refused on the very next check."""
    cache = KeyCache(0.0, clock=FakeClock())
    key_id, token = _key(store)
    assert cache.principal(store, token) is not None
    _revoke(store, key_id)
    assert cache.principal(store, token) is None


def test_a_refused_token_is_not_remembered(store: Store) -> None:
    """A wrong secret is refused while the right one is cached, and refusals cost no entry."""
    cache = KeyCache(60.0, clock=FakeClock())
    _, token = _key(store)
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert cache.principal(store, wrong) is None
    assert cache.principal(store, token) is not None
    assert cache.principal(store, wrong) is None
    assert cache.principal(store, "sfsync_nothing_here") is None
    assert len(cache) == 1


def test_the_cache_keeps_at_most_its_size_dropping_the_oldest(store: Store) -> None:
    """Past `size` keys the least recently cached one is asked about again."""
    clock = FakeClock()
    cache = KeyCache(60.0, size=2, clock=clock)
    keys = [_key(store, f"k{i}") for i in range(3)]
    for _, token in keys:
        assert cache.principal(store, token) is not None
    _revoke(store, keys[0][0])
    _revoke(store, keys[2][0])
    assert cache.principal(store, keys[0][1]) is None  # evicted: the store answers
    assert cache.principal(store, keys[2][1]) is not None  # still cached
