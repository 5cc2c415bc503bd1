"""The closing summary of a run that trains or scores: metrics to 4 decimals and paths.

Example (the end of a default ``kedro run``)::

    Run summary
      valid: AUC 0.7848  logloss 0.4766  gAUC 0.8136  oracle AUC 0.8628 (gap 0.0780)
      test:  AUC 0.7835  logloss 0.4758  gAUC 0.7776  oracle AUC 0.8589 (gap 0.0753)
      model:      data/06_models/model.pt/2026-11-29T08.01.12.345Z/model.pt
      report:     data/08_reporting/metrics.json/2026-11-29T08.01.12.345Z/metrics.json
      submission: data/07_model_output/prediction.zip (prediction.csv beside it)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["OUTBOX", "format_summary", "metric_lines"]

#: set by the project's ``kedro run`` (:mod:`mmctr.cli`): the hook leaves the summary
#: here and the command prints it last, unwrapped; elsewhere the hook logs it
OUTBOX: dict[str, str | None] = {}


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{float(value):.4f}"


def metric_lines(metrics: Mapping[str, Any]) -> list[str]:
    """One line per split of ``evaluation_metrics``: AUC, logloss, gAUC, oracle gap."""
    lines = []
    for split in ("valid", "test"):
        if f"{split}_auc" not in metrics:
            continue
        line = (
            f"{split + ':':6} AUC {_number(metrics.get(f'{split}_auc'))}  "
            f"logloss {_number(metrics.get(f'{split}_logloss'))}  "
            f"gAUC {_number(metrics.get(f'{split}_gauc'))}"
        )
        if metrics.get(f"{split}_oracle_auc") is not None:
            line += (
                f"  oracle AUC {_number(metrics[f'{split}_oracle_auc'])} "
                f"(gap {_number(metrics.get(f'{split}_oracle_auc_gap'))})"
            )
        lines.append(line)
    if metrics.get("has_test_labels") is False:
        lines.append("test:  no labels (real data): see the submission")
    return lines


def format_summary(
    metrics: Mapping[str, Any] | None,
    paths: Mapping[str, str | None],
    warnings: list[str] | tuple[str, ...] = (),
    notes: list[str] | tuple[str, ...] = (),
) -> str:
    """The summary block: metric lines, then ``what: path`` for each known path.

    Args:
        metrics: ``evaluation_metrics`` of this run (or ``None`` if it did not evaluate;
            a training-only run passes ``{"valid_auc": .., "valid_logloss": ..}``).
        paths: e.g. ``{"model": .., "report": .., "submission": ..}``; ``None`` skipped.
        warnings: what the data profile found degenerate in the inputs (one line each).
        notes: lines after the metrics (the tuning command's best trial).
    """
    lines = ["Run summary"]
    lines += [f"  {line}" for line in metric_lines(metrics or {})]
    lines += [f"  {note}" for note in notes]
    width = max((len(k) for k, v in paths.items() if v), default=0) + 1
    lines += [f"  {k + ':':{width}} {v}" for k, v in paths.items() if v]
    lines += [f"  warning: {w} (see the data profile)" for w in warnings]
    return "\n".join(lines)
