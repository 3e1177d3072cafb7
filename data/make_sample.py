"""Build the vrag demo sample: a ~50 s synthetic lecture with known content.

Usage::

    python data/make_sample.py [--out data/sample] [--force]

Writes ``vrag_sample.mp4`` (from :func:`tests.support.synth.sample_slides`) and
``vrag_sample.spans.json`` (when each slide is shown and its narration is
spoken) into the output folder, then prints the video path.  Existing
outputs are kept unless ``--force`` is given.  Needs ffmpeg and espeak-ng.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing vrag

from tests.support.synth import SynthError, make_lecture, sample_slides  # noqa: E402

VIDEO_NAME = "vrag_sample.mp4"
SPANS_NAME = "vrag_sample.spans.json"


def build(out_dir: Path, force: bool = False) -> Path:
    """Build the sample into ``out_dir`` unless it is already there; return the video."""
    video, spans_file = out_dir / VIDEO_NAME, out_dir / SPANS_NAME
    if video.exists() and spans_file.exists() and not force:
        return video
    spans = make_lecture(sample_slides(), video)
    spans_file.write_text(json.dumps([asdict(span) for span in spans], indent=2) + "\n",
                          encoding="utf-8")
    return video


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "sample",
                        help="output folder (default: data/sample)")
    parser.add_argument("--force", action="store_true", help="rebuild even if outputs exist")
    args = parser.parse_args(argv)
    try:
        print(build(args.out, force=args.force))
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
