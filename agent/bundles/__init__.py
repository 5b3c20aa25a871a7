"""Stage: bundles.  Sealed site bundles: how an air-gapped site's collections travel to the
central store on removable media, and how the central side knows they are the site's and whole.

``keys``: the Ed25519 signing key of a site and the public keys the central side trusts.
``seal``: the sealed file itself (a signed manifest of sha256 sums, then the members), written
atomically and read back with every byte verified before any of it is handed on.

What goes into a bundle (captures, records, scans, SLP state) and how it is merged is the
exporter's and importer's business; this package only guarantees that what comes out of
``open_bundle`` is exactly what the holder of a trusted key put in.
"""
from agent.bundles.keys import (  # noqa: F401  (the package's public names)
    SigningKeyError, TrustedKeys, generate_key, key_id, load_private_key, load_trusted_keys,
)
from agent.bundles.seal import BundleError, BundleReader, BundleWriter, open_bundle  # noqa: F401
