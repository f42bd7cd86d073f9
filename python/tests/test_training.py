"""The shared training components (eqinfo.training): typed configs and their command line, the
schedule, the CSV log. The loop and checkpoints are tested through both trainers
(test_m1_train, test_m2_train: exact resumption)."""
import dataclasses
import json

import pytest

from eqinfo.m1.config import M1Config, M1TrainConfig
from eqinfo.m2.config import M2Config, M2TrainConfig
from eqinfo.training.cli import parse_config, write_config
from eqinfo.training.csv_log import CsvLog
from eqinfo.training.optim import restart_ramp, warmup_cosine_lr


def test_configs_round_trip_through_dicts_and_ignore_unknown_keys():
    m1 = M1Config(d_model=64, n_heads=2, n_layers=2, mlp_dim=256)
    assert M1Config.from_dict(m1.to_dict()) == m1
    assert M1Config.from_dict({**m1.to_dict(), "from_a_newer_version": 1}) == m1
    m2 = M2Config(d_model=32, n_heads=2, n_layers=1, mlp_dim=64, head_dim=8)
    assert M2Config.from_dict(m2.to_dict()) == m2 and m2.with_(vocab_size=7).vocab_size == 7
    # a checkpoint's "args" from before the configs were typed (an argparse Namespace's vars)
    old_args = {"preset": "tiny", "out": "runs/x", "steps": 4, "batch": 4, "seq_len": 32,
                "resume": True, "init_weights": None}
    cfg = M1TrainConfig.from_dict(old_args)
    assert (cfg.steps, cfg.batch, cfg.warmup, cfg.log_every) == (4, 4, 300, 50)


def test_cli_fills_the_typed_config_with_each_trainers_defaults():
    m1 = parse_config(M1TrainConfig, ["--steps", "7", "--no-resume", "--init-weights", "s.pt"], "")
    assert m1 == M1TrainConfig(steps=7, resume=False, init_weights="s.pt")
    assert (m1.warmup, m1.ckpt_every, m1.out) == (300, 250, "runs/m1-3m")
    m2 = parse_config(M2TrainConfig, ["--train", "t", "--val", "v", "--out", "o",
                                      "--tokens", "4e6"], "")
    assert (m2.tokens, m2.steps, m2.warmup, m2.ckpt_every, m2.eval_tokens) == \
        (4e6, None, 100, 200, None)


@pytest.mark.parametrize("argv, message", [
    (["--val", "v", "--out", "o", "--steps", "1"], "--train"),             # required flag
    (["--train", "t", "--val", "v", "--out", "o"], "exactly one budget"),   # config's own check
    (["--train", "t", "--val", "v", "--out", "o", "--steps", "1", "--flops", "1e9"],
     "exactly one budget"),
    (["--train", "t", "--val", "v", "--out", "o", "--steps", "x"], "invalid int"),
])
def test_cli_errors_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        parse_config(M2TrainConfig, argv, "")
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_a_named_preset_gives_values_that_flags_override(capsys):
    presets = {"short": M1TrainConfig(steps=10, batch=2)}
    cfg = parse_config(M1TrainConfig, ["--config", "short", "--batch", "3"], "", presets)
    assert cfg == M1TrainConfig(steps=10, batch=3)
    with pytest.raises(SystemExit):
        parse_config(M1TrainConfig, ["--config", "long"], "", presets)
    assert "neither a preset nor a readable JSON file" in capsys.readouterr().err


def test_config_file_gives_values_that_flags_override(tmp_path):
    cfg = M2TrainConfig(train="t.shard", val="v.shard", out="o", steps=12, micro_batch=4,
                        quiet=True)
    path = write_config(cfg, tmp_path / "train_config.json")
    assert json.loads(path.read_text())["micro_batch"] == 4
    assert parse_config(M2TrainConfig, ["--config", str(path)], "") == cfg
    # required flags are satisfied by the file; a flag wins over it
    assert parse_config(M2TrainConfig, ["--config", str(path), "--steps", "3", "--no-quiet"],
                        "") == dataclasses.replace(cfg, steps=3, quiet=False)


def test_warmup_cosine_schedule_and_restart_ramp():
    assert warmup_cosine_lr(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert warmup_cosine_lr(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert warmup_cosine_lr(100, 100, 10, 1.0) == pytest.approx(0.1)
    assert warmup_cosine_lr(55, 100, 10, 1.0) == pytest.approx(0.55)
    assert warmup_cosine_lr(0, 100, 0, 1.0) == 1.0                  # no warmup
    ramp = {"step": 20, "ramp": 4}
    assert [restart_ramp(s, ramp) for s in range(20, 26)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert restart_ramp(3, None) == 1.0


def test_csv_log_drops_the_rows_after_the_checkpoint(tmp_path):
    path = tmp_path / "log.csv"
    log = CsvLog(path, ["step", "loss", "val"], None)
    for s in (1, 2, 3, 4):
        log.write({"step": s, "loss": f"{s / 10:.1f}"} | ({"val": "v"} if s == 2 else {}))
    log.close()
    assert path.read_text().splitlines() == ["step,loss,val", "1,0.1,", "2,0.2,v", "3,0.3,",
                                             "4,0.4,"]
    CsvLog(path, ["step", "loss", "val"], resume_step=2).close()    # resumed at step 2
    assert path.read_text().splitlines() == ["step,loss,val", "1,0.1,", "2,0.2,v"]
    CsvLog(path, ["step", "loss", "val"], resume_step=None).close()  # a fresh run
    assert path.read_text().splitlines() == ["step,loss,val"]
