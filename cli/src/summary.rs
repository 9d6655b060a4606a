//! One-line human descriptions of packets, for `decode --summary`.

use mqtt_engine::codec::{Packet, Properties, Protocol, ReasonCode};
use std::fmt::Write;

fn reason(code: ReasonCode) -> String {
    format!("{code}")
}

/// Payloads longer than this are shown by their start and length.
const SHOWN: usize = 64;

fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => {
            if s.chars().count() <= SHOWN {
                format!("{s:?}")
            } else {
                let start: String = s.chars().take(SHOWN).collect();
                format!("{start:?}... ({} bytes)", b.len())
            }
        }
        _ => format!("{} bytes", b.len()),
    }
}

fn props(p: &Properties) -> String {
    let mut s = String::new();
    let mut add = |k: &str, v: String| {
        let _ = write!(s, " {k}={v}");
    };
    if let Some(v) = p.session_expiry_interval {
        add("session-expiry", format!("{v}s"));
    }
    if let Some(v) = p.receive_maximum {
        add("receive-max", v.to_string());
    }
    if let Some(v) = p.topic_alias_maximum {
        add("topic-alias-max", v.to_string());
    }
    if let Some(v) = p.topic_alias {
        add("topic-alias", v.to_string());
    }
    if let Some(v) = p.maximum_packet_size {
        add("max-packet", v.to_string());
    }
    if let Some(v) = p.server_keep_alive {
        add("server-keep-alive", format!("{v}s"));
    }
    if let Some(v) = &p.assigned_client_identifier {
        add("assigned-client-id", format!("{:?}", v.as_str()));
    }
    if let Some(v) = p.maximum_qos {
        add("max-qos", v.to_string());
    }
    if let Some(v) = p.retain_available {
        add("retain-available", v.to_string());
    }
    if let Some(v) = p.wildcard_subscription_available {
        add("wildcards", v.to_string());
    }
    if let Some(v) = p.subscription_identifiers_available {
        add("subscription-ids", v.to_string());
    }
    if let Some(v) = p.shared_subscription_available {
        add("shared", v.to_string());
    }
    if let Some(v) = &p.server_reference {
        add("server-reference", v.to_string());
    }
    if let Some(v) = p.payload_format_indicator {
        add("payload-format", v.to_string());
    }
    for v in &p.subscription_identifiers {
        add("subscription-id", v.to_string());
    }
    if let Some(v) = p.message_expiry_interval {
        add("expiry", format!("{v}s"));
    }
    if let Some(v) = &p.content_type {
        add("content-type", v.to_string());
    }
    if let Some(v) = &p.response_topic {
        add("response-topic", v.to_string());
    }
    if let Some(v) = &p.correlation_data {
        add("correlation", format!("{} bytes", v.len()));
    }
    if let Some(v) = &p.reason_string {
        add("reason", format!("{:?}", v.as_str()));
    }
    for (k, v) in &p.user_properties {
        add("user", format!("{k}={v}"));
    }
    s
}

/// A one-line description of `packet` in the protocol it was decoded with.
pub fn describe(packet: &Packet, protocol: Protocol) -> String {
    match packet {
        Packet::Connect(c) => format!(
            "CONNECT MQTT {} client-id={:?} keep-alive={}s clean-start={}{}{}{}",
            if c.protocol == Protocol::V5 { "5.0" } else { "3.1.1" },
            c.client_id.as_str(),
            c.keep_alive,
            c.clean_start,
            c.will.as_ref().map(|w| format!(" will={}", w.topic)).unwrap_or_default(),
            c.username.as_ref().map(|u| format!(" user={u}")).unwrap_or_default(),
            props(&c.properties)
        ),
        Packet::Connack(c) => {
            let code = if protocol == Protocol::V311 {
                let name = c.reason_code.connect_return_code_name().unwrap_or("unknown");
                format!("{} {name}", c.reason_code.0)
            } else {
                reason(c.reason_code)
            };
            format!("CONNACK {code} session-present={}{}", c.session_present, props(&c.properties))
        }
        Packet::Publish(p) => format!(
            "PUBLISH {:?} qos={}{}{}{} payload={}{}",
            p.topic.as_str(),
            p.qos as u8,
            p.packet_id.map(|i| format!(" id={i}")).unwrap_or_default(),
            if p.retain { " retain" } else { "" },
            if p.dup { " dup" } else { "" },
            text(&p.payload),
            props(&p.properties)
        ),
        Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => {
            let name = format!("{:?}", packet.packet_type()).to_uppercase();
            format!("{name} id={} {}{}", a.packet_id, reason(a.reason_code), props(&a.properties))
        }
        Packet::Subscribe(s) => {
            let filters: Vec<String> =
                s.filters.iter().map(|f| format!("{}@qos{}", f.filter, f.qos as u8)).collect();
            format!("SUBSCRIBE id={} {}{}", s.packet_id, filters.join(" "), props(&s.properties))
        }
        Packet::Suback(s) => {
            let codes: Vec<String> = s.reason_codes.iter().map(|&c| reason(c)).collect();
            format!("SUBACK id={} [{}]{}", s.packet_id, codes.join(", "), props(&s.properties))
        }
        Packet::Unsubscribe(u) => {
            let filters: Vec<&str> = u.filters.iter().map(|f| f.as_str()).collect();
            format!("UNSUBSCRIBE id={} {}{}", u.packet_id, filters.join(" "), props(&u.properties))
        }
        Packet::Unsuback(u) => {
            let codes: Vec<String> = u.reason_codes.iter().map(|&c| reason(c)).collect();
            format!("UNSUBACK id={} [{}]{}", u.packet_id, codes.join(", "), props(&u.properties))
        }
        Packet::Pingreq => "PINGREQ".to_string(),
        Packet::Pingresp => "PINGRESP".to_string(),
        Packet::Disconnect(d) => {
            format!("DISCONNECT {}{}", reason(d.reason_code), props(&d.properties))
        }
        Packet::Auth(a) => format!(
            "AUTH {}{}{}",
            reason(a.reason_code),
            a.properties
                .authentication_method
                .as_ref()
                .map(|m| format!(" method={m}"))
                .unwrap_or_default(),
            props(&a.properties)
        ),
    }
}
