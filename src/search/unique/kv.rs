//! `kv` (one key) with unique puts and appends.
//!
//! Precondition: the put strings are distinct and differ from the key's initial
//! string; the appended chunks are distinct and not empty; and every string a get
//! returned reads in at most one way as a *base* (the initial string or a put's)
//! followed by a sequence of chunks. Porcupine's chunks (`"x 3 17 y"`) always read
//! one way; the engine declines a history where some get reads two ways.
//!
//! **Blocks.** Split a legal sequence at its puts: each segment starts with a put
//! (or the initial string) and holds appends and gets, and each get returns the
//! segment's base followed by the chunks appended so far in the segment. So the
//! get's reading names its segment and the exact appends before it, in order. A
//! segment is thus a block — the put, the gets of the bare base, the first append,
//! the gets that end with it, the second append, … — followed by appends no get
//! returns, each of which is a block of its own (a block may not be placed inside
//! another: every position after a block's head is followed by a get of that block,
//! which would return the append). Every concatenation of these blocks with the
//! initial block first is legal: each get sees exactly its reading, and a block of
//! a lone append is followed by a put or by other lone appends. Two gets that put
//! different appends at one place, or one append at two places, make a cut
//! impossible, as does a string no sequence gives.
//!
//! **What is left out.** A pending get changes nothing. A pending put or append
//! that no `:ok` get's reading contains is left out: nothing after it in its
//! segment reads it, so removing it leaves the sequence legal (a put removed makes
//! its segment part of the one before, which no get of that segment can tell, as
//! the segment had none).

use super::{Block, Cut, Decline, Reduce, Shape};
use crate::history::History;
use crate::model::{f_name, NilReads};
use crate::value::Value;
use foldhash::fast::FixedState;
use std::collections::{BTreeSet, HashMap};

/// A base: the initial string (0) or the `n`th put (`n`, from 1).
type Base = u32;

enum Op {
    Put,
    Append,
    /// The reading of the string returned: its base and its appends, in order;
    /// `None`: no sequence gives it.
    Get(Option<(Base, Vec<u32>)>),
    /// A get of nil meaning unknown.
    Skip,
}

pub(super) struct Kv {
    ops: Vec<Op>,
    /// The put of each base (`None` for the initial string).
    puts: Vec<Option<u32>>,
}

/// The tables a returned string is read with.
struct Reader<'a> {
    bases: HashMap<&'a [u8], Base, FixedState>,
    base_lens: BTreeSet<usize>,
    chunks: HashMap<&'a [u8], u32, FixedState>,
    chunk_lens: Vec<usize>,
}

impl Reader<'_> {
    /// The one reading of `s`; `Err` if there are two.
    fn read(&self, s: &[u8]) -> Result<Option<(Base, Vec<u32>)>, ()> {
        let mut found = None;
        for &len in self.base_lens.range(..=s.len()) {
            let Some(&base) = self.bases.get(&s[..len]) else { continue };
            let rest = &s[len..];
            // ways[i]: readings of rest[i..] as chunks (0, 1, or 2 for "several").
            let mut ways = vec![0u8; rest.len() + 1];
            let mut next = vec![0usize; rest.len() + 1];
            ways[rest.len()] = 1;
            for i in (0..rest.len()).rev() {
                for &l in self.chunk_lens.iter().filter(|&&l| i + l <= rest.len()) {
                    if ways[i + l] > 0 && self.chunks.contains_key(&rest[i..i + l]) {
                        ways[i] = (ways[i] + ways[i + l]).min(2);
                        next[i] = l;
                    }
                }
            }
            match (ways[0], &found) {
                (0, _) => {}
                (1, None) => {
                    let (mut i, mut chunks) = (0, Vec::new());
                    while i < rest.len() {
                        chunks.push(self.chunks[&rest[i..i + next[i]]]);
                        i += next[i];
                    }
                    found = Some((base, chunks));
                }
                _ => return Err(()),
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
        let f = |i: usize| f_name(&history.operations[i].f);
        let line = |i: usize| history.ops[history.operations[i].invoke].line;
        let mut reader = Reader {
            bases: HashMap::default(),
            base_lens: BTreeSet::new(),
            chunks: HashMap::default(),
            chunk_lens: Vec::new(),
        };
        let mut puts = vec![None];
        let init = init.and_then(text).unwrap_or(b"");
        reader.bases.insert(init, 0);
        reader.base_lens.insert(init.len());
        for (i, &v) in values.iter().enumerate() {
            let s = match (f(i), text(v)) {
                (Some("put" | "append"), Some(s)) => s,
                (Some("get"), _) => continue,
                _ => return Err(Decline::new("an operation the kv engine does not know", Some(i))),
            };
            let twice = |earlier: String| {
                let m = format!(
                    "the value {} is written twice: {earlier} and again at line {}",
                    v.to_edn_short(60),
                    line(i)
                );
                Decline::new(m, Some(i))
            };
            if f(i) == Some("put") {
                let base = puts.len() as Base;
                if let Some(earlier) = reader.bases.insert(s, base) {
                    return Err(twice(match puts[earlier as usize] {
                        Some(p) => format!("by the put at line {}", line(p as usize)),
                        None => "as the initial string".into(),
                    }));
                }
                reader.base_lens.insert(s.len());
                puts.push(Some(i as u32));
            } else if s.is_empty() {
                return Err(Decline::new("an append of the empty string can't be told apart", Some(i)));
            } else if let Some(earlier) = reader.chunks.insert(s, i as u32) {
                return Err(twice(format!("by the append at line {}", line(earlier as usize))));
            }
        }
        reader.chunk_lens =
            reader.chunks.keys().map(|c| c.len()).collect::<BTreeSet<_>>().into_iter().collect();
        let mut ops = Vec::with_capacity(values.len());
        for (i, &v) in values.iter().enumerate() {
            ops.push(match f(i) {
                Some("put") => Op::Put,
                Some("append") => Op::Append,
                _ if nil_reads.is_unknown(v) => Op::Skip,
                _ => Op::Get(reader.read(text(v).unwrap_or(b"")).map_err(|()| {
                    Decline::new(
                        format!("the get at line {} can be read as two sequences of appends", line(i)),
                        Some(i),
                    )
                })?),
            });
        }
        Ok(Kv { ops, puts })
    }
}

/// One base's segment as the gets of a cut read it.
#[derive(Default)]
struct Segment {
    appends: Vec<Option<u32>>,
    /// `gets[k]`: the gets that read `k` appends.
    gets: Vec<Vec<u32>>,
}

impl Reduce for Kv {
    fn reduce(&self, cut: Cut) -> Option<Shape> {
        let n = self.ops.len();
        let mut segments: Vec<Segment> = (0..self.puts.len()).map(|_| Segment::default()).collect();
        let mut place: Vec<Option<(Base, usize)>> = vec![None; n];
        let mut read_base = vec![false; self.puts.len()];
        for get in (0..n).filter(|&o| cut.ok(o)) {
            let Op::Get(reading) = &self.ops[get] else { continue };
            let (base, appends) = reading.as_ref()?;
            let segment = &mut segments[*base as usize];
            if self.puts[*base as usize].is_some_and(|p| !cut.invoked(p as usize)) {
                return None;
            }
            read_base[*base as usize] = true;
            for (k, &a) in appends.iter().enumerate() {
                if !cut.invoked(a as usize) || *place[a as usize].get_or_insert((*base, k)) != (*base, k) {
                    return None;
                }
                if segment.appends.len() <= k {
                    segment.appends.resize(k + 1, None);
                }
                if *segment.appends[k].get_or_insert(a) != a {
                    return None;
                }
            }
            if segment.gets.len() <= appends.len() {
                segment.gets.resize_with(appends.len() + 1, Vec::new);
            }
            segment.gets[appends.len()].push(get as u32);
        }
        let mut blocks = Vec::new();
        for (base, segment) in segments.into_iter().enumerate() {
            let mut block = match self.puts[base] {
                None => Block { initial: true, groups: Vec::new() },
                Some(p) if cut.ok(p as usize) || read_base[base] => Block::headed(p),
                Some(_) => continue,
            };
            let mut gets = segment.gets.into_iter();
            block.push(gets.next().unwrap_or_default());
            for (append, gets) in
                segment.appends.into_iter().zip(gets.chain(std::iter::repeat_with(Vec::new)))
            {
                block.push(vec![append.expect("a get reads every append before its last")]);
                block.push(gets);
            }
            blocks.push(block);
        }
        let lone = (0..n).filter(|&o| matches!(self.ops[o], Op::Append) && cut.ok(o) && place[o].is_none());
        blocks.extend(lone.map(|o| Block::headed(o as u32)));
        Some(Shape::Blocks(blocks))
    }
}
