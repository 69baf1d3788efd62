"""Groups and watchlists: named sets of identities a search can be restricted to."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..schemas import GroupCreate, GroupOut, GroupPage
from ..state import ServiceState

router = APIRouter(prefix="/v1/groups", tags=["groups"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)

NamePath = Path(min_length=1, max_length=100, description="the group's name")


@router.get("", response_model=GroupPage)
def list_groups(
    key: ApiKey = Depends(require(Permission.IDENTITIES_READ)), state: ServiceState = Depends(get_state)
) -> GroupPage:
    return GroupPage(items=[GroupOut(**g.to_dict()) for g in state.gallery.list_groups()])


@router.post("", response_model=GroupOut, status_code=201)
def create_group(
    body: GroupCreate, key: ApiKey = Depends(require(Permission.IDENTITIES_WRITE)), state: ServiceState = Depends(get_state)
) -> GroupOut:
    return GroupOut(**state.gallery.create_group(body.name, actor=key.actor).to_dict())


@router.put("/{name}/members/{identity_id}", response_model=GroupOut)
def add_member(
    name: str = NamePath,
    identity_id: str = Path(min_length=1, max_length=64),
    key: ApiKey = Depends(require(Permission.IDENTITIES_WRITE)),
    state: ServiceState = Depends(get_state),
) -> GroupOut:
    g = state.gallery
    g.add_member(name, identity_id, actor=key.actor)
    return _group(state, name)


@router.delete("/{name}/members/{identity_id}", response_model=GroupOut)
def remove_member(
    name: str = NamePath,
    identity_id: str = Path(min_length=1, max_length=64),
    key: ApiKey = Depends(require(Permission.IDENTITIES_WRITE)),
    state: ServiceState = Depends(get_state),
) -> GroupOut:
    g = state.gallery
    g.remove_member(name, identity_id, actor=key.actor)
    return _group(state, name)


def _group(state: ServiceState, name: str) -> GroupOut:
    for grp in state.gallery.list_groups():
        if grp.name == name:
            return GroupOut(**grp.to_dict())
    from ...gallery.errors import NotFoundError

    raise NotFoundError(f"no group named {name!r}")
