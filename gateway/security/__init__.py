"""Security primitives: the provincial CA, gateway identities, enrollment tokens, TLS contexts.

No HTTP lives here; the hub and gateway wire these into their handlers and clients.
"""

from gateway.security.ca import (
    AGENCY_URI_PREFIX,
    CA_VALIDITY,
    CLIENT_VALIDITY,
    SERVER_VALIDITY,
    VALID_FROM,
    CertificateAuthority,
    PkiError,
    agency_from_certificate,
    agency_from_der,
    check_agency,
    create_ca,
    default_server_names,
    load_ca,
)
from gateway.security.identity import (
    Identity,
    cert_fingerprint,
    csr_for,
    generate_key_and_csr,
    identity_agency,
    load_identity,
    load_or_create_key,
    save_identity,
)
from gateway.security.tls import cert_serial, client_context, peer_agency, server_context
from gateway.security.tokens import (
    constant_time_equals,
    format_ttl,
    new_admin_token,
    new_token,
    parse_ttl,
    token_digest,
)

__all__ = [
    "AGENCY_URI_PREFIX", "CA_VALIDITY", "CLIENT_VALIDITY", "SERVER_VALIDITY", "VALID_FROM",
    "CertificateAuthority", "Identity", "PkiError", "agency_from_certificate", "agency_from_der",
    "cert_fingerprint", "cert_serial", "check_agency", "client_context", "constant_time_equals",
    "create_ca", "csr_for", "default_server_names", "format_ttl", "generate_key_and_csr",
    "identity_agency", "load_ca", "load_identity", "load_or_create_key", "new_admin_token",
    "new_token", "parse_ttl", "peer_agency",
    "save_identity", "server_context", "token_digest",
]
