"""The closing summary (src/mmctr/summary.py)."""

from mmctr.summary import format_summary

METRICS = {"valid_auc": 0.784812345, "valid_logloss": 0.47661, "valid_gauc": 0.81359,
           "valid_oracle_auc": 0.86281, "valid_oracle_auc_gap": 0.07799,
           "test_auc": 0.78351, "test_logloss": 0.47579, "test_gauc": 0.77761,
           "has_test_labels": True}


def test_metrics_to_four_decimals_the_oracle_gap_and_the_paths():
    text = format_summary(METRICS, {"model": "data/06_models/model.pt/v/model.pt",
                                    "report": "data/08_reporting/metrics.json/v/metrics.json",
                                    "submission": "data/07_model_output/prediction.zip",
                                    "ablation": None})
    assert text.splitlines() == [
        "Run summary",
        "  valid: AUC 0.7848  logloss 0.4766  gAUC 0.8136  oracle AUC 0.8628 (gap 0.0780)",
        "  test:  AUC 0.7835  logloss 0.4758  gAUC 0.7776",
        "  model:      data/06_models/model.pt/v/model.pt",
        "  report:     data/08_reporting/metrics.json/v/metrics.json",
        "  submission: data/07_model_output/prediction.zip",
    ]


def test_real_data_has_no_test_metrics_and_says_so():
    metrics = {k: v for k, v in METRICS.items() if not k.startswith("test")}
    text = format_summary({**metrics, "has_test_labels": False}, {})
    assert "test:  no labels (real data): see the submission" in text


def test_undefined_values_are_shown_as_such():
    text = format_summary({"valid_auc": None, "valid_logloss": float("nan")}, {})
    assert "AUC n/a  logloss n/a  gAUC n/a" in text


def test_the_data_profile_warnings_close_the_summary():
    from kedro.io import DataCatalog, MemoryDataset

    from mmctr.hooks import _profile_warnings

    catalog = DataCatalog({"data_profile": MemoryDataset(
        {"warnings": ["all-zero item embeddings: item_emb_d128 is 0 for every item"]})})
    text = format_summary({"valid_auc": 0.7}, {"model": "m.pt"}, _profile_warnings(catalog))
    assert text.splitlines()[-1] == ("  warning: all-zero item embeddings: item_emb_d128 is 0 "
                                     "for every item (see the data profile)")
    assert _profile_warnings(DataCatalog({})) == []


def test_the_tuning_command_closes_with_its_best_trial():
    from kedro.io import DataCatalog, MemoryDataset

    from mmctr.hooks import _summary

    best = {"study": "s", "best_trial": 1, "valid_auc": 0.71234, "preset": "tuned",
            "params": {"learning_rate": 0.00123456, "model.embedding_dim": 16},
            "trials": {"COMPLETE": 2, "PRUNED": 1}}
    catalog = DataCatalog({"tuning_best": MemoryDataset(best)})
    text = _summary({"tuning_best", "tuned_parameters", "tuning_trials"}, catalog)
    assert text.splitlines()[1:] == [
        "  tuning: best trial 1, valid AUC 0.7123 (under the search budget); trials: "
        "2 complete, 1 pruned",
        "  best:   learning_rate=0.001235, model.embedding_dim=16",
        "  next:   kedro run --params training.preset=tuned",
    ]


def test_the_readme_names_both_ways_to_open_kedro_viz():
    from tests.conftest import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "kedro viz run" in readme and "kedro viz build" in readme


def test_the_summary_warns_when_the_collaborative_stage_fell_back_on_content():
    from mmctr.hooks import _summary

    class Catalog:
        def __init__(self, report):
            self.report = report

        def load(self, name):
            assert name == "collaborative_report"
            return self.report

    fell_back = {"fallback": "no item has a collaborative factor"}
    text = _summary({"collaborative_report"}, Catalog(fell_back))
    assert text.splitlines()[-1] == "  warning: no item has a collaborative factor"
    assert "warning" not in _summary({"collaborative_report"}, Catalog({"fallback": None}))
