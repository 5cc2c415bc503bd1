"""The project's ``kedro run``: Kedro's own, with short messages for expected failures.

An expected failure (bad data, bad parameters, an unknown pipeline, a stage to rerun: any
:class:`mmctr.errors.MmctrError`, wherever it sits in the exception chain Kedro builds)
prints one line, ``Error: <what is wrong and what to do>``, and exits with status 2.
The full traceback is kept: ``kedro run --traceback`` (or ``MMCTR_TRACEBACK=1``) shows it
instead, and it is always logged at DEBUG level (logger ``mmctr.cli``). Any other error
is a bug and keeps Kedro's traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback as tb
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import CONTEXT_SETTINGS

from mmctr.errors import MmctrError
from mmctr.summary import OUTBOX

__all__ = ["cli", "expected_error", "run"]

logger = logging.getLogger(__name__)
EXIT_EXPECTED = 2


def expected_error(exc: BaseException) -> MmctrError | None:
    """The first :class:`MmctrError` in ``exc``'s chain (causes and contexts), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, MmctrError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _run(traceback: bool = False, **kwargs: Any) -> Any:
    show_traceback = traceback or os.environ.get("MMCTR_TRACEBACK", "") not in ("", "0")
    OUTBOX["summary"] = None
    try:
        result = kedro_run.callback(**kwargs)
        if OUTBOX.get("summary"):
            click.echo(OUTBOX["summary"])
        return result
    except Exception as exc:  # expected errors become one line
        error = expected_error(exc)
        if error is None or show_traceback:
            raise
        logger.debug("".join(tb.format_exception(exc)))
        click.secho(f"Error: {error}", fg="red", err=True)
        click.echo(
            "(full traceback: kedro run --traceback ... or MMCTR_TRACEBACK=1)", err=True
        )
        sys.exit(EXIT_EXPECTED)
    finally:
        OUTBOX.pop("summary", None)


@click.group(context_settings=CONTEXT_SETTINGS, name=__file__)
def cli() -> None:
    """Command line tools for mmctr."""


run = click.Command(
    name="run",
    context_settings=CONTEXT_SETTINGS,
    callback=_run,
    params=[
        *kedro_run.params,
        click.Option(
            ["--traceback"],
            is_flag=True,
            default=False,
            help="On an expected error (bad data or parameters), show the full "
            "traceback instead of the one-line message (or set MMCTR_TRACEBACK=1).",
        ),
    ],
    help=kedro_run.help,
)
cli.add_command(run)
