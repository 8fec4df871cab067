"""The server's VAPID identity (RFC 8292): its key from the settings, its public half.

`VAPID_PRIVATE_KEY` is PEM, or the base64url raw 32-byte private key (the form web-push
tools print). `python -m app.channels.push.vapid` prints a fresh raw key; scripts/run.sh
uses it to give a development setup one of its own.
"""

import base64
import functools

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid, VapidException


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@functools.lru_cache(maxsize=8)
def load(private_key: str) -> Vapid:
    """The signer for a key as the settings hold it (PEM or base64url raw)."""
    text = private_key.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("VAPID_PRIVATE_KEY must be a P-256 (prime256v1) key")
        return Vapid(key)
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) != 32:
        raise ValueError(f"a raw key is 32 bytes, this one {len(raw)}")
    return Vapid(ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1()))


def public_key(private_key: str) -> str:
    """The applicationServerKey a browser subscribes with: the uncompressed point, base64url."""
    point = load(private_key).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(point)


def check(config) -> None:
    """Refuse, at start, a key that cannot sign or a subject push services would refuse."""
    private_key = config["VAPID_PRIVATE_KEY"]
    if not private_key:
        return
    try:
        signer = load(private_key)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise RuntimeError(
            f"VAPID_PRIVATE_KEY must be a P-256 key, PEM or base64url raw (32 bytes): {error}"
        ) from None
    try:  # py-vapid's own rules for `sub`, which it applies at every push
        signer.sign({"sub": config["VAPID_SUBJECT"], "aud": "https://push.example"})
    except VapidException:
        raise RuntimeError(
            f"VAPID_SUBJECT must be a mailto: address or an https: URL, "
            f"not {config['VAPID_SUBJECT']!r}"
        ) from None


def generate() -> str:
    """A new private key, base64url raw (32 bytes)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _b64url(key.private_numbers().private_value.to_bytes(32, "big"))


if __name__ == "__main__":
    print(generate())
