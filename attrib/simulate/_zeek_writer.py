r"""Zeek log writer: ASCII TSV with Zeek's headers, or Zeek's JSON lines, streamed in chunks.

Follows Zeek's ``LogAscii`` writer: ``#separator \x09``, ``#set_separator ,``,
``#empty_field (empty)``, ``#unset_field -``, ``#path``, ``#open``, ``#fields``, ``#types``,
rows, ``#close``; ``time``/``interval`` with six decimals, ``bool`` as ``T``/``F``. The JSON
variant (``LogAscii::use_json=T``) writes one object per row with Zeek's dotted field names,
``ts`` as epoch seconds and unset fields left out. Rows are formatted column-wise with Arrow
compute and written straight from the string buffer, so millions of rows stream quickly.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attrib.simulate._outfile import open_out, out_path

__all__ = ["CONN_FIELDS", "SSL_FIELDS", "ZeekWriter"]

#: conn.log fields and types (Zeek 7).
CONN_FIELDS: tuple[tuple[str, str], ...] = (
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
    ("ip_proto", "count"),
)
#: ssl.log fields and types (Zeek 7, plus ``ja4`` from the FoxIO JA4 package).
SSL_FIELDS: tuple[tuple[str, str], ...] = (
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("version", "string"),
    ("cipher", "string"),
    ("curve", "string"),
    ("server_name", "string"),
    ("resumed", "bool"),
    ("last_alert", "string"),
    ("next_protocol", "string"),
    ("established", "bool"),
    ("ssl_history", "string"),
    ("cert_chain_fps", "vector[string]"),
    ("client_cert_chain_fps", "vector[string]"),
    ("sni_matches_cert", "bool"),
    ("ja4", "string"),
)


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(t))


def _fixed6(values: pd.Series) -> pa.Array:
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    mask = np.isnan(v)
    us = np.rint(np.where(mask, 0.0, v) * 1e6).astype(np.int64)
    sec = pc.cast(pa.array(us // 1_000_000), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(us % 1_000_000), pa.string()), 6, "0")
    out = pc.binary_join_element_wise(sec, frac, ".")
    return pc.if_else(pa.array(mask), pa.nulls(len(v), pa.string()), out)


def _count(values: pd.Series) -> pa.Array:
    v = pd.to_numeric(values, errors="coerce")
    arr = pa.array(v.astype("Int64"), type=pa.int64(), from_pandas=True)
    return pc.cast(arr, pa.string())


def _bool(values: pd.Series, json: bool) -> pa.Array:
    arr = pa.array(values.astype("boolean"), type=pa.bool_(), from_pandas=True)
    t, f = ("true", "false") if json else ("T", "F")
    return pc.if_else(arr, t, f)


def _text(values: pd.Series) -> pa.Array:
    # factorize in C, then decode a dictionary array: far cheaper than converting objects
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    idx = pa.array(codes, type=pa.int32(), mask=codes < 0)
    dictionary = pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    return pa.DictionaryArray.from_arrays(idx, dictionary).dictionary_decode()


class ZeekWriter:
    """Stream one Zeek log file.

    Parameters
    ----------
    path
        Target file.
    log_path
        Zeek's ``#path`` (``conn``, ``ssl``).
    fields
        ``(name, zeek type)`` pairs.
    fmt
        ``tsv`` or ``json``.
    open_ts
        Time written in ``#open`` (epoch seconds).
    compress
        ``none`` or ``gz``.
    """

    def __init__(
        self,
        path: Path,
        log_path: str,
        fields: tuple[tuple[str, str], ...],
        fmt: str,
        open_ts: float,
        compress: str = "none",
    ) -> None:
        self.path = out_path(path, compress)
        self.fields = fields
        self.fmt = fmt
        self.rows = 0
        self._fh: IO[bytes] = open_out(path, compress)
        if fmt == "tsv":
            names = "\t".join(n for n, _ in fields)
            types = "\t".join(t for _, t in fields)
            head = (
                "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
                f"#path\t{log_path}\n#open\t{_stamp(open_ts)}\n#fields\t{names}\n#types\t{types}\n"
            )
            self._fh.write(head.encode())

    def _column(self, name: str, ztype: str, values: pd.Series) -> pa.Array:
        json = self.fmt == "json"
        if ztype in ("time", "interval"):
            arr = _fixed6(values)
        elif ztype in ("count", "port"):
            arr = _count(values)
        elif ztype == "bool":
            arr = _bool(values, json)
        else:
            arr = _text(values)
            if json and ztype in ("string", "addr", "enum"):
                arr = pc.binary_join_element_wise('"', arr, '"', "")
            elif json and ztype.startswith(("set", "vector")):
                arr = pc.binary_join_element_wise('["', arr, '"]', "")
        if json:
            arr = pc.binary_join_element_wise(f'"{name}":', arr, "")
        return arr

    def write(self, df: pd.DataFrame) -> None:
        """Append rows; ``df`` has a column per field (missing columns are unset).

        Parameters
        ----------
        df
            Rows, with Zeek field names as columns.
        """
        if df.empty:
            return
        n = len(df)
        cols = []
        for name, ztype in self.fields:
            values = df[name] if name in df.columns else pd.Series([None] * n, dtype=object)
            cols.append(self._column(name, ztype, values.reset_index(drop=True)))
        if self.fmt == "json":
            body = pc.binary_join_element_wise(*cols, ",", null_handling="skip")
            line = pc.binary_join_element_wise("{", body, "}\n", "")
        else:
            body = pc.binary_join_element_wise(
                *cols, "\t", null_handling="replace", null_replacement="-"
            )
            line = pc.binary_join_element_wise(body, "\n", "")
        line = pa.concat_arrays([line]) if isinstance(line, pa.ChunkedArray) else line
        offsets = np.frombuffer(line.buffers()[1], dtype=np.int32)[line.offset :]
        data = line.buffers()[2]
        self._fh.write(memoryview(data)[offsets[0] : offsets[n]])
        self.rows += n

    def close(self, close_ts: float) -> None:
        """Write ``#close`` (TSV) and close the file.

        Parameters
        ----------
        close_ts
            Time written in ``#close`` (epoch seconds).
        """
        if self.fmt == "tsv":
            self._fh.write(f"#close\t{_stamp(close_ts)}\n".encode())
        self._fh.close()
