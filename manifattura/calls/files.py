"""Checks on uploaded files: real type by content (magic bytes), size, and a safe name."""

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

import filetype
from django.utils.translation import gettext as _

# Types we accept and how their content must look; text types have no magic bytes.
TEXT_TYPES = {"txt": "text/plain", "csv": "text/csv"}
MIME_BY_EXTENSION = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "zip": "application/zip",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    **TEXT_TYPES,
}


class FileRejected(ValueError):
    """The file cannot be accepted; the message says why and what to do."""


@dataclass(frozen=True)
class CheckedFile:
    name: str
    extension: str
    content_type: str
    size: int
    sha256: str


def safe_name(name: str) -> str:
    """The file's own name without any directory part or control characters (never used as a path)."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = unicodedata.normalize("NFC", base)
    base = re.sub(r"[\x00-\x1f\x7f/\\]", "", base).strip().lstrip(".")
    return base[:200]


def check_upload(*, name: str, content: bytes, allowed_types: tuple[str, ...], max_mb: int) -> CheckedFile:
    """Refuse path tricks, oversized files, and files whose content is not the declared type."""
    if not name or safe_name(name) != name.strip():
        raise FileRejected(_("The file name “%(name)s” is not allowed: rename the file without folders or special characters.") % {"name": name})
    clean = safe_name(name)
    if "." not in clean:
        raise FileRejected(_("The file name needs an extension such as .pdf."))
    extension = clean.rsplit(".", 1)[1].lower()
    allowed = tuple(t.lower() for t in allowed_types) or tuple(MIME_BY_EXTENSION)
    if extension not in allowed:
        raise FileRejected(_("Files of type .%(ext)s are not accepted here; allowed: %(allowed)s.") % {
            "ext": extension, "allowed": ", ".join(f".{t}" for t in allowed)})
    size = len(content)
    if size == 0:
        raise FileRejected(_("The file is empty."))
    if size > max_mb * 1024 * 1024:
        raise FileRejected(_("The file is %(size).1f MB; the limit is %(max)d MB.") % {"size": size / 1048576, "max": max_mb})
    expected = MIME_BY_EXTENSION.get(extension)
    if extension in TEXT_TYPES:
        if b"\x00" in content[:8192]:
            raise FileRejected(_("The file's content is not text, although its name ends in .%(ext)s.") % {"ext": extension})
        try:
            content[:65536].decode("utf-8")
        except UnicodeDecodeError:
            raise FileRejected(_("Save the text file as UTF-8 and upload it again.")) from None
        detected = expected
    else:
        kind = filetype.guess(content[:8192])
        detected = kind.mime if kind else None
        if extension in {"jpg", "jpeg"} and detected == "image/jpeg":
            pass
        elif detected != expected:
            raise FileRejected(_(
                "The file's content does not match its name: “%(name)s” is not a real .%(ext)s file. "
                "Upload the original document."
            ) % {"name": clean, "ext": extension})
    return CheckedFile(
        name=clean, extension=extension, content_type=detected or "application/octet-stream",
        size=size, sha256=hashlib.sha256(content).hexdigest(),
    )
