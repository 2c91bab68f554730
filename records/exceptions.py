"""Records' domain errors, each with the code and status of api-v1.md."""

from booking.exceptions import RecordNotFinalised
from clinic_site.exceptions import Conflict

__all__ = ["RecordFinalised", "RecordNotFinalised", "RecordNotOpen"]


class RecordFinalised(Conflict):
    code = "record_finalised"
    default_detail = (
        "This consultation record is finalised and cannot be changed; add an addendum instead."
    )


class RecordNotOpen(Conflict):
    """The appointment is not (or no longer) one a record can be written for: not yet on its
    day, cancelled, missed."""

    code = "record_not_open"
    default_detail = (
        "A consultation record can be written only on the day of a confirmed visit, "
        "once the patient is checked in, or for a completed visit."
    )
