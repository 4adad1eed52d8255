//! The SVG anomaly diagram: lanes of bars over a compressed logical time axis,
//! with the final paths drawn across them (see the parent module for the design).

use super::window::{index_of, Bar, Outcome, Point, Timeline, Window};
use super::{is_inconsistency, op_text, state_text, xml_safe, DETAIL, LABEL};
use crate::analysis::Analysis;
use crate::history::History;
use crate::value::Value;
use std::collections::HashMap;
use svg::node::element::{Circle, Element, Group, Line, Polyline, Rectangle, Style};
use svg::node::Text as TextNode;
use svg::{Document, Node};

/// Height of a lane, and of a bar in it.
const ROW: f64 = 22.0;
const BAR: f64 = 14.0;
/// Width of the process labels on the left: room for a cut label and `↻`.
const LEFT: f64 = 112.0;
/// Process labels are cut to this many characters.
const PROCESS: usize = 12;
/// Estimated width of a character of 11px text (the labels are monospace), of
/// the 10px state labels, and of the 14px heading.
const CHAR: f64 = 6.7;
const STATE_CHAR: f64 = 6.1;
const HEADING_CHAR: f64 = 8.5;
/// Estimated width of a character of the 11px sans-serif subheading.
const SUB_CHAR: f64 = 6.0;
/// Space between adjacent columns; extra space where ops were left out.
const GAP: f64 = 8.0;
const BREAK: f64 = 14.0;
/// Padding inside a bar around its label.
const PAD: f64 = 4.0;
/// The narrowest bar; a label may run past the end of its bar, never into the next one.
const MIN_BAR: f64 = 18.0;
/// How far open-ended bars run past the last column.
const TAIL: f64 = 48.0;
/// Where the axis is, and where the lanes start.
const AXIS: f64 = 66.0;
const TOP: f64 = 74.0;
/// The diagram is at least this wide, so that the heading and legend fit.
const MIN_WIDTH: f64 = 900.0;
/// A narrow axis is stretched towards this width, by at most [`STRETCH`].
const WIDE: f64 = 1080.0;
const STRETCH: f64 = 4.0;
/// At most this many final paths are drawn (the HTML table lists them all).
const MAX_PATHS: usize = 10;
/// A colour per drawn path.
const PALETTE: [&str; MAX_PATHS] = [
    "#1b7a3a", "#6a3d9a", "#00838f", "#b35900", "#1f4e9c", "#a0306e", "#5b6b00", "#7a4a2a", "#00695c",
    "#424242",
];

const CSS: &str = "
svg.knossos { background: #fff; }
.knossos text { font: 11px ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; fill: #222; }
.knossos .heading { font: bold 14px system-ui, -apple-system, 'Segoe UI', sans-serif; }
.knossos .sub, .knossos .legend text { font: 11px system-ui, -apple-system, 'Segoe UI', sans-serif; fill: #555; }
.knossos .tick { fill: #777; font-size: 10px; }
.knossos .tick.hot { fill: #c62828; font-weight: bold; }
.knossos .proc { text-anchor: end; fill: #444; }
.knossos .stripe { fill: #f7f8fa; }
.knossos .ok { fill: #d6e6f8; stroke: #3d74b8; }
.knossos .crashed { fill: #fde3b6; stroke: #c7820e; }
.knossos .crashed.tail { fill: #fef3df; stroke-dasharray: 4 3; }
.knossos .failed { fill: #eeeeee; stroke: #9e9e9e; stroke-dasharray: 2 2; }
.knossos .failed-label { fill: #888; }
.knossos .aside { fill: #e8e0f4; stroke: #8669b3; }
.knossos .failing { fill: #f9d2d2; stroke: #c62828; stroke-width: 2; }
.knossos .band { fill: #c62828; fill-opacity: 0.07; }
.knossos .band-edge { stroke: #c62828; stroke-opacity: 0.5; stroke-dasharray: 3 3; }
.knossos .gap { fill: #eeeeee; }
.knossos .axis { stroke: #999; }
.knossos .path { fill: none; stroke-width: 1.2; stroke-opacity: 0.45; }
.knossos .dot { fill-opacity: 0.6; }
.knossos .first { stroke-width: 2.2; stroke-opacity: 0.9; fill-opacity: 1; }
.knossos .label { pointer-events: none; }
.knossos .state { font-size: 10px; font-weight: bold; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.knossos .illegal { stroke: #c62828; stroke-width: 2.6; }
.knossos .note { fill: #555; font-style: italic; }
";

/// Draws the diagram of an invalid analysis (of one key's sub-history, with `key`).
pub(super) fn render(timeline: &Timeline, analysis: &Analysis, key: Option<&Value>) -> String {
    let window = Window::new(timeline, analysis);
    let layout = Layout::new(&window);
    let heading = heading(timeline.history, analysis, key);
    let mut doc = Document::new().set("class", "knossos");
    doc.append(title(&heading));
    doc.append(Style::new(CSS));
    let placed = place_paths(&window, &layout);
    let mut canvas = Canvas { doc, window: &window, layout: &layout, heading, placed };
    let height = canvas.draw();
    xml_safe(canvas.finish(height).to_string())
}

/// Draws a valid history's witness order (of one key's sub-history, with `key`):
/// its first operations' bars, with a mark where each takes effect, joined in order.
pub(super) fn render_witness(timeline: &Timeline, order: &[u64], key: Option<&Value>) -> String {
    let window = Window::witness(timeline, order);
    let layout = Layout::new(&window);
    let key = key.map_or_else(String::new, |k| format!("key {}: ", k.to_edn_short(LABEL)));
    let heading = format!("{key}linearizable: a witness order of {} operations", order.len());
    let mut doc = Document::new().set("class", "knossos");
    doc.append(title(&heading));
    doc.append(Style::new(CSS));
    let mut canvas = Canvas { doc, window: &window, layout: &layout, heading, placed: Vec::new() };
    let height = canvas.draw();
    xml_safe(canvas.finish(height).to_string())
}

/// The diagram's heading, which names the failing op (and the key).
fn heading(history: &History, analysis: &Analysis, key: Option<&Value>) -> String {
    let key = key.map_or_else(String::new, |k| format!("key {}: ", k.to_edn_short(LABEL)));
    match &analysis.op {
        Some(op) => format!(
            "{key}op {} (process {}, {}) cannot be linearized",
            op.index,
            op.map.get("process").unwrap_or(&Value::Nil).to_edn_short(PROCESS),
            op_text(&op.map, LABEL * 2)
        ),
        None => {
            format!("{key}not linearizable ({} ops; the analysis names no failing op)", history.ops.len())
        }
    }
}

/// A `<title>` (hover text) with this content.
fn title(content: &str) -> Element {
    let mut t = Element::new("title");
    t.append(TextNode::new(content));
    t
}

/// A `<text>` element at (x, y).
fn text(x: f64, y: f64, class: &str, content: &str) -> Element {
    let mut t = Element::new("text");
    t.assign("x", px(x));
    t.assign("y", px(y));
    if !class.is_empty() {
        t.assign("class", class);
    }
    t.append(TextNode::new(content));
    t
}

/// A coordinate rounded to a tenth of a pixel.
fn px(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Where a label starts for a bar from `x0` to `x1`: inside it, or just after it
/// when the bar is too short (an open-ended bar is never too short).
fn label_start(x0: f64, x1: f64, label: &str, open_ended: bool) -> f64 {
    if open_ended || x1 - x0 >= width_of(label) + 2.0 * PAD {
        x0 + PAD
    } else {
        x1 + 3.0
    }
}

/// Where a label ends, for a bar from `x0` to `x1`.
fn label_end(x0: f64, x1: f64, label: &str, open_ended: bool) -> f64 {
    (label_start(x0, x1, label, open_ended) + width_of(label) + PAD).max(x1)
}

/// The width a label needs.
fn width_of(label: &str) -> f64 {
    label.chars().count() as f64 * CHAR
}

/// A row of the diagram: a process, or a second lane of one whose crashed
/// operation is still open when it invokes again.
struct Lane<'h> {
    process: &'h Value,
    bars: Vec<usize>,
    /// Where its last bar ends.
    end: usize,
}

/// Where everything goes.
struct Layout<'h> {
    /// The positions of the events of the shown bars, in order: the columns.
    columns: Vec<usize>,
    /// The x of each column, from the left of the plot.
    xs: Vec<f64>,
    /// Where open-ended bars end.
    right: f64,
    lanes: Vec<Lane<'h>>,
    /// Each shown bar's label.
    labels: HashMap<usize, String>,
}

impl<'h> Layout<'h> {
    fn new(window: &Window<'_, 'h>) -> Layout<'h> {
        let timeline = window.timeline;
        let ops = &timeline.history.ops;
        let bars = &timeline.bars;
        let labels: HashMap<usize, String> = window
            .shown
            .iter()
            .map(|&id| {
                (
                    id,
                    ops.get(bars[id].result())
                        .map_or_else(String::new, |op| op_text(&timeline.history.op_map(op), LABEL)),
                )
            })
            .collect();

        let mut columns: Vec<usize> = window
            .shown
            .iter()
            .flat_map(|&id| std::iter::once(bars[id].invoke).chain(bars[id].complete))
            .collect();
        columns.sort_unstable();
        columns.dedup();
        let column = |pos: usize| {
            columns.binary_search(&pos).unwrap_or_else(|i| i.min(columns.len().saturating_sub(1)))
        };

        // Room for the labels: a bar is at least MIN_BAR wide, and the next bar of
        // its lane starts after its label ends (inside the bar, or after it when the
        // bar is too short); the columns after make room.
        let lanes = lanes(window);
        let end_of_label = |xs: &[f64], id: usize| {
            let bar = &bars[id];
            let (x0, x1) = (xs[column(bar.invoke)], bar.complete.map_or(f64::INFINITY, |c| xs[column(c)]));
            label_end(x0, x1, labels.get(&id).map_or("", String::as_str), bar.open_ended())
        };
        // The failing bar holds its label and the cross of the illegal step.
        let mut minimum: HashMap<usize, Vec<(usize, f64)>> = HashMap::new();
        for &id in &window.shown {
            if let (Some(end), false) = (bars[id].complete, bars[id].open_ended()) {
                let width = if window.failing == Some(id) {
                    labels.get(&id).map_or(0.0, |l| width_of(l)) + 2.0 * PAD + 14.0
                } else {
                    MIN_BAR
                };
                minimum.entry(column(end)).or_default().push((column(bars[id].invoke), width));
            }
        }
        let mut previous: HashMap<usize, Vec<usize>> = HashMap::new();
        for lane in &lanes {
            for pair in lane.bars.windows(2) {
                previous.entry(column(bars[pair[1]].invoke)).or_default().push(pair[0]);
            }
        }
        let mut xs: Vec<f64> = Vec::with_capacity(columns.len());
        for (k, &pos) in columns.iter().enumerate() {
            let mut x = match k.checked_sub(1) {
                None => 0.0,
                Some(prev) => xs[prev] + if pos - columns[prev] > 1 { GAP + BREAK } else { GAP },
            };
            for &(from, width) in minimum.get(&k).into_iter().flatten() {
                x = x.max(xs.get(from).map_or(0.0, |x| x + width));
            }
            for &id in previous.get(&k).into_iter().flatten() {
                x = x.max(end_of_label(&xs, id) + GAP / 2.0);
            }
            xs.push(x);
        }
        // Stretch a narrow axis: wider bars are easier to read and to point at.
        let last = xs.last().copied().unwrap_or(0.0);
        let stretch = if last > 0.0 { ((WIDE - TAIL) / last).clamp(1.0, STRETCH) } else { 1.0 };
        xs.iter_mut().for_each(|x| *x *= stretch);
        let last = last * stretch;
        let right = lanes
            .iter()
            .filter_map(|lane| lane.bars.last())
            .map(|&id| {
                // An open-ended bar runs to the right edge, which must hold its label.
                if bars[id].open_ended() {
                    xs[column(bars[id].invoke)]
                        + labels.get(&id).map_or(0.0, |l| width_of(l))
                        + 2.0 * PAD
                        + GAP
                } else {
                    end_of_label(&xs, id) + GAP
                }
            })
            .fold(last + TAIL, f64::max);

        Layout { lanes, columns, xs, right, labels }
    }

    /// The x of an event, from the left of the plot.
    fn x(&self, pos: usize) -> f64 {
        let k = self.columns.binary_search(&pos).unwrap_or_else(|i| i);
        self.xs.get(k).or(self.xs.last()).copied().unwrap_or(0.0)
    }

    /// Where a bar starts and ends, from the left of the plot.
    fn span(&self, bar: &Bar) -> (f64, f64) {
        let start = self.x(bar.invoke);
        match bar.complete {
            _ if bar.open_ended() => (start, self.right),
            Some(end) => (start, self.x(end).max(start + 2.0 * PAD)),
            None => (start, self.right),
        }
    }

    fn lane_of(&self, id: usize) -> Option<usize> {
        self.lanes.iter().position(|lane| lane.bars.contains(&id))
    }

    fn plot_width(&self) -> f64 {
        self.right + 8.0
    }
}

/// The lanes of the shown bars: by process (integers in order first, then other
/// processes, then the nemesis), a second lane when a process invokes again while
/// its crashed operation is still open.
fn lanes<'h>(window: &Window<'_, 'h>) -> Vec<Lane<'h>> {
    let timeline = window.timeline;
    let mut lanes: Vec<Lane<'h>> = Vec::new();
    for &id in &window.shown {
        let bar = &timeline.bars[id];
        let Some(op) = timeline.history.ops.get(bar.invoke) else { continue };
        let process = op.process();
        match lanes.iter_mut().find(|l| l.process == process && l.end < bar.invoke) {
            Some(lane) => {
                lane.bars.push(id);
                lane.end = bar.end();
            }
            None => lanes.push(Lane { process, bars: vec![id], end: bar.end() }),
        }
    }
    let key = |p: &Value| {
        let nemesis = p.as_keyword() == Some("nemesis");
        (nemesis, p.as_i64().is_none(), p.as_i64().unwrap_or(0), p.to_edn_short(64))
    };
    lanes.sort_by_cached_key(|lane| key(lane.process));
    lanes
}

/// A step of a drawn final path: where its mark goes.
type Placed<'a, 't> = (f64, f64, &'a Point<'t>);

/// The drawn final paths' marks. Each path has its own vertical offset in a lane,
/// so that paths through the same bars stay apart. Points are placed from the last
/// step backwards, each as late as its bar and the next step allow: clear of the
/// labels at the bars' left ends, and for a crashed operation just before the step
/// that follows it.
fn place_paths<'a, 't>(window: &'a Window<'t, '_>, layout: &Layout) -> Vec<Vec<Placed<'a, 't>>> {
    let drawn = window.paths.len().min(MAX_PATHS);
    // Spread over the bar's height, at most 4px apart.
    let step = if drawn > 1 { (4.0f64).min((BAR - 2.0) / (drawn - 1) as f64) } else { 0.0 };
    let mut all = Vec::new();
    for (n, path) in window.paths.iter().take(MAX_PATHS).enumerate() {
        let offset = (n as f64 - (drawn - 1) as f64 / 2.0) * step;
        let mut placed: Vec<Placed> = Vec::new();
        let mut next = f64::INFINITY;
        for point in path.iter().rev() {
            let Some(id) = point.bar else { continue };
            let Some(lane) = layout.lane_of(id) else { continue };
            let (x0, x1) = layout.span(&window.timeline.bars[id]);
            let (lo, hi) = (LEFT + x0 + 3.0, LEFT + x1 - 3.0);
            let x = (next - 12.0).min(hi).max(lo);
            next = x;
            placed.push((x, TOP + lane as f64 * ROW + ROW / 2.0 + offset, point));
        }
        placed.reverse();
        all.push(placed);
    }
    all
}

/// The document being drawn.
struct Canvas<'a, 't, 'h> {
    doc: Document,
    window: &'a Window<'t, 'h>,
    layout: &'a Layout<'h>,
    heading: String,
    /// The final paths' marks.
    placed: Vec<Vec<Placed<'a, 't>>>,
}

impl Canvas<'_, '_, '_> {
    /// Draws everything; returns the height used.
    fn draw(&mut self) -> f64 {
        let width = self.width();
        let failing = self.window.failing.map(|f| &self.window.timeline.bars[f]);
        self.add(text(8.0, 20.0, "heading", &self.heading));
        self.add(text(8.0, 38.0, "sub", &self.sub()));
        self.stripes(width);
        self.gaps();
        self.band(failing);
        self.axis(width, failing);
        let mut labels = Vec::new();
        for lane in 0..self.layout.lanes.len() {
            labels.extend(self.lane(lane));
        }
        self.paths();
        self.witness();
        // Labels over the paths' lines, so that they stay readable.
        for label in labels {
            self.add(label);
        }
        self.legend(width)
    }

    /// The document, `height` high.
    fn finish(self, height: f64) -> Document {
        let (width, height) = (px(self.width()), px(height));
        self.doc.set("width", width).set("height", height).set("viewBox", (0, 0, width, height))
    }

    fn add(&mut self, node: impl Into<Box<dyn Node>>) {
        self.doc.append(node);
    }

    fn op(&self, pos: usize) -> Option<&crate::history::Op> {
        self.window.timeline.history.ops.get(pos)
    }

    /// The line under the heading.
    fn sub(&self) -> String {
        let total = self.window.timeline.history.ops.len();
        if !self.window.witness.is_empty() {
            return format!(
                "The first {} operations of the order (of {total} ops), a row per process; a mark where each \
                 takes effect, joined in order. Hover for details.",
                self.window.witness.len()
            );
        }
        format!(
            "The {} operations around the failure (of {total} ops), a row per process. Time runs left to right; \
             grey bands squeeze ops not shown. Hover for details.",
            self.window.shown.len()
        )
    }

    /// Wide enough for the plot, the heading, and the first path's state labels.
    fn width(&self) -> f64 {
        let states = self.placed.first().into_iter().flatten().map(|&(x, _, point)| {
            x + 4.0 + short_state(&point.step.model).chars().count() as f64 * STATE_CHAR + 8.0
        });
        let heading = 8.0 + self.heading.chars().count() as f64 * HEADING_CHAR + 8.0;
        let heading = heading.max(8.0 + self.sub().chars().count() as f64 * SUB_CHAR + 8.0);
        states.fold((LEFT + self.layout.plot_width()).max(MIN_WIDTH).max(heading), f64::max)
    }

    fn lanes_bottom(&self) -> f64 {
        TOP + self.layout.lanes.len() as f64 * ROW
    }

    /// Where the legend starts, below the lanes and the notes.
    fn legend_top(&self) -> f64 {
        self.lanes_bottom() + if self.window.hidden > 0 { 34.0 } else { 16.0 }
    }

    /// Alternate lanes get a light background; each lane its process label.
    fn stripes(&mut self, width: f64) {
        for (i, lane) in self.layout.lanes.iter().enumerate() {
            let top = TOP + i as f64 * ROW;
            let mut g = Group::new();
            if i % 2 == 0 {
                g.append(rect(0.0, top, width, ROW, "stripe"));
            }
            let again = i > 0 && self.layout.lanes[i - 1].process == lane.process;
            let label = format!("{}{}", lane.process.to_edn_short(PROCESS), if again { " ↻" } else { "" });
            let hover = if again {
                format!(
                    "process {} (again, while its crashed operation is still open)",
                    lane.process.to_edn_short(DETAIL)
                )
            } else {
                format!("process {}", lane.process.to_edn_short(DETAIL))
            };
            let mut label_group = Group::new();
            label_group.append(title(&hover));
            label_group.append(text(LEFT - 8.0, top + ROW / 2.0 + 4.0, "proc", &label));
            g.append(label_group);
            self.doc.append(g);
        }
    }

    /// Grey bands where ops were left out between two columns.
    fn gaps(&mut self) {
        let (columns, xs) = (&self.layout.columns, &self.layout.xs);
        let bottom = self.lanes_bottom();
        let mut bands = Vec::new();
        for k in 1..columns.len() {
            let skipped = columns[k] - columns[k - 1] - 1;
            if skipped == 0 {
                continue;
            }
            let mid = LEFT + (xs[k - 1] + xs[k]) / 2.0;
            let mut g = Group::new();
            g.append(title(&format!("{skipped} ops not shown")));
            g.append(rect(mid - BREAK / 4.0, AXIS, BREAK / 2.0, bottom - AXIS, "gap"));
            bands.push(g);
        }
        for g in bands {
            self.add(g);
        }
    }

    /// The stretch of time the failing operation was open, across all lanes.
    fn band(&mut self, failing: Option<&Bar>) {
        let Some(bar) = failing else { return };
        let (x0, x1) = self.layout.span(bar);
        let (x0, x1) = (LEFT + x0, LEFT + x1);
        let bottom = self.lanes_bottom();
        let mut g = Group::new();
        g.append(title(
            "while the failing operation was open: everything overlapping this band ran concurrently with it",
        ));
        g.append(rect(x0, AXIS, x1 - x0, bottom - AXIS, "band"));
        for x in [x0, x1] {
            g.append(
                Line::new()
                    .set("x1", px(x))
                    .set("x2", px(x))
                    .set("y1", AXIS)
                    .set("y2", px(bottom))
                    .set("class", "band-edge"),
            );
        }
        self.add(g);
    }

    /// The axis: the external index of the op at each column, where there is room,
    /// the failing operation's invocation and completion first.
    fn axis(&mut self, width: f64, failing: Option<&Bar>) {
        self.add(
            Line::new()
                .set("x1", LEFT)
                .set("x2", px(width - 4.0))
                .set("y1", AXIS)
                .set("y2", AXIS)
                .set("class", "axis"),
        );
        self.add(text(4.0, AXIS - 6.0, "tick", "op index"));
        let hot: Vec<usize> =
            failing.map_or_else(Vec::new, |b| std::iter::once(b.invoke).chain(b.complete).collect());
        let order =
            hot.iter().copied().chain(self.layout.columns.iter().copied().filter(|p| !hot.contains(p)));
        let mut taken: Vec<(f64, f64)> = Vec::new();
        let mut ticks = Vec::new();
        for pos in order {
            let Some(op) = self.op(pos) else { continue };
            let label = op.index.to_string();
            let x = LEFT + self.layout.x(pos);
            let (x0, x1) = (x - 2.0, x + width_of(&label) + 4.0);
            if taken.iter().any(|&(a, b)| x0 < b && a < x1) {
                continue;
            }
            taken.push((x0, x1));
            let class = if hot.contains(&pos) { "tick hot" } else { "tick" };
            ticks.push(text(x, AXIS - 6.0, class, &label));
            ticks.push(
                Line::new()
                    .set("x1", px(x))
                    .set("x2", px(x))
                    .set("y1", AXIS - 3.0)
                    .set("y2", AXIS)
                    .set("class", "axis")
                    .into(),
            );
        }
        for t in ticks {
            self.add(t);
        }
    }

    /// A lane's bars; returns their labels, to be drawn last.
    fn lane(&mut self, lane: usize) -> Vec<Element> {
        let top = TOP + lane as f64 * ROW + (ROW - BAR) / 2.0;
        let ids = self.layout.lanes[lane].bars.clone();
        let mut labels = Vec::new();
        for id in ids {
            let (g, label) = self.bar(id, top);
            self.add(g);
            labels.push(label);
        }
        labels
    }

    /// A bar, and its label (which hovering sees through, to the bar).
    fn bar(&self, id: usize, top: f64) -> (Group, Element) {
        let bar = &self.window.timeline.bars[id];
        let (x0, x1) = self.layout.span(bar);
        let (x0, x1) = (LEFT + x0, LEFT + x1);
        let failing = self.window.failing == Some(id);
        let class = match bar.outcome {
            _ if failing => "failing",
            Outcome::Ok => "ok",
            Outcome::Crashed => "crashed",
            Outcome::Failed => "failed",
            Outcome::Aside => "aside",
        };
        let mut g = Group::new();
        g.append(title(&self.hover(id)));
        match (bar.outcome, bar.complete) {
            // A crash: solid until the process gave up, then open to the end.
            (Outcome::Crashed, Some(info)) if !failing => {
                let gave_up = (LEFT + self.layout.x(info)).max(x0 + 2.0);
                g.append(rect(x0, top, x1 - x0, BAR, "crashed tail"));
                g.append(rect(x0, top, gave_up - x0, BAR, "crashed"));
            }
            (Outcome::Crashed, None) if !failing => g.append(rect(x0, top, x1 - x0, BAR, "crashed tail")),
            _ => g.append(rect(x0, top, x1 - x0, BAR, class)),
        }
        let label = self.layout.labels.get(&id).map_or("", String::as_str);
        let label_class = if bar.outcome == Outcome::Failed { "label failed-label" } else { "label" };
        (g, text(label_start(x0, x1, label, bar.open_ended()), top + BAR - 3.5, label_class, label))
    }

    /// A bar's hover text: what, who, when, the op maps, and the model states the
    /// final paths give after it.
    fn hover(&self, id: usize) -> String {
        let bar = &self.window.timeline.bars[id];
        let mut lines = Vec::new();
        let outcome = match bar.outcome {
            Outcome::Ok => "ok",
            Outcome::Crashed => "crashed: may take effect at any later point, or never",
            Outcome::Failed => "failed: did not happen",
            Outcome::Aside => "not searched",
        };
        if self.window.failing == Some(id) {
            lines.push("THE FAILING OPERATION: no order of the operations explains its result".to_string());
        }
        if self.window.previous_ok == Some(id) {
            lines.push("the previous :ok".to_string());
        }
        if self.window.last_op == Some(id) {
            lines.push("the last op a linearization reached".to_string());
        }
        if let Some(op) = self.op(bar.invoke) {
            lines.push(format!("process {} · {outcome}", op.process().to_edn_short(DETAIL)));
        }
        for pos in std::iter::once(bar.invoke).chain(bar.complete.filter(|&c| c != bar.invoke)) {
            if let Some(op) = self.op(pos) {
                lines.push(format!(
                    "op {}{}: {}",
                    op.index,
                    crate::history::line_note(op.line),
                    self.window.timeline.history.op_map(op).to_edn_short(DETAIL)
                ));
            }
        }
        for (n, path) in self.window.paths.iter().enumerate() {
            for point in path.iter().filter(|p| p.bar == Some(id)) {
                let what = if is_inconsistency(&point.step.model) { "✗" } else { "→" };
                lines.push(format!("final path {}: {what} {}", n + 1, state_text(&point.step.model, DETAIL)));
            }
        }
        lines.join("\n")
    }

    /// The final paths: a polyline per path through a point per step, each on its
    /// operation's bar (placed by [`place_paths`]).
    fn paths(&mut self) {
        let drawn = self.placed.len();
        let mut groups = Vec::new();
        for (n, placed) in self.placed.iter().enumerate() {
            let colour = PALETTE[n % PALETTE.len()];
            let (class, dot) = if n == 0 { ("path first", "dot first") } else { ("path", "dot") };
            let mut g = Group::new();
            g.append(title(&format!("final path {} of {}", n + 1, self.window.paths.len())));
            let points: Vec<String> =
                placed.iter().map(|&(x, y, _)| format!("{},{}", px(x), px(y))).collect();
            g.append(
                Polyline::new().set("points", points.join(" ")).set("stroke", colour).set("class", class),
            );
            for (step, &(x, y, point)) in placed.iter().enumerate() {
                let state = state_text(&point.step.model, DETAIL);
                let op = op_text(&point.step.op, DETAIL);
                let index = index_of(&point.step.op).map_or_else(String::new, |i| format!("op {i} "));
                let illegal = is_inconsistency(&point.step.model);
                let arrow = if illegal { "✗" } else { "→" };
                let mut mark = Group::new();
                mark.append(title(&format!(
                    "final path {}, step {}: {index}{op} {arrow} {state}",
                    n + 1,
                    step + 1
                )));
                if illegal {
                    mark.append(cross(x, y));
                } else {
                    let r = if n == 0 { 3.5 } else { 2.5 };
                    mark.append(
                        Circle::new()
                            .set("cx", px(x))
                            .set("cy", px(y))
                            .set("r", r)
                            .set("fill", colour)
                            .set("class", dot),
                    );
                    if n == 0 {
                        let mut t = text(x + 4.0, y - 5.0, "state", &short_state(&point.step.model));
                        t.assign("style", format!("fill: {colour}"));
                        mark.append(t);
                    }
                }
                g.append(mark);
            }
            groups.push(g);
        }
        // The first path on top.
        for g in groups.into_iter().rev() {
            self.add(g);
        }
        if self.window.paths.len() > drawn {
            let note = format!(
                "{drawn} of {} final paths drawn; the report's table lists them all",
                self.window.paths.len()
            );
            self.add(text(LEFT, self.lanes_bottom() + 14.0, "note", &note));
        }
    }

    /// The witness order: a mark per operation where it takes effect, each as early
    /// as its bar and the previous mark allow (never past its completion: an order
    /// consistent with real time puts an operation after every invocation before it
    /// only if they were open together), joined by a line.
    fn witness(&mut self) {
        let mut marks = Vec::new();
        let mut previous = f64::NEG_INFINITY;
        for (step, &id) in self.window.witness.iter().enumerate() {
            let Some(lane) = self.layout.lane_of(id) else { continue };
            let bar = &self.window.timeline.bars[id];
            let (x0, x1) = self.layout.span(bar);
            let x = (previous + 6.0).max(LEFT + x0 + 3.0).min(LEFT + x1 - 3.0);
            previous = x;
            // Named by its invocation's index, as the order names it; told by its result.
            let index = self.op(bar.invoke).map(|op| op.index);
            let op = index.zip(self.op(bar.result()).map(|op| self.window.timeline.history.op_map(op)));
            let what = op.map_or_else(String::new, |(index, map)| {
                format!(
                    "op {index}, process {}: {}",
                    map.get("process").unwrap_or(&Value::Nil).to_edn_short(DETAIL),
                    op_text(&map, DETAIL)
                )
            });
            marks.push((x, TOP + lane as f64 * ROW + ROW / 2.0, format!("step {}: {what}", step + 1)));
        }
        let mut g = Group::new();
        g.append(title("the witness order"));
        let points: Vec<String> = marks.iter().map(|(x, y, _)| format!("{},{}", px(*x), px(*y))).collect();
        g.append(
            Polyline::new()
                .set("points", points.join(" "))
                .set("stroke", PALETTE[0])
                .set("class", "path first"),
        );
        for (x, y, hover) in marks {
            let mut mark = Group::new();
            mark.append(title(&hover));
            mark.append(
                Circle::new()
                    .set("cx", px(x))
                    .set("cy", px(y))
                    .set("r", 3.5)
                    .set("fill", PALETTE[0])
                    .set("class", "dot first mark"),
            );
            g.append(mark);
        }
        if !self.window.witness.is_empty() {
            self.add(g);
        }
    }

    /// A note on what was left out, and the legend; returns where they end.
    fn legend(&mut self, width: f64) -> f64 {
        if !self.window.witness.is_empty() {
            return self.witness_legend(width);
        }
        if self.window.hidden > 0 {
            let note = format!(
                "{} more operations concurrent with the failing one are not shown",
                self.window.hidden
            );
            self.add(text(LEFT, self.lanes_bottom() + 28.0, "note", &note));
        }
        let swatch = |class: &str| rect(0.0, -10.0, 22.0, 12.0, class);
        let items: Vec<(Box<dyn Node>, &str)> = vec![
            (swatch("ok").into(), "ok"),
            (
                Group::new()
                    .add(rect(0.0, -10.0, 22.0, 12.0, "crashed tail"))
                    .add(rect(0.0, -10.0, 9.0, 12.0, "crashed"))
                    .into(),
                "crashed (:info or no reply): may take effect later, or never",
            ),
            (swatch("failed").into(), "failed (:fail): did not happen"),
            (swatch("aside").into(), "nemesis, not searched"),
            (swatch("failing").into(), "the op that cannot be linearized"),
            (step_swatch().into(), "final path: a legal step, and the state after it"),
            (Group::new().add(cross(11.0, -4.0)).into(), "the illegal step"),
            (swatch("band").into(), "while the failing op was open"),
            (swatch("gap").into(), "ops not shown"),
        ];
        self.legend_items(items, width)
    }

    /// A witness's note and legend.
    fn witness_legend(&mut self, width: f64) -> f64 {
        if self.window.hidden > 0 {
            let note = format!("the order's other {} operations are not shown", self.window.hidden);
            self.add(text(LEFT, self.lanes_bottom() + 28.0, "note", &note));
        }
        let swatch = |class: &str| rect(0.0, -10.0, 22.0, 12.0, class);
        let items: Vec<(Box<dyn Node>, &str)> = vec![
            (swatch("ok").into(), "ok"),
            (swatch("crashed tail").into(), "crashed: here, it took effect"),
            (step_swatch().into(), "where each operation takes effect, in the witness order"),
            (swatch("gap").into(), "ops not shown"),
        ];
        self.legend_items(items, width)
    }

    /// The legend's items, wrapped to the width; returns where they end.
    fn legend_items(&mut self, items: Vec<(Box<dyn Node>, &str)>, width: f64) -> f64 {
        let mut legend = Group::new().set("class", "legend");
        let (mut x, mut y) = (8.0, self.legend_top() + 12.0);
        for (mark, label) in items {
            let w = 22.0 + 6.0 + width_of(label) * 0.9 + 18.0;
            if x + w > width && x > 8.0 {
                x = 8.0;
                y += 20.0;
            }
            let mut item = Group::new().set("transform", format!("translate({},{})", px(x), px(y)));
            item.append(mark);
            item.append(text(28.0, 0.0, "", label));
            legend.append(item);
            x += w;
        }
        self.add(legend);
        y + 12.0
    }
}

/// A rectangle with a class.
fn rect(x: f64, y: f64, w: f64, h: f64, class: &str) -> Rectangle {
    Rectangle::new()
        .set("x", px(x))
        .set("y", px(y))
        .set("width", px(w.max(0.0)))
        .set("height", px(h.max(0.0)))
        .set("class", class)
}

/// The mark of the illegal step.
fn cross(x: f64, y: f64) -> Group {
    let d = 4.5;
    let line = |dx: f64| {
        Line::new()
            .set("x1", px(x - d))
            .set("x2", px(x + d))
            .set("y1", px(y - dx))
            .set("y2", px(y + dx))
            .set("class", "illegal")
    };
    Group::new().add(line(d)).add(line(-d))
}

/// A model state as a label on the first path: `{:value 2}` as `2`.
fn short_state(model: &Value) -> String {
    match model {
        Value::Map(entries) if entries.len() == 1 => entries[0].1.to_edn_short(LABEL),
        other => other.to_edn_short(LABEL),
    }
}

/// The legend's sample of a path: a line through a dot, as each step is drawn.
fn step_swatch() -> Group {
    let line = Line::new()
        .set("x1", 0)
        .set("x2", 22)
        .set("y1", -4)
        .set("y2", -4)
        .set("stroke", PALETTE[0])
        .set("class", "path first");
    Group::new()
        .add(line)
        .add(Circle::new().set("cx", 11).set("cy", -4).set("r", 3.5).set("fill", PALETTE[0]))
}
