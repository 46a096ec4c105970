"""Reading the debug bundles compose writes."""

import tarfile
from pathlib import Path


def read_bundle(path: Path) -> dict[str, str]:
    with tarfile.open(path) as tar:
        names = tar.getnames()
        assert names == sorted(names), "members in sorted order"
        top = {n.split("/", 1)[0] for n in names}
        assert top == {path.name[: -len(".tar.gz")]}
        return {n.split("/", 1)[1]: tar.extractfile(n).read().decode() for n in names}
