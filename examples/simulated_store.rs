//! Testing your own system with knossos-rs: a replicated register run under
//! [turmoil](https://docs.rs/turmoil)'s deterministic network simulator, with
//! partitions and client timeouts, every client's operations checked online as
//! they happen.
//!
//! ```sh
//! cargo run --release --example simulated_store
//! ```
//!
//! The store has three replicas: `n1` leads, `n2` and `n3` follow. A write goes to
//! the leader, which applies it, sends its state to the followers and answers once
//! one of them has it; with no follower heard from lately it refuses the write
//! before applying it. Clients talk to a home replica, which hands what it does not
//! serve itself to the leader. Two variants differ only in how a follower serves a
//! read:
//!
//! - unsafe: from its own copy, with no lease (a common "read from the nearest
//!   replica" optimization). A follower cut off from the leader goes on answering
//!   with what it last heard.
//! - safe: through the leader. A follower cut off from the leader cannot answer, and
//!   its clients time out instead.
//!
//! The harness records what each client saw, as Jepsen does: an invocation when a
//! request is sent; `:ok` with its reply; `:fail` when the leader refused (the write
//! certainly did not happen); `:info` on a timeout (it may have happened, or may
//! yet), after which the client goes on as a new process, since the old one's
//! operation stays open forever. The simulation is stepped from `main`, which feeds
//! the events to the online checker between steps, so that the unsafe variant's run
//! stops at the very op that breaks linearizability, and says why.
//!
//! Everything is seeded ([`SEED`]): each run is the same run, and the example
//! asserts what it shows (the unsafe variant caught with a stale read, the safe one
//! linearizable through partitions, refusals and timeouts), so CI fails if it stops
//! doing so.
//!
//! To test a system of your own the same way: run its nodes as turmoil hosts
//! (`turmoil::net` in place of `tokio::net`); give each client a process number and
//! have it send an [`Event`] when it invokes and when it learns the outcome,
//! classifying the outcome honestly (`:fail` only when the operation certainly did
//! not happen); pick the model the system promises to implement; and keep the
//! [`Checker`] below as it is.

use knossos_rs::explain::{self, Anomaly};
use knossos_rs::model::DynModel;
use knossos_rs::online::Verdict;
use knossos_rs::render::{self, OutputFormat};
use knossos_rs::{check, model, HistoryBuilder, Online, Options, Validity, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;
use tokio::time::{interval, sleep, sleep_until, timeout, Instant};
use turmoil::net::UdpSocket;

/// The simulation's seed: turmoil's network latencies and the clients' choices.
const SEED: u64 = 3;
/// Every host listens on this port.
const PORT: u16 = 9000;
/// The replicas; the first leads (the store has no elections).
const REPLICAS: [&str; 3] = ["n1", "n2", "n3"];
const LEADER: &str = REPLICAS[0];
const CLIENTS: usize = 5;
/// How long the clients run, in simulated time (the nemesis's faults end before).
const RUN_FOR: Duration = Duration::from_millis(2700);
/// How long a client waits for a reply before it gives up (`:info`).
const TIMEOUT: Duration = Duration::from_millis(100);
/// How often the leader sends its state to the followers unasked.
const HEARTBEAT: Duration = Duration::from_millis(10);
/// The leader refuses writes when no follower has answered for this long.
const OUT_OF_TOUCH: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------
// The system under test: replicas exchanging datagrams.
// ---------------------------------------------------------------------------

/// How a follower serves a read: the variant under test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reads {
    /// From its own copy (unsafe).
    FromFollower,
    /// Handed to the leader (safe).
    ThroughLeader,
}

/// A client's request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Read,
    Write(i64),
}

/// A replica's answer to a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reply {
    /// The value read (`None`: nothing written yet).
    Read(Option<i64>),
    /// The write is on the leader and a follower.
    Written,
    /// The leader refused the write, and did not apply it.
    Refused,
}

/// What travels between hosts, as text datagrams.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Msg {
    /// A client's request. It says where the reply goes, so that a follower can hand
    /// it to the leader as it is and the leader answer the client directly.
    Request {
        client: SocketAddr,
        id: u64,
        op: Op,
    },
    Reply {
        id: u64,
        reply: Reply,
    },
    /// The leader's state as of its `seq`-th write: sent with each write, and as a
    /// heartbeat (which also brings a follower back up to date after a partition).
    Replicate {
        seq: u64,
        value: Option<i64>,
    },
    /// A follower holds the leader's state as of its `seq`-th write.
    Ack {
        seq: u64,
    },
}

impl Msg {
    fn encode(&self) -> Vec<u8> {
        let value = |v: &Option<i64>| v.map_or("nil".to_string(), |v| v.to_string());
        match self {
            Msg::Request { client, id, op: Op::Read } => format!("request {client} {id} read"),
            Msg::Request { client, id, op: Op::Write(v) } => format!("request {client} {id} write {v}"),
            Msg::Reply { id, reply: Reply::Read(v) } => format!("reply {id} read {}", value(v)),
            Msg::Reply { id, reply: Reply::Written } => format!("reply {id} written"),
            Msg::Reply { id, reply: Reply::Refused } => format!("reply {id} refused"),
            Msg::Replicate { seq, value: v } => format!("replicate {seq} {}", value(v)),
            Msg::Ack { seq } => format!("ack {seq}"),
        }
        .into_bytes()
    }

    /// The message, or `None` for bytes that are not one (ignored, as a real server
    /// would drop garbage).
    fn decode(bytes: &[u8]) -> Option<Msg> {
        let text = std::str::from_utf8(bytes).ok()?;
        let words: Vec<&str> = text.split_whitespace().collect();
        let value = |w: &str| if w == "nil" { Some(None) } else { w.parse().ok().map(Some) };
        Some(match words[..] {
            ["request", client, id, "read"] => {
                Msg::Request { client: client.parse().ok()?, id: id.parse().ok()?, op: Op::Read }
            }
            ["request", client, id, "write", v] => Msg::Request {
                client: client.parse().ok()?,
                id: id.parse().ok()?,
                op: Op::Write(v.parse().ok()?),
            },
            ["reply", id, "read", v] => Msg::Reply { id: id.parse().ok()?, reply: Reply::Read(value(v)?) },
            ["reply", id, "written"] => Msg::Reply { id: id.parse().ok()?, reply: Reply::Written },
            ["reply", id, "refused"] => Msg::Reply { id: id.parse().ok()?, reply: Reply::Refused },
            ["replicate", seq, v] => Msg::Replicate { seq: seq.parse().ok()?, value: value(v)? },
            ["ack", seq] => Msg::Ack { seq: seq.parse().ok()? },
            _ => return None,
        })
    }
}

async fn send(socket: &UdpSocket, msg: Msg, to: impl turmoil::ToSocketAddrs) -> std::io::Result<()> {
    socket.send_to(&msg.encode(), to).await.map(drop)
}

/// A replica's software: the leader's or a follower's.
async fn replica(name: &'static str, reads: Reads) -> turmoil::Result {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT)).await?;
    if name == LEADER {
        leader(socket).await
    } else {
        follower(socket, reads).await
    }
}

/// The leader: its copy is the register (the leader never changes, so reading it
/// is linearizable; a store with elections would need a lease or a quorum here).
async fn leader(socket: UdpSocket) -> turmoil::Result {
    let (mut seq, mut value) = (0, None);
    // Writes applied but on no follower yet: whom to answer once one acks.
    let mut unacked: BTreeMap<u64, (SocketAddr, u64)> = BTreeMap::new();
    let mut last_ack = Instant::now();
    let mut heartbeat = interval(HEARTBEAT);
    let mut buf = [0; 256];
    loop {
        let received = tokio::select! {
            // In order: tokio picks a ready branch at random otherwise, which no
            // seed fixes, and the run would not be the same run every time.
            biased;
            _ = heartbeat.tick() => None,
            received = socket.recv_from(&mut buf) => Some(received?),
        };
        let Some((len, _)) = received else {
            for follower in &REPLICAS[1..] {
                send(&socket, Msg::Replicate { seq, value }, (*follower, PORT)).await?;
            }
            continue;
        };
        match Msg::decode(&buf[..len]) {
            Some(Msg::Request { client, id, op: Op::Read }) => {
                send(&socket, Msg::Reply { id, reply: Reply::Read(value) }, client).await?
            }
            // Cut off from the followers, the write could not be made durable: refused
            // before it is applied, so that the client knows it did not happen.
            Some(Msg::Request { client, id, op: Op::Write(_) }) if last_ack.elapsed() > OUT_OF_TOUCH => {
                send(&socket, Msg::Reply { id, reply: Reply::Refused }, client).await?
            }
            Some(Msg::Request { client, id, op: Op::Write(v) }) => {
                (seq, value) = (seq + 1, Some(v));
                unacked.insert(seq, (client, id));
                for follower in &REPLICAS[1..] {
                    send(&socket, Msg::Replicate { seq, value }, (*follower, PORT)).await?;
                }
            }
            Some(Msg::Ack { seq: acked }) => {
                last_ack = Instant::now();
                let later = unacked.split_off(&(acked + 1));
                for (client, id) in std::mem::replace(&mut unacked, later).into_values() {
                    send(&socket, Msg::Reply { id, reply: Reply::Written }, client).await?;
                }
            }
            _ => {}
        }
    }
}

/// A follower: keeps the leader's latest state, and serves reads from it when the
/// variant says so.
async fn follower(socket: UdpSocket, reads: Reads) -> turmoil::Result {
    let (mut applied, mut value) = (0, None);
    let mut buf = [0; 256];
    loop {
        let (len, from) = socket.recv_from(&mut buf).await?;
        match Msg::decode(&buf[..len]) {
            // Datagrams may arrive out of order: an older state is not applied.
            Some(Msg::Replicate { seq, value: v }) => {
                if seq > applied {
                    (applied, value) = (seq, v);
                }
                send(&socket, Msg::Ack { seq: applied }, from).await?;
            }
            Some(Msg::Request { client, id, op: Op::Read }) if reads == Reads::FromFollower => {
                send(&socket, Msg::Reply { id, reply: Reply::Read(value) }, client).await?
            }
            // The rest is the leader's: handed on as it is; the leader answers the
            // client itself.
            Some(Msg::Request { .. }) => drop(socket.send_to(&buf[..len], (LEADER, PORT)).await?),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// The harness: clients that record what they saw, and a nemesis.
// ---------------------------------------------------------------------------

/// What happened, sent from the simulation to the checker in the order it happened.
#[derive(Clone, Debug)]
enum Event {
    /// `process` sent `op`.
    Invoke { process: u64, op: Op },
    /// `process`'s `op` got `reply`, or timed out (`None`).
    Complete { process: u64, op: Op, reply: Option<Reply> },
    /// The nemesis started (`start`) or stopped a partition between two groups of
    /// hosts.
    Nemesis { start: bool, between: [&'static [&'static str]; 2] },
}

fn client_name(index: usize) -> String {
    format!("c{index}")
}

/// The replica client `index` talks to.
fn home(index: usize) -> &'static str {
    REPLICAS[index % REPLICAS.len()]
}

/// Client `index`: reads and writes (of values no other write writes) through its
/// home replica, one at a time, recording each.
async fn client(index: usize, log: Sender<Event>) -> turmoil::Result {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT)).await?;
    let me = SocketAddr::new(turmoil::lookup(client_name(index)), PORT);
    let home = home(index);
    let mut rng = StdRng::seed_from_u64(SEED + index as u64);
    let mut process = index as u64;
    let start = Instant::now();
    for id in 0.. {
        if start.elapsed() >= RUN_FOR {
            break;
        }
        let op = if rng.random_bool(0.5) {
            Op::Read
        } else {
            Op::Write((id * CLIENTS as u64 + index as u64) as i64)
        };
        log.send(Event::Invoke { process, op })?;
        send(&socket, Msg::Request { client: me, id, op }, (home, PORT)).await?;
        let reply = match timeout(TIMEOUT, reply_to(&socket, id)).await {
            Ok(reply) => Some(reply?),
            Err(_elapsed) => None,
        };
        log.send(Event::Complete { process, op, reply })?;
        if reply.is_none() {
            // The timed-out operation stays open forever: the client goes on as a new
            // process, as Jepsen's do (Knossos rejects a crashed process invoking
            // again; knossos-rs takes it, but the history then reads alike in both).
            process += CLIENTS as u64;
        }
        sleep(Duration::from_millis(rng.random_range(0..20))).await;
    }
    Ok(())
}

/// The reply to request `id`: a late reply to an earlier request that timed out is
/// not it.
async fn reply_to(socket: &UdpSocket, id: u64) -> std::io::Result<Reply> {
    let mut buf = [0; 256];
    loop {
        let (len, _) = socket.recv_from(&mut buf).await?;
        if let Some(Msg::Reply { id: replied, reply }) = Msg::decode(&buf[..len]) {
            if replied == id {
                return Ok(reply);
            }
        }
    }
}

/// The nemesis's schedule: (when, start or stop, between which hosts).
const FAULTS: [(Duration, bool, [&[&str]; 2]); 6] = [
    // A follower loses the leader but not its clients: the unsafe variant's stale
    // reads; in the safe variant, n3's clients time out.
    (Duration::from_millis(300), true, [&["n3"], &["n1"]]),
    (Duration::from_millis(800), false, [&["n3"], &["n1"]]),
    // The leader loses both followers: once out of touch, it refuses writes.
    (Duration::from_millis(1100), true, [&["n1"], &["n2", "n3"]]),
    (Duration::from_millis(1600), false, [&["n1"], &["n2", "n3"]]),
    // A client loses its home replica: its requests time out.
    (Duration::from_millis(1900), true, [&["c4"], &["n2"]]),
    (Duration::from_millis(2400), false, [&["c4"], &["n2"]]),
];

async fn nemesis(log: Sender<Event>) -> turmoil::Result {
    let start = Instant::now();
    for (at, begin, between) in FAULTS {
        sleep_until(start + at).await;
        for a in between[0] {
            for b in between[1] {
                if begin {
                    turmoil::partition(*a, *b);
                } else {
                    turmoil::repair(*a, *b);
                }
            }
        }
        log.send(Event::Nemesis { start: begin, between })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The checker: every knossos-rs call of the example.
// ---------------------------------------------------------------------------

/// Each event becomes the op map Jepsen would log, fed to the online checker (a
/// verdict after each completion) and kept to explain a violation.
struct Checker<'m> {
    model: &'m DynModel,
    online: Online<&'m DynModel>,
    ops: HistoryBuilder,
}

impl<'m> Checker<'m> {
    fn new(model: &'m DynModel) -> Self {
        Checker { model, online: Online::new(model), ops: HistoryBuilder::new() }
    }

    /// Records `event`, which happened `at` in simulated time (the op's `:time`):
    /// the `:index` of the op that makes the history so far not linearizable, if
    /// one does.
    fn record(&mut self, event: &Event, at: Duration) -> Result<Option<u64>, Box<dyn Error>> {
        let (process, kind, f, value): (Value, _, _, Value) = match *event {
            Event::Invoke { process, op } => (process.into(), "invoke", op.name(), op.argument()),
            Event::Complete { process, op, reply } => {
                let (kind, value) = match reply {
                    Some(Reply::Read(read)) => ("ok", read.into()),
                    Some(Reply::Written) => ("ok", op.argument()),
                    Some(Reply::Refused) => ("fail", op.argument()),
                    None => ("info", op.argument()),
                };
                (process.into(), kind, op.name(), value)
            }
            Event::Nemesis { start, between } => {
                let hosts = |g: &[&str]| Value::Vector(g.iter().map(|h| Value::string(h)).collect());
                let f = if start { "start-partition" } else { "stop-partition" };
                (
                    Value::keyword("nemesis"),
                    "info",
                    f,
                    Value::Vector(vec![hosts(between[0]), hosts(between[1])]),
                )
            }
        };
        let map = Value::kw_map([
            ("process", process),
            ("type", Value::keyword(kind)),
            ("f", Value::keyword(f)),
            ("value", value),
            ("time", Value::from(at.as_nanos())),
        ]);
        let verdict = self.online.op(&map)?;
        self.ops.op(map);
        match verdict {
            Verdict::Valid => Ok(None),
            Verdict::Invalid { op } => Ok(Some(op)),
            Verdict::Unknown { cause } => Err(format!("no verdict: {cause:?}").into()),
            other => Err(format!("a verdict this example does not know: {other:?}").into()),
        }
    }

    /// How many ops were recorded.
    fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether a batch check of the whole history agrees that it is linearizable.
    fn batch_valid(&self) -> bool {
        self.online.analysis().is_some_and(|a| a.valid == Validity::Valid)
    }

    /// Why the history is not linearizable: the batch analysis of the ops recorded
    /// (its failing op, which is the online verdict's), the anomaly named, and both
    /// as the command line's text summary.
    fn explain(self) -> Result<(u64, Anomaly, String), Box<dyn Error>> {
        let history = self.ops.build(self.model)?;
        let options = Options::default();
        let analysis = check(self.model, &history, &options);
        let failing = analysis.op.as_ref().ok_or("a linearizable history")?.index;
        let explanation =
            explain::explain(self.model, &history, &analysis, &options).ok_or("a linearizable history")?;
        let text = render::render(&analysis, Some(&explanation), Some(&history), None, OutputFormat::Text);
        Ok((failing, explanation.anomaly, text))
    }
}

impl Op {
    /// Its `:f`.
    fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write(_) => "write",
        }
    }

    /// Its `:value` as invoked: nil for a read.
    fn argument(self) -> Value {
        match self {
            Op::Read => Value::Nil,
            Op::Write(v) => v.into(),
        }
    }
}

// ---------------------------------------------------------------------------
// Running it.
// ---------------------------------------------------------------------------

/// A run's end: its checker, the op that broke linearizability (its `:index` and
/// the event it was) if one did, and how its operations completed.
struct Run<'m> {
    checker: Checker<'m>,
    violation: Option<(u64, Event)>,
    completions: Completions,
}

/// How many operations completed `:ok`, `:fail` (refused), `:info` (timed out).
#[derive(Default)]
struct Completions {
    ok: usize,
    fail: usize,
    info: usize,
}

/// Runs the store with `reads` under the nemesis, checking each event as it comes,
/// until the clients are done or the history is not linearizable.
fn simulate(reads: Reads, model: &DynModel) -> Result<Run<'_>, Box<dyn Error>> {
    let mut sim = turmoil::Builder::new()
        .rng_seed(SEED)
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(10))
        .simulation_duration(Duration::from_secs(60))
        .build();
    for name in REPLICAS {
        sim.host(name, move || replica(name, reads));
    }
    let (log, events): (Sender<Event>, Receiver<Event>) = mpsc::channel();
    for index in 0..CLIENTS {
        sim.client(client_name(index), client(index, log.clone()));
    }
    sim.client("nemesis", nemesis(log));

    let mut run = Run { checker: Checker::new(model), violation: None, completions: Completions::default() };
    loop {
        // The hosts run for a tick of simulated time; then the checker takes what
        // they did.
        let done = sim.step()?;
        let now = sim.elapsed();
        for event in events.try_iter() {
            let violation = run.checker.record(&event, now)?;
            match event {
                Event::Complete { reply, .. } => {
                    let count = match reply {
                        Some(Reply::Read(_) | Reply::Written) => &mut run.completions.ok,
                        Some(Reply::Refused) => &mut run.completions.fail,
                        None => &mut run.completions.info,
                    };
                    *count += 1;
                }
                Event::Nemesis { start, between: [a, b] } => {
                    let what = if start { "partition" } else { "heal" };
                    println!(
                        "  {:6.3}s  nemesis: {what} {} | {}",
                        now.as_secs_f64(),
                        a.join(" "),
                        b.join(" ")
                    );
                }
                Event::Invoke { .. } => {}
            }
            if let Some(op) = violation {
                println!(
                    "  {:6.3}s  checker: NOT linearizable at op {op}: the run stops here",
                    now.as_secs_f64()
                );
                run.violation = Some((op, event));
                return Ok(run);
            }
        }
        if done {
            return Ok(run);
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let model = model::builtin("register", &Default::default())?;
    let homes: Vec<String> = (0..CLIENTS).map(|c| format!("{}→{}", client_name(c), home(c))).collect();
    println!(
        "{} replicas ({LEADER} leads); {CLIENTS} clients, each through its home replica: {} \
         (process p is client p mod {CLIENTS}); seed {SEED}\n",
        REPLICAS.len(),
        homes.join(" "),
    );

    println!("== unsafe: followers serve reads from their own copy ==");
    let run = simulate(Reads::FromFollower, &model)?;
    let (op, event) = run.violation.ok_or("the unsafe store's stale reads went unnoticed")?;
    let (failing, anomaly, text) = run.checker.explain()?;
    print!("{text}");
    assert_eq!(failing, op, "the batch check names the op the online checker did");
    assert_eq!(anomaly, Anomaly::StaleRead);
    // The leader's copy is the register: only a follower can have served it.
    let Event::Complete { process, op: Op::Read, .. } = event else {
        return Err(format!("op {op} is not a read: {event:?}").into());
    };
    let replica = home(process as usize % CLIENTS);
    println!("  Process {process} reads through {replica}, a follower.\n");
    assert_ne!(replica, LEADER);

    println!("== safe: followers hand reads to the leader ==");
    let run = simulate(Reads::ThroughLeader, &model)?;
    let Completions { ok, fail, info } = run.completions;
    assert!(run.violation.is_none(), "the safe store is linearizable");
    println!(
        "  checker: linearizable at each of {} completions, and as a whole ({} ops: {ok} :ok, \
         {fail} :fail (refused), {info} :info (timed out))",
        ok + fail + info,
        run.checker.len()
    );
    assert!(run.checker.batch_valid(), "the batch check agrees");
    // What makes a history hard to check was there: refused and timed-out operations.
    assert!(fail > 0 && info > 0, "the nemesis caused refusals and timeouts");
    Ok(())
}
