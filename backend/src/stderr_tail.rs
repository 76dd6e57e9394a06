//! What a worker process (the Piper voice, the Whisper transcriber) writes to standard error:
//! each line logged as it comes, and the last few kept, so that a worker that fails to start or
//! dies can say why (a Python traceback, say) in the error it causes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;
use tokio::task::JoinHandle;

/// How many of the last lines are kept.
const KEPT_LINES: usize = 20;

/// The last lines of one worker's standard error, shared with the task reading it.
#[derive(Debug, Clone, Default)]
pub struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    /// Reads `stderr` to its end in a task of its own, logging each line with the worker's name
    /// and process id; the task ends when the process closes its standard error.
    pub fn collect(stderr: ChildStderr, worker: &'static str, pid: Option<u32>) -> (Self, JoinHandle<()>) {
        let tail = Self::default();
        let task = tokio::spawn({
            let tail = tail.clone();
            async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::info!(worker, pid, line = %line, "worker.stderr");
                    tail.push(line);
                }
            }
        });
        (tail, task)
    }

    fn push(&self, line: String) {
        if let Ok(mut lines) = self.0.lock() {
            if lines.len() == KEPT_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }

    /// The kept lines joined by " | "; empty when there are none.
    pub fn text(&self) -> String {
        self.0.lock().map(|lines| lines.iter().cloned().collect::<Vec<_>>().join(" | ")).unwrap_or_default()
    }

    /// " (<the kept lines>)", to end an error message with, or nothing when there are none.
    pub fn in_parentheses(&self) -> String {
        let text = self.text();
        if text.is_empty() { text } else { format!(" ({text})") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_lines_are_kept_and_none_make_no_parentheses() {
        let tail = StderrTail::default();
        assert_eq!(tail.in_parentheses(), "");
        for n in 0..KEPT_LINES + 3 {
            tail.push(format!("line {n}"));
        }
        let text = tail.text();
        assert!(text.starts_with("line 3 | line 4"), "{text}");
        assert!(text.ends_with(&format!("line {}", KEPT_LINES + 2)), "{text}");
        assert_eq!(tail.in_parentheses(), format!(" ({text})"));
    }
}
