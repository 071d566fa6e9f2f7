"""The private PostgreSQL clusters start wherever the checkout sits, even in a folder the postgres
account cannot enter (a home or a mktemp -d folder, mode 700), when run as root."""
import os
import subprocess
import tempfile

import pytest

from support.cluster import PostgresCluster

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root hands clusters to postgres")


def test_cluster_starts_from_a_folder_closed_to_postgres():
    closed = tempfile.mkdtemp()  # mode 700, owned by root
    os.chmod(closed, 0o700)
    cluster = PostgresCluster(parent=closed)
    try:
        assert not cluster.dir.startswith(closed + os.sep)
        cluster.init()
        cluster.start()
        assert cluster.psql("SELECT 1", dbname="postgres").strip() == "1"
    finally:
        cluster.destroy()
        os.rmdir(closed)


def test_scripts_cluster_folder_is_reachable_from_a_closed_clone():
    """lib.sh's pg_default_dir picks a folder postgres can use for a clone in a closed folder."""
    closed = tempfile.mkdtemp()
    os.chmod(closed, 0o700)
    clone = os.path.join(closed, "sharaka")
    try:
        os.makedirs(os.path.join(clone, "scripts"))
        with open(os.path.join(ROOT, "scripts", "lib.sh")) as src, \
                open(os.path.join(clone, "scripts", "lib.sh"), "w") as dst:
            dst.write(src.read())
        script = ('. "$1/scripts/lib.sh" && d=$(pg_default_dir "$1/.local/pg") && echo "$d" && '
                  'pg_init "$d" >/dev/null && runuser -u postgres -- test -w "$d/data"')
        out = subprocess.run(["bash", "-c", script, "bash", clone], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        where = out.stdout.strip()
        assert where.startswith("/var/tmp/sharaka-pg-"), where
        subprocess.run(["rm", "-rf", where], check=True)
    finally:
        subprocess.run(["rm", "-rf", closed], check=True)
