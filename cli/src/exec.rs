//! The command behind `mqtt-engine serve --exec CMD`: one run of `sh -c CMD`
//! per request, with the request's payload on stdin.
//!
//! [`Running::start`] spawns the shell in a process group of its own and
//! hands out its stdout line by line as it comes ([`Running::poll`]), so that
//! the server can answer each line as a part of a stream, or gather them for
//! one answer. [`Running::kill`] ends the whole group, so that a command that
//! started other processes (`sleep 10 | cat`) is stopped too. Nothing here
//! blocks for longer than the caller asks.

use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// The most of stderr kept for the answer's message, in bytes.
pub const MAX_STDERR: usize = 4096;

/// What the command did since the last [`Running::poll`].
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A line of stdout, with its newline (the last line may lack one).
    Line(Vec<u8>),
    /// The command exited and its stdout is closed.
    Exited(Finished),
    /// Nothing within the wait.
    Pending,
}

/// How the command ended.
#[derive(Debug, PartialEq, Eq)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its stderr (at most [`MAX_STDERR`] bytes).
    pub stderr: Vec<u8>,
}

/// A line of stdout, or its end.
enum Out {
    Line(Vec<u8>),
    End,
}

/// `sh -c CMD`, running.
pub struct Running {
    child: Child,
    stdout: Receiver<Out>,
    stderr: Receiver<Vec<u8>>,
    stdout_open: bool,
}

impl Running {
    /// Starts `sh -c command` with `input` on its stdin (closed after it).
    pub fn start(command: &str, input: Vec<u8>) -> io::Result<Running> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        if let Some(mut pipe) = child.stdin.take() {
            // A command that does not read its stdin closes the pipe: the
            // write fails, which is no error of the command.
            thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let (out_tx, stdout) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            thread::spawn(move || {
                let mut reader = io::BufReader::new(out);
                loop {
                    let mut line = Vec::new();
                    match io::BufRead::read_until(&mut reader, b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            if out_tx.send(Out::Line(line)).is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = out_tx.send(Out::End);
            });
        } else {
            let _ = out_tx.send(Out::End);
        }
        let (err_tx, stderr) = mpsc::channel();
        if let Some(mut err) = child.stderr.take() {
            thread::spawn(move || {
                let mut kept = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    match err.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let room = MAX_STDERR.saturating_sub(kept.len());
                            kept.extend_from_slice(&buf[..n.min(room)]);
                        }
                    }
                }
                let _ = err_tx.send(kept);
            });
        }
        Ok(Running { child, stdout, stderr, stdout_open: true })
    }

    /// The next line of stdout, or the end of the command, waiting at most
    /// `wait` for either.
    pub fn poll(&mut self, wait: Duration) -> io::Result<Step> {
        if self.stdout_open {
            match self.stdout.recv_timeout(wait) {
                Ok(Out::Line(l)) => return Ok(Step::Line(l)),
                Ok(Out::End) | Err(RecvTimeoutError::Disconnected) => self.stdout_open = false,
                Err(RecvTimeoutError::Timeout) => return Ok(Step::Pending),
            }
        }
        // Stdout is closed: the command has exited, or soon will.
        match self.child.try_wait()? {
            Some(status) => {
                // Its stderr closes with it (unless a process it started
                // keeps it open: then what arrived within a moment).
                let stderr =
                    self.stderr.recv_timeout(Duration::from_millis(200)).unwrap_or_default();
                Ok(Step::Exited(Finished { status, stderr }))
            }
            None => {
                // Waiting for a process to exit, not for engine time.
                thread::sleep(wait.min(Duration::from_millis(5)));
                Ok(Step::Pending)
            }
        }
    }

    /// Kills the command and every process of its group, and reaps it.
    pub fn kill(&mut self) {
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !killed {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly by design

    use super::*;
    use std::time::Instant;

    /// Runs to the end (at most 10 s); the lines and how it ended.
    fn run(command: &str, input: &[u8]) -> (Vec<Vec<u8>>, Finished) {
        let mut r = Running::start(command, input.to_vec()).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        let mut lines = Vec::new();
        while Instant::now() < until {
            match r.poll(Duration::from_millis(50)).unwrap() {
                Step::Line(l) => lines.push(l),
                Step::Exited(f) => return (lines, f),
                Step::Pending => {}
            }
        }
        panic!("{command:?} did not end");
    }

    #[test]
    fn stdin_in_lines_out() {
        let (lines, f) = run("tr a-z A-Z", b"one\ntwo");
        assert_eq!(lines, [b"ONE\n".to_vec(), b"TWO".to_vec()]);
        assert!(f.status.success());
        assert!(f.stderr.is_empty());
    }

    #[test]
    fn failure_keeps_stderr_and_status() {
        let (lines, f) = run("echo partial; echo oops >&2; exit 3", b"");
        assert_eq!(lines, [b"partial\n".to_vec()]);
        assert_eq!(f.status.code(), Some(3));
        assert_eq!(f.stderr, b"oops\n");
    }

    #[test]
    fn a_command_that_ignores_stdin_is_fine() {
        let (lines, f) = run("echo hi", &[b'x'; 1 << 20]);
        assert_eq!(lines, [b"hi\n".to_vec()]);
        assert!(f.status.success());
    }

    #[test]
    fn kill_stops_the_whole_group() {
        let started = Instant::now();
        let mut r = Running::start("sleep 30 | cat", Vec::new()).unwrap();
        assert_eq!(r.poll(Duration::from_millis(50)).unwrap(), Step::Pending);
        r.kill();
        // With the group gone, stdout closes and the end is seen at once.
        let mut ended = false;
        for _ in 0..100 {
            if let Step::Exited(f) = r.poll(Duration::from_millis(50)).unwrap() {
                assert!(!f.status.success());
                ended = true;
                break;
            }
        }
        assert!(ended);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
