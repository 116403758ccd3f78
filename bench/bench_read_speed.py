"""Reading speed of a folder of articles, as the indexer reads it (`scan_corpus`), for
this checkout or another one, to compare readers before and after a change.

    .venv/bin/python bench/bench_read_speed.py FOLDER [--code CHECKOUT] [--runs 3]

`--code` puts another checkout's `index` package first on the path (for example the
commit before a change, unpacked with `git archive COMMIT | tar -x -C /tmp/before`).
Prints the best of `--runs` scans in ms per file (wall and CPU time), and what the
scan kept and skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    warnings.simplefilter("ignore")
    from index.corpus import scan_corpus

    best = best_cpu = float("inf")
    for _ in range(args.runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = scan_corpus(args.folder)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)  # steadier on a shared machine
    n = max(result.files, 1)
    chars = sum(len(a.text) for a in result.articles.values())
    print(f"{args.code}: {result.files} files, {len(result.articles)} articles ({chars:,} characters), "
          f"{len(result.skipped)} skipped, {len(result.warnings)} warnings; "
          f"best of {args.runs}: {best / n * 1000:.1f} ms per file wall, {best_cpu / n * 1000:.1f} ms CPU")
    for skipped in result.skipped:
        print(f"  skipped {skipped.path}: {skipped.reason}")


if __name__ == "__main__":
    main()
