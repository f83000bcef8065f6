"""How long a disclosure package takes to build for a big case, and how much memory it needs.

    .venv/bin/python -m bench.records_package [--items 10000] [--folder DIR]

Makes (once, in DIR) a SQLite service with one case whose requester wrote half the items and
was sent the other half (each written, submitted, approved and relayed, with audit entries as
the services make them), then measures, each in a fresh process so that peaks do not mix:

* ``compile``: ``compile_records`` (the JSON-ready records) and the inclusion proofs;
* ``package``: that plus records.json, records.html, the proofs and the ZIP, without the PDF;
* ``release``: the whole second approval as the service runs it (build, seal, store); a case
  this big is released without records.pdf, which a background task adds;
* ``pdf``: that background task (``disclosure.make_pdf``): records.pdf, at most
  ``records_pdf_max_items`` entries a list, made with WeasyPrint and added to the package.

For each: seconds, and the process's peak resident memory above its idle size (after imports
and opening the runtime). Issue 7's target: under 2 s and under 200 MB above idle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PHASES = ("compile", "package", "release", "pdf")
PASSWORD = "a long enough benchmark password"


def rss_mb() -> float:
    """The process's peak resident size so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def prepare(folder: Path, count: int) -> dict[str, str]:
    """The service, the case, the items; returns the ids the phases need."""
    from shuttle import accounts, audit, cases, disclosure
    from shuttle.access import Actor
    from shuttle.audit import AuditAction
    from shuttle.bootstrap import initialise, open_runtime
    from shuttle.models import Delivery, Item, ItemVersion, StatusChange, utcnow
    from shuttle.settings import Settings
    from shuttle.sharing import SharingConsent, version_digest

    settings = Settings(environment="test", data_dir=folder, database_url=None)
    await initialise(settings)
    rt = open_runtime(settings)
    lead_id = await accounts.add_user(
        rt, role="practitioner", email="lee@x.example", name="Lee", password=PASSWORD
    )
    other_id = await accounts.add_user(
        rt, role="practitioner", email="cole@x.example", name="Cole", password=PASSWORD
    )
    lead = Actor(user_id=lead_id, role="practitioner", authenticated_at=utcnow())
    case = await cases.create_case(
        rt, lead, reference="RJ-BENCH", sensitive_complex=False, lead_practitioner_id=None,
        supervisor_id=None,
    )  # fmt: skip
    await cases.add_practitioner(
        rt, lead, case["id"], user_id=other_id, role="co_worker", conflict_declared=False,
        conflict_details=None,
    )  # fmt: skip
    people = []
    for role, name in (("harmed", "Sam"), ("responsible", "Rob")):
        added = await cases.add_participant(
            rt,
            lead,
            case["id"],
            role=role,
            display_name=f"{name} Fullname",
            shown_to_others_as=name,
        )
        people.append(added["id"])
    sam, rob = people
    letter = "I have thought about what happened every day since. " * 20  # about 1 KB
    batch = 500
    for start in range(0, count, batch):
        async with rt.write() as tx:
            cipher = await tx.cipher(case["id"])
            for n in range(start, min(start + batch, count)):
                mine = n % 2 == 0
                author, recipient = (sam, rob) if mine else (rob, sam)
                item = Item(
                    case_id=case["id"], kind="letter", state="relayed",
                    author_participant_id=author, written_by=lead_id, created_at=tx.now,
                    submitted_at=tx.now, updated_at=tx.now,
                )  # fmt: skip
                sharing = SharingConsent("verbatim", (recipient,), "portal")
                body = f"{n}: {letter}"
                digest = version_digest(
                    item_id=item.id, number=1, kind="letter", body=body, sharing=sharing,
                    response_wanted="none",
                )  # fmt: skip
                version = ItemVersion(
                    item_id=item.id, number=1, body_enc=b"", scope="verbatim",
                    recipient_ids=json.dumps([recipient]), digest=digest, consent_given_by=lead_id,
                    created_at=tx.now,
                )  # fmt: skip
                version.body_enc = cipher.seal(body, row=f"item_version:{version.id}", field="body")
                tx.session.add(item)
                await tx.session.flush()  # no relationships: the item goes in before its rows
                tx.session.add(version)
                for revision, state in enumerate(("draft", "submitted", "approved", "relayed"), 1):
                    tx.session.add(
                        StatusChange(item_id=item.id, revision=revision, state=state, at=tx.now)
                    )
                delivery = Delivery(
                    item_id=item.id, case_id=case["id"], recipient_id=recipient, version=1,
                    version_digest=digest, attribution_tag="own_words", label_enc=b"",
                    from_enc=b"", body_enc=b"", relayed_at=tx.now,
                )  # fmt: skip
                row = f"delivery:{delivery.id}"
                delivery.label_enc = cipher.seal("In their own words", row=row, field="label")
                delivery.from_enc = cipher.seal("Sam" if mine else "Rob", row=row, field="from")
                delivery.body_enc = cipher.seal(body, row=row, field="body")
                tx.session.add(delivery)
                for action, subject in (
                    (AuditAction.ITEM_CREATE, {"item": item.id}),
                    (AuditAction.ITEM_SUBMIT, {"item": item.id}),
                    (AuditAction.DECISION_APPROVE, {"item": item.id}),
                    (AuditAction.RELAY_DELIVER, {"item": item.id, "delivery": delivery.id}),
                ):
                    await audit.record(tx, lead_id, action, case_id=case["id"], subject=subject)
    request = await disclosure.request_records(rt, lead, case["id"], sam)
    await disclosure.release(rt, lead, request["id"])  # the first approval
    await rt.db.dispose()
    return {"request": request["id"], "participant": sam, "second": other_id}


async def measure(folder: Path, phase: str, ids: dict[str, str]) -> dict[str, Any]:
    """One phase, timed, with the peak memory above idle."""
    from shuttle import checkpoints, disclosure
    from shuttle.access import Actor
    from shuttle.bootstrap import open_runtime
    from shuttle.models import DisclosureRequest, Participant, utcnow
    from shuttle.settings import Settings

    if phase in ("pdf", "release"):
        import weasyprint  # type: ignore[import-untyped]  # loaded before "idle", as a server has it

        assert weasyprint
    rt = open_runtime(Settings(environment="test", data_dir=folder, database_url=None))
    async with rt.read() as tx:  # open the database before "idle"
        await tx.session.get(Participant, ids["participant"])
    idle = rss_mb()
    started = time.perf_counter()
    size = 0
    if phase == "release":
        second = Actor(user_id=ids["second"], role="practitioner", authenticated_at=utcnow())
        done = await disclosure.release(rt, second, ids["request"])
        assert done["state"] == "released"
        assert done["pdf"] == "being_made", done  # by the next phase, not in this process
        for task in rt.background:
            task.cancel()
    elif phase == "pdf":
        await disclosure.make_pdf(rt, ids["request"])
        async with rt.read() as tx:
            request = await tx.session.get(DisclosureRequest, ids["request"])
            assert request is not None and request.package_enc is not None
            assert request.pdf_state is None, request.pdf_state
            size = len(request.package_enc)
    else:
        async with rt.read() as tx:
            participant = await tx.session.get(Participant, ids["participant"])
            request = await tx.session.get(DisclosureRequest, ids["request"])
            assert participant is not None and request is not None
            records = await disclosure.compile_records(tx, participant, request)
            proofs = await checkpoints.inclusion_proofs(
                tx, [event["seq"] for event in records["process"]]
            )
        if phase == "package":
            size = len(disclosure.build_package(records, rt.settings.web_dir, proofs, pdf=False))
    seconds = time.perf_counter() - started
    await rt.close()
    return {
        "phase": phase,
        "seconds": round(seconds, 2),
        "idle_mb": round(idle),
        "peak_above_idle_mb": round(rss_mb() - idle),
        "bytes": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--phase", choices=PHASES)
    parser.add_argument("--ids", default="")
    parser.add_argument("--phases", default=",".join(PHASES), help="which, comma-separated")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(asyncio.run(measure(args.folder, args.phase, json.loads(args.ids)))))
        return
    if args.folder is not None:
        results = run(args.items, args.folder, args.phases.split(","), show=print)
    else:
        with tempfile.TemporaryDirectory(prefix="shuttle-bench-records-") as tmp:
            results = run(args.items, Path(tmp), args.phases.split(","), show=print)
    for result in results:
        print(json.dumps(result))


def run(
    items: int, folder: Path, phases: list[str], show: Callable[[str], object] = lambda _: None
) -> list[dict[str, Any]]:
    """Prepare a case of ``items`` in ``folder``, then measure each phase in its own process."""
    started = time.perf_counter()
    ids = asyncio.run(prepare(folder, items))
    show(f"prepared {items} items in {time.perf_counter() - started:.0f} s in {folder}")
    results = []
    for phase in phases:
        out = subprocess.run(
            [sys.executable, "-m", "bench.records_package", "--folder", str(folder),
             "--phase", phase, "--ids", json.dumps(ids)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


if __name__ == "__main__":
    main()
