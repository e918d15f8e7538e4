from attrib.api.keys import KeyStore
from attrib.api.ratelimit import RateLimiter


def test_keys_hashed_and_revocable(tmp_path):
    ks = KeyStore(tmp_path / "keys.db")
    rec, key = ks.create("splunk")
    raw = (tmp_path / "keys.db").read_bytes()
    assert key.split("_")[2].encode() not in raw  # only the hash is stored
    assert ks.verify(key) == rec
    assert ks.verify(key + "x") is None and ks.verify("garbage") is None
    assert ks.revoke("splunk") == 1
    got = ks.verify(key)
    assert got is not None and got.revoked
    assert [r.name for r in ks.list()] == ["splunk"]


def test_token_bucket():
    rl = RateLimiter(rate=2, burst=2)
    assert rl.acquire("k", now=0.0) == 0 and rl.acquire("k", now=0.0) == 0
    wait = rl.acquire("k", now=0.0)
    assert 0.49 < wait <= 0.5
    assert rl.acquire("k", now=0.6) == 0
    assert rl.retry_after(0.2) == "1"


def test_key_database_is_private(tmp_path):
    db = tmp_path / "sub" / "keys.db"
    KeyStore(db).create("siem")
    assert db.stat().st_mode & 0o777 == 0o600  # was 0644 in a 0755 folder
    assert db.parent.stat().st_mode & 0o077 == 0
