//! Records into columns: one vector per column, strings interned as codes (-1 for none), exactly
//! the layout of `llmobs.read.columns` (SpanColumns, UsageColumns, EvalColumns).

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::record::{EvalRow, Record, SpanRow, UsageRow};

/// Code of a missing string.
pub const NONE_CODE: i32 = -1;

/// Each distinct string gets the next code, in order of first appearance. The strings are kept
/// end to end in one buffer, and the table holds their codes: no allocation per string.
#[derive(Default)]
pub struct Interner {
    codes: HashTable<u32>,
    text: String,
    /// Where each string ends in `text` (it starts where the one before ends).
    ends: Vec<usize>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_list().entries(self.values()).finish()
    }
}

fn hash_of(value: &str) -> u64 {
    FxBuildHasher.hash_one(value)
}

/// The string of `code`, from the buffer and the ends (a free function, so the table's closures
/// can read them while the table itself is borrowed).
fn string_of<'a>(text: &'a str, ends: &[usize], code: u32) -> &'a str {
    let code = code as usize;
    let start = if code == 0 { 0 } else { ends[code - 1] };
    &text[start..ends[code]]
}

impl Interner {
    pub fn code(&mut self, value: &str) -> i32 {
        let hash = hash_of(value);
        let (text, ends) = (&self.text, &self.ends);
        if let Some(&code) = self.codes.find(hash, |&code| string_of(text, ends, code) == value) {
            return code as i32;
        }
        let code = self.ends.len() as u32;
        self.text.push_str(value);
        self.ends.push(self.text.len());
        let (text, ends) = (&self.text, &self.ends);
        self.codes.insert_unique(hash, code, |&code| hash_of(string_of(text, ends, code)));
        code as i32
    }

    pub fn code_of(&mut self, value: Option<&str>) -> i32 {
        value.map_or(NONE_CODE, |value| self.code(value))
    }

    /// The string of a code this table gave.
    pub fn get(&self, code: i32) -> &str {
        string_of(&self.text, &self.ends, code as u32)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The strings in code order.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len() as u32).map(|code| string_of(&self.text, &self.ends, code))
    }

    /// The code in this table of each value of `other`, in `other`'s order.
    pub fn absorb(&mut self, other: &Interner) -> Vec<i32> {
        self.codes.reserve(other.len(), |&code| hash_of(string_of(&self.text, &self.ends, code)));
        other.values().map(|value| self.code(value)).collect()
    }
}

/// The string tables, in the order of `STRING_TABLES` in columns.py.
#[derive(Debug, Default)]
pub struct Tables {
    pub trace_ids: Interner,
    pub names: Interner,
    pub kinds: Interner,
    pub error_types: Interner,
    pub models: Interner,
    pub providers: Interner,
    pub eval_names: Interner,
    pub attr_values: Interner,
}

#[derive(Debug, Default)]
pub struct SpanColumns {
    pub trace: Vec<i32>,
    pub is_root: Vec<bool>,
    pub name: Vec<i32>,
    pub kind: Vec<i32>,
    pub start_us: Vec<i64>,
    pub duration_ms: Vec<f64>,
    pub is_error: Vec<bool>,
    pub error_type: Vec<i32>,
    pub attempt: Vec<i32>,
    pub retry_of: Vec<i64>,
    pub model: Vec<i32>,
    pub span_id: Vec<i64>,
    pub parent: Vec<i64>,
    pub sample_rate: Vec<f64>,
    /// One column per group attribute, codes into `attr_values`.
    pub groups: Vec<Vec<i32>>,
}

#[derive(Debug, Default)]
pub struct UsageColumns {
    pub trace: Vec<i32>,
    pub time_us: Vec<i64>,
    pub provider: Vec<i32>,
    pub model: Vec<i32>,
    pub input_tokens: Vec<i64>,
    pub output_tokens: Vec<i64>,
    pub cache_read_tokens: Vec<i64>,
    pub cache_write_tokens: Vec<i64>,
    pub cache_write_1h_tokens: Vec<i64>,
    pub reasoning_tokens: Vec<i64>,
    pub cost_usd: Vec<f64>,
    pub span: Vec<i64>,
    pub span_scope: Vec<bool>,
    pub sample_rate: Vec<f64>,
}

#[derive(Debug, Default)]
pub struct EvalColumns {
    pub trace: Vec<i32>,
    pub time_us: Vec<i64>,
    pub name: Vec<i32>,
    pub passed: Vec<i8>,
    pub score: Vec<f64>,
    /// (eval row, query) of failed evals that have one.
    pub queries: Vec<(usize, Box<str>)>,
}

/// A text per trace for some traces (a root span's `input` preview, its `request.id`): the texts
/// end to end in one buffer with their byte lengths, the layout Python's `TraceTexts` keeps.
#[derive(Debug, Default)]
pub struct TraceTexts {
    pub traces: Vec<i32>,
    pub lengths: Vec<i64>,
    pub text: String,
}

impl TraceTexts {
    fn add(&mut self, trace: i32, text: Option<&str>) {
        if let Some(text) = text {
            self.traces.push(trace);
            self.lengths.push(text.len() as i64);
            self.text.push_str(text);
        }
    }
}

/// The columns of some input, built record by record.
#[derive(Debug, Default)]
pub struct Columns {
    pub tables: Tables,
    pub spans: SpanColumns,
    pub usage: UsageColumns,
    pub evals: EvalColumns,
    pub root_input: TraceTexts,
    pub root_request_id: TraceTexts,
}

impl Columns {
    pub fn new(group_count: usize) -> Self {
        let mut columns = Self::default();
        columns.spans.groups = vec![Vec::new(); group_count];
        columns
    }

    pub fn push(&mut self, record: &Record<'_>) {
        match record {
            Record::Span(span) => self.push_span(span),
            Record::Usage(usage) => self.push_usage(usage),
            Record::Eval(eval) => self.push_eval(eval),
        }
    }

    fn push_span(&mut self, row: &SpanRow<'_>) {
        let tables = &mut self.tables;
        let spans = &mut self.spans;
        let trace = tables.trace_ids.code(&row.trace_id);
        spans.trace.push(trace);
        spans.is_root.push(row.is_root);
        spans.name.push(tables.names.code(&row.name));
        spans.kind.push(tables.kinds.code_of(row.kind.as_deref()));
        spans.start_us.push(row.start_us);
        spans.duration_ms.push(row.duration_ms);
        spans.is_error.push(row.error_type.is_some());
        spans.error_type.push(tables.error_types.code_of(row.error_type.as_deref()));
        spans.attempt.push(row.attempt);
        spans.retry_of.push(row.retry_of);
        spans.model.push(tables.models.code_of(row.model.as_deref()));
        spans.span_id.push(row.span_id);
        spans.parent.push(row.parent);
        spans.sample_rate.push(row.sample_rate);
        for (column, value) in spans.groups.iter_mut().zip(&row.groups) {
            column.push(tables.attr_values.code_of(value.as_deref()));
        }
        self.root_input.add(trace, row.input.as_deref());
        self.root_request_id.add(trace, row.request_id.as_deref());
    }

    fn push_usage(&mut self, row: &UsageRow<'_>) {
        let tables = &mut self.tables;
        let usage = &mut self.usage;
        usage.trace.push(tables.trace_ids.code(&row.trace_id));
        usage.time_us.push(row.time_us);
        usage.provider.push(tables.providers.code_of(row.provider.as_deref()));
        usage.model.push(tables.models.code(&row.model));
        usage.input_tokens.push(row.input_tokens);
        usage.output_tokens.push(row.output_tokens);
        usage.cache_read_tokens.push(row.cache_read_tokens);
        usage.cache_write_tokens.push(row.cache_write_tokens);
        usage.cache_write_1h_tokens.push(row.cache_write_1h_tokens);
        usage.reasoning_tokens.push(row.reasoning_tokens);
        usage.cost_usd.push(row.cost_usd);
        usage.span.push(row.span);
        usage.span_scope.push(row.span_scope);
        usage.sample_rate.push(row.sample_rate);
    }

    fn push_eval(&mut self, row: &EvalRow<'_>) {
        let evals = &mut self.evals;
        if let Some(query) = &row.query {
            evals.queries.push((evals.trace.len(), query.as_ref().into()));
        }
        evals.trace.push(self.tables.trace_ids.code(&row.trace_id));
        evals.time_us.push(row.time_us);
        evals.name.push(self.tables.eval_names.code(&row.name));
        evals.passed.push(row.passed);
        evals.score.push(row.score);
    }

    /// Make room for `factor` times the rows held now (a guess from the input read so far), so the
    /// columns grow once rather than by doubling: fewer copies, fewer pages touched.
    pub fn reserve_scaled(&mut self, factor: f64) {
        let more = |rows: usize| (rows as f64 * factor * 1.05) as usize + 64;
        let (spans, usage, evals) = (more(self.span_count()), more(self.usage_count()), more(self.eval_count()));
        let s = &mut self.spans;
        s.trace.reserve(spans);
        s.is_root.reserve(spans);
        s.name.reserve(spans);
        s.kind.reserve(spans);
        s.start_us.reserve(spans);
        s.duration_ms.reserve(spans);
        s.is_error.reserve(spans);
        s.error_type.reserve(spans);
        s.attempt.reserve(spans);
        s.retry_of.reserve(spans);
        s.model.reserve(spans);
        s.span_id.reserve(spans);
        s.parent.reserve(spans);
        s.sample_rate.reserve(spans);
        for group in &mut s.groups {
            group.reserve(spans);
        }
        let u = &mut self.usage;
        u.trace.reserve(usage);
        u.time_us.reserve(usage);
        u.provider.reserve(usage);
        u.model.reserve(usage);
        u.input_tokens.reserve(usage);
        u.output_tokens.reserve(usage);
        u.cache_read_tokens.reserve(usage);
        u.cache_write_tokens.reserve(usage);
        u.cache_write_1h_tokens.reserve(usage);
        u.reasoning_tokens.reserve(usage);
        u.cost_usd.reserve(usage);
        u.span.reserve(usage);
        u.span_scope.reserve(usage);
        u.sample_rate.reserve(usage);
        let e = &mut self.evals;
        e.trace.reserve(evals);
        e.time_us.reserve(evals);
        e.name.reserve(evals);
        e.passed.reserve(evals);
        e.score.reserve(evals);
    }

    pub fn span_count(&self) -> usize {
        self.spans.trace.len()
    }

    pub fn usage_count(&self) -> usize {
        self.usage.trace.len()
    }

    pub fn eval_count(&self) -> usize {
        self.evals.trace.len()
    }
}
