"""Progress: a rich bar on a terminal, rate-limited plain lines on stderr elsewhere."""

from __future__ import annotations

import io

import pytest

from workbench.progress import PlainProgress, ProgressBar


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(stream: io.StringIO) -> list[str]:
    return [ln for ln in stream.getvalue().splitlines() if ln.strip()]


def test_plain_lines_are_rate_limited_and_end_with_a_final_line() -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = PlainProgress("train", 1000, stream=out, interval=10.0, clock=clock)
    for step in range(10, 1001, 10):
        clock.now += 1.0  # 10 steps/s: 100 s in all
        bar.update(step, loss=0.5 / step)
    bar.close()
    lines = _lines(out)
    # One line per 10 s (at 10 s, 20 s, ... 100 s) and no duplicate of the last one at close.
    assert len(lines) == 10, lines
    assert lines[0].startswith("train 100/1000 (10%) 10.0/s loss ")
    assert lines[-1].startswith("train 1000/1000 (100%) 10.0/s")


def test_short_work_prints_only_the_final_line() -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = PlainProgress("eval", 4, stream=out, clock=clock)
    for done in range(1, 5):
        clock.now += 0.5
        bar.update(done, success_rate=0.75)
    bar.close()
    assert _lines(out) == ["eval 4/4 (100%) 2.0/s success_rate 0.75"]


def test_rate_counts_only_the_work_done_since_a_resume() -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = PlainProgress("train", 200, completed=100, stream=out, clock=clock)
    clock.now += 4.0
    bar.update(120)
    bar.close()
    assert _lines(out) == ["train 120/200 (60%) 5.0/s"]


def test_progress_bar_off_a_tty_writes_plain_lines() -> None:
    out = io.StringIO()
    with ProgressBar("train", 10, stream=out, interval=0.0) as bar:
        for step in range(1, 11):
            bar.update(step, loss=1.0)
    lines = _lines(out)
    assert lines and lines[-1].startswith("train 10/10 (100%)") and "loss 1" in lines[-1]
    assert "\x1b[" not in out.getvalue()  # no terminal control codes in a log


def test_progress_bar_disabled_prints_nothing() -> None:
    out = io.StringIO()
    with ProgressBar("train", 10, enabled=False, stream=out) as bar:
        bar.update(10, loss=1.0)
    assert out.getvalue() == ""


def test_progress_bar_on_a_tty_uses_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    out = FakeTTY()
    with ProgressBar("train", 10, stream=out) as bar:
        assert bar.tty and bar._progress is not None and bar._plain is None
        bar.update(10, loss=1.0)
    assert "train" in out.getvalue()
