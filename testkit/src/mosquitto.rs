//! A real mosquitto broker for integration tests.
//!
//! [`Mosquitto::start`] writes a configuration into a fresh temporary
//! directory, starts `mosquitto -c` on a free loopback port, waits until the
//! port accepts connections and hands back a guard; dropping the guard kills
//! the broker and removes the directory. The broker's log goes to a file in
//! that directory ([`Mosquitto::log`]) so that a failing test can show it.
//!
//! The broker is a prerequisite, never optional: if the binary is missing the
//! harness panics with a message naming `make test`, which installs it.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a broker may take to accept connections after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times [`Mosquitto::start`] tries when the broker could not bind
/// its port (another process took it between reservation and start).
const START_ATTEMPTS: usize = 3;

/// Why a broker did not start.
#[derive(Debug)]
struct StartError {
    port_in_use: bool,
    why: String,
    log: String,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mosquitto did not start: {}\n--- broker log ---\n{}", self.why, self.log)
    }
}

/// A running mosquitto broker; killed, and its directory removed, on drop.
#[derive(Debug)]
pub struct Mosquitto {
    child: Child,
    ports: Vec<u16>,
    dir: PathBuf,
}

impl Mosquitto {
    /// Starts mosquitto on 127.0.0.1 on a free port; `extra` is appended to
    /// the generated config after `listener <port> 127.0.0.1` and
    /// `allow_anonymous true` (`per_listener_settings false`).
    pub fn start(extra: &str) -> Mosquitto {
        let config = |ports: &[u16], _: &Path| {
            format!(
                "per_listener_settings false\nlistener {} 127.0.0.1\nallow_anonymous true\n{extra}\n",
                ports[0]
            )
        };
        // A port taken by another process between reservation and start is
        // retried with a new one.
        for _ in 1..START_ATTEMPTS {
            match Mosquitto::try_start(1, config) {
                Ok(broker) => return broker,
                Err(StartError { port_in_use: true, .. }) => continue,
                Err(e) => panic!("{e}"),
            }
        }
        Mosquitto::try_start(1, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Full control: reserves `n` free loopback ports and writes the config
    /// `config(&ports, dir)` returns. The harness appends only the log
    /// settings (`log_dest stderr`, captured to `mosquitto.log` in `dir`,
    /// `log_type all`) and `set_tcp_nodelay true`.
    pub fn start_custom(n: usize, config: impl FnOnce(&[u16], &Path) -> String) -> Mosquitto {
        Mosquitto::try_start(n, config).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_start(
        n: usize,
        config: impl FnOnce(&[u16], &Path) -> String,
    ) -> Result<Mosquitto, StartError> {
        assert!(n > 0, "a broker needs at least one port");
        let binary = find_binary();
        let dir = make_temp_dir();
        let ports = reserve_ports(n);
        let body = config(&ports, &dir);
        let conf_path = dir.join("mosquitto.conf");
        // The log goes to the broker's stderr, redirected to a file the
        // harness owns, so that privilege dropping cannot get in the way.
        // TCP_NODELAY: without it, Nagle's algorithm and delayed ACKs hold
        // each small packet of a flow for ~40 ms.
        let text = format!(
            "{body}\nlog_dest stderr\nlog_type all\nconnection_messages true\nset_tcp_nodelay true\n"
        );
        fs::write(&conf_path, text).unwrap_or_else(|e| panic!("writing {conf_path:?}: {e}"));
        let log_path = dir.join("mosquitto.log");
        let log = File::create(&log_path).unwrap_or_else(|e| panic!("creating {log_path:?}: {e}"));
        let child = Command::new(&binary)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary:?}: {e}"));
        let mut broker = Mosquitto { child, ports, dir };
        match broker.wait_ready() {
            Ok(()) => Ok(broker),
            Err(why) => {
                let log = broker.log();
                drop(broker);
                Err(StartError { port_in_use: log.contains("Address already in use"), why, log })
            }
        }
    }

    /// The first port.
    pub fn port(&self) -> u16 {
        self.ports[0]
    }

    /// All reserved ports, in the order given to the config function.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// The run's temporary directory (config, log, anything a test writes).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The broker's log so far, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }

    /// Polls until every port accepts a connection, or the broker exits, or
    /// the start timeout passes. (This waits for an external process; short
    /// sleeps are the simplest portable way.)
    fn wait_ready(&mut self) -> Result<(), String> {
        let until = Instant::now() + START_TIMEOUT;
        let mut pending: Vec<u16> = self.ports.clone();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the broker exited with {status}"));
            }
            pending.retain(|&p| {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, p));
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
            });
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(format!("ports {pending:?} not accepting after {START_TIMEOUT:?}"));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.dir.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The mosquitto binary: on `PATH`, or where the Debian package puts it.
fn find_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("mosquitto")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/mosquitto"), PathBuf::from("/usr/local/sbin/mosquitto")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the mosquitto broker is not installed (looked on PATH and in /usr/sbin): \
                 run `make test`, which installs mosquitto and mosquitto-clients, or \
                 `apt-get install -y mosquitto mosquitto-clients`"
            )
        })
}

/// A fresh directory under the system temporary directory.
fn make_temp_dir() -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir()
        .join(format!("mqtt-engine-mosquitto-{}-{n}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {dir:?}: {e}"));
    dir
}

/// Reserves `n` distinct free loopback ports, chosen at random below the
/// kernel's ephemeral range: outgoing connections (of this or any other test)
/// never take those, so the port stays free until the broker binds it. A port
/// this process handed out before is never handed out again.
fn reserve_ports(n: usize) -> Vec<u16> {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    let (low, high) = candidate_range();
    let state = RandomState::new();
    let mut ports = Vec::new();
    for attempt in 0u64.. {
        if ports.len() == n {
            break;
        }
        assert!(attempt < 100_000, "no free loopback port in {low}..{high}");
        let mut h = state.build_hasher();
        h.write_u64(attempt);
        let port = low + (h.finish() % u64::from(high - low)) as u16;
        if given.contains(&port) || TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
            continue;
        }
        given.insert(port);
        ports.push(port);
    }
    ports
}

/// Ports to choose from: 20000 up to the start of the ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`, 32768 when unknown).
fn candidate_range() -> (u16, u16) {
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse::<u16>().ok()))
        .unwrap_or(32_768);
    if ephemeral_low > 21_000 {
        (20_000, ephemeral_low)
    } else {
        // An unusual ephemeral range: use the ports above it instead.
        (61_000, 65_000)
    }
}
