//! The Python face of the decoder, `llmobs._native`: used by `llmobs/read/native.py` alone.
//!
//! Decoding runs with the GIL released. Columns come back as `bytearray`s of native-endian
//! values (numpy views them without a copy); string tables as lists of `str`.

use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList};

use crate::columns::{Columns, Interner, TraceTexts};
use crate::lines::{remap, Maps, Merged};
use crate::lines::{decode_tasks, merge, Failure, LineDecoder, Task, Unsure};

/// A fixed-size value a column holds, as its native-endian bytes.
trait Cell: Copy {
    const SIZE: usize;
    fn write(self, into: &mut [u8]);
}

macro_rules! numeric_cell {
    ($($kind:ty),*) => {$(
        impl Cell for $kind {
            const SIZE: usize = std::mem::size_of::<$kind>();
            fn write(self, into: &mut [u8]) {
                into.copy_from_slice(&self.to_ne_bytes());
            }
        }
    )*};
}
numeric_cell!(i8, i32, i64, f64);

impl Cell for bool {
    const SIZE: usize = 1;
    fn write(self, into: &mut [u8]) {
        into[0] = u8::from(self);
    }
}

/// One column of every part, joined into a bytearray as it is copied, each part's piece freed
/// once copied; string codes translated through each part's map.
fn column<'py, T: Cell>(
    py: Python<'py>,
    merged: &mut Merged,
    pick: impl Fn(&mut Columns) -> &mut Vec<T>,
    map: impl Fn(&Maps) -> Option<&[i32]>,
    translate: impl Fn(T, Option<&[i32]>) -> T,
) -> PyResult<Bound<'py, PyByteArray>> {
    let rows = merged.rows(|part| pick(part).len());
    PyByteArray::new_with(py, rows * T::SIZE, |buffer| {
        let mut cells = buffer.chunks_exact_mut(T::SIZE);
        merged.drain(&pick, &map, |values, map| {
            // values first: zip stops at the end of a part without taking a cell it will not fill
            for (value, cell) in values.into_iter().zip(cells.by_ref()) {
                translate(value, map).write(cell);
            }
        });
        Ok(())
    })
}

fn strings<'py>(py: Python<'py>, table: &Interner) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, table.values.iter().map(AsRef::<str>::as_ref))
}

/// (trace codes, UTF-8 byte lengths, the texts joined): the layout `TraceTexts` keeps.
fn texts<'py>(py: Python<'py>, merged: &mut Merged, pick: impl Fn(&mut Columns) -> &mut TraceTexts) -> PyResult<(Bound<'py, PyByteArray>, Bound<'py, PyByteArray>, Bound<'py, PyBytes>)> {
    let mut codes: Vec<i32> = Vec::new();
    let mut lengths: Vec<i64> = Vec::new();
    let mut joined = String::new();
    for (part, maps) in merged.parts.iter_mut().zip(&merged.maps) {
        let texts = std::mem::take(pick(part));
        codes.extend(texts.traces.into_iter().map(|code| remap(code, maps.trace_ids.as_deref())));
        for text in texts.texts {
            lengths.push(text.len() as i64);
            joined.push_str(&text);
        }
    }
    Ok((bytes_of(py, &codes)?, bytes_of(py, &lengths)?, PyBytes::new(py, joined.as_bytes())))
}

fn bytes_of<'py, T: Cell>(py: Python<'py>, values: &[T]) -> PyResult<Bound<'py, PyByteArray>> {
    PyByteArray::new_with(py, values.len() * T::SIZE, |buffer| {
        for (cell, value) in buffer.chunks_exact_mut(T::SIZE).zip(values) {
            value.write(cell);
        }
        Ok(())
    })
}

/// A value that is not a string code: copied as it is.
fn same<T>(value: T, _: Option<&[i32]>) -> T {
    value
}

/// The columns as a dict of the shape `llmobs.read.decode` expects.
fn columns_to_python<'py>(py: Python<'py>, mut merged: Merged) -> PyResult<Bound<'py, PyDict>> {
    macro_rules! put {
        ($dict:ident, $section:ident . $column:ident) => {
            $dict.set_item(stringify!($column), column(py, &mut merged, |part| &mut part.$section.$column, |_| None, same)?)?
        };
        ($dict:ident, $section:ident . $column:ident via $table:ident) => {
            $dict.set_item(stringify!($column), column(py, &mut merged, |part| &mut part.$section.$column, |maps| maps.$table.as_deref(), remap)?)?
        };
    }
    let out = PyDict::new(py);
    let spans = PyDict::new(py);
    put!(spans, spans.trace via trace_ids);
    put!(spans, spans.is_root);
    put!(spans, spans.name via names);
    put!(spans, spans.kind via kinds);
    put!(spans, spans.start_us);
    put!(spans, spans.duration_ms);
    put!(spans, spans.is_error);
    put!(spans, spans.error_type via error_types);
    put!(spans, spans.attempt);
    put!(spans, spans.retry_of);
    put!(spans, spans.model via models);
    put!(spans, spans.span_id);
    put!(spans, spans.parent);
    put!(spans, spans.sample_rate);
    let groups = PyList::empty(py);
    for group in 0..merged.parts.first().map_or(0, |part| part.spans.groups.len()) {
        groups.append(column(py, &mut merged, |part| &mut part.spans.groups[group], |maps| maps.attr_values.as_deref(), remap)?)?;
    }
    out.set_item("spans", spans)?;
    out.set_item("groups", groups)?;
    let usage = PyDict::new(py);
    put!(usage, usage.trace via trace_ids);
    put!(usage, usage.time_us);
    put!(usage, usage.provider via providers);
    put!(usage, usage.model via models);
    put!(usage, usage.input_tokens);
    put!(usage, usage.output_tokens);
    put!(usage, usage.cache_read_tokens);
    put!(usage, usage.cache_write_tokens);
    put!(usage, usage.cache_write_1h_tokens);
    put!(usage, usage.reasoning_tokens);
    put!(usage, usage.cost_usd);
    put!(usage, usage.span);
    put!(usage, usage.span_scope);
    put!(usage, usage.sample_rate);
    out.set_item("usage", usage)?;
    let queries = PyList::empty(py);
    let mut eval_offset = 0;
    for part in &mut merged.parts {
        for (row, query) in std::mem::take(&mut part.evals.queries) {
            queries.append((row + eval_offset, query.as_ref()))?;
        }
        eval_offset += part.evals.trace.len();
    }
    out.set_item("eval_queries", queries)?;
    let evals = PyDict::new(py);
    put!(evals, evals.trace via trace_ids);
    put!(evals, evals.time_us);
    put!(evals, evals.name via eval_names);
    put!(evals, evals.passed);
    put!(evals, evals.score);
    out.set_item("evals", evals)?;
    out.set_item("root_input", texts(py, &mut merged, |part| &mut part.root_input)?)?;
    out.set_item("root_request_id", texts(py, &mut merged, |part| &mut part.root_request_id)?)?;
    let tables = PyDict::new(py);
    let t = &merged.tables;
    for (name, table) in [
        ("trace_ids", &t.trace_ids),
        ("names", &t.names),
        ("kinds", &t.kinds),
        ("error_types", &t.error_types),
        ("models", &t.models),
        ("providers", &t.providers),
        ("eval_names", &t.eval_names),
        ("attr_values", &t.attr_values),
    ] {
        tables.set_item(name, strings(py, table)?)?;
    }
    out.set_item("tables", tables)?;
    Ok(out)
}

/// Lines a stream decoder left to the models, as (line, bytes, torn).
fn kept_lines<'py>(py: Python<'py>, unsure: Vec<Unsure>) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for line in unsure {
        out.append((line.line, PyBytes::new(py, line.bytes.as_deref().unwrap_or_default()), line.torn))?;
    }
    Ok(out)
}

/// Decodes a stream fed a block at a time (gzip, stdin, small files): `feed(bytes)` as often as
/// needed, then `finish()`.
#[pyclass(module = "llmobs._native")]
struct StreamDecoder {
    decoder: Option<LineDecoder>,
}

#[pymethods]
impl StreamDecoder {
    #[new]
    fn new(group_attrs: Vec<String>) -> Self {
        Self { decoder: Some(LineDecoder::new(group_attrs, true)) }
    }

    /// Decode a block of bytes (any size; a partial last line waits for the next block), and hand
    /// over the lines left to the models so far, as (line, bytes, torn).
    fn feed<'py>(&mut self, py: Python<'py>, block: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let decoder = self.decoder.as_mut().ok_or_else(|| PyValueError::new_err("this decoder has finished"))?;
        let unsure = py.detach(|| {
            decoder.feed(block);
            decoder.take_unsure()
        });
        kept_lines(py, unsure)
    }

    /// Complete lines decoded so far.
    #[getter]
    fn lines(&self) -> u64 {
        self.decoder.as_ref().map_or(0, LineDecoder::lines)
    }

    /// (columns, lines, the lines left to the models not yet handed over). When the stream `ended`
    /// (rather than reading stopping early), a last line without a newline is decoded too, marked
    /// torn if left to the models.
    #[pyo3(signature = (ended=true))]
    fn finish<'py>(&mut self, py: Python<'py>, ended: bool) -> PyResult<(Bound<'py, PyDict>, u64, Bound<'py, PyList>)> {
        let decoder = self.decoder.take().ok_or_else(|| PyValueError::new_err("this decoder has finished"))?;
        let decoded = py.detach(|| decoder.finish(ended));
        let unsure = kept_lines(py, decoded.unsure)?;
        Ok((columns_to_python(py, merge(vec![decoded.columns]))?, decoded.lines, unsure))
    }
}

/// A task's lines read, and why its reading ended early: ("open" | "read" | "stopped" |
/// "internal", message), or None.
type TaskSummary = (u64, Option<(&'static str, String)>);

fn failure_to_python(failure: Failure) -> (&'static str, String) {
    match failure {
        Failure::Open(message) => ("open", message),
        Failure::Read(message) => ("read", message),
        Failure::Stopped => ("stopped", String::new()),
        Failure::Internal(message) => ("internal", message),
    }
}

/// Decode byte ranges of files, `(path, start, end)` each, on up to `threads` threads, into one
/// set of columns. Returns (columns, per task (lines, failure or None), the lines left to the
/// models as (task, line, file offset, length, torn)). `on_progress(bytes)` is called from this thread as blocks are read;
/// Ctrl-C stops every thread and raises KeyboardInterrupt here.
#[pyfunction]
#[pyo3(signature = (tasks, group_attrs, threads, on_progress=None))]
fn decode_files<'py>(
    py: Python<'py>,
    tasks: Vec<(String, u64, u64)>,
    group_attrs: Vec<String>,
    threads: usize,
    on_progress: Option<Py<PyAny>>,
) -> PyResult<(Bound<'py, PyDict>, Vec<TaskSummary>, Bound<'py, PyList>)> {
    let tasks: Vec<Task> = tasks.into_iter().map(|(path, start, end)| Task { path, start, end }).collect();
    let raised: Mutex<Option<PyErr>> = Mutex::new(None);
    let after_block = |bytes: usize| {
        Python::attach(|py| {
            let result = match &on_progress {
                Some(callback) => callback.call1(py, (bytes,)).map(drop),
                None => Ok(()),
            }
            .and_then(|()| py.check_signals());
            result.map_err(|error| *raised.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error)).is_ok()
        })
    };
    let outcomes = py.detach(|| decode_tasks(&tasks, &group_attrs, threads, &after_block));
    if let Some(error) = raised.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()) {
        return Err(error);
    }
    let unsure = PyList::empty(py);
    let mut summaries = Vec::with_capacity(outcomes.len());
    let mut parts = Vec::with_capacity(outcomes.len());
    for (index, outcome) in outcomes.into_iter().enumerate() {
        for line in &outcome.decoded.unsure {
            unsure.append((index, line.line, tasks[index].start + line.offset, line.length, line.torn))?;
        }
        summaries.push((outcome.decoded.lines, outcome.failure.map(failure_to_python)));
        parts.push(outcome.decoded.columns);
    }
    if parts.is_empty() {
        parts.push(Columns::new(group_attrs.len()));
    }
    let merged = py.detach(|| merge(parts));
    Ok((columns_to_python(py, merged)?, summaries, unsure))
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<StreamDecoder>()?;
    module.add_function(wrap_pyfunction!(decode_files, module)?)?;
    module.add("BLOCK_BYTES", crate::lines::BLOCK_BYTES)?;
    Ok(())
}
