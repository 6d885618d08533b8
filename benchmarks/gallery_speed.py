"""How fast a gallery built by `physcheck gallery` opens in headless chromium, and how big it is.

    python benchmarks/gallery_speed.py GALLERY_DIR [GALLERY_DIR ...] [--address '#generator=static&page=3']
                                       [--repeats 7]

Loads each GALLERY_DIR/index.html (plus the address, e.g. a filter) `--repeats` times, the galleries in turn
(real time, no virtual time budget), and prints per gallery the median of what the page's script records
on <body>: data-render-ms (the entries asked for are in the DOM; with a filter or a page in the address,
after entries.js is read), data-load-ms (the load event) and data-first-paint-ms (first contentful paint,
when chromium reports it), all from navigation start; the wall time of the chromium process against an
empty page (start-up cost); and the sizes of index.html, first.js, entries.js and the whole folder.
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1250,1800"]


def dump(chromium: str, url: str) -> tuple[dict[str, str], float]:
    """The <body> data attributes after load, and the chromium process's wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run([chromium, *CHROMIUM_FLAGS, "--dump-dom", url], capture_output=True, text=True,
                            timeout=120, check=True)
    elapsed = time.perf_counter() - start
    body = re.search(r"<body([^>]*)>", result.stdout)
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', body.group(1) if body else "")), elapsed


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("galleries", type=Path, nargs="+", help="folders written by `physcheck gallery`")
    parser.add_argument("--address", default="", help="appended to the page's URL, e.g. '#generator=static&page=3'")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as scratch:
        empty = Path(scratch) / "empty.html"
        empty.write_text("<!DOCTYPE html><html><body>empty</body></html>")
        baseline = statistics.median(dump(chromium, empty.as_uri())[1] for _ in range(args.repeats))
    pages = [folder.resolve() / "index.html" for folder in args.galleries]
    records: dict[Path, list[dict[str, str]]] = {page: [] for page in pages}
    walls: dict[Path, list[float]] = {page: [] for page in pages}
    for _ in range(args.repeats):
        for page in pages:  # in turn, so that the machine's load hits every gallery alike
            data, wall = dump(chromium, page.as_uri() + args.address)
            records[page].append(data)
            walls[page].append(wall)
    print(f"chromium wall time for an empty page: median {baseline:.2f} s (start-up)")
    for page in pages:
        first = records[page][0]
        print(f"{page}{args.address}: {first.get('matching')} entries match, page {first.get('page')} of "
              f"{first.get('pages')}, {first.get('shown')} shown; {first.get('all-entries')} entries in entries.js")
        for key in ("render-ms", "first-paint-ms", "load-ms"):
            values = [float(record[key]) for record in records[page] if key in record]
            if values:
                print(f"  {key}: median {statistics.median(values):.0f} ms (min {min(values):.0f}, "
                      f"max {max(values):.0f}, {len(values)} loads)")
        print(f"  chromium wall time: median {statistics.median(walls[page]):.2f} s")
        print(f"  index.html {page.stat().st_size / 1024:.0f} KiB, first.js "
              f"{(page.parent / 'first.js').stat().st_size / 1024:.0f} KiB, entries.js "
              f"{(page.parent / 'entries.js').stat().st_size / 2**20:.2f} MiB, folder "
              f"{folder_size(page.parent) / 2**20:.0f} MiB ({sum(1 for path in page.parent.rglob('*') if path.is_file())} files)")


if __name__ == "__main__":
    main()
