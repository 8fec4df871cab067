"""Profile pictures over real HTTP: what is accepted, what is kept, and how it is served.

Every picture in these tests is made with Pillow here, and every picture served
is opened with Pillow again: its format, size and metadata are what is checked.
"""

import io
import os

import pytest
from PIL import Image

from tests.support.clients import Api
from tests.support.processes import HeraldProcess, herald_env

ERROR_SHAPE = {"code", "status", "message", "errors"}
MAX_BYTES = 2 * 1024 * 1024


def assert_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_SHAPE and body["code"] == status
    return body


def image_bytes(size, fmt, mode="RGB", color="orange", **save):
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def noise_png(side):
    """A PNG of random pixels: it does not compress, so its size is about side² x 3 bytes."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def jpeg_with_exif(size):
    exif = Image.Exif()
    exif[0x010F] = "Herald Test Camera"  # Make
    exif[0x8825] = {0x0002: (48.0, 51.0, 24.0)}  # GPSInfo: a latitude
    return image_bytes(size, "JPEG", exif=exif.tobytes())


def upload(api, account, data, content_type, name="picture"):
    return api.put(
        "/api/users/me/picture",
        account=account,
        files={"picture": (name, data, content_type)},
    )


def served(api, user_id, **headers):
    return api.get(f"/api/users/{user_id}/picture", headers=headers)


@pytest.mark.parametrize(
    ("data", "content_type", "kept_size"),
    [
        (image_bytes((1024, 600), "PNG", "RGBA"), "image/png", (512, 300)),
        (jpeg_with_exif((800, 1000)), "image/jpeg", (410, 512)),
        (image_bytes((300, 200), "WEBP"), "image/webp", (300, 200)),  # small: not enlarged
    ],
)
def test_a_real_picture_is_kept_re_encoded_and_shrunk(
    api, alice, bob, data, content_type, kept_size
):
    response = upload(api, alice, data, content_type)
    assert response.status_code == 200, response.text
    url = response.json()["pictureUrl"]
    assert url.startswith(f"/api/users/{alice.id}/picture?v=")
    assert api.get("/api/users/me", account=alice).json()["pictureUrl"] == url

    picture = api.get(url)  # no token: an <img> sends none
    assert picture.status_code == 200
    assert picture.headers["Content-Type"] == "image/webp"
    kept = Image.open(io.BytesIO(picture.content))
    assert (kept.format, kept.size) == ("WEBP", kept_size)
    assert "exif" not in kept.info and not kept.getexif()
    assert picture.content != data
    listed = api.get("/api/users", account=bob, params={"username": alice.username}).json()
    assert listed["items"][0]["pictureUrl"] == url


def test_the_picture_is_cached_by_its_etag(api, alice):
    upload(api, alice, image_bytes((64, 64), "PNG"), "image/png")
    first = served(api, alice.id)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and len(etag) > 10
    cache = {part.strip() for part in first.headers["Cache-Control"].split(",")}
    assert {"public", "max-age=300", "must-revalidate"} <= cache

    again = served(api, alice.id, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert served(api, alice.id, **{"If-None-Match": '"something-else"'}).status_code == 200

    upload(api, alice, image_bytes((64, 64), "PNG", color="navy"), "image/png")
    changed = served(api, alice.id, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_a_user_without_a_picture_has_none(api, alice, bob):
    assert_error(served(api, bob.id), 404)
    assert_error(served(api, "not-a-user"), 404)
    assert api.get("/api/users/me", account=bob).json()["pictureUrl"] is None


def test_removing_the_picture(api, alice):
    upload(api, alice, image_bytes((64, 64), "PNG"), "image/png")
    assert api.delete("/api/users/me/picture", account=alice).status_code == 204
    assert_error(served(api, alice.id), 404)
    assert api.get("/api/users/me", account=alice).json()["pictureUrl"] is None
    assert api.delete("/api/users/me/picture", account=alice).status_code == 204  # idempotent


def _unchanged(api, account, before):
    """`account`'s picture is still the one served as `before`."""
    now = served(api, account.id)
    assert now.status_code == before.status_code
    assert now.content == before.content


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"just some text, not a picture", "image/png", 422),
        (noise_png(64)[:2000], "image/png", 422),  # truncated
        (image_bytes((64, 64), "GIF"), "image/png", 422),  # a real image, not accepted
        (image_bytes((8000, 8000), "PNG", "1"), "image/png", 422),  # 64 Mpx: a bomb
        (b"%PDF-1.4 not an image", "application/pdf", 415),
        (image_bytes((64, 64), "PNG"), "text/plain", 415),
        (image_bytes((64, 64), "GIF"), "image/gif", 415),
        (os.urandom(MAX_BYTES + 1024), "image/png", 413),
    ],
    ids=["text", "truncated", "gif-as-png", "bomb", "pdf", "text-type", "gif", "too-large"],
)
def test_anything_else_is_refused_and_the_old_picture_stays(api, alice, data, content_type, status):
    upload(api, alice, image_bytes((64, 64), "PNG"), "image/png")
    before = served(api, alice.id)
    assert_error(upload(api, alice, data, content_type), status)
    _unchanged(api, alice, before)


def test_a_picture_must_come_as_multipart(api, alice):
    response = api.put("/api/users/me/picture", account=alice, json={"picture": "aGVsbG8="})
    assert_error(response, 415)
    assert_error(api.put("/api/users/me/picture", account=alice, data={"other": "x"}), 415)
    missing = api.put(
        "/api/users/me/picture",
        account=alice,
        files={"photo": ("a.png", image_bytes((8, 8), "PNG"), "image/png")},
    )
    assert_error(missing, 422)
    assert_error(served(api, alice.id), 404)


def test_the_larger_limit_is_the_picture_routes_alone(api, alice, bob, server):
    # A picture near 2 MB is fine (noise does not compress, so the PNG is large)...
    large = noise_png(800)
    assert server.app.config["MAX_CONTENT_LENGTH"] < len(large) <= MAX_BYTES
    assert upload(api, alice, large, "image/png").status_code == 200
    # ...while every other route keeps MAX_CONTENT_LENGTH.
    limit = server.app.config["MAX_CONTENT_LENGTH"]
    assert_error(
        api.request("PATCH", "/api/users/me", account=alice, json={"bio": "x" * limit}), 413
    )


def test_uploading_needs_a_token(api):
    response = api.put(
        "/api/users/me/picture",
        files={"picture": ("a.png", image_bytes((8, 8), "PNG"), "image/png")},
    )
    assert_error(response, 401)


@pytest.mark.slow
def test_under_gunicorn_the_picture_is_decoded_off_the_hub(mongodb_uri):
    """Under the gevent worker the decoding runs in gevent's native thread pool
    (`run_blocking`); the threaded test server calls it directly."""
    with HeraldProcess(herald_env(mongodb_uri)).start() as herald:
        api = Api(herald.url)
        alice = api.register("alice")
        assert_error(upload(api, alice, b"not a picture", "image/png"), 422)
        response = upload(api, alice, noise_png(700), "image/png")
        assert response.status_code == 200, response.text
        kept = Image.open(io.BytesIO(api.get(response.json()["pictureUrl"]).content))
        assert (kept.format, kept.size) == ("WEBP", (512, 512))
