"""``workbench perception train`` wired: data, model, trainer, resume, the final test scores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.config.perception import PerceptionTrainConfig
from workbench.errors import UserError
from workbench.io import atomic_write_json


def check_data(cfg: PerceptionTrainConfig) -> None:
    """Refuse a dataset without the splits or the camera this run needs, in one line."""
    from perception.data import dataset_meta

    assert cfg.data is not None
    meta = dataset_meta(Path(cfg.data))
    needed = ["train"] + (["validation"] if cfg.trainer.eval_every else [])
    missing = [split for split in needed if split not in meta.get("splits", {})]
    if missing:
        raise UserError(
            f"{cfg.data} has no {' or '.join(missing)} split; collect it with `workbench perception collect "
            f"split={missing[0]} out={cfg.data}` (or trainer.eval_every=0: no validation)"
        )
    if cfg.camera is not None and cfg.camera not in meta["cameras"]:
        raise UserError(f"{cfg.data} has no camera {cfg.camera!r}; its cameras: {meta['cameras']}")


def train_perception(cfg: PerceptionTrainConfig, run_dir: Path, resuming: bool) -> dict[str, Any]:
    import torch

    from perception.data import dataset_meta, load_split
    from perception.detection.detector import Detector
    from perception.model_io import load_model
    from perception.segmentation.segmenter import Segmenter
    from workbench.logger import run_logger
    from workbench.threads import configure_threads
    from workbench.train.device import pick_device
    from workbench.train.perception import (
        PerceptionTrainer,
        detection_scores,
        frame_latency_ms,
        segmentation_scores,
    )
    from workbench.train.run import checkpoint_to_resume, load_checkpoint_state, logged_from

    assert cfg.data is not None
    root = Path(cfg.data)
    meta = dataset_meta(root)
    device = pick_device(cfg.device)
    configure_threads(cfg.threads, cfg, device.type)
    train = load_split(root, "train", cfg.camera)
    validation = load_split(root, "validation", train.camera) if cfg.trainer.eval_every else None
    torch.manual_seed(cfg.seed)
    image_hw = train.images.shape[1:3]
    model: Any
    scores: Callable[[Any, Any], dict[str, float]]
    if cfg.task == "detection":
        model = Detector(cfg.detector, train.class_ids, train.class_names, image_hw)
        scores, score_keys = detection_scores, ("map50", "map")
    else:  # segmentation: every segmentation id is a class (0: background)
        names = {0: "background", **{c["id"]: c["name"] for c in train.categories}}
        ids = list(range(max(names) + 1))
        try:
            model = Segmenter(cfg.segmenter, ids, [names.get(i, f"id{i}") for i in ids], image_hw)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        scores, score_keys = segmentation_scores, ("miou", "miou_objects")
    model = model.to(device)
    ckpt, payload = checkpoint_to_resume(run_dir, resuming)

    def evaluator(step: int) -> dict[str, float]:
        assert validation is not None
        return {k: v for k, v in scores(model, validation).items() if not k.startswith("ms_")}

    logger = run_logger(run_dir, resume_step=logged_from(payload, resuming))
    try:
        trainer = PerceptionTrainer(
            model, train, cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.flip, cfg.seed, cfg.trainer, run_dir,
            logger, cfg.steps, evaluator if validation is not None else None, device, score_keys,
        )  # fmt: skip
        if payload is not None:
            saved = f"{payload.get('task')} on {payload.get('data')}"
            load_checkpoint_state(trainer, payload, ckpt, saved, f"the run trains {cfg.task} on {cfg.data}")
        trainer.fit(extra={"task": cfg.task, "data": str(root)})
        model.save(run_dir / "model.pt")
        chosen = "last"
        if cfg.trainer.final_policy == "best" and (run_dir / trainer.best_file).is_file():
            model = load_model(run_dir / trainer.best_file, task=cfg.task).to(device)
            model.save(run_dir / "model.pt")
            chosen = "best"
        results: dict[str, Any] = {"final_model": chosen, "camera": train.camera, "env_id": meta["env_id"]}
        if "test" in meta.get("splits", {}):
            test = load_split(root, "test", train.camera)
            model = model.cpu()
            results.update(split="test", **scores(model, test))
            infer = model.detect if cfg.task == "detection" else model.segment
            results["latency_ms"] = frame_latency_ms(infer, test.images[0])
        logger.log(cfg.steps, {k: v for k, v in results.items() if isinstance(v, float)}, prefix="test/")
    finally:
        logger.close()
    atomic_write_json(run_dir / "results.json", results)
    return results
