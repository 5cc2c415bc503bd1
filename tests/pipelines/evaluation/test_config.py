from pathlib import Path

import yaml

from mmctr.pipelines.evaluation.config import EvaluationConfig

CONF = Path(__file__).resolve().parents[3] / "conf"


def test_base_parameters_build_config():
    params = yaml.safe_load((CONF / "base" / "parameters_evaluation.yml").read_text())
    cfg = EvaluationConfig(**{k: tuple(v) if isinstance(v, list) else v
                              for k, v in params["evaluation"].items()})
    assert cfg.history_buckets == (0, 1, 3, 6, 11, 21, 51, 101)
