import ipaddress

import pandas as pd

from attrib.context import OrgContext
from attrib.context.infer import complete_context, infer_context
from attrib.schema import conform_events


def _events():
    rows = []
    ts = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    # office NAT: 12 accounts sign in from one address in NL
    for i in range(12):
        rows.append(
            {
                "ts": ts,
                "src_ip": "192.0.2.10",
                "user": f"u{i}@corp",
                "outcome": "success",
                "source": "entra",
            }
        )
    # home workers in NL and one in DE
    for i in range(6):
        rows.append(
            {
                "ts": ts,
                "src_ip": f"192.0.2.{20 + i}",
                "user": f"u{i}@corp",
                "outcome": "success",
                "source": "entra",
            }
        )
    rows.append(
        {
            "ts": ts,
            "src_ip": "198.51.100.1",
            "user": "u1@corp",
            "outcome": "success",
            "source": "entra",
        }
    )
    # a password spray from elsewhere: failures do not make a home country
    for i in range(40):
        rows.append(
            {
                "ts": ts,
                "src_ip": "203.0.113.5",
                "user": f"u{i}@corp",
                "outcome": "failure",
                "source": "entra",
            }
        )
    # inbound connections: the VPN gateway is contacted by many sources, one host by few
    for i in range(60):
        rows.append(
            {
                "ts": ts,
                "src_ip": f"81.2.{i}.1",
                "dst_ip": "192.0.2.200",
                "dst_port": 443,
                "source": "zeek",
            }
        )
    rows.append(
        {
            "ts": ts,
            "src_ip": "81.2.0.1",
            "dst_ip": "192.0.2.201",
            "dst_port": 22,
            "source": "zeek",
        }
    )
    # internal traffic (private source, multicast destination) says nothing about services
    for i in range(80):
        rows.append(
            {"ts": ts, "src_ip": f"10.0.0.{i}", "dst_ip": "239.255.255.250", "source": "zeek"}
        )
        rows.append({"ts": ts, "src_ip": f"10.0.0.{i}", "dst_ip": "10.1.1.1", "source": "zeek"})
    return conform_events(pd.DataFrame(rows))


ENRICH = pd.DataFrame(
    {
        "ip": [
            "192.0.2.10",
            *[f"192.0.2.{20 + i}" for i in range(6)],
            "198.51.100.1",
            "203.0.113.5",
        ],
        "country": ["NL"] * 7 + ["DE", "VN"],
    }
)


def test_infer_everything():
    ctx = infer_context(_events(), ENRICH)
    assert ctx.home_countries == ("NL",)  # 18 of 19 successful sign-ins; the spray's VN ignored
    assert ctx.services[0] == ipaddress.ip_network("192.0.2.200/32")
    assert all(str(n) not in ("239.255.255.250/32", "10.1.1.1/32") for n in ctx.services)
    assert ipaddress.ip_network("192.0.2.201/32") in ctx.services  # 1 of 61 pairs >= 1 %
    assert ctx.offices == (ipaddress.ip_network("192.0.2.10/32"),)
    assert ctx.accounts == 40
    assert set(ctx.inferred) == {"home_countries", "services", "offices", "accounts"}


def test_mobile_cgnat_is_not_an_office():
    from attrib.context.infer import infer_offices

    ev = _events()
    mobile = conform_events(
        pd.DataFrame(
            [
                {
                    "ts": pd.Timestamp("2026-03-02", tz="UTC"),
                    "src_ip": "192.0.2.99",
                    "user": f"u{i}@corp",
                    "outcome": "success",
                    "source": "entra",
                }
                for i in range(15)
            ]
        )
    )
    ev = pd.concat([ev, mobile], ignore_index=True)
    assert set(infer_offices(ev)) == {"192.0.2.10", "192.0.2.99"}
    enr = pd.DataFrame(
        {"ip": ["192.0.2.10", "192.0.2.99"], "net_type": ["business", "mobile"], "tags": ["", ""]}
    )
    assert infer_offices(ev, enr) == ("192.0.2.10",)
    enr["net_type"], enr["tags"] = "business", ["", "cgnat"]
    assert infer_offices(ev, enr) == ("192.0.2.10",)


def test_configured_fields_are_kept():
    cfg = OrgContext.from_dict({"home_countries": ["DE"], "services": ["192.0.2.99"]})
    ctx = complete_context(cfg, _events(), ENRICH)
    assert ctx.home_countries == ("DE",) and ctx.services == (
        ipaddress.ip_network("192.0.2.99/32"),
    )
    assert "home_countries" not in ctx.inferred and "offices" in ctx.inferred


def test_nothing_to_infer_from():
    ev = conform_events(pd.DataFrame({"ts": [], "src_ip": []}))
    ctx = infer_context(ev, pd.DataFrame({"ip": [], "country": []}))
    assert ctx == OrgContext()
