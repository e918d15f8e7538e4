"""Normalise IP addresses in every textual form users paste, row by row, never crashing.

Accepted forms (surrounding whitespace and quotes are ignored):

* plain IPv4/IPv6 (``1.2.3.4``, ``2001:DB8::1`` -> ``2001:db8::1``);
* with a port: ``1.2.3.4:443``, ``[2001:db8::1]:443``, bracketed ``[2001:db8::1]``;
* IPv4-mapped IPv6 ``::ffff:1.2.3.4`` -> ``1.2.3.4``;
* zone ids ``fe80::1%eth0`` -> ``fe80::1``;
* defanged ``1.2.3[.]4``, ``1(.)2.3.4``, ``1.2.3{.}4``, ``2001:db8[:]:1``, and URLs such as
  ``hxxp://1.2.3.4:8080/path`` or ``https://[2001:db8::1]/``;
* CIDR host notation ``1.2.3.4/32`` (a single address only).

Anything else is reported as invalid with a reason (``empty``, ``not an IP address``,
``IPv4 with leading zeros``, ``network, not an address``, ...).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from attrib.enrich._index import K16, U32

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["is_na", "normalize_ips"]

_STR = "string[pyarrow]"


def is_na(v: Any) -> bool:
    """Whether ``v`` is pandas' ``NA`` (checked without importing pandas)."""
    return type(v).__name__ == "NAType" and type(v).__module__.startswith("pandas")


_DEFANG = re.compile(r"[\[\(\{]\s*(\.|:|dot)\s*[\]\)\}]", re.IGNORECASE)
_SCHEME = re.compile(r"^(?:h[xt]{2}ps?|ftp|[st]cp|udp|fxp)\[?:\]?//", re.IGNORECASE)
_BRACKET_PORT = re.compile(r"^\[([^\]]+)\](?::(\d{1,5}))?$")
_V4_PORT = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$")
_MAX_LEN = 200


def _clean(text: str) -> tuple[str | None, str | None]:
    """Return (candidate address text, error) for one raw value."""
    s = text.strip().strip("\"'`<>").strip()
    if not s:
        return None, "empty"
    if len(s) > _MAX_LEN:
        return None, "too long to be an address"
    s = _DEFANG.sub(
        lambda m: "." if m.group(1) in (".",) or m.group(1).lower() == "dot" else ":", s
    )
    m = _SCHEME.match(s)
    if m:
        s = s[m.end() :]
        s = re.split(r"[/?#]", s, maxsplit=1)[0]
        if "@" in s:
            s = s.rsplit("@", 1)[1]
    m = _BRACKET_PORT.match(s) or _V4_PORT.match(s)
    if m:
        s = m.group(1)
        if m.group(2) is not None and int(m.group(2)) > 65535:
            return None, "port out of range"
    if "%" in s:
        s = s.split("%", 1)[0]
    if "/" in s:
        addr, _, plen = s.partition("/")
        if not plen.isdigit():
            return None, "not an IP address"
        full = 32 if ":" not in addr else 128
        if int(plen) != full:
            return None, "network, not an address"
        s = addr
    return s, None


class Unhashable:
    """Stands in for an unhashable input value (a list, a dict, ...) during factorisation."""

    __slots__ = ("typename",)

    def __init__(self, value: object) -> None:
        self.typename = type(value).__name__


@dataclass
class Parsed:
    """Unique addresses parsed once (internal)."""

    text: np.ndarray  # object: normalised text or None
    error: np.ndarray  # object: reason or None
    valid: np.ndarray  # bool
    is_v4: np.ndarray  # bool
    v4: U32
    v6: K16


def parse_unique(values: Iterable[Any]) -> Parsed:
    """Parse a sequence of (preferably unique) values into normalised addresses.

    Parameters
    ----------
    values
        Strings (or anything; non-strings other than ``ipaddress`` objects are invalid).

    Returns
    -------
    Parsed
        Arrays aligned with ``values``.
    """
    vals = list(values)
    n = len(vals)
    # plain Python lists in the loop (numpy item assignment is slow); arrays at the end
    text: list[str | None] = [None] * n
    error: list[str | None] = [None] * n
    valid = bytearray(n)
    is_v4 = bytearray(n)
    b4s: list[bytes] = [b"\x00\x00\x00\x00"] * n
    keys: list[bytes] = [b""] * n
    pton, ntop, af4, af6 = socket.inet_pton, socket.inet_ntop, socket.AF_INET, socket.AF_INET6
    mapped = b"\x00" * 10 + b"\xff\xff"
    for i, raw in enumerate(vals):
        # fast path: canonical text that the C parser accepts and prints back identically
        if type(raw) is str:
            try:
                b4 = pton(af4, raw)
                if ntop(af4, b4) == raw:
                    text[i] = raw
                    valid[i] = is_v4[i] = 1
                    b4s[i] = b4
                    continue
            except (OSError, ValueError):
                try:
                    b16 = pton(af6, raw)
                except (OSError, ValueError):
                    b16 = None
                if b16 is not None and b16[:12] != mapped:
                    t6 = ntop(af6, b16)
                    if "." not in t6:
                        text[i] = t6
                        valid[i] = 1
                        keys[i] = b16
                        continue
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
        err: str | None = None
        if isinstance(raw, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            addr = raw
        elif isinstance(raw, str):
            cand, err = _clean(raw)
            if cand is not None:
                try:
                    addr = ipaddress.ip_address(cand)
                except ValueError:
                    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", cand) and re.search(
                        r"(^|\.)0\d", cand
                    ):
                        err = "IPv4 with leading zeros (ambiguous)"
                    else:
                        err = "not an IP address"
        elif raw is None or is_na(raw) or (isinstance(raw, float) and np.isnan(raw)):
            err = "empty"
        elif isinstance(raw, Unhashable):
            err = f"not text ({raw.typename})"
        else:
            err = f"not text ({type(raw).__name__})"
        if addr is None:
            error[i] = err or "not an IP address"
            continue
        if isinstance(addr, ipaddress.IPv6Address):
            if addr.ipv4_mapped is not None:
                addr = addr.ipv4_mapped
            elif addr.scope_id:
                addr = ipaddress.IPv6Address(str(addr).split("%", 1)[0])
        valid[i] = 1
        text[i] = str(addr)
        if isinstance(addr, ipaddress.IPv4Address):
            is_v4[i] = 1
            b4s[i] = addr.packed
        else:
            keys[i] = addr.packed
    return Parsed(
        np.array(text, dtype=object),
        np.array(error, dtype=object),
        np.frombuffer(bytes(valid), dtype=np.uint8).astype(bool),
        np.frombuffer(bytes(is_v4), dtype=np.uint8).astype(bool),
        np.frombuffer(b"".join(b4s), dtype=">u4").astype(np.uint32),
        np.array(keys, dtype="S16"),
    )


def _hashable(v: object) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def normalize_ips(values: Iterable[Any]) -> tuple[pd.Series, pd.Series]:
    """Normalise addresses row by row.

    Parameters
    ----------
    values
        A sequence or Series of address strings in any common textual form.

    Returns
    -------
    tuple of pandas.Series
        ``(normalised, error)``: the canonical text (``<NA>`` when invalid) and the reason a
        row is invalid (``<NA>`` when valid), both ``string[pyarrow]``, aligned to the input
        (a Series input keeps its index).

    Examples
    --------
    >>> ips, errs = normalize_ips(["1.2.3[.]4", "[2001:DB8::1]:443", "nope"])
    >>> list(ips.astype(object).where(ips.notna(), None))
    ['1.2.3.4', '2001:db8::1', None]
    """
    import pandas as pd

    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    objs = [v if _hashable(v) else Unhashable(v) for v in s.astype(object).tolist()]
    codes, uniques = pd.factorize(pd.Series(objs, dtype=object), use_na_sentinel=True)
    p = parse_unique(uniques)
    text = np.concatenate([p.text, np.array([None], dtype=object)])  # index -1 -> None
    err = np.concatenate([p.error, np.array(["empty"], dtype=object)])
    return (
        pd.Series(text[codes], index=s.index, dtype=_STR),
        pd.Series(err[codes], index=s.index, dtype=_STR),
    )
