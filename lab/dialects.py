"""How each platform's CLI talks: prompts, error wording, quirks.  Data, not branches."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dialect:
    prompt_space: str  # NX-OS and ASA print a space after the prompt character
    invalid: str  # message under the caret line
    incomplete: str
    blank_after_error: bool  # IOS leaves an empty line between the error and the prompt
    config_banner: str  # printed by 'configure terminal'
    timestamp: bool  # IOS XR prints the time before each command's output
    enable_denied: str  # wrong enable password
    extra_commands: tuple[str, ...] = ()  # platform-only built-ins, in every mode


_IOS = Dialect(
    prompt_space="",
    invalid="% Invalid input detected at '^' marker.",
    incomplete="% Incomplete command.",
    blank_after_error=True,
    config_banner="Enter configuration commands, one per line.  End with CNTL/Z.",
    timestamp=False,
    enable_denied="% Access denied",
)

DIALECTS = {
    "cisco_ios": _IOS,
    "cisco_xe": _IOS,
    "cisco_nxos": Dialect(
        prompt_space=" ",
        # Real NX-OS wording; it differs from IOS ("input detected") on purpose.
        invalid="% Invalid command at '^' marker.",
        incomplete="% Incomplete command at '^' marker.",
        blank_after_error=False,
        config_banner="Enter configuration commands, one per line. End with CNTL/Z.",
        timestamp=False,
        enable_denied="% Permission denied",
    ),
    "cisco_xr": Dialect(
        prompt_space="",
        invalid="% Invalid input detected at '^' marker.",
        incomplete="% Incomplete command.",
        blank_after_error=False,
        config_banner="",
        timestamp=True,
        enable_denied="% Permission denied",
    ),
    "cisco_asa": Dialect(
        prompt_space=" ",
        invalid="ERROR: % Invalid input detected at '^' marker.",
        incomplete="ERROR: % Incomplete command",
        blank_after_error=False,
        config_banner="",
        timestamp=False,
        enable_denied="Invalid password",
        # What netmiko's ASA driver sends first to see that the CLI is alive.
        extra_commands=("show curpriv",),
    ),
}
