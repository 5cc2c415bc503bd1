from pathlib import Path

import yaml

from mmctr.pipelines.submission.config import SubmissionConfig

CONF = Path(__file__).resolve().parents[3] / "conf"


def test_base_parameters_build_config():
    params = yaml.safe_load((CONF / "base" / "parameters_submission.yml").read_text())
    cfg = SubmissionConfig(**params["submission"])
    assert cfg.probability_column == "Task1" and cfg.device == "auto" and cfg.bf16 is False
