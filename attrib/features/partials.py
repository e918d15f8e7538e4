"""The per-origin partial tables the feature functions read, and what they are keyed by.

:class:`Partials` is the contract between :class:`attrib.features.OriginAccumulator` (which
builds it chunk by chunk) and the feature modules (which turn it into columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attrib.features._common import Vocab
from attrib.features.tokens import TokenPartials

__all__ = ["ACCESS_EVENT_TYPES", "ERROR_CODE_GROUPS", "RTT_KINDS", "TRAITS", "Partials"]

#: Provider operations that mean mailbox / application data was accessed.
ACCESS_EVENT_TYPES = frozenset(
    {
        "MailItemsAccessed",
        "FileAccessed",
        "FileDownloaded",
        "FileSyncDownloadedFull",
        "Send",
        "SendAs",
        "SearchQueryInitiatedExchange",
        "SearchQueryInitiatedSharePoint",
        "New-InboxRule",
        "Set-InboxRule",
        "UpdateInboxRules",
        "MessageBind",
        "FolderBind",
        "MailboxLogin",
    }
)
#: error-code group -> provider codes (Entra numeric codes, Okta reasons).
ERROR_CODE_GROUPS: dict[str, frozenset[str]] = {
    "invalid_password": frozenset({"50126", "50055", "INVALID_CREDENTIALS"}),
    "unknown_account": frozenset({"50034", "50059", "USER_NOT_FOUND", "UNKNOWN_USER"}),
    "locked": frozenset({"50053", "LOCKED_OUT"}),
    "mfa": frozenset(
        {
            "50074",
            "50076",
            "50079",
            "50158",
            "500121",
            "VERIFICATION_ERROR",
            "MFA_ENROLL_REQUIRED",
            "INVALID_MFA",
        }
    ),
}

#: trait name -> events column(s) it is read from (first non-null wins).
TRAITS: dict[str, tuple[str, ...]] = {
    "ua": ("user_agent",),
    "ja4": ("ja4", "ja3"),
    "tcp_fp": ("tcp_fp",),
    "tcp_os": ("tcp_os",),
}
RTT_KINDS = ("transport", "app", "gap")


@dataclass
class Partials:
    """The merged partial tables and vocabularies the feature functions read."""

    ip: Vocab
    user: Vocab
    trait: dict[str, Vocab]
    tables: dict[str, pd.DataFrame]
    eligible: np.ndarray
    hours: np.ndarray
    has_identity: bool
    has_conn: bool
    token: TokenPartials | None = None
    #: table -> estimated distinct values of the origins sketched there (past the bound)
    distinct: dict[str, pd.Series] = field(default_factory=dict)
