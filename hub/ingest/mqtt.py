"""MQTT for every client the hub runs: one paho client factory, and the ingest session's lifecycle.

``make_client`` builds the paho client for a broker (``MqttTarget``: address, credentials, TLS
files); what differs between the hub's clients is an argument: the ingest consumer keeps a
persistent session and acks by hand, the health probe and the simulator's publisher do not.

``MqttConsumer`` runs one ingest session: connect (the first attempt in the foreground, so a
wrong host, port or CA is reported with its cause), subscribe at QoS 1 on every (re)connect,
reconnecting within seconds (a broker that restarted without its sessions drops what is published
before the hub subscribes again), hand each message on, and acknowledge it only when told to. On
close it makes sure the broker has *processed* the last acks before it disconnects (an UNSUBSCRIBE
round trip behind them), so a clean stop never makes the broker redeliver stored messages. It takes
its client id and topic filters as arguments, so several can run side by side (e.g. workers sharing
``$share/<group>/<filter>``), each with its own identity.
"""

from __future__ import annotations

import logging
import ssl
import struct
import threading
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt import __version__ as paho_version
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hub.ingest.envelope import InboundMessage
from hub.settings import DEFAULT_MQTT_SESSION_EXPIRY_S, MqttProtocol, MqttTarget, Settings

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

log = logging.getLogger(__name__)

# A persistent session outlives a restart of the hub by this much, unless CITYLAB_MQTT_SESSION_EXPIRY_S says
# otherwise (MQTT v5 only; 3.1.1 sessions never expire).
SESSION_EXPIRY_S = DEFAULT_MQTT_SESSION_EXPIRY_S
# PUBLISHes the broker may have in flight to the ingest consumer before it waits for acks.
CONSUMER_MAX_INFLIGHT = 1000
# Reconnect backoff of the ingest consumer, first and longest wait (CITYLAB_MQTT_RECONNECT_MAX_S).
RECONNECT_DELAY_S = (1, 2)
# Unsubscribed on close, never subscribed: the broker's UNSUBACK says every packet before it was processed.
_BARRIER_FILTER = "citylab-hub/ack-barrier/{client_id}"

MessageHandler = Callable[[InboundMessage], None]
# A PUBACK: its fixed header (type 4, no flags), remaining length 2, the packet id (MQTT 3.1.1 section 3.4;
# the same bytes are a v5 PUBACK with reason "success").
_PUBACK = struct.Struct("!BBH")
_PUBACK_BYTE = int(mqtt.PUBACK)


# What a read-ahead client reads from its socket at once (see ReadAheadClient).
READ_AHEAD_BYTES = 64 * 1024
# Packets a read-ahead client handles from its buffer before its loop sends what is queued.
READ_AHEAD_PACKETS = 100
# How long a read-ahead client waits before it asks again whether to read (see ReadAheadClient.hold_reads).
HOLD_STEP_S = 0.005
# Messages the ingest consumer has handed on and not yet acked, above which it stops reading until the
# writer catches up. The broker's max_inflight_messages should bound this, but Mosquitto 2.0 sends a
# session's whole queue once acks come back, so without a bound of its own the hub would hold a
# backlog in memory (170 MB for issue 13's 100,000 messages). Four batches of the default 5,000 lines.
MAX_OUTSTANDING = 5000


class _ReadAheadSocket:
    """A socket that reads up to ``READ_AHEAD_BYTES`` at once and serves paho's small reads from them.

    paho reads a packet in three or more ``recv`` calls (the type byte, each length byte, the rest), each
    after a ``select``: four or five system calls per message. Through this wrapper one ``recv`` brings
    in dozens of messages. ``pending`` says how many bytes wait here (and in an SSL socket's own
    buffer), which is what paho's loop asks an SSL socket before it waits in ``select``."""

    def __init__(self, sock: SocketLike) -> None:
        self._sock = sock
        self._buffer = b""
        self._offset = 0

    def recv(self, buffer_size: int) -> bytes:
        buffered = len(self._buffer) - self._offset
        if not buffered:
            data = self._sock.recv(max(buffer_size, READ_AHEAD_BYTES))
            if len(data) <= buffer_size:
                return data  # what was asked for, or less: nothing to keep (b"" when the broker closed)
            self._buffer, self._offset, buffered = data, 0, len(data)
        start = self._offset
        self._offset = start + min(buffer_size, buffered)
        return self._buffer[start : self._offset]

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._buffer) - self._offset + inner

    @property
    def buffered(self) -> bool:
        return self._offset < len(self._buffer)

    def send(self, buffer: bytes | bytearray) -> int:
        return self._sock.send(buffer)

    def close(self) -> None:
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)  # an SSL socket's do_handshake, getpeercert, ...


class ReadAheadClient(mqtt.Client):
    """A paho client that reads its socket in large chunks (``_ReadAheadSocket``) and handles every packet
    already read before it waits in ``select`` again: one ``recv`` and one ``select`` for dozens of
    messages instead of about five system calls each. It overrides three methods of paho-mqtt 2.x
    (``_create_socket``, ``loop_read``, ``_handle_on_message``); everything else is paho's.

    ``hold_reads``, when set, is asked before each read: while it says so, the client leaves the socket
    unread (the broker's messages wait in TCP's buffers and then the broker's queue) and its loop keeps
    sending acks and pings. At most half a keepalive at a time, so that a PINGRESP is read in time and
    the broker never takes the client for dead."""

    hold_reads: Callable[[], bool] | None = None
    _holding_since: float | None = None

    def _create_socket(self) -> SocketLike:
        sock = super()._create_socket()
        if self._transport == "websockets":
            return sock  # paho's websocket wrapper buffers on its own
        return _ReadAheadSocket(sock)

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        """paho's dispatch, without its search for per-filter callbacks when none is registered (the ingest
        consumer registers none): that search (``MQTTMatcher.iter_match``) builds a recursive closure for
        every message, a reference cycle only the cyclic GC frees, besides its own cost."""
        if self._on_message_filtered._root._children:
            super()._handle_on_message(message)
            return
        with self._callback_mutex:
            on_message = self.on_message
        if on_message:
            with self._in_callback_mutex:
                try:
                    on_message(self, self._userdata, message)
                except Exception as err:  # as paho: logged, then raised unless told to suppress
                    self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                    if not self.suppress_exceptions:
                        raise

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        if self.hold_reads is not None and self.hold_reads():
            now = time.monotonic()
            if self._holding_since is None:
                self._holding_since = now
            if now - self._holding_since < self._keepalive / 2:
                time.sleep(HOLD_STEP_S)  # the loop goes on to send what is queued (acks), then asks again
                return mqtt.MQTT_ERR_SUCCESS
        self._holding_since = None
        result = super().loop_read(max_packets)
        # The packets already read, but not forever: a packet that straddles the buffer's end refills it, and
        # the loop must get back to its writes (acks) and pings, and to hold_reads.
        for _ in range(READ_AHEAD_PACKETS):
            if result != mqtt.MQTT_ERR_SUCCESS or not isinstance(self._sock, _ReadAheadSocket):
                break
            if not self._sock.buffered or (self.hold_reads is not None and self.hold_reads()):
                break
            result = super().loop_read(max_packets)
        return result


def shared_filters(topic_filters: Sequence[str], group: str | None) -> list[str]:
    """``$share/<group>/<filter>`` for each filter when ``group`` is set: the broker then gives each message to
    one member of the group (Mosquitto: round robin, offline persistent members included). Messages still
    arrive on their own topics, so routing is unchanged."""
    if group is None:
        return list(topic_filters)
    return [f"$share/{group}/{topic_filter}" for topic_filter in topic_filters]


# The private parts of paho-mqtt 2.x that ReadAheadClient and MqttConsumer.ack_many rely on. A paho release
# without them gets a bare paho client (slower, as correct), with a warning, rather than a failure mid-stream.
_PAHO_METHODS = ("_create_socket", "loop_read", "_handle_on_message", "_packet_queue", "_easy_log")
_PAHO_ATTRIBUTES = (
    "_on_message_filtered",
    "_callback_mutex",
    "_in_callback_mutex",
    "_transport",
    "_keepalive",
    "_sock",
)


@cache
def paho_internals_missing() -> tuple[str, ...]:
    """The private paho names ReadAheadClient needs that this paho lacks (empty when all are there). Asked once
    per process: the installed paho does not change under it."""
    probe = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    missing = [name for name in _PAHO_METHODS if not callable(getattr(mqtt.Client, name, None))]
    missing += [name for name in _PAHO_ATTRIBUTES if not hasattr(probe, name)]
    if not missing and not hasattr(probe._on_message_filtered, "_root"):
        missing.append("_on_message_filtered._root")
    return tuple(missing)


def make_client(
    target: MqttTarget,
    *,
    client_id: str,
    protocol: MqttProtocol = "3.1.1",
    persistent_session: bool = False,
    manual_ack: bool = False,
    max_inflight: int = 20,
    reconnect_delay_s: tuple[int, int] = (1, 30),
    read_ahead: bool = False,
) -> mqtt.Client:
    """A paho client for ``target``, not yet connected.

    ``persistent_session``: the broker keeps the subscriptions and queues QoS 1 messages while the
    client is away (3.1.1: clean session off; v5: clean start off on connect, see ``connect_options``).
    ``manual_ack``: messages are acknowledged by ``client.ack``, not on receipt. ``max_inflight``:
    unacknowledged QoS 1 messages at once, each way. ``reconnect_delay_s``: paho's backoff, min and max.
    ``read_ahead``: a ``ReadAheadClient`` (the ingest consumer), not a bare paho client.
    """
    v5 = protocol == "5"
    if read_ahead and (missing := paho_internals_missing()):
        log.warning("paho-mqtt %s lacks %s: the ingest consumer uses paho's plain client", paho_version, missing)
        read_ahead = False
    client = (ReadAheadClient if read_ahead else mqtt.Client)(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        # v5 has no clean-session flag: clean start is a connect option instead.
        clean_session=None if v5 else not persistent_session,
        manual_ack=manual_ack,
    )
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)  # no bound: callers bound what they hand paho themselves
    client.reconnect_delay_set(min_delay=reconnect_delay_s[0], max_delay=reconnect_delay_s[1])
    if target.username:
        client.username_pw_set(target.username, target.password)
    if target.tls:
        client.tls_set(
            ca_certs=str(target.ca_file) if target.ca_file else None,
            certfile=str(target.cert_file) if target.cert_file else None,
            keyfile=str(target.key_file) if target.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    return client


def connect_options(
    protocol: MqttProtocol, *, persistent_session: bool, session_expiry_s: int = SESSION_EXPIRY_S
) -> tuple[mqtt.CleanStartOption, Properties | None]:
    """``(clean_start, properties)`` for ``client.connect``: under v5, a persistent session is asked for here,
    kept ``session_expiry_s`` after a disconnect (``CITYLAB_MQTT_SESSION_EXPIRY_S``)."""
    if protocol != "5":
        return mqtt.MQTT_CLEAN_START_FIRST_ONLY, None
    if not persistent_session:
        return True, None
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = session_expiry_s
    return False, properties


class MqttConsumer:
    """One persistent MQTT session that subscribes at QoS 1 and acks only what ``ack`` is called for."""

    def __init__(
        self,
        target: MqttTarget,
        *,
        client_id: str,
        topic_filters: Sequence[str],
        on_message: MessageHandler,
        protocol: MqttProtocol = "3.1.1",
        max_inflight: int = CONSUMER_MAX_INFLIGHT,
        reconnect_delay_s: tuple[int, int] = RECONNECT_DELAY_S,
        keepalive_s: int = 30,
        max_outstanding: int = MAX_OUTSTANDING,
        session_expiry_s: int = SESSION_EXPIRY_S,
    ) -> None:
        self.target = target
        self._session_expiry_s = session_expiry_s
        self.client_id = client_id
        self.topic_filters = list(topic_filters)
        self._handler = on_message
        self._protocol = protocol
        self._keepalive_s = keepalive_s
        self._accepting = threading.Event()
        self._closing = threading.Event()
        self._connected = threading.Event()
        # Held while a message is handed on, so that once stop_accepting returns nothing more is.
        self._accept_lock = threading.Lock()
        # UNSUBACKs received, by mid (the broker may answer before unsubscribe() has returned the mid).
        self._unsubacks: set[int] = set()
        self._unsubacked = threading.Condition()
        self._disconnected = threading.Event()
        # Messages that arrived after stop_accepting: left unacked, so the broker redelivers them.
        self.left_for_redelivery = 0
        # Messages handed on and messages acked, since start: their difference is what the hub holds.
        self._handed = 0
        self._acked = 0
        self.max_outstanding = max_outstanding
        self.client = make_client(
            target,
            client_id=client_id,
            protocol=protocol,
            persistent_session=True,
            manual_ack=True,
            max_inflight=max_inflight,
            reconnect_delay_s=reconnect_delay_s,
            read_ahead=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        if isinstance(self.client, ReadAheadClient):
            self.client.hold_reads = self._holding
        self.client.on_unsubscribe = self._on_unsubscribe

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        topic_filters: Sequence[str],
        on_message: MessageHandler,
        client_id: str | None = None,
    ) -> MqttConsumer:
        """The consumer ``CITYLAB_MQTT_*`` describes; ``client_id`` overrides ``CITYLAB_MQTT_CLIENT_ID``."""
        return cls(
            settings.mqtt(),
            client_id=client_id or settings.mqtt_client_id,
            topic_filters=topic_filters,
            on_message=on_message,
            protocol=settings.mqtt_protocol,
            reconnect_delay_s=(1, settings.mqtt_reconnect_max_s),
            session_expiry_s=settings.mqtt_session_expiry_s,
        )

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Connect and subscribe; paho reconnects in the background from then on."""
        self._accepting.set()
        clean_start, properties = connect_options(
            self._protocol, persistent_session=True, session_expiry_s=self._session_expiry_s
        )
        host, port = self.target.host, self.target.port
        try:
            # The first attempt in the foreground, so a wrong host, port or CA is reported with
            # its cause; paho's background reconnects only say that they failed.
            self.client.connect(host, port, self._keepalive_s, clean_start=clean_start, properties=properties)
        except (OSError, ValueError) as exc:
            log.error("MQTT connection to %s failed: %s; retrying", self.target.redacted(), exc)
            self.client.connect_async(host, port, self._keepalive_s, clean_start=clean_start, properties=properties)
        self.client.loop_start()

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        """True once connected and the broker has answered the subscription."""
        return self._connected.wait(timeout_s)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop_accepting(self) -> None:
        """Leave messages that arrive from now on unacknowledged, so the broker redelivers them."""
        self._closing.set()
        with self._accept_lock:
            self._accepting.clear()

    @property
    def outstanding(self) -> int:
        """Messages handed on and not acked yet: what the hub's threads hold."""
        return self._handed - self._acked

    def _holding(self) -> bool:
        return self._handed - self._acked >= self.max_outstanding

    def ack(self, mid: int, qos: int) -> None:
        self._acked += 1
        if qos > 0:
            self.client.ack(mid, qos)

    def ack_many(self, acks: Sequence[tuple[int, int]]) -> None:
        """Acknowledge ``(mid, qos)`` messages, in this order, with one write to the broker.

        paho sends each ``ack`` as a packet of its own: a wake-up of the network thread and a ``send``
        for every message, and from the writer thread a GIL hand-over each time, which under load waits
        for paho's thread to give the GIL back. Here the PUBACKs of a batch are queued as one packet, in
        arrival order (MQTT 3.1.1 section 4.6), through paho's own send queue (``_packet_queue``, what
        ``ack`` uses too; paho-mqtt 2.x). A QoS 2 message is acknowledged by paho, in its place."""
        if not isinstance(self.client, ReadAheadClient):  # a paho without the private parts used here
            for mid, qos in acks:
                self.ack(mid, qos)
            return
        pubacks = bytearray()
        for mid, qos in acks:
            if qos == 1:
                pubacks += _PUBACK.pack(_PUBACK_BYTE, 2, mid)
            elif qos == 2:
                self._queue_pubacks(pubacks)
                pubacks = bytearray()
                self.client.ack(mid, qos)
        self._queue_pubacks(pubacks)
        self._acked += len(acks)

    def _queue_pubacks(self, pubacks: bytearray) -> None:
        if pubacks:
            self.client._packet_queue(_PUBACK_BYTE, bytes(pubacks), 0, 0)

    def close(self, timeout_s: float = 5.0) -> None:
        """Disconnect once the broker has processed every ack sent so far, then stop the network thread.

        Acks are only queued by ``ack``; closing the socket right after them could lose the last ones
        (a socket closed with unread data is reset, and the broker may discard what it had not read).
        So an UNSUBSCRIBE of a filter never subscribed goes behind them: the broker handles a client's
        packets in order, and its UNSUBACK means every ack before it took effect. What was not acked
        stays with the session and is redelivered."""
        self.stop_accepting()
        was_connected = self.connected
        if was_connected:
            result, mid = self.client.unsubscribe(_BARRIER_FILTER.format(client_id=self.client_id))
            with self._unsubacked:
                confirmed = result == mqtt.MQTT_ERR_SUCCESS and self._unsubacked.wait_for(
                    lambda: mid in self._unsubacks, timeout_s
                )
            if not confirmed:
                log.warning("the broker did not confirm the last acks within %.0fs; it may redeliver some", timeout_s)
        self.client.disconnect()
        if was_connected:
            self._disconnected.wait(timeout_s)
        self.client.loop_stop()
        if self.left_for_redelivery:
            log.info(
                "left %d messages that arrived while stopping unacknowledged: the broker redelivers them",
                self.left_for_redelivery,
            )

    # --- paho callbacks (network thread) -----------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        if not self.topic_filters:
            log.warning("connected to MQTT as %s with no topic filters to subscribe to", self.client_id)
            self._connected.set()
            return
        # Again on every connect: cheap, and right even if the broker lost the session.
        client.subscribe([(topic_filter, 1) for topic_filter in self.topic_filters])

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        for topic_filter, code in zip(self.topic_filters, reason_codes, strict=False):
            if code.is_failure:
                log.error("MQTT broker refused the subscription to %s: %s", topic_filter, code)
            elif code.value < 1:
                log.error("MQTT broker granted only QoS 0 on %s: its messages may be lost", topic_filter)
        log.info(
            "connected to MQTT as %s; subscribed to %d filters at QoS 1",
            self.client_id,
            sum(not code.is_failure for code in reason_codes),
        )
        self._connected.set()

    def _on_unsubscribe(
        self,
        _client: mqtt.Client,
        _userdata: object,
        mid: int,
        _reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        with self._unsubacked:
            self._unsubacks.add(mid)
            self._unsubacked.notify_all()

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: object) -> None:
        log.warning("MQTT connection to %s failed; retrying", self.target.redacted())

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connected.clear()
        if self._closing.is_set():
            self._disconnected.set()
        else:
            log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        inbound = InboundMessage(message.topic, bytes(message.payload), time.time_ns(), message.mid, message.qos)
        with self._accept_lock:
            if not self._accepting.is_set():
                self.left_for_redelivery += 1
                return  # shutting down: left unacked, so the broker redelivers it
            self._handed += 1
            self._handler(inbound)
