"""The unit tests' private copy of the deployment path, for checks that run the real tools."""

from tests.unit.deploy.conftest import repo

__all__ = ["repo"]
