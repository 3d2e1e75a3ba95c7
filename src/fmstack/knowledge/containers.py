"""Files that hold other files: ZIP archives (walked; each member is a document of its own, named
`archive.zip!/folder/file.pdf`) and e-mail (`.eml`: the message is a document, each attachment
another, named `mail.eml!/attachment-name`).

An archive is refused before anything is decompressed when it holds too many files, would expand
past the size limit or compresses better than a real document does (a zip bomb), and each member
is read no further than its declared size. Archives inside archives are walked two levels deep.
"""

from __future__ import annotations

import email
import email.policy
import io
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import PurePosixPath

from .loaders import LoadedDocument, LoadError, Section, check_archive, load_html, loader

MAX_MEMBERS = 1_000
MAX_EXPANDED = 512 * 2**20
MAX_RATIO = 100  # expanded / compressed for the whole archive; documents compress 2-10x
MAX_DEPTH = 2
CONTAINERS = (".zip", ".eml")


@dataclass
class Member:
    source: str  # archive!/path
    data: bytes | None  # None: it could not be read (reason)
    reason: str = ""


def is_container(name: str) -> bool:
    return PurePosixPath(name.split("!/")[-1]).suffix.lower() in CONTAINERS


def members(source: str, data: bytes) -> list[Member]:
    """The files a container holds, in order (raises LoadError for the container as a whole)."""
    depth = source.count("!/")
    if depth >= MAX_DEPTH + 1:
        raise LoadError(f"archives nested more than {MAX_DEPTH} deep are not opened")
    if source.lower().endswith(".eml"):
        return _attachments(source, data)
    return _zip_members(source, data)


def _zip_members(source: str, data: bytes) -> list[Member]:
    infos = [
        i
        for i in check_archive(data, max_entries=MAX_MEMBERS, max_bytes=MAX_EXPANDED, what="ZIP archive")
        if not i.is_dir() and not _junk(i.filename)
    ]
    expanded = sum(i.file_size for i in infos)
    if expanded > 1_000_000 and expanded > MAX_RATIO * max(len(data), 1):
        raise LoadError(
            f"the archive expands {expanded / max(len(data), 1):.0f} times its size: refused as a possible zip bomb"
        )
    archive = zipfile.ZipFile(io.BytesIO(data))
    out = []
    with archive:
        for info in infos:
            name = f"{source}!/{info.filename.lstrip('/')}"
            if info.flag_bits & 0x1:
                out.append(Member(name, None, "the file is encrypted inside the archive"))
                continue
            try:
                with archive.open(info) as f:
                    content = f.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as e:
                out.append(Member(name, None, f"cannot be read from the archive: {e}"))
                continue
            if len(content) > info.file_size:
                out.append(Member(name, None, "larger than the archive says: refused"))
                continue
            out.append(Member(name, content))
    return out


def _junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p == "__MACOSX" for p in parts) or PurePosixPath(name).name in (".DS_Store", "Thumbs.db")


def _message(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)  # the default policy's message class
    return msg


def _attachments(source: str, data: bytes) -> list[Member]:
    out = []
    for n, part in enumerate(_message(data).iter_attachments(), start=1):
        name = part.get_filename() or f"attachment-{n}"
        try:
            content = part.get_payload(decode=True)
        except Exception as e:  # a broken transfer encoding
            out.append(Member(f"{source}!/{name}", None, f"the attachment cannot be decoded: {e}"))
            continue
        if isinstance(content, bytes):
            out.append(Member(f"{source}!/{name}", content))
    return out


@loader("email", ".eml")
def load_eml(data: bytes, options: dict) -> LoadedDocument:
    """The message itself: its headers and its text (the plain part, or the HTML one read as a
    page); attachments are documents of their own (members())."""
    msg = _message(data)
    head = [f"{k}: {msg[k]}" for k in ("Subject", "From", "To", "Cc", "Date") if msg[k]]
    body = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        content = body.get_content()
        if body.get_content_subtype() == "html":
            text = "\n".join(s.text for s in load_html(content.encode("utf-8"), {}).sections)
        else:
            text = content
    subject = str(msg["Subject"] or "")
    return LoadedDocument(
        "email", [Section("\n".join(head) + "\n\n" + text, heading=[subject] if subject else [])], title=subject
    )


@loader("zip", ".zip")
def load_zip(data: bytes, options: dict) -> LoadedDocument:
    raise LoadError("a ZIP archive is not one document: ingest it and each file in it becomes one")
