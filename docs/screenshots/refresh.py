"""Refresh the README tour screenshots from the browser test's artefacts.

    .venv/bin/python -m pytest tests/e2e -q      # writes artifacts/e2e/*.png
    .venv/bin/python docs/screenshots/refresh.py # 128-colour PNGs here, each well under 300 KB
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "artifacts" / "e2e"
NAMES = {
    "01-signin": "signin",
    "02-enrol-form": "enrol",
    "03-identities": "identities",
    "04-search": "search",
    "05-verify": "verify",
    "06-audit": "audit",
    "07-models": "models",
    "08-keys": "keys",
    "09-mobile-identities": "mobile",
}
LIMIT = 300 * 1024


def main() -> int:
    missing = [a for a in NAMES if not (SRC / f"{a}.png").exists()]
    if missing:
        print(f"run the e2e test first; missing {', '.join(missing)} in {SRC}", file=sys.stderr)
        return 2
    for a, b in NAMES.items():
        im = Image.open(SRC / f"{a}.png").convert("RGB")
        out = HERE / f"{b}.png"
        im.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(out, optimize=True)
        size = out.stat().st_size
        print(f"{out.name:16} {im.width}x{im.height}  {size // 1024} KB")
        if size > LIMIT:
            print(f"{out.name} is over {LIMIT // 1024} KB", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
