//! Connection options shared by `pub` and `sub`, named as mosquitto_pub and
//! mosquitto_sub name them, and how they become an [`Endpoint`] and [`Options`].

use std::path::PathBuf;

use bytes::Bytes;
use clap::Args;
use mqtt_engine::client::Options;
use mqtt_engine::codec::{ByteStr, Properties, Protocol, QoS, Will};

use crate::net::{Endpoint, TlsSettings};

/// Options that say where and how to connect.
#[derive(Args, Clone, Debug)]
pub struct ConnArgs {
    /// Broker host name or address [default: localhost].
    #[arg(short = 'h', long, value_name = "HOST")]
    pub host: Option<String>,
    /// Broker port [default: 1883, or 8883 with TLS].
    #[arg(short = 'p', long, value_name = "PORT")]
    pub port: Option<u16>,
    /// MQTT version: 5 (also mqttv5) or 311 (also mqttv311, 4).
    #[arg(short = 'V', long = "protocol-version", value_name = "VERSION", default_value = "5",
          value_parser = parse_version)]
    pub protocol: Protocol,
    /// Client identifier [default: mqtt-engine-pub- or mqtt-engine-sub- and the process id].
    #[arg(short = 'i', long = "id", value_name = "ID")]
    pub id: Option<String>,
    /// Client identifier prefix; the process id is appended.
    #[arg(short = 'I', long = "id-prefix", value_name = "PREFIX", conflicts_with = "id")]
    pub id_prefix: Option<String>,
    /// User name.
    #[arg(short = 'u', long = "username", value_name = "USER")]
    pub username: Option<String>,
    /// Password.
    #[arg(short = 'P', long = "pw", alias = "password", value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Keep alive in seconds (0 for none).
    #[arg(short = 'k', long = "keepalive", value_name = "SECONDS", default_value_t = 60)]
    pub keepalive: u16,
    /// No clean start: resume the session the server keeps for this client id
    /// (needs -i); in MQTT 5 the session then never expires unless -x says
    /// otherwise. No session state is kept locally between runs.
    #[arg(short = 'c', long = "disable-clean-session")]
    pub no_clean: bool,
    /// Session Expiry Interval in seconds (MQTT 5); -1 or "inf" for never.
    #[arg(short = 'x', long = "session-expiry-interval", value_name = "SECONDS",
          value_parser = parse_expiry, allow_hyphen_values = true)]
    pub session_expiry: Option<u32>,
    /// mqtt[s]://[user[:password]@]host[:port]/topic (mqtts means TLS).
    #[arg(short = 'L', long = "url", value_name = "URL")]
    pub url: Option<String>,
    /// Topic of the Will message.
    #[arg(long = "will-topic", value_name = "TOPIC")]
    pub will_topic: Option<String>,
    /// Payload of the Will message [default: empty].
    #[arg(long = "will-payload", value_name = "PAYLOAD", requires = "will_topic")]
    pub will_payload: Option<String>,
    /// QoS of the Will message.
    #[arg(long = "will-qos", value_name = "QOS", default_value = "0", value_parser = parse_qos)]
    pub will_qos: QoS,
    /// Retain the Will message.
    #[arg(long = "will-retain", requires = "will_topic")]
    pub will_retain: bool,
    /// TLS, trusting the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub cafile: Option<PathBuf>,
    /// TLS, trusting the CA certificates in the PEM files of this directory.
    #[arg(long, value_name = "DIR")]
    pub capath: Option<PathBuf>,
    /// TLS, trusting the system's root certificates.
    #[arg(long = "tls", alias = "tls-use-os-certs")]
    pub tls: bool,
    /// Client certificate (PEM) for TLS client authentication.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Do not check that the server's certificate names the host (the chain
    /// is still verified against the trusted CAs).
    #[arg(long)]
    pub insecure: bool,
    /// Refuse packets larger than this from the server (announced as Maximum
    /// Packet Size in MQTT 5) [default: no limit].
    #[arg(long = "max-packet-size", value_name = "BYTES")]
    pub max_packet_size: Option<u32>,
    /// Print every packet sent (->) and received (<-) on stderr.
    #[arg(short = 'd', long = "debug")]
    pub debug: bool,
    /// Print no error messages.
    #[arg(long)]
    pub quiet: bool,
}

/// What -L gives.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Url {
    /// mqtts://
    pub tls: bool,
    /// user name
    pub username: Option<String>,
    /// password
    pub password: Option<String>,
    /// host (IPv6 without brackets)
    pub host: String,
    /// port
    pub port: Option<u16>,
    /// topic (the path without its leading slash)
    pub topic: Option<String>,
}

/// Parses mqtt[s]://[user[:password]@]host[:port]/topic.
pub fn parse_url(url: &str) -> Result<Url, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("mqtt://") {
        (false, r)
    } else {
        return Err(format!("-L {url:?}: the URL must start with mqtt:// or mqtts://"));
    };
    let (authority, topic) = match rest.find('/') {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(u) => match u.split_once(':') {
            Some((n, p)) => (Some(n.to_string()), Some(p.to_string())),
            None => (Some(u.to_string()), None),
        },
    };
    let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
        let Some(end) = r.find(']') else {
            return Err(format!("-L {url:?}: unclosed [ in the host"));
        };
        let after = &r[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("-L {url:?}: unexpected {after:?} after the host")),
        };
        (r[..end].to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("-L {url:?}: no host"));
    }
    let port = match port {
        None => None,
        Some(p) => {
            Some(p.parse::<u16>().map_err(|_| format!("-L {url:?}: {p:?} is not a port number"))?)
        }
    };
    Ok(Url {
        tls,
        username,
        password,
        host,
        port,
        topic: topic.filter(|t| !t.is_empty()).map(str::to_string),
    })
}

/// Parses -V.
pub fn parse_version(s: &str) -> Result<Protocol, String> {
    match s {
        "5" | "mqttv5" | "v5" => Ok(Protocol::V5),
        "311" | "mqttv311" | "v311" | "4" | "3.1.1" => Ok(Protocol::V311),
        "31" | "mqttv31" => Err("MQTT 3.1 is not supported; use 5 or 311".to_string()),
        _ => Err(format!("{s:?} is not a protocol version: use 5 (mqttv5) or 311 (mqttv311)")),
    }
}

/// Parses a QoS 0, 1 or 2.
pub fn parse_qos(s: &str) -> Result<QoS, String> {
    match s {
        "0" => Ok(QoS::AtMostOnce),
        "1" => Ok(QoS::AtLeastOnce),
        "2" => Ok(QoS::ExactlyOnce),
        _ => Err(format!("{s:?} is not a QoS: use 0, 1 or 2")),
    }
}

/// Parses -x: seconds, or -1 / inf / ∞ for a session that never expires.
pub fn parse_expiry(s: &str) -> Result<u32, String> {
    match s {
        "-1" | "inf" | "∞" => Ok(u32::MAX),
        _ => s.parse::<u32>().map_err(|_| format!("{s:?} is not a number of seconds")),
    }
}

/// Everything needed to open a session.
pub struct Connection {
    /// Where.
    pub endpoint: Endpoint,
    /// The engine's options.
    pub options: Options,
    /// The topic from -L, if any.
    pub url_topic: Option<String>,
    /// -d
    pub debug: bool,
}

impl ConnArgs {
    /// Builds the endpoint and the engine options; `role` ("pub" or "sub")
    /// names the default client identifier.
    pub fn connection(&self, role: &str) -> Result<Connection, String> {
        let url = match &self.url {
            Some(u) => parse_url(u)?,
            None => Url::default(),
        };
        let tls_wanted = url.tls
            || self.cafile.is_some()
            || self.capath.is_some()
            || self.tls
            || self.cert.is_some()
            || self.insecure;
        let tls = tls_wanted.then(|| TlsSettings {
            cafile: self.cafile.clone(),
            capath: self.capath.clone(),
            system_roots: self.tls,
            cert: self.cert.clone(),
            key: self.key.clone(),
            insecure: self.insecure,
        });
        let host = self
            .host
            .clone()
            .or((!url.host.is_empty()).then(|| url.host.clone()))
            .unwrap_or_else(|| "localhost".to_string());
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = self.port.or(url.port).unwrap_or(if tls.is_some() { 8883 } else { 1883 });
        let v5 = self.protocol == Protocol::V5;

        let client_id = match (&self.id, &self.id_prefix) {
            (Some(id), _) => id.clone(),
            (None, Some(prefix)) => format!("{prefix}{}", std::process::id()),
            (None, None) => format!("mqtt-engine-{role}-{}", std::process::id()),
        };
        if self.no_clean && self.id.is_none() && self.id_prefix.is_none() {
            return Err("-c (resume a session) needs a client id: give -i".to_string());
        }
        if !v5 && self.session_expiry.is_some() {
            return Err("-x (session expiry) needs MQTT 5: drop -V 311".to_string());
        }
        let session_expiry_interval = match self.session_expiry {
            Some(x) => x,
            None if self.no_clean && v5 => u32::MAX,
            None => 0,
        };
        let will = self.will_topic.as_ref().map(|t| Will {
            topic: ByteStr::from(t.clone()),
            payload: Bytes::from(self.will_payload.clone().unwrap_or_default()),
            qos: self.will_qos,
            retain: self.will_retain,
            properties: Properties::default(),
        });
        let username = self.username.clone().or(url.username);
        let password = self.password.clone().or(url.password);
        if password.is_some() && username.is_none() && !v5 {
            return Err("MQTT 3.1.1 needs a user name (-u) with a password (-P)".to_string());
        }
        let options = Options {
            protocol: self.protocol,
            client_id: ByteStr::from(client_id),
            clean_start: !self.no_clean,
            keep_alive: self.keepalive,
            session_expiry_interval: if v5 { session_expiry_interval } else { 0 },
            will,
            username: username.map(ByteStr::from),
            password: password.map(Bytes::from),
            maximum_packet_size: self.max_packet_size.unwrap_or(u32::MAX),
            ..Options::default()
        };
        Ok(Connection {
            endpoint: Endpoint { host, port, tls },
            options,
            url_topic: url.topic,
            debug: self.debug,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly by design

    use super::*;

    #[test]
    fn url_with_everything() {
        let u = parse_url("mqtts://alice:s3:cret@broker.example:8884/a/b/#").unwrap();
        assert_eq!(
            u,
            Url {
                tls: true,
                username: Some("alice".into()),
                password: Some("s3:cret".into()),
                host: "broker.example".into(),
                port: Some(8884),
                topic: Some("a/b/#".into()),
            }
        );
    }

    #[test]
    fn url_minimal_and_ipv6() {
        let u = parse_url("mqtt://localhost").unwrap();
        assert_eq!(u.host, "localhost");
        assert_eq!((u.port, u.topic, u.tls), (None, None, false));
        let u = parse_url("mqtt://[::1]:1884/t").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.topic.as_deref()), ("::1", Some(1884), Some("t")));
        assert!(parse_url("http://x/t").is_err());
        assert!(parse_url("mqtt://x:port/t").is_err());
        assert!(parse_url("mqtt:///t").is_err());
    }

    #[test]
    fn versions_and_expiry() {
        assert_eq!(parse_version("mqttv5").unwrap(), Protocol::V5);
        assert_eq!(parse_version("311").unwrap(), Protocol::V311);
        assert!(parse_version("mqttv31").is_err());
        assert_eq!(parse_expiry("-1").unwrap(), u32::MAX);
        assert_eq!(parse_expiry("30").unwrap(), 30);
        assert!(parse_expiry("x").is_err());
    }
}
