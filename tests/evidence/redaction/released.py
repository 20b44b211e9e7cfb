"""Items with real redacted copies, made by the real pipeline (evidence.processing.redaction)
run here rather than on a worker: a photo with a face, so it takes a second or two."""

import io

import numpy as np
from PIL import Image
from skimage import data

from evidence.models import Redaction
from evidence.processing import redaction as redaction_run
from tests.factories import stored_item


def face_photo_bytes(shade: int = 90) -> bytes:
    """A PNG with the astronaut's face on a flat background (a real face for CenterFace)."""
    canvas = np.full((240, 360, 3), shade, np.uint8)
    canvas[20:220, 100:300] = np.asarray(Image.fromarray(data.astronaut()).resize((200, 200)))
    out = io.BytesIO()
    Image.fromarray(canvas).save(out, format="PNG")
    return out.getvalue()


def photo_item(agency, *, shade: int = 90, **fields):
    return stored_item(
        agency=agency,
        content=face_photo_bytes(shade),
        original_filename=fields.pop("original_filename", "face.png"),
        media_type="image/png",
        media_kind="image",
        **fields,
    )


def redacted(item, *, by, fill="solid", approved_by=None) -> Redaction:
    """A redaction of `item` by the real job: with an approver, rendered and recorded; without
    one it stops at its review (a draft recipe, no copy), as every job does until approved."""
    job = Redaction.objects.create(item=item, fill=fill, requested_by=by, approved_by=approved_by)
    expected = Redaction.State.DONE if approved_by else Redaction.State.REVIEW
    assert redaction_run.run(job.pk) == expected
    job.refresh_from_db()
    return job
