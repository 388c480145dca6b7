"""Pictures of what a perception model predicts, drawn on the frames it saw (``workbench perception
show``): boxes with class names and scores, segmentation colours, clicks with their masks, and the
keypoints a self-supervised ResNet encoder attends to, and what an MAE reconstructs."""

from __future__ import annotations

from typing import Any

import numpy as np

# A fixed palette: class id -> colour, the same in every picture.
_PALETTE = (np.random.default_rng(7).integers(40, 255, (256, 3))).astype(np.uint8)
_PALETTE[0] = 0


def draw_boxes(
    frame: np.ndarray, boxes: np.ndarray, labels: list[str], scores: np.ndarray, colours: list[int]
) -> np.ndarray:
    """(H, W, 3) uint8 with [x, y, w, h] ``boxes`` outlined and labelled ``name score``."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    pen = ImageDraw.Draw(image)
    for (x, y, w, h), label, score, colour in zip(boxes, labels, scores, colours, strict=True):
        rgb = tuple(int(c) for c in _PALETTE[colour % 256])
        pen.rectangle([float(x), float(y), float(x + w), float(y + h)], outline=rgb, width=1)
        pen.text((float(x), max(0.0, float(y) - 10)), f"{label} {score:.2f}", fill=rgb)
    return np.asarray(image)


def draw_classes(
    frame: np.ndarray, classes: np.ndarray, skip: tuple[int, ...] = (0,), alpha: float = 0.7
) -> np.ndarray:
    """(H, W, 3) uint8 blended with the palette colour of each pixel's class (``skip``: left as is)."""
    colours = _PALETTE[classes % 256].astype(np.float32)
    mask = ~np.isin(classes, skip)[..., None]
    return np.where(mask, frame * (1 - alpha) + colours * alpha, frame).astype(np.uint8)


def draw_clicks(frame: np.ndarray, masks: np.ndarray, clicks: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """(H, W, 3) uint8 with each mask (K, H, W) in its own colour and its click (K, 2) as a white dot."""
    from PIL import Image, ImageDraw

    out = frame.astype(np.float32)
    for k, mask in enumerate(masks):
        out[mask] = out[mask] * (1 - alpha) + _PALETTE[(k + 1) * 37 % 256] * alpha
    image = Image.fromarray(out.astype(np.uint8))
    pen = ImageDraw.Draw(image)
    for x, y in clicks:
        pen.ellipse(
            [float(x) - 2, float(y) - 2, float(x) + 2, float(y) + 2], fill=(255, 255, 255), outline=(0, 0, 0)
        )
    return np.asarray(image)


def draw_world_points(
    frame: np.ndarray, points: np.ndarray, intrinsics: np.ndarray, world_from_cam: np.ndarray
) -> np.ndarray:
    """(H, W, 3) uint8 with world ``points`` (K, 3) projected through the camera (OpenCV ``intrinsics``
    and pose) and drawn as green dots ringed in black."""
    from PIL import Image, ImageDraw

    from perception.labels import project

    uv, depth = project(np.asarray(points, dtype=np.float64), intrinsics, world_from_cam)
    image = Image.fromarray(frame)
    pen = ImageDraw.Draw(image)
    radius = max(2.0, frame.shape[0] / 80)
    for (u, v), z in zip(uv, depth, strict=True):
        if z > 0:
            pen.ellipse([u - radius, v - radius, u + radius, v + radius], fill=(0, 230, 0), outline=(0, 0, 0))
    return np.asarray(image)


def show(
    model: Any, images: np.ndarray, seg: np.ndarray | None = None, min_score: float = 0.3
) -> list[np.ndarray]:
    """Each frame with ``model``'s predictions drawn on: (H, 2W, 3) for segmentation (the prediction
    beside the truth ``seg``, the frames' instance ids), (H, W, 3) otherwise."""
    if model.task == "detection":
        names = dict(zip(model.class_ids, model.class_names, strict=True))
        out = []
        for frame, found in zip(images, model.detect(images), strict=True):
            keep = found["scores"] >= min_score
            ids = found["category_ids"][keep]
            labels, colours = [names[int(i)] for i in ids], [int(i) for i in ids]
            out.append(draw_boxes(frame, found["boxes"][keep], labels, found["scores"][keep], colours))
        return out
    if model.task == "segmentation":
        predicted = model.segment(images)
        truth = seg if seg is not None else np.zeros_like(predicted)
        # the scene (background, table, robot) left uncoloured: the objects and markers stand out
        scene = tuple(
            i for i, name in enumerate(model.class_names) if name in ("background", "table", "robot")
        )
        return [np.concatenate([draw_classes(f, p, scene), draw_classes(f, t, scene)], axis=1)
                for f, p, t in zip(images, predicted, truth, strict=True)]  # fmt: skip
    if model.task == "promptable":
        from perception.promptable.model import centre_click

        if seg is None:
            raise ValueError("the promptable segmenter is shown with the dataset's masks (for its clicks)")
        things = set(model.class_ids)
        big = model.config.min_area
        clicks = []
        for image in seg:
            objects = [c for c in np.unique(image) if c in things and (image == c).sum() >= big]
            clicks.append(np.array([centre_click(image == c) for c in objects], np.float32).reshape(-1, 2))
        masks = model.segment(images, clicks)
        return [draw_clicks(f, m, c) for f, m, c in zip(images, masks, clicks, strict=True)]
    if model.task == "ssl" and hasattr(model, "reconstruct"):
        return draw_reconstructions(model, images)
    if model.task == "ssl":
        return draw_keypoints(model, images)
    raise ValueError(f"show draws detection, segmentation, promptable and ssl models, not {model.task}")


def draw_keypoints(model: Any, images: np.ndarray, scale: int = 3) -> list[np.ndarray]:
    """Where a self-supervised ResNet encoder looks: its spatial-softmax keypoints (the expected
    position of each of its K feature channels) drawn on the centre view it encodes, enlarged
    ``scale`` times. Keypoints live on the last feature map's grid, mapped to the view linearly."""
    import torch
    from PIL import Image, ImageDraw

    from perception.ssl.views import centre_view

    encoder = model.encoder
    if not hasattr(encoder, "pool"):
        raise ValueError(
            f"{model.config.name} with a {model.config.encoder.name} encoder has no keypoints to draw "
            "(show draws the ResNet encoders' spatial-softmax keypoints)"
        )
    model.eval()
    with torch.no_grad():
        views = centre_view(torch.from_numpy(np.ascontiguousarray(images)), model.view)  # (N, S, S, 3)
        x = views.permute(0, 3, 1, 2) * 2.0 - 1.0
        keypoints = encoder.pool(encoder.backbone(x)).numpy()  # (N, K, 2) in [-1, 1]
    side = model.view * scale
    out = []
    for view, points in zip((views.numpy() * 255).astype(np.uint8), keypoints, strict=True):
        image = Image.fromarray(view).resize((side, side), Image.Resampling.NEAREST)
        pen = ImageDraw.Draw(image)
        for k, (u, v) in enumerate((points + 1) / 2 * side):
            colour = tuple(int(c) for c in _PALETTE[(k + 1) * 37 % 256])
            pen.ellipse([u - 3, v - 3, u + 3, v + 3], fill=colour, outline=(0, 0, 0))
        out.append(np.asarray(image))
    return out


def draw_reconstructions(model: Any, images: np.ndarray, scale: int = 3) -> list[np.ndarray]:
    """What an MAE fills in: the centre view, the view with its hidden patches (mask_ratio of them)
    greyed, and the reconstruction, side by side, enlarged ``scale`` times."""
    from PIL import Image

    views, masked, merged = model.reconstruct(images)
    out = []
    for row in zip(views, masked, merged, strict=True):
        framed = [np.pad(x, ((2, 2), (2, 2), (0, 0)), constant_values=255) for x in row]  # white borders
        strip = np.concatenate(framed, axis=1)
        side = (strip.shape[1] * scale, strip.shape[0] * scale)
        out.append(np.asarray(Image.fromarray(strip).resize(side, Image.Resampling.NEAREST)))
    return out
