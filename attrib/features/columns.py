"""Names and analyst phrases of the per-origin feature columns.

:data:`FEATURE_COLUMNS` is the stable, ordered list of numeric model inputs (all float; NaN
where the input that would define a feature is missing — never an invented default).
:data:`FEATURE_DESCRIPTIONS` maps each to a phrase template an analyst reads in ``reasons``;
``{value}`` is replaced by the formatted feature value. Definitions are in ``docs/features.md``.
"""

from __future__ import annotations

__all__ = ["DESCRIPTIVE_COLUMNS", "FEATURE_COLUMNS", "FEATURE_DESCRIPTIONS", "FEATURE_GROUPS"]

#: feature group -> {feature: analyst phrase}
FEATURE_GROUPS: dict[str, dict[str, str]] = {
    "time": {
        "lifetime_days": "active for {value} days (first to last sighting, incl. earlier runs)",
        "active_days": "seen on {value} distinct days in the window",
        "duty_cycle": "active on {value} of the days in its lifetime (duty cycle)",
        "events_per_day": "{value} events per active day",
        "seen_before": "seen in earlier runs ({value})",
        "prior_days_seen": "seen on {value} days in earlier runs",
        "work_hours_share": "{value} of activity inside the organisation's working hours",
        "best_zone_work_share": "{value} of activity fits office hours in its best-fit time zone",
        "zone_shift_h": "its working hours fit a time zone {value} h away from the victim's",
        "handoff_score": "starts as a look-alike origin stops (hand-off score {value})",
        "handoff_links": "{value} look-alike origins hand over to or from it",
    },
    "targeting": {
        "n_events": "{value} events",
        "n_accounts": "touched {value} distinct accounts",
        "n_hosts": "connected to {value} distinct hosts",
        "n_services": "used {value} distinct services",
        "attempts_per_account_day": "{value} sign-in attempts per account per day",
        "max_accounts_per_day": "up to {value} accounts in a single day",
        "failure_ratio": "{value} of sign-ins failed",
        "err_invalid_password_share": "{value} of failures were invalid passwords",
        "err_unknown_account_share": "{value} of failures were unknown accounts",
        "err_locked_share": "{value} of failures hit locked accounts",
        "err_mfa_share": "{value} of failures stopped at MFA",
        "success_then_access": "a successful sign-in was followed by mailbox/app access ({value})",
        "account_share": "touched {value} of the organisation's accounts",
    },
    "place": {
        "net_type_confidence": "network type confidence {value}",
        "is_residential": "residential broadband address ({value})",
        "is_mobile": "mobile carrier address ({value})",
        "is_hosting": "hosting/VPS address ({value})",
        "is_business": "business network address ({value})",
        "is_office": "one of the organisation's office egress addresses ({value})",
        "same_country": "in the organisation's home country ({value})",
        "dist_usual_km": "{value} km from where its accounts usually sign in",
        "impossible_travel_share": "impossible travel for {value} of the accounts it touched",
        "tag_private_relay": "iCloud Private Relay egress ({value})",
        "tag_tor_exit": "Tor exit node ({value})",
        "tag_cloud": "cloud provider address ({value})",
        "tag_vpn": "commercial VPN address ({value})",
        "tag_cgnat": "carrier-grade NAT address ({value})",
    },
    "fingerprints": {
        "n_user_agents": "{value} distinct User-Agents",
        "n_ja4": "{value} distinct TLS client fingerprints",
        "ua_peers": "its User-Agent is shared by {value} other origins",
        "ja4_peers": "its TLS fingerprint is shared by {value} other origins",
        "tcp_fp_peers": "its TCP SYN fingerprint is shared by {value} other origins",
        "ua_peers_ephemeral": "{value} short-lived residential origins share its User-Agent",
        "ja4_peers_ephemeral": "{value} short-lived residential origins share its TLS fingerprint",
        "tcp_fp_peers_ephemeral": "{value} short-lived residential origins share its TCP stack",
        "ua_peers_unknown_share": (
            "{value} of failed sign-ins from origins sharing its User-Agent named accounts "
            "that do not exist"
        ),
        "ua_peers_lifetime_days": "origins sharing its User-Agent live a median {value} days",
        "os_mismatch": "TCP stack OS differs from the User-Agent's OS ({value})",
        "tunnel_share": "{value} of connections announce a tunnel/VPN-sized MSS",
        "pppoe_share": "{value} of connections announce a PPPoE-sized MSS",
    },
    "tenant": {
        "tenant_routine_accounts": (
            "{value} of the organisation's accounts sign in from here routinely"
        ),
        "tenant_routine_share": "{value} of its accounts sign in from here routinely",
        "tenant_success_days": "its accounts signed in successfully on {value} days on average",
        "tenant_success_accounts": "{value} accounts signed in successfully from here",
        "tenant_success_share": "{value} of the accounts it tried signed in successfully",
        "tenant_new_asn_share": "its network (ASN) is new for {value} of the accounts it tried",
        "tenant_new_country_share": "its country is new for {value} of the accounts it tried",
        "tenant_new_device_share": (
            "its User-Agent is not a known device for {value} of the accounts it tried"
        ),
        "tenant_failure_excess": ("failure ratio {value} above the organisation's routine origins"),
        "tenant_shared_nat": "shared NAT of the organisation's own accounts ({value})",
    },
    "latency": {
        "rtt_transport_ms": "handshake round trip {value} ms",
        "rtt_app_gap_ms": "application round trip {value} ms longer than the handshake",
        "rtt_app_ratio": "application round trip {value} x the handshake",
        "geo_dist_ref_km": "geolocated {value} km from the organisation",
        "rtt_geo_excess": "geolocation {value} x farther than its round trip allows",
        "app_dist_excess_km": "the real client sits ~{value} km beyond the exit (latency)",
    },
    "tokens": {
        "access_events": "{value} mailbox/data access records",
        "access_accounts": "read data of {value} accounts",
        "access_mailboxes": "read {value} distinct mailboxes",
        "access_items": "read {value} mail items",
        "access_no_signin_share": (
            "{value} of the accounts it read had no sign-in from this origin or its network"
        ),
        "access_no_signin_accounts": "{value} accounts read with no sign-in from its network",
        "access_token_unsigned_share": "{value} of its access sessions were issued by no sign-in",
        "token_multi_asn": "its sessions/tokens were used from {value} networks (ASNs)",
        "token_multi_country": "its sessions/tokens were used from {value} countries",
        "access_app_tenant_share": (
            "the apps it read mail with are used by {value} of the tenant's mail readers"
        ),
        "access_app_rare_share": "{value} of its access used an app few tenant accounts use",
        "access_app_new_share": "{value} of its account/app pairs were new for the account",
        "access_app_tenant_new": "{value} of its access used an app new for the tenant",
        "access_offhabit_share": "{value} of its access fell outside the accounts' usual hours",
        "sync_share": "{value} of its mailbox access was folder sync (bulk)",
    },
}

#: Numeric model inputs, stable order.
FEATURE_COLUMNS: tuple[str, ...] = tuple(f for g in FEATURE_GROUPS.values() for f in g)
#: feature -> analyst phrase template (``{value}`` is the formatted value).
FEATURE_DESCRIPTIONS: dict[str, str] = {f: p for g in FEATURE_GROUPS.values() for f, p in g.items()}

#: Non-numeric descriptive columns of the origins table (besides ``ip`` and enrichment).
DESCRIPTIVE_COLUMNS: tuple[str, ...] = (
    "first_seen", "last_seen", "top_user_agent", "top_ja4", "top_tcp_fp", "tcp_os", "ua_os",
    "accounts", "target_set", "token_abuse_score", "access_apps", "access_mailbox_list",
    "access_account_items",
)  # fmt: skip
