"""QR codes, drawn as inline SVG on the server (no script, no image request)."""

from io import BytesIO

import qrcode
import qrcode.image.svg


def qr_svg(text: str) -> str:
    """The text as an SVG QR code (TOTP enrolment, body-camera provisioning)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()
