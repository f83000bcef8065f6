"""Master key rotation: re-wrap every data key under a new master key, while the service runs.

The steps, each safe to interrupt and repeat (``rotate`` simply carries on):

1. Create ``master.key.next`` (0600) if there is none. From then on the running service
   wraps new data keys under it (``KeyRing.refresh`` sees the file).
2. Re-wrap, batch by batch, every ``data_key`` row not yet under the new key; each batch is
   one transaction, and each row changes only if it is still what was read.
3. Wait a moment for writes that began before step 1 to commit, and look once more.
4. Record the rotation in the audit log, then put the new key in place of ``master.key``
   (an atomic rename) and overwrite the old key's bytes before unlinking them.

Data keys themselves never change, so nothing else is re-encrypted; destroying a case's data
key still destroys the case.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select

from shuttle import audit
from shuttle.audit import AuditAction
from shuttle.crypto import (
    MASTER_KEY_FILE,
    NEXT_MASTER_KEY_FILE,
    MasterKey,
    create_next_master_key,
    fsync_dir,
)
from shuttle.models import DataKey
from shuttle.runtime import Runtime

Progress = Callable[[int], None]
RETIRED_SUFFIX = ".retired"


@dataclass
class Rotation:
    """What a rotation did: the old and new key ids, how many keys it re-wrapped, how long."""

    old_key_id: str
    new_key_id: str
    rewrapped: int
    seconds: float


def _erase(path: Path) -> None:
    """Overwrite a key file with random bytes, flush, and unlink it.

    On copy-on-write or wear-levelled storage old blocks may survive an overwrite; the
    operator's guide (docs/records.md) says so and what to do about it.
    """
    with contextlib.suppress(FileNotFoundError):
        with path.open("r+b") as handle:
            handle.write(os.urandom(max(path.stat().st_size, 32)))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        fsync_dir(path.parent)


async def pending(rt: Runtime, key_id: str) -> int:
    """How many data keys are not yet wrapped under the master key ``key_id``."""
    async with rt.read() as tx:
        query = select(DataKey.id).where(col(DataKey.master_key_id) != key_id)
        return len((await tx.session.exec(query)).all())


async def _rewrap_batch(rt: Runtime, new: MasterKey, batch: int) -> int:
    """Re-wrap up to ``batch`` data keys under ``new``; returns how many changed."""
    async with rt.write() as tx:
        query = (
            select(DataKey)
            .where(col(DataKey.master_key_id) != new.key_id)
            .order_by(col(DataKey.id))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        rows = (await tx.session.exec(query)).all()
        for row in rows:
            old = tx.keys.master_for(row.master_key_id)
            data_key = old.unwrap(row.id, row.wrapped)
            row.wrapped = new.wrap(row.id, data_key)
            row.master_key_id = new.key_id
            tx.session.add(row)
        return len(rows)


async def rotate(
    rt: Runtime,
    *,
    batch: int = 500,
    settle_seconds: float = 2.0,
    progress: Progress | None = None,
    stop_after_batches: int | None = None,
) -> Rotation:
    """Rotate the master key (or finish a rotation that was interrupted).

    ``stop_after_batches`` stops early as an interruption would (for tests); ``progress`` is
    told how many keys each batch re-wrapped.
    """
    started = time.monotonic()
    data_dir = rt.settings.data_dir
    next_path, current_path = data_dir / NEXT_MASTER_KEY_FILE, data_dir / MASTER_KEY_FILE
    retired = current_path.with_name(MASTER_KEY_FILE + RETIRED_SUFFIX)
    if retired.exists():
        if next_path.exists():
            # Stopped between the link and the rename: the retired name is master.key's own
            # inode, still in use, so only the name goes.
            retired.unlink()
        else:
            _erase(retired)  # stopped after the rename: the old key is no longer needed
    old = MasterKey.load(data_dir)
    create_next_master_key(data_dir)
    new = MasterKey.load(data_dir, NEXT_MASTER_KEY_FILE)
    rt.keys.refresh()
    done = batches = 0
    while True:
        changed = await _rewrap_batch(rt, new, batch)
        done, batches = done + changed, batches + 1
        if progress is not None and changed:
            progress(changed)
        if stop_after_batches is not None and batches >= stop_after_batches:
            raise RotationInterrupted(done)
        if changed:
            continue
        # Nothing left: give writes that wrapped under the old key just before the new key
        # appeared time to commit, then look again before the old key goes.
        await asyncio.sleep(settle_seconds)
        if await pending(rt, new.key_id) == 0:
            break
    async with rt.write() as tx:
        await audit.record(
            tx,
            None,
            AuditAction.KEYS_ROTATE,
            subject={"from": old.key_id, "to": new.key_id, "rewrapped": done},
        )
    os.link(current_path, retired)
    os.replace(next_path, current_path)
    fsync_dir(data_dir)
    _erase(retired)
    rt.keys.refresh()
    rt.keys.forget_master(old.key_id)
    return Rotation(old.key_id, new.key_id, done, time.monotonic() - started)


class RotationInterrupted(RuntimeError):
    """The rotation stopped part way (on purpose, in tests); run it again to finish."""

    def __init__(self, rewrapped: int) -> None:
        super().__init__(f"rotation stopped after re-wrapping {rewrapped} keys")
        self.rewrapped = rewrapped
