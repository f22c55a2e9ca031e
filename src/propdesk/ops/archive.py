"""The KYC documents' tar in a backup (ops/backup.py): written from the storage's folder, and on
restore checked member by member before anything changes, then unpacked into that folder only.

A backup folder can come from anywhere an operator copies it from, so its tar is read as hostile:
an absolute name, a `..`, a link, a device or a pipe would write, link or change permissions
outside the documents' folder. Such an archive is refused whole, before the database is touched:
a restore that stops halfway is worse than one that never starts."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath


class ArchiveError(Exception):
    """The archive cannot be restored; the message names the member and why."""


def many(count: int, thing: str) -> str:
    return f"{count} {thing}{'' if count == 1 else 's'}"


def pack(folder: Path, out: Path) -> int:
    """Every regular file under `folder` into a new tar `out` (owner-only); how many."""
    count = 0
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        for path in _files_under(folder):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
            count += 1
    return count


def _files_under(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                yield path


def check(archive: Path, folder: Path | None) -> int:
    """How many regular files the archive holds, once every member is found safe to unpack into
    `folder` (or, with no folder, safe by its name); ArchiveError at the first one that is not."""
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
    except (tarfile.TarError, OSError) as exc:
        raise ArchiveError(f"it is not a readable tar archive ({exc})") from None
    for member in members:
        _check_member(member, folder)
    return sum(1 for member in members if member.isfile())


def _check_member(member: tarfile.TarInfo, folder: Path | None) -> None:
    name = member.name
    path = PurePosixPath(name)
    if not (member.isfile() or member.isdir()):
        raise _refused(name, f"a {_kind(member)}, not a regular file or folder")
    if path.is_absolute() or name.startswith(("/", os.sep)):
        raise _refused(name, "an absolute name")
    if ".." in path.parts:
        raise _refused(name, "a name that climbs out of the folder with '..'")
    if member.isfile() and not path.parts:
        raise _refused(name, "a file without a name")
    if folder is None:
        return
    try:
        tarfile.data_filter(member, str(folder))
    except tarfile.FilterError as exc:
        raise _refused(name, f"unsafe to unpack ({exc})") from None
    inside(folder, name, itself=member.isdir())


def inside(folder: Path, name: str, *, itself: bool = False) -> Path:
    """`folder / name` resolved (links followed), refused unless it lies under `folder` (or, for
    a folder member such as `./`, is `folder` itself)."""
    root = folder.resolve()
    target = (root / name).resolve()
    if root not in target.parents and not (itself and target == root):
        raise _refused(name, f"a name that leads outside {folder}")
    return target


def unpack(archive: Path, folder: Path) -> int:
    """The archive's files into `folder`, with the storage's owner-only modes; how many. Every
    member is checked again here, against the folder as it is now, before the first is written.
    Files of the same name are replaced; files the backup does not have are left where they are.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = folder.resolve()
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            _check_member(member, folder)
        files = [member for member in members if member.isfile()]
        targets = [inside(folder, member.name) for member in files]
        tar.extractall(folder, members=files, filter="data")
    for target in targets:
        target.chmod(0o600)
        for parent in target.relative_to(root).parents:
            if parent.parts:
                (root / parent).chmod(0o700)
    return len(targets)


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"symbolic link to {member.linkname}"
    if member.islnk():
        return f"hard link to {member.linkname}"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "named pipe"
    return "special member"


def _refused(name: str, why: str) -> ArchiveError:
    return ArchiveError(f"its member {name!r} is {why}")
