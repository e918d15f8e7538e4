"""Mutation fuzzing of every reader, the sniffers, the address normaliser and the model loader.

Each harness mutates real files (``tests/data`` and ``../shared/data``) and feeds them to the
public entry point. An input is fine when it reads, or fails with an ``AttribError`` whose
message is one line; anything else is a *crash* (an unexpected exception, or the worker
process dying, e.g. by a segmentation fault or the memory cap); an input taking more than
``--timeout`` seconds of CPU is a *hang*. Crashing and hanging inputs are saved under ``--out``.

Executions run in process: one persistent worker process per harness runs input after input
(no fork or interpreter start per input; inputs are written to tmpfs, the sniffers and the
normaliser take the bytes themselves). The worker has an address-space cap (``--mem-mb``) and
an RSS cap (``--rss-mb``, checked after every input); a watchdog catches hangs: a CPU-time
timer inside the worker (``ITIMER_PROF``: on a shared machine a starved worker is slow in wall
time without hanging), and the driver killing a worker whose progress stalls for ten times
the timeout in wall time (stuck without using CPU, e.g. a deadlock). The driver
restarts the worker only when it dies, and reports executions, crashes, hangs, execs/s and
the worker's peak RSS, one JSON line per harness (also appended to ``OUT/summary.jsonl``).
``--seconds`` bounds the whole campaign: the time left is shared among the harnesses still to
run, the fast ones first, so time they do not need goes to the slow readers. Run long
campaigns under ``nice``::

    nice -n 19 python scripts/fuzz.py --harness all --execs 1000000 --jobs 2 --out fuzz-out

Mutations are plain byte-level ones (flips, extreme 4-byte values, deletions, duplications,
splices between seeds, truncation) plus tokens known to hurt parsers (deep nesting, huge
numbers, lone surrogates, unbalanced quotes, out-of-range years).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DATA = REPO / "tests" / "data"

_TOKENS = [
    b"[" * 3000, b"{\"a\":" * 600, b"1" * 4500, b"-" + b"9" * 400, b"1e999", b"NaN",
    b"Infinity", b'"\\ud800"', b'"', b"\\", b"\n", b"\r\n", b"\x00" * 16, b"\xff\xfe",
    b"2423-01-01T00:00:00Z", b"XXXXXXXXXX.XXXXXX", b"\t", b",", b"#fields\tts\tuid\n",
    b"#types\ttime\n", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"(empty)", b"-",
]  # fmt: skip


@dataclass
class Harness:
    """Seeds and the call under test for one entry point."""

    seeds: Callable[[], list[bytes]]
    run: Callable[[bytes, Path], None]
    suffix: str = ".log"
    fast: bool = False  # well under a millisecond per input: scheduled first


def _files(*paths: Path, limit: int = 8192, lines: bool = True) -> list[bytes]:
    """The seed files' bytes, each cut to ``limit`` (at a line end when ``lines``).

    Small seeds keep an execution cheap: a reader's cost grows with the rows it converts, and
    a few rows already reach every code path a mutation can hit.
    """
    out = []
    for p in paths:
        if not p.is_file():
            continue
        data = p.read_bytes()
        if p.suffix == ".gz":
            data = gzip.decompress(data)
        if len(data) > limit:
            data = data[:limit]
            if lines and b"\n" in data:
                data = data[: data.rindex(b"\n") + 1]
        out.append(data)
    return out


def _glob(root: Path, pattern: str, n: int = 8) -> list[Path]:
    return sorted(root.glob(pattern))[:n] if root.exists() else []


def _read(fmt: str | None = None, **options: Any) -> Callable[[bytes, Path], None]:
    def run(data: bytes, path: Path) -> None:
        from attrib.io import read

        read(path, fmt, options=options or None, max_bad_rows=10**9)

    return run


def _okta_seed() -> list[bytes]:
    rec = {"published": "2024-01-01T00:00:00.000Z", "eventType": "user.session.start",
           "uuid": "u1", "actor": {"alternateId": "a@example.org"},
           "client": {"ipAddress": "192.0.2.1", "userAgent": {"rawUserAgent": "curl/8"},
                      "geographicalContext": {"city": "X", "country": "NL"}},
           "outcome": {"result": "SUCCESS"}, "securityContext": {"asNumber": 64500}}  # fmt: skip
    recs = [dict(rec, uuid=f"u{i}") for i in range(5)]
    return [json.dumps(recs).encode(), "\n".join(json.dumps(r) for r in recs).encode()]


def _m365_seed() -> list[bytes]:
    rec = {"CreationTime": "2024-03-07T10:01:02", "Id": "x", "Operation": "UserLoggedIn",
           "OrganizationId": "o", "RecordType": 15, "UserType": 0, "Version": 1,
           "Workload": "AzureActiveDirectory", "ClientIP": "192.0.2.1",
           "UserId": "a@b.c"}  # fmt: skip
    lines = "\n".join(json.dumps(dict(rec, Id=str(i))) for i in range(5)).encode()
    return [lines, *_files(DATA / "signin" / "m365_purview.csv")]


def _run_sniff(data: bytes, path: Path) -> None:
    from attrib.io.detect import sniff_bytes

    sniff_bytes(data)


def _run_pcap_blocks(data: bytes, path: Path) -> None:
    """Run the capture framing alone (pcap records, pcapng blocks), from memory.

    Read buffers are also a few bytes long, so that damage straddles them; every packet must
    lie inside its batch's buffer.
    """
    import io

    from attrib.io._base import FileStats, ReadContext
    from attrib.io.pcap import _container

    size = 8 << 20 if data[-1:] < b"\x80" else 64 + data[-1] * 16  # varied by the input itself
    old, _container.BLOCK_BYTES = _container.BLOCK_BYTES, size
    try:
        ctx = ReadContext(stats=FileStats(path=str(path), format="pcap"), chunksize=1 << 16,
                          max_bad_rows=1 << 30)  # fmt: skip
        for b in _container.iter_batches(io.BytesIO(data), ctx):
            if not ((b.offs >= 0) & (b.offs + b.caplen <= len(b.buf))).all():
                raise AssertionError("a packet lies outside its batch's buffer")
    finally:
        _container.BLOCK_BYTES = old


def _run_normalize(data: bytes, path: Path) -> None:
    from attrib.enrich.normalize import normalize_ips

    values: list[Any] = data.decode("utf-8", "surrogateescape").split("\n")
    values += [None, 3.5, 42, b"\x01\x02\x03\x04"]
    normalize_ips(values)


_ADDR_SEED = "\n".join([
    "192.0.2.1", "192.0.2.1:443", "[2001:db8::1]:443", "::ffff:192.0.2.7", "1.2.3[.]4",
    "2001:DB8::1%eth0", " 10.0.0.1 ", "0x7f.1", "255.255.255.255", "fe80::1",
    "192.0.2.1, 198.51.100.2", "-", "", "not an ip",
]).encode()  # fmt: skip


def _model_seed() -> list[bytes]:
    return _files(*_glob(REPO / "models", "attrib-scorer-*.json"), limit=1 << 24, lines=False)


def _run_model(data: bytes, path: Path) -> None:
    from attrib.score import load_model

    p = path.with_name("fuzz-model.json")  # not a shipped name: the structure is what is fuzzed
    p.write_bytes(data)
    p.with_name(p.name + ".sha256").write_text(hashlib.sha256(data).hexdigest() + "\n")
    load_model(p)


def harnesses() -> dict[str, Harness]:
    """Every harness by name."""
    btest = SHARED / "zeek-btest" / "Baseline"
    otrf = SHARED / "samples" / "otrf-apt29" / "apt29_day2"
    traces = SHARED / "zeek-btest" / "Traces"
    mappings = REPO / "data" / "mappings"
    ja4 = DATA / "ref" / "ja4" / "pcap"
    return {
        "zeek-tsv": Harness(
            lambda: _files(*_glob(btest, "*/conn.log"), *_glob(btest, "*/ssl.log")), _read()
        ),  # fmt: skip
        "zeek-json": Harness(
            lambda: _files(*_glob(otrf, "*/*_conn.log"), *_glob(otrf, "*/*_dns.log")), _read()
        ),  # fmt: skip
        "suricata": Harness(lambda: _files(DATA / "suricata" / "eve.json"), _read(), ".json"),
        "entra": Harness(
            lambda: _files(
                DATA / "signin" / "graph_signins.json",
                DATA / "signin" / "sentinel_signinlogs.csv",
                *_glob(SHARED / "foreign", "*/signin/signinlogs.json.gz", 2),
            ),
            _read(),
            ".json",
        ),  # fmt: skip
        "okta": Harness(_okta_seed, _read(), ".json"),
        "m365": Harness(_m365_seed, _read(), ".json"),
        "nfdump": Harness(
            lambda: _files(
                DATA / "flow" / "nfdump-summary.csv", *_glob(SHARED / "samples" / "nfdump", "*.csv")
            ),
            _read(),
            ".csv",
        ),  # fmt: skip
        "flow-json": Harness(
            lambda: _files(DATA / "flow" / "goflow2.json"),
            _read("flow", flow_mapping=str(mappings / "goflow2-json.toml")),
            ".json",
        ),  # fmt: skip
        "flow-csv": Harness(
            lambda: _files(DATA / "flow" / "argus.csv"),
            _read("flow", flow_mapping=str(mappings / "argus-csv.toml")),
            ".csv",
        ),  # fmt: skip
        "pcap": Harness(
            lambda: _files(
                DATA / "pcap" / "warmup.pcap",
                traces / "pppoe.pcap",
                traces / "tcp-http-with-padding.pcap",
                ja4 / "dhcp.pcapng",
                ja4 / "tls-non-ascii-alpn.pcapng",
                ja4 / "quic-with-several-tls-frames.pcapng",
                lines=False,
            ),
            _read(),
            ".pcap",
        ),  # fmt: skip
        "pcap-blocks": Harness(
            lambda: _SEEDS_CACHE("pcap"), _run_pcap_blocks, ".pcap", fast=True
        ),  # fmt: skip
        "sniff": Harness(
            lambda: [
                s
                for h in ("zeek-tsv", "suricata", "entra", "okta", "nfdump", "pcap")
                for s in _SEEDS_CACHE(h)
            ],
            _run_sniff,
            ".bin",
            fast=True,
        ),  # fmt: skip
        "normalize": Harness(lambda: [_ADDR_SEED], _run_normalize, ".txt", fast=True),
        "model": Harness(_model_seed, _run_model, ".json", fast=True),
    }


def _SEEDS_CACHE(name: str) -> list[bytes]:  # noqa: N802 - a lookup, named like a constant
    return harnesses()[name].seeds()


def mutate(rng: random.Random, data: bytes, seeds: list[bytes]) -> bytes:
    """One random mutation chain of ``data``."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        n = len(b)
        op = rng.randrange(9)
        if op == 0 and n:
            b[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            b[rng.randrange(n)] = rng.randrange(256)
        elif op == 2 and n >= 4:
            i = rng.randrange(n - 3)
            b[i : i + 4] = rng.choice([b"\xff\xff\xff\xff", b"\0\0\0\0", b"\x7f\xff\xff\xff",
                                       b"\x00\x00\x01\x00"])  # fmt: skip
        elif op == 3 and n:
            i = rng.randrange(n)
            del b[i : i + rng.randint(1, 64)]
        elif op == 4 and n:
            i = rng.randrange(n)
            piece = b[i : i + rng.randint(1, 256)]
            j = rng.randrange(n)
            b[j:j] = piece
        elif op == 5:
            other = rng.choice(seeds)
            if other:
                i = rng.randrange(len(other))
                j = rng.randrange(len(b) + 1)
                b[j:j] = other[i : i + rng.randint(1, 512)]
        elif op == 6 and n:
            del b[rng.randrange(n) :]
        elif op == 7:
            j = rng.randrange(len(b) + 1)
            b[j:j] = rng.choice(_TOKENS)
        else:
            j = rng.randrange(len(b) + 1)
            b[j:j] = rng.randbytes(rng.randint(1, 32))
    return bytes(b)


class _Hang(Exception):
    pass


class _OverRss(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Hang


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_mb() -> int:
    """Current resident set size of this process in MB (0 where ``/proc`` is missing)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE >> 20
    except (OSError, ValueError, IndexError):
        return 0


def _peak_rss_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) // 1024


def worker(
    name: str,
    execs: int,
    seed: int,
    out: Path,
    timeout: int,
    status: Path,
    *,
    until: float | None = None,
    rss_mb: int | None = None,
) -> tuple[int, int]:
    """Run up to ``execs`` mutated inputs through harness ``name`` in this process.

    Parameters
    ----------
    name, execs, seed
        Harness, number of inputs, seed of the mutation stream (input 0 is the first seed).
    out
        Where crashing and hanging inputs are saved.
    timeout
        Seconds one input may take before it counts as a hang.
    status
        JSON progress file (execs, crashes, hangs, RSS) rewritten every ~2 s and at the end.
    until
        Stop at this ``time.time()`` even if fewer than ``execs`` inputs ran.
    rss_mb
        An input after which the resident set exceeds this is a crash; the worker then stops
        (raises :class:`SystemExit` with status 3) so that a fresh one carries on.

    Returns
    -------
    tuple
        Crashes and hangs (inputs saved under ``out``).
    """
    import logging

    logging.disable(logging.CRITICAL)
    from attrib.errors import AttribError

    h = harnesses()[name]
    seeds = [s for s in h.seeds() if s] or [b""]
    rng = random.Random(seed)
    work = Path(
        tempfile.mkdtemp(
            prefix="attrib-fuzz-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None
        )
    )
    cur = work / f"input{h.suffix}"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.current").write_text(str(cur))
    signal.signal(signal.SIGPROF, _alarm)
    crashes = hangs = done = 0
    t0 = t_status = time.monotonic()
    cpu0 = time.process_time()
    over = False
    try:
        for i in range(execs):
            data = mutate(rng, rng.choice(seeds), seeds) if i else seeds[0]
            cur.write_bytes(data)
            signal.setitimer(signal.ITIMER_PROF, timeout)
            try:
                h.run(data, cur)
                if rss_mb is not None and _rss_mb() > rss_mb:
                    raise _OverRss
            except AttribError as exc:
                if "\n" in str(exc):
                    crashes += 1
                    _save(out, name, "multiline-error", data, str(exc))
            except _Hang:
                hangs += 1
                _save(out, name, "hang", data, f"over {timeout} s of CPU")
            except _OverRss:
                crashes += 1
                over = True
                _save(out, name, "rss", data, f"resident set {_rss_mb()} MB > {rss_mb} MB")
            except Exception:  # noqa: BLE001 - what the fuzzer is looking for
                crashes += 1
                _save(out, name, "crash", data, traceback.format_exc())
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            done = i + 1
            now = time.monotonic()
            last = done == execs or over or (until is not None and time.time() >= until)
            if now - t_status > 2 or last:
                t_status = now
                _write_status(status, done, crashes, hangs, now - t0, time.process_time() - cpu0)
            if last:
                break
    finally:
        for f in work.iterdir():
            f.unlink()
        work.rmdir()
    if over:
        raise SystemExit(3)
    return crashes, hangs


def _write_status(
    status: Path, done: int, crashes: int, hangs: int, secs: float, cpu: float
) -> None:
    tmp = status.with_name(status.name + ".tmp")
    st = {"execs": done, "crashes": crashes, "hangs": hangs, "peak_rss_mb": _peak_rss_mb(),
          "seconds": round(secs, 2), "cpu_seconds": round(cpu, 2)}  # fmt: skip
    tmp.write_text(json.dumps(st))
    tmp.replace(status)  # never half-written when the driver reads it


def _save(out: Path, name: str, kind: str, data: bytes, why: str) -> None:
    digest = hashlib.sha256(data).hexdigest()[:16]
    (out / f"{name}-{kind}-{digest}.bin").write_bytes(data)
    (out / f"{name}-{kind}-{digest}.txt").write_text(why)


@dataclass
class Limits:
    """What one worker process may use."""

    timeout: int = 30
    mem_mb: int = 3072
    rss_mb: int = 2048


def campaign(
    name: str, execs: int, seed: int, out: Path, limits: Limits, until: float | None = None
) -> dict[str, Any]:
    """Run a harness in worker processes (restarted only after a fatal input) and sum up."""
    done = crashes = hangs = peak = restarts = 0
    busy = cpu = 0.0
    t0 = time.monotonic()
    while done < execs and (until is None or time.time() < until):
        status = out / f"{name}.status.json"
        status.unlink(missing_ok=True)
        cmd = [sys.executable, __file__, "--worker", "--harness", name, "--execs",
               str(execs - done), "--seed", str(seed + 7919 * restarts), "--out", str(out),
               "--timeout", str(limits.timeout), "--rss-mb", str(limits.rss_mb)]  # fmt: skip
        if until is not None:
            cmd += ["--until", repr(until)]

        def cap() -> None:
            lim = limits.mem_mb << 20
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

        proc = subprocess.Popen(cmd, preexec_fn=cap, env={**os.environ, "PYTHONPATH": str(REPO)})
        stalled = _watch(proc, status, limits.timeout)
        st = _status(status)
        ran = int(st.get("execs", 0))
        crashes += int(st.get("crashes", 0))
        hangs += int(st.get("hangs", 0)) + stalled
        peak = max(peak, int(st.get("peak_rss_mb", 0)))
        busy += float(st.get("seconds", 0.0))
        cpu += float(st.get("cpu_seconds", 0.0))
        if proc.returncode not in (0, 3) and not stalled:  # died on an input: save, count, go on
            crashes += 1
            cur = Path((out / f"{name}.current").read_text())
            data = cur.read_bytes() if cur.exists() else b""
            _save(out, name, f"fatal{proc.returncode}", data, f"worker exit {proc.returncode}")
        if proc.returncode != 0:
            ran += 1
            restarts += 1
        done += ran
    secs = time.monotonic() - t0
    return {"harness": name, "execs": done, "crashes": crashes, "hangs": hangs,
            "peak_rss_mb": peak, "restarts": restarts, "seconds": round(secs, 1),
            "execs_per_s": round(done / busy, 1) if busy else None,
            "execs_per_cpu_s": round(done / cpu, 1) if cpu else None,
            "rss_cap_mb": limits.rss_mb, "mem_cap_mb": limits.mem_mb}  # fmt: skip


def _watch(proc: subprocess.Popen[bytes], status: Path, timeout: int) -> int:
    """Wait for the worker; kill it (and return 1) when its progress stalls past the alarm."""
    last, last_t = -1, time.monotonic()
    while proc.poll() is None:
        time.sleep(0.5)
        n = _status(status).get("execs", 0)
        if n != last:
            last, last_t = n, time.monotonic()
        elif time.monotonic() - last_t > 10 * timeout + 60:  # stuck without using CPU
            proc.kill()
            proc.wait()
            return 1
    return 0


def _status(p: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(p.read_text()))
    except (OSError, ValueError):
        return {}


def main(argv: list[str] | None = None) -> int:
    """Command line; prints one JSON line per harness."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--harness", default="all", help=f"one of: all, {', '.join(harnesses())}")
    ap.add_argument("--execs", type=int, default=10_000, help="inputs per harness at most")
    ap.add_argument("--seconds", type=float, help="wall-time budget of the whole campaign")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("fuzz-out"))
    ap.add_argument("--timeout", type=int, default=30, help="CPU seconds per input before a hang")
    ap.add_argument("--mem-mb", type=int, default=3072, help="address-space cap of the worker")
    ap.add_argument("--rss-mb", type=int, default=2048, help="resident-set cap of the worker")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes at once (one per core)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--until", type=float, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    hs = harnesses()
    names = list(hs) if a.harness == "all" else a.harness.split(",")
    if a.worker:
        worker(names[0], a.execs, a.seed, a.out, a.timeout, a.out / f"{names[0]}.status.json",
               until=a.until, rss_mb=a.rss_mb)  # fmt: skip
        return 0
    unknown = [n for n in names if n not in hs]
    if unknown:
        ap.error(f"unknown harness {', '.join(unknown)}; choose from {', '.join(hs)}")
    names.sort(key=lambda n: not hs[n].fast)  # stable: the fast ones first, then as listed
    a.out.mkdir(parents=True, exist_ok=True)
    deadline = None if a.seconds is None else time.time() + a.seconds
    limits = Limits(a.timeout, a.mem_mb, a.rss_mb)
    todo = list(names)
    lock = threading.Lock()
    results: list[dict[str, Any]] = []

    def run_next() -> None:
        while True:
            with lock:
                if not todo:
                    return
                name = todo.pop(0)
                until = None
                if deadline is not None:  # the time left, shared among the harnesses to run
                    left = len(todo) + 1
                    until = time.time() + (deadline - time.time()) * min(a.jobs, left) / left
            res = campaign(name, a.execs, a.seed, a.out, limits, until)
            line = json.dumps(res)
            with lock:
                print(line, flush=True)
                with (a.out / "summary.jsonl").open("a") as f:
                    f.write(line + "\n")
                results.append(res)

    threads = [threading.Thread(target=run_next) for _ in range(max(1, a.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 1 if any(r["crashes"] or r["hangs"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
