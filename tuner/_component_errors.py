"""Naming the scheduler or searcher an error came out of (`SchedulerError`, `SearcherError`)."""

from __future__ import annotations

from typing import Any

from tuner.exceptions import ComponentError, SchedulerError, SearcherError, TuneError


def component_error(
    exc: BaseException, *, scheduler: Any, searcher: Any
) -> ComponentError | None:
    """`exc` as a SchedulerError/SearcherError naming the component, if one raised it.

    The loop calls its scheduler and searcher in a dozen places; rather than wrap each call,
    the traceback tells whose method the error came out of (the outermost frame of a method of
    theirs).
    """
    if isinstance(exc, TuneError) or not isinstance(exc, Exception):
        return None
    kinds = ((scheduler, SchedulerError), (searcher, SearcherError))
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        for component, error in kinds:
            if owner is component:
                method = f"{type(component).__name__}.{tb.tb_frame.f_code.co_name}"
                return error(f"{method} failed: {type(exc).__name__}: {exc}")
        tb = tb.tb_next
    return None
