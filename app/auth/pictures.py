"""Profile pictures: an upload is decoded and re-encoded with Pillow, and only the copy kept.

Re-encoding means only a real PNG, JPEG or WebP survives (whatever its name or
declared type), its EXIF and other metadata are dropped (camera, GPS position),
it is turned upright by its EXIF orientation first and shrunk to at most
`max_side` pixels on its longest side. The result is a WebP of a few tens of
kilobytes, stored in MongoDB beside the user and served with its hash as ETag.
A decoded upload takes up to 4 bytes a pixel, so PICTURE_MAX_PIXELS bounds the
memory one upload can take as well as refusing decompression bombs.
"""

import functools
import hashlib
import io

from PIL import Image, ImageOps

from app.auth.models import Picture, User
from app.concurrency import run_blocking
from app.errors import NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType

ACCEPTED_TYPES = ("image/png", "image/jpeg", "image/webp")
ACCEPTED_FORMATS = ("PNG", "JPEG", "MPO", "WEBP")  # MPO: a camera's JPEG with extra frames
STORED_TYPE, STORED_FORMAT = "image/webp", "WEBP"
WEBP_QUALITY = 85


def _refuse(message):
    return Unprocessable(message, errors={"picture": [message]})


def _open(data, *, max_pixels):
    """The upload as a Pillow image, header read only; 422 unless a PNG/JPEG/WebP of sane size."""
    try:
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # The warning is an exception only where warnings are errors (the tests).
        raise _refuse("The picture has too many pixels.") from None
    except Exception:  # Pillow raises many kinds on hostile input; none of it is ours
        raise _refuse("The file is not an image Herald can read.") from None
    if image.format not in ACCEPTED_FORMATS:
        raise _refuse("Only PNG, JPEG and WebP pictures are accepted.")
    width, height = image.size
    if width * height > min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels):
        raise _refuse("The picture has too many pixels.")
    return image


def _decoded(data, *, max_pixels, max_side):
    """Every pixel decoded (after `verify` checked the file's structure), upright and shrunk."""
    try:
        _open(data, max_pixels=max_pixels).verify()
        image = _open(data, max_pixels=max_pixels)  # verify() leaves the image unusable
        image.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale already
        image = ImageOps.exif_transpose(image)
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    except Unprocessable:
        raise
    except Exception:  # truncated or corrupt data, found while decoding
        raise _refuse("The image is damaged or incomplete.") from None
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def _has_alpha(image):
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def reencode(data, *, max_pixels, max_side):
    """`(bytes, width, height)` of the WebP Herald keeps for the upload `data`."""
    image = _decoded(data, max_pixels=max_pixels, max_side=max_side)
    out = io.BytesIO()
    image.save(out, STORED_FORMAT, quality=WEBP_QUALITY)  # no exif=, so no metadata
    return out.getvalue(), image.width, image.height


def set_picture(user, *, upload, max_bytes, max_pixels, max_side):
    """Replace `user`'s picture by the uploaded file (a werkzeug `FileStorage`)."""
    if upload.mimetype not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(
            "Send a PNG, JPEG or WebP picture (its part's Content-Type).",
            errors={"picture": [f"{upload.mimetype or 'no type'} is not accepted."]},
        )
    data = upload.stream.read(max_bytes + 1)
    if len(data) > max_bytes:  # the request's own limit normally answered already
        raise PayloadTooLarge(f"A picture may have at most {max_bytes} bytes.")
    # Decoding is C work of up to a few hundred milliseconds: off the gevent hub.
    work = functools.partial(reencode, data, max_pixels=max_pixels, max_side=max_side)
    encoded, width, height = run_blocking(work)
    etag = hashlib.sha256(encoded).hexdigest()[:32]
    Picture(
        id=user.id,
        data=encoded,
        content_type=STORED_TYPE,
        etag=etag,
        width=width,
        height=height,
    ).save()
    User.objects(id=user.id).update_one(set__picture_etag=etag)
    user.reload()
    return user


def get_picture(user_id):
    """The stored picture of `user_id`; 404 without one."""
    picture = Picture.objects(id=user_id).first()
    if picture is None:
        raise NotFound("This user has no picture.")
    return picture


def remove_picture(user):
    """Delete `user`'s picture (idempotent)."""
    User.objects(id=user.id).update_one(unset__picture_etag=True)
    Picture.objects(id=user.id).delete()
    user.reload()
    return user


def on_user_deleted(_app, *, user_id):
    """`signals.user_deleted`: the picture goes with its user."""
    Picture.objects(id=user_id).delete()
