"""A ledger on a network share opens in rollback-journal mode (SQLite's WAL needs shared memory, which a
network file system does not give) and the run says so."""

from __future__ import annotations

import pytest

from pipeline.record import ledger as ledger_module
from pipeline.record.ledger import Ledger
from pipeline.record.network import is_network_path

MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
//nas/CNTT /mnt/cntt cifs rw,vers=3.0 0 0
nas:/export /srv nfs4 rw 0 0
/dev/sdb1 /srv/local ext4 rw 0 0
//nas/Bao\\040cao /mnt/Bao\\040cao cifs rw 0 0
"""


@pytest.mark.parametrize(("path", "remote"), [
    ("/mnt/cntt/ictplan/ledger.sqlite", True),
    ("/mnt/cntt2/ledger.sqlite", False),  # a longer name beside the share, not inside it
    ("/srv/tong_hop/ledger.sqlite", True),
    ("/srv/local/ledger.sqlite", False),  # a local disk mounted inside the NFS tree
    ("/mnt/Bao cao/ledger.sqlite", True),  # /proc/mounts writes the space as \040
    ("/home/cntt/ledger.sqlite", False),
])
def test_linux_mounts_decide(path: str, remote: bool) -> None:
    assert is_network_path(path, system="posix", mounts=MOUNTS) is remote


@pytest.mark.parametrize("path", [r"\\server\CNTT\ictplan\ledger.sqlite", "//server/CNTT/ledger.sqlite"])
def test_a_unc_path_is_a_network_share(path: str) -> None:
    assert is_network_path(path, system="nt")


def test_this_machine_s_temporary_folder_is_local(tmp_path) -> None:
    assert not is_network_path(tmp_path / "ledger.sqlite")


def test_a_ledger_on_a_share_uses_the_rollback_journal(tmp_path, monkeypatch) -> None:
    with Ledger(tmp_path / "local.sqlite") as local:
        assert not local.on_network_share
        assert local.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.setattr(ledger_module, "is_network_path", lambda path: True)
    with Ledger(tmp_path / "share.sqlite") as shared:
        assert shared.on_network_share
        assert shared.db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert shared.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert not (tmp_path / "share.sqlite-wal").exists()
