//! The blocking driver: a TCP or TLS connection with a sans-IO [`Client`] on it.
//!
//! [`Session`] owns the socket and the engine. After every input (bytes read,
//! a timer due, the socket closed) and every command it writes everything
//! [`Client::poll_transmit`] gives; [`Session::next`] hands out events one at
//! a time and blocks on the socket no longer than the engine's next deadline,
//! the caller's deadline and a short tick, so that Ctrl-C and other inputs are
//! noticed promptly without busy-waiting.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use mqtt_engine::client::{
    Client, Connected, DisconnectCause, Disconnected, Event, Options, State,
};
use mqtt_engine::codec::{Decoder, Disconnect, Packet, Protocol, ReasonCode};
use mqtt_engine::time::Instant;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
};

/// The longest [`Session::next`] blocks on the socket, so that the caller can
/// look at its own inputs (a Ctrl-C flag, lines of stdin) often enough.
pub const TICK: Duration = Duration::from_millis(150);

/// How long opening the TCP connection and the TLS handshake may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long closing waits for inbound QoS 2 flows to end.
pub const QOS2_LINGER: Duration = Duration::from_secs(2);

/// How long closing waits for the server to close its side after DISCONNECT.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// TLS settings, as given on the command line.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// PEM file of CA certificates to trust.
    pub cafile: Option<PathBuf>,
    /// Directory of PEM files of CA certificates to trust.
    pub capath: Option<PathBuf>,
    /// Trust the system's root certificates (also used when no CA is given).
    pub system_roots: bool,
    /// PEM client certificate chain for client authentication.
    pub cert: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub key: Option<PathBuf>,
    /// Verify the server's certificate chain but not that it names the host.
    pub insecure: bool,
}

/// Where to connect.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS settings; `None` for plain TCP.
    pub tls: Option<TlsSettings>,
}

impl Endpoint {
    /// `host:port` for messages, with brackets around an IPv6 address.
    pub fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The byte stream under the engine.
enum Stream {
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Tcp(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(data),
            Stream::Tls(s) => {
                s.write_all(data)?;
                s.flush()
            }
        }
    }

    /// Closes our side gracefully (TLS close_notify, then FIN) and waits a
    /// little for the server to close its side, so that nothing we sent is
    /// lost to a reset.
    fn close(&mut self) {
        if let Stream::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let tcp = self.tcp();
        let _ = tcp.shutdown(Shutdown::Write);
        let until = StdInstant::now() + CLOSE_LINGER;
        let mut buf = [0u8; 1024];
        loop {
            let left = until.saturating_duration_since(StdInstant::now());
            if left.is_zero() || tcp.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match (&*tcp).read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

/// Reads the packets going either way, to print them for `-d`.
struct Watch {
    sent: Decoder,
    received: Decoder,
}

impl Watch {
    fn new(protocol: Protocol) -> Watch {
        let decoder = || Decoder::new(protocol).with_max_packet_size(u32::MAX);
        Watch { sent: decoder(), received: decoder() }
    }

    fn sent(&mut self, data: &[u8]) {
        Self::each(&mut self.sent, data, |p, protocol| {
            eprintln!("-> {}", crate::summary::describe(p, protocol));
        });
    }

    fn received(&mut self, data: &[u8]) {
        Self::each(&mut self.received, data, |p, protocol| {
            eprintln!("<- {}", crate::summary::describe(p, protocol));
        });
    }

    fn each(decoder: &mut Decoder, data: &[u8], mut f: impl FnMut(&Packet, Protocol)) {
        let protocol = decoder.protocol();
        if let Err(e) = decoder.push(data) {
            eprintln!("undecodable: {}: {}", e.reason_code, e.message);
            decoder.reset();
            return;
        }
        loop {
            match decoder.next_packet() {
                Ok(Some(p)) => f(&p, protocol),
                Ok(None) => break,
                Err(e) => {
                    eprintln!("undecodable: {}: {}", e.reason_code, e.message);
                    decoder.reset();
                    break;
                }
            }
        }
    }
}

/// A connected MQTT session: the engine, the socket and the clock.
pub struct Session {
    client: Client,
    stream: Stream,
    /// The origin of the engine's time.
    origin: StdInstant,
    endpoint: String,
    /// The transport is open (not closed by either side yet).
    open: bool,
    /// Why the transport failed, when it did.
    io_error: Option<String>,
    buf: Vec<u8>,
    /// Prints the packets both ways, with `-d`.
    watch: Option<Watch>,
}

impl Session {
    /// Opens the connection, sends CONNECT and waits for CONNACK. A refusal,
    /// a network failure or a TLS failure is a one-line error message.
    pub fn open(
        endpoint: &Endpoint,
        options: Options,
        debug: bool,
    ) -> Result<(Session, Connected), String> {
        let target = endpoint.display();
        let tcp = open_tcp(endpoint)?;
        let stream = match &endpoint.tls {
            None => Stream::Tcp(tcp),
            Some(tls) => Stream::Tls(Box::new(handshake(endpoint, tls, tcp)?)),
        };
        let origin = StdInstant::now();
        let watch = debug.then(|| Watch::new(options.protocol));
        // Without clean start the server's session is resumed with an empty
        // local state, as mosquitto_sub -c does.
        let client = Client::new(options, Instant::ZERO);
        let mut session = Session {
            client,
            stream,
            origin,
            endpoint: target,
            open: true,
            io_error: None,
            buf: vec![0; 64 * 1024],
            watch,
        };
        let now = session.now();
        session.client.connect(now).map_err(|e| format!("cannot connect: {e}"))?;
        loop {
            match session.next(None)? {
                Some(Event::Connected(c)) => return Ok((session, c)),
                Some(Event::Disconnected(d)) => return Err(session.describe(&d)),
                Some(Event::Auth(_)) => {
                    return Err("the server asked for enhanced authentication, \
                                which this tool does not offer"
                        .to_string())
                }
                Some(_) | None => {}
            }
        }
    }

    /// The engine's time: milliseconds since the session opened.
    pub fn now(&self) -> Instant {
        let ms = self.origin.elapsed().as_millis();
        Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The engine, for commands. Call [`Session::flush`] (or
    /// [`Session::next`]) afterwards to send what they queued.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Writes everything the engine has to send.
    pub fn flush(&mut self) -> Result<(), String> {
        while let Some(bytes) = self.client.poll_transmit() {
            if let Some(w) = &mut self.watch {
                w.sent(&bytes);
            }
            if !self.open {
                continue;
            }
            if let Err(e) = self.stream.write_all(&bytes) {
                self.lost(e);
            }
        }
        Ok(())
    }

    /// The next event, or `None` when nothing happened within [`TICK`] or
    /// before `deadline`, whichever comes first. Errors only when the connection
    /// is already over and nothing more can happen.
    pub fn next(&mut self, deadline: Option<StdInstant>) -> Result<Option<Event>, String> {
        if let Some(e) = self.client.poll_event() {
            return Ok(Some(e));
        }
        self.flush()?;
        if let Some(e) = self.client.poll_event() {
            return Ok(Some(e));
        }
        if self.client.state() == State::Closed {
            self.close_transport();
            return Err(match &self.io_error {
                Some(e) => format!("connection to {} lost: {e}", self.endpoint),
                None => format!("the connection to {} is closed", self.endpoint),
            });
        }
        let mut now = self.now();
        if let Some(due) = self.client.poll_timeout() {
            if now >= due {
                self.client.handle_timeout(now);
                self.after_input()?;
                return Ok(self.client.poll_event());
            }
        }
        let mut wait = TICK;
        if let Some(due) = self.client.poll_timeout() {
            wait = wait.min(due.saturating_duration_since(now));
        }
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(StdInstant::now());
            if left.is_zero() {
                return Ok(None);
            }
            wait = wait.min(left);
        }
        let wait = wait.max(Duration::from_millis(1));
        if let Err(e) = self.stream.tcp().set_read_timeout(Some(wait)) {
            self.lost(e);
        } else {
            match self.stream.read(&mut self.buf) {
                Ok(0) => {
                    self.open = false;
                    now = self.now();
                    self.client.handle_closed(now);
                }
                Ok(n) => {
                    if let Some(w) = &mut self.watch {
                        w.received(&self.buf[..n]);
                    }
                    now = self.now();
                    // A protocol violation queues DISCONNECT and the
                    // Disconnected event, which report it.
                    let _ = self.client.handle_bytes(now, &self.buf[..n]);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => self.lost(e),
            }
        }
        self.after_input()?;
        Ok(self.client.poll_event())
    }

    /// Sends what the last input queued; closes the transport when the
    /// engine closed the connection.
    fn after_input(&mut self) -> Result<(), String> {
        self.flush()?;
        if self.client.state() == State::Closed {
            self.close_transport();
        }
        Ok(())
    }

    fn lost(&mut self, e: io::Error) {
        if self.io_error.is_none() {
            self.io_error = Some(io_error_text(&e));
        }
        self.open = false;
        let now = self.now();
        self.client.handle_closed(now);
    }

    fn close_transport(&mut self) {
        if self.open {
            self.open = false;
            self.stream.close();
        }
    }

    /// Sends DISCONNECT (Normal disconnection) and closes the connection,
    /// after letting the inbound QoS 2 flows under way end (for at most
    /// [`QOS2_LINGER`]); messages that arrive meanwhile are acknowledged and
    /// not shown.
    pub fn disconnect(mut self) -> Result<(), String> {
        let until = StdInstant::now() + QOS2_LINGER;
        while self.client.inbound_pending() > 0
            && self.client.is_connected()
            && StdInstant::now() < until
        {
            if self.next(Some(until)).is_err() {
                break;
            }
        }
        let now = self.now();
        if self.client.state() != State::Closed {
            let _ = self.client.disconnect(now, Disconnect::new(ReasonCode::SUCCESS));
        }
        self.flush()?;
        self.close_transport();
        Ok(())
    }

    /// A one-line description of how a connection ended.
    pub fn describe(&self, d: &Disconnected) -> String {
        describe_disconnect(d, self.client.protocol(), &self.endpoint, self.io_error.as_deref())
    }
}

/// A one-line description of how a connection ended: who ended it, the reason
/// code with its name, the Reason String, and a Server Reference.
pub fn describe_disconnect(
    d: &Disconnected,
    protocol: Protocol,
    endpoint: &str,
    io_error: Option<&str>,
) -> String {
    let code = d.reason_code;
    let mut s = match d.cause {
        DisconnectCause::Refused => format!("connection refused: {code}"),
        DisconnectCause::Server => format!("disconnected by the server: {code}"),
        DisconnectCause::ProtocolViolation => {
            format!("protocol violation by the server, connection closed: {code}")
        }
        DisconnectCause::KeepAliveTimeout => {
            format!("connection to {endpoint} lost: {code}")
        }
        DisconnectCause::ConnectTimeout => format!("no answer from {endpoint} to CONNECT"),
        DisconnectCause::ConnectionLost => match io_error {
            Some(e) => format!("connection to {endpoint} lost: {e}"),
            None => format!("connection to {endpoint} closed by the server"),
        },
        DisconnectCause::Client => "disconnected".to_string(),
    };
    match (&d.reason_string, d.cause, protocol) {
        (Some(r), DisconnectCause::Refused, Protocol::V311) => {
            let rc = (1u8..=5).find(|&n| ReasonCode::from_connect_return_code(n) == Some(code));
            match rc {
                Some(n) => s.push_str(&format!(" (MQTT 3.1.1 return code {n}: {r})")),
                None => s.push_str(&format!(" ({r})")),
            }
        }
        // The engine's own words for a lost connection add nothing here.
        (Some(_), DisconnectCause::ConnectionLost, _) => {}
        (Some(r), DisconnectCause::ConnectTimeout, _) => s.push_str(&format!(" ({r})")),
        (Some(r), _, _) => {
            s.push_str(": ");
            s.push_str(r);
        }
        (None, _, _) => {}
    }
    if let Some(r) = &d.server_reference {
        s.push_str(&format!(" (server reference: {r})"));
    }
    for (k, v) in &d.user_properties {
        s.push_str(&format!(" [{k}={v}]"));
    }
    s
}

/// An I/O error as a short phrase ("Connection refused", not "... (os error 111)"),
/// with the TLS reason when rustls is behind it.
fn io_error_text(e: &io::Error) -> String {
    if let Some(inner) = e.get_ref() {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return format!("TLS: {tls}");
        }
        return inner.to_string();
    }
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn open_tcp(endpoint: &Endpoint) -> Result<TcpStream, String> {
    let target = endpoint.display();
    let addrs = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {}", endpoint.host, io_error_text(&e)))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, OPEN_TIMEOUT) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => format!("cannot connect to {target}: {}", io_error_text(&e)),
        None => format!("cannot connect to {target}: the host name has no address"),
    })
}

fn handshake(
    endpoint: &Endpoint,
    tls: &TlsSettings,
    mut tcp: TcpStream,
) -> Result<rustls::StreamOwned<ClientConnection, TcpStream>, String> {
    let config = client_config(tls)?;
    let name = ServerName::try_from(endpoint.host.clone())
        .map_err(|_| format!("{:?} is not a valid TLS server name", endpoint.host))?;
    let mut conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| format!("cannot start TLS: {e}"))?;
    tcp.set_read_timeout(Some(OPEN_TIMEOUT))
        .map_err(|e| format!("cannot connect to {}: {}", endpoint.display(), io_error_text(&e)))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            let text = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(t @ rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                    format!("{t} (the server's certificate is not signed by a CA given with --cafile / --capath, or by a system root)")
                }
                Some(
                    t @ rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. },
                    ),
                ) => format!("{t} (--insecure skips this check)"),
                Some(t) => t.to_string(),
                None => match e.kind() {
                    io::ErrorKind::UnexpectedEof => "the server closed the connection".to_string(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                        "no answer from the server".to_string()
                    }
                    _ => io_error_text(&e),
                },
            };
            return Err(format!("TLS handshake with {} failed: {text}", endpoint.display()));
        }
    }
    Ok(rustls::StreamOwned::new(conn, tcp))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    iter.collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot read certificates from {}: {e}", path.display()))
}

fn client_config(tls: &TlsSettings) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    if let Some(f) = &tls.cafile {
        let certs = read_certs(f)?;
        if certs.is_empty() {
            return Err(format!("no PEM certificate in {}", f.display()));
        }
        for c in certs {
            roots.add(c).map_err(|e| format!("bad CA certificate in {}: {e}", f.display()))?;
        }
    }
    if let Some(dir) = &tls.capath {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read directory {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                // Files that hold no certificate (keys, CRLs, links) are skipped.
                if let Ok(certs) = read_certs(&path) {
                    roots.add_parsable_certificates(certs);
                }
            }
        }
        if roots.is_empty() {
            return Err(format!("no PEM certificate in {}", dir.display()));
        }
    }
    if tls.system_roots || (tls.cafile.is_none() && tls.capath.is_none()) {
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
        if roots.is_empty() {
            return Err("no system root certificates found; give --cafile".to_string());
        }
    }
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let builder = if tls.insecure {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("cannot set up TLS: {e}"))?;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyName { inner }))
    } else {
        builder.with_root_certificates(roots)
    };
    match (&tls.cert, &tls.key) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert)?;
            if chain.is_empty() {
                return Err(format!("no PEM certificate in {}", cert.display()));
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("cannot read a private key from {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("cannot use the client certificate: {e}"))
        }
        _ => Err("--cert and --key go together".to_string()),
    }
}

/// `--insecure`: the certificate chain is verified as usual; only a
/// certificate that does not name the host is accepted anyway.
#[derive(Debug)]
struct AnyName {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name, so a name error means the
        // chain is trusted.
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
