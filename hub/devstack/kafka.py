"""A single-node Apache Kafka broker in KRaft mode, from Maven Central jars, run with `java`."""
from __future__ import annotations

import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from hub.devstack.procs import alive, free_port, port_open, spawn, stop_pid, wait_for
from hub.errors import HubError

__all__ = ["LocalKafka", "ensure_broker_jars"]

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = REPO_ROOT / "dev" / "pom.xml"
LIBS = REPO_ROOT / "dev" / "target" / "libs"


class StackError(HubError):
    """A local server could not be installed or started; the message says what to do."""


def ensure_broker_jars(libs: Path = LIBS) -> Path:
    """Resolve the broker jars with `mvn` once; later calls find them in `dev/target/libs`."""
    if any(libs.glob("kafka_2.13-*.jar")):
        return libs
    if shutil.which("mvn") is None:
        raise StackError("mvn not found: install Maven (apt-get install maven) to fetch the broker")
    cmd = ["mvn", "-q", "-B", "-f", str(POM), "package", f"-Dlibs.dir={libs}"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0 or not any(libs.glob("kafka_2.13-*.jar")):
        tail = (result.stdout + result.stderr)[-2000:]
        raise StackError(f"mvn could not resolve the Kafka broker (exit {result.returncode}):\n{tail}")
    return libs


@dataclass
class LocalKafka:
    """Broker state lives in `home`: server.properties, data, log and pid."""

    home: Path
    port: int = 0
    controller_port: int = 0
    partitions: int = 3
    heap: str = "512m"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "kafka.log"

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def running(self) -> bool:
        return alive(self.pid())

    def healthy(self) -> bool:
        return self.running() and port_open("127.0.0.1", self.port)

    def start(self, timeout: float = 90.0) -> None:
        """Format the log directory on first start, then start the broker and wait for it."""
        if self.healthy():
            return
        if shutil.which("java") is None:
            raise StackError(
                "java not found: the broker needs Java 17+ (apt-get install openjdk-17-jre-headless)"
            )
        libs = ensure_broker_jars()
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        props = self.home / "server.properties"
        props.write_text(self._properties())
        (self.home / "log4j2.properties").write_text(_LOG4J)
        classpath = f"{libs}/*"
        if not (self.home / "data" / "meta.properties").exists():
            cluster_id = _cluster_id()
            cmd = ["java", "-cp", classpath, "kafka.tools.StorageTool", "format",
                   "-t", cluster_id, "-c", str(props)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
            if done.returncode != 0:
                raise StackError(f"Kafka storage format failed: {done.stdout}{done.stderr}")
        argv = [
            "java", f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.home}",
            "-cp", classpath, "kafka.Kafka", str(props),
        ]
        pid = spawn(argv, log=self.log_file)
        self.pid_file.write_text(str(pid))
        try:
            wait_for(lambda: port_open("127.0.0.1", self.port) or not alive(pid),
                     timeout=timeout, what=f"Kafka on {self.bootstrap}")
        except TimeoutError:
            stop_pid(pid)
            raise StackError(f"Kafka did not answer on {self.bootstrap} in {timeout:.0f} s; "
                             f"see {self.log_file}") from None
        if not alive(pid):
            raise StackError(f"Kafka exited at start; see {self.log_file}")

    def stop(self) -> bool:
        stopped = stop_pid(self.pid(), timeout=60)
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def _properties(self) -> str:
        data = self.home / "data"
        return "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data}",
            f"num.partitions={self.partitions}",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "log.retention.hours=-1",
            "num.network.threads=2",
            "num.io.threads=4",
            "",
        ])


def _cluster_id() -> str:
    # Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


_LOG4J = """\
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.console.ref = console
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""
