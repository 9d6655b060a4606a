//! MCP over MQTT on simulated time: the server role and the client role,
//! each against a scripted broker played by the test, which checks every
//! topic, User Property, retained flag, subscription order and No Local.
#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

use mqtt_engine::client::{Event, Options};
use mqtt_engine::codec::{
    Connack, Packet, Properties, Publish, QoS, ReasonCode, Suback, Subscribe, Unsubscribe,
};
use mqtt_engine::rpc::mcp::{
    CallOutcome, Choice, CloseReason, McpClient, McpClientEvent, McpClientOptions, McpErrorKind,
    McpServer, McpServerEvent, McpServerOptions, RpcError, SessionId,
};
use mqtt_engine::Bytes;
use mqtt_engine_testkit::pair::Pair;
use serde_json::{json, Value};
use std::time::Duration;

const SID: &str = "srv-a";
const NAME: &str = "tools/weather";
const CID: &str = "cli-1";

fn user(p: &Properties, name: &str) -> Option<String> {
    p.user_properties.iter().find(|(k, _)| k == name).map(|(_, v)| v.to_string())
}

fn assert_mcp_props(p: &Properties, kind: &str, id: &str) {
    assert_eq!(user(p, "MCP-COMPONENT-TYPE").as_deref(), Some(kind));
    assert_eq!(user(p, "MCP-MQTT-CLIENT-ID").as_deref(), Some(id));
}

fn body(m: &Publish) -> Value {
    serde_json::from_slice(&m.payload).unwrap()
}

/// A PUBLISH as the broker delivers it (QoS 0, from `sender`).
fn deliver(topic: &str, payload: Value, kind: &str, sender: &str) -> Publish {
    let mut m = Publish::new(topic.to_string(), Bytes::from(payload.to_string()));
    m.properties.user_properties.push(("MCP-COMPONENT-TYPE".into(), kind.to_string().into()));
    m.properties.user_properties.push(("MCP-MQTT-CLIENT-ID".into(), sender.to_string().into()));
    m
}

fn raw(topic: &str, payload: &'static [u8]) -> Publish {
    Publish::new(topic.to_string(), payload)
}

fn suback(s: &Subscribe, code: ReasonCode) -> Suback {
    Suback {
        packet_id: s.packet_id,
        reason_codes: vec![code; s.filters.len()],
        ..Suback::default()
    }
}

fn expect_subscribe(p: &mut Pair) -> Subscribe {
    match p.expect() {
        Packet::Subscribe(s) => s,
        other => panic!("expected SUBSCRIBE, got {other:?}"),
    }
}

fn expect_unsubscribe(p: &mut Pair) -> Unsubscribe {
    match p.expect() {
        Packet::Unsubscribe(u) => u,
        other => panic!("expected UNSUBSCRIBE, got {other:?}"),
    }
}

fn expect_publish(p: &mut Pair) -> Publish {
    match p.expect() {
        Packet::Publish(m) => m,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

// ----- server role ----------------------------------------------------------

fn server() -> McpServer {
    let mut o = McpServerOptions::new(SID, NAME, "Weather forecasts");
    o.meta = json!({"rbac": {"roles": [{"name": "user"}]}});
    o.component_meta = json!({"version": "1.0"});
    McpServer::new(o).unwrap()
}

/// Feeds the pair's events through the server; returns the MCP events and
/// the events given back.
fn pump_server(p: &mut Pair, s: &mut McpServer) -> (Vec<McpServerEvent>, Vec<Event>) {
    let mut back = Vec::new();
    loop {
        p.drive();
        let evs: Vec<Event> = p.events.drain(..).collect();
        if evs.is_empty() {
            break;
        }
        for e in evs {
            back.extend(s.handle_event(&mut p.client, p.now, e));
        }
    }
    (std::iter::from_fn(|| s.poll_event()).collect(), back)
}

/// Connects with `connack` properties, letting the server see Connected.
fn connect_server(s: &mut McpServer, connack: Properties) -> Pair {
    let mut p = Pair::new(s.options(Options::default()));
    p.client.connect(p.now).unwrap();
    let Packet::Connect(_) = p.expect() else { panic!("no CONNECT") };
    p.send(Connack {
        session_present: false,
        reason_code: ReasonCode::SUCCESS,
        properties: connack,
    });
    let (mcp, back) = pump_server(&mut p, s);
    assert!(mcp.is_empty());
    assert!(matches!(back.as_slice(), [Event::Connected(_)]), "{back:?}");
    p
}

/// A server connected, started and online; the presence PUBLISH taken.
fn online_server() -> (Pair, McpServer) {
    let mut s = server();
    let mut p = connect_server(&mut s, Properties::default());
    s.start(&mut p.client, p.now).unwrap();
    let sub = expect_subscribe(&mut p);
    p.send(suback(&sub, ReasonCode::GRANTED_QOS_1));
    let (mcp, _) = pump_server(&mut p, &mut s);
    assert_eq!(mcp, vec![McpServerEvent::Online]);
    let _presence = expect_publish(&mut p);
    (p, s)
}

fn initialize_request(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize",
           "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t"}}})
}

/// An online server with an open session for CID; returns the SUBSCRIBE it made.
fn server_with_client() -> (Pair, McpServer) {
    let (mut p, mut s) = online_server();
    p.send(deliver(&format!("$mcp-server/{SID}/{NAME}"), initialize_request(1), "mcp-client", CID));
    pump_server(&mut p, &mut s);
    let sub = expect_subscribe(&mut p);
    p.send(suback(&sub, ReasonCode::GRANTED_QOS_1));
    let (mcp, _) = pump_server(&mut p, &mut s);
    let [McpServerEvent::Initialize { id, .. }] = mcp.as_slice() else { panic!("{mcp:?}") };
    s.respond(&mut p.client, p.now, CID, id.clone(), Ok(json!({"capabilities": {}}))).unwrap();
    let _ = expect_publish(&mut p);
    (p, s)
}

/// CONNECT carries the server-id, MQTT 5, Session Expiry 0, the MCP User
/// Properties, and a retained empty will on the presence topic.
#[test]
fn server_connect_has_empty_retained_will_on_presence_and_mcp_user_properties() {
    let s = server();
    let mut p =
        Pair::new(s.options(Options { session_expiry_interval: 300, ..Options::default() }));
    p.client.connect(p.now).unwrap();
    let Packet::Connect(c) = p.expect() else { panic!() };
    assert_eq!(c.client_id, SID);
    assert_eq!(c.protocol, mqtt_engine::Protocol::V5);
    assert!(c.clean_start);
    assert_eq!(c.properties.session_expiry_interval.unwrap_or(0), 0);
    assert_eq!(user(&c.properties, "MCP-COMPONENT-TYPE").as_deref(), Some("mcp-server"));
    let meta: Value = serde_json::from_str(&user(&c.properties, "MCP-META").unwrap()).unwrap();
    assert_eq!(meta, json!({"version": "1.0"}));
    let will = c.will.unwrap();
    assert_eq!(will.topic, format!("$mcp-server/presence/{SID}/{NAME}").as_str());
    assert!(will.payload.is_empty());
    assert!(will.retain);
    assert_mcp_props(&will.properties, "mcp-server", SID);
}

/// The control subscription is acknowledged before the retained presence
/// invites clients to use it; the presence is `notifications/server/online`
/// with server_name, description and meta.
#[test]
fn server_publishes_retained_presence_only_after_control_suback() {
    let mut s = server();
    let mut p = connect_server(&mut s, Properties::default());
    s.start(&mut p.client, p.now).unwrap();
    let sub = expect_subscribe(&mut p);
    assert_eq!(sub.filters.len(), 1);
    assert_eq!(sub.filters[0].filter, format!("$mcp-server/{SID}/{NAME}").as_str());
    assert!(!sub.filters[0].no_local);
    p.expect_silence();
    assert!(!s.is_online());
    p.send(suback(&sub, ReasonCode::GRANTED_QOS_1));
    let (mcp, back) = pump_server(&mut p, &mut s);
    assert_eq!(mcp, vec![McpServerEvent::Online]);
    assert!(back.is_empty(), "the SUBACK is the MCP layer's own: {back:?}");
    let m = expect_publish(&mut p);
    assert_eq!(m.topic, format!("$mcp-server/presence/{SID}/{NAME}").as_str());
    assert!(m.retain);
    assert_eq!(m.qos, QoS::AtLeastOnce);
    assert_mcp_props(&m.properties, "mcp-server", SID);
    assert_eq!(
        body(&m),
        json!({"jsonrpc": "2.0", "method": "notifications/server/online",
               "params": {"server_name": NAME, "description": "Weather forecasts",
                          "meta": {"rbac": {"roles": [{"name": "user"}]}}}})
    );
    // Its PUBACK is consumed too.
    p.send(Packet::Puback(mqtt_engine::codec::PubAck::new(m.packet_id.unwrap())));
    let (mcp, back) = pump_server(&mut p, &mut s);
    assert!(mcp.is_empty() && back.is_empty(), "{mcp:?} {back:?}");
}

/// A refused control subscription publishes no presence.
#[test]
fn server_control_subscription_refused_reports_start_failed_without_presence() {
    let mut s = server();
    let mut p = connect_server(&mut s, Properties::default());
    s.start(&mut p.client, p.now).unwrap();
    let sub = expect_subscribe(&mut p);
    p.send(suback(&sub, ReasonCode::NOT_AUTHORIZED));
    let (mcp, _) = pump_server(&mut p, &mut s);
    assert_eq!(mcp, vec![McpServerEvent::StartFailed(ReasonCode::NOT_AUTHORIZED)]);
    p.expect_silence();
    assert_eq!(s.stats().subscriptions_refused, 1);
}

/// The broker's MCP-SERVER-NAME in CONNACK replaces the configured name.
#[test]
fn server_adopts_broker_suggested_server_name() {
    let mut s = server();
    let mut props = Properties::default();
    props.user_properties.push(("MCP-SERVER-NAME".into(), "site/7/weather".into()));
    let mut p = connect_server(&mut s, props);
    assert_eq!(s.server_name(), "site/7/weather");
    s.start(&mut p.client, p.now).unwrap();
    let sub = expect_subscribe(&mut p);
    assert_eq!(sub.filters[0].filter, format!("$mcp-server/{SID}/site/7/weather").as_str());
}

/// An initialize on the control topic: the client's capability and
/// presence topics and the RPC topic (No Local) are subscribed, and only
/// after their SUBACK is the initialize reported; the answer goes to the RPC
/// topic echoing the id. A tools/call on the RPC topic then round-trips.
#[test]
fn server_subscribes_client_topics_before_answering_initialize_then_serves_tools_call() {
    let (mut p, mut s) = online_server();
    p.send(deliver(&format!("$mcp-server/{SID}/{NAME}"), initialize_request(7), "mcp-client", CID));
    let (mcp, _) = pump_server(&mut p, &mut s);
    assert!(mcp.is_empty(), "initialize reported before the SUBACK: {mcp:?}");
    let sub = expect_subscribe(&mut p);
    let filters: Vec<(String, bool)> =
        sub.filters.iter().map(|f| (f.filter.to_string(), f.no_local)).collect();
    let rpc = format!("$mcp-rpc/{CID}/{SID}/{NAME}");
    assert_eq!(
        filters,
        vec![
            (format!("$mcp-client/capability/{CID}"), false),
            (format!("$mcp-client/presence/{CID}"), false),
            (rpc.clone(), true),
        ]
    );
    assert_eq!(s.sessions(), vec![(CID, false)]);
    p.send(suback(&sub, ReasonCode::GRANTED_QOS_1));
    let (mcp, _) = pump_server(&mut p, &mut s);
    let [McpServerEvent::Initialize { client, id, params }] = mcp.as_slice() else {
        panic!("{mcp:?}")
    };
    assert_eq!((client.as_str(), id), (CID, &json!(7)));
    assert_eq!(params["protocolVersion"], "2025-06-18");
    let result = json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                        "serverInfo": {"name": "weather", "version": "1"}});
    s.respond(&mut p.client, p.now, CID, id.clone(), Ok(result.clone())).unwrap();
    let m = expect_publish(&mut p);
    assert_eq!(m.topic, rpc.as_str());
    assert!(!m.retain);
    assert_mcp_props(&m.properties, "mcp-server", SID);
    assert_eq!(body(&m), json!({"jsonrpc": "2.0", "id": 7, "result": result}));

    p.send(deliver(
        &rpc,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        "mcp-client",
        CID,
    ));
    p.send(deliver(
        &rpc,
        json!({"jsonrpc": "2.0", "id": "c-2", "method": "tools/call",
               "params": {"name": "forecast", "arguments": {"city": "Oslo"}}}),
        "mcp-client",
        CID,
    ));
    let (mcp, _) = pump_server(&mut p, &mut s);
    assert_eq!(
        mcp,
        vec![
            McpServerEvent::Notification {
                client: CID.into(),
                method: "notifications/initialized".into(),
                params: Value::Null
            },
            McpServerEvent::Request {
                client: CID.into(),
                id: json!("c-2"),
                method: "tools/call".into(),
                params: json!({"name": "forecast", "arguments": {"city": "Oslo"}}),
            },
        ]
    );
    s.respond(&mut p.client, p.now, CID, json!("c-2"), Err(RpcError::new(-32602, "unknown city")))
        .unwrap();
    let m = expect_publish(&mut p);
    assert_eq!(m.topic, rpc.as_str());
    assert_eq!(
        body(&m),
        json!({"jsonrpc": "2.0", "id": "c-2", "error": {"code": -32602, "message": "unknown city"}})
    );
}

/// Malformed JSON, non-JSON-RPC payloads and an initialize without
/// MCP-MQTT-CLIENT-ID are dropped and counted; messages on other topics are
/// given back; answering an unknown client is refused.
#[test]
fn server_drops_and_counts_malformed_messages_and_gives_back_foreign_ones() {
    let (mut p, mut s) = server_with_client();
    let control = format!("$mcp-server/{SID}/{NAME}");
    let rpc = format!("$mcp-rpc/{CID}/{SID}/{NAME}");
    p.send(raw(&control, b"{not json"));
    p.send(raw(&control, br#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#)); // no client id
    p.send(deliver(&control, json!({"id": 1, "method": "initialize"}), "mcp-client", "c9"));
    p.send(raw(&rpc, b"\xff\xfe"));
    p.send(raw(&rpc, br#"{"jsonrpc":"2.0","method":42}"#));
    p.send(raw("sensors/kitchen", b"21.5"));
    let (mcp, back) = pump_server(&mut p, &mut s);
    assert!(mcp.is_empty(), "{mcp:?}");
    assert_eq!(s.stats().malformed, 5);
    assert!(matches!(back.as_slice(), [Event::Message(m)] if m.topic == "sensors/kitchen"));
    p.expect_silence();
    let err = s.respond(&mut p.client, p.now, "nobody", json!(1), Ok(json!({}))).unwrap_err();
    assert_eq!(err.kind, McpErrorKind::UnknownClient);
}

/// A client's `notifications/disconnected` on its presence topic (its will)
/// forgets it and undoes the three subscriptions.
#[test]
fn server_forgets_a_client_whose_presence_says_disconnected() {
    let (mut p, mut s) = server_with_client();
    p.send(deliver(
        &format!("$mcp-client/presence/{CID}"),
        json!({"jsonrpc": "2.0", "method": "notifications/disconnected"}),
        "mcp-client",
        CID,
    ));
    let (mcp, _) = pump_server(&mut p, &mut s);
    assert_eq!(mcp, vec![McpServerEvent::ClientOffline { client: CID.into() }]);
    let un = expect_unsubscribe(&mut p);
    let filters: Vec<String> = un.filters.iter().map(ToString::to_string).collect();
    assert_eq!(
        filters,
        vec![
            format!("$mcp-client/capability/{CID}"),
            format!("$mcp-client/presence/{CID}"),
            format!("$mcp-rpc/{CID}/{SID}/{NAME}"),
        ]
    );
    assert!(s.sessions().is_empty());
}

/// Shutdown clears the retained presence with an empty retained message,
/// then disconnects normally (so the broker drops the will).
#[test]
fn server_shutdown_clears_presence_then_disconnects() {
    let (mut p, mut s) = server_with_client();
    s.shutdown(&mut p.client, p.now).unwrap();
    let m = expect_publish(&mut p);
    assert_eq!(m.topic, format!("$mcp-server/presence/{SID}/{NAME}").as_str());
    assert!(m.retain);
    assert!(m.payload.is_empty());
    assert_mcp_props(&m.properties, "mcp-server", SID);
    let Packet::Disconnect(d) = p.expect() else { panic!("no DISCONNECT") };
    assert_eq!(d.reason_code, ReasonCode::SUCCESS);
    assert!(!s.is_online());
}

// ----- client role ----------------------------------------------------------

fn mcp_client(choice: Choice) -> McpClient {
    let mut o = McpClientOptions::new(CID);
    o.choice = choice;
    o.component_meta = json!({"app": "test"});
    McpClient::new(o).unwrap()
}

fn pump_client(p: &mut Pair, c: &mut McpClient) -> (Vec<McpClientEvent>, Vec<Event>) {
    let mut back = Vec::new();
    loop {
        p.drive();
        let evs: Vec<Event> = p.events.drain(..).collect();
        if evs.is_empty() {
            break;
        }
        for e in evs {
            back.extend(c.handle_event(&mut p.client, p.now, e));
        }
    }
    (std::iter::from_fn(|| c.poll_event()).collect(), back)
}

/// Moves time forward by `ms` for the MQTT client and the MCP layer.
fn advance(p: &mut Pair, c: &mut McpClient, ms: u64) -> Vec<McpClientEvent> {
    p.advance(ms);
    c.handle_timeout(&mut p.client, p.now);
    pump_client(p, c).0
}

fn online(sid: &str, name: &str) -> Publish {
    let mut m = deliver(
        &format!("$mcp-server/presence/{sid}/{name}"),
        json!({"jsonrpc": "2.0", "method": "notifications/server/online",
               "params": {"server_name": name, "description": "d", "meta": {"k": sid}}}),
        "mcp-server",
        sid,
    );
    m.retain = true;
    m
}

fn offline(sid: &str, name: &str) -> Publish {
    Publish::new(format!("$mcp-server/presence/{sid}/{name}"), Bytes::new())
}

/// A connected, started MCP client (presence subscription acknowledged).
fn started_client(choice: Choice, connack: Properties) -> (Pair, McpClient) {
    let mut c = mcp_client(choice);
    let mut p = Pair::new(c.options(Options::default()));
    p.client.connect(p.now).unwrap();
    let Packet::Connect(_) = p.expect() else { panic!("no CONNECT") };
    p.send(Connack {
        session_present: false,
        reason_code: ReasonCode::SUCCESS,
        properties: connack,
    });
    let (_, back) = pump_client(&mut p, &mut c);
    assert!(matches!(back.as_slice(), [Event::Connected(_)]), "{back:?}");
    c.start(&mut p.client, p.now).unwrap();
    let sub = expect_subscribe(&mut p);
    p.send(suback(&sub, ReasonCode::GRANTED_QOS_1));
    let (mcp, back) = pump_client(&mut p, &mut c);
    assert!(mcp.is_empty() && back.is_empty(), "{mcp:?} {back:?}");
    (p, c)
}

/// A ready session with SID; returns it.
fn ready_client() -> (Pair, McpClient, SessionId) {
    let (mut p, mut c) = started_client(Choice::RoundRobin, Properties::default());
    p.send(online(SID, NAME));
    pump_client(&mut p, &mut c);
    let session = c.initialize(&mut p.client, p.now, NAME).unwrap();
    let sub = expect_subscribe(&mut p);
    p.send(suback(&sub, ReasonCode::GRANTED_QOS_1));
    pump_client(&mut p, &mut c);
    let init = expect_publish(&mut p);
    let id = body(&init)["id"].clone();
    let rpc = format!("$mcp-rpc/{CID}/{SID}/{NAME}");
    p.send(deliver(&rpc, json!({"jsonrpc": "2.0", "id": id, "result": {}}), "mcp-server", SID));
    let (mcp, _) = pump_client(&mut p, &mut c);
    assert!(matches!(mcp.as_slice(), [McpClientEvent::Initialized { .. }]), "{mcp:?}");
    let _initialized = expect_publish(&mut p);
    (p, c, session)
}

/// CONNECT carries the client id, Session Expiry 0, the MCP User Properties,
/// and a will on the client presence topic saying `notifications/disconnected`.
#[test]
fn client_connect_has_disconnected_will_on_client_presence() {
    let c = mcp_client(Choice::Random);
    let mut p = Pair::new(c.options(Options::default()));
    p.client.connect(p.now).unwrap();
    let Packet::Connect(cn) = p.expect() else { panic!() };
    assert_eq!(cn.client_id, CID);
    assert_eq!(cn.properties.session_expiry_interval.unwrap_or(0), 0);
    assert_eq!(user(&cn.properties, "MCP-COMPONENT-TYPE").as_deref(), Some("mcp-client"));
    assert_eq!(user(&cn.properties, "MCP-META").as_deref(), Some(r#"{"app":"test"}"#));
    let will = cn.will.unwrap();
    assert_eq!(will.topic, format!("$mcp-client/presence/{CID}").as_str());
    assert!(!will.retain);
    let v: Value = serde_json::from_slice(&will.payload).unwrap();
    assert_eq!(v, json!({"jsonrpc": "2.0", "method": "notifications/disconnected"}));
    assert_mcp_props(&will.properties, "mcp-client", CID);
}

/// Discovery subscribes `$mcp-server/presence/+/{filter}`; retained online
/// presence fills the registry with description and meta, an empty payload
/// removes the instance, malformed presence is dropped and counted.
#[test]
fn client_registry_follows_online_and_empty_presence() {
    let (mut p, mut c) = {
        let mut c = mcp_client(Choice::Random);
        let mut p = Pair::connected(c.options(Options::default()), Properties::default());
        c.start(&mut p.client, p.now).unwrap();
        let sub = expect_subscribe(&mut p);
        assert_eq!(sub.filters.len(), 1);
        assert_eq!(sub.filters[0].filter, "$mcp-server/presence/+/#");
        p.send(suback(&sub, ReasonCode::GRANTED_QOS_1));
        (p, c)
    };
    p.send(online("a1", NAME));
    p.send(online("a2", NAME));
    p.send(online("b1", "tools/maps"));
    p.send(raw(&format!("$mcp-server/presence/a3/{NAME}"), b"{\"jsonrpc\":\"2.0\""));
    p.send(raw(
        &format!("$mcp-server/presence/a4/{NAME}"),
        br#"{"jsonrpc":"2.0","method":"other"}"#,
    ));
    let (mcp, _) = pump_client(&mut p, &mut c);
    assert_eq!(mcp.len(), 3, "{mcp:?}");
    let McpClientEvent::ServerOnline(first) = &mcp[0] else { panic!("{mcp:?}") };
    assert_eq!((first.server_id.as_str(), first.server_name.as_str()), ("a1", NAME));
    assert_eq!((first.description.as_str(), &first.meta), ("d", &json!({"k": "a1"})));
    assert_eq!(c.stats().malformed, 2);
    let ids: Vec<&str> = c.instances(NAME).map(|s| s.server_id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2"]);
    assert_eq!(c.server_names().collect::<Vec<_>>(), ["tools/maps", NAME]);

    p.send(offline("a1", NAME));
    let (mcp, _) = pump_client(&mut p, &mut c);
    assert_eq!(
        mcp,
        vec![McpClientEvent::ServerOffline { server_name: NAME.into(), server_id: "a1".into() }]
    );
    let ids: Vec<&str> = c.instances(NAME).map(|s| s.server_id.as_str()).collect();
    assert_eq!(ids, ["a2"]);
}

/// The broker's MCP-SERVER-NAME-FILTERS in CONNACK replace the configured filters.
#[test]
fn client_discovers_with_broker_suggested_filters() {
    let mut c = mcp_client(Choice::Random);
    let mut p = Pair::new(c.options(Options::default()));
    p.client.connect(p.now).unwrap();
    p.expect();
    let mut props = Properties::default();
    props
        .user_properties
        .push(("MCP-SERVER-NAME-FILTERS".into(), r#"["vehicle/#","tools/+"]"#.into()));
    p.send(Connack { session_present: false, reason_code: ReasonCode::SUCCESS, properties: props });
    pump_client(&mut p, &mut c);
    c.start(&mut p.client, p.now).unwrap();
    let sub = expect_subscribe(&mut p);
    let f: Vec<&str> = sub.filters.iter().map(|f| f.filter.as_str()).collect();
    assert_eq!(f, ["$mcp-server/presence/+/vehicle/#", "$mcp-server/presence/+/tools/+"]);
}

/// initialize: the capability and RPC subscriptions (No Local on RPC) are
/// acknowledged before the initialize request goes to the control topic;
/// the result is followed by notifications/initialized on the RPC topic;
/// then a tools/list call round-trips, correlated by the JSON-RPC id.
#[test]
fn client_initialize_subscribes_first_then_tools_list_round_trips_by_id() {
    let (mut p, mut c) = started_client(Choice::RoundRobin, Properties::default());
    p.send(online(SID, NAME));
    pump_client(&mut p, &mut c);
    let session = c.initialize(&mut p.client, p.now, NAME).unwrap();
    let sub = expect_subscribe(&mut p);
    let rpc = format!("$mcp-rpc/{CID}/{SID}/{NAME}");
    let filters: Vec<(String, bool)> =
        sub.filters.iter().map(|f| (f.filter.to_string(), f.no_local)).collect();
    assert_eq!(
        filters,
        vec![(format!("$mcp-server/capability/{SID}/{NAME}"), false), (rpc.clone(), true)]
    );
    p.expect_silence();
    let err = c.call(&mut p.client, p.now, session, "tools/list", Value::Null, None).unwrap_err();
    assert_eq!(err.kind, McpErrorKind::NotReady);
    p.send(suback(&sub, ReasonCode::GRANTED_QOS_1));
    pump_client(&mut p, &mut c);
    let init = expect_publish(&mut p);
    assert_eq!(init.topic, format!("$mcp-server/{SID}/{NAME}").as_str());
    assert_eq!(init.qos, QoS::AtLeastOnce);
    assert_mcp_props(&init.properties, "mcp-client", CID);
    let req = body(&init);
    assert_eq!(req["method"], "initialize");
    assert_eq!(req["params"]["protocolVersion"], "2025-06-18");
    let result = json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}});
    p.send(deliver(
        &rpc,
        json!({"jsonrpc": "2.0", "id": req["id"], "result": result}),
        "mcp-server",
        SID,
    ));
    let (mcp, _) = pump_client(&mut p, &mut c);
    assert_eq!(
        mcp,
        vec![McpClientEvent::Initialized {
            session,
            server_id: SID.into(),
            server_name: NAME.into(),
            result
        }]
    );
    let note = expect_publish(&mut p);
    assert_eq!(note.topic, rpc.as_str());
    assert_eq!(body(&note), json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    let call = c.call(&mut p.client, p.now, session, "tools/list", json!({}), None).unwrap();
    let m = expect_publish(&mut p);
    assert_eq!(m.topic, rpc.as_str());
    assert_mcp_props(&m.properties, "mcp-client", CID);
    let req = body(&m);
    assert_eq!((req["method"].as_str(), req["id"].as_u64()), (Some("tools/list"), Some(call.0)));
    // An answer with an id we never sent is dropped and counted.
    p.send(deliver(&rpc, json!({"jsonrpc": "2.0", "id": 999, "result": {}}), "mcp-server", SID));
    let tools = json!({"tools": [{"name": "forecast"}]});
    p.send(deliver(
        &rpc,
        json!({"jsonrpc": "2.0", "id": call.0, "result": tools}),
        "mcp-server",
        SID,
    ));
    let (mcp, _) = pump_client(&mut p, &mut c);
    assert_eq!(
        mcp,
        vec![McpClientEvent::CallDone {
            call,
            session,
            method: "tools/list".into(),
            outcome: CallOutcome::Result(tools)
        }]
    );
    assert_eq!(c.stats().unknown_responses, 1);
    assert_eq!(c.pending(), 0);
}

/// A JSON-RPC error answer ends the call with the error; a server's request
/// and notification on the RPC topic are reported, and answered on it.
#[test]
fn client_reports_errors_server_requests_and_notifications() {
    let (mut p, mut c, session) = ready_client();
    let rpc = format!("$mcp-rpc/{CID}/{SID}/{NAME}");
    let call =
        c.call(&mut p.client, p.now, session, "tools/call", json!({"name": "nope"}), None).unwrap();
    expect_publish(&mut p);
    p.send(deliver(
        &rpc,
        json!({"jsonrpc": "2.0", "id": call.0, "error": {"code": -32601, "message": "no tool"}}),
        "mcp-server",
        SID,
    ));
    p.send(deliver(
        &rpc,
        json!({"jsonrpc": "2.0", "id": "s1", "method": "ping"}),
        "mcp-server",
        SID,
    ));
    p.send(deliver(
        &format!("$mcp-server/capability/{SID}/{NAME}"),
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}),
        "mcp-server",
        SID,
    ));
    let (mcp, _) = pump_client(&mut p, &mut c);
    assert_eq!(
        mcp,
        vec![
            McpClientEvent::CallDone {
                call,
                session,
                method: "tools/call".into(),
                outcome: CallOutcome::Error(RpcError::new(-32601, "no tool")),
            },
            McpClientEvent::Request {
                session,
                id: json!("s1"),
                method: "ping".into(),
                params: Value::Null
            },
            McpClientEvent::Notification {
                session,
                method: "notifications/tools/list_changed".into(),
                params: Value::Null
            },
        ]
    );
    c.respond(&mut p.client, p.now, session, json!("s1"), Ok(json!({}))).unwrap();
    let m = expect_publish(&mut p);
    assert_eq!(m.topic, rpc.as_str());
    assert_eq!(body(&m), json!({"jsonrpc": "2.0", "id": "s1", "result": {}}));
}

/// Calls pending on an instance whose presence is cleared fail at once,
/// before the session is reported closed; the session's subscriptions are undone.
#[test]
fn client_pending_calls_fail_at_once_when_the_instance_goes_offline() {
    let (mut p, mut c, session) = ready_client();
    let a = c.call(&mut p.client, p.now, session, "tools/call", json!({}), None).unwrap();
    let b = c.call(&mut p.client, p.now, session, "tools/list", json!({}), None).unwrap();
    p.recv_all();
    p.send(offline(SID, NAME));
    let (mcp, _) = pump_client(&mut p, &mut c);
    assert_eq!(
        mcp,
        vec![
            McpClientEvent::CallDone {
                call: a,
                session,
                method: "tools/call".into(),
                outcome: CallOutcome::ServerOffline
            },
            McpClientEvent::CallDone {
                call: b,
                session,
                method: "tools/list".into(),
                outcome: CallOutcome::ServerOffline
            },
            McpClientEvent::SessionClosed {
                session,
                server_id: SID.into(),
                reason: CloseReason::ServerOffline
            },
            McpClientEvent::ServerOffline { server_name: NAME.into(), server_id: SID.into() },
        ]
    );
    let un = expect_unsubscribe(&mut p);
    let f: Vec<String> = un.filters.iter().map(ToString::to_string).collect();
    assert_eq!(
        f,
        vec![
            format!("$mcp-server/capability/{SID}/{NAME}"),
            format!("$mcp-rpc/{CID}/{SID}/{NAME}")
        ]
    );
    assert_eq!(c.pending(), 0);
    assert_eq!(c.poll_timeout(), None);
    let err = c.call(&mut p.client, p.now, session, "ping", Value::Null, None).unwrap_err();
    assert_eq!(err.kind, McpErrorKind::UnknownSession);
}

/// The server's `notifications/disconnected` on the RPC topic ends the session too.
#[test]
fn client_session_ends_when_the_server_says_disconnected_on_rpc() {
    let (mut p, mut c, session) = ready_client();
    let call = c.call(&mut p.client, p.now, session, "ping", Value::Null, None).unwrap();
    p.recv_all();
    p.send(deliver(
        &format!("$mcp-rpc/{CID}/{SID}/{NAME}"),
        json!({"jsonrpc": "2.0", "method": "notifications/disconnected"}),
        "mcp-server",
        SID,
    ));
    let (mcp, _) = pump_client(&mut p, &mut c);
    assert!(
        matches!(
            &mcp[..],
            [McpClientEvent::CallDone { call: c1, outcome: CallOutcome::ServerOffline, .. },
             McpClientEvent::SessionClosed { reason: CloseReason::ServerDisconnected, .. }] if *c1 == call
        ),
        "{mcp:?}"
    );
    expect_unsubscribe(&mut p);
}

/// Each method has its own timeout: ping 10 s, tools/call 60 s; an explicit
/// timeout wins. A late answer is dropped and counted.
#[test]
fn client_calls_time_out_per_method() {
    let (mut p, mut c, session) = ready_client();
    let start = p.now;
    let ping = c.call(&mut p.client, p.now, session, "ping", Value::Null, None).unwrap();
    let tool = c.call(&mut p.client, p.now, session, "tools/call", json!({}), None).unwrap();
    let quick = c
        .call(
            &mut p.client,
            p.now,
            session,
            "tools/call",
            json!({}),
            Some(Duration::from_millis(1500)),
        )
        .unwrap();
    p.recv_all();
    assert_eq!(c.poll_timeout(), Some(start + 1500));
    let mcp = advance(&mut p, &mut c, 1499);
    assert!(mcp.is_empty(), "{mcp:?}");
    let mcp = advance(&mut p, &mut c, 1);
    assert!(
        matches!(&mcp[..], [McpClientEvent::CallDone { call, outcome: CallOutcome::Timeout, .. }] if *call == quick)
    );
    assert_eq!(c.poll_timeout(), Some(start + 10_000));
    let mcp = advance(&mut p, &mut c, 8_500);
    assert!(
        matches!(&mcp[..], [McpClientEvent::CallDone { call, outcome: CallOutcome::Timeout, .. }] if *call == ping)
    );
    assert_eq!(c.poll_timeout(), Some(start + 60_000));
    let mcp = advance(&mut p, &mut c, 50_000);
    assert!(
        matches!(&mcp[..], [McpClientEvent::CallDone { call, outcome: CallOutcome::Timeout, .. }] if *call == tool)
    );
    assert_eq!(c.poll_timeout(), None);
    p.send(deliver(
        &format!("$mcp-rpc/{CID}/{SID}/{NAME}"),
        json!({"jsonrpc": "2.0", "id": tool.0, "result": {}}),
        "mcp-server",
        SID,
    ));
    let (mcp, _) = pump_client(&mut p, &mut c);
    assert!(mcp.is_empty());
    assert_eq!(c.stats().unknown_responses, 1);
    assert!(c.is_ready(session), "a timeout does not end the session");
}

/// An initialize nobody answers closes the session after 30 s.
#[test]
fn client_initialize_without_answer_times_out_after_30_seconds() {
    let (mut p, mut c) = started_client(Choice::Random, Properties::default());
    p.send(online(SID, NAME));
    pump_client(&mut p, &mut c);
    let session = c.initialize(&mut p.client, p.now, NAME).unwrap();
    let sub = expect_subscribe(&mut p);
    p.send(suback(&sub, ReasonCode::GRANTED_QOS_1));
    pump_client(&mut p, &mut c);
    expect_publish(&mut p);
    let start = p.now;
    assert_eq!(c.poll_timeout(), Some(start + 30_000));
    let mcp = advance(&mut p, &mut c, 30_000);
    assert_eq!(
        mcp,
        vec![McpClientEvent::SessionClosed {
            session,
            server_id: SID.into(),
            reason: CloseReason::InitializeFailed(CallOutcome::Timeout)
        }]
    );
    expect_unsubscribe(&mut p);
}

/// Round-robin takes each online instance in turn; initialize skips
/// instances we already have a session with; random stays within the set.
#[test]
fn client_chooses_instances_round_robin_and_random() {
    let (mut p, mut c) = started_client(Choice::RoundRobin, Properties::default());
    for sid in ["s1", "s2", "s3"] {
        p.send(online(sid, NAME));
    }
    pump_client(&mut p, &mut c);
    let picks: Vec<String> = (0..4).map(|_| c.choose(NAME).unwrap().server_id.clone()).collect();
    assert_eq!(picks, ["s1", "s2", "s3", "s1"]);
    // The cursor stands at 4: s2 of three free, then s3 of the two left.
    c.initialize(&mut p.client, p.now, NAME).unwrap();
    c.initialize(&mut p.client, p.now, NAME).unwrap();
    let subs: Vec<String> = p
        .recv_all()
        .into_iter()
        .map(|x| match x {
            Packet::Subscribe(s) => s.filters[0].filter.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        subs,
        [format!("$mcp-server/capability/s2/{NAME}"), format!("$mcp-server/capability/s3/{NAME}")]
    );
    c.initialize(&mut p.client, p.now, NAME).unwrap();
    let err = c.initialize(&mut p.client, p.now, NAME).unwrap_err();
    assert_eq!(err.kind, McpErrorKind::NoServer);
    assert!(c.choose("tools/none").is_none());

    let (mut p, mut c) = started_client(Choice::Random, Properties::default());
    for sid in ["s1", "s2", "s3"] {
        p.send(online(sid, NAME));
    }
    pump_client(&mut p, &mut c);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..64 {
        seen.insert(c.choose(NAME).unwrap().server_id.clone());
    }
    assert_eq!(seen.len(), 3, "64 random picks should reach all three: {seen:?}");
}

/// A lost connection ends pending calls and sessions at once.
#[test]
fn client_connection_lost_fails_pending_calls() {
    let (mut p, mut c, session) = ready_client();
    let call = c.call(&mut p.client, p.now, session, "tools/call", json!({}), None).unwrap();
    p.recv_all();
    p.cut();
    let (mcp, back) = pump_client(&mut p, &mut c);
    assert!(matches!(back.as_slice(), [Event::Disconnected(_)]), "{back:?}");
    assert_eq!(
        mcp,
        vec![
            McpClientEvent::CallDone {
                call,
                session,
                method: "tools/call".into(),
                outcome: CallOutcome::ConnectionLost
            },
            McpClientEvent::SessionClosed {
                session,
                server_id: SID.into(),
                reason: CloseReason::ConnectionLost
            },
        ]
    );
    assert_eq!(c.instances(NAME).count(), 0);
}

/// Shutdown says `notifications/disconnected` on the client presence topic,
/// then disconnects normally.
#[test]
fn client_shutdown_says_disconnected_then_disconnects() {
    let (mut p, mut c, _) = ready_client();
    c.shutdown(&mut p.client, p.now).unwrap();
    let m = expect_publish(&mut p);
    assert_eq!(m.topic, format!("$mcp-client/presence/{CID}").as_str());
    assert!(!m.retain);
    assert_eq!(body(&m), json!({"jsonrpc": "2.0", "method": "notifications/disconnected"}));
    assert_mcp_props(&m.properties, "mcp-client", CID);
    let Packet::Disconnect(d) = p.expect() else { panic!("no DISCONNECT") };
    assert_eq!(d.reason_code, ReasonCode::SUCCESS);
}

/// Ids that cannot be topic levels are refused up front.
#[test]
fn invalid_ids_and_names_are_refused() {
    assert!(McpServer::new(McpServerOptions::new("a/b", NAME, "")).is_err());
    assert!(McpServer::new(McpServerOptions::new("a", "x/+", "")).is_err());
    assert!(McpServer::new(McpServerOptions::new("a", "x//y", "")).is_err());
    assert!(McpClient::new(McpClientOptions::new("c#")).is_err());
}
