"""Master key rotation: every data key re-wrapped, while the service works, resumable."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlmodel import select

from shuttle import audit, keys
from shuttle.bootstrap import open_runtime
from shuttle.crypto import MASTER_KEY_FILE, NEXT_MASTER_KEY_FILE, MasterKey
from shuttle.models import DataKey, new_id
from shuttle.runtime import Runtime
from shuttle.settings import Settings

SLOTS = 2000


async def add_slots(runtime: Runtime, n: int) -> dict[str, str]:
    """``n`` case slots, each sealing a marker; returns slot -> its sealed-then-opened text."""
    sealed = {}
    async with runtime.write() as tx:
        for _ in range(n):
            slot = new_id()
            cipher = await tx.new_slot(slot)
            sealed[slot] = cipher.seal(f"marker {slot}", row="r", field="f").hex()
    return sealed


async def check_all(runtime: Runtime, sealed: dict[str, str]) -> None:
    """Every slot opens its marker through the runtime's key ring, as the service would."""
    async with runtime.read() as tx:
        for slot, blob in sealed.items():
            cipher = await tx.cipher(slot)
            assert cipher.open(bytes.fromhex(blob), row="r", field="f") == f"marker {slot}"


async def test_rotation_while_serving_interrupted_and_resumed(
    runtime: Runtime, settings: Settings
) -> None:
    """A service keeps creating and reading cases during a rotation that is stopped and resumed."""
    sealed = await add_slots(runtime, SLOTS)
    old = MasterKey.load(settings.data_dir)
    rotator = open_runtime(settings)  # the `shuttle keys rotate` process
    try:
        with pytest.raises(keys.RotationInterrupted):
            await keys.rotate(rotator, batch=300, stop_after_batches=2, settle_seconds=0)
        assert (settings.data_dir / NEXT_MASTER_KEY_FILE).exists()
        assert 0 < await keys.pending(rotator, old.key_id) < SLOTS
        # The service, mid-rotation: old and re-wrapped keys both open; new cases work.
        await check_all(runtime, sealed)
        sealed |= await add_slots(runtime, 5)

        async def serve() -> None:
            for _ in range(10):
                sealed.update(await add_slots(runtime, 3))
                await asyncio.sleep(0)

        started = time.perf_counter()
        rotation, _ = await asyncio.gather(
            keys.rotate(rotator, batch=300, settle_seconds=0.2), serve()
        )
        elapsed = time.perf_counter() - started
    finally:
        await rotator.db.dispose()
    print(f"\nrotated {rotation.rewrapped} of {len(sealed) + 1} keys in {elapsed:.2f} s")
    new = MasterKey.load(settings.data_dir)
    assert new.key_id == rotation.new_key_id != old.key_id
    assert not (settings.data_dir / NEXT_MASTER_KEY_FILE).exists()
    assert sorted(p.name for p in settings.data_dir.iterdir() if "master" in p.name) == [
        MASTER_KEY_FILE
    ]
    async with runtime.read() as tx:
        ids = set((await tx.session.exec(select(DataKey.master_key_id))).all())
        assert ids == {new.key_id}
        assert (await audit.verify(tx)).ok
    await check_all(runtime, sealed)  # the service's key ring followed the rotation
    fresh = open_runtime(settings)
    try:
        await check_all(fresh, sealed)
    finally:
        await fresh.db.dispose()
