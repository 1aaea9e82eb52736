"""Failpoints: named places where a test makes a run die or fail on purpose, to prove
that a run stopped there leaves every earlier model and snapshot serving.

Off unless $DEALER_RISK_FAILPOINTS names one: `point=action[,point=action]`, the action
`kill` (SIGKILL: no handler, no cleanup, as from the OOM killer or a power cut) or
`enospc` (an OSError "No space left on device", as from a full disk). The points are
listed in POINTS; docs/retraining.md says what each run leaves behind.
"""

from __future__ import annotations

import errno
import os
import signal

ENV = "DEALER_RISK_FAILPOINTS"
POINTS = {
    "snapshot.population": "score: the population file is written, the snapshot not yet",
    "snapshot.written": "score: the snapshot's temporary file is written, not yet renamed",
    "train.registered": "train: the first model's version is registered, its alias not set",
    "train.promoted": "train: the first model's alias is set, the other models' not yet",
    "retrain.trained": "retrain: the models are trained and gated, nothing rescored yet",
}


def failpoint(point: str) -> None:
    """Die or fail here if $DEALER_RISK_FAILPOINTS asks for it; otherwise nothing."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    for item in spec.split(","):
        name, _, action = item.strip().partition("=")
        if name != point:
            continue
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if action == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise ValueError(f"{ENV}: unknown action '{action}' for {point} (kill or enospc)")
