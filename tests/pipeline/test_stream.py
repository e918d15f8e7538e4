"""The streamed front joins Zeek application rows exactly as attrib.read does."""

import json

import pandas as pd
import pytest

from attrib.context import OrgContext
from attrib.io import ReadReport, read
from attrib.io.zeek import is_app_log
from attrib.pipeline._stream import stream_origins

CONN = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\thistory\torig_pkts\tresp_pkts
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tstring\tcount\tcount
1772418678.238789\tCa1\t81.2.69.142\t35322\t185.232.2.11\t443\ttcp\tssl\t1.5\t500\t4000\tSF\tShADadFf\t10\t12
1772418679.238789\tCa2\t81.2.69.143\t35323\t185.232.2.11\t443\ttcp\t-\t0.5\t0\t0\tS0\tS\t1\t0
"""
SSL = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tssl
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tserver_name\tja4
#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring
1772418678.338789\tCa1\t81.2.69.142\t35322\t185.232.2.11\t443\tTLSv13\tvpn.example\tt13d1516h2_8daaf6152771_02713d6af862
1772418690.000000\tCzz\t81.2.69.150\t40000\t185.232.2.11\t443\tTLSv12\tmail.example\tt12d1516h2_8daaf6152771_02713d6af862
"""


class Collect:
    """Test double for the accumulator: keeps the chunks it is given."""

    def __init__(self):
        self.chunks = []

    def update(self, chunk):
        self.chunks.append(chunk)


@pytest.mark.parametrize("json_ssl", [False, True])
def test_join_while_streaming_matches_read(tmp_path, json_ssl):
    (tmp_path / "a_conn.log").write_text(CONN)  # sorts first: the join must not depend on order
    if json_ssl:
        recs = [
            {
                "ts": 1772418678.338789,
                "uid": "Ca1",
                "id.orig_h": "81.2.69.142",
                "id.orig_p": 35322,
                "id.resp_h": "185.232.2.11",
                "id.resp_p": 443,
                "version": "TLSv13",
                "server_name": "vpn.example",
                "ja4": "t13d1516h2_8daaf6152771_02713d6af862",
            },
            {
                "ts": 1772418690.0,
                "uid": "Czz",
                "id.orig_h": "81.2.69.150",
                "id.orig_p": 40000,
                "id.resp_h": "185.232.2.11",
                "id.resp_p": 443,
                "version": "TLSv12",
                "server_name": "mail.example",
                "ja4": "t12d1516h2_8daaf6152771_02713d6af862",
            },
        ]
        (tmp_path / "b_ssl.log").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    else:
        (tmp_path / "b_ssl.log").write_text(SSL)
    assert is_app_log(tmp_path / "b_ssl.log") and not is_app_log(tmp_path / "a_conn.log")
    acc = Collect()
    rep = ReadReport()
    res = stream_origins([tmp_path], rep, OrgContext(), lambda c: c, False, acc)
    got = pd.concat(acc.chunks, ignore_index=True).sort_values("uid").reset_index(drop=True)
    want = read(tmp_path).sort_values("uid").reset_index(drop=True)
    assert len(got) == 3 and res.events == 3  # two conn rows (one joined) + the orphan ssl row
    pd.testing.assert_frame_equal(got, want, check_like=True)
    assert got.loc[got["uid"] == "Ca1", "tls_sni"].item() == "vpn.example"
    assert {f["path"].split("/")[-1] for f in rep.as_dict()["files"]} == {"a_conn.log", "b_ssl.log"}
    assert res.day_table()["events"].sum() == 3
