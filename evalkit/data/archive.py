"""Images read straight from a zip archive (Winoground ships its images as `images.zip`)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from evalkit.errors import EvalkitError


@dataclass(frozen=True)
class ZipMemberImage:
    """One member of a zip archive, decoded on demand."""

    archive: Path
    member: str

    @property
    def key(self) -> str:
        return f"zip:{self.archive}:{self.member}"

    def load(self) -> Image.Image:
        from evalkit.data.images import open_rgb_bytes

        try:
            with zipfile.ZipFile(self.archive) as archive:
                data = archive.read(self.member)
        except (OSError, KeyError, zipfile.BadZipFile) as error:
            raise EvalkitError(f"cannot read {self.member} from the archive ({error})", path=self.archive) from None
        return open_rgb_bytes(data, f"{self.archive}:{self.member}")


def members_by_stem(archive: Path) -> dict[str, str]:
    """{file stem: member name} of the archive's files (e.g. 'ex_0_img_0' -> 'images/ex_0_img_0.png')."""
    try:
        with zipfile.ZipFile(archive) as opened:
            names = [info.filename for info in opened.infolist() if not info.is_dir()]
    except (OSError, zipfile.BadZipFile) as error:
        raise EvalkitError(f"not a readable zip archive ({error})", path=archive) from None
    return {Path(name).stem: name for name in names}
