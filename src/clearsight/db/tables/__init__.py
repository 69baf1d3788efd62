"""Every table, by area; importing this package fills both metadata objects."""

from .cameras import CameraRow, RuleRow
from .events import EventRow, events_table
from .gallery import AuditHeadRow, AuditRow, ConsentRow, GroupMemberRow, GroupRow, IdentityRow, TemplateRow
from .keys import ApiKeyRow
from .kyc import KycSessionRow, LoginLockRow
from .plates import HotListPlateRow, HotListRow, PlateReadRow

__all__ = [
    "ApiKeyRow", "AuditHeadRow", "AuditRow", "CameraRow", "ConsentRow", "EventRow", "GroupMemberRow", "GroupRow",
    "HotListPlateRow", "HotListRow", "IdentityRow", "KycSessionRow", "LoginLockRow", "PlateReadRow", "RuleRow", "TemplateRow", "events_table",
]
