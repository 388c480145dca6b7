"""``workbench perception train`` wired: data, model, trainer, resume, the final test scores."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

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


def _load(cfg: PerceptionTrainConfig, root: Path) -> Callable[[str], Any]:
    """How this task reads a split: images of one camera, clouds, or object crops."""
    from perception.data import load_split
    from perception.points.data import crop_split, load_point_split

    if cfg.task == "points":
        return lambda split: load_point_split(root, split)
    if cfg.task == "point_classification":
        return lambda split: crop_split(
            load_point_split(root, split), cfg.pointnet.crop_points, cfg.pointnet.min_crop_points
        )
    first: list[str] = []  # validation and test use the camera train was read from

    def images(split: str) -> Any:
        data = load_split(root, split, first[0] if first else cfg.camera)
        first.append(data.camera)
        if cfg.task == "clip":
            from perception.clip.data import caption_split

            try:
                c = cfg.clip
                return caption_split(data, c.crop_size, c.held_out, c.min_area, c.held_out_crops)
            except ValueError as exc:
                raise UserError(f"{root}: {exc}") from exc
        return data

    return images


def _model(
    cfg: PerceptionTrainConfig, train: Any, meta: dict[str, Any]
) -> tuple[Any, Callable[[Any, Any], dict[str, float]], tuple[str, str]]:
    """The task's model built for ``train``'s classes (``meta``: the dataset's), its scoring function
    and its two ranking keys."""
    from perception.detection.detector import Detector
    from perception.detection.detr import DETRDetector
    from perception.points.models import ObjectClassifier, ObjectLocator
    from perception.promptable.model import PromptableSegmenter
    from perception.segmentation.segmenter import Segmenter
    from workbench.train.perception import (
        classification_scores,
        detection_scores,
        point_scores,
        promptable_scores,
        segmentation_scores,
    )

    if cfg.task == "ssl":
        return _ssl_model(cfg, train)
    if cfg.task == "clip":
        from perception.clip.model import ClipModel, clip_scores

        if not len(train):
            raise UserError(f"{cfg.data}: no object crop of at least {cfg.clip.min_area} px to train on")
        ids = list(range(len(train.object_names)))
        clip = ClipModel(cfg.clip, ids, train.object_names, (cfg.clip.crop_size, cfg.clip.crop_size))
        # checkpoints are ranked on seen objects: the held-out ones are only ever scored on test
        return clip, clip_scores, ("pick_top1_seen", "classify_top1_seen")
    if cfg.task == "detection":
        if cfg.model == "detr":
            detr = DETRDetector(cfg.detr, train.class_ids, train.class_names, train.images.shape[1:3])
            return detr, detection_scores, ("map50", "map")
        detector = Detector(cfg.detector, train.class_ids, train.class_names, train.images.shape[1:3])
        return detector, detection_scores, ("map50", "map")
    if cfg.task == "promptable":
        try:
            prompted = PromptableSegmenter(
                cfg.promptseg, train.class_ids, train.class_names, train.images.shape[1:3]
            )
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        return prompted, promptable_scores, ("mask_iou", "mask_iou")
    if cfg.task == "point_classification":
        if not len(train):
            raise UserError(
                f"{cfg.data}: no object has {cfg.pointnet.min_crop_points} points in any train cloud"
            )
        return ObjectClassifier(cfg.pointnet, train.class_ids, train.class_names), classification_scores, (
            "accuracy", "accuracy")  # fmt: skip
    # segmentation and points: every segmentation id is a class (0: background)
    names = {0: "background", **{c["id"]: c["name"] for c in train.categories}}
    ids = list(range(max(names) + 1))
    labels = [names.get(i, f"id{i}") for i in ids]
    if cfg.task == "points":
        sensor = {key: meta[key] for key in ("env_id", "cameras", "width", "height", "num_points")}
        return ObjectLocator(cfg.pointnet, ids, labels, train.thing_ids, sensor), point_scores, (
            "-position_error_cm", "point_miou")  # fmt: skip
    try:
        model = Segmenter(cfg.segmenter, ids, labels, train.images.shape[1:3])
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    return model, segmentation_scores, ("miou", "miou_objects")


def _ssl_model(
    cfg: PerceptionTrainConfig, train: Any
) -> tuple[Any, Callable[[Any, Any], dict[str, float]], tuple[str, str]]:
    """A self-supervised model (``cfg.model``: simclr, dino or mae) and its score: the linear probe's
    position error (cm) of ``probe_object``, fitted on the train frames, on the scored split."""
    from perception.registry import MODELS
    from perception.ssl.probe import linear_probe, probe_targets

    name = cfg.model or "simclr"
    config = {"simclr": cfg.simclr, "dino": cfg.dino, "mae": cfg.mae}[name]
    try:
        model = MODELS[("ssl", name)][1](config, train.images.shape[1:3])
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    fit = probe_targets(train, cfg.probe_object)
    targets: dict[Path, Any] = {}  # split root -> its probe targets, read once

    def scores(m: Any, split: Any) -> dict[str, float]:
        if split.root not in targets:
            targets[split.root] = probe_targets(split, fit.object_name)
        target = targets[split.root]
        return linear_probe(
            (m.features(fit.images), fit.positions), (m.features(target.images), target.positions)
        )

    return model, scores, ("-probe_error_cm", "-probe_error_cm")


def ssl_test_scores(
    model: Any, cfg: PerceptionTrainConfig, train: Any, validation: Any, test: Any
) -> dict[str, Any]:
    """The probe scored once on ``test`` with its ridge strength chosen on ``validation``, beside the
    same probe on a randomly initialised encoder of the same architecture (the baseline)."""
    import torch

    from perception.ssl.probe import linear_probe, probe_targets

    fit = probe_targets(train, cfg.probe_object)
    choose, score = probe_targets(validation, fit.object_name), probe_targets(test, fit.object_name)
    torch.manual_seed(cfg.seed + 1)
    baseline = type(model)(model.config, model.image_hw)
    out: dict[str, Any] = {"probe_object": fit.object_name, "probe_frames": len(fit.positions)}
    for prefix, m in (("", model), ("random_", baseline)):
        result = linear_probe(*((m.features(t.images), t.positions) for t in (fit, choose, score)))
        out.update({f"{prefix}{k}": v for k, v in result.items()})
    return out


def _one_input(model: Any, test: Any) -> tuple[Callable[[np.ndarray], Any], np.ndarray]:
    """The model's inference function and one test input (for the batch-1 latency)."""
    if model.task == "detection":
        return model.detect, test.images[0]
    if model.task == "segmentation":
        return model.segment, test.images[0]
    if model.task == "promptable":
        click = np.array([model.image_hw[1] // 2, model.image_hw[0] // 2], np.float32)
        return (lambda images: model.segment(images, [click[None]])), test.images[0]
    if model.task == "points":
        return model.locate, test.points(0)
    if model.task == "ssl":
        return model.features, test.images[0]
    if model.task == "clip":  # one crop against one caption: embedding both
        return (lambda crops: model.pick(crops, "the red cube")), test.crops[0]
    return model.classify, test.crop(0, None)


def train_perception(cfg: PerceptionTrainConfig, run_dir: Path, resuming: bool) -> dict[str, Any]:
    import torch

    from perception.data import dataset_meta
    from perception.model_io import load_model
    from workbench.logger import run_logger
    from workbench.threads import configure_threads
    from workbench.train.device import pick_device
    from workbench.train.perception import PerceptionTrainer, frame_latency_ms
    from workbench.train.run import checkpoint_to_resume, load_checkpoint_state, logged_from

    assert cfg.data is not None
    root = Path(cfg.data)
    meta = dataset_meta(root)
    device = pick_device(cfg.device)
    configure_threads(cfg.threads, cfg, device.type)
    loaded = _load(cfg, root)
    train, validation = loaded("train"), loaded("validation") if cfg.trainer.eval_every else None
    torch.manual_seed(cfg.seed)
    model, scores, score_keys = _model(cfg, train, meta)
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
        camera = getattr(train, "camera", ",".join(meta["cameras"]))
        results: dict[str, Any] = {"final_model": chosen, "camera": camera, "env_id": meta["env_id"]}
        if cfg.task == "ssl":
            model.export_encoder(run_dir / "encoder.pt")  # what agent.encoder.checkpoint reads
            results["encoder"] = str(run_dir / "encoder.pt")
        if "test" in meta.get("splits", {}):
            test = loaded("test")
            model = model.cpu()
            if cfg.task == "ssl":
                held_out = validation if validation is not None else loaded("validation")
                results.update(split="test", **ssl_test_scores(model, cfg, train, held_out, test))
            else:
                results.update(split="test", **scores(model, test))
            results["latency_ms"] = frame_latency_ms(*_one_input(model, test))
        logger.log(cfg.steps, {k: v for k, v in results.items() if isinstance(v, float)}, prefix="test/")
    finally:
        logger.close()
    # JSON has no NaN: a score that is undefined (no object found at all) is written as null
    results = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in results.items()}
    atomic_write_json(run_dir / "results.json", results)
    return results
