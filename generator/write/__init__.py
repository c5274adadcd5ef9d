"""Write rendered bundles into ``output/<cluster>/`` safely, and check them for drift.

Public API: :func:`apply`, :func:`check`, :class:`WriteReport`, :class:`Drift`, the errors in
:mod:`generator.write.refusals`, and :func:`gen_lock` (the ``output/.gen.lock`` run lock).
"""

from generator.write.apply import apply
from generator.write.drift import check, output_dirs
from generator.write.lock import DEFAULT_TIMEOUT as DEFAULT_LOCK_TIMEOUT
from generator.write.lock import gen_lock
from generator.write.paths import MANIFEST_NAME
from generator.write.refusals import (
    CorruptManifest,
    InvalidBundle,
    LockTimeout,
    UnsafePath,
    WriteError,
    WriteRefused,
)
from generator.write.summary import Drift, WriteReport

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "MANIFEST_NAME",
    "CorruptManifest",
    "Drift",
    "InvalidBundle",
    "LockTimeout",
    "UnsafePath",
    "WriteError",
    "WriteRefused",
    "WriteReport",
    "apply",
    "check",
    "gen_lock",
    "output_dirs",
]
