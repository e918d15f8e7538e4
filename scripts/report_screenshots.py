"""Screenshots of the HTML report on the demo scenario, for docs/ (headless chromium).

    python scripts/report_screenshots.py                 # analyse the demo, then shoot
    python scripts/report_screenshots.py --report out/demo/report.html

Writes docs/report-top.png (the first screen at the default 1400x1800 view), docs/report-full.png
(the whole page) and prints the page height, which tests/report/test_html.py bounds.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1400, 1800


def driver(width: int, height: int):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not binary:
        sys.exit("needs chromium + chromedriver (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for f in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--no-first-run", "--hide-scrollbars",
              f"--window-size={width},{height}"):  # fmt: skip
        opts.add_argument(f)
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)


def _small(path: Path) -> None:
    """Re-save a screenshot with a 256-colour palette (a third of the bytes, same look)."""
    from PIL import Image

    with Image.open(path) as im:
        im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True
        )


def shoot(report: Path, out_dir: Path) -> int:
    drv = driver(WIDTH, HEIGHT)
    try:
        drv.get(report.resolve().as_uri())
        for _ in range(100):
            if drv.execute_script("return document.body.getAttribute('data-ready')") == "1":
                break
            time.sleep(0.1)
        drv.save_screenshot(str(out_dir / "report-top.png"))
        height = int(drv.execute_script("return document.documentElement.scrollHeight"))
        drv.set_window_size(WIDTH, height + 100)
        drv.save_screenshot(str(out_dir / "report-full.png"))
    finally:
        drv.quit()
    for name in ("report-top.png", "report-full.png"):
        _small(out_dir / name)
    return height


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--report", type=Path, help="an existing report.html (default: analyse the demo)"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNGs")
    args = ap.parse_args()
    report = args.report
    if report is None:
        import attrib

        work = Path(tempfile.mkdtemp(prefix="attrib-shots-"))
        demo = ROOT / "data" / "samples" / "demo"
        attrib.analyze(demo, context=demo / "org.toml", out=work / "demo", progress=False)
        report = work / "demo" / "report.html"
    height = shoot(report, args.out)
    print(f"page height {height} px at {WIDTH}x{HEIGHT} ({height / HEIGHT:.1f} screens); "
          f"screenshots in {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
