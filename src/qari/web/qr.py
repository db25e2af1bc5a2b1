"""QR codes for the dashboard, drawn on this server with `segno` (pure Python, no network): the
two-factor set-up shows the otpauth URI as a scannable code without sending the secret anywhere."""

from __future__ import annotations

import segno


def qr_svg_data_uri(text: str) -> str:
    """`text` as an SVG QR code in a `data:` URI (the dashboard's CSP allows `img-src data:`)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=5, border=2, dark="#16202b"))
