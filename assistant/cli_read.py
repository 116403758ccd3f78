"""Commands of the read side: search, ask, chat, export."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.cli_common import api, hint_for
from assistant.config import ENGINES
from index.errors import NewsAssistantError, WriteError

if TYPE_CHECKING:
    from assistant.api import NewsAssistant


def _filters_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", metavar="DATE", help="leave out articles dated after DATE (default: today)")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="only articles dated on or after DATE")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="only articles dated on or before DATE")
    p.add_argument("--source", action="append", default=[], metavar="OUTLET", help="only this outlet (repeatable)")
    p.add_argument("--files", metavar="GLOB", help="only files matching GLOB")


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("search", parents=[common], help="find passages for a question")
    p.add_argument("question", nargs="?", help="the question (omit with --json -)")
    p.add_argument("--k", type=int, default=10, help="number of hits (default 10)")
    p.add_argument("--json", nargs="?", const="", metavar="-", help="JSON output; `--json -` reads JSON lines from stdin")
    _filters_args(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", parents=[common], help="answer a question with cited quotes")
    p.add_argument("question", nargs="?", help="the question (omit with --json -)")
    p.add_argument("--engine", choices=ENGINES, help="answer engine")
    p.add_argument("--k", type=int, help="passages to answer from (default 5)")
    p.add_argument("--json", nargs="?", const="", metavar="-",
                   help="print the answer, support and sources as JSON; `--json -` reads JSON lines from stdin")
    p.add_argument("--export", metavar="PATH", type=Path, help="also write the answer to PATH (.md or .json)")
    p.add_argument("--force", action="store_true", help="let --export replace an existing file")
    _filters_args(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("timeline", parents=[common], help="the articles on a story in date order, with what was new in each")
    p.add_argument("question", help="a question or topic")
    p.add_argument("--as-of", metavar="DATE", help="leave out articles dated after DATE (default: today)")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="only articles dated on or after DATE")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="only articles dated on or before DATE")
    p.add_argument("--json", action="store_true", help="print the timeline as JSON (schema in the README)")
    p.set_defaults(func=cmd_timeline, source=[], files=None)

    p = sub.add_parser("chat", parents=[common], help="open the terminal chat (the default command)")
    p.add_argument("--engine", choices=ENGINES)
    p.add_argument("--as-of", metavar="DATE")
    p.add_argument("--resume", action="store_true", help="reopen the last conversation")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("export", parents=[common], help="export a saved conversation with its sources")
    p.add_argument("conversation", nargs="?", default="last", help="conversation id or file (default: the last one)")
    p.add_argument("--out", type=Path, help="output file (default: <data dir>/exports/<id>.<format>)")
    p.add_argument("--format", choices=["md", "json"], help="default: from --out's suffix, else md")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.add_argument("--list", action="store_true", help="list saved conversations")
    p.set_defaults(func=cmd_export)


def _filters(args):
    from assistant.retriever import Filters
    from assistant.timecues import parse_as_of

    return Filters(
        date_from=parse_as_of(args.date_from) if args.date_from else None,
        date_to=parse_as_of(args.date_to) if args.date_to else None,
        sources=tuple(args.source), path_glob=args.files,
    )


def _requests(default_as_of: str | None):
    """Scripts and benchmarks: JSON lines {"id", "question", "as_of"} on stdin, one
    answer line out for each (the model loads once). A bad line gets an error line."""
    from assistant.timecues import parse_as_of

    for lineno, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            question = req["question"]
            if not isinstance(question, str) or not question.strip():
                raise ValueError("the question is empty")
            as_of = parse_as_of(req.get("as_of") or default_as_of)
        except (ValueError, KeyError, TypeError, AttributeError, NewsAssistantError) as e:
            print(json.dumps({"id": None, "line": lineno, "error": f"bad request: {e}"}), flush=True)
            continue
        yield req.get("id"), question, as_of


def ready(na: "NewsAssistant") -> "NewsAssistant":
    """`na` with its index opened and its encoder settled, once the command's arguments
    are known to be good: a missing index is reported at once, and the int8 model's
    one-time export (after an install or an upgrade) shows a progress bar on stderr
    instead of a silent pause before the first answer."""
    from assistant.progress import CliProgress

    na.store()
    bar = CliProgress()
    try:
        notice = na.prepare_encoder(bar)
    finally:
        bar.close()  # an export that fails leaves no half-drawn bar before the note
    if notice:
        print(f"note: {notice}", file=sys.stderr)
    return na


def cmd_search(args) -> int:
    from assistant.timecues import parse_as_of

    na = api(args)
    filters = _filters(args)
    if args.json == "-":
        if args.as_of:
            parse_as_of(args.as_of)  # a bad default date is one error now, not one per line
        ready(na)
        for rid, question, as_of in _requests(args.as_of):
            res = na.search(question, k=args.k, as_of=as_of, filters=filters)
            print(json.dumps({"id": rid, "hits": [h.as_json() for h in res.hits]}, ensure_ascii=False), flush=True)
        return 0
    if not args.question:
        raise NewsAssistantError("no question given", hint='Use: assistant search "your question" (or --json - for stdin).')
    as_of = parse_as_of(args.as_of)
    res = ready(na).search(args.question, k=args.k, as_of=as_of, filters=filters)
    if args.json is not None:
        print(json.dumps({"query": args.question, "as_of": res.as_of.isoformat(),
                          "window": res.window.cue if res.window else None,
                          "hits": [h.as_json() for h in res.hits]}, ensure_ascii=False, indent=2))
        return 0
    from assistant.render import print_hits

    print_hits(res)
    return 0


def cmd_ask(args) -> int:
    from assistant.session import ChatSession
    from assistant.timecues import parse_as_of

    na = api(args)
    if args.json == "-":
        filters = _filters(args)
        if args.as_of:
            parse_as_of(args.as_of)  # a bad default date is one error now, not one per line
        ready(na)
        for rid, question, as_of in _requests(args.as_of):
            answer = na.ask(question, engine=args.engine, as_of=as_of, filters=filters, k=args.k)
            print(json.dumps({"id": rid, **answer.as_json()}, ensure_ascii=False), flush=True)
        return 0
    if not args.question:
        raise NewsAssistantError("no question given", hint='Use: assistant ask "your question" (or --json - for stdin).')
    session = ChatSession()
    shown = _DraftPrinter() if args.json is None and sys.stdout.isatty() else None
    as_of, filters = parse_as_of(args.as_of), _filters(args)
    answer = ready(na).ask(args.question, session=session, engine=args.engine, as_of=as_of,
                           filters=filters, k=args.k, on_draft=shown)
    if args.json is not None:
        print(json.dumps(answer.as_json(), ensure_ascii=False, indent=2))
    else:
        from assistant.render import print_answer

        if shown is not None and shown.printed:
            print("\n")
        print_answer(answer, body=shown is None or shown.printed != len(answer.sentences))
    try:  # after the answer is shown: a full disk must not cost the user the answer
        na.save(session)
    except WriteError as e:
        print(f"warning: the conversation was not saved: {e.message}", file=sys.stderr)
        print(hint_for(e) or "", file=sys.stderr)
    if args.export:
        path = na.export(answer, args.export, overwrite=args.force)
        print(f"Exported to {path}", file=sys.stderr)
    return 0


def cmd_timeline(args) -> int:
    from assistant.timecues import parse_as_of

    if not args.question.strip():
        raise NewsAssistantError("no question or topic given", hint='Use: assistant timeline "a question or topic"')
    as_of, filters = parse_as_of(args.as_of), _filters(args)
    timeline = ready(api(args)).timeline(args.question, as_of=as_of, filters=filters)
    if args.json:
        print(json.dumps(timeline.as_json(), ensure_ascii=False, indent=2))
        return 0
    from assistant.render import print_timeline

    print_timeline(timeline)
    return 0


class _DraftPrinter:
    """Shows an answer on a terminal while it is made, sentence by sentence, each
    already checked and in its final numbering: the answer is printed once."""

    def __init__(self) -> None:
        self.printed = 0
        self.waiting = False

    def __call__(self, draft) -> None:
        from assistant.render import count, sentence_rich
        from rich.console import Console

        console = Console(stderr=False)
        if not draft.sentences and not self.printed and not self.waiting:
            self.waiting = True
            print(f"Reading {count(draft.passages, 'passage')}…", file=sys.stderr, flush=True)
            return
        if len(draft.sentences) < self.printed:  # the model failed: its answer is replaced
            console.print("\n[yellow](the model stopped; the extractive answer follows)[/yellow]")
            self.printed = 0
        for s in draft.sentences[self.printed :]:
            console.print(sentence_rich(s), end=" ")
        self.printed = len(draft.sentences)


def cmd_chat(args) -> int:
    from assistant.tui.app import run_chat

    return run_chat(args)


def cmd_export(args) -> int:
    from assistant.session import list_sessions, load_session
    from index import locations

    sessions = list_sessions()
    if args.list:
        for p in sessions:
            s = load_session(p)
            print(f"{s.id}  {len(s.turns)} turn(s)  {s.title}")
        return 0
    if args.conversation == "last":
        if not sessions:
            raise NewsAssistantError("no saved conversation yet", hint='Ask something first: assistant ask "..."')
        path = sessions[-1]
    else:
        path = Path(args.conversation)
        if not path.exists():
            path = locations.conversations_dir() / f"{args.conversation}.json"
        if not path.exists():
            raise NewsAssistantError(f"no conversation {args.conversation!r}", hint="List them with: assistant export --list")
    session = load_session(path)
    fmt = args.format or ("json" if args.out and args.out.suffix.lower() == ".json" else "md")
    out = args.out or locations.exports_dir() / f"{session.id}.{fmt}"
    from assistant.export import export

    written = export(session, out, fmt, overwrite=args.force)  # type: ignore[arg-type]
    print(f"Exported {len(session.turns)} turn(s) to {written}")
    return 0
