"""The RealTime QA developer set (`../shared/eval/realtimeqa-dev`, read in place), as
every benchmark reads it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "shared/eval/realtimeqa-dev"


def add_eval_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--eval", type=Path, default=DEFAULT, help="the developer set's folder (default: %(default)s)")


def load_questions(eval_dir: Path) -> list[dict]:
    """The set's questions, a dict per line of questions.jsonl. Exits with status 2 and
    a one-line message when the folder holds no set."""
    path = eval_dir / "questions.jsonl"
    if not path.exists():
        print(f"no evaluation set at {eval_dir}", file=sys.stderr)
        raise SystemExit(2)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
