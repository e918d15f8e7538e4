"""Speed of attrib's pcap reader against scapy, dpkt and tshark on one generated capture.

Generates (once) ``bench/_work/mix_<N>.pcap`` with a realistic mix: TCP connections with
handshakes (SYN options of several stacks), data both ways, TLS ClientHellos, FIN teardown and
some resets; DNS over UDP; ICMP echo. Then times, on that same file in the same run:

* attrib: ``attrib.io.read`` — full pipeline to the canonical events table (connections with
  Zeek semantics, fingerprints, JA4);
* scapy: iterating ``scapy.utils.PcapReader``. Only ``scapy.utils`` is imported, as here, so
  scapy has no Ethernet layer loaded and yields ``Raw`` packets (it warns "unknown LL type"):
  record reading and packet objects, no dissection — the fastest way to iterate PcapReader,
  hence the strictest reference. ``--scapy-dissect`` adds a row with ``scapy.all`` loaded
  (Ether/IP/TCP dissection), for information;
* dpkt: ``dpkt.pcap.Reader`` plus decoding Ethernet/IP/TCP|UDP headers of every packet;
* tshark: ``tshark -T fields -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport -e frame.len``
  (skipped with a message when tshark is not installed).

Prints medians, ratios (reference time / attrib time) and peak RSS of each child process.
attrib's compiled code (numba) is cached on disk after its first use: ``attrib`` runs follow a
warm-up read in the same process; ``attrib-cold`` is a new process (imports and the cache load
timed); ``attrib-compile`` is a new process with an empty numba cache (everything compiled
first, timed), reported separately.

    .venv/bin/python bench/pcap_speed.py [--packets 1000000] [--repeat 3] [--scapy-repeat 1]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / "_work"

_SYN_OPTS = [
    bytes.fromhex("020405b40402080a0000000000000000010303070000"),  # linux M,S,T,N,W (+pad)
    bytes.fromhex("020405b4010303080101040200000000"),  # windows M,N,W,N,N,S
    bytes.fromhex("020405b4010303060101080a000000000000000004020000"),  # macos
    bytes.fromhex("020405ac0402080a00000000000000000103030700"),  # pppoe mss 1452
]


def _csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ip4(src: int, dst: int, proto: int, payload: bytes, ttl: int, ident: int) -> bytes:
    h = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, ttl,
                    proto, 0, src, dst)  # fmt: skip
    h = h[:10] + struct.pack("!H", _csum(h)) + h[12:]
    return h + payload


def _eth(ip: bytes) -> bytes:
    return b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00" + ip


def _tcp(sp: int, dp: int, seq: int, ack: int, flags: int, win: int, opts: bytes = b"",
         data: bytes = b"") -> bytes:  # fmt: skip
    off = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off << 4,
                       flags, win, 0, 0) + opts + data  # fmt: skip


def _client_hello(sni: str) -> bytes:
    ciphers = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030]
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    alpn = b"\x02h2\x08http/1.1"
    alpn_ext = struct.pack("!HHH", 16, len(alpn) + 2, len(alpn)) + alpn
    sv = struct.pack("!HHBHH", 43, 5, 4, 0x0304, 0x0303)
    sig = struct.pack("!HHH", 13, 8, 6) + struct.pack("!HHH", 0x0403, 0x0804, 0x0401)
    exts = sni_ext + alpn_ext + sv + sig
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + struct.pack("!H", 2 * len(ciphers))
    body += struct.pack(f"!{len(ciphers)}H", *ciphers) + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def generate(path: Path, n_packets: int, seed: int = 7) -> None:
    """Write a classic pcap (Ethernet) of about ``n_packets`` packets."""
    rnd = random.Random(seed)
    recs: list[bytes] = []
    t = 1_700_000_000.0
    count = 0
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

        def emit(frame: bytes) -> None:
            nonlocal t, count
            t += rnd.random() * 0.0004
            sec = int(t)
            recs.append(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(frame), len(frame))
                        + frame)  # fmt: skip
            count += 1
            if len(recs) >= 10000:
                fh.write(b"".join(recs))
                recs.clear()

        while count < n_packets:
            kind = rnd.random()
            cli = 0x0A000000 + rnd.randrange(1 << 16)
            srv = 0xC6336400 + rnd.randrange(256)
            sp = rnd.randrange(1024, 65535)
            if kind < 0.70:  # TCP connection
                dp = rnd.choice((443, 443, 80, 22, 8443))
                ttl = rnd.choice((64, 128, 60, 116))
                cs, ss = rnd.randrange(1 << 32), rnd.randrange(1 << 32)
                ident = rnd.randrange(65536)
                opts = rnd.choice(_SYN_OPTS)

                steps: list[tuple[int, int, bytes, bytes]] = [(0, 0x02, b"", opts)]
                if rnd.random() < 0.08:
                    steps.append((1, 0x14, b"", b""))  # RST-ACK: rejected
                else:
                    steps += [(1, 0x12, b"", b""), (0, 0x10, b"", b"")]
                    if dp in (443, 8443):
                        hello = _client_hello(f"host{rnd.randrange(1000)}.example.com")
                        steps.append((0, 0x18, hello, b""))
                    else:
                        req = b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: bench/1.0\r\n\r\n"
                        steps.append((0, 0x18, req, b""))
                    for _ in range(int(rnd.paretovariate(1.2) * 3)):  # heavy-tailed transfers
                        steps.append((1, 0x18, os.urandom(rnd.choice((100, 600, 1448))), b""))
                        if rnd.random() < 0.5:
                            steps.append((0, 0x10, b"", b""))
                        else:
                            steps.append((0, 0x18, os.urandom(rnd.randrange(20, 300)), b""))
                    steps += [(0, 0x11, b"", b""), (1, 0x11, b"", b""), (0, 0x10, b"", b"")]
                for to_srv, flags, data, o in steps:
                    if to_srv == 0:
                        ident += 1
                        seg = _tcp(sp, dp, cs, ss, flags, 64240, o, data)
                        emit(_eth(_ip4(cli, srv, 6, seg, ttl, ident)))
                        cs += len(data) + (1 if flags & 3 else 0)
                    else:
                        seg = _tcp(dp, sp, ss, cs, flags, 65160, b"", data)
                        emit(_eth(_ip4(srv, cli, 6, seg, 57, 0)))
                        ss += len(data) + (1 if flags & 3 else 0)
            elif kind < 0.95:  # DNS
                q = os.urandom(rnd.randrange(30, 60))
                emit(_eth(_ip4(cli, srv, 17, struct.pack("!HHHH", sp, 53, 8 + len(q), 0) + q,
                               64, 1)))  # fmt: skip
                a = os.urandom(rnd.randrange(60, 200))
                emit(_eth(_ip4(srv, cli, 17, struct.pack("!HHHH", 53, sp, 8 + len(a), 0) + a,
                               57, 0)))  # fmt: skip
            else:  # ICMP echo
                icmp = struct.pack("!BBHHH", 8, 0, 0, sp, 1) + os.urandom(48)
                emit(_eth(_ip4(cli, srv, 1, icmp, 64, 2)))
                emit(_eth(_ip4(srv, cli, 1, b"\x00" + icmp[1:], 57, 0)))
        fh.write(b"".join(recs))


def _child(code: str, path: Path, setup: str = "", env: dict[str, str] | None = None
           ) -> tuple[float, float]:  # fmt: skip
    """Run ``setup`` then time ``code`` in a fresh interpreter; return (seconds, peak RSS MiB)."""
    prog = (
        "import sys, time, resource\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        f"PATH = {str(path)!r}\n" + setup + "\n"
        "t0 = time.perf_counter()\n" + code + "\n"
        "dt = time.perf_counter() - t0\n"
        "rss = max(resource.getrusage(w).ru_maxrss for w in "
        "(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
        "print(dt, rss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", prog], check=True, capture_output=True,
                         text=True, env=env).stdout.split()  # fmt: skip
    return float(out[-2]), float(out[-1])


ATTRIB_SETUP = f"""
import attrib.io as aio
aio.read({str(REPO / "tests" / "data" / "pcap" / "warmup.pcap")!r}, format="pcap")
"""
ATTRIB = """
df = aio.read(PATH, format="pcap")
assert len(df) > 0
"""
ATTRIB_COLD = """
import attrib.io as aio
df = aio.read(PATH, format="pcap")
"""
SCAPY_SETUP = "from scapy.utils import PcapReader"
SCAPY_DISSECT_SETUP = "from scapy.all import PcapReader"
SCAPY = """
n = 0
for p in PcapReader(PATH):
    n += 1
"""
DPKT_SETUP = "import dpkt"
DPKT = """
n = 0
with open(PATH, "rb") as f:
    for ts, buf in dpkt.pcap.Reader(f):
        eth = dpkt.ethernet.Ethernet(buf)
        ip = eth.data
        if isinstance(ip, dpkt.ip.IP):
            l4 = ip.data
            if isinstance(l4, (dpkt.tcp.TCP, dpkt.udp.UDP)):
                n += l4.sport ^ l4.dport
"""


TSHARK = """
import os, shutil, subprocess
with open(os.devnull, "wb") as null:
    subprocess.run([shutil.which("tshark"), "-n", "-r", PATH, "-T", "fields", "-e", "ip.src",
                    "-e", "ip.dst", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "frame.len"],
                   check=True, stdout=null, stderr=subprocess.DEVNULL)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description="pcap reader speed against scapy, dpkt, tshark")
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scapy-repeat", type=int, default=1)
    ap.add_argument(
        "--scapy-dissect",
        action="store_true",
        help="also time PcapReader with scapy.all loaded (dissects Ether/IP/TCP)",
    )
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"mix_{args.packets}.pcap"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.packets)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    print(f"capture: {path} ({path.stat().st_size / 1e6:.0f} MB, ~{args.packets} packets); "
          f"cores: {os.cpu_count()}, load avg: {os.getloadavg()[0]:.2f}")  # fmt: skip
    runs: dict[str, list[tuple[float, float]]] = {
        "attrib": [], "attrib-cold": [], "attrib-compile": [], "dpkt": [], "scapy": [],
        "tshark": [],
    }  # fmt: skip
    if args.scapy_dissect:
        runs["scapy-dissect"] = []
    for _ in range(args.repeat):
        runs["attrib"].append(_child(ATTRIB, path, ATTRIB_SETUP))
        runs["dpkt"].append(_child(DPKT, path, DPKT_SETUP))
        if shutil.which("tshark"):
            runs["tshark"].append(_child(TSHARK, path))
    for _ in range(args.scapy_repeat):
        runs["scapy"].append(_child(SCAPY, path, SCAPY_SETUP))
    if args.scapy_dissect:
        runs["scapy-dissect"].append(_child(SCAPY, path, SCAPY_DISSECT_SETUP))
    runs["attrib-cold"].append(_child(ATTRIB_COLD, path))
    with tempfile.TemporaryDirectory() as cache:  # empty numba cache: compile everything
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs["attrib-compile"].append(_child(ATTRIB_COLD, path, env=env))
    med = {k: statistics.median(t for t, _ in v) for k, v in runs.items() if v}
    base = med["attrib"]
    print(
        f"{'tool':<15}{'median s':>10}{'Mpkt/s':>9}{'peak RSS MiB':>14}{'ratio':>9}  runs: seconds"
    )
    for k, v in runs.items():
        if not v:
            print(f"{k:<15} skipped: tshark not installed (apt-get install tshark)")
            continue
        rss = max(r for _, r in v)
        print(f"{k:<15}{med[k]:>10.2f}{args.packets / med[k] / 1e6:>9.2f}{rss:>14.0f}"
              f"{med[k] / base:>8.1f}x  {len(v)}: {' '.join(f'{t:.2f}' for t, _ in v)}")  # fmt: skip
    print("ratio = tool median / attrib median (higher = attrib faster). Must hold: scapy >= 30x, "
          "dpkt >= 3x, tshark > 1x.")  # fmt: skip
    print("timings exclude Python imports; attrib's runs follow a warm-up read of a 4-packet "
          "capture (loads numba's compiled cache); attrib-cold = imports + first read in a new "
          "process; attrib-compile = the same with an empty numba cache (first use after "
          "install); tshark is timed as a whole process.")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
