"""``workbench list``: registered envs, every value ``agent=`` and ``experiment=`` accept, and what
each one is (registry entry, family, trainer)."""

from __future__ import annotations

from typing import Any

from workbench.config import CONFIG_DIR, group_options


def _yaml_summary(group: str, option: str) -> str:
    """The first comment line of ``configs/<group>/<option>.yaml`` (what the preset is for)."""
    for line in (CONFIG_DIR / group / f"{option}.yaml").read_text().splitlines():
        text = line.lstrip("# ").strip()
        if line.startswith("#") and text and not text.startswith("@package"):
            return text
    return ""


def describe_agent_option(option: str) -> dict[str, Any]:
    """What ``agent=<option>`` selects: the registry entry and, for DAgger, the online loop around it."""
    from agents.registry import get_spec
    from workbench.config.compose import compose_raw

    cfg = compose_raw("train", [f"agent={option}"])  # unvalidated: an image preset needs an image env
    spec = get_spec(str(cfg.agent.name))
    dagger = cfg.dagger.rounds > 0
    return {
        "option": option,
        "agent": spec.name,
        "family": "online (DAgger rounds)" if dagger else spec.family,
        "summary": _yaml_summary("agent", option) or spec.summary,
    }


def run(cfg: Any = None) -> dict[str, list[str]]:
    import envs

    agents = [describe_agent_option(opt) for opt in group_options("agent")]
    experiments = group_options("experiment")
    print("envs:")
    for env_id in envs.ENV_IDS:
        print(f"  {env_id}")
    print("agents (agent=...):")
    for a in agents:
        print(f"  {a['option']:<24} {a['agent']:<16} {a['family']:<24} {a['summary']}")
    print("experiments (experiment=...):")
    for name in experiments:
        print(f"  {name:<24} {_yaml_summary('experiment', name)}")
    return {
        "envs": list(envs.ENV_IDS),
        "agents": [a["option"] for a in agents],
        "experiments": experiments,
    }
