import pytest

from mmctr.pipelines.tuning.config import trial_config, tuning_config
from mmctr.pipelines.tuning.nodes import _check_space, best_parameters

TRAINING = {"preset": "default",
            "presets": {"default": {"model": {"name": "transformer_dcn", "embedding_dim": 8,
                                              "mm_emb_dim": 8},
                                    "batch_size": 64, "epochs": 5}},
            "seed": 1, "device": "cpu"}
SPACE = {"learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
         "model.embedding_dim": {"type": "int", "low": 4, "high": 16, "step": 4},
         "model.use_dcn": {"type": "categorical", "choices": [False, True]}}
VOCAB = {"item": 50, "tag": 10, "likes": 5, "views": 5, "max_len": 8, "emb_dim": 128, "num_tags": 5}


def test_config_builds_frozen_distributions():
    cfg = tuning_config({"n_trials": 3, "space": SPACE, "budget": {"epochs": 1}})
    assert cfg.space["learning_rate"].log and cfg.space["model.use_dcn"].choices == (False, True)
    assert cfg.storage_url() == "sqlite:///data/09_tuning/study.db"
    with pytest.raises(AttributeError):
        cfg.n_trials = 4  # frozen


@pytest.mark.parametrize(("params", "message"), [
    ({"n_trail": 3, "space": SPACE}, "unknown key"),
    ({"space": {"learning_rate": {"type": "float", "low": 0.1, "hihg": 1}}}, "unknown key"),
    ({"space": {"learning_rate": {"type": "float", "low": 0.0, "high": 1, "log": True}}}, "log needs"),
    ({"space": {"learning_rate": {"type": "normal", "low": 0, "high": 1}}}, "type must be"),
    ({"space": {"batch_size": {"type": "categorical", "choices": []}}}, "choices"),
    ({"space": {"presets.default.epochs": {"type": "int", "low": 1, "high": 2}}}, "not a key"),
    ({"space": {"lerning_rate": {"type": "float", "low": 0.1, "high": 1}}}, "not a key"),
    ({"space": SPACE, "budget": {"epoch": 1}}, "budget: unknown key"),
    ({"space": {}}, "empty"),
])
def test_config_rejects_bad_blocks(params, message):
    with pytest.raises(ValueError, match=message):
        tuning_config(params)


def test_trial_config_sets_sampled_keys_then_the_budget():
    name, model, cfg = trial_config(TRAINING, {"learning_rate": 0.005, "model.embedding_dim": 12},
                                    {"epochs": 2, "max_steps_per_epoch": 3})
    assert name == "transformer_dcn" and model == {"embedding_dim": 12, "mm_emb_dim": 8}
    assert (cfg.learning_rate, cfg.batch_size, cfg.epochs, cfg.max_steps_per_epoch) == (0.005, 64, 2, 3)


def test_space_check_rejects_top_level_keys_and_unknown_model_keys():
    with pytest.raises(ValueError, match="top level"):
        _check_space(tuning_config({"space": {"seed": {"type": "int", "low": 1, "high": 3}}}),
                     TRAINING, VOCAB)
    with pytest.raises(ValueError, match="embeding_dim"):
        _check_space(tuning_config({"space": {"model.embeding_dim": {"type": "int", "low": 4, "high": 8}}}),
                     TRAINING, VOCAB)
    _check_space(tuning_config({"space": SPACE}), TRAINING, VOCAB)


def test_best_parameters_is_the_base_preset_with_the_best_keys():
    import optuna

    study = optuna.create_study(direction="maximize")
    for value, lr in ((0.6, 1e-3), (0.7, 2e-3)):
        study.add_trial(optuna.trial.create_trial(
            params={"learning_rate": lr, "model.embedding_dim": 4}, value=value,
            distributions={"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True),
                           "model.embedding_dim": optuna.distributions.IntDistribution(4, 16, step=4)}))
    tuned, summary = best_parameters(study, TRAINING, {"space": SPACE, "preset_name": "mine"})
    preset = tuned["training"]["presets"]["mine"]
    assert preset == {"model": {"name": "transformer_dcn", "embedding_dim": 4, "mm_emb_dim": 8},
                      "batch_size": 64, "epochs": 5, "learning_rate": 2e-3}
    assert summary["best_trial"] == 1 and summary["valid_auc"] == 0.7
    assert summary["trials"] == {"COMPLETE": 2}
    with pytest.raises(ValueError, match="no trial"):
        best_parameters(optuna.create_study(), TRAINING, {"space": SPACE})


def test_plots_are_figures_and_leave_the_global_matplotlib_style_alone():
    import matplotlib
    import optuna
    from matplotlib.figure import Figure

    from mmctr.pipelines.tuning.nodes import history_plot, importance_plot

    study = optuna.create_study(direction="maximize")
    dist = {"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    importance_alone = importance_plot(study)  # no completed trial: a message, not an error
    for value, lr in ((0.6, 1e-3), (0.7, 2e-3), (0.65, 5e-3)):
        study.add_trial(optuna.trial.create_trial(params={"learning_rate": lr}, value=value,
                                                  distributions=dist))
    before = dict(matplotlib.rcParams)
    figures = [history_plot(study), importance_plot(study), importance_alone]
    assert all(isinstance(f, Figure) for f in figures)
    assert dict(matplotlib.rcParams) == before
