"""The exceptions llmobs raises on purpose; the CLI turns each into one line on stderr and exit 2.

    LlmobsError
    ├── InputError    a path, file or line that cannot be used (missing file, bad line with --strict)
    └── ConfigError   a configuration file or option that is wrong (unknown key, bad value)
"""

from __future__ import annotations


class LlmobsError(Exception):
    """Base of every error llmobs reports to the user rather than treating as a bug."""


class InputError(LlmobsError):
    """Input that cannot be read or, in strict mode, a line that is not a valid record."""


class ConfigError(LlmobsError):
    """A configuration file, table or option that is wrong; the message names the key."""
