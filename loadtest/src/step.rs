//! One step of the ramp: N users open their sockets (a bounded number at a time), then all send
//! within a short window and read their runs to the end; meanwhile the server's CPU time, its
//! resident memory and the database's transactions are sampled. The outcome is checked against
//! what the fake model sent and summarised as one row of the table.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jarvis_backend::accounts::jwt::AccessTokens;
use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::database::{self, LoadUser};
use crate::fake_model::FakeModel;
use crate::marker::SequenceCheck;
use crate::server::{Watched, cpu_micros, machine_ticks, rss_kib};
use crate::user::{self, Cue, Outcome, Target};

/// Postgres reports a backend's statistics at most about once a second.
const STATS_SETTLE: Duration = Duration::from_millis(1200);

/// Everything a step needs, the same for every step.
pub struct Bench {
    pub target: Target,
    pub tokens: AccessTokens,
    pub fake: Arc<FakeModel>,
    pub pool: Option<PgPool>,
    pub server: Option<Watched>,
    pub open_concurrency: usize,
    pub spread: Duration,
    pub step_timeout: Duration,
    pub quiet: bool,
}

/// The figures of one step.
#[derive(Debug, Default)]
pub struct StepReport {
    pub users: usize,
    /// The most users streaming at one moment (from their first delta to their last): runs are
    /// admitted at a bounded rate, so a step's users do not all stream at once.
    pub streams_at_once: usize,
    pub delivered: u64,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p99_ms: Option<f64>,
    /// Users whose exchange failed.
    pub errors: usize,
    pub check: SequenceCheck,
    pub server_cpu_percent: Option<f64>,
    pub server_micros_per_delta: Option<f64>,
    pub server_rss_mib: Option<f64>,
    pub db_transactions_per_second: Option<f64>,
    pub generator_cpu_percent: Option<f64>,
    /// Busy time of all cores together (the server, the benchmark, Postgres and anything else).
    pub machine_cpu_percent: Option<f64>,
    /// From the first send to the last `Finished`.
    pub seconds: f64,
    pub timed_out: bool,
    /// Each kind of error with how many users hit it.
    pub error_kinds: BTreeMap<String, usize>,
}

impl StepReport {
    /// The step went badly enough that a larger one is pointless.
    pub fn collapsed(&self) -> bool {
        self.timed_out || self.errors * 10 > self.users
    }

    /// Any wrong delivery or failed exchange.
    pub fn incorrect(&self) -> bool {
        self.errors > 0 || self.check != SequenceCheck::default()
    }

    pub const HEADER: &'static str = "| users | streams at once | latency p50 ms | latency p99 ms | TTFT p50 ms | TTFT p99 ms | errors | lost | dup | out of order | server CPU % | CPU µs/delta | server RSS MiB | DB tx/s | load CPU % | machine CPU % | step s |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    pub fn row(&self) -> String {
        let figure = |value: Option<f64>, decimals: usize| {
            value.map_or_else(|| "–".to_owned(), |value| format!("{value:.decimals$}"))
        };
        format!(
            "| {} | {} | {} | {} | {} | {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            self.users,
            self.streams_at_once,
            figure(self.latency_p50_ms, 1),
            figure(self.latency_p99_ms, 1),
            figure(self.ttft_p50_ms, 1),
            figure(self.ttft_p99_ms, 1),
            self.errors,
            if self.timed_out { " (timed out)" } else { "" },
            self.check.lost,
            self.check.duplicated,
            self.check.out_of_order,
            figure(self.server_cpu_percent, 0),
            figure(self.server_micros_per_delta, 1),
            figure(self.server_rss_mib, 0),
            figure(self.db_transactions_per_second, 0),
            figure(self.generator_cpu_percent, 0),
            figure(self.machine_cpu_percent, 0),
            self.seconds,
        )
    }
}

/// The `p`th percentile (nearest rank) of sorted values.
fn percentile(sorted: &[u64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    #[allow(clippy::cast_precision_loss)]
    Some(sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0)
}

#[allow(clippy::cast_precision_loss)]
fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

impl Bench {
    fn progress(&self, message: &str) {
        if !self.quiet {
            eprintln!("  {message}");
        }
    }

    async fn transactions(&self) -> Option<i64> {
        match &self.pool {
            Some(pool) => database::transactions(pool).await.ok(),
            None => None,
        }
    }

    /// Runs step `number` with `users`.
    pub async fn step(&self, number: usize, users: &[LoadUser]) -> StepReport {
        let count = users.len();
        let opening = Arc::new(Semaphore::new(self.open_concurrency.max(1)));
        let (opened_tx, mut opened_rx) = mpsc::unbounded_channel();
        let (go_tx, go_rx) = watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        let mut tags = Vec::with_capacity(count);
        let opening_started = Instant::now();
        for (index, user) in users.iter().enumerate() {
            let tag = format!("{number}.{index}");
            tags.push(tag.clone());
            let token = self.tokens.issue(user.user_id, user.session_id);
            #[allow(clippy::cast_possible_truncation)]
            let send_delay = self.spread.mul_f64(index as f64 / count.max(1) as f64);
            let cue = Cue {
                opening: Arc::clone(&opening),
                opened: opened_tx.clone(),
                go: go_rx.clone(),
                send_delay,
            };
            tasks.spawn(user::run(self.target.clone(), token, tag, cue));
        }
        drop(opened_tx);
        let (mut open, mut failed) = (0usize, 0usize);
        while let Some(ok) = opened_rx.recv().await {
            if ok {
                open += 1
            } else {
                failed += 1
            }
            if open + failed == count {
                break;
            }
        }
        self.progress(&format!(
            "{open} sockets open ({failed} failed) in {:.1} s",
            opening_started.elapsed().as_secs_f64()
        ));

        // Let the opening's transactions reach the statistics before counting from here.
        tokio::time::sleep(STATS_SETTLE).await;
        let me = Watched::this_process();
        let xacts_before = self.transactions().await;
        let server_cpu_before = self.server.as_ref().and_then(|server| cpu_micros(&server.stat));
        let my_cpu_before = cpu_micros(&me.stat);
        let machine_before = machine_ticks();
        let started = Instant::now();
        let (stop_sampling, sampling) = watch::channel(false);
        let rss_sampler = self.server.clone().map(|server| tokio::spawn(sample_rss(server, sampling)));
        let _ = go_tx.send(true);

        let mut outcomes = Vec::with_capacity(count);
        let deadline = tokio::time::sleep(self.step_timeout);
        tokio::pin!(deadline);
        let mut timed_out = false;
        loop {
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    Some(Ok(outcome)) => outcomes.push(outcome),
                    Some(Err(error)) => outcomes.push(Outcome { error: Some(format!("user task failed: {error}")), ..Outcome::default() }),
                    None => break,
                },
                () = &mut deadline => {
                    timed_out = true;
                    tasks.abort_all();
                    break;
                }
            }
        }
        let elapsed = started.elapsed();
        let server_cpu_after = self.server.as_ref().and_then(|server| cpu_micros(&server.stat));
        let my_cpu_after = cpu_micros(&me.stat);
        let machine_after = machine_ticks();
        let _ = stop_sampling.send(true);
        let rss_max = match rss_sampler {
            Some(sampler) => sampler.await.ok().flatten(),
            None => None,
        };
        tokio::time::sleep(STATS_SETTLE).await;
        let xacts_after = self.transactions().await;

        // Users whose task was aborted at the deadline.
        let finished: std::collections::HashSet<String> =
            outcomes.iter().map(|outcome| outcome.tag.clone()).collect();
        for tag in tags.iter().filter(|tag| !finished.contains(*tag)) {
            outcomes.push(Outcome {
                tag: tag.clone(),
                error: Some(format!(
                    "not finished within the step timeout ({} s)",
                    self.step_timeout.as_secs()
                )),
                ..Outcome::default()
            });
        }

        let mut report = self.judge(outcomes);
        report.timed_out = timed_out;
        report.seconds = elapsed.as_secs_f64();
        if let (Some(before), Some(after)) = (server_cpu_before, server_cpu_after) {
            let used = after.saturating_sub(before);
            report.server_cpu_percent = Some(per_second(used, elapsed) / 10_000.0);
            #[allow(clippy::cast_precision_loss)]
            if report.delivered > 0 {
                report.server_micros_per_delta = Some(used as f64 / report.delivered as f64);
            }
        }
        if let (Some(before), Some(after)) = (my_cpu_before, my_cpu_after) {
            report.generator_cpu_percent = Some(per_second(after.saturating_sub(before), elapsed) / 10_000.0);
        }
        if let (Some((busy_before, total_before)), Some((busy_after, total_after))) =
            (machine_before, machine_after)
            && total_after > total_before
        {
            #[allow(clippy::cast_precision_loss)]
            let busy = (busy_after - busy_before) as f64 / (total_after - total_before) as f64;
            report.machine_cpu_percent = Some(busy * 100.0);
        }
        #[allow(clippy::cast_precision_loss)]
        {
            report.server_rss_mib = rss_max.map(|kib| kib as f64 / 1024.0);
        }
        if let (Some(before), Some(after)) = (xacts_before, xacts_after) {
            let done = u64::try_from(after - before).unwrap_or(0);
            report.db_transactions_per_second = Some(per_second(done, elapsed));
        }
        report
    }

    /// Checks every user's outcome against what the fake model sent.
    fn judge(&self, outcomes: Vec<Outcome>) -> StepReport {
        let mut report = StepReport { users: outcomes.len(), ..StepReport::default() };
        let mut latencies: Vec<u64> = Vec::new();
        let mut ttfts: Vec<u64> = Vec::new();
        let mut streams: Vec<(u64, u64)> = Vec::new();
        for mut outcome in outcomes {
            let arrived = outcome.arrivals.iter().map(|(_, _, arrived)| *arrived);
            if let (Some(first), Some(last)) = (arrived.clone().min(), arrived.max()) {
                streams.push((first, last));
            }
            let sent = self.fake.take(&outcome.tag);
            let finished = outcome.error.is_none();
            let expected_deltas = sent.as_ref().map_or(0, |sent| sent.deltas);
            let markers = SequenceCheck::of(
                outcome.arrivals.iter().map(|(index, _, _)| u64::from(*index)),
                0,
                u64::from(expected_deltas),
            );
            let last_seq = outcome.seqs.iter().copied().max().unwrap_or(0);
            let seqs = SequenceCheck::of(outcome.seqs.iter().copied(), 1, last_seq);
            let mut check = markers.worst(seqs);
            // An exchange that failed stops early; what it did not get is counted as its error.
            if !finished {
                check.lost = 0;
            }
            report.check.lost += check.lost;
            report.check.duplicated += check.duplicated;
            report.check.out_of_order += check.out_of_order;
            if finished {
                outcome.error = match &sent {
                    None => Some("the fake model got no request for this reply".to_owned()),
                    Some(sent) if sent.requests > 1 => {
                        Some(format!("the model was asked {} times", sent.requests))
                    }
                    Some(sent) if sent.cut_off => Some("the server hung up on the model".to_owned()),
                    Some(_) if outcome.reader.malformed > 0 || !outcome.reader.trailing().is_empty() => {
                        Some("text arrived that the model never sent".to_owned())
                    }
                    Some(sent) if sent.text != outcome.reader.text() && check == SequenceCheck::default() => {
                        Some("the text differs from what the model sent".to_owned())
                    }
                    Some(_) => None,
                };
            }
            report.delivered += outcome.arrivals.len() as u64;
            latencies.extend(outcome.arrivals.iter().map(|(_, sent, arrived)| arrived.saturating_sub(*sent)));
            if let (Some(first_sent), Some(first_arrived)) =
                (sent.as_ref().and_then(|sent| sent.first_micros), outcome.first_text_micros)
            {
                ttfts.push(first_arrived.saturating_sub(first_sent));
            }
            if let Some(error) = outcome.error {
                report.errors += 1;
                *report.error_kinds.entry(error_kind(&error)).or_default() += 1;
            }
        }
        report.streams_at_once = most_at_once(&streams);
        latencies.sort_unstable();
        ttfts.sort_unstable();
        report.latency_p50_ms = percentile(&latencies, 50.0);
        report.latency_p99_ms = percentile(&latencies, 99.0);
        report.ttft_p50_ms = percentile(&ttfts, 50.0);
        report.ttft_p99_ms = percentile(&ttfts, 99.0);
        report
    }
}

/// The most intervals (first, last; inclusive) that overlap at one moment.
fn most_at_once(intervals: &[(u64, u64)]) -> usize {
    // Starts before ends at the same moment: intervals that touch overlap.
    let mut edges: Vec<(u64, bool)> =
        intervals.iter().flat_map(|&(first, last)| [(first, false), (last, true)]).collect();
    edges.sort_unstable();
    let (mut now, mut most) = (0usize, 0usize);
    for (_, ends) in edges {
        if ends {
            now -= 1;
        } else {
            now += 1;
            most = most.max(now);
        }
    }
    most
}

/// An error message without the details that differ from user to user.
fn error_kind(error: &str) -> String {
    let kind: String = error.chars().take(160).collect();
    kind.split(|c: char| c.is_ascii_digit()).collect::<Vec<_>>().join("N")
}

/// The highest resident memory seen until told to stop, sampled every 200 ms.
async fn sample_rss(server: Watched, mut stop: watch::Receiver<bool>) -> Option<u64> {
    let mut highest = rss_kib(&server.status);
    let mut every = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = every.tick() => highest = highest.max(rss_kib(&server.status)),
            _ = async { stop.wait_for(|stop| *stop).await.map(|_| ()) } => return highest.max(rss_kib(&server.status)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_in_milliseconds() {
        let values: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&[7000], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn streams_at_once_counts_the_largest_overlap() {
        assert_eq!(most_at_once(&[]), 0);
        assert_eq!(most_at_once(&[(0, 10), (5, 15), (11, 20)]), 2);
        assert_eq!(most_at_once(&[(0, 10), (10, 20)]), 2, "touching intervals overlap");
        assert_eq!(most_at_once(&[(0, 1), (2, 3), (4, 5)]), 1);
    }

    #[test]
    fn error_kinds_ignore_numbers() {
        assert_eq!(error_kind("the model was asked 2 times"), error_kind("the model was asked 3 times"));
    }
}
