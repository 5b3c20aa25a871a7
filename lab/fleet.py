"""Ready-made fleets: the demo (one of everything, plus one device per fault) and N-device scale fleets."""
from __future__ import annotations

from .device import DeviceSpec
from .faults import AUTH_FAIL, DISCONNECT, GARBAGE, HANG, SLOW

DEFAULT_SEED = 20250101

# (inventory name, profile, device hostname, site).  The ASA failover units share one hostname,
# as a real pair does (the standby runs the replicated configuration); only their serials differ.
_DEMO = [
    ("hq-acc-stk01", "c9300_stack3", "hq-acc-stk01", "hq"),
    ("hq-core-svl01", "c9500_svl", "hq-core-svl01", "hq"),
    ("dc1-leaf01", "n9k_fex", "dc1-leaf01", "dc1"),
    ("dc1-pe01", "asr9006_exr", "dc1-pe01", "dc1"),
    ("dc1-fw01-pri", "asav30", "dc1-fw01", "dc1"),
    ("dc1-fw01-sec", "asav30", "dc1-fw01", "dc1"),
    ("br01-rtr01", "isr4331", "br01-rtr01", "branch01"),
    ("br01-acc-sw01", "c2960x_stack2", "br01-acc-sw01", "branch01"),
    ("cloud-rtr01", "c8000v", "cloud-rtr01", "cloud"),
]

# One device per fault kind, each on a profile whose output makes the fault interesting.
_FAULTY = [
    ("lab-fault-auth", "c8000v", AUTH_FAIL),
    ("lab-fault-hang", "isr4331", HANG),
    ("lab-fault-disconnect", "c9300_stack3", DISCONNECT),
    ("lab-fault-garbage", "c9500_svl", GARBAGE),
    ("lab-fault-slow", "asr9006_exr", SLOW),
]

# Profiles a scale fleet cycles through: every healthy profile of the demo.
SCALE_PROFILES = tuple(dict.fromkeys(profile for _, profile, _, _ in _DEMO))


def demo_fleet(
    latency: float = 0.2, jitter: float = 0.25, seed: int = DEFAULT_SEED, base_port: int = 0
) -> list[DeviceSpec]:
    """The demo fleet; ``base_port`` gives stable ports (base_port + i) instead of OS-chosen ones."""
    rows = [(name, profile, hostname, site, frozenset()) for name, profile, hostname, site in _DEMO]
    rows += [(name, profile, name, "lab-faults", frozenset({fault})) for name, profile, fault in _FAULTY]
    return [
        DeviceSpec(
            name=name, profile=profile, hostname=hostname, site=site, faults=faults,
            index=i, latency=latency, jitter=jitter, seed=seed, port=base_port + i if base_port else 0,
        )
        for i, (name, profile, hostname, site, faults) in enumerate(rows)
    ]


def scale_fleet(
    n: int,
    latency: float = 0.2,
    jitter: float = 0.25,
    seed: int = DEFAULT_SEED,
    sites: int = 20,
    profiles: tuple[str, ...] = SCALE_PROFILES,
    base_port: int = 0,
    first: int = 0,
) -> list[DeviceSpec]:
    """N healthy devices cycling through ``profiles``, spread over ``sites`` sites.  ``first``: the
    index of the first device, so labs in several processes (bench/scan_fleet.py --lab-processes)
    serve one fleet with unique names and serials."""
    specs = []
    for i in range(first, first + n):
        profile = profiles[i % len(profiles)]
        name = f"scale-{profile.replace('_', '-')}-{i:05d}"
        specs.append(
            DeviceSpec(
                name=name, profile=profile, site=f"site{i % sites:03d}", index=i,
                latency=latency, jitter=jitter, seed=seed, port=base_port + i - first if base_port else 0,
            )
        )
    return specs

