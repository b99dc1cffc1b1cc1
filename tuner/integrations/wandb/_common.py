"""What the W&B callback and `setup_wandb` share: the API key, what W&B can take."""

from __future__ import annotations

import logging
import numbers
import os
import threading
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

WANDB_ENV_VAR = "WANDB_API_KEY"
WANDB_PROJECT_ENV_VAR = "WANDB_PROJECT_NAME"
WANDB_GROUP_ENV_VAR = "WANDB_GROUP_NAME"
DEFAULT_UPLOAD_TIMEOUT_S = 1800
"""How long the driver waits at the end for the trials' runs to finish uploading (Ray's)."""

INIT_LOCK = threading.Lock()  # wandb.init sets up process-wide state: one at a time


def import_wandb() -> ModuleType:
    try:
        import wandb
    except ImportError as exc:
        raise ImportError(
            "tuner.integrations.wandb needs wandb: pip install 'tuner[wandb]' "
            "(or pip install wandb)"
        ) from exc
    return wandb


def set_api_key(api_key_file: str | None, api_key: str | None, mode: str | None) -> None:
    """Put the key where wandb looks (WANDB_API_KEY); refuse early an online run without one."""
    if api_key_file and api_key:
        raise ValueError(
            "pass either api_key or api_key_file to W&B, not both: keep the one you mean"
        )
    if api_key_file:
        with open(os.path.expanduser(api_key_file)) as f:
            api_key = f.readline().strip()
        if not api_key:
            raise ValueError(f"the W&B api_key_file {api_key_file!r} is empty: put the key in it")
    if api_key:
        os.environ[WANDB_ENV_VAR] = api_key
        return
    mode = mode or os.environ.get("WANDB_MODE")
    if mode in ("offline", "disabled", "dryrun") or os.environ.get(WANDB_ENV_VAR):
        return
    try:  # `wandb login` keeps the key in ~/.netrc
        from wandb.sdk.lib.wbauth.wbnetrc import read_netrc_auth

        base_url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
        if read_netrc_auth(host=base_url):
            return
    except Exception:  # noqa: BLE001 - wandb's internals moved: let wandb.init decide
        return
    raise ValueError(
        f"no W&B API key: set {WANDB_ENV_VAR}, pass api_key or api_key_file, run `wandb login`,"
        " or log offline with WANDB_MODE=offline (or mode='offline')"
    )


def is_loggable(value: Any) -> bool:
    """Numbers, W&B media objects (and lists of them), and one-element numpy arrays."""
    from wandb.sdk.data_types.base_types.wb_value import WBValue

    size = getattr(value, "size", None)
    if size == 1 and hasattr(value, "item"):
        return isinstance(value.item(), numbers.Number)
    if isinstance(value, Sequence) and not isinstance(value, str) and value:
        return isinstance(value[0], WBValue)
    return isinstance(value, (numbers.Number, WBValue))


def clean(value: Any) -> Any:
    """A config value W&B can store: containers kept, numbers and strings as they are, anything
    else as its string (W&B's config must be JSON)."""
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [clean(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if hasattr(value, "item") and getattr(value, "size", None) == 1:
        return value.item()
    return str(value)
