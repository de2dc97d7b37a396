"""A private PostgreSQL cluster under the state folder, run with the machine's binaries."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hub.devstack.kafka import StackError
from hub.devstack.procs import alive, free_port, port_open, spawn, stop_pid, wait_for

__all__ = ["LocalPostgres", "find_pg_bin"]

DB_NAME = "hub"
DB_USER = "hub"


def find_pg_bin() -> Path:
    """The folder holding initdb/postgres: PATH first, then Debian's versioned folders."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return candidates[0].parent
    raise StackError("PostgreSQL binaries not found: apt-get install postgresql")


@dataclass
class LocalPostgres:
    """Cluster state lives in `home`: data folder, socket folder, log."""

    home: Path
    port: int = 0

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def url(self) -> str:
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    @property
    def log_file(self) -> Path:
        return self.home / "postgres.log"

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        return alive(self.pid())

    def healthy(self) -> bool:
        return self.running() and port_open("127.0.0.1", self.port)

    def start(self, timeout: float = 60.0) -> None:
        if self.healthy():
            return
        bin_dir = find_pg_bin()
        self.port = self.port or free_port()
        self.home.mkdir(parents=True, exist_ok=True)
        sock = self.home / "sock"
        sock.mkdir(exist_ok=True)
        owner = self._os_user()
        if owner is not None:
            reach = subprocess.run(["runuser", "-u", owner, "--", "test", "-x", str(self.home)],  # noqa: S603
                                   capture_output=True, check=False)
            if reach.returncode != 0:
                raise StackError(
                    f"the {owner} OS user cannot reach {self.home} (a parent folder is private); "
                    "set HUB_STATE_DIR to a folder under a world-traversable path"
                )
        if not (self.data / "PG_VERSION").exists():
            self.data.mkdir(parents=True, exist_ok=True)
            self._chown(owner, self.home, sock, self.data)
            self._run(owner, [str(bin_dir / "initdb"), "-D", str(self.data), "-U", DB_USER,
                              "--auth=trust", "--encoding=UTF8", "--no-locale"])
        if self.running():  # stale: running on another port; stop and restart on ours
            stop_pid(self.pid(), timeout=30)
        self.log_file.touch()
        self._chown(owner, self.home, sock, self.log_file)
        argv = self._as(owner, [
            str(bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sock}",
            "-c", "max_connections=200", "-c", "shared_buffers=256MB",
            "-c", "fsync=on", "-c", "synchronous_commit=on",
        ])
        spawn(argv, log=self.log_file)
        try:
            wait_for(lambda: port_open("127.0.0.1", self.port), timeout=timeout,
                     what=f"PostgreSQL on port {self.port}")
        except TimeoutError:
            raise StackError(f"PostgreSQL did not start; see {self.log_file}") from None
        self._ensure_database(bin_dir, sock)

    def stop(self) -> bool:
        import signal

        return stop_pid(self.pid(), sig=signal.SIGINT, timeout=60)

    def _ensure_database(self, bin_dir: Path, sock: Path) -> None:
        def exists() -> bool:
            out = subprocess.run(  # noqa: S603
                [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER,
                 "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{DB_NAME}'"],
                capture_output=True, text=True, check=False,
            )
            if out.returncode != 0:
                return False
            if out.stdout.strip() != "1":
                subprocess.run(  # noqa: S603
                    [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                     "-U", DB_USER, DB_NAME],
                    capture_output=True, check=False,
                )
                return False
            return True

        wait_for(exists, timeout=30, what=f"database {DB_NAME}", interval=0.3)

    @staticmethod
    def _os_user() -> str | None:
        # initdb refuses to run as root; as root, run the cluster as the `postgres` user.
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise StackError("running as root and no `postgres` user exists: "
                             "apt-get install postgresql creates it") from None
        return "postgres"

    @staticmethod
    def _as(owner: str | None, argv: list[str]) -> list[str]:
        return ["runuser", "-u", owner, "--", *argv] if owner else argv

    def _run(self, owner: str | None, argv: list[str]) -> None:
        done = subprocess.run(self._as(owner, argv), capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise StackError(f"{argv[0]} failed: {done.stdout}{done.stderr}")

    @staticmethod
    def _chown(owner: str | None, *paths: Path) -> None:
        if owner is None:
            return
        entry = pwd.getpwnam(owner)
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)
