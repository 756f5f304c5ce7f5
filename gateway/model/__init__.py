"""Pure domain model: agencies, envelopes, delivery states. No I/O lives here."""

from gateway.model.agency import Agency, AgencyCode, Directory
from gateway.model.delivery import Delivery, Event, IllegalTransition, State, apply
from gateway.model.document import (
    DEFAULT_LIMITS,
    Attachment,
    Envelope,
    Limits,
    Secrecy,
    Urgency,
    uuid7,
    validate_envelope,
)
from gateway.model.envelope_codec import envelope_from_dict, envelope_to_dict
from gateway.model.errors import Problem, Refused, ui_language

__all__ = [
    "DEFAULT_LIMITS", "Agency", "AgencyCode", "Attachment", "Delivery", "Directory", "Envelope",
    "Event", "IllegalTransition", "Limits", "Problem", "Refused", "Secrecy", "State", "Urgency",
    "apply", "envelope_from_dict", "envelope_to_dict", "ui_language", "uuid7",
    "validate_envelope",
]
