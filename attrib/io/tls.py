"""TLS ClientHello parsing and the JA4 TLS client fingerprint; SSH and HTTP client banners.

JA4 is implemented from FoxIO's published specification (the JA4 TLS client fingerprint is
BSD-3-licensed): ``a_b_c`` where

* ``a`` = protocol (``t`` TCP, ``q`` QUIC, ``d`` DTLS), highest offered TLS version (from
  ``supported_versions`` when present), ``d``/``i`` for SNI present or not, the number of cipher
  suites and of extensions (two digits each, GREASE excluded, capped at 99), and the first and
  last character of the first ALPN value (``00`` without ALPN; ``99`` when either character is
  not an ASCII letter or digit, as FoxIO's reference outputs have it);
* ``b`` = first 12 hex digits of SHA-256 over the sorted cipher suites (4 hex digits each,
  comma-separated);
* ``c`` = first 12 hex digits of SHA-256 over the sorted extensions without SNI and ALPN, then
  ``_`` and the signature algorithms in their original order.

No other JA4+ method is implemented here.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass, field

__all__ = ["ClientHello", "client_hellos", "http_user_agent", "ja4", "parse_client_hello",
           "socks_end", "ssh_banner", "tls_start"]  # fmt: skip

#: longest SOCKS client handshake looked through (user ids and host names are short)
SOCKS_MAX = 1024

_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
             0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}  # fmt: skip
_HTTP_METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"CONNECT ",
                 b"PATCH ", b"TRACE ")  # fmt: skip


def _grease(v: int) -> bool:
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


@dataclass
class ClientHello:
    """The fields of a ClientHello that fingerprints use."""

    version: int
    ciphers: list[int]
    extensions: list[int]
    sni: str | None = None
    alpn: list[bytes] = field(default_factory=list)
    sig_algs: list[int] = field(default_factory=list)
    supported_versions: list[int] = field(default_factory=list)


def parse_client_hello(body: bytes) -> ClientHello | None:
    """Parse a ClientHello handshake message body (after the 4-byte handshake header).

    Parameters
    ----------
    body
        The message body.

    Returns
    -------
    ClientHello or None
        None when the body is malformed or cut off before the extensions end.
    """
    try:
        return _parse(body)
    except (IndexError, struct.error, ValueError):
        return None


def _parse(b: bytes) -> ClientHello | None:
    if len(b) < 38:
        return None
    version = struct.unpack_from(">H", b, 0)[0]
    p = 34
    p += 1 + b[p]  # session id
    (n,) = struct.unpack_from(">H", b, p)
    p += 2
    if p + n > len(b):
        return None
    ciphers = [v for (v,) in struct.iter_unpack(">H", b[p : p + n - n % 2])]
    p += n
    p += 1 + b[p]  # compression methods
    ch = ClientHello(version=version, ciphers=ciphers, extensions=[])
    if p + 2 > len(b):
        return ch if p <= len(b) else None
    (elen,) = struct.unpack_from(">H", b, p)
    p += 2
    end = p + elen
    if end > len(b):
        return None
    while p + 4 <= end:
        et, ln = struct.unpack_from(">HH", b, p)
        p += 4
        data = b[p : p + ln]
        if len(data) < ln:
            return None
        p += ln
        ch.extensions.append(et)
        _extension(ch, et, data)
    return ch


def _extension(ch: ClientHello, et: int, d: bytes) -> None:
    if et == 0 and len(d) >= 5:
        (ln,) = struct.unpack_from(">H", d, 3)
        if d[2] == 0:
            ch.sni = d[5 : 5 + ln].decode("ascii", "replace") if ln else None
    elif et == 16 and len(d) >= 2:
        q = 2
        while q < len(d):
            ln = d[q]
            ch.alpn.append(d[q + 1 : q + 1 + ln])
            q += 1 + ln
    elif et == 13 and len(d) >= 2:
        (ln,) = struct.unpack_from(">H", d, 0)
        ch.sig_algs = [v for (v,) in struct.iter_unpack(">H", d[2 : 2 + ln - ln % 2])]
    elif et == 43 and len(d) >= 1:
        ln = d[0]
        ch.supported_versions = [v for (v,) in struct.iter_unpack(">H", d[1 : 1 + ln - ln % 2])]


def _alpn_code(alpn: list[bytes]) -> str:
    if not alpn or not alpn[0]:
        return "00"
    v = alpn[0]
    first, last = chr(v[0]), chr(v[-1])
    if first.isascii() and first.isalnum() and last.isascii() and last.isalnum():
        return first + last
    return "99"


def _h12(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "000000000000"


def ja4(ch: ClientHello, transport: str = "t") -> str:
    """Compute the JA4 TLS client fingerprint of a ClientHello.

    Parameters
    ----------
    ch
        The parsed ClientHello.
    transport
        ``t`` (TLS over TCP), ``q`` (QUIC) or ``d`` (DTLS).

    Returns
    -------
    str
        ``a_b_c`` as in the JA4 specification.

    Examples
    --------
    >>> ja4(ClientHello(version=0x0303, ciphers=[0x1301], extensions=[0]))[:10]
    't12i0101'
    """
    return _ja4(ch.version, tuple(ch.ciphers), tuple(ch.extensions), ch.alpn[0] if ch.alpn else b"",
                tuple(ch.sig_algs), tuple(ch.supported_versions), transport)  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _ja4(version: int, ch_ciphers: tuple[int, ...], ch_exts: tuple[int, ...], alpn: bytes,
         sig_algs: tuple[int, ...], sv: tuple[int, ...], transport: str) -> str:  # fmt: skip
    vers = [v for v in sv if not _grease(v)]
    top = max(vers) if vers else version
    ver = _VERSIONS.get(top, "00")
    ciphers = [c for c in ch_ciphers if not _grease(c)]
    exts = [e for e in ch_exts if not _grease(e)]
    sni = "d" if 0 in exts else "i"
    a = f"{transport}{ver}{sni}{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}"
    a += _alpn_code([alpn] if alpn else [])
    b = _h12(",".join(f"{c:04x}" for c in sorted(ciphers)))
    ext_s = ",".join(f"{e:04x}" for e in sorted(x for x in exts if x not in (0, 16)))
    if ext_s and sig_algs:
        ext_s += "_" + ",".join(f"{s:04x}" for s in sig_algs)
    c = _h12(ext_s)
    return f"{a}_{b}_{c}"


def _cstring_end(b: bytes, p: int) -> int:
    """Offset after the NUL that ends the string at ``p`` (-1 when none within reach)."""
    z = b.find(b"\0", p, SOCKS_MAX)
    return -1 if z < 0 else z + 1


def _socks5_end(b: bytes) -> int:
    if len(b) < 3 or b[1] == 0:
        return 0
    p = 2 + b[1]  # greeting: version, method count, methods
    if b[p : p + 1] == b"\x01" and len(b) > p + 2:  # username/password sub-negotiation
        q = p + 2 + b[p + 1]
        if q >= len(b):
            return 0
        p = q + 1 + b[q]
    if len(b) < p + 5 or b[p] != 5 or b[p + 1] not in (1, 2, 3) or b[p + 2] != 0:
        return 0
    atyp = b[p + 3]
    if atyp == 1:
        return p + 4 + 4 + 2
    if atyp == 4:
        return p + 4 + 16 + 2
    if atyp == 3:
        return p + 4 + 1 + b[p + 4] + 2
    return 0


def socks_end(stream: bytes) -> int:
    """Length of a SOCKS 4, 4a or 5 client handshake at the start of ``stream``, else 0.

    SOCKS 4/4a: version 4, command, port, address, NUL-terminated user id (4a: then a
    NUL-terminated host name when the address is ``0.0.0.x``). SOCKS 5: the method greeting, an
    optional username/password sub-negotiation (RFC 1929), then the request (RFC 1928).

    Parameters
    ----------
    stream
        Client-to-server bytes from the start of the connection.

    Returns
    -------
    int
        Offset of what the client sends through the proxy (0: no SOCKS handshake).
    """
    if len(stream) < 9:
        return 0
    if stream[0] == 4 and stream[1] in (1, 2):
        end = _cstring_end(stream, 8)
        if end > 0 and stream[4:7] == b"\0\0\0" and stream[7] != 0:  # 4a: a host name follows
            end = _cstring_end(stream, end)
        return max(end, 0)
    if stream[0] == 5:
        end = _socks5_end(stream[:SOCKS_MAX])
        return end if end <= len(stream) else 0
    return 0


def tls_start(stream: bytes) -> int:
    """Offset of a client's first TLS record: 0, or after a SOCKS handshake; -1 when none.

    Parameters
    ----------
    stream
        Client-to-server bytes from the start of the connection.

    Returns
    -------
    int
        The offset, or -1.
    """
    if stream[:1] == b"\x16":
        return 0
    k = socks_end(stream) if stream[:1] in (b"\x04", b"\x05") else 0
    return k if k and stream[k : k + 1] == b"\x16" else -1


def client_hellos(stream: bytes) -> list[ClientHello]:
    """Find the ClientHellos in the start of a client's TLS byte stream.

    Handshake messages may span several TLS records (and records several TCP segments: pass
    the reassembled stream).

    Parameters
    ----------
    stream
        Client-to-server bytes from the start of the connection (possibly behind a SOCKS
        4/4a/5 handshake, see :func:`socks_end`).

    Returns
    -------
    list of ClientHello
        In stream order (a second one follows a HelloRetryRequest).
    """
    hs = bytearray()
    out: list[ClientHello] = []
    p = max(tls_start(stream), 0)  # TLS through a SOCKS proxy starts after its handshake
    while p + 5 <= len(stream):
        ctype, _, ln = stream[p], stream[p + 1], struct.unpack_from(">H", stream, p + 3)[0]
        if ctype not in (20, 21, 22, 23) or stream[p + 1] != 3:
            break
        if ctype == 22:
            hs += stream[p + 5 : p + 5 + ln]
            while len(hs) >= 4:
                mlen = int.from_bytes(hs[1:4], "big")
                if len(hs) < 4 + mlen:
                    break
                if hs[0] == 1:
                    ch = parse_client_hello(bytes(hs[4 : 4 + mlen]))
                    if ch is not None:
                        out.append(ch)
                del hs[: 4 + mlen]
        elif ctype == 23:
            break
        p += 5 + ln
    if hs[:1] == b"\x01" and not out:  # a ClientHello cut off by the capture
        return []
    return out


def ssh_banner(stream: bytes) -> str | None:
    """Return the SSH identification line a client sent, if the stream starts with one.

    Parameters
    ----------
    stream
        Client-to-server bytes from the start of the connection.

    Returns
    -------
    str or None
        E.g. ``SSH-2.0-OpenSSH_9.6``.
    """
    if not stream.startswith(b"SSH-"):
        return None
    line = stream.split(b"\n", 1)[0].rstrip(b"\r")
    return line[:255].decode("ascii", "replace")


def http_user_agent(stream: bytes) -> str | None:
    """Return the User-Agent of the first cleartext HTTP request in a client stream.

    Parameters
    ----------
    stream
        Client-to-server bytes from the start of the connection.

    Returns
    -------
    str or None
        The header value (empty string when the header is present but empty).
    """
    if not stream.startswith(_HTTP_METHODS):
        return None
    head = stream.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"user-agent":
            return value.strip().decode("utf-8", "replace")
    return None
