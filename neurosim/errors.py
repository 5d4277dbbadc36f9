"""Errors a user can cause: each carries one sentence that names the problem.

The CLI turns any :class:`NeurosimError` (and a file system refusal, ``OSError``) into that
sentence on stderr and exit code 2; anything else is a bug and keeps its traceback. The
contract is stated in docs/api.md ("Errors: the contract") and in ``neurosim --help``.
"""


class NeurosimError(Exception):
    """Base class of every error caused by the user's input (files, options, models)."""


class GraphError(NeurosimError):
    """A network graph is malformed: unknown input, cycle, shape mismatch, bad parameter."""


class FormatError(NeurosimError):
    """A file on disk is missing, truncated, corrupt or of an unsupported version."""


class InputShapeError(NeurosimError):
    """Data given to the simulator does not match the graph's declared input shape."""


class DataError(NeurosimError):
    """A dataset or annotation file is missing or inconsistent."""


class ProfileError(NeurosimError):
    """A hardware profile is malformed or unknown."""


class DoesNotFit(NeurosimError):
    """A network does not fit on the chosen chip."""
