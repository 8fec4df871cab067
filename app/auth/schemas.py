"""Request and response bodies of the auth API."""

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from app.pagination import PageArgsSchema, page_schema

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,32}$"
# bcrypt reads at most 72 bytes of a password (and bcrypt 5 refuses more).
PASSWORD_MAX_BYTES = 72


def fits_bcrypt(password):
    if len(password.encode()) > PASSWORD_MAX_BYTES:
        raise ma.ValidationError(f"At most {PASSWORD_MAX_BYTES} bytes in UTF-8.")


def new_password_field():
    """A password being chosen: 8 characters or more, at most what bcrypt reads."""
    return ma.fields.String(
        required=True, load_only=True, validate=[validate.Length(min=8, max=128), fits_bcrypt]
    )


def username_field(**kwargs):
    return ma.fields.String(
        validate=validate.Regexp(
            USERNAME_PATTERN, error="3 to 32 characters of letters, digits, '_', '.' or '-'."
        ),
        **kwargs,
    )


def email_field(**kwargs):
    return ma.fields.Email(validate=validate.Length(max=254), **kwargs)


def not_blank(text):
    if text is not None and not text.strip():
        raise ma.ValidationError("Must not be only spaces.")


class RegisterSchema(ma.Schema):
    username = username_field(required=True)
    email = email_field(required=True)
    password = new_password_field()


class ProfileUpdateSchema(ma.Schema):
    """What a user may change of their own profile; at least one field."""

    username = username_field()
    email = email_field()
    display_name = ma.fields.String(
        data_key="displayName",
        allow_none=True,
        validate=[validate.Length(min=1, max=64), not_blank],
        metadata={"description": "Shown instead of the username; null removes it"},
    )
    bio = ma.fields.String(validate=validate.Length(max=500))

    @ma.validates_schema
    def something_to_change(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.", "_schema")


class AccountDeletionSchema(ma.Schema):
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "The account's password, to confirm"},
    )


class PictureUploadSchema(ma.Schema):
    picture = Upload(
        required=True,
        metadata={"description": "A PNG, JPEG or WebP image (its part's Content-Type says which)"},
    )


class LoginSchema(ma.Schema):
    username = ma.fields.String(validate=validate.Length(min=1, max=254))
    email = ma.fields.String(validate=validate.Length(min=1, max=254))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(max=128))

    @ma.validates_schema
    def one_identifier(self, data, **kwargs):
        if not data.get("username") and not data.get("email"):
            raise ma.ValidationError("Give a username or an email.", "username")


class TokenSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    refresh_token = ma.fields.String()
    token_type = ma.fields.String(dump_default="Bearer")
    expires_in = ma.fields.Integer(metadata={"description": "Access token lifetime in seconds"})


class UserSchema(ma.Schema):
    """A user as the API shows it; never the password."""

    id = ma.fields.String(required=True)
    username = ma.fields.String(required=True)
    email = ma.fields.String()
    role = ma.fields.String()
    connected = ma.fields.Boolean()
    createdAt = ma.fields.DateTime(attribute="created_at")
    displayName = ma.fields.String(attribute="display_name", allow_none=True)
    bio = ma.fields.String()
    pictureUrl = ma.fields.String(
        attribute="picture_url",
        allow_none=True,
        metadata={"description": "The picture's URL (versioned), null without one"},
    )


class PublicUserSchema(ma.Schema):
    """What any signed-in user may see of another: enough to address and watch them."""

    id = ma.fields.String(required=True)
    username = ma.fields.String(required=True)
    connected = ma.fields.Boolean()


class UserQuerySchema(PageArgsSchema):
    username = ma.fields.String(metadata={"description": "Exact username to look up"})
    online = ma.fields.Boolean(metadata={"description": "Only users with a live socket"})


UserPageSchema = page_schema(UserSchema)


class RoleSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=validate.OneOf(["user", "admin"]))


class LogoutSchema(ma.Schema):
    refresh_token = ma.fields.String(
        metadata={"description": "Also revoke this refresh token (recommended)"}
    )
    everywhere = ma.fields.Boolean(
        load_default=False, metadata={"description": "Revoke every token of the user"}
    )


class PasswordChangeSchema(ma.Schema):
    current_password = ma.fields.String(required=True, load_only=True)
    new_password = new_password_field()
