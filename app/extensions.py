"""Flask extensions, created here unbound and bound in `create_app` with `init_app`."""

from flask_jwt_extended import JWTManager
from flask_smorest import Api
from flask_sock import Sock

from app.errors import ErrorSchema
from app.openapi import CommonErrorsPlugin


class HeraldApi(Api):
    """flask-smorest's Api documenting Herald's error shape; `app.errors` handles errors."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        pass


api = HeraldApi(spec_kwargs={"extra_plugins": [CommonErrorsPlugin()]})
jwt = JWTManager()
sock = Sock()
