"""Which manifests a command loads: the project context's environment as a manifest Scope."""

from __future__ import annotations

from mvconf.config.project import Context
from mvconf.manifest.desired import Scope


def scope_of(context: Context, environment: str | None = None) -> Scope:
    """The manifests' scope in `environment` (default: the context's): its DIDs, its names
    checked, its aliases winning."""
    name = environment or context.environment
    env = context.project.environments[name] if name and context.project else None
    return Scope(name, frozenset(context.names), dict(env.applications) if env else {},
                 max_dids=context.project.max_dids if context.project else None)
