"""The photo library: people (anonymous until named), their faces and photos, naming with a
basis, merge, split, move, erase, and the audited search "photos of X (and Y)".

Browsing is `photos:read`; changing who is who is `photos:write`; searching by name is
`photos:search` (audited, named people with a valid `photos` basis only). Importing
(`POST /v1/photos/imports`) opens a folder on this machine, so it takes `photos:import`
(admins) and a folder under the media roots (`server.remote.media_roots`, as for camera
sources and footage); it runs in the background, one at a time, and `GET /v1/photos/imports`
shows its progress. `clearsight photos import` does the same in the foreground.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ...errors import InputError
from ...io.remote import check_local_path
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..state import ServiceState
from ..schemas import RowId, RowIdPath

router = APIRouter(prefix="/v1/photos", tags=["photos"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)

PersonPath = Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$", description="a person's id")
JPEG = {200: {"content": {"image/jpeg": {}}}}


class PersonOut(BaseModel):
    id: str
    name: str | None = Field(description="null while the person is an anonymous cluster")
    faces: int
    photos: int
    cover_face: int | None = Field(description="a face id to show for the person (`/v1/photos/faces/{id}/image`)")


class FaceOut(BaseModel):
    id: int
    photo_id: int
    person_id: str
    box: list[float]
    score: float


class PhotoOut(BaseModel):
    id: int
    path: str
    taken_at: datetime | None
    width: int
    height: int
    faces: list[dict]


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folder: str = Field(min_length=1, max_length=4096,
                        description="a folder under the media roots (absolute, or relative to the first root)")


class ImportRunOut(BaseModel):
    id: str
    folder: str
    state: Literal["queued", "running", "done", "failed", "stopped"] = Field(
        description="stopped: the service shut down mid-import; importing the folder again resumes it")
    done: int = Field(description="files handled so far")
    total: int | None = Field(description="photo files found (null until the folder is walked)")
    queued_at: datetime
    finished_at: datetime | None
    report: dict | None = Field(description="found, imported, duplicates, faces, new_people, problems (when done)")
    error: str | None


class NameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)
    legal_basis: str = Field(min_length=3, max_length=128,
                             description="the person's consent or the legal basis for naming them (purpose photos)")
    expires_at: datetime | None = Field(None, description="when that basis ends (ISO 8601)")


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    other: str = Field(min_length=1, max_length=32, description="the person merged into this one (then gone)")


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    faces: list[RowId] = Field(min_length=1, max_length=10_000, description="face ids that become a new person")


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: str = Field(min_length=1, max_length=32)


def _person(p) -> PersonOut:  # noqa: ANN001
    return PersonOut(**p.to_dict())


@router.get("/stats")
def stats(key: ApiKey = Depends(require(Permission.PHOTOS_READ)), state: ServiceState = Depends(get_state)) -> dict:
    return state.photos.stats()


@router.get("/people", response_model=list[PersonOut])
def people(key: ApiKey = Depends(require(Permission.PHOTOS_READ)),
           state: ServiceState = Depends(get_state)) -> list[PersonOut]:
    return [_person(p) for p in state.photos.people()]


@router.get("/people/{person_id}", response_model=PersonOut)
def person(person_id: str = PersonPath, key: ApiKey = Depends(require(Permission.PHOTOS_READ)),
           state: ServiceState = Depends(get_state)) -> PersonOut:
    return _person(state.photos.get_person(person_id))


@router.get("/people/{person_id}/photos", response_model=list[PhotoOut])
def person_photos(person_id: str = PersonPath, key: ApiKey = Depends(require(Permission.PHOTOS_READ)),
                  state: ServiceState = Depends(get_state)) -> list[PhotoOut]:
    return [PhotoOut(**p.to_dict()) for p in state.photos.person_photos(person_id)]


@router.get("/people/{person_id}/faces", response_model=list[FaceOut])
def person_faces(person_id: str = PersonPath, key: ApiKey = Depends(require(Permission.PHOTOS_READ)),
                 state: ServiceState = Depends(get_state)) -> list[FaceOut]:
    return [FaceOut(id=f.id, photo_id=f.photo_id, person_id=f.person_id, box=list(f.box), score=f.score)
            for f in state.photos.person_faces(person_id)]


@router.post("/people/{person_id}/name", response_model=PersonOut)
def name(body: NameIn, person_id: str = PersonPath, key: ApiKey = Depends(require(Permission.PHOTOS_WRITE)),
         state: ServiceState = Depends(get_state)) -> PersonOut:
    return _person(state.photos.name_person(person_id, body.name, legal_basis=body.legal_basis, actor=key.actor,
                                            expires_at=body.expires_at))


@router.post("/people/{person_id}/merge", response_model=PersonOut)
def merge(body: MergeIn, person_id: str = PersonPath, key: ApiKey = Depends(require(Permission.PHOTOS_WRITE)),
          state: ServiceState = Depends(get_state)) -> PersonOut:
    return _person(state.photos.merge_people(person_id, body.other, actor=key.actor))


@router.post("/people/{person_id}/split", response_model=PersonOut, status_code=201)
def split(body: SplitIn, person_id: str = PersonPath, key: ApiKey = Depends(require(Permission.PHOTOS_WRITE)),
          state: ServiceState = Depends(get_state)) -> PersonOut:
    return _person(state.photos.split_person(person_id, body.faces, actor=key.actor))


@router.delete("/people/{person_id}")
def erase(person_id: str = PersonPath, key: ApiKey = Depends(require(Permission.PHOTOS_WRITE)),
          state: ServiceState = Depends(get_state)) -> dict:
    return state.photos.erase_person(person_id, actor=key.actor)


@router.post("/faces/{face_id}/move", response_model=FaceOut)
def move(body: MoveIn, face_id: RowIdPath, key: ApiKey = Depends(require(Permission.PHOTOS_WRITE)),
         state: ServiceState = Depends(get_state)) -> FaceOut:
    f = state.photos.move_face(face_id, body.person_id, actor=key.actor)
    return FaceOut(id=f.id, photo_id=f.photo_id, person_id=f.person_id, box=list(f.box), score=f.score)


@router.get("/faces/{face_id}/image", response_class=Response, responses=JPEG)
def face_image(face_id: RowIdPath, key: ApiKey = Depends(require(Permission.PHOTOS_READ)),
               state: ServiceState = Depends(get_state)) -> Response:
    return Response(state.photos.face_crop(face_id), media_type="image/jpeg",
                    headers={"Cache-Control": "private, no-store"})


@router.get("/search", response_model=list[PhotoOut])
def search(person: list[str] = Query(min_length=1, max_length=10, description="names or ids of named people; "
                                                                             "photos showing all of them"),
           since: datetime | None = Query(None, description="taken at or after"),
           until: datetime | None = Query(None, description="taken before"),
           key: ApiKey = Depends(require(Permission.PHOTOS_SEARCH)),
           state: ServiceState = Depends(get_state)) -> list[PhotoOut]:
    return [PhotoOut(**p.to_dict()) for p in state.photos.search(person, actor=key.actor, since=since, until=until)]


@router.get("/{photo_id}/thumbnail", response_class=Response, responses=JPEG)
def thumbnail(photo_id: RowIdPath, key: ApiKey = Depends(require(Permission.PHOTOS_READ)),
              state: ServiceState = Depends(get_state)) -> Response:
    return Response(state.photos.thumbnail(photo_id), media_type="image/jpeg",
                    headers={"Cache-Control": "private, no-store"})


@router.post("/imports", response_model=ImportRunOut, status_code=202)
def start_import(body: ImportIn, key: ApiKey = Depends(require(Permission.PHOTOS_IMPORT)),
                 state: ServiceState = Depends(get_state)) -> ImportRunOut:
    """Import a folder in the background (incremental: photos already in the library are skipped)."""
    folder = check_local_path(body.folder, state.settings.media_roots(state.server.remote), "folder")
    if not folder.is_dir():
        raise InputError("folder: not a folder")
    return ImportRunOut(**state.photo_imports.submit(folder, actor=key.actor).to_dict())


@router.get("/imports", response_model=list[ImportRunOut])
def list_imports(_: ApiKey = Depends(require(Permission.PHOTOS_IMPORT)),
                 state: ServiceState = Depends(get_state)) -> list[ImportRunOut]:
    """This service's imports since it started, newest first, with their progress."""
    return [ImportRunOut(**r) for r in state.photo_imports.runs()]
