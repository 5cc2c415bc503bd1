"""Expected failures: errors a user can fix, reported as one line naming the problem and the fix.

Every error here derives from :class:`MmctrError`. The project's ``kedro run``
(:mod:`mmctr.cli`) finds one anywhere in an exception's chain (Kedro wraps a dataset or
node error in its own), prints its message alone and exits with status 2; ``--traceback``
(or ``MMCTR_TRACEBACK=1``) shows the whole traceback instead. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "DataFileError",
    "MmctrError",
    "ModelFileError",
    "NonFiniteError",
    "ParameterError",
    "PipelineNameError",
    "StaleInputError",
]


class MmctrError(Exception):
    """An expected failure: bad data, bad parameters, a stage to rerun."""


class ParameterError(MmctrError, ValueError):
    """A parameter block is invalid; raised before any node runs."""


class PipelineNameError(MmctrError, KeyError):
    """``--pipelines`` names a pipeline the project does not register."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DataFileError(MmctrError, OSError):
    """A data file is missing, empty, unreadable, or not what this run may read.

    The message has the project's format: the file, what was expected, what was found,
    and what to do.
    """

    def __init__(self, path: str, expected: str, found: str, fix: str) -> None:
        self.path, self.expected, self.found, self.fix = path, expected, found, fix
        super().__init__(f"{path}: expected {expected}, found {found}. {fix}")

    def __reduce__(self) -> tuple:
        return type(self), (self.path, self.expected, self.found, self.fix)


class NonFiniteError(MmctrError, FloatingPointError):
    """Training produced a loss or predictions that are not finite numbers (NaN, ±inf):
    stopped before the model or its best weights are saved."""


class StaleInputError(MmctrError):
    """A stage's inputs come from different runs (a mixed set): a stage must be rerun."""


class ModelFileError(MmctrError, RuntimeError):
    """A saved model does not fit the model this version builds from its configuration:
    it must be retrained."""
