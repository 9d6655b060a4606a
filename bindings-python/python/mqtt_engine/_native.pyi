"""Type stubs of the native module ``mqtt_engine._native`` (hand-written).

Everything here is re-exported by ``mqtt_engine``. All times are integer
milliseconds on a monotonic clock of the caller's choosing (``now_ms``), the
first argument after ``self`` of every input and command.
"""

from typing import Any, ClassVar, Iterable, Literal, Optional, Sequence, Tuple, Union, final

from typing_extensions import TypeAlias

__version__: str

BytesLike: TypeAlias = Union[bytes, bytearray, memoryview]
Payload: TypeAlias = Union[bytes, bytearray, memoryview, str]
UserProperties: TypeAlias = list[tuple[str, str]]
JsonValue: TypeAlias = Any
"""A JSON value in the ``json.loads`` form."""

# ----- Exceptions -------------------------------------------------------------

class MqttError(Exception):
    """Base class of every error this package raises."""

class LocalProtocolError(MqttError):
    """A command refused because of how it was called; nothing changed."""

    reason_code: Optional[int]
    reason_name: Optional[str]
    kind: str

class RemoteProtocolError(MqttError):
    """The peer broke the protocol; a Client is then closed."""

    reason_code: int
    reason_name: str

class DecodeError(RemoteProtocolError):
    """Bytes that are not a valid MQTT packet (incomplete input: 0x81 "incomplete")."""

    offset: Optional[int]

# ----- Properties and Will ----------------------------------------------------

class Properties:
    """Every MQTT 5.0 property; None (or an empty list) when absent."""

    payload_format_indicator: Optional[int]
    message_expiry_interval: Optional[int]
    content_type: Optional[str]
    response_topic: Optional[str]
    correlation_data: Optional[bytes]
    subscription_identifiers: list[int]
    session_expiry_interval: Optional[int]
    assigned_client_identifier: Optional[str]
    server_keep_alive: Optional[int]
    authentication_method: Optional[str]
    authentication_data: Optional[bytes]
    request_problem_information: Optional[int]
    will_delay_interval: Optional[int]
    request_response_information: Optional[int]
    response_information: Optional[str]
    server_reference: Optional[str]
    reason_string: Optional[str]
    receive_maximum: Optional[int]
    topic_alias_maximum: Optional[int]
    topic_alias: Optional[int]
    maximum_qos: Optional[int]
    retain_available: Optional[int]
    user_properties: list[tuple[str, str]]
    maximum_packet_size: Optional[int]
    wildcard_subscription_available: Optional[int]
    subscription_identifiers_available: Optional[int]
    shared_subscription_available: Optional[int]
    subscription_identifier_available: Optional[int]
    """Alias of ``subscription_identifiers_available``."""
    def __init__(
        self,
        *,
        payload_format_indicator: Optional[int] = None,
        message_expiry_interval: Optional[int] = None,
        content_type: Optional[str] = None,
        response_topic: Optional[str] = None,
        correlation_data: Optional[BytesLike] = None,
        subscription_identifiers: Optional[Sequence[int]] = None,
        session_expiry_interval: Optional[int] = None,
        assigned_client_identifier: Optional[str] = None,
        server_keep_alive: Optional[int] = None,
        authentication_method: Optional[str] = None,
        authentication_data: Optional[BytesLike] = None,
        request_problem_information: Optional[int] = None,
        will_delay_interval: Optional[int] = None,
        request_response_information: Optional[int] = None,
        response_information: Optional[str] = None,
        server_reference: Optional[str] = None,
        reason_string: Optional[str] = None,
        receive_maximum: Optional[int] = None,
        topic_alias_maximum: Optional[int] = None,
        topic_alias: Optional[int] = None,
        maximum_qos: Optional[int] = None,
        retain_available: Optional[int] = None,
        user_properties: Optional[Iterable[tuple[str, str]]] = None,
        maximum_packet_size: Optional[int] = None,
        wildcard_subscription_available: Optional[int] = None,
        subscription_identifiers_available: Optional[int] = None,
        shared_subscription_available: Optional[int] = None,
        subscription_identifier_available: Optional[int] = None,
    ) -> None: ...
    def to_dict(self) -> dict[str, Any]:
        """The properties present, in the JSON form."""
    def is_empty(self) -> bool:
        """True when no property is present."""
    def __eq__(self, other: object) -> bool: ...

class Will:
    """The Will Message of a CONNECT."""

    __match_args__: ClassVar[tuple[str, str, str, str, str]]
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: Properties
    def __init__(
        self,
        topic: str,
        payload: Optional[Payload] = None,
        qos: int = 0,
        retain: bool = False,
        properties: Optional[Properties] = None,
    ) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

# ----- Packets ----------------------------------------------------------------

@final
class Connect:
    """CONNECT (client to server)."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    def __init__(
        self,
        client_id: str = "",
        *,
        protocol_version: int = 5,
        clean_start: bool = True,
        keep_alive: int = 60,
        will: Optional[Will] = None,
        username: Optional[str] = None,
        password: Optional[BytesLike] = None,
        properties: Optional[Properties] = None,
    ) -> None: ...
    @property
    def protocol_version(self) -> int: ...
    @property
    def clean_start(self) -> bool: ...
    @property
    def keep_alive(self) -> int: ...
    @property
    def client_identifier(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def will(self) -> Optional[Will]: ...
    @property
    def user_name(self) -> Optional[str]: ...
    @property
    def username(self) -> Optional[str]: ...
    @property
    def password(self) -> Optional[bytes]: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Connack:
    """CONNACK (server to client)."""

    __match_args__: ClassVar[tuple[str, str, str]]
    def __init__(
        self, session_present: bool = False, reason_code: int = 0, properties: Optional[Properties] = None
    ) -> None: ...
    @property
    def session_present(self) -> bool: ...
    @property
    def reason_code(self) -> int: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Publish:
    """PUBLISH (both ways)."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    def __init__(
        self,
        topic: str,
        payload: Optional[Payload] = None,
        qos: int = 0,
        retain: bool = False,
        dup: bool = False,
        packet_id: Optional[int] = None,
        properties: Optional[Properties] = None,
    ) -> None: ...
    @property
    def topic(self) -> str: ...
    @property
    def topic_name(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def qos(self) -> int: ...
    @property
    def retain(self) -> bool: ...
    @property
    def dup(self) -> bool: ...
    @property
    def packet_id(self) -> Optional[int]: ...
    @property
    def packet_identifier(self) -> Optional[int]: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

class _Ack:
    __match_args__: ClassVar[tuple[str, str, str]]
    def __init__(self, packet_id: int, reason_code: int = 0, properties: Optional[Properties] = None) -> None: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def packet_identifier(self) -> int: ...
    @property
    def reason_code(self) -> int: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class PubAck(_Ack):
    """PUBACK."""

@final
class PubRec(_Ack):
    """PUBREC."""

@final
class PubRel(_Ack):
    """PUBREL."""

@final
class PubComp(_Ack):
    """PUBCOMP."""

@final
class Subscription:
    """One topic filter of a SUBSCRIBE with its options."""

    __match_args__: ClassVar[tuple[str, str]]
    def __init__(
        self,
        topic_filter: str,
        qos: int = 0,
        no_local: bool = False,
        retain_as_published: bool = False,
        retain_handling: int = 0,
    ) -> None: ...
    @property
    def topic_filter(self) -> str: ...
    @property
    def qos(self) -> int: ...
    @property
    def no_local(self) -> bool: ...
    @property
    def retain_as_published(self) -> bool: ...
    @property
    def retain_handling(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...

SubscriptionSpec: TypeAlias = Union[str, Tuple[str, int], Subscription]

@final
class Subscribe:
    """SUBSCRIBE (client to server)."""

    __match_args__: ClassVar[tuple[str, str, str]]
    def __init__(
        self, packet_id: int, subscriptions: Iterable[SubscriptionSpec], properties: Optional[Properties] = None
    ) -> None: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def packet_identifier(self) -> int: ...
    @property
    def subscriptions(self) -> list[Subscription]: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Suback:
    """SUBACK (server to client)."""

    __match_args__: ClassVar[tuple[str, str, str]]
    def __init__(self, packet_id: int, reason_codes: Sequence[int], properties: Optional[Properties] = None) -> None: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def packet_identifier(self) -> int: ...
    @property
    def reason_codes(self) -> list[int]: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Unsubscribe:
    """UNSUBSCRIBE (client to server)."""

    __match_args__: ClassVar[tuple[str, str, str]]
    def __init__(self, packet_id: int, topic_filters: Sequence[str], properties: Optional[Properties] = None) -> None: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def packet_identifier(self) -> int: ...
    @property
    def topic_filters(self) -> list[str]: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Unsuback:
    """UNSUBACK (server to client)."""

    __match_args__: ClassVar[tuple[str, str, str]]
    def __init__(
        self, packet_id: int, reason_codes: Sequence[int] = ..., properties: Optional[Properties] = None
    ) -> None: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def packet_identifier(self) -> int: ...
    @property
    def reason_codes(self) -> list[int]: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class PingReq:
    """PINGREQ."""

    __match_args__: ClassVar[tuple[()]]
    def __init__(self) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class PingResp:
    """PINGRESP."""

    __match_args__: ClassVar[tuple[()]]
    def __init__(self) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Disconnect:
    """DISCONNECT."""

    __match_args__: ClassVar[tuple[str, str]]
    def __init__(self, reason_code: int = 0, properties: Optional[Properties] = None) -> None: ...
    @property
    def reason_code(self) -> int: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Auth:
    """AUTH (5.0); also the event a Client reports for an AUTH from the server."""

    __match_args__: ClassVar[tuple[str, str]]
    def __init__(self, reason_code: int = 0, properties: Optional[Properties] = None) -> None: ...
    @property
    def reason_code(self) -> int: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

Packet: TypeAlias = Union[
    Connect,
    Connack,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    Suback,
    Unsubscribe,
    Unsuback,
    PingReq,
    PingResp,
    Disconnect,
    Auth,
]

def decode(data: BytesLike, version: int = 5, *, max_packet_size: Optional[int] = None) -> Packet:
    """Decodes exactly one whole packet; DecodeError otherwise."""

def encode(packet: Union[Packet, dict[str, Any]], version: int = 5) -> bytes:
    """Encodes a packet object or its dict form."""

def packet_from_dict(d: dict[str, Any]) -> Packet:
    """The packet object for its JSON (dict) form."""

class Decoder:
    """A streaming decoder for one direction of one connection."""

    version: int
    def __init__(self, version: int = 5, max_packet_size: int = 1048576) -> None: ...
    def feed(self, data: BytesLike) -> list[Packet]: ...
    def reset(self) -> None: ...
    @property
    def buffered(self) -> int: ...
    @property
    def max_packet_size(self) -> int: ...

# ----- Events -----------------------------------------------------------------

DisconnectCauseName: TypeAlias = Literal[
    "server", "refused", "protocol_violation", "keep_alive_timeout", "connect_timeout", "connection_lost", "client"
]
RequestEnd: TypeAlias = Literal[
    "completed", "timeout", "cancelled", "no_responders", "refused", "subscription_refused", "session_lost"
]

@final
class Connected:
    """CONNACK with Success: the connection is open."""

    __match_args__: ClassVar[tuple[str, str]]
    def __init__(self, session_present: bool = False, properties: Optional[Properties] = None) -> None: ...
    @property
    def session_present(self) -> bool: ...
    @property
    def properties(self) -> Properties: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Disconnected:
    """The connection is over."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def cause(self) -> DisconnectCauseName: ...
    @property
    def reason_code(self) -> int: ...
    @property
    def reason_name(self) -> str: ...
    @property
    def reason_string(self) -> Optional[str]: ...
    @property
    def server_reference(self) -> Optional[str]: ...
    @property
    def user_properties(self) -> list[tuple[str, str]]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Message:
    """An application message from the server."""

    __match_args__: ClassVar[tuple[str, str, str, str, str, str, str]]
    def __init__(
        self,
        topic: str,
        payload: Optional[Payload] = None,
        qos: int = 0,
        retain: bool = False,
        dup: bool = False,
        packet_id: Optional[int] = None,
        properties: Optional[Properties] = None,
    ) -> None: ...
    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def qos(self) -> int: ...
    @property
    def retain(self) -> bool: ...
    @property
    def dup(self) -> bool: ...
    @property
    def packet_id(self) -> Optional[int]: ...
    @property
    def properties(self) -> Properties: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Published:
    """The QoS 1 or 2 flow of a message we published ended."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def packet_id(self) -> int: ...
    @property
    def qos(self) -> int: ...
    @property
    def reason_code(self) -> int: ...
    @property
    def reason_string(self) -> Optional[str]: ...
    @property
    def user_properties(self) -> list[tuple[str, str]]: ...
    def __eq__(self, other: object) -> bool: ...

@final
class PublishDropped:
    """A message we accepted will never be delivered by this session."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def packet_id(self) -> Optional[int]: ...
    @property
    def topic(self) -> str: ...
    @property
    def reason(self) -> Literal["session_lost", "not_allowed"]: ...
    @property
    def reason_code(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Subscribed:
    """SUBACK: one reason code per requested filter."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def packet_id(self) -> int: ...
    @property
    def reason_codes(self) -> list[int]: ...
    @property
    def properties(self) -> Properties: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Unsubscribed:
    """UNSUBACK: one reason code per filter."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def packet_id(self) -> int: ...
    @property
    def reason_codes(self) -> list[int]: ...
    @property
    def properties(self) -> Properties: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Request:
    """A request on a served filter; answer with Client.respond."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def request_id(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def correlation_data(self) -> Optional[bytes]: ...
    @property
    def response_topic(self) -> Optional[str]: ...
    @property
    def deadline_ms(self) -> Optional[int]: ...
    @property
    def properties(self) -> Properties: ...
    def __eq__(self, other: object) -> bool: ...

@final
class Response:
    """An answer to one of our requests."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def request_id(self) -> int: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def status(self) -> Optional[int]: ...
    @property
    def message(self) -> Optional[str]: ...
    @property
    def more(self) -> bool: ...
    @property
    def topic(self) -> str: ...
    @property
    def properties(self) -> Properties: ...
    def __eq__(self, other: object) -> bool: ...

@final
class RequestDone:
    """One of our requests ended (exactly once per request)."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def request_id(self) -> int: ...
    @property
    def end(self) -> RequestEnd: ...
    @property
    def reason_code(self) -> Optional[int]: ...
    @property
    def responses(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...

Event: TypeAlias = Union[
    Connected,
    Disconnected,
    Message,
    Published,
    PublishDropped,
    Subscribed,
    Unsubscribed,
    Auth,
    Request,
    Response,
    RequestDone,
]

# ----- Client -----------------------------------------------------------------

class Client:
    """An MQTT 3.1.1 / 5.0 client session, sans-IO.

    Options (keyword arguments of the constructor and of ``restore``), with
    their defaults: client_id="", version=5, clean_start=True, keep_alive=60,
    session_expiry_interval=0, receive_maximum=65535,
    maximum_packet_size=1048576, topic_alias_maximum=16,
    request_response_information=False, request_problem_information=True,
    user_properties=None, will=None, username=None, password=None,
    authentication_method=None, authentication_data=None,
    connect_timeout_ms=30000, pingresp_timeout_ms=None (the keep-alive),
    outbound_topic_aliases=True, max_inflight=65535, max_queued=1024,
    offline_queue=False, manual_ack=False, max_events=1024,
    max_transmit_bytes=1048576, response_prefix="replies", seed=None (from
    os.urandom), max_pending=1024, max_cached=1024, cache_ttl_ms=60000,
    rpc_qos=1.
    """

    def __init__(
        self,
        now_ms: int,
        *,
        client_id: str = "",
        version: int = 5,
        clean_start: bool = True,
        keep_alive: int = 60,
        session_expiry_interval: int = 0,
        receive_maximum: int = 65535,
        maximum_packet_size: int = 1048576,
        topic_alias_maximum: int = 16,
        request_response_information: bool = False,
        request_problem_information: bool = True,
        user_properties: Optional[Iterable[tuple[str, str]]] = None,
        will: Optional[Will] = None,
        username: Optional[str] = None,
        password: Optional[BytesLike] = None,
        authentication_method: Optional[str] = None,
        authentication_data: Optional[BytesLike] = None,
        connect_timeout_ms: int = 30000,
        pingresp_timeout_ms: Optional[int] = None,
        outbound_topic_aliases: bool = True,
        max_inflight: int = 65535,
        max_queued: int = 1024,
        offline_queue: bool = False,
        manual_ack: bool = False,
        max_events: int = 1024,
        max_transmit_bytes: int = 1048576,
        response_prefix: str = "replies",
        seed: Optional[int] = None,
        max_pending: int = 1024,
        max_cached: int = 1024,
        cache_ttl_ms: int = 60000,
        rpc_qos: int = 1,
    ) -> None: ...
    @staticmethod
    def restore(now_ms: int, data: BytesLike, **options: Any) -> Client:
        """A closed client holding the session of a snapshot()."""
    def snapshot(self) -> bytes:
        """The session as bytes, for restore()."""
    # 1. getters
    @property
    def state(self) -> Literal["closed", "connecting", "connected"]: ...
    @property
    def is_connected(self) -> bool: ...
    @property
    def client_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def server(self) -> dict[str, Any]: ...
    @property
    def inflight(self) -> int: ...
    @property
    def queued(self) -> int: ...
    @property
    def inbound_pending(self) -> int: ...
    @property
    def stats(self) -> dict[str, int]: ...
    @property
    def rpc_stats(self) -> dict[str, int]: ...
    @property
    def response_topic(self) -> str: ...
    @property
    def mcp(self) -> Union[McpServer, McpClient, None]: ...
    # 2. inputs
    def handle_bytes(self, now_ms: int, data: BytesLike) -> None: ...
    def handle_timeout(self, now_ms: int) -> None: ...
    def handle_closed(self, now_ms: int) -> None: ...
    # 3. commands
    def connect(self, now_ms: int) -> None: ...
    def publish(
        self,
        now_ms: int,
        topic: str,
        payload: Optional[Payload] = None,
        qos: int = 0,
        retain: bool = False,
        *,
        properties: Optional[Properties] = None,
    ) -> Optional[int]: ...
    def subscribe(
        self,
        now_ms: int,
        filters: Union[SubscriptionSpec, Iterable[SubscriptionSpec]],
        qos: int = 1,
        *,
        no_local: bool = False,
        retain_as_published: bool = False,
        retain_handling: int = 0,
        properties: Optional[Properties] = None,
    ) -> int: ...
    def unsubscribe(
        self, now_ms: int, filters: Union[str, Sequence[str]], *, properties: Optional[Properties] = None
    ) -> int: ...
    def ack(self, now_ms: int, packet_id: int, reason_code: int = 0) -> None: ...
    def disconnect(
        self,
        now_ms: int,
        reason_code: int = 0,
        *,
        session_expiry_interval: Optional[int] = None,
        reason_string: Optional[str] = None,
        properties: Optional[Properties] = None,
    ) -> None: ...
    def auth(
        self,
        now_ms: int,
        reason_code: int = 0x18,
        *,
        method: Optional[str] = None,
        data: Optional[BytesLike] = None,
        properties: Optional[Properties] = None,
    ) -> None: ...
    def request(
        self,
        now_ms: int,
        topic: str,
        payload: Optional[Payload] = None,
        timeout_ms: int = 10000,
        *,
        collect: Literal["one", "stream", "many"] = "one",
        max_responses: Optional[int] = None,
        quiet_ms: Optional[int] = None,
        correlation_data: Optional[BytesLike] = None,
        properties: Optional[Properties] = None,
    ) -> int: ...
    def cancel(self, now_ms: int, request_id: int) -> None: ...
    def serve(self, now_ms: int, filter: str, *, group: Optional[str] = None, qos: Optional[int] = None) -> int: ...
    def respond(
        self,
        now_ms: int,
        request_id: int,
        payload: Optional[Payload] = None,
        *,
        status: int = 200,
        message: Optional[str] = None,
        more: bool = False,
        properties: Optional[Properties] = None,
    ) -> None: ...
    def call_device(
        self, now_ms: int, device: str, method: str, params: JsonValue = None, timeout_ms: int = 10000
    ) -> int: ...
    def serve_device(self, now_ms: int, device: str) -> int: ...
    def attach_mcp(self, role: Union[McpServer, McpClient]) -> None: ...
    # 4. outputs
    def poll_transmit(self) -> Optional[bytes]: ...
    def transmit_all(self) -> bytes: ...
    def poll_event(self) -> Optional[Event]: ...
    def events(self) -> list[Event]: ...
    def poll_timeout(self) -> Optional[int]: ...

# ----- MCP over MQTT (filled in with the roles) -------------------------------

class McpServer: ...
class McpClient: ...
