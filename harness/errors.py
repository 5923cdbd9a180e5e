"""Errors the harness reports to its user as one clear line."""


class HarnessError(Exception):
    """A problem the user can act on; its message is the whole story."""


class ToolMissing(HarnessError):
    pass


class PortInUse(HarnessError):
    pass


class ComponentFailed(HarnessError):
    pass
