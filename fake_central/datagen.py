"""Deterministic tenant data: sites and devices from a seed.

Everything random comes from one ``random.Random(seed)``, so the same seed and
sizes give the same tenant on every machine. Devices are kept as small slotted
records holding shared strings (models, firmware, site names); the JSON dicts the
API serves are rendered from them on demand. That keeps 100,000 devices to a few
tens of megabytes and lets generation finish in well under a second per 10,000.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "KINDS",
    "Device",
    "DeviceFactory",
    "ModelSpec",
    "make_site",
    "split_kinds",
]

KINDS: Final = ("aps", "switches", "gateways")

_SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O, as on labels
_SERIAL_PREFIXES = ("CN", "SG", "TW", "VN")
_GROUPS = ("default", "Campus", "Branch", "Retail", "Warehouse")
_PUBLIC_NETS = ("192.0.2", "198.51.100", "203.0.113")  # RFC 5737 documentation nets

# city, state, country, latitude, longitude, zipcode
_CITIES: Final = (
    ("Sunnyvale", "California", "United States", 37.3688, -122.0363, "94089"),
    ("Austin", "Texas", "United States", 30.2672, -97.7431, "78701"),
    ("Boston", "Massachusetts", "United States", 42.3601, -71.0589, "02110"),
    ("Chicago", "Illinois", "United States", 41.8781, -87.6298, "60601"),
    ("Denver", "Colorado", "United States", 39.7392, -104.9903, "80202"),
    ("Seattle", "Washington", "United States", 47.6062, -122.3321, "98101"),
    ("Toronto", "Ontario", "Canada", 43.6532, -79.3832, "M5H 2N2"),
    ("Montreal", "Quebec", "Canada", 45.5019, -73.5674, "H2Y 1C6"),
    ("London", "England", "United Kingdom", 51.5072, -0.1276, "EC1A 1BB"),
    ("Dublin", "Leinster", "Ireland", 53.3498, -6.2603, "D02 X285"),
    ("Paris", "Ile-de-France", "France", 48.8566, 2.3522, "75001"),
    ("Lyon", "Auvergne-Rhone-Alpes", "France", 45.7640, 4.8357, "69001"),
    ("Berlin", "Berlin", "Germany", 52.5200, 13.4050, "10115"),
    ("Munich", "Bavaria", "Germany", 48.1351, 11.5820, "80331"),
    ("Amsterdam", "North Holland", "Netherlands", 52.3676, 4.9041, "1012 JS"),
    ("Madrid", "Madrid", "Spain", 40.4168, -3.7038, "28013"),
    ("Milan", "Lombardy", "Italy", 45.4642, 9.1900, "20121"),
    ("Stockholm", "Stockholm", "Sweden", 59.3293, 18.0686, "111 20"),
    ("Bangalore", "Karnataka", "India", 12.9716, 77.5946, "560103"),
    ("Pune", "Maharashtra", "India", 18.5204, 73.8567, "411001"),
    ("Singapore", "Singapore", "Singapore", 1.3521, 103.8198, "018956"),
    ("Tokyo", "Tokyo", "Japan", 35.6762, 139.6503, "100-0005"),
    ("Sydney", "New South Wales", "Australia", -33.8688, 151.2093, "2000"),
    ("Dubai", "Dubai", "United Arab Emirates", 25.2048, 55.2708, "00000"),
    ("Shanghai", "Shanghai", "China", 31.2304, 121.4737, "200000"),
    ("Sao Paulo", "Sao Paulo", "Brazil", -23.5505, -46.6333, "01000-000"),
)
_SITE_KINDS = ("Office", "Branch", "Store", "Warehouse", "Campus", "Clinic", "Lab")
_STREETS = ("Main St", "Market St", "Station Rd", "Harbour Way", "Park Ave", "Mill Ln")


@dataclass(slots=True, frozen=True)
class ModelSpec:
    """One hardware model: how inventory and monitoring name it."""

    kind: str
    part_no: str
    inventory_model: str
    monitoring_model: str
    services: tuple[str, ...]
    firmware: tuple[str, ...]
    switch_type: str | None = None


_MODELS: Final[dict[str, tuple[ModelSpec, ...]]] = {
    "aps": (
        ModelSpec(
            "aps",
            "R2H28A",
            "AP-505",
            "505",
            ("foundation_ap",),
            ("10.4.1.0_88000", "8.10.0.6_87653"),
        ),
        ModelSpec(
            "aps",
            "Q9H62A",
            "AP-515",
            "515",
            ("foundation_ap",),
            ("10.4.1.0_88000", "10.5.0.2_89010"),
        ),
        ModelSpec(
            "aps", "R4H05A", "AP-535", "535", ("advanced_ap",), ("10.5.0.2_89010",)
        ),
        ModelSpec(
            "aps",
            "R7J28A",
            "AP-635",
            "635",
            ("advanced_ap",),
            ("10.5.0.2_89010", "10.6.0.1_90210"),
        ),
        ModelSpec(
            "aps", "JZ320A", "AP-303H", "303H", ("foundation_ap",), ("8.10.0.6_87653",)
        ),
    ),
    "switches": (
        ModelSpec(
            "switches",
            "JL675A",
            "6100",
            "6100 48G CL4 4SFP+ Switch",
            ("foundation_switch_6100",),
            ("10.13.1000", "10.14.1010"),
            "AOS-CX",
        ),
        ModelSpec(
            "switches",
            "JL726A",
            "6200F",
            "6200F 24G CL4 4SFP+ Switch",
            ("foundation_switch_6200",),
            ("10.13.1000",),
            "AOS-CX",
        ),
        ModelSpec(
            "switches",
            "JL661A",
            "6300M",
            "6300M 48G CL4 PoE 4SFP56 Switch",
            ("advanced_switch_6300",),
            ("10.14.1010",),
            "AOS-CX",
        ),
        ModelSpec(
            "switches",
            "JL322A",
            "2930M",
            "Aruba2930M-48G-PoE+ Switch",
            ("foundation_switch_2930",),
            ("WC.16.11.0012",),
            "AOS-S",
        ),
    ),
    "gateways": (
        ModelSpec(
            "gateways",
            "R1B20A",
            "9004",
            "A9004",
            ("foundation_70xx",),
            ("10.4.1.0_88000",),
        ),
        ModelSpec(
            "gateways",
            "R8W84A",
            "9012",
            "A9012",
            ("advanced_90xx_sec",),
            ("10.5.0.2_89010",),
        ),
        ModelSpec(
            "gateways",
            "JW680A",
            "7210",
            "A7210",
            ("foundation_72xx",),
            ("8.10.0.6_87653", "10.4.1.0_88000"),
        ),
    ),
}
_OUIS: Final = {"aps": "20:4c:03", "switches": "94:60:d5", "gateways": "00:0b:86"}
_NAME_PREFIX: Final = {"aps": "AP", "switches": "SW", "gateways": "GW"}


@dataclass(slots=True)
class Device:
    """One device of a tenant, kept small; API dicts are rendered from it."""

    kind: str
    index: int
    serial: str
    macaddr: str
    spec: ModelSpec
    firmware: str
    tier: str
    group: str
    site: str | None
    public_ip: str
    up: bool
    monitored: bool

    @property
    def name(self) -> str:
        return f"{_NAME_PREFIX[self.kind]}-{self.serial[-6:]}"

    @property
    def ip_address(self) -> str:
        n = self.index
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def make_site(rng: random.Random, site_id: int) -> dict[str, Any]:
    """A site dict exactly as ``GET /central/v2/sites`` serves it."""
    city, state, country, lat, lon, zipcode = rng.choice(_CITIES)
    kind = rng.choice(_SITE_KINDS)
    return {
        "site_id": site_id,
        "site_name": f"{city} {kind} {site_id:04d}",
        "address": f"{rng.randint(1, 999)} {rng.choice(_STREETS)}",
        "city": city,
        "state": state,
        "country": country,
        "zipcode": zipcode,
        "latitude": f"{lat + rng.uniform(-0.05, 0.05):.7f}",
        "longitude": f"{lon + rng.uniform(-0.05, 0.05):.7f}",
        "associated_device_count": 0,
        "tags": None,
    }


def split_kinds(devices: int) -> dict[str, int]:
    """How many APs, switches and gateways make up ``devices`` (about 72/20/8)."""
    gateways = devices * 8 // 100
    switches = devices * 20 // 100
    return {
        "aps": devices - switches - gateways,
        "switches": switches,
        "gateways": gateways,
    }


class DeviceFactory:
    """Makes unique devices for one tenant from its random generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._serials: set[str] = set()
        self._next_index = 1
        self._mac_base = {kind: rng.getrandbits(24) for kind in KINDS}
        self._mac_count = dict.fromkeys(KINDS, 0)

    def make(
        self, kind: str, site: dict[str, Any] | None, *, monitored: bool
    ) -> Device:
        rng = self._rng
        spec = rng.choice(_MODELS[kind])
        index, self._next_index = self._next_index, self._next_index + 1
        site_name = site["site_name"] if site is not None and monitored else None
        return Device(
            kind=kind,
            index=index,
            serial=self._serial(),
            macaddr=self._mac(kind),
            spec=spec,
            firmware=rng.choice(spec.firmware),
            tier="advanced"
            if spec.services[0].startswith("advanced")
            else "foundation",
            group=rng.choice(_GROUPS),
            site=site_name,
            public_ip=_public_ip(site["site_id"] if site is not None else 0),
            up=rng.random() < 0.92,
            monitored=monitored,
        )

    def _serial(self) -> str:
        rng = self._rng
        while True:
            bits = rng.getrandbits(40)
            body = "".join(_SERIAL_ALPHABET[(bits >> (5 * i)) % 34] for i in range(8))
            serial = rng.choice(_SERIAL_PREFIXES) + body
            if serial not in self._serials:
                self._serials.add(serial)
                return serial

    def _mac(self, kind: str) -> str:
        count = self._mac_count[kind]
        self._mac_count[kind] = count + 1
        nic = (self._mac_base[kind] + count) & 0xFFFFFF
        return f"{_OUIS[kind]}:{nic >> 16:02x}:{(nic >> 8) & 255:02x}:{nic & 255:02x}"


_PUBLIC_IPS: dict[int, str] = {}


def _public_ip(site_id: int) -> str:
    """The site's NAT address; one shared string per site keeps devices small."""
    slot = site_id % (len(_PUBLIC_NETS) * 254)
    address = _PUBLIC_IPS.get(slot)
    if address is None:
        net = _PUBLIC_NETS[slot % len(_PUBLIC_NETS)]
        address = _PUBLIC_IPS.setdefault(slot, f"{net}.{slot % 254 + 1}")
    return address
