"""User-facing errors: one actionable line, exit code 2, no traceback unless ``debug=true``."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user (config value, path, file). The message is shown as is, on one line."""

    exit_code = 2


class ConfigError(UserError):
    """A config key or value is wrong; the message names the key and what to do."""


def one_line(exc: BaseException) -> str:
    """Collapse an exception message to one line (Hydra/OmegaConf messages span several)."""
    text = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines)


def warn(message: str) -> None:
    """A one-line notice on stderr for something the user should know but that does not stop the
    command (e.g. resuming from an older checkpoint because the newest is damaged)."""
    import sys

    print(f"workbench: warning: {message}", file=sys.stderr, flush=True)
