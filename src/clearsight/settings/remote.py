"""What remote API users may make the service reach: camera sources, sink targets, local media.

An operator with an API key can add a camera or a webhook; without a limit that is a
server-side request forgery tool (probe loopback services, cloud metadata at
169.254.169.254, read any local file as MJPEG). The allow-list guards the service only:
the local CLI runs as the user on the machine, who controls it already.

Defaults: cameras on private networks (where IP cameras live), event targets anywhere
but this machine and link-local, nothing on loopback, local files only under the
media roots and only for admins.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

PRIVATE_NETWORKS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
NEVER_BY_DEFAULT = ["127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128", "224.0.0.0/4",
                    "ff00::/8"]


class AllowRule(BaseModel):
    """One allowed kind of endpoint: a URL matches when its scheme, every address its host
    resolves to, and its port all match."""

    schemes: list[str] = Field(description="URL schemes, lower case, e.g. rtsp, https, mqtt.")
    networks: list[str] = Field(
        default_factory=lambda: ["0.0.0.0/0", "::/0"],
        description="Networks (CIDR) the host's addresses must fall in; a host name is resolved first.",
    )
    exclude: list[str] = Field(
        default_factory=lambda: list(NEVER_BY_DEFAULT),
        description="Networks (CIDR) never allowed by this rule, even inside `networks`.",
    )
    ports: list[int] | None = Field(None, description="Allowed ports; None: any port.")


class RemoteAccess(BaseModel):
    camera_sources: list[AllowRule] = Field(
        default_factory=lambda: [AllowRule(schemes=["rtsp", "rtsps", "http", "https"], networks=list(PRIVATE_NETWORKS))],
        description="Network camera sources the service may open for API users. Default: RTSP and HTTP(S) cameras "
        "on private networks (10/8, 172.16/12, 192.168/16, fc00::/7), never loopback or link-local.",
    )
    event_targets: list[AllowRule] = Field(
        default_factory=lambda: [AllowRule(schemes=["http", "https", "mqtt", "mqtts"])],
        description="Webhook and MQTT targets of camera sinks. Default: any host except loopback, link-local, "
        "unspecified and multicast addresses.",
    )
    media_roots: list[Path] = Field(
        default_factory=list,
        description="Folders whose video files and image folders admins may use as camera sources through the API. "
        "Empty: <data_dir>/media. Nothing outside them is opened, and errors do not say what exists.",
    )
    webcams: bool = Field(False, description="Whether API users may open this machine's webcams (/dev/video*).")
