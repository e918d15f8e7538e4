"""Client profiles: user agents, TLS ClientHellos (with their JA4) and TCP SYN stacks.

ClientHello profiles reproduce the cipher suites, extensions, signature algorithms and ALPN of
common clients (Chromium, Safari, OpenSSL via python-requests, Go's crypto/tls, a zgrab-style
scanner). The hello bytes are built with the real record and handshake structure, so any JA4
implementation computes the same fingerprint as :func:`ja4_of`.

SYN stacks follow each OS's well-known defaults (initial TTL, window, MSS, option order,
window scale): Windows 10/11, macOS/iOS, modern Linux, and the old embedded Linux kernels of
SOHO routers (small window, PPPoE MSS).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

__all__ = ["DEVICES", "HELLOS", "STACKS", "Device", "Hello", "Stack", "client_hello", "ja4_of"]

_GREASE = 0x0A0A


@dataclass(frozen=True)
class Hello:
    """A TLS ClientHello profile."""

    ciphers: tuple[int, ...]
    extensions: tuple[int, ...]
    sig_algs: tuple[int, ...]
    alpn: tuple[bytes, ...]
    groups: tuple[int, ...] = (0x001D, 0x0017, 0x0018)
    tls13: bool = True
    sni: bool = True
    cipher_chosen: str = "TLS_AES_128_GCM_SHA256"
    curve: str = "x25519"


_SIG_CHROME = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)
_SIG_SAFARI = (
    0x0403,
    0x0804,
    0x0401,
    0x0503,
    0x0203,
    0x0805,
    0x0805,
    0x0501,
    0x0806,
    0x0601,
    0x0201,
)
_SIG_OPENSSL = (
    0x0403,
    0x0503,
    0x0603,
    0x0807,
    0x0808,
    0x0809,
    0x080A,
    0x080B,
    0x0804,
    0x0805,
    0x0806,
    0x0401,
    0x0501,
    0x0601,
    0x0303,
    0x0301,
    0x0302,
    0x0402,
    0x0502,
    0x0602,
)
_SIG_GO = (
    0x0804,
    0x0403,
    0x0807,
    0x0805,
    0x0806,
    0x0401,
    0x0501,
    0x0601,
    0x0503,
    0x0603,
    0x0201,
    0x0203,
)

#: ClientHello profiles by name.
HELLOS: dict[str, Hello] = {
    "chrome": Hello(
        ciphers=(
            _GREASE,
            0x1301,
            0x1302,
            0x1303,
            0xC02B,
            0xC02F,
            0xC02C,
            0xC030,
            0xCCA9,
            0xCCA8,
            0xC013,
            0xC014,
            0x009C,
            0x009D,
            0x002F,
            0x0035,
        ),
        extensions=(
            _GREASE,
            0x0000,
            0x0017,
            0xFF01,
            0x000A,
            0x000B,
            0x0023,
            0x0010,
            0x0005,
            0x000D,
            0x0012,
            0x0033,
            0x002D,
            0x002B,
            0x001B,
            0x44CD,
            0xFE0D,
            _GREASE,
        ),
        sig_algs=_SIG_CHROME,
        alpn=(b"h2", b"http/1.1"),
        groups=(_GREASE, 0x11EC, 0x001D, 0x0017, 0x0018),
    ),
    "safari": Hello(
        ciphers=(
            _GREASE,
            0x1301,
            0x1302,
            0x1303,
            0xC02C,
            0xC02B,
            0xCCA9,
            0xC030,
            0xC02F,
            0xCCA8,
            0xC00A,
            0xC009,
            0xC014,
            0xC013,
            0x009D,
            0x009C,
            0x0035,
            0x002F,
            0xC008,
            0xC012,
            0x000A,
        ),
        extensions=(
            _GREASE,
            0x0000,
            0x0017,
            0xFF01,
            0x000A,
            0x000B,
            0x0010,
            0x0005,
            0x000D,
            0x0012,
            0x0033,
            0x002D,
            0x002B,
            0x001B,
            _GREASE,
            0x0015,
        ),
        sig_algs=_SIG_SAFARI,
        alpn=(b"h2", b"http/1.1"),
        groups=(_GREASE, 0x001D, 0x0017, 0x0018, 0x0019),
    ),
    "python_requests": Hello(
        ciphers=(
            0x1302,
            0x1303,
            0x1301,
            0xC02C,
            0xC030,
            0x009F,
            0xCCA9,
            0xCCA8,
            0xCCAA,
            0xC02B,
            0xC02F,
            0x009E,
            0xC024,
            0xC028,
            0x006B,
            0xC023,
            0xC027,
            0x0067,
            0xC00A,
            0xC014,
            0x0039,
            0xC009,
            0xC013,
            0x0033,
            0x009D,
            0x009C,
            0x003D,
            0x003C,
            0x0035,
            0x002F,
            0x00FF,
        ),
        extensions=(0x0000, 0x000B, 0x000A, 0x0023, 0x0016, 0x0017, 0x000D, 0x002B, 0x002D, 0x0033),
        sig_algs=_SIG_OPENSSL,
        alpn=(),
        groups=(0x001D, 0x0017, 0x001E, 0x0019, 0x0018),
        cipher_chosen="TLS_AES_256_GCM_SHA384",
    ),
    "go_tls": Hello(
        ciphers=(
            0xC02B,
            0xC02F,
            0xC02C,
            0xC030,
            0xCCA9,
            0xCCA8,
            0xC009,
            0xC013,
            0xC00A,
            0xC014,
            0x009C,
            0x009D,
            0x002F,
            0x0035,
            0xC012,
            0x000A,
            0x1301,
            0x1302,
            0x1303,
        ),
        extensions=(
            0x0000,
            0x0005,
            0x000A,
            0x000B,
            0x000D,
            0xFF01,
            0x0017,
            0x0012,
            0x0010,
            0x002B,
            0x0033,
        ),
        sig_algs=_SIG_GO,
        alpn=(b"http/1.1",),
        groups=(0x001D, 0x0017, 0x0018, 0x0019),
    ),
    "zgrab": Hello(
        ciphers=(
            0xC02F,
            0xC02B,
            0xC030,
            0xC02C,
            0xC013,
            0xC009,
            0xC014,
            0xC00A,
            0x009C,
            0x009D,
            0x002F,
            0x0035,
            0xC012,
            0x000A,
        ),
        extensions=(0x0005, 0x000A, 0x000B, 0x000D, 0xFF01, 0x0012),
        sig_algs=(0x0401, 0x0403, 0x0501, 0x0503, 0x0601, 0x0603, 0x0201, 0x0203),
        alpn=(),
        tls13=False,
        sni=False,
        cipher_chosen="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        curve="secp256r1",
    ),
}


@dataclass(frozen=True)
class Stack:
    """Defaults of an OS TCP/IP stack for the SYN."""

    ttl: int
    window: int
    mss: int
    wscale: int | None
    options: str  # letters in wire order: M N W S T E
    df: bool = True


#: SYN stacks by name.
STACKS: dict[str, Stack] = {
    "windows": Stack(ttl=128, window=64240, mss=1460, wscale=8, options="MNWNNS"),
    "macos": Stack(ttl=64, window=65535, mss=1460, wscale=6, options="MNWNNTSEE"),
    "linux": Stack(ttl=64, window=64240, mss=1460, wscale=7, options="MSTNW"),
    "linux_embedded": Stack(ttl=64, window=5808, mss=1452, wscale=2, options="MSTNW"),
}


@dataclass(frozen=True)
class Device:
    """A client device: OS stack, user agent and TLS profile."""

    name: str
    stack: str
    hello: str
    user_agent: str
    os: str
    browser: str


_CHR = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0"
#: Devices of the benign population.
DEVICES: dict[str, Device] = {
    "win_chrome": Device(
        "win_chrome",
        "windows",
        "chrome",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHR} Safari/537.36",
        "Windows10",
        "Chrome 133.0.0",
    ),
    "win_edge": Device(
        "win_edge",
        "windows",
        "chrome",
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHR} Safari/537.36 Edg/133.0.0.0",
        "Windows10",
        "Edge 133.0.0",
    ),
    "mac_safari": Device(
        "mac_safari",
        "macos",
        "safari",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.3 Safari/605.1.15",
        "MacOs",
        "Safari 18.3",
    ),
    "ios_safari": Device(
        "ios_safari",
        "macos",
        "safari",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) "
        "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 "
        "Safari/604.1",
        "Ios",
        "Mobile Safari 18.3",
    ),
    "android_chrome": Device(
        "android_chrome",
        "linux",
        "chrome",
        f"Mozilla/5.0 (Linux; Android 10; K) {_CHR} Mobile Safari/537.36",
        "Android",
        "Chrome Mobile 133.0.0",
    ),
}


def _u16s(values: tuple[int, ...] | list[int]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


def _vec16(body: bytes) -> bytes:
    return struct.pack("!H", len(body)) + body


def _ext_body(et: int, h: Hello, sni: str, key: bytes) -> bytes:
    if et == 0x0000:
        name = sni.encode()
        return _vec16(b"\x00" + _vec16(name))
    if et == 0x000A:
        return _vec16(_u16s(h.groups))
    if et == 0x000B:
        return b"\x01\x00"
    if et == 0x000D:
        return _vec16(_u16s(h.sig_algs))
    if et == 0x0010:
        return _vec16(b"".join(bytes([len(p)]) + p for p in h.alpn))
    if et == 0x002B:
        vs = (0x0304, 0x0303) if h.tls13 else (0x0303,)
        return bytes([2 * len(vs)]) + _u16s(vs)
    if et == 0x0033:
        return _vec16(struct.pack("!HH", 0x001D, 32) + key)
    if et == 0x002D:
        return b"\x01\x01"
    if et == 0x0005:
        return b"\x01\x00\x00\x00\x00"
    if et == 0xFF01:
        return b"\x00"
    if et == 0x001B:
        return b"\x02\x00\x02"
    if et == 0x0015:
        return b"\x00" * 32
    if et == _GREASE:
        return b"\x00"
    return b""


def client_hello(name: str, sni: str, random: bytes) -> bytes:
    """Return a TLS record holding a ClientHello of profile ``name``.

    Parameters
    ----------
    name
        Key of :data:`HELLOS`.
    sni
        Server name (ignored by profiles that send none).
    random
        64 random bytes (client random and key share).

    Returns
    -------
    bytes
        The record (content type 22).
    """
    h = HELLOS[name]
    exts = b""
    for et in h.extensions:
        if et == 0x0000 and not h.sni:
            continue
        if et == 0x0010 and not h.alpn:
            continue
        body = _ext_body(et, h, sni, random[32:64])
        exts += struct.pack("!HH", et, len(body)) + body
    hello = (
        b"\x03\x03"
        + random[:32]
        + b"\x20"
        + random[32:64]
        + _vec16(_u16s(h.ciphers))
        + b"\x01\x00"
        + _vec16(exts)
    )
    hs = b"\x01" + struct.pack("!I", len(hello))[1:] + hello
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def _h12(items: list[str]) -> str:
    if not items:
        return "000000000000"
    return hashlib.sha256(",".join(items).encode()).hexdigest()[:12]


def ja4_of(name: str, sni: bool | None = None) -> str:
    """Return the JA4 (FoxIO, TLS client, over TCP) of a ClientHello profile.

    Parameters
    ----------
    name
        Key of :data:`HELLOS`.
    sni
        Whether a server name is sent (default: the profile's).

    Returns
    -------
    str
        ``t13d1516h2_8daaf6152771_...``-style fingerprint.
    """
    h = HELLOS[name]
    has_sni = h.sni if sni is None else sni
    ciphers = [c for c in h.ciphers if (c & 0x0F0F) != 0x0A0A]
    exts = [e for e in h.extensions if (e & 0x0F0F) != 0x0A0A]
    if not has_sni:
        exts = [e for e in exts if e != 0x0000]
    if not h.alpn:
        exts = [e for e in exts if e != 0x0010]
    ver = "13" if h.tls13 else "12"
    alpn = (h.alpn[0][:1] + h.alpn[0][-1:]).decode() if h.alpn else "00"
    a = f"t{ver}{'d' if has_sni else 'i'}{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{alpn}"
    b = _h12(sorted(f"{c:04x}" for c in ciphers))
    ext_s = sorted(f"{e:04x}" for e in exts if e not in (0x0000, 0x0010))
    sigs = [f"{s:04x}" for s in h.sig_algs]
    c_in = ",".join(ext_s) + ("_" + ",".join(sigs) if sigs else "")
    c = hashlib.sha256(c_in.encode()).hexdigest()[:12] if ext_s or sigs else "000000000000"
    return f"{a}_{b}_{c}"
