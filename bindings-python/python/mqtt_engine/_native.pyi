"""Type stubs of the native module ``mqtt_engine._native`` (hand-written).

Everything here is re-exported by ``mqtt_engine``. All times are integer
milliseconds on a monotonic clock of the caller's choosing (``now_ms``), the
first argument after ``self`` of every input and command.
"""

from typing import Any, ClassVar, Iterable, Literal, Optional, Sequence, Tuple, Union, final

from typing_extensions import Self, TypeAlias

__version__: str
__all__ = [
    "MqttError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "DecodeError",
    "Properties",
    "Will",
    "Connect",
    "Connack",
    "Publish",
    "PubAck",
    "PubRec",
    "PubRel",
    "PubComp",
    "Subscription",
    "Subscribe",
    "Suback",
    "Unsubscribe",
    "Unsuback",
    "PingReq",
    "PingResp",
    "Disconnect",
    "Auth",
    "Decoder",
    "decode",
    "encode",
    "packet_from_dict",
    "Connected",
    "Disconnected",
    "Message",
    "Published",
    "PublishDropped",
    "Subscribed",
    "Unsubscribed",
    "Request",
    "Response",
    "RequestDone",
    "Client",
    "McpServer",
    "McpClient",
    "JsonRpcError",
    "McpOnline",
    "McpStartFailed",
    "McpInitialize",
    "McpClientRequest",
    "McpClientNotification",
    "McpClientResponse",
    "McpClientOffline",
    "McpServerOnline",
    "McpServerOffline",
    "McpDiscoveryRefused",
    "McpInitialized",
    "McpCallDone",
    "McpSessionClosed",
    "McpServerNotification",
    "McpServerRequest",
    "Packet",
    "Event",
    "McpServerEvent",
    "McpClientEvent",
]

_BytesLike: TypeAlias = Union[bytes, bytearray, memoryview]
_Payload: TypeAlias = Union[bytes, bytearray, memoryview, str]
_UserProperties: TypeAlias = list[tuple[str, str]]
_JsonValue: TypeAlias = Any
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

@final
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
    def __new__(cls,
        *,
        payload_format_indicator: Optional[int] = None,
        message_expiry_interval: Optional[int] = None,
        content_type: Optional[str] = None,
        response_topic: Optional[str] = None,
        correlation_data: Optional[_BytesLike] = None,
        subscription_identifiers: Optional[Sequence[int]] = None,
        session_expiry_interval: Optional[int] = None,
        assigned_client_identifier: Optional[str] = None,
        server_keep_alive: Optional[int] = None,
        authentication_method: Optional[str] = None,
        authentication_data: Optional[_BytesLike] = None,
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
    ) -> Self: ...
    def to_dict(self) -> dict[str, Any]:
        """The properties present, in the JSON form."""
    def is_empty(self) -> bool:
        """True when no property is present."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class Will:
    """The Will Message of a CONNECT."""

    __match_args__: ClassVar[tuple[str, str, str, str, str]]
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: Properties
    def __new__(cls,
        topic: str,
        payload: Optional[_Payload] = None,
        qos: int = 0,
        retain: bool = False,
        properties: Optional[Properties] = None,
    ) -> Self: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

# ----- Packets ----------------------------------------------------------------

@final
class Connect:
    """CONNECT (client to server)."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    def __new__(cls,
        client_id: str = ...,
        *,
        protocol_version: int = 5,
        clean_start: bool = True,
        keep_alive: int = 60,
        will: Optional[Will] = None,
        username: Optional[str] = None,
        password: Optional[_BytesLike] = None,
        properties: Optional[Properties] = None,
    ) -> Self: ...
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
    def __eq__(self, other: object, /) -> bool: ...

@final
class Connack:
    """CONNACK (server to client)."""

    __match_args__: ClassVar[tuple[str, str, str]]
    def __new__(cls, session_present: bool = False, reason_code: int = 0, properties: Optional[Properties] = None
    ) -> Self: ...
    @property
    def session_present(self) -> bool: ...
    @property
    def reason_code(self) -> int: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Publish:
    """PUBLISH (both ways)."""

    __match_args__: ClassVar[tuple[str, str, str, str, str, str, str]]
    def __new__(cls,
        topic: str,
        payload: Optional[_Payload] = None,
        qos: int = 0,
        retain: bool = False,
        dup: bool = False,
        packet_id: Optional[int] = None,
        properties: Optional[Properties] = None,
    ) -> Self: ...
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
    def __eq__(self, other: object, /) -> bool: ...

class _Ack:
    __match_args__: ClassVar[tuple[str, str, str]]
    def __new__(cls, packet_id: int, reason_code: int = 0, properties: Optional[Properties] = None) -> Self: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def packet_identifier(self) -> int: ...
    @property
    def reason_code(self) -> int: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

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
    def __new__(cls,
        topic_filter: str,
        qos: int = 0,
        no_local: bool = False,
        retain_as_published: bool = False,
        retain_handling: int = 0,
    ) -> Self: ...
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
    def __eq__(self, other: object, /) -> bool: ...

_SubscriptionSpec: TypeAlias = Union[str, Tuple[str, int], Subscription]

@final
class Subscribe:
    """SUBSCRIBE (client to server)."""

    __match_args__: ClassVar[tuple[str, str, str]]
    def __new__(cls, packet_id: int, subscriptions: Iterable[_SubscriptionSpec], properties: Optional[Properties] = None
    ) -> Self: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def packet_identifier(self) -> int: ...
    @property
    def subscriptions(self) -> list[Subscription]: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Suback:
    """SUBACK (server to client)."""

    __match_args__: ClassVar[tuple[str, str, str]]
    def __new__(cls, packet_id: int, reason_codes: Sequence[int], properties: Optional[Properties] = None) -> Self: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def packet_identifier(self) -> int: ...
    @property
    def reason_codes(self) -> list[int]: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Unsubscribe:
    """UNSUBSCRIBE (client to server)."""

    __match_args__: ClassVar[tuple[str, str, str]]
    def __new__(cls, packet_id: int, topic_filters: Sequence[str], properties: Optional[Properties] = None) -> Self: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def packet_identifier(self) -> int: ...
    @property
    def topic_filters(self) -> list[str]: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Unsuback:
    """UNSUBACK (server to client)."""

    __match_args__: ClassVar[tuple[str, str, str]]
    def __new__(cls, packet_id: int, reason_codes: Sequence[int] = ..., properties: Optional[Properties] = None
    ) -> Self: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def packet_identifier(self) -> int: ...
    @property
    def reason_codes(self) -> list[int]: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class PingReq:
    """PINGREQ."""

    __match_args__: ClassVar[tuple[()]]
    def __new__(cls) -> Self: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class PingResp:
    """PINGRESP."""

    __match_args__: ClassVar[tuple[()]]
    def __new__(cls) -> Self: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Disconnect:
    """DISCONNECT."""

    __match_args__: ClassVar[tuple[str, str]]
    def __new__(cls, reason_code: int = 0, properties: Optional[Properties] = None) -> Self: ...
    @property
    def reason_code(self) -> int: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Auth:
    """AUTH (5.0); also the event a Client reports for an AUTH from the server."""

    __match_args__: ClassVar[tuple[str, str]]
    def __new__(cls, reason_code: int = 0, properties: Optional[Properties] = None) -> Self: ...
    @property
    def reason_code(self) -> int: ...
    @property
    def properties(self) -> Properties: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

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

def decode(data: _BytesLike, version: int = 5, *, max_packet_size: Optional[int] = None) -> Packet:
    """Decodes exactly one whole packet; DecodeError otherwise."""

def encode(packet: Union[Packet, dict[str, Any]], version: int = 5) -> bytes:
    """Encodes a packet object or its dict form."""

def packet_from_dict(d: dict[str, Any]) -> Packet:
    """The packet object for its JSON (dict) form."""

@final
class Decoder:
    """A streaming decoder for one direction of one connection."""

    version: int
    def __new__(cls, version: int = 5, max_packet_size: int = 1048576) -> Self: ...
    def feed(self, data: _BytesLike) -> list[Packet]: ...
    def reset(self) -> None: ...
    @property
    def buffered(self) -> int: ...
    @property
    def max_packet_size(self) -> int: ...

# ----- Events -----------------------------------------------------------------

_DisconnectCauseName: TypeAlias = Literal[
    "server", "refused", "protocol_violation", "keep_alive_timeout", "connect_timeout", "connection_lost", "client"
]
_RequestEnd: TypeAlias = Literal[
    "completed", "timeout", "cancelled", "no_responders", "refused", "subscription_refused", "session_lost"
]

@final
class Connected:
    """CONNACK with Success: the connection is open."""

    __match_args__: ClassVar[tuple[str, str]]
    def __new__(cls, session_present: bool = False, properties: Optional[Properties] = None) -> Self: ...
    @property
    def session_present(self) -> bool: ...
    @property
    def properties(self) -> Properties: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Disconnected:
    """The connection is over."""

    __match_args__: ClassVar[tuple[str, str, str, str, str, str]]
    @property
    def cause(self) -> _DisconnectCauseName: ...
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
    def __eq__(self, other: object, /) -> bool: ...

@final
class Message:
    """An application message from the server."""

    __match_args__: ClassVar[tuple[str, str, str, str, str, str, str]]
    def __new__(cls,
        topic: str,
        payload: Optional[_Payload] = None,
        qos: int = 0,
        retain: bool = False,
        dup: bool = False,
        packet_id: Optional[int] = None,
        properties: Optional[Properties] = None,
    ) -> Self: ...
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
    def __eq__(self, other: object, /) -> bool: ...

@final
class Published:
    """The QoS 1 or 2 flow of a message we published ended."""

    __match_args__: ClassVar[tuple[str, str, str, str, str]]
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
    def __eq__(self, other: object, /) -> bool: ...

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
    def __eq__(self, other: object, /) -> bool: ...

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
    def __eq__(self, other: object, /) -> bool: ...

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
    def __eq__(self, other: object, /) -> bool: ...

@final
class Request:
    """A request on a served filter; answer with Client.respond."""

    __match_args__: ClassVar[tuple[str, str, str, str, str, str, str]]
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
    def __eq__(self, other: object, /) -> bool: ...

@final
class Response:
    """An answer to one of our requests."""

    __match_args__: ClassVar[tuple[str, str, str, str, str, str, str]]
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
    def __eq__(self, other: object, /) -> bool: ...

@final
class RequestDone:
    """One of our requests ended (exactly once per request)."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def request_id(self) -> int: ...
    @property
    def end(self) -> _RequestEnd: ...
    @property
    def reason_code(self) -> Optional[int]: ...
    @property
    def responses(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...

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

@final
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
    os.urandom), max_pending=1024, max_cached=16384, cache_ttl_ms=60000,
    rpc_qos=1.
    """

    def __new__(cls,
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
        password: Optional[_BytesLike] = None,
        authentication_method: Optional[str] = None,
        authentication_data: Optional[_BytesLike] = None,
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
        max_cached: int = 16384,
        cache_ttl_ms: int = 60000,
        rpc_qos: int = 1,
    ) -> Self: ...
    @staticmethod
    def restore(now_ms: int, data: _BytesLike, **options: Any) -> Client:
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
    def handle_bytes(self, now_ms: int, data: _BytesLike) -> None: ...
    def handle_timeout(self, now_ms: int) -> None: ...
    def handle_closed(self, now_ms: int) -> None: ...
    # 3. commands
    def connect(self, now_ms: int) -> None: ...
    def publish(
        self,
        now_ms: int,
        topic: str,
        payload: Optional[_Payload] = None,
        qos: int = 0,
        retain: bool = False,
        *,
        properties: Optional[Properties] = None,
    ) -> Optional[int]: ...
    def subscribe(
        self,
        now_ms: int,
        filters: Union[_SubscriptionSpec, Iterable[_SubscriptionSpec]],
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
        data: Optional[_BytesLike] = None,
        properties: Optional[Properties] = None,
    ) -> None: ...
    def request(
        self,
        now_ms: int,
        topic: str,
        payload: Optional[_Payload] = None,
        timeout_ms: int = 10000,
        *,
        collect: Literal["one", "stream", "many"] = "one",
        max_responses: Optional[int] = None,
        quiet_ms: Optional[int] = None,
        correlation_data: Optional[_BytesLike] = None,
        properties: Optional[Properties] = None,
    ) -> int: ...
    def cancel(self, now_ms: int, request_id: int) -> None: ...
    def serve(self, now_ms: int, filter: str, *, group: Optional[str] = None, qos: Optional[int] = None) -> int: ...
    def unserve(self, now_ms: int, filter: str, *, group: Optional[str] = None) -> int: ...
    def respond(
        self,
        now_ms: int,
        request_id: int,
        payload: Optional[_Payload] = None,
        *,
        status: int = 200,
        message: Optional[str] = None,
        more: bool = False,
        properties: Optional[Properties] = None,
    ) -> None: ...
    def call_device(
        self, now_ms: int, device: str, method: str, params: _JsonValue = None, timeout_ms: int = 10000
    ) -> int: ...
    def serve_device(self, now_ms: int, device: str) -> int: ...
    def attach_mcp(self, role: Union[McpServer, McpClient]) -> None: ...
    # 4. outputs
    def poll_transmit(self) -> Optional[bytes]: ...
    def transmit_all(self) -> bytes: ...
    def poll_event(self) -> Optional[Event]: ...
    def events(self) -> list[Event]: ...
    def poll_timeout(self) -> Optional[int]: ...

# ----- MCP over MQTT -----------------------------------------------------------
#
# A role is attached to a closed Client with Client.attach_mcp(role); the client
# then routes its events through the role, starts it on Connected and folds its
# deadlines into poll_timeout / handle_timeout. Role commands take the client
# and now_ms. JSON values are in the json.loads form (_JsonValue).

@final
class JsonRpcError:
    """A JSON-RPC error object."""

    __match_args__: ClassVar[tuple[str, str, str]]
    PARSE_ERROR: ClassVar[int]
    INVALID_REQUEST: ClassVar[int]
    METHOD_NOT_FOUND: ClassVar[int]
    INVALID_PARAMS: ClassVar[int]
    INTERNAL_ERROR: ClassVar[int]
    def __new__(cls, code: int, message: str, data: _JsonValue = None) -> Self: ...
    @property
    def code(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def data(self) -> _JsonValue: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object, /) -> bool: ...

_RpcErrorSpec: TypeAlias = Union[JsonRpcError, dict[str, Any], Tuple[int, str]]

# McpServer events

@final
class McpOnline:
    """The server's presence is published: clients can find it."""

    __match_args__: ClassVar[tuple[()]]
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpStartFailed:
    """The broker refused the control subscription."""

    __match_args__: ClassVar[tuple[str]]
    @property
    def reason_code(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpInitialize:
    """An initialize request; answer with McpServer.respond."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def client(self) -> str: ...
    @property
    def id(self) -> _JsonValue: ...
    @property
    def params(self) -> _JsonValue: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpClientRequest:
    """A JSON-RPC request from an MCP client; answer with McpServer.respond."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def client(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def id(self) -> _JsonValue: ...
    @property
    def params(self) -> _JsonValue: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpClientNotification:
    """A JSON-RPC notification from an MCP client."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def client(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def params(self) -> _JsonValue: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpClientResponse:
    """A JSON-RPC response from an MCP client."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def client(self) -> str: ...
    @property
    def id(self) -> _JsonValue: ...
    @property
    def result(self) -> _JsonValue: ...
    @property
    def error(self) -> Optional[JsonRpcError]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpClientOffline:
    """An MCP client left; its session is forgotten."""

    __match_args__: ClassVar[tuple[str]]
    @property
    def client(self) -> str: ...
    def __eq__(self, other: object, /) -> bool: ...

McpServerEvent: TypeAlias = Union[
    McpOnline, McpStartFailed, McpInitialize, McpClientRequest, McpClientNotification, McpClientResponse, McpClientOffline
]

# McpClient events

@final
class McpServerOnline:
    """A server instance announced itself (also an entry of McpClient.instances)."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def server_id(self) -> str: ...
    @property
    def server_name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def meta(self) -> _JsonValue: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpServerOffline:
    """A server instance's presence was cleared."""

    __match_args__: ClassVar[tuple[str, str]]
    @property
    def server_name(self) -> str: ...
    @property
    def server_id(self) -> str: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpDiscoveryRefused:
    """The broker refused a presence subscription."""

    __match_args__: ClassVar[tuple[str, str]]
    @property
    def filter(self) -> str: ...
    @property
    def reason_code(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpInitialized:
    """A session is initialized: calls may go."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def session(self) -> int: ...
    @property
    def server_id(self) -> str: ...
    @property
    def server_name(self) -> str: ...
    @property
    def result(self) -> _JsonValue: ...
    def __eq__(self, other: object, /) -> bool: ...

_CallOutcomeName: TypeAlias = Literal[
    "result", "error", "timeout", "server_offline", "connection_lost", "subscription_refused", "closed"
]

@final
class McpCallDone:
    """A call ended (exactly once per McpClient.call)."""

    __match_args__: ClassVar[tuple[str, str, str, str, str]]
    @property
    def call(self) -> int: ...
    @property
    def session(self) -> int: ...
    @property
    def method(self) -> str: ...
    @property
    def outcome(self) -> _CallOutcomeName: ...
    @property
    def result(self) -> _JsonValue: ...
    @property
    def error(self) -> Optional[JsonRpcError]: ...
    @property
    def reason_code(self) -> Optional[int]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpSessionClosed:
    """A session ended; its calls ended before it."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def session(self) -> int: ...
    @property
    def server_id(self) -> str: ...
    @property
    def reason(
        self,
    ) -> Literal["initialize_failed", "server_offline", "server_disconnected", "closed", "connection_lost"]: ...
    @property
    def outcome(self) -> Optional[_CallOutcomeName]: ...
    @property
    def error(self) -> Optional[JsonRpcError]: ...
    @property
    def reason_code(self) -> Optional[int]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpServerNotification:
    """A notification from the server of a session."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def session(self) -> int: ...
    @property
    def method(self) -> str: ...
    @property
    def params(self) -> _JsonValue: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class McpServerRequest:
    """A request from the server of a session; answer with McpClient.respond."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def session(self) -> int: ...
    @property
    def method(self) -> str: ...
    @property
    def id(self) -> _JsonValue: ...
    @property
    def params(self) -> _JsonValue: ...
    def __eq__(self, other: object, /) -> bool: ...

McpClientEvent: TypeAlias = Union[
    McpServerOnline,
    McpServerOffline,
    McpDiscoveryRefused,
    McpInitialized,
    McpCallDone,
    McpSessionClosed,
    McpServerNotification,
    McpServerRequest,
]

@final
class McpServer:
    """The server role of MCP over MQTT."""

    def __new__(cls,
        server_id: str,
        server_name: str,
        description: str = ...,
        *,
        meta: _JsonValue = None,
        component_meta: _JsonValue = None,
        max_clients: int = 1024,
        max_events: int = 1024,
    ) -> Self: ...
    @property
    def server_id(self) -> str: ...
    @property
    def server_name(self) -> str: ...
    @property
    def is_online(self) -> bool: ...
    @property
    def clients(self) -> list[str]: ...
    @property
    def sessions(self) -> list[tuple[str, bool]]: ...
    @property
    def stats(self) -> dict[str, int]: ...
    def start(self, client: Client, now_ms: int) -> None: ...
    def respond(
        self,
        client: Client,
        now_ms: int,
        mcp_client: str,
        id: _JsonValue,
        result: _JsonValue = None,
        *,
        error: Optional[_RpcErrorSpec] = None,
    ) -> None: ...
    def notify(self, client: Client, now_ms: int, mcp_client: str, method: str, params: _JsonValue = None) -> None: ...
    def notify_capability(self, client: Client, now_ms: int, method: str, params: _JsonValue = None) -> None: ...
    def disconnect_client(self, client: Client, now_ms: int, mcp_client: str) -> None: ...
    def shutdown(self, client: Client, now_ms: int) -> None: ...
    def poll_event(self) -> Optional[McpServerEvent]: ...
    def events(self) -> list[McpServerEvent]: ...

@final
class McpClient:
    """The client role of MCP over MQTT."""

    def __new__(cls,
        client_id: str,
        *,
        server_name_filters: Optional[Sequence[str]] = None,
        component_meta: _JsonValue = None,
        initialize_params: _JsonValue = None,
        choice: Literal["random", "round_robin"] = "random",
        seed: Optional[int] = None,
        max_servers: int = 1024,
        max_sessions: int = 64,
        max_pending: int = 1024,
        timeouts_ms: Optional[dict[str, int]] = None,
        default_timeout_ms: int = 30000,
        max_events: int = 1024,
    ) -> Self: ...
    @property
    def client_id(self) -> str: ...
    @property
    def filters(self) -> list[str]: ...
    @property
    def stats(self) -> dict[str, int]: ...
    @property
    def pending(self) -> int: ...
    @property
    def server_names(self) -> list[str]: ...
    def instances(self, server_name: str) -> list[McpServerOnline]: ...
    def choose(self, server_name: str) -> Optional[McpServerOnline]: ...
    def is_ready(self, session: int) -> bool: ...
    def start(self, client: Client, now_ms: int) -> None: ...
    def initialize(self, client: Client, now_ms: int, server_name: str) -> int: ...
    def initialize_instance(self, client: Client, now_ms: int, server_name: str, server_id: str) -> int: ...
    def call(
        self,
        client: Client,
        now_ms: int,
        session: int,
        method: str,
        params: _JsonValue = None,
        timeout_ms: Optional[int] = None,
    ) -> int: ...
    def notify(self, client: Client, now_ms: int, session: int, method: str, params: _JsonValue = None) -> None: ...
    def respond(
        self,
        client: Client,
        now_ms: int,
        session: int,
        id: _JsonValue,
        result: _JsonValue = None,
        *,
        error: Optional[_RpcErrorSpec] = None,
    ) -> None: ...
    def notify_capability(self, client: Client, now_ms: int, method: str, params: _JsonValue = None) -> None: ...
    def close(self, client: Client, now_ms: int, session: int) -> None: ...
    def shutdown(self, client: Client, now_ms: int) -> None: ...
    def handle_timeout(self, client: Client, now_ms: int) -> None: ...
    def poll_timeout(self) -> Optional[int]: ...
    def poll_event(self) -> Optional[McpClientEvent]: ...
    def events(self) -> list[McpClientEvent]: ...
