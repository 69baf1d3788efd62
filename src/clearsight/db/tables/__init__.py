"""Every table, by area; importing this package fills both metadata objects."""

from .cameras import CameraRow, RuleRow
from .events import EventRow, events_table
from .facepay import (FacePayAccountRow, FacePayDisputeRow, FacePayEntryRow, FacePayGateRow, FacePayJourneyRow,
                      FacePayPassageRow, FacePayRiderRow, FacePayTxnRow)
from .footage import FootageTrackRow, FootageVideoRow
from .gallery import AuditHeadRow, AuditRow, ConsentRow, GroupMemberRow, GroupRow, IdentityRow, TemplateRow
from .keys import ApiKeyRow
from .kyc import KycSessionRow, LoginLockRow
from .photos import PhotoConsentRow, PhotoFaceRow, PhotoPersonRow, PhotoRow
from .plates import HotListPlateRow, HotListRow, PlateReadRow

__all__ = [
    "ApiKeyRow", "AuditHeadRow", "AuditRow", "CameraRow", "ConsentRow", "EventRow", "FacePayAccountRow",
    "FacePayDisputeRow", "FacePayEntryRow", "FacePayGateRow", "FacePayJourneyRow", "FacePayPassageRow",
    "FacePayRiderRow", "FacePayTxnRow", "FootageTrackRow", "FootageVideoRow", "GroupMemberRow", "GroupRow",
    "HotListPlateRow", "HotListRow", "IdentityRow", "KycSessionRow", "LoginLockRow", "PhotoConsentRow",
    "PhotoFaceRow", "PhotoPersonRow", "PhotoRow", "PlateReadRow", "RuleRow", "TemplateRow", "events_table",
]
