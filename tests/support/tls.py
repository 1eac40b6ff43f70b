"""A real Mosquitto with a TLS listener, its certificates from a throwaway CA (trustme)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trustme

from hub.devstack import BrokerTls, Mosquitto, free_port


@contextmanager
def running_tls_broker(directory: Path) -> Iterator[tuple[Mosquitto, BrokerTls]]:
    """A broker with a plain listener (``broker.port``) and an mqtts one (``tls.port``, CA in ``tls.ca_file``)."""
    authority = trustme.CA()
    server = authority.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    authority.cert_pem.write_to_path(str(ca_file))
    server.cert_chain_pems[0].write_to_path(str(cert_file))
    server.private_key_pem.write_to_path(str(key_file))
    broker = Mosquitto(free_port(), directory / "tls-broker")
    tls = BrokerTls(free_port(), ca_file, cert_file, key_file)
    broker.start(tls=tls)
    try:
        yield broker, tls
    finally:
        broker.stop()
