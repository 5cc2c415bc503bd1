"""The speed benchmark's verdicts follow what it detected (benchmarks/speed/targets.py)."""

import pytest

from benchmarks.speed import targets


@pytest.fixture(scope="module")
def bench():
    return targets


def _run(label, gflops, samples_per_s, precision="fp32", params=1_000_000):
    return {"label": label, "gflops": gflops, "gflop_per_step": 200.0, "step_s": 1.0,
            "cross_flops_per_sample": 1.0, "flops_per_sample": 2.0, "params": params,
            "precision": precision, "load": "0.1 → 0.1", "samples_per_s": samples_per_s,
            "records": [{"step_s": 1.0}] * 4,
            "breakdown": {"wall_s": 0.01, "matmul_s": 0.004, "optimizer_s": 0.001,
                          "other_s": 0.005, "gflops": gflops}}


def _res(bench, seed_bf16_gflops=400.0, default_ratio=1.2, epoch_rows=None):
    rows = epoch_rows or bench.TRAIN_ROWS
    return {
        "machine": {"measured on": "cpu (2 cores)"}, "load_start": "0.1/0.1/0.1",
        "peak": {"fp32": 200.0, "bf16": 900.0, "cross_gemm": 150.0, "cross_gemm_bf16": 700.0,
                 "bf16_layouts": {}},
        "train": [_run("seed fp32", 120.0, 80.0), _run("seed bf16", seed_bf16_gflops, 150.0,
                                                        "bf16, fp32 masters"),
                  _run("default fp32", 30.0, 50_000.0),
                  _run("default bf16", 35.0, 50_000.0 * default_ratio, "bf16, fp32 masters")],
        "epoch": {"rows": rows, "seconds": 100.0 * rows / bench.TRAIN_ROWS, "samples_per_s": 36_000.0,
                  "precision": "fp32", "load": "0.1 → 0.1"},
    }


def _verdicts(bench, res):
    return {row[0].split(" ≥ ")[0].split(" ≤ ")[0]: row for row in bench.targets(res)}


def test_without_native_bf16_the_bf16_targets_are_not_measurable(bench, monkeypatch):
    monkeypatch.setattr(bench, "native_bf16", lambda device: False)
    verdicts = _verdicts(bench, _res(bench))
    for name in ("seed bf16 training", "default bf16 training"):
        assert verdicts[name][2] == "not measurable here"
        assert "no native bf16" in verdicts[name][3]


def test_with_native_bf16_the_targets_are_judged_without_talk_of_emulation(bench, monkeypatch):
    monkeypatch.setattr(bench, "native_bf16", lambda device: True)
    verdicts = _verdicts(bench, _res(bench, seed_bf16_gflops=400.0, default_ratio=1.2))
    seed, default = verdicts["seed bf16 training"], verdicts["default bf16 training"]
    assert seed[2] == "met" and "44.4%" in seed[1]  # 400 of 900 GFLOP/s
    assert default[2] == "missed" and "1.20x" in default[1]
    assert "at most" in default[3] and "emulat" not in default[3] + seed[3]
    missed = _verdicts(bench, _res(bench, seed_bf16_gflops=200.0, default_ratio=1.6))
    assert missed["seed bf16 training"][2] == "missed"
    assert "short by" in missed["seed bf16 training"][3]
    assert missed["default bf16 training"][2] == "met"


def test_slow_steps_are_named_when_a_target_is_missed(bench, monkeypatch):
    monkeypatch.setattr(bench, "native_bf16", lambda device: True)
    res = _res(bench, seed_bf16_gflops=200.0)
    res["train"][1]["records"] = [{"step_s": t} for t in (1.0, 1.0, 2.0, 1.0)]
    why = _verdicts(bench, res)["seed bf16 training"][3]
    assert "1 of 4 timed steps took over 1.3x the median (2.00s vs 1.00s)" in why


def test_the_epoch_target_is_judged_at_real_scale_and_extrapolation_is_said(bench, monkeypatch):
    monkeypatch.setattr(bench, "native_bf16", lambda device: False)
    name = f"default model, one epoch over {bench.TRAIN_ROWS:,} rows"
    real = _verdicts(bench, _res(bench))[name]
    assert real[2] == "met" and "extrapolated" not in real[1]
    small = _verdicts(bench, _res(bench, epoch_rows=200_000))[name]
    assert "extrapolated" in small[1] and "not the target's scale" in small[1]


def test_the_report_renders_each_measured_section_under_its_command(bench, monkeypatch):
    from benchmarks.speed import report

    monkeypatch.setattr(bench, "native_bf16", lambda device: False)
    res = _res(bench)
    res["machine"]["CPU"] = "some CPU"
    res["epoch"].update(params=1_000_000, batch_size=512, steps=10)
    for r in res["train"]:
        r.update(batch_size=512, steps=4, widths=[8, 16], token_width=10.0, consume_per_s=1.0,
                 flop_check=None)
    res["peak"]["rows"] = [("fp32", "nn", 1024, 2, 200.0)]
    res.update(total_s=60.0, load_end="0.2/0.2/0.2")
    text = report.render(res, ["--quick", "--sections", "peak,train,epoch"])
    assert "`python -m benchmarks.speed --quick --sections peak,train,epoch`" in text
    assert "| CPU | some CPU |" in text
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections == ["## Machine", "## Targets", "## Matmul peak", "## Training throughput",
                        "## The default model at real scale",
                        "## Exact speed-ups in the default configuration"]
