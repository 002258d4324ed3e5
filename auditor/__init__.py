"""whp-audit: audit a Work and Health Programme referral against its procedure.

The flow is load -> replay -> findings -> report:
`auditor.load` reads a case, `auditor.replay` runs it on the procedure's
state machine, `auditor.evaluate` and `auditor.findings` decide each rule,
and `auditor.audit.audit` is the single entry point.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("whp-audit")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+checkout"

__all__ = ["__version__"]
