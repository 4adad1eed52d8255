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
//! module's `arrange`). If: that order is a legal sequence of the kept operations
//! (every `:ok` one among them) in real-time order. Only if: a linearization, with
//! the pending operations no reading holds removed (still legal, still in
//! real-time order), gives every get its op reading, and is a concatenation of
//! those readings' blocks in an order `arrange` finds, as that order is complete.
//! The engine enumerates the consistent choices depth first, get by get in order
//! of return, one decision a *level*: a get's level chooses its segment and which
//! of its string's readings by values it is; each place of the segment that the
//! reading covers and no earlier get's did is *opened*, and is a level of its own
//! just after, choosing the append that fills it. A place already filled is
//! forced (its append must have the reading's value), and an append placed
//! elsewhere is not a candidate, so a value written once costs no branching, and a
//! history of unique values whose strings each split one way has one choice per
//! level. Deciding each place apart, rather than a get's whole op reading at once,
//! is what lets a failure name the one place it depends on (below).
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
//! readings, of which real time keeps the few around the get.
//!
//! **Checked on the way.** Where a choice is still open at some level, each get,
//! once its places are all filled, is followed by a check of what is fixed so far,
//! and a failure there ends the branch. The check orders the blocks of the
//! segments read by the gets so far (with every append they read), every other
//! `:ok` put on its own, and the `:ok` appends in no such segment on their own —
//! but of those, only the ones no later get may read: every later get that returns
//! after the append is invoked starts after an `:ok` put that follows it (as above:
//! the earliest return among the puts invoked after it returned comes before the
//! earliest such invocation). Exact, because what is checked only grows: a later
//! get adds gets to a block's groups or new groups after them (a group's condition
//! and a block's `s` and `f` only tighten), adds blocks, or makes a put's block its
//! segment's (a put heads its own block whatever reads it), and never places an
//! append checked on its own (no later get may read it), so a failure, an
//! unordered group or a cycle among blocks, stays one in every completion. An
//! append is not checked on its own before that: placed in a segment later, it
//! would join that segment's block, and a cycle through both may vanish.
//!
//! **Backjumping.** A failure names the levels it depends on. A get's reading ruled
//! out before any check names the level that filled the first place it reads that
//! does not fit (another value, or an append real time rules out); a place's append
//! ruled out, the level that placed it elsewhere, or the level that filled the
//! place before where real time rules it out after that one; and an empty place
//! names the level reading its get, which opened it. A check that fails says why:
//! a *clash* of at most four operations (the parent module's `arrange`), two in
//! each of two blocks, each invoked after the other block's returned, so that each
//! block must come before the other; or two in one block, the later in the block
//! returned before the earlier was invoked. Where an operation is in its block is
//! a fact of one level: a get's by its reading (its segment, and how many appends
//! it reads), an append's by its place, and a put heads its segment's block
//! whoever reads it (a pending put is in a block only with a get or append of its
//! segment, which the clash then names too). So in every completion of those
//! levels' choices the same operations are in the same blocks in the same order,
//! and clash the same way: the failure names those levels. An append on its own
//! clashes with a block whose two operations in the clash it must come between
//! (it returned before one was invoked and was invoked after the other returned;
//! the initial block's virtual head is the first where that block is the initial
//! one). So in every completion it is in no other block (blocks are contiguous),
//! and in that block only at one of its places between those two operations: the
//! failure names the levels that filled those places with other appends, and with
//! them every completion leaves it on its own, or out of order. Before clashes, a
//! failure was analysed by bisection over the gets checked, about 19 checks of the
//! whole cut for each failure and a hundred where an append on its own was
//! involved (on fifty clients, 70 to 99 % of a pass's work), and such an append
//! named the readings of every get that might read it, twenty levels and more,
//! which the search went back through one get at a time. When every choice of a
//! level has failed, the search goes back to the latest level in the union of its
//! failures' sets, not to the one before, and that level inherits the rest of the set
//! (conflict-directed backjumping, Prosser's); a check failure that does not name
//! the level just decided fails each of its choices alike, and alone explains the
//! level's failure: the search goes back at once to the latest level it names,
//! whatever the level's other choices named before (on fifty clients, one such
//! failure recurred hundreds of times, each time after going back only to a level
//! an earlier choice had named).
//! Exact: the levels jumped over neither gave nor took any of the choices, and
//! with theirs left out each choice still fails, so no choice of theirs makes one
//! pass; the level jumped to must change. Many clients appending a few values make
//! places compete for appends: a get late in time finds every append it may read
//! taken by earlier places, and the failure names those places alone, where a
//! level per get named whole readings, each of which was tried again with every
//! combination of its appends.
//!
//! **Nogoods.** Going back past a level forgets the failures that named it, and
//! going forward again the search may make the same choices in another branch and
//! fail the same way: on fifty clients, two failed checks in three to six in seven
//! were such repeats. So each set of levels a failure names is kept, as a *nogood*
//! of its levels' choices said as *facts*, which name what was chosen and not the
//! level: a get reads a segment as one of its string's readings by values, or a
//! place (a segment and a position) holds an append. Every set the search forms
//! depends on its levels' facts alone, whatever the other levels chose, and so does
//! the failure: a clash holds of each operation it names the fact that places it,
//! of an append on its own those of the places it could take, and nothing else but
//! real time; a reading is ruled out by a
//! place holding another value; a place's append, by the fact placing it elsewhere
//! or the one before it, and by real time given the get that reads the place (its
//! reading is a fact of the set); and a level whose every choice failed names the
//! union of their sets. So no consistent choice of readings holding every fact of
//! a nogood has an order of its blocks, in any branch, whichever levels make the
//! facts. A choice that makes the last fact of a nogood fails at once, naming the
//! levels that made its other facts, as the failure that taught it would, but
//! without a check. Exact: it rules out only what has no order, and names what the
//! failure depends on, so backjumping stays exact, and a cut fails only when a
//! failure names no level. The whole history's second pass (see *Orders*) keeps the
//! first pass's nogoods: they are facts of the same cut. At most a million facts
//! are kept; past them, failures teach nothing more, which changes nothing but
//! speed.
//!
//! **Orders.** Choices are tried in an order that finds a linearization sooner;
//! any order is as exact. A get's readings: those opening the fewest places first
//! (gets near in time most often read one segment, and each place opened takes an
//! append another get may need), then nearest the get in time
//! ([`Search::nearest`]). A place's appends: those that no get invoked after an
//! earlier time can read first (the earliest return of the puts invoked after the
//! append returned; fewest later gets can need them), then nearest. That order
//! fails where nearest first finds the append the get read at once, so if the
//! enumeration gives up on the whole history, it enumerates it a second time with
//! places' appends nearest first. Only the whole history: it alone decides a
//! valid history, where an invalid one's failing operation is found by bisection
//! over a dozen cuts or more, each of which would take its second pass. Each pass
//! gives up past [`WORK`] (half a second to a second), and asks the caller whether to
//! stop every [`STOP_EVERY`] levels and checks, so a time limit holds: a place
//! may be tried again and again with no check between.
//!
//! Where both give up, a wrong choice is most often found wrong only ten or more
//! gets later, and going back to it means trying again the choices of the gets in
//! between: given the generator's own readings of the first hundred of 300 gets,
//! the enumeration decides such a history at once. A different order errs
//! elsewhere, so [`Kv::persist`] enumerates the whole history again in each of
//! [`MORE`]'s orders, segments first of the puts invoked last, or closing first,
//! or nearest the get's invocation, each with both orders of appends, then each
//! again (with the nogoods of the passes before it, it goes further; the first
//! two passes' are not kept, which measured no worse), until one finds a
//! linearization or the caller says stop: 14 passes, 10 seconds in all with the
//! first two on the one 2 000-operation history of fifty clients (of twelve) that
//! all of them leave undecided, in 12 MB. The engine
//! alone does so at once; the competition, beside its searches, so that the
//! searches decide first what they can. It only ever finds
//! linearizations: a pass that proves the whole history invalid leaves the
//! failing operation to the searches.
//!
//! **Reads left out.** Removing gets from a history never makes a linearizable one
//! not: they change no state. So a cut that has no linearization with all its gets
//! but one left out has none, and neither has any later cut (a linearization of a
//! later cut gives one of this one, as the parent module shows). To fail a cut past
//! a stale get, the enumeration must exhaust every choice of the other gets'
//! readings; alone, the stale get has a choice or two, and every other `:ok` append
//! is then a block of its own, which the check places exactly. The first time the
//! enumeration gives up on a history, each get is so checked alone at the cut just
//! after its return, in order of return, up to the first that fails (`screen`;
//! about a check per get); every cut from that one on then fails at once, and any
//! other cut the enumeration gives up on is undecided. The engine then declines,
//! saying the history fails at that get or before ([`Decline::fails_by`]), and the
//! competition has WGL find the first configuration that reaches the get's return,
//! as it confirms `refute`'s proofs: that get is the failing operation if one does,
//! and otherwise the answer is invalid with the get as a bound. Twenty clients
//! writing five values with a stale read among 500 operations: the stale get is
//! found in under a second, where the search cannot exhaust the orders before it;
//! with fifty clients, WGL does not get that far, and the bound is the answer.

use super::nogood::Nogoods;
use super::{arrange, Block, Cut, Decline, Reduce, Shape, NEVER};
use crate::history::History;
use crate::model::NilReads;
use crate::value::Value;
use foldhash::fast::FixedState;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

/// The most readings a get's string may have.
const READINGS: usize = 64;
/// How many levels or checks go between two questions to the caller whether to
/// stop.
const STOP_EVERY: usize = 64;
/// The most work the enumeration may do on a cut before it gives up: operations
/// visited by checks of an order, candidates by levels and facts by nogoods' lookups,
/// half a second to a second's worth.
const WORK: usize = 1 << 23;

/// [`WORK`], or in tests what the test set.
fn work() -> usize {
    #[cfg(test)]
    return tests::work();
    #[cfg(not(test))]
    WORK
}

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
    /// The cut from which on the history fails with all its gets but one left
    /// out, if one does: found once, the first time the search gives up (see
    /// *Reads left out*).
    screened: OnceLock<Option<usize>>,
    /// The most work a pass of the enumeration may do on a cut: [`WORK`], but in
    /// tests that make it give up.
    work: usize,
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
            screened: OnceLock::new(),
            work: work(),
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
        self.reduce_until(cut, &mut || false)
    }

    fn reduce_until(&self, cut: Cut, stop: &mut dyn FnMut() -> bool) -> Option<Shape> {
        let screened = |from: &Option<usize>| from.is_some_and(|at| cut.at >= at);
        if self.screened.get().is_some_and(screened) {
            return None;
        }
        let mut search = Search::new(self, cut, self.gets(cut), FIRST, self.work);
        let mut found = search.run(stop);
        // The whole history gets a second pass (see *Orders*), with what the first
        // learned (see *Nogoods*).
        if found.is_err() && cut.at >= cut.history.ops.len() {
            search = search.again(SECOND);
            found = search.run(stop);
        }
        match found {
            Ok(Some(witness)) => Some(Shape::Linearized(self.without_idle_puts(cut, witness))),
            Ok(None) => None,
            Err(GaveUp) if screened(self.screened.get_or_init(|| self.screen(cut.history, stop))) => None,
            Err(GaveUp) => Some(Shape::Undecided),
        }
    }

    fn failing_from(&self) -> Option<usize> {
        *self.screened.get()?
    }

    fn persists(&self) -> bool {
        true
    }

    fn persist(&self, cut: Cut, stop: &mut dyn FnMut() -> bool) -> Option<Vec<u32>> {
        let mut search = Search::new(self, cut, self.gets(cut), MORE[0], self.work);
        for (n, &order) in MORE.iter().enumerate() {
            if n > 0 {
                search = search.again(order);
            }
            match search.run(stop) {
                Ok(Some(witness)) => return Some(self.without_idle_puts(cut, witness)),
                Ok(None) => return None,
                Err(GaveUp) if stop() => return None,
                Err(GaveUp) => {}
            }
        }
        None
    }
}

impl Kv {
    /// The cut's `:ok` gets.
    fn gets(&self, cut: Cut) -> Vec<u32> {
        (0..self.ops.len() as u32)
            .filter(|&o| cut.ok(o as usize) && matches!(self.ops[o as usize], Op::Get(_)))
            .collect()
    }

    /// The first cut just after a get's return that has no linearization with
    /// every other get left out, if one has none (see *Reads left out*); `None` also
    /// when told to stop.
    fn screen(&self, history: &History, stop: &mut dyn FnMut() -> bool) -> Option<usize> {
        let mut gets: Vec<(usize, u32)> = (0..self.ops.len())
            .filter(|&o| matches!(self.ops[o], Op::Get(_)))
            .filter_map(|o| Some((history.operations[o].complete?, o as u32)))
            .collect();
        gets.sort_unstable();
        gets.into_iter().enumerate().find_map(|(n, (done, g))| {
            let cut = Cut { history, at: done + 1 };
            let alone = Search::new(self, cut, vec![g], FIRST, WORK).run(&mut || false);
            match alone {
                _ if (n + 1) % STOP_EVERY == 0 && stop() => Some(None),
                Ok(None) => Some(Some(cut.at)),
                _ => None,
            }
        })?
    }
}

/// The enumeration passed [`WORK`].
struct GaveUp;

/// The order in which a search tries a get's segments and a place's appends (see
/// *Orders*).
#[derive(Clone, Copy)]
struct Order {
    segments: Segments,
    fills: Fills,
}

/// Which segments a get tries first, of those opening the fewest places.
#[derive(Clone, Copy)]
enum Segments {
    /// Those whose put is nearest the get in time.
    Nearest,
    /// Those whose put was invoked last.
    Latest,
    /// Those whose segment closes first: no get invoked after an earlier time can
    /// read them.
    Closing,
    /// Those whose put is nearest the get's invocation.
    Invoked,
}

/// Which appends a place tries first.
#[derive(Clone, Copy)]
enum Fills {
    /// Those no get invoked after an earlier time can read.
    Spare,
    /// Those nearest the get in time.
    Nearest,
}

/// The first pass's order, on every cut.
const FIRST: Order = Order { segments: Segments::Nearest, fills: Fills::Spare };

/// The second pass's, on the whole history.
const SECOND: Order = Order { segments: Segments::Nearest, fills: Fills::Nearest };

/// The orders of [`Kv::persist`]'s passes: each other order of segments with
/// both orders of appends, then each order of segments again, with what the
/// passes before learned.
const MORE: [Order; 14] = {
    const fn both(segments: Segments) -> [Order; 2] {
        [Order { segments, fills: Fills::Spare }, Order { segments, fills: Fills::Nearest }]
    }
    let [a, b] = both(Segments::Latest);
    let [c, d] = both(Segments::Closing);
    let [e, f] = both(Segments::Invoked);
    let [g, h] = both(Segments::Nearest);
    [a, b, c, d, e, f, a, b, g, h, c, d, e, f]
};

/// What a level chooses: how its get reads, or which append fills a place that
/// the latest get's reading opened.
#[derive(Clone, Copy)]
enum Choice {
    /// The get reads `segment` up to its `k`-th append, as its string's `reading`-th
    /// reading by values.
    Read { segment: u32, k: u32, reading: u32 },
    /// The append filling the next empty place.
    Fill(u32),
}

/// A choice as what it decides, whatever the level that made it: what nogoods are
/// made of (see *Nogoods*).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Fact {
    /// `get` reads `segment` as its string's `reading`-th reading by values.
    Read { get: u32, segment: u32, reading: u32 },
    /// Place `place` of `segment` holds `append`.
    Fill { segment: u32, place: u32, append: u32 },
}

/// A set of levels: those whose choices a failure depends on. Sorted: a set holds
/// a few levels, where a bitset would take a word for every 64 levels below them
/// (a history of a million unique values has a million levels).
#[derive(Clone, Default)]
struct Levels(Vec<u32>);

impl Levels {
    fn add(&mut self, level: usize) {
        if let Err(at) = self.0.binary_search(&(level as u32)) {
            self.0.insert(at, level as u32);
        }
    }

    fn max(&self) -> Option<usize> {
        self.0.last().map(|&l| l as usize)
    }

    /// Adds `other`'s levels but `level`.
    fn merge_without(&mut self, other: &Levels, level: usize) {
        self.0.extend(&other.0);
        self.0.sort_unstable();
        self.0.dedup();
        self.0.retain(|&l| l as usize != level);
    }
}

/// A get being read, or a place being filled: its choices, how many are tried,
/// the levels its failures so far depend on, and what its choice decides, once
/// it has taken one.
struct Level {
    choices: Vec<Choice>,
    next: usize,
    conflict: Levels,
    taken: Option<Fact>,
}

/// The enumeration of a cut's op readings, get by get in order of return (see
/// *Branching*).
struct Search<'k, 'h> {
    kv: &'k Kv,
    cut: Cut<'h>,
    /// The `:ok` puts' invocations, in order, each with the earliest return of the
    /// puts invoked then or later (see *Real time prunes*).
    puts: Vec<(i64, i64)>,
    /// The `:ok` gets, by return: the `u`-th get read is `gets[u]`.
    gets: Vec<u32>,
    /// `later[i]`: the earliest invocation among `gets[i..]`.
    later: Vec<i64>,
    /// Each segment's appends, by position.
    placed: Vec<Vec<u32>>,
    /// Each append's level, if it is placed.
    placer: Vec<Option<u32>>,
    /// Each get's segment, how many appends it reads, and which reading by values,
    /// once it is read.
    read: Vec<(u32, usize, u32)>,
    /// The level reading each get, for the gets read so far.
    starts: Vec<usize>,
    /// The operations checks have visited and the candidates levels have, and the
    /// most they may (see [`WORK`]).
    work: usize,
    limit: usize,
    /// How many levels and checks the search made since it last asked whether to
    /// go on.
    unasked: usize,
    /// Which segments and appends are tried first.
    order: Order,
    /// What failures have taught: kept for the later passes over the same cut.
    nogoods: Nogoods<Fact>,
}

impl<'k, 'h> Search<'k, 'h> {
    /// The search of `cut` for readings of `gets` (the cut's `:ok` gets, or some).
    fn new(kv: &'k Kv, cut: Cut<'h>, mut gets: Vec<u32>, order: Order, limit: usize) -> Search<'k, 'h> {
        gets.sort_unstable_by_key(|&g| cut.ret(g));
        // The `:ok` puts by invocation, with the earliest return from each on.
        let mut puts: Vec<(i64, i64)> = (1..kv.puts.len())
            .filter_map(|s| kv.puts[s])
            .filter(|&p| cut.ok(p as usize))
            .map(|p| (cut.inv(p), cut.ret(p)))
            .collect();
        puts.sort_unstable();
        for i in (0..puts.len().saturating_sub(1)).rev() {
            puts[i].1 = puts[i].1.min(puts[i + 1].1);
        }
        let mut later = vec![NEVER; gets.len() + 1];
        for i in (0..gets.len()).rev() {
            later[i] = later[i + 1].min(cut.inv(gets[i]));
        }
        Search {
            kv,
            cut,
            puts,
            placed: vec![Vec::new(); kv.puts.len()],
            placer: vec![None; kv.ops.len()],
            read: vec![(0, 0, 0); gets.len()],
            starts: Vec::with_capacity(gets.len()),
            gets,
            later,
            work: 0,
            limit,
            unasked: 0,
            order,
            nogoods: Nogoods::default(),
        }
    }

    /// The search of the same cut once more, from the start, in `order`, with the
    /// nogoods learned so far.
    fn again(self, order: Order) -> Search<'k, 'h> {
        let nogoods = self.nogoods;
        Search { nogoods, ..Search::new(self.kv, self.cut, self.gets, order, self.limit) }
    }

    /// The earliest return among the `:ok` puts invoked after `x` returned (every
    /// one, for `None`), or [`NEVER`]: no operation invoked after it is in `x`'s
    /// segment.
    fn closed(&self, x: Option<u32>) -> i64 {
        let returned = x.map_or(i64::MIN, |x| self.cut.ret(x));
        let from = self.puts.partition_point(|&(inv, _)| inv <= returned);
        self.puts.get(from).map_or(NEVER, |&(_, earliest)| earliest)
    }

    /// Whether no operation invoked at `before` or later is in `x`'s segment.
    fn put_between(&self, x: Option<u32>, before: i64) -> bool {
        self.closed(x) < before
    }

    /// Whether `x` (an operation, or the initial string for `None`) may come before
    /// get `g` in its segment, by real time: invoked before `g` returns, and no `:ok`
    /// put between them.
    fn may_precede(&self, x: Option<u32>, g: u32) -> bool {
        x.is_none_or(|x| self.cut.inv(x) < self.cut.ret(g)) && !self.put_between(x, self.cut.inv(g))
    }

    /// Whether append `a` may come after `x` (the operation before it in its
    /// segment, if any), by real time.
    fn may_follow(&self, x: Option<u32>, a: u32) -> bool {
        x.is_none_or(|x| self.cut.inv(x) < self.cut.ret(a))
    }

    /// The `candidates` that `keep` keeps (segments or appends, each standing for
    /// the operation `op` gives, `None` for the initial string), nearest get `g` in
    /// time first: by how far the middle of the time each may take effect before `g`
    /// returns lies from the middle of `g`'s. What a get reads was most often
    /// written just before it.
    fn nearest(
        &self,
        g: u32,
        candidates: &[u32],
        op: impl Fn(u32) -> Option<u32>,
        keep: impl Fn(Option<u32>) -> bool,
    ) -> Vec<u32> {
        let cut = self.cut;
        let middle = |x: u32| cut.inv(x) / 2 + cut.ret(x).min(cut.ret(g)) / 2;
        let mut sorted: Vec<u32> = candidates.iter().rev().copied().filter(|&c| keep(op(c))).collect();
        sorted.sort_by_key(|&c| op(c).map_or(0, |x| (middle(x) - middle(g)).abs()));
        sorted
    }

    /// Every way to read get `u` given the appends placed (a segment, and which of
    /// its string's readings by values); the levels whose placements ruled one out
    /// join `conflict`.
    fn reads(&mut self, u: usize, conflict: &mut Levels) -> Vec<Choice> {
        let (g, kv) = (self.gets[u], self.kv);
        let Op::Get(readings) = &kv.ops[g as usize] else { unreachable!("a get") };
        self.work += readings.iter().map(|reading| kv.bases[reading.base as usize].len()).sum::<usize>();
        let mut out = Vec::new();
        for (r, reading) in readings.iter().enumerate() {
            // Real time rules most segments out: they are left out before sorting.
            let keep = |put: Option<u32>| {
                put.is_none_or(|p| self.cut.invoked(p as usize)) && self.may_precede(put, g)
            };
            let bases = &self.kv.bases[reading.base as usize];
            for segment in self.nearest(g, bases, |s| self.kv.puts[s as usize], keep) {
                let placed = &self.placed[segment as usize];
                let misfit = placed.iter().zip(&reading.chunks).find(|&(&a, &c)| {
                    !matches!(self.kv.ops[a as usize], Op::Append(x) if x == c)
                        || !self.may_precede(Some(a), g)
                });
                match misfit {
                    Some((&a, _)) => conflict.add(self.placer(a)),
                    None => {
                        let k = reading.chunks.len() as u32;
                        out.push(Choice::Read { segment, k, reading: r as u32 });
                    }
                }
            }
        }
        // Those that open the fewest places first: two gets near in time most often
        // read one segment, and each place opened takes an append another get may
        // need. Then as the order says (the nearest are first already).
        let cut = self.cut;
        let then = |segment: u32| {
            let put = self.kv.puts[segment as usize];
            let middle = |p: u32| cut.inv(p) / 2 + cut.ret(p).min(cut.ret(g)) / 2;
            match self.order.segments {
                Segments::Nearest => 0,
                Segments::Latest => put.map_or(i64::MAX, |p| -cut.inv(p)),
                Segments::Closing => self.closed(put),
                Segments::Invoked => put.map_or(0, |p| (middle(p) - cut.inv(g)).abs()),
            }
        };
        out.sort_by_key(|&choice| match choice {
            Choice::Read { segment, k, .. } => {
                ((k as usize).saturating_sub(self.placed[segment as usize].len()), then(segment))
            }
            Choice::Fill(_) => (0, 0),
        });
        out
    }

    /// The place the latest get's reading opened and no level has filled yet, if
    /// any: that get, its segment, and the position.
    fn empty_place(&self) -> Option<(usize, u32, usize)> {
        let u = self.starts.len().checked_sub(1)?;
        let (segment, k, _) = self.read[u];
        let p = self.placed[segment as usize].len();
        (p < k).then_some((u, segment, p))
    }

    /// Every append that may fill place `p` of `segment` for get `u`. The level
    /// reading the get joins `conflict`, with the levels that placed a candidate
    /// elsewhere, and the one that filled the place before where real time rules a
    /// candidate out after its append.
    fn fills(&mut self, (u, segment, p): (usize, u32, usize), conflict: &mut Levels) -> Vec<Choice> {
        let g = self.gets[u];
        let chunk = self.chunks(u)[p];
        self.work += self.kv.chunks[chunk as usize].len();
        conflict.add(self.starts[u]);
        let placed = &self.placed[segment as usize];
        let before = p.checked_sub(1).map_or(self.kv.puts[segment as usize], |q| Some(placed[q]));
        // Real time alone rules these out, whatever the levels placed.
        let keep =
            |a: Option<u32>| a.is_some_and(|a| self.cut.invoked(a as usize) && self.may_precede(Some(a), g));
        let mut candidates = self.nearest(g, &self.kv.chunks[chunk as usize], Some, keep);
        if let Fills::Spare = self.order.fills {
            candidates.sort_by_key(|&a| self.closed(Some(a)));
        }
        let mut out = Vec::new();
        for a in candidates {
            if let Some(l) = self.placer[a as usize] {
                conflict.add(l as usize);
            } else if !self.may_follow(before, a) {
                p.checked_sub(1).into_iter().for_each(|q| conflict.add(self.placer(placed[q])));
            } else {
                out.push(Choice::Fill(a));
            }
        }
        out
    }

    /// The chunk values that get `u`'s reading reads, once it is read.
    fn chunks(&self, u: usize) -> &[u32] {
        let Op::Get(readings) = &self.kv.ops[self.gets[u] as usize] else { unreachable!("a get") };
        &readings[self.read[u].2 as usize].chunks
    }

    /// The level that placed append `a`.
    fn placer(&self, a: u32) -> usize {
        self.placer[a as usize].expect("placed") as usize
    }

    /// Level `i` takes `choice`; what it decides.
    fn apply(&mut self, i: usize, choice: Choice) -> Fact {
        let u = self.starts.len() - 1;
        match choice {
            Choice::Read { segment, k, reading } => {
                self.read[u] = (segment, k as usize, reading);
                Fact::Read { get: self.gets[u], segment, reading }
            }
            Choice::Fill(a) => {
                let segment = self.read[u].0;
                let place = self.placed[segment as usize].len() as u32;
                self.placed[segment as usize].push(a);
                self.placer[a as usize] = Some(i as u32);
                Fact::Fill { segment, place, append: a }
            }
        }
    }

    /// Where `get` is among the gets, or would be: they are sorted by return, and no
    /// two return at once.
    fn index(&self, get: u32) -> usize {
        self.gets.partition_point(|&g| self.cut.ret(g) < self.cut.ret(get))
    }

    /// The level that made `fact`, if the choices taken hold it.
    fn holds(&self, fact: Fact) -> Option<usize> {
        match fact {
            Fact::Read { get, segment, reading } => {
                let u = self.index(get);
                let (s, _, r) = *self.read.get(u)?;
                (u < self.starts.len() && (s, r) == (segment, reading)).then(|| self.starts[u])
            }
            Fact::Fill { segment, place, append } => {
                let placed = self.placed[segment as usize].get(place as usize);
                (placed == Some(&append)).then(|| self.placer(append))
            }
        }
    }

    /// The levels of a nogood's other facts, if `fact` completes one.
    fn nogood(&mut self, fact: Fact) -> Option<Levels> {
        let mut looked = 0;
        let levels = self.nogoods.completed_by(fact, |f| self.holds(f), &mut looked);
        self.work += looked;
        let mut set = Levels::default();
        levels?.into_iter().for_each(|l| set.add(l));
        Some(set)
    }

    /// Learns that the choices of `levels` fail together.
    fn learn(&mut self, levels: &[Level], failed: &Levels) {
        self.nogoods.learn(failed.0.iter().map(|&l| levels[l as usize].taken.expect("a choice taken")));
    }

    /// The latest level takes its choice back.
    fn unapply(&mut self, choice: Choice) {
        if let Choice::Fill(a) = choice {
            let u = self.starts.len() - 1;
            self.placed[self.read[u].0 as usize].pop();
            self.placer[a as usize] = None;
        }
    }

    /// Whether the enumeration is past its work, or told to stop (asked once
    /// [`STOP_EVERY`] levels and checks are made).
    fn spent(&mut self, stop: &mut dyn FnMut() -> bool) -> bool {
        if self.work > self.limit {
            return true;
        }
        if self.unasked < STOP_EVERY {
            return false;
        }
        self.unasked = 0;
        stop()
    }

    /// Counts a check: the operations it visits, and a step towards asking
    /// whether to stop.
    fn count_check(&mut self) {
        self.work += self.kv.ops.len();
        self.unasked += 1;
    }

    /// Level `i` leaves the stack, and with it the get it reads, if it reads one.
    fn leave(&mut self, i: usize) {
        if self.starts.last() == Some(&i) {
            self.starts.pop();
        }
    }

    /// Reads every get and fills every place its reading opens, one level each,
    /// depth first with backjumping: a witness, or `None` if no choice of readings
    /// has an order.
    fn run(&mut self, stop: &mut dyn FnMut() -> bool) -> Result<Option<Vec<u32>>, GaveUp> {
        let n = self.gets.len();
        if n == 0 {
            return Ok(self.check(0).ok());
        }
        // How many levels have choices not yet tried: with none, a failure found
        // later is as final, so the checks on the way are left out.
        let mut open = 0;
        let mut levels: Vec<Level> = Vec::new();
        loop {
            self.unasked += 1;
            if self.spent(stop) {
                return Err(GaveUp);
            }
            let mut i = levels.len();
            let mut conflict = Levels::default();
            let choices = match self.empty_place() {
                Some(place) => self.fills(place, &mut conflict),
                None => {
                    self.starts.push(i);
                    self.reads(self.starts.len() - 1, &mut conflict)
                }
            };
            open += usize::from(choices.len() > 1);
            levels.push(Level { choices, next: 0, conflict, taken: None });
            // Level `i` takes its next choice (checked once its get's places are all
            // filled); with none left, the latest level its failures depend on takes
            // its next, and so on.
            loop {
                let level = &mut levels[i];
                if let Some(&choice) = level.choices.get(level.next) {
                    level.next += 1;
                    if level.next == level.choices.len() && level.next > 1 {
                        open -= 1;
                    }
                    let fact = self.apply(i, choice);
                    levels[i].taken = Some(fact);
                    if let Some(conflict) = self.nogood(fact) {
                        levels[i].conflict.merge_without(&conflict, i);
                        self.unapply(choice);
                        continue;
                    }
                    let u = self.starts.len() - 1;
                    if self.empty_place().is_some() || (u + 1 < n && open == 0) {
                        break;
                    }
                    self.count_check();
                    if self.spent(stop) {
                        return Err(GaveUp);
                    }
                    match self.check(u + 1) {
                        Ok(witness) if u + 1 == n => return Ok(Some(witness)),
                        Ok(_) => break,
                        // With no choice left to try, a failure is final.
                        Err(_) if open == 0 => return Ok(None),
                        Err(clash) => {
                            let conflict = self.conflict(&clash);
                            self.learn(&levels, &conflict);
                            let level = &mut levels[i];
                            self.unapply(choice);
                            if conflict.max() < Some(i) {
                                // A failure without this level's choice is one with any,
                                // and explains the level's failure alone.
                                level.conflict = conflict;
                                if level.next < level.choices.len() {
                                    level.next = level.choices.len();
                                    open -= 1;
                                }
                            } else {
                                level.conflict.merge_without(&conflict, i);
                            }
                        }
                    }
                    continue;
                }
                let failed = levels.pop().expect("level i").conflict;
                self.learn(&levels, &failed);
                self.leave(i);
                let Some(h) = failed.max() else { return Ok(None) };
                while levels.len() > h + 1 {
                    let level = levels.pop().expect("above h");
                    if level.next < level.choices.len() {
                        open -= 1;
                    }
                    self.unapply(level.choices[level.next - 1]);
                    self.leave(levels.len());
                }
                let level = &mut levels[h];
                level.conflict.merge_without(&failed, h);
                let choice = level.choices[level.next - 1];
                self.unapply(choice);
                i = h;
            }
        }
    }

    /// The levels whose choices put the operations of a clash where they are (see
    /// *Backjumping*): a get's reading, an append's place; and for an append on its
    /// own, what keeps it so: the places of the block it clashes with between that
    /// block's operations in the clash, filled with others.
    fn conflict(&self, clash: &[u32]) -> Levels {
        let mut levels = Levels::default();
        for &o in clash {
            match (&self.kv.ops[o as usize], self.placer[o as usize]) {
                (Op::Put(_), _) => {}
                (Op::Append(_), Some(l)) => levels.add(l as usize),
                // On its own, it clashes with a block whose two operations in the
                // clash it must come between (the initial block's virtual head
                // being one): the places of the block between them hold others.
                (Op::Append(_), None) => {
                    let others: Vec<(u32, usize)> =
                        clash.iter().filter(|&&x| x != o).map(|&x| self.position(x)).collect();
                    let segment = others[0].0;
                    debug_assert!(others.iter().all(|&(s, _)| s == segment), "a clash of two blocks");
                    let to = others.iter().map(|&(_, group)| group).max().expect("another operation");
                    let from = match others[..] {
                        [_] => 0,
                        _ => others.iter().map(|&(_, group)| group).min().expect("another") + 1,
                    };
                    let between = |&(p, _): &(usize, &u32)| (from..to).contains(&(2 * p + 2));
                    let places = self.placed[segment as usize].iter().enumerate().filter(between);
                    places.for_each(|(_, &a)| levels.add(self.placer(a)));
                }
                _ => levels.add(self.starts[self.index(o)]),
            }
        }
        levels
    }

    /// Operation `o`'s segment and group in the segment's block, once the search
    /// has placed it: the put 0, the gets reading `k` appends `2k + 1`, and the
    /// append at place `p` `2p + 2`.
    fn position(&self, o: u32) -> (u32, usize) {
        match self.kv.ops[o as usize] {
            Op::Put(_) => (self.kv.puts.iter().position(|&p| p == Some(o)).expect("a put") as u32, 0),
            Op::Append(_) => {
                let at = |list: &Vec<u32>| list.iter().position(|&a| a == o);
                let (s, p) =
                    self.placed.iter().enumerate().find_map(|(s, l)| Some((s, at(l)?))).expect("placed");
                (s as u32, 2 * p + 2)
            }
            _ => {
                let (s, k, _) = self.read[self.index(o)];
                (s, 2 * k + 1)
            }
        }
    }

    /// The blocks of the readings of gets `..m`, with the `:ok` puts no such get
    /// reads and the `:ok` appends no other get can read on their own, in an order
    /// if there is one, or else a clash that keeps them from one.
    fn check(&self, m: usize) -> Result<Vec<u32>, Vec<u32>> {
        let (kv, cut) = (self.kv, self.cut);
        // Whether no get from `m` on may read `x`'s segment: those that return after
        // `x` is invoked all start after a put that follows `x`.
        let lone = |x: u32| {
            let unread = self.later[self.gets.partition_point(|&g| cut.ret(g) <= cut.inv(x)).max(m)];
            unread == NEVER || self.put_between(Some(x), unread)
        };
        let mut gets: Vec<Vec<Vec<u32>>> = vec![Vec::new(); self.placed.len()];
        for j in 0..m {
            let (s, k, _) = self.read[j];
            let groups = &mut gets[s as usize];
            if groups.len() <= k {
                groups.resize(k + 1, Vec::new());
            }
            groups[k].push(self.gets[j]);
        }
        let mut kept = vec![false; kv.ops.len()];
        let mut blocks = Vec::new();
        for (s, gets) in gets.into_iter().enumerate() {
            let mut block = match kv.puts[s] {
                None => Block { initial: true, groups: Vec::new() },
                Some(p) if !gets.is_empty() || cut.ok(p as usize) => Block::headed(p),
                Some(_) => continue,
            };
            let mut gets = gets.into_iter();
            block.push(gets.next().unwrap_or_default());
            for (&a, gets) in self.placed[s].iter().zip(gets) {
                kept[a as usize] = true;
                block.push(vec![a]);
                block.push(gets);
            }
            blocks.push(block);
        }
        let alone = (0..kv.ops.len() as u32).filter(|&o| {
            matches!(kv.ops[o as usize], Op::Append(_)) && cut.ok(o as usize) && !kept[o as usize] && lone(o)
        });
        blocks.extend(alone.map(Block::headed));
        arrange(&blocks, cut)
    }
}

#[cfg(test)]
mod tests {
    use super::Kv;
    use crate::generate::{generate, Anomaly, Spec};
    use crate::model::NilReads;
    use crate::read::{Format, RawOp};
    use crate::search::unique::{decide, Decline, Verdict};
    use crate::{check, model, Algorithm, History, Options, Validity};
    use std::cell::Cell;

    thread_local! {
        /// The enumeration's work limit for the histories this thread builds.
        static WORK: Cell<usize> = const { Cell::new(super::WORK) };
    }

    pub(super) fn work() -> usize {
        WORK.with(Cell::get)
    }

    /// Each get checked alone (see *Reads left out*), on small random kv histories
    /// of one key, valid and with a stale read, where WGL decides: a cut the screen
    /// proves failing is at or after WGL's failing op, and never on a valid
    /// history. And the engine made to give up at its first check, so that its
    /// verdicts rest on the screen: a failure it proves is WGL's, and a bound
    /// (`fails_by`) is at or after it.
    #[test]
    fn gets_checked_alone_prove_only_what_the_search_finds() {
        let m = model::builtin("kv", &Default::default()).unwrap();
        WORK.with(|w| w.set(0));
        let (mut screened, mut proven, mut bounds) = (0, 0, 0);
        for seed in 0..1500 {
            let spec = Spec {
                model: "kv".into(),
                keys: Some(1),
                processes: 3 + seed as usize % 4,
                ops: 8 + seed as usize % 13,
                values: 3,
                effect_inside: true,
                crash_rate: if seed % 3 == 0 { 0.1 } else { 0.0 },
                seed,
                anomaly: (seed % 2 == 0).then_some(Anomaly::StaleRead),
                ..Spec::default()
            };
            let mut edn = Vec::new();
            generate(&spec, Format::Edn, &mut edn).unwrap();
            let history = History::complete(RawOp::read(&edn, "generated.edn", None).unwrap(), &m).unwrap();
            let wgl = check(&m, &history, &Options::default().algorithm(Algorithm::Wgl));
            assert_ne!(wgl.valid, Validity::Unknown, "seed {seed}");
            // Failing ops by their completion's position (generated ops are indexed so).
            let failing = wgl.results[0].1.op.as_ref().map(|op| op.index as usize);
            let done = |op: usize| history.operations[op].complete.unwrap();
            let kv = Kv::new(&history, super::super::peel(&history, 1).unwrap().0, None, NilReads::Unknown);
            if let Some(at) = kv.unwrap().screen(&history, &mut || false) {
                let failing = failing.unwrap_or_else(|| panic!("seed {seed}: a valid history screened"));
                assert!(failing < at, "seed {seed}: the cut screened is before the failure");
                screened += 1;
            }
            match decide(&history, &m) {
                Ok(Verdict::Valid(_)) => assert_eq!(failing, None, "seed {seed}"),
                Ok(Verdict::Invalid(op)) => {
                    assert_eq!(Some(done(op)), failing, "seed {seed}");
                    proven += 1;
                }
                Err(Decline { fails_by: Some(op), .. }) => {
                    let failing =
                        failing.unwrap_or_else(|| panic!("seed {seed}: a bound on a valid history"));
                    assert!(failing <= done(op), "seed {seed}: the bound is before the failure");
                    bounds += 1;
                }
                Err(_) => {}
            }
        }
        // Nearly all of the 750 stale reads are proven by the get alone.
        assert!(screened >= 700, "only {screened} screened");
        assert!(proven + bounds >= 500, "only {proven} failures and {bounds} bounds proven");
    }
}
