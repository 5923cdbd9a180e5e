"""What every wire-level fake shares: error rendering, admin surface, faults, journal, serving."""

from fakes.common.admin import ADMIN_PREFIX, admin_body
from fakes.common.app import fake_app
from fakes.common.errors import ErrorRenderer, ServiceError
from fakes.common.faults import Faults
from fakes.common.journal import Journal
from fakes.common.serve import Listener, add_listen_args, bind, serve

__all__ = [
    "ADMIN_PREFIX",
    "ErrorRenderer",
    "Faults",
    "Journal",
    "Listener",
    "ServiceError",
    "add_listen_args",
    "admin_body",
    "bind",
    "fake_app",
    "serve",
]
