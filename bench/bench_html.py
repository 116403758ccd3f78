"""HTML extraction benchmark: the project's HTML reader before and after, against the
article extractors it was chosen from, on three sets of pages.

    ./dev bench-html [--trafilatura-repo GITDIR] [--aeb-repo GITDIR] [--only NAME,...]

1. `tests/fixtures/web/`: 11 pages written for the tests (EN/DE/FR news CMS layouts and
   3 pages that are not articles), labelled in `labels.json`: sentences that must be
   kept, menu/footer/related/cookie/paywall text that must not, and the metadata.
2. `--trafilatura-repo`: the evaluation pages that trafilatura publishes
   (`tests/cache/*.html` with "with"/"without" checks in `tests/evaldata.json`), read
   from a git directory in place (e.g. the snapshot brought by the search tool's
   `fetch`). trafilatura is developed against these pages: its score there is not
   an independent measurement.
3. `--aeb-repo`: the Article Extraction Benchmark (181 pages, `html/*.html.gz` and
   `ground-truth.json` with the article body), scored as that project scores it:
   precision, recall and F1 over shared 4-word shingles, averaged over pages.

Every extractor gets the same decoded text (`index.readers.html.decode_html`, what the
indexer uses). "news-assistant" is the whole reader (extraction, then the project's
boilerplate rules, dropping non-article pages: a skipped page scores as empty text);
"hand-written (before)" is the reader the project had until now. Times are wall time
per page on this machine, one process, pages read from memory. Nothing is written.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.errors import ArticleReadError  # noqa: E402
from index.readers.html import decode_html, read_html  # noqa: E402
from index.readers.html_simple import parse_html_simple  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "web"
Extractor = Callable[[str], str]


@dataclass
class Page:
    name: str
    html: str
    with_: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)
    truth: str | None = None  # the whole article body, for the shingle score
    meta: dict[str, str] | None = None
    skip: bool = False  # labelled "not an article"


# -- the extractors ------------------------------------------------------------------


def ours(html: str) -> str:
    try:
        return read_html(html, "page.html").articles[0].text
    except ArticleReadError:
        return ""


def before(html: str) -> str:
    try:
        return parse_html_simple(html, "page.html").text
    except ArticleReadError:
        return ""


def trafilatura_default(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=False) or ""


def readability(html: str) -> str:
    import lxml.html
    from readability import Document

    summary = Document(html).summary(html_partial=True)
    tree = lxml.html.fromstring(summary)
    return "\n".join(t.strip() for t in tree.itertext() if t.strip())


def justext_(html: str) -> str:
    import justext

    lang = re.search(r"<html[^>]*\blang=[\"']?([a-z]{2})", html[:2000], re.IGNORECASE)
    stoplist = {"de": "German", "fr": "French"}.get(lang.group(1).lower() if lang else "", "English")
    paragraphs = justext.justext(html.encode("utf-8"), justext.get_stoplist(stoplist), encoding="utf-8")
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def newspaper4k(html: str) -> str:
    import newspaper

    article = newspaper.Article("https://example.invalid/page")  # never fetched
    article.download(input_html=html)
    article.parse()
    return article.text or ""


EXTRACTORS: dict[str, Extractor] = {
    "hand-written (before)": before,
    "news-assistant (after)": ours,
    "trafilatura 2.3 defaults": trafilatura_default,
    "readability-lxml": readability,
    "jusText": justext_,
    "newspaper4k": newspaper4k,
}


# -- the page sets ---------------------------------------------------------------------


def fixture_pages() -> list[Page]:
    labels = json.loads((FIXTURES / "labels.json").read_text(encoding="utf-8"))
    pages = []
    for name, label in labels.items():
        if name.startswith("_"):
            continue
        html = decode_html((FIXTURES / name).read_bytes(), name)
        if "skip" in label:
            pages.append(Page(name, html, skip=True))
        else:
            meta = {k: label[k] for k in ("title", "date", "source", "author", "url")}
            pages.append(Page(name, html, label["with"], label["without"], meta=meta))
    return pages


def _git_show(gitdir: str, path: str) -> bytes:
    return subprocess.run(["git", "--git-dir", gitdir, "show", f"HEAD:{path}"],
                          capture_output=True, check=True).stdout


def _git_files(gitdir: str, folder: str) -> set[str]:
    out = subprocess.run(["git", "--git-dir", gitdir, "ls-tree", "-r", "--name-only", "HEAD", folder],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split("\n")) - {""}


def trafilatura_pages(gitdir: str) -> list[Page]:
    evaldata = json.loads(_git_show(gitdir, "tests/evaldata.json"))
    present = _git_files(gitdir, "tests/cache/")
    pages = []
    for item in evaldata.values():
        path = f"tests/cache/{item['file']}"
        if path not in present:
            continue
        try:
            html = decode_html(_git_show(gitdir, path), item["file"])
        except ArticleReadError:
            continue
        pages.append(Page(item["file"], html, item.get("with", []), item.get("without", [])))
    return pages


def aeb_pages(gitdir: str) -> list[Page]:
    truth = json.loads(_git_show(gitdir, "ground-truth.json"))
    pages = []
    for key, item in sorted(truth.items()):
        data = gzip.decompress(_git_show(gitdir, f"html/{key}.html.gz"))
        try:
            html = decode_html(data, key)
        except ArticleReadError:
            html = data.decode("utf-8", "replace")
        pages.append(Page(key, html, truth=item.get("articleBody", "")))
    return pages


# -- scoring ---------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Score:
    with_kept: int = 0
    with_total: int = 0
    without_dropped: int = 0
    without_total: int = 0
    tp_fp_fn: list[tuple[float, float, float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    skipped_right: int = 0
    skipped_total: int = 0

    def checks(self) -> str:
        if not self.with_total + self.without_total:
            return ""
        held = (self.with_kept + self.without_dropped) / (self.with_total + self.without_total)
        return (f"kept {self.with_kept / self.with_total:.1%} | dropped {self.without_dropped / self.without_total:.1%}"
                f" | checks held {held:.1%}")

    def shingles(self) -> str:
        if not self.tp_fp_fn:
            return ""
        p = statistics.mean(_precision(*t) for t in self.tp_fp_fn if t[0] + t[1] > 0)
        r = statistics.mean(_recall(*t) for t in self.tp_fp_fn if t[0] + t[2] > 0)
        return f"P {p:.3f} | R {r:.3f} | F1 {2 * p * r / (p + r):.3f}"


_TOKEN = re.compile(r"\w+")


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])


def shingle_match(true: str, pred: str) -> tuple[float, float, float]:
    """The Article Extraction Benchmark's measure, normalised per page."""
    t, p = _shingles(true), _shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))


def _recall(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))


def run(pages: list[Page], extract: Extractor) -> Score:
    score = Score()
    for page in pages:
        started = time.perf_counter()
        try:
            text = extract(page.html)
        except Exception:  # noqa: BLE001 - a library failing on a page is part of the result
            text, score.errors = "", score.errors + 1
        score.seconds.append(time.perf_counter() - started)
        flat = _norm(text)
        if page.skip:
            score.skipped_total += 1
            score.skipped_right += not flat
            continue
        score.with_total += len(page.with_)
        score.with_kept += sum(_norm(s) in flat for s in page.with_)
        score.without_total += len(page.without)
        score.without_dropped += sum(_norm(s) not in flat for s in page.without)
        if page.truth is not None:
            score.tp_fp_fn.append(shingle_match(page.truth, text))
    return score


def metadata_score(pages: list[Page]) -> str:
    """Fields right out of all labelled fields, for the project's reader."""
    right = total = 0
    wrong = []
    for page in pages:
        if page.meta is None:
            continue
        try:
            article = read_html(page.html, page.name).articles[0]
        except ArticleReadError:
            total += len(page.meta)
            continue
        for key, expected in page.meta.items():
            total += 1
            if getattr(article, key) == expected:
                right += 1
            else:
                wrong.append(f"{page.name} {key}")
    return f"{right}/{total} metadata fields right" + (f" (wrong: {', '.join(wrong)})" if wrong else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trafilatura-repo", help="git dir of trafilatura's repository")
    parser.add_argument("--aeb-repo", help="git dir of the Article Extraction Benchmark repository")
    parser.add_argument("--only", help="comma-separated extractor names (substrings)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    sets = [("own test pages", fixture_pages())]
    if args.trafilatura_repo:
        sets.append(("trafilatura eval pages", trafilatura_pages(args.trafilatura_repo)))
    if args.aeb_repo:
        sets.append(("Article Extraction Benchmark", aeb_pages(args.aeb_repo)))
    chosen = {k: v for k, v in EXTRACTORS.items()
              if not args.only or any(o.strip().lower() in k.lower() for o in args.only.split(","))}

    for set_name, pages in sets:
        n_checks = sum(len(p.with_) + len(p.without) for p in pages)
        print(f"\n## {set_name}: {len(pages)} pages" + (f", {n_checks} checks" if n_checks else ""))
        for name, extract in chosen.items():
            try:
                score = run(pages, extract)
            except ImportError as e:
                print(f"{name:26} not installed ({e.name}); pip install -e '.[bench-html]'")
                continue
            ms = [s * 1000 for s in score.seconds]
            parts = [score.checks(), score.shingles()]
            if score.skipped_total:
                parts.append(f"non-articles skipped {score.skipped_right}/{score.skipped_total}")
            parts.append(f"ms/page median {statistics.median(ms):.1f} mean {statistics.mean(ms):.1f} "
                         f"max {max(ms):.0f}")
            if score.errors:
                parts.append(f"{score.errors} pages raised")
            print(f"{name:26} " + " | ".join(p for p in parts if p))
        if set_name == "own test pages":
            print(f"{'':26} news-assistant: {metadata_score(pages)}")


if __name__ == "__main__":
    main()
