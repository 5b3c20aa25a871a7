"""ibagent lab: simulated Cisco devices over SSH (and NETCONF, SNMP) on loopback, with ground truth.

Device profiles are package data (``lab/data/devices``, ``lab/data/peers``).  The lab may import
only the kernel (``agent.core``) of ibagent, so it never tests ibagent against itself; ``agent``
imports it only for ``ibagent lab`` and ``ibagent demo``.

    from lab.fleet import demo_fleet
    from lab.server import LabThread
    with LabThread(demo_fleet()) as lab:
        for device in lab.devices:
            print(device.name, device.port, device.truth.chassis_serial)
"""
from .device import DeviceSpec, RunningDevice
from .fleet import demo_fleet, scale_fleet
from .inventory import write_inventory
from .process import LabProcess
from .server import Lab, LabThread, start_lab
from .truth import DeviceTruth, TruthItem, TruthLicense, TruthUdi

__all__ = [
    "DeviceSpec",
    "DeviceTruth",
    "Lab",
    "LabProcess",
    "LabThread",
    "RunningDevice",
    "TruthItem",
    "TruthLicense",
    "TruthUdi",
    "demo_fleet",
    "scale_fleet",
    "start_lab",
    "write_inventory",
]
