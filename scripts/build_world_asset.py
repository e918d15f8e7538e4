"""Build attrib/report/assets/world-110m.svgpath from world-atlas's land-110m.json.

Source: the npm package ``world-atlas`` (ISC licence, Mike Bostock), itself derived from Natural
Earth (public domain). Reproduce with::

    npm pack world-atlas@2 && tar xzf world-atlas-2.*.tgz
    python scripts/build_world_asset.py package/land-110m.json

The output is one SVG path ``d`` string in an equirectangular projection with the viewBox
``0 0 360 180`` (x = lon + 180, y = 90 - lat), so the report can draw the world offline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "attrib" / "report" / "assets" / "world-110m.svgpath"


def decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def ring(arcs: list[list[tuple[float, float]]], idx: list[int]) -> list[tuple[float, float]]:
    pts: list[tuple[float, float]] = []
    for i in idx:
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        pts.extend(a if not pts else a[1:])
    return pts


def unwrap(pts: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Make longitudes continuous across the antimeridian; return the ring plus shifted copies.

    A ring around a pole (Antarctica) is closed along the pole. The viewBox clips the copies.
    """
    out = [pts[0]]
    for lon, lat in pts[1:]:
        prev = out[-1][0]
        while lon - prev > 180:
            lon -= 360
        while lon - prev < -180:
            lon += 360
        out.append((lon, lat))
    if abs(out[-1][0] - out[0][0]) > 180:  # encircles a pole
        pole = -90.0 if sum(p[1] for p in out) < 0 else 90.0
        out += [(out[-1][0], pole), (out[0][0], pole)]
    lons = [p[0] for p in out]
    rings = [out]
    if min(lons) < -180:
        rings.append([(lon + 360, lat) for lon, lat in out])
    if max(lons) > 180:
        rings.append([(lon - 360, lat) for lon, lat in out])
    return rings


def main(src: str) -> None:
    topo = json.loads(Path(src).read_text())
    arcs = decode_arcs(topo)
    parts = []
    for geom in topo["objects"]["land"]["geometries"]:
        polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        for poly in polys:
            for r in poly:
                for pts in unwrap(ring(arcs, r)):
                    xy = [f"{lon + 180:.1f} {90 - lat:.1f}" for lon, lat in pts]
                    parts.append("M" + "L".join(xy) + "Z")
    OUT.write_text("".join(parts) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
