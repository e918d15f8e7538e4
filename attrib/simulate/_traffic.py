"""Turn simulated sessions into Zeek ``conn``/``ssl`` rows with Zeek's field semantics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attrib.simulate._frames import frame
from attrib.simulate._profiles import DEVICES, HELLOS, ja4_of

__all__ = ["conn_rows", "ssl_rows", "zeek_uids"]

_ALPHABET = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8
)
_SCAN_PORTS = np.array([22, 23, 80, 443, 445, 3389, 5900, 8080, 8443, 25, 21, 6379])
_HDR = {"windows": 40, "macos": 52, "linux": 52, "linux_embedded": 52}
_JA4 = {name: ja4_of(name) for name in HELLOS}


def zeek_uids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Zeek-style connection uids (``C`` + 17 base-62 characters)."""
    chars = _ALPHABET[rng.integers(0, 62, size=(n, 17))]
    body = np.ascontiguousarray(chars).view("S17").ravel().astype(str)
    return np.char.add("C", body)


def _ephemeral(rng: np.random.Generator, stack: np.ndarray) -> np.ndarray:
    lo = np.where(stack == "windows", 49152, np.where(stack == "macos", 49152, 32768))
    hi = np.where(stack == "linux_embedded", 61000, np.where(stack == "linux", 61000, 65536))
    return rng.integers(lo, hi)


def conn_rows(
    s: pd.DataFrame, services: dict[str, str], domain: str, rng: np.random.Generator
) -> pd.DataFrame:
    """Zeek conn fields for sessions.

    Parameters
    ----------
    s
        Sessions: ``ts``, ``ip``, ``service`` (``vpn``/``owa``/``ssh``/``scan``, and the
        connection-only ``web``/``probe``/``smtp`` of :mod:`attrib.simulate.background`),
        ``stack``,
        ``hello`` (profile or empty), ``rtt_ms`` (transport) and ``app_rtt_ms``.
    services
        Role -> address of the organisation's public services.
    domain
        The organisation's mail domain (for server names).
    rng
        Random generator.

    Returns
    -------
    pandas.DataFrame
        Zeek conn.log columns plus ``hello`` and ``sni`` for the ssl.log.
    """
    n = len(s)
    cats = ["vpn", "owa", "ssh", "scan", "web", "probe", "smtp"]
    code = pd.Categorical(s["service"], categories=cats).codes
    stack = s["stack"].to_numpy()
    vpn, owa, ssh, scan = code == 0, code == 1, code == 2, code == 3
    web, probe, smtp = code == 4, code == 5, code == 6
    port = np.where(ssh, 22, np.where(smtp, 25, 443))
    port = np.where(scan, rng.choice(_SCAN_PORTS, n), port)
    port = np.where(web & (rng.random(n) < 0.2), 80, port)
    role_code = np.where(scan, rng.integers(0, 3, n), code)
    roles = np.array(["vpn", "owa", "ssh", "vpn", "web", "vpn", "owa"], dtype=object)
    dst_role = roles[np.clip(role_code, 0, len(roles) - 1)]
    open_ = ~scan | ((port == 443) & (role_code != 2)) | ((port == 22) & (role_code == 2))
    rtt = s["rtt_ms"].to_numpy(dtype=float) / 1000.0
    app = s["app_rtt_ms"].to_numpy(dtype=float) / 1000.0
    dur = np.select(
        [vpn, owa, ssh, web, smtp],
        [
            rng.lognormal(np.log(1800), 1.0, n),
            rng.lognormal(np.log(20), 1.2, n),
            rng.lognormal(np.log(600), 1.0, n),
            rng.lognormal(np.log(6), 1.0, n),
            rng.lognormal(np.log(3), 0.8, n),
        ],
        default=app * 3 + rng.lognormal(np.log(0.05), 0.5, n),
    )
    dur = dur + 3 * app
    ob = np.select(
        [vpn, owa, ssh, web, smtp],
        [
            dur * rng.lognormal(np.log(3000), 0.8, n),
            rng.lognormal(np.log(2500), 0.7, n),
            rng.lognormal(np.log(8000), 1.0, n),
            rng.lognormal(np.log(1500), 0.6, n),
            rng.lognormal(np.log(20000), 1.2, n),
        ],
        default=rng.integers(250, 700, n),
    )
    rb = np.select(
        [vpn, owa, ssh, web, smtp],
        [
            ob * rng.lognormal(np.log(4), 0.6, n),
            rng.lognormal(np.log(30000), 1.0, n),
            rng.lognormal(np.log(40000), 1.2, n),
            rng.lognormal(np.log(60000), 1.3, n),
            rng.lognormal(np.log(900), 0.4, n),
        ],
        default=rng.integers(1200, 4500, n),
    )
    ob, rb = ob.astype(np.int64), rb.astype(np.int64)
    op = ob // 1100 + 4 + rng.integers(0, 3, n)
    rp = rb // 1400 + 3 + rng.integers(0, 3, n)
    hist = np.where(owa, "ShADadfF", "ShADadFf")
    state = np.full(n, "SF", dtype=object)
    # closed ports answer RST; filtered ones stay silent (one SYN, nothing back)
    rej = scan & ~open_ & (rng.random(n) < 0.5)
    s0 = scan & ~open_ & ~rej
    state[rej], state[s0] = "REJ", "S0"
    hist = np.where(rej, "Sr", np.where(s0, "S", hist)).astype(object)
    dur = np.where(rej, rtt, np.where(s0, np.nan, dur))
    closed = rej | s0
    ob = np.where(closed, 0, ob).astype(float)
    rb = np.where(closed, 0, rb).astype(float)
    ob[s0], rb[s0] = np.nan, np.nan
    op = np.where(closed, 1, op)
    rp = np.where(rej, 1, np.where(s0, 0, rp))
    hdr = pd.Series(stack).map(_HDR).fillna(52).to_numpy(dtype=np.int64)
    service = np.where(ssh, "ssh", "ssl").astype(object)
    service[smtp] = "smtp"
    service[web & (port == 80)] = "http"
    service[closed] = None
    service[scan & open_ & (port == 22)] = "ssh"
    scan_tls = scan & open_ & (port == 443)
    service[scan & open_ & ~scan_tls & (port != 22)] = None
    hello = s["hello"].to_numpy().astype(object)
    hello[scan_tls] = "zgrab"
    hello[(service != "ssl")] = ""
    sni_host = {"vpn": f"vpn.{domain}", "owa": f"mail.{domain}", "ssh": None}
    sni_host["web"] = f"www.{domain}"
    sni = pd.Series(dst_role).map(sni_host).to_numpy(dtype=object)
    sni[hello == "zgrab"] = None
    # fingerprinting fleets often connect by address, without a server name
    sni[probe & (rng.random(n) < 0.5)] = None
    dst = pd.Series(dst_role).map(services).fillna(services["owa"])
    return frame(
        {
            "ts": s["ts"].to_numpy(dtype=float),
            "uid": zeek_uids(rng, n),
            "id.orig_h": s["ip"].to_numpy(),
            "id.orig_p": _ephemeral(rng, stack),
            "id.resp_h": dst.to_numpy(dtype=object),
            "id.resp_p": port,
            "proto": "tcp",
            "service": service,
            "duration": dur,
            "orig_bytes": ob,
            "resp_bytes": rb,
            "conn_state": state,
            "local_orig": False,
            "local_resp": True,
            "missed_bytes": 0,
            "history": hist,
            "orig_pkts": op,
            "orig_ip_bytes": np.nan_to_num(ob) + op * hdr,
            "resp_pkts": rp,
            "resp_ip_bytes": np.nan_to_num(rb) + rp * 52,
            "tunnel_parents": None,
            "ip_proto": 6,
            "hello": hello,
            "sni": sni,
        }
    )


def ssl_rows(conn: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Zeek ssl.log rows for the TLS connections of ``conn``.

    Parameters
    ----------
    conn
        Output of :func:`conn_rows`.
    rng
        Random generator.

    Returns
    -------
    pandas.DataFrame
        ssl.log columns (with the ``ja4`` field of the FoxIO Zeek package).
    """
    c = conn[conn["hello"].astype(str) != ""]
    codes, names = pd.factorize(c["hello"].to_numpy())
    prof = [HELLOS[x] for x in names]

    def per(values: list[object]) -> np.ndarray:
        return np.array(values, dtype=object)[codes] if len(codes) else np.array([], dtype=object)

    tls13 = per([x.tls13 for x in prof]).astype(bool)
    nxt = per(
        [(b"h2" if b"h2" in x.alpn else x.alpn[0]).decode() if x.alpn else None for x in prof]
    )
    fps = np.full(len(c), None, dtype=object)
    fps[~tls13] = "5c9f0e3b2d1a7f6e8c4b0a9d2e1f3c5b7a6d8e9f0a1b2c3d4e5f6a7b8c9d0e1f"
    sni_ok = np.full(len(c), None, dtype=object)
    sni_ok[~tls13] = True
    return frame(
        {
            "ts": c["ts"].to_numpy() + np.nan_to_num(rng.uniform(0.001, 0.004, len(c))),
            "uid": c["uid"].to_numpy(),
            "id.orig_h": c["id.orig_h"].to_numpy(),
            "id.orig_p": c["id.orig_p"].to_numpy(),
            "id.resp_h": c["id.resp_h"].to_numpy(),
            "id.resp_p": c["id.resp_p"].to_numpy(),
            "version": np.where(tls13, "TLSv13", "TLSv12"),
            "cipher": per([x.cipher_chosen for x in prof]),
            "curve": per([x.curve for x in prof]),
            "server_name": c["sni"].to_numpy(),
            "resumed": False,
            "last_alert": None,
            "next_protocol": nxt,
            "established": True,
            "ssl_history": np.where(tls13, "CsiI", "CsxknGIi"),
            "cert_chain_fps": fps,
            "client_cert_chain_fps": None,
            "sni_matches_cert": sni_ok,
            "ja4": per([_JA4[x] if HELLOS[x].sni else ja4_of(x, sni=False) for x in names]),
        }
    )


def device_fields(device: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stack and ClientHello profile of each device key."""
    codes, names = pd.factorize(np.asarray(device, dtype=object))
    stack = np.array([DEVICES[d].stack if d in DEVICES else "linux" for d in names] + ["linux"],
                     dtype=object)  # fmt: skip
    hello = np.array([DEVICES[d].hello if d in DEVICES else "" for d in names] + [""], dtype=object)
    return stack[codes], hello[codes]
