"""The VAPID settings: both key forms give the same public key; unusable ones stop the app."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app import create_app
from app.channels.push import vapid
from tests.support.push_service import b64url, public_point


def test_a_pem_key_and_its_raw_form_are_the_same_key():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    assert vapid.public_key(pem) == vapid.public_key(raw) == b64url(public_point(key))


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"VAPID_PRIVATE_KEY": "not-a-key"}, "VAPID_PRIVATE_KEY"),
        ({"VAPID_PRIVATE_KEY": b64url(b"k" * 31)}, "VAPID_PRIVATE_KEY"),
        (
            {
                "VAPID_PRIVATE_KEY": ec.generate_private_key(ec.SECP384R1())
                .private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                .decode()
            },
            "VAPID_PRIVATE_KEY",
        ),
        ({"VAPID_PRIVATE_KEY": vapid.generate(), "VAPID_SUBJECT": "ops"}, "VAPID_SUBJECT"),
    ],
    ids=["not a key", "31 bytes", "not P-256", "a subject that is no URL"],
)
def test_unusable_vapid_settings_stop_the_app_at_start(make_config, settings, complaint):
    with pytest.raises(RuntimeError, match=complaint):
        create_app(make_config(BACKGROUND_TASKS=False, **settings))
