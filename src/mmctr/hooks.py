"""Project hooks: checks before any node runs, fingerprints, the closing summary, DDP.

Before the pipeline runs (:meth:`ProjectHooks.before_pipeline_run`, first of every
hook, so before the tracking hook opens an MLflow run), in order:

1. every parameter block the pipeline reads is validated (:mod:`mmctr.parameters`);
2. no output may be a read-only dataset (the real download);
3. temporary files of an interrupted save (``.*.tmp-<pid>``, their process gone) are
   removed: the only change a refused command may make;
4. every input the pipeline does not produce itself must exist (a missing one is
   reported with the stage that writes it), and real data must not be synthetic;
5. the whole input set must be consistent (:class:`mmctr.lineage.Lineage`).

Around every node, :class:`mmctr.lineage.Lineage` refuses a mixed set of inputs and
stamps each saved file with its fingerprint. After a run that trains or scores, the
metrics (4 decimals) and the paths of the model, the report and the submission are
logged.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.io.core import get_filepath_str

from mmctr.datasets.atomic import remove_stale_temporaries, shown_path
from mmctr.errors import DataFileError
from mmctr.lineage import Lineage, dataset_path
from mmctr.parameters import blocks_read_by, validate_parameters
from mmctr.summary import OUTBOX, format_summary

__all__ = ["ProjectHooks"]

logger = logging.getLogger(__name__)

#: outputs that make a run one that "trains or scores" (it ends with a summary)
SUMMARY_OUTPUTS = ("model", "evaluation_metrics", "prediction_zip", "ablation_table",
                   "tuning_best")


def _rank() -> int:
    """This process's rank under torchrun (0 when not distributed)."""
    return int(os.environ.get("RANK", "0"))


@cache
def _stage_outputs() -> dict[str, str]:
    """Dataset name -> the stage pipeline that writes it (every stage, not only the
    ones Kedro loaded for this run)."""
    from mmctr.pipeline_registry import DEFAULT_CHAIN, all_stages

    stages = all_stages()
    writers: dict[str, str] = {}
    for stage in [*DEFAULT_CHAIN, *sorted(set(stages) - set(DEFAULT_CHAIN))]:
        if stage in stages:
            for output in stages[stage].all_outputs():
                writers.setdefault(output, stage)
    return writers


def _stage_of(name: str) -> str | None:
    try:
        return _stage_outputs().get(name)
    except Exception:  # noqa: BLE001 - outside a configured project
        return None


def _get(catalog: Any, name: str) -> Any:
    try:
        return catalog.get(name)
    except Exception:  # noqa: BLE001
        return None


class ProjectHooks:
    """Keep runs offline; check before running; fingerprint outputs; summarise.

    ``torchrun --nproc_per_node=N -m kedro run --pipelines training`` starts N
    copies of the run; each trains on its shard (see ``mmctr.engine.distributed``).
    Ranks other than 0 read the catalog as usual but every save becomes a no-op,
    so the model, metrics and reports are written once, by rank 0.
    """

    def __init__(self) -> None:
        self._lineage: Lineage | None = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("DO_NOT_TRACK", "true")

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        if _rank() == 0:
            return
        logging.getLogger("mmctr").setLevel(logging.WARNING)
        for name in catalog.keys():
            dataset = catalog.get(name)
            if dataset is not None:
                dataset.save = _skip_save(name)

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        """Every check before anything is written.

        ``tryfirst``: this runs before every other hook's ``before_pipeline_run`` (the
        tracking hook opens its MLflow run there), so a refused command leaves no run,
        no artifact and no file behind (only the debris of a killed save is removed).
        """
        params = catalog.load("parameters") if "parameters" in catalog.keys() else {}
        blocks = blocks_read_by(pipeline.inputs())
        checked = validate_parameters(params, blocks)
        logger.debug("parameter blocks checked: %s", checked)
        _check_writable_outputs(pipeline, catalog)
        if _rank() == 0:  # debris of a dead process only: never a file another run uses
            _remove_temporaries(catalog, params)
        _check_free_inputs(pipeline, catalog)
        from mmctr.pipeline_registry import DEFAULT_CHAIN

        lineage = Lineage(catalog, _stage_of, write=_rank() == 0, stage_order=DEFAULT_CHAIN)
        lineage.check(sorted(pipeline.inputs()))  # the stage's whole input set
        self._lineage = lineage

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any]) -> None:
        if self._lineage is not None:
            self._lineage.check_inputs(node, inputs)

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        if self._lineage is not None:
            self._lineage.before_save(dataset_name, node)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        if self._lineage is not None:
            self._lineage.after_save(dataset_name, node)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._lineage = None
        outputs = pipeline.all_outputs()
        if _rank() != 0 or not any(name in outputs for name in SUMMARY_OUTPUTS):
            return
        text = _summary(outputs, catalog)
        if "summary" in OUTBOX:  # the project's `kedro run` prints it last
            OUTBOX["summary"] = text
            logger.debug(text)
        else:
            logger.info(text)


def _skip_save(name: str):
    def save(data: Any) -> None:
        logger.debug("rank %d: not writing '%s' (rank 0 writes)", _rank(), name)

    return save


def _remove_temporaries(catalog: Any, params: dict[str, Any]) -> None:
    """Remove ``.*.tmp-<pid>`` debris of killed runs beside every writable dataset."""
    folders = set()
    for name in catalog.keys():
        dataset = _get(catalog, name)
        path = dataset_path(dataset) if dataset is not None else None
        if path is None or getattr(dataset, "_read_only", False):
            continue
        folders.add(path.parent)
        if path.is_dir():  # versioned: one folder per version
            folders.add(path)
    checkpoints = (params.get("training") or {}).get("checkpoint_dir")
    if checkpoints:
        folders.add(Path(checkpoints))
    removed = remove_stale_temporaries(sorted(folders))
    if removed:
        logger.warning(
            "removed %d temporary file(s) left by an interrupted run: %s",
            len(removed), ", ".join(str(p) for p in removed[:5]),
        )


def _check_writable_outputs(pipeline: Any, catalog: Any) -> None:
    """Refuse, before anything runs, a pipeline that would write a read-only dataset."""
    for name in sorted(pipeline.all_outputs()):
        dataset = _get(catalog, name)
        if dataset is not None and getattr(dataset, "_read_only", False):
            path = dataset_path(dataset)
            raise DataFileError(
                shown_path(path) if path is not None else name,
                f"a file this run may write ({name} is an output of this run)",
                "a read-only input of this environment (the real download)",
                "This environment never generates over real data: run that pipeline "
                "without --env microlens (synthetic data goes to data/01_raw/synthetic/); "
                "nothing was written",
            )


def _is_missing(name: str, dataset: Any, catalog: Any) -> bool:
    """Whether the input ``name`` (a required file) is absent; raises at once for a
    file that is there but unusable (synthetic as real, a symlink loop, a directory,
    no read permission) and for a missing real-data file (where the files go)."""
    if getattr(dataset, "_optional", False):
        return False
    if hasattr(dataset, "_refuse_synthetic"):
        dataset._refuse_synthetic()
    if hasattr(dataset, "_check_path"):
        dataset._check_path()
    if dataset_path(dataset) is None or catalog.exists(name):
        return False
    if getattr(dataset, "_real_data", False):
        dataset.load()  # raises the real-data message (where the files go)
    return True


def _check_free_inputs(pipeline: Any, catalog: Any) -> None:
    """Every input the pipeline does not produce must be there before anything runs.

    Raises:
        DataFileError: for the first missing input of the earliest stage, naming every
            stage to run first; the real-data message when a real raw file is missing.
    """
    from mmctr.pipeline_registry import DEFAULT_CHAIN

    missing = []
    for name in sorted(pipeline.inputs()):
        if name.startswith("params:") or name == "parameters":
            continue
        dataset = _get(catalog, name)
        if dataset is not None and _is_missing(name, dataset, catalog):
            missing.append((name, dataset_path(dataset), _stage_of(name)))
    if not missing:
        return

    def order(stage: str | None) -> int:
        return DEFAULT_CHAIN.index(stage) if stage in DEFAULT_CHAIN else len(DEFAULT_CHAIN)

    missing.sort(key=lambda item: order(item[2]))
    name, path, stage = missing[0]
    stages = sorted({s for _, _, s in missing if s}, key=order)
    fix = (
        f"Run `kedro run --pipelines {','.join(stages)}` first "
        "(or `kedro run` for the whole chain)"
        if stages else "Put the file there, or run the stage that writes it"
    )
    raise DataFileError(shown_path(path), f"{name}, an input of this run", "no such file", fix)


def _load_path(catalog: Any, name: str) -> str | None:
    dataset = _get(catalog, name)
    if dataset is None:
        return None
    try:
        return get_filepath_str(dataset._get_load_path(), dataset._protocol)
    except Exception:  # noqa: BLE001 - no version yet, not a file dataset
        path = dataset_path(dataset)
        return str(path) if path is not None and path.exists() else None


def _relative(path: str | None) -> str | None:
    return None if path is None else shown_path(path)


def _metrics(outputs: set[str], catalog: Any) -> dict[str, Any] | None:
    """This run's evaluation metrics, or the best epoch's of a training-only run."""
    if "evaluation_metrics" in outputs:
        return catalog.load("evaluation_metrics")
    if "training_history" in outputs:
        history = catalog.load("training_history")
        if isinstance(history, pd.DataFrame) and len(history) and "valid_auc" in history:
            best = history.loc[history["valid_auc"].idxmax()]
            return {k: best.get(k) for k in ("valid_auc", "valid_logloss", "valid_gauc")}
    return None


def _tuning_notes(outputs: set[str], catalog: Any) -> tuple[list[str], dict[str, str | None]]:
    """The tuning command's closing lines (best trial, trials by state) and paths."""
    if "tuning_best" not in outputs:
        return [], {}
    best = catalog.load("tuning_best")
    trials = ", ".join(f"{n} {state.lower()}" for state, n in sorted(best["trials"].items()))
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in best["params"].items())
    notes = [f"tuning: best trial {best['best_trial']}, valid AUC {best['valid_auc']:.4f} "
             f"(under the search budget); trials: {trials}",
             f"best:   {params}",
             f"next:   kedro run --params training.preset={best['preset']}"]
    paths = {"tuned preset": _relative(_load_path(catalog, "tuned_parameters")),
             "trials": _relative(_load_path(catalog, "tuning_trials"))}
    return notes, paths


def _summary(outputs: set[str], catalog: Any) -> str:
    """The closing summary of this run (see :mod:`mmctr.summary`)."""
    metrics = _metrics(outputs, catalog)
    notes, tuning_paths = _tuning_notes(outputs, catalog)
    paths = dict(tuning_paths)
    if "model" in outputs or "evaluation_metrics" in outputs or "prediction_zip" in outputs:
        paths["model"] = _relative(_load_path(catalog, "model"))
    if "evaluation_metrics" in outputs:
        paths["report"] = _relative(_load_path(catalog, "evaluation_metrics"))
        paths["plots"] = _relative(str(Path(_load_path(catalog, "roc_plot") or ".").parent))
    if "prediction_zip" in outputs:
        paths["submission"] = _relative(_load_path(catalog, "prediction_zip"))
    if "ablation_table" in outputs:
        paths["ablation"] = _relative(_load_path(catalog, "ablation_table_md"))
    text = format_summary(metrics, paths, _profile_warnings(catalog), notes)
    if "collaborative_report" in outputs:  # no collaborative signal: say the run fell back
        fallback = (catalog.load("collaborative_report") or {}).get("fallback")
        text += f"\n  warning: {fallback}" if fallback else ""
    return text


def _profile_warnings(catalog: Any) -> list[str]:
    """The data profile's warnings about degenerate inputs (none without a profile)."""
    try:
        if "data_profile" not in catalog.keys() or not catalog.exists("data_profile"):
            return []
        return [str(w) for w in catalog.load("data_profile").get("warnings", [])]
    except Exception:  # noqa: BLE001 - a summary never fails a finished run
        return []

