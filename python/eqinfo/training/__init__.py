"""What M1 and M2 training share, one job per module; each trainer (eqinfo.m1.train,
eqinfo.m2.train) keeps only its data, model, loss and evaluation.

    config      typed configs: the dict round trip (DictConfig), the shared options (TrainConfig)
    cli         argv (and --config FILE) -> a typed config
    optim       AdamW parameter groups, warmup + cosine schedule, the restart ramp
    checkpoint  exact-resume checkpoints (weights, optimizer, step, RNG), atomic writes
    csv_log     log.csv / positions.csv, trimmed to the checkpoint on resume
    signals     SIGTERM/SIGINT -> checkpoint and stop
    loop        the step loop: schedule, step, clip, log rows, evaluations, checkpoints

Modules are imported by name (`from eqinfo.training.config import DictConfig`): the configs need
no torch, so the model configs that build on them load without it.
"""
