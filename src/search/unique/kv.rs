//! `kv` (one key) with puts and appends whose values are unique, or nearly.
//!
//! Precondition: no chunk appended is empty, and every string a get returned reads
//! in at most [`READINGS`] ways as a *base* (the initial string or a put's)
//! followed by a sequence of appended chunks. Porcupine's chunks (`"x 3 17 y"`)
//! split a string one way; a put of a chunk's text adds a second reading.
//!
//! **Readings.** Split a legal sequence at its puts: each *segment* starts with a
//! put (or the initial string) and holds appends and gets, and each get returns the
//! segment's base followed by the chunks appended so far in the segment. So in a
//! legal sequence every get has an *op reading*: its segment's put (or the initial
//! state) and the exact appends before it in the segment, in order, whose values
//! spell the string it returned, each invoked before the cut. Where every value
//! is written once and the string splits one way, it names its op reading. Where a
//! value is written twice (Porcupine's `c50` kv tests append a few chunks twice),
//! or a put's string is also a chunk, a string may have several, and the engine
//! tries them: see *Branching*.
//!
//! **Blocks, given op readings.** Fix an op reading for every `:ok` get of a cut,
//! each append in at most one place (its segment and position) and each place
//! holding at most one append. A segment read by a get is then a block — the put,
//! the gets of the bare base, the first append, the gets that end with it, the
//! second append, … — and an `:ok` put no get reads, and an `:ok` append no reading
//! holds, are each a block of their own. In a legal sequence that gives the gets
//! these readings, the kept operations are a concatenation of these blocks (a block
//! may not be placed inside another: every position after a read segment's head is
//! followed by a get of that segment, which would return what was placed there).
//! Every concatenation with the initial block first is legal: each get sees exactly
//! its reading, and a block of a lone put or append is followed by a put or by
//! other lone ones.
//!
//! **What is left out.** A pending get changes nothing. A pending put or append
//! that no reading holds is left out: nothing after it in its segment reads it, so
//! removing it leaves the sequence legal (a put removed makes its segment part of
//! the one before, which no get of that segment can tell, as the segment had none).
//!
//! **Branching.** A cut has a linearization iff some choice of op readings, one per
//! `:ok` get and consistent as above, has an order of its blocks (the parent
//! module's `order`). If: that order is a legal sequence of the kept operations
//! (every `:ok` one among them) in real-time order. Only if: a linearization, with
//! the pending operations no reading holds removed (still legal, still in
//! real-time order), gives every get its op reading, and is a concatenation of
//! those readings' blocks in an order `order` finds, as that order is complete.
//! The engine enumerates the consistent choices depth first, get by get, longest
//! string first: a place already filled by an earlier get's reading is forced, an
//! append already placed elsewhere is not a candidate, and a choice is made only
//! where two candidates remain, so a value written once costs no branching, and a
//! history of unique values whose strings each split one way has one choice.
//!
//! **Real time prunes.** A choice is tried only if real time allows it, by three
//! facts of every legal sequence that gives the gets their readings: what goes
//! before a get in its segment (the put heading it, each append it reads) is invoked
//! before the get returns; no `:ok` put comes between such an operation and the get,
//! so none is invoked after the operation returned and returns before the get is
//! invoked (it would start a segment in between); and each append comes after what
//! precedes it in its segment, so it returns after that was invoked. A choice that
//! breaks one has no legal sequence, so leaving it out loses none; the order of the
//! blocks still checks real time in full. Many clients writing a few values over and
//! over (a value written hundreds of times) give each string hundreds of candidate
//! readings, of which real time keeps the few around the get. The enumeration gives up (the engine
//! declines, the search runs) past [`BRANCHES`] alternatives tried or a depth of
//! [`DEPTH`] choices; nothing else is pruned, so within those caps every
//! consistent choice is tried.

use super::{order, Block, Cut, Decline, Reduce, Shape};
use crate::history::History;
use crate::model::NilReads;
use crate::value::Value;
use foldhash::fast::FixedState;
use std::collections::{BTreeSet, HashMap};

/// The most readings a get's string may have.
const READINGS: usize = 64;
/// The most alternatives (choices of a candidate where several remain) a cut may
/// try before the engine gives up.
const BRANCHES: usize = 4096;
/// The most nested choices: each is a frame on the stack.
const DEPTH: usize = 256;

/// A reading of a returned string, by values: a base value and chunk values.
struct Reading {
    base: u32,
    chunks: Vec<u32>,
}

enum Op {
    /// A put of a base value.
    Put(u32),
    /// An append of a chunk value.
    Append(u32),
    /// The string's readings by values; none: no sequence gives it.
    Get(Vec<Reading>),
    /// A get of nil meaning unknown.
    Skip,
}

pub(super) struct Kv {
    ops: Vec<Op>,
    /// The put heading each segment: segment 0 is the initial string's.
    puts: Vec<Option<u32>>,
    /// For each base value, the segments starting with it.
    bases: Vec<Vec<u32>>,
    /// For each chunk value, the appends writing it.
    chunks: Vec<Vec<u32>>,
    /// Each base value's string, and each chunk value's.
    base_texts: Vec<Box<[u8]>>,
    chunk_texts: Vec<Box<[u8]>>,
}

/// The tables a returned string is read with.
struct Reader<'a> {
    bases: HashMap<&'a [u8], u32, FixedState>,
    base_lens: BTreeSet<usize>,
    chunks: HashMap<&'a [u8], u32, FixedState>,
    chunk_lens: Vec<usize>,
}

impl Reader<'_> {
    /// Every reading of `s`; `Err` past [`READINGS`].
    fn read(&self, s: &[u8]) -> Result<Vec<Reading>, ()> {
        let mut found = Vec::new();
        for &len in self.base_lens.range(..=s.len()) {
            let Some(&base) = self.bases.get(&s[..len]) else { continue };
            let rest = &s[len..];
            let chunk = |i: usize, l: usize| self.chunks.get(&rest[i..i + l]).copied();
            // ways[i]: how many ways rest[i..] splits into chunks, at most READINGS + 1.
            let mut ways = vec![0usize; rest.len() + 1];
            ways[rest.len()] = 1;
            for i in (0..rest.len()).rev() {
                for &l in self.chunk_lens.iter().take_while(|&&l| i + l <= rest.len()) {
                    if ways[i + l] > 0 && chunk(i, l).is_some() {
                        ways[i] = (ways[i] + ways[i + l]).min(READINGS + 1);
                    }
                }
            }
            if found.len() + ways[0] > READINGS {
                return Err(());
            }
            // The t-th split, for each t: at each position, the first length whose
            // splits of the rest number more than what remains of t.
            for mut t in 0..ways[0] {
                let (mut i, mut chunks) = (0, Vec::new());
                while i < rest.len() {
                    for &l in self.chunk_lens.iter().take_while(|&&l| i + l <= rest.len()) {
                        let Some(c) = chunk(i, l).filter(|_| ways[i + l] > 0) else { continue };
                        if t < ways[i + l] {
                            chunks.push(c);
                            i += l;
                            break;
                        }
                        t -= ways[i + l];
                    }
                }
                found.push(Reading { base, chunks });
            }
        }
        Ok(found)
    }
}

impl Kv {
    pub(super) fn new<'a>(
        history: &'a History,
        values: Vec<&'a Value>,
        init: Option<&'a Value>,
        nil_reads: NilReads,
    ) -> Result<Kv, Decline> {
        let text = |v: &'a Value| match v {
            Value::String(s) => Some(s.as_bytes()),
            _ => None,
        };
        let f = |i: usize| history.operations[i].f.as_name();
        let line = |i: usize| history.ops[history.operations[i].invoke].line;
        let mut reader = Reader {
            bases: HashMap::default(),
            base_lens: BTreeSet::new(),
            chunks: HashMap::default(),
            chunk_lens: Vec::new(),
        };
        let mut kv = Kv {
            ops: Vec::with_capacity(values.len()),
            puts: vec![None],
            bases: Vec::new(),
            chunks: Vec::new(),
            base_texts: Vec::new(),
            chunk_texts: Vec::new(),
        };
        // A value's id in `table`, numbered in `writers` from 0 as first seen.
        fn id<'a>(
            table: &mut HashMap<&'a [u8], u32, FixedState>,
            writers: &mut Vec<Vec<u32>>,
            s: &'a [u8],
        ) -> u32 {
            let next = writers.len() as u32;
            let id = *table.entry(s).or_insert(next);
            if id == next {
                writers.push(Vec::new());
            }
            id
        }
        let init = init.and_then(text).unwrap_or(b"");
        kv.bases.push(vec![0]);
        reader.bases.insert(init, 0);
        for (i, &v) in values.iter().enumerate() {
            kv.ops.push(match (f(i), text(v)) {
                (Some("put"), Some(s)) => {
                    let base = id(&mut reader.bases, &mut kv.bases, s);
                    kv.bases[base as usize].push(kv.puts.len() as u32);
                    kv.puts.push(Some(i as u32));
                    Op::Put(base)
                }
                (Some("append"), Some([])) => {
                    return Err(Decline::new("an append of the empty string can't be told apart", Some(i)))
                }
                (Some("append"), Some(s)) => {
                    let chunk = id(&mut reader.chunks, &mut kv.chunks, s);
                    kv.chunks[chunk as usize].push(i as u32);
                    Op::Append(chunk)
                }
                // Read below, once every chunk is known.
                (Some("get"), _) => Op::Skip,
                _ => return Err(Decline::new("an operation the kv engine does not know", Some(i))),
            });
        }
        reader.base_lens = reader.bases.keys().map(|b| b.len()).collect();
        kv.base_texts = vec![Box::default(); kv.bases.len()];
        reader.bases.iter().for_each(|(&text, &b)| kv.base_texts[b as usize] = text.into());
        kv.chunk_texts = vec![Box::default(); kv.chunks.len()];
        reader.chunks.iter().for_each(|(&text, &c)| kv.chunk_texts[c as usize] = text.into());
        reader.chunk_lens =
            reader.chunks.keys().map(|c| c.len()).collect::<BTreeSet<_>>().into_iter().collect();
        for (i, &v) in values.iter().enumerate() {
            if f(i) == Some("get") && !nil_reads.is_unknown(v) {
                let readings = reader.read(text(v).unwrap_or(b"")).map_err(|()| {
                    let m = format!("the get at line {} can be read in more than {READINGS} ways", line(i));
                    Decline::new(m, Some(i))
                })?;
                kv.ops[i] = Op::Get(readings);
            }
        }
        Ok(kv)
    }
}

impl Kv {
    /// A linearization without its pending puts of the string already held: a step
    /// that changes nothing, left out, leaves the sequence legal, and a witness's
    /// crashed operations all take effect.
    fn without_idle_puts(&self, cut: Cut, witness: Vec<u32>) -> Vec<u32> {
        let pending_put = |&o: &u32| matches!(self.ops[o as usize], Op::Put(_)) && !cut.ok(o as usize);
        if !witness.iter().any(pending_put) {
            return witness;
        }
        let mut held = self.base_texts[0].to_vec();
        let mut witness = witness;
        witness.retain(|&o| match self.ops[o as usize] {
            Op::Put(b) => {
                let text = &self.base_texts[b as usize];
                let idle = !cut.ok(o as usize) && held[..] == text[..];
                held.clear();
                held.extend_from_slice(text);
                !idle
            }
            Op::Append(c) => {
                held.extend_from_slice(&self.chunk_texts[c as usize]);
                true
            }
            _ => true,
        });
        witness
    }
}

impl Reduce for Kv {
    fn reduce(&self, cut: Cut) -> Option<Shape> {
        let mut gets: Vec<u32> = (0..self.ops.len() as u32)
            .filter(|&o| cut.ok(o as usize) && matches!(self.ops[o as usize], Op::Get(_)))
            .collect();
        let length = |g: u32| match &self.ops[g as usize] {
            Op::Get(readings) => readings.iter().map(|r| r.chunks.len()).max().unwrap_or(0),
            _ => 0,
        };
        gets.sort_by_key(|&g| std::cmp::Reverse(length(g)));
        // The `:ok` puts by invocation, with the earliest return from each on.
        let mut puts: Vec<(i64, i64)> = (1..self.puts.len())
            .filter_map(|s| self.puts[s])
            .filter(|&p| cut.ok(p as usize))
            .map(|p| (cut.inv(p), cut.ret(p)))
            .collect();
        puts.sort_unstable();
        for i in (0..puts.len().saturating_sub(1)).rev() {
            puts[i].1 = puts[i].1.min(puts[i + 1].1);
        }
        let mut search = Search {
            kv: self,
            cut,
            puts,
            placed: vec![Vec::new(); self.puts.len()],
            segment: vec![None; self.ops.len()],
            trail: Vec::new(),
            read: vec![(0, 0); gets.len()],
            gets,
            branches: 0,
            depth: 0,
        };
        match search.explore(0, None) {
            Ok(Some(witness)) => Some(Shape::Linearized(self.without_idle_puts(cut, witness))),
            Ok(None) => None,
            Err(GaveUp) => Some(Shape::Undecided),
        }
    }
}

/// The enumeration passed [`BRANCHES`] or [`DEPTH`].
struct GaveUp;

/// Where a get's reading is being laid: which reading, in which segment, and how
/// many of its chunks are placed.
#[derive(Clone, Copy)]
struct Cursor {
    reading: usize,
    segment: u32,
    k: usize,
}

/// The depth-first enumeration of a cut's op readings (see *Branching*).
struct Search<'k, 'h> {
    kv: &'k Kv,
    cut: Cut<'h>,
    /// The `:ok` puts' invocations, in order, each with the earliest return of the
    /// puts invoked then or later (see *Real time prunes*).
    puts: Vec<(i64, i64)>,
    /// The `:ok` gets, in the order they are read.
    gets: Vec<u32>,
    /// Each segment's appends, by position.
    placed: Vec<Vec<u32>>,
    /// Each append's segment, if it is placed.
    segment: Vec<Option<u32>>,
    /// The segments appends were placed in, latest last, to undo them.
    trail: Vec<u32>,
    /// Each get's segment and how many appends it reads (for `gets[i]`, once read).
    read: Vec<(u32, usize)>,
    branches: usize,
    depth: usize,
}

impl Search<'_, '_> {
    /// Whether `x` (an operation, or the initial string for `None`) may come before
    /// get `g` in its segment, by real time: invoked before `g` returns, and no `:ok`
    /// put between them.
    fn may_precede(&self, x: Option<u32>, g: u32) -> bool {
        let cut = self.cut;
        if x.is_some_and(|x| cut.inv(x) >= cut.ret(g)) {
            return false;
        }
        let returned = x.map_or(i64::MIN, |x| cut.ret(x));
        let from = self.puts.partition_point(|&(inv, _)| inv <= returned);
        self.puts.get(from).is_none_or(|&(_, earliest)| earliest >= cut.inv(g))
    }

    /// Whether append `a` may come after `x` (the operation before it in its
    /// segment, if any), by real time.
    fn may_follow(&self, x: Option<u32>, a: u32) -> bool {
        x.is_none_or(|x| self.cut.inv(x) < self.cut.ret(a))
    }

    /// Lays the readings of `gets[i..]`, `gets[i]`'s from `at` if given; a
    /// witness, `None` if no choice has an order, or `GaveUp`.
    fn explore(&mut self, mut i: usize, mut at: Option<Cursor>) -> Result<Option<Vec<u32>>, GaveUp> {
        loop {
            let Some(Cursor { reading, segment, k }) = at else {
                let Some(&g) = self.gets.get(i) else { return Ok(self.leaf()) };
                let Op::Get(readings) = &self.kv.ops[g as usize] else { unreachable!("a get") };
                let options: Vec<Cursor> = readings
                    .iter()
                    .enumerate()
                    .flat_map(|(r, reading)| {
                        self.kv.bases[reading.base as usize]
                            .iter()
                            .filter(|&&s| {
                                let put = self.kv.puts[s as usize];
                                put.is_none_or(|p| self.cut.invoked(p as usize)) && self.may_precede(put, g)
                            })
                            .map(move |&segment| Cursor { reading: r, segment, k: 0 })
                    })
                    .collect();
                if let [only] = options[..] {
                    at = Some(only);
                    continue;
                }
                for option in options {
                    if let Some(w) = self.alternative(i, option, None)? {
                        return Ok(Some(w));
                    }
                }
                return Ok(None);
            };
            let g = self.gets[i];
            let Op::Get(readings) = &self.kv.ops[g as usize] else { unreachable!("a get") };
            let Some(&chunk) = readings[reading].chunks.get(k) else {
                self.read[i] = (segment, k);
                (i, at) = (i + 1, None);
                continue;
            };
            let next = Cursor { reading, segment, k: k + 1 };
            match self.placed[segment as usize].get(k) {
                Some(&a)
                    if matches!(self.kv.ops[a as usize], Op::Append(c) if c == chunk)
                        && self.may_precede(Some(a), g) =>
                {
                    at = Some(next)
                }
                Some(_) => return Ok(None),
                None => {
                    let before = match k.checked_sub(1) {
                        Some(j) => self.placed[segment as usize].get(j).copied(),
                        None => self.kv.puts[segment as usize],
                    };
                    let candidates: Vec<u32> = self.kv.chunks[chunk as usize]
                        .iter()
                        .copied()
                        .filter(|&a| {
                            self.segment[a as usize].is_none()
                                && self.cut.invoked(a as usize)
                                && self.may_precede(Some(a), g)
                                && self.may_follow(before, a)
                        })
                        .collect();
                    if let [a] = candidates[..] {
                        self.place(segment, a);
                        at = Some(next);
                        continue;
                    }
                    for a in candidates {
                        if let Some(w) = self.alternative(i, next, Some(a))? {
                            return Ok(Some(w));
                        }
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// One alternative where several remain: `append` (if given) placed at the
    /// cursor's previous position, and the rest explored from there; undone after.
    fn alternative(&mut self, i: usize, at: Cursor, append: Option<u32>) -> Result<Option<Vec<u32>>, GaveUp> {
        self.branches += 1;
        if self.branches > BRANCHES || self.depth == DEPTH {
            return Err(GaveUp);
        }
        let mark = self.trail.len();
        if let Some(a) = append {
            self.place(at.segment, a);
        }
        self.depth += 1;
        let found = self.explore(i, Some(at));
        self.depth -= 1;
        self.undo(mark);
        found
    }

    fn place(&mut self, segment: u32, append: u32) {
        self.placed[segment as usize].push(append);
        self.segment[append as usize] = Some(segment);
        self.trail.push(segment);
    }

    fn undo(&mut self, mark: usize) {
        while self.trail.len() > mark {
            let s = self.trail.pop().expect("above the mark") as usize;
            let a = self.placed[s].pop().expect("placed");
            self.segment[a as usize] = None;
        }
    }

    /// The blocks of the readings chosen, in an order if there is one.
    fn leaf(&self) -> Option<Vec<u32>> {
        let (kv, cut) = (self.kv, self.cut);
        let mut gets: Vec<Vec<Vec<u32>>> =
            self.placed.iter().map(|p| vec![Vec::new(); p.len() + 1]).collect();
        for (&g, &(s, k)) in self.gets.iter().zip(&self.read) {
            gets[s as usize][k].push(g);
        }
        let mut blocks = Vec::new();
        for (s, gets) in gets.into_iter().enumerate() {
            let read = gets.iter().any(|g| !g.is_empty());
            let mut block = match kv.puts[s] {
                None => Block { initial: true, groups: Vec::new() },
                Some(p) if cut.ok(p as usize) || read => Block::headed(p),
                Some(_) => continue,
            };
            let mut gets = gets.into_iter();
            block.push(gets.next().unwrap_or_default());
            for (&a, gets) in self.placed[s].iter().zip(gets) {
                block.push(vec![a]);
                block.push(gets);
            }
            blocks.push(block);
        }
        let lone = (0..kv.ops.len())
            .filter(|&o| matches!(kv.ops[o], Op::Append(_)) && cut.ok(o) && self.segment[o].is_none());
        blocks.extend(lone.map(|o| Block::headed(o as u32)));
        order(&blocks, cut)
    }
}
