//! Child-process machinery shared by the CLI integration tests
//! (`pubsub.rs` and `rpc.rs`, each with `mod common;`).
//!
//! Every child process runs under a hard deadline ([`DEADLINE`]): a hang
//! kills it and fails the test. Its stdout is collected by a thread, its
//! stderr comes line by line over a channel so that a test can wait for a
//! line ([`Proc::wait_stderr`]) instead of guessing with a sleep.
//!
//! Each test file is its own crate and uses only part of this module, so the
//! items that only one of them uses carry `#[allow(dead_code)]`, with a note
//! saying which file uses them.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Our binary, as Cargo built it for the tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_mqtt-engine");

/// The longest any one child process may run.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A child process with its output collected by threads.
pub struct Proc {
    /// The command line, for failure messages.
    what: String,
    /// The process itself (tests may kill it or poll it directly).
    pub child: Child,
    /// Stdin kept open ([`Input::Open`]).
    // Only pubsub.rs keeps stdin open (its `-l` line-mode test).
    #[allow(dead_code)]
    stdin: Option<ChildStdin>,
    /// The thread reading stdout to the end.
    stdout: Option<JoinHandle<Vec<u8>>>,
    /// Lines of stderr as the process writes them.
    stderr_lines: mpsc::Receiver<String>,
    /// Lines of stderr already taken from `stderr_lines`.
    stderr_seen: Vec<String>,
    /// When the process was started; the deadline counts from here.
    started: Instant,
}

/// How a child process ended.
#[derive(Debug)]
pub struct Done {
    /// Its exit status.
    pub status: ExitStatus,
    /// All of its stdout (lossily decoded).
    pub stdout: String,
    /// All of its stderr, lines joined with `\n` (no trailing newline).
    pub stderr: String,
    /// How long it ran, from spawn to exit.
    // Only rpc.rs reads it (its timing assertions).
    #[allow(dead_code)]
    pub took: Duration,
}

impl Done {
    /// Asserts that the process exited successfully.
    pub fn ok(&self) -> &Self {
        assert!(self.status.success(), "expected success: {self:#?}");
        self
    }

    /// The lines of stdout.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Each line of stdout parsed as JSON (panics on a line that is not).
    pub fn json(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
            .collect()
    }
}

/// What a child process reads.
pub enum Input<'a> {
    /// Nothing (end of file at once).
    None,
    /// These bytes, then end of file.
    Data(&'a [u8]),
    /// A pipe that stays open while the process runs ([`Proc::stdin`]).
    // Only pubsub.rs keeps stdin open (its `-l` line-mode test).
    #[allow(dead_code)]
    Open,
}

impl Proc {
    /// Starts `program` with `args`, reading `input`.
    pub fn spawn(program: &str, args: &[&str], input: Input<'_>) -> Proc {
        let mut child = Command::new(program)
            .args(args)
            .stdin(if matches!(input, Input::None) { Stdio::null() } else { Stdio::piped() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let mut kept = None;
        match input {
            Input::None => {}
            Input::Data(data) => {
                let mut pipe = child.stdin.take().unwrap();
                let data = data.to_vec();
                thread::spawn(move || {
                    let _ = pipe.write_all(&data);
                });
            }
            Input::Open => kept = child.stdin.take(),
        }
        let mut out = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            let mut v = Vec::new();
            let _ = out.read_to_end(&mut v);
            v
        });
        let err = child.stderr.take().unwrap();
        let (tx, stderr_lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            what: format!("{program} {}", args.join(" ")),
            child,
            stdin: kept,
            stdout: Some(stdout),
            stderr_lines,
            stderr_seen: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Starts our binary ([`BIN`]) with `args` and no stdin.
    pub fn ours(args: &[&str]) -> Proc {
        Proc::spawn(BIN, args, Input::None)
    }

    /// The time left before [`DEADLINE`].
    pub fn left(&self) -> Duration {
        DEADLINE.saturating_sub(self.started.elapsed())
    }

    /// Waits until a line of stderr contains `needle`.
    pub fn wait_stderr(&mut self, needle: &str) {
        loop {
            if self.stderr_seen.iter().any(|l| l.contains(needle)) {
                return;
            }
            match self.stderr_lines.recv_timeout(self.left()) {
                Ok(line) => self.stderr_seen.push(line),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "{}: no {needle:?} on stderr within {DEADLINE:?}; stderr so far:\n{}",
                        self.what,
                        self.stderr_seen.join("\n")
                    );
                }
            }
        }
    }

    /// The stdin kept open with [`Input::Open`].
    // Only pubsub.rs keeps stdin open (its `-l` line-mode test).
    #[allow(dead_code)]
    pub fn stdin(&mut self) -> &mut ChildStdin {
        self.stdin.as_mut().unwrap()
    }

    /// Sends SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let status =
            Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit (killing it at the deadline) and
    /// collects its output.
    pub fn finish(mut self) -> Done {
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if self.left().is_zero() {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{}: still running after {DEADLINE:?}, killed; stderr:\n{}",
                    self.what,
                    self.stderr_seen.join("\n")
                );
            }
            // Waiting for another process to exit, not for engine time.
            thread::sleep(Duration::from_millis(5));
        };
        let took = self.started.elapsed();
        let stdout = self.stdout.take().unwrap().join().unwrap();
        let mut stderr = std::mem::take(&mut self.stderr_seen);
        while let Ok(line) = self.stderr_lines.recv_timeout(Duration::from_secs(2)) {
            stderr.push(line);
        }
        Done {
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: stderr.join("\n"),
            took,
        }
    }
}

/// A process still running when its [`Proc`] goes (a test that failed
/// early, say) is killed and reaped.
impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
