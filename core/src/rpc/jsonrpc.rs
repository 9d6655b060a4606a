//! JSON-RPC 2.0 over per-device topics: requests to `devices/{id}/rx`,
//! answers on `devices/{id}/tx`, correlated by the JSON-RPC `id`. No MQTT 5
//! property is needed, so MQTT 3.1.1 devices and brokers get request/response
//! too (see [`crate::client::Client::call_device`] and
//! [`crate::client::Client::serve_device`]).
//!
//! Statuses map to JSON-RPC error codes: 400 to -32602 Invalid params, 404 to
//! -32601 Method not found, anything else to -32603 Internal error; an error
//! answer is reported with status 500 and the error's message.

use alloc::format;
use alloc::string::{String, ToString};
use serde_json::Value;

/// The topic a device receives requests on.
pub fn rx_topic(device: &str) -> String {
    format!("devices/{device}/rx")
}

/// The topic a device sends answers on.
pub fn tx_topic(device: &str) -> String {
    format!("devices/{device}/tx")
}

/// A JSON-RPC request as a device receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonRpcRequest {
    /// The `id` as JSON text (`17`, `"a"`); `None` for a notification.
    pub id: Option<String>,
    /// The method.
    pub method: String,
    /// The `params` as JSON text, if any.
    pub params: Option<String>,
}

/// Parses a JSON-RPC request; `None` if it is not one.
pub fn parse_request(payload: &[u8]) -> Option<JsonRpcRequest> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    let o = v.as_object()?;
    let method = o.get("method")?.as_str()?.to_string();
    let id = match o.get("id") {
        None | Some(Value::Null) => None,
        Some(id @ (Value::Number(_) | Value::String(_))) => Some(id.to_string()),
        Some(_) => return None,
    };
    Some(JsonRpcRequest { id, method, params: o.get("params").map(Value::to_string) })
}

/// What an answer says: its `id` as JSON text, and the error's code and
/// message if it is an error.
pub(crate) struct Answer {
    pub(crate) id: String,
    pub(crate) error: Option<(i64, String)>,
}

/// Parses a JSON-RPC response; `None` if it is not one.
pub(crate) fn parse_answer(payload: &[u8]) -> Option<Answer> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    let o = v.as_object()?;
    let id = o.get("id")?.to_string();
    let error = o.get("error").map(|e| {
        let code = e.get("code").and_then(Value::as_i64).unwrap_or(-32603);
        let message = e.get("message").and_then(Value::as_str).unwrap_or("").to_string();
        (code, message)
    });
    if error.is_none() && !o.contains_key("result") {
        return None;
    }
    Some(Answer { id, error })
}

/// The payload of a request with numeric `id`; `params` must be JSON text.
pub(crate) fn request(id: u64, method: &str, params: Option<&str>) -> Option<String> {
    let method = Value::String(method.to_string()).to_string();
    match params {
        None => Some(format!(r#"{{"jsonrpc":"2.0","id":{id},"method":{method}}}"#)),
        Some(p) => {
            let params: Value = serde_json::from_str(p).ok()?;
            Some(format!(r#"{{"jsonrpc":"2.0","id":{id},"method":{method},"params":{params}}}"#))
        }
    }
}

/// The payload of an answer to the request with `id` (JSON text): a result
/// (the payload if it is JSON, else the payload as a JSON string) or, for a
/// status other than 200, an error.
pub(crate) fn answer(id: &str, status: u16, message: Option<&str>, payload: &[u8]) -> String {
    if status == super::STATUS_OK {
        let result = match serde_json::from_slice::<Value>(payload) {
            Ok(v) => v,
            Err(_) => Value::String(String::from_utf8_lossy(payload).into_owned()),
        };
        return format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#);
    }
    let code = match status {
        super::STATUS_BAD_REQUEST => -32602,
        super::STATUS_NOT_FOUND => -32601,
        _ => -32603,
    };
    let message = Value::String(message.unwrap_or("error").to_string());
    format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{message}}}}}"#)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is the test failing
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips() {
        let text = request(17, "get", Some(r#"{"k":[1,2]}"#)).unwrap();
        let r = parse_request(text.as_bytes()).unwrap();
        assert_eq!(r.id.as_deref(), Some("17"));
        assert_eq!(r.method, "get");
        assert_eq!(r.params.as_deref(), Some(r#"{"k":[1,2]}"#));
        assert!(request(1, "m", Some("{not json")).is_none());
    }

    #[test]
    fn answers_carry_results_or_errors() {
        let ok = answer("\"a\"", 200, None, br#"{"v":1}"#);
        let a = parse_answer(ok.as_bytes()).unwrap();
        assert_eq!((a.id.as_str(), a.error), ("\"a\"", None));
        let text = answer("3", 200, None, b"plain");
        assert!(text.contains(r#""result":"plain""#));
        let err = answer("3", 404, Some("no such method"), b"");
        let a = parse_answer(err.as_bytes()).unwrap();
        assert_eq!(a.error, Some((-32601, "no such method".to_string())));
    }

    #[test]
    fn notifications_and_garbage() {
        let n = parse_request(br#"{"jsonrpc":"2.0","method":"tick"}"#).unwrap();
        assert_eq!(n.id, None);
        assert!(parse_request(b"\xff\x00").is_none());
        assert!(parse_request(br#"{"id":[1],"method":"x"}"#).is_none());
        assert!(parse_answer(br#"{"id":1}"#).is_none());
    }
}
