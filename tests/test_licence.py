"""Canvass is free software under the GNU AGPL v3 or later: the text must be the FSF's, unaltered."""

import hashlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# SHA-256 of the canonical text, https://www.gnu.org/licenses/agpl-3.0.txt (661 lines).
AGPL_3_SHA256 = "8486a10c4393cee1c25392769ddd3b2d6c242d6ec7928e1414efff7dfb2f07ef"


def test_licence_file_is_the_canonical_agpl_v3_text():
    text = (ROOT / "LICENSE").read_bytes()
    assert text.startswith(b"                    GNU AFFERO GENERAL PUBLIC LICENSE\n")
    assert text.count(b"\n") == 661
    assert hashlib.sha256(text).hexdigest() == AGPL_3_SHA256


def test_pyproject_declares_the_licence_as_an_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "AGPL-3.0-or-later"
    assert project["license-files"] == ["LICENSE"]


def test_readme_names_the_licence():
    assert "GNU Affero General Public License" in (ROOT / "README.md").read_text()
