"""Classic Cisco Software Licensing (CSL): IOS 15 Catalyst and ISR G2 licences, before Smart Licensing.

These devices answer ``show license status`` / ``show license`` / ``show license all`` with no
Smart Licensing section at all, which the Smart Licensing parser rightly does not recognise; the
answer is still the device's licence state (which technology level runs, on which licence), so it
is read here and recorded as classic licensing instead of failing as unreadable:

* ``show license``: ``Index 1 Feature: ipbase`` blocks with indented ``Period left``,
  ``License Type``, ``License State``, ``License Count``, ``License Priority`` lines;
* ``show license all``: the same blocks headed ``StoreIndex:  0  Feature: ipbasek9  Version: 1.0``;
* ``show license status``: the ``License Type Supported`` / ``License Operation Supported`` lists
  and the ``Device status`` credential lines (no feature state), and on Catalyst switches the
  level lines ``License Level: ipbase  Type: Permanent`` / ``Next reload License Level: ipbase``.

Lines are split with ``str.partition``: no pattern, so no line can make this slow (issue 12).
"""
from __future__ import annotations

from agent.core.models import LicenseStatus

# Indented 'Key: value' lines of a feature block -> the key kept in classic_licenses.
_FEATURE_KEYS = {
    "period left": "period_left",
    "license type": "type",
    "license state": "state",
    "license count": "count",
    "license priority": "priority",
}
# Lines only CSL's 'show license status' prints: proof of classic licensing without a feature.
_STATUS_MARKERS = ("license type supported", "license operation supported", "device credential type",
                   "device credential verification", "rehost type")


def _feature_head(line: str, low: str) -> str:
    """'Index 1 Feature: ipbase' / 'StoreIndex:  0  Feature: ipbasek9  Version: 1.0' -> the feature."""
    if not (low.startswith("index ") or low.startswith("storeindex")) or "feature:" not in low:
        return ""
    rest = line[low.index("feature:") + len("feature:"):].split()
    return rest[0] if rest else ""


def parse(text: str) -> LicenseStatus | None:
    """The classic licence state in ``text``, or None when the text is not CSL output."""
    st = LicenseStatus(device="", smart_licensing_enabled=False, licensing="classic")
    recognised = False
    current: dict[str, str] | None = None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        low = line.lower()
        feature = _feature_head(line, low)
        if feature:
            current = {"feature": feature}
            st.classic_licenses.append(current)
            recognised = True
            continue
        key, sep, value = line.partition(":")
        key_low = " ".join(key.split()).lower()
        if low.startswith(_STATUS_MARKERS):
            recognised = True
            current = None
            continue
        if not sep:
            continue
        if key_low == "license level":
            # 'License Level: ipbase  Type: Permanent' (one line) or 'License Level: ipbase'.
            level, tsep, ltype = value.partition("Type:")
            st.license_level = " ".join(level.split())
            if tsep:
                st.license_type = " ".join(ltype.split())
            recognised, current = True, None
            continue
        if key_low == "next reload license level":
            st.next_reload_level = " ".join(value.split())
            recognised, current = True, None
            continue
        if current is not None and raw[:1].isspace() and key_low in _FEATURE_KEYS:
            current[_FEATURE_KEYS[key_low]] = " ".join(value.split())
            continue
        if key_low == "license type" and not raw[:1].isspace():  # the level's own type line
            st.license_type = " ".join(value.split())
            current = None
    return st if recognised else None
