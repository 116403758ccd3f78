"""False alarms of the prompt-injection detector on real news.

    ./dev python bench/bench_injection.py [--eval DIR]

Reads every article of the RealTime QA dev set (787 real news articles) exactly as the
indexer does (`index.read_article`), runs the detector over its text, title and file
name as the builder does, and lists every flagged article with the flagged text and the
reason. The aim is at most 0.5% of articles with anything flagged. Also times the
detector (CPU seconds over the whole set). Writes bench/results/injection.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.corpus import scan_corpus  # noqa: E402
from index.injection import flags_of_article  # noqa: E402

DEFAULT_EVAL = ROOT.parent / "shared" / "eval" / "realtimeqa-dev"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    args = parser.parse_args()
    folder = args.eval / "articles"
    if not folder.is_dir():
        print(f"no articles at {folder}", file=sys.stderr)
        return 1
    scan = scan_corpus(folder)
    started = time.process_time()
    flagged = {}
    for article in scan.articles.values():
        flags = flags_of_article(article)
        if flags:
            flagged[article.id] = [{"field": f.field, "reason": f.reason, "text": f.text} for f in flags]
    seconds = time.process_time() - started
    n = len(scan.articles)
    share = len(flagged) / n if n else 0.0
    print(f"{len(flagged)} of {n} articles flagged ({share:.2%}; aim <= 0.5%); detector {seconds:.2f} CPU s "
          f"({1000 * seconds / max(n, 1):.2f} ms per article)")
    for article_id, flags in sorted(flagged.items()):
        for f in flags:
            print(f"- {article_id} [{f['field']}] {f['reason']}: {f['text'][:300]!r}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "injection.json").write_text(json.dumps(
        {"articles": n, "flagged": len(flagged), "share": share, "cpu_seconds": seconds, "flags": flagged}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
