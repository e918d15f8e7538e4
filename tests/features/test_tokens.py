"""Token-abuse evidence pinned on hand-built tables (mail access that no sign-in explains)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrib.features import build_origins
from attrib.features.tokens import (
    TOKEN_EVIDENCE_THRESHOLD,
    apply_token_evidence,
    token_abuse_score,
    token_reason,
)

from .conftest import by_ip, make_events, signin

HOME, HOME2, VPS, VPS2, CRM = (
    "203.0.113.1", "203.0.113.2", "198.51.100.9", "198.51.100.10", "192.0.2.77",
)  # fmt: skip
OUTLOOK, EVIL, CRMAPP = "outlook-app", "rare-app", "crm-app"


def access(ts: str, ip: str, user: str, app: str = OUTLOOK, **kw: object) -> dict[str, object]:
    return {"ts": ts, "src_ip": ip, "user": user, "event_type": "MailItemsAccessed",
            "outcome": "success", "source": "m365", "app_id": app, "mailbox": user,
            "access_type": "Bind", "item_count": 3, **kw}  # fmt: skip


def enrichment() -> pd.DataFrame:
    return pd.DataFrame({
        "ip": [HOME, HOME2, VPS, VPS2, CRM],
        "asn": [64500, 64500, 64600, 64700, 64800],  # HOME and HOME2: one carrier
        "country": ["NL", "NL", "US", "DE", "IE"],
    })  # fmt: skip


def events() -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    for i in range(30):  # ten accounts work 9-17 UTC, sign in at home, read mail from home
        u = f"u{i % 10}@o"
        d = f"2026-11-{1 + i // 10:02d}"
        rows.append(signin(f"{d}T09:00:00Z", HOME, u, "success", signin_kind="interactive",
                           session_id=f"s-{u}-{d}"))  # fmt: skip
        rows.append(access(f"{d}T10:00:00Z", HOME, u, session_id=f"s-{u}-{d}"))
        rows.append(signin(f"{d}T14:30:00Z", HOME, u, "success", signin_kind="non_interactive",
                           session_id=f"s-{u}-{d}"))  # fmt: skip
        rows.append(access(f"{d}T15:00:00Z", HOME2, u, session_id=f"s-{u}-{d}"))
    # the forger: two accounts, a rare app, no sign-in, at 03:00, one session from two networks
    for ip in (VPS, VPS2):
        for u in ("u1@o", "u2@o"):
            rows.append(access("2026-11-03T03:00:00Z", ip, u, EVIL, session_id="forged-1",
                               access_type="Sync", item_count=None, op_count=40))  # fmt: skip
    # a CRM connector: its own service principal signs in, reads many mailboxes
    rows.append(signin("2026-11-01T08:00:00Z", CRM, "crm-sp", "success",
                       signin_kind="service_principal"))  # fmt: skip
    for i in range(10):
        rows.append(access("2026-11-01T08:05:00Z", CRM, "crm-sp", CRMAPP, mailbox=f"u{i}@o"))
    return make_events(rows)


@pytest.fixture
def origins() -> pd.DataFrame:
    return by_ip(build_origins(events(), enrichment()))


def test_access_without_signin(origins):
    assert origins.loc[HOME, "access_no_signin_share"] == 0.0
    # HOME2 has no sign-in of its own, but its carrier network (same ASN) signed the accounts in
    assert origins.loc[HOME2, "access_no_signin_share"] == 0.0
    assert origins.loc[VPS, "access_no_signin_share"] == 1.0
    assert origins.loc[VPS, "access_no_signin_accounts"] == 2
    assert origins.loc[CRM, "access_no_signin_share"] == 0.0


def test_sessions_no_signin_issued_and_seen_from_two_networks(origins):
    assert origins.loc[VPS, "access_token_unsigned_share"] == 1.0
    assert origins.loc[VPS, "token_multi_asn"] == 2
    assert origins.loc[VPS, "token_multi_country"] == 2
    assert origins.loc[HOME, "access_token_unsigned_share"] == 0.0
    assert origins.loc[HOME2, "token_multi_asn"] == 1  # same carrier ASN on both addresses


def test_app_rarity_novelty_sync_and_habit(origins):
    vps = origins.loc[VPS]
    assert vps["access_app_rare_share"] == 1.0  # used by 2 of 11 mail readers (<= 3)
    assert vps["access_app_tenant_share"] == pytest.approx(2 / 11)
    assert vps["access_app_new_share"] == 1.0  # both accounts read mail before, not with it
    assert vps["access_app_tenant_new"] == 1.0
    assert vps["sync_share"] == 1.0
    assert vps["access_items"] == 80  # OperationCount stands in when no items are listed
    assert vps["access_account_items"] == "u1@o=40;u2@o=40"
    assert vps["access_offhabit_share"] == 1.0  # 03:00, the accounts work 9-17
    home = origins.loc[HOME]
    assert home["access_app_tenant_share"] == pytest.approx(10 / 11)
    assert home["access_app_rare_share"] == 0.0 and home["sync_share"] == 0.0
    assert home["access_offhabit_share"] == 0.0
    assert origins.loc[CRM, "access_mailboxes"] == 10


def test_evidence_score_ranks_the_forger_and_says_why(origins):
    s = origins["token_abuse_score"]
    assert s[VPS] >= TOKEN_EVIDENCE_THRESHOLD > max(s[HOME], s[HOME2], s[CRM])
    text = token_reason(origins.loc[VPS])
    assert text.startswith("read 80 items of 2 mailboxes")
    assert "no sign-in" in text and "other networks" in text


def test_no_access_no_score():
    f = pd.DataFrame({"access_events": [np.nan, 0.0]}).assign(
        **{
            c: 1.0
            for c in (
                "access_no_signin_share",
                "access_token_unsigned_share",
                "token_multi_asn",
                "access_app_rare_share",
                "access_app_new_share",
                "access_offhabit_share",
                "sync_share",
            )
        }  # fmt: skip
    )
    assert np.isnan(token_abuse_score(f)).all()


def test_apply_token_evidence_lifts_and_reranks(origins):
    scored = origins.reset_index(drop=True).assign(score=0.1, reasons="r")
    scored["rank"] = np.arange(1, len(scored) + 1)
    out = apply_token_evidence(scored)
    assert set(out["ip"][:2]) == {VPS, VPS2}
    assert (out["score"][:2] >= TOKEN_EVIDENCE_THRESHOLD).all()
    top = out.iloc[0]["reasons"]
    assert top.startswith("read 80 items") and top.endswith("; r")
    assert list(out["rank"]) == list(range(1, len(out) + 1))
    untouched = out.set_index("ip").loc[HOME]
    assert untouched["score"] == 0.1 and untouched["reasons"] == "r"


@pytest.mark.parametrize("merge_rows", [2_000_000, 5])
def test_chunked_equals_whole(monkeypatch, merge_rows):
    import attrib.features.tokens as tokens
    from attrib.features.tokens import TOKEN_DESCRIPTIVE, TOKEN_FEATURES

    monkeypatch.setattr(tokens, "MERGE_ROWS", merge_rows)
    ev = events().sample(frac=1.0, random_state=1).reset_index(drop=True)
    whole = by_ip(build_origins(ev, enrichment()))
    parts = [ev.iloc[i : i + 17] for i in range(0, len(ev), 17)]
    chunked = by_ip(build_origins(iter(parts), enrichment()))
    cols = [*TOKEN_FEATURES, *TOKEN_DESCRIPTIVE]
    pd.testing.assert_frame_equal(
        whole.loc[sorted(whole.index), cols], chunked.loc[sorted(whole.index), cols]
    )
