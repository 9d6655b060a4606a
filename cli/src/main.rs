//! `mqtt-engine`: the command-line face of the engine.
//!
//! - `mqtt-engine decode [--protocol 4|5] [HEX]` prints one JSON object per packet.
//! - `mqtt-engine encode [--protocol 4|5] [JSON]` prints one hex line per packet.
//! - `mqtt-engine pub -t TOPIC -m MESSAGE` publishes, as mosquitto_pub does.
//! - `mqtt-engine sub -t FILTER [-v | --json]` subscribes and prints, as mosquitto_sub does.
//! - `mqtt-engine call TOPIC [PAYLOAD]` sends a request and prints its answers (MQTT 5).
//! - `mqtt-engine serve FILTER (--echo | --calculator | --exec CMD)` answers requests (MQTT 5).
//!
//! Bad input, a refusal or a network failure exits non-zero and says what is
//! wrong in one line, with the MQTT reason code where there is one.

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;

use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use mqtt_engine::codec::{decode, Packet, Protocol};

mod args;
mod calc;
mod demo;
mod exec;
mod hexfmt;
mod mcp;
mod net;
mod pubsub;
mod rpc;
mod summary;

#[derive(Parser)]
#[command(name = "mqtt-engine", version, about = "MQTT 3.1.1 / 5.0 packet tool", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProtocolArg {
    /// MQTT 3.1.1
    #[value(name = "4")]
    V4,
    /// MQTT 5.0
    #[value(name = "5")]
    V5,
}

impl From<ProtocolArg> for Protocol {
    fn from(p: ProtocolArg) -> Protocol {
        match p {
            ProtocolArg::V4 => Protocol::V311,
            ProtocolArg::V5 => Protocol::V5,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Decode packets from hex (argument or stdin; whitespace ignored) to JSON, one object per line.
    Decode {
        /// Protocol level the packets are in. A CONNECT sets it for the packets after it.
        #[arg(long, short = 'p', value_enum, default_value = "5")]
        protocol: ProtocolArg,
        /// Print each packet as indented JSON instead of one line.
        #[arg(long, conflicts_with = "summary")]
        pretty: bool,
        /// Print a one-line human summary of each packet instead of JSON.
        #[arg(long)]
        summary: bool,
        /// Refuse a packet larger than this many bytes (0x95 Packet too large),
        /// judged from its fixed header alone.
        #[arg(long, value_name = "BYTES")]
        max_packet_size: Option<u32>,
        /// Hex of one or more packets (several arguments are joined); read from stdin when absent.
        hex: Vec<String>,
    },
    /// Encode packets from JSON (argument or stdin; one object per line) to lowercase hex, one line per packet.
    Encode {
        /// Protocol level to encode for (a CONNECT uses its own protocol_version).
        #[arg(long, short = 'p', value_enum, default_value = "5")]
        protocol: ProtocolArg,
        /// One JSON packet; lines of stdin when absent.
        json: Option<String>,
    },
    /// Publish messages to a broker over TCP or TLS (options as mosquitto_pub's).
    #[command(disable_help_flag = true)]
    Pub(Box<pubsub::PubArgs>),
    /// Subscribe and print messages from a broker over TCP or TLS (options as mosquitto_sub's).
    #[command(disable_help_flag = true)]
    Sub(Box<pubsub::SubArgs>),
    /// Send a request and print its answers: one, a stream, or many (MQTT 5 request/response).
    #[command(disable_help_flag = true)]
    Call(Box<rpc::CallArgs>),
    /// Answer requests on a topic filter: echo, a calculator, or a shell command (MQTT 5).
    #[command(disable_help_flag = true)]
    Serve(Box<rpc::ServeArgs>),
    /// List the MCP servers that announce their presence (MCP over MQTT), with their instances.
    #[command(disable_help_flag = true)]
    Discover(Box<mcp::DiscoverArgs>),
    /// Run the request/response scenario against a broker and print a summary (`make demo`).
    Demo {
        /// Broker host.
        #[arg(long, default_value = "localhost")]
        host: String,
        /// Broker port.
        #[arg(long, short = 'p', default_value_t = 1883)]
        port: u16,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode { protocol, pretty, summary, max_packet_size, hex } => {
            let style = match (pretty, summary) {
                (true, _) => Style::Pretty,
                (_, true) => Style::Summary,
                _ => Style::Line,
            };
            run_decode(protocol.into(), style, max_packet_size.unwrap_or(u32::MAX), hex)
        }
        Command::Encode { protocol, json } => run_encode(protocol.into(), json),
        Command::Pub(args) => return pubsub::run_pub(*args),
        Command::Sub(args) => return pubsub::run_sub(*args),
        Command::Call(args) => return rpc::run_call(*args),
        Command::Serve(args) => return rpc::run_serve(*args),
        Command::Discover(args) => return mcp::run_discover(*args),
        Command::Demo { host, port } => {
            return demo::run(net::Endpoint { host, port, tls: None });
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(io::stderr(), "mqtt-engine: {message}");
            ExitCode::FAILURE
        }
    }
}

fn read_stdin() -> Result<String, String> {
    let mut s = String::new();
    io::stdin().read_to_string(&mut s).map_err(|e| format!("cannot read stdin: {e}"))?;
    Ok(s)
}

/// How `decode` prints a packet.
#[derive(Clone, Copy)]
enum Style {
    Line,
    Pretty,
    Summary,
}

fn run_decode(
    mut protocol: Protocol,
    style: Style,
    max_packet_size: u32,
    hex: Vec<String>,
) -> Result<(), String> {
    let text = if hex.is_empty() { read_stdin()? } else { hex.join(" ") };
    let data = Bytes::from(hexfmt::parse(&text)?);
    let mut out = io::stdout().lock();
    let mut at = 0usize;
    let mut index = 1usize;
    while at < data.len() {
        let rest = data.slice(at..);
        match decode(protocol, &rest, max_packet_size) {
            Ok(Some((packet, len))) => {
                if let Packet::Connect(c) = &packet {
                    protocol = c.protocol;
                }
                let text = match style {
                    Style::Line => serde_json::to_string(&packet),
                    Style::Pretty => serde_json::to_string_pretty(&packet),
                    Style::Summary => Ok(summary::describe(&packet, protocol)),
                }
                .map_err(|e| format!("cannot print packet {index}: {e}"))?;
                writeln!(out, "{text}").map_err(|e| e.to_string())?;
                at += len;
                index += 1;
            }
            Ok(None) => {
                return Err(format!(
                    "0x81 Malformed Packet: input ends inside packet {index}, which starts at byte {at} \
                     ({} bytes left, more announced by its fixed header)",
                    data.len() - at
                ));
            }
            Err(e) => {
                return Err(format!(
                    "{}: {} at byte {} (packet {index} starts at byte {at}, fault at its byte {})",
                    e.reason_code,
                    e.message,
                    at + e.offset,
                    e.offset
                ));
            }
        }
    }
    Ok(())
}

fn run_encode(protocol: Protocol, json: Option<String>) -> Result<(), String> {
    let text = match json {
        Some(j) => j,
        None => read_stdin()?,
    };
    let mut out = io::stdout().lock();
    let mut count = 0usize;
    for (n, line) in text.as_bytes().lines().enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let lineno = n + 1;
        let packet: Packet = serde_json::from_str(line)
            .map_err(|e| format!("line {lineno}: not a packet in the JSON form: {e}"))?;
        let bytes = packet
            .encode_to_vec(protocol)
            .map_err(|e| format!("line {lineno}: {}: {}", e.reason_code, e.message))?;
        writeln!(out, "{}", hexfmt::format(&bytes)).map_err(|e| e.to_string())?;
        count += 1;
    }
    if count == 0 {
        return Err("no JSON packet given".to_string());
    }
    Ok(())
}
