"""Which view answers which ``/api/...`` URL.

A URL's path is split at "/" before it is decoded, so an experiment id with "/" in it travels
as one segment (``encodeURIComponent``), and a decoded segment is only ever used as a key into
the catalog's experiments or an experiment's trials (`tuner.dashboard._access`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from tuner.dashboard import _views
from tuner.dashboard._access import OutsideRoot, check_segment
from tuner.dashboard._catalog import Catalog, UnknownExperiment
from tuner.dashboard._views import BadRequest, NotFound, Query

_EXPERIMENT_VIEWS = {
    "trials": _views.trials,
    "curves": _views.curves,
    "points": _views.points,
    "importance": _views.importance,
}
_PLAIN_VIEWS = {
    "errors": _views.errors,
    "lineage": _views.lineage,
    "pareto": _views.pareto,
}


def segments(raw_path: str) -> list[str]:
    """The decoded segments of a URL path (without its query)."""
    return [unquote(part) for part in raw_path.split("/")[1:]]


def api(catalog: Catalog, parts: list[str], query: Query) -> tuple[int, dict[str, Any]]:
    """The status and JSON body for ``/api/<parts...>`` (without the leading "api")."""
    try:
        return 200, _answer(catalog, parts, query)
    except BadRequest as exc:
        return 400, {"error": str(exc)}
    except (NotFound, UnknownExperiment, OutsideRoot) as exc:
        return 404, {"error": str(exc)}


def _answer(catalog: Catalog, parts: list[str], query: Query) -> dict[str, Any]:
    if parts == ["experiments"]:
        return {
            "root": catalog.root_url,
            "experiments": [e.summary() for e in catalog.listing()],
            "version": catalog.version,
        }
    if len(parts) < 2 or parts[0] != "experiments":
        raise NotFound(f"no API endpoint /api/{'/'.join(parts)}: see docs/dashboard.md")
    exp = catalog.get(parts[1])
    rest = parts[2:]
    if not rest:
        return _views.experiment(exp)
    if len(rest) == 1 and rest[0] in _EXPERIMENT_VIEWS:
        return _EXPERIMENT_VIEWS[rest[0]](exp, query)
    if len(rest) == 1 and rest[0] in _PLAIN_VIEWS:
        return _PLAIN_VIEWS[rest[0]](exp)
    if len(rest) == 2 and rest[0] == "trials":
        return _views.trial(exp, check_segment(rest[1], "trial id"))
    raise NotFound(f"no API endpoint /api/{'/'.join(parts)}: see docs/dashboard.md")
