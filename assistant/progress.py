"""Progress bars for the command line (tqdm on stderr), fed by the builder's callback."""

from __future__ import annotations

import sys

_LABELS = {"reading": "Reading articles", "embedding": "Embedding chunks", "writing": "Writing index"}


class CliProgress:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bars: dict = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None:
            # A terminal redraws one line; a log (CI, a pipe) gets a new line per redraw,
            # so it gets one every few seconds rather than one per batch.
            bar = self._bars[stage] = tqdm(
                total=total, desc=_LABELS.get(stage, stage), file=sys.stderr, leave=True,
                mininterval=0.2 if sys.stderr.isatty() else 5.0, dynamic_ncols=True,
            )
        bar.total = total
        bar.update(done - bar.n)  # redraws at most every `mininterval`
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
