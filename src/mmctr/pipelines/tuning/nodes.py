"""Tuning: an Optuna study over ``params:training``, resumable, pruned on valid AUC.

Each trial trains the base preset with the sampled keys (``learning_rate``,
``model.embedding_dim`` ...) on a short fixed budget (``tuning.budget``); its valid
AUC after every epoch feeds a median pruner. The study lives in SQLite
(``tuning.storage``): the same command run again continues it, and counts the
trials already finished towards ``tuning.n_trials``. The best parameters become the
training preset ``tuning.preset_name`` (``kedro run --params training.preset=tuned``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import optuna
import pandas as pd
from matplotlib.figure import Figure
from optuna.trial import TrialState

from mmctr import tracking
from mmctr.config import deep_merge
from mmctr.engine.batching import merge_rows
from mmctr.engine.fit import fit, model_vocab
from mmctr.models import build_model
from mmctr.pipelines.tuning.config import (
    TuningConfig,
    nested_overrides,
    trial_config,
    tuning_config,
)

logger = logging.getLogger(__name__)

__all__ = ["best_parameters", "importance_plot", "history_plot", "tune_study"]

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _check_space(cfg: TuningConfig, training: Mapping[str, Any], vocab: Mapping[str, int]) -> None:
    """Fail before the first trial on a key no preset can carry or the model rejects."""
    top = [k for k in cfg.space if "." not in k and k in training]
    if top:
        raise ValueError(
            f"params:tuning.space: {top} set at the top level of params:training, where "
            "they override every preset (so a tuned preset could not carry them); move "
            "them into the presets to tune them")
    first = {key: dist.first() for key, dist in cfg.space.items()}
    name, model_params, _ = trial_config(training, first, cfg.budget)
    build_model(name, model_params, vocab)  # unknown model keys raise here


def _open_study(cfg: TuningConfig) -> optuna.Study:
    if "://" not in cfg.storage:
        Path(cfg.storage).parent.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(
        cfg.storage_url(), engine_kwargs={"connect_args": {"timeout": 60}})
    study = optuna.create_study(
        study_name=cfg.study_name, storage=storage, direction="maximize", load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=cfg.startup_trials,
                                           n_warmup_steps=cfg.warmup_epochs))
    # a command killed mid-trial (kill -9) leaves that trial RUNNING: one command
    # drives a study at a time, so such a trial is dead; mark it failed
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        logger.warning("tuning: trial %d was left running by an interrupted command: "
                       "marked failed", trial.number)
    # seeded, and offset by the trials already drawn so a resumed search does not
    # repeat the first command's random start-up points
    study.sampler = optuna.samplers.TPESampler(
        seed=cfg.seed + len(study.trials), n_startup_trials=cfg.startup_trials)
    return study


def tune_study(
    train_features: dict[str, np.ndarray],
    train_similarity: dict[str, np.ndarray],
    valid_features: dict[str, np.ndarray],
    valid_similarity: dict[str, np.ndarray],
    item_features: dict[str, np.ndarray],
    item_semantics: dict[str, np.ndarray],
    vocab: dict[str, int],
    training: dict[str, Any],
    params: dict[str, Any],
) -> tuple[optuna.Study, pd.DataFrame]:
    """Run (or continue) the study until ``n_trials`` trials have finished or the
    wall-clock budget is spent.

    Args:
        train_features .. vocab: as for the training node.
        training: the ``training`` parameter block (its preset is the base of every trial).
        params: the ``tuning`` parameter block.

    Returns:
        The study, and one row per trial (number, state, valid AUC, parameters, seconds).
    """
    cfg = tuning_config(params)
    full_vocab = model_vocab(vocab, item_semantics, train_similarity, item_features)
    _check_space(cfg, training, full_vocab)
    sources = {"item_features": item_features, "item_semantics": item_semantics}
    train_rows = merge_rows(train_features, train_similarity)
    valid_rows = merge_rows(valid_features, valid_similarity)
    study = _open_study(cfg)
    finished = len(study.get_trials(deepcopy=False, states=_FINISHED))
    remaining = cfg.n_trials - finished
    logger.info("tuning: study '%s' in %s: %d trial(s) finished, %d to run (budget %s s)",
                cfg.study_name, cfg.storage, finished, max(remaining, 0), cfg.timeout_s)

    def objective(trial: optuna.Trial) -> float:
        sampled = {key: dist.suggest(trial, key) for key, dist in cfg.space.items()}
        name, model_params, tcfg = trial_config(training, sampled, cfg.budget)
        recorded = tracking.recorded_training(name, model_params, dataclasses.asdict(tcfg))
        logged = {k if "." in k else f"train.{k}": v for k, v in sampled.items()}
        with tracking.child_run(f"trial-{trial.number:03d}", {**logged, "optuna.trial": trial.number},
                                {"training": recorded}) as run:
            run.set_tags({"optuna.study": cfg.study_name, "optuna.trial": str(trial.number)})

            def on_epoch_end(row: dict[str, float]) -> bool:
                run.log_metrics({k: row[k] for k in ("valid_auc", "valid_logloss", "train_loss")},
                                step=int(row["epoch"]))
                trial.report(row["valid_auc"], step=int(row["epoch"]))
                if trial.should_prune():
                    raise optuna.TrialPruned(f"epoch {row['epoch']}: valid AUC {row['valid_auc']:.4f}")
                return False

            try:
                artifact = fit(name, model_params, tcfg, train_rows, valid_rows, sources,
                               full_vocab, on_epoch_end=on_epoch_end)
            except optuna.TrialPruned:
                run.set_tags({"optuna.state": "PRUNED"})
                run.end("KILLED")
                logger.info("tuning: trial %d pruned", trial.number)
                raise
            value = float(artifact["best_metric"]["valid_auc"])
            run.log_metrics({"best_valid_auc": value, "best_epoch": artifact["best_epoch"],
                             "train_seconds": artifact["train_seconds"],
                             "trainable_parameters": artifact["trainable_parameters"]})
            run.set_tags({"optuna.state": "COMPLETE"})
        logger.info("tuning: trial %d: valid AUC %.4f with %s", trial.number, value, sampled)
        return value

    if remaining > 0:
        start = time.perf_counter()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own lines say it
        study.optimize(objective, n_trials=remaining, timeout=cfg.timeout_s, gc_after_trial=True)
        logger.info("tuning: %.0f s for this command", time.perf_counter() - start)
    return study, trials_table(study)


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value (best valid AUC), parameters, seconds."""
    table = study.trials_dataframe(attrs=("number", "state", "value", "params", "duration"))
    if "duration" in table:
        table["seconds"] = table.pop("duration").dt.total_seconds()
    return table.rename(columns={"value": "valid_auc"})


def best_parameters(
    study: optuna.Study, training: dict[str, Any], params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The best trial as a training preset, and a summary of the study.

    The preset is the base preset (``training.preset``) with the best trial's keys set;
    its epochs, patience etc. stay the base preset's (the search budget is not kept).

    Returns:
        ``{"training": {"presets": {<preset_name>: preset}}}`` (a parameters file), and
        ``{"study", "best_trial", "valid_auc", "params", "preset", "trials": {state: n}}``.
    """
    cfg = tuning_config(params)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ValueError(f"tuning: no trial of study '{cfg.study_name}' has completed yet; "
                         "run the same command again (a larger tuning.timeout_s?)")
    best = study.best_trial
    base = training.get("preset", "default")
    preset = deep_merge(training["presets"][base], nested_overrides(best.params))
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    summary = {"study": cfg.study_name, "best_trial": best.number, "valid_auc": best.value,
               "params": dict(best.params), "preset": cfg.preset_name, "base_preset": base,
               "budget": dict(cfg.budget), "trials": counts}
    logger.info("tuning: best trial %d, valid AUC %.4f (under the search budget): %s; "
                "written as preset '%s' (kedro run --params training.preset=%s)",
                best.number, best.value, best.params, cfg.preset_name, cfg.preset_name)
    return {"training": {"presets": {cfg.preset_name: preset}}}, summary


def _message_figure(text: str) -> Figure:
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    return fig


def history_plot(study: optuna.Study) -> Figure:
    """Optuna's optimisation history (valid AUC of each trial and the best so far)."""
    from optuna.visualization.matplotlib import plot_optimization_history

    with warnings.catch_warnings(), matplotlib.rc_context():  # optuna sets a global style
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        ax = plot_optimization_history(study, target_name="valid AUC")
    ax.set_title(f"Optimisation history: study '{study.study_name}'")
    return ax.figure


def importance_plot(study: optuna.Study) -> Figure:
    """Optuna's parameter importances (fANOVA over the completed trials)."""
    from optuna.visualization.matplotlib import plot_param_importances

    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 2:
        return _message_figure("parameter importances need at least two completed trials")
    with warnings.catch_warnings(), matplotlib.rc_context():  # optuna sets a global style
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        ax = plot_param_importances(study, target_name="valid AUC")
    return ax.figure
